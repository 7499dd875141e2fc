// Credit in many currencies through the gRPC API (issue 19, docs/DECISIONS.md
// D40): a limit in USD against receivables in EUR and JPY converted at
// today's rate, a missing rate that yields REVIEW (never APPROVE) and a
// missing_rates entry, aging, DSO and the worklist in the reporting currency
// (EUR) at the rate of their as-of date, and allocations that must be in
// their receivable's currency. Every figure is computed by hand in the
// comments. The fixture: credit_service_test_fixture.h.

#include "services/credit/credit_service_test_fixture.h"

namespace salesops::credit::credit_test {
namespace {

using ::salesops::money::Make;

class CreditCurrencyTest : public CreditServiceTest {
 protected:
  void SetUp() override {
    CreditServiceTest::SetUp();
    ASSERT_FALSE(HasFatalFailure());
    // To EUR (the reporting currency): 1 USD = 0.92 EUR until 2026-03-02,
    // 0.90 from 2026-03-03; 1 JPY = 0.0061 EUR. No KWD rate.
    SetRate("USD", absl::CivilDay(2026, 1, 1), "0.92");
    SetRate("USD", absl::CivilDay(2026, 3, 3), "0.90");
    SetRate("JPY", absl::CivilDay(2026, 1, 1), "0.0061");
  }

  v1::Receivable PostIn(const std::string& account, const v1::Money& amount,
                        absl::CivilDay issue, absl::CivilDay due) {
    v1::PostReceivableRequest req = PostRequest(account, 1, issue, due);
    *req.mutable_receivable()->mutable_amount() = amount;
    v1::Receivable out;
    EXPECT_TRUE(IsOk(Call(&Stub::PostReceivable, req, &out)))
        << "PostReceivable " << amount.ShortDebugString();
    return out;
  }

  void LimitIn(const std::string& account, const v1::Money& limit) {
    v1::SetCreditProfileRequest req;
    v1::CreditProfile* p = req.mutable_profile();
    p->set_account_id(account);
    *p->mutable_credit_limit() = limit;
    p->set_payment_terms_days(30);
    p->set_risk_class(v1::RISK_CLASS_LOW);
    v1::CreditProfile out;
    ASSERT_TRUE(IsOk(Call(&Stub::SetCreditProfile, req, &out)));
    EXPECT_EQ(out.credit_limit().currency(), limit.currency());
  }

