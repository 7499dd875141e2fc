#pragma once

// The forecast's feed followers (common/feed/feed_follower.h): one class per
// source service — accounts (org nodes, quotas), pipeline (stage models,
// opportunities, their history) and credit (what is collected of each
// opportunity). Each applies its source's events through the ForecastView's
// rules inside the consumer's transaction, publishes the staged Rollup
// changes after each batch, and resyncs its copy when the source answers
// OUT_OF_RANGE (the forecast was down longer than the feed's retention,
// started long after the feed began, or the source was restored).
//
// A resync lists the source's whole state with its paged List RPCs and
// REPLACES the forecast's copy with it (PLAN decision 4): page-sized
// transactions, then the stored entities the listing lacks are removed, then
// the cursor is stored last at the first page's feed position (later events
// are applied again, ignored by version; a crash midway keeps the old
// cursor, so a restart resyncs again). The Rollup follows each transaction
// (ForecastView "Replacing a feed's copy"). Called with the forecast's
// SERVICE token; never on the query path.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/feed/feed_follower.h"
#include "common/server/peer.h"
#include "services/forecast/forecast_view.h"

namespace salesops::forecast {

// forecast ← accounts: every org node (one transaction: a re-org is applied
// whole) and every quota (ListQuotas) on resync.
class AccountsFollower final : public FeedFollower {
 public:
  // Not owned; both outlive the follower.
  AccountsFollower(ForecastView* view, const PeerChannel* accounts)
      : view_(view), peer_(accounts) {}
  std::string source() const override { return kAccountsSource; }
  std::vector<std::string> kinds() const override { return AccountsKinds(); }
  [[nodiscard]] absl::Status Apply(const v1::Event& event,
                                   WriteTxn& txn) override {
    return view_->ApplyAccounts(event, txn);
  }
  void AfterBatch(bool committed) override {
    view_->AfterAccountsBatch(committed);
  }
  [[nodiscard]] absl::Status Resync() override;

 private:
  ForecastView* view_;
  const PeerChannel* peer_;
};

// forecast ← pipeline: every stage model (one transaction), every
// opportunity and every history entry (ListOpportunityChanges, for the
// analytics), page by page, on resync.
class PipelineFollower final : public FeedFollower {
 public:
  PipelineFollower(ForecastView* view, const PeerChannel* pipeline)
      : view_(view), peer_(pipeline) {}
  std::string source() const override { return kPipelineSource; }
  std::vector<std::string> kinds() const override { return PipelineKinds(); }
  [[nodiscard]] absl::Status Apply(const v1::Event& event,
                                   WriteTxn& txn) override {
    return view_->ApplyPipeline(event, txn);
  }
  void AfterBatch(bool committed) override {
    view_->AfterPipelineBatch(committed);
  }
  [[nodiscard]] absl::Status Resync() override;

 private:
  ForecastView* view_;
  const PeerChannel* peer_;
};

// forecast ← credit: every opportunity's collection, page by page, on resync
// (an opportunity credit no longer lists has nothing collected).
class CreditFollower final : public FeedFollower {
 public:
  CreditFollower(ForecastView* view, const PeerChannel* credit)
      : view_(view), peer_(credit) {}
  std::string source() const override { return kCreditSource; }
  std::vector<std::string> kinds() const override { return CreditKinds(); }
  [[nodiscard]] absl::Status Apply(const v1::Event& event,
                                   WriteTxn& txn) override {
    return view_->ApplyCredit(event, txn);
  }
  void AfterBatch(bool committed) override {
    view_->AfterCreditBatch(committed);
  }
  [[nodiscard]] absl::Status Resync() override;

 private:
  ForecastView* view_;
  const PeerChannel* peer_;
};

}  // namespace salesops::forecast
