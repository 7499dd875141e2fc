#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/time/fiscal_calendar.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "salesops/v1/common.pb.h"

namespace salesops {
namespace {

using ::absl::CivilDay;
using ::testing::HasSubstr;

FiscalCalendar MakeCalendar(int start_month, int weeks = 13,
                            absl::TimeZone tz = absl::UTCTimeZone()) {
  FiscalCalendarOptions options;
  options.quarter_start_month = start_month;
  options.weeks_per_quarter = weeks;
  options.time_zone = tz;
  absl::StatusOr<FiscalCalendar> calendar = FiscalCalendar::Create(options);
  EXPECT_TRUE(calendar.ok()) << calendar.status();
  return *std::move(calendar);
}

absl::TimeZone Zone(const std::string& name) {
  absl::StatusOr<absl::TimeZone> tz = LoadTimeZone(name);
  EXPECT_TRUE(tz.ok()) << tz.status() << " (is tzdata installed?)";
  return tz.value_or(absl::UTCTimeZone());
}

WeekRange W(const FiscalCalendar& cal, FiscalQuarter q, int week) {
  absl::StatusOr<WeekRange> range = cal.Week(q, week);
  EXPECT_TRUE(range.ok()) << range.status();
  return range.value_or(WeekRange{});
}

absl::Time Utc(int y, int mo, int d, int h, int mi = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0),
                         absl::UTCTimeZone());
}

TEST(CalendarQuarterTest, CalendarQuarterBoundaries) {
  const FiscalCalendar cal = FiscalCalendar::Default();
  EXPECT_EQ(cal.QuarterOf(CivilDay(2026, 1, 1)), (FiscalQuarter{2026, 1}));
  EXPECT_EQ(cal.QuarterOf(CivilDay(2026, 3, 31)), (FiscalQuarter{2026, 1}));
  EXPECT_EQ(cal.QuarterOf(CivilDay(2026, 4, 1)), (FiscalQuarter{2026, 2}));
  EXPECT_EQ(cal.QuarterOf(CivilDay(2026, 6, 30)), (FiscalQuarter{2026, 2}));
  EXPECT_EQ(cal.QuarterOf(CivilDay(2026, 7, 1)), (FiscalQuarter{2026, 3}));
  EXPECT_EQ(cal.QuarterOf(CivilDay(2026, 9, 30)), (FiscalQuarter{2026, 3}));
  EXPECT_EQ(cal.QuarterOf(CivilDay(2026, 10, 1)), (FiscalQuarter{2026, 4}));
  EXPECT_EQ(cal.QuarterOf(CivilDay(2026, 12, 31)), (FiscalQuarter{2026, 4}));
  EXPECT_EQ(cal.QuarterOf(CivilDay(2027, 1, 1)), (FiscalQuarter{2027, 1}));

  EXPECT_EQ(cal.QuarterFirstDay({2026, 2}), CivilDay(2026, 4, 1));
  EXPECT_EQ(cal.QuarterLastDay({2026, 2}), CivilDay(2026, 6, 30));
  EXPECT_EQ(cal.QuarterFirstDay({2026, 4}), CivilDay(2026, 10, 1));
  EXPECT_EQ(cal.QuarterLastDay({2026, 4}), CivilDay(2026, 12, 31));
  EXPECT_EQ(cal.QuarterLastDay({2028, 1}), CivilDay(2028, 3, 31));
  EXPECT_EQ(cal.QuarterOf(CivilDay(2028, 2, 29)), (FiscalQuarter{2028, 1}));
}

TEST(CalendarQuarterTest, FiscalYearStartingInJulyIsNamedByItsEnd) {
  const FiscalCalendar cal = MakeCalendar(7);
  EXPECT_EQ(cal.QuarterOf(CivilDay(2026, 7, 1)), (FiscalQuarter{2027, 1}));
  EXPECT_EQ(cal.QuarterOf(CivilDay(2026, 6, 30)), (FiscalQuarter{2026, 4}));
  EXPECT_EQ(cal.QuarterOf(CivilDay(2026, 9, 30)), (FiscalQuarter{2027, 1}));
  EXPECT_EQ(cal.QuarterOf(CivilDay(2026, 10, 1)), (FiscalQuarter{2027, 2}));
  EXPECT_EQ(cal.QuarterOf(CivilDay(2026, 12, 31)), (FiscalQuarter{2027, 2}));
  EXPECT_EQ(cal.QuarterOf(CivilDay(2027, 1, 1)), (FiscalQuarter{2027, 3}));
  EXPECT_EQ(cal.QuarterOf(CivilDay(2027, 4, 1)), (FiscalQuarter{2027, 4}));
  EXPECT_EQ(cal.QuarterOf(CivilDay(2027, 6, 30)), (FiscalQuarter{2027, 4}));

  EXPECT_EQ(cal.QuarterFirstDay({2027, 1}), CivilDay(2026, 7, 1));
  EXPECT_EQ(cal.QuarterLastDay({2027, 1}), CivilDay(2026, 9, 30));
  EXPECT_EQ(cal.QuarterFirstDay({2027, 3}), CivilDay(2027, 1, 1));
  EXPECT_EQ(cal.QuarterLastDay({2027, 4}), CivilDay(2027, 6, 30));
}

