#include "console/server/console.h"

#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/caller.pb.h"
#include "salesops/v1/credit.pb.h"
#include "salesops/v1/forecast.pb.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops::console {
namespace {

// A whole file; FAILED_PRECONDITION naming `flag` when it cannot be read.
absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     std::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  if (!in.is_open() || !(text << in.rdbuf())) {
    return absl::FailedPreconditionError(
        absl::StrCat(std::string(flag), "=", path, ": cannot be read"));
  }
  return text.str();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(
    const ConsoleConfig& c) {
  if (c.upstream_ca_file.empty()) {
    if (!c.upstream_cert_file.empty() || !c.upstream_key_file.empty()) {
      return absl::InvalidArgumentError(
          "--upstream_tls_cert_file/--upstream_tls_key_file: need "
          "--upstream_tls_ca_file");
    }
    return grpc::InsecureChannelCredentials();
  }
  if (c.upstream_cert_file.empty() != c.upstream_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--upstream_tls_cert_file and --upstream_tls_key_file: both or "
        "neither");
  }
  grpc::SslCredentialsOptions tls;
  absl::StatusOr<std::string> ca =
      ReadFile(c.upstream_ca_file, "--upstream_tls_ca_file");
  if (!ca.ok()) return ca.status();
  tls.pem_root_certs = std::move(*ca);
  if (!c.upstream_cert_file.empty()) {
    absl::StatusOr<std::string> cert =
        ReadFile(c.upstream_cert_file, "--upstream_tls_cert_file");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key =
        ReadFile(c.upstream_key_file, "--upstream_tls_key_file");
    if (!key.ok()) return key.status();
    tls.pem_cert_chain = std::move(*cert);
    tls.pem_private_key = std::move(*key);
  }
  return grpc::SslCredentials(tls);
}

// The routed services' methods, which the gateway looks up in the generated
// pool. Naming a message of each file keeps its descriptors in the binary (a
// static library's object nothing refers to is not linked).
absl::Status CheckServicesLinked() {
  const google::protobuf::Descriptor* const linked[] = {
      v1::Account::descriptor(), v1::Caller::descriptor(),
      v1::Opportunity::descriptor(), v1::Forecast::descriptor(),
      v1::CreditProfile::descriptor()};
  for (const char* service :
       {"salesops.v1.AccountsService", "salesops.v1.CallerService",
        "salesops.v1.PipelineService", "salesops.v1.ForecastService",
        "salesops.v1.CreditService"}) {
    if (google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            service) == nullptr) {
      return absl::InternalError(
          absl::StrCat(service, " is not linked into salesops-console"));
    }
  }
  return linked[0] != nullptr ? absl::OkStatus()
                              : absl::InternalError("no descriptors");
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
  if (service == "salesops.v1.AccountsService" ||
      service == "salesops.v1.CallerService") {
    return "accounts";
  }
  if (service == "salesops.v1.PipelineService") return "pipeline";
  if (service == "salesops.v1.ForecastService") return "forecast";
  if (service == "salesops.v1.CreditService") return "credit";
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
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds =
      Credentials(config);
  if (!creds.ok()) return creds.status();
  std::unique_ptr<Console> console(new Console());
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(static_cast<int>(16 << 20));
  for (size_t i = 0; i < kUpstreams.size(); ++i) {
    console->channels_[i] =
        grpc::CreateCustomChannel(config.upstreams[i], *creds, args);
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
  auto channels = console->channels_;
  ConnectRouter router =
      [channels](const std::string& service) -> std::shared_ptr<grpc::Channel> {
    const std::string_view upstream = UpstreamOf(service);
    for (size_t i = 0; i < kUpstreams.size(); ++i) {
      if (kUpstreams[i] == upstream) return channels[i];
    }
    return nullptr;
  };
  absl::StatusOr<std::unique_ptr<ConnectGateway>> gateway =
      ConnectGateway::Start(std::move(http), std::move(router));
  if (!gateway.ok()) return gateway.status();
  console->gateway_ = std::move(*gateway);
  return console;
}

}  // namespace salesops::console
