// Transitions of an account (account_rules.h), without a store or server.

#include "services/accounts/account_rules.h"

#include <gtest/gtest.h>

#include <vector>

#include "services/accounts/rules_test_support.h"

namespace salesops::accounts {
namespace {

using rules_testing::Admin;
using rules_testing::FakeScope;
using rules_testing::HasError;
using rules_testing::kNow;
using rules_testing::Manager;

v1::Account Acct(const std::string& name, const std::string& owner = "") {
  v1::Account a;
  a.set_name(name);
  a.set_owner_node_id(owner);
  return a;
}

v1::OrgNode NodeWithId(const std::string& id) {
  v1::OrgNode n;
  n.set_id(id);
  return n;
}

TEST(AccountRulesTest, SegmentFollowsPotentialAndShareOfWallet) {
  EXPECT_EQ(SegmentFor(v1::LEVEL_HIGH, v1::LEVEL_LOW),
            v1::ACCOUNT_SEGMENT_ACQUIRE);
  EXPECT_EQ(SegmentFor(v1::LEVEL_HIGH, v1::LEVEL_HIGH),
            v1::ACCOUNT_SEGMENT_RETAIN);
  EXPECT_EQ(SegmentFor(v1::LEVEL_LOW, v1::LEVEL_HIGH),
            v1::ACCOUNT_SEGMENT_MAINTAIN);
  EXPECT_EQ(SegmentFor(v1::LEVEL_LOW, v1::LEVEL_LOW),
            v1::ACCOUNT_SEGMENT_DEPRIORITIZE);
  EXPECT_EQ(SegmentFor(v1::LEVEL_UNSPECIFIED, v1::LEVEL_HIGH),
            v1::ACCOUNT_SEGMENT_UNSPECIFIED);
  EXPECT_EQ(SegmentFor(v1::LEVEL_HIGH, v1::LEVEL_UNSPECIFIED),
            v1::ACCOUNT_SEGMENT_UNSPECIFIED);
}

TEST(AccountRulesTest, NamesCompareCaseInsensitivelyAfterTrimming) {
  EXPECT_EQ(NormalizeAccountName("  Acme\t"), "acme");
  EXPECT_EQ(NormalizeAccountName("ACME"), NormalizeAccountName("acme "));
  EXPECT_NE(NormalizeAccountName("Acme Holdings"),
            NormalizeAccountName("Acme"));
}

TEST(AccountRulesTest, CreateRequestNeedsANameAndAManagerAnOwner) {
  v1::CreateAccountRequest req;
  *req.mutable_account() = Acct("   \t ");
  EXPECT_TRUE(HasError(CheckCreateAccount(req, Admin()),
                       absl::StatusCode::kInvalidArgument, "account.name"));
  *req.mutable_account() = Acct(std::string(201, 'x'));
  EXPECT_TRUE(HasError(CheckCreateAccount(req, Admin()),
                       absl::StatusCode::kInvalidArgument, "200 characters"));
  *req.mutable_account() = Acct("Acme");
  EXPECT_TRUE(CheckCreateAccount(req, Admin()).ok());
  EXPECT_TRUE(HasError(CheckCreateAccount(req, Manager("org_a")),
                       absl::StatusCode::kInvalidArgument,
                       "account.owner_node_id"));
  req.mutable_account()->set_tier(static_cast<v1::AccountTier>(99));
  EXPECT_TRUE(HasError(CheckCreateAccount(req, Admin()),
                       absl::StatusCode::kInvalidArgument, "account.tier"));
  v1::UpdateAccountRequest update;
  *update.mutable_account() = Acct("Acme");
  EXPECT_TRUE(HasError(CheckUpdateAccount(update),
                       absl::StatusCode::kInvalidArgument, "account.id"));
}

TEST(AccountRulesTest, AnUpdateIsMergedByItsMaskThenValidatedWhole) {
  v1::Account stored = Acct("Acme", "org_r1");
  stored.set_id("acc_1");
  stored.set_tier(v1::ACCOUNT_TIER_GOLD);
  stored.set_industry("steel");
  v1::UpdateAccountRequest req;
  req.mutable_account()->set_id("acc_1");
  req.mutable_account()->set_tier(v1::ACCOUNT_TIER_SILVER);
  // Implied mask: a request without a name is no blank name.
  EXPECT_TRUE(CheckUpdateAccount(req).ok());
  absl::StatusOr<v1::Account> merged = MergeAccountUpdate(stored, req);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->name(), "Acme");
  EXPECT_EQ(merged->industry(), "steel");
  EXPECT_EQ(merged->owner_node_id(), "org_r1");
  EXPECT_EQ(merged->tier(), v1::ACCOUNT_TIER_SILVER);
  // A named name left empty clears it: the merged account breaks "required".
  req.mutable_update_mask()->add_paths("name");
  EXPECT_TRUE(HasError(MergeAccountUpdate(stored, req).status(),
                       absl::StatusCode::kInvalidArgument,
                       "account.name: required"));
  req.mutable_update_mask()->add_paths("segment");
  EXPECT_TRUE(HasError(CheckUpdateAccount(req),
                       absl::StatusCode::kInvalidArgument,
                       "update_mask.paths[1]: 'segment' is output only"));
}

TEST(AccountRulesTest, CreateDerivesAndStampsAndNamesItsIndexValues) {
  v1::Account in = Acct("  Acme  ", "org_r1");
  in.set_purchase_potential(v1::LEVEL_HIGH);
  in.set_share_of_wallet(v1::LEVEL_LOW);
  in.set_segment(v1::ACCOUNT_SEGMENT_MAINTAIN);  // ignored: derived
  in.set_external_id("crm-17");
  FakeScope scope({"org_r1"});
  absl::StatusOr<AccountChange> c =
      CreateAccount(in, NodeWithId("org_r1"), scope.fn(), "acc_1", kNow);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->account.id(), "acc_1");
  EXPECT_EQ(c->account.name(), "Acme");
  EXPECT_EQ(c->account.segment(), v1::ACCOUNT_SEGMENT_ACQUIRE);
  EXPECT_EQ(c->account.created_micros(), Micros(kNow));
  EXPECT_EQ(c->account.updated_micros(), Micros(kNow));
  EXPECT_EQ(c->name.new_value, "acme");
  EXPECT_EQ(c->external_id.new_value, "crm-17");
  EXPECT_EQ(c->owner.new_value, "org_r1");
  EXPECT_EQ(scope.asked(), std::vector<std::string>{"org_r1"});
}

