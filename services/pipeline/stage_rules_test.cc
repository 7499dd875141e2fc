#include "services/pipeline/stage_rules.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace salesops::pipeline {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

void AddCriterion(v1::Stage* stage, const std::string& key,
                  const std::string& text, bool required) {
  v1::ExitCriterion* c = stage->add_exit_criteria();
  c->set_key(key);
  c->set_text(text);
  c->set_required(required);
}

// A: a1 (req), a2 (optional), a3 (req)
// B: b1 (req)               requires_credit_check
// C: c1 (req), c2 (req)
// D: (no criteria)          requires_credit_check
// E: closes_won
v1::StageModel Model() {
  v1::StageModel m;
  m.set_id("stm_test");
  m.set_name("Test");
  v1::Stage* a = m.add_stages();
  a->set_key("A");
  AddCriterion(a, "a1", "first of A", true);
  AddCriterion(a, "a2", "optional of A", false);
  AddCriterion(a, "a3", "third of A", true);
  v1::Stage* b = m.add_stages();
  b->set_key("B");
  b->set_requires_credit_check(true);
  AddCriterion(b, "b1", "only of B", true);
  v1::Stage* c = m.add_stages();
  c->set_key("C");
  AddCriterion(c, "c1", "first of C", true);
  AddCriterion(c, "c2", "second of C", true);
  v1::Stage* d = m.add_stages();
  d->set_key("D");
  d->set_requires_credit_check(true);
  v1::Stage* e = m.add_stages();
  e->set_key("E");
  e->set_closes_won(true);
  return m;
}

v1::Opportunity Opp(const std::string& stage_key) {
  v1::Opportunity o;
  o.set_id("opp_1");
  o.set_stage_model_id("stm_test");
  o.set_stage_key(stage_key);
  o.set_status(v1::OPPORTUNITY_STATUS_OPEN);
  return o;
}

void Check(v1::Opportunity* o, const std::string& stage,
           const std::string& criterion, bool checked = true) {
  v1::CriterionState* c = o->add_criteria();
  c->set_stage_key(stage);
  c->set_criterion_key(criterion);
  c->set_checked(checked);
}

// ---- PlanMove ----

TEST(PlanMoveTest, ForwardOneStageListsUncheckedRequiredInOrder) {
  absl::StatusOr<MovePlan> plan = PlanMove(Model(), Opp("A"), "B");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->from_index, 0);
  EXPECT_EQ(plan->to_index, 1);
  EXPECT_TRUE(plan->forward);
  EXPECT_THAT(plan->unchecked,
              ElementsAre("A/a1 (first of A)", "A/a3 (third of A)"));
  EXPECT_TRUE(plan->needs_credit_check);  // entering B
  EXPECT_FALSE(plan->closes_won);
}

TEST(PlanMoveTest, ForwardWithAllRequiredCheckedHasNoUnchecked) {
  v1::Opportunity o = Opp("A");
  Check(&o, "A", "a1");
  Check(&o, "A", "a3");
  absl::StatusOr<MovePlan> plan = PlanMove(Model(), o, "B");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->unchecked, IsEmpty());
}

TEST(PlanMoveTest, UncheckedStateOrOtherStageDoesNotCount) {
  v1::Opportunity o = Opp("A");
  Check(&o, "A", "a1", /*checked=*/false);
  Check(&o, "B", "a3");  // same key, other stage
  absl::StatusOr<MovePlan> plan = PlanMove(Model(), o, "B");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->unchecked,
              ElementsAre("A/a1 (first of A)", "A/a3 (third of A)"));
}

TEST(PlanMoveTest, SkippedStagesListedInStageThenCriterionOrder) {
  v1::Opportunity o = Opp("A");
  Check(&o, "A", "a1");
  Check(&o, "C", "c1");
  absl::StatusOr<MovePlan> plan = PlanMove(Model(), o, "D");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->from_index, 0);
  EXPECT_EQ(plan->to_index, 3);
  EXPECT_TRUE(plan->forward);
  EXPECT_THAT(plan->unchecked,
              ElementsAre("A/a3 (third of A)", "B/b1 (only of B)",
                          "C/c2 (second of C)"));
  EXPECT_TRUE(plan->needs_credit_check);
  EXPECT_FALSE(plan->closes_won);
}

