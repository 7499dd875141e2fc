// salesops-credit: credit profiles and checks, receivables and payments,
// aging, collections and the cost-of-credit calculators (SPEC.md §5). Flags:
// the common ones (common/server/flags.h) plus --accounts_addr and
// --pipeline_addr (required), --default_payment_terms_days and
// --overdue_block_days.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/org/org_mirror.h"
#include "common/runtime/service_runtime.h"
#include "common/server/flags.h"
#include "common/server/peer.h"
#include "common/status/status.h"
#include "common/time/fiscal_calendar.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "services/credit/credit_service.h"
#include "services/credit/credit_store.h"

namespace {

using salesops::PeerChannel;
namespace v1 = salesops::v1;

// After OUT_OF_RANGE on the accounts feed: the whole org tree and every
// account's owner, replaced in one transaction with the cursor.
absl::Status ResyncAccounts(const PeerChannel& peer, salesops::OrgMirror& org) {
  auto stub = v1::AccountsService::NewStub(peer.channel());
  std::vector<v1::OrgNode> nodes;
  std::vector<v1::Account> accounts;
  uint64_t nodes_at = 0, accounts_at = 0;
  RETURN_IF_ERROR((
      salesops::ListAllPages<v1::ListOrgNodesRequest, v1::ListOrgNodesResponse>(
          peer, "accounts service", v1::ListOrgNodesRequest(),
          [&](grpc::ClientContext* c, const auto& req, auto* resp) {
            return stub->ListOrgNodes(c, req, resp);
          },
          [&](v1::ListOrgNodesResponse& resp) {
            for (v1::OrgNode& n : *resp.mutable_nodes()) {
              nodes.push_back(std::move(n));
            }
          },
          &nodes_at)));
  RETURN_IF_ERROR((
      salesops::ListAllPages<v1::ListAccountsRequest, v1::ListAccountsResponse>(
          peer, "accounts service", v1::ListAccountsRequest(),
          [&](grpc::ClientContext* c, const auto& req, auto* resp) {
            return stub->ListAccounts(c, req, resp);
          },
          [&](v1::ListAccountsResponse& resp) {
            for (v1::Account& a : *resp.mutable_accounts()) {
              accounts.push_back(std::move(a));
            }
          },
          &accounts_at)));
  return org.Replace(nodes, "accounts", std::min(nodes_at, accounts_at),
                     &accounts);
}

// After OUT_OF_RANGE on the pipeline feed: every stage model and opportunity
// applied again (idempotent), a page per transaction, then the cursor.
absl::Status ResyncPipeline(const PeerChannel& peer, salesops::Store& store,
                            salesops::credit::CreditServiceImpl& service) {
  auto stub = v1::PipelineService::NewStub(peer.channel());
  auto apply_all = [&](const char* kind, const auto& entities) {
    return store
        .Write(salesops::SystemActor("resync:pipeline"),
               [&](salesops::WriteTxn& txn) -> absl::Status {
                 for (const auto& entity : entities) {
                   v1::Event e;
                   e.set_kind(kind);
                   e.set_entity_id(entity.id());
                   e.set_time_micros(absl::ToUnixMicros(txn.now()));
                   e.mutable_payload()->PackFrom(entity);
                   RETURN_IF_ERROR(service.ApplyPipeline(e, txn));
                 }
                 return absl::OkStatus();
               })
        .status();
  };
  absl::Status applied;
  uint64_t models_at = 0, opportunities_at = 0;
  RETURN_IF_ERROR((salesops::ListAllPages<v1::ListStageModelsRequest,
                                          v1::ListStageModelsResponse>(
      peer, "pipeline service", v1::ListStageModelsRequest(),
      [&](grpc::ClientContext* c, const auto& req, auto* resp) {
        return stub->ListStageModels(c, req, resp);
      },
      [&](v1::ListStageModelsResponse& resp) {
        if (applied.ok()) {
          applied = apply_all("pipeline.StageModel", resp.models());
        }
      },
      &models_at)));
  RETURN_IF_ERROR(applied);
  RETURN_IF_ERROR((salesops::ListAllPages<v1::ListOpportunitiesRequest,
                                          v1::ListOpportunitiesResponse>(
      peer, "pipeline service", v1::ListOpportunitiesRequest(),
      [&](grpc::ClientContext* c, const auto& req, auto* resp) {
        return stub->ListOpportunities(c, req, resp);
      },
      [&](v1::ListOpportunitiesResponse& resp) {
        if (applied.ok()) {
          applied = apply_all("pipeline.Opportunity", resp.opportunities());
        }
      },
      &opportunities_at, /*max_pages=*/100'000)));
  RETURN_IF_ERROR(applied);
  return store
      .Write(salesops::SystemActor("resync:pipeline"),
             [&](salesops::WriteTxn& txn) -> absl::Status {
               txn.PutCursor("pipeline", std::min(models_at, opportunities_at));
               return absl::OkStatus();
             })
      .status();
}

}  // namespace

ABSL_FLAG(std::string, accounts_addr, "",
          "HOST:PORT of salesops-accounts (required): accounts, their owners "
          "and the org tree, followed from its feed");
ABSL_FLAG(std::string, pipeline_addr, "",
          "HOST:PORT of salesops-pipeline (required): entering a "
          "contract_signed stage opens a receivable");
ABSL_FLAG(int, default_payment_terms_days, 30,
          "payment terms of receivables of accounts without a credit profile");
ABSL_FLAG(int, overdue_block_days, 30,
          "CheckCredit blocks an account with receivables overdue more than "
          "this many days");

int main(int argc, char** argv) {
  using salesops::ServiceRuntime;
  namespace credit = salesops::credit;
  salesops::BlockTerminationSignals();
  salesops::ParseFlags(argc, argv,
                       "salesops-credit: credit and collections. Flags: see "
                       "README.md");
  const std::string accounts_addr = absl::GetFlag(FLAGS_accounts_addr);
  const std::string pipeline_addr = absl::GetFlag(FLAGS_pipeline_addr);
  if (accounts_addr.empty()) {
    return ServiceRuntime::FailedToStart(absl::InvalidArgumentError(
        "--accounts_addr: required (HOST:PORT of salesops-accounts)"));
  }
  if (pipeline_addr.empty()) {
    return ServiceRuntime::FailedToStart(absl::InvalidArgumentError(
        "--pipeline_addr: required (HOST:PORT of salesops-pipeline)"));
  }
  credit::CreditOptions options;
  options.currency = absl::GetFlag(FLAGS_currency);
  options.default_payment_terms_days =
      absl::GetFlag(FLAGS_default_payment_terms_days);
  options.overdue_block_days = absl::GetFlag(FLAGS_overdue_block_days);
  if (options.default_payment_terms_days < 0 ||
      options.default_payment_terms_days > 365) {
    return ServiceRuntime::FailedToStart(absl::InvalidArgumentError(
        "--default_payment_terms_days: must be 0..365"));
  }
  if (options.overdue_block_days < 0 || options.overdue_block_days > 3650) {
    return ServiceRuntime::FailedToStart(
        absl::InvalidArgumentError("--overdue_block_days: must be 0..3650"));
  }
  absl::StatusOr<absl::TimeZone> tz =
      salesops::LoadTimeZone(absl::GetFlag(FLAGS_time_zone));
  if (!tz.ok()) {
    return ServiceRuntime::FailedToStart(tz.status());
  }
  options.time_zone = *tz;
  auto accounts_peer = salesops::PeerChannel::FromFlags(accounts_addr);
  if (!accounts_peer.ok()) {
    return ServiceRuntime::FailedToStart(accounts_peer.status());
  }
  auto pipeline_peer = salesops::PeerChannel::FromFlags(pipeline_addr);
  if (!pipeline_peer.ok()) {
    return ServiceRuntime::FailedToStart(pipeline_peer.status());
  }
  auto runtime =
      ServiceRuntime::FromFlags({"credit", credit::ColumnFamilies()});
  if (!runtime.ok()) {
    return ServiceRuntime::FailedToStart(runtime.status());
  }
  salesops::Store& store = (*runtime)->store();
  salesops::OrgMirror org(&store, credit::Cf::kMirror);
  if (absl::Status s = org.Load(); !s.ok()) {
    return ServiceRuntime::FailedToStart(s);
  }
  credit::CreditServiceImpl service(
      &store, &(*runtime)->auth(), (*runtime)->clock(), &org,
      credit::GrpcAccountLookup(accounts_peer->get()), options);

  salesops::FeedConsumerOptions accounts_follow;
  accounts_follow.source = "accounts";
  accounts_follow.kinds = credit::CreditServiceImpl::AccountsKinds();
  accounts_follow.registry = &(*runtime)->metrics().registry();
  (*runtime)->AddConsumer(std::make_unique<salesops::FeedConsumer>(
      &store, accounts_peer->get(), accounts_follow,
      [&org](const salesops::v1::Event& e, salesops::WriteTxn& txn) {
        return org.Apply(e, txn);
      },
      [&org, &accounts_peer] { return ResyncAccounts(**accounts_peer, org); }));
  salesops::FeedConsumerOptions pipeline_follow;
  pipeline_follow.source = "pipeline";
  pipeline_follow.kinds = credit::CreditServiceImpl::PipelineKinds();
  pipeline_follow.registry = &(*runtime)->metrics().registry();
  (*runtime)->AddConsumer(std::make_unique<salesops::FeedConsumer>(
      &store, pipeline_peer->get(), pipeline_follow,
      [&service](const salesops::v1::Event& e, salesops::WriteTxn& txn) {
        return service.ApplyPipeline(e, txn);
      },
      [&store, &service, &pipeline_peer] {
        return ResyncPipeline(**pipeline_peer, store, service);
      }));

  // Promises judged, dunning steps issued and holds placed as days pass.
  service.StartDailyRunner(absl::Minutes(1));
  (*runtime)->OnShutdown([&service] { service.StopDailyRunner(); });
  (*runtime)->AddService(&service, "salesops.v1.CreditService");
  return (*runtime)->Run();
}
