#pragma once

// RocksDB statistics as Prometheus metrics, read at scrape time
// (ARCHITECTURE.md §5, SPEC §8).
//
// Per column family (label `cf`), gauges:
//   salesops_rocksdb_estimated_keys: rocksdb.estimate-num-keys (an estimate).
//   salesops_rocksdb_live_sst_bytes: rocksdb.live-sst-files-size.
//   salesops_rocksdb_pending_compaction_bytes:
//       rocksdb.estimate-pending-compaction-bytes.
//   salesops_rocksdb_memtable_bytes: rocksdb.cur-size-all-mem-tables.
// Database-wide:
//   salesops_rocksdb_write_stall_seconds_total: counter, ticker STALL_MICROS
//       / 1e6 (seconds writers were stalled, in base units; 0 without a
//       Statistics object).
//   salesops_rocksdb_write_stopped: gauge, rocksdb.is-write-stopped (0 or 1).
// A property RocksDB cannot answer is left out of the scrape rather than
// reported as 0.
//
// Lifetime: the collector reads a raw rocksdb::DB*. The owner holds it in a
// shared_ptr, registers it with Metrics::RegisterCollectable (which keeps a
// weak_ptr), and before closing the DB calls Metrics::UnregisterCollectable or
// Detach(); after either returns no scrape touches the DB.

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "prometheus/collectable.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class Statistics;
}  // namespace rocksdb

namespace salesops {

class RocksDbCollector : public prometheus::Collectable {
 public:
  // `column_families`: (name for the `cf` label, handle) pairs; handles are not
  // owned and must stay valid as long as `db`. `statistics` may be null.
  RocksDbCollector(
      rocksdb::DB* db,
      std::vector<std::pair<std::string, rocksdb::ColumnFamilyHandle*>>
          column_families,
      std::shared_ptr<rocksdb::Statistics> statistics);

  // Thread-safe; safe to run concurrently with reads and writes of the DB.
  std::vector<prometheus::MetricFamily> Collect() const override;

  // Stops reading the DB: later Collects return nothing. Waits for a running
  // Collect.
  void Detach();

 private:
  mutable std::mutex mu_;  // held across Collect so that Detach waits for it
  rocksdb::DB* db_;        // null after Detach
  std::vector<std::pair<std::string, rocksdb::ColumnFamilyHandle*>>
      column_families_;
  std::shared_ptr<rocksdb::Statistics> statistics_;
};

}  // namespace salesops
