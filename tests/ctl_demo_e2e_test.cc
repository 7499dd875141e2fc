// End-to-end test of the README's run command's demo (scripts/run.sh): the
// four real binaries on loopback with --auth=none, as run.sh starts them, and
// the real salesopsctl:
//
//   `demo wait` reports all four SERVING;
//   `demo load` loads the demo dataset and prints a forecast tree in which
//     China and the funnel rep (Li Na) show the seed funnel's (SPEC §7)
//     pipeline_weighted 3648000.00, and Global adds Europe's 129000.00;
//   `demo load` also sets dated exchange rates for USD, CNY, JPY and KWD;
//   `demo load` again changes nothing (the accounts and pipeline feed
//     positions and credit's receivables, payments and promises stay as they
//     were), says the data is already loaded and prints the same tree.
//
// Every wait is bounded; the services are stopped with SIGTERM at the end and
// must exit 0.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/testing/process.h"
#include "common/testing/temp_dir.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/feed.grpc.pb.h"
#include "tests/e2e.h"

namespace salesops {
namespace {

using e2e::Ctx;
using e2e::Describe;
using e2e::Launch;
using e2e::Service;

std::string Addr(int port) { return absl::StrCat("127.0.0.1:", port); }

// The text of `line` after its indentation and any tree-drawing characters.
absl::string_view Unindented(absl::string_view line) {
  size_t i = 0;
  while (i < line.size()) {
    const unsigned char ch = static_cast<unsigned char>(line[i]);
    if (ch == ' ' || ch == '\t' || ch == '|' || ch == '`' || ch == '-' ||
        ch == '+' || ch == '*' || ch >= 0x80) {
      ++i;
      continue;
    }
    break;
  }
  return line.substr(i);
}

// The first line of `out` naming org node `name` at its start (so "China"
// is not "East China"), or "" when none.
std::string LineOf(const std::string& out, absl::string_view name) {
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    const absl::string_view text = Unindented(line);
    if (absl::StartsWith(text, name) &&
        (text.size() == name.size() || text[name.size()] == ' ' ||
         text[name.size()] == '\t' || text[name.size()] == ',' ||
         text[name.size()] == '(')) {
      return std::string(line);
    }
  }
  return "";
}

struct Counts {
  uint64_t accounts_feed = 0;
  uint64_t pipeline_feed = 0;
  int receivables = 0;
  int payments = 0;
  int promises = 0;
  int broken_promises = 0;
  int kept_promises = 0;
};

class CtlDemoE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int* port :
         {&accounts_port_, &pipeline_port_, &forecast_port_, &credit_port_}) {
      *port = e2e::FreeLoopbackPort();
      ASSERT_GT(*port, 0);
    }
    // As scripts/run.sh: accounts, pipeline, forecast, credit, each with its
    // peers' addresses (pipeline and credit name each other).
    ASSERT_NO_FATAL_FAILURE(
        Start(&accounts_, "accounts", {SALESOPS_ACCOUNTS_BIN}, accounts_port_));
    ASSERT_NO_FATAL_FAILURE(
        Start(&pipeline_, "pipeline",
              {SALESOPS_PIPELINE_BIN, "--accounts_addr=" + Addr(accounts_port_),
               "--credit_addr=" + Addr(credit_port_)},
              pipeline_port_));
    ASSERT_NO_FATAL_FAILURE(
        Start(&forecast_, "forecast",
              {SALESOPS_FORECAST_BIN, "--accounts_addr=" + Addr(accounts_port_),
               "--pipeline_addr=" + Addr(pipeline_port_),
               "--credit_addr=" + Addr(credit_port_)},
              forecast_port_));
    ASSERT_NO_FATAL_FAILURE(
        Start(&credit_, "credit",
              {SALESOPS_CREDIT_BIN, "--accounts_addr=" + Addr(accounts_port_),
               "--pipeline_addr=" + Addr(pipeline_port_)},
              credit_port_));
  }

  void TearDown() override {
    // A clean stop: SIGTERM drains and exits 0.
    for (Service* s : {&forecast_, &credit_, &pipeline_, &accounts_}) {
      if (s->process == nullptr) {
        continue;
      }
      s->process->Signal(SIGTERM);
      const std::optional<int> status = s->process->WaitExit(absl::Seconds(20));
      EXPECT_TRUE(status.has_value() && WIFEXITED(*status) &&
                  WEXITSTATUS(*status) == 0)
          << "service did not stop cleanly:\n"
          << s->process->Log();
    }
    if (HasFailure()) {
      for (Service* s : {&accounts_, &pipeline_, &forecast_, &credit_}) {
        if (s->process != nullptr) {
          const std::string log = s->process->Log();
          std::cerr << "---- log tail (pid " << s->process->pid() << ")\n"
                    << log.substr(log.size() > 4000 ? log.size() - 4000 : 0)
                    << "\n";
        }
      }
    }
  }

  void Start(Service* s, const std::string& name, std::vector<std::string> args,
             int port) {
    args.push_back(absl::StrCat("--listen=127.0.0.1:", port));
    args.push_back("--metrics_listen=127.0.0.1:0");
    args.push_back("--auth=none");
    args.push_back("--data_dir=" + dir_.Sub(name));
    args.push_back("--init");
    *s = Launch(args, name);
    ASSERT_NE(s->process, nullptr) << name;
    ASSERT_EQ(s->port, port) << name << " did not come up on its port:\n"
                             << s->process->Log();
  }

  // Runs salesopsctl with the four addresses and `words`; returns its exit
  // status (-1 when it did not end within 120 s) and its output.
  std::pair<int, std::string> Ctl(const std::vector<std::string>& words) {
    std::vector<std::string> args = {
        SALESOPSCTL_BIN, "--accounts=" + Addr(accounts_port_),
        "--pipeline=" + Addr(pipeline_port_),
        "--forecast=" + Addr(forecast_port_), "--credit=" + Addr(credit_port_)};
    args.insert(args.end(), words.begin(), words.end());
    std::unique_ptr<testing::Process> p = testing::Process::Start(args);
    if (p == nullptr) {
      return {-1, ""};
    }
    const std::optional<int> status = p->WaitExit(absl::Seconds(120));
    const int code =
        status.has_value() && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    return {code, p->Log()};
  }

  uint64_t FeedPosition(const Service& s) {
    auto stub = v1::FeedService::NewStub(s.channel);
    v1::GetFeedPositionResponse resp;
    const grpc::Status st =
        stub->GetFeedPosition(Ctx().get(), v1::GetFeedPositionRequest(), &resp);
    EXPECT_TRUE(st.ok()) << Describe(st);
    return resp.sequence();
  }

  Counts Count() {
    Counts c;
    c.accounts_feed = FeedPosition(accounts_);
    c.pipeline_feed = FeedPosition(pipeline_);
    auto accounts = v1::AccountsService::NewStub(accounts_.channel);
    auto credit = v1::CreditService::NewStub(credit_.channel);
    v1::ListAccountsRequest list;
    list.set_page_size(1000);
    v1::ListAccountsResponse all;
    grpc::Status st = accounts->ListAccounts(Ctx().get(), list, &all);
    EXPECT_TRUE(st.ok()) << Describe(st);
    for (const v1::Account& a : all.accounts()) {
      v1::ListReceivablesRequest rr;
      rr.set_account_id(a.id());
      rr.set_page_size(1000);
      v1::ListReceivablesResponse rs;
      st = credit->ListReceivables(Ctx().get(), rr, &rs);
      EXPECT_TRUE(st.ok()) << Describe(st);
      c.receivables += rs.receivables_size();
      v1::ListPaymentsRequest pr;
      pr.set_account_id(a.id());
      pr.set_page_size(1000);
      v1::ListPaymentsResponse ps;
      st = credit->ListPayments(Ctx().get(), pr, &ps);
      EXPECT_TRUE(st.ok()) << Describe(st);
      c.payments += ps.payments_size();
      v1::ListPromisesRequest mr;
      mr.set_account_id(a.id());
      mr.set_page_size(1000);
      v1::ListPromisesResponse ms;
      st = credit->ListPromises(Ctx().get(), mr, &ms);
      EXPECT_TRUE(st.ok()) << Describe(st);
      c.promises += ms.promises_size();
      for (const v1::Promise& p : ms.promises()) {
        c.broken_promises += p.state() == v1::PROMISE_STATE_BROKEN;
        c.kept_promises += p.state() == v1::PROMISE_STATE_KEPT;
      }
    }
    return c;
  }

  // The tree's lines for China, the funnel rep and Global.
  static void ExpectTree(const std::string& out) {
    const std::string china = LineOf(out, "China");
    EXPECT_TRUE(absl::StrContains(china, "3648000.00"))
        << "China line: \"" << china << "\"\n"
        << out;
    const std::string rep = LineOf(out, "Li Na");
    EXPECT_TRUE(absl::StrContains(rep, "3648000.00"))
        << "Li Na line: \"" << rep << "\"\n"
        << out;
    // Quota 5,000,000.00 on the funnel rep (SPEC §7).
    EXPECT_TRUE(absl::StrContains(rep, "5000000.00"))
        << "Li Na line: \"" << rep << "\"\n"
        << out;
    // Global: China plus Europe's 350,000 × 30% + 120,000 × 20%.
    const std::string global = LineOf(out, "Global");
    EXPECT_TRUE(absl::StrContains(global, "3777000.00"))
        << "Global line: \"" << global << "\"\n"
        << out;
    // Where everything listens.
    for (const char* service : {"accounts", "pipeline", "forecast", "credit"}) {
      EXPECT_TRUE(absl::StrContains(out, service)) << service << "\n" << out;
    }
  }

  testing::TempDir dir_;
  int accounts_port_ = 0;
  int pipeline_port_ = 0;
  int forecast_port_ = 0;
  int credit_port_ = 0;
  Service accounts_;
  Service pipeline_;
  Service forecast_;
  Service credit_;
};

