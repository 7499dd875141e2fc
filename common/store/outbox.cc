// The outbox (feed reads, waiting, retention), the audit log reads and the
// maintenance thread of Store.

#include <pthread.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status.h"
#include "common/store/key.h"
#include "common/store/store.h"
#include "common/store/store_internal.h"

namespace salesops {

using namespace store_internal;  // NOLINT: this file implements the store

namespace {

std::string AuditPrefix(std::string_view entity_id) {
  return KeyBuilder(kAuditRecord).Str(entity_id).key();
}
std::string AuditPrefix(std::string_view entity_id, std::string_view kind) {
  return KeyBuilder(kAuditRecord).Str(entity_id).Str(kind).key();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Audit log

absl::Status Store::ReadAudit(std::string_view entity_id, std::string_view kind,
                              std::string_view after, size_t limit,
                              std::vector<v1::AuditRecord>* out,
                              std::string* last, bool* more) const {
  const std::string entity = AuditPrefix(entity_id);
  const std::string prefix =
      kind.empty() ? entity : AuditPrefix(entity_id, kind);
  const std::string end = PrefixSuccessor(prefix);
  // A position from another query may lie before this one's range.
  const std::string resume = entity + std::string(after);
  const std::string start = std::max(prefix, resume);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, audit_));
  *more = false;
  for (it->Seek(start); it->Valid(); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    if (!after.empty() && key == resume) {
      continue;
    }
    if (out->size() >= limit) {
      *more = true;
      break;
    }
    v1::AuditRecord record;
    if (!record.ParseFromArray(it->value().data(),
                               static_cast<int>(it->value().size()))) {
      return absl::DataLossError("store: corrupt audit record");
    }
    out->push_back(std::move(record));
    *last = std::string(key.substr(entity.size()));
  }
  return FromRocks(it->status());
}

// ---------------------------------------------------------------------------------------------
// Outbox reads, waiting and retention

absl::Status Store::ReadEvents(
    uint64_t after_sequence, size_t max_events,
    const std::function<bool(v1::Event&)>& visit) const {
  return ReadEvents(after_sequence, max_events, SIZE_MAX,
                    [&](v1::Event& e, uint64_t) { return visit(e); });
}

absl::Status Store::ReadEvents(
    uint64_t after_sequence, size_t max_events, size_t max_bytes,
    const std::function<bool(v1::Event&, uint64_t)>& visit) const {
  // Never read past what the commit path has published, so a reader cannot see
  // a sequence before the wake-up that announces it.
  const uint64_t last = last_sequence();
  if (after_sequence >= last || max_events == 0) {
    return absl::OkStatus();
  }
  std::string start = EventKey(after_sequence + 1);
  std::string end = EventKey(last + 1);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, outbox_));
  size_t count = 0;
  size_t bytes = 0;
  for (it->Seek(start); it->Valid() && count < max_events;
       it->Next(), ++count) {
    const size_t size = it->value().size();
    if (count > 0 && bytes + size > max_bytes) {
      break;  // the first event always goes: it is at most one entity
    }
    bytes += size;
    v1::Event event;
    if (!event.ParseFromArray(it->value().data(), static_cast<int>(size))) {
      return absl::DataLossError("store: corrupt outbox event");
    }
    const uint64_t fingerprint = EventFingerprint(
        std::string_view(it->value().data(), it->value().size()));
    if (!visit(event, fingerprint)) {
      break;
    }
  }
  return FromRocks(it->status());
}

absl::StatusOr<std::optional<uint64_t>> Store::FingerprintAt(
    uint64_t sequence) const {
  if (sequence == 0 || sequence < first_sequence() ||
      sequence > last_sequence()) {
    return std::nullopt;
  }
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), outbox_, EventKey(sequence), &value);
  if (s.IsNotFound()) {
    return std::nullopt;  // trimmed meanwhile
  }
  RETURN_IF_ERROR(FromRocks(s));
  return EventFingerprint(value);
}

uint64_t Store::WaitForEvents(uint64_t after_sequence, absl::Time deadline,
                              std::optional<uint64_t> generation) const {
  std::unique_lock<std::mutex> lock(event_mu_);
  const uint64_t since = generation.value_or(wake_generation_);
  while (last_sequence() <= after_sequence && wake_generation_ == since) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      break;
    }
    event_cv_.wait_for(lock, absl::ToChronoNanoseconds(left));
  }
  return last_sequence();
}

uint64_t Store::wake_generation() const {
  std::lock_guard<std::mutex> lock(event_mu_);
  return wake_generation_;
}

void Store::Wake() const {
  {
    std::lock_guard<std::mutex> lock(event_mu_);
    ++wake_generation_;
  }
  event_cv_.notify_all();
}

absl::Status Store::TrimOutbox(uint64_t first_kept) {
  std::lock_guard<std::mutex> lock(trim_mu_);
  first_kept = std::min(first_kept, last_sequence() + 1);
  const uint64_t first = first_sequence();
  if (first_kept <= first) {
    return absl::OkStatus();
  }
  // The new low-water mark is published before the events go, so a reader that
  // finds a gap also finds it explained by first_sequence().
  first_sequence_.store(first_kept, std::memory_order_release);
  rocksdb::WriteBatch batch;
  absl::Status s = FromRocks(
      batch.DeleteRange(outbox_, EventKey(first), EventKey(first_kept)));
  if (s.ok()) {
    s = FromRocks(batch.Put(meta_, KeyBuilder(kMetaFirstSequence).key(),
                            EncodeU64(first_kept)));
  }
  if (s.ok()) {
    rocksdb::WriteOptions wo;
    wo.sync = options_.sync_writes;
    s = FromRocks(db_->Write(wo, &batch));
  }
  // Nothing was deleted: the events are still there, so say so.
  if (!s.ok()) {
    first_sequence_.store(first, std::memory_order_release);
  }
  return s;
}

absl::Status Store::TrimOutboxBefore(absl::Time cutoff) {
  // Events are time-ordered by commit, so the first one at or after the cutoff
  // is the new low-water mark.
  const int64_t cutoff_micros = absl::ToUnixMicros(cutoff);
  uint64_t first_kept = last_sequence() + 1;
  uint64_t cursor = first_sequence() - 1;
  bool found = false;
  while (!found && cursor < last_sequence()) {
    uint64_t seen = cursor;
    RETURN_IF_ERROR(ReadEvents(cursor, 1024, [&](v1::Event& e) {
      seen = e.sequence();
      if (e.time_micros() >= cutoff_micros) {
        first_kept = e.sequence();
        found = true;
        return false;
      }
      return true;
    }));
    if (seen == cursor) {
      break;  // nothing readable (trimmed concurrently)
    }
    cursor = seen;
  }
  return TrimOutbox(first_kept);
}

void Store::MaintenanceLoop() {
  pthread_setname_np(pthread_self(), "store-maintain");
  std::unique_lock<std::mutex> lock(maintenance_mu_);
  while (true) {
    if (maintenance_cv_.wait_for(
            lock, absl::ToChronoNanoseconds(options_.maintenance_interval),
            [&] { return maintenance_stop_; })) {
      return;
    }
    (void)CheckDiskSpace(0);  // keeps the free-space gauge fresh when idle
    TryResume();
    if (options_.outbox_retention <= absl::ZeroDuration()) {
      continue;
    }
    absl::Status s =
        TrimOutboxBefore(clock_->Now() - options_.outbox_retention);
    if (!s.ok()) {
      log::Warn("store: outbox retention failed", {{"error", s.ToString()}});
    }
  }
}

}  // namespace salesops
