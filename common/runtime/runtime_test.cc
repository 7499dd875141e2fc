// End-to-end tests of the shared runtime through a real process
// (salesops_echo_server: the test services on ServiceRuntime): durability
// across SIGKILL, the feed of a real binary, drain on SIGTERM with open
// streams, and the metrics page.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <future>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/metrics/testing/scrape.h"
#include "common/runtime/service_runtime.h"
#include "common/status/status.h"
#include "common/testing/process.h"
#include "common/testing/temp_dir.h"
#include "salesops/testing/testing.grpc.pb.h"
#include "salesops/v1/audit.grpc.pb.h"
#include "salesops/v1/feed.grpc.pb.h"

namespace salesops {
namespace {

using ::salesops::testing::EchoRequest;
using ::salesops::testing::EchoResponse;
using ::salesops::testing::EchoService;
using ::salesops::testing::EntityService;
using ::salesops::testing::GetEntityRequest;
using ::salesops::testing::Process;
using ::salesops::testing::PutEntityRequest;
using ::salesops::testing::TempDir;
using ::salesops::testing::TestEntity;

// A running salesops_echo_server on a loopback port with its data in
// `data_dir`.
struct Running {
  std::unique_ptr<Process> process;
  int port = 0;
  int metrics_port = 0;
  std::shared_ptr<grpc::Channel> channel;
};

Running Launch(const std::string& data_dir,
               std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      SALESOPS_ECHO_SERVER,           "--listen=127.0.0.1:0",
      "--metrics_listen=127.0.0.1:0", "--auth=none",
      "--data_dir=" + data_dir,       std::string("--init")};
  args.insert(args.end(), extra.begin(), extra.end());
  Running r;
  r.process = Process::Start(args);
  if (r.process == nullptr) {
    return r;
  }
  r.port = r.process->WaitForIntField("\"msg\":\"echo ready\"", "port",
                                      absl::Seconds(30));
  r.metrics_port = r.process->WaitForIntField("\"msg\":\"echo ready\"",
                                              "metrics_port", absl::Seconds(1));
  r.channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", r.port),
                                  grpc::InsecureChannelCredentials());
  return r;
}

std::unique_ptr<grpc::ClientContext> Ctx(
    absl::Duration timeout = absl::Seconds(10)) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return ctx;
}

grpc::Status Put(EntityService::Stub& stub, const TestEntity& e,
                 TestEntity* out, int64_t expected_version = 0,
                 const std::string& request_id = "") {
  PutEntityRequest req;
  *req.mutable_entity() = e;
  req.set_expected_version(expected_version);
  req.set_request_id(request_id);
  auto ctx = Ctx();
  return stub.PutEntity(ctx.get(), req, out);
}

TestEntity Named(const std::string& name, const std::string& id = "") {
  TestEntity e;
  e.set_id(id);
  e.set_name(name);
  return e;
}

