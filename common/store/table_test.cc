#include "common/store/table.h"

#include <gtest/gtest.h>

#include <set>

#include "common/store/ids.h"
#include "common/store/paging.h"
#include "common/testing/temp_dir.h"
#include "salesops/testing/testing.pb.h"

namespace salesops {
namespace {

using salesops::testing::TestEntity;

enum class Cf { kEntities = 0, kIndex = 1 };
constexpr uint8_t kEntityTag = 1;
constexpr uint8_t kByNameTag = 1;
constexpr uint8_t kByOwnerTag = 2;

class TableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.column_families = {"entities", "index"};
    o.sync_writes = false;
    store_ = Store::Open(dir_.path(), o).value();
    table_ = std::make_unique<Table<TestEntity>>(store_.get(), Cf::kEntities,
                                                 kEntityTag, "test.TestEntity",
                                                 "test entity");
  }

  // The create handler a service would write: idempotent by request_id, unique
  // by name.
  absl::StatusOr<TestEntity> Create(const std::string& name,
                                    const std::string& request_id,
                                    const std::string& owner = "o1") {
    TestEntity request;  // stands in for the service's Create request message
    request.set_name(name);
    request.set_owner(owner);
    request.set_id(request_id);
    TestEntity out;
    RETURN_IF_ERROR(
        store_
            ->Write(SystemActor("test"),
                    [&](WriteTxn& txn) {
                      return CreateOnce(
                          txn, "CreateTestEntity", request_id, request, &out,
                          [&]() -> absl::Status {
                            ASSIGN_OR_RETURN(auto existing,
                                             by_name_.Lookup(txn, name));
                            if (existing) {
                              return absl::AlreadyExistsError(absl::StrCat(
                                  "name: already used by ", *existing));
                            }
                            out.set_id(NewId("tst", txn.now()));
                            out.set_name(name);
                            out.set_owner(owner);
                            RETURN_IF_ERROR(
                                table_->Insert(txn, out.id(), &out));
                            by_name_.Put(txn, name, out.id());
                            by_owner_.Put(txn, owner, out.id());
                            return absl::OkStatus();
                          });
                    })
            .status());
    return out;
  }

  absl::StatusOr<TestEntity> Rename(const std::string& id,
                                    const std::string& name,
                                    int64_t expected_version) {
    TestEntity out;
    RETURN_IF_ERROR(store_
                        ->Write(SystemActor("test"),
                                [&](WriteTxn& txn) -> absl::Status {
                                  ASSIGN_OR_RETURN(out, table_->Get(txn, id));
                                  by_name_.Delete(txn, out.name());
                                  out.set_name(name);
                                  by_name_.Put(txn, name, id);
                                  return table_->Update(txn, id,
                                                        expected_version, &out);
                                })
                        .status());
    return out;
  }

  salesops::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Table<TestEntity>> table_;
  UniqueIndex by_name_{Cf::kIndex, kByNameTag};
  MultiIndex by_owner_{Cf::kIndex, kByOwnerTag};
};

TEST_F(TableTest, VersionsStartAtOneAndGrow) {
  auto created = Create("alpha", "");
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->version(), 1);
  auto renamed = Rename(created->id(), "beta", 1);
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  EXPECT_EQ(renamed->version(), 2);
  EXPECT_EQ(table_->Get(created->id())->name(), "beta");
  // expected_version 0 means "any".
  EXPECT_EQ(Rename(created->id(), "gamma", 0)->version(), 3);
}

