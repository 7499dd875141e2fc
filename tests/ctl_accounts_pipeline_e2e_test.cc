// End-to-end test of salesopsctl's accounts, contacts, orgchart, orgnodes,
// quotas, opportunities and models commands (SPEC.md §0, §2, §3): the four
// real binaries on loopback with bearer tokens and SERVICE peer tokens, and
// salesopsctl run as a child process the way a user runs it — addresses by
// flag, the ADMIN token by --token or SALESOPS_TOKEN.
//
// Through the CLI: our sales org (GLOBAL → REGION → TEAM → REP, and a re-org
// move), an account with four contacts whose org chart prints as an indented
// tree, a quota and its roll-up, a buying-cycle-6 opportunity whose forward
// move is refused until its exit criterion is checked, then moved, re-priced,
// closed LOST and reopened, with its history and deal health. The three
// output formats (JSON parses into the proto, CSV has a header row), paging,
// failed calls ("error: CODE: message", exit 1) and usage mistakes (exit 2,
// nothing written, nothing changed) are checked too, and what the CLI printed
// equals what a plain gRPC client reads.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/temp_dir.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "tests/e2e.h"

namespace salesops {
namespace {

using e2e::Ctx;
using e2e::Describe;
using e2e::Launch;
using e2e::Service;
using e2e::TokenLine;
using e2e::WriteFile;
using google::protobuf::util::JsonStringToMessage;
using google::protobuf::util::MessageDifferencer;

constexpr char kAdmin[] = "e2e-ctl-admin-token";
constexpr char kPeer[] = "e2e-ctl-peer-token";

// What one salesopsctl run left behind.
struct CtlRun {
  int exit = -1;  // the exit code; -1 when it did not exit normally in time
  std::string out;
  std::string err;
};

std::ostream& operator<<(std::ostream& os, const CtlRun& r) {
  return os << "exit " << r.exit << "\n--- stdout\n"
            << r.out << "--- stderr\n"
            << r.err;
}

std::string ReadAll(const std::string& path) {
  std::stringstream s;
  s << std::ifstream(path).rdbuf();
  return s.str();
}

// Lines of `text` without the line ends (CRLF or LF).
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    out.emplace_back(line);
  }
  return out;
}

// A date the pipeline accepts as an expected close date whatever the day.
std::string InTwoMonths() {
  const absl::CivilDay d =
      absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()) + 60;
  return absl::FormatCivilTime(d);
}

// `message` parsed from the JSON salesopsctl printed (ADD_FAILURE if not).
template <typename M>
M FromJson(const std::string& json) {
  M m;
  const auto s = JsonStringToMessage(json, &m);
  EXPECT_TRUE(s.ok()) << s.ToString() << "\n" << json;
  return m;
}

