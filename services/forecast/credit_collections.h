#pragma once

// The forecast's one call to the credit service: the resync of the credit
// feed (its cursor fell behind credit's retention, OUT_OF_RANGE) lists every
// opportunity's collection state with CreditService/ListOpportunityCollections
// and hands it to ForecastView::ReplaceCollections. Never on the query path.

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "salesops/v1/credit.grpc.pb.h"

namespace salesops::forecast {

struct ListCollectionsOptions {
  int32_t page_size = 1000;  // the API's maximum
  // Bounds the loop: 10,000 pages of 1,000 = 10M opportunities. More is
  // FAILED_PRECONDITION (and so is a page token that does not advance).
  int max_pages = 10'000;
};

// Appends every collection credit lists to `out`, page by page, and sets
// `feed_sequence` to the credit feed position of the first page (following
// the feed after it misses nothing; what the later pages already show is
// replayed and ignored by version). `new_context` gives each call its
// deadline and credentials. A failed call is returned as FromGrpc of its
// status.
[[nodiscard]] absl::Status ListAllCollections(
    v1::CreditService::StubInterface& credit,
    const std::function<std::unique_ptr<grpc::ClientContext>()>& new_context,
    std::vector<v1::OpportunityCollection>* out, uint64_t* feed_sequence,
    const ListCollectionsOptions& options = {});

}  // namespace salesops::forecast
