// End-to-end test of `salesopsctl forecast ...` and `salesopsctl credit ...`
// (SPEC.md §4, §5, §7) against the four real binaries on loopback with
// bearer tokens (--auth=tokens; ADMIN and FINANCE for the CLI, SERVICE for the
// peers).
//
// The world, set up once with a plain gRPC client:
//   org:      Global ─┬─ Asia-Pacific ── China ── Beijing Team ── Li Wei
//                     └─ EMEA ── Germany ── DACH Team ── Anna Berger
//   accounts: "Huadong Power" owned by Li Wei, "Rheinwerk AG" by Anna;
//   quota:    Li Wei 5,000,000.00 EUR for the current quarter;
//   pipeline: the SPEC §7 funnel on Li Wei: 18 buying-cycle-6 opportunities
//             (5 INTEREST 300, 4 CONSIDERATION 240, 3 DESIGN 176,
//             2 COMPARISON 464, 2 COMMITMENT 146, 2 USAGE 98; units of
//             10,000 EUR) — weighted 3,648,000.00, coverage 72.96%.
//
// Then everything is read and written through salesopsctl, parsing its table,
// CSV and JSON output, and compared with the services' own answers.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/money/money.h"
#include "common/testing/builders.h"
#include "common/testing/process.h"
#include "common/testing/temp_dir.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/forecast.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "tests/e2e.h"

namespace salesops {
namespace {

using e2e::Ctx;
using e2e::Describe;
using e2e::Eventually;
using e2e::Launch;
using e2e::Service;
using e2e::TokenLine;
using e2e::WriteFile;

constexpr char kAdmin[] = "ctl-fc-admin-token";
constexpr char kFinance[] = "ctl-fc-finance-token";
constexpr char kPeer[] = "ctl-fc-peer-token";

// 10,000 EUR in cents: the unit of SPEC §7's table.
constexpr int64_t kTenThousand = 1'000'000;
constexpr int64_t kQuota = 500'000'000;     // 5,000,000.00
constexpr int64_t kWeighted = 364'800'000;  // 3,648,000.00

using ::salesops::testing::Eur;

std::string Text(int64_t minor) { return money::Format(minor, 2); }

v1::Date ToDate(absl::CivilDay d) {
  v1::Date out;
  out.set_year(static_cast<int32_t>(d.year()));
  out.set_month(d.month());
  out.set_day(d.day());
  return out;
}

std::string DayText(absl::CivilDay d) {
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

absl::CivilDay TodayUtc() {
  return absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
}

int QuarterOf(absl::CivilDay d) { return (d.month() - 1) / 3 + 1; }

absl::CivilDay LastDayOfQuarter(absl::CivilDay d) {
  const absl::CivilMonth first_of_next(d.year(), QuarterOf(d) * 3 + 1);
  return absl::CivilDay(first_of_next) - 1;
}

// ---- Parsing the CLI's output ----

// RFC 4180 records (quoted fields, "" escapes, CRLF or LF line ends).
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  bool any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
      any = true;
    } else if (c == '\r') {
      continue;
    } else if (c == '\n') {
      if (any || !field.empty()) {
        row.push_back(field);
        rows.push_back(row);
      }
      row.clear();
      field.clear();
      any = false;
    } else {
      field += c;
      any = true;
    }
  }
  if (any || !field.empty()) {
    row.push_back(field);
    rows.push_back(row);
  }
  return rows;
}

// A CSV table as maps from header to cell, one per data row.
std::vector<std::map<std::string, std::string>> CsvRecords(
    const std::string& text) {
  std::vector<std::vector<std::string>> rows = ParseCsv(text);
  std::vector<std::map<std::string, std::string>> out;
  if (rows.empty()) {
    return out;
  }
  for (size_t r = 1; r < rows.size(); ++r) {
    std::map<std::string, std::string> rec;
    for (size_t c = 0; c < rows[0].size() && c < rows[r].size(); ++c) {
      rec[rows[0][c]] = rows[r][c];
    }
    out.push_back(std::move(rec));
  }
  return out;
}

// One line of the table format: its indentation and its cells (columns are
// separated by at least two spaces).
struct TableLine {
  int indent = 0;
  std::vector<std::string> cells;
};

std::vector<TableLine> ParseTable(const std::string& text) {
  std::vector<TableLine> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty()) {
      continue;
    }
    TableLine t;
    size_t i = 0;
    while (i < line.size() && line[i] == ' ') {
      ++i;
    }
    t.indent = static_cast<int>(i);
    std::string cell;
    int spaces = 0;
    for (; i < line.size(); ++i) {
      if (line[i] == ' ') {
        ++spaces;
        continue;
      }
      if (spaces >= 2) {
        t.cells.push_back(cell);
        cell.clear();
      } else if (spaces == 1) {
        cell += ' ';
      }
      spaces = 0;
      cell += line[i];
    }
    t.cells.push_back(cell);
    out.push_back(std::move(t));
  }
  return out;
}

struct CtlResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

class CtlForecastCreditTest : public ::testing::Test {
 protected:
  // ---- The shared world ----
  struct World {
    testing::TempDir dir;
    Service accounts, pipeline, forecast, credit;
    int accounts_port = 0, pipeline_port = 0, forecast_port = 0,
        credit_port = 0;
    std::unique_ptr<v1::AccountsService::Stub> accounts_stub;
    std::unique_ptr<v1::PipelineService::Stub> pipeline_stub;
    std::unique_ptr<v1::ForecastService::Stub> forecast_stub;
    std::unique_ptr<v1::CreditService::Stub> credit_stub;
    std::map<std::string, v1::OrgNode> nodes;  // by name
    v1::Account funnel_account;                // Li Wei's
    v1::Account credit_account;                // Anna's
    v1::StageModel model;
    std::vector<v1::Opportunity> usage_opportunities;
    absl::CivilDay today;
    int year = 0;
    int quarter = 0;
    bool ready = false;
  };
  static World* world_;

