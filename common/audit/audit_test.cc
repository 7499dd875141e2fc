// The audit log through its public API: records written by Table inserts and
// updates in the same batch as the change, read back with
// AuditService.ListAuditRecords (ADMIN only, paged, per entity and kind).

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/audit/audit_service.h"
#include "common/store/table.h"
#include "common/testing/grpc_status.h"
#include "common/testing/loopback_server.h"
#include "common/testing/temp_dir.h"
#include "common/time/clock.h"
#include "salesops/testing/testing.pb.h"
#include "salesops/v1/audit.grpc.pb.h"

namespace salesops {
namespace {

using ::salesops::testing::IsError;
using ::salesops::testing::IsOk;
using ::salesops::testing::TestEntity;

enum class Cf { kEntities = 0 };
constexpr uint8_t kEntityTag = 1;
constexpr uint8_t kOtherTag = 2;

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.Set(absl::FromUnixSeconds(1'790'000'000));
    StoreOptions o;
    o.column_families = {"entities"};
    o.sync_writes = false;
    o.clock = &clock_;
    o.system_actor = "salesops-test";
    store_ = Store::Open(dir_.path(), o).value();
    entities_ = std::make_unique<Table<TestEntity>>(
        store_.get(), Cf::kEntities, kEntityTag, "test.Entity", "entity");
    others_ = std::make_unique<Table<TestEntity>>(
        store_.get(), Cf::kEntities, kOtherTag, "test.Other", "other");
    auth_ = testing::AuthFor({
        {"admin-token", {"ada", Role::kAdmin, ""}},
        {"rep-token", {"rex", Role::kRep, "n1"}},
        {"finance-token", {"fay", Role::kFinance, ""}},
        {"service-token", {"pipeline", Role::kService, ""}},
    });
    audit_ = std::make_unique<AuditServiceImpl>(store_.get(), auth_.get());
    server_ = std::make_unique<testing::LoopbackServer>(
        store_.get(), auth_.get(), std::vector<grpc::Service*>{audit_.get()});
    stub_ = v1::AuditService::NewStub(server_->channel());
  }

  absl::Status Insert(const Actor& actor, const Table<TestEntity>& table,
                      const std::string& id, const std::string& name) {
    return store_
        ->Write(actor,
                [&](WriteTxn& txn) {
                  TestEntity e;
                  e.set_id(id);
                  e.set_name(name);
                  e.set_owner("o1");
                  return table.Insert(txn, id, &e);
                })
        .status();
  }
  absl::Status Rename(const Actor& actor, const std::string& id,
                      const std::string& name, const std::string& owner = "o1",
                      int64_t expected_version = 0) {
    return store_
        ->Write(actor,
                [&](WriteTxn& txn) -> absl::Status {
                  ASSIGN_OR_RETURN(TestEntity e, entities_->Get(txn, id));
                  e.set_name(name);
                  e.set_owner(owner);
                  return entities_->Update(txn, id, expected_version, &e);
                })
        .status();
  }

  grpc::Status List(const v1::ListAuditRecordsRequest& req,
                    v1::ListAuditRecordsResponse* resp,
                    const std::string& token = "admin-token") {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    if (!token.empty()) {
      ctx.AddMetadata("authorization", "Bearer " + token);
    }
    return stub_->ListAuditRecords(&ctx, req, resp);
  }
  std::vector<v1::AuditRecord> All(const std::string& entity_id,
                                   const std::string& kind = "") {
    v1::ListAuditRecordsRequest req;
    req.set_entity_id(entity_id);
    req.set_kind(kind);
    v1::ListAuditRecordsResponse resp;
    EXPECT_TRUE(IsOk(List(req, &resp)));
    return {resp.records().begin(), resp.records().end()};
  }

  FakeClock clock_;
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Table<TestEntity>> entities_;
  std::unique_ptr<Table<TestEntity>> others_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<AuditServiceImpl> audit_;
  std::unique_ptr<testing::LoopbackServer> server_;
  std::unique_ptr<v1::AuditService::Stub> stub_;
};

TEST_F(AuditTest, EachChangeRecordsWhoWhatWhenAndBothVersions) {
  const Actor ada{"ada", "ADMIN", "CreateEntity"};
  ASSERT_TRUE(Insert(ada, *entities_, "e1", "alpha").ok());
  clock_.Advance(absl::Seconds(90));
  ASSERT_TRUE(Rename(Actor{"rex", "REP", "UpdateEntity"}, "e1", "beta").ok());
  clock_.Advance(absl::Seconds(30));
  ASSERT_TRUE(Rename(SystemActor("feed:accounts"), "e1", "beta", "o2").ok());

  const std::vector<v1::AuditRecord> r = All("e1");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].actor(), "ada");
  EXPECT_EQ(r[0].actor_role(), "ADMIN");
  EXPECT_EQ(r[0].method(), "CreateEntity");
  EXPECT_EQ(r[0].kind(), "test.Entity");
  EXPECT_EQ(r[0].entity_id(), "e1");
  EXPECT_EQ(r[0].before_version(), 0);
  EXPECT_EQ(r[0].after_version(), 1);
  EXPECT_TRUE(r[0].changed_fields().empty());
  EXPECT_EQ(r[0].time_micros(), int64_t{1'790'000'000} * 1'000'000);

  EXPECT_EQ(r[1].actor(), "rex");
  EXPECT_EQ(r[1].actor_role(), "REP");
  EXPECT_EQ(r[1].method(), "UpdateEntity");
  EXPECT_EQ(r[1].before_version(), 1);
  EXPECT_EQ(r[1].after_version(), 2);
  EXPECT_EQ(std::vector<std::string>(r[1].changed_fields().begin(),
                                     r[1].changed_fields().end()),
            std::vector<std::string>{"name"});
  EXPECT_EQ(r[1].time_micros() - r[0].time_micros(), 90'000'000);

  // The service's own work carries the store's name for it.
  EXPECT_EQ(r[2].actor(), "salesops-test");
  EXPECT_EQ(r[2].actor_role(), "SYSTEM");
  EXPECT_EQ(r[2].method(), "feed:accounts");
  EXPECT_EQ(r[2].before_version(), 2);
  EXPECT_EQ(r[2].after_version(), 3);
  EXPECT_EQ(std::vector<std::string>(r[2].changed_fields().begin(),
                                     r[2].changed_fields().end()),
            std::vector<std::string>{"owner"});

  // Each record points at the feed event of its change.
  for (const v1::AuditRecord& rec : r) {
    std::string kind;
    ASSERT_TRUE(store_
                    ->ReadEvents(rec.sequence() - 1, 1,
                                 [&](v1::Event& e) {
                                   kind = e.kind() + "/" + e.entity_id();
                                   return true;
                                 })
                    .ok());
    EXPECT_EQ(kind, "test.Entity/e1") << rec.sequence();
  }
}

TEST_F(AuditTest, ARefusedOrRolledBackWriteLeavesNoRecord) {
  const Actor ada{"ada", "ADMIN", "X"};
  ASSERT_TRUE(Insert(ada, *entities_, "e1", "alpha").ok());
  // Version mismatch: ABORTED, nothing written.
  EXPECT_EQ(Rename(ada, "e1", "beta", "o1", /*expected_version=*/7).code(),
            absl::StatusCode::kAborted);
  // A function that changes the entity and then fails is rolled back whole.
  EXPECT_FALSE(
      store_
          ->Write(ada,
                  [&](WriteTxn& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(TestEntity e, entities_->Get(txn, "e1"));
                    e.set_name("gamma");
                    RETURN_IF_ERROR(entities_->Update(txn, "e1", 0, &e));
                    return absl::FailedPreconditionError("no");
                  })
          .ok());
  const std::vector<v1::AuditRecord> r = All("e1");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].after_version(), 1);
}

