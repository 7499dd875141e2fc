#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/feed/feed_consumer.h"
#include "common/feed/feed_service.h"
#include "common/status/status.h"
#include "common/store/key.h"
#include "common/testing/temp_dir.h"
#include "salesops/testing/testing.pb.h"

namespace salesops {
namespace {

using salesops::testing::TestEntity;

enum class Cf { kData = 0 };

constexpr char kServiceToken[] = "service-secret";
constexpr char kRepToken[] = "rep-secret";

StoreOptions Options() {
  StoreOptions o;
  o.column_families = {"data"};
  o.sync_writes = false;
  o.outbox_retention = absl::ZeroDuration();
  return o;
}

// A source service: a store with FeedService on a loopback port.
class Source {
 public:
  explicit Source(const std::string& dir, int port = 0) : port_(port) {
    store_ = Store::Open(dir, Options()).value();
    auth_ =
        Authenticator::FromPrincipals({{Authenticator::Sha256Hex(kServiceToken),
                                        {"forecast", Role::kService, ""}},
                                       {Authenticator::Sha256Hex(kRepToken),
                                        {"rep-1", Role::kRep, "node-rep-1"}}});
    FeedServiceOptions fo;
    fo.read_batch = 7;  // small batches exercise the replay loop
    fo.idle_poll = absl::Milliseconds(50);
    feed_ = std::make_unique<FeedServiceImpl>(store_.get(), auth_.get(), fo);
    grpc::ServerBuilder builder;
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.AddListeningPort(absl::StrCat("127.0.0.1:", port_),
                             grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(feed_.get());
    server_ = builder.BuildAndStart();
  }
  ~Source() {
    feed_->Stop();
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(5));
  }

  // One change of entity `id` of `kind`; returns its sequence.
  uint64_t Change(const std::string& id,
                  const std::string& kind = "test.TestEntity") {
    auto r =
        store_->Write(SystemActor("test"), [&](WriteTxn& txn) -> absl::Status {
          ASSIGN_OR_RETURN(std::optional<std::string> raw,
                           txn.Get(Cf::kData, id));
          TestEntity e;
          if (raw) {
            e.ParseFromString(*raw);
          }
          e.set_id(id);
          e.set_version(e.version() + 1);
          e.set_name(absl::StrCat(id, "@v", e.version()));
          txn.Put(Cf::kData, id, e.SerializeAsString());
          txn.Emit(kind, id, e);
          return absl::OkStatus();
        });
    EXPECT_TRUE(r.ok()) << r.status();
    return r->last_sequence;
  }

  std::shared_ptr<grpc::Channel> Channel() const {
    return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                               grpc::InsecureChannelCredentials());
  }
  // How a consuming service reaches this source: its address and a SERVICE
  // token.
  std::unique_ptr<PeerChannel> Peer() const {
    PeerConfig c;
    c.target = absl::StrCat("127.0.0.1:", port_);
    c.bearer_token = kServiceToken;
    return PeerChannel::Create(c).value();
  }
  Store* store() { return store_.get(); }
  FeedServiceImpl* feed() { return feed_.get(); }
  int port() const { return port_; }

 private:
  std::unique_ptr<Store> store_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<FeedServiceImpl> feed_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

std::unique_ptr<grpc::ClientContext> Ctx(
    const std::string& token = kServiceToken) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) {
    ctx->AddMetadata("authorization", "Bearer " + token);
  }
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(20));
  return ctx;
}

