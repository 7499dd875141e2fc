#include "services/forecast/weekly.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "absl/time/civil_time.h"
#include "salesops/v1/accounts.pb.h"

namespace salesops::forecast {
namespace {

constexpr int64_t kQuota = 500'000'000;  // 5,000,000.00 EUR

v1::GetProgressResponse Progress(
    const std::vector<std::optional<WeekFigures>>& weeks, int64_t quota) {
  v1::GetProgressResponse out;
  EXPECT_TRUE(ComputeProgress(weeks, quota, 13, "EUR", &out).ok());
  return out;
}

TEST(ProgressTest, OnPaceMeansAtLeastOneThirteenthOfTheQuotaExactly) {
  // Week 1 adds 385,000.00 (7.70%), week 2 adds 384,000.00 (7.68%): 1/13 is
  // 7.6923…%, so the first is on pace and the second is not.
  const auto p = Progress({WeekFigures{0, 0}, WeekFigures{38'500'000, 0},
                           WeekFigures{76'900'000, 0}},
                          kQuota);
  ASSERT_EQ(p.weeks_size(), 2);
  EXPECT_EQ(p.pace_bp(), 769);
  EXPECT_EQ(p.weeks(0).week(), 1);
  EXPECT_EQ(p.weeks(0).progress_bp(), 770);
  EXPECT_TRUE(p.weeks(0).on_pace());
  EXPECT_EQ(p.weeks(1).progress_bp(), 768);
  EXPECT_FALSE(p.weeks(1).on_pace());
  EXPECT_EQ(p.cumulative_progress_bp(), 1538);
  EXPECT_FALSE(p.on_pace());  // 76.9M × 13 = 999.7M < 500M × 2
  EXPECT_EQ(p.weeks(1).forecast().units_minor(), 76'900'000);
}

TEST(ProgressTest, AClosedSaleCountsOnceNotTwice) {
  // 1,000.00 at 80% in week 1 (800.00 weighted), WON in week 2: week 2's
  // progress is the remaining 20%, not 120%.
  const auto p =
      Progress({std::nullopt, WeekFigures{80'000, 0}, WeekFigures{0, 100'000}},
               1'000'000);
  ASSERT_EQ(p.weeks_size(), 2);
  EXPECT_EQ(p.weeks(0).progress_bp(), 800);  // from a missing week 0 = zero
  EXPECT_EQ(p.weeks(1).progress_bp(), 200);
  EXPECT_EQ(p.cumulative_progress_bp(), 1000);
}

TEST(ProgressTest, AMissingWeekIsSkippedAndTheNextComparesWithTheLastClosed) {
  const auto p = Progress({WeekFigures{100, 0}, WeekFigures{200, 0},
                           std::nullopt, WeekFigures{500, 50}},
                          10'000);
  ASSERT_EQ(p.weeks_size(), 2);
  EXPECT_EQ(p.weeks(1).week(), 3);
  EXPECT_EQ(p.weeks(1).progress_bp(), 350);  // (500+50) − 200
  EXPECT_EQ(p.cumulative_progress_bp(), 450);
}

TEST(ProgressTest, NoQuotaMeansNoProgressFigureAndNotOnPace) {
  const auto p = Progress({WeekFigures{0, 0}, WeekFigures{1000, 0}}, 0);
  ASSERT_EQ(p.weeks_size(), 1);
  EXPECT_EQ(p.weeks(0).progress_bp(), 0);
  EXPECT_FALSE(p.weeks(0).on_pace());
  EXPECT_FALSE(p.on_pace());
}

TEST(ProgressTest, OverflowIsOutOfRange) {
  v1::GetProgressResponse out;
  const absl::Status s = ComputeProgress(
      {WeekFigures{0, 0}, WeekFigures{INT64_MAX, 1}}, kQuota, 13, "EUR", &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
}

TEST(DueTest, LevelsFollowTheMondayToFridayCadence) {
  EXPECT_EQ(DueWeekday(v1::ORG_NODE_KIND_REP, false), 0);
  EXPECT_EQ(DueWeekday(v1::ORG_NODE_KIND_TEAM, false), 1);
  EXPECT_EQ(DueWeekday(v1::ORG_NODE_KIND_TEAM, true), 2);
  EXPECT_EQ(DueWeekday(v1::ORG_NODE_KIND_AREA, false), 3);
  EXPECT_EQ(DueWeekday(v1::ORG_NODE_KIND_REGION, false), 4);
  EXPECT_EQ(DueWeekday(v1::ORG_NODE_KIND_GLOBAL, false), 4);
}

absl::Time Midnight(int y, int m, int d) {
  return absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone());
}

TEST(DueTest, DueAtTheEndOfTheDayClippedToTheWeek) {
  const FiscalCalendar calendar = FiscalCalendar::Default();
  const FiscalQuarter q2{2026, 2};  // Wed 2026-04-01 .. Tue 06-30
  // Week 1 starts on a Wednesday: Monday's and Tuesday's dues move to it.
  EXPECT_EQ(SubmissionDue(calendar, q2, 1, 0).value(), Midnight(2026, 4, 2));
  EXPECT_EQ(SubmissionDue(calendar, q2, 1, 1).value(), Midnight(2026, 4, 2));
  EXPECT_EQ(SubmissionDue(calendar, q2, 1, 3).value(), Midnight(2026, 4, 3));
  // A full week: Monday 04-06 for reps, Friday 04-10 for the region.
  EXPECT_EQ(SubmissionDue(calendar, q2, 2, 0).value(), Midnight(2026, 4, 7));
  EXPECT_EQ(SubmissionDue(calendar, q2, 2, 4).value(), Midnight(2026, 4, 11));
  // The long last week (Mon 06-22 .. Tue 06-30): its own Friday.
  EXPECT_EQ(SubmissionDue(calendar, q2, 13, 4).value(), Midnight(2026, 6, 27));
  EXPECT_EQ(SubmissionDue(calendar, q2, 14, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DueTest, TheInstanceTimeZoneDecidesWhenTheDayEnds) {
  FiscalCalendarOptions options;
  options.time_zone = LoadTimeZone("Asia/Shanghai").value();
  const FiscalCalendar calendar = FiscalCalendar::Create(options).value();
  // Monday 2026-04-06 ends at 16:00 UTC in Shanghai (UTC+8).
  EXPECT_EQ(SubmissionDue(calendar, FiscalQuarter{2026, 2}, 2, 0).value(),
            Midnight(2026, 4, 7) - absl::Hours(8));
}

}  // namespace
}  // namespace salesops::forecast
