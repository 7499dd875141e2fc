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
// Commit() then computes every resulting aggregate on a copy with checked
// money::Add/Sub (and checks closed + pipeline_weighted, so Figures() can
// never overflow), and only when all of them fit swaps them in. Aggregates
// that become all-zero are dropped, so memory follows what is non-zero.
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
  for (const StageFigures& f : agg.slots) {
    if (f.count != 0 || f.amount_minor != 0 || f.weighted_minor != 0) {
      return false;
    }
  }
  return true;
}

absl::Status Rollup::AddAgg(Agg& into, const Agg& d, bool negate) {
  auto acc = [negate](int64_t& x, int64_t y) -> absl::Status {
    if (y == 0) {
      return absl::OkStatus();
    }
    absl::StatusOr<int64_t> r = negate ? money::Sub(x, y) : money::Add(x, y);
    if (!r.ok()) {
      return r.status();
    }
    x = *r;
    return absl::OkStatus();
  };
  absl::Status s = acc(into.closed, d.closed);
  if (s.ok()) s = acc(into.out_of_funnel, d.out_of_funnel);
  if (s.ok()) s = acc(into.collected, d.collected);
  if (s.ok()) s = acc(into.pipeline_weighted, d.pipeline_weighted);
  if (!s.ok()) {
    return s;
  }
  if (into.slots.size() < d.slots.size()) {
    into.slots.resize(d.slots.size());
  }
  for (size_t i = 0; i < d.slots.size(); ++i) {
    s = acc(into.slots[i].count, d.slots[i].count);
    if (s.ok()) s = acc(into.slots[i].amount_minor, d.slots[i].amount_minor);
    if (s.ok()) {
      s = acc(into.slots[i].weighted_minor, d.slots[i].weighted_minor);
    }
    if (!s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
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

absl::Status Rollup::AddToChain(DeltaMap& deltas, int from, int stop,
                                QuarterKey quarter, const Agg& d,
                                bool negate) const {
  for (int n = from; n >= 0 && n != stop; n = nodes_[n].parent) {
    absl::Status s = AddAgg(deltas[DeltaKey(n, quarter)], d, negate);
    if (!s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status Rollup::Commit(const DeltaMap& deltas) {
  std::vector<std::pair<uint64_t, Agg>> results;
  results.reserve(deltas.size());
  for (const auto& [key, d] : deltas) {
    const int n = static_cast<int>(key >> 32);
    const QuarterKey q = static_cast<QuarterKey>(static_cast<uint32_t>(key));
    const auto& aggs = nodes_[n].aggs;
    auto it = aggs.find(q);
    Agg r = it == aggs.end() ? Agg{} : it->second;
    absl::Status s = AddAgg(r, d, /*negate=*/false);
    if (!s.ok()) {
      return s;
    }
    absl::StatusOr<int64_t> forecast =
        money::Add(r.closed, r.pipeline_weighted);
    if (!forecast.ok()) {
      return forecast.status();
    }
    results.emplace_back(key, std::move(r));
  }
  for (auto& [key, r] : results) {
    const int n = static_cast<int>(key >> 32);
    const QuarterKey q = static_cast<QuarterKey>(static_cast<uint32_t>(key));
    auto& aggs = nodes_[n].aggs;
    if (IsZero(r)) {
      aggregate_count_ -= aggs.erase(q);
      continue;
    }
    while (!r.slots.empty() && r.slots.back().count == 0 &&
           r.slots.back().amount_minor == 0 &&
           r.slots.back().weighted_minor == 0) {
      r.slots.pop_back();
    }
    if (aggs.insert_or_assign(q, std::move(r)).second) {
      ++aggregate_count_;
    }
  }
  return absl::OkStatus();
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
      absl::StatusOr<int64_t> w =
          money::WeightBp(facts.amount_minor, slots_[s].applied_bp);
      if (!w.ok()) {
        return w.status();
      }
      d->slots.resize(s + 1);
      d->slots[s] = StageFigures{1, facts.amount_minor, *w};
      d->pipeline_weighted = *w;
      *open_slot = s;
      break;
    }
    case OppFacts::Status::kWon:
      d->closed = facts.amount_minor;
      // Only what was sold counts as collected (an over-payment, or a
      // collection credit still reports after an amount cut, does not).
      d->collected = std::max<int64_t>(
          0, std::min(facts.collected_minor, facts.amount_minor));
      break;
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
  bool created = false;
  if (!parent_id.empty() && p < 0) {
    p = AddNode(parent_id, -1);  // provisional root
    created = true;
  }
  // Lowest common ancestor of the old and the new parent (-1: none).
  auto depth = [this](int x) {
    int d = 0;
    for (; x >= 0; x = nodes_[x].parent) ++d;
    return d;
  };
  int a = old_p;
  int b = p;
  int da = depth(a);
  int db = depth(b);
  for (; da > db; --da) a = nodes_[a].parent;
  for (; db > da; --db) b = nodes_[b].parent;
  while (a != b) {
    a = nodes_[a].parent;
    b = nodes_[b].parent;
  }
  const int lca = a;

  DeltaMap deltas;
  absl::Status s;
  for (const auto& [q, agg] : nodes_[n].aggs) {
    s = AddToChain(deltas, old_p, lca, q, agg, /*negate=*/true);
    if (s.ok()) s = AddToChain(deltas, p, lca, q, agg, /*negate=*/false);
    if (!s.ok()) break;
  }
  if (s.ok()) s = Commit(deltas);
  if (!s.ok()) {
    if (created) {  // the provisional root is the last node and has no children
      node_index_.erase(nodes_.back().id);
      nodes_.pop_back();
    }
    return s;
  }
  if (old_p >= 0) {
    std::vector<int>& siblings = nodes_[old_p].children;
    siblings.erase(std::find(siblings.begin(), siblings.end(), n));
  }
  nodes_[n].parent = p;
  if (p >= 0) {
    nodes_[p].children.push_back(n);
  }
  return absl::OkStatus();
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
  if (amount_minor.has_value()) {
    quotas_[node_id][quarter] = *amount_minor;
    return;
  }
  auto it = quotas_.find(node_id);
  if (it == quotas_.end()) {
    return;
  }
  it->second.erase(quarter);
  if (it->second.empty()) {
    quotas_.erase(it);
  }
}

absl::StatusOr<int64_t> Rollup::EffectiveQuota(const std::string& node_id,
                                               QuarterKey quarter) const {
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
    return q->second;
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
    // Net change of weighted per (owner, quarter), then up the chains.
    std::unordered_map<uint64_t, int64_t> at_owner;
    for (const OppFacts& f : open_in_stage) {
      const int n = FindNode(f.owner_node_id);
      if (n < 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("owner org node \"", f.owner_node_id,
                         "\" is not known to the forecast"));
      }
      absl::StatusOr<int64_t> w_old = money::WeightBp(f.amount_minor, old_bp);
      if (!w_old.ok()) return w_old.status();
      absl::StatusOr<int64_t> w_new = money::WeightBp(f.amount_minor, new_bp);
      if (!w_new.ok()) return w_new.status();
      absl::StatusOr<int64_t> d = money::Sub(*w_new, *w_old);
      if (!d.ok()) return d.status();
      int64_t& acc = at_owner[DeltaKey(n, f.quarter)];
      absl::StatusOr<int64_t> sum = money::Add(acc, *d);
      if (!sum.ok()) return sum.status();
      acc = *sum;
    }
    DeltaMap deltas;
    for (const auto& [key, d] : at_owner) {
      Agg a;
      a.slots.resize(s + 1);
      a.slots[s].weighted_minor = d;
      a.pipeline_weighted = d;
      absl::Status st = AddToChain(
          deltas, static_cast<int>(key >> 32), -1,
          static_cast<QuarterKey>(static_cast<uint32_t>(key)), a, false);
      if (!st.ok()) return st;
    }
    absl::Status st = Commit(deltas);
    if (!st.ok()) return st;
  }
  slots_[s].applied_bp = new_bp;
  slots_[s].model_bp = new_bp;
  return absl::OkStatus();
}

// --- Opportunities. ---

absl::Status Rollup::ApplyOpportunity(const std::optional<OppFacts>& before,
                                      const std::optional<OppFacts>& after) {
  DeltaMap deltas;
  int before_slot = -1;
  int after_slot = -1;
  int n = -1;
  if (before.has_value()) {
    Agg d;
    absl::Status s = Contribution(*before, &n, &d, &before_slot);
    if (s.ok()) {
      s = AddToChain(deltas, n, -1, before->quarter, d, /*negate=*/true);
    }
    if (!s.ok()) return s;
  }
  if (after.has_value()) {
    Agg d;
    absl::Status s = Contribution(*after, &n, &d, &after_slot);
    if (s.ok()) {
      s = AddToChain(deltas, n, -1, after->quarter, d, /*negate=*/false);
    }
    if (!s.ok()) return s;
  }
  absl::Status s = Commit(deltas);
  if (!s.ok()) return s;
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
  std::unordered_map<int, int64_t> opened;
  for (const OppFacts& f : facts) {
    int n = -1;
    int slot = -1;
    Agg d;
    absl::Status s = Contribution(f, &n, &d, &slot);
    if (s.ok()) {
      s = AddAgg(owners[DeltaKey(n, f.quarter)], d, /*negate=*/false);
    }
    if (!s.ok()) return s;
    if (slot >= 0) ++opened[slot];
  }
  DeltaMap deltas;
  for (const auto& [key, d] : owners) {
    const int n = static_cast<int>(key >> 32);
    const QuarterKey q = static_cast<QuarterKey>(static_cast<uint32_t>(key));
    absl::Status s = AddToChain(deltas, n, -1, q, d, /*negate=*/false);
    if (!s.ok()) return s;
  }
  absl::Status s = Commit(deltas);
  if (!s.ok()) return s;
  for (const auto& [slot, k] : opened) {
    slots_[slot].open += k;
  }
  return absl::OkStatus();
}

// --- Out-of-funnel sales. ---

absl::Status Rollup::AddOutOfFunnelSale(const std::string& node_id,
                                        QuarterKey quarter,
                                        int64_t amount_minor) {
  const int n = FindNode(node_id);
  if (n < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "org node \"", node_id, "\" is not known to the forecast"));
  }
  if (amount_minor == 0) {
    return absl::OkStatus();
  }
  Agg d;
  d.closed = amount_minor;
  d.out_of_funnel = amount_minor;
  DeltaMap deltas;
  absl::Status s = AddToChain(deltas, n, -1, quarter, d, /*negate=*/false);
  if (!s.ok()) return s;
  return Commit(deltas);
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
  out.closed_minor = a.closed;
  out.out_of_funnel_minor = a.out_of_funnel;
  out.collected_minor = a.collected;
  out.pipeline_weighted_minor = a.pipeline_weighted;
  out.forecast_minor = a.closed + a.pipeline_weighted;  // checked on write
  const size_t held = a.slots.size();
  for (int s : order_) {
    if (static_cast<size_t>(s) < held && a.slots[s].count > 0) {
      out.funnel.emplace_back(slots_[s].ref, a.slots[s]);
    }
  }
  return out;
}

size_t Rollup::node_count() const { return nodes_.size(); }

size_t Rollup::aggregate_count() const { return aggregate_count_; }

}  // namespace salesops::forecast
