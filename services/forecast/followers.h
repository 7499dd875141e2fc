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
//
// A global forecast (issue 19, federation.h) runs one follower of each kind
// per region besides its own accounts follower (the headquarters): a
// region's follower namespaces every event and listing ("<region>/<id>"),
// keeps its cursor under "<region>/<source>", stages into its own Staging and
// resyncs only its region's part of each copy; a region's accounts feed gives
// org nodes and quotas (the global rates are the headquarters').

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/feed/feed_follower.h"
#include "common/server/peer.h"
#include "common/status/status.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "services/forecast/federation.h"
#include "services/forecast/forecast_view.h"

namespace salesops::forecast {

// What the three followers share: the view, the peer, and for a region of a
// global forecast its namespace (null for the instance's own peers).
class ViewFollower : public FeedFollower {
 protected:
  // Not owned; all outlive the follower.
  ViewFollower(ForecastView* view, const PeerChannel* peer,
               const RegionNamespace* region, const char* source)
      : view_(view), peer_(peer), region_(region), source_(source) {}

 public:
  std::string source() const override {
    return region_ == nullptr ? source_
                              : absl::StrCat(region_->region(), "/", source_);
  }

 protected:
  // The id prefix of the region's part of each copy ("" for the own peers).
  std::string ns() const { return region_ == nullptr ? "" : region_->prefix(); }
  // `event` as the view sees it (namespaced for a region).
  [[nodiscard]] absl::StatusOr<v1::Event> Scoped(const v1::Event& event) const {
    v1::Event e = event;
    if (region_ != nullptr) RETURN_IF_ERROR(region_->Apply(&e));
    return e;
  }
  // Namespaces listed entities in place (nothing for the own peers).
  template <typename T>
  void Scope(std::vector<T>& items) const {
    if (region_ == nullptr) return;
    for (T& item : items) region_->Apply(&item);
  }

  ForecastView* view_;
  const PeerChannel* peer_;
  const RegionNamespace* region_;
  const char* source_;
  ForecastView::Staging staging_;  // a region's (the own peers use the view's)
};

// forecast ← accounts: every org node (one transaction: a re-org is applied
// whole), every quota (ListQuotas) and, for the instance's own accounts, every
// exchange rate on resync.
class AccountsFollower final : public ViewFollower {
 public:
  AccountsFollower(ForecastView* view, const PeerChannel* accounts,
                   const RegionNamespace* region = nullptr)
      : ViewFollower(view, accounts, region, kAccountsSource) {}
  std::vector<std::string> kinds() const override;
  [[nodiscard]] absl::Status Apply(const v1::Event& event,
                                   WriteTxn& txn) override;
  void AfterBatch(bool committed) override;
  [[nodiscard]] absl::Status Resync() override;
};

// forecast ← pipeline: every stage model (one transaction), every
// opportunity and every history entry (ListOpportunityChanges, for the
// analytics), page by page, on resync.
class PipelineFollower final : public ViewFollower {
 public:
  PipelineFollower(ForecastView* view, const PeerChannel* pipeline,
                   const RegionNamespace* region = nullptr)
      : ViewFollower(view, pipeline, region, kPipelineSource) {}
  std::vector<std::string> kinds() const override { return PipelineKinds(); }
  [[nodiscard]] absl::Status Apply(const v1::Event& event,
                                   WriteTxn& txn) override;
  void AfterBatch(bool committed) override;
  [[nodiscard]] absl::Status Resync() override;

 private:
  // Resync's opportunities: every page replaced, the rest removed; the
  // number listed added to *count, the first page's position in *at.
  [[nodiscard]] absl::Status ResyncOpportunities(
      v1::PipelineService::StubInterface& stub, int64_t* count, uint64_t* at);
};

// forecast ← credit: every opportunity's collection, page by page, on resync
// (an opportunity credit no longer lists has nothing collected).
class CreditFollower final : public ViewFollower {
 public:
  CreditFollower(ForecastView* view, const PeerChannel* credit,
                 const RegionNamespace* region = nullptr)
      : ViewFollower(view, credit, region, kCreditSource) {}
  std::vector<std::string> kinds() const override { return CreditKinds(); }
  [[nodiscard]] absl::Status Apply(const v1::Event& event,
                                   WriteTxn& txn) override;
  void AfterBatch(bool committed) override;
  [[nodiscard]] absl::Status Resync() override;
};

}  // namespace salesops::forecast
