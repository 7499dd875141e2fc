#pragma once

// The forecast's read model (issue 5; SPEC.md §4.1): the rules by which the
// accounts feed (org nodes, quotas), the pipeline feed (stage models,
// opportunities) and the credit feed (what is collected of each opportunity)
// change the records it keeps in its own RocksDB (forecast_store.h), written
// by the feed consumers' transactions together with their cursors, and the
// in-memory Rollup built from them — at start from the stored records (no
// feed is replayed) and then event by event.
//
// Collections: a "credit.OpportunityCollection" event newer (by version) than
// the stored one replaces the opportunity's CollectionRecord and, when the
// opportunity is known, the collected amount copied into its OppRecord; an
// opportunity that arrives later takes up the stored collection. A WON
// opportunity counts min(collected, amount) in `collected`.
//
// The Rollup changes only after the transaction that stored an event's effect
// commits: Apply* stage the Rollup operations, the consumer's after_batch hook
// publishes them (or drops them when the batch rolled back and will be applied
// again). Readers take a shared lock; a batch's operations are published under
// one exclusive lock, so a reader never sees half a batch.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/money/exchange.h"
#include "common/resync/sorted_sweep.h"
#include "common/store/store.h"
#include "common/time/fiscal_calendar.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/credit.pb.h"
#include "salesops/v1/feed.pb.h"
#include "salesops/v1/pipeline.pb.h"
#include "services/forecast/analytics.h"
#include "services/forecast/answers.h"
#include "services/forecast/forecast_store.h"
#include "services/forecast/rollup.h"

namespace salesops::forecast {

// Feed sources and the kinds followed.
inline constexpr char kAccountsSource[] = "accounts";
inline constexpr char kPipelineSource[] = "pipeline";
inline constexpr char kCreditSource[] = "credit";
// The accounts kind of a dated rate (only the instance's own accounts feed
// gives rates: a global forecast converts with the headquarters').
inline constexpr char kExchangeRateKind[] = "accounts.ExchangeRate";
std::vector<std::string> AccountsKinds();
std::vector<std::string> PipelineKinds();
std::vector<std::string> CreditKinds();

class ForecastView {
 public:
  // `store` is not owned. `reporting_currency` (the instance's --currency):
  // every figure is converted into it (issue 19).
  ForecastView(Store* store, FiscalCalendar calendar,
               std::string reporting_currency = "EUR");
  ~ForecastView();  // waits for a snapshot being written

  // Rebuilds the Rollup: from the newest usable view snapshot when snapshots
  // are enabled, else from every stored record (at start).
  [[nodiscard]] absl::Status Load();

  // ---- View snapshots (D55; forecast_view_snapshot.cc) ----
  struct SnapshotOptions {
    // A snapshot is taken once this many deals changed since the last one,
    // or this long after the last one when anything changed.
    int64_t max_changes = 250'000;
    absl::Duration interval = absl::Seconds(30);
    // Never sooner than this many times the last snapshot's cost (capture
    // and write) after it; 0 = no spacing (SnapshotDue).
    int cost_spacing = 10;
    // Written by a background thread (false: by the publishing thread).
    bool background = true;
    // A snapshot is stored in chunks of at most this many bytes.
    size_t chunk_bytes = size_t{4} << 20;
    // Tests: runs on the writing thread before each chunk is stored.
    std::function<void(uint32_t chunk)> before_chunk;
  };
  // Whether a snapshot is due: `changed` deals changed (or `stale`: anything
  // else) since the last one, `since_last` ago, whose capture and write took
  // `last_cost`. Due after max_changes deals, or after `interval` when
  // anything changed — but never sooner than options.cost_spacing (10) times
  // the last snapshot's cost after it, so that snapshotting takes at most
  // about a tenth of the time however large the view grows (D63).
  static bool SnapshotDue(const SnapshotOptions& options, int64_t changed,
                          bool stale, absl::Duration since_last,
                          absl::Duration last_cost);
  // Call before Load (--view_snapshots). Without it no snapshot is kept or
  // read, and a Load() aggregates every stored record.
  void EnableSnapshots(SnapshotOptions options);
  // Takes a snapshot now and writes it (synchronously); FAILED_PRECONDITION
  // while a change is staged or in flight (for tests and tools).
  [[nodiscard]] absl::Status SnapshotNow();
  // True when the last Load() started from a snapshot (its sales are in it).
  bool loaded_from_snapshot() const { return loaded_from_snapshot_; }
  // A change applied to the Rollup outside the consumers' batches (an
  // out-of-funnel sale: hold it from before its transaction until after
  // AddOutOfFunnelSale) is in flight: no snapshot is taken meanwhile.
  class ChangeInFlight {
   public:
    explicit ChangeInFlight(ForecastView* view);
    ~ChangeInFlight();
    ChangeInFlight(const ChangeInFlight&) = delete;
    ChangeInFlight& operator=(const ChangeInFlight&) = delete;

