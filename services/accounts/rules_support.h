#pragma once

// What the accounts transition modules (account_rules, contact_rules,
// org_node_rules, quota_rules) share. Pure: no gRPC, no store.

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/server/principal.h"

namespace salesops::accounts {

// OK when the caller may change `what` ("accounts", "org nodes", ...) at org
// node `node`; PERMISSION_DENIED otherwise: the suite's ScopePolicy
// (common/org/scope.h) bound to the caller, over the stored tree as the
// handler's transaction sees it (handler_support.h WriterScope).
using RequireWriterFn =
    std::function<absl::Status(const std::string& node, std::string_view what)>;

// One value of an index before and after a transition ("" = none). The
// handler claims it (UniqueIndex::Claim: no-op when equal, ALREADY_EXISTS
// when another id holds new_value) or moves the id (MultiIndex).
struct KeyChange {
  std::string old_value;
  std::string new_value;
};

}  // namespace salesops::accounts
