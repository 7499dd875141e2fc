#pragma once

// Transitions of the payment aggregate (SPEC.md §5.2): a payment recorded
// against an account's receivables, allocated (as named or oldest due first;
// receivables.h Allocate) and applied to them. Pure: the handler reads the
// account's receivables inside its transaction and writes what comes back.

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "salesops/v1/credit.pb.h"
#include "services/credit/credit_options.h"

namespace salesops::credit {

// INVALID_ARGUMENT naming every violated field (account, amount, a date not
// after `today`, allocations, external id); the payment's date.
[[nodiscard]] absl::StatusOr<absl::CivilDay> ValidateRecordPayment(
    const v1::RecordPaymentRequest& req, absl::CivilDay today,
    const CreditOptions& options);

// A payment whose external id is already `known`: OK when it is a replay
// (same account, amount and date: nothing changes), else
// FAILED_PRECONDITION.
[[nodiscard]] absl::Status CheckPaymentReplay(
    const v1::Payment& known, const v1::RecordPaymentRequest& req);

struct RecordedPayment {
  v1::Payment payment;
  // The receivables the payment was applied to, in allocation order.
  std::vector<v1::Receivable> changed;
  // Their opportunities (collections to refresh; "" for none).
  std::set<std::string> opportunities;
};

// The payment `id` allocated over `receivables` (the account's) and applied
// to them.
[[nodiscard]] absl::StatusOr<RecordedPayment> RecordPaymentOn(
    std::vector<v1::Receivable> receivables,
    const v1::RecordPaymentRequest& req, absl::CivilDay date,
    const std::string& recorded_by, const std::string& id, absl::Time now,
    const CreditOptions& options);

}  // namespace salesops::credit
