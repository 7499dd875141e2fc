// Hostile end-to-end tests of issue 16 ("Must show" 1), part 1: a careless
// operator and a hostile client against the four real binaries on loopback
// with bearer tokens (tests/suite.h).
//
//   EmptyDataDirWithoutInitRefusesToStart (finding 4): each binary on a
//     missing and on an empty --data_dir without --init exits non-zero naming
//     the dir and --init and leaves the dir as it was; a dir holding another
//     file is refused even with --init, and the file is left alone.
//   RequestIdReplayByAnotherPrincipalIsASeparateRequest (finding 7).
//   DiskFullRefusesWritesKeepsReadsAndResumes (finding 5): pipeline's data dir
//     on a 64 MiB tmpfs (or, where mounting is not allowed, the free-space
//     reserve set just above the file system's free space and a filler file).
//   FullFileSystemNeverAbortsStartOrStop (finding 5): another program fills
//     the tmpfs to its last byte; the service serves reads, refuses writes,
//     and neither SIGTERM nor a start aborts in RocksDB.
//   HugeAmountsNeverStopForecast (finding 2): INT64_MAX and 10^15 + 1 are
//     INVALID_ARGUMENT naming the field; 9,300 accepted amounts of 10^15 make
//     one node's figures pass int64: forecast answers OUT_OF_RANGE naming the
//     node for it and the nodes above, OK for the others, and again after a
//     restart.

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
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

constexpr Svc kAll[] = {e2e::kAccounts, e2e::kPipeline, e2e::kForecast,
                        e2e::kCredit};

// The names in `dir` (none when it is missing).
std::set<std::string> Entries(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    out.insert(e.path().filename().string());
  }
  return out;
}

TEST(HostileE2eTest, EmptyDataDirWithoutInitRefusesToStart) {
  Suite suite;  // ports, tokens; nothing running
  for (Svc s : kAll) {
    SCOPED_TRACE(e2e::SvcName(s));
    const std::string missing =
        suite.dir().Sub(absl::StrCat("missing-", e2e::SvcName(s)));
    const std::string empty =
        suite.dir().Sub(absl::StrCat("empty-", e2e::SvcName(s)));
    ASSERT_TRUE(fs::create_directory(empty));
    for (const std::string& dir : {missing, empty}) {
      suite.data_dir(s) = dir;
      const auto [code, log] = e2e::RunToExit(suite.Args(s, /*init=*/false));
      EXPECT_NE(code, 0) << dir << ":\n" << log;
      EXPECT_NE(code, -1) << "did not exit by itself:\n" << log;
      EXPECT_TRUE(absl::StrContains(log, dir)) << log;
      EXPECT_TRUE(absl::StrContains(log, "--init")) << log;
      EXPECT_TRUE(Entries(dir).empty()) << dir << " was written into";
      EXPECT_FALSE(absl::StrContains(log, " ready\"")) << log;
    }
    EXPECT_FALSE(fs::exists(missing)) << missing << " was created";

    // Another file: refused even with --init, and left alone.
    const std::string other =
        suite.dir().Sub(absl::StrCat("other-", e2e::SvcName(s)));
    ASSERT_TRUE(fs::create_directory(other));
    e2e::WriteFile(other + "/notes.txt", "not a store\n");
    suite.data_dir(s) = other;
    const auto [code, log] = e2e::RunToExit(suite.Args(s, /*init=*/true));
    EXPECT_NE(code, 0) << log;
    EXPECT_NE(code, -1) << "did not exit by itself:\n" << log;
    EXPECT_TRUE(absl::StrContains(log, other)) << log;
    EXPECT_TRUE(absl::StrContains(log, "notes.txt")) << log;
    EXPECT_EQ(Entries(other), std::set<std::string>{"notes.txt"});
    std::ifstream in(other + "/notes.txt");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(text, "not a store\n");
  }
}