TEST(CalendarQuarterTest, OtherStartMonths) {
  // February: FY2027 = 2026-02-01 .. 2027-01-31; its Q4 straddles the calendar
  // year.
  const FiscalCalendar feb = MakeCalendar(2);
  EXPECT_EQ(feb.QuarterOf(CivilDay(2026, 2, 1)), (FiscalQuarter{2027, 1}));
  EXPECT_EQ(feb.QuarterOf(CivilDay(2026, 11, 1)), (FiscalQuarter{2027, 4}));
  EXPECT_EQ(feb.QuarterOf(CivilDay(2027, 1, 31)), (FiscalQuarter{2027, 4}));
  EXPECT_EQ(feb.QuarterOf(CivilDay(2027, 2, 1)), (FiscalQuarter{2028, 1}));
  EXPECT_EQ(feb.QuarterFirstDay({2027, 4}), CivilDay(2026, 11, 1));
  EXPECT_EQ(feb.QuarterLastDay({2027, 4}), CivilDay(2027, 1, 31));
  // December: December 2026 opens FY2027.
  const FiscalCalendar dec = MakeCalendar(12);
  EXPECT_EQ(dec.QuarterOf(CivilDay(2026, 12, 1)), (FiscalQuarter{2027, 1}));
  EXPECT_EQ(dec.QuarterOf(CivilDay(2026, 11, 30)), (FiscalQuarter{2026, 4}));
  EXPECT_EQ(dec.QuarterLastDay({2027, 1}), CivilDay(2027, 2, 28));
}

// Every day, every start month: quarters tile the timeline, in order, three
// months each.
TEST(CalendarQuarterTest, QuartersTileTheCalendar) {
  for (int start = 1; start <= 12; ++start) {
    const FiscalCalendar cal = MakeCalendar(start);
    FiscalQuarter previous = cal.QuarterOf(CivilDay(2023, 12, 31));
    for (CivilDay d(2024, 1, 1); d <= CivilDay(2031, 12, 31); ++d) {
      const FiscalQuarter q = cal.QuarterOf(d);
      ASSERT_TRUE(q == previous || q == previous.Next())
          << d << " start " << start;
      ASSERT_LE(cal.QuarterFirstDay(q), d);
      ASSERT_GE(cal.QuarterLastDay(q), d);
      if (q != previous) {
        ASSERT_EQ(cal.QuarterFirstDay(q), d);
        ASSERT_EQ(cal.QuarterLastDay(previous), d - 1);
        ASSERT_EQ(absl::CivilMonth(d).month(),
                  (start - 1 + 3 * (q.quarter - 1)) % 12 + 1);
      }
      previous = q;
    }
  }
}

TEST(CalendarQuarterTest, FiscalQuarterOrderAndSteps) {
  const FiscalQuarter q{2026, 4};
  EXPECT_EQ(q.Next(), (FiscalQuarter{2027, 1}));
  EXPECT_EQ(q.Next().Prev(), q);
  EXPECT_EQ((FiscalQuarter{2026, 1}).Prev(), (FiscalQuarter{2025, 4}));
  EXPECT_EQ((FiscalQuarter{2026, 2}).Next(), (FiscalQuarter{2026, 3}));
  EXPECT_LT((FiscalQuarter{2026, 4}), (FiscalQuarter{2027, 1}));
  EXPECT_LT((FiscalQuarter{2026, 2}), (FiscalQuarter{2026, 3}));
  EXPECT_GT((FiscalQuarter{2027, 1}), (FiscalQuarter{2026, 4}));
  EXPECT_LE(q, q);
  EXPECT_GE(q, q);
  EXPECT_NE(q, q.Next());
  EXPECT_EQ(q.ToString(), "FY2026-Q4");
}

