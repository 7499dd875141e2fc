#include "services/credit/followers.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/org/org_listing.h"
#include "common/resync/list_pages.h"
#include "common/resync/sorted_sweep.h"
#include "common/status/status.h"
#include "common/store/ids.h"
#include "common/time/clock.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "services/credit/credit_store.h"
#include "services/credit/receivable_rules.h"

namespace salesops::credit {
namespace {

constexpr char kPipeline[] = "pipeline service";
constexpr char kPipelineSource[] = "pipeline";
constexpr char kModelKind[] = "pipeline.StageModel";
constexpr char kOpportunityKind[] = "pipeline.Opportunity";
constexpr int64_t kMaxOpportunityPages = 100'000;  // of 1,000 opportunities
constexpr size_t kBatch = 1000;

constexpr char kAccounts[] = "accounts service";
constexpr char kAccountsSource[] = "accounts";
constexpr int64_t kMaxAccountPages = 100000;  // of 1,000 accounts
constexpr int64_t kMaxRatePages = 1000;       // of 1,000 rates

Actor ResyncActor() {
  return SystemActor(absl::StrCat("resync:", kPipelineSource));
}

// Every listed model overwrites its copy (whatever the versions); the
// models pipeline no longer lists are removed. One transaction: few.
absl::Status ReplaceModels(Store& store,
                           const std::vector<v1::StageModel>& models) {
  const CreditStore db(&store);
  return store
      .Write(ResyncActor(),
             [&](WriteTxn& txn) -> absl::Status {
               SortedSweep sweep(Cf::kMirror, CreditStore::ModelMirrorPrefix());
               std::vector<std::string> keys;
               for (const v1::StageModel& m : models) {
                 keys.push_back(CreditStore::ModelMirrorKey(m.id()));
               }
               const SortedSweep::GoneFn remove = [](WriteTxn& t,
                                                     std::string_view key) {
                 t.Delete(Cf::kMirror, key);
                 return absl::OkStatus();
               };
               std::map<std::string, std::string> stored;
               RETURN_IF_ERROR(sweep.Page(txn, keys, remove, &stored));
               sweep.Committed();
               bool done = false;
               RETURN_IF_ERROR(sweep.Rest(txn, SIZE_MAX, remove, &done));
               for (size_t i = 0; i < models.size(); ++i) {
                 auto it = stored.find(keys[i]);
                 if (it == stored.end() ||
                     it->second != models[i].SerializeAsString()) {
                   db.PutModel(txn, models[i]);
                 }
               }
               return absl::OkStatus();
             })
      .status();
}

// An opportunity pipeline no longer lists: its account and its commitment
// go; its receivables, payments and collection stay (credit's own).
SortedSweep::GoneFn Forget(const CreditStore& db, int64_t* forgotten) {
  return [&db, forgotten](WriteTxn& txn, std::string_view key) -> absl::Status {
    ASSIGN_OR_RETURN(const std::string id, CreditStore::MirroredId(key));
    txn.Delete(Cf::kMirror, key);
    ++*forgotten;
    return db.ReleaseCommitment(txn, id);
  };
}

// One page of opportunities: the unlisted ones before the page's last id
// forgotten, each listed one applied as its event would be.
absl::Status ReplacePage(Store& store, PipelineFollower& follower,
                         SortedSweep& sweep,
                         const std::vector<v1::Opportunity>& page,
                         int64_t* forgotten) {
  const CreditStore db(&store);
  RETURN_IF_ERROR(
      store
          .Write(ResyncActor(),
                 [&](WriteTxn& txn) -> absl::Status {
                   std::vector<std::string> keys;
                   keys.reserve(page.size());
                   for (const v1::Opportunity& o : page) {
                     if (o.id().empty()) {
                       return absl::DataLossError(
                           "pipeline: a listed opportunity has no id");
                     }
                     keys.push_back(CreditStore::OpportunityAccountKey(o.id()));
                   }
                   RETURN_IF_ERROR(
                       sweep.Page(txn, keys, Forget(db, forgotten)));
                   for (const v1::Opportunity& o : page) {
                     v1::Event e;
                     e.set_kind(kOpportunityKind);
                     e.set_entity_id(o.id());
                     e.set_time_micros(Micros(txn.now()));
                     e.mutable_payload()->PackFrom(o);
                     RETURN_IF_ERROR(follower.Apply(e, txn));
                   }
                   return absl::OkStatus();
                 })
          .status());
  sweep.Committed();
  return absl::OkStatus();
}

// After the last page: the rest forgotten, the cursor last.
absl::Status Finish(Store& store, SortedSweep& sweep, uint64_t cursor,
                    int64_t* forgotten) {
  const CreditStore db(&store);
  bool done = false;
  while (!done) {
    RETURN_IF_ERROR(
        store
            .Write(ResyncActor(),
                   [&](WriteTxn& txn) -> absl::Status {
                     RETURN_IF_ERROR(
                         sweep.Rest(txn, kBatch, Forget(db, forgotten), &done));
                     if (done) {
                       txn.PutCursor(kPipelineSource, cursor);
                     }
                     return absl::OkStatus();
                   })
            .status());
    sweep.Committed();
  }
  return absl::OkStatus();
}

}  // namespace

// ---- accounts ----

AccountsFollower::AccountsFollower(OrgMirror* org, RateMirror* rates,
                                   const PeerChannel* accounts)
    : org_(org), rates_(rates), peer_(accounts) {}

std::vector<std::string> AccountsFollower::kinds() const {
  return {"accounts.OrgNode", "accounts.Account", kExchangeRateKind};
}

absl::Status AccountsFollower::Apply(const v1::Event& event, WriteTxn& txn) {
  if (event.kind() == kExchangeRateKind) {
    return rates_->Apply(event, txn);
  }
  return org_->Apply(event, txn);
}

absl::Status AccountsFollower::Resync() {
  const PeerChannel& peer = *peer_;
  OrgMirror& org = *org_;
  const absl::Time start = absl::Now();
  auto stub = v1::AccountsService::NewStub(peer.channel());
  std::vector<v1::OrgNode> nodes;
  std::vector<v1::ExchangeRate> rates;
  uint64_t nodes_at = 0, accounts_at = 0, rates_at = 0;
  int64_t accounts = 0;
  RETURN_IF_ERROR(ListAllOrgNodes(peer, &nodes, &nodes_at));
  RETURN_IF_ERROR(org.ReplaceNodes(nodes, kAccountsSource));
  // An accounts from before issue 19 has no rates to list (UNIMPLEMENTED):
  // the copy is then empty and that listing sets no cursor bound.
  bool no_rates = false;
  RETURN_IF_ERROR(
      (ForEachPage<v1::ListExchangeRatesRequest, v1::ListExchangeRatesResponse>(
          peer, kAccounts, {},
          [&](grpc::ClientContext* c, const auto& req, auto* resp) {
            grpc::Status s = stub->ListExchangeRates(c, req, resp);
            if (s.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
              no_rates = true;
              resp->Clear();
              return grpc::Status::OK;
            }
            return s;
          },
          [&](v1::ListExchangeRatesResponse& page) {
            for (v1::ExchangeRate& r : TakeAll(page.mutable_rates())) {
              rates.push_back(std::move(r));
            }
            return absl::OkStatus();
          },
          &rates_at, kMaxRatePages)));
  RETURN_IF_ERROR(rates_->Replace(rates, kAccountsSource));
  SortedSweep sweep = org.AccountsSweep();
  RETURN_IF_ERROR(
      (ForEachPage<v1::ListAccountsRequest, v1::ListAccountsResponse>(
          peer, kAccounts, {},
          [&](grpc::ClientContext* c, const auto& req, auto* resp) {
            return stub->ListAccounts(c, req, resp);
          },
          [&](v1::ListAccountsResponse& page) {
            accounts += page.accounts_size();
            return org.ReplaceAccountPage(
                sweep, TakeAll(page.mutable_accounts()), kAccountsSource);
          },
          &accounts_at, kMaxAccountPages)));
  const uint64_t cursor = no_rates
                              ? std::min(nodes_at, accounts_at)
                              : std::min({nodes_at, accounts_at, rates_at});
  RETURN_IF_ERROR(org.FinishAccounts(sweep, kAccountsSource, cursor));
  log::Info("credit: accounts resync done, the copy replaced",
            {{"nodes", static_cast<int64_t>(nodes.size())},
             {"rates", static_cast<int64_t>(rates.size())},
             {"accounts", accounts},
             {"cursor", static_cast<int64_t>(cursor)},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  return absl::OkStatus();
}

// ---- pipeline ----

PipelineFollower::PipelineFollower(const CreditLedger* ledger,
                                   const PeerChannel* pipeline)
    : ledger_(ledger), peer_(pipeline) {}

std::vector<std::string> PipelineFollower::kinds() const {
  return {kModelKind, kOpportunityKind};
}

absl::Status PipelineFollower::Apply(const v1::Event& event, WriteTxn& txn) {
  if (event.kind() == kModelKind) {
    return ApplyModel(event, txn);
  }
  if (event.kind() == kOpportunityKind) {
    return ApplyOpportunity(event, txn);
  }
  return absl::OkStatus();
}

absl::Status PipelineFollower::ApplyModel(const v1::Event& event,
                                          WriteTxn& txn) const {
  v1::StageModel model;
  if (!event.payload().UnpackTo(&model) || model.id().empty()) {
    return absl::DataLossError(absl::StrCat(
        "pipeline feed event ", event.sequence(), ": not a StageModel"));
  }
  ASSIGN_OR_RETURN(std::optional<v1::StageModel> old,
                   ledger_->db.FindModel(txn, model.id()));
  if (!old || old->version() < model.version()) {
    ledger_->db.PutModel(txn, model);
  }
  return absl::OkStatus();
}

absl::Status PipelineFollower::ApplyOpportunity(const v1::Event& event,
                                                WriteTxn& txn) const {
  const CreditStore& db = ledger_->db;
  v1::Opportunity o;
  if (!event.payload().UnpackTo(&o) || o.id().empty()) {
    return absl::DataLossError(absl::StrCat(
        "pipeline feed event ", event.sequence(), ": not an Opportunity"));
  }
  db.PutOpportunityAccount(txn, o.id(), o.account_id());
  const bool sold = o.status() == v1::OPPORTUNITY_STATUS_OPEN ||
                    o.status() == v1::OPPORTUNITY_STATUS_WON;
  if (!sold) {
    // Closed without a sale: nothing is contracted any more.
    return db.ReleaseCommitment(txn, o.id());
  }
  ASSIGN_OR_RETURN(std::optional<v1::StageModel> model,
                   db.FindModel(txn, o.stage_model_id()));
  if (!model) {
    // Pipeline emits a model before any opportunity that uses it, so this is
    // a bug or a damaged feed: stop rather than miss a receivable.
    return absl::FailedPreconditionError(
        absl::StrCat("pipeline feed event ", event.sequence(), ": stage model ",
                     o.stage_model_id(), " not seen yet"));
  }
  if (!InContractSignedStage(o, *model)) {
    return absl::OkStatus();
  }
  return OpenContractReceivable(o, event.time_micros(), txn);
}

absl::Status PipelineFollower::OpenContractReceivable(const v1::Opportunity& o,
                                                      int64_t event_micros,
                                                      WriteTxn& txn) const {
  const CreditStore& db = ledger_->db;
  // Exactly once per opportunity, whatever the feed replays.
  ASSIGN_OR_RETURN(std::optional<std::string> opened,
                   db.contract_receivable_by_opportunity.Lookup(txn, o.id()));
  if (opened || o.amount().units_minor() <= 0) {
    return absl::OkStatus();
  }
  // An ERP that invoiced the opportunity first has issued the contract's
  // invoice: remember it as this opportunity's receivable, open no second.
  std::vector<std::string> invoiced;
  bool more = false;
  RETURN_IF_ERROR(db.receivables_by_opportunity.ListIds(txn, o.id(), "", 1,
                                                        &invoiced, &more));
  if (!invoiced.empty()) {
    db.contract_receivable_by_opportunity.Put(txn, o.id(), invoiced[0]);
    return absl::OkStatus();
  }
  const absl::CivilDay issue =
      ContractIssueDay(o, event_micros, ledger_->options);
  ASSIGN_OR_RETURN(int terms, ledger_->PaymentTermsDays(txn, o.account_id()));
  v1::Receivable r = NewContractReceivable(
      o, issue, terms, NewId("rcv", txn.now()), txn.now(), ledger_->options);
  db.contract_receivable_by_opportunity.Put(txn, o.id(), r.id());
  return ledger_->OpenReceivable(txn, &r);
}

absl::Status PipelineFollower::Resync() {
  if (peer_ == nullptr) {
    return absl::FailedPreconditionError("pipeline: no peer to resync from");
  }
  const PeerChannel& peer = *peer_;
  Store& store = *ledger_->db.store;
  const absl::Time start = absl::Now();
  auto stub = v1::PipelineService::NewStub(peer.channel());
  std::vector<v1::StageModel> models;
  uint64_t models_at = 0, opportunities_at = 0;
  RETURN_IF_ERROR(
      (CollectAll<v1::ListStageModelsRequest, v1::ListStageModelsResponse>(
          peer, kPipeline,
          [&](grpc::ClientContext* c, const auto& req, auto* resp) {
            return stub->ListStageModels(c, req, resp);
          },
          [](v1::ListStageModelsResponse& page) {
            return page.mutable_models();
          },
          &models, &models_at)));
  RETURN_IF_ERROR(ReplaceModels(store, models));
  SortedSweep sweep(Cf::kMirror, CreditStore::OpportunityAccountPrefix());
  int64_t listed = 0;
  int64_t forgotten = 0;
  RETURN_IF_ERROR(
      (ForEachPage<v1::ListOpportunitiesRequest, v1::ListOpportunitiesResponse>(
          peer, kPipeline, {},
          [&](grpc::ClientContext* c, const auto& req, auto* resp) {
            return stub->ListOpportunities(c, req, resp);
          },
          [&](v1::ListOpportunitiesResponse& page) {
            listed += page.opportunities_size();
            return ReplacePage(store, *this, sweep,
                               TakeAll(page.mutable_opportunities()),
                               &forgotten);
          },
          &opportunities_at, kMaxOpportunityPages)));
  const uint64_t cursor = std::min(models_at, opportunities_at);
  RETURN_IF_ERROR(Finish(store, sweep, cursor, &forgotten));
  log::Info("credit: pipeline resync done, the copy replaced",
            {{"models", static_cast<int64_t>(models.size())},
             {"opportunities", listed},
             {"forgotten", forgotten},
             {"cursor", static_cast<int64_t>(cursor)},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  return absl::OkStatus();
}

}  // namespace salesops::credit
