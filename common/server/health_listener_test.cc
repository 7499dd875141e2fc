// The health-only listener (--health_listen, HealthListener in health.h): a
// TLS-only service port with token auth beside a plaintext port that serves
// grpc.health.v1.Health and nothing else, as kubelet's native gRPC probes need
// (DECISIONS D48). Certificates are made by the openssl CLI.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/server/flags.h"
#include "common/server/server.h"
#include "common/server/testing/channels.h"
#include "common/server/testing/echo_service.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "salesops/testing/testing.grpc.pb.h"

namespace salesops {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::salesops::testing::EchoRequest;
using ::salesops::testing::EchoResponse;
using ::salesops::testing::EchoService;
using ::salesops::testing::EchoServiceImpl;
using ::salesops::testing::FreshChannel;
using ::salesops::testing::In;
using ::testing::HasSubstr;

constexpr char kEchoService[] = "salesops.testing.EchoService";
constexpr char kToken[] = "health-listener-test-token";

// Check(service) on `target`, plaintext, no token: the status or the error.
grpc::Status Check(const std::string& target, const std::string& service,
                   HealthCheckResponse* response) {
  auto stub = Health::NewStub(FreshChannel(target));
  grpc::ClientContext ctx;
  ctx.set_deadline(In(absl::Seconds(3)));
  HealthCheckRequest request;
  request.set_service(service);
  return stub->Check(&ctx, request, response);
}

grpc::Status CallEcho(const std::shared_ptr<grpc::Channel>& channel,
                      const std::string& token, int delay_ms = 0) {
  auto stub = EchoService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(In(absl::Seconds(10)));
  if (!token.empty()) {
    ctx.AddMetadata("authorization", std::string("Bearer ") + token);
  }
  EchoRequest request;
  request.set_text("hi");
  request.set_delay_ms(delay_ms);
  EchoResponse response;
  return stub->Echo(&ctx, request, &response);
}

class HealthListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "health_listener_XXXXXX";
    dir_ = mkdtemp(tmpl.data());
    std::ofstream(dir_ + "/san.ext")
        << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    const std::string ec =
        "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string script = absl::StrCat(
        "set -e; cd '", dir_, "';", "openssl req -x509 ", ec,
        " -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca;",
        "openssl req ", ec,
        " -keyout server.key -out server.csr -subj /CN=localhost;",
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out server.pem -days 2 -extfile san.ext");
    const std::string cmd = absl::StrCat("timeout 60 sh -c \"", script, "\" >'",
                                         dir_, "/openssl.log' 2>&1");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << Read("openssl.log");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Read(const std::string& name) {
    std::stringstream s;
    s << std::ifstream(dir_ + "/" + name).rdbuf();
    return s.str();
  }

  // TLS on the service port, tokens auth, the health listener on a free
  // loopback port.
  ServerConfig TlsConfig() {
    ServerConfig c;
    c.listen = {"127.0.0.1:0"};
    c.health_listen = "127.0.0.1:0";
    c.tls_cert_file = dir_ + "/server.pem";
    c.tls_key_file = dir_ + "/server.key";
    c.drain_timeout = absl::Seconds(5);
    c.authenticator =
        Authenticator::FromPrincipals({{Authenticator::Sha256Hex(kToken),
                                        Principal{"ops", Role::kAdmin, ""}}});
    return c;
  }

  void StartServer(ServerConfig c) {
    auto server = Server::Create(std::move(c), nullptr);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    echo_ = std::make_unique<EchoServiceImpl>(&server_->auth());
    server_->AddService(echo_.get(), kEchoService);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->health_port(), 0);
    health_target_ = absl::StrCat("127.0.0.1:", server_->health_port());
  }

  std::shared_ptr<grpc::Channel> TlsChannel() {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = Read("ca.pem");
    return FreshChannel(server_->target(), grpc::SslCredentials(o));
  }

  std::string dir_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<EchoServiceImpl> echo_;
  std::string health_target_;
};

