#pragma once

// The fiscal calendar of an instance (ARCHITECTURE.md §7, SPEC.md §4.1–4.3):
// which fiscal quarter a business date belongs to, the weeks of a quarter, and
// the instants at which days start and weeks close in the instance time zone.
//
// Quarters are three calendar months; fiscal Q1 starts on the 1st of
// `quarter_start_month`.
//
// Fiscal year naming: with quarter_start_month == 1 the fiscal year is the
// calendar year. Otherwise a fiscal year is named by the calendar year in which
// it ENDS: with quarter_start_month = 7, FY2027 runs 2026-07-01 .. 2027-06-30,
// so 2026-07-01 is FY2027 Q1 and 2026-06-30 is FY2026 Q4.
//
// Weeks run Monday–Sunday. With W = weeks_per_quarter, the weeks of a quarter:
//   * Week 1 is the Monday–Sunday week containing the quarter's first day,
//     clipped to the quarter: it starts on the quarter's first day, so it may
//     be shorter than 7 days.
//   * Week k+1 starts on the Monday after week k; weeks 2..W-1 are full weeks.
//   * Week W, the last week, starts on its Monday and always ends on the
//     quarter's last day: days after week W's Sunday (a "week 14" when W = 13)
//     belong to week W, which is then longer than 7 days.
//   * If the quarter ends before week k's Monday, week k is empty. That only
//     happens with W = 14 in a quarter of exactly 13 Monday–Sunday weeks (a
//     91-day quarter starting on a Monday). Week() then returns
//     {first = quarter's last day + 1, last = quarter's last day}, no day maps
//     to the week, and it closes at the same instant as week k-1.
//
// Worked examples, calendar quarters, W = 13:
//   2026 Q2 = Wed 2026-04-01 .. Tue 2026-06-30:
//     week 1  = Wed 04-01 .. Sun 04-05 (5 days)
//     week 2  = Mon 04-06 .. Sun 04-12, ..., week 12 = Mon 06-15 .. Sun 06-21
//     week 13 = Mon 06-22 .. Tue 06-30 (9 days; absorbs "week 14" 06-29..30)
//   2029 Q2 = Sun 2029-04-01 .. Sat 2029-06-30:
//     week 1  = Sun 04-01 only (1 day); week 2 starts Mon 04-02
//     week 13 = Mon 06-18 .. Sat 06-30 (13 days)
//   2024 Q2 = Mon 2024-04-01 .. Sun 2024-06-30: 13 full weeks (and with W = 14,
//     week 14 is empty).

#include <ostream>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "salesops/v1/common.pb.h"

namespace salesops {

// Bounds of FiscalCalendarOptions::weeks_per_quarter. A quarter (90..92 days)
// spans 13 or 14 Monday–Sunday weeks, so more than 14 weeks would always be
// empty.
inline constexpr int kMinWeeksPerQuarter = 1;
inline constexpr int kMaxWeeksPerQuarter = 14;

struct FiscalCalendarOptions {
  // First calendar month of fiscal Q1, 1..12 (1 = calendar quarters).
  int quarter_start_month = 1;
  // Weeks of a quarter, kMinWeeksPerQuarter..kMaxWeeksPerQuarter; see the week
  // rule above.
  int weeks_per_quarter = 13;
  // Zone in which days start and weeks close (the instance time zone).
  absl::TimeZone time_zone = absl::UTCTimeZone();
};

// The zone named `name` ("Europe/Berlin", "UTC") from the system tz database,
// for FiscalCalendarOptions::time_zone. INVALID_ARGUMENT naming `time_zone`
// when the name is empty or unknown.
[[nodiscard]] absl::StatusOr<absl::TimeZone> LoadTimeZone(
    std::string_view name);

// A fiscal quarter, e.g. {2027, 1} = FY2027 Q1. Valid when fiscal_year
// is 1..9999 and quarter 1..4 (see MakeQuarter); ordered chronologically.
struct FiscalQuarter {
  int fiscal_year = 1;
  int quarter = 1;  // 1..4

  FiscalQuarter Next() const;    // FY2026 Q4 → FY2027 Q1
  FiscalQuarter Prev() const;    // FY2027 Q1 → FY2026 Q4
  std::string ToString() const;  // "FY2027-Q1"

