#pragma once

// What several writers of credit's store share inside their transactions:
// the handlers, the daily collections job and the pipeline follower. Reads
// the state the transitions (receivable_rules.h, ...) need and writes what
// they return, keeping indexes and the opportunity collections in step.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/store/store.h"
#include "salesops/v1/credit.pb.h"
#include "services/credit/credit_options.h"
#include "services/credit/credit_store.h"
#include "services/credit/rate_mirror.h"

namespace salesops::credit {

struct CreditLedger {
  CreditLedger(Store* store, CreditOptions options);

  CreditStore db;
  CreditOptions options;
  // The exchange rates followed from accounts (to options.currency, the
  // reporting currency); Load() it at start.
  RateMirror rates;

  // The open amounts of the account's receivables and its commitments (other
  // than `except_opportunity`'s), each in its own currency (D40: converted
  // by the caller).
  [[nodiscard]] absl::StatusOr<std::vector<v1::Money>> Exposure(
      WriteTxn& txn, const std::string& account_id,
      const std::string& except_opportunity) const;
  // Recomputes the OpportunityCollection of `opportunity_id` from its
  // receivables and stores it (with its event) when it changed.
  [[nodiscard]] absl::Status RefreshCollection(
      WriteTxn& txn, const std::string& opportunity_id) const;
  // Opens a receivable (validated by the caller), releases the
  // opportunity's commitment and refreshes its collection.
  [[nodiscard]] absl::Status OpenReceivable(WriteTxn& txn,
                                            v1::Receivable* r) const;
  // How many receivables that still owe (OPEN, PARTIALLY_PAID, DISPUTED)
  // are in a currency without an exchange rate on `day` (committed state).
  [[nodiscard]] absl::StatusOr<int64_t> CountMissingRates(
      absl::CivilDay day) const;
  // The account's payment terms (its profile's, else the default).
  [[nodiscard]] absl::StatusOr<int> PaymentTermsDays(
      WriteTxn& txn, const std::string& account_id) const;
  // Stores a new task (id and creation time set here).
  [[nodiscard]] absl::Status NewTask(WriteTxn& txn, v1::CollectionTask* task,
                                     absl::Time now) const;
  // INVALID_ARGUMENT when pipeline's feed showed `opportunity_id` under
  // another account (an opportunity not seen yet passes: the feed may lag
  // the call).
  [[nodiscard]] absl::Status RequireOpportunityOf(
      WriteTxn& txn, const std::string& opportunity_id,
      const std::string& account_id, std::string_view field) const;
};

}  // namespace salesops::credit
