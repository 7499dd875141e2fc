#include "services/forecast/weekly.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/money/money.h"
#include "common/status/macros.h"
#include "common/status/violations.h"
#include "common/time/clock.h"
#include "salesops/v1/accounts.pb.h"

namespace salesops::forecast {

std::string WeekId(FiscalQuarter q, int week) {
  return absl::StrFormat("%04d-Q%d/W%02d", q.fiscal_year, q.quarter, week);
}

std::string NodeWeekId(const std::string& node, FiscalQuarter q, int week) {
  return absl::StrCat(node, "/", WeekId(q, week));
}

absl::Status ComputeProgress(
    const std::vector<std::optional<WeekFigures>>& weeks, int64_t quota_minor,
    int weeks_per_quarter, const std::string& currency,
    v1::GetProgressResponse* out) {
  if (weeks_per_quarter < 1) {
    return absl::InvalidArgumentError("weeks_per_quarter: must be >= 1");
  }
  ASSIGN_OR_RETURN(const int64_t pace,
                   money::MulDivRoundHalfEven(10000, 1, weeks_per_quarter));
  out->set_pace_bp(pace);
  const auto bp = [&](int64_t delta) -> absl::StatusOr<int64_t> {
    if (quota_minor <= 0) {
      return 0;
    }
    return money::MulDivRoundHalfEven(delta, 10000, quota_minor);
  };
  const auto total = [](const WeekFigures& f) -> absl::StatusOr<int64_t> {
    return money::Add(f.pipeline_weighted, f.cumulative_closed);
  };
  const WeekFigures zero;
  const WeekFigures& start = weeks.empty() || !weeks[0] ? zero : *weeks[0];
  const WeekFigures* previous = &start;
  int closed = 0;
  for (size_t w = 1; w < weeks.size(); ++w) {
    if (!weeks[w]) {
      continue;
    }
    const WeekFigures& now = *weeks[w];
    ASSIGN_OR_RETURN(const int64_t now_total, total(now));
    ASSIGN_OR_RETURN(const int64_t before_total, total(*previous));
    ASSIGN_OR_RETURN(const int64_t delta, money::Sub(now_total, before_total));
    v1::WeekProgress* p = out->add_weeks();
    p->set_week(static_cast<int32_t>(w));
    *p->mutable_pipeline_weighted() =
        money::Make(now.pipeline_weighted, currency);
    *p->mutable_cumulative_closed() =
        money::Make(now.cumulative_closed, currency);
    *p->mutable_forecast() = money::Make(now_total, currency);
    ASSIGN_OR_RETURN(const int64_t progress, bp(delta));
    p->set_progress_bp(progress);
    p->set_on_pace(quota_minor > 0 &&
                   static_cast<__int128>(delta) * weeks_per_quarter >=
                       quota_minor);
    previous = &now;
    ++closed;
  }
  ASSIGN_OR_RETURN(const int64_t last_total, total(*previous));
  ASSIGN_OR_RETURN(const int64_t start_total, total(start));
  ASSIGN_OR_RETURN(const int64_t cumulative,
                   money::Sub(last_total, start_total));
  ASSIGN_OR_RETURN(const int64_t cumulative_bp, bp(cumulative));
  out->set_cumulative_progress_bp(cumulative_bp);
  out->set_on_pace(closed > 0 && quota_minor > 0 &&
                   static_cast<__int128>(cumulative) * weeks_per_quarter >=
                       static_cast<__int128>(quota_minor) * closed);
  return absl::OkStatus();
}

int DueWeekday(int org_node_kind, bool has_team_child) {
  switch (org_node_kind) {
    case v1::ORG_NODE_KIND_REP:
      return 0;
    case v1::ORG_NODE_KIND_TEAM:
      return has_team_child ? 2 : 1;
    case v1::ORG_NODE_KIND_AREA:
      return 3;
    default:  // REGION, GLOBAL
      return 4;
  }
}

absl::StatusOr<absl::Time> SubmissionDue(const FiscalCalendar& calendar,
                                         FiscalQuarter quarter, int week,
                                         int weekday) {
  ASSIGN_OR_RETURN(const WeekRange range, calendar.Week(quarter, week));
  if (range.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "week: week ", week, " of ", quarter.ToString(), " has no days"));
  }
  // absl::Weekday counts from Monday = 0.
  const int first_weekday = static_cast<int>(absl::GetWeekday(range.first));
  absl::CivilDay day = range.first - first_weekday + weekday;
  day = std::clamp(day, range.first, range.last);
  return calendar.StartOf(day + 1);
}

