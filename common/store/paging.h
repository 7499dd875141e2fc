#pragma once

// List paging shared by every service (ARCHITECTURE.md §8, AIP-158): page_size
// defaults to 100 and is capped at 1000; page tokens are opaque (web-safe
// base64 of the last key the page returned).

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace salesops {

inline constexpr int32_t kDefaultPageSize = 100;
inline constexpr int32_t kMaxPageSize = 1000;

// A page also stops once its entities take this many bytes (the entity that
// crosses the line is the last one), so with entities of at most
// --max_entity_bytes (<= message size / 4) a page always fits one message.
// Set once at start by the service runtime (message size / 4); 4 MiB until
// then. Thread-safe.
void SetMaxPageBytes(size_t bytes);
size_t MaxPageBytes();

// 0 → kDefaultPageSize; 1..1000 as is; above 1000 → 1000 (AIP-158 caps, it
// does not refuse); negative → INVALID_ARGUMENT naming page_size.
[[nodiscard]] absl::StatusOr<int32_t> PageSize(int32_t requested);

// The token that resumes a listing after `last_key` (an id or an index
// position).
std::string EncodePageToken(std::string_view last_key);
// "" → "" (first page); a token not produced by EncodePageToken →
// INVALID_ARGUMENT.
[[nodiscard]] absl::StatusOr<std::string> DecodePageToken(
    std::string_view token);

}  // namespace salesops
