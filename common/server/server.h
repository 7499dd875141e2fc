#pragma once

// The gRPC server bootstrap every service main uses (ARCHITECTURE.md §5, §9):
// listen addresses, auth, TLS/mTLS, message size and keepalive limits, health
// (grpc.health.v1, per-service status; see health.h), reflection
// (grpc.reflection.v1alpha and v1 on the callback API; see reflection.h),
// per-method metrics and failure logging (interceptors.h), SO_REUSEPORT off,
// bounded threads and streams (below), and a graceful drain on SIGTERM/SIGINT.
//
// Threads. Synchronous handlers run on threads of gRPC's synchronous server,
// at most --max_threads of them (a grpc::ResourceQuota with SetMaxThreads).
// When every one is busy, gRPC 1.51 answers a new synchronous call at once with
// RESOURCE_EXHAUSTED "Server Threadpool Exhausted" on the thread that polled it
// (ThreadManager::MainWorkLoop, SyncRequest's resource_exhausted handler): the
// call is not queued and the handler does not run, so the client may retry.
// Callback-API handlers (health, reflection, pipeline's CreateOpportunity, the
// feed's Watch) run on gRPC's own small executor and count against no quota;
// an open callback stream holds memory, not a thread. The process has further
// threads of its own (RocksDB, the store's committer, gRPC's executor and
// timers, feed consumers), a few dozen, not counted by the quota.
// Streams. One client connection may have at most --max_streams_per_connection
// calls open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); a client opening
// more waits for a slot (gRPC clients queue the call; they are not failed).
//
// A main (common/server/testing/echo_server_main.cc is a complete one):
//
//   int main(int argc, char** argv) {
//     // First, before anything starts a thread:
//     salesops::BlockTerminationSignals();
//     salesops::ParseFlags(argc, argv, "salesops-foo: ...");
//     auto config = salesops::ServerConfig::FromFlags();
//     auto metrics = salesops::Metrics::Create(config.metrics_listen);
//     if (!metrics.ok()) { /* log::Error */ return 1; }
//     auto server = salesops::Server::Create(config, metrics->get());
//     if (!server.ok()) { /* log::Error */ return 1; }
//     FooServiceImpl service(&(*server)->auth(), ...);
//     (*server)->AddService(&service, "salesops.v1.FooService");
//     (*server)->OnShutdown([&] { feed.Stop(); });
//     if (!(*server)->Start().ok()) { /* log::Error */ return 1; }
//     int rc = (*server)->RunUntilSignal();  // drains, returns 0
//     // Close the store here, after the server stopped.
//     return rc;
//   }
//
// Lifetimes: the Metrics, the services added and whatever the shutdown hooks
// touch must outlive the Server (or at least its Shutdown()).

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/server/auth.h"
#include "common/server/shutdown_signal.h"

namespace grpc {
class Channel;
class Server;
class ServerBuilder;
class Service;
}  // namespace grpc

namespace salesops {

class HealthListener;
class HealthService;
class Metrics;
class ReflectionService;

struct ServerConfig {
  // HOST:PORT addresses to serve on ("127.0.0.1:0" picks a free port; IPv6 as
  // "[::1]:7001"). --listen is a comma-separated list.
  std::vector<std::string> listen = {"127.0.0.1:50051"};
  // HOST:PORT of the HTTP/JSON (Connect protocol) listener, "" = off
  // (common/http/connect_gateway.h). Same TLS files and auth as `listen`;
  // --auth=none needs it on loopback too. Served by ServiceRuntime.
  std::string http_listen;
  // HTTP worker threads of that listener (each open connection holds one).
  int http_threads = 16;
  // HOST:PORT of a plaintext listener serving only grpc.health.v1.Health with
  // the statuses of this server (HealthListener in health.h), "" = off: for
  // probes that cannot speak TLS when `listen` is TLS-only. No auth on it.
  std::string health_listen;
  // HOST:PORT for /metrics, "" = off. Used by the main to create Metrics, not
  // by Server.
  std::string metrics_listen;
  // "tokens" (bearer tokens from tokens_file) or "none" (only when every listen
  // address is loopback: 127.0.0.0/8, ::1 or localhost).
  std::string auth = "tokens";
  std::string tokens_file;
  // TLS: cert and key both or neither (PEM). A client CA turns on mTLS: clients
  // must present a certificate signed by it. A client CA without cert and key
  // is an error.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // Largest message received or sent, bytes.
  int max_message_bytes = 16 * 1024 * 1024;
  // Shutdown(): in-flight calls get this long to finish; what still runs then
  // ends with UNAVAILABLE (see Shutdown).
  absl::Duration drain_timeout = absl::Seconds(10);
  // Most threads running synchronous handlers (see the file comment); at
  // least 4.
  int max_threads = 256;
  // Most concurrent calls on one client connection; at least 1.
  int max_streams_per_connection = 100;
  // Keepalive. The server pings an idle connection every keepalive_time and
  // drops it when the ack takes longer than keepalive_timeout. Clients may ping
  // every min_client_ping_interval, also with no call in flight (long-lived
  // feed watchers keep their connections alive so); more often gets the
  // connection closed (GOAWAY "too_many_pings").
  absl::Duration keepalive_time = absl::Minutes(1);
  absl::Duration keepalive_timeout = absl::Seconds(20);
  absl::Duration min_client_ping_interval = absl::Seconds(10);
  // Tests: when set, used instead of `auth` and `tokens_file`.
  std::shared_ptr<const Authenticator> authenticator;

