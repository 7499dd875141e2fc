// End-to-end security test (SPEC.md §8 "Security"; DECISIONS D6, D15, D16,
// D20–D22) with the four real binaries on loopback and --auth=tokens:
//
//   org:    Global → East (REGION) → reps e1, e2
//           Global → West (REGION) → rep w1
//   tokens: ADMIN, FINANCE, SERVICE (the peers' token), MANAGER of East,
//           MANAGER of West, REP e1, REP e2, REP w1.
//
// Org node ids are server-generated and tokens are read at start, so accounts
// is first started with ADMIN/FINANCE/SERVICE only, the tree is created, the
// final tokens file (with the node ids) is written and accounts is restarted;
// then pipeline, credit and forecast start with the final file.
//
// Data: one account per rep; two opportunities for e1 (the second is what
// FINANCE tries to change), one each for e2 and w1; a credit profile and a
// posted receivable per account; quotas. The test waits (bounded) until
// pipeline, credit and forecast have followed the accounts feed.
//
// Then, with exact status codes: a REP reads and writes only their own
// opportunities, credit data and forecast; a MANAGER only their subtree;
// FINANCE cannot change opportunities but writes credit; REP and MANAGER
// cannot write credit; no token, a forged token and a malformed header are
// UNAUTHENTICATED on every service and its FeedService; the FeedService
// refuses every role but SERVICE and ADMIN (D6).

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/builders.h"
#include "common/testing/temp_dir.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/feed.grpc.pb.h"
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
using grpc::StatusCode;

constexpr char kAdmin[] = "sec-e2e-admin-token";
constexpr char kFinance[] = "sec-e2e-finance-token";
constexpr char kPeer[] = "sec-e2e-peer-token";
constexpr char kMgrEast[] = "sec-e2e-manager-east-token";
constexpr char kMgrWest[] = "sec-e2e-manager-west-token";
constexpr char kRepE1[] = "sec-e2e-rep-e1-token";
constexpr char kRepE2[] = "sec-e2e-rep-e2-token";
constexpr char kRepW1[] = "sec-e2e-rep-w1-token";

constexpr int64_t kOppAmount = 1'000'000;  // 10,000.00 EUR
constexpr int64_t kRcvAmount = 500'000;    // 5,000.00 EUR

using ::salesops::testing::Eur;

v1::Date ToDate(absl::CivilDay d) {
  v1::Date out;
  out.set_year(static_cast<int32_t>(d.year()));
  out.set_month(d.month());
  out.set_day(d.day());
  return out;
}

absl::CivilDay TodayUtc() {
  return absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
}

int QuarterOf(absl::CivilDay d) { return (d.month() - 1) / 3 + 1; }

absl::CivilDay LastDayOfQuarter(absl::CivilDay d) {
  const absl::CivilMonth first_of_next(d.year(), QuarterOf(d) * 3 + 1);
  return absl::CivilDay(first_of_next) - 1;
}

// A call context with a 10 s deadline and `authorization: <header>` unless
// `header` is empty (then no authorization metadata at all).
std::unique_ptr<grpc::ClientContext> RawCtx(const std::string& header) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(10));
  if (!header.empty()) {
    ctx->AddMetadata("authorization", header);
  }
  return ctx;
}

// The bad credentials every service must refuse UNAUTHENTICATED.
struct BadCredential {
  const char* what;
  const char* header;  // "" = no authorization metadata
};
const BadCredential kBadCredentials[] = {
    {"no token", ""},
    {"forged token", "Bearer not-a-real-token"},
    {"malformed header", "Basic x"},
};

// Everything the suite starts and creates, shared by every test.
struct World {
  testing::TempDir dir;
  int accounts_port = 0, pipeline_port = 0, forecast_port = 0, credit_port = 0;
  Service accounts, pipeline, forecast, credit;
  std::vector<std::unique_ptr<testing::Process>> dead;
  std::unique_ptr<v1::AccountsService::Stub> accounts_stub;
  std::unique_ptr<v1::PipelineService::Stub> pipeline_stub;
  std::unique_ptr<v1::ForecastService::Stub> forecast_stub;
  std::unique_ptr<v1::CreditService::Stub> credit_stub;
  // Feed stubs by service name.
  std::map<std::string, std::unique_ptr<v1::FeedService::Stub>> feeds;

  v1::OrgNode global, east, west, e1, e2, w1;
  v1::Account acc_e1, acc_e2, acc_w1;
  v1::Opportunity opp_e1, opp_e1_finance, opp_e2, opp_w1;
  v1::Receivable rcv_e1, rcv_e2, rcv_w1;
  absl::CivilDay today, close_date;
};

World* w = nullptr;