TEST(PlanMoveTest, TargetStageCriteriaAreNotRequired) {
  v1::Opportunity o = Opp("B");
  Check(&o, "B", "b1");
  absl::StatusOr<MovePlan> plan = PlanMove(Model(), o, "C");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(plan->unchecked, IsEmpty());  // C's own criteria not needed
  EXPECT_FALSE(plan->needs_credit_check);   // C has no credit check
}

TEST(PlanMoveTest, CreditCheckWhenSkippingOverCheckedStage) {
  // A -> C skips B, which requires a credit check.
  absl::StatusOr<MovePlan> plan = PlanMove(Model(), Opp("A"), "C");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(plan->needs_credit_check);
}

TEST(PlanMoveTest, CurrentStageCreditCheckDoesNotCount) {
  // Leaving B (credit-checked) for C: B is not entered nor skipped.
  absl::StatusOr<MovePlan> plan = PlanMove(Model(), Opp("B"), "C");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_FALSE(plan->needs_credit_check);
}

TEST(PlanMoveTest, SkipToClosingStage) {
  absl::StatusOr<MovePlan> plan = PlanMove(Model(), Opp("C"), "E");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->from_index, 2);
  EXPECT_EQ(plan->to_index, 4);
  EXPECT_TRUE(plan->closes_won);
  EXPECT_TRUE(plan->needs_credit_check);  // D skipped
  EXPECT_THAT(plan->unchecked,
              ElementsAre("C/c1 (first of C)", "C/c2 (second of C)"));
}

TEST(PlanMoveTest, BackwardMoveHasNoUncheckedNoCreditNoClose) {
  absl::StatusOr<MovePlan> plan = PlanMove(Model(), Opp("D"), "A");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->from_index, 3);
  EXPECT_EQ(plan->to_index, 0);
  EXPECT_FALSE(plan->forward);
  EXPECT_THAT(plan->unchecked, IsEmpty());
  EXPECT_FALSE(plan->needs_credit_check);
  EXPECT_FALSE(plan->closes_won);
}

TEST(PlanMoveTest, BackwardIntoCreditStageAsksNoCredit) {
  absl::StatusOr<MovePlan> plan = PlanMove(Model(), Opp("C"), "B");
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_FALSE(plan->forward);
  EXPECT_FALSE(plan->needs_credit_check);
}

TEST(PlanMoveTest, RefusesEveryClosedStatus) {
  const std::pair<v1::OpportunityStatus, std::string> cases[] = {
      {v1::OPPORTUNITY_STATUS_WON, "WON"},
      {v1::OPPORTUNITY_STATUS_LOST, "LOST"},
      {v1::OPPORTUNITY_STATUS_NO_DECISION, "NO_DECISION"},
      {v1::OPPORTUNITY_STATUS_ABANDONED, "ABANDONED"},
  };
  for (const auto& [status, name] : cases) {
    v1::Opportunity o = Opp("A");
    o.set_status(status);
    absl::StatusOr<MovePlan> plan = PlanMove(Model(), o, "B");
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(plan.status().message(),
              "opportunity opp_1 is " + name + "; reopen it first");
  }
}

