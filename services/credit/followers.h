#pragma once

// What credit follows (ARCHITECTURE.md §4), one follower per source
// service, each with the Apply of its feed consumer and the Resync called
// when the source answers OUT_OF_RANGE (credit was down past the feed's
// retention, started after it, or the source was restored).
//
// accounts → credit: org nodes and accounts' owners into the OrgMirror (role
// scopes), and the dated exchange rates into the RateMirror (D40). Resync
// lists every org node, every account's owner and every exchange rate and
// REPLACES the mirrors' copies (PLAN decision 4): the tree in one
// transaction, the rates in one, the accounts page by page, those no page
// listed removed, the cursor last at the earliest of the listings' feed
// positions.
//
// pipeline → credit: stage models are remembered; an opportunity in a
// contract_signed stage (OPEN, or WON from it) gets its one receivable; one
// that closes without a sale releases its contracted-not-invoiced amount.
// Idempotent. Resync REPLACES credit's copy of pipeline: the stage models in
// one transaction, then the opportunities page by page — each applied as its
// feed event would be — then the opportunities no page listed are forgotten
// (their account and commitment: the deal no longer exists), then the cursor
// last. Credit's own data stays: a receivable opened for a contract is a real
// debt whatever became of the deal.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/feed/feed_follower.h"
#include "common/org/org_mirror.h"
#include "common/server/peer.h"
#include "common/store/store.h"
#include "salesops/v1/feed.pb.h"
#include "services/credit/credit_ledger.h"
#include "services/credit/rate_mirror.h"

namespace salesops::credit {

class AccountsFollower final : public FeedFollower {
 public:
  // Not owned; outlive the follower.
  AccountsFollower(OrgMirror* org, RateMirror* rates,
                   const PeerChannel* accounts);

  std::string source() const override { return "accounts"; }
  std::vector<std::string> kinds() const override;
  [[nodiscard]] absl::Status Apply(const v1::Event& event,
                                   WriteTxn& txn) override;
  [[nodiscard]] absl::Status Resync() override;

 private:
  OrgMirror* org_;
  RateMirror* rates_;
  const PeerChannel* peer_;
};

class PipelineFollower final : public FeedFollower {
 public:
  // Not owned; outlive the follower. `pipeline` may be null (Resync then
  // fails) for a follower fed by hand.
  PipelineFollower(const CreditLedger* ledger, const PeerChannel* pipeline);

  std::string source() const override { return "pipeline"; }
  std::vector<std::string> kinds() const override;
  [[nodiscard]] absl::Status Apply(const v1::Event& event,
                                   WriteTxn& txn) override;
  [[nodiscard]] absl::Status Resync() override;

 private:
  [[nodiscard]] absl::Status ApplyModel(const v1::Event& event,
                                        WriteTxn& txn) const;
  [[nodiscard]] absl::Status ApplyOpportunity(const v1::Event& event,
                                              WriteTxn& txn) const;
  [[nodiscard]] absl::Status OpenContractReceivable(const v1::Opportunity& o,
                                                    int64_t event_micros,
                                                    WriteTxn& txn) const;

  const CreditLedger* ledger_;
  const PeerChannel* peer_;
};

}  // namespace salesops::credit