class SecurityE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    w = new World;
    setup_ok_ = false;
    const absl::Time start = absl::Now();
    Build();
    std::cout << "[ SecurityE2eTest ] setup took "
              << absl::FormatDuration(absl::Now() - start) << "\n";
  }

  static void TearDownTestSuite() {
    delete w;
    w = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(setup_ok_) << "suite setup failed; see the first test's log";
  }

  void TearDown() override {
    if (!HasFailure() || w == nullptr) {
      return;
    }
    for (const Service* s :
         {&w->accounts, &w->pipeline, &w->credit, &w->forecast}) {
      if (s->process != nullptr) {
        const std::string log = s->process->Log();
        std::cerr << "---- log tail (pid " << s->process->pid() << ")\n"
                  << log.substr(log.size() > 3000 ? log.size() - 3000 : 0)
                  << "\n";
      }
    }
  }

  // ---- starting the binaries ----

  static void Start(const std::string& name) {
    Service* s = name == "accounts"   ? &w->accounts
                 : name == "pipeline" ? &w->pipeline
                 : name == "credit"   ? &w->credit
                                      : &w->forecast;
    const e2e::SuitePorts ports{w->accounts_port, w->pipeline_port,
                                w->forecast_port, w->credit_port};
    const int port = ports.Of(name);
    std::vector<std::string> args = e2e::SuiteArgs(name, ports, w->dir.path());
    if (s->process != nullptr) {
      w->dead.push_back(std::move(s->process));
    }
    *s = Launch(args, name);
    ASSERT_NE(s->process, nullptr) << name;
    ASSERT_EQ(s->port, port) << name << " did not come up on its port:\n"
                             << s->process->Log();
    w->feeds[name] = v1::FeedService::NewStub(s->channel);
    if (name == "accounts") {
      w->accounts_stub = v1::AccountsService::NewStub(s->channel);
    } else if (name == "pipeline") {
      w->pipeline_stub = v1::PipelineService::NewStub(s->channel);
    } else if (name == "credit") {
      w->credit_stub = v1::CreditService::NewStub(s->channel);
    } else {
      w->forecast_stub = v1::ForecastService::NewStub(s->channel);
    }
  }

  // ---- building the world ----

  static v1::OrgNode Node(v1::OrgNodeKind kind, const std::string& name,
                          const std::string& parent) {
    v1::CreateOrgNodeRequest req;
    req.mutable_node()->set_kind(kind);
    req.mutable_node()->set_name(name);
    req.mutable_node()->set_parent_id(parent);
    v1::OrgNode node;
    grpc::Status s =
        w->accounts_stub->CreateOrgNode(Ctx(kAdmin).get(), req, &node);
    EXPECT_TRUE(s.ok()) << name << ": " << Describe(s);
    return node;
  }

  static v1::Account Account(const std::string& name, const v1::OrgNode& rep) {
    v1::CreateAccountRequest req;
    req.mutable_account()->set_name(name);
    req.mutable_account()->set_owner_node_id(rep.id());
    v1::Account out;
    grpc::Status s =
        w->accounts_stub->CreateAccount(Ctx(kAdmin).get(), req, &out);
    EXPECT_TRUE(s.ok()) << name << ": " << Describe(s);
    return out;
  }

  static v1::Opportunity Opportunity(const std::string& name,
                                     const v1::Account& account,
                                     const v1::OrgNode& rep) {
    v1::CreateOpportunityRequest req;
    *req.mutable_opportunity() = NewOpportunity(name, account, rep);
    req.set_request_id(absl::StrCat("sec-e2e-", name));
    v1::Opportunity out;
    grpc::Status s =
        w->pipeline_stub->CreateOpportunity(Ctx(kAdmin).get(), req, &out);
    EXPECT_TRUE(s.ok()) << name << ": " << Describe(s);
    return out;
  }

  // A valid new opportunity in CONSIDERATION (so that a move back to
  // INTEREST is a valid request needing no exit criteria).
  static v1::Opportunity NewOpportunity(const std::string& name,
                                        const v1::Account& account,
                                        const v1::OrgNode& rep) {
    v1::Opportunity o;
    o.set_account_id(account.id());
    o.set_owner_node_id(rep.id());
    o.set_name(name);
    *o.mutable_amount() = Eur(kOppAmount);
    *o.mutable_expected_close_date() = ToDate(w->close_date);
    o.set_stage_model_id("buying-cycle-6");
    o.set_stage_key("CONSIDERATION");
    return o;
  }

  static v1::Receivable Post(const v1::Account& account,
                             const std::string& external_id) {
    v1::PostReceivableRequest req;
    req.mutable_receivable()->set_account_id(account.id());
    *req.mutable_receivable()->mutable_amount() = Eur(kRcvAmount);
    *req.mutable_receivable()->mutable_issue_date() = ToDate(w->today);
    req.set_external_id(external_id);
    v1::Receivable out;
    grpc::Status s =
        w->credit_stub->PostReceivable(Ctx(kFinance).get(), req, &out);
    EXPECT_TRUE(s.ok()) << external_id << ": " << Describe(s);
    return out;
  }

  static void Build() {
    for (int* port : {&w->accounts_port, &w->pipeline_port, &w->forecast_port,
                      &w->credit_port}) {
      *port = e2e::FreeLoopbackPort();
      ASSERT_GT(*port, 0);
    }
    WriteFile(w->dir.Sub("peer.token"), std::string(kPeer) + "\n");
    const std::string base = TokenLine(kAdmin, "admin", "ADMIN") +
                             TokenLine(kFinance, "finance", "FINANCE") +
                             TokenLine(kPeer, "salesops-peer", "SERVICE");
    WriteFile(w->dir.Sub("tokens"), base);
    ASSERT_NO_FATAL_FAILURE(Start("accounts"));

    // The org tree (ids are server-generated).
    w->global = Node(v1::ORG_NODE_KIND_GLOBAL, "Global", "");
    w->east = Node(v1::ORG_NODE_KIND_REGION, "East", w->global.id());
    w->west = Node(v1::ORG_NODE_KIND_REGION, "West", w->global.id());
    w->e1 = Node(v1::ORG_NODE_KIND_REP, "Rep e1", w->east.id());
    w->e2 = Node(v1::ORG_NODE_KIND_REP, "Rep e2", w->east.id());
    w->w1 = Node(v1::ORG_NODE_KIND_REP, "Rep w1", w->west.id());
    for (const v1::OrgNode* n :
         {&w->global, &w->east, &w->west, &w->e1, &w->e2, &w->w1}) {
      ASSERT_FALSE(n->id().empty());
    }

    // The final tokens file, then accounts restarted on it.
    WriteFile(w->dir.Sub("tokens"),
              base + TokenLine(kMgrEast, "mgr-east", "MANAGER", w->east.id()) +
                  TokenLine(kMgrWest, "mgr-west", "MANAGER", w->west.id()) +
                  TokenLine(kRepE1, "rep-e1", "REP", w->e1.id()) +
                  TokenLine(kRepE2, "rep-e2", "REP", w->e2.id()) +
                  TokenLine(kRepW1, "rep-w1", "REP", w->w1.id()));
    w->accounts.process->Signal(SIGTERM);
    ASSERT_TRUE(w->accounts.process->WaitExit(absl::Seconds(10)).has_value());
    ASSERT_NO_FATAL_FAILURE(Start("accounts"));
    ASSERT_NO_FATAL_FAILURE(Start("pipeline"));
    ASSERT_NO_FATAL_FAILURE(Start("credit"));
    ASSERT_NO_FATAL_FAILURE(Start("forecast"));
    {
      // The restarted accounts knows the new principals.
      v1::GetOrgNodeRequest req;
      req.set_id(w->e1.id());
      v1::OrgNode n;
      grpc::Status s = w->accounts_stub->GetOrgNode(Ctx(kRepE1).get(), req, &n);
      ASSERT_TRUE(s.ok()) << Describe(s);
    }

    w->today = TodayUtc();
    w->close_date = LastDayOfQuarter(w->today);

    // Accounts, quotas.
    w->acc_e1 = Account("Eastwind Logistics", w->e1);
    w->acc_e2 = Account("Eastgate Foods", w->e2);
    w->acc_w1 = Account("Westfield Mining", w->w1);
    ASSERT_FALSE(w->acc_e1.id().empty());
    ASSERT_FALSE(w->acc_e2.id().empty());
    ASSERT_FALSE(w->acc_w1.id().empty());
    for (const v1::OrgNode* n : {&w->east, &w->west, &w->e1, &w->e2, &w->w1}) {
      v1::SetQuotaRequest req;
      req.set_node_id(n->id());
      req.set_fiscal_year(static_cast<int32_t>(w->today.year()));
      req.set_fiscal_quarter(QuarterOf(w->today));
      *req.mutable_amount() = Eur(10 * kOppAmount);
      v1::Quota q;
      grpc::Status s = w->accounts_stub->SetQuota(Ctx(kAdmin).get(), req, &q);
      ASSERT_TRUE(s.ok()) << n->name() << ": " << Describe(s);
    }

    // Opportunities (ADMIN).
    w->opp_e1 = Opportunity("e1 conveyor upgrade", w->acc_e1, w->e1);
    w->opp_e1_finance = Opportunity("e1 spare parts", w->acc_e1, w->e1);
    w->opp_e2 = Opportunity("e2 cold store", w->acc_e2, w->e2);
    w->opp_w1 = Opportunity("w1 crusher line", w->acc_w1, w->w1);
    for (const v1::Opportunity* o :
         {&w->opp_e1, &w->opp_e1_finance, &w->opp_e2, &w->opp_w1}) {
      ASSERT_FALSE(o->id().empty());
    }

    // Credit profiles and posted receivables (FINANCE).
    for (const v1::Account* a : {&w->acc_e1, &w->acc_e2, &w->acc_w1}) {
      v1::SetCreditProfileRequest req;
      v1::CreditProfile* p = req.mutable_profile();
      p->set_account_id(a->id());
      *p->mutable_credit_limit() = Eur(100 * kOppAmount);
      p->set_payment_terms_days(30);
      p->set_risk_class(v1::RISK_CLASS_MEDIUM);
      v1::CreditProfile out;
      grpc::Status s =
          w->credit_stub->SetCreditProfile(Ctx(kFinance).get(), req, &out);
      ASSERT_TRUE(s.ok()) << a->name() << ": " << Describe(s);
    }
    w->rcv_e1 = Post(w->acc_e1, "sec-inv-e1");
    w->rcv_e2 = Post(w->acc_e2, "sec-inv-e2");
    w->rcv_w1 = Post(w->acc_w1, "sec-inv-w1");
    ASSERT_FALSE(w->rcv_e1.id().empty());
    ASSERT_FALSE(w->rcv_e2.id().empty());
    ASSERT_FALSE(w->rcv_w1.id().empty());

    // Bounded waits: every scoped owner read succeeds once pipeline, credit
    // and forecast have followed the accounts feed.
    struct Owner {
      const char* token;
      const v1::OrgNode* node;
      const v1::Opportunity* opp;
      const v1::Receivable* rcv;
    };
    const Owner owners[] = {
        {kRepE1, &w->e1, &w->opp_e1, &w->rcv_e1},
        {kRepE2, &w->e2, &w->opp_e2, &w->rcv_e2},
        {kRepW1, &w->w1, &w->opp_w1, &w->rcv_w1},
        {kMgrEast, &w->east, &w->opp_e2, &w->rcv_e2},
        {kMgrWest, &w->west, &w->opp_w1, &w->rcv_w1},
    };
    for (const Owner& o : owners) {
      grpc::Status last;
      ASSERT_TRUE(Eventually([&] {
        last = GetOpp(o.token, *o.opp);
        return last.ok();
      })) << "pipeline: "
          << o.node->name() << " never read " << o.opp->id() << ": "
          << Describe(last);
      ASSERT_TRUE(Eventually([&] {
        last = GetRcv(o.token, *o.rcv);
        return last.ok();
      })) << "credit: "
          << o.node->name() << " never read " << o.rcv->id() << ": "
          << Describe(last);
      ASSERT_TRUE(Eventually([&] {
        last = Forecast(o.token, *o.node);
        return last.ok();
      })) << "forecast: "
          << o.node->name() << " never read its node: " << Describe(last);
    }
    {
      // Forecast has followed pipeline too: all four weighted at 10%.
      v1::Forecast f;
      grpc::Status last;
      ASSERT_TRUE(Eventually([&] {
        f.Clear();
        last = Forecast(kAdmin, w->global, &f);
        return last.ok() && f.node().pipeline_weighted().units_minor() ==
                                4 * kOppAmount / 10;
      })) << Describe(last)
          << " " << f.ShortDebugString();
    }
    setup_ok_ = true;
  }

  // ---- calls ----

  static grpc::Status GetOpp(const std::string& token, const v1::Opportunity& o,
                             v1::Opportunity* out = nullptr) {
    v1::GetOpportunityRequest req;
    req.set_id(o.id());
    v1::Opportunity tmp;
    return w->pipeline_stub->GetOpportunity(Ctx(token).get(), req,
                                            out != nullptr ? out : &tmp);
  }

  // The opportunity as it is now (ADMIN).
  static v1::Opportunity Current(const v1::Opportunity& o) {
    v1::Opportunity out;
    grpc::Status s = GetOpp(kAdmin, o, &out);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return out;
  }

  static std::vector<v1::Opportunity> ListOpps(
      const std::string& token, const std::vector<std::string>& owner_ids,
      grpc::Status* status) {
    std::vector<v1::Opportunity> all;
    std::string page_token;
    do {
      v1::ListOpportunitiesRequest req;
      for (const std::string& id : owner_ids) {
        req.add_owner_ids(id);
      }
      req.set_page_size(1000);
      req.set_page_token(page_token);
      v1::ListOpportunitiesResponse resp;
      *status =
          w->pipeline_stub->ListOpportunities(Ctx(token).get(), req, &resp);
      if (!status->ok()) {
        return all;
      }
      all.insert(all.end(), resp.opportunities().begin(),
                 resp.opportunities().end());
      page_token = resp.next_page_token();
    } while (!page_token.empty());
    return all;
  }

  static grpc::Status UpdateOpp(const std::string& token,
                                const v1::Opportunity& o) {
    const v1::Opportunity now = Current(o);
    v1::UpdateOpportunityRequest req;
    *req.mutable_opportunity() = now;
    req.mutable_opportunity()->set_name(now.name() + " (edited)");
    req.set_expected_version(now.version());
    v1::Opportunity out;
    return w->pipeline_stub->UpdateOpportunity(Ctx(token).get(), req, &out);
  }

  // A valid backward move (CONSIDERATION → INTEREST, or back).
  static grpc::Status MoveOpp(const std::string& token,
                              const v1::Opportunity& o) {
    const v1::Opportunity now = Current(o);
    v1::MoveStageRequest req;
    req.set_opportunity_id(now.id());
    req.set_to_stage_key(now.stage_key() == "INTEREST" ? "CONSIDERATION"
                                                       : "INTEREST");
    req.set_expected_version(now.version());
    if (req.to_stage_key() == "CONSIDERATION") {
      req.set_override_reason("security test");
    }
    v1::Opportunity out;
    return w->pipeline_stub->MoveStage(Ctx(token).get(), req, &out);
  }

  static grpc::Status CloseOpp(const std::string& token,
                               const v1::Opportunity& o) {
    const v1::Opportunity now = Current(o);
    v1::CloseOpportunityRequest req;
    req.set_opportunity_id(now.id());
    req.set_outcome(v1::OPPORTUNITY_STATUS_LOST);
    req.set_reason("security test");
    req.set_expected_version(now.version());
    v1::Opportunity out;
    return w->pipeline_stub->CloseOpportunity(Ctx(token).get(), req, &out);
  }

  static grpc::Status CreateOpp(const std::string& token,
                                const v1::Account& account,
                                const v1::OrgNode& rep,
                                const std::string& name) {
    v1::CreateOpportunityRequest req;
    *req.mutable_opportunity() = NewOpportunity(name, account, rep);
    req.set_request_id(absl::StrCat("sec-e2e-", name));
    v1::Opportunity out;
    return w->pipeline_stub->CreateOpportunity(Ctx(token).get(), req, &out);
  }

  static grpc::Status GetRcv(const std::string& token,
                             const v1::Receivable& r) {
    v1::GetReceivableRequest req;
    req.set_id(r.id());
    v1::Receivable out;
    return w->credit_stub->GetReceivable(Ctx(token).get(), req, &out);
  }

  static grpc::Status ListRcv(const std::string& token, const v1::Account& a) {
    v1::ListReceivablesRequest req;
    req.set_account_id(a.id());
    v1::ListReceivablesResponse out;
    return w->credit_stub->ListReceivables(Ctx(token).get(), req, &out);
  }

  static grpc::Status GetProfile(const std::string& token,
                                 const v1::Account& a) {
    v1::GetCreditProfileRequest req;
    req.set_account_id(a.id());
    v1::CreditProfile out;
    return w->credit_stub->GetCreditProfile(Ctx(token).get(), req, &out);
  }

  static grpc::Status Aging(const std::string& token, const v1::Account& a) {
    v1::GetAgingRequest req;
    req.set_account_id(a.id());
    v1::Aging out;
    return w->credit_stub->GetAging(Ctx(token).get(), req, &out);
  }

  static grpc::Status SetProfile(const std::string& token,
                                 const v1::Account& a) {
    v1::SetCreditProfileRequest req;
    v1::CreditProfile* p = req.mutable_profile();
    p->set_account_id(a.id());
    *p->mutable_credit_limit() = Eur(1000 * kOppAmount);
    p->set_payment_terms_days(60);
    p->set_risk_class(v1::RISK_CLASS_LOW);
    v1::CreditProfile out;
    return w->credit_stub->SetCreditProfile(Ctx(token).get(), req, &out);
  }

  static grpc::Status PostRcv(const std::string& token, const v1::Account& a,
                              const std::string& external_id) {
    v1::PostReceivableRequest req;
    req.mutable_receivable()->set_account_id(a.id());
    *req.mutable_receivable()->mutable_amount() = Eur(kRcvAmount);
    *req.mutable_receivable()->mutable_issue_date() = ToDate(w->today);
    req.set_external_id(external_id);
    v1::Receivable out;
    return w->credit_stub->PostReceivable(Ctx(token).get(), req, &out);
  }

  static grpc::Status Pay(const std::string& token, const v1::Account& a,
                          int64_t amount, const std::string& external_id) {
    v1::RecordPaymentRequest req;
    req.set_account_id(a.id());
    *req.mutable_amount() = Eur(amount);
    *req.mutable_date() = ToDate(TodayUtc());
    req.set_external_id(external_id);
    v1::Payment out;
    return w->credit_stub->RecordPayment(Ctx(token).get(), req, &out);
  }

  static grpc::Status Forecast(const std::string& token,
                               const v1::OrgNode& node,
                               v1::Forecast* out = nullptr) {
    v1::GetForecastRequest req;
    req.set_node_id(node.id());
    req.set_fiscal_year(static_cast<int32_t>(w->today.year()));
    req.set_fiscal_quarter(QuarterOf(w->today));
    v1::Forecast tmp;
    return w->forecast_stub->GetForecast(Ctx(token).get(), req,
                                         out != nullptr ? out : &tmp);
  }

  // Watch with `ctx`: OK when an event arrived (the stream was allowed),
  // else the stream's final status.
  static grpc::Status WatchStatus(v1::FeedService::Stub* feed,
                                  std::unique_ptr<grpc::ClientContext> ctx) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(3));
    v1::WatchRequest req;
    std::unique_ptr<grpc::ClientReader<v1::Event>> reader =
        feed->Watch(ctx.get(), req);
    v1::Event ev;
    if (reader->Read(&ev)) {
      ctx->TryCancel();
      while (reader->Read(&ev)) {
      }
      (void)reader->Finish();
      return grpc::Status::OK;
    }
    return reader->Finish();
  }

  static grpc::Status FeedPosition(v1::FeedService::Stub* feed,
                                   std::unique_ptr<grpc::ClientContext> ctx) {
    v1::GetFeedPositionRequest req;
    v1::GetFeedPositionResponse out;
    return feed->GetFeedPosition(ctx.get(), req, &out);
  }

  static bool setup_ok_;
};

