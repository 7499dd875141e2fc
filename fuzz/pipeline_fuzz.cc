// libFuzzer target over the request validation of salesops.v1.PipelineService
// (see fuzz_harness.h for the input format and the properties checked).
//
// The peers are in-memory fakes answering at once: accounts knows the org
// tree (also in the OrgMirror, except org node r4, which only accounts knows,
// so the ask-accounts path runs), two accounts and their contacts; credit
// approves acc_1, blocks acc_2 and reviews anything else. Any id starting with
// "down" makes either peer answer UNAVAILABLE, the peer-failure path.

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/org/org_mirror.h"
#include "fuzz/fuzz_harness.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "services/pipeline/peers.h"
#include "services/pipeline/pipeline_service.h"
#include "services/pipeline/pipeline_store.h"
#include "services/pipeline/stage_models.h"
#include "services/pipeline/testing/fake_peers.h"

namespace salesops::fuzz {
namespace {

using pipeline::PipelineServiceImpl;

//   root (GLOBAL) ── a (REGION) ── t (TEAM) ── r1, r2 (REP)
//                └─ b (REGION) ── u (TEAM) ── r3 (REP)
std::vector<v1::OrgNode> MirroredOrg() {
  return {FeedOrgNode("root", "", v1::ORG_NODE_KIND_GLOBAL),
          FeedOrgNode("a", "root", v1::ORG_NODE_KIND_REGION),
          FeedOrgNode("b", "root", v1::ORG_NODE_KIND_REGION),
          FeedOrgNode("t", "a", v1::ORG_NODE_KIND_TEAM),
          FeedOrgNode("u", "b", v1::ORG_NODE_KIND_TEAM),
          FeedOrgNode("r1", "t", v1::ORG_NODE_KIND_REP),
          FeedOrgNode("r2", "t", v1::ORG_NODE_KIND_REP),
          FeedOrgNode("r3", "u", v1::ORG_NODE_KIND_REP)};
}

// The shared fakes (services/pipeline/testing/fake_peers.h) set up as the
// header comment says.
void SetUpPeers(pipeline::fakes::FakeAccounts* accounts,
                pipeline::fakes::FakeCredit* credit) {
  for (const v1::OrgNode& n : MirroredOrg()) {
    accounts->PutNode(n);
  }
  accounts->PutNode(FeedOrgNode("r4", "u", v1::ORG_NODE_KIND_REP));
  accounts->AddAccount("acc_1");
  accounts->AddAccount("acc_2");
  for (const auto& [id, account] :
       {std::pair<const char*, const char*>{"con_1", "acc_1"},
        {"con_2", "acc_1"},
        {"con_3", "acc_1"},
        {"con_9", "acc_2"}}) {
    accounts->AddContact(id, account);
  }
  accounts->SetDownPrefix("down");
  credit->ScriptFor("acc_1", {pipeline::CreditDecision::kApprove, {}});
  credit->ScriptFor(
      "acc_2", {pipeline::CreditDecision::kBlock, {"over the credit limit"}});
  credit->Script(pipeline::CreditDecision::kReview, {"no credit profile"});
  credit->SetDownPrefix("down");
}

v1::CreateOpportunityRequest NewOpportunity(const std::string& name,
                                            const std::string& account,
                                            const std::string& owner) {
  v1::CreateOpportunityRequest req;
  v1::Opportunity* o = req.mutable_opportunity();
  o->set_account_id(account);
  o->set_owner_node_id(owner);
  o->set_name(name);
  *o->mutable_amount() = Eur(12'000'000);
  *o->mutable_expected_close_date() = Day(2026, 6, 30);
  return req;
}

class PipelineFixture final : public Fixture {
 public:
  std::string ServiceName() const override {
    return v1::PipelineService::service_full_name();
  }
  std::vector<std::string> ColumnFamilies() const override {
    return pipeline::ColumnFamilies();
  }