TEST_F(TableTest, StaleExpectedVersionIsAbortedAndChangesNothing) {
  auto created = Create("alpha", "").value();
  ASSERT_TRUE(Rename(created.id(), "beta", 1).ok());
  const uint64_t events_before = store_->last_sequence();
  auto stale = Rename(created.id(), "gamma", 1);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(stale.status().message().find("expected_version 1"),
            std::string::npos);
  EXPECT_NE(stale.status().message().find("current version is 2"),
            std::string::npos);
  EXPECT_EQ(table_->Get(created.id())->name(), "beta");
  EXPECT_EQ(by_name_.Lookup(*store_, "gamma").value(), std::nullopt);
  EXPECT_EQ(by_name_.Lookup(*store_, "beta").value(), created.id());
  EXPECT_EQ(store_->last_sequence(), events_before);
  EXPECT_EQ(Rename(created.id(), "x", -1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TableTest, MissingEntityIsNotFound) {
  EXPECT_EQ(table_->Get("tst_missing").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Rename("tst_missing", "x", 0).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(TableTest, ReplayedRequestIdReturnsTheFirstResult) {
  auto first = Create("alpha", "req-1");
  ASSERT_TRUE(first.ok());
  const uint64_t events = store_->last_sequence();
  // A rename in between: the replay still answers what the first call answered.
  ASSERT_TRUE(Rename(first->id(), "alpha2", 0).ok());
  auto replay = Create("alpha", "req-1");
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->id(), first->id());
  EXPECT_EQ(replay->version(), 1);
  EXPECT_EQ(replay->name(), "alpha");
  EXPECT_EQ(store_->last_sequence(), events + 1);  // only the rename's event
  std::vector<TestEntity> all;
  bool more = false;
  ASSERT_TRUE(table_->List("", 100, &all, &more).ok());
  EXPECT_EQ(all.size(), 1u);
}

TEST_F(TableTest, RequestIdReusedForADifferentRequestIsRejected) {
  ASSERT_TRUE(Create("alpha", "req-1").ok());
  auto other = Create("beta", "req-1");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(other.status().message().find("request_id"), std::string::npos);
}

TEST_F(TableTest, FailedCreateDoesNotRememberTheRequestId) {
  ASSERT_TRUE(Create("alpha", "").ok());
  EXPECT_EQ(Create("alpha", "req-2").status().code(),
            absl::StatusCode::kAlreadyExists);
  // The failed attempt left no request record: the same id with a fixed request
  // succeeds.
  auto fixed = Create("alpha-2", "req-2");
  EXPECT_TRUE(fixed.ok()) << fixed.status();
}

TEST_F(TableTest, ConcurrentReplaysOfOneRequestIdCreateOnce) {
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<TestEntity>> results(8,
                                                  absl::UnknownError("unset"));
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] { results[i] = Create("same", "req-x"); });
  }
  for (auto& t : threads) {
    t.join();
  }
  std::set<std::string> ids;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    ids.insert(r->id());
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(store_->last_sequence(), 1u);
}

TEST_F(TableTest, ListPagesInIdOrderAndIndexesListByValue) {
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    ids.push_back(
        Create(absl::StrCat("n", i), "", i % 2 ? "odd" : "even")->id());
  }
  std::vector<TestEntity> page;
  bool more = false;
  ASSERT_TRUE(table_->List("", 3, &page, &more).ok());
  ASSERT_EQ(page.size(), 3u);
  EXPECT_TRUE(more);
  EXPECT_EQ(page[0].id(), ids[0]);
  std::vector<TestEntity> rest;
  ASSERT_TRUE(table_->List(page.back().id(), 100, &rest, &more).ok());
  EXPECT_FALSE(more);
  ASSERT_EQ(rest.size(), 4u);
  EXPECT_EQ(rest[0].id(), ids[3]);

  std::vector<std::string> odd;
  ASSERT_TRUE(by_owner_.ListIds(*store_, "odd", "", 2, &odd, &more).ok());
  EXPECT_EQ(odd, (std::vector<std::string>{ids[1], ids[3]}));
  EXPECT_TRUE(more);
  std::vector<std::string> odd_rest;
  ASSERT_TRUE(
      by_owner_.ListIds(*store_, "odd", odd.back(), 10, &odd_rest, &more).ok());
  EXPECT_EQ(odd_rest, (std::vector<std::string>{ids[5]}));
  EXPECT_FALSE(more);
}

