// End-to-end test of the suite with mutual TLS everywhere (README "Running a
// service": --tls_cert_file, --tls_key_file, --tls_client_ca_file and
// --peer_tls_ca_file, --peer_tls_cert_file, --peer_tls_key_file).
//
// The test makes its certificates with the openssl CLI: a CA; per service one
// certificate for 127.0.0.1/localhost usable as server and as client (the
// service's own listener and its calls and feeds to its peers); a client
// certificate for the test's own client; and a second, unrelated CA with a
// client certificate of its own. The four binaries run with --auth=tokens and a
// SERVICE peer token, every listener requiring a client certificate signed by
// the CA, every peer channel presenting the service's certificate.
//
//   CrossServiceFlowOverMutualTls: org tree and account (accounts), a credit
//     profile (credit), an opportunity moved into COMMITMENT (pipeline asks
//     credit's CheckCredit: the stored check is by the SERVICE principal),
//     into USAGE (credit follows pipeline's feed: the receivable appears), a
//     payment (pipeline follows credit's feed: WON), and the forecast (which
//     follows all three) shows it closed and collected.
//   ClientWithoutCertificateIsRefused, PlaintextClientIsRefused,
//   CertificateFromAnotherCaIsRefused: a write with a valid ADMIN/FINANCE
//     token fails on each of the four services, and nothing was written.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/builders.h"
#include "common/testing/client_context.h"
#include "common/testing/temp_dir.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/forecast.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "tests/e2e.h"

namespace salesops {
namespace {

using e2e::Describe;
using e2e::Eventually;
using e2e::Launch;
using e2e::Service;
using e2e::TokenLine;
using e2e::WriteFile;

constexpr char kAdmin[] = "e2e-mtls-admin-token";
constexpr char kFinance[] = "e2e-mtls-finance-token";
constexpr char kPeer[] = "e2e-mtls-peer-token";
constexpr char kPeerName[] = "salesops-peer";

constexpr int64_t kAmount = 15'000'000;  // 150,000.00 EUR in cents
constexpr int64_t kLimit = 20'000'000;   // 200,000.00

const char* const kServices[] = {"accounts", "pipeline", "forecast", "credit"};

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

std::string Addr(int port) { return absl::StrCat("127.0.0.1:", port); }

// A call context with a deadline and a bearer token.
std::unique_ptr<grpc::ClientContext> Ctx(
    const std::string& token, absl::Duration deadline = absl::Seconds(10)) {
  return ::salesops::testing::BearerContext(token, deadline);
}

// Everything the tests share: the certificates, the four services and the
// stubs of the test's own (good) mTLS client.
struct Suite {
  testing::TempDir dir;
  int accounts_port = 0, pipeline_port = 0, forecast_port = 0, credit_port = 0;
  Service accounts, pipeline, forecast, credit;
  std::unique_ptr<v1::AccountsService::Stub> accounts_stub;
  std::unique_ptr<v1::PipelineService::Stub> pipeline_stub;
  std::unique_ptr<v1::ForecastService::Stub> forecast_stub;
  std::unique_ptr<v1::CreditService::Stub> credit_stub;

  v1::OrgNode global, region, team, rep;
  v1::Account account;
  v1::StageModel model;
  absl::CivilDay close_date;

  std::string Read(const std::string& name) const {
    return e2e::ReadFile(dir.Sub(name));
  }

  int PortOf(const std::string& service) const {
    if (service == "accounts") return accounts_port;
    if (service == "pipeline") return pipeline_port;
    if (service == "forecast") return forecast_port;
    return credit_port;
  }

  // A fresh channel (own subchannel pool: never a connection of another
  // channel) to `port` with these credentials.
  static std::shared_ptr<grpc::Channel> Channel(
      int port, std::shared_ptr<grpc::ChannelCredentials> creds) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(Addr(port), std::move(creds), args);
  }

  // TLS credentials trusting `ca`, presenting `cert`/`key` unless empty.
  std::shared_ptr<grpc::ChannelCredentials> Tls(const std::string& ca,
                                                const std::string& cert,
                                                const std::string& key) const {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = Read(ca);
    if (!cert.empty()) {
      o.pem_cert_chain = Read(cert);
      o.pem_private_key = Read(key);
    }
    return grpc::SslCredentials(o);
  }

  std::shared_ptr<grpc::ChannelCredentials> GoodCreds() const {
    return Tls("ca.pem", "client.pem", "client.key");
  }