TEST_F(HealthListenerTest, PlaintextProbeSeesServingWhileServicePortIsTls) {
  StartServer(TlsConfig());
  // The service port: TLS with a token works; plaintext does not.
  grpc::Status s = CallEcho(TlsChannel(), kToken);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(CallEcho(FreshChannel(server_->target()), kToken).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // The health port: plaintext, no token, the main server's statuses.
  for (const std::string service : {"", kEchoService}) {
    HealthCheckResponse response;
    s = Check(health_target_, service, &response);
    ASSERT_TRUE(s.ok()) << service << ": " << s.error_message();
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING) << service;
  }
  HealthCheckResponse response;
  EXPECT_EQ(Check(health_target_, "no.such.Service", &response).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Status changes of the main server show through.
  server_->SetServingStatus(kEchoService, false);
  ASSERT_TRUE(Check(health_target_, kEchoService, &response).ok());
  EXPECT_EQ(response.status(), HealthCheckResponse::NOT_SERVING);
}

TEST_F(HealthListenerTest, EverythingButHealthIsUnimplementedThere) {
  StartServer(TlsConfig());
  auto channel = FreshChannel(health_target_);
  // The service itself, even with a valid token.
  EXPECT_EQ(CallEcho(channel, kToken).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  // Reflection (which the service port serves) is not there either.
  auto reflection = grpc::reflection::v1::ServerReflection::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(In(absl::Seconds(3)));
  auto stream = reflection->ServerReflectionInfo(&ctx);
  grpc::reflection::v1::ServerReflectionRequest request;
  request.set_list_services("*");
  stream->Write(request);
  stream->WritesDone();
  grpc::reflection::v1::ServerReflectionResponse ignored;
  while (stream->Read(&ignored)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(HealthListenerTest, DrainShowsNotServingThenTheListenerCloses) {
  StartServer(TlsConfig());
  // A Watch on the health port sees SERVING, then NOT_SERVING, then ends.
  auto health = Health::NewStub(FreshChannel(health_target_));
  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(In(absl::Seconds(20)));
  auto watch = health->Watch(&watch_ctx, HealthCheckRequest());
  HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVING);

  // A slow call holds the drain open for a while.
  auto slow = std::async(std::launch::async,
                         [&] { return CallEcho(TlsChannel(), kToken, 1500); });
  absl::SleepFor(absl::Milliseconds(300));
  auto drained = std::async(std::launch::async, [&] { server_->Shutdown(); });
  bool saw_not_serving = false;
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while (!saw_not_serving && absl::Now() < give_up) {
    HealthCheckResponse response;
    grpc::Status s = Check(health_target_, "", &response);
    saw_not_serving =
        s.ok() && response.status() == HealthCheckResponse::NOT_SERVING;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(saw_not_serving) << "the probe never saw NOT_SERVING";
  // ...while the slow call was still running.
  EXPECT_EQ(slow.wait_for(std::chrono::seconds(0)),
            std::future_status::timeout);
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);
  EXPECT_FALSE(watch->Read(&update));
  EXPECT_TRUE(watch->Finish().ok());

  EXPECT_TRUE(slow.get().ok());
  ASSERT_EQ(drained.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  HealthCheckResponse response;
  EXPECT_EQ(Check(health_target_, "", &response).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(HealthListenerTest, BadOrBusyAddressesAreRefused) {
  ServerConfig c = TlsConfig();
  c.health_listen = "no-port";
  auto bad = Server::Create(c, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("no-port"));

  StartServer(TlsConfig());
  ServerConfig busy = TlsConfig();
  busy.health_listen = health_target_;  // SO_REUSEPORT is off
  auto second = Server::Create(busy, nullptr);
  ASSERT_TRUE(second.ok()) << second.status();
  absl::Status st = (*second)->Start();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_THAT(st.message(), HasSubstr("--health_listen"));
  // The first server is untouched.
  HealthCheckResponse response;
  EXPECT_TRUE(Check(health_target_, "", &response).ok());
}

TEST(HealthListenFlagTest, OffByDefaultAndReadFromTheFlag) {
  EXPECT_EQ(ServerConfig::FromFlags().health_listen, "");
  absl::SetFlag(&FLAGS_health_listen, "0.0.0.0:8101");
  EXPECT_EQ(ServerConfig::FromFlags().health_listen, "0.0.0.0:8101");
  absl::SetFlag(&FLAGS_health_listen, "");
}

}  // namespace
}  // namespace salesops
