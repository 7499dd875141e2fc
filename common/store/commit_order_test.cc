// SortForInsert (D62): a group's writes reach the memtables in key order, and
// the database ends up exactly as with the writes in their own order.

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/store/store_internal.h"
#include "common/testing/temp_dir.h"

namespace salesops {
namespace {

using store_internal::SortForInsert;

class CommitOrderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rocksdb::DBOptions o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"a", {}}, {"b", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir_.path(), cfs, &handles, &db).ok());
    db_.reset(db);
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      owned_.emplace_back(h);
      if (by_id_.size() <= h->GetID()) by_id_.resize(h->GetID() + 1, nullptr);
      by_id_[h->GetID()] = h;
    }
  }
  void TearDown() override {
    for (auto& h : owned_) {
      db_->DestroyColumnFamilyHandle(h.release()).PermitUncheckedError();
    }
  }

  // Every key and value of column families a and b.
  std::map<std::string, std::string> Contents() {
    std::map<std::string, std::string> out;
    for (int i = 1; i <= 2; ++i) {
      std::unique_ptr<rocksdb::Iterator> it(
          db_->NewIterator(rocksdb::ReadOptions(), owned_[i].get()));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        out[std::to_string(i) + "/" + it->key().ToString()] =
            it->value().ToString();
      }
    }
    return out;
  }

  salesops::testing::TempDir dir_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<std::unique_ptr<rocksdb::ColumnFamilyHandle>> owned_;
  std::vector<rocksdb::ColumnFamilyHandle*> by_id_;
};

TEST_F(CommitOrderTest, SortedBatchLeavesWhatTheBatchWouldLeave) {
  rocksdb::ColumnFamilyHandle* a = owned_[1].get();
  rocksdb::ColumnFamilyHandle* b = owned_[2].get();
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    rocksdb::WriteBatch batch;
    std::map<std::string, std::string> expected = Contents();
    for (int i = 0; i < 200; ++i) {
      const int cf = static_cast<int>(rng() % 2);
      const std::string key = "k" + std::to_string(rng() % 40);
      const std::string name = std::to_string(cf + 1) + "/" + key;
      if (rng() % 4 == 0) {
        ASSERT_TRUE(batch.Delete(cf == 0 ? a : b, key).ok());
        expected.erase(name);
      } else {
        const std::string value = std::to_string(round * 1000 + i);
        ASSERT_TRUE(batch.Put(cf == 0 ? a : b, key, value).ok());
        expected[name] = value;
      }
    }
    rocksdb::WriteBatch sorted;
    ASSERT_TRUE(SortForInsert(batch, by_id_, &sorted));
    EXPECT_EQ(sorted.Count(), batch.Count());
    ASSERT_TRUE(db_->Write(rocksdb::WriteOptions(), &sorted).ok());
    EXPECT_EQ(Contents(), expected) << "round " << round;
  }
}

TEST_F(CommitOrderTest, OtherRecordsOrUnknownFamiliesAreNotSorted) {
  rocksdb::WriteBatch sorted;
  rocksdb::WriteBatch merge;
  ASSERT_TRUE(merge.Put(owned_[1].get(), "x", "1").ok());
  ASSERT_TRUE(merge.Merge(owned_[1].get(), "x", "2").ok());
  EXPECT_FALSE(SortForInsert(merge, by_id_, &sorted));
  rocksdb::WriteBatch range;
  ASSERT_TRUE(range.DeleteRange(owned_[2].get(), "a", "b").ok());
  EXPECT_FALSE(SortForInsert(range, by_id_, &sorted));
  rocksdb::WriteBatch unknown;
  ASSERT_TRUE(unknown.Put(owned_[2].get(), "x", "1").ok());
  EXPECT_FALSE(SortForInsert(unknown, {by_id_[0], by_id_[1]}, &sorted));
}

}  // namespace
}  // namespace salesops
