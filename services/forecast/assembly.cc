#include "services/forecast/assembly.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "common/server/flags.h"

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
ABSL_FLAG(int64_t, view_snapshot_changes, 100'000,
          "take a view snapshot once this many deals changed since the last "
          "(D55, D58: a restart loads the snapshot and at most about this "
          "many deals changed since, not every deal; the snapshot is "
          "written beside the feed's commits); 0 = no snapshots, a restart "
          "aggregates every stored deal");
ABSL_FLAG(int32_t, feed_max_batch, 4096,
          "most pipeline or credit feed events applied in one transaction "
          "(D56: each transaction is one WAL fsync; 512, the consumers' "
          "default, made the catch-up wait on the disk)");
ABSL_FLAG(absl::Duration, view_snapshot_interval, absl::Seconds(30),
          "take a view snapshot this long after the last one when anything "
          "changed (> 0)");

namespace salesops::forecast {

absl::StatusOr<Peers> PeersFromFlags() {
  Peers peers;
  ASSIGN_OR_RETURN(peers.regions, Regions::FromFlags());
  const std::string accounts_addr = absl::GetFlag(FLAGS_accounts_addr);
  const std::string pipeline_addr = absl::GetFlag(FLAGS_pipeline_addr);
  if (!peers.regions->empty()) {
    if (accounts_addr.empty() || !pipeline_addr.empty()) {
      return absl::InvalidArgumentError(
          "--regions_file: a global forecast needs --accounts_addr (the "
          "headquarters' accounts) and follows each region's pipeline, so "
          "--pipeline_addr and --credit_addr must be empty");
    }
    ASSIGN_OR_RETURN(peers.accounts, PeerChannel::FromFlags(accounts_addr));
    return peers;
  }
  if (accounts_addr.empty() || pipeline_addr.empty()) {
    return absl::InvalidArgumentError(
        "--accounts_addr and --pipeline_addr: required (HOST:PORT of "
        "salesops-accounts and salesops-pipeline)");
  }
  ASSIGN_OR_RETURN(peers.accounts, PeerChannel::FromFlags(accounts_addr));
  ASSIGN_OR_RETURN(peers.pipeline, PeerChannel::FromFlags(pipeline_addr));
  const std::string credit_addr = absl::GetFlag(FLAGS_credit_addr);
  if (!credit_addr.empty()) {
    ASSIGN_OR_RETURN(peers.credit, PeerChannel::FromFlags(credit_addr));
  }
  return peers;
}

absl::StatusOr<std::optional<ForecastView::SnapshotOptions>>
SnapshotsFromFlags() {
  const int64_t changes = absl::GetFlag(FLAGS_view_snapshot_changes);
  const absl::Duration interval = absl::GetFlag(FLAGS_view_snapshot_interval);
  if (changes < 0 || interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--view_snapshot_changes must be >= 0 and --view_snapshot_interval "
        "> 0");
  }
  if (changes == 0) {
    return std::nullopt;
  }
  ForecastView::SnapshotOptions o;
  o.max_changes = changes;
  o.interval = interval;
  return o;
}

absl::StatusOr<FiscalCalendar> CalendarFromFlags() {
  ASSIGN_OR_RETURN(absl::TimeZone tz,
                   LoadTimeZone(absl::GetFlag(FLAGS_time_zone)));
  FiscalCalendarOptions options;
  options.quarter_start_month = absl::GetFlag(FLAGS_quarter_start_month);
  options.weeks_per_quarter = absl::GetFlag(FLAGS_weeks_per_quarter);
  options.time_zone = tz;
  return FiscalCalendar::Create(options);
}

Followers::Followers(ForecastView* view, const Peers& peers)
    : view_(view),
      peers_(peers),
      accounts_(view, peers.accounts.get()),
      pipeline_(view, peers.pipeline.get()),
      credit_(view, peers.credit.get()) {}

FeedPositions Followers::Register(ServiceRuntime& runtime) {
  FeedConsumer* accounts =
      runtime.AddFollower(&accounts_, peers_.accounts.get());
  FeedPositions feeds;
  feeds.accounts_applied = [accounts] { return accounts->applied(); };
  if (!peers_.regions->empty()) {
    Regions* regions = peers_.regions.get();
    regions->Register(view_, runtime, runtime.metrics().registry());
    feeds.pipeline_applied = [] { return uint64_t{0}; };
    feeds.wait_pipeline = [](uint64_t, absl::Duration) { return false; };
    feeds.regions = [regions](absl::Time now) {
      return regions->Statuses(now);
    };
    return feeds;
  }
  FeedConsumerOptions big;
  big.max_batch = static_cast<size_t>(
      std::clamp(absl::GetFlag(FLAGS_feed_max_batch), 1, 65'536));
  FeedConsumer* pipeline =
      runtime.AddFollower(&pipeline_, peers_.pipeline.get(), big);
  feeds.pipeline_applied = [pipeline] { return pipeline->applied(); };
  if (peers_.credit != nullptr) {
    FeedConsumer* credit =
        runtime.AddFollower(&credit_, peers_.credit.get(), big);
    feeds.credit_applied = [credit] { return credit->applied(); };
  }
  feeds.wait_pipeline = [pipeline](uint64_t sequence, absl::Duration timeout) {
    return pipeline->WaitForApplied(sequence, timeout);
  };
  return feeds;
}

ForecastOptions OptionsFor(ServiceRuntime& runtime) {
  ForecastOptions options;
  options.currency = absl::GetFlag(FLAGS_currency);
  // Waiting reads may hold at most a quarter of the server's threads.
  options.max_waiting_reads =
      std::max(1, runtime.server().config().max_threads / 4);
  options.shutdown = &runtime.server().shutdown_signal();
  return options;
}

}  // namespace salesops::forecast
