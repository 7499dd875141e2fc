#include "services/pipeline/deal_health.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace salesops::pipeline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr int64_t kHour = int64_t{3600} * 1000 * 1000;
constexpr int64_t kDay = 24 * kHour;

// 2026-03-15 12:00:00 UTC.
absl::Time AsOf() {
  return absl::FromCivil(absl::CivilSecond(2026, 3, 15, 12, 0, 0),
                         absl::UTCTimeZone());
}
int64_t AsOfMicros() { return absl::ToUnixMicros(AsOf()); }

v1::ContactRole Role(const std::string& contact, v1::BuyingRole role) {
  v1::ContactRole r;
  r.set_opportunity_id("opp_1");
  r.set_contact_id(contact);
  r.set_role(role);
  r.set_attitude(v1::ATTITUDE_B);
  r.set_original_attitude(v1::ATTITUDE_B);
  r.set_is_core(IsCoreRole(role));
  r.set_added_micros(AsOfMicros() - 60 * kDay);
  r.set_last_visit_micros(AsOfMicros() - 5 * kDay);
  r.set_last_activity_micros(AsOfMicros() - 5 * kDay);
  return r;
}

// A deal with nothing wrong: the four core roles held, visited, supportive;
// a competitor known; 10 days in a 45-day stage; close date ahead; the only
// planned follow-up due tomorrow.
DealFacts Healthy() {
  DealFacts f;
  f.as_of = AsOf();
  f.time_zone = absl::UTCTimeZone();
  v1::StageModel& m = f.model;
  m.set_id("stm_test");
  m.add_stages()->set_key("A");
  v1::Stage* b = m.add_stages();
  b->set_key("B");
  b->set_stall_limit_days(10);
  v1::Opportunity& o = f.opportunity;
  o.set_id("opp_1");
  o.set_stage_model_id("stm_test");
  o.set_stage_key("A");
  o.set_status(v1::OPPORTUNITY_STATUS_OPEN);
  o.set_stage_entered_micros(AsOfMicros() - 10 * kDay);
  o.mutable_expected_close_date()->set_year(2026);
  o.mutable_expected_close_date()->set_month(4);
  o.mutable_expected_close_date()->set_day(30);
  o.add_competitors()->set_name("Rival Inc");
  f.roles = {Role("c_dm", v1::BUYING_ROLE_DECISION_MAKER),
             Role("c_user", v1::BUYING_ROLE_USER),
             Role("c_gk", v1::BUYING_ROLE_TECHNICAL_GATEKEEPER),
             Role("c_coach", v1::BUYING_ROLE_COACH)};
  v1::FollowUp planned;
  planned.set_id("fup_2");
  planned.set_kind(v1::ACTIVITY_KIND_CALL);
  planned.set_text("second call");
  planned.set_state(v1::FOLLOW_UP_STATE_PLANNED);
  planned.set_due_micros(AsOfMicros() + kDay);
  v1::FollowUp done;
  done.set_id("fup_1");
  done.set_kind(v1::ACTIVITY_KIND_CALL);
  done.set_state(v1::FOLLOW_UP_STATE_DONE);
  done.set_due_micros(AsOfMicros() - 20 * kDay);
  f.follow_ups = {done, planned};
  return f;
}

v1::ContactRole* Find(DealFacts* f, const std::string& contact) {
  for (v1::ContactRole& r : f->roles) {
    if (r.contact_id() == contact) return &r;
  }
  return nullptr;
}

std::vector<v1::WarningCode> Codes(const std::vector<v1::DealWarning>& ws) {
  std::vector<v1::WarningCode> out;
  for (const v1::DealWarning& w : ws) out.push_back(w.code());
  return out;
}

std::optional<v1::DealWarning> Get(const std::vector<v1::DealWarning>& ws,
                                   v1::WarningCode code) {
  for (const v1::DealWarning& w : ws) {
    if (w.code() == code) return w;
  }
  return std::nullopt;
}

std::vector<std::string> Contacts(const v1::DealWarning& w) {
  return {w.contact_ids().begin(), w.contact_ids().end()};
}

// ---- Roles and kinds ----

