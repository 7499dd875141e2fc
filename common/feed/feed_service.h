#pragma once

// salesops.v1.FeedService over a Store's outbox (ARCHITECTURE.md §4): Watch
// replays the events after a position, then streams new commits in order;
// GetFeedPosition tells the head, the oldest retained event and the store's
// epoch. Callers need the SERVICE or ADMIN role: events carry full entity
// state.
//
// Watch runs on gRPC's callback API (DECISIONS.md D7, D27): an open stream
// holds no thread. Each stream holds at most one batch of events (at most
// read_batch events and, past the first, max_batch_bytes), so a consumer
// catching up costs the source bounded memory however large the entities.
// One pump thread per service wakes the streams that wait at the head when a
// commit lands.
//
// Positions Watch refuses with OUT_OF_RANGE (the consumer resyncs):
// after_sequence older than the retention or beyond the head; a WatchRequest
// epoch other than the store's (a restore made a new one); a fingerprint that
// differs from the event the store holds at after_sequence (its data dir was
// replaced by an older copy, whose history diverged).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>

#include "common/server/auth.h"
#include "common/store/store.h"
#include "salesops/v1/feed.grpc.pb.h"

namespace salesops {

struct FeedServiceOptions {
  // Events read from the store per batch of a stream.
  size_t read_batch = 512;
  // Stored bytes per batch (the first event of a batch always goes).
  size_t max_batch_bytes = size_t{4} << 20;
  // How often the pump looks at streams waiting at the head even without a
  // commit (a safety net; commits and stream state changes wake it at once).
  absl::Duration idle_poll = absl::Milliseconds(500);
};

class FeedServiceImpl final : public v1::FeedService::CallbackService {
 public:
  // Neither pointer is owned; both outlive the service. Starts the pump.
  FeedServiceImpl(Store* store, const Authenticator* auth,
                  FeedServiceOptions options = {});
  // Close()s.
  ~FeedServiceImpl() override;

  grpc::ServerWriteReactor<v1::Event>* Watch(
      grpc::CallbackServerContext* context,
      const v1::WatchRequest* request) override;
  grpc::ServerUnaryReactor* GetFeedPosition(
      grpc::CallbackServerContext* context,
      const v1::GetFeedPositionRequest* request,
      v1::GetFeedPositionResponse* response) override;

  // Ends every open Watch with UNAVAILABLE (clients reconnect elsewhere or
  // later) and refuses new ones. Register with Server::OnShutdown so draining
  // does not wait for streams that never end. Idempotent.
  void Stop();

  // Stop()s and joins the pump thread, which reads the store: call before
  // the store closes, after the gRPC server finished every Watch
  // (Server::Shutdown does). Idempotent.
  void Close();

  // Open Watch streams (for tests and metrics).
  size_t watchers() const;

 private:
  class WatchReactor;

  // The first checks of a Watch: OK, or the status to finish it with.
  grpc::Status CheckWatch(const grpc::CallbackServerContext& context,
                          const v1::WatchRequest& request) const;
  // A stream at the head waits for the next commit; wakes the pump.
  void Park(WatchReactor* reactor);
  void Remove(WatchReactor* reactor);
  void PumpLoop();

  Store* store_;
  const Authenticator* auth_;
  FeedServiceOptions options_;

  mutable std::mutex mu_;  // before WatchReactor::mu_; guards the fields below
  std::set<WatchReactor*> watchers_;
  std::set<WatchReactor*> parked_;
  bool stopping_ = false;
  bool quit_ = false;
  std::thread pump_;
};

}  // namespace salesops