TEST_F(CtlDemoE2eTest, LoadsOnceAndPrintsTheSeedFunnel) {
  {
    const auto [code, out] = Ctl({"demo", "wait", "--wait_seconds=60"});
    ASSERT_EQ(code, 0) << out;
    for (const char* service : {"accounts", "pipeline", "forecast", "credit"}) {
      EXPECT_TRUE(absl::StrContains(out, absl::StrCat(service, " ")) &&
                  absl::StrContains(out, "SERVING"))
          << out;
    }
  }

  const auto [code1, out1] = Ctl({"demo", "load"});
  ASSERT_EQ(code1, 0) << out1;
  std::cout << out1;
  ExpectTree(out1);
  EXPECT_FALSE(absl::StrContains(out1, "already loaded")) << out1;
  const Counts before = Count();
  EXPECT_GT(before.accounts_feed, 0u);
  EXPECT_GT(before.pipeline_feed, 0u);
  // Six ERP invoices and the two USAGE deals' contract receivables (credit
  // opens those from pipeline's feed, asynchronously).
  EXPECT_TRUE(e2e::Eventually([&] { return Count().receivables == 8; }))
      << Count().receivables;
  EXPECT_EQ(before.payments, 2);
  EXPECT_EQ(before.promises, 2);
  EXPECT_EQ(before.broken_promises, 1);  // judged by credit's run at once
  EXPECT_EQ(before.kept_promises, 1);
  // The demo's dated rates to EUR (issue 19): four currencies, each from
  // 2026-01-01 and from 2026-07-01.
  const auto [code_rates, rates] = Ctl({"rates", "list", "--output=csv"});
  ASSERT_EQ(code_rates, 0) << rates;
  for (const char* entry :
       {"CNY,2026-01-01,0.128,EUR", "CNY,2026-07-01,0.125,EUR",
        "JPY,2026-01-01,0.0061,EUR", "JPY,2026-07-01,0.0059,EUR",
        "KWD,2026-01-01,2.99,EUR", "KWD,2026-07-01,2.93,EUR",
        "USD,2026-01-01,0.92,EUR", "USD,2026-07-01,0.9,EUR"}) {
    EXPECT_TRUE(absl::StrContains(rates, entry)) << entry << "\n" << rates;
  }

  const auto [code2, out2] = Ctl({"demo", "load"});
  ASSERT_EQ(code2, 0) << out2;
  EXPECT_TRUE(absl::StrContains(out2, "already loaded")) << out2;
  ExpectTree(out2);
  const Counts after = Count();
  EXPECT_EQ(after.accounts_feed, before.accounts_feed);
  EXPECT_EQ(after.pipeline_feed, before.pipeline_feed);
  EXPECT_EQ(after.receivables, 8);
  EXPECT_EQ(after.payments, before.payments);
  EXPECT_EQ(after.promises, before.promises);

  // `demo tree` only prints.
  const auto [code3, out3] = Ctl({"demo", "tree"});
  ASSERT_EQ(code3, 0) << out3;
  ExpectTree(out3);
  EXPECT_EQ(Count().pipeline_feed, before.pipeline_feed);
}

}  // namespace
}  // namespace salesops
