#include "services/forecast/forecast_view.h"

#include <malloc.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status.h"
#include "salesops/forecast/view.pb.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops::forecast {

namespace {

constexpr char kOrgNodeKind[] = "accounts.OrgNode";
constexpr char kQuotaKind[] = "accounts.Quota";
constexpr char kStageModelKind[] = "pipeline.StageModel";
constexpr char kOpportunityKind[] = "pipeline.Opportunity";
constexpr char kChangeKind[] = "pipeline.OpportunityChange";
constexpr char kCollectionKind[] = "credit.OpportunityCollection";

constexpr int kMaxDepth = 10'000;

}  // namespace

std::vector<std::string> AccountsKinds() {
  return {kOrgNodeKind, kQuotaKind, kExchangeRateKind};
}
std::vector<std::string> PipelineKinds() {
  return {kStageModelKind, kOpportunityKind, kChangeKind};
}
std::vector<std::string> CreditKinds() { return {kCollectionKind}; }

ForecastView::ForecastView(Store* store, FiscalCalendar calendar,
                           std::string reporting_currency)
    : records_(store),
      calendar_(std::move(calendar)),
      reporting_(std::move(reporting_currency)),
      rates_(reporting_) {}

QuarterKey ForecastView::QuarterOf(absl::CivilDay day) const {
  const FiscalQuarter q = calendar_.QuarterOf(day);
  return MakeQuarterKey(q.fiscal_year, q.quarter);
}

namespace {

// The org tree and stage models of the stored records into `rollup`, the
// nodes' kinds into `kinds`.
absl::Status LoadOrgAndModels(const ForecastStore& records, Rollup& rollup,
                              std::map<std::string, int>& kinds) {
  RETURN_IF_ERROR(records.ScanNodes(
      [&](const std::string& id, const NodeRecord& n) -> absl::Status {
        kinds[id] = n.kind();
        return rollup.SetNode(id, n.parent_id());
      }));
  return records.ScanModels(
      [&](const std::string& id, const ModelRecord& m) -> absl::Status {
        rollup.SetStageModel(id, StagesOf(m));
        return absl::OkStatus();
      });
}

// The stored opportunities into `rollup`, in chunks, each summed per owner
// before it goes up the tree; their number into `*count`.
absl::Status LoadOpportunities(const ForecastStore& records, Rollup& rollup,
                               int64_t* count) {
  constexpr size_t kChunk = 65'536;
  std::vector<OppFacts> chunk;
  chunk.reserve(kChunk);
  const auto flush = [&]() -> absl::Status {
    for (const OppFacts& f : chunk) {
      RETURN_IF_ERROR(rollup.EnsureNode(f.owner_node_id));
    }
    absl::Status s = rollup.AddOpportunities(chunk);
    chunk.clear();
    return s;
  };
  RETURN_IF_ERROR(records.ScanOpportunities(
      [&](const std::string&, const OppRecord& r) -> absl::Status {
        ++*count;
        chunk.push_back(FactsOf(r));
        return chunk.size() < kChunk ? absl::OkStatus() : flush();
      }));
  return flush();
}

}  // namespace

absl::Status ForecastView::CheckReportingCurrency() {
  ASSIGN_OR_RETURN(std::string stored, records_.ReportingCurrency());
  if (stored == reporting_) {
    return absl::OkStatus();
  }
  if (!stored.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the forecast's data dir holds figures converted into ", stored,
        "; --currency=", reporting_,
        " would mix two reporting currencies: start with --currency=", stored,
        " or build the view anew in an empty data dir"));
  }
  return records_.store()
      .Write(SystemActor("forecast:init"),
             [&](WriteTxn& txn) {
               ForecastStore::PutReportingCurrency(txn, reporting_);
               return absl::OkStatus();
             })
      .status();
}

absl::Status ForecastView::LoadRecords(Rollup& rollup,
                                       std::map<std::string, int>& kinds,
                                       int64_t* opportunities) const {
  RETURN_IF_ERROR(LoadOrgAndModels(records_, rollup, kinds));
  RETURN_IF_ERROR(
      records_.ScanQuotas([&](const std::string& node, QuarterKey quarter,
                              const QuotaRecord& r) -> absl::Status {
        return QuotaOp(node, quarter, r)(rollup);
      }));
  RETURN_IF_ERROR(LoadOpportunities(records_, rollup, opportunities));
  return LoadSales(rollup);
}