   private:
    ForecastView* view_;
  };

  using Op = std::function<absl::Status(Rollup&)>;
  // The Rollup changes one feed consumer staged and has not published yet.
  // Each consumer has its own (a global forecast runs one of each kind per
  // region); guarded by the view.
  struct Staging {
    std::vector<Op> ops;
  };
  // The same Apply* into a consumer's own Staging, and its after_batch.
  [[nodiscard]] absl::Status ApplyAccounts(const v1::Event& event,
                                           WriteTxn& txn, Staging& staging);
  [[nodiscard]] absl::Status ApplyPipeline(const v1::Event& event,
                                           WriteTxn& txn, Staging& staging);
  [[nodiscard]] absl::Status ApplyCredit(const v1::Event& event, WriteTxn& txn,
                                         Staging& staging);
  void AfterBatch(Staging& staging, bool committed, bool org_or_quota);

  // FeedConsumer ApplyFn / after_batch of each source.
  [[nodiscard]] absl::Status ApplyAccounts(const v1::Event& event,
                                           WriteTxn& txn);
  [[nodiscard]] absl::Status ApplyPipeline(const v1::Event& event,
                                           WriteTxn& txn);
  [[nodiscard]] absl::Status ApplyCredit(const v1::Event& event, WriteTxn& txn);
  void AfterAccountsBatch(bool committed);
  void AfterPipelineBatch(bool committed);
  void AfterCreditBatch(bool committed);

  // ---- Replacing a feed's copy: the followers' resyncs after OUT_OF_RANGE
  // (accounts_follower.h, pipeline_follower.h, credit_follower.h; PLAN
  // decision 4). Every listed entity overwrites the stored record whatever
  // its version (a restored source restarts lower), every stored one the
  // listing lacks is removed, and each transaction's Rollup changes are
  // published once it commits, so the in-memory view stays what Load() would
  // build from the store. A record that would not change is not rewritten.
  // Call them only from that feed's consumer thread (no batch of it in
  // flight); readers meanwhile see the copy part replaced.
  using Copy = ViewCopy;  // the copies, in key order (forecast_store.h)
  // A sweep over the stored copy of `copy`, for the *Page calls below, whose
  // pages must come in that copy's key order (the order above).
  // `ns` (a region's "<id>/", issue 19) restricts it to the ids of that
  // namespace.
  static SortedSweep SweepOf(Copy copy, const std::string& ns = "");
  // Small copies, whole, one transaction each (an org tree and its models
  // are small; a re-org applies all moves at once, so no intermediate tree
  // has a cycle).
  //
  // `ns` (all of them): "" replaces the whole copy — in a global forecast
  // (SetFederated) only the headquarters' part, ids without a '/' — and a
  // region's "<id>/" only the ids of that region, which the listing must hold
  // namespaced already (federation.h).
  [[nodiscard]] absl::Status ReplaceNodes(const std::vector<v1::OrgNode>& all,
                                          const std::string& ns = "");
  [[nodiscard]] absl::Status ReplaceModels(
      const std::vector<v1::StageModel>& all, const std::string& ns = "");
  // Where a resync ends: the feed's cursor, stored in the same transaction
  // as its last write (so a crash before it resyncs again).
  struct Cursor {
    std::string source;
    uint64_t sequence = 0;
  };
  // Quotas, whole, in transactions of at most kReplaceBatch; `cursor`, when
  // given, with the last.
  [[nodiscard]] absl::Status ReplaceQuotas(const std::vector<v1::Quota>& all,
                                           const Cursor* cursor = nullptr,
                                           const std::string& ns = "");
  // One page (one transaction) of a large copy.
  [[nodiscard]] absl::Status ReplaceOpportunityPage(
      SortedSweep& sweep, const std::vector<v1::Opportunity>& page);
  [[nodiscard]] absl::Status ReplaceChangePage(
      SortedSweep& sweep, const std::vector<v1::OpportunityChange>& page);
  [[nodiscard]] absl::Status ReplaceCollectionPage(
      SortedSweep& sweep, const std::vector<v1::OpportunityCollection>& page);
  // After the last page: removes what the sweep has not reached, in
  // transactions of at most kReplaceBatch; `cursor`, when given, with the
  // last of them.
  [[nodiscard]] absl::Status FinishReplace(Copy copy, SortedSweep& sweep,
                                           const Cursor* cursor = nullptr,
                                           const std::string& ns = "");
  static constexpr size_t kReplaceBatch = 1000;