TEST(FeedService, ReplaysFromAPositionThenStreamsNewCommitsInOrder) {
  salesops::testing::TempDir dir;
  Source source(dir.path());
  for (int i = 0; i < 30; ++i) {
    source.Change(absl::StrCat("e", i % 4));
  }
  auto stub = v1::FeedService::NewStub(source.Channel());
  auto ctx = Ctx();
  v1::WatchRequest req;
  req.set_after_sequence(13);
  auto reader = stub->Watch(ctx.get(), req);
  v1::Event ev;
  for (uint64_t s = 14; s <= 30; ++s) {
    ASSERT_TRUE(reader->Read(&ev));
    ASSERT_EQ(ev.sequence(), s);
    EXPECT_EQ(ev.head_sequence(), 30u);
    TestEntity state;
    ASSERT_TRUE(ev.payload().UnpackTo(&state));
    EXPECT_EQ(state.id(), ev.entity_id());  // the full new state rides along
    EXPECT_EQ(state.name(), absl::StrCat(state.id(), "@v", state.version()));
  }
  // Caught up: commits made from now on arrive in commit order.
  std::thread writer([&] {
    for (int i = 0; i < 20; ++i) {
      source.Change("late");
    }
  });
  for (uint64_t s = 31; s <= 50; ++s) {
    ASSERT_TRUE(reader->Read(&ev));
    ASSERT_EQ(ev.sequence(), s);
    TestEntity state;
    ASSERT_TRUE(ev.payload().UnpackTo(&state));
    EXPECT_EQ(state.version(), static_cast<int64_t>(s - 30));
  }
  writer.join();
  ctx->TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST(FeedService, EveryStartingPositionReplaysExactlyTheSuffix) {
  salesops::testing::TempDir dir;
  Source source(dir.path());
  for (int i = 0; i < 25; ++i) {
    source.Change(absl::StrCat("e", i % 3));
  }
  auto stub = v1::FeedService::NewStub(source.Channel());
  for (uint64_t after = 0; after <= 25; ++after) {
    auto ctx = Ctx();
    v1::WatchRequest req;
    req.set_after_sequence(after);
    auto reader = stub->Watch(ctx.get(), req);
    v1::Event ev;
    for (uint64_t s = after + 1; s <= 25; ++s) {
      ASSERT_TRUE(reader->Read(&ev)) << "after=" << after;
      ASSERT_EQ(ev.sequence(), s);
    }
    ctx->TryCancel();
    EXPECT_FALSE(reader->Read(&ev)) << "nothing beyond the head";
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
}

TEST(FeedService, ExpiredOrFuturePositionIsOutOfRange) {
  salesops::testing::TempDir dir;
  Source source(dir.path());
  for (int i = 0; i < 10; ++i) {
    source.Change("e");
  }
  ASSERT_TRUE(source.store()->TrimOutbox(6).ok());
  auto stub = v1::FeedService::NewStub(source.Channel());

  auto watch_status = [&](uint64_t after) {
    auto ctx = Ctx();
    v1::WatchRequest req;
    req.set_after_sequence(after);
    auto reader = stub->Watch(ctx.get(), req);
    v1::Event ev;
    if (reader->Read(&ev)) {
      EXPECT_EQ(ev.sequence(), after + 1);
      ctx->TryCancel();
    }
    return reader->Finish();
  };
  grpc::Status expired = watch_status(4);
  EXPECT_EQ(expired.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_NE(expired.error_message().find("after_sequence"), std::string::npos);
  EXPECT_EQ(watch_status(5).error_code(),
            grpc::StatusCode::CANCELLED);  // oldest kept is 6
  EXPECT_EQ(watch_status(11).error_code(), grpc::StatusCode::OUT_OF_RANGE);

  v1::GetFeedPositionResponse pos;
  auto ctx = Ctx();
  ASSERT_TRUE(stub->GetFeedPosition(ctx.get(), {}, &pos).ok());
  EXPECT_EQ(pos.sequence(), 10u);
  EXPECT_EQ(pos.first_sequence(), 6u);
}

TEST(FeedService, KindsFilterSendsOnlyThoseKindsAndProgressMarkers) {
  salesops::testing::TempDir dir;
  Source source(dir.path());
  source.Change("a1", "test.A");
  source.Change("b1", "test.B");
  source.Change("a2", "test.A");
  source.Change("b2", "test.B");
  source.Change("b3", "test.B");
  auto stub = v1::FeedService::NewStub(source.Channel());
  auto ctx = Ctx();
  v1::WatchRequest req;
  req.add_kinds("test.A");
  auto reader = stub->Watch(ctx.get(), req);
  v1::Event ev;
  ASSERT_TRUE(reader->Read(&ev));
  EXPECT_EQ(ev.sequence(), 1u);
  ASSERT_TRUE(reader->Read(&ev));
  EXPECT_EQ(ev.sequence(), 3u);
  EXPECT_EQ(ev.kind(), "test.A");
  // 4 and 5 were skipped: a progress marker says so.
  ASSERT_TRUE(reader->Read(&ev));
  EXPECT_EQ(ev.sequence(), 5u);
  EXPECT_EQ(ev.kind(), "");
  EXPECT_FALSE(ev.has_payload());
  ctx->TryCancel();
  reader->Finish();
}

TEST(FeedService, RequiresServiceOrAdminRole) {
  salesops::testing::TempDir dir;
  Source source(dir.path());
  source.Change("e");
  auto stub = v1::FeedService::NewStub(source.Channel());
  for (auto [token, code] :
       std::vector<std::pair<std::string, grpc::StatusCode>>{
           {"", grpc::StatusCode::UNAUTHENTICATED},
           {"forged", grpc::StatusCode::UNAUTHENTICATED},
           {kRepToken, grpc::StatusCode::PERMISSION_DENIED}}) {
    auto ctx = Ctx(token);
    auto reader = stub->Watch(ctx.get(), v1::WatchRequest());
    v1::Event ev;
    EXPECT_FALSE(reader->Read(&ev));
    EXPECT_EQ(reader->Finish().error_code(), code) << token;
    v1::GetFeedPositionResponse pos;
    auto ctx2 = Ctx(token);
    EXPECT_EQ(stub->GetFeedPosition(ctx2.get(), {}, &pos).error_code(), code);
  }
}

TEST(FeedService, StopEndsOpenStreams) {
  salesops::testing::TempDir dir;
  Source source(dir.path());
  auto stub = v1::FeedService::NewStub(source.Channel());
  auto ctx = Ctx();
  auto reader = stub->Watch(ctx.get(), v1::WatchRequest());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  source.feed()->Stop();
  v1::Event ev;
  EXPECT_FALSE(reader->Read(&ev));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

// ---- Consumer ----

// The consumer's side: counts applications per sequence, and the total, in its
// own store.
class Sink {
 public:
  explicit Sink(const std::string& dir) {
    store_ = Store::Open(dir, Options()).value();
  }

  ApplyFn Apply() {
    return [](const v1::Event& event, WriteTxn& txn) -> absl::Status {
      const std::string key = KeyBuilder(1).U64(event.sequence()).key();
      ASSIGN_OR_RETURN(std::optional<std::string> seen,
                       txn.Get(Cf::kData, key));
      const int times = seen ? std::stoi(*seen) + 1 : 1;
      txn.Put(Cf::kData, key, std::to_string(times));
      ASSIGN_OR_RETURN(std::optional<std::string> total,
                       txn.Get(Cf::kData, "total"));
      txn.Put(Cf::kData, "total",
              std::to_string(total ? std::stoll(*total) + 1 : 1));
      return absl::OkStatus();
    };
  }
  int Times(uint64_t sequence) {
    auto v = store_->Get(Cf::kData, KeyBuilder(1).U64(sequence).key()).value();
    return v ? std::stoi(*v) : 0;
  }
  int64_t Total() {
    auto v = store_->Get(Cf::kData, "total").value();
    return v ? std::stoll(*v) : 0;
  }
  Store* store() { return store_.get(); }

 private:
  std::unique_ptr<Store> store_;
};

FeedConsumerOptions ConsumerOptions(prometheus::Registry* registry = nullptr) {
  FeedConsumerOptions o;
  o.source = "source";
  o.initial_backoff = absl::Milliseconds(20);
  o.max_backoff = absl::Milliseconds(200);
  o.max_batch = 64;
  o.registry = registry;
  return o;
}

TEST(FeedConsumer, StoppedMidStreamAndRestartedNeitherMissesNorDoubleApplies) {
  salesops::testing::TempDir dir;
  Source source(dir.Sub("source"));
  const std::string sink_dir = dir.Sub("sink");
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int i = 0; i < 1500; ++i) {
      source.Change(absl::StrCat("e", i % 37));
    }
    writing = false;
  });
  // Three consumer lifetimes, each stopped while events are still arriving, and
  // the sink's store closed and reopened between them as a restart would.
  for (int round = 0; round < 3; ++round) {
    Sink sink(sink_dir);
    auto peer = source.Peer();
    FeedConsumer consumer(sink.store(), peer.get(), ConsumerOptions(),
                          sink.Apply());
    const uint64_t start = consumer.applied();
    consumer.Start();
    ASSERT_TRUE(consumer.WaitForApplied(start + 200, absl::Seconds(30)));
    consumer.Stop();
  }
  writer.join();
  Sink sink(sink_dir);
  auto peer = source.Peer();
  FeedConsumer consumer(sink.store(), peer.get(), ConsumerOptions(),
                        sink.Apply());
  consumer.Start();
  ASSERT_TRUE(consumer.WaitForApplied(1500, absl::Seconds(60)));
  consumer.Stop();
  EXPECT_EQ(sink.Total(), 1500);
  for (uint64_t s = 1; s <= 1500; ++s) {
    ASSERT_EQ(sink.Times(s), 1) << "sequence " << s;
  }
  EXPECT_EQ(sink.store()->GetCursor("source").value(), 1500u);
}

TEST(FeedConsumer, ReconnectsAfterTheSourceRestarts) {
  salesops::testing::TempDir dir;
  Sink sink(dir.Sub("sink"));
  auto source = std::make_unique<Source>(dir.Sub("source"));
  const int port = source->port();
  ASSERT_GT(port, 0);
  for (int i = 0; i < 10; ++i) {
    source->Change("e");
  }
  auto peer = source->Peer();
  FeedConsumer consumer(sink.store(), peer.get(), ConsumerOptions(),
                        sink.Apply());
  consumer.Start();
  ASSERT_TRUE(consumer.WaitForApplied(10, absl::Seconds(20)));
  // The source goes down (stream ends, reconnects fail for a while) and comes
  // back on the same address with its data; the consumer picks up where it was.
  source.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  source = std::make_unique<Source>(dir.Sub("source"), port);
  ASSERT_EQ(source->port(), port);
  for (int i = 0; i < 5; ++i) {
    source->Change("e");
  }
  ASSERT_TRUE(consumer.WaitForApplied(15, absl::Seconds(30)));
  consumer.Stop();
  EXPECT_EQ(sink.Total(), 15);
}

TEST(FeedConsumer, FailedApplyIsRetriedFromTheCursor) {
  salesops::testing::TempDir dir;
  Source source(dir.Sub("source"));
  Sink sink(dir.Sub("sink"));
  for (int i = 0; i < 20; ++i) {
    source.Change("e");
  }
  std::atomic<int> failures{0};
  ApplyFn inner = sink.Apply();
  ApplyFn flaky = [&](const v1::Event& e, WriteTxn& txn) -> absl::Status {
    if (e.sequence() == 12 && failures.fetch_add(1) < 2) {
      return absl::UnavailableError("transient");
    }
    return inner(e, txn);
  };
  auto peer = source.Peer();
  FeedConsumer consumer(sink.store(), peer.get(), ConsumerOptions(), flaky);
  consumer.Start();
  ASSERT_TRUE(consumer.WaitForApplied(20, absl::Seconds(20)));
  consumer.Stop();
  EXPECT_EQ(failures.load(), 3);
  EXPECT_EQ(sink.Total(), 20);
  for (uint64_t s = 1; s <= 20; ++s) {
    EXPECT_EQ(sink.Times(s), 1);
  }
}

TEST(FeedConsumer, AfterBatchReportsEveryBatchAndWhetherItCommitted) {
  salesops::testing::TempDir dir;
  Source source(dir.Sub("source"));
  Sink sink(dir.Sub("sink"));
  for (int i = 0; i < 20; ++i) {
    source.Change("e");
  }
  // Staged in the apply function, published only when the batch commits: the
  // published count ends equal to the stored one despite a failed batch.
  std::mutex mu;
  int staged = 0;
  int published = 0;
  int rolled_back = 0;
  std::atomic<int> failures{0};
  ApplyFn inner = sink.Apply();
  ApplyFn flaky = [&](const v1::Event& e, WriteTxn& txn) -> absl::Status {
    RETURN_IF_ERROR(inner(e, txn));
    std::lock_guard<std::mutex> lock(mu);
    ++staged;
    if (e.sequence() == 12 && failures.fetch_add(1) < 1) {
      return absl::UnavailableError("transient");
    }
    return absl::OkStatus();
  };
  FeedConsumerOptions options = ConsumerOptions();
  options.after_batch = [&](bool committed) {
    std::lock_guard<std::mutex> lock(mu);
    if (committed) {
      published += staged;
    } else {
      ++rolled_back;
    }
    staged = 0;
  };
  auto peer = source.Peer();
  FeedConsumer consumer(sink.store(), peer.get(), options, flaky);
  consumer.Start();
  ASSERT_TRUE(consumer.WaitForApplied(20, absl::Seconds(20)));
  consumer.Stop();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(rolled_back, 1);
  EXPECT_EQ(published, 20);
  EXPECT_EQ(sink.Total(), 20);
}

TEST(FeedConsumer, ExpiredCursorResyncsThenResumes) {
  salesops::testing::TempDir dir;
  Source source(dir.Sub("source"));
  Sink sink(dir.Sub("sink"));
  for (int i = 0; i < 10; ++i) {
    source.Change("e");
  }
  ASSERT_TRUE(source.store()->TrimOutbox(8).ok());
  std::atomic<int> resyncs{0};
  auto peer = source.Peer();
  FeedConsumer consumer(sink.store(), peer.get(), ConsumerOptions(),
                        sink.Apply(), [&]() -> absl::Status {
                          ++resyncs;
                          // A real resync re-lists; here the "list" says it
                          // reflects seq 9.
                          return sink.store()
                              ->Write(SystemActor("test"),
                                      [](WriteTxn& txn) {
                                        txn.PutCursor("source", 9);
                                        return absl::OkStatus();
                                      })
                              .status();
                        });
  consumer.Start();
  ASSERT_TRUE(consumer.WaitForApplied(10, absl::Seconds(20)));
  source.Change("e");
  ASSERT_TRUE(consumer.WaitForApplied(11, absl::Seconds(20)));
  consumer.Stop();
  EXPECT_EQ(resyncs.load(), 1);
  EXPECT_EQ(sink.Times(9), 0);
  EXPECT_EQ(sink.Times(10), 1);
  EXPECT_EQ(sink.Times(11), 1);
}

TEST(FeedConsumer, FilteredConsumerAdvancesPastSkippedEventsAndExportsLag) {
  salesops::testing::TempDir dir;
  Source source(dir.Sub("source"));
  Sink sink(dir.Sub("sink"));
  prometheus::Registry registry;
  FeedConsumerOptions options = ConsumerOptions(&registry);
  options.kinds = {"test.A"};
  for (int i = 0; i < 6; ++i) {
    source.Change("a", i % 3 == 0 ? "test.A" : "test.B");
  }
  auto peer = source.Peer();
  FeedConsumer consumer(sink.store(), peer.get(), options, sink.Apply());
  consumer.Start();
  ASSERT_TRUE(consumer.WaitForApplied(6, absl::Seconds(20)));
  consumer.Stop();
  EXPECT_EQ(sink.Total(), 2);  // sequences 1 and 4
  EXPECT_EQ(sink.Times(1), 1);
  EXPECT_EQ(sink.Times(4), 1);
  const std::string page =
      prometheus::TextSerializer().Serialize(registry.Collect());
  EXPECT_NE(page.find("salesops_feed_lag_events{source=\"source\"} 0"),
            std::string::npos)
      << page;
  EXPECT_NE(
      page.find("salesops_feed_events_applied_total{source=\"source\"} 2"),
      std::string::npos)
      << page;
  EXPECT_NE(page.find("salesops_feed_last_applied_seconds{source=\"source\"}"),
            std::string::npos);
}

}  // namespace
}  // namespace salesops

