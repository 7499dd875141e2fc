#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/forecast/rollup.h"
#include "services/forecast/rollup_test_fixture.h"

namespace salesops::forecast {
namespace {

using namespace rollup_testing;  // NOLINT: the shared fixture

// --- 8. Randomized comparison with a brute-force recomputation. ---

int64_t RoundHalfEvenBp(int64_t amount, int32_t bp) {
  const __int128 p = static_cast<__int128>(amount) * bp;
  int64_t q = static_cast<int64_t>(p / 10000);
  const int64_t rem = static_cast<int64_t>(p % 10000);
  if (rem * 2 > 10000 || (rem * 2 == 10000 && q % 2 != 0)) ++q;
  return q;
}

class RandomModel {
 public:
  RandomModel() : rng_(42) {}

  // `restart_every` > 0: every that many operations the engine is replaced
  // by Rollup::Restore of its Snapshot (a restart from a view snapshot, D55),
  // and the brute-force checks go on against the restored one.
  void Run(int ops, int check_every, int restart_every = 0) {
    BuildTree();
    models_["m-a"] = {"A1", "A2", "A3", "A4"};
    models_["m-b"] = {"B1", "B2", "B3"};
    for (const auto& [model, keys] : models_) {
      std::vector<std::pair<std::string, int32_t>> list;
      for (const std::string& k : keys) {
        const int32_t bp = Uniform(0, 10000);
        rates_[StageRef{model, k}] = bp;
        list.emplace_back(k, bp);
      }
      r_.SetStageModel(model, list);
    }
    for (const auto& [model, keys] : models_) {
      for (const std::string& k : keys) stages_.push_back({model, k});
    }
    stages_.push_back({"a-unknown", "U"});  // never recorded: rate 0, last
    quarters_ = {kQ1, kQ2, kQ3};

    for (int i = 1; i <= ops; ++i) {
      Step();
      if (::testing::Test::HasFatalFailure()) return;
      if (restart_every > 0 && i % restart_every == 0) {
        absl::StatusOr<Rollup> restored = Rollup::Restore(r_.Snapshot());
        ASSERT_TRUE(restored.ok()) << restored.status();
        r_ = std::move(*restored);
        ++restarts_;
      }
      if (i % check_every == 0 || i == ops) {
        Check();
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
    // Every kind of operation ran.
    for (int k = 0; k < kKinds; ++k) EXPECT_GT(ran_[k], 0) << "kind " << k;
  }

 private:
  enum Kind {
    kCreate,
    kStage,
    kAmount,
    kQuarter,
    kOwner,
    kWin,
    kLose,
    kReopen,
    kDelete,
    kMove,
    kCycle,
    kRate,
    kOof,
    kReorder,
    kCollect,
    kKinds
  };

  int Uniform(int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng_);
  }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Uniform(0, static_cast<int>(v.size()) - 1)];
  }
  int64_t Amount() {
    return Uniform(0, 1) == 0
               ? Uniform(1, 1000)
               : std::uniform_int_distribution<int64_t>(1, 1'000'000'000)(rng_);
  }

  // A collected amount for an opportunity of `amount`: none, part, all, more.
  int64_t Collect(int64_t amount) {
    switch (Uniform(0, 3)) {
      case 0:
        return 0;
      case 1:
        return std::uniform_int_distribution<int64_t>(1, amount)(rng_);
      case 2:
        return amount;
      default:
        return amount + Uniform(1, 1000);
    }
  }

  void BuildTree() {
    const std::vector<int> level_sizes = {1, 3, 6, 12, 38};
    std::vector<std::string> prev;
    for (size_t l = 0; l < level_sizes.size(); ++l) {
      std::vector<std::string> level;
      for (int i = 0; i < level_sizes[l]; ++i) {
        const std::string id = absl::StrCat("n", l, "-", i);
        const std::string parent = l == 0 ? "" : Pick(prev);
        ASSERT_TRUE(r_.SetNode(id, parent).ok());
        parent_[id] = parent;
        nodes_.push_back(id);
        level.push_back(id);
        if (l + 1 == level_sizes.size()) leaves_.push_back(id);
      }
      prev = level;
    }
  }

  bool InSubtree(const std::string& node, const std::string& root) const {
    for (std::string n = node; !n.empty(); n = parent_.at(n)) {
      if (n == root) return true;
    }
    return false;
  }

  std::string Owner() {
    return Uniform(0, 4) == 0 ? Pick(nodes_) : Pick(leaves_);
  }

  OppFacts NewOpen() {
    return Open(Owner(), Pick(stages_), Amount(), Pick(quarters_));
  }

  void Apply(int id, const std::optional<OppFacts>& after) {
    std::optional<OppFacts> before;
    if (auto it = opps_.find(id); it != opps_.end()) before = it->second;
    ASSERT_TRUE(r_.ApplyOpportunity(before, after).ok());
    if (after) {
      opps_[id] = *after;
    } else {
      opps_.erase(id);
    }
  }

  // A kind of step, drawn by weight.
  int DrawKind() {
    static const std::vector<int> kWeights = {20, 10, 10, 8, 8, 6, 5, 5,
                                              4,  4,  1,  2, 5, 1, 8};
    static const int kTotal = [] {
      int t = 0;
      for (int w : kWeights) t += w;
      return t;
    }();
    int roll = Uniform(0, kTotal - 1);
    int kind = 0;
    while (roll >= kWeights[kind]) roll -= kWeights[kind++];
    return kind;
  }

  void Step() {
    int kind = DrawKind();
    const bool on_an_opp =
        (kind >= kStage && kind <= kDelete) || kind == kCollect;
    if (on_an_opp && opps_.empty()) kind = kCreate;
    ++ran_[kind];
    if (kind == kCreate) {
      Create();
    } else if (on_an_opp) {
      auto it = opps_.begin();
      std::advance(it, Uniform(0, static_cast<int>(opps_.size()) - 1));
      ChangeOpp(kind, it->first, it->second);
    } else {
      ChangeTree(kind);
    }
  }

  void Create() {
    OppFacts n = NewOpen();
    const int s = Uniform(0, 19);
    if (s == 0) n.status = OppFacts::Status::kWon;
    if (s == 1) n.status = OppFacts::Status::kOther;
    if (Uniform(0, 3) == 0) n.collected_minor = Collect(n.amount_minor);
    Apply(next_id_++, n);
  }

  // A step of `kind` on opportunity `id` (a copy of its facts: Apply
  // replaces the stored ones).
  void ChangeOpp(int kind, int id, OppFacts f) {
    switch (kind) {
      case kCollect:
        f.collected_minor = Collect(f.amount_minor);
        break;
      case kStage:
        f.stage = Pick(stages_);
        break;
      case kAmount:
        f.amount_minor = Amount();
        break;
      case kQuarter:
        f.quarter = Pick(quarters_);
        break;
      case kOwner:
        f.owner_node_id = Owner();
        break;
      case kWin:
        f.status = OppFacts::Status::kWon;
        f.quarter = Pick(quarters_);
        break;
      case kLose:
        f.status = OppFacts::Status::kOther;
        break;
      case kReopen:
        f.status = OppFacts::Status::kOpen;
        if (Uniform(0, 1) == 0) f.stage = Pick(stages_);
        break;
      case kDelete:
        Apply(id, std::nullopt);
        return;
    }
    Apply(id, f);
  }

  void ChangeTree(int kind) {
    switch (kind) {
      case kMove:
        return MoveNode();
      case kCycle:
        return TryCycle();
      case kRate:
        return ChangeRate();
      case kOof:
        return AddOof();
      case kReorder:
        return ReorderModel();
    }
  }

  void MoveNode() {
    const std::string node = Pick(nodes_);
    if (parent_[node].empty()) return;  // the root stays the root
    std::vector<std::string> targets;
    for (const std::string& t : nodes_) {
      if (!InSubtree(t, node)) targets.push_back(t);
    }
    const std::string target = Pick(targets);
    ASSERT_TRUE(r_.SetNode(node, target).ok()) << node << " → " << target;
    parent_[node] = target;
  }

  void TryCycle() {
    const std::string node = Pick(nodes_);
    std::vector<std::string> inside;
    for (const std::string& t : nodes_) {
      if (InSubtree(t, node)) inside.push_back(t);
    }
    ASSERT_EQ(r_.SetNode(node, Pick(inside)).code(),
              absl::StatusCode::kFailedPrecondition);
  }

  void ChangeRate() {
    StageRef stage = Pick(stages_);
    if (!rates_.count(stage)) stage = stages_.front();
    const int32_t bp = Uniform(0, 10000);
    std::vector<OppFacts> open;
    for (const auto& [oid, o] : opps_) {
      if (o.status == OppFacts::Status::kOpen && o.stage == stage) {
        open.push_back(o);
      }
    }
    ASSERT_TRUE(r_.ChangeWinRate(stage, bp, open).ok());
    rates_[stage] = bp;
  }

  void AddOof() {
    const std::string node = Owner();
    const QuarterKey q = Pick(quarters_);
    const int64_t amount = Uniform(1, 1'000'000);
    ASSERT_TRUE(r_.AddOutOfFunnelSale(node, q, amount).ok());
    oof_[{node, q}] += amount;
  }

  void ReorderModel() {
    auto it = models_.begin();
    std::advance(it, Uniform(0, static_cast<int>(models_.size()) - 1));
    std::shuffle(it->second.begin(), it->second.end(), rng_);
    std::vector<std::pair<std::string, int32_t>> list;
    for (const std::string& k : it->second) {
      list.emplace_back(k, rates_[StageRef{it->first, k}]);
    }
    r_.SetStageModel(it->first, list);
  }

  struct Expected {
    int64_t closed = 0;
    int64_t oof = 0;
    int64_t collected = 0;
    int64_t pipeline = 0;
    std::map<StageRef, StageFigures> stages;
  };

  // Display rank of a stage: recorded models by id and position, then the
  // rest by model id and key.
  std::pair<int, std::string> Rank(const StageRef& s) const {
    auto m = models_.find(s.model_id);
    if (m != models_.end()) {
      auto k = std::find(m->second.begin(), m->second.end(), s.stage_key);
      if (k != m->second.end()) {
        return {0, absl::StrCat(s.model_id, "\x01",
                                1000 + (k - m->second.begin()))};
      }
    }
    return {1, absl::StrCat(s.model_id, "\x01", s.stage_key)};
  }

  using Want = std::map<std::pair<std::string, QuarterKey>, Expected>;

  // The figures recomputed from scratch, by (node, quarter).
  Want Recompute() {
    Want want;
    for (const auto& [id, o] : opps_) {
      if (o.status == OppFacts::Status::kOther) continue;
      for (std::string n = o.owner_node_id; !n.empty(); n = parent_[n]) {
        Expected& e = want[{n, o.quarter}];
        if (o.status == OppFacts::Status::kWon) {
          e.closed += o.amount_minor;
          e.collected += std::min(o.collected_minor, o.amount_minor);
          continue;
        }
        auto rate = rates_.find(o.stage);
        const int64_t w = RoundHalfEvenBp(
            o.amount_minor, rate == rates_.end() ? 0 : rate->second);
        StageFigures& row = e.stages[o.stage];
        row.count += 1;
        row.amount_minor += o.amount_minor;
        row.weighted_minor += w;
        e.pipeline += w;
      }
    }
    for (const auto& [key, amount] : oof_) {
      for (std::string n = key.first; !n.empty(); n = parent_[n]) {
        Expected& e = want[{n, key.second}];
        e.closed += amount;
        e.oof += amount;
      }
    }
    return want;
  }

  void CheckFigures(const std::string& node, QuarterKey q, const Expected& e) {
    const std::string where =
        absl::StrCat(node, " q", q, " after ", next_id_, " opportunities");
    absl::StatusOr<NodeFigures> got = r_.Figures(node, q);
    ASSERT_TRUE(got.ok()) << where;
    ASSERT_EQ(got->closed_minor, e.closed) << where;
    ASSERT_EQ(got->out_of_funnel_minor, e.oof) << where;
    ASSERT_EQ(got->collected_minor, e.collected) << where;
    ASSERT_EQ(got->pipeline_weighted_minor, e.pipeline) << where;
    ASSERT_EQ(got->forecast_minor, e.closed + e.pipeline) << where;
    std::vector<std::pair<StageRef, StageFigures>> rows(e.stages.begin(),
                                                        e.stages.end());
    std::sort(rows.begin(), rows.end(), [this](auto& a, auto& b) {
      return Rank(a.first) < Rank(b.first);
    });
    ASSERT_EQ(got->funnel.size(), rows.size()) << where;
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& [gs, gr] = got->funnel[i];
      const auto& [ws, wr] = rows[i];
      const std::string row =
          absl::StrCat(where, " row ", i, " ", ws.model_id, "/", ws.stage_key);
      ASSERT_EQ(gs, ws) << row << " got " << gs.model_id << "/" << gs.stage_key;
      ASSERT_EQ(gr.count, wr.count) << row;
      ASSERT_EQ(gr.amount_minor, wr.amount_minor) << row;
      ASSERT_EQ(gr.weighted_minor, wr.weighted_minor) << row;
    }
  }

