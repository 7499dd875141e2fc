#include "common/store/store.h"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/message_differencer.h>
#include <pthread.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status.h"
#include "common/store/key.h"

namespace salesops {
namespace {

// Fixed column families before the service's own (0 is RocksDB's default,
// unused).
constexpr int kOutboxCf = 1;
constexpr int kMetaCf = 2;
constexpr int kAuditCf = 3;
constexpr int kFirstServiceCf = 4;

// Tags of the keys in the meta column family.
constexpr uint8_t kMetaLastSequence = 1;
constexpr uint8_t kMetaFirstSequence = 2;
constexpr uint8_t kMetaRequest = 3;
constexpr uint8_t kMetaCursor = 4;
// Tag of outbox keys.
constexpr uint8_t kOutboxEvent = 1;
// Tag of audit keys: <tag><entity id><kind><sequence>.
constexpr uint8_t kAuditRecord = 1;

std::string EventKey(uint64_t sequence) {
  return KeyBuilder(kOutboxEvent).U64(sequence).key();
}
std::string RequestKey(std::string_view scope, std::string_view request_id) {
  return KeyBuilder(kMetaRequest).Str(scope).Str(request_id).key();
}
std::string CursorKey(std::string_view source) {
  return KeyBuilder(kMetaCursor).Str(source).key();
}
std::string AuditPrefix(std::string_view entity_id) {
  return KeyBuilder(kAuditRecord).Str(entity_id).key();
}
std::string AuditPrefix(std::string_view entity_id, std::string_view kind) {
  return KeyBuilder(kAuditRecord).Str(entity_id).Str(kind).key();
}
std::string EncodeU64(uint64_t v) {
  return KeyBuilder(0).U64(v).key().substr(1);
}
absl::StatusOr<uint64_t> DecodeU64(std::string_view bytes,
                                   std::string_view what) {
  uint64_t v = 0;
  KeyReader reader(bytes);
  if (!reader.U64(&v) || !reader.Done()) {
    return absl::DataLossError(
        absl::StrCat("store: corrupt ", std::string(what)));
  }
  return v;
}

rocksdb::ColumnFamilyOptions CfOptions() {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_cache = rocksdb::NewLRUCache(32 << 20);
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.compression = rocksdb::kNoCompression;
  return cf;
}

// The `int64 version` of an entity message; 0 when it has none.
int64_t VersionOf(const google::protobuf::Message& m) {
  const google::protobuf::FieldDescriptor* f =
      m.GetDescriptor()->FindFieldByName("version");
  if (f == nullptr || f->is_repeated() ||
      f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_INT64) {
    return 0;
  }
  return m.GetReflection()->GetInt64(m, f);
}

// Collects the top-level fields a comparison found different.
class ChangedFields
    : public google::protobuf::util::MessageDifferencer::Reporter {
 public:
  using Path =
      std::vector<google::protobuf::util::MessageDifferencer::SpecificField>;
  void ReportAdded(const google::protobuf::Message&,
                   const google::protobuf::Message&, const Path& p) override {
    Add(p);
  }
  void ReportDeleted(const google::protobuf::Message&,
                     const google::protobuf::Message&, const Path& p) override {
    Add(p);
  }
  void ReportModified(const google::protobuf::Message&,
                      const google::protobuf::Message&,
                      const Path& p) override {
    Add(p);
  }
  // In field-number order, without `version`.
  std::vector<const google::protobuf::FieldDescriptor*> Sorted() const {
    std::vector<const google::protobuf::FieldDescriptor*> out(fields_.begin(),
                                                              fields_.end());
    std::sort(out.begin(), out.end(),
              [](auto* a, auto* b) { return a->number() < b->number(); });
    return out;
  }

 private:
  void Add(const Path& p) {
    // Unknown fields (no descriptor) cannot be named; entity messages have
    // none.
    if (!p.empty() && p.front().field != nullptr &&
        p.front().field->name() != "version") {
      fields_.insert(p.front().field);
    }
  }
  std::set<const google::protobuf::FieldDescriptor*> fields_;
};

}  // namespace

struct Store::Pending {
  Actor actor;
  TxnFn fn;
  DoneFn on_done;                   // WriteAsync; empty for Write
  bool done = false;                // guarded by queue_mu_
  std::condition_variable done_cv;  // its caller waits on this alone
  absl::StatusOr<CommitResult> result =
      absl::UnavailableError("store: not committed");
};

// ---------------------------------------------------------------------------------------------
// WriteTxn

absl::StatusOr<std::optional<std::string>> WriteTxn::GetRaw(
    rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
  std::string value;
  rocksdb::Status s =
      batch_->GetFromBatchAndDB(store_->db_.get(), rocksdb::ReadOptions(), cf,
                                rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) {
    return std::nullopt;
  }
  RETURN_IF_ERROR(FromRocks(s));
  return value;
}

absl::StatusOr<std::optional<std::string>> WriteTxn::Get(CfRef cf,
                                                         std::string_view key) {
  return GetRaw(store_->Handle(cf), key);
}

absl::Status WriteTxn::Scan(CfRef cf, std::string_view start,
                            std::string_view end, const Visitor& visit) {
  rocksdb::ColumnFamilyHandle* handle = store_->Handle(cf);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end.data(), end.size());
  if (!end.empty()) {
    ro.iterate_upper_bound = &upper;
  }
  // The batch's own writes merged over the committed state (overwrite_key
  // batches only, which ours are).
  std::unique_ptr<rocksdb::Iterator> it(batch_->NewIteratorWithBase(
      handle, store_->db_->NewIterator(ro, handle), &ro));
  for (it->Seek(rocksdb::Slice(start.data(), start.size())); it->Valid();
       it->Next()) {
    if (!end.empty() &&
        std::string_view(it->key().data(), it->key().size()) >= end) {
      break;  // the batch's part of the iterator ignores the upper bound
    }
    if (!visit(std::string_view(it->key().data(), it->key().size()),
               std::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocks(it->status());
}

void WriteTxn::Put(CfRef cf, std::string_view key, std::string_view value) {
  // WriteBatchWithIndex::Put only fails for oversized keys/values (> 4 GiB);
  // not reachable with protobuf-sized values.
  batch_
      ->Put(store_->Handle(cf), rocksdb::Slice(key.data(), key.size()),
            rocksdb::Slice(value.data(), value.size()))
      .PermitUncheckedError();
}

void WriteTxn::Delete(CfRef cf, std::string_view key) {
  batch_->Delete(store_->Handle(cf), rocksdb::Slice(key.data(), key.size()))
      .PermitUncheckedError();
}

uint64_t WriteTxn::Emit(std::string_view kind, std::string_view entity_id,
                        const google::protobuf::Message& state,
                        const google::protobuf::Message* before) {
  return Emit(kind, entity_id, state, state.SerializeAsString(), before);
}

uint64_t WriteTxn::Emit(std::string_view kind, std::string_view entity_id,
                        const google::protobuf::Message& state,
                        std::string serialized,
                        const google::protobuf::Message* before) {
  const uint64_t sequence = next_sequence_++;
  if (first_emitted_ == 0) {
    first_emitted_ = sequence;
  }
  v1::Event event;
  event.set_sequence(sequence);
  event.set_kind(std::string(kind));
  event.set_entity_id(std::string(entity_id));
  event.set_time_micros(absl::ToUnixMicros(now_));
  // What Any::PackFrom(state) stores, without serializing state again.
  google::protobuf::Any* payload = event.mutable_payload();
  payload->set_type_url(
      absl::StrCat("type.googleapis.com/", state.GetDescriptor()->full_name()));
  payload->set_value(std::move(serialized));
  batch_->Put(store_->outbox_, EventKey(sequence), event.SerializeAsString())
      .PermitUncheckedError();

  v1::AuditRecord record;
  record.set_sequence(sequence);
  record.set_time_micros(event.time_micros());
  record.set_actor(actor_->name.empty() ? store_->options_.system_actor
                                        : actor_->name);
  record.set_actor_role(actor_->role);
  record.set_method(actor_->method);
  record.set_kind(std::string(kind));
  record.set_entity_id(std::string(entity_id));
  record.set_after_version(VersionOf(state));
  if (before != nullptr) {
    record.set_before_version(VersionOf(*before));
    ChangedFields changed;
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesTo(&changed);
    differ.Compare(*before, state);
    for (const google::protobuf::FieldDescriptor* f : changed.Sorted()) {
      record.add_changed_fields(f->name());
    }
  }
  batch_
      ->Put(
          store_->audit_,
          KeyBuilder(kAuditRecord).Str(entity_id).Str(kind).U64(sequence).key(),
          record.SerializeAsString())
      .PermitUncheckedError();
  return sequence;
}

absl::StatusOr<std::optional<WriteTxn::RequestRecord>> WriteTxn::GetRequest(
    std::string_view scope, std::string_view request_id) {
  ASSIGN_OR_RETURN(std::optional<std::string> raw,
                   GetRaw(store_->meta_, RequestKey(scope, request_id)));
  if (!raw) {
    return std::nullopt;
  }
  // Stored as two length-free key components: fingerprint, result.
  KeyReader reader(*raw);
  RequestRecord record;
  if (!reader.Str(&record.fingerprint) || !reader.Str(&record.result) ||
      !reader.Done()) {
    return absl::DataLossError("store: corrupt request_id record");
  }
  return record;
}

void WriteTxn::PutRequest(std::string_view scope, std::string_view request_id,
                          const RequestRecord& record) {
  std::string value =
      KeyBuilder(0).Str(record.fingerprint).Str(record.result).key().substr(1);
  batch_->Put(store_->meta_, RequestKey(scope, request_id), value)
      .PermitUncheckedError();
}

absl::StatusOr<uint64_t> WriteTxn::GetCursor(std::string_view source) {
  ASSIGN_OR_RETURN(std::optional<std::string> raw,
                   GetRaw(store_->meta_, CursorKey(source)));
  if (!raw) {
    return 0;
  }
  return DecodeU64(*raw, "feed cursor");
}

void WriteTxn::PutCursor(std::string_view source, uint64_t sequence) {
  batch_->Put(store_->meta_, CursorKey(source), EncodeU64(sequence))
      .PermitUncheckedError();
}

// ---------------------------------------------------------------------------------------------
// Store: open and close

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir,
                                                   StoreOptions options) {
  if (options.max_group_size < 1) {
    return absl::InvalidArgumentError("store: max_group_size must be >= 1");
  }
  if (options.outbox_retention > absl::ZeroDuration() &&
      options.maintenance_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "store: maintenance_interval must be > 0 when retention is on");
  }
  Clock* clock = options.clock != nullptr ? options.clock : Clock::Real();
  std::unique_ptr<Store> store(new Store(std::move(options), clock));

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  store->statistics_ = rocksdb::CreateDBStatistics();
  store->statistics_->set_stats_level(rocksdb::StatsLevel::kExceptTimeForMutex);
  db_options.statistics = store->statistics_;

  std::vector<std::string> names = {rocksdb::kDefaultColumnFamilyName, "outbox",
                                    "meta", "audit"};
  for (const std::string& name : store->options_.column_families) {
    for (const std::string& existing : names) {
      if (existing == name) {
        return absl::InvalidArgumentError(absl::StrCat(
            "store: column family \"", name, "\" named twice or reserved"));
      }
    }
    names.push_back(name);
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) {
    descriptors.emplace_back(name, CfOptions());
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
  store->db_.reset(raw_db);
  for (rocksdb::ColumnFamilyHandle* h : raw_handles) {
    store->handles_.emplace_back(h);
  }
  store->outbox_ = store->handles_[kOutboxCf].get();
  store->meta_ = store->handles_[kMetaCf].get();
  store->audit_ = store->handles_[kAuditCf].get();

  // Recover the feed position.
  std::string value;
  s = store->db_->Get(rocksdb::ReadOptions(), store->meta_,
                      KeyBuilder(kMetaLastSequence).key(), &value);
  if (s.ok()) {
    ASSIGN_OR_RETURN(uint64_t last, DecodeU64(value, "last sequence"));
    store->last_sequence_.store(last);
  } else if (!s.IsNotFound()) {
    return FromRocks(s);
  }
  s = store->db_->Get(rocksdb::ReadOptions(), store->meta_,
                      KeyBuilder(kMetaFirstSequence).key(), &value);
  if (s.ok()) {
    ASSIGN_OR_RETURN(uint64_t first, DecodeU64(value, "first sequence"));
    store->first_sequence_.store(first);
  } else if (!s.IsNotFound()) {
    return FromRocks(s);
  }

  store->committer_ = std::thread([raw = store.get()] { raw->CommitLoop(); });
  store->completer_ =
      std::thread([raw = store.get()] { raw->CompletionLoop(); });
  store->maintenance_ =
      std::thread([raw = store.get()] { raw->MaintenanceLoop(); });
  log::Info("store opened", {{"dir", dir},
                             {"last_sequence", store->last_sequence()},
                             {"first_sequence", store->first_sequence()}});
  return store;
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
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), meta_, CursorKey(source), &value);
  if (s.IsNotFound()) {
    return 0;
  }
  RETURN_IF_ERROR(FromRocks(s));
  return DecodeU64(value, "feed cursor");
}