TEST(CoreRoleTest, TheFourKeyBuyerTypes) {
  EXPECT_TRUE(IsCoreRole(v1::BUYING_ROLE_DECISION_MAKER));
  EXPECT_TRUE(IsCoreRole(v1::BUYING_ROLE_USER));
  EXPECT_TRUE(IsCoreRole(v1::BUYING_ROLE_TECHNICAL_GATEKEEPER));
  EXPECT_TRUE(IsCoreRole(v1::BUYING_ROLE_COACH));
  EXPECT_FALSE(IsCoreRole(v1::BUYING_ROLE_FINANCIAL_BUYER));
  EXPECT_FALSE(IsCoreRole(v1::BUYING_ROLE_INFLUENCER));
  EXPECT_FALSE(IsCoreRole(v1::BUYING_ROLE_UNSPECIFIED));
}

TEST(IsVisitTest, VisitAndMeetingOnly) {
  EXPECT_TRUE(IsVisit(v1::ACTIVITY_KIND_VISIT));
  EXPECT_TRUE(IsVisit(v1::ACTIVITY_KIND_MEETING));
  EXPECT_FALSE(IsVisit(v1::ACTIVITY_KIND_CALL));
  EXPECT_FALSE(IsVisit(v1::ACTIVITY_KIND_EMAIL));
  EXPECT_FALSE(IsVisit(v1::ACTIVITY_KIND_DEMO));
  EXPECT_FALSE(IsVisit(v1::ACTIVITY_KIND_PROPOSAL));
  EXPECT_FALSE(IsVisit(v1::ACTIVITY_KIND_OTHER));
  EXPECT_FALSE(IsVisit(v1::ACTIVITY_KIND_UNSPECIFIED));
}

// ---- Influence weights ----

std::vector<v1::ContactRole> Weighted(std::vector<int> weights) {
  std::vector<v1::ContactRole> out;
  int i = 0;
  for (int w : weights) {
    v1::ContactRole r =
        Role("c" + std::to_string(i++), v1::BUYING_ROLE_INFLUENCER);
    r.set_influence_weight_pct(w);
    out.push_back(r);
  }
  return out;
}

TEST(InfluenceWeightsTest, AtMostHundred) {
  EXPECT_TRUE(CheckInfluenceWeights(Weighted({60, 30}), 10).ok());
  EXPECT_TRUE(CheckInfluenceWeights(Weighted({}), 100).ok());
  EXPECT_TRUE(CheckInfluenceWeights(Weighted({}), 0).ok());
  EXPECT_TRUE(CheckInfluenceWeights(Weighted({100}), 0).ok());
  absl::Status s = CheckInfluenceWeights(Weighted({60, 30}), 11);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "influence_weight_pct: the buying centre of opp_1 would weigh "
            "101% (at most 100)");
  s = CheckInfluenceWeights(Weighted({100}), 1);
  EXPECT_EQ(s.message(),
            "influence_weight_pct: the buying centre of opp_1 would weigh "
            "101% (at most 100)");
}

TEST(InfluenceWeightsTest, Range) {
  absl::Status s = CheckInfluenceWeights(Weighted({}), -1);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "influence_weight_pct: must be 0..100");
  s = CheckInfluenceWeights(Weighted({}), 101);
  EXPECT_EQ(s.message(), "influence_weight_pct: must be 0..100");
}

// ---- Deal health ----

TEST(DealHealthTest, HealthyDealHasNoWarnings) {
  EXPECT_THAT(AssessDealHealth(Healthy()), IsEmpty());
}

TEST(DealHealthTest, RoleMissingAndNoCoach) {
  DealFacts f = Healthy();
  f.roles = {Role("c_user", v1::BUYING_ROLE_USER),
             Role("c_gk", v1::BUYING_ROLE_TECHNICAL_GATEKEEPER)};
  std::vector<v1::DealWarning> ws = AssessDealHealth(f);
  ASSERT_THAT(Codes(ws), ElementsAre(v1::WARNING_CODE_ROLE_MISSING,
                                     v1::WARNING_CODE_NO_COACH));
  EXPECT_EQ(ws[0].severity(), v1::SEVERITY_HIGH);
  EXPECT_THAT(ws[0].detail(), HasSubstr("DECISION_MAKER, COACH"));
  EXPECT_THAT(ws[0].detail(), Not(HasSubstr("USER")));
  EXPECT_THAT(ws[0].contact_ids(), IsEmpty());
  EXPECT_EQ(ws[1].severity(), v1::SEVERITY_HIGH);
  EXPECT_THAT(ws[1].detail(), HasSubstr("COACH"));
}

