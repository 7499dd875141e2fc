#include "common/feed/feed_service.h"

#include <pthread.h>

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"

namespace salesops {
namespace {

grpc::Status OutOfRange(std::string message) {
  return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, std::move(message));
}

}  // namespace

// One Watch stream. Advance() moves it on: it writes the next event of its
// batch, reads the next batch when the batch is empty, or asks to be parked
// when it is at the head. One write is in flight at a time. Locking:
// FeedServiceImpl::mu_ before WatchReactor::mu_; gRPC runs a reactor's
// callbacks on its own threads, never inline from StartWrite or Finish.
class FeedServiceImpl::WatchReactor final
    : public grpc::ServerWriteReactor<v1::Event> {
 public:
  enum class Next { kNothing, kPark };

  WatchReactor(FeedServiceImpl* service, const v1::WatchRequest& request)
      : service_(service),
        kinds_(request.kinds().begin(), request.kinds().end()),
        position_(request.after_sequence()) {}

  // Ends the stream at once (a refused Watch).
  void Refuse(const grpc::Status& status) {
    std::lock_guard<std::mutex> lock(mu_);
    finished_ = true;
    Finish(status);
  }

  uint64_t position() const { return position_.load(); }

  Next Advance() {
    std::lock_guard<std::mutex> lock(mu_);
    return AdvanceLocked();
  }

  // Finishes with UNAVAILABLE after the write in flight.
  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!finish_) {
      finish_ = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                             "feed: server shutting down; reconnect");
    }
    AdvanceLocked();
  }

  void OnWriteDone(bool ok) override {
    Next next;
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      if (!ok && !finish_) {
        finish_ =
            grpc::Status(grpc::StatusCode::CANCELLED, "feed: the stream broke");
      }
      next = AdvanceLocked();
    }
    if (next == Next::kPark) {
      service_->Park(this);
    }
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!finish_) {
      finish_ = grpc::Status::CANCELLED;
    }
    AdvanceLocked();
  }

  void OnDone() override {
    service_->Remove(this);
    delete this;
  }

 private:
  Next AdvanceLocked() {
    if (finished_ || writing_) {
      return Next::kNothing;
    }
    if (finish_) {
      finished_ = true;
      Finish(*finish_);
      return Next::kNothing;
    }
    if (queue_.empty()) {
      if (grpc::Status s = Fill(); !s.ok()) {
        finished_ = true;
        Finish(s);
        return Next::kNothing;
      }
    }
    if (queue_.empty()) {
      return Next::kPark;
    }
    current_ = std::move(queue_.front());
    queue_.pop_front();
    current_.set_head_sequence(service_->store_->last_sequence());
    current_.set_source_epoch(service_->store_->epoch());
    writing_ = true;
    StartWrite(&current_);
    return Next::kNothing;
  }

  // Reads the next batch after position_ into queue_: the events of the
  // kinds asked for, then a progress marker when the batch ended with events
  // of other kinds.
  grpc::Status Fill() {
    const Store& store = *service_->store_;
    // Before the read, which sees at least this head: nothing read below it
    // means the events were trimmed, not that none had committed yet.
    const uint64_t head = store.last_sequence();
    const uint64_t start = position_.load();
    uint64_t position = start;
    uint64_t skipped = 0, skipped_fingerprint = 0;
    absl::Status gap;
    const absl::Status read = store.ReadEvents(
        position, service_->options_.read_batch,
        service_->options_.max_batch_bytes,
        [&](v1::Event& event, uint64_t fingerprint) {
          if (event.sequence() != position + 1) {
            gap = absl::OutOfRangeError("");
            return false;
          }
          position = event.sequence();
          if (!kinds_.empty() && kinds_.count(event.kind()) == 0) {
            skipped = position;
            skipped_fingerprint = fingerprint;
            return true;
          }
          event.set_fingerprint(fingerprint);
          queue_.push_back(std::move(event));
          return true;
        });
    if (!read.ok()) {
      return ToGrpc(read);
    }
    if (!gap.ok() || (position == start && start < head)) {
      // Retention removed events after our position while we streamed.
      return OutOfRange(
          absl::StrCat("after_sequence: events after ", position,
                       " were removed by retention while streaming; resync"));
    }
    // Skipped events after the last one queued: a marker tells the client
    // how far the filter read, so its cursor never lags behind retention.
    if (skipped != 0 &&
        (queue_.empty() || queue_.back().sequence() < skipped)) {
      v1::Event marker;
      marker.set_sequence(skipped);
      marker.set_fingerprint(skipped_fingerprint);
      queue_.push_back(std::move(marker));
    }
    position_.store(position);
    return grpc::Status::OK;
  }

  FeedServiceImpl* const service_;
  const std::set<std::string> kinds_;
  std::atomic<uint64_t> position_;  // the last sequence read into queue_
  std::mutex mu_;                   // guards the fields below
  std::deque<v1::Event> queue_;
  v1::Event current_;  // the write in flight
  std::optional<grpc::Status> finish_;
  bool writing_ = false;
  bool finished_ = false;
};

