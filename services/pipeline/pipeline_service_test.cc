// gRPC-level tests of the pipeline service (SPEC.md §3, roles §8) in process:
// the service and its feed on a loopback port over a real store, the org
// mirror filled by hand, fake accounts and credit peers, called through the
// generated stub with bearer tokens of every role.

#include "services/pipeline/pipeline_service.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/feed/feed_consumer.h"
#include "common/feed/feed_service.h"
#include "common/org/org_mirror.h"
#include "common/server/auth.h"
#include "common/store/paging.h"
#include "common/store/store.h"
#include "common/testing/grpc_status.h"
#include "common/testing/loopback_server.h"
#include "common/testing/temp_dir.h"
#include "common/time/clock.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/feed.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "services/pipeline/peers.h"
#include "services/pipeline/pipeline_store.h"
#include "services/pipeline/stage_models.h"

namespace salesops::pipeline {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr char kAdminToken[] = "admin-token";
constexpr char kFinanceToken[] = "finance-token";
constexpr char kServiceToken[] = "service-token";
constexpr char kManagerAToken[] = "manager-a-token";
constexpr char kManagerBToken[] = "manager-b-token";
constexpr char kRep1Token[] = "rep-1-token";
constexpr char kRep3Token[] = "rep-3-token";

// Accounts and contacts known to the fake accounts service.
constexpr char kAcc1[] = "acc_1";
constexpr char kAcc2[] = "acc_2";
constexpr char kC1[] = "con_1";  // contacts of acc_1
constexpr char kC2[] = "con_2";
constexpr char kC3[] = "con_3";
constexpr char kC4[] = "con_4";
constexpr char kC5[] = "con_5";
constexpr char kOtherContact[] = "con_9";  // a contact of acc_2

constexpr int64_t kHour = int64_t{3600} * 1000 * 1000;
constexpr int64_t kDay = 24 * kHour;

absl::Duration Days(int n) { return absl::Hours(24 * n); }

using Stub = v1::PipelineService::Stub;
template <typename Req, typename Resp>
using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Req&, Resp*);

using ::salesops::testing::IsError;
using ::salesops::testing::IsOk;

v1::Money Eur(int64_t minor) {
  v1::Money m;
  m.set_units_minor(minor);
  m.set_currency("EUR");
  return m;
}

v1::Date Day(int year, int month, int day) {
  v1::Date d;
  d.set_year(year);
  d.set_month(month);
  d.set_day(day);
  return d;
}

v1::OrgNode Node(const std::string& id, const std::string& parent,
                 v1::OrgNodeKind kind) {
  v1::OrgNode n;
  n.set_id(id);
  n.set_parent_id(parent);
  n.set_kind(kind);
  n.set_name(id);
  n.set_version(1);
  return n;
}

// Our sales organization:
//   root (GLOBAL)
//   ├── a (REGION) ── t (TEAM) ── r1, r2 (REP)
//   └── b (REGION) ── u (TEAM) ── r3 (REP)
std::vector<v1::OrgNode> DefaultOrg() {
  return {Node("root", "", v1::ORG_NODE_KIND_GLOBAL),
          Node("a", "root", v1::ORG_NODE_KIND_REGION),
          Node("b", "root", v1::ORG_NODE_KIND_REGION),
          Node("t", "a", v1::ORG_NODE_KIND_TEAM),
          Node("u", "b", v1::ORG_NODE_KIND_TEAM),
          Node("r1", "t", v1::ORG_NODE_KIND_REP),
          Node("r2", "t", v1::ORG_NODE_KIND_REP),
          Node("r3", "u", v1::ORG_NODE_KIND_REP)};
}

v1::StageModel BuiltIn(const std::string& id) {
  for (const v1::StageModel& m : BuiltInModels()) {
    if (m.id() == id) {
      return m;
    }
  }
  ADD_FAILURE() << "no built-in stage model " << id;
  return v1::StageModel();
}

// ---------------------------------------------------------------------------
// Fake peers

// The accounts service as the pipeline sees it: accounts, org nodes and
// contacts by id; `SetUnavailable(true)` makes every call UNAVAILABLE.
class FakeAccounts final : public AccountsClient {
 public:
  void AddAccount(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    v1::Account a;
    a.set_id(id);
    a.set_name(absl::StrCat("Account ", id));
    a.set_version(1);
    accounts_[id] = a;
  }
  void PutNode(const v1::OrgNode& n) {
    std::lock_guard<std::mutex> lock(mu_);
    nodes_[n.id()] = n;
  }
  void AddContact(const std::string& id, const std::string& account_id) {
    std::lock_guard<std::mutex> lock(mu_);
    v1::Contact c;
    c.set_id(id);
    c.set_account_id(account_id);
    c.set_name(absl::StrCat("Contact ", id));
    c.set_version(1);
    contacts_[id] = c;
  }
  void SetUnavailable(bool down) {
    std::lock_guard<std::mutex> lock(mu_);
    unavailable_ = down;
  }
  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

  absl::StatusOr<v1::Account> GetAccount(const std::string& id) override {
    return Lookup(accounts_, id, "account");
  }
  absl::StatusOr<v1::OrgNode> GetOrgNode(const std::string& id) override {
    return Lookup(nodes_, id, "org node");
  }
  absl::StatusOr<v1::Contact> GetContact(const std::string& id) override {
    return Lookup(contacts_, id, "contact");
  }
  absl::Status ListAllOrgNodes(std::vector<v1::OrgNode>* nodes,
                               uint64_t* feed_sequence) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    if (unavailable_) {
      return absl::UnavailableError("accounts service unavailable (fake)");
    }
    for (const auto& [id, n] : nodes_) {
      nodes->push_back(n);
    }
    *feed_sequence = 0;
    return absl::OkStatus();
  }

 private:
  template <typename Msg>
  absl::StatusOr<Msg> Lookup(const std::map<std::string, Msg>& table,
                             const std::string& id, const char* what) {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    if (unavailable_) {
      return absl::UnavailableError("accounts service unavailable (fake)");
    }
    auto it = table.find(id);
    if (it == table.end()) {
      return absl::NotFoundError(absl::StrCat(what, " ", id, " not found"));
    }
    return it->second;
  }

  mutable std::mutex mu_;
  bool unavailable_ = false;
  int calls_ = 0;
  std::map<std::string, v1::Account> accounts_;
  std::map<std::string, v1::OrgNode> nodes_;
  std::map<std::string, v1::Contact> contacts_;
};

// credit.CheckCredit answering what the test scripted (APPROVE by default, or
// an error); remembers every call and can run a hook while "thinking", to
// change the opportunity during the check.
class FakeCredit final : public CreditClient {
 public:
  void Script(CreditDecision decision, std::vector<std::string> reasons = {}) {
    std::lock_guard<std::mutex> lock(mu_);
    answer_ = CreditAnswer{decision, std::move(reasons)};
    error_ = absl::OkStatus();
  }
  void ScriptError(absl::Status error) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::move(error);
  }
  void DuringCheck(std::function<void()> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    hook_ = std::move(hook);
  }
  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  struct Call {
    std::string account_id;
    int64_t amount_minor = 0;
    std::string currency;
    std::string opportunity_id;
  };
  Call last() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

  absl::StatusOr<CreditAnswer> CheckCredit(
      const std::string& account_id, const v1::Money& amount,
      const std::string& opportunity_id) override {
    std::function<void()> hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls_;
      last_ = Call{account_id, amount.units_minor(), amount.currency(),
                   opportunity_id};
      hook = std::move(hook_);
      hook_ = nullptr;  // runs once
    }
    if (hook) {
      hook();
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!error_.ok()) {
      return error_;
    }
    return answer_;
  }
  // The credit-peer tests list collections through the gRPC client; this fake
  // knows none.
  absl::Status ListAllOpportunityCollections(
      std::vector<v1::OpportunityCollection>*,
      uint64_t* feed_sequence) override {
    *feed_sequence = 0;
    return absl::OkStatus();
  }

 private:
  mutable std::mutex mu_;
  CreditAnswer answer_{CreditDecision::kApprove, {}};
  absl::Status error_;
  std::function<void()> hook_;
  int calls_ = 0;
  Call last_;
};

// Runs fn(0) .. fn(n-1) on n threads released together; their results.
std::vector<grpc::Status> RunConcurrently(
    int n, const std::function<grpc::Status(int)>& fn) {
  std::mutex mu;
  std::condition_variable cv;
  bool go = false;
  int ready = 0;
  std::vector<grpc::Status> results(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      {
        std::unique_lock<std::mutex> lock(mu);
        ++ready;
        cv.notify_all();
        cv.wait_for(lock, std::chrono::seconds(10), [&] { return go; });
      }
      results[i] = fn(i);
    });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return ready == n; });
    go = true;
  }
  cv.notify_all();
  for (std::thread& t : threads) {
    t.join();
  }
  return results;
}

// ---------------------------------------------------------------------------
// The fixture

class PipelineServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenTestStore(dir_.path(), ColumnFamilies(), &clock_);
    ASSERT_NE(store_, nullptr);

    org_nodes_ = DefaultOrg();
    mirror_ = std::make_unique<OrgMirror>(store_.get(), Cf::kMirror);
    ASSERT_TRUE(mirror_->Load().ok());
    ASSERT_TRUE(mirror_->Replace(org_nodes_, "accounts", 0).ok());
    for (const v1::OrgNode& n : org_nodes_) {
      accounts_.PutNode(n);
    }
    accounts_.AddAccount(kAcc1);
    accounts_.AddAccount(kAcc2);
    for (const char* c : {kC1, kC2, kC3, kC4, kC5}) {
      accounts_.AddContact(c, kAcc1);
    }
    accounts_.AddContact(kOtherContact, kAcc2);

    principals_[kAdminToken] = {"admin", Role::kAdmin, ""};
    principals_[kFinanceToken] = {"finance", Role::kFinance, ""};
    principals_[kServiceToken] = {"forecast", Role::kService, ""};
    principals_[kManagerAToken] = {"manager-a", Role::kManager, "a"};
    principals_[kManagerBToken] = {"manager-b", Role::kManager, "b"};
    principals_[kRep1Token] = {"rep-1", Role::kRep, "r1"};
    principals_[kRep3Token] = {"rep-3", Role::kRep, "r3"};
    credit_ = &fake_credit_;
    StartServer();
  }

  void TearDown() override {
    StopServer();
    mirror_.reset();
    store_.reset();
  }

  void StartServer() {
    auth_ = testing::AuthFor(principals_);
    service_ = std::make_unique<PipelineServiceImpl>(
        store_.get(), auth_.get(), &clock_, &accounts_, credit_, mirror_.get(),
        PipelineOptions{});
    ASSERT_TRUE(service_->Init().ok());
    server_ = std::make_unique<testing::LoopbackServer>(
        store_.get(), auth_.get(), std::vector<grpc::Service*>{service_.get()});
    ASSERT_NE(server_->channel(), nullptr);
    stub_ = v1::PipelineService::NewStub(server_->channel());
    feed_stub_ = v1::FeedService::NewStub(server_->channel());
  }

  void StopServer() {
    stub_.reset();
    feed_stub_.reset();
    server_.reset();
    service_.reset();
    auth_.reset();
  }

  // Restarts the server with another credit client (the store stays open).
  void UseCredit(CreditClient* credit) {
    StopServer();
    credit_ = credit;
    StartServer();
  }

  // A re-org in accounts as the mirror learns it: `node` moves under
  // `new_parent` (a resync replaces the whole copy).
  void ReOrg(const std::string& node, const std::string& new_parent) {
    for (v1::OrgNode& n : org_nodes_) {
      if (n.id() == node) {
        n.set_parent_id(new_parent);
        n.set_version(n.version() + 1);
        accounts_.PutNode(n);
      }
    }
    ASSERT_TRUE(mirror_->Replace(org_nodes_, "accounts", ++org_cursor_).ok());
  }

  int64_t NowMicros() const { return absl::ToUnixMicros(clock_.Now()); }

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
                    const std::string& token = kAdminToken) {
    auto ctx = Ctx(token);
    return ((*stub_).*method)(ctx.get(), req, resp);
  }

  // ---- Stage models ----
  grpc::Status GetModel(const std::string& id, v1::StageModel* out,
                        const std::string& token = kAdminToken) {
    v1::GetStageModelRequest req;
    req.set_id(id);
    return Call(&Stub::GetStageModel, req, out, token);
  }
  grpc::Status CreateModel(const v1::StageModel& m,
                           const std::string& copy_from, v1::StageModel* out,
                           const std::string& token = kAdminToken) {
    v1::CreateStageModelRequest req;
    *req.mutable_model() = m;
    req.set_copy_from_id(copy_from);
    return Call(&Stub::CreateStageModel, req, out, token);
  }
  // A copy of a built-in model with this name and, when > 0, this
  // out-of-funnel threshold and stall limit.
  v1::StageModel MustCopyModel(const std::string& from, const std::string& name,
                               int64_t threshold_minor = 0,
                               int32_t stall_limit_days = 0) {
    v1::StageModel m;
    m.set_name(name);
    if (threshold_minor > 0) {
      *m.mutable_out_of_funnel_threshold() = Eur(threshold_minor);
    }
    m.set_stall_limit_days(stall_limit_days);
    v1::StageModel out;
    EXPECT_TRUE(IsOk(CreateModel(m, from, &out))) << "copy of " << from;
    return out;
  }
  grpc::Status UpdateModel(const v1::StageModel& m, int64_t expected_version,
                           v1::StageModel* out,
                           const std::string& token = kAdminToken) {
    v1::UpdateStageModelRequest req;
    *req.mutable_model() = m;
    req.set_expected_version(expected_version);
    return Call(&Stub::UpdateStageModel, req, out, token);
  }

  // ---- Opportunities ----
  static v1::Opportunity Draft(const std::string& owner = "r1",
                               const std::string& account = kAcc1,
                               int64_t amount_minor = 5'000'000,
                               v1::Date close = Day(2026, 6, 30)) {
    v1::Opportunity o;
    o.set_account_id(account);
    o.set_owner_node_id(owner);
    o.set_name(absl::StrCat("Deal of ", owner, " at ", account));
    *o.mutable_amount() = Eur(amount_minor);
    *o.mutable_expected_close_date() = close;
    return o;
  }
  grpc::Status Create(const v1::Opportunity& o, v1::Opportunity* out,
                      const std::string& token = kAdminToken,
                      const std::string& request_id = "") {
    v1::CreateOpportunityRequest req;
    *req.mutable_opportunity() = o;
    req.set_request_id(request_id);
    return Call(&Stub::CreateOpportunity, req, out, token);
  }
  v1::Opportunity MustCreate(const v1::Opportunity& o,
                             const std::string& token = kAdminToken) {
    v1::Opportunity out;
    EXPECT_TRUE(IsOk(Create(o, &out, token)))
        << "CreateOpportunity " << o.name();
    return out;
  }
  v1::Opportunity MustCreate(const std::string& owner = "r1") {
    return MustCreate(Draft(owner));
  }
  grpc::Status Get(const std::string& id, v1::Opportunity* out,
                   const std::string& token = kAdminToken) {
    v1::GetOpportunityRequest req;
    req.set_id(id);
    return Call(&Stub::GetOpportunity, req, out, token);
  }
  v1::Opportunity MustGet(const std::string& id) {
    v1::Opportunity out;
    EXPECT_TRUE(IsOk(Get(id, &out))) << "GetOpportunity " << id;
    return out;
  }
  grpc::Status Update(const v1::Opportunity& o, int64_t expected_version,
                      v1::Opportunity* out,
                      const std::string& token = kAdminToken) {
    v1::UpdateOpportunityRequest req;
    *req.mutable_opportunity() = o;
    req.set_expected_version(expected_version);
    return Call(&Stub::UpdateOpportunity, req, out, token);
  }
  grpc::Status List(const v1::ListOpportunitiesRequest& req,
                    v1::ListOpportunitiesResponse* out,
                    const std::string& token = kAdminToken) {
    return Call(&Stub::ListOpportunities, req, out, token);
  }
  // Every opportunity the request selects, page by page.
  std::vector<v1::Opportunity> ListAll(v1::ListOpportunitiesRequest req,
                                       int page_size,
                                       const std::string& token = kAdminToken,
                                       int* pages = nullptr) {
    std::vector<v1::Opportunity> all;
    req.mutable_page()->set_page_size(page_size);
    int count = 0;
    for (int guard = 0; guard < 1000; ++guard) {
      v1::ListOpportunitiesResponse resp;
      grpc::Status s = List(req, &resp, token);
      EXPECT_TRUE(IsOk(s));
      if (!s.ok()) {
        break;
      }
      ++count;
      EXPECT_LE(resp.opportunities_size(), page_size);
      all.insert(all.end(), resp.opportunities().begin(),
                 resp.opportunities().end());
      if (resp.page().next_page_token().empty()) {
        break;
      }
      req.mutable_page()->set_page_token(resp.page().next_page_token());
    }
    if (pages != nullptr) {
      *pages = count;
    }
    return all;
  }
  std::set<std::string> ListIds(const v1::ListOpportunitiesRequest& req,
                                const std::string& token = kAdminToken) {
    std::set<std::string> ids;
    for (const v1::Opportunity& o : ListAll(req, 100, token)) {
      EXPECT_TRUE(ids.insert(o.id()).second) << "listed twice: " << o.id();
    }
    return ids;
  }
  std::set<std::string> OwnedBy(std::vector<std::string> owners,
                                const std::string& token = kAdminToken) {
    v1::ListOpportunitiesRequest req;
    for (const std::string& o : owners) {
      req.add_owner_ids(o);
    }
    return ListIds(req, token);
  }
  grpc::Status Check(const std::string& id, const std::string& stage,
                     const std::string& criterion, bool checked,
                     v1::Opportunity* out,
                     const std::string& token = kAdminToken,
                     int64_t expected_version = 0) {
    v1::SetExitCriterionRequest req;
    req.set_opportunity_id(id);
    req.set_stage_key(stage);
    req.set_criterion_key(criterion);
    req.set_checked(checked);
    req.set_expected_version(expected_version);
    return Call(&Stub::SetExitCriterion, req, out, token);
  }
  v1::Opportunity MustCheck(const std::string& id, const std::string& stage,
                            const std::string& criterion) {
    v1::Opportunity out;
    EXPECT_TRUE(IsOk(Check(id, stage, criterion, true, &out)))
        << stage << "/" << criterion;
    return out;
  }
  grpc::Status Move(const std::string& id, const std::string& to,
                    int64_t expected_version, v1::Opportunity* out,
                    const std::string& token = kAdminToken,
                    const std::string& override_reason = "") {
    v1::MoveStageRequest req;
    req.set_opportunity_id(id);
    req.set_to_stage_key(to);
    req.set_expected_version(expected_version);
    req.set_override_reason(override_reason);
    return Call(&Stub::MoveStage, req, out, token);
  }
  // Checks every required criterion of each stage on the way and moves `o`
  // one stage at a time until it sits in `target` (as ADMIN).
  v1::Opportunity AdvanceTo(v1::Opportunity o, const std::string& target) {
    const v1::StageModel model = BuiltIn(o.stage_model_id());
    for (int guard = 0; guard < 20 && o.stage_key() != target; ++guard) {
      const int i = StageIndex(model, o.stage_key());
      if (i < 0 || i + 1 >= model.stages_size()) {
        ADD_FAILURE() << "cannot advance from " << o.stage_key();
        break;
      }
      for (const v1::ExitCriterion& c : model.stages(i).exit_criteria()) {
        if (c.required()) {
          o = MustCheck(o.id(), model.stages(i).key(), c.key());
        }
      }
      v1::Opportunity moved;
      grpc::Status s =
          Move(o.id(), model.stages(i + 1).key(), o.version(), &moved);
      EXPECT_TRUE(IsOk(s)) << "move to " << model.stages(i + 1).key();
      if (!s.ok()) {
        break;
      }
      o = moved;
    }
    EXPECT_EQ(o.stage_key(), target);
    return o;
  }
  grpc::Status Close(const std::string& id, v1::OpportunityStatus outcome,
                     const std::string& reason, int64_t expected_version,
                     v1::Opportunity* out,
                     const std::string& token = kAdminToken) {
    v1::CloseOpportunityRequest req;
    req.set_opportunity_id(id);
    req.set_outcome(outcome);
    req.set_reason(reason);
    req.set_expected_version(expected_version);
    return Call(&Stub::CloseOpportunity, req, out, token);
  }
  grpc::Status Reopen(const std::string& id, const std::string& reason,
                      int64_t expected_version, v1::Opportunity* out,
                      const std::string& token = kAdminToken) {
    v1::ReopenOpportunityRequest req;
    req.set_opportunity_id(id);
    req.set_reason(reason);
    req.set_expected_version(expected_version);
    return Call(&Stub::ReopenOpportunity, req, out, token);
  }
  std::vector<v1::OpportunityChange> History(
      const std::string& id, const std::string& token = kAdminToken) {
    v1::GetOpportunityHistoryRequest req;
    req.set_opportunity_id(id);
    v1::GetOpportunityHistoryResponse resp;
    EXPECT_TRUE(IsOk(Call(&Stub::GetOpportunityHistory, req, &resp, token)));
    return {resp.changes().begin(), resp.changes().end()};
  }
  static int CountKind(const std::vector<v1::OpportunityChange>& changes,
                       v1::ChangeKind kind) {
    return static_cast<int>(std::count_if(
        changes.begin(), changes.end(),
        [&](const v1::OpportunityChange& c) { return c.kind() == kind; }));
  }

  // ---- Buying centre ----
  grpc::Status SetRole(const std::string& opp, const std::string& contact,
                       v1::BuyingRole role, v1::Attitude attitude,
                       int32_t weight, v1::ContactRole* out,
                       const std::string& token = kAdminToken,
                       std::optional<bool> is_core = std::nullopt) {
    v1::SetContactRoleRequest req;
    req.set_opportunity_id(opp);
    req.set_contact_id(contact);
    req.set_role(role);
    req.set_attitude(attitude);
    req.set_influence_weight_pct(weight);
    if (is_core) {
      req.set_is_core(*is_core);
    }
    return Call(&Stub::SetContactRole, req, out, token);
  }
  v1::ContactRole MustSetRole(const std::string& opp,
                              const std::string& contact, v1::BuyingRole role,
                              v1::Attitude attitude = v1::ATTITUDE_C,
                              int32_t weight = 0) {
    v1::ContactRole out;
    EXPECT_TRUE(IsOk(SetRole(opp, contact, role, attitude, weight, &out)))
        << "SetContactRole " << contact;
    return out;
  }
  std::vector<v1::ContactRole> Roles(const std::string& opp,
                                     bool include_removed = false) {
    v1::ListContactRolesRequest req;
    req.set_opportunity_id(opp);
    req.set_include_removed(include_removed);
    v1::ListContactRolesResponse resp;
    EXPECT_TRUE(IsOk(Call(&Stub::ListContactRoles, req, &resp)));
    return {resp.roles().begin(), resp.roles().end()};
  }
  v1::ContactRole RoleOf(const std::string& opp, const std::string& contact) {
    for (const v1::ContactRole& r : Roles(opp, true)) {
      if (r.contact_id() == contact) {
        return r;
      }
    }
    ADD_FAILURE() << "no role of " << contact << " on " << opp;
    return v1::ContactRole();
  }

  // ---- Activities and follow-ups ----
  static v1::Activity Act(
      const std::string& opp, v1::ActivityKind kind,
      std::vector<std::string> contacts = {},
      v1::ActivityOutcome outcome = v1::ACTIVITY_OUTCOME_PROGRESS) {
    v1::Activity a;
    a.set_opportunity_id(opp);
    a.set_kind(kind);
    a.set_outcome(outcome);
    for (const std::string& c : contacts) {
      a.add_contact_ids(c);
    }
    return a;
  }
  grpc::Status Record(const v1::Activity& a, v1::Activity* out,
                      const std::string& token = kAdminToken,
                      const std::string& request_id = "") {
    v1::RecordActivityRequest req;
    *req.mutable_activity() = a;
    req.set_request_id(request_id);
    return Call(&Stub::RecordActivity, req, out, token);
  }
  v1::Activity MustRecord(const v1::Activity& a) {
    v1::Activity out;
    EXPECT_TRUE(IsOk(Record(a, &out)))
        << "RecordActivity " << v1::ActivityKind_Name(a.kind());
    return out;
  }
  std::vector<v1::FollowUp> FollowUps(const std::string& opp) {
    v1::ListFollowUpsRequest req;
    req.set_opportunity_id(opp);
    v1::ListFollowUpsResponse resp;
    EXPECT_TRUE(IsOk(Call(&Stub::ListFollowUps, req, &resp)));
    return {resp.follow_ups().begin(), resp.follow_ups().end()};
  }
  // Ids of the overdue follow-ups `token` gets for `owners` as of `as_of`.
  std::vector<std::string> Overdue(const std::string& token,
                                   std::vector<std::string> owners,
                                   int64_t as_of) {
    v1::ListOverdueFollowUpsRequest req;
    for (const std::string& o : owners) {
      req.add_owner_ids(o);
    }
    req.set_as_of_micros(as_of);
    v1::ListOverdueFollowUpsResponse resp;
    EXPECT_TRUE(IsOk(Call(&Stub::ListOverdueFollowUps, req, &resp, token)));
    std::vector<std::string> ids;
    for (const v1::FollowUp& f : resp.follow_ups()) {
      ids.push_back(f.id());
    }
    return ids;
  }

  // ---- Deal health ----
  v1::GetDealHealthResponse Health(const std::string& opp, int64_t as_of = 0) {
    v1::GetDealHealthRequest req;
    req.set_opportunity_id(opp);
    req.set_as_of_micros(as_of);
    v1::GetDealHealthResponse resp;
    EXPECT_TRUE(IsOk(Call(&Stub::GetDealHealth, req, &resp)));
    return resp;
  }
  static const v1::DealWarning* Find(const v1::GetDealHealthResponse& h,
                                     v1::WarningCode code) {
    for (const v1::DealWarning& w : h.warnings()) {
      if (w.code() == code) {
        return &w;
      }
    }
    return nullptr;
  }
  static bool Has(const v1::GetDealHealthResponse& h, v1::WarningCode code) {
    return Find(h, code) != nullptr;
  }
  static std::vector<std::string> CodesOf(const v1::GetDealHealthResponse& h) {
    std::vector<std::string> codes;
    for (const v1::DealWarning& w : h.warnings()) {
      codes.push_back(v1::WarningCode_Name(w.code()));
    }
    return codes;
  }
  grpc::Status Review(const std::string& opp, v1::Date week,
                      v1::WeeklyReview* out,
                      const std::string& token = kAdminToken) {
    v1::RecordWeeklyReviewRequest req;
    req.mutable_review()->set_opportunity_id(opp);
    *req.mutable_review()->mutable_week() = week;
    req.mutable_review()->set_goal("win the technical selection");
    req.mutable_review()->set_position_vs_competitor(1);
    return Call(&Stub::RecordWeeklyReview, req, out, token);
  }

  // ---- Feed ----
  uint64_t FeedPosition() {
    v1::GetFeedPositionResponse pos;
    auto ctx = Ctx(kServiceToken);
    EXPECT_TRUE(IsOk(feed_stub_->GetFeedPosition(ctx.get(), {}, &pos)));
    return pos.sequence();
  }

  salesops::testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;
  std::vector<v1::OrgNode> org_nodes_;
  uint64_t org_cursor_ = 0;
  std::unique_ptr<OrgMirror> mirror_;
  FakeAccounts accounts_;
  FakeCredit fake_credit_;
  CreditClient* credit_ = nullptr;
  std::map<std::string, Principal> principals_;  // token → principal
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<PipelineServiceImpl> service_;
  std::unique_ptr<testing::LoopbackServer> server_;
  std::unique_ptr<Stub> stub_;
  std::unique_ptr<v1::FeedService::Stub> feed_stub_;
};