  friend bool operator==(const FiscalQuarter& a, const FiscalQuarter& b) {
    return a.fiscal_year == b.fiscal_year && a.quarter == b.quarter;
  }
  friend bool operator!=(const FiscalQuarter& a, const FiscalQuarter& b) {
    return !(a == b);
  }
  friend bool operator<(const FiscalQuarter& a, const FiscalQuarter& b) {
    return a.fiscal_year != b.fiscal_year ? a.fiscal_year < b.fiscal_year
                                          : a.quarter < b.quarter;
  }
  friend bool operator>(const FiscalQuarter& a, const FiscalQuarter& b) {
    return b < a;
  }
  friend bool operator<=(const FiscalQuarter& a, const FiscalQuarter& b) {
    return !(b < a);
  }
  friend bool operator>=(const FiscalQuarter& a, const FiscalQuarter& b) {
    return !(a < b);
  }
  friend std::ostream& operator<<(std::ostream& os, const FiscalQuarter& q) {
    return os << q.ToString();
  }
};

// A validated FiscalQuarter. INVALID_ARGUMENT "fiscal_year: must be 1..9999,
// got N" or "fiscal_quarter: must be 1..4, got N".
[[nodiscard]] absl::StatusOr<FiscalQuarter> MakeQuarter(int fiscal_year,
                                                        int quarter);

// An inclusive range of days. Empty (first > last) only for the empty weeks of
// the rule above.
struct WeekRange {
  absl::CivilDay first;
  absl::CivilDay last;

  bool empty() const { return first > last; }
  int days() const { return empty() ? 0 : static_cast<int>(last - first) + 1; }
};

// Immutable and cheap to copy; thread-safe.
class FiscalCalendar {
 public:
  // INVALID_ARGUMENT naming `quarter_start_month` or `weeks_per_quarter` when
  // out of range.
  [[nodiscard]] static absl::StatusOr<FiscalCalendar> Create(
      FiscalCalendarOptions options);
  // Calendar quarters, 13 weeks, UTC.
  static FiscalCalendar Default();

  const FiscalCalendarOptions& options() const { return options_; }
  int weeks_per_quarter() const { return options_.weeks_per_quarter; }
  const absl::TimeZone& time_zone() const { return options_.time_zone; }

  // The fiscal quarter containing `day`.
  FiscalQuarter QuarterOf(absl::CivilDay day) const;
  // First and last day of `q`. A quarter outside 1..4 rolls over into
  // neighbouring years (quarter 5 of FY N is Q1 of FY N+1); validate with
  // MakeQuarter first.
  absl::CivilDay QuarterFirstDay(FiscalQuarter q) const;
  absl::CivilDay QuarterLastDay(FiscalQuarter q) const;

  // The week (1..weeks_per_quarter) of QuarterOf(day) that contains `day`.
  int WeekOfQuarter(absl::CivilDay day) const;
  // The days of week `week` of `q`. INVALID_ARGUMENT for an invalid quarter or
  // a week outside 1..weeks_per_quarter ("week: must be 1..13, got 14"). May be
  // empty (see the rule above).
  [[nodiscard]] absl::StatusOr<WeekRange> Week(FiscalQuarter q, int week) const;

  // The business date of instant `t` in the calendar's zone.
  absl::CivilDay DayOf(absl::Time t) const;
  // The first instant of `d` in the calendar's zone: local midnight, or, where
  // a DST change skips midnight, the transition instant (the first instant that
  // is on day `d`); where midnight repeats, the earlier one. DayOf(StartOf(d))
  // == d.
  absl::Time StartOf(absl::CivilDay d) const;
  // The instant week `week` of `q` closes: StartOf(day after the week's last
  // day), so it falls on the Monday 00:00 local time after the week (or the day
  // after the quarter's last day). Errors as Week().
  [[nodiscard]] absl::StatusOr<absl::Time> WeekEnd(FiscalQuarter q,
                                                   int week) const;

 private:
  explicit FiscalCalendar(FiscalCalendarOptions options)
      : options_(std::move(options)) {}

  FiscalCalendarOptions options_;
};

// A business date from the API. `field` names it in messages ("close_date").
// INVALID_ARGUMENT, e.g.:
//   "close_date: required" (year, month and day all 0, i.e. unset)
//   "close_date: 2026-02-30 is not a valid date"
//   "close_date: 0000-01-01 is not a valid date (year must be 1..9999)"
[[nodiscard]] absl::StatusOr<absl::CivilDay> FromProto(
    const salesops::v1::Date& date, std::string_view field);
// `day`'s year must be 1..9999 for the result to pass FromProto.
salesops::v1::Date ToProto(absl::CivilDay day);

}  // namespace salesops
