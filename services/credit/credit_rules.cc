#include "services/credit/credit_rules.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "common/status/macros.h"
#include "common/status/violations.h"
#include "common/time/clock.h"
#include "services/credit/receivable_rules.h"
#include "services/credit/receivables.h"

namespace salesops::credit {
namespace {

// The BLOCK reason of exposure + amount over the profile's limit, if any.
// Compared in 128 bits: exposure + amount may not fit int64. With missing
// rates only the converted part counts: it can only grow, so a sum already
// past the limit BLOCKs.
std::optional<std::string> OverLimit(const CreditFacts& facts) {
  auto fmt = [&](int64_t units) {
    return money::Format(units, facts.exponent);
  };
  const int64_t limit = facts.profile->credit_limit().units_minor();
  const __int128 total = static_cast<__int128>(facts.exposure) + facts.amount;
  if (total <= limit) {
    return std::nullopt;
  }
  if (!facts.amount_known) {
    return absl::StrCat("would exceed the credit limit: exposure ",
                        fmt(facts.exposure), " > limit ", fmt(limit),
                        " before the amount asked");
  }
  absl::StatusOr<int64_t> sum = money::Add(facts.exposure, facts.amount);
  return absl::StrCat("would exceed the credit limit: exposure ",
                      fmt(facts.exposure), " + amount ", fmt(facts.amount),
                      sum.ok() ? absl::StrCat(" = ", fmt(*sum)) : std::string(),
                      " > limit ", fmt(limit));
}

}  // namespace

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
    // Overdue amounts in other currencies are named as they are.
    std::string others;
    for (const auto& [currency, open] : facts.overdue_other_currencies) {
      absl::StrAppend(&others, " + ",
                      money::Format(open, money::CurrencyExponent(currency)),
                      " ", currency);
    }
    v.reasons.push_back(absl::StrCat(
        "receivables overdue more than ", facts.overdue_block_days,
        " days: ", fmt(facts.overdue_beyond_limit), others.empty() ? "" : " ",
        others.empty() ? "" : facts.currency, others, ", up to ",
        facts.max_days_overdue, " days"));
  }
  // Without a profile there is no limit to check: a person reviews instead.
  if (facts.profile.has_value()) {
    if (std::optional<std::string> over = OverLimit(facts)) {
      block = true;
      v.reasons.push_back(*std::move(over));
    }
  } else {
    review = true;
    v.reasons.push_back("no credit profile");
  }
  // A missing rate is never a silent zero: a person must look.
  for (const v1::MissingRate& m : facts.missing_rates) {
    review = true;
    v.reasons.push_back(MissingRateReason(m, facts.currency));
  }

  v.decision = block    ? v1::CREDIT_DECISION_BLOCK
               : review ? v1::CREDIT_DECISION_REVIEW
                        : v1::CREDIT_DECISION_APPROVE;
  return v;
}

}  // namespace salesops::credit