TEST(RuntimeEndToEnd, AcknowledgedWritesSurviveSigkillAndTheFeedReplaysThem) {
  TempDir dir;
  std::map<std::string, TestEntity>
      acknowledged;  // id → last acknowledged state
  uint64_t writes = 0;
  {
    Running r = Launch(dir.path());
    ASSERT_GT(r.port, 0) << r.process->Log();
    auto stub = EntityService::NewStub(r.channel);
    for (int i = 0; i < 150; ++i) {
      TestEntity out;
      ASSERT_TRUE(Put(*stub, Named(absl::StrCat("entity-", i)), &out).ok());
      acknowledged[out.id()] = out;
      ++writes;
      if (i % 3 == 0) {  // and some updates
        TestEntity updated;
        ASSERT_TRUE(Put(*stub,
                        Named(absl::StrCat("entity-", i, "-renamed"), out.id()),
                        &updated, out.version())
                        .ok());
        acknowledged[out.id()] = updated;
        ++writes;
      }
    }
    r.process->Signal(SIGKILL);  // no drain, no clean close
    auto status = r.process->WaitExit(absl::Seconds(10));
    ASSERT_TRUE(status.has_value());
    ASSERT_TRUE(WIFSIGNALED(*status));
  }
  Running r = Launch(dir.path());
  ASSERT_GT(r.port, 0) << r.process->Log();
  auto stub = EntityService::NewStub(r.channel);
  for (const auto& [id, want] : acknowledged) {
    TestEntity got;
    GetEntityRequest req;
    req.set_id(id);
    auto ctx = Ctx();
    ASSERT_TRUE(stub->GetEntity(ctx.get(), req, &got).ok()) << id;
    EXPECT_EQ(got.SerializeAsString(), want.SerializeAsString()) << id;
  }
  // The feed holds exactly one event per acknowledged write, dense and in
  // order, each with the entity's state at that version.
  auto feed = v1::FeedService::NewStub(r.channel);
  auto ctx = Ctx();
  auto reader = feed->Watch(ctx.get(), v1::WatchRequest());
  std::map<std::string, int64_t> last_version;
  v1::Event ev;
  for (uint64_t s = 1; s <= writes; ++s) {
    ASSERT_TRUE(reader->Read(&ev)) << "missing event " << s;
    ASSERT_EQ(ev.sequence(), s);
    EXPECT_EQ(ev.kind(), "testing.TestEntity");
    TestEntity state;
    ASSERT_TRUE(ev.payload().UnpackTo(&state));
    EXPECT_EQ(state.version(), last_version[state.id()] + 1);
    last_version[state.id()] = state.version();
  }
  for (const auto& [id, want] : acknowledged) {
    EXPECT_EQ(last_version[id], want.version());
  }
  ctx->TryCancel();
  reader->Finish();

  // And one audit record per acknowledged write, with who (--auth=none:
  // anonymous ADMIN), the RPC, both versions and what changed.
  auto audit = v1::AuditService::NewStub(r.channel);
  uint64_t records = 0;
  for (const auto& [id, want] : acknowledged) {
    v1::ListAuditRecordsRequest req;
    req.set_entity_id(id);
    v1::ListAuditRecordsResponse resp;
    auto actx = Ctx();
    ASSERT_TRUE(audit->ListAuditRecords(actx.get(), req, &resp).ok()) << id;
    ASSERT_EQ(resp.records_size(), want.version()) << id;
    for (int i = 0; i < resp.records_size(); ++i) {
      const v1::AuditRecord& rec = resp.records(i);
      EXPECT_EQ(rec.actor(), "anonymous");
      EXPECT_EQ(rec.actor_role(), "ADMIN");
      EXPECT_EQ(rec.method(), "PutEntity");
      EXPECT_EQ(rec.kind(), "testing.TestEntity");
      EXPECT_EQ(rec.before_version(), i);
      EXPECT_EQ(rec.after_version(), i + 1);
      EXPECT_EQ(rec.changed_fields_size(), i == 0 ? 0 : 1) << id;
    }
    records += resp.records_size();
  }
  EXPECT_EQ(records, writes);
}

TEST(RuntimeEndToEnd, VersionConflictsAndRequestIdReplayThroughTheApi) {
  TempDir dir;
  Running r = Launch(dir.path());
  ASSERT_GT(r.port, 0) << r.process->Log();
  auto stub = EntityService::NewStub(r.channel);
  TestEntity first, again, updated, stale;
  ASSERT_TRUE(Put(*stub, Named("alpha"), &first, 0, "req-1").ok());
  ASSERT_TRUE(Put(*stub, Named("alpha"), &again, 0, "req-1").ok());
  EXPECT_EQ(again.id(), first.id());  // the retry answered the first result
  ASSERT_TRUE(Put(*stub, Named("beta", first.id()), &updated, 1).ok());
  EXPECT_EQ(updated.version(), 2);
  grpc::Status s = Put(*stub, Named("gamma", first.id()), &stale, 1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED) << s.error_message();
  s = Put(*stub, Named(""), &stale);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "entity.name: required");
}

