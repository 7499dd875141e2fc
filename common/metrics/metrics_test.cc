#include "common/metrics/metrics.h"

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/metrics/rocksdb_collector.h"
#include "common/metrics/testing/scrape.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/statistics.h"

namespace salesops {
namespace {

using ::salesops::testing::FindSample;
using ::salesops::testing::HttpGet;
using ::salesops::testing::ParseTextPage;
using ::salesops::testing::PromtoolCheck;
using ::salesops::testing::Sample;
using ::testing::HasSubstr;

// A real RocksDB with the column families "default" and "entities" in a fresh
// temp dir.
class TestDb {
 public:
  explicit TestDb(bool with_statistics) {
    std::string tmpl = ::testing::TempDir() + "metrics_test_XXXXXX";
    dir_ = mkdtemp(tmpl.data());
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    if (with_statistics) {
      statistics_ = rocksdb::CreateDBStatistics();
      options.statistics = statistics_;
    }
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
        {"entities", rocksdb::ColumnFamilyOptions()}};
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, dir_, cfs, &handles_, &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(db);
  }
  ~TestDb() {
    for (auto* h : handles_) {
      (void)db_->DestroyColumnFamilyHandle(h);
    }
    (void)db_->Close();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  rocksdb::DB* db() { return db_.get(); }
  const std::vector<rocksdb::ColumnFamilyHandle*>& handles() {
    return handles_;
  }
  std::shared_ptr<rocksdb::Statistics> statistics() { return statistics_; }

  std::shared_ptr<RocksDbCollector> MakeCollector() {
    return std::make_shared<RocksDbCollector>(
        db(),
        std::vector<std::pair<std::string, rocksdb::ColumnFamilyHandle*>>{
            {"default", handles_[0]}, {"entities", handles_[1]}},
        statistics_);
  }

  // Writes `n` keys into each column family and flushes them to SST files.
  void WriteAndFlush(int n) {
    for (auto* h : handles_) {
      for (int i = 0; i < n; ++i) {
        ASSERT_TRUE(db_->Put(rocksdb::WriteOptions(), h, absl::StrCat("key", i),
                             std::string(100, 'v'))
                        .ok());
      }
    }
    ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions(), handles_).ok());
  }

 private:
  std::string dir_;
  std::shared_ptr<rocksdb::Statistics> statistics_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

std::vector<Sample> ParseOrDie(const std::string& page) {
  absl::StatusOr<std::vector<Sample>> samples = ParseTextPage(page);
  EXPECT_TRUE(samples.ok()) << samples.status();
  return samples.ok() ? *samples : std::vector<Sample>{};
}

TEST(RocksDbCollectorTest, ReportsPerColumnFamilyPropertiesAfterFlush) {
  TestDb db(/*with_statistics=*/true);
  db.WriteAndFlush(500);
  // Something left in the memtable so its size is visibly non-zero.
  ASSERT_TRUE(
      db.db()->Put(rocksdb::WriteOptions(), db.handles()[1], "late", "x").ok());

  auto metrics = Metrics::Create("");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto collector = db.MakeCollector();
  (*metrics)->RegisterCollectable(collector);
  std::vector<Sample> samples = ParseOrDie((*metrics)->TextPage());

  for (const std::string cf : {"default", "entities"}) {
    SCOPED_TRACE(cf);
    auto keys =
        FindSample(samples, "salesops_rocksdb_estimated_keys", {{"cf", cf}});
    ASSERT_TRUE(keys.has_value());
    EXPECT_GT(*keys, 0);
    EXPECT_LE(*keys, 1000);
    auto sst =
        FindSample(samples, "salesops_rocksdb_live_sst_bytes", {{"cf", cf}});
    ASSERT_TRUE(sst.has_value());
    EXPECT_GT(*sst, 500);  // 500 values of 100 bytes, compressed or not
    auto pending = FindSample(
        samples, "salesops_rocksdb_pending_compaction_bytes", {{"cf", cf}});
    ASSERT_TRUE(pending.has_value());
    EXPECT_GE(*pending, 0);
    auto memtable =
        FindSample(samples, "salesops_rocksdb_memtable_bytes", {{"cf", cf}});
    ASSERT_TRUE(memtable.has_value());
    EXPECT_GT(*memtable, 0);  // an empty memtable still has its arena
  }
  auto stall =
      FindSample(samples, "salesops_rocksdb_write_stall_seconds_total", {});
  ASSERT_TRUE(stall.has_value());
  EXPECT_DOUBLE_EQ(*stall, static_cast<double>(db.statistics()->getTickerCount(
                               rocksdb::STALL_MICROS)) /
                               1e6);
  auto stopped = FindSample(samples, "salesops_rocksdb_write_stopped", {});
  ASSERT_TRUE(stopped.has_value());
  EXPECT_EQ(*stopped, 0);

  (*metrics)->UnregisterCollectable(collector);
}

TEST(RocksDbCollectorTest, KeyEstimateFollowsWrites) {
  TestDb db(/*with_statistics=*/true);
  auto collector = db.MakeCollector();
  auto before = FindSample(
      ParseOrDie(Metrics::Create("").value()->TextPage()),  // no collectors
      "salesops_rocksdb_estimated_keys", {{"cf", "entities"}});
  EXPECT_FALSE(before.has_value());

  auto metrics = Metrics::Create("");
  ASSERT_TRUE(metrics.ok());
  (*metrics)->RegisterCollectable(collector);
  auto empty =
      FindSample(ParseOrDie((*metrics)->TextPage()),
                 "salesops_rocksdb_estimated_keys", {{"cf", "entities"}});
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty, 0);
  db.WriteAndFlush(200);
  auto after =
      FindSample(ParseOrDie((*metrics)->TextPage()),
                 "salesops_rocksdb_estimated_keys", {{"cf", "entities"}});
  ASSERT_TRUE(after.has_value());
  EXPECT_GE(*after, 100);
  EXPECT_LE(*after, 400);
  (*metrics)->UnregisterCollectable(collector);
}