class CtlAccountsPipelineE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int* port :
         {&accounts_port_, &pipeline_port_, &forecast_port_, &credit_port_}) {
      *port = e2e::FreeLoopbackPort();
      ASSERT_GT(*port, 0);
    }
    WriteFile(dir_.Sub("peer.token"), std::string(kPeer) + "\n");
    WriteFile(dir_.Sub("tokens"), TokenLine(kAdmin, "admin", "ADMIN") +
                                      TokenLine(kPeer, "peer", "SERVICE"));
    ASSERT_NO_FATAL_FAILURE(Start(&accounts_, "accounts", SALESOPS_ACCOUNTS_BIN,
                                  accounts_port_, {}));
    ASSERT_NO_FATAL_FAILURE(Start(&pipeline_, "pipeline", SALESOPS_PIPELINE_BIN,
                                  pipeline_port_,
                                  {"--accounts_addr=" + Addr(accounts_port_),
                                   "--credit_addr=" + Addr(credit_port_)}));
    ASSERT_NO_FATAL_FAILURE(Start(&credit_, "credit", SALESOPS_CREDIT_BIN,
                                  credit_port_,
                                  {"--accounts_addr=" + Addr(accounts_port_),
                                   "--pipeline_addr=" + Addr(pipeline_port_)}));
    ASSERT_NO_FATAL_FAILURE(Start(&forecast_, "forecast", SALESOPS_FORECAST_BIN,
                                  forecast_port_,
                                  {"--accounts_addr=" + Addr(accounts_port_),
                                   "--pipeline_addr=" + Addr(pipeline_port_),
                                   "--credit_addr=" + Addr(credit_port_)}));
    accounts_stub_ = v1::AccountsService::NewStub(accounts_.channel);
    pipeline_stub_ = v1::PipelineService::NewStub(pipeline_.channel);
  }

  void TearDown() override {
    if (!HasFailure()) {
      return;
    }
    for (auto* s : {&accounts_, &pipeline_, &credit_, &forecast_}) {
      if (s->process != nullptr) {
        const std::string log = s->process->Log();
        std::cerr << "---- log tail (pid " << s->process->pid() << ")\n"
                  << log.substr(log.size() > 4000 ? log.size() - 4000 : 0)
                  << "\n";
      }
    }
  }

  static std::string Addr(int port) { return absl::StrCat("127.0.0.1:", port); }

  void Start(Service* s, const std::string& name, const std::string& bin,
             int port, std::vector<std::string> args) {
    args.insert(args.begin(), bin);
    for (std::string a :
         {absl::StrCat("--listen=127.0.0.1:", port),
          std::string("--metrics_listen=127.0.0.1:0"),
          std::string("--auth=tokens"), "--tokens_file=" + dir_.Sub("tokens"),
          "--peer_token_file=" + dir_.Sub("peer.token"),
          "--data_dir=" + dir_.Sub(name), std::string("--init"),
          std::string("--currency=EUR"), std::string("--time_zone=UTC")}) {
      args.push_back(std::move(a));
    }
    *s = Launch(args, name);
    ASSERT_NE(s->process, nullptr) << name;
    ASSERT_EQ(s->port, port) << name << " did not come up:\n"
                             << s->process->Log();
  }

  // The address flags every run gets.
  std::vector<std::string> Addresses() const {
    return {"--accounts=" + Addr(accounts_port_),
            "--pipeline=" + Addr(pipeline_port_),
            "--forecast=" + Addr(forecast_port_),
            "--credit=" + Addr(credit_port_)};
  }

  // Runs salesopsctl with `args` (and the addresses), stdout and stderr in
  // files of their own, waiting at most 60 s. `env`: extra environment.
  CtlRun CtlRaw(const std::vector<std::string>& args,
                const std::vector<std::string>& env = {}) {
    const int n = ++runs_;
    const std::string out = dir_.Sub(absl::StrCat("ctl", n, ".out"));
    const std::string err = dir_.Sub(absl::StrCat("ctl", n, ".err"));
    // "$0" and "$@" pass every argument to salesopsctl untouched by the shell.
    std::vector<std::string> argv = {
        "/bin/sh", "-c", "exec \"$0\" \"$@\" >\"$CTL_OUT\" 2>\"$CTL_ERR\"",
        SALESOPSCTL_BIN};
    for (const std::string& a : Addresses()) {
      argv.push_back(a);
    }
    for (const std::string& a : args) {
      argv.push_back(a);
    }
    std::vector<std::string> environment = {"CTL_OUT=" + out, "CTL_ERR=" + err};
    environment.insert(environment.end(), env.begin(), env.end());
    CtlRun r;
    std::unique_ptr<testing::Process> p =
        testing::Process::Start(argv, environment);
    if (p == nullptr) {
      return r;
    }
    const std::optional<int> status = p->WaitExit(absl::Seconds(60));
    EXPECT_TRUE(status.has_value()) << "salesopsctl did not exit in 60 s";
    if (status.has_value() && WIFEXITED(*status)) {
      r.exit = WEXITSTATUS(*status);
    }
    r.out = ReadAll(out);
    r.err = ReadAll(err);
    return r;
  }

  // As the ADMIN (--token), expecting success.
  CtlRun Ctl(std::vector<std::string> args) {
    args.push_back(absl::StrCat("--token=", kAdmin));
    CtlRun r = CtlRaw(args);
    EXPECT_EQ(r.exit, 0) << absl::StrJoin(args, " ") << "\n" << r;
    EXPECT_EQ(r.err, "") << r;
    return r;
  }

  // As the ADMIN with --output=json, the printed message parsed.
  template <typename M>
  M CtlJson(std::vector<std::string> args) {
    args.push_back("--output=json");
    return FromJson<M>(Ctl(std::move(args)).out);
  }

  // Our sales org through the CLI: global → EMEA → DACH team → two reps.
  void MakeOrg() {
    global_ = CtlJson<v1::OrgNode>(
        {"orgnodes", "create", "--kind=GLOBAL", "--name=Global"});
    ASSERT_FALSE(global_.id().empty());
    region_ = CtlJson<v1::OrgNode>({"orgnodes", "create", "--kind=region",
                                    "--name=EMEA", "--parent=" + global_.id()});
    team_ = CtlJson<v1::OrgNode>({"orgnodes", "create", "--kind=TEAM",
                                  "--name=DACH", "--parent=" + region_.id(),
                                  "--manager=admin"});
    rep_ =
        CtlJson<v1::OrgNode>({"orgnodes", "create", "--kind=REP",
                              "--name=Anna Weber", "--parent=" + team_.id()});
    ASSERT_EQ(rep_.kind(), v1::ORG_NODE_KIND_REP);
    ASSERT_EQ(rep_.parent_id(), team_.id());
  }

  // An account owned by the team.
  void MakeAccount() {
    account_ = CtlJson<v1::Account>(
        {"accounts", "create", "--name=Rheinmetall Werke", "--industry=steel",
         "--owner=" + team_.id(), "--size=ENTERPRISE", "--ownership=listed",
         "--source=TRADE_SHOW", "--potential=HIGH", "--share=LOW",
         "--relationship=INITIAL", "--external-id=crm-4711",
         "--request-id=req-acc-1"});
    ASSERT_FALSE(account_.id().empty());
  }

  testing::TempDir dir_;
  int accounts_port_ = 0;
  int pipeline_port_ = 0;
  int forecast_port_ = 0;
  int credit_port_ = 0;
  Service accounts_;
  Service pipeline_;
  Service credit_;
  Service forecast_;
  std::unique_ptr<v1::AccountsService::Stub> accounts_stub_;
  std::unique_ptr<v1::PipelineService::Stub> pipeline_stub_;
  int runs_ = 0;

  v1::OrgNode global_, region_, team_, rep_;
  v1::Account account_;
};

