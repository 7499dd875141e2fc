#include "common/store/store.h"

#include <pthread.h>
#include <rocksdb/convenience.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/sst_file_manager.h>
#include <rocksdb/table.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status.h"
#include "common/store/key.h"
#include "common/store/store_internal.h"
#include "common/trace/trace.h"

namespace salesops {

namespace store_internal {
std::vector<std::pair<uint64_t, std::string>>& GroupEvents() {
  thread_local std::vector<std::pair<uint64_t, std::string>> events;
  return events;
}
}  // namespace store_internal

using namespace store_internal;  // NOLINT: this file implements the store

namespace {

bool Supported(rocksdb::CompressionType type) {
  const std::vector<rocksdb::CompressionType> supported =
      rocksdb::GetSupportedCompressions();
  return std::find(supported.begin(), supported.end(), type) != supported.end();
}

rocksdb::ColumnFamilyOptions CfOptions() {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_cache = rocksdb::NewLRUCache(32 << 20);
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // LZ4 on the upper levels (cheap enough for the flush and compaction
  // threads), ZSTD on the bottommost level where most of the data settles
  // (DECISIONS D50); none when this librocksdb lacks them. Existing files keep
  // the compression they were written with and are read as before.
  cf.compression = Supported(rocksdb::kLZ4Compression)
                       ? rocksdb::kLZ4Compression
                       : rocksdb::kNoCompression;
  cf.bottommost_compression =
      Supported(rocksdb::kZSTD) ? rocksdb::kZSTD : cf.compression;
  return cf;
}

// Drops request_id records older than the window from the meta column family
// (D53): each record carries its commit time, so no scan is needed and the
// cost rides on compactions RocksDB runs anyway. Records made before D53 have
// no time and stay. A dropped record can uncover only an older version of
// its key, which is expired too.
class ExpiredRequestFilter : public rocksdb::CompactionFilter {
 public:
  ExpiredRequestFilter(Clock* clock, absl::Duration window)
      : clock_(clock), window_(window) {}
  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice& value,
              std::string*, bool*) const override {
    if (key.empty() || static_cast<uint8_t>(key[0]) != kMetaRequest) {
      return false;
    }
    uint64_t micros = 0;
    if (!RequestRecordMicros(std::string_view(value.data(), value.size()),
                             &micros)) {
      return false;
    }
    const absl::Time made = absl::FromUnixMicros(static_cast<int64_t>(micros));
    return clock_->Now() - made >= window_;
  }
  const char* Name() const override { return "salesops.ExpiredRequests"; }

 private:
  Clock* clock_;
  absl::Duration window_;
};

// RocksDB's own log, into ours at WARN and above, instead of its file LOG
// in the data dir. That file is written outside the committer's free-space
// check (at open, at close, on every flush and stats dump), and Debian's
// librocksdb keeps its assertions: on a file system with no byte left, its
// second failed line aborts the process (`sync_without_flush_called_`) — at
// every start and stop until an operator frees space (issue 16 finding 5).
class RocksDbLogger : public rocksdb::Logger {
 public:
  RocksDbLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format,
            va_list ap) override {
    // HEADER lines are the options dump of every open: not wanted here.
    if (level < GetInfoLogLevel() ||
        level == rocksdb::InfoLogLevel::HEADER_LEVEL) {
      return;
    }
    char text[1024];
    vsnprintf(text, sizeof(text), format, ap);
    if (level >= rocksdb::InfoLogLevel::ERROR_LEVEL) {
      log::Error("rocksdb", {{"message", text}});
    } else {
      log::Warn("rocksdb", {{"message", text}});
    }
  }
};

// What a data directory holds.
enum class DirState {
  kAbsent,  // missing, or empty but for a file system's lost+found
  kStore,   // a RocksDB (its CURRENT file)
  kOther,   // something else: refused, never written into
};

DirState Inspect(const std::string& dir, std::string* example) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    return DirState::kAbsent;
  }
  if (std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
    return DirState::kStore;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name != "lost+found") {
      *example = name;
      return DirState::kOther;
    }
  }
  return DirState::kAbsent;
}

