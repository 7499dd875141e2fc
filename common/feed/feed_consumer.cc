#include "common/feed/feed_consumer.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <random>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/server/flags.h"
#include "common/status/status.h"

namespace salesops {

FeedConsumer::FeedConsumer(Store* store, const PeerChannel* peer,
                           FeedConsumerOptions options, ApplyFn apply,
                           ResyncFn resync)
    : store_(store),
      peer_(peer),
      stub_(v1::FeedService::NewStub(peer->channel())),
      options_(std::move(options)),
      apply_(std::move(apply)),
      resync_(std::move(resync)),
      access_log_(absl::GetFlag(FLAGS_access_log)) {
  options_.max_batch = std::max<size_t>(options_.max_batch, 1);
  if (options_.registry != nullptr) {
    const std::map<std::string, std::string> labels = {
        {"source", options_.source}};
    lag_ =
        &prometheus::BuildGauge()
             .Name("salesops_feed_lag_events")
             .Help(
                 "Events committed by the source feed and not yet applied here")
             .Register(*options_.registry)
             .Add(labels);
    last_applied_seconds_ =
        &prometheus::BuildGauge()
             .Name("salesops_feed_last_applied_seconds")
             .Help("Commit time (Unix seconds) of the last applied event")
             .Register(*options_.registry)
             .Add(labels);
    applied_total_ = &prometheus::BuildCounter()
                          .Name("salesops_feed_events_applied_total")
                          .Help("Events applied from the source feed")
                          .Register(*options_.registry)
                          .Add(labels);
    reconnects_total_ =
        &prometheus::BuildCounter()
             .Name("salesops_feed_reconnects_total")
             .Help("Times the feed stream ended and was opened again")
             .Register(*options_.registry)
             .Add(labels);
    resyncs_total_ =
        &prometheus::BuildCounter()
             .Name("salesops_feed_resyncs_total")
             .Help(
                 "Times this copy was rebuilt from the source's lists "
                 "(position expired, source restored or diverged)")
             .Register(*options_.registry)
             .Add(labels);
  }
  absl::StatusOr<uint64_t> cursor = store_->GetCursor(options_.source);
  if (cursor.ok()) {
    applied_.store(*cursor);
  }
}

FeedConsumer::~FeedConsumer() { Stop(); }

void FeedConsumer::SetApplied(uint64_t sequence) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    applied_.store(sequence);
  }
  cv_.notify_all();
}

void FeedConsumer::Start() {
  if (thread_.joinable()) {
    return;
  }
  stopping_.store(false);
  thread_ = std::thread([this] { Run(); });
}

void FeedConsumer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_.store(true);
    if (active_context_ != nullptr) {
      active_context_->TryCancel();
    }
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool FeedConsumer::WaitForApplied(uint64_t sequence,
                                  absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                      [&] { return applied_.load() >= sequence; });
}

bool FeedConsumer::SleepUnlessStopped(absl::Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, absl::ToChronoNanoseconds(d),
                       [&] { return stopping_.load(); });
}