  static void SetUpTestSuite() {
    world_ = new World();
    BuildWorld(*world_);
  }

  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(world_, nullptr);
    ASSERT_TRUE(world_->ready) << "the world was not built";
  }

  void TearDown() override {
    if (!HasFailure() || world_ == nullptr) {
      return;
    }
    for (const Service* s : {&world_->accounts, &world_->pipeline,
                             &world_->forecast, &world_->credit}) {
      if (s->process != nullptr) {
        const std::string log = s->process->Log();
        std::cerr << "---- log tail (pid " << s->process->pid() << ")\n"
                  << log.substr(log.size() > 3000 ? log.size() - 3000 : 0)
                  << "\n";
      }
    }
  }

  static std::string Addr(int port) { return absl::StrCat("127.0.0.1:", port); }

  static void Start(World& w, const std::string& name, std::string bin,
                    int port, std::vector<std::string> peers, Service* s) {
    std::vector<std::string> args = {std::move(bin)};
    for (std::string& p : peers) {
      args.push_back(std::move(p));
    }
    for (std::string a :
         {absl::StrCat("--listen=", Addr(port)),
          std::string("--metrics_listen=127.0.0.1:0"),
          std::string("--auth=tokens"), "--tokens_file=" + w.dir.Sub("tokens"),
          "--peer_token_file=" + w.dir.Sub("peer.token"),
          "--data_dir=" + w.dir.Sub(name), std::string("--init"),
          std::string("--currency=EUR"), std::string("--time_zone=UTC")}) {
      args.push_back(std::move(a));
    }
    *s = Launch(args, name);
    ASSERT_NE(s->process, nullptr) << name;
    ASSERT_EQ(s->port, port) << name << " did not come up:\n"
                             << s->process->Log();
  }

  static v1::OrgNode Node(World& w, v1::OrgNodeKind kind,
                          const std::string& name, const std::string& parent) {
    v1::CreateOrgNodeRequest req;
    req.mutable_node()->set_kind(kind);
    req.mutable_node()->set_name(name);
    req.mutable_node()->set_parent_id(parent);
    v1::OrgNode node;
    grpc::Status s =
        w.accounts_stub->CreateOrgNode(Ctx(kAdmin).get(), req, &node);
    EXPECT_TRUE(s.ok()) << name << ": " << Describe(s);
    w.nodes[name] = node;
    return node;
  }

  static v1::Account Account(World& w, const std::string& name,
                             const std::string& owner) {
    v1::CreateAccountRequest req;
    req.mutable_account()->set_name(name);
    req.mutable_account()->set_owner_node_id(owner);
    v1::Account out;
    grpc::Status s =
        w.accounts_stub->CreateAccount(Ctx(kAdmin).get(), req, &out);
    EXPECT_TRUE(s.ok()) << name << ": " << Describe(s);
    return out;
  }

  // Creates an opportunity of Li Wei's and walks it to `stage`.
  static v1::Opportunity Opportunity(World& w, const std::string& name,
                                     int64_t amount, const std::string& stage) {
    v1::CreateOpportunityRequest req;
    v1::Opportunity* o = req.mutable_opportunity();
    o->set_account_id(w.funnel_account.id());
    o->set_owner_node_id(w.nodes["Li Wei"].id());
    o->set_name(name);
    *o->mutable_amount() = Eur(amount);
    *o->mutable_expected_close_date() = ToDate(LastDayOfQuarter(w.today));
    o->set_stage_model_id("buying-cycle-6");
    req.set_request_id(absl::StrCat("ctl-fc-", name));
    v1::Opportunity opp;
    grpc::Status s =
        w.pipeline_stub->CreateOpportunity(Ctx(kAdmin).get(), req, &opp);
    EXPECT_TRUE(s.ok()) << name << ": " << Describe(s);
    if (!s.ok()) {
      return opp;
    }
    // At most one move per stage of the model.
    for (int step = 0; step < w.model.stages_size() && opp.stage_key() != stage;
         ++step) {
      int at = -1;
      for (int i = 0; i < w.model.stages_size(); ++i) {
        if (w.model.stages(i).key() == opp.stage_key()) {
          at = i;
        }
      }
      if (at < 0 || at + 1 >= w.model.stages_size()) {
        ADD_FAILURE() << "no stage after " << opp.stage_key();
        return opp;
      }
      for (const v1::ExitCriterion& c : w.model.stages(at).exit_criteria()) {
        if (!c.required()) {
          continue;
        }
        v1::SetExitCriterionRequest cr;
        cr.set_opportunity_id(opp.id());
        cr.set_stage_key(opp.stage_key());
        cr.set_criterion_key(c.key());
        cr.set_checked(true);
        cr.set_expected_version(opp.version());
        v1::Opportunity out;
        s = w.pipeline_stub->SetExitCriterion(Ctx(kAdmin).get(), cr, &out);
        if (!s.ok()) {
          ADD_FAILURE() << name << ": " << Describe(s);
          return opp;
        }
        opp = out;
      }
      v1::MoveStageRequest mr;
      mr.set_opportunity_id(opp.id());
      mr.set_to_stage_key(w.model.stages(at + 1).key());
      mr.set_expected_version(opp.version());
      v1::Opportunity out;
      s = w.pipeline_stub->MoveStage(Ctx(kAdmin).get(), mr, &out);
      if (!s.ok()) {
        ADD_FAILURE() << name << " → " << w.model.stages(at + 1).key() << ": "
                      << Describe(s);
        return opp;
      }
      opp = out;
    }
    EXPECT_EQ(opp.stage_key(), stage) << name;
    return opp;
  }

  static grpc::Status GetForecast(World& w, const std::string& node,
                                  v1::Forecast* f) {
    v1::GetForecastRequest req;
    req.set_node_id(node);
    req.set_fiscal_year(w.year);
    req.set_fiscal_quarter(w.quarter);
    return w.forecast_stub->GetForecast(Ctx(kAdmin).get(), req, f);
  }

  static void BuildWorld(World& w) {
    for (int* port : {&w.accounts_port, &w.pipeline_port, &w.forecast_port,
                      &w.credit_port}) {
      *port = e2e::FreeLoopbackPort();
      ASSERT_GT(*port, 0);
    }
    WriteFile(w.dir.Sub("peer.token"), std::string(kPeer) + "\n");
    WriteFile(w.dir.Sub("tokens"),
              TokenLine(kAdmin, "admin", "ADMIN") +
                  TokenLine(kFinance, "finance", "FINANCE") +
                  TokenLine(kPeer, "peer", "SERVICE"));
    ASSERT_NO_FATAL_FAILURE(Start(w, "accounts", SALESOPS_ACCOUNTS_BIN,
                                  w.accounts_port, {}, &w.accounts));
    ASSERT_NO_FATAL_FAILURE(Start(w, "pipeline", SALESOPS_PIPELINE_BIN,
                                  w.pipeline_port,
                                  {"--accounts_addr=" + Addr(w.accounts_port),
                                   "--credit_addr=" + Addr(w.credit_port)},
                                  &w.pipeline));
    ASSERT_NO_FATAL_FAILURE(Start(w, "credit", SALESOPS_CREDIT_BIN,
                                  w.credit_port,
                                  {"--accounts_addr=" + Addr(w.accounts_port),
                                   "--pipeline_addr=" + Addr(w.pipeline_port)},
                                  &w.credit));
    ASSERT_NO_FATAL_FAILURE(Start(w, "forecast", SALESOPS_FORECAST_BIN,
                                  w.forecast_port,
                                  {"--accounts_addr=" + Addr(w.accounts_port),
                                   "--pipeline_addr=" + Addr(w.pipeline_port),
                                   "--credit_addr=" + Addr(w.credit_port)},
                                  &w.forecast));
    w.accounts_stub = v1::AccountsService::NewStub(w.accounts.channel);
    w.pipeline_stub = v1::PipelineService::NewStub(w.pipeline.channel);
    w.forecast_stub = v1::ForecastService::NewStub(w.forecast.channel);
    w.credit_stub = v1::CreditService::NewStub(w.credit.channel);

    w.today = TodayUtc();
    w.year = static_cast<int>(w.today.year());
    w.quarter = QuarterOf(w.today);

    const v1::OrgNode global = Node(w, v1::ORG_NODE_KIND_GLOBAL, "Global", "");
    const v1::OrgNode apac =
        Node(w, v1::ORG_NODE_KIND_REGION, "Asia-Pacific", global.id());
    const v1::OrgNode china =
        Node(w, v1::ORG_NODE_KIND_AREA, "China", apac.id());
    const v1::OrgNode bj =
        Node(w, v1::ORG_NODE_KIND_TEAM, "Beijing Team", china.id());
    const v1::OrgNode li = Node(w, v1::ORG_NODE_KIND_REP, "Li Wei", bj.id());
    const v1::OrgNode emea =
        Node(w, v1::ORG_NODE_KIND_REGION, "EMEA", global.id());
    const v1::OrgNode de =
        Node(w, v1::ORG_NODE_KIND_AREA, "Germany", emea.id());
    const v1::OrgNode dach =
        Node(w, v1::ORG_NODE_KIND_TEAM, "DACH Team", de.id());
    const v1::OrgNode anna =
        Node(w, v1::ORG_NODE_KIND_REP, "Anna Berger", dach.id());
    ASSERT_FALSE(anna.id().empty());
    ASSERT_FALSE(li.id().empty());

    w.funnel_account = Account(w, "Huadong Power", li.id());
    w.credit_account = Account(w, "Rheinwerk AG", anna.id());
    ASSERT_FALSE(w.funnel_account.id().empty());
    ASSERT_FALSE(w.credit_account.id().empty());
    {
      v1::SetQuotaRequest req;
      req.set_node_id(li.id());
      req.set_fiscal_year(w.year);
      req.set_fiscal_quarter(w.quarter);
      *req.mutable_amount() = Eur(kQuota);
      v1::Quota out;
      grpc::Status s = w.accounts_stub->SetQuota(Ctx(kAdmin).get(), req, &out);
      ASSERT_TRUE(s.ok()) << Describe(s);
    }
    {
      v1::GetStageModelRequest req;
      req.set_id("buying-cycle-6");
      grpc::Status s =
          w.pipeline_stub->GetStageModel(Ctx(kAdmin).get(), req, &w.model);
      ASSERT_TRUE(s.ok()) << Describe(s);
    }
    // SPEC §7: per stage, the amounts in units of 10,000 EUR.
    const std::vector<std::pair<std::string, std::vector<int64_t>>> funnel = {
        {"INTEREST", {60, 60, 60, 60, 60}}, {"CONSIDERATION", {60, 60, 60, 60}},
        {"DESIGN", {60, 60, 56}},           {"COMPARISON", {232, 232}},
        {"COMMITMENT", {73, 73}},           {"USAGE", {49, 49}}};
    for (const auto& [stage, amounts] : funnel) {
      for (size_t i = 0; i < amounts.size(); ++i) {
        v1::Opportunity o = Opportunity(w, absl::StrCat(stage, "-", i + 1),
                                        amounts[i] * kTenThousand, stage);
        ASSERT_FALSE(::testing::Test::HasFailure());
        if (stage == "USAGE") {
          w.usage_opportunities.push_back(o);
        }
      }
    }
    // The forecast follows the feeds: wait for the rep and the top.
    for (const char* name : {"Li Wei", "Global"}) {
      v1::Forecast f;
      grpc::Status last;
      ASSERT_TRUE(Eventually([&] {
        f.Clear();
        last = GetForecast(w, w.nodes[name].id(), &f);
        return last.ok() &&
               f.node().pipeline_weighted().units_minor() == kWeighted &&
               f.node().quota().units_minor() == kQuota;
      })) << name
          << ": " << Describe(last) << " " << f.ShortDebugString();
    }
    w.ready = true;
  }

  // ---- Running the CLI ----

  static CtlResult Ctl(std::vector<std::string> args,
                       const std::string& token = kAdmin) {
    const World& w = *world_;
    std::vector<std::string> argv = {SALESOPSCTL_BIN,
                                     "--accounts=" + Addr(w.accounts_port),
                                     "--pipeline=" + Addr(w.pipeline_port),
                                     "--forecast=" + Addr(w.forecast_port),
                                     "--credit=" + Addr(w.credit_port),
                                     "--token=" + token,
                                     "--timeout=20"};
    for (std::string& a : args) {
      argv.push_back(std::move(a));
    }
    CtlResult r;
    std::unique_ptr<testing::Process> p = testing::Process::Start(argv);
    if (p == nullptr) {
      return r;
    }
    std::optional<int> status = p->WaitExit(absl::Seconds(60));
    r.output = p->Log();
    if (status.has_value() && WIFEXITED(*status)) {
      r.exit_code = WEXITSTATUS(*status);
    }
    return r;
  }

  // Runs a command that must succeed.
  static std::string Ok(std::vector<std::string> args,
                        const std::string& token = kAdmin) {
    std::string shown = absl::StrJoin(args, " ");
    CtlResult r = Ctl(std::move(args), token);
    EXPECT_EQ(r.exit_code, 0) << shown << "\n" << r.output;
    return r.output;
  }

  // A command whose CSV output is retried (bounded) until `done` holds: for
  // what credit learns from the feeds.
  template <typename F>
  static std::vector<std::map<std::string, std::string>> AwaitCsv(
      std::vector<std::string> args, F done, const std::string& token) {
    std::vector<std::map<std::string, std::string>> rows;
    std::string last;
    for (int attempt = 0; attempt < 100; ++attempt) {
      CtlResult r = Ctl(args, token);
      last = r.output;
      if (r.exit_code == 0) {
        rows = CsvRecords(r.output);
        if (done(rows)) {
          return rows;
        }
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
    ADD_FAILURE() << absl::StrJoin(args, " ") << " never matched; last:\n"
                  << last;
    return rows;
  }

  static std::string Id(const std::string& name) {
    return world_->nodes[name].id();
  }
  static std::string YearFlag() {
    return absl::StrCat("--year=", world_->year);
  }
  static std::string QuarterFlag() {
    return absl::StrCat("--quarter=", world_->quarter);
  }
};

CtlForecastCreditTest::World* CtlForecastCreditTest::world_ = nullptr;

std::string Percent(int64_t bp) { return money::Format(bp, 2) + "%"; }

// ---------------------------------------------------------------------------
// forecast tree / get / funnel, table, CSV and JSON

TEST_F(CtlForecastCreditTest, ForecastTreePrintsEveryLevelWithItsFigures) {
  World& w = *world_;
  const std::string out = Ok({"forecast", "tree", "--node=" + Id("Global"),
                              YearFlag(), QuarterFlag()});
  const std::vector<TableLine> lines = ParseTable(out);
  ASSERT_EQ(lines.size(), 10u) << out;  // header + 9 nodes
  const std::vector<std::string> header = {
      "node",     "closed", "collected", "pipeline_weighted",
      "forecast", "quota",  "coverage",  "needs_more_pipeline"};
  EXPECT_EQ(lines[0].cells, header) << out;
  const std::map<std::string, int> levels = {
      {"Global", 0},       {"Asia-Pacific", 1}, {"China", 2},
      {"Beijing Team", 3}, {"Li Wei", 4},       {"EMEA", 1},
      {"Germany", 2},      {"DACH Team", 3},    {"Anna Berger", 4}};
  std::map<std::string, int> seen;
  for (size_t i = 1; i < lines.size(); ++i) {
    const TableLine& l = lines[i];
    ASSERT_EQ(l.cells.size(), header.size()) << out;
    const std::string& name = l.cells[0];
    ASSERT_EQ(levels.count(name), 1u) << name << "\n" << out;
    EXPECT_EQ(l.indent, 2 * levels.at(name)) << name << "\n" << out;
    seen[name] = static_cast<int>(i);
    // The same figures as the service's own answer.
    v1::Forecast f;
    grpc::Status s = GetForecast(w, Id(name), &f);
    ASSERT_TRUE(s.ok()) << Describe(s);
    const v1::NodeForecast& n = f.node();
    EXPECT_EQ(l.cells[1], Text(n.closed().units_minor())) << name;
    EXPECT_EQ(l.cells[2], Text(n.collected().units_minor())) << name;
    EXPECT_EQ(l.cells[3], Text(n.pipeline_weighted().units_minor())) << name;
    EXPECT_EQ(l.cells[4], Text(n.forecast().units_minor())) << name;
    EXPECT_EQ(l.cells[5], Text(n.quota().units_minor())) << name;
    EXPECT_EQ(l.cells[6], Percent(n.coverage_bp())) << name;
    EXPECT_EQ(l.cells[7], n.needs_more_pipeline() ? "true" : "false") << name;
  }
  EXPECT_EQ(seen.size(), levels.size()) << out;
  // Depth first: each node right under its parent.
  EXPECT_EQ(seen["Global"], 1);
  EXPECT_EQ(seen["China"], seen["Asia-Pacific"] + 1);
  EXPECT_EQ(seen["Beijing Team"], seen["China"] + 1);
  EXPECT_EQ(seen["Li Wei"], seen["Beijing Team"] + 1);
  EXPECT_EQ(seen["Germany"], seen["EMEA"] + 1);
  EXPECT_EQ(seen["Anna Berger"], seen["DACH Team"] + 1);
  // SPEC §7: 3,648,000 of 5,000,000 is 72.96%, needing more pipeline — at
  // every level of Li Wei's line.
  for (const char* name : {"Li Wei", "Beijing Team", "China", "Asia-Pacific"}) {
    const TableLine& l = lines[seen[name]];
    EXPECT_EQ(l.cells[1], "0.00") << name;
    EXPECT_EQ(l.cells[3], "3648000.00") << name;
    EXPECT_EQ(l.cells[4], "3648000.00") << name;
    EXPECT_EQ(l.cells[5], "5000000.00") << name;
    EXPECT_EQ(l.cells[6], "72.96%") << name;
    EXPECT_EQ(l.cells[7], "true") << name;
  }
  // Anna has no quota: coverage 0.00%.
  EXPECT_EQ(lines[seen["Anna Berger"]].cells[6], "0.00%");

  // --depth bounds the levels.
  const std::vector<TableLine> shallow =
      ParseTable(Ok({"forecast", "tree", "--node=" + Id("Global"), YearFlag(),
                     QuarterFlag(), "--depth=1"}));
  ASSERT_EQ(shallow.size(), 4u);
  EXPECT_EQ(shallow[1].cells[0], "Global");
  for (size_t i = 2; i < shallow.size(); ++i) {
    EXPECT_EQ(shallow[i].indent, 2);
    EXPECT_TRUE(shallow[i].cells[0] == "Asia-Pacific" ||
                shallow[i].cells[0] == "EMEA")
        << shallow[i].cells[0];
  }
  const std::vector<TableLine> only =
      ParseTable(Ok({"forecast", "tree", "--node=" + Id("China"), YearFlag(),
                     QuarterFlag(), "--depth=0"}));
  ASSERT_EQ(only.size(), 2u);
  EXPECT_EQ(only[1].cells[0], "China");

  // Default quarter: the current calendar quarter (when the local one is
  // the UTC one the services use).
  const absl::CivilDay local =
      absl::ToCivilDay(absl::Now(), absl::LocalTimeZone());
  if (local.year() == w.year && QuarterOf(local) == w.quarter) {
    const std::vector<TableLine> now =
        ParseTable(Ok({"forecast", "tree", "--node=" + Id("Li Wei")}));
    ASSERT_EQ(now.size(), 2u);
    EXPECT_EQ(now[1].cells[6], "72.96%");
  }
}

TEST_F(CtlForecastCreditTest, ForecastTreeCsvAndJsonCarryIdsAndLevels) {
  const std::string csv =
      Ok({"--output=csv", "forecast", "tree", "--node=" + Id("Global"),
          YearFlag(), QuarterFlag()});
  const std::vector<std::vector<std::string>> rows = ParseCsv(csv);
  ASSERT_EQ(rows.size(), 10u) << csv;
  const std::vector<std::string> header = {"level",     "node_id",
                                           "node",      "closed",
                                           "collected", "pipeline_weighted",
                                           "forecast",  "quota",
                                           "coverage",  "needs_more_pipeline"};
  EXPECT_EQ(rows[0], header);
  const std::vector<std::map<std::string, std::string>> recs = CsvRecords(csv);
  std::map<std::string, std::map<std::string, std::string>> by_name;
  for (const auto& r : recs) {
    by_name[r.at("node")] = r;
  }
  ASSERT_EQ(by_name.size(), 9u);
  EXPECT_EQ(by_name["Global"]["level"], "0");
  EXPECT_EQ(by_name["Global"]["node_id"], Id("Global"));
  EXPECT_EQ(by_name["Li Wei"]["level"], "4");
  EXPECT_EQ(by_name["Li Wei"]["node_id"], Id("Li Wei"));
  EXPECT_EQ(by_name["Li Wei"]["coverage"], "72.96%");
  EXPECT_EQ(by_name["Li Wei"]["pipeline_weighted"], "3648000.00");
  EXPECT_EQ(by_name["EMEA"]["level"], "1");
  EXPECT_EQ(by_name["DACH Team"]["level"], "3");
  EXPECT_EQ(by_name["DACH Team"]["node"], "DACH Team");  // not indented

  const std::string json =
      Ok({"--output=json", "forecast", "tree", "--node=" + Id("Asia-Pacific"),
          YearFlag(), QuarterFlag()});
  google::protobuf::ListValue list;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &list).ok())
      << json;
  ASSERT_EQ(list.values_size(), 4);
  const auto& fields = list.values(3).struct_value().fields();
  ASSERT_EQ(fields.count("node"), 1u) << json;
  EXPECT_EQ(fields.at("node").string_value(), "Li Wei");
  EXPECT_EQ(fields.at("node_id").string_value(), Id("Li Wei"));
  EXPECT_EQ(fields.at("level").string_value(), "3");
  EXPECT_EQ(fields.at("forecast").string_value(), "3648000.00");
  EXPECT_EQ(fields.at("quota").string_value(), "5000000.00");
  EXPECT_EQ(fields.at("coverage").string_value(), "72.96%");
  EXPECT_EQ(fields.at("needs_more_pipeline").string_value(), "true");
}

