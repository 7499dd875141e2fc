#pragma once

// grpc.health.v1.Health with per-service status, served by us rather than by
// gRPC's built-in service: the built-in one keeps Watch streams open through a
// shutdown, so every client-side health watcher (gRPC's own healthCheckConfig
// uses Watch) held the drain until its deadline. Shutdown() here sends
// NOT_SERVING to every watcher and ends its stream at once.
//
// Keys are full service names ("salesops.v1.FeedService"); "" is the server as
// a whole. Check on an unregistered name is NOT_FOUND; Watch on one answers
// SERVICE_UNKNOWN and stays open for later updates, as the health protocol
// says.
//
// HealthListener (--health_listen) serves the same statuses on a second,
// plaintext port and nothing else, for probes that cannot speak TLS (kubelet's
// native gRPC probes; DECISIONS D48).

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace salesops {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  HealthService() = default;
  ~HealthService() override;

  // Sets one service's status and tells its watchers. Ignored after Shutdown.
  void SetServingStatus(const std::string& service, bool serving);
  // NOT_SERVING for every service and "", then ends every Watch (status OK
  // after the NOT_SERVING update); later Watches get the status and end at
  // once. Check keeps answering (NOT_SERVING) until the gRPC server stops.
  // Idempotent.
  void Shutdown();

  grpc::ServerUnaryReactor* Check(
      grpc::CallbackServerContext* ctx,
      const grpc::health::v1::HealthCheckRequest* request,
      grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* ctx,
      const grpc::health::v1::HealthCheckRequest* request) override;

 private:
  class WatchReactor;

  ServingStatus StatusLocked(const std::string& service) const;
  void Remove(WatchReactor* watcher);

  std::mutex mu_;  // guards everything below
  std::map<std::string, ServingStatus> statuses_;
  std::set<WatchReactor*> watchers_;
  bool shut_down_ = false;
};

// A plaintext gRPC server that serves only grpc.health.v1.Health (Check and
// Watch), answering from a HealthService owned elsewhere (the main server's,
// so it reports NOT_SERVING during that server's drain). No authentication, no
// reflection, no metrics: it reveals only serving status. Every other method
// is UNIMPLEMENTED. `health` must outlive the listener.
class HealthListener {
 public:
  // Binds `address` (HOST:PORT; port 0 picks a free one; SO_REUSEPORT off)
  // and serves. UNAVAILABLE naming the address when it cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HealthListener>> Start(
      const std::string& address, HealthService* health);

  // Shuts down if still serving.
  ~HealthListener();
  HealthListener(const HealthListener&) = delete;
  HealthListener& operator=(const HealthListener&) = delete;

  // The bound port.
  int port() const { return port_; }
  // Stops listening and ends open calls at once (open Watch streams end
  // CANCELLED unless HealthService::Shutdown ended them first). Idempotent.
  void Shutdown();

 private:
  class Forwarder;  // the Health service of this server, forwarding to health

  HealthListener() = default;

  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace salesops
