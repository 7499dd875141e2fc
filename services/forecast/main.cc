// salesops-forecast: the weighted forecast rolled up our sales hierarchy
// (SPEC.md §4), a read model of the accounts, pipeline and credit feeds.
// Flags: the common ones (common/server/flags.h) plus --accounts_addr and
// --pipeline_addr (required), --credit_addr (optional: without it `collected`
// stays 0), --quarter_start_month and --weeks_per_quarter.

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/runtime/service_runtime.h"
#include "common/server/flags.h"
#include "common/server/peer.h"
#include "common/time/fiscal_calendar.h"
#include "services/forecast/accounts_follower.h"
#include "services/forecast/credit_follower.h"
#include "services/forecast/forecast_service.h"
#include "services/forecast/forecast_view.h"
#include "services/forecast/pipeline_follower.h"

ABSL_FLAG(std::string, accounts_addr, "",
          "HOST:PORT of salesops-accounts (required): the org-node and quota "
          "feed");
ABSL_FLAG(std::string, pipeline_addr, "",
          "HOST:PORT of salesops-pipeline (required): the opportunity and "
          "stage-model feed");
ABSL_FLAG(std::string, credit_addr, "",
          "HOST:PORT of salesops-credit (optional): the collection feed behind "
          "`collected`; empty = follow no credit feed, collected stays 0");
ABSL_FLAG(int32_t, quarter_start_month, 1,
          "first calendar month of fiscal Q1 (1 = calendar quarters)");
ABSL_FLAG(int32_t, weeks_per_quarter, 13, "weeks of a fiscal quarter (1..14)");

