#include "common/money/money.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/money/exchange.h"

namespace salesops::money {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

// Debian's Abseil is built with its own absl::string_view
// (ABSL_OPTION_USE_STD_STRING_VIEW 0), which does not convert from
// std::string_view; the suite's API uses std::string_view.
absl::string_view Sv(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

absl::Status Overflow(int64_t a, absl::string_view op, int64_t b) {
  return absl::OutOfRangeError(
      absl::StrCat("amount overflow: ", a, " ", op, " ", b, " exceeds int64"));
}

}  // namespace

absl::StatusOr<int64_t> Add(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_add_overflow(a, b, &out)) {
    return Overflow(a, "+", b);
  }
  return out;
}

absl::StatusOr<int64_t> Sub(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_sub_overflow(a, b, &out)) {
    return Overflow(a, "-", b);
  }
  return out;
}

absl::StatusOr<int64_t> Neg(int64_t a) {
  // Only INT64_MIN has no negation in two's complement.
  if (a == kInt64Min) {
    return absl::OutOfRangeError(
        absl::StrCat("amount overflow: -(", a, ") exceeds int64"));
  }
  return -a;
}

absl::StatusOr<int64_t> MulDivRoundHalfEven(int64_t a, int64_t b, int64_t c) {
  if (c <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("divisor must be > 0, got ", c));
  }
  // |a × b| <= 2^126, so the product is exact in 128 bits.
  const __int128 p = static_cast<__int128>(a) * b;
  // C++ division truncates toward zero and the remainder takes the sign of p,
  // so rounding the magnitude away from zero below is symmetric for negative
  // values by construction.
  __int128 q = p / c;
  const __int128 r = p % c;
  if (r != 0) {
    // |r| < c <= INT64_MAX, so 2|r| cannot overflow; comparing 2|r| with c
    // avoids the precision loss of computing c / 2.
    const __int128 twice = 2 * (r < 0 ? -r : r);
    if (twice > c || (twice == c && q % 2 != 0)) {
      q += p < 0 ? -1 : 1;
    }
  }
  if (q > kInt64Max || q < kInt64Min) {
    return absl::OutOfRangeError(absl::StrCat("amount overflow: ", a, " * ", b,
                                              " / ", c, " exceeds int64"));
  }
  return static_cast<int64_t>(q);
}

absl::StatusOr<int64_t> WeightBp(int64_t amount_minor, int32_t bp) {
  if (bp < 0 || bp > kBasisPointsPerUnit) {
    return absl::InvalidArgumentError(
        absl::StrCat("win_rate_bp: must be 0..10000, got ", bp));
  }
  return MulDivRoundHalfEven(amount_minor, bp, kBasisPointsPerUnit);
}

void Accumulator::Add(int64_t amount) {
  if (overflowed_) {
    return;
  }
  int64_t sum;
  if (__builtin_add_overflow(total_, amount, &sum)) {
    // total_ keeps the pre-overflow value (not the wrapped sum) so the error
    // names the operands that overflowed.
    overflowed_ = true;
    overflow_addend_ = amount;
    return;
  }
  total_ = sum;
}

absl::StatusOr<int64_t> Accumulator::Total() const {
  if (overflowed_) {
    return Overflow(total_, "+", overflow_addend_);
  }
  return total_;
}

salesops::v1::Money Make(int64_t units_minor, std::string_view currency) {
  salesops::v1::Money m;
  m.set_units_minor(units_minor);
  m.set_currency(std::string(currency));
  return m;
}

bool IsCurrencyCode(std::string_view code) {
  if (code.size() != 3) {
    return false;
  }
  for (char ch : code) {
    if (ch < 'A' || ch > 'Z') {
      return false;
    }
  }
  return true;
}

namespace {

// The sign and magnitude rules of Validate and ValidateAnyCurrency.
absl::Status ValidateUnits(const salesops::v1::Money& m, std::string_view field,
                           Sign sign) {
  switch (sign) {
    case Sign::kAny:
      break;
    case Sign::kNonNegative:
      if (m.units_minor() < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(Sv(field), ".units_minor: must be >= 0"));
      }
      break;
    case Sign::kPositive:
      if (m.units_minor() <= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(Sv(field), ".units_minor: must be > 0"));
      }
      break;
  }
  // Written as two comparisons: -INT64_MIN does not exist.
  if (m.units_minor() > kMaxAmountMinor || m.units_minor() < -kMaxAmountMinor) {
    return absl::InvalidArgumentError(
        absl::StrCat(Sv(field), ".units_minor: magnitude at most ",
                     kMaxAmountMinor, " minor units"));
  }
  return absl::OkStatus();
}

