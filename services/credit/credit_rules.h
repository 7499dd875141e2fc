#pragma once

// Transitions of the credit profile and credit check aggregates (SPEC.md
// §5.1): validating and building a profile, and the credit decision as a
// pure function of what the service read.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/server/principal.h"
#include "salesops/v1/credit.pb.h"
#include "services/credit/credit_options.h"

namespace salesops::credit {

struct CreditFacts {
  std::optional<v1::CreditProfile> profile;  // nullopt: no profile
  int64_t exposure = 0;  // open receivables + contracted-not-invoiced
  int64_t amount = 0;    // asked for
  // The most days past due of the account's receivables that still owe
  // (0 when none is overdue), and the open amount of those past the limit.
  int max_days_overdue = 0;
  int64_t overdue_beyond_limit = 0;
  int overdue_block_days = 30;  // --overdue_block_days
  v1::DebtorClass debtor_class = v1::DEBTOR_CLASS_NO_HISTORY;
  int exponent = 2;  // decimals of the currency, for messages
};

struct CreditVerdict {
  v1::CreditDecision decision = v1::CREDIT_DECISION_APPROVE;
  std::vector<std::string> reasons;
};

// BLOCK reasons: on credit hold ("account on credit hold: <hold_reason>"),
// debtor class NON_PAYER, receivables overdue more than overdue_block_days
// ("receivables overdue more than 30 days: 1000.00, up to 45 days"),
// exposure + amount > credit limit ("would exceed the credit limit: exposure
// 400.00 + amount 200.00 = 600.00 > limit 500.00"). REVIEW reasons: no credit
// profile. The decision is BLOCK when any BLOCK reason holds, else REVIEW
// when any REVIEW reason holds, else APPROVE; every reason that holds is
// listed.
CreditVerdict DecideCredit(const CreditFacts& facts);

// ---- profiles ----
// INVALID_ARGUMENT naming every violated field (account, limit, terms, risk
// class, hold reason, expected version).
[[nodiscard]] absl::Status ValidateSetCreditProfile(
    const v1::SetCreditProfileRequest& req, const CreditOptions& options);
// The profile stored for `in` (version still to check and set).
v1::CreditProfile NewProfile(const v1::CreditProfile& in, absl::Time now,
                             const CreditOptions& options);

// ---- checks ----
// INVALID_ARGUMENT for the request; PERMISSION_DENIED when `who` names an
// opportunity (which reserves exposure) without being SERVICE, FINANCE or
// ADMIN.
[[nodiscard]] absl::Status ValidateCheckCredit(
    const v1::CheckCreditRequest& req, const Principal& who,
    const CreditOptions& options);
// Fills facts->max_days_overdue and overdue_beyond_limit from the account's
// receivables `rs` as of `today`; OUT_OF_RANGE naming the account's overdue
// sum.
[[nodiscard]] absl::Status AddOverdue(const std::vector<v1::Receivable>& rs,
                                      absl::CivilDay today,
                                      const std::string& account_id,
                                      CreditFacts* facts);
// The check `id` recording the verdict on the request.
v1::CreditCheck NewCheck(const v1::CheckCreditRequest& req,
                         const CreditFacts& facts, const CreditVerdict& verdict,
                         const std::string& checked_by, const std::string& id,
                         absl::Time now, const std::string& currency);

}  // namespace salesops::credit
