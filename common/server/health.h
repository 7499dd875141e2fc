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

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"

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

}  // namespace salesops