// Test suites by topic; all share the fixture.
using PipelineStageModelTest = PipelineServiceTest;
using PipelineCreateTest = PipelineServiceTest;
using PipelineUpdateTest = PipelineServiceTest;
using PipelineListTest = PipelineServiceTest;
using PipelineMoveStageTest = PipelineServiceTest;
using PipelineCreditTest = PipelineServiceTest;
using PipelineConcurrencyTest = PipelineServiceTest;
using PipelineCloseTest = PipelineServiceTest;
using PipelineBuyingCentreTest = PipelineServiceTest;
using PipelineActivityTest = PipelineServiceTest;
using PipelineEvaluationTest = PipelineServiceTest;
using PipelineDealHealthTest = PipelineServiceTest;
using PipelineRolesTest = PipelineServiceTest;
using PipelineFeedTest = PipelineServiceTest;

// ---------------------------------------------------------------------------
// Stage models (SPEC §3.1)

TEST_F(PipelineStageModelTest, BuiltInModelsAreServedExactlyAsSpecified) {
  for (const v1::StageModel& want : BuiltInModels()) {
    SCOPED_TRACE(want.id());
    v1::StageModel got;
    ASSERT_TRUE(IsOk(GetModel(want.id(), &got, kRep1Token)));
    EXPECT_EQ(got.id(), want.id());
    EXPECT_EQ(got.name(), want.name());
    EXPECT_TRUE(got.built_in());
    ASSERT_EQ(got.stages_size(), want.stages_size());
    for (int i = 0; i < want.stages_size(); ++i) {
      EXPECT_TRUE(MessageDifferencer::Equals(got.stages(i), want.stages(i)))
          << "stage " << i << ": got " << got.stages(i).ShortDebugString()
          << "\nwant " << want.stages(i).ShortDebugString();
    }
    EXPECT_TRUE(MessageDifferencer::Equals(got.cadence(), want.cadence()))
        << got.cadence().ShortDebugString();
    EXPECT_TRUE(MessageDifferencer::Equals(got.out_of_funnel_threshold(),
                                           want.out_of_funnel_threshold()));
    EXPECT_EQ(got.out_of_funnel_threshold().units_minor(), 0)
        << "built-in models have no threshold until one is set";
    EXPECT_EQ(got.stall_limit_days(), want.stall_limit_days());
    EXPECT_TRUE(got.win_rate_history().empty());
    EXPECT_EQ(got.version(), 1);
    EXPECT_GT(got.created_micros(), 0);
  }
  // A few facts of the SPEC tables, independently of BuiltInModels().
  v1::StageModel six;
  ASSERT_TRUE(IsOk(GetModel(kBuyingCycle6, &six)));
  std::vector<std::string> keys;
  std::vector<int32_t> rates;
  for (const v1::Stage& s : six.stages()) {
    keys.push_back(s.key());
    rates.push_back(s.win_rate_bp());
  }
  EXPECT_THAT(keys, ElementsAre("INTEREST", "CONSIDERATION", "DESIGN",
                                "COMPARISON", "COMMITMENT", "USAGE"));
  EXPECT_THAT(rates, ElementsAre(500, 1000, 2000, 3000, 5000, 8000));
  EXPECT_TRUE(six.stages(4).requires_credit_check());
  EXPECT_TRUE(six.stages(5).contract_signed());
  EXPECT_TRUE(six.stages(5).closes_on_collection());
  v1::StageModel eight;
  ASSERT_TRUE(IsOk(GetModel(kProjectSales8, &eight, kFinanceToken)));
  ASSERT_EQ(eight.stages_size(), 8);
  EXPECT_EQ(eight.stages(7).key(), "SIGNED");
  EXPECT_EQ(eight.stages(7).win_rate_bp(), 10000);
  EXPECT_TRUE(eight.stages(7).closes_won());
  EXPECT_TRUE(eight.stages(5).requires_credit_check());  // EVALUATION

  v1::StageModel none;
  EXPECT_TRUE(
      IsError(GetModel("stm_nope", &none), grpc::StatusCode::NOT_FOUND));
  EXPECT_TRUE(
      IsError(GetModel("", &none), grpc::StatusCode::INVALID_ARGUMENT, "id"));
}

TEST_F(PipelineStageModelTest, ListStageModelsByIdWithPages) {
  v1::ListStageModelsRequest req;
  v1::ListStageModelsResponse resp;
  ASSERT_TRUE(IsOk(Call(&Stub::ListStageModels, req, &resp, kServiceToken)));
  ASSERT_EQ(resp.models_size(), 2);
  EXPECT_EQ(resp.models(0).id(), kBuyingCycle6);
  EXPECT_EQ(resp.models(1).id(), kProjectSales8);
  EXPECT_TRUE(resp.page().next_page_token().empty());

  const v1::StageModel copy = MustCopyModel(kBuyingCycle6, "Copy");
  std::vector<std::string> ids;
  req.mutable_page()->set_page_size(1);
  for (int guard = 0; guard < 10; ++guard) {
    v1::ListStageModelsResponse page;
    ASSERT_TRUE(IsOk(Call(&Stub::ListStageModels, req, &page, kRep3Token)));
    ASSERT_LE(page.models_size(), 1);
    for (const v1::StageModel& m : page.models()) {
      ids.push_back(m.id());
    }
    if (page.page().next_page_token().empty()) {
      break;
    }
    req.mutable_page()->set_page_token(page.page().next_page_token());
  }
  EXPECT_THAT(ids, ElementsAre(kBuyingCycle6, kProjectSales8, copy.id()));
}

TEST_F(PipelineStageModelTest, CreateCopiesWhatTheModelLeavesEmpty) {
  const v1::StageModel six = BuiltIn(kBuyingCycle6);
  v1::StageModel copy = MustCopyModel(kBuyingCycle6, "  EMEA buying cycle  ",
                                      /*threshold_minor=*/1'000'000);
  EXPECT_TRUE(absl::StartsWith(copy.id(), "stm_")) << copy.id();
  EXPECT_EQ(copy.name(), "EMEA buying cycle");
  EXPECT_FALSE(copy.built_in());
  EXPECT_EQ(copy.version(), 1);
  ASSERT_EQ(copy.stages_size(), six.stages_size());
  for (int i = 0; i < six.stages_size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(copy.stages(i), six.stages(i)));
  }
  EXPECT_TRUE(MessageDifferencer::Equals(copy.cadence(), six.cadence()));
  EXPECT_EQ(copy.out_of_funnel_threshold().units_minor(), 1'000'000);
  EXPECT_EQ(copy.out_of_funnel_threshold().currency(), "EUR");

  // Stored as returned.
  v1::StageModel stored;
  ASSERT_TRUE(IsOk(GetModel(copy.id(), &stored)));
  EXPECT_TRUE(MessageDifferencer::Equals(stored, copy));

  // Given stages win over the source's; output-only fields are ignored.
  v1::StageModel own;
  own.set_name("Two stages");
  own.set_built_in(true);
  v1::Stage* s = own.add_stages();
  s->set_key("OPEN_UP");
  s->set_name("Open up");
  s->set_win_rate_bp(1000);
  s = own.add_stages();
  s->set_key("DONE");
  s->set_name("Done");
  s->set_win_rate_bp(10000);
  s->set_closes_won(true);
  v1::WinRateChange* bogus = own.add_win_rate_history();
  bogus->set_stage_key("DONE");
  v1::StageModel two;
  ASSERT_TRUE(IsOk(CreateModel(own, kProjectSales8, &two)));
  ASSERT_EQ(two.stages_size(), 2);
  EXPECT_EQ(two.stages(0).key(), "OPEN_UP");
  EXPECT_FALSE(two.built_in());
  EXPECT_TRUE(two.win_rate_history().empty());
  EXPECT_TRUE(MessageDifferencer::Equals(two.cadence(),
                                         BuiltIn(kProjectSales8).cadence()));

  v1::StageModel out;
  EXPECT_TRUE(IsError(CreateModel(own, "stm_missing", &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "copy_from_id"));

  // request_id: a retry gets the first result.
  v1::CreateStageModelRequest req;
  req.mutable_model()->set_name("Once");
  req.set_copy_from_id(kBuyingCycle6);
  req.set_request_id("model-req-1");
  v1::StageModel once, twice;
  ASSERT_TRUE(IsOk(Call(&Stub::CreateStageModel, req, &once)));
  ASSERT_TRUE(IsOk(Call(&Stub::CreateStageModel, req, &twice)));
  EXPECT_EQ(once.id(), twice.id());
  v1::ListStageModelsResponse list;
  ASSERT_TRUE(IsOk(Call(&Stub::ListStageModels, {}, &list)));
  EXPECT_EQ(list.models_size(), 5);  // 2 built in, 2 copies, "Once"
}

TEST_F(PipelineStageModelTest, CreateNamesEveryViolatedField) {
  v1::StageModel m;
  m.set_name(" ");
  v1::Stage* s = m.add_stages();
  s->set_key("bad key");
  s->set_name("Bad");
  s->set_win_rate_bp(20000);
  v1::ExitCriterion* c = s->add_exit_criteria();
  c->set_key("Bad-Key");
  c->set_text("");
  s->set_closes_won(true);  // not the last stage
  s = m.add_stages();
  s->set_key("LAST");
  s->set_name("");
  *m.mutable_out_of_funnel_threshold() = Eur(100);
  m.mutable_out_of_funnel_threshold()->set_currency("USD");
  v1::CadenceStep* step = m.mutable_cadence()->add_steps();
  step->set_key("call");
  step->set_text("call");
  step->set_kind(v1::ACTIVITY_KIND_CALL);
  step->set_min_hours(10);
  step->set_max_hours(5);
  v1::StageModel out;
  grpc::Status st = CreateModel(m, "", &out);
  ASSERT_TRUE(IsError(st, grpc::StatusCode::INVALID_ARGUMENT));
  for (const char* needle :
       {"model.name", "model.stages[0].key", "model.stages[0].win_rate_bp",
        "model.stages[0].exit_criteria[0].key",
        "model.stages[0].exit_criteria[0].text", "model.stages[0].closes_won",
        "model.stages[1].name", "model.out_of_funnel_threshold",
        "model.cadence.steps[0].min_hours"}) {
    EXPECT_THAT(st.error_message(), HasSubstr(needle));
  }

  v1::StageModel empty;
  empty.set_name("No stages");
  EXPECT_TRUE(IsError(CreateModel(empty, "", &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "model.stages"));

  v1::StageModel dup = BuiltIn(kBuyingCycle6);
  dup.set_name("Duplicate keys");
  dup.mutable_stages(1)->set_key("INTEREST");
  EXPECT_TRUE(IsError(CreateModel(dup, "", &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "model.stages[1].key: duplicate"));

  // Nothing was stored.
  v1::ListStageModelsResponse list;
  ASSERT_TRUE(IsOk(Call(&Stub::ListStageModels, {}, &list)));
  EXPECT_EQ(list.models_size(), 2);
}

TEST_F(PipelineStageModelTest, OnlyAdminWritesModels) {
  v1::StageModel m;
  m.set_name("Mine");
  v1::StageModel out;
  for (const char* token :
       {kManagerAToken, kRep1Token, kFinanceToken, kServiceToken}) {
    EXPECT_TRUE(IsError(CreateModel(m, kBuyingCycle6, &out, token),
                        grpc::StatusCode::PERMISSION_DENIED))
        << token;
  }
  v1::StageModel six;
  ASSERT_TRUE(IsOk(GetModel(kBuyingCycle6, &six)));
  six.mutable_stages(0)->set_win_rate_bp(600);
  EXPECT_TRUE(IsError(UpdateModel(six, six.version(), &out, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(CreateModel(m, kBuyingCycle6, &out, ""),
                      grpc::StatusCode::UNAUTHENTICATED));
}

TEST_F(PipelineStageModelTest, WinRateChangesAreKeptInHistory) {
  v1::StageModel model = MustCopyModel(kBuyingCycle6, "Editable");
  const int64_t v1_time = NowMicros();
  clock_.Advance(absl::Hours(1));

  v1::StageModel edit = model;
  edit.mutable_stages(0)->set_win_rate_bp(700);  // INTEREST 500 → 700
  edit.set_name("Editable (tuned)");
  // History in the request is output only.
  edit.add_win_rate_history()->set_stage_key("USAGE");
  v1::StageModel updated;
  ASSERT_TRUE(IsOk(UpdateModel(edit, model.version(), &updated)));
  EXPECT_EQ(updated.version(), model.version() + 1);
  EXPECT_EQ(updated.name(), "Editable (tuned)");
  EXPECT_EQ(updated.stages(0).win_rate_bp(), 700);
  EXPECT_EQ(updated.created_micros(), model.created_micros());
  EXPECT_GT(updated.updated_micros(), v1_time);
  ASSERT_EQ(updated.win_rate_history_size(), 1);
  const v1::WinRateChange& c = updated.win_rate_history(0);
  EXPECT_EQ(c.stage_key(), "INTEREST");
  EXPECT_EQ(c.from_bp(), 500);
  EXPECT_EQ(c.to_bp(), 700);
  EXPECT_EQ(c.model_version(), updated.version());
  EXPECT_EQ(c.changed_by(), "admin");
  EXPECT_EQ(c.effective_micros(), NowMicros());

  // A second edit appends; the first entry stays.
  clock_.Advance(absl::Hours(1));
  edit = updated;
  edit.mutable_stages(1)->set_win_rate_bp(1500);  // CONSIDERATION
  edit.mutable_stages(2)->set_win_rate_bp(2500);  // DESIGN
  v1::StageModel again;
  ASSERT_TRUE(IsOk(UpdateModel(edit, updated.version(), &again)));
  ASSERT_EQ(again.win_rate_history_size(), 3);
  EXPECT_TRUE(MessageDifferencer::Equals(again.win_rate_history(0), c));
  EXPECT_EQ(again.win_rate_history(1).stage_key(), "CONSIDERATION");
  EXPECT_EQ(again.win_rate_history(1).from_bp(), 1000);
  EXPECT_EQ(again.win_rate_history(1).to_bp(), 1500);
  EXPECT_EQ(again.win_rate_history(1).model_version(), again.version());
  EXPECT_EQ(again.win_rate_history(2).stage_key(), "DESIGN");

  // A change without rate changes adds nothing.
  edit = again;
  edit.set_stall_limit_days(30);
  v1::StageModel third;
  ASSERT_TRUE(IsOk(UpdateModel(edit, again.version(), &third)));
  EXPECT_EQ(third.win_rate_history_size(), 3);
  EXPECT_EQ(third.stall_limit_days(), 30);

  // Built-in models may be edited too and stay built in.
  v1::StageModel six;
  ASSERT_TRUE(IsOk(GetModel(kBuyingCycle6, &six)));
  six.mutable_stages(5)->set_win_rate_bp(8500);
  v1::StageModel six2;
  ASSERT_TRUE(IsOk(UpdateModel(six, six.version(), &six2)));
  EXPECT_TRUE(six2.built_in());
  ASSERT_EQ(six2.win_rate_history_size(), 1);
  EXPECT_EQ(six2.win_rate_history(0).stage_key(), "USAGE");
}

TEST_F(PipelineStageModelTest, UpdateRejectsStaleVersionsAndKeyChanges) {
  v1::StageModel model = MustCopyModel(kBuyingCycle6, "Editable");
  v1::StageModel edit = model;
  edit.mutable_stages(0)->set_win_rate_bp(600);
  v1::StageModel updated;
  ASSERT_TRUE(IsOk(UpdateModel(edit, model.version(), &updated)));

  // Stale version.
  edit.mutable_stages(0)->set_win_rate_bp(900);
  v1::StageModel out;
  EXPECT_TRUE(IsError(UpdateModel(edit, model.version(), &out),
                      grpc::StatusCode::ABORTED));

  // Renamed key, swapped order, dropped or added stage.
  v1::StageModel renamed = updated;
  renamed.mutable_stages(1)->set_key("TRUST");
  EXPECT_TRUE(IsError(UpdateModel(renamed, updated.version(), &out),
                      grpc::StatusCode::FAILED_PRECONDITION,
                      "model.stages[1].key"));
  v1::StageModel swapped = updated;
  swapped.mutable_stages()->SwapElements(0, 1);
  EXPECT_TRUE(IsError(UpdateModel(swapped, updated.version(), &out),
                      grpc::StatusCode::FAILED_PRECONDITION,
                      "model.stages[0].key"));
  v1::StageModel shorter = updated;
  shorter.mutable_stages()->RemoveLast();
  EXPECT_TRUE(IsError(UpdateModel(shorter, updated.version(), &out),
                      grpc::StatusCode::FAILED_PRECONDITION,
                      "model.stages[5].key"));
  v1::StageModel longer = updated;
  v1::Stage* extra = longer.add_stages();
  extra->set_key("EXTRA");
  extra->set_name("Extra");
  EXPECT_TRUE(IsError(UpdateModel(longer, updated.version(), &out),
                      grpc::StatusCode::FAILED_PRECONDITION,
                      "model.stages[6].key"));

  // Invalid content and unknown ids.
  v1::StageModel bad = updated;
  bad.mutable_stages(2)->set_win_rate_bp(-1);
  EXPECT_TRUE(IsError(UpdateModel(bad, updated.version(), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "model.stages[2].win_rate_bp"));
  v1::StageModel unknown = updated;
  unknown.set_id("stm_unknown");
  EXPECT_TRUE(
      IsError(UpdateModel(unknown, 0, &out), grpc::StatusCode::NOT_FOUND));

  // Nothing of the rejected edits was stored.
  v1::StageModel stored;
  ASSERT_TRUE(IsOk(GetModel(model.id(), &stored)));
  EXPECT_TRUE(MessageDifferencer::Equals(stored, updated));
}

// ---------------------------------------------------------------------------
// CreateOpportunity (SPEC §3.2, §3.7)

TEST_F(PipelineCreateTest, CreatesWithDefaultsHistoryAndFirstFollowUp) {
  const int64_t t0 = NowMicros();
  v1::Opportunity draft = Draft();
  draft.set_name("  Plant automation  ");
  draft.add_competitors()->set_name("Rival AG");
  draft.set_source_channel(v1::SOURCE_CHANNEL_TRADE_SHOW);
  v1::Opportunity o;
  ASSERT_TRUE(IsOk(Create(draft, &o)));
  EXPECT_TRUE(absl::StartsWith(o.id(), "opp_")) << o.id();
  EXPECT_EQ(o.name(), "Plant automation");
  EXPECT_EQ(o.account_id(), kAcc1);
  EXPECT_EQ(o.owner_node_id(), "r1");
  EXPECT_EQ(o.stage_model_id(), kBuyingCycle6);
  EXPECT_EQ(o.stage_key(), "INTEREST");
  EXPECT_EQ(o.status(), v1::OPPORTUNITY_STATUS_OPEN);
  EXPECT_EQ(o.version(), 1);
  EXPECT_EQ(o.history_length(), 1);
  EXPECT_EQ(o.created_micros(), t0);
  EXPECT_EQ(o.stage_entered_micros(), t0);
  EXPECT_FALSE(o.out_of_funnel());
  EXPECT_FALSE(o.credit_review_pending());
  EXPECT_EQ(o.closed_micros(), 0);
  EXPECT_EQ(o.competitors_size(), 1);
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), o));

  const std::vector<v1::OpportunityChange> history = History(o.id());
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].seq(), 1);
  EXPECT_EQ(history[0].kind(), v1::CHANGE_KIND_CREATED);
  EXPECT_EQ(history[0].to(), "INTEREST");
  EXPECT_EQ(history[0].by(), "admin");
  EXPECT_EQ(history[0].time_micros(), t0);
  EXPECT_EQ(history[0].opportunity_version(), 1);

  // The default cadence plans exactly one follow-up: the first call, due
  // within 24 hours of creation.
  const std::vector<v1::FollowUp> fups = FollowUps(o.id());
  ASSERT_EQ(fups.size(), 1u);
  EXPECT_EQ(fups[0].step_key(), "first_call");
  EXPECT_EQ(fups[0].kind(), v1::ACTIVITY_KIND_CALL);
  EXPECT_EQ(fups[0].state(), v1::FOLLOW_UP_STATE_PLANNED);
  EXPECT_EQ(fups[0].owner_node_id(), "r1");
  EXPECT_EQ(fups[0].opportunity_id(), o.id());
  EXPECT_EQ(fups[0].earliest_micros(), t0);
  EXPECT_EQ(fups[0].due_micros(), t0 + 24 * kHour);
}

