// Credit's conversions (currency_rules.h) and the credit decision over
// converted exposure (credit_rules.h ConvertExposure/DecideCredit), pure:
// figures by hand, one half-even rounding per amount, missing rates listed
// and never APPROVEd (issue 19, docs/DECISIONS.md D40).

#include "services/credit/currency_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "common/money/money.h"
#include "services/credit/credit_rules.h"
#include "services/credit/receivables.h"

namespace salesops::credit {
namespace {

using ::salesops::money::Make;
using ::testing::Contains;
using ::testing::HasSubstr;

const absl::CivilDay kToday(2026, 3, 2);

// To EUR: 1 USD = 0.92 EUR, 1 JPY = 0.0061 EUR (from 2026-01-01).
money::RateTable Rates() {
  money::RateTable t("EUR");
  t.Set("USD", absl::CivilDay(2026, 1, 1), money::Decimal{92, 2});
  t.Set("JPY", absl::CivilDay(2026, 1, 1), money::Decimal{61, 4});
  return t;
}

TEST(ConverterTest, OneRoundingPerAmountThroughTheReportingCurrency) {
  const money::RateTable t = Rates();
  Converter usd(&t, "USD", kToday);
  // 1000.00 EUR / 0.92 = 1086.956… USD → 108696 cents.
  EXPECT_EQ(usd.Convert(Make(100'000, "EUR")).value(), 108'696);
  // 250000 JPY (0 decimals) × 0.0061 / 0.92 = 1657.608… USD → 165761.
  EXPECT_EQ(usd.Convert(Make(250'000, "JPY")).value(), 165'761);
  // Already in the target: taken as is, no rate needed.
  EXPECT_EQ(usd.Convert(Make(123, "USD")).value(), 123);
  Converter eur(&t, "EUR", kToday);
  // 100.00 USD × 0.92 = 92.00 EUR; negative amounts round symmetrically.
  EXPECT_EQ(eur.Convert(Make(10'000, "USD")).value(), 9'200);
  EXPECT_EQ(eur.Convert(Make(-10'000, "USD")).value(), -9'200);
  EXPECT_FALSE(usd.any_missing());
  EXPECT_FALSE(eur.any_missing());
}

TEST(ConverterTest, AMissingRateIsRecordedNotZero) {
  const money::RateTable t = Rates();
  Converter eur(&t, "EUR", kToday);
  EXPECT_EQ(eur.Convert(Make(1'234'567, "KWD")).value(), std::nullopt);
  EXPECT_EQ(eur.Convert(Make(1'000, "KWD")).value(), std::nullopt);
  // Before the first USD rate.
  Converter old(&t, "EUR", absl::CivilDay(2025, 12, 31));
  EXPECT_EQ(old.Convert(Make(10'000, "USD")).value(), std::nullopt);
  const std::vector<v1::MissingRate> m = eur.Missing().value();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].currency(), "KWD");
  EXPECT_EQ(m[0].count(), 2);
  EXPECT_EQ(m[0].amount().units_minor(), 1'235'567);
  EXPECT_EQ(m[0].amount().currency(), "KWD");
  EXPECT_EQ(m[0].date().year(), 2026);
  EXPECT_EQ(m[0].date().day(), 2);
  EXPECT_EQ(MissingRateReason(m[0], "EUR"),
            "no exchange rate for KWD on 2026-03-02 (2 amounts, 1235.567 KWD "
            "unconverted): exposure cannot be compared with the limit in EUR");
  // A target without a rate: listed under the target.
  Converter chf(&t, "CHF", kToday);
  EXPECT_EQ(chf.Convert(Make(100, "EUR")).value(), std::nullopt);
  ASSERT_EQ(chf.Missing().value().size(), 1u);
  EXPECT_EQ(chf.Missing().value()[0].currency(), "CHF");
  EXPECT_EQ(chf.Missing().value()[0].count(), 1);
}

TEST(ConvertExposureTest, LimitInUsdOverEurAndJpyReceivables) {
  const money::RateTable t = Rates();
  Converter usd(&t, "USD", kToday);
  CreditFacts f;
  v1::CreditProfile p;
  *p.mutable_credit_limit() = Make(330'000, "USD");
  f.profile = p;
  ASSERT_TRUE(ConvertExposure({Make(100'000, "EUR"), Make(250'000, "JPY")},
                              Make(50'000, "USD"), "acc_1", usd, &f)
                  .ok());
  EXPECT_EQ(f.exposure, 274'457);  // 108696 + 165761
  EXPECT_EQ(f.amount, 50'000);
  EXPECT_EQ(f.currency, "USD");
  EXPECT_TRUE(f.missing_rates.empty());
  EXPECT_EQ(DecideCredit(f).decision, v1::CREDIT_DECISION_APPROVE);
  f.amount = 55'544;  // 274457 + 55544 = 330001 > 330000
  EXPECT_EQ(DecideCredit(f).decision, v1::CREDIT_DECISION_BLOCK);
}

TEST(ConvertExposureTest, AMissingRateIsNeverApproved) {
  const money::RateTable t = Rates();
  CreditFacts f;
  v1::CreditProfile p;
  *p.mutable_credit_limit() = Make(100'000'000, "EUR");
  f.profile = p;
  Converter eur(&t, "EUR", kToday);
  ASSERT_TRUE(ConvertExposure({Make(100'000, "EUR"), Make(5'000, "KWD")},
                              Make(1'000, "EUR"), "acc_1", eur, &f)
                  .ok());
  EXPECT_EQ(f.exposure, 100'000);  // the converted part only
  ASSERT_EQ(f.missing_rates.size(), 1u);
  const CreditVerdict v = DecideCredit(f);
  EXPECT_EQ(v.decision, v1::CREDIT_DECISION_REVIEW);
  EXPECT_THAT(v.reasons,
              Contains(HasSubstr("no exchange rate for KWD on "
                                 "2026-03-02 (1 amount, 5.000 KWD")));
  // Already past the limit with what converts: BLOCK (it can only grow).
  f.profile->mutable_credit_limit()->set_units_minor(50'000);
  EXPECT_EQ(DecideCredit(f).decision, v1::CREDIT_DECISION_BLOCK);
  // The amount asked without a rate: not APPROVE either.
  CreditFacts g;
  g.profile = p;
  Converter eur2(&t, "EUR", kToday);
  ASSERT_TRUE(ConvertExposure({}, Make(5'000, "KWD"), "acc_1", eur2, &g).ok());
  EXPECT_FALSE(g.amount_known);
  EXPECT_EQ(DecideCredit(g).decision, v1::CREDIT_DECISION_REVIEW);
}

TEST(CurrencyAllocationTest, AnAllocationMustBeInItsReceivablesCurrency) {
  v1::Receivable yen;
  yen.set_id("rcv_1");
  *yen.mutable_amount() = Make(250'000, "JPY");
  Settle(&yen, "EUR");
  EXPECT_EQ(yen.open().currency(), "JPY");
  v1::Allocation a;
  a.set_receivable_id("rcv_1");
  *a.mutable_amount() = Make(1'000, "EUR");
  absl::StatusOr<std::vector<v1::Allocation>> r =
      Allocate({yen}, 1'000, {a}, "EUR");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("allocations[0].amount.currency: must be JPY, the "
                        "currency of rcv_1"));
  *a.mutable_amount() = Make(1'000, "JPY");
  EXPECT_TRUE(Allocate({yen}, 1'000, {a}, "JPY").ok());
  // Oldest-first allocation only pays receivables in the payment's currency.
  EXPECT_EQ(Allocate({yen}, 1'000, {}, "EUR").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace salesops::credit
