#pragma once

// Structured error details (issue 17; Abseil status payloads, AIP-193's
// google.rpc details). Pure: protobuf messages and absl only, no gRPC, so
// entity rules attach details where they decide an error, and ToGrpc
// (status.h) sends them in the `grpc-status-details-bin` trailer as one
// google.rpc.Status:
//
//   - INVALID_ARGUMENT: a google.rpc.BadRequest, one FieldViolation per
//     violated rule (field path + description). Built by Violations
//     (violations.h); a status made without one has its message read as
//     "<field>: <rule>; <field>: <rule>..." (the suite's message format).
//   - FAILED_PRECONDITION: a google.rpc.PreconditionFailure (type = the
//     reason, subject, description).
//   - UNAVAILABLE, and ABORTED other than a stale version: a
//     google.rpc.RetryInfo (a retry of the same request helps).
//   - every error: a google.rpc.ErrorInfo {reason, domain "salesops.v1"}.
//     The reason is stable and machine-readable (UPPER_SNAKE_CASE); the ones
//     the suite sends are listed in docs/API.md §2. Without WithReason it is
//     the code's name ("NOT_FOUND").
//
// The message stays human-readable and unchanged. Details are bounded
// (kMaxDetailsBytes): a request with thousands of violations gets the first
// ones and ErrorInfo.metadata["violations_omitted"].

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace salesops {

inline constexpr std::string_view kErrorDomain = "salesops.v1";
// Most bytes of serialized details in one status, and of the message sent
// (both travel as trailers, which are metadata: gRPC clients refuse more than
// 8 KiB by default).
inline constexpr size_t kMaxDetailsBytes = 4096;
inline constexpr size_t kMaxMessageBytes = 2048;

// `message` cut to kMaxMessageBytes at a UTF-8 character boundary, ending in
// "… (<n> more bytes)" when cut.
std::string BoundedMessage(std::string_view message);

struct FieldViolation {
  std::string field;
  std::string description;
  friend bool operator==(const FieldViolation& a, const FieldViolation& b) {
    return a.field == b.field && a.description == b.description;
  }
};

// INVALID_ARGUMENT with these violations; message "<field>: <description>"
// joined by "; ". OK when `violations` is empty.
[[nodiscard]] absl::Status InvalidFields(
    const std::vector<FieldViolation>& violations);
// FAILED_PRECONDITION with reason `reason`, message `message`, and a
// PreconditionFailure {type: reason, subject, description: message}.
[[nodiscard]] absl::Status FailedPrecondition(std::string_view reason,
                                              std::string_view subject,
                                              std::string_view message);
// `status` with ErrorInfo.reason `reason` (UPPER_SNAKE_CASE); OK stays OK.
[[nodiscard]] absl::Status WithReason(absl::Status status,
                                      std::string_view reason);
// `status` with a RetryInfo of `delay`; OK stays OK.
[[nodiscard]] absl::Status WithRetryDelay(absl::Status status,
                                          absl::Duration delay);

// "<field>: <rule>" → {field, rule}; text whose part before the first ": "
// is empty or has a space is all rule, with field "".
FieldViolation ParseViolation(std::string_view text);

// ---- Readers (ToGrpc, tests, salesopsctl).
// The violations of an INVALID_ARGUMENT: its BadRequest, else its message
// read as "<field>: <rule>; ...". Empty for other codes.
std::vector<FieldViolation> FieldViolationsOf(const absl::Status& status);
// The reason set by WithReason, else the code's name ("INVALID_ARGUMENT" is
// "INVALID_FIELD"); "" for OK.
std::string ReasonOf(const absl::Status& status);
// The retry delay set by WithRetryDelay, else 1 s for UNAVAILABLE and
// 100 ms for an ABORTED whose reason is not STALE_VERSION; nullopt
// otherwise.
std::optional<absl::Duration> RetryDelayOf(const absl::Status& status);

// The serialized google.rpc.Status of `status` (code, message and the
// details above); "" for OK.
std::string SerializedDetails(const absl::Status& status);
// The inverse, for peer clients: an absl::Status with `code` and `message`
// carrying the details `serialized` holds (unknown details are dropped).
absl::Status FromSerializedDetails(absl::StatusCode code, std::string message,
                                   std::string_view serialized);

}  // namespace salesops
