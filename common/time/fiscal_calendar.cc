#include "common/time/fiscal_calendar.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status/status.h"

namespace salesops {
namespace {

// Debian's Abseil has its own absl::string_view
// (ABSL_OPTION_USE_STD_STRING_VIEW 0), which does not convert from the
// std::string_view of the suite's API.
absl::string_view Sv(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// The Monday on or before `day`.
absl::CivilDay MondayOf(absl::CivilDay day) {
  // absl::Weekday counts from monday == 0.
  return day - static_cast<int>(absl::GetWeekday(day));
}

}  // namespace

absl::StatusOr<absl::TimeZone> LoadTimeZone(std::string_view name) {
  if (name.empty()) {
    return absl::InvalidArgumentError("time_zone: required");
  }
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(Sv(name), &tz)) {
    // absl falls back to UTC on failure; a typo must not silently move every
    // week close.
    return absl::InvalidArgumentError(
        absl::StrCat("time_zone: unknown time zone \"", Sv(name), "\""));
  }
  return tz;
}

FiscalQuarter FiscalQuarter::Next() const {
  return quarter >= 4 ? FiscalQuarter{fiscal_year + 1, 1}
                      : FiscalQuarter{fiscal_year, quarter + 1};
}

FiscalQuarter FiscalQuarter::Prev() const {
  return quarter <= 1 ? FiscalQuarter{fiscal_year - 1, 4}
                      : FiscalQuarter{fiscal_year, quarter - 1};
}

std::string FiscalQuarter::ToString() const {
  return absl::StrCat("FY", fiscal_year, "-Q", quarter);
}

absl::StatusOr<FiscalQuarter> MakeQuarter(int fiscal_year, int quarter) {
  if (fiscal_year < 1 || fiscal_year > 9999) {
    return absl::InvalidArgumentError(
        absl::StrCat("fiscal_year: must be 1..9999, got ", fiscal_year));
  }
  if (quarter < 1 || quarter > 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("fiscal_quarter: must be 1..4, got ", quarter));
  }
  return FiscalQuarter{fiscal_year, quarter};
}

absl::StatusOr<FiscalCalendar> FiscalCalendar::Create(
    FiscalCalendarOptions options) {
  if (options.quarter_start_month < 1 || options.quarter_start_month > 12) {
    return absl::InvalidArgumentError(
        absl::StrCat("quarter_start_month: must be 1..12, got ",
                     options.quarter_start_month));
  }
  if (options.weeks_per_quarter < kMinWeeksPerQuarter ||
      options.weeks_per_quarter > kMaxWeeksPerQuarter) {
    return absl::InvalidArgumentError(
        absl::StrCat("weeks_per_quarter: must be ", kMinWeeksPerQuarter, "..",
                     kMaxWeeksPerQuarter, ", got ", options.weeks_per_quarter));
  }
  return FiscalCalendar(std::move(options));
}

FiscalCalendar FiscalCalendar::Default() {
  return FiscalCalendar(FiscalCalendarOptions());
}

FiscalQuarter FiscalCalendar::QuarterOf(absl::CivilDay day) const {
  const int start = options_.quarter_start_month;
  const int month = day.month();
  const int months_into_year = (month - start + 12) % 12;
  int fiscal_year = static_cast<int>(day.year());
  // A non-January fiscal year is named by the calendar year it ends in, so the
  // months from `start` onwards belong to the next calendar year's name.
  if (start != 1 && month >= start) {
    ++fiscal_year;
  }
  return FiscalQuarter{fiscal_year, months_into_year / 3 + 1};
}

absl::CivilDay FiscalCalendar::QuarterFirstDay(FiscalQuarter q) const {
  const int start = options_.quarter_start_month;
  const int64_t begin_year = start == 1 ? q.fiscal_year : q.fiscal_year - 1;
  // CivilMonth arithmetic carries months past December into the next year.
  return absl::CivilDay(absl::CivilMonth(begin_year, start) +
                        3 * (q.quarter - 1));
}