  v1::CreditCheck CheckIn(const std::string& account, const v1::Money& amount) {
    v1::CheckCreditRequest req;
    req.set_account_id(account);
    *req.mutable_amount() = amount;
    v1::CreditCheck out;
    EXPECT_TRUE(IsOk(Call(&Stub::CheckCredit, req, &out)));
    return out;
  }
};

TEST_F(CreditCurrencyTest, ExposureConvertsIntoTheLimitsCurrencyAtTodaysRate) {
  LimitIn(kAccE1, Make(330'000, "USD"));  // 3300.00 USD
  const absl::CivilDay jan(2026, 1, 20), due(2026, 4, 30);
  PostIn(kAccE1, Make(100'000, "EUR"), jan, due);  // 1000.00 EUR
  PostIn(kAccE1, Make(250'000, "JPY"), jan, due);  // 250000 JPY
  // 1000.00 EUR / 0.92 = 1086.9565 USD → 108696 cents; 250000 JPY × 0.0061
  // / 0.92 = 1657.6087 USD → 165761 cents (one rounding each): 274457.
  v1::CreditCheck ok = CheckIn(kAccE1, Make(50'000, "USD"));
  EXPECT_EQ(ok.decision(), v1::CREDIT_DECISION_APPROVE) << ok.DebugString();
  EXPECT_EQ(ok.exposure().units_minor(), 274'457);
  EXPECT_EQ(ok.exposure().currency(), "USD");
  EXPECT_EQ(ok.credit_limit().units_minor(), 330'000);
  EXPECT_EQ(ok.credit_limit().currency(), "USD");
  EXPECT_EQ(ok.amount().currency(), "USD");
  EXPECT_EQ(ok.missing_rates_size(), 0);
  // 274457 + 60000 = 334457 > 330000.
  v1::CreditCheck over = CheckIn(kAccE1, Make(60'000, "USD"));
  EXPECT_EQ(over.decision(), v1::CREDIT_DECISION_BLOCK);
  EXPECT_THAT(over.reasons(),
              ::testing::Contains(
                  "would exceed the credit limit: exposure 2744.57 + amount "
                  "600.00 = 3344.57 > limit 3300.00"));
  // The amount asked in JPY converts too: 100000 × 0.0061 / 0.92 = 663.04
  // USD → 66304; 274457 + 66304 = 340761 > 330000. It is kept as asked.
  v1::CreditCheck jpy = CheckIn(kAccE1, Make(100'000, "JPY"));
  EXPECT_EQ(jpy.decision(), v1::CREDIT_DECISION_BLOCK);
  EXPECT_EQ(jpy.amount().units_minor(), 100'000);
  EXPECT_EQ(jpy.amount().currency(), "JPY");
  // Tomorrow USD is 0.90: 100000/0.90 → 111111, 152500/0.90 → 169444;
  // 280555 + 50000 = 330555 > 330000: the same ask now BLOCKs.
  SetToday(absl::CivilDay(2026, 3, 3));
  v1::CreditCheck later = CheckIn(kAccE1, Make(50'000, "USD"));
  EXPECT_EQ(later.exposure().units_minor(), 280'555);
  EXPECT_EQ(later.decision(), v1::CREDIT_DECISION_BLOCK);
}

TEST_F(CreditCurrencyTest, AMissingRateIsReviewedAndListedNeverApproved) {
  LimitIn(kAccE2, Make(100'000'000, "EUR"));  // 1,000,000.00 EUR
  const absl::CivilDay feb(2026, 2, 10), due(2026, 5, 1);
  PostIn(kAccE2, Make(1'234'567, "KWD"), feb, due);  // 1234.567 KWD (3 dp)
  v1::CreditCheck c = CheckIn(kAccE2, Make(1'000, "EUR"));
  EXPECT_EQ(c.decision(), v1::CREDIT_DECISION_REVIEW) << c.DebugString();
  EXPECT_THAT(c.reasons(),
              ::testing::Contains(::testing::HasSubstr(
                  "no exchange rate for KWD on 2026-03-02 (1 amount, "
                  "1234.567 KWD unconverted)")));
  ASSERT_EQ(c.missing_rates_size(), 1);
  EXPECT_EQ(c.missing_rates(0).currency(), "KWD");
  EXPECT_EQ(Str(c.missing_rates(0).date()), "2026-03-02");
  EXPECT_EQ(c.missing_rates(0).count(), 1);
  EXPECT_EQ(c.missing_rates(0).amount().units_minor(), 1'234'567);
  EXPECT_EQ(c.missing_rates(0).amount().currency(), "KWD");
  EXPECT_EQ(c.exposure().units_minor(), 0);  // nothing converted, not zeroed
  // An amount asked in a currency without a rate is reviewed as well.
  v1::CreditCheck asked = CheckIn(kAccE1, Make(5'000, "KWD"));
  EXPECT_NE(asked.decision(), v1::CREDIT_DECISION_APPROVE);
  ASSERT_EQ(asked.missing_rates_size(), 1);
  EXPECT_EQ(asked.missing_rates(0).amount().units_minor(), 5'000);
  // With a KWD rate (3.0 EUR) the same check is decided: 1234.567 × 3 =
  // 3703.701 EUR → 370370 cents.
  SetRate("KWD", absl::CivilDay(2026, 3, 1), "3.0");
  v1::CreditCheck rated = CheckIn(kAccE2, Make(1'000, "EUR"));
  EXPECT_EQ(rated.decision(), v1::CREDIT_DECISION_APPROVE);
  EXPECT_EQ(rated.exposure().units_minor(), 370'370);
  EXPECT_EQ(rated.missing_rates_size(), 0);
}

// EUR 1000.00 due 2026-01-31 (30 days late on 2026-03-02), JPY 250000 not
// due yet, USD 100.00 due 2025-10-31 (122 days late), KWD without a rate.
class CreditReportingTest : public CreditCurrencyTest {
 protected:
  void SetUp() override {
    CreditCurrencyTest::SetUp();
    ASSERT_FALSE(HasFatalFailure());
    PostIn(kAccE1, Make(100'000, "EUR"), absl::CivilDay(2026, 1, 1),
           absl::CivilDay(2026, 1, 31));
    PostIn(kAccE1, Make(250'000, "JPY"), absl::CivilDay(2026, 2, 20),
           absl::CivilDay(2026, 3, 22));
    PostIn(kAccE1, Make(10'000, "USD"), absl::CivilDay(2025, 10, 1),
           absl::CivilDay(2025, 10, 31));
    PostIn(kAccE1, Make(1'234'567, "KWD"), absl::CivilDay(2026, 1, 15),
           absl::CivilDay(2026, 2, 14));
  }
};

TEST_F(CreditReportingTest, AgingIsInTheReportingCurrencyAtTheAsOfRate) {
  v1::Aging aging;
  ASSERT_TRUE(IsOk(Aging(kAccE1, "", std::nullopt, &aging)));
  // JPY 250000 × 0.0061 = 1525.00 EUR; USD 100.00 × 0.92 = 92.00 EUR.
  EXPECT_EQ(Buckets(aging.total()),
            (std::vector<int64_t>{152'500, 100'000, 0, 0, 9'200, 0, 261'700}));
  EXPECT_EQ(aging.total().total().currency(), "EUR");
  ASSERT_EQ(aging.missing_rates_size(), 1);
  EXPECT_EQ(aging.missing_rates(0).currency(), "KWD");
  EXPECT_EQ(aging.missing_rates(0).count(), 1);
  EXPECT_EQ(aging.missing_rates(0).amount().units_minor(), 1'234'567);
  // As of 2025-12-31 only the USD receivable was issued, and USD had no
  // rate yet: nothing is converted, it is listed for that day.
  v1::Aging before;
  ASSERT_TRUE(IsOk(Aging(kAccE1, "", absl::CivilDay(2025, 12, 31), &before)));
  EXPECT_EQ(before.total().total().units_minor(), 0);
  ASSERT_EQ(before.missing_rates_size(), 1);
  EXPECT_EQ(before.missing_rates(0).currency(), "USD");
  EXPECT_EQ(Str(before.missing_rates(0).date()), "2025-12-31");
}

TEST_F(CreditReportingTest, DsoAndWorklistAreInTheReportingCurrency) {
  // DSO 2026-01-01..2026-03-02 at the rates of 2026-03-02: at end 261700,
  // credit sales 100000 + 152500 = 252500 (USD issued before, KWD left
  // out), 61 days: 261700 × 61000 / 252500 = 63222.6 → 63223.
  v1::GetDsoRequest dreq;
  dreq.set_account_id(kAccE1);
  *dreq.mutable_from() = ToProto(absl::CivilDay(2026, 1, 1));
  *dreq.mutable_to() = ToProto(absl::CivilDay(2026, 3, 2));
  v1::Dso dso;
  ASSERT_TRUE(IsOk(Call(&Stub::GetDso, dreq, &dso)));
  EXPECT_EQ(dso.receivables_at_end().units_minor(), 261'700);
  EXPECT_EQ(dso.credit_sales().units_minor(), 252'500);
  EXPECT_EQ(dso.receivables_at_end().currency(), "EUR");
  EXPECT_EQ(dso.dso_milli_days(), 63'223);
  ASSERT_EQ(dso.missing_rates_size(), 1);
  EXPECT_EQ(dso.missing_rates(0).currency(), "KWD");

  // Worklist priorities from EUR amounts (no profile: weight 2): EUR
  // 100000 × 30 × 2 = 6000000, USD 9200 × 122 × 2 = 2244800; KWD listed
  // with priority 0 and rate_missing.
  v1::Worklist w;
  ASSERT_TRUE(IsOk(Worklist(kGlobal, std::nullopt, &w)));
  EXPECT_EQ(w.reporting_currency(), "EUR");
  ASSERT_EQ(w.items_size(), 3);
  EXPECT_EQ(w.items(0).receivable().amount().currency(), "EUR");
  EXPECT_EQ(w.items(0).priority(), 6'000'000);
  EXPECT_EQ(w.items(1).receivable().amount().currency(), "USD");
  EXPECT_EQ(w.items(1).priority(), 2'244'800);
  EXPECT_EQ(w.items(2).receivable().amount().currency(), "KWD");
  EXPECT_EQ(w.items(2).priority(), 0);
  EXPECT_TRUE(w.items(2).rate_missing());
  ASSERT_EQ(w.missing_rates_size(), 1);
  EXPECT_EQ(w.missing_rates(0).currency(), "KWD");
}

TEST_F(CreditCurrencyTest, AllocationsAreInTheirReceivablesCurrency) {
  const absl::CivilDay jan(2026, 1, 20), due(2026, 4, 30);
  const v1::Receivable yen = PostIn(kAccE1, Make(250'000, "JPY"), jan, due);
  const v1::Receivable eur = PostIn(kAccE1, Make(100'000, "EUR"), jan, due);
  EXPECT_EQ(yen.open().currency(), "JPY");
  // An EUR amount allocated to the JPY receivable.
  v1::RecordPaymentRequest req = PayRequest(
      kAccE1, 1'000, absl::CivilDay(2026, 3, 1), {{yen.id(), 1'000}});
  v1::Payment out;
  grpc::Status s = Call(&Stub::RecordPayment, req, &out);
  ASSERT_TRUE(IsError(s, Code::INVALID_ARGUMENT,
                      "allocations[0].amount.currency: must be JPY"));
  EXPECT_THAT(s.error_message(),
              HasSubstr("an allocation is in its receivable's currency"));
  // In JPY for the JPY receivable, but the payment is in EUR.
  *req.mutable_allocations(0)->mutable_amount() = Make(1'000, "JPY");
  s = Call(&Stub::RecordPayment, req, &out);
  ASSERT_TRUE(
      IsError(s, Code::INVALID_ARGUMENT, "allocations[0].amount.currency"));
  EXPECT_THAT(s.error_message(), HasSubstr("the payment is in EUR"));
  // A JPY payment without allocations pays only the JPY receivable.
  *req.mutable_amount() = Make(250'000, "JPY");
  req.clear_allocations();
  ASSERT_TRUE(IsOk(Call(&Stub::RecordPayment, req, &out)));
  EXPECT_EQ(out.amount().currency(), "JPY");
  EXPECT_EQ(GetReceivable(yen.id()).state(), v1::RECEIVABLE_STATE_PAID);
  EXPECT_EQ(GetReceivable(yen.id()).paid().currency(), "JPY");
  EXPECT_EQ(GetReceivable(eur.id()).state(), v1::RECEIVABLE_STATE_OPEN);
  // A promise must be in its receivables' currency.
  v1::RecordPromiseRequest promise;
  promise.add_receivable_ids(eur.id());
  *promise.mutable_amount() = Make(1'000, "USD");
  *promise.mutable_promised_date() = ToProto(absl::CivilDay(2026, 3, 10));
  v1::Promise p;
  ASSERT_TRUE(IsError(Call(&Stub::RecordPromise, promise, &p),
                      Code::INVALID_ARGUMENT, "amount.currency: must be EUR"));
}

// The gauge salesops_credit_missing_exchange_rates: open receivables whose
// currency has no rate for today (a paid one is not counted).
TEST_F(CreditCurrencyTest, TheGaugeCountsOpenReceivablesWithoutTodaysRate) {
  int64_t reported = -1;
  job_->SetMissingRatesListener([&](int64_t n) { reported = n; });
  ASSERT_EQ(job_->ReportMissingRates().value(), 0);
  EXPECT_EQ(reported, 0);
  const absl::CivilDay feb(2026, 2, 10), due(2026, 5, 1);
  PostIn(kAccE1, Make(1'000, "KWD"), feb, due);
  PostIn(kAccE1, Make(2'000, "KWD"), feb, due);
  const v1::Receivable chf = PostIn(kAccE1, Make(3'000, "CHF"), feb, due);
  PostIn(kAccE1, Make(4'000, "EUR"), feb, due);  // the reporting currency
  PostIn(kAccE1, Make(5'000, "USD"), feb, due);
  EXPECT_EQ(job_->ReportMissingRates().value(), 3);
  EXPECT_EQ(reported, 3);
  v1::RecordPaymentRequest pay =
      PayRequest(kAccE1, 1, absl::CivilDay(2026, 3, 1));
  *pay.mutable_amount() = Make(3'000, "CHF");
  v1::Payment out;
  ASSERT_TRUE(IsOk(Call(&Stub::RecordPayment, pay, &out)));
  EXPECT_EQ(GetReceivable(chf.id()).state(), v1::RECEIVABLE_STATE_PAID);
  EXPECT_EQ(job_->ReportMissingRates().value(), 2);
  // A KWD rate from tomorrow: still missing today, not tomorrow.
  SetRate("KWD", absl::CivilDay(2026, 3, 3), "3.25");
  EXPECT_EQ(job_->ReportMissingRates().value(), 2);
  SetToday(absl::CivilDay(2026, 3, 3));
  EXPECT_EQ(job_->ReportMissingRates().value(), 0);
  EXPECT_EQ(reported, 0);
}

}  // namespace
}  // namespace salesops::credit::credit_test