TEST_F(CtlAccountsPipelineE2eTest, OrgAccountContactsAndQuotas) {
  ASSERT_NO_FATAL_FAILURE(MakeOrg());
  // A second team and a rep moved into it (a re-org).
  const auto team2 =
      CtlJson<v1::OrgNode>({"orgnodes", "create", "--kind=TEAM",
                            "--name=Nordics", "--parent=" + region_.id()});
  const auto rep2 =
      CtlJson<v1::OrgNode>({"orgnodes", "create", "--kind=REP",
                            "--name=Lars Berg", "--parent=" + team_.id()});
  const auto moved = CtlJson<v1::OrgNode>(
      {"orgnodes", "move", "--id=" + rep2.id(), "--parent=" + team2.id(),
       absl::StrCat("--expected-version=", rep2.version())});
  EXPECT_EQ(moved.parent_id(), team2.id());
  EXPECT_GT(moved.version(), rep2.version());
  // Moving the region under its own team would make a cycle.
  CtlRun cycle =
      CtlRaw({"orgnodes", "move", region_.id(), "--parent=" + team_.id(),
              absl::StrCat("--token=", kAdmin)});
  EXPECT_EQ(cycle.exit, 1) << cycle;
  EXPECT_TRUE(absl::StartsWith(cycle.err, "error: INVALID_ARGUMENT: ") ||
              absl::StartsWith(cycle.err, "error: FAILED_PRECONDITION: "))
      << cycle;
  // The children of the DACH team: only Anna (table, id as positional word).
  CtlRun children = Ctl({"orgnodes", "list", "--parent=" + team_.id()});
  std::vector<std::string> lines = Lines(children.out);
  ASSERT_EQ(lines.size(), 2u) << children;
  EXPECT_TRUE(absl::StartsWith(lines[0], "id")) << children;
  EXPECT_TRUE(absl::StrContains(lines[1], rep_.id())) << children;
  EXPECT_TRUE(absl::StrContains(lines[1], "REP")) << children;
  EXPECT_TRUE(absl::StrContains(lines[1], "Anna Weber")) << children;
  CtlRun node = Ctl({"orgnodes", "get", team_.id()});
  EXPECT_TRUE(absl::StrContains(node.out, "DACH")) << node;
  EXPECT_TRUE(absl::StrContains(node.out, "admin")) << node;

  // The account, read back by id and by a partial update.
  ASSERT_NO_FATAL_FAILURE(MakeAccount());
  EXPECT_EQ(account_.segment(), v1::ACCOUNT_SEGMENT_ACQUIRE);
  EXPECT_EQ(account_.ownership_type(), v1::OWNERSHIP_TYPE_LISTED);
  CtlRun acc = Ctl({"accounts", "get", "--id=" + account_.id()});
  lines = Lines(acc.out);
  ASSERT_EQ(lines.size(), 2u) << acc;
  EXPECT_TRUE(absl::StrContains(lines[1], "Rheinmetall Werke")) << acc;
  EXPECT_TRUE(absl::StrContains(lines[1], "ACQUIRE")) << acc;
  EXPECT_TRUE(absl::StrContains(lines[1], "crm-4711")) << acc;
  const auto updated = CtlJson<v1::Account>(
      {"accounts", "update", account_.id(), "--tier=GOLD", "--region=DE-NW"});
  EXPECT_EQ(updated.tier(), v1::ACCOUNT_TIER_GOLD);
  EXPECT_EQ(updated.region(), "DE-NW");
  EXPECT_EQ(updated.industry(), "steel");  // untouched fields stay
  EXPECT_EQ(updated.external_id(), "crm-4711");
  EXPECT_EQ(updated.version(), account_.version() + 1);
  // A stale --expected-version is refused by the service.
  CtlRun stale =
      CtlRaw({"accounts", "update", account_.id(), "--tier=SILVER",
              absl::StrCat("--expected-version=", account_.version()),
              absl::StrCat("--token=", kAdmin)});
  // ABORTED (re-read and retry): a retryable exit, 3 (issue 18).
  EXPECT_EQ(stale.exit, 3) << stale;
  EXPECT_TRUE(absl::StartsWith(stale.err, "error: ")) << stale;
  EXPECT_EQ(stale.out, "") << stale;
  // The audit log: the create and the update by "admin", the update naming
  // the two fields it changed; the refused update left no record.
  CtlRun audit = Ctl({"audit", "list", "--service=accounts",
                      "--entity=" + account_.id(), "--output=csv"});
  lines = Lines(audit.out);
  ASSERT_EQ(lines.size(), 3u) << audit;
  EXPECT_EQ(lines[0],
            "sequence,time,actor,role,method,kind,before,after,changed")
      << audit;
  EXPECT_TRUE(absl::StrContains(
      lines[1], ",admin,ADMIN,CreateAccount,accounts.Account,0,1,"))
      << audit;
  EXPECT_TRUE(absl::StrContains(
      lines[2], ",admin,ADMIN,UpdateAccount,accounts.Account,1,2,"))
      << audit;
  EXPECT_TRUE(absl::StrContains(lines[2], "tier")) << audit;
  EXPECT_TRUE(absl::StrContains(lines[2], "region")) << audit;
  // Listing by owner finds it.
  CtlRun by_owner = Ctl({"accounts", "list", "--owner=" + team_.id()});
  EXPECT_TRUE(absl::StrContains(by_owner.out, account_.id())) << by_owner;

  // The customer's org chart: the GM at the top, the CTO and purchasing
  // under him, an engineer under the CTO.
  const auto gm = CtlJson<v1::Contact>(
      {"contacts", "create", "--account=" + account_.id(), "--name=Dr. Klein",
       "--title=General Manager", "--function=EXECUTIVE", "--level=DECISION",
       "--style=IMAGINATIVE", "--birthday=1965-03-14"});
  const auto cto = CtlJson<v1::Contact>(
      {"contacts", "create", "--account=" + account_.id(), "--name=M. Vogel",
       "--title=CTO", "--department=Engineering", "--function=TECHNICAL",
       "--level=MANAGEMENT", "--reports-to=" + gm.id()});
  const auto buyer = CtlJson<v1::Contact>(
      {"contacts", "create", "--account=" + account_.id(), "--name=S. Braun",
       "--title=Head of Purchasing", "--function=PURCHASING",
       "--level=MANAGEMENT", "--reports-to=" + gm.id()});
  const auto engineer = CtlJson<v1::Contact>(
      {"contacts", "create", "--account=" + account_.id(), "--name=T. Roth",
       "--title=Process Engineer", "--function=TECHNICAL",
       "--level=OPERATIONAL", "--reports-to=" + cto.id()});
  EXPECT_EQ(gm.birthday().year(), 1965);
  EXPECT_EQ(engineer.reports_to_id(), cto.id());

  CtlRun chart = Ctl({"orgchart", "show", "--account=" + account_.id()});
  lines = Lines(chart.out);
  ASSERT_EQ(lines.size(), 5u) << chart;
  EXPECT_TRUE(absl::StartsWith(lines[0], "name")) << chart;
  // Depth first, children in creation order, two spaces a level.
  EXPECT_TRUE(absl::StartsWith(lines[1], "Dr. Klein ")) << chart;
  EXPECT_TRUE(absl::StartsWith(lines[2], "  M. Vogel ")) << chart;
  EXPECT_TRUE(absl::StartsWith(lines[3], "    T. Roth ")) << chart;
  EXPECT_TRUE(absl::StartsWith(lines[4], "  S. Braun ")) << chart;
  EXPECT_TRUE(absl::StrContains(lines[2], "CTO")) << chart;
  EXPECT_TRUE(absl::StrContains(lines[2], cto.id())) << chart;
  EXPECT_TRUE(absl::StrContains(lines[3], "OPERATIONAL")) << chart;
  // JSON: the tree as the service returns it.
  const auto tree =
      CtlJson<v1::GetOrgChartResponse>({"orgchart", "show", account_.id()});
  ASSERT_EQ(tree.roots_size(), 1);
  EXPECT_EQ(tree.roots(0).contact().id(), gm.id());
  ASSERT_EQ(tree.roots(0).reports_size(), 2);
  EXPECT_EQ(tree.roots(0).reports(0).reports(0).contact().id(), engineer.id());
  // CSV: depth and reports_to columns instead of indentation.
  CtlRun chart_csv =
      Ctl({"orgchart", "show", "--account=" + account_.id(), "--output=csv"});
  lines = Lines(chart_csv.out);
  ASSERT_EQ(lines.size(), 5u) << chart_csv;
  EXPECT_EQ(lines[0],
            "name,title,department,function,level,status,id,depth,"
            "reports_to_id");
  EXPECT_EQ(lines[3], absl::StrCat("T. Roth,Process Engineer,,TECHNICAL,"
                                   "OPERATIONAL,ACTIVE,",
                                   engineer.id(), ",2,", cto.id()))
      << chart_csv;

  // The engineer leaves: kept, marked LEFT, gone from the default chart.
  const auto left = CtlJson<v1::Contact>(
      {"contacts", "update", engineer.id(), "--status=LEFT"});
  EXPECT_EQ(left.status(), v1::CONTACT_STATUS_LEFT);
  EXPECT_EQ(left.reports_to_id(), cto.id());
  CtlRun chart2 = Ctl({"orgchart", "show", "--account=" + account_.id()});
  EXPECT_FALSE(absl::StrContains(chart2.out, "T. Roth")) << chart2;
  CtlRun chart3 =
      Ctl({"orgchart", "show", "--account=" + account_.id(), "--include-left"});
  EXPECT_TRUE(absl::StrContains(chart3.out, "    T. Roth ")) << chart3;

  // Paging: every page by default, one page with --page-size (the next
  // token on stderr, so stdout stays a clean table).
  CtlRun all = Ctl({"contacts", "list", "--account=" + account_.id()});
  EXPECT_EQ(Lines(all.out).size(), 5u) << all;
  CtlRun page = CtlRaw({"contacts", "list", "--account=" + account_.id(),
                        "--page-size=3", absl::StrCat("--token=", kAdmin)});
  EXPECT_EQ(page.exit, 0) << page;
  EXPECT_EQ(Lines(page.out).size(), 4u) << page;
  ASSERT_TRUE(absl::StartsWith(page.err, "next page: --page-token=")) << page;
  const std::string token =
      Lines(page.err)[0].substr(std::string("next page: ").size());
  CtlRun rest = Ctl({"contacts", "list", "--account=" + account_.id(),
                     "--page-size=3", token});
  EXPECT_EQ(Lines(rest.out).size(), 2u) << rest;
  EXPECT_TRUE(absl::StrContains(rest.out, engineer.id())) << rest;
  EXPECT_TRUE(absl::StrContains(all.out, buyer.id())) << all;

  // Quotas: the rep's explicit quota rolls up to the team.
  const auto quota =
      CtlJson<v1::Quota>({"quotas", "set", "--node=" + rep_.id(), "--year=2026",
                          "--quarter=2", "--amount=500000.00"});
  EXPECT_EQ(quota.amount().units_minor(), 50'000'000);
  EXPECT_EQ(quota.amount().currency(), "EUR");
  CtlRun rep_quota = Ctl({"quotas", "get", "--node=" + rep_.id(), "--year=2026",
                          "--quarter=2", "--output=csv"});
  lines = Lines(rep_quota.out);
  ASSERT_EQ(lines.size(), 2u) << rep_quota;
  EXPECT_EQ(lines[0], "node_id,fiscal_year,fiscal_quarter,explicit,effective");
  EXPECT_EQ(lines[1], absl::StrCat(rep_.id(), ",2026,2,500000.00,500000.00"));
  CtlRun team_quota = Ctl({"quotas", "get", "--node=" + team_.id(),
                           "--year=2026", "--quarter=2", "--output=csv"});
  lines = Lines(team_quota.out);
  ASSERT_EQ(lines.size(), 2u) << team_quota;
  EXPECT_EQ(lines[1], absl::StrCat(team_.id(), ",2026,2,,500000.00"));
  // Same figures through a plain gRPC client.
  v1::GetQuotaRequest qreq;
  qreq.set_node_id(team_.id());
  qreq.set_fiscal_year(2026);
  qreq.set_fiscal_quarter(2);
  v1::GetQuotaResponse qresp;
  grpc::Status s = accounts_stub_->GetQuota(Ctx(kAdmin).get(), qreq, &qresp);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_FALSE(qresp.has_explicit());
  EXPECT_EQ(qresp.effective().units_minor(), 50'000'000);

  // The contact the CLI printed equals the one gRPC reads.
  v1::GetContactRequest creq;
  creq.set_id(left.id());
  v1::Contact via_grpc;
  s = accounts_stub_->GetContact(Ctx(kAdmin).get(), creq, &via_grpc);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_TRUE(MessageDifferencer::Equals(via_grpc, left))
      << via_grpc.DebugString() << "\nvs CLI\n"
      << left.DebugString();
}

