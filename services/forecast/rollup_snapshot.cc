// Rollup::Snapshot and Rollup::Restore (rollup.h; D55): the engine's whole
// state in a flat little-endian binary format, so a restart loads
// O(nodes × quarters × stages) bytes instead of aggregating every stored deal.
//
// Format (version 1): the magic "RLS1", then every member in declaration
// order — scalars as fixed-width little-endian integers (128-bit sums as two
// 64-bit halves), strings and vectors as a u32 length and their elements.
// The id → index maps are written as they are (never recomputed), so a
// restored engine interns and orders exactly as the saved one did. Restore
// checks every length and index against what remains and what exists, and
// answers DATA_LOSS rather than building an engine that could read out of
// bounds.

#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/forecast/rollup.h"

namespace salesops::forecast {
namespace {

constexpr char kMagic[] = "RLS1";

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  template <typename T>
  void Int(T v) {
    static_assert(std::is_integral_v<T>);
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out_->append(b, sizeof(T));
  }
  void Wide(__int128 v) {
    Int(static_cast<uint64_t>(static_cast<unsigned __int128>(v)));
    Int(static_cast<uint64_t>(static_cast<unsigned __int128>(v) >> 64));
  }
  void Str(std::string_view s) {
    Int(static_cast<uint32_t>(s.size()));
    out_->append(s.data(), s.size());
  }

