// salesops-forecast: the weighted forecast rolled up our sales hierarchy
// (SPEC.md §4.1), a read model of the accounts, pipeline and credit feeds.
// Flags: the common ones (common/server/flags.h) plus the forecast's own
// (assembly.h): --accounts_addr and --pipeline_addr (required), --credit_addr
// (optional: without it `collected` stays 0), --quarter_start_month and
// --weeks_per_quarter.

#include "absl/time/time.h"
#include "common/runtime/service_runtime.h"
#include "common/server/flags.h"
#include "services/forecast/assembly.h"
#include "services/forecast/forecast_service.h"
#include "services/forecast/forecast_view.h"
#include "services/forecast/week_closer.h"

int main(int argc, char** argv) {
  using salesops::ServiceRuntime;
  namespace forecast = salesops::forecast;
  salesops::BlockTerminationSignals();
  salesops::ParseFlags(argc, argv,
                       "the SalesOps forecast service: the weighted forecast "
                       "rolled up the sales hierarchy, a read model of the "
                       "other services' feeds (gRPC). Each flag may also come "
                       "from SALESOPS_<FLAG NAME IN CAPITALS>.");
  auto peers = forecast::PeersFromFlags();  // outlive the runtime
  if (!peers.ok()) {
    return ServiceRuntime::FailedToStart(peers.status());
  }
  auto calendar = forecast::CalendarFromFlags();
  if (!calendar.ok()) {
    return ServiceRuntime::FailedToStart(calendar.status());
  }
  auto snapshots = forecast::SnapshotsFromFlags();
  if (!snapshots.ok()) {
    return ServiceRuntime::FailedToStart(snapshots.status());
  }
  auto runtime =
      ServiceRuntime::FromFlags({"forecast", forecast::ColumnFamilies()});
  if (!runtime.ok()) {
    return ServiceRuntime::FailedToStart(runtime.status());
  }
  ServiceRuntime& rt = **runtime;
  const forecast::ForecastOptions options = forecast::OptionsFor(rt);
  forecast::ForecastView view(&rt.store(), *calendar, options.currency);
  if (*snapshots) {
    view.EnableSnapshots(**snapshots);
  }
  forecast::Followers followers(&view, *peers);
  forecast::ForecastServiceImpl service(&rt.store(), &rt.auth(), rt.clock(),
                                        &view, followers.Register(rt), options,
                                        &rt.metrics().registry());
  if (absl::Status s = service.Init(); !s.ok()) {
    return ServiceRuntime::FailedToStart(s);
  }
  // The automatic close at week end (SPEC §4.2): checked every minute.
  forecast::WeekCloser closer(rt.clock(), [&service](absl::Time now) {
    return service.CloseEndedWeek(now);
  });
  closer.Start(absl::Minutes(1));
  rt.OnShutdown([&closer] { closer.Stop(); });
  rt.AddService(&service, "salesops.v1.ForecastService");
  return rt.Run();
}
