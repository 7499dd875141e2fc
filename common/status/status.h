#pragma once

// Status conventions of the suite (ARCHITECTURE.md §6): inside, absl::Status
// and absl::StatusOr<T>; RocksDB statuses become absl ones in FromRocks, absl
// statuses become gRPC ones in ToGrpc, and nowhere else.

#include <grpcpp/support/status.h>
#include <rocksdb/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/status/errors.h"
#include "common/status/macros.h"

namespace salesops {

// RocksDB → absl. Busy/TryAgain (write conflicts, stalls) and I/O errors
// become UNAVAILABLE, an I/O error for lack of space RESOURCE_EXHAUSTED,
// corruption DATA_LOSS, NotFound NOT_FOUND; INTERNAL is left for states that
// mean a bug. The message keeps RocksDB's text.
[[nodiscard]] absl::Status FromRocks(const rocksdb::Status& s);

// absl → gRPC: same code number, same message, and the structured details
// (errors.h) as a google.rpc.Status in grpc-status-details-bin.
[[nodiscard]] grpc::Status ToGrpc(const absl::Status& s);

// gRPC → absl, for peer clients: same code and message, and the details the
// peer sent (errors.h readers see them).
[[nodiscard]] absl::Status FromGrpc(const grpc::Status& s);

}  // namespace salesops
