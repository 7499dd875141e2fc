#pragma once

// RETURN_IF_ERROR and ASSIGN_OR_RETURN for absl::Status / absl::StatusOr.
// Pure (absl only): entity rules include this, not status.h, which converts to
// and from gRPC and RocksDB.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

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
