#pragma once

// Deal health and landmines (SPEC.md §3.6), the buying-centre rules (§3.4) and
// the follow-up cadence (§3.7). Pure logic.

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops::pipeline {

// Days a newly added contact counts as a NEW_FACE.
inline constexpr int kNewFaceDays = 14;

// Decision maker, user, technical gatekeeper and coach.
bool IsCoreRole(v1::BuyingRole role);
// VISIT and MEETING count as meeting a contact.
bool IsVisit(v1::ActivityKind kind);

// INVALID_ARGUMENT "influence_weight_pct: the buying centre of <opp> would
// weigh N% (at most 100)" when `weight` plus the weights of `others` (the
// opportunity's other non-removed roles) exceeds 100; "influence_weight_pct:
// must be 0..100" for a weight outside 0..100.
[[nodiscard]] absl::Status CheckInfluenceWeights(
    const std::vector<v1::ContactRole>& others, int32_t weight);

// Everything deal health looks at, read by the caller.
struct DealFacts {
  v1::Opportunity opportunity;
  v1::StageModel model;
  std::vector<v1::ContactRole> roles;  // non-removed
  std::vector<v1::Activity> activities;
  std::vector<v1::FollowUp> follow_ups;
  // recorded_micros of the latest weekly review; 0 when none.
  int64_t last_review_micros = 0;
  absl::Time as_of;
  absl::TimeZone time_zone;  // the instance's, for "today"
};

// The warnings of SPEC §3.6 in code order (a code appears at most once; its
// contact_ids list every contact concerned). Rules, exactly:
//  ROLE_MISSING (HIGH): a core buying role (DM, user, gatekeeper, coach) held
//    by no contact — detail names the missing roles.
//  NO_COACH (HIGH): no contact holds BUYING_ROLE_COACH.
//  CORE_NOT_VISITED (MEDIUM): a core contact (is_core) with last_visit_micros
//    0 or after as_of.
//  ROLE_CHANGED (MEDIUM): a core contact with changed_micros > the last review
//    (0 = none) and no activity with them at or after changed_micros
//    (last_activity_micros < changed_micros).
//  NEW_FACE (MEDIUM): a contact with added_micros within kNewFaceDays before
//    as_of and no visit (last_visit_micros == 0).
//  COMPETITION_UNKNOWN (MEDIUM): no competitor recorded.
//  OPPOSED (HIGH): a core contact with attitude D or E.
//  STALLED (MEDIUM): open and as_of − stage_entered_micros > the stage's stall
//    limit (StallLimitDays) in days.
//  CLOSE_DATE_PASSED (HIGH): open and expected_close_date before today in
//    time_zone.
//  FOLLOW_UP_OVERDUE (MEDIUM): a PLANNED follow-up with due_micros < as_of.
// Closed opportunities get only the buying-centre and competition warnings.
std::vector<v1::DealWarning> AssessDealHealth(const DealFacts& facts);

// The follow-up a cadence plans first for an opportunity created at
// `created_micros` (step 0: earliest = created + min_hours, due = created +
// max_hours); nullopt when the cadence has no steps. id, owner and opportunity
// are left for the caller.
std::optional<v1::FollowUp> FirstFollowUp(const v1::FollowUpCadence& cadence,
                                          int64_t created_micros);
// The step after `completed` (matched by step_key), planned from
// `completed_micros`; nullopt after the last step or for follow-ups that are
// not cadence steps.
std::optional<v1::FollowUp> NextFollowUp(const v1::FollowUpCadence& cadence,
                                         const v1::FollowUp& completed,
                                         int64_t completed_micros);
// Which of `planned` (PLANNED follow-ups of one opportunity, by id) `activity`
// completes: the one it names in follow_up_id, else the oldest (by id) of the
// same kind; nullopt when none. NOT_FOUND-like misses are the caller's: a named
// id that is not in `planned` gives nullopt.
std::optional<size_t> FollowUpCompletedBy(
    const v1::Activity& activity, const std::vector<v1::FollowUp>& planned);

}  // namespace salesops::pipeline
