#include "services/credit/credit_rules.h"

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/money/money.h"

namespace salesops::credit {

CreditVerdict DecideCredit(const CreditFacts& facts) {
  auto fmt = [&](int64_t units) {
    return money::Format(units, facts.exponent);
  };
  CreditVerdict v;
  bool block = false;
  bool review = false;

  if (facts.profile.has_value() && facts.profile->hold()) {
    block = true;
    v.reasons.push_back(facts.profile->hold_reason().empty()
                            ? std::string("account on credit hold")
                            : absl::StrCat("account on credit hold: ",
                                           facts.profile->hold_reason()));
  }
  if (facts.debtor_class == v1::DEBTOR_CLASS_NON_PAYER) {
    block = true;
    v.reasons.push_back("debtor class NON_PAYER");
  }
  if (facts.max_days_overdue > facts.overdue_block_days) {
    block = true;
    v.reasons.push_back(
        absl::StrCat("receivables overdue more than ", facts.overdue_block_days,
                     " days: ", fmt(facts.overdue_beyond_limit), ", up to ",
                     facts.max_days_overdue, " days"));
  }
  // Without a profile there is no limit to check: a person reviews instead.
  if (facts.profile.has_value()) {
    const int64_t limit = facts.profile->credit_limit().units_minor();
    // Compared in 128 bits: exposure + amount may not fit int64.
    const __int128 total = static_cast<__int128>(facts.exposure) + facts.amount;
    if (total > limit) {
      block = true;
      absl::StatusOr<int64_t> sum = money::Add(facts.exposure, facts.amount);
      v.reasons.push_back(absl::StrCat(
          "would exceed the credit limit: exposure ", fmt(facts.exposure),
          " + amount ", fmt(facts.amount),
          sum.ok() ? absl::StrCat(" = ", fmt(*sum)) : std::string(),
          " > limit ", fmt(limit)));
    }
  } else {
    review = true;
    v.reasons.push_back("no credit profile");
  }

  v.decision = block    ? v1::CREDIT_DECISION_BLOCK
               : review ? v1::CREDIT_DECISION_REVIEW
                        : v1::CREDIT_DECISION_APPROVE;
  return v;
}

}  // namespace salesops::credit