  void Start(const Env& env, RpcTable* rpcs) override {
    env.clock->Set(absl::FromCivil(absl::CivilSecond(2026, 5, 4, 9, 0, 0),
                                   absl::UTCTimeZone()));
    clock_ = env.clock;
    SetUpPeers(&accounts_, &credit_);
    mirror_ = std::make_unique<OrgMirror>(env.store, pipeline::Cf::kMirror);
    MustOk(mirror_->Load(), "OrgMirror::Load");
    MustOk(mirror_->Replace(MirroredOrg(), "accounts", 0),
           "OrgMirror::Replace");
    service_ = std::make_unique<PipelineServiceImpl>(
        env.store, env.auth, env.clock, &accounts_, &credit_, mirror_.get(),
        pipeline::PipelineOptions{});
    MustOk(service_->Init(), "PipelineServiceImpl::Init");
    PipelineServiceImpl* s = service_.get();
    rpcs->Add("CreateStageModel", s, &PipelineServiceImpl::CreateStageModel);
    rpcs->Add("GetStageModel", s, &PipelineServiceImpl::GetStageModel);
    rpcs->Add("ListStageModels", s, &PipelineServiceImpl::ListStageModels);
    rpcs->Add("UpdateStageModel", s, &PipelineServiceImpl::UpdateStageModel);
    rpcs->AddCallback("CreateOpportunity", s,
                      &PipelineServiceImpl::CreateOpportunity);
    rpcs->AddCallback("ImportOpportunities", s,
                      &PipelineServiceImpl::ImportOpportunities);
    rpcs->Add("GetOpportunity", s, &PipelineServiceImpl::GetOpportunity);
    rpcs->Add("UpdateOpportunity", s, &PipelineServiceImpl::UpdateOpportunity);
    rpcs->Add("ListOpportunities", s, &PipelineServiceImpl::ListOpportunities);
    rpcs->Add("SetExitCriterion", s, &PipelineServiceImpl::SetExitCriterion);
    rpcs->Add("MoveStage", s, &PipelineServiceImpl::MoveStage);
    rpcs->Add("CloseOpportunity", s, &PipelineServiceImpl::CloseOpportunity);
    rpcs->Add("ReopenOpportunity", s, &PipelineServiceImpl::ReopenOpportunity);
    rpcs->Add("GetOpportunityHistory", s,
              &PipelineServiceImpl::GetOpportunityHistory);
    rpcs->Add("SetContactRole", s, &PipelineServiceImpl::SetContactRole);
    rpcs->Add("RemoveContactRole", s, &PipelineServiceImpl::RemoveContactRole);
    rpcs->Add("ListContactRoles", s, &PipelineServiceImpl::ListContactRoles);
    rpcs->Add("RecordActivity", s, &PipelineServiceImpl::RecordActivity);
    rpcs->Add("ListActivities", s, &PipelineServiceImpl::ListActivities);
    rpcs->Add("ListFollowUps", s, &PipelineServiceImpl::ListFollowUps);
    rpcs->Add("ListOverdueFollowUps", s,
              &PipelineServiceImpl::ListOverdueFollowUps);
    rpcs->Add("EvaluateFourFactors", s,
              &PipelineServiceImpl::EvaluateFourFactors);
    rpcs->Add("EvaluateQualification", s,
              &PipelineServiceImpl::EvaluateQualification);
    rpcs->Add("EvaluateCompetitive", s,
              &PipelineServiceImpl::EvaluateCompetitive);
    rpcs->Add("GetDealHealth", s, &PipelineServiceImpl::GetDealHealth);
    rpcs->Add("RecordWeeklyReview", s,
              &PipelineServiceImpl::RecordWeeklyReview);
    rpcs->Add("ListWeeklyReviews", s, &PipelineServiceImpl::ListWeeklyReviews);
    rpcs->Add("ListOpportunityChanges", s,
              &PipelineServiceImpl::ListOpportunityChanges);
    rpcs_ = rpcs;
  }

