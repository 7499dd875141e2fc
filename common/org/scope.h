#pragma once

// The one role-scope rule of the suite (SPEC §8 "Security"), used by every
// service's handlers:
//
//   - unscoped readers (ADMIN, FINANCE, SERVICE unless a service says
//     otherwise) read every org node's data; unscoped writers (ADMIN) change
//     it;
//   - a MANAGER reads and changes the data of their subtree (their node and
//     every node below it);
//   - a REP reads and changes only the data of their own node;
//   - any other role gets nothing.
//
// "Below" is the caller's tree (OrgMirror::IsWithin, the forecast view's, or
// accounts' own). Refusals are PERMISSION_DENIED in one format:
//   "<ROLE> <name> may not read|change <what> of org node <node>
//    (outside their subtree|not their own)".
// Pure: no gRPC, no RocksDB.

#include <algorithm>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/server/principal.h"

namespace salesops {

// True when `node` is `ancestor` or lies below it.
using WithinFn =
    std::function<bool(const std::string& node, const std::string& ancestor)>;

class ScopePolicy {
 public:
  explicit ScopePolicy(WithinFn within,
                       std::vector<Role> unscoped_readers = {Role::kAdmin,
                                                             Role::kFinance,
                                                             Role::kService},
                       std::vector<Role> unscoped_writers = {Role::kAdmin});

  bool CanRead(const Principal& who, const std::string& node) const;
  bool CanWrite(const Principal& who, const std::string& node) const;

  // OK or PERMISSION_DENIED (format above); `what` names the data
  // ("opportunities", "the forecast").
  [[nodiscard]] absl::Status RequireReader(const Principal& who,
                                           const std::string& node,
                                           std::string_view what) const;
  [[nodiscard]] absl::Status RequireWriter(const Principal& who,
                                           const std::string& node,
                                           std::string_view what) const;

  // Erases from `items` every item whose node_of(item) `who` may not read;
  // keeps the others in order.
  template <typename T, typename NodeOf>
  void FilterVisible(const Principal& who, std::vector<T>* items,
                     NodeOf node_of) const {
    items->erase(std::remove_if(items->begin(), items->end(),
                                [&](const T& item) {
                                  return !CanRead(who, node_of(item));
                                }),
                 items->end());
  }

 private:
  // Within the caller's scope as MANAGER or REP.
  bool InOwnScope(const Principal& who, const std::string& node) const;
  absl::Status Refuse(const Principal& who, const std::string& node,
                      std::string_view verb, std::string_view what) const;

  WithinFn within_;
  std::vector<Role> unscoped_readers_;
  std::vector<Role> unscoped_writers_;
};

}  // namespace salesops