void FeedConsumer::Run() {
  std::mt19937_64 rng(std::random_device{}());
  absl::Duration backoff = options_.initial_backoff;
  while (!stopping_.load()) {
    const uint64_t before = applied_.load();
    absl::Status status = RunSession();
    if (stopping_.load()) {
      break;
    }
    if (reconnects_total_ != nullptr) {
      reconnects_total_->Increment();
    }
    if (status.code() == absl::StatusCode::kOutOfRange && resync_) {
      log::Warn("feed: position refused by the source, resyncing",
                {{"source", options_.source}, {"error", status.ToString()}});
      status = Resync();
      if (status.ok()) {
        backoff = options_.initial_backoff;
        continue;
      }
    } else if (status.code() == absl::StatusCode::kOutOfRange) {
      log::Error("feed: position refused and no resync for this source",
                 {{"source", options_.source}, {"error", status.ToString()}});
    }
    if (applied_.load() != before) {
      backoff = options_.initial_backoff;
    }
    log::Warn("feed: stream ended, reconnecting",
              {{"source", options_.source},
               {"error", status.ToString()},
               {"applied", applied_.load()},
               {"backoff_ms", absl::ToInt64Milliseconds(backoff)}});
    // Full jitter on the upper half, so many consumers do not reconnect in
    // step.
    const int64_t half =
        std::max<int64_t>(1, absl::ToInt64Microseconds(backoff) / 2);
    const absl::Duration sleep = absl::Microseconds(
        half + static_cast<int64_t>(rng() % static_cast<uint64_t>(half)));
    if (!SleepUnlessStopped(sleep)) {
      break;
    }
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

absl::Status FeedConsumer::Resync() {
  // The epoch first: the lists the resync reads are of this incarnation (if
  // the source is restored meanwhile, the next Watch is refused again).
  v1::GetFeedPositionResponse position;
  {
    auto ctx = peer_->NewContext();
    grpc::Status got = stub_->GetFeedPosition(
        ctx.get(), v1::GetFeedPositionRequest(), &position);
    if (!got.ok()) {
      return FromGrpc(got);
    }
  }
  absl::Status status = resync_();
  if (status.ok()) {
    // Last: a crash before this line leaves the old epoch with the new
    // cursor, which the source refuses, so the resync runs again.
    status = store_
                 ->Write(SystemActor(absl::StrCat("resync:", options_.source)),
                         [&](WriteTxn& txn) -> absl::Status {
                           ASSIGN_OR_RETURN(FeedCursor c,
                                            txn.GetFeedCursor(options_.source));
                           c.epoch = position.epoch();
                           c.fingerprint = 0;
                           txn.PutFeedCursor(options_.source, c);
                           return absl::OkStatus();
                         })
                 .status();
  }
  absl::StatusOr<uint64_t> cursor = store_->GetCursor(options_.source);
  if (cursor.ok()) {
    SetApplied(*cursor);
  }
  if (status.ok()) {
    if (resyncs_total_ != nullptr) {
      resyncs_total_->Increment();
    }
    log::Info("feed: resynced", {{"source", options_.source},
                                 {"epoch", position.epoch()},
                                 {"cursor", applied_.load()}});
  }
  return status;
}

absl::Status FeedConsumer::RunSession() {
  ASSIGN_OR_RETURN(const FeedCursor cursor,
                   store_->GetFeedCursor(options_.source));
  SetApplied(cursor.sequence);

  grpc::ClientContext context;
  peer_->Prepare(&context,
                 absl::InfiniteDuration());  // a stream kept open: no deadline
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.load()) {
      return absl::OkStatus();
    }
    active_context_ = &context;
  }
  v1::WatchRequest request;
  request.set_after_sequence(cursor.sequence);
  request.set_epoch(cursor.epoch);
  request.set_fingerprint(cursor.fingerprint);
  for (const std::string& kind : options_.kinds) {
    request.add_kinds(kind);
  }
  std::unique_ptr<grpc::ClientReader<v1::Event>> reader =
      stub_->Watch(&context, request);
  streaming_.store(true);

  // Reader thread → queue → this thread applies in batches.
  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<v1::Event> queue;
  bool reader_done = false;
  bool abort = false;
  grpc::Status stream_status;
  const size_t capacity = 4 * options_.max_batch;
  std::thread reader_thread([&] {
    v1::Event event;
    while (reader->Read(&event)) {
      std::unique_lock<std::mutex> lock(queue_mu);
      queue_cv.wait(lock, [&] { return queue.size() < capacity || abort; });
      if (abort) {
        continue;  // cancelled: drain the stream until Read fails
      }
      queue.push_back(std::move(event));
      queue_cv.notify_all();
    }
    grpc::Status s = reader->Finish();
    std::lock_guard<std::mutex> lock(queue_mu);
    stream_status = s;
    reader_done = true;
    queue_cv.notify_all();
  });

  absl::Status apply_status;
  std::vector<v1::Event> batch;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(queue_mu);
      queue_cv.wait(lock, [&] { return !queue.empty() || reader_done; });
      if (queue.empty() || stopping_.load()) {
        break;
      }
      while (!queue.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue.front()));
        queue.pop_front();
      }
      queue_cv.notify_all();
    }
    apply_status = ApplyBatch(batch);
    batch.clear();
    if (!apply_status.ok()) {
      break;
    }
  }
  {
    std::lock_guard<std::mutex> lock(queue_mu);
    abort = true;
    queue_cv.notify_all();
  }
  context.TryCancel();
  reader_thread.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_context_ = nullptr;
  }
  if (streaming_.exchange(false) && applied_.load() >= head_.load() &&
      peer_->channel()->GetState(false) == GRPC_CHANNEL_READY) {
    caught_up_micros_.store(absl::ToUnixMicros(absl::Now()));
  }
  if (!apply_status.ok()) {
    return apply_status;
  }
  return FromGrpc(stream_status);
}