TEST(CalendarQuarterTest, MakeQuarterValidates) {
  EXPECT_EQ(*MakeQuarter(2026, 3), (FiscalQuarter{2026, 3}));
  EXPECT_TRUE(MakeQuarter(1, 1).ok());
  EXPECT_TRUE(MakeQuarter(9999, 4).ok());
  for (int quarter : {0, 5, -1}) {
    absl::Status s = MakeQuarter(2026, quarter).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("fiscal_quarter: must be 1..4"));
  }
  for (int year : {0, 10000, -2026}) {
    absl::Status s = MakeQuarter(year, 1).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("fiscal_year: must be 1..9999"));
  }
}

TEST(CalendarOptionsTest, CreateValidates) {
  FiscalCalendarOptions options;
  options.quarter_start_month = 13;
  absl::Status s = FiscalCalendar::Create(options).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("quarter_start_month: must be 1..12, got 13"));
  options.quarter_start_month = 0;
  EXPECT_FALSE(FiscalCalendar::Create(options).ok());

  options.quarter_start_month = 1;
  for (int weeks : {0, 15}) {
    options.weeks_per_quarter = weeks;
    s = FiscalCalendar::Create(options).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("weeks_per_quarter: must be 1..14"));
  }
  options.weeks_per_quarter = 14;
  EXPECT_TRUE(FiscalCalendar::Create(options).ok());

  const FiscalCalendar def = FiscalCalendar::Default();
  EXPECT_EQ(def.options().quarter_start_month, 1);
  EXPECT_EQ(def.weeks_per_quarter(), 13);
  EXPECT_EQ(def.time_zone(), absl::UTCTimeZone());
}

TEST(CalendarOptionsTest, LoadTimeZone) {
  absl::StatusOr<absl::TimeZone> berlin = LoadTimeZone("Europe/Berlin");
  ASSERT_TRUE(berlin.ok()) << berlin.status() << " (is tzdata installed?)";
  EXPECT_EQ(berlin->name(), "Europe/Berlin");
  EXPECT_TRUE(LoadTimeZone("UTC").ok());

  absl::Status s = LoadTimeZone("Mars/Olympus_Mons").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("time_zone: unknown time zone \"Mars/Olympus_Mons\""));
  s = LoadTimeZone("").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("time_zone"));
}

// 2024 Q2 = Mon 2024-04-01 .. Sun 2024-06-30: 13 full Monday–Sunday weeks.
TEST(CalendarWeekTest, QuarterStartingOnMonday) {
  const FiscalCalendar cal = FiscalCalendar::Default();
  const FiscalQuarter q{2024, 2};
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2024, 4, 1)), 1);
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2024, 4, 7)), 1);
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2024, 4, 8)), 2);
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2024, 6, 23)), 12);
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2024, 6, 24)), 13);
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2024, 6, 30)), 13);
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2024, 7, 1)),
            1);  // Q3 starts on a Monday too

  const WeekRange w1 = W(cal, q, 1);
  EXPECT_EQ(w1.first, CivilDay(2024, 4, 1));
  EXPECT_EQ(w1.last, CivilDay(2024, 4, 7));
  EXPECT_EQ(w1.days(), 7);
  const WeekRange w13 = W(cal, q, 13);
  EXPECT_EQ(w13.first, CivilDay(2024, 6, 24));
  EXPECT_EQ(w13.last, CivilDay(2024, 6, 30));
  EXPECT_EQ(w13.days(), 7);
}

// 2026 Q2 = Wed 2026-04-01 .. Tue 2026-06-30 (the header's worked example).
TEST(CalendarWeekTest, QuarterStartingMidWeek) {
  const FiscalCalendar cal = FiscalCalendar::Default();
  const FiscalQuarter q{2026, 2};
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2026, 4, 1)), 1);
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2026, 4, 5)), 1);  // Sunday
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2026, 4, 6)), 2);  // Monday
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2026, 6, 21)), 12);
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2026, 6, 22)), 13);
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2026, 6, 28)), 13);
  // Mon 06-29 and Tue 06-30 would be a "week 14": they belong to week 13.
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2026, 6, 29)), 13);
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2026, 6, 30)), 13);

  const WeekRange w1 = W(cal, q, 1);
  EXPECT_EQ(w1.first, CivilDay(2026, 4, 1));
  EXPECT_EQ(w1.last, CivilDay(2026, 4, 5));
  EXPECT_EQ(w1.days(), 5);
  const WeekRange w2 = W(cal, q, 2);
  EXPECT_EQ(w2.first, CivilDay(2026, 4, 6));
  EXPECT_EQ(w2.last, CivilDay(2026, 4, 12));
  const WeekRange w12 = W(cal, q, 12);
  EXPECT_EQ(w12.first, CivilDay(2026, 6, 15));
  EXPECT_EQ(w12.last, CivilDay(2026, 6, 21));
  const WeekRange w13 = W(cal, q, 13);
  EXPECT_EQ(w13.first, CivilDay(2026, 6, 22));
  EXPECT_EQ(w13.last, CivilDay(2026, 6, 30));
  EXPECT_EQ(w13.days(), 9);
}

