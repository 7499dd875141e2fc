#pragma once

// What the accounts transition modules (account_rules, contact_rules,
// org_node_rules, quota_rules) share. Pure: no gRPC, no store.

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/server/auth.h"

namespace salesops::accounts {

// OK when the caller may change `what` ("accounts", "org nodes", ...) at org
// node `node`; PERMISSION_DENIED otherwise. The handler builds it over the
// stored tree inside its transaction (the scope policy, SPEC §8).
using RequireWriterFn =
    std::function<absl::Status(const std::string& node, std::string_view what)>;

// One value of a unique index before and after a transition ("" = none).
// The handler claims it: no-op when equal, ALREADY_EXISTS when another id
// holds new_value.
struct KeyChange {
  std::string old_value;
  std::string new_value;
};

}  // namespace salesops::accounts
