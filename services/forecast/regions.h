#pragma once

// The regions of a global forecast (--regions_file; issue 19, federation.h):
// each region's peers, namespace and followers, registered with the runtime,
// and how current each region is (the answers' region status, and the
// salesops_forecast_region_* gauges behind the SalesOpsRegionStale alert).
// Part of the binary only.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/feed/feed_consumer.h"
#include "common/runtime/service_runtime.h"
#include "common/server/peer.h"
#include "salesops/v1/federation.pb.h"
#include "salesops/v1/forecast.pb.h"
#include "services/forecast/federation.h"
#include "services/forecast/followers.h"
#include "services/forecast/forecast_view.h"

namespace prometheus {
class Gauge;
class Registry;
}  // namespace prometheus

namespace salesops::forecast {

class Region {
 public:
  // The region's peers from its config (its token file, TLS files; the
  // --peer_* flags' timeout and retries). INVALID_ARGUMENT naming the region
  // when a file cannot be read.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Region>> Create(
      const v1::RegionConfig& config);

  // Its followers of `view`, registered with `runtime`.
  void Register(ForecastView* view, ServiceRuntime& runtime);
  // How current the region is at `now`: the oldest of its feeds.
  v1::RegionStatus Status(absl::Time now) const;
  const v1::RegionConfig& config() const { return config_; }

 private:
  explicit Region(const v1::RegionConfig& config)
      : config_(config), ns_(config.id(), config.parent_node_id()) {}

  v1::RegionConfig config_;
  RegionNamespace ns_;
  std::unique_ptr<PeerChannel> accounts_, pipeline_, credit_;
  std::unique_ptr<AccountsFollower> accounts_follower_;
  std::unique_ptr<PipelineFollower> pipeline_follower_;
  std::unique_ptr<CreditFollower> credit_follower_;
  std::vector<std::pair<std::string, FeedConsumer*>> consumers_;
};

// Every region, and a thread that keeps their gauges current (every 5 s).
class Regions {
 public:
  // From --regions_file ("" = not a global forecast: empty).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Regions>> FromFlags();
  ~Regions();

  bool empty() const { return regions_.empty(); }
  void Register(ForecastView* view, ServiceRuntime& runtime,
                prometheus::Registry& registry);
  std::vector<v1::RegionStatus> Statuses(absl::Time now) const;
  void Stop();

 private:
  void Update(absl::Time now) const;

  std::vector<std::unique_ptr<Region>> regions_;
  std::vector<prometheus::Gauge*> current_to_;  // per region
  std::vector<prometheus::Gauge*> stale_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace salesops::forecast