TEST(DealHealthTest, RoleMissingWithoutNoCoachWhenCoachHeld) {
  DealFacts f = Healthy();
  f.roles.erase(f.roles.begin() + 1);  // c_user
  std::vector<v1::DealWarning> ws = AssessDealHealth(f);
  ASSERT_THAT(Codes(ws), ElementsAre(v1::WARNING_CODE_ROLE_MISSING));
  EXPECT_THAT(ws[0].detail(), HasSubstr("USER"));
  EXPECT_THAT(ws[0].detail(), Not(HasSubstr("COACH")));
}

TEST(DealHealthTest, RoleHeldByNonCoreFlaggedContactCounts) {
  DealFacts f = Healthy();
  Find(&f, "c_coach")->set_is_core(false);
  EXPECT_THAT(AssessDealHealth(f), IsEmpty());
}

TEST(DealHealthTest, EmptyBuyingCentre) {
  DealFacts f = Healthy();
  f.roles.clear();
  std::vector<v1::DealWarning> ws = AssessDealHealth(f);
  ASSERT_THAT(Codes(ws), ElementsAre(v1::WARNING_CODE_ROLE_MISSING,
                                     v1::WARNING_CODE_NO_COACH));
  EXPECT_THAT(ws[0].detail(),
              HasSubstr("DECISION_MAKER, USER, TECHNICAL_GATEKEEPER, COACH"));
}

TEST(DealHealthTest, CoreNotVisited) {
  DealFacts f = Healthy();
  Find(&f, "c_user")->set_last_visit_micros(0);
  Find(&f, "c_gk")->set_last_visit_micros(AsOfMicros() + 1);  // after as_of
  Find(&f, "c_dm")->set_last_visit_micros(AsOfMicros());      // at as_of: ok
  v1::ContactRole fin = Role("c_fin", v1::BUYING_ROLE_FINANCIAL_BUYER);
  fin.set_last_visit_micros(0);  // not core: not concerned
  f.roles.push_back(fin);
  std::vector<v1::DealWarning> ws = AssessDealHealth(f);
  ASSERT_THAT(Codes(ws), ElementsAre(v1::WARNING_CODE_CORE_NOT_VISITED));
  EXPECT_EQ(ws[0].severity(), v1::SEVERITY_MEDIUM);
  EXPECT_THAT(Contacts(ws[0]), ElementsAre("c_user", "c_gk"));
  EXPECT_THAT(ws[0].detail(), HasSubstr("c_user"));
  EXPECT_THAT(ws[0].detail(), HasSubstr("c_gk"));
}

TEST(DealHealthTest, NonCoreContactMarkedCoreIsChecked) {
  DealFacts f = Healthy();
  v1::ContactRole fin = Role("c_fin", v1::BUYING_ROLE_FINANCIAL_BUYER);
  fin.set_is_core(true);
  fin.set_last_visit_micros(0);
  f.roles.push_back(fin);
  std::vector<v1::DealWarning> ws = AssessDealHealth(f);
  ASSERT_THAT(Codes(ws), ElementsAre(v1::WARNING_CODE_CORE_NOT_VISITED));
  EXPECT_THAT(Contacts(ws[0]), ElementsAre("c_fin"));
}

TEST(DealHealthTest, RoleChangedWithoutReview) {
  DealFacts f = Healthy();
  // Changed after the last activity: concerned.
  Find(&f, "c_dm")->set_changed_micros(AsOfMicros() - 2 * kDay);
  // Activity exactly at the change: not concerned.
  Find(&f, "c_user")->set_changed_micros(AsOfMicros() - 2 * kDay);
  Find(&f, "c_user")->set_last_activity_micros(AsOfMicros() - 2 * kDay);
  // Activity one microsecond before the change: concerned.
  Find(&f, "c_coach")->set_changed_micros(AsOfMicros() - 2 * kDay);
  Find(&f, "c_coach")->set_last_activity_micros(AsOfMicros() - 2 * kDay - 1);
  // Not core: not concerned.
  v1::ContactRole inf = Role("c_inf", v1::BUYING_ROLE_INFLUENCER);
  inf.set_changed_micros(AsOfMicros() - kDay);
  f.roles.push_back(inf);
  std::vector<v1::DealWarning> ws = AssessDealHealth(f);
  ASSERT_THAT(Codes(ws), ElementsAre(v1::WARNING_CODE_ROLE_CHANGED));
  EXPECT_EQ(ws[0].severity(), v1::SEVERITY_MEDIUM);
  EXPECT_THAT(Contacts(ws[0]), ElementsAre("c_dm", "c_coach"));
}

