#pragma once

// Currencies and exchange rates of the suite (issue 19; ARCHITECTURE.md §7,
// docs/DECISIONS.md D38).
//
// - Currency data (is a code an active ISO 4217 currency, how many decimals
//   its minor unit has) comes from ICU (libicu-dev), not a hand table.
// - A rate is an exact decimal (no binary floating point): value = mantissa /
//   10^scale, parsed from and printed as decimal text ("7.8125").
// - A conversion multiplies an amount by one or more rates (and optionally a
//   win rate in basis points) and rounds ONCE, half to even, in exact integer
//   arithmetic (256-bit intermediates), so "amount × rate × bp" is one
//   rounding per deal and figure.
// - A RateTable holds dated rates to a reporting currency: a rate is in force
//   from its start date until the day before the next start of the same
//   currency.
//
// Pure: no I/O; a RateTable is not thread-safe (its owner guards it).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"

namespace salesops::money {

// ---- Currencies (ICU) ----

// True when `code` is an ISO 4217 code that ICU knows as legal tender today
// in some region (EUR, USD, CNY, JPY, KWD; not XAU, not DEM, not "EURO").
bool IsActiveCurrency(std::string_view code);

// INVALID_ARGUMENT naming `field` unless `code` is an active ISO 4217
// currency: "<field>: required", "<field>: must be 3 uppercase letters (ISO
// 4217), got eur", "<field>: DEM is not an active ISO 4217 currency".
[[nodiscard]] absl::Status ValidateCurrency(std::string_view code,
                                            std::string_view field);

// ---- Exact decimal rates ----

// value = mantissa / 10^scale, mantissa > 0 (a rate is never 0 or negative).
struct Decimal {
  uint64_t mantissa = 1;
  int scale = 0;
  friend bool operator==(const Decimal& a, const Decimal& b) {
    return a.mantissa == b.mantissa && a.scale == b.scale;
  }
  friend bool operator!=(const Decimal& a, const Decimal& b) {
    return !(a == b);
  }
};

// Bounds of a rate: at most 18 significant digits and 18 decimals, value in
// (0, 10^12].
inline constexpr int kMaxRateDigits = 18;
inline constexpr int kMaxRateScale = 18;

// Parses decimal text "digits[.digits]" (no sign, no exponent, no
// separators) into its canonical Decimal (trailing fractional zeros removed:
// "7.50" → {75, 1}). INVALID_ARGUMENT naming `field` for malformed text, a
// zero value, more than kMaxRateDigits significant digits or kMaxRateScale
// decimals, or a value above 10^12.
[[nodiscard]] absl::StatusOr<Decimal> ParseRate(std::string_view text,
                                                std::string_view field);
// Canonical text: FormatRate({75, 1}) == "7.5", FormatRate({5, 0}) == "5".
std::string FormatRate(const Decimal& d);

// The exact value 1.
inline constexpr Decimal kOne{1, 0};

// Converts `amount_minor` of a currency whose minor unit has `from_exponent`
// decimals into minor units of one with `to_exponent` decimals: amount ×
// Π multiply ÷ Π divide × bp / 10000, rounded once, half to even, computed
// exactly. `multiply` are the rates applied (1 unit of the source = rate
// units of the target), `divide` rates divided by (a display currency's
// rate to the reporting currency). Exponents 0..kMaxExponent, bp 0..10000,
// at most four rates in all (INVALID_ARGUMENT otherwise); OUT_OF_RANGE when
// the result does not fit int64. Symmetric: Convert(-a) == -Convert(a).
// Example: 1000 JPY (exp 0) at 0.048 CNY/JPY to CNY (exp 2) = 4800 fen;
// weighted at 5000 bp: 2400.
[[nodiscard]] absl::StatusOr<int64_t> Convert(
    int64_t amount_minor, int from_exponent, int to_exponent,
    const std::vector<Decimal>& multiply, const std::vector<Decimal>& divide,
    int32_t bp = 10000);

// ---- Dated rates ----

// Rates of currencies to one reporting currency, each in force from its
// start date until the day before the next start of that currency.
class RateTable {
 public:
  explicit RateTable(std::string reporting_currency = "")
      : reporting_(std::move(reporting_currency)) {}

  const std::string& reporting_currency() const { return reporting_; }

  // Sets (or replaces) the rate starting on `start`; nullopt removes it.
  void Set(const std::string& currency, absl::CivilDay start,
           std::optional<Decimal> rate);

  // The rate in force on `day`: 1 for the reporting currency itself, else
  // the entry with the latest start ≤ day; nullopt when there is none (a
  // missing rate, never a silent 0).
  std::optional<Decimal> RateOn(const std::string& currency,
                                absl::CivilDay day) const;

  // The days [first, last] during which the entry starting on `start` is in
  // force (last = the day before the next start, or absl::CivilDay::max());
  // for a change of that entry: which deals it re-values. An entry that does
  // not exist is treated as if it did (the range it would cover).
  std::pair<absl::CivilDay, absl::CivilDay> RangeOf(const std::string& currency,
                                                    absl::CivilDay start) const;

  // Every entry, by currency then start.
  const std::map<std::string, std::map<absl::CivilDay, Decimal>>& entries()
      const {
    return entries_;
  }

 private:
  std::string reporting_;
  std::map<std::string, std::map<absl::CivilDay, Decimal>> entries_;
};

}  // namespace salesops::money