FeedServiceImpl::FeedServiceImpl(Store* store, const Authenticator* auth,
                                 FeedServiceOptions options)
    : store_(store), auth_(auth), options_(options) {
  options_.read_batch = std::max<size_t>(options_.read_batch, 1);
  pump_ = std::thread([this] { PumpLoop(); });
}

FeedServiceImpl::~FeedServiceImpl() { Close(); }

void FeedServiceImpl::Close() {
  Stop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    quit_ = true;
  }
  store_->Wake();
  if (pump_.joinable()) {
    pump_.join();
  }
}

grpc::ServerUnaryReactor* FeedServiceImpl::GetFeedPosition(
    grpc::CallbackServerContext* context, const v1::GetFeedPositionRequest*,
    v1::GetFeedPositionResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Principal> who =
      auth_->Authorize(*context, {Role::kService, Role::kAdmin});
  if (!who.ok()) {
    reactor->Finish(ToGrpc(who.status()));
    return reactor;
  }
  // First before last: a trim in between can only make the pair conservative.
  response->set_first_sequence(store_->first_sequence());
  response->set_sequence(store_->last_sequence());
  response->set_epoch(store_->epoch());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::Status FeedServiceImpl::CheckWatch(
    const grpc::CallbackServerContext& context,
    const v1::WatchRequest& request) const {
  absl::StatusOr<Principal> who =
      auth_->Authorize(context, {Role::kService, Role::kAdmin});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  const uint64_t position = request.after_sequence();
  if (!request.epoch().empty() && request.epoch() != store_->epoch()) {
    return OutOfRange(
        absl::StrCat("epoch: the feed's store is another incarnation (epoch ",
                     store_->epoch(), ", not ", request.epoch(),
                     "): it was restored or recreated; resync"));
  }
  if (position + 1 < store_->first_sequence()) {
    return OutOfRange(absl::StrCat(
        "after_sequence: ", position,
        " is older than the feed's retention (oldest event is ",
        store_->first_sequence(),
        "); re-list and watch from the sequence the list returns"));
  }
  if (position > store_->last_sequence()) {
    return OutOfRange(
        absl::StrCat("after_sequence: ", position,
                     " is beyond the newest event ", store_->last_sequence(),
                     " of this feed (was the service's data reset?); resync"));
  }
  if (request.fingerprint() != 0) {
    absl::StatusOr<std::optional<uint64_t>> held =
        store_->FingerprintAt(position);
    if (!held.ok()) {
      return ToGrpc(held.status());
    }
    if (held->has_value() && **held != request.fingerprint()) {
      return OutOfRange(absl::StrCat(
          "fingerprint: the event at after_sequence ", position,
          " is not the one you applied (the service's data was replaced by "
          "an older copy?); resync"));
    }
  }
  return grpc::Status::OK;
}

grpc::ServerWriteReactor<v1::Event>* FeedServiceImpl::Watch(
    grpc::CallbackServerContext* context, const v1::WatchRequest* request) {
  auto* reactor = new WatchReactor(this, *request);
  grpc::Status refused = CheckWatch(*context, *request);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (refused.ok() && stopping_) {
      refused = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                             "feed: server shutting down; reconnect");
    }
    watchers_.insert(reactor);
  }
  if (!refused.ok()) {
    reactor->Refuse(refused);
  } else if (reactor->Advance() == WatchReactor::Next::kPark) {
    Park(reactor);
  }
  return reactor;
}

void FeedServiceImpl::Park(WatchReactor* reactor) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    parked_.insert(reactor);
  }
  // The pump looks again at once: a commit may have landed after the
  // reactor found nothing to read.
  store_->Wake();
}

void FeedServiceImpl::Remove(WatchReactor* reactor) {
  std::lock_guard<std::mutex> lock(mu_);
  watchers_.erase(reactor);
  parked_.erase(reactor);
}

void FeedServiceImpl::PumpLoop() {
  pthread_setname_np(pthread_self(), "feed-pump");
  while (true) {
    const uint64_t generation = store_->wake_generation();
    const uint64_t head = store_->last_sequence();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (quit_) {
        return;
      }
      for (auto it = parked_.begin(); it != parked_.end();) {
        WatchReactor* r = *it;
        if (!stopping_ && r->position() >= head) {
          ++it;  // still at the head
          continue;
        }
        it = parked_.erase(it);
        if (stopping_) {
          r->Stop();
        } else if (r->Advance() == WatchReactor::Next::kPark) {
          parked_.insert(r);  // filtered everything it read: wait again
        }
      }
    }
    store_->WaitForEvents(head, absl::Now() + options_.idle_poll, generation);
  }
}

void FeedServiceImpl::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) {
    return;
  }
  stopping_ = true;
  for (WatchReactor* r : watchers_) {
    r->Stop();
  }
  parked_.clear();
}

size_t FeedServiceImpl::watchers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return watchers_.size();
}

}  // namespace salesops