absl::Status ValidateCode(const std::string& currency, std::string_view field) {
  if (currency.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Sv(field), ".currency: required"));
  }
  if (!IsCurrencyCode(currency)) {
    return absl::InvalidArgumentError(absl::StrCat(
        Sv(field), ".currency: must be 3 uppercase letters (ISO 4217), got ",
        absl::CHexEscape(currency)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Validate(const salesops::v1::Money& m,
                      std::string_view instance_currency,
                      std::string_view field, Sign sign) {
  const std::string& currency = m.currency();
  if (absl::Status s = ValidateCode(currency, field); !s.ok()) {
    return s;
  }
  if (currency != instance_currency) {
    return absl::InvalidArgumentError(
        absl::StrCat(Sv(field), ".currency: must be ", Sv(instance_currency),
                     " (the instance currency), got ", currency));
  }
  return ValidateUnits(m, field, sign);
}

absl::Status ValidateAnyCurrency(const salesops::v1::Money& m,
                                 std::string_view field, Sign sign) {
  if (absl::Status s = ValidateCode(m.currency(), field); !s.ok()) {
    return s;
  }
  if (!IsActiveCurrency(m.currency())) {
    return absl::InvalidArgumentError(
        absl::StrCat(Sv(field), ".currency: ", m.currency(),
                     " is not an active ISO 4217 currency"));
  }
  return ValidateUnits(m, field, sign);
}

std::string Format(int64_t units_minor, int exponent) {
  if (exponent < 0) {
    exponent = 0;
  }
  // Work on the unsigned magnitude: -INT64_MIN does not fit int64 but does fit
  // uint64.
  const bool negative = units_minor < 0;
  const uint64_t magnitude =
      negative ? uint64_t{0} - static_cast<uint64_t>(units_minor)
               : static_cast<uint64_t>(units_minor);
  std::string digits = absl::StrCat(magnitude);
  const size_t width =
      static_cast<size_t>(exponent) + 1;  // at least "0." before decimals
  if (digits.size() < width) {
    digits.insert(0, width - digits.size(), '0');
  }
  if (exponent > 0) {
    digits.insert(digits.size() - exponent, 1, '.');
  }
  if (negative) {
    digits.insert(0, 1, '-');
  }
  return digits;
}

absl::StatusOr<int64_t> Parse(std::string_view text, int exponent) {
  if (exponent < 0 || exponent > kMaxExponent) {
    return absl::InvalidArgumentError(
        absl::StrCat("exponent must be 0..", kMaxExponent, ", got ", exponent));
  }
  auto malformed = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid amount \"", absl::CHexEscape(Sv(text)), "\": ", why));
  };
  auto is_digit = [](char ch) { return ch >= '0' && ch <= '9'; };

  // Syntax first, so a malformed string is reported as malformed even when it
  // is long.
  size_t pos = 0;
  bool negative = false;
  if (pos < text.size() && (text[pos] == '-' || text[pos] == '+')) {
    negative = text[pos] == '-';
    ++pos;
  }
  const size_t int_begin = pos;
  while (pos < text.size() && is_digit(text[pos])) {
    ++pos;
  }
  const std::string_view int_digits = text.substr(int_begin, pos - int_begin);
  std::string_view frac_digits;
  if (pos < text.size() && text[pos] == '.') {
    const size_t frac_begin = ++pos;
    while (pos < text.size() && is_digit(text[pos])) {
      ++pos;
    }
    frac_digits = text.substr(frac_begin, pos - frac_begin);
    if (frac_digits.empty()) {
      return malformed("expected digits after '.'");
    }
  }
  if (int_digits.empty()) {
    return malformed("expected digits");
  }
  if (pos != text.size()) {
    return malformed("expected [+|-]digits[.digits]");
  }
  if (frac_digits.size() > static_cast<size_t>(exponent)) {
    return malformed(absl::StrCat(
        "more than ", exponent, " decimal places (the currency's minor unit)"));
  }

  // Accumulate the magnitude in 128 bits and stop as soon as it passes 2^63,
  // the largest magnitude any int64 (INT64_MIN) has; that bound keeps the
  // 128-bit value from wrapping.
  const unsigned __int128 limit =
      negative ? static_cast<unsigned __int128>(kInt64Max) + 1
               : static_cast<unsigned __int128>(kInt64Max);
  auto overflow = [&] {
    return absl::OutOfRangeError(absl::StrCat(
        "amount overflow: \"", absl::CHexEscape(Sv(text)), "\" exceeds int64"));
  };
  unsigned __int128 magnitude = 0;
  auto push = [&](char digit) {
    magnitude = magnitude * 10 + static_cast<unsigned>(digit - '0');
    return magnitude <= limit;
  };
  for (char ch : int_digits) {
    if (!push(ch)) {
      return overflow();
    }
  }
  for (char ch : frac_digits) {
    if (!push(ch)) {
      return overflow();
    }
  }
  for (size_t i = frac_digits.size(); i < static_cast<size_t>(exponent); ++i) {
    if (!push('0')) {
      return overflow();
    }
  }
  if (negative) {
    // Two's complement negation of the magnitude; exact for 2^63 → INT64_MIN.
    return static_cast<int64_t>(uint64_t{0} - static_cast<uint64_t>(magnitude));
  }
  return static_cast<int64_t>(magnitude);
}

}  // namespace salesops::money
