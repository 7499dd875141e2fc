#include "common/server/interceptors.h"

#include <grpcpp/server_context.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/log/log.h"
#include "common/server/bounds.h"
#include "common/status/violations.h"
#include "common/trace/trace.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace salesops {
namespace {

using ::grpc::experimental::InterceptionHookPoints;

constexpr int kNumCodes = 17;  // OK .. UNAUTHENTICATED

constexpr std::string_view kCodeNames[kNumCodes] = {"OK",
                                                    "Canceled",
                                                    "Unknown",
                                                    "InvalidArgument",
                                                    "DeadlineExceeded",
                                                    "NotFound",
                                                    "AlreadyExists",
                                                    "PermissionDenied",
                                                    "ResourceExhausted",
                                                    "FailedPrecondition",
                                                    "Aborted",
                                                    "OutOfRange",
                                                    "Unimplemented",
                                                    "Internal",
                                                    "Unavailable",
                                                    "DataLoss",
                                                    "Unauthenticated"};

// Canonical names, as in logs and grpc::Status documentation.
constexpr std::string_view kLogCodeNames[kNumCodes] = {"OK",
                                                       "CANCELLED",
                                                       "UNKNOWN",
                                                       "INVALID_ARGUMENT",
                                                       "DEADLINE_EXCEEDED",
                                                       "NOT_FOUND",
                                                       "ALREADY_EXISTS",
                                                       "PERMISSION_DENIED",
                                                       "RESOURCE_EXHAUSTED",
                                                       "FAILED_PRECONDITION",
                                                       "ABORTED",
                                                       "OUT_OF_RANGE",
                                                       "UNIMPLEMENTED",
                                                       "INTERNAL",
                                                       "UNAVAILABLE",
                                                       "DATA_LOSS",
                                                       "UNAUTHENTICATED"};

int CodeIndex(grpc::StatusCode code) {
  const int i = static_cast<int>(code);
  return i >= 0 && i < kNumCodes ? i
                                 : static_cast<int>(grpc::StatusCode::UNKNOWN);
}

log::Level LevelFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
      return log::Level::kDebug;
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::DATA_LOSS:
      return log::Level::kError;
    case grpc::StatusCode::UNIMPLEMENTED:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return log::Level::kWarn;
    default:
      return log::Level::kInfo;
  }
}

// For the "rpc failed" line: the trace id of a call the handler shell served
// on this thread, else the one of the call's valid traceparent, else "".
std::string CallTraceId(const grpc::ServerContextBase& ctx) {
  std::string id = trace::FinishedCallTraceId(&ctx);
  if (id.empty()) {
    const auto& metadata = ctx.client_metadata();
    if (auto it = metadata.find(trace::kTraceparent); it != metadata.end()) {
      std::optional<trace::TraceContext> parent = trace::ParseTraceparent(
          std::string_view(it->second.data(), it->second.size()));
      id = parent ? parent->trace_id : "";
    }
  }
  return id;
}

}  // namespace

namespace interceptors_internal {

// The series of one method. Handled counters are created on first use per code.
struct MethodMetrics {
  std::string service;
  std::string method;
  std::string type;  // grpc_type: "unary", "client_stream", ...
  prometheus::Counter* started = nullptr;
  prometheus::Counter* msg_received = nullptr;
  prometheus::Counter* msg_sent = nullptr;
  prometheus::Histogram* handling = nullptr;
  std::array<std::atomic<prometheus::Counter*>, kNumCodes> handled{};
  // The request type of a unary or server-streaming method found in the
  // generated descriptor pool: its one request is checked at the edge
  // (bounds.h). Null for client-streaming methods and unknown names.
  const google::protobuf::Descriptor* request_type = nullptr;
};

}  // namespace interceptors_internal

using interceptors_internal::MethodMetrics;