  // The credit resync in one call (credit's whole list, in any order): its
  // pages, FinishReplace and the cursor. An opportunity missing from the
  // list has nothing collected.
  [[nodiscard]] absl::Status ReplaceCollections(
      const std::vector<v1::OpportunityCollection>& collections,
      const Cursor& cursor, const std::string& ns = "");

  // A global forecast (issue 19): the headquarters' resyncs leave the
  // regions' namespaced ids alone.
  void SetFederated() { federated_ = true; }

  // Adds a committed out-of-funnel sale to the Rollup (the service stores the
  // sale itself), converted at `rate` (StageSale's; kOne for the reporting
  // currency, nullopt when missing).
  [[nodiscard]] absl::Status AddOutOfFunnelSale(
      const std::string& rep_node_id, absl::CivilDay date,
      const v1::Money& amount,
      std::optional<money::Decimal> rate = money::kOne);

  // ---- Currencies (issue 19; forecast_view_rates.cc) ----
  // Inside the sale's write transaction: looks up the rate of a new sale's
  // date and, for a currency other than the reporting one, stores what a rate
  // change re-values. Returns the rate for AddOutOfFunnelSale.
  [[nodiscard]] absl::StatusOr<std::optional<money::Decimal>> StageSale(
      WriteTxn& txn, const std::string& sale_id, const std::string& rep_node_id,
      absl::CivilDay date, const v1::Money& amount);
  // The accounts resync's rates: the whole list replaces the stored rates
  // (one transaction), re-valuing what changed.
  [[nodiscard]] absl::Status ReplaceRates(
      const std::vector<v1::ExchangeRate>& all);
  const std::string& reporting_currency() const { return reporting_; }
  // The rate to the reporting currency in force on `day` (1 for the reporting
  // currency itself); nullopt when there is none.
  std::optional<money::Decimal> RateOn(const std::string& currency,
                                       absl::CivilDay day) const;
  // Called with the number of deals, sales and quotas counted with a missing
  // rate after every change (the missing-rates gauge). Set before Load.
  void SetMissingRatesListener(std::function<void(int64_t)> f) {
    missing_listener_ = std::move(f);
  }

  // ---- reads ----
  // The node's figures and effective quota for `quarter`, and (when
  // `children`) those of its direct children by id. NOT_FOUND for a node
  // the accounts feed has not delivered (an owner or parent known only from
  // other events).
  [[nodiscard]] absl::Status Read(const std::string& node_id,
                                  QuarterKey quarter, bool children,
                                  NodeAnswer* node,
                                  std::vector<NodeAnswer>* child_answers) const;
  // The figures (without children) and effective quotas of every node the
  // accounts feed has delivered, for `quarter`, read under one lock (a
  // consistent snapshot), by node id. A node whose figures or quota do not
  // fit int64 (OUT_OF_RANGE) is left out and its error appended to
  // `*unreadable`, so one such node does not stop the others' snapshot.
  [[nodiscard]] absl::Status ReadAll(
      QuarterKey quarter, std::vector<NodeAnswer>* out,
      std::vector<absl::Status>* unreadable) const;
  // The timelines of the opportunities of model `model_id` ("" = any) owned
  // in `node_id`'s subtree and created within [created_from, created_to] (in
  // the calendar's zone), read from the stored records (a scan: for the
  // analytics, not the query path).
  [[nodiscard]] absl::Status Timelines(const std::string& node_id,
                                       const std::string& model_id,
                                       absl::CivilDay created_from,
                                       absl::CivilDay created_to,
                                       std::vector<Timeline>* out) const;
  // A stage model's stages and rates as followed; nullopt if unknown.
  std::optional<ModelStages> ModelStagesOf(const std::string& model_id) const;
  // Direct children in the followed tree, by id.
  std::vector<std::string> ChildrenOf(const std::string& node_id) const;
  // True when `node_id` is `ancestor_id` or below it in the followed tree.
  bool IsWithin(const std::string& node_id,
                const std::string& ancestor_id) const;
  // The node's kind (salesops.v1.OrgNodeKind) as followed; nullopt if unknown.
  std::optional<int> KindOf(const std::string& node_id) const;
  QuarterKey QuarterOf(absl::CivilDay day) const;
  const FiscalCalendar& calendar() const { return calendar_; }