TEST(PlanMoveTest, ClosedCheckedBeforeTarget) {
  v1::Opportunity o = Opp("A");
  o.set_status(v1::OPPORTUNITY_STATUS_LOST);
  EXPECT_EQ(PlanMove(Model(), o, "").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(PlanMoveTest, TargetRequired) {
  absl::StatusOr<MovePlan> plan = PlanMove(Model(), Opp("A"), "");
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(plan.status().message(), "to_stage_key: required");
}

TEST(PlanMoveTest, TargetNotInModel) {
  absl::StatusOr<MovePlan> plan = PlanMove(Model(), Opp("A"), "ZZ");
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(plan.status().message(),
            "to_stage_key: stage ZZ is not in stage model stm_test");
}

TEST(PlanMoveTest, TargetIsCaseSensitive) {
  EXPECT_EQ(PlanMove(Model(), Opp("A"), "b").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PlanMoveTest, AlreadyInStage) {
  absl::StatusOr<MovePlan> plan = PlanMove(Model(), Opp("C"), "C");
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(plan.status().message(),
            "to_stage_key: opportunity opp_1 is already in stage C");
}

TEST(PlanMoveTest, CurrentStageNotInModelIsFailedPrecondition) {
  absl::StatusOr<MovePlan> plan = PlanMove(Model(), Opp("GONE"), "B");
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(plan.status().message().find("GONE"), std::string::npos);
  EXPECT_NE(plan.status().message().find("stm_test"), std::string::npos);
}

// ---- SetCriterion ----

TEST(SetCriterionTest, AddsNewState) {
  v1::Opportunity o = Opp("A");
  ASSERT_TRUE(SetCriterion(Model(), "A", "a3", true, "alice", 1234, &o).ok());
  ASSERT_EQ(o.criteria_size(), 1);
  EXPECT_EQ(o.criteria(0).stage_key(), "A");
  EXPECT_EQ(o.criteria(0).criterion_key(), "a3");
  EXPECT_TRUE(o.criteria(0).checked());
  EXPECT_EQ(o.criteria(0).changed_by(), "alice");
  EXPECT_EQ(o.criteria(0).changed_micros(), 1234);
}

TEST(SetCriterionTest, UpdatesExistingStateInPlace) {
  v1::Opportunity o = Opp("A");
  ASSERT_TRUE(SetCriterion(Model(), "A", "a1", true, "alice", 10, &o).ok());
  ASSERT_TRUE(SetCriterion(Model(), "B", "b1", true, "alice", 20, &o).ok());
  ASSERT_TRUE(SetCriterion(Model(), "A", "a1", false, "bob", 30, &o).ok());
  ASSERT_EQ(o.criteria_size(), 2);
  EXPECT_EQ(o.criteria(0).criterion_key(), "a1");
  EXPECT_FALSE(o.criteria(0).checked());
  EXPECT_EQ(o.criteria(0).changed_by(), "bob");
  EXPECT_EQ(o.criteria(0).changed_micros(), 30);
  EXPECT_EQ(o.criteria(1).criterion_key(), "b1");
  EXPECT_TRUE(o.criteria(1).checked());
}

TEST(SetCriterionTest, OptionalCriterionCanBeSet) {
  v1::Opportunity o = Opp("A");
  EXPECT_TRUE(SetCriterion(Model(), "A", "a2", true, "alice", 1, &o).ok());
}

TEST(SetCriterionTest, CheckedCriteriaSatisfyPlanMove) {
  v1::Opportunity o = Opp("A");
  ASSERT_TRUE(SetCriterion(Model(), "A", "a1", true, "alice", 1, &o).ok());
  ASSERT_TRUE(SetCriterion(Model(), "A", "a3", true, "alice", 2, &o).ok());
  absl::StatusOr<MovePlan> plan = PlanMove(Model(), o, "B");
  ASSERT_TRUE(plan.ok());
  EXPECT_THAT(plan->unchecked, IsEmpty());
  ASSERT_TRUE(SetCriterion(Model(), "A", "a3", false, "bob", 3, &o).ok());
  plan = PlanMove(Model(), o, "B");
  ASSERT_TRUE(plan.ok());
  EXPECT_THAT(plan->unchecked, ElementsAre("A/a3 (third of A)"));
}

TEST(SetCriterionTest, UnknownStage) {
  v1::Opportunity o = Opp("A");
  absl::Status s = SetCriterion(Model(), "ZZ", "a1", true, "alice", 1, &o);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "stage_key: stage ZZ is not in stage model stm_test");
  EXPECT_EQ(o.criteria_size(), 0);
}

TEST(SetCriterionTest, UnknownCriterionOfStage) {
  v1::Opportunity o = Opp("A");
  // b1 belongs to B, not A.
  absl::Status s = SetCriterion(Model(), "A", "b1", true, "alice", 1, &o);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("criterion_key: ", 0), 0u) << s.message();
  EXPECT_NE(s.message().find("b1"), std::string::npos);
  EXPECT_EQ(o.criteria_size(), 0);
}

TEST(SetCriterionTest, BothRequired) {
  v1::Opportunity o = Opp("A");
  absl::Status s = SetCriterion(Model(), "", "", true, "alice", 1, &o);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "stage_key: required; criterion_key: required");
}

}  // namespace
}  // namespace salesops::pipeline
