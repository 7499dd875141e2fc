// The dunning transition of the daily run (dunning_rules.h), without gRPC or
// a store.

#include "services/credit/dunning_rules.h"

#include <gtest/gtest.h>

#include <optional>

#include "services/credit/collections.h"
#include "services/credit/rules_test_support.h"

namespace salesops::credit {
namespace {

using namespace rules_test;  // NOLINT

const absl::CivilDay kDue(2026, 3, 2);  // a Monday

TEST(DunningRulesTest, OnlyTheLatestStepDueIsIssued) {
  const v1::DunningStrategy s = DefaultDunningStrategy();
  const v1::Receivable r = Rcv("rcv_1", 1000, kDue - 30, kDue);
  EXPECT_FALSE(
      DunningStepDue(r, s, kDue - 4, std::nullopt, Noon(kDue), CreditOptions())
          .has_value());
  std::optional<DunningOutcome> out = DunningStepDue(
      r, s, kDue + 16, std::nullopt, Noon(kDue + 16), CreditOptions());
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->receivable.dunning_step(), v1::DUNNING_STEP_SECOND_REMINDER);
  EXPECT_EQ(out->dunning.kind(), v1::COLLECTION_TASK_KIND_DUNNING);
  EXPECT_EQ(Civ(out->dunning.due_date()), kDue + 16);
  EXPECT_EQ(out->dunning.text(),
            "Send the DUNNING_STEP_SECOND_REMINDER for rcv_1 (10.00 open, due "
            "2026-03-02)");
  EXPECT_FALSE(out->hold.has_value());
  EXPECT_FALSE(out->escalation.has_value());
  EXPECT_FALSE(HoldDue(r, s, kDue + 16));
}

TEST(DunningRulesTest, TheCreditHoldStepHoldsTheAccountOnce) {
  const v1::DunningStrategy s = DefaultDunningStrategy();
  const v1::Receivable r = Rcv("rcv_1", 1000, kDue - 30, kDue);
  const absl::CivilDay day = kDue + 60;  // a Friday
  ASSERT_TRUE(HoldDue(r, s, day));
  CreditOptions options;
  options.default_payment_terms_days = 14;
  std::optional<DunningOutcome> out =
      DunningStepDue(r, s, day, std::nullopt, Noon(day), options);
  ASSERT_TRUE(out.has_value() && out->hold.has_value());
  EXPECT_TRUE(out->new_profile);
  EXPECT_TRUE(out->hold->hold());
  EXPECT_EQ(out->hold->hold_reason(),
            "dunning: rcv_1 reached the credit hold step");
  EXPECT_EQ(out->hold->risk_class(), v1::RISK_CLASS_HIGH);
  EXPECT_EQ(out->hold->payment_terms_days(), 14);
  ASSERT_TRUE(out->escalation.has_value());
  EXPECT_EQ(Civ(out->escalation->due_date()), day + 3);  // Monday

  v1::CreditProfile held = *out->hold;
  out = DunningStepDue(r, s, day, held, Noon(day), options);
  ASSERT_TRUE(out.has_value());
  EXPECT_FALSE(out->hold.has_value());  // already on hold
  EXPECT_FALSE(out->new_profile);
  EXPECT_TRUE(out->escalation.has_value());
}

}  // namespace
}  // namespace salesops::credit