// 2029 Q2 = Sun 2029-04-01 .. Sat 2029-06-30: week 1 is one day and the "week
// 14" (Mon 06-25 .. Sat 06-30) is folded into week 13.
TEST(CalendarWeekTest, QuarterStartingOnSundayFoldsWeek14IntoWeek13) {
  const FiscalCalendar cal = FiscalCalendar::Default();
  const FiscalQuarter q{2029, 2};
  ASSERT_EQ(absl::GetWeekday(CivilDay(2029, 4, 1)), absl::Weekday::sunday);
  const WeekRange w1 = W(cal, q, 1);
  EXPECT_EQ(w1.first, CivilDay(2029, 4, 1));
  EXPECT_EQ(w1.last, CivilDay(2029, 4, 1));
  EXPECT_EQ(w1.days(), 1);
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2029, 4, 2)), 2);
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2029, 6, 20)),
            13);  // an ordinary week-13 day
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2029, 6, 25)), 13);  // would be week 14
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2029, 6, 30)), 13);
  const WeekRange w13 = W(cal, q, 13);
  EXPECT_EQ(w13.first, CivilDay(2029, 6, 18));
  EXPECT_EQ(w13.last, CivilDay(2029, 6, 30));
  EXPECT_EQ(w13.days(), 13);
  // Week 13 closes when the quarter does.
  EXPECT_EQ(*cal.WeekEnd(q, 13), Utc(2029, 7, 1, 0));
}

TEST(CalendarWeekTest, FourteenWeeksPerQuarter) {
  const FiscalCalendar cal = MakeCalendar(1, 14);
  // A 14th week exists in 2029 Q2 ...
  const WeekRange w14 = W(cal, {2029, 2}, 14);
  EXPECT_EQ(w14.first, CivilDay(2029, 6, 25));
  EXPECT_EQ(w14.last, CivilDay(2029, 6, 30));
  EXPECT_EQ(W(cal, {2029, 2}, 13).last, CivilDay(2029, 6, 24));
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2029, 6, 25)), 14);
  // ... but 2024 Q2 has exactly 13 Monday–Sunday weeks: week 14 is empty and
  // closes with 13.
  const WeekRange empty = W(cal, {2024, 2}, 14);
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.days(), 0);
  EXPECT_EQ(empty.first, CivilDay(2024, 7, 1));
  EXPECT_EQ(empty.last, CivilDay(2024, 6, 30));
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2024, 6, 30)), 13);
  EXPECT_EQ(*cal.WeekEnd({2024, 2}, 14), *cal.WeekEnd({2024, 2}, 13));
}

TEST(CalendarWeekTest, FewerWeeksFoldTheRestIntoTheLast) {
  const FiscalCalendar cal = MakeCalendar(1, 12);
  const WeekRange w12 = W(cal, {2026, 2}, 12);
  EXPECT_EQ(w12.first, CivilDay(2026, 6, 15));
  EXPECT_EQ(w12.last, CivilDay(2026, 6, 30));
  EXPECT_EQ(cal.WeekOfQuarter(CivilDay(2026, 6, 30)), 12);
  const FiscalCalendar one = MakeCalendar(1, 1);
  const WeekRange all = W(one, {2026, 2}, 1);
  EXPECT_EQ(all.first, CivilDay(2026, 4, 1));
  EXPECT_EQ(all.last, CivilDay(2026, 6, 30));
}

