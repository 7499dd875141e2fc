// Design note.
//
// Nodes live in a vector (`nodes_`, index = node handle) with an id → index
// map; a node knows its parent index and its children. Each node holds an
// unordered_map quarter → Agg, where Agg is the node's WHOLE-SUBTREE figures
// for that quarter: closed, out-of-funnel, collected, Σ weighted, and a dense
// vector of StageFigures indexed by a stage "slot". Every StageRef the engine
// meets is interned once into `slots_` (a small int), so an aggregate is a few
// int64s plus a short vector, never a map of strings. `order_` lists all slots
// in funnel display order and is rebuilt only when a slot is interned or a
// model is recorded, so Figures() is: one id lookup, one quarter lookup, one
// pass over order_ (O(stages)) — no tree walk, no sort.
//
// Writes are two-phase so that an error (OUT_OF_RANGE above all) leaves the
// engine unchanged: the change is first expressed as per-(node, quarter)
// deltas (a DeltaMap) — the contribution of the old facts negated and that of
// the new facts, each pushed up the owner's ancestor chain, O(depth × stages);
// Commit() then adds them to the aggregates. Aggregates are 128-bit sums of
// int64 amounts, so a change can never overflow and is never dropped (issue
// 16: an amount near INT64_MAX used to be refused here, leaving the stored
// record and the aggregates apart until a restart, whose Load then failed);
// Figures() narrows each figure to int64 and answers OUT_OF_RANGE, for that
// read only, when one does not fit. The checks cost a few comparisons per
// read. Aggregates that become all-zero are dropped, so memory follows what
// is non-zero.
//
// A re-org moves a node's per-quarter aggregates: subtracted from the old
// ancestors and added to the new ones, both only below their lowest common
// ancestor (whose totals do not change): O(depth × quarters × stages).
//
// Weighted amounts are money::WeightBp per opportunity. Each slot keeps the
// rate its aggregates were built with (`applied_bp`) apart from the rate the
// model records (`model_bp`): they only differ when SetStageModel changed the
// rate of a stage that holds open opportunities, which the contract routes
// through ChangeWinRate; until then (or until the stage empties) the old rate
// stays in force, so a `before` contribution is always subtracted with the
// rate it was added with. ChangeWinRate re-weights from applied_bp using the
// caller's facts and checks their number against the slot's engine-wide open
// count.
//
// Collected is one more additive field of the WON contribution (min(collected,
// amount) of each WON opportunity), so it follows every change that moves
// `closed` — win, reopen, owner, quarter, amount, re-org — with no code of its
// own; a collection change is an ApplyOpportunity whose facts differ only in
// collected_minor.
//
// No per-opportunity state is kept. Quotas are kept by node id (they may
// arrive before the node) and the effective quota is computed on read by an
// iterative walk of the subtree (≤ nodes visited).

#include "services/forecast/rollup.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "common/status/macros.h"

namespace salesops::forecast {
namespace {

// An unambiguous single-string key for a StageRef.
std::string SlotKey(const StageRef& stage) {
  std::string key = std::to_string(stage.model_id.size());
  key += ':';
  key += stage.model_id;
  key += stage.stage_key;
  return key;
}

std::string Describe(const StageRef& stage) {
  return absl::StrCat(stage.model_id, "/", stage.stage_key);
}

// Decimal text of a 128-bit sum (for messages).
std::string WideText(__int128 v) {
  if (v == 0) {
    return "0";
  }
  const bool negative = v < 0;
  unsigned __int128 u = negative ? -static_cast<unsigned __int128>(v)
                                 : static_cast<unsigned __int128>(v);
  std::string digits;
  while (u > 0) {
    digits.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  if (negative) {
    digits.push_back('-');
  }
  return std::string(digits.rbegin(), digits.rend());
}

bool FitsInt64(__int128 v) { return v <= INT64_MAX && v >= INT64_MIN; }

}  // namespace

// --- Internals. ---

uint64_t Rollup::DeltaKey(int node, QuarterKey quarter) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(node)) << 32) |
         static_cast<uint32_t>(quarter);
}