TEST_F(TableTest, IndexListedInsideATransactionSeesItsOwnWrites) {
  const std::string a = Create("a", "", "team")->id();
  const std::string b = Create("b", "", "team")->id();
  std::vector<std::string> seen;
  auto result =
      store_->Write(SystemActor("test"), [&](WriteTxn& txn) -> absl::Status {
        by_owner_.Delete(txn, "team", a);            // deleted in this batch
        by_owner_.Put(txn, "team", "zz-new");        // added in this batch
        by_owner_.Put(txn, "teams", "other-value");  // a neighbouring value
        bool more = false;
        RETURN_IF_ERROR(by_owner_.ListIds(txn, "team", "", 10, &seen, &more));
        EXPECT_FALSE(more);
        std::vector<std::string> after_b;
        RETURN_IF_ERROR(by_owner_.ListIds(txn, "team", b, 10, &after_b, &more));
        EXPECT_EQ(after_b, (std::vector<std::string>{"zz-new"}));
        std::vector<std::string> first;
        RETURN_IF_ERROR(by_owner_.ListIds(txn, "team", "", 1, &first, &more));
        EXPECT_TRUE(more);
        return absl::OkStatus();
      });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(seen, (std::vector<std::string>{b, "zz-new"}));
}

TEST_F(TableTest, ClaimMovesAUniqueValueAndRefusesATakenOne) {
  const UniqueIndex by_ext{Cf::kIndex, kByNameTag, "entity"};
  auto claim = [&](std::string_view old_value, std::string_view new_value,
                   std::string_view id) {
    return store_
        ->Write(SystemActor("test"),
                [&](WriteTxn& txn) {
                  return by_ext.Claim(txn, "entity.external_id", old_value,
                                      new_value, id);
                })
        .status();
  };
  ASSERT_TRUE(claim("", "X-1", "e1").ok());
  ASSERT_TRUE(claim("X-1", "X-1", "e1").ok());  // unchanged: nothing to do
  absl::Status taken = claim("", "X-1", "e2");
  EXPECT_EQ(taken.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(taken.message(),
            "entity.external_id: \"X-1\" is already entity e1");
  ASSERT_TRUE(claim("X-1", "X-2", "e1").ok());  // moved: X-1 is free again
  EXPECT_EQ(*by_ext.Lookup(*store_, "X-1"), std::nullopt);
  EXPECT_EQ(*by_ext.Lookup(*store_, "X-2"), std::optional<std::string>("e1"));
  ASSERT_TRUE(claim("", "X-1", "e2").ok());
  ASSERT_TRUE(claim("X-2", "", "e1").ok());  // cleared: not indexed
  EXPECT_EQ(*by_ext.Lookup(*store_, "X-2"), std::nullopt);
}

TEST_F(TableTest, AllIdsIsBounded) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Create(absl::StrCat("m", i), "", "team").ok());
  }
  absl::StatusOr<std::vector<std::string>> all =
      by_owner_.AllIds(*store_, "team");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 3u);
  absl::StatusOr<std::vector<std::string>> capped =
      by_owner_.AllIds(*store_, "team", 2);
  EXPECT_EQ(capped.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(capped.status().message(), "more than 2 entries under team");
}

TEST(Ids, TypedTimeOrderedAndStrictlyIncreasing) {
  const absl::Time t = absl::FromUnixMillis(1'767'225'600'000);
  std::string prev = NewId("opp", t);
  EXPECT_EQ(prev.rfind("opp_", 0), 0u);
  EXPECT_EQ(prev.size(), 4u + 26u);
  for (int i = 0; i < 1000; ++i) {
    std::string next = NewId("opp", t);  // same millisecond
    EXPECT_LT(prev, next);
    prev = next;
  }
  EXPECT_LT(prev, NewId("opp", t + absl::Milliseconds(1)));
  // A clock stepping back does not break the order.
  EXPECT_LT(prev, NewId("opp", t - absl::Seconds(10)));
}

TEST(Paging, PageSizeAndTokens) {
  EXPECT_EQ(PageSize(0).value(), 100);
  EXPECT_EQ(PageSize(1000).value(), 1000);
  // AIP-158: above the maximum is capped, not refused.
  EXPECT_EQ(PageSize(1001).value(), 1000);
  EXPECT_EQ(PageSize(5000).value(), 1000);
  EXPECT_EQ(PageSize(INT32_MAX).value(), 1000);
  EXPECT_EQ(PageSize(-1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(PageSize(-1).status().message().find("page_size"),
            std::string::npos);
  EXPECT_EQ(DecodePageToken(EncodePageToken("acc_01J")).value(), "acc_01J");
  EXPECT_EQ(DecodePageToken("").value(), "");
  EXPECT_EQ(DecodePageToken("garbage!").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace salesops
