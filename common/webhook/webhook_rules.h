#pragma once

// The pure part of webhook delivery (docs/API.md "Webhooks", DECISIONS D35):
// target-URL rules, the request's validation, the signature, the backoff
// schedule, the JSON body of an event and the auto-pause decision. No gRPC, no
// RocksDB, no clock: callers pass the time and the random numbers, so every
// function is deterministic and tested directly (webhook_rules_test.cc).

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "salesops/v1/feed.pb.h"
#include "salesops/v1/webhook.pb.h"

namespace salesops::webhook {

// At most this many subscriptions per service (FAILED_PRECONDITION beyond).
inline constexpr int kMaxSubscriptions = 100;
// Bounds of a caller-chosen secret, in characters.
inline constexpr size_t kMinSecretLength = 16;
inline constexpr size_t kMaxSecretLength = 256;
// The feed kind of a subscription's own changes (audited through the feed like
// every entity). Never delivered to a receiver: it would tell every receiver
// the others' targets.
inline constexpr std::string_view kWebhookKind = "webhooks.Webhook";

// A target URL split into what an HTTP client needs.
struct Target {
  std::string scheme;  // "https" or "http"
  std::string host;    // without brackets for IPv6
  int port = 0;        // explicit or the scheme's default
  std::string path;    // "/" when the URL has none; includes the query
  // scheme://host:port, what cpp-httplib's Client takes.
  std::string origin() const;
};

// Parses `url` and applies the rules: scheme https, or http only to a loopback
// host (127.0.0.0/8, ::1, localhost) when `allow_http_loopback`; a host; no
// user info; no fragment; port 1..65535. INVALID_ARGUMENT naming `field` and
// the rule broken.
[[nodiscard]] absl::StatusOr<Target> ParseTarget(
    std::string_view url, bool allow_http_loopback,
    std::string_view field = "target_url");

// Every rule of a CreateWebhookRequest (the URL, the secret's length, kinds
// neither blank nor repeated); INVALID_ARGUMENT naming each field and rule.
[[nodiscard]] absl::Status ValidateCreate(const v1::CreateWebhookRequest& req,
                                          bool allow_http_loopback);

// "a1b2… (64)": what Get/List show of a secret.
std::string SecretHint(std::string_view secret);

// lowercase hex of HMAC-SHA256(secret, "<unix_seconds>.<body>").
std::string Signature(std::string_view secret, int64_t unix_seconds,
                      std::string_view body);
// The SalesOps-Signature header: "t=<unix_seconds>,v1=<Signature(...)>".
std::string SignatureHeader(std::string_view secret, int64_t unix_seconds,
                            std::string_view body);

// The delay before retry number `attempt` (1 = after the first failure):
// full jitter, `unit` (uniform in [0, 1)) times min(max, initial * 2^(attempt
// - 1)). Never negative, never above `max`.
absl::Duration BackoffDelay(int attempt, absl::Duration initial,
                            absl::Duration max, double unit);

// True when a subscription failing continuously since `failing_since` must be
// auto-paused at `now` (`after` > 0; a zero failing_since means not failing).
bool ShouldAutoPause(absl::Time failing_since, absl::Time now,
                     absl::Duration after);

// "<epoch>-<sequence>": stable across redeliveries and restarts of the same
// store; a restored store has a new epoch, so ids never collide.
std::string EventId(std::string_view epoch, uint64_t sequence);

// The JSON body of `event` of service `service` ("accounts"):
// {"id","type","sequence","epoch","time" (RFC 3339, UTC, microseconds),
//  "service","data" (the payload's entity in the proto3 JSON mapping)}.
// INTERNAL when the payload's type is not in the generated pool.
[[nodiscard]] absl::StatusOr<std::string> EventBody(const v1::Event& event,
                                                    std::string_view epoch,
                                                    std::string_view service);

// True when `kinds` (a subscription's filter; empty = all) takes `kind`.
// Progress markers (empty kind) and kWebhookKind are never delivered.
bool Delivers(const google::protobuf::RepeatedPtrField<std::string>& kinds,
              std::string_view kind);

}  // namespace salesops::webhook
