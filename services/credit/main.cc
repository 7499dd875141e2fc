// salesops-credit: credit profiles and checks, receivables and payments,
// aging, collections and the cost-of-credit calculators (SPEC.md §5). Flags:
// the common ones (common/server/flags.h) plus --accounts_addr and
// --pipeline_addr (required), --default_payment_terms_days and
// --overdue_block_days.

#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/org/org_mirror.h"
#include "common/runtime/service_runtime.h"
#include "common/server/flags.h"
#include "common/server/peer.h"
#include "common/time/fiscal_calendar.h"
#include "services/credit/accounts_follower.h"
#include "services/credit/credit_service.h"
#include "services/credit/credit_store.h"
#include "services/credit/pipeline_follower.h"

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
      [&org, &accounts_peer] {
        return credit::ResyncAccounts(**accounts_peer, org);
      }));
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
        return credit::ResyncPipeline(**pipeline_peer, store, service);
      }));

  // Promises judged, dunning steps issued and holds placed as days pass.
  service.StartDailyRunner(absl::Minutes(1));
  (*runtime)->OnShutdown([&service] { service.StopDailyRunner(); });
  (*runtime)->AddService(&service, "salesops.v1.CreditService");
  return (*runtime)->Run();
}
