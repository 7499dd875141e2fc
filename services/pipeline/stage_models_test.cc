#include "services/pipeline/stage_models.h"

#include <string>
#include <vector>

#include "common/money/money.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace salesops::pipeline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// SPEC.md §3.1, written out independently of stage_models.cc.
struct Row {
  std::string key;
  int32_t win_rate_bp;
  std::vector<std::string> criteria;  // texts, all required
  std::string letter;
  v1::LeadRole lead;
  bool credit_check, contract_signed, closes_on_collection, closes_won;
};

// The parts of a spec table, in order, as one table.
std::vector<Row> Rows(std::vector<std::vector<Row>> parts) {
  std::vector<Row> all;
  for (std::vector<Row>& p : parts) {
    all.insert(all.end(), p.begin(), p.end());
  }
  return all;
}

std::vector<Row> BuyingCycleSpecRows1() {
  return {
      {"INTEREST",
       500,
       {"the initiator makes a verbal or written purchase request"},
       "",
       v1::LEAD_ROLE_UNSPECIFIED,
       false,
       false,
       false,
       false},
      {"CONSIDERATION",
       1000,
       {"the decision maker agrees to buy, sets timing and budget, and asks "
        "for a purchase plan"},
       "",
       v1::LEAD_ROLE_UNSPECIFIED,
       false,
       false,
       false,
       false},
      {"DESIGN",
       2000,
       {"the designer finishes the purchase plan and specs and invites "
        "suppliers"},
       "",
       v1::LEAD_ROLE_UNSPECIFIED,
       false,
       false,
       false,
       false}};
}

std::vector<Row> BuyingCycleSpecRows2() {
  return {
      {"COMPARISON",
       3000,
       {"suppliers have submitted proposals and quotes; negotiation begins"},
       "",
       v1::LEAD_ROLE_UNSPECIFIED,
       false,
       false,
       false,
       false},
      {"COMMITMENT",
       5000,
       {"the customer picks a supplier, negotiates and signs"},
       "",
       v1::LEAD_ROLE_UNSPECIFIED,
       true,
       false,
       false,
       false},
      {"USAGE",
       8000,
       {"the customer pays, we deliver and commission"},
       "",
       v1::LEAD_ROLE_UNSPECIFIED,
       false,
       true,
       true,
       false}};
}

const std::vector<Row>& BuyingCycleSpec() {
  static const auto* rows = new std::vector<Row>(
      Rows({BuyingCycleSpecRows1(), BuyingCycleSpecRows2()}));
  return *rows;
}

std::vector<Row> ProjectSalesSpecRows1() {
  return {{"PLANNING_AND_CALL",
           1000,
           {"meets our target-customer criteria",
            "counterpart is at least a handler",
            "time and place of a visit confirmed"},
           "G",
           v1::LEAD_ROLE_ACCOUNT_MANAGER,
           false,
           false,
           false,
           false},
          {"VISIT",
           2000,
           {"a qualified handler found", "our technical strengths presented",
            "relationship with the handler started"},
           "F",
           v1::LEAD_ROLE_ACCOUNT_MANAGER,
           false,
           false,
           false,
           false},
          {"PRELIMINARY_PROPOSAL",
           2500,
           {"targeted interviews with the handler's department",
            "the handler is satisfied with the proposal",
            "the relationship deepened and widened to others"},
           "E",
           v1::LEAD_ROLE_PRESALES,
           false,
           false,
           false,
           false},
          {"TECHNICAL_EXCHANGE",
           3000,
           {"participating roles, departments and their concerns identified "
            "(above all the project lead)",
            "pre-sales engineers engaged the customer's needs",
            "the customer's view of the demo assessed"},
           "D",
           v1::LEAD_ROLE_PRESALES,
           false,
           false,
           false,
           false}};
}