struct MetricsInterceptorFactory::State {
  State(prometheus::Registry& registry, const std::vector<std::string>& names)
      : started_family(prometheus::BuildCounter()
                           .Name("grpc_server_started_total")
                           .Help("Total number of RPCs started on the server.")
                           .Register(registry)),
        handled_family(
            prometheus::BuildCounter()
                .Name("grpc_server_handled_total")
                .Help("Total number of RPCs completed on the server, "
                      "regardless of success or failure.")
                .Register(registry)),
        handling_family(
            prometheus::BuildHistogram()
                .Name("grpc_server_handling_seconds")
                .Help("Histogram of response latency (seconds) of gRPC "
                      "calls handled by the server.")
                .Register(registry)),
        msg_received_family(
            prometheus::BuildCounter()
                .Name("grpc_server_msg_received_total")
                .Help("Total number of RPC stream messages received on the "
                      "server.")
                .Register(registry)),
        msg_sent_family(prometheus::BuildCounter()
                            .Name("grpc_server_msg_sent_total")
                            .Help("Total number of gRPC stream messages sent "
                                  "by the server.")
                            .Register(registry)) {
    unknown = Make("unknown", "unknown", nullptr);
    for (const std::string& name : names) {
      auto [service, method] = SplitMethod(name);
      if (service == "unknown" || methods.contains(name)) {
        continue;
      }
      const google::protobuf::MethodDescriptor* d =
          google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
              absl::StrCat(service, ".", method));
      MethodMetrics* m = Make(service, method, d);
      Handled(m, grpc::StatusCode::OK);  // zero series for the common case
      if (d != nullptr && !d->client_streaming()) {
        m->request_type = d->input_type();
      }
      methods.emplace(name, m);
    }
  }

  // go-grpc-prometheus's grpc_type of a method; "unary" when the method is
  // not in the generated descriptor pool (and for the unknown/unknown series).
  static std::string TypeOf(const google::protobuf::MethodDescriptor* d) {
    if (d == nullptr) {
      return "unary";
    }
    if (d->client_streaming()) {
      return d->server_streaming() ? "bidi_stream" : "client_stream";
    }
    return d->server_streaming() ? "server_stream" : "unary";
  }

  // Every series of a method but grpc_server_handled_total, with zero counts.
  MethodMetrics* Make(const std::string& service, const std::string& method,
                      const google::protobuf::MethodDescriptor* descriptor) {
    auto m = std::make_unique<MethodMetrics>();
    m->service = service;
    m->method = method;
    m->type = TypeOf(descriptor);
    const prometheus::Labels labels = {{"grpc_type", m->type},
                                       {"grpc_service", service},
                                       {"grpc_method", method}};
    m->started = &started_family.Add(labels);
    m->msg_received = &msg_received_family.Add(labels);
    m->msg_sent = &msg_sent_family.Add(labels);
    m->handling = &handling_family.Add(labels, HandlingBuckets());
    storage.push_back(std::move(m));
    return storage.back().get();
  }

  // Never modified after construction, so lookups need no lock.
  MethodMetrics* Get(absl::string_view full_method) const {
    auto it = methods.find(full_method);
    return it != methods.end() ? it->second : unknown;
  }

  prometheus::Counter& Handled(MethodMetrics* m, grpc::StatusCode code) {
    const int i = CodeIndex(code);
    prometheus::Counter* c = m->handled[i].load(std::memory_order_acquire);
    if (c == nullptr) {
      // Family::Add returns the existing child for equal labels, so a race is
      // harmless.
      c = &handled_family.Add({{"grpc_type", m->type},
                               {"grpc_service", m->service},
                               {"grpc_method", m->method},
                               {"grpc_code", std::string(kCodeNames[i])}});
      m->handled[i].store(c, std::memory_order_release);
    }
    return *c;
  }

  prometheus::Family<prometheus::Counter>& started_family;
  prometheus::Family<prometheus::Counter>& handled_family;
  prometheus::Family<prometheus::Histogram>& handling_family;
  prometheus::Family<prometheus::Counter>& msg_received_family;
  prometheus::Family<prometheus::Counter>& msg_sent_family;

  std::vector<std::unique_ptr<MethodMetrics>> storage;
  absl::flat_hash_map<std::string, MethodMetrics*> methods;  // by full name
  MethodMetrics* unknown = nullptr;
};

namespace {

class MetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(std::shared_ptr<MetricsInterceptorFactory::State> state,
                     MethodMetrics* metrics,
                     grpc::experimental::ServerRpcInfo* info)
      : state_(std::move(state)),
        metrics_(metrics),
        info_(info),
        method_(info->method() != nullptr ? info->method() : ""),
        start_(std::chrono::steady_clock::now()) {
    metrics_->started->Increment();
  }

