#include "services/credit/calculators.h"

#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/money/money.h"

namespace salesops::credit {
namespace {

inline constexpr int64_t kBp = money::kBasisPointsPerUnit;
inline constexpr int64_t kDaysPerYear = 365;
inline constexpr int64_t kMaxRoundToMinor = 1'000'000'000'000;  // 10^12
inline constexpr int32_t kMaxDaysLate = 36500;

absl::Status OutOfRange(const char* field, int64_t value, int64_t lo,
                        int64_t hi) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": must be ", lo, "..", hi, ", got ", value));
}

}  // namespace

absl::StatusOr<int64_t> BadDebtRecovery(int64_t loss_minor,
                                        int32_t net_margin_bp,
                                        int64_t round_to_minor) {
  if (loss_minor <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("loss.units_minor: must be > 0, got ", loss_minor));
  }
  if (net_margin_bp < 1 || net_margin_bp > kBp) {
    return OutOfRange("net_margin_bp", net_margin_bp, 1, kBp);
  }
  if (round_to_minor < 0 || round_to_minor > kMaxRoundToMinor) {
    return OutOfRange("round_to_minor", round_to_minor, 0, kMaxRoundToMinor);
  }
  const int64_t step = round_to_minor == 0 ? 1 : round_to_minor;
  // Dividing by margin × step rounds once, straight to a whole number of
  // steps: rounding to the minor unit first and then to the step could round
  // twice in the same direction. margin × step <= 10^16 fits int64.
  absl::StatusOr<int64_t> steps =
      money::MulDivRoundHalfEven(loss_minor, kBp, net_margin_bp * step);
  if (!steps.ok()) return steps.status();
  int64_t required = 0;
  if (__builtin_mul_overflow(*steps, step, &required)) {
    return absl::OutOfRangeError(absl::StrCat("required_sales: ", *steps, " × ",
                                              step, " exceeds int64"));
  }
  return required;
}

absl::StatusOr<CarryingCostResult> CarryingCost(int64_t amount_minor,
                                                int32_t annual_rate_bp,
                                                int32_t days_late,
                                                int32_t net_margin_bp) {
  if (amount_minor <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount.units_minor: must be > 0, got ", amount_minor));
  }
  if (annual_rate_bp < 1 || annual_rate_bp > kBp) {
    return OutOfRange("annual_rate_bp", annual_rate_bp, 1, kBp);
  }
  if (days_late < 0 || days_late > kMaxDaysLate) {
    return OutOfRange("days_late", days_late, 0, kMaxDaysLate);
  }
  if (net_margin_bp < 0 || net_margin_bp > kBp) {
    return OutOfRange("net_margin_bp", net_margin_bp, 0, kBp);
  }
  CarryingCostResult result;
  // rate × days <= 3.65 × 10^8 fits int64, so the whole product stays exact in
  // MulDivRoundHalfEven's 128 bits and is rounded once.
  absl::StatusOr<int64_t> cost = money::MulDivRoundHalfEven(
      amount_minor, int64_t{annual_rate_bp} * days_late, kBp * kDaysPerYear);
  if (!cost.ok()) return cost.status();
  result.cost = *cost;
  // margin <= 100%, so this cannot overflow.
  absl::StatusOr<int64_t> profit =
      money::MulDivRoundHalfEven(amount_minor, net_margin_bp, kBp);
  if (!profit.ok()) return profit.status();
  result.net_profit = *profit;
  // amount × rate × d / 365 >= amount × margin  ⇔  d >= margin × 365 / rate:
  // the amount cancels, so the answer is the same for every sale.
  const int64_t numerator = int64_t{net_margin_bp} * kDaysPerYear;
  result.days_to_consume_profit =
      static_cast<int32_t>((numerator + annual_rate_bp - 1) / annual_rate_bp);
  return result;
}

absl::StatusOr<RealizedResultValue> RealizedResult(int64_t sale_minor,
                                                   int32_t gross_margin_bp,
                                                   int64_t collected_minor) {
  if (sale_minor <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("sale_amount.units_minor: must be > 0, got ", sale_minor));
  }
  if (gross_margin_bp < 0 || gross_margin_bp > kBp) {
    return OutOfRange("gross_margin_bp", gross_margin_bp, 0, kBp);
  }
  if (collected_minor < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "collected.units_minor: must be >= 0, got ", collected_minor));
  }
  if (collected_minor > sale_minor) {
    return absl::InvalidArgumentError(
        absl::StrCat("collected.units_minor: must be at most sale_amount (",
                     sale_minor, "), got ", collected_minor));
  }
  absl::StatusOr<int64_t> cost =
      money::MulDivRoundHalfEven(sale_minor, kBp - gross_margin_bp, kBp);
  if (!cost.ok()) return cost.status();
  RealizedResultValue v;
  // 0 <= cost, collected <= sale, so none of the differences can overflow.
  v.cost_of_goods = *cost;
  v.realized = collected_minor - v.cost_of_goods;
  v.to_break_even =
      v.cost_of_goods > collected_minor ? v.cost_of_goods - collected_minor : 0;
  v.profit_when_collected = sale_minor - v.cost_of_goods;
  return v;
}

}  // namespace salesops::credit
