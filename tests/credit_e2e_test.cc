// End-to-end test of the credit flow (SPEC.md §3.1, §3.3, §5, §6) with the
// four real binaries on loopback, bearer tokens and SERVICE peer tokens:
//
//   accounts: global → region → team → rep, an account owned by the rep;
//   credit:   a profile for the account (limit 100,000.00 EUR, 30 days,
//             MEDIUM), set by FINANCE;
//   pipeline: a buying-cycle-6 opportunity of 150,000.00 EUR walked to
//             COMPARISON; the move into COMMITMENT (requires_credit_check) is
//             refused FAILED_PRECONDITION with credit's "credit limit" reason;
//             with the limit raised to 200,000.00 it passes; the move into
//             USAGE (contract_signed, closes_on_collection) makes credit open
//             exactly one receivable of 150,000.00 from pipeline's feed;
//   payment:  FINANCE records 150,000.00; pipeline, following credit's feed,
//             closes the opportunity WON; forecast, following all three
//             feeds, reports closed = collected = 150,000.00 for the rep and
//             the quarter of the close, and no weighted pipeline.
//
// The same flow runs once without a failure and once per service SIGKILLed in
// the middle and restarted on the same port and data dir (some with a step
// taken while the victim is down): the outcome must be identical. Every case
// then SIGKILLs and restarts credit and pipeline once more and pushes a second
// opportunity through the same path as a barrier: the first opportunity still
// has exactly one receivable, and its version and history are unchanged.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/builders.h"
#include "common/testing/temp_dir.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/audit.grpc.pb.h"
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

constexpr char kAdmin[] = "e2e-credit-admin-token";
constexpr char kFinance[] = "e2e-credit-finance-token";
constexpr char kPeer[] = "e2e-credit-peer-token";
constexpr char kPeerName[] = "salesops-peer";

constexpr int64_t kAmount = 15'000'000;         // 150,000.00 EUR in cents
constexpr int64_t kLowLimit = 10'000'000;       // 100,000.00
constexpr int64_t kHighLimit = 20'000'000;      // 200,000.00
constexpr int64_t kMarkerAmount = 100'000;      // 1,000.00
constexpr int64_t kUsageWeighted = 12'000'000;  // 80% of kAmount

using ::salesops::testing::Eur;

v1::Date ToDate(absl::CivilDay d) {
  v1::Date out;
  out.set_year(static_cast<int32_t>(d.year()));
  out.set_month(d.month());
  out.set_day(d.day());
  return out;
}

absl::CivilDay FromDate(const v1::Date& d) {
  return absl::CivilDay(d.year(), d.month(), d.day());
}

absl::CivilDay TodayUtc() {
  return absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
}

// Calendar quarters (forecast's default --quarter_start_month=1).
int QuarterOf(absl::CivilDay d) { return (d.month() - 1) / 3 + 1; }

// The last day of the quarter holding `d`: never before today when `d` is
// today, so an expected close date the pipeline accepts whatever the day.
absl::CivilDay LastDayOfQuarter(absl::CivilDay d) {
  const absl::CivilMonth first_of_next(d.year(), QuarterOf(d) * 3 + 1);
  return absl::CivilDay(first_of_next) - 1;
}

enum class Victim { kNone, kAccounts, kPipeline, kForecast, kCredit };

const char* VictimName(Victim v) {
  switch (v) {
    case Victim::kNone:
      return "none";
    case Victim::kAccounts:
      return "accounts";
    case Victim::kPipeline:
      return "pipeline";
    case Victim::kForecast:
      return "forecast";
    case Victim::kCredit:
      return "credit";
  }
  return "?";
}

// The points of the flow where a victim may be killed or restarted.
enum Phase {
  kCommitted = 0,   // the move into COMMITMENT was acknowledged
  kUsageMoved = 1,  // the move into USAGE was acknowledged
  kInvoiced = 2,    // credit's receivable was seen
  kPaid = 3,        // the payment was acknowledged
  kWon = 4,         // pipeline's WON was seen
};

struct Case {
  const char* name;
  Victim victim;
  Phase kill_at;     // SIGKILL when the flow reaches this point
  Phase restart_at;  // restart (same port, same data dir) at this point
};

// gtest prints the case by name, not as bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// The waits of the flow need credit up from kUsageMoved to kInvoiced and
// pipeline up from kPaid to kWon; a victim down across a step means that step
// is taken without it.
const Case kCases[] = {
    {"NoFailure", Victim::kNone, kCommitted, kCommitted},
    // USAGE move and the receivable's opening with accounts down.
    {"AccountsDownWhileContracting", Victim::kAccounts, kCommitted, kInvoiced},
    // Killed right after the payment, maybe while applying credit's event.
    {"PipelineKilledAfterPayment", Victim::kPipeline, kPaid, kPaid},
    // The payment recorded while pipeline is down: on restart it follows
    // credit's feed and closes the opportunity.
    {"PipelineDownDuringPayment", Victim::kPipeline, kInvoiced, kPaid},
    // Forecast misses the USAGE move, the payment and the close.
    {"ForecastDownUntilWon", Victim::kForecast, kUsageMoved, kWon},
    // Killed right after the USAGE move, maybe while applying it.
    {"CreditKilledAfterContract", Victim::kCredit, kUsageMoved, kUsageMoved},
    // The USAGE move made while credit is down: it catches up on restart.
    {"CreditDownDuringContract", Victim::kCredit, kCommitted, kUsageMoved},
};