TEST_F(CtlAccountsPipelineE2eTest, OpportunityThroughItsStages) {
  ASSERT_NO_FATAL_FAILURE(MakeOrg());
  ASSERT_NO_FATAL_FAILURE(MakeAccount());
  const std::string close = InTwoMonths();

  // The built-in model as a sales manager reads it.
  CtlRun model = Ctl({"models", "get", "--id=buying-cycle-6"});
  std::vector<std::string> lines = Lines(model.out);
  ASSERT_EQ(lines.size(), 7u) << model;
  EXPECT_TRUE(absl::StartsWith(lines[1], "INTEREST ")) << model;
  EXPECT_TRUE(absl::StrContains(lines[1], " 5% ")) << model;
  EXPECT_TRUE(absl::StrContains(lines[1], "purchase_request*")) << model;
  EXPECT_TRUE(absl::StrContains(lines[5], "requires_credit_check")) << model;
  CtlRun models = Ctl({"models", "list"});
  EXPECT_TRUE(absl::StrContains(models.out, "buying-cycle-6")) << models;
  EXPECT_TRUE(absl::StrContains(models.out, "project-sales-8")) << models;

  // Created (JSON); the amount in major units of the instance currency.
  const auto opp = CtlJson<v1::Opportunity>(
      {"opportunities", "create", "--account=" + account_.id(),
       "--owner=" + rep_.id(), "--name=Rolling mill automation",
       "--amount=150000.00", "--close-date=" + close, "--model=buying-cycle-6",
       "--competitor=Siemens:installed base:price", "--source=REFERRAL",
       "--next-step=Site visit", "--request-id=req-opp-1"});
  ASSERT_FALSE(opp.id().empty());
  EXPECT_EQ(opp.stage_key(), "INTEREST");
  EXPECT_EQ(opp.status(), v1::OPPORTUNITY_STATUS_OPEN);
  EXPECT_EQ(opp.amount().units_minor(), 15'000'000);
  ASSERT_EQ(opp.competitors_size(), 1);
  EXPECT_EQ(opp.competitors(0).weaknesses(), "price");
  // The same request id again: the same opportunity, not a second one.
  const auto again = CtlJson<v1::Opportunity>(
      {"opportunities", "create", "--account=" + account_.id(),
       "--owner=" + rep_.id(), "--name=Rolling mill automation",
       "--amount=150000.00", "--close-date=" + close, "--model=buying-cycle-6",
       "--competitor=Siemens:installed base:price", "--source=REFERRAL",
       "--next-step=Site visit", "--request-id=req-opp-1"});
  EXPECT_EQ(again.id(), opp.id());

  // The forward move waits for the exit criterion.
  CtlRun refused =
      CtlRaw({"opportunities", "move", "--id=" + opp.id(), "--to=CONSIDERATION",
              absl::StrCat("--token=", kAdmin)});
  EXPECT_EQ(refused.exit, 1) << refused;
  EXPECT_TRUE(absl::StartsWith(refused.err, "error: FAILED_PRECONDITION: "))
      << refused;
  EXPECT_TRUE(absl::StrContains(refused.err, "purchase_request")) << refused;
  EXPECT_EQ(refused.out, "") << refused;

  CtlRun checked = Ctl(
      {"opportunities", "criterion", opp.id(), "--criterion=purchase_request"});
  EXPECT_TRUE(absl::StrContains(checked.out, "INTEREST/purchase_request"))
      << checked;
  CtlRun moved =
      Ctl({"opportunities", "move", "--id=" + opp.id(), "--to=CONSIDERATION"});
  lines = Lines(moved.out);
  ASSERT_EQ(lines.size(), 2u) << moved;
  EXPECT_EQ(lines[0].substr(0, 2), "id") << moved;
  EXPECT_TRUE(absl::StrContains(lines[0], "stage_key")) << moved;
  EXPECT_TRUE(absl::StrContains(lines[1], "CONSIDERATION")) << moved;
  EXPECT_TRUE(absl::StrContains(lines[1], "150000.00")) << moved;
  EXPECT_TRUE(absl::StrContains(lines[1], close)) << moved;
  EXPECT_TRUE(absl::StrContains(lines[1], "Rolling mill automation")) << moved;

  // Re-priced (only the amount changes).
  const auto repriced = CtlJson<v1::Opportunity>(
      {"opportunities", "update", opp.id(), "--amount=160000.50"});
  EXPECT_EQ(repriced.amount().units_minor(), 16'000'050);
  EXPECT_EQ(repriced.stage_key(), "CONSIDERATION");
  EXPECT_EQ(repriced.name(), "Rolling mill automation");
  EXPECT_EQ(repriced.next_step().text(), "Site visit");

  // Closed LOST (a reason is required), then reopened.
  CtlRun no_reason =
      CtlRaw({"opportunities", "close", opp.id(), "--outcome=LOST",
              absl::StrCat("--token=", kAdmin)});
  EXPECT_EQ(no_reason.exit, 1) << no_reason;
  EXPECT_TRUE(absl::StartsWith(no_reason.err, "error: INVALID_ARGUMENT: "))
      << no_reason;
  const auto lost = CtlJson<v1::Opportunity>(
      {"opportunities", "close", opp.id(), "--outcome=lost",
       "--reason=Siemens won on price",
       absl::StrCat("--expected-version=", repriced.version())});
  EXPECT_EQ(lost.status(), v1::OPPORTUNITY_STATUS_LOST);
  EXPECT_EQ(lost.close_reason(), "Siemens won on price");
  CtlRun lost_list =
      Ctl({"opportunities", "list", "--status=LOST", "--output=csv"});
  lines = Lines(lost_list.out);
  ASSERT_EQ(lines.size(), 2u) << lost_list;
  EXPECT_EQ(lines[0],
            "id,name,account_id,owner_node_id,stage_key,status,amount,"
            "expected_close_date,version");
  EXPECT_EQ(lines[1],
            absl::StrCat(opp.id(), ",Rolling mill automation,", account_.id(),
                         ",", rep_.id(), ",CONSIDERATION,LOST,160000.50,",
                         close, ",", lost.version()));
  const auto reopened = CtlJson<v1::Opportunity>(
      {"opportunities", "reopen", opp.id(), "--reason=Siemens cannot deliver"});
  EXPECT_EQ(reopened.status(), v1::OPPORTUNITY_STATUS_OPEN);

  // The history, oldest first, amounts in major units.
  CtlRun history = Ctl({"opportunities", "history", opp.id(), "--output=csv"});
  lines = Lines(history.out);
  ASSERT_EQ(lines.size(), 6u) << history;
  EXPECT_EQ(lines[0], "seq,kind,from,to,by,time,reason,overridden_criteria");
  EXPECT_TRUE(absl::StartsWith(lines[1], "1,CREATED,")) << history;
  EXPECT_TRUE(absl::StartsWith(lines[2],
                               "2,STAGE_FORWARD,INTEREST,CONSIDERATION,admin,"))
      << history;
  EXPECT_TRUE(absl::StartsWith(lines[3], "3,AMOUNT,150000.00,160000.50,admin,"))
      << history;
  EXPECT_TRUE(absl::StartsWith(lines[4], "4,CLOSED,")) << history;
  EXPECT_TRUE(absl::StrContains(lines[4], "Siemens won on price")) << history;
  EXPECT_TRUE(absl::StartsWith(lines[5], "5,REOPENED,")) << history;
  const auto history_json =
      FromJson<v1::GetOpportunityHistoryResponse>(absl::StrCat(
          "{\"changes\": ",
          Ctl({"opportunities", "history", opp.id(), "--output=json"}).out,
          "}"));
  ASSERT_EQ(history_json.changes_size(), 5);
  EXPECT_EQ(history_json.changes(2).kind(), v1::CHANGE_KIND_AMOUNT);

  // Deal health: nobody in the buying centre yet.
  CtlRun health = Ctl({"opportunities", "health", opp.id()});
  lines = Lines(health.out);
  ASSERT_GE(lines.size(), 2u) << health;
  EXPECT_EQ(lines[0].substr(0, 4), "code") << health;
  EXPECT_TRUE(absl::StrContains(health.out, "ROLE_MISSING")) << health;
  EXPECT_TRUE(absl::StrContains(health.out, "NO_COACH")) << health;
  const auto health_json = CtlJson<v1::GetDealHealthResponse>(
      {"opportunities", "health", "--id=" + opp.id()});
  EXPECT_FALSE(health_json.healthy());
  EXPECT_GE(health_json.warnings_size(), 2);

  // What the CLI printed equals what a plain gRPC client reads.
  const auto printed =
      CtlJson<v1::Opportunity>({"opportunities", "get", "--id=" + opp.id()});
  v1::GetOpportunityRequest req;
  req.set_id(opp.id());
  v1::Opportunity via_grpc;
  grpc::Status s =
      pipeline_stub_->GetOpportunity(Ctx(kAdmin).get(), req, &via_grpc);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_TRUE(MessageDifferencer::Equals(via_grpc, printed))
      << via_grpc.DebugString() << "\nvs CLI\n"
      << printed.DebugString();
  EXPECT_TRUE(MessageDifferencer::Equals(via_grpc, reopened));
  EXPECT_EQ(via_grpc.history_length(), 5);
  // And the table row carries the same values.
  CtlRun table = Ctl({"opportunities", "get", opp.id()});
  lines = Lines(table.out);
  ASSERT_EQ(lines.size(), 2u) << table;
  for (const std::string& v :
       {via_grpc.id(), via_grpc.account_id(), via_grpc.owner_node_id(),
        std::string("CONSIDERATION"), std::string("OPEN"),
        std::string("160000.50"), absl::StrCat(via_grpc.version())}) {
    EXPECT_TRUE(absl::StrContains(lines[1], v)) << v << "\n" << table;
  }

  // The list as JSON is an array of opportunities.
  const auto listed = FromJson<v1::ListOpportunitiesResponse>(absl::StrCat(
      "{\"opportunities\": ",
      Ctl({"opportunities", "list", "--owner=" + team_.id(), "--output=json"})
          .out,
      "}"));
  ASSERT_EQ(listed.opportunities_size(), 1);
  EXPECT_TRUE(MessageDifferencer::Equals(listed.opportunities(0), via_grpc));
}

