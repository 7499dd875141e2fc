#pragma once

// Paged listing of a Table, directly or through a MultiIndex, keeping the
// entities a filter accepts (ARCHITECTURE.md §8: page_size default 100, max
// 1000, opaque page tokens). Pages run in id order; a token resumes after the
// last id examined, so a filtered listing never repeats or skips an entity.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/status/status.h"
#include "common/store/paging.h"
#include "common/store/table.h"
#include "salesops/v1/common.pb.h"

namespace salesops {

// page_size and page_token of a request, validated (INVALID_ARGUMENT naming
// page_size / page_token; a page_size above the maximum is capped).
struct Page {
  int32_t size = kDefaultPageSize;
  std::string after;  // the last id of the previous page; "" for the first
};
[[nodiscard]] inline absl::StatusOr<Page> ReadPage(int32_t page_size,
                                                   std::string_view token) {
  Page p;
  ASSIGN_OR_RETURN(p.size, PageSize(page_size));
  ASSIGN_OR_RETURN(p.after, DecodePageToken(token));
  return p;
}

// The nested PageRequest/PageResponse of v0.1.0 are deprecated (AIP-158 moved
// paging to top-level fields) but still served: these helpers are the only
// code that touches them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

// The page of a List request `Req` (any message with top-level page_size and
// page_token and the deprecated nested `page`): the top-level fields, or the
// nested ones of a v0.1.0 client when both top-level fields are unset.
template <typename Req>
[[nodiscard]] absl::StatusOr<Page> ReadListPage(const Req& req) {
  if (req.page_size() != 0 || !req.page_token().empty()) {
    return ReadPage(req.page_size(), req.page_token());
  }
  return ReadPage(req.page().page_size(), req.page().page_token());
}

// The feed sequence at which a List response `Resp` was read, and its next
// page token ("" on the last page): each set at top level and in the
// deprecated nested `page`, so v0.1.0 clients keep paging.
template <typename Resp>
void SetFeedSequence(Resp* resp, uint64_t sequence) {
  resp->set_feed_sequence(sequence);
  resp->mutable_page()->set_feed_sequence(sequence);
}
template <typename Resp>
void SetNextPageToken(Resp* resp, const std::string& token) {
  resp->set_next_page_token(token);
  resp->mutable_page()->set_next_page_token(token);
}

#pragma GCC diagnostic pop

// Fills a page of `table` in id order with the entities `keep` accepts:
// examines entities after `page.after` until the page is full — page.size
// entities, or MaxPageBytes() of them — (then sets `*next_token`) or none are
// left.
template <typename Msg>
[[nodiscard]] absl::Status FillPage(
    const Table<Msg>& table, const Page& page,
    const std::function<bool(const Msg&)>& keep,
    google::protobuf::RepeatedPtrField<Msg>* out, std::string* next_token) {
  std::string after = page.after;
  size_t bytes = 0;
  while (true) {
    std::vector<Msg> chunk;
    bool more = false;
    RETURN_IF_ERROR(table.List(after, 64, &chunk, &more));
    for (Msg& m : chunk) {
      if (!keep(m)) {
        after = m.id();
        continue;
      }
      if (out->size() >= page.size || bytes >= MaxPageBytes()) {
        *next_token = EncodePageToken(after);
        return absl::OkStatus();
      }
      after = m.id();
      bytes += m.ByteSizeLong();
      *out->Add() = std::move(m);
    }
    if (!more) {
      return absl::OkStatus();
    }
  }
}

// The same over the ids `index` lists under `value`.
template <typename Msg>
[[nodiscard]] absl::Status FillPageFromIndex(
    const Store& store, const MultiIndex& index, const std::string& value,
    const Table<Msg>& table, const Page& page,
    const std::function<bool(const Msg&)>& keep,
    google::protobuf::RepeatedPtrField<Msg>* out, std::string* next_token) {
  std::string after = page.after;
  size_t bytes = 0;
  while (true) {
    std::vector<std::string> ids;
    bool more = false;
    RETURN_IF_ERROR(index.ListIds(store, value, after, 64, &ids, &more));
    for (const std::string& id : ids) {
      ASSIGN_OR_RETURN(std::optional<Msg> m, table.Find(id));
      if (!m || !keep(*m)) {
        after = id;
        continue;
      }
      if (out->size() >= page.size || bytes >= MaxPageBytes()) {
        *next_token = EncodePageToken(after);
        return absl::OkStatus();
      }
      after = id;
      bytes += m->ByteSizeLong();
      *out->Add() = std::move(*m);
    }
    if (!more) {
      return absl::OkStatus();
    }
  }
}

}  // namespace salesops
