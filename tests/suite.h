#pragma once

// A whole SalesOps suite for the hostile end-to-end tests (issue 16): the four
// real binaries on fixed loopback ports with --auth=tokens, each of which can
// be started, stopped (SIGTERM), killed (SIGKILL) and restarted on its port
// with its own data dir and extra flags; a tokens file (mode 0600) holding
// ADMIN, SERVICE (the peers' token), a MANAGER of the team and two REPs; an org
// Global → Region → Team → {Rep A, Rep B} with one account per rep; and what
// the tests compare a follower's copy with its source by (forecast recomputed
// from pipeline's listing, metrics, feed positions, RSS). Every wait has a
// deadline; every call has a 10 s deadline unless said otherwise.
//
// Only for test binaries given all four service binaries (SALESOPS_*_BIN).

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/testing/builders.h"
#include "common/testing/client_context.h"
#include "common/testing/temp_dir.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/audit.grpc.pb.h"
#include "salesops/v1/backup.grpc.pb.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/feed.grpc.pb.h"
#include "salesops/v1/forecast.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "tests/e2e.h"

namespace salesops::e2e {

enum Svc { kAccounts = 0, kPipeline, kForecast, kCredit, kSvcCount };
inline const char* SvcName(Svc s) {
  static const char* const kNames[] = {"accounts", "pipeline", "forecast",
                                       "credit"};
  return kNames[s];
}

// The suite's bearer tokens (each suite has its own tokens file).
inline constexpr char kAdminToken[] = "hostile-admin-token";
inline constexpr char kPeerToken[] = "hostile-peer-token";
inline constexpr char kManagerToken[] = "hostile-manager-token";
inline constexpr char kRepAToken[] = "hostile-rep-a-token";
inline constexpr char kRepBToken[] = "hostile-rep-b-token";
inline constexpr char kModel[] = "buying-cycle-6";

using ::salesops::testing::Eur;
v1::Date ToDate(absl::CivilDay d);
// The last day of the current calendar quarter (UTC), the close date of every
// opportunity the helpers make, and the quarter the forecast helpers read.
absl::CivilDay CloseDate();

// VmRSS of a process in bytes (0 when unreadable).
int64_t RssBytes(int pid);

// Runs `args` to its end (30 s): the exit code (-1 when it did not exit by
// itself; it is then killed) and its log.
std::pair<int, std::string> RunToExit(const std::vector<std::string>& args);

class Suite {
 public:
  // Picks four free loopback ports and a temp dir; starts nothing.
  Suite();
  ~Suite();
  Suite(const Suite&) = delete;
  Suite& operator=(const Suite&) = delete;

  const testing::TempDir& dir() const { return dir_; }
  int port(Svc s) const { return ports_[s]; }
  // Data dir and extra flags of the next Start(s) (default <dir>/<name>, none).
  std::string& data_dir(Svc s) { return data_dirs_[s]; }
  std::vector<std::string>& extra_args(Svc s) { return extra_[s]; }
  std::string backup_dir(Svc s) const;

  // The command line of `s`: peers, tokens, data dir, --backup_dir, then the
  // extra flags; with --init unless `init` is false.
  std::vector<std::string> Args(Svc s, bool init = true) const;
  // Starts (or restarts) `s` on its port (with --init unless `init` is
  // false); false (with a test failure and its log) when it did not come up
  // within 30 s.
  bool Start(Svc s, bool init = true);
  // SIGTERM (or SIGKILL) and wait up to 20 s for the exit.
  bool Stop(Svc s);
  // Stop's waitpid status (nullopt when it did not end or never ran).
  std::optional<int> Terminate(Svc s);
  bool Kill(Svc s);
  bool Running(Svc s);
  int pid(Svc s) const;
  int metrics_port(Svc s) const { return services_[s].metrics_port; }

  // HTTP/JSON (Connect) listeners: a loopback port per service, served with
  // --http_listen. Call before the first Start.
  void EnableHttp();
  int http_port(Svc s) const { return http_ports_[s]; }
  // TLS on every listener (gRPC and HTTP/JSON): a CA and one certificate for
  // 127.0.0.1/localhost made here with the openssl CLI; the services verify
  // each other with the CA, and so do the suite's stubs. Call before the
  // first Start; false (with a test failure) when openssl failed.
  bool EnableTls();
  // The CA's PEM file ("" without TLS).
  std::string ca_file() const { return tls_ ? dir_.Sub("ca.pem") : ""; }

  // Writes the tokens file (0600): ADMIN, SERVICE and, once the org exists,
  // MANAGER of the team and REP A/B, plus `extra` lines (TokenLine).
  void WriteTokens(const std::string& extra = "");

  // Starts accounts, builds the org, rewrites the tokens file with the node
  // ids, restarts accounts and starts pipeline, credit and forecast (in that
  // order, unless `followers` is false), makes the two accounts and credit
  // profiles, and waits until every follower knows the org and accounts.
  // Records a test failure and returns false when anything fails.
  bool Build(bool followers = true);
  // Waits (30 s) until the running followers serve the org and accounts.
  bool WaitFollowersKnowOrg();

