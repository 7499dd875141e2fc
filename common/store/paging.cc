#include "common/store/paging.h"

#include <atomic>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace salesops {
namespace {
// Tokens carry a version prefix so their format can change without misreading
// old ones.
constexpr char kTokenPrefix[] = "p1:";
constexpr size_t kTokenPrefixSize = sizeof(kTokenPrefix) - 1;
std::atomic<size_t> max_page_bytes{size_t{4} << 20};
}  // namespace

void SetMaxPageBytes(size_t bytes) { max_page_bytes.store(bytes); }
size_t MaxPageBytes() { return max_page_bytes.load(std::memory_order_relaxed); }

absl::StatusOr<int32_t> PageSize(int32_t requested) {
  if (requested == 0) {
    return kDefaultPageSize;
  }
  if (requested < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "page_size: must not be negative (0 = default ", kDefaultPageSize,
        ", above ", kMaxPageSize, " is capped), got ", requested));
  }
  return requested > kMaxPageSize ? kMaxPageSize : requested;
}

std::string EncodePageToken(std::string_view last_key) {
  return absl::WebSafeBase64Escape(kTokenPrefix + std::string(last_key));
}

absl::StatusOr<std::string> DecodePageToken(std::string_view token) {
  if (token.empty()) {
    return std::string();
  }
  std::string raw;
  if (!absl::WebSafeBase64Unescape(
          absl::string_view(token.data(), token.size()), &raw) ||
      raw.rfind(kTokenPrefix, 0) != 0 || raw.size() == kTokenPrefixSize) {
    return absl::InvalidArgumentError(
        "page_token: not a token from a previous page of this listing");
  }
  return raw.substr(kTokenPrefixSize);
}

}  // namespace salesops
