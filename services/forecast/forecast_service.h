#pragma once

// gRPC handlers of salesops.v1.ForecastService (SPEC.md §4). Queries read
// only the ForecastView (never another service); writes are this service's
// own records (out-of-funnel sales).
//
// Scope (SPEC §8): ADMIN, FINANCE and SERVICE read every node; MANAGER their
// own subtree; REP their own node.

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/server/auth.h"
#include "common/store/store.h"
#include "common/store/table.h"
#include "common/time/clock.h"
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
  // Blocks until the pipeline feed is applied up to `sequence` or `timeout`
  // passes; true when reached.
  std::function<bool(uint64_t sequence, absl::Duration timeout)> wait_pipeline;
};

struct ForecastOptions {
  std::string currency = "EUR";
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

 private:
  absl::Status DoGetForecast(Ctx*, const v1::GetForecastRequest*,
                             v1::Forecast*);
  absl::Status DoRecordOutOfFunnelSale(Ctx*,
                                       const v1::RecordOutOfFunnelSaleRequest*,
                                       v1::OutOfFunnelSale*);
  // PERMISSION_DENIED unless `who` may read node `node_id`.
  [[nodiscard]] absl::Status RequireReader(const Principal& who,
                                           const std::string& node_id) const;
  void Observe(const char* rpc, absl::Time start) const;

  Store* store_;
  const Authenticator* auth_;
  Clock* clock_;
  ForecastView* view_;
  FeedPositions feeds_;
  ForecastOptions options_;
  Table<v1::OutOfFunnelSale> sales_;
  prometheus::Family<prometheus::Histogram>* query_seconds_ = nullptr;
  prometheus::Histogram* get_forecast_seconds_ = nullptr;
};

}  // namespace salesops::forecast
