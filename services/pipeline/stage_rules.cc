#include "services/pipeline/stage_rules.h"

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/errors.h"
#include "common/status/violations.h"
#include "services/pipeline/stage_models.h"

namespace salesops::pipeline {
namespace {

// Whether `opp` has the criterion checked (the last state recorded for it).
bool IsChecked(const v1::Opportunity& opp, const std::string& stage_key,
               const std::string& criterion_key) {
  bool checked = false;
  for (const v1::CriterionState& c : opp.criteria()) {
    if (c.stage_key() == stage_key && c.criterion_key() == criterion_key) {
      checked = c.checked();
    }
  }
  return checked;
}

}  // namespace

std::string StatusName(v1::OpportunityStatus s) {
  std::string name = v1::OpportunityStatus_Name(s);
  const std::string prefix = "OPPORTUNITY_STATUS_";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

absl::StatusOr<MovePlan> PlanMove(const v1::StageModel& model,
                                  const v1::Opportunity& opp,
                                  std::string_view to_stage_key) {
  if (opp.status() != v1::OPPORTUNITY_STATUS_OPEN) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "opportunity ", opp.id(), " is ",
                          StatusName(opp.status()), "; reopen it first")),
                      "NOT_OPEN");
  }
  const std::string to(to_stage_key);
  if (Blank(to)) {
    return absl::InvalidArgumentError("to_stage_key: required");
  }
  const int to_index = StageIndex(model, to);
  if (to_index < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "to_stage_key: stage ", to, " is not in stage model ", model.id()));
  }
  if (opp.stage_key() == to) {
    return WithReason(absl::FailedPreconditionError(
                          absl::StrCat("to_stage_key: opportunity ", opp.id(),
                                       " is already in stage ", to)),
                      "ALREADY_IN_STAGE");
  }
  const int from_index = StageIndex(model, opp.stage_key());
  if (from_index < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("opportunity ", opp.id(), " is in stage ", opp.stage_key(),
                     ", which is not in its stage model ", model.id()));
  }

  MovePlan plan;
  plan.from_index = from_index;
  plan.to_index = to_index;
  plan.forward = to_index > from_index;
  if (plan.forward) {
    for (int i = from_index; i < to_index; ++i) {
      const v1::Stage& stage = model.stages(i);
      for (const v1::ExitCriterion& c : stage.exit_criteria()) {
        if (c.required() && !IsChecked(opp, stage.key(), c.key())) {
          plan.unchecked.push_back(
              absl::StrCat(stage.key(), "/", c.key(), " (", c.text(), ")"));
        }
      }
    }
    for (int i = from_index + 1; i <= to_index; ++i) {
      if (model.stages(i).requires_credit_check()) {
        plan.needs_credit_check = true;
      }
    }
  }
  plan.closes_won = model.stages(to_index).closes_won();
  return plan;
}

absl::Status SetCriterion(const v1::StageModel& model,
                          std::string_view stage_key,
                          std::string_view criterion_key, bool checked,
                          std::string_view by, int64_t now_micros,
                          v1::Opportunity* opp) {
  const std::string stage(stage_key);
  const std::string criterion(criterion_key);
  std::vector<std::string> violations;
  const v1::Stage* found_stage = nullptr;
  if (stage.empty()) {
    violations.push_back("stage_key: required");
  } else {
    const int index = StageIndex(model, stage);
    if (index < 0) {
      violations.push_back(absl::StrCat("stage_key: stage ", stage,
                                        " is not in stage model ", model.id()));
    } else {
      found_stage = &model.stages(index);
    }
  }
  if (criterion.empty()) {
    violations.push_back("criterion_key: required");
  } else if (found_stage != nullptr) {
    bool known = false;
    for (const v1::ExitCriterion& c : found_stage->exit_criteria()) {
      known = known || c.key() == criterion;
    }
    if (!known) {
      violations.push_back(absl::StrCat("criterion_key: stage ", stage,
                                        " of stage model ", model.id(),
                                        " has no exit criterion ", criterion));
    }
  }
  if (!violations.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(violations, "; "));
  }

  v1::CriterionState* state = nullptr;
  for (v1::CriterionState& c : *opp->mutable_criteria()) {
    if (c.stage_key() == stage && c.criterion_key() == criterion) {
      state = &c;
    }
  }
  if (state == nullptr) {
    state = opp->add_criteria();
    state->set_stage_key(stage);
    state->set_criterion_key(criterion);
  }
  state->set_checked(checked);
  state->set_changed_by(std::string(by));
  state->set_changed_micros(now_micros);
  return absl::OkStatus();
}

}  // namespace salesops::pipeline