TEST(DealHealthTest, RoleChangedOnlyAfterLastReview) {
  DealFacts f = Healthy();
  f.last_review_micros = AsOfMicros() - 3 * kDay;
  Find(&f, "c_dm")->set_changed_micros(AsOfMicros() - 4 * kDay);      // before
  Find(&f, "c_user")->set_changed_micros(AsOfMicros() - 3 * kDay);    // at
  Find(&f, "c_gk")->set_changed_micros(AsOfMicros() - 3 * kDay + 1);  // after
  std::vector<v1::DealWarning> ws = AssessDealHealth(f);
  ASSERT_THAT(Codes(ws), ElementsAre(v1::WARNING_CODE_ROLE_CHANGED));
  EXPECT_THAT(Contacts(ws[0]), ElementsAre("c_gk"));
}

TEST(DealHealthTest, NewFaceBoundaryAtFourteenDays) {
  DealFacts f = Healthy();
  v1::ContactRole at = Role("c_at14", v1::BUYING_ROLE_INFLUENCER);
  at.set_added_micros(AsOfMicros() - kNewFaceDays * kDay);
  at.set_last_visit_micros(0);
  v1::ContactRole past = Role("c_past14", v1::BUYING_ROLE_INFLUENCER);
  past.set_added_micros(AsOfMicros() - kNewFaceDays * kDay - 1);
  past.set_last_visit_micros(0);
  v1::ContactRole met = Role("c_met", v1::BUYING_ROLE_INFLUENCER);
  met.set_added_micros(AsOfMicros() - kDay);
  met.set_last_visit_micros(AsOfMicros() - kHour);
  v1::ContactRole fresh = Role("c_fresh", v1::BUYING_ROLE_FINANCIAL_BUYER);
  fresh.set_added_micros(AsOfMicros());
  fresh.set_last_visit_micros(0);
  f.roles.push_back(at);
  f.roles.push_back(past);
  f.roles.push_back(met);
  f.roles.push_back(fresh);
  std::vector<v1::DealWarning> ws = AssessDealHealth(f);
  ASSERT_THAT(Codes(ws), ElementsAre(v1::WARNING_CODE_NEW_FACE));
  EXPECT_EQ(ws[0].severity(), v1::SEVERITY_MEDIUM);
  EXPECT_THAT(Contacts(ws[0]), ElementsAre("c_at14", "c_fresh"));
  EXPECT_EQ(kNewFaceDays, 14);
}

TEST(DealHealthTest, NewCoreFaceIsAlsoNotVisited) {
  DealFacts f = Healthy();
  v1::ContactRole& coach = *Find(&f, "c_coach");
  coach.set_added_micros(AsOfMicros() - 3 * kDay);
  coach.set_last_visit_micros(0);
  std::vector<v1::DealWarning> ws = AssessDealHealth(f);
  ASSERT_THAT(Codes(ws), ElementsAre(v1::WARNING_CODE_CORE_NOT_VISITED,
                                     v1::WARNING_CODE_NEW_FACE));
  EXPECT_THAT(Contacts(ws[0]), ElementsAre("c_coach"));
  EXPECT_THAT(Contacts(ws[1]), ElementsAre("c_coach"));
}

TEST(DealHealthTest, CompetitionUnknown) {
  DealFacts f = Healthy();
  f.opportunity.clear_competitors();
  std::vector<v1::DealWarning> ws = AssessDealHealth(f);
  ASSERT_THAT(Codes(ws), ElementsAre(v1::WARNING_CODE_COMPETITION_UNKNOWN));
  EXPECT_EQ(ws[0].severity(), v1::SEVERITY_MEDIUM);
  EXPECT_THAT(ws[0].contact_ids(), IsEmpty());

  f.opportunity.set_competitors_unknown(true);
  EXPECT_THAT(Codes(AssessDealHealth(f)),
              ElementsAre(v1::WARNING_CODE_COMPETITION_UNKNOWN));

  // A recorded competitor settles it, whatever the flag says.
  f.opportunity.add_competitors()->set_name("Rival Inc");
  EXPECT_THAT(AssessDealHealth(f), IsEmpty());
}

