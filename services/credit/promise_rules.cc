#include "services/credit/promise_rules.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/status/violations.h"
#include "common/time/clock.h"
#include "common/time/fiscal_calendar.h"
#include "services/credit/receivable_rules.h"
#include "services/credit/receivables.h"

namespace salesops::credit {
namespace {

using money::Sign;

absl::CivilDay Civ(const v1::Date& d) {
  return absl::CivilDay(d.year(), d.month(), d.day());
}

void CheckPromiseIds(const v1::RecordPromiseRequest& req, Violations& v) {
  if (req.receivable_ids_size() == 0) {
    v.Add("receivable_ids: at least one is required");
  }
  std::set<std::string> ids;
  for (int i = 0; i < req.receivable_ids_size(); ++i) {
    if (!ids.insert(req.receivable_ids(i)).second) {
      v.Add(absl::StrCat("receivable_ids[", i, "]: duplicate"));
    }
  }
}

// What the named receivables still owe, all of one account (`account_id`).
absl::StatusOr<int64_t> OwedOn(
    const v1::RecordPromiseRequest& req,
    const std::vector<std::optional<v1::Receivable>>& found,
    std::string* account_id) {
  money::Accumulator owing;
  const std::string& promised_in = req.amount().currency();
  for (int i = 0; i < req.receivable_ids_size(); ++i) {
    const std::string field = absl::StrCat("receivable_ids[", i, "]");
    const std::optional<v1::Receivable>& r = found[i];
    if (!r) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": receivable ", req.receivable_ids(i), " does not exist"));
    }
    if (!account_id->empty() && r->account_id() != *account_id) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": all receivables must be of one account"));
    }
    *account_id = r->account_id();
    // D40: a promise is in its receivables' currency.
    if (const std::string& owed_in = CurrencyOf(*r, promised_in);
        owed_in != promised_in) {
      return absl::InvalidArgumentError(absl::StrCat(
          "amount.currency: must be ", owed_in, ", the currency of ", r->id(),
          " (a promise is in its receivables' currency), got ", promised_in));
    }
    if (!Outstanding(*r)) {
      return WithReason(
          absl::FailedPreconditionError(absl::StrCat(
              field, ": receivable ", r->id(), " is ",
              v1::ReceivableState_Name(r->state()), " and owes nothing")),
          "RECEIVABLE_STATE");
    }
    owing.Add(r->open().units_minor());
  }
  return owing.Total();
}

// QUALITY_ISSUE: the named receivables (every open one when none is named)
// disputed.
absl::StatusOr<std::vector<v1::Receivable>> QualityDisputes(
    const v1::RecordCollectionContactRequest& req,
    std::vector<v1::Receivable> rs, const std::string& currency) {
  std::set<std::string> named;
  for (int i = 0; i < req.receivable_ids_size(); ++i) {
    const std::string& id = req.receivable_ids(i);
    auto r = std::find_if(rs.begin(), rs.end(),
                          [&](const auto& x) { return x.id() == id; });
    if (r == rs.end() || !named.insert(id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("receivable_ids[", i, "]: ", id,
                       r == rs.end() ? " is not a receivable of account "
                                     : " is named twice for account ",
                       req.account_id()));
    }
    if (!Collectible(*r)) {
      return WithReason(absl::FailedPreconditionError(absl::StrCat(
                            "receivable_ids[", i, "]: ", id, " is ",
                            v1::ReceivableState_Name(r->state()),
                            ", not open: it cannot be disputed")),
                        "RECEIVABLE_STATE");
    }
  }
  std::vector<v1::Receivable> disputed;
  for (v1::Receivable& r : rs) {
    if (!Collectible(r) || (!named.empty() && !named.count(r.id()))) {
      continue;
    }
    r.set_dispute_reason(absl::StrCat(
        "quality issue: ", req.notes().empty() ? "(no notes)" : req.notes()));
    Settle(&r, currency);
    disputed.push_back(std::move(r));
  }
  return disputed;
}

}  // namespace

absl::StatusOr<PromiseDates> ValidateRecordPromise(
    const v1::RecordPromiseRequest& req, absl::CivilDay today,
    const CreditOptions& options) {
  Violations v;
  CheckPromiseIds(req, v);
  v.Add(money::ValidateAnyCurrency(req.amount(), "amount", Sign::kPositive));
  absl::StatusOr<absl::CivilDay> made =
      DateOr(req.made_date(), "made_date", today);
  v.Add(made.status());
  if (made.ok() && *made > today) {
    v.Add(absl::StrCat("made_date: must not be after today (",
                       absl::FormatCivilTime(today), ")"));
  }
  absl::StatusOr<absl::CivilDay> promised =
      FromProto(req.promised_date(), "promised_date");
  v.Add(promised.status());
  if (promised.ok() && made.ok() && *promised < *made) {
    v.Add(absl::StrCat("promised_date: must not be before ",
                       *made == today ? "today" : "made_date", " (",
                       absl::FormatCivilTime(*made), ")"));
  }
  if (req.tolerance_days() < 0 || req.tolerance_days() > 30) {
    v.Add(absl::StrCat("tolerance_days: must be 0..30, got ",
                       req.tolerance_days()));
  }
  if (!v1::ExcuseCode_IsValid(req.excuse_code())) {
    v.Add("excuse_code: not an ExcuseCode");
  }
  RETURN_IF_ERROR(v.status());
  return PromiseDates{*made, *promised};
}

