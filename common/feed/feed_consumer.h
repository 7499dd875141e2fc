#pragma once

// A durable follower of another service's feed (ARCHITECTURE.md §4).
//
// It keeps its cursor (the last applied sequence) in its own Store, written by
// the same transaction as the effect of the events, so after any crash it
// resumes exactly after the last effect that was committed: nothing is missed
// and nothing is applied twice. Events arriving while a batch commits are
// applied together in the next transaction, so a consumer catching up pays one
// commit per batch, not per event.
//
// Connection loss, a stopped peer or a failed apply lead to a reconnect from
// the stored cursor with exponential backoff (initial_backoff doubling up to
// max_backoff, with jitter).
//
// Next to the cursor it keeps the source's epoch and the fingerprint of the
// last event applied, and sends both with Watch. When the source refuses the
// position (OUT_OF_RANGE: trimmed by retention, beyond its head, another
// epoch after a restore, a different event at that sequence after its data
// dir was replaced by an older copy), the consumer reads the source's epoch
// (GetFeedPosition), runs the ResyncFn, then stores that epoch with the
// cursor the resync wrote.
//
// Each event is applied with the trace of the write that produced it current
// (a child span of its traceparent, trace.h), so the apply's log lines carry
// that trace_id; with --access_log, one "feed event applied" line per event
// (source, kind, entity_id, sequence, trace_id, span_id) once its batch
// committed.
//
// Metrics (label `source`): salesops_feed_lag_events (head of the source feed
// minus applied), salesops_feed_last_applied_seconds (commit time, Unix
// seconds, of the last applied event), salesops_feed_events_applied_total,
// salesops_feed_reconnects_total.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/server/peer.h"
#include "common/store/store.h"
#include "common/trace/trace.h"
#include "salesops/v1/feed.grpc.pb.h"

namespace prometheus {
class Registry;
class Gauge;
class Counter;
}  // namespace prometheus

namespace salesops {

struct FeedConsumerOptions {
  // Name of the source ("pipeline"): the cursor's key and the metrics' label.
  std::string source;
  // Only these kinds; empty = all. Progress markers still advance the cursor.
  std::vector<std::string> kinds;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(10);
  // Most events applied in one transaction (at least 1).
  size_t max_batch = 512;
  // Where metrics go; may be null.
  prometheus::Registry* registry = nullptr;
  // Called on the consumer's thread after each batch transaction, with whether
  // it committed. Lets a consumer keep an in-memory view in step with what is
  // stored: stage changes in ApplyFn, publish them here when `committed`,
  // drop them when not (the batch is applied again from the cursor).
  std::function<void(bool committed)> after_batch;
};

// Applies one event inside the consumer's transaction. Must be idempotent by
// entity version and must not block (it runs on the store's commit path). An
// error rolls the batch back; the consumer reconnects and retries from its
// cursor.
using ApplyFn =
    std::function<absl::Status(const v1::Event& event, WriteTxn& txn)>;

// Called when the source answers OUT_OF_RANGE (see above). It must REPLACE
// this service's copy with what the source's List RPCs return — entities no
// longer listed are removed, listed ones overwrite the copy whatever its
// version (a restored source's versions restart lower) — and store the
// cursor those lists returned (WriteTxn::PutCursor(source, ...)) in the same
// transaction as its last write. Without one, the consumer keeps retrying and
// logs the error.
using ResyncFn = std::function<absl::Status()>;

class FeedConsumer {
 public:
  // `peer` (the source service: its channel, bearer token and TLS) is not
  // owned and outlives the consumer.
  FeedConsumer(Store* store, const PeerChannel* peer,
               FeedConsumerOptions options, ApplyFn apply,
               ResyncFn resync = nullptr);
  ~FeedConsumer();  // Stop()s
  FeedConsumer(const FeedConsumer&) = delete;
  FeedConsumer& operator=(const FeedConsumer&) = delete;

  void Start();
  // Cancels the stream and joins; applied events stay applied. Idempotent.
  void Stop();

  // The last applied sequence, as stored.
  uint64_t applied() const { return applied_.load(); }
  // The source's head as last reported by the stream.
  uint64_t head() const { return head_.load(); }
  // Blocks until applied() >= sequence or the timeout passes; true when
  // reached.
  bool WaitForApplied(uint64_t sequence, absl::Duration timeout) const;
  // How current the follower's copy is (a global forecast's region status,
  // issue 19): `now` while the stream is open on a READY channel and
  // applied() >= head(); else the last moment it was (InfinitePast when
  // never since start).
  absl::Time CurrentTo(absl::Time now) const;

 private:
  // One connection: stream events into the queue on a reader thread, apply them
  // in batches here.
  absl::Status RunSession();
  // GetFeedPosition's epoch, resync_, then the epoch stored with the cursor.
  absl::Status Resync();
  absl::Status ApplyBatch(std::vector<v1::Event>& batch);
  // apply_ with the event's trace current; with --access_log, `*applied`
  // gets the event and that trace when it succeeded.
  struct Applied {
    const v1::Event* event;
    trace::TraceContext trace;
  };
  absl::Status ApplyOne(const v1::Event& event, WriteTxn& txn,
                        std::vector<Applied>* applied);
  void LogApplied(const std::vector<Applied>& applied) const;
  void Run();
  bool SleepUnlessStopped(absl::Duration d);
  // Publishes the stored cursor to applied() and wakes WaitForApplied.
  void SetApplied(uint64_t sequence);

  Store* store_;
  const PeerChannel* peer_;
  std::unique_ptr<v1::FeedService::Stub> stub_;
  FeedConsumerOptions options_;
  ApplyFn apply_;
  ResyncFn resync_;
  const bool access_log_;  // --access_log

  std::atomic<uint64_t> applied_{0};
  std::atomic<uint64_t> head_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> streaming_{false};
  // When it last was caught up (Unix micros; INT64_MIN = never).
  std::atomic<int64_t> caught_up_micros_{INT64_MIN};
  std::thread thread_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  grpc::ClientContext* active_context_ = nullptr;  // guarded by mu_

  prometheus::Gauge* lag_ = nullptr;
  prometheus::Gauge* last_applied_seconds_ = nullptr;
  prometheus::Counter* applied_total_ = nullptr;
  prometheus::Counter* reconnects_total_ = nullptr;
  prometheus::Counter* resyncs_total_ = nullptr;
};

}  // namespace salesops
