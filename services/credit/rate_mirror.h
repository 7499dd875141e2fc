#pragma once

// Credit's copy of the dated exchange rates of accounts (issue 19,
// docs/DECISIONS.md D40), followed from the accounts feed (kind
// "accounts.ExchangeRate", entity "<currency>/<YYYY-MM-DD>") by the
// AccountsFollower (followers.h).
//
// Durable part: one record per (currency, start date) in credit's "mirror"
// column family, written by the feed consumer's transaction together with
// its cursor (a withdrawn entry is kept, marked withdrawn). In-memory part: a
// money::RateTable to the reporting currency (credit's --currency), built
// from the store at start (Load) and updated as events are applied (as the
// OrgMirror: an event whose transaction rolls back is applied again on
// retry, and versions decide, so memory never ends up behind the store).
// A rate published for another reporting currency than ours is not used
// (logged): its currency then has no rate, which the answers report.
//
// Thread-safe.

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/money/exchange.h"
#include "common/store/store.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/feed.pb.h"

namespace salesops::credit {

inline constexpr char kExchangeRateKind[] = "accounts.ExchangeRate";

class RateMirror {
 public:
  // `store` is not owned; `cf` is the mirror family.
  RateMirror(Store* store, CfRef cf, std::string reporting_currency);

  // Reads the stored rates into memory (at start).
  [[nodiscard]] absl::Status Load();
  // Applies one "accounts.ExchangeRate" event inside the consumer's
  // transaction: a version newer than the stored one replaces it (a
  // withdrawn entry removes the rate from the table). DATA_LOSS for a
  // payload that is not a valid ExchangeRate (no currency, bad date, rate
  // text that does not parse).
  [[nodiscard]] absl::Status Apply(const v1::Event& event, WriteTxn& txn);
  // A resync's listing REPLACES the copy (whatever the versions), in one
  // transaction (rates are few); the memory follows when it commits. The
  // cursor is the caller's to store, after.
  [[nodiscard]] absl::Status Replace(const std::vector<v1::ExchangeRate>& rates,
                                     const std::string& source);

  // A copy of the table to convert with (no lock held afterwards).
  money::RateTable Snapshot() const;
  const std::string& reporting_currency() const { return reporting_; }

 private:
  // Whether `r` is usable here; its parsed rate when it is in force.
  [[nodiscard]] absl::Status Check(const v1::ExchangeRate& r) const;
  void Remember(money::RateTable& table, const v1::ExchangeRate& r) const;

  Store* store_;
  CfRef cf_;
  std::string reporting_;
  mutable std::mutex mu_;
  money::RateTable table_;
};

}  // namespace salesops::credit
