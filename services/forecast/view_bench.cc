// forecast_view_bench: the forecast view at scale without the pipeline (issue
// 21, D55/D56). `fill` builds a forecast store of N synthetic open deals over
// R reps in an org of L levels by applying pipeline events through
// ForecastView in consumer-sized batches (the catch-up's path minus the
// network) and reports the events/s; `load` opens it as a restart does and
// reports how long Load() took (from the view snapshot, or, with
// --snapshots=false, from every record) and the resident memory per deal;
// `update` changes existing deals in small batches while snapshots are
// written and reports each batch's latency (D58).
//
//   forecast_view_bench --dir=/tmp/v fill --deals=1000000 --reps=10000
//   forecast_view_bench --dir=/tmp/v load
//   forecast_view_bench --dir=/tmp/v update --batch=64 --snapshot_changes=50000
//
// A tool for measurements (not installed, not a test).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/store/store.h"
#include "services/forecast/forecast_store.h"
#include "services/forecast/forecast_view.h"

ABSL_FLAG(std::string, dir, "", "the store's directory");
ABSL_FLAG(int64_t, deals, 1'000'000, "fill: open deals");
ABSL_FLAG(int64_t, reps, 10'000, "fill: reps (leaves of the org)");
ABSL_FLAG(int, levels, 8, "fill: levels of the org, root and reps included");
ABSL_FLAG(int, batch, 512, "fill: events per consumer batch");
ABSL_FLAG(bool, snapshots, true, "keep and load view snapshots (D55)");
ABSL_FLAG(bool, sync_writes, true, "fsync each batch (the service default)");
ABSL_FLAG(int64_t, snapshot_changes, 250'000,
          "take a view snapshot once this many deals changed");
ABSL_FLAG(int64_t, updates, 200'000,
          "update: deals changed (existing ones, a new stage each)");

namespace salesops::forecast {
namespace {

int64_t RssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::atoll(line.c_str() + 6) * 1024;
    }
  }
  return 0;
}

// RocksDB's own share of the resident memory: memtables and block caches.
void PrintRocksDb(Store& store) {
  uint64_t mem = 0;
  uint64_t cache = 0;
  store.db()->GetAggregatedIntProperty("rocksdb.cur-size-all-mem-tables", &mem);
  store.db()->GetAggregatedIntProperty("rocksdb.block-cache-usage", &cache);
  std::printf("rocksdb: memtables %llu MiB, block caches %llu MiB\n",
              static_cast<unsigned long long>(mem >> 20),
              static_cast<unsigned long long>(cache >> 20));
}

// Each batch's apply-and-commit latency: the feed's view of a snapshot stall.
struct Latencies {
  std::vector<double> ms;
  void Print() {
    if (ms.empty()) return;
    std::sort(ms.begin(), ms.end());
    auto at = [&](double q) {
      return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
    };
    std::printf(
        "batches: %zu, apply+commit ms p50 %.1f p99 %.1f p99.9 %.1f "
        "max %.1f\n",
        ms.size(), at(0.5), at(0.99), at(0.999), ms.back());
  }
};

template <typename Msg>
v1::Event Pack(uint64_t seq, const std::string& kind, const Msg& m) {
  v1::Event e;
  e.set_sequence(seq);
  e.set_kind(kind);
  e.mutable_payload()->PackFrom(m);
  return e;
}

// One batch (one transaction) of events of `feed` (0 accounts, 1 pipeline).
absl::Status Apply(Store& store, ForecastView& view, int feed,
                   const std::vector<v1::Event>& events) {
  absl::Status s =
      store
          .Write(SystemActor("bench"),
                 [&](WriteTxn& txn) -> absl::Status {
                   for (const v1::Event& e : events) {
                     RETURN_IF_ERROR(feed == 0 ? view.ApplyAccounts(e, txn)
                                               : view.ApplyPipeline(e, txn));
                   }
                   return absl::OkStatus();
                 })
          .status();
  if (feed == 0) view.AfterAccountsBatch(s.ok());
  if (feed == 1) view.AfterPipelineBatch(s.ok());
  return s;
}

