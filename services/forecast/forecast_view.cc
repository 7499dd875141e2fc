#include "services/forecast/forecast_view.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status.h"
#include "common/store/key.h"
#include "salesops/forecast/view.pb.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/pipeline.pb.h"
#include "services/forecast/view_records.h"

namespace salesops::forecast {

using namespace records;  // NOLINT: the records are this file's other half

namespace {

constexpr char kOrgNodeKind[] = "accounts.OrgNode";
constexpr char kQuotaKind[] = "accounts.Quota";
constexpr char kStageModelKind[] = "pipeline.StageModel";
constexpr char kOpportunityKind[] = "pipeline.Opportunity";
constexpr char kChangeKind[] = "pipeline.OpportunityChange";
constexpr char kCollectionKind[] = "credit.OpportunityCollection";

constexpr int kMaxDepth = 10'000;

// Visits every stored record under `tag` (at start).
template <typename Msg>
absl::Status ScanRecords(
    const Store& store, uint8_t tag,
    const std::function<absl::Status(KeyReader&, const Msg&)>& visit) {
  const std::string prefix = KeyBuilder(tag).key();
  absl::Status error;
  RETURN_IF_ERROR(store.Scan(
      kView, prefix, PrefixSuccessor(prefix),
      [&](std::string_view key, std::string_view value) {
        Msg m;
        if (!m.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          error = absl::DataLossError("forecast view: corrupt record");
          return false;
        }
        KeyReader reader(key);
        uint8_t key_tag = 0;
        if (!reader.Tag(&key_tag)) {
          error = absl::DataLossError("forecast view: corrupt key");
          return false;
        }
        error = visit(reader, m);
        return error.ok();
      }));
  return error;
}

}  // namespace

const std::vector<std::string>& ColumnFamilies() {
  static const auto* names = new std::vector<std::string>{"entities", "view"};
  return *names;
}

std::vector<std::string> AccountsKinds() { return {kOrgNodeKind, kQuotaKind}; }
std::vector<std::string> PipelineKinds() {
  return {kStageModelKind, kOpportunityKind, kChangeKind};
}
std::vector<std::string> CreditKinds() { return {kCollectionKind}; }

ForecastView::ForecastView(Store* store, FiscalCalendar calendar)
    : store_(store), calendar_(std::move(calendar)) {}

QuarterKey ForecastView::QuarterOf(absl::CivilDay day) const {
  const FiscalQuarter q = calendar_.QuarterOf(day);
  return MakeQuarterKey(q.fiscal_year, q.quarter);
}

namespace {

// The org tree, quotas and stage models of the stored records into `rollup`,
// the nodes' kinds into `kinds`.
absl::Status LoadOrgAndModels(const Store& store, Rollup& rollup,
                              std::map<std::string, int>& kinds) {
  RETURN_IF_ERROR(ScanRecords<NodeRecord>(
      store, kNodeTag,
      [&](KeyReader& key, const NodeRecord& n) -> absl::Status {
        std::string id;
        if (!key.Str(&id)) {
          return absl::DataLossError("forecast view: corrupt node key");
        }
        kinds[id] = n.kind();
        return rollup.SetNode(id, n.parent_id());
      }));
  RETURN_IF_ERROR(ScanRecords<QuotaRecord>(
      store, kQuotaTag,
      [&](KeyReader& key, const QuotaRecord& r) -> absl::Status {
        std::string node;
        int64_t quarter = 0;
        if (!key.Str(&node) || !key.I64(&quarter)) {
          return absl::DataLossError("forecast view: corrupt quota key");
        }
        rollup.SetQuota(node, static_cast<QuarterKey>(quarter),
                        r.amount_minor());
        return absl::OkStatus();
      }));
  return ScanRecords<ModelRecord>(
      store, kModelTag,
      [&](KeyReader& key, const ModelRecord& m) -> absl::Status {
        std::string id;
        if (!key.Str(&id)) {
          return absl::DataLossError("forecast view: corrupt model key");
        }
        rollup.SetStageModel(id, StagesOf(m));
        return absl::OkStatus();
      });
}

// The stored opportunities into `rollup`, in chunks, each summed per owner
// before it goes up the tree; their number into `*count`.
absl::Status LoadOpportunities(const Store& store, Rollup& rollup,
                               int64_t* count) {
  constexpr size_t kChunk = 65'536;
  std::vector<OppFacts> chunk;
  chunk.reserve(kChunk);
  const auto flush = [&]() -> absl::Status {
    for (const OppFacts& f : chunk) {
      RETURN_IF_ERROR(EnsureNode(rollup, f.owner_node_id));
    }
    absl::Status s = rollup.AddOpportunities(chunk);
    chunk.clear();
    return s;
  };
  RETURN_IF_ERROR(ScanRecords<OppRecord>(
      store, kOppTag, [&](KeyReader&, const OppRecord& r) -> absl::Status {
        ++*count;
        chunk.push_back(FactsOf(r));
        return chunk.size() < kChunk ? absl::OkStatus() : flush();
      }));
  return flush();
}

}  // namespace

absl::Status ForecastView::Load() {
  const absl::Time start = absl::Now();
  std::unique_lock lock(mu_);
  Rollup rollup;
  int64_t opportunities = 0;
  std::map<std::string, int> kinds;
  RETURN_IF_ERROR(LoadOrgAndModels(*store_, rollup, kinds));
  RETURN_IF_ERROR(LoadOpportunities(*store_, rollup, &opportunities));
  log::Info("forecast view loaded",
            {{"nodes", static_cast<int64_t>(kinds.size())},
             {"opportunities", opportunities},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  rollup_ = std::move(rollup);
  kinds_ = std::move(kinds);
  if (size_listener_) {
    size_listener_(rollup_.node_count(), rollup_.aggregate_count());
  }
  std::lock_guard<std::mutex> cache(quota_cache_mu_);
  quota_cache_.clear();
  return absl::OkStatus();
}

void ForecastView::AfterAccountsBatch(bool committed) {
  Publish(staged_accounts_, committed, /*org_or_quota=*/true);
}

void ForecastView::AfterPipelineBatch(bool committed) {
  Publish(staged_pipeline_, committed, /*org_or_quota=*/false);
}

void ForecastView::AfterCreditBatch(bool committed) {
  Publish(staged_credit_, committed, /*org_or_quota=*/false);
}

void ForecastView::Publish(std::vector<Op>& staged, bool committed,
                           bool org_or_quota) {
  std::vector<Op> ops;
  {
    std::lock_guard<std::mutex> lock(staged_mu_);
    ops.swap(staged);
  }
  if (!committed) {
    return;  // the consumer applies the batch again from its cursor
  }
  PublishOps(ops, org_or_quota);
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
      // aggregates from the stored records.
      log::Error("forecast view: an applied event could not be aggregated",
                 {{"error", s.ToString()}});
    }
  }
  if (size_listener_) {
    size_listener_(rollup_.node_count(), rollup_.aggregate_count());
  }
}

absl::Status ForecastView::AddOutOfFunnelSale(const std::string& rep_node_id,
                                              absl::CivilDay date,
                                              int64_t amount_minor) {
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(EnsureNode(rollup_, rep_node_id));
  RETURN_IF_ERROR(
      rollup_.AddOutOfFunnelSale(rep_node_id, QuarterOf(date), amount_minor));
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
  const std::string prefix = KeyBuilder(kOppTag).key();
  absl::Status error;
  RETURN_IF_ERROR(store_->Scan(
      kView, prefix, PrefixSuccessor(prefix),
      [&](std::string_view key, std::string_view value) {
        OppRecord r;
        KeyReader reader(key);
        uint8_t tag = 0;
        std::string id;
        if (!r.ParseFromArray(value.data(), static_cast<int>(value.size())) ||
            !reader.Tag(&tag) || !reader.Str(&id)) {
          error = absl::DataLossError("forecast view: corrupt record");
          return false;
        }
        if ((!model_id.empty() && r.stage_model_id() != model_id) ||
            !IsWithin(r.owner_node_id(), node_id)) {
          return true;
        }
        const absl::CivilDay created =
            calendar_.DayOf(absl::FromUnixMicros(r.created_micros()));
        if (created < created_from || created > created_to) {
          return true;
        }
        Timeline t;
        t.id = id;
        t.owner_node_id = r.owner_node_id();
        t.stage_model_id = r.stage_model_id();
        t.source_channel = static_cast<v1::SourceChannel>(r.source_channel());
        t.created_micros = r.created_micros();
        t.stage_key = r.stage_key();
        t.status = static_cast<v1::OpportunityStatus>(r.status());
        t.amount_minor = r.amount_minor();
        t.expected_close =
            absl::CivilDay(r.close_year(), r.close_month(), r.close_day());
        t.closed_micros = r.closed_micros();
        const std::string changes = KeyBuilder(kChangeTag).Str(id).key();
        absl::Status decode;
        absl::Status scan = store_->Scan(
            kView, changes, PrefixSuccessor(changes),
            [&](std::string_view, std::string_view v) {
              ChangeRecord c;
              if (!c.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
                decode = absl::DataLossError("forecast view: corrupt change");
                return false;
              }
              t.changes.push_back(Timeline::Change{
                  c.seq(), static_cast<v1::ChangeKind>(c.kind()),
                  c.time_micros(), c.from(), c.to()});
              return true;
            });
        error = scan.ok() ? decode : scan;
        if (!error.ok()) {
          return false;
        }
        out->push_back(std::move(t));
        return true;
      }));
  return error;
}

std::optional<ModelStages> ForecastView::ModelStagesOf(
    const std::string& model_id) const {
  absl::StatusOr<std::optional<std::string>> raw =
      store_->Get(kView, ModelKey(model_id));
  if (!raw.ok() || !*raw) {
    return std::nullopt;
  }
  ModelRecord m;
  if (!m.ParseFromString(**raw)) {
    return std::nullopt;
  }
  ModelStages out;
  out.model_id = model_id;
  out.stages = StagesOf(m);
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