class CreditE2eTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    for (int* port :
         {&accounts_port_, &pipeline_port_, &forecast_port_, &credit_port_}) {
      *port = e2e::FreeLoopbackPort();
      ASSERT_GT(*port, 0);
    }
    WriteFile(dir_.Sub("peer.token"), std::string(kPeer) + "\n");
    // One tokens file for all four: the test's ADMIN and FINANCE, and the
    // SERVICE principal every service presents to its peers.
    WriteFile(dir_.Sub("tokens"),
              TokenLine(kAdmin, "admin", "ADMIN") +
                  TokenLine(kFinance, "finance", "FINANCE") +
                  TokenLine(kPeer, kPeerName, "SERVICE"));
    // Pipeline and credit name each other: both ports are fixed up front, and
    // pipeline starts before credit exists (it connects lazily and its credit
    // feed retries).
    ASSERT_NO_FATAL_FAILURE(Start(Victim::kAccounts));
    ASSERT_NO_FATAL_FAILURE(Start(Victim::kPipeline));
    ASSERT_NO_FATAL_FAILURE(Start(Victim::kCredit));
    ASSERT_NO_FATAL_FAILURE(Start(Victim::kForecast));
  }

  void TearDown() override {
    if (!HasFailure()) {
      return;
    }
    std::vector<const testing::Process*> all;
    for (const auto& p : dead_) {
      all.push_back(p.get());  // the killed ones first
    }
    for (auto* s : {&accounts_, &pipeline_, &credit_, &forecast_}) {
      all.push_back(s->process.get());
    }
    for (const testing::Process* p : all) {
      if (p != nullptr) {
        const std::string log = p->Log();
        std::cerr << "---- log tail (pid " << p->pid() << ")\n"
                  << log.substr(log.size() > 6000 ? log.size() - 6000 : 0)
                  << "\n";
      }
    }
  }

  std::vector<std::string> Common(const std::string& name, int port) {
    return {absl::StrCat("--listen=127.0.0.1:", port),
            "--metrics_listen=127.0.0.1:0",
            "--auth=tokens",
            "--tokens_file=" + dir_.Sub("tokens"),
            "--peer_token_file=" + dir_.Sub("peer.token"),
            "--data_dir=" + dir_.Sub(name),
            "--init",
            "--currency=EUR",
            "--time_zone=UTC"};
  }

  static std::string Addr(int port) { return absl::StrCat("127.0.0.1:", port); }

  void Start(Victim v) {
    std::vector<std::string> args;
    Service* s = nullptr;
    int port = 0;
    switch (v) {
      case Victim::kAccounts:
        args = {SALESOPS_ACCOUNTS_BIN};
        port = accounts_port_;
        s = &accounts_;
        break;
      case Victim::kPipeline:
        args = {SALESOPS_PIPELINE_BIN,
                "--accounts_addr=" + Addr(accounts_port_),
                "--credit_addr=" + Addr(credit_port_)};
        port = pipeline_port_;
        s = &pipeline_;
        break;
      case Victim::kForecast:
        args = {SALESOPS_FORECAST_BIN,
                "--accounts_addr=" + Addr(accounts_port_),
                "--pipeline_addr=" + Addr(pipeline_port_),
                "--credit_addr=" + Addr(credit_port_)};
        port = forecast_port_;
        s = &forecast_;
        break;
      case Victim::kCredit:
        args = {SALESOPS_CREDIT_BIN, "--accounts_addr=" + Addr(accounts_port_),
                "--pipeline_addr=" + Addr(pipeline_port_)};
        port = credit_port_;
        s = &credit_;
        break;
      case Victim::kNone:
        return;
    }
    const std::string name = VictimName(v);
    for (std::string& a : Common(name, port)) {
      args.push_back(std::move(a));
    }
    if (s->process != nullptr) {
      // Keep the dead one (and its log file) for the whole test.
      dead_.push_back(std::move(s->process));
    }
    *s = Launch(args, name);
    ASSERT_NE(s->process, nullptr) << name;
    ASSERT_EQ(s->port, port) << name << " did not come up on its port:\n"
                             << s->process->Log();
    switch (v) {
      case Victim::kAccounts:
        accounts_stub_ = v1::AccountsService::NewStub(s->channel);
        break;
      case Victim::kPipeline:
        pipeline_stub_ = v1::PipelineService::NewStub(s->channel);
        pipeline_audit_ = v1::AuditService::NewStub(s->channel);
        break;
      case Victim::kForecast:
        forecast_stub_ = v1::ForecastService::NewStub(s->channel);
        break;
      case Victim::kCredit:
        credit_stub_ = v1::CreditService::NewStub(s->channel);
        credit_audit_ = v1::AuditService::NewStub(s->channel);
        break;
      case Victim::kNone:
        break;
    }
  }

  void Kill(Victim v) {
    Service* s = v == Victim::kAccounts   ? &accounts_
                 : v == Victim::kPipeline ? &pipeline_
                 : v == Victim::kForecast ? &forecast_
                 : v == Victim::kCredit   ? &credit_
                                          : nullptr;
    if (s == nullptr) {
      return;
    }
    ASSERT_NE(s->process, nullptr);
    s->process->Signal(SIGKILL);
    ASSERT_TRUE(s->process->WaitExit(absl::Seconds(10)).has_value())
        << VictimName(v);
    std::cout << "[ " << GetParam().name << " ] SIGKILLed " << VictimName(v)
              << "\n";
  }

  void Restart(Victim v) {
    ASSERT_NO_FATAL_FAILURE(Kill(v));
    ASSERT_NO_FATAL_FAILURE(Start(v));
  }

  // The case's kill and restart at point `p` of the flow.
  void At(Phase p) {
    const Case& c = GetParam();
    if (c.victim == Victim::kNone) {
      return;
    }
    if (c.kill_at == p) {
      ASSERT_NO_FATAL_FAILURE(Kill(c.victim));
      down_ = c.victim;
    }
    if (c.restart_at == p) {
      ASSERT_NO_FATAL_FAILURE(Start(c.victim));
      down_ = Victim::kNone;
    }
  }

  // ---- accounts ----

  v1::OrgNode Node(v1::OrgNodeKind kind, const std::string& name,
                   const std::string& parent) {
    v1::CreateOrgNodeRequest req;
    req.mutable_node()->set_kind(kind);
    req.mutable_node()->set_name(name);
    req.mutable_node()->set_parent_id(parent);
    v1::OrgNode node;
    grpc::Status s =
        accounts_stub_->CreateOrgNode(Ctx(kAdmin).get(), req, &node);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return node;
  }

  // ---- credit ----

  grpc::Status SetLimit(int64_t limit) {
    v1::SetCreditProfileRequest req;
    v1::CreditProfile* p = req.mutable_profile();
    p->set_account_id(account_.id());
    *p->mutable_credit_limit() = Eur(limit);
    p->set_payment_terms_days(30);
    p->set_risk_class(v1::RISK_CLASS_MEDIUM);
    v1::CreditProfile out;
    grpc::Status s =
        credit_stub_->SetCreditProfile(Ctx(kFinance).get(), req, &out);
    if (s.ok()) {
      EXPECT_EQ(out.credit_limit().units_minor(), limit);
      EXPECT_EQ(out.payment_terms_days(), 30);
      EXPECT_EQ(out.risk_class(), v1::RISK_CLASS_MEDIUM);
      EXPECT_FALSE(out.hold());
    }
    return s;
  }

  std::vector<v1::Receivable> Receivables(const std::string& opportunity_id) {
    v1::ListReceivablesRequest req;
    req.set_opportunity_id(opportunity_id);
    req.set_page_size(1000);
    v1::ListReceivablesResponse resp;
    grpc::Status s =
        credit_stub_->ListReceivables(Ctx(kFinance).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return {resp.receivables().begin(), resp.receivables().end()};
  }

  // Waits (bounded) for credit to open the receivable(s) of an opportunity.
  std::vector<v1::Receivable> AwaitReceivables(const std::string& id) {
    std::vector<v1::Receivable> found;
    EXPECT_TRUE(Eventually([&] {
      found = Receivables(id);
      return !found.empty();
    })) << "no receivable for "
        << id << " within 30 s";
    return found;
  }

  std::vector<v1::CreditCheck> Checks() {
    v1::ListCreditChecksRequest req;
    req.set_account_id(account_.id());
    v1::ListCreditChecksResponse resp;
    grpc::Status s =
        credit_stub_->ListCreditChecks(Ctx(kFinance).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return {resp.checks().begin(), resp.checks().end()};
  }

  // ---- pipeline ----

  v1::Opportunity Get(const std::string& id) {
    v1::GetOpportunityRequest req;
    req.set_id(id);
    v1::Opportunity o;
    grpc::Status s = pipeline_stub_->GetOpportunity(Ctx(kAdmin).get(), req, &o);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return o;
  }

  int HistoryLength(const std::string& id) {
    v1::GetOpportunityHistoryRequest req;
    req.set_opportunity_id(id);
    v1::GetOpportunityHistoryResponse resp;
    grpc::Status s =
        pipeline_stub_->GetOpportunityHistory(Ctx(kAdmin).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return resp.changes_size();
  }

  v1::Opportunity Create(const std::string& name, int64_t amount) {
    v1::CreateOpportunityRequest req;
    v1::Opportunity* o = req.mutable_opportunity();
    o->set_account_id(account_.id());
    o->set_owner_node_id(rep_.id());
    o->set_name(name);
    *o->mutable_amount() = Eur(amount);
    *o->mutable_expected_close_date() = ToDate(close_date_);
    o->set_stage_model_id("buying-cycle-6");
    req.set_request_id(absl::StrCat("credit-e2e-", name));
    v1::Opportunity out;
    grpc::Status s =
        pipeline_stub_->CreateOpportunity(Ctx(kAdmin).get(), req, &out);
    EXPECT_TRUE(s.ok()) << Describe(s);
    EXPECT_EQ(out.stage_key(), "INTEREST");
    return out;
  }

  // Checks every required exit criterion of the opportunity's current stage
  // (as the stage model defines it) and moves it to the next stage.
  grpc::Status Advance(v1::Opportunity* o) {
    int at = -1;
    for (int i = 0; i < model_.stages_size(); ++i) {
      if (model_.stages(i).key() == o->stage_key()) {
        at = i;
      }
    }
    EXPECT_GE(at, 0) << o->stage_key();
    EXPECT_LT(at + 1, model_.stages_size());
    if (at < 0 || at + 1 >= model_.stages_size()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "no next stage");
    }
    for (const v1::ExitCriterion& c : model_.stages(at).exit_criteria()) {
      if (!c.required()) {
        continue;
      }
      v1::SetExitCriterionRequest req;
      req.set_opportunity_id(o->id());
      req.set_stage_key(o->stage_key());
      req.set_criterion_key(c.key());
      req.set_checked(true);
      req.set_expected_version(o->version());
      v1::Opportunity out;
      grpc::Status s =
          pipeline_stub_->SetExitCriterion(Ctx(kAdmin).get(), req, &out);
      if (!s.ok()) {
        return s;
      }
      *o = out;
    }
    v1::MoveStageRequest req;
    req.set_opportunity_id(o->id());
    req.set_to_stage_key(model_.stages(at + 1).key());
    req.set_expected_version(o->version());
    v1::Opportunity out;
    grpc::Status s = pipeline_stub_->MoveStage(Ctx(kAdmin).get(), req, &out);
    if (s.ok()) {
      *o = out;
    }
    return s;
  }

  const v1::Stage* StageOf(const std::string& key) const {
    for (const v1::Stage& s : model_.stages()) {
      if (s.key() == key) {
        return &s;
      }
    }
    return nullptr;
  }

  // ---- forecast ----

  grpc::Status Forecast(const std::string& node, absl::CivilDay in_quarter,
                        v1::Forecast* f) {
    v1::GetForecastRequest req;
    req.set_node_id(node);
    req.set_fiscal_year(static_cast<int32_t>(in_quarter.year()));
    req.set_fiscal_quarter(QuarterOf(in_quarter));
    return forecast_stub_->GetForecast(Ctx(kAdmin).get(), req, f);
  }

  // Waits (bounded) until the node's forecast for the quarter of `day` shows
  // these closed and collected figures; returns the last answer.
  v1::Forecast AwaitClosed(const std::string& node, absl::CivilDay day,
                           int64_t closed, int64_t collected) {
    v1::Forecast f;
    grpc::Status last;
    EXPECT_TRUE(Eventually([&] {
      f.Clear();
      last = Forecast(node, day, &f);
      return last.ok() && f.node().closed().units_minor() == closed &&
             f.node().collected().units_minor() == collected;
    })) << "forecast of "
        << node << " never showed closed " << closed << " collected "
        << collected << "; last: " << Describe(last) << " "
        << f.ShortDebugString();
    return f;
  }

  // ---- the flow ----

  // Steps 1–2: the org, the account owned by the rep, the stage model and the
  // first credit profile.
  void BuildWorld() {
    global_ = Node(v1::ORG_NODE_KIND_GLOBAL, "Global", "");
    region_ = Node(v1::ORG_NODE_KIND_REGION, "EMEA", global_.id());
    team_ = Node(v1::ORG_NODE_KIND_TEAM, "DACH Enterprise", region_.id());
    rep_ = Node(v1::ORG_NODE_KIND_REP, "Anna Berger", team_.id());
    ASSERT_FALSE(rep_.id().empty());
    {
      v1::CreateAccountRequest req;
      req.mutable_account()->set_name("Rheinwerk Maschinenbau AG");
      req.mutable_account()->set_owner_node_id(rep_.id());
      grpc::Status s =
          accounts_stub_->CreateAccount(Ctx(kAdmin).get(), req, &account_);
      ASSERT_TRUE(s.ok()) << Describe(s);
      ASSERT_EQ(account_.owner_node_id(), rep_.id());
    }
    {
      v1::GetStageModelRequest req;
      req.set_id("buying-cycle-6");
      grpc::Status s =
          pipeline_stub_->GetStageModel(Ctx(kAdmin).get(), req, &model_);
      ASSERT_TRUE(s.ok()) << Describe(s);
      const v1::Stage* commitment = StageOf("COMMITMENT");
      const v1::Stage* usage = StageOf("USAGE");
      ASSERT_NE(commitment, nullptr);
      ASSERT_NE(usage, nullptr);
      ASSERT_TRUE(commitment->requires_credit_check());
      ASSERT_TRUE(usage->contract_signed());
      ASSERT_TRUE(usage->closes_on_collection());
      ASSERT_FALSE(usage->closes_won());
    }
    today_ = TodayUtc();
    close_date_ = LastDayOfQuarter(today_);
    // Step 2. The account may not have reached credit's copy of accounts
    // yet: credit then asks accounts itself, so this succeeds at once.
    grpc::Status s = SetLimit(kLowLimit);
    ASSERT_TRUE(s.ok()) << Describe(s);
  }

  // Steps 3–6 for the opportunity, with the case's kill and restart.
  void RunFlow() {
    // Step 3: walk to COMPARISON; COMMITMENT is refused by credit.
    opp_ = Create("Line 7 retrofit", kAmount);
    ASSERT_FALSE(opp_.id().empty());
    while (opp_.stage_key() != "COMPARISON") {
      grpc::Status s = Advance(&opp_);
      ASSERT_TRUE(s.ok()) << Describe(s);
    }
    {
      const int64_t version = opp_.version();
      grpc::Status s = Advance(&opp_);
      ASSERT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
          << Describe(s);
      EXPECT_TRUE(absl::StrContains(s.error_message(), "credit limit"))
          << s.error_message();
      // Nothing moved: the criterion check is the only change.
      const v1::Opportunity now = Get(opp_.id());
      EXPECT_EQ(now.stage_key(), "COMPARISON");
      EXPECT_EQ(now.status(), v1::OPPORTUNITY_STATUS_OPEN);
      EXPECT_EQ(now.version(), version + 1);
      opp_ = now;
    }
    {
      // The decision is stored, made by pipeline as a SERVICE principal.
      const std::vector<v1::CreditCheck> checks = Checks();
      ASSERT_EQ(checks.size(), 1u);
      EXPECT_EQ(checks[0].decision(), v1::CREDIT_DECISION_BLOCK);
      EXPECT_EQ(checks[0].opportunity_id(), opp_.id());
      EXPECT_EQ(checks[0].amount().units_minor(), kAmount);
      EXPECT_EQ(checks[0].credit_limit().units_minor(), kLowLimit);
      EXPECT_EQ(checks[0].checked_by(), kPeerName);
      ASSERT_EQ(checks[0].reasons_size(), 1);
      EXPECT_TRUE(absl::StrContains(checks[0].reasons(0), "credit limit"));
    }

    // Step 4: limit raised, the move passes.
    {
      grpc::Status s = SetLimit(kHighLimit);
      ASSERT_TRUE(s.ok()) << Describe(s);
      s = Advance(&opp_);
      ASSERT_TRUE(s.ok()) << Describe(s);
      EXPECT_EQ(opp_.stage_key(), "COMMITMENT");
      EXPECT_FALSE(opp_.credit_review_pending()) << opp_.credit_review_reason();
      const std::vector<v1::CreditCheck> checks = Checks();
      ASSERT_EQ(checks.size(), 2u);
      EXPECT_EQ(checks[1].decision(), v1::CREDIT_DECISION_APPROVE);
      EXPECT_EQ(checks[1].credit_limit().units_minor(), kHighLimit);
    }
    ASSERT_NO_FATAL_FAILURE(At(kCommitted));

    // Step 5: USAGE; credit opens one receivable from pipeline's feed.
    {
      grpc::Status s = Advance(&opp_);
      ASSERT_TRUE(s.ok()) << Describe(s);
      EXPECT_EQ(opp_.stage_key(), "USAGE");
      EXPECT_EQ(opp_.status(), v1::OPPORTUNITY_STATUS_OPEN);
    }
    ASSERT_NO_FATAL_FAILURE(At(kUsageMoved));
    ASSERT_NE(down_, Victim::kCredit);
    std::vector<v1::Receivable> rs = AwaitReceivables(opp_.id());
    ASSERT_EQ(rs.size(), 1u);
    receivable_ = rs[0];
    EXPECT_EQ(receivable_.account_id(), account_.id());
    EXPECT_EQ(receivable_.amount().units_minor(), kAmount);
    EXPECT_EQ(receivable_.amount().currency(), "EUR");
    EXPECT_EQ(receivable_.open().units_minor(), kAmount);
    EXPECT_EQ(receivable_.state(), v1::RECEIVABLE_STATE_OPEN);
    EXPECT_EQ(receivable_.source(), v1::RECEIVABLE_SOURCE_CONTRACT_SIGNED);
    EXPECT_EQ(
        FromDate(receivable_.due_date()) - FromDate(receivable_.issue_date()),
        30);
    // Before kInvoiced's kill: the forecast takes the USAGE move from
    // pipeline's feed, which a pipeline killed at kInvoiced no longer serves
    // (credit having seen the move says nothing of when the forecast did).
    if (down_ != Victim::kForecast) {
      // Open in USAGE: 80% of the amount is weighted pipeline.
      v1::Forecast f;
      grpc::Status last;
      EXPECT_TRUE(Eventually([&] {
        f.Clear();
        last = Forecast(rep_.id(), close_date_, &f);
        return last.ok() &&
               f.node().pipeline_weighted().units_minor() == kUsageWeighted;
      })) << Describe(last)
          << " " << f.ShortDebugString();
      EXPECT_EQ(f.node().closed().units_minor(), 0);
      EXPECT_EQ(f.node().collected().units_minor(), 0);
    }
    ASSERT_NO_FATAL_FAILURE(At(kInvoiced));

    // Step 6: the payment (FINANCE); a repeated external id is a no-op.
    {
      v1::RecordPaymentRequest req;
      req.set_account_id(account_.id());
      *req.mutable_amount() = Eur(kAmount);
      *req.mutable_date() = ToDate(TodayUtc());
      req.set_external_id(absl::StrCat("bank-", opp_.id()));
      v1::Payment payment;
      grpc::Status s =
          credit_stub_->RecordPayment(Ctx(kFinance).get(), req, &payment);
      ASSERT_TRUE(s.ok()) << Describe(s);
      ASSERT_EQ(payment.allocations_size(), 1);
      EXPECT_EQ(payment.allocations(0).receivable_id(), receivable_.id());
      EXPECT_EQ(payment.allocations(0).amount().units_minor(), kAmount);
      v1::Payment again;
      s = credit_stub_->RecordPayment(Ctx(kFinance).get(), req, &again);
      ASSERT_TRUE(s.ok()) << Describe(s);
      EXPECT_EQ(again.id(), payment.id());
    }
    ASSERT_NO_FATAL_FAILURE(At(kPaid));
    ASSERT_NE(down_, Victim::kPipeline);
    ASSERT_NE(down_, Victim::kCredit);
    {
      v1::Opportunity o;
      EXPECT_TRUE(Eventually([&] {
        o = Get(opp_.id());
        return o.status() == v1::OPPORTUNITY_STATUS_WON;
      })) << "not WON within 30 s: "
          << o.ShortDebugString();
      ASSERT_EQ(o.status(), v1::OPPORTUNITY_STATUS_WON);
      EXPECT_EQ(o.stage_key(), "USAGE");
      EXPECT_GT(o.closed_micros(), 0);
      opp_ = o;
    }
    ASSERT_NO_FATAL_FAILURE(At(kWon));
    ASSERT_EQ(down_, Victim::kNone) << "bad case " << GetParam().name;
  }

  // The outcome every case must reach.
  void ExpectOutcome() {
    // Exactly one receivable, paid in full.
    const std::vector<v1::Receivable> rs = Receivables(opp_.id());
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].id(), receivable_.id());
    EXPECT_EQ(rs[0].state(), v1::RECEIVABLE_STATE_PAID);
    EXPECT_EQ(rs[0].paid().units_minor(), kAmount);
    EXPECT_EQ(rs[0].open().units_minor(), 0);
    EXPECT_EQ(rs[0].payments_size(), 1);
    paid_receivable_ = rs[0];
    {
      v1::GetOpportunityCollectionRequest req;
      req.set_opportunity_id(opp_.id());
      v1::OpportunityCollection c;
      grpc::Status s =
          credit_stub_->GetOpportunityCollection(Ctx(kFinance).get(), req, &c);
      ASSERT_TRUE(s.ok()) << Describe(s);
      EXPECT_TRUE(c.fully_collected());
      EXPECT_EQ(c.invoiced().units_minor(), kAmount);
      EXPECT_EQ(c.collected().units_minor(), kAmount);
    }
    // WON once: the history ends with exactly one close.
    const v1::Opportunity o = Get(opp_.id());
    EXPECT_EQ(o.status(), v1::OPPORTUNITY_STATUS_WON);
    {
      v1::GetOpportunityHistoryRequest req;
      req.set_opportunity_id(opp_.id());
      v1::GetOpportunityHistoryResponse h;
      grpc::Status s =
          pipeline_stub_->GetOpportunityHistory(Ctx(kAdmin).get(), req, &h);
      ASSERT_TRUE(s.ok()) << Describe(s);
      int closes = 0;
      for (const v1::OpportunityChange& c : h.changes()) {
        closes += c.kind() == v1::CHANGE_KIND_CLOSED ? 1 : 0;
      }
      EXPECT_EQ(closes, 1);
      ASSERT_GT(h.changes_size(), 0);
      EXPECT_EQ(h.changes(h.changes_size() - 1).kind(), v1::CHANGE_KIND_CLOSED);
      EXPECT_EQ(h.changes(h.changes_size() - 1).to(), "WON");
      EXPECT_EQ(o.history_length(), h.changes_size());
    }
    // Forecast: the rep and every node above, in the quarter of the close.
    const absl::CivilDay closed_on = absl::ToCivilDay(
        absl::FromUnixMicros(o.closed_micros()), absl::UTCTimeZone());
    for (const v1::OrgNode& n : {rep_, team_, region_, global_}) {
      SCOPED_TRACE(n.name());
      const v1::Forecast f = AwaitClosed(n.id(), closed_on, kAmount, kAmount);
      EXPECT_EQ(f.node().closed().units_minor(), kAmount);
      EXPECT_EQ(f.node().collected().units_minor(), kAmount);
      EXPECT_EQ(f.node().pipeline_weighted().units_minor(), 0);
      EXPECT_EQ(f.node().forecast().units_minor(), kAmount);
      EXPECT_EQ(f.node().out_of_funnel().units_minor(), 0);
      EXPECT_EQ(f.funnel_size(), 0) << f.ShortDebugString();
    }
    if (QuarterOf(close_date_) != QuarterOf(closed_on) ||
        close_date_.year() != closed_on.year()) {
      // (Only around a quarter's end.) Nothing weighted left where it was
      // expected to close either.
      v1::Forecast f;
      ASSERT_TRUE(Forecast(rep_.id(), close_date_, &f).ok());
      EXPECT_EQ(f.node().pipeline_weighted().units_minor(), 0);
    }
  }

  // Credit and pipeline SIGKILLed and restarted once more; a second
  // opportunity pushed through contract and payment is the barrier that shows
  // both have followed each other's feed past everything of the first one.
  // The audit records of `id` (ADMIN), asserting each version appears once,
  // in order, from 1 to `version`: no change unrecorded, none recorded twice,
  // whichever service was killed.
  std::vector<v1::AuditRecord> Audit(v1::AuditService::Stub& stub,
                                     const std::string& kind,
                                     const std::string& id, int64_t version) {
    v1::ListAuditRecordsRequest req;
    req.set_entity_id(id);
    req.set_kind(kind);
    v1::ListAuditRecordsResponse resp;
    grpc::Status s = stub.ListAuditRecords(Ctx(kAdmin).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << Describe(s);
    std::vector<v1::AuditRecord> out(resp.records().begin(),
                                     resp.records().end());
    EXPECT_EQ(static_cast<int64_t>(out.size()), version) << kind << " " << id;
    for (size_t i = 0; i < out.size(); ++i) {
      EXPECT_EQ(out[i].before_version(), static_cast<int64_t>(i));
      EXPECT_EQ(out[i].after_version(), static_cast<int64_t>(i) + 1);
    }
    return out;
  }
  static bool Has(const v1::AuditRecord& r, const std::string& field) {
    return std::find(r.changed_fields().begin(), r.changed_fields().end(),
                     field) != r.changed_fields().end();
  }

  // Who changed the deal and its receivable: the people by their principal
  // and RPC, the services' own follow-ups by service and feed.
  void ExpectAuditTrail() {
    const std::vector<v1::AuditRecord> deal = Audit(
        *pipeline_audit_, "pipeline.Opportunity", opp_.id(), opp_.version());
    ASSERT_FALSE(deal.empty());
    EXPECT_EQ(deal.front().method(), "CreateOpportunity");
    EXPECT_EQ(deal.front().actor(), "admin");
    EXPECT_EQ(deal.front().actor_role(), "ADMIN");
    int moves = 0;
    for (const v1::AuditRecord& r : deal) {
      if (r.method() == "MoveStage") {
        ++moves;
        EXPECT_TRUE(Has(r, "stage_key")) << r.ShortDebugString();
      }
    }
    // INTEREST → ... → USAGE of buying-cycle-6: five moves that passed.
    EXPECT_EQ(moves, 5);
    // Closed WON by pipeline itself, following credit's collections.
    const v1::AuditRecord& won = deal.back();
    EXPECT_EQ(won.actor(), "salesops-pipeline");
    EXPECT_EQ(won.actor_role(), "SYSTEM");
    EXPECT_TRUE(won.method() == "feed:credit" ||
                won.method() == "resync:credit")
        << won.method();
    EXPECT_TRUE(Has(won, "status")) << won.ShortDebugString();

    const std::vector<v1::AuditRecord> debt =
        Audit(*credit_audit_, "credit.Receivable", receivable_.id(),
              paid_receivable_.version());
    ASSERT_FALSE(debt.empty());
    EXPECT_EQ(debt.front().actor(), "salesops-credit");
    EXPECT_EQ(debt.front().actor_role(), "SYSTEM");
    EXPECT_TRUE(debt.front().method() == "feed:pipeline" ||
                debt.front().method() == "resync:pipeline")
        << debt.front().method();
    const int paid = static_cast<int>(
        std::count_if(debt.begin(), debt.end(), [](const v1::AuditRecord& r) {
          return r.method() == "RecordPayment" && r.actor() == "finance" &&
                 r.actor_role() == "FINANCE";
        }));
    // The payment's replay (same external id) changed nothing.
    EXPECT_EQ(paid, 1);
  }

  void ExpectNoReplayEffects() {
    const v1::Opportunity before = Get(opp_.id());
    const int history_before = HistoryLength(opp_.id());
    ASSERT_NO_FATAL_FAILURE(Restart(Victim::kCredit));
    ASSERT_NO_FATAL_FAILURE(Restart(Victim::kPipeline));

    v1::Opportunity marker = Create("Spare parts", kMarkerAmount);
    ASSERT_FALSE(marker.id().empty());
    while (marker.stage_key() != "USAGE") {
      grpc::Status s = Advance(&marker);
      ASSERT_TRUE(s.ok()) << marker.stage_key() << ": " << Describe(s);
    }
    std::vector<v1::Receivable> rs = AwaitReceivables(marker.id());
    ASSERT_EQ(rs.size(), 1u);
    EXPECT_EQ(rs[0].amount().units_minor(), kMarkerAmount);
    // Credit has applied pipeline's feed beyond the first opportunity.
    EXPECT_EQ(Receivables(opp_.id()).size(), 1u);
    {
      v1::RecordPaymentRequest req;
      req.set_account_id(account_.id());
      *req.mutable_amount() = Eur(kMarkerAmount);
      *req.mutable_date() = ToDate(TodayUtc());
      v1::Allocation* a = req.add_allocations();
      a->set_receivable_id(rs[0].id());
      *a->mutable_amount() = Eur(kMarkerAmount);
      v1::Payment payment;
      grpc::Status s =
          credit_stub_->RecordPayment(Ctx(kFinance).get(), req, &payment);
      ASSERT_TRUE(s.ok()) << Describe(s);
    }
    v1::Opportunity m;
    ASSERT_TRUE(Eventually([&] {
      m = Get(marker.id());
      return m.status() == v1::OPPORTUNITY_STATUS_WON;
    })) << m.ShortDebugString();
    // Pipeline has applied credit's feed beyond the first opportunity's
    // collection: it was not closed a second time.
    const v1::Opportunity after = Get(opp_.id());
    EXPECT_EQ(after.status(), v1::OPPORTUNITY_STATUS_WON);
    EXPECT_EQ(after.version(), before.version());
    EXPECT_EQ(after.history_length(), before.history_length());
    EXPECT_EQ(after.closed_micros(), before.closed_micros());
    EXPECT_EQ(HistoryLength(opp_.id()), history_before);
    const std::vector<v1::Receivable> first = Receivables(opp_.id());
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].id(), receivable_.id());
    EXPECT_EQ(first[0].version(), paid_receivable_.version());
    EXPECT_EQ(first[0].payments_size(), 1);
    // And the forecast counts both, each once.
    const absl::CivilDay closed_on = absl::ToCivilDay(
        absl::FromUnixMicros(m.closed_micros()), absl::UTCTimeZone());
    const absl::CivilDay first_closed_on = absl::ToCivilDay(
        absl::FromUnixMicros(after.closed_micros()), absl::UTCTimeZone());
    if (QuarterOf(closed_on) == QuarterOf(first_closed_on) &&
        closed_on.year() == first_closed_on.year()) {
      const v1::Forecast f =
          AwaitClosed(rep_.id(), closed_on, kAmount + kMarkerAmount,
                      kAmount + kMarkerAmount);
      EXPECT_EQ(f.node().pipeline_weighted().units_minor(), 0);
    }
  }

  testing::TempDir dir_;
  int accounts_port_ = 0, pipeline_port_ = 0, forecast_port_ = 0,
      credit_port_ = 0;
  Service accounts_, pipeline_, forecast_, credit_;
  std::vector<std::unique_ptr<testing::Process>> dead_;
  std::unique_ptr<v1::AccountsService::Stub> accounts_stub_;
  std::unique_ptr<v1::PipelineService::Stub> pipeline_stub_;
  std::unique_ptr<v1::ForecastService::Stub> forecast_stub_;
  std::unique_ptr<v1::CreditService::Stub> credit_stub_;
  std::unique_ptr<v1::AuditService::Stub> pipeline_audit_;
  std::unique_ptr<v1::AuditService::Stub> credit_audit_;
  Victim down_ = Victim::kNone;

  v1::OrgNode global_, region_, team_, rep_;
  v1::Account account_;
  v1::StageModel model_;
  absl::CivilDay today_, close_date_;
  v1::Opportunity opp_;
  v1::Receivable receivable_;       // as first seen
  v1::Receivable paid_receivable_;  // after the payment
};

TEST_P(CreditE2eTest, CreditCheckContractPaymentWonAndCollected) {
  const absl::Time start = absl::Now();
  ASSERT_NO_FATAL_FAILURE(BuildWorld());
  ASSERT_NO_FATAL_FAILURE(RunFlow());
  ASSERT_NO_FATAL_FAILURE(ExpectOutcome());
  ASSERT_NO_FATAL_FAILURE(ExpectNoReplayEffects());
  ASSERT_NO_FATAL_FAILURE(ExpectAuditTrail());
  std::cout << "[ " << GetParam().name << " ] flow took "
            << absl::FormatDuration(absl::Now() - start) << "\n";
}

INSTANTIATE_TEST_SUITE_P(KillEachService, CreditE2eTest,
                         ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace salesops
