// ForecastView: view snapshots (forecast_view.h; D55) — when one is taken,
// how it is written, and how Load() starts from it.

#include <malloc.h>

#include <algorithm>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status.h"
#include "services/forecast/forecast_view.h"

namespace salesops::forecast {

ForecastView::ChangeInFlight::ChangeInFlight(ForecastView* view) : view_(view) {
  std::lock_guard<std::mutex> lock(view_->staged_mu_);
  ++view_->in_flight_;
}

ForecastView::ChangeInFlight::~ChangeInFlight() {
  std::lock_guard<std::mutex> lock(view_->staged_mu_);
  --view_->in_flight_;
}

ForecastView::~ForecastView() {
  {
    std::lock_guard<std::mutex> lock(staged_mu_);
    stopping_ = true;
  }
  writer_cv_.notify_all();
  if (writer_.joinable()) {
    writer_.join();
  }
}

void ForecastView::EnableSnapshots(SnapshotOptions options) {
  snapshots_ = options;
  if (options.background && !writer_.joinable()) {
    writer_ = std::thread([this] { WriterLoop(); });
  }
}

void ForecastView::MarkStale(WriteTxn& txn) {
  std::lock_guard<std::mutex> lock(staged_mu_);
  if (snapshots_) {
    ForecastStore::MarkStale(txn, generation_);
    stale_ = true;
  }
}

std::string ForecastView::CaptureLocked() {
  ++generation_;
  changed_ = 0;
  stale_ = false;
  last_capture_ = absl::Now();
  std::string bytes;
  {
    std::shared_lock lock(mu_);
    bytes = rollup_.Snapshot();
  }
  // The one part on the publishing thread (D58): the feed waits this long.
  log::Info("forecast view snapshot captured",
            {{"generation", static_cast<int64_t>(generation_)},
             {"bytes", static_cast<int64_t>(bytes.size())},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - last_capture_)}});
  return bytes;
}

bool ForecastView::SnapshotDue(const SnapshotOptions& options, int64_t changed,
                               bool stale, absl::Duration since_last,
                               absl::Duration last_cost) {
  if (since_last < options.cost_spacing * last_cost) {
    return false;
  }
  return changed >= options.max_changes ||
         ((changed > 0 || stale) && since_last >= options.interval);
}

void ForecastView::MaybeSnapshot() {
  if (!snapshots_ || snapshots_broken_) {
    return;
  }
  std::unique_lock<std::mutex> lock(staged_mu_);
  const bool due = SnapshotDue(*snapshots_, changed_, stale_,
                               absl::Now() - last_capture_, last_cost_);
  if (!due || writing_ || pending_ops_ != 0 || in_flight_ != 0) {
    return;
  }
  writing_ = true;
  std::string bytes = CaptureLocked();
  const uint64_t generation = generation_;
  if (snapshots_->background) {
    job_.emplace(generation, std::move(bytes));
    lock.unlock();
    writer_cv_.notify_all();
    return;
  }
  lock.unlock();
  if (absl::Status s = WriteSnapshot(generation, bytes); !s.ok()) {
    log::Error("forecast view: snapshot not written",
               {{"error", s.ToString()}});
  }
  lock.lock();
  writing_ = false;
  last_cost_ = absl::Now() - last_capture_;
}

absl::Status ForecastView::SnapshotNow() {
  if (!snapshots_) {
    return absl::FailedPreconditionError("view snapshots are not enabled");
  }
  std::unique_lock<std::mutex> lock(staged_mu_);
  if (snapshots_broken_) {
    return absl::FailedPreconditionError(
        "an operation failed to aggregate: the view is not snapshotted");
  }
  if (writing_ || pending_ops_ != 0 || in_flight_ != 0) {
    return absl::FailedPreconditionError(
        "a change or a snapshot is in flight: try again");
  }
  writing_ = true;
  std::string bytes = CaptureLocked();
  const uint64_t generation = generation_;
  lock.unlock();
  absl::Status s = WriteSnapshot(generation, bytes);
  lock.lock();
  writing_ = false;
  last_cost_ = absl::Now() - last_capture_;
  return s;
}

