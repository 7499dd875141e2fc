#pragma once

// salesops.v1.FeedService over a Store's outbox (ARCHITECTURE.md §4): Watch
// replays the events after a position, then streams new commits in order;
// GetFeedPosition tells the head and the oldest retained event. Callers need
// the SERVICE or ADMIN role: events carry full entity state.

#include <atomic>
#include <cstdint>

#include "common/server/auth.h"
#include "common/store/store.h"
#include "salesops/v1/feed.grpc.pb.h"

namespace salesops {

struct FeedServiceOptions {
  // Events read from the store per batch while replaying.
  size_t read_batch = 512;
  // How long a caught-up Watch waits for a commit before re-checking
  // cancellation and sending a progress marker if a kinds filter skipped events
  // meanwhile.
  absl::Duration idle_poll = absl::Milliseconds(500);
};

class FeedServiceImpl final : public v1::FeedService::Service {
 public:
  // Neither pointer is owned; both outlive the service.
  FeedServiceImpl(Store* store, const Authenticator* auth,
                  FeedServiceOptions options = {})
      : store_(store), auth_(auth), options_(options) {
    if (options_.read_batch < 1) {
      options_.read_batch = 1;
    }
  }

  grpc::Status Watch(grpc::ServerContext* context,
                     const v1::WatchRequest* request,
                     grpc::ServerWriter<v1::Event>* writer) override;
  grpc::Status GetFeedPosition(grpc::ServerContext* context,
                               const v1::GetFeedPositionRequest* request,
                               v1::GetFeedPositionResponse* response) override;

  // Ends every open Watch (they return UNAVAILABLE so clients reconnect
  // elsewhere or later). Register with Server::OnShutdown so draining does not
  // wait for streams that never end.
  void Stop();

 private:
  Store* store_;
  const Authenticator* auth_;
  FeedServiceOptions options_;
  std::atomic<bool> stopping_{false};
};

}  // namespace salesops
