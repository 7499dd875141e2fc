// End-to-end test of salesopsctl's dated exchange rates (issue 19): the real
// accounts binary (reporting currency EUR, --auth=none as scripts/run.sh) and
// the real salesopsctl:
//
//   `rates set` creates, corrects (history) and withdraws entries; a stale
//     --expected-version exits 3 (ABORTED), a missing --rate exits 2, the
//     reporting currency itself exits 1 with the server's message;
//   `rates list` prints them by currency then start date (table and json),
//     `--currency` keeps one;
//   `export rates` writes the import columns; `import rates` sets a file's
//     rows, reports rejected ones with exit 4, and importing the same file
//     again writes nothing (the accounts feed position stays).
//
// Every wait is bounded; accounts is stopped with SIGTERM and must exit 0.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/testing/process.h"
#include "common/testing/temp_dir.h"
#include "salesops/v1/feed.grpc.pb.h"
#include "tests/e2e.h"

namespace salesops {
namespace {

using e2e::Ctx;
using e2e::Describe;
using e2e::Launch;
using e2e::Service;

struct CtlRun {
  int code = -1;
  std::string out;  // stdout and stderr
};

class CtlRatesE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = e2e::FreeLoopbackPort();
    ASSERT_GT(port_, 0);
    accounts_ = Launch(
        {SALESOPS_ACCOUNTS_BIN, absl::StrCat("--listen=127.0.0.1:", port_),
         "--metrics_listen=127.0.0.1:0", "--auth=none",
         "--data_dir=" + dir_.Sub("accounts"), "--init", "--currency=EUR"},
        "accounts");
    ASSERT_NE(accounts_.process, nullptr);
    ASSERT_EQ(accounts_.port, port_) << accounts_.process->Log();
  }

  void TearDown() override {
    if (accounts_.process == nullptr) {
      return;
    }
    accounts_.process->Signal(SIGTERM);
    const std::optional<int> status =
        accounts_.process->WaitExit(absl::Seconds(20));
    EXPECT_TRUE(status.has_value() && WIFEXITED(*status) &&
                WEXITSTATUS(*status) == 0)
        << accounts_.process->Log();
  }

  // salesopsctl `words` against accounts; its exit code (-1 when it did not
  // end within 60 s) and output.
  CtlRun Ctl(const std::vector<std::string>& words) {
    std::vector<std::string> args = {
        SALESOPSCTL_BIN, absl::StrCat("--accounts=127.0.0.1:", port_)};
    args.insert(args.end(), words.begin(), words.end());
    std::unique_ptr<testing::Process> p = testing::Process::Start(args);
    if (p == nullptr) {
      return {};
    }
    const std::optional<int> status = p->WaitExit(absl::Seconds(60));
    CtlRun r;
    r.code =
        status.has_value() && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    r.out = p->Log();
    return r;
  }

  uint64_t FeedPosition() {
    auto stub = v1::FeedService::NewStub(accounts_.channel);
    v1::GetFeedPositionResponse resp;
    const grpc::Status st =
        stub->GetFeedPosition(Ctx().get(), v1::GetFeedPositionRequest(), &resp);
    EXPECT_TRUE(st.ok()) << Describe(st);
    return resp.sequence();
  }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  testing::TempDir dir_;
  int port_ = 0;
  Service accounts_;
};

TEST_F(CtlRatesE2eTest, SetListExportImport) {
  CtlRun r = Ctl({"rates", "set", "--currency=USD", "--start=2026-01-01",
                  "--rate=0.9200", "--note=ECB reference"});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "0.92 ")) << r.out;  // canonical
  r = Ctl({"rates", "set", "--currency=USD", "--start=2026-01-01",
           "--rate=0.925", "--expected-version=1", "--note=typo",
           "--output=json"});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "\"version\": \"2\"")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "\"history\"")) << r.out;
  // Stale version: ABORTED is retryable (exit 3).
  r = Ctl({"rates", "set", "--currency=USD", "--start=2026-01-01",
           "--rate=0.93", "--expected-version=1"});
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "ABORTED")) << r.out;
  r = Ctl({"rates", "set", "--currency=USD", "--start=2026-01-01"});
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "--rate: required")) << r.out;
  r = Ctl({"rates", "set", "--currency=EUR", "--start=2026-01-01", "--rate=1"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(absl::StrContains(
      r.out, "currency: must differ from the reporting currency EUR"))
      << r.out;
  ASSERT_EQ(Ctl({"rates", "set", "--currency=JPY", "--start=2026-01-01",
                 "--rate=0.0061"})
                .code,
            0);
  r = Ctl({"rates", "set", "--currency=JPY", "--start=2026-01-01",
           "--withdrawn", "--note=wrong currency"});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "true")) << r.out;

  // By currency, then start date; withdrawn included.
  r = Ctl({"rates", "list"});
  ASSERT_EQ(r.code, 0) << r.out;
  const size_t jpy = r.out.find("JPY");
  const size_t usd = r.out.find("USD");
  ASSERT_NE(jpy, std::string::npos) << r.out;
  ASSERT_NE(usd, std::string::npos) << r.out;
  EXPECT_LT(jpy, usd) << r.out;
  r = Ctl({"rates", "list", "--currency=USD", "--output=json"});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_FALSE(absl::StrContains(r.out, "JPY")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "\"rate\": \"0.925\"")) << r.out;

  // Export, then import a file with two more entries and a bad row.
  const std::string exported = dir_.Sub("rates.csv");
  ASSERT_EQ(Ctl({"export", "rates", "--file=" + exported}).code, 0);
  const std::string csv = Slurp(exported);
  EXPECT_TRUE(absl::StartsWith(csv, "currency,start_date,rate,note,withdrawn"))
      << csv;
  EXPECT_TRUE(absl::StrContains(csv, "USD,2026-01-01,0.925,typo,false")) << csv;
  EXPECT_TRUE(absl::StrContains(csv, "JPY,2026-01-01,,wrong currency,true"))
      << csv;
  {
    std::ofstream f(exported, std::ios::app);
    f << "KWD,2026-01-01,2.99,,false\r\nCNY,2026-07-01,0.125,,\r\n"
         "CNY,2026-02-30,0.13,,\r\n";
  }
  r = Ctl({"import", "rates", "--file=" + exported});
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "imported 4, rejected 1, of 5 rows"))
      << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "2026-02-30")) << r.out;
  const uint64_t after_import = FeedPosition();
  r = Ctl({"import", "rates", "--file=" + exported});
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_EQ(FeedPosition(), after_import) << "a second import wrote";
  r = Ctl({"rates", "list", "--output=csv"});
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "KWD,2026-01-01,2.99,EUR")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "CNY,2026-07-01,0.125,EUR")) << r.out;
}

}  // namespace
}  // namespace salesops