// For every weeks_per_quarter and start month, the weeks of each quarter
// partition it in order, and WeekOfQuarter agrees with Week.
TEST(CalendarWeekTest, WeeksPartitionEveryQuarter) {
  for (int weeks = kMinWeeksPerQuarter; weeks <= kMaxWeeksPerQuarter; ++weeks) {
    for (int start : {1, 2, 7, 11}) {
      const FiscalCalendar cal = MakeCalendar(start, weeks);
      for (FiscalQuarter q{2024, 1}; q <= FiscalQuarter{2031, 4};
           q = q.Next()) {
        CivilDay next = cal.QuarterFirstDay(q);
        for (int k = 1; k <= weeks; ++k) {
          const WeekRange r = W(cal, q, k);
          if (r.empty()) {
            ASSERT_EQ(r.first, cal.QuarterLastDay(q) + 1);
            continue;
          }
          ASSERT_EQ(r.first, next) << q << " week " << k << " of " << weeks;
          if (k > 1) {
            ASSERT_EQ(absl::GetWeekday(r.first), absl::Weekday::monday);
          }
          if (k < weeks && r.last != cal.QuarterLastDay(q)) {
            ASSERT_EQ(absl::GetWeekday(r.last), absl::Weekday::sunday);
          }
          for (CivilDay d = r.first; d <= r.last; ++d) {
            ASSERT_EQ(cal.QuarterOf(d), q);
            ASSERT_EQ(cal.WeekOfQuarter(d), k) << d;
          }
          next = r.last + 1;
        }
        ASSERT_EQ(next, cal.QuarterLastDay(q) + 1)
            << q << " with " << weeks << " weeks";
      }
    }
  }
}

TEST(CalendarWeekTest, WeekRejectsOutOfRange) {
  const FiscalCalendar cal = FiscalCalendar::Default();
  for (int week : {0, 14, -1}) {
    absl::Status s = cal.Week({2026, 2}, week).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("week: must be 1..13"));
    EXPECT_EQ(cal.WeekEnd({2026, 2}, week).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  absl::Status s = cal.Week({2026, 5}, 1).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("fiscal_quarter"));
}

// Europe/Berlin: CET (UTC+1) until Sun 2026-03-29 02:00, then CEST (UTC+2)
// until Sun 2026-10-25 03:00. 2026 Q1 (Thu 01-01 .. Tue 03-31): week 12 = 03-16
// .. 03-22, week 13 = 03-23 .. 03-31, which contains the spring-forward day.
TEST(CalendarZoneTest, WeekEndInBerlinAcrossDst) {
  const absl::TimeZone berlin = Zone("Europe/Berlin");
  const FiscalCalendar cal = MakeCalendar(1, 13, berlin);
  const absl::Time w12_end = *cal.WeekEnd({2026, 1}, 12);
  const absl::Time w13_end = *cal.WeekEnd({2026, 1}, 13);
  EXPECT_EQ(w12_end, Utc(2026, 3, 22, 23));  // Mon 03-23 00:00 CET
  EXPECT_EQ(w13_end, Utc(2026, 3, 31, 22));  // Wed 04-01 00:00 CEST
  // Nine calendar days, one of them 23 hours long.
  EXPECT_EQ(w13_end - w12_end, absl::Hours(9 * 24 - 1));

  // Autumn: 2026 Q4 starts Thu 10-01; week 4 = Mon 10-19 .. Sun 10-25
  // (fall-back day).
  const WeekRange w4 = W(cal, {2026, 4}, 4);
  EXPECT_EQ(w4.first, CivilDay(2026, 10, 19));
  EXPECT_EQ(w4.last, CivilDay(2026, 10, 25));
  const absl::Time w3_end = *cal.WeekEnd({2026, 4}, 3);
  const absl::Time w4_end = *cal.WeekEnd({2026, 4}, 4);
  EXPECT_EQ(w3_end, Utc(2026, 10, 18, 22));  // Mon 10-19 00:00 CEST
  EXPECT_EQ(w4_end, Utc(2026, 10, 25, 23));  // Mon 10-26 00:00 CET
  EXPECT_EQ(w4_end - w3_end, absl::Hours(7 * 24 + 1));

  // In UTC the same week closes an hour later.
  EXPECT_EQ(*FiscalCalendar::Default().WeekEnd({2026, 4}, 4),
            Utc(2026, 10, 26, 0));
}