bool Rollup::IsZero(const Agg& agg) {
  if (agg.closed != 0 || agg.out_of_funnel != 0 || agg.collected != 0 ||
      agg.pipeline_weighted != 0) {
    return false;
  }
  for (const WideStage& f : agg.slots) {
    if (f.count != 0 || f.amount_minor != 0 || f.weighted_minor != 0) {
      return false;
    }
  }
  for (const WideCurrency& c : agg.currencies) {
    if (!IsZero(c)) return false;
  }
  return true;
}

void Rollup::AddAgg(Agg& into, const Agg& d, bool negate) {
  const Wide sign = negate ? -1 : 1;
  into.closed += sign * d.closed;
  into.out_of_funnel += sign * d.out_of_funnel;
  into.collected += sign * d.collected;
  into.pipeline_weighted += sign * d.pipeline_weighted;
  if (into.slots.size() < d.slots.size()) {
    into.slots.resize(d.slots.size());
  }
  for (size_t i = 0; i < d.slots.size(); ++i) {
    into.slots[i].count += negate ? -d.slots[i].count : d.slots[i].count;
    into.slots[i].amount_minor += sign * d.slots[i].amount_minor;
    into.slots[i].weighted_minor += sign * d.slots[i].weighted_minor;
  }
  if (into.currencies.size() < d.currencies.size()) {
    into.currencies.resize(d.currencies.size());
  }
  for (size_t i = 0; i < d.currencies.size(); ++i) {
    AddCurrency(into.currencies[i], d.currencies[i], negate);
  }
}

int Rollup::FindNode(const std::string& id) const {
  auto it = node_index_.find(id);
  return it == node_index_.end() ? -1 : it->second;
}

int Rollup::AddNode(const std::string& id, int parent) {
  const int n = static_cast<int>(nodes_.size());
  nodes_.emplace_back();
  nodes_.back().id = id;
  nodes_.back().parent = parent;
  node_index_.emplace(id, n);
  if (parent >= 0) {
    nodes_[parent].children.push_back(n);
  }
  return n;
}

int Rollup::FindSlot(const StageRef& stage) const {
  auto it = slot_index_.find(SlotKey(stage));
  return it == slot_index_.end() ? -1 : it->second;
}

int Rollup::InternSlot(const StageRef& stage) {
  auto [it, inserted] =
      slot_index_.emplace(SlotKey(stage), static_cast<int>(slots_.size()));
  if (inserted) {
    slots_.emplace_back();
    slots_.back().ref = stage;
    RebuildOrder();
  }
  return it->second;
}

void Rollup::RebuildOrder() {
  order_.resize(slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    order_[i] = static_cast<int>(i);
  }
  // Stages listed in their model's recorded list first, by model id and
  // position; every other stage (unknown model, or a key its model does not
  // list) last, by model id and key.
  std::sort(order_.begin(), order_.end(), [this](int a, int b) {
    const Slot& x = slots_[a];
    const Slot& y = slots_[b];
    const bool xk = x.position >= 0;
    const bool yk = y.position >= 0;
    if (xk != yk) {
      return xk;
    }
    if (x.ref.model_id != y.ref.model_id) {
      return x.ref.model_id < y.ref.model_id;
    }
    if (xk && x.position != y.position) {
      return x.position < y.position;
    }
    return x.ref.stage_key < y.ref.stage_key;
  });
}

void Rollup::AddToChain(DeltaMap& deltas, int from, int stop,
                        QuarterKey quarter, const Agg& d, bool negate) const {
  for (int n = from; n >= 0 && n != stop; n = nodes_[n].parent) {
    AddAgg(deltas[DeltaKey(n, quarter)], d, negate);
  }
}

