#pragma once

// The forecast's in-memory aggregates (SPEC.md §4.1, issue 5): per org node,
// fiscal quarter and stage, the count, amount and weighted amount of OPEN
// opportunities owned in the node's subtree, plus the WON amount, the part of
// it credit reports collected, and the out-of-funnel sales — kept current event
// by event so that a GetForecast is a lookup, never a scan.
//
// Pure logic, no I/O, not thread-safe (the service guards it). The caller keeps
// the per-opportunity facts durable (RocksDB) and hands the engine the old and
// new facts of each change; the engine keeps only aggregates, so its memory
// grows with nodes × quarters × stages, not with opportunities.
//
// Every node's aggregate is inclusive of its whole subtree. A change at a rep
// updates the rep and each ancestor (O(depth)); a re-org subtracts the moved
// subtree's aggregate from the old ancestors and adds it to the new ones.
//
// Money is int64 minor units. The weighted amount of one opportunity is
// money::WeightBp(amount, win_rate_bp) (round half to even per opportunity),
// and aggregates are sums of those, so a re-weight after a win-rate change
// needs the amounts of that stage's open opportunities (ChangeWinRate).
// Aggregates are held in 128 bits, so no sequence of int64 amounts can make a
// change fail or be dropped (2^64 changes of INT64_MAX would be needed); a
// read whose figure does not fit int64 is OUT_OF_RANGE naming the figure, and
// only that read fails (issue 16, finding 2).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/money/exchange.h"

namespace salesops::forecast {

// A fiscal quarter as one comparable number: fiscal_year * 4 + (quarter - 1).
using QuarterKey = int32_t;
inline QuarterKey MakeQuarterKey(int fiscal_year, int quarter) {
  return fiscal_year * 4 + (quarter - 1);
}

// A stage of a stage model, as the forecast knows it.
struct StageRef {
  std::string model_id;
  std::string stage_key;
  friend bool operator<(const StageRef& a, const StageRef& b) {
    return a.model_id != b.model_id ? a.model_id < b.model_id
                                    : a.stage_key < b.stage_key;
  }
  friend bool operator==(const StageRef& a, const StageRef& b) {
    return a.model_id == b.model_id && a.stage_key == b.stage_key;
  }
};

// What counts of one opportunity. An OPEN opportunity contributes to the
// funnel of `quarter` (its expected close date's quarter) at its stage; a WON
// one contributes `amount_minor` to `closed` of `quarter` (its close date's
// quarter), and min(collected_minor, amount_minor) (never below 0) to
// `collected` of that quarter; any other status contributes nothing. A change
// of the collected amount is a change of facts like any other
// (ApplyOpportunity(before, after)).
struct OppFacts {
  enum class Status { kOpen, kWon, kOther };
  std::string owner_node_id;
  StageRef stage;
  Status status = Status::kOpen;
  int64_t amount_minor = 0;
  QuarterKey quarter = 0;
  // What the credit service reports collected for this opportunity (0 when it
  // reports nothing). Kept whatever the status: it counts while WON.
  int64_t collected_minor = 0;
  // The currency of amount_minor and collected_minor ("" = the reporting
  // currency) and its rate to the reporting currency in force on the deal's
  // date (its expected close date while open, its close date once won), as
  // the caller looked it up; nullopt when the rate is missing: the deal then
  // counts in the funnel's count and in its currency's missing figures, never
  // as a silent zero of a converted figure (issue 19).
  std::string currency;
  std::optional<money::Decimal> rate = money::kOne;
};

// The figures of one original currency within a node's subtree and quarter.
// Original-currency figures are in that currency's minor units; converted
// ones in the reporting currency's. "Missing" counts the deals (and
// out-of-funnel sales) whose rate is missing: they are in the original
// figures and not in the converted ones.
struct CurrencyFigures {
  std::string currency;
  int64_t open_count = 0;
  int64_t pipeline_amount_minor = 0;    // Σ amount of open deals
  int64_t pipeline_weighted_minor = 0;  // Σ WeightBp per open deal
  int64_t pipeline_weighted_converted_minor = 0;
  int64_t won_count = 0;
  int64_t closed_minor = 0;  // WON deals and out-of-funnel sales
  int64_t closed_converted_minor = 0;
  int64_t missing_open_count = 0;
  int64_t missing_open_amount_minor = 0;
  int64_t missing_closed_count = 0;
  int64_t missing_closed_amount_minor = 0;
};

// An explicit quota whose rate is missing (EffectiveQuota counts it as
// nothing and reports it here).
struct MissingQuota {
  std::string node_id;
  std::string currency;
  int64_t amount_minor = 0;  // in `currency`
};

// One row of a funnel table.
struct StageFigures {
  int64_t count = 0;
  int64_t amount_minor = 0;
  int64_t weighted_minor = 0;
};

// A node's figures for one quarter (its whole subtree).
struct NodeFigures {
  int64_t closed_minor = 0;         // WON + out-of-funnel sales
  int64_t out_of_funnel_minor = 0;  // the out-of-funnel part of closed
  // Of closed, the part credit reports collected: Σ min(collected, amount)
  // over the WON opportunities in closed (out-of-funnel sales never count).
  int64_t collected_minor = 0;
  int64_t pipeline_weighted_minor = 0;  // Σ funnel weighted
  int64_t forecast_minor = 0;           // closed + pipeline_weighted
  // Stages with count > 0, ordered by model id, then the stage's position in
  // its model (SetStageModel order); stages of unknown models last, by key.
  std::vector<std::pair<StageRef, StageFigures>> funnel;
  // Every currency with something in this subtree and quarter, by code.
  std::vector<CurrencyFigures> currencies;
};

class Rollup {
 public:
  // --- Currencies (issue 19). ---
  // The reporting currency: facts in it (or in "") are not converted. Set
  // before anything is added.
  void SetReportingCurrency(const std::string& code);
  const std::string& reporting_currency() const { return reporting_; }

