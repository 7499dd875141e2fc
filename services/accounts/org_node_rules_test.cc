// Transitions of our org nodes (org_node_rules.h), without a store or server.

#include "services/accounts/org_node_rules.h"

#include <gtest/gtest.h>

#include <map>

#include "services/accounts/rules_test_support.h"

namespace salesops::accounts {
namespace {

using rules_testing::Admin;
using rules_testing::FakeScope;
using rules_testing::HasError;
using rules_testing::kNow;
using rules_testing::Manager;

v1::OrgNode Node(v1::OrgNodeKind kind, const std::string& id,
                 const std::string& parent) {
  v1::OrgNode n;
  n.set_kind(kind);
  n.set_id(id);
  n.set_name(absl::StrCat("Node ", id));
  n.set_parent_id(parent);
  return n;
}

TEST(OrgNodeRulesTest, RequestsNeedANameAKindAndIds) {
  v1::CreateOrgNodeRequest create;
  absl::Status s = CheckCreateOrgNode(create);
  EXPECT_TRUE(HasError(s, absl::StatusCode::kInvalidArgument, "node.name"));
  EXPECT_TRUE(HasError(s, absl::StatusCode::kInvalidArgument, "node.kind"));
  v1::UpdateOrgNodeRequest update;
  update.mutable_node()->set_name("x");
  EXPECT_TRUE(HasError(CheckUpdateOrgNode(update),
                       absl::StatusCode::kInvalidArgument, "node.id"));
  v1::MoveOrgNodeRequest move;
  move.set_id("org_t");
  EXPECT_TRUE(HasError(CheckMoveOrgNode(move),
                       absl::StatusCode::kInvalidArgument, "new_parent_id"));
}

TEST(OrgNodeRulesTest, TheFirstNodeIsTheGlobalRootMadeByAnAdmin) {
  FakeScope all = FakeScope::All();
  const v1::OrgNode root = Node(v1::ORG_NODE_KIND_GLOBAL, "", "");
  absl::StatusOr<OrgNodeChange> c = CreateOrgNode(
      root, std::nullopt, std::nullopt, Admin(), all.fn(), "org_1", kNow);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->is_root);
  EXPECT_EQ(c->node.id(), "org_1");
  EXPECT_EQ(c->parent.new_value, "");
  EXPECT_TRUE(HasError(CreateOrgNode(root, std::nullopt, std::nullopt,
                                     Manager("org_a"), all.fn(), "org_1", kNow)
                           .status(),
                       absl::StatusCode::kPermissionDenied));
  EXPECT_TRUE(HasError(CreateOrgNode(root, "org_1", std::nullopt, Admin(),
                                     all.fn(), "org_2", kNow)
                           .status(),
                       absl::StatusCode::kFailedPrecondition, "org_1"));
  EXPECT_TRUE(HasError(
      CreateOrgNode(Node(v1::ORG_NODE_KIND_REGION, "", ""), std::nullopt,
                    std::nullopt, Admin(), all.fn(), "org_1", kNow)
          .status(),
      absl::StatusCode::kInvalidArgument, "GLOBAL"));
}

TEST(OrgNodeRulesTest, ChildrenHaveAnExistingNonRepParentInScope) {
  FakeScope all = FakeScope::All();
  const v1::OrgNode team = Node(v1::ORG_NODE_KIND_TEAM, "", "org_p");
  EXPECT_TRUE(HasError(CreateOrgNode(team, "org_1", std::nullopt, Admin(),
                                     all.fn(), "org_2", kNow)
                           .status(),
                       absl::StatusCode::kInvalidArgument, "node.parent_id"));
  EXPECT_TRUE(HasError(
      CreateOrgNode(team, "org_1", Node(v1::ORG_NODE_KIND_REP, "org_p", "x"),
                    Admin(), all.fn(), "org_2", kNow)
          .status(),
      absl::StatusCode::kFailedPrecondition, "REP"));
  const v1::OrgNode region = Node(v1::ORG_NODE_KIND_REGION, "org_p", "org_1");
  EXPECT_TRUE(
      HasError(CreateOrgNode(Node(v1::ORG_NODE_KIND_GLOBAL, "", "org_p"),
                             "org_1", region, Admin(), all.fn(), "org_2", kNow)
                   .status(),
               absl::StatusCode::kInvalidArgument, "node.kind"));
  FakeScope none;
  EXPECT_TRUE(HasError(CreateOrgNode(team, "org_1", region, Manager("org_b"),
                                     none.fn(), "org_2", kNow)
                           .status(),
                       absl::StatusCode::kPermissionDenied));
  absl::StatusOr<OrgNodeChange> c =
      CreateOrgNode(team, "org_1", region, Admin(), all.fn(), "org_2", kNow);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->is_root);
  EXPECT_EQ(c->parent.new_value, "org_p");
}

