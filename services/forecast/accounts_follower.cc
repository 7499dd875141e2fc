#include "services/forecast/accounts_follower.h"

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

namespace salesops::forecast {
namespace {

constexpr char kAccounts[] = "accounts service";

}  // namespace

absl::Status ResyncAccounts(const PeerChannel& peer, ForecastView& view) {
  const absl::Time start = absl::Now();
  auto stub = v1::AccountsService::NewStub(peer.channel());
  std::vector<v1::OrgNode> nodes;
  std::vector<v1::Quota> quotas;
  uint64_t nodes_at = 0, quotas_at = 0;
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
  RETURN_IF_ERROR(view.ReplaceNodes(nodes));
  const uint64_t cursor = std::min(nodes_at, quotas_at);
  const ForecastView::Cursor at{kAccountsSource, cursor};
  RETURN_IF_ERROR(view.ReplaceQuotas(quotas, &at));
  log::Info("forecast: accounts resync done, the copy replaced",
            {{"nodes", static_cast<int64_t>(nodes.size())},
             {"quotas", static_cast<int64_t>(quotas.size())},
             {"cursor", static_cast<int64_t>(cursor)},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  return absl::OkStatus();
}

}  // namespace salesops::forecast
