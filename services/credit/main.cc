// salesops-credit: credit profiles and checks, receivables and payments,
// aging, collections and the cost-of-credit calculators (SPEC.md §5). Flags:
// the common ones (common/server/flags.h) and credit's (credit_flags.h).

#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <utility>

#include "common/org/org_mirror.h"
#include "common/runtime/service_runtime.h"
#include "common/server/flags.h"
#include "common/server/peer.h"
#include "services/credit/credit_flags.h"
#include "services/credit/credit_service.h"
#include "services/credit/credit_store.h"
#include "services/credit/daily_job.h"
#include "services/credit/followers.h"

namespace {

// Issue 19 (D40): open receivables whose currency has no rate for today
// (alert SalesOpsMissingExchangeRate, deploy/), counted by the daily job.
void ExportMissingRates(salesops::ServiceRuntime& runtime,
                        salesops::credit::DailyJob& job) {
  prometheus::Gauge* missing_rates =
      &prometheus::BuildGauge()
           .Name("salesops_credit_missing_exchange_rates")
           .Help(
               "Open receivables whose currency has no exchange rate for "
               "today (their amounts are left out of converted figures)")
           .Register(runtime.metrics().registry())
           .Add({});
  job.SetMissingRatesListener([missing_rates](int64_t n) {
    missing_rates->Set(static_cast<double>(n));
  });
}

}  // namespace

int main(int argc, char** argv) {
  using salesops::ServiceRuntime;
  namespace credit = salesops::credit;
  salesops::BlockTerminationSignals();
  salesops::ParseFlags(argc, argv,
                       "the SalesOps credit service: credit profiles, "
                       "receivables, credit checks and collections (gRPC). "
                       "Each flag may also come from SALESOPS_<FLAG NAME IN "
                       "CAPITALS>.");
  absl::StatusOr<credit::CreditFlags> flags =
      credit::CreditFlagsFromCommandLine();
  if (!flags.ok()) {
    return ServiceRuntime::FailedToStart(flags.status());
  }
  auto accounts = salesops::PeerChannel::FromFlags(flags->accounts_addr);
  if (!accounts.ok()) {
    return ServiceRuntime::FailedToStart(accounts.status());
  }
  auto pipeline = salesops::PeerChannel::FromFlags(flags->pipeline_addr);
  if (!pipeline.ok()) {
    return ServiceRuntime::FailedToStart(pipeline.status());
  }
  auto runtime =
      ServiceRuntime::FromFlags({"credit", credit::ColumnFamilies()});
  if (!runtime.ok()) {
    return ServiceRuntime::FailedToStart(runtime.status());
  }
  salesops::OrgMirror org(&(*runtime)->store(), credit::Cf::kMirror);
  if (absl::Status s = org.Load(); !s.ok()) {
    return ServiceRuntime::FailedToStart(s);
  }
  credit::CreditLedger ledger(&(*runtime)->store(), std::move(flags->options));
  if (absl::Status s = ledger.rates.Load(); !s.ok()) {
    return ServiceRuntime::FailedToStart(s);
  }
  credit::DailyJob job(&ledger, (*runtime)->clock());
  ExportMissingRates(**runtime, job);
  credit::CreditServiceImpl service(
      &ledger, &(*runtime)->auth(), (*runtime)->clock(), &org,
      credit::GrpcAccountLookup(accounts->get()), &job);
  credit::AccountsFollower accounts_follower(&org, &ledger.rates,
                                             accounts->get());
  credit::PipelineFollower pipeline_follower(&ledger, pipeline->get());
  (*runtime)->AddFollower(&accounts_follower, accounts->get());
  (*runtime)->AddFollower(&pipeline_follower, pipeline->get());
  // Promises judged, dunning steps issued and holds placed as days pass.
  job.Start(absl::Minutes(1));
  (*runtime)->OnShutdown([&job] { job.Stop(); });
  (*runtime)->AddService(&service, "salesops.v1.CreditService");
  return (*runtime)->Run();
}
