#pragma once

// gRPC handlers of salesops.v1.ForecastService (SPEC.md §4), on the one
// handler shell (common/server/handler.h): each RPC's roles are in the table
// built with the service (forecast_handlers.cc), the query latencies are the
// shell's observer. Queries read only the ForecastView (never another
// service); writes are this service's own records (out-of-funnel sales,
// week closes and snapshots, submissions).
//
// Scope (SPEC §8, common/org/scope.h over the view's tree): ADMIN, FINANCE
// and SERVICE read every node; MANAGER their own subtree; REP their own node.
// Out-of-funnel sales are booked in the same scope (ADMIN anywhere);
// forecasts are submitted for the caller's own node (ADMIN any).

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/org/scope.h"
#include "common/server/auth.h"
#include "common/server/handler.h"
#include "common/server/shutdown_signal.h"
#include "common/store/store.h"
#include "common/store/table.h"
#include "common/time/clock.h"
#include "common/time/fiscal_calendar.h"
#include "salesops/v1/forecast.grpc.pb.h"
#include "services/forecast/forecast_view.h"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Histogram;
class Gauge;
}  // namespace prometheus

namespace salesops::forecast {

// Where the view stands in the feeds it follows.
struct FeedPositions {
  std::function<uint64_t()> pipeline_applied;
  std::function<uint64_t()> accounts_applied;
  // Null when no credit feed is followed (the answer reports 0).
  std::function<uint64_t()> credit_applied;
  // Blocks until the pipeline feed is applied up to `sequence` or `timeout`
  // passes; true when reached.
  std::function<bool(uint64_t sequence, absl::Duration timeout)> wait_pipeline;
  // A global forecast (issue 19): how current each region is. Null on a
  // regional instance.
  std::function<std::vector<v1::RegionStatus>(absl::Time now)> regions;
};

struct ForecastOptions {
  std::string currency = "EUR";
  // Most GetForecast calls that may wait for min_pipeline_sequence at once.
  // Each waits on a server thread; beyond this many, a call that would wait
  // is answered UNAVAILABLE at once ("retry"), so waits can never take every
  // thread of --max_threads (main sets a quarter of it; 64 of the default
  // 256).
  int max_waiting_reads = 64;
  // When set, waiting calls answer UNAVAILABLE "server shutting down; retry"
  // as soon as it is notified (the server began to drain).
  const ShutdownSignal* shutdown = nullptr;
};

class ForecastServiceImpl final : public v1::ForecastService::Service {
 public:
  // Pointers are not owned and outlive the service; `registry` may be null.
  ForecastServiceImpl(Store* store, const Authenticator* auth, Clock* clock,
                      ForecastView* view, FeedPositions feeds,
                      ForecastOptions options, prometheus::Registry* registry);

  // Loads the view from the store (the aggregates and the out-of-funnel
  // sales). Call once before serving.
  [[nodiscard]] absl::Status Init();

  using Ctx = grpc::ServerContext;
  grpc::Status GetForecast(Ctx*, const v1::GetForecastRequest*,
                           v1::Forecast*) override;
  grpc::Status RecordOutOfFunnelSale(Ctx*,
                                     const v1::RecordOutOfFunnelSaleRequest*,
                                     v1::OutOfFunnelSale*) override;
  grpc::Status CloseWeek(Ctx*, const v1::CloseWeekRequest*,
                         v1::CloseWeekResponse*) override;
  grpc::Status GetProgress(Ctx*, const v1::GetProgressRequest*,
                           v1::GetProgressResponse*) override;
  grpc::Status SubmitForecast(Ctx*, const v1::SubmitForecastRequest*,
                              v1::ForecastSubmission*) override;
  grpc::Status ListSubmissions(Ctx*, const v1::ListSubmissionsRequest*,
                               v1::ListSubmissionsResponse*) override;
  grpc::Status GetFunnelAnalytics(Ctx*, const v1::GetFunnelAnalyticsRequest*,
                                  v1::FunnelAnalytics*) override;
  grpc::Status GetPipelineChanges(Ctx*, const v1::GetPipelineChangesRequest*,
                                  v1::PipelineChanges*) override;
  grpc::Status GetForecastAccuracy(Ctx*, const v1::GetForecastAccuracyRequest*,
                                   v1::ForecastAccuracy*) override;

