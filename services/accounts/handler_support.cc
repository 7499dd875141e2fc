#include "services/accounts/handler_support.h"

#include <memory>

#include "common/org/scope.h"
#include "common/status/status.h"

namespace salesops::accounts::handlers {
namespace {

// The longest parent chain walked: deeper means corrupt data, which is
// outside every subtree.
constexpr int kMaxDepth = 10'000;

// True when `node_id` is `ancestor_id` or below it in the tree as `txn` sees
// it; false for an unknown node, a read error or a corrupt chain.
bool IsWithin(const AccountsStore& db, WriteTxn& txn, std::string node_id,
              const std::string& ancestor_id) {
  for (int depth = 0; depth < kMaxDepth && !node_id.empty(); ++depth) {
    if (node_id == ancestor_id) {
      return true;
    }
    absl::StatusOr<std::optional<v1::OrgNode>> node =
        db.nodes.Find(txn, node_id);
    if (!node.ok() || !node->has_value()) {
      return false;
    }
    node_id = (*node)->parent_id();
  }
  return false;
}

}  // namespace

RequireWriterFn WriterScope(const AccountsStore& db, WriteTxn& txn,
                            const Principal& who) {
  auto policy = std::make_shared<const ScopePolicy>(
      [&db, &txn](const std::string& node, const std::string& ancestor) {
        return IsWithin(db, txn, node, ancestor);
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
