#include "services/forecast/forecast_view.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/status/status.h"
#include "common/store/key.h"
#include "salesops/forecast/view.pb.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops::forecast {
namespace {

constexpr CfRef kView(Cf::kView);

// Tags inside Cf::kView. Never reuse a number.
constexpr uint8_t kNodeTag = 1;
constexpr uint8_t kQuotaTag = 2;
constexpr uint8_t kModelTag = 3;
constexpr uint8_t kOppTag = 4;
// Copies of OPEN opportunities' records by (model, stage, id): what a win-rate
// change re-weights.
constexpr uint8_t kOpenByStageTag = 5;
// History entries by (opportunity id, seq), for the analytics.
constexpr uint8_t kChangeTag = 6;
// Collections (credit feed) by opportunity id.
constexpr uint8_t kCollectionTag = 7;

constexpr char kOrgNodeKind[] = "accounts.OrgNode";
constexpr char kQuotaKind[] = "accounts.Quota";
constexpr char kStageModelKind[] = "pipeline.StageModel";
constexpr char kOpportunityKind[] = "pipeline.Opportunity";
constexpr char kChangeKind[] = "pipeline.OpportunityChange";
constexpr char kCollectionKind[] = "credit.OpportunityCollection";

constexpr int kMaxDepth = 10'000;

std::string NodeKey(std::string_view id) {
  return KeyBuilder(kNodeTag).Str(id).key();
}
std::string QuotaKey(std::string_view node, QuarterKey q) {
  return KeyBuilder(kQuotaTag).Str(node).I64(q).key();
}
std::string ModelKey(std::string_view id) {
  return KeyBuilder(kModelTag).Str(id).key();
}
std::string OppKey(std::string_view id) {
  return KeyBuilder(kOppTag).Str(id).key();
}
std::string CollectionKey(std::string_view opp) {
  return KeyBuilder(kCollectionTag).Str(opp).key();
}
std::string ChangeKey(std::string_view opp, int64_t seq) {
  return KeyBuilder(kChangeTag).Str(opp).I64(seq).key();
}
std::string OpenPrefix(std::string_view model, std::string_view stage) {
  return KeyBuilder(kOpenByStageTag).Str(model).Str(stage).key();
}
std::string OpenKey(std::string_view model, std::string_view stage,
                    std::string_view id) {
  return KeyBuilder(kOpenByStageTag).Str(model).Str(stage).Str(id).key();
}

template <typename Msg>
absl::StatusOr<std::optional<Msg>> ReadRecord(WriteTxn& txn,
                                              const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<std::string> raw, txn.Get(kView, key));
  if (!raw) {
    return std::nullopt;
  }
  Msg m;
  if (!m.ParseFromString(*raw)) {
    return absl::DataLossError("forecast view: corrupt record");
  }
  return m;
}

// An owner the accounts feed has not delivered yet (the pipeline feed is
// ahead) hangs as a provisional root until its own event places it.
absl::Status EnsureNode(Rollup& rollup, const std::string& id) {
  return rollup.HasNode(id) ? absl::OkStatus() : rollup.SetNode(id, "");
}

OppFacts FactsOf(const OppRecord& r) {
  OppFacts f;
  f.owner_node_id = r.owner_node_id();
  f.stage = {r.stage_model_id(), r.stage_key()};
  f.status = r.status() == v1::OPPORTUNITY_STATUS_OPEN ? OppFacts::Status::kOpen
             : r.status() == v1::OPPORTUNITY_STATUS_WON
                 ? OppFacts::Status::kWon
                 : OppFacts::Status::kOther;
  f.amount_minor = r.amount_minor();
  f.quarter = r.quarter();
  f.collected_minor = r.collected_minor();
  return f;
}

std::vector<std::pair<std::string, int32_t>> StagesOf(const ModelRecord& m) {
  std::vector<std::pair<std::string, int32_t>> out;
  out.reserve(m.stages_size());
  for (const StageRate& s : m.stages()) {
    out.emplace_back(s.key(), s.win_rate_bp());
  }
  return out;
}

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

