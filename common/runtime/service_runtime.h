#pragma once

// What every service main shares (ARCHITECTURE.md §1: "main.cc: flags → open
// store → build service → run server. Nothing else."):
//
//   int main(int argc, char** argv) {
//     salesops::BlockTerminationSignals();  // first, before any thread starts
//     salesops::ParseFlags(argc, argv, "salesops-accounts: ...");
//     auto runtime = salesops::ServiceRuntime::FromFlags({"accounts",
//     {"accounts", "index"}}); if (!runtime.ok()) return
//     salesops::ServiceRuntime::FailedToStart(runtime.status());
//     AccountsServiceImpl service(&(*runtime)->store(), &(*runtime)->auth(),
//     ...);
//     (*runtime)->AddService(&service, "salesops.v1.AccountsService");
//     return (*runtime)->Run();  // serve until SIGTERM/SIGINT, drain, close;
//     exit code
//   }
//
// The runtime owns, in this order of construction: Metrics (/metrics on
// --metrics_listen), the Server (auth, TLS, health, reflection, interceptors),
// the Store (--data_dir, --init, --sync_writes, --feed_retention,
// --request_id_retention, --compact_and_exit,
// --max_entity_bytes, --min_free_disk_bytes, --restore_from_backup_dir) with a
// RocksDB statistics collector and the disk-space metrics, and the
// FeedService, AuditService, CallerService, BackupService and WebhookService
// over the store,
// with the webhook deliverers (common/webhook; the store gets a "webhooks"
// column family after the service's own), and the HTTP/JSON gateway
// (--http_listen) in front of the server. Shutdown runs the other way: health
// NOT_SERVING, the HTTP listener stops, open Watch streams end, in-flight calls
// drain (--drain_timeout), feed consumers stop, the webhook deliverers stop,
// the collector detaches, the store closes.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/audit/audit_service.h"
#include "common/backup/backup_service.h"
#include "common/caller/caller_service.h"
#include "common/feed/feed_consumer.h"
#include "common/feed/feed_follower.h"
#include "common/feed/feed_service.h"
#include "common/http/connect_gateway.h"
#include "common/metrics/metrics.h"
#include "common/metrics/rocksdb_collector.h"
#include "common/server/server.h"
#include "common/store/store.h"
#include "common/time/clock.h"
#include "common/webhook/deliverer.h"
#include "common/webhook/webhook_service.h"
#include "common/webhook/webhook_store.h"

namespace salesops {

struct ServiceSpec {
  // Short name ("accounts"): logs and the health name of the process.
  std::string name;
  // The service's own column families (see StoreOptions::column_families).
  std::vector<std::string> column_families;
};

struct RuntimeSettings {
  ServerConfig server;
  std::string data_dir;
  bool sync_writes = true;
  absl::Duration feed_retention = absl::Hours(168);
  // --request_id_retention: how long a request_id is remembered (D53); at
  // most feed_retention unless that keeps every event. Zero = 24 h, or
  // feed_retention when that is shorter.
  absl::Duration request_id_retention = absl::ZeroDuration();
  // --compact_and_exit: open the store, compact it fully, print each column
  // family's bytes on disk as one JSON line on stdout, exit (Create does not
  // return; docs/OPERATIONS.md).
  bool compact_and_exit = false;
  // --init: create the store when data_dir is missing or empty.
  bool init = false;
  int64_t max_entity_bytes = int64_t{1} << 20;
  int64_t min_free_disk_bytes = int64_t{128} << 20;
  BackupSettings backup;
  std::string restore_from_backup_dir;
  uint32_t restore_backup_id = 0;
  // Webhook delivery (--webhook_*); its `service` is set from the spec.
  webhook::DeliverySettings webhooks;
  bool webhook_allow_http_loopback = false;
  // Not owned; Clock::Real() when null.
  Clock* clock = nullptr;