bool SecurityE2eTest::setup_ok_ = false;

#define EXPECT_CODE(call, code)                                          \
  do {                                                                   \
    const grpc::Status _s = (call);                                      \
    EXPECT_EQ(_s.error_code(), (code)) << #call << ": " << Describe(_s); \
  } while (0)

// ---- REP ----

TEST_F(SecurityE2eTest, RepReadsOnlyOwnOpportunities) {
  EXPECT_CODE(GetOpp(kRepE1, w->opp_e1), StatusCode::OK);
  EXPECT_CODE(GetOpp(kRepE1, w->opp_e2), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(GetOpp(kRepE1, w->opp_w1), StatusCode::PERMISSION_DENIED);

  // Unfiltered, and asking for the whole East region and for e2 and w1: only
  // e1's own come back (lists are filtered, never failed).
  for (const std::vector<std::string>& owners :
       {std::vector<std::string>{}, std::vector<std::string>{w->east.id()},
        std::vector<std::string>{w->e2.id(), w->w1.id()},
        std::vector<std::string>{w->global.id()}}) {
    SCOPED_TRACE(absl::StrCat("owner_ids size ", owners.size()));
    grpc::Status s;
    const std::vector<v1::Opportunity> got = ListOpps(kRepE1, owners, &s);
    ASSERT_TRUE(s.ok()) << Describe(s);
    for (const v1::Opportunity& o : got) {
      EXPECT_EQ(o.owner_node_id(), w->e1.id())
          << "REP e1 listed " << o.id() << " of " << o.owner_node_id();
    }
    if (owners.empty()) {
      bool saw_own = false;
      for (const v1::Opportunity& o : got) {
        saw_own |= o.id() == w->opp_e1.id();
      }
      EXPECT_TRUE(saw_own) << "REP e1's own opportunity is not listed";
    }
  }
}

TEST_F(SecurityE2eTest, RepCannotChangeOtherRepsOpportunities) {
  EXPECT_CODE(UpdateOpp(kRepE1, w->opp_e2), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(MoveOpp(kRepE1, w->opp_e2), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(CloseOpp(kRepE1, w->opp_e2), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(UpdateOpp(kRepE1, w->opp_w1), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(MoveOpp(kRepE1, w->opp_w1), StatusCode::PERMISSION_DENIED);
  // Nor create one in another rep's name.
  EXPECT_CODE(CreateOpp(kRepE1, w->acc_e2, w->e2, "e1 posing as e2"),
              StatusCode::PERMISSION_DENIED);
  // e2's opportunity is untouched.
  const v1::Opportunity now = Current(w->opp_e2);
  EXPECT_EQ(now.version(), w->opp_e2.version()) << now.ShortDebugString();
  // The same requests on its own opportunity are valid and allowed.
  EXPECT_CODE(UpdateOpp(kRepE1, w->opp_e1), StatusCode::OK);
  EXPECT_CODE(MoveOpp(kRepE1, w->opp_e1), StatusCode::OK);
  EXPECT_CODE(CreateOpp(kRepE1, w->acc_e1, w->e1, "e1 own extra"),
              StatusCode::OK);
}

TEST_F(SecurityE2eTest, RepReadsCreditOnlyOfOwnAccounts) {
  const std::vector<std::pair<const v1::Account*, const v1::Receivable*>>
      others = {{&w->acc_e2, &w->rcv_e2}, {&w->acc_w1, &w->rcv_w1}};
  for (const auto& [acc, rcv] : others) {
    SCOPED_TRACE(acc->name());
    EXPECT_CODE(GetRcv(kRepE1, *rcv), StatusCode::PERMISSION_DENIED);
    EXPECT_CODE(ListRcv(kRepE1, *acc), StatusCode::PERMISSION_DENIED);
    EXPECT_CODE(GetProfile(kRepE1, *acc), StatusCode::PERMISSION_DENIED);
    EXPECT_CODE(Aging(kRepE1, *acc), StatusCode::PERMISSION_DENIED);
  }
  EXPECT_CODE(GetRcv(kRepE1, w->rcv_e1), StatusCode::OK);
  EXPECT_CODE(ListRcv(kRepE1, w->acc_e1), StatusCode::OK);
  EXPECT_CODE(GetProfile(kRepE1, w->acc_e1), StatusCode::OK);
  EXPECT_CODE(Aging(kRepE1, w->acc_e1), StatusCode::OK);
}

TEST_F(SecurityE2eTest, RepForecastsOnlyOwnNode) {
  EXPECT_CODE(Forecast(kRepE1, w->e2), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(Forecast(kRepE1, w->east), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(Forecast(kRepE1, w->w1), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(Forecast(kRepE1, w->global), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(Forecast(kRepE1, w->e1), StatusCode::OK);
}

// ---- MANAGER ----

TEST_F(SecurityE2eTest, ManagerSeesOnlyTheirSubtree) {
  // East's reps: opportunities, receivables, forecasts.
  EXPECT_CODE(GetOpp(kMgrEast, w->opp_e1), StatusCode::OK);
  EXPECT_CODE(GetOpp(kMgrEast, w->opp_e2), StatusCode::OK);
  EXPECT_CODE(GetRcv(kMgrEast, w->rcv_e1), StatusCode::OK);
  EXPECT_CODE(GetRcv(kMgrEast, w->rcv_e2), StatusCode::OK);
  EXPECT_CODE(ListRcv(kMgrEast, w->acc_e2), StatusCode::OK);
  EXPECT_CODE(Forecast(kMgrEast, w->east), StatusCode::OK);
  EXPECT_CODE(Forecast(kMgrEast, w->e1), StatusCode::OK);
  EXPECT_CODE(Forecast(kMgrEast, w->e2), StatusCode::OK);

  // West: refused.
  EXPECT_CODE(GetOpp(kMgrEast, w->opp_w1), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(GetRcv(kMgrEast, w->rcv_w1), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(ListRcv(kMgrEast, w->acc_w1), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(GetProfile(kMgrEast, w->acc_w1), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(Aging(kMgrEast, w->acc_w1), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(Forecast(kMgrEast, w->west), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(Forecast(kMgrEast, w->w1), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(Forecast(kMgrEast, w->global), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(UpdateOpp(kMgrEast, w->opp_w1), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(MoveOpp(kMgrEast, w->opp_w1), StatusCode::PERMISSION_DENIED);

  // Lists: East's, never West's.
  for (const std::vector<std::string>& owners :
       {std::vector<std::string>{}, std::vector<std::string>{w->global.id()},
        std::vector<std::string>{w->west.id()}}) {
    SCOPED_TRACE(absl::StrCat("owner_ids size ", owners.size()));
    grpc::Status s;
    const std::vector<v1::Opportunity> got = ListOpps(kMgrEast, owners, &s);
    ASSERT_TRUE(s.ok()) << Describe(s);
    bool saw_e1 = false, saw_e2 = false;
    for (const v1::Opportunity& o : got) {
      EXPECT_TRUE(o.owner_node_id() == w->e1.id() ||
                  o.owner_node_id() == w->e2.id())
          << "MANAGER East listed " << o.id() << " of " << o.owner_node_id();
      saw_e1 |= o.id() == w->opp_e1.id();
      saw_e2 |= o.id() == w->opp_e2.id();
    }
    if (owners.size() != 1 || owners[0] != w->west.id()) {
      EXPECT_TRUE(saw_e1 && saw_e2) << "East's opportunities not listed";
    }
  }

  // And the mirror image for West.
  EXPECT_CODE(GetOpp(kMgrWest, w->opp_w1), StatusCode::OK);
  EXPECT_CODE(GetOpp(kMgrWest, w->opp_e1), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(GetRcv(kMgrWest, w->rcv_e1), StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(Forecast(kMgrWest, w->east), StatusCode::PERMISSION_DENIED);
}

// ---- FINANCE ----

TEST_F(SecurityE2eTest, FinanceCannotChangeOpportunities) {
  EXPECT_CODE(CreateOpp(kFinance, w->acc_e1, w->e1, "finance creates"),
              StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(UpdateOpp(kFinance, w->opp_e1_finance),
              StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(MoveOpp(kFinance, w->opp_e1_finance),
              StatusCode::PERMISSION_DENIED);
  EXPECT_CODE(CloseOpp(kFinance, w->opp_e1_finance),
              StatusCode::PERMISSION_DENIED);
  const v1::Opportunity now = Current(w->opp_e1_finance);
  EXPECT_EQ(now.version(), w->opp_e1_finance.version())
      << now.ShortDebugString();
  EXPECT_EQ(now.status(), v1::OPPORTUNITY_STATUS_OPEN);

  // Reads are fine, everywhere.
  EXPECT_CODE(GetOpp(kFinance, w->opp_e1_finance), StatusCode::OK);
  EXPECT_CODE(GetOpp(kFinance, w->opp_w1), StatusCode::OK);
  grpc::Status s;
  const std::vector<v1::Opportunity> all = ListOpps(kFinance, {}, &s);
  EXPECT_TRUE(s.ok()) << Describe(s);
  EXPECT_GE(all.size(), 4u);
  EXPECT_CODE(Forecast(kFinance, w->global), StatusCode::OK);
  EXPECT_CODE(GetRcv(kFinance, w->rcv_w1), StatusCode::OK);

  // Control: the refused requests were valid ones (ADMIN may make them).
  EXPECT_CODE(UpdateOpp(kAdmin, w->opp_e1_finance), StatusCode::OK);
  EXPECT_CODE(MoveOpp(kAdmin, w->opp_e1_finance), StatusCode::OK);
  EXPECT_CODE(CloseOpp(kAdmin, w->opp_e1_finance), StatusCode::OK);
  EXPECT_CODE(CreateOpp(kAdmin, w->acc_e1, w->e1, "finance creates"),
              StatusCode::OK);
}

TEST_F(SecurityE2eTest, FinanceWritesCredit) {
  EXPECT_CODE(PostRcv(kFinance, w->acc_w1, "sec-inv-finance"), StatusCode::OK);
  EXPECT_CODE(Pay(kFinance, w->acc_w1, kRcvAmount, "sec-pay-finance"),
              StatusCode::OK);
  EXPECT_CODE(SetProfile(kFinance, w->acc_w1), StatusCode::OK);
}

TEST_F(SecurityE2eTest, RepAndManagerCannotWriteCredit) {
  struct Who {
    const char* name;
    const char* token;
  };
  for (const Who& who :
       {Who{"REP e1", kRepE1}, Who{"MANAGER East", kMgrEast}}) {
    SCOPED_TRACE(who.name);
    // On an account in their own scope.
    EXPECT_CODE(
        PostRcv(who.token, w->acc_e1, absl::StrCat("sec-inv-", who.name)),
        StatusCode::PERMISSION_DENIED);
    EXPECT_CODE(
        Pay(who.token, w->acc_e1, 100, absl::StrCat("sec-pay-", who.name)),
        StatusCode::PERMISSION_DENIED);
    EXPECT_CODE(SetProfile(who.token, w->acc_e1),
                StatusCode::PERMISSION_DENIED);
  }
  v1::ListReceivablesRequest req;
  req.set_account_id(w->acc_e1.id());
  v1::ListReceivablesResponse resp;
  grpc::Status s =
      w->credit_stub->ListReceivables(Ctx(kFinance).get(), req, &resp);
  ASSERT_TRUE(s.ok()) << Describe(s);
  ASSERT_EQ(resp.receivables_size(), 1) << resp.ShortDebugString();
  EXPECT_EQ(resp.receivables(0).paid().units_minor(), 0);
}

// ---- authentication ----

TEST_F(SecurityE2eTest, BadCredentialsAreUnauthenticatedEverywhere) {
  for (const BadCredential& bad : kBadCredentials) {
    SCOPED_TRACE(bad.what);
    {
      v1::ListAccountsRequest req;
      v1::ListAccountsResponse out;
      EXPECT_CODE(
          w->accounts_stub->ListAccounts(RawCtx(bad.header).get(), req, &out),
          StatusCode::UNAUTHENTICATED);
      v1::GetAccountRequest get;
      get.set_id(w->acc_e1.id());
      v1::Account acc;
      EXPECT_CODE(
          w->accounts_stub->GetAccount(RawCtx(bad.header).get(), get, &acc),
          StatusCode::UNAUTHENTICATED);
    }
    {
      v1::GetOpportunityRequest req;
      req.set_id(w->opp_e1.id());
      v1::Opportunity out;
      EXPECT_CODE(
          w->pipeline_stub->GetOpportunity(RawCtx(bad.header).get(), req, &out),
          StatusCode::UNAUTHENTICATED);
      v1::ListOpportunitiesRequest list;
      v1::ListOpportunitiesResponse opps;
      EXPECT_CODE(w->pipeline_stub->ListOpportunities(RawCtx(bad.header).get(),
                                                      list, &opps),
                  StatusCode::UNAUTHENTICATED);
    }
    {
      v1::GetForecastRequest req;
      req.set_node_id(w->global.id());
      req.set_fiscal_year(static_cast<int32_t>(w->today.year()));
      req.set_fiscal_quarter(QuarterOf(w->today));
      v1::Forecast out;
      EXPECT_CODE(
          w->forecast_stub->GetForecast(RawCtx(bad.header).get(), req, &out),
          StatusCode::UNAUTHENTICATED);
    }
    {
      v1::GetReceivableRequest req;
      req.set_id(w->rcv_e1.id());
      v1::Receivable out;
      EXPECT_CODE(
          w->credit_stub->GetReceivable(RawCtx(bad.header).get(), req, &out),
          StatusCode::UNAUTHENTICATED);
      v1::GetCreditProfileRequest prof;
      prof.set_account_id(w->acc_e1.id());
      v1::CreditProfile p;
      EXPECT_CODE(
          w->credit_stub->GetCreditProfile(RawCtx(bad.header).get(), prof, &p),
          StatusCode::UNAUTHENTICATED);
    }
    for (const auto& [name, feed] : w->feeds) {
      SCOPED_TRACE(name + " FeedService");
      EXPECT_CODE(FeedPosition(feed.get(), RawCtx(bad.header)),
                  StatusCode::UNAUTHENTICATED);
      EXPECT_CODE(WatchStatus(feed.get(), RawCtx(bad.header)),
                  StatusCode::UNAUTHENTICATED);
    }
  }
}

TEST_F(SecurityE2eTest, FeedServiceOnlyForServiceAndAdmin) {
  ASSERT_EQ(w->feeds.size(), 4u);
  struct Who {
    const char* name;
    const char* token;
  };
  for (const auto& [name, feed] : w->feeds) {
    SCOPED_TRACE(name + " FeedService");
    for (const Who& who : {Who{"REP e1", kRepE1}, Who{"MANAGER East", kMgrEast},
                           Who{"FINANCE", kFinance}}) {
      SCOPED_TRACE(who.name);
      EXPECT_CODE(FeedPosition(feed.get(), Ctx(who.token)),
                  StatusCode::PERMISSION_DENIED);
      EXPECT_CODE(WatchStatus(feed.get(), Ctx(who.token)),
                  StatusCode::PERMISSION_DENIED);
    }
    EXPECT_CODE(FeedPosition(feed.get(), Ctx(kPeer)), StatusCode::OK);
    EXPECT_CODE(FeedPosition(feed.get(), Ctx(kAdmin)), StatusCode::OK);
  }
}

}  // namespace
}  // namespace salesops
