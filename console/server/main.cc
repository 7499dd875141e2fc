// salesops-console: the web console's server (console.h, DECISIONS D64).
// Serves the built front end and forwards the browser's Connect calls to the
// four services' gRPC ports with the user's own bearer token. Stops on SIGTERM
// or SIGINT (in-flight calls end with the listener).

#include <signal.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/version/command_line.h"
#include "console/server/console.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:7180",
          "HOST:PORT the console serves HTTP (HTTPS with --tls_cert_file) on");
ABSL_FLAG(std::string, accounts_addr, "",
          "gRPC HOST:PORT of salesops-accounts");
ABSL_FLAG(std::string, pipeline_addr, "",
          "gRPC HOST:PORT of salesops-pipeline");
ABSL_FLAG(std::string, forecast_addr, "",
          "gRPC HOST:PORT of salesops-forecast");
ABSL_FLAG(std::string, credit_addr, "", "gRPC HOST:PORT of salesops-credit");
ABSL_FLAG(std::string, assets_dir, "",
          "the built front end (index.html, app.js, app.css); default: "
          "'assets' beside this binary");
ABSL_FLAG(std::string, locale, "en-US",
          "BCP 47 locale the console formats numbers and dates in (the "
          "currency comes with each amount)");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain: serve HTTPS (with --tls_key_file)");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
// The same names and meaning as the services' own peer flags
// (common/server/flags.h), which this binary does not link.
ABSL_FLAG(std::string, peer_tls_ca_file, "",
          "PEM CA bundle: call the services over TLS, verifying them with it");
ABSL_FLAG(std::string, peer_tls_cert_file, "",
          "PEM client certificate for services that require mTLS");
ABSL_FLAG(std::string, peer_tls_key_file, "",
          "PEM private key of --peer_tls_cert_file");
ABSL_FLAG(int, http_threads, 64,
          "HTTP worker threads, 2..256: each open browser connection holds "
          "one while it is open (a browser opens up to 6; an idle one is "
          "closed after 5 s)");

namespace {

std::string DefaultAssetsDir() {
  std::error_code ec;
  std::filesystem::path exe =
      std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "assets" : (exe.parent_path() / "assets").string();
}

salesops::console::ConsoleConfig ConfigFromFlags() {
  salesops::console::ConsoleConfig c;
  c.listen = absl::GetFlag(FLAGS_listen);
  c.upstreams = {
      absl::GetFlag(FLAGS_accounts_addr), absl::GetFlag(FLAGS_pipeline_addr),
      absl::GetFlag(FLAGS_forecast_addr), absl::GetFlag(FLAGS_credit_addr)};
  c.assets_dir = absl::GetFlag(FLAGS_assets_dir);
  if (c.assets_dir.empty()) c.assets_dir = DefaultAssetsDir();
  c.locale = absl::GetFlag(FLAGS_locale);
  c.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  c.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  c.peer_tls_ca_file = absl::GetFlag(FLAGS_peer_tls_ca_file);
  c.peer_tls_cert_file = absl::GetFlag(FLAGS_peer_tls_cert_file);
  c.peer_tls_key_file = absl::GetFlag(FLAGS_peer_tls_key_file);
  c.threads = absl::GetFlag(FLAGS_http_threads);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before any thread starts
  salesops::ParseCommandLineWithUsage(
      argc, argv,
      "the SalesOps web console: the front end and a Connect endpoint in "
      "front of the four services' gRPC ports");
  const salesops::console::ConsoleConfig config = ConfigFromFlags();
  auto console = salesops::console::Console::Start(config);
  if (!console.ok()) {
    salesops::log::Error("cannot start",
                         {{"error", console.status().ToString()}});
    return 1;
  }
  salesops::log::Info("serving", {{"listen", config.listen},
                                  {"port", (*console)->port()},
                                  {"assets_dir", config.assets_dir},
                                  {"locale", config.locale}});
  int signal_number = 0;
  sigwait(&stop, &signal_number);
  salesops::log::Info("stopping", {{"signal", signal_number}});
  (*console)->Shutdown();
  return 0;
}
