#include "common/org/scope.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace salesops {
namespace {

// global ← emea ← team1 ← rep1; global ← apac.
bool Within(const std::string& node, const std::string& ancestor) {
  static const std::map<std::string, std::string> kParent = {
      {"emea", "global"},
      {"team1", "emea"},
      {"rep1", "team1"},
      {"apac", "global"}};
  for (std::string n = node;;) {
    if (n == ancestor) return true;
    auto it = kParent.find(n);
    if (it == kParent.end()) return false;
    n = it->second;
  }
}

const Principal kAdmin{"ada", Role::kAdmin, ""};
const Principal kFinance{"fin", Role::kFinance, ""};
const Principal kService{"svc", Role::kService, ""};
const Principal kManager{"max", Role::kManager, "emea"};
const Principal kRep{"rhea", Role::kRep, "rep1"};
const Principal kRepWithoutNode{"nobody", Role::kRep, ""};

TEST(ScopePolicyTest, ReadersBySpecRule) {
  ScopePolicy scope(Within);
  for (const Principal& p : {kAdmin, kFinance, kService}) {
    EXPECT_TRUE(scope.CanRead(p, "apac")) << p.name;
  }
  EXPECT_TRUE(scope.CanRead(kManager, "emea"));
  EXPECT_TRUE(scope.CanRead(kManager, "rep1"));
  EXPECT_FALSE(scope.CanRead(kManager, "apac"));
  EXPECT_FALSE(scope.CanRead(kManager, "global"));
  EXPECT_TRUE(scope.CanRead(kRep, "rep1"));
  EXPECT_FALSE(scope.CanRead(kRep, "team1"));
  EXPECT_FALSE(scope.CanRead(kRepWithoutNode, ""));
}

TEST(ScopePolicyTest, WritersBySpecRule) {
  ScopePolicy scope(Within);
  EXPECT_TRUE(scope.CanWrite(kAdmin, "apac"));
  EXPECT_FALSE(scope.CanWrite(kFinance, "apac"));
  EXPECT_FALSE(scope.CanWrite(kService, "apac"));
  EXPECT_TRUE(scope.CanWrite(kManager, "team1"));
  EXPECT_FALSE(scope.CanWrite(kManager, "apac"));
  EXPECT_TRUE(scope.CanWrite(kRep, "rep1"));
  EXPECT_FALSE(scope.CanWrite(kRep, "team1"));
}

TEST(ScopePolicyTest, ServiceMayChooseItsUnscopedRoles) {
  ScopePolicy credit(Within, {Role::kAdmin, Role::kFinance},
                     {Role::kAdmin, Role::kFinance});
  EXPECT_TRUE(credit.CanWrite(kFinance, "apac"));
  EXPECT_FALSE(credit.CanRead(kService, "apac"));
}

TEST(ScopePolicyTest, RefusalsHaveOneFormat) {
  ScopePolicy scope(Within);
  absl::Status s = scope.RequireWriter(kManager, "apac", "opportunities");
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "MANAGER max may not change opportunities of org node apac "
            "(outside their subtree)");
  s = scope.RequireReader(kRep, "team1", "the forecast");
  EXPECT_EQ(s.message(),
            "REP rhea may not read the forecast of org node team1 (not their "
            "own)");
  EXPECT_TRUE(scope.RequireReader(kRep, "rep1", "the forecast").ok());
}

TEST(ScopePolicyTest, FilterVisibleKeepsOrder) {
  ScopePolicy scope(Within);
  std::vector<std::string> owners = {"rep1", "apac", "team1", "emea", "apac"};
  scope.FilterVisible(kManager, &owners,
                      [](const std::string& o) { return o; });
  EXPECT_EQ(owners, (std::vector<std::string>{"rep1", "team1", "emea"}));
  scope.FilterVisible(kRep, &owners, [](const std::string& o) { return o; });
  EXPECT_EQ(owners, (std::vector<std::string>{"rep1"}));
}

}  // namespace
}  // namespace salesops
