// Traces across services, end to end (issue 20, Must show 3): the suite's four
// real binaries with --access_log (tests/suite.h), followed by their logs.
//
//   FollowsOneTraceparentAcrossServices: a CreateOpportunity and the MoveStage
//     into a requires_credit_check stage (the move is what asks credit:
//     pipeline's CheckCredit), both carrying one known `traceparent`; its
//     trace id is in pipeline's access lines of both calls, in credit's access
//     line of CheckCredit (pipeline passed the trace on), and in forecast's and
//     credit's "feed event applied" lines of the events those writes made.
//   ConnectHttpCallIsTraced: an HTTP/JSON (Connect) call with a `traceparent`
//     header is in accounts' access log with that trace id and the HTTP
//     client as its peer.
//   InvalidTraceparentStartsANewTrace: a malformed `traceparent` gets a fresh
//     trace id; a call refused for its token is logged too.
//   WebhookDeliveryCarriesTheTrace: an account created with a `traceparent`
//     is delivered to a webhook receiver with that traceparent header.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "salesops/v1/webhook.grpc.pb.h"
#include "tests/suite.h"

namespace salesops::e2e {
namespace {

constexpr char kTraceId[] = "0af7651916cd43dd8448eb211c80319c";
constexpr char kTraceparent[] =
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

// The log lines of `log` that contain every one of `needles`.
std::vector<std::string> LinesWith(const std::string& log,
                                   const std::vector<std::string>& needles) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    bool all = true;
    for (const std::string& n : needles) {
      all = all && absl::StrContains(line, n);
    }
    if (all) {
      out.emplace_back(line);
    }
  }
  return out;
}

// Waits (30 s) until `s`'s log has a line with every one of `needles`.
bool WaitForLine(const Suite& suite, Svc s,
                 const std::vector<std::string>& needles) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    if (!LinesWith(suite.Log(s), needles).empty()) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

std::string Field(const std::string& name, const std::string& value) {
  return absl::StrCat("\"", name, "\":\"", value, "\"");
}

// A call context as `token` carrying `traceparent` (none when empty).
std::unique_ptr<grpc::ClientContext> Traced(const std::string& token,
                                            const std::string& traceparent) {
  std::unique_ptr<grpc::ClientContext> ctx = Ctx(token);
  if (!traceparent.empty()) {
    ctx->AddMetadata("traceparent", traceparent);
    ctx->AddMetadata("tracestate", "vendor=opaque");
  }
  return ctx;
}

// One suite for the whole file, every service with --access_log and HTTP/JSON;
// accounts delivers webhooks to loopback. Destroyed at exit, which stops its
// processes (a suite never destroyed left all four running after the test).
Suite* World() {
  static std::unique_ptr<Suite> world = [] {
    auto s = std::make_unique<Suite>();
    s->EnableHttp();
    for (Svc svc : {kAccounts, kPipeline, kForecast, kCredit}) {
      s->extra_args(svc).push_back("--access_log");
    }
    s->extra_args(kAccounts).push_back("--webhook_allow_http_loopback");
    if (!s->Build()) {
      s->DumpLogs();
      return std::unique_ptr<Suite>();
    }
    return s;
  }();
  return world.get();
}

TEST(TraceE2e, FollowsOneTraceparentAcrossServices) {
  Suite* s = World();
  ASSERT_NE(s, nullptr);
  v1::CreateOpportunityRequest create;
  *create.mutable_opportunity() =
      Suite::NewOpp("traced deal", s->acc_a.id(), s->rep_a.id(), 5'000'00);
  v1::Opportunity opp;
  grpc::Status st = s->pipeline().CreateOpportunity(
      Traced(kAdminToken, kTraceparent).get(), create, &opp);
  ASSERT_TRUE(st.ok()) << Describe(st);

  std::string credit_stage;
  for (const v1::Stage& stage : s->Model().stages()) {
    if (stage.requires_credit_check()) {
      credit_stage = stage.key();
      break;
    }
  }
  ASSERT_FALSE(credit_stage.empty()) << "no stage asks credit";
  v1::MoveStageRequest move;
  move.set_opportunity_id(opp.id());
  move.set_to_stage_key(credit_stage);
  move.set_expected_version(opp.version());
  move.set_override_reason("trace e2e: straight to the credit check");
  v1::Opportunity moved;
  st = s->pipeline().MoveStage(Traced(kAdminToken, kTraceparent).get(), move,
                               &moved);
  ASSERT_TRUE(st.ok()) << Describe(st);
  EXPECT_EQ(moved.stage_key(), credit_stage);

  const std::string trace = Field("trace_id", kTraceId);
  const std::string access = Field("msg", "access");
  for (const char* method : {"CreateOpportunity", "MoveStage"}) {
    EXPECT_EQ(LinesWith(s->Log(kPipeline),
                        {access, trace, "/salesops.v1.PipelineService/",
                         absl::StrCat("/", method, "\""), Field("code", "OK"),
                         Field("principal", "admin")})
                  .size(),
              1u)
        << method;
  }
  EXPECT_TRUE(
      WaitForLine(*s, kCredit,
                  {access, trace, "\"/salesops.v1.CreditService/CheckCredit\"",
                   Field("role", "SERVICE")}))
      << "credit's CheckCredit line";
  // The events of both writes, applied by forecast and by credit (which
  // follows pipeline too) with the writer's trace.
  for (Svc follower : {kForecast, kCredit}) {
    EXPECT_TRUE(WaitForLine(
        *s, follower,
        {Field("msg", "feed event applied"), trace, Field("source", "pipeline"),
         Field("entity_id", opp.id())}))
        << SvcName(follower) << "'s apply line";
  }
  // The events themselves carry the trace (and the tracestate).
  v1::WatchRequest watch;
  watch.set_after_sequence(0);
  auto ctx = Ctx(kPeerToken);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto reader = s->feed(kPipeline).Watch(ctx.get(), watch);
  v1::Event event;
  int traced = 0;
  for (int i = 0; i < 10'000 && reader->Read(&event); ++i) {
    if (event.entity_id() == opp.id()) {
      EXPECT_EQ(event.traceparent().substr(0, 36),
                absl::StrCat("00-", kTraceId, "-"));
      EXPECT_EQ(event.tracestate(), "vendor=opaque");
      if (++traced == 2) {
        break;
      }
    }
  }
  ctx->TryCancel();
  EXPECT_EQ(traced, 2);
  if (HasFailure()) {
    s->DumpLogs();
  }
}

