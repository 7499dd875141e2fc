// request_id records (docs/DECISIONS.md D53): what a retry needs instead of a
// copy of the entity, a window after which the request_id is new, and
// compaction dropping expired records.

#include <gtest/gtest.h>

#include <future>

#include "common/status/status.h"
#include "common/store/ids.h"
#include "common/store/key.h"
#include "common/store/store_internal.h"
#include "common/store/table.h"
#include "common/testing/temp_dir.h"
#include "salesops/testing/testing.pb.h"

namespace salesops {
namespace {

using salesops::testing::TestEntity;

enum class Cf { kEntities = 0 };
constexpr uint8_t kEntityTag = 1;

class RequestRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.column_families = {"entities"};
    o.sync_writes = false;
    o.clock = &clock_;
    o.request_id_retention = absl::Hours(24);
    o.outbox_retention = absl::ZeroDuration();
    store_ = Store::Open(dir_.path(), o).value();
    table_ = std::make_unique<Table<TestEntity>>(store_.get(), Cf::kEntities,
                                                 kEntityTag, "test.TestEntity",
                                                 "test entity");
  }

  // A create with request_id `rid`: a new entity named `name`, or the first
  // answer of a retry.
  absl::StatusOr<TestEntity> Create(const std::string& name,
                                    const std::string& rid) {
    TestEntity request;
    request.set_name(name);
    TestEntity out;
    RETURN_IF_ERROR(store_
                        ->Write(Actor{"alice", "REP", "Create"},
                                [&](WriteTxn& txn) {
                                  return CreateOnce(
                                      txn, "Create", rid, request, &out,
                                      [&]() -> absl::Status {
                                        out.set_id(NewId("tst", txn.now()));
                                        out.set_name(name);
                                        return table_->Insert(txn, out.id(),
                                                              &out);
                                      });
                                })
                        .status());
    return out;
  }

  absl::Status Rename(const std::string& id, const std::string& name) {
    return store_
        ->Write(SystemActor("test"),
                [&](WriteTxn& txn) -> absl::Status {
                  ASSIGN_OR_RETURN(TestEntity e, table_->Get(txn, id));
                  e.set_name(name);
                  return table_->Update(txn, id, 0, &e);
                })
        .status();
  }

  // The transaction function of Create (above), for WriteAsync.
  TxnFn CreateFn(const std::string& name, const std::string& rid,
                 TestEntity* out) {
    return [this, name, rid, out](WriteTxn& txn) {
      TestEntity request;
      request.set_name(name);
      return CreateOnce(txn, "Create", rid, request, out,
                        [&]() -> absl::Status {
                          out->set_id(NewId("tst", txn.now()));
                          out->set_name(name);
                          return table_->Insert(txn, out->id(), out);
                        });
    };
  }

  // The stored request_id records: their count and largest value.
  std::pair<int, size_t> Records() {
    int count = 0;
    size_t largest = 0;
    rocksdb::ColumnFamilyHandle* meta =
        store_->column_families()[store_internal::kMetaCf].second;
    std::unique_ptr<rocksdb::Iterator> it(
        store_->db()->NewIterator(rocksdb::ReadOptions(), meta));
    const std::string prefix = KeyBuilder(store_internal::kMetaRequest).key();
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      ++count;
      largest = std::max(largest, it->value().size());
    }
    return {count, largest};
  }

  FakeClock clock_;
  salesops::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Table<TestEntity>> table_;
};

