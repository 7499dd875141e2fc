#pragma once

// Transitions of the promise-to-pay aggregate and of collection contacts
// (SPEC.md §5.3): recording a promise on receivables that still owe, judging
// it on its day (KEPT, PARTIALLY_KEPT, BROKEN with an escalation task), and
// recording a contact with its excuse code (a follow-up task; QUALITY_ISSUE
// disputes receivables). Pure: the callers read the stored state inside
// their transaction, call these, and write what comes back (tasks get their
// id when stored).

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "salesops/v1/credit.pb.h"
#include "services/credit/collections.h"
#include "services/credit/credit_options.h"

namespace salesops::credit {

// ---- promises ----
struct PromiseDates {
  absl::CivilDay made;      // made_date, today when empty
  absl::CivilDay promised;  // promised_date
};
// INVALID_ARGUMENT naming every violated field (receivable ids, amount,
// dates, tolerance, excuse code).
[[nodiscard]] absl::StatusOr<PromiseDates> ValidateRecordPromise(
    const v1::RecordPromiseRequest& req, absl::CivilDay today,
    const CreditOptions& options);

// The PENDING promise `id` on the request's receivables; `found[i]` is the
// stored receivables_ids(i) (nullopt: none). INVALID_ARGUMENT for a missing
// receivable or receivables of several accounts, FAILED_PRECONDITION for one
// that owes nothing or an amount above what is still owed.
[[nodiscard]] absl::StatusOr<v1::Promise> NewPromise(
    const v1::RecordPromiseRequest& req,
    const std::vector<std::optional<v1::Receivable>>& found,
    const PromiseDates& dates, const std::string& recorded_by,
    const std::string& id, absl::Time now, const CreditOptions& options);

struct JudgedPromise {
  v1::Promise promise;  // judged; escalation_task_id still to set
  // BROKEN: the escalation task to store (without id).
  std::optional<v1::CollectionTask> escalation;
};
// Judges `p` (its judging day <= today) on its receivables `rs`.
JudgedPromise JudgeDuePromise(v1::Promise p,
                              const std::vector<v1::Receivable>& rs,
                              absl::CivilDay today,
                              const CreditOptions& options);

// ---- collection contacts ----
// INVALID_ARGUMENT naming every violated field; the excuse code's rule.
[[nodiscard]] absl::StatusOr<const ExcuseRule*> ValidateContact(
    const v1::RecordCollectionContactRequest& req);

struct RecordedContact {
  v1::CollectionContact contact;         // follow_up_task_id still to set
  std::vector<v1::Receivable> disputed;  // QUALITY_ISSUE: to store
  v1::CollectionTask follow_up;          // to store (without id)
};
// The contact `id` on the account whose receivables are `rs`.
[[nodiscard]] absl::StatusOr<RecordedContact> RecordContactOn(
    const v1::RecordCollectionContactRequest& req, const ExcuseRule& rule,
    std::vector<v1::Receivable> rs, absl::CivilDay today,
    const std::string& recorded_by, const std::string& id, absl::Time now,
    const CreditOptions& options);

}  // namespace salesops::credit