TEST_F(CtlForecastCreditTest, ForecastGetAndFunnelShowTheSeedFunnel) {
  World& w = *world_;
  // funnel (CSV): SPEC §7's table.
  const std::string csv =
      Ok({"--output=csv", "forecast", "funnel", "--node=" + Id("Li Wei"),
          YearFlag(), QuarterFlag()});
  const auto recs = CsvRecords(csv);
  ASSERT_EQ(recs.size(), 6u) << csv;
  const std::vector<std::vector<std::string>> want = {
      {"INTEREST", "500", "5", "3000000.00", "150000.00"},
      {"CONSIDERATION", "1000", "4", "2400000.00", "240000.00"},
      {"DESIGN", "2000", "3", "1760000.00", "352000.00"},
      {"COMPARISON", "3000", "2", "4640000.00", "1392000.00"},
      {"COMMITMENT", "5000", "2", "1460000.00", "730000.00"},
      {"USAGE", "8000", "2", "980000.00", "784000.00"}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(recs[i].at("stage_key"), want[i][0]);
    EXPECT_EQ(recs[i].at("win_rate_bp"), want[i][1]);
    EXPECT_EQ(recs[i].at("count"), want[i][2]);
    EXPECT_EQ(recs[i].at("total"), want[i][3]);
    EXPECT_EQ(recs[i].at("weighted"), want[i][4]);
    EXPECT_EQ(recs[i].at("stage_model_id"), "buying-cycle-6");
  }

  // get (table): the node's figures, the funnel with its total line and the
  // children of a team.
  const std::string table = Ok(
      {"forecast", "get", "--node=" + Id("Li Wei"), YearFlag(), QuarterFlag()});
  EXPECT_TRUE(absl::StrContains(table, "Li Wei")) << table;
  EXPECT_TRUE(absl::StrContains(table, "72.96%")) << table;
  bool total_line = false;
  for (const TableLine& l : ParseTable(table)) {
    if (!l.cells.empty() && l.cells[0] == "total") {
      total_line = true;
      EXPECT_EQ(l.cells, (std::vector<std::string>{"total", "18", "14240000.00",
                                                   "3648000.00"}))
          << table;
    }
  }
  EXPECT_TRUE(total_line) << table;
  const std::string team = Ok(
      {"forecast", "get", "--node=" + Id("China"), YearFlag(), QuarterFlag()});
  EXPECT_TRUE(absl::StrContains(team, "Beijing Team")) << team;

  // get (JSON): the Forecast message, equal to the service's answer.
  const std::string json =
      Ok({"--output=json", "forecast", "get", "--node=" + Id("Li Wei"),
          YearFlag(), QuarterFlag()});
  v1::Forecast parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok())
      << json;
  v1::Forecast direct;
  ASSERT_TRUE(GetForecast(w, Id("Li Wei"), &direct).ok());
  EXPECT_EQ(parsed.node().forecast().units_minor(), kWeighted);
  EXPECT_EQ(parsed.node().coverage_bp(), 7296);
  EXPECT_EQ(parsed.node().gap().units_minor(), kQuota - kWeighted);
  EXPECT_EQ(parsed.funnel_size(), direct.funnel_size());
  EXPECT_EQ(parsed.node().SerializeAsString(),
            direct.node().SerializeAsString());
}

