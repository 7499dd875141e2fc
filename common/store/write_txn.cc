// WriteTxn: what a transaction function sees and writes on the commit path.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "common/store/key.h"
#include "common/store/store.h"
#include "common/store/store_internal.h"
#include "common/trace/trace.h"

namespace salesops {

using namespace store_internal;  // NOLINT: this file implements the store

namespace {

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
  const int64_t limit = store_->options_.max_entity_bytes;
  if (limit > 0 && static_cast<int64_t>(serialized.size()) > limit &&
      deferred_.ok()) {
    // Refused here, the one place every entity change passes, so no entity
    // can make its feed event or a List page too large to send.
    deferred_ = WithReason(
        absl::InvalidArgumentError(absl::StrCat(
            std::string(kind), " ", std::string(entity_id), ": ",
            serialized.size(), " bytes when stored, more than the maximum of ",
            limit, " (--max_entity_bytes)")),
        "ENTITY_TOO_LARGE");
  }
  const uint64_t sequence = next_sequence_++;
  if (first_emitted_ == 0) {
    first_emitted_ = sequence;
  }
  emitted_.push_back({sequence, state.GetDescriptor(), std::string(kind),
                      std::string(entity_id)});
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
  // The write's trace (Store::Write made it current), so a consumer applying
  // the event continues it (feed.proto Event.traceparent).
  if (const trace::TraceContext* trace = trace::Current()) {
    event.set_traceparent(trace->Traceparent());
    event.set_tracestate(trace->tracestate);
  }
  // Events and audit records go to the batch's WriteBatch past its index
  // (D62): no transaction function reads an audit record, and the one read
  // of an event of this group (ResolveResult) finds it in GroupEvents().
  // A rollback to a save point still removes them (the index is rebuilt
  // from the WriteBatch then, and so covers them from then on).
  std::string stored = event.SerializeAsString();
  rocksdb::WriteBatch* plain = batch_->GetWriteBatch();
  plain->Put(store_->outbox_, EventKey(sequence), stored)
      .PermitUncheckedError();
  GroupEvents().emplace_back(sequence, std::move(stored));

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
  plain
      ->Put(
          store_->audit_,
          KeyBuilder(kAuditRecord).Str(entity_id).Str(kind).U64(sequence).key(),
          record.SerializeAsString())
      .PermitUncheckedError();
  return sequence;
}

absl::StatusOr<std::optional<WriteTxn::RequestRecord>> WriteTxn::GetRequest(
    std::string_view scope, std::string_view request_id) {
  ASSIGN_OR_RETURN(
      std::optional<std::string> raw,
      GetRaw(store_->meta_, RequestKey(Principal(), scope, request_id)));
  if (!raw) {
    return std::nullopt;
  }
  RequestRecord record;
  if (!IsPointerRecord(*raw)) {
    // Made before D53: the whole result, no time; never expires.
    KeyReader reader(*raw);
    if (!reader.Str(&record.fingerprint) || !reader.Str(&record.result) ||
        !reader.Done()) {
      return absl::DataLossError("store: corrupt request_id record");
    }
    record.time = absl::InfinitePast();
    return record;
  }
  KeyReader reader(std::string_view(*raw).substr(kRequestRecordMarker.size()));
  uint64_t time_micros = 0;
  uint64_t sequence = 0;
  std::string kind;
  std::string entity_id;
  if (!reader.U64(&time_micros) || !reader.Str(&record.fingerprint) ||
      !reader.U64(&sequence) || !reader.Str(&kind) || !reader.Str(&entity_id) ||
      !reader.Str(&record.result) || !reader.Done()) {
    return absl::DataLossError("store: corrupt request_id record");
  }
  record.time = absl::FromUnixMicros(static_cast<int64_t>(time_micros));
  const absl::Duration window = store_->options_.request_id_retention;
  if (window > absl::ZeroDuration() && now_ - record.time >= window) {
    return std::nullopt;  // expired: compaction drops it (D53)
  }
  if (sequence != 0) {
    ASSIGN_OR_RETURN(record.result, ResolveResult(sequence, kind, entity_id));
  }
  return record;
}

absl::StatusOr<std::string> WriteTxn::ResolveResult(
    uint64_t sequence, std::string_view kind, std::string_view entity_id) {
  // An event of this group is not in the batch's index (Emit).
  std::optional<std::string> stored;
  const auto& events = GroupEvents();
  auto in_group =
      std::lower_bound(events.begin(), events.end(), sequence,
                       [](const auto& e, uint64_t s) { return e.first < s; });
  if (in_group != events.end() && in_group->first == sequence) {
    stored = in_group->second;
  }
  if (!stored) {
    ASSIGN_OR_RETURN(stored, GetRaw(store_->outbox_, EventKey(sequence)));
  }
  if (stored) {
    v1::Event event;
    if (!event.ParseFromString(*stored) || event.entity_id() != entity_id) {
      return absl::DataLossError("store: request_id record names a bad event");
    }
    return std::move(*event.mutable_payload()->mutable_value());
  }
  // Trimmed by the outbox retention: the entity as it is now.
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  uint8_t tag = 0;
  {
    std::lock_guard<std::mutex> lock(store_->tables_mu_);
    for (const auto& [k, handle, t] : store_->tables_) {
      if (k == kind) {
        cf = handle;
        tag = t;
      }
    }
  }
  std::optional<std::string> row;
  if (cf != nullptr) {
    ASSIGN_OR_RETURN(row, GetRaw(cf, KeyBuilder(tag).Str(entity_id).key()));
  }
  if (!row) {
    return absl::NotFoundError(
        absl::StrCat("request_id: the first result, ", std::string(kind), " ",
                     std::string(entity_id), ", is no longer stored"));
  }
  return std::move(*row);
}

void WriteTxn::PutRequest(std::string_view scope, std::string_view request_id,
                          std::string_view fingerprint,
                          const google::protobuf::Message& result) {
  const Emitted* source = nullptr;
  if (!emitted_.empty()) {
    const google::protobuf::FieldDescriptor* id_field =
        result.GetDescriptor()->FindFieldByName("id");
    if (id_field != nullptr && !id_field->is_repeated() &&
        id_field->cpp_type() ==
            google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
      std::string scratch;
      const std::string& id = result.GetReflection()->GetStringReference(
          result, id_field, &scratch);
      for (const Emitted& e : emitted_) {
        if (e.type == result.GetDescriptor() && e.entity_id == id) {
          source = &e;  // the last one: the state the result was taken from
        }
      }
    }
  }
  KeyBuilder value(0);
  value.U64(static_cast<uint64_t>(absl::ToUnixMicros(now_))).Str(fingerprint);
  if (source != nullptr) {
    value.U64(source->sequence)
        .Str(source->kind)
        .Str(source->entity_id)
        .Str("");
  } else {
    value.U64(0).Str("").Str("").Str(result.SerializeAsString());
  }
  std::string bytes(kRequestRecordMarker);
  bytes.append(value.key(), 1, std::string::npos);
  batch_->Put(store_->meta_, RequestKey(Principal(), scope, request_id), bytes)
      .PermitUncheckedError();
}

std::string_view WriteTxn::Principal() const {
  return actor_->name.empty() ? std::string_view(store_->options_.system_actor)
                              : std::string_view(actor_->name);
}

absl::StatusOr<uint64_t> WriteTxn::GetCursor(std::string_view source) {
  ASSIGN_OR_RETURN(FeedCursor cursor, GetFeedCursor(source));
  return cursor.sequence;
}

void WriteTxn::PutCursor(std::string_view source, uint64_t sequence) {
  batch_
      ->Put(store_->meta_, CursorKey(kMetaCursor, source), EncodeU64(sequence))
      .PermitUncheckedError();
  batch_->Delete(store_->meta_, CursorKey(kMetaCursorFingerprint, source))
      .PermitUncheckedError();
}

absl::StatusOr<FeedCursor> WriteTxn::GetFeedCursor(std::string_view source) {
  FeedCursor cursor;
  ASSIGN_OR_RETURN(std::optional<std::string> seq,
                   GetRaw(store_->meta_, CursorKey(kMetaCursor, source)));
  if (seq) {
    ASSIGN_OR_RETURN(cursor.sequence, DecodeU64(*seq, "feed cursor"));
  }
  ASSIGN_OR_RETURN(std::optional<std::string> epoch,
                   GetRaw(store_->meta_, CursorKey(kMetaCursorEpoch, source)));
  cursor.epoch = epoch.value_or("");
  ASSIGN_OR_RETURN(
      std::optional<std::string> fp,
      GetRaw(store_->meta_, CursorKey(kMetaCursorFingerprint, source)));
  if (fp) {
    ASSIGN_OR_RETURN(cursor.fingerprint, DecodeU64(*fp, "feed fingerprint"));
  }
  return cursor;
}

void WriteTxn::PutFeedCursor(std::string_view source,
                             const FeedCursor& cursor) {
  PutCursor(source, cursor.sequence);
  if (!cursor.epoch.empty()) {
    batch_
        ->Put(store_->meta_, CursorKey(kMetaCursorEpoch, source), cursor.epoch)
        .PermitUncheckedError();
  }
  if (cursor.fingerprint != 0) {
    batch_
        ->Put(store_->meta_, CursorKey(kMetaCursorFingerprint, source),
              EncodeU64(cursor.fingerprint))
        .PermitUncheckedError();
  }
}

uint64_t EventFingerprint(std::string_view stored_event) {
  // 64-bit words through a multiply-xorshift mix (the finalizer of
  // MurmurHash3), then the tail and the length: stable across processes and
  // builds, unlike absl::Hash, and fast enough to run on every event sent.
  auto mix = [](uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
  };
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  size_t i = 0;
  for (; i + 8 <= stored_event.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, stored_event.data() + i, 8);
    h = mix(h ^ word) + 0x9e3779b97f4a7c15ULL;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, stored_event.data() + i, stored_event.size() - i);
  h = mix(h ^ tail ^ (static_cast<uint64_t>(stored_event.size()) << 56));
  return h == 0 ? 1 : h;
}

}  // namespace salesops
