#pragma once

// The credit service's tables and indexes in its own RocksDB (ARCHITECTURE.md
// §3). Column families: "entities" (one tag per table), "index" (secondary
// indexes and the contracted-not-invoiced commitments, written in the same
// transaction as their entity) and "mirror" (what credit follows: the org
// tree and accounts' owners from accounts, stage models from pipeline; never
// on this service's feed).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/store/store.h"
#include "common/store/table.h"
#include "salesops/v1/credit.pb.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops::credit {

enum class Cf { kEntities = 0, kIndex = 1, kMirror = 2 };
const std::vector<std::string>& ColumnFamilies();

// Feed event kinds.
inline constexpr char kProfileKind[] = "credit.CreditProfile";
inline constexpr char kCheckKind[] = "credit.CreditCheck";
inline constexpr char kReceivableKind[] = "credit.Receivable";
inline constexpr char kPaymentKind[] = "credit.Payment";
inline constexpr char kPromiseKind[] = "credit.Promise";
inline constexpr char kContactKind[] = "credit.CollectionContact";
inline constexpr char kTaskKind[] = "credit.CollectionTask";
inline constexpr char kStrategyKind[] = "credit.DunningStrategy";
inline constexpr char kCollectionKind[] = "credit.OpportunityCollection";

// An approved (or REVIEWed) check's amount for an opportunity that has no
// receivable yet: contracted-not-invoiced exposure of SPEC §5.1.
struct Commitment {
  std::string account_id;
  std::string opportunity_id;
  int64_t amount = 0;
  // The checked amount's currency (D40); "" for one stored before issue 19
  // (the reporting currency).
  std::string currency;
};

struct CreditStore {
  explicit CreditStore(Store* store);

  Store* store;
  Table<v1::CreditProfile> profiles;  // id = account id
  Table<v1::CreditCheck> checks;
  Table<v1::Receivable> receivables;
  Table<v1::Payment> payments;
  Table<v1::Promise> promises;
  Table<v1::CollectionContact> contacts;
  Table<v1::CollectionTask> tasks;
  Table<v1::DunningStrategy> strategy;           // one row, id kStrategyId
  Table<v1::OpportunityCollection> collections;  // id = opportunity id

  UniqueIndex receivable_by_external_id;
  // The receivable opened when the opportunity entered a contract_signed
  // stage: at most one per opportunity, ever.
  UniqueIndex contract_receivable_by_opportunity;
  UniqueIndex payment_by_external_id;
  MultiIndex receivables_by_account;
  MultiIndex receivables_by_opportunity;
  // Receivables that still owe (OPEN, PARTIALLY_PAID, DISPUTED), under "".
  MultiIndex owing_receivables;
  MultiIndex payments_by_account;
  MultiIndex checks_by_account;
  MultiIndex promises_by_account;
  MultiIndex pending_promises;  // under ""
  MultiIndex contacts_by_account;
  MultiIndex tasks_by_account;

  static constexpr char kStrategyId[] = "default";

  // ---- helpers used inside transactions ----
  // The bound of MultiIndex::AllIds on credit's indexes: at most 1,000,000
  // ids under one value (owing receivables, pending promises, an account's).
  static constexpr size_t kAllIdsLimit = 1'000'000;

  // The account's receivables (committed state / inside a transaction).
  [[nodiscard]] absl::StatusOr<std::vector<v1::Receivable>> AccountReceivables(
      std::string_view account_id) const;
  [[nodiscard]] absl::StatusOr<std::vector<v1::Receivable>> AccountReceivables(
      WriteTxn& txn, std::string_view account_id) const;
  // Stores `r` (insert when version is 0, else update with no version check)
  // and keeps the owing index in step with its state.
  [[nodiscard]] absl::Status SaveReceivable(WriteTxn& txn,
                                            v1::Receivable* r) const;

  // The dunning strategy in force (the default until one is set).
  [[nodiscard]] absl::StatusOr<v1::DunningStrategy> Strategy() const;
  [[nodiscard]] absl::StatusOr<v1::DunningStrategy> Strategy(
      WriteTxn& txn) const;

  // Contracted-not-invoiced commitments.
  void PutCommitment(WriteTxn& txn, const Commitment& c) const;
  // Removes the opportunity's commitment, if any.
  [[nodiscard]] absl::Status ReleaseCommitment(
      WriteTxn& txn, std::string_view opportunity_id) const;
  [[nodiscard]] absl::StatusOr<std::vector<Commitment>> AccountCommitments(
      WriteTxn& txn, std::string_view account_id) const;

  // The account of each opportunity seen on pipeline's feed (fixed when the
  // opportunity is created), so a check or an invoice naming an opportunity
  // of another account is refused.
  void PutOpportunityAccount(WriteTxn& txn, std::string_view opportunity_id,
                             std::string_view account_id) const;
  [[nodiscard]] absl::StatusOr<std::optional<std::string>> OpportunityAccount(
      WriteTxn& txn, std::string_view opportunity_id) const;

  // Stage models followed from pipeline (mirror family).
  [[nodiscard]] absl::StatusOr<std::optional<v1::StageModel>> FindModel(
      WriteTxn& txn, std::string_view model_id) const;
  void PutModel(WriteTxn& txn, const v1::StageModel& model) const;

  // The copies of pipeline's stage models and of its opportunities'
  // accounts, for a resync that replaces them (followers.h): the
  // key prefix of each in the mirror family, and the id of one of its keys.
  static std::string ModelMirrorPrefix();
  static std::string ModelMirrorKey(std::string_view model_id);
  static std::string OpportunityAccountPrefix();
  static std::string OpportunityAccountKey(std::string_view opportunity_id);
  [[nodiscard]] static absl::StatusOr<std::string> MirroredId(
      std::string_view key);
};

}  // namespace salesops::credit
