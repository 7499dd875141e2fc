#include "common/metrics/rocksdb_collector.h"

#include <cstdint>

#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"
#include "rocksdb/db.h"
#include "rocksdb/statistics.h"

namespace salesops {
namespace {

struct CfProperty {
  const char* property;
  const char* metric;
  const char* help;
};

constexpr CfProperty kCfProperties[] = {
    {"rocksdb.estimate-num-keys", "salesops_rocksdb_estimated_keys",
     "Estimated number of keys in the column family (RocksDB "
     "rocksdb.estimate-num-keys)."},
    {"rocksdb.live-sst-files-size", "salesops_rocksdb_live_sst_bytes",
     "Total size in bytes of the live SST files of the column family."},
    {"rocksdb.estimate-pending-compaction-bytes",
     "salesops_rocksdb_pending_compaction_bytes",
     "Estimated bytes compaction must rewrite to bring every level under its "
     "target size."},
    {"rocksdb.cur-size-all-mem-tables", "salesops_rocksdb_memtable_bytes",
     "Approximate size in bytes of the active and unflushed immutable "
     "memtables of the column family."},
};

prometheus::MetricFamily Family(const char* name, const char* help,
                                prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  return f;
}

}  // namespace

RocksDbCollector::RocksDbCollector(
    rocksdb::DB* db,
    std::vector<std::pair<std::string, rocksdb::ColumnFamilyHandle*>>
        column_families,
    std::shared_ptr<rocksdb::Statistics> statistics)
    : db_(db),
      column_families_(std::move(column_families)),
      statistics_(std::move(statistics)) {}

void RocksDbCollector::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  db_ = nullptr;
}

std::vector<prometheus::MetricFamily> RocksDbCollector::Collect() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<prometheus::MetricFamily> out;
  if (db_ == nullptr) {
    return out;
  }
  for (const CfProperty& p : kCfProperties) {
    prometheus::MetricFamily f =
        Family(p.metric, p.help, prometheus::MetricType::Gauge);
    for (const auto& [name, handle] : column_families_) {
      uint64_t value = 0;
      // GetIntProperty takes the DB mutex briefly; it is safe during writes.
      if (!db_->GetIntProperty(handle, p.property, &value)) {
        continue;
      }
      prometheus::ClientMetric m;
      m.label.push_back({"cf", name});
      m.gauge.value = static_cast<double>(value);
      f.metric.push_back(std::move(m));
    }
    out.push_back(std::move(f));
  }

  prometheus::MetricFamily stall =
      Family("salesops_rocksdb_write_stall_seconds_total",
             "Seconds writers spent stalled or stopped by RocksDB write "
             "throttling (ticker rocksdb.stall.micros / 1e6; 0 when "
             "statistics are off).",
             prometheus::MetricType::Counter);
  prometheus::ClientMetric stall_metric;
  stall_metric.counter.value =
      statistics_ == nullptr ? 0.0
                             : static_cast<double>(statistics_->getTickerCount(
                                   rocksdb::STALL_MICROS)) /
                                   1e6;
  stall.metric.push_back(std::move(stall_metric));
  out.push_back(std::move(stall));

  prometheus::MetricFamily stopped =
      Family("salesops_rocksdb_write_stopped",
             "1 while RocksDB stops all writes (rocksdb.is-write-stopped), "
             "else 0.",
             prometheus::MetricType::Gauge);
  uint64_t is_stopped = 0;
  if (db_->GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped,
                          &is_stopped)) {
    prometheus::ClientMetric m;
    m.gauge.value = static_cast<double>(is_stopped);
    stopped.metric.push_back(std::move(m));
  }
  out.push_back(std::move(stopped));

  // A family without samples says nothing; leave it out of the page.
  std::vector<prometheus::MetricFamily> nonempty;
  for (auto& f : out) {
    if (!f.metric.empty()) {
      nonempty.push_back(std::move(f));
    }
  }
  return nonempty;
}

}  // namespace salesops