TEST_F(PipelineCreateTest, AccountAndOwnerAreCheckedWithAccounts) {
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Create(Draft("r1", "acc_missing"), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "opportunity.account_id"));
  EXPECT_TRUE(IsError(Create(Draft("r_missing"), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "opportunity.owner_node_id"));
  for (const char* not_rep : {"t", "a", "root"}) {
    grpc::Status s = Create(Draft(not_rep), &out);
    EXPECT_TRUE(IsError(s, grpc::StatusCode::INVALID_ARGUMENT,
                        "opportunity.owner_node_id"))
        << not_rep;
    EXPECT_THAT(s.error_message(), HasSubstr("REP")) << not_rep;
  }
  v1::Opportunity no_account = Draft();
  no_account.clear_account_id();
  EXPECT_TRUE(IsError(Create(no_account, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "opportunity.account_id"));
  EXPECT_TRUE(ListIds({}).empty());

  // Who may own what: a REP creates for themselves (owner defaults to their
  // node), a MANAGER inside their subtree.
  v1::Opportunity mine = Draft();
  mine.clear_owner_node_id();
  ASSERT_TRUE(IsOk(Create(mine, &out, kRep1Token)));
  EXPECT_EQ(out.owner_node_id(), "r1");
  EXPECT_TRUE(IsError(Create(Draft("r2"), &out, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsOk(Create(Draft("r2"), &out, kManagerAToken)));
  EXPECT_TRUE(IsError(Create(Draft("r3"), &out, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsOk(Create(Draft("r3"), &out, kManagerBToken)));
}

TEST_F(PipelineCreateTest, AccountsUnavailableWritesNothing) {
  const uint64_t before = FeedPosition();
  accounts_.SetUnavailable(true);
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Create(Draft(), &out, kAdminToken, "req-1"),
                      grpc::StatusCode::UNAVAILABLE));
  EXPECT_TRUE(IsError(Create(Draft(), &out, kRep1Token),
                      grpc::StatusCode::UNAVAILABLE));
  EXPECT_TRUE(ListIds({}).empty());
  EXPECT_EQ(FeedPosition(), before);

  // Back up: the same request_id now creates (nothing was remembered).
  accounts_.SetUnavailable(false);
  ASSERT_TRUE(IsOk(Create(Draft(), &out, kAdminToken, "req-1")));
  EXPECT_EQ(ListIds({}), std::set<std::string>{out.id()});
}

TEST_F(PipelineCreateTest, ConfirmedAccountsAndFollowedRepsNeedNoCall) {
  v1::Opportunity out;
  ASSERT_TRUE(IsOk(Create(Draft(), &out)));
  // The account was confirmed once and the owner is in the followed org
  // tree: creating more for them does not ask accounts again.
  accounts_.SetUnavailable(true);
  EXPECT_TRUE(IsOk(Create(Draft(), &out)));
  // An account never confirmed still needs accounts.
  v1::Opportunity other = Draft();
  other.set_account_id(kAcc2);
  EXPECT_TRUE(IsError(Create(other, &out), grpc::StatusCode::UNAVAILABLE));
}

TEST_F(PipelineCreateTest, FieldsAreValidated) {
  struct Case {
    std::string what;
    std::function<void(v1::Opportunity*)> change;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"blank name", [](v1::Opportunity* o) { o->set_name("  "); },
       "opportunity.name"},
      {"long name",
       [](v1::Opportunity* o) { o->set_name(std::string(201, 'x')); },
       "opportunity.name"},
      {"zero amount", [](v1::Opportunity* o) { *o->mutable_amount() = Eur(0); },
       "opportunity.amount"},
      {"negative amount",
       [](v1::Opportunity* o) { *o->mutable_amount() = Eur(-5); },
       "opportunity.amount"},
      {"other currency",
       [](v1::Opportunity* o) { o->mutable_amount()->set_currency("USD"); },
       "opportunity.amount.currency"},
      {"no amount", [](v1::Opportunity* o) { o->clear_amount(); },
       "opportunity.amount"},
      {"no close date",
       [](v1::Opportunity* o) { o->clear_expected_close_date(); },
       "opportunity.expected_close_date"},
      {"invalid close date",
       [](v1::Opportunity* o) {
         *o->mutable_expected_close_date() = Day(2026, 2, 30);
       },
       "opportunity.expected_close_date"},
      {"unnamed competitor",
       [](v1::Opportunity* o) { o->add_competitors()->set_name(""); },
       "opportunity.competitors[0].name"},
      {"unknown model",
       [](v1::Opportunity* o) { o->set_stage_model_id("stm_missing"); },
       "opportunity.stage_model_id"},
      {"unknown stage", [](v1::Opportunity* o) { o->set_stage_key("NOWHERE"); },
       "opportunity.stage_key"},
      {"closes-won stage",
       [](v1::Opportunity* o) {
         o->set_stage_model_id(kProjectSales8);
         o->set_stage_key("SIGNED");
       },
       "opportunity.stage_key"},
  };
  for (const Case& c : cases) {
    v1::Opportunity o = Draft();
    c.change(&o);
    v1::Opportunity out;
    EXPECT_TRUE(
        IsError(Create(o, &out), grpc::StatusCode::INVALID_ARGUMENT, c.needle))
        << c.what;
  }
  // Every violation at once.
  v1::Opportunity all = Draft();
  all.set_name("");
  *all.mutable_amount() = Eur(0);
  all.clear_expected_close_date();
  v1::Opportunity out;
  grpc::Status s = Create(all, &out);
  ASSERT_TRUE(IsError(s, grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(s.error_message(), HasSubstr("opportunity.name"));
  EXPECT_THAT(s.error_message(), HasSubstr("opportunity.amount"));
  EXPECT_THAT(s.error_message(), HasSubstr("opportunity.expected_close_date"));
  EXPECT_TRUE(ListIds({}).empty());

  // A unique external id.
  v1::Opportunity ext = Draft();
  ext.set_external_id("crm-1");
  ASSERT_TRUE(IsOk(Create(ext, &out)));
  EXPECT_TRUE(IsError(Create(ext, &out), grpc::StatusCode::ALREADY_EXISTS,
                      "opportunity.external_id"));
}

TEST_F(PipelineCreateTest, BelowTheOutOfFunnelThresholdIsRefused) {
  // 10,000.00 EUR threshold on a copy of buying-cycle-6.
  const v1::StageModel model =
      MustCopyModel(kBuyingCycle6, "With threshold", 1'000'000);
  v1::Opportunity small = Draft("r1", kAcc1, 999'999);
  small.set_stage_model_id(model.id());
  v1::Opportunity out;
  grpc::Status s = Create(small, &out);
  EXPECT_TRUE(
      IsError(s, grpc::StatusCode::FAILED_PRECONDITION, "out-of-funnel"));
  EXPECT_THAT(s.error_message(), HasSubstr("opportunity.amount"));
  EXPECT_TRUE(ListIds({}).empty());

  // At the threshold is fine; the built-in model has none.
  v1::Opportunity enough = Draft("r1", kAcc1, 1'000'000);
  enough.set_stage_model_id(model.id());
  ASSERT_TRUE(IsOk(Create(enough, &out)));
  EXPECT_FALSE(out.out_of_funnel());
  EXPECT_TRUE(IsOk(Create(Draft("r1", kAcc1, 100), &out)));

  // Lowering an amount below the threshold is refused as well.
  v1::Opportunity opp = MustCreate(enough);
  v1::Opportunity lower = opp;
  *lower.mutable_amount() = Eur(500'000);
  EXPECT_TRUE(IsError(Update(lower, opp.version(), &out),
                      grpc::StatusCode::FAILED_PRECONDITION, "out-of-funnel"));
}

TEST_F(PipelineCreateTest, ThresholdRaisedAfterCreationMarksOutOfFunnel) {
  const v1::StageModel model =
      MustCopyModel(kBuyingCycle6, "With threshold", 1'000'000);
  v1::Opportunity draft = Draft("r1", kAcc1, 1'500'000);
  draft.set_stage_model_id(model.id());
  const v1::Opportunity opp = MustCreate(draft);

  v1::StageModel raised = model;
  *raised.mutable_out_of_funnel_threshold() = Eur(2'000'000);
  v1::StageModel stored;
  ASSERT_TRUE(IsOk(UpdateModel(raised, model.version(), &stored)));

  // The next change of the opportunity notices it is below the threshold;
  // it stays changeable as long as its amount is not changed.
  const v1::Opportunity checked =
      MustCheck(opp.id(), "INTEREST", "purchase_request");
  EXPECT_TRUE(checked.out_of_funnel());
  v1::Opportunity renamed = checked;
  renamed.set_name("Renamed");
  v1::Opportunity out;
  ASSERT_TRUE(IsOk(Update(renamed, checked.version(), &out)));
  EXPECT_TRUE(out.out_of_funnel());
  EXPECT_EQ(out.name(), "Renamed");
  // Raising the amount above the threshold clears the flag.
  renamed = out;
  *renamed.mutable_amount() = Eur(2'500'000);
  ASSERT_TRUE(IsOk(Update(renamed, out.version(), &out)));
  EXPECT_FALSE(out.out_of_funnel());
}

TEST_F(PipelineCreateTest, RequestIdMakesCreateIdempotent) {
  v1::Opportunity first, second;
  ASSERT_TRUE(IsOk(Create(Draft(), &first, kAdminToken, "req-42")));
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(IsOk(Create(Draft(), &second, kAdminToken, "req-42")));
  EXPECT_EQ(second.id(), first.id());
  EXPECT_TRUE(MessageDifferencer::Equals(first, second));
  EXPECT_EQ(ListIds({}), std::set<std::string>{first.id()});
  EXPECT_EQ(FollowUps(first.id()).size(), 1u);
  EXPECT_EQ(History(first.id()).size(), 1u);

  // Another request under the same id is refused; another id creates.
  v1::Opportunity other = Draft();
  other.set_name("Something else");
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Create(other, &out, kAdminToken, "req-42"),
                      grpc::StatusCode::FAILED_PRECONDITION));
  ASSERT_TRUE(IsOk(Create(other, &out, kAdminToken, "req-43")));
  EXPECT_NE(out.id(), first.id());
  EXPECT_EQ(ListIds({}).size(), 2u);
}

TEST_F(PipelineCreateTest, ModelWithoutCadencePlansNoFollowUps) {
  v1::StageModel m;
  m.set_name("Quiet");
  m.mutable_cadence();  // set but empty: no steps
  v1::StageModel quiet;
  ASSERT_TRUE(IsOk(CreateModel(m, kBuyingCycle6, &quiet)));
  EXPECT_EQ(quiet.cadence().steps_size(), 0);
  v1::Opportunity draft = Draft();
  draft.set_stage_model_id(quiet.id());
  const v1::Opportunity o = MustCreate(draft);
  EXPECT_TRUE(FollowUps(o.id()).empty());
}

// ---------------------------------------------------------------------------
// UpdateOpportunity (SPEC §3.2, §3.3 history)

TEST_F(PipelineUpdateTest, AmountAndCloseDateChangesAreHistory) {
  const v1::Opportunity o = MustCreate();
  clock_.Advance(absl::Minutes(10));
  v1::Opportunity edit = o;
  *edit.mutable_amount() = Eur(7'500'000);
  *edit.mutable_expected_close_date() = Day(2026, 9, 15);
  edit.set_name("Bigger deal");
  edit.mutable_next_step()->set_text("send the offer");
  *edit.mutable_next_step()->mutable_due() = Day(2026, 1, 9);
  v1::Opportunity updated;
  ASSERT_TRUE(IsOk(Update(edit, o.version(), &updated, kRep1Token)));
  EXPECT_EQ(updated.version(), o.version() + 1);
  EXPECT_EQ(updated.amount().units_minor(), 7'500'000);
  EXPECT_EQ(updated.name(), "Bigger deal");
  EXPECT_EQ(updated.next_step().text(), "send the offer");
  EXPECT_EQ(updated.history_length(), 3);
  EXPECT_EQ(updated.updated_micros(), NowMicros());
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), updated));

  const std::vector<v1::OpportunityChange> h = History(o.id(), kRep1Token);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[1].kind(), v1::CHANGE_KIND_AMOUNT);
  EXPECT_EQ(h[1].from(), "5000000");
  EXPECT_EQ(h[1].to(), "7500000");
  EXPECT_EQ(h[1].by(), "rep-1");
  EXPECT_EQ(h[1].time_micros(), NowMicros());
  EXPECT_EQ(h[2].kind(), v1::CHANGE_KIND_CLOSE_DATE);
  EXPECT_EQ(h[2].from(), "2026-06-30");
  EXPECT_EQ(h[2].to(), "2026-09-15");
  EXPECT_EQ(h[1].opportunity_version(), updated.version());
  EXPECT_EQ(h[2].opportunity_version(), updated.version());

  // A change of neither adds no history.
  edit = updated;
  edit.set_name("Renamed only");
  v1::Opportunity renamed;
  ASSERT_TRUE(IsOk(Update(edit, updated.version(), &renamed)));
  EXPECT_EQ(renamed.history_length(), 3);
  EXPECT_EQ(History(o.id()).size(), 3u);
}

TEST_F(PipelineUpdateTest, StaleVersionIsAbortedAndChangesNothing) {
  const v1::Opportunity o = MustCreate();
  v1::Opportunity edit = o;
  edit.set_name("First");
  v1::Opportunity first;
  ASSERT_TRUE(IsOk(Update(edit, o.version(), &first)));
  edit.set_name("Second");
  *edit.mutable_amount() = Eur(1);
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Update(edit, o.version(), &out),
                      grpc::StatusCode::ABORTED, "expected_version"));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), first));
  // 0 means "any version".
  ASSERT_TRUE(IsOk(Update(edit, 0, &out)));
  EXPECT_EQ(out.name(), "Second");
  EXPECT_TRUE(IsError(Update(edit, -1, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "expected_version"));
}

