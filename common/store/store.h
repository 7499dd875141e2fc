#pragma once

// One RocksDB per service process (ARCHITECTURE.md §3, §4).
//
// Column families: `default`, `outbox` and `meta` always exist; a service adds
// its own, named in StoreOptions::column_families, and addresses them with its
// own `enum class` whose values are the positions in that list (never reorder
// them: the names are what RocksDB persists).
//
// Writes go through one commit path. Store::Write hands a transaction function
// to a single committer thread, which runs the functions waiting at that moment
// one after another against a shared WriteBatchWithIndex (so each sees the
// effects of the earlier ones in its group), gives their outbox events dense
// sequence numbers, writes the whole group with one WriteBatch and one fsync
// (when sync_writes), and only then wakes each caller with its own result. A
// function that fails is rolled back to its save point: nothing it wrote
// reaches the database and the sequence numbers it took are handed out again.
// Checks that depend on current state (expected_version, uniqueness, request_id
// replay) therefore belong inside the function.
//
// Reads (Get, Scan, ReadEvents) never take the commit path; they see the latest
// committed state.
//
// The audit log (docs/DECISIONS.md D25): every write names its Actor, and every
// outbox event it emits (one per entity change) gets an AuditRecord in the
// `audit` column family, in the same batch: who, which RPC or job, when, the
// entity, its version before and after, and the top-level fields that changed.
// Audit records are never trimmed.
//
// Hardening (docs/DECISIONS.md D27):
// - A store is created only when StoreOptions::create_if_missing (--init);
//   otherwise Open refuses a missing or empty directory, so an unmounted
//   volume never starts as an empty service.
// - Each store has an epoch, a random id made when it is created and made
//   anew by a restore; the feed carries it so followers notice a different
//   incarnation of their source.
// - An entity whose serialized state exceeds max_entity_bytes is refused
//   (INVALID_ARGUMENT), so every feed event and List page fits a message.
// - Before a group is written, the free space of the data dir's file system
//   is checked against min_free_disk_bytes: below it, writes are refused with
//   RESOURCE_EXHAUSTED (reads go on) and resume by themselves once space is
//   freed; RocksDB never runs out of space in the middle of a WAL write.
// - request_id records are kept per principal (Actor::name).
//
// request_id records (docs/DECISIONS.md D53) hold what a retry needs, not a
// copy of the result: the request's fingerprint, the commit time, and where
// the first result lives — the outbox sequence of the created entity's event
// (its payload is that result, byte for byte), with the entity's kind and id
// for when retention has trimmed that event (then a retry gets the entity's
// current state). A result that is no emitted entity is stored whole. A
// record expires request_id_retention after its commit: from then on it is
// treated as absent (the request_id makes a new request), and compactions of
// the meta column family drop it (a compaction filter reading its time).
// - Online backups (RocksDB BackupEngine, WAL included: consistent across
//   column families) and a restore into an empty directory with a new epoch.

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/statistics.h>
#include <rocksdb/utilities/write_batch_with_index.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/store/actor.h"
#include "common/time/clock.h"
#include "salesops/v1/audit.pb.h"
#include "salesops/v1/feed.pb.h"

namespace google::protobuf {
class Descriptor;
class Message;
}  // namespace google::protobuf

namespace salesops {

// A service column family: any enum whose values index
// StoreOptions::column_families. Precondition of every call taking one: the
// value is < column_families.size() (a programming error otherwise: the store
// throws std::out_of_range and the process ends).
class CfRef {
 public:
  template <typename E, typename = std::enable_if_t<std::is_enum_v<E>>>
  constexpr CfRef(E e)
      : index_(static_cast<int>(e)) {}  // NOLINT: implicit by design
  constexpr int index() const { return index_; }