  void MakeCertificates() {
    std::vector<e2e::TestCert> certs;
    for (const char* service : kServices) {
      certs.push_back({service, "ca", e2e::LoopbackCertExt(true),
                       absl::StrCat("salesops-", service)});
    }
    certs.push_back({"client", "ca", e2e::kClientCertExt, "e2e-client"});
    certs.push_back(
        {"other-client", "other-ca", e2e::kClientCertExt, "e2e-client"});
    ASSERT_TRUE(
        e2e::MakeTestCertificates(dir.path(), {"ca", "other-ca"}, certs));
  }

  void Start(const std::string& name) {
    std::vector<std::string> args;
    Service* s = nullptr;
    if (name == "accounts") {
      args = {SALESOPS_ACCOUNTS_BIN};
      s = &accounts;
    } else if (name == "pipeline") {
      args = {SALESOPS_PIPELINE_BIN, "--accounts_addr=" + Addr(accounts_port),
              "--credit_addr=" + Addr(credit_port)};
      s = &pipeline;
    } else if (name == "forecast") {
      args = {SALESOPS_FORECAST_BIN, "--accounts_addr=" + Addr(accounts_port),
              "--pipeline_addr=" + Addr(pipeline_port),
              "--credit_addr=" + Addr(credit_port)};
      s = &forecast;
    } else {
      args = {SALESOPS_CREDIT_BIN, "--accounts_addr=" + Addr(accounts_port),
              "--pipeline_addr=" + Addr(pipeline_port)};
      s = &credit;
    }
    const int port = PortOf(name);
    for (std::string a : {
             absl::StrCat("--listen=127.0.0.1:", port),
             std::string("--metrics_listen=127.0.0.1:0"),
             std::string("--auth=tokens"),
             "--tokens_file=" + dir.Sub("tokens"),
             "--peer_token_file=" + dir.Sub("peer.token"),
             "--data_dir=" + dir.Sub(name + ".db"),
             std::string("--init"),
             std::string("--currency=EUR"),
             std::string("--time_zone=UTC"),
             // Our listener: TLS, and client certificates required.
             "--tls_cert_file=" + dir.Sub(name + ".pem"),
             "--tls_key_file=" + dir.Sub(name + ".key"),
             "--tls_client_ca_file=" + dir.Sub("ca.pem"),
             // Our peers: verified against the CA, our certificate presented.
             "--peer_tls_ca_file=" + dir.Sub("ca.pem"),
             "--peer_tls_cert_file=" + dir.Sub(name + ".pem"),
             "--peer_tls_key_file=" + dir.Sub(name + ".key"),
         }) {
      args.push_back(std::move(a));
    }
    *s = Launch(args, name);
    ASSERT_NE(s->process, nullptr) << name;
    ASSERT_EQ(s->port, port) << name << " did not come up on its port:\n"
                             << s->process->Log();
    // It says it serves mTLS.
    const std::string log = s->process->Log();
    EXPECT_TRUE(absl::StrContains(log, "\"mtls\":true")) << name << ":\n"
                                                         << log;
    // Launch()'s insecure channel is not used: the test's own is mTLS.
    s->channel = Channel(port, GoodCreds());
  }

  v1::OrgNode Node(v1::OrgNodeKind kind, const std::string& name,
                   const std::string& parent) {
    v1::CreateOrgNodeRequest req;
    req.mutable_node()->set_kind(kind);
    req.mutable_node()->set_name(name);
    req.mutable_node()->set_parent_id(parent);
    v1::OrgNode node;
    grpc::Status s =
        accounts_stub->CreateOrgNode(Ctx(kAdmin).get(), req, &node);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return node;
  }

