#include "common/server/peer.h"

#include <gtest/gtest.h>

#include <fstream>

#include "absl/flags/flag.h"
#include "common/metrics/metrics.h"
#include "common/metrics/testing/scrape.h"
#include "common/server/auth.h"
#include "common/server/flags.h"
#include "common/server/server.h"
#include "common/server/testing/echo_service.h"
#include "common/testing/temp_dir.h"
#include "salesops/testing/testing.grpc.pb.h"

namespace salesops {
namespace {

using ::salesops::testing::EchoRequest;
using ::salesops::testing::EchoResponse;
using ::salesops::testing::EchoService;
using ::salesops::testing::EchoServiceImpl;

constexpr char kToken[] = "pipeline-service-token";

// An in-process server with the EchoService, bearer-token auth and its own
// metrics registry.
struct EchoServer {
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<Server> server;
  std::unique_ptr<EchoServiceImpl> echo;

  EchoServer() {
    metrics = Metrics::Create("").value();
    ServerConfig config;
    config.listen = {"127.0.0.1:0"};
    config.authenticator = Authenticator::FromPrincipals(
        {{Authenticator::Sha256Hex(kToken), {"pipeline", Role::kService, ""}}});
    server = Server::Create(config, metrics.get()).value();
    echo = std::make_unique<EchoServiceImpl>(&server->auth());
    server->AddService(echo.get(), "salesops.testing.EchoService");
    EXPECT_TRUE(server->Start().ok());
  }

  // How many Echo calls with `code` the server handled.
  double Handled(const std::string& code) {
    auto samples =
        salesops::testing::ParseTextPage(metrics->TextPage()).value();
    return salesops::testing::FindSample(
               samples, "grpc_server_handled_total",
               {{"grpc_type", "unary"},
                {"grpc_service", "salesops.testing.EchoService"},
                {"grpc_method", "Echo"},
                {"grpc_code", code}})
        .value_or(0);
  }
};

grpc::Status Call(const PeerChannel& peer, int code, int delay_ms = 0) {
  auto stub = EchoService::NewStub(peer.channel());
  EchoRequest req;
  req.set_text("hi");
  req.set_code(code);
  req.set_delay_ms(delay_ms);
  EchoResponse resp;
  auto ctx = peer.NewContext();
  return stub->Echo(ctx.get(), req, &resp);
}

PeerConfig Config(const EchoServer& s, const std::string& token = kToken) {
  PeerConfig c;
  c.target = s.server->target();
  c.bearer_token = token;
  return c;
}

TEST(PeerChannel, SendsTheBearerToken) {
  EchoServer s;
  auto with = PeerChannel::Create(Config(s)).value();
  EXPECT_TRUE(Call(*with, 0).ok());
  auto without = PeerChannel::Create(Config(s, "")).value();
  EXPECT_EQ(Call(*without, 0).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST(PeerChannel, RetriesUnavailableOnlyAndUpToMaxAttempts) {
  EchoServer s;
  PeerConfig c = Config(s);
  c.max_attempts = 3;
  auto peer = PeerChannel::Create(c).value();
  EXPECT_EQ(
      Call(*peer, static_cast<int>(grpc::StatusCode::UNAVAILABLE)).error_code(),
      grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(s.Handled("Unavailable"), 3.0);
  EXPECT_EQ(Call(*peer, static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT))
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.Handled("InvalidArgument"), 1.0);
}

TEST(PeerChannel, EveryCallHasADeadline) {
  EchoServer s;
  PeerConfig c = Config(s);
  c.call_timeout = absl::Milliseconds(200);
  auto peer = PeerChannel::Create(c).value();
  const absl::Time start = absl::Now();
  EXPECT_EQ(Call(*peer, 0, /*delay_ms=*/5000).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST(PeerChannel, UnreachablePeerIsUnavailableWithinTheDeadline) {
  // Bind a port, then stop the server: nothing listens there any more.
  std::string target;
  {
    EchoServer s;
    target = s.server->target();
    s.server->Shutdown();
  }
  PeerConfig c;
  c.target = target;
  c.call_timeout = absl::Seconds(2);
  auto peer = PeerChannel::Create(c).value();
  const absl::Time start = absl::Now();
  const grpc::StatusCode code = Call(*peer, 0).error_code();
  EXPECT_TRUE(code == grpc::StatusCode::UNAVAILABLE ||
              code == grpc::StatusCode::DEADLINE_EXCEEDED)
      << code;
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(PeerChannel, RejectsBadConfigNamingTheSetting) {
  PeerConfig c;
  EXPECT_NE(PeerChannel::Create(c).status().message().find("peer address"),
            std::string::npos);
  c.target = "127.0.0.1:1";
  c.tls_cert_file = "/nonexistent/cert.pem";
  EXPECT_NE(
      PeerChannel::Create(c).status().message().find("--peer_tls_key_file"),
      std::string::npos);
  c.tls_key_file = "/nonexistent/key.pem";
  EXPECT_NE(
      PeerChannel::Create(c).status().message().find("--peer_tls_ca_file"),
      std::string::npos);
  c.tls_ca_file = "/nonexistent/ca.pem";
  absl::Status missing = PeerChannel::Create(c).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(missing.message().find("/nonexistent/ca.pem"), std::string::npos);
  c = PeerConfig();
  c.target = "127.0.0.1:1";
  c.max_attempts = 9;
  EXPECT_EQ(PeerChannel::Create(c).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PeerConfig, FromFlagsReadsTheTokenFileAndTimeout) {
  salesops::testing::TempDir dir;
  const std::string path = dir.Sub("token");
  std::ofstream(path) << kToken << "\n";
  absl::SetFlag(&FLAGS_peer_token_file, path);
  absl::SetFlag(&FLAGS_peer_timeout, absl::Milliseconds(1500));
  absl::StatusOr<PeerConfig> c = PeerConfig::FromFlags("127.0.0.1:7101");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->bearer_token, kToken);  // trailing newline stripped
  EXPECT_EQ(c->call_timeout, absl::Milliseconds(1500));
  std::ofstream(path) << "\n";
  EXPECT_EQ(PeerConfig::FromFlags("127.0.0.1:7101").status().code(),
            absl::StatusCode::kFailedPrecondition);
  absl::SetFlag(&FLAGS_peer_token_file, "");
  absl::SetFlag(&FLAGS_peer_timeout, absl::Seconds(5));
}

}  // namespace
}  // namespace salesops
