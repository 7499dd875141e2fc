// salesops-pipeline: opportunities, stage models, buying centres, evaluations,
// deal health, activities and follow-ups (SPEC.md §3). Flags: the common ones
// (common/server/flags.h) plus --accounts_addr (required) and --credit_addr
// (optional: credit checks on moves, and the credit feed that closes
// `closes_on_collection` opportunities WON once collected in full).

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
#include "services/pipeline/peers.h"
#include "services/pipeline/pipeline_service.h"
#include "services/pipeline/pipeline_store.h"

ABSL_FLAG(std::string, accounts_addr, "",
          "HOST:PORT of salesops-accounts (required): account, owner and "
          "contact checks, and the org-node feed");
ABSL_FLAG(std::string, credit_addr, "",
          "HOST:PORT of salesops-credit: CheckCredit on moves into "
          "credit-checked stages, and its feed (full collection closes an "
          "opportunity in a closes_on_collection stage WON); empty: no credit "
          "feed, and moves into credit-checked stages pass marked "
          "credit_review_pending");

namespace salesops::pipeline {
namespace {

// The peers and options the flags name; `credit` stays null without
// --credit_addr.
struct Setup {
  std::unique_ptr<PeerChannel> accounts;
  std::unique_ptr<PeerChannel> credit;
  PipelineOptions options;
};

absl::StatusOr<Setup> SetupFromFlags() {
  const std::string accounts_addr = absl::GetFlag(FLAGS_accounts_addr);
  if (accounts_addr.empty()) {
    return absl::InvalidArgumentError(
        "--accounts_addr: required (HOST:PORT of salesops-accounts)");
  }
  Setup setup;
  if (!absl::LoadTimeZone(absl::GetFlag(FLAGS_time_zone),
                          &setup.options.time_zone)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--time_zone: unknown time zone ", absl::GetFlag(FLAGS_time_zone)));
  }
  setup.options.currency = absl::GetFlag(FLAGS_currency);
  ASSIGN_OR_RETURN(setup.accounts, PeerChannel::FromFlags(accounts_addr));
  if (const std::string credit_addr = absl::GetFlag(FLAGS_credit_addr);
      !credit_addr.empty()) {
    ASSIGN_OR_RETURN(setup.credit, PeerChannel::FromFlags(credit_addr));
  }
  return setup;
}

// The org nodes of accounts' feed into `org`; a resync lists them all.
void FollowAccounts(ServiceRuntime& runtime, const PeerChannel* peer,
                    OrgMirror* org, AccountsClient* accounts) {
  FeedConsumerOptions follow;
  follow.source = "accounts";
  follow.kinds = {"accounts.OrgNode"};
  follow.registry = &runtime.metrics().registry();
  runtime.AddConsumer(std::make_unique<FeedConsumer>(
      &runtime.store(), peer, follow,
      [org](const v1::Event& e, WriteTxn& txn) { return org->Apply(e, txn); },
      [org, accounts]() -> absl::Status {
        std::vector<v1::OrgNode> nodes;
        uint64_t sequence = 0;
        RETURN_IF_ERROR(accounts->ListAllOrgNodes(&nodes, &sequence));
        return org->Replace(nodes, "accounts", sequence);
      }));
}

// Full collection closes closes_on_collection opportunities WON, in the same
// transaction as the cursor (SPEC §6).
void FollowCredit(ServiceRuntime& runtime, const PeerChannel* peer,
                  PipelineServiceImpl* service) {
  FeedConsumerOptions follow;
  follow.source = kCreditSource;
  follow.kinds = {kOpportunityCollectionKind};
  follow.registry = &runtime.metrics().registry();
  runtime.AddConsumer(std::make_unique<FeedConsumer>(
      &runtime.store(), peer, follow,
      [service](const v1::Event& e, WriteTxn& txn) {
        return service->ApplyCreditEvent(e, txn);
      },
      [service]() { return service->ResyncCredit(); }));
}

int Serve(Setup setup) {
  auto runtime = ServiceRuntime::FromFlags({"pipeline", ColumnFamilies()});
  if (!runtime.ok()) {
    return ServiceRuntime::FailedToStart(runtime.status());
  }
  Store& store = (*runtime)->store();
  OrgMirror org(&store, Cf::kMirror);
  if (absl::Status s = org.Load(); !s.ok()) {
    return ServiceRuntime::FailedToStart(s);
  }
  std::unique_ptr<AccountsClient> accounts =
      NewGrpcAccountsClient(setup.accounts.get());
  std::unique_ptr<CreditClient> credit =
      setup.credit != nullptr ? NewGrpcCreditClient(setup.credit.get())
                              : NewUnconfiguredCreditClient();
  FollowAccounts(**runtime, setup.accounts.get(), &org, accounts.get());
  PipelineServiceImpl service(&store, &(*runtime)->auth(), (*runtime)->clock(),
                              accounts.get(), credit.get(), &org,
                              setup.options);
  if (absl::Status s = service.Init(); !s.ok()) {
    return ServiceRuntime::FailedToStart(s);
  }
  if (setup.credit != nullptr) {
    FollowCredit(**runtime, setup.credit.get(), &service);
  }
  (*runtime)->AddService(&service, "salesops.v1.PipelineService");
  return (*runtime)->Run();
}

}  // namespace
}  // namespace salesops::pipeline

int main(int argc, char** argv) {
  salesops::BlockTerminationSignals();
  salesops::ParseFlags(argc, argv,
                       "salesops-pipeline: opportunities and stage models. "
                       "Flags: see README.md");
  absl::StatusOr<salesops::pipeline::Setup> setup =
      salesops::pipeline::SetupFromFlags();
  if (!setup.ok()) {
    return salesops::ServiceRuntime::FailedToStart(setup.status());
  }
  // The peer channels outlive the runtime (and so its feed consumers).
  return salesops::pipeline::Serve(std::move(*setup));
}
