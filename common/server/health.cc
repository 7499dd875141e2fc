#include "common/server/health.h"

#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"

namespace salesops {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// One Watch stream. It writes the latest status whenever it changes
// (intermediate statuses may be skipped while a write is in flight), and
// finishes after the last write when asked to. Locking: HealthService::mu_
// before WatchReactor::mu_. gRPC runs a reactor's callbacks on its own threads,
// never inline from StartWrite or Finish, so calling those under the locks is
// safe.
class HealthService::WatchReactor final
    : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  WatchReactor(HealthService* service, std::string name)
      : service_(service), name_(std::move(name)) {}

  const std::string& name() const { return name_; }

  // Called with service_->mu_ held.
  void Update(ServingStatus status, bool finish_after) {
    std::lock_guard<std::mutex> lock(mu_);
    pending_ = status;
    finish_after_ = finish_after_ || finish_after;
    ProceedLocked();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    write_in_flight_ = false;
    if (!ok) {
      // The stream is broken (client gone); nothing more can be written.
      pending_.reset();
      finish_status_ =
          grpc::Status(grpc::StatusCode::CANCELLED, "write failed");
    }
    ProceedLocked();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.reset();
    finish_status_ = grpc::Status::CANCELLED;
    ProceedLocked();
  }

  void OnDone() override {
    service_->Remove(this);
    delete this;
  }

 private:
  void ProceedLocked() {
    if (finished_ || write_in_flight_) {
      return;
    }
    if (finish_status_.has_value()) {
      finished_ = true;
      Finish(*finish_status_);
      return;
    }
    if (pending_.has_value()) {
      response_.set_status(*pending_);
      pending_.reset();
      write_in_flight_ = true;
      StartWrite(&response_);
      return;
    }
    if (finish_after_) {
      finished_ = true;
      Finish(grpc::Status::OK);
    }
  }

  HealthService* const service_;
  const std::string name_;
  std::mutex mu_;                 // guards the fields below
  HealthCheckResponse response_;  // the write in flight
  std::optional<ServingStatus> pending_;
  std::optional<grpc::Status>
      finish_status_;          // finish now (cancelled / broken)
  bool finish_after_ = false;  // finish once pending_ is written
  bool write_in_flight_ = false;
  bool finished_ = false;
};

HealthService::~HealthService() = default;

HealthService::ServingStatus HealthService::StatusLocked(
    const std::string& service) const {
  auto it = statuses_.find(service);
  return it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN
                               : it->second;
}

void HealthService::SetServingStatus(const std::string& service, bool serving) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) {
    return;
  }
  const ServingStatus status =
      serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
  statuses_[service] = status;
  for (WatchReactor* w : watchers_) {
    if (w->name() == service) {
      w->Update(status, /*finish_after=*/false);
    }
  }
}

void HealthService::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) {
    return;
  }
  shut_down_ = true;
  for (auto& [name, status] : statuses_) {
    status = HealthCheckResponse::NOT_SERVING;
  }
  for (WatchReactor* w : watchers_) {
    w->Update(StatusLocked(w->name()), /*finish_after=*/true);
  }
}

void HealthService::Remove(WatchReactor* watcher) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.erase(watcher);
}

grpc::ServerUnaryReactor* HealthService::Check(
    grpc::CallbackServerContext* ctx, const HealthCheckRequest* request,
    HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = statuses_.find(request->service());
  if (it == statuses_.end()) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::NOT_FOUND,
                     "unknown service \"" + request->service() + "\""));
  } else {
    response->set_status(it->second);
    reactor->Finish(grpc::Status::OK);
  }
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* ctx, const HealthCheckRequest* request) {
  auto* reactor = new WatchReactor(this, request->service());
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.insert(reactor);
  reactor->Update(StatusLocked(request->service()),
                  /*finish_after=*/shut_down_);
  return reactor;
}

// Registered with the listener's server instead of the HealthService itself:
// a service object belongs to one server, and the main server has it.
class HealthListener::Forwarder final
    : public grpc::health::v1::Health::CallbackService {
 public:
  explicit Forwarder(HealthService* health) : health_(health) {}

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx,
                                  const HealthCheckRequest* request,
                                  HealthCheckResponse* response) override {
    return health_->Check(ctx, request, response);
  }
  grpc::ServerWriteReactor<HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* ctx,
      const HealthCheckRequest* request) override {
    return health_->Watch(ctx, request);
  }

 private:
  HealthService* const health_;
};

absl::StatusOr<std::unique_ptr<HealthListener>> HealthListener::Start(
    const std::string& address, HealthService* health) {
  std::unique_ptr<HealthListener> l(new HealthListener());
  l->forwarder_ = std::make_unique<Forwarder>(health);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(),
                           &l->port_);
  // As the main server (server.cc): no port sharing, no built-in health.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetOption(
      std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
  // A health request is a service name; nothing bigger is needed.
  builder.SetMaxReceiveMessageSize(64 * 1024);
  builder.RegisterService(l->forwarder_.get());
  l->server_ = builder.BuildAndStart();
  if (l->server_ == nullptr || l->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve health on --health_listen=", address,
                     " (address in use or not local?)"));
  }
  return l;
}

HealthListener::~HealthListener() { Shutdown(); }

void HealthListener::Shutdown() {
  if (server_ == nullptr) {
    return;
  }
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  server_.reset();
}

}  // namespace salesops