// 128 random bits as 32 hex digits.
std::string NewEpoch() {
  std::random_device rd;
  std::string bytes(16, '\0');
  for (size_t i = 0; i < bytes.size(); i += 4) {
    const uint32_t r = rd();
    std::memcpy(&bytes[i], &r, 4);
  }
  return absl::BytesToHexString(bytes);
}

// The group's writes in key order (SortForInsert) in a batch of the
// committer thread's, or the group's own batch when they cannot be sorted.
rocksdb::WriteBatch* InsertOrder(
    rocksdb::WriteBatchWithIndex& batch,
    const std::vector<std::unique_ptr<rocksdb::ColumnFamilyHandle>>& handles) {
  thread_local rocksdb::WriteBatch sorted;
  // A committer thread commits for one store, whose handles never change
  // after Open: its id -> handle table is built once, not per group.
  thread_local std::vector<rocksdb::ColumnFamilyHandle*> by_id;
  if (by_id.empty()) {
    for (const auto& h : handles) {
      if (by_id.size() <= h->GetID()) {
        by_id.resize(h->GetID() + 1, nullptr);
      }
      by_id[h->GetID()] = h.get();
    }
  }
  return SortForInsert(*batch.GetWriteBatch(), by_id, &sorted)
             ? &sorted
             : batch.GetWriteBatch();
}

}  // namespace

struct Store::Pending {
  Actor actor;
  TxnFn fn;
  DoneFn on_done;  // WriteAsync; empty for Write
  // The writer's trace (trace.h), current while `fn` runs: its events carry
  // it (WriteTxn::Emit) and its log lines its trace_id.
  std::optional<trace::TraceContext> trace;
  bool done = false;                // guarded by queue_mu_
  std::condition_variable done_cv;  // its caller waits on this alone
  absl::StatusOr<CommitResult> result =
      absl::UnavailableError("store: not committed");
};

// ---------------------------------------------------------------------------------------------
// Store: open and close

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir,
                                                   StoreOptions options) {
  if (options.max_group_size < 1) {
    return absl::InvalidArgumentError("store: max_group_size must be >= 1");
  }
  if (options.maintenance_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "store: maintenance_interval must be > 0");
  }
  if (options.max_entity_bytes < 1024) {
    return absl::InvalidArgumentError(
        "--max_entity_bytes: must be at least 1024");
  }
  if (options.min_free_disk_bytes < 0) {
    return absl::InvalidArgumentError("--min_free_disk_bytes: must be >= 0");
  }
  Clock* clock = options.clock != nullptr ? options.clock : Clock::Real();
  std::unique_ptr<Store> store(new Store(std::move(options), clock));
  const StoreOptions& o = store->options_;

  std::string example;
  DirState state = Inspect(dir, &example);
  bool new_epoch = false;
  if (!o.restore_from_backup_dir.empty()) {
    if (state != DirState::kAbsent) {
      return absl::FailedPreconditionError(
          absl::StrCat("--restore_from_backup_dir: data dir ", dir,
                       " is not empty; restore into a new or empty directory"));
    }
    RETURN_IF_ERROR(
        RestoreBackup(o.restore_from_backup_dir, o.restore_backup_id, dir));
    new_epoch = true;
  } else if (state == DirState::kAbsent) {
    if (!o.create_if_missing) {
      return absl::FailedPreconditionError(absl::StrCat(
          "data dir ", dir,
          " holds no store (missing or empty): start once with --init to "
          "create one, or check that the volume is mounted"));
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    new_epoch = true;
  } else if (state == DirState::kOther) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data dir ", dir, " is not a store (it holds \"", example,
        "\" but no RocksDB CURRENT file); refusing to write into it"));
  }
  store->dir_ = dir;
  RETURN_IF_ERROR(store->OpenDb(dir));
  RETURN_IF_ERROR(store->LoadMeta(new_epoch));
  store->StartThreads();
  log::Info("store opened", {{"dir", dir},
                             {"epoch", store->epoch()},
                             {"last_sequence", store->last_sequence()},
                             {"first_sequence", store->first_sequence()}});
  return store;
}