TEST(DealHealthTest, OpposedCoreContacts) {
  DealFacts f = Healthy();
  Find(&f, "c_user")->set_attitude(v1::ATTITUDE_E);
  Find(&f, "c_gk")->set_attitude(v1::ATTITUDE_D);
  Find(&f, "c_dm")->set_attitude(v1::ATTITUDE_C);  // accepts: fine
  Find(&f, "c_coach")->set_attitude(v1::ATTITUDE_UNSPECIFIED);
  v1::ContactRole fin = Role("c_fin", v1::BUYING_ROLE_FINANCIAL_BUYER);
  fin.set_attitude(v1::ATTITUDE_E);  // not core
  f.roles.push_back(fin);
  std::vector<v1::DealWarning> ws = AssessDealHealth(f);
  ASSERT_THAT(Codes(ws), ElementsAre(v1::WARNING_CODE_OPPOSED));
  EXPECT_EQ(ws[0].severity(), v1::SEVERITY_HIGH);
  EXPECT_THAT(Contacts(ws[0]), ElementsAre("c_user", "c_gk"));
  EXPECT_THAT(ws[0].detail(), HasSubstr("c_user (E)"));
  EXPECT_THAT(ws[0].detail(), HasSubstr("c_gk (D)"));
}

TEST(DealHealthTest, StalledDefaultLimitBoundary) {
  DealFacts f = Healthy();
  f.opportunity.set_stage_entered_micros(AsOfMicros() - 45 * kDay);
  EXPECT_THAT(AssessDealHealth(f), IsEmpty());
  f.opportunity.set_stage_entered_micros(AsOfMicros() - 46 * kDay);
  std::vector<v1::DealWarning> ws = AssessDealHealth(f);
  ASSERT_THAT(Codes(ws), ElementsAre(v1::WARNING_CODE_STALLED));
  EXPECT_EQ(ws[0].severity(), v1::SEVERITY_MEDIUM);
  EXPECT_THAT(ws[0].detail(), HasSubstr("46 days"));
  EXPECT_THAT(ws[0].detail(), HasSubstr("45"));
  EXPECT_THAT(ws[0].detail(), HasSubstr("A"));
}

TEST(DealHealthTest, StalledStageLimit) {
  DealFacts f = Healthy();
  f.opportunity.set_stage_key("B");  // stage limit 10
  f.opportunity.set_stage_entered_micros(AsOfMicros() - 10 * kDay);
  EXPECT_THAT(AssessDealHealth(f), IsEmpty());
  f.opportunity.set_stage_entered_micros(AsOfMicros() - 11 * kDay);
  EXPECT_THAT(Codes(AssessDealHealth(f)),
              ElementsAre(v1::WARNING_CODE_STALLED));
}

TEST(DealHealthTest, StalledModelLimit) {
  DealFacts f = Healthy();
  f.model.set_stall_limit_days(20);  // stage A has none of its own
  f.opportunity.set_stage_entered_micros(AsOfMicros() - 20 * kDay);
  EXPECT_THAT(AssessDealHealth(f), IsEmpty());
  f.opportunity.set_stage_entered_micros(AsOfMicros() - 21 * kDay);
  EXPECT_THAT(Codes(AssessDealHealth(f)),
              ElementsAre(v1::WARNING_CODE_STALLED));
}

TEST(DealHealthTest, CloseDatePassed) {
  DealFacts f = Healthy();
  v1::Date* d = f.opportunity.mutable_expected_close_date();
  d->set_year(2026);
  d->set_month(3);
  d->set_day(15);  // today: not passed
  EXPECT_THAT(AssessDealHealth(f), IsEmpty());
  d->set_day(14);
  std::vector<v1::DealWarning> ws = AssessDealHealth(f);
  ASSERT_THAT(Codes(ws), ElementsAre(v1::WARNING_CODE_CLOSE_DATE_PASSED));
  EXPECT_EQ(ws[0].severity(), v1::SEVERITY_HIGH);
  EXPECT_THAT(ws[0].detail(), HasSubstr("2026-03-14"));
  EXPECT_THAT(ws[0].detail(), HasSubstr("2026-03-15"));
}

