#include "common/store/store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "common/store/key.h"
#include "common/testing/temp_dir.h"
#include "salesops/testing/testing.pb.h"

namespace salesops {
namespace {

enum class TestCf { kEntities = 0, kIndex = 1 };

StoreOptions Options(Clock* clock = nullptr) {
  StoreOptions o;
  o.column_families = {"entities", "index"};
  o.sync_writes =
      false;  // tests do not need fsync; durability is shown by the e2e tests
  o.clock = clock;
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

std::vector<v1::Event> AllEvents(const Store& store, uint64_t after = 0) {
  std::vector<v1::Event> out;
  EXPECT_TRUE(store
                  .ReadEvents(after, 1'000'000,
                              [&](v1::Event& e) {
                                out.push_back(e);
                                return true;
                              })
                  .ok());
  return out;
}

TEST(Store, WriteReadAndEventInOneBatch) {
  salesops::testing::TempDir dir;
  FakeClock clock;
  auto store = Store::Open(dir.path(), Options(&clock)).value();
  auto result = store->Write(SystemActor("test"), [](WriteTxn& txn) {
    txn.Put(TestCf::kEntities, "e1", "v1");
    txn.Put(TestCf::kIndex, "name:alpha", "e1");
    txn.Emit("test.Entity", "e1", Entity("e1", "alpha"));
    return absl::OkStatus();
  });
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->first_sequence, 1u);
  EXPECT_EQ(result->last_sequence, 1u);
  EXPECT_EQ(store->Get(TestCf::kEntities, "e1").value(), "v1");
  EXPECT_EQ(store->Get(TestCf::kIndex, "name:alpha").value(), "e1");
  EXPECT_EQ(store->Get(TestCf::kEntities, "nope").value(), std::nullopt);
  auto events = AllEvents(*store);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind(), "test.Entity");
  EXPECT_EQ(events[0].time_micros(), absl::ToUnixMicros(clock.Now()));
  salesops::testing::TestEntity state;
  ASSERT_TRUE(events[0].payload().UnpackTo(&state));
  EXPECT_EQ(state.name(), "alpha");
}

TEST(Store, FailedTransactionLeavesNothingBehind) {
  salesops::testing::TempDir dir;
  auto store = Store::Open(dir.path(), Options()).value();
  auto failed =
      store->Write(SystemActor("test"), [](WriteTxn& txn) -> absl::Status {
        txn.Put(TestCf::kEntities, "e1", "v1");
        txn.Put(TestCf::kIndex, "name:alpha", "e1");
        txn.Emit("test.Entity", "e1", Entity("e1", "alpha"));
        return absl::InvalidArgumentError("name: rejected after writing");
      });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Get(TestCf::kEntities, "e1").value(), std::nullopt);
  EXPECT_EQ(store->Get(TestCf::kIndex, "name:alpha").value(), std::nullopt);
  EXPECT_EQ(store->last_sequence(), 0u);
  EXPECT_TRUE(AllEvents(*store).empty());
  // The sequence the failed write took is handed out again: the feed stays
  // dense.
  auto ok = store->Write(SystemActor("test"), [](WriteTxn& txn) {
    txn.Emit("test.Entity", "e2", Entity("e2", "beta"));
    return absl::OkStatus();
  });
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->first_sequence, 1u);
}

