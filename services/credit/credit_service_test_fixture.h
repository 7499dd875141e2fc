#pragma once

// gRPC-level tests of the credit service (SPEC.md §5, roles §8) in process:
// the service and its feed on a loopback port over a real store, the org
// mirror fed with accounts events by hand (as the accounts consumer would),
// pipeline events applied through PipelineFollower::Apply inside a
// Store::Write (as the pipeline consumer would), a FakeClock for "today",
// called through the generated stub with bearer tokens of every role.
//
// The fixture shared by the gRPC-level test files of the credit service
// (credit_service_test.cc, collections_service_test.cc,
// credit_scenarios_test.cc); the rules themselves are tested without gRPC in
// the *_rules_test.cc files.

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
#include "common/testing/builders.h"
#include "common/testing/client_context.h"
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
#include "services/credit/credit_service.h"
#include "services/credit/credit_store.h"
#include "services/credit/followers.h"
#include "services/credit/receivables.h"

namespace salesops::credit::credit_test {

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

using ::salesops::testing::Eur;

inline absl::CivilDay Civ(const v1::Date& d) {
  return absl::CivilDay(d.year(), d.month(), d.day());
}
inline std::string Str(const v1::Date& d) {
  return absl::FormatCivilTime(Civ(d));
}
inline std::string Str(absl::CivilDay d) { return absl::FormatCivilTime(d); }

// Noon UTC of a day (the service's time zone is UTC unless a test sets one).
inline absl::Time Noon(absl::CivilDay d) {
  return absl::FromCivil(
      absl::CivilSecond(d.year(), d.month(), d.day(), 12, 0, 0),
      absl::UTCTimeZone());
}

// The six buckets and the total, in proto order, in minor units.
inline std::vector<int64_t> Buckets(const v1::AgingBuckets& b) {
  return {b.not_due().units_minor(),     b.days_1_30().units_minor(),
          b.days_31_60().units_minor(),  b.days_61_90().units_minor(),
          b.days_91_180().units_minor(), b.over_180().units_minor(),
          b.total().units_minor()};
}

// One line per task: kind, due date, dunning step, receivable.
inline std::string TaskLine(const v1::CollectionTask& t) {
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
    absl::Status loaded = ledger_->rates.Load();  // as main.cc at start
    ASSERT_TRUE(loaded.ok()) << loaded;
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
    return ::salesops::testing::BearerContext(token);
  }

  template <typename Req, typename Resp>
  grpc::Status Call(Method<Req, Resp> method, const Req& req, Resp* resp,
                    const std::string& token = kFinanceToken) {
    return ::salesops::testing::CallAs(*stub_, method, req, resp, token);
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

  // An "accounts.ExchangeRate" event (issue 19): `rate` units of the
  // reporting currency (EUR) per unit of `currency` from `start`.
  void SetRate(const std::string& currency, absl::CivilDay start,
               const std::string& rate, int64_t version = 1) {
    v1::ExchangeRate r;
    r.set_currency(currency);
    *r.mutable_start_date() = ToProto(start);
    r.set_rate(rate);
    r.set_version(version);
    v1::Event e;
    e.set_kind("accounts.ExchangeRate");
    e.mutable_payload()->PackFrom(r);
    absl::Status s =
        store_
            ->Write(SystemActor("test"),
                    [&](WriteTxn& txn) { return ledger_->rates.Apply(e, txn); })
            .status();
    ASSERT_TRUE(s.ok()) << s;
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
    req.set_page_size(1000);
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
    req.set_page_size(1000);
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
    req.set_page_size(1000);
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
    req.set_page_size(page_size);
    req.set_page_token(token_in);
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

}  // namespace salesops::credit::credit_test