TEST(DealHealthTest, CloseDateUsesTimeZoneForToday) {
  DealFacts f = Healthy();
  // 2026-03-15 02:00 UTC is still 2026-03-14 at UTC-5.
  f.as_of = absl::FromCivil(absl::CivilSecond(2026, 3, 15, 2, 0, 0),
                            absl::UTCTimeZone());
  v1::Date* d = f.opportunity.mutable_expected_close_date();
  d->set_year(2026);
  d->set_month(3);
  d->set_day(14);
  f.time_zone = absl::FixedTimeZone(-5 * 3600);
  EXPECT_THAT(Codes(AssessDealHealth(f)), IsEmpty());
  f.time_zone = absl::UTCTimeZone();
  EXPECT_THAT(Codes(AssessDealHealth(f)),
              ElementsAre(v1::WARNING_CODE_CLOSE_DATE_PASSED));
}

TEST(DealHealthTest, FollowUpOverdue) {
  DealFacts f = Healthy();
  v1::FollowUp at = f.follow_ups[1];
  at.set_id("fup_3");
  at.set_due_micros(AsOfMicros());  // due exactly now: not yet overdue
  v1::FollowUp cancelled = f.follow_ups[1];
  cancelled.set_id("fup_4");
  cancelled.set_state(v1::FOLLOW_UP_STATE_CANCELLED);
  cancelled.set_due_micros(AsOfMicros() - kDay);
  f.follow_ups.push_back(at);
  f.follow_ups.push_back(cancelled);
  EXPECT_THAT(AssessDealHealth(f), IsEmpty());

  v1::FollowUp late = f.follow_ups[1];
  late.set_id("fup_5");
  late.set_due_micros(AsOfMicros() - 1);
  f.follow_ups.push_back(late);
  std::vector<v1::DealWarning> ws = AssessDealHealth(f);
  ASSERT_THAT(Codes(ws), ElementsAre(v1::WARNING_CODE_FOLLOW_UP_OVERDUE));
  EXPECT_EQ(ws[0].severity(), v1::SEVERITY_MEDIUM);
  EXPECT_THAT(ws[0].detail(), HasSubstr("fup_5"));
  EXPECT_THAT(ws[0].detail(), Not(HasSubstr("fup_3")));
  EXPECT_THAT(ws[0].detail(), Not(HasSubstr("fup_4")));
}

DealFacts Everything() {
  DealFacts f = Healthy();
  f.roles = {Role("c_dm", v1::BUYING_ROLE_DECISION_MAKER),
             Role("c_user", v1::BUYING_ROLE_USER)};
  Find(&f, "c_dm")->set_last_visit_micros(0);
  Find(&f, "c_dm")->set_last_activity_micros(0);
  Find(&f, "c_dm")->set_changed_micros(AsOfMicros() - kDay);
  Find(&f, "c_dm")->set_added_micros(AsOfMicros() - 2 * kDay);
  Find(&f, "c_user")->set_attitude(v1::ATTITUDE_E);
  f.opportunity.clear_competitors();
  f.opportunity.set_stage_entered_micros(AsOfMicros() - 100 * kDay);
  f.opportunity.mutable_expected_close_date()->set_month(1);
  f.follow_ups[1].set_due_micros(AsOfMicros() - kDay);
  return f;
}

