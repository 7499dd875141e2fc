// End-to-end test of salesops-pipeline with the real salesops-accounts: both
// binaries on loopback with bearer tokens, pipeline calling accounts as a
// SERVICE principal and following its org-node feed. Shows that opportunities
// are checked against real accounts and reps, that every acknowledged create
// and stage move survives SIGKILL of pipeline mid-load, that a re-org in
// accounts changes what a manager may see and change in pipeline, and that an
// unreachable accounts service makes a create fail UNAVAILABLE with nothing
// written.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/server/auth.h"
#include "common/testing/temp_dir.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "tests/e2e.h"

namespace salesops {
namespace {

using ::salesops::testing::TempDir;

constexpr char kAdmin[] = "e2e-admin-token";
constexpr char kPeer[] = "e2e-pipeline-peer-token";
constexpr char kManagerA[] = "e2e-manager-a-token";
constexpr char kRep1[] = "e2e-rep-1-token";

using e2e::Ctx;
using e2e::Describe;
using e2e::Eventually;
using e2e::Launch;
using e2e::Service;
using e2e::TokenLine;
using e2e::WriteFile;

class PipelineE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_.path() + "/peer.token", std::string(kPeer) + "\n");
    WriteFile(dir_.path() + "/accounts.tokens",
              TokenLine(kAdmin, "admin", "ADMIN") +
                  TokenLine(kPeer, "pipeline", "SERVICE"));
    StartAccounts();
    ASSERT_NE(accounts_.port, 0) << accounts_.process->Log();
  }

  void StartAccounts() {
    accounts_ = Launch(
        {SALESOPS_ACCOUNTS_BIN,
         "--listen=127.0.0.1:" + std::to_string(accounts_port_),
         "--metrics_listen=127.0.0.1:0", "--auth=tokens",
         "--tokens_file=" + dir_.path() + "/accounts.tokens",
         "--data_dir=" + dir_.path() + "/accounts", std::string("--init")},
        "accounts");
    accounts_port_ = accounts_.port;
    accounts_stub_ = v1::AccountsService::NewStub(accounts_.channel);
  }

  // Pipeline needs to know the manager's and rep's node ids in its tokens.
  void StartPipeline() {
    pipeline_ = Launch(
        {SALESOPS_PIPELINE_BIN, "--listen=127.0.0.1:0",
         "--metrics_listen=127.0.0.1:0", "--auth=tokens",
         "--tokens_file=" + dir_.path() + "/pipeline.tokens",
         "--data_dir=" + dir_.path() + "/pipeline", std::string("--init"),
         absl::StrCat("--accounts_addr=127.0.0.1:", accounts_port_),
         "--peer_token_file=" + dir_.path() + "/peer.token",
         "--sync_writes=true"},
        "pipeline");
    ASSERT_NE(pipeline_.port, 0) << pipeline_.process->Log();
    stub_ = v1::PipelineService::NewStub(pipeline_.channel);
  }

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

  v1::CreateOpportunityRequest NewOpp(const std::string& owner, int i) {
    v1::CreateOpportunityRequest req;
    v1::Opportunity* o = req.mutable_opportunity();
    o->set_account_id(account_.id());
    o->set_owner_node_id(owner);
    o->set_name(absl::StrCat("Line ", i));
    o->mutable_amount()->set_units_minor(100'000 + i);
    o->mutable_amount()->set_currency("EUR");
    o->mutable_expected_close_date()->set_year(2027);
    o->mutable_expected_close_date()->set_month(3);
    o->mutable_expected_close_date()->set_day(31);
    req.set_request_id(absl::StrCat("e2e-", owner, "-", i));
    return req;
  }

  // The org: root → region a → team ta → rep r1; root → region b → team tb →
  // rep r2. One account.
  void BuildOrg() {
    root_ = Node(v1::ORG_NODE_KIND_GLOBAL, "Global", "");
    a_ = Node(v1::ORG_NODE_KIND_REGION, "Region A", root_.id());
    b_ = Node(v1::ORG_NODE_KIND_REGION, "Region B", root_.id());
    ta_ = Node(v1::ORG_NODE_KIND_TEAM, "Team A", a_.id());
    tb_ = Node(v1::ORG_NODE_KIND_TEAM, "Team B", b_.id());
    r1_ = Node(v1::ORG_NODE_KIND_REP, "Rep 1", ta_.id());
    r2_ = Node(v1::ORG_NODE_KIND_REP, "Rep 2", tb_.id());
    v1::CreateAccountRequest req;
    req.mutable_account()->set_name("Acme Industrial");
    grpc::Status s =
        accounts_stub_->CreateAccount(Ctx(kAdmin).get(), req, &account_);
    ASSERT_TRUE(s.ok()) << Describe(s);
    WriteFile(dir_.path() + "/pipeline.tokens",
              TokenLine(kAdmin, "admin", "ADMIN") +
                  TokenLine(kManagerA, "manager-a", "MANAGER", a_.id()) +
                  TokenLine(kRep1, "rep-1", "REP", r1_.id()));
  }

  TempDir dir_;
  int accounts_port_ = 0;
  Service accounts_;
  Service pipeline_;
  std::unique_ptr<v1::AccountsService::Stub> accounts_stub_;
  std::unique_ptr<v1::PipelineService::Stub> stub_;
  v1::OrgNode root_, a_, b_, ta_, tb_, r1_, r2_;
  v1::Account account_;
};