void Rollup::Commit(const DeltaMap& deltas) {
  for (const auto& [key, d] : deltas) {
    const int n = static_cast<int>(key >> 32);
    const QuarterKey q = static_cast<QuarterKey>(static_cast<uint32_t>(key));
    auto& aggs = nodes_[n].aggs;
    auto [it, inserted] = aggs.try_emplace(q);
    Agg& r = it->second;
    AddAgg(r, d, /*negate=*/false);
    if (IsZero(r)) {
      aggs.erase(it);
      aggregate_count_ -= inserted ? 0 : 1;
      continue;
    }
    aggregate_count_ += inserted ? 1 : 0;
    while (!r.slots.empty() && r.slots.back().count == 0 &&
           r.slots.back().amount_minor == 0 &&
           r.slots.back().weighted_minor == 0) {
      r.slots.pop_back();
    }
  }
}

absl::Status Rollup::Contribution(const OppFacts& facts, int* node, Agg* d,
                                  int* open_slot) {
  *node = FindNode(facts.owner_node_id);
  if (*node < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("owner org node \"", facts.owner_node_id,
                     "\" is not known to the forecast"));
  }
  *open_slot = -1;
  switch (facts.status) {
    case OppFacts::Status::kOpen: {
      const int s = InternSlot(facts.stage);
      const int32_t bp = slots_[s].applied_bp;
      ASSIGN_OR_RETURN(
          Priced p, Price(facts.currency, facts.rate, facts.amount_minor, bp));
      d->slots.resize(s + 1);
      d->slots[s] = WideStage{1, p.amount, p.weighted};
      d->pipeline_weighted = p.weighted;
      *open_slot = s;
      CurrencyContribution(facts, p, d);
      return absl::OkStatus();
    }
    case OppFacts::Status::kWon: {
      ASSIGN_OR_RETURN(Priced p, Price(facts.currency, facts.rate,
                                       facts.amount_minor, 10000));
      d->closed = p.amount;
      // Only what was sold counts as collected (an over-payment, or a
      // collection credit still reports after an amount cut, does not).
      const int64_t collected = std::max<int64_t>(
          0, std::min(facts.collected_minor, facts.amount_minor));
      ASSIGN_OR_RETURN(Priced c,
                       Price(facts.currency, facts.rate, collected, 10000));
      d->collected = c.amount;
      CurrencyContribution(facts, p, d);
      return absl::OkStatus();
    }
    case OppFacts::Status::kOther:
      break;
  }
  return absl::OkStatus();
}

// --- The org tree. ---

absl::Status Rollup::SetNode(const std::string& id,
                             const std::string& parent_id) {
  if (id.empty()) {
    return absl::InvalidArgumentError("node id: required");
  }
  if (id == parent_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("node ", id, " cannot move under itself"));
  }
  const int n = FindNode(id);
  int p = parent_id.empty() ? -1 : FindNode(parent_id);
  if (n < 0) {
    if (!parent_id.empty() && p < 0) {
      p = AddNode(parent_id, -1);  // provisional root
    }
    AddNode(id, p);
    return absl::OkStatus();
  }
  if (p >= 0) {
    for (int a = p; a >= 0; a = nodes_[a].parent) {
      if (a == n) {
        return absl::FailedPreconditionError(absl::StrCat(
            "node ", id, " cannot move under its own descendant ", parent_id));
      }
    }
  }
  const int old_p = nodes_[n].parent;
  if (p == old_p && (p >= 0 || parent_id.empty())) {
    return absl::OkStatus();  // already there
  }
  if (!parent_id.empty() && p < 0) {
    p = AddNode(parent_id, -1);  // provisional root
  }
  MoveNode(n, p);
  return absl::OkStatus();
}

int Rollup::CommonAncestor(int a, int b) const {
  auto depth = [this](int x) {
    int d = 0;
    for (; x >= 0; x = nodes_[x].parent) ++d;
    return d;
  };
  int da = depth(a);
  int db = depth(b);
  for (; da > db; --da) a = nodes_[a].parent;
  for (; db > da; --db) b = nodes_[b].parent;
  while (a != b) {
    a = nodes_[a].parent;
    b = nodes_[b].parent;
  }
  return a;
}