  // opp0 (acc_1, r1) in INTEREST with a buying centre (con_1 decision maker,
  // con_2 coach), an activity, a weekly review and a four-factor evaluation;
  // opp1 (acc_1, r2) moved to COMPARISON; opp2 (acc_2, r3) closed LOST; a
  // copy of buying-cycle-6 (stm0).
  void Seed(Aliases* aliases) override {
    PipelineServiceImpl* s = service_.get();
    aliases->Set("$opp0", Create(NewOpportunity("opp0", "acc_1", "r1")).id());
    aliases->Set("$opp1", Create(NewOpportunity("opp1", "acc_1", "r2")).id());
    aliases->Set("$opp2", Create(NewOpportunity("opp2", "acc_2", "r3")).id());

    for (const auto& [contact, role] :
         {std::pair<const char*, v1::BuyingRole>{
              "con_1", v1::BUYING_ROLE_DECISION_MAKER},
          {"con_2", v1::BUYING_ROLE_COACH}}) {
      v1::SetContactRoleRequest req;
      req.set_opportunity_id(aliases->Get("$opp0"));
      req.set_contact_id(contact);
      req.set_role(role);
      req.set_attitude(v1::ATTITUDE_B);
      req.set_influence_weight_pct(40);
      req.set_is_core(true);
      MustCall(s, &PipelineServiceImpl::SetContactRole, req);
    }
    {
      v1::RecordActivityRequest req;
      v1::Activity* a = req.mutable_activity();
      a->set_opportunity_id(aliases->Get("$opp0"));
      a->set_kind(v1::ACTIVITY_KIND_VISIT);
      a->set_outcome(v1::ACTIVITY_OUTCOME_PROGRESS);
      a->add_contact_ids("con_1");
      a->set_time_micros(absl::ToUnixMicros(clock_->Now() - absl::Hours(2)));
      v1::PlannedFollowUp* f = a->mutable_plan_follow_up();
      f->set_kind(v1::ACTIVITY_KIND_CALL);
      f->set_text("call back");
      f->set_due_micros(absl::ToUnixMicros(clock_->Now() + absl::Hours(48)));
      aliases->Set("$act0",
                   MustCall(s, &PipelineServiceImpl::RecordActivity, req).id());
    }
    {
      v1::ListFollowUpsRequest req;
      req.set_opportunity_id(aliases->Get("$opp0"));
      v1::ListFollowUpsResponse resp =
          MustCall(s, &PipelineServiceImpl::ListFollowUps, req);
      if (resp.follow_ups_size() == 0) {
        MustOk(absl::InternalError("no follow-ups"), "ListFollowUps of opp0");
      }
      aliases->Set("$fup0", resp.follow_ups(0).id());
    }
    {
      v1::RecordWeeklyReviewRequest req;
      v1::WeeklyReview* r = req.mutable_review();
      r->set_opportunity_id(aliases->Get("$opp0"));
      *r->mutable_week() = Day(2026, 5, 4);
      r->set_goal("get the specs");
      r->set_main_competitor("Rival AG");
      r->set_position_vs_competitor(1);
      MustCall(s, &PipelineServiceImpl::RecordWeeklyReview, req);
    }
    {
      v1::EvaluateFourFactorsRequest req;
      req.set_opportunity_id(aliases->Get("$opp0"));
      req.set_need(4);
      req.set_impact(3);
      req.set_fit(5);
      req.set_relationship(2);
      MustCall(s, &PipelineServiceImpl::EvaluateFourFactors, req);
    }
    for (const char* stage : {"CONSIDERATION", "DESIGN", "COMPARISON"}) {
      v1::MoveStageRequest req;
      req.set_opportunity_id(aliases->Get("$opp1"));
      req.set_to_stage_key(stage);
      req.set_override_reason("fuzz setup");
      MustCall(s, &PipelineServiceImpl::MoveStage, req);
    }
    {
      v1::CloseOpportunityRequest req;
      req.set_opportunity_id(aliases->Get("$opp2"));
      req.set_outcome(v1::OPPORTUNITY_STATUS_LOST);
      req.set_reason("price");
      MustCall(s, &PipelineServiceImpl::CloseOpportunity, req);
    }
    {
      v1::CreateStageModelRequest req;
      req.set_copy_from_id(pipeline::kBuyingCycle6);
      req.mutable_model()->set_name("stm0");
      aliases->Set(
          "$stm0",
          MustCall(s, &PipelineServiceImpl::CreateStageModel, req).id());
    }
  }