namespace salesops {
namespace {

// Reads the first event of a Watch from `after` with `epoch` and
// `fingerprint`, or the status the stream ended with.
grpc::Status FirstEvent(Source& source, uint64_t after,
                        const std::string& epoch, uint64_t fingerprint,
                        v1::Event* first) {
  auto stub = v1::FeedService::NewStub(source.Channel());
  auto ctx = Ctx();
  v1::WatchRequest req;
  req.set_after_sequence(after);
  req.set_epoch(epoch);
  req.set_fingerprint(fingerprint);
  auto reader = stub->Watch(ctx.get(), req);
  if (reader->Read(first)) {
    ctx->TryCancel();
  }
  return reader->Finish();
}

TEST(FeedHeal, EventsCarryTheEpochAndAFingerprintTheSourceChecks) {
  salesops::testing::TempDir dir;
  Source source(dir.Sub("source"));
  for (int i = 0; i < 5; ++i) {
    source.Change("e");
  }
  const std::string epoch = source.store()->epoch();
  v1::Event third;
  ASSERT_EQ(FirstEvent(source, 2, "", 0, &third).error_code(),
            grpc::StatusCode::CANCELLED);
  EXPECT_EQ(third.sequence(), 3u);
  EXPECT_EQ(third.source_epoch(), epoch);
  EXPECT_NE(third.fingerprint(), 0u);

  v1::Event next;
  // The right epoch and fingerprint: accepted.
  EXPECT_EQ(
      FirstEvent(source, 3, epoch, third.fingerprint(), &next).error_code(),
      grpc::StatusCode::CANCELLED);
  EXPECT_EQ(next.sequence(), 4u);
  // Another incarnation's epoch: refused.
  grpc::Status s = FirstEvent(source, 3, "0123456789abcdef0123456789abcdef",
                              third.fingerprint(), &next);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_NE(s.error_message().find("epoch"), std::string::npos);
  // A different event at that sequence: refused.
  s = FirstEvent(source, 3, epoch, third.fingerprint() ^ 1, &next);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_NE(s.error_message().find("fingerprint"), std::string::npos);

  v1::GetFeedPositionResponse pos;
  auto ctx = Ctx();
  ASSERT_TRUE(v1::FeedService::NewStub(source.Channel())
                  ->GetFeedPosition(ctx.get(), {}, &pos)
                  .ok());
  EXPECT_EQ(pos.epoch(), epoch);
}

// A consumer whose source comes back on the same port from other data: a
// store made anew (another epoch), or an older copy of its own data dir (the
// same epoch, a diverged history once new writes pass the consumer's cursor).
// Either way the consumer resyncs and then applies the new history.
void ExpectResyncAfterSourceSwap(bool same_epoch) {
  salesops::testing::TempDir dir;
  Sink sink(dir.Sub("sink"));
  std::atomic<int> resyncs{0};
  auto resync = [&]() -> absl::Status {
    ++resyncs;
    return sink.store()
        ->Write(SystemActor("test"),
                [](WriteTxn& txn) {
                  txn.PutCursor("source", 0);  // "the list" is empty
                  return absl::OkStatus();
                })
        .status();
  };
  int port = 0;
  {
    Source source(dir.Sub("source"));
    port = source.port();
    for (int i = 0; i < 3; ++i) {
      source.Change("e");
    }
  }
  if (same_epoch) {
    std::filesystem::copy(dir.Sub("source"), dir.Sub("older"));
  }
  {
    Source source(dir.Sub("source"), port);
    for (int i = 0; i < 3; ++i) {
      source.Change("e");
    }
    auto peer = source.Peer();
    FeedConsumer consumer(sink.store(), peer.get(), ConsumerOptions(),
                          sink.Apply(), resync);
    consumer.Start();
    ASSERT_TRUE(consumer.WaitForApplied(6, absl::Seconds(20)));
    consumer.Stop();
  }
  ASSERT_EQ(resyncs.load(), 0);
  Source swapped(dir.Sub(same_epoch ? "older" : "fresh"), port);
  for (int i = 0; i < 8; ++i) {  // past the consumer's cursor (6)
    swapped.Change("other");
  }
  const uint64_t head = swapped.store()->last_sequence();
  auto peer = swapped.Peer();
  FeedConsumer consumer(sink.store(), peer.get(), ConsumerOptions(),
                        sink.Apply(), resync);
  consumer.Start();
  ASSERT_TRUE(consumer.WaitForApplied(head, absl::Seconds(20)));
  consumer.Stop();
  EXPECT_EQ(resyncs.load(), 1);
  const FeedCursor cursor = sink.store()->GetFeedCursor("source").value();
  EXPECT_EQ(cursor.sequence, head);
  EXPECT_EQ(cursor.epoch, swapped.store()->epoch());
  EXPECT_EQ(cursor.fingerprint, *swapped.store()->FingerprintAt(head).value());
}

TEST(FeedHeal, ConsumerResyncsWhenItsSourceIsAnotherIncarnation) {
  ExpectResyncAfterSourceSwap(/*same_epoch=*/false);
}

TEST(FeedHeal, ConsumerResyncsWhenItsSourceWentBackToAnOlderCopy) {
  ExpectResyncAfterSourceSwap(/*same_epoch=*/true);
}

int Threads() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) {
      return std::stoi(line.substr(8));
    }
  }
  return -1;
}

