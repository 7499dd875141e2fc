#pragma once

// Transitions of the receivable aggregate (SPEC.md §5.2): posting an invoice
// (new, replayed by external id, or adopting the receivable opened when the
// opportunity's contract was signed), opening the contract's receivable from
// pipeline's feed, writing off, disputing, and an opportunity's collection
// recomputed from its receivables. Pure: the handlers read the stored state
// inside their transaction, call these, and write what they return.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "salesops/v1/credit.pb.h"
#include "salesops/v1/pipeline.pb.h"
#include "services/credit/credit_options.h"

namespace salesops::credit {

// A PostReceivable request, validated: the effective external id (the
// request's or the receivable's), the issue date and the due date if given.
struct PostedInvoice {
  std::string external_id;
  absl::CivilDay issue;
  std::optional<absl::CivilDay> due;
};

// INVALID_ARGUMENT naming every violated field (account, amount, dates,
// external ids, output-only fields).
[[nodiscard]] absl::StatusOr<PostedInvoice> ValidatePostReceivable(
    const v1::PostReceivableRequest& req, const CreditOptions& options);

// A post whose external id is already `known`: OK when it is a replay (same
// account, amount and issue date: nothing changes), else FAILED_PRECONDITION.
[[nodiscard]] absl::Status CheckPostReplay(const v1::Receivable& known,
                                           const v1::Receivable& in,
                                           const std::string& external_id);

// The ERP's invoice for an opportunity whose contract receivable is already
// open is that receivable: adopted (external id, issue and due date) while
// nothing is paid and the amounts agree, else FAILED_PRECONDITION.
[[nodiscard]] absl::StatusOr<v1::Receivable> AdoptContractReceivable(
    v1::Receivable contract, const v1::Receivable& in,
    const PostedInvoice& invoice, absl::CivilDay due);

// A new POSTED receivable (not settled yet: OpenReceivable settles it).
v1::Receivable NewPostedReceivable(const v1::Receivable& in,
                                   const PostedInvoice& invoice,
                                   absl::CivilDay due, const std::string& id,
                                   absl::Time now,
                                   const CreditOptions& options);

// Whether `o` sits in a contract_signed stage of `model`.
bool InContractSignedStage(const v1::Opportunity& o,
                           const v1::StageModel& model);

// The issue day of a contract's receivable: the day the opportunity entered
// its stage, or the event's (a resync's synthetic event carries no
// meaningful time), in the instance time zone.
absl::CivilDay ContractIssueDay(const v1::Opportunity& o, int64_t event_micros,
                                const CreditOptions& options);

// The receivable opened when `o`'s contract was signed.
v1::Receivable NewContractReceivable(const v1::Opportunity& o,
                                     absl::CivilDay issue, int terms_days,
                                     const std::string& id, absl::Time now,
                                     const CreditOptions& options);

// WriteOff: INVALID_ARGUMENT for the request (id, reason, date not after
// today); the date written off (today when empty).
[[nodiscard]] absl::StatusOr<absl::CivilDay> ValidateWriteOff(
    const v1::WriteOffRequest& req, absl::CivilDay today);
// Writes off what `r` still owes; FAILED_PRECONDITION unless it is
// outstanding.
[[nodiscard]] absl::StatusOr<v1::Receivable> WriteOffReceivable(
    v1::Receivable r, const v1::WriteOffRequest& req, absl::CivilDay date,
    const std::string& currency);

// SetDispute: INVALID_ARGUMENT for the request; then opens (OPEN or
// PARTIALLY_PAID only) or closes (DISPUTED only) the dispute.
[[nodiscard]] absl::Status ValidateSetDispute(const v1::SetDisputeRequest& req);
[[nodiscard]] absl::StatusOr<v1::Receivable> SetReceivableDispute(
    v1::Receivable r, const v1::SetDisputeRequest& req,
    const std::string& currency);

// The collection of `opportunity_id` from all its receivables (version 0).
[[nodiscard]] absl::StatusOr<v1::OpportunityCollection> CollectionOf(
    const std::string& opportunity_id,
    const std::vector<v1::Receivable>& receivables,
    const std::string& currency);

// An OUT_OF_RANGE sum (money::Accumulator, money::Add) of a query's `figure`
// names it; any other error passes as is.
[[nodiscard]] absl::Status Figure(const absl::Status& s,
                                  const std::string& figure);

// A date field that may be left empty (then `fallback`).
[[nodiscard]] absl::StatusOr<absl::CivilDay> DateOr(const v1::Date& d,
                                                    std::string_view field,
                                                    absl::CivilDay fallback);

}  // namespace salesops::credit
