#include "services/credit/receivable_rules.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/status/violations.h"
#include "common/time/clock.h"
#include "common/time/fiscal_calendar.h"
#include "services/credit/receivables.h"

namespace salesops::credit {
namespace {

using money::Sign;

void CheckInvoiceIds(const v1::PostReceivableRequest& req,
                     const std::string& external_id, Violations& v) {
  const v1::Receivable& in = req.receivable();
  if (!req.external_id().empty() && !in.external_id().empty() &&
      req.external_id() != in.external_id()) {
    v.Add("external_id: differs from receivable.external_id");
  }
  if (external_id.size() > kMaxExternalIdLength) {
    v.Add("external_id: at most 128 characters");
  }
  if (in.opportunity_id().size() > kMaxExternalIdLength) {
    v.Add("receivable.opportunity_id: at most 128 characters");
  }
  if (!in.id().empty() || in.has_paid() || in.has_written_off() ||
      in.has_open() || in.state() != v1::RECEIVABLE_STATE_UNSPECIFIED ||
      in.payments_size() > 0 || in.version() != 0) {
    v.Add(
        "receivable: id, paid, written_off, open, state, payments and "
        "version are output only");
  }
}

}  // namespace

absl::Status Figure(const absl::Status& s, const std::string& figure) {
  if (s.code() != absl::StatusCode::kOutOfRange) {
    return s;
  }
  return absl::OutOfRangeError(absl::StrCat(
      figure, " does not fit an int64 amount (", s.message(), ")"));
}

absl::StatusOr<absl::CivilDay> DateOr(const v1::Date& d, std::string_view field,
                                      absl::CivilDay fallback) {
  if (d.year() == 0 && d.month() == 0 && d.day() == 0) {
    return fallback;
  }
  return FromProto(d, field);
}

absl::StatusOr<PostedInvoice> ValidatePostReceivable(
    const v1::PostReceivableRequest& req, const CreditOptions& options) {
  const v1::Receivable& in = req.receivable();
  PostedInvoice out;
  out.external_id =
      req.external_id().empty() ? in.external_id() : req.external_id();
  Violations v;
  if (in.account_id().empty()) {
    v.Add("receivable.account_id: required");
  }
  v.Add(money::ValidateAnyCurrency(in.amount(), "receivable.amount",
                                   Sign::kPositive));
  absl::StatusOr<absl::CivilDay> issue =
      FromProto(in.issue_date(), "receivable.issue_date");
  v.Add(issue.status());
  if (in.has_due_date()) {
    absl::StatusOr<absl::CivilDay> d =
        FromProto(in.due_date(), "receivable.due_date");
    v.Add(d.status());
    if (d.ok()) {
      out.due = *d;
      if (issue.ok() && *d < *issue) {
        v.Add("receivable.due_date: must not be before issue_date");
      }
    }
  }
  CheckInvoiceIds(req, out.external_id, v);
  RETURN_IF_ERROR(v.status());
  out.issue = *issue;
  return out;
}

absl::Status CheckPostReplay(const v1::Receivable& known,
                             const v1::Receivable& in,
                             const std::string& external_id) {
  if (known.account_id() != in.account_id() ||
      known.amount().units_minor() != in.amount().units_minor() ||
      known.amount().currency() != in.amount().currency() ||
      known.issue_date().SerializeAsString() !=
          in.issue_date().SerializeAsString()) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "external_id: ", external_id, " was posted as ", known.id(),
            " with a different account, amount or issue date")),
        "EXTERNAL_ID_REUSED");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Receivable> AdoptContractReceivable(
    v1::Receivable contract, const v1::Receivable& in,
    const PostedInvoice& invoice, absl::CivilDay due) {
  if (!contract.external_id().empty() || contract.payments_size() > 0 ||
      contract.amount().units_minor() != in.amount().units_minor() ||
      contract.amount().currency() != in.amount().currency()) {
    return WithReason(
        absl::FailedPreconditionError(
            absl::StrCat("receivable.opportunity_id: opportunity ",
                         in.opportunity_id(), " is invoiced by ", contract.id(),
                         " (opened when its contract was signed); only an "
                         "invoice of the same "
                         "amount before any payment can be posted for it")),
        "CONTRACT_INVOICED");
  }
  contract.set_external_id(invoice.external_id);
  *contract.mutable_issue_date() = ToProto(invoice.issue);
  *contract.mutable_due_date() = ToProto(due);
  return contract;
}

v1::Receivable NewPostedReceivable(const v1::Receivable& in,
                                   const PostedInvoice& invoice,
                                   absl::CivilDay due, const std::string& id,
                                   absl::Time now,
                                   const CreditOptions& options) {
  v1::Receivable r;
  r.set_id(id);
  r.set_account_id(in.account_id());
  r.set_opportunity_id(in.opportunity_id());
  r.set_external_id(invoice.external_id);
  const std::string& currency = in.amount().currency();
  *r.mutable_amount() = money::Make(in.amount().units_minor(), currency);
  *r.mutable_paid() = money::Make(0, currency);
  *r.mutable_written_off() = money::Make(0, currency);
  *r.mutable_issue_date() = ToProto(invoice.issue);
  *r.mutable_due_date() = ToProto(due);
  r.set_source(v1::RECEIVABLE_SOURCE_POSTED);
  r.set_created_micros(Micros(now));
  return r;
}

bool InContractSignedStage(const v1::Opportunity& o,
                           const v1::StageModel& model) {
  auto stage = std::find_if(
      model.stages().begin(), model.stages().end(),
      [&](const v1::Stage& s) { return s.key() == o.stage_key(); });
  return stage != model.stages().end() && stage->contract_signed();
}

