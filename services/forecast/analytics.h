#pragma once

// Funnel analytics of the forecast service (SPEC.md §4.5): stage conversion
// and the ratio line, velocity, calibrated win rates, breakdowns by source
// channel and owner, and the week-over-week pipeline waterfall. Pure logic
// over opportunity timelines, which the service rebuilds from the pipeline
// feed (the opportunity's current state plus its history entries).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "salesops/v1/forecast.pb.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops::forecast {

// One opportunity as the analytics see it.
struct Timeline {
  std::string id;
  std::string owner_node_id;  // current owner
  std::string stage_model_id;
  v1::SourceChannel source_channel = v1::SOURCE_CHANNEL_UNSPECIFIED;
  int64_t created_micros = 0;
  // The current state.
  std::string stage_key;
  v1::OpportunityStatus status = v1::OPPORTUNITY_STATUS_OPEN;
  int64_t amount_minor = 0;
  absl::CivilDay expected_close;
  int64_t closed_micros = 0;  // 0 while open
  // Every history entry (pipeline.OpportunityChange), ordered by seq: kind,
  // time and from/to as pipeline records them — stage keys for CREATED ("" →
  // stage) and STAGE_FORWARD/BACKWARD; minor units as decimal text for
  // AMOUNT; "YYYY-MM-DD" for CLOSE_DATE; "OPEN" → status name for CLOSED;
  // status name → "OPEN" for REOPENED; node ids for OWNER.
  struct Change {
    int64_t seq = 0;
    v1::ChangeKind kind = v1::CHANGE_KIND_UNSPECIFIED;
    int64_t time_micros = 0;
    std::string from;
    std::string to;
  };
  std::vector<Change> changes;
};

// The state of an opportunity at instant `t`, reconstructed by undoing the
// changes after `t` from the current state. nullopt when it did not exist yet
// (created after t). Entries it cannot parse are INVALID_ARGUMENT naming the
// opportunity and the entry's seq; every entry is checked, whichever side of
// `t` it lies, so a damaged history fails at every instant.
// An entry at exactly `t` has happened. Undoing a REOPENED restores the closed
// status it names and the time of the CLOSED entry before it; OWNER entries
// are ignored (the analytics use the current owner).
struct StateAt {
  std::string stage_key;
  v1::OpportunityStatus status = v1::OPPORTUNITY_STATUS_OPEN;
  int64_t amount_minor = 0;
  absl::CivilDay expected_close;
  int64_t closed_micros = 0;
};
[[nodiscard]] absl::StatusOr<std::optional<StateAt>> StateOf(
    const Timeline& timeline, absl::Time t);

// The stages of the model the analytics are for, in order, with their
// configured win rates.
struct ModelStages {
  std::string model_id;
  std::vector<std::pair<std::string, int32_t>> stages;
};

// GetFunnelAnalytics over `timelines` (already filtered by the caller to the
// node's subtree, the model and the creation range), as of `now`:
//  - stages[s].entered: opportunities that were ever in stage s (CREATED into
//    it or moved into it); advanced: of those, the ones that were ever in a
//    later stage of the model; conversion_bp = advanced / entered (half to
//    even; 0 when entered is 0).
//  - median_days_in_stage: median of the whole days of every stay in s
//    (entered → left, or → now while still there / → closed_micros once
//    closed); the lower median for an even count; 0 when none. A stay begins
//    at creation or a stage move into s and ends at the next stage move, at
//    the CLOSED entry, or at `now`; a REOPENED begins a new stay in the same
//    stage (a move into a closes_won stage is a stay of 0 days there). Whole
//    days = floor(duration / 24h).
//  - closed / calibrated_win_rate_bp: among closed opportunities (WON, LOST,
//    NO_DECISION, ABANDONED) that were ever in s, how many, and WON / closed;
//    configured_win_rate_bp from `model`.
//  - ratio_line: the entered counts joined with ":", then the WON count
//    (e.g. "250:125:25:5:1:1").
//  - median_cycle_days: lower median of whole days created → closed over WON
//    opportunities; 0 when none.
//  - by_source / by_owner: per source channel name (e.g. "REFERRAL",
//    "UNSPECIFIED" without the enum prefix) / per owner node id, sorted by key:
//    created count, won, closed, win_rate_bp = won / closed, won amount (in
//    `currency`).
[[nodiscard]] absl::StatusOr<v1::FunnelAnalytics> ComputeFunnelAnalytics(
    const std::vector<Timeline>& timelines, const ModelStages& model,
    absl::Time now, const std::string& currency);

// The waterfall of SPEC §4.5 for a quarter [quarter_first, quarter_last]
// between instants `from` and `to` (the closes of two weeks): an opportunity
// is "in" the quarter's pipeline at an instant when it exists, is OPEN and its
// expected close date lies in the quarter. With its states at `from` (a) and
// `to` (b):
//  - in at a and b: amount_up / amount_down by the difference;
//  - in at a only: won (WON at b), lost (any other closed status at b), else
//    pushed_out (still open, close date moved out of the quarter), each by its
//    amount at a;
//  - in at b only: new_pipeline when it did not exist at a (created in
//    between), else pulled_in (existed at a outside the quarter's pipeline), by
//    its amount at b;
//  - advanced / slipped: STAGE_FORWARD / STAGE_BACKWARD entries with
//    from < time ≤ to of opportunities in at a or b;
//  - start / end: Σ amounts in at a / b; always start + new + pulled_in +
//    amount_up − won − lost − pushed_out − amount_down = end.
// OUT_OF_RANGE on overflow; errors of StateOf are passed on.
[[nodiscard]] absl::StatusOr<v1::PipelineChanges> ComputePipelineChanges(
    const std::vector<Timeline>& timelines, absl::CivilDay quarter_first,
    absl::CivilDay quarter_last, absl::Time from, absl::Time to,
    const std::string& currency);

}  // namespace salesops::forecast
