// The store's defences (issue 16, D27): --init, epochs, the entity size
// limit, request_id per principal, the free-space reserve, backups and
// restores, byte-bounded feed reads and event fingerprints.

#include <gtest/gtest.h>
#include <rocksdb/convenience.h>
#include <rocksdb/utilities/options_util.h>
#include <sys/statvfs.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "common/store/store.h"
#include "common/store/store_internal.h"
#include "common/testing/temp_dir.h"
#include "salesops/testing/testing.pb.h"

namespace salesops {
namespace {

enum class TestCf { kEntities = 0 };

StoreOptions Options() {
  StoreOptions o;
  o.column_families = {"entities"};
  o.sync_writes = false;
  o.min_free_disk_bytes = 0;
  return o;
}

salesops::testing::TestEntity Entity(const std::string& id,
                                     const std::string& name) {
  salesops::testing::TestEntity e;
  e.set_id(id);
  e.set_name(name);
  e.set_version(1);
  return e;
}

// Writes entity `id` with its event; returns the write's status.
absl::Status Put(Store& store, const std::string& id,
                 const std::string& name = "n",
                 Actor actor = SystemActor("t")) {
  return store
      .Write(std::move(actor),
             [&](WriteTxn& txn) {
               txn.Put(TestCf::kEntities, id, name);
               txn.Emit("test.Entity", id, Entity(id, name));
               return absl::OkStatus();
             })
      .status();
}

int64_t FreeBytes(const std::string& dir) {
  struct statvfs fs;
  EXPECT_EQ(statvfs(dir.c_str(), &fs), 0);
  return static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
}

TEST(StoreInit, MissingOrEmptyDirIsRefusedWithoutCreate) {
  salesops::testing::TempDir dir;
  StoreOptions o = Options();
  o.create_if_missing = false;
  for (const std::string& path : {dir.Sub("missing"), dir.path()}) {
    auto store = Store::Open(path, o);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(store.status().message().find("--init"), std::string::npos)
        << store.status();
  }
  // Created once, it opens again without create.
  ASSERT_TRUE(Store::Open(dir.Sub("made"), Options()).ok());
  EXPECT_TRUE(Store::Open(dir.Sub("made"), o).ok());
}

TEST(StoreInit, DirWithOtherFilesIsRefusedEvenWithCreate) {
  salesops::testing::TempDir dir;
  std::ofstream(dir.Sub("notes.txt")) << "not a store";
  auto store = Store::Open(dir.path(), Options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("notes.txt"), std::string::npos);
}

TEST(StoreEpoch, MadeOnceAndKeptAcrossReopens) {
  salesops::testing::TempDir dir;
  std::string first;
  {
    auto store = Store::Open(dir.path(), Options()).value();
    first = store->epoch();
    EXPECT_EQ(first.size(), 32u);
  }
  auto again = Store::Open(dir.path(), Options()).value();
  EXPECT_EQ(again->epoch(), first);
  salesops::testing::TempDir other;
  EXPECT_NE(Store::Open(other.path(), Options()).value()->epoch(), first);
}

// A rarely written column family must not keep every WAL alive: the WAL a
// crash replays is bounded (issue 21: pipeline took 31.9 s to start cold
// after a 1 M load). Read back from the OPTIONS file RocksDB persists.
TEST(StoreRecovery, TheWalARestartReplaysIsBounded) {
  salesops::testing::TempDir dir;
  { auto store = Store::Open(dir.path(), Options()).value(); }
  rocksdb::ConfigOptions config;
  config.ignore_unknown_options = true;
  rocksdb::DBOptions db;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  ASSERT_TRUE(
      rocksdb::LoadLatestOptions(config, dir.path(), &db, &families).ok());
  EXPECT_EQ(db.max_total_wal_size, store_internal::kMaxTotalWalBytes);
  EXPECT_GT(db.max_total_wal_size, 0u);  // 0 = RocksDB's 4x memtables
}

TEST(StoreLimits, OversizedEntityIsRefusedAndWritesNothing) {
  salesops::testing::TempDir dir;
  StoreOptions o = Options();
  o.max_entity_bytes = 4096;
  auto store = Store::Open(dir.path(), o).value();
  const absl::Status big = Put(*store, "big", std::string(5000, 'x'));
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(big.message().find("--max_entity_bytes"), std::string::npos) << big;
  EXPECT_EQ(store->Get(TestCf::kEntities, "big").value(), std::nullopt);
  EXPECT_EQ(store->last_sequence(), 0u);
  EXPECT_TRUE(Put(*store, "fits", std::string(4000, 'x')).ok());
  EXPECT_EQ(store->last_sequence(), 1u);
}

TEST(StoreRequests, RequestIdsArePerPrincipal) {
  salesops::testing::TempDir dir;
  auto store = Store::Open(dir.path(), Options()).value();
  auto put = [&](const std::string& who, const std::string& result) {
    return store
        ->Write(Actor{who, "REP", "Create"},
                [&](WriteTxn& txn) {
                  salesops::testing::TestEntity entity;
                  entity.set_name(result);
                  txn.PutRequest("Create", "r1", "fp", entity);
                  return absl::OkStatus();
                })
        .status();
  };
  auto get = [&](const std::string& who) {
    std::optional<WriteTxn::RequestRecord> seen;
    EXPECT_TRUE(store
                    ->Write(Actor{who, "REP", "Create"},
                            [&](WriteTxn& txn) -> absl::Status {
                              ASSIGN_OR_RETURN(seen,
                                               txn.GetRequest("Create", "r1"));
                              return absl::OkStatus();
                            })
                    .ok());
    return seen;
  };
  ASSERT_TRUE(put("alice", "alice's").ok());
  EXPECT_EQ(get("bob"), std::nullopt);
  ASSERT_TRUE(get("alice").has_value());
  salesops::testing::TestEntity seen;
  ASSERT_TRUE(seen.ParseFromString(get("alice")->result));
  EXPECT_EQ(seen.name(), "alice's");
}

TEST(StoreDisk, BelowTheReserveWritesAreRefusedAndReadsWork) {
  salesops::testing::TempDir dir;
  { ASSERT_TRUE(Put(*Store::Open(dir.path(), Options()).value(), "e1").ok()); }
  StoreOptions o = Options();
  // More than the file system has free: every write is refused.
  o.min_free_disk_bytes = FreeBytes(dir.path()) + (int64_t{1} << 40);
  std::atomic<int> refused{0};
  o.on_write_refused = [&] { ++refused; };
  auto store = Store::Open(dir.path(), o).value();
  const absl::Status s = Put(*store, "e2");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("disk full"), std::string::npos) << s;
  EXPECT_EQ(refused.load(), 1);
  EXPECT_EQ(store->Get(TestCf::kEntities, "e1").value(), "n");
  EXPECT_EQ(store->Get(TestCf::kEntities, "e2").value(), std::nullopt);
  EXPECT_EQ(store->last_sequence(), 1u);
  EXPECT_GT(store->disk_free_bytes(), 0);
}

TEST(StoreBackup,
     BackupUnderWritesHoldsEveryAcknowledgedWriteAndRestoresWithANewEpoch) {
  salesops::testing::TempDir dir;
  auto store = Store::Open(dir.Sub("data"), Options()).value();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(Put(*store, absl::StrCat("before", i)).ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> during{0};
  std::thread writer([&] {
    for (int i = 0; i < 100'000 && !stop.load(); ++i) {
      if (Put(*store, absl::StrCat("during", i)).ok()) {
        ++during;
      }
    }
  });
  const uint64_t acknowledged = store->last_sequence();
  absl::StatusOr<BackupInfo> backup =
      store->CreateBackup(dir.Sub("backups"), 2);
  stop.store(true);
  writer.join();
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(backup->epoch, store->epoch());
  EXPECT_GE(backup->last_sequence, acknowledged);
  ASSERT_TRUE(store->CreateBackup(dir.Sub("backups"), 2).ok());
  ASSERT_TRUE(store->CreateBackup(dir.Sub("backups"), 2).ok());
  auto listed = Store::ListBackups(dir.Sub("backups")).value();
  ASSERT_EQ(listed.size(), 2u);  // keep = 2
  EXPECT_GT(listed[0].id, backup->id);

  StoreOptions o = Options();
  o.create_if_missing = false;
  o.restore_from_backup_dir = dir.Sub("backups");
  o.restore_backup_id = listed[0].id;
  auto restored = Store::Open(dir.Sub("restored"), o).value();
  EXPECT_NE(restored->epoch(), store->epoch());
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(restored->Get(TestCf::kEntities, absl::StrCat("before", i))
                    .value()
                    .has_value());
  }
  EXPECT_GE(restored->last_sequence(), acknowledged);
  // Events and entities came back together: one event per entity written.
  uint64_t events = 0;
  ASSERT_TRUE(restored
                  ->ReadEvents(0, 1'000'000,
                               [&](v1::Event&) {
                                 ++events;
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(events, restored->last_sequence());
  // A restore never writes into a store that is there.
  auto again = Store::Open(dir.Sub("restored"), o);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(StoreBackup, WithoutABackupDirIsAFailedPrecondition) {
  salesops::testing::TempDir dir;
  auto store = Store::Open(dir.path(), Options()).value();
  EXPECT_EQ(store->CreateBackup("", 3).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Store::ListBackups(dir.Sub("none")).value().empty());
}

TEST(StoreFeed, ReadsAreBoundedByBytesAndCarryStableFingerprints) {
  salesops::testing::TempDir dir;
  auto store = Store::Open(dir.path(), Options()).value();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        Put(*store, absl::StrCat("e", i), std::string(1000, 'a' + i)).ok());
  }
  std::vector<uint64_t> fingerprints;
  ASSERT_TRUE(store
                  ->ReadEvents(0, 100, 2500,
                               [&](v1::Event&, uint64_t fp) {
                                 fingerprints.push_back(fp);
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(fingerprints.size(), 2u);  // 3 events would pass 2,500 bytes
  std::set<uint64_t> distinct;
  ASSERT_TRUE(store
                  ->ReadEvents(0, 100, SIZE_MAX,
                               [&](v1::Event& e, uint64_t fp) {
                                 distinct.insert(fp);
                                 EXPECT_EQ(
                                     store->FingerprintAt(e.sequence()).value(),
                                     fp);
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(distinct.size(), 10u);
  EXPECT_EQ(fingerprints[0], *store->FingerprintAt(1).value());
  EXPECT_EQ(store->FingerprintAt(11).value(), std::nullopt);
  EXPECT_EQ(store->FingerprintAt(0).value(), std::nullopt);
  // The same bytes hash the same in any process: a fixed value.
  EXPECT_EQ(EventFingerprint(""), EventFingerprint(""));
  EXPECT_NE(EventFingerprint("a"), EventFingerprint("b"));
}

TEST(StoreFeed,
     CursorKeepsEpochAndFingerprintAndPutCursorForgetsTheFingerprint) {
  salesops::testing::TempDir dir;
  auto store = Store::Open(dir.path(), Options()).value();
  ASSERT_TRUE(store
                  ->Write(SystemActor("t"),
                          [](WriteTxn& txn) {
                            txn.PutFeedCursor("src", {7, "e1", 42});
                            return absl::OkStatus();
                          })
                  .ok());
  FeedCursor c = store->GetFeedCursor("src").value();
  EXPECT_EQ(c.sequence, 7u);
  EXPECT_EQ(c.epoch, "e1");
  EXPECT_EQ(c.fingerprint, 42u);
  ASSERT_TRUE(store
                  ->Write(SystemActor("t"),
                          [](WriteTxn& txn) {
                            txn.PutCursor("src", 9);
                            return absl::OkStatus();
                          })
                  .ok());
  c = store->GetFeedCursor("src").value();
  EXPECT_EQ(c.sequence, 9u);
  EXPECT_EQ(c.epoch, "e1");
  EXPECT_EQ(c.fingerprint, 0u);
}

}  // namespace
}  // namespace salesops
