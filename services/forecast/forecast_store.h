#pragma once

// The forecast's persistence of its read model (issue 5; SPEC.md §4.1): the
// records it keeps of the accounts, pipeline and credit feeds in Cf::kView of
// its own RocksDB — where each followed entity's record lives, how the feeds'
// messages become records, and the reads and writes that loading, applying a
// feed event and replacing a feed's copy (resync) make. No rules: which event
// wins (versions), what a change does to the aggregates, is ForecastView's
// (forecast_view.h); this is only what is stored and how to find it.
//
// Layout of Cf::kView (by tag; never reuse a number):
//   1 org node         (id)                    NodeRecord
//   2 quota            (node, quarter)         QuotaRecord
//   3 stage model      (id)                    ModelRecord
//   4 opportunity      (id)                    OppRecord
//   5 open copy        (model, stage, id)      OppRecord of an OPEN one: what a
//                                              win-rate change re-weights
//   6 history entry    (opportunity id, seq)   ChangeRecord (analytics only)
//   7 collection       (opportunity id)        CollectionRecord (credit feed)
//   8 by-rate copy     (currency, day, id)     OppRecord of an OPEN or WON one
//                                              in another currency: what a
//                                              rate change re-values
//   9 rate             (currency, start day)   RateRecord (accounts feed)
//  10 sale by rate     (currency, day, id)     SaleRateRecord
//  11 reporting        ()                      the reporting currency the
//                                              records were converted into
//  12 pre-image        (generation, opp id)    the opportunity's record as
//                                              the view snapshot of that
//                                              generation counts it (D55)
//  13 stale            (generation)            the generation changed more
//                                              than deals: its snapshot
//                                              cannot be caught up (D55)
//  14 snapshot chunk   (generation, index)     bytes of Rollup::Snapshot
//  15 snapshot head    ()                      SnapshotHead of the newest
//                                              complete snapshot

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "common/resync/sorted_sweep.h"
#include "common/store/store.h"
#include "salesops/forecast/view.pb.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/credit.pb.h"
#include "salesops/v1/pipeline.pb.h"
#include "services/forecast/analytics.h"
#include "services/forecast/rollup.h"

namespace salesops::forecast {

// The forecast's column families: its own entities (sales, week closes,
// snapshots, submissions; forecast_service.h) and the view's records.
enum class Cf { kEntities = 0, kView = 1 };
const std::vector<std::string>& ColumnFamilies();

// The copies of the feeds' entities the view keeps, in key order.
enum class ViewCopy {
  kNodes,          // accounts.OrgNode, by id
  kQuotas,         // accounts.Quota, by (node, fiscal quarter)
  kModels,         // pipeline.StageModel, by id
  kOpportunities,  // pipeline.Opportunity, by id
  kChanges,        // pipeline.OpportunityChange, by (opportunity id, seq)
  kCollections,    // credit.OpportunityCollection, by opportunity id
};

// Records of the feeds' messages (the opportunity's, which needs the fiscal
// calendar, is ForecastView's).
NodeRecord RecordOf(const v1::OrgNode& node);
QuotaRecord RecordOf(const v1::Quota& quota);
ModelRecord RecordOf(const v1::StageModel& model);
ChangeRecord RecordOf(const v1::OpportunityChange& change);
CollectionRecord RecordOf(const v1::OpportunityCollection& collection);
// What the Rollup and the analytics read of records.
OppFacts FactsOf(const OppRecord& r);
// The rate of an AppliedRate: 1 for the reporting currency (`currency` ""),
// nullopt when it was missing.
std::optional<money::Decimal> RateOf(const std::string& currency,
                                     const AppliedRate& rate);
std::vector<std::pair<std::string, int32_t>> StagesOf(const ModelRecord& m);

// True when both records serialize to the same bytes (a replacement then
// rewrites nothing).
bool SameBytes(const google::protobuf::Message& a,
               const google::protobuf::Message& b);

class ForecastStore {
 public:
  // `store` is not owned.
  explicit ForecastStore(Store* store) : store_(store) {}

  Store& store() const { return *store_; }

  // ---- Whether a collection record may exist (D60) ----
  // Lets a new opportunity skip the read of its collection (the credit feed
  // may deliver one first) while the store holds none, which is every
  // opportunity of a forecast without a credit peer and most of a catch-up.
  // False only while no collection record is stored, committed or in a
  // transaction: the first call looks at the committed records, and every
  // write of one calls NoteCollection() first (a transaction rolled back
  // leaves it true: conservative). Called on the commit thread.
  [[nodiscard]] absl::StatusOr<bool> MayHaveCollection() const;
  void NoteCollection() const {
    collections_.store(kSome, std::memory_order_relaxed);
  }

