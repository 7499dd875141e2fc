#include "services/accounts/org_node_rules.h"

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "common/status/violations.h"
#include "common/time/clock.h"
#include "services/accounts/org_tree.h"

namespace salesops::accounts {
namespace {

// Kind and parent do not change with an update: `in` may leave them unset
// or repeat them.
absl::Status CheckFixedNodeFields(const v1::OrgNode& stored,
                                  const v1::OrgNode& in) {
  if (in.kind() != v1::ORG_NODE_KIND_UNSPECIFIED &&
      in.kind() != stored.kind()) {
    return absl::InvalidArgumentError(
        "node.kind: cannot change; create a node of the new kind");
  }
  if (!in.parent_id().empty() && in.parent_id() != stored.parent_id()) {
    return absl::InvalidArgumentError(
        "node.parent_id: change it with MoveOrgNode");
  }
  return absl::OkStatus();
}

absl::Status CheckRoot(const v1::OrgNode& in,
                       const std::optional<std::string>& root_id,
                       const Principal& who) {
  if (root_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("node.parent_id: required: the organization already "
                     "has its root, org node ",
                     *root_id));
  }
  if (in.kind() != v1::ORG_NODE_KIND_GLOBAL) {
    return absl::InvalidArgumentError(
        "node.kind: the root of the organization must be GLOBAL");
  }
  if (who.role != Role::kAdmin) {
    return absl::PermissionDeniedError(
        "only an ADMIN creates the root org node");
  }
  return absl::OkStatus();
}

absl::Status CheckChild(const v1::OrgNode& in,
                        const std::optional<v1::OrgNode>& parent,
                        const RequireWriterFn& scope) {
  if (!parent) {
    return absl::InvalidArgumentError(absl::StrCat(
        "node.parent_id: org node ", in.parent_id(), " not found"));
  }
  if (parent->kind() == v1::ORG_NODE_KIND_REP) {
    return absl::FailedPreconditionError(
        absl::StrCat("node.parent_id: ", in.parent_id(),
                     " is a REP node; REP nodes have no children"));
  }
  if (in.kind() == v1::ORG_NODE_KIND_GLOBAL) {
    return absl::InvalidArgumentError("node.kind: GLOBAL is only the root");
  }
  return scope(in.parent_id(), "org nodes");
}

}  // namespace

absl::Status CheckCreateOrgNode(const v1::CreateOrgNodeRequest& req) {
  const v1::OrgNode& in = req.node();
  Violations v;
  if (Blank(in.name())) {
    v.Add("node.name: required");
  }
  if (in.kind() == v1::ORG_NODE_KIND_UNSPECIFIED ||
      !v1::OrgNodeKind_IsValid(in.kind())) {
    v.Add("node.kind: required (GLOBAL, REGION, AREA, TEAM or REP)");
  }
  return v.status();
}

absl::Status CheckUpdateOrgNode(const v1::UpdateOrgNodeRequest& req) {
  Violations v;
  if (req.node().id().empty()) {
    v.Add("node.id: required");
  }
  v.Add(fieldmask::Resolve(req.update_mask(), req.node(), OrgNodeUpdateRules())
            .status());
  return v.status();
}

const fieldmask::EntityRules& OrgNodeUpdateRules() {
  static const fieldmask::EntityRules* rules =
      new fieldmask::EntityRules{{"name", "manager_principal", "external_id"},
                                 {{"parent_id", "change it with MoveOrgNode"},
                                  {"kind", "create a node of the new kind"}}};
  return *rules;
}

absl::StatusOr<v1::OrgNode> MergeOrgNodeUpdate(
    const v1::OrgNode& stored, const v1::UpdateOrgNodeRequest& req) {
  RETURN_IF_ERROR(CheckFixedNodeFields(stored, req.node()));
  ASSIGN_OR_RETURN(v1::OrgNode merged,
                   fieldmask::Merge(stored, req.node(), req.update_mask(),
                                    OrgNodeUpdateRules()));
  if (Blank(merged.name())) {
    return InvalidFields({{"node.name", "required"}});
  }
  return merged;
}

absl::Status CheckMoveOrgNode(const v1::MoveOrgNodeRequest& req) {
  Violations v;
  if (req.id().empty()) {
    v.Add("id: required");
  }
  if (req.new_parent_id().empty()) {
    v.Add("new_parent_id: required");
  }
  return v.status();
}

absl::StatusOr<OrgNodeChange> CreateOrgNode(
    const v1::OrgNode& in, const std::optional<std::string>& root_id,
    const std::optional<v1::OrgNode>& parent, const Principal& who,
    const RequireWriterFn& scope, const std::string& id, absl::Time now) {
  RETURN_IF_ERROR(in.parent_id().empty() ? CheckRoot(in, root_id, who)
                                         : CheckChild(in, parent, scope));
  OrgNodeChange change;
  v1::OrgNode& n = change.node;
  n = in;
  n.set_id(id);
  n.set_name(Trimmed(n.name()));
  n.set_created_micros(Micros(now));
  n.set_updated_micros(n.created_micros());
  change.external_id.new_value = n.external_id();
  change.parent.new_value = n.parent_id();
  change.is_root = n.parent_id().empty();
  return change;
}

absl::StatusOr<OrgNodeChange> UpdateOrgNode(const v1::OrgNode& stored,
                                            const v1::OrgNode& in,
                                            const RequireWriterFn& scope,
                                            absl::Time now) {
  RETURN_IF_ERROR(scope(stored.id(), "org nodes"));
  RETURN_IF_ERROR(CheckFixedNodeFields(stored, in));
  OrgNodeChange change;
  v1::OrgNode& n = change.node;
  n = stored;
  n.set_name(Trimmed(in.name()));
  n.set_manager_principal(in.manager_principal());
  n.set_external_id(in.external_id());
  n.set_updated_micros(Micros(now));
  change.external_id = {stored.external_id(), in.external_id()};
  change.parent = {stored.parent_id(), stored.parent_id()};
  return change;
}

absl::StatusOr<OrgNodeChange> MoveOrgNode(
    const v1::OrgNode& stored, const std::string& new_parent_id,
    const std::optional<v1::OrgNode>& new_parent, const ParentOfFn& parent_of,
    const RequireWriterFn& scope, absl::Time now) {
  if (stored.parent_id().empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("id: ", stored.id(),
                     " is the root of the organization; it has no parent to "
                     "move under"));
  }
  if (!new_parent) {
    return absl::InvalidArgumentError(
        absl::StrCat("new_parent_id: org node ", new_parent_id, " not found"));
  }
  // A cycle is wrong whatever the parent's kind: checked first.
  RETURN_IF_ERROR(
      CheckNoCycle(parent_of, stored.id(), new_parent_id, "new_parent_id"));
  if (new_parent->kind() == v1::ORG_NODE_KIND_REP) {
    return absl::FailedPreconditionError(
        absl::StrCat("new_parent_id: ", new_parent->id(),
                     " is a REP node; REP nodes have no children"));
  }
  // A MANAGER moves nodes within their subtree only: from and to.
  RETURN_IF_ERROR(scope(stored.id(), "org nodes"));
  RETURN_IF_ERROR(scope(new_parent_id, "org nodes"));
  OrgNodeChange change;
  change.node = stored;
  change.node.set_parent_id(new_parent_id);
  change.node.set_updated_micros(Micros(now));
  change.external_id = {stored.external_id(), stored.external_id()};
  change.parent = {stored.parent_id(), new_parent_id};
  return change;
}

}  // namespace salesops::accounts
