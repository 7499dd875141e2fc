#include "common/money/exchange.h"

#include <unicode/ucurr.h>
#include <unicode/uenum.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "common/money/money.h"

namespace salesops::money {
namespace {

absl::string_view Sv(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// ICU wants the code as a NUL-terminated UTF-16 string.
std::array<UChar, 4> IcuCode(std::string_view code) {
  return {static_cast<UChar>(code[0]), static_cast<UChar>(code[1]),
          static_cast<UChar>(code[2]), 0};
}

// Index of a three-letter uppercase code in 0..26^3-1.
int CodeIndex(std::string_view code) {
  return ((code[0] - 'A') * 26 + (code[1] - 'A')) * 26 + (code[2] - 'A');
}

constexpr int kCodes = 26 * 26 * 26;

// The codes ICU lists as in common use and not deprecated (157 in ICU 72:
// EUR, USD, CNY, JPY, KWD; not XAU, not DEM), read once.
// (ucurr_isAvailable(code, now, now) is not used: ICU 72 answers false for
// GBP.)
const std::array<bool, kCodes>& ActiveCodes() {
  static const auto* codes = [] {
    auto* c = new std::array<bool, kCodes>{};
    UErrorCode err = U_ZERO_ERROR;
    UEnumeration* all =
        ucurr_openISOCurrencies(UCURR_COMMON | UCURR_NON_DEPRECATED, &err);
    const char* code = nullptr;
    int32_t len = 0;
    while (U_SUCCESS(err) && (code = uenum_next(all, &len, &err)) != nullptr) {
      if (len == 3 && IsCurrencyCode(std::string_view(code, 3))) {
        (*c)[CodeIndex(std::string_view(code, 3))] = true;
      }
    }
    uenum_close(all);
    return c;
  }();
  return *codes;
}

// ICU answers exponents from resource bundles; cached per code (they do not
// change while a process runs). -1 = not asked yet.
std::array<std::atomic<int8_t>, kCodes>& ExponentCache() {
  static auto* cache = [] {
    auto* c = new std::array<std::atomic<int8_t>, kCodes>;
    for (auto& v : *c) v.store(-1, std::memory_order_relaxed);
    return c;
  }();
  return *cache;
}

// ---- Unsigned integers of kLimbs × 64 bits, little-endian limbs ----

constexpr int kLimbs = 6;  // 384 bits: 2^64 × (10^18)^4 × 10^6 × 10^4 × 2 fit
using Wide = std::array<uint64_t, kLimbs>;

// n *= m; false on overflow (cannot happen within Convert's bounds).
bool MulSmall(Wide& n, uint64_t m) {
  unsigned __int128 carry = 0;
  for (uint64_t& limb : n) {
    const unsigned __int128 p =
        static_cast<unsigned __int128>(limb) * m + carry;
    limb = static_cast<uint64_t>(p);
    carry = p >> 64;
  }
  return carry == 0;
}

// n /= d (d > 0); returns the remainder.
uint64_t DivSmall(Wide& n, uint64_t d) {
  unsigned __int128 rem = 0;
  for (int i = kLimbs - 1; i >= 0; --i) {
    const unsigned __int128 cur = (rem << 64) | n[i];
    n[i] = static_cast<uint64_t>(cur / d);
    rem = cur % d;
  }
  return static_cast<uint64_t>(rem);
}

uint64_t Pow10(int k) {
  uint64_t p = 1;
  for (int i = 0; i < k; ++i) p *= 10;
  return p;
}

}  // namespace

// ---- Currencies ----

bool IsActiveCurrency(std::string_view code) {
  return IsCurrencyCode(code) && ActiveCodes()[CodeIndex(code)];
}

int CurrencyExponent(std::string_view iso) {
  if (!IsCurrencyCode(iso)) {
    return 2;
  }
  std::atomic<int8_t>& slot = ExponentCache()[CodeIndex(iso)];
  int8_t known = slot.load(std::memory_order_relaxed);
  if (known < 0) {
    UErrorCode err = U_ZERO_ERROR;
    const auto icu = IcuCode(iso);
    const int32_t digits = ucurr_getDefaultFractionDigits(icu.data(), &err);
    known = static_cast<int8_t>(
        U_SUCCESS(err) && digits >= 0 && digits <= 6 ? digits : 2);
    slot.store(known, std::memory_order_relaxed);
  }
  return known;
}

absl::Status ValidateCurrency(std::string_view code, std::string_view field) {
  if (code.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(Sv(field), ": required"));
  }
  if (!IsCurrencyCode(code)) {
    return absl::InvalidArgumentError(absl::StrCat(
        Sv(field), ": must be 3 uppercase letters (ISO 4217), got ",
        Sv(code.substr(0, 16))));
  }
  if (!IsActiveCurrency(code)) {
    return absl::InvalidArgumentError(absl::StrCat(
        Sv(field), ": ", Sv(code), " is not an active ISO 4217 currency"));
  }
  return absl::OkStatus();
}

// ---- Decimals ----

absl::StatusOr<Decimal> ParseRate(std::string_view text,
                                  std::string_view field) {
  auto bad = [&](absl::string_view rule) {
    return absl::InvalidArgumentError(absl::StrCat(
        Sv(field), ": ", rule, ", got \"", Sv(text.substr(0, 48)), "\""));
  };
  if (text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(Sv(field), ": required"));
  }
  if (text.size() > 48) {
    return bad("at most 48 characters");
  }
  const size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  const bool shape_ok =
      !whole.empty() && (dot == std::string_view::npos || !frac.empty()) &&
      whole.find_first_not_of("0123456789") == std::string_view::npos &&
      frac.find_first_not_of("0123456789") == std::string_view::npos;
  if (!shape_ok) {
    return bad("must be a decimal number such as 7.2345 (digits, one '.')");
  }
  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  std::string digits = absl::StrCat(Sv(whole), Sv(frac));
  const size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) {
    return bad("must be > 0");
  }
  digits.erase(0, first);
  if (static_cast<int>(digits.size()) > kMaxRateDigits) {
    return bad("at most 18 significant digits");
  }
  if (static_cast<int>(frac.size()) > kMaxRateScale) {
    return bad("at most 18 decimals");
  }
  Decimal d{0, static_cast<int>(frac.size())};
  for (char c : digits) d.mantissa = d.mantissa * 10 + (c - '0');
  const unsigned __int128 limit =
      static_cast<unsigned __int128>(1'000'000'000'000) * Pow10(d.scale);
  if (d.mantissa > limit) {
    return bad("must be at most 1000000000000");
  }
  return d;
}