TEST_F(CtlForecastCreditTest, ForecastSubmitCloseWeekProgressAndOutOfFunnel) {
  World& w = *world_;
  // Submit without --amount: the computed forecast.
  const auto sub = CsvRecords(
      Ok({"--output=csv", "forecast", "submit", "--node=" + Id("Li Wei"),
          YearFlag(), QuarterFlag(), "--week=1"}));
  ASSERT_EQ(sub.size(), 1u);
  EXPECT_EQ(sub[0].at("amount"), "3648000.00");
  EXPECT_EQ(sub[0].at("computed"), "3648000.00");
  // An adjusted figure needs a note: the service's INVALID_ARGUMENT.
  CtlResult bad =
      Ctl({"forecast", "submit", "--node=" + Id("Beijing Team"), YearFlag(),
           QuarterFlag(), "--week=1", "--amount=4000000"});
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_TRUE(absl::StartsWith(bad.output, "error: INVALID_ARGUMENT: "))
      << bad.output;
  Ok({"forecast", "submit", "--node=" + Id("Beijing Team"), YearFlag(),
      QuarterFlag(), "--week=1", "--amount=4000000",
      "--note=the big COMPARISON deal will close"});
  const auto subs = CsvRecords(Ok({"--output=csv", "forecast", "submissions",
                                   "--node=" + Id("Beijing Team"), YearFlag(),
                                   QuarterFlag(), "--week=1"}));
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].at("role"), "own");
  EXPECT_EQ(subs[0].at("submitted"), "4000000.00");
  EXPECT_EQ(subs[0].at("note"), "the big COMPARISON deal will close");
  EXPECT_EQ(subs[1].at("role"), "child");
  EXPECT_EQ(subs[1].at("node"), "Li Wei");
  EXPECT_EQ(subs[1].at("computed"), "3648000.00");
  EXPECT_EQ(subs[1].at("submitted"), "3648000.00");

  // Close week 1 (twice: the second changes nothing); progress shows it.
  const auto close = CsvRecords(Ok({"--output=csv", "forecast", "close-week",
                                    YearFlag(), QuarterFlag(), "--week=1"}));
  ASSERT_EQ(close.size(), 1u);
  EXPECT_EQ(close[0].at("close.week"), "1");
  const auto again = CsvRecords(Ok({"--output=csv", "forecast", "close-week",
                                    YearFlag(), QuarterFlag(), "--week=1"}));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].at("already_closed"), "true");
  const std::string progress =
      Ok({"forecast", "progress", "--node=" + Id("Li Wei"), YearFlag(),
          QuarterFlag()});
  const std::vector<TableLine> pl = ParseTable(progress);
  ASSERT_GE(pl.size(), 4u) << progress;
  EXPECT_EQ(pl[1].cells[0], "1") << progress;
  EXPECT_EQ(pl[1].cells[1], "3648000.00") << progress;
  // From week 0 (nothing) to 3,648,000 of 5,000,000: 72.96% in week 1.
  EXPECT_EQ(pl[1].cells[4], "72.96%") << progress;
  EXPECT_TRUE(absl::StrContains(progress, "5000000.00")) << progress;

  // An out-of-funnel sale for Anna counts in EMEA's closed.
  const auto oof =
      CsvRecords(Ok({"--output=csv", "forecast", "out-of-funnel",
                     "--rep=" + Id("Anna Berger"), "--amount=2500.50",
                     "--date=" + DayText(w.today), "--note=spare parts"}));
  ASSERT_EQ(oof.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(oof[0].at("id"), "oof_")) << oof[0].at("id");
  EXPECT_EQ(oof[0].at("amount"), "2500.50");
  std::vector<std::map<std::string, std::string>> tree;
  EXPECT_TRUE(Eventually([&] {
    CtlResult r = Ctl({"--output=csv", "forecast", "tree",
                       "--node=" + Id("EMEA"), YearFlag(), QuarterFlag()});
    tree = CsvRecords(r.output);
    return r.exit_code == 0 && tree.size() == 4 &&
           tree[0].at("closed") == "2500.50" &&
           tree[3].at("closed") == "2500.50";
  })) << "EMEA never showed the out-of-funnel sale";
}

