#include "services/credit/credit_ledger.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/store/ids.h"
#include "common/time/clock.h"
#include "services/credit/receivable_rules.h"
#include "services/credit/receivables.h"

namespace salesops::credit {

CreditLedger::CreditLedger(Store* store, CreditOptions options)
    : db(store),
      options(std::move(options)),
      rates(store, Cf::kMirror, this->options.currency) {}

absl::StatusOr<std::vector<v1::Money>> CreditLedger::Exposure(
    WriteTxn& txn, const std::string& account_id,
    const std::string& except_opportunity) const {
  std::vector<v1::Money> total;
  ASSIGN_OR_RETURN(std::vector<v1::Receivable> rs,
                   db.AccountReceivables(txn, account_id));
  for (const v1::Receivable& r : rs) {
    // The opportunity asking is counted once, by the amount it asks for,
    // even when it was invoiced before and slipped back.
    if (except_opportunity.empty() ||
        r.opportunity_id() != except_opportunity) {
      if (Outstanding(r)) {
        total.push_back(r.open());
      }
    }
  }
  ASSIGN_OR_RETURN(std::vector<Commitment> cs,
                   db.AccountCommitments(txn, account_id));
  for (const Commitment& c : cs) {
    if (c.opportunity_id != except_opportunity || except_opportunity.empty()) {
      total.push_back(money::Make(
          c.amount, c.currency.empty() ? options.currency : c.currency));
    }
  }
  return total;
}

absl::StatusOr<int64_t> CreditLedger::CountMissingRates(
    absl::CivilDay day) const {
  ASSIGN_OR_RETURN(
      std::vector<std::string> ids,
      db.owing_receivables.AllIds(*db.store, "", CreditStore::kAllIdsLimit));
  const money::RateTable table = rates.Snapshot();
  int64_t missing = 0;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(v1::Receivable r, db.receivables.Get(id));
    if (!table.RateOn(CurrencyOf(r, options.currency), day).has_value()) {
      ++missing;
    }
  }
  return missing;
}

absl::Status CreditLedger::RefreshCollection(
    WriteTxn& txn, const std::string& opportunity_id) const {
  if (opportunity_id.empty()) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::vector<std::string> ids,
                   db.receivables_by_opportunity.AllIds(
                       txn, opportunity_id, CreditStore::kAllIdsLimit));
  std::vector<v1::Receivable> rs;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(v1::Receivable r, db.receivables.Get(txn, id));
    rs.push_back(std::move(r));
  }
  ASSIGN_OR_RETURN(v1::OpportunityCollection c,
                   CollectionOf(opportunity_id, rs, options.currency));
  ASSIGN_OR_RETURN(std::optional<v1::OpportunityCollection> old,
                   db.collections.Find(txn, opportunity_id));
  if (!old) {
    return db.collections.Insert(txn, opportunity_id, &c);
  }
  c.set_version(old->version());
  if (c.SerializeAsString() == old->SerializeAsString()) {
    return absl::OkStatus();
  }
  return db.collections.Update(txn, opportunity_id, 0, &c);
}

absl::Status CreditLedger::OpenReceivable(WriteTxn& txn,
                                          v1::Receivable* r) const {
  Settle(r, options.currency);
  RETURN_IF_ERROR(db.SaveReceivable(txn, r));
  RETURN_IF_ERROR(db.receivable_by_external_id.Claim(
      txn, "external_id", "", r->external_id(), r->id()));
  if (!r->opportunity_id().empty()) {
    RETURN_IF_ERROR(db.ReleaseCommitment(txn, r->opportunity_id()));
    RETURN_IF_ERROR(RefreshCollection(txn, r->opportunity_id()));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> CreditLedger::PaymentTermsDays(
    WriteTxn& txn, const std::string& account_id) const {
  ASSIGN_OR_RETURN(std::optional<v1::CreditProfile> p,
                   db.profiles.Find(txn, account_id));
  return p ? p->payment_terms_days() : options.default_payment_terms_days;
}

absl::Status CreditLedger::NewTask(WriteTxn& txn, v1::CollectionTask* task,
                                   absl::Time now) const {
  task->set_id(NewId("tsk", now));
  task->set_created_micros(Micros(now));
  RETURN_IF_ERROR(db.tasks.Insert(txn, task->id(), task));
  db.tasks_by_account.Put(txn, task->account_id(), task->id());
  return absl::OkStatus();
}

absl::Status CreditLedger::RequireOpportunityOf(
    WriteTxn& txn, const std::string& opportunity_id,
    const std::string& account_id, std::string_view field) const {
  if (opportunity_id.empty()) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::optional<std::string> owner,
                   db.OpportunityAccount(txn, opportunity_id));
  if (owner && *owner != account_id) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": opportunity ", opportunity_id,
                     " is of account ", *owner, ", not ", account_id));
  }
  return absl::OkStatus();
}

}  // namespace salesops::credit