TEST_F(PipelineUpdateTest, FixedFieldsAndReassignment) {
  const v1::Opportunity o = MustCreate();
  v1::Opportunity out;

  v1::Opportunity other_account = o;
  other_account.set_account_id(kAcc2);
  EXPECT_TRUE(IsError(Update(other_account, o.version(), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "opportunity.account_id"));
  v1::Opportunity other_model = o;
  other_model.set_stage_model_id(kProjectSales8);
  EXPECT_TRUE(IsError(Update(other_model, o.version(), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "opportunity.stage_model_id"));
  v1::Opportunity other_stage = o;
  other_stage.set_stage_key("DESIGN");
  EXPECT_TRUE(IsError(Update(other_stage, o.version(), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "opportunity.stage_key"));
  v1::Opportunity invalid = o;
  invalid.set_name("");
  EXPECT_TRUE(IsError(Update(invalid, o.version(), &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "opportunity.name"));
  v1::Opportunity unknown = o;
  unknown.set_id("opp_unknown");
  EXPECT_TRUE(IsError(Update(unknown, 0, &out), grpc::StatusCode::NOT_FOUND));

  // A REP may not reassign, not even within their team.
  v1::Opportunity to_r2 = o;
  to_r2.set_owner_node_id("r2");
  EXPECT_TRUE(IsError(Update(to_r2, o.version(), &out, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED, "owner_node_id"));
  // A MANAGER only inside their subtree, only to REP nodes.
  v1::Opportunity to_r3 = o;
  to_r3.set_owner_node_id("r3");
  EXPECT_TRUE(IsError(Update(to_r3, o.version(), &out, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  v1::Opportunity to_team = o;
  to_team.set_owner_node_id("t");
  EXPECT_TRUE(IsError(Update(to_team, o.version(), &out, kManagerAToken),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "opportunity.owner_node_id"));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), o));

  ASSERT_TRUE(IsOk(Update(to_r2, o.version(), &out, kManagerAToken)));
  EXPECT_EQ(out.owner_node_id(), "r2");
  const std::vector<v1::OpportunityChange> h = History(o.id());
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].kind(), v1::CHANGE_KIND_OWNER);
  EXPECT_EQ(h[1].from(), "r1");
  EXPECT_EQ(h[1].to(), "r2");
  EXPECT_EQ(h[1].by(), "manager-a");
  // The planned follow-ups move with it; rep 1 no longer sees it.
  for (const v1::FollowUp& f : FollowUps(o.id())) {
    EXPECT_EQ(f.owner_node_id(), "r2");
  }
  EXPECT_TRUE(IsError(Get(o.id(), &out, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(OwnedBy({"r2"}), std::set<std::string>{o.id()});
  EXPECT_TRUE(OwnedBy({"r1"}).empty());

  // Accounts down: a node the followed org tree does not know cannot be
  // checked; a rep it knows can, and a plain edit goes on.
  accounts_.SetUnavailable(true);
  v1::Opportunity away = MustGet(o.id());
  away.set_owner_node_id("r9");
  EXPECT_TRUE(IsError(Update(away, 0, &out), grpc::StatusCode::UNAVAILABLE));
  v1::Opportunity back = MustGet(o.id());
  back.set_owner_node_id("r1");
  EXPECT_TRUE(IsOk(Update(back, 0, &out)));
  EXPECT_EQ(out.owner_node_id(), "r1");
  v1::Opportunity rename = MustGet(o.id());
  rename.set_name("Renamed while accounts is down");
  EXPECT_TRUE(IsOk(Update(rename, 0, &out)));
}

TEST_F(PipelineUpdateTest, ClosedOpportunitiesCannotBeChanged) {
  const v1::Opportunity o = MustCreate();
  v1::Opportunity closed;
  ASSERT_TRUE(IsOk(Close(o.id(), v1::OPPORTUNITY_STATUS_LOST,
                         "competitor was cheaper", o.version(), &closed)));
  v1::Opportunity edit = closed;
  edit.set_name("Too late");
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Update(edit, closed.version(), &out),
                      grpc::StatusCode::FAILED_PRECONDITION, "LOST"));
  EXPECT_TRUE(IsError(Check(o.id(), "INTEREST", "purchase_request", true, &out),
                      grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_TRUE(
      IsError(Move(o.id(), "CONSIDERATION", 0, &out, kAdminToken, "forced"),
              grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), closed));
}

// ---------------------------------------------------------------------------
// ListOpportunities and GetOpportunity scope (SPEC §3.2, §8)

class PipelineListFixture : public PipelineServiceTest {
 protected:
  void SetUp() override {
    PipelineServiceTest::SetUp();
    o1_ = MustCreate(Draft("r1", kAcc1, 1'000'000, Day(2026, 3, 31)));
    o2_ = MustCreate(Draft("r1", kAcc2, 2'000'000, Day(2026, 6, 30)));
    o3_ = MustCreate(Draft("r2", kAcc1, 3'000'000, Day(2026, 9, 30)));
    o4_ = MustCreate(Draft("r3", kAcc1, 4'000'000, Day(2026, 4, 15)));
    o5_ = MustCreate(Draft("r3", kAcc2, 5'000'000, Day(2026, 12, 31)));
    o6_ = MustCreate(Draft("r1", kAcc1, 6'000'000, Day(2026, 5, 15)));
    v1::Opportunity out;
    ASSERT_TRUE(IsOk(Close(o6_.id(), v1::OPPORTUNITY_STATUS_LOST, "lost",
                           o6_.version(), &out)));
    AdvanceTo(o2_, "CONSIDERATION");
  }
  std::set<std::string> Of(std::initializer_list<const v1::Opportunity*> os) {
    std::set<std::string> ids;
    for (const v1::Opportunity* o : os) {
      ids.insert(o->id());
    }
    return ids;
  }
  v1::Opportunity o1_, o2_, o3_, o4_, o5_, o6_;
};

using PipelineListFilterTest = PipelineListFixture;

TEST_F(PipelineListFilterTest, FiltersByOwnerSubtreeAccountStatusStageDate) {
  const auto all = Of({&o1_, &o2_, &o3_, &o4_, &o5_, &o6_});
  EXPECT_EQ(ListIds({}), all);
  EXPECT_EQ(OwnedBy({"root"}), all);
  EXPECT_EQ(OwnedBy({"a"}), Of({&o1_, &o2_, &o3_, &o6_}));
  EXPECT_EQ(OwnedBy({"t"}), Of({&o1_, &o2_, &o3_, &o6_}));
  EXPECT_EQ(OwnedBy({"r1"}), Of({&o1_, &o2_, &o6_}));
  EXPECT_EQ(OwnedBy({"b"}), Of({&o4_, &o5_}));
  EXPECT_EQ(OwnedBy({"r2", "r3"}), Of({&o3_, &o4_, &o5_}));
  EXPECT_TRUE(OwnedBy({"nobody"}).empty());

  v1::ListOpportunitiesRequest req;
  req.set_account_id(kAcc2);
  EXPECT_EQ(ListIds(req), Of({&o2_, &o5_}));

  req.Clear();
  req.set_status(v1::OPPORTUNITY_STATUS_LOST);
  EXPECT_EQ(ListIds(req), Of({&o6_}));
  req.set_status(v1::OPPORTUNITY_STATUS_OPEN);
  EXPECT_EQ(ListIds(req), Of({&o1_, &o2_, &o3_, &o4_, &o5_}));

  req.Clear();
  req.set_stage_key("CONSIDERATION");
  EXPECT_EQ(ListIds(req), Of({&o2_}));
  req.set_stage_key("INTEREST");
  EXPECT_EQ(ListIds(req), Of({&o1_, &o3_, &o4_, &o5_, &o6_}));

  req.Clear();
  req.set_stage_model_id(kProjectSales8);
  EXPECT_TRUE(ListIds(req).empty());
  req.set_stage_model_id(kBuyingCycle6);
  EXPECT_EQ(ListIds(req), all);

  // Close dates within [from, to], both ends included.
  req.Clear();
  *req.mutable_close_from() = Day(2026, 4, 15);
  *req.mutable_close_to() = Day(2026, 6, 30);
  EXPECT_EQ(ListIds(req), Of({&o2_, &o4_, &o6_}));
  req.clear_close_to();
  *req.mutable_close_from() = Day(2026, 7, 1);
  EXPECT_EQ(ListIds(req), Of({&o3_, &o5_}));
  req.clear_close_from();
  *req.mutable_close_to() = Day(2026, 3, 31);
  EXPECT_EQ(ListIds(req), Of({&o1_}));

  // Combined.
  req.Clear();
  req.add_owner_ids("a");
  req.set_account_id(kAcc1);
  req.set_status(v1::OPPORTUNITY_STATUS_OPEN);
  EXPECT_EQ(ListIds(req), Of({&o1_, &o3_}));

  // Bad filters.
  req.Clear();
  *req.mutable_close_from() = Day(2026, 7, 1);
  *req.mutable_close_to() = Day(2026, 6, 1);
  v1::ListOpportunitiesResponse resp;
  EXPECT_TRUE(IsError(List(req, &resp), grpc::StatusCode::INVALID_ARGUMENT,
                      "close_to"));
  req.Clear();
  *req.mutable_close_from() = Day(2026, 13, 1);
  EXPECT_TRUE(IsError(List(req, &resp), grpc::StatusCode::INVALID_ARGUMENT,
                      "close_from"));
  req.Clear();
  req.set_status(static_cast<v1::OpportunityStatus>(42));
  EXPECT_TRUE(
      IsError(List(req, &resp), grpc::StatusCode::INVALID_ARGUMENT, "status"));
}

TEST_F(PipelineListFilterTest, PagesCoverEverythingExactlyOnceInIdOrder) {
  const std::vector<std::string> created = {o1_.id(), o2_.id(), o3_.id(),
                                            o4_.id(), o5_.id(), o6_.id()};
  for (int size : {1, 2, 4, 6, 100}) {
    SCOPED_TRACE(size);
    int pages = 0;
    std::vector<std::string> ids;
    for (const v1::Opportunity& o : ListAll({}, size, kAdminToken, &pages)) {
      ids.push_back(o.id());
    }
    EXPECT_EQ(ids, created) << "every one once, in creation order";
    EXPECT_EQ(pages, (6 + size - 1) / size);
  }
  // Paging a filtered listing, and a manager's filtered view.
  v1::ListOpportunitiesRequest req;
  req.add_owner_ids("t");
  std::vector<std::string> ids;
  for (const v1::Opportunity& o : ListAll(req, 1)) {
    ids.push_back(o.id());
  }
  EXPECT_THAT(ids, ElementsAre(o1_.id(), o2_.id(), o3_.id(), o6_.id()));
  ids.clear();
  for (const v1::Opportunity& o : ListAll({}, 1, kManagerBToken)) {
    ids.push_back(o.id());
  }
  EXPECT_THAT(ids, ElementsAre(o4_.id(), o5_.id()));

  v1::ListOpportunitiesRequest bad;
  bad.mutable_page()->set_page_token("not-a-token");
  v1::ListOpportunitiesResponse resp;
  EXPECT_TRUE(IsError(List(bad, &resp), grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_F(PipelineListFilterTest, ListsAreFilteredToTheCallersScope) {
  // A REP sees only their own, whatever they ask for.
  EXPECT_EQ(ListIds({}, kRep1Token), Of({&o1_, &o2_, &o6_}));
  EXPECT_EQ(OwnedBy({"a"}, kRep1Token), Of({&o1_, &o2_, &o6_}));
  EXPECT_TRUE(OwnedBy({"b"}, kRep1Token).empty());
  EXPECT_EQ(ListIds({}, kRep3Token), Of({&o4_, &o5_}));
  // A MANAGER their subtree: filtered, not failed.
  EXPECT_EQ(ListIds({}, kManagerAToken), Of({&o1_, &o2_, &o3_, &o6_}));
  EXPECT_EQ(ListIds({}, kManagerBToken), Of({&o4_, &o5_}));
  EXPECT_TRUE(OwnedBy({"b"}, kManagerAToken).empty());
  EXPECT_TRUE(OwnedBy({"r3"}, kManagerAToken).empty());
  EXPECT_EQ(OwnedBy({"root"}, kManagerAToken), Of({&o1_, &o2_, &o3_, &o6_}));
  // FINANCE and SERVICE read everything.
  EXPECT_EQ(ListIds({}, kFinanceToken).size(), 6u);
  EXPECT_EQ(ListIds({}, kServiceToken).size(), 6u);

  // A single opportunity outside the scope is PERMISSION_DENIED.
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Get(o1_.id(), &out, kRep3Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Get(o3_.id(), &out, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Get(o1_.id(), &out, kManagerBToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsOk(Get(o3_.id(), &out, kManagerAToken)));
  EXPECT_TRUE(IsOk(Get(o4_.id(), &out, kFinanceToken)));
  EXPECT_TRUE(IsError(Get("opp_unknown", &out), grpc::StatusCode::NOT_FOUND));
  EXPECT_TRUE(IsError(Get("", &out), grpc::StatusCode::INVALID_ARGUMENT, "id"));
  v1::GetOpportunityHistoryRequest hreq;
  hreq.set_opportunity_id(o4_.id());
  v1::GetOpportunityHistoryResponse hresp;
  EXPECT_TRUE(
      IsError(Call(&Stub::GetOpportunityHistory, hreq, &hresp, kManagerAToken),
              grpc::StatusCode::PERMISSION_DENIED));
  v1::ListFollowUpsRequest freq;
  freq.set_opportunity_id(o4_.id());
  v1::ListFollowUpsResponse fresp;
  EXPECT_TRUE(IsError(Call(&Stub::ListFollowUps, freq, &fresp, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
}

// ---------------------------------------------------------------------------
// MoveStage (SPEC §3.3)

TEST_F(PipelineMoveStageTest, ForwardNeedsTheRequiredExitCriteria) {
  const v1::Opportunity o = MustCreate();
  v1::Opportunity out;
  grpc::Status s = Move(o.id(), "CONSIDERATION", o.version(), &out);
  ASSERT_TRUE(IsError(s, grpc::StatusCode::FAILED_PRECONDITION,
                      "INTEREST/purchase_request"));
  EXPECT_THAT(s.error_message(), HasSubstr("to_stage_key"));

  // Skipping stages lists the unchecked criteria of every stage left behind,
  // not those of the target.
  s = Move(o.id(), "COMPARISON", o.version(), &out);
  ASSERT_TRUE(IsError(s, grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(s.error_message(), HasSubstr("INTEREST/purchase_request"));
  EXPECT_THAT(s.error_message(), HasSubstr("CONSIDERATION/decision_to_buy"));
  EXPECT_THAT(s.error_message(), HasSubstr("DESIGN/plan_and_specs_ready"));
  EXPECT_THAT(s.error_message(), Not(HasSubstr("COMPARISON/")));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), o));

  // A checked criterion of the current stage is not enough for a skip.
  v1::Opportunity checked = MustCheck(o.id(), "INTEREST", "purchase_request");
  EXPECT_EQ(checked.version(), o.version() + 1);
  ASSERT_EQ(checked.criteria_size(), 1);
  EXPECT_TRUE(checked.criteria(0).checked());
  EXPECT_EQ(checked.criteria(0).changed_by(), "admin");
  s = Move(o.id(), "COMPARISON", checked.version(), &out);
  ASSERT_TRUE(IsError(s, grpc::StatusCode::FAILED_PRECONDITION,
                      "CONSIDERATION/decision_to_buy"));
  EXPECT_THAT(s.error_message(), Not(HasSubstr("INTEREST/purchase_request")));

  // Unchecking counts.
  ASSERT_TRUE(IsOk(Check(o.id(), "INTEREST", "purchase_request", false, &out)));
  EXPECT_TRUE(IsError(Move(o.id(), "CONSIDERATION", out.version(), &out),
                      grpc::StatusCode::FAILED_PRECONDITION,
                      "INTEREST/purchase_request"));

  // A stale expected_version is refused.
  EXPECT_TRUE(IsError(Check(o.id(), "INTEREST", "purchase_request", true, &out,
                            kAdminToken, o.version()),
                      grpc::StatusCode::ABORTED));

  // Criteria of unknown stages or keys.
  EXPECT_TRUE(IsError(Check(o.id(), "NOWHERE", "purchase_request", true, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "stage_key"));
  EXPECT_TRUE(IsError(Check(o.id(), "INTEREST", "nothing", true, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "criterion_key"));
}

TEST_F(PipelineMoveStageTest, CheckedMovesForwardAndSlipsAreRecorded) {
  const v1::Opportunity o = MustCreate();
  clock_.Advance(absl::Hours(3));
  const v1::Opportunity checked =
      MustCheck(o.id(), "INTEREST", "purchase_request");
  v1::Opportunity moved;
  ASSERT_TRUE(IsOk(
      Move(o.id(), "CONSIDERATION", checked.version(), &moved, kRep1Token)));
  EXPECT_EQ(moved.stage_key(), "CONSIDERATION");
  EXPECT_EQ(moved.version(), checked.version() + 1);
  EXPECT_EQ(moved.stage_entered_micros(), NowMicros());
  EXPECT_FALSE(moved.credit_review_pending());
  std::vector<v1::OpportunityChange> h = History(o.id());
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].kind(), v1::CHANGE_KIND_STAGE_FORWARD);
  EXPECT_EQ(h[1].from(), "INTEREST");
  EXPECT_EQ(h[1].to(), "CONSIDERATION");
  EXPECT_EQ(h[1].by(), "rep-1");
  EXPECT_FALSE(h[1].override());
  EXPECT_TRUE(h[1].overridden_criteria().empty());
  EXPECT_EQ(h[1].opportunity_version(), moved.version());

  // Backward is always allowed, whatever is checked, even by a REP.
  clock_.Advance(absl::Hours(1));
  v1::Opportunity slipped;
  ASSERT_TRUE(
      IsOk(Move(o.id(), "INTEREST", moved.version(), &slipped, kRep1Token)));
  EXPECT_EQ(slipped.stage_key(), "INTEREST");
  EXPECT_EQ(slipped.stage_entered_micros(), NowMicros());
  h = History(o.id());
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[2].kind(), v1::CHANGE_KIND_STAGE_BACKWARD);
  EXPECT_EQ(h[2].from(), "CONSIDERATION");
  EXPECT_EQ(h[2].to(), "INTEREST");

  // A slip of several stages at once.
  const v1::Opportunity far = AdvanceTo(slipped, "COMPARISON");
  v1::Opportunity back;
  ASSERT_TRUE(IsOk(Move(o.id(), "INTEREST", far.version(), &back)));
  EXPECT_EQ(History(o.id()).back().kind(), v1::CHANGE_KIND_STAGE_BACKWARD);
  // Criteria stay checked: moving forward again needs no new checks.
  ASSERT_TRUE(IsOk(Move(o.id(), "COMPARISON", back.version(), &back)));

  // Bad targets.
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Move(o.id(), "COMPARISON", 0, &out),
                      grpc::StatusCode::FAILED_PRECONDITION, "already"));
  EXPECT_TRUE(IsError(Move(o.id(), "NOWHERE", 0, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "to_stage_key"));
  EXPECT_TRUE(IsError(Move(o.id(), "", 0, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "to_stage_key"));
  EXPECT_TRUE(
      IsError(Move(o.id(), "INTEREST", 1, &out), grpc::StatusCode::ABORTED));
  EXPECT_TRUE(IsError(Move("opp_unknown", "INTEREST", 0, &out),
                      grpc::StatusCode::NOT_FOUND));
}

TEST_F(PipelineMoveStageTest, OnlyManagersAndAdminsOverride) {
  const v1::Opportunity o = MustCreate();
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Move(o.id(), "DESIGN", o.version(), &out, kRep1Token,
                           "customer said yes on the phone"),
                      grpc::StatusCode::PERMISSION_DENIED, "override_reason"));
  // A manager outside the subtree may not either.
  EXPECT_TRUE(IsError(
      Move(o.id(), "DESIGN", o.version(), &out, kManagerBToken, "because"),
      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), o));

  clock_.Advance(absl::Minutes(5));
  v1::Opportunity forced;
  ASSERT_TRUE(IsOk(Move(o.id(), "DESIGN", o.version(), &forced, kManagerAToken,
                        "  budget confirmed by the CFO  ")));
  EXPECT_EQ(forced.stage_key(), "DESIGN");
  const std::vector<v1::OpportunityChange> h = History(o.id());
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].kind(), v1::CHANGE_KIND_STAGE_FORWARD);
  EXPECT_TRUE(h[1].override());
  EXPECT_EQ(h[1].reason(), "budget confirmed by the CFO");
  EXPECT_EQ(h[1].by(), "manager-a");
  EXPECT_EQ(h[1].time_micros(), NowMicros());
  // Recorded as "STAGE/criterion" (pipeline.proto, OpportunityChange).
  EXPECT_THAT(h[1].overridden_criteria(),
              ElementsAre("INTEREST/purchase_request",
                          "CONSIDERATION/decision_to_buy"));

  // A reason with nothing to override is not an override.
  const v1::Opportunity ready =
      MustCheck(o.id(), "DESIGN", "plan_and_specs_ready");
  v1::Opportunity plain;
  ASSERT_TRUE(IsOk(Move(o.id(), "COMPARISON", ready.version(), &plain,
                        kAdminToken, "not needed")));
  const v1::OpportunityChange last = History(o.id()).back();
  EXPECT_FALSE(last.override());
  EXPECT_TRUE(last.overridden_criteria().empty());
}

TEST_F(PipelineMoveStageTest, SignedClosesProjectSalesAsWon) {
  v1::Opportunity draft = Draft();
  draft.set_stage_model_id(kProjectSales8);
  draft.set_stage_key("NEGOTIATION");
  const v1::Opportunity o = MustCreate(draft);
  EXPECT_EQ(o.stage_key(), "NEGOTIATION");
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Move(o.id(), "SIGNED", o.version(), &out),
                      grpc::StatusCode::FAILED_PRECONDITION,
                      "NEGOTIATION/terms_agreed"));
  const v1::Opportunity checked =
      MustCheck(o.id(), "NEGOTIATION", "terms_agreed");
  clock_.Advance(absl::Hours(2));
  v1::Opportunity won;
  ASSERT_TRUE(IsOk(Move(o.id(), "SIGNED", checked.version(), &won)));
  EXPECT_EQ(won.stage_key(), "SIGNED");
  EXPECT_EQ(won.status(), v1::OPPORTUNITY_STATUS_WON);
  EXPECT_EQ(won.closed_micros(), NowMicros());
  EXPECT_EQ(fake_credit_.calls(), 0) << "SIGNED needs no credit check";
  const std::vector<v1::OpportunityChange> h = History(o.id());
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[1].kind(), v1::CHANGE_KIND_STAGE_FORWARD);
  EXPECT_EQ(h[1].to(), "SIGNED");
  EXPECT_EQ(h[2].kind(), v1::CHANGE_KIND_CLOSED);
  EXPECT_EQ(h[2].from(), "OPEN");
  EXPECT_EQ(h[2].to(), "WON");
  EXPECT_EQ(h[2].seq(), 3);
  EXPECT_EQ(won.history_length(), 3);
  for (const v1::FollowUp& f : FollowUps(o.id())) {
    EXPECT_EQ(f.state(), v1::FOLLOW_UP_STATE_CANCELLED) << f.id();
  }
  // Won in SIGNED stays won.
  EXPECT_TRUE(IsError(Reopen(o.id(), "mistake", 0, &out),
                      grpc::StatusCode::FAILED_PRECONDITION, "SIGNED"));
  v1::ListOpportunitiesRequest req;
  req.set_status(v1::OPPORTUNITY_STATUS_WON);
  EXPECT_EQ(ListIds(req), std::set<std::string>{o.id()});
}

// ---------------------------------------------------------------------------
// Entering a credit-checked stage (SPEC §3.3, §6)

TEST_F(PipelineCreditTest, BlockRefusesTheMoveWithTheReasons) {
  const v1::Opportunity o = AdvanceTo(MustCreate(), "COMPARISON");
  const v1::Opportunity ready =
      MustCheck(o.id(), "COMPARISON", "proposals_submitted");
  fake_credit_.Script(
      CreditDecision::kBlock,
      {"credit limit exceeded by 20,000.00 EUR", "account on credit hold"});
  v1::Opportunity out;
  grpc::Status s = Move(o.id(), "COMMITMENT", ready.version(), &out);
  ASSERT_TRUE(IsError(s, grpc::StatusCode::FAILED_PRECONDITION,
                      "credit limit exceeded by 20,000.00 EUR"));
  EXPECT_THAT(s.error_message(), HasSubstr("account on credit hold"));
  EXPECT_EQ(fake_credit_.calls(), 1);
  EXPECT_EQ(fake_credit_.last().account_id, kAcc1);
  EXPECT_EQ(fake_credit_.last().amount_minor, 5'000'000);
  EXPECT_EQ(fake_credit_.last().currency, "EUR");
  EXPECT_EQ(fake_credit_.last().opportunity_id, o.id());
  // Nothing changed.
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), ready));
  EXPECT_EQ(History(o.id()).size(),
            static_cast<size_t>(ready.history_length()));

  // A manager's override does not get past a credit block either, also when
  // the credit-checked stage is skipped over.
  s = Move(o.id(), "USAGE", ready.version(), &out, kManagerAToken,
           "customer is good for it");
  EXPECT_TRUE(IsError(s, grpc::StatusCode::FAILED_PRECONDITION,
                      "account on credit hold"));
  EXPECT_EQ(fake_credit_.calls(), 2);
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), ready));
}

TEST_F(PipelineCreditTest, ReviewPassesMarkedPendingAndApproveClearsIt) {
  const v1::Opportunity o = AdvanceTo(MustCreate(), "COMPARISON");
  const v1::Opportunity ready =
      MustCheck(o.id(), "COMPARISON", "proposals_submitted");
  fake_credit_.Script(CreditDecision::kReview,
                      {"new customer", "exposure above 80% of the limit"});
  v1::Opportunity review;
  ASSERT_TRUE(IsOk(Move(o.id(), "COMMITMENT", ready.version(), &review)));
  EXPECT_EQ(review.stage_key(), "COMMITMENT");
  EXPECT_TRUE(review.credit_review_pending());
  EXPECT_THAT(review.credit_review_reason(), HasSubstr("new customer"));
  EXPECT_THAT(review.credit_review_reason(),
              HasSubstr("exposure above 80% of the limit"));
  EXPECT_EQ(History(o.id()).back().kind(), v1::CHANGE_KIND_STAGE_FORWARD);

  // A backward move asks nobody; forward again with APPROVE clears the mark.
  const int calls = fake_credit_.calls();
  v1::Opportunity back;
  ASSERT_TRUE(IsOk(Move(o.id(), "COMPARISON", review.version(), &back)));
  EXPECT_EQ(fake_credit_.calls(), calls);
  fake_credit_.Script(CreditDecision::kApprove);
  v1::Opportunity approved;
  ASSERT_TRUE(IsOk(Move(o.id(), "COMMITMENT", back.version(), &approved)));
  EXPECT_EQ(fake_credit_.calls(), calls + 1);
  EXPECT_FALSE(approved.credit_review_pending());
  EXPECT_TRUE(approved.credit_review_reason().empty());
  // Stages after the credit-checked one ask nobody.
  const v1::Opportunity commit =
      MustCheck(o.id(), "COMMITMENT", "supplier_chosen_and_signed");
  v1::Opportunity usage;
  ASSERT_TRUE(IsOk(Move(o.id(), "USAGE", commit.version(), &usage)));
  EXPECT_EQ(fake_credit_.calls(), calls + 1);
}

TEST_F(PipelineCreditTest, ApproveIsNotPending) {
  const v1::Opportunity o = AdvanceTo(MustCreate(), "COMPARISON");
  const v1::Opportunity ready =
      MustCheck(o.id(), "COMPARISON", "proposals_submitted");
  fake_credit_.Script(CreditDecision::kApprove);
  v1::Opportunity moved;
  ASSERT_TRUE(IsOk(Move(o.id(), "COMMITMENT", ready.version(), &moved)));
  EXPECT_FALSE(moved.credit_review_pending());
  EXPECT_TRUE(moved.credit_review_reason().empty());
  EXPECT_EQ(fake_credit_.calls(), 1);
}

TEST_F(PipelineCreditTest, UnconfiguredCreditMarksPending) {
  std::unique_ptr<CreditClient> unconfigured = NewUnconfiguredCreditClient();
  UseCredit(unconfigured.get());
  const v1::Opportunity o = AdvanceTo(MustCreate(), "COMPARISON");
  const v1::Opportunity ready =
      MustCheck(o.id(), "COMPARISON", "proposals_submitted");
  v1::Opportunity moved;
  ASSERT_TRUE(IsOk(Move(o.id(), "COMMITMENT", ready.version(), &moved)));
  EXPECT_TRUE(moved.credit_review_pending());
  EXPECT_EQ(moved.credit_review_reason(), "credit service not configured");
  EXPECT_EQ(fake_credit_.calls(), 0);
  UseCredit(&fake_credit_);  // before `unconfigured` goes away
}

TEST_F(PipelineCreditTest, CreditUnavailableWritesNothing) {
  const v1::Opportunity o = AdvanceTo(MustCreate(), "COMPARISON");
  const v1::Opportunity ready =
      MustCheck(o.id(), "COMPARISON", "proposals_submitted");
  const uint64_t before = FeedPosition();
  fake_credit_.ScriptError(absl::UnavailableError("credit service down"));
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Move(o.id(), "COMMITMENT", ready.version(), &out),
                      grpc::StatusCode::UNAVAILABLE));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), ready));
  EXPECT_EQ(FeedPosition(), before);
  fake_credit_.Script(CreditDecision::kApprove);
  EXPECT_TRUE(IsOk(Move(o.id(), "COMMITMENT", ready.version(), &out)));
}

TEST_F(PipelineCreditTest, AmountChangedDuringTheCheckAbortsTheMove) {
  const v1::Opportunity o = AdvanceTo(MustCreate(), "COMPARISON");
  const v1::Opportunity ready =
      MustCheck(o.id(), "COMPARISON", "proposals_submitted");
  // While credit looks at 50,000.00 EUR, the rep raises the amount.
  grpc::Status raised;
  fake_credit_.DuringCheck([&] {
    v1::Opportunity edit = ready;
    *edit.mutable_amount() = Eur(9'000'000);
    v1::Opportunity out;
    raised = Update(edit, ready.version(), &out, kRep1Token);
  });
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Move(o.id(), "COMMITMENT", 0, &out),
                      grpc::StatusCode::ABORTED, "credit check"));
  ASSERT_TRUE(IsOk(raised));
  v1::Opportunity now = MustGet(o.id());
  EXPECT_EQ(now.stage_key(), "COMPARISON");
  EXPECT_EQ(now.amount().units_minor(), 9'000'000);
  EXPECT_EQ(CountKind(History(o.id()), v1::CHANGE_KIND_STAGE_FORWARD), 3);

  // A change that leaves the amount alone does not invalidate the answer;
  // with an expected_version, any change does.
  fake_credit_.DuringCheck([&] {
    v1::Opportunity edit = now;
    edit.set_name("Renamed during the check");
    v1::Opportunity renamed;
    raised = Update(edit, 0, &renamed);
  });
  EXPECT_TRUE(IsError(Move(o.id(), "COMMITMENT", now.version(), &out),
                      grpc::StatusCode::ABORTED));
  ASSERT_TRUE(IsOk(raised));
  now = MustGet(o.id());
  fake_credit_.DuringCheck([&] {
    v1::Opportunity edit = now;
    edit.set_name("Renamed again");
    v1::Opportunity renamed;
    raised = Update(edit, 0, &renamed);
  });
  ASSERT_TRUE(IsOk(Move(o.id(), "COMMITMENT", 0, &out)));
  ASSERT_TRUE(IsOk(raised));
  EXPECT_EQ(out.stage_key(), "COMMITMENT");
  EXPECT_EQ(out.name(), "Renamed again");
  EXPECT_EQ(fake_credit_.last().amount_minor, 9'000'000);
}

// ---------------------------------------------------------------------------
// Concurrent moves (SPEC §8: nothing half-written, optimistic versions)

// Runs `n` MoveStage calls of `id` to `to` with `expected_version` at once.
std::vector<grpc::Status> MoveConcurrently(Stub* stub, const std::string& id,
                                           const std::string& to,
                                           int64_t expected_version, int n) {
  return RunConcurrently(n, [&](int) {
    v1::MoveStageRequest req;
    req.set_opportunity_id(id);
    req.set_to_stage_key(to);
    req.set_expected_version(expected_version);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kAdminToken));
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    v1::Opportunity out;
    return stub->MoveStage(&ctx, req, &out);
  });
}