TEST(RuntimeEndToEnd, SigtermEndsWatchStreamsDrainsCallsAndExitsZero) {
  TempDir dir;
  // A long drain deadline: the process may only exit quickly if it ends the
  // Watch stream itself instead of waiting for the deadline.
  Running r = Launch(dir.path(), {"--drain_timeout=60s"});
  ASSERT_GT(r.port, 0) << r.process->Log();
  auto entities = EntityService::NewStub(r.channel);
  TestEntity out;
  ASSERT_TRUE(Put(*entities, Named("x"), &out).ok());

  auto feed = v1::FeedService::NewStub(r.channel);
  auto watch_ctx = Ctx(absl::Seconds(120));
  auto reader = feed->Watch(watch_ctx.get(), v1::WatchRequest());
  v1::Event ev;
  ASSERT_TRUE(reader->Read(&ev));

  auto echo = EchoService::NewStub(r.channel);
  auto in_flight = std::async(std::launch::async, [&] {
    EchoRequest req;
    req.set_text("slow");
    req.set_delay_ms(1000);
    EchoResponse resp;
    auto ctx = Ctx(absl::Seconds(30));
    return echo->Echo(ctx.get(), req, &resp);
  });
  absl::SleepFor(absl::Milliseconds(200));
  const absl::Time signalled = absl::Now();
  r.process->Signal(SIGTERM);

  EXPECT_FALSE(reader->Read(&ev));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  grpc::Status echoed = in_flight.get();
  EXPECT_TRUE(echoed.ok()) << echoed.error_message();
  auto status = r.process->WaitExit(absl::Seconds(30));
  ASSERT_TRUE(status.has_value()) << r.process->Log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << r.process->Log();
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(10))
      << "the Watch stream held the drain";
  EXPECT_NE(r.process->Log().find("echo stopped"), std::string::npos);
}

TEST(RuntimeEndToEnd, MissingDataDirIsRefusedAtStart) {
  auto p = Process::Start(
      {SALESOPS_ECHO_SERVER, "--listen=127.0.0.1:0", "--auth=none"});
  ASSERT_NE(p, nullptr);
  auto status = p->WaitExit(absl::Seconds(20));
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFEXITED(*status)) << "crashed instead of refusing: " << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 1);
  EXPECT_NE(p->Log().find("--data_dir: required"), std::string::npos)
      << p->Log();
}

TEST(RuntimeEndToEnd, CompactAndExitPrintsBytesPerColumnFamily) {
  TempDir dir;
  {
    Running r = Launch(dir.path() + "/data");
    ASSERT_NE(r.port, 0);
    auto stub = EntityService::NewStub(r.channel);
    for (int i = 0; i < 20; ++i) {
      TestEntity out;
      ASSERT_TRUE(
          Put(*stub, Named(absl::StrCat("e", i)), &out, 0, absl::StrCat("r", i))
              .ok());
    }
    r.process->Signal(SIGTERM);
    ASSERT_TRUE(r.process->WaitExit(absl::Seconds(20)).has_value());
  }
  auto p = Process::Start({SALESOPS_ECHO_SERVER, "--auth=none",
                           "--data_dir=" + dir.path() + "/data",
                           "--compact_and_exit"});
  ASSERT_NE(p, nullptr);
  auto status = p->WaitExit(absl::Seconds(30));
  ASSERT_TRUE(status.has_value());
  ASSERT_TRUE(WIFEXITED(*status)) << p->Log();
  EXPECT_EQ(WEXITSTATUS(*status), 0) << p->Log();
  EXPECT_NE(p->Log().find("{\"total_sst_bytes\":"), std::string::npos)
      << p->Log();
  EXPECT_NE(p->Log().find("{\"name\":\"entities\",\"sst_bytes\":"),
            std::string::npos)
      << p->Log();
  EXPECT_EQ(p->Log().find("echo ready"), std::string::npos) << p->Log();
}