namespace salesops::credit {

using money::Sign;

absl::Status ConvertExposure(const std::vector<v1::Money>& exposure,
                             const v1::Money& amount,
                             const std::string& account_id, Converter& conv,
                             CreditFacts* facts) {
  facts->currency = conv.target();
  facts->exponent = money::CurrencyExponent(conv.target());
  money::Accumulator total;
  for (const v1::Money& m : exposure) {
    ASSIGN_OR_RETURN(std::optional<int64_t> converted, conv.Convert(m));
    if (converted.has_value()) {
      total.Add(*converted);
    }
  }
  absl::StatusOr<int64_t> sum = total.Total();
  if (!sum.ok()) {
    return Figure(sum.status(),
                  absl::StrCat("exposure of account ", account_id));
  }
  facts->exposure = *sum;
  ASSIGN_OR_RETURN(std::optional<int64_t> asked, conv.Convert(amount));
  facts->amount = asked.value_or(0);
  facts->amount_known = asked.has_value();
  ASSIGN_OR_RETURN(facts->missing_rates, conv.Missing());
  return absl::OkStatus();
}

absl::Status ValidateSetCreditProfile(const v1::SetCreditProfileRequest& req,
                                      const CreditOptions& options) {
  const v1::CreditProfile& in = req.profile();
  Violations v;
  if (in.account_id().empty()) {
    v.Add("profile.account_id: required");
  }
  v.Add(money::ValidateAnyCurrency(in.credit_limit(), "profile.credit_limit",
                                   Sign::kNonNegative));
  if (in.payment_terms_days() < 0 || in.payment_terms_days() > 365) {
    v.Add(absl::StrCat("profile.payment_terms_days: must be 0..365, got ",
                       in.payment_terms_days()));
  }
  if (!v1::RiskClass_IsValid(in.risk_class()) ||
      in.risk_class() == v1::RISK_CLASS_UNSPECIFIED) {
    v.Add("profile.risk_class: required (LOW, MEDIUM, HIGH or VERY_HIGH)");
  }
  if (in.hold_reason().size() > kMaxTextLength) {
    v.Add("profile.hold_reason: at most 2000 characters");
  }
  if (req.expected_version() < 0) {
    v.Add("expected_version: must be >= 0");
  }
  return v.status();
}

v1::CreditProfile NewProfile(const v1::CreditProfile& in, absl::Time now,
                             const CreditOptions& options) {
  v1::CreditProfile p;
  p.set_account_id(in.account_id());
  *p.mutable_credit_limit() = money::Make(in.credit_limit().units_minor(),
                                          in.credit_limit().currency());
  p.set_payment_terms_days(in.payment_terms_days());
  p.set_risk_class(in.risk_class());
  p.set_hold(in.hold());
  p.set_hold_reason(in.hold() ? Trimmed(in.hold_reason()) : "");
  p.set_updated_micros(Micros(now));
  return p;
}

absl::Status ValidateCheckCredit(const v1::CheckCreditRequest& req,
                                 const Principal& who,
                                 const CreditOptions& options) {
  Violations v;
  if (req.account_id().empty()) {
    v.Add("account_id: required");
  }
  v.Add(money::ValidateAnyCurrency(req.amount(), "amount", Sign::kPositive));
  if (req.opportunity_id().size() > kMaxExternalIdLength) {
    v.Add("opportunity_id: at most 128 characters");
  }
  RETURN_IF_ERROR(v.status());
  if (!req.opportunity_id().empty() && who.role != Role::kService &&
      who.role != Role::kAdmin && who.role != Role::kFinance) {
    // Naming an opportunity reserves exposure for it: that is pipeline's
    // (or finance's) call, not a what-if of a rep.
    return absl::PermissionDeniedError(
        "opportunity_id: only SERVICE (pipeline), FINANCE or ADMIN may name an "
        "opportunity; leave it empty for a check that reserves nothing");
  }
  return absl::OkStatus();
}

absl::Status AddOverdue(const std::vector<v1::Receivable>& rs,
                        absl::CivilDay today, const std::string& account_id,
                        CreditFacts* facts) {
  std::map<std::string, money::Accumulator> beyond;  // by currency
  for (const v1::Receivable& r : rs) {
    if (!Collectible(r)) {
      continue;
    }
    const int days = DaysPastDue(r, today);
    facts->max_days_overdue = std::max(facts->max_days_overdue, days);
    if (days > facts->overdue_block_days) {
      beyond[facts->currency.empty() ? "" : r.open().currency()].Add(
          r.open().units_minor());
    }
  }
  for (const auto& [currency, sum] : beyond) {
    absl::StatusOr<int64_t> overdue = sum.Total();
    if (!overdue.ok()) {
      return Figure(
          overdue.status(),
          absl::StrCat("overdue receivables of account ", account_id));
    }
    if (currency == facts->currency) {
      facts->overdue_beyond_limit = *overdue;
    } else {
      facts->overdue_other_currencies[currency] = *overdue;
    }
  }
  return absl::OkStatus();
}

v1::CreditCheck NewCheck(const v1::CheckCreditRequest& req,
                         const CreditFacts& facts, const CreditVerdict& verdict,
                         const std::string& checked_by, const std::string& id,
                         absl::Time now, const std::string& currency) {
  v1::CreditCheck c;
  c.set_id(id);
  c.set_account_id(req.account_id());
  c.set_opportunity_id(req.opportunity_id());
  *c.mutable_amount() =
      money::Make(req.amount().units_minor(), req.amount().currency());
  c.set_decision(verdict.decision);
  for (const std::string& reason : verdict.reasons) {
    c.add_reasons(reason);
  }
  const std::string& in = facts.currency.empty() ? currency : facts.currency;
  *c.mutable_exposure() = money::Make(facts.exposure, in);
  *c.mutable_credit_limit() = money::Make(
      facts.profile ? facts.profile->credit_limit().units_minor() : 0, in);
  for (const v1::MissingRate& m : facts.missing_rates) {
    *c.add_missing_rates() = m;
  }
  c.set_checked_by(checked_by);
  c.set_checked_micros(Micros(now));
  return c;
}

}  // namespace salesops::credit
