#pragma once

// Helpers of the plain-gtest transition tests (*_rules_test.cc): principals,
// a scope that allows a set of org nodes, status matchers. No gRPC.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/org/scope.h"
#include "common/server/principal.h"
#include "common/time/clock.h"
#include "services/accounts/rules_support.h"

namespace salesops::accounts::rules_testing {

inline const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

inline Principal Admin() { return {"admin", Role::kAdmin, ""}; }
inline Principal Manager(std::string node) {
  return {"manager", Role::kManager, std::move(node)};
}
inline Principal Rep(std::string node) {
  return {"rep", Role::kRep, std::move(node)};
}

// A scope that allows writes at `allowed` nodes only and records every node
// it was asked about.
class FakeScope {
 public:
  explicit FakeScope(std::set<std::string> allowed = {}, bool allow_all = false)
      : allowed_(std::move(allowed)), allow_all_(allow_all) {}
  static FakeScope All() { return FakeScope({}, true); }

  RequireWriterFn fn() {
    return [this](const std::string& node, std::string_view what) {
      asked_.push_back(node);
      if (allow_all_ || allowed_.count(node) > 0) {
        return absl::OkStatus();
      }
      return absl::PermissionDeniedError(
          absl::StrCat("may not change ", std::string(what), " at ", node));
    };
  }
  const std::vector<std::string>& asked() const { return asked_; }

 private:
  std::set<std::string> allowed_;
  bool allow_all_;
  std::vector<std::string> asked_;
};

// The suite's ScopePolicy for `who` over a tree given as child → parent.
inline RequireWriterFn PolicyScope(
    const Principal& who, std::map<std::string, std::string> parent_of) {
  auto policy = std::make_shared<const ScopePolicy>(
      [parent_of = std::move(parent_of)](const std::string& node,
                                         const std::string& ancestor) {
        std::string at = node;
        for (int depth = 0; depth < 100 && !at.empty(); ++depth) {
          if (at == ancestor) return true;
          auto it = parent_of.find(at);
          at = it == parent_of.end() ? "" : it->second;
        }
        return false;
      });
  return [policy, who](const std::string& node, std::string_view what) {
    return policy->RequireWriter(who, node, what);
  };
}

// The status has `code` and its message contains `part`.
inline ::testing::AssertionResult HasError(const absl::Status& s,
                                           absl::StatusCode code,
                                           std::string_view part = "") {
  const std::string message(s.message());
  if (s.code() == code && message.find(part) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got " << s << ", want code " << absl::StatusCodeToString(code)
         << " with \"" << part << "\"";
}

}  // namespace salesops::accounts::rules_testing
