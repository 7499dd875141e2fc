// Issue 19, "Must show" 1, through the real binaries: a funnel in three
// currencies (JPY with no decimals, KWD with three, USD) on a suite reporting
// in EUR, against figures computed by hand to the cent; a rate inserted
// between two existing ones re-values exactly the deals whose close dates fall
// in its range; a week closed before a rate change keeps its figures; a
// currency without a rate is reported, not counted as zero.

#include "absl/strings/str_cat.h"
#include "tests/suite.h"

namespace salesops {
namespace {

using e2e::Suite;

std::unique_ptr<grpc::ClientContext> Admin() {
  return e2e::Ctx(e2e::kAdminToken);
}

class CurrencyE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(suite_.Build()); }

  void Rate(const char* currency, absl::CivilDay start, const char* rate) {
    v1::SetExchangeRateRequest req;
    req.set_currency(currency);
    *req.mutable_start_date() = e2e::ToDate(start);
    req.set_rate(rate);
    v1::ExchangeRate out;
    const grpc::Status s =
        suite_.accounts().SetExchangeRate(Admin().get(), req, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // A CONSIDERATION (10%) deal of rep A closing on `close`.
  void Deal(const std::string& name, int64_t amount, const char* currency,
            absl::CivilDay close) {
    v1::Opportunity o =
        Suite::NewOpp(name, suite_.acc_a.id(), suite_.rep_a.id(), amount);
    o.mutable_amount()->set_currency(currency);
    *o.mutable_expected_close_date() = e2e::ToDate(close);
    v1::Opportunity out;
    const grpc::Status s = suite_.CreateOpp(e2e::kAdminToken, o, name, &out);
    ASSERT_TRUE(s.ok()) << name << ": " << s.error_message();
  }

  // Waits (30 s) until the team's weighted pipeline is `want`.
  v1::Forecast WaitWeighted(int64_t want) {
    v1::Forecast f;
    for (int i = 0; i < 150; ++i) {
      f.Clear();
      const grpc::Status s =
          suite_.GetForecast(e2e::kAdminToken, suite_.team.id(), &f);
      if (s.ok() && f.node().pipeline_weighted().units_minor() == want) {
        return f;
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
    ADD_FAILURE() << "weighted never became " << want << ": "
                  << f.ShortDebugString();
    return f;
  }

  Suite suite_;
};

TEST_F(CurrencyE2eTest, ThreeCurrenciesDatedRatesSnapshotsAndMissingRates) {
  const absl::CivilDay q = e2e::CloseDate();  // the quarter's last day
  const absl::CivilDay first = q - 60;        // well inside the quarter
  Rate("USD", absl::CivilDay(2026, 1, 1), "0.9");
  Rate("USD", q - 10, "0.8");
  Rate("JPY", absl::CivilDay(2026, 1, 1), "0.0062");
  Rate("KWD", absl::CivilDay(2026, 1, 1), "2.75");
  // 10% each, one rounding per deal:
  //   u1 1,234.57 USD at 0.9 → 111,111.3 → w 11,111.13 → 11111 cents
  //   u2 1,000.00 USD closing after q-10, at 0.8 → w 8000
  //   j1 1,234,567 JPY at 0.0062 → 765,431.54 cents → w 76543.154 → 76543
  //   k1 1,000.001 KWD at 2.75 → 275,000.275 cents → w 27500.0275 → 27500
  Deal("u1", 123457, "USD", first);
  Deal("u2", 100000, "USD", q - 5);
  Deal("j1", 1234567, "JPY", first);
  Deal("k1", 1000001, "KWD", first);
  const v1::Forecast before = WaitWeighted(11111 + 8000 + 76543 + 27500);
  EXPECT_EQ(before.currency(), "EUR");
  EXPECT_EQ(before.missing_rates_size(), 0);

  // A week closed now keeps its figures whatever rates do next.
  v1::CloseWeekRequest close;
  close.set_fiscal_year(static_cast<int>(q.year()));
  close.set_fiscal_quarter((q.month() - 1) / 3 + 1);
  close.set_week(1);
  v1::CloseWeekResponse closed;
  ASSERT_TRUE(suite_.forecast().CloseWeek(Admin().get(), close, &closed).ok());
  const auto week1 = [&] {
    v1::GetProgressRequest req;
    req.set_node_id(suite_.team.id());
    req.set_fiscal_year(close.fiscal_year());
    req.set_fiscal_quarter(close.fiscal_quarter());
    v1::GetProgressResponse out;
    EXPECT_TRUE(suite_.forecast().GetProgress(Admin().get(), req, &out).ok());
    for (const v1::WeekProgress& w : out.weeks()) {
      if (w.week() == 1) return w.forecast().units_minor();
    }
    return int64_t{-1};
  };
  const int64_t snapshot = week1();
  EXPECT_EQ(snapshot, 11111 + 8000 + 76543 + 27500);

  // A USD rate inserted between the two: from first-10 to q-11 at 0.85.
  // Only u1 (first) moves: 123457 × 0.85 × 10% = 10493.845 → 10494.
  Rate("USD", first - 10, "0.85");
  const v1::Forecast after = WaitWeighted(10494 + 8000 + 76543 + 27500);
  EXPECT_EQ(week1(), snapshot);

  // A deal in a currency without a rate: counted in the funnel, listed as
  // missing, out of every converted figure.
  Deal("c1", 50000, "CNY", first);
  bool missing = false;
  for (int i = 0; i < 150 && !missing; ++i) {
    v1::Forecast f;
    ASSERT_TRUE(
        suite_.GetForecast(e2e::kAdminToken, suite_.team.id(), &f).ok());
    missing = f.missing_rates_size() == 1 &&
              f.missing_rates(0).currency() == "CNY" &&
              f.missing_rates(0).count() == 1 &&
              f.missing_rates(0).amount().units_minor() == 50000 &&
              f.node().pipeline_weighted().units_minor() ==
                  after.node().pipeline_weighted().units_minor();
    if (!missing) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(missing);
}

}  // namespace
}  // namespace salesops
