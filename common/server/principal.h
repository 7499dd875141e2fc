#pragma once

// Who is calling (SPEC §8 "Security"): the principal a bearer token maps to,
// with its role and its node in our sales organization. Pure data, no gRPC:
// entity rules (the services' *_rules modules) take a Principal without
// depending on the server.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/store/actor.h"

namespace salesops {

enum class Role { kAdmin, kManager, kRep, kFinance, kService };

// Every role, in declaration order.
inline const std::vector<Role>& AllRoles() {
  static const std::vector<Role> kAll = {
      Role::kAdmin, Role::kManager, Role::kRep, Role::kFinance, Role::kService};
  return kAll;
}

// "ADMIN", "MANAGER", "REP", "FINANCE", "SERVICE".
inline std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "ADMIN";
    case Role::kManager:
      return "MANAGER";
    case Role::kRep:
      return "REP";
    case Role::kFinance:
      return "FINANCE";
    case Role::kService:
      return "SERVICE";
  }
  return "UNKNOWN";
}

struct Principal {
  std::string name;
  Role role;
  // The principal's node in our sales organization; required for MANAGER and
  // REP in a tokens file (their data scope), optional otherwise.
  std::string org_node_id;
};

// The actor of a write made for `who` by the RPC `method` ("MoveStage").
inline Actor ActorFor(const Principal& who, std::string method) {
  return Actor{who.name, std::string(RoleName(who.role)), std::move(method)};
}

}  // namespace salesops
