#pragma once

// HTTP/JSON for every RPC of a service through the Connect protocol
// (connect_protocol.h; DECISIONS D36): POST /salesops.v1.<Service>/<Method>
// on --http_listen, with the same TLS/mTLS files as the gRPC port.
//
// No RPC is implemented twice: the gateway decodes the HTTP request into the
// method's protobuf bytes and calls the service's own gRPC server through its
// in-process channel (grpc::Server::InProcessChannel), forwarding the
// Authorization header (and W3C traceparent/tracestate) as gRPC metadata and
// Connect-Timeout-Ms as the call's deadline. Authentication, roles, scope,
// field bounds, metrics, audit and error details are therefore exactly those
// of a gRPC call; the gateway only translates the result (Connect's error
// JSON with the same google.rpc details, HTTP status per code).
//
// Server streaming (FeedService.Watch) answers application/connect+json or
// +proto: one envelope per message, then the end-of-stream envelope. A stream
// holds one HTTP worker thread while open and at most one message in memory
// (the next is read from gRPC only when the previous was written); at most
// `max_streams` are open at once, more end at once with resource_exhausted.
//
// Threads and slow clients: HTTP/1.1 with keep-alive; `threads` workers serve
// connections (one connection holds a worker while it is open); a connection
// idle for keep_alive_timeout or silent mid-request for read_timeout is
// closed; a body larger than max_body_bytes gets HTTP 413.
//
// Lifetime: Start binds and serves on a thread of its own; Shutdown stops
// accepting, ends open streams with unavailable and waits for the workers.
// The gRPC server must outlive Shutdown (ServiceRuntime runs it as the first
// shutdown hook, before gRPC drains).

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace httplib {
class Server;
}

namespace salesops {

struct ConnectGatewayConfig {
  // HOST:PORT; port 0 picks a free one (see port()).
  std::string listen;
  // The flag `listen` came from, as errors name it.
  std::string listen_flag = "--http_listen";
  // PEM files; cert and key enable TLS, a client CA requires client certs.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  // HTTP worker threads (each open connection or stream holds one).
  int threads = 16;
  // Open Watch streams at most (default: half the workers).
  int max_streams = 8;
  // Largest request body, bytes (the gRPC --max_message_bytes).
  size_t max_body_bytes = size_t{16} << 20;
  absl::Duration read_timeout = absl::Seconds(10);
  absl::Duration keep_alive_timeout = absl::Seconds(5);
  // Called once with the HTTP server before it binds, to add routes of its
  // own (the web console's static files, salesops-console): GET routes and
  // mount points; the gateway's POST route takes every /<Service>/<Method>.
  std::function<void(httplib::Server&)> extra_routes;
};

// The channel serving the RPCs of `service` ("salesops.v1.ForecastService"),
// or null when none does (the call then gets 404 unimplemented, as an unknown
// method does).
using ConnectRouter =
    std::function<std::shared_ptr<grpc::Channel>(const std::string& service)>;

class ConnectGateway {
 public:
  // Binds `config.listen` and serves calls on `channel` (the service's
  // in-process channel). UNAVAILABLE naming the address when it cannot be
  // bound; FAILED_PRECONDITION when the TLS files do not load.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ConnectGateway>> Start(
      ConnectGatewayConfig config, std::shared_ptr<grpc::Channel> channel);
  // The same, serving each service on the channel `router` names: one HTTP
  // endpoint in front of several gRPC servers (salesops-console, D64).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ConnectGateway>> Start(
      ConnectGatewayConfig config, ConnectRouter router);
  ~ConnectGateway();  // Shutdown()
  ConnectGateway(const ConnectGateway&) = delete;
  ConnectGateway& operator=(const ConnectGateway&) = delete;

  int port() const { return port_; }
  // Idempotent.
  void Shutdown();

  // Registry of open streams, so Shutdown can end them (used by the
  // handlers in connect_gateway.cc).
  bool AdmitStream(grpc::ClientContext* context);
  void ReleaseStream(grpc::ClientContext* context);

 private:
  ConnectGateway() = default;

  ConnectGatewayConfig config_;
  ConnectRouter router_;
  std::unique_ptr<httplib::Server> http_;
  std::thread listener_;
  int port_ = 0;
  std::mutex mu_;
  std::set<grpc::ClientContext*> streams_;
  bool stopping_ = false;
};

}  // namespace salesops