std::vector<Row> ProjectSalesSpecRows2() {
  return {{"SOLUTION_CONFIRMED",
           5000,
           {"needs research done", "formal solution agreed"},
           "C",
           v1::LEAD_ROLE_PRESALES,
           false,
           false,
           false,
           false},
          {"EVALUATION",
           7500,
           {"we are the preferred supplier after bid evaluation"},
           "B",
           v1::LEAD_ROLE_EXECUTIVE,
           true,
           false,
           false,
           false},
          {"NEGOTIATION",
           9000,
           {"commercial terms agreed"},
           "A",
           v1::LEAD_ROLE_COMMERCIAL,
           false,
           false,
           false,
           false},
          {"SIGNED",
           10000,
           {"contract signed"},
           "S",
           v1::LEAD_ROLE_EXECUTIVE,
           false,
           true,
           false,
           true}};
}

const std::vector<Row>& ProjectSalesSpec() {
  static const auto* rows = new std::vector<Row>(
      Rows({ProjectSalesSpecRows1(), ProjectSalesSpecRows2()}));
  return *rows;
}

void ExpectMatchesSpec(const v1::StageModel& m, const std::vector<Row>& spec) {
  ASSERT_EQ(m.stages_size(), static_cast<int>(spec.size())) << m.id();
  EXPECT_TRUE(m.built_in());
  EXPECT_FALSE(m.has_out_of_funnel_threshold() &&
               m.out_of_funnel_threshold().units_minor() != 0);
  for (size_t i = 0; i < spec.size(); ++i) {
    const v1::Stage& s = m.stages(static_cast<int>(i));
    const Row& r = spec[i];
    SCOPED_TRACE(r.key);
    EXPECT_EQ(s.key(), r.key);
    EXPECT_FALSE(s.name().empty());
    EXPECT_FALSE(s.buying_step().empty());
    EXPECT_EQ(s.win_rate_bp(), r.win_rate_bp);
    ASSERT_EQ(s.exit_criteria_size(), static_cast<int>(r.criteria.size()));
    for (size_t j = 0; j < r.criteria.size(); ++j) {
      EXPECT_EQ(s.exit_criteria(static_cast<int>(j)).text(), r.criteria[j]);
      EXPECT_TRUE(s.exit_criteria(static_cast<int>(j)).required());
    }
    EXPECT_EQ(s.letter(), r.letter);
    EXPECT_EQ(s.our_lead_role(), r.lead);
    EXPECT_EQ(s.requires_credit_check(), r.credit_check);
    EXPECT_EQ(s.contract_signed(), r.contract_signed);
    EXPECT_EQ(s.closes_on_collection(), r.closes_on_collection);
    EXPECT_EQ(s.closes_won(), r.closes_won);
  }
}

TEST(StageModelsTest, BuiltInsMatchSpecFieldByField) {
  const std::vector<v1::StageModel> models = BuiltInModels();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].id(), "buying-cycle-6");
  EXPECT_EQ(models[1].id(), "project-sales-8");
  ExpectMatchesSpec(models[0], BuyingCycleSpec());
  ExpectMatchesSpec(models[1], ProjectSalesSpec());
  for (const v1::StageModel& m : models) {
    std::vector<std::string> v;
    ValidateModel(m, "EUR", &v);
    EXPECT_THAT(v, IsEmpty()) << m.id();
    EXPECT_EQ(m.cadence().SerializeAsString(),
              DefaultCadence().SerializeAsString());
  }
}

TEST(StageModelsTest, IsBuiltInId) {
  EXPECT_TRUE(IsBuiltInId("buying-cycle-6"));
  EXPECT_TRUE(IsBuiltInId("project-sales-8"));
  EXPECT_FALSE(IsBuiltInId("stm_1"));
  EXPECT_FALSE(IsBuiltInId(""));
}