void Rollup::MoveNode(int n, int p) {
  const int old_p = nodes_[n].parent;
  const int lca = CommonAncestor(old_p, p);
  DeltaMap deltas;
  for (const auto& [q, agg] : nodes_[n].aggs) {
    AddToChain(deltas, old_p, lca, q, agg, /*negate=*/true);
    AddToChain(deltas, p, lca, q, agg, /*negate=*/false);
  }
  Commit(deltas);
  if (old_p >= 0) {
    std::vector<int>& siblings = nodes_[old_p].children;
    siblings.erase(std::find(siblings.begin(), siblings.end(), n));
  }
  nodes_[n].parent = p;
  if (p >= 0) {
    nodes_[p].children.push_back(n);
  }
}

bool Rollup::HasNode(const std::string& id) const { return FindNode(id) >= 0; }

std::optional<std::string> Rollup::ParentOf(const std::string& id) const {
  const int n = FindNode(id);
  if (n < 0) {
    return std::nullopt;
  }
  const int p = nodes_[n].parent;
  return p < 0 ? std::string() : nodes_[p].id;
}

std::vector<std::string> Rollup::ChildrenOf(const std::string& id) const {
  std::vector<std::string> out;
  const int n = FindNode(id);
  if (n < 0) {
    return out;
  }
  out.reserve(nodes_[n].children.size());
  for (int c : nodes_[n].children) {
    out.push_back(nodes_[c].id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// --- Quotas. ---

void Rollup::SetQuota(const std::string& node_id, QuarterKey quarter,
                      std::optional<int64_t> amount_minor) {
  auto it = quotas_.find(node_id);
  if (it != quotas_.end()) {
    auto q = it->second.find(quarter);
    if (q != it->second.end() && !q->second.missing_currency.empty()) {
      --missing_quotas_;
    }
  }
  if (amount_minor.has_value()) {
    quotas_[node_id][quarter] = QuotaEntry{*amount_minor, "", 0};
    return;
  }
  if (it == quotas_.end()) {
    return;
  }
  it->second.erase(quarter);
  if (it->second.empty()) {
    quotas_.erase(it);
  }
}

void Rollup::SetQuotaMissingRate(const std::string& node_id, QuarterKey quarter,
                                 const std::string& currency,
                                 int64_t amount_minor) {
  SetQuota(node_id, quarter, std::nullopt);
  quotas_[node_id][quarter] = QuotaEntry{0, currency, amount_minor};
  ++missing_quotas_;
}

absl::StatusOr<int64_t> Rollup::EffectiveQuota(
    const std::string& node_id, QuarterKey quarter,
    std::vector<MissingQuota>* missing) const {
  const int root = FindNode(node_id);
  if (root < 0) {
    return absl::NotFoundError(
        absl::StrCat("org node \"", node_id, "\" is not known"));
  }
  auto explicit_quota = [&](int n) -> std::optional<int64_t> {
    auto it = quotas_.find(nodes_[n].id);
    if (it == quotas_.end()) return std::nullopt;
    auto q = it->second.find(quarter);
    if (q == it->second.end()) return std::nullopt;
    if (!q->second.missing_currency.empty() && missing != nullptr) {
      missing->push_back(MissingQuota{nodes_[n].id, q->second.missing_currency,
                                      q->second.missing_amount_minor});
    }
    return q->second.amount_minor;
  };
  if (std::optional<int64_t> e = explicit_quota(root)) {
    return *e;
  }
  // Iterative post-order over the nodes without an explicit quota.
  struct Frame {
    int node;
    size_t next;
    int64_t sum;
  };
  std::vector<Frame> stack{{root, 0, 0}};
  while (true) {
    Frame& f = stack.back();
    const std::vector<int>& children = nodes_[f.node].children;
    if (f.next < children.size()) {
      const int c = children[f.next++];
      if (std::optional<int64_t> e = explicit_quota(c)) {
        absl::StatusOr<int64_t> sum = money::Add(f.sum, *e);
        if (!sum.ok()) return sum.status();
        f.sum = *sum;
      } else {
        stack.push_back({c, 0, 0});
      }
      continue;
    }
    const int64_t done = f.sum;
    stack.pop_back();
    if (stack.empty()) {
      return done;
    }
    absl::StatusOr<int64_t> sum = money::Add(stack.back().sum, done);
    if (!sum.ok()) return sum.status();
    stack.back().sum = *sum;
  }
}

// --- Stage models. ---

void Rollup::SetStageModel(const std::string& model_id,
                           const std::vector<std::pair<std::string, int32_t>>&
                               stages_and_win_rates_bp) {
  std::vector<int> old_listed = model_slots_[model_id];
  for (int s : old_listed) {
    slots_[s].position = -1;
    slots_[s].model_bp = 0;
  }
  std::vector<int> listed;
  for (size_t i = 0; i < stages_and_win_rates_bp.size(); ++i) {
    const auto& [key, bp] = stages_and_win_rates_bp[i];
    const int s = InternSlot(StageRef{model_id, key});
    if (slots_[s].position >= 0) {
      continue;  // listed twice: the first one counts
    }
    slots_[s].position = static_cast<int>(i);
    slots_[s].model_bp = bp;
    listed.push_back(s);
  }
  for (const std::vector<int>* list : {&old_listed, &listed}) {
    for (int s : *list) {
      if (slots_[s].open == 0) {
        slots_[s].applied_bp = slots_[s].model_bp;
      }
    }
  }
  model_slots_[model_id] = std::move(listed);
  RebuildOrder();
}

int32_t Rollup::WinRateBp(const StageRef& stage) const {
  const int s = FindSlot(stage);
  return s < 0 ? 0 : slots_[s].applied_bp;
}

absl::Status Rollup::Reweight(int s, int32_t old_bp, int32_t new_bp,
                              const std::vector<OppFacts>& open_in_stage) {
  // Net change of weighted per (owner, quarter), then up the chains.
  DeltaMap at_owner;
  for (const OppFacts& f : open_in_stage) {
    const int n = FindNode(f.owner_node_id);
    if (n < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("owner org node \"", f.owner_node_id,
                       "\" is not known to the forecast"));
    }
    Agg before;
    Agg after;
    for (auto [bp, agg] : {std::pair{old_bp, &before}, {new_bp, &after}}) {
      ASSIGN_OR_RETURN(Priced p, Price(f.currency, f.rate, f.amount_minor, bp));
      agg->slots.resize(s + 1);
      agg->slots[s].weighted_minor = p.weighted;
      agg->pipeline_weighted = p.weighted;
      CurrencyContribution(f, p, agg);
    }
    // Only the weights change: the counts and amounts cancel out.
    Agg& owner = at_owner[DeltaKey(n, f.quarter)];
    AddAgg(owner, after, /*negate=*/false);
    AddAgg(owner, before, /*negate=*/true);
  }
  DeltaMap deltas;
  for (const auto& [key, a] : at_owner) {
    AddToChain(deltas, static_cast<int>(key >> 32), -1,
               static_cast<QuarterKey>(static_cast<uint32_t>(key)), a, false);
  }
  Commit(deltas);
  return absl::OkStatus();
}

absl::Status Rollup::ChangeWinRate(const StageRef& stage, int32_t new_bp,
                                   const std::vector<OppFacts>& open_in_stage) {
  if (new_bp < 0 || new_bp > money::kBasisPointsPerUnit) {
    return absl::InvalidArgumentError(
        absl::StrCat("win_rate_bp: must be 0..10000, got ", new_bp));
  }
  for (size_t i = 0; i < open_in_stage.size(); ++i) {
    const OppFacts& f = open_in_stage[i];
    if (f.status != OppFacts::Status::kOpen) {
      return absl::InvalidArgumentError(
          absl::StrCat("open_in_stage[", i, "]: status must be OPEN"));
    }
    if (!(f.stage == stage)) {
      return absl::InvalidArgumentError(
          absl::StrCat("open_in_stage[", i, "]: stage ", Describe(f.stage),
                       " is not ", Describe(stage)));
    }
  }
  int s = FindSlot(stage);
  const int64_t held = s < 0 ? 0 : slots_[s].open;
  if (static_cast<int64_t>(open_in_stage.size()) != held) {
    return absl::InvalidArgumentError(absl::StrCat(
        "open_in_stage: ", open_in_stage.size(), " facts given, but ", held,
        " open opportunities are held in stage ", Describe(stage)));
  }
  if (s < 0) {
    s = InternSlot(stage);
  }
  const int32_t old_bp = slots_[s].applied_bp;
  if (old_bp != new_bp && !open_in_stage.empty()) {
    RETURN_IF_ERROR(Reweight(s, old_bp, new_bp, open_in_stage));
  }
  slots_[s].applied_bp = new_bp;
  slots_[s].model_bp = new_bp;
  return absl::OkStatus();
}

// --- Opportunities. ---

absl::Status Rollup::ApplyOpportunity(const std::optional<OppFacts>& before,
                                      const std::optional<OppFacts>& after) {
  DeltaMap deltas;
  int64_t missing = 0;  // records counted with a missing rate, net
  int before_slot = -1;
  int after_slot = -1;
  int n = -1;
  if (before.has_value()) {
    Agg d;
    absl::Status s = Contribution(*before, &n, &d, &before_slot);
    if (!s.ok()) return s;
    missing -= MissingIn(d);
    AddToChain(deltas, n, -1, before->quarter, d, /*negate=*/true);
  }
  if (after.has_value()) {
    Agg d;
    absl::Status s = Contribution(*after, &n, &d, &after_slot);
    if (!s.ok()) return s;
    missing += MissingIn(d);
    AddToChain(deltas, n, -1, after->quarter, d, /*negate=*/false);
  }
  Commit(deltas);
  missing_records_ += missing;
  if (before_slot >= 0) --slots_[before_slot].open;
  if (after_slot >= 0) ++slots_[after_slot].open;
  // A stage that empties takes up its model's recorded rate.
  if (before_slot >= 0 && slots_[before_slot].open == 0) {
    slots_[before_slot].applied_bp = slots_[before_slot].model_bp;
  }
  return absl::OkStatus();
}

absl::Status Rollup::AddOpportunities(const std::vector<OppFacts>& facts) {
  DeltaMap owners;  // each owner's sums, per quarter
  int64_t missing = 0;
  std::unordered_map<int, int64_t> opened;
  for (const OppFacts& f : facts) {
    int n = -1;
    int slot = -1;
    Agg d;
    absl::Status s = Contribution(f, &n, &d, &slot);
    if (!s.ok()) return s;
    missing += MissingIn(d);
    AddAgg(owners[DeltaKey(n, f.quarter)], d, /*negate=*/false);
    if (slot >= 0) ++opened[slot];
  }
  DeltaMap deltas;
  for (const auto& [key, d] : owners) {
    const int n = static_cast<int>(key >> 32);
    const QuarterKey q = static_cast<QuarterKey>(static_cast<uint32_t>(key));
    AddToChain(deltas, n, -1, q, d, /*negate=*/false);
  }
  Commit(deltas);
  missing_records_ += missing;
  for (const auto& [slot, k] : opened) {
    slots_[slot].open += k;
  }
  return absl::OkStatus();
}

// --- Out-of-funnel sales. ---

absl::Status Rollup::AddOutOfFunnelSale(const std::string& node_id,
                                        QuarterKey quarter,
                                        int64_t amount_minor,
                                        const std::string& currency,
                                        std::optional<money::Decimal> rate) {
  const int n = FindNode(node_id);
  if (n < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "org node \"", node_id, "\" is not known to the forecast"));
  }
  if (amount_minor == 0) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(Priced p, Price(currency, rate, amount_minor, 10000));
  Agg d;
  d.closed = p.amount;
  d.out_of_funnel = p.amount;
  const int c = InternCurrency(currency.empty() ? reporting_ : currency);
  d.currencies.resize(c + 1);
  WideCurrency& wc = d.currencies[c];
  wc.closed = amount_minor;
  wc.closed_converted = p.amount;
  if (p.missing) {
    wc.missing_closed_count = amount_minor < 0 ? -1 : 1;
    wc.missing_closed_amount = amount_minor;
  }
  DeltaMap deltas;
  AddToChain(deltas, n, -1, quarter, d, /*negate=*/false);
  Commit(deltas);
  missing_records_ += MissingIn(d);
  return absl::OkStatus();
}

