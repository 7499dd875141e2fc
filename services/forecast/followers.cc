#include "services/forecast/followers.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/org/org_listing.h"
#include "common/resync/list_pages.h"
#include "common/status/status.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"

namespace salesops::forecast {
namespace {

constexpr char kAccounts[] = "accounts service";
constexpr char kPipeline[] = "pipeline service";
// 1,000 per page: up to 100M opportunities, history entries or collections.
constexpr int64_t kMaxPages = 100'000;
constexpr char kCredit[] = "credit service";

}  // namespace

// ---------------------------------------------------------------------------
// forecast ← accounts

std::vector<std::string> AccountsFollower::kinds() const {
  std::vector<std::string> kinds = AccountsKinds();
  if (region_ != nullptr) {
    // A global forecast converts with the headquarters' rates only.
    kinds.erase(std::remove(kinds.begin(), kinds.end(), kExchangeRateKind),
                kinds.end());
  }
  return kinds;
}

absl::Status AccountsFollower::Apply(const v1::Event& event, WriteTxn& txn) {
  if (region_ == nullptr) return view_->ApplyAccounts(event, txn);
  ASSIGN_OR_RETURN(const v1::Event e, Scoped(event));
  return view_->ApplyAccounts(e, txn, staging_);
}

void AccountsFollower::AfterBatch(bool committed) {
  if (region_ == nullptr) {
    view_->AfterAccountsBatch(committed);
  } else {
    view_->AfterBatch(staging_, committed, /*org_or_quota=*/true);
  }
}

absl::Status AccountsFollower::Resync() {
  const PeerChannel& peer = *peer_;
  ForecastView& view = *view_;
  const absl::Time start = absl::Now();
  auto stub = v1::AccountsService::NewStub(peer.channel());
  std::vector<v1::OrgNode> nodes;
  std::vector<v1::Quota> quotas;
  std::vector<v1::ExchangeRate> rates;
  uint64_t nodes_at = 0, quotas_at = 0, rates_at = 0;
  RETURN_IF_ERROR(ListAllOrgNodes(peer, &nodes, &nodes_at));
  RETURN_IF_ERROR((ForEachPage<v1::ListQuotasRequest, v1::ListQuotasResponse>(
      peer, kAccounts, {},
      [&](grpc::ClientContext* c, const auto& req, auto* resp) {
        return stub->ListQuotas(c, req, resp);
      },
      [&](v1::ListQuotasResponse& page) {
        for (v1::Quota& q : TakeAll(page.mutable_quotas())) {
          quotas.push_back(std::move(q));
        }
        return absl::OkStatus();
      },
      &quotas_at)));
  rates_at = std::min(nodes_at, quotas_at);
  if (region_ == nullptr) {
    RETURN_IF_ERROR((ForEachPage<v1::ListExchangeRatesRequest,
                                 v1::ListExchangeRatesResponse>(
        peer, kAccounts, {},
        [&](grpc::ClientContext* c, const auto& req, auto* resp) {
          return stub->ListExchangeRates(c, req, resp);
        },
        [&](v1::ListExchangeRatesResponse& page) {
          for (v1::ExchangeRate& r : TakeAll(page.mutable_rates())) {
            rates.push_back(std::move(r));
          }
          return absl::OkStatus();
        },
        &rates_at)));
  }
  Scope(nodes);
  Scope(quotas);
  RETURN_IF_ERROR(view.ReplaceNodes(nodes, ns()));
  if (region_ == nullptr) {
    // Rates before quotas: the quotas are then priced at the new rates.
    RETURN_IF_ERROR(view.ReplaceRates(rates));
  }
  const uint64_t cursor = std::min({nodes_at, quotas_at, rates_at});
  const ForecastView::Cursor at{source(), cursor};
  RETURN_IF_ERROR(view.ReplaceQuotas(quotas, &at, ns()));
  log::Info("forecast: accounts resync done, the copy replaced",
            {{"source", source()},
             {"nodes", static_cast<int64_t>(nodes.size())},
             {"quotas", static_cast<int64_t>(quotas.size())},
             {"rates", static_cast<int64_t>(rates.size())},
             {"cursor", static_cast<int64_t>(cursor)},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// forecast ← pipeline

absl::Status PipelineFollower::Apply(const v1::Event& event, WriteTxn& txn) {
  if (region_ == nullptr) return view_->ApplyPipeline(event, txn);
  ASSIGN_OR_RETURN(const v1::Event e, Scoped(event));
  return view_->ApplyPipeline(e, txn, staging_);
}

void PipelineFollower::AfterBatch(bool committed) {
  if (region_ == nullptr) {
    view_->AfterPipelineBatch(committed);
  } else {
    view_->AfterBatch(staging_, committed, /*org_or_quota=*/false);
  }
}

absl::Status PipelineFollower::ResyncOpportunities(
    v1::PipelineService::StubInterface& stub, int64_t* count, uint64_t* at) {
  const PeerChannel& peer = *peer_;
  ForecastView& view = *view_;
  int64_t& entities = *count;
  uint64_t& opportunities_at = *at;
  SortedSweep opportunities =
      ForecastView::SweepOf(ForecastView::Copy::kOpportunities, ns());
  RETURN_IF_ERROR(
      (ForEachPage<v1::ListOpportunitiesRequest, v1::ListOpportunitiesResponse>(
          peer, kPipeline, {},
          [&](grpc::ClientContext* c, const auto& req, auto* resp) {
            return stub.ListOpportunities(c, req, resp);
          },
          [&](v1::ListOpportunitiesResponse& page) {
            entities += page.opportunities_size();
            std::vector<v1::Opportunity> listed =
                TakeAll(page.mutable_opportunities());
            Scope(listed);
            return view.ReplaceOpportunityPage(opportunities, listed);
          },
          &opportunities_at, kMaxPages)));
  RETURN_IF_ERROR(view.FinishReplace(ForecastView::Copy::kOpportunities,
                                     opportunities, nullptr, ns()));
  return absl::OkStatus();
}

absl::Status PipelineFollower::Resync() {
  const PeerChannel& peer = *peer_;
  ForecastView& view = *view_;
  const absl::Time start = absl::Now();
  auto stub = v1::PipelineService::NewStub(peer.channel());
  int64_t entities = 0;
  std::vector<v1::StageModel> models;
  uint64_t models_at = 0, opportunities_at = 0, changes_at = 0;
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
  Scope(models);
  RETURN_IF_ERROR(view.ReplaceModels(models, ns()));
  entities += static_cast<int64_t>(models.size());

  RETURN_IF_ERROR(ResyncOpportunities(*stub, &entities, &opportunities_at));

  SortedSweep changes =
      ForecastView::SweepOf(ForecastView::Copy::kChanges, ns());
  RETURN_IF_ERROR((ForEachPage<v1::ListOpportunityChangesRequest,
                               v1::ListOpportunityChangesResponse>(
      peer, kPipeline, {},
      [&](grpc::ClientContext* c, const auto& req, auto* resp) {
        return stub->ListOpportunityChanges(c, req, resp);
      },
      [&](v1::ListOpportunityChangesResponse& page) {
        entities += page.changes_size();
        std::vector<v1::OpportunityChange> listed =
            TakeAll(page.mutable_changes());
        Scope(listed);
        return view.ReplaceChangePage(changes, listed);
      },
      &changes_at, kMaxPages)));
  const uint64_t cursor = std::min({models_at, opportunities_at, changes_at});
  const ForecastView::Cursor at{source(), cursor};
  RETURN_IF_ERROR(
      view.FinishReplace(ForecastView::Copy::kChanges, changes, &at, ns()));
  log::Info("forecast: pipeline resync done, the copy replaced",
            {{"source", source()},
             {"entities", entities},
             {"cursor", static_cast<int64_t>(cursor)},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// forecast ← credit

absl::Status CreditFollower::Apply(const v1::Event& event, WriteTxn& txn) {
  if (region_ == nullptr) return view_->ApplyCredit(event, txn);
  ASSIGN_OR_RETURN(const v1::Event e, Scoped(event));
  return view_->ApplyCredit(e, txn, staging_);
}

void CreditFollower::AfterBatch(bool committed) {
  if (region_ == nullptr) {
    view_->AfterCreditBatch(committed);
  } else {
    view_->AfterBatch(staging_, committed, /*org_or_quota=*/false);
  }
}

absl::Status CreditFollower::Resync() {
  const PeerChannel& peer = *peer_;
  ForecastView& view = *view_;
  const absl::Time start = absl::Now();
  auto stub = v1::CreditService::NewStub(peer.channel());
  int64_t entities = 0;
  uint64_t cursor = 0;
  SortedSweep collections =
      ForecastView::SweepOf(ForecastView::Copy::kCollections, ns());
  RETURN_IF_ERROR((ForEachPage<v1::ListOpportunityCollectionsRequest,
                               v1::ListOpportunityCollectionsResponse>(
      peer, kCredit, {},
      [&](grpc::ClientContext* c, const auto& req, auto* resp) {
        return stub->ListOpportunityCollections(c, req, resp);
      },
      [&](v1::ListOpportunityCollectionsResponse& page) {
        entities += page.collections_size();
        std::vector<v1::OpportunityCollection> listed =
            TakeAll(page.mutable_collections());
        Scope(listed);
        return view.ReplaceCollectionPage(collections, listed);
      },
      &cursor, kMaxPages)));
  const ForecastView::Cursor at{source(), cursor};
  RETURN_IF_ERROR(view.FinishReplace(ForecastView::Copy::kCollections,
                                     collections, &at, ns()));
  log::Info("forecast: credit resync done, the copy replaced",
            {{"source", source()},
             {"collections", entities},
             {"cursor", static_cast<int64_t>(cursor)},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  return absl::OkStatus();
}

}  // namespace salesops::forecast
