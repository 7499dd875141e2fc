#pragma once

// The whole sales org tree as the accounts service lists it, for a
// follower's resync (OrgMirror::ReplaceNodes, forecast's tree replacement).

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "common/server/peer.h"
#include "salesops/v1/accounts.pb.h"

namespace salesops {

// Every org node of the accounts service at `peer`, page by page
// (ListOrgNodes with no parent: all of them), and in `*first_sequence` the
// feed sequence of the first page, where the follower resumes its Watch.
// UNAVAILABLE when accounts cannot be reached (ForEachPage's rules).
[[nodiscard]] absl::Status ListAllOrgNodes(const PeerChannel& peer,
                                           std::vector<v1::OrgNode>* nodes,
                                           uint64_t* first_sequence);

}  // namespace salesops
