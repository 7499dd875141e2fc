#pragma once

// What salesops-forecast's main assembles from its flags (main.cc): the
// forecast's own flags (--accounts_addr, --pipeline_addr, --credit_addr,
// --quarter_start_month, --weeks_per_quarter) read and checked, the peers it
// follows, its followers registered with the runtime, and the service's
// options. Part of the binary only.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/runtime/service_runtime.h"
#include "common/server/peer.h"
#include "common/time/fiscal_calendar.h"
#include "services/forecast/followers.h"
#include "services/forecast/forecast_service.h"
#include "services/forecast/forecast_view.h"

namespace salesops::forecast {

// The source services: accounts and pipeline (required), credit (optional:
// without it `collected` stays 0). They outlive the runtime (its consumers'
// resyncs use them).
struct Peers {
  std::unique_ptr<PeerChannel> accounts;
  std::unique_ptr<PeerChannel> pipeline;
  std::unique_ptr<PeerChannel> credit;  // null: no credit feed followed
};

// The flags checked: the peers and the fiscal calendar (in --time_zone).
[[nodiscard]] absl::StatusOr<Peers> PeersFromFlags();
[[nodiscard]] absl::StatusOr<FiscalCalendar> CalendarFromFlags();

// The three followers of one view (credit's only with a credit peer).
class Followers {
 public:
  Followers(ForecastView* view, const Peers& peers);
  // Registers each with `runtime` (ServiceRuntime::AddFollower) and answers
  // where the view stands in their feeds.
  FeedPositions Register(ServiceRuntime& runtime);

 private:
  const Peers& peers_;
  AccountsFollower accounts_;
  PipelineFollower pipeline_;
  CreditFollower credit_;
};

// --currency, and waiting reads bounded to a quarter of the server's threads.
ForecastOptions OptionsFor(ServiceRuntime& runtime);

}  // namespace salesops::forecast