// Paying a contract-signed opportunity in full through the CLI closes it WON
// (pipeline follows credit): the tree shows it closed and collected.
TEST_F(CtlForecastCreditTest, ForecastTreeShowsCollectedAfterCliPayment) {
  World& w = *world_;
  ASSERT_EQ(w.usage_opportunities.size(), 2u);
  const v1::Opportunity& opp = w.usage_opportunities[0];
  const auto rcv = AwaitCsv(
      {"--output=csv", "credit", "receivables", "--opportunity=" + opp.id()},
      [](const auto& rows) { return rows.size() == 1; }, kFinance);
  ASSERT_EQ(rcv.size(), 1u);
  EXPECT_EQ(rcv[0].at("amount"), "490000.00");
  const auto pay = CsvRecords(
      Ok({"--output=csv", "credit", "pay", "--account=" + w.funnel_account.id(),
          "--amount=490000", "--date=" + DayText(w.today),
          "--allocate=" + rcv[0].at("id") + ":490000.00"},
         kFinance));
  ASSERT_EQ(pay.size(), 1u);
  EXPECT_EQ(pay[0].at("allocations"), rcv[0].at("id") + ":490000.00");

  // 490,000 closed and collected; 392,000 (80%) left the weighted pipeline.
  std::map<std::string, std::map<std::string, std::string>> by_name;
  std::string last;
  const bool shown = Eventually([&] {
    CtlResult r =
        Ctl({"--output=csv", "forecast", "tree", "--node=" + Id("Asia-Pacific"),
             YearFlag(), QuarterFlag()});
    last = r.output;
    by_name.clear();
    for (const auto& rec : CsvRecords(r.output)) {
      by_name[rec.at("node")] = rec;
    }
    return r.exit_code == 0 && by_name.count("Li Wei") == 1 &&
           by_name["Li Wei"]["collected"] == "490000.00" &&
           by_name["Asia-Pacific"]["collected"] == "490000.00";
  });
  ASSERT_TRUE(shown) << last;
  for (const char* name : {"Li Wei", "China", "Asia-Pacific"}) {
    EXPECT_EQ(by_name[name]["closed"], "490000.00") << name;
    EXPECT_EQ(by_name[name]["pipeline_weighted"], "3256000.00") << name;
    EXPECT_EQ(by_name[name]["forecast"], "3746000.00") << name;
    EXPECT_EQ(by_name[name]["coverage"], "74.92%") << name;
  }
}