int main(int argc, char** argv) {
  using salesops::ServiceRuntime;
  namespace forecast = salesops::forecast;
  salesops::BlockTerminationSignals();
  salesops::ParseFlags(argc, argv,
                       "salesops-forecast: the weighted forecast. Flags: see "
                       "README.md");
  const std::string accounts_addr = absl::GetFlag(FLAGS_accounts_addr);
  const std::string pipeline_addr = absl::GetFlag(FLAGS_pipeline_addr);
  if (accounts_addr.empty() || pipeline_addr.empty()) {
    return ServiceRuntime::FailedToStart(absl::InvalidArgumentError(
        "--accounts_addr and --pipeline_addr: required (HOST:PORT of "
        "salesops-accounts and salesops-pipeline)"));
  }
  const std::string credit_addr = absl::GetFlag(FLAGS_credit_addr);
  absl::StatusOr<absl::TimeZone> tz =
      salesops::LoadTimeZone(absl::GetFlag(FLAGS_time_zone));
  if (!tz.ok()) {
    return ServiceRuntime::FailedToStart(tz.status());
  }
  salesops::FiscalCalendarOptions calendar_options;
  calendar_options.quarter_start_month =
      absl::GetFlag(FLAGS_quarter_start_month);
  calendar_options.weeks_per_quarter = absl::GetFlag(FLAGS_weeks_per_quarter);
  calendar_options.time_zone = *tz;
  absl::StatusOr<salesops::FiscalCalendar> calendar =
      salesops::FiscalCalendar::Create(calendar_options);
  if (!calendar.ok()) {
    return ServiceRuntime::FailedToStart(calendar.status());
  }
  auto accounts_peer = salesops::PeerChannel::FromFlags(accounts_addr);
  if (!accounts_peer.ok()) {
    return ServiceRuntime::FailedToStart(accounts_peer.status());
  }
  auto pipeline_peer = salesops::PeerChannel::FromFlags(pipeline_addr);
  if (!pipeline_peer.ok()) {
    return ServiceRuntime::FailedToStart(pipeline_peer.status());
  }
  // Outlives the runtime (its consumer's resync uses it).
  std::unique_ptr<salesops::PeerChannel> credit_peer;
  if (!credit_addr.empty()) {
    auto peer = salesops::PeerChannel::FromFlags(credit_addr);
    if (!peer.ok()) {
      return ServiceRuntime::FailedToStart(peer.status());
    }
    credit_peer = std::move(*peer);
  }
  auto runtime =
      ServiceRuntime::FromFlags({"forecast", forecast::ColumnFamilies()});
  if (!runtime.ok()) {
    return ServiceRuntime::FailedToStart(runtime.status());
  }
  salesops::Store& store = (*runtime)->store();
  forecast::ForecastView view(&store, *calendar);

  salesops::FeedConsumerOptions accounts_follow;
  accounts_follow.source = forecast::kAccountsSource;
  accounts_follow.kinds = forecast::AccountsKinds();
  accounts_follow.registry = &(*runtime)->metrics().registry();
  accounts_follow.after_batch = [&view](bool committed) {
    view.AfterAccountsBatch(committed);
  };
  salesops::FeedConsumer* accounts_feed =
      (*runtime)->AddConsumer(std::make_unique<salesops::FeedConsumer>(
          &store, accounts_peer->get(), accounts_follow,
          [&view](const salesops::v1::Event& e, salesops::WriteTxn& txn) {
            return view.ApplyAccounts(e, txn);
          },
          [&view, &accounts_peer] {
            return forecast::ResyncAccounts(**accounts_peer, view);
          }));
  salesops::FeedConsumerOptions pipeline_follow;
  pipeline_follow.source = forecast::kPipelineSource;
  pipeline_follow.kinds = forecast::PipelineKinds();
  pipeline_follow.registry = &(*runtime)->metrics().registry();
  pipeline_follow.after_batch = [&view](bool committed) {
    view.AfterPipelineBatch(committed);
  };
  salesops::FeedConsumer* pipeline_feed =
      (*runtime)->AddConsumer(std::make_unique<salesops::FeedConsumer>(
          &store, pipeline_peer->get(), pipeline_follow,
          [&view](const salesops::v1::Event& e, salesops::WriteTxn& txn) {
            return view.ApplyPipeline(e, txn);
          },
          [&view, &pipeline_peer] {
            return forecast::ResyncPipeline(**pipeline_peer, view);
          }));

  salesops::FeedConsumer* credit_feed = nullptr;
  if (credit_peer != nullptr) {
    salesops::FeedConsumerOptions credit_follow;
    credit_follow.source = forecast::kCreditSource;
    credit_follow.kinds = forecast::CreditKinds();
    credit_follow.registry = &(*runtime)->metrics().registry();
    credit_follow.after_batch = [&view](bool committed) {
      view.AfterCreditBatch(committed);
    };
    credit_feed =
        (*runtime)->AddConsumer(std::make_unique<salesops::FeedConsumer>(
            &store, credit_peer.get(), credit_follow,
            [&view](const salesops::v1::Event& e, salesops::WriteTxn& txn) {
              return view.ApplyCredit(e, txn);
            },
            [&view, &credit_peer] {
              return forecast::ResyncCredit(*credit_peer, view);
            }));
  }

  forecast::FeedPositions feeds;
  feeds.pipeline_applied = [pipeline_feed] { return pipeline_feed->applied(); };
  feeds.accounts_applied = [accounts_feed] { return accounts_feed->applied(); };
  if (credit_feed != nullptr) {
    feeds.credit_applied = [credit_feed] { return credit_feed->applied(); };
  }
  feeds.wait_pipeline = [pipeline_feed](uint64_t sequence,
                                        absl::Duration timeout) {
    return pipeline_feed->WaitForApplied(sequence, timeout);
  };
  forecast::ForecastOptions options;
  options.currency = absl::GetFlag(FLAGS_currency);
  // Waiting reads may hold at most a quarter of the server's threads.
  options.max_waiting_reads =
      std::max(1, (*runtime)->server().config().max_threads / 4);
  options.shutdown = &(*runtime)->server().shutdown_signal();
  forecast::ForecastServiceImpl service(
      &store, &(*runtime)->auth(), (*runtime)->clock(), &view, feeds, options,
      &(*runtime)->metrics().registry());
  if (absl::Status s = service.Init(); !s.ok()) {
    return ServiceRuntime::FailedToStart(s);
  }
  // The automatic close at week end (SPEC §4.2): checked every minute.
  service.StartWeekCloser(absl::Minutes(1));
  (*runtime)->OnShutdown([&service] { service.StopWeekCloser(); });
  (*runtime)->AddService(&service, "salesops.v1.ForecastService");
  return (*runtime)->Run();
}