absl::StatusOr<FiscalQuarter> QuarterAndWeek(const FiscalCalendar& calendar,
                                             int32_t year, int32_t quarter,
                                             int32_t week, Violations& v) {
  absl::StatusOr<FiscalQuarter> q = MakeQuarter(year, quarter);
  v.Add(q.status());
  if (week < 1 || week > calendar.weeks_per_quarter()) {
    v.Add(absl::StrCat("week: must be 1..", calendar.weeks_per_quarter(),
                       ", got ", week));
  }
  RETURN_IF_ERROR(v.status());
  return *q;
}

absl::StatusOr<FiscalQuarter> ValidateSubmission(
    const v1::ForecastSubmission& in, const FiscalCalendar& calendar,
    const std::string& currency) {
  Violations v;
  if (in.node_id().empty()) {
    v.Add("submission.node_id: required");
  }
  v.Add(money::Validate(in.amount(), currency, "submission.amount",
                        money::Sign::kNonNegative));
  if (in.note().size() > 2000) {
    v.Add("submission.note: at most 2000 characters");
  }
  return QuarterAndWeek(calendar, in.fiscal_year(), in.fiscal_quarter(),
                        in.week(), v);
}

absl::Status CheckSubmittedAmount(const v1::ForecastSubmission& in,
                                  int64_t computed_minor,
                                  const std::string& currency) {
  if (in.amount().units_minor() != computed_minor && Blank(in.note())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "submission.note: required when the submitted amount differs from "
        "the computed forecast (",
        money::Format(computed_minor, money::CurrencyExponent(currency)), " ",
        currency, ")"));
  }
  return absl::OkStatus();
}

v1::WeekSnapshot SnapshotOf(const std::string& node_id,
                            const NodeFigures& figures, int64_t quota_minor,
                            FiscalQuarter quarter, int week, absl::Time at,
                            const std::string& currency) {
  v1::WeekSnapshot s;
  s.set_id(NodeWeekId(node_id, quarter, week));
  s.set_node_id(node_id);
  s.set_fiscal_year(quarter.fiscal_year);
  s.set_fiscal_quarter(quarter.quarter);
  s.set_week(week);
  *s.mutable_pipeline_weighted() =
      money::Make(figures.pipeline_weighted_minor, currency);
  *s.mutable_cumulative_closed() = money::Make(figures.closed_minor, currency);
  *s.mutable_forecast() = money::Make(figures.forecast_minor, currency);
  *s.mutable_quota() = money::Make(quota_minor, currency);
  s.set_closed_micros(Micros(at));
  return s;
}

v1::ForecastSubmission SubmissionOf(const v1::ForecastSubmission& in,
                                    FiscalQuarter quarter,
                                    int64_t computed_minor,
                                    const std::string& submitted_by,
                                    absl::Time now, absl::Time due,
                                    const std::string& currency) {
  v1::ForecastSubmission s;
  s.set_node_id(in.node_id());
  s.set_fiscal_year(quarter.fiscal_year);
  s.set_fiscal_quarter(quarter.quarter);
  s.set_week(in.week());
  *s.mutable_amount() = in.amount();
  *s.mutable_computed() = money::Make(computed_minor, currency);
  s.set_note(Trimmed(in.note()));
  s.set_submitted_by(submitted_by);
  s.set_submitted_micros(Micros(now));
  s.set_due_micros(Micros(due));
  s.set_late(now > due);
  return s;
}

}  // namespace salesops::forecast
