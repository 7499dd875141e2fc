#pragma once

// The flags every SalesOps service shares (SPEC Appendix A "Common flags",
// ARCHITECTURE.md §5). Each flag can also come from the environment variable
// SALESOPS_<NAME IN UPPER CASE> (e.g. SALESOPS_DATA_DIR for --data_dir); the
// command line wins over the environment. Services define their own peer flags
// (--accounts_addr, ...) with ABSL_FLAG in their main.cc; the environment
// fallback covers those too.
//
// Flag (default): meaning.
//   --listen ("127.0.0.1:50051"): gRPC listen address(es), HOST:PORT,
//       comma-separated; port 0 picks a free port.
//   --metrics_listen (""): HOST:PORT serving Prometheus /metrics; "" = off.
//   --http_listen (""): HOST:PORT serving every RPC as HTTP/JSON through the
//       Connect protocol (docs/API.md "HTTP/JSON"); "" = off. Same TLS files
//       and tokens as --listen.
//   --health_listen (""): HOST:PORT of a plaintext gRPC listener serving only
//       grpc.health.v1.Health (the main server's status, no auth) for probes
//       that cannot speak TLS (kubelet's native gRPC probes); "" = off.
//   --http_threads (16): HTTP worker threads; each open connection or Watch
//       stream holds one (at most half of them serve streams).
//   --data_dir (""): the service's RocksDB directory (services require it).
//   --auth ("tokens"): "tokens" = bearer tokens from --tokens_file; "none" =
//       no authentication, allowed only on loopback listen addresses.
//   --tokens_file (""): see Authenticator::FromTokensFile.
//   --tls_cert_file (""), --tls_key_file (""): PEM server certificate chain
//       and its private key; both enable TLS. Both or neither.
//   --tls_client_ca_file (""): PEM CA bundle; when set, clients must present
//       a certificate signed by it (mTLS).
//   --time_zone ("UTC"): IANA time zone of the fiscal calendar.
//   --currency ("EUR"): ISO 4217 code of the instance's single currency.
//   --sync_writes (true): fsync the WAL before acknowledging a write.
//   --drain_timeout (10s): on SIGTERM/SIGINT, how long in-flight calls may
//       run before they are cancelled.
//   --max_message_bytes (16777216): largest gRPC message, both directions.
//   --log_level ("info"): debug | info | warn | error.
//   --access_log (false): one "access" log line per call served through the
//       handler shell (handler.h: principal, role, method, code, latency_us,
//       peer, trace_id), refused calls included, and one "feed event applied"
//       line per event a feed consumer applies (docs/OPERATIONS.md).
//   --feed_retention (168h): how long change-feed events are kept.
//   --peer_token_file (""): file with the bearer token this service sends to
//       its peers (see peer.h); --peer_tls_ca_file, --peer_tls_cert_file,
//       --peer_tls_key_file (""): TLS/mTLS to peers; --peer_timeout (5s):
//       deadline of a call to a peer.
//   --init (false): create the store when --data_dir is missing or empty;
//       without it such a dir is refused (FAILED_PRECONDITION).
//   --max_entity_bytes (1 MiB): largest serialized entity stored.
//   --min_free_disk_bytes (128 MiB): free-space reserve below which writes
//       are refused with RESOURCE_EXHAUSTED; 0 = no check.
//   --backup_dir (""), --backup_keep (7): where BackupService.CreateBackup
//       writes and how many backups it keeps.
//   --restore_from_backup_dir (""), --restore_backup_id (0 = newest): restore
//       a backup into the empty --data_dir at start (a new epoch).
//   --max_threads (256): most threads the gRPC server runs synchronous calls
//       on (a grpc::ResourceQuota); beyond, new synchronous calls are answered
//       RESOURCE_EXHAUSTED at once (see server.h).
//   --max_streams_per_connection (100): most concurrent calls (HTTP/2
//       streams) one client connection may have open; more wait in the client.
//   Webhooks (docs/API.md "Webhooks"): --webhook_allow_http_loopback (false):
//       accept http:// targets on loopback hosts (else https only);
//       --webhook_ca_file (""): PEM CA bundle receivers' certificates are
//       verified against ("" = the system's store); --webhook_retry_initial_ms
//       (500), --webhook_retry_max_ms (60000): the backoff between attempts
//       (full jitter); --webhook_auto_pause_after (24h): continuous failure
//       after which a subscription is AUTO_PAUSED.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