  // ---- Keys: of a listed entity (a resync page's, in its copy's order) ----
  static std::string KeyOf(const v1::OrgNode& node);
  static std::string KeyOf(const v1::Quota& quota);
  static std::string KeyOf(const v1::StageModel& model);
  static std::string KeyOf(const v1::Opportunity& opportunity);
  static std::string KeyOf(const v1::OpportunityChange& change);
  static std::string KeyOf(const v1::OpportunityCollection& collection);
  // The id of a node, model, opportunity or collection key.
  [[nodiscard]] static absl::StatusOr<std::string> IdOf(std::string_view key);
  // The node and quarter of a quota key.
  [[nodiscard]] static absl::Status QuotaOf(std::string_view key,
                                            std::string* node,
                                            QuarterKey* quarter);
  // A sweep over the stored copy (common/resync/sorted_sweep.h).
  // `ns` ("" or a region's "<id>/"): only the ids that start with it.
  static SortedSweep SweepOf(ViewCopy copy, const std::string& ns = "");

  // ---- Loading (at start; a scan of the committed records) ----
  using NodeFn =
      std::function<absl::Status(const std::string& id, const NodeRecord&)>;
  using QuotaFn = std::function<absl::Status(
      const std::string& node, QuarterKey quarter, const QuotaRecord&)>;
  using ModelFn =
      std::function<absl::Status(const std::string& id, const ModelRecord&)>;
  using OppFn =
      std::function<absl::Status(const std::string& id, const OppRecord&)>;
  [[nodiscard]] absl::Status ScanNodes(const NodeFn& visit) const;
  [[nodiscard]] absl::Status ScanQuotas(const QuotaFn& visit) const;
  [[nodiscard]] absl::Status ScanModels(const ModelFn& visit) const;
  [[nodiscard]] absl::Status ScanOpportunities(const OppFn& visit) const;

  // ---- Reads for the analytics (committed records, not the query path) ----
  // The timelines (record and history entries) of the opportunities `keep`
  // accepts, appended to `out`.
  [[nodiscard]] absl::Status Timelines(
      const std::function<bool(const OppRecord&)>& keep,
      std::vector<Timeline>* out) const;
  // A stage model's record; nullopt if unknown (or unreadable).
  std::optional<ModelRecord> FindModel(const std::string& id) const;

  // ---- Inside a feed consumer's or a resync's transaction ----
  [[nodiscard]] static absl::StatusOr<std::optional<NodeRecord>> FindNode(
      WriteTxn& txn, const std::string& id);
  [[nodiscard]] static absl::StatusOr<std::optional<QuotaRecord>> FindQuota(
      WriteTxn& txn, const std::string& node, QuarterKey quarter);
  [[nodiscard]] static absl::StatusOr<std::optional<ModelRecord>> FindModel(
      WriteTxn& txn, const std::string& id);
  [[nodiscard]] static absl::StatusOr<std::optional<OppRecord>> FindOpp(
      WriteTxn& txn, const std::string& id);
  [[nodiscard]] static absl::StatusOr<std::optional<CollectionRecord>>
  FindCollection(WriteTxn& txn, const std::string& opp_id);
  // The OPEN opportunities' facts of one stage as `txn` sees them.
  [[nodiscard]] static absl::Status OpenInStage(WriteTxn& txn,
                                                std::string_view model,
                                                std::string_view stage,
                                                std::vector<OppFacts>* out);

  static void PutNode(WriteTxn& txn, const std::string& id,
                      const NodeRecord& r);
  static void PutQuota(WriteTxn& txn, const std::string& node,
                       QuarterKey quarter, const QuotaRecord& r);
  static void PutModel(WriteTxn& txn, const std::string& id,
                       const ModelRecord& r);
  // Stores an opportunity's record and keeps its open copy (under its stage
  // while OPEN) in step with it; `stored` is the record it replaces, if any.
  static void PutOpp(WriteTxn& txn, const std::string& id, const OppRecord& r,
                     const OppRecord* stored);
  static void PutChange(WriteTxn& txn, const std::string& key,
                        const ChangeRecord& r);
  static void PutCollection(WriteTxn& txn, const std::string& opp_id,
                            const CollectionRecord& r);
  // Removes an opportunity's record (`stored`) and its open copy.
  static void DeleteOpp(WriteTxn& txn, const std::string& id,
                        const OppRecord& stored);
  // Removes the record under `key` (a key of a sweep, or a KeyOf).
  static void Delete(WriteTxn& txn, std::string_view key);
  static void DeleteModel(WriteTxn& txn, const std::string& id);

  // ---- Currencies (issue 19; forecast_store_rates.cc) ----
  // Days are absl::CivilDay; a record's rate day is its AppliedRate's.
  struct DatedOpp {
    std::string id;
    OppRecord record;
  };
  // The opportunities in `currency` whose rate day is in [first, last].
  [[nodiscard]] static absl::Status OppsInRateRange(WriteTxn& txn,
                                                    const std::string& currency,
                                                    absl::CivilDay first,
                                                    absl::CivilDay last,
                                                    std::vector<DatedOpp>* out);
  struct DatedSale {
    std::string id;
    absl::CivilDay day;
    SaleRateRecord record;
  };
  [[nodiscard]] static absl::Status SalesInRateRange(
      WriteTxn& txn, const std::string& currency, absl::CivilDay first,
      absl::CivilDay last, std::vector<DatedSale>* out);
  static void PutSale(WriteTxn& txn, const std::string& currency,
                      absl::CivilDay day, const std::string& id,
                      const SaleRateRecord& r);
  // Every committed sale record (Load).
  using SaleFn = std::function<absl::Status(const std::string& currency,
                                            const DatedSale&)>;
  [[nodiscard]] absl::Status ScanSales(const SaleFn& visit) const;