  void SetUp() {
    for (int* port :
         {&accounts_port, &pipeline_port, &forecast_port, &credit_port}) {
      *port = e2e::FreeLoopbackPort();
      ASSERT_GT(*port, 0);
    }
    ASSERT_NO_FATAL_FAILURE(MakeCertificates());
    WriteFile(dir.Sub("peer.token"), std::string(kPeer) + "\n");
    WriteFile(dir.Sub("tokens"), TokenLine(kAdmin, "admin", "ADMIN") +
                                     TokenLine(kFinance, "finance", "FINANCE") +
                                     TokenLine(kPeer, kPeerName, "SERVICE"));
    for (const char* name : {"accounts", "pipeline", "credit", "forecast"}) {
      ASSERT_NO_FATAL_FAILURE(Start(name));
    }
    accounts_stub = v1::AccountsService::NewStub(accounts.channel);
    pipeline_stub = v1::PipelineService::NewStub(pipeline.channel);
    forecast_stub = v1::ForecastService::NewStub(forecast.channel);
    credit_stub = v1::CreditService::NewStub(credit.channel);

    // The world: org tree, an account owned by the rep, its credit profile.
    global = Node(v1::ORG_NODE_KIND_GLOBAL, "Global", "");
    region = Node(v1::ORG_NODE_KIND_REGION, "EMEA", global.id());
    team = Node(v1::ORG_NODE_KIND_TEAM, "DACH Enterprise", region.id());
    rep = Node(v1::ORG_NODE_KIND_REP, "Anna Berger", team.id());
    ASSERT_FALSE(rep.id().empty());
    {
      v1::CreateAccountRequest req;
      req.mutable_account()->set_name("Rheinwerk Maschinenbau AG");
      req.mutable_account()->set_owner_node_id(rep.id());
      grpc::Status s =
          accounts_stub->CreateAccount(Ctx(kAdmin).get(), req, &account);
      ASSERT_TRUE(s.ok()) << Describe(s);
    }
    {
      // Credit asks accounts (over mTLS) if its copy lacks the account yet.
      v1::SetCreditProfileRequest req;
      v1::CreditProfile* p = req.mutable_profile();
      p->set_account_id(account.id());
      *p->mutable_credit_limit() = Eur(kLimit);
      p->set_payment_terms_days(30);
      p->set_risk_class(v1::RISK_CLASS_MEDIUM);
      v1::CreditProfile out;
      grpc::Status s =
          credit_stub->SetCreditProfile(Ctx(kFinance).get(), req, &out);
      ASSERT_TRUE(s.ok()) << Describe(s);
      ASSERT_EQ(out.credit_limit().units_minor(), kLimit);
    }
    {
      v1::GetStageModelRequest req;
      req.set_id("buying-cycle-6");
      grpc::Status s =
          pipeline_stub->GetStageModel(Ctx(kAdmin).get(), req, &model);
      ASSERT_TRUE(s.ok()) << Describe(s);
    }
    close_date = LastDayOfQuarter(TodayUtc());
  }

