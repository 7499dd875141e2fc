#include "services/accounts/handler_support.h"

#include <memory>

#include "common/org/scope.h"
#include "common/status/status.h"

namespace salesops::accounts::handlers {
namespace {

// The longest parent chain walked before data is declared corrupt.
constexpr int kMaxDepth = 10'000;

// True when `node_id` is `ancestor_id` or below it.
absl::StatusOr<bool> IsWithin(const AccountsStore& db, WriteTxn& txn,
                              std::string node_id,
                              const std::string& ancestor_id) {
  for (int depth = 0; depth < kMaxDepth && !node_id.empty(); ++depth) {
    if (node_id == ancestor_id) {
      return true;
    }
    ASSIGN_OR_RETURN(std::optional<v1::OrgNode> node,
                     db.nodes.Find(txn, node_id));
    if (!node) {
      return false;
    }
    node_id = node->parent_id();
  }
  if (!node_id.empty()) {
    return absl::FailedPreconditionError(
        "org tree: deeper than 10000 levels or corrupt");
  }
  return false;
}

}  // namespace

RequireWriterFn WriterScope(const AccountsStore& db, WriteTxn& txn,
                            const Principal& who) {
  auto policy = std::make_shared<const ScopePolicy>(
      [&db, &txn](const std::string& node, const std::string& ancestor) {
        absl::StatusOr<bool> inside = IsWithin(db, txn, node, ancestor);
        return inside.ok() && *inside;
      });
  return [policy, &who](const std::string& node, std::string_view what) {
    return policy->RequireWriter(who, node, what);
  };
}

void Move(WriteTxn& txn, const MultiIndex& index, const KeyChange& change,
          std::string_view id) {
  if (change.old_value == change.new_value) {
    return;
  }
  index.Delete(txn, change.old_value, id);
  index.Put(txn, change.new_value, id);
}

absl::StatusOr<std::optional<v1::OrgNode>> FindNode(const AccountsStore& db,
                                                    WriteTxn& txn,
                                                    const std::string& id) {
  if (id.empty()) {
    return std::nullopt;
  }
  return db.nodes.Find(txn, id);
}

}  // namespace salesops::accounts::handlers
