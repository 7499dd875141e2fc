#include "common/server/server.h"

#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "common/metrics/testing/scrape.h"
#include "common/server/interceptors.h"
#include "common/server/testing/channels.h"
#include "common/server/testing/echo_service.h"
#include "common/testing/process.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "salesops/testing/testing.grpc.pb.h"

extern char** environ;

namespace salesops {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::salesops::testing::EchoRequest;
using ::salesops::testing::EchoResponse;
using ::salesops::testing::EchoService;
using ::salesops::testing::EchoServiceImpl;
using ::salesops::testing::FindSample;
using ::salesops::testing::FreshChannel;
using ::salesops::testing::HttpGet;
using ::salesops::testing::In;
using ::salesops::testing::ParseTextPage;
using ::salesops::testing::Process;
using ::salesops::testing::PromtoolCheck;
using ::salesops::testing::Sample;
using ::salesops::testing::TempDir;
using ::testing::Contains;
using ::testing::HasSubstr;

constexpr char kEchoService[] = "salesops.testing.EchoService";

grpc::Status CallEcho(EchoService::Stub& stub, const std::string& text,
                      int delay_ms = 0, int code = 0,
                      absl::Duration deadline = absl::Seconds(10),
                      EchoResponse* response = nullptr) {
  grpc::ClientContext ctx;
  ctx.set_deadline(In(deadline));
  EchoRequest request;
  request.set_text(text);
  request.set_delay_ms(delay_ms);
  request.set_code(code);
  EchoResponse ignored;
  return stub.Echo(&ctx, request, response != nullptr ? response : &ignored);
}

ServerConfig LoopbackConfig() {
  ServerConfig c;
  c.listen = {"127.0.0.1:0"};
  c.auth = "none";
  c.drain_timeout = absl::Seconds(5);
  return c;
}

// An in-process Server with the EchoService.
struct EchoFixture {
  std::unique_ptr<Server> server;
  std::unique_ptr<EchoServiceImpl> echo;

  static EchoFixture Start(ServerConfig config, Metrics* metrics) {
    EchoFixture f;
    auto server = Server::Create(std::move(config), metrics);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) {
      return f;
    }
    f.server = std::move(*server);
    f.echo = std::make_unique<EchoServiceImpl>(&f.server->auth());
    f.server->AddService(f.echo.get(), kEchoService);
    absl::Status s = f.server->Start();
    EXPECT_TRUE(s.ok()) << s;
    return f;
  }
};

// ---------------------------------------------------------------------------------------------
// Pure helpers.