// WriteAsync: each callback gets what Write would have returned, on the
// completion thread, after its batch is committed; failures roll back just
// that write; closing the store delivers every queued write's result.
TEST(Store, WriteAsyncDeliversEachResultAfterItsCommit) {
  salesops::testing::TempDir dir;
  auto store = Store::Open(dir.path(), Options()).value();
  constexpr int kWrites = 200;
  std::mutex mu;
  std::condition_variable cv;
  int delivered = 0;
  std::vector<absl::StatusOr<CommitResult>> results(kWrites);
  std::vector<bool> visible(kWrites, false);
  std::set<std::thread::id> threads;
  for (int i = 0; i < kWrites; ++i) {
    const std::string key = absl::StrCat("e", i);
    store->WriteAsync(
        SystemActor("test"),
        [i, key](WriteTxn& txn) -> absl::Status {
          txn.Put(TestCf::kEntities, key, "v");
          txn.Emit("test.Entity", key, Entity(key, "x"));
          if (i % 10 == 3) {
            return absl::FailedPreconditionError("every tenth is refused");
          }
          return absl::OkStatus();
        },
        [&, i, key](absl::StatusOr<CommitResult> r) {
          // Committed before the callback: a read already sees it.
          const bool seen =
              store->Get(TestCf::kEntities, key).value().has_value();
          std::lock_guard<std::mutex> lock(mu);
          results[i] = std::move(r);
          visible[i] = seen;
          threads.insert(std::this_thread::get_id());
          ++delivered;
          cv.notify_all();
        });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30),
                            [&] { return delivered == kWrites; }));
  }
  std::set<uint64_t> sequences;
  for (int i = 0; i < kWrites; ++i) {
    if (i % 10 == 3) {
      EXPECT_EQ(results[i].status().code(),
                absl::StatusCode::kFailedPrecondition);
      EXPECT_FALSE(visible[i]) << i;
      continue;
    }
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status();
    EXPECT_TRUE(visible[i]) << i;
    EXPECT_EQ(results[i]->first_sequence, results[i]->last_sequence);
    sequences.insert(results[i]->first_sequence);
  }
  // Dense: the refused writes' sequences were handed out again.
  EXPECT_EQ(sequences.size(), 180u);
  EXPECT_EQ(*sequences.begin(), 1u);
  EXPECT_EQ(*sequences.rbegin(), 180u);
  EXPECT_EQ(store->last_sequence(), 180u);
  EXPECT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

TEST(Store, ClosingDeliversEveryQueuedAsyncWrite) {
  salesops::testing::TempDir dir;
  std::atomic<int> ok{0};
  {
    auto store = Store::Open(dir.path(), Options()).value();
    for (int i = 0; i < 50; ++i) {
      store->WriteAsync(
          SystemActor("test"),
          [i](WriteTxn& txn) {
            txn.Put(TestCf::kEntities, absl::StrCat("e", i), "v");
            return absl::OkStatus();
          },
          [&ok](absl::StatusOr<CommitResult> r) {
            if (r.ok()) ++ok;
          });
    }
  }  // ~Store commits what is queued and runs every callback first
  EXPECT_EQ(ok.load(), 50);
  auto store = Store::Open(dir.path(), Options()).value();
  EXPECT_EQ(store->Get(TestCf::kEntities, "e49").value(), "v");
}

TEST(Store, ReadsInsideTransactionSeeEarlierWritesOfTheGroup) {
  salesops::testing::TempDir dir;
  auto store = Store::Open(dir.path(), Options()).value();
  // Many writers race to claim the same unique key; the check runs on the
  // commit path against state that includes earlier transactions of the same
  // group, so exactly one wins.
  constexpr int kWriters = 16;
  std::vector<std::thread> threads;
  std::vector<absl::Status> results(kWriters);
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      results[i] =
          store
              ->Write(SystemActor("test"),
                      [i](WriteTxn& txn) -> absl::Status {
                        ASSIGN_OR_RETURN(auto existing,
                                         txn.Get(TestCf::kIndex, "unique"));
                        if (existing) {
                          return absl::AlreadyExistsError("taken");
                        }
                        txn.Put(TestCf::kIndex, "unique", std::to_string(i));
                        return absl::OkStatus();
                      })
              .status();
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  int winners = 0;
  for (const auto& s : results) {
    if (s.ok()) {
      ++winners;
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
    }
  }
  EXPECT_EQ(winners, 1);
}

TEST(Store,
     OwnWritesAreVisibleAndRolledBackWritesAreNotSeenByLaterTransactions) {
  salesops::testing::TempDir dir;
  auto store = Store::Open(dir.path(), Options()).value();
  std::optional<std::string> seen_own;
  ASSERT_TRUE(store
                  ->Write(SystemActor("test"),
                          [&](WriteTxn& txn) -> absl::Status {
                            txn.Put(TestCf::kEntities, "k", "mine");
                            ASSIGN_OR_RETURN(seen_own,
                                             txn.Get(TestCf::kEntities, "k"));
                            return absl::OkStatus();
                          })
                  .ok());
  EXPECT_EQ(seen_own, "mine");
  ASSERT_FALSE(store
                   ->Write(SystemActor("test"),
                           [](WriteTxn& txn) -> absl::Status {
                             txn.Delete(TestCf::kEntities, "k");
                             return absl::AbortedError("changed my mind");
                           })
                   .ok());
  EXPECT_EQ(store->Get(TestCf::kEntities, "k").value(), "mine");
}