 private:
  int index_;
};

struct StoreOptions {
  // The service's own column families, in the order of its enum values.
  std::vector<std::string> column_families;
  // fsync the WAL before acknowledging a write (--sync_writes). Without it an
  // acknowledged write survives a process crash but not a machine crash.
  bool sync_writes = true;
  // Outbox events older than this are deleted by the maintenance thread; zero
  // keeps them all.
  absl::Duration outbox_retention = absl::Hours(168);
  // request_id records older than this are treated as absent and dropped by
  // compaction (D53); zero keeps them forever. The service runtime refuses a
  // window longer than outbox_retention (a retry could then need a trimmed
  // event).
  absl::Duration request_id_retention = absl::Hours(24);
  // How often the maintenance thread applies the retention.
  absl::Duration maintenance_interval = absl::Minutes(1);
  // Upper bound of transaction functions merged into one batch.
  int max_group_size = 256;
  // Source of event times; not owned; Clock::Real() when null.
  Clock* clock = nullptr;
  // The audit records' actor for SystemActor writes (e.g. "salesops-credit").
  std::string system_actor = "system";
  // Create the store when the directory is missing or empty. Without it Open
  // answers FAILED_PRECONDITION for such a directory. The service runtime
  // sets it from --init, which defaults to false; tests that own their temp
  // dirs keep this default.
  bool create_if_missing = true;
  // Largest serialized entity state an Emit accepts (--max_entity_bytes).
  int64_t max_entity_bytes = int64_t{1} << 20;
  // Writes are refused while the data dir's file system has less free space
  // than this plus the group's size (--min_free_disk_bytes); 0 = no check.
  int64_t min_free_disk_bytes = int64_t{128} << 20;
  // Observers for metrics; may be empty. Called on the commit thread with
  // the free bytes seen by each check, and once per refused write.
  std::function<void(int64_t free_bytes)> on_disk_free;
  std::function<void()> on_write_refused;
  // Restore this backup into the (missing or empty) directory before opening
  // it, and give the restored store a new epoch. Empty = no restore.
  std::string restore_from_backup_dir;
  uint32_t restore_backup_id = 0;  // 0 = the newest backup
};

// One backup of a store (Store::CreateBackup, Store::ListBackups).
struct BackupInfo {
  uint32_t id = 0;
  int64_t time_micros = 0;  // when it was taken
  uint64_t size_bytes = 0;  // bytes of its files
  uint32_t file_count = 0;
  std::string epoch;           // the store's epoch when it was taken
  uint64_t last_sequence = 0;  // the feed head when it was taken
};

// What a successful Write committed: the range of outbox sequences its events
// received
// ([first_sequence, last_sequence]; both 0 when it emitted none).
struct CommitResult {
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
};

class Store;

// Where a feed consumer stands in a source's feed.
struct FeedCursor {
  uint64_t sequence = 0;     // last applied; 0 = nothing yet
  std::string epoch;         // the source store's epoch; "" = not known yet
  uint64_t fingerprint = 0;  // of the event at `sequence`; 0 = not known
};

// A stable 64-bit hash of a stored outbox event's bytes (never 0), which a
// consumer sends back with its position so the source can tell whether the
// event at that sequence is still the one the consumer applied.
uint64_t EventFingerprint(std::string_view stored_event);

// The view a transaction function gets on the commit thread. Reads see the
// committed state plus the earlier functions of the same group plus this
// function's own writes.
class WriteTxn {
 public:
  [[nodiscard]] absl::StatusOr<std::optional<std::string>> Get(
      CfRef cf, std::string_view key);
  void Put(CfRef cf, std::string_view key, std::string_view value);
  void Delete(CfRef cf, std::string_view key);
  // Visits keys in [start, end) of `cf` (end "" = to the end) in order, as this
  // transaction sees them, until `visit` returns false.
  using Visitor =
      std::function<bool(std::string_view key, std::string_view value)>;
  [[nodiscard]] absl::Status Scan(CfRef cf, std::string_view start,
                                  std::string_view end, const Visitor& visit);

  // Appends an outbox event holding `state` (the entity's full new state) and
  // its audit record, and returns its sequence number. `before` is the state
  // `state` replaces (nullptr when the entity is new); the audit record takes
  // both versions from their `int64 version` field (0 when there is none) and
  // lists the top-level fields that differ.
  uint64_t Emit(std::string_view kind, std::string_view entity_id,
                const google::protobuf::Message& state,
                const google::protobuf::Message* before = nullptr);
  // The same with `state` already serialized (`serialized` is
  // state.SerializeAsString()), so a caller that also stores those bytes
  // serializes once.
  uint64_t Emit(std::string_view kind, std::string_view entity_id,
                const google::protobuf::Message& state, std::string serialized,
                const google::protobuf::Message* before);