TEST_F(PipelineConcurrencyTest, SameExpectedVersionExactlyOneMoveWins) {
  const v1::Opportunity o = MustCreate();
  const v1::Opportunity checked =
      MustCheck(o.id(), "INTEREST", "purchase_request");
  const std::vector<grpc::Status> results = MoveConcurrently(
      stub_.get(), o.id(), "CONSIDERATION", checked.version(), 8);
  int ok = 0, aborted = 0;
  for (const grpc::Status& s : results) {
    if (s.ok()) {
      ++ok;
    } else {
      EXPECT_TRUE(IsError(s, grpc::StatusCode::ABORTED));
      aborted += s.error_code() == grpc::StatusCode::ABORTED;
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(aborted, 7);
  const std::vector<v1::OpportunityChange> h = History(o.id());
  EXPECT_EQ(CountKind(h, v1::CHANGE_KIND_STAGE_FORWARD), 1);
  EXPECT_EQ(h.size(), 2u);
  const v1::Opportunity now = MustGet(o.id());
  EXPECT_EQ(now.stage_key(), "CONSIDERATION");
  EXPECT_EQ(now.version(), checked.version() + 1);
  EXPECT_EQ(now.history_length(), 2);
}

TEST_F(PipelineConcurrencyTest, AnyVersionStillMovesOnlyOnce) {
  const v1::Opportunity o = MustCreate();
  MustCheck(o.id(), "INTEREST", "purchase_request");
  const std::vector<grpc::Status> results =
      MoveConcurrently(stub_.get(), o.id(), "CONSIDERATION", 0, 8);
  int ok = 0;
  for (const grpc::Status& s : results) {
    if (s.ok()) {
      ++ok;
    } else {
      EXPECT_TRUE(IsError(s, grpc::StatusCode::FAILED_PRECONDITION,
                          "already in stage CONSIDERATION"));
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(CountKind(History(o.id()), v1::CHANGE_KIND_STAGE_FORWARD), 1);
}

TEST_F(PipelineConcurrencyTest, ConcurrentRolesNeverWeighMoreThanHundred) {
  const v1::Opportunity o = MustCreate();
  const std::vector<std::string> contacts = {kC1, kC2, kC3, kC4, kC5};
  const std::vector<grpc::Status> results = RunConcurrently(5, [&](int i) {
    v1::SetContactRoleRequest req;
    req.set_opportunity_id(o.id());
    req.set_contact_id(contacts[i]);
    req.set_role(v1::BUYING_ROLE_INFLUENCER);
    req.set_influence_weight_pct(40);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kRep1Token));
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    v1::ContactRole out;
    return stub_->SetContactRole(&ctx, req, &out);
  });
  int ok = 0;
  for (const grpc::Status& s : results) {
    if (s.ok()) {
      ++ok;
    } else {
      EXPECT_TRUE(IsError(s, grpc::StatusCode::INVALID_ARGUMENT,
                          "influence_weight_pct"));
    }
  }
  EXPECT_EQ(ok, 2) << "40 + 40 fit, a third 40 does not";
  int sum = 0;
  for (const v1::ContactRole& r : Roles(o.id())) {
    sum += r.influence_weight_pct();
  }
  EXPECT_EQ(sum, 80);
}

// ---------------------------------------------------------------------------
// Close and reopen (SPEC §3.2)

TEST_F(PipelineCloseTest, FourOutcomesReasonsAndCancelledFollowUps) {
  struct Case {
    v1::OpportunityStatus outcome;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {v1::OPPORTUNITY_STATUS_WON, ""},
      {v1::OPPORTUNITY_STATUS_LOST, "Rival AG won on price"},
      {v1::OPPORTUNITY_STATUS_NO_DECISION, "project shelved by the customer"},
      {v1::OPPORTUNITY_STATUS_ABANDONED, "four-factor evaluation: no value"},
  };
  for (const Case& c : cases) {
    const std::string name = v1::OpportunityStatus_Name(c.outcome);
    SCOPED_TRACE(name);
    const v1::Opportunity o = MustCreate();
    v1::Opportunity out;
    if (c.outcome != v1::OPPORTUNITY_STATUS_WON) {
      EXPECT_TRUE(IsError(Close(o.id(), c.outcome, "  ", o.version(), &out),
                          grpc::StatusCode::INVALID_ARGUMENT, "reason"));
    }
    EXPECT_TRUE(
        IsError(Close(o.id(), c.outcome, c.reason, o.version() + 1, &out),
                grpc::StatusCode::ABORTED));
    EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), o));
    clock_.Advance(absl::Minutes(1));
    v1::Opportunity closed;
    ASSERT_TRUE(IsOk(
        Close(o.id(), c.outcome, c.reason, o.version(), &closed, kRep1Token)));
    EXPECT_EQ(closed.status(), c.outcome);
    EXPECT_EQ(closed.close_reason(), c.reason);
    EXPECT_EQ(closed.closed_micros(), NowMicros());
    EXPECT_EQ(closed.version(), o.version() + 1);
    const v1::OpportunityChange last = History(o.id()).back();
    EXPECT_EQ(last.kind(), v1::CHANGE_KIND_CLOSED);
    EXPECT_EQ(last.from(), "OPEN");
    EXPECT_EQ(last.to(),
              name.substr(std::string("OPPORTUNITY_STATUS_").size()));
    EXPECT_EQ(last.reason(), c.reason);
    EXPECT_EQ(last.by(), "rep-1");
    const std::vector<v1::FollowUp> fups = FollowUps(o.id());
    ASSERT_EQ(fups.size(), 1u);
    EXPECT_EQ(fups[0].state(), v1::FOLLOW_UP_STATE_CANCELLED);
    // Closed twice: no.
    EXPECT_TRUE(IsError(Close(o.id(), c.outcome, "again", 0, &out),
                        grpc::StatusCode::FAILED_PRECONDITION, "already"));
  }
  // Cancelled follow-ups are never overdue.
  EXPECT_TRUE(Overdue(kAdminToken, {}, NowMicros() + 10 * kDay).empty());

  const v1::Opportunity o = MustCreate();
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Close(o.id(), v1::OPPORTUNITY_STATUS_OPEN, "x", 0, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "outcome"));
  EXPECT_TRUE(
      IsError(Close(o.id(), v1::OPPORTUNITY_STATUS_UNSPECIFIED, "x", 0, &out),
              grpc::StatusCode::INVALID_ARGUMENT, "outcome"));
  EXPECT_TRUE(IsError(
      Close(o.id(), v1::OPPORTUNITY_STATUS_LOST, "x", 0, &out, kRep3Token),
      grpc::StatusCode::PERMISSION_DENIED));
}

