#include "services/forecast/pipeline_follower.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/resync/list_pages.h"
#include "common/status/status.h"
#include "salesops/v1/pipeline.grpc.pb.h"

namespace salesops::forecast {
namespace {

constexpr char kPipeline[] = "pipeline service";
// 1,000 per page: up to 100M opportunities or history entries.
constexpr int64_t kMaxPages = 100'000;

}  // namespace

absl::Status ResyncPipeline(const PeerChannel& peer, ForecastView& view) {
  const absl::Time start = absl::Now();
  auto stub = v1::PipelineService::NewStub(peer.channel());
  int64_t entities = 0;
  std::vector<v1::StageModel> models;
  uint64_t models_at = 0, opportunities_at = 0, changes_at = 0;
  RETURN_IF_ERROR(
      (CollectAll<v1::ListStageModelsRequest, v1::ListStageModelsResponse>(
          peer, kPipeline,
          [&](grpc::ClientContext* c, const auto& req, auto* resp) {
            return stub->ListStageModels(c, req, resp);
          },
          [](v1::ListStageModelsResponse& page) {
            return page.mutable_models();
          },
          &models, &models_at)));
  RETURN_IF_ERROR(view.ReplaceModels(models));
  entities += static_cast<int64_t>(models.size());

  SortedSweep opportunities =
      ForecastView::SweepOf(ForecastView::Copy::kOpportunities);
  RETURN_IF_ERROR(
      (ForEachPage<v1::ListOpportunitiesRequest, v1::ListOpportunitiesResponse>(
          peer, kPipeline, {},
          [&](grpc::ClientContext* c, const auto& req, auto* resp) {
            return stub->ListOpportunities(c, req, resp);
          },
          [&](v1::ListOpportunitiesResponse& page) {
            entities += page.opportunities_size();
            return view.ReplaceOpportunityPage(
                opportunities, TakeAll(page.mutable_opportunities()));
          },
          &opportunities_at, kMaxPages)));
  RETURN_IF_ERROR(
      view.FinishReplace(ForecastView::Copy::kOpportunities, opportunities));

  SortedSweep changes = ForecastView::SweepOf(ForecastView::Copy::kChanges);
  RETURN_IF_ERROR((ForEachPage<v1::ListOpportunityChangesRequest,
                               v1::ListOpportunityChangesResponse>(
      peer, kPipeline, {},
      [&](grpc::ClientContext* c, const auto& req, auto* resp) {
        return stub->ListOpportunityChanges(c, req, resp);
      },
      [&](v1::ListOpportunityChangesResponse& page) {
        entities += page.changes_size();
        return view.ReplaceChangePage(changes, TakeAll(page.mutable_changes()));
      },
      &changes_at, kMaxPages)));
  const uint64_t cursor = std::min({models_at, opportunities_at, changes_at});
  const ForecastView::Cursor at{kPipelineSource, cursor};
  RETURN_IF_ERROR(
      view.FinishReplace(ForecastView::Copy::kChanges, changes, &at));
  log::Info("forecast: pipeline resync done, the copy replaced",
            {{"entities", entities},
             {"cursor", static_cast<int64_t>(cursor)},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  return absl::OkStatus();
}

}  // namespace salesops::forecast