TEST(LoopbackTest, RecognizesLoopbackOnly) {
  for (const char* a : {"127.0.0.1:0", "127.1.2.3:80", "localhost:7001",
                        "LOCALHOST:1", "[::1]:7001", "[::ffff:127.0.0.1]:5"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a :
       {"0.0.0.0:0", "[::]:0", "10.0.0.1:7001", "example.com:80", "::1:80",
        "128.0.0.1:1", "127.0.0.1", "unix:/tmp/sock", "[::1]", ""}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

TEST(InterceptorNamesTest, SplitsMethodAndNamesCodes) {
  using F = MetricsInterceptorFactory;
  EXPECT_EQ(F::SplitMethod("/salesops.v1.FeedService/Watch"),
            std::make_pair(std::string("salesops.v1.FeedService"),
                           std::string("Watch")));
  EXPECT_EQ(F::SplitMethod("unknown").first, "unknown");
  EXPECT_EQ(F::SplitMethod("/a/b/c").first, "unknown");
  EXPECT_EQ(F::SplitMethod("//b").first, "unknown");
  EXPECT_EQ(F::CodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(F::CodeName(grpc::StatusCode::CANCELLED), "Canceled");
  EXPECT_EQ(F::CodeName(grpc::StatusCode::INVALID_ARGUMENT), "InvalidArgument");
  EXPECT_EQ(F::CodeName(grpc::StatusCode::DEADLINE_EXCEEDED),
            "DeadlineExceeded");
  EXPECT_EQ(F::CodeName(grpc::StatusCode::UNAUTHENTICATED), "Unauthenticated");
  EXPECT_EQ(F::CodeName(grpc::StatusCode::DATA_LOSS), "DataLoss");
  const std::vector<double>& b = F::HandlingBuckets();
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(b.front(), 0.00005);
  EXPECT_DOUBLE_EQ(b.back(), 10);
  EXPECT_TRUE(std::is_sorted(b.begin(), b.end()));
  // The forecast's latency SLO selects le="0.005"; sub-millisecond latency
  // needs le="0.001" and finer. Exactly these doubles, so the text is too.
  EXPECT_EQ(std::count(b.begin(), b.end(), 0.005), 1);
  EXPECT_EQ(std::count(b.begin(), b.end(), 0.001), 1);
  EXPECT_GE(
      std::count_if(b.begin(), b.end(), [](double x) { return x < 0.001; }), 4);
  EXPECT_LE(b.size(), 20u);  // series per method stay bounded
}

// ---------------------------------------------------------------------------------------------
// Config validation.

TEST(ServerCreateTest, AuthNoneRefusedOnNonLoopback) {
  for (const char* address : {"0.0.0.0:0", "[::]:0", "10.1.2.3:7001"}) {
    ServerConfig c = LoopbackConfig();
    c.listen = {"127.0.0.1:0", address};
    auto s = Server::Create(c, nullptr);
    ASSERT_FALSE(s.ok()) << address;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(s.status().message(), HasSubstr(address));
  }
  ServerConfig ok = LoopbackConfig();
  ok.listen = {"127.0.0.1:0", "[::1]:0", "localhost:0"};
  EXPECT_TRUE(Server::Create(ok, nullptr).ok());
}

TEST(ServerCreateTest, BadConfigsAreRefused) {
  ServerConfig c = LoopbackConfig();
  c.auth = "tokens";
  auto s = Server::Create(c, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("--tokens_file"));

  c = LoopbackConfig();
  c.auth = "maybe";
  EXPECT_EQ(Server::Create(c, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);

  c = LoopbackConfig();
  c.listen = {"127.0.0.1"};
  EXPECT_EQ(Server::Create(c, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);

  c = LoopbackConfig();
  c.listen = {};
  EXPECT_FALSE(Server::Create(c, nullptr).ok());

  c = LoopbackConfig();
  c.tls_cert_file = "/nonexistent/cert.pem";
  s = Server::Create(c, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("--tls_key_file"));

  c = LoopbackConfig();
  c.tls_client_ca_file = "/nonexistent/ca.pem";
  EXPECT_FALSE(Server::Create(c, nullptr).ok());

  c = LoopbackConfig();
  c.max_threads = 3;
  s = Server::Create(c, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("--max_threads=3"));
  c = LoopbackConfig();
  c.max_streams_per_connection = 0;
  s = Server::Create(c, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("--max_streams_per_connection"));
}

// ---------------------------------------------------------------------------------------------
// a. Metrics of real calls, scraped over HTTP and linted by promtool.

TEST(ServerMetricsTest, CountsCallsByCodeAndPassesPromtool) {
  auto metrics = Metrics::Create("127.0.0.1:0");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EchoFixture f = EchoFixture::Start(LoopbackConfig(), metrics->get());
  ASSERT_NE(f.server, nullptr);
  auto stub = EchoService::NewStub(FreshChannel(f.server->target()));

  EXPECT_TRUE(CallEcho(*stub, "a").ok());
  EXPECT_TRUE(CallEcho(*stub, "b").ok());
  EXPECT_EQ(CallEcho(*stub, "c", 0, 3).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(CallEcho(*stub, "d", 0, 5).error_code(),
            grpc::StatusCode::NOT_FOUND);

  absl::StatusOr<std::string> page =
      HttpGet("127.0.0.1", (*metrics)->port(), "/metrics");
  ASSERT_TRUE(page.ok()) << page.status();
  absl::StatusOr<std::vector<Sample>> samples = ParseTextPage(*page);
  ASSERT_TRUE(samples.ok()) << samples.status();

  const std::map<std::string, std::string> method = {
      {"grpc_type", "unary"},
      {"grpc_service", kEchoService},
      {"grpc_method", "Echo"}};
  auto with_code = [&](const char* code) {
    auto labels = method;
    labels["grpc_code"] = code;
    return FindSample(*samples, "grpc_server_handled_total", labels);
  };
  EXPECT_EQ(with_code("OK"), 2);
  EXPECT_EQ(with_code("InvalidArgument"), 1);
  EXPECT_EQ(with_code("NotFound"), 1);
  EXPECT_EQ(with_code("Internal"), std::nullopt);
  EXPECT_EQ(FindSample(*samples, "grpc_server_started_total", method), 4);
  EXPECT_EQ(FindSample(*samples, "grpc_server_handling_seconds_count", method),
            4);
  auto inf = method;
  inf["le"] = "+Inf";
  EXPECT_EQ(FindSample(*samples, "grpc_server_handling_seconds_bucket", inf),
            4);
  for (const char* le : {"5e-05", "0.0001", "0.00075", "0.001", "0.005"}) {
    auto fine = method;
    fine["le"] = le;
    EXPECT_TRUE(
        FindSample(*samples, "grpc_server_handling_seconds_bucket", fine)
            .has_value())
        << le;
  }
  // One request message per call; a response message only for the answers.
  EXPECT_EQ(FindSample(*samples, "grpc_server_msg_received_total", method), 4);
  EXPECT_EQ(FindSample(*samples, "grpc_server_msg_sent_total", method), 2);
  auto sum = FindSample(*samples, "grpc_server_handling_seconds_sum", method);
  ASSERT_TRUE(sum.has_value());
  EXPECT_GT(*sum, 0);
  EXPECT_LT(*sum, 10);

  absl::Status lint = PromtoolCheck(*page);
  EXPECT_TRUE(lint.ok()) << lint << "\n" << *page;
  f.server->Shutdown();
}

TEST(ServerMetricsTest, HandlingTimeCoversTheHandler) {
  auto metrics = Metrics::Create("");
  ASSERT_TRUE(metrics.ok());
  EchoFixture f = EchoFixture::Start(LoopbackConfig(), metrics->get());
  ASSERT_NE(f.server, nullptr);
  auto stub = EchoService::NewStub(FreshChannel(f.server->target()));
  ASSERT_TRUE(CallEcho(*stub, "slow", /*delay_ms=*/120).ok());
  auto samples = ParseTextPage((*metrics)->TextPage());
  ASSERT_TRUE(samples.ok());
  const std::map<std::string, std::string> method = {
      {"grpc_type", "unary"},
      {"grpc_service", kEchoService},
      {"grpc_method", "Echo"}};
  auto sum = FindSample(*samples, "grpc_server_handling_seconds_sum", method);
  ASSERT_TRUE(sum.has_value());
  EXPECT_GE(*sum, 0.12);
  auto below = method;
  below["le"] = "0.1";
  EXPECT_EQ(FindSample(*samples, "grpc_server_handling_seconds_bucket", below),
            0);
  auto above = method;
  above["le"] = "0.25";
  EXPECT_EQ(FindSample(*samples, "grpc_server_handling_seconds_bucket", above),
            1);
}

TEST(ServerMetricsTest, MethodsArePreRegisteredWithZeroCounts) {
  auto metrics = Metrics::Create("");
  ASSERT_TRUE(metrics.ok());
  EchoFixture f = EchoFixture::Start(LoopbackConfig(), metrics->get());
  ASSERT_NE(f.server, nullptr);
  auto samples = ParseTextPage((*metrics)->TextPage());
  ASSERT_TRUE(samples.ok());
  const std::map<std::string, std::string> echo = {
      {"grpc_type", "unary"},
      {"grpc_service", kEchoService},
      {"grpc_method", "Echo"}};
  for (const char* name :
       {"grpc_server_started_total", "grpc_server_msg_received_total",
        "grpc_server_msg_sent_total", "grpc_server_handling_seconds_count"}) {
    EXPECT_EQ(FindSample(*samples, name, echo), 0) << name;
  }
  auto ok = echo;
  ok["grpc_code"] = "OK";
  EXPECT_EQ(FindSample(*samples, "grpc_server_handled_total", ok), 0);
}

grpc::Status CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& service,
                         HealthCheckResponse::ServingStatus* status);

// Calls `method` with an empty request through the generic stub; the status.
grpc::Status GenericUnary(const std::shared_ptr<grpc::Channel>& channel,
                          const std::string& method) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  const auto deadline = In(absl::Seconds(10));
  ctx.set_deadline(deadline);
  grpc::CompletionQueue cq;
  grpc::ByteBuffer request;
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  auto call = stub.PrepareUnaryCall(&ctx, method, request, &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status(grpc::StatusCode::UNKNOWN, "no answer");
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag;
  bool ok;
  cq.AsyncNext(&tag, &ok, deadline);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

TEST(ServerMetricsTest, UnknownMethodsShareOneSeries) {
  auto metrics = Metrics::Create("");
  ASSERT_TRUE(metrics.ok());
  EchoFixture f = EchoFixture::Start(LoopbackConfig(), metrics->get());
  ASSERT_NE(f.server, nullptr);
  auto channel = FreshChannel(f.server->target());
  for (const char* m : {"/salesops.testing.EchoService/Nope", "/x.Y/Z"}) {
    EXPECT_EQ(GenericUnary(channel, m).error_code(),
              grpc::StatusCode::UNIMPLEMENTED);
  }
  auto samples = ParseTextPage((*metrics)->TextPage());
  ASSERT_TRUE(samples.ok());
  const std::map<std::string, std::string> unknown = {
      {"grpc_type", "unary"},
      {"grpc_service", "unknown"},
      {"grpc_method", "unknown"}};
  EXPECT_EQ(FindSample(*samples, "grpc_server_started_total", unknown), 2);
  auto unimplemented = unknown;
  unimplemented["grpc_code"] = "Unimplemented";
  EXPECT_EQ(FindSample(*samples, "grpc_server_handled_total", unimplemented),
            2);
  for (const Sample& s : *samples) {
    EXPECT_NE(s.labels.count("grpc_method") ? s.labels.at("grpc_method") : "",
              "Nope")
        << s.name;
    EXPECT_NE(s.labels.count("grpc_service") ? s.labels.at("grpc_service") : "",
              "x.Y")
        << s.name;
  }
  // Health checks have series of their own.
  HealthCheckResponse::ServingStatus status;
  ASSERT_TRUE(CheckHealth(channel, "", &status).ok());
  samples = ParseTextPage((*metrics)->TextPage());
  ASSERT_TRUE(samples.ok());
  EXPECT_EQ(FindSample(*samples, "grpc_server_handled_total",
                       {{"grpc_type", "unary"},
                        {"grpc_service", "grpc.health.v1.Health"},
                        {"grpc_method", "Check"},
                        {"grpc_code", "OK"}}),
            1);
  // Watch of grpc.health.v1.Health streams answers: its grpc_type comes from
  // the generated descriptor pool.
  EXPECT_EQ(FindSample(*samples, "grpc_server_started_total",
                       {{"grpc_type", "server_stream"},
                        {"grpc_service", "grpc.health.v1.Health"},
                        {"grpc_method", "Watch"}}),
            0);
}

// ---------------------------------------------------------------------------------------------
// b. Health and reflection.

grpc::Status CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& service,
                         HealthCheckResponse::ServingStatus* status) {
  auto stub = Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(In(absl::Seconds(5)));
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  grpc::Status s = stub->Check(&ctx, request, &response);
  *status = response.status();
  return s;
}

TEST(ServerHealthTest, ServingAfterStartNotServingWhenShutdownBegins) {
  EchoFixture f = EchoFixture::Start(LoopbackConfig(), nullptr);
  ASSERT_NE(f.server, nullptr);
  auto channel = FreshChannel(f.server->target());
  HealthCheckResponse::ServingStatus status;
  ASSERT_TRUE(CheckHealth(channel, kEchoService, &status).ok());
  EXPECT_EQ(status, HealthCheckResponse::SERVING);
  ASSERT_TRUE(CheckHealth(channel, "", &status).ok());
  EXPECT_EQ(status, HealthCheckResponse::SERVING);
  EXPECT_EQ(
      CheckHealth(channel, "salesops.v1.NoSuchService", &status).error_code(),
      grpc::StatusCode::NOT_FOUND);

  // Hooks run after health turned NOT_SERVING and while the server still
  // answers.
  std::vector<std::string> order;
  HealthCheckResponse::ServingStatus in_hook_service =
      HealthCheckResponse::UNKNOWN;
  HealthCheckResponse::ServingStatus in_hook_overall =
      HealthCheckResponse::UNKNOWN;
  f.server->OnShutdown([&] {
    order.push_back("first");
    EXPECT_TRUE(CheckHealth(channel, kEchoService, &in_hook_service).ok());
    EXPECT_TRUE(CheckHealth(channel, "", &in_hook_overall).ok());
  });
  f.server->OnShutdown([&] { order.push_back("second"); });
  f.server->Shutdown();
  EXPECT_EQ(in_hook_service, HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(in_hook_overall, HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(order, (std::vector<std::string>{"first", "second"}));
  f.server->Shutdown();  // idempotent: hooks do not run again
  EXPECT_EQ(order.size(), 2u);
}

TEST(ServerHealthTest, WatchFollowsStatusChanges) {
  EchoFixture f = EchoFixture::Start(LoopbackConfig(), nullptr);
  ASSERT_NE(f.server, nullptr);
  auto stub = Health::NewStub(FreshChannel(f.server->target()));
  grpc::ClientContext ctx;
  ctx.set_deadline(In(absl::Seconds(20)));
  HealthCheckRequest request;
  request.set_service("salesops.v1.Later");
  auto reader = stub->Watch(&ctx, request);
  HealthCheckResponse update;
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVICE_UNKNOWN);
  f.server->SetServingStatus("salesops.v1.Later", true);
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVING);
  f.server->SetServingStatus("salesops.v1.Later", false);
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);
  ctx.TryCancel();
  while (reader->Read(&update)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST(ServerHealthTest, HealthWatchersDoNotHoldUpShutdown) {
  ServerConfig c = LoopbackConfig();
  c.drain_timeout = absl::Seconds(8);
  EchoFixture f = EchoFixture::Start(c, nullptr);
  ASSERT_NE(f.server, nullptr);
  auto stub = Health::NewStub(FreshChannel(f.server->target()));
  grpc::ClientContext ctx;
  ctx.set_deadline(In(absl::Seconds(20)));
  HealthCheckRequest request;
  request.set_service(kEchoService);
  auto reader = stub->Watch(&ctx, request);
  HealthCheckResponse update;
  ASSERT_TRUE(reader->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVING);

  auto watcher = std::async(std::launch::async, [&] {
    std::vector<HealthCheckResponse::ServingStatus> seen;
    HealthCheckResponse u;
    while (reader->Read(&u)) {
      seen.push_back(u.status());
    }
    reader->Finish().IgnoreError();
    return seen;
  });
  const absl::Time start = absl::Now();
  f.server->Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
  std::vector<HealthCheckResponse::ServingStatus> seen = watcher.get();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), HealthCheckResponse::NOT_SERVING);
}

// Lists services through grpc.reflection.v1alpha with the generic stub; the
// request and response messages come from the descriptor pool
// (salesops_server links their generated code, reflection.h).
absl::StatusOr<std::vector<std::string>> ListServicesByReflection(
    const std::shared_ptr<grpc::Channel>& channel) {
  namespace pb = google::protobuf;
  const pb::DescriptorPool* pool = pb::DescriptorPool::generated_pool();
  const pb::Descriptor* req_type = pool->FindMessageTypeByName(
      "grpc.reflection.v1alpha.ServerReflectionRequest");
  const pb::Descriptor* resp_type = pool->FindMessageTypeByName(
      "grpc.reflection.v1alpha.ServerReflectionResponse");
  if (req_type == nullptr || resp_type == nullptr) {
    return absl::NotFoundError("reflection messages not linked");
  }
  std::unique_ptr<pb::Message> request(
      pb::MessageFactory::generated_factory()->GetPrototype(req_type)->New());
  request->GetReflection()->SetString(
      request.get(), req_type->FindFieldByName("list_services"), "*");
  std::string bytes = request->SerializeAsString();

  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  const auto deadline = In(absl::Seconds(10));
  ctx.set_deadline(deadline);
  grpc::CompletionQueue cq;
  auto call = stub.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      &cq);
  auto wait = [&](intptr_t want) -> bool {
    void* tag = nullptr;
    bool ok = false;
    if (cq.AsyncNext(&tag, &ok, deadline) != grpc::CompletionQueue::GOT_EVENT) {
      return false;
    }
    return ok && reinterpret_cast<intptr_t>(tag) == want;
  };
  grpc::Slice slice(bytes);
  grpc::ByteBuffer out(&slice, 1);
  grpc::ByteBuffer in;
  grpc::Status status;
  bool ok = true;
  call->StartCall(reinterpret_cast<void*>(1));
  ok = ok && wait(1);
  if (ok) {
    call->Write(out, reinterpret_cast<void*>(2));
    ok = wait(2);
  }
  if (ok) {
    call->WritesDone(reinterpret_cast<void*>(3));
    ok = wait(3);
  }
  if (ok) {
    call->Read(&in, reinterpret_cast<void*>(4));
    ok = wait(4);
  }
  call->Finish(&status, reinterpret_cast<void*>(5));
  void* tag;
  bool finished_ok;
  while (cq.AsyncNext(&tag, &finished_ok, deadline) ==
             grpc::CompletionQueue::GOT_EVENT &&
         reinterpret_cast<intptr_t>(tag) != 5) {
  }
  cq.Shutdown();
  while (cq.Next(&tag, &finished_ok)) {
  }
  if (!ok) {
    return absl::UnavailableError(
        absl::StrCat("reflection call failed: ", status.error_message()));
  }
  std::vector<grpc::Slice> slices;
  if (!in.Dump(&slices).ok()) {
    return absl::DataLossError("cannot read the reflection response");
  }
  std::string response_bytes;
  for (const grpc::Slice& s : slices) {
    response_bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  std::unique_ptr<pb::Message> response(
      pb::MessageFactory::generated_factory()->GetPrototype(resp_type)->New());
  if (!response->ParseFromString(response_bytes)) {
    return absl::DataLossError("cannot parse the reflection response");
  }
  const pb::Reflection* r = response->GetReflection();
  const pb::FieldDescriptor* list =
      resp_type->FindFieldByName("list_services_response");
  if (!r->HasField(*response, list)) {
    return absl::NotFoundError(absl::StrCat("no list_services_response: ",
                                            response->ShortDebugString()));
  }
  const pb::Message& services = r->GetMessage(*response, list);
  const pb::FieldDescriptor* service_field =
      services.GetDescriptor()->FindFieldByName("service");
  std::vector<std::string> names;
  for (int i = 0;
       i < services.GetReflection()->FieldSize(services, service_field); ++i) {
    const pb::Message& s = services.GetReflection()->GetRepeatedMessage(
        services, service_field, i);
    names.push_back(s.GetReflection()->GetString(
        s, s.GetDescriptor()->FindFieldByName("name")));
  }
  return names;
}

TEST(ServerReflectionTest, ListsTheEchoService) {
  EchoFixture f = EchoFixture::Start(LoopbackConfig(), nullptr);
  ASSERT_NE(f.server, nullptr);
  absl::StatusOr<std::vector<std::string>> names =
      ListServicesByReflection(FreshChannel(f.server->target()));
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_THAT(*names, Contains(kEchoService));
  EXPECT_THAT(*names, Contains("grpc.reflection.v1alpha.ServerReflection"));
  // Our health service is generated code, so reflection describes it too.
  EXPECT_THAT(*names, Contains("grpc.health.v1.Health"));
}

// ---------------------------------------------------------------------------------------------
// Many calls waiting at once (as writes waiting for the group commit do) run on
// reused server threads, not on a thread started and ended per call.

std::set<std::string> ThreadsOfThisProcess() {
  std::set<std::string> tids;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task")) {
    tids.insert(entry.path().filename().string());
  }
  return tids;
}

TEST(ServerThreadsTest, ConcurrentWaitingCallsReuseServerThreads) {
  auto metrics = Metrics::Create("");
  ASSERT_TRUE(metrics.ok());
  EchoFixture f = EchoFixture::Start(LoopbackConfig(), metrics->get());
  ASSERT_NE(f.server, nullptr);
  auto stub = EchoService::NewStub(FreshChannel(f.server->target()));
  ASSERT_TRUE(CallEcho(*stub, "warm-up").ok());

  constexpr int kClients = 32;
  constexpr int kRounds = 10;
  std::set<std::string> seen = ThreadsOfThisProcess();
  const size_t before = seen.size();
  std::atomic<int> failed{0};
  std::atomic<int> running{kClients};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      for (int r = 0; r < kRounds; ++r) {
        if (!CallEcho(*stub, "wait", /*delay_ms=*/40).ok()) {
          ++failed;
        }
      }
      --running;
    });
  }
  // Sample the process's threads while the rounds run (bounded: the calls
  // take ~0.4 s; the loop gives up after 30 s).
  for (int i = 0; i < 3000 && running.load() > 0; ++i) {
    std::set<std::string> now = ThreadsOfThisProcess();
    seen.insert(now.begin(), now.end());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (std::thread& t : clients) {
    t.join();
  }
  EXPECT_EQ(failed.load(), 0);
  // The clients' threads plus up to one server thread per call in flight and
  // some slack; a thread per call would be about kClients * kRounds more.
  EXPECT_LE(seen.size(), before + kClients + kClients + 16)
      << "threads seen during " << kClients * kRounds << " calls";
}

// --max_threads is a hard bound: with every synchronous thread busy, gRPC
// answers a new call RESOURCE_EXHAUSTED "Server Threadpool Exhausted" at once
// (server.h) rather than starting a thread; no handler runs for it.
TEST(ServerThreadsTest, CallsBeyondMaxThreadsGetResourceExhaustedAtOnce) {
  ServerConfig c = LoopbackConfig();
  c.max_threads = 8;
  EchoFixture f = EchoFixture::Start(c, nullptr);
  ASSERT_NE(f.server, nullptr);
  auto stub = EchoService::NewStub(FreshChannel(f.server->target()));
  constexpr int kCalls = 24;
  std::vector<std::future<std::pair<grpc::Status, absl::Duration>>> calls;
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(std::async(std::launch::async, [&] {
      const absl::Time start = absl::Now();
      grpc::Status st = CallEcho(*stub, "busy", /*delay_ms=*/1500);
      return std::make_pair(st, absl::Now() - start);
    }));
  }
  int ok = 0;
  int exhausted = 0;
  for (auto& call : calls) {
    auto [status, took] = call.get();
    if (status.ok()) {
      ++ok;
    } else {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
          << status.error_message();
      EXPECT_EQ(status.error_message(), "Server Threadpool Exhausted");
      EXPECT_LT(took, absl::Milliseconds(1000));
      ++exhausted;
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_LE(ok, 8);
  EXPECT_EQ(ok + exhausted, kCalls);
  // Threads are free again afterwards.
  EXPECT_TRUE(CallEcho(*stub, "after").ok());
}

// --max_streams_per_connection: a third call on a connection limited to two
// waits in the client for a free stream (it is not failed).
TEST(ServerLimitsTest, StreamsPerConnectionAreLimited) {
  ServerConfig c = LoopbackConfig();
  c.max_streams_per_connection = 2;
  EchoFixture f = EchoFixture::Start(c, nullptr);
  ASSERT_NE(f.server, nullptr);
  auto stub = EchoService::NewStub(FreshChannel(f.server->target()));
  ASSERT_TRUE(CallEcho(*stub, "warm-up").ok());  // settings exchanged
  const absl::Time start = absl::Now();
  std::vector<std::future<grpc::Status>> calls;
  for (int i = 0; i < 3; ++i) {
    calls.push_back(std::async(std::launch::async,
                               [&] { return CallEcho(*stub, "x", 400); }));
  }
  for (auto& call : calls) {
    EXPECT_TRUE(call.get().ok());
  }
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(780));
}

// ---------------------------------------------------------------------------------------------
// c. SO_REUSEPORT is off: a second server cannot take the port.

TEST(ServerBindTest, SecondServerCannotBindTheSamePort) {
  EchoFixture first = EchoFixture::Start(LoopbackConfig(), nullptr);
  ASSERT_NE(first.server, nullptr);
  ASSERT_GT(first.server->port(), 0);
  ServerConfig c = LoopbackConfig();
  const std::string address = absl::StrCat("127.0.0.1:", first.server->port());
  c.listen = {address};
  auto second = Server::Create(c, nullptr);
  ASSERT_TRUE(second.ok()) << second.status();
  EchoServiceImpl echo(&(*second)->auth());
  (*second)->AddService(&echo, kEchoService);
  absl::Status s = (*second)->Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(s.message(), HasSubstr(address));
  // The first still serves every call.
  auto stub = EchoService::NewStub(FreshChannel(first.server->target()));
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(CallEcho(*stub, "x").ok());
  }
}

TEST(ServerBindTest, ServesOnEveryListenAddress) {
  ServerConfig c = LoopbackConfig();
  c.listen = {"127.0.0.1:0", "127.0.0.1:0"};
  EchoFixture f = EchoFixture::Start(c, nullptr);
  ASSERT_NE(f.server, nullptr);
  ASSERT_NE(f.server->port(0), f.server->port(1));
  for (size_t i = 0; i < 2; ++i) {
    auto stub = EchoService::NewStub(FreshChannel(f.server->target(i)));
    EXPECT_TRUE(CallEcho(*stub, "x").ok()) << i;
  }
}

TEST(ServerLimitsTest, MaxMessageSizeIsEnforced) {
  ServerConfig c = LoopbackConfig();
  c.max_message_bytes = 1024;
  EchoFixture f = EchoFixture::Start(c, nullptr);
  ASSERT_NE(f.server, nullptr);
  auto stub = EchoService::NewStub(FreshChannel(f.server->target()));
  // Under the 1 KiB message limit and within the text's default field bound
  // (256 characters, bounds.h); 2000 bytes break the message limit first.
  EXPECT_TRUE(CallEcho(*stub, std::string(250, 'x')).ok());
  EXPECT_EQ(CallEcho(*stub, std::string(2000, 'x')).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST(ServerShutdownTest, InProcessDrainLetsCallsFinishAndRefusesNewOnes) {
  ServerConfig c = LoopbackConfig();
  c.drain_timeout = absl::Seconds(5);
  EchoFixture f = EchoFixture::Start(c, nullptr);
  ASSERT_NE(f.server, nullptr);
  const std::string target = f.server->target();
  auto stub = EchoService::NewStub(FreshChannel(target));
  auto slow = std::async(std::launch::async,
                         [&] { return CallEcho(*stub, "slow", 600); });
  absl::SleepFor(absl::Milliseconds(150));
  const absl::Time start = absl::Now();
  f.server->Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  EXPECT_TRUE(slow.get().ok());
  auto late = EchoService::NewStub(FreshChannel(target));
  EXPECT_EQ(CallEcho(*late, "late", 0, 0, absl::Seconds(2)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(ServerShutdownTest, HooksRunOnlyAfterASuccessfulStart) {
  bool ran = false;
  {
    auto server = Server::Create(LoopbackConfig(), nullptr);
    ASSERT_TRUE(server.ok());
    (*server)->OnShutdown([&] { ran = true; });
    // Destroyed without Start, as when a main returns early.
  }
  EXPECT_FALSE(ran);
  EchoFixture f = EchoFixture::Start(LoopbackConfig(), nullptr);
  ASSERT_NE(f.server, nullptr);
  f.server->OnShutdown([&] { ran = true; });
  f.server.reset();  // the destructor shuts down
  EXPECT_TRUE(ran);
}

TEST(ServerShutdownTest, DrainDeadlineCancelsWhatRemains) {
  ServerConfig c = LoopbackConfig();
  c.drain_timeout = absl::Milliseconds(300);
  EchoFixture f = EchoFixture::Start(c, nullptr);
  ASSERT_NE(f.server, nullptr);
  auto stub = EchoService::NewStub(FreshChannel(f.server->target()));
  auto slow = std::async(std::launch::async,
                         [&] { return CallEcho(*stub, "slow", 20000); });
  absl::SleepFor(absl::Milliseconds(150));
  const absl::Time start = absl::Now();
  f.server->Shutdown();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  // Never CANCELLED: gRPC closes the connection, the client sees UNAVAILABLE.
  EXPECT_EQ(slow.get().error_code(), grpc::StatusCode::UNAVAILABLE);
}

// ---------------------------------------------------------------------------------------------
// d, e. The real binary.

std::string EchoServerPath() { return SALESOPS_ECHO_SERVER; }

// Reads "port":N from the server's ready line.
int ReadyPort(Process& p) {
  const int port =
      p.WaitForIntField("\"msg\":\"echo ready\"", "port", absl::Seconds(20));
  EXPECT_GT(port, 0) << p.Log();
  return port;
}

// A data directory for one run of the binary (made on the first start).
std::string DataDirFlag(const TempDir& dir) {
  return "--data_dir=" + dir.path() + "/data";
}

TEST(EchoServerProcessTest, SigtermDrainsInFlightCallsAndExitsZero) {
  TempDir dir;
  auto p =
      Process::Start({EchoServerPath(), "--listen=127.0.0.1:0", "--auth=none",
                      DataDirFlag(dir), "--init", "--drain_timeout=10s"});
  const int port = ReadyPort(*p);
  ASSERT_GT(port, 0);
  const std::string target = absl::StrCat("127.0.0.1:", port);
  auto channel = FreshChannel(target);
  auto stub = EchoService::NewStub(channel);
  ASSERT_TRUE(CallEcho(*stub, "warm-up").ok());

  EchoResponse response;
  auto in_flight = std::async(std::launch::async, [&] {
    return CallEcho(*stub, "in flight", /*delay_ms=*/1500, 0, absl::Seconds(20),
                    &response);
  });
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time signalled = absl::Now();
  p->Signal(SIGTERM);
  ASSERT_TRUE(p->WaitForLine("signal received", absl::Seconds(5)).has_value())
      << p->Log();
  absl::SleepFor(absl::Milliseconds(100));

  // New calls are refused while the old one drains, on a new and on the old
  // connection.
  auto late = EchoService::NewStub(FreshChannel(target));
  EXPECT_EQ(CallEcho(*late, "late", 0, 0, absl::Seconds(2)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_FALSE(
      CallEcho(*stub, "late on old channel", 0, 0, absl::Seconds(2)).ok());

  grpc::Status s = in_flight.get();
  EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  EXPECT_EQ(response.text(), "anonymous: in flight");

  std::optional<int> status = p->WaitExit(absl::Seconds(10));
  ASSERT_TRUE(status.has_value()) << "still running after the drain time\n"
                                  << p->Log();
  EXPECT_TRUE(WIFEXITED(*status)) << *status;
  EXPECT_EQ(WEXITSTATUS(*status), 0) << p->Log();
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(10));
  // The main blocked the signals before starting threads (RunUntilSignal warns
  // otherwise).
  EXPECT_THAT(p->Log(), Not(HasSubstr("were not blocked")));
  EXPECT_THAT(p->Log(), HasSubstr("\"signal\":\"SIGTERM\""));
}

TEST(EchoServerProcessTest, DrainTimeoutEndsLongCallsWithUnavailable) {
  TempDir dir;
  auto p =
      Process::Start({EchoServerPath(), "--listen=127.0.0.1:0", "--auth=none",
                      DataDirFlag(dir), "--init", "--drain_timeout=500ms"});
  const int port = ReadyPort(*p);
  ASSERT_GT(port, 0);
  auto stub =
      EchoService::NewStub(FreshChannel(absl::StrCat("127.0.0.1:", port)));
  auto in_flight = std::async(std::launch::async, [&] {
    return CallEcho(*stub, "long", /*delay_ms=*/30000, 0, absl::Seconds(40));
  });
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time signalled = absl::Now();
  p->Signal(SIGTERM);
  std::optional<int> status = p->WaitExit(absl::Seconds(10));
  ASSERT_TRUE(status.has_value()) << p->Log();
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(5));
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << p->Log();
  EXPECT_EQ(in_flight.get().error_code(), grpc::StatusCode::UNAVAILABLE);
}

// Issue 16 finding 8: every call in flight when SIGTERM comes ends with its
// real result or UNAVAILABLE, never CANCELLED: calls that finish within the
// drain answer normally, calls outlasting --drain_timeout get UNAVAILABLE, an
// open reflection stream ends at once with UNAVAILABLE "server shutting down;
// retry", a health watcher sees NOT_SERVING; calls started during the drain
// get UNAVAILABLE, on a new connection and on the old one.
TEST(EchoServerProcessTest, SigtermEndsEveryCallWithItsResultOrUnavailable) {
  TempDir dir;
  auto p =
      Process::Start({EchoServerPath(), "--listen=127.0.0.1:0", "--auth=none",
                      DataDirFlag(dir), "--init", "--drain_timeout=1s"});
  const int port = ReadyPort(*p);
  ASSERT_GT(port, 0);
  const std::string target = absl::StrCat("127.0.0.1:", port);
  auto channel = FreshChannel(target);
  auto stub = EchoService::NewStub(channel);
  ASSERT_TRUE(CallEcho(*stub, "warm-up").ok());

  std::vector<std::future<grpc::Status>> quick;
  std::vector<std::future<grpc::Status>> slow;
  for (int i = 0; i < 10; ++i) {
    quick.push_back(std::async(std::launch::async, [&] {
      return CallEcho(*stub, "quick", 500, 0, absl::Seconds(20));
    }));
    slow.push_back(std::async(std::launch::async, [&] {
      return CallEcho(*stub, "slow", 8000, 0, absl::Seconds(20));
    }));
  }
  auto reflection = grpc::reflection::v1::ServerReflection::NewStub(channel);
  grpc::ClientContext reflection_ctx;
  reflection_ctx.set_deadline(In(absl::Seconds(20)));
  auto stream = reflection->ServerReflectionInfo(&reflection_ctx);
  grpc::reflection::v1::ServerReflectionRequest ask;
  ask.set_list_services("*");
  grpc::reflection::v1::ServerReflectionResponse answer;
  ASSERT_TRUE(stream->Write(ask) && stream->Read(&answer));
  auto health = Health::NewStub(channel);
  grpc::ClientContext health_ctx;
  health_ctx.set_deadline(In(absl::Seconds(20)));
  auto watch = health->Watch(&health_ctx, HealthCheckRequest());
  HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVING);
  absl::SleepFor(absl::Milliseconds(200));  // the echo calls are running

  const absl::Time signalled = absl::Now();
  p->Signal(SIGTERM);
  EXPECT_FALSE(stream->Read(&answer));
  grpc::Status ended = stream->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ended.error_message(), "server shutting down; retry");
  EXPECT_LT(absl::Now() - signalled, absl::Milliseconds(900));
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(watch->Read(&update));
  EXPECT_TRUE(watch->Finish().ok());

  ASSERT_TRUE(p->WaitForLine("signal received", absl::Seconds(5)).has_value());
  absl::SleepFor(absl::Milliseconds(100));
  auto late = EchoService::NewStub(FreshChannel(target));
  EXPECT_EQ(CallEcho(*late, "late", 0, 0, absl::Seconds(2)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(CallEcho(*stub, "late, old connection", 0, 0, absl::Seconds(2))
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);

  for (auto& call : quick) {
    grpc::Status s = call.get();
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  }
  for (auto& call : slow) {
    grpc::Status s = call.get();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE)
        << s.error_code() << " " << s.error_message();
  }
  std::optional<int> status = p->WaitExit(absl::Seconds(10));
  ASSERT_TRUE(status.has_value()) << p->Log();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << p->Log();
}

TEST(EchoServerProcessTest, SecondSignalExitsWithoutDraining) {
  TempDir dir;
  auto p =
      Process::Start({EchoServerPath(), "--listen=127.0.0.1:0", "--auth=none",
                      DataDirFlag(dir), "--init", "--drain_timeout=60s"});
  const int port = ReadyPort(*p);
  ASSERT_GT(port, 0);
  auto stub =
      EchoService::NewStub(FreshChannel(absl::StrCat("127.0.0.1:", port)));
  auto in_flight = std::async(std::launch::async, [&] {
    return CallEcho(*stub, "long", /*delay_ms=*/30000, 0, absl::Seconds(40));
  });
  absl::SleepFor(absl::Milliseconds(300));
  p->Signal(SIGINT);
  ASSERT_TRUE(p->WaitForLine("signal received", absl::Seconds(5)).has_value());
  p->Signal(SIGTERM);
  std::optional<int> status = p->WaitExit(absl::Seconds(5));
  ASSERT_TRUE(status.has_value()) << p->Log();
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 128 + SIGTERM);
  EXPECT_FALSE(in_flight.get().ok());
}

TEST(EchoServerProcessTest, AuthNoneOnAllInterfacesIsRefused) {
  auto p =
      Process::Start({EchoServerPath(), "--auth=none", "--listen=0.0.0.0:0"});
  std::optional<int> status = p->WaitExit(absl::Seconds(20));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_NE(WEXITSTATUS(*status), 0);
  EXPECT_THAT(p->Log(), HasSubstr("0.0.0.0:0"));
  EXPECT_THAT(p->Log(), HasSubstr("--auth=none"));
}

TEST(EchoServerProcessTest, AuthTokensWithoutTokensFileIsRefused) {
  auto p = Process::Start(
      {EchoServerPath(), "--auth=tokens", "--listen=127.0.0.1:0"});
  std::optional<int> status = p->WaitExit(absl::Seconds(20));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_NE(WEXITSTATUS(*status), 0);
  EXPECT_THAT(p->Log(), HasSubstr("--tokens_file"));
}

TEST(EchoServerProcessTest, ConfigurationFromEnvironment) {
  // The environment reaches the same checks as flags do...
  auto refused = Process::Start(
      {EchoServerPath()}, {"SALESOPS_AUTH=none", "SALESOPS_LISTEN=[::]:0"});
  std::optional<int> status = refused->WaitExit(absl::Seconds(20));
  ASSERT_TRUE(status.has_value());
  EXPECT_NE(WEXITSTATUS(*status), 0);
  EXPECT_THAT(refused->Log(), HasSubstr("[::]:0"));
  // ...a bad value exits 2 naming the variable...
  auto bad =
      Process::Start({EchoServerPath()}, {"SALESOPS_DRAIN_TIMEOUT=soon"});
  status = bad->WaitExit(absl::Seconds(20));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 2);
  EXPECT_THAT(bad->Log(), HasSubstr("SALESOPS_DRAIN_TIMEOUT"));
  // ...and the command line wins.
  TempDir dir;
  auto ok = Process::Start(
      {EchoServerPath(), "--listen=127.0.0.1:0", DataDirFlag(dir), "--init"},
      {"SALESOPS_AUTH=none", "SALESOPS_LISTEN=0.0.0.0:0",
       "SALESOPS_METRICS_LISTEN=127.0.0.1:0"});
  EXPECT_GT(ReadyPort(*ok), 0) << ok->Log();
  ok->Signal(SIGTERM);
  status = ok->WaitExit(absl::Seconds(15));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

// ---------------------------------------------------------------------------------------------
// g. TLS and mTLS with certificates made by the openssl CLI.

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "tls_test_XXXXXX";
    dir_ = mkdtemp(tmpl.data());
    const std::string ec =
        "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    std::ofstream(dir_ + "/san.ext")
        << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    const std::string script = absl::StrCat(
        "set -e; cd '", dir_, "';", "openssl req -x509 ", ec,
        " -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca;",
        "openssl req ", ec,
        " -keyout server.key -out server.csr -subj /CN=localhost;",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial "
        "-out server.pem -days 2 -extfile san.ext;",
        "openssl req ", ec,
        " -keyout client.key -out client.csr -subj /CN=client;",
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial "
        "-out client.pem -days 2;",
        "openssl req -x509 ", ec,
        " -keyout other.key -out other.pem -days 2 -subj /CN=other");
    const std::string cmd = absl::StrCat("timeout 60 sh -c \"", script, "\" >'",
                                         dir_, "/openssl.log' 2>&1");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << Read("openssl.log");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) { return dir_ + "/" + name; }
  std::string Read(const std::string& name) {
    std::stringstream s;
    s << std::ifstream(Path(name)).rdbuf();
    return s.str();
  }
  std::shared_ptr<grpc::ChannelCredentials> ClientCreds(bool with_cert) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = Read("ca.pem");
    if (with_cert) {
      o.pem_private_key = Read("client.key");
      o.pem_cert_chain = Read("client.pem");
    }
    return grpc::SslCredentials(o);
  }

  std::string dir_;
};

TEST_F(TlsTest, TlsClientConnectsAndPlaintextDoesNot) {
  ServerConfig c = LoopbackConfig();
  c.tls_cert_file = Path("server.pem");
  c.tls_key_file = Path("server.key");
  EchoFixture f = EchoFixture::Start(c, nullptr);
  ASSERT_NE(f.server, nullptr);
  auto tls = EchoService::NewStub(
      FreshChannel(f.server->target(), ClientCreds(/*with_cert=*/false)));
  grpc::Status s = CallEcho(*tls, "secure");
  EXPECT_TRUE(s.ok()) << s.error_message();
  auto plain = EchoService::NewStub(FreshChannel(f.server->target()));
  EXPECT_FALSE(CallEcho(*plain, "plain", 0, 0, absl::Seconds(3)).ok());
}

TEST_F(TlsTest, MutualTlsRequiresAClientCertificate) {
  ServerConfig c = LoopbackConfig();
  c.tls_cert_file = Path("server.pem");
  c.tls_key_file = Path("server.key");
  c.tls_client_ca_file = Path("ca.pem");
  EchoFixture f = EchoFixture::Start(c, nullptr);
  ASSERT_NE(f.server, nullptr);
  auto without = EchoService::NewStub(
      FreshChannel(f.server->target(), ClientCreds(/*with_cert=*/false)));
  EXPECT_EQ(CallEcho(*without, "no cert", 0, 0, absl::Seconds(3)).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  auto with = EchoService::NewStub(
      FreshChannel(f.server->target(), ClientCreds(/*with_cert=*/true)));
  grpc::Status s = CallEcho(*with, "cert");
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(TlsTest, MismatchedOrMissingFilesAreRefusedAtCreate) {
  ServerConfig c = LoopbackConfig();
  c.tls_cert_file = Path("server.pem");
  c.tls_key_file = Path("other.key");
  auto s = Server::Create(c, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("does not match"));

  c.tls_key_file = Path("server.pem");  // a certificate, not a key
  s = Server::Create(c, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("private key"));

  c.tls_key_file = Path("server.key");
  c.tls_client_ca_file = Path("server.key");  // a key, not a certificate
  s = Server::Create(c, nullptr);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("--tls_client_ca_file"));
}

}  // namespace
}  // namespace salesops
