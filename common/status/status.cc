#include "common/status/status.h"

#include <string>

namespace salesops {

absl::Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) {
    return absl::OkStatus();
  }
  const std::string msg = "rocksdb: " + s.ToString();
  switch (s.code()) {
    case rocksdb::Status::kNotFound:
      return absl::NotFoundError(msg);
    case rocksdb::Status::kInvalidArgument:
      return absl::InvalidArgumentError(msg);
    case rocksdb::Status::kNotSupported:
      return absl::UnimplementedError(msg);
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kIncomplete:
      return absl::UnavailableError(msg);
    case rocksdb::Status::kAborted:
      return absl::AbortedError(msg);
    case rocksdb::Status::kCorruption:
      return absl::DataLossError(msg);
    case rocksdb::Status::kShutdownInProgress:
    case rocksdb::Status::kColumnFamilyDropped:
      return absl::UnavailableError(msg);
    case rocksdb::Status::kIOError:
      // A full disk is the operator's to fix and clears by itself once space
      // is freed; any other I/O error may pass (a retry can succeed).
      if (s.IsNoSpace()) {
        return absl::ResourceExhaustedError(msg);
      }
      return absl::UnavailableError(msg);
    case rocksdb::Status::kMergeInProgress:
    case rocksdb::Status::kExpired:
    default:
      return absl::InternalError(msg);
  }
}

grpc::Status ToGrpc(const absl::Status& s) {
  if (s.ok()) {
    return grpc::Status::OK;
  }
  return grpc::Status(
      static_cast<grpc::StatusCode>(s.code()),
      BoundedMessage(std::string_view(s.message().data(), s.message().size())),
      SerializedDetails(s));
}

absl::Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) {
    return absl::OkStatus();
  }
  return FromSerializedDetails(static_cast<absl::StatusCode>(s.error_code()),
                               s.error_message(), s.error_details());
}

}  // namespace salesops