absl::Status Store::OpenDb(const std::string& dir) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;  // Open decided that it may
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  // One WAL serves every column family, and a WAL file is kept until every
  // family with data in it has flushed. A family written rarely (the org
  // mirror, cursors in meta) would keep every WAL since its last write —
  // gigabytes after a big load, all replayed by the next start after a crash
  // (31.9 s for pipeline at 1 M deals with a cold page cache). Past this
  // total RocksDB flushes the families holding the oldest WAL, so recovery
  // reads at most about this much.
  db_options.max_total_wal_size = store_internal::kMaxTotalWalBytes;
  statistics_ = rocksdb::CreateDBStatistics();
  statistics_->set_stats_level(rocksdb::StatsLevel::kExceptTimeForMutex);
  db_options.statistics = statistics_;
  // With an SstFileManager RocksDB recovers by itself from a flush or
  // compaction that ran out of space, once space is back.
  db_options.sst_file_manager.reset(
      rocksdb::NewSstFileManager(rocksdb::Env::Default()));
  db_options.info_log = std::make_shared<RocksDbLogger>();

  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName, "outbox",
                                    "meta", "audit"};
  for (const std::string& name : options_.column_families) {
    for (const std::string& existing : names) {
      if (existing == name) {
        return absl::InvalidArgumentError(absl::StrCat(
            "store: column family \"", name, "\" named twice or reserved"));
      }
    }
    names.push_back(name);
  }
  // RocksDB refuses to open a database without all its column families. One
  // made by a newer build or by the service runtime (its "webhooks" family,
  // D35) opens here too: unnamed families go last and are left alone.
  std::vector<std::string> on_disk;
  if (rocksdb::DB::ListColumnFamilies(db_options, dir, &on_disk).ok()) {
    for (const std::string& name : on_disk) {
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        names.push_back(name);
      }
    }
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) {
    descriptors.emplace_back(name, CfOptions());
  }
  if (options_.request_id_retention > absl::ZeroDuration()) {
    request_filter_ = std::make_unique<ExpiredRequestFilter>(
        clock_, options_.request_id_retention);
    rocksdb::ColumnFamilyOptions& meta = descriptors[kMetaCf].options;
    meta.compaction_filter = request_filter_.get();
    // Files untouched by writes are still compacted (and their expired
    // records dropped) at least this often.
    meta.periodic_compaction_seconds = static_cast<uint64_t>(std::max<int64_t>(
        3600, absl::ToInt64Seconds(options_.request_id_retention)));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> raw_handles;
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, dir, descriptors, &raw_handles, &raw_db);
  if (!s.ok()) {
    return absl::Status(
        FromRocks(s).code(),
        absl::StrCat("store: cannot open ", dir, ": ", s.ToString()));
  }
  db_.reset(raw_db);
  for (rocksdb::ColumnFamilyHandle* h : raw_handles) {
    handles_.emplace_back(h);
  }
  outbox_ = handles_[kOutboxCf].get();
  meta_ = handles_[kMetaCf].get();
  audit_ = handles_[kAuditCf].get();
  return absl::OkStatus();
}

absl::Status Store::LoadMeta(bool new_epoch) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_,
                               KeyBuilder(kMetaLastSequence).key(), &value);
  if (s.ok()) {
    ASSIGN_OR_RETURN(uint64_t last, DecodeU64(value, "last sequence"));
    last_sequence_.store(last);
  } else if (!s.IsNotFound()) {
    return FromRocks(s);
  }
  s = db_->Get(rocksdb::ReadOptions(), meta_,
               KeyBuilder(kMetaFirstSequence).key(), &value);
  if (s.ok()) {
    ASSIGN_OR_RETURN(uint64_t first, DecodeU64(value, "first sequence"));
    first_sequence_.store(first);
  } else if (!s.IsNotFound()) {
    return FromRocks(s);
  }
  const std::string epoch_key = KeyBuilder(kMetaEpoch).key();
  s = db_->Get(rocksdb::ReadOptions(), meta_, epoch_key, &epoch_);
  if (s.ok() && !new_epoch) {
    return absl::OkStatus();
  }
  if (!s.ok() && !s.IsNotFound()) {
    return FromRocks(s);
  }
  // A new store, a restored one, or one made before epochs existed.
  const std::string previous = s.ok() ? epoch_ : "";
  epoch_ = NewEpoch();
  rocksdb::WriteOptions wo;
  wo.sync = true;
  RETURN_IF_ERROR(FromRocks(db_->Put(wo, meta_, epoch_key, epoch_)));
  log::Info("store epoch made", {{"epoch", epoch_}, {"previous", previous}});
  return absl::OkStatus();
}