ABSL_DECLARE_FLAG(std::string, listen);
ABSL_DECLARE_FLAG(std::string, metrics_listen);
ABSL_DECLARE_FLAG(std::string, http_listen);
ABSL_DECLARE_FLAG(int32_t, http_threads);
ABSL_DECLARE_FLAG(std::string, health_listen);
ABSL_DECLARE_FLAG(std::string, data_dir);
ABSL_DECLARE_FLAG(std::string, auth);
ABSL_DECLARE_FLAG(std::string, tokens_file);
ABSL_DECLARE_FLAG(std::string, tls_cert_file);
ABSL_DECLARE_FLAG(std::string, tls_key_file);
ABSL_DECLARE_FLAG(std::string, tls_client_ca_file);
ABSL_DECLARE_FLAG(std::string, time_zone);
ABSL_DECLARE_FLAG(std::string, currency);
ABSL_DECLARE_FLAG(bool, sync_writes);
ABSL_DECLARE_FLAG(absl::Duration, drain_timeout);
ABSL_DECLARE_FLAG(int32_t, max_message_bytes);
ABSL_DECLARE_FLAG(std::string, log_level);
ABSL_DECLARE_FLAG(bool, access_log);
ABSL_DECLARE_FLAG(absl::Duration, feed_retention);
ABSL_DECLARE_FLAG(std::string, peer_token_file);
ABSL_DECLARE_FLAG(std::string, peer_tls_ca_file);
ABSL_DECLARE_FLAG(std::string, peer_tls_cert_file);
ABSL_DECLARE_FLAG(std::string, peer_tls_key_file);
ABSL_DECLARE_FLAG(absl::Duration, peer_timeout);
ABSL_DECLARE_FLAG(bool, init);
ABSL_DECLARE_FLAG(int64_t, max_entity_bytes);
ABSL_DECLARE_FLAG(int64_t, min_free_disk_bytes);
ABSL_DECLARE_FLAG(std::string, backup_dir);
ABSL_DECLARE_FLAG(int32_t, backup_keep);
ABSL_DECLARE_FLAG(std::string, restore_from_backup_dir);
ABSL_DECLARE_FLAG(uint32_t, restore_backup_id);
ABSL_DECLARE_FLAG(int32_t, max_threads);
ABSL_DECLARE_FLAG(int32_t, max_streams_per_connection);
ABSL_DECLARE_FLAG(bool, webhook_allow_http_loopback);
ABSL_DECLARE_FLAG(std::string, webhook_ca_file);
ABSL_DECLARE_FLAG(int32_t, webhook_retry_initial_ms);
ABSL_DECLARE_FLAG(int32_t, webhook_retry_max_ms);
ABSL_DECLARE_FLAG(absl::Duration, webhook_auto_pause_after);

namespace salesops {

// "SALESOPS_" + the flag name in upper case.
std::string FlagEnvironmentVariable(std::string_view flag_name);

// Sets every registered flag (ours, the service's, not Abseil's own --flagfile
// etc.) whose environment variable is set, from that variable's value.
// INVALID_ARGUMENT naming the variable and the flag's complaint when a value
// does not parse; flags set before the bad one stay set.
[[nodiscard]] absl::Status ApplyEnvironment();

// Applies --log_level to the logger. INVALID_ARGUMENT for an unknown level.
[[nodiscard]] absl::Status ApplyLogLevel();

// What every main calls first (after BlockTerminationSignals):
// ApplyEnvironment, then ParseCommandLineWithUsage (common/version/
// command_line.h: the command line wins; --help lists the binary's flags with
// their defaults and --version prints "<binary> <version> (commit <sha>,
// <build type>)", both exit 0; `usage` says in one line what the binary is),
// then ApplyLogLevel. Logs the problem and exits with status 2 on a bad
// environment value or log level (Abseil itself exits 1 on a bad command
// line). Returns the positional arguments (argv[0] first).
std::vector<char*> ParseFlags(int argc, char** argv, const char* usage);

}  // namespace salesops