  // Called with node_count() and aggregate_count() after every change of the
  // aggregates (for the view-size gauges). Set before Load.
  void SetSizeListener(std::function<void(size_t nodes, size_t aggregates)> f) {
    size_listener_ = std::move(f);
  }
  // For metrics: nodes and (node, quarter) aggregates held.
  size_t node_count() const;
  size_t aggregate_count() const;

 private:
  void Publish(std::vector<Op>& staged, bool committed, bool org_or_quota);
  // Stages `ops` and, in `txn`, the pre-images of the deals it changed
  // (touched_) or, when `stale`, the generation's stale mark.
  [[nodiscard]] absl::Status Stage(WriteTxn& txn, std::vector<Op>& ops,
                                   Staging& staging, bool stale);
  // Marks the current generation stale in `txn` (a sale, a resync).
  void MarkStale(WriteTxn& txn);
  // After a publish: captures a snapshot when one is due and nothing is in
  // flight, and has it written.
  void MaybeSnapshot();
  // Under staged_mu_: starts a new generation and returns the Rollup's bytes.
  std::string CaptureLocked();
  [[nodiscard]] absl::Status WriteSnapshot(uint64_t generation,
                                           const std::string& bytes);
  void WriterLoop();
  // The snapshot part of Load(): true when the Rollup came from one; then
  // *generation is the one to go on in.
  [[nodiscard]] absl::StatusOr<bool> LoadSnapshot(Rollup& rollup,
                                                  uint64_t* generation);
  // The full Load(): every stored record aggregated.
  [[nodiscard]] absl::Status LoadRecords(Rollup& rollup,
                                         std::map<std::string, int>& kinds,
                                         int64_t* opportunities) const;
  // Applies committed ops to the Rollup under the exclusive lock.
  void PublishOps(std::vector<Op>& ops, bool org_or_quota);
  // What Apply* and Replace* share: store one entity's record (unless the
  // stored one is newer or equal by version and `replace` is false) or
  // remove it, appending the Rollup operations to `ops`.
  [[nodiscard]] absl::Status PutQuota(WriteTxn& txn, const v1::Quota& quota,
                                      bool replace, std::vector<Op>* ops);
  [[nodiscard]] absl::Status PutModel(WriteTxn& txn,
                                      const v1::StageModel& model, bool replace,
                                      std::vector<Op>* ops);
  [[nodiscard]] absl::Status RemoveModel(WriteTxn& txn, const std::string& id,
                                         std::vector<Op>* ops);
  // Re-weights the open opportunities of `model`'s stages whose rate goes
  // from `old_rates` to `new_rates` (a stage missing from `new_rates` is
  // weighted 0, as Load() weights a stage no stored model lists).
  [[nodiscard]] absl::Status Reweight(
      WriteTxn& txn, const std::string& model,
      const std::vector<std::pair<std::string, int32_t>>& old_rates,
      const std::vector<std::pair<std::string, int32_t>>& new_rates,
      std::vector<Op>* ops);
  [[nodiscard]] absl::Status PutOpportunity(WriteTxn& txn,
                                            const v1::Opportunity& o,
                                            bool replace, std::vector<Op>* ops);
  [[nodiscard]] absl::Status RemoveOpportunity(WriteTxn& txn,
                                               const std::string& id,
                                               std::vector<Op>* ops);
  [[nodiscard]] absl::Status PutCollection(WriteTxn& txn,
                                           const v1::OpportunityCollection& c,
                                           bool replace, std::vector<Op>* ops);
  // One resync transaction: `fn` with a fresh `ops`, published when it
  // commits.
  [[nodiscard]] absl::Status ReplaceTxn(
      const std::string& source, bool org_or_quota,
      const std::function<absl::Status(WriteTxn&, std::vector<Op>*)>& fn);
  // The sweep's GoneFn of `copy`, appending to *ops (set per transaction).
  SortedSweep::GoneFn GoneOf(Copy copy, std::vector<Op>** ops,
                             const std::string& ns = "");
  // Sets the collected amount copied into opportunity `opp_id`'s record (when
  // the opportunity is known) and, when it changes what the opportunity
  // counts, appends the Rollup operation to `ops`.
  [[nodiscard]] absl::Status SetCollected(WriteTxn& txn,
                                          const std::string& opp_id,
                                          int64_t collected_minor,
                                          std::vector<Op>* ops);
  [[nodiscard]] absl::StatusOr<int64_t> EffectiveQuotaLocked(
      const std::string& node_id, QuarterKey quarter) const;
  // A node's figures and effective quota (without funnel win rates).
  [[nodiscard]] absl::StatusOr<NodeAnswer> AnswerLocked(
      const std::string& node_id, QuarterKey quarter) const;

