#include "common/status/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace salesops {
namespace {

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) {
    return absl::InvalidArgumentError("x: must be even");
  }
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(auto q, Half(h));
  return q;
}

absl::Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<int>> MakeBox(int v) {
  if (v < 0) {
    return absl::OutOfRangeError("negative");
  }
  return std::make_unique<int>(v);
}

absl::StatusOr<int> Unbox(int v) {
  std::unique_ptr<int> box;
  ASSIGN_OR_RETURN(box,
                   MakeBox(v));  // move-only value into an existing variable
  return *box;
}

TEST(StatusMacros, AssignOrReturnPropagatesFirstError) {
  EXPECT_EQ(Quarter(8).value(), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Quarter(3).status().message(), "x: must be even");
}

TEST(StatusMacros, ReturnIfError) {
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(5).code(), absl::StatusCode::kInvalidArgument);
}

TEST(StatusMacros, MoveOnlyValues) {
  EXPECT_EQ(Unbox(7).value(), 7);
  EXPECT_EQ(Unbox(-1).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(StatusConversion, RocksToAbsl) {
  EXPECT_TRUE(FromRocks(rocksdb::Status::OK()).ok());
  EXPECT_EQ(FromRocks(rocksdb::Status::NotFound("k")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(FromRocks(rocksdb::Status::Corruption("x")).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(FromRocks(rocksdb::Status::IOError("disk")).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(FromRocks(rocksdb::Status::NoSpace("write")).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(FromRocks(rocksdb::Status::ShutdownInProgress()).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(FromRocks(rocksdb::Status::Busy()).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_NE(FromRocks(rocksdb::Status::IOError("disk full"))
                .message()
                .find("disk full"),
            std::string::npos);
}

TEST(StatusConversion, AbslGrpcRoundTrip) {
  for (int c = 0; c <= 16; ++c) {
    absl::Status s(static_cast<absl::StatusCode>(c), c == 0 ? "" : "msg");
    grpc::Status g = ToGrpc(s);
    EXPECT_EQ(static_cast<int>(g.error_code()), c);
    EXPECT_EQ(FromGrpc(g), s);
  }
  EXPECT_EQ(ToGrpc(absl::AbortedError("version")).error_message(), "version");
}

}  // namespace
}  // namespace salesops
