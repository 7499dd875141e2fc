#include "common/server/peer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "common/metrics/metrics.h"
#include "common/metrics/testing/scrape.h"
#include "common/server/auth.h"
#include "common/server/flags.h"
#include "common/server/server.h"
#include "common/server/testing/echo_service.h"
#include "common/testing/temp_dir.h"
#include "common/trace/trace.h"
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

// The lines of `log` containing every one of `needles`.
int CountLines(const std::string& log,
               const std::vector<std::string>& needles) {
  int n = 0;
  size_t start = 0;
  while (start < log.size()) {
    size_t end = log.find('\n', start);
    end = end == std::string::npos ? log.size() : end;
    const std::string line = log.substr(start, end - start);
    bool all = true;
    for (const std::string& needle : needles) {
      all = all && line.find(needle) != std::string::npos;
    }
    n += all ? 1 : 0;
    start = end + 1;
  }
  return n;
}

// A peer call made in a trace passes it on; the callee's handler shell
// continues it (its access line and its "rpc failed" line carry the trace id,
// once), and a call refused for its token is in the access log too.
TEST(PeerChannel, PassesTheCurrentTraceOn) {
  absl::SetFlag(&FLAGS_access_log, true);
  EchoServer s;
  absl::SetFlag(&FLAGS_access_log, false);
  auto good = PeerChannel::Create(Config(s)).value();
  auto bad = PeerChannel::Create(Config(s, "wrong-token")).value();
  const std::string id = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string trace_id = "\"trace_id\":\"" + id + "\"";
  ::testing::internal::CaptureStderr();
  {
    trace::Scope scope(
        *trace::ParseTraceparent("00-" + id + "-00f067aa0ba902b7-01"));
    EXPECT_TRUE(Call(*good, 0).ok());
    EXPECT_EQ(Call(*good, 5).error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(Call(*bad, 0).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_TRUE(Call(*good, 0).ok());  // no trace here: the server starts one
  const std::string log = ::testing::internal::GetCapturedStderr();
  const std::string access = "\"msg\":\"access\"";
  const std::string method =
      "\"method\":\"/salesops.testing.EchoService/Echo\"";
  EXPECT_EQ(
      CountLines(log, {access, method, "\"principal\":\"pipeline\"",
                       "\"role\":\"SERVICE\"", "\"code\":\"OK\"", trace_id}),
      1)
      << log;
  EXPECT_EQ(CountLines(log, {access, "\"code\":\"NOT_FOUND\"", trace_id}), 1)
      << log;
  EXPECT_EQ(CountLines(log, {access, "\"principal\":\"\"",
                             "\"code\":\"UNAUTHENTICATED\"", trace_id}),
            1)
      << log;
  EXPECT_EQ(CountLines(log, {access, "\"code\":\"OK\"", "\"trace_id\":\""}), 2)
      << log;
  // The failure lines: the trace id once each (no duplicate key).
  EXPECT_EQ(CountLines(log, {"\"msg\":\"rpc failed\"", trace_id}), 2) << log;
  size_t at = 0;
  int dup = 0;
  for (size_t line = 0;
       (line = log.find("rpc failed", at)) != std::string::npos;
       at = line + 1) {
    const size_t end = log.find('\n', line);
    const std::string l = log.substr(line, end - line);
    const size_t first = l.find("\"trace_id\"");
    dup += first != std::string::npos &&
                   l.find("\"trace_id\"", first + 1) != std::string::npos
               ? 1
               : 0;
  }
  EXPECT_EQ(dup, 0) << log;
}

}  // namespace
}  // namespace salesops
