#pragma once

// The fixture of the gRPC-level tests of the pipeline service (SPEC.md §3,
// roles §8), shared by the pipeline_*_test.cc files: the service and its feed
// in process on a loopback port over a real store, the org mirror filled by
// hand, fake accounts and credit peers (testing/fake_peers.h), called through
// the generated stub with bearer tokens of every role. The rules themselves
// are tested without a server in *_rules_test.cc.

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
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/feed/feed_consumer.h"
#include "common/feed/feed_service.h"
#include "common/org/org_mirror.h"
#include "common/server/auth.h"
#include "common/store/paging.h"
#include "common/store/store.h"
#include "common/testing/builders.h"
#include "common/testing/client_context.h"
#include "common/testing/grpc_status.h"
#include "common/testing/loopback_server.h"
#include "common/testing/temp_dir.h"
#include "common/time/clock.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/feed.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "services/pipeline/peers.h"
#include "services/pipeline/pipeline_service.h"
#include "services/pipeline/pipeline_store.h"
#include "services/pipeline/stage_models.h"
#include "services/pipeline/testing/fake_peers.h"

namespace salesops::pipeline::grpc_test {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

inline constexpr char kAdminToken[] = "admin-token";
inline constexpr char kFinanceToken[] = "finance-token";
inline constexpr char kServiceToken[] = "service-token";
inline constexpr char kManagerAToken[] = "manager-a-token";
inline constexpr char kManagerBToken[] = "manager-b-token";
inline constexpr char kRep1Token[] = "rep-1-token";
inline constexpr char kRep3Token[] = "rep-3-token";

// Accounts and contacts known to the fake accounts service.
inline constexpr char kAcc1[] = "acc_1";
inline constexpr char kAcc2[] = "acc_2";
inline constexpr char kC1[] = "con_1";  // contacts of acc_1
inline constexpr char kC2[] = "con_2";
inline constexpr char kC3[] = "con_3";
inline constexpr char kC4[] = "con_4";
inline constexpr char kC5[] = "con_5";
inline constexpr char kOtherContact[] = "con_9";  // a contact of acc_2

inline constexpr int64_t kHour = int64_t{3600} * 1000 * 1000;
inline constexpr int64_t kDay = 24 * kHour;

inline absl::Duration Days(int n) { return absl::Hours(24 * n); }

using Stub = v1::PipelineService::Stub;
template <typename Req, typename Resp>
using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const Req&, Resp*);

using ::salesops::testing::IsError;
using ::salesops::testing::IsOk;

using ::salesops::testing::Day;
using ::salesops::testing::Eur;
using ::salesops::testing::OrgNodeProto;

// Our sales organization:
//   root (GLOBAL)
//   ├── a (REGION) ── t (TEAM) ── r1, r2 (REP)
//   └── b (REGION) ── u (TEAM) ── r3 (REP)
inline std::vector<v1::OrgNode> DefaultOrg() {
  return {OrgNodeProto("root", "", v1::ORG_NODE_KIND_GLOBAL),
          OrgNodeProto("a", "root", v1::ORG_NODE_KIND_REGION),
          OrgNodeProto("b", "root", v1::ORG_NODE_KIND_REGION),
          OrgNodeProto("t", "a", v1::ORG_NODE_KIND_TEAM),
          OrgNodeProto("u", "b", v1::ORG_NODE_KIND_TEAM),
          OrgNodeProto("r1", "t", v1::ORG_NODE_KIND_REP),
          OrgNodeProto("r2", "t", v1::ORG_NODE_KIND_REP),
          OrgNodeProto("r3", "u", v1::ORG_NODE_KIND_REP)};
}

inline v1::StageModel BuiltIn(const std::string& id) {
  for (const v1::StageModel& m : BuiltInModels()) {
    if (m.id() == id) {
      return m;
    }
  }
  ADD_FAILURE() << "no built-in stage model " << id;
  return v1::StageModel();
}

// Runs fn(0) .. fn(n-1) on n threads released together; their results.
inline std::vector<grpc::Status> RunConcurrently(
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
    return ::salesops::testing::BearerContext(token);
  }

  template <typename Req, typename Resp>
  grpc::Status Call(Method<Req, Resp> method, const Req& req, Resp* resp,
                    const std::string& token = kAdminToken) {
    return ::salesops::testing::CallAs(*stub_, method, req, resp, token);
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
    req.set_page_size(page_size);
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
      if (resp.next_page_token().empty()) {
        break;
      }
      req.set_page_token(resp.next_page_token());
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
  fakes::FakeAccounts accounts_;
  fakes::FakeCredit fake_credit_;
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

}  // namespace salesops::pipeline::grpc_test
