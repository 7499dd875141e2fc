#include "common/server/flags.h"

#include <cctype>
#include <cstdlib>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/version/command_line.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address(es), HOST:PORT, comma-separated; port 0 picks a "
          "free port");
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT serving Prometheus /metrics; empty = off");
ABSL_FLAG(std::string, http_listen, "",
          "HOST:PORT serving every RPC as HTTP/JSON (Connect protocol); empty "
          "= off");
ABSL_FLAG(int32_t, http_threads, 16,
          "HTTP worker threads; each open connection or stream holds one");
ABSL_FLAG(std::string, health_listen, "",
          "HOST:PORT of a plaintext gRPC listener serving only "
          "grpc.health.v1.Health (no auth; for probes that cannot speak TLS); "
          "empty = off");
ABSL_FLAG(std::string, data_dir, "", "directory of the service's RocksDB");
ABSL_FLAG(std::string, auth, "tokens",
          "tokens: bearer tokens from --tokens_file; none: no authentication "
          "(loopback listen addresses only)");
ABSL_FLAG(
    std::string, tokens_file, "",
    "file of '<sha256 hex of token> <name> <ROLE> [<org node id>]' lines");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM server certificate chain; with --tls_key_file enables TLS");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle; when set, clients must present a certificate it "
          "signed (mTLS)");
ABSL_FLAG(std::string, time_zone, "UTC",
          "IANA time zone of the fiscal calendar");
ABSL_FLAG(
    std::string, currency, "EUR",
    "ISO 4217 code of the instance's reporting currency: figures that add "
    "amounts up answer in it, and exchange rates convert to it");
ABSL_FLAG(bool, sync_writes, true,
          "fsync the write-ahead log before acknowledging a write");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(10),
          "on SIGTERM/SIGINT, how long in-flight calls may run before they are "
          "cancelled");
ABSL_FLAG(int32_t, max_message_bytes, 16 * 1024 * 1024,
          "maximum gRPC message size in bytes, sent and received");
ABSL_FLAG(std::string, log_level, "info", "debug | info | warn | error");
ABSL_FLAG(bool, access_log, false,
          "log one \"access\" line per call (principal, method, code, "
          "latency, trace id) and per applied feed event");
ABSL_FLAG(absl::Duration, feed_retention, absl::Hours(168),
          "how long change-feed events are kept before Watch answers "
          "OUT_OF_RANGE");
ABSL_FLAG(std::string, peer_token_file, "",
          "file holding the bearer token this service presents to its peers "
          "(a SERVICE principal in their tokens files)");
ABSL_FLAG(std::string, peer_tls_ca_file, "",
          "PEM CA bundle verifying peers' certificates; empty = plaintext to "
          "peers");
ABSL_FLAG(std::string, peer_tls_cert_file, "",
          "PEM client certificate presented to peers (mTLS)");
ABSL_FLAG(std::string, peer_tls_key_file, "",
          "PEM private key of --peer_tls_cert_file");
ABSL_FLAG(absl::Duration, peer_timeout, absl::Seconds(5),
          "deadline of a call to a peer service");
ABSL_FLAG(bool, init, false,
          "create the store when --data_dir is missing or empty; without it "
          "the service refuses to start on one (an unmounted volume)");
ABSL_FLAG(int64_t, max_entity_bytes, int64_t{1} << 20,
          "largest serialized entity the store accepts (bytes); at most "
          "--max_message_bytes / 4, so a feed event and a List page fit");
ABSL_FLAG(int64_t, min_free_disk_bytes, int64_t{128} << 20,
          "writes are refused (RESOURCE_EXHAUSTED) while the data dir's file "
          "system has less free space than this; 0 = no check");
ABSL_FLAG(std::string, backup_dir, "",
          "directory of this service's backups (BackupService.CreateBackup); "
          "empty = backups off");
ABSL_FLAG(int32_t, backup_keep, 7, "backups kept in --backup_dir (>= 1)");
ABSL_FLAG(std::string, restore_from_backup_dir, "",
          "restore the newest backup (or --restore_backup_id) of this backup "
          "dir into the empty --data_dir before starting; the restored store "
          "gets a new epoch");
ABSL_FLAG(uint32_t, restore_backup_id, 0,
          "with --restore_from_backup_dir: the backup to restore; 0 = newest");
ABSL_FLAG(int32_t, max_threads, 256,
          "most threads serving synchronous gRPC calls; beyond, new calls get "
          "RESOURCE_EXHAUSTED");
ABSL_FLAG(int32_t, max_streams_per_connection, 100,
          "most concurrent calls (HTTP/2 streams) on one client connection");
ABSL_FLAG(bool, webhook_allow_http_loopback, false,
          "accept http:// webhook targets on loopback hosts (else https only)");
ABSL_FLAG(std::string, webhook_ca_file, "",
          "PEM CA bundle for webhook receivers' certificates; \"\" = system");
ABSL_FLAG(int32_t, webhook_retry_initial_ms, 500,
          "first webhook retry delay cap (exponential, full jitter)");
ABSL_FLAG(int32_t, webhook_retry_max_ms, 60000, "largest webhook retry delay");
ABSL_FLAG(absl::Duration, webhook_auto_pause_after, absl::Hours(24),
          "continuous webhook failure after which it is AUTO_PAUSED");

namespace salesops {
namespace {

// Abseil's own flags (--flagfile, --fromenv, --help, ...) are not
// configuration.
bool IsAbseilFlag(const absl::CommandLineFlag& flag) {
  return absl::StrContains(flag.Filename(), "absl/flags/");
}

}  // namespace

std::string FlagEnvironmentVariable(std::string_view flag_name) {
  std::string name = "SALESOPS_";
  for (char c : flag_name) {
    name.push_back(
        static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return name;
}

absl::Status ApplyEnvironment() {
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (IsAbseilFlag(*flag)) {
      continue;
    }
    const std::string variable =
        FlagEnvironmentVariable(std::string_view(name.data(), name.size()));
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr) {
      continue;
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", variable, "=\"", value,
                       "\" is not a valid value for --", name, ": ", error));
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyLogLevel() {
  const std::string level = absl::GetFlag(FLAGS_log_level);
  if (level == "debug") {
    log::SetMinLevel(log::Level::kDebug);
  } else if (level == "info") {
    log::SetMinLevel(log::Level::kInfo);
  } else if (level == "warn") {
    log::SetMinLevel(log::Level::kWarn);
  } else if (level == "error") {
    log::SetMinLevel(log::Level::kError);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--log_level=", level, " is not one of debug, info, warn, error"));
  }
  return absl::OkStatus();
}

std::vector<char*> ParseFlags(int argc, char** argv, const char* usage) {
  if (absl::Status s = ApplyEnvironment(); !s.ok()) {
    log::Error("bad configuration", {{"error", std::string(s.message())}});
    std::exit(2);
  }
  // --help and --version exit 0 here (common/version/command_line.h).
  std::vector<char*> positional = ParseCommandLineWithUsage(argc, argv, usage);
  if (absl::Status s = ApplyLogLevel(); !s.ok()) {
    log::Error("bad configuration", {{"error", std::string(s.message())}});
    std::exit(2);
  }
  return positional;
}

}  // namespace salesops
