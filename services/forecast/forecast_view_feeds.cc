// ForecastView: applying the accounts, pipeline and credit feeds (on the
// commit thread, inside the consumers' transactions) and replacing a feed's
// copy when a follower resyncs. The Rollup changes are staged and published
// after the transaction commits (forecast_view.h).

#include <algorithm>
#include <cstdint>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status.h"
#include "salesops/forecast/view.pb.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/pipeline.pb.h"
#include "services/forecast/forecast_store.h"
#include "services/forecast/forecast_view.h"

namespace salesops::forecast {

namespace {

constexpr char kOrgNodeKind[] = "accounts.OrgNode";
constexpr char kQuotaKind[] = "accounts.Quota";
constexpr char kStageModelKind[] = "pipeline.StageModel";
constexpr char kOpportunityKind[] = "pipeline.Opportunity";
constexpr char kChangeKind[] = "pipeline.OpportunityChange";
constexpr char kCollectionKind[] = "credit.OpportunityCollection";

// The Rollup operation of one opportunity going from `before` to `after`
// (either may be absent). Both owners are ensured: a removed owner may be
// gone from the tree when the operation is published.
std::function<absl::Status(Rollup&)> OppOp(std::optional<OppFacts> before,
                                           std::optional<OppFacts> after) {
  return [before = std::move(before),
          after = std::move(after)](Rollup& rollup) -> absl::Status {
    if (before) RETURN_IF_ERROR(rollup.EnsureNode(before->owner_node_id));
    if (after) RETURN_IF_ERROR(rollup.EnsureNode(after->owner_node_id));
    return rollup.ApplyOpportunity(before, after);
  };
}

}  // namespace

// ---------------------------------------------------------------------------
// One entity at a time (feed events and replacements share these)

absl::Status ForecastView::PutQuota(WriteTxn& txn, const v1::Quota& quota,
                                    bool replace, std::vector<Op>* ops) {
  const QuarterKey q =
      MakeQuarterKey(quota.fiscal_year(), quota.fiscal_quarter());
  ASSIGN_OR_RETURN(std::optional<QuotaRecord> stored,
                   ForecastStore::FindQuota(txn, quota.node_id(), q));
  if (stored && !replace && stored->version() >= quota.version()) {
    return absl::OkStatus();
  }
  QuotaRecord r = RecordOf(quota);
  PriceQuota(q, &r);
  if (stored && SameBytes(*stored, r)) {
    return absl::OkStatus();
  }
  ForecastStore::PutQuota(txn, quota.node_id(), q, r);
  ops->push_back(QuotaOp(quota.node_id(), q, r));
  return absl::OkStatus();
}

absl::Status ForecastView::Reweight(
    WriteTxn& txn, const std::string& model,
    const std::vector<std::pair<std::string, int32_t>>& old_rates,
    const std::vector<std::pair<std::string, int32_t>>& new_rates,
    std::vector<Op>* ops) {
  std::map<std::string, int32_t> old_by_key(old_rates.begin(), old_rates.end());
  std::map<std::string, int32_t> next;  // first listing of a key counts
  for (const auto& [key, bp] : new_rates) next.emplace(key, bp);
  // Stages the model no longer lists are weighted 0, as a reload weights a
  // stage no stored model lists.
  for (const auto& [key, bp] : old_by_key) next.emplace(key, 0);
  for (const auto& [key, bp] : next) {
    // A changed rate re-weights the stage's open opportunities; so does a
    // model's first record when the pipeline feed delivered them first. A
    // stage without any takes up the rate from SetStageModel.
    auto old = old_by_key.find(key);
    if (old != old_by_key.end() && old->second == bp) {
      continue;
    }
    std::vector<OppFacts> open;
    RETURN_IF_ERROR(ForecastStore::OpenInStage(txn, model, key, &open));
    if (open.empty()) {
      continue;
    }
    ops->push_back([stage = StageRef{model, key}, bp = bp,
                    open = std::move(open)](Rollup& rollup) {
      return rollup.ChangeWinRate(stage, bp, open);
    });
  }
  return absl::OkStatus();
}

absl::Status ForecastView::PutModel(WriteTxn& txn, const v1::StageModel& model,
                                    bool replace, std::vector<Op>* ops) {
  ASSIGN_OR_RETURN(std::optional<ModelRecord> stored,
                   ForecastStore::FindModel(txn, model.id()));
  if (stored && !replace && stored->version() >= model.version()) {
    return absl::OkStatus();
  }
  const ModelRecord r = RecordOf(model);
  if (stored && SameBytes(*stored, r)) {
    return absl::OkStatus();
  }
  ForecastStore::PutModel(txn, model.id(), r);
  // Stages whose rate changed re-weight their open opportunities, read as
  // this transaction stores them.
  RETURN_IF_ERROR(Reweight(txn, model.id(),
                           stored
                               ? StagesOf(*stored)
                               : std::vector<std::pair<std::string, int32_t>>{},
                           StagesOf(r), ops));
  ops->push_back([id = model.id(), stages = StagesOf(r)](Rollup& rollup) {
    rollup.SetStageModel(id, stages);
    return absl::OkStatus();
  });
  return absl::OkStatus();
}

absl::Status ForecastView::RemoveModel(WriteTxn& txn, const std::string& id,
                                       std::vector<Op>* ops) {
  ASSIGN_OR_RETURN(std::optional<ModelRecord> stored,
                   ForecastStore::FindModel(txn, id));
  if (!stored) {
    return absl::OkStatus();
  }
  ForecastStore::DeleteModel(txn, id);
  RETURN_IF_ERROR(Reweight(txn, id, StagesOf(*stored), {}, ops));
  ops->push_back([id](Rollup& rollup) {
    rollup.SetStageModel(id, {});
    return absl::OkStatus();
  });
  return absl::OkStatus();
}

OppRecord ForecastView::RecordOfOpportunity(const v1::Opportunity& o) const {
  OppRecord r;
  r.set_owner_node_id(o.owner_node_id());
  r.set_stage_model_id(o.stage_model_id());
  r.set_stage_key(o.stage_key());
  r.set_status(o.status());
  r.set_amount_minor(o.amount().units_minor());
  const v1::Date& d = o.expected_close_date();
  const absl::CivilDay day =
      o.status() == v1::OPPORTUNITY_STATUS_OPEN
          ? absl::CivilDay(d.year(), d.month(), d.day())
          : calendar_.DayOf(absl::FromUnixMicros(o.closed_micros()));
  r.set_quarter(QuarterOf(day));
  r.set_currency(CurrencyOf(o.amount().currency()));
  if (!r.currency().empty() && (o.status() == v1::OPPORTUNITY_STATUS_OPEN ||
                                o.status() == v1::OPPORTUNITY_STATUS_WON)) {
    *r.mutable_rate() = LookupRate(r.currency(), day);
  }
  r.set_version(o.version());
  r.set_created_micros(o.created_micros());
  r.set_source_channel(o.source_channel());
  r.set_close_year(o.expected_close_date().year());
  r.set_close_month(o.expected_close_date().month());
  r.set_close_day(o.expected_close_date().day());
  r.set_closed_micros(o.closed_micros());
  return r;
}

absl::Status ForecastView::PutOpportunity(WriteTxn& txn,
                                          const v1::Opportunity& o,
                                          bool replace, std::vector<Op>* ops) {
  ASSIGN_OR_RETURN(std::optional<OppRecord> stored,
                   ForecastStore::FindOpp(txn, o.id()));
  if (stored && !replace && stored->version() >= o.version()) {
    return absl::OkStatus();
  }
  OppRecord r = RecordOfOpportunity(o);
  if (stored) {
    r.set_collected_minor(stored->collected_minor());
  } else {
    // The credit feed may have delivered its collection first (D60: no
    // read while the store holds no collection at all).
    ASSIGN_OR_RETURN(const bool may, records_.MayHaveCollection());
    std::optional<CollectionRecord> collection;
    if (may) {
      ASSIGN_OR_RETURN(collection, ForecastStore::FindCollection(txn, o.id()));
    }
    if (collection) {
      r.set_collected_minor(collection->collected_minor());
    }
  }
  if (stored && SameBytes(*stored, r)) {
    return absl::OkStatus();
  }
  ForecastStore::PutOpp(txn, o.id(), r, stored ? &*stored : nullptr);
  touched_.emplace_back(o.id(), stored);
  std::optional<OppFacts> before;
  if (stored) {
    before = FactsOf(*stored);
  }
  ops->push_back(OppOp(std::move(before), FactsOf(r)));
  return absl::OkStatus();
}

absl::Status ForecastView::RemoveOpportunity(WriteTxn& txn,
                                             const std::string& id,
                                             std::vector<Op>* ops) {
  ASSIGN_OR_RETURN(std::optional<OppRecord> stored,
                   ForecastStore::FindOpp(txn, id));
  if (!stored) {
    return absl::OkStatus();
  }
  ForecastStore::DeleteOpp(txn, id, *stored);
  touched_.emplace_back(id, stored);
  ops->push_back(OppOp(FactsOf(*stored), std::nullopt));
  return absl::OkStatus();
}

absl::Status ForecastView::PutCollection(WriteTxn& txn,
                                         const v1::OpportunityCollection& c,
                                         bool replace, std::vector<Op>* ops) {
  ASSIGN_OR_RETURN(std::optional<CollectionRecord> stored,
                   ForecastStore::FindCollection(txn, c.opportunity_id()));
  if (stored && !replace && stored->version() >= c.version()) {
    return absl::OkStatus();  // already applied, or older
  }
  const CollectionRecord r = RecordOf(c);
  if (stored && SameBytes(*stored, r)) {
    return absl::OkStatus();
  }
  records_.NoteCollection();  // before the write: MayHaveCollection()
  ForecastStore::PutCollection(txn, c.opportunity_id(), r);
  return SetCollected(txn, c.opportunity_id(), r.collected_minor(), ops);
}

absl::Status ForecastView::SetCollected(WriteTxn& txn,
                                        const std::string& opp_id,
                                        int64_t collected_minor,
                                        std::vector<Op>* ops) {
  ASSIGN_OR_RETURN(std::optional<OppRecord> opp,
                   ForecastStore::FindOpp(txn, opp_id));
  if (!opp || opp->collected_minor() == collected_minor) {
    return absl::OkStatus();  // taken up when the opportunity arrives
  }
  const OppRecord stored = *opp;
  const OppFacts before = FactsOf(*opp);
  opp->set_collected_minor(collected_minor);
  ForecastStore::PutOpp(txn, opp_id, *opp, &stored);
  touched_.emplace_back(opp_id, stored);
  if (opp->status() != v1::OPPORTUNITY_STATUS_WON) {
    return absl::OkStatus();  // counts only once WON
  }
  // Only the collected part differs, an additive delta: it commutes with the
  // pipeline and accounts operations published by the other consumers.
  ops->push_back(OppOp(before, FactsOf(*opp)));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Applying feed events (on the commit thread)

absl::Status ForecastView::Stage(WriteTxn& txn, std::vector<Op>& ops,
                                 Staging& staging, bool stale) {
  std::lock_guard<std::mutex> lock(staged_mu_);
  if (snapshots_ && stale && !ops.empty()) {
    ForecastStore::MarkStale(txn, generation_);
    stale_ = true;
  } else if (snapshots_ && !stale) {
    // Under the lock, so the generation cannot begin between this pre-image
    // and the operations staged with it.
    for (const auto& [id, before] : touched_) {
      ASSIGN_OR_RETURN(
          bool noted, ForecastStore::NotePreImage(txn, generation_, id,
                                                  before ? &*before : nullptr));
      changed_ += noted ? 1 : 0;
    }
  }
  touched_.clear();
  pending_ops_ += static_cast<int64_t>(ops.size());
  for (Op& op : ops) {
    staging.ops.push_back(std::move(op));
  }
  return absl::OkStatus();
}

absl::Status ForecastView::ApplyAccounts(const v1::Event& event,
                                         WriteTxn& txn) {
  return ApplyAccounts(event, txn, staged_accounts_);
}

absl::Status ForecastView::ApplyPipeline(const v1::Event& event,
                                         WriteTxn& txn) {
  return ApplyPipeline(event, txn, staged_pipeline_);
}

absl::Status ForecastView::ApplyCredit(const v1::Event& event, WriteTxn& txn) {
  return ApplyCredit(event, txn, staged_credit_);
}

absl::Status ForecastView::ApplyAccounts(const v1::Event& event, WriteTxn& txn,
                                         Staging& staging) {
  touched_.clear();
  std::vector<Op> ops;
  if (event.kind() == kOrgNodeKind) {
    v1::OrgNode node;
    if (!event.payload().UnpackTo(&node) || node.id().empty()) {
      return absl::DataLossError("not an OrgNode");
    }
    ASSIGN_OR_RETURN(std::optional<NodeRecord> stored,
                     ForecastStore::FindNode(txn, node.id()));
    if (stored && stored->version() >= node.version()) {
      return absl::OkStatus();  // already applied
    }
    ForecastStore::PutNode(txn, node.id(), RecordOf(node));
    const bool moved = !stored || stored->parent_id() != node.parent_id();
    ops.push_back([this, id = node.id(), parent = node.parent_id(),
                   kind = static_cast<int>(node.kind()),
                   moved](Rollup& rollup) -> absl::Status {
      kinds_[id] = kind;
      if (moved || !rollup.HasNode(id)) {
        return rollup.SetNode(id, parent);
      }
      return absl::OkStatus();
    });
  } else if (event.kind() == kQuotaKind) {
    v1::Quota quota;
    if (!event.payload().UnpackTo(&quota) || quota.node_id().empty()) {
      return absl::DataLossError("not a Quota");
    }
    RETURN_IF_ERROR(PutQuota(txn, quota, /*replace=*/false, &ops));
  } else if (event.kind() == kExchangeRateKind) {
    v1::ExchangeRate rate;
    if (!event.payload().UnpackTo(&rate) || rate.currency().empty()) {
      return absl::DataLossError("not an ExchangeRate");
    }
    RETURN_IF_ERROR(PutRate(txn, rate, /*replace=*/false, &ops));
  } else {
    return absl::OkStatus();
  }
  return Stage(txn, ops, staging, /*stale=*/true);
}

absl::Status ForecastView::ApplyPipeline(const v1::Event& event, WriteTxn& txn,
                                         Staging& staging) {
  touched_.clear();
  std::vector<Op> ops;
  const bool model = event.kind() == kStageModelKind;
  if (model) {
    v1::StageModel model;
    if (!event.payload().UnpackTo(&model) || model.id().empty()) {
      return absl::DataLossError("not a StageModel");
    }
    RETURN_IF_ERROR(PutModel(txn, model, /*replace=*/false, &ops));
  } else if (event.kind() == kOpportunityKind) {
    v1::Opportunity o;
    if (!event.payload().UnpackTo(&o) || o.id().empty()) {
      return absl::DataLossError("not an Opportunity");
    }
    RETURN_IF_ERROR(PutOpportunity(txn, o, /*replace=*/false, &ops));
  } else if (event.kind() == kChangeKind) {
    // History is only read by the analytics: stored, never aggregated.
    v1::OpportunityChange c;
    if (!event.payload().UnpackTo(&c) || c.opportunity_id().empty()) {
      return absl::DataLossError("not an OpportunityChange");
    }
    ForecastStore::PutChange(txn, ForecastStore::KeyOf(c), RecordOf(c));
    return absl::OkStatus();
  } else {
    return absl::OkStatus();
  }
  return Stage(txn, ops, staging, /*stale=*/model);
}

absl::Status ForecastView::ApplyCredit(const v1::Event& event, WriteTxn& txn,
                                       Staging& staging) {
  if (event.kind() != kCollectionKind) {
    return absl::OkStatus();
  }
  v1::OpportunityCollection c;
  if (!event.payload().UnpackTo(&c) || c.opportunity_id().empty()) {
    return absl::DataLossError("not an OpportunityCollection");
  }
  touched_.clear();
  std::vector<Op> ops;
  RETURN_IF_ERROR(PutCollection(txn, c, /*replace=*/false, &ops));
  return Stage(txn, ops, staging, /*stale=*/false);
}

}  // namespace salesops::forecast
