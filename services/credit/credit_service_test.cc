// gRPC-level tests of the credit service (SPEC.md §5, roles §8) in process:
// the service and its feed on a loopback port over a real store, the org
// mirror fed with accounts events by hand (as the accounts consumer would),
// pipeline events applied through ApplyPipeline inside a Store::Write (as the
// pipeline consumer would), a FakeClock for "today", called through the
// generated stub with bearer tokens of every role.

#include "services/credit/credit_service.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/money/money.h"
#include "common/org/org_mirror.h"
#include "common/server/auth.h"
#include "common/store/store.h"
#include "common/testing/grpc_status.h"
#include "common/testing/loopback_server.h"
#include "common/testing/temp_dir.h"
#include "common/time/clock.h"
#include "common/time/fiscal_calendar.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/feed.pb.h"
#include "salesops/v1/pipeline.pb.h"
#include "services/credit/collections.h"
#include "services/credit/credit_store.h"
#include "services/credit/followers.h"
#include "services/credit/receivables.h"

namespace salesops::credit {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::salesops::testing::IsError;
using ::salesops::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

using Code = grpc::StatusCode;
using Stub = v1::CreditService::Stub;
template <typename Req, typename Resp>
using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Req&, Resp*);

constexpr char kAdminToken[] = "admin-token";
constexpr char kFinanceToken[] = "finance-token";
constexpr char kServiceToken[] = "service-token";
constexpr char kManagerEastToken[] = "manager-east-token";
constexpr char kManagerWestToken[] = "manager-west-token";
constexpr char kRepE1Token[] = "rep-e1-token";
constexpr char kRepW1Token[] = "rep-w1-token";

// Our sales org: global → east (rep e1, rep e2), west (rep w1).
constexpr char kGlobal[] = "org_global";
constexpr char kEast[] = "org_east";
constexpr char kWest[] = "org_west";
constexpr char kRepE1[] = "org_rep_e1";
constexpr char kRepE2[] = "org_rep_e2";
constexpr char kRepW1[] = "org_rep_w1";

// Accounts and their owners.
constexpr char kAccE1[] = "acc_e1";  // rep e1 (east)
constexpr char kAccE2[] = "acc_e2";  // rep e2 (east)
constexpr char kAccW1[] = "acc_w1";  // rep w1 (west)

constexpr char kModel[] = "buying-cycle-6";

v1::Money Eur(int64_t minor) { return money::Make(minor, "EUR"); }

absl::CivilDay Civ(const v1::Date& d) {
  return absl::CivilDay(d.year(), d.month(), d.day());
}
std::string Str(const v1::Date& d) { return absl::FormatCivilTime(Civ(d)); }
std::string Str(absl::CivilDay d) { return absl::FormatCivilTime(d); }

// Noon UTC of a day (the service's time zone is UTC unless a test sets one).
absl::Time Noon(absl::CivilDay d) {
  return absl::FromCivil(
      absl::CivilSecond(d.year(), d.month(), d.day(), 12, 0, 0),
      absl::UTCTimeZone());
}

// The six buckets and the total, in proto order, in minor units.
std::vector<int64_t> Buckets(const v1::AgingBuckets& b) {
  return {b.not_due().units_minor(),     b.days_1_30().units_minor(),
          b.days_31_60().units_minor(),  b.days_61_90().units_minor(),
          b.days_91_180().units_minor(), b.over_180().units_minor(),
          b.total().units_minor()};
}

// One line per task: kind, due date, dunning step, receivable.
std::string TaskLine(const v1::CollectionTask& t) {
  return absl::StrCat(
      v1::CollectionTaskKind_Name(t.kind()), " ", Str(t.due_date()), " ",
      v1::DunningStep_Name(t.dunning_step()), " ", t.receivable_id());
}

class CreditServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetToday(absl::CivilDay(2026, 3, 2));
    principals_[kAdminToken] = {"admin", Role::kAdmin, ""};
    principals_[kFinanceToken] = {"finance", Role::kFinance, ""};
    principals_[kServiceToken] = {"pipeline", Role::kService, ""};
    principals_[kManagerEastToken] = {"manager-east", Role::kManager, kEast};
    principals_[kManagerWestToken] = {"manager-west", Role::kManager, kWest};
    principals_[kRepE1Token] = {"rep-e1", Role::kRep, kRepE1};
    principals_[kRepW1Token] = {"rep-w1", Role::kRep, kRepW1};
    auth_ = testing::AuthFor(principals_);
    OpenStore();
    ASSERT_FALSE(HasFatalFailure());
    PutNode(kGlobal, "", v1::ORG_NODE_KIND_GLOBAL);
    PutNode(kEast, kGlobal, v1::ORG_NODE_KIND_REGION);
    PutNode(kWest, kGlobal, v1::ORG_NODE_KIND_REGION);
    PutNode(kRepE1, kEast, v1::ORG_NODE_KIND_REP);
    PutNode(kRepE2, kEast, v1::ORG_NODE_KIND_REP);
    PutNode(kRepW1, kWest, v1::ORG_NODE_KIND_REP);
    PutAccount(kAccE1, kRepE1);
    PutAccount(kAccE2, kRepE2);
    PutAccount(kAccW1, kRepW1);
    StartService();
  }

  void TearDown() override {
    StopService();
    mirror_.reset();
    store_.reset();
  }

  void OpenStore() {
    store_ = testing::OpenTestStore(dir_.path(), ColumnFamilies(), &clock_);
    ASSERT_NE(store_, nullptr);
    mirror_ = std::make_unique<OrgMirror>(store_.get(), Cf::kMirror);
    absl::Status s = mirror_->Load();
    ASSERT_TRUE(s.ok()) << s;
  }

  void StartService(CreditOptions options = CreditOptions()) {
    ledger_ = std::make_unique<CreditLedger>(store_.get(), std::move(options));
    job_ = std::make_unique<DailyJob>(ledger_.get(), &clock_);
    follower_ = std::make_unique<PipelineFollower>(ledger_.get(), nullptr);
    service_ = std::make_unique<CreditServiceImpl>(ledger_.get(), auth_.get(),
                                                   &clock_, mirror_.get(),
                                                   AccountLookup(), job_.get());
    server_ = std::make_unique<testing::LoopbackServer>(
        store_.get(), auth_.get(), std::vector<grpc::Service*>{service_.get()});
    ASSERT_NE(server_->channel(), nullptr);
    stub_ = v1::CreditService::NewStub(server_->channel());
  }

  void StopService() {
    stub_.reset();
    server_.reset();
    service_.reset();
    follower_.reset();
    job_.reset();
    ledger_.reset();
  }

  // A process restart on the same data directory: the store is closed and
  // reopened, the mirror reloaded, the service rebuilt.
  void Restart() {
    StopService();
    mirror_.reset();
    store_.reset();
    OpenStore();
    ASSERT_FALSE(HasFatalFailure());
    StartService();
  }

  void SetToday(absl::CivilDay d) { clock_.Set(Noon(d)); }
  absl::CivilDay Today() const {
    return absl::ToCivilDay(clock_.Now(), absl::UTCTimeZone());
  }

  // ---- calls ----

  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) {
      ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
    }
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(20));
    return ctx;
  }

  template <typename Req, typename Resp>
  grpc::Status Call(Method<Req, Resp> method, const Req& req, Resp* resp,
                    const std::string& token = kFinanceToken) {
    auto ctx = Ctx(token);
    return ((*stub_).*method)(ctx.get(), req, resp);
  }

  // ---- feeds ----

  template <typename Msg>
  v1::Event MakeEvent(const std::string& kind, const std::string& id,
                      const Msg& m, absl::Time time) {
    v1::Event e;
    e.set_sequence(++feed_seq_);
    e.set_kind(kind);
    e.set_entity_id(id);
    e.set_time_micros(absl::ToUnixMicros(time));
    e.mutable_payload()->PackFrom(m);
    return e;
  }

  absl::Status ApplyAccounts(const v1::Event& e) {
    return store_
        ->Write(SystemActor("test"),
                [&](WriteTxn& txn) { return mirror_->Apply(e, txn); })
        .status();
  }

  void PutNode(const std::string& id, const std::string& parent,
               v1::OrgNodeKind kind) {
    v1::OrgNode n;
    n.set_id(id);
    n.set_parent_id(parent);
    n.set_kind(kind);
    n.set_name(id);
    n.set_version(1);
    absl::Status s =
        ApplyAccounts(MakeEvent("accounts.OrgNode", id, n, clock_.Now()));
    EXPECT_TRUE(s.ok()) << "OrgNode " << id << ": " << s;
  }

  void PutAccount(const std::string& id, const std::string& owner) {
    v1::Account a;
    a.set_id(id);
    a.set_name(id);
    a.set_owner_node_id(owner);
    a.set_version(1);
    absl::Status s =
        ApplyAccounts(MakeEvent("accounts.Account", id, a, clock_.Now()));
    EXPECT_TRUE(s.ok()) << "Account " << id << ": " << s;
  }

  absl::Status ApplyPipeline(const v1::Event& e) {
    return store_
        ->Write(SystemActor("test"),
                [&](WriteTxn& txn) { return follower_->Apply(e, txn); })
        .status();
  }

  // buying-cycle-6 by hand: USAGE is contract_signed and closes on
  // collection; COMMITMENT asks for a credit check.
  void PutModel() {
    v1::StageModel m;
    m.set_id(kModel);
    m.set_name("Buying cycle");
    const std::pair<const char*, int32_t> stages[] = {
        {"INTEREST", 500},    {"CONSIDERATION", 1000}, {"DESIGN", 2000},
        {"COMPARISON", 3000}, {"COMMITMENT", 5000},    {"USAGE", 8000}};
    for (const auto& [key, bp] : stages) {
      v1::Stage* s = m.add_stages();
      s->set_key(key);
      s->set_name(key);
      s->set_win_rate_bp(bp);
      if (std::string(key) == "COMMITMENT") {
        s->set_requires_credit_check(true);
      }
      if (std::string(key) == "USAGE") {
        s->set_contract_signed(true);
        s->set_closes_on_collection(true);
      }
    }
    m.set_built_in(true);
    m.set_version(1);
    absl::Status s = ApplyPipeline(
        MakeEvent("pipeline.StageModel", kModel, m, clock_.Now()));
    EXPECT_TRUE(s.ok()) << s;
  }

  v1::Event OppEvent(const std::string& id, const std::string& account,
                     int64_t amount, const std::string& stage, int64_t version,
                     v1::OpportunityStatus status = v1::OPPORTUNITY_STATUS_OPEN,
                     std::optional<absl::Time> time = std::nullopt,
                     const std::string& model = kModel) {
    v1::Opportunity o;
    o.set_id(id);
    o.set_account_id(account);
    o.set_owner_node_id(kRepE1);
    o.set_name(id);
    *o.mutable_amount() = Eur(amount);
    o.set_stage_model_id(model);
    o.set_stage_key(stage);
    o.set_status(status);
    o.set_version(version);
    return MakeEvent("pipeline.Opportunity", id, o,
                     time.value_or(clock_.Now()));
  }

  void ApplyOk(const v1::Event& e) {
    absl::Status s = ApplyPipeline(e);
    EXPECT_TRUE(s.ok()) << e.kind() << " " << e.entity_id() << ": " << s;
  }

  // ---- entities ----

  v1::CreditProfile SetProfile(const std::string& account, int64_t limit,
                               int terms, v1::RiskClass risk, bool hold = false,
                               const std::string& hold_reason = "") {
    v1::SetCreditProfileRequest req;
    v1::CreditProfile* p = req.mutable_profile();
    p->set_account_id(account);
    *p->mutable_credit_limit() = Eur(limit);
    p->set_payment_terms_days(terms);
    p->set_risk_class(risk);
    p->set_hold(hold);
    p->set_hold_reason(hold_reason);
    v1::CreditProfile out;
    EXPECT_TRUE(IsOk(Call(&Stub::SetCreditProfile, req, &out)))
        << "SetCreditProfile " << account;
    return out;
  }

  grpc::Status GetProfile(const std::string& account, v1::CreditProfile* out,
                          const std::string& token = kFinanceToken) {
    v1::GetCreditProfileRequest req;
    req.set_account_id(account);
    return Call(&Stub::GetCreditProfile, req, out, token);
  }

  v1::PostReceivableRequest PostRequest(
      const std::string& account, int64_t amount, absl::CivilDay issue,
      std::optional<absl::CivilDay> due = std::nullopt,
      const std::string& external_id = "", const std::string& opp = "") {
    v1::PostReceivableRequest req;
    v1::Receivable* r = req.mutable_receivable();
    r->set_account_id(account);
    *r->mutable_amount() = Eur(amount);
    *r->mutable_issue_date() = ToProto(issue);
    if (due) {
      *r->mutable_due_date() = ToProto(*due);
    }
    r->set_opportunity_id(opp);
    req.set_external_id(external_id);
    return req;
  }

  v1::Receivable Post(const std::string& account, int64_t amount,
                      absl::CivilDay issue,
                      std::optional<absl::CivilDay> due = std::nullopt,
                      const std::string& external_id = "",
                      const std::string& opp = "") {
    v1::Receivable out;
    EXPECT_TRUE(IsOk(
        Call(&Stub::PostReceivable,
             PostRequest(account, amount, issue, due, external_id, opp), &out)))
        << "PostReceivable " << account;
    return out;
  }

  v1::Receivable GetReceivable(const std::string& id) {
    v1::GetReceivableRequest req;
    req.set_id(id);
    v1::Receivable out;
    EXPECT_TRUE(IsOk(Call(&Stub::GetReceivable, req, &out))) << id;
    return out;
  }

  std::vector<v1::Receivable> Receivables(const std::string& account,
                                          const std::string& opportunity = "") {
    v1::ListReceivablesRequest req;
    if (opportunity.empty()) {
      req.set_account_id(account);
    } else {
      req.set_opportunity_id(opportunity);
    }
    req.mutable_page()->set_page_size(1000);
    v1::ListReceivablesResponse resp;
    EXPECT_TRUE(IsOk(Call(&Stub::ListReceivables, req, &resp)));
    return {resp.receivables().begin(), resp.receivables().end()};
  }

  v1::RecordPaymentRequest PayRequest(
      const std::string& account, int64_t amount, absl::CivilDay date,
      const std::vector<std::pair<std::string, int64_t>>& named = {},
      const std::string& external_id = "") {
    v1::RecordPaymentRequest req;
    req.set_account_id(account);
    *req.mutable_amount() = Eur(amount);
    *req.mutable_date() = ToProto(date);
    for (const auto& [id, units] : named) {
      v1::Allocation* a = req.add_allocations();
      a->set_receivable_id(id);
      *a->mutable_amount() = Eur(units);
    }
    req.set_external_id(external_id);
    return req;
  }

  grpc::Status Pay(
      const std::string& account, int64_t amount, absl::CivilDay date,
      const std::vector<std::pair<std::string, int64_t>>& named = {},
      const std::string& external_id = "", v1::Payment* out = nullptr) {
    v1::Payment ignored;
    return Call(&Stub::RecordPayment,
                PayRequest(account, amount, date, named, external_id),
                out != nullptr ? out : &ignored);
  }

  v1::CreditCheck Check(const std::string& account, int64_t amount,
                        const std::string& opportunity = "",
                        const std::string& token = kFinanceToken) {
    v1::CheckCreditRequest req;
    req.set_account_id(account);
    *req.mutable_amount() = Eur(amount);
    req.set_opportunity_id(opportunity);
    v1::CreditCheck out;
    EXPECT_TRUE(IsOk(Call(&Stub::CheckCredit, req, &out, token)))
        << "CheckCredit " << account << " " << opportunity;
    return out;
  }

  int64_t Exposure(const std::string& account) {
    return Check(account, 1).exposure().units_minor();
  }

  v1::RunCollectionsResponse Run() {
    v1::RunCollectionsResponse out;
    EXPECT_TRUE(
        IsOk(Call(&Stub::RunCollections, v1::RunCollectionsRequest(), &out)))
        << "RunCollections on " << Str(Today());
    return out;
  }

  std::vector<v1::CollectionTask> Tasks(const std::string& account,
                                        bool include_done = true) {
    v1::ListCollectionTasksRequest req;
    req.set_account_id(account);
    req.set_include_done(include_done);
    req.mutable_page()->set_page_size(1000);
    v1::ListCollectionTasksResponse resp;
    EXPECT_TRUE(IsOk(Call(&Stub::ListCollectionTasks, req, &resp)));
    return {resp.tasks().begin(), resp.tasks().end()};
  }

  std::vector<std::string> TaskLines(const std::string& account,
                                     v1::CollectionTaskKind kind,
                                     const std::string& receivable = "") {
    std::vector<std::string> out;
    for (const v1::CollectionTask& t : Tasks(account)) {
      if (t.kind() == kind &&
          (receivable.empty() || t.receivable_id() == receivable)) {
        out.push_back(TaskLine(t));
      }
    }
    return out;
  }

  v1::Promise RecordPromise(const std::vector<std::string>& receivables,
                            int64_t amount, absl::CivilDay promised,
                            int tolerance = 0,
                            const std::string& request_id = "") {
    v1::RecordPromiseRequest req;
    for (const std::string& id : receivables) {
      req.add_receivable_ids(id);
    }
    *req.mutable_amount() = Eur(amount);
    *req.mutable_promised_date() = ToProto(promised);
    req.set_tolerance_days(tolerance);
    req.set_contact_id("con_ap_clerk");
    req.set_excuse_code(v1::EXCUSE_CODE_WILL_PAY);
    req.set_request_id(request_id);
    v1::Promise out;
    EXPECT_TRUE(IsOk(Call(&Stub::RecordPromise, req, &out)));
    return out;
  }

  std::map<std::string, v1::Promise> Promises(
      const std::string& account,
      v1::PromiseState state = v1::PROMISE_STATE_UNSPECIFIED) {
    v1::ListPromisesRequest req;
    req.set_account_id(account);
    req.set_state(state);
    req.mutable_page()->set_page_size(1000);
    v1::ListPromisesResponse resp;
    EXPECT_TRUE(IsOk(Call(&Stub::ListPromises, req, &resp)));
    std::map<std::string, v1::Promise> out;
    for (const v1::Promise& p : resp.promises()) {
      out[p.id()] = p;
    }
    return out;
  }

  grpc::Status Contact(const std::string& account, v1::ExcuseCode code,
                       v1::CollectionContact* out,
                       const std::vector<std::string>& receivables = {},
                       const std::string& notes = "",
                       const std::string& request_id = "",
                       const std::string& token = kFinanceToken) {
    v1::RecordCollectionContactRequest req;
    req.set_account_id(account);
    req.set_excuse_code(code);
    req.set_notes(notes);
    req.set_contact_id("con_ap_clerk");
    for (const std::string& id : receivables) {
      req.add_receivable_ids(id);
    }
    req.set_request_id(request_id);
    return Call(&Stub::RecordCollectionContact, req, out, token);
  }

  grpc::Status Aging(const std::string& account, const std::string& node,
                     std::optional<absl::CivilDay> as_of, v1::Aging* out,
                     const std::string& token = kFinanceToken) {
    v1::GetAgingRequest req;
    req.set_account_id(account);
    req.set_org_node_id(node);
    if (as_of) {
      *req.mutable_as_of() = ToProto(*as_of);
    }
    return Call(&Stub::GetAging, req, out, token);
  }

  v1::DebtorClassAnswer DebtorClass(const std::string& account,
                                    absl::CivilDay as_of) {
    v1::GetDebtorClassRequest req;
    req.set_account_id(account);
    *req.mutable_as_of() = ToProto(as_of);
    v1::DebtorClassAnswer out;
    EXPECT_TRUE(IsOk(Call(&Stub::GetDebtorClass, req, &out)));
    return out;
  }

  grpc::Status Worklist(const std::string& node,
                        std::optional<absl::CivilDay> as_of, v1::Worklist* out,
                        const std::string& token = kFinanceToken,
                        int page_size = 0, const std::string& token_in = "") {
    v1::GetWorklistRequest req;
    req.set_org_node_id(node);
    if (as_of) {
      *req.mutable_as_of() = ToProto(*as_of);
    }
    req.mutable_page()->set_page_size(page_size);
    req.mutable_page()->set_page_token(token_in);
    return Call(&Stub::GetWorklist, req, out, token);
  }

  testing::TempDir dir_;
  FakeClock clock_;
  std::map<std::string, Principal> principals_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<OrgMirror> mirror_;
  std::unique_ptr<CreditLedger> ledger_;
  std::unique_ptr<DailyJob> job_;
  std::unique_ptr<PipelineFollower> follower_;
  std::unique_ptr<CreditServiceImpl> service_;
  std::unique_ptr<testing::LoopbackServer> server_;
  std::unique_ptr<Stub> stub_;
  uint64_t feed_seq_ = 0;
};