  void Stop() override {
    service_.reset();
    mirror_.reset();
  }

  SeedList Seeds() const override {
    SeedList seeds;
    {
      v1::CreateStageModelRequest req;
      v1::StageModel* m = req.mutable_model();
      m->set_name("Two steps");
      for (const auto& [key, bp] :
           {std::pair<const char*, int>{"LEAD", 1000}, {"DEAL", 6000}}) {
        v1::Stage* st = m->add_stages();
        st->set_key(key);
        st->set_name(key);
        st->set_win_rate_bp(bp);
        v1::ExitCriterion* c = st->add_exit_criteria();
        c->set_key("done");
        c->set_text("done");
        c->set_required(true);
      }
      m->mutable_stages(1)->set_requires_credit_check(true);
      *m->mutable_out_of_funnel_threshold() = Eur(100'000);
      v1::CadenceStep* step = m->mutable_cadence()->add_steps();
      step->set_key("first_call");
      step->set_text("call");
      step->set_kind(v1::ACTIVITY_KIND_CALL);
      step->set_max_hours(24);
      m->set_stall_limit_days(30);
      req.set_request_id("req-1");
      seeds.Add("CreateStageModel", req);
      v1::CreateStageModelRequest copy;
      copy.set_copy_from_id("project-sales-8");
      copy.mutable_model()->set_name("copy");
      seeds.Add("CreateStageModel", copy);
    }
    {
      v1::GetStageModelRequest req;
      req.set_id(pipeline::kBuyingCycle6);
      seeds.Add("GetStageModel", req);
    }
    {
      v1::ListStageModelsRequest req;
      req.set_page_size(1);
      seeds.Add("ListStageModels", req);
    }
    {
      v1::UpdateStageModelRequest req;
      v1::StageModel* m = req.mutable_model();
      m->set_id("$stm0");
      m->set_name("stm0 renamed");
      for (const auto& [key, bp] :
           {std::pair<const char*, int>{"INTEREST", 700},
            {"CONSIDERATION", 1000},
            {"DESIGN", 2000},
            {"COMPARISON", 3000},
            {"COMMITMENT", 5000},
            {"USAGE", 8000}}) {
        v1::Stage* st = m->add_stages();
        st->set_key(key);
        st->set_name(key);
        st->set_win_rate_bp(bp);
      }
      seeds.Add("UpdateStageModel", req);
    }
    {
      v1::CreateOpportunityRequest req =
          NewOpportunity("New deal", "acc_1", "r1");
      v1::Opportunity* o = req.mutable_opportunity();
      o->set_stage_key("DESIGN");
      o->set_external_id("crm-7");
      o->set_source_channel(v1::SOURCE_CHANNEL_REFERRAL);
      v1::Competitor* c = o->add_competitors();
      c->set_name("Rival AG");
      c->set_strengths("price");
      o->mutable_next_step()->set_text("send the offer");
      *o->mutable_next_step()->mutable_due() = Day(2026, 5, 11);
      req.set_request_id("req-2");
      seeds.Add("CreateOpportunity", req);
      // Owner and account known only to accounts (and one it cannot ask).
      seeds.Add("CreateOpportunity", NewOpportunity("Remote", "acc_2", "r4"));
      seeds.Add("CreateOpportunity", NewOpportunity("Down", "down_1", "r1"));
      // A batch: a good row, its request_id again with other content, rows
      // with peers to ask and one without request_id.
      v1::ImportOpportunitiesRequest import;
      *import.add_rows() = req;
      *import.add_rows() = NewOpportunity("Other", "acc_1", "r1");
      import.mutable_rows(1)->set_request_id("req-2");
      *import.add_rows() = NewOpportunity("Remote", "acc_2", "r4");
      *import.add_rows() = NewOpportunity("Down", "down_1", "r1");
      import.mutable_rows(2)->set_request_id("req-3");
      seeds.Add("ImportOpportunities", import);
    }
    {
      v1::GetOpportunityRequest req;
      req.set_id("$opp0");
      seeds.Add("GetOpportunity", req);
    }
    {
      v1::UpdateOpportunityRequest req;
      v1::Opportunity* o = req.mutable_opportunity();
      o->set_id("$opp0");
      o->set_name("opp0 bigger");
      o->set_owner_node_id("r2");
      *o->mutable_amount() = Eur(20'000'000);
      *o->mutable_expected_close_date() = Day(2026, 9, 30);
      o->set_competitors_unknown(true);
      seeds.Add("UpdateOpportunity", req);
    }
    {
      v1::ListOpportunitiesRequest req;
      req.add_owner_ids("t");
      req.set_status(v1::OPPORTUNITY_STATUS_OPEN);
      *req.mutable_close_from() = Day(2026, 4, 1);
      *req.mutable_close_to() = Day(2026, 6, 30);
      req.set_page_size(1);
      seeds.Add("ListOpportunities", req);
    }
    {
      v1::SetExitCriterionRequest req;
      req.set_opportunity_id("$opp0");
      req.set_stage_key("INTEREST");
      req.set_criterion_key("purchase_request");
      req.set_checked(true);
      seeds.Add("SetExitCriterion", req);
    }
    {
      v1::MoveStageRequest req;
      req.set_opportunity_id("$opp1");
      req.set_to_stage_key("COMMITMENT");
      req.set_override_reason("customer signed the letter of intent");
      seeds.Add("MoveStage", req);
      req.set_opportunity_id("$opp0");
      req.set_to_stage_key("CONSIDERATION");
      req.clear_override_reason();
      seeds.Add("MoveStage", req);
    }
    {
      v1::CloseOpportunityRequest req;
      req.set_opportunity_id("$opp1");
      req.set_outcome(v1::OPPORTUNITY_STATUS_WON);
      seeds.Add("CloseOpportunity", req);
    }
    {
      v1::ReopenOpportunityRequest req;
      req.set_opportunity_id("$opp2");
      req.set_reason("customer came back");
      seeds.Add("ReopenOpportunity", req);
    }
    {
      v1::GetOpportunityHistoryRequest req;
      req.set_opportunity_id("$opp1");
      seeds.Add("GetOpportunityHistory", req);
    }
    {
      v1::SetContactRoleRequest req;
      req.set_opportunity_id("$opp0");
      req.set_contact_id("con_3");
      req.set_role(v1::BUYING_ROLE_TECHNICAL_GATEKEEPER);
      req.set_attitude(v1::ATTITUDE_D);
      req.set_influence_weight_pct(20);
      seeds.Add("SetContactRole", req);
    }
    {
      v1::RemoveContactRoleRequest req;
      req.set_opportunity_id("$opp0");
      req.set_contact_id("con_2");
      seeds.Add("RemoveContactRole", req);
    }
    {
      v1::ListContactRolesRequest req;
      req.set_opportunity_id("$opp0");
      req.set_include_removed(true);
      seeds.Add("ListContactRoles", req);
    }
    {
      v1::RecordActivityRequest req;
      v1::Activity* a = req.mutable_activity();
      a->set_opportunity_id("$opp0");
      a->set_kind(v1::ACTIVITY_KIND_CALL);
      a->set_outcome(v1::ACTIVITY_OUTCOME_CONTINUATION);
      a->add_contact_ids("con_1");
      a->set_completed_follow_up_id("$fup0");
      a->set_notes("called back");
      req.set_request_id("req-3");
      seeds.Add("RecordActivity", req);
    }
    {
      v1::ListActivitiesRequest req;
      req.set_opportunity_id("$opp0");
      seeds.Add("ListActivities", req);
    }
    {
      v1::ListFollowUpsRequest req;
      req.set_opportunity_id("$opp0");
      seeds.Add("ListFollowUps", req);
    }
    {
      v1::ListOverdueFollowUpsRequest req;
      req.add_owner_ids("root");
      req.set_as_of_micros(1'800'000'000'000'000);
      seeds.Add("ListOverdueFollowUps", req);
    }
    {
      v1::EvaluateFourFactorsRequest req;
      req.set_opportunity_id("$opp1");
      req.set_need(5);
      req.set_impact(5);
      req.set_fit(1);
      req.set_relationship(3);
      req.set_min_factor(2);
      req.set_min_total(12);
      seeds.Add("EvaluateFourFactors", req);
    }
    {
      v1::EvaluateQualificationRequest req;
      req.set_opportunity_id("$opp0");
      v1::QualificationEvaluation* e = req.mutable_evaluation();
      e->set_need_match(4);
      e->set_budget(3);
      e->set_decision_cycle(2);
      e->set_competition(3);
      e->set_industry_prospect(5);
      e->set_credit_reputation(4);
      e->set_urgency(1);
      e->set_cooperation(3);
      seeds.Add("EvaluateQualification", req);
    }
    {
      v1::EvaluateCompetitiveRequest req;
      req.set_opportunity_id("$opp0");
      for (const auto& [name, weight] :
           {std::pair<const char*, int>{"price", 6000}, {"quality", 4000}}) {
        v1::CompetitiveCriterion* c = req.add_criteria();
        c->set_name(name);
        c->set_weight_bp(weight);
      }
      for (const auto& [name, a, b] :
           {std::tuple<const char*, int, int>{"us", 3, 5},
            {"Rival AG", 5, 2}}) {
        v1::CompetitiveParty* p = req.add_parties();
        p->set_name(name);
        p->add_scores(a);
        p->add_scores(b);
      }
      seeds.Add("EvaluateCompetitive", req);
    }
    {
      v1::GetDealHealthRequest req;
      req.set_opportunity_id("$opp0");
      req.set_as_of_micros(1'790'000'000'000'000);
      seeds.Add("GetDealHealth", req);
    }
    {
      v1::RecordWeeklyReviewRequest req;
      v1::WeeklyReview* r = req.mutable_review();
      r->set_opportunity_id("$opp1");
      *r->mutable_week() = Day(2026, 4, 29);
      r->set_goal("demo");
      r->set_breakthroughs("met the CFO");
      r->set_position_vs_competitor(-2);
      r->set_manager_comment("push");
      seeds.Add("RecordWeeklyReview", req);
    }
    {
      v1::ListWeeklyReviewsRequest req;
      req.set_opportunity_id("$opp0");
      seeds.Add("ListWeeklyReviews", req);
    }
    {
      v1::ListOpportunityChangesRequest req;
      req.set_page_size(3);
      seeds.Add("ListOpportunityChanges", req);
    }
    return seeds;
  }

 private:
  v1::Opportunity Create(const v1::CreateOpportunityRequest& req) {
    const Rpc* rpc = rpcs_->Find("CreateOpportunity");
    // The callback handler answers through the table's test reactor; the
    // created opportunity is found by listing (it is the newest of its name).
    MustOk(rpc->call(req), "CreateOpportunity " + req.ShortDebugString());
    v1::ListOpportunitiesRequest list;
    list.add_owner_ids(req.opportunity().owner_node_id());
    v1::ListOpportunitiesResponse resp =
        MustCall(service_.get(), &PipelineServiceImpl::ListOpportunities, list);
    for (int i = resp.opportunities_size() - 1; i >= 0; --i) {
      if (resp.opportunities(i).name() == req.opportunity().name()) {
        return resp.opportunities(i);
      }
    }
    MustOk(absl::InternalError("not listed"),
           "CreateOpportunity " + req.opportunity().name());
    return v1::Opportunity();
  }

  pipeline::fakes::FakeAccounts accounts_;
  pipeline::fakes::FakeCredit credit_;
  Clock* clock_ = nullptr;
  RpcTable* rpcs_ = nullptr;
  std::unique_ptr<OrgMirror> mirror_;
  std::unique_ptr<PipelineServiceImpl> service_;
};

}  // namespace
}  // namespace salesops::fuzz

SALESOPS_FUZZ_TARGET(salesops::fuzz::PipelineFixture)
