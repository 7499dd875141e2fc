#include "common/server/server.h"

#include <arpa/inet.h>
#include <google/protobuf/descriptor.h>
#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/server/files.h"
#include "common/server/flags.h"
#include "common/server/health.h"
#include "common/server/interceptors.h"
#include "common/server/reflection.h"

namespace salesops {
namespace {

// How many idle threads the gRPC synchronous server keeps polling (see
// Server::Start), at most --max_threads. Above the calls a service has in
// flight at its peak, so threads are reused rather than started per call; each
// idle one costs a stack and a wake-up share of the completion queue.
constexpr int kMaxIdleServerThreads = 256;
// The smallest --max_threads: gRPC's synchronous server needs one thread per
// completion queue to poll at all, and a handful more to serve anything.
constexpr int kMinServerThreads = 4;

struct HostPort {
  std::string host;  // without IPv6 brackets
  int port = 0;
};

absl::StatusOr<HostPort> ParseHostPort(absl::string_view address) {
  HostPort out;
  absl::string_view port;
  if (absl::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("listen address \"", address, "\" is not [IPV6]:PORT"));
    }
    out.host = std::string(address.substr(1, close - 1));
    port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos ||
        address.substr(0, colon).find(':') != absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("listen address \"", address,
                       "\" is not HOST:PORT (IPv6 hosts go in brackets)"));
    }
    out.host = std::string(address.substr(0, colon));
    port = address.substr(colon + 1);
  }
  if (out.host.empty() || !absl::SimpleAtoi(port, &out.port) || out.port < 0 ||
      out.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address \"", address, "\" needs a host and a port 0-65535"));
  }
  return out;
}

// Checks that `cert_pem` starts with a certificate, `key_pem` is a private key,
// and they match, so a bad pair fails at startup with a clear message rather
// than at the first handshake.
absl::Status CheckKeyPair(const ServerConfig& c, const std::string& cert_pem,
                          const std::string& key_pem) {
  BIO* cert_bio =
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  if (cert == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--tls_cert_file=", c.tls_cert_file, " holds no PEM certificate"));
  }
  BIO* key_bio =
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  absl::Status status;
  if (key == nullptr) {
    status = absl::FailedPreconditionError(
        absl::StrCat("--tls_key_file=", c.tls_key_file,
                     " holds no unencrypted PEM private key"));
  } else if (X509_check_private_key(cert, key) != 1) {
    status = absl::FailedPreconditionError(
        absl::StrCat("--tls_key_file=", c.tls_key_file,
                     " does not match the certificate in --tls_cert_file=",
                     c.tls_cert_file));
  }
  EVP_PKEY_free(key);
  X509_free(cert);
  return status;
}

absl::Status CheckCaBundle(const ServerConfig& c, const std::string& ca_pem) {
  BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("--tls_client_ca_file=", c.tls_client_ca_file,
                     " holds no PEM certificate"));
  }
  X509_free(cert);
  return absl::OkStatus();
}

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

const char* SignalName(int sig) {
  switch (sig) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    default:
      return "signal";
  }
}

// Message sizes, keepalive, SO_REUSEPORT off, the synchronous server's
// pollers, and the thread and stream bounds (server.h).
void ApplyTransportOptions(const ServerConfig& c,
                           grpc::ServerBuilder* builder) {
  // gRPC sets SO_REUSEPORT by default: a second server could bind our port and
  // take half of our traffic (ARCHITECTURE.md §9).
  builder->AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder->SetMaxReceiveMessageSize(c.max_message_bytes);
  builder->SetMaxSendMessageSize(c.max_message_bytes);
  builder->AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIME_MS,
      static_cast<int>(absl::ToInt64Milliseconds(c.keepalive_time)));
  builder->AddChannelArgument(
      GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
      static_cast<int>(absl::ToInt64Milliseconds(c.keepalive_timeout)));
  // On a server this also lets clients ping while no call is open.
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder->AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      static_cast<int>(absl::ToInt64Milliseconds(c.min_client_ping_interval)));
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // The synchronous server runs each call on a thread that polls for work. A
  // worker coming back from a call stays a poller only while fewer than
  // MAX_POLLERS poll (default 2) and otherwise exits, while a poller taking a
  // call starts a new thread when fewer than MIN_POLLERS are left: with many
  // calls waiting on the group commit at once, the default made one thread
  // start and exit per call (half the pipeline's CPU at 64 creates in flight;
  // DECISIONS.md D19). Threads that are idle now stay as pollers instead.
  builder->SetSyncServerOption(
      grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
      std::min(kMaxIdleServerThreads, c.max_threads));
  // Bounded threads and streams (server.h).
  grpc::ResourceQuota quota("salesops-server");
  quota.SetMaxThreads(c.max_threads);
  builder->SetResourceQuota(quota);
  builder->AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                              c.max_streams_per_connection);
}

}  // namespace

