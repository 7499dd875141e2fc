#include "common/money/exchange.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>

#include "common/money/money.h"

namespace salesops::money {
namespace {

TEST(Currency, ExponentsComeFromIcu) {
  EXPECT_EQ(CurrencyExponent("JPY"), 0);
  EXPECT_EQ(CurrencyExponent("EUR"), 2);
  EXPECT_EQ(CurrencyExponent("CNY"), 2);
  EXPECT_EQ(CurrencyExponent("KWD"), 3);
  EXPECT_EQ(CurrencyExponent("BHD"), 3);
  EXPECT_EQ(CurrencyExponent("KRW"), 0);
}

TEST(Currency, ActiveCodes) {
  for (const char* code : {"EUR", "USD", "CNY", "JPY", "KWD", "GBP", "CHF"}) {
    EXPECT_TRUE(IsActiveCurrency(code)) << code;
  }
  for (const char* code : {"DEM", "FRF", "ABC", "eur", "EURO", "", "XAU"}) {
    EXPECT_FALSE(IsActiveCurrency(code)) << code;
  }
  EXPECT_TRUE(ValidateCurrency("USD", "f").ok());
  EXPECT_EQ(ValidateCurrency("DEM", "rate.currency").message(),
            "rate.currency: DEM is not an active ISO 4217 currency");
  EXPECT_EQ(ValidateCurrency("", "x").message(), "x: required");
}

TEST(Currency, ValidateAnyCurrency) {
  EXPECT_TRUE(
      ValidateAnyCurrency(Make(100, "JPY"), "amount", Sign::kPositive).ok());
  EXPECT_EQ(ValidateAnyCurrency(Make(100, "DEM"), "amount", Sign::kPositive)
                .message(),
            "amount.currency: DEM is not an active ISO 4217 currency");
  EXPECT_EQ(
      ValidateAnyCurrency(Make(0, "USD"), "amount", Sign::kPositive).message(),
      "amount.units_minor: must be > 0");
}

TEST(Rate, ParseAndFormat) {
  auto r = ParseRate("7.50", "rate");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->mantissa, 75u);
  EXPECT_EQ(r->scale, 1);
  EXPECT_EQ(FormatRate(*r), "7.5");
  EXPECT_EQ(FormatRate(*ParseRate("0.00671234", "r")), "0.00671234");
  EXPECT_EQ(FormatRate(*ParseRate("0012", "r")), "12");
  EXPECT_EQ(FormatRate(*ParseRate("1000000000000", "r")), "1000000000000");
  for (const char* bad :
       {"", "0", "0.000", "-1", "+1", "1e3", "1.", ".5", "1,5", "1.2.3",
        "1000000000000.1", "1234567890.1234567891", "0.0000000000000000001",
        " 1"}) {
    EXPECT_FALSE(ParseRate(bad, "rate").ok()) << bad;
  }
  EXPECT_EQ(ParseRate("abc", "rates[2].rate").status().message(),
            "rates[2].rate: must be a decimal number such as 7.2345 (digits, "
            "one '.'), got \"abc\"");
}

TEST(Convert, HandComputedExamples) {
  const Decimal jpy_cny = *ParseRate("0.048", "r");
  // 1000 JPY (exp 0) → CNY (exp 2): 48.00 CNY.
  EXPECT_EQ(*Convert(1000, 0, 2, {jpy_cny}, {}), 4800);
  EXPECT_EQ(*Convert(1000, 0, 2, {jpy_cny}, {}, 5000), 2400);
  // 1.234 KWD (exp 3) at 23.5 CNY/KWD = 28.999 CNY → 29.00 (2899.9 → 2900).
  EXPECT_EQ(*Convert(1234, 3, 2, {*ParseRate("23.5", "r")}, {}), 2900);
  // Ties go to even: 0.05 EUR at 0.5 = 0.025 → 0.02; 0.15 → 0.075 → 0.08.
  const Decimal half = *ParseRate("0.5", "r");
  EXPECT_EQ(*Convert(5, 2, 2, {half}, {}), 2);
  EXPECT_EQ(*Convert(15, 2, 2, {half}, {}), 8);
  EXPECT_EQ(*Convert(-5, 2, 2, {half}, {}), -2);
  EXPECT_EQ(*Convert(-15, 2, 2, {half}, {}), -8);
  // A hair above the tie rounds up.
  EXPECT_EQ(*Convert(5, 2, 2, {*ParseRate("0.500000000000000001", "r")}, {}),
            3);
  // Weighting and conversion round once: 1 EUR cent at rate 1 and 50% is
  // 0.5 → 0; 3 cents at 50% is 1.5 → 2.
  EXPECT_EQ(*Convert(1, 2, 2, {kOne}, {}, 5000), 0);
  EXPECT_EQ(*Convert(3, 2, 2, {kOne}, {}, 5000), 2);
  // Display: 7.8 CNY per USD; 78.00 CNY shown in USD = 10.00.
  EXPECT_EQ(*Convert(7800, 2, 2, {}, {*ParseRate("7.8", "r")}), 1000);
  // To a currency without decimals: 1.50 EUR at 160 JPY = 240 JPY.
  EXPECT_EQ(*Convert(150, 2, 0, {*ParseRate("160", "r")}, {}), 240);
}

TEST(Convert, BoundsAndOverflow) {
  EXPECT_EQ(
      Convert(kMaxAmountMinor, 2, 2, {*ParseRate("1000000000000", "r")}, {})
          .status()
          .code(),
      absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Convert(1, 2, 2, {kOne}, {}, 10001).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Convert(1, 7, 2, {kOne}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // The largest inputs never overflow the intermediate.
  const Decimal big = *ParseRate("999999999999.999999", "r");
  const Decimal tiny = *ParseRate("0.000000000000000001", "r");
  EXPECT_TRUE(Convert(std::numeric_limits<int64_t>::min() + 1, 0, 6,
                      {tiny, tiny}, {big, big})
                  .ok());
}

// Compares Convert against the same rational computed in 128 bits where it
// fits (small amounts and rates).
TEST(Convert, MatchesNarrowReference) {
  std::mt19937_64 rng(19);
  for (int i = 0; i < 20000; ++i) {
    const int64_t amount =
        static_cast<int64_t>(rng() % 2'000'000'000) - 1'000'000'000;
    const Decimal rate{1 + rng() % 1'000'000, static_cast<int>(rng() % 7)};
    const int32_t bp = static_cast<int32_t>(rng() % 10001);
    const int from = static_cast<int>(rng() % 4);
    const int to = static_cast<int>(rng() % 4);
    __int128 num = static_cast<__int128>(amount) * rate.mantissa * bp;
    __int128 den = 10000;
    for (int k = 0; k < rate.scale; ++k) den *= 10;
    for (int k = to; k < from; ++k) den *= 10;
    for (int k = from; k < to; ++k) num *= 10;
    __int128 q = num / den;
    const __int128 r = num % den;
    const __int128 twice = 2 * (r < 0 ? -r : r);
    if (twice > den || (twice == den && q % 2 != 0)) q += num < 0 ? -1 : 1;
    auto got = Convert(amount, from, to, {rate}, {}, bp);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(*got, static_cast<int64_t>(q))
        << amount << " × " << FormatRate(rate) << " bp " << bp;
  }
}

TEST(RateTable, DatedRatesAndRanges) {
  RateTable t("CNY");
  const absl::CivilDay jan(2026, 1, 1), apr(2026, 4, 1), jul(2026, 7, 1);
  t.Set("USD", jan, *ParseRate("7.1", "r"));
  t.Set("USD", jul, *ParseRate("7.3", "r"));
  EXPECT_FALSE(t.RateOn("USD", jan - 1).has_value());  // missing, not zero
  EXPECT_EQ(FormatRate(*t.RateOn("USD", jan)), "7.1");
  EXPECT_EQ(FormatRate(*t.RateOn("USD", jul - 1)), "7.1");
  EXPECT_EQ(FormatRate(*t.RateOn("USD", jul)), "7.3");
  EXPECT_EQ(FormatRate(*t.RateOn("CNY", jan - 400)), "1");
  // A rate inserted between two: in force from its start to the day before
  // the next one.
  EXPECT_EQ(t.RangeOf("USD", apr), std::make_pair(apr, jul - 1));
  EXPECT_EQ(t.RangeOf("USD", jul).second, absl::CivilDay::max());
  t.Set("USD", apr, *ParseRate("7.2", "r"));
  EXPECT_EQ(FormatRate(*t.RateOn("USD", apr + 10)), "7.2");
  t.Set("USD", apr, std::nullopt);
  EXPECT_EQ(FormatRate(*t.RateOn("USD", apr + 10)), "7.1");
  EXPECT_FALSE(t.RateOn("EUR", jul).has_value());
}

}  // namespace
}  // namespace salesops::money