TEST_F(PipelineE2eTest, AcknowledgedWritesSurviveKillAndReorgMovesVisibility) {
  BuildOrg();
  StartPipeline();

  // Checked against the real accounts service.
  {
    v1::CreateOpportunityRequest bad = NewOpp(r1_.id(), 0);
    bad.mutable_opportunity()->set_account_id("acc_missing");
    v1::Opportunity out;
    grpc::Status s = stub_->CreateOpportunity(Ctx(kAdmin).get(), bad, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << Describe(s);
    EXPECT_NE(s.error_message().find("opportunity.account_id"),
              std::string::npos)
        << s.error_message();
    bad = NewOpp(ta_.id(), 0);
    s = stub_->CreateOpportunity(Ctx(kAdmin).get(), bad, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << Describe(s);
    EXPECT_NE(s.error_message().find("REP"), std::string::npos)
        << s.error_message();
  }

  // Load from four client threads: create, check the INTEREST criterion,
  // move to CONSIDERATION, over and over. Pipeline is SIGKILLed once 40
  // creates were acknowledged, with calls in flight.
  std::mutex mu;
  std::map<std::string, std::string> acked_stage;  // id → stage acknowledged
  int creates = 0;
  int owned_by_r1 = 0;
  int moves = 0;
  std::atomic<bool> killed{false};
  struct Acked {
    std::string owner;
    int n = 0;
    std::string id;
  } first_acked;
  const auto load = [&](int thread) {
    for (int i = 0; i < 200 && !killed; ++i) {
      const int n = thread * 1000 + i + 1;
      const std::string owner = n % 2 == 0 ? r1_.id() : r2_.id();
      v1::Opportunity o;
      if (!stub_->CreateOpportunity(Ctx(kAdmin).get(), NewOpp(owner, n), &o)
               .ok()) {
        return;
      }
      {
        std::lock_guard<std::mutex> lock(mu);
        acked_stage[o.id()] = o.stage_key();
        owned_by_r1 += owner == r1_.id() ? 1 : 0;
        if (creates++ == 0) {
          first_acked = {owner, n, o.id()};
        }
      }
      v1::SetExitCriterionRequest check;
      check.set_opportunity_id(o.id());
      check.set_stage_key("INTEREST");
      check.set_criterion_key("purchase_request");
      check.set_checked(true);
      check.set_expected_version(o.version());
      if (!stub_->SetExitCriterion(Ctx(kAdmin).get(), check, &o).ok()) {
        return;
      }
      v1::MoveStageRequest move;
      move.set_opportunity_id(o.id());
      move.set_to_stage_key("CONSIDERATION");
      move.set_expected_version(o.version());
      if (!stub_->MoveStage(Ctx(kAdmin).get(), move, &o).ok()) {
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      acked_stage[o.id()] = o.stage_key();
      ++moves;
    }
  };
  std::vector<std::thread> loaders;
  for (int t = 0; t < 4; ++t) {
    loaders.emplace_back(load, t);
  }
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> lock(mu);
    return creates >= 40;
  })) << pipeline_.process->Log();
  pipeline_.process->Signal(SIGKILL);
  killed = true;
  for (std::thread& t : loaders) {
    t.join();
  }
  ASSERT_TRUE(pipeline_.process->WaitExit(absl::Seconds(10)).has_value());
  ASSERT_GE(creates, 40);
  ASSERT_GE(moves, 30);
  std::cout << "acknowledged before SIGKILL: " << creates << " creates, "
            << moves << " stage moves\n";

  StartPipeline();
  for (const auto& [id, stage] : acked_stage) {
    v1::GetOpportunityRequest get;
    get.set_id(id);
    v1::Opportunity o;
    grpc::Status s = stub_->GetOpportunity(Ctx(kAdmin).get(), get, &o);
    ASSERT_TRUE(s.ok()) << id << ": " << Describe(s);
    if (stage == "CONSIDERATION") {
      EXPECT_EQ(o.stage_key(), "CONSIDERATION") << id;
      v1::GetOpportunityHistoryRequest hreq;
      hreq.set_opportunity_id(id);
      v1::GetOpportunityHistoryResponse history;
      ASSERT_TRUE(
          stub_->GetOpportunityHistory(Ctx(kAdmin).get(), hreq, &history).ok());
      ASSERT_EQ(history.changes_size(), 2) << id;
      EXPECT_EQ(history.changes(1).kind(), v1::CHANGE_KIND_STAGE_FORWARD);
      EXPECT_EQ(history.changes(1).to(), "CONSIDERATION");
    }
  }
  // A retried create with the same request id is not a second opportunity.
  {
    v1::Opportunity again;
    ASSERT_TRUE(stub_
                    ->CreateOpportunity(
                        Ctx(kAdmin).get(),
                        NewOpp(first_acked.owner, first_acked.n), &again)
                    .ok());
    EXPECT_EQ(again.id(), first_acked.id);
  }

  // What survived: every acknowledged opportunity, plus at most one create
  // per client thread that committed but was not acknowledged before the
  // kill.
  int stored = 0;
  int stored_r1 = 0;
  {
    v1::ListOpportunitiesRequest req;
    req.set_page_size(1000);
    v1::ListOpportunitiesResponse resp;
    ASSERT_TRUE(stub_->ListOpportunities(Ctx(kAdmin).get(), req, &resp).ok());
    stored = resp.opportunities_size();
    for (const v1::Opportunity& o : resp.opportunities()) {
      stored_r1 += o.owner_node_id() == r1_.id() ? 1 : 0;
    }
    EXPECT_GE(stored, static_cast<int>(acked_stage.size()));
    EXPECT_LE(stored, static_cast<int>(acked_stage.size()) + 4);
    EXPECT_GE(stored_r1, owned_by_r1);
  }

  // Scope from the followed org tree: manager of region a sees r1's
  // opportunities, not r2's; after team b moves under region a, both.
  std::string r2_opp;
  for (const auto& [id, stage] : acked_stage) {
    v1::GetOpportunityRequest get;
    get.set_id(id);
    v1::Opportunity o;
    ASSERT_TRUE(stub_->GetOpportunity(Ctx(kAdmin).get(), get, &o).ok());
    if (o.owner_node_id() == r2_.id()) {
      r2_opp = id;
      break;
    }
  }
  ASSERT_FALSE(r2_opp.empty());
  const auto manager_sees = [&](const std::string& id) {
    v1::GetOpportunityRequest get;
    get.set_id(id);
    v1::Opportunity o;
    return stub_->GetOpportunity(Ctx(kManagerA).get(), get, &o).error_code();
  };
  const auto manager_list_size = [&]() {
    v1::ListOpportunitiesRequest req;
    req.set_page_size(1000);
    v1::ListOpportunitiesResponse resp;
    grpc::Status s = stub_->ListOpportunities(Ctx(kManagerA).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return resp.opportunities_size();
  };
  // The mirror is restored from pipeline's own store after the restart.
  EXPECT_TRUE(Eventually([&] { return manager_list_size() == stored_r1; }))
      << manager_list_size();
  EXPECT_EQ(manager_sees(r2_opp), grpc::StatusCode::PERMISSION_DENIED);
  {
    v1::CloseOpportunityRequest close;
    close.set_opportunity_id(r2_opp);
    close.set_outcome(v1::OPPORTUNITY_STATUS_LOST);
    close.set_reason("competitor won");
    v1::Opportunity o;
    EXPECT_EQ(
        stub_->CloseOpportunity(Ctx(kManagerA).get(), close, &o).error_code(),
        grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    v1::MoveOrgNodeRequest move;
    move.set_id(tb_.id());
    move.set_new_parent_id(a_.id());
    move.set_expected_version(tb_.version());
    v1::OrgNode moved;
    grpc::Status s =
        accounts_stub_->MoveOrgNode(Ctx(kAdmin).get(), move, &moved);
    ASSERT_TRUE(s.ok()) << Describe(s);
  }
  EXPECT_TRUE(Eventually([&] {
    return manager_sees(r2_opp) == grpc::StatusCode::OK;
  })) << pipeline_.process->Log();
  EXPECT_EQ(manager_list_size(), stored);
  {
    v1::GetOpportunityRequest get;
    get.set_id(r2_opp);
    v1::Opportunity o;
    ASSERT_TRUE(stub_->GetOpportunity(Ctx(kManagerA).get(), get, &o).ok());
    v1::CloseOpportunityRequest close;
    close.set_opportunity_id(r2_opp);
    close.set_outcome(v1::OPPORTUNITY_STATUS_LOST);
    close.set_reason("competitor won");
    close.set_expected_version(o.version());
    grpc::Status s = stub_->CloseOpportunity(Ctx(kManagerA).get(), close, &o);
    EXPECT_TRUE(s.ok()) << Describe(s);
    EXPECT_EQ(o.status(), v1::OPPORTUNITY_STATUS_LOST);
  }
  // A REP still sees only their own.
  {
    v1::ListOpportunitiesRequest req;
    req.set_page_size(1000);
    v1::ListOpportunitiesResponse resp;
    ASSERT_TRUE(stub_->ListOpportunities(Ctx(kRep1).get(), req, &resp).ok());
    EXPECT_EQ(resp.opportunities_size(), stored_r1);
    for (const v1::Opportunity& o : resp.opportunities()) {
      EXPECT_EQ(o.owner_node_id(), r1_.id());
    }
  }

  // Accounts unreachable: a create for an account pipeline has not checked
  // yet fails UNAVAILABLE and writes nothing.
  v1::Account unchecked;
  {
    v1::CreateAccountRequest req;
    req.mutable_account()->set_name("Not Yet Seen Ltd");
    ASSERT_TRUE(
        accounts_stub_->CreateAccount(Ctx(kAdmin).get(), req, &unchecked).ok());
  }
  accounts_.process->Signal(SIGKILL);
  ASSERT_TRUE(accounts_.process->WaitExit(absl::Seconds(10)).has_value());
  {
    v1::Opportunity out;
    v1::CreateOpportunityRequest create = NewOpp(r1_.id(), 1000);
    create.mutable_opportunity()->set_account_id(unchecked.id());
    grpc::Status s = stub_->CreateOpportunity(Ctx(kAdmin).get(), create, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << Describe(s);
    v1::ListOpportunitiesRequest req;
    req.set_page_size(1000);
    v1::ListOpportunitiesResponse resp;
    ASSERT_TRUE(stub_->ListOpportunities(Ctx(kAdmin).get(), req, &resp).ok());
    EXPECT_EQ(resp.opportunities_size(), stored);
  }
}

}  // namespace
}  // namespace salesops
