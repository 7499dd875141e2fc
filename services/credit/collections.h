#pragma once

// Collections rules (SPEC.md §5.3): business days, promises to pay, excuse
// codes and their follow-ups, the dunning strategy, worklist priority and
// debtor classes. Pure functions: "today" is an argument.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "salesops/v1/credit.pb.h"

namespace salesops::credit {

// ---- business days (Monday–Friday; no holiday calendar) ----
bool IsBusinessDay(absl::CivilDay d);
// The first business day after `d` (Friday → Monday, Saturday → Monday).
absl::CivilDay NextBusinessDay(absl::CivilDay d);
// `n` >= 1 business days after `d` (AddBusinessDays(d, 1) ==
// NextBusinessDay(d)); n <= 0 returns d.
absl::CivilDay AddBusinessDays(absl::CivilDay d, int n);

// ---- promises ----
// The day a promise is judged: promised_date + tolerance_days + 1.
absl::CivilDay JudgeDay(const v1::Promise& p);
// Paid toward the promise: Σ payment applications on its receivables
// (`receivables` may hold others; they are ignored) dated from made_date to
// promised_date + tolerance_days, inclusive.
int64_t PaidTowardPromise(const v1::Promise& p,
                          const std::vector<v1::Receivable>& receivables);
// KEPT when paid >= amount, PARTIALLY_KEPT when 0 < paid < amount, else
// BROKEN.
v1::PromiseState JudgePromise(int64_t promised_amount, int64_t paid);

// ---- excuse codes (SPEC §5.3 "work with objections") ----
struct ExcuseRule {
  std::string_view name;                  // "ALREADY_PAID"
  std::string_view recommended_response;  // what to say
  std::string_view follow_up;             // the task's text
  int follow_up_business_days = 1;        // task due this many business days on
  bool opens_dispute = false;             // QUALITY_ISSUE
};
// The rule of a code; nullptr for UNSPECIFIED or an unknown value. Every
// ExcuseCode value 1..14 has one. ALREADY_PAID: ask remittance date, bank,
// amount and account, verify within 2 business days. EXTENSION_CLAIMED:
// verify with our manager (next business day). QUALITY_ISSUE opens a dispute.
const ExcuseRule* RuleFor(v1::ExcuseCode code);

// ---- dunning (SPEC §5.3) ----
// −3, +1, +15, +30, +60.
v1::DunningStrategy DefaultDunningStrategy();
// Offsets must be strictly increasing in step order and within −365..3650;
// INVALID_ARGUMENT naming the field ("first_reminder_days: must be after
// courtesy_reminder_days (-3), got -5").
[[nodiscard]] absl::Status ValidateDunningStrategy(
    const v1::DunningStrategy& s);
// The offset of `step` (UNSPECIFIED → 0).
int OffsetOf(const v1::DunningStrategy& s, v1::DunningStep step);

struct DueStep {
  v1::DunningStep step;
  absl::CivilDay day;  // due_date + the step's offset
};
// The steps after r.dunning_step() whose day is <= today, in order, for a
// receivable that still owes (OPEN or PARTIALLY_PAID; none for DISPUTED,
// PAID, WRITTEN_OFF).
std::vector<DueStep> DueSteps(const v1::Receivable& r,
                              const v1::DunningStrategy& s,
                              absl::CivilDay today);
// The first step after r.dunning_step() (whatever its day), or nullopt after
// CREDIT_HOLD or when r does not owe.
std::optional<DueStep> NextStep(const v1::Receivable& r,
                                const v1::DunningStrategy& s);

// ---- worklist ----
// LOW 1, MEDIUM 2, HIGH 3, VERY_HIGH 4, UNSPECIFIED (no profile) 2.
int RiskWeight(v1::RiskClass c);
// open × days_overdue × RiskWeight, exactly (128 bits); 0 when not overdue.
// The worklist is ordered by this.
__int128 WorklistRank(int64_t open_minor, int days_overdue, v1::RiskClass c);
// WorklistRank as reported (WorklistItem.priority): saturating at INT64_MAX,
// which accepted amounts reach only past ~2,300 days overdue; the order of
// the list stays exact (issue 16: one receivable must not take the whole
// worklist down with an OUT_OF_RANGE).
int64_t WorklistPriority(int64_t open_minor, int days_overdue, v1::RiskClass c);

// What the worklist shows of an account with overdue receivables.
struct WorklistContext {
  v1::RiskClass risk = v1::RISK_CLASS_UNSPECIFIED;  // its profile's
  std::vector<v1::Promise> promises;                // the latest (at most 5)
  std::vector<v1::CollectionTask> open_tasks;
};
// The worklist item of an overdue receivable as of `as_of`.
v1::WorklistItem WorklistItemOf(v1::Receivable r, absl::CivilDay as_of,
                                const v1::DunningStrategy& s,
                                const WorklistContext& context);
// Issue 19 (D40): the priority from the receivable's open amount converted
// into the reporting currency (`open_reporting`), or 0 with rate_missing set
// when that rate is missing (nullopt).
void PriceWorklistItem(std::optional<int64_t> open_reporting,
                       v1::WorklistItem* item);
// By the exact rank, highest first (a reported priority may be capped), then
// by receivable id. The rank is computed from the receivable's open amount,
// or, when `open_reporting` is given, from its entry there (receivable id →
// open amount in the reporting currency; an item without one ranks 0).
void SortWorklist(
    std::vector<v1::WorklistItem>* items,
    const std::map<std::string, int64_t>* open_reporting = nullptr);

// ---- debtor classes (SPEC §5.3) ----
struct DebtorClassResult {
  v1::DebtorClass debtor_class = v1::DEBTOR_CLASS_NO_HISTORY;
  std::string reason;  // names the deciding receivable and what it showed
};
// From one account's receivables over the 12 months ending `as_of`
// (as_of − 365 days < day <= as_of):
//   NON_PAYER: a receivable written off in the window, or one still open
//     more than 180 days past due at as_of;
//   else the worst of the receivables fully paid in the window, and of those
//     still open and past due at as_of:
//     PAYS_WHEN_PRESSED: paid (or still open) on or after the final notice
//       day (due + final_notice_days);
//     PAYS_WHEN_REMINDED: paid (or still open) on or after the first
//       reminder day (due + first_reminder_days);
//     PAYS_ON_TIME: paid by the due date (or between the due date and the
//       first reminder day);
//   NO_HISTORY when no receivable qualifies.
DebtorClassResult ClassifyDebtor(const std::vector<v1::Receivable>& receivables,
                                 const v1::DunningStrategy& s,
                                 absl::CivilDay as_of);

}  // namespace salesops::credit