TEST(DealHealthTest, AllWarningsInCodeOrderWithSeverities) {
  std::vector<v1::DealWarning> ws = AssessDealHealth(Everything());
  ASSERT_THAT(
      Codes(ws),
      ElementsAre(v1::WARNING_CODE_ROLE_MISSING, v1::WARNING_CODE_NO_COACH,
                  v1::WARNING_CODE_CORE_NOT_VISITED,
                  v1::WARNING_CODE_ROLE_CHANGED, v1::WARNING_CODE_NEW_FACE,
                  v1::WARNING_CODE_COMPETITION_UNKNOWN,
                  v1::WARNING_CODE_OPPOSED, v1::WARNING_CODE_STALLED,
                  v1::WARNING_CODE_CLOSE_DATE_PASSED,
                  v1::WARNING_CODE_FOLLOW_UP_OVERDUE));
  std::vector<v1::Severity> severities;
  for (const v1::DealWarning& w : ws) severities.push_back(w.severity());
  EXPECT_THAT(severities, ElementsAre(v1::SEVERITY_HIGH, v1::SEVERITY_HIGH,
                                      v1::SEVERITY_MEDIUM, v1::SEVERITY_MEDIUM,
                                      v1::SEVERITY_MEDIUM, v1::SEVERITY_MEDIUM,
                                      v1::SEVERITY_HIGH, v1::SEVERITY_MEDIUM,
                                      v1::SEVERITY_HIGH, v1::SEVERITY_MEDIUM));
  for (const v1::DealWarning& w : ws) EXPECT_FALSE(w.detail().empty());
  EXPECT_THAT(Contacts(*Get(ws, v1::WARNING_CODE_CORE_NOT_VISITED)),
              ElementsAre("c_dm"));
  EXPECT_THAT(Contacts(*Get(ws, v1::WARNING_CODE_OPPOSED)),
              ElementsAre("c_user"));
}

TEST(DealHealthTest, ClosedGetsOnlyBuyingCentreAndCompetition) {
  for (v1::OpportunityStatus status :
       {v1::OPPORTUNITY_STATUS_WON, v1::OPPORTUNITY_STATUS_LOST,
        v1::OPPORTUNITY_STATUS_NO_DECISION, v1::OPPORTUNITY_STATUS_ABANDONED}) {
    DealFacts f = Everything();
    f.opportunity.set_status(status);
    EXPECT_THAT(
        Codes(AssessDealHealth(f)),
        ElementsAre(v1::WARNING_CODE_ROLE_MISSING, v1::WARNING_CODE_NO_COACH,
                    v1::WARNING_CODE_CORE_NOT_VISITED,
                    v1::WARNING_CODE_ROLE_CHANGED, v1::WARNING_CODE_NEW_FACE,
                    v1::WARNING_CODE_COMPETITION_UNKNOWN,
                    v1::WARNING_CODE_OPPOSED));
  }
}

// ---- Follow-up cadence ----

v1::FollowUpCadence Cadence() {
  v1::FollowUpCadence c;
  const struct {
    const char* key;
    v1::ActivityKind kind;
    int min, max;
  } steps[] = {{"first_call", v1::ACTIVITY_KIND_CALL, 0, 24},
               {"send_materials", v1::ACTIVITY_KIND_EMAIL, 72, 120},
               {"second_call", v1::ACTIVITY_KIND_CALL, 168, 240}};
  for (const auto& s : steps) {
    v1::CadenceStep* step = c.add_steps();
    step->set_key(s.key);
    step->set_text(std::string("do ") + s.key);
    step->set_kind(s.kind);
    step->set_min_hours(s.min);
    step->set_max_hours(s.max);
  }
  return c;
}

TEST(CadenceTest, FirstFollowUp) {
  const int64_t created = 1'700'000'000'000'000;
  std::optional<v1::FollowUp> f = FirstFollowUp(Cadence(), created);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->step_key(), "first_call");
  EXPECT_EQ(f->kind(), v1::ACTIVITY_KIND_CALL);
  EXPECT_EQ(f->text(), "do first_call");
  EXPECT_EQ(f->earliest_micros(), created);
  EXPECT_EQ(f->due_micros(), created + 24 * kHour);
  EXPECT_EQ(f->state(), v1::FOLLOW_UP_STATE_PLANNED);
  EXPECT_EQ(f->id(), "");
  EXPECT_EQ(f->owner_node_id(), "");
  EXPECT_EQ(f->opportunity_id(), "");
}

TEST(CadenceTest, FirstFollowUpUsesMinHours) {
  v1::FollowUpCadence c = Cadence();
  c.mutable_steps(0)->set_min_hours(2);
  std::optional<v1::FollowUp> f = FirstFollowUp(c, 1000);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->earliest_micros(), 1000 + 2 * kHour);
  EXPECT_EQ(f->due_micros(), 1000 + 24 * kHour);
}

