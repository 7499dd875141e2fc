#pragma once

// Store-side helpers the accounts handlers share: the scope rule over the
// stored org tree, unique-index claims, stored-tree lookups. No gRPC.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "common/server/principal.h"
#include "common/store/store.h"
#include "common/store/table.h"
#include "services/accounts/accounts_store.h"
#include "services/accounts/rules_support.h"

namespace salesops::accounts::handlers {

// The suite's scope rule (ScopePolicy, SPEC §8) for writes of `who` over the
// org tree as `txn` sees it: ADMIN anywhere, MANAGER inside the subtree of
// their own node, REP at their own node. `db`, `txn` and `who` outlive it.
RequireWriterFn WriterScope(const AccountsStore& db, WriteTxn& txn,
                            const Principal& who);

// Claims change.new_value for `id` in `index` (UniqueIndex::Claim); `shown`
// is the value named in an ALREADY_EXISTS (default: new_value).
[[nodiscard]] inline absl::Status Claim(WriteTxn& txn, const UniqueIndex& index,
                                        std::string_view field,
                                        const KeyChange& change,
                                        std::string_view id,
                                        std::string_view shown = {}) {
  return index.Claim(txn, field, change.old_value, change.new_value, id, shown);
}

// Moves `id` in `index` from change.old_value to change.new_value (no-op when
// equal).
void Move(WriteTxn& txn, const MultiIndex& index, const KeyChange& change,
          std::string_view id);

// The stored org node `id`; nullopt when `id` is empty or unknown.
[[nodiscard]] absl::StatusOr<std::optional<v1::OrgNode>> FindNode(
    const AccountsStore& db, WriteTxn& txn, const std::string& id);

}  // namespace salesops::accounts::handlers