TEST(Store, OutboxSequencesAreDenseAndIncreasingWithEightConcurrentWriters) {
  salesops::testing::TempDir dir;
  auto store = Store::Open(dir.path(), Options()).value();
  constexpr int kWriters = 8;
  constexpr int kWritesEach = 250;
  std::vector<std::vector<uint64_t>> seen(kWriters);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kWritesEach; ++i) {
        const int events = 1 + (i % 3);  // 1..3 events per write
        auto r = store->Write(
            SystemActor("test"), [&](WriteTxn& txn) -> absl::Status {
              if (i % 10 == 9) {
                txn.Emit("test.Entity", "doomed", Entity("doomed", "x"));
                return absl::FailedPreconditionError("every tenth write fails");
              }
              for (int e = 0; e < events; ++e) {
                const std::string id = absl::StrCat("w", w, "-", i, "-", e);
                txn.Put(TestCf::kEntities, id, "v");
                txn.Emit("test.Entity", id, Entity(id, "n"));
              }
              return absl::OkStatus();
            });
        if (i % 10 == 9) {
          EXPECT_FALSE(r.ok());
          continue;
        }
        ASSERT_TRUE(r.ok()) << r.status();
        ASSERT_EQ(r->last_sequence - r->first_sequence + 1,
                  static_cast<uint64_t>(events));
        for (uint64_t s = r->first_sequence; s <= r->last_sequence; ++s) {
          seen[w].push_back(s);
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }

  std::vector<uint64_t> all;
  for (const auto& v : seen) {
    // Each writer's own sequences increase: later acknowledged writes commit
    // later.
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    all.insert(all.end(), v.begin(), v.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_FALSE(all.empty());
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i], i + 1) << "gap or duplicate";
  }
  EXPECT_EQ(store->last_sequence(), all.size());
  // The outbox holds exactly those events, in order, none from failed writes.
  auto events = AllEvents(*store);
  ASSERT_EQ(events.size(), all.size());
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].sequence(), i + 1);
    EXPECT_NE(events[i].entity_id(), "doomed");
  }
}

TEST(Store, ReopenRecoversFeedPositionAndData) {
  salesops::testing::TempDir dir;
  {
    auto store = Store::Open(dir.path(), Options()).value();
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(store
                      ->Write(SystemActor("test"),
                              [&](WriteTxn& txn) {
                                txn.Put(TestCf::kEntities, absl::StrCat("k", i),
                                        "v");
                                txn.Emit("test.Entity", absl::StrCat("k", i),
                                         Entity("k", "n"));
                                txn.PutCursor("peer", 40 + i);
                                return absl::OkStatus();
                              })
                      .ok());
    }
    ASSERT_TRUE(store->TrimOutbox(3).ok());
  }
  auto store = Store::Open(dir.path(), Options()).value();
  EXPECT_EQ(store->last_sequence(), 5u);
  EXPECT_EQ(store->first_sequence(), 3u);
  EXPECT_EQ(store->GetCursor("peer").value(), 44u);
  EXPECT_EQ(store->GetCursor("other").value(), 0u);
  auto r = store->Write(SystemActor("test"), [](WriteTxn& txn) {
    txn.Emit("test.Entity", "k9", Entity("k9", "n"));
    return absl::OkStatus();
  });
  EXPECT_EQ(r->first_sequence, 6u);
  auto events = AllEvents(*store, 2);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events.front().sequence(), 3u);
}

