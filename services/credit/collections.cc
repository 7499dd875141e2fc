#include "services/credit/collections.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "common/time/fiscal_calendar.h"
#include "services/credit/receivables.h"

namespace salesops::credit {
namespace {

inline constexpr int kMinOffset = -365;
inline constexpr int kMaxOffset = 3650;
inline constexpr int kWindowDays = 365;
inline constexpr int kNonPayerDaysPastDue = 180;

std::optional<absl::CivilDay> DayOf(const v1::Date& d) {
  absl::StatusOr<absl::CivilDay> day = FromProto(d, "date");
  if (!day.ok()) return std::nullopt;
  return *day;
}

std::string Text(absl::CivilDay d) { return absl::FormatCivilTime(d); }

// SPEC §5.3 "work with objections": what to say, and the follow-up task the
// excuse schedules. Indexed by ExcuseCode value.
constexpr std::array<ExcuseRule, 15> kExcuseRules = {{
    {},  // UNSPECIFIED: no rule
    {"ALREADY_PAID",
     "Ask for the remittance date, the bank, the amount and the account it "
     "was paid to, and say we will check it against our receipts.",
     "Verify receipt of the payment the customer says was made (remittance "
     "date, bank, amount, account).",
     2, false},
    {"PASSED_TO_FINANCE",
     "Ask for the name and phone number of the finance contact who has the "
     "invoice, and say you will call them.",
     "Call the finance contact the invoice was passed to.", 1, false},
    {"WAITING_FOR_OUR_CUSTOMER",
     "Ask when their customer pays; our terms do not depend on it, so propose "
     "a partial payment now.",
     "Check whether their customer has paid and chase the proposed partial "
     "payment.",
     5, false},
    {"RESTRUCTURING",
     "Ask who handles creditors during the restructuring and what happens to "
     "open invoices; tell them the credit manager will be in touch.",
     "Escalate to the credit manager and review the credit limit.", 1, false},
    {"FORCE_MAJEURE",
     "Ask what happened and how it affects payment, and agree a new payment "
     "date.",
     "Document the event and confirm the new payment date agreed.", 5, false},
    {"EXTENSION_CLAIMED",
     "Say you will verify the extension with your manager; until it is "
     "confirmed the original due date stands.",
     "Verify the claimed payment extension with our manager.", 1, false},
    {"QUALITY_ISSUE",
     "Take down the complaint, say it goes to the quality/service team, and "
     "ask them to pay what is not in question.",
     "Route the quality complaint to the quality/service team and follow the "
     "dispute.",
     3, true},
    {"NO_PROOF_OF_DELIVERY",
     "Offer to send the proof of delivery today and ask for the payment date "
     "once they have it.",
     "Send the proof of delivery and confirm the payment date.", 2, false},
    {"NO_MONEY",
     "Propose a payment plan with a first instalment now, and explain that "
     "further deliveries may be put on credit hold.",
     "Follow up the proposed payment plan and consider a credit hold.", 1,
     false},
    {"WILL_PAY",
     "Ask for a firm promise: the amount and the date it will be paid.",
     "Check that the promise (amount and date) was recorded and is on track.",
     2, false},
    {"APPROVAL_PENDING",
     "Ask who approves the payment and by when, and offer to send the "
     "approver whatever they need.",
     "Call back about the pending payment approval.", 3, false},
    {"INVOICE_PROBLEM",
     "Ask exactly what is wrong with the invoice and promise a corrected one.",
     "Correct and resend the invoice.", 2, false},
    {"FINANCE_AWAY",
     "Ask who stands in for the absent finance contact and when to call "
     "back.",
     "Call the stand-in, or the finance contact when they are back.", 3, false},
    {"DOCUMENTS_INCOMPLETE",
     "Ask which documents are missing and promise to send them.",
     "Send the missing documents.", 2, false},
}};

}  // namespace

// ---- business days ----

bool IsBusinessDay(absl::CivilDay d) {
  const absl::Weekday w = absl::GetWeekday(d);
  return w != absl::Weekday::saturday && w != absl::Weekday::sunday;
}

absl::CivilDay NextBusinessDay(absl::CivilDay d) {
  do {
    ++d;
  } while (!IsBusinessDay(d));
  return d;
}

absl::CivilDay AddBusinessDays(absl::CivilDay d, int n) {
  if (n <= 0) return d;
  // Five business days after any day are exactly one calendar week later in
  // the sequence of business days, so whole weeks are skipped at once and at
  // most five single steps remain (no loop of n steps for a large n).
  const int weeks = (n - 1) / 5;
  d += 7 * static_cast<int64_t>(weeks);
  n -= 5 * weeks;
  for (int i = 0; i < n; ++i) d = NextBusinessDay(d);
  return d;
}

// ---- promises ----

absl::CivilDay JudgeDay(const v1::Promise& p) {
  const absl::CivilDay promised =
      DayOf(p.promised_date()).value_or(absl::CivilDay());
  return promised + p.tolerance_days() + 1;
}

int64_t PaidTowardPromise(const v1::Promise& p,
                          const std::vector<v1::Receivable>& receivables) {
  const std::set<std::string> ids(p.receivable_ids().begin(),
                                  p.receivable_ids().end());
  const std::optional<absl::CivilDay> made = DayOf(p.made_date());
  const absl::CivilDay last = JudgeDay(p) - 1;
  std::set<std::string> counted;  // a receivable listed twice counts once
  int64_t paid = 0;
  for (const v1::Receivable& r : receivables) {
    if (ids.count(r.id()) == 0 || !counted.insert(r.id()).second) continue;
    for (const v1::PaymentApplication& a : r.payments()) {
      const std::optional<absl::CivilDay> day = DayOf(a.date());
      if (!day.has_value() || *day > last) continue;
      if (made.has_value() && *day < *made) continue;
      // Saturate rather than wrap: the sum is only compared with the promise.
      if (__builtin_add_overflow(paid, a.amount().units_minor(), &paid)) {
        return std::numeric_limits<int64_t>::max();
      }
    }
  }
  return paid;
}

v1::PromiseState JudgePromise(int64_t promised_amount, int64_t paid) {
  if (paid >= promised_amount) return v1::PROMISE_STATE_KEPT;
  if (paid > 0) return v1::PROMISE_STATE_PARTIALLY_KEPT;
  return v1::PROMISE_STATE_BROKEN;
}

// ---- excuse codes ----

const ExcuseRule* RuleFor(v1::ExcuseCode code) {
  const int i = static_cast<int>(code);
  if (i < 1 || i >= static_cast<int>(kExcuseRules.size())) return nullptr;
  return &kExcuseRules[i];
}

// ---- dunning ----

v1::DunningStrategy DefaultDunningStrategy() {
  v1::DunningStrategy s;
  s.set_courtesy_reminder_days(-3);
  s.set_first_reminder_days(1);
  s.set_second_reminder_days(15);
  s.set_final_notice_days(30);
  s.set_credit_hold_days(60);
  return s;
}

absl::Status ValidateDunningStrategy(const v1::DunningStrategy& s) {
  const std::pair<const char*, int32_t> fields[] = {
      {"courtesy_reminder_days", s.courtesy_reminder_days()},
      {"first_reminder_days", s.first_reminder_days()},
      {"second_reminder_days", s.second_reminder_days()},
      {"final_notice_days", s.final_notice_days()},
      {"credit_hold_days", s.credit_hold_days()},
  };
  std::vector<std::string> violations;
  for (size_t i = 0; i < std::size(fields); ++i) {
    const auto& [name, days] = fields[i];
    if (days < kMinOffset || days > kMaxOffset) {
      violations.push_back(absl::StrCat(name, ": must be ", kMinOffset, "..",
                                        kMaxOffset, ", got ", days));
    }
    // The steps escalate, so each must come strictly after the one before.
    if (i > 0 && days <= fields[i - 1].second) {
      violations.push_back(absl::StrCat(name, ": must be after ",
                                        fields[i - 1].first, " (",
                                        fields[i - 1].second, "), got ", days));
    }
  }
  if (violations.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(violations, "; "));
}

int OffsetOf(const v1::DunningStrategy& s, v1::DunningStep step) {
  switch (step) {
    case v1::DUNNING_STEP_COURTESY_REMINDER:
      return s.courtesy_reminder_days();
    case v1::DUNNING_STEP_FIRST_REMINDER:
      return s.first_reminder_days();
    case v1::DUNNING_STEP_SECOND_REMINDER:
      return s.second_reminder_days();
    case v1::DUNNING_STEP_FINAL_NOTICE:
      return s.final_notice_days();
    case v1::DUNNING_STEP_CREDIT_HOLD:
      return s.credit_hold_days();
    default:
      return 0;
  }
}

std::vector<DueStep> DueSteps(const v1::Receivable& r,
                              const v1::DunningStrategy& s,
                              absl::CivilDay today) {
  std::vector<DueStep> steps;
  const std::optional<absl::CivilDay> due = DayOf(r.due_date());
  if (!Collectible(r) || !due.has_value()) return steps;
  for (int i = static_cast<int>(r.dunning_step()) + 1;
       i <= v1::DUNNING_STEP_CREDIT_HOLD; ++i) {
    const auto step = static_cast<v1::DunningStep>(i);
    const absl::CivilDay day = *due + OffsetOf(s, step);
    if (day <= today) steps.push_back({step, day});
  }
  return steps;
}

std::optional<DueStep> NextStep(const v1::Receivable& r,
                                const v1::DunningStrategy& s) {
  const std::optional<absl::CivilDay> due = DayOf(r.due_date());
  const int next = static_cast<int>(r.dunning_step()) + 1;
  if (!Collectible(r) || !due.has_value() || next < 1 ||
      next > v1::DUNNING_STEP_CREDIT_HOLD) {
    return std::nullopt;
  }
  const auto step = static_cast<v1::DunningStep>(next);
  return DueStep{step, *due + OffsetOf(s, step)};
}

// ---- worklist ----

int RiskWeight(v1::RiskClass c) {
  switch (c) {
    case v1::RISK_CLASS_LOW:
      return 1;
    case v1::RISK_CLASS_HIGH:
      return 3;
    case v1::RISK_CLASS_VERY_HIGH:
      return 4;
    default:  // MEDIUM, and no profile: an unknown customer weighs as medium
      return 2;
  }
}

__int128 WorklistRank(int64_t open_minor, int days_overdue, v1::RiskClass c) {
  if (open_minor <= 0 || days_overdue <= 0) return 0;
  // < 2^63 × 2^31 × 4 fits 128 bits.
  return static_cast<__int128>(open_minor) * days_overdue * RiskWeight(c);
}

int64_t WorklistPriority(int64_t open_minor, int days_overdue,
                         v1::RiskClass c) {
  const __int128 p = WorklistRank(open_minor, days_overdue, c);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  return p > kMax ? kMax : static_cast<int64_t>(p);
}

// ---- debtor classes ----

namespace {

// NON_PAYER overrides any good behaviour elsewhere: one loss is enough (a
// write-off in the window, or still open too long past due).
std::optional<DebtorClassResult> NonPayer(
    const std::vector<v1::Receivable>& receivables, absl::CivilDay as_of) {
  const absl::CivilDay window_start = as_of - kWindowDays;  // exclusive
  for (const v1::Receivable& r : receivables) {
    const std::optional<absl::CivilDay> written = DayOf(r.written_off_date());
    if (written.has_value() && *written > window_start && *written <= as_of) {
      return DebtorClassResult{
          v1::DEBTOR_CLASS_NON_PAYER,
          absl::StrCat(r.id(), " was written off on ", Text(*written))};
    }
    if (r.state() == v1::RECEIVABLE_STATE_DISPUTED) continue;
    const int late = DaysPastDue(r, as_of);
    if (OpenAsOf(r, as_of) > 0 && late > kNonPayerDaysPastDue) {
      return DebtorClassResult{
          v1::DEBTOR_CLASS_NON_PAYER,
          absl::StrCat(r.id(), " is still open ", late, " days past due")};
    }
  }
  return std::nullopt;
}

}  // namespace

DebtorClassResult ClassifyDebtor(const std::vector<v1::Receivable>& receivables,
                                 const v1::DunningStrategy& s,
                                 absl::CivilDay as_of) {
  if (std::optional<DebtorClassResult> lost = NonPayer(receivables, as_of)) {
    return *lost;
  }
  const absl::CivilDay window_start = as_of - kWindowDays;  // exclusive
  auto in_window = [&](absl::CivilDay d) {
    return d > window_start && d <= as_of;
  };
  DebtorClassResult worst;
  for (const v1::Receivable& r : receivables) {
    const std::optional<absl::CivilDay> due = DayOf(r.due_date());
    if (!due.has_value()) continue;
    const absl::CivilDay first = *due + s.first_reminder_days();
    const absl::CivilDay final_notice = *due + s.final_notice_days();
    const std::optional<absl::CivilDay> paid = DayOf(r.paid_date());
    absl::CivilDay settled;  // the day its behaviour is judged on
    std::string what;
    if (paid.has_value() && in_window(*paid) &&
        r.state() == v1::RECEIVABLE_STATE_PAID) {
      settled = *paid;
      what = absl::StrCat("was paid on ", Text(*paid));
    } else if (r.state() != v1::RECEIVABLE_STATE_DISPUTED &&
               OpenAsOf(r, as_of) > 0 && DaysPastDue(r, as_of) > 0) {
      // Still unpaid counts as paying no earlier than today.
      settled = as_of;
      what = absl::StrCat("is still open on ", Text(as_of));
    } else {
      continue;
    }
    v1::DebtorClass c;
    std::string step;
    if (settled >= final_notice) {
      c = v1::DEBTOR_CLASS_PAYS_WHEN_PRESSED;
      step =
          absl::StrCat("on or after its final notice day ", Text(final_notice));
    } else if (settled >= first) {
      c = v1::DEBTOR_CLASS_PAYS_WHEN_REMINDED;
      step = absl::StrCat("on or after its first reminder day ", Text(first));
    } else {
      c = v1::DEBTOR_CLASS_PAYS_ON_TIME;
      step = absl::StrCat("before its first reminder day ", Text(first),
                          " (due ", Text(*due), ")");
    }
    // Enum values rise with badness; the first receivable of the worst class
    // gives the reason.
    if (c > worst.debtor_class) {
      worst.debtor_class = c;
      worst.reason = absl::StrCat(r.id(), " ", what, ", ", step);
    }
  }
  if (worst.debtor_class == v1::DEBTOR_CLASS_NO_HISTORY) {
    worst.reason = absl::StrCat(
        "no receivable paid, past due or written off in the 12 months ending ",
        Text(as_of));
  }
  return worst;
}

v1::WorklistItem WorklistItemOf(v1::Receivable r, absl::CivilDay as_of,
                                const v1::DunningStrategy& s,
                                const WorklistContext& context) {
  const int days = DaysPastDue(r, as_of);
  v1::WorklistItem item;
  item.set_account_id(r.account_id());
  item.set_days_overdue(days);
  item.set_risk_class(context.risk);
  item.set_priority(
      WorklistPriority(r.open().units_minor(), days, context.risk));
  if (std::optional<DueStep> next = NextStep(r, s)) {
    item.set_next_dunning_step(next->step);
    *item.mutable_next_dunning_date() = ToProto(next->day);
  }
  for (const v1::Promise& p : context.promises) {
    *item.add_promises() = p;
  }
  for (const v1::CollectionTask& t : context.open_tasks) {
    *item.add_open_tasks() = t;
  }
  *item.mutable_receivable() = std::move(r);
  return item;
}

void PriceWorklistItem(std::optional<int64_t> open_reporting,
                       v1::WorklistItem* item) {
  item->set_rate_missing(!open_reporting.has_value());
  item->set_priority(WorklistPriority(
      open_reporting.value_or(0), item->days_overdue(), item->risk_class()));
}

void SortWorklist(std::vector<v1::WorklistItem>* items,
                  const std::map<std::string, int64_t>* open_reporting) {
  const auto rank = [open_reporting](const v1::WorklistItem& i) {
    int64_t open = i.receivable().open().units_minor();
    if (open_reporting != nullptr) {
      auto it = open_reporting->find(i.receivable().id());
      open = it == open_reporting->end() ? 0 : it->second;
    }
    return WorklistRank(open, i.days_overdue(), i.risk_class());
  };
  std::sort(items->begin(), items->end(), [&](const auto& a, const auto& b) {
    const __int128 ra = rank(a);
    const __int128 rb = rank(b);
    if (ra != rb) {
      return ra > rb;
    }
    return a.receivable().id() < b.receivable().id();
  });
}

}  // namespace salesops::credit