  // --- The org tree (accounts feed). ---
  // Adds `id` under `parent_id` ("" = a root), or moves it there (its subtree
  // aggregate moves with it). FAILED_PRECONDITION when the move would make a
  // cycle ("node X cannot move under its own descendant Y"); an unknown parent
  // is created as a provisional root (the feed may deliver a child first), and
  // takes its place when its own event arrives.
  [[nodiscard]] absl::Status SetNode(const std::string& id,
                                     const std::string& parent_id);
  // True for every node seen, provisional roots included.
  bool HasNode(const std::string& id) const;
  // Adds an unknown node as a provisional root (an owner the accounts feed
  // has not delivered yet, the pipeline feed being ahead, hangs there until
  // its own event places it); nothing for a known one.
  [[nodiscard]] absl::Status EnsureNode(const std::string& id) {
    return HasNode(id) ? absl::OkStatus() : SetNode(id, "");
  }
  // The parent of a known node ("" for a root, provisional roots included);
  // nullopt for an unknown node.
  std::optional<std::string> ParentOf(const std::string& id) const;
  // Direct children, sorted by id (empty for an unknown node).
  std::vector<std::string> ChildrenOf(const std::string& id) const;

  // --- Quotas (accounts feed). ---
  // Sets (amount ≥ 0) or clears (nullopt) the explicit quota of `node_id` for
  // `quarter`. Kept by id, so a quota that arrives before its node (the feed
  // may be ahead) counts once the node is known; the amount is recorded as
  // given (the accounts service validates it).
  void SetQuota(const std::string& node_id, QuarterKey quarter,
                std::optional<int64_t> amount_minor);
  // Explicit when set, else the sum of the children's effective quotas (0 for
  // a leaf without one) — the accounts service's rule. OUT_OF_RANGE when the
  // sum does not fit int64; NOT_FOUND for an unknown node.
  // An explicit quota whose amount is in `currency` with no rate for its
  // quarter's first day: effective quotas count it as 0 and list it in
  // `missing`.
  void SetQuotaMissingRate(const std::string& node_id, QuarterKey quarter,
                           const std::string& currency, int64_t amount_minor);
  [[nodiscard]] absl::StatusOr<int64_t> EffectiveQuota(
      const std::string& node_id, QuarterKey quarter,
      std::vector<MissingQuota>* missing = nullptr) const;
  // Explicit quotas held with a missing rate (anywhere).
  int64_t missing_quota_count() const { return missing_quotas_; }
  // Deals and out-of-funnel sales counted with a missing rate (for the
  // missing-rates gauge; kept as they change, O(1)).
  int64_t MissingRateCount() const { return missing_records_; }

  // --- Stage models (pipeline feed). ---
  // Records the stage keys (in order) and win rates of a model. Changing the
  // win rates of stages that hold open opportunities must go through
  // ChangeWinRate; SetStageModel only records keys, order and rates. (Should
  // it change the rate of a stage that holds open opportunities anyway, the
  // engine keeps weighting that stage with the rate its aggregates were built
  // with until ChangeWinRate re-weights it or the stage empties, so the
  // aggregates never mix two rates; ChangeWinRate may thus come before or
  // after the SetStageModel that announces the new rate.) A key listed twice
  // counts at its first position with its first rate.
  void SetStageModel(const std::string& model_id,
                     const std::vector<std::pair<std::string, int32_t>>&
                         stages_and_win_rates_bp);
  // The win rate the engine weights `stage` with; 0 for unknown stages.
  int32_t WinRateBp(const StageRef& stage) const;
  // Re-weights the open opportunities of `stage` (their facts as stored, every
  // one of them with status kOpen and this stage) from the current rate to
  // `new_bp`, then records it. INVALID_ARGUMENT for a rate outside 0..10000,
  // facts of another stage/status, or a number of facts other than the number
  // of open opportunities the engine holds in `stage`; FAILED_PRECONDITION for
  // an unknown owner. Nothing changes on error.
  [[nodiscard]] absl::Status ChangeWinRate(
      const StageRef& stage, int32_t new_bp,
      const std::vector<OppFacts>& open_in_stage);