  // From the common flags (common/server/flags.h).
  static ServerConfig FromFlags();
};

// True when `host_port` ("HOST:PORT", "[V6]:PORT") names a loopback host:
// 127.0.0.0/8, ::1, ::ffff:127.x.x.x or "localhost". 0.0.0.0, [::] and every
// other host are not.
bool IsLoopbackAddress(std::string_view host_port);

// Blocks SIGTERM and SIGINT in the calling thread; threads started afterwards
// inherit the mask. Contract: a main calls this first, before anything starts a
// thread (gRPC, RocksDB, prometheus-cpp all do), so that the signals stay
// pending until RunUntilSignal's sigwait takes them instead of killing the
// process from a random thread.
void BlockTerminationSignals();

class Server {
 public:
  // Checks `config`: auth mode, auth=none only on loopback (FAILED_PRECONDITION
  // naming the first non-loopback address), auth=tokens needs tokens_file
  // (FAILED_PRECONDITION) and loads it, TLS files are readable PEM and the key
  // matches the certificate. `metrics` may be null (the server then keeps its
  // gRPC metrics in a private registry nobody scrapes).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Server>> Create(
      ServerConfig config, Metrics* metrics);

  // Shuts down if still running.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  const Authenticator& auth() const { return *auth_; }
  const ServerConfig& config() const { return config_; }

  // Registers a service before Start. `health_name` is its full proto name
  // (e.g. "salesops.v1.FeedService"): the health status key and the prefix of
  // its metrics series.
  void AddService(grpc::Service* service, const std::string& health_name);

  // Binds every listen address (and health_listen) and starts serving; health
  // SERVING for "" and every added service. UNAVAILABLE naming the address
  // when one cannot be bound (in use, bad host). At most once.
  [[nodiscard]] absl::Status Start();

  // Changes a service's health status after Start (e.g. NOT_SERVING while its
  // store is unusable). Ignored once Shutdown began.
  void SetServingStatus(const std::string& health_name, bool serving);

  // The port bound for listen address `i` (0 before Start).
  int port(size_t i = 0) const;
  // The port bound for health_listen (0 before Start or when off).
  int health_port() const;
  // "HOST:PORT" with the bound port, for clients (e.g. "127.0.0.1:40123").
  std::string target(size_t i = 0) const;
  // A channel into this server, bypassing the network (after Start): the
  // calls it carries pass through auth, bounds and metrics like any other.
  std::shared_ptr<grpc::Channel> InProcessChannel() const;

  // Runs `hook` during Shutdown, after health turns NOT_SERVING and before the
  // gRPC server stops: the place to end long-lived streams (feed Watch) so the
  // drain is not spent waiting for them. Hooks run in registration order, once,
  // and only if Start succeeded. Register before Shutdown.
  void OnShutdown(std::function<void()> hook);

  // The drain, in order: health NOT_SERVING for all (health watchers get it
  // and their streams end OK); shutdown_signal() notified and every open
  // reflection stream ended, both answering UNAVAILABLE "server shutting down;
  // retry"; the hooks run; gRPC stops listening and sends every connection a
  // GOAWAY; in-flight calls get until drain_timeout to finish with their real
  // result; what still runs then ends with UNAVAILABLE (gRPC closes the
  // connections: "Cancelling all calls"); then Shutdown waits for handlers to
  // return. A client sees UNAVAILABLE for a call it starts during the drain
  // (the GOAWAY makes it reconnect, and the port is closed) — except a call
  // that reaches the server on an open connection in the instant between
  // gRPC's shutdown starting and the client reading the GOAWAY: gRPC core
  // resets it as CANCELLED before any handler runs (Server::CallData::
  // StartNewRpc "zombies" it; grpc/grpc#41785, DECISIONS D29), so it did
  // nothing and may be retried; docs/API.md says so. Idempotent and
  // thread-safe; later calls wait for the first to finish. The health listener
  // (health_listen) answers NOT_SERVING through the drain and closes last.
  void Shutdown();

  // Notified when Shutdown begins: handlers that wait look at it between
  // slices of their wait and answer UNAVAILABLE kShuttingDownMessage.
  const ShutdownSignal& shutdown_signal() const { return shutdown_signal_; }

  // Waits for SIGTERM or SIGINT (see BlockTerminationSignals), logs it,
  // Shutdown(), returns 0. A second signal during the drain exits the process
  // at once with 128 + signal number.
  int RunUntilSignal();

 private:
  Server() = default;
  // Registers health, reflection and the added services with `builder`;
  // returns the full names of every method served (for the metrics).
  std::vector<std::string> RegisterServices(grpc::ServerBuilder* builder);
  // Starts health_listener_ when config_.health_listen is set.
  [[nodiscard]] absl::Status StartHealthListener();

  ServerConfig config_;
  std::shared_ptr<const Authenticator> auth_;
  std::unique_ptr<Metrics> own_metrics_;  // when Create got none
  Metrics* metrics_ = nullptr;
  std::string server_cert_pem_;
  std::string server_key_pem_;
  std::string client_ca_pem_;

  std::vector<std::pair<grpc::Service*, std::string>> services_;
  std::unique_ptr<HealthService> health_;  // outlives server_ and the listener
  std::unique_ptr<HealthListener> health_listener_;
  std::unique_ptr<ReflectionService> reflection_;  // outlives server_
  ShutdownSignal shutdown_signal_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<int> ports_;

  std::mutex hooks_mu_;
  std::vector<std::function<void()>> hooks_;
  std::mutex state_mu_;  // guards the flags below; held for the whole Start and
                         // Shutdown
  bool started_ = false;
  bool shut_down_ = false;
};

}  // namespace salesops
