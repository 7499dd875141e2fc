// salesops-console's server through HTTP, as a browser sees it: the static
// front end with the security headers, /config.json, Connect calls routed by
// service name to the right gRPC server with the caller's token (CallerService
// on a loopback server standing in for accounts), refusals of what the console
// does not serve, an unreachable service, and the config checks naming flags.

#include "console/server/console.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/caller/caller_service.h"
#include "common/testing/loopback_server.h"
#include "common/testing/temp_dir.h"
#include "common/time/clock.h"

namespace salesops::console {
namespace {

TEST(UpstreamOfTest, RoutesEachBusinessServiceAndNothingElse) {
  EXPECT_EQ(UpstreamOf("salesops.v1.AccountsService"), "accounts");
  EXPECT_EQ(UpstreamOf("salesops.v1.CallerService"), "accounts");
  EXPECT_EQ(UpstreamOf("salesops.v1.PipelineService"), "pipeline");
  EXPECT_EQ(UpstreamOf("salesops.v1.ForecastService"), "forecast");
  EXPECT_EQ(UpstreamOf("salesops.v1.CreditService"), "credit");
  for (const char* other :
       {"salesops.v1.FeedService", "salesops.v1.AuditService",
        "salesops.v1.BackupService", "salesops.v1.WebhookService",
        "grpc.health.v1.Health", ""}) {
    EXPECT_EQ(UpstreamOf(other), "") << other;
  }
}

TEST(CheckLocaleTest, TakesTagsRefusesAnythingElse) {
  for (const char* ok : {"en-US", "zh-CN", "de", "sr-Latn-RS"}) {
    EXPECT_TRUE(CheckLocale(ok).ok()) << ok;
  }
  for (const char* bad : {"", "e", "1en", "en_US", "en-US\"}", "en US"}) {
    absl::Status s = CheckLocale(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("--locale"), std::string::npos) << s;
  }
  EXPECT_EQ(ConfigJson("de-DE"), "{\"locale\":\"de-DE\"}");
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth_ = testing::AuthFor({{"rep-token", {"rita", Role::kRep, "org_rita"}}});
    store_ = testing::OpenTestStore(dir_.Sub("store"), {}, &clock_);
    ASSERT_NE(store_, nullptr);
    caller_ = std::make_unique<CallerServiceImpl>(auth_.get());
    server_ = std::make_unique<testing::LoopbackServer>(
        store_.get(), auth_.get(), std::vector<grpc::Service*>{caller_.get()});
    std::filesystem::create_directories(dir_.Sub("assets"));
    Write("assets/index.html", "<!doctype html><title>SalesOps</title>");
    Write("assets/app.js", "console.log(1);");
  }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_.Sub(name)) << text;
  }
  ConsoleConfig Config() {
    ConsoleConfig c;
    c.listen = "127.0.0.1:0";
    // accounts is the loopback server; the others listen nowhere.
    c.upstreams = {server_->target(), "127.0.0.1:1", "127.0.0.1:1",
                   "127.0.0.1:1"};
    c.assets_dir = dir_.Sub("assets");
    c.locale = "de-DE";
    return c;
  }
  void Serve() {
    auto console = Console::Start(Config());
    ASSERT_TRUE(console.ok()) << console.status();
    console_ = std::move(*console);
    http_ = std::make_unique<httplib::Client>("127.0.0.1", console_->port());
    http_->set_read_timeout(10, 0);
  }
  httplib::Result Call(const std::string& path, const std::string& token) {
    httplib::Headers headers{{"Connect-Timeout-Ms", "5000"}};
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return http_->Post(path.c_str(), headers, "{}", "application/json");
  }

  FakeClock clock_;
  testing::TempDir dir_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<CallerServiceImpl> caller_;
  std::unique_ptr<testing::LoopbackServer> server_;
  std::unique_ptr<Console> console_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(ConsoleTest, ServesTheFrontEndWithSecurityHeaders) {
  ASSERT_NO_FATAL_FAILURE(Serve());
  httplib::Result index = http_->Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->body, "<!doctype html><title>SalesOps</title>");
  EXPECT_NE(index->get_header_value("Content-Type").find("text/html"),
            std::string::npos);
  for (const auto& [name, value] : SecurityHeaders()) {
    EXPECT_EQ(index->get_header_value(name), value) << name;
  }
  EXPECT_NE(index->get_header_value("Content-Security-Policy")
                .find("default-src 'self'"),
            std::string::npos);
  httplib::Result js = http_->Get("/app.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_NE(js->get_header_value("Content-Type").find("javascript"),
            std::string::npos);
  httplib::Result config = http_->Get("/config.json");
  ASSERT_TRUE(config);
  EXPECT_EQ(config->body, "{\"locale\":\"de-DE\"}");
  httplib::Result missing = http_->Get("/nothing.js");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_FALSE(missing->get_header_value("Content-Security-Policy").empty());
}

TEST_F(ConsoleTest, CallsGoToTheirServiceWithTheCallersToken) {
  ASSERT_NO_FATAL_FAILURE(Serve());
  httplib::Result me =
      Call("/salesops.v1.CallerService/GetCaller", "rep-token");
  ASSERT_TRUE(me);
  EXPECT_EQ(me->status, 200) << me->body;
  EXPECT_EQ(me->body,
            "{\"name\":\"rita\",\"role\":\"REP\",\"orgNodeId\":\"org_rita\"}");
  httplib::Result bad = Call("/salesops.v1.CallerService/GetCaller", "forged");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 401);
  EXPECT_NE(bad->body.find("\"code\":\"unauthenticated\""), std::string::npos)
      << bad->body;
  EXPECT_NE(bad->body.find("unknown bearer token"), std::string::npos);
}

TEST_F(ConsoleTest, RefusesWhatItDoesNotServeAndReportsADownService) {
  ASSERT_NO_FATAL_FAILURE(Serve());
  httplib::Result feed =
      Call("/salesops.v1.FeedService/GetFeedPosition", "rep-token");
  ASSERT_TRUE(feed);
  EXPECT_EQ(feed->status, 404);
  EXPECT_NE(feed->body.find("unimplemented"), std::string::npos) << feed->body;
  httplib::Result down =
      Call("/salesops.v1.ForecastService/GetForecast", "rep-token");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->status, 503) << down->body;
  EXPECT_NE(down->body.find("\"code\":\"unavailable\""), std::string::npos);
}

TEST_F(ConsoleTest, ConfigErrorsNameTheFlag) {
  ConsoleConfig no_pipeline = Config();
  no_pipeline.upstreams[1] = "";
  absl::Status s = Console::Start(no_pipeline).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--pipeline_addr"), std::string::npos) << s;

  ConsoleConfig no_assets = Config();
  no_assets.assets_dir = dir_.Sub("empty");
  s = Console::Start(no_assets).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("--assets_dir"), std::string::npos) << s;

  ConsoleConfig bad_listen = Config();
  bad_listen.listen = "nowhere";
  s = Console::Start(bad_listen).status();
  EXPECT_NE(s.message().find("--listen=nowhere"), std::string::npos) << s;

  ConsoleConfig half_mtls = Config();
  half_mtls.peer_tls_ca_file = dir_.Sub("assets/index.html");
  half_mtls.peer_tls_cert_file = dir_.Sub("assets/index.html");
  s = Console::Start(half_mtls).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("both or neither"), std::string::npos) << s;
}

}  // namespace
}  // namespace salesops::console
