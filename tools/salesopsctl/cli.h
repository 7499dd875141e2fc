#pragma once

// salesopsctl's frame: arguments, connections to the four services, output
// formats and the command registry. A command is `salesopsctl <group> <verb>
// [--flag=value ...]`, e.g. `salesopsctl opportunities create --account=...`.
//
// Global flags (each also an environment variable):
//   --server=HOST        SALESOPS_SERVER    host of all four services
//                                           (default 127.0.0.1, ports
//                                           7101..7104 as scripts/run.sh)
//   --accounts=HOST:PORT SALESOPS_ACCOUNTS  one service's address (wins over
//   --pipeline=...       SALESOPS_PIPELINE  --server); likewise forecast,
//   --forecast=...       SALESOPS_FORECAST  credit
//   --credit=...         SALESOPS_CREDIT
//   --token=T            SALESOPS_TOKEN     bearer token ("" = none)
//   --output=table|json|csv                 (default table)
//   --timeout=SECONDS                       deadline of each call (default 30)
//   --tls_ca=PEM         SALESOPS_TLS_CA    TLS to every service, verified
//                                           against this CA bundle
//   --tls_cert=PEM       SALESOPS_TLS_CERT  with --tls_key: mutual TLS, this
//   --tls_key=PEM        SALESOPS_TLS_KEY   client certificate presented
//   --version                               version, git commit, build type
//   --help                                  every command and flag
//
// Errors: a failed call prints "error: <CODE>: <message>" on stderr. Exit
// codes (ExitCodeOf): 0 ok; 2 usage (bad flags or arguments); 1 a permanent
// error; 3 a retryable one (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED,
// RESOURCE_EXHAUSTED: the same command may succeed later); 4 an import that
// ran but rejected rows.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/common.pb.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/forecast.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"

namespace salesops::ctl {

// `--name=value` and bare `--name` (value "true") flags, and positional
// words.
class Args {
 public:
  // argv[from..argc). INVALID_ARGUMENT for "--" alone or "--=x".
  [[nodiscard]] static absl::StatusOr<Args> Parse(int argc,
                                                  const char* const* argv,
                                                  int from = 1);
  static Args FromMap(std::map<std::string, std::string> flags,
                      std::vector<std::string> positional = {});

  bool Has(const std::string& name) const;
  // The value, or `fallback` when absent.
  std::string Get(const std::string& name,
                  const std::string& fallback = "") const;
  // INVALID_ARGUMENT "--<name>: required" when absent or empty.
  [[nodiscard]] absl::StatusOr<std::string> Required(
      const std::string& name) const;
  // Whole numbers, money in major units of the currency ("1234.50" → 123450
  // for 2 decimals), dates (YYYY-MM-DD) and booleans; INVALID_ARGUMENT naming
  // the flag. Absent → fallback (for Money/Date: nullopt).
  [[nodiscard]] absl::StatusOr<int64_t> Int(const std::string& name,
                                            int64_t fallback) const;
  [[nodiscard]] absl::StatusOr<std::optional<int64_t>> Money(
      const std::string& name, int exponent) const;
  [[nodiscard]] absl::StatusOr<std::optional<absl::CivilDay>> Date(
      const std::string& name) const;
  [[nodiscard]] absl::StatusOr<bool> Bool(const std::string& name,
                                          bool fallback) const;
  // Repeated values: "--owner=a,b" or the flag given twice.
  std::vector<std::string> List(const std::string& name) const;

  const std::vector<std::string>& positional() const { return positional_; }
  // INVALID_ARGUMENT "--<name>: unknown flag ..." for a flag that is neither
  // global nor in `allowed` (a typo must not be ignored by a write).
  [[nodiscard]] absl::Status CheckKnown(
      const std::vector<std::string>& allowed) const;

 private:
  std::multimap<std::string, std::string> flags_;
  std::vector<std::string> positional_;
};

enum class Format { kTable, kJson, kCsv };

// Channels and stubs to the four services, created from the global flags.
class Connections {
 public:
  // Reads and marks the global flags of `args`, with environment fallbacks.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Connections>> FromArgs(
      const Args& args);

