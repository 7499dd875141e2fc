#include "services/forecast/followers.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/org/org_listing.h"
#include "common/resync/list_pages.h"
#include "common/status/status.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"

namespace salesops::forecast {
namespace {

constexpr char kAccounts[] = "accounts service";
constexpr char kPipeline[] = "pipeline service";
// 1,000 per page: up to 100M opportunities, history entries or collections.
constexpr int64_t kMaxPages = 100'000;
constexpr char kCredit[] = "credit service";

}  // namespace

// ---------------------------------------------------------------------------
// forecast ← accounts

absl::Status AccountsFollower::Resync() {
  const PeerChannel& peer = *peer_;
  ForecastView& view = *view_;
  const absl::Time start = absl::Now();
  auto stub = v1::AccountsService::NewStub(peer.channel());
  std::vector<v1::OrgNode> nodes;
  std::vector<v1::Quota> quotas;
  std::vector<v1::ExchangeRate> rates;
  uint64_t nodes_at = 0, quotas_at = 0, rates_at = 0;
  RETURN_IF_ERROR(ListAllOrgNodes(peer, &nodes, &nodes_at));
  RETURN_IF_ERROR((ForEachPage<v1::ListQuotasRequest, v1::ListQuotasResponse>(
      peer, kAccounts, {},
      [&](grpc::ClientContext* c, const auto& req, auto* resp) {
        return stub->ListQuotas(c, req, resp);
      },
      [&](v1::ListQuotasResponse& page) {
        for (v1::Quota& q : TakeAll(page.mutable_quotas())) {
          quotas.push_back(std::move(q));
        }
        return absl::OkStatus();
      },
      &quotas_at)));
  RETURN_IF_ERROR(
      (ForEachPage<v1::ListExchangeRatesRequest, v1::ListExchangeRatesResponse>(
          peer, kAccounts, {},
          [&](grpc::ClientContext* c, const auto& req, auto* resp) {
            return stub->ListExchangeRates(c, req, resp);
          },
          [&](v1::ListExchangeRatesResponse& page) {
            for (v1::ExchangeRate& r : TakeAll(page.mutable_rates())) {
              rates.push_back(std::move(r));
            }
            return absl::OkStatus();
          },
          &rates_at)));
  RETURN_IF_ERROR(view.ReplaceNodes(nodes));
  // Rates before quotas: the quotas are then priced at the new rates.
  RETURN_IF_ERROR(view.ReplaceRates(rates));
  const uint64_t cursor = std::min({nodes_at, quotas_at, rates_at});
  const ForecastView::Cursor at{kAccountsSource, cursor};
  RETURN_IF_ERROR(view.ReplaceQuotas(quotas, &at));
  log::Info("forecast: accounts resync done, the copy replaced",
            {{"nodes", static_cast<int64_t>(nodes.size())},
             {"quotas", static_cast<int64_t>(quotas.size())},
             {"rates", static_cast<int64_t>(rates.size())},
             {"cursor", static_cast<int64_t>(cursor)},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// forecast ← pipeline

absl::Status PipelineFollower::Resync() {
  const PeerChannel& peer = *peer_;
  ForecastView& view = *view_;
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

// ---------------------------------------------------------------------------
// forecast ← credit

absl::Status CreditFollower::Resync() {
  const PeerChannel& peer = *peer_;
  ForecastView& view = *view_;
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
