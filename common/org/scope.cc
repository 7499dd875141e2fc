#include "common/org/scope.h"

#include "absl/strings/str_cat.h"
#include "common/status/errors.h"

namespace salesops {
namespace {

bool Contains(const std::vector<Role>& roles, Role role) {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

}  // namespace

ScopePolicy::ScopePolicy(WithinFn within, std::vector<Role> unscoped_readers,
                         std::vector<Role> unscoped_writers)
    : within_(std::move(within)),
      unscoped_readers_(std::move(unscoped_readers)),
      unscoped_writers_(std::move(unscoped_writers)) {}

bool ScopePolicy::InOwnScope(const Principal& who,
                             const std::string& node) const {
  if (who.org_node_id.empty() || node.empty()) {
    return false;
  }
  switch (who.role) {
    case Role::kManager:
      return within_(node, who.org_node_id);
    case Role::kRep:
      return node == who.org_node_id;
    default:
      return false;
  }
}

bool ScopePolicy::CanRead(const Principal& who, const std::string& node) const {
  return Contains(unscoped_readers_, who.role) || InOwnScope(who, node);
}

bool ScopePolicy::CanWrite(const Principal& who,
                           const std::string& node) const {
  return Contains(unscoped_writers_, who.role) || InOwnScope(who, node);
}

absl::Status ScopePolicy::RequireReader(const Principal& who,
                                        const std::string& node,
                                        std::string_view what) const {
  return CanRead(who, node) ? absl::OkStatus()
                            : Refuse(who, node, "read", what);
}

absl::Status ScopePolicy::RequireWriter(const Principal& who,
                                        const std::string& node,
                                        std::string_view what) const {
  return CanWrite(who, node) ? absl::OkStatus()
                             : Refuse(who, node, "change", what);
}

absl::Status ScopePolicy::Refuse(const Principal& who, const std::string& node,
                                 std::string_view verb,
                                 std::string_view what) const {
  const char* why = who.role == Role::kManager ? " (outside their subtree)"
                    : who.role == Role::kRep   ? " (not their own)"
                                               : "";
  return WithReason(absl::PermissionDeniedError(absl::StrCat(
                        std::string(RoleName(who.role)), " ", who.name,
                        " may not ", std::string(verb), " ", std::string(what),
                        " of org node ", node, why)),
                    "OUT_OF_SCOPE");
}

}  // namespace salesops
