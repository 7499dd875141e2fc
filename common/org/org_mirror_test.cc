// A service's copy of the org tree: applied from accounts feed events,
// idempotent by version, durable with the consumer cursor, replaced on resync.

#include "common/org/org_mirror.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/status.h"
#include "common/testing/builders.h"
#include "common/testing/temp_dir.h"

namespace salesops {
namespace {

enum class Cf { kMirror = 0 };

v1::OrgNode Node(const std::string& id, const std::string& parent,
                 v1::OrgNodeKind kind, int64_t version) {
  return ::salesops::testing::OrgNodeProto(id, parent, kind, "", version);
}

v1::Event EventOf(const v1::OrgNode& n, uint64_t sequence) {
  v1::Event e;
  e.set_sequence(sequence);
  e.set_kind("accounts.OrgNode");
  e.set_entity_id(n.id());
  e.mutable_payload()->PackFrom(n);
  return e;
}

class OrgMirrorTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    mirror_.reset();
    store_.reset();
    StoreOptions options;
    options.column_families = {"mirror"};
    auto store = Store::Open(dir_.path() + "/db", options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    mirror_ = std::make_unique<OrgMirror>(store_.get(), Cf::kMirror);
    ASSERT_TRUE(mirror_->Load().ok());
  }
  absl::Status Apply(const v1::OrgNode& n, uint64_t sequence) {
    return store_
        ->Write(SystemActor("test"),
                [&](WriteTxn& txn) -> absl::Status {
                  RETURN_IF_ERROR(mirror_->Apply(EventOf(n, sequence), txn));
                  txn.PutCursor("accounts", sequence);
                  return absl::OkStatus();
                })
        .status();
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<OrgMirror> mirror_;
};

TEST_F(OrgMirrorTest, AppliesEventsAndAnswersSubtreeQuestions) {
  ASSERT_TRUE(Apply(Node("g", "", v1::ORG_NODE_KIND_GLOBAL, 1), 1).ok());
  ASSERT_TRUE(Apply(Node("a", "g", v1::ORG_NODE_KIND_REGION, 1), 2).ok());
  ASSERT_TRUE(Apply(Node("b", "g", v1::ORG_NODE_KIND_REGION, 1), 3).ok());
  ASSERT_TRUE(Apply(Node("t", "a", v1::ORG_NODE_KIND_TEAM, 1), 4).ok());
  ASSERT_TRUE(Apply(Node("r", "t", v1::ORG_NODE_KIND_REP, 1), 5).ok());
  EXPECT_TRUE(mirror_->IsWithin("r", "a"));
  EXPECT_TRUE(mirror_->IsWithin("r", "r"));
  EXPECT_TRUE(mirror_->IsWithin("r", "g"));
  EXPECT_FALSE(mirror_->IsWithin("r", "b"));
  EXPECT_FALSE(mirror_->IsWithin("unknown", "g"));
  EXPECT_FALSE(mirror_->IsWithin("r", ""));
  EXPECT_EQ(mirror_->Find("r")->kind, v1::ORG_NODE_KIND_REP);
  EXPECT_EQ(mirror_->size(), 5u);

  // A re-org: the team moves under b (version 2); a stale replay of version 1
  // changes nothing.
  ASSERT_TRUE(Apply(Node("t", "b", v1::ORG_NODE_KIND_TEAM, 2), 6).ok());
  ASSERT_TRUE(Apply(Node("t", "a", v1::ORG_NODE_KIND_TEAM, 1), 4).ok());
  EXPECT_TRUE(mirror_->IsWithin("r", "b"));
  EXPECT_FALSE(mirror_->IsWithin("r", "a"));

  // Durable: a reopened store loads the same tree and the cursor.
  Open();
  EXPECT_TRUE(mirror_->IsWithin("r", "b"));
  EXPECT_EQ(mirror_->size(), 5u);
  EXPECT_EQ(store_->GetCursor("accounts").value(), 4u);  // the last written
}

TEST_F(OrgMirrorTest, OtherKindsAreIgnoredAndGarbageIsDataLoss) {
  v1::Event other;
  other.set_kind("accounts.Contact");
  auto s = store_->Write(SystemActor("test"), [&](WriteTxn& txn) {
    return mirror_->Apply(other, txn);
  });
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(mirror_->size(), 0u);
  v1::Event bad;
  bad.set_kind("accounts.OrgNode");
  s = store_->Write(SystemActor("test"),
                    [&](WriteTxn& txn) { return mirror_->Apply(bad, txn); });
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(OrgMirrorTest, ReplaceSwapsTheWholeTreeWithTheCursor) {
  ASSERT_TRUE(Apply(Node("old", "", v1::ORG_NODE_KIND_GLOBAL, 3), 1).ok());
  ASSERT_TRUE(mirror_
                  ->Replace({Node("g", "", v1::ORG_NODE_KIND_GLOBAL, 1),
                             Node("r", "g", v1::ORG_NODE_KIND_REP, 1)},
                            "accounts", 42)
                  .ok());
  EXPECT_FALSE(mirror_->Find("old").has_value());
  EXPECT_TRUE(mirror_->IsWithin("r", "g"));
  EXPECT_EQ(store_->GetCursor("accounts").value(), 42u);
  Open();
  EXPECT_FALSE(mirror_->Find("old").has_value());
  EXPECT_EQ(mirror_->size(), 2u);
}

v1::Event AccountEvent(const std::string& id, const std::string& owner,
                       int64_t version, uint64_t sequence) {
  v1::Account a;
  a.set_id(id);
  a.set_name("Name of " + id);
  a.set_owner_node_id(owner);
  a.set_version(version);
  v1::Event e;
  e.set_sequence(sequence);
  e.set_kind("accounts.Account");
  e.set_entity_id(id);
  e.mutable_payload()->PackFrom(a);
  return e;
}

TEST_F(OrgMirrorTest, AccountsFollowTheirOwnerThroughTheTree) {
  ASSERT_TRUE(Apply(Node("g", "", v1::ORG_NODE_KIND_GLOBAL, 1), 1).ok());
  ASSERT_TRUE(Apply(Node("east", "g", v1::ORG_NODE_KIND_REGION, 1), 2).ok());
  ASSERT_TRUE(Apply(Node("west", "g", v1::ORG_NODE_KIND_REGION, 1), 3).ok());
  ASSERT_TRUE(Apply(Node("r1", "east", v1::ORG_NODE_KIND_REP, 1), 4).ok());
  ASSERT_TRUE(Apply(Node("r2", "west", v1::ORG_NODE_KIND_REP, 1), 5).ok());
  auto apply = [&](const v1::Event& e) {
    return store_
        ->Write(SystemActor("test"),
                [&](WriteTxn& txn) { return mirror_->Apply(e, txn); })
        .status();
  };
  ASSERT_TRUE(apply(AccountEvent("acc_b", "r1", 1, 6)).ok());
  ASSERT_TRUE(apply(AccountEvent("acc_a", "r2", 1, 7)).ok());
  EXPECT_EQ(mirror_->AccountOwner("acc_b"), "r1");
  EXPECT_FALSE(mirror_->AccountOwner("acc_zz").has_value());
  EXPECT_EQ(mirror_->AccountsWithin("g"),
            (std::vector<std::string>{"acc_a", "acc_b"}));
  EXPECT_EQ(mirror_->AccountsWithin("east"),
            (std::vector<std::string>{"acc_b"}));
  // A new owner moves the account; a replayed older event does not.
  ASSERT_TRUE(apply(AccountEvent("acc_b", "r2", 2, 8)).ok());
  ASSERT_TRUE(apply(AccountEvent("acc_b", "r1", 1, 6)).ok());
  EXPECT_EQ(mirror_->AccountsWithin("east"), std::vector<std::string>{});
  // A re-org moves the accounts with the subtree; everything survives a
  // restart.
  ASSERT_TRUE(Apply(Node("r2", "east", v1::ORG_NODE_KIND_REP, 2), 9).ok());
  Open();
  EXPECT_EQ(mirror_->AccountOwner("acc_b"), "r2");
  EXPECT_EQ(mirror_->AccountsWithin("east"),
            (std::vector<std::string>{"acc_a", "acc_b"}));
  // A resync with accounts replaces them; without, keeps them.
  ASSERT_TRUE(mirror_
                  ->Replace({Node("g", "", v1::ORG_NODE_KIND_GLOBAL, 1),
                             Node("r1", "g", v1::ORG_NODE_KIND_REP, 1)},
                            "accounts", 50)
                  .ok());
  EXPECT_EQ(mirror_->AccountOwner("acc_a"), "r2");
  std::vector<v1::Account> accounts(1);
  accounts[0].set_id("acc_c");
  accounts[0].set_owner_node_id("r1");
  accounts[0].set_version(4);
  ASSERT_TRUE(mirror_
                  ->Replace({Node("g", "", v1::ORG_NODE_KIND_GLOBAL, 1),
                             Node("r1", "g", v1::ORG_NODE_KIND_REP, 1)},
                            "accounts", 60, &accounts)
                  .ok());
  Open();
  EXPECT_FALSE(mirror_->AccountOwner("acc_a").has_value());
  EXPECT_EQ(mirror_->AccountsWithin("g"), std::vector<std::string>{"acc_c"});
}

TEST_F(OrgMirrorTest, AnAccountWhoseBatchRolledBackIsAppliedAgain) {
  ASSERT_TRUE(Apply(Node("g", "", v1::ORG_NODE_KIND_GLOBAL, 1), 1).ok());
  ASSERT_TRUE(Apply(Node("r1", "g", v1::ORG_NODE_KIND_REP, 1), 2).ok());
  const v1::Event account = AccountEvent("acc_x", "r1", 3, 3);
  // The batch fails after applying the account: nothing is stored ...
  auto failed =
      store_->Write(SystemActor("test"), [&](WriteTxn& txn) -> absl::Status {
        RETURN_IF_ERROR(mirror_->Apply(account, txn));
        return absl::AbortedError("a later event of the batch failed");
      });
  ASSERT_FALSE(failed.ok());
  // ... so the retry must store it, although memory has seen it.
  ASSERT_TRUE(
      store_
          ->Write(SystemActor("test"),
                  [&](WriteTxn& txn) { return mirror_->Apply(account, txn); })
          .ok());
  Open();
  EXPECT_EQ(mirror_->AccountOwner("acc_x"), "r1");
}

// What a mirror answers about `nodes` and `accounts` (for comparing a mirror
// after a resync with a fresh Load of its store).
std::string Answers(const OrgMirror& m, const std::vector<std::string>& nodes,
                    const std::vector<std::string>& accounts) {
  std::string out = absl::StrCat("size=", m.size(), "\n");
  for (const std::string& id : nodes) {
    std::optional<OrgMirror::Node> n = m.Find(id);
    absl::StrAppend(&out, id,
                    n ? absl::StrCat(" parent=", n->parent_id,
                                     " kind=", n->kind, " v=", n->version)
                      : " -",
                    "\n");
    for (const std::string& a : m.AccountsWithin(id)) {
      absl::StrAppend(&out, "  ", a, "\n");
    }
  }
  for (const std::string& id : accounts) {
    absl::StrAppend(&out, id, " owner=", m.AccountOwner(id).value_or("-"),
                    "\n");
  }
  return out;
}

v1::Account Account(const std::string& id, const std::string& owner,
                    int64_t version) {
  v1::Account a;
  a.set_id(id);
  a.set_owner_node_id(owner);
  a.set_version(version);
  return a;
}

TEST_F(OrgMirrorTest, ResyncAfterARestoreReplacesTreeAndOwnersLikeAReload) {
  // The copy: versions up to 9, accounts a0000..a2999 (three pages and more).
  ASSERT_TRUE(Apply(Node("g", "", v1::ORG_NODE_KIND_GLOBAL, 5), 1).ok());
  ASSERT_TRUE(Apply(Node("east", "g", v1::ORG_NODE_KIND_REGION, 9), 2).ok());
  ASSERT_TRUE(Apply(Node("gone", "g", v1::ORG_NODE_KIND_REGION, 3), 3).ok());
  ASSERT_TRUE(Apply(Node("r1", "east", v1::ORG_NODE_KIND_REP, 7), 4).ok());
  std::vector<std::string> account_ids;
  ASSERT_TRUE(
      store_
          ->Write(SystemActor("test"),
                  [&](WriteTxn& txn) -> absl::Status {
                    for (int i = 0; i < 3000; ++i) {
                      const std::string id = absl::StrFormat("a%04d", i);
                      account_ids.push_back(id);
                      RETURN_IF_ERROR(mirror_->Apply(
                          AccountEvent(id, i % 2 ? "r1" : "gone", 6, 5 + i),
                          txn));
                    }
                    return absl::OkStatus();
                  })
          .ok());
  // The restored source: lower versions, "gone" and every third account
  // missing, r1 under g now, r2 and accounts b0..b9 new.
  std::vector<v1::OrgNode> nodes = {
      Node("g", "", v1::ORG_NODE_KIND_GLOBAL, 1),
      Node("east", "g", v1::ORG_NODE_KIND_REGION, 1),
      Node("r1", "g", v1::ORG_NODE_KIND_REP, 2),
      Node("r2", "east", v1::ORG_NODE_KIND_REP, 1)};
  std::vector<v1::Account> accounts;
  for (int i = 0; i < 3000; ++i) {
    if (i % 3 != 0) {
      accounts.push_back(
          Account(absl::StrFormat("a%04d", i), i % 2 ? "r2" : "r1", 1));
    }
  }
  for (int i = 0; i < 10; ++i) {
    accounts.push_back(Account(absl::StrCat("b", i), "r2", 1));
    account_ids.push_back(absl::StrCat("b", i));
  }
  std::reverse(accounts.begin(), accounts.end());  // any order
  ASSERT_TRUE(mirror_->Replace(nodes, "accounts", 77, &accounts).ok());
  EXPECT_EQ(store_->GetCursor("accounts").value(), 77u);
  const std::vector<std::string> node_ids = {"g", "east", "gone", "r1", "r2"};
  const std::string seen = Answers(*mirror_, node_ids, account_ids);
  EXPECT_EQ(mirror_->AccountOwner("a0000"), std::nullopt);
  EXPECT_EQ(mirror_->AccountOwner("a0001"), "r2");
  EXPECT_EQ(mirror_->AccountOwner("a0002"), "r1");
  EXPECT_FALSE(mirror_->Find("gone").has_value());
  EXPECT_EQ(mirror_->Find("east")->version, 1);
  EXPECT_EQ(mirror_->AccountsWithin("g").size(), 2000u + 10u);
  // Memory equals a reload of the store.
  OrgMirror reloaded(store_.get(), Cf::kMirror);
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_EQ(Answers(reloaded, node_ids, account_ids), seen);
  // The feed resumes: an event the listing already showed is ignored, a
  // newer one applies.
  ASSERT_TRUE(Apply(Node("r1", "g", v1::ORG_NODE_KIND_REP, 2), 78).ok());
  ASSERT_TRUE(Apply(Node("r1", "east", v1::ORG_NODE_KIND_REP, 3), 79).ok());
  EXPECT_TRUE(mirror_->IsWithin("r1", "east"));
}

}  // namespace
}  // namespace salesops