 private:
  std::string* out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <typename T>
  bool Int(T* v) {
    if (in_.size() < sizeof(T)) return ok_ = false;
    std::memcpy(v, in_.data(), sizeof(T));
    in_.remove_prefix(sizeof(T));
    return true;
  }
  bool Wide(__int128* v) {
    uint64_t lo = 0, hi = 0;
    if (!Int(&lo) || !Int(&hi)) return false;
    *v = static_cast<__int128>((static_cast<unsigned __int128>(hi) << 64) | lo);
    return true;
  }
  bool Str(std::string* s) {
    uint32_t n = 0;
    if (!Int(&n) || in_.size() < n) return ok_ = false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  // A count of elements each at least `min_bytes` long: refused when the
  // rest cannot hold them (so a corrupt length never allocates wildly).
  bool Count(uint32_t* n, size_t min_bytes) {
    if (!Int(n)) return false;
    if (static_cast<uint64_t>(*n) * min_bytes > in_.size()) return ok_ = false;
    return true;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }

 private:
  std::string_view in_;
  bool ok_ = true;
};

template <typename Stage>
void PutStage(Writer& w, const Stage& f) {
  w.Int(f.count);
  w.Wide(f.amount_minor);
  w.Wide(f.weighted_minor);
}
template <typename Stage>
bool GetStage(Reader& r, Stage* f) {
  return r.Int(&f->count) && r.Wide(&f->amount_minor) &&
         r.Wide(&f->weighted_minor);
}

template <typename Cur>
void PutCurrency(Writer& w, const Cur& c) {
  w.Int(c.open_count);
  w.Wide(c.pipeline_amount);
  w.Wide(c.pipeline_weighted);
  w.Wide(c.pipeline_weighted_converted);
  w.Int(c.won_count);
  w.Wide(c.closed);
  w.Wide(c.closed_converted);
  w.Int(c.missing_open_count);
  w.Wide(c.missing_open_amount);
  w.Int(c.missing_closed_count);
  w.Wide(c.missing_closed_amount);
}
template <typename Cur>
bool GetCurrency(Reader& r, Cur* c) {
  return r.Int(&c->open_count) && r.Wide(&c->pipeline_amount) &&
         r.Wide(&c->pipeline_weighted) &&
         r.Wide(&c->pipeline_weighted_converted) && r.Int(&c->won_count) &&
         r.Wide(&c->closed) && r.Wide(&c->closed_converted) &&
         r.Int(&c->missing_open_count) && r.Wide(&c->missing_open_amount) &&
         r.Int(&c->missing_closed_count) && r.Wide(&c->missing_closed_amount);
}

template <typename Agg>
void PutAgg(Writer& w, const Agg& a) {
  w.Wide(a.closed);
  w.Wide(a.out_of_funnel);
  w.Wide(a.collected);
  w.Wide(a.pipeline_weighted);
  w.Int(static_cast<uint32_t>(a.slots.size()));
  for (const auto& f : a.slots) PutStage(w, f);
  w.Int(static_cast<uint32_t>(a.currencies.size()));
  for (const auto& c : a.currencies) PutCurrency(w, c);
}
// `slots` and `currencies`: how many exist (an aggregate never holds more).
template <typename Agg>
bool GetAgg(Reader& r, size_t slots, size_t currencies, Agg* a) {
  uint32_t n = 0;
  if (!r.Wide(&a->closed) || !r.Wide(&a->out_of_funnel) ||
      !r.Wide(&a->collected) || !r.Wide(&a->pipeline_weighted) ||
      !r.Count(&n, 40) || n > slots) {
    return false;
  }
  a->slots.resize(n);
  for (auto& f : a->slots) {
    if (!GetStage(r, &f)) return false;
  }
  if (!r.Count(&n, 144) || n > currencies) return false;
  a->currencies.resize(n);
  for (auto& c : a->currencies) {
    if (!GetCurrency(r, &c)) return false;
  }
  return true;
}

// An index vector whose every value is in [lo, size).
bool GetIndices(Reader& r, int lo, size_t size, std::vector<int>* out) {
  uint32_t n = 0;
  if (!r.Count(&n, 4)) return false;
  out->resize(n);
  for (int& i : *out) {
    if (!r.Int(&i) || i < lo || static_cast<size_t>(i) >= size) return false;
  }
  return true;
}
void PutIndices(Writer& w, const std::vector<int>& v) {
  w.Int(static_cast<uint32_t>(v.size()));
  for (int i : v) w.Int(i);
}

// The nodes (each with its aggregates) and the id → index map; parents and
// children must be existing nodes.
template <typename Node, typename Index>
bool GetNodes(Reader& r, size_t slots, size_t currencies,
              std::vector<Node>* nodes, Index* index) {
  uint32_t n = 0;
  if (!r.Count(&n, 16)) return false;
  nodes->resize(n);
  for (size_t i = 0; i < n; ++i) {
    Node& node = (*nodes)[i];
    uint32_t aggs = 0;
    if (!r.Str(&node.id) || !r.Int(&node.parent) || node.parent < -1 ||
        node.parent >= static_cast<int>(n) ||
        !GetIndices(r, 0, n, &node.children) || !r.Count(&aggs, 76)) {
      return false;
    }
    index->emplace(node.id, static_cast<int>(i));
    node.aggs.reserve(aggs);
    for (uint32_t j = 0; j < aggs; ++j) {
      QuarterKey q = 0;
      if (!r.Int(&q) || !GetAgg(r, slots, currencies, &node.aggs[q])) {
        return false;
      }
    }
  }
  return true;
}

// Explicit quotas by node id, then quarter.
template <typename Quotas>
bool GetQuotas(Reader& r, Quotas* quotas) {
  uint32_t n = 0;
  if (!r.Count(&n, 8)) return false;
  for (uint32_t i = 0; i < n; ++i) {
    std::string node;
    uint32_t m = 0;
    if (!r.Str(&node) || !r.Count(&m, 24)) return false;
    auto& by_quarter = (*quotas)[node];
    for (uint32_t j = 0; j < m; ++j) {
      QuarterKey q = 0;
      typename Quotas::mapped_type::mapped_type e;
      if (!r.Int(&q) || !r.Int(&e.amount_minor) ||
          !r.Str(&e.missing_currency) || !r.Int(&e.missing_amount_minor)) {
        return false;
      }
      by_quarter.emplace(q, std::move(e));
    }
  }
  return true;
}

// The stage slots and their index by key.
template <typename Slot, typename Index>
bool GetSlots(Reader& r, std::vector<Slot>* slots, Index* index) {
  uint32_t n = 0;
  if (!r.Count(&n, 28)) return false;
  slots->resize(n);
  for (Slot& s : *slots) {
    if (!r.Str(&s.ref.model_id) || !r.Str(&s.ref.stage_key) ||
        !r.Int(&s.position) || !r.Int(&s.model_bp) || !r.Int(&s.applied_bp) ||
        !r.Int(&s.open)) {
      return false;
    }
  }
  if (!r.Count(&n, 8)) return false;
  for (uint32_t i = 0; i < n; ++i) {
    std::string key;
    int s = 0;
    if (!r.Str(&key) || !r.Int(&s) || s < 0 ||
        static_cast<size_t>(s) >= slots->size()) {
      return false;
    }
    index->emplace(std::move(key), s);
  }
  return true;
}

absl::Status Corrupt(const char* what) {
  return absl::DataLossError(
      std::string("forecast view snapshot: corrupt or truncated ") + what);
}

}  // namespace

std::string Rollup::Snapshot() const {
  std::string out(kMagic, 4);
  Writer w(&out);
  w.Str(reporting_);
  w.Int(reporting_exponent_);
  w.Int(missing_quotas_);
  w.Int(missing_records_);
  w.Int(static_cast<uint64_t>(aggregate_count_));
  w.Int(static_cast<uint32_t>(currency_codes_.size()));
  for (const std::string& c : currency_codes_) w.Str(c);
  w.Int(static_cast<uint32_t>(slots_.size()));
  for (const Slot& s : slots_) {
    w.Str(s.ref.model_id);
    w.Str(s.ref.stage_key);
    w.Int(s.position);
    w.Int(s.model_bp);
    w.Int(s.applied_bp);
    w.Int(s.open);
  }
  w.Int(static_cast<uint32_t>(slot_index_.size()));
  for (const auto& [key, s] : slot_index_) {
    w.Str(key);
    w.Int(s);
  }
  w.Int(static_cast<uint32_t>(model_slots_.size()));
  for (const auto& [model, list] : model_slots_) {
    w.Str(model);
    PutIndices(w, list);
  }
  PutIndices(w, order_);
  w.Int(static_cast<uint32_t>(nodes_.size()));
  for (const Node& n : nodes_) {
    w.Str(n.id);
    w.Int(n.parent);
    PutIndices(w, n.children);
    w.Int(static_cast<uint32_t>(n.aggs.size()));
    for (const auto& [q, a] : n.aggs) {
      w.Int(q);
      PutAgg(w, a);
    }
  }
  w.Int(static_cast<uint32_t>(quotas_.size()));
  for (const auto& [node, by_quarter] : quotas_) {
    w.Str(node);
    w.Int(static_cast<uint32_t>(by_quarter.size()));
    for (const auto& [q, e] : by_quarter) {
      w.Int(q);
      w.Int(e.amount_minor);
      w.Str(e.missing_currency);
      w.Int(e.missing_amount_minor);
    }
  }
  return out;
}

absl::StatusOr<Rollup> Rollup::Restore(std::string_view bytes) {
  if (bytes.substr(0, 4) != std::string_view(kMagic, 4)) {
    return Corrupt("header");
  }
  Reader r(bytes.substr(4));
  Rollup e;
  uint64_t aggregates = 0;
  uint32_t n = 0;
  if (!r.Str(&e.reporting_) || !r.Int(&e.reporting_exponent_) ||
      !r.Int(&e.missing_quotas_) || !r.Int(&e.missing_records_) ||
      !r.Int(&aggregates) || !r.Count(&n, 4)) {
    return Corrupt("totals");
  }
  e.aggregate_count_ = aggregates;
  e.currency_codes_.resize(n);
  for (size_t c = 0; c < n; ++c) {
    if (!r.Str(&e.currency_codes_[c])) return Corrupt("currencies");
    e.currency_index_.emplace(e.currency_codes_[c], static_cast<int>(c));
  }
  if (!GetSlots(r, &e.slots_, &e.slot_index_)) return Corrupt("stages");
  if (!r.Count(&n, 8)) return Corrupt("models");
  for (uint32_t i = 0; i < n; ++i) {
    std::string model;
    std::vector<int> list;
    if (!r.Str(&model) || !GetIndices(r, 0, e.slots_.size(), &list)) {
      return Corrupt("models");
    }
    e.model_slots_.emplace(std::move(model), std::move(list));
  }
  if (!GetIndices(r, 0, e.slots_.size(), &e.order_)) return Corrupt("order");
  if (!GetNodes(r, e.slots_.size(), e.currency_codes_.size(), &e.nodes_,
                &e.node_index_)) {
    return Corrupt("nodes");
  }
  if (!GetQuotas(r, &e.quotas_)) return Corrupt("quotas");
  if (!r.done()) return Corrupt("end");
  return e;
}

}  // namespace salesops::forecast
