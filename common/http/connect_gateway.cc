#include "common/http/connect_gateway.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <sys/socket.h>

#include <condition_variable>
#include <future>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/http/connect_protocol.h"
#include "common/log/log.h"
#include "common/server/interceptors.h"
#include "google/protobuf/descriptor.h"

namespace salesops {
namespace {

using connect::Codec;
using connect::ContentType;

// Request headers passed on to the gRPC call as metadata.
constexpr const char* kForwardedHeaders[] = {"authorization", "traceparent",
                                             "tracestate"};
// How often a stream waiting for its next message looks at its client.
constexpr absl::Duration kStreamPoll = absl::Milliseconds(200);

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) {
    return out;
  }
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

absl::StatusCode CodeOf(const grpc::Status& status) {
  return static_cast<absl::StatusCode>(status.error_code());
}

void WriteError(httplib::Response& res, absl::StatusCode code,
                std::string_view message, std::string_view details = {}) {
  res.status = connect::HttpStatusOf(code);
  res.set_content(connect::ErrorJson(code, message, details),
                  "application/json");
}

// The method a path names: /<package.Service>/<Method> of our package.
const google::protobuf::MethodDescriptor* MethodOf(const std::string& service,
                                                   const std::string& method) {
  if (!absl::StartsWith(service, "salesops.v1.")) {
    return nullptr;
  }
  const google::protobuf::ServiceDescriptor* s =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          service);
  return s == nullptr ? nullptr : s->FindMethodByName(method);
}

// Metadata and deadline of the gRPC call from the HTTP request; an invalid
// Connect-Timeout-Ms is the caller's error.
absl::Status PrepareContext(const httplib::Request& req,
                            grpc::ClientContext* context) {
  context->AddMetadata(kHttpPeerMetadata,
                       absl::StrCat(req.remote_addr, ":", req.remote_port));
  for (const char* header : kForwardedHeaders) {
    if (req.has_header(header)) {
      context->AddMetadata(header, req.get_header_value(header));
    }
  }
  absl::StatusOr<std::optional<int64_t>> timeout =
      connect::ParseTimeoutMs(req.get_header_value("Connect-Timeout-Ms"));
  if (!timeout.ok()) {
    return timeout.status();
  }
  if (timeout->has_value()) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(**timeout));
  }
  std::string version = req.get_header_value("Connect-Protocol-Version");
  if (!version.empty() && version != "1") {
    return absl::InvalidArgumentError(absl::StrCat(
        "Connect-Protocol-Version: must be 1 (got \"", version, "\")"));
  }
  return absl::OkStatus();
}

void ServeUnary(grpc::GenericStub& stub,
                const google::protobuf::MethodDescriptor& method,
                ContentType type, const httplib::Request& req,
                httplib::Response& res) {
  grpc::ClientContext context;
  if (absl::Status prepared = PrepareContext(req, &context); !prepared.ok()) {
    WriteError(res, prepared.code(), std::string(prepared.message()));
    return;
  }
  absl::StatusOr<std::string> binary =
      connect::ToBinary(type.codec, *method.input_type(), req.body);
  if (!binary.ok()) {
    WriteError(res, binary.status().code(),
               std::string(binary.status().message()));
    return;
  }
  grpc::ByteBuffer request = ToBuffer(*binary);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(
      &context,
      absl::StrCat("/", method.service()->full_name(), "/", method.name()),
      grpc::StubOptions(), &request, &response,
      [&done](grpc::Status status) { done.set_value(status); });
  grpc::Status status = done.get_future().get();
  if (!status.ok()) {
    WriteError(res, CodeOf(status), status.error_message(),
               status.error_details());
    return;
  }
  absl::StatusOr<std::string> body = connect::FromBinary(
      type.codec, *method.output_type(), ToString(response));
  if (!body.ok()) {
    WriteError(res, body.status().code(), std::string(body.status().message()));
    return;
  }
  res.status = 200;
  res.set_content(std::move(*body), connect::ContentTypeOf(type));
}

