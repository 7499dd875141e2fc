#pragma once

// Transitions of an opportunity's buying centre (SPEC.md §3.4): the contact
// roles. Pure: the handler reads the opportunity's roles inside its store
// transaction and writes what these decide.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/server/principal.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops::pipeline {

// The request's fields: ids, a BuyingRole, a known Attitude, a weight 0..100.
[[nodiscard]] absl::Status ValidateSetContactRole(
    const v1::SetContactRoleRequest& req);

// INVALID_ARGUMENT unless `contact` (as accounts knows it) belongs to the
// account of `o`.
[[nodiscard]] absl::Status CheckContactAccount(const v1::Contact& contact,
                                               const v1::Opportunity& o);

struct RoleChange {
  v1::ContactRole role;
  // True when the contact had a role on the opportunity before (removed or
  // not): the role is updated under the request's expected version; else it
  // is inserted.
  bool existing = false;
};

// SetContactRole on opportunity `opportunity_id` whose roles (removed ones
// included) are `roles`: the buying centre's weights stay at most 100; a
// removed role comes back; an attitude change is recorded in its history;
// is_core defaults to the role's type.
[[nodiscard]] absl::StatusOr<RoleChange> SetContactRole(
    const std::string& opportunity_id, std::vector<v1::ContactRole> roles,
    const v1::SetContactRoleRequest& req, const Principal& who, absl::Time now);

// RemoveContactRole of `stored` (nullptr: the contact never had a role):
// NOT_FOUND unless it has one; the record stays, marked removed.
[[nodiscard]] absl::StatusOr<v1::ContactRole> RemoveContactRole(
    const v1::ContactRole* stored, const v1::RemoveContactRoleRequest& req);

}  // namespace salesops::pipeline