void ForecastView::WriterLoop() {
  std::unique_lock<std::mutex> lock(staged_mu_);
  while (true) {
    writer_cv_.wait(lock, [&] { return stopping_ || job_.has_value(); });
    if (!job_) {
      return;  // stopping, nothing left to write
    }
    auto [generation, bytes] = std::move(*job_);
    job_.reset();
    lock.unlock();
    if (absl::Status s = WriteSnapshot(generation, bytes); !s.ok()) {
      log::Error("forecast view: snapshot not written",
                 {{"error", s.ToString()}});
    }
    std::string().swap(bytes);
    malloc_trim(0);  // the snapshot's bytes are not kept resident
    lock.lock();
    writing_ = false;
    last_cost_ = absl::Now() - last_capture_;
  }
}

absl::Status ForecastView::WriteSnapshot(uint64_t generation,
                                         const std::string& bytes) {
  // Beside the commit thread and without the view's locks (D58): the feed
  // goes on applying batches while this runs.
  const absl::Time start = absl::Now();
  RETURN_IF_ERROR(records_.WriteSnapshot(
      generation, bytes, snapshots_->chunk_bytes, snapshots_->before_chunk));
  // What older snapshots needed: gone once this one is the head.
  RETURN_IF_ERROR(records_.DropBefore(generation));
  log::Info("forecast view snapshot written",
            {{"generation", static_cast<int64_t>(generation)},
             {"bytes", static_cast<int64_t>(bytes.size())},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  return absl::OkStatus();
}

absl::StatusOr<bool> ForecastView::LoadSnapshot(Rollup& rollup,
                                                uint64_t* generation) {
  ASSIGN_OR_RETURN(std::optional<ForecastStore::SnapshotHead> head,
                   records_.ReadSnapshotHead());
  if (!head) {
    return false;
  }
  ASSIGN_OR_RETURN(bool stale, records_.StaleSince(head->generation));
  if (stale) {
    return false;  // something besides deals changed since: a full load
  }
  ASSIGN_OR_RETURN(std::string bytes, records_.ReadSnapshot(*head));
  ASSIGN_OR_RETURN(Rollup restored, Rollup::Restore(bytes));
  std::string().swap(bytes);
  if (restored.reporting_currency() != reporting_) {
    return false;
  }
  // Each deal changed since: its earliest pre-image (as the snapshot counts
  // it) to its stored record.
  std::unordered_map<std::string, std::optional<OppFacts>> before;
  uint64_t last = head->generation;
  RETURN_IF_ERROR(records_.ScanPreImages(
      head->generation,
      [&](uint64_t g, const std::string& id,
          const OppRecord* r) -> absl::Status {
        last = std::max(last, g);
        before.try_emplace(
            id, r ? std::optional<OppFacts>(FactsOf(*r)) : std::nullopt);
        return absl::OkStatus();
      }));
  for (const auto& [id, was] : before) {
    ASSIGN_OR_RETURN(std::optional<OppRecord> now, records_.FindOpp(id));
    std::optional<OppFacts> after;
    if (now) after = FactsOf(*now);
    if (was) RETURN_IF_ERROR(restored.EnsureNode(was->owner_node_id));
    if (after) RETURN_IF_ERROR(restored.EnsureNode(after->owner_node_id));
    RETURN_IF_ERROR(restored.ApplyOpportunity(was, after));
  }
  rollup = std::move(restored);
  *generation = last;
  log::Info("forecast view caught up from its snapshot",
            {{"generation", static_cast<int64_t>(head->generation)},
             {"bytes", static_cast<int64_t>(head->bytes)},
             {"deals_changed_since", static_cast<int64_t>(before.size())}});
  return true;
}

}  // namespace salesops::forecast