TEST_F(RequestRecordTest, RetryWithinTheWindowGetsTheFirstAnswer) {
  const TestEntity first = Create("alpha", "r1").value();
  ASSERT_TRUE(Rename(first.id(), "beta").ok());
  clock_.Advance(absl::Hours(23));
  const uint64_t events = store_->last_sequence();
  const TestEntity retry = Create("alpha", "r1").value();
  // The first answer exactly (version 1, the first name), not the entity now.
  EXPECT_EQ(retry.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(store_->last_sequence(), events);
  // A different request under the same id is still refused.
  EXPECT_EQ(Create("gamma", "r1").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(RequestRecordTest, RecordHoldsNoCopyOfTheEntity) {
  const std::string big(4000, 'x');
  ASSERT_TRUE(Create(big, "r1").ok());
  const auto [count, largest] = Records();
  EXPECT_EQ(count, 1);
  // Time, fingerprint, sequence, kind and id: far below the entity's size.
  EXPECT_LT(largest, 100u);
}

TEST_F(RequestRecordTest, AfterTheWindowTheRequestIdIsANewRequest) {
  const TestEntity first = Create("alpha", "r1").value();
  clock_.Advance(absl::Hours(24));
  const TestEntity again = Create("alpha", "r1").value();
  EXPECT_NE(again.id(), first.id());
  // The new request's record answers its own retries.
  clock_.Advance(absl::Hours(1));
  EXPECT_EQ(Create("alpha", "r1")->id(), again.id());
}

TEST_F(RequestRecordTest, ExpiredRecordsAreGoneAfterCompaction) {
  ASSERT_TRUE(Create("alpha", "old").ok());
  clock_.Advance(absl::Hours(20));
  ASSERT_TRUE(Create("beta", "young").ok());
  EXPECT_EQ(Records().first, 2);
  clock_.Advance(absl::Hours(5));  // "old" is 25 h old, "young" 5 h
  ASSERT_TRUE(store_->CompactAll().ok());
  EXPECT_EQ(Records().first, 1);
  const TestEntity young = Create("beta", "young").value();
  EXPECT_EQ(young.name(), "beta");
  EXPECT_EQ(store_->last_sequence(), 2u);  // a retry: nothing new
}

TEST_F(RequestRecordTest, TrimmedEventFallsBackToTheEntityNow) {
  const TestEntity first = Create("alpha", "r1").value();
  ASSERT_TRUE(Rename(first.id(), "beta").ok());
  ASSERT_TRUE(store_->TrimOutbox(store_->last_sequence() + 1).ok());
  const TestEntity retry = Create("alpha", "r1").value();
  EXPECT_EQ(retry.id(), first.id());
  EXPECT_EQ(retry.name(), "beta");
  EXPECT_EQ(retry.version(), 2);
}

// Events and audit records of a group are written past the batch's index
// (D62): a retry in the same group still finds its first answer, and a
// function rolled back before it, whose sequence numbers the first request
// took over, leaves neither an event nor an audit record behind.
TEST_F(RequestRecordTest, RetryInTheSameGroupGetsTheFirstAnswer) {
  // Hold the committer so the writes below queue up and form one group.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> held;
  std::vector<std::future<absl::StatusOr<CommitResult>>> results;
  auto queue = [&](TxnFn fn) {
    auto p = std::make_shared<std::promise<absl::StatusOr<CommitResult>>>();
    results.push_back(p->get_future());
    store_->WriteAsync(
        Actor{"alice", "REP", "Create"}, std::move(fn),
        [p](absl::StatusOr<CommitResult> r) { p->set_value(std::move(r)); });
  };
  queue([&](WriteTxn&) {
    held.set_value();
    released.wait_for(std::chrono::seconds(10));
    return absl::OkStatus();
  });
  ASSERT_EQ(held.get_future().wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  TestEntity doomed;
  doomed.set_id("tst-doomed");
  queue([&](WriteTxn& txn) -> absl::Status {
    RETURN_IF_ERROR(table_->Insert(txn, doomed.id(), &doomed));
    return absl::AbortedError("rolled back");
  });
  TestEntity first, retry, other;
  queue(CreateFn("alpha", "r1", &first));
  queue(CreateFn("alpha", "r1", &retry));
  queue(CreateFn("beta", "r2", &other));
  release.set_value();
  std::vector<absl::StatusOr<CommitResult>> got;
  for (auto& f : results) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    got.push_back(f.get());
  }
  EXPECT_EQ(got[1].status().code(), absl::StatusCode::kAborted);
  ASSERT_TRUE(got[2].ok() && got[3].ok() && got[4].ok());
  // The first request took the sequence the rolled-back function had.
  EXPECT_EQ(got[2]->first_sequence, 1u);
  EXPECT_EQ(got[3]->first_sequence, 0u);  // a retry emits nothing
  EXPECT_EQ(retry.SerializeAsString(), first.SerializeAsString());
  EXPECT_NE(other.id(), first.id());
  std::vector<std::string> events;
  ASSERT_TRUE(store_
                  ->ReadEvents(0, 100,
                               [&](v1::Event& e) {
                                 events.push_back(e.entity_id());
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(events, (std::vector<std::string>{first.id(), other.id()}));
  for (const auto& [id, want] :
       {std::pair{doomed.id(), 0u}, {first.id(), 1u}, {other.id(), 1u}}) {
    std::vector<v1::AuditRecord> audit;
    std::string last;
    bool more = false;
    ASSERT_TRUE(store_->ReadAudit(id, "", "", 10, &audit, &last, &more).ok());
    EXPECT_EQ(audit.size(), want) << id;
  }
}

TEST_F(RequestRecordTest, RecordsMadeBeforeTheWindowExistedStillAnswer) {
  // The format before D53: Str(fingerprint) Str(result), no time.
  TestEntity old;
  old.set_id("tst-old");
  const std::string value =
      KeyBuilder(0).Str("fp").Str(old.SerializeAsString()).key().substr(1);
  rocksdb::ColumnFamilyHandle* meta =
      store_->column_families()[store_internal::kMetaCf].second;
  ASSERT_TRUE(store_->db()
                  ->Put(rocksdb::WriteOptions(), meta,
                        store_internal::RequestKey("alice", "Create", "r0"),
                        value)
                  .ok());
  clock_.Advance(absl::Hours(1000));
  ASSERT_TRUE(store_->CompactAll().ok());
  std::optional<WriteTxn::RequestRecord> seen;
  ASSERT_TRUE(store_
                  ->Write(Actor{"alice", "REP", "Create"},
                          [&](WriteTxn& txn) -> absl::Status {
                            ASSIGN_OR_RETURN(seen,
                                             txn.GetRequest("Create", "r0"));
                            return absl::OkStatus();
                          })
                  .ok());
  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->fingerprint, "fp");
  EXPECT_EQ(seen->result, old.SerializeAsString());
}

}  // namespace
}  // namespace salesops