TEST_F(AuditTest, RecordsAreKeptPerEntityAndKindAndPaged) {
  const Actor ada{"ada", "ADMIN", "X"};
  ASSERT_TRUE(Insert(ada, *entities_, "e1", "n0").ok());
  ASSERT_TRUE(Insert(ada, *others_, "e1", "other").ok());  // same id
  ASSERT_TRUE(Insert(ada, *entities_, "e10", "prefix of e1").ok());
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(Rename(ada, "e1", "n" + std::to_string(i)).ok());
  }
  EXPECT_EQ(All("e1").size(), 6u);  // 5 of test.Entity, 1 of test.Other
  EXPECT_EQ(All("e1", "test.Other").size(), 1u);
  EXPECT_EQ(All("e10").size(), 1u);
  EXPECT_TRUE(All("nobody").empty());

  // Pages of 2 over test.Entity's 5: versions 1..5 in order, no repeats.
  v1::ListAuditRecordsRequest req;
  req.set_entity_id("e1");
  req.set_kind("test.Entity");
  req.set_page_size(2);
  std::vector<int64_t> versions;
  for (int page = 0; page < 10; ++page) {
    v1::ListAuditRecordsResponse resp;
    ASSERT_TRUE(IsOk(List(req, &resp)));
    EXPECT_LE(resp.records_size(), 2);
    EXPECT_EQ(resp.feed_sequence(), store_->last_sequence());
    for (const v1::AuditRecord& r : resp.records()) {
      versions.push_back(r.after_version());
    }
    if (resp.next_page_token().empty()) {
      break;
    }
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(versions, (std::vector<int64_t>{1, 2, 3, 4, 5}));
}