absl::Time FeedConsumer::CurrentTo(absl::Time now) const {
  if (streaming_.load() && applied_.load() >= head_.load() &&
      peer_->channel()->GetState(false) == GRPC_CHANNEL_READY) {
    return now;
  }
  const int64_t at = caught_up_micros_.load();
  return at == INT64_MIN ? absl::InfinitePast() : absl::FromUnixMicros(at);
}

absl::Status FeedConsumer::ApplyBatch(std::vector<v1::Event>& batch) {
  uint64_t new_cursor = 0;
  size_t applied_events = 0;
  const v1::Event* last_real = nullptr;
  std::vector<Applied> applied;
  absl::StatusOr<CommitResult> committed = store_->Write(
      SystemActor(absl::StrCat("feed:", options_.source)),
      [&](WriteTxn& txn) -> absl::Status {
        applied_events = 0;
        last_real = nullptr;
        applied.clear();
        ASSIGN_OR_RETURN(const FeedCursor stored,
                         txn.GetFeedCursor(options_.source));
        const uint64_t cursor = stored.sequence;
        uint64_t last = cursor;
        uint64_t fingerprint = 0;
        for (const v1::Event& event : batch) {
          if (event.sequence() <= last) {
            continue;  // already applied (replayed after a reconnect)
          }
          if (options_.kinds.empty() && event.sequence() != last + 1) {
            return absl::DataLossError(
                absl::StrCat("feed ", options_.source, ": expected event ",
                             last + 1, ", got ", event.sequence()));
          }
          if (!event.kind().empty()) {  // an empty kind is a progress marker:
                                        // nothing to apply
            absl::Status s = ApplyOne(event, txn, &applied);
            if (!s.ok()) {
              return absl::Status(
                  s.code(), absl::StrCat("feed ", options_.source, " event ",
                                         event.sequence(), ": ", s.message()));
            }
            ++applied_events;
            last_real = &event;
          }
          last = event.sequence();
          fingerprint = event.fingerprint();
        }
        if (last != cursor) {
          // The epoch the stream's events carry (the same for all of them:
          // Watch refused any other).
          const std::string& epoch = batch.back().source_epoch();
          txn.PutFeedCursor(
              options_.source,
              FeedCursor{last, epoch.empty() ? stored.epoch : epoch,
                         fingerprint});
        }
        new_cursor = last;
        return absl::OkStatus();
      });
  if (options_.after_batch) {
    options_.after_batch(committed.ok());
  }
  if (!committed.ok()) {
    return committed.status();
  }
  LogApplied(applied);

  {
    std::lock_guard<std::mutex> lock(mu_);
    applied_.store(new_cursor);
    head_.store(std::max(head_.load(), batch.back().head_sequence()));
  }
  if (new_cursor >= head_.load()) {
    caught_up_micros_.store(absl::ToUnixMicros(absl::Now()));
  }
  cv_.notify_all();
  if (lag_ != nullptr) {
    const uint64_t head = head_.load();
    lag_->Set(head > new_cursor ? static_cast<double>(head - new_cursor) : 0.0);
    applied_total_->Increment(static_cast<double>(applied_events));
    if (last_real != nullptr) {
      last_applied_seconds_->Set(static_cast<double>(last_real->time_micros()) /
                                 1e6);
    }
  }
  return absl::OkStatus();
}

absl::Status FeedConsumer::ApplyOne(const v1::Event& event, WriteTxn& txn,
                                    std::vector<Applied>* applied) {
  if (event.traceparent().empty()) {  // written without a trace
    absl::Status s = apply_(event, txn);
    if (access_log_ && s.ok()) {
      applied->push_back({&event, {}});
    }
    return s;
  }
  trace::Scope scope(
      trace::FromHeaders(event.traceparent(), event.tracestate()));
  absl::Status s = apply_(event, txn);
  if (access_log_ && s.ok()) {
    applied->push_back({&event, scope.context()});
  }
  return s;
}

void FeedConsumer::LogApplied(const std::vector<Applied>& applied) const {
  for (const Applied& a : applied) {
    std::optional<trace::Scope> scope;
    if (!a.trace.trace_id.empty()) {
      scope.emplace(a.trace);
    }
    log::Info("feed event applied", {{"source", options_.source},
                                     {"kind", a.event->kind()},
                                     {"entity_id", a.event->entity_id()},
                                     {"sequence", a.event->sequence()}});
  }
}

}  // namespace salesops