std::string FormatRate(const Decimal& d) {
  std::string digits = std::to_string(d.mantissa);
  if (d.scale <= 0) {
    return digits;
  }
  if (static_cast<int>(digits.size()) <= d.scale) {
    digits.insert(0, d.scale - digits.size() + 1, '0');
  }
  digits.insert(digits.size() - d.scale, 1, '.');
  return digits;
}

// ---- Conversion ----

absl::StatusOr<int64_t> Convert(int64_t amount_minor, int from_exponent,
                                int to_exponent,
                                const std::vector<Decimal>& multiply,
                                const std::vector<Decimal>& divide,
                                int32_t bp) {
  if (from_exponent < 0 || from_exponent > 6 || to_exponent < 0 ||
      to_exponent > 6) {
    return absl::InvalidArgumentError(absl::StrCat(
        "exponents must be 0..6, got ", from_exponent, " and ", to_exponent));
  }
  if (bp < 0 || bp > kBasisPointsPerUnit) {
    return absl::InvalidArgumentError(
        absl::StrCat("win_rate_bp: must be 0..10000, got ", bp));
  }
  if (multiply.size() + divide.size() > 4) {
    return absl::InvalidArgumentError("at most 4 rates in one conversion");
  }
  const bool negative = amount_minor < 0;
  const uint64_t magnitude =
      negative ? 0 - static_cast<uint64_t>(amount_minor) : amount_minor;
  // Numerator and divisors of amount × Π m ÷ Π d × 10^(to−from) × bp/10000.
  Wide n{};
  n[0] = magnitude;
  std::vector<uint64_t> divisors;
  for (const Decimal& r : multiply) {
    if (r.mantissa == 0 || r.scale < 0 || r.scale > kMaxRateScale) {
      return absl::InvalidArgumentError("rate must be > 0 with scale 0..18");
    }
    MulSmall(n, r.mantissa);
    divisors.push_back(Pow10(r.scale));
  }
  for (const Decimal& r : divide) {
    if (r.mantissa == 0 || r.scale < 0 || r.scale > kMaxRateScale) {
      return absl::InvalidArgumentError("rate must be > 0 with scale 0..18");
    }
    MulSmall(n, Pow10(r.scale));
    divisors.push_back(r.mantissa);
  }
  if (to_exponent > from_exponent) {
    MulSmall(n, Pow10(to_exponent - from_exponent));
  } else if (from_exponent > to_exponent) {
    divisors.push_back(Pow10(from_exponent - to_exponent));
  }
  MulSmall(n, static_cast<uint64_t>(bp));
  divisors.push_back(kBasisPointsPerUnit);
  // t = floor(2x) of the exact quotient x; its low bit and whether anything
  // was left over decide the half-even rounding of x.
  MulSmall(n, 2);
  bool sticky = false;
  for (uint64_t d : divisors) sticky |= DivSmall(n, d) != 0;
  const bool odd = (n[0] & 1) != 0;
  DivSmall(n, 2);
  for (int i = 1; i < kLimbs; ++i) {
    if (n[i] != 0)
      return absl::OutOfRangeError("converted amount exceeds int64");
  }
  uint64_t q = n[0];
  if (odd && (sticky || (q & 1) != 0)) ++q;
  if (q > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return absl::OutOfRangeError("converted amount exceeds int64");
  }
  return negative ? -static_cast<int64_t>(q) : static_cast<int64_t>(q);
}

// ---- RateTable ----

void RateTable::Set(const std::string& currency, absl::CivilDay start,
                    std::optional<Decimal> rate) {
  if (rate) {
    entries_[currency][start] = *rate;
    return;
  }
  auto it = entries_.find(currency);
  if (it == entries_.end()) return;
  it->second.erase(start);
  if (it->second.empty()) entries_.erase(it);
}

std::optional<Decimal> RateTable::RateOn(const std::string& currency,
                                         absl::CivilDay day) const {
  if (currency == reporting_) {
    return kOne;
  }
  auto it = entries_.find(currency);
  if (it == entries_.end()) return std::nullopt;
  auto next = it->second.upper_bound(day);
  if (next == it->second.begin()) return std::nullopt;
  return std::prev(next)->second;
}

std::pair<absl::CivilDay, absl::CivilDay> RateTable::RangeOf(
    const std::string& currency, absl::CivilDay start) const {
  absl::CivilDay last = absl::CivilDay::max();
  auto it = entries_.find(currency);
  if (it != entries_.end()) {
    auto next = it->second.upper_bound(start);
    if (next != it->second.end()) last = next->first - 1;
  }
  return {start, last};
}

}  // namespace salesops::money