  v1::AccountsService::Stub& accounts() { return *accounts_; }
  v1::PipelineService::Stub& pipeline() { return *pipeline_; }
  v1::ForecastService::Stub& forecast() { return *forecast_; }
  v1::CreditService::Stub& credit() { return *credit_; }
  // Address of each service ("accounts" → "127.0.0.1:7101").
  const std::map<std::string, std::string>& addresses() const {
    return addresses_;
  }
  std::shared_ptr<grpc::Channel> channel(const std::string& service) const;

  // A context with the deadline and the bearer token.
  std::unique_ptr<grpc::ClientContext> Context() const;
  const std::string& token() const { return token_; }

 private:
  std::map<std::string, std::string> addresses_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
  std::unique_ptr<v1::AccountsService::Stub> accounts_;
  std::unique_ptr<v1::PipelineService::Stub> pipeline_;
  std::unique_ptr<v1::ForecastService::Stub> forecast_;
  std::unique_ptr<v1::CreditService::Stub> credit_;
  std::string token_;
  int timeout_seconds_ = 30;
};

// What a command works with.
struct Env {
  Format format = Format::kTable;
  std::string currency = "EUR";  // --currency (amount flags and output)
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  Connections* conn = nullptr;
  // Set by an import that rejected rows: the command succeeds with exit 4.
  bool rows_rejected = false;
};

// The channel of the service --service names (accounts, pipeline, forecast,
// credit): the commands of the services every port serves (audit, backup,
// webhooks). INVALID_ARGUMENT naming --service otherwise.
[[nodiscard]] absl::StatusOr<std::shared_ptr<grpc::Channel>> ServiceFlagChannel(
    const Args& a, const Env& env);

// The exit codes (documented in --help, README and docs/API.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;     // a permanent error
inline constexpr int kExitUsage = 2;      // bad flags or arguments
inline constexpr int kExitRetryable = 3;  // the same command may succeed later
inline constexpr int kExitRowsRejected = 4;  // an import rejected rows

// The exit code of a command that failed with `s` (not OK): kExitUsage for
// INVALID_ARGUMENT naming a flag ("--..."), kExitRetryable for UNAVAILABLE,
// DEADLINE_EXCEEDED, ABORTED and RESOURCE_EXHAUSTED, kExitFailed otherwise.
int ExitCodeOf(const absl::Status& s);

// A gRPC call's failure as an absl::Status with the same code and message.
[[nodiscard]] absl::Status Check(const grpc::Status& s);
// After "error: CODE: message": the field violations of the error's
// BadRequest as a list (when there are several), its ErrorInfo reason and
// its RetryInfo delay (common/status/errors.h), one per line.
void PrintDetails(const absl::Status& s, std::ostream& err);

using Handler = std::function<absl::Status(const Args&, Env&)>;

struct Command {
  std::string group;  // "opportunities"
  std::string verb;   // "create"
  std::string usage;  // "--account=ID --owner=NODE --name=TEXT ..."
  std::string help;   // one line
  std::vector<std::string> flags;  // the flags it takes (besides global ones)
  Handler run;
};

class Registry {
 public:
  void Add(Command c);
  const Command* Find(const std::string& group, const std::string& verb) const;
  // Every command, grouped, with its usage and help.
  void PrintHelp(std::ostream& out) const;

 private:
  std::vector<Command> commands_;
};

// Each group's commands (one file each).
void RegisterAccountsCommands(Registry& r);
void RegisterPipelineCommands(Registry& r);
void RegisterForecastCommands(Registry& r);
void RegisterCreditCommands(Registry& r);
void RegisterTransferCommands(Registry& r);  // CSV import/export
void RegisterDemoCommands(Registry& r);
void RegisterAuditCommands(Registry& r);
void RegisterBackupCommands(Registry& r);
void RegisterWebhookCommands(Registry& r);

// Shared between groups (forecast_commands.cc): prints the forecast tree of
// `node_id` for the quarter — the node and its descendants down to `depth`
// levels (0 = the node only), indented, one line per node with closed,
// collected, pipeline_weighted, forecast, quota and coverage — in env's
// format. The demo loader prints it at the end.
[[nodiscard]] absl::Status PrintForecastTree(Env& env,
                                             const std::string& node_id,
                                             int fiscal_year,
                                             int fiscal_quarter, int depth);

// The whole program (main calls it; tests can too): parses, runs the
// command, prints errors; returns the exit code (kExit*).
int Main(int argc, const char* const* argv, std::ostream& out,
         std::ostream& err);

}  // namespace salesops::ctl
