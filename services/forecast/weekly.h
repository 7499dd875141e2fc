#pragma once

// The weekly cadence of the forecast (SPEC.md §4.2, §4.3): progress from week
// snapshots, and when each level's forecast submission is due. Pure logic.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/status/violations.h"
#include "common/time/fiscal_calendar.h"
#include "salesops/v1/forecast.pb.h"
#include "services/forecast/rollup.h"

namespace salesops::forecast {

// Ids of the stored week records: "2027-Q1/W03" for a week close, and
// "<node>/2027-Q1/W03" for a node's snapshot or submission of that week.
std::string WeekId(FiscalQuarter quarter, int week);
std::string NodeWeekId(const std::string& node_id, FiscalQuarter quarter,
                       int week);

// A node's figures at one week's close (minor units).
struct WeekFigures {
  int64_t pipeline_weighted = 0;
  int64_t cumulative_closed = 0;
};

// Progress of a quarter from its snapshots: `weeks[w]` is week w's snapshot
// (index 0 = week 0, recorded when the previous quarter closed; nullopt when
// missing, which counts as zero for week 0 and means "not closed" for others).
// Week w's progress = ((pw_w − pw_{w−1}) + (cc_w − cc_{w−1})) / quota, in
// basis points rounded half to even (0 when the quota is 0); a week is on pace
// when its progress × weeks_per_quarter ≥ quota (exact integers, so 1/13 is
// not rounded to 7.7% or 7.8%). Only closed weeks after the last missing one
// before them are reported: a week whose predecessor is missing (other than
// week 0) is compared with the nearest closed week before it. Fills everything
// of `out` but node_id and quota. OUT_OF_RANGE on overflow.
[[nodiscard]] absl::Status ComputeProgress(
    const std::vector<std::optional<WeekFigures>>& weeks, int64_t quota_minor,
    int weeks_per_quarter, const std::string& currency,
    v1::GetProgressResponse* out);

// The weekday (0 = Monday … 4 = Friday) a node's submission is due, by level:
// reps Monday, first-line managers (a TEAM of reps) Tuesday, second-line (a
// TEAM with TEAMs below) Wednesday, country/area Thursday, region and global
// Friday.
int DueWeekday(int org_node_kind, bool has_team_child);

// The end of that weekday of `week` of `quarter` (the next day's start in the
// calendar's zone). A week clipped by the quarter's start or end uses its
// first or last day when the weekday falls outside it (week 1 starting on a
// Wednesday: reps are due that Wednesday). INVALID_ARGUMENT for a week outside
// the quarter; FAILED_PRECONDITION for an empty week.
[[nodiscard]] absl::StatusOr<absl::Time> SubmissionDue(
    const FiscalCalendar& calendar, FiscalQuarter quarter, int week,
    int weekday);

// INVALID_ARGUMENT naming the fields (with those already in `v`) unless the
// quarter and week (1..weeks per quarter) are valid.
[[nodiscard]] absl::StatusOr<FiscalQuarter> QuarterAndWeek(
    const FiscalCalendar& calendar, int32_t year, int32_t quarter, int32_t week,
    Violations& v);

// The fields of a submission (INVALID_ARGUMENT naming every violated one):
// its fiscal quarter.
[[nodiscard]] absl::StatusOr<FiscalQuarter> ValidateSubmission(
    const v1::ForecastSubmission& in, const FiscalCalendar& calendar,
    const std::string& currency);

// A submitted amount other than the computed forecast needs a note.
[[nodiscard]] absl::Status CheckSubmittedAmount(
    const v1::ForecastSubmission& in, int64_t computed_minor,
    const std::string& currency);

// The snapshot of a node's `figures` and effective quota at the close of
// `week` of `quarter` (week 0: the next quarter's start), closed at `at`.
v1::WeekSnapshot SnapshotOf(const std::string& node_id,
                            const NodeFigures& figures, int64_t quota_minor,
                            FiscalQuarter quarter, int week, absl::Time at,
                            const std::string& currency);

// The submission stored for `in` (already validated), submitted by
// `submitted_by` at `now` against the computed forecast `computed_minor`,
// due at `due` (late when submitted after it).
v1::ForecastSubmission SubmissionOf(const v1::ForecastSubmission& in,
                                    FiscalQuarter quarter,
                                    int64_t computed_minor,
                                    const std::string& submitted_by,
                                    absl::Time now, absl::Time due,
                                    const std::string& currency);

}  // namespace salesops::forecast