ServerConfig ServerConfig::FromFlags() {
  ServerConfig c;
  c.listen.clear();
  for (absl::string_view a : absl::StrSplit(absl::GetFlag(FLAGS_listen), ',',
                                            absl::SkipWhitespace())) {
    c.listen.push_back(std::string(absl::StripAsciiWhitespace(a)));
  }
  c.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  c.http_listen = absl::GetFlag(FLAGS_http_listen);
  c.http_threads = absl::GetFlag(FLAGS_http_threads);
  c.health_listen = absl::GetFlag(FLAGS_health_listen);
  c.auth = absl::GetFlag(FLAGS_auth);
  c.tokens_file = absl::GetFlag(FLAGS_tokens_file);
  c.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  c.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  c.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  c.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  c.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  c.max_threads = absl::GetFlag(FLAGS_max_threads);
  c.max_streams_per_connection =
      absl::GetFlag(FLAGS_max_streams_per_connection);
  return c;
}

bool IsLoopbackAddress(std::string_view host_port) {
  absl::StatusOr<HostPort> hp =
      ParseHostPort(absl::string_view(host_port.data(), host_port.size()));
  if (!hp.ok()) {
    return false;
  }
  if (absl::EqualsIgnoreCase(hp->host, "localhost")) {
    return true;
  }
  in_addr v4;
  if (inet_pton(AF_INET, hp->host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, hp->host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) {
      return true;
    }
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerConfig config,
                                                       Metrics* metrics) {
  std::unique_ptr<Server> s(new Server());
  if (config.listen.empty()) {
    return absl::InvalidArgumentError("--listen names no address");
  }
  for (const std::string& address : config.listen) {
    if (absl::StatusOr<HostPort> hp = ParseHostPort(address); !hp.ok()) {
      return hp.status();
    }
  }
  if (!config.http_listen.empty()) {
    if (absl::StatusOr<HostPort> hp = ParseHostPort(config.http_listen);
        !hp.ok()) {
      return hp.status();
    }
  }
  if (!config.health_listen.empty()) {
    if (absl::StatusOr<HostPort> hp = ParseHostPort(config.health_listen);
        !hp.ok()) {
      return hp.status();
    }
  }
  if (config.http_threads < 2 || config.http_threads > 1024) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--http_threads=", config.http_threads, " must be 2 to 1024"));
  }
  if (config.max_message_bytes <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_message_bytes=", config.max_message_bytes, " must be positive"));
  }
  if (config.drain_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--drain_timeout must not be negative");
  }
  if (config.max_threads < kMinServerThreads) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_threads=", config.max_threads, " must be at least ",
                     kMinServerThreads));
  }
  if (config.max_streams_per_connection < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_streams_per_connection=", config.max_streams_per_connection,
        " must be positive"));
  }

  if (config.authenticator != nullptr) {
    s->auth_ = config.authenticator;
  } else if (config.auth == "none") {
    std::vector<std::string> addresses = config.listen;
    if (!config.http_listen.empty()) {
      addresses.push_back(config.http_listen);
    }
    for (const std::string& address : addresses) {
      if (!IsLoopbackAddress(address)) {
        return absl::FailedPreconditionError(
            absl::StrCat("--auth=none is refused: listen address ", address,
                         " is not loopback (127.0.0.0/8, ::1, localhost); use "
                         "--auth=tokens"));
      }
    }
    s->auth_ = Authenticator::None();
  } else if (config.auth == "tokens") {
    if (config.tokens_file.empty()) {
      return absl::FailedPreconditionError(
          "--auth=tokens needs --tokens_file (or --auth=none on loopback)");
    }
    absl::StatusOr<std::unique_ptr<Authenticator>> auth =
        Authenticator::FromTokensFile(config.tokens_file);
    if (!auth.ok()) {
      return auth.status();
    }
    s->auth_ = std::move(*auth);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--auth=", config.auth, " is not one of \"tokens\", \"none\""));
  }

  const bool has_cert = !config.tls_cert_file.empty();
  const bool has_key = !config.tls_key_file.empty();
  if (has_cert != has_key) {
    return absl::InvalidArgumentError(
        "--tls_cert_file and --tls_key_file go together: set both or neither");
  }
  if (!config.tls_client_ca_file.empty() && !has_cert) {
    return absl::InvalidArgumentError(
        "--tls_client_ca_file (mTLS) needs --tls_cert_file and "
        "--tls_key_file");
  }
  if (has_cert) {
    absl::StatusOr<std::string> cert =
        ReadFlagFile("tls_cert_file", config.tls_cert_file);
    if (!cert.ok()) {
      return cert.status();
    }
    absl::StatusOr<std::string> key =
        ReadFlagFile("tls_key_file", config.tls_key_file);
    if (!key.ok()) {
      return key.status();
    }
    if (absl::Status st = CheckKeyPair(config, *cert, *key); !st.ok()) {
      return st;
    }
    s->server_cert_pem_ = std::move(*cert);
    s->server_key_pem_ = std::move(*key);
    if (!config.tls_client_ca_file.empty()) {
      absl::StatusOr<std::string> ca =
          ReadFlagFile("tls_client_ca_file", config.tls_client_ca_file);
      if (!ca.ok()) {
        return ca.status();
      }
      if (absl::Status st = CheckCaBundle(config, *ca); !st.ok()) {
        return st;
      }
      s->client_ca_pem_ = std::move(*ca);
    }
  }

  if (metrics == nullptr) {
    absl::StatusOr<std::unique_ptr<Metrics>> own = Metrics::Create("");
    if (!own.ok()) {
      return own.status();
    }
    s->own_metrics_ = std::move(*own);
    metrics = s->own_metrics_.get();
  }
  s->metrics_ = metrics;
  s->config_ = std::move(config);
  return s;
}

