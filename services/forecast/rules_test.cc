// The forecast's write rules as pure functions (out_of_funnel.h, weekly.h):
// what a sale or a submission must hold, and the records stored for them. No
// grpc, no store: the gRPC-level tests (forecast_*_test.cc) keep one test of
// each RPC's wiring.

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/testing/builders.h"
#include "common/time/fiscal_calendar.h"
#include "salesops/v1/accounts.pb.h"
#include "services/forecast/out_of_funnel.h"
#include "services/forecast/weekly.h"

namespace salesops::forecast {
namespace {

using ::salesops::testing::Day;
using ::salesops::testing::Eur;

const absl::Time kNoon = absl::FromCivil(
    absl::CivilSecond(2026, 5, 5, 12, 0, 0), absl::UTCTimeZone());

v1::OutOfFunnelSale Sale(const std::string& rep, int64_t amount,
                         v1::Date date) {
  v1::OutOfFunnelSale s;
  s.set_rep_node_id(rep);
  *s.mutable_amount() = Eur(amount);
  *s.mutable_date() = date;
  return s;
}

bool Names(const absl::Status& s, absl::StatusCode code,
           const std::string& text) {
  return s.code() == code && s.message().find(text) != std::string::npos;
}

TEST(SaleRulesTest, AValidSaleAnswersItsDate) {
  absl::StatusOr<absl::CivilDay> day =
      ValidateSale(Sale("r1", 100, Day(2026, 5, 5)));
  ASSERT_TRUE(day.ok()) << day.status();
  EXPECT_EQ(*day, absl::CivilDay(2026, 5, 5));
}

TEST(SaleRulesTest, EveryViolatedFieldIsNamedAtOnce) {
  v1::OutOfFunnelSale bad = Sale("", 0, Day(2026, 2, 30));
  bad.set_note(std::string(2001, 'x'));
  const absl::Status s = ValidateSale(bad).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  for (const char* field :
       {"sale.rep_node_id", "sale.amount", "sale.date", "sale.note"}) {
    EXPECT_NE(s.message().find(field), std::string::npos) << field << ": " << s;
  }
  // Any active ISO 4217 currency is accepted (issue 19): the forecast
  // converts it.
  v1::OutOfFunnelSale jpy = Sale("r1", 100, Day(2026, 5, 5));
  jpy.mutable_amount()->set_currency("JPY");
  EXPECT_TRUE(ValidateSale(jpy).ok());
}

TEST(SaleRulesTest, EachFieldsRule) {
  const auto check = [](const v1::OutOfFunnelSale& sale,
                        const std::string& text) {
    const absl::Status s = ValidateSale(sale).status();
    EXPECT_TRUE(Names(s, absl::StatusCode::kInvalidArgument, text))
        << text << ": " << s;
  };
  check(Sale("", 100, Day(2026, 5, 5)), "sale.rep_node_id: required");
  check(Sale("r1", 0, Day(2026, 5, 5)), "sale.amount.units_minor: must be > 0");
  check(Sale("r1", -5, Day(2026, 5, 5)), "sale.amount");
  v1::OutOfFunnelSale usd = Sale("r1", 100, Day(2026, 5, 5));
  usd.mutable_amount()->set_currency("DEM");
  check(usd, "sale.amount.currency: DEM is not an active ISO 4217 currency");
  v1::OutOfFunnelSale no_currency = Sale("r1", 100, Day(2026, 5, 5));
  no_currency.mutable_amount()->clear_currency();
  check(no_currency, "sale.amount.currency");
  check(Sale("r1", 100, Day(2026, 2, 30)), "sale.date");
  check(Sale("r1", 100, v1::Date()), "sale.date: required");
  v1::OutOfFunnelSale long_note = Sale("r1", 100, Day(2026, 5, 5));
  long_note.set_note(std::string(2001, 'x'));
  check(long_note, "sale.note");
}

TEST(SaleRulesTest, SalesAreBookedOnAKnownRep) {
  EXPECT_TRUE(CheckSaleNode("r1", v1::ORG_NODE_KIND_REP).ok());
  EXPECT_TRUE(Names(CheckSaleNode("r9", std::nullopt),
                    absl::StatusCode::kFailedPrecondition, "org node r9"));
  EXPECT_TRUE(Names(CheckSaleNode("ta", v1::ORG_NODE_KIND_TEAM),
                    absl::StatusCode::kInvalidArgument, "not a REP node"));
}

TEST(SaleRulesTest, TheStoredSaleIsTrimmedAndSigned) {
  v1::OutOfFunnelSale in = Sale("r1", 100, Day(2026, 5, 5));
  in.set_note("  small order  ");
  const v1::OutOfFunnelSale s = NewSale(in, "oof_1", "anna", kNoon);
  EXPECT_EQ(s.id(), "oof_1");
  EXPECT_EQ(s.note(), "small order");
  EXPECT_EQ(s.recorded_by(), "anna");
  EXPECT_EQ(s.created_micros(), absl::ToUnixMicros(kNoon));
  EXPECT_EQ(s.amount().units_minor(), 100);
}

v1::ForecastSubmission Submission(const std::string& node, int week,
                                  int64_t amount, const std::string& note) {
  v1::ForecastSubmission s;
  s.set_node_id(node);
  s.set_fiscal_year(2026);
  s.set_fiscal_quarter(2);
  s.set_week(week);
  *s.mutable_amount() = Eur(amount);
  s.set_note(note);
  return s;
}

TEST(SubmissionRulesTest, ValidatesEveryField) {
  const FiscalCalendar calendar = FiscalCalendar::Default();
  absl::StatusOr<FiscalQuarter> q =
      ValidateSubmission(Submission("r1", 3, 100, ""), calendar, "EUR");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->fiscal_year, 2026);
  EXPECT_EQ(q->quarter, 2);
  v1::ForecastSubmission bad = Submission("", 14, -1, std::string(2001, 'x'));
  const absl::Status s = ValidateSubmission(bad, calendar, "EUR").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  for (const char* field : {"submission.node_id", "submission.amount",
                            "submission.note", "week: must be 1..13"}) {
    EXPECT_NE(s.message().find(field), std::string::npos) << field << ": " << s;
  }
}

TEST(SubmissionRulesTest, AnotherAmountThanTheComputedOneNeedsANote) {
  EXPECT_TRUE(
      CheckSubmittedAmount(Submission("r1", 3, 100, ""), 100, "EUR").ok());
  EXPECT_TRUE(
      Names(CheckSubmittedAmount(Submission("r1", 3, 150, " "), 100, "EUR"),
            absl::StatusCode::kInvalidArgument, "submission.note: required"));
  EXPECT_TRUE(
      CheckSubmittedAmount(Submission("r1", 3, 150, "deal slipped"), 100, "EUR")
          .ok());
}

TEST(SubmissionRulesTest, TheStoredSubmissionIsLateAfterItsDue) {
  const FiscalQuarter q{2026, 2};
  const v1::ForecastSubmission in = Submission("r1", 3, 150, "  why  ");
  const v1::ForecastSubmission on_time =
      SubmissionOf(in, q, 100, "anna", kNoon, kNoon + absl::Hours(1), "EUR");
  EXPECT_EQ(on_time.computed().units_minor(), 100);
  EXPECT_EQ(on_time.note(), "why");
  EXPECT_EQ(on_time.submitted_by(), "anna");
  EXPECT_FALSE(on_time.late());
  EXPECT_TRUE(
      SubmissionOf(in, q, 100, "anna", kNoon, kNoon - absl::Seconds(1), "EUR")
          .late());
}

TEST(SnapshotTest, ASnapshotCarriesTheFiguresAndTheQuota) {
  NodeFigures f;
  f.closed_minor = 10;
  f.pipeline_weighted_minor = 20;
  f.forecast_minor = 30;
  const v1::WeekSnapshot s =
      SnapshotOf("ta", f, 40, FiscalQuarter{2026, 2}, 5, kNoon, "EUR");
  EXPECT_EQ(s.id(), NodeWeekId("ta", FiscalQuarter{2026, 2}, 5));
  EXPECT_EQ(s.cumulative_closed().units_minor(), 10);
  EXPECT_EQ(s.pipeline_weighted().units_minor(), 20);
  EXPECT_EQ(s.forecast().units_minor(), 30);
  EXPECT_EQ(s.quota().units_minor(), 40);
  EXPECT_EQ(s.quota().currency(), "EUR");
  EXPECT_EQ(s.closed_micros(), absl::ToUnixMicros(kNoon));
}

}  // namespace
}  // namespace salesops::forecast
