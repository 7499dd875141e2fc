#pragma once

// Credit's conversions between currencies (issue 19, docs/DECISIONS.md D40).
// Pure: the rates are a money::RateTable the caller took from the
// RateMirror (rates to the reporting currency, dated), the day an argument.
//
// - A Converter turns amounts of any currency into one target currency at
//   the rates in force on one day: amount × rate(from) ÷ rate(target), ONE
//   half-even rounding per amount (money::Convert), the reporting currency's
//   own rate being 1. An amount already in the target currency is taken as
//   is (no rate needed).
// - A rate that is missing is never a zero: the amount is not converted and
//   is recorded, per currency, as a v1::MissingRate (count and unconverted
//   sum), which the answers list.
// - The credit decision over converted exposure: ConvertExposure fills
//   CreditFacts (credit_rules.h) with the exposure and the asked amount in
//   the limit's currency and the missing rates.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "common/money/exchange.h"
#include "common/money/money.h"
#include "salesops/v1/credit.pb.h"

namespace salesops::credit {

class Converter {
 public:
  // Converts into `target` at the rates of `rates` in force on `day`.
  // `rates` is not owned and outlives the converter.
  Converter(const money::RateTable* rates, std::string target,
            absl::CivilDay day);

  const std::string& target() const { return target_; }
  absl::CivilDay day() const { return day_; }

  // `m` in the target currency (minor units of its ICU exponent, rounded
  // once, half to even), or nullopt when the rate of m's currency (or of the
  // target) on day() is missing: then `m` is recorded in missing().
  // OUT_OF_RANGE when the converted amount does not fit int64.
  [[nodiscard]] absl::StatusOr<std::optional<int64_t>> Convert(
      const v1::Money& m);

  // True when some amount could not be converted.
  bool any_missing() const { return !missing_.empty(); }
  // The amounts that could not be converted, one entry per currency (in
  // code order), date = day(). When the target's own rate is missing the
  // entry names the target with a zero amount and the count of amounts that
  // needed it. OUT_OF_RANGE when an unconverted sum passes int64.
  [[nodiscard]] absl::StatusOr<std::vector<v1::MissingRate>> Missing() const;

 private:
  struct Gap {
    int64_t count = 0;
    money::Accumulator sum;
  };
  const money::RateTable* rates_;
  std::string target_;
  absl::CivilDay day_;
  std::optional<money::Decimal> target_rate_;
  std::map<std::string, Gap> missing_;
};

// Adds `add` into `into` (both per currency): the count and the sum of the
// entries of the same currency and date; others appended. OUT_OF_RANGE when
// a sum passes int64.
[[nodiscard]] absl::Status MergeMissing(const std::vector<v1::MissingRate>& add,
                                        std::vector<v1::MissingRate>* into);

// The reason a credit check gives for a missing rate: "no exchange rate for
// JPY on 2026-03-02 (2 amounts, 5000 JPY unconverted): exposure cannot be
// compared with the limit in USD".
std::string MissingRateReason(const v1::MissingRate& m,
                              const std::string& limit_currency);

}  // namespace salesops::credit