  // --- Opportunities (pipeline feed). ---
  // Replaces the contribution of one opportunity: `before` is what was applied
  // last (nullopt for a new one), `after` its new facts (nullopt when it is
  // gone). The owner must be a known node (else FAILED_PRECONDITION, nothing
  // changed); a REP node is not required (the feed may be ahead). An open
  // opportunity is weighted with WinRateBp(stage) (0 for an unknown stage).
  [[nodiscard]] absl::Status ApplyOpportunity(
      const std::optional<OppFacts>& before,
      const std::optional<OppFacts>& after);
  // Adds new opportunities at once (loading at start): the same result as
  // ApplyOpportunity(nullopt, f) for each, but summed at each owner first and
  // pushed up each owner's chain once. All or nothing.
  [[nodiscard]] absl::Status AddOpportunities(
      const std::vector<OppFacts>& facts);

  // --- Out-of-funnel sales (forecast's own writes, SPEC §4.4). ---
  // Adds `amount_minor` to closed and out_of_funnel of `node_id`'s quarter
  // (a negative amount reverses a booking). FAILED_PRECONDITION for an
  // unknown node; nothing changes on error.
  // A sale in `currency` ("" = reporting) converts at `rate` (nullopt: its
  // rate is missing; it then counts in its currency's missing figures).
  [[nodiscard]] absl::Status AddOutOfFunnelSale(
      const std::string& node_id, QuarterKey quarter, int64_t amount_minor,
      const std::string& currency = "",
      std::optional<money::Decimal> rate = money::kOne);

  // --- Reads. ---
  // The figures of `node_id`'s subtree in `quarter` (zeros for a known node
  // with nothing in it); NOT_FOUND for an unknown node; OUT_OF_RANGE, naming
  // the node, the quarter and the figure, when one of them (forecast =
  // closed + pipeline_weighted included) does not fit int64.
  [[nodiscard]] absl::StatusOr<NodeFigures> Figures(const std::string& node_id,
                                                    QuarterKey quarter) const;

  // Nodes known, and the (node, quarter) aggregates held: for the view-size
  // metric and memory accounting.
  size_t node_count() const;
  size_t aggregate_count() const;

  // --- Snapshots (rollup_snapshot.cc; D55: a restart that does not scan the
  // deals). ---
  // The whole engine as bytes (a versioned binary format, private to this
  // build's readers), and back: Restore(Snapshot()) holds the same state, so
  // every read and every later change gives what this engine would give.
  // DATA_LOSS for bytes that are not a whole snapshot of this format.
  std::string Snapshot() const;
  [[nodiscard]] static absl::StatusOr<Rollup> Restore(std::string_view bytes);

 private:
  // (see rollup.cc's design note)

  // Sums of int64 amounts: 2^64 of them fit, so they never overflow.
  using Wide = __int128;
  struct WideStage {
    int64_t count = 0;
    Wide amount_minor = 0;
    Wide weighted_minor = 0;
  };
  // CurrencyFigures in 128 bits. The four counts first: interleaved with the
  // 16-byte-aligned figures each cost 8 bytes of padding (176 bytes instead
  // of 144; one per currency of every aggregate).
  struct WideCurrency {
    int64_t open_count = 0;
    int64_t won_count = 0;
    int64_t missing_open_count = 0;
    int64_t missing_closed_count = 0;
    Wide pipeline_amount = 0;
    Wide pipeline_weighted = 0;
    Wide pipeline_weighted_converted = 0;
    Wide closed = 0;
    Wide closed_converted = 0;
    Wide missing_open_amount = 0;
    Wide missing_closed_amount = 0;
  };
  static_assert(sizeof(WideCurrency) == 144);
  // One amount of a deal or sale in the reporting currency: converted and
  // weighted at `bp` with one rounding (weighted_orig: weighted in its own
  // currency); zeros and `missing` when its rate is missing.
  struct Priced {
    int64_t amount = 0;
    int64_t weighted = 0;
    int64_t weighted_orig = 0;
    bool missing = false;
  };
  // The figures of one node's subtree in one quarter; also used as a delta.
  struct Agg {
    Wide closed = 0;
    Wide out_of_funnel = 0;
    Wide collected = 0;
    Wide pipeline_weighted = 0;
    std::vector<WideStage> slots;  // indexed by stage slot; may be short
    std::vector<WideCurrency> currencies;  // by currency slot; may be short
  };
  struct Node {
    std::string id;
    int parent = -1;            // index into nodes_, -1 for a root
    std::vector<int> children;  // indices, unordered
    std::unordered_map<QuarterKey, Agg> aggs;
  };
  // One interned StageRef.
  struct Slot {
    StageRef ref;
    int position = -1;       // in its model's recorded list; -1 when unlisted
    int32_t model_bp = 0;    // the recorded rate (0 when unlisted)
    int32_t applied_bp = 0;  // the rate the aggregates are weighted with
    int64_t open = 0;        // open opportunities in this stage, engine-wide
  };
  // Pending changes keyed by DeltaKey(node, quarter).
  using DeltaMap = std::unordered_map<uint64_t, Agg>;