// --- Reads. ---

absl::StatusOr<NodeFigures> Rollup::Figures(const std::string& node_id,
                                            QuarterKey quarter) const {
  const int n = FindNode(node_id);
  if (n < 0) {
    return absl::NotFoundError(
        absl::StrCat("org node \"", node_id, "\" is not known"));
  }
  NodeFigures out;
  const auto& aggs = nodes_[n].aggs;
  auto it = aggs.find(quarter);
  if (it == aggs.end()) {
    return out;
  }
  const Agg& a = it->second;
  const Wide forecast = a.closed + a.pipeline_weighted;
  if (!FitsInt64(a.closed) || !FitsInt64(a.out_of_funnel) ||
      !FitsInt64(a.collected) || !FitsInt64(a.pipeline_weighted) ||
      !FitsInt64(forecast)) {
    return TooLarge(node_id, quarter, a, forecast, nullptr);
  }
  out.closed_minor = static_cast<int64_t>(a.closed);
  out.out_of_funnel_minor = static_cast<int64_t>(a.out_of_funnel);
  out.collected_minor = static_cast<int64_t>(a.collected);
  out.pipeline_weighted_minor = static_cast<int64_t>(a.pipeline_weighted);
  out.forecast_minor = static_cast<int64_t>(forecast);
  const size_t held = a.slots.size();
  for (int i : order_) {
    if (static_cast<size_t>(i) >= held || a.slots[i].count <= 0) {
      continue;
    }
    const WideStage& w = a.slots[i];
    if (!FitsInt64(w.amount_minor) || !FitsInt64(w.weighted_minor)) {
      return TooLarge(node_id, quarter, a, forecast, &slots_[i]);
    }
    out.funnel.emplace_back(
        slots_[i].ref,
        StageFigures{w.count, static_cast<int64_t>(w.amount_minor),
                     static_cast<int64_t>(w.weighted_minor)});
  }
  if (absl::Status s = ReadCurrencies(a, &out.currencies); !s.ok()) {
    return absl::OutOfRangeError(
        absl::StrCat(s.message(), " of org node \"", node_id, "\" in fiscal ",
                     quarter / 4, " Q", quarter % 4 + 1));
  }
  return out;
}