TEST(HostileE2eTest, RequestIdReplayByAnotherPrincipalIsASeparateRequest) {
  Suite suite;
  ASSERT_TRUE(suite.Build());
  const std::string rid = "replayed-request-id";
  const v1::Opportunity body = Suite::NewOpp("replay deal", suite.acc_a.id(),
                                             suite.rep_a.id(), 1'234'500);

  v1::Opportunity first;
  grpc::Status s = suite.CreateOpp(e2e::kRepAToken, body, rid, &first);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ASSERT_FALSE(first.id().empty());

  // REP A's retry: the same opportunity.
  v1::Opportunity again;
  s = suite.CreateOpp(e2e::kRepAToken, body, rid, &again);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(again.id(), first.id());

  // REP B with A's exact body: refused by scope, not answered with A's deal.
  v1::Opportunity stolen;
  s = suite.CreateOpp(e2e::kRepBToken, body, rid, &stolen);
  EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED) << Describe(s);
  EXPECT_NE(stolen.id(), first.id());
  EXPECT_EQ(stolen.ByteSizeLong(), 0u) << stolen.ShortDebugString();

  // REP B, same request id and body but B as owner: a request of B's own.
  v1::Opportunity b_body = body;
  b_body.set_owner_node_id(suite.rep_b.id());
  v1::Opportunity b_first;
  s = suite.CreateOpp(e2e::kRepBToken, b_body, rid, &b_first);
  if (s.ok()) {
    EXPECT_NE(b_first.id(), first.id());
    EXPECT_EQ(b_first.owner_node_id(), suite.rep_b.id());
  } else {
    // The ordinary refusal of B's request, never A's opportunity.
    EXPECT_TRUE(s.error_code() == StatusCode::INVALID_ARGUMENT ||
                s.error_code() == StatusCode::PERMISSION_DENIED)
        << Describe(s);
    EXPECT_FALSE(absl::StrContains(s.error_message(), first.id()));
  }
  // B with its own account too: a new opportunity of B's, and B's retry of
  // it is answered with B's.
  b_body.set_account_id(suite.acc_b.id());
  v1::Opportunity b_own, b_own_again;
  s = suite.CreateOpp(e2e::kRepBToken, b_body, rid + "-own", &b_own);
  ASSERT_TRUE(s.ok()) << Describe(s);
  s = suite.CreateOpp(e2e::kRepBToken, b_body, rid + "-own", &b_own_again);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(b_own_again.id(), b_own.id());
  EXPECT_NE(b_own.id(), first.id());

  // B still cannot read A's deal, nor learn it through the request id.
  {
    v1::GetOpportunityRequest req;
    req.set_id(first.id());
    v1::Opportunity out;
    s = suite.pipeline().GetOpportunity(e2e::Ctx(e2e::kRepBToken).get(), req,
                                        &out);
    EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED) << Describe(s);
  }
  // ADMIN replaying A's request id with A's body is another principal too.
  v1::Opportunity admin_copy;
  s = suite.CreateOpp(e2e::kAdminToken, body, rid, &admin_copy);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_NE(admin_copy.id(), first.id());

  // A's opportunity exists once; each other principal's request made its own.
  std::vector<v1::Opportunity> listed =
      suite.ListOpps(e2e::kAdminToken, {}, &s);
  ASSERT_TRUE(s.ok()) << Describe(s);
  std::multiset<std::string> ids;
  for (const v1::Opportunity& o : listed) {
    ids.insert(o.id());
  }
  EXPECT_EQ(ids.count(first.id()), 1u);
  EXPECT_EQ(ids.count(b_own.id()), 1u);
  EXPECT_EQ(ids.count(admin_copy.id()), 1u);
  EXPECT_EQ(listed.size(), 3u + (b_first.id().empty() ? 0u : 1u));
  if (HasFailure()) {
    suite.DumpLogs();
  }
}

// ---- disk full ----

constexpr int64_t kMiB = 1 << 20;
constexpr int64_t kMaxAmount = 1'000'000'000'000'000;  // money::kMaxAmountMinor
// 10^15 × 9,300 > INT64_MAX (9.22 × 10^18): one stage's total of one node.
constexpr int kHuge = 9300;