// One server-streaming call: a gRPC client reactor whose messages the HTTP
// worker takes one at a time (Next), asking gRPC for the next only then.
//
// A hold (AddHold) keeps gRPC from finishing the call (OnDone) while a read
// it delivered is still with us: the hold goes only when a read fails (the
// stream ended or was cancelled), so every StartRead we make comes before
// OnDone, never after (gRPC forbids using a reactor once it is done). Finish
// cancels and, when a message is still unread, starts the read that lets the
// call end.
class StreamBridge final
    : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  struct Item {
    std::optional<std::string> message;  // nullopt: the call ended
    grpc::Status status;
  };

  grpc::ClientContext& context() { return context_; }

  void Start(grpc::GenericStub& stub, const std::string& path,
             const std::string& request) {
    request_ = ToBuffer(request);
    stub.PrepareBidiStreamingCall(&context_, path, grpc::StubOptions(), this);
    AddHold();
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&read_);
    StartCall();
  }

  // Waits up to kStreamPoll for the next message or the end; nullopt when
  // neither came in time.
  std::optional<Item> Next() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, absl::ToChronoMilliseconds(kStreamPoll),
                 [&] { return has_message_ || done_; });
    if (has_message_) {
      has_message_ = false;
      std::string message = ToString(read_);
      lock.unlock();
      StartRead(&read_);
      return Item{std::move(message), grpc::Status::OK};
    }
    if (done_) {
      return Item{std::nullopt, status_};
    }
    return std::nullopt;
  }

  // Cancels the call and waits for gRPC to finish it. Called once, on the
  // HTTP worker that calls Next, after its last Next.
  void Finish() {
    context_.TryCancel();
    std::unique_lock<std::mutex> lock(mu_);
    if (has_message_) {
      has_message_ = false;
      lock.unlock();
      StartRead(&read_);  // fails at once (cancelled): the hold goes
      lock.lock();
    }
    cv_.wait(lock, [&] { return done_; });
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      RemoveHold();  // the stream ended: OnDone follows
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    has_message_ = true;
    cv_.notify_all();
  }

  void OnDone(const grpc::Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    done_ = true;
    cv_.notify_all();
  }

 private:
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer read_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool has_message_ = false;
  bool done_ = false;
  grpc::Status status_;
};

void WriteStreamEnd(httplib::Response& res, ContentType type,
                    const absl::Status& status) {
  res.status = 200;
  res.set_content(
      connect::EndStream(status.code(), std::string(status.message()), {}),
      connect::ContentTypeOf(type));
}

// Writes messages until the call ends, the client goes away or the gateway
// stops; returns false to abort the response.
bool PumpStream(StreamBridge& bridge, ContentType type,
                const google::protobuf::Descriptor& output,
                httplib::DataSink& sink) {
  std::optional<StreamBridge::Item> item = bridge.Next();
  if (!item.has_value()) {
    if (!sink.is_writable()) {
      bridge.context().TryCancel();
    }
    return true;  // asked again at once
  }
  if (item->message.has_value()) {
    absl::StatusOr<std::string> body =
        connect::FromBinary(type.codec, output, *item->message);
    std::string frame =
        body.ok()
            ? connect::Envelope(0, *body)
            : connect::EndStream(body.status().code(),
                                 std::string(body.status().message()), {});
    if (!sink.write(frame.data(), frame.size())) {
      bridge.context().TryCancel();
      return false;
    }
    if (!body.ok()) {
      bridge.context().TryCancel();
      sink.done();
    }
    return true;
  }
  const grpc::Status& status = item->status;
  std::string end = connect::EndStream(CodeOf(status), status.error_message(),
                                       status.error_details());
  sink.write(end.data(), end.size());
  sink.done();
  return true;
}

void ServeStream(ConnectGateway* gateway, grpc::GenericStub& stub,
                 const google::protobuf::MethodDescriptor& method,
                 ContentType type, size_t max_body, const httplib::Request& req,
                 httplib::Response& res) {
  auto bridge = std::make_shared<StreamBridge>();
  if (absl::Status prepared = PrepareContext(req, &bridge->context());
      !prepared.ok()) {
    WriteStreamEnd(res, type, prepared);
    return;
  }
  absl::StatusOr<connect::ParsedEnvelope> envelope =
      connect::ParseSingleEnvelope(req.body, max_body);
  absl::StatusOr<std::string> binary =
      envelope.ok() ? connect::ToBinary(type.codec, *method.input_type(),
                                        envelope->payload)
                    : absl::StatusOr<std::string>(envelope.status());
  if (!binary.ok()) {
    WriteStreamEnd(res, type, binary.status());
    return;
  }
  if (!gateway->AdmitStream(&bridge->context())) {
    WriteStreamEnd(res, type,
                   absl::ResourceExhaustedError(
                       "too many open streams on the HTTP listener; retry "
                       "later or use gRPC"));
    return;
  }
  bridge->Start(
      stub,
      absl::StrCat("/", method.service()->full_name(), "/", method.name()),
      *binary);
  const google::protobuf::Descriptor* output = method.output_type();
  res.status = 200;
  res.set_chunked_content_provider(
      connect::ContentTypeOf(type),
      [bridge, type, output](size_t, httplib::DataSink& sink) {
        return PumpStream(*bridge, type, *output, sink);
      },
      [bridge, gateway](bool) {
        bridge->Finish();
        gateway->ReleaseStream(&bridge->context());
      });
}

struct HostPort {
  std::string host;
  int port = 0;
};

absl::StatusOr<HostPort> SplitHostPort(const std::string& address,
                                       const std::string& flag) {
  size_t colon = address.rfind(':');
  HostPort hp;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &hp.port) || hp.port < 0 ||
      hp.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, "=", address, ": needs HOST:PORT with a port 0-65535"));
  }
  hp.host = address.substr(0, colon);
  if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']') {
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  }
  return hp;
}