// ---------------------------------------------------------------------------
// credit

TEST_F(CtlForecastCreditTest, CreditProfileCheckReceivablesAgingWorklist) {
  World& w = *world_;
  const std::string account = "--account=" + w.credit_account.id();
  // Profile.
  auto prof = CsvRecords(Ok({"--output=csv", "credit", "profile-set", account,
                             "--limit=100000", "--terms=30", "--risk=medium"},
                            kFinance));
  ASSERT_EQ(prof.size(), 1u);
  EXPECT_EQ(prof[0].at("credit_limit"), "100000.00");
  EXPECT_EQ(prof[0].at("payment_terms_days"), "30");
  EXPECT_EQ(prof[0].at("risk_class"), "MEDIUM");
  EXPECT_EQ(prof[0].at("hold"), "false");
  prof = CsvRecords(
      Ok({"--output=csv", "credit", "profile-get", account}, kFinance));
  ASSERT_EQ(prof.size(), 1u);
  EXPECT_EQ(prof[0].at("credit_limit"), "100000.00");

  // Checks: over the limit BLOCKs with the reason; within it APPROVEs.
  auto check = CsvRecords(
      Ok({"--output=csv", "credit", "check", account, "--amount=150000"},
         kFinance));
  ASSERT_EQ(check.size(), 1u);
  EXPECT_EQ(check[0].at("decision"), "BLOCK");
  EXPECT_TRUE(absl::StrContains(check[0].at("reasons"), "credit limit"))
      << check[0].at("reasons");
  EXPECT_EQ(check[0].at("credit_limit"), "100000.00");
  const std::string table =
      Ok({"credit", "check", account, "--amount=150000"}, kFinance);
  EXPECT_TRUE(absl::StrContains(table, "BLOCK")) << table;
  EXPECT_TRUE(absl::StrContains(table, "would exceed the credit limit"))
      << table;
  check = CsvRecords(
      Ok({"--output=csv", "credit", "check", account, "--amount=50000"},
         kFinance));
  ASSERT_EQ(check.size(), 1u);
  EXPECT_EQ(check[0].at("decision"), "APPROVE");

  // Two invoices: one 75 days old (due 45 days ago), one of today.
  const absl::CivilDay old_issue = w.today - 75;
  auto posted = CsvRecords(Ok(
      {"--output=csv", "credit", "post-receivable", account, "--amount=80000",
       "--issue-date=" + DayText(old_issue), "--external-id=INV-1001"},
      kFinance));
  ASSERT_EQ(posted.size(), 1u);
  const std::string old_id = posted[0].at("id");
  EXPECT_TRUE(absl::StartsWith(old_id, "rcv_")) << old_id;
  EXPECT_EQ(posted[0].at("due_date"), DayText(old_issue + 30));
  EXPECT_EQ(posted[0].at("state"), "OPEN");
  // The same external id again is the same receivable.
  auto again = CsvRecords(Ok(
      {"--output=csv", "credit", "post-receivable", account, "--amount=80000",
       "--issue-date=" + DayText(old_issue), "--external-id=INV-1001"},
      kFinance));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].at("id"), old_id);
  posted = CsvRecords(Ok(
      {"--output=csv", "credit", "post-receivable", account, "--amount=20000",
       "--issue-date=" + DayText(w.today), "--external-id=INV-1002"},
      kFinance));
  ASSERT_EQ(posted.size(), 1u);
  const std::string new_id = posted[0].at("id");

  // A payment of 30,000 allocated to the old invoice.
  auto pay = CsvRecords(
      Ok({"--output=csv", "credit", "pay", account, "--amount=30000",
          "--date=" + DayText(w.today), "--allocate=" + old_id + ":30000"},
         kFinance));
  ASSERT_EQ(pay.size(), 1u);
  EXPECT_EQ(pay[0].at("amount"), "30000.00");
  EXPECT_EQ(pay[0].at("allocations"), old_id + ":30000.00");
  // More than is owed is refused.
  CtlResult over = Ctl({"credit", "pay", account, "--amount=1000000",
                        "--date=" + DayText(w.today)},
                       kFinance);
  EXPECT_EQ(over.exit_code, 1) << over.output;
  EXPECT_TRUE(absl::StartsWith(over.output, "error: FAILED_PRECONDITION: "))
      << over.output;

  auto rcvs = CsvRecords(
      Ok({"--output=csv", "credit", "receivables", account}, kFinance));
  ASSERT_EQ(rcvs.size(), 2u);
  std::map<std::string, std::map<std::string, std::string>> by_id;
  for (const auto& r : rcvs) {
    by_id[r.at("id")] = r;
  }
  EXPECT_EQ(by_id[old_id]["state"], "PARTIALLY_PAID");
  EXPECT_EQ(by_id[old_id]["open"], "50000.00");
  EXPECT_EQ(by_id[old_id]["paid"], "30000.00");
  EXPECT_EQ(by_id[new_id]["state"], "OPEN");

  // Aging: 50,000 in 31–60, 20,000 not due.
  const auto aging = CsvRecords(Ok({"--output=csv", "credit", "aging", account,
                                    "--as-of=" + DayText(w.today)},
                                   kFinance));
  ASSERT_EQ(aging.size(), 2u);  // the account and the total
  for (const auto& row : aging) {
    EXPECT_EQ(row.at("not_due"), "20000.00");
    EXPECT_EQ(row.at("days_1_30"), "0.00");
    EXPECT_EQ(row.at("days_31_60"), "50000.00");
    EXPECT_EQ(row.at("total"), "70000.00");
  }
  EXPECT_EQ(aging[0].at("account_id"), w.credit_account.id());
  EXPECT_EQ(aging[1].at("account_id"), "total");
  // Rolled up by the owning org subtree (credit learns the owner from the
  // accounts feed).
  AwaitCsv(
      {"--output=csv", "credit", "aging", "--node=" + Id("EMEA"),
       "--as-of=" + DayText(w.today)},
      [](const auto& rows) {
        return !rows.empty() && rows.back().at("total") == "70000.00" &&
               rows.back().at("days_31_60") == "50000.00";
      },
      kFinance);
  const std::string aging_json = Ok({"--output=json", "credit", "aging",
                                     account, "--as-of=" + DayText(w.today)},
                                    kFinance);
  v1::Aging aging_msg;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(aging_json, &aging_msg).ok())
      << aging_json;
  EXPECT_EQ(aging_msg.total().total().units_minor(), 7'000'000);

  // Now overdue beyond 30 days: even a small check BLOCKs, saying why.
  check = CsvRecords(Ok(
      {"--output=csv", "credit", "check", account, "--amount=100"}, kFinance));
  ASSERT_EQ(check.size(), 1u);
  EXPECT_EQ(check[0].at("decision"), "BLOCK");
  EXPECT_TRUE(absl::StrContains(check[0].at("reasons"), "overdue"))
      << check[0].at("reasons");
  EXPECT_EQ(check[0].at("exposure"), "70000.00");

  // Worklist of EMEA: the old invoice, 45 days overdue, priority open ×
  // days × risk weight (MEDIUM 2).
  const auto work = AwaitCsv(
      {"--output=csv", "credit", "worklist", "--node=" + Id("EMEA"),
       "--as-of=" + DayText(w.today)},
      [&](const auto& rows) { return rows.size() == 1; }, kFinance);
  ASSERT_EQ(work.size(), 1u);
  EXPECT_EQ(work[0].at("receivable_id"), old_id);
  EXPECT_EQ(work[0].at("open"), "50000.00");
  EXPECT_EQ(work[0].at("days_overdue"), "45");
  EXPECT_EQ(work[0].at("risk_class"), "MEDIUM");
  EXPECT_EQ(work[0].at("priority"), absl::StrCat(int64_t{5'000'000} * 45 * 2));

  // Collections: a promise, a contact with its recommended response, tasks.
  const auto promise = CsvRecords(Ok(
      {"--output=csv", "credit", "promise", "--receivables=" + old_id,
       "--amount=50000", "--date=" + DayText(w.today + 7), "--excuse=will-pay"},
      kFinance));
  ASSERT_EQ(promise.size(), 1u);
  EXPECT_EQ(promise[0].at("state"), "PENDING");
  EXPECT_EQ(promise[0].at("excuse_code"), "WILL_PAY");
  const auto promises =
      CsvRecords(Ok({"--output=csv", "credit", "promises", account}, kFinance));
  ASSERT_EQ(promises.size(), 1u);
  EXPECT_EQ(promises[0].at("id"), promise[0].at("id"));
  EXPECT_EQ(promises[0].at("amount"), "50000.00");
  const auto contact = CsvRecords(
      Ok({"--output=csv", "credit", "contact", account, "--excuse=already_paid",
          "--notes=says it was wired last Friday"},
         kFinance));
  ASSERT_EQ(contact.size(), 1u);
  EXPECT_FALSE(contact[0].at("recommended_response").empty());
  EXPECT_FALSE(contact[0].at("follow_up_task_id").empty());
  const auto tasks =
      CsvRecords(Ok({"--output=csv", "credit", "tasks", account}, kFinance));
  bool follow_up = false;
  for (const auto& t : tasks) {
    follow_up |= t.at("id") == contact[0].at("follow_up_task_id");
  }
  EXPECT_TRUE(follow_up) << "no task " << contact[0].at("follow_up_task_id");
  Ok({"credit", "run-collections"}, kFinance);
  Ok({"credit", "debtor-class", account}, kFinance);
  const auto dso = CsvRecords(
      Ok({"--output=csv", "credit", "dso", account,
          "--from=" + DayText(w.today - 89), "--to=" + DayText(w.today)},
         kFinance));
  ASSERT_EQ(dso.size(), 1u);
  EXPECT_EQ(dso[0].at("receivables_at_end"), "70000.00");
  EXPECT_EQ(dso[0].at("credit_sales"), "100000.00");
  EXPECT_EQ(dso[0].at("days"), "90");
  EXPECT_EQ(dso[0].at("dso_days"), "63.000");  // 70/100 × 90

  // Dispute and write-off of a third invoice.
  posted = CsvRecords(Ok({"--output=csv", "credit", "post-receivable", account,
                          "--amount=1000", "--issue-date=" + DayText(w.today)},
                         kFinance));
  ASSERT_EQ(posted.size(), 1u);
  const std::string third = posted[0].at("id");
  auto disputed =
      CsvRecords(Ok({"--output=csv", "credit", "dispute",
                     "--receivable=" + third, "--reason=wrong quantity"},
                    kFinance));
  ASSERT_EQ(disputed.size(), 1u);
  EXPECT_EQ(disputed[0].at("state"), "DISPUTED");
  disputed = CsvRecords(Ok({"--output=csv", "credit", "dispute",
                            "--receivable=" + third, "--resolve"},
                           kFinance));
  ASSERT_EQ(disputed.size(), 1u);
  EXPECT_EQ(disputed[0].at("state"), "OPEN");
  const auto written =
      CsvRecords(Ok({"--output=csv", "credit", "write-off",
                     "--receivable=" + third, "--reason=customer insolvent"},
                    kFinance));
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].at("state"), "WRITTEN_OFF");
  EXPECT_EQ(written[0].at("written_off"), "1000.00");
}