int32_t WinRate(Suite& suite, const std::string& stage) {
  for (const v1::Stage& s : suite.Model().stages()) {
    if (s.key() == stage) {
      return s.win_rate_bp();
    }
  }
  return -1;
}

int64_t FreeBytes(const std::string& path) {
  struct statvfs st;
  if (statvfs(path.c_str(), &st) != 0) {
    return -1;
  }
  return static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
}

// Appends `bytes` of real (not sparse) data to `path`, synced, so the file
// system counts them at once.
bool GrowFiller(const std::string& path, int64_t bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) {
    return false;
  }
  const std::string chunk(kMiB, 'f');
  bool ok = true;
  for (int64_t done = 0; done < bytes && ok; done += kMiB) {
    ok = write(fd, chunk.data(), chunk.size()) ==
         static_cast<ssize_t>(chunk.size());
  }
  ok = fsync(fd) == 0 && ok;
  close(fd);
  return ok;
}

// The volume pipeline's data dir lives on: a tmpfs of 64 MiB mounted here
// when the machine allows it (and HOSTILE_E2E_NO_TMPFS is not set), else a
// plain directory; unmounted (lazily, so
// even with files open) when the test ends, whatever happened.
class Volume {
 public:
  explicit Volume(std::string dir) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    if (getenv("HOSTILE_E2E_NO_TMPFS") != nullptr) {  // to try the fallback
      why_ = "HOSTILE_E2E_NO_TMPFS is set";
      return;
    }
    tmpfs_ =
        mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=64m,mode=0700") == 0;
    if (!tmpfs_) {
      why_ = strerror(errno);
    }
  }
  ~Volume() { Unmount(); }
  void Unmount() {
    if (tmpfs_) {
      umount2(dir_.c_str(), MNT_DETACH);
      tmpfs_ = false;
    }
  }
  bool tmpfs() const { return tmpfs_; }
  const std::string& why() const { return why_; }

 private:
  std::string dir_;
  bool tmpfs_ = false;
  std::string why_;
};

// An opportunity of about 60 KB (15 competitors with 2,000 characters of
// strengths and of weaknesses: within every field bound).
// `n` letters and digits that do not compress (the store compresses its
// tables, D50: repeated letters would shrink to nothing at the next flush and
// free the disk this test fills).
std::string Incompressible(std::mt19937& rng, size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-";
  std::string out(n, ' ');
  for (char& c : out) {
    c = kAlphabet[rng() % 64];
  }
  return out;
}