  static uint64_t DeltaKey(int node, QuarterKey quarter);
  static bool IsZero(const Agg& agg);
  // into += d (or -= d when `negate`), field by field.
  static void AddAgg(Agg& into, const Agg& d, bool negate);

  int FindNode(const std::string& id) const;
  int AddNode(const std::string& id, int parent);
  int FindSlot(const StageRef& stage) const;
  int InternSlot(const StageRef& stage);
  void RebuildOrder();
  // Lowest common ancestor of nodes a and b (-1: none; either may be -1).
  int CommonAncestor(int a, int b) const;
  // Moves node n (with its aggregates) under p (-1: a root).
  void MoveNode(int n, int p);
  // Adds ±d to the (n, quarter) delta of every node n from `from` up to, not
  // including, `stop` (-1: up to and including the root).
  void AddToChain(DeltaMap& deltas, int from, int stop, QuarterKey quarter,
                  const Agg& d, bool negate) const;
  // Applies every pending delta to the stored aggregates.
  void Commit(const DeltaMap& deltas);
  // The OUT_OF_RANGE of a read whose figure (a stage row's, when `slot`)
  // does not fit int64: kept off the read's fast path.
  [[gnu::cold]] absl::Status TooLarge(const std::string& node_id,
                                      QuarterKey quarter, const Agg& a,
                                      Wide forecast, const Slot* slot) const;
  // The contribution of one opportunity (owner index in *node).
  absl::Status Contribution(const OppFacts& facts, int* node, Agg* d,
                            int* open_slot);

  // Currencies (rollup_currency.cc).
  int InternCurrency(const std::string& code);
  [[nodiscard]] absl::StatusOr<Priced> Price(
      const std::string& currency, const std::optional<money::Decimal>& rate,
      int64_t amount_minor, int32_t bp) const;
  // The currency part of one opportunity's contribution, `p` its amount
  // priced at its stage's rate (open) or in full (won).
  void CurrencyContribution(const OppFacts& facts, const Priced& p, Agg* d);
  static bool IsZero(const WideCurrency& c);
  // The records a contribution counts with a missing rate.
  static int64_t MissingIn(const Agg& d);
  // ChangeWinRate's re-weighting of stage slot `s`'s open opportunities.
  [[nodiscard]] absl::Status Reweight(int s, int32_t old_bp, int32_t new_bp,
                                      const std::vector<OppFacts>& open);
  static void AddCurrency(WideCurrency& into, const WideCurrency& d,
                          bool negate);
  [[nodiscard]] absl::Status ReadCurrencies(
      const Agg& a, std::vector<CurrencyFigures>* out) const;

  std::string reporting_;
  int reporting_exponent_ = 2;
  int64_t missing_quotas_ = 0;
  int64_t missing_records_ = 0;
  std::vector<std::string> currency_codes_;  // by currency slot
  std::unordered_map<std::string, int> currency_index_;
  struct QuotaEntry {
    int64_t amount_minor = 0;          // in the reporting currency
    std::string missing_currency;      // set when its rate is missing
    int64_t missing_amount_minor = 0;  // then: the amount in that currency
  };

  std::vector<Node> nodes_;
  std::unordered_map<std::string, int> node_index_;
  std::unordered_map<std::string, std::map<QuarterKey, QuotaEntry>> quotas_;
  std::vector<Slot> slots_;
  std::unordered_map<std::string, int> slot_index_;  // by SlotKey(StageRef)
  // Slot indices of each model's recorded stages (current list).
  std::unordered_map<std::string, std::vector<int>> model_slots_;
  // All slots in funnel display order.
  std::vector<int> order_;
  size_t aggregate_count_ = 0;
};

}  // namespace salesops::forecast
