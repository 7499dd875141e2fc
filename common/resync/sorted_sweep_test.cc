// Replacing a stored collection page by page from a listing in key order:
// unlisted entries are handed to `gone`, listed ones never, a listing out of
// key order is refused, and the position moves only on Committed().

#include "common/resync/sorted_sweep.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "common/store/key.h"
#include "common/testing/temp_dir.h"

namespace salesops {
namespace {

enum class Cf { kCopy = 0 };
constexpr uint8_t kTag = 7;
constexpr uint8_t kOtherTag = 8;

std::string Key(const std::string& id, uint8_t tag = kTag) {
  return KeyBuilder(tag).Str(id).key();
}

class SortedSweepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions options;
    options.column_families = {"copy"};
    options.sync_writes = false;
    auto store = Store::Open(dir_.path() + "/db", options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  void Put(const std::vector<std::string>& ids, uint8_t tag = kTag) {
    ASSERT_TRUE(store_
                    ->Write(SystemActor("test"),
                            [&](WriteTxn& txn) {
                              for (const std::string& id : ids) {
                                txn.Put(Cf::kCopy, Key(id, tag), "old");
                              }
                              return absl::OkStatus();
                            })
                    .ok());
  }

  // One page: sweep, then store the page's ids as "new".
  absl::Status Page(SortedSweep& sweep, const std::vector<std::string>& ids) {
    absl::Status s =
        store_
            ->Write(SystemActor("test"),
                    [&](WriteTxn& txn) -> absl::Status {
                      std::vector<std::string> keys;
                      for (const std::string& id : ids) keys.push_back(Key(id));
                      RETURN_IF_ERROR(sweep.Page(txn, keys, remove_));
                      for (const std::string& k : keys) {
                        txn.Put(Cf::kCopy, k, "new");
                      }
                      return absl::OkStatus();
                    })
            .status();
    if (s.ok()) sweep.Committed();
    return s;
  }

  // Rest() in transactions of `limit`; the number of transactions.
  int Finish(SortedSweep& sweep, size_t limit) {
    bool done = false;
    int transactions = 0;
    while (!done) {
      ++transactions;
      EXPECT_TRUE(store_
                      ->Write(SystemActor("test"),
                              [&](WriteTxn& txn) {
                                return sweep.Rest(txn, limit, remove_, &done);
                              })
                      .ok());
      sweep.Committed();
    }
    return transactions;
  }

  std::map<std::string, std::string> Stored(uint8_t tag = kTag) {
    std::map<std::string, std::string> out;
    const std::string prefix = KeyBuilder(tag).key();
    EXPECT_TRUE(store_
                    ->Scan(Cf::kCopy, prefix, PrefixSuccessor(prefix),
                           [&](std::string_view k, std::string_view v) {
                             KeyReader r(k);
                             uint8_t t = 0;
                             std::string id;
                             EXPECT_TRUE(r.Tag(&t) && r.Str(&id));
                             out[id] = std::string(v);
                             return true;
                           })
                    .ok());
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::vector<std::string> removed_;
  SortedSweep::GoneFn remove_ = [this](WriteTxn& txn, std::string_view key) {
    KeyReader r(key);
    uint8_t t = 0;
    std::string id;
    EXPECT_TRUE(r.Tag(&t) && r.Str(&id));
    removed_.push_back(id);
    txn.Delete(Cf::kCopy, key);
    return absl::OkStatus();
  };
};

TEST_F(SortedSweepTest,
       UnlistedEntriesGoListedOnesStayOtherCollectionsUntouched) {
  Put({"a", "b", "c", "d", "e", "f", "g", "z"});
  Put({"b", "x"}, kOtherTag);
  SortedSweep sweep(Cf::kCopy, KeyBuilder(kTag).key());
  // Pages in key order, each sorted here; "bb" and "h" are new.
  ASSERT_TRUE(Page(sweep, {"bb", "a"}).ok());
  ASSERT_TRUE(Page(sweep, {"d"}).ok());
  ASSERT_TRUE(Page(sweep, {"h", "f"}).ok());
  EXPECT_EQ(removed_, (std::vector<std::string>{"b", "c", "e", "g"}));
  EXPECT_EQ(Finish(sweep, 1000), 1);
  EXPECT_EQ(removed_, (std::vector<std::string>{"b", "c", "e", "g", "z"}));
  EXPECT_EQ(Stored(), (std::map<std::string, std::string>{{"a", "new"},
                                                          {"bb", "new"},
                                                          {"d", "new"},
                                                          {"f", "new"},
                                                          {"h", "new"}}));
  EXPECT_EQ(Stored(kOtherTag).size(), 2u);
}

TEST_F(SortedSweepTest, StoredValuesOfListedKeysAreHandedBack) {
  Put({"a", "c"});
  SortedSweep sweep(Cf::kCopy, KeyBuilder(kTag).key());
  std::map<std::string, std::string> stored;
  ASSERT_TRUE(
      store_
          ->Write(
              SystemActor("test"),
              [&](WriteTxn& txn) {
                return sweep.Page(txn, {Key("b"), Key("c")}, remove_, &stored);
              })
          .ok());
  EXPECT_EQ(stored, (std::map<std::string, std::string>{{Key("c"), "old"}}));
  EXPECT_EQ(removed_, (std::vector<std::string>{"a"}));
}

TEST_F(SortedSweepTest, AnEmptyListingRemovesEverythingInBoundedTransactions) {
  std::vector<std::string> ids;
  for (int i = 0; i < 25; ++i) ids.push_back(absl::StrCat("id", 100 + i));
  Put(ids);
  SortedSweep sweep(Cf::kCopy, KeyBuilder(kTag).key());
  ASSERT_TRUE(Page(sweep, {}).ok());
  // 25 keys, 10 per transaction: 3 transactions (the third finds the end).
  EXPECT_EQ(Finish(sweep, 10), 3);
  EXPECT_EQ(removed_.size(), 25u);
  EXPECT_TRUE(Stored().empty());
}

TEST_F(SortedSweepTest, AListingOutOfKeyOrderIsRefusedAndRemovesNothingMore) {
  Put({"a", "b", "c", "m"});
  SortedSweep sweep(Cf::kCopy, KeyBuilder(kTag).key());
  ASSERT_TRUE(Page(sweep, {"c"}).ok());  // a and b go
  const absl::Status s = Page(sweep, {"b"});
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(Page(sweep, {"d", "d"}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(removed_, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Stored().count("m"), 1u);
}

TEST_F(SortedSweepTest, AFailedPageLeavesThePositionWhereItWas) {
  Put({"a", "b", "c"});
  SortedSweep sweep(Cf::kCopy, KeyBuilder(kTag).key());
  absl::Status failed =
      store_
          ->Write(SystemActor("test"),
                  [&](WriteTxn& txn) -> absl::Status {
                    RETURN_IF_ERROR(sweep.Page(txn, {Key("c")}, remove_));
                    return absl::AbortedError("the page could not be written");
                  })
          .status();
  ASSERT_FALSE(failed.ok());
  // Nothing was removed (rolled back); the same page again works.
  EXPECT_EQ(Stored().size(), 3u);
  removed_.clear();
  ASSERT_TRUE(Page(sweep, {"c"}).ok());
  EXPECT_EQ(removed_, (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace salesops