v1::Opportunity Bulky(const Suite& suite, int i) {
  v1::Opportunity o = Suite::NewOpp(absl::StrCat("disk ", i), suite.acc_a.id(),
                                    suite.rep_a.id(), 100'000 + i);
  std::mt19937 rng(static_cast<uint32_t>(i));
  for (int c = 0; c < 15; ++c) {
    v1::Competitor* comp = o.add_competitors();
    comp->set_name(absl::StrCat("competitor ", c));
    comp->set_strengths(Incompressible(rng, 2000));
    comp->set_weaknesses(Incompressible(rng, 2000));
  }
  return o;
}

TEST(HostileE2eTest, DiskFullRefusesWritesKeepsReadsAndResumes) {
  Suite suite;
  const std::string vol_dir = suite.dir().Sub("pipeline-volume");
  Volume volume(vol_dir);
  const std::string filler = vol_dir + "/filler";
  // On the tmpfs: 16 MiB of filler, the reserve 8 MiB below what is left;
  // pipeline's own writes fill the rest. Else the reserve 1 GiB below the
  // shared disk's free space (which drifts as other programs write, and as
  // the services' RocksDB preallocate their logs), and the filler grows by
  // 64 MiB after every acknowledged create (1 MiB after a tiny one) until
  // writes are refused.
  const bool grow = !volume.tmpfs();
  const int64_t room = grow ? 1024 * kMiB : 8 * kMiB;
  if (!grow) {
    ASSERT_TRUE(GrowFiller(filler, 16 * kMiB));
  }
  const int64_t free_before = FreeBytes(vol_dir);
  ASSERT_GT(free_before, room);
  const int64_t reserve = free_before - room;
  std::cout << "disk full: "
            << (volume.tmpfs()
                    ? "pipeline's data dir on a 64 MiB tmpfs, filler 16 MiB"
                    : "tmpfs not mountable (" + volume.why() +
                          "): the reserve set 1 GiB below the file "
                          "system's free space, a growing filler")
            << ", free " << free_before
            << " B, --min_free_disk_bytes=" << reserve << "\n";
  suite.data_dir(e2e::kPipeline) = vol_dir + "/data";
  suite.extra_args(e2e::kPipeline) = {
      absl::StrCat("--min_free_disk_bytes=", reserve)};
  ASSERT_TRUE(suite.Build());
  const int pid = suite.pid(e2e::kPipeline);

  // Write ~60 KB creates until the disk is "full" (bounded), then a few
  // more attempts; then tiny creates until those are refused too, so that
  // almost nothing is left above the reserve.
  std::vector<std::string> acked;
  std::vector<std::pair<std::string, v1::Opportunity>> refused;
  std::string refusal;
  const absl::Time t0 = absl::Now();
  size_t bulky_acked = 0;
  for (const bool tiny : {false, true}) {
    int refusals = 0;
    for (int i = 0; i < 3000 && refusals < 5; ++i) {
      const v1::Opportunity o =
          tiny ? Suite::NewOpp(absl::StrCat("tiny ", i), suite.acc_a.id(),
                               suite.rep_a.id(), 1000 + i)
               : Bulky(suite, i);
      const std::string rid = absl::StrCat(tiny ? "tiny-" : "disk-", i);
      v1::Opportunity out;
      const grpc::Status s = suite.CreateOpp(e2e::kRepAToken, o, rid, &out);
      if (s.ok()) {
        // A write may pass after a refusal: RocksDB frees space by itself
        // (obsolete WAL files after a flush), which is what "resumes by
        // itself" means; it is acknowledged and must be kept like the others.
        acked.push_back(out.id());
        if (grow) {
          ASSERT_TRUE(GrowFiller(filler, tiny ? kMiB : 64 * kMiB));
        }
      } else {
        ASSERT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED)
            << Describe(s);
        ASSERT_TRUE(absl::StrContains(s.error_message(), "disk full"))
            << Describe(s);
        refusal = s.error_message();
        refused.emplace_back(rid, o);
        ++refusals;
      }
    }
    ASSERT_EQ(refusals, 5) << "never refused";
    if (!tiny) {
      bulky_acked = acked.size();
    }
  }
  std::cout << "disk full: " << bulky_acked
            << " creates of ~60 KB acknowledged, then "
            << acked.size() - bulky_acked << " tiny ones, " << refused.size()
            << " refused, in " << absl::FormatDuration(absl::Now() - t0) << ": "
            << refusal << "\n";
  ASSERT_GT(bulky_acked, 0u);
  if (grow) {  // well below the reserve, whatever other programs free
    ASSERT_TRUE(GrowFiller(filler, 256 * kMiB));
  }

  // Reads go on; the process lives and is SERVING.
  grpc::Status s;
  for (const std::string& id : {acked.front(), acked.back()}) {
    v1::GetOpportunityRequest req;
    req.set_id(id);
    v1::Opportunity out;
    s = suite.pipeline().GetOpportunity(e2e::Ctx(e2e::kRepAToken).get(), req,
                                        &out);
    EXPECT_TRUE(s.ok()) << Describe(s);
  }
  std::vector<v1::Opportunity> listed =
      suite.ListOpps(e2e::kAdminToken, {}, &s);
  EXPECT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(listed.size(), acked.size());
  v1::Forecast f;
  s = suite.GetForecast(e2e::kAdminToken, suite.global.id(), &f);
  EXPECT_TRUE(s.ok()) << Describe(s);
  EXPECT_TRUE(suite.Running(e2e::kPipeline));
  EXPECT_EQ(suite.Health(e2e::kPipeline), "SERVING");
  const std::optional<double> refused_total =
      suite.Metric(e2e::kPipeline, "salesops_store_writes_refused_total");
  const std::optional<double> disk_free =
      suite.Metric(e2e::kPipeline, "salesops_store_disk_free_bytes");
  ASSERT_TRUE(refused_total.has_value());
  ASSERT_TRUE(disk_free.has_value());
  EXPECT_GE(*refused_total, 5);
  EXPECT_LT(*disk_free, static_cast<double>(reserve + 2 * kMiB));
  std::cout << "disk full: metrics writes_refused_total=" << *refused_total
            << " disk_free_bytes=" << static_cast<int64_t>(*disk_free) << "\n";

  // A crash while the disk is full: the restart comes up (no abort on every
  // start), reads work, writes are still refused.
  EXPECT_EQ(suite.pid(e2e::kPipeline), pid) << "pipeline restarted by itself";
  ASSERT_TRUE(suite.Kill(e2e::kPipeline));
  ASSERT_TRUE(suite.Start(e2e::kPipeline));
  const int restarted_pid = suite.pid(e2e::kPipeline);
  {
    v1::GetOpportunityRequest req;
    req.set_id(acked.back());
    v1::Opportunity out;
    s = suite.pipeline().GetOpportunity(e2e::Ctx(e2e::kRepAToken).get(), req,
                                        &out);
    EXPECT_TRUE(s.ok()) << Describe(s);
    s = suite.CreateOpp(e2e::kRepAToken, refused.front().second,
                        refused.front().first, &out);
    EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << Describe(s);
  }

  // Pipeline's feed consumers cannot store what they follow while the disk
  // is full; an org node created meanwhile is applied once space is back.
  const double applied =
      suite
          .Metric(e2e::kPipeline, "salesops_feed_events_applied_total",
                  {{"source", "accounts"}})
          .value_or(-1);
  ASSERT_GE(applied, 0);
  const v1::OrgNode late =
      suite.Node(v1::ORG_NODE_KIND_REP, "Rep while full", suite.team.id());
  absl::SleepFor(absl::Seconds(1));
  std::cout << "disk full: pipeline applied "
            << suite.Metric(e2e::kPipeline,
                            "salesops_feed_events_applied_total",
                            {{"source", "accounts"}})
                       .value_or(-1) -
                   applied
            << " accounts event(s) while full\n";
  EXPECT_TRUE(suite.Running(e2e::kPipeline));

  // Free space: writes resume by themselves (bounded wait).
  ASSERT_TRUE(fs::remove(filler));
  const absl::Time freed = absl::Now();
  bool resumed = false;
  while (!resumed && absl::Now() - freed < absl::Seconds(30)) {
    v1::Opportunity out;
    s = suite.CreateOpp(e2e::kRepAToken, refused.front().second,
                        refused.front().first, &out);
    if (s.ok()) {
      acked.push_back(out.id());
      refused.erase(refused.begin());
      resumed = true;
    } else {
      ASSERT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << Describe(s);
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  ASSERT_TRUE(resumed) << "writes did not resume: " << Describe(s);
  std::cout << "disk full: writes resumed "
            << absl::FormatDuration(absl::Now() - freed)
            << " after the filler was removed\n";
  for (int i = 0; i < 5; ++i) {
    v1::Opportunity out;
    s = suite.CreateOpp(e2e::kRepAToken, Bulky(suite, 5000 + i),
                        absl::StrCat("after-", i), &out);
    ASSERT_TRUE(s.ok()) << Describe(s);
    acked.push_back(out.id());
  }

  EXPECT_TRUE(e2e::Eventually([&] {
    return suite
               .Metric(e2e::kPipeline, "salesops_feed_events_applied_total",
                       {{"source", "accounts"}})
               .value_or(-1) >= applied + 1;
  })) << "pipeline never applied "
      << late.id() << " after the disk full";

  // Every acknowledged create exactly once; the refused ones never made.
  listed = suite.ListOpps(e2e::kAdminToken, {}, &s);
  ASSERT_TRUE(s.ok()) << Describe(s);
  std::multiset<std::string> ids;
  std::set<std::string> names;
  for (const v1::Opportunity& o : listed) {
    ids.insert(o.id());
    names.insert(o.name());
  }
  for (const std::string& id : acked) {
    EXPECT_EQ(ids.count(id), 1u) << id;
  }
  EXPECT_EQ(listed.size(), acked.size());
  for (const auto& [rid, o] : refused) {
    EXPECT_EQ(names.count(o.name()), 0u) << rid << " was refused but stored";
  }
  std::string why;
  EXPECT_TRUE(suite.WaitForecastMatchesPipeline(suite.global.id(),
                                                absl::Seconds(30), &why))
      << why;
  EXPECT_EQ(suite.pid(e2e::kPipeline), restarted_pid);
  EXPECT_TRUE(suite.Running(e2e::kPipeline)) << "pipeline died";
  if (HasFailure()) {
    suite.DumpLogs();
  }
  suite.Stop(e2e::kPipeline);
  volume.Unmount();
}

// Fills the file system of `path` to its last byte (bounded: 256 MiB).
void FillUp(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  ASSERT_GE(fd, 0);
  const std::string chunk(64 * 1024, 'f');
  for (int i = 0; i < 4096; ++i) {
    if (write(fd, chunk.data(), chunk.size()) <= 0) {
      break;
    }
  }
  for (int i = 0; i < 64 * 1024; ++i) {  // the last partial chunk
    if (write(fd, chunk.data(), 1) <= 0) {
      break;
    }
  }
  fsync(fd);
  close(fd);
}

// Another program fills the volume to its last byte: the service keeps
// serving reads and refuses writes, and neither a stop (SIGTERM) nor a start
// after a crash aborts in RocksDB (finding 5: "the process dies on a RocksDB
// assertion ... each restart aborts again until an operator frees space").
// A start may refuse with a message saying the disk is full (or RocksDB's
// "No space left on device") naming the dir; once space is freed it starts
// with every acknowledged write.
TEST(HostileE2eTest, FullFileSystemNeverAbortsStartOrStop) {
  Suite suite;
  const std::string vol_dir = suite.dir().Sub("accounts-volume");
  Volume volume(vol_dir);
  if (!volume.tmpfs()) {
    GTEST_SKIP() << "SALESOPS_SKIPPED: needs a tmpfs (" << volume.why()
                 << "); a shared disk is not filled to its last byte";
  }
  suite.data_dir(e2e::kAccounts) = vol_dir + "/data";
  suite.extra_args(e2e::kAccounts) = {"--min_free_disk_bytes=1048576"};
  ASSERT_TRUE(suite.Start(e2e::kAccounts));
  const v1::OrgNode root = suite.Node(v1::ORG_NODE_KIND_GLOBAL, "Global", "");
  std::set<std::string> acked;
  for (int i = 0; i < 200; ++i) {  // about 250 KB in the write-ahead log
    v1::CreateAccountRequest req;
    req.mutable_account()->set_name(absl::StrCat("account ", i));
    req.mutable_account()->set_owner_node_id(root.id());
    req.mutable_account()->set_address(std::string(990, 'a'));
    v1::Account out;
    const grpc::Status s = suite.accounts().CreateAccount(
        e2e::Ctx(e2e::kAdminToken).get(), req, &out);
    ASSERT_TRUE(s.ok()) << Describe(s);
    acked.insert(out.id());
  }
  const std::string filler = vol_dir + "/filler";
  ASSERT_NO_FATAL_FAILURE(FillUp(filler));
  ASSERT_EQ(FreeBytes(vol_dir), 0);

  // Running: reads answer, writes are refused.
  grpc::Status s;
  EXPECT_EQ(suite.ListAccounts(&s).size(), acked.size()) << Describe(s);
  suite.Account("one too many", root.id(), &s);
  EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << Describe(s);

  // Stopped: a clean exit, not SIGABRT.
  const std::optional<int> stopped = suite.Terminate(e2e::kAccounts);
  ASSERT_TRUE(stopped.has_value());
  EXPECT_FALSE(WIFSIGNALED(*stopped))
      << "SIGTERM on a full disk ended in signal " << WTERMSIG(*stopped);

  // Space back, a crash, the volume filled again: started on the full disk
  // it is up (and reading), or refused with a message — never an abort.
  // Twice.
  ASSERT_TRUE(fs::remove(filler));
  ASSERT_TRUE(suite.Start(e2e::kAccounts));
  ASSERT_TRUE(suite.Kill(e2e::kAccounts));
  ASSERT_NO_FATAL_FAILURE(FillUp(filler));
  ASSERT_EQ(FreeBytes(vol_dir), 0);
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<testing::Process> p =
        testing::Process::Start(suite.Args(e2e::kAccounts, false));
    ASSERT_NE(p, nullptr);
    const bool up =
        p->WaitForLine("accounts ready", absl::Seconds(15)).has_value();
    if (up) {
      EXPECT_EQ(suite.ListAccounts(&s).size(), acked.size()) << Describe(s);
      p->Signal(SIGTERM);
    }
    const std::optional<int> st = p->WaitExit(absl::Seconds(20));
    ASSERT_TRUE(st.has_value());
    const std::string log = p->Log();
    std::cout << "full file system: start " << attempt + 1 << " "
              << (up ? "came up and served reads, then " : "")
              << (WIFSIGNALED(*st)
                      ? absl::StrCat("died of signal ", WTERMSIG(*st))
                      : absl::StrCat("exited ", WEXITSTATUS(*st)))
              << "; last log line: "
              << log.substr(log.rfind('\n', log.size() - 2) + 1);
    EXPECT_FALSE(WIFSIGNALED(*st))
        << "start on a full disk ended in signal " << WTERMSIG(*st) << ":\n"
        << log;
    if (WIFEXITED(*st) && WEXITSTATUS(*st) != 0) {
      EXPECT_TRUE(absl::StrContains(log, "disk full") ||
                  absl::StrContains(log, "No space left on device"))
          << log;
      EXPECT_TRUE(absl::StrContains(log, vol_dir + "/data")) << log;
    }
  }

  // Space freed: it starts with every acknowledged write.
  ASSERT_TRUE(fs::remove(filler));
  ASSERT_TRUE(suite.Start(e2e::kAccounts));
  std::set<std::string> listed;
  for (const v1::Account& a : suite.ListAccounts(&s)) {
    listed.insert(a.id());
  }
  EXPECT_EQ(listed, acked) << Describe(s);
  if (HasFailure()) {
    suite.DumpLogs();
  }
  suite.Stop(e2e::kAccounts);
  volume.Unmount();
}

// ---- amounts ----

// The next calendar quarter's last day.
absl::CivilDay NextQuarterClose() {
  return absl::CivilDay(absl::CivilMonth(e2e::CloseDate()) + 3 + 1) - 1;
}

TEST(HostileE2eTest, HugeAmountsNeverStopForecast) {
  Suite suite;
  ASSERT_TRUE(suite.Build());
  // INT64_MAX, and one minor unit over the maximum magnitude: refused.
  for (const int64_t amount :
       {std::numeric_limits<int64_t>::max(), kMaxAmount + 1, -kMaxAmount - 1}) {
    v1::Opportunity out;
    const grpc::Status s = suite.CreateOpp(
        e2e::kAdminToken,
        Suite::NewOpp("too much", suite.acc_a.id(), suite.rep_a.id(), amount),
        absl::StrCat("too-much-", amount), &out);
    EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);
    EXPECT_TRUE(absl::StrContains(s.error_message(), "units_minor"))
        << Describe(s);
  }
  // Accepted amounts of 10^15 whose sum for rep A (and every node above it)
  // this quarter passes INT64_MAX; rep B and next quarter stay small.
  std::atomic<int> next{0}, failed{0};
  const absl::Time t0 = absl::Now();
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&] {
      for (int i = next++; i < kHuge && failed < 5; i = next++) {
        v1::Opportunity out;
        const grpc::Status s = suite.CreateOpp(
            e2e::kAdminToken,
            Suite::NewOpp(absl::StrCat("huge ", i), suite.acc_a.id(),
                          suite.rep_a.id(), kMaxAmount),
            absl::StrCat("huge-", i), &out);
        if (!s.ok()) {
          ADD_FAILURE() << i << ": " << Describe(s);
          ++failed;
        }
      }
    });
  }
  for (std::thread& t : writers) {
    t.join();
  }
  ASSERT_EQ(failed, 0);
  std::cout << "amounts: " << kHuge << " opportunities of 10^15 in "
            << absl::FormatDuration(absl::Now() - t0) << "\n";
  v1::Opportunity small =
      Suite::NewOpp("small", suite.acc_b.id(), suite.rep_b.id(), kMaxAmount);
  v1::Opportunity out;
  ASSERT_TRUE(suite.CreateOpp(e2e::kAdminToken, small, "small", &out).ok());
  small.set_name("next quarter");
  small.set_account_id(suite.acc_a.id());
  small.set_owner_node_id(suite.rep_a.id());
  *small.mutable_expected_close_date() = e2e::ToDate(NextQuarterClose());
  ASSERT_TRUE(
      suite.CreateOpp(e2e::kAdminToken, small, "next-quarter", &out).ok());
  v1::GetFeedPositionResponse head;
  ASSERT_TRUE(suite.FeedPosition(e2e::kPipeline, &head).ok());

  // OUT_OF_RANGE only where a figure passes int64; the rest answers. Twice:
  // as followed, and after a restart of forecast (its Load).
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round == 0 ? "followed" : "after a restart");
    if (round == 1) {
      ASSERT_TRUE(suite.Stop(e2e::kForecast));
      ASSERT_TRUE(suite.Start(e2e::kForecast));
    }
    v1::Forecast f;
    grpc::Status s;
    ASSERT_TRUE(e2e::Eventually([&] {  // forecast has followed the writes
      v1::GetForecastRequest req;
      req.set_node_id(suite.rep_b.id());
      const absl::CivilDay close = e2e::CloseDate();
      req.set_fiscal_year(static_cast<int32_t>(close.year()));
      req.set_fiscal_quarter((close.month() - 1) / 3 + 1);
      req.set_min_pipeline_sequence(head.sequence());
      s = suite.forecast().GetForecast(e2e::Ctx(e2e::kAdminToken).get(), req,
                                       &f);
      return s.ok();
    })) << Describe(s);
    EXPECT_EQ(f.node().pipeline_weighted().units_minor(),
              kMaxAmount / 10000 * WinRate(suite, "CONSIDERATION"));
    for (const v1::OrgNode* n :
         {&suite.rep_a, &suite.team, &suite.region, &suite.global}) {
      s = suite.GetForecast(e2e::kAdminToken, n->id(), &f);
      EXPECT_EQ(s.error_code(), StatusCode::OUT_OF_RANGE)
          << n->name() << ": " << Describe(s);
      EXPECT_TRUE(absl::StrContains(s.error_message(), n->id())) << Describe(s);
    }
    v1::GetForecastRequest req;
    req.set_node_id(suite.rep_a.id());
    req.set_fiscal_year(static_cast<int32_t>(NextQuarterClose().year()));
    req.set_fiscal_quarter((NextQuarterClose().month() - 1) / 3 + 1);
    s = suite.forecast().GetForecast(e2e::Ctx(e2e::kAdminToken).get(), req, &f);
    EXPECT_TRUE(s.ok()) << "next quarter: " << Describe(s);
    EXPECT_EQ(f.node().pipeline_weighted().units_minor(),
              kMaxAmount / 10000 * WinRate(suite, "CONSIDERATION"));
    EXPECT_TRUE(suite.Running(e2e::kForecast));
  }
  if (HasFailure()) {
    suite.DumpLogs();
  }
}

}  // namespace
}  // namespace salesops
