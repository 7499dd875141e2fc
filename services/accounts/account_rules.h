#pragma once

// Transitions of an account (SPEC.md §2.1). Pure: the handler reads the stored
// state inside its transaction, calls these, and writes what they return.

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/fieldmask/field_mask.h"
#include "common/server/principal.h"
#include "salesops/v1/accounts.pb.h"
#include "services/accounts/rules_support.h"

namespace salesops::accounts {

// The account-name index key: names compare case-insensitively after
// trimming ("  Acme " == "ACME").
std::string NormalizeAccountName(std::string_view name);

// The key-account segment of a potential / share-of-wallet pair;
// UNSPECIFIED unless both are set.
v1::AccountSegment SegmentFor(v1::Level potential, v1::Level share);

// INVALID_ARGUMENT with every field violation of a create (before the
// transaction): field rules, and a MANAGER must name an owner node.
[[nodiscard]] absl::Status CheckCreateAccount(
    const v1::CreateAccountRequest& req, const Principal& who);
// The update_mask rules of an account (field_mask.h): every field but id,
// segment (derived), times and version is writable; none is immutable.
const fieldmask::EntityRules& AccountUpdateRules();

// INVALID_ARGUMENT with every violation an update shows before anything is
// read: account.id required, the update_mask's bad paths.
[[nodiscard]] absl::Status CheckUpdateAccount(
    const v1::UpdateAccountRequest& req);

// `stored` with the fields req.update_mask names (or implies) taken from
// req.account (field_mask.h), or INVALID_ARGUMENT with every field violation
// of the mask and of the merged account (the field rules of a create).
[[nodiscard]] absl::StatusOr<v1::Account> MergeAccountUpdate(
    const v1::Account& stored, const v1::UpdateAccountRequest& req);

// A new or changed account with the index values it moves.
struct AccountChange {
  v1::Account account;
  KeyChange name;  // AccountsStore::NormalizeName of the names
  KeyChange external_id;
  KeyChange owner;  // accounts_by_owner
};

// Creates `in` as account `id` at `now`. `owner` is the stored org node named
// by in.owner_node_id (nullopt when absent). INVALID_ARGUMENT
// "account.owner_node_id: org node X not found"; the scope's
// PERMISSION_DENIED.
[[nodiscard]] absl::StatusOr<AccountChange> CreateAccount(
    const v1::Account& in, const std::optional<v1::OrgNode>& owner,
    const RequireWriterFn& scope, const std::string& id, absl::Time now);

// Changes `stored` to `in` at `now`. The caller may change accounts owned at
// the old and at the new owner node; `new_owner` is the stored node named by
// in.owner_node_id (nullopt when absent or unchanged).
[[nodiscard]] absl::StatusOr<AccountChange> UpdateAccount(
    const v1::Account& stored, const v1::Account& in,
    const std::optional<v1::OrgNode>& new_owner, const RequireWriterFn& scope,
    absl::Time now);

// Sets the tier of `stored` (ClassifyAccounts with apply). nullopt when the
// tier is already `tier`; the scope's PERMISSION_DENIED.
[[nodiscard]] absl::StatusOr<std::optional<v1::Account>> ReTier(
    const v1::Account& stored, v1::AccountTier tier,
    const RequireWriterFn& scope, absl::Time now);

}  // namespace salesops::accounts
