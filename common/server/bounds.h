#pragma once

// Field bounds checked at the edge (proto/salesops/v1/options.proto,
// docs/API.md "Field bounds", issue 16).
//
// Every string, bytes and repeated field of every request has a maximum: its
// (max_length), (max_bytes) or (max_items) option, else the default of its
// type (kDefaultMaxLength code points, kDefaultMaxBytes bytes,
// kDefaultMaxItems items; each element of a repeated string/bytes field is
// bound like a singular one).
//
// The contract of the edge, which every handler relies on without knowing it:
//  1. When the request message of a unary or server-streaming call arrives,
//     before the handler runs, the metrics interceptor (interceptors.h)
//     discards its unknown fields, recursively (so nothing a client sends that
//     this version does not know is ever stored, forwarded or echoed), and
//     runs BoundViolations on it.
//  2. Violations become one INVALID_ARGUMENT for that call, recorded with
//     RecordEdgeRejection under the call's grpc::ServerContextBase and
//     forgotten when the call ends (ForgetEdgeRejection).
//  3. Authenticator::Authenticate and Authorize (auth.h) return that recorded
//     INVALID_ARGUMENT once the caller is authenticated (Authorize: and the
//     role check passed). Every handler authenticates first thing, so every
//     handler of every service is covered, and a caller without a valid token
//     gets UNAUTHENTICATED and learns nothing about the request's shape.
//  4. Request bytes that do not parse as the method's request type are
//     answered INVALID_ARGUMENT "request: not a valid <full message name>" by
//     the interceptor (gRPC would say INTERNAL for sync handlers and
//     UNIMPLEMENTED for callback handlers).
//
// BoundViolations runs on every request: it walks a per-type plan built once
// (only the fields that can break a bound), looks at no field of a type that
// cannot, allocates nothing when the request is within bounds, and counts code
// points only for strings whose byte length exceeds their bound.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace grpc {
class ServerContextBase;
}  // namespace grpc

namespace salesops {

// Defaults for fields without an option (stated in options.proto).
inline constexpr uint32_t kDefaultMaxLength = 256;  // code points
inline constexpr uint32_t kDefaultMaxBytes = 1024;
inline constexpr uint32_t kDefaultMaxItems = 100;
// Sub-messages deeper than this are a violation ("<path>: nested deeper than
// 32 messages"); our requests nest at most 4 deep.
inline constexpr int kMaxBoundsDepth = 32;

// Every bound `request` breaks, at most `max_reported` of them, in field order
// (depth first), each "<path>: <rule> (got <n>)":
//   "opportunity.competitors[3].strengths: at most 2000 characters (got 5000)"
//   "owner_ids: at most 1000 items (got 5000)"
//   "owner_ids[7]: at most 128 characters (got 300)"
//   "blob: at most 1024 bytes (got 2000)"
// Paths use proto field names and [index] for repeated elements. A repeated
// field over its item bound is reported once and its elements are not
// examined. Only set fields are examined (an empty string or list cannot
// break a bound); extensions are ignored. Code points are counted on the
// string's bytes, which proto3 parsing has checked to be UTF-8.
std::vector<std::string> BoundViolations(
    const google::protobuf::Message& request, size_t max_reported = 20);

// Removes the unknown fields of `message` and of every message it contains
// (protobuf's Message::DiscardUnknownFields, which recurses into singular,
// repeated and map message fields in protobuf 3.21; bounds_test checks it).
void DiscardUnknownFieldsRecursively(google::protobuf::Message* message);

// Number of Unicode code points of UTF-8 text (bytes that are not
// continuation bytes 10xxxxxx).
size_t CodePoints(std::string_view utf8);

// ---- The per-call registry of rejections (steps 2 and 3 above) ----
//
// Process-wide and thread-safe. `call` is only a key: never dereferenced.
// EdgeRejection costs one atomic load while nothing is recorded anywhere.

// Records `status` (not OK) as the answer to give `call` once its caller is
// authenticated; replaces an earlier one.
void RecordEdgeRejection(const grpc::ServerContextBase* call,
                         absl::Status status);
// The status recorded for `call`, or OK.
[[nodiscard]] absl::Status EdgeRejection(const grpc::ServerContextBase* call);
// Forgets `call` (its call ended); no-op when nothing was recorded.
void ForgetEdgeRejection(const grpc::ServerContextBase* call);
// How many calls have a rejection recorded now (tests: 0 once calls ended).
size_t PendingEdgeRejections();

}  // namespace salesops
