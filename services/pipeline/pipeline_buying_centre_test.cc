// gRPC-level tests of the pipeline service (pipeline_test_fixture.h): the
// buying centre, activities and follow-ups, evaluations, deal health, roles
// and re-orgs.

#include "services/pipeline/pipeline_test_fixture.h"

namespace salesops::pipeline::grpc_test {
namespace {

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

TEST_F(PipelineBuyingCentreTest, WeightsCountPerOpportunityAndVersionsHold) {
  // The weight and attitude rules are buying_centre_rules_test.cc's; here:
  // the roles read in the transaction are the opportunity's own, and an
  // existing role is changed under its expected version.
  const v1::Opportunity o = MustCreate();
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_TECHNICAL_GATEKEEPER, v1::ATTITUDE_C,
              60);
  MustSetRole(o.id(), kC2, v1::BUYING_ROLE_INFLUENCER, v1::ATTITUDE_B, 40);
  v1::ContactRole out;
  EXPECT_TRUE(IsError(SetRole(o.id(), kC3, v1::BUYING_ROLE_DECISION_MAKER,
                              v1::ATTITUDE_C, 1, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "influence_weight_pct"));
  const v1::Opportunity other = MustCreate();
  ASSERT_TRUE(IsOk(SetRole(other.id(), kC1, v1::BUYING_ROLE_USER,
                           v1::ATTITUDE_C, 100, &out)));

  ASSERT_TRUE(IsOk(SetRole(o.id(), kC1, v1::BUYING_ROLE_TECHNICAL_GATEKEEPER,
                           v1::ATTITUDE_B_PLUS, 60, &out, kRep1Token)));
  EXPECT_EQ(out.version(), 2);
  ASSERT_EQ(out.attitude_history_size(), 1);
  EXPECT_EQ(out.attitude_history(0).by(), "rep-1");
  v1::SetContactRoleRequest req;
  req.set_opportunity_id(o.id());
  req.set_contact_id(kC1);
  req.set_role(v1::BUYING_ROLE_USER);
  req.set_attitude(v1::ATTITUDE_A);
  req.set_expected_version(1);
  EXPECT_TRUE(IsError(Call(&Stub::SetContactRole, req, &out),
                      grpc::StatusCode::ABORTED));
  EXPECT_EQ(RoleOf(o.id(), kC1).attitude(), v1::ATTITUDE_B_PLUS);
  // Listed by contact id.
  std::vector<std::string> ids;
  for (const v1::ContactRole& r : Roles(o.id())) {
    ids.push_back(r.contact_id());
  }
  EXPECT_THAT(ids, ElementsAre(kC1, kC2));
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

TEST_F(PipelineActivityTest, ContactsLastActivityAndVisitAreStored) {
  // The rules are activity_rules_test.cc's; here: the moved times are
  // written to the contacts' roles.
  const v1::Opportunity o = MustCreate();
  MustSetRole(o.id(), kC1, v1::BUYING_ROLE_DECISION_MAKER);
  MustSetRole(o.id(), kC2, v1::BUYING_ROLE_USER);
  clock_.Advance(absl::Hours(2));
  const int64_t visit = NowMicros();
  MustRecord(Act(o.id(), v1::ACTIVITY_KIND_VISIT, {kC1}));
  clock_.Advance(absl::Hours(2));
  const int64_t call = NowMicros();
  MustRecord(Act(o.id(), v1::ACTIVITY_KIND_CALL, {kC1, kC2}));
  EXPECT_EQ(RoleOf(o.id(), kC1).last_visit_micros(), visit);
  EXPECT_EQ(RoleOf(o.id(), kC1).last_activity_micros(), call);
  EXPECT_EQ(RoleOf(o.id(), kC2).last_visit_micros(), 0);
  EXPECT_EQ(RoleOf(o.id(), kC2).last_activity_micros(), call);
}

TEST_F(PipelineActivityTest, CompletingTheFirstCallPlansTheMaterials) {
  // The cadence rules are activity_rules_test.cc's; here: the completed,
  // next and planned follow-ups are stored with the opportunity's owner.
  const v1::Opportunity o = MustCreate();
  const std::vector<v1::FollowUp> before = FollowUps(o.id());
  ASSERT_EQ(before.size(), 1u);
  clock_.Advance(absl::Hours(5));
  const int64_t t = NowMicros();
  v1::Activity call = Act(o.id(), v1::ACTIVITY_KIND_CALL);
  call.mutable_plan_follow_up()->set_kind(v1::ACTIVITY_KIND_DEMO);
  call.mutable_plan_follow_up()->set_text("demo for the user department");
  call.mutable_plan_follow_up()->set_due_micros(t + 48 * kHour);
  const v1::Activity recorded = MustRecord(call);
  EXPECT_EQ(recorded.completed_follow_up_id(), before[0].id());

  const std::vector<v1::FollowUp> fups = FollowUps(o.id());
  ASSERT_EQ(fups.size(), 3u);
  EXPECT_EQ(fups[0].state(), v1::FOLLOW_UP_STATE_DONE);
  EXPECT_EQ(fups[0].completed_by_activity_id(), recorded.id());
  EXPECT_EQ(fups[1].step_key(), "send_materials");
  EXPECT_EQ(fups[1].state(), v1::FOLLOW_UP_STATE_PLANNED);
  EXPECT_EQ(fups[1].owner_node_id(), "r1");
  EXPECT_EQ(fups[1].opportunity_id(), o.id());
  EXPECT_EQ(fups[2].kind(), v1::ACTIVITY_KIND_DEMO);
  EXPECT_EQ(fups[2].due_micros(), t + 48 * kHour);
  EXPECT_EQ(fups[2].state(), v1::FOLLOW_UP_STATE_PLANNED);
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
  page_req.set_page_size(1);
  int pages = 0;
  for (int guard = 0; guard < 10; ++guard) {
    v1::ListOverdueFollowUpsResponse page;
    ASSERT_TRUE(IsOk(Call(&Stub::ListOverdueFollowUps, page_req, &page)));
    ++pages;
    ASSERT_LE(page.follow_ups_size(), 1);
    for (const v1::FollowUp& f : page.follow_ups()) {
      EXPECT_TRUE(paged.insert(f.id()).second) << f.id();
    }
    if (page.next_page_token().empty()) {
      break;
    }
    page_req.set_page_token(page.next_page_token());
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

  // The matrix itself is evaluation_test.cc's.
  EXPECT_TRUE(IsError(eval(3, 3, 6, 3, 0, 0, &e),
                      grpc::StatusCode::INVALID_ARGUMENT, "fit"));

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
// Deal health (SPEC §3.6): the pure rules are deal_health_test.cc's; here
// the facts GetDealHealth reads, built through the API

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

}  // namespace
}  // namespace salesops::pipeline::grpc_test