  // request_id idempotency: the first request with this id in `scope` (e.g.
  // "CreateAccount") of this principal, unexpired (D53): its fingerprint, its
  // commit time and its result (read back from the event the record points
  // to, or from the entity's row when that event was trimmed, or stored
  // whole). NOT_FOUND when the record points to an entity that is gone.
  struct RequestRecord {
    std::string fingerprint;
    absl::Time time;
    std::string result;  // serialized result message
  };
  [[nodiscard]] absl::StatusOr<std::optional<RequestRecord>> GetRequest(
      std::string_view scope, std::string_view request_id);
  // Records the first request: `result` is found among this transaction's
  // emitted events (same message type and `id` field as an event's entity)
  // and only that event's sequence is kept; otherwise it is stored whole.
  void PutRequest(std::string_view scope, std::string_view request_id,
                  std::string_view fingerprint,
                  const google::protobuf::Message& result);

  // Feed consumer cursors: the last applied sequence of `source` (0 when
  // none). PutCursor also forgets the fingerprint kept with the cursor (it
  // belonged to another sequence); the epoch is kept.
  [[nodiscard]] absl::StatusOr<uint64_t> GetCursor(std::string_view source);
  void PutCursor(std::string_view source, uint64_t sequence);
  // The whole cursor record (FeedConsumer): sequence, the source's epoch and
  // the fingerprint of the event at that sequence.
  [[nodiscard]] absl::StatusOr<FeedCursor> GetFeedCursor(
      std::string_view source);
  void PutFeedCursor(std::string_view source, const FeedCursor& cursor);

  // The commit time given to this group's events.
  absl::Time now() const { return now_; }

 private:
  friend class Store;
  WriteTxn(Store* store, rocksdb::WriteBatchWithIndex* batch,
           uint64_t next_sequence, absl::Time now, const Actor* actor)
      : store_(store),
        batch_(batch),
        next_sequence_(next_sequence),
        now_(now),
        actor_(actor) {}

  [[nodiscard]] absl::StatusOr<std::optional<std::string>> GetRaw(
      rocksdb::ColumnFamilyHandle* cf, std::string_view key);
  // Whose request_id records this transaction reads and writes.
  std::string_view Principal() const;
  // The result a request record points to (RequestRecord::result).
  [[nodiscard]] absl::StatusOr<std::string> ResolveResult(
      uint64_t sequence, std::string_view kind, std::string_view entity_id);

  // This transaction's events, for PutRequest.
  struct Emitted {
    uint64_t sequence;
    const google::protobuf::Descriptor* type;
    std::string kind;
    std::string entity_id;
  };

  Store* store_;
  rocksdb::WriteBatchWithIndex* batch_;
  uint64_t next_sequence_;
  uint64_t first_emitted_ = 0;
  absl::Time now_;
  const Actor* actor_;
  std::vector<Emitted> emitted_;
  // The first rule an Emit broke (e.g. an oversized entity); fails the
  // transaction function when it returns.
  absl::Status deferred_;
};

// The transaction function. Runs on the commit thread: it must be quick and
// must not call Store::Write (that would deadlock). Returning an error rolls
// back everything it wrote.
using TxnFn = std::function<absl::Status(WriteTxn&)>;

class Store {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Store>> Open(
      const std::string& dir, StoreOptions options);
  // Commits the writes already queued, refuses later ones with UNAVAILABLE,
  // stops the committer and closes the database.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // ---- Reads (committed state) ----
  [[nodiscard]] absl::StatusOr<std::optional<std::string>> Get(
      CfRef cf, std::string_view key) const;
  // Visits keys in [start, end) of `cf` in order (end "" = to the end of the
  // column family) until `visit` returns false.
  using Visitor =
      std::function<bool(std::string_view key, std::string_view value)>;
  [[nodiscard]] absl::Status Scan(CfRef cf, std::string_view start,
                                  std::string_view end,
                                  const Visitor& visit) const;
  [[nodiscard]] absl::StatusOr<uint64_t> GetCursor(
      std::string_view source) const;
  [[nodiscard]] absl::StatusOr<FeedCursor> GetFeedCursor(
      std::string_view source) const;

  // The store's incarnation id (32 hex digits), made when it was created and
  // anew by a restore.
  const std::string& epoch() const { return epoch_; }
  const std::string& dir() const { return dir_; }