absl::CivilDay ContractIssueDay(const v1::Opportunity& o, int64_t event_micros,
                                const CreditOptions& options) {
  const int64_t entered =
      o.stage_entered_micros() > 0 ? o.stage_entered_micros() : event_micros;
  return absl::ToCivilDay(absl::FromUnixMicros(entered), options.time_zone);
}

v1::Receivable NewContractReceivable(const v1::Opportunity& o,
                                     absl::CivilDay issue, int terms_days,
                                     const std::string& id, absl::Time now,
                                     const CreditOptions& options) {
  v1::Receivable r;
  r.set_id(id);
  r.set_account_id(o.account_id());
  r.set_opportunity_id(o.id());
  // The deal's own currency (D40); the reporting one for a deal without.
  const std::string& currency =
      o.amount().currency().empty() ? options.currency : o.amount().currency();
  *r.mutable_amount() = money::Make(o.amount().units_minor(), currency);
  *r.mutable_paid() = money::Make(0, currency);
  *r.mutable_written_off() = money::Make(0, currency);
  *r.mutable_issue_date() = ToProto(issue);
  *r.mutable_due_date() = ToProto(issue + terms_days);
  r.set_source(v1::RECEIVABLE_SOURCE_CONTRACT_SIGNED);
  r.set_created_micros(Micros(now));
  return r;
}

absl::StatusOr<absl::CivilDay> ValidateWriteOff(const v1::WriteOffRequest& req,
                                                absl::CivilDay today) {
  Violations v;
  if (req.receivable_id().empty()) {
    v.Add("receivable_id: required");
  }
  if (Blank(req.reason())) {
    v.Add("reason: required");
  } else if (req.reason().size() > kMaxTextLength) {
    v.Add("reason: at most 2000 characters");
  }
  absl::StatusOr<absl::CivilDay> date = DateOr(req.date(), "date", today);
  v.Add(date.status());
  if (date.ok() && *date > today) {
    v.Add("date: must not be after today");
  }
  RETURN_IF_ERROR(v.status());
  return *date;
}

absl::StatusOr<v1::Receivable> WriteOffReceivable(
    v1::Receivable r, const v1::WriteOffRequest& req, absl::CivilDay date,
    const std::string& currency) {
  if (!Outstanding(r)) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "receivable ", r.id(), " is ", v1::ReceivableState_Name(r.state()),
            ": only an OPEN, PARTIALLY_PAID or DISPUTED one can be written "
            "off")),
        "RECEIVABLE_STATE");
  }
  *r.mutable_written_off() = money::Make(r.open().units_minor(), currency);
  r.set_write_off_reason(Trimmed(req.reason()));
  *r.mutable_written_off_date() = ToProto(date);
  Settle(&r, currency);
  return r;
}

absl::Status ValidateSetDispute(const v1::SetDisputeRequest& req) {
  Violations v;
  if (req.receivable_id().empty()) {
    v.Add("receivable_id: required");
  }
  if (req.disputed() && Blank(req.reason())) {
    v.Add("reason: required when opening a dispute");
  }
  if (req.reason().size() > kMaxTextLength) {
    v.Add("reason: at most 2000 characters");
  }
  return v.status();
}

absl::StatusOr<v1::Receivable> SetReceivableDispute(
    v1::Receivable r, const v1::SetDisputeRequest& req,
    const std::string& currency) {
  if (req.disputed() && !Collectible(r)) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "receivable ", r.id(), " is ", v1::ReceivableState_Name(r.state()),
            ": only an OPEN or PARTIALLY_PAID one can be disputed")),
        "RECEIVABLE_STATE");
  }
  if (!req.disputed() && r.state() != v1::RECEIVABLE_STATE_DISPUTED) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "receivable ", r.id(), " is not disputed")),
                      "RECEIVABLE_STATE");
  }
  r.set_dispute_reason(req.disputed() ? Trimmed(req.reason()) : "");
  Settle(&r, currency);
  return r;
}

absl::StatusOr<v1::OpportunityCollection> CollectionOf(
    const std::string& opportunity_id,
    const std::vector<v1::Receivable>& receivables,
    const std::string& currency) {
  money::Accumulator invoiced, collected, written_off;
  bool all_paid = !receivables.empty();
  std::string account_id;
  absl::CivilDay last_paid;
  // D40: the sums are in the first receivable's currency (the contract's:
  // the deal's); receivables in another currency are not added to them.
  const std::string in = receivables.empty()
                             ? currency
                             : CurrencyOf(receivables.front(), currency);
  for (const v1::Receivable& r : receivables) {
    account_id = r.account_id();
    if (CurrencyOf(r, currency) == in) {
      invoiced.Add(r.amount().units_minor());
      collected.Add(r.paid().units_minor());
      written_off.Add(r.written_off().units_minor());
    }
    if (r.state() != v1::RECEIVABLE_STATE_PAID) {
      all_paid = false;
    } else {
      ASSIGN_OR_RETURN(absl::CivilDay paid,
                       FromProto(r.paid_date(), "paid_date"));
      last_paid = std::max(last_paid, paid);
    }
  }
  v1::OpportunityCollection c;
  c.set_opportunity_id(opportunity_id);
  c.set_account_id(account_id);
  ASSIGN_OR_RETURN(int64_t inv, invoiced.Total());
  ASSIGN_OR_RETURN(int64_t col, collected.Total());
  ASSIGN_OR_RETURN(int64_t off, written_off.Total());
  *c.mutable_invoiced() = money::Make(inv, in);
  *c.mutable_collected() = money::Make(col, in);
  *c.mutable_written_off() = money::Make(off, in);
  c.set_fully_collected(all_paid);
  if (all_paid) {
    *c.mutable_collected_date() = ToProto(last_paid);
  }
  return c;
}

}  // namespace salesops::credit
