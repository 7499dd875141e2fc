#include "common/webhook/webhook_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "salesops/v1/backup.pb.h"

namespace salesops::webhook {
namespace {

using ::testing::HasSubstr;

TEST(WebhookSignature, MatchesAnIndependentHmacSha256) {
  // Computed with Python's hmac module over "1700000000.{\"id\":\"e-1\"}".
  EXPECT_EQ(Signature("whsec_0123456789abcdef", 1700000000, R"({"id":"e-1"})"),
            "9cdcdafb5bc20004731f99f81010d8cf6ab178784fb0ac5ede2315e7e04abbce");
  EXPECT_EQ(
      SignatureHeader("whsec_0123456789abcdef", 1700000000, R"({"id":"e-1"})"),
      "t=1700000000,v1="
      "9cdcdafb5bc20004731f99f81010d8cf6ab178784fb0ac5ede2315e7e04abbce");
}

TEST(WebhookSignature, DependsOnTimestampAndSecret) {
  const std::string a = Signature("secret-one-123456", 1, "{}");
  EXPECT_NE(a, Signature("secret-one-123456", 2, "{}"));
  EXPECT_NE(a, Signature("secret-two-123456", 1, "{}"));
}

TEST(WebhookBackoff, StaysWithinTheDoublingCapAndTheMaximum) {
  const absl::Duration initial = absl::Milliseconds(500);
  const absl::Duration max = absl::Seconds(60);
  EXPECT_EQ(BackoffDelay(1, initial, max, 0.0), absl::ZeroDuration());
  EXPECT_EQ(BackoffDelay(1, initial, max, 0.5), absl::Milliseconds(250));
  EXPECT_EQ(BackoffDelay(3, initial, max, 0.5), absl::Seconds(1));
  for (int attempt = 1; attempt < 200; ++attempt) {
    for (double u : {0.0, 0.3, 0.999999, 1.0, 7.0, -1.0}) {
      const absl::Duration d = BackoffDelay(attempt, initial, max, u);
      EXPECT_GE(d, absl::ZeroDuration());
      EXPECT_LE(d, max);
    }
  }
  EXPECT_GT(BackoffDelay(30, initial, max, 0.999), absl::Seconds(59));
}

TEST(WebhookTarget, HttpsAnywhereHttpOnlyToLoopbackWithTheFlag) {
  absl::StatusOr<Target> t =
      ParseTarget("https://hooks.example.com/x?y=1", false);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->host, "hooks.example.com");
  EXPECT_EQ(t->port, 443);
  EXPECT_EQ(t->path, "/x?y=1");
  EXPECT_EQ(t->origin(), "https://hooks.example.com:443");
  for (const char* ok : {"http://127.0.0.1:8080/h", "http://127.9.9.9",
                         "http://[::1]:99/h", "http://LocalHost:1/"}) {
    EXPECT_TRUE(ParseTarget(ok, true).ok()) << ok;
    absl::Status refused = ParseTarget(ok, false).status();
    EXPECT_THAT(std::string(refused.message()),
                HasSubstr("--webhook_allow_http_loopback"))
        << ok;
  }
  EXPECT_EQ(ParseTarget("http://[::1]:99/h", true)->origin(),
            "http://[::1]:99");
}

TEST(WebhookTarget, RefusesWithTheFieldAndTheRule) {
  const std::pair<const char*, const char*> cases[] = {
      {"http://10.0.0.1/h", "http only to a loopback host"},
      {"http://example.com/h", "http only to a loopback host"},
      {"ftp://127.0.0.1/h", "scheme must be https"},
      {"hooks.example.com/h", "absolute URL"},
      {"https://user:pw@example.com/", "user info"},
      {"https://example.com/#frag", "fragment"},
      {"https://example.com:0/", "port 1..65535"},
      {"https://example.com:99999/", "port 1..65535"},
      {"https:///path", "must have a host"},
  };
  for (const auto& [url, rule] : cases) {
    absl::Status s = ParseTarget(url, true).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(std::string(s.message()), HasSubstr("target_url: ")) << url;
    EXPECT_THAT(std::string(s.message()), HasSubstr(rule)) << url;
  }
}

TEST(WebhookCreate, NamesEveryViolatedField) {
  v1::CreateWebhookRequest req;
  req.set_target_url("http://example.com");
  req.set_secret("short");
  req.add_event_kinds("accounts.Account");
  req.add_event_kinds("accounts.Account");
  req.add_event_kinds(" ");
  absl::Status s = ValidateCreate(req, true);
  EXPECT_THAT(std::string(s.message()), HasSubstr("target_url: "));
  EXPECT_THAT(std::string(s.message()), HasSubstr("secret: must be 16..256"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("event_kinds[1]: repeated"));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("event_kinds[2]: must not be blank"));
  req.set_target_url("https://example.com");
  req.clear_secret();
  req.clear_event_kinds();
  EXPECT_TRUE(ValidateCreate(req, false).ok());
}

TEST(WebhookAutoPause, AfterTheConfiguredPeriodOfContinuousFailure) {
  const absl::Time t0 = absl::FromUnixSeconds(1700000000);
  EXPECT_FALSE(ShouldAutoPause(absl::UnixEpoch(), t0, absl::Hours(24)));
  EXPECT_FALSE(ShouldAutoPause(t0, t0 + absl::Hours(23), absl::Hours(24)));
  EXPECT_TRUE(ShouldAutoPause(t0, t0 + absl::Hours(24), absl::Hours(24)));
}

TEST(WebhookBody, CarriesIdTypeTimeAndTheEntityAsProto3Json) {
  v1::Backup entity;  // any generated type of the pool
  entity.set_id(7);
  entity.set_epoch("ab\"c");
  v1::Event event;
  event.set_sequence(42);
  event.set_kind("backups.Backup");
  event.set_time_micros(1700000000123456);
  event.mutable_payload()->PackFrom(entity);
  absl::StatusOr<std::string> body = EventBody(event, "e1", "accounts");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, R"({"id":"e1-42","type":"backups.Backup","sequence":42,)"
                   R"("epoch":"e1","time":"2023-11-14T22:13:20.123456Z",)"
                   R"("service":"accounts","data":{"id":7,"epoch":"ab\"c"}})");
}

TEST(WebhookFilter, EmptyTakesAllButMarkersAndSubscriptionChanges) {
  google::protobuf::RepeatedPtrField<std::string> all;
  EXPECT_TRUE(Delivers(all, "accounts.Account"));
  EXPECT_FALSE(Delivers(all, ""));
  EXPECT_FALSE(Delivers(all, kWebhookKind));
  google::protobuf::RepeatedPtrField<std::string> some;
  some.Add("accounts.Contact");
  EXPECT_FALSE(Delivers(some, "accounts.Account"));
  EXPECT_TRUE(Delivers(some, "accounts.Contact"));
}

}  // namespace
}  // namespace salesops::webhook