// Level sizes growing geometrically from 1 to `reps`.
std::vector<int64_t> LevelSizes(int64_t reps, int levels) {
  std::vector<int64_t> sizes;
  for (int l = 0; l < levels; ++l) {
    const double f = levels == 1 ? 1 : static_cast<double>(l) / (levels - 1);
    sizes.push_back(std::max<int64_t>(1, std::llround(std::pow(reps, f))));
  }
  sizes.back() = reps;
  return sizes;
}

absl::Status FillOrg(Store& store, ForecastView& view, uint64_t* seq) {
  const auto sizes =
      LevelSizes(absl::GetFlag(FLAGS_reps), absl::GetFlag(FLAGS_levels));
  std::vector<v1::Event> batch;
  for (size_t l = 0; l < sizes.size(); ++l) {
    for (int64_t i = 0; i < sizes[l]; ++i) {
      v1::OrgNode n;
      n.set_id(absl::StrCat("n", l, "_", i));
      if (l > 0)
        n.set_parent_id(absl::StrCat("n", l - 1, "_", i % sizes[l - 1]));
      n.set_kind(l + 1 == sizes.size() ? v1::ORG_NODE_KIND_REP
                                       : v1::ORG_NODE_KIND_TEAM);
      n.set_version(1);
      batch.push_back(Pack(++*seq, "accounts.OrgNode", n));
      if (batch.size() == 512) {
        RETURN_IF_ERROR(Apply(store, view, 0, batch));
        batch.clear();
      }
    }
  }
  if (!batch.empty()) RETURN_IF_ERROR(Apply(store, view, 0, batch));
  v1::StageModel m;
  m.set_id("m");
  const int rates[] = {500, 1000, 2000, 4000, 6000, 8000};
  for (int s = 0; s < 6; ++s) {
    v1::Stage* stage = m.add_stages();
    stage->set_key(absl::StrCat("S", s));
    stage->set_win_rate_bp(rates[s]);
  }
  m.set_version(1);
  return Apply(store, view, 1, {Pack(++*seq, "pipeline.StageModel", m)});
}

// Changes existing deals in small batches (a busy pipeline's feed) while
// snapshots are taken and written (D58): each batch's latency is the
// freshness a snapshot costs.
absl::Status Update(Store& store, ForecastView& view) {
  const int64_t deals = absl::GetFlag(FLAGS_deals);
  const int64_t reps = absl::GetFlag(FLAGS_reps);
  const int levels = absl::GetFlag(FLAGS_levels);
  const size_t batch_size = absl::GetFlag(FLAGS_batch);
  std::mt19937_64 rng(58);
  uint64_t seq = uint64_t{1} << 40;
  std::vector<v1::Event> batch;
  Latencies latencies;
  const int64_t updates = absl::GetFlag(FLAGS_updates);
  const absl::Time start = absl::Now();
  for (int64_t u = 0; u < updates; ++u) {
    v1::Opportunity o;
    const int64_t d = static_cast<int64_t>(rng() % deals);
    o.set_id(absl::StrCat("opp_", d));
    o.set_account_id("acc");
    o.set_owner_node_id(absl::StrCat("n", levels - 1, "_", d % reps));
    o.set_stage_model_id("m");
    o.set_stage_key(absl::StrCat("S", rng() % 6));
    o.set_status(v1::OPPORTUNITY_STATUS_OPEN);
    *o.mutable_amount() = money::Make(100'00 + d, "EUR");
    v1::Date* date = o.mutable_expected_close_date();
    date->set_year(2026);
    date->set_month(1 + static_cast<int>(d % 12));
    date->set_day(1);
    o.set_version(1'000'000 + u);  // newer than any earlier version
    batch.push_back(Pack(++seq, "pipeline.Opportunity", o));
    if (batch.size() == batch_size || u + 1 == updates) {
      const absl::Time t = absl::Now();
      RETURN_IF_ERROR(Apply(store, view, 1, batch));
      latencies.ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t));
      batch.clear();
    }
  }
  const double s = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("update: %lld changes in %.1f s = %.0f events/s\n",
              static_cast<long long>(updates), s, updates / s);
  latencies.Print();
  return absl::OkStatus();
}