  // ---- Writes ----
  // Runs `fn` on the commit path on behalf of `actor` and returns once its
  // batch is durable (or failed). The caller's current trace (trace.h) is
  // current while `fn` runs, and the events it emits carry it (traceparent,
  // tracestate). Both apply to WriteAsync too.
  [[nodiscard]] absl::StatusOr<CommitResult> Write(Actor actor, TxnFn fn);
  // The same without waiting: `done` gets what Write would return, once the
  // batch is durable (or failed). It runs on the store's completion thread —
  // one wake-up per committed group, never the committer — or, when the store
  // is shutting down, at once on the caller's thread with UNAVAILABLE. It must
  // be quick and must not call Write.
  using DoneFn = std::function<void(absl::StatusOr<CommitResult>)>;
  void WriteAsync(Actor actor, TxnFn fn, DoneFn done);

  // ---- Audit log ----
  // Up to `limit` records of `entity_id` (only of `kind` when not empty),
  // ordered by kind then sequence, after the position `after` (a value of
  // *last, "" = from the start); `*last` is the position of the last record
  // returned and `*more` tells whether others follow.
  [[nodiscard]] absl::Status ReadAudit(std::string_view entity_id,
                                       std::string_view kind,
                                       std::string_view after, size_t limit,
                                       std::vector<v1::AuditRecord>* out,
                                       std::string* last, bool* more) const;

  // ---- Outbox / feed ----
  // Newest committed sequence (0 when none) and oldest retained one (last + 1
  // when empty).
  uint64_t last_sequence() const {
    return last_sequence_.load(std::memory_order_acquire);
  }
  uint64_t first_sequence() const {
    return first_sequence_.load(std::memory_order_acquire);
  }
  // Visits committed events with sequence > after_sequence in order, at most
  // `max_events` and, after the first, at most `max_bytes` of stored events,
  // until `visit` returns false. Each event comes with its fingerprint.
  [[nodiscard]] absl::Status ReadEvents(
      uint64_t after_sequence, size_t max_events,
      const std::function<bool(v1::Event&)>& visit) const;
  [[nodiscard]] absl::Status ReadEvents(
      uint64_t after_sequence, size_t max_events, size_t max_bytes,
      const std::function<bool(v1::Event&, uint64_t fingerprint)>& visit) const;
  // The fingerprint of the retained event at `sequence`; nullopt when it is
  // not retained (trimmed, or beyond the head).
  [[nodiscard]] absl::StatusOr<std::optional<uint64_t>> FingerprintAt(
      uint64_t sequence) const;
  // Blocks until an event after `after_sequence` is committed, `deadline`
  // passes or Wake() is called — since `generation` (a wake_generation() the
  // caller read earlier) when given, so a Wake() between the caller's last
  // check and this call is not missed. Returns last_sequence().
  uint64_t WaitForEvents(
      uint64_t after_sequence, absl::Time deadline,
      std::optional<uint64_t> generation = std::nullopt) const;
  // Counts Wake() calls.
  uint64_t wake_generation() const;
  // Wakes every WaitForEvents caller (used when a feed server shuts down).
  void Wake() const;
  // Deletes the events before `first_kept` (capped at last_sequence() + 1).
  [[nodiscard]] absl::Status TrimOutbox(uint64_t first_kept);
  // Deletes the events committed before `cutoff`.
  [[nodiscard]] absl::Status TrimOutboxBefore(absl::Time cutoff);

  // ---- Backups ----
  // Takes a consistent online backup into `backup_dir` (created if missing)
  // while writes go on — every write acknowledged before the call is in it —
  // then keeps the newest `keep` backups (>= 1). One backup at a time:
  // FAILED_PRECONDITION while another runs.
  [[nodiscard]] absl::StatusOr<BackupInfo> CreateBackup(
      const std::string& backup_dir, int keep);
  // The backups in `backup_dir`, oldest first.
  [[nodiscard]] static absl::StatusOr<std::vector<BackupInfo>> ListBackups(
      const std::string& backup_dir);

  // ---- Tables (table.h) ----
  // Where the rows of event kind `kind` live (a Table registers itself), so
  // a request_id retry whose event was trimmed reads the entity's row.
  void RegisterTable(std::string_view kind, CfRef cf, uint8_t tag);