TEST(StageModelsTest, DefaultCadenceIsSpec37) {
  const v1::FollowUpCadence c = DefaultCadence();
  ASSERT_EQ(c.steps_size(), 3);
  EXPECT_EQ(c.steps(0).key(), "first_call");
  EXPECT_EQ(c.steps(0).kind(), v1::ACTIVITY_KIND_CALL);
  EXPECT_EQ(c.steps(0).min_hours(), 0);
  EXPECT_EQ(c.steps(0).max_hours(), 24);
  EXPECT_EQ(c.steps(1).key(), "send_materials");
  EXPECT_EQ(c.steps(1).kind(), v1::ACTIVITY_KIND_EMAIL);
  EXPECT_EQ(c.steps(1).min_hours(), 72);
  EXPECT_EQ(c.steps(1).max_hours(), 120);
  EXPECT_EQ(c.steps(2).key(), "second_call");
  EXPECT_EQ(c.steps(2).kind(), v1::ACTIVITY_KIND_CALL);
  EXPECT_EQ(c.steps(2).min_hours(), 168);
  EXPECT_EQ(c.steps(2).max_hours(), 240);
}

std::vector<std::string> Violations(const v1::StageModel& m) {
  std::vector<std::string> v;
  ValidateModel(m, "EUR", &v);
  return v;
}

TEST(StageModelsTest, ValidateNamesEveryViolatedField) {
  v1::StageModel m;
  EXPECT_THAT(Violations(m),
              ElementsAre("model.name: required",
                          "model.stages: at least one stage required"));
  m = BuiltInModels()[0];
  m.set_name(std::string(201, 'x'));
  m.mutable_stages(0)->set_key("interest");
  m.mutable_stages(1)->set_key("DESIGN");
  m.mutable_stages(2)->set_win_rate_bp(10001);
  m.mutable_stages(3)->mutable_exit_criteria(0)->set_key("Bad-Key");
  m.mutable_stages(3)->mutable_exit_criteria(0)->set_text(" ");
  m.mutable_stages(4)->set_closes_won(true);
  m.mutable_stages(5)->set_stall_limit_days(3651);
  m.mutable_stages(5)->set_our_lead_role(static_cast<v1::LeadRole>(99));
  m.mutable_cadence()->mutable_steps(1)->set_key("first_call");
  m.mutable_cadence()->mutable_steps(2)->set_min_hours(500);
  m.mutable_cadence()->mutable_steps(0)->set_kind(
      v1::ACTIVITY_KIND_UNSPECIFIED);
  *m.mutable_out_of_funnel_threshold() = money::Make(100, "USD");
  const std::vector<std::string> v = Violations(m);
  const std::string all = ::testing::PrintToString(v);
  for (const char* want :
       {"model.name: at most 200 characters",
        "model.stages[0].key: must match [A-Z0-9_]{1,64}",
        "model.stages[2].key: duplicate stage key DESIGN",
        "model.stages[2].win_rate_bp: must be 0..10000, got 10001",
        "model.stages[3].exit_criteria[0].key: must match [a-z0-9_]{1,64}",
        "model.stages[3].exit_criteria[0].text: required",
        "model.stages[4].closes_won: only the last stage may close WON",
        "model.stages[5].stall_limit_days: must be 0..3650, got 3651",
        "model.stages[5].our_lead_role: unknown value 99",
        "model.cadence.steps[0].kind: required",
        "model.cadence.steps[1].key: duplicate step key first_call",
        "model.cadence.steps[2].min_hours: must be 0..max_hours, got 500",
        "model.out_of_funnel_threshold.currency: must be EUR"}) {
    EXPECT_THAT(all, HasSubstr(want));
  }
  EXPECT_EQ(v.size(), 13u) << all;
}

TEST(StageModelsTest, ThresholdInInstanceCurrencyIsAccepted) {
  v1::StageModel m = BuiltInModels()[0];
  *m.mutable_out_of_funnel_threshold() = money::Make(500000, "EUR");
  EXPECT_THAT(Violations(m), IsEmpty());
  *m.mutable_out_of_funnel_threshold() = money::Make(-1, "EUR");
  EXPECT_THAT(Violations(m),
              ElementsAre("model.out_of_funnel_threshold.units_minor: must be "
                          ">= 0"));
}