TEST(OrgNodeRulesTest, UpdateRenamesButKeepsKindAndParent) {
  v1::OrgNode stored = Node(v1::ORG_NODE_KIND_TEAM, "org_t", "org_a");
  stored.set_external_id("hr-1");
  FakeScope all = FakeScope::All();
  v1::OrgNode in = stored;
  in.set_kind(v1::ORG_NODE_KIND_AREA);
  EXPECT_TRUE(HasError(UpdateOrgNode(stored, in, all.fn(), kNow).status(),
                       absl::StatusCode::kInvalidArgument, "node.kind"));
  in = stored;
  in.set_parent_id("org_b");
  EXPECT_TRUE(HasError(UpdateOrgNode(stored, in, all.fn(), kNow).status(),
                       absl::StatusCode::kInvalidArgument, "MoveOrgNode"));
  in = stored;
  in.set_name("  Renamed ");
  in.set_external_id("hr-2");
  absl::StatusOr<OrgNodeChange> c = UpdateOrgNode(stored, in, all.fn(), kNow);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node.name(), "Renamed");
  EXPECT_EQ(c->external_id.old_value, "hr-1");
  EXPECT_EQ(c->external_id.new_value, "hr-2");
  EXPECT_EQ(c->parent.old_value, c->parent.new_value);
}

TEST(OrgNodeRulesTest, MoveRejectsTheRootCyclesAndRepParents) {
  // root <- a <- t <- r1 (REP);  root <- b
  const std::map<std::string, std::string> parent = {
      {"root", ""}, {"a", "root"}, {"t", "a"}, {"r1", "t"}, {"b", "root"}};
  const ParentOfFn parent_of =
      [&](const std::string& id) -> std::optional<std::string> {
    auto it = parent.find(id);
    if (it == parent.end()) return std::nullopt;
    return it->second;
  };
  FakeScope all = FakeScope::All();
  const v1::OrgNode a = Node(v1::ORG_NODE_KIND_REGION, "a", "root");
  const v1::OrgNode t = Node(v1::ORG_NODE_KIND_TEAM, "t", "a");
  const v1::OrgNode r1 = Node(v1::ORG_NODE_KIND_REP, "r1", "t");
  const v1::OrgNode b = Node(v1::ORG_NODE_KIND_REGION, "b", "root");
  EXPECT_TRUE(HasError(MoveOrgNode(Node(v1::ORG_NODE_KIND_GLOBAL, "root", ""),
                                   "a", a, parent_of, all.fn(), kNow)
                           .status(),
                       absl::StatusCode::kFailedPrecondition, "root"));
  EXPECT_TRUE(HasError(
      MoveOrgNode(a, "gone", std::nullopt, parent_of, all.fn(), kNow).status(),
      absl::StatusCode::kInvalidArgument, "not found"));
  // The cycle is what is wrong, even under a REP.
  EXPECT_TRUE(
      HasError(MoveOrgNode(a, "r1", r1, parent_of, all.fn(), kNow).status(),
               absl::StatusCode::kInvalidArgument, "cycle"));
  EXPECT_TRUE(
      HasError(MoveOrgNode(b, "r1", r1, parent_of, all.fn(), kNow).status(),
               absl::StatusCode::kFailedPrecondition, "REP"));
  FakeScope only_t({"t"});
  EXPECT_TRUE(
      HasError(MoveOrgNode(t, "b", b, parent_of, only_t.fn(), kNow).status(),
               absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(only_t.asked(), (std::vector<std::string>{"t", "b"}));
  absl::StatusOr<OrgNodeChange> c =
      MoveOrgNode(t, "b", b, parent_of, all.fn(), kNow);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->node.parent_id(), "b");
  EXPECT_EQ(c->parent.old_value, "a");
  EXPECT_EQ(c->parent.new_value, "b");
}

}  // namespace
}  // namespace salesops::accounts
