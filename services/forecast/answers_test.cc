// The queries' field rules and answers as pure functions (answers.h). The
// gRPC-level tests (forecast_*_test.cc) keep the wiring of each RPC.

#include "services/forecast/answers.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "common/testing/builders.h"

namespace salesops::forecast {
namespace {

using ::salesops::testing::Day;
using ::salesops::testing::Eur;

bool Names(const absl::Status& s, absl::StatusCode code,
           const std::string& text) {
  return s.code() == code && s.message().find(text) != std::string::npos;
}

TEST(QueryRulesTest, ANodeAndAQuarter) {
  absl::StatusOr<FiscalQuarter> q = ValidateNodeQuarter("ta", 2026, 2);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->quarter, 2);
  const absl::Status both = ValidateNodeQuarter("", 2026, 5).status();
  EXPECT_TRUE(Names(both, absl::StatusCode::kInvalidArgument, "node_id"));
  EXPECT_TRUE(
      Names(both, absl::StatusCode::kInvalidArgument, "fiscal_quarter"));
  EXPECT_TRUE(Names(ValidateNodeQuarter("ta", 0, 2).status(),
                    absl::StatusCode::kInvalidArgument, "fiscal_year"));
}

TEST(QueryRulesTest, AFunnelPeriodIsTwoDaysInOrder) {
  v1::GetFunnelAnalyticsRequest req;
  *req.mutable_from() = Day(2026, 4, 1);
  *req.mutable_to() = Day(2026, 6, 30);
  auto period = ValidateFunnelPeriod(req);
  ASSERT_TRUE(period.ok()) << period.status();
  EXPECT_EQ(period->first, absl::CivilDay(2026, 4, 1));
  *req.mutable_to() = Day(2026, 3, 31);
  EXPECT_TRUE(Names(ValidateFunnelPeriod(req).status(),
                    absl::StatusCode::kInvalidArgument,
                    "to: must not be before from"));
  req.clear_from();
  EXPECT_TRUE(Names(ValidateFunnelPeriod(req).status(),
                    absl::StatusCode::kInvalidArgument, "from"));
}

TEST(QueryRulesTest, WaterfallWeeksAreOrderedWithinTheQuarter) {
  v1::GetPipelineChangesRequest req;
  req.set_fiscal_year(2026);
  req.set_fiscal_quarter(2);
  req.set_from_week(0);
  req.set_to_week(13);
  EXPECT_TRUE(ValidateWaterfallWeeks(req, 13).ok());
  req.set_from_week(14);
  req.set_to_week(0);
  const absl::Status s = ValidateWaterfallWeeks(req, 13).status();
  EXPECT_TRUE(Names(s, absl::StatusCode::kInvalidArgument,
                    "from_week: must be 0..13, got 14"));
  EXPECT_TRUE(Names(s, absl::StatusCode::kInvalidArgument,
                    "to_week: must be 1..13, got 0"));
  EXPECT_TRUE(Names(s, absl::StatusCode::kInvalidArgument,
                    "to_week: must be after from_week"));
}

NodeAnswer Answer(const std::string& id, int64_t closed, int64_t pipeline,
                  int64_t quota) {
  NodeAnswer a;
  a.node_id = id;
  a.figures.closed_minor = closed;
  a.figures.pipeline_weighted_minor = pipeline;
  a.figures.forecast_minor = closed + pipeline;
  a.quota_minor = quota;
  return a;
}

TEST(AnswerTest, TheForecastOfANodeAndItsChildren) {
  NodeAnswer node = Answer("ta", 200, 100, 600);
  node.figures.funnel.push_back(
      {StageRef{"buying-cycle-6", "DESIGN"}, StageFigures{1, 500, 100}});
  node.funnel_win_rates_bp = {2000};
  v1::Forecast f;
  ASSERT_TRUE(FillForecast(node, {Answer("r1", 200, 0, 0)},
                           FiscalQuarter{2026, 2}, "EUR", &f)
                  .ok());
  EXPECT_EQ(f.fiscal_quarter(), 2);
  EXPECT_EQ(f.node().gap().units_minor(), 300);
  EXPECT_EQ(f.node().coverage_bp(), 5000);
  EXPECT_TRUE(f.node().needs_more_pipeline());
  ASSERT_EQ(f.funnel_size(), 1);
  EXPECT_EQ(f.funnel(0).win_rate_bp(), 2000);
  EXPECT_EQ(f.funnel(0).weighted().units_minor(), 100);
  ASSERT_EQ(f.children_size(), 1);
  EXPECT_EQ(f.children(0).coverage_bp(), 0);  // no quota
  EXPECT_FALSE(f.children(0).needs_more_pipeline());
}

TEST(AnswerTest, AGapPastInt64IsOutOfRangeNotWrapped) {
  const int64_t max = std::numeric_limits<int64_t>::max();
  NodeAnswer node = Answer("g", 0, 0, max);
  node.figures.forecast_minor = -1;
  v1::Forecast f;
  EXPECT_TRUE(Names(FillForecast(node, {}, FiscalQuarter{2026, 2}, "EUR", &f),
                    absl::StatusCode::kOutOfRange, "gap of org node \"g\""));
}

TEST(AnswerTest, AccuracyIsTheErrorAgainstTheFinalClosed) {
  absl::StatusOr<v1::WeekAccuracy> a = AccuracyOf(3, Eur(1100), 1000);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->week(), 3);
  EXPECT_EQ(a->error_bp(), 1000);
  a = AccuracyOf(3, Eur(1100), 0);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->error_bp(), 0);  // nothing closed: no error figure
}

}  // namespace
}  // namespace salesops::forecast
