#pragma once

// Status conventions of the suite (ARCHITECTURE.md §6): inside, absl::Status
// and absl::StatusOr<T>; RocksDB statuses become absl ones in FromRocks, absl
// statuses become gRPC ones in ToGrpc, and nowhere else.

#include <grpcpp/support/status.h>
#include <rocksdb/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace salesops {

// RocksDB → absl. Busy/TryAgain (write conflicts, stalls) and I/O errors
// become UNAVAILABLE, an I/O error for lack of space RESOURCE_EXHAUSTED,
// corruption DATA_LOSS, NotFound NOT_FOUND; INTERNAL is left for states that
// mean a bug. The message keeps RocksDB's text.
[[nodiscard]] absl::Status FromRocks(const rocksdb::Status& s);

// absl → gRPC: same code number, same message.
[[nodiscard]] grpc::Status ToGrpc(const absl::Status& s);

// gRPC → absl, for peer clients: same code and message.
[[nodiscard]] absl::Status FromGrpc(const grpc::Status& s);

}  // namespace salesops

#define SALESOPS_STATUS_CONCAT_INNER_(a, b) a##b
#define SALESOPS_STATUS_CONCAT_(a, b) SALESOPS_STATUS_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the enclosing function when it is not OK.
// The enclosing function returns absl::Status or any absl::StatusOr<T>.
#define RETURN_IF_ERROR(expr)                 \
  do {                                        \
    ::absl::Status salesops_status_ = (expr); \
    if (!salesops_status_.ok()) {             \
      return salesops_status_;                \
    }                                         \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on
// error returns its status from the enclosing function, otherwise moves the
// value into `lhs`, which may be a declaration (`auto x`, `const Foo& y`) or an
// existing variable.
#define ASSIGN_OR_RETURN(lhs, expr) \
  SALESOPS_ASSIGN_OR_RETURN_IMPL_(  \
      SALESOPS_STATUS_CONCAT_(salesops_statusor_, __LINE__), lhs, expr)
#define SALESOPS_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                    \
  if (!statusor.ok()) {                                      \
    return std::move(statusor).status();                     \
  }                                                          \
  lhs = std::move(statusor).value()
