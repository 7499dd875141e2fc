#pragma once

// The Connect protocol's wire rules (connectrpc.com/docs/protocol), pure: no
// gRPC, no HTTP library. The HTTP gateway (connect_gateway.h) uses them to
// serve our gRPC methods as Connect RPCs; tests check them directly.
//
// Unary:  POST /<package.Service>/<Method>, Content-Type application/json
//         (proto3 JSON mapping) or application/proto; success is HTTP 200 with
//         the response message in the same codec; an error is a JSON body
//         {"code":"invalid_argument","message":"…","details":[{"type":…,
//         "value":<base64>,"debug":{…}}]} with the code's HTTP status.
// Server streaming: Content-Type application/connect+json or
//         application/connect+proto; the request is one enveloped message,
//         the response HTTP 200 with enveloped messages and a last
//         end-of-stream envelope (flag 0x02) holding {} or {"error":{…}}.
// Envelope: 1 byte of flags, 4 bytes of big-endian length, the payload.
// Deadline: Connect-Timeout-Ms, at most 10 ASCII digits.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"

namespace salesops::connect {

enum class Codec { kJson, kProto };

struct ContentType {
  Codec codec = Codec::kJson;
  bool streaming = false;
};

// The codec of a Content-Type header; parameters after ';' (charset=utf-8)
// are ignored, case-insensitively. nullopt: not a Connect content type (the
// gateway answers HTTP 415).
std::optional<ContentType> ParseContentType(std::string_view header);
std::string ContentTypeOf(ContentType type);

// Connect's name of a code ("invalid_argument"); "unknown" for OK.
std::string_view CodeName(absl::StatusCode code);
// Connect's HTTP status of a code (invalid_argument 400, not_found 404,
// unauthenticated 401, permission_denied 403, unavailable 503, …).
int HttpStatusOf(absl::StatusCode code);

// Connect-Timeout-Ms: 1 to 10 ASCII digits. nullopt when the header is
// absent (empty); INVALID_ARGUMENT naming the header otherwise.
[[nodiscard]] absl::StatusOr<std::optional<int64_t>> ParseTimeoutMs(
    std::string_view header);

// The Connect error object for `code`, `message` and `status_details` (a
// serialized google.rpc.Status, as gRPC carries in grpc-status-details-bin;
// may be empty): {"code","message","details":[{"type","value","debug"}]},
// where type is the detail's full message name, value its bytes in base64
// without padding and debug its proto3 JSON when the type is known.
std::string ErrorJson(absl::StatusCode code, std::string_view message,
                      std::string_view status_details);

// Envelopes.
inline constexpr uint8_t kEndStreamFlag = 0x02;
inline constexpr uint8_t kCompressedFlag = 0x01;
std::string Envelope(uint8_t flags, std::string_view payload);
struct ParsedEnvelope {
  uint8_t flags = 0;
  std::string payload;
};
// Exactly one envelope in `body` (a server-streaming request); at most
// `max_bytes` of payload. INVALID_ARGUMENT otherwise.
[[nodiscard]] absl::StatusOr<ParsedEnvelope> ParseSingleEnvelope(
    std::string_view body, size_t max_bytes);
// The end-of-stream envelope: {} on success, {"error":{…}} otherwise.
std::string EndStream(absl::StatusCode code, std::string_view message,
                      std::string_view status_details);

// Message conversion between a codec and protobuf's binary form, for messages
// of `type` from the generated pool. JSON parsing ignores unknown fields (as
// binary decoding does) and accepts both lowerCamelCase and original field
// names; JSON output uses lowerCamelCase and omits default values
// (protobuf's canonical proto3 JSON). INVALID_ARGUMENT naming the problem
// when the input does not parse.
[[nodiscard]] absl::StatusOr<std::string> ToBinary(
    Codec codec, const google::protobuf::Descriptor& type,
    std::string_view body);
[[nodiscard]] absl::StatusOr<std::string> FromBinary(
    Codec codec, const google::protobuf::Descriptor& type,
    std::string_view binary);

}  // namespace salesops::connect