  // Closes `week` of `quarter` (idempotent): snapshots every node's figures;
  // closing a quarter's last week also records the next quarter's week 0.
  // FAILED_PRECONDITION for a week that has not started at `now`. `actor`
  // closes it (the audit log's who).
  [[nodiscard]] absl::Status Close(FiscalQuarter quarter, int week,
                                   bool automatic, Actor actor,
                                   v1::CloseWeekResponse* resp);
  // Closes the week before the one containing `now`, unless closed already
  // (the automatic close at week end, SPEC §4.2; run by WeekCloser).
  [[nodiscard]] absl::Status CloseEndedWeek(absl::Time now);

 private:
  // The handlers' bodies, past the shell (the caller admitted by the role
  // table).
  absl::Status DoGetForecast(Ctx*, const Principal& who,
                             const v1::GetForecastRequest&, v1::Forecast*);
  // Waits (bounded, see ForecastOptions) until the pipeline feed is applied up
  // to `sequence`: DEADLINE_EXCEEDED shortly before the call's deadline,
  // UNAVAILABLE when too many wait or the server drains.
  absl::Status WaitForPipeline(Ctx*, uint64_t sequence);
  absl::Status DoRecordOutOfFunnelSale(const Principal& who,
                                       const v1::RecordOutOfFunnelSaleRequest&,
                                       v1::OutOfFunnelSale*);
  absl::Status DoCloseWeek(const Principal& who, const v1::CloseWeekRequest&,
                           v1::CloseWeekResponse*);
  absl::Status DoGetProgress(const Principal& who,
                             const v1::GetProgressRequest&,
                             v1::GetProgressResponse*);
  absl::Status DoSubmitForecast(const Principal& who,
                                const v1::SubmitForecastRequest&,
                                v1::ForecastSubmission*);
  absl::Status DoListSubmissions(const Principal& who,
                                 const v1::ListSubmissionsRequest&,
                                 v1::ListSubmissionsResponse*);
  absl::Status DoGetFunnelAnalytics(const Principal& who,
                                    const v1::GetFunnelAnalyticsRequest&,
                                    v1::FunnelAnalytics*);
  absl::Status DoGetPipelineChanges(const Principal& who,
                                    const v1::GetPipelineChangesRequest&,
                                    v1::PipelineChanges*);
  absl::Status DoGetForecastAccuracy(const Principal& who,
                                     const v1::GetForecastAccuracyRequest&,
                                     v1::ForecastAccuracy*);
  // The caller may read `node_id`, which the view knows (INVALID_ARGUMENT
  // when empty, NOT_FOUND naming `field` when unknown).
  [[nodiscard]] absl::Status RequireKnownReadable(const Principal& who,
                                                  const std::string& node_id,
                                                  std::string_view field) const;
  // Converts a GetForecast answer's figures into a display currency at
  // today's rate (FAILED_PRECONDITION when none is in force).
  [[nodiscard]] absl::Status ToDisplay(const std::string& currency,
                                       NodeAnswer* node,
                                       std::vector<NodeAnswer>* children,
                                       v1::Forecast* resp) const;
  // The latency histograms of the query RPCs (the gate's observer).
  void RegisterMetrics(prometheus::Registry& registry);
  // When `node_id`'s submission for `week` of `quarter` is due.
  [[nodiscard]] absl::StatusOr<absl::Time> DueOf(const std::string& node_id,
                                                 FiscalQuarter quarter,
                                                 int week) const;

  Store* store_;
  CallGate gate_;  // the role table: forecast_handlers.cc
  Clock* clock_;
  ForecastView* view_;
  FeedPositions feeds_;
  ForecastOptions options_;
  ScopePolicy scope_;  // over the view's tree
  Table<v1::OutOfFunnelSale> sales_;
  Table<v1::WeekClose> closes_;        // id "<year>-Q<q>/W<week>"
  Table<v1::WeekSnapshot> snapshots_;  // id "<node>/<year>-Q<q>/W<week>"
  Table<v1::ForecastSubmission> submissions_;  // same id shape
  std::mutex close_mu_;                        // one Close at a time
  std::atomic<int> waiting_reads_{0};  // GetForecast calls in WaitForPipeline

  prometheus::Family<prometheus::Histogram>* query_seconds_ = nullptr;
  // salesops_forecast_query_seconds by RPC; empty without a registry.
  std::map<std::string, prometheus::Histogram*, std::less<>> query_histograms_;
};

}  // namespace salesops::forecast
