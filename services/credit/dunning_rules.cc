#include "services/credit/dunning_rules.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "common/time/clock.h"
#include "common/time/fiscal_calendar.h"
#include "services/credit/collections.h"

namespace salesops::credit {
namespace {

std::optional<v1::CreditProfile> HoldProfile(
    const std::optional<v1::CreditProfile>& profile, const v1::Receivable& r,
    const std::string& reason, absl::Time now, const CreditOptions& options) {
  v1::CreditProfile p;
  if (profile) {
    p = *profile;
  } else {
    p.set_account_id(r.account_id());
    *p.mutable_credit_limit() = money::Make(0, options.currency);
    p.set_payment_terms_days(options.default_payment_terms_days);
    p.set_risk_class(v1::RISK_CLASS_HIGH);
  }
  if (p.hold()) {
    return std::nullopt;
  }
  p.set_hold(true);
  p.set_hold_reason(reason);
  p.set_updated_micros(Micros(now));
  return p;
}

}  // namespace

bool HoldDue(const v1::Receivable& r, const v1::DunningStrategy& strategy,
             absl::CivilDay today) {
  std::vector<DueStep> due = DueSteps(r, strategy, today);
  return !due.empty() && due.back().step == v1::DUNNING_STEP_CREDIT_HOLD;
}

std::optional<DunningOutcome> DunningStepDue(
    v1::Receivable r, const v1::DunningStrategy& strategy, absl::CivilDay today,
    const std::optional<v1::CreditProfile>& profile, absl::Time now,
    const CreditOptions& options) {
  std::vector<DueStep> due = DueSteps(r, strategy, today);
  if (due.empty()) {
    return std::nullopt;
  }
  const v1::DunningStep step = due.back().step;
  const int exponent = money::CurrencyExponent(options.currency);
  DunningOutcome out;
  v1::CollectionTask& t = out.dunning;
  t.set_account_id(r.account_id());
  t.set_kind(v1::COLLECTION_TASK_KIND_DUNNING);
  *t.mutable_due_date() = ToProto(today);
  t.set_receivable_id(r.id());
  t.set_dunning_step(step);
  t.set_text(absl::StrCat(
      "Send the ", v1::DunningStep_Name(step), " for ", r.id(), " (",
      money::Format(r.open().units_minor(), exponent), " open, due ",
      absl::FormatCivilTime(absl::CivilDay(
          r.due_date().year(), r.due_date().month(), r.due_date().day())),
      ")"));
  r.set_dunning_step(step);
  if (step == v1::DUNNING_STEP_CREDIT_HOLD) {
    const std::string reason =
        absl::StrCat("dunning: ", r.id(), " reached the credit hold step");
    out.hold = HoldProfile(profile, r, reason, now, options);
    out.new_profile = !profile.has_value();
    v1::CollectionTask escalate;
    escalate.set_account_id(r.account_id());
    escalate.set_kind(v1::COLLECTION_TASK_KIND_ESCALATION);
    *escalate.mutable_due_date() = ToProto(NextBusinessDay(today));
    escalate.set_receivable_id(r.id());
    escalate.set_dunning_step(step);
    escalate.set_text(absl::StrCat(reason, ": escalate to the credit manager"));
    out.escalation = std::move(escalate);
  }
  out.receivable = std::move(r);
  return out;
}

}  // namespace salesops::credit
