#pragma once

// The pure part of the bulk imports (issue 21; proto/salesops/v1/accounts.proto
// "Bulk import"; docs/API.md "Bulk import"), shared by ImportAccounts,
// ImportContacts (accounts) and ImportOpportunities (pipeline): the batch's
// own rules, each row's number, the request_id every row needs, the mapping
// of a row's outcome (the status its single create would have answered) to an
// ImportRowResult, and the counts. No gRPC, no store.
//
//   RETURN_IF_ERROR(ValidateImportBatch(req.rows_size(), req.first_row()));
//   for each row i:  status = RequireImportRequestId(row.request_id(), i),
//                    then the single create's checks and write;
//   *resp->add_results() = ImportRowResultOf(
//       ImportRowNumber(req.first_row(), i), status, created, id);
//   *resp->mutable_counts() = CountImportResults(resp->results());

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "salesops/v1/accounts.pb.h"

namespace salesops::bulk {

// Most rows per call (the rows field's max_items, checked at the edge too).
inline constexpr int kMaxImportRows = 1000;
// Largest first_row accepted.
inline constexpr int64_t kMaxFirstRow = 1'000'000'000'000;
// Most bytes of violations (field + description) reported per row; the rest
// are counted in the row's message. Bounds the response like the single
// create's details (errors.h kMaxDetailsBytes).
inline constexpr size_t kMaxRowViolationBytes = 4096;

// OK, or INVALID_ARGUMENT for the whole batch: no rows ("rows: at least 1
// row"), more than kMaxImportRows, first_row outside 0..kMaxFirstRow.
[[nodiscard]] absl::Status ValidateImportBatch(int rows, int64_t first_row);

// The number of rows[index] as reported back: first_row + index, where a
// first_row of 0 means 1.
int64_t ImportRowNumber(int64_t first_row, int index);

// OK when `request_id` is set; else INVALID_ARGUMENT
// "rows[<index>].request_id: required in an import" (the row's path as the
// edge's bounds name it) with one violation {request_id, "required in an
// import"} (violations are relative to the row, as the single create's).
[[nodiscard]] absl::Status RequireImportRequestId(std::string_view request_id,
                                                  int index);

// The result of row number `row`: CREATED (status OK and `created`: the
// create ran in this call), ALREADY_IMPORTED (OK and not `created`: its
// request_id's first result was returned) with `id`; else REJECTED with the
// status's code, its message (bounded, errors.h BoundedMessage) and, for
// INVALID_ARGUMENT, its field violations (errors.h FieldViolationsOf; at most
// kMaxRowViolationBytes of them).
v1::ImportRowResult ImportRowResultOf(int64_t row, const absl::Status& status,
                                      bool created, std::string id);

// How many results have each outcome.
v1::ImportCounts CountImportResults(
    const google::protobuf::RepeatedPtrField<v1::ImportRowResult>& results);

}  // namespace salesops::bulk
