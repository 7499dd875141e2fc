#include "console/server/console.h"

#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <filesystem>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/server/peer.h"
#include "google/protobuf/descriptor.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/caller.pb.h"
#include "salesops/v1/credit.pb.h"
#include "salesops/v1/forecast.pb.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops::console {
namespace {

// The routed services, found through a message of each file: naming the
// message keeps the file's descriptors in the binary (a static library's
// object nothing refers to is not linked), where the gateway looks methods up.
absl::Status CheckServicesLinked() {
  const google::protobuf::ServiceDescriptor* const services[] = {
      v1::Account::descriptor()->file()->FindServiceByName("AccountsService"),
      v1::Caller::descriptor()->file()->FindServiceByName("CallerService"),
      v1::Opportunity::descriptor()->file()->FindServiceByName(
          "PipelineService"),
      v1::Forecast::descriptor()->file()->FindServiceByName("ForecastService"),
      v1::CreditProfile::descriptor()->file()->FindServiceByName(
          "CreditService")};
  for (const google::protobuf::ServiceDescriptor* service : services) {
    if (service == nullptr || UpstreamOf(service->full_name()).empty()) {
      return absl::InternalError(
          "a routed service is not linked into salesops-console");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckConfig(const ConsoleConfig& c) {
  for (size_t i = 0; i < kUpstreams.size(); ++i) {
    if (c.upstreams[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", std::string(kUpstreams[i]),
                       "_addr: required (the service's gRPC HOST:PORT)"));
    }
  }
  if (c.threads < 2 || c.threads > 256) {
    return absl::InvalidArgumentError("--http_threads: must be 2..256");
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(
          std::filesystem::path(c.assets_dir) / "index.html", ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("--assets_dir=", c.assets_dir,
                     ": no index.html there (the build puts the console in "
                     "<build>/console/assets)"));
  }
  return CheckLocale(c.locale);
}

// Static files, /config.json and the headers of every response.
void AddRoutes(const ConsoleConfig& c, httplib::Server& http) {
  http.set_mount_point("/", c.assets_dir,
                       httplib::Headers{{"Cache-Control", "no-cache"}});
  http.set_file_extension_and_mimetype_mapping("svg", "image/svg+xml");
  http.set_file_extension_and_mimetype_mapping(
      "js", "text/javascript; charset=utf-8");
  const std::string config = ConfigJson(c.locale);
  http.Get("/config.json",
           [config](const httplib::Request&, httplib::Response& res) {
             res.set_header("Cache-Control", "no-cache");
             res.set_content(config, "application/json");
           });
  http.set_post_routing_handler(
      [](const httplib::Request&, httplib::Response& res) {
        for (const auto& [name, value] : SecurityHeaders()) {
          res.set_header(name, value);
        }
      });
}

}  // namespace

std::string_view UpstreamOf(std::string_view service) {
  for (const auto& [name, upstream] : kRoutes) {
    if (name == service) return upstream;
  }
  return "";
}

absl::Status CheckLocale(std::string_view locale) {
  bool ok = locale.size() >= 2 && locale.size() <= 35 &&
            absl::ascii_isalpha(static_cast<unsigned char>(locale[0]));
  for (char ch : locale) {
    ok = ok &&
         (absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '-');
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--locale=", std::string(locale),
        ": must be a BCP 47 tag such as en-US or zh-CN (2-35 letters, "
        "digits and '-', starting with a letter)"));
  }
  return absl::OkStatus();
}

std::string ConfigJson(std::string_view locale) {
  // CheckLocale admits no character JSON would have to escape.
  return absl::StrCat("{\"locale\":\"", std::string(locale), "\"}");
}

const std::vector<std::pair<std::string, std::string>>& SecurityHeaders() {
  static const auto* const kHeaders =
      new std::vector<std::pair<std::string, std::string>>{
          {"Content-Security-Policy",
           "default-src 'self'; script-src 'self'; style-src 'self'; "
           "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
           "form-action 'self'; frame-ancestors 'none'"},
          {"X-Content-Type-Options", "nosniff"},
          {"Referrer-Policy", "no-referrer"},
          {"X-Frame-Options", "DENY"},
      };
  return *kHeaders;
}

absl::StatusOr<std::unique_ptr<Console>> Console::Start(
    const ConsoleConfig& config) {
  if (absl::Status s = CheckConfig(config); !s.ok()) return s;
  if (absl::Status s = CheckServicesLinked(); !s.ok()) return s;
  std::unique_ptr<Console> console(new Console());
  // The services' own peer channels (peer.h): keepalive, reconnects within
  // 2 s of a service's restart, UNAVAILABLE retried; no token of their own
  // (each call carries the browser's).
  std::map<std::string_view, std::shared_ptr<grpc::Channel>> by_upstream;
  for (size_t i = 0; i < kUpstreams.size(); ++i) {
    PeerConfig peer;
    peer.target = config.upstreams[i];
    peer.tls_ca_file = config.peer_tls_ca_file;
    peer.tls_cert_file = config.peer_tls_cert_file;
    peer.tls_key_file = config.peer_tls_key_file;
    absl::StatusOr<std::unique_ptr<PeerChannel>> channel =
        PeerChannel::Create(std::move(peer));
    if (!channel.ok()) return channel.status();
    by_upstream[kUpstreams[i]] = (*channel)->channel();
    console->peers_[i] = std::move(*channel);
  }
  ConnectGatewayConfig http;
  http.listen = config.listen;
  http.listen_flag = "--listen";
  http.tls_cert_file = config.tls_cert_file;
  http.tls_key_file = config.tls_key_file;
  http.threads = config.threads;
  http.max_streams = 0;  // no stream is routed
  http.max_body_bytes = config.max_body_bytes;
  http.extra_routes = [config](httplib::Server& server) {
    AddRoutes(config, server);
  };
  // Service name → channel, made once: the router runs on every call.
  std::map<std::string, std::shared_ptr<grpc::Channel>, std::less<>> routes;
  for (const auto& [service, upstream] : kRoutes) {
    routes.emplace(service, by_upstream.at(upstream));
  }
  ConnectRouter router =
      [routes = std::move(routes)](
          const std::string& service) -> std::shared_ptr<grpc::Channel> {
    auto it = routes.find(service);
    return it == routes.end() ? nullptr : it->second;
  };
  absl::StatusOr<std::unique_ptr<ConnectGateway>> gateway =
      ConnectGateway::Start(std::move(http), std::move(router));
  if (!gateway.ok()) return gateway.status();
  console->gateway_ = std::move(*gateway);
  return console;
}

}  // namespace salesops::console
