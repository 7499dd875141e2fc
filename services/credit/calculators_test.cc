#include "services/credit/calculators.h"

#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace salesops::credit {
namespace {

using ::testing::HasSubstr;

// ---- bad-debt recovery (SPEC §5.4 seed table) ----

TEST(BadDebtRecoveryTest, ReproducesSeedTableInWholeUnits) {
  // A 500.00 loss at 2/3/4/5/6% net margin, rounded to whole units (100).
  const struct {
    int32_t bp;
    int64_t want;
  } rows[] = {{200, 2'500'000},
              {300, 1'666'700},
              {400, 1'250'000},
              {500, 1'000'000},
              {600, 833300}};
  for (const auto& row : rows) {
    absl::StatusOr<int64_t> got = BadDebtRecovery(50'000, row.bp, 100);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, row.want) << row.bp << " bp";
  }
}

TEST(BadDebtRecoveryTest, RoundsToMinorUnitByDefault) {
  absl::StatusOr<int64_t> one = BadDebtRecovery(50'000, 300, 1);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(*one, 1666667);
  absl::StatusOr<int64_t> zero = BadDebtRecovery(50'000, 300, 0);  // 0 means 1
  ASSERT_TRUE(zero.ok()) << zero.status();
  EXPECT_EQ(*zero, 1'666'667);
}

TEST(BadDebtRecoveryTest, RoundsOnceHalfToEven) {
  // 1 × 10000 / 8000 = 1.25 minor: to a multiple of 1 → 1.
  EXPECT_EQ(*BadDebtRecovery(1, 8000, 1), 1);
  // 5 × 10000 / 10000 = 5 → to a multiple of 2: 2.5 steps ties to 2 → 4.
  EXPECT_EQ(*BadDebtRecovery(5, 10000, 2), 4);
  // 7 → 3.5 steps of 2 ties to 4 → 8.
  EXPECT_EQ(*BadDebtRecovery(7, 10000, 2), 8);
}

TEST(BadDebtRecoveryTest, ValidationErrors) {
  absl::StatusOr<int64_t> r = BadDebtRecovery(0, 300, 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("loss.units_minor: must be > 0"));

  r = BadDebtRecovery(50'000, 0, 1);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "net_margin_bp: must be 1..10000, got 0");
  EXPECT_EQ(BadDebtRecovery(50'000, 10001, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(BadDebtRecovery(50'000, 10000, 1).ok());

  r = BadDebtRecovery(50'000, 300, -1);
  EXPECT_THAT(r.status().message(), HasSubstr("round_to_minor: must be 0.."));
  EXPECT_EQ(BadDebtRecovery(50000, 300, 1000000000001).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BadDebtRecoveryTest, OverflowIsOutOfRange) {
  EXPECT_EQ(BadDebtRecovery(std::numeric_limits<int64_t>::max(), 1, 1)
                .status()
                .code(),
            absl::StatusCode::kOutOfRange);
}

// ---- carrying cost ----

TEST(CarryingCostTest, WorkedExample) {
  // 10,000.00 at 8% a year, 30 days late: 1,000,000 × 0.08 × 30 / 365 =
  // 6,575.34 → 6,575 minor; net profit at 10% = 100,000.
  absl::StatusOr<CarryingCostResult> r = CarryingCost(1'000'000, 800, 30, 1000);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cost, 6'575);
  EXPECT_EQ(r->net_profit, 100'000);
  // ceil(1000 × 365 / 800) = ceil(456.25) = 457.
  EXPECT_EQ(r->days_to_consume_profit, 457);
}

TEST(CarryingCostTest, DaysToConsumeProfitIsTheFirstDayCostReachesProfit) {
  absl::StatusOr<CarryingCostResult> at =
      CarryingCost(1'000'000, 800, 457, 1000);
  absl::StatusOr<CarryingCostResult> before =
      CarryingCost(1'000'000, 800, 456, 1000);
  ASSERT_TRUE(at.ok() && before.ok());
  EXPECT_GE(at->cost, at->net_profit);
  EXPECT_LT(before->cost, before->net_profit);
  // Exact division: 1000 × 365 / 500 = 730, not 731.
  EXPECT_EQ(CarryingCost(1000000, 500, 0, 1000)->days_to_consume_profit, 730);
}

TEST(CarryingCostTest, ZeroMarginAndZeroDays) {
  absl::StatusOr<CarryingCostResult> r = CarryingCost(1000000, 800, 0, 0);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cost, 0);
  EXPECT_EQ(r->net_profit, 0);
  EXPECT_EQ(r->days_to_consume_profit, 0);
}

TEST(CarryingCostTest, CostRoundsHalfToEven) {
  // 365 × 5000 bp × 1 day / (10000 × 365) = 0.5 → 0; 1095 gives 1.5 → 2.
  EXPECT_EQ(CarryingCost(365, 5000, 1, 0)->cost, 0);
  EXPECT_EQ(CarryingCost(1095, 5000, 1, 0)->cost, 2);
}

TEST(CarryingCostTest, ValidationErrors) {
  EXPECT_THAT(CarryingCost(0, 800, 30, 1000).status().message(),
              HasSubstr("amount.units_minor: must be > 0"));
  EXPECT_EQ(CarryingCost(1, 0, 30, 1000).status().message(),
            "annual_rate_bp: must be 1..10000, got 0");
  EXPECT_EQ(CarryingCost(1, 10001, 30, 1000).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CarryingCost(1, 800, -1, 1000).status().message(),
            "days_late: must be 0..36500, got -1");
  EXPECT_EQ(CarryingCost(1, 800, 36501, 1000).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CarryingCost(1, 800, 30, -1).status().message(),
            "net_margin_bp: must be 0..10000, got -1");
  EXPECT_EQ(CarryingCost(1, 800, 30, 10001).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CarryingCostTest, LargeAmountIsExact) {
  // amount × rate × days overflows int64 in between but not in the result.
  absl::StatusOr<CarryingCostResult> r =
      CarryingCost(std::numeric_limits<int64_t>::max(), 10000, 365, 10000);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cost, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(CarryingCost(std::numeric_limits<int64_t>::max(), 10000, 366, 0)
                .status()
                .code(),
            absl::StatusCode::kOutOfRange);
}

// ---- realized result ----

TEST(RealizedResultTest, ReproducesSeedScenario) {
  // 500,000 at 10% gross margin; 150,000 + 250,000 collected.
  absl::StatusOr<RealizedResultValue> r =
      RealizedResult(500000, 1000, 150000 + 250000);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cost_of_goods, 450000);
  EXPECT_EQ(r->realized, -50'000);
  EXPECT_EQ(r->to_break_even, 50'000);
  EXPECT_EQ(r->profit_when_collected, 50'000);
}

TEST(RealizedResultTest, PastBreakEven) {
  absl::StatusOr<RealizedResultValue> r =
      RealizedResult(500'000, 1000, 480'000);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->realized, 30000);
  EXPECT_EQ(r->to_break_even, 0);
  r = RealizedResult(500000, 1000, 450000);
  EXPECT_EQ(r->realized, 0);
  EXPECT_EQ(r->to_break_even, 0);
}

TEST(RealizedResultTest, ValidationErrors) {
  EXPECT_THAT(RealizedResult(0, 1000, 0).status().message(),
              HasSubstr("sale_amount.units_minor: must be > 0"));
  EXPECT_EQ(RealizedResult(500'000, 10001, 0).status().message(),
            "gross_margin_bp: must be 0..10000, got 10001");
  EXPECT_THAT(RealizedResult(500'000, 1000, -1).status().message(),
              HasSubstr("collected.units_minor: must be >= 0"));
  absl::Status s = RealizedResult(500'000, 1000, 500'001).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("collected.units_minor: must be at most sale_amount"));
  EXPECT_TRUE(RealizedResult(500'000, 1000, 500'000).ok());
}

}  // namespace
}  // namespace salesops::credit