  // The view's record of `o` (the quarter it counts in by the calendar, its
  // currency and the rate applied), without the collected amount.
  OppRecord RecordOfOpportunity(const v1::Opportunity& o) const;

  // ---- Currencies (forecast_view_rates.cc) ----
  // The staging rate table's rate for (currency, day) as a record keeps it.
  AppliedRate LookupRate(const std::string& currency, absl::CivilDay day) const;
  // "" for the reporting currency, else the code.
  std::string CurrencyOf(const std::string& code) const {
    return code == reporting_ ? std::string() : code;
  }
  // Stores one followed rate (unless the stored one is as new and `replace`
  // is false) and re-values what it changes.
  [[nodiscard]] absl::Status PutRate(WriteTxn& txn, const v1::ExchangeRate& r,
                                     bool replace, std::vector<Op>* ops);
  // Sets (or with nullopt removes) one entry of the staging rate table and
  // re-values the range it governs.
  [[nodiscard]] absl::Status SetRate(WriteTxn& txn, const std::string& currency,
                                     absl::CivilDay start,
                                     std::optional<money::Decimal> value,
                                     std::vector<Op>* ops);
  // Re-values the deals, sales and quotas in `currency` whose rate day lies
  // in [first, last] to the staging table's rates.
  [[nodiscard]] absl::Status Revalue(WriteTxn& txn, const std::string& currency,
                                     absl::CivilDay first, absl::CivilDay last,
                                     std::vector<Op>* ops);
  // The Rollup operation setting a quota from its record.
  Op QuotaOp(const std::string& node, QuarterKey quarter,
             const QuotaRecord& r) const;
  // Fills a quota record's currency and rate (first day of its quarter).
  void PriceQuota(QuarterKey quarter, QuotaRecord* r) const;
  // Rebuilds the staging rate table from the committed records (at Load and
  // after an accounts batch that changed rates failed).
  [[nodiscard]] absl::Status LoadRates();
  // Stores the reporting currency with a new view; FAILED_PRECONDITION when
  // the records were converted into another one.
  [[nodiscard]] absl::Status CheckReportingCurrency();
  // The committed sales in other currencies into rollup_ (at Load).
  [[nodiscard]] absl::Status LoadSales(Rollup& rollup) const;
  void ReportMissing();

  ForecastStore records_;
  const FiscalCalendar calendar_;

  mutable std::shared_mutex mu_;
  Rollup rollup_;                     // guarded by mu_
  std::map<std::string, int> kinds_;  // node id → OrgNodeKind; guarded by mu_
  // Effective quotas computed since the last quota or org change.
  mutable std::mutex quota_cache_mu_;
  mutable std::map<std::pair<std::string, QuarterKey>, int64_t> quota_cache_;

  std::function<void(size_t, size_t)> size_listener_;
  std::function<void(int64_t)> missing_listener_;
  bool federated_ = false;

  const std::string reporting_;
  // The rates as the commit thread stages them (issue 19): changed while an
  // accounts event is staged, read while any event is staged and by readers;
  // reloaded from the store when a batch that changed it fails.
  mutable std::mutex rates_mu_;
  money::RateTable rates_;     // guarded by rates_mu_
  bool rates_staged_ = false;  // guarded by staged_mu_

  // Staged on the commit thread, published on the consumer's thread.
  std::mutex staged_mu_;
  Staging staged_accounts_;
  Staging staged_pipeline_;
  Staging staged_credit_;

  // ---- Snapshots (D55) ----
  std::optional<SnapshotOptions> snapshots_;  // set before Load
  bool loaded_from_snapshot_ = false;
  // The deals the Apply* being run changed, with their records before it
  // (commit thread only; nullopt: new).
  std::vector<std::pair<std::string, std::optional<OppRecord>>> touched_;
  // Guarded by staged_mu_: the generation, the operations staged and not yet
  // published or dropped, the changes in flight outside them, the deals
  // changed and whether anything else changed since the last capture.
  uint64_t generation_ = 0;
  int64_t pending_ops_ = 0;
  int in_flight_ = 0;
  int64_t changed_ = 0;
  bool stale_ = false;
  absl::Time last_capture_ = absl::InfinitePast();
  absl::Duration last_cost_;  // of the last snapshot: capture and write
  bool writing_ = false;      // a captured snapshot is being written
  // An operation failed to aggregate: this Rollup is not what a Load() would
  // build, so no more snapshots are taken of it.
  std::atomic<bool> snapshots_broken_{false};
  // The background writer's job (guarded by staged_mu_).
  std::condition_variable writer_cv_;
  std::optional<std::pair<uint64_t, std::string>> job_;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace salesops::forecast
