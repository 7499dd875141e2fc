#pragma once

// What salesops-forecast's main assembles from its flags (main.cc): the
// forecast's own flags (--accounts_addr, --pipeline_addr, --credit_addr,
// --quarter_start_month, --weeks_per_quarter, --view_snapshot_*) read and
// checked, the peers it follows, its followers registered with the runtime, and
// the service's options. Part of the binary only.

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/runtime/service_runtime.h"
#include "common/server/peer.h"
#include "common/time/fiscal_calendar.h"
#include "services/forecast/followers.h"
#include "services/forecast/forecast_service.h"
#include "services/forecast/forecast_view.h"
#include "services/forecast/regions.h"

namespace salesops::forecast {

// The source services: accounts and pipeline (required), credit (optional:
// without it `collected` stays 0). They outlive the runtime (its consumers'
// resyncs use them).
struct Peers {
  std::unique_ptr<PeerChannel> accounts;
  std::unique_ptr<PeerChannel> pipeline;  // null in a global forecast
  std::unique_ptr<PeerChannel> credit;    // null: no credit feed followed
  // A global forecast's regions (--regions_file); empty otherwise.
  std::unique_ptr<Regions> regions;
};

// The flags checked: the peers and the fiscal calendar (in --time_zone).
[[nodiscard]] absl::StatusOr<Peers> PeersFromFlags();
[[nodiscard]] absl::StatusOr<FiscalCalendar> CalendarFromFlags();
// --view_snapshot_changes and --view_snapshot_interval (D55); nullopt: no
// view snapshots.
[[nodiscard]] absl::StatusOr<std::optional<ForecastView::SnapshotOptions>>
SnapshotsFromFlags();

// The followers of one view: accounts, pipeline and credit (credit's only
// with a credit peer); in a global forecast the headquarters' accounts and
// each region's.
class Followers {
 public:
  Followers(ForecastView* view, const Peers& peers);
  // Registers each with `runtime` (ServiceRuntime::AddFollower) and answers
  // where the view stands in their feeds.
  FeedPositions Register(ServiceRuntime& runtime);

 private:
  ForecastView* view_;
  const Peers& peers_;
  AccountsFollower accounts_;
  PipelineFollower pipeline_;
  CreditFollower credit_;
};

// --currency, and waiting reads bounded to a quarter of the server's threads.
ForecastOptions OptionsFor(ServiceRuntime& runtime);

}  // namespace salesops::forecast
