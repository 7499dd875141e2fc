#pragma once

// Money arithmetic of the suite (ARCHITECTURE.md §7, SPEC.md §4.1).
//
// An amount is an int64 count of minor units of one currency (EUR cents, JPY
// yen, KWD fils); there is never a floating-point step. Every operation that
// could leave the int64 range reports OUT_OF_RANGE instead of wrapping. Win
// rates are int32 basis points, 0..10000.

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "salesops/v1/common.pb.h"

namespace salesops::money {

// Basis points in 100%.
inline constexpr int32_t kBasisPointsPerUnit = 10000;

// The largest magnitude of an amount any request may carry: 10^15 minor units
// (10 trillion EUR; 10^15 JPY is 1000 trillion yen). Validate refuses more.
// Any 9,223 such amounts sum within int64, so no single accepted amount can
// overflow arithmetic on it (aggregates of many still use wide accumulators;
// docs/API.md "Field bounds").
inline constexpr int64_t kMaxAmountMinor = 1'000'000'000'000'000;

// a + b, a - b, -a. OUT_OF_RANGE ("amount overflow: ... exceeds int64") when
// the exact result does not fit int64 (e.g. Add(INT64_MAX, 1), Sub(INT64_MIN,
// 1), Neg(INT64_MIN)).
[[nodiscard]] absl::StatusOr<int64_t> Add(int64_t a, int64_t b);
[[nodiscard]] absl::StatusOr<int64_t> Sub(int64_t a, int64_t b);
[[nodiscard]] absl::StatusOr<int64_t> Neg(int64_t a);

// a × b / c, rounded half to even (banker's rounding), computed exactly in 128
// bits. Rounding is symmetric: MulDivRoundHalfEven(-a, b, c) ==
// -MulDivRoundHalfEven(a, b, c). INVALID_ARGUMENT unless c > 0; OUT_OF_RANGE
// when the rounded result does not fit int64.
[[nodiscard]] absl::StatusOr<int64_t> MulDivRoundHalfEven(int64_t a, int64_t b,
                                                          int64_t c);

// The weighted amount of SPEC.md §4.1: round_half_even(amount_minor × bp /
// 10000), in minor units. bp must be 0..10000 (INVALID_ARGUMENT naming
// `win_rate_bp` otherwise). The result's magnitude never exceeds
// |amount_minor|, so it cannot overflow. Examples (5000 bp = 50%): 5 → 2 (2.5
// ties to even), 15 → 8 (7.5), 1 → 0 (0.5), 3 → 2 (1.5), -5 → -2.
[[nodiscard]] absl::StatusOr<int64_t> WeightBp(int64_t amount_minor,
                                               int32_t bp);

// Sums int64 amounts; an overflow poisons the accumulator for good, so a long
// loop can Add without checking and test once at the end. Not thread-safe.
class Accumulator {
 public:
  Accumulator() = default;

  // Adds `amount` unless an earlier Add overflowed (then does nothing).
  void Add(int64_t amount);

  // The sum of everything added (0 when nothing was), or OUT_OF_RANGE if any
  // Add overflowed. A later Add never clears the error, even if the true sum
  // would fit again.
  [[nodiscard]] absl::StatusOr<int64_t> Total() const;

 private:
  // After an overflow, the total that the overflowing addend met.
  int64_t total_ = 0;
  bool overflowed_ = false;
  int64_t overflow_addend_ = 0;  // the first addend that overflowed
};

// Which amounts a field accepts.
enum class Sign {
  kAny,          // any int64
  kNonNegative,  // >= 0
  kPositive,     // > 0
};

// Validates a Money field of a request. `field` is its path in the request
// ("amount", "quota.amount"), used as the prefix of messages;
// `instance_currency` is the instance's ISO code (`--currency`). Checks, in
// this order, each failing with INVALID_ARGUMENT:
//   "<field>.currency: required" (empty)
//   "<field>.currency: must be 3 uppercase letters (ISO 4217), got eur"
//   "<field>.currency: must be EUR (the instance currency), got USD"
//       (for the fields that must be in one currency; ValidateAnyCurrency
//       for those that take any)
//   "<field>.units_minor: must be >= 0" (kNonNegative)
//   "<field>.units_minor: must be > 0" (kPositive)
//   "<field>.units_minor: magnitude at most 1000000000000000 minor units"
//       (|units_minor| > kMaxAmountMinor, whatever the sign rule)
// Every Money field of every request goes through Validate.
[[nodiscard]] absl::Status Validate(const salesops::v1::Money& m,
                                    std::string_view instance_currency,
                                    std::string_view field, Sign sign);

// Validate for a field that accepts any active ISO 4217 currency (issue 19:
// deal amounts, quotas, receivables): the same rules, with the currency rule
//   "<field>.currency: DEM is not an active ISO 4217 currency" (ICU's data)
// instead of the instance-currency one.
[[nodiscard]] absl::Status ValidateAnyCurrency(const salesops::v1::Money& m,
                                               std::string_view field,
                                               Sign sign);

// A Money message of `units_minor` in `currency`.
salesops::v1::Money Make(int64_t units_minor, std::string_view currency);

// True when `code` is three ASCII uppercase letters (the shape of an ISO 4217
// code; whether the code is assigned is not checked).
bool IsCurrencyCode(std::string_view code);

// Number of decimal places of the minor unit of an ISO 4217 currency, from
// ICU's currency data (exchange.cc): 0 for JPY, 2 for EUR, 3 for KWD; 2 for a
// code ICU does not know.
int CurrencyExponent(std::string_view iso);

// Largest exponent Parse accepts (10^18 is the largest power of ten in int64).
inline constexpr int kMaxExponent = 18;

// Decimal text of an amount with `exponent` decimal places, for humans and the
// CLI: no thousands separators, '-' for negatives, always exactly `exponent`
// decimals. Format(364800000, 2) == "3648000.00", Format(-5, 2) == "-0.05",
// Format(7, 0) == "7". Any exponent >= 0 works (zeros are padded); a negative
// exponent is treated as 0.
std::string Format(int64_t units_minor, int exponent);

// Inverse of Format: parses `[+|-]digits[.digits]` into minor units with
// `exponent` decimal places (0..kMaxExponent). Fewer decimals than the
// exponent are padded: with exponent 2, "12" → 1200 and "-0.5" → -50. No
// whitespace, no separators, at least one digit on each side of a '.'.
// INVALID_ARGUMENT for malformed text, for more decimals than the exponent
// ("1.234" or even "1.230" with exponent 2: never rounded silently) and for an
// exponent out of range; OUT_OF_RANGE when the amount does not fit int64.
[[nodiscard]] absl::StatusOr<int64_t> Parse(std::string_view text,
                                            int exponent);

}  // namespace salesops::money
