#pragma once

// salesops-console (DECISIONS D64): the web console's own small server. One
// HTTP origin that serves
//   - the built front end (console/web, built into --assets_dir at build
//     time) as static files: GET /, GET /<file>;
//   - GET /config.json: {"locale": "<--locale>"}, how the front end formats
//     numbers and dates (the currency comes with each amount);
//   - every RPC of the four business services and CallerService as Connect
//     calls: POST /salesops.v1.<Service>/<Method> goes to that service's gRPC
//     port (AccountsService and CallerService to accounts, PipelineService to
//     pipeline, ForecastService to forecast, CreditService to credit), through
//     the services' own Connect gateway code (common/http, D36) with the
//     caller's Authorization header. The console holds no token and no data:
//     each call is the user's, with the user's role and scope. FeedService,
//     AuditService, BackupService and WebhookService are not served (404
//     unimplemented): the console has no use for them.
// Every response carries a Content-Security-Policy that allows only this
// origin (no inline script, no other host), so the page cannot load or send
// anything elsewhere.

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/http/connect_gateway.h"
#include "common/server/peer.h"

namespace salesops::console {

// The services the console calls, in this order.
inline constexpr std::array<std::string_view, 4> kUpstreams = {
    "accounts", "pipeline", "forecast", "credit"};

// The gRPC services the console serves, each with the upstream serving it.
inline constexpr std::array<std::pair<std::string_view, std::string_view>, 5>
    kRoutes = {{{"salesops.v1.AccountsService", "accounts"},
                {"salesops.v1.CallerService", "accounts"},
                {"salesops.v1.PipelineService", "pipeline"},
                {"salesops.v1.ForecastService", "forecast"},
                {"salesops.v1.CreditService", "credit"}}};

// The upstream ("accounts", ...) serving a fully qualified gRPC service name,
// or "" when the console does not serve it. Pure.
std::string_view UpstreamOf(std::string_view service);

// OK when `locale` is a BCP 47 tag of letters, digits and '-' (2–35
// characters, starting with a letter); otherwise INVALID_ARGUMENT naming
// --locale. The browser's Intl resolves it; an unknown one falls back there.
absl::Status CheckLocale(std::string_view locale);

// The body of GET /config.json.
std::string ConfigJson(std::string_view locale);

// The headers every response carries (CSP, nosniff, no referrer, no framing).
const std::vector<std::pair<std::string, std::string>>& SecurityHeaders();

struct ConsoleConfig {
  std::string listen;  // HOST:PORT; port 0 picks one
  // gRPC HOST:PORT of each upstream, in kUpstreams order; all required.
  std::array<std::string, 4> upstreams;
  // PEM files: TLS towards the services (CA; client cert and key for mTLS),
  // as the services' own --peer_tls_* flags.
  std::string peer_tls_ca_file;
  std::string peer_tls_cert_file;
  std::string peer_tls_key_file;
  // PEM files: HTTPS for the browser.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string assets_dir;  // must hold index.html
  std::string locale = "en-US";
  int threads = 64;
  size_t max_body_bytes = size_t{4} << 20;
};

class Console {
 public:
  // Checks the config (FAILED_PRECONDITION / INVALID_ARGUMENT naming the
  // flag), makes one channel per upstream (connecting lazily) and serves.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Console>> Start(
      const ConsoleConfig& config);
  int port() const { return gateway_->port(); }
  void Shutdown() { gateway_->Shutdown(); }

 private:
  Console() = default;
  std::array<std::unique_ptr<PeerChannel>, 4> peers_;
  std::unique_ptr<ConnectGateway> gateway_;
};

}  // namespace salesops::console