TEST_F(CtlForecastCreditTest, CreditCalculatorsPrintTheSeedFigures) {
  // SPEC §5.4: a 500 loss at 3% net margin needs 16,667 of sales (whole
  // units, as the seed's table is written).
  auto r = CsvRecords(Ok({"--output=csv", "credit", "bad-debt-recovery",
                          "--loss=500.00", "--margin=3%", "--round-to=1"}));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].at("required_sales"), "16667.00");
  EXPECT_EQ(r[0].at("net_margin"), "3.00%");
  const std::string table = Ok({"credit", "bad-debt-recovery", "--loss=500",
                                "--margin-bp=200", "--round-to=1"});
  EXPECT_TRUE(absl::StrContains(table, "25000.00")) << table;
  // Without rounding: 16666.67.
  r = CsvRecords(Ok({"--output=csv", "credit", "bad-debt-recovery",
                     "--loss=500", "--margin=3"}));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].at("required_sales"), "16666.67");

  // 500,000 at 10% gross margin with 400,000 collected: still −50,000.
  r = CsvRecords(Ok({"--output=csv", "credit", "realized-result",
                     "--sale=500000", "--margin=10", "--collected=400000"}));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].at("cost_of_goods"), "450000.00");
  EXPECT_EQ(r[0].at("realized"), "-50000.00");
  EXPECT_EQ(r[0].at("to_break_even"), "50000.00");
  EXPECT_EQ(r[0].at("profit_when_collected"), "50000.00");
  const std::string json =
      Ok({"--output=json", "credit", "realized-result", "--sale=500000",
          "--margin=10", "--collected=400000"});
  v1::RealizedResult parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok())
      << json;
  EXPECT_EQ(parsed.realized().units_minor(), -5'000'000);

  // Carrying 100,000 for 90 days at 8%: 1,972.60; 5% net margin (5,000) is
  // gone after 5 × 365 / 8 = 228.1 → 229 days.
  r = CsvRecords(
      Ok({"--output=csv", "credit", "carrying-cost", "--amount=100000",
          "--rate=8", "--days-late=90", "--margin=5"}));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].at("cost"), "1972.60");
  EXPECT_EQ(r[0].at("net_profit"), "5000.00");
  EXPECT_EQ(r[0].at("days_to_consume_profit"), "229");
}

