#include "services/credit/credit_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "common/store/key.h"
#include "services/credit/collections.h"
#include "services/credit/receivables.h"

namespace salesops::credit {
namespace {

// Tags in "entities". Never reuse a value.
enum : uint8_t {
  kProfileTag = 1,
  kCheckTag = 2,
  kReceivableTag = 3,
  kPaymentTag = 4,
  kPromiseTag = 5,
  kContactTag = 6,
  kTaskTag = 7,
  kStrategyTag = 8,
  kCollectionTag = 9,
};
// Tags in "index".
enum : uint8_t {
  kReceivableByExternalTag = 1,
  kContractReceivableTag = 2,
  kPaymentByExternalTag = 3,
  kReceivablesByAccountTag = 4,
  kReceivablesByOpportunityTag = 5,
  kOwingTag = 6,
  kPaymentsByAccountTag = 7,
  kChecksByAccountTag = 8,
  kPromisesByAccountTag = 9,
  kPendingPromisesTag = 10,
  kContactsByAccountTag = 11,
  kTasksByAccountTag = 12,
  kCommitmentTag = 13,         // (account, opportunity) → amount
  kCommitmentAccountTag = 14,  // opportunity → account
};
// Tags in "mirror" (tags 1 and 2 are the OrgMirror's).
constexpr uint8_t kModelTag = 10;
constexpr uint8_t kOpportunityAccountTag = 11;

}  // namespace

const std::vector<std::string>& ColumnFamilies() {
  static const auto* names =
      new std::vector<std::string>{"entities", "index", "mirror"};
  return *names;
}

CreditStore::CreditStore(Store* s)
    : store(s),
      profiles(s, Cf::kEntities, kProfileTag, kProfileKind, "credit profile"),
      checks(s, Cf::kEntities, kCheckTag, kCheckKind, "credit check"),
      receivables(s, Cf::kEntities, kReceivableTag, kReceivableKind,
                  "receivable"),
      payments(s, Cf::kEntities, kPaymentTag, kPaymentKind, "payment"),
      promises(s, Cf::kEntities, kPromiseTag, kPromiseKind, "promise"),
      contacts(s, Cf::kEntities, kContactTag, kContactKind,
               "collection contact"),
      tasks(s, Cf::kEntities, kTaskTag, kTaskKind, "collection task"),
      strategy(s, Cf::kEntities, kStrategyTag, kStrategyKind,
               "dunning strategy"),
      collections(s, Cf::kEntities, kCollectionTag, kCollectionKind,
                  "opportunity collection"),
      receivable_by_external_id(Cf::kIndex, kReceivableByExternalTag,
                                "receivable"),
      contract_receivable_by_opportunity(Cf::kIndex, kContractReceivableTag),
      payment_by_external_id(Cf::kIndex, kPaymentByExternalTag, "payment"),
      receivables_by_account(Cf::kIndex, kReceivablesByAccountTag),
      receivables_by_opportunity(Cf::kIndex, kReceivablesByOpportunityTag),
      owing_receivables(Cf::kIndex, kOwingTag),
      payments_by_account(Cf::kIndex, kPaymentsByAccountTag),
      checks_by_account(Cf::kIndex, kChecksByAccountTag),
      promises_by_account(Cf::kIndex, kPromisesByAccountTag),
      pending_promises(Cf::kIndex, kPendingPromisesTag),
      contacts_by_account(Cf::kIndex, kContactsByAccountTag),
      tasks_by_account(Cf::kIndex, kTasksByAccountTag) {}

absl::StatusOr<std::vector<v1::Receivable>> CreditStore::AccountReceivables(
    std::string_view account_id) const {
  ASSIGN_OR_RETURN(
      std::vector<std::string> ids,
      receivables_by_account.AllIds(*store, account_id, kAllIdsLimit));
  std::vector<v1::Receivable> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(v1::Receivable r, receivables.Get(id));
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<v1::Receivable>> CreditStore::AccountReceivables(
    WriteTxn& txn, std::string_view account_id) const {
  ASSIGN_OR_RETURN(
      std::vector<std::string> ids,
      receivables_by_account.AllIds(txn, account_id, kAllIdsLimit));
  std::vector<v1::Receivable> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(v1::Receivable r, receivables.Get(txn, id));
    out.push_back(std::move(r));
  }
  return out;
}

absl::Status CreditStore::SaveReceivable(WriteTxn& txn,
                                         v1::Receivable* r) const {
  if (r->version() == 0) {
    RETURN_IF_ERROR(receivables.Insert(txn, r->id(), r));
    receivables_by_account.Put(txn, r->account_id(), r->id());
    if (!r->opportunity_id().empty()) {
      receivables_by_opportunity.Put(txn, r->opportunity_id(), r->id());
    }
  } else {
    RETURN_IF_ERROR(receivables.Update(txn, r->id(), 0, r));
  }
  if (Outstanding(*r)) {
    owing_receivables.Put(txn, "", r->id());
  } else {
    owing_receivables.Delete(txn, "", r->id());
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::DunningStrategy> CreditStore::Strategy() const {
  ASSIGN_OR_RETURN(std::optional<v1::DunningStrategy> s,
                   strategy.Find(kStrategyId));
  return s ? *s : DefaultDunningStrategy();
}

absl::StatusOr<v1::DunningStrategy> CreditStore::Strategy(WriteTxn& txn) const {
  ASSIGN_OR_RETURN(std::optional<v1::DunningStrategy> s,
                   strategy.Find(txn, kStrategyId));
  return s ? *s : DefaultDunningStrategy();
}

void CreditStore::PutCommitment(WriteTxn& txn, const Commitment& c) const {
  txn.Put(
      Cf::kIndex,
      KeyBuilder(kCommitmentTag).Str(c.account_id).Str(c.opportunity_id).key(),
      c.currency.empty() ? absl::StrCat(c.amount)
                         : absl::StrCat(c.amount, " ", c.currency));
  txn.Put(Cf::kIndex,
          KeyBuilder(kCommitmentAccountTag).Str(c.opportunity_id).key(),
          c.account_id);
}

absl::Status CreditStore::ReleaseCommitment(
    WriteTxn& txn, std::string_view opportunity_id) const {
  const std::string by_opp =
      KeyBuilder(kCommitmentAccountTag).Str(opportunity_id).key();
  ASSIGN_OR_RETURN(std::optional<std::string> account,
                   txn.Get(Cf::kIndex, by_opp));
  if (!account) {
    return absl::OkStatus();
  }
  txn.Delete(Cf::kIndex, by_opp);
  txn.Delete(
      Cf::kIndex,
      KeyBuilder(kCommitmentTag).Str(*account).Str(opportunity_id).key());
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Commitment>> CreditStore::AccountCommitments(
    WriteTxn& txn, std::string_view account_id) const {
  const std::string prefix = KeyBuilder(kCommitmentTag).Str(account_id).key();
  std::vector<Commitment> out;
  absl::Status bad;
  RETURN_IF_ERROR(txn.Scan(Cf::kIndex, prefix, PrefixSuccessor(prefix),
                           [&](std::string_view key, std::string_view value) {
                             Commitment c;
                             c.account_id = std::string(account_id);
                             KeyReader reader(key);
                             uint8_t tag = 0;
                             std::string account;
                             // "<amount>" (before issue 19) or "<amount>
                             // <currency>".
                             absl::string_view text(value.data(), value.size());
                             if (const size_t space = text.find(' ');
                                 space != absl::string_view::npos) {
                               c.currency = std::string(text.substr(space + 1));
                               text = text.substr(0, space);
                             }
                             if (!reader.Tag(&tag) || !reader.Str(&account) ||
                                 !reader.Str(&c.opportunity_id) ||
                                 !absl::SimpleAtoi(text, &c.amount)) {
                               bad = absl::DataLossError(
                                   "store: corrupt credit commitment");
                               return false;
                             }
                             out.push_back(std::move(c));
                             return true;
                           }));
  RETURN_IF_ERROR(bad);
  return out;
}

void CreditStore::PutOpportunityAccount(WriteTxn& txn,
                                        std::string_view opportunity_id,
                                        std::string_view account_id) const {
  txn.Put(Cf::kMirror,
          KeyBuilder(kOpportunityAccountTag).Str(opportunity_id).key(),
          account_id);
}

absl::StatusOr<std::optional<std::string>> CreditStore::OpportunityAccount(
    WriteTxn& txn, std::string_view opportunity_id) const {
  return txn.Get(Cf::kMirror,
                 KeyBuilder(kOpportunityAccountTag).Str(opportunity_id).key());
}

absl::StatusOr<std::optional<v1::StageModel>> CreditStore::FindModel(
    WriteTxn& txn, std::string_view model_id) const {
  ASSIGN_OR_RETURN(
      std::optional<std::string> raw,
      txn.Get(Cf::kMirror, KeyBuilder(kModelTag).Str(model_id).key()));
  if (!raw) {
    return std::nullopt;
  }
  v1::StageModel m;
  if (!m.ParseFromString(*raw)) {
    return absl::DataLossError("store: corrupt stage model mirror");
  }
  return m;
}

void CreditStore::PutModel(WriteTxn& txn, const v1::StageModel& model) const {
  txn.Put(Cf::kMirror, KeyBuilder(kModelTag).Str(model.id()).key(),
          model.SerializeAsString());
}

std::string CreditStore::ModelMirrorPrefix() {
  return KeyBuilder(kModelTag).key();
}

std::string CreditStore::ModelMirrorKey(std::string_view model_id) {
  return KeyBuilder(kModelTag).Str(model_id).key();
}

std::string CreditStore::OpportunityAccountPrefix() {
  return KeyBuilder(kOpportunityAccountTag).key();
}

std::string CreditStore::OpportunityAccountKey(
    std::string_view opportunity_id) {
  return KeyBuilder(kOpportunityAccountTag).Str(opportunity_id).key();
}

absl::StatusOr<std::string> CreditStore::MirroredId(std::string_view key) {
  KeyReader reader(key);
  uint8_t tag = 0;
  std::string id;
  if (!reader.Tag(&tag) || !reader.Str(&id)) {
    return absl::DataLossError("store: corrupt pipeline mirror key");
  }
  return id;
}

}  // namespace salesops::credit
