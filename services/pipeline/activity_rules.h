#pragma once

// Transitions of an opportunity's activities, follow-ups and weekly reviews
// (SPEC.md §3.6, §3.7). Pure: the handler reads the opportunity, its roles and
// planned follow-ups inside its store transaction and writes what these
// decide.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/server/principal.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops::pipeline {

// The activity's fields as sent: opportunity, kind, outcome, a time that is
// not in the future (5 minutes of slack) nor negative, no duplicate contact,
// a planned follow-up with kind, text and a due time after the activity.
[[nodiscard]] absl::Status ValidateActivity(const v1::Activity& in,
                                            absl::Time now);

// What recording an activity writes, in this order: the roles whose last
// activity (visit) moved, the follow-up it completes (DONE), the cadence's
// next follow-up, the follow-up it plans, the activity. New follow-ups carry
// kind, text and times; id, owner, opportunity and state are the handler's.
struct ActivityRecord {
  v1::Activity activity;
  std::vector<v1::ContactRole> touched_roles;
  std::optional<v1::FollowUp> completed;
  std::optional<v1::FollowUp> next;
  std::optional<v1::FollowUp> planned;
};

// RecordActivity of `in` on `o` (under `model`) as activity `id`: its
// contacts must be in the buying centre (`roles`: the opportunity's roles,
// removed ones included); it completes the planned follow-up it names
// (INVALID_ARGUMENT when that is not one of `planned`) or the oldest planned
// one of its kind; the next cadence step is planned while `o` is OPEN.
[[nodiscard]] absl::StatusOr<ActivityRecord> RecordActivity(
    const v1::Opportunity& o, const v1::StageModel& model,
    const v1::Activity& in, const std::vector<v1::ContactRole>& roles,
    const std::vector<v1::FollowUp>& planned, std::string id,
    const Principal& who, absl::Time now);

// The review's fields; the Monday of its week.
[[nodiscard]] absl::StatusOr<absl::CivilDay> ValidateWeeklyReview(
    const v1::WeeklyReview& in);

// The review as stored: its week's Monday, who and when.
v1::WeeklyReview WeeklyReviewOf(const v1::WeeklyReview& in,
                                absl::CivilDay monday, const Principal& who,
                                absl::Time now);

}  // namespace salesops::pipeline