absl::Status Rollup::TooLarge(const std::string& node_id, QuarterKey quarter,
                              const Agg& a, Wide forecast,
                              const Slot* slot) const {
  const std::pair<const char*, Wide> figures[] = {
      {"closed", a.closed},
      {"out_of_funnel", a.out_of_funnel},
      {"collected", a.collected},
      {"pipeline_weighted", a.pipeline_weighted},
      {"forecast", forecast}};
  std::string figure;
  Wide value = 0;
  for (const auto& [name, v] : figures) {
    if (!FitsInt64(v)) {
      figure = name;
      value = v;
      break;
    }
  }
  if (slot != nullptr) {
    const WideStage& w = a.slots[slot - &slots_[0]];
    const bool amount = !FitsInt64(w.amount_minor);
    figure = absl::StrCat(amount ? "funnel amount" : "funnel weighted amount",
                          " of stage ", Describe(slot->ref));
    value = amount ? w.amount_minor : w.weighted_minor;
  }
  return absl::OutOfRangeError(
      absl::StrCat(figure, " of org node \"", node_id, "\" in fiscal ",
                   quarter / 4, " Q", quarter % 4 + 1, " is ", WideText(value),
                   " minor units, beyond what an int64 amount can carry"));
}

size_t Rollup::node_count() const { return nodes_.size(); }

size_t Rollup::aggregate_count() const { return aggregate_count_; }

}  // namespace salesops::forecast
