#include "common/webhook/webhook_rules.h"

#include <arpa/inet.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status/violations.h"

namespace salesops::webhook {
namespace {

// Debian's Abseil has its own string_view (not std's).
absl::string_view A(std::string_view s) { return {s.data(), s.size()}; }

bool IsLoopbackHost(std::string_view host) {
  if (absl::EqualsIgnoreCase(A(host), "localhost")) {
    return true;
  }
  in_addr v4{};
  const std::string h(host);
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  return inet_pton(AF_INET6, h.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// Splits "host[:port]" or "[v6][:port]" into host and port (0 = none).
bool SplitHostPort(std::string_view authority, std::string* host, int* port) {
  std::string_view rest;
  if (absl::StartsWith(A(authority), "[")) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return false;
    }
    *host = std::string(authority.substr(1, close - 1));
    rest = authority.substr(close + 1);
  } else {
    const size_t colon = authority.find(':');
    *host = std::string(authority.substr(0, colon));
    rest = colon == std::string_view::npos ? "" : authority.substr(colon);
  }
  if (rest.empty()) {
    return true;
  }
  return absl::StartsWith(A(rest), ":") &&
         absl::SimpleAtoi(A(rest.substr(1)), port) && *port >= 1 &&
         *port <= 65535;
}

absl::Status Bad(std::string_view field, std::string_view rule) {
  return InvalidFields({{std::string(field), std::string(rule)}});
}

void JsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(out, "\\u00", absl::BytesToHexString(std::string(1, c)));
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

}  // namespace

std::string Target::origin() const {
  const bool v6 = host.find(':') != std::string::npos;
  return absl::StrCat(scheme, "://", v6 ? "[" : "", host, v6 ? "]" : "", ":",
                      port);
}

absl::StatusOr<Target> ParseTarget(std::string_view url,
                                   bool allow_http_loopback,
                                   std::string_view field) {
  Target t;
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return Bad(field, "must be an absolute URL (https://host/path)");
  }
  t.scheme = absl::AsciiStrToLower(A(url.substr(0, sep)));
  std::string_view rest = url.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos) {
    return Bad(field, "must not have a fragment (#...)");
  }
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  t.path =
      slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.find('@') != std::string_view::npos) {
    return Bad(field, "must not carry user info (put secrets in the secret)");
  }
  if (!SplitHostPort(authority, &t.host, &t.port) || t.host.empty() ||
      std::any_of(t.path.begin(), t.path.end(),
                  [](char c) { return c == ' ' || c < 0x20; })) {
    return Bad(field,
               "must have a host, an optional port 1..65535 and no "
               "spaces or control characters");
  }
  if (t.scheme == "https") {
    t.port = t.port == 0 ? 443 : t.port;
    return t;
  }
  if (t.scheme != "http") {
    return Bad(field, "scheme must be https");
  }
  if (!IsLoopbackHost(t.host)) {
    return Bad(field, "scheme must be https (http only to a loopback host)");
  }
  if (!allow_http_loopback) {
    return Bad(field,
               "scheme must be https (http to loopback needs the service's "
               "--webhook_allow_http_loopback)");
  }
  t.port = t.port == 0 ? 80 : t.port;
  return t;
}

absl::Status ValidateCreate(const v1::CreateWebhookRequest& req,
                            bool allow_http_loopback) {
  Violations v;
  if (Blank(req.target_url())) {
    v.Add("target_url", "required");
  } else {
    v.Add(ParseTarget(req.target_url(), allow_http_loopback).status());
  }
  if (!req.secret().empty() && (req.secret().size() < kMinSecretLength ||
                                req.secret().size() > kMaxSecretLength)) {
    v.Add("secret",
          absl::StrCat("must be ", kMinSecretLength, "..", kMaxSecretLength,
                       " characters, or empty to have one made"));
  }
  std::set<std::string> seen;
  for (int i = 0; i < req.event_kinds_size(); ++i) {
    const std::string& kind = req.event_kinds(i);
    const std::string field = absl::StrCat("event_kinds[", i, "]");
    if (Blank(kind)) {
      v.Add(field, "must not be blank");
    } else if (kind == kWebhookKind) {
      v.Add(field, "webhooks.Webhook events are never delivered");
    } else if (!seen.insert(kind).second) {
      v.Add(field, "repeated");
    }
  }
  return v.status();
}

std::string SecretHint(std::string_view secret) {
  return absl::StrCat(A(secret.substr(0, 4)), "\xE2\x80\xA6 (", secret.size(),
                      ")");
}

std::string Signature(std::string_view secret, int64_t unix_seconds,
                      std::string_view body) {
  const std::string signed_payload = absl::StrCat(unix_seconds, ".", A(body));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signed_payload.data()),
       signed_payload.size(), mac, &mac_len);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

std::string SignatureHeader(std::string_view secret, int64_t unix_seconds,
                            std::string_view body) {
  return absl::StrCat("t=", unix_seconds,
                      ",v1=", Signature(secret, unix_seconds, body));
}

absl::Duration BackoffDelay(int attempt, absl::Duration initial,
                            absl::Duration max, double unit) {
  absl::Duration cap = initial;
  for (int i = 1; i < attempt && cap < max; ++i) {
    cap *= 2;
  }
  cap = std::min(cap, max);
  const double u = std::clamp(unit, 0.0, 1.0);
  return std::max(absl::ZeroDuration(), std::min(cap * u, max));
}

bool ShouldAutoPause(absl::Time failing_since, absl::Time now,
                     absl::Duration after) {
  return failing_since != absl::UnixEpoch() && now - failing_since >= after;
}

std::string EventId(std::string_view epoch, uint64_t sequence) {
  return absl::StrCat(A(epoch), "-", sequence);
}

absl::StatusOr<std::string> EventBody(const v1::Event& event,
                                      std::string_view epoch,
                                      std::string_view service) {
  const std::string& url = event.payload().type_url();
  const std::string type = url.substr(url.rfind('/') + 1);
  const google::protobuf::Descriptor* d =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
          type);
  if (d == nullptr) {
    return absl::InternalError(absl::StrCat("webhook: unknown type ", type));
  }
  std::unique_ptr<google::protobuf::Message> entity(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(d)
          ->New());
  std::string data;
  if (!entity->ParseFromString(event.payload().value()) ||
      !google::protobuf::util::MessageToJsonString(*entity, &data).ok()) {
    return absl::InternalError(absl::StrCat("webhook: cannot encode ", type));
  }
  std::string body = "{\"id\":";
  JsonString(EventId(epoch, event.sequence()), &body);
  body += ",\"type\":";
  JsonString(event.kind(), &body);
  absl::StrAppend(&body, ",\"sequence\":", event.sequence(), ",\"epoch\":");
  JsonString(epoch, &body);
  absl::StrAppend(&body, ",\"time\":\"",
                  absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ",
                                   absl::FromUnixMicros(event.time_micros()),
                                   absl::UTCTimeZone()),
                  "\",\"service\":");
  JsonString(service, &body);
  absl::StrAppend(&body, ",\"data\":", data, "}");
  return body;
}

bool Delivers(const google::protobuf::RepeatedPtrField<std::string>& kinds,
              std::string_view kind) {
  if (kind.empty() || kind == kWebhookKind) {
    return false;
  }
  return kinds.empty() ||
         std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

}  // namespace salesops::webhook
