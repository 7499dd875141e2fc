#pragma once

// Transitions of a contact of an account (SPEC.md §2.2). Pure: the handler
// reads the stored state inside its transaction, calls these, and writes what
// they return.

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/server/principal.h"
#include "salesops/v1/accounts.pb.h"
#include "services/accounts/rules_support.h"

namespace salesops::accounts {

// INVALID_ARGUMENT with every field violation of a create / an update
// (before the transaction).
[[nodiscard]] absl::Status CheckCreateContact(
    const v1::CreateContactRequest& req);
[[nodiscard]] absl::Status CheckUpdateContact(
    const v1::UpdateContactRequest& req);

// The stored records a contact transition reads.
struct ContactReads {
  // The account named by the contact (nullopt when it does not exist).
  std::optional<v1::Account> account;
  // The contact named by reports_to_id (nullopt when absent or not named).
  std::optional<v1::Contact> boss;
};

// A new or changed contact with the external-id index change.
struct ContactChange {
  v1::Contact contact;
  KeyChange external_id;
};

// Creates `in` as contact `id` at `now`. INVALID_ARGUMENT when the account or
// the boss does not exist or the boss belongs to another account; the scope's
// PERMISSION_DENIED for contacts of the account's owner node (a REP writes
// contacts of the accounts their own node owns).
[[nodiscard]] absl::StatusOr<ContactChange> CreateContact(
    const v1::Contact& in, const ContactReads& reads,
    const RequireWriterFn& scope, const std::string& id, absl::Time now);

// A contact's manager id, "" for none, nullopt for an unknown contact.
using ReportsToFn =
    std::function<std::optional<std::string>(const std::string& contact_id)>;

// Changes `stored` to `in` at `now`. reads.account is the stored contact's
// account (required); reads.boss the contact named by a changed reports_to_id.
// INVALID_ARGUMENT when the account would change, the boss is unknown or of
// another account, or the change makes a reports-to cycle.
[[nodiscard]] absl::StatusOr<ContactChange> UpdateContact(
    const v1::Contact& stored, const v1::Contact& in, const ContactReads& reads,
    const ReportsToFn& reports_to, const RequireWriterFn& scope,
    absl::Time now);

}  // namespace salesops::accounts