TEST(CadenceTest, EmptyCadencePlansNothing) {
  EXPECT_FALSE(FirstFollowUp(v1::FollowUpCadence(), 1000).has_value());
}

TEST(CadenceTest, NextFollowUpPlannedFromCompletion) {
  v1::FollowUp done;
  done.set_step_key("first_call");
  done.set_due_micros(5);
  const int64_t completed = 1'700'000'000'000'000;
  std::optional<v1::FollowUp> next = NextFollowUp(Cadence(), done, completed);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->step_key(), "send_materials");
  EXPECT_EQ(next->kind(), v1::ACTIVITY_KIND_EMAIL);
  EXPECT_EQ(next->earliest_micros(), completed + 72 * kHour);
  EXPECT_EQ(next->due_micros(), completed + 120 * kHour);
  EXPECT_EQ(next->state(), v1::FOLLOW_UP_STATE_PLANNED);

  done.set_step_key("send_materials");
  next = NextFollowUp(Cadence(), done, completed);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->step_key(), "second_call");
  EXPECT_EQ(next->earliest_micros(), completed + 168 * kHour);
  EXPECT_EQ(next->due_micros(), completed + 240 * kHour);
}

TEST(CadenceTest, NoNextAfterLastOrForNonSteps) {
  v1::FollowUp done;
  done.set_step_key("second_call");
  EXPECT_FALSE(NextFollowUp(Cadence(), done, 1000).has_value());
  done.set_step_key("");
  EXPECT_FALSE(NextFollowUp(Cadence(), done, 1000).has_value());
  done.set_step_key("unknown_step");
  EXPECT_FALSE(NextFollowUp(Cadence(), done, 1000).has_value());
  done.set_step_key("first_call");
  EXPECT_FALSE(NextFollowUp(v1::FollowUpCadence(), done, 1000).has_value());
}

std::vector<v1::FollowUp> Planned() {
  std::vector<v1::FollowUp> out;
  const std::pair<const char*, v1::ActivityKind> items[] = {
      {"fup_0003", v1::ACTIVITY_KIND_CALL},
      {"fup_0001", v1::ACTIVITY_KIND_EMAIL},
      {"fup_0002", v1::ACTIVITY_KIND_CALL},
      {"fup_0004", v1::ACTIVITY_KIND_CALL}};
  for (const auto& [id, kind] : items) {
    v1::FollowUp f;
    f.set_id(id);
    f.set_kind(kind);
    f.set_state(v1::FOLLOW_UP_STATE_PLANNED);
    out.push_back(f);
  }
  return out;
}

v1::Activity Act(v1::ActivityKind kind, const std::string& follow_up_id = "") {
  v1::Activity a;
  a.set_kind(kind);
  a.set_follow_up_id(follow_up_id);
  return a;
}

TEST(FollowUpCompletedByTest, OldestOfSameKind) {
  EXPECT_EQ(FollowUpCompletedBy(Act(v1::ACTIVITY_KIND_CALL), Planned()),
            std::optional<size_t>(2));
  EXPECT_EQ(FollowUpCompletedBy(Act(v1::ACTIVITY_KIND_EMAIL), Planned()),
            std::optional<size_t>(1));
  EXPECT_EQ(FollowUpCompletedBy(Act(v1::ACTIVITY_KIND_VISIT), Planned()),
            std::nullopt);
  EXPECT_EQ(FollowUpCompletedBy(Act(v1::ACTIVITY_KIND_CALL), {}), std::nullopt);
}

TEST(FollowUpCompletedByTest, NamedFollowUpWhateverItsKind) {
  EXPECT_EQ(
      FollowUpCompletedBy(Act(v1::ACTIVITY_KIND_EMAIL, "fup_0003"), Planned()),
      std::optional<size_t>(0));
  EXPECT_EQ(
      FollowUpCompletedBy(Act(v1::ACTIVITY_KIND_CALL, "fup_0004"), Planned()),
      std::optional<size_t>(3));
}

TEST(FollowUpCompletedByTest, UnknownNamedIdIsNullopt) {
  // No fallback to the oldest CALL when the named id is missing.
  EXPECT_EQ(
      FollowUpCompletedBy(Act(v1::ACTIVITY_KIND_CALL, "fup_9999"), Planned()),
      std::nullopt);
}

}  // namespace
}  // namespace salesops::pipeline
