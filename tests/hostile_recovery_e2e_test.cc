// Hostile end-to-end tests of issue 16, part 2: a source brought back from
// older data, with the four real binaries on loopback (tests/suite.h).
//
//   BackupUnderLoadRestoreFollowersConverge ("Must show" 3): writers create
//     org nodes, accounts and opportunities without pause while ADMIN takes
//     online backups of accounts and pipeline (BackupService.CreateBackup and
//     once `salesopsctl backup create`); each service is then started on a
//     fresh, empty data dir with --restore_from_backup_dir (no --init; into
//     its old, non-empty dir the restore is refused). Every
//     write acknowledged before its backup call began is there, the store has
//     a new epoch, and after more writes every follower equals the restored
//     source: forecast's root figure is a recomputation from pipeline's
//     listing, every restored org node and account is served by forecast,
//     pipeline and credit, and none of what the restore discarded is.
//   OlderFileCopyOfDataDirFollowersResync (finding 4): accounts' data dir
//     replaced behind its back by an older `cp -a` copy (same epoch), then
//     written past the followers' cursors while they were down; the
//     fingerprint of the event at each cursor makes them resync, so forecast,
//     pipeline and credit drop the discarded nodes and serve the new ones,
//     principals' scopes included.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/suite.h"

namespace salesops {
namespace {

using e2e::Describe;
using e2e::Suite;
using e2e::Svc;
using grpc::StatusCode;
namespace fs = std::filesystem;

// One acknowledged create: what, and when its call began and ended.
struct Ack {
  std::string id;
  std::string kind;  // "node", "account", "opportunity"
  absl::Time sent, acked;
};

// Writers that create org nodes + accounts (accounts) and opportunities
// (pipeline) until stopped, at most kMaxPerWriter each.
class Load {
 public:
  static constexpr int kMaxPerWriter = 400;