  void Check() {
    Want want = Recompute();
    size_t non_zero = 0;
    for (const std::string& node : nodes_) {
      ASSERT_EQ(r_.ParentOf(node), parent_[node]);
      std::vector<std::string> children;
      for (const auto& [c, p] : parent_) {
        if (p == node) children.push_back(c);
      }
      ASSERT_EQ(r_.ChildrenOf(node), children) << node;
      for (QuarterKey q : quarters_) {
        const Expected& e = want[{node, q}];
        if (e.closed != 0 || e.oof != 0 || e.collected != 0 ||
            !e.stages.empty()) {
          ++non_zero;
        }
        CheckFigures(node, q, e);
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
    ASSERT_EQ(r_.aggregate_count(), non_zero);
    ASSERT_EQ(r_.node_count(), nodes_.size());
    for (const auto& [stage, bp] : rates_) ASSERT_EQ(r_.WinRateBp(stage), bp);
    ++checks_;
  }

 public:
  int checks_ = 0;
  int restarts_ = 0;

 private:
  std::mt19937 rng_;
  Rollup r_;
  std::vector<std::string> nodes_;
  std::vector<std::string> leaves_;
  std::map<std::string, std::string> parent_;
  std::map<std::string, std::vector<std::string>> models_;
  std::map<StageRef, int32_t> rates_;
  std::vector<StageRef> stages_;
  std::vector<QuarterKey> quarters_;
  std::map<int, OppFacts> opps_;
  std::map<std::pair<std::string, QuarterKey>, int64_t> oof_;
  int next_id_ = 0;
  int ran_[kKinds] = {};
};

TEST(RollupRandomTest, MatchesBruteForceRecomputation) {
  RandomModel model;
  model.Run(/*ops=*/20000, /*check_every=*/500);
  EXPECT_EQ(model.checks_, 40);
}

// The same random history, the engine restored from its snapshot every 37
// operations (so at every kind of state: mid-reorg, re-weighted, ...): every
// check still matches the brute-force recomputation.
TEST(RollupRandomTest, SnapshotRestoreKeepsEveryAnswer) {
  RandomModel model;
  model.Run(/*ops=*/6000, /*check_every=*/250, /*restart_every=*/37);
  EXPECT_EQ(model.checks_, 24);
  EXPECT_EQ(model.restarts_, 6000 / 37);
}

// A snapshot cut short anywhere (a torn write), or not a snapshot at all, is
// DATA_LOSS, never an engine built from part of it.
TEST(RollupSnapshotTest, TruncatedBytesAreDataLoss) {
  Rollup r;
  ASSERT_TRUE(r.SetNode("root", "").ok());
  ASSERT_TRUE(r.SetNode("rep", "root").ok());
  r.SetStageModel("m", {{"S1", 2500}, {"S2", 5000}});
  r.SetQuota("rep", kQ1, 1000);
  OppFacts f;
  f.owner_node_id = "rep";
  f.stage = StageRef{"m", "S2"};
  f.amount_minor = 400;
  f.quarter = kQ1;
  ASSERT_TRUE(r.ApplyOpportunity(std::nullopt, f).ok());
  f.currency = "USD";
  f.rate = std::nullopt;
  ASSERT_TRUE(r.ApplyOpportunity(std::nullopt, f).ok());
  const std::string bytes = r.Snapshot();
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(Rollup::Restore(bytes.substr(0, n)).status().code(),
              absl::StatusCode::kDataLoss)
        << n;
  }
  EXPECT_EQ(Rollup::Restore(bytes + "x").status().code(),
            absl::StatusCode::kDataLoss);
  absl::StatusOr<Rollup> back = Rollup::Restore(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  absl::StatusOr<NodeFigures> got = back->Figures("root", kQ1);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->pipeline_weighted_minor, 200);
  ASSERT_EQ(got->funnel.size(), 1u);
  EXPECT_EQ(got->funnel[0].second.count, 2);
  ASSERT_EQ(got->currencies.size(), 2u);  // EUR, USD
  EXPECT_EQ(got->currencies[1].currency, "USD");
  EXPECT_EQ(got->currencies[1].missing_open_count, 1);
  EXPECT_EQ(back->EffectiveQuota("root", kQ1).value_or(-1), 1000);
  EXPECT_EQ(back->MissingRateCount(), 1);
  EXPECT_EQ(back->aggregate_count(), r.aggregate_count());
}

}  // namespace
}  // namespace salesops::forecast
