#pragma once

// Process-wide Prometheus metrics (ARCHITECTURE.md §5): one registry per
// process for the metrics the suite updates itself (gRPC per-method counters,
// feed lag, forecast latency, ...), plus Collectables that compute their
// samples at scrape time (e.g. RocksDbCollector). Every Metrics exports, from
// its creation, the process_* metrics (ProcessCollector, process_collector.h)
// and salesops_build_info{version,commit,build_type} = 1 (build_info.h in
// common/version). When given a listen address,
// an HTTP server (prometheus-cpp's Exposer, civetweb) serves all of them in the
// text exposition format at GET /metrics.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace prometheus {
class Collectable;
class Exposer;
class Registry;
struct MetricFamily;
}  // namespace prometheus

namespace salesops {

class Metrics {
 public:
  // `metrics_listen`: "HOST:PORT" (port 0 picks a free port; see port()),
  // several separated by commas, or "" for no HTTP endpoint (the registry still
  // works; Collect/TextPage serve tests). A bind failure is UNAVAILABLE naming
  // the address; it never throws.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Metrics>> Create(
      const std::string& metrics_listen);

  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The registry for metrics updated by the code (counters, gauges,
  // histograms). Thread-safe.
  prometheus::Registry& registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> shared_registry() { return registry_; }

  // The first bound HTTP port, or 0 when serving is off.
  int port() const;

  // Adds a collectable computed at each scrape. Only a weak_ptr is kept: the
  // owner keeps the shared_ptr and must call UnregisterCollectable before
  // destroying what the collectable reads (e.g. before closing a RocksDB).
  // Thread-safe.
  void RegisterCollectable(std::weak_ptr<prometheus::Collectable> collectable);
  // Removes it; when this returns, no scrape is running it any more.
  // Thread-safe.
  void UnregisterCollectable(
      const std::weak_ptr<prometheus::Collectable>& collectable);

  // Everything a scrape would return (registry first, then the live
  // collectables).
  std::vector<prometheus::MetricFamily> Collect() const;
  // Collect() in the Prometheus text exposition format 0.0.4.
  std::string TextPage() const;

 private:
  Metrics() = default;

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;  // null when serving is off
  std::shared_ptr<prometheus::Collectable> hub_;  // what exposer_ scrapes
  mutable std::mutex mu_;                         // guards collectables_
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables_;
};

}  // namespace salesops
