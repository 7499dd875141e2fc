#pragma once

// The dunning transition of the daily collections run (SPEC.md §5.3): a
// receivable whose dunning step days have come gets the latest one due (an
// invoice posted late does not get every earlier reminder at once), a task
// to send it, and at CREDIT_HOLD the account's hold and an escalation task.
// Pure: the daily job reads the state inside its transaction and writes what
// comes back (tasks get their id when stored).

#include <optional>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "salesops/v1/credit.pb.h"
#include "services/credit/credit_options.h"

namespace salesops::credit {

struct DunningOutcome {
  v1::Receivable receivable;   // at its new dunning step
  v1::CollectionTask dunning;  // send the step (without id)
  // CREDIT_HOLD only: the hold placed on the account's profile (nullopt when
  // it was already on hold; `new_profile` when it had none) and the
  // escalation task (without id).
  std::optional<v1::CreditProfile> hold;
  bool new_profile = false;
  std::optional<v1::CollectionTask> escalation;
};

// nullopt when no step of `r` is due by `today`. `profile`: the account's
// (nullopt: none; a CREDIT_HOLD creates a HIGH-risk one with no limit).
std::optional<DunningOutcome> DunningStepDue(
    v1::Receivable r, const v1::DunningStrategy& strategy, absl::CivilDay today,
    const std::optional<v1::CreditProfile>& profile, absl::Time now,
    const CreditOptions& options);

// Whether a due step of `r` would place a hold (the caller then reads the
// account's profile before calling DunningStepDue).
bool HoldDue(const v1::Receivable& r, const v1::DunningStrategy& strategy,
             absl::CivilDay today);

}  // namespace salesops::credit