TEST_F(PipelineCloseTest, ReopenByManagersWithAReason) {
  const v1::Opportunity o = MustCreate();
  v1::Opportunity lost;
  ASSERT_TRUE(IsOk(Close(o.id(), v1::OPPORTUNITY_STATUS_LOST, "lost on price",
                         o.version(), &lost)));
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Reopen(o.id(), "they called back", 0, &out, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Reopen(o.id(), "", 0, &out, kManagerAToken),
                      grpc::StatusCode::INVALID_ARGUMENT, "reason"));
  EXPECT_TRUE(
      IsError(Reopen(o.id(), "they called back", 0, &out, kManagerBToken),
              grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(
      IsError(Reopen(o.id(), "they called back", 0, &out, kFinanceToken),
              grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(
      Reopen(o.id(), "they called back", o.version(), &out, kManagerAToken),
      grpc::StatusCode::ABORTED));
  clock_.Advance(Days(3));
  v1::Opportunity reopened;
  ASSERT_TRUE(IsOk(Reopen(o.id(), " the winner went bankrupt ", lost.version(),
                          &reopened, kManagerAToken)));
  EXPECT_EQ(reopened.status(), v1::OPPORTUNITY_STATUS_OPEN);
  EXPECT_TRUE(reopened.close_reason().empty());
  EXPECT_EQ(reopened.closed_micros(), 0);
  EXPECT_EQ(reopened.stage_entered_micros(), NowMicros());
  const v1::OpportunityChange last = History(o.id()).back();
  EXPECT_EQ(last.kind(), v1::CHANGE_KIND_REOPENED);
  EXPECT_EQ(last.from(), "LOST");
  EXPECT_EQ(last.to(), "OPEN");
  EXPECT_EQ(last.reason(), "the winner went bankrupt");
  EXPECT_EQ(last.by(), "manager-a");
  EXPECT_TRUE(IsError(Reopen(o.id(), "again", 0, &out),
                      grpc::StatusCode::FAILED_PRECONDITION, "already OPEN"));
  // Open again: it can change and close again.
  v1::Opportunity closed;
  ASSERT_TRUE(IsOk(Close(o.id(), v1::OPPORTUNITY_STATUS_WON, "",
                         reopened.version(), &closed, kAdminToken)));
  EXPECT_EQ(closed.status(), v1::OPPORTUNITY_STATUS_WON);
}

TEST_F(PipelineCloseTest, HistoryIsTheFullSequence) {
  const v1::Opportunity o = MustCreate();
  clock_.Advance(absl::Hours(1));
  v1::Opportunity cur = MustCheck(o.id(), "INTEREST", "purchase_request");
  ASSERT_TRUE(IsOk(Move(o.id(), "CONSIDERATION", cur.version(), &cur)));
  clock_.Advance(absl::Hours(1));
  v1::Opportunity edit = cur;
  *edit.mutable_amount() = Eur(6'000'000);
  ASSERT_TRUE(IsOk(Update(edit, cur.version(), &cur, kRep1Token)));
  edit = cur;
  *edit.mutable_expected_close_date() = Day(2026, 8, 31);
  ASSERT_TRUE(IsOk(Update(edit, cur.version(), &cur)));
  ASSERT_TRUE(IsOk(Move(o.id(), "INTEREST", cur.version(), &cur)));
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(IsOk(Close(o.id(), v1::OPPORTUNITY_STATUS_NO_DECISION,
                         "budget frozen", cur.version(), &cur)));
  ASSERT_TRUE(IsOk(
      Reopen(o.id(), "budget released", cur.version(), &cur, kManagerAToken)));
  edit = cur;
  edit.set_owner_node_id("r2");
  ASSERT_TRUE(IsOk(Update(edit, cur.version(), &cur, kManagerAToken)));

  const std::vector<v1::OpportunityChange> h = History(o.id(), kFinanceToken);
  std::vector<v1::ChangeKind> kinds;
  for (size_t i = 0; i < h.size(); ++i) {
    EXPECT_EQ(h[i].seq(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(h[i].opportunity_id(), o.id());
    if (i > 0) {
      EXPECT_GT(h[i].opportunity_version(), h[i - 1].opportunity_version());
      EXPECT_GE(h[i].time_micros(), h[i - 1].time_micros());
    }
    kinds.push_back(h[i].kind());
  }
  EXPECT_THAT(
      kinds, ElementsAre(v1::CHANGE_KIND_CREATED, v1::CHANGE_KIND_STAGE_FORWARD,
                         v1::CHANGE_KIND_AMOUNT, v1::CHANGE_KIND_CLOSE_DATE,
                         v1::CHANGE_KIND_STAGE_BACKWARD, v1::CHANGE_KIND_CLOSED,
                         v1::CHANGE_KIND_REOPENED, v1::CHANGE_KIND_OWNER));
  ASSERT_EQ(h.size(), 8u);
  EXPECT_EQ(h[2].from(), "5000000");
  EXPECT_EQ(h[2].to(), "6000000");
  EXPECT_EQ(h[2].by(), "rep-1");
  EXPECT_EQ(h[3].to(), "2026-08-31");
  EXPECT_EQ(h[5].to(), "NO_DECISION");
  EXPECT_EQ(h[5].reason(), "budget frozen");
  EXPECT_EQ(h.back().opportunity_version(), cur.version());
  EXPECT_EQ(cur.history_length(), 8);
  EXPECT_EQ(MustGet(o.id()).history_length(), 8);
}

TEST_F(PipelineCloseTest, ListOpportunityChangesPagesEveryHistoryInOrder) {
  std::vector<v1::Opportunity> opps = {MustCreate(), MustCreate("r2"),
                                       MustCreate()};
  for (int round = 0; round < 2; ++round) {
    for (v1::Opportunity& o : opps) {
      v1::Opportunity edit = o;
      *edit.mutable_amount() = Eur(o.amount().units_minor() + 100);
      ASSERT_TRUE(IsOk(Update(edit, o.version(), &o)));
    }
  }
  // What GetOpportunityHistory shows, by opportunity id then seq.
  std::sort(opps.begin(), opps.end(),
            [](const auto& a, const auto& b) { return a.id() < b.id(); });
  std::vector<std::string> expected;
  for (const v1::Opportunity& o : opps) {
    for (const v1::OpportunityChange& c : History(o.id())) {
      expected.push_back(c.SerializeAsString());
    }
  }
  ASSERT_GE(expected.size(), 9u);
  v1::ListOpportunityChangesRequest req;
  req.mutable_page()->set_page_size(4);
  std::vector<std::string> listed;
  for (int guard = 0; guard < 20; ++guard) {
    v1::ListOpportunityChangesResponse resp;
    ASSERT_TRUE(
        IsOk(Call(&Stub::ListOpportunityChanges, req, &resp, kServiceToken)));
    EXPECT_LE(resp.changes_size(), 4);
    EXPECT_EQ(resp.page().feed_sequence(), store_->last_sequence());
    for (const v1::OpportunityChange& c : resp.changes()) {
      listed.push_back(c.SerializeAsString());
    }
    if (resp.page().next_page_token().empty()) break;
    req.mutable_page()->set_page_token(resp.page().next_page_token());
  }
  EXPECT_EQ(listed, expected);
  v1::ListOpportunityChangesResponse resp;
  EXPECT_TRUE(IsOk(Call(&Stub::ListOpportunityChanges, {}, &resp)));
  EXPECT_EQ(resp.changes_size(), static_cast<int>(expected.size()));
  for (const char* token : {kManagerAToken, kRep1Token, kFinanceToken}) {
    EXPECT_TRUE(IsError(Call(&Stub::ListOpportunityChanges, {}, &resp, token),
                        grpc::StatusCode::PERMISSION_DENIED))
        << token;
  }
  req.mutable_page()->set_page_token(EncodePageToken("not a position"));
  EXPECT_TRUE(IsError(Call(&Stub::ListOpportunityChanges, req, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT, "page_token"));
}

// ---------------------------------------------------------------------------
// Buying centre (SPEC §3.4)

TEST_F(PipelineBuyingCentreTest, ContactsMustBelongToTheAccount) {
  const v1::Opportunity o = MustCreate();
  v1::ContactRole out;
  EXPECT_TRUE(
      IsError(SetRole(o.id(), kOtherContact, v1::BUYING_ROLE_DECISION_MAKER,
                      v1::ATTITUDE_C, 10, &out),
              grpc::StatusCode::INVALID_ARGUMENT, "contact_id"));
  EXPECT_TRUE(IsError(SetRole(o.id(), "con_missing", v1::BUYING_ROLE_USER,
                              v1::ATTITUDE_C, 10, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "contact_id"));
  EXPECT_TRUE(IsError(SetRole(o.id(), kC1, v1::BUYING_ROLE_UNSPECIFIED,
                              v1::ATTITUDE_C, 10, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "role"));
  EXPECT_TRUE(IsError(
      SetRole(o.id(), kC1, v1::BUYING_ROLE_USER, v1::ATTITUDE_C, 101, &out),
      grpc::StatusCode::INVALID_ARGUMENT, "influence_weight_pct"));
  EXPECT_TRUE(IsError(SetRole(o.id(), kC1, v1::BUYING_ROLE_USER, v1::ATTITUDE_C,
                              10, &out, kRep3Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(SetRole("opp_unknown", kC1, v1::BUYING_ROLE_USER,
                              v1::ATTITUDE_C, 10, &out),
                      grpc::StatusCode::NOT_FOUND));
  accounts_.SetUnavailable(true);
  EXPECT_TRUE(IsError(
      SetRole(o.id(), kC1, v1::BUYING_ROLE_USER, v1::ATTITUDE_C, 10, &out),
      grpc::StatusCode::UNAVAILABLE));
  accounts_.SetUnavailable(false);
  EXPECT_TRUE(Roles(o.id(), true).empty());
  ASSERT_TRUE(IsOk(SetRole(o.id(), kC1, v1::BUYING_ROLE_USER, v1::ATTITUDE_C,
                           10, &out, kRep1Token)));
  EXPECT_EQ(out.contact_id(), kC1);
  EXPECT_EQ(out.opportunity_id(), o.id());
  EXPECT_EQ(out.added_micros(), NowMicros());
  EXPECT_EQ(out.changed_micros(), 0);
  EXPECT_EQ(out.version(), 1);
}

TEST_F(PipelineBuyingCentreTest, AttitudeHistoryFromOriginalToCurrent) {
  const v1::Opportunity o = MustCreate();
  v1::ContactRole r =
      MustSetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER, v1::ATTITUDE_D);
  EXPECT_EQ(r.original_attitude(), v1::ATTITUDE_D);
  EXPECT_TRUE(r.attitude_history().empty());
  clock_.Advance(Days(2));
  const int64_t t1 = NowMicros();
  r = MustSetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER, v1::ATTITUDE_C);
  clock_.Advance(Days(2));
  const int64_t t2 = NowMicros();
  v1::ContactRole out;
  ASSERT_TRUE(IsOk(SetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER,
                           v1::ATTITUDE_B_PLUS, 0, &out, kRep1Token)));
  EXPECT_EQ(out.original_attitude(), v1::ATTITUDE_D);
  EXPECT_EQ(out.attitude(), v1::ATTITUDE_B_PLUS);
  EXPECT_EQ(out.changed_micros(), t2);
  ASSERT_EQ(out.attitude_history_size(), 2);
  EXPECT_EQ(out.attitude_history(0).from(), v1::ATTITUDE_D);
  EXPECT_EQ(out.attitude_history(0).to(), v1::ATTITUDE_C);
  EXPECT_EQ(out.attitude_history(0).time_micros(), t1);
  EXPECT_EQ(out.attitude_history(1).from(), v1::ATTITUDE_C);
  EXPECT_EQ(out.attitude_history(1).to(), v1::ATTITUDE_B_PLUS);
  EXPECT_EQ(out.attitude_history(1).by(), "rep-1");
  // The same attitude again adds nothing; a role change alone is no
  // attitude change.
  ASSERT_TRUE(IsOk(SetRole(o.id(), kC1, v1::BUYING_ROLE_USER,
                           v1::ATTITUDE_B_PLUS, 0, &out)));
  EXPECT_EQ(out.attitude_history_size(), 2);
  EXPECT_EQ(out.role(), v1::BUYING_ROLE_USER);
  // A stale expected_version is refused.
  v1::SetContactRoleRequest req;
  req.set_opportunity_id(o.id());
  req.set_contact_id(kC1);
  req.set_role(v1::BUYING_ROLE_USER);
  req.set_attitude(v1::ATTITUDE_A);
  req.set_expected_version(1);
  EXPECT_TRUE(IsError(Call(&Stub::SetContactRole, req, &out),
                      grpc::StatusCode::ABORTED));
  EXPECT_EQ(RoleOf(o.id(), kC1).attitude(), v1::ATTITUDE_B_PLUS);
}

TEST_F(PipelineBuyingCentreTest, InfluenceWeightsSumToAtMostHundred) {
  // The seed's reference table: 60 / 30 / 10 / 0.
  const v1::Opportunity o = MustCreate();
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_TECHNICAL_GATEKEEPER, v1::ATTITUDE_C,
              60);
  MustSetRole(o.id(), kC2, v1::BUYING_ROLE_INFLUENCER, v1::ATTITUDE_B, 30);
  MustSetRole(o.id(), kC3, v1::BUYING_ROLE_FINANCIAL_BUYER, v1::ATTITUDE_E, 10);
  v1::ContactRole out;
  EXPECT_TRUE(IsError(SetRole(o.id(), kC4, v1::BUYING_ROLE_DECISION_MAKER,
                              v1::ATTITUDE_UNSPECIFIED, 1, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "influence_weight_pct"));
  ASSERT_TRUE(IsOk(SetRole(o.id(), kC4, v1::BUYING_ROLE_DECISION_MAKER,
                           v1::ATTITUDE_UNSPECIFIED, 0, &out)));
  // Raising one weight counts its new value, not old + new.
  EXPECT_TRUE(IsError(SetRole(o.id(), kC1, v1::BUYING_ROLE_TECHNICAL_GATEKEEPER,
                              v1::ATTITUDE_C, 61, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "influence_weight_pct"));
  ASSERT_TRUE(IsOk(SetRole(o.id(), kC1, v1::BUYING_ROLE_TECHNICAL_GATEKEEPER,
                           v1::ATTITUDE_C, 50, &out)));
  ASSERT_TRUE(IsOk(SetRole(o.id(), kC4, v1::BUYING_ROLE_DECISION_MAKER,
                           v1::ATTITUDE_UNSPECIFIED, 10, &out)));
  int sum = 0;
  for (const v1::ContactRole& r : Roles(o.id())) {
    sum += r.influence_weight_pct();
  }
  EXPECT_EQ(sum, 100);
  // Weights of another opportunity do not count.
  const v1::Opportunity other = MustCreate();
  ASSERT_TRUE(IsOk(SetRole(other.id(), kC1, v1::BUYING_ROLE_USER,
                           v1::ATTITUDE_C, 100, &out)));
}

TEST_F(PipelineBuyingCentreTest, CoreByDefaultForTheFourKeyTypes) {
  const v1::Opportunity o = MustCreate();
  EXPECT_TRUE(
      MustSetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER).is_core());
  EXPECT_TRUE(MustSetRole(o.id(), kC2, v1::BUYING_ROLE_USER).is_core());
  EXPECT_TRUE(
      MustSetRole(o.id(), kC3, v1::BUYING_ROLE_TECHNICAL_GATEKEEPER).is_core());
  EXPECT_TRUE(MustSetRole(o.id(), kC4, v1::BUYING_ROLE_COACH).is_core());
  EXPECT_FALSE(
      MustSetRole(o.id(), kC5, v1::BUYING_ROLE_FINANCIAL_BUYER).is_core());
  EXPECT_FALSE(MustSetRole(o.id(), kC5, v1::BUYING_ROLE_INFLUENCER).is_core());
  // Explicit flags win.
  v1::ContactRole out;
  ASSERT_TRUE(IsOk(SetRole(o.id(), kC5, v1::BUYING_ROLE_INFLUENCER,
                           v1::ATTITUDE_C, 0, &out, kAdminToken, true)));
  EXPECT_TRUE(out.is_core());
  ASSERT_TRUE(IsOk(SetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER,
                           v1::ATTITUDE_C, 0, &out, kAdminToken, false)));
  EXPECT_FALSE(out.is_core());
  // Listed by contact id.
  std::vector<std::string> ids;
  for (const v1::ContactRole& r : Roles(o.id())) {
    ids.push_back(r.contact_id());
  }
  EXPECT_THAT(ids, ElementsAre(kC1, kC2, kC3, kC4, kC5));
}

TEST_F(PipelineBuyingCentreTest, RemoveKeepsTheRecordAndFreesTheWeight) {
  const v1::Opportunity o = MustCreate();
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER, v1::ATTITUDE_C, 60);
  MustSetRole(o.id(), kC2, v1::BUYING_ROLE_USER, v1::ATTITUDE_B, 40);
  v1::RemoveContactRoleRequest req;
  req.set_opportunity_id(o.id());
  req.set_contact_id(kC1);
  v1::ContactRole removed;
  EXPECT_TRUE(IsError(Call(&Stub::RemoveContactRole, req, &removed, kRep3Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  ASSERT_TRUE(IsOk(Call(&Stub::RemoveContactRole, req, &removed, kRep1Token)));
  EXPECT_TRUE(removed.removed());
  EXPECT_EQ(removed.contact_id(), kC1);
  std::vector<std::string> ids;
  for (const v1::ContactRole& r : Roles(o.id())) {
    ids.push_back(r.contact_id());
  }
  EXPECT_THAT(ids, ElementsAre(kC2));
  EXPECT_EQ(Roles(o.id(), /*include_removed=*/true).size(), 2u);
  EXPECT_TRUE(IsError(Call(&Stub::RemoveContactRole, req, &removed),
                      grpc::StatusCode::NOT_FOUND));
  req.set_contact_id(kC5);
  EXPECT_TRUE(IsError(Call(&Stub::RemoveContactRole, req, &removed),
                      grpc::StatusCode::NOT_FOUND));
  // Its weight no longer counts.
  v1::ContactRole out;
  ASSERT_TRUE(IsOk(
      SetRole(o.id(), kC3, v1::BUYING_ROLE_COACH, v1::ATTITUDE_A, 60, &out)));
  // Setting a removed contact again brings it back.
  EXPECT_TRUE(IsError(SetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER,
                              v1::ATTITUDE_C, 1, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "influence_weight_pct"));
  ASSERT_TRUE(IsOk(SetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER,
                           v1::ATTITUDE_C, 0, &out)));
  EXPECT_FALSE(out.removed());
  EXPECT_EQ(Roles(o.id()).size(), 3u);
}

// ---------------------------------------------------------------------------
// Activities and follow-ups (SPEC §3.7)

TEST_F(PipelineActivityTest, RecordsOutcomeAndNeedsBuyingCentreContacts) {
  const v1::Opportunity o = MustCreate();
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER);
  clock_.Advance(absl::Hours(1));
  v1::Activity a = Act(o.id(), v1::ACTIVITY_KIND_CALL, {kC1},
                       v1::ACTIVITY_OUTCOME_CONTINUATION);
  a.set_notes("polite interest, no next step");
  v1::Activity out;
  ASSERT_TRUE(IsOk(Record(a, &out, kRep1Token)));
  EXPECT_TRUE(absl::StartsWith(out.id(), "act_")) << out.id();
  EXPECT_EQ(out.outcome(), v1::ACTIVITY_OUTCOME_CONTINUATION);
  EXPECT_EQ(out.time_micros(), NowMicros());
  EXPECT_EQ(out.recorded_by(), "rep-1");
  EXPECT_EQ(out.notes(), "polite interest, no next step");

  v1::Activity bad = Act(o.id(), v1::ACTIVITY_KIND_VISIT, {kC1, kC2});
  EXPECT_TRUE(IsError(Record(bad, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "activity.contact_ids"));
  bad = Act(o.id(), v1::ACTIVITY_KIND_VISIT, {kC1},
            v1::ACTIVITY_OUTCOME_UNSPECIFIED);
  EXPECT_TRUE(IsError(Record(bad, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "activity.outcome"));
  bad = Act(o.id(), v1::ACTIVITY_KIND_UNSPECIFIED, {kC1});
  EXPECT_TRUE(IsError(Record(bad, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "activity.kind"));
  bad = Act(o.id(), v1::ACTIVITY_KIND_VISIT, {kC1});
  bad.set_time_micros(NowMicros() + kDay);
  EXPECT_TRUE(IsError(Record(bad, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "activity.time_micros"));
  bad = Act(o.id(), v1::ACTIVITY_KIND_VISIT, {kC1, kC1});
  EXPECT_TRUE(IsError(Record(bad, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "activity.contact_ids[1]"));
  bad = Act(o.id(), v1::ACTIVITY_KIND_CALL);
  bad.set_follow_up_id("fup_unknown");
  EXPECT_TRUE(IsError(Record(bad, &out), grpc::StatusCode::INVALID_ARGUMENT,
                      "activity.follow_up_id"));
  EXPECT_TRUE(
      IsError(Record(Act(o.id(), v1::ACTIVITY_KIND_CALL), &out, kRep3Token),
              grpc::StatusCode::PERMISSION_DENIED));

  v1::ListActivitiesRequest req;
  req.set_opportunity_id(o.id());
  v1::ListActivitiesResponse list;
  ASSERT_TRUE(IsOk(Call(&Stub::ListActivities, req, &list)));
  ASSERT_EQ(list.activities_size(), 1);
  EXPECT_EQ(list.activities(0).notes(), "polite interest, no next step");

  // request_id makes recording idempotent.
  v1::Activity first, again;
  const v1::Activity email = Act(o.id(), v1::ACTIVITY_KIND_EMAIL);
  ASSERT_TRUE(IsOk(Record(email, &first, kAdminToken, "act-req-1")));
  ASSERT_TRUE(IsOk(Record(email, &again, kAdminToken, "act-req-1")));
  EXPECT_EQ(first.id(), again.id());
  ASSERT_TRUE(IsOk(Call(&Stub::ListActivities, req, &list)));
  EXPECT_EQ(list.activities_size(), 2);
}

TEST_F(PipelineActivityTest, VisitsUpdateLastVisitCallsOnlyLastActivity) {
  const v1::Opportunity o = MustCreate();
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER);
  MustSetRole(o.id(), kC2, v1::BUYING_ROLE_USER);
  clock_.Advance(absl::Hours(2));
  const int64_t visit = NowMicros();
  MustRecord(Act(o.id(), v1::ACTIVITY_KIND_VISIT, {kC1}));
  EXPECT_EQ(RoleOf(o.id(), kC1).last_visit_micros(), visit);
  EXPECT_EQ(RoleOf(o.id(), kC1).last_activity_micros(), visit);
  EXPECT_EQ(RoleOf(o.id(), kC2).last_visit_micros(), 0);

  clock_.Advance(absl::Hours(2));
  const int64_t call = NowMicros();
  MustRecord(Act(o.id(), v1::ACTIVITY_KIND_CALL, {kC1, kC2}));
  EXPECT_EQ(RoleOf(o.id(), kC1).last_visit_micros(), visit);
  EXPECT_EQ(RoleOf(o.id(), kC1).last_activity_micros(), call);
  EXPECT_EQ(RoleOf(o.id(), kC2).last_visit_micros(), 0);
  EXPECT_EQ(RoleOf(o.id(), kC2).last_activity_micros(), call);

  // A MEETING counts as a visit; a backdated one does not move times back.
  v1::Activity old = Act(o.id(), v1::ACTIVITY_KIND_MEETING, {kC1, kC2});
  old.set_time_micros(visit - kHour);
  MustRecord(old);
  EXPECT_EQ(RoleOf(o.id(), kC1).last_visit_micros(), visit);
  EXPECT_EQ(RoleOf(o.id(), kC2).last_visit_micros(), visit - kHour);
  EXPECT_EQ(RoleOf(o.id(), kC2).last_activity_micros(), call);
}

TEST_F(PipelineActivityTest, CompletingTheFirstCallPlansTheMaterials) {
  const v1::Opportunity o = MustCreate();
  const std::vector<v1::FollowUp> before = FollowUps(o.id());
  ASSERT_EQ(before.size(), 1u);
  clock_.Advance(absl::Hours(5));
  const int64_t t = NowMicros();
  const v1::Activity call = MustRecord(Act(o.id(), v1::ACTIVITY_KIND_CALL));
  EXPECT_EQ(call.completed_follow_up_id(), before[0].id());

  std::vector<v1::FollowUp> fups = FollowUps(o.id());
  ASSERT_EQ(fups.size(), 2u);
  EXPECT_EQ(fups[0].step_key(), "first_call");
  EXPECT_EQ(fups[0].state(), v1::FOLLOW_UP_STATE_DONE);
  EXPECT_EQ(fups[0].completed_by_activity_id(), call.id());
  EXPECT_EQ(fups[0].completed_micros(), t);
  EXPECT_EQ(fups[1].step_key(), "send_materials");
  EXPECT_EQ(fups[1].kind(), v1::ACTIVITY_KIND_EMAIL);
  EXPECT_EQ(fups[1].state(), v1::FOLLOW_UP_STATE_PLANNED);
  EXPECT_EQ(fups[1].earliest_micros(), t + 72 * kHour);
  EXPECT_EQ(fups[1].due_micros(), t + 120 * kHour);
  EXPECT_EQ(fups[1].owner_node_id(), "r1");

  // A second CALL completes nothing (no planned call); an activity may plan
  // one more follow-up of its own.
  v1::Activity demo = Act(o.id(), v1::ACTIVITY_KIND_CALL);
  demo.mutable_plan_follow_up()->set_kind(v1::ACTIVITY_KIND_DEMO);
  demo.mutable_plan_follow_up()->set_text("demo for the user department");
  demo.mutable_plan_follow_up()->set_due_micros(t + 48 * kHour);
  const v1::Activity second = MustRecord(demo);
  EXPECT_TRUE(second.completed_follow_up_id().empty());
  fups = FollowUps(o.id());
  ASSERT_EQ(fups.size(), 3u);
  EXPECT_EQ(fups[2].kind(), v1::ACTIVITY_KIND_DEMO);
  EXPECT_TRUE(fups[2].step_key().empty());
  EXPECT_EQ(fups[2].due_micros(), t + 48 * kHour);
  EXPECT_EQ(fups[2].state(), v1::FOLLOW_UP_STATE_PLANNED);

  // Naming the follow-up completes it whatever the activity's kind.
  v1::Activity visit = Act(o.id(), v1::ACTIVITY_KIND_VISIT);
  visit.set_follow_up_id(fups[1].id());
  const v1::Activity sent = MustRecord(visit);
  EXPECT_EQ(sent.completed_follow_up_id(), fups[1].id());
  fups = FollowUps(o.id());
  ASSERT_EQ(fups.size(), 4u);
  EXPECT_EQ(fups[1].state(), v1::FOLLOW_UP_STATE_DONE);
  EXPECT_EQ(fups[3].step_key(), "second_call");
  EXPECT_EQ(fups[3].earliest_micros(), t + 7 * 24 * kHour);
  EXPECT_EQ(fups[3].due_micros(), t + 10 * 24 * kHour);

  v1::Activity bad_plan = Act(o.id(), v1::ACTIVITY_KIND_CALL);
  bad_plan.mutable_plan_follow_up()->set_kind(v1::ACTIVITY_KIND_CALL);
  bad_plan.mutable_plan_follow_up()->set_text("x");
  bad_plan.mutable_plan_follow_up()->set_due_micros(t - kHour);
  v1::Activity out;
  EXPECT_TRUE(IsError(Record(bad_plan, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "activity.plan_follow_up.due_micros"));
}

TEST_F(PipelineActivityTest, OverdueFollowUpsForAnOwnerSubtree) {
  const v1::Opportunity mine = MustCreate("r1");
  const v1::Opportunity theirs = MustCreate("r3");
  const std::string f1 = FollowUps(mine.id()).at(0).id();
  const std::string f3 = FollowUps(theirs.id()).at(0).id();
  const int64_t later = NowMicros() + 25 * kHour;
  const int64_t soon = NowMicros() + 23 * kHour;

  EXPECT_THAT(Overdue(kManagerAToken, {}, later), ElementsAre(f1));
  EXPECT_THAT(Overdue(kManagerAToken, {"a"}, later), ElementsAre(f1));
  EXPECT_THAT(Overdue(kManagerAToken, {"r1"}, later), ElementsAre(f1));
  EXPECT_TRUE(Overdue(kManagerAToken, {"b"}, later).empty());
  EXPECT_TRUE(Overdue(kManagerAToken, {"a"}, soon).empty());
  EXPECT_THAT(Overdue(kManagerBToken, {}, later), ElementsAre(f3));
  EXPECT_THAT(Overdue(kRep3Token, {}, later), ElementsAre(f3));
  EXPECT_THAT(Overdue(kRep1Token, {"root"}, later), ElementsAre(f1));
  EXPECT_THAT(Overdue(kAdminToken, {}, later), UnorderedElementsAre(f1, f3));
  EXPECT_THAT(Overdue(kAdminToken, {"u"}, later), ElementsAre(f3));
  EXPECT_THAT(Overdue(kFinanceToken, {"a", "b"}, later),
              UnorderedElementsAre(f1, f3));

  // as_of 0 = now; done follow-ups are not overdue.
  clock_.Advance(absl::Hours(25));
  EXPECT_THAT(Overdue(kManagerAToken, {}, 0), ElementsAre(f1));
  MustRecord(Act(mine.id(), v1::ACTIVITY_KIND_CALL));
  EXPECT_TRUE(Overdue(kManagerAToken, {}, 0).empty());
  EXPECT_THAT(Overdue(kAdminToken, {}, 0), ElementsAre(f3));

  // Paged.
  MustCreate("r2");
  std::set<std::string> paged;
  v1::ListOverdueFollowUpsRequest page_req;
  page_req.set_as_of_micros(NowMicros() + 2 * kDay);
  page_req.mutable_page()->set_page_size(1);
  int pages = 0;
  for (int guard = 0; guard < 10; ++guard) {
    v1::ListOverdueFollowUpsResponse page;
    ASSERT_TRUE(IsOk(Call(&Stub::ListOverdueFollowUps, page_req, &page)));
    ++pages;
    ASSERT_LE(page.follow_ups_size(), 1);
    for (const v1::FollowUp& f : page.follow_ups()) {
      EXPECT_TRUE(paged.insert(f.id()).second) << f.id();
    }
    if (page.page().next_page_token().empty()) {
      break;
    }
    page_req.mutable_page()->set_page_token(page.page().next_page_token());
  }
  EXPECT_EQ(paged.size(), 2u) << "r3's first call and r2's";
  EXPECT_TRUE(paged.count(f3));
  EXPECT_LE(pages, 3);

  v1::ListOverdueFollowUpsRequest req;
  req.set_as_of_micros(-1);
  v1::ListOverdueFollowUpsResponse resp;
  EXPECT_TRUE(IsError(Call(&Stub::ListOverdueFollowUps, req, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT, "as_of_micros"));
}

// ---------------------------------------------------------------------------
// Evaluation tools (SPEC §3.5)

TEST_F(PipelineEvaluationTest, FourFactorsPursueOrAbandon) {
  auto eval = [&](int need, int impact, int fit, int rel, int min_factor,
                  int min_total, v1::FourFactorEvaluation* out,
                  const std::string& opp = "",
                  const std::string& token = kRep1Token) {
    v1::EvaluateFourFactorsRequest req;
    req.set_opportunity_id(opp);
    req.set_need(need);
    req.set_impact(impact);
    req.set_fit(fit);
    req.set_relationship(rel);
    req.set_min_factor(min_factor);
    req.set_min_total(min_total);
    return Call(&Stub::EvaluateFourFactors, req, out, token);
  };
  v1::FourFactorEvaluation e;
  ASSERT_TRUE(IsOk(eval(4, 4, 3, 3, 0, 0, &e)));
  EXPECT_EQ(e.total(), 14);
  EXPECT_EQ(e.min_factor(), 3);
  EXPECT_EQ(e.min_total(), 14);
  EXPECT_TRUE(e.pursue());
  EXPECT_TRUE(e.weak_factors().empty());
  EXPECT_EQ(e.evaluated_by(), "rep-1");
  EXPECT_EQ(e.evaluated_micros(), NowMicros());
  EXPECT_TRUE(e.opportunity_id().empty());

  ASSERT_TRUE(IsOk(eval(5, 5, 5, 2, 0, 0, &e)));
  EXPECT_EQ(e.total(), 17);
  EXPECT_FALSE(e.pursue());
  EXPECT_THAT(e.weak_factors(), ElementsAre("relationship"));
  ASSERT_TRUE(IsOk(eval(2, 5, 2, 5, 0, 0, &e)));
  EXPECT_FALSE(e.pursue());
  EXPECT_THAT(e.weak_factors(), ElementsAre("need", "fit"));
  ASSERT_TRUE(IsOk(eval(3, 3, 3, 3, 0, 0, &e)));
  EXPECT_EQ(e.total(), 12);
  EXPECT_FALSE(e.pursue()) << "every factor ok but the sum is below 14";
  EXPECT_TRUE(e.weak_factors().empty());
  // Configured thresholds.
  ASSERT_TRUE(IsOk(eval(3, 3, 2, 2, 2, 10, &e)));
  EXPECT_TRUE(e.pursue());
  EXPECT_EQ(e.min_factor(), 2);
  EXPECT_EQ(e.min_total(), 10);

  EXPECT_TRUE(IsError(eval(0, 3, 3, 3, 0, 0, &e),
                      grpc::StatusCode::INVALID_ARGUMENT, "need"));
  EXPECT_TRUE(IsError(eval(3, 3, 6, 3, 0, 0, &e),
                      grpc::StatusCode::INVALID_ARGUMENT, "fit"));
  EXPECT_TRUE(IsError(eval(3, 3, 3, 3, 0, 21, &e),
                      grpc::StatusCode::INVALID_ARGUMENT, "min_total"));

  // Stored on the opportunity when it is named.
  const v1::Opportunity o = MustCreate();
  ASSERT_TRUE(IsOk(eval(4, 5, 4, 3, 0, 0, &e, o.id())));
  EXPECT_EQ(e.opportunity_id(), o.id());
  const v1::Opportunity stored = MustGet(o.id());
  EXPECT_TRUE(MessageDifferencer::Equals(stored.four_factors(), e));
  EXPECT_EQ(stored.version(), o.version() + 1);
  // Not by someone who may not change it; not with a stale version.
  EXPECT_TRUE(IsError(eval(4, 5, 4, 3, 0, 0, &e, o.id(), kRep3Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(eval(4, 5, 4, 3, 0, 0, &e, o.id(), kFinanceToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(eval(4, 5, 4, 3, 0, 0, &e, "opp_unknown"),
                      grpc::StatusCode::NOT_FOUND));
  v1::EvaluateFourFactorsRequest stale;
  stale.set_opportunity_id(o.id());
  stale.set_need(1);
  stale.set_impact(1);
  stale.set_fit(1);
  stale.set_relationship(1);
  stale.set_expected_version(o.version());
  EXPECT_TRUE(IsError(Call(&Stub::EvaluateFourFactors, stale, &e),
                      grpc::StatusCode::ABORTED));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()).four_factors(),
                                         stored.four_factors()));
}

TEST_F(PipelineEvaluationTest, QualificationChecklist) {
  const v1::Opportunity o = MustCreate();
  v1::EvaluateQualificationRequest req;
  req.set_opportunity_id(o.id());
  v1::QualificationEvaluation* s = req.mutable_evaluation();
  s->set_need_match(4);
  s->set_budget(2);
  s->set_decision_cycle(3);
  s->set_competition(2);
  s->set_industry_prospect(5);
  s->set_credit_reputation(4);
  s->set_urgency(3);
  s->set_cooperation(5);
  v1::QualificationEvaluation e;
  ASSERT_TRUE(
      IsOk(Call(&Stub::EvaluateQualification, req, &e, kManagerAToken)));
  EXPECT_EQ(e.total(), 28);
  EXPECT_THAT(e.weakest(), ElementsAre("budget", "competition"));
  EXPECT_EQ(e.opportunity_id(), o.id());
  EXPECT_EQ(e.evaluated_by(), "manager-a");
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()).qualification(), e));

  req.mutable_evaluation()->set_budget(0);
  EXPECT_TRUE(IsError(Call(&Stub::EvaluateQualification, req, &e),
                      grpc::StatusCode::INVALID_ARGUMENT, "evaluation.budget"));
}

TEST_F(PipelineEvaluationTest, WeightedCompetitiveEvaluation) {
  // SPEC §3.5's criteria and weights.
  const std::vector<std::pair<std::string, int>> criteria = {
      {"customer relationship", 2000}, {"after-sales service", 1500},
      {"industry standard", 1000},     {"brand", 1000},
      {"product performance", 1000},   {"price", 1500},
      {"supply capability", 500},      {"speed of solution", 1500}};
  v1::EvaluateCompetitiveRequest req;
  for (const auto& [name, weight] : criteria) {
    v1::CompetitiveCriterion* c = req.add_criteria();
    c->set_name(name);
    c->set_weight_bp(weight);
  }
  auto party = [&](const std::string& name, std::vector<int> scores) {
    v1::CompetitiveParty* p = req.add_parties();
    p->set_name(name);
    for (int s : scores) {
      p->add_scores(s);
    }
  };
  party("us", {4, 5, 3, 4, 4, 3, 5, 4});
  party("rival", {3, 4, 4, 5, 5, 4, 3, 3});
  party("beta", {3, 4, 4, 5, 5, 4, 3, 3});
  v1::CompetitiveEvaluation e;
  ASSERT_TRUE(IsOk(Call(&Stub::EvaluateCompetitive, req, &e, kFinanceToken)))
      << "anyone may evaluate without storing";
  ASSERT_EQ(e.results_size(), 3);
  EXPECT_EQ(e.results(0).name(), "us");
  EXPECT_EQ(e.results(0).weighted_score_milli(), 3950);
  EXPECT_EQ(e.results(0).rank(), 1);
  EXPECT_EQ(e.results(1).name(), "beta");
  EXPECT_EQ(e.results(1).weighted_score_milli(), 3800);
  EXPECT_EQ(e.results(1).rank(), 2);
  EXPECT_EQ(e.results(2).name(), "rival");
  EXPECT_EQ(e.results(2).rank(), 2);

  // Weights must sum to exactly 10000 bp (1.00).
  v1::EvaluateCompetitiveRequest bad = req;
  bad.mutable_criteria(0)->set_weight_bp(1500);  // sum 9500
  EXPECT_TRUE(IsError(Call(&Stub::EvaluateCompetitive, bad, &e),
                      grpc::StatusCode::INVALID_ARGUMENT, "10000"));
  bad = req;
  bad.mutable_criteria(0)->set_weight_bp(2001);  // sum 10001
  EXPECT_TRUE(IsError(Call(&Stub::EvaluateCompetitive, bad, &e),
                      grpc::StatusCode::INVALID_ARGUMENT, "10000"));
  bad = req;
  bad.mutable_parties(0)->set_scores(2, 6);
  EXPECT_TRUE(IsError(Call(&Stub::EvaluateCompetitive, bad, &e),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "parties[0].scores[2]"));

  // Stored on the opportunity.
  const v1::Opportunity o = MustCreate();
  req.set_opportunity_id(o.id());
  ASSERT_TRUE(IsOk(Call(&Stub::EvaluateCompetitive, req, &e, kRep1Token)));
  EXPECT_EQ(e.opportunity_id(), o.id());
  const v1::Opportunity stored = MustGet(o.id());
  EXPECT_TRUE(MessageDifferencer::Equals(stored.competitive(), e));
  EXPECT_EQ(stored.competitive().results(0).name(), "us");
  // A rejected evaluation leaves the stored one alone.
  bad.set_opportunity_id(o.id());
  EXPECT_TRUE(IsError(Call(&Stub::EvaluateCompetitive, bad, &e),
                      grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()).competitive(),
                                         stored.competitive()));
}

// ---------------------------------------------------------------------------
// Deal health (SPEC §3.6): one situation per warning, built through the API

TEST_F(PipelineDealHealthTest, RoleMissing) {
  const v1::Opportunity o = MustCreate();
  v1::GetDealHealthResponse h = Health(o.id());
  ASSERT_TRUE(Has(h, v1::WARNING_CODE_ROLE_MISSING)) << h.ShortDebugString();
  EXPECT_FALSE(h.healthy());
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER);
  MustSetRole(o.id(), kC2, v1::BUYING_ROLE_USER);
  h = Health(o.id());
  const v1::DealWarning* w = Find(h, v1::WARNING_CODE_ROLE_MISSING);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->severity(), v1::SEVERITY_HIGH);
  EXPECT_THAT(w->detail(), HasSubstr("TECHNICAL_GATEKEEPER"));
  EXPECT_THAT(w->detail(), HasSubstr("COACH"));
  EXPECT_THAT(w->detail(), Not(HasSubstr("DECISION_MAKER")));
  MustSetRole(o.id(), kC3, v1::BUYING_ROLE_TECHNICAL_GATEKEEPER);
  MustSetRole(o.id(), kC4, v1::BUYING_ROLE_COACH);
  EXPECT_FALSE(Has(Health(o.id()), v1::WARNING_CODE_ROLE_MISSING));
  // A removed role no longer holds it.
  v1::RemoveContactRoleRequest req;
  req.set_opportunity_id(o.id());
  req.set_contact_id(kC2);
  v1::ContactRole removed;
  ASSERT_TRUE(IsOk(Call(&Stub::RemoveContactRole, req, &removed)));
  EXPECT_TRUE(Has(Health(o.id()), v1::WARNING_CODE_ROLE_MISSING));
}

TEST_F(PipelineDealHealthTest, NoCoach) {
  const v1::Opportunity o = MustCreate();
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER);
  MustSetRole(o.id(), kC2, v1::BUYING_ROLE_USER);
  MustSetRole(o.id(), kC3, v1::BUYING_ROLE_TECHNICAL_GATEKEEPER);
  v1::GetDealHealthResponse h = Health(o.id());
  const v1::DealWarning* w = Find(h, v1::WARNING_CODE_NO_COACH);
  ASSERT_NE(w, nullptr) << h.ShortDebugString();
  EXPECT_EQ(w->severity(), v1::SEVERITY_HIGH);
  MustSetRole(o.id(), kC4, v1::BUYING_ROLE_COACH);
  EXPECT_FALSE(Has(Health(o.id()), v1::WARNING_CODE_NO_COACH));
}

TEST_F(PipelineDealHealthTest, CoreNotVisited) {
  const v1::Opportunity o = MustCreate();
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER);
  MustSetRole(o.id(), kC2, v1::BUYING_ROLE_INFLUENCER);  // not core
  v1::GetDealHealthResponse h = Health(o.id());
  const v1::DealWarning* w = Find(h, v1::WARNING_CODE_CORE_NOT_VISITED);
  ASSERT_NE(w, nullptr) << h.ShortDebugString();
  EXPECT_THAT(w->contact_ids(), ElementsAre(kC1));
  clock_.Advance(absl::Hours(1));
  MustRecord(Act(o.id(), v1::ACTIVITY_KIND_CALL, {kC1}));
  EXPECT_TRUE(Has(Health(o.id()), v1::WARNING_CODE_CORE_NOT_VISITED))
      << "a call is not a visit";
  MustRecord(Act(o.id(), v1::ACTIVITY_KIND_MEETING, {kC1}));
  EXPECT_FALSE(Has(Health(o.id()), v1::WARNING_CODE_CORE_NOT_VISITED));
}

TEST_F(PipelineDealHealthTest, RoleChangedSinceTheLastReview) {
  const v1::Opportunity o = MustCreate();
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER, v1::ATTITUDE_C);
  MustRecord(Act(o.id(), v1::ACTIVITY_KIND_VISIT, {kC1}));
  clock_.Advance(absl::Hours(1));
  v1::WeeklyReview review;
  ASSERT_TRUE(IsOk(Review(o.id(), Day(2026, 1, 1), &review, kManagerAToken)));
  EXPECT_EQ(review.week().day(), 29) << "normalized to the Monday";
  EXPECT_EQ(review.week().month(), 12);
  EXPECT_FALSE(Has(Health(o.id()), v1::WARNING_CODE_ROLE_CHANGED));

  // The attitude changes after the review, and nobody talked to them since.
  clock_.Advance(absl::Hours(1));
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER, v1::ATTITUDE_D);
  v1::GetDealHealthResponse h = Health(o.id());
  const v1::DealWarning* w = Find(h, v1::WARNING_CODE_ROLE_CHANGED);
  ASSERT_NE(w, nullptr) << h.ShortDebugString();
  EXPECT_THAT(w->contact_ids(), ElementsAre(kC1));
  EXPECT_EQ(w->severity(), v1::SEVERITY_MEDIUM);

  // An activity with them clears it; so would the next review.
  clock_.Advance(absl::Hours(1));
  MustRecord(Act(o.id(), v1::ACTIVITY_KIND_CALL, {kC1}));
  EXPECT_FALSE(Has(Health(o.id()), v1::WARNING_CODE_ROLE_CHANGED));
  clock_.Advance(absl::Hours(1));
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_USER, v1::ATTITUDE_D);
  EXPECT_TRUE(Has(Health(o.id()), v1::WARNING_CODE_ROLE_CHANGED))
      << "a role change counts too";
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(IsOk(Review(o.id(), Day(2026, 1, 5), &review)));
  EXPECT_FALSE(Has(Health(o.id()), v1::WARNING_CODE_ROLE_CHANGED));
  v1::ListWeeklyReviewsRequest req;
  req.set_opportunity_id(o.id());
  v1::ListWeeklyReviewsResponse reviews;
  ASSERT_TRUE(IsOk(Call(&Stub::ListWeeklyReviews, req, &reviews)));
  EXPECT_EQ(reviews.reviews_size(), 2);
}

TEST_F(PipelineDealHealthTest, NewFace) {
  const v1::Opportunity o = MustCreate();
  MustSetRole(o.id(), kC2, v1::BUYING_ROLE_INFLUENCER);
  MustSetRole(o.id(), kC3, v1::BUYING_ROLE_FINANCIAL_BUYER);
  MustRecord(Act(o.id(), v1::ACTIVITY_KIND_VISIT, {kC3}));
  v1::GetDealHealthResponse h = Health(o.id());
  const v1::DealWarning* w = Find(h, v1::WARNING_CODE_NEW_FACE);
  ASSERT_NE(w, nullptr) << h.ShortDebugString();
  EXPECT_THAT(w->contact_ids(), ElementsAre(kC2));
  clock_.Advance(Days(14));
  EXPECT_TRUE(Has(Health(o.id()), v1::WARNING_CODE_NEW_FACE));
  clock_.Advance(absl::Seconds(1));
  EXPECT_FALSE(Has(Health(o.id()), v1::WARNING_CODE_NEW_FACE))
      << "no longer new after 14 days";
}

TEST_F(PipelineDealHealthTest, CompetitionUnknown) {
  v1::Opportunity draft = Draft();
  draft.set_competitors_unknown(true);
  const v1::Opportunity o = MustCreate(draft);
  v1::GetDealHealthResponse h = Health(o.id());
  const v1::DealWarning* w = Find(h, v1::WARNING_CODE_COMPETITION_UNKNOWN);
  ASSERT_NE(w, nullptr) << h.ShortDebugString();
  EXPECT_THAT(w->detail(), HasSubstr("unknown"));
  v1::Opportunity edit = o;
  edit.set_competitors_unknown(false);
  v1::Competitor* c = edit.add_competitors();
  c->set_name("Rival AG");
  c->set_strengths("price");
  v1::Opportunity out;
  ASSERT_TRUE(IsOk(Update(edit, o.version(), &out)));
  EXPECT_FALSE(Has(Health(o.id()), v1::WARNING_CODE_COMPETITION_UNKNOWN));
}

TEST_F(PipelineDealHealthTest, Opposed) {
  const v1::Opportunity o = MustCreate();
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_TECHNICAL_GATEKEEPER,
              v1::ATTITUDE_E);
  MustSetRole(o.id(), kC2, v1::BUYING_ROLE_INFLUENCER, v1::ATTITUDE_E);
  v1::GetDealHealthResponse h = Health(o.id());
  const v1::DealWarning* w = Find(h, v1::WARNING_CODE_OPPOSED);
  ASSERT_NE(w, nullptr) << h.ShortDebugString();
  EXPECT_EQ(w->severity(), v1::SEVERITY_HIGH);
  EXPECT_THAT(w->contact_ids(), ElementsAre(kC1)) << "only core contacts";
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_TECHNICAL_GATEKEEPER,
              v1::ATTITUDE_D);
  EXPECT_TRUE(Has(Health(o.id()), v1::WARNING_CODE_OPPOSED));
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_TECHNICAL_GATEKEEPER,
              v1::ATTITUDE_C);
  EXPECT_FALSE(Has(Health(o.id()), v1::WARNING_CODE_OPPOSED));
}