  [[nodiscard]] static absl::StatusOr<std::optional<RateRecord>> FindRate(
      WriteTxn& txn, const std::string& currency, absl::CivilDay start);
  static void PutRate(WriteTxn& txn, const std::string& currency,
                      absl::CivilDay start, const RateRecord& r);
  static void DeleteRate(WriteTxn& txn, const std::string& currency,
                         absl::CivilDay start);
  using RateFn = std::function<absl::Status(
      const std::string& currency, absl::CivilDay start, const RateRecord&)>;
  // Every committed rate, by currency then start.
  [[nodiscard]] absl::Status ScanRates(const RateFn& visit) const;
  // The same as `txn` sees them.
  [[nodiscard]] static absl::Status RatesInTxn(WriteTxn& txn,
                                               const RateFn& visit);
  // Every quota record as `txn` sees it.
  [[nodiscard]] static absl::Status QuotasInTxn(WriteTxn& txn,
                                                const QuotaFn& visit);

  // The reporting currency stored with the records ("" when none yet).
  [[nodiscard]] absl::StatusOr<std::string> ReportingCurrency() const;
  static void PutReportingCurrency(WriteTxn& txn, const std::string& code);

  // ---- View snapshots (D55; forecast_store_snapshot.cc) ----
  // Generation g's snapshot is the Rollup as it stood when g began; a deal
  // first changed in g has its record of that moment stored as g's
  // pre-image, and a change other than a deal's marks g stale.
  struct SnapshotHead {
    uint64_t generation = 0;
    uint32_t chunks = 0;
    uint64_t bytes = 0;
  };
  // Stores `before` as the pre-image of `id` in `generation` unless it has
  // one there; true when it stored it. `before` nullptr (the deal has no
  // record) is stored without a read: a deal without a record had none
  // earlier in the generation either, unless a resync removed it — and a
  // resync makes the generation stale, so its pre-images are never read.
  [[nodiscard]] static absl::StatusOr<bool> NotePreImage(
      WriteTxn& txn, uint64_t generation, const std::string& id,
      const OppRecord* before);
  static void MarkStale(WriteTxn& txn, uint64_t generation);
  // Stores generation `generation`'s snapshot `bytes` and makes it the head
  // (D58). It bypasses the store's commit thread, so the feed's batches never
  // queue behind it: each chunk of at most `chunk_bytes` is its own unsynced
  // low-priority RocksDB write, then the head is written with one fsync (the
  // WAL is appended in order: the chunks are durable before the head).
  // `before_chunk` (tests; may be empty) runs before each chunk's write.
  [[nodiscard]] absl::Status WriteSnapshot(
      uint64_t generation, std::string_view bytes, size_t chunk_bytes,
      const std::function<void(uint32_t index)>& before_chunk) const;
  // Deletes every pre-image, stale mark and chunk of the generations below
  // `generation`: three range deletions in one unsynced write, no scan.
  [[nodiscard]] absl::Status DropBefore(uint64_t generation) const;
  // The newest complete snapshot's head; nullopt when there is none.
  [[nodiscard]] absl::StatusOr<std::optional<SnapshotHead>> ReadSnapshotHead()
      const;
  // Its bytes (DATA_LOSS when a chunk is missing or the size differs).
  [[nodiscard]] absl::StatusOr<std::string> ReadSnapshot(
      const SnapshotHead& head) const;
  // True when a generation ≥ `from` is marked stale.
  [[nodiscard]] absl::StatusOr<bool> StaleSince(uint64_t from) const;
  // Every pre-image of generations ≥ `from`, by generation then id
  // (`before` nullptr: the deal did not exist).
  using PreImageFn = std::function<absl::Status(
      uint64_t generation, const std::string& id, const OppRecord* before)>;
  [[nodiscard]] absl::Status ScanPreImages(uint64_t from,
                                           const PreImageFn& visit) const;
  // The highest generation any pre-image, stale mark or head names (0:
  // none).
  [[nodiscard]] absl::StatusOr<uint64_t> LastGeneration() const;
  // A committed opportunity record (outside a transaction).
  [[nodiscard]] absl::StatusOr<std::optional<OppRecord>> FindOpp(
      const std::string& id) const;

 private:
  // The by-rate copy (tag 8) of an opportunity record, when it has one.
  static void PutByRateCopy(WriteTxn& txn, const std::string& id,
                            const OppRecord& r, const std::string& value);
  static void DeleteByRateCopy(WriteTxn& txn, const std::string& id,
                               const OppRecord& r);

  Store* store_;
  enum : int { kUnknown, kNone, kSome };
  mutable std::atomic<int> collections_{kUnknown};
};

}  // namespace salesops::forecast