void Store::StartThreads() {
  (void)CheckDiskSpace(0);  // the free-space gauge from the start
  committer_ = std::thread([this] { CommitLoop(); });
  completer_ = std::thread([this] { CompletionLoop(); });
  maintenance_ = std::thread([this] { MaintenanceLoop(); });
}

Store::~Store() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  {
    std::lock_guard<std::mutex> lock(maintenance_mu_);
    maintenance_stop_ = true;
  }
  maintenance_cv_.notify_all();
  if (committer_.joinable()) {
    committer_.join();
  }
  // After the committer: every queued write has its result by now.
  {
    std::lock_guard<std::mutex> lock(completion_mu_);
    completion_stop_ = true;
  }
  completion_cv_.notify_all();
  if (completer_.joinable()) {
    completer_.join();
  }
  if (maintenance_.joinable()) {
    maintenance_.join();
  }
  Wake();
  for (auto& h : handles_) {
    if (db_ != nullptr) {
      db_->DestroyColumnFamilyHandle(h.release()).PermitUncheckedError();
    }
  }
  handles_.clear();
  if (db_ != nullptr) {
    db_->Close().PermitUncheckedError();
  }
}

rocksdb::ColumnFamilyHandle* Store::Handle(CfRef cf) const {
  return handles_.at(static_cast<size_t>(kFirstServiceCf + cf.index())).get();
}

std::vector<std::pair<std::string, rocksdb::ColumnFamilyHandle*>>
Store::column_families() const {
  std::vector<std::pair<std::string, rocksdb::ColumnFamilyHandle*>> out;
  for (const auto& h : handles_) {
    out.emplace_back(h->GetName(), h.get());
  }
  return out;
}

void Store::RegisterTable(std::string_view kind, CfRef cf, uint8_t tag) {
  rocksdb::ColumnFamilyHandle* handle = Handle(cf);
  std::lock_guard<std::mutex> lock(tables_mu_);
  tables_.emplace_back(std::string(kind), handle, tag);
}

absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>>
Store::CompactAll() {
  std::vector<std::pair<std::string, uint64_t>> sizes;
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForceOptimized;
  for (const auto& h : handles_) {
    RETURN_IF_ERROR(
        FromRocks(db_->CompactRange(options, h.get(), nullptr, nullptr)));
    uint64_t bytes = 0;
    db_->GetIntProperty(h.get(), rocksdb::DB::Properties::kLiveSstFilesSize,
                        &bytes);
    sizes.emplace_back(h->GetName(), bytes);
  }
  return sizes;
}

// ---------------------------------------------------------------------------------------------
// Reads

absl::StatusOr<std::optional<std::string>> Store::Get(
    CfRef cf, std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Handle(cf),
                               rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) {
    return std::nullopt;
  }
  RETURN_IF_ERROR(FromRocks(s));
  return value;
}

