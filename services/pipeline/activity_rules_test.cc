// The activity and weekly-review transitions (activity_rules.h) without a
// store or a server: field rules, buying-centre contacts, last activity and
// visit times, completing and planning follow-ups.

#include "services/pipeline/activity_rules.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/pipeline/deal_health.h"
#include "services/pipeline/stage_models.h"

namespace salesops::pipeline {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kT0 = absl::FromUnixSeconds(1'767'225'600);
const int64_t kT0Micros = absl::ToUnixMicros(kT0);
constexpr int64_t kHour = int64_t{3600} * 1000 * 1000;
const Principal kRep{"rep-1", Role::kRep, "r1"};

v1::StageModel Model() {
  for (const v1::StageModel& m : BuiltInModels()) {
    if (m.id() == kBuyingCycle6) {
      return m;
    }
  }
  return v1::StageModel();
}

v1::Opportunity Open() {
  v1::Opportunity o;
  o.set_id("opp_1");
  o.set_owner_node_id("r1");
  o.set_status(v1::OPPORTUNITY_STATUS_OPEN);
  return o;
}

v1::Activity Act(v1::ActivityKind kind, std::vector<std::string> contacts = {},
                 v1::ActivityOutcome outcome = v1::ACTIVITY_OUTCOME_PROGRESS) {
  v1::Activity a;
  a.set_opportunity_id("opp_1");
  a.set_kind(kind);
  a.set_outcome(outcome);
  for (const std::string& c : contacts) {
    a.add_contact_ids(c);
  }
  return a;
}

v1::ContactRole Role(const std::string& contact, bool removed = false) {
  v1::ContactRole r;
  r.set_opportunity_id("opp_1");
  r.set_contact_id(contact);
  r.set_removed(removed);
  return r;
}

// The first follow-up CreateOpportunity plans, stored as "fup_1".
v1::FollowUp FirstCall() {
  std::optional<v1::FollowUp> f = FirstFollowUp(Model().cadence(), kT0Micros);
  EXPECT_TRUE(f.has_value());
  f->set_id("fup_1");
  f->set_state(v1::FOLLOW_UP_STATE_PLANNED);
  return *f;
}

absl::StatusOr<ActivityRecord> Record(
    const v1::Activity& a, const std::vector<v1::ContactRole>& roles = {},
    const std::vector<v1::FollowUp>& planned = {},
    const v1::Opportunity& o = Open(), absl::Time now = kT0) {
  return RecordActivity(o, Model(), a, roles, planned, "act_1", kRep, now);
}

TEST(ActivityRulesTest, FieldRules) {
  EXPECT_TRUE(ValidateActivity(Act(v1::ACTIVITY_KIND_CALL), kT0).ok());
  struct Case {
    v1::Activity activity;
    std::string needle;
  };
  v1::Activity future = Act(v1::ACTIVITY_KIND_VISIT);
  future.set_time_micros(kT0Micros + 24 * kHour);
  v1::Activity plan = Act(v1::ACTIVITY_KIND_CALL);
  plan.mutable_plan_follow_up()->set_kind(v1::ACTIVITY_KIND_CALL);
  plan.mutable_plan_follow_up()->set_text("x");
  plan.mutable_plan_follow_up()->set_due_micros(kT0Micros - kHour);
  const std::vector<Case> cases = {
      {Act(v1::ACTIVITY_KIND_UNSPECIFIED), "activity.kind"},
      {Act(v1::ACTIVITY_KIND_CALL, {}, v1::ACTIVITY_OUTCOME_UNSPECIFIED),
       "activity.outcome"},
      {future, "activity.time_micros"},
      {Act(v1::ACTIVITY_KIND_CALL, {"con_1", "con_1"}),
       "activity.contact_ids[1]: duplicate"},
      {plan, "activity.plan_follow_up.due_micros"},
  };
  for (const Case& c : cases) {
    const absl::Status s = ValidateActivity(c.activity, kT0);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.needle;
    EXPECT_THAT(s.message(), HasSubstr(c.needle));
  }
}

TEST(ActivityRulesTest, ContactsMustBeInTheBuyingCentre) {
  const std::vector<v1::ContactRole> roles = {Role("con_1"),
                                              Role("con_2", true)};
  absl::StatusOr<ActivityRecord> rec = Record(
      Act(v1::ACTIVITY_KIND_CALL, {"con_1"}, v1::ACTIVITY_OUTCOME_CONTINUATION),
      roles);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ(rec->activity.id(), "act_1");
  EXPECT_EQ(rec->activity.time_micros(), kT0Micros);
  EXPECT_EQ(rec->activity.recorded_by(), "rep-1");
  for (const char* outsider : {"con_2", "con_3"}) {
    const absl::Status s =
        Record(Act(v1::ACTIVITY_KIND_CALL, {"con_1", outsider}), roles)
            .status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << outsider;
    EXPECT_THAT(s.message(), HasSubstr("activity.contact_ids"));
  }
}

TEST(ActivityRulesTest, VisitsUpdateLastVisitCallsOnlyLastActivity) {
  v1::ContactRole c1 = Role("con_1");
  c1.set_last_visit_micros(kT0Micros - kHour);
  c1.set_last_activity_micros(kT0Micros - kHour);
  absl::StatusOr<ActivityRecord> call =
      Record(Act(v1::ACTIVITY_KIND_CALL, {"con_1"}), {c1});
  ASSERT_TRUE(call.ok()) << call.status();
  ASSERT_EQ(call->touched_roles.size(), 1u);
  EXPECT_EQ(call->touched_roles[0].last_activity_micros(), kT0Micros);
  EXPECT_EQ(call->touched_roles[0].last_visit_micros(), kT0Micros - kHour);
  absl::StatusOr<ActivityRecord> meeting =
      Record(Act(v1::ACTIVITY_KIND_MEETING, {"con_1"}), {c1});
  ASSERT_TRUE(meeting.ok()) << meeting.status();
  EXPECT_EQ(meeting->touched_roles[0].last_visit_micros(), kT0Micros);
  // A backdated activity moves no time back.
  v1::Activity old = Act(v1::ACTIVITY_KIND_VISIT, {"con_1"});
  old.set_time_micros(kT0Micros - 2 * kHour);
  absl::StatusOr<ActivityRecord> backdated = Record(old, {c1});
  ASSERT_TRUE(backdated.ok()) << backdated.status();
  EXPECT_THAT(backdated->touched_roles, IsEmpty());
}

TEST(ActivityRulesTest, CompletingTheFirstCallPlansTheMaterials) {
  const absl::Time later = kT0 + absl::Hours(5);
  const int64_t t = absl::ToUnixMicros(later);
  absl::StatusOr<ActivityRecord> rec =
      Record(Act(v1::ACTIVITY_KIND_CALL), {}, {FirstCall()}, Open(), later);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_EQ(rec->activity.completed_follow_up_id(), "fup_1");
  ASSERT_TRUE(rec->completed.has_value());
  EXPECT_EQ(rec->completed->state(), v1::FOLLOW_UP_STATE_DONE);
  EXPECT_EQ(rec->completed->completed_by_activity_id(), "act_1");
  EXPECT_EQ(rec->completed->completed_micros(), t);
  ASSERT_TRUE(rec->next.has_value());
  EXPECT_EQ(rec->next->step_key(), "send_materials");
  EXPECT_EQ(rec->next->kind(), v1::ACTIVITY_KIND_EMAIL);
  EXPECT_EQ(rec->next->earliest_micros(), t + 72 * kHour);
  EXPECT_EQ(rec->next->due_micros(), t + 120 * kHour);
  EXPECT_FALSE(rec->planned.has_value());

  // Nothing planned of its kind: completes nothing, may plan its own.
  v1::Activity demo = Act(v1::ACTIVITY_KIND_EMAIL);
  demo.mutable_plan_follow_up()->set_kind(v1::ACTIVITY_KIND_DEMO);
  demo.mutable_plan_follow_up()->set_text("  demo  ");
  demo.mutable_plan_follow_up()->set_due_micros(t + 48 * kHour);
  rec = Record(demo, {}, {FirstCall()}, Open(), later);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_TRUE(rec->activity.completed_follow_up_id().empty());
  ASSERT_TRUE(rec->planned.has_value());
  EXPECT_EQ(rec->planned->text(), "demo");
  EXPECT_EQ(rec->planned->earliest_micros(), t);
  EXPECT_EQ(rec->planned->due_micros(), t + 48 * kHour);

  // Naming a follow-up completes it whatever the kind; an unknown one is
  // refused; a closed opportunity plans no next step.
  v1::Activity visit = Act(v1::ACTIVITY_KIND_VISIT);
  visit.set_follow_up_id("fup_1");
  v1::Opportunity won = Open();
  won.set_status(v1::OPPORTUNITY_STATUS_WON);
  rec = Record(visit, {}, {FirstCall()}, won, later);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_TRUE(rec->completed.has_value());
  EXPECT_FALSE(rec->next.has_value());
  visit.set_follow_up_id("fup_unknown");
  EXPECT_THAT(Record(visit, {}, {FirstCall()}).status().message(),
              HasSubstr("activity.follow_up_id"));
}

TEST(ActivityRulesTest, WeeklyReviewsLandOnTheirMonday) {
  v1::WeeklyReview in;
  in.set_opportunity_id("opp_1");
  in.mutable_week()->set_year(2026);
  in.mutable_week()->set_month(1);
  in.mutable_week()->set_day(8);  // a Thursday
  absl::StatusOr<absl::CivilDay> monday = ValidateWeeklyReview(in);
  ASSERT_TRUE(monday.ok()) << monday.status();
  EXPECT_EQ(*monday, absl::CivilDay(2026, 1, 5));
  const v1::WeeklyReview r = WeeklyReviewOf(in, *monday, kRep, kT0);
  EXPECT_EQ(r.week().day(), 5);
  EXPECT_EQ(r.recorded_by(), "rep-1");
  EXPECT_EQ(r.recorded_micros(), kT0Micros);
  in.set_position_vs_competitor(6);
  in.clear_opportunity_id();
  const absl::Status s = ValidateWeeklyReview(in).status();
  EXPECT_THAT(s.message(), HasSubstr("review.opportunity_id"));
  EXPECT_THAT(s.message(), HasSubstr("review.position_vs_competitor"));
}

}  // namespace
}  // namespace salesops::pipeline
