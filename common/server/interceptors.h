#pragma once

// Per-method gRPC server metrics and failure logging (ARCHITECTURE.md §5), as a
// server interceptor. Names, labels and semantics follow go-grpc-prometheus
// (grpc-ecosystem), so its dashboards and SLO rules work unchanged:
//
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//       counter: calls started.
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//       counter: calls finished, by code name ("OK", "NotFound", ...).
//   grpc_server_handling_seconds{grpc_type,grpc_service,grpc_method}
//       histogram: from the start of the call to its status being sent;
//       buckets HandlingBuckets() (50 µs to 10 s, with le="0.001" and
//       le="0.005" exactly: the forecast's sub-millisecond latency and its
//       5 ms SLO).
//   grpc_server_msg_received_total{grpc_type,grpc_service,grpc_method}
//       counter: request messages received (one per unary call).
//   grpc_server_msg_sent_total{grpc_type,grpc_service,grpc_method}
//       counter: response messages the server started to send (one per
//       successful unary call, one per event of a Watch stream).
//
// grpc_type is "unary", "client_stream", "server_stream" or "bidi_stream",
// from the method's descriptor in the generated pool ("unary" for a method
// not in it). "/salesops.v1.FeedService/Watch" has grpc_type
// "server_stream", grpc_service "salesops.v1.FeedService" and grpc_method
// "Watch". Only the methods named at construction get series of their own,
// created up front with zero counts (started, msg, histogram and
// handled{grpc_code="OK"}: dashboards and rate() see a method before its
// first call); calls to any other name (gRPC answers them UNIMPLEMENTED)
// count under grpc_type="unary", grpc_service="unknown",
// grpc_method="unknown", so clients cannot mint series. Series per method:
// 21 of the histogram (18 buckets, +Inf, sum, count), 3 counters and one
// handled counter per code seen: about 25, so about 1,100 for the service
// with the most methods (credit: 43 with feed, audit, backup, webhooks,
// health and reflection; an idle accounts exports 949). The hot path is one
// lookup in an immutable hash map and, per (method, code), a cached counter.
//
// Every call that ends with a status other than OK is logged as one JSON line:
// msg "rpc failed", method, code (e.g. "NOT_FOUND"), message, duration_us
// (microseconds), peer. Levels: CANCELLED debug (the client went away);
// UNKNOWN, INTERNAL, DATA_LOSS error (a bug); UNIMPLEMENTED, DEADLINE_EXCEEDED,
// UNAVAILABLE, RESOURCE_EXHAUSTED warn (a misrouted client, overload, a peer
// down); everything else (the caller's mistake, e.g. INVALID_ARGUMENT) info.
// The line also carries the call's trace_id (common/trace/trace.h).
//
// The same interceptor is the edge of field bounds (bounds.h): for every
// method named at construction whose request type is in the generated
// descriptor pool and which is not client-streaming, the request message (its
// first and only one) has its unknown fields discarded and its bounds checked
// when it arrives, before the handler runs (gRPC 1.51 runs server interceptors
// before sync and callback handlers alike: edge_test proves it); violations
// are recorded for Authenticator to answer (auth.h) and forgotten when the
// status is sent. Bytes that do not parse as the request type get
// INVALID_ARGUMENT "request: not a valid <full message name>" instead of
// gRPC's INTERNAL (sync) or UNIMPLEMENTED (callback); the metrics and the log
// line count the status actually sent.

#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace salesops {

// Metadata the HTTP/JSON gateway (common/http/connect_gateway.h) sets on its
// in-process calls: the HTTP client's address, logged as the call's peer.
inline constexpr char kHttpPeerMetadata[] = "x-salesops-http-peer";

class MetricsInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `methods`: the full names ("/pkg.Service/Method") of every method served.
  // `registry` must outlive the factory and every call it intercepts.
  MetricsInterceptorFactory(prometheus::Registry& registry,
                            const std::vector<std::string>& methods);
  ~MetricsInterceptorFactory() override;

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

  // go-grpc-prometheus code names: "OK", "Canceled", ..., "Unauthenticated".
  static std::string_view CodeName(grpc::StatusCode code);
  // "/a.b.Service/Method" → {"a.b.Service", "Method"}; anything else →
  // {"unknown", "unknown"}.
  static std::pair<std::string, std::string> SplitMethod(
      std::string_view full_method);
  // Upper bounds (seconds) of grpc_server_handling_seconds: 50 µs, then
  // 100 µs to 10 s in 1-2.5-5 steps, plus 750 µs; includes 0.001 and 0.005
  // exactly (SLO rules select le="0.005").
  static const std::vector<double>& HandlingBuckets();

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace salesops
