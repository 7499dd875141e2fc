#include "services/accounts/handler_support.h"

#include "absl/strings/str_cat.h"
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
  return [&db, &txn, &who](const std::string& node_id,
                           std::string_view what) -> absl::Status {
    if (who.role == Role::kAdmin) {
      return absl::OkStatus();
    }
    if (who.role == Role::kManager && !who.org_node_id.empty()) {
      ASSIGN_OR_RETURN(bool inside,
                       IsWithin(db, txn, node_id, who.org_node_id));
      if (inside) {
        return absl::OkStatus();
      }
    }
    return absl::PermissionDeniedError(absl::StrCat(
        std::string(RoleName(who.role)), " ", who.name, " may not change ",
        std::string(what), " outside the subtree of org node \"",
        who.org_node_id, "\""));
  };
}

absl::Status Claim(WriteTxn& txn, const UniqueIndex& index,
                   std::string_view field, std::string_view what,
                   const KeyChange& change, std::string_view id,
                   std::string_view shown) {
  if (change.old_value == change.new_value) {
    return absl::OkStatus();
  }
  if (!change.new_value.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> holder,
                     index.Lookup(txn, change.new_value));
    if (holder && *holder != id) {
      const std::string value(shown.empty() ? change.new_value : shown);
      return absl::AlreadyExistsError(
          absl::StrCat(std::string(field), ": \"", value, "\" is already ",
                       std::string(what), " ", *holder));
    }
    index.Put(txn, change.new_value, id);
  }
  if (!change.old_value.empty()) {
    index.Delete(txn, change.old_value);
  }
  return absl::OkStatus();
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