absl::Status ForecastView::Load() {
  const absl::Time start = absl::Now();
  RETURN_IF_ERROR(CheckReportingCurrency());
  RETURN_IF_ERROR(LoadRates());
  Rollup rollup;
  rollup.SetReportingCurrency(reporting_);
  int64_t opportunities = 0;
  std::map<std::string, int> kinds;
  uint64_t generation = 0;
  loaded_from_snapshot_ = false;
  if (snapshots_) {
    absl::StatusOr<bool> fast = LoadSnapshot(rollup, &generation);
    if (!fast.ok()) {
      log::Error("forecast view: snapshot unusable, loading every record",
                 {{"error", fast.status().ToString()}});
    }
    loaded_from_snapshot_ = fast.ok() && *fast;
  }
  if (loaded_from_snapshot_) {
    RETURN_IF_ERROR(records_.ScanNodes(
        [&](const std::string& id, const NodeRecord& n) -> absl::Status {
          kinds[id] = n.kind();
          return absl::OkStatus();
        }));
  } else {
    rollup = Rollup();
    rollup.SetReportingCurrency(reporting_);
    RETURN_IF_ERROR(LoadRecords(rollup, kinds, &opportunities));
    if (snapshots_) {
      // A generation no record names yet; the next publish may snapshot.
      ASSIGN_OR_RETURN(generation, records_.LastGeneration());
      ++generation;
    }
  }
  log::Info("forecast view loaded",
            {{"nodes", static_cast<int64_t>(kinds.size())},
             {"opportunities", opportunities},
             {"from_snapshot", loaded_from_snapshot_ ? "yes" : "no"},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  {
    std::lock_guard<std::mutex> lock(staged_mu_);
    generation_ = generation;
    stale_ = !loaded_from_snapshot_;
    last_capture_ = loaded_from_snapshot_ ? absl::Now() : absl::InfinitePast();
  }
  {
    std::unique_lock lock(mu_);
    rollup_ = std::move(rollup);
    kinds_ = std::move(kinds);
    if (size_listener_) {
      size_listener_(rollup_.node_count(), rollup_.aggregate_count());
    }
    ReportMissing();
    std::lock_guard<std::mutex> cache(quota_cache_mu_);
    quota_cache_.clear();
  }
  // The load's scratch is freed: hand its pages back (D59).
  malloc_trim(0);
  return absl::OkStatus();
}

void ForecastView::AfterAccountsBatch(bool committed) {
  bool rates_changed = false;
  {
    std::lock_guard<std::mutex> lock(staged_mu_);
    std::swap(rates_changed, rates_staged_);
  }
  if (!committed && rates_changed) {
    // The staged rates did not commit: back to what the store holds.
    if (absl::Status s = LoadRates(); !s.ok()) {
      log::Error("forecast view: rates could not be reloaded",
                 {{"error", s.ToString()}});
    }
  }
  Publish(staged_accounts_.ops, committed, /*org_or_quota=*/true);
}

void ForecastView::AfterPipelineBatch(bool committed) {
  Publish(staged_pipeline_.ops, committed, /*org_or_quota=*/false);
}

void ForecastView::AfterCreditBatch(bool committed) {
  Publish(staged_credit_.ops, committed, /*org_or_quota=*/false);
}

void ForecastView::AfterBatch(Staging& staging, bool committed,
                              bool org_or_quota) {
  Publish(staging.ops, committed, org_or_quota);
}

void ForecastView::Publish(std::vector<Op>& staged, bool committed,
                           bool org_or_quota) {
  std::vector<Op> ops;
  {
    std::lock_guard<std::mutex> lock(staged_mu_);
    ops.swap(staged);
  }
  // Not committed: the consumer applies the batch again from its cursor.
  if (committed) {
    PublishOps(ops, org_or_quota);
  }
  {
    // Only once they are in the Rollup (or dropped): no snapshot is taken
    // between a commit and its publication.
    std::lock_guard<std::mutex> lock(staged_mu_);
    pending_ops_ -= static_cast<int64_t>(ops.size());
  }
  MaybeSnapshot();
}

void ForecastView::PublishOps(std::vector<Op>& ops, bool org_or_quota) {
  std::unique_lock lock(mu_);
  if (org_or_quota) {
    // Under the view's lock: no reader pairs new figures with old quotas.
    std::lock_guard<std::mutex> cache(quota_cache_mu_);
    quota_cache_.clear();
  }
  for (Op& op : ops) {
    if (absl::Status s = op(rollup_); !s.ok()) {
      // Stored but not aggregated: the next restart's Load() recomputes the
      // aggregates from the stored records — so no snapshot of this Rollup
      // may be taken (the last one's pre-images replay this change, fail
      // again, and the restart loads every record).
      snapshots_broken_ = true;
      log::Error("forecast view: an applied event could not be aggregated",
                 {{"error", s.ToString()}});
    }
  }
  if (size_listener_) {
    size_listener_(rollup_.node_count(), rollup_.aggregate_count());
  }
  ReportMissing();
}

absl::Status ForecastView::AddOutOfFunnelSale(
    const std::string& rep_node_id, absl::CivilDay date,
    const v1::Money& amount, std::optional<money::Decimal> rate) {
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(rollup_.EnsureNode(rep_node_id));
  RETURN_IF_ERROR(rollup_.AddOutOfFunnelSale(
      rep_node_id, QuarterOf(date), amount.units_minor(),
      CurrencyOf(amount.currency()), rate));
  ReportMissing();
  if (size_listener_) {
    size_listener_(rollup_.node_count(), rollup_.aggregate_count());
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Reads

absl::StatusOr<int64_t> ForecastView::EffectiveQuotaLocked(
    const std::string& node_id, QuarterKey quarter) const {
  std::lock_guard<std::mutex> cache(quota_cache_mu_);
  auto it = quota_cache_.find({node_id, quarter});
  if (it != quota_cache_.end()) {
    return it->second;
  }
  ASSIGN_OR_RETURN(int64_t q, rollup_.EffectiveQuota(node_id, quarter));
  quota_cache_[{node_id, quarter}] = q;
  return q;
}

absl::StatusOr<NodeAnswer> ForecastView::AnswerLocked(
    const std::string& node_id, QuarterKey quarter) const {
  NodeAnswer a;
  a.node_id = node_id;
  ASSIGN_OR_RETURN(a.figures, rollup_.Figures(node_id, quarter));
  ASSIGN_OR_RETURN(a.quota_minor, EffectiveQuotaLocked(node_id, quarter));
  if (rollup_.missing_quota_count() > 0) {
    // Rare (a quota in a currency without a rate): walk the subtree again.
    RETURN_IF_ERROR(
        rollup_.EffectiveQuota(node_id, quarter, &a.missing_quotas).status());
  }
  return a;
}

absl::Status ForecastView::Read(const std::string& node_id, QuarterKey quarter,
                                bool children, NodeAnswer* node,
                                std::vector<NodeAnswer>* child_answers) const {
  std::shared_lock lock(mu_);
  if (kinds_.count(node_id) == 0) {
    // Known only as an owner or a parent: not delivered by accounts (yet).
    return absl::NotFoundError(absl::StrCat("org node ", node_id));
  }
  ASSIGN_OR_RETURN(*node, AnswerLocked(node_id, quarter));
  for (const auto& [stage, unused] : node->figures.funnel) {
    node->funnel_win_rates_bp.push_back(rollup_.WinRateBp(stage));
  }
  if (children) {
    for (const std::string& child : rollup_.ChildrenOf(node_id)) {
      ASSIGN_OR_RETURN(NodeAnswer a, AnswerLocked(child, quarter));
      child_answers->push_back(std::move(a));
    }
  }
  return absl::OkStatus();
}

absl::Status ForecastView::ReadAll(
    QuarterKey quarter, std::vector<NodeAnswer>* out,
    std::vector<absl::Status>* unreadable) const {
  std::shared_lock lock(mu_);
  out->reserve(out->size() + kinds_.size());
  for (const auto& [id, kind] : kinds_) {
    absl::StatusOr<NodeAnswer> a = AnswerLocked(id, quarter);
    if (a.status().code() == absl::StatusCode::kOutOfRange) {
      unreadable->push_back(a.status());
      continue;
    }
    RETURN_IF_ERROR(a.status());
    out->push_back(std::move(*a));
  }
  return absl::OkStatus();
}

absl::Status ForecastView::Timelines(const std::string& node_id,
                                     const std::string& model_id,
                                     absl::CivilDay created_from,
                                     absl::CivilDay created_to,
                                     std::vector<Timeline>* out) const {
  return records_.Timelines(
      [&](const OppRecord& r) {
        if ((!model_id.empty() && r.stage_model_id() != model_id) ||
            !IsWithin(r.owner_node_id(), node_id)) {
          return false;
        }
        const absl::CivilDay created =
            calendar_.DayOf(absl::FromUnixMicros(r.created_micros()));
        return created >= created_from && created <= created_to;
      },
      out);
}

std::optional<ModelStages> ForecastView::ModelStagesOf(
    const std::string& model_id) const {
  std::optional<ModelRecord> m = records_.FindModel(model_id);
  if (!m) {
    return std::nullopt;
  }
  ModelStages out;
  out.model_id = model_id;
  out.stages = StagesOf(*m);
  return out;
}

std::vector<std::string> ForecastView::ChildrenOf(
    const std::string& node_id) const {
  std::shared_lock lock(mu_);
  return rollup_.ChildrenOf(node_id);
}

bool ForecastView::IsWithin(const std::string& node_id,
                            const std::string& ancestor_id) const {
  std::shared_lock lock(mu_);
  std::string at = node_id;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    if (at == ancestor_id) {
      return true;
    }
    std::optional<std::string> parent = rollup_.ParentOf(at);
    if (!parent || parent->empty()) {
      return false;
    }
    at = *parent;
  }
  return false;
}

std::optional<int> ForecastView::KindOf(const std::string& node_id) const {
  std::shared_lock lock(mu_);
  auto it = kinds_.find(node_id);
  if (it == kinds_.end()) {
    return std::nullopt;
  }
  return it->second;
}

size_t ForecastView::node_count() const {
  std::shared_lock lock(mu_);
  return rollup_.node_count();
}

size_t ForecastView::aggregate_count() const {
  std::shared_lock lock(mu_);
  return rollup_.aggregate_count();
}

}  // namespace salesops::forecast