std::unique_ptr<httplib::Server> MakeServer(const ConnectGatewayConfig& c) {
  if (c.tls_cert_file.empty()) {
    return std::make_unique<httplib::Server>();
  }
  const char* client_ca =
      c.tls_client_ca_file.empty() ? nullptr : c.tls_client_ca_file.c_str();
  auto server = std::make_unique<httplib::SSLServer>(
      c.tls_cert_file.c_str(), c.tls_key_file.c_str(), client_ca);
  if (!server->is_valid()) {
    return nullptr;
  }
  return server;
}

// One POST: the method its path names, the codec of its Content-Type, then
// the unary or streaming call.
void Route(ConnectGateway* gateway, const ConnectRouter& router,
           size_t max_body, const httplib::Request& req,
           httplib::Response& res) {
  const google::protobuf::MethodDescriptor* method =
      MethodOf(req.matches[1], req.matches[2]);
  std::shared_ptr<grpc::Channel> channel =
      method == nullptr ? nullptr : router(method->service()->full_name());
  if (channel == nullptr) {
    WriteError(res, absl::StatusCode::kUnimplemented,
               absl::StrCat("no such RPC: ", req.path));
    res.status = 404;
    return;
  }
  std::optional<ContentType> type =
      connect::ParseContentType(req.get_header_value("Content-Type"));
  const bool streaming = method->server_streaming();
  if (!type.has_value() || type->streaming != streaming) {
    const char* prefix = streaming ? "connect+" : "";
    WriteError(res, absl::StatusCode::kUnknown,
               absl::StrCat("Content-Type must be application/", prefix,
                            "json or application/", prefix, "proto"));
    res.status = 415;
    return;
  }
  grpc::GenericStub stub(std::move(channel));
  if (streaming) {
    ServeStream(gateway, stub, *method, *type, max_body, req, res);
  } else {
    ServeUnary(stub, *method, *type, req, res);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ConnectGateway>> ConnectGateway::Start(
    ConnectGatewayConfig config, std::shared_ptr<grpc::Channel> channel) {
  return Start(std::move(config), [channel = std::move(channel)](
                                      const std::string&) { return channel; });
}

absl::StatusOr<std::unique_ptr<ConnectGateway>> ConnectGateway::Start(
    ConnectGatewayConfig config, ConnectRouter router) {
  absl::StatusOr<HostPort> hp =
      SplitHostPort(config.listen, config.listen_flag);
  if (!hp.ok()) {
    return hp.status();
  }
  std::unique_ptr<ConnectGateway> g(new ConnectGateway());
  g->config_ = config;
  g->router_ = std::move(router);
  g->http_ = MakeServer(config);
  if (g->http_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(config.listen_flag,
                     ": the TLS certificate, key or client CA does not load"));
  }
  httplib::Server& http = *g->http_;
  const int threads = config.threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_socket_options([](socket_t sock) {
    int yes = 1;  // no SO_REUSEPORT (ARCHITECTURE.md §9)
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Answers go out at once: without TCP_NODELAY a keep-alive connection's
  // second request waits ~40 ms for Nagle and the client's delayed ACK.
  http.set_tcp_nodelay(true);
  http.set_read_timeout(absl::ToChronoSeconds(config.read_timeout));
  http.set_write_timeout(absl::ToChronoSeconds(config.read_timeout));
  http.set_keep_alive_timeout(absl::ToInt64Seconds(config.keep_alive_timeout));
  http.set_keep_alive_max_count(1000);
  http.set_payload_max_length(config.max_body_bytes);
  ConnectGateway* self = g.get();
  const size_t max_body = config.max_body_bytes;
  http.Post(
      R"(/([A-Za-z0-9_.]+)/([A-Za-z0-9_]+))",
      [self, max_body](const httplib::Request& req, httplib::Response& res) {
        Route(self, self->router_, max_body, req, res);
      });
  if (config.extra_routes) {
    config.extra_routes(http);
  }
  g->port_ = hp->port == 0
                 ? http.bind_to_any_port(hp->host)
                 : (http.bind_to_port(hp->host, hp->port) ? hp->port : -1);
  if (g->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve HTTP on ", config.listen_flag, "=",
                     config.listen, ": the address cannot be bound (in use?)"));
  }
  g->listener_ = std::thread([self] { self->http_->listen_after_bind(); });
  return g;
}

bool ConnectGateway::AdmitStream(grpc::ClientContext* context) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ ||
      streams_.size() >= static_cast<size_t>(config_.max_streams)) {
    return false;
  }
  streams_.insert(context);
  return true;
}

void ConnectGateway::ReleaseStream(grpc::ClientContext* context) {
  std::lock_guard<std::mutex> lock(mu_);
  streams_.erase(context);
}

void ConnectGateway::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !listener_.joinable()) {
      return;
    }
    stopping_ = true;
    for (grpc::ClientContext* context : streams_) {
      context->TryCancel();
    }
  }
  if (http_ != nullptr) {
    http_->stop();
  }
  if (listener_.joinable()) {
    listener_.join();
  }
}

ConnectGateway::~ConnectGateway() { Shutdown(); }

}  // namespace salesops