TEST(CalendarZoneTest, DayOfUsesTheZone) {
  const FiscalCalendar cal = MakeCalendar(1, 13, Zone("Europe/Berlin"));
  // 23:30 UTC on 03-31 is already 01:30 on 04-01 in Berlin: Q2, week 1.
  const absl::Time t = Utc(2026, 3, 31, 23, 30);
  EXPECT_EQ(cal.DayOf(t), CivilDay(2026, 4, 1));
  EXPECT_EQ(cal.QuarterOf(cal.DayOf(t)), (FiscalQuarter{2026, 2}));
  EXPECT_EQ(FiscalCalendar::Default().DayOf(t), CivilDay(2026, 3, 31));
  // The close instant itself belongs to the next week; one nanosecond before,
  // to the week.
  const absl::Time close = *cal.WeekEnd({2026, 1}, 13);
  EXPECT_EQ(cal.DayOf(close), CivilDay(2026, 4, 1));
  EXPECT_EQ(cal.DayOf(close - absl::Nanoseconds(1)), CivilDay(2026, 3, 31));
  EXPECT_EQ(cal.StartOf(CivilDay(2026, 3, 29)), Utc(2026, 3, 28, 23));
  EXPECT_EQ(cal.StartOf(CivilDay(2026, 3, 30)), Utc(2026, 3, 29, 22));
}

TEST(CalendarZoneTest, StartOfWhereMidnightIsSkippedOrRepeated) {
  // Sao Paulo sprang forward at 00:00 on 2018-11-04: the day began at 01:00 -02
  // = 03:00Z.
  const FiscalCalendar sao = MakeCalendar(1, 13, Zone("America/Sao_Paulo"));
  const absl::Time start = sao.StartOf(CivilDay(2018, 11, 4));
  EXPECT_EQ(start, Utc(2018, 11, 4, 3));
  EXPECT_EQ(sao.DayOf(start), CivilDay(2018, 11, 4));
  EXPECT_EQ(sao.DayOf(start - absl::Nanoseconds(1)), CivilDay(2018, 11, 3));
  // Havana fell back from 01:00 to 00:00 on 2022-11-06: the first midnight
  // (-04) counts.
  const FiscalCalendar havana = MakeCalendar(1, 13, Zone("America/Havana"));
  EXPECT_EQ(havana.StartOf(CivilDay(2022, 11, 6)), Utc(2022, 11, 6, 4));
  EXPECT_EQ(havana.DayOf(Utc(2022, 11, 6, 4) - absl::Nanoseconds(1)),
            CivilDay(2022, 11, 5));
}

TEST(CalendarProtoTest, FromProtoAcceptsRealDates) {
  salesops::v1::Date date;
  date.set_year(2028);
  date.set_month(2);
  date.set_day(29);
  absl::StatusOr<CivilDay> day = FromProto(date, "close_date");
  ASSERT_TRUE(day.ok()) << day.status();
  EXPECT_EQ(*day, CivilDay(2028, 2, 29));

  const salesops::v1::Date back = ToProto(CivilDay(2026, 12, 31));
  EXPECT_EQ(back.year(), 2026);
  EXPECT_EQ(back.month(), 12);
  EXPECT_EQ(back.day(), 31);
  EXPECT_EQ(*FromProto(back, "close_date"), CivilDay(2026, 12, 31));
  EXPECT_EQ(*FromProto(ToProto(CivilDay(1, 1, 1)), "d"), CivilDay(1, 1, 1));
  EXPECT_EQ(*FromProto(ToProto(CivilDay(9999, 12, 31)), "d"),
            CivilDay(9999, 12, 31));
}

TEST(CalendarProtoTest, FromProtoRejectsInvalidDatesNamingTheField) {
  struct Case {
    int year, month, day;
    std::string message;
  };
  const std::vector<Case> cases = {
      {0, 0, 0, "close_date: required"},
      {2026, 2, 30, "close_date: 2026-02-30 is not a valid date"},
      {2027, 2, 29, "close_date: 2027-02-29 is not a valid date"},
      {2026, 4, 31, "close_date: 2026-04-31 is not a valid date"},
      {2026, 13, 1, "close_date: 2026-13-01 is not a valid date"},
      {2026, 0, 10, "close_date: 2026-00-10 is not a valid date"},
      {2026, 1, 0, "close_date: 2026-01-00 is not a valid date"},
      {2026, 1, -1, "close_date: 2026-01--1 is not a valid date"},
      {0, 1, 1,
       "close_date: 0000-01-01 is not a valid date (year must be 1..9999)"},
      {10000, 1, 1,
       "close_date: 10000-01-01 is not a valid date (year must be 1..9999)"},
  };
  for (const Case& c : cases) {
    salesops::v1::Date date;
    date.set_year(c.year);
    date.set_month(c.month);
    date.set_day(c.day);
    absl::Status s = FromProto(date, "close_date").status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_EQ(s.message(), c.message);
  }
}

}  // namespace
}  // namespace salesops