TEST(FeedHeal, OpenWatchStreamsHoldNoThreadEach) {
  salesops::testing::TempDir dir;
  Source source(dir.Sub("source"));
  source.Change("e");
  auto stub = v1::FeedService::NewStub(source.Channel());
  const int before = Threads();
  constexpr int kStreams = 300;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::Event>>> readers;
  for (int i = 0; i < kStreams; ++i) {
    contexts.push_back(Ctx());
    readers.push_back(stub->Watch(contexts.back().get(), v1::WatchRequest()));
    v1::Event first;
    ASSERT_TRUE(readers.back()->Read(&first));  // the stream is open
  }
  for (int i = 0; i < 100 && source.feed()->watchers() < kStreams; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(source.feed()->watchers(), static_cast<size_t>(kStreams));
  EXPECT_LT(Threads() - before, 50) << "threads before " << before;
  // Every one of them still gets the next commit.
  const uint64_t next = source.Change("e");
  for (auto& reader : readers) {
    v1::Event e;
    ASSERT_TRUE(reader->Read(&e));
    EXPECT_EQ(e.sequence(), next);
  }
  source.feed()->Stop();
  for (auto& reader : readers) {
    v1::Event e;
    while (reader->Read(&e)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  }
}

}  // namespace
}  // namespace salesops
