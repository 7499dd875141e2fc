#pragma once

// The credit decision of SPEC.md §5.1, as a pure function of what the
// service read.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "salesops/v1/credit.pb.h"

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

}  // namespace salesops::credit