  // The suite's --currency (add the flag with extra_args): Build's credit
  // limits are in it.
  std::string currency = "EUR";

  // ---- the world Build made ----
  v1::OrgNode global, region, team, rep_a, rep_b;
  v1::Account acc_a, acc_b;

  // ---- stubs (by port; they survive restarts) ----
  v1::AccountsService::Stub& accounts() { return *accounts_; }
  v1::PipelineService::Stub& pipeline() { return *pipeline_; }
  v1::ForecastService::Stub& forecast() { return *forecast_; }
  v1::CreditService::Stub& credit() { return *credit_; }
  v1::FeedService::Stub& feed(Svc s) { return *feeds_[s]; }
  v1::BackupService::Stub& backup(Svc s) { return *backups_[s]; }
  v1::AuditService::Stub& audit(Svc s) { return *audits_[s]; }
  std::shared_ptr<grpc::Channel> channel(Svc s) { return channels_[s]; }

  // ---- calls ----
  v1::OrgNode Node(v1::OrgNodeKind kind, const std::string& name,
                   const std::string& parent, grpc::Status* status = nullptr);
  v1::Account Account(const std::string& name, const std::string& owner,
                      grpc::Status* status = nullptr);
  // A valid new opportunity of `amount` in CONSIDERATION closing CloseDate().
  static v1::Opportunity NewOpp(const std::string& name,
                                const std::string& account_id,
                                const std::string& owner_id, int64_t amount);
  grpc::Status CreateOpp(const std::string& token, const v1::Opportunity& o,
                         const std::string& request_id, v1::Opportunity* out,
                         absl::Duration deadline = absl::Seconds(10));
  // Every opportunity below `owners` (all when empty), paged to the end.
  std::vector<v1::Opportunity> ListOpps(const std::string& token,
                                        const std::vector<std::string>& owners,
                                        grpc::Status* status);
  std::vector<v1::OrgNode> ListNodes(grpc::Status* status);
  std::vector<v1::Account> ListAccounts(grpc::Status* status);
  grpc::Status GetForecast(const std::string& token, const std::string& node,
                           v1::Forecast* out);
  grpc::Status FeedPosition(Svc s, v1::GetFeedPositionResponse* out);
  // grpc.health.v1 Check of the server as a whole: "SERVING", … or the error.
  std::string Health(Svc s);
  // The stage model the helpers' opportunities use (cached).
  const v1::StageModel& Model();

  // Σ round_half_even(amount × win rate) over the OPEN opportunities of
  // `opps` closing in CloseDate()'s quarter: what forecast's pipeline_weighted
  // of a node above all of them must be.
  int64_t ExpectedWeighted(const std::vector<v1::Opportunity>& opps);
  // Waits (`timeout`) until forecast's pipeline_weighted of `node` equals the
  // recomputation from pipeline's current listing below it (ADMIN), and its
  // funnel counts the same opportunities. On failure `why` says what differed.
  bool WaitForecastMatchesPipeline(const std::string& node,
                                   absl::Duration timeout, std::string* why);

  // A sample of `s`'s /metrics (nullopt when absent or unreachable).
  std::optional<double> Metric(
      Svc s, const std::string& name,
      const std::map<std::string, std::string>& labels = {});

  // Prints the tail of every process's log (for a failing test).
  void DumpLogs() const;
  // The log (stdout and stderr) of the running process of `s` so far; "" when
  // none runs.
  std::string Log(Svc s) const;

 private:
  // (Re)creates the channel and stubs of `s`.
  void Connect(Svc s);
  testing::TempDir dir_;
  std::array<int, kSvcCount> ports_{};
  std::array<int, kSvcCount> http_ports_{};
  bool tls_ = false;
  std::array<std::string, kSvcCount> data_dirs_;
  std::array<std::vector<std::string>, kSvcCount> extra_;
  std::array<Service, kSvcCount> services_;
  std::vector<std::unique_ptr<testing::Process>> dead_;
  std::array<std::shared_ptr<grpc::Channel>, kSvcCount> channels_;
  std::unique_ptr<v1::AccountsService::Stub> accounts_;
  std::unique_ptr<v1::PipelineService::Stub> pipeline_;
  std::unique_ptr<v1::ForecastService::Stub> forecast_;
  std::unique_ptr<v1::CreditService::Stub> credit_;
  std::array<std::unique_ptr<v1::FeedService::Stub>, kSvcCount> feeds_;
  std::array<std::unique_ptr<v1::BackupService::Stub>, kSvcCount> backups_;
  std::array<std::unique_ptr<v1::AuditService::Stub>, kSvcCount> audits_;
  std::optional<v1::StageModel> model_;
};

}  // namespace salesops::e2e