TEST_F(CtlAccountsPipelineE2eTest, ErrorsAndUsageMistakes) {
  ASSERT_NO_FATAL_FAILURE(MakeOrg());
  ASSERT_NO_FATAL_FAILURE(MakeAccount());
  const std::string admin = absl::StrCat("--token=", kAdmin);

  // A failed call: the gRPC code and message on stderr, exit 1.
  CtlRun unknown =
      CtlRaw({"opportunities", "create", "--account=acc_nope",
              "--owner=" + rep_.id(), "--name=Ghost deal", "--amount=1000",
              "--close-date=" + InTwoMonths(), admin});
  EXPECT_EQ(unknown.exit, 1) << unknown;
  EXPECT_TRUE(absl::StartsWith(unknown.err, "error: INVALID_ARGUMENT: "))
      << unknown;
  EXPECT_TRUE(absl::StrContains(unknown.err, "acc_nope")) << unknown;
  EXPECT_EQ(unknown.out, "") << unknown;
  // A non-REP owner is refused the same way.
  CtlRun team_owner =
      CtlRaw({"opportunities", "create", "--account=" + account_.id(),
              "--owner=" + team_.id(), "--name=Team deal", "--amount=1000",
              "--close-date=" + InTwoMonths(), admin});
  EXPECT_EQ(team_owner.exit, 1) << team_owner;
  EXPECT_TRUE(absl::StartsWith(team_owner.err, "error: INVALID_ARGUMENT: "))
      << team_owner;
  // NOT_FOUND for an unknown id.
  CtlRun missing = CtlRaw({"accounts", "get", "acc_missing", admin});
  EXPECT_EQ(missing.exit, 1) << missing;
  EXPECT_TRUE(absl::StartsWith(missing.err, "error: NOT_FOUND: ")) << missing;
  // No token: UNAUTHENTICATED; the token from SALESOPS_TOKEN works.
  CtlRun anonymous = CtlRaw({"accounts", "get", account_.id()});
  EXPECT_EQ(anonymous.exit, 1) << anonymous;
  EXPECT_TRUE(absl::StartsWith(anonymous.err, "error: UNAUTHENTICATED: "))
      << anonymous;
  CtlRun by_env = CtlRaw({"accounts", "get", account_.id()},
                         {absl::StrCat("SALESOPS_TOKEN=", kAdmin)});
  EXPECT_EQ(by_env.exit, 0) << by_env;
  EXPECT_TRUE(absl::StrContains(by_env.out, account_.id())) << by_env;
  // Addresses from the environment too (no address flags: the defaults
  // would point at ports nobody listens on).
  {
    CtlRun env_addr = CtlRaw({"accounts", "get", account_.id(), admin,
                              "--accounts=" + Addr(accounts_port_)},
                             {"SALESOPS_ACCOUNTS=127.0.0.1:1"});
    EXPECT_EQ(env_addr.exit, 0) << env_addr;  // the flag wins over the env
  }

  // Usage mistakes: exit 2, nothing on stdout, nothing created.
  CtlRun typo =
      CtlRaw({"accounts", "create", "--name=Typo GmbH", "--colour=red", admin});
  EXPECT_EQ(typo.exit, 2) << typo;
  EXPECT_EQ(typo.out, "") << typo;
  EXPECT_TRUE(absl::StrContains(typo.err, "--colour")) << typo;
  CtlRun bad_enum = CtlRaw(
      {"accounts", "create", "--name=Typo GmbH", "--tier=DIAMOND", admin});
  EXPECT_EQ(bad_enum.exit, 2) << bad_enum;
  EXPECT_EQ(bad_enum.out, "") << bad_enum;
  EXPECT_TRUE(absl::StrContains(bad_enum.err, "PLATINUM")) << bad_enum;
  CtlRun bad_amount =
      CtlRaw({"quotas", "set", "--node=" + rep_.id(), "--year=2026",
              "--quarter=1", "--amount=12.345", admin});
  EXPECT_EQ(bad_amount.exit, 2) << bad_amount;
  EXPECT_EQ(bad_amount.out, "") << bad_amount;
  CtlRun bad_date =
      CtlRaw({"opportunities", "create", "--account=" + account_.id(),
              "--owner=" + rep_.id(), "--name=Bad date", "--amount=1000",
              "--close-date=2026-02-30", admin});
  EXPECT_EQ(bad_date.exit, 2) << bad_date;
  EXPECT_EQ(bad_date.out, "") << bad_date;
  CtlRun no_name = CtlRaw({"accounts", "create", "--industry=x", admin});
  EXPECT_EQ(no_name.exit, 2) << no_name;
  EXPECT_TRUE(absl::StrContains(no_name.err, "--name: required")) << no_name;
  CtlRun bad_output = CtlRaw({"accounts", "list", "--output=xml", admin});
  EXPECT_EQ(bad_output.exit, 2) << bad_output;
  EXPECT_EQ(bad_output.out, "") << bad_output;

  v1::ListAccountsRequest lreq;
  v1::ListAccountsResponse lresp;
  grpc::Status s =
      accounts_stub_->ListAccounts(Ctx(kAdmin).get(), lreq, &lresp);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ASSERT_EQ(lresp.accounts_size(), 1);
  EXPECT_EQ(lresp.accounts(0).id(), account_.id());
  v1::ListOpportunitiesRequest oreq;
  v1::ListOpportunitiesResponse oresp;
  s = pipeline_stub_->ListOpportunities(Ctx(kAdmin).get(), oreq, &oresp);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(oresp.opportunities_size(), 0);

  // The three formats of one list: table, JSON array, CSV with a header.
  CtlRun table = Ctl({"accounts", "list"});
  EXPECT_TRUE(absl::StartsWith(table.out, "id  ")) << table;
  const auto json = FromJson<v1::ListAccountsResponse>(absl::StrCat(
      "{\"accounts\": ", Ctl({"accounts", "list", "--output=json"}).out, "}"));
  ASSERT_EQ(json.accounts_size(), 1);
  EXPECT_TRUE(MessageDifferencer::Equals(json.accounts(0), lresp.accounts(0)));
  CtlRun csv = Ctl({"accounts", "list", "--output=csv"});
  std::vector<std::string> lines = Lines(csv.out);
  ASSERT_EQ(lines.size(), 2u) << csv;
  EXPECT_EQ(lines[0],
            "id,name,industry,owner_node_id,tier,segment,relationship_stage,"
            "region,external_id,version");
  EXPECT_EQ(lines[1],
            absl::StrCat(account_.id(), ",Rheinmetall Werke,steel,", team_.id(),
                         ",UNSPECIFIED,ACQUIRE,INITIAL,,crm-4711,",
                         account_.version()));
  EXPECT_TRUE(absl::EndsWith(csv.out, "\r\n")) << csv;
}

}  // namespace
}  // namespace salesops
