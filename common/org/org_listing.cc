#include "common/org/org_listing.h"

#include "common/resync/list_pages.h"
#include "salesops/v1/accounts.grpc.pb.h"

namespace salesops {

absl::Status ListAllOrgNodes(const PeerChannel& peer,
                             std::vector<v1::OrgNode>* nodes,
                             uint64_t* first_sequence) {
  auto stub = v1::AccountsService::NewStub(peer.channel());
  return CollectAll<v1::ListOrgNodesRequest, v1::ListOrgNodesResponse>(
      peer, "accounts service",
      [&](grpc::ClientContext* c, const auto& req, auto* resp) {
        return stub->ListOrgNodes(c, req, resp);
      },
      [](v1::ListOrgNodesResponse& page) { return page.mutable_nodes(); },
      nodes, first_sequence);
}

}  // namespace salesops