Server::~Server() { Shutdown(); }

void Server::AddService(grpc::Service* service,
                        const std::string& health_name) {
  services_.emplace_back(service, health_name);
}

std::vector<std::string> Server::RegisterServices(
    grpc::ServerBuilder* builder) {
  // Every method served gets its own metrics series; the names come from the
  // generated descriptors.
  std::vector<std::string> methods = {"/grpc.health.v1.Health/Check",
                                      "/grpc.health.v1.Health/Watch"};
  for (const std::string& m : ReflectionService::MethodNames()) {
    methods.push_back(m);
  }
  // Our own health service (health.h); never gRPC's built-in one, even if
  // something in the process enabled it.
  builder->SetOption(
      std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
  health_ = std::make_unique<HealthService>();
  builder->RegisterService(health_.get());
  // Our own reflection (reflection.h), listing what is registered here.
  std::vector<std::string> listed = {"grpc.health.v1.Health"};
  for (const std::string& name : ReflectionService::ServiceNames()) {
    listed.push_back(name);
  }
  for (const auto& [service, name] : services_) {
    listed.push_back(name);
  }
  std::sort(listed.begin(), listed.end());
  reflection_ = std::make_unique<ReflectionService>(std::move(listed));
  builder->RegisterService(reflection_->v1alpha());
  builder->RegisterService(reflection_->v1());
  for (const auto& [service, name] : services_) {
    builder->RegisterService(service);
    const google::protobuf::ServiceDescriptor* descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            name);
    if (descriptor == nullptr) {
      log::Warn(
          "service name not in the generated descriptor pool; its calls count "
          "as grpc_service=\"unknown\"",
          {{"service", name}});
      continue;
    }
    for (int m = 0; m < descriptor->method_count(); ++m) {
      methods.push_back(
          absl::StrCat("/", name, "/", descriptor->method(m)->name()));
    }
  }
  return methods;
}

absl::Status Server::Start() {
  std::lock_guard<std::mutex> lock(state_mu_);
  if (started_ || shut_down_) {
    return absl::FailedPreconditionError("Server::Start called twice");
  }
  std::shared_ptr<grpc::ServerCredentials> creds;
  const bool tls = !server_cert_pem_.empty();
  if (tls) {
    grpc::SslServerCredentialsOptions options(
        client_ca_pem_.empty()
            ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
            : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    options.pem_root_certs = client_ca_pem_;
    options.pem_key_cert_pairs.push_back({server_key_pem_, server_cert_pem_});
    creds = grpc::SslServerCredentials(options);
  } else {
    creds = grpc::InsecureServerCredentials();
  }

  grpc::ServerBuilder builder;
  ports_.assign(config_.listen.size(), 0);
  for (size_t i = 0; i < config_.listen.size(); ++i) {
    builder.AddListeningPort(config_.listen[i], creds, &ports_[i]);
  }
  ApplyTransportOptions(config_, &builder);

  const std::vector<std::string> methods = RegisterServices(&builder);
  auto interceptor = std::make_unique<MetricsInterceptorFactory>(
      metrics_->registry(), methods);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      creators;
  creators.push_back(std::move(interceptor));
  builder.experimental().SetInterceptorCreators(std::move(creators));

  server_ = builder.BuildAndStart();
  if (server_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve gRPC on --listen=", absl::StrJoin(config_.listen, ","),
        " (address in use or not local?)"));
  }
  for (size_t i = 0; i < ports_.size(); ++i) {
    if (ports_[i] == 0) {
      server_->Shutdown(std::chrono::system_clock::now());
      server_->Wait();
      server_.reset();
      return absl::UnavailableError(
          absl::StrCat("cannot serve gRPC on ", config_.listen[i],
                       " (address in use or not local?)"));
    }
  }
  if (absl::Status st = StartHealthListener(); !st.ok()) {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    server_.reset();
    return st;
  }
  health_->SetServingStatus("", true);
  for (const auto& [service, name] : services_) {
    health_->SetServingStatus(name, true);
  }
  started_ = true;
  for (size_t i = 0; i < ports_.size(); ++i) {
    log::Info("serving", {{"address", config_.listen[i]},
                          {"port", ports_[i]},
                          {"tls", tls},
                          {"mtls", !client_ca_pem_.empty()},
                          {"auth", auth_->disabled() ? "none" : "tokens"}});
  }
  return absl::OkStatus();
}