TEST_F(AuditTest, RecordsSurviveReopeningTheStore) {
  ASSERT_TRUE(Insert(Actor{"ada", "ADMIN", "X"}, *entities_, "e1", "a").ok());
  server_.reset();
  audit_.reset();
  entities_.reset();
  others_.reset();
  store_.reset();
  SetUp();
  const std::vector<v1::AuditRecord> r = All("e1");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].actor(), "ada");
}

TEST_F(AuditTest, OnlyAdminsReadTheLog) {
  ASSERT_TRUE(Insert(Actor{"ada", "ADMIN", "X"}, *entities_, "e1", "a").ok());
  v1::ListAuditRecordsRequest req;
  req.set_entity_id("e1");
  v1::ListAuditRecordsResponse resp;
  for (const char* token : {"rep-token", "finance-token", "service-token"}) {
    EXPECT_TRUE(IsError(List(req, &resp, token),
                        grpc::StatusCode::PERMISSION_DENIED, "ADMIN"))
        << token;
  }
  EXPECT_TRUE(
      IsError(List(req, &resp, ""), grpc::StatusCode::UNAUTHENTICATED, ""));
  EXPECT_TRUE(IsError(List(req, &resp, "forged"),
                      grpc::StatusCode::UNAUTHENTICATED, ""));
  EXPECT_EQ(resp.records_size(), 0);
}

TEST_F(AuditTest, BadRequestsNameTheField) {
  v1::ListAuditRecordsRequest req;
  v1::ListAuditRecordsResponse resp;
  EXPECT_TRUE(IsError(List(req, &resp), grpc::StatusCode::INVALID_ARGUMENT,
                      "entity_id: required"));
  req.set_entity_id("e1");
  req.set_page_size(-1);
  EXPECT_TRUE(IsError(List(req, &resp), grpc::StatusCode::INVALID_ARGUMENT,
                      "page_size"));
  req.set_page_size(0);
  req.set_page_token("not a token!");
  EXPECT_TRUE(IsError(List(req, &resp), grpc::StatusCode::INVALID_ARGUMENT,
                      "page_token"));
}

}  // namespace
}  // namespace salesops
