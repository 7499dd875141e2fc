#pragma once

// Transitions of the credit profile and credit check aggregates (SPEC.md
// §5.1): validating and building a profile, and the credit decision as a
// pure function of what the service read.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/server/principal.h"
#include "salesops/v1/credit.pb.h"
#include "services/credit/credit_options.h"
#include "services/credit/currency_rules.h"

namespace salesops::credit {

// What the decision reads. Amounts are in `currency`: the limit's currency
// (the reporting currency without a profile), converted at today's rate
// (ConvertExposure, D40).
struct CreditFacts {
  std::optional<v1::CreditProfile> profile;  // nullopt: no profile
  // open receivables + contracted-not-invoiced: the part whose rates exist
  int64_t exposure = 0;
  int64_t amount = 0;        // asked for, converted
  bool amount_known = true;  // false: its rate is missing (amount is 0)
  // The rates missing for exposure or amount: never APPROVE with these.
  std::vector<v1::MissingRate> missing_rates;
  // The most days past due of the account's receivables that still owe
  // (0 when none is overdue), and the open amount of those past the limit:
  // in `currency` (all of them when `currency` is empty), the others per
  // currency (unconverted; only named in the reason).
  int max_days_overdue = 0;
  int64_t overdue_beyond_limit = 0;
  std::map<std::string, int64_t> overdue_other_currencies;
  int overdue_block_days = 30;  // --overdue_block_days
  v1::DebtorClass debtor_class = v1::DEBTOR_CLASS_NO_HISTORY;
  int exponent = 2;      // decimals of the currency, for messages
  std::string currency;  // of exposure, amount and the limit ("" in tests)
};

struct CreditVerdict {
  v1::CreditDecision decision = v1::CREDIT_DECISION_APPROVE;
  std::vector<std::string> reasons;
};

// BLOCK reasons: on credit hold ("account on credit hold: <hold_reason>"),
// debtor class NON_PAYER, receivables overdue more than overdue_block_days
// ("receivables overdue more than 30 days: 1000.00, up to 45 days"),
// exposure + amount > credit limit ("would exceed the credit limit: exposure
// 400.00 + amount 200.00 = 600.00 > limit 500.00"; with missing rates only
// the converted part is added — it can only grow). REVIEW reasons: no credit
// profile; each missing rate (MissingRateReason: "no exchange rate for JPY
// on 2026-03-02 (...)"), so a missing rate never APPROVEs. The decision is
// BLOCK when any BLOCK reason holds, else REVIEW when any REVIEW reason
// holds, else APPROVE; every reason that holds is listed.
CreditVerdict DecideCredit(const CreditFacts& facts);

// Fills facts->exposure with Σ `exposure` (open receivables and
// commitments, each in its own currency) and facts->amount with `amount`,
// each converted by `conv` into its target (the limit's currency) at its day
// (today) with one rounding per amount; those whose rate is missing are left
// out and listed in facts->missing_rates (amount_known = false when it is
// the asked amount). Sets facts->currency and exponent to the target's.
// OUT_OF_RANGE naming the account's exposure when a sum passes int64.
[[nodiscard]] absl::Status ConvertExposure(
    const std::vector<v1::Money>& exposure, const v1::Money& amount,
    const std::string& account_id, Converter& conv, CreditFacts* facts);

// ---- profiles ----
// INVALID_ARGUMENT naming every violated field (account, limit — any active
// ISO 4217 currency —, terms, risk class, hold reason, expected version).
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
// Fills facts->max_days_overdue and overdue_beyond_limit (receivables in
// facts->currency, or all when it is empty) and overdue_other_currencies
// from the account's receivables `rs` as of `today`; OUT_OF_RANGE naming the
// account's overdue sum.
[[nodiscard]] absl::Status AddOverdue(const std::vector<v1::Receivable>& rs,
                                      absl::CivilDay today,
                                      const std::string& account_id,
                                      CreditFacts* facts);
// The check `id` recording the verdict on the request: amount as asked,
// exposure and credit_limit in facts.currency (else `currency`, the
// reporting currency), the missing rates.
v1::CreditCheck NewCheck(const v1::CheckCreditRequest& req,
                         const CreditFacts& facts, const CreditVerdict& verdict,
                         const std::string& checked_by, const std::string& id,
                         absl::Time now, const std::string& currency);

}  // namespace salesops::credit