// ---------------------------------------------------------------------------------------------
// The commit path

absl::StatusOr<CommitResult> Store::Write(Actor actor, TxnFn fn) {
  auto pending = std::make_shared<Pending>();
  pending->actor = std::move(actor);
  pending->fn = std::move(fn);
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
  const uint64_t group_first = last_sequence() + 1;
  uint64_t next = group_first;
  const absl::Time now = clock_->Now();
  std::vector<bool> ok(group.size(), false);

  for (size_t i = 0; i < group.size(); ++i) {
    batch.SetSavePoint();
    WriteTxn txn(this, &batch, next, now, &group[i]->actor);
    absl::Status status = group[i]->fn(txn);
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
    batch.Put(meta_, KeyBuilder(kMetaLastSequence).key(), EncodeU64(next - 1))
        .PermitUncheckedError();
  }
  if (batch.GetWriteBatch()->Count() == 0) {
    return;
  }

  rocksdb::WriteOptions wo;
  wo.sync = options_.sync_writes;
  absl::Status written = FromRocks(db_->Write(wo, batch.GetWriteBatch()));
  if (!written.ok()) {
    log::Error("store: group commit failed", {{"error", written.ToString()}});
    for (size_t i = 0; i < group.size(); ++i) {
      if (ok[i]) {
        group[i]->result = written;
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
  for (it->Seek(start); it->Valid() && count < max_events;
       it->Next(), ++count) {
    v1::Event event;
    if (!event.ParseFromArray(it->value().data(),
                              static_cast<int>(it->value().size()))) {
      return absl::DataLossError("store: corrupt outbox event");
    }
    if (!visit(event)) {
      break;
    }
  }
  return FromRocks(it->status());
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
  if (options_.outbox_retention <= absl::ZeroDuration()) {
    return;
  }
  std::unique_lock<std::mutex> lock(maintenance_mu_);
  while (true) {
    if (maintenance_cv_.wait_for(
            lock, absl::ToChronoNanoseconds(options_.maintenance_interval),
            [&] { return maintenance_stop_; })) {
      return;
    }
    absl::Status s =
        TrimOutboxBefore(clock_->Now() - options_.outbox_retention);
    if (!s.ok()) {
      log::Warn("store: outbox retention failed", {{"error", s.ToString()}});
    }
  }
}

}  // namespace salesops
