#pragma once

// A service's following of one other service's feed, as a type (issue 17):
// what it follows (source, kinds), how it applies an event inside the
// consumer's transaction, what it does after each batch, and how it rebuilds
// its copy when the source refuses its position (OUT_OF_RANGE: see
// feed_consumer.h). One class per (this service, source service), e.g.
// forecast's PipelineFollower; registered with
// ServiceRuntime::AddFollower(follower, peer), which runs it in a
// FeedConsumer from Start until shutdown.
//
// The consumer calls Apply and AfterBatch on its one thread; Resync on the
// same thread, never while a batch is open.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/store/store.h"
#include "salesops/v1/feed.pb.h"

namespace salesops {

class FeedFollower {
 public:
  virtual ~FeedFollower() = default;

  // The source service's name ("pipeline"): the cursor's key and the
  // metrics' label.
  virtual std::string source() const = 0;
  // The event kinds applied ("pipeline.Opportunity"); empty = all.
  virtual std::vector<std::string> kinds() const = 0;
  // Applies one event inside the consumer's transaction (ApplyFn's contract:
  // idempotent by entity version, never blocks; an error rolls the batch
  // back and the consumer retries from its cursor).
  [[nodiscard]] virtual absl::Status Apply(const v1::Event& event,
                                           WriteTxn& txn) = 0;
  // After each batch transaction, with whether it committed (publish or
  // drop what Apply staged in memory).
  virtual void AfterBatch(bool committed) {}
  // Replaces this service's copy with what the source lists and stores the
  // cursor (ResyncFn's contract).
  [[nodiscard]] virtual absl::Status Resync() = 0;
};

}  // namespace salesops
