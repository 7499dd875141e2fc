#include "common/metrics/metrics.h"

#include <algorithm>
#include <exception>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/metrics/process_collector.h"
#include "common/version/build_info.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace salesops {
namespace {

// The one collectable the Exposer knows about. Scrapes go through
// Metrics::Collect so that UnregisterCollectable can promise that no scrape
// still runs a removed collectable, whatever the Exposer does internally.
class Hub : public prometheus::Collectable {
 public:
  explicit Hub(const Metrics* metrics) : metrics_(metrics) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    return metrics_->Collect();
  }

 private:
  const Metrics* metrics_;
};

// salesops_build_info{version,commit,build_type} 1 (build_info.h).
void AddBuildInfo(prometheus::Registry& registry) {
  const BuildInfo& info = GetBuildInfo();
  prometheus::BuildGauge()
      .Name("salesops_build_info")
      .Help(
          "Always 1; the labels say which build of SalesOps runs: project "
          "version, git commit and build type.")
      .Register(registry)
      .Add({{"version", std::string(info.version)},
            {"commit", std::string(info.commit)},
            {"build_type", std::string(info.build_type)}})
      .Set(1);
}

// One per process (it has no state), never destroyed: every Metrics of the
// process registers it.
std::shared_ptr<prometheus::Collectable> SharedProcessCollector() {
  static const auto* const collector =
      new std::shared_ptr<prometheus::Collectable>(
          std::make_shared<ProcessCollector>());
  return *collector;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Create(
    const std::string& metrics_listen) {
  std::unique_ptr<Metrics> m(new Metrics());
  m->registry_ = std::make_shared<prometheus::Registry>();
  AddBuildInfo(*m->registry_);
  m->RegisterCollectable(SharedProcessCollector());
  if (metrics_listen.empty()) {
    return m;
  }
  try {
    // civetweb throws CivetException (a std::runtime_error) when it cannot
    // bind.
    m->exposer_ = std::make_unique<prometheus::Exposer>(metrics_listen,
                                                        /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve metrics on --metrics_listen=", metrics_listen, ": ",
        e.what()));
  }
  if (m->exposer_->GetListeningPorts().empty()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve metrics on --metrics_listen=", metrics_listen,
        ": no listening port"));
  }
  m->hub_ = std::make_shared<Hub>(m.get());
  m->exposer_->RegisterCollectable(m->hub_);
  return m;
}

Metrics::~Metrics() {
  // Stop the HTTP threads before anything they read goes away.
  exposer_.reset();
}

int Metrics::port() const {
  if (exposer_ == nullptr) {
    return 0;
  }
  std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void Metrics::RegisterCollectable(
    std::weak_ptr<prometheus::Collectable> collectable) {
  std::lock_guard<std::mutex> lock(mu_);
  collectables_.push_back(std::move(collectable));
}

void Metrics::UnregisterCollectable(
    const std::weak_ptr<prometheus::Collectable>& collectable) {
  std::lock_guard<std::mutex> lock(mu_);
  collectables_.erase(
      std::remove_if(collectables_.begin(), collectables_.end(),
                     [&](const std::weak_ptr<prometheus::Collectable>& c) {
                       // Owner-based comparison also matches expired pointers.
                       return !c.owner_before(collectable) &&
                              !collectable.owner_before(c);
                     }),
      collectables_.end());
}

std::vector<prometheus::MetricFamily> Metrics::Collect() const {
  std::vector<prometheus::MetricFamily> out = registry_->Collect();
  // Collect under the lock: UnregisterCollectable waits for a running scrape.
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& weak : collectables_) {
    std::shared_ptr<prometheus::Collectable> c = weak.lock();
    if (c == nullptr) {
      continue;
    }
    std::vector<prometheus::MetricFamily> families = c->Collect();
    out.insert(out.end(), std::make_move_iterator(families.begin()),
               std::make_move_iterator(families.end()));
  }
  return out;
}

std::string Metrics::TextPage() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, Collect());
  return out.str();
}

}  // namespace salesops