  explicit Load(Suite* suite) : suite_(suite) {
    threads_.emplace_back([this] { WriteAccounts(); });
    threads_.emplace_back([this] { WriteOpportunities(); });
  }
  ~Load() { Stop(); }
  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) {
        t.join();
      }
    }
  }
  std::vector<Ack> acks() {
    std::lock_guard<std::mutex> l(mu_);
    return acks_;
  }
  int failures() const { return failures_; }

 private:
  void Record(const std::string& id, const char* kind, absl::Time sent,
              const grpc::Status& s) {
    if (!s.ok()) {
      ++failures_;
      return;
    }
    std::lock_guard<std::mutex> l(mu_);
    acks_.push_back({id, kind, sent, absl::Now()});
  }
  void WriteAccounts() {
    for (int i = 0; i < kMaxPerWriter && !stop_; ++i) {
      grpc::Status s;
      absl::Time sent = absl::Now();
      const v1::OrgNode n =
          suite_->Node(v1::ORG_NODE_KIND_REP, absl::StrCat("load rep ", i),
                       suite_->team.id(), &s);
      Record(n.id(), "node", sent, s);
      if (s.ok() && i % 2 == 0) {
        sent = absl::Now();
        const v1::Account a =
            suite_->Account(absl::StrCat("load account ", i), n.id(), &s);
        Record(a.id(), "account", sent, s);
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
  }
  void WriteOpportunities() {
    for (int i = 0; i < kMaxPerWriter && !stop_; ++i) {
      const bool a = i % 2 == 0;
      const v1::Opportunity o = Suite::NewOpp(
          absl::StrCat("load deal ", i),
          (a ? suite_->acc_a : suite_->acc_b).id(),
          (a ? suite_->rep_a : suite_->rep_b).id(), 10'000 + 37 * i);
      const absl::Time sent = absl::Now();
      v1::Opportunity out;
      const grpc::Status s = suite_->CreateOpp(e2e::kAdminToken, o,
                                               absl::StrCat("load-", i), &out);
      Record(out.id(), "opportunity", sent, s);
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

  Suite* suite_;
  std::atomic<bool> stop_{false};
  std::atomic<int> failures_{0};
  std::mutex mu_;
  std::vector<Ack> acks_;
  std::vector<std::thread> threads_;
};

// Runs salesopsctl against the suite as ADMIN; exit code (-1: no exit in
// 60 s) and output.
std::pair<int, std::string> Ctl(Suite& suite,
                                const std::vector<std::string>& words) {
  std::vector<std::string> args = {SALESOPSCTL_BIN,
                                   "--token=" + std::string(e2e::kAdminToken)};
  for (Svc s : {e2e::kAccounts, e2e::kPipeline, e2e::kForecast, e2e::kCredit}) {
    args.push_back(
        absl::StrCat("--", e2e::SvcName(s), "=127.0.0.1:", suite.port(s)));
  }
  args.insert(args.end(), words.begin(), words.end());
  std::unique_ptr<testing::Process> p = testing::Process::Start(args);
  if (p == nullptr) {
    return {-1, ""};
  }
  const std::optional<int> st = p->WaitExit(absl::Seconds(60));
  return {st.has_value() && WIFEXITED(*st) ? WEXITSTATUS(*st) : -1, p->Log()};
}

v1::Backup TakeBackup(Suite& suite, Svc s) {
  v1::CreateBackupResponse resp;
  const absl::Time t0 = absl::Now();
  const grpc::Status st = suite.backup(s).CreateBackup(
      e2e::Ctx(e2e::kAdminToken).get(), v1::CreateBackupRequest(), &resp);
  EXPECT_TRUE(st.ok()) << e2e::SvcName(s) << ": " << Describe(st);
  std::cout << "backup of " << e2e::SvcName(s) << " under load: id "
            << resp.backup().id() << ", " << resp.backup().size_bytes()
            << " bytes in " << resp.backup().file_count() << " files, feed at "
            << resp.backup().feed_sequence() << ", took "
            << absl::FormatDuration(absl::Now() - t0) << "\n";
  return resp.backup();
}

std::string Epoch(Suite& suite, Svc s) {
  v1::GetFeedPositionResponse pos;
  const grpc::Status st = suite.FeedPosition(s, &pos);
  EXPECT_TRUE(st.ok()) << Describe(st);
  return pos.epoch();
}

// Stops `s` and starts it on a fresh, empty data dir restored from its
// newest backup, without --init.
void Restore(Suite& suite, Svc s) {
  ASSERT_TRUE(suite.Stop(s));
  // Never into a store: refused, and the store is left as it was.
  suite.extra_args(s) = {"--restore_from_backup_dir=" + suite.backup_dir(s)};
  const auto [code, log] = e2e::RunToExit(suite.Args(s, /*init=*/false));
  EXPECT_NE(code, 0) << log;
  EXPECT_NE(code, -1) << log;
  EXPECT_TRUE(absl::StrContains(log, suite.data_dir(s))) << log;
  EXPECT_TRUE(absl::StrContains(log, "--restore_from_backup_dir")) << log;
  EXPECT_TRUE(fs::exists(suite.data_dir(s) + "/CURRENT"));
  suite.data_dir(s) =
      suite.dir().Sub(absl::StrCat(e2e::SvcName(s), "-restored"));
  suite.extra_args(s) = {"--restore_from_backup_dir=" + suite.backup_dir(s)};
  const absl::Time t0 = absl::Now();
  ASSERT_TRUE(suite.Start(s, /*init=*/false));
  std::cout << e2e::SvcName(s) << " restored and ready in "
            << absl::FormatDuration(absl::Now() - t0) << "\n";
  suite.extra_args(s).clear();  // later restarts open the restored store
}

// MANAGER (of the team) reading an account's credit profile: NOT_FOUND or OK
// when credit knows the account below the team, PERMISSION_DENIED when not.
StatusCode CreditScope(Suite& suite, const std::string& token,
                       const std::string& account_id) {
  v1::GetCreditProfileRequest req;
  req.set_account_id(account_id);
  v1::CreditProfile p;
  return suite.credit()
      .GetCreditProfile(e2e::Ctx(token).get(), req, &p)
      .error_code();
}

// Forecast's answer for an org node (ADMIN): OK when it follows the node,
// NOT_FOUND when not.
StatusCode ForecastNode(Suite& suite, const std::string& id) {
  v1::Forecast f;
  return suite.GetForecast(e2e::kAdminToken, id, &f).error_code();
}

// Credit's answer for an org node (ADMIN GetAging of its subtree): OK when
// credit follows the node, NOT_FOUND when not.
StatusCode CreditNode(Suite& suite, const std::string& id) {
  v1::GetAgingRequest req;
  req.set_org_node_id(id);
  v1::Aging out;
  return suite.credit()
      .GetAging(e2e::Ctx(e2e::kAdminToken).get(), req, &out)
      .error_code();
}

// Waits (30 s) until `probe` answers `want` for every id of `ids`.
template <typename Probe>
bool AllAnswer(Suite& suite, const std::vector<std::string>& ids,
               StatusCode want, Probe probe, std::string* why) {
  return e2e::Eventually([&] {
    for (const std::string& id : ids) {
      const StatusCode got = probe(suite, id);
      if (got != want) {
        *why = absl::StrCat(id, ": ", static_cast<int>(got), " not ",
                            static_cast<int>(want));
        return false;
      }
    }
    return true;
  });
}

// An ADMIN create owned by `owner`: OK while pipeline knows the REP node.
grpc::Status CreateFor(Suite& suite, const std::string& token,
                       const std::string& owner, const std::string& account,
                       const std::string& name) {
  v1::Opportunity out;
  return suite.CreateOpp(token, Suite::NewOpp(name, account, owner, 5'000),
                         "probe-" + name, &out);
}

TEST(HostileRecoveryE2eTest, BackupUnderLoadRestoreFollowersConverge) {
  Suite suite;
  ASSERT_TRUE(suite.Build());
  const std::string accounts_epoch = Epoch(suite, e2e::kAccounts);
  const std::string pipeline_epoch = Epoch(suite, e2e::kPipeline);

  Load load(&suite);
  absl::SleepFor(absl::Seconds(1));
  {
    const auto [code, out] =
        Ctl(suite, {"backup", "create", "--service=pipeline"});
    EXPECT_EQ(code, 0) << out;
    std::cout << "salesopsctl backup create --service=pipeline:\n" << out;
  }
  absl::SleepFor(absl::Milliseconds(500));
  const absl::Time accounts_began = absl::Now();
  const v1::Backup accounts_backup = TakeBackup(suite, e2e::kAccounts);
  const absl::Time accounts_ended = absl::Now();
  const absl::Time pipeline_began = absl::Now();
  const v1::Backup pipeline_backup = TakeBackup(suite, e2e::kPipeline);
  const absl::Time pipeline_ended = absl::Now();
  absl::SleepFor(absl::Seconds(1));
  load.Stop();
  EXPECT_EQ(load.failures(), 0);
  {
    v1::ListBackupsResponse list;
    const grpc::Status s = suite.backup(e2e::kPipeline)
                               .ListBackups(e2e::Ctx(e2e::kAdminToken).get(),
                                            v1::ListBackupsRequest(), &list);
    ASSERT_TRUE(s.ok()) << Describe(s);
    EXPECT_EQ(list.backups_size(), 2) << list.ShortDebugString();
  }

  // What each restore must keep (acknowledged before its backup began) and
  // must not have (sent after its backup ended).
  std::set<std::string> keep_accounts, lost_nodes, lost_accounts, keep_opps,
      lost_opps;
  std::vector<std::string> kept_nodes;
  for (const Ack& a : load.acks()) {
    if (a.kind == "opportunity") {
      if (a.acked < pipeline_began) keep_opps.insert(a.id);
      if (a.sent > pipeline_ended) lost_opps.insert(a.id);
    } else {
      if (a.acked < accounts_began) keep_accounts.insert(a.id);
      if (a.acked < accounts_began && a.kind == "node")
        kept_nodes.push_back(a.id);
      if (a.sent > accounts_ended) {
        (a.kind == "node" ? lost_nodes : lost_accounts).insert(a.id);
      }
    }
  }
  std::cout << "load: " << load.acks().size() << " acknowledged creates; "
            << keep_accounts.size() << " org nodes/accounts and "
            << keep_opps.size() << " opportunities before the backups, "
            << lost_nodes.size() + lost_accounts.size() << " and "
            << lost_opps.size() << " sent after them\n";
  ASSERT_FALSE(kept_nodes.empty());
  ASSERT_FALSE(lost_nodes.empty());
  ASSERT_FALSE(lost_opps.empty());

  // Accounts restored.
  ASSERT_NO_FATAL_FAILURE(Restore(suite, e2e::kAccounts));
  EXPECT_NE(Epoch(suite, e2e::kAccounts), accounts_epoch);
  grpc::Status s;
  std::set<std::string> present;
  for (const v1::OrgNode& n : suite.ListNodes(&s)) present.insert(n.id());
  ASSERT_TRUE(s.ok()) << Describe(s);
  std::vector<std::string> restored_nodes(present.begin(), present.end());
  for (const v1::Account& a : suite.ListAccounts(&s)) present.insert(a.id());
  ASSERT_TRUE(s.ok()) << Describe(s);
  for (const std::string& id : keep_accounts) {
    EXPECT_EQ(present.count(id), 1u) << id << " acknowledged before the backup";
  }
  for (const auto* lost : {&lost_nodes, &lost_accounts}) {
    for (const std::string& id : *lost) {
      EXPECT_EQ(present.count(id), 0u) << id << " sent after the backup";
    }
  }

  // Pipeline restored.
  ASSERT_NO_FATAL_FAILURE(Restore(suite, e2e::kPipeline));
  EXPECT_NE(Epoch(suite, e2e::kPipeline), pipeline_epoch);
  std::set<std::string> opps;
  for (const v1::Opportunity& o : suite.ListOpps(e2e::kAdminToken, {}, &s)) {
    opps.insert(o.id());
  }
  ASSERT_TRUE(s.ok()) << Describe(s);
  for (const std::string& id : keep_opps) {
    EXPECT_EQ(opps.count(id), 1u) << id << " acknowledged before the backup";
  }
  for (const std::string& id : lost_opps) {
    EXPECT_EQ(opps.count(id), 0u) << id << " sent after the backup";
  }

  // More writes to the restored sources.
  std::vector<std::string> new_nodes;
  for (int i = 0; i < 5; ++i) {
    const v1::OrgNode n =
        suite.Node(v1::ORG_NODE_KIND_REP, absl::StrCat("after restore ", i),
                   suite.team.id());
    new_nodes.push_back(n.id());
    restored_nodes.push_back(n.id());
  }
  const v1::Account new_account = suite.Account("after restore", new_nodes[0]);
  for (int i = 0; i < 10; ++i) {
    v1::Opportunity out;
    s = suite.CreateOpp(
        e2e::kAdminToken,
        Suite::NewOpp(absl::StrCat("after restore ", i), suite.acc_b.id(),
                      suite.rep_b.id(), 77'777 + i),
        absl::StrCat("after-restore-", i), &out);
    ASSERT_TRUE(s.ok()) << Describe(s);
  }

  // Followers converge on the restored sources.
  const absl::Time t0 = absl::Now();
  std::string why;
  EXPECT_TRUE(suite.WaitForecastMatchesPipeline(suite.global.id(),
                                                absl::Seconds(60), &why))
      << why;
  const std::vector<std::string> lost(lost_nodes.begin(), lost_nodes.end());
  for (auto probe : {ForecastNode, CreditNode}) {
    EXPECT_TRUE(AllAnswer(suite, restored_nodes, StatusCode::OK, probe, &why))
        << why;
    EXPECT_TRUE(AllAnswer(suite, lost, StatusCode::NOT_FOUND, probe, &why))
        << why;
  }
  if (!HasFailure()) {
    std::cout << "followers converged "
              << absl::FormatDuration(absl::Now() - t0)
              << " after the writes\n";
  }
  // Pipeline and credit follow the restored tree: the MANAGER may give a deal
  // to a restored or new rep and read credit of a restored or new account,
  // not of a discarded one.
  for (size_t i = 0; i < kept_nodes.size() && i < 5; ++i) {
    s = CreateFor(suite, e2e::kManagerToken, kept_nodes[i], suite.acc_a.id(),
                  absl::StrCat("kept ", i));
    EXPECT_TRUE(s.ok()) << kept_nodes[i] << ": " << Describe(s);
  }
  EXPECT_TRUE(e2e::Eventually([&] {
    s = CreateFor(suite, e2e::kManagerToken, new_nodes[1], suite.acc_a.id(),
                  "new rep");
    return s.ok();
  })) << Describe(s);
  int probed = 0;
  for (const std::string& id : lost_nodes) {
    if (probed++ == 5) break;
    s = CreateFor(suite, e2e::kAdminToken, id, suite.acc_a.id(),
                  absl::StrCat("lost ", probed));
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT)
        << id << " (discarded) still owns deals: " << Describe(s);
  }
  EXPECT_TRUE(e2e::Eventually([&] {
    return CreditScope(suite, e2e::kManagerToken, new_account.id()) ==
           StatusCode::NOT_FOUND;
  }));
  for (const std::string& id : keep_accounts) {
    if (present.count(id) > 0 && id.rfind("acc", 0) == 0) {
      EXPECT_EQ(CreditScope(suite, e2e::kManagerToken, id),
                StatusCode::NOT_FOUND)
          << id;
    }
  }
  for (const std::string& id : lost_accounts) {
    EXPECT_EQ(CreditScope(suite, e2e::kManagerToken, id),
              StatusCode::PERMISSION_DENIED)
        << id << " (discarded) still in credit's copy";
  }
  // And forecast still equals pipeline after the probes.
  EXPECT_TRUE(suite.WaitForecastMatchesPipeline(suite.global.id(),
                                                absl::Seconds(30), &why))
      << why;
  for (Svc f : {e2e::kPipeline, e2e::kCredit, e2e::kForecast}) {
    const std::optional<double> resyncs = suite.Metric(
        f, "salesops_feed_resyncs_total", {{"source", "accounts"}});
    EXPECT_TRUE(resyncs.has_value() && *resyncs >= 1) << e2e::SvcName(f);
  }
  if (HasFailure()) {
    suite.DumpLogs();
  }
}

TEST(HostileRecoveryE2eTest, OlderFileCopyOfDataDirFollowersResync) {
  Suite suite;
  ASSERT_TRUE(suite.Build());
  const std::string epoch = Epoch(suite, e2e::kAccounts);
  const std::string live = suite.data_dir(e2e::kAccounts);
  const std::string copy = suite.dir().Sub("accounts-copy");

  // The copy, taken with accounts stopped.
  ASSERT_TRUE(suite.Stop(e2e::kAccounts));
  ASSERT_EQ(std::system(("cp -a " + live + " " + copy).c_str()), 0);
  ASSERT_TRUE(suite.Start(e2e::kAccounts));

  std::map<Svc, double> applied_before;
  for (Svc f : {e2e::kForecast, e2e::kCredit, e2e::kPipeline}) {
    const std::optional<double> n = suite.Metric(
        f, "salesops_feed_events_applied_total", {{"source", "accounts"}});
    ASSERT_TRUE(n.has_value()) << e2e::SvcName(f);
    applied_before[f] = *n;
  }
  // A timeline the copy does not have: a team, three reps, an account.
  const v1::OrgNode doomed_team =
      suite.Node(v1::ORG_NODE_KIND_TEAM, "Doomed team", suite.region.id());
  std::vector<std::string> doomed = {doomed_team.id()};
  for (int i = 0; i < 3; ++i) {
    doomed.push_back(suite
                         .Node(v1::ORG_NODE_KIND_REP,
                               absl::StrCat("Doomed rep ", i), doomed_team.id())
                         .id());
  }
  const v1::Account doomed_account = suite.Account("Doomed account", doomed[1]);
  std::string why;
  ASSERT_TRUE(AllAnswer(suite, doomed, StatusCode::OK, ForecastNode, &why))
      << why;
  ASSERT_TRUE(AllAnswer(suite, doomed, StatusCode::OK, CreditNode, &why))
      << why;
  ASSERT_TRUE(CreateFor(suite, e2e::kAdminToken, doomed[1], doomed_account.id(),
                        "doomed deal")
                  .ok());
  v1::GetFeedPositionResponse head;
  ASSERT_TRUE(suite.FeedPosition(e2e::kAccounts, &head).ok());
  const uint64_t discarded_head = head.sequence();
  // Every follower's cursor is past the copy's head once it applied one
  // event of the discarded timeline.
  for (Svc f : {e2e::kForecast, e2e::kCredit, e2e::kPipeline}) {
    ASSERT_TRUE(e2e::Eventually([&] {
      return suite
                 .Metric(f, "salesops_feed_events_applied_total",
                         {{"source", "accounts"}})
                 .value_or(0) >= applied_before[f] + 1;
    })) << e2e::SvcName(f);
    ASSERT_TRUE(suite.Stop(f));
  }

  // The older copy put back behind the service's back, then written past
  // the followers' cursors.
  ASSERT_TRUE(suite.Stop(e2e::kAccounts));
  fs::remove_all(live);
  fs::rename(copy, live);
  ASSERT_TRUE(suite.Start(e2e::kAccounts));
  ASSERT_TRUE(suite.FeedPosition(e2e::kAccounts, &head).ok());
  EXPECT_EQ(head.epoch(), epoch) << "a file copy keeps its epoch";
  ASSERT_LT(head.sequence(), discarded_head);
  const v1::OrgNode fresh_team =
      suite.Node(v1::ORG_NODE_KIND_TEAM, "Fresh team", suite.region.id());
  std::vector<std::string> fresh = {fresh_team.id()};
  for (int i = 0; i < 20 && head.sequence() <= discarded_head + 1; ++i) {
    fresh.push_back(suite
                        .Node(v1::ORG_NODE_KIND_REP,
                              absl::StrCat("Fresh rep ", i), fresh_team.id())
                        .id());
    ASSERT_TRUE(suite.FeedPosition(e2e::kAccounts, &head).ok());
  }
  ASSERT_GT(head.sequence(), discarded_head + 1);
  const v1::Account fresh_account = suite.Account("Fresh account", fresh[1]);
  std::cout << "file copy: " << doomed.size() << " org nodes discarded (head "
            << discarded_head << "), " << fresh.size()
            << " created on the copy (head " << head.sequence() << ")\n";

  // Followers start again, with principals of the new and the old timeline.
  constexpr char kFreshManager[] = "hostile-fresh-manager-token";
  constexpr char kDoomedRep[] = "hostile-doomed-rep-token";
  suite.WriteTokens(
      e2e::TokenLine(kFreshManager, "fresh-manager", "MANAGER", fresh[0]) +
      e2e::TokenLine(kDoomedRep, "doomed-rep", "REP", doomed[1]));
  for (Svc f : {e2e::kPipeline, e2e::kCredit, e2e::kForecast}) {
    ASSERT_TRUE(suite.Start(f));
  }
  for (auto probe : {ForecastNode, CreditNode}) {
    EXPECT_TRUE(AllAnswer(suite, doomed, StatusCode::NOT_FOUND, probe, &why))
        << why;
    EXPECT_TRUE(AllAnswer(suite, fresh, StatusCode::OK, probe, &why)) << why;
  }

  // Pipeline: the new MANAGER's rep owns deals he sees; the discarded rep
  // cannot write, nor can anyone give him a deal.
  grpc::Status s;
  EXPECT_TRUE(e2e::Eventually([&] {
    s = CreateFor(suite, kFreshManager, fresh[1], fresh_account.id(),
                  "fresh deal");
    return s.ok();
  })) << Describe(s);
  const std::vector<v1::Opportunity> seen =
      suite.ListOpps(kFreshManager, {fresh[0]}, &s);
  EXPECT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(seen.size(), 1u);
  s = CreateFor(suite, kDoomedRep, doomed[1], suite.acc_a.id(), "doomed rep");
  EXPECT_FALSE(s.ok()) << "a discarded REP wrote";
  s = CreateFor(suite, e2e::kAdminToken, doomed[2], suite.acc_a.id(),
                "to doomed");
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);

  // Credit: the new account is the new MANAGER's; the discarded one nobody's.
  EXPECT_TRUE(e2e::Eventually([&] {
    return CreditScope(suite, kFreshManager, fresh_account.id()) ==
           StatusCode::NOT_FOUND;
  }));
  EXPECT_EQ(CreditScope(suite, kDoomedRep, doomed_account.id()),
            StatusCode::PERMISSION_DENIED);
  std::string forecast_why;
  EXPECT_TRUE(suite.WaitForecastMatchesPipeline(
      suite.global.id(), absl::Seconds(30), &forecast_why))
      << forecast_why;
  for (Svc f : {e2e::kPipeline, e2e::kCredit, e2e::kForecast}) {
    const std::optional<double> resyncs = suite.Metric(
        f, "salesops_feed_resyncs_total", {{"source", "accounts"}});
    EXPECT_TRUE(resyncs.has_value() && *resyncs >= 1)
        << e2e::SvcName(f) << " did not resync from accounts";
  }
  if (HasFailure()) {
    suite.DumpLogs();
  }
}

}  // namespace
}  // namespace salesops
