#include "services/credit/accounts_follower.h"

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

namespace salesops::credit {
namespace {

constexpr char kAccounts[] = "accounts service";
constexpr char kSource[] = "accounts";
constexpr int64_t kMaxPages = 100'000;  // of 1,000 accounts

}  // namespace

absl::Status ResyncAccounts(const PeerChannel& peer, OrgMirror& org) {
  const absl::Time start = absl::Now();
  auto stub = v1::AccountsService::NewStub(peer.channel());
  std::vector<v1::OrgNode> nodes;
  uint64_t nodes_at = 0, accounts_at = 0;
  int64_t accounts = 0;
  RETURN_IF_ERROR(ListAllOrgNodes(peer, &nodes, &nodes_at));
  RETURN_IF_ERROR(org.ReplaceNodes(nodes, kSource));
  SortedSweep sweep = org.AccountsSweep();
  RETURN_IF_ERROR(
      (ForEachPage<v1::ListAccountsRequest, v1::ListAccountsResponse>(
          peer, kAccounts, {},
          [&](grpc::ClientContext* c, const auto& req, auto* resp) {
            return stub->ListAccounts(c, req, resp);
          },
          [&](v1::ListAccountsResponse& page) {
            accounts += page.accounts_size();
            return org.ReplaceAccountPage(
                sweep, TakeAll(page.mutable_accounts()), kSource);
          },
          &accounts_at, kMaxPages)));
  const uint64_t cursor = std::min(nodes_at, accounts_at);
  RETURN_IF_ERROR(org.FinishAccounts(sweep, kSource, cursor));
  log::Info("credit: accounts resync done, the copy replaced",
            {{"nodes", static_cast<int64_t>(nodes.size())},
             {"accounts", accounts},
             {"cursor", static_cast<int64_t>(cursor)},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  return absl::OkStatus();
}

}  // namespace salesops::credit