TEST(AccountRulesTest, OwnerMustExistAndBeInScope) {
  FakeScope scope;  // allows nothing
  EXPECT_TRUE(HasError(CreateAccount(Acct("Orphan", "org_gone"), std::nullopt,
                                     scope.fn(), "acc_1", kNow)
                           .status(),
                       absl::StatusCode::kInvalidArgument,
                       "account.owner_node_id"));
  EXPECT_TRUE(HasError(CreateAccount(Acct("Far", "org_b"), NodeWithId("org_b"),
                                     scope.fn(), "acc_1", kNow)
                           .status(),
                       absl::StatusCode::kPermissionDenied));
  // Without an owner no scope is asked (the request check wants one from a
  // MANAGER).
  EXPECT_TRUE(
      CreateAccount(Acct("Free"), std::nullopt, scope.fn(), "acc_2", kNow)
          .ok());
}

TEST(AccountRulesTest, UpdateChecksTheOldAndTheNewOwner) {
  v1::Account stored = Acct("Acme", "org_r1");
  stored.set_id("acc_1");
  stored.set_created_micros(5);
  stored.set_external_id("old-ext");
  v1::Account in = stored;
  in.set_owner_node_id("org_r3");
  in.set_external_id("");
  FakeScope only_r1({"org_r1"});
  EXPECT_TRUE(HasError(
      UpdateAccount(stored, in, NodeWithId("org_r3"), only_r1.fn(), kNow)
          .status(),
      absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(only_r1.asked(), (std::vector<std::string>{"org_r1", "org_r3"}));
  FakeScope all = FakeScope::All();
  EXPECT_TRUE(
      HasError(UpdateAccount(stored, in, std::nullopt, all.fn(), kNow).status(),
               absl::StatusCode::kInvalidArgument, "account.owner_node_id"));
  absl::StatusOr<AccountChange> c =
      UpdateAccount(stored, in, NodeWithId("org_r3"), all.fn(), kNow);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->account.created_micros(), 5);
  EXPECT_EQ(c->account.updated_micros(), Micros(kNow));
  EXPECT_EQ(c->owner.old_value, "org_r1");
  EXPECT_EQ(c->owner.new_value, "org_r3");
  EXPECT_EQ(c->external_id.old_value, "old-ext");
  EXPECT_EQ(c->external_id.new_value, "");
  EXPECT_EQ(c->name.old_value, c->name.new_value);
}

TEST(AccountRulesTest, ReTierChangesOnlyWhatDiffers) {
  v1::Account stored = Acct("Acme", "org_r1");
  stored.set_tier(v1::ACCOUNT_TIER_GOLD);
  FakeScope all = FakeScope::All();
  absl::StatusOr<std::optional<v1::Account>> same =
      ReTier(stored, v1::ACCOUNT_TIER_GOLD, all.fn(), kNow);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->has_value());
  absl::StatusOr<std::optional<v1::Account>> up =
      ReTier(stored, v1::ACCOUNT_TIER_PLATINUM, all.fn(), kNow);
  ASSERT_TRUE(up.ok() && up->has_value());
  EXPECT_EQ((*up)->tier(), v1::ACCOUNT_TIER_PLATINUM);
  FakeScope none;
  EXPECT_TRUE(
      HasError(ReTier(stored, v1::ACCOUNT_TIER_GOLD, none.fn(), kNow).status(),
               absl::StatusCode::kPermissionDenied));
}

}  // namespace
}  // namespace salesops::accounts