absl::Status ForecastView::Load() {
  const absl::Time start = absl::Now();
  std::unique_lock lock(mu_);
  Rollup rollup;
  int64_t opportunities = 0;
  std::map<std::string, int> kinds;
  RETURN_IF_ERROR(ScanRecords<NodeRecord>(
      *store_, kNodeTag,
      [&](KeyReader& key, const NodeRecord& n) -> absl::Status {
        std::string id;
        if (!key.Str(&id)) {
          return absl::DataLossError("forecast view: corrupt node key");
        }
        kinds[id] = n.kind();
        return rollup.SetNode(id, n.parent_id());
      }));
  RETURN_IF_ERROR(ScanRecords<QuotaRecord>(
      *store_, kQuotaTag,
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
  RETURN_IF_ERROR(ScanRecords<ModelRecord>(
      *store_, kModelTag,
      [&](KeyReader& key, const ModelRecord& m) -> absl::Status {
        std::string id;
        if (!key.Str(&id)) {
          return absl::DataLossError("forecast view: corrupt model key");
        }
        rollup.SetStageModel(id, StagesOf(m));
        return absl::OkStatus();
      }));
  // In chunks, each summed per owner before it goes up the tree.
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
      *store_, kOppTag, [&](KeyReader&, const OppRecord& r) -> absl::Status {
        ++opportunities;
        chunk.push_back(FactsOf(r));
        return chunk.size() < kChunk ? absl::OkStatus() : flush();
      }));
  RETURN_IF_ERROR(flush());
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

// ---------------------------------------------------------------------------
// Applying feed events (on the commit thread)

absl::Status ForecastView::ApplyAccounts(const v1::Event& event,
                                         WriteTxn& txn) {
  std::vector<Op> ops;
  if (event.kind() == kOrgNodeKind) {
    v1::OrgNode node;
    if (!event.payload().UnpackTo(&node) || node.id().empty()) {
      return absl::DataLossError("not an OrgNode");
    }
    ASSIGN_OR_RETURN(std::optional<NodeRecord> stored,
                     ReadRecord<NodeRecord>(txn, NodeKey(node.id())));
    if (stored && stored->version() >= node.version()) {
      return absl::OkStatus();  // already applied
    }
    NodeRecord r;
    r.set_parent_id(node.parent_id());
    r.set_kind(node.kind());
    r.set_name(node.name());
    r.set_manager_principal(node.manager_principal());
    r.set_version(node.version());
    txn.Put(kView, NodeKey(node.id()), r.SerializeAsString());
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
    const QuarterKey q =
        MakeQuarterKey(quota.fiscal_year(), quota.fiscal_quarter());
    const std::string key = QuotaKey(quota.node_id(), q);
    ASSIGN_OR_RETURN(std::optional<QuotaRecord> stored,
                     ReadRecord<QuotaRecord>(txn, key));
    if (stored && stored->version() >= quota.version()) {
      return absl::OkStatus();
    }
    QuotaRecord r;
    r.set_amount_minor(quota.amount().units_minor());
    r.set_version(quota.version());
    txn.Put(kView, key, r.SerializeAsString());
    ops.push_back(
        [node = quota.node_id(), q, amount = r.amount_minor()](Rollup& rollup) {
          rollup.SetQuota(node, q, amount);
          return absl::OkStatus();
        });
  } else {
    return absl::OkStatus();
  }
  std::lock_guard<std::mutex> lock(staged_mu_);
  for (Op& op : ops) {
    staged_accounts_.push_back(std::move(op));
  }
  return absl::OkStatus();
}

absl::Status ForecastView::ApplyPipeline(const v1::Event& event,
                                         WriteTxn& txn) {
  std::vector<Op> ops;
  if (event.kind() == kStageModelKind) {
    v1::StageModel model;
    if (!event.payload().UnpackTo(&model) || model.id().empty()) {
      return absl::DataLossError("not a StageModel");
    }
    ASSIGN_OR_RETURN(std::optional<ModelRecord> stored,
                     ReadRecord<ModelRecord>(txn, ModelKey(model.id())));
    if (stored && stored->version() >= model.version()) {
      return absl::OkStatus();
    }
    ModelRecord r;
    for (const v1::Stage& s : model.stages()) {
      StageRate* rate = r.add_stages();
      rate->set_key(s.key());
      rate->set_win_rate_bp(s.win_rate_bp());
    }
    r.set_version(model.version());
    txn.Put(kView, ModelKey(model.id()), r.SerializeAsString());
    // Stages whose rate changed re-weight their open opportunities, read as
    // this transaction stores them.
    std::map<std::string, int32_t> old_rates;
    if (stored) {
      for (const StageRate& s : stored->stages()) {
        old_rates[s.key()] = s.win_rate_bp();
      }
    }
    for (const StageRate& s : r.stages()) {
      // A changed rate re-weights the stage; so does a model's first record
      // when the pipeline feed delivered its opportunities first.
      auto old = old_rates.find(s.key());
      if (old != old_rates.end() && old->second == s.win_rate_bp()) {
        continue;
      }
      std::vector<OppFacts> open;
      const std::string prefix = OpenPrefix(model.id(), s.key());
      absl::Status decode;
      RETURN_IF_ERROR(txn.Scan(
          kView, prefix, PrefixSuccessor(prefix),
          [&](std::string_view, std::string_view value) {
            OppRecord o;
            if (!o.ParseFromArray(value.data(),
                                  static_cast<int>(value.size()))) {
              decode = absl::DataLossError("forecast view: corrupt record");
              return false;
            }
            open.push_back(FactsOf(o));
            return true;
          }));
      RETURN_IF_ERROR(decode);
      if (open.empty() && old == old_rates.end()) {
        continue;
      }
      ops.push_back([stage = StageRef{model.id(), s.key()},
                     bp = s.win_rate_bp(),
                     open = std::move(open)](Rollup& rollup) {
        return rollup.ChangeWinRate(stage, bp, open);
      });
    }
    ops.push_back([id = model.id(), stages = StagesOf(r)](Rollup& rollup) {
      rollup.SetStageModel(id, stages);
      return absl::OkStatus();
    });
  } else if (event.kind() == kOpportunityKind) {
    v1::Opportunity o;
    if (!event.payload().UnpackTo(&o) || o.id().empty()) {
      return absl::DataLossError("not an Opportunity");
    }
    ASSIGN_OR_RETURN(std::optional<OppRecord> stored,
                     ReadRecord<OppRecord>(txn, OppKey(o.id())));
    if (stored && stored->version() >= o.version()) {
      return absl::OkStatus();
    }
    OppRecord r;
    r.set_owner_node_id(o.owner_node_id());
    r.set_stage_model_id(o.stage_model_id());
    r.set_stage_key(o.stage_key());
    r.set_status(o.status());
    r.set_amount_minor(o.amount().units_minor());
    if (o.status() == v1::OPPORTUNITY_STATUS_OPEN) {
      const v1::Date& d = o.expected_close_date();
      r.set_quarter(QuarterOf(absl::CivilDay(d.year(), d.month(), d.day())));
    } else {
      r.set_quarter(
          QuarterOf(calendar_.DayOf(absl::FromUnixMicros(o.closed_micros()))));
    }
    r.set_version(o.version());
    r.set_created_micros(o.created_micros());
    r.set_source_channel(o.source_channel());
    r.set_close_year(o.expected_close_date().year());
    r.set_close_month(o.expected_close_date().month());
    r.set_close_day(o.expected_close_date().day());
    r.set_closed_micros(o.closed_micros());
    if (stored) {
      r.set_collected_minor(stored->collected_minor());
    } else {
      // The credit feed may have delivered its collection first.
      ASSIGN_OR_RETURN(
          std::optional<CollectionRecord> collection,
          ReadRecord<CollectionRecord>(txn, CollectionKey(o.id())));
      if (collection) {
        r.set_collected_minor(collection->collected_minor());
      }
    }
    const std::string value = r.SerializeAsString();
    txn.Put(kView, OppKey(o.id()), value);
    if (stored && stored->status() == v1::OPPORTUNITY_STATUS_OPEN) {
      txn.Delete(kView, OpenKey(stored->stage_model_id(), stored->stage_key(),
                                o.id()));
    }
    if (r.status() == v1::OPPORTUNITY_STATUS_OPEN) {
      txn.Put(kView, OpenKey(r.stage_model_id(), r.stage_key(), o.id()), value);
    }
    std::optional<OppFacts> before;
    if (stored) {
      before = FactsOf(*stored);
    }
    ops.push_back(
        [before = std::move(before), after = FactsOf(r)](Rollup& rollup) {
          RETURN_IF_ERROR(EnsureNode(rollup, after.owner_node_id));
          return rollup.ApplyOpportunity(before, after);
        });
  } else if (event.kind() == kChangeKind) {
    // History is only read by the analytics: stored, never aggregated.
    v1::OpportunityChange c;
    if (!event.payload().UnpackTo(&c) || c.opportunity_id().empty()) {
      return absl::DataLossError("not an OpportunityChange");
    }
    ChangeRecord r;
    r.set_seq(c.seq());
    r.set_kind(c.kind());
    r.set_time_micros(c.time_micros());
    r.set_from(c.from());
    r.set_to(c.to());
    txn.Put(kView, ChangeKey(c.opportunity_id(), c.seq()),
            r.SerializeAsString());
    return absl::OkStatus();
  } else {
    return absl::OkStatus();
  }
  std::lock_guard<std::mutex> lock(staged_mu_);
  for (Op& op : ops) {
    staged_pipeline_.push_back(std::move(op));
  }
  return absl::OkStatus();
}

absl::Status ForecastView::SetCollected(WriteTxn& txn,
                                        const std::string& opp_id,
                                        int64_t collected_minor,
                                        std::vector<Op>* ops) {
  ASSIGN_OR_RETURN(std::optional<OppRecord> opp,
                   ReadRecord<OppRecord>(txn, OppKey(opp_id)));
  if (!opp || opp->collected_minor() == collected_minor) {
    return absl::OkStatus();  // taken up when the opportunity arrives
  }
  const OppFacts before = FactsOf(*opp);
  opp->set_collected_minor(collected_minor);
  const std::string value = opp->SerializeAsString();
  txn.Put(kView, OppKey(opp_id), value);
  if (opp->status() == v1::OPPORTUNITY_STATUS_OPEN) {
    // Keep the copy a win-rate change reads identical to the record.
    txn.Put(kView, OpenKey(opp->stage_model_id(), opp->stage_key(), opp_id),
            value);
  }
  if (opp->status() != v1::OPPORTUNITY_STATUS_WON) {
    return absl::OkStatus();  // counts only once WON
  }
  // Only the collected part differs, an additive delta: it commutes with the
  // pipeline and accounts operations published by the other consumers.
  ops->push_back([before, after = FactsOf(*opp)](Rollup& rollup) {
    RETURN_IF_ERROR(EnsureNode(rollup, after.owner_node_id));
    return rollup.ApplyOpportunity(before, after);
  });
  return absl::OkStatus();
}

absl::Status ForecastView::ApplyCredit(const v1::Event& event, WriteTxn& txn) {
  if (event.kind() != kCollectionKind) {
    return absl::OkStatus();
  }
  v1::OpportunityCollection c;
  if (!event.payload().UnpackTo(&c) || c.opportunity_id().empty()) {
    return absl::DataLossError("not an OpportunityCollection");
  }
  const std::string key = CollectionKey(c.opportunity_id());
  ASSIGN_OR_RETURN(std::optional<CollectionRecord> stored,
                   ReadRecord<CollectionRecord>(txn, key));
  if (stored && stored->version() >= c.version()) {
    return absl::OkStatus();  // already applied, or older
  }
  CollectionRecord r;
  r.set_collected_minor(c.collected().units_minor());
  r.set_version(c.version());
  txn.Put(kView, key, r.SerializeAsString());
  std::vector<Op> ops;
  RETURN_IF_ERROR(
      SetCollected(txn, c.opportunity_id(), r.collected_minor(), &ops));
  std::lock_guard<std::mutex> lock(staged_mu_);
  for (Op& op : ops) {
    staged_credit_.push_back(std::move(op));
  }
  return absl::OkStatus();
}

absl::Status ForecastView::ReplaceCollections(
    const std::vector<v1::OpportunityCollection>& collections,
    uint64_t cursor) {
  // The list is credit's whole state: the newest version of each
  // opportunity's collection (by id), nothing for one it does not list.
  std::map<std::string, const v1::OpportunityCollection*> next;
  for (const v1::OpportunityCollection& c : collections) {
    if (c.opportunity_id().empty()) {
      return absl::DataLossError(
          "credit: a listed collection has no opportunity_id");
    }
    auto [it, inserted] = next.emplace(c.opportunity_id(), &c);
    if (!inserted && it->second->version() < c.version()) {
      it->second = &c;
    }
  }
  std::vector<Op> ops;
  absl::Status written =
      store_
          ->Write(SystemActor("resync:credit"),
                  [&](WriteTxn& txn) -> absl::Status {
                    ops.clear();
                    std::vector<std::string> gone;
                    const std::string prefix = KeyBuilder(kCollectionTag).key();
                    absl::Status decode;
                    RETURN_IF_ERROR(txn.Scan(
                        kView, prefix, PrefixSuccessor(prefix),
                        [&](std::string_view key, std::string_view) {
                          KeyReader reader(key);
                          uint8_t tag = 0;
                          std::string id;
                          if (!reader.Tag(&tag) || !reader.Str(&id)) {
                            decode = absl::DataLossError(
                                "forecast view: corrupt collection key");
                            return false;
                          }
                          if (next.count(id) == 0) {
                            gone.push_back(std::move(id));
                          }
                          return true;
                        }));
                    RETURN_IF_ERROR(decode);
                    for (const std::string& id : gone) {
                      txn.Delete(kView, CollectionKey(id));
                      RETURN_IF_ERROR(SetCollected(txn, id, 0, &ops));
                    }
                    for (const auto& [id, c] : next) {
                      CollectionRecord r;
                      r.set_collected_minor(c->collected().units_minor());
                      r.set_version(c->version());
                      txn.Put(kView, CollectionKey(id), r.SerializeAsString());
                      RETURN_IF_ERROR(
                          SetCollected(txn, id, r.collected_minor(), &ops));
                    }
                    txn.PutCursor(kCreditSource, cursor);
                    return absl::OkStatus();
                  })
          .status();
  if (written.ok()) {
    PublishOps(ops, /*org_or_quota=*/false);
    log::Info("forecast view: collections replaced from credit",
              {{"collections", static_cast<int64_t>(next.size())},
               {"cursor", static_cast<int64_t>(cursor)}});
  }
  return written;
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