// Stored tables are compressed (D50): LZ4 for a flushed table. CRM rows
// repeat themselves (names, stages, currencies), so the table is well under
// the bytes written.
TEST(Store, FlushedTablesAreCompressed) {
  salesops::testing::TempDir dir;
  auto store = Store::Open(dir.path(), Options()).value();
  uint64_t raw = 0;
  for (int batch = 0; batch < 20; ++batch) {
    ASSERT_TRUE(
        store
            ->Write(SystemActor("test"),
                    [&](WriteTxn& txn) {
                      for (int i = 0; i < 500; ++i) {
                        const std::string id =
                            absl::StrCat("opp-", batch, "-", i);
                        std::string value =
                            Entity(id, absl::StrCat("Expansion of the ERP "
                                                    "rollout, stage NEGOTIATION"
                                                    ", EUR, region Europe #",
                                                    i % 7))
                                .SerializeAsString();
                        raw += id.size() + value.size();
                        txn.Put(TestCf::kEntities, id, std::move(value));
                      }
                      return absl::OkStatus();
                    })
            .ok());
  }
  rocksdb::DB* db = store->db();
  rocksdb::ColumnFamilyHandle* entities = nullptr;
  for (const auto& [name, handle] : store->column_families()) {
    if (name == "entities") entities = handle;
  }
  ASSERT_NE(entities, nullptr);
  ASSERT_TRUE(db->Flush(rocksdb::FlushOptions(), entities).ok());
  rocksdb::TablePropertiesCollection tables;
  ASSERT_TRUE(db->GetPropertiesOfAllTables(entities, &tables).ok());
  ASSERT_FALSE(tables.empty());
  uint64_t stored = 0;
  for (const auto& [file, props] : tables) {
    if (props->num_entries >= 10'000) {  // the entities' table
      EXPECT_EQ(props->compression_name, "LZ4") << file;
      stored += props->data_size;
    }
  }
  ASSERT_GT(stored, 0u);
  EXPECT_LT(stored * 2, raw) << "stored " << stored << " of " << raw;
  std::cout << "entities: " << raw << " bytes written, " << stored
            << " bytes stored\n";
}

TEST(Store, TrimByAgeKeepsNewerEvents) {
  salesops::testing::TempDir dir;
  FakeClock clock;
  StoreOptions options = Options(&clock);
  options.outbox_retention =
      absl::ZeroDuration();  // no background trimming in this test
  auto store = Store::Open(dir.path(), options).value();
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(store
                    ->Write(SystemActor("test"),
                            [&](WriteTxn& txn) {
                              txn.Emit("test.Entity", "e", Entity("e", "n"));
                              return absl::OkStatus();
                            })
                    .ok());
    clock.Advance(absl::Hours(1));
  }
  // Events at t0..t0+5h; trimming before t0+3h keeps 4, 5, 6.
  ASSERT_TRUE(store->TrimOutboxBefore(clock.Now() - absl::Hours(3)).ok());
  EXPECT_EQ(store->first_sequence(), 4u);
  EXPECT_EQ(AllEvents(*store).front().sequence(), 4u);
  ASSERT_TRUE(store->TrimOutboxBefore(clock.Now()).ok());
  EXPECT_EQ(store->first_sequence(), 7u);
  EXPECT_TRUE(AllEvents(*store).empty());
}

TEST(Store, WaitForEventsWakesOnCommit) {
  salesops::testing::TempDir dir;
  auto store = Store::Open(dir.path(), Options()).value();
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(store
                    ->Write(SystemActor("test"),
                            [](WriteTxn& txn) {
                              txn.Emit("test.Entity", "e", Entity("e", "n"));
                              return absl::OkStatus();
                            })
                    .ok());
  });
  const absl::Time start = absl::Now();
  EXPECT_EQ(store->WaitForEvents(0, absl::Now() + absl::Seconds(10)), 1u);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  writer.join();
  // Times out when nothing arrives.
  EXPECT_EQ(store->WaitForEvents(1, absl::Now() + absl::Milliseconds(20)), 1u);
}

TEST(Store, RejectsReservedColumnFamilyNames) {
  salesops::testing::TempDir dir;
  StoreOptions o = Options();
  o.column_families = {"outbox"};
  EXPECT_EQ(Store::Open(dir.path(), o).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace salesops