absl::Status Store::Scan(CfRef cf, std::string_view start, std::string_view end,
                         const Visitor& visit) const {
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end.data(), end.size());
  if (!end.empty()) {
    ro.iterate_upper_bound = &upper;
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, Handle(cf)));
  for (it->Seek(rocksdb::Slice(start.data(), start.size())); it->Valid();
       it->Next()) {
    if (!visit(std::string_view(it->key().data(), it->key().size()),
               std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocks(it->status());
}

absl::StatusOr<uint64_t> Store::GetCursor(std::string_view source) const {
  ASSIGN_OR_RETURN(FeedCursor cursor, GetFeedCursor(source));
  return cursor.sequence;
}

absl::StatusOr<FeedCursor> Store::GetFeedCursor(std::string_view source) const {
  FeedCursor cursor;
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_,
                               CursorKey(kMetaCursor, source), &value);
  if (s.ok()) {
    ASSIGN_OR_RETURN(cursor.sequence, DecodeU64(value, "feed cursor"));
  } else if (!s.IsNotFound()) {
    return FromRocks(s);
  }
  s = db_->Get(rocksdb::ReadOptions(), meta_,
               CursorKey(kMetaCursorEpoch, source), &cursor.epoch);
  if (!s.ok() && !s.IsNotFound()) {
    return FromRocks(s);
  }
  s = db_->Get(rocksdb::ReadOptions(), meta_,
               CursorKey(kMetaCursorFingerprint, source), &value);
  if (s.ok()) {
    ASSIGN_OR_RETURN(cursor.fingerprint, DecodeU64(value, "feed fingerprint"));
  } else if (!s.IsNotFound()) {
    return FromRocks(s);
  }
  return cursor;
}

// ---------------------------------------------------------------------------------------------
// The commit path

absl::StatusOr<CommitResult> Store::Write(Actor actor, TxnFn fn) {
  auto pending = std::make_shared<Pending>();
  pending->actor = std::move(actor);
  pending->fn = std::move(fn);
  if (const trace::TraceContext* trace = trace::Current()) {
    pending->trace = *trace;
  }
  std::unique_lock<std::mutex> lock(queue_mu_);
  if (stopping_) {
    return absl::UnavailableError("store: shutting down");
  }
  queue_.push_back(pending);
  // Only the committer waits on queue_cv_; each caller waits on its own
  // condition, so a commit wakes just its group's callers (no herd of every
  // waiting writer on every enqueue and every commit).
  queue_cv_.notify_one();
  pending->done_cv.wait(lock, [&] { return pending->done; });
  return std::move(pending->result);
}

void Store::WriteAsync(Actor actor, TxnFn fn, DoneFn done) {
  auto pending = std::make_shared<Pending>();
  pending->actor = std::move(actor);
  pending->fn = std::move(fn);
  if (const trace::TraceContext* trace = trace::Current()) {
    pending->trace = *trace;
  }
  pending->on_done = std::move(done);
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (!stopping_) {
      queue_.push_back(pending);
      queue_cv_.notify_one();
      return;
    }
  }
  pending->on_done(absl::UnavailableError("store: shutting down"));
}

void Store::CompletionLoop() {
  pthread_setname_np(pthread_self(), "store-complete");
  std::vector<std::shared_ptr<Pending>> batch;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(completion_mu_);
      completion_cv_.wait(
          lock, [&] { return completion_stop_ || !completions_.empty(); });
      if (completions_.empty()) {
        return;  // stopping, and nothing left to deliver
      }
      batch.swap(completions_);
    }
    for (auto& p : batch) {
      p->on_done(std::move(p->result));
    }
    batch.clear();
  }
}

void Store::CommitLoop() {
  // Named for top, perf and /proc/<pid>/task (at most 15 characters).
  pthread_setname_np(pthread_self(), "store-commit");
  std::vector<std::shared_ptr<Pending>> group;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) {
        return;
      }
      while (!queue_.empty() &&
             static_cast<int>(group.size()) < options_.max_group_size) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitGroup(group);
    bool any_async = false;
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      for (auto& p : group) {
        if (p->on_done) {
          any_async = true;
          continue;
        }
        p->done = true;
        p->done_cv.notify_one();
      }
    }
    if (any_async) {
      {
        std::lock_guard<std::mutex> lock(completion_mu_);
        for (auto& p : group) {
          if (p->on_done) {
            completions_.push_back(std::move(p));
          }
        }
      }
      completion_cv_.notify_one();
    }
    group.clear();
  }
}

