#include "services/credit/payment_rules.h"

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

using money::Sign;

absl::StatusOr<absl::CivilDay> ValidateRecordPayment(
    const v1::RecordPaymentRequest& req, absl::CivilDay today,
    const CreditOptions& options) {
  Violations v;
  if (req.account_id().empty()) {
    v.Add("account_id: required");
  }
  v.Add(money::ValidateAnyCurrency(req.amount(), "amount", Sign::kPositive));
  absl::StatusOr<absl::CivilDay> date = FromProto(req.date(), "date");
  v.Add(date.status());
  if (date.ok() && *date > today) {
    v.Add(absl::StrCat("date: must not be after today (",
                       absl::FormatCivilTime(today), ")"));
  }
  for (int i = 0; i < req.allocations_size(); ++i) {
    const v1::Allocation& a = req.allocations(i);
    const std::string field = absl::StrCat("allocations[", i, "]");
    if (a.receivable_id().empty()) {
      v.Add(absl::StrCat(field, ".receivable_id: required"));
    }
    v.Add(money::ValidateAnyCurrency(a.amount(), absl::StrCat(field, ".amount"),
                                     Sign::kPositive));
  }
  if (req.external_id().size() > kMaxExternalIdLength) {
    v.Add("external_id: at most 128 characters");
  }
  RETURN_IF_ERROR(v.status());
  return *date;
}

absl::Status CheckPaymentReplay(const v1::Payment& known,
                                const v1::RecordPaymentRequest& req) {
  if (known.account_id() != req.account_id() ||
      known.amount().units_minor() != req.amount().units_minor() ||
      known.amount().currency() != req.amount().currency() ||
      known.date().SerializeAsString() != req.date().SerializeAsString()) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "external_id: ", req.external_id(), " was recorded as ", known.id(),
            " with a different account, amount or date")),
        "EXTERNAL_ID_REUSED");
  }
  return absl::OkStatus();
}

absl::StatusOr<RecordedPayment> RecordPaymentOn(
    std::vector<v1::Receivable> rs, const v1::RecordPaymentRequest& req,
    absl::CivilDay date, const std::string& recorded_by, const std::string& id,
    absl::Time now, const CreditOptions& options) {
  std::vector<v1::Allocation> named(req.allocations().begin(),
                                    req.allocations().end());
  ASSIGN_OR_RETURN(
      std::vector<v1::Allocation> allocations,
      Allocate(rs, req.amount().units_minor(), named, req.amount().currency()));
  RecordedPayment out;
  v1::Payment& p = out.payment;
  p.set_id(id);
  p.set_account_id(req.account_id());
  *p.mutable_amount() = req.amount();
  *p.mutable_date() = ToProto(date);
  p.set_external_id(req.external_id());
  p.set_recorded_by(recorded_by);
  p.set_created_micros(Micros(now));
  for (const v1::Allocation& a : allocations) {
    auto it = std::find_if(rs.begin(), rs.end(), [&](const auto& r) {
      return r.id() == a.receivable_id();
    });
    if (it == rs.end()) {
      return absl::InternalError("allocation to an unknown receivable");
    }
    RETURN_IF_ERROR(ApplyPayment(&*it, p.id(), a.amount().units_minor(), date,
                                 options.currency));
    out.changed.push_back(*it);
    out.opportunities.insert(it->opportunity_id());
    *p.add_allocations() = a;
  }
  return out;
}

}  // namespace salesops::credit
