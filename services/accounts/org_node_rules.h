#pragma once

// Transitions of a node of our sales organization (SPEC.md §2.3). Pure: the
// handler reads the stored state inside its transaction, calls these, and
// writes what they return.

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/fieldmask/field_mask.h"
#include "common/server/principal.h"
#include "salesops/v1/accounts.pb.h"
#include "services/accounts/rules_support.h"

namespace salesops::accounts {

// INVALID_ARGUMENT with every field violation (before the transaction); for
// an update: node.id required and the update_mask's bad paths.
[[nodiscard]] absl::Status CheckCreateOrgNode(
    const v1::CreateOrgNodeRequest& req);
[[nodiscard]] absl::Status CheckUpdateOrgNode(
    const v1::UpdateOrgNodeRequest& req);

// The update_mask rules of an org node (field_mask.h): name,
// manager_principal and external_id are writable; parent_id (MoveOrgNode)
// and kind are immutable; id, times and version are output only.
const fieldmask::EntityRules& OrgNodeUpdateRules();

// `stored` with the fields req.update_mask names (or implies) taken from
// req.node (field_mask.h). INVALID_ARGUMENT when req.node sets a kind or
// parent_id other than the stored one, for the mask's bad paths, and when
// the merged name is blank.
[[nodiscard]] absl::StatusOr<v1::OrgNode> MergeOrgNodeUpdate(
    const v1::OrgNode& stored, const v1::UpdateOrgNodeRequest& req);
[[nodiscard]] absl::Status CheckMoveOrgNode(const v1::MoveOrgNodeRequest& req);

// A new, changed or moved node with its index changes.
struct OrgNodeChange {
  v1::OrgNode node;
  KeyChange external_id;
  KeyChange parent;      // nodes_by_parent ("" = the root)
  bool is_root = false;  // a new root: the caller records it as the root
};

// Creates `in` as node `id` at `now`. `root_id` is the stored root's id
// (nullopt before the first node), `parent` the stored node named by
// in.parent_id (nullopt when absent or not named). The first node is the
// GLOBAL root, created by an ADMIN; every other node has a parent that is not
// a REP node, inside the caller's scope.
[[nodiscard]] absl::StatusOr<OrgNodeChange> CreateOrgNode(
    const v1::OrgNode& in, const std::optional<std::string>& root_id,
    const std::optional<v1::OrgNode>& parent, const Principal& who,
    const RequireWriterFn& scope, const std::string& id, absl::Time now);

// Renames `stored` (name, manager_principal, external_id from `in`, the
// merged node) at `now`; kind and parent cannot change here.
[[nodiscard]] absl::StatusOr<OrgNodeChange> UpdateOrgNode(
    const v1::OrgNode& stored, const v1::OrgNode& in,
    const RequireWriterFn& scope, absl::Time now);

// A node's parent id, "" for the root, nullopt for an unknown node.
using ParentOfFn =
    std::function<std::optional<std::string>(const std::string& node_id)>;

// Moves `stored` under `new_parent` (the stored node named by new_parent_id,
// nullopt when absent) at `now`: not the root, not into its own subtree, not
// under a REP node, from and to inside the caller's scope.
[[nodiscard]] absl::StatusOr<OrgNodeChange> MoveOrgNode(
    const v1::OrgNode& stored, const std::string& new_parent_id,
    const std::optional<v1::OrgNode>& new_parent, const ParentOfFn& parent_of,
    const RequireWriterFn& scope, absl::Time now);

}  // namespace salesops::accounts
