// The opportunity transitions (opportunity_rules.h) without a store or a
// server: defaults, field rules, fixed fields, must-be-OPEN, exit criteria,
// overrides, credit, closing and reopening, and the history they record.

#include "services/pipeline/opportunity_rules.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/money/money.h"
#include "common/status/errors.h"
#include "common/testing/builders.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/pipeline/stage_models.h"

namespace salesops::pipeline {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const absl::Time kT0 = absl::FromUnixSeconds(1'767'225'600);  // 2026-01-01Z
const int64_t kT0Micros = absl::ToUnixMicros(kT0);
constexpr int64_t kHour = int64_t{3600} * 1000 * 1000;

const Principal kAdmin{"admin", Role::kAdmin, ""};
const Principal kManager{"manager-a", Role::kManager, "a"};
const Principal kRep{"rep-1", Role::kRep, "r1"};

using ::salesops::testing::Day;
using ::salesops::testing::Eur;

google::protobuf::FieldMask Mask(std::vector<std::string> paths) {
  google::protobuf::FieldMask m;
  for (std::string& p : paths) {
    m.add_paths(std::move(p));
  }
  return m;
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

v1::StageModel WithThreshold(int64_t minor) {
  v1::StageModel m = BuiltIn(kBuyingCycle6);
  *m.mutable_out_of_funnel_threshold() = Eur(minor);
  return m;
}

v1::Opportunity Draft(int64_t amount_minor = 5'000'000) {
  v1::Opportunity o;
  o.set_account_id("acc_1");
  o.set_owner_node_id("r1");
  o.set_stage_model_id(kBuyingCycle6);
  o.set_name("Deal");
  *o.mutable_amount() = Eur(amount_minor);
  *o.mutable_expected_close_date() = Day(2026, 6, 30);
  return o;
}

// A stored opportunity of buying-cycle-6 as CreateOpportunity leaves it.
v1::Opportunity Created(const v1::StageModel& model = BuiltIn(kBuyingCycle6),
                        int64_t amount_minor = 5'000'000) {
  v1::Opportunity d = Draft(amount_minor);
  d.set_stage_model_id(model.id());
  absl::StatusOr<OpportunityTransition> t =
      CreateOpportunity(d, model, "opp_1", "admin", kT0);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? t->opportunity : v1::Opportunity();
}

v1::Opportunity Closed(v1::OpportunityStatus outcome) {
  return Close(Created(), BuiltIn(kBuyingCycle6), outcome, "gone", kT0Micros,
               "admin", kT0)
      .opportunity;
}

void Check(v1::Opportunity* o, const std::string& stage,
           const std::string& criterion) {
  ASSERT_TRUE(SetCriterion(BuiltIn(o->stage_model_id()), stage, criterion, true,
                           "admin", kT0Micros, o)
                  .ok());
}

v1::UpdateOpportunityRequest UpdateOf(const v1::Opportunity& o) {
  v1::UpdateOpportunityRequest req;
  *req.mutable_opportunity() = o;
  return req;
}

v1::MoveStageRequest MoveTo(const std::string& stage,
                            const std::string& override_reason = "") {
  v1::MoveStageRequest req;
  req.set_opportunity_id("opp_1");
  req.set_to_stage_key(stage);
  req.set_override_reason(override_reason);
  return req;
}

// ---------------------------------------------------------------------------
// Create

TEST(OpportunityRulesTest, CreateFillsDefaultsHistoryAndTheFirstFollowUp) {
  v1::Opportunity d = Draft();
  d.set_name("  Plant automation  ");
  d.set_status(v1::OPPORTUNITY_STATUS_WON);
  d.set_credit_review_pending(true);
  absl::StatusOr<OpportunityTransition> t =
      CreateOpportunity(d, BuiltIn(kBuyingCycle6), "opp_1", "admin", kT0);
  ASSERT_TRUE(t.ok()) << t.status();
  const v1::Opportunity& o = t->opportunity;
  EXPECT_EQ(o.id(), "opp_1");
  EXPECT_EQ(o.name(), "Plant automation");
  EXPECT_EQ(o.stage_key(), "INTEREST");
  EXPECT_EQ(o.status(), v1::OPPORTUNITY_STATUS_OPEN);
  EXPECT_FALSE(o.credit_review_pending());
  EXPECT_EQ(o.version(), 1);
  EXPECT_EQ(o.history_length(), 1);
  EXPECT_EQ(o.created_micros(), kT0Micros);
  EXPECT_EQ(o.stage_entered_micros(), kT0Micros);
  EXPECT_EQ(o.updated_micros(), kT0Micros);
  EXPECT_FALSE(o.out_of_funnel());
  ASSERT_EQ(t->history.size(), 1u);
  EXPECT_EQ(t->history[0].kind(), v1::CHANGE_KIND_CREATED);
  EXPECT_EQ(t->history[0].seq(), 1);
  EXPECT_EQ(t->history[0].to(), "INTEREST");
  EXPECT_EQ(t->history[0].by(), "admin");
  EXPECT_EQ(t->history[0].time_micros(), kT0Micros);
  EXPECT_EQ(t->history[0].opportunity_version(), 1);
  ASSERT_TRUE(t->first_follow_up.has_value());
  EXPECT_EQ(t->first_follow_up->step_key(), "first_call");
  EXPECT_EQ(t->first_follow_up->due_micros(), kT0Micros + 24 * kHour);
}

TEST(OpportunityRulesTest, DraftDefaultsAndNamesEveryViolatedField) {
  v1::CreateOpportunityRequest req;
  *req.mutable_opportunity() = Draft();
  req.mutable_opportunity()->clear_owner_node_id();
  req.mutable_opportunity()->clear_stage_model_id();
  absl::StatusOr<v1::Opportunity> mine = DraftOpportunity(req, kRep, "EUR");
  ASSERT_TRUE(mine.ok()) << mine.status();
  EXPECT_EQ(mine->owner_node_id(), "r1");
  EXPECT_EQ(mine->stage_model_id(), kBuyingCycle6);
  EXPECT_EQ(DraftOpportunity(req, kAdmin, "EUR").status().code(),
            absl::StatusCode::kInvalidArgument);

  v1::Opportunity* o = req.mutable_opportunity();
  o->set_name("");
  *o->mutable_amount() = Eur(0);
  o->clear_expected_close_date();
  o->clear_account_id();
  o->add_competitors();
  const absl::Status s = DraftOpportunity(req, kRep, "EUR").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  for (const char* field :
       {"opportunity.name", "opportunity.amount",
        "opportunity.expected_close_date", "opportunity.account_id",
        "opportunity.competitors[0].name"}) {
    EXPECT_THAT(s.message(), HasSubstr(field));
  }
}

TEST(OpportunityRulesTest, FieldRules) {
  struct Case {
    std::string what;
    std::function<void(v1::Opportunity*)> change;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"long name",
       [](v1::Opportunity* o) { o->set_name(std::string(201, 'x')); },
       "opportunity.name"},
      {"negative amount",
       [](v1::Opportunity* o) { *o->mutable_amount() = Eur(-5); },
       "opportunity.amount"},
      {"withdrawn currency",
       [](v1::Opportunity* o) { o->mutable_amount()->set_currency("DEM"); },
       "opportunity.amount.currency: DEM is not an active ISO 4217 currency"},
      {"not a code",
       [](v1::Opportunity* o) { o->mutable_amount()->set_currency("eur"); },
       "opportunity.amount.currency: must be 3 uppercase letters"},
      {"no amount", [](v1::Opportunity* o) { o->clear_amount(); },
       "opportunity.amount"},
      {"invalid close date",
       [](v1::Opportunity* o) {
         *o->mutable_expected_close_date() = Day(2026, 2, 30);
       },
       "opportunity.expected_close_date"},
      {"long external id",
       [](v1::Opportunity* o) { o->set_external_id(std::string(129, 'x')); },
       "opportunity.external_id"},
      {"unknown channel",
       [](v1::Opportunity* o) {
         o->set_source_channel(static_cast<v1::SourceChannel>(99));
       },
       "opportunity.source_channel"},
      {"bad next step due",
       [](v1::Opportunity* o) {
         *o->mutable_next_step()->mutable_due() = Day(2026, 13, 1);
       },
       "opportunity.next_step.due"},
  };
  for (const Case& c : cases) {
    v1::Opportunity o = Draft();
    c.change(&o);
    Violations v;
    ValidateOpportunityFields(o, "EUR", v);
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_THAT(v.status().message(), HasSubstr(c.needle)) << c.what;
  }
  Violations ok;
  ValidateOpportunityFields(Draft(), "EUR", ok);
  EXPECT_TRUE(ok.empty());
}

TEST(OpportunityRulesTest, CreateRefusesUnknownModelsStagesAndWonStages) {
  const auto code = [](v1::Opportunity d,
                       const std::optional<v1::StageModel>& model) {
    return CreateOpportunity(d, model, "opp_1", "admin", kT0).status();
  };
  EXPECT_THAT(code(Draft(), std::nullopt).message(),
              HasSubstr("opportunity.stage_model_id"));
  v1::Opportunity nowhere = Draft();
  nowhere.set_stage_key("NOWHERE");
  EXPECT_THAT(code(nowhere, BuiltIn(kBuyingCycle6)).message(),
              HasSubstr("opportunity.stage_key"));
  v1::Opportunity signed_ = Draft();
  signed_.set_stage_model_id(kProjectSales8);
  signed_.set_stage_key("SIGNED");
  const absl::Status s = code(signed_, BuiltIn(kProjectSales8));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("WON"));
}

TEST(OpportunityRulesTest, BelowTheOutOfFunnelThresholdIsRefused) {
  const v1::StageModel model = WithThreshold(1'000'000);
  const absl::Status s =
      CreateOpportunity(Draft(999'999), model, "opp_1", "admin", kT0).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("opportunity.amount"));
  EXPECT_THAT(s.message(), HasSubstr("out-of-funnel"));
  EXPECT_EQ(ReasonOf(s), "BELOW_FUNNEL_THRESHOLD");
  EXPECT_TRUE(
      CreateOpportunity(Draft(1'000'000), model, "opp_1", "admin", kT0).ok());
  EXPECT_TRUE(CreateOpportunity(Draft(100), BuiltIn(kBuyingCycle6), "opp_1",
                                "admin", kT0)
                  .ok());
  // Lowering an amount below the threshold is refused as well.
  v1::Opportunity lower = Created(model, 1'000'000);
  *lower.mutable_amount() = Eur(500'000);
  EXPECT_EQ(UpdateOpportunity(Created(model, 1'000'000), UpdateOf(lower), model,
                              kAdmin, kT0, std::nullopt)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

// Issue 19 (D40): a deal's amount is in any active ISO 4217 currency, in
// minor units of that currency's ICU exponent (JPY 0 decimals, KWD 3).
TEST(OpportunityRulesTest, AmountsInAnyActiveCurrencyAreAccepted) {
  struct Case {
    const char* currency;
    int64_t minor;
    int exponent;
    const char* text;
  };
  for (const Case& c : {Case{"JPY", 1'234'567, 0, "1234567"},
                        Case{"KWD", 1'234'567, 3, "1234.567"},
                        Case{"USD", 1'234'567, 2, "12345.67"}}) {
    v1::Opportunity d = Draft();
    *d.mutable_amount() = ::salesops::money::Make(c.minor, c.currency);
    Violations v;
    ValidateOpportunityFields(d, "EUR", v);
    EXPECT_TRUE(v.empty()) << c.currency << ": " << v.status();
    absl::StatusOr<OpportunityTransition> created =
        CreateOpportunity(d, BuiltIn(kBuyingCycle6), "opp_1", "admin", kT0);
    ASSERT_TRUE(created.ok()) << c.currency << ": " << created.status();
    EXPECT_EQ(created->opportunity.amount().currency(), c.currency);
    EXPECT_EQ(created->opportunity.amount().units_minor(), c.minor);
    EXPECT_EQ(::salesops::money::CurrencyExponent(c.currency), c.exponent);
    EXPECT_EQ(::salesops::money::Format(c.minor, c.exponent), c.text);
  }
}

// The threshold is in the reporting currency and pipeline has no rates: an
// amount in another currency is never "below" it, one in its currency is.
TEST(OpportunityRulesTest, TheThresholdComparesOnlyAmountsInItsCurrency) {
  const v1::StageModel model = WithThreshold(1'000'000);  // 10000.00 EUR
  v1::Opportunity jpy = Draft();
  *jpy.mutable_amount() = ::salesops::money::Make(500, "JPY");
  EXPECT_FALSE(BelowFunnelThreshold(model, jpy.amount()));
  absl::StatusOr<OpportunityTransition> created =
      CreateOpportunity(jpy, model, "opp_1", "admin", kT0);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_FALSE(created->opportunity.out_of_funnel());
  EXPECT_TRUE(BelowFunnelThreshold(model, Eur(999'999)));
  EXPECT_FALSE(BelowFunnelThreshold(model, Eur(1'000'000)));
  EXPECT_EQ(CreateOpportunity(Draft(999'999), model, "opp_1", "admin", kT0)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(OpportunityRulesTest, ARaisedThresholdMarksOutOfFunnelOnTheNextChange) {
  const v1::Opportunity stored = Created(WithThreshold(1'000'000), 1'500'000);
  const v1::StageModel raised = WithThreshold(2'000'000);
  v1::SetExitCriterionRequest check;
  check.set_stage_key("INTEREST");
  check.set_criterion_key("purchase_request");
  check.set_checked(true);
  absl::StatusOr<OpportunityTransition> checked =
      SetExitCriterion(stored, check, raised, kAdmin, kT0);
  ASSERT_TRUE(checked.ok()) << checked.status();
  EXPECT_TRUE(checked->opportunity.out_of_funnel());
  // It stays changeable while its amount stays; a higher one clears the flag.
  v1::Opportunity edit = checked->opportunity;
  edit.set_name("Renamed");
  absl::StatusOr<OpportunityTransition> renamed = UpdateOpportunity(
      checked->opportunity, UpdateOf(edit), raised, kAdmin, kT0, std::nullopt);
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  EXPECT_TRUE(renamed->opportunity.out_of_funnel());
  *edit.mutable_amount() = Eur(2'500'000);
  absl::StatusOr<OpportunityTransition> raised_amount = UpdateOpportunity(
      checked->opportunity, UpdateOf(edit), raised, kAdmin, kT0, std::nullopt);
  ASSERT_TRUE(raised_amount.ok()) << raised_amount.status();
  EXPECT_FALSE(raised_amount->opportunity.out_of_funnel());
}

// ---------------------------------------------------------------------------
// Update

TEST(OpportunityRulesTest, AmountAndCloseDateChangesAreHistory) {
  const v1::Opportunity o = Created();
  v1::Opportunity edit = o;
  *edit.mutable_amount() = Eur(7'500'000);
  *edit.mutable_expected_close_date() = Day(2026, 9, 15);
  edit.set_name(" Bigger deal ");
  const absl::Time later = kT0 + absl::Minutes(10);
  absl::StatusOr<OpportunityTransition> t = UpdateOpportunity(
      o, UpdateOf(edit), BuiltIn(kBuyingCycle6), kRep, later, std::nullopt);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->opportunity.version(), o.version() + 1);
  EXPECT_EQ(t->opportunity.name(), "Bigger deal");
  EXPECT_EQ(t->opportunity.history_length(), 3);
  EXPECT_EQ(t->opportunity.updated_micros(), absl::ToUnixMicros(later));
  ASSERT_EQ(t->history.size(), 2u);
  EXPECT_EQ(t->history[0].kind(), v1::CHANGE_KIND_AMOUNT);
  EXPECT_EQ(t->history[0].from(), "5000000");
  EXPECT_EQ(t->history[0].to(), "7500000");
  EXPECT_EQ(t->history[0].by(), "rep-1");
  EXPECT_EQ(t->history[0].seq(), 2);
  EXPECT_EQ(t->history[1].kind(), v1::CHANGE_KIND_CLOSE_DATE);
  EXPECT_EQ(t->history[1].from(), "2026-06-30");
  EXPECT_EQ(t->history[1].to(), "2026-09-15");
  EXPECT_EQ(t->history[1].opportunity_version(), t->opportunity.version());

  // A change of neither adds no history.
  edit = o;
  edit.set_name("Renamed only");
  t = UpdateOpportunity(o, UpdateOf(edit), BuiltIn(kBuyingCycle6), kRep, later,
                        std::nullopt);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->history, IsEmpty());
}

TEST(OpportunityRulesTest, AccountModelAndStageAreFixed) {
  const v1::Opportunity o = Created();
  v1::Opportunity edit = o;
  edit.set_account_id("acc_2");
  edit.set_stage_model_id(kProjectSales8);
  edit.set_stage_key("DESIGN");
  const absl::Status s =
      UpdateOpportunity(o, UpdateOf(edit), BuiltIn(kBuyingCycle6), kAdmin, kT0,
                        std::nullopt)
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("opportunity.account_id"));
  EXPECT_THAT(s.message(), HasSubstr("opportunity.stage_model_id"));
  EXPECT_THAT(s.message(), HasSubstr("opportunity.stage_key"));
  v1::UpdateOpportunityRequest no_id;
  EXPECT_THAT(ValidateUpdate(no_id, "EUR").message(),
              HasSubstr("opportunity.id"));
}

TEST(OpportunityRulesTest, AnUpdateIsMergedByItsMaskBeforeTheRules) {
  const v1::Opportunity o = Created();
  v1::UpdateOpportunityRequest req;
  req.mutable_opportunity()->set_id(o.id());
  req.mutable_opportunity()->set_name("Renamed");
  req.mutable_opportunity()->mutable_next_step()->set_text("call");
  // Implied mask: name and next step; amount, date and owner kept.
  absl::StatusOr<v1::UpdateOpportunityRequest> merged =
      MergeUpdate(o, req, "EUR");
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->opportunity().name(), "Renamed");
  EXPECT_EQ(merged->opportunity().amount().units_minor(),
            o.amount().units_minor());
  EXPECT_EQ(merged->opportunity().owner_node_id(), o.owner_node_id());
  // A nested path changes the sub-field only.
  *req.mutable_update_mask() = Mask({"amount.units_minor"});
  req.mutable_opportunity()->mutable_amount()->set_units_minor(42);
  merged = MergeUpdate(o, req, "EUR");
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->opportunity().amount().units_minor(), 42);
  EXPECT_EQ(merged->opportunity().amount().currency(), "EUR");
  EXPECT_EQ(merged->opportunity().name(), o.name());
  // The merged opportunity is validated: a named amount left empty.
  *req.mutable_update_mask() = Mask({"amount"});
  req.mutable_opportunity()->clear_amount();
  EXPECT_THAT(MergeUpdate(o, req, "EUR").status().message(),
              HasSubstr("opportunity.amount"));
  // An owner cleared by an explicit path is refused; under "*" it is kept.
  *req.mutable_update_mask() = Mask({"owner_node_id"});
  EXPECT_THAT(MergeUpdate(o, req, "EUR").status().message(),
              HasSubstr("opportunity.owner_node_id: required"));
  // Fixed fields: named in the mask, or sent with another value.
  *req.mutable_update_mask() = Mask({"stage_key"});
  EXPECT_THAT(ValidateUpdate(req, "EUR").message(),
              HasSubstr("update_mask.paths[0]: 'stage_key' is immutable: "
                        "change it with MoveStage"));
  req.clear_update_mask();
  req.mutable_opportunity()->set_stage_model_id("project-sales-8");
  EXPECT_THAT(MergeUpdate(o, req, "EUR").status().message(),
              HasSubstr("opportunity.stage_model_id: cannot change"));
}

TEST(OpportunityRulesTest, ReassignmentByManagersIsHistory) {
  const v1::Opportunity o = Created();
  v1::Opportunity edit = o;
  edit.set_owner_node_id("r2");
  EXPECT_EQ(IsReassignment(kRep, o, UpdateOf(edit)).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(IsReassignment(kManager, o, UpdateOf(edit)).value_or(false), true);
  EXPECT_EQ(IsReassignment(kRep, o, UpdateOf(o)).value_or(true), false);

  absl::StatusOr<OpportunityTransition> t = UpdateOpportunity(
      o, UpdateOf(edit), BuiltIn(kBuyingCycle6), kManager, kT0, "r1");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->opportunity.owner_node_id(), "r2");
  ASSERT_EQ(t->history.size(), 1u);
  EXPECT_EQ(t->history[0].kind(), v1::CHANGE_KIND_OWNER);
  EXPECT_EQ(t->history[0].from(), "r1");
  EXPECT_EQ(t->history[0].to(), "r2");
  // The owner changed while the new one was checked.
  EXPECT_EQ(UpdateOpportunity(o, UpdateOf(edit), BuiltIn(kBuyingCycle6),
                              kManager, kT0, "r3")
                .status()
                .code(),
            absl::StatusCode::kAborted);
}

TEST(OpportunityRulesTest, ClosedOpportunitiesCannotBeChanged) {
  const v1::Opportunity lost = Closed(v1::OPPORTUNITY_STATUS_LOST);
  v1::Opportunity edit = lost;
  edit.set_name("Too late");
  const absl::Status s =
      UpdateOpportunity(lost, UpdateOf(edit), BuiltIn(kBuyingCycle6), kAdmin,
                        kT0, std::nullopt)
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("LOST"));
  EXPECT_EQ(ReasonOf(s), "NOT_OPEN");
  v1::SetExitCriterionRequest check;
  check.set_stage_key("INTEREST");
  check.set_criterion_key("purchase_request");
  EXPECT_EQ(SetExitCriterion(lost, check, BuiltIn(kBuyingCycle6), kAdmin, kT0)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(MoveStage(lost, MoveTo("CONSIDERATION", "forced"),
                      BuiltIn(kBuyingCycle6), kAdmin, kT0, std::nullopt, 0)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

// ---------------------------------------------------------------------------
// MoveStage

TEST(OpportunityRulesTest, ForwardNeedsTheRequiredExitCriteria) {
  const v1::StageModel model = BuiltIn(kBuyingCycle6);
  v1::Opportunity o = Created();
  absl::Status s = CheckMove(model, o, MoveTo("CONSIDERATION")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("to_stage_key"));
  EXPECT_THAT(s.message(), HasSubstr("INTEREST/purchase_request"));
  EXPECT_EQ(ReasonOf(s), "EXIT_CRITERIA_UNMET");
  // A skip names the criteria of every stage left behind, not the target's.
  s = CheckMove(model, o, MoveTo("COMPARISON")).status();
  EXPECT_THAT(s.message(), HasSubstr("CONSIDERATION/decision_to_buy"));
  EXPECT_THAT(s.message(), HasSubstr("DESIGN/plan_and_specs_ready"));
  EXPECT_THAT(s.message(), Not(HasSubstr("COMPARISON/")));
  Check(&o, "INTEREST", "purchase_request");
  s = CheckMove(model, o, MoveTo("COMPARISON")).status();
  EXPECT_THAT(s.message(), Not(HasSubstr("INTEREST/purchase_request")));
  absl::StatusOr<OpportunityTransition> t =
      MoveStage(o, MoveTo("CONSIDERATION"), model, kRep, kT0 + absl::Hours(3),
                std::nullopt, 0);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->opportunity.stage_key(), "CONSIDERATION");
  EXPECT_EQ(t->opportunity.version(), o.version() + 1);
  EXPECT_EQ(t->opportunity.stage_entered_micros(),
            absl::ToUnixMicros(kT0 + absl::Hours(3)));
  ASSERT_EQ(t->history.size(), 1u);
  EXPECT_EQ(t->history[0].kind(), v1::CHANGE_KIND_STAGE_FORWARD);
  EXPECT_EQ(t->history[0].from(), "INTEREST");
  EXPECT_EQ(t->history[0].by(), "rep-1");
  EXPECT_FALSE(t->history[0].override());
  // Backward is always allowed.
  t = MoveStage(t->opportunity, MoveTo("INTEREST"), model, kRep, kT0,
                std::nullopt, 0);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->history[0].kind(), v1::CHANGE_KIND_STAGE_BACKWARD);
}

TEST(OpportunityRulesTest, OnlyManagersAndAdminsOverride) {
  EXPECT_EQ(CheckForcing(kRep, MoveTo("DESIGN", "said yes")).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(CheckForcing(kManager, MoveTo("DESIGN", "said yes")).ok());
  EXPECT_TRUE(CheckForcing(kRep, MoveTo("DESIGN", "  ")).ok());
  const v1::StageModel model = BuiltIn(kBuyingCycle6);
  absl::StatusOr<OpportunityTransition> t =
      MoveStage(Created(), MoveTo("DESIGN", "  budget confirmed  "), model,
                kManager, kT0, std::nullopt, 0);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->history.size(), 1u);
  EXPECT_TRUE(t->history[0].override());
  EXPECT_EQ(t->history[0].reason(), "budget confirmed");
  EXPECT_THAT(t->history[0].overridden_criteria(),
              ElementsAre("INTEREST/purchase_request",
                          "CONSIDERATION/decision_to_buy"));
  // A reason with nothing to override is not an override.
  v1::Opportunity ready = t->opportunity;
  Check(&ready, "DESIGN", "plan_and_specs_ready");
  t = MoveStage(ready, MoveTo("COMPARISON", "not needed"), model, kAdmin, kT0,
                std::nullopt, 0);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_FALSE(t->history[0].override());
  EXPECT_TRUE(t->history[0].reason().empty());
}

TEST(OpportunityRulesTest, CreditAnswersMarkOrBlockTheMove) {
  const v1::StageModel model = BuiltIn(kBuyingCycle6);
  v1::Opportunity o = Created();
  const v1::MoveStageRequest req = MoveTo("COMMITMENT", "forced");
  absl::StatusOr<MovePlan> plan = CheckMove(model, o, req);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(plan->needs_credit_check);
  const CreditAnswer block{CreditDecision::kBlock, {"limit", "hold"}};
  const absl::Status blocked = CheckCreditAnswer(block, o, req);
  EXPECT_EQ(blocked.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(blocked.message(), HasSubstr("limit; hold"));
  EXPECT_EQ(ReasonOf(blocked), "CREDIT_BLOCKED");
  // No check, or one for another amount: the transaction retries.
  EXPECT_EQ(
      MoveStage(o, req, model, kAdmin, kT0, std::nullopt, 0).status().code(),
      absl::StatusCode::kAborted);
  const CreditAnswer review{CreditDecision::kReview, {"new customer"}};
  EXPECT_EQ(MoveStage(o, req, model, kAdmin, kT0, review, 1).status().code(),
            absl::StatusCode::kAborted);
  absl::StatusOr<OpportunityTransition> t =
      MoveStage(o, req, model, kAdmin, kT0, review, o.amount().units_minor());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->opportunity.credit_review_pending());
  EXPECT_EQ(t->opportunity.credit_review_reason(), "new customer");
  const CreditAnswer approve{CreditDecision::kApprove, {}};
  EXPECT_TRUE(CheckCreditAnswer(approve, o, req).ok());
  t = MoveStage(o, req, model, kAdmin, kT0, approve, o.amount().units_minor());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_FALSE(t->opportunity.credit_review_pending());
}

TEST(OpportunityRulesTest, SignedClosesProjectSalesAsWon) {
  const v1::StageModel model = BuiltIn(kProjectSales8);
  v1::Opportunity d = Draft();
  d.set_stage_model_id(kProjectSales8);
  d.set_stage_key("NEGOTIATION");
  absl::StatusOr<OpportunityTransition> created =
      CreateOpportunity(d, model, "opp_1", "admin", kT0);
  ASSERT_TRUE(created.ok()) << created.status();
  v1::Opportunity o = created->opportunity;
  Check(&o, "NEGOTIATION", "terms_agreed");
  const absl::Time later = kT0 + absl::Hours(2);
  absl::StatusOr<OpportunityTransition> t =
      MoveStage(o, MoveTo("SIGNED"), model, kAdmin, later, std::nullopt, 0);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->opportunity.status(), v1::OPPORTUNITY_STATUS_WON);
  EXPECT_EQ(t->opportunity.closed_micros(), absl::ToUnixMicros(later));
  EXPECT_TRUE(t->cancel_follow_ups);
  ASSERT_EQ(t->history.size(), 2u);
  EXPECT_EQ(t->history[1].kind(), v1::CHANGE_KIND_CLOSED);
  EXPECT_EQ(t->history[1].to(), "WON");
  EXPECT_EQ(t->history[1].seq(), 3);
  // Won in SIGNED stays won.
  v1::ReopenOpportunityRequest reopen;
  reopen.set_reason("mistake");
  const absl::Status s =
      ReopenOpportunity(t->opportunity, reopen, model, kAdmin, kT0).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("SIGNED"));
}

// ---------------------------------------------------------------------------
// Close and reopen

TEST(OpportunityRulesTest, CloseNeedsAnOutcomeAndAReasonUnlessWon) {
  v1::CloseOpportunityRequest req;
  req.set_opportunity_id("opp_1");
  EXPECT_THAT(ValidateClose(req).message(), HasSubstr("outcome"));
  req.set_outcome(v1::OPPORTUNITY_STATUS_OPEN);
  EXPECT_THAT(ValidateClose(req).message(), HasSubstr("outcome"));
  req.set_outcome(v1::OPPORTUNITY_STATUS_LOST);
  EXPECT_THAT(ValidateClose(req).message(), HasSubstr("reason"));
  req.set_outcome(v1::OPPORTUNITY_STATUS_WON);
  EXPECT_TRUE(ValidateClose(req).ok());

  req.set_outcome(v1::OPPORTUNITY_STATUS_NO_DECISION);
  req.set_reason("  budget frozen ");
  absl::StatusOr<OpportunityTransition> t =
      CloseOpportunity(Created(), req, BuiltIn(kBuyingCycle6), kAdmin, kT0);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->opportunity.status(), v1::OPPORTUNITY_STATUS_NO_DECISION);
  EXPECT_EQ(t->opportunity.close_reason(), "budget frozen");
  EXPECT_EQ(t->opportunity.closed_micros(), kT0Micros);
  EXPECT_TRUE(t->cancel_follow_ups);
  ASSERT_EQ(t->history.size(), 1u);
  EXPECT_EQ(t->history[0].kind(), v1::CHANGE_KIND_CLOSED);
  EXPECT_EQ(t->history[0].to(), "NO_DECISION");
  EXPECT_THAT(
      CloseOpportunity(t->opportunity, req, BuiltIn(kBuyingCycle6), kAdmin, kT0)
          .status()
          .message(),
      HasSubstr("already NO_DECISION"));
}

TEST(OpportunityRulesTest, ReopenNeedsAReasonAndAClosedOpportunity) {
  v1::ReopenOpportunityRequest req;
  EXPECT_THAT(ValidateReopen(req).message(), HasSubstr("reason: required"));
  req.set_opportunity_id("opp_1");
  req.set_reason(" customer came back ");
  const v1::StageModel model = BuiltIn(kBuyingCycle6);
  EXPECT_THAT(
      ReopenOpportunity(Created(), req, model, kAdmin, kT0).status().message(),
      HasSubstr("already OPEN"));
  const v1::Opportunity lost = Closed(v1::OPPORTUNITY_STATUS_LOST);
  absl::StatusOr<OpportunityTransition> t =
      ReopenOpportunity(lost, req, model, kManager, kT0 + absl::Hours(1));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->opportunity.status(), v1::OPPORTUNITY_STATUS_OPEN);
  EXPECT_TRUE(t->opportunity.close_reason().empty());
  EXPECT_EQ(t->opportunity.closed_micros(), 0);
  EXPECT_EQ(t->opportunity.version(), lost.version() + 1);
  ASSERT_EQ(t->history.size(), 1u);
  EXPECT_EQ(t->history[0].kind(), v1::CHANGE_KIND_REOPENED);
  EXPECT_EQ(t->history[0].from(), "LOST");
  EXPECT_EQ(t->history[0].reason(), "customer came back");
  EXPECT_EQ(t->history[0].by(), "manager-a");
}

TEST(OpportunityRulesTest, ClosesOnCollectionOnlyInSuchAStage) {
  const v1::StageModel model = BuiltIn(kBuyingCycle6);
  v1::Opportunity o = Created();
  EXPECT_FALSE(ClosesOnCollection(model, o));
  o.set_stage_key("USAGE");
  EXPECT_TRUE(ClosesOnCollection(model, o));
}

}  // namespace
}  // namespace salesops::pipeline
