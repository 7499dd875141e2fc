// ForecastStore: the view snapshots' records (forecast_store.h, tags 12–15;
// D55).

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "common/store/key.h"
#include "services/forecast/forecast_store.h"

namespace salesops::forecast {
namespace {

constexpr CfRef kView(Cf::kView);

constexpr uint8_t kPreImageTag = 12;
constexpr uint8_t kStaleTag = 13;
constexpr uint8_t kChunkTag = 14;
constexpr uint8_t kHeadTag = 15;

// A pre-image's value: 'R' and the record, or 'A' when the deal was absent.
constexpr char kRecord = 'R';
constexpr char kAbsent = 'A';

std::string Prefix(uint8_t tag) { return KeyBuilder(tag).key(); }
std::string GenKey(uint8_t tag, uint64_t g) {
  return KeyBuilder(tag).U64(g).key();
}

std::string EncodeHead(const ForecastStore::SnapshotHead& h) {
  return KeyBuilder(1).U64(h.generation).U32(h.chunks).U64(h.bytes).key();
}
bool DecodeHead(std::string_view v, ForecastStore::SnapshotHead* h) {
  KeyReader r(v);
  uint8_t version = 0;
  return r.Tag(&version) && version == 1 && r.U64(&h->generation) &&
         r.U32(&h->chunks) && r.U64(&h->bytes) && r.Done();
}

// The generation a key of `tag` names.
bool GenOf(std::string_view key, uint64_t* g) {
  KeyReader r(key);
  uint8_t tag = 0;
  return r.Tag(&tag) && r.U64(g);
}

absl::Status RocksStatus(const rocksdb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::InternalError(
      absl::StrCat("forecast view snapshot: ", s.ToString()));
}

// Cf::kView's handle. Snapshots are written beside the commit thread (D58),
// straight to RocksDB.
rocksdb::ColumnFamilyHandle* ViewHandle(const Store& store) {
  const std::string& name = ColumnFamilies()[static_cast<int>(Cf::kView)];
  for (const auto& [n, handle] : store.column_families()) {
    if (n == name) return handle;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<bool> ForecastStore::NotePreImage(WriteTxn& txn,
                                                 uint64_t generation,
                                                 const std::string& id,
                                                 const OppRecord* before) {
  const std::string key =
      KeyBuilder(kPreImageTag).U64(generation).Str(id).key();
  if (before != nullptr) {
    ASSIGN_OR_RETURN(std::optional<std::string> held, txn.Get(kView, key));
    if (held) {
      return false;
    }
  }
  std::string value(1, before ? kRecord : kAbsent);
  if (before) {
    value += before->SerializeAsString();
  }
  txn.Put(kView, key, value);
  return true;
}

void ForecastStore::MarkStale(WriteTxn& txn, uint64_t generation) {
  txn.Put(kView, GenKey(kStaleTag, generation), "");
}

absl::Status ForecastStore::WriteSnapshot(
    uint64_t generation, std::string_view bytes, size_t chunk_bytes,
    const std::function<void(uint32_t index)>& before_chunk) const {
  rocksdb::ColumnFamilyHandle* cf = ViewHandle(*store_);
  if (cf == nullptr) {
    return absl::InternalError("forecast view: no view column family");
  }
  rocksdb::WriteOptions unsynced;
  unsynced.low_pri = true;
  uint32_t chunks = 0;
  chunk_bytes = std::max<size_t>(chunk_bytes, 1);
  for (size_t at = 0; at < bytes.size() || chunks == 0; at += chunk_bytes) {
    if (before_chunk) before_chunk(chunks);
    rocksdb::WriteBatch batch;
    const std::string key =
        KeyBuilder(kChunkTag).U64(generation).U32(chunks).key();
    const std::string_view part = bytes.substr(at, chunk_bytes);
    RETURN_IF_ERROR(RocksStatus(
        batch.Put(cf, key, rocksdb::Slice(part.data(), part.size()))));
    RETURN_IF_ERROR(RocksStatus(store_->db()->Write(unsynced, &batch)));
    ++chunks;
  }
  const SnapshotHead head{generation, chunks, bytes.size()};
  rocksdb::WriteOptions synced;
  synced.sync = true;
  return RocksStatus(
      store_->db()->Put(synced, cf, Prefix(kHeadTag), EncodeHead(head)));
}

absl::Status ForecastStore::DropBefore(uint64_t generation) const {
  rocksdb::ColumnFamilyHandle* cf = ViewHandle(*store_);
  if (cf == nullptr) {
    return absl::InternalError("forecast view: no view column family");
  }
  rocksdb::WriteBatch batch;
  for (uint8_t tag : {kPreImageTag, kStaleTag, kChunkTag}) {
    RETURN_IF_ERROR(RocksStatus(
        batch.DeleteRange(cf, Prefix(tag), GenKey(tag, generation))));
  }
  rocksdb::WriteOptions unsynced;
  unsynced.low_pri = true;
  return RocksStatus(store_->db()->Write(unsynced, &batch));
}

absl::StatusOr<std::optional<ForecastStore::SnapshotHead>>
ForecastStore::ReadSnapshotHead() const {
  ASSIGN_OR_RETURN(std::optional<std::string> raw,
                   store_->Get(kView, Prefix(kHeadTag)));
  if (!raw) {
    return std::nullopt;
  }
  SnapshotHead h;
  if (!DecodeHead(*raw, &h)) {
    return absl::DataLossError("forecast view: corrupt snapshot head");
  }
  return h;
}

absl::StatusOr<std::string> ForecastStore::ReadSnapshot(
    const SnapshotHead& head) const {
  std::string bytes;
  bytes.reserve(head.bytes);
  uint32_t next = 0;
  const std::string prefix = GenKey(kChunkTag, head.generation);
  RETURN_IF_ERROR(
      store_->Scan(kView, prefix, PrefixSuccessor(prefix),
                   [&](std::string_view key, std::string_view value) {
                     KeyReader r(key);
                     uint8_t tag = 0;
                     uint64_t g = 0;
                     uint32_t index = 0;
                     if (!r.Tag(&tag) || !r.U64(&g) || !r.U32(&index) ||
                         index != next || index >= head.chunks) {
                       return false;
                     }
                     ++next;
                     bytes.append(value.data(), value.size());
                     return true;
                   }));
  if (next != head.chunks || bytes.size() != head.bytes) {
    return absl::DataLossError(absl::StrCat(
        "forecast view: snapshot ", head.generation, " has ", next, " of ",
        head.chunks, " chunks, ", bytes.size(), " of ", head.bytes, " bytes"));
  }
  return bytes;
}

absl::StatusOr<bool> ForecastStore::StaleSince(uint64_t from) const {
  bool stale = false;
  RETURN_IF_ERROR(store_->Scan(kView, GenKey(kStaleTag, from),
                               PrefixSuccessor(Prefix(kStaleTag)),
                               [&](std::string_view, std::string_view) {
                                 stale = true;
                                 return false;
                               }));
  return stale;
}

absl::Status ForecastStore::ScanPreImages(uint64_t from,
                                          const PreImageFn& visit) const {
  absl::Status error;
  OppRecord record;
  RETURN_IF_ERROR(store_->Scan(
      kView, GenKey(kPreImageTag, from), PrefixSuccessor(Prefix(kPreImageTag)),
      [&](std::string_view key, std::string_view value) {
        KeyReader r(key);
        uint8_t tag = 0;
        uint64_t g = 0;
        std::string id;
        const bool has = !value.empty() && value[0] == kRecord;
        if (!r.Tag(&tag) || !r.U64(&g) || !r.Str(&id) || value.empty() ||
            (has &&
             !record.ParseFromArray(value.data() + 1,
                                    static_cast<int>(value.size() - 1)))) {
          error = absl::DataLossError("forecast view: corrupt pre-image");
          return false;
        }
        error = visit(g, id, has ? &record : nullptr);
        return error.ok();
      }));
  return error;
}

absl::StatusOr<uint64_t> ForecastStore::LastGeneration() const {
  uint64_t last = 0;
  ASSIGN_OR_RETURN(std::optional<SnapshotHead> head, ReadSnapshotHead());
  if (head) last = head->generation;
  for (uint8_t tag : {kPreImageTag, kStaleTag}) {
    const std::string prefix = Prefix(tag);
    RETURN_IF_ERROR(store_->Scan(kView, prefix, PrefixSuccessor(prefix),
                                 [&](std::string_view key, std::string_view) {
                                   uint64_t g = 0;
                                   if (GenOf(key, &g) && g > last) last = g;
                                   return true;
                                 }));
  }
  return last;
}

}  // namespace salesops::forecast