TEST(TraceE2e, ConnectHttpCallIsTraced) {
  Suite* s = World();
  ASSERT_NE(s, nullptr);
  const std::string id = "1bf9a0c4d5e6f70812233445566778aa";
  httplib::Client client("127.0.0.1", s->http_port(kAccounts));
  httplib::Headers headers = {
      {"Authorization", absl::StrCat("Bearer ", kAdminToken)},
      {"traceparent", absl::StrCat("00-", id, "-00f067aa0ba902b7-01")}};
  httplib::Result res = client.Post(
      "/salesops.v1.AccountsService/GetAccount", headers,
      absl::StrCat("{\"id\":\"", s->acc_a.id(), "\"}"), "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(LinesWith(s->Log(kAccounts),
                      {Field("msg", "access"), Field("trace_id", id),
                       "\"/salesops.v1.AccountsService/GetAccount\"",
                       "\"peer\":\"http:", Field("code", "OK")})
                .size(),
            1u)
      << s->Log(kAccounts);
}

TEST(TraceE2e, InvalidTraceparentStartsANewTrace) {
  Suite* s = World();
  ASSERT_NE(s, nullptr);
  const std::string bad_id = "4BF92F3577B34DA6A3CE929D0E0E4736";  // upper case
  const size_t before = s->Log(kCredit).size();
  v1::GetCreditProfileRequest req;
  req.set_account_id(s->acc_b.id());
  v1::CreditProfile out;
  grpc::Status st = s->credit().GetCreditProfile(
      Traced(kRepBToken, absl::StrCat("00-", bad_id, "-00f067aa0ba902b7-01"))
          .get(),
      req, &out);
  EXPECT_TRUE(st.ok()) << Describe(st);
  // And one refused before it was authorized: a token nobody has.
  st = s->credit().GetCreditProfile(Traced("no-such-token", kTraceparent).get(),
                                    req, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);

  const std::string log = s->Log(kCredit).substr(before);
  const std::vector<std::string> lines =
      LinesWith(log, {Field("msg", "access"), "/GetCreditProfile\"",
                      Field("code", "OK"), Field("role", "REP")});
  ASSERT_EQ(lines.size(), 1u) << log;
  EXPECT_FALSE(absl::StrContains(lines[0], bad_id));
  EXPECT_FALSE(absl::StrContains(lines[0], absl::AsciiStrToLower(bad_id)));
  const size_t at = lines[0].find("\"trace_id\":\"");
  ASSERT_NE(at, std::string::npos) << lines[0];
  const std::string fresh = lines[0].substr(at + 12, 32);
  EXPECT_EQ(fresh.find_first_not_of("0123456789abcdef"), std::string::npos)
      << fresh;
  EXPECT_EQ(
      LinesWith(log, {Field("msg", "access"), "/GetCreditProfile\"",
                      Field("code", "UNAUTHENTICATED"), Field("principal", ""),
                      Field("trace_id", kTraceId)})
          .size(),
      1u)
      << log;
}

TEST(TraceE2e, WebhookDeliveryCarriesTheTrace) {
  Suite* s = World();
  ASSERT_NE(s, nullptr);
  std::mutex mu;
  std::vector<std::string> traceparents;  // of deliveries, guarded by mu
  httplib::Server receiver;
  receiver.Post("/hook",
                [&](const httplib::Request& req, httplib::Response& res) {
                  std::lock_guard<std::mutex> lock(mu);
                  traceparents.push_back(req.get_header_value("traceparent"));
                  res.status = 204;
                });
  const int port = receiver.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread server([&] { receiver.listen_after_bind(); });

  auto webhooks = v1::WebhookService::NewStub(s->channel(kAccounts));
  v1::CreateWebhookRequest sub;
  sub.set_target_url(absl::StrCat("http://127.0.0.1:", port, "/hook"));
  sub.add_event_kinds("accounts.Account");
  v1::CreateWebhookResponse created;
  grpc::Status st =
      webhooks->CreateWebhook(Ctx(kAdminToken).get(), sub, &created);
  ASSERT_TRUE(st.ok()) << Describe(st);

  const std::string id = "5c1e0d2b3a4f5e6d7c8b9a0f1e2d3c4b";
  v1::CreateAccountRequest req;
  req.mutable_account()->set_name("Traced webhook account");
  req.mutable_account()->set_owner_node_id(s->rep_a.id());
  v1::Account account;
  st = s->accounts().CreateAccount(
      Traced(kAdminToken, absl::StrCat("00-", id, "-1111111111111111-01"))
          .get(),
      req, &account);
  EXPECT_TRUE(st.ok()) << Describe(st);
  bool seen = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (st.ok() && !seen && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    std::lock_guard<std::mutex> lock(mu);
    for (const std::string& t : traceparents) {
      seen = seen || absl::StartsWith(t, absl::StrCat("00-", id, "-"));
    }
  }
  EXPECT_TRUE(seen) << "no delivery with the account's traceparent";
  receiver.stop();
  server.join();
}

}  // namespace
}  // namespace salesops::e2e