TEST_F(PipelineDealHealthTest, Stalled) {
  const v1::Opportunity o = MustCreate();
  clock_.Advance(Days(45));
  EXPECT_FALSE(Has(Health(o.id()), v1::WARNING_CODE_STALLED));
  clock_.Advance(absl::Minutes(1));
  v1::GetDealHealthResponse h = Health(o.id());
  const v1::DealWarning* w = Find(h, v1::WARNING_CODE_STALLED);
  ASSERT_NE(w, nullptr) << h.ShortDebugString();
  EXPECT_THAT(w->detail(), HasSubstr("INTEREST"));
  // Entering a stage restarts the count.
  const v1::Opportunity checked =
      MustCheck(o.id(), "INTEREST", "purchase_request");
  v1::Opportunity moved;
  ASSERT_TRUE(IsOk(Move(o.id(), "CONSIDERATION", checked.version(), &moved)));
  EXPECT_FALSE(Has(Health(o.id()), v1::WARNING_CODE_STALLED));

  // A model's own stall limit.
  v1::Opportunity quick = Draft();
  quick.set_stage_model_id(
      MustCopyModel(kBuyingCycle6, "Fast", 0, /*stall_limit_days=*/10).id());
  const v1::Opportunity q = MustCreate(quick);
  clock_.Advance(Days(10) + absl::Seconds(1));
  EXPECT_TRUE(Has(Health(q.id()), v1::WARNING_CODE_STALLED));
  // Closed deals do not stall.
  v1::Opportunity closed;
  ASSERT_TRUE(IsOk(
      Close(q.id(), v1::OPPORTUNITY_STATUS_ABANDONED, "no value", 0, &closed)));
  EXPECT_FALSE(Has(Health(q.id()), v1::WARNING_CODE_STALLED));
}

TEST_F(PipelineDealHealthTest, CloseDatePassed) {
  const v1::Opportunity o =
      MustCreate(Draft("r1", kAcc1, 5'000'000, Day(2026, 1, 5)));
  clock_.Set(absl::FromCivil(absl::CivilSecond(2026, 1, 5, 23, 59, 59),
                             absl::UTCTimeZone()));
  EXPECT_FALSE(Has(Health(o.id()), v1::WARNING_CODE_CLOSE_DATE_PASSED));
  clock_.Advance(absl::Seconds(1));  // 2026-01-06
  v1::GetDealHealthResponse h = Health(o.id());
  const v1::DealWarning* w = Find(h, v1::WARNING_CODE_CLOSE_DATE_PASSED);
  ASSERT_NE(w, nullptr) << h.ShortDebugString();
  EXPECT_EQ(w->severity(), v1::SEVERITY_HIGH);
  EXPECT_THAT(w->detail(), HasSubstr("2026-01-05"));
  // Closed deals get no date warning.
  const v1::Opportunity late =
      MustCreate(Draft("r1", kAcc1, 1, Day(2026, 1, 2)));
  EXPECT_TRUE(Has(Health(late.id()), v1::WARNING_CODE_CLOSE_DATE_PASSED));
  v1::Opportunity won;
  ASSERT_TRUE(IsOk(Close(late.id(), v1::OPPORTUNITY_STATUS_WON, "", 0, &won)));
  EXPECT_FALSE(Has(Health(late.id()), v1::WARNING_CODE_CLOSE_DATE_PASSED));

  v1::Opportunity edit = MustGet(o.id());
  *edit.mutable_expected_close_date() = Day(2026, 2, 27);
  v1::Opportunity out;
  ASSERT_TRUE(IsOk(Update(edit, 0, &out)));
  EXPECT_FALSE(Has(Health(o.id()), v1::WARNING_CODE_CLOSE_DATE_PASSED));
}

TEST_F(PipelineDealHealthTest, FollowUpOverdue) {
  const v1::Opportunity o = MustCreate();
  clock_.Advance(absl::Hours(24));
  EXPECT_FALSE(Has(Health(o.id()), v1::WARNING_CODE_FOLLOW_UP_OVERDUE));
  clock_.Advance(absl::Seconds(1));
  v1::GetDealHealthResponse h = Health(o.id());
  const v1::DealWarning* w = Find(h, v1::WARNING_CODE_FOLLOW_UP_OVERDUE);
  ASSERT_NE(w, nullptr) << h.ShortDebugString();
  EXPECT_THAT(w->detail(), HasSubstr(FollowUps(o.id()).at(0).id()));
  // as_of in the request instead of the clock.
  EXPECT_FALSE(Has(Health(o.id(), o.created_micros() + kHour),
                   v1::WARNING_CODE_FOLLOW_UP_OVERDUE));
  // The late call completes it and plans the next step in the future.
  MustRecord(Act(o.id(), v1::ACTIVITY_KIND_CALL));
  EXPECT_FALSE(Has(Health(o.id()), v1::WARNING_CODE_FOLLOW_UP_OVERDUE));
}

TEST_F(PipelineDealHealthTest, HealthyDealHasNoWarnings) {
  v1::Opportunity draft = Draft();
  v1::Competitor* c = draft.add_competitors();
  c->set_name("Rival AG");
  c->set_weaknesses("slow service");
  const v1::Opportunity o = MustCreate(draft);
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER, v1::ATTITUDE_A, 40);
  MustSetRole(o.id(), kC2, v1::BUYING_ROLE_USER, v1::ATTITUDE_B_PLUS, 30);
  MustSetRole(o.id(), kC3, v1::BUYING_ROLE_TECHNICAL_GATEKEEPER, v1::ATTITUDE_B,
              20);
  MustSetRole(o.id(), kC4, v1::BUYING_ROLE_COACH, v1::ATTITUDE_C, 10);
  clock_.Advance(absl::Hours(2));
  // The whole default cadence done: call, materials, second call.
  MustRecord(Act(o.id(), v1::ACTIVITY_KIND_CALL, {kC4}));
  MustRecord(Act(o.id(), v1::ACTIVITY_KIND_EMAIL, {kC1}));
  MustRecord(Act(o.id(), v1::ACTIVITY_KIND_CALL, {kC4}));
  MustRecord(Act(o.id(), v1::ACTIVITY_KIND_VISIT, {kC1, kC2, kC3, kC4}));
  for (const v1::FollowUp& f : FollowUps(o.id())) {
    EXPECT_EQ(f.state(), v1::FOLLOW_UP_STATE_DONE) << f.step_key();
  }
  const v1::GetDealHealthResponse h = Health(o.id(), 0);
  EXPECT_TRUE(h.healthy()) << h.ShortDebugString();
  EXPECT_TRUE(h.warnings().empty()) << ::testing::PrintToString(CodesOf(h));
  // Readers in scope get the same answer.
  v1::GetDealHealthRequest req;
  req.set_opportunity_id(o.id());
  v1::GetDealHealthResponse other;
  ASSERT_TRUE(IsOk(Call(&Stub::GetDealHealth, req, &other, kManagerAToken)));
  EXPECT_TRUE(other.healthy());
  EXPECT_TRUE(IsError(Call(&Stub::GetDealHealth, req, &other, kRep3Token),
                      grpc::StatusCode::PERMISSION_DENIED));
}

// ---------------------------------------------------------------------------
// Roles and re-orgs (SPEC §8, §6)

