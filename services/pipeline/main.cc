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

int main(int argc, char** argv) {
  using salesops::ServiceRuntime;
  namespace pipeline = salesops::pipeline;
  salesops::BlockTerminationSignals();
  salesops::ParseFlags(argc, argv,
                       "salesops-pipeline: opportunities and stage models. "
                       "Flags: see README.md");
  const std::string accounts_addr = absl::GetFlag(FLAGS_accounts_addr);
  if (accounts_addr.empty()) {
    return ServiceRuntime::FailedToStart(absl::InvalidArgumentError(
        "--accounts_addr: required (HOST:PORT of salesops-accounts)"));
  }
  const std::string credit_addr = absl::GetFlag(FLAGS_credit_addr);
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(absl::GetFlag(FLAGS_time_zone), &tz)) {
    return ServiceRuntime::FailedToStart(absl::InvalidArgumentError(
        absl::StrCat("--time_zone: unknown time zone ",
                     absl::GetFlag(FLAGS_time_zone))));
  }
  auto accounts_peer = salesops::PeerChannel::FromFlags(accounts_addr);
  if (!accounts_peer.ok()) {
    return ServiceRuntime::FailedToStart(accounts_peer.status());
  }
  // Outlives the runtime (and so its feed consumers), like accounts_peer.
  std::unique_ptr<salesops::PeerChannel> credit_peer;
  if (!credit_addr.empty()) {
    auto peer = salesops::PeerChannel::FromFlags(credit_addr);
    if (!peer.ok()) {
      return ServiceRuntime::FailedToStart(peer.status());
    }
    credit_peer = std::move(*peer);
  }
  auto runtime =
      ServiceRuntime::FromFlags({"pipeline", pipeline::ColumnFamilies()});
  if (!runtime.ok()) {
    return ServiceRuntime::FailedToStart(runtime.status());
  }
  salesops::Store& store = (*runtime)->store();
  salesops::OrgMirror org(&store, pipeline::Cf::kMirror);
  if (absl::Status s = org.Load(); !s.ok()) {
    return ServiceRuntime::FailedToStart(s);
  }
  std::unique_ptr<pipeline::AccountsClient> accounts =
      pipeline::NewGrpcAccountsClient(accounts_peer->get());
  std::unique_ptr<pipeline::CreditClient> credit =
      credit_peer != nullptr ? pipeline::NewGrpcCreditClient(credit_peer.get())
                             : pipeline::NewUnconfiguredCreditClient();

  salesops::FeedConsumerOptions follow;
  follow.source = "accounts";
  follow.kinds = {"accounts.OrgNode"};
  follow.registry = &(*runtime)->metrics().registry();
  (*runtime)->AddConsumer(std::make_unique<salesops::FeedConsumer>(
      &store, accounts_peer->get(), follow,
      [&org](const salesops::v1::Event& e, salesops::WriteTxn& txn) {
        return org.Apply(e, txn);
      },
      [&org, &accounts]() -> absl::Status {
        std::vector<salesops::v1::OrgNode> nodes;
        uint64_t sequence = 0;
        RETURN_IF_ERROR(accounts->ListAllOrgNodes(&nodes, &sequence));
        return org.Replace(nodes, "accounts", sequence);
      }));

  pipeline::PipelineOptions options;
  options.currency = absl::GetFlag(FLAGS_currency);
  options.time_zone = tz;
  pipeline::PipelineServiceImpl service(&store, &(*runtime)->auth(),
                                        (*runtime)->clock(), accounts.get(),
                                        credit.get(), &org, options);
  if (absl::Status s = service.Init(); !s.ok()) {
    return ServiceRuntime::FailedToStart(s);
  }
  if (credit_peer != nullptr) {
    // Full collection closes closes_on_collection opportunities WON, in the
    // same transaction as the cursor (SPEC §6).
    salesops::FeedConsumerOptions follow_credit;
    follow_credit.source = pipeline::kCreditSource;
    follow_credit.kinds = {pipeline::kOpportunityCollectionKind};
    follow_credit.registry = &(*runtime)->metrics().registry();
    (*runtime)->AddConsumer(std::make_unique<salesops::FeedConsumer>(
        &store, credit_peer.get(), follow_credit,
        [&service](const salesops::v1::Event& e, salesops::WriteTxn& txn) {
          return service.ApplyCreditEvent(e, txn);
        },
        [&service]() { return service.ResyncCredit(); }));
  }
  (*runtime)->AddService(&service, "salesops.v1.PipelineService");
  return (*runtime)->Run();
}