// ---------------------------------------------------------------------------
// errors

TEST_F(CtlForecastCreditTest, ErrorsPrintTheCodeAndExitNonZero) {
  CtlResult r =
      Ctl({"forecast", "tree", "--node=org_nope", YearFlag(), QuarterFlag()});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(absl::StartsWith(r.output, "error: NOT_FOUND: ")) << r.output;

  r = Ctl({"credit", "profile-get", "--account=acc_nope"}, kFinance);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(absl::StartsWith(r.output, "error: NOT_FOUND: ")) << r.output;

  r = Ctl({"forecast", "tree", "--node=" + Id("Global")}, "not-a-token");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(absl::StartsWith(r.output, "error: UNAUTHENTICATED: "))
      << r.output;

  // The calculators are open to every role, but bad input is the service's
  // INVALID_ARGUMENT.
  r = Ctl({"credit", "realized-result", "--sale=100", "--margin=10",
           "--collected=200"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_TRUE(absl::StartsWith(r.output, "error: INVALID_ARGUMENT: "))
      << r.output;

  // Usage mistakes exit 2 with the usage line.
  r = Ctl({"credit", "check", "--account=x"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "--amount: required")) << r.output;
  r = Ctl({"forecast", "tree", "--node=x", "--depth=99"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = Ctl({"credit", "profile-set", "--account=x", "--limit=1", "--terms=30",
           "--risk=purple"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "VERY_HIGH")) << r.output;
}

}  // namespace
}  // namespace salesops