  // ---- Maintenance ----
  // Compacts every column family fully (expired request_id records go, D53)
  // and returns each one's name with its live SST bytes afterwards.
  [[nodiscard]] absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>>
  CompactAll();

  // ---- Disk space ----
  // Free bytes of the data dir's file system at the last check.
  int64_t disk_free_bytes() const {
    return disk_free_.load(std::memory_order_relaxed);
  }

  // ---- For metrics and tests ----
  rocksdb::DB* db() const { return db_.get(); }
  std::shared_ptr<rocksdb::Statistics> statistics() const {
    return statistics_;
  }
  std::vector<std::pair<std::string, rocksdb::ColumnFamilyHandle*>>
  column_families() const;
  Clock* clock() const { return clock_; }

 private:
  friend class WriteTxn;
  struct Pending;

  Store(StoreOptions options, Clock* clock)
      : options_(std::move(options)), clock_(clock) {}
  [[nodiscard]] absl::Status OpenDb(const std::string& dir);
  // Restores backup `id` (0 = newest) of `backup_dir` into `dir`.
  [[nodiscard]] static absl::Status RestoreBackup(const std::string& backup_dir,
                                                  uint32_t id,
                                                  const std::string& dir);
  // Reads the feed position and the epoch; makes a new epoch when
  // `new_epoch` (a created or restored store) or when none is stored.
  [[nodiscard]] absl::Status LoadMeta(bool new_epoch);
  void StartThreads();
  rocksdb::ColumnFamilyHandle* Handle(CfRef cf) const;
  // OK, or RESOURCE_EXHAUSTED when writing `bytes` would leave less than
  // min_free_disk_bytes free.
  [[nodiscard]] absl::Status CheckDiskSpace(size_t bytes);
  // After a write failed because RocksDB stopped (e.g. out of space in a
  // flush): resumes it once space is back. Maintenance thread.
  void TryResume();
  void CommitLoop();
  void CommitGroup(std::vector<std::shared_ptr<Pending>>& group);
  void CompletionLoop();
  void MaintenanceLoop();

  StoreOptions options_;
  Clock* clock_;
  // Drops expired request_id records from the meta column family (D53);
  // outlives db_.
  std::unique_ptr<rocksdb::CompactionFilter> request_filter_;
  // RegisterTable: kind -> (row column family handle, tag).
  std::mutex tables_mu_;
  std::vector<std::tuple<std::string, rocksdb::ColumnFamilyHandle*, uint8_t>>
      tables_;
  std::string dir_;
  std::string epoch_;
  std::atomic<int64_t> disk_free_{0};
  std::atomic<bool> needs_resume_{false};
  std::mutex backup_mu_;  // one backup at a time
  std::shared_ptr<rocksdb::Statistics> statistics_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<std::unique_ptr<rocksdb::ColumnFamilyHandle>>
      handles_;  // default, outbox, meta, audit,
                 // then the service's
  rocksdb::ColumnFamilyHandle* outbox_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* audit_ = nullptr;

  std::atomic<uint64_t> last_sequence_{0};
  std::atomic<uint64_t> first_sequence_{1};
  std::mutex trim_mu_;  // one trim at a time

  // Commit queue.
  std::mutex queue_mu_;
  std::condition_variable queue_cv_;  // the committer's: work or stopping
  std::deque<std::shared_ptr<Pending>> queue_;
  // Used by the committer only.
  std::unique_ptr<rocksdb::WriteBatchWithIndex> commit_batch_ =
      std::make_unique<rocksdb::WriteBatchWithIndex>(
          rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true);
  bool stopping_ = false;
  std::thread committer_;

  // WriteAsync callbacks of committed groups, run by completer_.
  std::mutex completion_mu_;
  std::condition_variable completion_cv_;
  std::vector<std::shared_ptr<Pending>> completions_;
  bool completion_stop_ = false;
  std::thread completer_;

  // Feed waiters.
  mutable std::mutex event_mu_;
  mutable std::condition_variable event_cv_;
  mutable uint64_t wake_generation_ = 0;

  std::thread maintenance_;
  std::mutex maintenance_mu_;
  std::condition_variable maintenance_cv_;
  bool maintenance_stop_ = false;
};

}  // namespace salesops