TEST(RocksDbCollectorTest, NoStatisticsMeansZeroStallCounter) {
  TestDb db(/*with_statistics=*/false);
  db.WriteAndFlush(10);
  auto collector = db.MakeCollector();
  std::vector<prometheus::MetricFamily> families = collector->Collect();
  bool found = false;
  for (const auto& f : families) {
    if (f.name == "salesops_rocksdb_write_stall_seconds_total") {
      found = true;
      ASSERT_EQ(f.metric.size(), 1u);
      EXPECT_EQ(f.metric[0].counter.value, 0);
      EXPECT_EQ(f.type, prometheus::MetricType::Counter);
    }
    EXPECT_FALSE(f.help.empty()) << f.name;
  }
  EXPECT_TRUE(found);
}

TEST(RocksDbCollectorTest, DetachStopsReadingTheDb) {
  TestDb db(/*with_statistics=*/true);
  auto collector = db.MakeCollector();
  EXPECT_FALSE(collector->Collect().empty());
  collector->Detach();
  EXPECT_TRUE(collector->Collect().empty());
}

TEST(MetricsTest, ServesRegistryAndCollectablesOverHttpAndPassesPromtool) {
  TestDb db(/*with_statistics=*/true);
  db.WriteAndFlush(50);

  auto metrics = Metrics::Create("127.0.0.1:0");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  ASSERT_GT((*metrics)->port(), 0);
  prometheus::BuildCounter()
      .Name("salesops_test_events_total")
      .Help("Events seen by the test.")
      .Register((*metrics)->registry())
      .Add({{"kind", "a"}})
      .Increment(3);
  auto collector = db.MakeCollector();
  (*metrics)->RegisterCollectable(collector);

  absl::StatusOr<std::string> page =
      HttpGet("127.0.0.1", (*metrics)->port(), "/metrics");
  ASSERT_TRUE(page.ok()) << page.status();
  std::vector<Sample> samples = ParseOrDie(*page);
  EXPECT_EQ(FindSample(samples, "salesops_test_events_total", {{"kind", "a"}}),
            3);
  auto keys = FindSample(samples, "salesops_rocksdb_estimated_keys",
                         {{"cf", "entities"}});
  ASSERT_TRUE(keys.has_value());
  EXPECT_GT(*keys, 0);
  absl::Status lint = PromtoolCheck(*page);
  EXPECT_TRUE(lint.ok()) << lint << "\n" << *page;

  // Once unregistered, the collector is no longer scraped.
  (*metrics)->UnregisterCollectable(collector);
  page = HttpGet("127.0.0.1", (*metrics)->port(), "/metrics");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(*page, Not(HasSubstr("salesops_rocksdb_")));
  EXPECT_THAT(*page, HasSubstr("salesops_test_events_total"));
}

TEST(MetricsTest, PromtoolRejectsABadPage) {
  // Guards the check above: the helper must really run promtool.
  absl::Status s = PromtoolCheck(
      "# HELP bad_counter c\n# TYPE bad_counter counter\nbad_counter 1\n");
  EXPECT_FALSE(s.ok());
}

TEST(MetricsTest, BusyAddressIsAnErrorNamingIt) {
  auto first = Metrics::Create("127.0.0.1:0");
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string address = absl::StrCat("127.0.0.1:", (*first)->port());
  auto second = Metrics::Create(address);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr(address));
}

TEST(MetricsTest, EmptyAddressServesNothing) {
  auto metrics = Metrics::Create("");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ((*metrics)->port(), 0);
  prometheus::BuildCounter()
      .Name("salesops_test_total")
      .Help("h")
      .Register((*metrics)->registry())
      .Add({})
      .Increment();
  EXPECT_EQ(
      FindSample(ParseOrDie((*metrics)->TextPage()), "salesops_test_total", {}),
      1);
}

}  // namespace
}  // namespace salesops