absl::CivilDay FiscalCalendar::QuarterLastDay(FiscalQuarter q) const {
  return QuarterFirstDay(q.Next()) - 1;
}

int FiscalCalendar::WeekOfQuarter(absl::CivilDay day) const {
  const absl::CivilDay monday = MondayOf(QuarterFirstDay(QuarterOf(day)));
  const int natural_week = static_cast<int>((day - monday) / 7) + 1;
  // Days past the last week's Sunday belong to the last week.
  return std::min(natural_week, options_.weeks_per_quarter);
}

absl::StatusOr<WeekRange> FiscalCalendar::Week(FiscalQuarter q,
                                               int week) const {
  RETURN_IF_ERROR(MakeQuarter(q.fiscal_year, q.quarter).status());
  const int weeks = options_.weeks_per_quarter;
  if (week < 1 || week > weeks) {
    return absl::InvalidArgumentError(
        absl::StrCat("week: must be 1..", weeks, ", got ", week));
  }
  const absl::CivilDay quarter_first = QuarterFirstDay(q);
  const absl::CivilDay quarter_last = QuarterLastDay(q);
  const absl::CivilDay monday = MondayOf(quarter_first);
  const absl::CivilDay first =
      week == 1 ? quarter_first : monday + 7 * (week - 1);
  if (first > quarter_last) {
    // Only when weeks_per_quarter exceeds the quarter's Monday–Sunday weeks.
    // Anchoring the empty range at the quarter's end makes WeekEnd equal the
    // previous week's close.
    return WeekRange{quarter_last + 1, quarter_last};
  }
  const absl::CivilDay last =
      week == weeks ? quarter_last
                    : std::min(monday + (7 * week - 1), quarter_last);
  return WeekRange{first, last};
}

absl::CivilDay FiscalCalendar::DayOf(absl::Time t) const {
  return absl::ToCivilDay(t, options_.time_zone);
}

absl::Time FiscalCalendar::StartOf(absl::CivilDay d) const {
  const absl::TimeZone::TimeInfo info =
      options_.time_zone.At(absl::CivilSecond(d));
  // A skipped midnight (DST starting at 00:00) means the day begins at the
  // transition; for a repeated one `pre` is the earlier instant; for a unique
  // one all three agree.
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

absl::StatusOr<absl::Time> FiscalCalendar::WeekEnd(FiscalQuarter q,
                                                   int week) const {
  ASSIGN_OR_RETURN(const WeekRange range, Week(q, week));
  return StartOf(range.last + 1);
}

absl::StatusOr<absl::CivilDay> FromProto(const salesops::v1::Date& date,
                                         std::string_view field) {
  const int year = date.year();
  const int month = date.month();
  const int day = date.day();
  if (year == 0 && month == 0 && day == 0) {
    return absl::InvalidArgumentError(absl::StrCat(Sv(field), ": required"));
  }
  const std::string text = absl::StrFormat("%04d-%02d-%02d", year, month, day);
  if (year < 1 || year > 9999) {
    return absl::InvalidArgumentError(absl::StrCat(
        Sv(field), ": ", text, " is not a valid date (year must be 1..9999)"));
  }
  // CivilDay normalizes out-of-range fields (Feb 30 → Mar 2), so a date is
  // valid exactly when it survives the round trip unchanged.
  const absl::CivilDay civil(year, month, day);
  if (civil.year() != year || civil.month() != month || civil.day() != day) {
    return absl::InvalidArgumentError(
        absl::StrCat(Sv(field), ": ", text, " is not a valid date"));
  }
  return civil;
}

salesops::v1::Date ToProto(absl::CivilDay day) {
  salesops::v1::Date date;
  date.set_year(static_cast<int32_t>(day.year()));
  date.set_month(day.month());
  date.set_day(day.day());
  return date;
}

}  // namespace salesops