absl::StatusOr<v1::Promise> NewPromise(
    const v1::RecordPromiseRequest& req,
    const std::vector<std::optional<v1::Receivable>>& found,
    const PromiseDates& dates, const std::string& recorded_by,
    const std::string& id, absl::Time now, const CreditOptions& options) {
  std::string account_id;
  ASSIGN_OR_RETURN(const int64_t owed, OwedOn(req, found, &account_id));
  const int exponent = money::CurrencyExponent(req.amount().currency());
  if (req.amount().units_minor() > owed) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "amount: ", money::Format(req.amount().units_minor(), exponent),
            " is more than the ", money::Format(owed, exponent),
            " still owed on the named receivables")),
        "AMOUNT_ABOVE_OWED");
  }
  v1::Promise p;
  p.set_id(id);
  p.set_account_id(account_id);
  for (const std::string& rid : req.receivable_ids()) {
    p.add_receivable_ids(rid);
  }
  *p.mutable_amount() = req.amount();
  *p.mutable_promised_date() = ToProto(dates.promised);
  p.set_tolerance_days(req.tolerance_days());
  p.set_contact_id(req.contact_id());
  p.set_excuse_code(req.excuse_code());
  p.set_state(v1::PROMISE_STATE_PENDING);
  *p.mutable_made_date() = ToProto(dates.made);
  p.set_recorded_by(recorded_by);
  p.set_created_micros(Micros(now));
  return p;
}

JudgedPromise JudgeDuePromise(v1::Promise p,
                              const std::vector<v1::Receivable>& rs,
                              absl::CivilDay today,
                              const CreditOptions& options) {
  const absl::CivilDay judge = JudgeDay(p);
  const int64_t paid = PaidTowardPromise(p, rs);
  p.set_state(JudgePromise(p.amount().units_minor(), paid));
  // A payment recorded late with a date before the promise may have paid
  // everything in time: nothing is left to chase.
  if (std::all_of(rs.begin(), rs.end(), [&](const v1::Receivable& r) {
        return r.state() == v1::RECEIVABLE_STATE_PAID &&
               Civ(r.paid_date()) < judge;
      })) {
    p.set_state(v1::PROMISE_STATE_KEPT);
  }
  *p.mutable_paid() =
      money::Make(paid, p.amount().currency().empty() ? options.currency
                                                      : p.amount().currency());
  *p.mutable_judged_date() = ToProto(judge);
  JudgedPromise out;
  if (p.state() == v1::PROMISE_STATE_BROKEN) {
    v1::CollectionTask t;
    t.set_account_id(p.account_id());
    t.set_kind(v1::COLLECTION_TASK_KIND_ESCALATION);
    // React quickly: the next business day after judging, or today when the
    // run comes late.
    *t.mutable_due_date() = ToProto(std::max(NextBusinessDay(judge), today));
    const int exponent = money::CurrencyExponent(p.amount().currency());
    t.set_text(absl::StrCat("Broken promise to pay ",
                            money::Format(p.amount().units_minor(), exponent),
                            " ", p.amount().currency(), " by ",
                            absl::FormatCivilTime(Civ(p.promised_date())),
                            ": call at once and escalate"));
    t.set_promise_id(p.id());
    out.escalation = std::move(t);
  }
  out.promise = std::move(p);
  return out;
}

absl::StatusOr<const ExcuseRule*> ValidateContact(
    const v1::RecordCollectionContactRequest& req) {
  Violations v;
  if (req.account_id().empty()) {
    v.Add("account_id: required");
  }
  const ExcuseRule* rule = RuleFor(req.excuse_code());
  if (rule == nullptr) {
    v.Add("excuse_code: required (an ExcuseCode)");
  }
  if (req.notes().size() > kMaxTextLength) {
    v.Add("notes: at most 2000 characters");
  }
  if (rule != nullptr && !rule->opens_dispute &&
      req.receivable_ids_size() > 0) {
    v.Add("receivable_ids: only for QUALITY_ISSUE (it disputes them)");
  }
  RETURN_IF_ERROR(v.status());
  return rule;
}

absl::StatusOr<RecordedContact> RecordContactOn(
    const v1::RecordCollectionContactRequest& req, const ExcuseRule& rule,
    std::vector<v1::Receivable> rs, absl::CivilDay today,
    const std::string& recorded_by, const std::string& id, absl::Time now,
    const CreditOptions& options) {
  RecordedContact out;
  v1::CollectionContact& c = out.contact;
  c.set_id(id);
  c.set_account_id(req.account_id());
  c.set_excuse_code(req.excuse_code());
  c.set_notes(req.notes());
  c.set_contact_id(req.contact_id());
  c.set_recommended_response(std::string(rule.recommended_response));
  c.set_recorded_by(recorded_by);
  c.set_created_micros(Micros(now));
  if (rule.opens_dispute) {
    ASSIGN_OR_RETURN(out.disputed,
                     QualityDisputes(req, std::move(rs), options.currency));
    for (const v1::Receivable& r : out.disputed) {
      c.add_disputed_receivable_ids(r.id());
    }
  }
  v1::CollectionTask& t = out.follow_up;
  t.set_account_id(c.account_id());
  t.set_kind(v1::COLLECTION_TASK_KIND_FOLLOW_UP);
  *t.mutable_due_date() =
      ToProto(AddBusinessDays(today, rule.follow_up_business_days));
  t.set_text(std::string(rule.follow_up));
  t.set_contact_record_id(c.id());
  t.set_excuse_code(c.excuse_code());
  return out;
}

}  // namespace salesops::credit