  // From the common flags (common/server/flags.h).
  static RuntimeSettings FromFlags();
};

class ServiceRuntime {
 public:
  // Validates the settings (server config first, then --data_dir: required),
  // starts the metrics endpoint, opens the store. Nothing is served until
  // Start/Run.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ServiceRuntime>> Create(
      ServiceSpec spec, RuntimeSettings settings);
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ServiceRuntime>>
  FromFlags(ServiceSpec spec);
  // Logs "cannot start" with the error; returns the exit code a main returns
  // (1).
  static int FailedToStart(const absl::Status& status);

  // Shuts down if still running.
  ~ServiceRuntime();
  ServiceRuntime(const ServiceRuntime&) = delete;
  ServiceRuntime& operator=(const ServiceRuntime&) = delete;

  Store& store() { return *store_; }
  Server& server() { return *server_; }
  Metrics& metrics() { return *metrics_; }
  const Authenticator& auth() const { return server_->auth(); }
  Clock* clock() const { return clock_; }
  // The HTTP/JSON (Connect) listener's port after Start; 0 when
  // --http_listen is off.
  int http_port() const { return gateway_ == nullptr ? 0 : gateway_->port(); }

  // Registers a gRPC service before Start; `health_name` is its full proto
  // name.
  void AddService(grpc::Service* service, const std::string& health_name);
  // Follows a peer's feed: started by Start, stopped at shutdown before the
  // store closes.
  FeedConsumer* AddConsumer(std::unique_ptr<FeedConsumer> consumer);
  // Runs `follower` (not owned; outlives the runtime's shutdown) in a
  // FeedConsumer over `peer` (the source service), with the runtime's store
  // and metrics registry; `options` may set backoff and batch size (its
  // source, kinds, registry and after_batch come from the follower).
  FeedConsumer* AddFollower(FeedFollower* follower, const PeerChannel* peer,
                            FeedConsumerOptions options = {});

  // Runs `stop` at shutdown after the server drained and the consumers
  // stopped, before the store closes: a service's own background threads that
  // write to the store (a periodic job) stop here.
  void OnShutdown(std::function<void()> stop);

  // Binds and serves (gRPC, then HTTP/JSON when --http_listen is set); starts
  // the consumers.
  [[nodiscard]] absl::Status Start();
  // Start, log "<name> ready" with the bound ports, serve until SIGTERM/SIGINT,
  // shut down. Returns the process exit code: 0 after a clean drain, 1 when
  // Start failed.
  int Run();
  // Drain and close everything, in the order in the file comment. Idempotent.
  void Shutdown();

 private:
  ServiceRuntime() = default;
  [[nodiscard]] absl::Status StartGateway();
  [[nodiscard]] static absl::Status CheckStoreSettings(
      const RuntimeSettings& settings);
  // The store's options from the settings, with the disk-space metrics.
  StoreOptions StoreOptionsFor(const RuntimeSettings& settings,
                               const ServiceSpec& spec);
  // The WebhookService and its deliverers over the store.
  void AddWebhooks(const RuntimeSettings& settings);

  ServiceSpec spec_;
  Clock* clock_ = nullptr;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Store> store_;
  std::shared_ptr<RocksDbCollector> collector_;
  std::unique_ptr<FeedServiceImpl> feed_;
  std::unique_ptr<AuditServiceImpl> audit_;
  std::unique_ptr<CallerServiceImpl> caller_;
  std::unique_ptr<BackupServiceImpl> backup_;
  std::unique_ptr<ConnectGateway> gateway_;
  std::unique_ptr<webhook::WebhookStore> webhook_store_;
  std::unique_ptr<webhook::WebhookManager> webhooks_;
  std::unique_ptr<webhook::WebhookServiceImpl> webhook_service_;
  std::vector<std::unique_ptr<FeedConsumer>> consumers_;
  std::vector<std::function<void()>> stop_hooks_;
  bool shut_down_ = false;
};

}  // namespace salesops