  void DumpLogs() const {
    for (const Service* s : {&accounts, &pipeline, &credit, &forecast}) {
      if (s->process != nullptr) {
        const std::string log = s->process->Log();
        std::cerr << "---- log tail (pid " << s->process->pid() << ")\n"
                  << log.substr(log.size() > 6000 ? log.size() - 6000 : 0)
                  << "\n";
      }
    }
  }
};

class MtlsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_ = new Suite();
    suite_->SetUp();
    const Suite& s = *suite_;
    ready_ = !::testing::Test::HasFailure() && s.credit_stub != nullptr &&
             !s.account.id().empty() && s.model.stages_size() > 0;
    if (!ready_) {
      suite_->DumpLogs();
    }
  }
  static void TearDownTestSuite() {
    delete suite_;
    suite_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(ready_) << "the suite did not start with mTLS";
  }
  void TearDown() override {
    if (HasFailure()) {
      S().DumpLogs();
    }
  }

  static Suite& S() { return *suite_; }

  // ---- the flow, over the good client ----

  grpc::Status Advance(v1::Opportunity* o) {
    const v1::StageModel& model = S().model;
    int at = -1;
    for (int i = 0; i < model.stages_size(); ++i) {
      if (model.stages(i).key() == o->stage_key()) {
        at = i;
      }
    }
    if (at < 0 || at + 1 >= model.stages_size()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "no next stage");
    }
    for (const v1::ExitCriterion& c : model.stages(at).exit_criteria()) {
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
          S().pipeline_stub->SetExitCriterion(Ctx(kAdmin).get(), req, &out);
      if (!s.ok()) {
        return s;
      }
      *o = out;
    }
    v1::MoveStageRequest req;
    req.set_opportunity_id(o->id());
    req.set_to_stage_key(model.stages(at + 1).key());
    req.set_expected_version(o->version());
    v1::Opportunity out;
    grpc::Status s = S().pipeline_stub->MoveStage(Ctx(kAdmin).get(), req, &out);
    if (s.ok()) {
      *o = out;
    }
    return s;
  }

  v1::Opportunity Get(const std::string& id) {
    v1::GetOpportunityRequest req;
    req.set_id(id);
    v1::Opportunity o;
    grpc::Status s =
        S().pipeline_stub->GetOpportunity(Ctx(kAdmin).get(), req, &o);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return o;
  }

  std::vector<v1::Receivable> Receivables(const std::string& opportunity_id) {
    v1::ListReceivablesRequest req;
    req.set_opportunity_id(opportunity_id);
    req.set_page_size(1000);
    v1::ListReceivablesResponse resp;
    grpc::Status s =
        S().credit_stub->ListReceivables(Ctx(kFinance).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return {resp.receivables().begin(), resp.receivables().end()};
  }

  std::vector<v1::CreditCheck> Checks() {
    v1::ListCreditChecksRequest req;
    req.set_account_id(S().account.id());
    v1::ListCreditChecksResponse resp;
    grpc::Status s =
        S().credit_stub->ListCreditChecks(Ctx(kFinance).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return {resp.checks().begin(), resp.checks().end()};
  }

  grpc::Status Forecast(const std::string& node, absl::CivilDay in_quarter,
                        v1::Forecast* f) {
    v1::GetForecastRequest req;
    req.set_node_id(node);
    req.set_fiscal_year(static_cast<int32_t>(in_quarter.year()));
    req.set_fiscal_quarter(QuarterOf(in_quarter));
    return S().forecast_stub->GetForecast(Ctx(kAdmin).get(), req, f);
  }

  // ---- what a refused client tries, and what shows it did not happen ----

  struct Counts {
    int team_children = -1;
    int opportunities = -1;
    int64_t credit_limit = -1;
    int64_t credit_version = -1;
    int64_t out_of_funnel = -1;
  };

  Counts Count() {
    Counts c;
    {
      v1::ListOrgNodesRequest req;
      req.set_parent_id(S().team.id());
      req.set_page_size(1000);
      v1::ListOrgNodesResponse resp;
      grpc::Status s =
          S().accounts_stub->ListOrgNodes(Ctx(kAdmin).get(), req, &resp);
      EXPECT_TRUE(s.ok()) << Describe(s);
      c.team_children = resp.nodes_size();
    }
    {
      v1::ListOpportunitiesRequest req;
      req.set_account_id(S().account.id());
      v1::ListOpportunitiesResponse resp;
      grpc::Status s =
          S().pipeline_stub->ListOpportunities(Ctx(kAdmin).get(), req, &resp);
      EXPECT_TRUE(s.ok()) << Describe(s);
      EXPECT_TRUE(resp.next_page_token().empty());
      c.opportunities = resp.opportunities_size();
    }
    {
      v1::GetCreditProfileRequest req;
      req.set_account_id(S().account.id());
      v1::CreditProfile p;
      grpc::Status s =
          S().credit_stub->GetCreditProfile(Ctx(kFinance).get(), req, &p);
      EXPECT_TRUE(s.ok()) << Describe(s);
      c.credit_limit = p.credit_limit().units_minor();
      c.credit_version = p.version();
    }
    {
      v1::Forecast f;
      grpc::Status s = Forecast(S().rep.id(), TodayUtc(), &f);
      EXPECT_TRUE(s.ok()) << Describe(s);
      c.out_of_funnel = f.node().out_of_funnel().units_minor();
    }
    return c;
  }

  // One write per service with valid ADMIN/FINANCE tokens over `creds` (each
  // on a fresh channel): every one must fail.
  void ExpectRefusedEverywhere(
      const std::function<std::shared_ptr<grpc::ChannelCredentials>()>& creds) {
    const Counts before = Count();
    const absl::Duration deadline = absl::Seconds(5);
    std::vector<std::pair<std::string, grpc::Status>> results;
    {
      auto stub = v1::AccountsService::NewStub(
          Suite::Channel(S().accounts_port, creds()));
      v1::CreateOrgNodeRequest req;
      req.mutable_node()->set_kind(v1::ORG_NODE_KIND_REP);
      req.mutable_node()->set_name("Intruder");
      req.mutable_node()->set_parent_id(S().team.id());
      v1::OrgNode out;
      results.emplace_back(
          "accounts CreateOrgNode",
          stub->CreateOrgNode(Ctx(kAdmin, deadline).get(), req, &out));
    }
    {
      auto stub = v1::PipelineService::NewStub(
          Suite::Channel(S().pipeline_port, creds()));
      v1::CreateOpportunityRequest req;
      v1::Opportunity* o = req.mutable_opportunity();
      o->set_account_id(S().account.id());
      o->set_owner_node_id(S().rep.id());
      o->set_name("Intruder deal");
      *o->mutable_amount() = Eur(100'000);
      *o->mutable_expected_close_date() = ToDate(S().close_date);
      o->set_stage_model_id("buying-cycle-6");
      v1::Opportunity out;
      results.emplace_back(
          "pipeline CreateOpportunity",
          stub->CreateOpportunity(Ctx(kAdmin, deadline).get(), req, &out));
    }
    {
      auto stub =
          v1::CreditService::NewStub(Suite::Channel(S().credit_port, creds()));
      v1::SetCreditProfileRequest req;
      v1::CreditProfile* p = req.mutable_profile();
      p->set_account_id(S().account.id());
      *p->mutable_credit_limit() = Eur(1);
      p->set_payment_terms_days(30);
      p->set_risk_class(v1::RISK_CLASS_HIGH);
      v1::CreditProfile out;
      results.emplace_back(
          "credit SetCreditProfile",
          stub->SetCreditProfile(Ctx(kFinance, deadline).get(), req, &out));
    }
    {
      auto stub = v1::ForecastService::NewStub(
          Suite::Channel(S().forecast_port, creds()));
      v1::RecordOutOfFunnelSaleRequest req;
      req.mutable_sale()->set_rep_node_id(S().rep.id());
      *req.mutable_sale()->mutable_amount() = Eur(100'000);
      *req.mutable_sale()->mutable_date() = ToDate(TodayUtc());
      req.mutable_sale()->set_note("intruder");
      req.set_request_id("mtls-e2e-intruder");
      v1::OutOfFunnelSale out;
      results.emplace_back(
          "forecast RecordOutOfFunnelSale",
          stub->RecordOutOfFunnelSale(Ctx(kAdmin, deadline).get(), req, &out));
    }
    for (const auto& [call, status] : results) {
      EXPECT_FALSE(status.ok()) << call << " was accepted";
      std::cout << "  " << call << " -> " << Describe(status) << "\n";
    }
    // Nothing was written, as seen by the good client.
    const Counts after = Count();
    EXPECT_EQ(after.team_children, before.team_children);
    EXPECT_EQ(after.opportunities, before.opportunities);
    EXPECT_EQ(after.credit_limit, before.credit_limit);
    EXPECT_EQ(after.credit_version, before.credit_version);
    EXPECT_EQ(after.out_of_funnel, before.out_of_funnel);
  }

  static Suite* suite_;
  static bool ready_;
};

Suite* MtlsE2eTest::suite_ = nullptr;
bool MtlsE2eTest::ready_ = false;

TEST_F(MtlsE2eTest, CrossServiceFlowOverMutualTls) {
  Suite& s = S();
  // Pipeline: a 150,000.00 opportunity walked to COMPARISON.
  v1::Opportunity opp;
  {
    v1::CreateOpportunityRequest req;
    v1::Opportunity* o = req.mutable_opportunity();
    o->set_account_id(s.account.id());
    o->set_owner_node_id(s.rep.id());
    o->set_name("Line 7 retrofit");
    *o->mutable_amount() = Eur(kAmount);
    *o->mutable_expected_close_date() = ToDate(s.close_date);
    o->set_stage_model_id("buying-cycle-6");
    req.set_request_id("mtls-e2e-line-7");
    // Pipeline checks account and owner with accounts over mTLS.
    grpc::Status st =
        s.pipeline_stub->CreateOpportunity(Ctx(kAdmin).get(), req, &opp);
    ASSERT_TRUE(st.ok()) << Describe(st);
    ASSERT_EQ(opp.stage_key(), "INTEREST");
  }
  while (opp.stage_key() != "COMPARISON") {
    grpc::Status st = Advance(&opp);
    ASSERT_TRUE(st.ok()) << opp.stage_key() << ": " << Describe(st);
  }
  EXPECT_TRUE(Checks().empty());

  // COMMITMENT: pipeline calls credit's CheckCredit over mTLS.
  {
    grpc::Status st = Advance(&opp);
    ASSERT_TRUE(st.ok()) << Describe(st);
    EXPECT_EQ(opp.stage_key(), "COMMITMENT");
    EXPECT_FALSE(opp.credit_review_pending())
        << "credit not reached: " << opp.credit_review_reason();
    const std::vector<v1::CreditCheck> checks = Checks();
    ASSERT_EQ(checks.size(), 1u);
    EXPECT_EQ(checks[0].decision(), v1::CREDIT_DECISION_APPROVE);
    EXPECT_EQ(checks[0].opportunity_id(), opp.id());
    EXPECT_EQ(checks[0].amount().units_minor(), kAmount);
    EXPECT_EQ(checks[0].credit_limit().units_minor(), kLimit);
    EXPECT_EQ(checks[0].checked_by(), kPeerName);
  }

  // USAGE: credit, following pipeline's feed over mTLS, opens a receivable.
  {
    grpc::Status st = Advance(&opp);
    ASSERT_TRUE(st.ok()) << Describe(st);
    EXPECT_EQ(opp.stage_key(), "USAGE");
    EXPECT_EQ(opp.status(), v1::OPPORTUNITY_STATUS_OPEN);
  }
  std::vector<v1::Receivable> rs;
  ASSERT_TRUE(Eventually([&] {
    rs = Receivables(opp.id());
    return !rs.empty();
  })) << "no receivable within 30 s: credit does not follow pipeline";
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].account_id(), s.account.id());
  EXPECT_EQ(rs[0].amount().units_minor(), kAmount);
  EXPECT_EQ(rs[0].state(), v1::RECEIVABLE_STATE_OPEN);
  EXPECT_EQ(rs[0].source(), v1::RECEIVABLE_SOURCE_CONTRACT_SIGNED);

  // Payment: pipeline, following credit's feed over mTLS, closes it WON.
  {
    v1::RecordPaymentRequest req;
    req.set_account_id(s.account.id());
    *req.mutable_amount() = Eur(kAmount);
    *req.mutable_date() = ToDate(TodayUtc());
    req.set_external_id(absl::StrCat("bank-", opp.id()));
    v1::Payment payment;
    grpc::Status st =
        s.credit_stub->RecordPayment(Ctx(kFinance).get(), req, &payment);
    ASSERT_TRUE(st.ok()) << Describe(st);
    ASSERT_EQ(payment.allocations_size(), 1);
    EXPECT_EQ(payment.allocations(0).receivable_id(), rs[0].id());
  }
  v1::Opportunity won;
  ASSERT_TRUE(Eventually([&] {
    won = Get(opp.id());
    return won.status() == v1::OPPORTUNITY_STATUS_WON;
  })) << "not WON within 30 s: pipeline does not follow credit; "
      << won.ShortDebugString();
  EXPECT_EQ(won.stage_key(), "USAGE");
  ASSERT_GT(won.closed_micros(), 0);

  // Forecast, following accounts, pipeline and credit over mTLS.
  const absl::CivilDay closed_on = absl::ToCivilDay(
      absl::FromUnixMicros(won.closed_micros()), absl::UTCTimeZone());
  for (const v1::OrgNode* n : {&s.rep, &s.global}) {
    SCOPED_TRACE(n->name());
    v1::Forecast f;
    grpc::Status last;
    EXPECT_TRUE(Eventually([&] {
      f.Clear();
      last = Forecast(n->id(), closed_on, &f);
      return last.ok() && f.node().closed().units_minor() == kAmount &&
             f.node().collected().units_minor() == kAmount;
    })) << "forecast never showed closed = collected = "
        << kAmount << "; last: " << Describe(last) << " "
        << f.ShortDebugString();
    EXPECT_EQ(f.node().pipeline_weighted().units_minor(), 0);
  }
}

TEST_F(MtlsE2eTest, ClientWithoutCertificateIsRefused) {
  // Trusts the CA (so the server's certificate verifies) but presents none.
  Suite& s = S();
  ExpectRefusedEverywhere([&] { return s.Tls("ca.pem", "", ""); });
}

TEST_F(MtlsE2eTest, PlaintextClientIsRefused) {
  ExpectRefusedEverywhere([] { return grpc::InsecureChannelCredentials(); });
}

TEST_F(MtlsE2eTest, CertificateFromAnotherCaIsRefused) {
  // Trusts the right CA, but its own certificate is signed by another one.
  Suite& s = S();
  ExpectRefusedEverywhere(
      [&] { return s.Tls("ca.pem", "other-client.pem", "other-client.key"); });
}

TEST_F(MtlsE2eTest, GoodClientStillAccepted) {
  // The control of the refusals: the same services, a fresh channel with the
  // test's certificate, a read on each.
  Suite& s = S();
  for (const char* name : kServices) {
    SCOPED_TRACE(name);
    auto channel = Suite::Channel(s.PortOf(name), s.GoodCreds());
    EXPECT_TRUE(channel->WaitForConnected(std::chrono::system_clock::now() +
                                          std::chrono::seconds(10)))
        << name;
  }
}

}  // namespace
}  // namespace salesops
