#pragma once

// What store.cc, write_txn.cc, outbox.cc and backup.cc share: the fixed
// column families and the keys of the store's own records. Not for services.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/store/key.h"

namespace rocksdb {
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace salesops::store_internal {

// Fixed column families before the service's own (0 is RocksDB's default,
// unused).
inline constexpr int kOutboxCf = 1;
inline constexpr int kMetaCf = 2;
inline constexpr int kAuditCf = 3;
inline constexpr int kFirstServiceCf = 4;

// RocksDB's max_total_wal_size for every store (Store::OpenDb says why).
inline constexpr uint64_t kMaxTotalWalBytes = uint64_t{128} << 20;

// Tags of the keys in the meta column family.
inline constexpr uint8_t kMetaLastSequence = 1;
inline constexpr uint8_t kMetaFirstSequence = 2;
inline constexpr uint8_t kMetaRequest = 3;
inline constexpr uint8_t kMetaCursor = 4;
inline constexpr uint8_t kMetaEpoch = 5;
inline constexpr uint8_t kMetaCursorEpoch = 6;
inline constexpr uint8_t kMetaCursorFingerprint = 7;
// Tag of outbox keys.
inline constexpr uint8_t kOutboxEvent = 1;
// Tag of audit keys: <tag><entity id><kind><sequence>.
inline constexpr uint8_t kAuditRecord = 1;

inline std::string EventKey(uint64_t sequence) {
  return KeyBuilder(kOutboxEvent).U64(sequence).key();
}
// request_id records are per principal: another caller replaying the same
// request_id makes a request of their own (issue 16, finding 7).
inline std::string RequestKey(std::string_view principal,
                              std::string_view scope,
                              std::string_view request_id) {
  return KeyBuilder(kMetaRequest)
      .Str(principal)
      .Str(scope)
      .Str(request_id)
      .key();
}
// A request_id record's value since D53 starts with these two bytes, which a
// record made before (Str(fingerprint) Str(result): a 0x00 byte is always
// followed by 0xFF or 0x01) never holds at any position. Then: U64 commit
// time (micros), Str fingerprint, U64 sequence of the result's event (0 =
// the result is stored whole), Str kind, Str entity id, Str result.
inline constexpr std::string_view kRequestRecordMarker("\x00\x02", 2);
inline bool IsPointerRecord(std::string_view value) {
  return value.substr(0, kRequestRecordMarker.size()) == kRequestRecordMarker;
}
// The commit time of a D53 record (false when `value` is no such record).
inline bool RequestRecordMicros(std::string_view value, uint64_t* micros) {
  if (!IsPointerRecord(value)) {
    return false;
  }
  KeyReader reader(value.substr(kRequestRecordMarker.size()));
  return reader.U64(micros);
}

// The outbox events of the group the calling committer thread is committing,
// (sequence, stored bytes) in sequence order. WriteTxn::Emit writes events
// past the batch's index (D62), so WriteTxn::ResolveResult looks here for an
// event of the current group; Store::CommitGroup clears it per group and
// drops the events of a function it rolls back. Per thread: a committer
// thread commits for one store only, and nothing else touches it.
std::vector<std::pair<uint64_t, std::string>>& GroupEvents();

// Copies the Puts and Deletes of `in` into `out` ordered by column family
// and key; the writes of one key keep their order, so what the group leaves
// in the database is the same. RocksDB's memtable inserts a run of ordered
// keys far cheaper than the same keys in the order the transaction
// functions wrote them (D62). `by_id[i]` is the handle of column family id i.
// False (and `out` unspecified) when `in` holds any other kind of record or
// a column family `by_id` does not name: write `in` as it is then.
bool SortForInsert(const rocksdb::WriteBatch& in,
                   const std::vector<rocksdb::ColumnFamilyHandle*>& by_id,
                   rocksdb::WriteBatch* out);

inline std::string CursorKey(uint8_t tag, std::string_view source) {
  return KeyBuilder(tag).Str(source).key();
}
inline std::string EncodeU64(uint64_t v) {
  return KeyBuilder(0).U64(v).key().substr(1);
}
[[nodiscard]] inline absl::StatusOr<uint64_t> DecodeU64(std::string_view bytes,
                                                        std::string_view what) {
  uint64_t v = 0;
  KeyReader reader(bytes);
  if (!reader.U64(&v) || !reader.Done()) {
    return absl::DataLossError(
        std::string("store: corrupt ").append(what.data(), what.size()));
  }
  return v;
}

}  // namespace salesops::store_internal
