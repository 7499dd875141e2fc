#include "common/feed/feed_service.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"

namespace salesops {

grpc::Status FeedServiceImpl::GetFeedPosition(
    grpc::ServerContext* context, const v1::GetFeedPositionRequest*,
    v1::GetFeedPositionResponse* response) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*context, {Role::kService, Role::kAdmin});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  // First before last: a trim in between can only make the pair conservative.
  response->set_first_sequence(store_->first_sequence());
  response->set_sequence(store_->last_sequence());
  return grpc::Status::OK;
}

grpc::Status FeedServiceImpl::Watch(grpc::ServerContext* context,
                                    const v1::WatchRequest* request,
                                    grpc::ServerWriter<v1::Event>* writer) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*context, {Role::kService, Role::kAdmin});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }

  uint64_t position = request->after_sequence();
  if (position + 1 < store_->first_sequence()) {
    return ToGrpc(absl::OutOfRangeError(absl::StrCat(
        "after_sequence: ", position,
        " is older than the feed's retention (oldest event is ",
        store_->first_sequence(),
        "); re-list and watch from the sequence the list returns")));
  }
  if (position > store_->last_sequence()) {
    return ToGrpc(absl::OutOfRangeError(
        absl::StrCat("after_sequence: ", position,
                     " is beyond the newest event ", store_->last_sequence(),
                     " of this feed (was the service's data reset?)")));
  }
  const std::set<std::string> kinds(request->kinds().begin(),
                                    request->kinds().end());

  // `skipped` is the newest sequence a kinds filter passed over and no event
  // has covered yet.
  uint64_t skipped = 0;
  while (true) {
    if (context->IsCancelled()) {
      return grpc::Status::CANCELLED;
    }
    if (stopping_.load()) {
      return grpc::Status(grpc::UNAVAILABLE, "feed: server shutting down");
    }

    // Copy a batch out first, so a slow client never holds a RocksDB iterator
    // (and the files it pins) while its stream is flow-controlled.
    std::vector<v1::Event> batch;
    absl::Status s = store_->ReadEvents(position, options_.read_batch,
                                        [&](v1::Event& event) {
                                          batch.push_back(std::move(event));
                                          return true;
                                        });
    if (!s.ok()) {
      return ToGrpc(s);
    }
    for (v1::Event& event : batch) {
      if (event.sequence() != position + 1) {
        // Retention removed events after our position while we streamed.
        return ToGrpc(absl::OutOfRangeError(
            absl::StrCat("after_sequence: events after ", position,
                         " were removed by retention while streaming")));
      }
      position = event.sequence();
      if (!kinds.empty() && kinds.count(event.kind()) == 0) {
        skipped = position;
        continue;
      }
      event.set_head_sequence(store_->last_sequence());
      if (!writer->Write(event)) {
        return grpc::Status::CANCELLED;
      }
      skipped = 0;
    }
    if (!batch.empty()) {
      continue;  // more may be waiting
    }
    if (position < store_->last_sequence()) {
      // Nothing readable after our position although the feed is ahead: every
      // event we had yet to send was removed by retention.
      return ToGrpc(absl::OutOfRangeError(
          absl::StrCat("after_sequence: events after ", position,
                       " were removed by retention while streaming")));
    }

    // Caught up. Tell a filtering client how far we scanned, then wait for the
    // next commit.
    if (skipped != 0) {
      v1::Event marker;
      marker.set_sequence(skipped);
      marker.set_head_sequence(store_->last_sequence());
      if (!writer->Write(marker)) {
        return grpc::Status::CANCELLED;
      }
      skipped = 0;
    }
    // Take the wake generation before looking at stopping_: a Stop() after
    // this point changes the generation, so the wait below returns at once.
    const uint64_t generation = store_->wake_generation();
    if (stopping_.load()) {
      continue;
    }
    store_->WaitForEvents(position, absl::Now() + options_.idle_poll,
                          generation);
  }
}

void FeedServiceImpl::Stop() {
  stopping_.store(true);
  store_->Wake();
}

}  // namespace salesops
