// Dated exchange rates (exchange_rate_rules.h), without a store or server.

#include "services/accounts/exchange_rate_rules.h"

#include <gtest/gtest.h>

#include "services/accounts/rules_test_support.h"

namespace salesops::accounts {
namespace {

using rules_testing::HasError;
using rules_testing::kNow;

v1::SetExchangeRateRequest Req(const std::string& currency,
                               const std::string& rate, int month = 1) {
  v1::SetExchangeRateRequest req;
  req.set_currency(currency);
  req.mutable_start_date()->set_year(2026);
  req.mutable_start_date()->set_month(month);
  req.mutable_start_date()->set_day(1);
  req.set_rate(rate);
  return req;
}

// Checks and applies `req` to `stored`; fails the test on an error.
ExchangeRateChange Apply(const std::optional<v1::ExchangeRate>& stored,
                         const v1::SetExchangeRateRequest& req,
                         absl::Time now = kNow) {
  absl::StatusOr<ExchangeRateInput> in = CheckSetExchangeRate(req, "EUR");
  EXPECT_TRUE(in.ok()) << in.status();
  if (!in.ok()) {
    return {};
  }
  absl::StatusOr<ExchangeRateChange> c =
      SetExchangeRate(stored, req, *in, "EUR", "finance", now);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : ExchangeRateChange{};
}

TEST(ExchangeRateRulesTest, IdsSortByCurrencyThenStart) {
  EXPECT_EQ(ExchangeRateId("USD", absl::CivilDay(2026, 7, 1)),
            "USD/2026-07-01");
  EXPECT_LT(ExchangeRateId("CNY", absl::CivilDay(2027, 1, 1)),
            ExchangeRateId("USD", absl::CivilDay(2026, 1, 1)));
  EXPECT_LT(ExchangeRateId("USD", absl::CivilDay(2026, 1, 31)),
            ExchangeRateId("USD", absl::CivilDay(2026, 2, 1)));
}

TEST(ExchangeRateRulesTest, EveryBadInputIsNamed) {
  const auto bad = [](const v1::SetExchangeRateRequest& req,
                      std::string_view part) {
    return HasError(CheckSetExchangeRate(req, "EUR").status(),
                    absl::StatusCode::kInvalidArgument, part);
  };
  EXPECT_TRUE(CheckSetExchangeRate(Req("USD", "0.92"), "EUR").ok());
  EXPECT_TRUE(bad(Req("", "1"), "currency: required"));
  EXPECT_TRUE(bad(Req("usd", "1"), "currency: must be 3 uppercase letters"));
  EXPECT_TRUE(bad(Req("DEM", "1"), "not an active ISO 4217 currency"));
  EXPECT_TRUE(bad(Req("EUR", "1"),
                  "currency: must differ from the reporting currency "
                  "EUR"));
  EXPECT_TRUE(bad(Req("USD", ""), "rate: required"));
  EXPECT_TRUE(bad(Req("USD", "0"), "rate"));
  EXPECT_TRUE(bad(Req("USD", "-1"), "rate"));
  EXPECT_TRUE(bad(Req("USD", "1e3"), "rate"));
  EXPECT_TRUE(bad(Req("USD", "1000000000001"), "rate"));
  v1::SetExchangeRateRequest bad_day = Req("USD", "1");
  bad_day.mutable_start_date()->set_day(31);
  bad_day.mutable_start_date()->set_month(2);
  EXPECT_TRUE(bad(bad_day, "start_date: 2026-02-31 is not a valid date"));
  v1::SetExchangeRateRequest no_day = Req("USD", "1");
  no_day.clear_start_date();
  EXPECT_TRUE(bad(no_day, "start_date: required"));
  v1::SetExchangeRateRequest withdrawn = Req("USD", "1");
  withdrawn.set_withdrawn(true);
  EXPECT_TRUE(bad(withdrawn, "rate: must be empty when withdrawn"));
  v1::SetExchangeRateRequest note = Req("USD", "1");
  note.set_note(std::string(513, 'x'));
  EXPECT_TRUE(bad(note, "note: at most 512 characters (got 513)"));
  note.set_note(std::string(512, 'x'));
  EXPECT_TRUE(CheckSetExchangeRate(note, "EUR").ok());
  v1::SetExchangeRateRequest version = Req("USD", "1");
  version.set_expected_version(-1);
  EXPECT_TRUE(bad(version, "expected_version: must be >= 0"));
  // All at once.
  absl::Status all = CheckSetExchangeRate(Req("EUR", ""), "EUR").status();
  EXPECT_TRUE(HasError(all, absl::StatusCode::kInvalidArgument, "currency"));
  EXPECT_TRUE(HasError(all, absl::StatusCode::kInvalidArgument, "rate"));

  v1::ListExchangeRatesRequest list;
  EXPECT_TRUE(CheckListExchangeRates(list).ok());
  list.set_currency("usd");
  EXPECT_TRUE(HasError(CheckListExchangeRates(list),
                       absl::StatusCode::kInvalidArgument, "currency"));
}

TEST(ExchangeRateRulesTest, CreateThenCorrectKeepsHistory) {
  ExchangeRateChange first = Apply(std::nullopt, Req("USD", "0.9200"));
  EXPECT_TRUE(first.insert);
  EXPECT_FALSE(first.unchanged);
  const v1::ExchangeRate& e = first.rate;
  EXPECT_EQ(e.currency(), "USD");
  EXPECT_EQ(e.start_date().year(), 2026);
  EXPECT_EQ(e.rate(), "0.92");  // canonical
  EXPECT_EQ(e.reporting_currency(), "EUR");
  EXPECT_EQ(e.updated_by(), "finance");
  EXPECT_EQ(e.updated_micros(), Micros(kNow));
  EXPECT_EQ(e.history_size(), 0);

  v1::ExchangeRate stored = e;
  stored.set_version(1);
  v1::SetExchangeRateRequest fix = Req("USD", "0.93");
  fix.set_note("typo");
  ExchangeRateChange second = Apply(stored, fix, kNow + absl::Seconds(1));
  EXPECT_FALSE(second.insert);
  EXPECT_EQ(second.rate.rate(), "0.93");
  EXPECT_EQ(second.rate.note(), "typo");
  ASSERT_EQ(second.rate.history_size(), 1);
  EXPECT_EQ(second.rate.history(0).rate(), "0.92");
  EXPECT_EQ(second.rate.history(0).version(), 1);
  EXPECT_EQ(second.rate.history(0).updated_micros(), Micros(kNow));
}

TEST(ExchangeRateRulesTest, IdenticalRequestIsANoOp) {
  v1::ExchangeRate stored = Apply(std::nullopt, Req("USD", "0.92")).rate;
  stored.set_version(3);
  ExchangeRateChange again = Apply(stored, Req("USD", "0.920"));
  EXPECT_TRUE(again.unchanged);
  EXPECT_EQ(again.rate.version(), 3);
  EXPECT_EQ(again.rate.history_size(), 0);
  // Another note is a change.
  v1::SetExchangeRateRequest noted = Req("USD", "0.92");
  noted.set_note("source: ECB");
  EXPECT_FALSE(Apply(stored, noted).unchanged);
}

TEST(ExchangeRateRulesTest, WithdrawAndReinstate) {
  v1::SetExchangeRateRequest withdraw = Req("USD", "");
  withdraw.set_withdrawn(true);
  absl::StatusOr<ExchangeRateInput> in = CheckSetExchangeRate(withdraw, "EUR");
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_TRUE(HasError(
      SetExchangeRate(std::nullopt, withdraw, *in, "EUR", "f", kNow).status(),
      absl::StatusCode::kNotFound, "nothing to withdraw"));

  v1::ExchangeRate stored = Apply(std::nullopt, Req("USD", "0.92")).rate;
  stored.set_version(1);
  ExchangeRateChange gone = Apply(stored, withdraw);
  EXPECT_TRUE(gone.rate.withdrawn());
  EXPECT_EQ(gone.rate.rate(), "");
  ASSERT_EQ(gone.rate.history_size(), 1);
  EXPECT_EQ(gone.rate.history(0).rate(), "0.92");
  gone.rate.set_version(2);
  EXPECT_TRUE(Apply(gone.rate, withdraw).unchanged);
  ExchangeRateChange back = Apply(gone.rate, Req("USD", "0.95"));
  EXPECT_FALSE(back.rate.withdrawn());
  EXPECT_EQ(back.rate.rate(), "0.95");
  ASSERT_EQ(back.rate.history_size(), 2);
  EXPECT_TRUE(back.rate.history(1).withdrawn());
}

TEST(ExchangeRateRulesTest, ExpectedVersionMustMatch) {
  v1::SetExchangeRateRequest req = Req("USD", "0.92");
  req.set_expected_version(1);
  absl::StatusOr<ExchangeRateInput> in = CheckSetExchangeRate(req, "EUR");
  ASSERT_TRUE(in.ok());
  EXPECT_TRUE(HasError(
      SetExchangeRate(std::nullopt, req, *in, "EUR", "f", kNow).status(),
      absl::StatusCode::kAborted, "no entry yet"));
  v1::ExchangeRate stored = Apply(std::nullopt, Req("USD", "0.9")).rate;
  stored.set_version(2);
  EXPECT_TRUE(
      HasError(SetExchangeRate(stored, req, *in, "EUR", "f", kNow).status(),
               absl::StatusCode::kAborted, "stored version is 2"));
  req.set_expected_version(2);
  EXPECT_TRUE(SetExchangeRate(stored, req, *in, "EUR", "f", kNow).ok());
}

TEST(ExchangeRateRulesTest, HistoryKeepsTheLastHundred) {
  v1::ExchangeRate e = Apply(std::nullopt, Req("USD", "1")).rate;
  e.set_version(1);
  for (int i = 2; i <= 150; ++i) {
    e = Apply(e, Req("USD", std::to_string(i))).rate;
    e.set_version(i);
  }
  ASSERT_EQ(e.history_size(), kMaxRateHistory);
  EXPECT_EQ(e.history(0).rate(), "50");  // the oldest kept
  EXPECT_EQ(e.history(0).version(), 50);
  EXPECT_EQ(e.history(kMaxRateHistory - 1).rate(), "149");
  EXPECT_EQ(e.rate(), "150");
}

}  // namespace
}  // namespace salesops::accounts