absl::Status Server::StartHealthListener() {
  if (config_.health_listen.empty()) {
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<HealthListener>> listener =
      HealthListener::Start(config_.health_listen, health_.get());
  if (!listener.ok()) {
    return listener.status();
  }
  health_listener_ = std::move(*listener);
  log::Info(
      "serving health only, plaintext",
      {{"address", config_.health_listen}, {"port", health_listener_->port()}});
  return absl::OkStatus();
}

int Server::port(size_t i) const { return i < ports_.size() ? ports_[i] : 0; }

int Server::health_port() const {
  return health_listener_ == nullptr ? 0 : health_listener_->port();
}

std::shared_ptr<grpc::Channel> Server::InProcessChannel() const {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(config_.max_message_bytes);
  args.SetMaxSendMessageSize(config_.max_message_bytes);
  return server_ == nullptr ? nullptr : server_->InProcessChannel(args);
}

std::string Server::target(size_t i) const {
  if (i >= config_.listen.size()) {
    return "";
  }
  absl::StatusOr<HostPort> hp = ParseHostPort(config_.listen[i]);
  if (!hp.ok()) {
    return "";
  }
  const bool v6 = hp->host.find(':') != std::string::npos;
  return absl::StrCat(v6 ? "[" : "", hp->host, v6 ? "]" : "", ":", port(i));
}

void Server::SetServingStatus(const std::string& health_name, bool serving) {
  if (health_ != nullptr) {
    health_->SetServingStatus(health_name, serving);
  }
}

void Server::OnShutdown(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(hooks_mu_);
  hooks_.push_back(std::move(hook));
}

void Server::Shutdown() {
  std::lock_guard<std::mutex> lock(state_mu_);
  if (shut_down_) {
    return;
  }
  shut_down_ = true;
  if (health_ != nullptr) {
    // NOT_SERVING everywhere; health watchers get it and their streams end.
    health_->Shutdown();
  }
  // Waiting handlers give up with UNAVAILABLE; reflection streams end so.
  shutdown_signal_.Notify();
  if (reflection_ != nullptr) {
    reflection_->Shutdown();
  }
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard<std::mutex> hooks_lock(hooks_mu_);
    hooks.swap(hooks_);
  }
  // Without a successful Start nothing is running that a hook could stop, and
  // what the hooks touch may already be gone (a main returning early).
  if (started_) {
    for (auto& hook : hooks) {
      hook();
    }
  }
  if (server_ != nullptr) {
    log::Info("draining", {{"drain_timeout_ms",
                            absl::ToInt64Milliseconds(config_.drain_timeout)}});
    const auto deadline = std::chrono::system_clock::now() +
                          std::chrono::milliseconds(
                              absl::ToInt64Milliseconds(config_.drain_timeout));
    // Stops listening at once; cancels the calls still running at the deadline.
    server_->Shutdown(deadline);
    server_->Wait();
    log::Info("server stopped");
  }
  // Probes saw NOT_SERVING through the drain; now nothing is left to report.
  if (health_listener_ != nullptr) {
    health_listener_->Shutdown();
  }
}

int Server::RunUntilSignal() {
  sigset_t set = TerminationSignals();
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &set, &old);
  if (sigismember(&old, SIGTERM) != 1 || sigismember(&old, SIGINT) != 1) {
    log::Warn(
        "SIGTERM/SIGINT were not blocked: call BlockTerminationSignals() "
        "first in main, or another thread may die of the signal");
  }
  int sig = 0;
  if (sigwait(&set, &sig) != 0) {
    log::Error("sigwait failed; shutting down");
  }
  log::Info("signal received, shutting down", {{"signal", SignalName(sig)}});
  // A second signal means "now": don't wait for the drain.
  std::thread([set] {
    int again = 0;
    if (sigwait(&set, &again) == 0) {
      log::Warn("second signal, exiting without draining",
                {{"signal", SignalName(again)}});
      _exit(128 + again);
    }
  }).detach();
  Shutdown();
  return 0;
}

}  // namespace salesops
