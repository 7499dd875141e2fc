#include "services/forecast/forecast_store.h"

#include <utility>

#include "common/status/status.h"
#include "common/store/key.h"

namespace salesops::forecast {
namespace {

constexpr CfRef kView(Cf::kView);

// Tags inside Cf::kView (forecast_store.h). Never reuse a number.
constexpr uint8_t kNodeTag = 1;
constexpr uint8_t kQuotaTag = 2;
constexpr uint8_t kModelTag = 3;
constexpr uint8_t kOppTag = 4;
constexpr uint8_t kOpenByStageTag = 5;
constexpr uint8_t kChangeTag = 6;
constexpr uint8_t kCollectionTag = 7;

std::string Prefix(uint8_t tag) { return KeyBuilder(tag).key(); }
std::string IdKey(uint8_t tag, std::string_view id) {
  return KeyBuilder(tag).Str(id).key();
}
std::string QuotaKey(std::string_view node, QuarterKey q) {
  return KeyBuilder(kQuotaTag).Str(node).I64(q).key();
}
std::string ChangesOf(std::string_view opp) {
  return KeyBuilder(kChangeTag).Str(opp).key();
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

// Visits every committed record under `prefix`, with a reader past the tag.
template <typename Msg>
absl::Status ScanRecords(
    const Store& store, const std::string& prefix,
    const std::function<absl::Status(KeyReader&, const Msg&)>& visit) {
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

// The record's visitor with the id read off its key.
template <typename Msg>
std::function<absl::Status(KeyReader&, const Msg&)> ById(
    const std::function<absl::Status(const std::string&, const Msg&)>& visit) {
  return [&visit](KeyReader& key, const Msg& m) -> absl::Status {
    std::string id;
    if (!key.Str(&id)) {
      return absl::DataLossError("forecast view: corrupt key");
    }
    return visit(id, m);
  };
}

Timeline TimelineOf(std::string id, const OppRecord& r) {
  Timeline t;
  t.id = std::move(id);
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
  return t;
}

}  // namespace

const std::vector<std::string>& ColumnFamilies() {
  static const auto* names = new std::vector<std::string>{"entities", "view"};
  return *names;
}

// ---------------------------------------------------------------------------
// Records

NodeRecord RecordOf(const v1::OrgNode& node) {
  NodeRecord r;
  r.set_parent_id(node.parent_id());
  r.set_kind(node.kind());
  r.set_name(node.name());
  r.set_manager_principal(node.manager_principal());
  r.set_version(node.version());
  return r;
}

QuotaRecord RecordOf(const v1::Quota& quota) {
  QuotaRecord r;
  r.set_amount_minor(quota.amount().units_minor());
  r.set_version(quota.version());
  r.set_currency(quota.amount().currency());
  return r;
}

ModelRecord RecordOf(const v1::StageModel& model) {
  ModelRecord r;
  for (const v1::Stage& s : model.stages()) {
    StageRate* rate = r.add_stages();
    rate->set_key(s.key());
    rate->set_win_rate_bp(s.win_rate_bp());
  }
  r.set_version(model.version());
  return r;
}

ChangeRecord RecordOf(const v1::OpportunityChange& c) {
  ChangeRecord r;
  r.set_seq(c.seq());
  r.set_kind(c.kind());
  r.set_time_micros(c.time_micros());
  r.set_from(c.from());
  r.set_to(c.to());
  return r;
}

CollectionRecord RecordOf(const v1::OpportunityCollection& c) {
  CollectionRecord r;
  r.set_collected_minor(c.collected().units_minor());
  r.set_version(c.version());
  return r;
}

std::optional<money::Decimal> RateOf(const std::string& currency,
                                     const AppliedRate& rate) {
  if (currency.empty()) return money::kOne;
  if (rate.missing()) return std::nullopt;
  return money::Decimal{rate.mantissa(), rate.scale()};
}

OppFacts FactsOf(const OppRecord& r) {
  OppFacts f;
  f.currency = r.currency();
  f.rate = RateOf(r.currency(), r.rate());
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

bool SameBytes(const google::protobuf::Message& a,
               const google::protobuf::Message& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

// ---------------------------------------------------------------------------
// Keys

std::string ForecastStore::KeyOf(const v1::OrgNode& node) {
  return IdKey(kNodeTag, node.id());
}
std::string ForecastStore::KeyOf(const v1::Quota& quota) {
  return QuotaKey(quota.node_id(),
                  MakeQuarterKey(quota.fiscal_year(), quota.fiscal_quarter()));
}
std::string ForecastStore::KeyOf(const v1::StageModel& model) {
  return IdKey(kModelTag, model.id());
}
std::string ForecastStore::KeyOf(const v1::Opportunity& opportunity) {
  return IdKey(kOppTag, opportunity.id());
}
std::string ForecastStore::KeyOf(const v1::OpportunityChange& change) {
  return KeyBuilder(kChangeTag)
      .Str(change.opportunity_id())
      .I64(change.seq())
      .key();
}
std::string ForecastStore::KeyOf(const v1::OpportunityCollection& c) {
  return IdKey(kCollectionTag, c.opportunity_id());
}

absl::StatusOr<std::string> ForecastStore::IdOf(std::string_view key) {
  KeyReader reader(key);
  uint8_t tag = 0;
  std::string id;
  if (!reader.Tag(&tag) || !reader.Str(&id)) {
    return absl::DataLossError("forecast view: corrupt key");
  }
  return id;
}

absl::Status ForecastStore::QuotaOf(std::string_view key, std::string* node,
                                    QuarterKey* quarter) {
  KeyReader reader(key);
  uint8_t tag = 0;
  int64_t q = 0;
  if (!reader.Tag(&tag) || !reader.Str(node) || !reader.I64(&q)) {
    return absl::DataLossError("forecast view: corrupt quota key");
  }
  *quarter = static_cast<QuarterKey>(q);
  return absl::OkStatus();
}

SortedSweep ForecastStore::SweepOf(ViewCopy copy, const std::string& ns) {
  uint8_t tag = kCollectionTag;
  switch (copy) {
    case ViewCopy::kNodes:
      tag = kNodeTag;
      break;
    case ViewCopy::kQuotas:
      tag = kQuotaTag;
      break;
    case ViewCopy::kModels:
      tag = kModelTag;
      break;
    case ViewCopy::kOpportunities:
      tag = kOppTag;
      break;
    case ViewCopy::kChanges:
      tag = kChangeTag;
      break;
    case ViewCopy::kCollections:
      break;
  }
  // Ids are the first key component, escaped only at NUL bytes (key.h): a
  // namespace without one is a prefix of its ids' keys.
  return SortedSweep(kView, Prefix(tag) + ns);
}

// ---------------------------------------------------------------------------
// Loading

absl::Status ForecastStore::ScanNodes(const NodeFn& visit) const {
  return ScanRecords<NodeRecord>(*store_, Prefix(kNodeTag),
                                 ById<NodeRecord>(visit));
}

absl::Status ForecastStore::ScanQuotas(const QuotaFn& visit) const {
  return ScanRecords<QuotaRecord>(
      *store_, Prefix(kQuotaTag),
      [&](KeyReader& key, const QuotaRecord& r) -> absl::Status {
        std::string node;
        int64_t quarter = 0;
        if (!key.Str(&node) || !key.I64(&quarter)) {
          return absl::DataLossError("forecast view: corrupt quota key");
        }
        return visit(node, static_cast<QuarterKey>(quarter), r);
      });
}

absl::Status ForecastStore::ScanModels(const ModelFn& visit) const {
  return ScanRecords<ModelRecord>(*store_, Prefix(kModelTag),
                                  ById<ModelRecord>(visit));
}

absl::Status ForecastStore::ScanOpportunities(const OppFn& visit) const {
  return ScanRecords<OppRecord>(*store_, Prefix(kOppTag),
                                ById<OppRecord>(visit));
}

// ---------------------------------------------------------------------------
// Reads for the analytics

absl::Status ForecastStore::Timelines(
    const std::function<bool(const OppRecord&)>& keep,
    std::vector<Timeline>* out) const {
  return ScanOpportunities(
      [&](const std::string& id, const OppRecord& r) -> absl::Status {
        if (!keep(r)) {
          return absl::OkStatus();
        }
        Timeline t = TimelineOf(id, r);
        RETURN_IF_ERROR(ScanRecords<ChangeRecord>(
            *store_, ChangesOf(id),
            [&](KeyReader&, const ChangeRecord& c) -> absl::Status {
              t.changes.push_back(Timeline::Change{
                  c.seq(), static_cast<v1::ChangeKind>(c.kind()),
                  c.time_micros(), c.from(), c.to()});
              return absl::OkStatus();
            }));
        out->push_back(std::move(t));
        return absl::OkStatus();
      });
}

std::optional<ModelRecord> ForecastStore::FindModel(
    const std::string& id) const {
  absl::StatusOr<std::optional<std::string>> raw =
      store_->Get(kView, IdKey(kModelTag, id));
  if (!raw.ok() || !*raw) {
    return std::nullopt;
  }
  ModelRecord m;
  if (!m.ParseFromString(**raw)) {
    return std::nullopt;
  }
  return m;
}

// ---------------------------------------------------------------------------
// Inside a transaction

absl::StatusOr<std::optional<NodeRecord>> ForecastStore::FindNode(
    WriteTxn& txn, const std::string& id) {
  return ReadRecord<NodeRecord>(txn, IdKey(kNodeTag, id));
}

absl::StatusOr<std::optional<QuotaRecord>> ForecastStore::FindQuota(
    WriteTxn& txn, const std::string& node, QuarterKey quarter) {
  return ReadRecord<QuotaRecord>(txn, QuotaKey(node, quarter));
}

absl::StatusOr<std::optional<ModelRecord>> ForecastStore::FindModel(
    WriteTxn& txn, const std::string& id) {
  return ReadRecord<ModelRecord>(txn, IdKey(kModelTag, id));
}

absl::StatusOr<std::optional<OppRecord>> ForecastStore::FindOpp(
    const std::string& id) const {
  ASSIGN_OR_RETURN(std::optional<std::string> raw,
                   store_->Get(kView, IdKey(kOppTag, id)));
  if (!raw) {
    return std::nullopt;
  }
  OppRecord r;
  if (!r.ParseFromString(*raw)) {
    return absl::DataLossError("forecast view: corrupt record");
  }
  return r;
}

absl::StatusOr<std::optional<OppRecord>> ForecastStore::FindOpp(
    WriteTxn& txn, const std::string& id) {
  return ReadRecord<OppRecord>(txn, IdKey(kOppTag, id));
}

absl::StatusOr<std::optional<CollectionRecord>> ForecastStore::FindCollection(
    WriteTxn& txn, const std::string& opp_id) {
  return ReadRecord<CollectionRecord>(txn, IdKey(kCollectionTag, opp_id));
}

absl::StatusOr<bool> ForecastStore::MayHaveCollection() const {
  if (collections_.load(std::memory_order_relaxed) == kUnknown) {
    const std::string prefix = Prefix(kCollectionTag);
    bool any = false;
    RETURN_IF_ERROR(store_->Scan(kView, prefix, PrefixSuccessor(prefix),
                                 [&](std::string_view, std::string_view) {
                                   any = true;
                                   return false;
                                 }));
    // A NoteCollection() meanwhile wins.
    int unknown = kUnknown;
    collections_.compare_exchange_strong(unknown, any ? kSome : kNone,
                                         std::memory_order_relaxed);
  }
  return collections_.load(std::memory_order_relaxed) == kSome;
}

absl::Status ForecastStore::OpenInStage(WriteTxn& txn, std::string_view model,
                                        std::string_view stage,
                                        std::vector<OppFacts>* out) {
  const std::string prefix = OpenPrefix(model, stage);
  absl::Status decode;
  RETURN_IF_ERROR(txn.Scan(
      kView, prefix, PrefixSuccessor(prefix),
      [&](std::string_view, std::string_view value) {
        OppRecord o;
        if (!o.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          decode = absl::DataLossError("forecast view: corrupt record");
          return false;
        }
        out->push_back(FactsOf(o));
        return true;
      }));
  return decode;
}

void ForecastStore::PutNode(WriteTxn& txn, const std::string& id,
                            const NodeRecord& r) {
  txn.Put(kView, IdKey(kNodeTag, id), r.SerializeAsString());
}

void ForecastStore::PutQuota(WriteTxn& txn, const std::string& node,
                             QuarterKey quarter, const QuotaRecord& r) {
  txn.Put(kView, QuotaKey(node, quarter), r.SerializeAsString());
}

void ForecastStore::PutModel(WriteTxn& txn, const std::string& id,
                             const ModelRecord& r) {
  txn.Put(kView, IdKey(kModelTag, id), r.SerializeAsString());
}

void ForecastStore::PutOpp(WriteTxn& txn, const std::string& id,
                           const OppRecord& r, const OppRecord* stored) {
  const std::string value = r.SerializeAsString();
  txn.Put(kView, IdKey(kOppTag, id), value);
  if (stored != nullptr) DeleteByRateCopy(txn, id, *stored);
  PutByRateCopy(txn, id, r, value);
  if (stored != nullptr && stored->status() == v1::OPPORTUNITY_STATUS_OPEN) {
    txn.Delete(kView,
               OpenKey(stored->stage_model_id(), stored->stage_key(), id));
  }
  if (r.status() == v1::OPPORTUNITY_STATUS_OPEN) {
    // The copy a win-rate change reads, identical to the record.
    txn.Put(kView, OpenKey(r.stage_model_id(), r.stage_key(), id), value);
  }
}

void ForecastStore::PutChange(WriteTxn& txn, const std::string& key,
                              const ChangeRecord& r) {
  txn.Put(kView, key, r.SerializeAsString());
}

void ForecastStore::PutCollection(WriteTxn& txn, const std::string& opp_id,
                                  const CollectionRecord& r) {
  txn.Put(kView, IdKey(kCollectionTag, opp_id), r.SerializeAsString());
}

void ForecastStore::DeleteOpp(WriteTxn& txn, const std::string& id,
                              const OppRecord& stored) {
  txn.Delete(kView, IdKey(kOppTag, id));
  DeleteByRateCopy(txn, id, stored);
  if (stored.status() == v1::OPPORTUNITY_STATUS_OPEN) {
    txn.Delete(kView, OpenKey(stored.stage_model_id(), stored.stage_key(), id));
  }
}

void ForecastStore::Delete(WriteTxn& txn, std::string_view key) {
  txn.Delete(kView, key);
}

void ForecastStore::DeleteModel(WriteTxn& txn, const std::string& id) {
  txn.Delete(kView, IdKey(kModelTag, id));
}

}  // namespace salesops::forecast