absl::Status Fill(Store& store, ForecastView& view) {
  uint64_t seq = 0;
  RETURN_IF_ERROR(FillOrg(store, view, &seq));
  const int64_t deals = absl::GetFlag(FLAGS_deals);
  const int64_t reps = absl::GetFlag(FLAGS_reps);
  const int levels = absl::GetFlag(FLAGS_levels);
  const size_t batch_size = absl::GetFlag(FLAGS_batch);
  std::mt19937_64 rng(21);
  std::vector<v1::Event> batch;
  Latencies latencies;
  const absl::Time start = absl::Now();
  for (int64_t d = 0; d < deals; ++d) {
    v1::Opportunity o;
    o.set_id(absl::StrCat("opp_", d));
    o.set_account_id("acc");
    o.set_owner_node_id(absl::StrCat("n", levels - 1, "_", rng() % reps));
    o.set_stage_model_id("m");
    o.set_stage_key(absl::StrCat("S", rng() % 6));
    o.set_status(v1::OPPORTUNITY_STATUS_OPEN);
    *o.mutable_amount() =
        money::Make(static_cast<int64_t>(100'00 + rng() % 1'000'000'00), "EUR");
    v1::Date* date = o.mutable_expected_close_date();
    date->set_year(2026 + static_cast<int>(rng() % 2));
    date->set_month(1 + static_cast<int>(rng() % 12));
    date->set_day(1 + static_cast<int>(rng() % 28));
    o.set_version(1);
    batch.push_back(Pack(++seq, "pipeline.Opportunity", o));
    if (batch.size() == batch_size || d + 1 == deals) {
      const absl::Time t = absl::Now();
      RETURN_IF_ERROR(Apply(store, view, 1, batch));
      latencies.ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t));
      batch.clear();
    }
  }
  const double s = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("fill: %lld deals in %.1f s = %.0f events/s; rss %lld MiB\n",
              static_cast<long long>(deals), s, deals / s,
              static_cast<long long>(RssBytes() >> 20));
  latencies.Print();
  PrintRocksDb(store);
  return absl::OkStatus();
}

int Main(const std::string& phase) {
  StoreOptions options;
  options.column_families = ColumnFamilies();
  options.sync_writes = absl::GetFlag(FLAGS_sync_writes);
  options.outbox_retention = absl::ZeroDuration();
  options.min_free_disk_bytes = 0;
  const absl::Time open_start = absl::Now();
  auto store = Store::Open(absl::GetFlag(FLAGS_dir), options);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  const absl::Time load_start = absl::Now();
  ForecastView view(store->get(), FiscalCalendar::Default());
  if (absl::GetFlag(FLAGS_snapshots)) {
    ForecastView::SnapshotOptions o;
    o.max_changes = absl::GetFlag(FLAGS_snapshot_changes);
    view.EnableSnapshots(o);
  }
  absl::Status s = view.Load();
  const absl::Time loaded = absl::Now();
  if (s.ok() && phase == "fill") s = Fill(**store, view);
  if (s.ok() && phase == "update") s = Update(**store, view);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  if (phase == "load") {
    const int64_t deals = absl::GetFlag(FLAGS_deals);
    std::printf(
        "load: store open %.2f s, view Load %.2f s (%s); rss %lld MiB = %lld "
        "B per deal of %lld\n",
        absl::ToDoubleSeconds(load_start - open_start),
        absl::ToDoubleSeconds(loaded - load_start),
        view.loaded_from_snapshot() ? "from snapshot" : "every record",
        static_cast<long long>(RssBytes() >> 20),
        static_cast<long long>(RssBytes() / std::max<int64_t>(1, deals)),
        static_cast<long long>(deals));
    PrintRocksDb(**store);
  }
  return 0;
}

}  // namespace
}  // namespace salesops::forecast

int main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2 || absl::GetFlag(FLAGS_dir).empty()) {
    std::fprintf(stderr, "usage: %s --dir=DIR fill|load|update [flags]\n",
                 args[0]);
    return 2;
  }
  return salesops::forecast::Main(args[1]);
}
