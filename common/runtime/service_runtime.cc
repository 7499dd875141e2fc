#include "common/runtime/service_runtime.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/server/flags.h"
#include "common/status/status.h"

namespace salesops {

RuntimeSettings RuntimeSettings::FromFlags() {
  RuntimeSettings s;
  s.server = ServerConfig::FromFlags();
  s.data_dir = absl::GetFlag(FLAGS_data_dir);
  s.sync_writes = absl::GetFlag(FLAGS_sync_writes);
  s.feed_retention = absl::GetFlag(FLAGS_feed_retention);
  return s;
}

absl::StatusOr<std::unique_ptr<ServiceRuntime>> ServiceRuntime::FromFlags(
    ServiceSpec spec) {
  return Create(std::move(spec), RuntimeSettings::FromFlags());
}

absl::StatusOr<std::unique_ptr<ServiceRuntime>> ServiceRuntime::Create(
    ServiceSpec spec, RuntimeSettings settings) {
  std::unique_ptr<ServiceRuntime> rt(new ServiceRuntime());
  rt->spec_ = std::move(spec);
  rt->clock_ = settings.clock != nullptr ? settings.clock : Clock::Real();

  ASSIGN_OR_RETURN(rt->metrics_,
                   Metrics::Create(settings.server.metrics_listen));
  ASSIGN_OR_RETURN(rt->server_,
                   Server::Create(settings.server, rt->metrics_.get()));
  if (settings.data_dir.empty()) {
    return absl::InvalidArgumentError(
        "--data_dir: required (the service's RocksDB directory)");
  }
  if (settings.feed_retention < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--feed_retention: must be >= 0 (0 keeps every event)");
  }
  StoreOptions store_options;
  store_options.column_families = rt->spec_.column_families;
  store_options.sync_writes = settings.sync_writes;
  store_options.outbox_retention = settings.feed_retention;
  store_options.clock = rt->clock_;
  store_options.system_actor = absl::StrCat("salesops-", rt->spec_.name);
  ASSIGN_OR_RETURN(rt->store_, Store::Open(settings.data_dir, store_options));

  rt->collector_ = std::make_shared<RocksDbCollector>(
      rt->store_->db(), rt->store_->column_families(),
      rt->store_->statistics());
  rt->metrics_->RegisterCollectable(rt->collector_);
  rt->feed_ =
      std::make_unique<FeedServiceImpl>(rt->store_.get(), &rt->server_->auth());
  rt->server_->AddService(rt->feed_.get(), "salesops.v1.FeedService");
  rt->server_->OnShutdown([feed = rt->feed_.get()] { feed->Stop(); });
  rt->audit_ = std::make_unique<AuditServiceImpl>(rt->store_.get(),
                                                  &rt->server_->auth());
  rt->server_->AddService(rt->audit_.get(), "salesops.v1.AuditService");
  return rt;
}

int ServiceRuntime::FailedToStart(const absl::Status& status) {
  log::Error("cannot start", {{"error", status.ToString()}});
  return 1;
}

ServiceRuntime::~ServiceRuntime() { Shutdown(); }

void ServiceRuntime::AddService(grpc::Service* service,
                                const std::string& health_name) {
  server_->AddService(service, health_name);
}

FeedConsumer* ServiceRuntime::AddConsumer(
    std::unique_ptr<FeedConsumer> consumer) {
  consumers_.push_back(std::move(consumer));
  return consumers_.back().get();
}

void ServiceRuntime::OnShutdown(std::function<void()> stop) {
  stop_hooks_.push_back(std::move(stop));
}

absl::Status ServiceRuntime::Start() {
  RETURN_IF_ERROR(server_->Start());
  for (auto& c : consumers_) {
    c->Start();
  }
  return absl::OkStatus();
}

int ServiceRuntime::Run() {
  if (absl::Status s = Start(); !s.ok()) {
    return FailedToStart(s);
  }
  log::Info(spec_.name + " ready",
            {{"service", spec_.name},
             {"port", server_->port()},
             {"metrics_port", metrics_->port()},
             {"feed_sequence", store_->last_sequence()}});
  const int rc = server_->RunUntilSignal();
  Shutdown();
  log::Info(spec_.name + " stopped", {{"service", spec_.name}});
  return rc;
}

void ServiceRuntime::Shutdown() {
  if (shut_down_) {
    return;
  }
  shut_down_ = true;
  // Create may have failed part-way: only what was built is shut down.
  if (server_ != nullptr) {
    server_->Shutdown();
  }
  for (auto& c : consumers_) {
    c->Stop();
  }
  for (auto& stop : stop_hooks_) {
    stop();
  }
  if (collector_ != nullptr) {
    metrics_->UnregisterCollectable(collector_);
    collector_->Detach();
  }
  store_.reset();
}

}  // namespace salesops
