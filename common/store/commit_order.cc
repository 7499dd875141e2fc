// The order a group's writes reach the memtables in (D62).

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/store/store_internal.h"

namespace salesops::store_internal {
namespace {

struct Entry {
  uint32_t cf;
  uint32_t position;  // in the batch: keeps the writes of one key in order
  rocksdb::Slice key;
  rocksdb::Slice value;
  bool del;
};

// Collects a batch's Puts and Deletes. Any other record falls to the
// Handler's defaults, which either fail or do not collect it: SortForInsert
// then sees fewer entries than the batch counts and gives up.
class Collector : public rocksdb::WriteBatch::Handler {
 public:
  explicit Collector(std::vector<Entry>* entries) : entries_(entries) {}
  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    entries_->push_back({cf, Next(), key, value, false});
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice& key) override {
    entries_->push_back({cf, Next(), key, rocksdb::Slice(), true});
    return rocksdb::Status::OK();
  }

 private:
  uint32_t Next() { return static_cast<uint32_t>(entries_->size()); }
  std::vector<Entry>* entries_;
};

bool Before(const Entry& a, const Entry& b) {
  if (a.cf != b.cf) {
    return a.cf < b.cf;
  }
  const int c = a.key.compare(b.key);
  return c != 0 ? c < 0 : a.position < b.position;
}

}  // namespace

bool SortForInsert(const rocksdb::WriteBatch& in,
                   const std::vector<rocksdb::ColumnFamilyHandle*>& by_id,
                   rocksdb::WriteBatch* out) {
  // Reused by the committer thread from group to group.
  thread_local std::vector<Entry> entries;
  entries.clear();
  Collector collector(&entries);
  if (!in.Iterate(&collector).ok() || entries.size() != in.Count()) {
    return false;
  }
  for (const Entry& e : entries) {
    if (e.cf >= by_id.size() || by_id[e.cf] == nullptr) {
      return false;
    }
  }
  std::sort(entries.begin(), entries.end(), Before);
  out->Clear();
  for (const Entry& e : entries) {
    const rocksdb::Status s = e.del ? out->Delete(by_id[e.cf], e.key)
                                    : out->Put(by_id[e.cf], e.key, e.value);
    if (!s.ok()) {
      return false;
    }
  }
  return true;
}

}  // namespace salesops::store_internal
