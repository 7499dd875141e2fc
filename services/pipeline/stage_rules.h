#pragma once

// Moving an opportunity through its stage model (SPEC.md §3.3). Pure logic.

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops::pipeline {

// "OPEN", "WON", "LOST", "NO_DECISION", "ABANDONED" (the enum name without
// its prefix), for messages and history.
std::string StatusName(v1::OpportunityStatus status);

struct MovePlan {
  int from_index = 0;
  int to_index = 0;
  bool forward = false;
  // Required exit criteria of the current stage and of every skipped stage
  // (stages from_index .. to_index-1) that are not checked on the
  // opportunity, in stage then criterion order, each as
  // "<STAGE_KEY>/<criterion_key> (<text>)". Empty for backward moves.
  std::vector<std::string> unchecked;
  // A stage entered or skipped over on the way forward (from_index+1 ..
  // to_index) requires a credit check.
  bool needs_credit_check = false;
  // The target stage closes the opportunity WON on entry.
  bool closes_won = false;
};

// Plans a move of `opp` (its stage_key, status and criteria) to `to_stage_key`
// in `model`. Errors:
//   FAILED_PRECONDITION "opportunity <id> is <STATUS>; reopen it first" unless
//   OPEN; INVALID_ARGUMENT "to_stage_key: required" / "to_stage_key: stage X is
//   not in stage model M"; FAILED_PRECONDITION "to_stage_key: opportunity <id>
//   is already in stage X"; FAILED_PRECONDITION when the opportunity's current
//   stage is not in the model (data damage).
[[nodiscard]] absl::StatusOr<MovePlan> PlanMove(const v1::StageModel& model,
                                                const v1::Opportunity& opp,
                                                std::string_view to_stage_key);

// Sets (or adds) the state of one exit criterion on `opp`. INVALID_ARGUMENT
// "stage_key: ..." / "criterion_key: ..." when the model has no such stage or
// criterion.
[[nodiscard]] absl::Status SetCriterion(const v1::StageModel& model,
                                        std::string_view stage_key,
                                        std::string_view criterion_key,
                                        bool checked, std::string_view by,
                                        int64_t now_micros,
                                        v1::Opportunity* opp);

}  // namespace salesops::pipeline