  ~MetricsInterceptor() override {
    if (rejected_) {
      ForgetEdgeRejection(info_->server_context());
    }
    if (!recorded_) {
      // The call ended without sending a status (e.g. cancelled at shutdown).
      Record(grpc::Status(grpc::StatusCode::CANCELLED,
                          "call ended without a status"),
             /*with_peer=*/false);
    }
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE)) {
      // Null when the read failed (the client's end of stream, or bytes that
      // did not parse): no message arrived.
      if (methods->GetRecvMessage() != nullptr) {
        metrics_->msg_received->Increment();
      }
      CheckRequest(methods->GetRecvMessage());
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_MESSAGE)) {
      metrics_->msg_sent->Increment();
    }
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      if (undecodable_) {
        AnswerUndecodable(methods);
      }
      if (rejected_) {
        ForgetEdgeRejection(info_->server_context());
        rejected_ = false;
      }
      Record(methods->GetSendStatus(), /*with_peer=*/true);
    }
    methods->Proceed();
  }

 private:
  // The edge (bounds.h): strips the request's unknown fields and records an
  // INVALID_ARGUMENT for the call when it breaks a bound. gRPC hands the
  // request over as the void* it made from the handler's `RequestType*` (the
  // generated class of `request_type`), before the handler runs. Every
  // generated message derives from google::protobuf::Message by single,
  // non-virtual inheritance with Message as its primary (and only) base, so
  // the object's address is its Message's address and the static_cast from
  // void* yields that Message; the descriptor check below guards against a
  // handler registered with another request representation (a generic
  // service's ByteBuffer is never registered for these method names).
  void CheckRequest(void* received) {
    if (metrics_->request_type == nullptr || seen_request_) {
      return;
    }
    seen_request_ = true;
    if (received == nullptr) {
      undecodable_ = true;  // the bytes did not parse as request_type
      return;
    }
    auto* request = static_cast<google::protobuf::Message*>(received);
    if (request->GetDescriptor() != metrics_->request_type) {
      return;
    }
    DiscardUnknownFieldsRecursively(request);
    Violations violations;
    for (const std::string& v : BoundViolations(*request)) {
      violations.Add(v);
    }
    if (!violations.empty()) {
      RecordEdgeRejection(info_->server_context(),
                          WithReason(violations.status(), "FIELD_BOUND"));
      rejected_ = true;
    }
  }

  // gRPC answers a request it could not parse with INTERNAL (sync handlers)
  // or UNIMPLEMENTED (callback handlers), both with an empty message; the
  // caller sent bad bytes, which is INVALID_ARGUMENT (ARCHITECTURE.md §6).
  // Other codes (e.g. RESOURCE_EXHAUSTED when the sync server had no thread
  // for the call, which also leaves no request) are left alone.
  void AnswerUndecodable(grpc::experimental::InterceptorBatchMethods* methods) {
    const grpc::Status sent = methods->GetSendStatus();
    if (sent.error_code() == grpc::StatusCode::INTERNAL ||
        sent.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
      methods->ModifySendStatus(
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                       absl::StrCat("request: not a valid ",
                                    metrics_->request_type->full_name())));
    }
  }

  void Record(const grpc::Status& status, bool with_peer) {
    recorded_ = true;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
            .count();
    metrics_->handling->Observe(seconds);
    state_->Handled(metrics_, status.error_code()).Increment();
    if (status.ok()) {
      return;
    }
    const grpc::StatusCode code = status.error_code();
    std::string peer;
    if (with_peer && info_->server_context() != nullptr) {
      peer = info_->server_context()->peer();
      // A call of the HTTP/JSON gateway (common/http) comes in-process; the
      // gateway names the HTTP client in kHttpPeerMetadata, which only it can
      // set on an in-process call.
      const auto& metadata = info_->server_context()->client_metadata();
      if (absl::StartsWith(peer, "inproc") || peer == "unknown") {
        if (auto it = metadata.find(kHttpPeerMetadata); it != metadata.end()) {
          peer = absl::StrCat(
              "http:", absl::string_view(it->second.data(), it->second.size()));
        }
      }
    }
    // The call's trace id (trace.h) unless a current trace adds it already:
    // the one the handler shell noted on this thread, else the caller's.
    std::optional<log::ScopedFields> trace_fields;
    if (trace::Current() == nullptr && info_->server_context() != nullptr) {
      std::string id = CallTraceId(*info_->server_context());
      if (!id.empty()) {
        trace_fields.emplace(log::Fields{{"trace_id", id}});
      }
    }
    log::Write(
        LevelFor(code), "rpc failed",
        {{"method", method_},
         {"code", kLogCodeNames[CodeIndex(code)]},
         {"message", status.error_message()},
         {"duration_us", static_cast<long long>(std::llround(seconds * 1e6))},
         {"peer", peer}});
  }

  std::shared_ptr<MetricsInterceptorFactory::State> state_;
  MethodMetrics* metrics_;
  grpc::experimental::ServerRpcInfo* info_;  // owns this interceptor
  const char* method_;                       // lives as long as the call
  std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;
  bool seen_request_ = false;  // the first message was looked at
  bool undecodable_ = false;   // it did not parse
  bool rejected_ = false;      // an edge rejection is recorded for the call
};

}  // namespace

MetricsInterceptorFactory::MetricsInterceptorFactory(
    prometheus::Registry& registry, const std::vector<std::string>& methods)
    : state_(std::make_shared<State>(registry, methods)) {}

MetricsInterceptorFactory::~MetricsInterceptorFactory() = default;

grpc::experimental::Interceptor*
MetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  const char* method = info->method();
  return new MetricsInterceptor(
      state_, state_->Get(method != nullptr ? method : ""), info);
}

std::string_view MetricsInterceptorFactory::CodeName(grpc::StatusCode code) {
  return kCodeNames[CodeIndex(code)];
}

std::pair<std::string, std::string> MetricsInterceptorFactory::SplitMethod(
    std::string_view full_method) {
  // "/service/method" with both parts non-empty and no further '/'.
  if (full_method.size() < 4 || full_method.front() != '/') {
    return {"unknown", "unknown"};
  }
  const std::string_view rest = full_method.substr(1);
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 ||
      slash + 1 == rest.size() ||
      rest.find('/', slash + 1) != std::string_view::npos) {
    return {"unknown", "unknown"};
  }
  return {std::string(rest.substr(0, slash)),
          std::string(rest.substr(slash + 1))};
}

const std::vector<double>& MetricsInterceptorFactory::HandlingBuckets() {
  static const std::vector<double>* const kBuckets = new std::vector<double>{
      0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,   0.1,     0.25,   0.5,     1,     2.5,    5,     10};
  return *kBuckets;
}

}  // namespace salesops