TEST(StageModelsTest, StageKeysAndOrderAreFixed) {
  const v1::StageModel a = BuiltInModels()[0];
  v1::StageModel b = a;
  b.mutable_stages(0)->set_win_rate_bp(700);
  EXPECT_TRUE(CheckSameStageKeys(a, b).ok());
  b.mutable_stages()->SwapElements(1, 2);
  const absl::Status s = CheckSameStageKeys(a, b);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("model.stages[1].key: stage keys and their order are "
                        "fixed (CONSIDERATION expected, got DESIGN)"));
  b = a;
  b.add_stages()->set_key("EXTRA");
  EXPECT_THAT(std::string(CheckSameStageKeys(a, b).message()),
              HasSubstr("(none) expected, got EXTRA"));
}

TEST(StageModelsTest, AnUpdateIsMergedByItsMaskThenValidated) {
  const v1::StageModel stored = BuiltInModels()[0];
  v1::UpdateStageModelRequest req;
  req.mutable_model()->set_id(stored.id());
  req.mutable_model()->set_name("  Renamed ");
  // Implied mask: the name only; stages, cadence and history kept.
  absl::StatusOr<v1::StageModel> m = MergeModelUpdate(stored, req, "EUR");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->name(), "Renamed");
  EXPECT_EQ(m->stages_size(), stored.stages_size());
  EXPECT_EQ(m->built_in(), stored.built_in());
  // Named stages left empty: the merged model has none.
  req.mutable_update_mask()->add_paths("stages");
  EXPECT_THAT(
      std::string(MergeModelUpdate(stored, req, "EUR").status().message()),
      HasSubstr("model.stages"));
  // Stages in another order: the keys rule still holds.
  *req.mutable_model()->mutable_stages() = stored.stages();
  req.mutable_model()->mutable_stages()->SwapElements(1, 2);
  EXPECT_EQ(MergeModelUpdate(stored, req, "EUR").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(StageModelsTest, WinRateChangesListOnlyChangedStages) {
  const v1::StageModel a = BuiltInModels()[0];
  v1::StageModel b = a;
  b.mutable_stages(1)->set_win_rate_bp(1500);
  b.mutable_stages(4)->set_win_rate_bp(4000);
  b.set_name("renamed");
  const auto changes = WinRateChanges(a, b, 123, "alice", 7);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].stage_key(), "CONSIDERATION");
  EXPECT_EQ(changes[0].from_bp(), 1000);
  EXPECT_EQ(changes[0].to_bp(), 1500);
  EXPECT_EQ(changes[0].effective_micros(), 123);
  EXPECT_EQ(changes[0].changed_by(), "alice");
  EXPECT_EQ(changes[0].model_version(), 7);
  EXPECT_EQ(changes[1].stage_key(), "COMMITMENT");
  EXPECT_EQ(changes[1].to_bp(), 4000);
  EXPECT_THAT(WinRateChanges(a, a, 1, "x", 2), IsEmpty());
}

TEST(StageModelsTest, StageIndexAndStallLimit) {
  v1::StageModel m = BuiltInModels()[1];
  EXPECT_EQ(StageIndex(m, "PLANNING_AND_CALL"), 0);
  EXPECT_EQ(StageIndex(m, "SIGNED"), 7);
  EXPECT_EQ(StageIndex(m, "NOPE"), -1);
  EXPECT_EQ(StallLimitDays(m, 2), 45);
  m.set_stall_limit_days(30);
  EXPECT_EQ(StallLimitDays(m, 2), 30);
  m.mutable_stages(2)->set_stall_limit_days(10);
  EXPECT_EQ(StallLimitDays(m, 2), 10);
  EXPECT_EQ(StallLimitDays(m, 3), 30);
}

}  // namespace
}  // namespace salesops::pipeline