// ---------------------------------------------------------------------------
// 1. Credit profiles

TEST_F(CreditServiceTest, SetCreditProfileNamesEveryInvalidField) {
  v1::SetCreditProfileRequest req;
  *req.mutable_profile()->mutable_credit_limit() = Eur(-1);
  req.mutable_profile()->set_payment_terms_days(400);
  // 1001 code points pass the field bound (2000, counted in code points at
  // the edge); their 2002 bytes break the service's own check.
  std::string long_reason;
  for (int i = 0; i < 1001; ++i) {
    long_reason += "é";
  }
  req.mutable_profile()->set_hold_reason(long_reason);
  req.set_expected_version(-1);
  v1::CreditProfile out;
  grpc::Status s = Call(&Stub::SetCreditProfile, req, &out);
  ASSERT_TRUE(
      IsError(s, Code::INVALID_ARGUMENT, "profile.account_id: required"));
  EXPECT_THAT(s.error_message(),
              HasSubstr("profile.credit_limit.units_minor: must be >= 0"));
  EXPECT_THAT(s.error_message(),
              HasSubstr("profile.payment_terms_days: must be 0..365, got 400"));
  EXPECT_THAT(s.error_message(), HasSubstr("profile.risk_class: required"));
  EXPECT_THAT(s.error_message(), HasSubstr("profile.hold_reason"));
  EXPECT_THAT(s.error_message(), HasSubstr("expected_version"));

  // Over the field bound the edge answers before the service (bounds.h):
  // only the bound is named.
  req.mutable_profile()->set_hold_reason(std::string(2001, 'x'));
  s = Call(&Stub::SetCreditProfile, req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "profile.hold_reason: at most 2000 characters (got 2001)");

  req.Clear();
  req.mutable_profile()->set_account_id(kAccE1);
  *req.mutable_profile()->mutable_credit_limit() = money::Make(100, "USD");
  req.mutable_profile()->set_payment_terms_days(-1);
  req.mutable_profile()->set_risk_class(v1::RISK_CLASS_LOW);
  s = Call(&Stub::SetCreditProfile, req, &out);
  ASSERT_TRUE(IsError(s, Code::INVALID_ARGUMENT,
                      "profile.credit_limit.currency: must be EUR"));
  EXPECT_THAT(s.error_message(), HasSubstr("profile.payment_terms_days"));

  // An account the accounts feed never showed (and no lookup): the field
  // is named.
  req.Clear();
  req.mutable_profile()->set_account_id("acc_nope");
  *req.mutable_profile()->mutable_credit_limit() = Eur(100);
  req.mutable_profile()->set_risk_class(v1::RISK_CLASS_LOW);
  EXPECT_TRUE(IsError(Call(&Stub::SetCreditProfile, req, &out),
                      Code::INVALID_ARGUMENT,
                      "profile.account_id: account acc_nope does not exist"));

  // Nothing was written by any of them.
  v1::CreditProfile got;
  EXPECT_TRUE(IsError(GetProfile(kAccE1, &got), Code::NOT_FOUND));
  EXPECT_TRUE(IsError(GetProfile("acc_nope", &got), Code::NOT_FOUND));
}

TEST_F(CreditServiceTest, SetCreditProfileChecksExpectedVersion) {
  v1::SetCreditProfileRequest req;
  v1::CreditProfile* p = req.mutable_profile();
  p->set_account_id(kAccE1);
  *p->mutable_credit_limit() = Eur(1'000'000);
  p->set_payment_terms_days(30);
  p->set_risk_class(v1::RISK_CLASS_MEDIUM);
  p->set_hold_reason("ignored without hold");

  // Creating with an expected version that is not 0: ABORTED, nothing made.
  req.set_expected_version(3);
  v1::CreditProfile out;
  EXPECT_TRUE(IsError(Call(&Stub::SetCreditProfile, req, &out), Code::ABORTED));
  v1::CreditProfile got;
  EXPECT_TRUE(IsError(GetProfile(kAccE1, &got), Code::NOT_FOUND));

  req.set_expected_version(0);
  ASSERT_TRUE(IsOk(Call(&Stub::SetCreditProfile, req, &out)));
  EXPECT_EQ(out.version(), 1);
  EXPECT_EQ(out.account_id(), kAccE1);
  EXPECT_EQ(out.credit_limit().units_minor(), 1'000'000);
  EXPECT_EQ(out.credit_limit().currency(), "EUR");
  EXPECT_EQ(out.payment_terms_days(), 30);
  EXPECT_EQ(out.risk_class(), v1::RISK_CLASS_MEDIUM);
  EXPECT_FALSE(out.hold());
  EXPECT_EQ(out.hold_reason(), "");  // kept only while on hold

  p->set_payment_terms_days(45);
  req.set_expected_version(1);
  ASSERT_TRUE(IsOk(Call(&Stub::SetCreditProfile, req, &out)));
  EXPECT_EQ(out.version(), 2);

  // A writer that read version 1 loses.
  p->set_payment_terms_days(60);
  EXPECT_TRUE(IsError(Call(&Stub::SetCreditProfile, req, &out), Code::ABORTED));
  ASSERT_TRUE(IsOk(GetProfile(kAccE1, &got)));
  EXPECT_EQ(got.version(), 2);
  EXPECT_EQ(got.payment_terms_days(), 45);

  // expected_version 0: don't care.
  req.set_expected_version(0);
  p->set_hold(true);
  p->set_hold_reason("  legal review  ");
  ASSERT_TRUE(IsOk(Call(&Stub::SetCreditProfile, req, &out)));
  EXPECT_EQ(out.version(), 3);
  EXPECT_TRUE(out.hold());
  EXPECT_EQ(out.hold_reason(), "legal review");
  ASSERT_TRUE(IsOk(GetProfile(kAccE1, &got)));
  EXPECT_TRUE(MessageDifferencer::Equals(got, out)) << got.DebugString();
}

