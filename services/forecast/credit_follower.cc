#include "services/forecast/credit_follower.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/resync/list_pages.h"
#include "common/status/status.h"
#include "salesops/v1/credit.grpc.pb.h"

namespace salesops::forecast {
namespace {

constexpr char kCredit[] = "credit service";
constexpr int64_t kMaxPages = 100'000;  // of 1,000 collections

}  // namespace

absl::Status ResyncCredit(const PeerChannel& peer, ForecastView& view) {
  const absl::Time start = absl::Now();
  auto stub = v1::CreditService::NewStub(peer.channel());
  int64_t entities = 0;
  uint64_t cursor = 0;
  SortedSweep collections =
      ForecastView::SweepOf(ForecastView::Copy::kCollections);
  RETURN_IF_ERROR((ForEachPage<v1::ListOpportunityCollectionsRequest,
                               v1::ListOpportunityCollectionsResponse>(
      peer, kCredit, {},
      [&](grpc::ClientContext* c, const auto& req, auto* resp) {
        return stub->ListOpportunityCollections(c, req, resp);
      },
      [&](v1::ListOpportunityCollectionsResponse& page) {
        entities += page.collections_size();
        return view.ReplaceCollectionPage(collections,
                                          TakeAll(page.mutable_collections()));
      },
      &cursor, kMaxPages)));
  const ForecastView::Cursor at{kCreditSource, cursor};
  RETURN_IF_ERROR(
      view.FinishReplace(ForecastView::Copy::kCollections, collections, &at));
  log::Info("forecast: credit resync done, the copy replaced",
            {{"collections", entities},
             {"cursor", static_cast<int64_t>(cursor)},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  return absl::OkStatus();
}

}  // namespace salesops::forecast
