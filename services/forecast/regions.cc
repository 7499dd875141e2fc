#include "services/forecast/regions.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/server/files.h"
#include "common/status/status.h"

ABSL_FLAG(std::string, regions_file, "",
          "a global forecast: the regional instances to follow (text format "
          "of salesops.v1.FederationConfig; docs/API.md \"Federation\"); "
          "--accounts_addr is then the headquarters' accounts and "
          "--pipeline_addr is not used");

namespace salesops::forecast {
namespace {

absl::StatusOr<std::unique_ptr<PeerChannel>> RegionPeer(
    const v1::RegionConfig& r, const std::string& target) {
  ASSIGN_OR_RETURN(PeerConfig config, PeerConfig::FromFlags(target));
  config.bearer_token.clear();
  if (!r.token_file().empty()) {
    ASSIGN_OR_RETURN(std::string token,
                     ReadFlagFile(absl::StrCat("regions_file: region ", r.id(),
                                               " token_file"),
                                  r.token_file()));
    config.bearer_token = std::string(absl::StripAsciiWhitespace(token));
  }
  config.tls_ca_file = r.tls_ca_file();
  config.tls_cert_file = r.tls_cert_file();
  config.tls_key_file = r.tls_key_file();
  return PeerChannel::Create(std::move(config));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Region>> Region::Create(
    const v1::RegionConfig& config) {
  std::unique_ptr<Region> r(new Region(config));
  ASSIGN_OR_RETURN(r->accounts_, RegionPeer(config, config.accounts_addr()));
  ASSIGN_OR_RETURN(r->pipeline_, RegionPeer(config, config.pipeline_addr()));
  if (!config.credit_addr().empty()) {
    ASSIGN_OR_RETURN(r->credit_, RegionPeer(config, config.credit_addr()));
  }
  return r;
}

void Region::Register(ForecastView* view, ServiceRuntime& runtime) {
  accounts_follower_ =
      std::make_unique<AccountsFollower>(view, accounts_.get(), &ns_);
  pipeline_follower_ =
      std::make_unique<PipelineFollower>(view, pipeline_.get(), &ns_);
  consumers_.emplace_back(
      "accounts",
      runtime.AddFollower(accounts_follower_.get(), accounts_.get()));
  consumers_.emplace_back(
      "pipeline",
      runtime.AddFollower(pipeline_follower_.get(), pipeline_.get()));
  if (credit_ != nullptr) {
    credit_follower_ =
        std::make_unique<CreditFollower>(view, credit_.get(), &ns_);
    consumers_.emplace_back(
        "credit", runtime.AddFollower(credit_follower_.get(), credit_.get()));
  }
}

v1::RegionStatus Region::Status(absl::Time now) const {
  v1::RegionStatus s;
  s.set_region(config_.id());
  absl::Time current = now;
  std::string behind;
  for (const auto& [name, consumer] : consumers_) {
    const absl::Time at = consumer->CurrentTo(now);
    if (at < current) {
      current = at;
      const uint64_t lag = consumer->head() > consumer->applied()
                               ? consumer->head() - consumer->applied()
                               : 0;
      behind = lag > 0 ? absl::StrCat(name, " feed behind by ", lag, " events")
                       : absl::StrCat(name, " feed not connected");
    }
  }
  s.set_current_to_micros(
      current == absl::InfinitePast() ? 0 : absl::ToUnixMicros(current));
  const int32_t after =
      config_.stale_after_seconds() > 0 ? config_.stale_after_seconds() : 60;
  if (now - current > absl::Seconds(after)) {
    s.set_stale(true);
    s.set_detail(behind);
  }
  return s;
}

absl::StatusOr<std::unique_ptr<Regions>> Regions::FromFlags() {
  auto regions = std::make_unique<Regions>();
  const std::string path = absl::GetFlag(FLAGS_regions_file);
  if (path.empty()) {
    return regions;
  }
  ASSIGN_OR_RETURN(const v1::FederationConfig config,
                   LoadFederationConfig(path));
  for (const v1::RegionConfig& r : config.regions()) {
    ASSIGN_OR_RETURN(std::unique_ptr<Region> region, Region::Create(r));
    regions->regions_.push_back(std::move(region));
  }
  return regions;
}

Regions::~Regions() { Stop(); }

void Regions::Register(ForecastView* view, ServiceRuntime& runtime,
                       prometheus::Registry& registry) {
  if (regions_.empty()) {
    return;
  }
  view->SetFederated();
  auto& current = prometheus::BuildGauge()
                      .Name("salesops_forecast_region_current_to_seconds")
                      .Help(
                          "A global forecast: the time (Unix seconds) up to "
                          "which each region's data is complete.")
                      .Register(registry);
  auto& stale = prometheus::BuildGauge()
                    .Name("salesops_forecast_region_stale")
                    .Help(
                        "A global forecast: 1 while a region's data is "
                        "older than its stale_after_seconds.")
                    .Register(registry);
  for (const auto& region : regions_) {
    region->Register(view, runtime);
    current_to_.push_back(&current.Add({{"region", region->config().id()}}));
    stale_.push_back(&stale.Add({{"region", region->config().id()}}));
  }
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      Update(absl::Now());
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(5), [this] { return stop_; });
    }
  });
  runtime.OnShutdown([this] { Stop(); });
}

std::vector<v1::RegionStatus> Regions::Statuses(absl::Time now) const {
  std::vector<v1::RegionStatus> out;
  for (const auto& region : regions_) out.push_back(region->Status(now));
  return out;
}

void Regions::Update(absl::Time now) const {
  for (size_t i = 0; i < regions_.size() && i < current_to_.size(); ++i) {
    const v1::RegionStatus s = regions_[i]->Status(now);
    current_to_[i]->Set(static_cast<double>(s.current_to_micros()) / 1e6);
    stale_[i]->Set(s.stale() ? 1 : 0);
  }
}

void Regions::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace salesops::forecast