TEST(RuntimeEndToEnd, MetricsPageShowsCallsByCodeAndRocksDbAndPassesPromtool) {
  TempDir dir;
  Running r = Launch(dir.path());
  ASSERT_GT(r.port, 0) << r.process->Log();
  ASSERT_GT(r.metrics_port, 0) << r.process->Log();
  auto stub = EntityService::NewStub(r.channel);
  TestEntity out;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Put(*stub, Named(absl::StrCat("n", i)), &out).ok());
  }
  EXPECT_FALSE(Put(*stub, Named(""), &out).ok());
  GetEntityRequest missing;
  missing.set_id("tst_missing");
  auto ctx = Ctx();
  EXPECT_EQ(stub->GetEntity(ctx.get(), missing, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);

  auto page =
      salesops::testing::HttpGet("127.0.0.1", r.metrics_port, "/metrics");
  ASSERT_TRUE(page.ok()) << page.status();
  auto samples = salesops::testing::ParseTextPage(*page);
  ASSERT_TRUE(samples.ok()) << samples.status();
  const std::string svc = "salesops.testing.EntityService";
  auto handled = [&](const std::string& method, const std::string& code) {
    return salesops::testing::FindSample(*samples, "grpc_server_handled_total",
                                         {{"grpc_type", "unary"},
                                          {"grpc_service", svc},
                                          {"grpc_method", method},
                                          {"grpc_code", code}});
  };
  EXPECT_EQ(handled("PutEntity", "OK"), 3.0);
  EXPECT_EQ(handled("PutEntity", "InvalidArgument"), 1.0);
  EXPECT_EQ(handled("GetEntity", "NotFound"), 1.0);
  EXPECT_EQ(salesops::testing::FindSample(*samples,
                                          "grpc_server_handling_seconds_count",
                                          {{"grpc_type", "unary"},
                                           {"grpc_service", svc},
                                           {"grpc_method", "PutEntity"}}),
            4.0);
  auto keys = salesops::testing::FindSample(
      *samples, "salesops_rocksdb_estimated_keys", {{"cf", "entities"}});
  ASSERT_TRUE(keys.has_value()) << *page;
  EXPECT_TRUE(salesops::testing::FindSample(
                  *samples, "salesops_rocksdb_write_stall_seconds_total", {})
                  .has_value());
  absl::Status promtool = salesops::testing::PromtoolCheck(*page);
  EXPECT_TRUE(promtool.ok()) << promtool;
}

}  // namespace
TEST(RuntimeShutdown, HooksRunAfterTheServerAndBeforeTheStoreCloses) {
  TempDir dir;
  RuntimeSettings settings;
  settings.server.listen = {"127.0.0.1:0"};
  settings.server.auth = "none";
  settings.data_dir = dir.path() + "/data";
  // Without --init a missing data dir is refused; with it, made.
  auto refused = ServiceRuntime::Create({"hooked", {"entities"}}, settings);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  settings.init = true;
  auto runtime = ServiceRuntime::Create({"hooked", {"entities"}}, settings);
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  ASSERT_TRUE((*runtime)->Start().ok());
  // A periodic job's last write, made from its stop hook, still lands.
  bool stopped = false;
  (*runtime)->OnShutdown([&] {
    stopped = true;
    auto committed =
        (*runtime)->store().Write(SystemActor("test"), [](WriteTxn& txn) {
          txn.PutCursor("job", 7);
          return absl::OkStatus();
        });
    EXPECT_TRUE(committed.ok()) << committed.status();
  });
  (*runtime)->Shutdown();
  EXPECT_TRUE(stopped);
  runtime->reset();
  auto store =
      Store::Open(dir.path() + "/data", StoreOptions{{"entities"}, true});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->GetCursor("job").value(), 7u);
}

TEST(RuntimeSettings, RequestIdWindowBeyondTheFeedRetentionIsRefused) {
  TempDir dir;
  RuntimeSettings settings;
  settings.server.listen = {"127.0.0.1:0"};
  settings.server.auth = "none";
  settings.data_dir = dir.path() + "/data";
  settings.init = true;
  settings.feed_retention = absl::Hours(12);
  settings.request_id_retention = absl::Hours(13);
  auto refused = ServiceRuntime::Create({"window", {"entities"}}, settings);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find(
                "--request_id_retention=13h: must not exceed "
                "--feed_retention=12h"),
            std::string::npos)
      << refused.status();
  // The default (0) takes the feed's window when it is shorter than 24 h.
  settings.request_id_retention = absl::ZeroDuration();
  auto runtime = ServiceRuntime::Create({"window", {"entities"}}, settings);
  EXPECT_TRUE(runtime.ok()) << runtime.status();
}

}  // namespace salesops
