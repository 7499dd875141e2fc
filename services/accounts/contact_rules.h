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
#include "common/fieldmask/field_mask.h"
#include "common/server/principal.h"
#include "salesops/v1/accounts.pb.h"
#include "services/accounts/rules_support.h"

namespace salesops::accounts {

// INVALID_ARGUMENT with every field violation of a create (before the
// transaction).
[[nodiscard]] absl::Status CheckCreateContact(
    const v1::CreateContactRequest& req);

// The update_mask rules of a contact (field_mask.h): account_id is
// immutable; id, times and version are output only; the rest is writable.
const fieldmask::EntityRules& ContactUpdateRules();

// INVALID_ARGUMENT with every violation an update shows before anything is
// read: contact.id required, the update_mask's bad paths.
[[nodiscard]] absl::Status CheckUpdateContact(
    const v1::UpdateContactRequest& req);

// `stored` with the fields req.update_mask names (or implies) taken from
// req.contact (field_mask.h). INVALID_ARGUMENT when req.contact.account_id
// is set and differs from the stored one, for the mask's bad paths and for
// every field rule the merged contact breaks (status must stay ACTIVE or
// LEFT).
[[nodiscard]] absl::StatusOr<v1::Contact> MergeContactUpdate(
    const v1::Contact& stored, const v1::UpdateContactRequest& req);

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
