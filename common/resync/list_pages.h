#pragma once

// Listing a source page by page for a follower's resync (ARCHITECTURE.md §4):
// each page is handed to `visit` as it arrives (which writes it: memory stays
// bounded by a page), the first page's feed sequence is where the follower
// resumes the feed (what later pages already show is applied again, and
// ignored by version), and the loop is bounded.
//
//   uint64_t at = 0;
//   RETURN_IF_ERROR((ForEachPage<v1::ListOpportunitiesRequest,
//                                v1::ListOpportunitiesResponse>(
//       peer, "pipeline service", {},
//       [&](grpc::ClientContext* c, const auto& req, auto* resp) {
//         return stub->ListOpportunities(c, req, resp);
//       },
//       [&](v1::ListOpportunitiesResponse& page) { return Write(page); },
//       &at)));

#include <google/protobuf/repeated_ptr_field.h>
#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/server/peer.h"
#include "common/status/status.h"

namespace salesops {

// Calls `call(ctx, request, &response)` (the stub's List method) for pages of
// 1000 until the last page, handing each response to `visit` (an error from
// it stops the listing and is returned). `*first_sequence` is the first
// page's feed_sequence. A failed call is UNAVAILABLE naming `peer_name` (its
// code when it is PERMISSION_DENIED or UNAUTHENTICATED: a configuration
// error); more than `max_pages` pages, or a page token that does not change,
// is FAILED_PRECONDITION.
template <typename Req, typename Resp, typename Call, typename Visit>
[[nodiscard]] absl::Status ForEachPage(const PeerChannel& peer,
                                       std::string_view peer_name, Req req,
                                       const Call& call, const Visit& visit,
                                       uint64_t* first_sequence,
                                       int64_t max_pages = 10'000) {
  req.set_page_size(1000);
  std::string token;
  for (int64_t pages = 0; pages < max_pages; ++pages) {
    Resp resp;
    auto ctx = peer.NewContext();
    grpc::Status s = call(ctx.get(), req, &resp);
    if (!s.ok()) {
      const bool refused =
          s.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
          s.error_code() == grpc::StatusCode::UNAUTHENTICATED;
      const std::string message =
          absl::StrCat(std::string(peer_name),
                       refused ? " refused the listing: " : " unavailable: ",
                       s.error_message());
      return refused ? absl::Status(FromGrpc(s).code(), message)
                     : absl::UnavailableError(message);
    }
    if (pages == 0) {
      *first_sequence = resp.feed_sequence();
    }
    RETURN_IF_ERROR(visit(resp));
    const std::string& next = resp.next_page_token();
    if (next.empty()) {
      return absl::OkStatus();
    }
    if (next == token) {
      return absl::FailedPreconditionError(absl::StrCat(
          std::string(peer_name), ": the page token did not advance"));
    }
    token = next;
    req.set_page_token(token);
  }
  return absl::FailedPreconditionError(absl::StrCat(
      std::string(peer_name), ": more than ", max_pages, " pages to list"));
}

// The items of a page, moved out.
template <typename T>
std::vector<T> TakeAll(google::protobuf::RepeatedPtrField<T>* items) {
  std::vector<T> out;
  out.reserve(items->size());
  for (T& item : *items) {
    out.push_back(std::move(item));
  }
  return out;
}

// Every item of a short listing (the org tree, the stage models), collected
// into `*out` for a replacement in one transaction: ForEachPage with a visit
// that moves `items(page)` (e.g. `[](auto& p) { return p.mutable_models(); }`)
// into `*out`.
template <typename Req, typename Resp, typename T, typename Call,
          typename Items>
[[nodiscard]] absl::Status CollectAll(const PeerChannel& peer,
                                      std::string_view peer_name,
                                      const Call& call, const Items& items,
                                      std::vector<T>* out,
                                      uint64_t* first_sequence) {
  return ForEachPage<Req, Resp>(
      peer, peer_name, Req(), call,
      [&](Resp& page) {
        for (T& item : TakeAll(items(page))) {
          out->push_back(std::move(item));
        }
        return absl::OkStatus();
      },
      first_sequence);
}

}  // namespace salesops