void Store::CommitGroup(std::vector<std::shared_ptr<Pending>>& group) {
  // One batch for the life of the committer, cleared per group: its buffer
  // keeps the capacity the largest group needed.
  rocksdb::WriteBatchWithIndex& batch = *commit_batch_;
  batch.Clear();
  std::vector<std::pair<uint64_t, std::string>>& group_events = GroupEvents();
  group_events.clear();
  const uint64_t group_first = last_sequence() + 1;
  uint64_t next = group_first;
  const absl::Time now = clock_->Now();
  std::vector<bool> ok(group.size(), false);

  for (size_t i = 0; i < group.size(); ++i) {
    batch.SetSavePoint();
    WriteTxn txn(this, &batch, next, now, &group[i]->actor);
    std::optional<trace::Scope> trace;
    if (group[i]->trace) {
      trace.emplace(std::move(*group[i]->trace));
    }
    absl::Status status = group[i]->fn(txn);
    if (status.ok()) {
      status = txn.deferred_;
    }
    if (!status.ok()) {
      // Undo this function's writes; its sequence numbers go to the next one.
      rocksdb::Status rs = batch.RollbackToSavePoint();
      if (!rs.ok()) {
        // The batch may still hold the failed function's writes: commit none
        // of the group rather than any of those.
        const absl::Status broken = FromRocks(rs);
        log::Error("store: rollback failed", {{"error", broken.ToString()}});
        for (auto& p : group) {
          p->result = broken;
        }
        return;
      }
      // Its events are gone from the batch: forget them here too.
      while (!group_events.empty() && group_events.back().first >= next) {
        group_events.pop_back();
      }
      group[i]->result = status;
      continue;
    }
    batch.PopSavePoint().PermitUncheckedError();
    ok[i] = true;
    CommitResult result;
    if (txn.first_emitted_ != 0) {
      result.first_sequence = txn.first_emitted_;
      result.last_sequence = txn.next_sequence_ - 1;
    }
    group[i]->result = result;
    next = txn.next_sequence_;
  }

  if (next != group_first) {
    batch.GetWriteBatch()
        ->Put(meta_, KeyBuilder(kMetaLastSequence).key(), EncodeU64(next - 1))
        .PermitUncheckedError();
  }
  if (batch.GetWriteBatch()->Count() == 0) {
    return;
  }

  TryResume();
  absl::Status written = CheckDiskSpace(batch.GetWriteBatch()->GetDataSize());
  if (written.ok()) {
    rocksdb::WriteOptions wo;
    wo.sync = options_.sync_writes;
    const rocksdb::Status rs = db_->Write(wo, InsertOrder(batch, handles_));
    if (!rs.ok()) {
      // RocksDB stops writing after an I/O error (e.g. a flush that found
      // the disk full) until it is resumed.
      needs_resume_.store(rs.IsIOError() || rs.IsNoSpace());
      log::Error("store: group commit failed", {{"error", rs.ToString()}});
    }
    written = FromRocks(rs);
  }
  if (!written.ok()) {
    for (size_t i = 0; i < group.size(); ++i) {
      if (ok[i]) {
        group[i]->result = written;
        if (options_.on_write_refused) {
          options_.on_write_refused();
        }
      }
    }
    return;
  }
  if (next != group_first) {
    {
      std::lock_guard<std::mutex> lock(event_mu_);
      last_sequence_.store(next - 1, std::memory_order_release);
    }
    event_cv_.notify_all();
  }
}

// ---------------------------------------------------------------------------------------------
// Disk space

absl::Status Store::CheckDiskSpace(size_t bytes) {
  if (options_.min_free_disk_bytes <= 0) {
    return absl::OkStatus();
  }
  struct statvfs fs;
  if (statvfs(dir_.c_str(), &fs) != 0) {
    return absl::UnavailableError(
        absl::StrCat("store: cannot check the free space of ", dir_, ": ",
                     strerror(errno), "; writes are refused until it can"));
  }
  const int64_t free_bytes =
      static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  disk_free_.store(free_bytes, std::memory_order_relaxed);
  if (options_.on_disk_free) {
    options_.on_disk_free(free_bytes);
  }
  if (free_bytes - static_cast<int64_t>(bytes) >=
      options_.min_free_disk_bytes) {
    return absl::OkStatus();
  }
  return WithReason(
      absl::ResourceExhaustedError(absl::StrCat(
          "store: disk full: ", free_bytes,
          " bytes free on the file system of ", dir_, ", writes need ",
          options_.min_free_disk_bytes,
          " (--min_free_disk_bytes) plus their own size; reads still work and "
          "writes resume once space is freed")),
      "DISK_FULL");
}

void Store::TryResume() {
  if (!needs_resume_.load() || !CheckDiskSpace(0).ok()) {
    return;
  }
  const rocksdb::Status s = db_->Resume();
  if (s.ok()) {
    needs_resume_.store(false);
    log::Info("store: writes resumed", {{"dir", dir_}});
  }
}

}  // namespace salesops
