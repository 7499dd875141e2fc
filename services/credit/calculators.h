#pragma once

// The cost-of-credit calculators of SPEC.md §5.4. Integers only: amounts in
// minor units, rates and margins in basis points; every product is computed
// exactly (128 bits) and rounded once. Errors: INVALID_ARGUMENT naming the
// request field ("net_margin_bp: must be 1..10000"), OUT_OF_RANGE when a
// result does not fit int64.

#include <cstdint>

#include "absl/status/statusor.h"

namespace salesops::credit {

// Extra sales needed to recover a bad-debt loss: loss × 10000 / net_margin_bp,
// rounded half to even to a multiple of `round_to_minor` (0 means 1).
// loss > 0 ("loss.units_minor: must be > 0"), net_margin_bp 1..10000,
// round_to_minor 0..10^12. Seed: 500.00 at 300 bp with round_to_minor 100 →
// 1,666,700 (16,667.00); at 600 bp → 833,300.
[[nodiscard]] absl::StatusOr<int64_t> BadDebtRecovery(int64_t loss_minor,
                                                      int32_t net_margin_bp,
                                                      int64_t round_to_minor);

struct CarryingCostResult {
  int64_t cost = 0;        // amount × rate × days / 365, half to even
  int64_t net_profit = 0;  // amount × margin, half to even
  // ceil(net_margin_bp × 365 / annual_rate_bp): the fewest days late whose
  // carrying cost reaches the net profit (0 when the margin is 0).
  int32_t days_to_consume_profit = 0;
};
// amount > 0, annual_rate_bp 1..10000, days_late 0..36500, net_margin_bp
// 0..10000.
[[nodiscard]] absl::StatusOr<CarryingCostResult> CarryingCost(
    int64_t amount_minor, int32_t annual_rate_bp, int32_t days_late,
    int32_t net_margin_bp);

struct RealizedResultValue {
  int64_t cost_of_goods = 0;  // sale × (10000 − margin) / 10000, half to even
  int64_t realized = 0;       // collected − cost_of_goods
  int64_t to_break_even = 0;          // max(0, cost_of_goods − collected)
  int64_t profit_when_collected = 0;  // sale − cost_of_goods
};
// sale > 0, gross_margin_bp 0..10000, 0 <= collected <= sale
// ("collected.units_minor: must be at most sale_amount"). Seed: 500,000 at
// 1000 bp with 400,000 collected → cost 450,000, realized −50,000.
[[nodiscard]] absl::StatusOr<RealizedResultValue> RealizedResult(
    int64_t sale_minor, int32_t gross_margin_bp, int64_t collected_minor);

}  // namespace salesops::credit
