#pragma once

// gtest assertions on grpc::Status for service tests:
//   EXPECT_TRUE(IsOk(stub->Get(...)));
//   EXPECT_TRUE(IsError(s, grpc::StatusCode::INVALID_ARGUMENT, "name:
//   required"));
// Failures print the code's name and the message.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace salesops::testing {

inline std::string CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return absl::StrCat("code ", static_cast<int>(code));
  }
}

// `s` has `code` and, when `needle` is given, a message containing it.
inline ::testing::AssertionResult IsError(const grpc::Status& s,
                                          grpc::StatusCode code,
                                          const std::string& needle = "") {
  if (s.error_code() != code) {
    return ::testing::AssertionFailure()
           << "got " << CodeName(s.error_code()) << " \"" << s.error_message()
           << "\", want " << CodeName(code);
  }
  if (!needle.empty() && !absl::StrContains(s.error_message(), needle)) {
    return ::testing::AssertionFailure()
           << CodeName(code) << " message \"" << s.error_message()
           << "\" does not contain \"" << needle << "\"";
  }
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult IsOk(const grpc::Status& s) {
  if (s.ok()) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << CodeName(s.error_code()) << " \"" << s.error_message() << "\"";
}

}  // namespace salesops::testing