TEST_F(CreditServiceTest, OnlyFinanceAndAdminWriteProfilesAndScopeLimitsReads) {
  v1::SetCreditProfileRequest req;
  v1::CreditProfile* p = req.mutable_profile();
  p->set_account_id(kAccE1);
  *p->mutable_credit_limit() = Eur(500'000);
  p->set_payment_terms_days(30);
  p->set_risk_class(v1::RISK_CLASS_LOW);
  v1::CreditProfile out;
  for (const char* token : {kRepE1Token, kManagerEastToken, kServiceToken}) {
    EXPECT_TRUE(IsError(Call(&Stub::SetCreditProfile, req, &out, token),
                        Code::PERMISSION_DENIED))
        << token;
  }
  EXPECT_TRUE(IsError(Call(&Stub::SetCreditProfile, req, &out, ""),
                      Code::UNAUTHENTICATED));
  EXPECT_TRUE(IsError(Call(&Stub::SetCreditProfile, req, &out, "bad-token"),
                      Code::UNAUTHENTICATED));
  v1::CreditProfile got;
  EXPECT_TRUE(IsError(GetProfile(kAccE1, &got), Code::NOT_FOUND));

  ASSERT_TRUE(IsOk(Call(&Stub::SetCreditProfile, req, &out, kAdminToken)));
  ASSERT_TRUE(IsOk(Call(&Stub::SetCreditProfile, req, &out, kFinanceToken)));
  EXPECT_EQ(out.version(), 2);

  // Reads: the owning rep, the managers above, finance, admin, service.
  for (const char* token : {kRepE1Token, kManagerEastToken, kAdminToken,
                            kFinanceToken, kServiceToken}) {
    EXPECT_TRUE(IsOk(GetProfile(kAccE1, &got, token))) << token;
  }
  for (const char* token : {kRepW1Token, kManagerWestToken}) {
    EXPECT_TRUE(
        IsError(GetProfile(kAccE1, &got, token), Code::PERMISSION_DENIED))
        << token;
  }
}

// ---------------------------------------------------------------------------
// 2. Credit checks

TEST_F(CreditServiceTest,
       CheckCreditApprovesBlocksReviewsAndStoresEachDecision) {
  const absl::CivilDay today = Today();
  SetProfile(kAccE1, 1'000'000, 30, v1::RISK_CLASS_MEDIUM);  // 10,000.00
  Post(kAccE1, 400'000, today);                              // not due yet

  const v1::CreditCheck approve = Check(kAccE1, 500'000);
  EXPECT_EQ(approve.decision(), v1::CREDIT_DECISION_APPROVE);
  EXPECT_THAT(approve.reasons(), IsEmpty());
  EXPECT_EQ(approve.exposure().units_minor(), 400'000);
  EXPECT_EQ(approve.credit_limit().units_minor(), 1'000'000);
  EXPECT_EQ(approve.amount().units_minor(), 500'000);
  EXPECT_EQ(approve.checked_by(), "finance");
  EXPECT_THAT(approve.id(), StartsWith("chk_"));
  EXPECT_EQ(approve.version(), 1);

  const v1::CreditCheck block = Check(kAccE1, 700'000);
  EXPECT_EQ(block.decision(), v1::CREDIT_DECISION_BLOCK);
  EXPECT_THAT(block.reasons(),
              ElementsAre("would exceed the credit limit: exposure 4000.00 + "
                          "amount 7000.00 = 11000.00 > limit 10000.00"));

  // Exactly at the limit is still within it.
  const v1::CreditCheck at_limit = Check(kAccE1, 600'000);
  EXPECT_EQ(at_limit.decision(), v1::CREDIT_DECISION_APPROVE);

  // No profile: a person reviews.
  const v1::CreditCheck review = Check(kAccE2, 100);
  EXPECT_EQ(review.decision(), v1::CREDIT_DECISION_REVIEW);
  EXPECT_THAT(review.reasons(), ElementsAre("no credit profile"));
  EXPECT_EQ(review.credit_limit().units_minor(), 0);

  // On hold: every check blocks, however small.
  SetProfile(kAccW1, 1'000'000, 30, v1::RISK_CLASS_LOW, true, "fraud check");
  const v1::CreditCheck held = Check(kAccW1, 1);
  EXPECT_EQ(held.decision(), v1::CREDIT_DECISION_BLOCK);
  EXPECT_THAT(held.reasons(),
              ElementsAre("account on credit hold: fraud check"));

  // A receivable overdue more than 30 days blocks too.
  Post(kAccE1, 10'000, today - 60, today - 31);
  const v1::CreditCheck overdue = Check(kAccE1, 1);
  EXPECT_EQ(overdue.decision(), v1::CREDIT_DECISION_BLOCK);
  EXPECT_THAT(overdue.reasons(),
              ElementsAre("receivables overdue more than 30 days: 100.00, up "
                          "to 31 days"));

  // Every decision is stored, oldest first, as answered.
  v1::ListCreditChecksRequest list;
  list.set_account_id(kAccE1);
  v1::ListCreditChecksResponse checks;
  ASSERT_TRUE(IsOk(Call(&Stub::ListCreditChecks, list, &checks)));
  ASSERT_EQ(checks.checks_size(), 4);
  EXPECT_TRUE(MessageDifferencer::Equals(checks.checks(0), approve));
  EXPECT_TRUE(MessageDifferencer::Equals(checks.checks(1), block));
  EXPECT_TRUE(MessageDifferencer::Equals(checks.checks(2), at_limit));
  EXPECT_TRUE(MessageDifferencer::Equals(checks.checks(3), overdue));
  list.set_account_id(kAccW1);
  ASSERT_TRUE(IsOk(Call(&Stub::ListCreditChecks, list, &checks)));
  ASSERT_EQ(checks.checks_size(), 1);
  EXPECT_EQ(checks.checks(0).id(), held.id());
}

TEST_F(CreditServiceTest, CheckCreditValidatesAndFollowsRoles) {
  SetProfile(kAccE1, 1'000'000, 30, v1::RISK_CLASS_MEDIUM);
  v1::CheckCreditRequest req;
  v1::CreditCheck out;
  grpc::Status s = Call(&Stub::CheckCredit, req, &out);
  ASSERT_TRUE(IsError(s, Code::INVALID_ARGUMENT, "account_id: required"));
  EXPECT_THAT(s.error_message(), HasSubstr("amount.currency: required"));
  req.set_account_id(kAccE1);
  *req.mutable_amount() = Eur(0);
  EXPECT_TRUE(IsError(Call(&Stub::CheckCredit, req, &out),
                      Code::INVALID_ARGUMENT,
                      "amount.units_minor: must be > 0"));
  req.set_account_id("acc_nope");
  *req.mutable_amount() = Eur(100);
  EXPECT_TRUE(IsError(Call(&Stub::CheckCredit, req, &out),
                      Code::INVALID_ARGUMENT,
                      "account_id: account acc_nope does not exist"));

  // Pipeline (SERVICE) and the people in scope may ask.
  EXPECT_EQ(Check(kAccE1, 100, "opp_x", kServiceToken).checked_by(),
            "pipeline");
  EXPECT_EQ(Check(kAccE1, 100, "", kRepE1Token).checked_by(), "rep-e1");
  EXPECT_EQ(Check(kAccE1, 100, "", kManagerEastToken).checked_by(),
            "manager-east");
  EXPECT_EQ(Check(kAccE1, 100, "", kAdminToken).checked_by(), "admin");
  // Outside the account's owner: no.
  req.set_account_id(kAccE1);
  for (const char* token : {kRepW1Token, kManagerWestToken}) {
    EXPECT_TRUE(IsError(Call(&Stub::CheckCredit, req, &out, token),
                        Code::PERMISSION_DENIED))
        << token;
  }
  EXPECT_TRUE(
      IsError(Call(&Stub::CheckCredit, req, &out, ""), Code::UNAUTHENTICATED));
  v1::ListCreditChecksRequest list;
  list.set_account_id(kAccE1);
  v1::ListCreditChecksResponse checks;
  EXPECT_TRUE(IsError(Call(&Stub::ListCreditChecks, list, &checks, kRepW1Token),
                      Code::PERMISSION_DENIED));
  ASSERT_TRUE(IsOk(Call(&Stub::ListCreditChecks, list, &checks, kRepE1Token)));
  EXPECT_EQ(checks.checks_size(), 4);  // the refused ones left no trace
}

TEST_F(CreditServiceTest, CheckCreditCountsContractedNotInvoicedOnce) {
  PutModel();
  SetProfile(kAccE1, 2'000'000, 30, v1::RISK_CLASS_MEDIUM);  // 20,000.00
  Post(kAccE1, 100'000, Today());                            // 1,000.00 open

  EXPECT_EQ(Check(kAccE1, 400'000, "opp_a").exposure().units_minor(), 100'000);
  EXPECT_EQ(Check(kAccE1, 200'000, "opp_b").exposure().units_minor(), 500'000);
  // A re-check of opp_a leaves its own earlier 4,000 out ...
  const v1::CreditCheck again = Check(kAccE1, 500'000, "opp_a");
  EXPECT_EQ(again.decision(), v1::CREDIT_DECISION_APPROVE);
  EXPECT_EQ(again.exposure().units_minor(), 300'000);
  // ... and replaces it: 1,000 open + 5,000 (opp_a) + 2,000 (opp_b).
  EXPECT_EQ(Exposure(kAccE1), 800'000);

  // A BLOCKed opportunity is not contracted.
  const v1::CreditCheck blocked = Check(kAccE1, 1'500'000, "opp_c");
  EXPECT_EQ(blocked.decision(), v1::CREDIT_DECISION_BLOCK);
  EXPECT_EQ(blocked.exposure().units_minor(), 800'000);
  EXPECT_EQ(Exposure(kAccE1), 800'000);

  // opp_a's contract is signed: its receivable replaces its commitment.
  ApplyOk(OppEvent("opp_a", kAccE1, 500'000, "USAGE", 3));
  ASSERT_EQ(Receivables(kAccE1, "opp_a").size(), 1u);
  EXPECT_EQ(Exposure(kAccE1), 800'000);  // 1,000 + 5,000 receivable + 2,000
  // A re-check of an invoiced opportunity (slipped back and moving forward
  // again) counts it once, by the amount asked: its own receivable is left
  // out of the exposure, and no commitment is added.
  EXPECT_EQ(Check(kAccE1, 500'000, "opp_a").exposure().units_minor(), 300'000);
  EXPECT_EQ(Exposure(kAccE1), 800'000);

  // opp_b closes LOST: its commitment is released.
  ApplyOk(OppEvent("opp_b", kAccE1, 200'000, "COMMITMENT", 4,
                   v1::OPPORTUNITY_STATUS_LOST));
  EXPECT_EQ(Exposure(kAccE1), 600'000);

  // An invoice the ERP posts for an opportunity is its receivable too: it
  // releases the commitment, and a re-check does not add it back.
  EXPECT_EQ(Check(kAccE1, 300'000, "opp_e").exposure().units_minor(), 600'000);
  EXPECT_EQ(Exposure(kAccE1), 900'000);
  Post(kAccE1, 300'000, Today(), std::nullopt, "INV-E", "opp_e");
  EXPECT_EQ(Exposure(kAccE1), 900'000);  // 1,000 + 5,000 + 3,000 invoiced
  EXPECT_EQ(Check(kAccE1, 300'000, "opp_e").exposure().units_minor(), 600'000);
  EXPECT_EQ(Exposure(kAccE1), 900'000);

  // A REVIEW (no profile) counts as contracted too; NO_DECISION releases it.
  EXPECT_EQ(Check(kAccE2, 300'000, "opp_d").decision(),
            v1::CREDIT_DECISION_REVIEW);
  EXPECT_EQ(Exposure(kAccE2), 300'000);
  ApplyOk(OppEvent("opp_d", kAccE2, 300'000, "COMMITMENT", 2,
                   v1::OPPORTUNITY_STATUS_NO_DECISION));
  EXPECT_EQ(Exposure(kAccE2), 0);
}

// ---------------------------------------------------------------------------
// 3. Receivables from the pipeline feed

TEST_F(CreditServiceTest, ContractSignedOpensExactlyOneReceivable) {
  SetToday(absl::CivilDay(2026, 3, 12));
  PutModel();
  SetProfile(kAccE1, 10'000'000, 45, v1::RISK_CLASS_LOW);
  const absl::Time signed_at = Noon(absl::CivilDay(2026, 3, 10));

  // Stages before the contract open nothing.
  ApplyOk(OppEvent("opp_1", kAccE1, 5'000'000, "COMMITMENT", 1,
                   v1::OPPORTUNITY_STATUS_OPEN, signed_at - absl::Hours(48)));
  EXPECT_THAT(Receivables(kAccE1), IsEmpty());

  const v1::Event entered = OppEvent("opp_1", kAccE1, 5'000'000, "USAGE", 2,
                                     v1::OPPORTUNITY_STATUS_OPEN, signed_at);
  ApplyOk(entered);
  std::vector<v1::Receivable> rs = Receivables(kAccE1);
  ASSERT_EQ(rs.size(), 1u);
  const v1::Receivable r = rs[0];
  EXPECT_THAT(r.id(), StartsWith("rcv_"));
  EXPECT_EQ(r.account_id(), kAccE1);
  EXPECT_EQ(r.opportunity_id(), "opp_1");
  EXPECT_EQ(r.amount().units_minor(), 5'000'000);
  EXPECT_EQ(r.open().units_minor(), 5'000'000);
  EXPECT_EQ(r.paid().units_minor(), 0);
  EXPECT_EQ(Str(r.issue_date()), "2026-03-10");  // the event's day, not today
  EXPECT_EQ(Str(r.due_date()), "2026-04-24");    // + 45 days of terms
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_OPEN);
  EXPECT_EQ(r.source(), v1::RECEIVABLE_SOURCE_CONTRACT_SIGNED);

  // The same event again, a later version in the same stage, back and forth
  // again, then WON from it: still the one receivable, unchanged.
  ApplyOk(entered);
  ApplyOk(OppEvent("opp_1", kAccE1, 5'100'000, "USAGE", 3,
                   v1::OPPORTUNITY_STATUS_OPEN, signed_at + absl::Hours(1)));
  ApplyOk(OppEvent("opp_1", kAccE1, 5'000'000, "COMMITMENT", 4,
                   v1::OPPORTUNITY_STATUS_OPEN, signed_at + absl::Hours(24)));
  ApplyOk(OppEvent("opp_1", kAccE1, 5'000'000, "USAGE", 5,
                   v1::OPPORTUNITY_STATUS_OPEN, signed_at + absl::Hours(48)));
  ApplyOk(OppEvent("opp_1", kAccE1, 5'000'000, "USAGE", 6,
                   v1::OPPORTUNITY_STATUS_WON, signed_at + absl::Hours(72)));
  rs = Receivables(kAccE1);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(rs[0], r)) << rs[0].DebugString();
  EXPECT_EQ(Receivables("", "opp_1").size(), 1u);

  v1::GetOpportunityCollectionRequest get;
  get.set_opportunity_id("opp_1");
  v1::OpportunityCollection c;
  ASSERT_TRUE(IsOk(Call(&Stub::GetOpportunityCollection, get, &c)));
  EXPECT_EQ(c.opportunity_id(), "opp_1");
  EXPECT_EQ(c.account_id(), kAccE1);
  EXPECT_EQ(c.invoiced().units_minor(), 5'000'000);
  EXPECT_EQ(c.collected().units_minor(), 0);
  EXPECT_EQ(c.written_off().units_minor(), 0);
  EXPECT_FALSE(c.fully_collected());
  EXPECT_EQ(c.version(), 1);

  // First seen already WON in the contract stage, on an account without a
  // profile: opened with the default 30 days of terms.
  ApplyOk(OppEvent("opp_2", kAccE2, 700'000, "USAGE", 9,
                   v1::OPPORTUNITY_STATUS_WON, signed_at));
  rs = Receivables(kAccE2);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(Str(rs[0].due_date()), "2026-04-09");
  // Lost in the contract stage: no sale, no receivable.
  ApplyOk(OppEvent("opp_3", kAccW1, 700'000, "USAGE", 2,
                   v1::OPPORTUNITY_STATUS_LOST, signed_at));
  EXPECT_THAT(Receivables(kAccW1), IsEmpty());

  // An opportunity of a model never seen: the consumer stops (nothing is
  // silently missed) and nothing is written.
  const uint64_t before = store_->last_sequence();
  absl::Status s = ApplyPipeline(OppEvent("opp_4", kAccW1, 100, "USAGE", 1,
                                          v1::OPPORTUNITY_STATUS_OPEN,
                                          signed_at, "stm_unknown"));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(store_->last_sequence(), before);

  v1::ListOpportunityCollectionsResponse all;
  ASSERT_TRUE(
      IsOk(Call(&Stub::ListOpportunityCollections,
                v1::ListOpportunityCollectionsRequest(), &all, kServiceToken)));
  ASSERT_EQ(all.collections_size(), 2);
  EXPECT_EQ(all.collections(0).opportunity_id(), "opp_1");
  EXPECT_EQ(all.collections(1).opportunity_id(), "opp_2");
  EXPECT_TRUE(
      IsError(Call(&Stub::ListOpportunityCollections,
                   v1::ListOpportunityCollectionsRequest(), &all, kRepE1Token),
              Code::PERMISSION_DENIED));
}

TEST_F(CreditServiceTest, IssueDateIsTheEventDayInTheInstanceTimeZone) {
  StopService();
  CreditOptions options;
  options.time_zone = absl::FixedTimeZone(8 * 3600);  // UTC+8
  StartService(options);
  PutModel();
  // 20:00 UTC on 03-10 is 04:00 on 03-11 in UTC+8.
  ApplyOk(OppEvent("opp_tz", kAccE1, 100'000, "USAGE", 1,
                   v1::OPPORTUNITY_STATUS_OPEN,
                   Noon(absl::CivilDay(2026, 3, 10)) + absl::Hours(8)));
  std::vector<v1::Receivable> rs = Receivables(kAccE1);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(Str(rs[0].issue_date()), "2026-03-11");
  EXPECT_EQ(Str(rs[0].due_date()), "2026-04-10");
}

// ---------------------------------------------------------------------------
// 4. Posted receivables

TEST_F(CreditServiceTest, PostReceivableWithExternalIdIsIdempotent) {
  SetProfile(kAccE1, 10'000'000, 30, v1::RISK_CLASS_LOW);
  const absl::CivilDay issue(2026, 2, 1);
  const v1::Receivable r = Post(kAccE1, 123'456, issue, std::nullopt, "INV-1");
  EXPECT_THAT(r.id(), StartsWith("rcv_"));
  EXPECT_EQ(r.external_id(), "INV-1");
  EXPECT_EQ(r.source(), v1::RECEIVABLE_SOURCE_POSTED);
  EXPECT_EQ(Str(r.due_date()), "2026-03-03");  // issue + 30 days of terms
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_OPEN);
  EXPECT_EQ(r.open().units_minor(), 123'456);
  EXPECT_EQ(r.version(), 1);

  // The replay returns the same receivable and writes nothing (no event).
  const uint64_t before = store_->last_sequence();
  v1::Receivable replay;
  ASSERT_TRUE(IsOk(Call(
      &Stub::PostReceivable,
      PostRequest(kAccE1, 123'456, issue, std::nullopt, "INV-1"), &replay)));
  EXPECT_TRUE(MessageDifferencer::Equals(replay, r)) << replay.DebugString();
  // The external id may also come inside the receivable.
  v1::PostReceivableRequest inside = PostRequest(kAccE1, 123'456, issue);
  inside.mutable_receivable()->set_external_id("INV-1");
  ASSERT_TRUE(IsOk(Call(&Stub::PostReceivable, inside, &replay)));
  EXPECT_EQ(replay.id(), r.id());
  EXPECT_EQ(store_->last_sequence(), before);
  EXPECT_EQ(Receivables(kAccE1).size(), 1u);

  // The same external id for another invoice: refused, nothing written.
  EXPECT_TRUE(IsError(
      Call(&Stub::PostReceivable,
           PostRequest(kAccE1, 123'457, issue, std::nullopt, "INV-1"), &replay),
      Code::FAILED_PRECONDITION, "external_id: INV-1 was posted as"));
  EXPECT_TRUE(IsError(
      Call(&Stub::PostReceivable,
           PostRequest(kAccE2, 123'456, issue, std::nullopt, "INV-1"), &replay),
      Code::FAILED_PRECONDITION, "INV-1"));
  EXPECT_EQ(store_->last_sequence(), before);
  EXPECT_EQ(Receivables(kAccE1).size(), 1u);
  EXPECT_THAT(Receivables(kAccE2), IsEmpty());

  // An explicit due date wins over the terms.
  EXPECT_EQ(Str(Post(kAccE1, 100, issue, absl::CivilDay(2026, 2, 15), "INV-2")
                    .due_date()),
            "2026-02-15");
}

TEST_F(CreditServiceTest, PostReceivableValidatesAndIsForFinanceOnly) {
  v1::Receivable out;
  v1::PostReceivableRequest req;
  grpc::Status s = Call(&Stub::PostReceivable, req, &out);
  ASSERT_TRUE(
      IsError(s, Code::INVALID_ARGUMENT, "receivable.account_id: required"));
  EXPECT_THAT(s.error_message(), HasSubstr("receivable.amount"));
  EXPECT_THAT(s.error_message(), HasSubstr("receivable.issue_date"));

  const absl::CivilDay issue(2026, 2, 1);
  EXPECT_TRUE(IsError(
      Call(&Stub::PostReceivable,
           PostRequest(kAccE1, 100, issue, absl::CivilDay(2026, 1, 31)), &out),
      Code::INVALID_ARGUMENT,
      "receivable.due_date: must not be before issue_date"));
  req = PostRequest(kAccE1, 100, issue);
  req.mutable_receivable()->set_state(v1::RECEIVABLE_STATE_PAID);
  EXPECT_TRUE(IsError(Call(&Stub::PostReceivable, req, &out),
                      Code::INVALID_ARGUMENT, "output only"));
  req = PostRequest(kAccE1, 100, issue, std::nullopt, std::string(129, 'x'));
  EXPECT_TRUE(IsError(Call(&Stub::PostReceivable, req, &out),
                      Code::INVALID_ARGUMENT,
                      "external_id: at most 128 characters"));
  req = PostRequest(kAccE1, 100, issue, std::nullopt, "INV-A");
  req.mutable_receivable()->set_external_id("INV-B");
  EXPECT_TRUE(IsError(Call(&Stub::PostReceivable, req, &out),
                      Code::INVALID_ARGUMENT, "external_id: differs"));
  EXPECT_TRUE(IsError(
      Call(&Stub::PostReceivable, PostRequest("acc_nope", 100, issue), &out),
      Code::INVALID_ARGUMENT,
      "receivable.account_id: account acc_nope does not exist"));
  for (const char* token : {kRepE1Token, kManagerEastToken, kServiceToken}) {
    EXPECT_TRUE(IsError(Call(&Stub::PostReceivable,
                             PostRequest(kAccE1, 100, issue), &out, token),
                        Code::PERMISSION_DENIED))
        << token;
  }
  EXPECT_THAT(Receivables(kAccE1), IsEmpty());

  const v1::Receivable r = Post(kAccE1, 100, issue);
  v1::GetReceivableRequest get;
  get.set_id(r.id());
  EXPECT_TRUE(IsOk(Call(&Stub::GetReceivable, get, &out, kRepE1Token)));
  EXPECT_TRUE(IsError(Call(&Stub::GetReceivable, get, &out, kRepW1Token),
                      Code::PERMISSION_DENIED));
  get.set_id("rcv_nope");
  EXPECT_TRUE(IsError(Call(&Stub::GetReceivable, get, &out), Code::NOT_FOUND));
}

// ---------------------------------------------------------------------------
// 5. Payments

TEST_F(CreditServiceTest, PaymentsGoOldestDueFirstAndNeverExceedWhatIsOwed) {
  SetToday(absl::CivilDay(2026, 3, 5));
  const v1::Receivable r1 = Post(kAccE1, 100'000, absl::CivilDay(2026, 1, 10),
                                 absl::CivilDay(2026, 2, 10));
  const v1::Receivable r2 = Post(kAccE1, 50'000, absl::CivilDay(2026, 1, 1),
                                 absl::CivilDay(2026, 1, 31));
  const v1::Receivable r3 = Post(kAccE1, 30'000, absl::CivilDay(2026, 2, 1),
                                 absl::CivilDay(2026, 3, 1));
  const v1::Receivable other = Post(kAccE2, 30'000, absl::CivilDay(2026, 2, 1));

  // 700.00 by default: r2 (due first) in full, then 200.00 of r1.
  v1::Payment p;
  ASSERT_TRUE(
      IsOk(Pay(kAccE1, 70'000, absl::CivilDay(2026, 3, 4), {}, "", &p)));
  EXPECT_THAT(p.id(), StartsWith("pay_"));
  ASSERT_EQ(p.allocations_size(), 2);
  EXPECT_EQ(p.allocations(0).receivable_id(), r2.id());
  EXPECT_EQ(p.allocations(0).amount().units_minor(), 50'000);
  EXPECT_EQ(p.allocations(1).receivable_id(), r1.id());
  EXPECT_EQ(p.allocations(1).amount().units_minor(), 20'000);
  v1::Receivable got = GetReceivable(r2.id());
  EXPECT_EQ(got.state(), v1::RECEIVABLE_STATE_PAID);
  EXPECT_EQ(Str(got.paid_date()), "2026-03-04");
  ASSERT_EQ(got.payments_size(), 1);
  EXPECT_EQ(got.payments(0).payment_id(), p.id());
  got = GetReceivable(r1.id());
  EXPECT_EQ(got.state(), v1::RECEIVABLE_STATE_PARTIALLY_PAID);
  EXPECT_EQ(got.open().units_minor(), 80'000);
  EXPECT_EQ(got.paid().units_minor(), 20'000);

  // Named: exactly where it is told, even though r1 is due earlier.
  ASSERT_TRUE(IsOk(
      Pay(kAccE1, 10'000, absl::CivilDay(2026, 3, 5), {{r3.id(), 10'000}})));
  EXPECT_EQ(GetReceivable(r3.id()).open().units_minor(), 20'000);
  EXPECT_EQ(GetReceivable(r1.id()).open().units_minor(), 80'000);

  // More than the 1,000.00 still owed: rejected, nothing written.
  const uint64_t before = store_->last_sequence();
  const v1::Receivable r1_before = GetReceivable(r1.id());
  const v1::Receivable r3_before = GetReceivable(r3.id());
  EXPECT_TRUE(IsError(Pay(kAccE1, 100'001, Today()), Code::FAILED_PRECONDITION,
                      "amount: 1000.01 exceeds the 1000.00"));
  EXPECT_TRUE(IsError(Pay(kAccE1, 30'000, Today(), {{r3.id(), 30'000}}),
                      Code::FAILED_PRECONDITION,
                      "allocations[0].amount: 300.00 exceeds the 200.00"));
  EXPECT_TRUE(IsError(Pay(kAccE1, 10'000, Today(), {{r2.id(), 10'000}}),
                      Code::FAILED_PRECONDITION, "already paid"));
  EXPECT_TRUE(IsError(
      Pay(kAccE1, 20'000, Today(), {{r1.id(), 10'000}, {r3.id(), 5'000}}),
      Code::INVALID_ARGUMENT, "allocations: they sum to 150.00"));
  EXPECT_TRUE(IsError(Pay(kAccE1, 10'000, Today(), {{other.id(), 10'000}}),
                      Code::INVALID_ARGUMENT, "allocations[0].receivable_id"));
  EXPECT_TRUE(IsError(Pay(kAccE1, 100, Today() + 1), Code::INVALID_ARGUMENT,
                      "date: must not be after today (2026-03-05)"));
  v1::RecordPaymentRequest no_date = PayRequest(kAccE1, 100, Today());
  no_date.clear_date();
  v1::Payment ignored;
  EXPECT_TRUE(IsError(Call(&Stub::RecordPayment, no_date, &ignored),
                      Code::INVALID_ARGUMENT, "date"));
  for (const char* token : {kRepE1Token, kManagerEastToken, kServiceToken}) {
    EXPECT_TRUE(IsError(Call(&Stub::RecordPayment,
                             PayRequest(kAccE1, 100, Today()), &ignored, token),
                        Code::PERMISSION_DENIED));
  }
  EXPECT_EQ(store_->last_sequence(), before);
  EXPECT_TRUE(MessageDifferencer::Equals(GetReceivable(r1.id()), r1_before));
  EXPECT_TRUE(MessageDifferencer::Equals(GetReceivable(r3.id()), r3_before));

  // An external id makes a payment idempotent.
  v1::Payment bank;
  ASSERT_TRUE(IsOk(Pay(kAccE1, 5'000, Today(), {}, "BANK-7", &bank)));
  EXPECT_EQ(bank.external_id(), "BANK-7");
  EXPECT_EQ(GetReceivable(r1.id()).open().units_minor(), 75'000);
  const uint64_t after_bank = store_->last_sequence();
  v1::Payment replay;
  ASSERT_TRUE(IsOk(Pay(kAccE1, 5'000, Today(), {}, "BANK-7", &replay)));
  EXPECT_TRUE(MessageDifferencer::Equals(replay, bank));
  EXPECT_EQ(store_->last_sequence(), after_bank);
  EXPECT_EQ(GetReceivable(r1.id()).open().units_minor(), 75'000);
  EXPECT_TRUE(IsError(Pay(kAccE1, 5'001, Today(), {}, "BANK-7"),
                      Code::FAILED_PRECONDITION, "BANK-7"));

  // Exactly what is owed settles everything; then nothing more is taken.
  ASSERT_TRUE(IsOk(Pay(kAccE1, 95'000, Today())));
  for (const v1::Receivable& r : Receivables(kAccE1)) {
    EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_PAID) << r.id();
    EXPECT_EQ(r.open().units_minor(), 0) << r.id();
  }
  EXPECT_TRUE(IsError(Pay(kAccE1, 1, Today()), Code::FAILED_PRECONDITION));

  v1::ListPaymentsRequest list;
  list.set_account_id(kAccE1);
  v1::ListPaymentsResponse payments;
  ASSERT_TRUE(IsOk(Call(&Stub::ListPayments, list, &payments, kRepE1Token)));
  EXPECT_EQ(payments.payments_size(), 4);
  EXPECT_TRUE(IsError(Call(&Stub::ListPayments, list, &payments, kRepW1Token),
                      Code::PERMISSION_DENIED));
}

TEST_F(CreditServiceTest, FullPaymentCompletesTheOpportunityCollection) {
  PutModel();
  SetToday(absl::CivilDay(2026, 3, 1));
  ApplyOk(OppEvent("opp_1", kAccE1, 500'000, "USAGE", 1));
  std::vector<v1::Receivable> rs = Receivables(kAccE1);
  ASSERT_EQ(rs.size(), 1u);

  v1::GetOpportunityCollectionRequest get;
  get.set_opportunity_id("opp_1");
  v1::OpportunityCollection c;

  SetToday(absl::CivilDay(2026, 3, 2));
  ASSERT_TRUE(IsOk(Pay(kAccE1, 200'000, Today())));
  ASSERT_TRUE(IsOk(Call(&Stub::GetOpportunityCollection, get, &c)));
  EXPECT_EQ(c.collected().units_minor(), 200'000);
  EXPECT_FALSE(c.fully_collected());
  EXPECT_FALSE(c.has_collected_date());
  EXPECT_EQ(c.version(), 2);

  SetToday(absl::CivilDay(2026, 3, 6));
  ASSERT_TRUE(IsOk(Pay(kAccE1, 300'000, absl::CivilDay(2026, 3, 5))));
  ASSERT_TRUE(IsOk(Call(&Stub::GetOpportunityCollection, get, &c)));
  EXPECT_EQ(c.invoiced().units_minor(), 500'000);
  EXPECT_EQ(c.collected().units_minor(), 500'000);
  EXPECT_TRUE(c.fully_collected());
  EXPECT_EQ(Str(c.collected_date()), "2026-03-05");
  EXPECT_EQ(c.version(), 3);

  v1::ListOpportunityCollectionsResponse all;
  ASSERT_TRUE(
      IsOk(Call(&Stub::ListOpportunityCollections,
                v1::ListOpportunityCollectionsRequest(), &all, kServiceToken)));
  ASSERT_EQ(all.collections_size(), 1);
  EXPECT_TRUE(MessageDifferencer::Equals(all.collections(0), c));
  EXPECT_TRUE(
      IsOk(Call(&Stub::GetOpportunityCollection, get, &c, kRepE1Token)));
  EXPECT_TRUE(
      IsError(Call(&Stub::GetOpportunityCollection, get, &c, kRepW1Token),
              Code::PERMISSION_DENIED));
  get.set_opportunity_id("opp_none");
  EXPECT_TRUE(
      IsError(Call(&Stub::GetOpportunityCollection, get, &c), Code::NOT_FOUND));
}

// ---------------------------------------------------------------------------
// 6. Aging

TEST_F(CreditServiceTest, AgingBucketsFollowDaysPastDueAsOf) {
  const absl::CivilDay due(2026, 1, 31);
  SetToday(due + 200);
  const v1::Receivable r = Post(kAccE1, 100'000, due - 30, due);
  const std::vector<std::pair<int, int>> cases = {
      {0, 0},  {30, 1}, {31, 2},  {60, 2},  {61, 3},
      {90, 3}, {91, 4}, {180, 4}, {181, 5}, {200, 5}};
  for (const auto& [days, bucket] : cases) {
    v1::Aging aging;
    ASSERT_TRUE(IsOk(Aging(kAccE1, "", due + days, &aging)));
    std::vector<int64_t> want(7, 0);
    want[bucket] = 100'000;
    want[6] = 100'000;
    EXPECT_EQ(Buckets(aging.total()), want) << "as of due + " << days;
    EXPECT_EQ(Str(aging.as_of()), Str(due + days));
    ASSERT_EQ(aging.accounts_size(), 1);
    EXPECT_EQ(aging.accounts(0).account_id(), kAccE1);
    EXPECT_EQ(Buckets(aging.accounts(0).buckets()), want);
  }

  // Before it was issued: nothing.
  v1::Aging aging;
  ASSERT_TRUE(IsOk(Aging(kAccE1, "", due - 31, &aging)));
  EXPECT_EQ(Buckets(aging.total()), std::vector<int64_t>(7, 0));
  EXPECT_EQ(aging.total().total().currency(), "EUR");
  EXPECT_THAT(aging.accounts(), IsEmpty());

  // A payment counts from its date on.
  ASSERT_TRUE(IsOk(Pay(kAccE1, 40'000, due + 100)));
  ASSERT_TRUE(IsOk(Aging(kAccE1, "", due + 50, &aging)));
  EXPECT_EQ(Buckets(aging.total()),
            (std::vector<int64_t>{0, 0, 100'000, 0, 0, 0, 100'000}));
  ASSERT_TRUE(IsOk(Aging(kAccE1, "", due + 150, &aging)));
  EXPECT_EQ(Buckets(aging.total()),
            (std::vector<int64_t>{0, 0, 0, 0, 60'000, 0, 60'000}));
  // as_of defaults to today.
  ASSERT_TRUE(IsOk(Aging(kAccE1, "", std::nullopt, &aging)));
  EXPECT_EQ(Str(aging.as_of()), Str(Today()));
  EXPECT_EQ(Buckets(aging.total()),
            (std::vector<int64_t>{0, 0, 0, 0, 0, 60'000, 60'000}));
}

TEST_F(CreditServiceTest, AgingRollsUpByOrgSubtreeWithinTheCallersScope) {
  const absl::CivilDay due(2026, 1, 31);
  SetToday(due + 20);
  Post(kAccE1, 100'000, due - 30, due);
  Post(kAccE2, 20'000, due - 30, due);
  Post(kAccW1, 30'000, due - 20, due + 10);

  v1::Aging aging;
  ASSERT_TRUE(IsOk(Aging("", kEast, std::nullopt, &aging, kManagerEastToken)));
  EXPECT_EQ(Buckets(aging.total()),
            (std::vector<int64_t>{0, 120'000, 0, 0, 0, 0, 120'000}));
  ASSERT_EQ(aging.accounts_size(), 2);
  EXPECT_EQ(aging.accounts(0).account_id(), kAccE1);
  EXPECT_EQ(aging.accounts(0).buckets().days_1_30().units_minor(), 100'000);
  EXPECT_EQ(aging.accounts(1).account_id(), kAccE2);
  EXPECT_EQ(aging.accounts(1).buckets().days_1_30().units_minor(), 20'000);

  ASSERT_TRUE(IsOk(Aging("", kGlobal, std::nullopt, &aging, kAdminToken)));
  EXPECT_EQ(Buckets(aging.total()),
            (std::vector<int64_t>{0, 150'000, 0, 0, 0, 0, 150'000}));
  EXPECT_EQ(aging.accounts_size(), 3);

  ASSERT_TRUE(IsOk(Aging("", kRepE1, std::nullopt, &aging, kRepE1Token)));
  EXPECT_EQ(aging.total().total().units_minor(), 100'000);
  ASSERT_TRUE(IsOk(Aging(kAccW1, "", std::nullopt, &aging, kRepW1Token)));
  EXPECT_EQ(aging.total().total().units_minor(), 30'000);

  // Outside the caller's scope.
  EXPECT_TRUE(IsError(Aging("", kWest, std::nullopt, &aging, kManagerEastToken),
                      Code::PERMISSION_DENIED));
  EXPECT_TRUE(
      IsError(Aging("", kGlobal, std::nullopt, &aging, kManagerWestToken),
              Code::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Aging(kAccE1, "", std::nullopt, &aging, kRepW1Token),
                      Code::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Aging("", kEast, std::nullopt, &aging, kRepW1Token),
                      Code::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Aging(kAccE1, kEast, std::nullopt, &aging),
                      Code::INVALID_ARGUMENT, "exactly one"));
  EXPECT_TRUE(IsError(Aging("", "", std::nullopt, &aging),
                      Code::INVALID_ARGUMENT, "exactly one"));
  EXPECT_TRUE(
      IsError(Aging("", "org_nope", std::nullopt, &aging), Code::NOT_FOUND));
}

// ---------------------------------------------------------------------------
// 7. DSO

TEST_F(CreditServiceTest, DsoWorkedExample) {
  SetToday(absl::CivilDay(2026, 2, 15));
  // Issued before January and still open at its end: 800.00 at the end, no
  // sale of January.
  Post(kAccE1, 80'000, absl::CivilDay(2025, 12, 15));
  // January's credit sales: 1,000.00 (paid on 01-25) and 2,000.00 (500.00
  // paid only on 02-10, so all of it is open at the end of January).
  const v1::Receivable r1 = Post(kAccE1, 100'000, absl::CivilDay(2026, 1, 5));
  const v1::Receivable r2 = Post(kAccE1, 200'000, absl::CivilDay(2026, 1, 20));
  // February: neither a January sale nor open at its end.
  Post(kAccE1, 50'000, absl::CivilDay(2026, 2, 3));
  ASSERT_TRUE(IsOk(
      Pay(kAccE1, 100'000, absl::CivilDay(2026, 1, 25), {{r1.id(), 100'000}})));
  ASSERT_TRUE(IsOk(
      Pay(kAccE1, 50'000, absl::CivilDay(2026, 2, 10), {{r2.id(), 50'000}})));

  // 2,800.00 / 3,000.00 × 31 days = 28.9333… days.
  v1::GetDsoRequest req;
  req.set_account_id(kAccE1);
  *req.mutable_from() = ToProto(absl::CivilDay(2026, 1, 1));
  *req.mutable_to() = ToProto(absl::CivilDay(2026, 1, 31));
  v1::Dso dso;
  ASSERT_TRUE(IsOk(Call(&Stub::GetDso, req, &dso)));
  EXPECT_EQ(dso.receivables_at_end().units_minor(), 280'000);
  EXPECT_EQ(dso.credit_sales().units_minor(), 300'000);
  EXPECT_EQ(dso.days(), 31);
  EXPECT_EQ(dso.dso_milli_days(), 28'933);

  // The east region adds acc_e2's 600.00 January sale, all open:
  // 3,400.00 / 3,600.00 × 31 = 29.2777… → 29.278 days.
  Post(kAccE2, 60'000, absl::CivilDay(2026, 1, 10));
  Post(kAccW1, 999'900, absl::CivilDay(2026, 1, 10));  // west: not counted
  req.set_account_id("");
  req.set_org_node_id(kEast);
  ASSERT_TRUE(IsOk(Call(&Stub::GetDso, req, &dso, kManagerEastToken)));
  EXPECT_EQ(dso.receivables_at_end().units_minor(), 340'000);
  EXPECT_EQ(dso.credit_sales().units_minor(), 360'000);
  EXPECT_EQ(dso.dso_milli_days(), 29'278);

  // No credit sales in the period: 0.
  req.set_org_node_id("");
  req.set_account_id(kAccE1);
  *req.mutable_from() = ToProto(absl::CivilDay(2025, 11, 1));
  *req.mutable_to() = ToProto(absl::CivilDay(2025, 11, 30));
  ASSERT_TRUE(IsOk(Call(&Stub::GetDso, req, &dso)));
  EXPECT_EQ(dso.credit_sales().units_minor(), 0);
  EXPECT_EQ(dso.days(), 30);
  EXPECT_EQ(dso.dso_milli_days(), 0);

  *req.mutable_to() = ToProto(absl::CivilDay(2025, 10, 31));
  EXPECT_TRUE(IsError(Call(&Stub::GetDso, req, &dso), Code::INVALID_ARGUMENT,
                      "to: must not be before from"));
  req.clear_from();
  EXPECT_TRUE(
      IsError(Call(&Stub::GetDso, req, &dso), Code::INVALID_ARGUMENT, "from"));
  *req.mutable_from() = ToProto(absl::CivilDay(2026, 1, 1));
  *req.mutable_to() = ToProto(absl::CivilDay(2026, 1, 31));
  EXPECT_TRUE(IsError(Call(&Stub::GetDso, req, &dso, kRepW1Token),
                      Code::PERMISSION_DENIED));
}

// ---------------------------------------------------------------------------
// 8. Promises to pay

TEST_F(CreditServiceTest,
       PromisesAreJudgedTheDayAfterPromisedDatePlusTolerance) {
  const absl::CivilDay monday(2026, 11, 30);
  const absl::CivilDay thursday(2026, 12, 3);
  const absl::CivilDay friday(2026, 12, 4);
  SetToday(monday);
  // Five receivables not due before January (no dunning in the way).
  std::vector<std::string> r;
  for (int i = 0; i < 5; ++i) {
    r.push_back(Post(kAccE1, 100'000, absl::CivilDay(2026, 11, 1),
                     absl::CivilDay(2027, 1, 15))
                    .id());
  }

  const v1::Promise broken = RecordPromise({r[0]}, 100'000, thursday);
  EXPECT_THAT(broken.id(), StartsWith("prm_"));
  EXPECT_EQ(broken.state(), v1::PROMISE_STATE_PENDING);
  EXPECT_EQ(Str(broken.made_date()), "2026-11-30");
  EXPECT_EQ(broken.account_id(), kAccE1);
  EXPECT_EQ(broken.recorded_by(), "finance");
  const v1::Promise kept = RecordPromise({r[1]}, 100'000, thursday, 0, "req-k");
  EXPECT_EQ(RecordPromise({r[1]}, 100'000, thursday, 0, "req-k").id(),
            kept.id());  // a retried create
  const v1::Promise partial = RecordPromise({r[2]}, 100'000, thursday);
  const v1::Promise late_ok = RecordPromise({r[3]}, 100'000, thursday, 2);
  const v1::Promise late_broken = RecordPromise({r[4]}, 50'000, thursday, 2);
  EXPECT_EQ(Promises(kAccE1).size(), 5u);

  SetToday(absl::CivilDay(2026, 12, 2));
  ASSERT_TRUE(IsOk(Pay(kAccE1, 100'000, Today(), {{r[1], 100'000}})));
  SetToday(thursday);
  ASSERT_TRUE(IsOk(Pay(kAccE1, 40'000, Today(), {{r[2], 40'000}})));
  // Thursday is the promised day: nothing is judged yet.
  EXPECT_EQ(Run().promises_judged(), 0);
  EXPECT_EQ(Promises(kAccE1, v1::PROMISE_STATE_PENDING).size(), 5u);

  // Friday: paid on Friday is too late for a Thursday promise.
  SetToday(friday);
  ASSERT_TRUE(IsOk(Pay(kAccE1, 100'000, Today(), {{r[0], 100'000}})));
  EXPECT_EQ(Run().promises_judged(), 3);
  std::map<std::string, v1::Promise> ps = Promises(kAccE1);
  EXPECT_EQ(ps[broken.id()].state(), v1::PROMISE_STATE_BROKEN);
  EXPECT_EQ(ps[broken.id()].paid().units_minor(), 0);
  EXPECT_EQ(Str(ps[broken.id()].judged_date()), "2026-12-04");
  EXPECT_EQ(ps[kept.id()].state(), v1::PROMISE_STATE_KEPT);
  EXPECT_EQ(ps[kept.id()].paid().units_minor(), 100'000);
  EXPECT_EQ(ps[kept.id()].escalation_task_id(), "");
  EXPECT_EQ(ps[partial.id()].state(), v1::PROMISE_STATE_PARTIALLY_KEPT);
  EXPECT_EQ(ps[partial.id()].paid().units_minor(), 40'000);
  EXPECT_EQ(ps[late_ok.id()].state(), v1::PROMISE_STATE_PENDING);
  EXPECT_EQ(ps[late_broken.id()].state(), v1::PROMISE_STATE_PENDING);

  // The broken promise: an escalation due the next business day, Monday.
  ASSERT_NE(ps[broken.id()].escalation_task_id(), "");
  std::vector<v1::CollectionTask> escalations;
  for (const v1::CollectionTask& t : Tasks(kAccE1)) {
    if (t.kind() == v1::COLLECTION_TASK_KIND_ESCALATION) {
      escalations.push_back(t);
    }
  }
  ASSERT_EQ(escalations.size(), 1u);
  EXPECT_EQ(escalations[0].id(), ps[broken.id()].escalation_task_id());
  EXPECT_EQ(Str(escalations[0].due_date()), "2026-12-07");
  EXPECT_EQ(escalations[0].promise_id(), broken.id());
  EXPECT_EQ(escalations[0].account_id(), kAccE1);
  // Running again the same day judges nothing twice.
  EXPECT_EQ(Run().promises_judged(), 0);
  EXPECT_EQ(TaskLines(kAccE1, v1::COLLECTION_TASK_KIND_ESCALATION).size(), 1u);

  // Tolerance 2: Saturday's payment still counts; judged on Sunday.
  SetToday(absl::CivilDay(2026, 12, 5));
  ASSERT_TRUE(IsOk(Pay(kAccE1, 100'000, Today(), {{r[3], 100'000}})));
  EXPECT_EQ(Run().promises_judged(), 0);
  SetToday(absl::CivilDay(2026, 12, 6));
  EXPECT_EQ(Run().promises_judged(), 2);
  ps = Promises(kAccE1);
  EXPECT_EQ(ps[late_ok.id()].state(), v1::PROMISE_STATE_KEPT);
  EXPECT_EQ(ps[late_ok.id()].paid().units_minor(), 100'000);
  EXPECT_EQ(Str(ps[late_ok.id()].judged_date()), "2026-12-06");
  EXPECT_EQ(ps[late_broken.id()].state(), v1::PROMISE_STATE_BROKEN);
  EXPECT_EQ(
      TaskLines(kAccE1, v1::COLLECTION_TASK_KIND_ESCALATION),
      (std::vector<std::string>{"COLLECTION_TASK_KIND_ESCALATION 2026-12-07 "
                                "DUNNING_STEP_UNSPECIFIED ",
                                "COLLECTION_TASK_KIND_ESCALATION 2026-12-07 "
                                "DUNNING_STEP_UNSPECIFIED "}));
  EXPECT_EQ(Promises(kAccE1, v1::PROMISE_STATE_BROKEN).size(), 2u);
  EXPECT_THAT(Promises(kAccE1, v1::PROMISE_STATE_PENDING), IsEmpty());
}

TEST_F(CreditServiceTest, RecordPromiseValidates) {
  SetToday(absl::CivilDay(2026, 11, 30));
  const v1::Receivable a = Post(kAccE1, 100'000, absl::CivilDay(2026, 11, 1));
  const v1::Receivable b = Post(kAccE2, 100'000, absl::CivilDay(2026, 11, 1));
  v1::RecordPromiseRequest req;
  req.add_receivable_ids(a.id());
  *req.mutable_amount() = Eur(100'001);
  *req.mutable_promised_date() = ToProto(absl::CivilDay(2026, 12, 3));
  v1::Promise out;
  // More than is owed on the named receivables.
  EXPECT_TRUE(IsError(Call(&Stub::RecordPromise, req, &out),
                      Code::FAILED_PRECONDITION,
                      "amount: 1000.01 is more than the 1000.00 still owed"));
  *req.mutable_amount() = Eur(100'000);
  *req.mutable_promised_date() = ToProto(absl::CivilDay(2026, 11, 29));
  req.set_tolerance_days(31);
  grpc::Status s = Call(&Stub::RecordPromise, req, &out);
  ASSERT_TRUE(IsError(s, Code::INVALID_ARGUMENT,
                      "promised_date: must not be before today (2026-11-30)"));
  EXPECT_THAT(s.error_message(), HasSubstr("tolerance_days: must be 0..30"));
  *req.mutable_promised_date() = ToProto(absl::CivilDay(2026, 12, 3));
  req.set_tolerance_days(0);
  req.add_receivable_ids(b.id());
  EXPECT_TRUE(IsError(Call(&Stub::RecordPromise, req, &out),
                      Code::INVALID_ARGUMENT, "one account"));
  req.clear_receivable_ids();
  EXPECT_TRUE(IsError(Call(&Stub::RecordPromise, req, &out),
                      Code::INVALID_ARGUMENT, "receivable_ids"));
  req.add_receivable_ids("rcv_nope");
  EXPECT_TRUE(IsError(Call(&Stub::RecordPromise, req, &out),
                      Code::INVALID_ARGUMENT, "does not exist"));
  req.clear_receivable_ids();
  req.add_receivable_ids(a.id());
  EXPECT_TRUE(IsError(Call(&Stub::RecordPromise, req, &out, kRepE1Token),
                      Code::PERMISSION_DENIED));
  ASSERT_TRUE(IsOk(Pay(kAccE1, 100'000, Today())));
  EXPECT_TRUE(IsError(Call(&Stub::RecordPromise, req, &out),
                      Code::FAILED_PRECONDITION, "owes nothing"));
  EXPECT_THAT(Promises(kAccE1), IsEmpty());
}

// ---------------------------------------------------------------------------
// 9. Collection contacts and excuse codes

TEST_F(CreditServiceTest, EveryExcuseCodeSchedulesItsFollowUp) {
  const absl::CivilDay thursday(2026, 12, 3);
  SetToday(thursday);
  std::map<v1::ExcuseCode, v1::CollectionContact> contacts;
  for (int i = 1; i <= 14; ++i) {
    const auto code = static_cast<v1::ExcuseCode>(i);
    v1::CollectionContact c;
    ASSERT_TRUE(IsOk(Contact(kAccW1, code, &c, {}, "called AP")))
        << v1::ExcuseCode_Name(code);
    EXPECT_THAT(c.id(), StartsWith("col_"));
    EXPECT_EQ(c.excuse_code(), code);
    EXPECT_EQ(c.account_id(), kAccW1);
    EXPECT_EQ(c.notes(), "called AP");
    EXPECT_EQ(c.recorded_by(), "finance");
    const ExcuseRule* rule = RuleFor(code);
    ASSERT_NE(rule, nullptr);
    EXPECT_FALSE(c.recommended_response().empty());
    EXPECT_EQ(c.recommended_response(), rule->recommended_response);
    EXPECT_NE(c.follow_up_task_id(), "");
    contacts[code] = c;
  }
  const std::vector<v1::CollectionTask> tasks = Tasks(kAccW1);
  ASSERT_EQ(tasks.size(), 14u);
  std::map<std::string, v1::CollectionTask> by_id;
  for (const v1::CollectionTask& t : tasks) {
    by_id[t.id()] = t;
  }
  for (const auto& [code, c] : contacts) {
    SCOPED_TRACE(v1::ExcuseCode_Name(code));
    ASSERT_EQ(by_id.count(c.follow_up_task_id()), 1u);
    const v1::CollectionTask& t = by_id[c.follow_up_task_id()];
    const ExcuseRule* rule = RuleFor(code);
    EXPECT_EQ(t.kind(), v1::COLLECTION_TASK_KIND_FOLLOW_UP);
    EXPECT_EQ(Str(t.due_date()),
              Str(AddBusinessDays(thursday, rule->follow_up_business_days)));
    EXPECT_TRUE(IsBusinessDay(Civ(t.due_date())));
    EXPECT_EQ(t.text(), rule->follow_up);
    EXPECT_EQ(t.contact_record_id(), c.id());
    EXPECT_EQ(t.excuse_code(), code);
    EXPECT_FALSE(t.done());
  }
  // ALREADY_PAID: verify within 2 business days (Thursday → Monday);
  // EXTENSION_CLAIMED: verify with our manager the next business day.
  EXPECT_EQ(
      Str(by_id[contacts[v1::EXCUSE_CODE_ALREADY_PAID].follow_up_task_id()]
              .due_date()),
      "2026-12-07");
  EXPECT_THAT(contacts[v1::EXCUSE_CODE_ALREADY_PAID].recommended_response(),
              HasSubstr("remittance"));
  EXPECT_EQ(
      Str(by_id[contacts[v1::EXCUSE_CODE_EXTENSION_CLAIMED].follow_up_task_id()]
              .due_date()),
      "2026-12-04");
  EXPECT_THAT(
      by_id[contacts[v1::EXCUSE_CODE_EXTENSION_CLAIMED].follow_up_task_id()]
          .text(),
      HasSubstr("manager"));
  // Ordered by due date, then id.
  for (size_t i = 1; i < tasks.size(); ++i) {
    EXPECT_LE(Str(tasks[i - 1].due_date()), Str(tasks[i].due_date()));
  }

  // Completing a task.
  const std::string already_paid =
      contacts[v1::EXCUSE_CODE_ALREADY_PAID].follow_up_task_id();
  v1::CompleteCollectionTaskRequest done;
  done.set_id(already_paid);
  done.set_expected_version(7);
  v1::CollectionTask t;
  EXPECT_TRUE(
      IsError(Call(&Stub::CompleteCollectionTask, done, &t), Code::ABORTED));
  EXPECT_TRUE(
      IsError(Call(&Stub::CompleteCollectionTask, done, &t, kRepW1Token),
              Code::PERMISSION_DENIED));
  done.set_expected_version(1);
  ASSERT_TRUE(IsOk(Call(&Stub::CompleteCollectionTask, done, &t)));
  EXPECT_TRUE(t.done());
  EXPECT_EQ(t.done_by(), "finance");
  EXPECT_EQ(t.version(), 2);
  done.set_expected_version(0);
  EXPECT_TRUE(IsError(Call(&Stub::CompleteCollectionTask, done, &t),
                      Code::FAILED_PRECONDITION, "already done"));
  EXPECT_EQ(Tasks(kAccW1, false).size(), 13u);
  EXPECT_EQ(Tasks(kAccW1, true).size(), 14u);
}

TEST_F(CreditServiceTest, QualityIssueDisputesOpenReceivables) {
  SetToday(absl::CivilDay(2026, 12, 3));
  const v1::Receivable paid = Post(kAccE1, 30'000, absl::CivilDay(2026, 11, 1),
                                   absl::CivilDay(2026, 11, 15));
  const v1::Receivable r1 = Post(kAccE1, 100'000, absl::CivilDay(2026, 11, 1),
                                 absl::CivilDay(2026, 11, 20));
  const v1::Receivable r2 = Post(kAccE1, 200'000, absl::CivilDay(2026, 11, 10),
                                 absl::CivilDay(2026, 12, 10));
  ASSERT_TRUE(IsOk(Pay(kAccE1, 30'000, Today())));
  ASSERT_EQ(GetReceivable(paid.id()).state(), v1::RECEIVABLE_STATE_PAID);

  v1::CollectionContact c;
  ASSERT_TRUE(IsOk(Contact(kAccE1, v1::EXCUSE_CODE_QUALITY_ISSUE, &c, {},
                           "pump housing cracked")));
  EXPECT_THAT(c.disputed_receivable_ids(),
              UnorderedElementsAre(r1.id(), r2.id()));
  for (const v1::Receivable& r : {r1, r2}) {
    const v1::Receivable got = GetReceivable(r.id());
    EXPECT_EQ(got.state(), v1::RECEIVABLE_STATE_DISPUTED) << r.id();
    EXPECT_THAT(got.dispute_reason(), HasSubstr("pump housing cracked"));
  }
  EXPECT_EQ(GetReceivable(paid.id()).state(), v1::RECEIVABLE_STATE_PAID);
  const std::vector<v1::CollectionTask> tasks = Tasks(kAccE1);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].id(), c.follow_up_task_id());
  EXPECT_EQ(Str(tasks[0].due_date()), "2026-12-08");  // 3 business days

  // Default allocation skips disputed receivables, however old.
  const v1::Receivable r3 = Post(kAccE1, 50'000, absl::CivilDay(2026, 12, 1),
                                 absl::CivilDay(2026, 12, 31));
  v1::Payment p;
  ASSERT_TRUE(IsOk(Pay(kAccE1, 20'000, Today(), {}, "", &p)));
  ASSERT_EQ(p.allocations_size(), 1);
  EXPECT_EQ(p.allocations(0).receivable_id(), r3.id());
  EXPECT_TRUE(IsError(Pay(kAccE1, 30'001, Today()), Code::FAILED_PRECONDITION,
                      "undisputed"));
  // Disputes also pause dunning: only r3 could be dunned (none due yet).
  EXPECT_EQ(Run().dunning_tasks(), 0);

  // Named receivables: only those are disputed.
  const v1::Receivable e1 = Post(kAccE2, 10'000, absl::CivilDay(2026, 11, 1));
  const v1::Receivable e2 = Post(kAccE2, 10'000, absl::CivilDay(2026, 11, 1));
  ASSERT_TRUE(
      IsOk(Contact(kAccE2, v1::EXCUSE_CODE_QUALITY_ISSUE, &c, {e1.id()}, "")));
  EXPECT_THAT(c.disputed_receivable_ids(), ElementsAre(e1.id()));
  EXPECT_EQ(GetReceivable(e1.id()).state(), v1::RECEIVABLE_STATE_DISPUTED);
  EXPECT_EQ(GetReceivable(e2.id()).state(), v1::RECEIVABLE_STATE_OPEN);
  EXPECT_TRUE(IsError(
      Contact(kAccE1, v1::EXCUSE_CODE_QUALITY_ISSUE, &c, {paid.id()}, ""),
      Code::FAILED_PRECONDITION, "not open: it cannot be disputed"));
}

TEST_F(CreditServiceTest, RecordCollectionContactValidatesAndReplays) {
  v1::CollectionContact c;
  EXPECT_TRUE(IsError(Contact(kAccE1, v1::EXCUSE_CODE_UNSPECIFIED, &c),
                      Code::INVALID_ARGUMENT, "excuse_code: required"));
  EXPECT_TRUE(IsError(Contact(kAccE1, static_cast<v1::ExcuseCode>(99), &c),
                      Code::INVALID_ARGUMENT, "excuse_code"));
  EXPECT_TRUE(IsError(Contact(kAccE1, v1::EXCUSE_CODE_NO_MONEY, &c, {"rcv_x"}),
                      Code::INVALID_ARGUMENT,
                      "receivable_ids: only for QUALITY_ISSUE"));
  EXPECT_TRUE(IsError(
      Contact(kAccE1, v1::EXCUSE_CODE_NO_MONEY, &c, {}, std::string(2001, 'n')),
      Code::INVALID_ARGUMENT, "notes: at most 2000"));
  EXPECT_TRUE(IsError(Contact("acc_nope", v1::EXCUSE_CODE_NO_MONEY, &c),
                      Code::INVALID_ARGUMENT,
                      "account acc_nope does not exist"));
  EXPECT_TRUE(IsError(
      Contact(kAccE1, v1::EXCUSE_CODE_NO_MONEY, &c, {}, "", "", kRepE1Token),
      Code::PERMISSION_DENIED));
  EXPECT_THAT(Tasks(kAccE1), IsEmpty());

  v1::CollectionContact first;
  ASSERT_TRUE(
      IsOk(Contact(kAccE1, v1::EXCUSE_CODE_WILL_PAY, &first, {}, "", "req-1")));
  v1::CollectionContact again;
  ASSERT_TRUE(
      IsOk(Contact(kAccE1, v1::EXCUSE_CODE_WILL_PAY, &again, {}, "", "req-1")));
  EXPECT_TRUE(MessageDifferencer::Equals(first, again));
  EXPECT_EQ(Tasks(kAccE1).size(), 1u);
}

// ---------------------------------------------------------------------------
// 10. Dunning

TEST_F(CreditServiceTest, DunningStepsComeOnTheirDaysAndTheHoldBlocks) {
  const absl::CivilDay due(2026, 3, 2);
  SetToday(due - 30);
  SetProfile(kAccE1, 10'000'000, 30, v1::RISK_CLASS_MEDIUM);
  const v1::Receivable r = Post(kAccE1, 100'000, due - 30, due);
  const v1::Receivable s = Post(kAccE2, 50'000, due - 30, due);

  // The daily run is for finance and admin.
  v1::RunCollectionsResponse refused;
  for (const char* token : {kRepE1Token, kManagerEastToken, kServiceToken}) {
    EXPECT_TRUE(IsError(Call(&Stub::RunCollections, v1::RunCollectionsRequest(),
                             &refused, token),
                        Code::PERMISSION_DENIED))
        << token;
  }

  std::map<int, int> tasks_on;  // offset from due → dunning tasks issued
  std::map<int, int> holds_on;
  for (int offset = -5; offset <= 61; ++offset) {
    SetToday(due + offset);
    if (offset == 10) {  // s is paid after its first reminder
      ASSERT_TRUE(IsOk(Pay(kAccE2, 50'000, Today())));
    }
    const v1::RunCollectionsResponse resp = Run();
    EXPECT_EQ(Str(resp.today()), Str(due + offset));
    if (resp.dunning_tasks() != 0) {
      tasks_on[offset] = resp.dunning_tasks();
    }
    if (resp.holds_placed() != 0) {
      holds_on[offset] = resp.holds_placed();
    }
  }
  EXPECT_EQ(tasks_on,
            (std::map<int, int>{{-3, 2}, {1, 2}, {15, 1}, {30, 1}, {60, 1}}));
  EXPECT_EQ(holds_on, (std::map<int, int>{{60, 1}}));

  const std::string rid = r.id();
  EXPECT_EQ(
      TaskLines(kAccE1, v1::COLLECTION_TASK_KIND_DUNNING),
      (std::vector<std::string>{
          "COLLECTION_TASK_KIND_DUNNING 2026-02-27 "
          "DUNNING_STEP_COURTESY_REMINDER " +
              rid,
          "COLLECTION_TASK_KIND_DUNNING 2026-03-03 "
          "DUNNING_STEP_FIRST_REMINDER " +
              rid,
          "COLLECTION_TASK_KIND_DUNNING 2026-03-17 "
          "DUNNING_STEP_SECOND_REMINDER " +
              rid,
          "COLLECTION_TASK_KIND_DUNNING 2026-04-01 DUNNING_STEP_FINAL_NOTICE " +
              rid,
          "COLLECTION_TASK_KIND_DUNNING 2026-05-01 DUNNING_STEP_CREDIT_HOLD " +
              rid}));
  // The hold step escalates too, the next business day (Friday → Monday).
  EXPECT_EQ(TaskLines(kAccE1, v1::COLLECTION_TASK_KIND_ESCALATION),
            (std::vector<std::string>{"COLLECTION_TASK_KIND_ESCALATION "
                                      "2026-05-04 DUNNING_STEP_CREDIT_HOLD " +
                                      rid}));
  // The paid receivable got its two steps and no more.
  EXPECT_EQ(TaskLines(kAccE2, v1::COLLECTION_TASK_KIND_DUNNING),
            (std::vector<std::string>{"COLLECTION_TASK_KIND_DUNNING 2026-02-27 "
                                      "DUNNING_STEP_COURTESY_REMINDER " +
                                          s.id(),
                                      "COLLECTION_TASK_KIND_DUNNING 2026-03-03 "
                                      "DUNNING_STEP_FIRST_REMINDER " +
                                          s.id()}));
  EXPECT_EQ(GetReceivable(rid).dunning_step(), v1::DUNNING_STEP_CREDIT_HOLD);
  EXPECT_EQ(GetReceivable(s.id()).dunning_step(),
            v1::DUNNING_STEP_FIRST_REMINDER);

  v1::CreditProfile profile;
  ASSERT_TRUE(IsOk(GetProfile(kAccE1, &profile)));
  EXPECT_TRUE(profile.hold());
  EXPECT_THAT(profile.hold_reason(), HasSubstr(rid));
  EXPECT_EQ(profile.credit_limit().units_minor(), 10'000'000);
  EXPECT_EQ(profile.version(), 2);

  const v1::CreditCheck check = Check(kAccE1, 1);
  EXPECT_EQ(check.decision(), v1::CREDIT_DECISION_BLOCK);
  EXPECT_THAT(check.reasons(), ::testing::Contains(absl::StrCat(
                                   "account on credit hold: dunning: ", rid,
                                   " reached the credit hold step")));

  // Nothing more once the last step is issued.
  SetToday(due + 90);
  const v1::RunCollectionsResponse later = Run();
  EXPECT_EQ(later.dunning_tasks(), 0);
  EXPECT_EQ(later.holds_placed(), 0);
}

TEST_F(CreditServiceTest, CustomDunningStrategyMovesTheDays) {
  v1::DunningStrategy def;
  ASSERT_TRUE(IsOk(Call(&Stub::GetDunningStrategy,
                        v1::GetDunningStrategyRequest(), &def, kRepE1Token)));
  EXPECT_EQ(def.courtesy_reminder_days(), -3);
  EXPECT_EQ(def.first_reminder_days(), 1);
  EXPECT_EQ(def.second_reminder_days(), 15);
  EXPECT_EQ(def.final_notice_days(), 30);
  EXPECT_EQ(def.credit_hold_days(), 60);

  v1::DunningStrategy req;
  req.set_courtesy_reminder_days(-3);
  req.set_first_reminder_days(-5);
  req.set_second_reminder_days(5);
  req.set_final_notice_days(9);
  req.set_credit_hold_days(12);
  v1::DunningStrategy out;
  EXPECT_TRUE(IsError(Call(&Stub::SetDunningStrategy, req, &out),
                      Code::INVALID_ARGUMENT,
                      "first_reminder_days: must be after "
                      "courtesy_reminder_days (-3), got -5"));
  req.set_courtesy_reminder_days(-1);
  req.set_first_reminder_days(2);
  req.set_expected_version(4);
  EXPECT_TRUE(
      IsError(Call(&Stub::SetDunningStrategy, req, &out), Code::ABORTED));
  req.set_expected_version(0);
  EXPECT_TRUE(IsError(Call(&Stub::SetDunningStrategy, req, &out, kRepE1Token),
                      Code::PERMISSION_DENIED));
  ASSERT_TRUE(IsOk(Call(&Stub::SetDunningStrategy, req, &out)));
  EXPECT_EQ(out.version(), 1);
  EXPECT_EQ(out.expected_version(), 0);
  v1::DunningStrategy got;
  ASSERT_TRUE(IsOk(
      Call(&Stub::GetDunningStrategy, v1::GetDunningStrategyRequest(), &got)));
  EXPECT_TRUE(MessageDifferencer::Equals(got, out)) << got.DebugString();

  // −1, +2, +5, +9, +12 around a due date D; acc_e2 has no profile, so the
  // hold step creates one on hold.
  const absl::CivilDay due(2026, 3, 2);
  SetToday(due - 5);
  const v1::Receivable r = Post(kAccE2, 100'000, due - 30, due);
  // Posted when its first two steps are already past: one task (the latest
  // step due), not a burst.
  const v1::Receivable late = Post(kAccW1, 100'000, due - 37, due - 7);
  std::map<int, int> tasks_on;
  for (int offset = -5; offset <= 14; ++offset) {
    SetToday(due + offset);
    const int n = Run().dunning_tasks();
    if (n != 0) {
      tasks_on[offset] = n;
    }
  }
  // r: −1, +2, +5, +9, +12; late (due −7): first reminder on −5, second on
  // −2, final on +2, hold on +5.
  EXPECT_EQ(tasks_on,
            (std::map<int, int>{
                {-5, 1}, {-2, 1}, {-1, 1}, {2, 2}, {5, 2}, {9, 1}, {12, 1}}));
  std::vector<std::string> days;
  for (const v1::CollectionTask& t : Tasks(kAccE2)) {
    if (t.kind() == v1::COLLECTION_TASK_KIND_DUNNING) {
      days.push_back(absl::StrCat(Str(t.due_date()), " ",
                                  v1::DunningStep_Name(t.dunning_step())));
    }
  }
  EXPECT_THAT(days, ElementsAre("2026-03-01 DUNNING_STEP_COURTESY_REMINDER",
                                "2026-03-04 DUNNING_STEP_FIRST_REMINDER",
                                "2026-03-07 DUNNING_STEP_SECOND_REMINDER",
                                "2026-03-11 DUNNING_STEP_FINAL_NOTICE",
                                "2026-03-14 DUNNING_STEP_CREDIT_HOLD"));
  EXPECT_EQ(TaskLines(kAccW1, v1::COLLECTION_TASK_KIND_DUNNING).front(),
            "COLLECTION_TASK_KIND_DUNNING 2026-02-25 "
            "DUNNING_STEP_FIRST_REMINDER " +
                late.id());
  v1::CreditProfile profile;
  ASSERT_TRUE(IsOk(GetProfile(kAccE2, &profile)));
  EXPECT_TRUE(profile.hold());
  EXPECT_THAT(profile.hold_reason(), HasSubstr(r.id()));
  EXPECT_EQ(Check(kAccE2, 1).decision(), v1::CREDIT_DECISION_BLOCK);
}

// ---------------------------------------------------------------------------
// 11. Debtor classes

TEST_F(CreditServiceTest, DebtorClassFollowsPaymentBehaviourAsOf) {
  SetToday(absl::CivilDay(2026, 9, 1));
  const v1::Receivable on_time = Post(
      kAccE1, 10'000, absl::CivilDay(2026, 2, 1), absl::CivilDay(2026, 3, 1));
  const v1::Receivable reminded = Post(
      kAccE1, 10'000, absl::CivilDay(2026, 3, 1), absl::CivilDay(2026, 4, 1));
  const v1::Receivable pressed = Post(
      kAccE1, 10'000, absl::CivilDay(2026, 4, 1), absl::CivilDay(2026, 5, 1));
  const v1::Receivable lost = Post(kAccE1, 10'000, absl::CivilDay(2026, 5, 1),
                                   absl::CivilDay(2026, 6, 1));
  ASSERT_TRUE(IsOk(Pay(kAccE1, 10'000, absl::CivilDay(2026, 3, 1),
                       {{on_time.id(), 10'000}})));
  ASSERT_TRUE(IsOk(Pay(kAccE1, 10'000, absl::CivilDay(2026, 4, 3),
                       {{reminded.id(), 10'000}})));
  // Its final notice day is 05-31.
  ASSERT_TRUE(IsOk(Pay(kAccE1, 10'000, absl::CivilDay(2026, 6, 5),
                       {{pressed.id(), 10'000}})));
  v1::WriteOffRequest w;
  w.set_receivable_id(lost.id());
  w.set_reason("customer insolvent");
  *w.mutable_date() = ToProto(absl::CivilDay(2026, 8, 1));
  v1::Receivable written;
  ASSERT_TRUE(IsOk(Call(&Stub::WriteOff, w, &written)));

  EXPECT_EQ(DebtorClass(kAccE1, absl::CivilDay(2026, 2, 15)).debtor_class(),
            v1::DEBTOR_CLASS_NO_HISTORY);
  EXPECT_EQ(DebtorClass(kAccE1, absl::CivilDay(2026, 3, 15)).debtor_class(),
            v1::DEBTOR_CLASS_PAYS_ON_TIME);
  const v1::DebtorClassAnswer when_reminded =
      DebtorClass(kAccE1, absl::CivilDay(2026, 4, 15));
  EXPECT_EQ(when_reminded.debtor_class(), v1::DEBTOR_CLASS_PAYS_WHEN_REMINDED);
  EXPECT_THAT(when_reminded.reason(), HasSubstr(reminded.id()));
  const v1::DebtorClassAnswer when_pressed =
      DebtorClass(kAccE1, absl::CivilDay(2026, 6, 10));
  EXPECT_EQ(when_pressed.debtor_class(), v1::DEBTOR_CLASS_PAYS_WHEN_PRESSED);
  EXPECT_THAT(when_pressed.reason(), HasSubstr(pressed.id()));
  EXPECT_EQ(DebtorClass(kAccE1, absl::CivilDay(2026, 7, 31)).debtor_class(),
            v1::DEBTOR_CLASS_PAYS_WHEN_PRESSED);
  const v1::DebtorClassAnswer non_payer =
      DebtorClass(kAccE1, absl::CivilDay(2026, 8, 1));
  EXPECT_EQ(non_payer.debtor_class(), v1::DEBTOR_CLASS_NON_PAYER);
  EXPECT_THAT(non_payer.reason(), HasSubstr(lost.id()));
  EXPECT_THAT(non_payer.reason(), HasSubstr("written off"));
  EXPECT_EQ(non_payer.account_id(), kAccE1);

  // More than 180 days past due makes a non-payer too.
  Post(kAccE2, 10'000, absl::CivilDay(2025, 12, 1), absl::CivilDay(2026, 1, 1));
  EXPECT_EQ(DebtorClass(kAccE2, absl::CivilDay(2026, 6, 30)).debtor_class(),
            v1::DEBTOR_CLASS_PAYS_WHEN_PRESSED);  // 180 days
  EXPECT_EQ(DebtorClass(kAccE2, absl::CivilDay(2026, 7, 1)).debtor_class(),
            v1::DEBTOR_CLASS_NON_PAYER);  // 181 days
  SetProfile(kAccE2, 10'000'000, 30, v1::RISK_CLASS_LOW);
  EXPECT_THAT(Check(kAccE2, 1).reasons(),
              ::testing::Contains("debtor class NON_PAYER"));

  v1::GetDebtorClassRequest req;
  req.set_account_id(kAccE1);
  v1::DebtorClassAnswer out;
  EXPECT_TRUE(IsError(Call(&Stub::GetDebtorClass, req, &out, kRepW1Token),
                      Code::PERMISSION_DENIED));
  ASSERT_TRUE(IsOk(Call(&Stub::GetDebtorClass, req, &out, kRepE1Token)));
  EXPECT_EQ(out.debtor_class(), v1::DEBTOR_CLASS_NON_PAYER);  // as of today
}

// ---------------------------------------------------------------------------
// 12. Worklist

TEST_F(CreditServiceTest, WorklistOrdersByOpenTimesDaysOverdueTimesRisk) {
  const absl::CivilDay today(2026, 3, 31);
  SetToday(today);
  SetProfile(kAccE1, 100'000'000, 30, v1::RISK_CLASS_LOW);
  SetProfile(kAccW1, 100'000'000, 30, v1::RISK_CLASS_HIGH);
  // 10,000.00 × 10 days × 1 = 10,000,000.
  const v1::Receivable big = Post(kAccE1, 1'000'000, absl::CivilDay(2026, 2, 1),
                                  absl::CivilDay(2026, 3, 21));
  Post(kAccE1, 500'000, absl::CivilDay(2026, 3, 1),
       absl::CivilDay(2026, 4, 15));  // not due: not listed
  // 4,000.00 × 10 days × 3 (HIGH) = 12,000,000: the smaller one comes first.
  const v1::Receivable small = Post(kAccW1, 400'000, absl::CivilDay(2026, 2, 1),
                                    absl::CivilDay(2026, 3, 21));
  // No profile weighs as MEDIUM: 1,000.00 × 20 × 2 = 4,000,000.
  const v1::Receivable e2 = Post(kAccE2, 100'000, absl::CivilDay(2026, 2, 1),
                                 absl::CivilDay(2026, 3, 11));
  // Disputed and paid ones are not worked.
  const v1::Receivable disputed = Post(
      kAccE2, 900'000, absl::CivilDay(2026, 1, 1), absl::CivilDay(2026, 3, 1));
  v1::SetDisputeRequest dispute;
  dispute.set_receivable_id(disputed.id());
  dispute.set_disputed(true);
  dispute.set_reason("wrong quantity");
  v1::Receivable ignored;
  ASSERT_TRUE(IsOk(Call(&Stub::SetDispute, dispute, &ignored)));
  const v1::Receivable paid = Post(kAccW1, 900'000, absl::CivilDay(2026, 1, 1),
                                   absl::CivilDay(2026, 3, 1));
  ASSERT_TRUE(IsOk(Pay(kAccW1, 900'000, today, {{paid.id(), 900'000}})));

  // The account's context: its promises and open tasks.
  const v1::Promise promise =
      RecordPromise({small.id()}, 100'000, absl::CivilDay(2026, 4, 2));
  v1::CollectionContact contact;
  ASSERT_TRUE(IsOk(Contact(kAccW1, v1::EXCUSE_CODE_NO_MONEY, &contact)));

  v1::Worklist w;
  ASSERT_TRUE(IsOk(Worklist(kGlobal, today, &w)));
  EXPECT_EQ(Str(w.as_of()), "2026-03-31");
  ASSERT_EQ(w.items_size(), 3);
  EXPECT_EQ(w.items(0).receivable().id(), small.id());
  EXPECT_EQ(w.items(0).account_id(), kAccW1);
  EXPECT_EQ(w.items(0).priority(), 12'000'000);
  EXPECT_EQ(w.items(0).days_overdue(), 10);
  EXPECT_EQ(w.items(0).risk_class(), v1::RISK_CLASS_HIGH);
  EXPECT_EQ(w.items(0).next_dunning_step(), v1::DUNNING_STEP_COURTESY_REMINDER);
  EXPECT_EQ(Str(w.items(0).next_dunning_date()), "2026-03-18");
  ASSERT_EQ(w.items(0).promises_size(), 1);
  EXPECT_EQ(w.items(0).promises(0).id(), promise.id());
  ASSERT_EQ(w.items(0).open_tasks_size(), 1);
  EXPECT_EQ(w.items(0).open_tasks(0).id(), contact.follow_up_task_id());
  EXPECT_EQ(w.items(1).receivable().id(), big.id());
  EXPECT_EQ(w.items(1).priority(), 10'000'000);
  EXPECT_EQ(w.items(1).risk_class(), v1::RISK_CLASS_LOW);
  EXPECT_THAT(w.items(1).promises(), IsEmpty());
  EXPECT_THAT(w.items(1).open_tasks(), IsEmpty());
  EXPECT_EQ(w.items(2).receivable().id(), e2.id());
  EXPECT_EQ(w.items(2).priority(), 4'000'000);
  EXPECT_EQ(w.items(2).days_overdue(), 20);
  EXPECT_EQ(w.items(2).risk_class(), v1::RISK_CLASS_UNSPECIFIED);
  EXPECT_EQ(w.page().next_page_token(), "");

  // Paging.
  v1::Worklist page1;
  ASSERT_TRUE(IsOk(Worklist(kGlobal, today, &page1, kFinanceToken, 2)));
  ASSERT_EQ(page1.items_size(), 2);
  EXPECT_EQ(page1.items(0).receivable().id(), small.id());
  EXPECT_EQ(page1.items(1).receivable().id(), big.id());
  ASSERT_NE(page1.page().next_page_token(), "");
  v1::Worklist page2;
  ASSERT_TRUE(IsOk(Worklist(kGlobal, today, &page2, kFinanceToken, 2,
                            page1.page().next_page_token())));
  ASSERT_EQ(page2.items_size(), 1);
  EXPECT_EQ(page2.items(0).receivable().id(), e2.id());
  EXPECT_EQ(page2.page().next_page_token(), "");

  // Scope: the caller's own node by default.
  ASSERT_TRUE(IsOk(Worklist("", today, &w, kManagerEastToken)));
  ASSERT_EQ(w.items_size(), 2);
  EXPECT_EQ(w.items(0).receivable().id(), big.id());
  EXPECT_EQ(w.items(1).receivable().id(), e2.id());
  ASSERT_TRUE(IsOk(Worklist("", today, &w, kRepW1Token)));
  ASSERT_EQ(w.items_size(), 1);
  EXPECT_EQ(w.items(0).receivable().id(), small.id());
  EXPECT_TRUE(IsError(Worklist(kEast, today, &w, kRepW1Token),
                      Code::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Worklist(kWest, today, &w, kManagerEastToken),
                      Code::PERMISSION_DENIED));

  // as_of: on 03-15 only e2 is overdue (4 days): 1,000.00 × 4 × 2.
  ASSERT_TRUE(IsOk(Worklist(kGlobal, absl::CivilDay(2026, 3, 15), &w)));
  ASSERT_EQ(w.items_size(), 1);
  EXPECT_EQ(w.items(0).receivable().id(), e2.id());
  EXPECT_EQ(w.items(0).priority(), 800'000);

  // Tasks of a subtree, for the managers of that subtree only.
  v1::ListCollectionTasksRequest tasks_req;
  tasks_req.set_org_node_id(kWest);
  v1::ListCollectionTasksResponse tasks;
  ASSERT_TRUE(IsOk(
      Call(&Stub::ListCollectionTasks, tasks_req, &tasks, kManagerWestToken)));
  ASSERT_EQ(tasks.tasks_size(), 1);
  EXPECT_EQ(tasks.tasks(0).id(), contact.follow_up_task_id());
  EXPECT_TRUE(IsError(
      Call(&Stub::ListCollectionTasks, tasks_req, &tasks, kManagerEastToken),
      Code::PERMISSION_DENIED));

  // At most the five newest promises, newest first.
  std::vector<std::string> promise_ids = {promise.id()};
  for (int i = 0; i < 5; ++i) {
    promise_ids.push_back(
        RecordPromise({small.id()}, 1'000 + i, absl::CivilDay(2026, 4, 2))
            .id());
  }
  ASSERT_TRUE(IsOk(Worklist(kWest, today, &w)));
  ASSERT_EQ(w.items_size(), 1);
  std::vector<std::string> listed;
  for (const v1::Promise& p : w.items(0).promises()) {
    listed.push_back(p.id());
  }
  EXPECT_THAT(listed,
              ElementsAre(promise_ids[5], promise_ids[4], promise_ids[3],
                          promise_ids[2], promise_ids[1]));

  // A completed task is no longer open.
  v1::CompleteCollectionTaskRequest done;
  done.set_id(contact.follow_up_task_id());
  v1::CollectionTask t;
  ASSERT_TRUE(IsOk(Call(&Stub::CompleteCollectionTask, done, &t)));
  ASSERT_TRUE(IsOk(Worklist(kWest, today, &w)));
  ASSERT_EQ(w.items_size(), 1);
  EXPECT_THAT(w.items(0).open_tasks(), IsEmpty());
}

// Issue 16, finding 2: the edge refuses |amount| > 10^15, but sums of
// accepted amounts pass int64. Only the queries whose figure does not fit
// answer OUT_OF_RANGE, naming it; the service starts on such data.
TEST_F(CreditServiceTest, SumsPastInt64FailOnlyTheQueriesThatSumThem) {
  constexpr int64_t kMaxAmount = 1'000'000'000'000'000;  // 10^15
  const absl::Time now = clock_.Now();
  const absl::CivilDay today = Today();
  // 9,300 receivables of 10^15 for e1 (9.3 × 10^18 owed), 5,000 for e2,
  // written as PostReceivable would (faster than 14,300 calls).
  CreditStore db(store_.get());
  int n = 0;
  for (const auto& [account, count] : std::vector<std::pair<std::string, int>>{
           {kAccE1, 9300}, {kAccE2, 5000}}) {
    for (int done = 0; done < count; done += 1000) {
      ASSERT_TRUE(store_
                      ->Write(SystemActor("test"),
                              [&](WriteTxn& txn) -> absl::Status {
                                for (int i = done;
                                     i < std::min(count, done + 1000); ++i) {
                                  v1::Receivable r;
                                  r.set_id(
                                      absl::StrFormat("rcv_big_%06d", ++n));
                                  r.set_account_id(account);
                                  *r.mutable_amount() = Eur(kMaxAmount);
                                  *r.mutable_paid() = Eur(0);
                                  *r.mutable_written_off() = Eur(0);
                                  *r.mutable_issue_date() = ToProto(today - 40);
                                  *r.mutable_due_date() = ToProto(today - 10);
                                  r.set_created_micros(absl::ToUnixMicros(now));
                                  Settle(&r, "EUR");
                                  RETURN_IF_ERROR(db.SaveReceivable(txn, &r));
                                }
                                return absl::OkStatus();
                              })
                      .ok());
    }
  }
  // w1: two receivables 6,000 days overdue, whose priorities both pass
  // int64 (reported capped), ranked by their exact product.
  const v1::Receivable smaller =
      Post(kAccW1, kMaxAmount - 1000, today - 6030, today - 6000);
  const v1::Receivable larger =
      Post(kAccW1, kMaxAmount, today - 6030, today - 6000);
  const auto check = [&] {
    v1::Aging aging;
    ASSERT_TRUE(IsOk(Aging(kAccE2, "", std::nullopt, &aging)));
    EXPECT_EQ(aging.total().total().units_minor(), 5000 * kMaxAmount);
    EXPECT_TRUE(IsError(Aging(kAccE1, "", std::nullopt, &aging),
                        grpc::StatusCode::OUT_OF_RANGE,
                        absl::StrCat("aging of account ", kAccE1)));
    EXPECT_TRUE(IsError(Aging("", kEast, std::nullopt, &aging),
                        grpc::StatusCode::OUT_OF_RANGE));
    ASSERT_TRUE(IsOk(Aging("", kWest, std::nullopt, &aging)));
    EXPECT_EQ(aging.total().total().units_minor(), 2 * kMaxAmount - 1000);
    // The DSO of e2 alone fits; east's sums do not.
    v1::GetDsoRequest dso_req;
    dso_req.set_org_node_id(kEast);
    *dso_req.mutable_from() = ToProto(today - 60);
    *dso_req.mutable_to() = ToProto(today);
    v1::Dso dso;
    EXPECT_TRUE(IsError(Call(&Stub::GetDso, dso_req, &dso),
                        grpc::StatusCode::OUT_OF_RANGE,
                        "DSO of the accounts asked for"));
    dso_req.set_org_node_id("");
    dso_req.set_account_id(kAccE2);
    ASSERT_TRUE(IsOk(Call(&Stub::GetDso, dso_req, &dso)));
    EXPECT_EQ(dso.credit_sales().units_minor(), 5000 * kMaxAmount);
    // A check of e1 cannot state its exposure: refused, nothing stored.
    v1::CheckCreditRequest check_req;
    check_req.set_account_id(kAccE1);
    *check_req.mutable_amount() = Eur(1);
    v1::CreditCheck out;
    EXPECT_TRUE(IsError(Call(&Stub::CheckCredit, check_req, &out),
                        grpc::StatusCode::OUT_OF_RANGE,
                        absl::StrCat("exposure of account ", kAccE1)));
    EXPECT_EQ(Check(kAccE2, 1).exposure().units_minor(), 5000 * kMaxAmount);
    v1::Worklist worklist;
    ASSERT_TRUE(IsOk(Worklist(kWest, std::nullopt, &worklist)));
    ASSERT_EQ(worklist.items_size(), 2);
    EXPECT_EQ(worklist.items(0).receivable().id(), larger.id());
    EXPECT_EQ(worklist.items(1).receivable().id(), smaller.id());
    EXPECT_EQ(worklist.items(0).priority(), INT64_MAX);
  };
  check();
  Restart();
  check();
}

TEST_F(CreditServiceTest, WorklistDefaultsToTheRootForAdminAndFinance) {
  const absl::CivilDay today(2026, 3, 31);
  SetToday(today);
  Post(kAccE1, 100'000, absl::CivilDay(2026, 2, 1),
       absl::CivilDay(2026, 3, 21));
  Post(kAccW1, 100'000, absl::CivilDay(2026, 2, 1),
       absl::CivilDay(2026, 3, 11));
  // The contract: "default: the caller's scope (ADMIN: root)". The test
  // tokens of admin and finance name no org node.
  for (const char* token : {kAdminToken, kFinanceToken}) {
    v1::Worklist w;
    ASSERT_TRUE(IsOk(Worklist("", today, &w, token))) << token;
    ASSERT_EQ(w.items_size(), 2) << token;
    EXPECT_EQ(w.items(0).account_id(), kAccW1);
    EXPECT_EQ(w.items(1).account_id(), kAccE1);
  }
}

// ---------------------------------------------------------------------------
// 13. Calculators

TEST_F(CreditServiceTest, CalculatorsReproduceTheSeed) {
  // SPEC §5.4: a 500.00 loss at 2..6% net margin, in whole units.
  const std::vector<std::pair<int32_t, int64_t>> table = {{200, 2'500'000},
                                                          {300, 1'666'700},
                                                          {400, 1'250'000},
                                                          {500, 1'000'000},
                                                          {600, 833'300}};
  for (const auto& [bp, sales] : table) {
    v1::CalculateBadDebtRecoveryRequest req;
    *req.mutable_loss() = Eur(50'000);
    req.set_net_margin_bp(bp);
    req.set_round_to_minor(100);
    v1::BadDebtRecovery out;
    ASSERT_TRUE(
        IsOk(Call(&Stub::CalculateBadDebtRecovery, req, &out, kRepE1Token)));
    EXPECT_EQ(out.required_sales().units_minor(), sales) << bp << " bp";
    EXPECT_EQ(out.required_sales().currency(), "EUR");
  }
  v1::CalculateBadDebtRecoveryRequest cents;
  *cents.mutable_loss() = Eur(50'000);
  cents.set_net_margin_bp(300);
  v1::BadDebtRecovery recovery;
  ASSERT_TRUE(IsOk(Call(&Stub::CalculateBadDebtRecovery, cents, &recovery,
                        kManagerWestToken)));
  EXPECT_EQ(recovery.required_sales().units_minor(), 1'666'667);
  cents.set_net_margin_bp(0);
  EXPECT_TRUE(IsError(Call(&Stub::CalculateBadDebtRecovery, cents, &recovery),
                      Code::INVALID_ARGUMENT, "net_margin_bp"));
  *cents.mutable_loss() = Eur(0);
  cents.set_net_margin_bp(300);
  EXPECT_TRUE(IsError(Call(&Stub::CalculateBadDebtRecovery, cents, &recovery),
                      Code::INVALID_ARGUMENT, "loss"));
  EXPECT_TRUE(
      IsError(Call(&Stub::CalculateBadDebtRecovery, cents, &recovery, ""),
              Code::UNAUTHENTICATED));

  // The seed scenario: 500,000 at 10% gross margin, 400,000 collected.
  v1::CalculateRealizedResultRequest realized;
  *realized.mutable_sale_amount() = Eur(50'000'000);
  realized.set_gross_margin_bp(1000);
  *realized.mutable_collected() = Eur(40'000'000);
  v1::RealizedResult result;
  ASSERT_TRUE(IsOk(
      Call(&Stub::CalculateRealizedResult, realized, &result, kServiceToken)));
  EXPECT_EQ(result.cost_of_goods().units_minor(), 45'000'000);
  EXPECT_EQ(result.realized().units_minor(), -5'000'000);
  EXPECT_EQ(result.to_break_even().units_minor(), 5'000'000);
  EXPECT_EQ(result.profit_when_collected().units_minor(), 5'000'000);
  *realized.mutable_collected() = Eur(50'000'001);
  EXPECT_TRUE(IsError(Call(&Stub::CalculateRealizedResult, realized, &result),
                      Code::INVALID_ARGUMENT, "collected"));

  // 100,000.00 at 10% a year, 73 days late: 2,000.00; a 5% net margin is
  // consumed after 183 days.
  v1::CalculateCarryingCostRequest carrying;
  *carrying.mutable_amount() = Eur(10'000'000);
  carrying.set_annual_rate_bp(1000);
  carrying.set_days_late(73);
  carrying.set_net_margin_bp(500);
  v1::CarryingCost cost;
  ASSERT_TRUE(
      IsOk(Call(&Stub::CalculateCarryingCost, carrying, &cost, kRepW1Token)));
  EXPECT_EQ(cost.cost().units_minor(), 200'000);
  EXPECT_EQ(cost.net_profit().units_minor(), 500'000);
  EXPECT_EQ(cost.days_to_consume_profit(), 183);
  carrying.set_annual_rate_bp(0);
  EXPECT_TRUE(IsError(Call(&Stub::CalculateCarryingCost, carrying, &cost),
                      Code::INVALID_ARGUMENT, "annual_rate_bp"));
}

// ---------------------------------------------------------------------------
// 14. Write-offs, disputes, restart

TEST_F(CreditServiceTest, WriteOffAndDisputeFollowTheStateRules) {
  PutModel();
  SetToday(absl::CivilDay(2026, 3, 10));
  ApplyOk(OppEvent("opp_1", kAccE1, 100'000, "USAGE", 1));
  std::vector<v1::Receivable> rs = Receivables(kAccE1);
  ASSERT_EQ(rs.size(), 1u);
  const std::string id = rs[0].id();
  ASSERT_TRUE(IsOk(Pay(kAccE1, 30'000, Today())));

  v1::SetDisputeRequest dispute;
  dispute.set_receivable_id(id);
  dispute.set_disputed(true);
  v1::Receivable r;
  EXPECT_TRUE(IsError(Call(&Stub::SetDispute, dispute, &r),
                      Code::INVALID_ARGUMENT, "reason: required"));
  dispute.set_reason("  short delivery  ");
  dispute.set_expected_version(1);  // it is at 2 after the payment
  EXPECT_TRUE(IsError(Call(&Stub::SetDispute, dispute, &r), Code::ABORTED));
  EXPECT_TRUE(IsError(Call(&Stub::SetDispute, dispute, &r, kRepE1Token),
                      Code::PERMISSION_DENIED));
  dispute.set_expected_version(2);
  ASSERT_TRUE(IsOk(Call(&Stub::SetDispute, dispute, &r)));
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_DISPUTED);
  EXPECT_EQ(r.dispute_reason(), "short delivery");
  EXPECT_EQ(r.open().units_minor(), 70'000);
  dispute.set_expected_version(0);
  EXPECT_TRUE(IsError(Call(&Stub::SetDispute, dispute, &r),
                      Code::FAILED_PRECONDITION, "can be disputed"));

  // Resolving it returns it to what its amounts say.
  dispute.set_disputed(false);
  dispute.set_reason("");
  ASSERT_TRUE(IsOk(Call(&Stub::SetDispute, dispute, &r)));
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_PARTIALLY_PAID);
  EXPECT_EQ(r.dispute_reason(), "");
  EXPECT_TRUE(IsError(Call(&Stub::SetDispute, dispute, &r),
                      Code::FAILED_PRECONDITION, "is not disputed"));

  v1::WriteOffRequest w;
  w.set_receivable_id(id);
  EXPECT_TRUE(IsError(Call(&Stub::WriteOff, w, &r), Code::INVALID_ARGUMENT,
                      "reason: required"));
  w.set_reason("insolvent");
  *w.mutable_date() = ToProto(Today() + 1);
  EXPECT_TRUE(IsError(Call(&Stub::WriteOff, w, &r), Code::INVALID_ARGUMENT,
                      "date: must not be after today"));
  w.clear_date();
  EXPECT_TRUE(IsError(Call(&Stub::WriteOff, w, &r, kRepE1Token),
                      Code::PERMISSION_DENIED));
  w.set_expected_version(99);
  EXPECT_TRUE(IsError(Call(&Stub::WriteOff, w, &r), Code::ABORTED));
  w.set_expected_version(0);
  ASSERT_TRUE(IsOk(Call(&Stub::WriteOff, w, &r)));
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_WRITTEN_OFF);
  EXPECT_EQ(r.written_off().units_minor(), 70'000);
  EXPECT_EQ(r.paid().units_minor(), 30'000);
  EXPECT_EQ(r.open().units_minor(), 0);
  EXPECT_EQ(Str(r.written_off_date()), "2026-03-10");
  EXPECT_EQ(r.write_off_reason(), "insolvent");

  // Written off: no second write-off, no dispute, no payment.
  EXPECT_TRUE(IsError(Call(&Stub::WriteOff, w, &r), Code::FAILED_PRECONDITION));
  dispute.set_disputed(true);
  dispute.set_reason("late complaint");
  EXPECT_TRUE(
      IsError(Call(&Stub::SetDispute, dispute, &r), Code::FAILED_PRECONDITION));
  EXPECT_TRUE(IsError(Pay(kAccE1, 100, Today(), {{id, 100}}),
                      Code::FAILED_PRECONDITION, "written off"));
  v1::GetOpportunityCollectionRequest get;
  get.set_opportunity_id("opp_1");
  v1::OpportunityCollection c;
  ASSERT_TRUE(IsOk(Call(&Stub::GetOpportunityCollection, get, &c)));
  EXPECT_EQ(c.written_off().units_minor(), 70'000);
  EXPECT_EQ(c.collected().units_minor(), 30'000);
  EXPECT_FALSE(c.fully_collected());

  // Paid: neither written off nor disputed.
  const v1::Receivable p = Post(kAccE2, 10'000, Today());
  ASSERT_TRUE(IsOk(Pay(kAccE2, 10'000, Today())));
  w.set_receivable_id(p.id());
  EXPECT_TRUE(IsError(Call(&Stub::WriteOff, w, &r), Code::FAILED_PRECONDITION,
                      "RECEIVABLE_STATE_PAID"));
  dispute.set_receivable_id(p.id());
  EXPECT_TRUE(
      IsError(Call(&Stub::SetDispute, dispute, &r), Code::FAILED_PRECONDITION));
  w.set_receivable_id("rcv_nope");
  EXPECT_TRUE(IsError(Call(&Stub::WriteOff, w, &r), Code::NOT_FOUND));

  // A disputed receivable may be written off.
  const v1::Receivable d = Post(kAccE2, 20'000, Today());
  dispute.set_receivable_id(d.id());
  ASSERT_TRUE(IsOk(Call(&Stub::SetDispute, dispute, &r)));
  w.set_receivable_id(d.id());
  ASSERT_TRUE(IsOk(Call(&Stub::WriteOff, w, &r)));
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_WRITTEN_OFF);
  EXPECT_EQ(r.written_off().units_minor(), 20'000);
}

TEST_F(CreditServiceTest, RestartKeepsReceivablesPromisesAndTasks) {
  PutModel();
  SetToday(absl::CivilDay(2026, 11, 2));
  SetProfile(kAccE1, 10'000'000, 30, v1::RISK_CLASS_MEDIUM);
  const v1::Event signed_event = OppEvent("opp_1", kAccE1, 300'000, "USAGE", 1);
  ApplyOk(signed_event);
  // Approved while nothing is overdue: 1,000.00 contracted-not-invoiced.
  EXPECT_EQ(Check(kAccE1, 100'000, "opp_2").decision(),
            v1::CREDIT_DECISION_APPROVE);
  const v1::Receivable posted =
      Post(kAccE1, 200'000, absl::CivilDay(2026, 9, 1),
           absl::CivilDay(2026, 10, 1), "INV-9");
  // Paid before the promise is made: it does not count toward it.
  const absl::CivilDay paid_on(2026, 10, 30);
  ASSERT_TRUE(IsOk(Pay(kAccE1, 50'000, paid_on, {}, "BANK-1")));
  const v1::Promise promise =
      RecordPromise({posted.id()}, 150'000, absl::CivilDay(2026, 11, 5));
  v1::CollectionContact contact;
  ASSERT_TRUE(IsOk(Contact(kAccE1, v1::EXCUSE_CODE_WILL_PAY, &contact)));
  EXPECT_EQ(Run().dunning_tasks(), 1);  // posted: 32 days past due
  v1::DunningStrategy strategy;
  strategy.set_courtesy_reminder_days(-5);
  strategy.set_first_reminder_days(1);
  strategy.set_second_reminder_days(10);
  strategy.set_final_notice_days(20);
  strategy.set_credit_hold_days(90);
  v1::DunningStrategy ignored;
  ASSERT_TRUE(IsOk(Call(&Stub::SetDunningStrategy, strategy, &ignored)));

  auto snapshot = [&]() {
    std::string out;
    auto add = [&](const google::protobuf::Message& m) {
      out += m.DebugString();
      out += "----\n";
    };
    for (const v1::Receivable& r : Receivables(kAccE1)) add(r);
    for (const auto& [id, p] : Promises(kAccE1)) add(p);
    for (const v1::CollectionTask& t : Tasks(kAccE1)) add(t);
    v1::ListPaymentsRequest lp;
    lp.set_account_id(kAccE1);
    v1::ListPaymentsResponse payments;
    EXPECT_TRUE(IsOk(Call(&Stub::ListPayments, lp, &payments)));
    payments.clear_page();
    add(payments);
    v1::ListCreditChecksRequest lc;
    lc.set_account_id(kAccE1);
    v1::ListCreditChecksResponse checks;
    EXPECT_TRUE(IsOk(Call(&Stub::ListCreditChecks, lc, &checks)));
    checks.clear_page();
    add(checks);
    v1::CreditProfile profile;
    EXPECT_TRUE(IsOk(GetProfile(kAccE1, &profile)));
    add(profile);
    v1::DunningStrategy s;
    EXPECT_TRUE(IsOk(
        Call(&Stub::GetDunningStrategy, v1::GetDunningStrategyRequest(), &s)));
    add(s);
    v1::ListOpportunityCollectionsResponse collections;
    EXPECT_TRUE(
        IsOk(Call(&Stub::ListOpportunityCollections,
                  v1::ListOpportunityCollectionsRequest(), &collections)));
    collections.clear_page();
    add(collections);
    v1::Aging aging;
    EXPECT_TRUE(
        IsOk(Aging("", kEast, std::nullopt, &aging, kManagerEastToken)));
    add(aging);
    return out;
  };
  const std::string before = snapshot();
  const uint64_t sequence = store_->last_sequence();
  ASSERT_EQ(Receivables(kAccE1).size(), 2u);
  ASSERT_EQ(Tasks(kAccE1).size(), 2u);

  Restart();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(store_->last_sequence(), sequence);

  // Still idempotent after the restart: the pipeline replay and the
  // external ids open and pay nothing new.
  ApplyOk(signed_event);
  v1::Receivable replay;
  ASSERT_TRUE(IsOk(Call(&Stub::PostReceivable,
                        PostRequest(kAccE1, 200'000, absl::CivilDay(2026, 9, 1),
                                    absl::CivilDay(2026, 10, 1), "INV-9"),
                        &replay)));
  EXPECT_EQ(replay.id(), posted.id());
  ASSERT_TRUE(IsOk(Pay(kAccE1, 50'000, paid_on, {}, "BANK-1")));
  EXPECT_EQ(store_->last_sequence(), sequence);
  // The commitment of opp_2 survived: 3,000 + 1,500 open + 1,000 committed.
  EXPECT_EQ(Exposure(kAccE1), 550'000);
  // The accounts mirror survived: the account still exists.
  SetProfile(kAccE1, 10'000'000, 45, v1::RISK_CLASS_MEDIUM);

  // The pending promise is judged after the restart.
  SetToday(absl::CivilDay(2026, 11, 6));
  EXPECT_EQ(Run().promises_judged(), 1);
  EXPECT_EQ(Promises(kAccE1)[promise.id()].state(), v1::PROMISE_STATE_BROKEN);
}

TEST_F(CreditServiceTest,
       OnlyPipelineOrFinanceNameAnOpportunityOfTheRightAccount) {
  PutModel();
  SetProfile(kAccE1, 1'000'000, 30, v1::RISK_CLASS_MEDIUM);
  v1::CheckCreditRequest req;
  req.set_account_id(kAccE1);
  *req.mutable_amount() = Eur(100);
  req.set_opportunity_id("opp_mine");
  v1::CreditCheck out;
  // A rep's or manager's check reserves nothing, so it may not name one.
  for (const char* token : {kRepE1Token, kManagerEastToken}) {
    EXPECT_TRUE(IsError(Call(&Stub::CheckCredit, req, &out, token),
                        Code::PERMISSION_DENIED, "opportunity_id: only"))
        << token;
  }
  // Pipeline's feed says which account an opportunity is of: naming it for
  // another account is refused, and its reservation stays where it is.
  ApplyOk(OppEvent("opp_other", kAccE2, 40'000, "COMMITMENT", 1));
  EXPECT_EQ(Check(kAccE2, 40'000, "opp_other", kServiceToken).decision(),
            v1::CREDIT_DECISION_REVIEW);
  req.set_opportunity_id("opp_other");
  EXPECT_TRUE(IsError(Call(&Stub::CheckCredit, req, &out, kServiceToken),
                      Code::INVALID_ARGUMENT,
                      "opportunity_id: opportunity opp_other is of account"));
  EXPECT_EQ(Check(kAccE2, 1).exposure().units_minor(), 40'000);
  v1::Receivable wrong;
  EXPECT_TRUE(IsError(
      Call(&Stub::PostReceivable,
           PostRequest(kAccE1, 100, Today(), std::nullopt, "", "opp_other"),
           &wrong),
      Code::INVALID_ARGUMENT, "receivable.opportunity_id: opportunity"));
}

TEST_F(CreditServiceTest, AnErpInvoiceForASignedContractIsThatReceivable) {
  PutModel();
  SetProfile(kAccE1, 1'000'000, 30, v1::RISK_CLASS_MEDIUM);
  ApplyOk(OppEvent("opp_s", kAccE1, 250'000, "USAGE", 1));
  ASSERT_EQ(Receivables(kAccE1, "opp_s").size(), 1u);
  const std::string contract = Receivables(kAccE1, "opp_s")[0].id();
  // Another amount, or the same invoice once paid, would be a second debt.
  v1::Receivable out;
  EXPECT_TRUE(IsError(Call(&Stub::PostReceivable,
                           PostRequest(kAccE1, 200'000, Today(), std::nullopt,
                                       "INV-9", "opp_s"),
                           &out),
                      Code::FAILED_PRECONDITION, "is invoiced by " + contract));
  // The ERP's invoice of the signed amount is adopted: still one receivable,
  // now with the ERP's id and dates; a replay changes nothing.
  const absl::CivilDay issue = Today() + 2;
  const v1::Receivable adopted =
      Post(kAccE1, 250'000, issue, issue + 45, "INV-7", "opp_s");
  EXPECT_EQ(adopted.id(), contract);
  EXPECT_EQ(adopted.external_id(), "INV-7");
  EXPECT_EQ(Str(adopted.due_date()), Str(ToProto(issue + 45)));
  EXPECT_EQ(
      Post(kAccE1, 250'000, issue, issue + 45, "INV-7", "opp_s").version(),
      adopted.version());
  EXPECT_EQ(Receivables(kAccE1, "opp_s").size(), 1u);
  EXPECT_EQ(Check(kAccE1, 1).exposure().units_minor(), 250'000);
}

TEST_F(CreditServiceTest, APaymentDatedInTimeButRecordedLateKeepsThePromise) {
  SetToday(absl::CivilDay(2026, 11, 30));
  const v1::Receivable r = Post(kAccE1, 100'000, absl::CivilDay(2026, 11, 1),
                                absl::CivilDay(2027, 1, 15));
  const v1::Promise p = RecordPromise({r.id()}, 100'000, Today() + 2);
  SetToday(Today() + 5);
  // Finance records on the 5th a payment the bank shows on the 29th, before
  // the promise was even made: in time, nothing to escalate.
  ASSERT_TRUE(IsOk(Pay(kAccE1, 100'000, absl::CivilDay(2026, 11, 29))));
  EXPECT_EQ(Run().promises_judged(), 1);
  v1::ListPromisesRequest req;
  req.set_account_id(kAccE1);
  v1::ListPromisesResponse resp;
  ASSERT_TRUE(IsOk(Call(&Stub::ListPromises, req, &resp)));
  ASSERT_EQ(resp.promises_size(), 1);
  EXPECT_EQ(resp.promises(0).state(), v1::PROMISE_STATE_KEPT);
  EXPECT_EQ(resp.promises(0).escalation_task_id(), "");
  EXPECT_TRUE(TaskLines(kAccE1, v1::COLLECTION_TASK_KIND_ESCALATION).empty());
}

TEST_F(CreditServiceTest, APromiseFromHistoryIsJudgedByTheNextRun) {
  SetToday(absl::CivilDay(2026, 11, 30));  // a Monday
  const v1::Receivable r = Post(kAccE1, 100'000, absl::CivilDay(2026, 10, 1),
                                absl::CivilDay(2026, 10, 31));
  v1::RecordPromiseRequest req;
  req.add_receivable_ids(r.id());
  *req.mutable_amount() = Eur(100'000);
  *req.mutable_made_date() = ToProto(absl::CivilDay(2026, 11, 20));
  *req.mutable_promised_date() = ToProto(absl::CivilDay(2026, 11, 23));
  v1::Promise p;
  ASSERT_TRUE(IsOk(Call(&Stub::RecordPromise, req, &p)));
  EXPECT_EQ(Str(p.made_date()), "2026-11-20");
  EXPECT_EQ(p.state(), v1::PROMISE_STATE_PENDING);
  // Nothing was paid by the 23rd: broken, judged on the 24th, and the
  // escalation is due today, not on a day already past.
  EXPECT_EQ(Run().promises_judged(), 1);
  const std::vector<std::string> escalations =
      TaskLines(kAccE1, v1::COLLECTION_TASK_KIND_ESCALATION);
  ASSERT_EQ(escalations.size(), 1u);
  EXPECT_THAT(escalations[0], HasSubstr("2026-11-30"));
  v1::ListPromisesRequest list;
  list.set_account_id(kAccE1);
  list.set_state(v1::PROMISE_STATE_BROKEN);
  v1::ListPromisesResponse broken;
  ASSERT_TRUE(IsOk(Call(&Stub::ListPromises, list, &broken)));
  ASSERT_EQ(broken.promises_size(), 1);
  EXPECT_EQ(Str(broken.promises(0).judged_date()), "2026-11-24");

  *req.mutable_made_date() = ToProto(absl::CivilDay(2026, 12, 1));
  EXPECT_TRUE(IsError(Call(&Stub::RecordPromise, req, &p),
                      Code::INVALID_ARGUMENT,
                      "made_date: must not be after today (2026-11-30)"));
  *req.mutable_made_date() = ToProto(absl::CivilDay(2026, 11, 24));
  EXPECT_TRUE(
      IsError(Call(&Stub::RecordPromise, req, &p), Code::INVALID_ARGUMENT,
              "promised_date: must not be before made_date (2026-11-24)"));
}

}  // namespace
}  // namespace salesops::credit