TEST_F(PipelineRolesTest, ManagersChangeOnlyTheirSubtree) {
  const v1::Opportunity mine = MustCreate("r1");
  const v1::Opportunity theirs = MustCreate("r3");
  v1::Opportunity out;

  v1::Opportunity edit = mine;
  edit.set_name("Managed by A");
  EXPECT_TRUE(IsOk(Update(edit, 0, &out, kManagerAToken)));
  EXPECT_TRUE(IsOk(Check(mine.id(), "INTEREST", "purchase_request", true, &out,
                         kManagerAToken)));
  EXPECT_TRUE(IsOk(Move(mine.id(), "CONSIDERATION", 0, &out, kManagerAToken)));

  edit = theirs;
  edit.set_name("Not A's");
  EXPECT_TRUE(IsError(Update(edit, 0, &out, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Check(theirs.id(), "INTEREST", "purchase_request", true,
                            &out, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(
      Move(theirs.id(), "CONSIDERATION", 0, &out, kManagerAToken, "forced"),
      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Close(theirs.id(), v1::OPPORTUNITY_STATUS_LOST, "x", 0,
                            &out, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Get(theirs.id(), &out, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  v1::Activity act;
  EXPECT_TRUE(IsError(
      Record(Act(theirs.id(), v1::ACTIVITY_KIND_CALL), &act, kManagerAToken),
      grpc::StatusCode::PERMISSION_DENIED));
  v1::ContactRole role;
  EXPECT_TRUE(IsError(SetRole(theirs.id(), kC1, v1::BUYING_ROLE_USER,
                              v1::ATTITUDE_C, 0, &role, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  v1::WeeklyReview review;
  EXPECT_TRUE(
      IsError(Review(theirs.id(), Day(2026, 1, 5), &review, kManagerAToken),
              grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(theirs.id()), theirs));

  // REPs: their own only.
  EXPECT_TRUE(IsOk(Check(mine.id(), "CONSIDERATION", "decision_to_buy", true,
                         &out, kRep1Token)));
  EXPECT_TRUE(IsError(Check(theirs.id(), "INTEREST", "purchase_request", true,
                            &out, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
}

TEST_F(PipelineRolesTest, ReOrgMovesTheManagersScope) {
  const v1::Opportunity mine = MustCreate("r1");
  const v1::Opportunity theirs = MustCreate("r3");
  const v1::Opportunity theirs2 = MustCreate("r3");
  v1::Opportunity out;
  EXPECT_EQ(ListIds({}, kManagerAToken), std::set<std::string>{mine.id()});

  // Team u (with r3) moves from region b to region a.
  ReOrg("u", "a");
  ASSERT_TRUE(IsOk(Get(theirs.id(), &out, kManagerAToken)));
  v1::Opportunity edit = theirs;
  edit.set_name("Now A's");
  ASSERT_TRUE(IsOk(Update(edit, theirs.version(), &out, kManagerAToken)));
  EXPECT_EQ(out.name(), "Now A's");
  ASSERT_TRUE(IsOk(Check(theirs.id(), "INTEREST", "purchase_request", true,
                         &out, kManagerAToken)));
  ASSERT_TRUE(
      IsOk(Move(theirs.id(), "CONSIDERATION", 0, &out, kManagerAToken)));
  EXPECT_EQ(ListIds({}, kManagerAToken),
            (std::set<std::string>{mine.id(), theirs.id(), theirs2.id()}));
  EXPECT_EQ(OwnedBy({"a"}, kManagerAToken),
            (std::set<std::string>{mine.id(), theirs.id(), theirs2.id()}));
  EXPECT_EQ(Overdue(kManagerAToken, {}, NowMicros() + 2 * kDay).size(), 3u);
  // A may now also give opportunities to r3.
  ASSERT_TRUE(IsOk(Create(Draft("r3"), &out, kManagerAToken)));

  // Region b's manager lost them.
  EXPECT_TRUE(IsError(Get(theirs.id(), &out, kManagerBToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(ListIds({}, kManagerBToken).empty());
  EXPECT_TRUE(IsError(Update(edit, 0, &out, kManagerBToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  // The rep keeps their own.
  EXPECT_EQ(ListIds({}, kRep3Token).size(), 3u);
}

TEST_F(PipelineRolesTest, FinanceAndServiceOnlyRead) {
  const v1::Opportunity o = MustCreate();
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER);
  for (const char* token : {kFinanceToken, kServiceToken}) {
    SCOPED_TRACE(token);
    v1::Opportunity out;
    EXPECT_TRUE(IsOk(Get(o.id(), &out, token)));
    EXPECT_EQ(ListIds({}, token).size(), 1u);
    EXPECT_EQ(History(o.id(), token).size(), 1u);
    v1::GetDealHealthRequest hreq;
    hreq.set_opportunity_id(o.id());
    v1::GetDealHealthResponse health;
    EXPECT_TRUE(IsOk(Call(&Stub::GetDealHealth, hreq, &health, token)));
    v1::ListContactRolesRequest rreq;
    rreq.set_opportunity_id(o.id());
    v1::ListContactRolesResponse roles;
    EXPECT_TRUE(IsOk(Call(&Stub::ListContactRoles, rreq, &roles, token)));
    EXPECT_EQ(roles.roles_size(), 1);

    const auto denied = grpc::StatusCode::PERMISSION_DENIED;
    EXPECT_TRUE(IsError(Create(Draft(), &out, token), denied));
    v1::Opportunity edit = o;
    edit.set_name("x");
    EXPECT_TRUE(IsError(Update(edit, 0, &out, token), denied));
    EXPECT_TRUE(IsError(
        Check(o.id(), "INTEREST", "purchase_request", true, &out, token),
        denied));
    EXPECT_TRUE(IsError(Move(o.id(), "INTEREST", 0, &out, token), denied));
    EXPECT_TRUE(
        IsError(Close(o.id(), v1::OPPORTUNITY_STATUS_LOST, "x", 0, &out, token),
                denied));
    EXPECT_TRUE(IsError(Reopen(o.id(), "x", 0, &out, token), denied));
    v1::ContactRole role;
    EXPECT_TRUE(IsError(SetRole(o.id(), kC2, v1::BUYING_ROLE_USER,
                                v1::ATTITUDE_C, 0, &role, token),
                        denied));
    v1::RemoveContactRoleRequest rm;
    rm.set_opportunity_id(o.id());
    rm.set_contact_id(kC1);
    EXPECT_TRUE(
        IsError(Call(&Stub::RemoveContactRole, rm, &role, token), denied));
    v1::Activity act;
    EXPECT_TRUE(IsError(
        Record(Act(o.id(), v1::ACTIVITY_KIND_CALL), &act, token), denied));
    v1::WeeklyReview review;
    EXPECT_TRUE(
        IsError(Review(o.id(), Day(2026, 1, 5), &review, token), denied));
    v1::StageModel model;
    EXPECT_TRUE(IsError(
        CreateModel(v1::StageModel(), kBuyingCycle6, &model, token), denied));
  }
  // Nothing changed.
  const v1::Opportunity now = MustGet(o.id());
  EXPECT_EQ(now.version(), o.version());
  EXPECT_EQ(Roles(o.id()).size(), 1u);
}

TEST_F(PipelineRolesTest, EveryCallNeedsAKnownToken) {
  const v1::Opportunity o = MustCreate();
  v1::Opportunity out;
  for (const std::string token : {"", "not-a-known-token"}) {
    SCOPED_TRACE(token);
    const auto unauth = grpc::StatusCode::UNAUTHENTICATED;
    EXPECT_TRUE(IsError(Get(o.id(), &out, token), unauth));
    EXPECT_TRUE(IsError(Create(Draft(), &out, token), unauth));
    v1::ListOpportunitiesResponse list;
    EXPECT_TRUE(IsError(List({}, &list, token), unauth));
    EXPECT_TRUE(IsError(Move(o.id(), "CONSIDERATION", 0, &out, token), unauth));
    v1::StageModel model;
    EXPECT_TRUE(IsError(GetModel(kBuyingCycle6, &model, token), unauth));
    v1::GetDealHealthRequest hreq;
    hreq.set_opportunity_id(o.id());
    v1::GetDealHealthResponse health;
    EXPECT_TRUE(
        IsError(Call(&Stub::GetDealHealth, hreq, &health, token), unauth));
    v1::EvaluateFourFactorsRequest ff;
    v1::FourFactorEvaluation e;
    EXPECT_TRUE(
        IsError(Call(&Stub::EvaluateFourFactors, ff, &e, token), unauth));
  }
}

// ---------------------------------------------------------------------------
// Feed (ARCHITECTURE.md §4; kinds per pipeline.proto)

TEST_F(PipelineFeedTest, CreateIsAnOpportunityEventWithItsFullState) {
  const uint64_t start = FeedPosition();
  const v1::Opportunity o = MustCreate();
  EXPECT_GT(FeedPosition(), start);

  auto ctx = Ctx(kServiceToken);
  v1::WatchRequest req;
  req.set_after_sequence(start);
  req.add_kinds(kOpportunityKind);
  req.add_kinds(kChangeKind);
  req.add_kinds(kFollowUpKind);
  auto reader = feed_stub_->Watch(ctx.get(), req);
  std::map<std::string, v1::Event> by_kind;
  v1::Event ev;
  for (int i = 0; i < 3 && reader->Read(&ev); ++i) {
    EXPECT_GT(ev.sequence(), start);
    by_kind[ev.kind()] = ev;
  }
  ctx->TryCancel();
  reader->Finish();

  ASSERT_EQ(by_kind.count("pipeline.Opportunity"), 1u);
  const v1::Event& opp_event = by_kind["pipeline.Opportunity"];
  EXPECT_EQ(opp_event.entity_id(), o.id());
  EXPECT_EQ(opp_event.time_micros(), o.created_micros());
  v1::Opportunity payload;
  ASSERT_TRUE(opp_event.payload().UnpackTo(&payload));
  EXPECT_TRUE(MessageDifferencer::Equals(payload, o));

  ASSERT_EQ(by_kind.count("pipeline.OpportunityChange"), 1u);
  v1::OpportunityChange change;
  ASSERT_TRUE(
      by_kind["pipeline.OpportunityChange"].payload().UnpackTo(&change));
  EXPECT_EQ(change.kind(), v1::CHANGE_KIND_CREATED);
  EXPECT_EQ(change.opportunity_id(), o.id());

  ASSERT_EQ(by_kind.count("pipeline.FollowUp"), 1u);
  v1::FollowUp fup;
  ASSERT_TRUE(by_kind["pipeline.FollowUp"].payload().UnpackTo(&fup));
  EXPECT_EQ(fup.step_key(), "first_call");

  // The feed is for SERVICE and ADMIN callers only.
  auto rep_ctx = Ctx(kRep1Token);
  v1::GetFeedPositionResponse pos;
  EXPECT_TRUE(IsError(feed_stub_->GetFeedPosition(rep_ctx.get(), {}, &pos),
                      grpc::StatusCode::PERMISSION_DENIED));
}

TEST_F(PipelineFeedTest, RejectedWritesEmitNothing) {
  const v1::Opportunity o = MustCreate();
  const uint64_t before = FeedPosition();
  v1::Opportunity out;
  EXPECT_FALSE(Move(o.id(), "CONSIDERATION", 0, &out).ok());
  EXPECT_FALSE(Update(o, o.version() + 5, &out).ok());
  fake_credit_.Script(CreditDecision::kBlock, {"hold"});
  EXPECT_FALSE(Move(o.id(), "COMMITMENT", 0, &out, kAdminToken, "force").ok());
  EXPECT_FALSE(Close(o.id(), v1::OPPORTUNITY_STATUS_LOST, "", 0, &out).ok());
  EXPECT_EQ(FeedPosition(), before);
}

// ---------------------------------------------------------------------------
// The credit service over gRPC (SPEC §3.3, §6): the real credit client and
// the credit feed against an in-process fake of salesops.v1.CreditService,
// served with a FeedService over a credit store of its own.

constexpr char kPipelineToken[] = "pipeline-service-token";

// CheckCredit answers what the test scripted and remembers the last request
// and its authorization header; ListOpportunityCollections serves the
// scripted collections `page_size` at a time, the first page at
// `feed_sequence` and each later one a step further (as pages read later).
class FakeCreditService final : public v1::CreditService::Service {
 public:
  void Script(v1::CreditDecision decision, std::vector<std::string> reasons) {
    std::lock_guard<std::mutex> lock(mu_);
    decision_ = decision;
    reasons_ = std::move(reasons);
    error_ = grpc::Status::OK;
  }
  void ScriptError(grpc::Status error) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::move(error);
  }
  void SetCollections(std::vector<v1::OpportunityCollection> collections,
                      uint64_t feed_sequence, int page_size) {
    std::lock_guard<std::mutex> lock(mu_);
    collections_ = std::move(collections);
    feed_sequence_ = feed_sequence;
    page_size_ = page_size;
  }
  v1::CheckCreditRequest last() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }
  std::string last_authorization() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_authorization_;
  }
  int checks() const {
    std::lock_guard<std::mutex> lock(mu_);
    return checks_;
  }
  int list_calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return list_calls_;
  }

  grpc::Status CheckCredit(grpc::ServerContext* ctx,
                           const v1::CheckCreditRequest* req,
                           v1::CreditCheck* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++checks_;
    last_ = *req;
    last_authorization_ = Authorization(*ctx);
    if (!error_.ok()) {
      return error_;
    }
    resp->set_id(absl::StrCat("chk_", checks_));
    resp->set_account_id(req->account_id());
    resp->set_opportunity_id(req->opportunity_id());
    *resp->mutable_amount() = req->amount();
    resp->set_decision(decision_);
    for (const std::string& r : reasons_) {
      resp->add_reasons(r);
    }
    resp->set_version(1);
    return grpc::Status::OK;
  }

  grpc::Status ListOpportunityCollections(
      grpc::ServerContext* ctx,
      const v1::ListOpportunityCollectionsRequest* req,
      v1::ListOpportunityCollectionsResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++list_calls_;
    if (Authorization(*ctx) != absl::StrCat("Bearer ", kPipelineToken)) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no token");
    }
    size_t start = 0;
    if (!req->page().page_token().empty()) {
      start = std::stoul(req->page().page_token());
    }
    const size_t end =
        std::min(collections_.size(), start + static_cast<size_t>(page_size_));
    for (size_t i = start; i < end; ++i) {
      *resp->add_collections() = collections_[i];
    }
    if (end < collections_.size()) {
      resp->mutable_page()->set_next_page_token(std::to_string(end));
    }
    resp->mutable_page()->set_feed_sequence(feed_sequence_ + start);
    return grpc::Status::OK;
  }

 private:
  static std::string Authorization(const grpc::ServerContext& ctx) {
    auto it = ctx.client_metadata().find("authorization");
    if (it == ctx.client_metadata().end()) {
      return "";
    }
    return std::string(it->second.data(), it->second.size());
  }

  mutable std::mutex mu_;
  v1::CreditDecision decision_ = v1::CREDIT_DECISION_APPROVE;
  std::vector<std::string> reasons_;
  grpc::Status error_;
  v1::CheckCreditRequest last_;
  std::string last_authorization_;
  int checks_ = 0;
  int list_calls_ = 0;
  std::vector<v1::OpportunityCollection> collections_;
  uint64_t feed_sequence_ = 0;
  int page_size_ = 1000;
};

// The credit service as pipeline reaches it: FakeCreditService plus the
// FeedService of a credit store (events committed at `clock`'s time) on
// 127.0.0.1, port 0.
class CreditPeer {
 public:
  CreditPeer(const std::string& dir, Clock* clock) {
    store_ = testing::OpenTestStore(dir, {"collections"}, clock);
    if (store_ == nullptr) {
      return;
    }
    auth_ =
        testing::AuthFor({{kPipelineToken, {"pipeline", Role::kService, ""}}});
    FeedServiceOptions feed_options;
    feed_options.idle_poll = absl::Milliseconds(50);
    feed_ = std::make_unique<FeedServiceImpl>(store_.get(), auth_.get(),
                                              feed_options);
    grpc::ServerBuilder builder;
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    builder.RegisterService(feed_.get());
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      ADD_FAILURE() << "cannot start the fake credit service";
      server_.reset();
    }
  }
  ~CreditPeer() { Stop(); }

  // Stops serving (idempotent); the port then refuses connections.
  void Stop() {
    if (feed_ != nullptr) {
      feed_->Stop();
    }
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
      server_->Wait();
      server_.reset();
    }
  }

  bool ok() const { return server_ != nullptr; }
  std::string target() const { return absl::StrCat("127.0.0.1:", port_); }
  // How pipeline's main builds the channel: the address and its SERVICE token.
  std::unique_ptr<PeerChannel> Peer(
      absl::Duration timeout = absl::Seconds(5)) const {
    PeerConfig c;
    c.target = target();
    c.bearer_token = kPipelineToken;
    c.call_timeout = timeout;
    return PeerChannel::Create(c).value();
  }
  // Commits one event of `kind` for `c` on credit's feed; its sequence.
  uint64_t Emit(const v1::OpportunityCollection& c,
                const std::string& kind = kOpportunityCollectionKind) {
    absl::StatusOr<CommitResult> r =
        store_->Write(SystemActor("test"), [&](WriteTxn& txn) -> absl::Status {
          txn.Emit(kind, c.opportunity_id(), c);
          return absl::OkStatus();
        });
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->last_sequence : 0;
  }
  FakeCreditService& service() { return service_; }

 private:
  std::unique_ptr<Store> store_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<FeedServiceImpl> feed_;
  FakeCreditService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

v1::OpportunityCollection Collection(const std::string& opportunity_id,
                                     bool fully_collected,
                                     const std::string& account = kAcc1,
                                     int64_t version = 1) {
  v1::OpportunityCollection c;
  c.set_opportunity_id(opportunity_id);
  c.set_account_id(account);
  *c.mutable_invoiced() = Eur(5'000'000);
  *c.mutable_collected() = Eur(fully_collected ? 5'000'000 : 2'000'000);
  *c.mutable_written_off() = Eur(0);
  c.set_fully_collected(fully_collected);
  if (fully_collected) {
    *c.mutable_collected_date() = Day(2026, 1, 2);
  }
  c.set_version(version);
  return c;
}

v1::Event CollectionEvent(const v1::OpportunityCollection& c,
                          int64_t time_micros, uint64_t sequence = 1) {
  v1::Event e;
  e.set_sequence(sequence);
  e.set_kind(kOpportunityCollectionKind);
  e.set_entity_id(c.opportunity_id());
  e.set_time_micros(time_micros);
  e.mutable_payload()->PackFrom(c);
  e.set_head_sequence(sequence);
  return e;
}

// The fixture plus the credit peer, and a real credit client over it.
class PipelineCreditPeerTest : public PipelineServiceTest {
 protected:
  void SetUp() override {
    PipelineServiceTest::SetUp();
    credit_clock_.Set(clock_.Now() + absl::Hours(6));
    peer_ = std::make_unique<CreditPeer>(credit_dir_.path(), &credit_clock_);
    ASSERT_TRUE(peer_->ok());
    channel_ = peer_->Peer();
    grpc_credit_ = NewGrpcCreditClient(channel_.get());
  }
  void TearDown() override {
    PipelineServiceTest::TearDown();  // the service before its credit client
    grpc_credit_.reset();
    channel_.reset();
    peer_.reset();
  }

  // An opportunity of buying-cycle-6 created directly in `stage`.
  v1::Opportunity CreateIn(const std::string& stage) {
    v1::Opportunity draft = Draft();
    draft.set_stage_key(stage);
    return MustCreate(draft);
  }
  // ApplyCreditEvent in a transaction of its own, as the consumer runs it.
  absl::Status ApplyCredit(const v1::Event& e) {
    return store_
        ->Write(
            SystemActor("test"),
            [&](WriteTxn& txn) { return service_->ApplyCreditEvent(e, txn); })
        .status();
  }

  salesops::testing::TempDir credit_dir_;
  FakeClock credit_clock_;
  std::unique_ptr<CreditPeer> peer_;
  std::unique_ptr<PeerChannel> channel_;
  std::unique_ptr<CreditClient> grpc_credit_;
};

using PipelineCreditClientTest = PipelineCreditPeerTest;
using PipelineCreditFeedTest = PipelineCreditPeerTest;

TEST_F(PipelineCreditClientTest, MapsDecisionsAndReasonsWithTheServiceToken) {
  struct Case {
    v1::CreditDecision wire;
    CreditDecision want;
    std::vector<std::string> reasons;
  };
  const std::vector<Case> cases = {
      {v1::CREDIT_DECISION_APPROVE, CreditDecision::kApprove, {}},
      {v1::CREDIT_DECISION_REVIEW, CreditDecision::kReview, {"no profile"}},
      {v1::CREDIT_DECISION_BLOCK,
       CreditDecision::kBlock,
       {"would exceed the credit limit", "account on credit hold"}}};
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(v1::CreditDecision_Name(c.wire));
    peer_->service().Script(c.wire, c.reasons);
    const std::string opp = absl::StrCat("opp_", ++n);
    absl::StatusOr<CreditAnswer> answer =
        grpc_credit_->CheckCredit(kAcc2, Eur(1'234'500), opp);
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->decision, c.want);
    EXPECT_EQ(answer->reasons, c.reasons);
    const v1::CheckCreditRequest sent = peer_->service().last();
    EXPECT_EQ(sent.account_id(), kAcc2);
    EXPECT_EQ(sent.amount().units_minor(), 1'234'500);
    EXPECT_EQ(sent.amount().currency(), "EUR");
    EXPECT_EQ(sent.opportunity_id(), opp);
    EXPECT_EQ(peer_->service().last_authorization(),
              absl::StrCat("Bearer ", kPipelineToken));
  }
  EXPECT_EQ(peer_->service().checks(), 3);
}

TEST_F(PipelineCreditClientTest, ErrorsAreMappedLikeTheAccountsClient) {
  // The caller's mistake passes through.
  peer_->service().ScriptError(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                            "amount: must be positive"));
  absl::StatusOr<CreditAnswer> answer =
      grpc_credit_->CheckCredit(kAcc1, Eur(0), "opp_1");
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(answer.status().message(), HasSubstr("must be positive"));
  // Anything else that means "no answer" names the credit service.
  peer_->service().ScriptError(
      grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown token"));
  answer = grpc_credit_->CheckCredit(kAcc1, Eur(100), "opp_1");
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(answer.status().message(),
              HasSubstr("credit service unavailable: unknown token"));
  // An answer without a decision can neither pass nor refuse a move.
  peer_->service().Script(v1::CREDIT_DECISION_UNSPECIFIED, {});
  answer = grpc_credit_->CheckCredit(kAcc1, Eur(100), "opp_1");
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(answer.status().message(), HasSubstr("credit service"));
}

TEST_F(PipelineCreditClientTest, StoppedServerIsUnavailableNamingCredit) {
  std::unique_ptr<PeerChannel> quick = peer_->Peer(absl::Seconds(2));
  std::unique_ptr<CreditClient> client = NewGrpcCreditClient(quick.get());
  peer_->Stop();
  const absl::Time start = absl::Now();
  absl::StatusOr<CreditAnswer> answer =
      client->CheckCredit(kAcc1, Eur(100), "opp_1");
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable)
      << answer.status();
  EXPECT_THAT(answer.status().message(),
              HasSubstr("credit service unavailable: "));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  std::vector<v1::OpportunityCollection> listed;
  uint64_t sequence = 0;
  absl::Status list = client->ListAllOpportunityCollections(&listed, &sequence);
  EXPECT_EQ(list.code(), absl::StatusCode::kUnavailable) << list;
  EXPECT_THAT(list.message(), HasSubstr("credit service unavailable: "));
}

TEST_F(PipelineCreditClientTest, ListsEveryCollectionPageByPage) {
  std::vector<v1::OpportunityCollection> all;
  for (int i = 1; i <= 5; ++i) {
    all.push_back(Collection(absl::StrCat("opp_", i), i % 2 == 0));
  }
  peer_->service().SetCollections(all, /*feed_sequence=*/40, /*page_size=*/2);
  std::vector<v1::OpportunityCollection> listed;
  uint64_t sequence = 0;
  ASSERT_TRUE(
      grpc_credit_->ListAllOpportunityCollections(&listed, &sequence).ok());
  EXPECT_EQ(peer_->service().list_calls(), 3);
  ASSERT_EQ(listed.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(listed[i], all[i])) << i;
  }
  // The sequence at which the listing began: watching after it misses nothing.
  EXPECT_EQ(sequence, 40u);
}

TEST_F(PipelineCreditClientTest, BlockOverTheWireRefusesTheMoveIntoCommitment) {
  UseCredit(grpc_credit_.get());
  const v1::Opportunity o = CreateIn("COMPARISON");
  const v1::Opportunity ready =
      MustCheck(o.id(), "COMPARISON", "proposals_submitted");
  const uint64_t before = FeedPosition();
  peer_->service().Script(v1::CREDIT_DECISION_BLOCK,
                          {"would exceed the credit limit by 20,000.00 EUR",
                           "debtor class NON_PAYER"});
  v1::Opportunity out;
  grpc::Status s = Move(o.id(), "COMMITMENT", ready.version(), &out);
  ASSERT_TRUE(IsError(s, grpc::StatusCode::FAILED_PRECONDITION,
                      "would exceed the credit limit by 20,000.00 EUR"));
  EXPECT_THAT(s.error_message(), HasSubstr("debtor class NON_PAYER"));
  EXPECT_EQ(peer_->service().last().opportunity_id(), o.id());
  EXPECT_EQ(peer_->service().last().amount().units_minor(), 5'000'000);
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), ready));
  EXPECT_EQ(FeedPosition(), before);

  // The same move passes once credit approves.
  peer_->service().Script(v1::CREDIT_DECISION_APPROVE, {});
  ASSERT_TRUE(IsOk(Move(o.id(), "COMMITMENT", ready.version(), &out)));
  EXPECT_EQ(out.stage_key(), "COMMITMENT");
  EXPECT_FALSE(out.credit_review_pending());
  EXPECT_EQ(peer_->service().checks(), 2);
}

// ---------------------------------------------------------------------------
// Following credit's feed: full collection closes a closes_on_collection
// opportunity WON (SPEC §3.1, §6)

TEST_F(PipelineCreditFeedTest, FullCollectionClosesAUsageOpportunityWonOnce) {
  const v1::Opportunity o = CreateIn("USAGE");
  ASSERT_EQ(o.status(), v1::OPPORTUNITY_STATUS_OPEN);
  ASSERT_FALSE(FollowUps(o.id()).empty());
  clock_.Advance(absl::Hours(3));
  const int64_t paid_at = NowMicros() - kHour;  // credit's commit time
  const uint64_t before = FeedPosition();
  const v1::Event event = CollectionEvent(Collection(o.id(), true), paid_at);
  ASSERT_TRUE(ApplyCredit(event).ok());

  const v1::Opportunity won = MustGet(o.id());
  EXPECT_EQ(won.status(), v1::OPPORTUNITY_STATUS_WON);
  EXPECT_EQ(won.stage_key(), "USAGE");
  EXPECT_EQ(won.close_reason(), "collected in full");
  EXPECT_EQ(won.closed_micros(), paid_at);
  EXPECT_EQ(won.updated_micros(), NowMicros());
  EXPECT_EQ(won.version(), o.version() + 1);
  EXPECT_EQ(won.history_length(), o.history_length() + 1);
  const std::vector<v1::OpportunityChange> h = History(o.id());
  ASSERT_EQ(h.size(), static_cast<size_t>(o.history_length() + 1));
  EXPECT_EQ(CountKind(h, v1::CHANGE_KIND_CLOSED), 1);
  EXPECT_EQ(h.back().kind(), v1::CHANGE_KIND_CLOSED);
  EXPECT_EQ(h.back().from(), "OPEN");
  EXPECT_EQ(h.back().to(), "WON");
  EXPECT_EQ(h.back().by(), "credit");
  EXPECT_EQ(h.back().reason(), "collected in full");
  EXPECT_EQ(h.back().opportunity_version(), won.version());
  for (const v1::FollowUp& f : FollowUps(o.id())) {
    EXPECT_EQ(f.state(), v1::FOLLOW_UP_STATE_CANCELLED) << f.id();
  }
  // Its events (opportunity, history entry, cancelled follow-ups) and the
  // status filter see it.
  EXPECT_GT(FeedPosition(), before + 1);
  v1::ListOpportunitiesRequest req;
  req.set_status(v1::OPPORTUNITY_STATUS_WON);
  EXPECT_EQ(ListIds(req), std::set<std::string>{o.id()});

  // At-least-once: the same event, and a later state that is still fully
  // collected, change nothing.
  const uint64_t after = FeedPosition();
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(ApplyCredit(event).ok());
  ASSERT_TRUE(ApplyCredit(CollectionEvent(
                              Collection(o.id(), true, kAcc1, /*version=*/2),
                              paid_at + kHour, 2))
                  .ok());
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), won));
  EXPECT_EQ(History(o.id()).size(), h.size());
  EXPECT_EQ(FeedPosition(), after);
}

TEST_F(PipelineCreditFeedTest, NotFullyCollectedChangesNothing) {
  const v1::Opportunity o = CreateIn("USAGE");
  const uint64_t before = FeedPosition();
  ASSERT_TRUE(
      ApplyCredit(CollectionEvent(Collection(o.id(), false), NowMicros()))
          .ok());
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), o));
  EXPECT_EQ(FeedPosition(), before);
}

TEST_F(PipelineCreditFeedTest, OtherStagesAndClosedOpportunitiesStayAsTheyAre) {
  // COMMITMENT has no closes_on_collection (paid before the contract stage).
  const v1::Opportunity commitment = CreateIn("COMMITMENT");
  // Closed by hand before the cash came in.
  const v1::Opportunity usage = CreateIn("USAGE");
  v1::Opportunity lost;
  ASSERT_TRUE(IsOk(Close(usage.id(), v1::OPPORTUNITY_STATUS_LOST,
                         "competitor won", usage.version(), &lost)));
  const uint64_t before = FeedPosition();
  for (const v1::Opportunity* o :
       std::vector<const v1::Opportunity*>{&commitment, &lost}) {
    ASSERT_TRUE(
        ApplyCredit(CollectionEvent(Collection(o->id(), true), NowMicros()))
            .ok());
    EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o->id()), *o)) << o->id();
  }
  EXPECT_EQ(FeedPosition(), before);
}

TEST_F(PipelineCreditFeedTest, UnknownOpportunityIsOkAndWritesNothing) {
  const uint64_t before = FeedPosition();
  EXPECT_TRUE(ApplyCredit(CollectionEvent(Collection("opp_not_here", true),
                                          NowMicros()))
                  .ok());
  EXPECT_EQ(FeedPosition(), before);
  v1::ListOpportunitiesRequest all;
  EXPECT_TRUE(ListIds(all).empty());
}

TEST_F(PipelineCreditFeedTest, OtherKindsAnotherAccountAndBadPayloads) {
  const v1::Opportunity o = CreateIn("USAGE");
  const uint64_t before = FeedPosition();
  // Another kind of credit's feed is not ours to apply.
  v1::Event receivable = CollectionEvent(Collection(o.id(), true), NowMicros());
  receivable.set_kind("credit.Receivable");
  EXPECT_TRUE(ApplyCredit(receivable).ok());
  // A collection naming another account does not close this deal.
  EXPECT_TRUE(
      ApplyCredit(CollectionEvent(Collection(o.id(), true, kAcc2), NowMicros()))
          .ok());
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), o));
  EXPECT_EQ(FeedPosition(), before);
  // A payload that is no OpportunityCollection stops the batch.
  v1::Event bad = CollectionEvent(Collection(o.id(), true), NowMicros(), 9);
  bad.mutable_payload()->PackFrom(o);
  const absl::Status s = ApplyCredit(bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("credit feed event 9"));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), o));
}

TEST_F(PipelineCreditFeedTest, ResyncClosesWhatIsCollectedAndStoresTheCursor) {
  UseCredit(grpc_credit_.get());
  const v1::Opportunity paid = CreateIn("USAGE");
  const v1::Opportunity owing = CreateIn("USAGE");
  const v1::Opportunity early = CreateIn("COMMITMENT");
  peer_->service().SetCollections(
      {Collection(paid.id(), true), Collection(owing.id(), false),
       Collection(early.id(), true), Collection("opp_elsewhere", true)},
      /*feed_sequence=*/42, /*page_size=*/3);
  clock_.Advance(absl::Minutes(5));
  ASSERT_TRUE(service_->ResyncCredit().ok());
  EXPECT_EQ(peer_->service().list_calls(), 2);
  const v1::Opportunity won = MustGet(paid.id());
  EXPECT_EQ(won.status(), v1::OPPORTUNITY_STATUS_WON);
  // No event time: the sale lands on the collection date (the day the cash
  // came in), not on the day of the resync.
  EXPECT_EQ(won.closed_micros(),
            absl::ToUnixMicros(absl::FromCivil(absl::CivilDay(2026, 1, 2),
                                               absl::UTCTimeZone())));
  EXPECT_EQ(won.version(), paid.version() + 1);
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(owing.id()), owing));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(early.id()), early));
  absl::StatusOr<uint64_t> cursor = store_->GetCursor(kCreditSource);
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(*cursor, 42u);

  // Again (the consumer may resync twice): nothing changes.
  ASSERT_TRUE(service_->ResyncCredit().ok());
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(paid.id()), won));
  EXPECT_EQ(*store_->GetCursor(kCreditSource), 42u);

  // Credit down: the resync fails and leaves the cursor alone.
  peer_->Stop();
  EXPECT_EQ(service_->ResyncCredit().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(*store_->GetCursor(kCreditSource), 42u);
}

TEST_F(PipelineCreditFeedTest, TheFeedConsumerClosesOnCollectionOverTheWire) {
  const v1::Opportunity o = CreateIn("USAGE");
  const v1::Opportunity other = CreateIn("USAGE");
  // What main.cc builds: source "credit", one kind, the service's apply and
  // resync, over the channel with the SERVICE token.
  FeedConsumerOptions follow;
  follow.source = kCreditSource;
  follow.kinds = {kOpportunityCollectionKind};
  follow.initial_backoff = absl::Milliseconds(20);
  FeedConsumer consumer(
      store_.get(), channel_.get(), follow,
      [this](const v1::Event& e, WriteTxn& txn) {
        return service_->ApplyCreditEvent(e, txn);
      },
      [this] { return service_->ResyncCredit(); });
  peer_->Emit(Collection(other.id(), true), "credit.Receivable");
  peer_->Emit(Collection(o.id(), false));
  const int64_t paid_at = absl::ToUnixMicros(credit_clock_.Now());
  const uint64_t last = peer_->Emit(Collection(o.id(), true, kAcc1, 2));
  consumer.Start();
  ASSERT_TRUE(consumer.WaitForApplied(last, absl::Seconds(20)));
  const v1::Opportunity won = MustGet(o.id());
  EXPECT_EQ(won.status(), v1::OPPORTUNITY_STATUS_WON);
  EXPECT_EQ(won.closed_micros(), paid_at);
  EXPECT_EQ(History(o.id()).back().by(), "credit");
  // Only its own kind: the receivable event closed nothing.
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(other.id()), other));
  EXPECT_EQ(*store_->GetCursor(kCreditSource), last);

  // A repeated state later on the feed changes nothing.
  credit_clock_.Advance(absl::Hours(1));
  const uint64_t again = peer_->Emit(Collection(o.id(), true, kAcc1, 3));
  ASSERT_TRUE(consumer.WaitForApplied(again, absl::Seconds(20)));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), won));
  consumer.Stop();
}

}  // namespace
}  // namespace salesops::pipeline
