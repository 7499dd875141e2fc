#include "common/resync/sorted_sweep.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "common/store/key.h"

namespace salesops {
namespace {

// Stored entries of [start, end) (after `exclusive_start` when set), at most
// `limit` (0 = all), in key order.
absl::Status StoredEntries(
    WriteTxn& txn, CfRef cf, const std::string& start, bool exclusive_start,
    const std::string& end, size_t limit,
    std::vector<std::pair<std::string, std::string>>* out, bool* more) {
  *more = false;
  return txn.Scan(cf, start, end,
                  [&](std::string_view key, std::string_view value) {
                    if (exclusive_start && key == start) {
                      return true;
                    }
                    if (limit > 0 && out->size() >= limit) {
                      *more = true;
                      return false;
                    }
                    out->emplace_back(key, value);
                    return true;
                  });
}

}  // namespace

SortedSweep::SortedSweep(CfRef cf, std::string prefix)
    : cf_(cf), prefix_(std::move(prefix)), end_(PrefixSuccessor(prefix_)) {}

absl::Status SortedSweep::Page(
    WriteTxn& txn, std::vector<std::string> keys, const GoneFn& gone,
    std::map<std::string, std::string>* stored_listed) {
  pending_ = position_;
  if (keys.empty()) {
    return absl::OkStatus();
  }
  std::sort(keys.begin(), keys.end());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].compare(0, prefix_.size(), prefix_) != 0) {
      return absl::FailedPreconditionError(
          "resync: a listed key is outside the collection swept");
    }
    if (i > 0 && keys[i] == keys[i - 1]) {
      return absl::FailedPreconditionError(
          "resync: the listing holds an entity twice");
    }
  }
  if (!position_.empty() && keys.front() <= position_) {
    return absl::FailedPreconditionError(
        "resync: the source's listing is not in key order (a page starts "
        "before the end of the previous one)");
  }
  const bool after = !position_.empty();
  const std::string start = after ? position_ : prefix_;
  // Up to and including the page's last key.
  const std::string stop = keys.back() + std::string(1, '\0');
  std::vector<std::pair<std::string, std::string>> stored;
  bool more = false;
  RETURN_IF_ERROR(
      StoredEntries(txn, cf_, start, after, stop, 0, &stored, &more));
  // Both sorted: a merge.
  auto listed = keys.begin();
  for (auto& [key, value] : stored) {
    while (listed != keys.end() && *listed < key) {
      ++listed;
    }
    if (listed != keys.end() && *listed == key) {
      if (stored_listed != nullptr) {
        stored_listed->emplace(key, std::move(value));
      }
      continue;
    }
    RETURN_IF_ERROR(gone(txn, key));
  }
  pending_ = keys.back();
  return absl::OkStatus();
}

absl::Status SortedSweep::Rest(WriteTxn& txn, size_t limit, const GoneFn& gone,
                               bool* done) {
  pending_ = position_;
  const bool after = !position_.empty();
  std::vector<std::pair<std::string, std::string>> stored;
  bool more = false;
  RETURN_IF_ERROR(StoredEntries(txn, cf_, after ? position_ : prefix_, after,
                                end_, std::max<size_t>(limit, 1), &stored,
                                &more));
  for (const auto& entry : stored) {
    RETURN_IF_ERROR(gone(txn, entry.first));
  }
  if (!stored.empty()) {
    pending_ = stored.back().first;
  }
  *done = !more;
  return absl::OkStatus();
}

}  // namespace salesops
