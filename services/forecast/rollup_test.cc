#include "services/forecast/rollup.h"

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

namespace salesops::forecast {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
const QuarterKey kQ1 = MakeQuarterKey(2025, 1);
const QuarterKey kQ2 = MakeQuarterKey(2025, 2);
const QuarterKey kQ3 = MakeQuarterKey(2025, 3);

// 10,000 EUR in cents.
constexpr int64_t kTenThousandEur = 1'000'000;

const std::vector<std::pair<std::string, int32_t>> kBuyingCycle6 = {
    {"INTEREST", 500},    {"CONSIDERATION", 1000}, {"DESIGN", 2000},
    {"COMPARISON", 3000}, {"COMMITMENT", 5000},    {"USAGE", 8000}};

StageRef Bc6(const std::string& key) { return StageRef{"buying-cycle-6", key}; }

OppFacts Open(const std::string& owner, const StageRef& stage, int64_t amount,
              QuarterKey q) {
  OppFacts f;
  f.owner_node_id = owner;
  f.stage = stage;
  f.status = OppFacts::Status::kOpen;
  f.amount_minor = amount;
  f.quarter = q;
  return f;
}

OppFacts WithStatus(OppFacts f, OppFacts::Status status) {
  f.status = status;
  return f;
}

NodeFigures Fig(const Rollup& r, const std::string& node, QuarterKey q) {
  absl::StatusOr<NodeFigures> f = r.Figures(node, q);
  EXPECT_TRUE(f.ok()) << node << ": " << f.status();
  return f.ok() ? *f : NodeFigures{};
}

// global → emea → dach → team-muc → rep-anna.
void SeedTree(Rollup& r) {
  ASSERT_TRUE(r.SetNode("global", "").ok());
  ASSERT_TRUE(r.SetNode("emea", "global").ok());
  ASSERT_TRUE(r.SetNode("dach", "emea").ok());
  ASSERT_TRUE(r.SetNode("team-muc", "dach").ok());
  ASSERT_TRUE(r.SetNode("rep-anna", "team-muc").ok());
}

const std::vector<std::string> kSeedChain = {"rep-anna", "team-muc", "dach",
                                             "emea", "global"};

// --- 1. The SPEC §7 seed funnel. ---

TEST(RollupTest, SeedFunnelOfSpecSection7AtEveryAncestor) {
  Rollup r;
  SeedTree(r);
  r.SetStageModel("buying-cycle-6", kBuyingCycle6);
  const std::vector<int> counts = {5, 4, 3, 2, 2, 2};
  const std::vector<int64_t> totals = {300, 240, 176, 464, 146, 98};
  const std::vector<int64_t> weighted = {150, 240, 352, 1392, 730, 784};  // /10
  for (size_t s = 0; s < counts.size(); ++s) {
    const int64_t total = totals[s] * kTenThousandEur;
    // Whole-euro parts (so every part × a whole-percent rate is exact); the
    // last part takes the remainder.
    const int64_t part = total / counts[s] / 100 * 100;
    int64_t sum = 0;
    for (int i = 0; i < counts[s]; ++i) {
      const int64_t amount = i + 1 < counts[s] ? part : total - sum;
      sum += amount;
      ASSERT_TRUE(
          r.ApplyOpportunity(
               std::nullopt,
               Open("rep-anna", Bc6(kBuyingCycle6[s].first), amount, kQ2))
              .ok());
    }
    ASSERT_EQ(sum, total);
  }
  for (const std::string& node : kSeedChain) {
    SCOPED_TRACE(node);
    NodeFigures f = Fig(r, node, kQ2);
    EXPECT_EQ(f.pipeline_weighted_minor, 364'800'000);
    EXPECT_EQ(f.closed_minor, 0);
    EXPECT_EQ(f.out_of_funnel_minor, 0);
    EXPECT_EQ(f.forecast_minor, 364'800'000);
    ASSERT_EQ(f.funnel.size(), 6u);
    int64_t count = 0, amount = 0;
    for (size_t s = 0; s < 6; ++s) {
      EXPECT_EQ(f.funnel[s].first, Bc6(kBuyingCycle6[s].first));
      EXPECT_EQ(f.funnel[s].second.count, counts[s]);
      EXPECT_EQ(f.funnel[s].second.amount_minor, totals[s] * kTenThousandEur);
      EXPECT_EQ(f.funnel[s].second.weighted_minor,
                weighted[s] * kTenThousandEur / 10);
      count += f.funnel[s].second.count;
      amount += f.funnel[s].second.amount_minor;
    }
    EXPECT_EQ(count, 18);
    EXPECT_EQ(amount, 1424 * kTenThousandEur);
  }
  // Other quarters are empty.
  EXPECT_EQ(Fig(r, "global", kQ1).forecast_minor, 0);
  EXPECT_TRUE(Fig(r, "global", kQ1).funnel.empty());
  // 5 aggregates (one per node, one quarter).
  EXPECT_EQ(r.aggregate_count(), 5u);
  EXPECT_EQ(r.node_count(), 5u);
  // Against the seed's 5,000,000 EUR quota, set at the rep only.
  r.SetQuota("rep-anna", kQ2, 500'000'000);
  EXPECT_EQ(*r.EffectiveQuota("global", kQ2), 500'000'000);
  EXPECT_EQ(
      *r.EffectiveQuota("global", kQ2) - Fig(r, "global", kQ2).forecast_minor,
      135'200'000);
}

// --- 2. Rounding per opportunity. ---

TEST(RollupTest, WeightIsRoundedPerOpportunityThenSummed) {
  Rollup r;
  SeedTree(r);
  r.SetStageModel("buying-cycle-6", kBuyingCycle6);
  const StageRef commit = Bc6("COMMITMENT");  // 5000 bp
  ASSERT_TRUE(
      r.ApplyOpportunity(std::nullopt, Open("rep-anna", commit, 5, kQ1)).ok());
  ASSERT_TRUE(
      r.ApplyOpportunity(std::nullopt, Open("rep-anna", commit, 5, kQ1)).ok());
  NodeFigures f = Fig(r, "global", kQ1);
  EXPECT_EQ(f.pipeline_weighted_minor, 4);  // 2.5→2 twice, not round(5)=5/6
  ASSERT_EQ(f.funnel.size(), 1u);
  EXPECT_EQ(f.funnel[0].second.count, 2);
  EXPECT_EQ(f.funnel[0].second.amount_minor, 10);
  EXPECT_EQ(f.funnel[0].second.weighted_minor, 4);
  // 15 → 7.5 → 8 (ties to even); 1 → 0.5 → 0.
  ASSERT_TRUE(
      r.ApplyOpportunity(std::nullopt, Open("rep-anna", commit, 15, kQ1)).ok());
  ASSERT_TRUE(
      r.ApplyOpportunity(std::nullopt, Open("rep-anna", commit, 1, kQ1)).ok());
  EXPECT_EQ(Fig(r, "team-muc", kQ1).pipeline_weighted_minor, 12);
  // Removing one 5 takes exactly its own 2 away.
  ASSERT_TRUE(
      r.ApplyOpportunity(Open("rep-anna", commit, 5, kQ1), std::nullopt).ok());
  EXPECT_EQ(Fig(r, "global", kQ1).pipeline_weighted_minor, 10);
  EXPECT_EQ(Fig(r, "global", kQ1).funnel[0].second.amount_minor, 21);
}

TEST(RollupTest, BulkAddEqualsOneByOne) {
  Rollup one;
  Rollup bulk;
  std::vector<OppFacts> facts;
  for (Rollup* r : {&one, &bulk}) {
    SeedTree(*r);
    ASSERT_TRUE(r->SetNode("rep-ben", "team-muc").ok());
    r->SetStageModel("buying-cycle-6", kBuyingCycle6);
  }
  for (int i = 0; i < 200; ++i) {
    OppFacts f = Open(i % 3 == 0 ? "rep-ben" : "rep-anna",
                      Bc6(kBuyingCycle6[i % 6].first), 5 + 7 * i,
                      i % 2 == 0 ? kQ1 : kQ2);
    if (i % 5 == 0) f = WithStatus(f, OppFacts::Status::kWon);
    if (i % 11 == 0) f = WithStatus(f, OppFacts::Status::kOther);
    f.collected_minor = (i % 4) * 3 * i;  // below, at or above the amount
    facts.push_back(f);
    ASSERT_TRUE(one.ApplyOpportunity(std::nullopt, f).ok());
  }
  ASSERT_TRUE(bulk.AddOpportunities(facts).ok());
  for (const char* node : {"rep-anna", "rep-ben", "team-muc", "global"}) {
    for (QuarterKey q : {kQ1, kQ2}) {
      const NodeFigures a = Fig(one, node, q);
      const NodeFigures b = Fig(bulk, node, q);
      EXPECT_EQ(a.closed_minor, b.closed_minor) << node;
      EXPECT_EQ(a.collected_minor, b.collected_minor) << node;
      EXPECT_EQ(a.pipeline_weighted_minor, b.pipeline_weighted_minor) << node;
      ASSERT_EQ(a.funnel.size(), b.funnel.size()) << node;
      for (size_t i = 0; i < a.funnel.size(); ++i) {
        EXPECT_EQ(a.funnel[i].second.count, b.funnel[i].second.count);
        EXPECT_EQ(a.funnel[i].second.weighted_minor,
                  b.funnel[i].second.weighted_minor);
      }
    }
  }
  EXPECT_GT(Fig(bulk, "global", kQ1).collected_minor, 0);
  EXPECT_EQ(one.aggregate_count(), bulk.aggregate_count());
  // The open counts agree too: a win-rate change needs exactly these facts.
  std::vector<OppFacts> interest;
  for (const OppFacts& f : facts) {
    if (f.status == OppFacts::Status::kOpen && f.stage == Bc6("INTEREST")) {
      interest.push_back(f);
    }
  }
  EXPECT_TRUE(bulk.ChangeWinRate(Bc6("INTEREST"), 700, interest).ok());
  EXPECT_TRUE(one.ChangeWinRate(Bc6("INTEREST"), 700, interest).ok());
  EXPECT_EQ(Fig(one, "global", kQ1).pipeline_weighted_minor,
            Fig(bulk, "global", kQ1).pipeline_weighted_minor);
  // An unknown owner: nothing changes.
  const size_t before = bulk.aggregate_count();
  EXPECT_EQ(
      bulk.AddOpportunities({Open("nobody", Bc6("DESIGN"), 1, kQ1)}).code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(bulk.aggregate_count(), before);
}

// --- 3. Re-org. ---

class ReorgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto [id, parent] :
         std::vector<std::pair<std::string, std::string>>{{"g", ""},
                                                          {"ra", "g"},
                                                          {"rb", "g"},
                                                          {"ta", "ra"},
                                                          {"tb", "rb"},
                                                          {"rep1", "ta"},
                                                          {"rep2", "ta"},
                                                          {"rep3", "tb"}}) {
      ASSERT_TRUE(r.SetNode(id, parent).ok()) << id;
    }
    r.SetStageModel("buying-cycle-6", kBuyingCycle6);
    ASSERT_TRUE(
        r.ApplyOpportunity(std::nullopt, Open("rep1", Bc6("DESIGN"), 1000, kQ1))
            .ok());
    ASSERT_TRUE(
        r.ApplyOpportunity(std::nullopt, Open("rep2", Bc6("USAGE"), 2000, kQ2))
            .ok());
    ASSERT_TRUE(
        r.ApplyOpportunity(std::nullopt,
                           WithStatus(Open("rep2", Bc6("USAGE"), 700, kQ1),
                                      OppFacts::Status::kWon))
            .ok());
    ASSERT_TRUE(r.ApplyOpportunity(std::nullopt,
                                   Open("rep3", Bc6("INTEREST"), 4000, kQ1))
                    .ok());
    ASSERT_TRUE(r.AddOutOfFunnelSale("rep3", kQ1, 30).ok());
  }
  Rollup r;
};

TEST_F(ReorgTest, MovingATeamMovesItsTotalsAndKeepsTheGlobalTotal) {
  const NodeFigures g1 = Fig(r, "g", kQ1);
  const NodeFigures g2 = Fig(r, "g", kQ2);
  EXPECT_EQ(g1.pipeline_weighted_minor, 200 + 200);
  EXPECT_EQ(g1.closed_minor, 700 + 30);
  EXPECT_EQ(Fig(r, "ra", kQ1).forecast_minor, 200 + 700);
  EXPECT_EQ(Fig(r, "rb", kQ1).forecast_minor, 200 + 30);

  ASSERT_TRUE(r.SetNode("ta", "rb").ok());
  EXPECT_EQ(r.ParentOf("ta"), "rb");
  EXPECT_EQ(r.ChildrenOf("rb"), (std::vector<std::string>{"ta", "tb"}));
  EXPECT_TRUE(r.ChildrenOf("ra").empty());
  EXPECT_EQ(Fig(r, "ra", kQ1).forecast_minor, 0);
  EXPECT_TRUE(Fig(r, "ra", kQ1).funnel.empty());
  EXPECT_EQ(Fig(r, "ra", kQ2).forecast_minor, 0);
  const NodeFigures rb1 = Fig(r, "rb", kQ1);
  EXPECT_EQ(rb1.forecast_minor, 200 + 700 + 200 + 30);
  EXPECT_EQ(rb1.out_of_funnel_minor, 30);
  ASSERT_EQ(rb1.funnel.size(), 2u);
  EXPECT_EQ(rb1.funnel[0].first, Bc6("INTEREST"));
  EXPECT_EQ(rb1.funnel[1].first, Bc6("DESIGN"));
  EXPECT_EQ(Fig(r, "rb", kQ2).pipeline_weighted_minor, 1600);
  // The global totals did not move.
  const NodeFigures g1b = Fig(r, "g", kQ1);
  EXPECT_EQ(g1b.forecast_minor, g1.forecast_minor);
  EXPECT_EQ(g1b.closed_minor, g1.closed_minor);
  EXPECT_EQ(g1b.funnel.size(), g1.funnel.size());
  EXPECT_EQ(Fig(r, "g", kQ2).forecast_minor, g2.forecast_minor);
  // The empty region holds no aggregates any more.
  // ta 2 + rep1 1 + rep2 2 + rb 2 + tb 1 + rep3 1 + g 2 (ra none).
  EXPECT_EQ(r.aggregate_count(), 11u);

  // A move within the same region (the region's totals do not change).
  ASSERT_TRUE(r.SetNode("rep1", "tb").ok());
  EXPECT_EQ(Fig(r, "ta", kQ1).pipeline_weighted_minor, 0);
  EXPECT_EQ(Fig(r, "tb", kQ1).pipeline_weighted_minor, 400);
  EXPECT_EQ(Fig(r, "rb", kQ1).forecast_minor, 200 + 700 + 200 + 30);
}

TEST_F(ReorgTest, CycleIsRejectedAndNothingChanges) {
  const NodeFigures ra = Fig(r, "ra", kQ1);
  absl::Status s = r.SetNode("ra", "rep1");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "node ra cannot move under its own descendant rep1");
  EXPECT_EQ(r.SetNode("ta", "ta").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.SetNode("g", "rep3").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.ParentOf("ra"), "g");
  EXPECT_EQ(r.ParentOf("ta"), "ra");
  EXPECT_EQ(r.ParentOf("g"), "");
  EXPECT_EQ(r.ChildrenOf("rep1"), std::vector<std::string>{});
  EXPECT_EQ(Fig(r, "ra", kQ1).forecast_minor, ra.forecast_minor);
  EXPECT_EQ(Fig(r, "g", kQ1).forecast_minor, 200 + 200 + 700 + 30);
  EXPECT_EQ(r.node_count(), 8u);
  // Setting the same parent again is a no-op.
  EXPECT_TRUE(r.SetNode("ta", "ra").ok());
  EXPECT_EQ(Fig(r, "ra", kQ1).forecast_minor, ra.forecast_minor);
}

TEST_F(ReorgTest, PlaceholderParentThenItsRealEvent) {
  ASSERT_TRUE(r.SetNode("rep9", "t-new").ok());
  EXPECT_TRUE(r.HasNode("t-new"));
  EXPECT_EQ(r.ParentOf("t-new"), "");
  EXPECT_EQ(r.ChildrenOf("t-new"), std::vector<std::string>{"rep9"});
  ASSERT_TRUE(r.ApplyOpportunity(std::nullopt,
                                 Open("rep9", Bc6("COMMITMENT"), 100, kQ1))
                  .ok());
  EXPECT_EQ(Fig(r, "t-new", kQ1).pipeline_weighted_minor, 50);
  EXPECT_EQ(Fig(r, "g", kQ1).pipeline_weighted_minor, 400);  // not yet in
  // The team's own event puts it (and its subtree's figures) in place.
  ASSERT_TRUE(r.SetNode("t-new", "ra").ok());
  EXPECT_EQ(r.ParentOf("t-new"), "ra");
  EXPECT_EQ(Fig(r, "ra", kQ1).pipeline_weighted_minor, 250);
  EXPECT_EQ(Fig(r, "g", kQ1).pipeline_weighted_minor, 450);
  EXPECT_EQ(Fig(r, "t-new", kQ1).pipeline_weighted_minor, 50);
  // A move under an unknown parent makes that parent a placeholder root.
  ASSERT_TRUE(r.SetNode("tb", "rx").ok());
  EXPECT_EQ(r.ParentOf("rx"), "");
  EXPECT_EQ(Fig(r, "rx", kQ1).pipeline_weighted_minor, 200);
  EXPECT_EQ(Fig(r, "rb", kQ1).forecast_minor, 0);
  EXPECT_EQ(Fig(r, "g", kQ1).pipeline_weighted_minor, 250);
  ASSERT_TRUE(r.SetNode("rx", "g").ok());
  EXPECT_EQ(Fig(r, "g", kQ1).pipeline_weighted_minor, 450);
  EXPECT_EQ(r.node_count(), 11u);
}

// --- 4. Opportunity life cycle and win-rate changes. ---

TEST_F(ReorgTest, WinRateChangeReweightsExactly) {
  // Three DESIGN opportunities at rep1 and rep3 in two quarters.
  const StageRef design = Bc6("DESIGN");
  std::vector<OppFacts> open = {Open("rep1", design, 1000, kQ1),
                                Open("rep1", design, 5, kQ1),
                                Open("rep3", design, 15, kQ2)};
  ASSERT_TRUE(r.ApplyOpportunity(std::nullopt, open[1]).ok());
  ASSERT_TRUE(r.ApplyOpportunity(std::nullopt, open[2]).ok());
  EXPECT_EQ(r.WinRateBp(design), 2000);
  EXPECT_EQ(Fig(r, "g", kQ1).pipeline_weighted_minor, 200 + 1 + 200);
  // Wrong inputs change nothing.
  EXPECT_EQ(r.ChangeWinRate(design, 10001, open).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.ChangeWinRate(design, -1, open).code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<OppFacts> wrong = open;
  wrong[1].stage = Bc6("USAGE");
  EXPECT_EQ(r.ChangeWinRate(design, 5000, wrong).code(),
            absl::StatusCode::kInvalidArgument);
  wrong = open;
  wrong[2].status = OppFacts::Status::kWon;
  EXPECT_EQ(r.ChangeWinRate(design, 5000, wrong).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.ChangeWinRate(design, 5000, {open[0], open[1]}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.WinRateBp(design), 2000);
  EXPECT_EQ(Fig(r, "g", kQ1).pipeline_weighted_minor, 401);

  // 50%: 1000 → 500, 5 → 2 (2.5 to even), 15 → 8 (7.5 to even).
  ASSERT_TRUE(r.ChangeWinRate(design, 5000, open).ok());
  EXPECT_EQ(r.WinRateBp(design), 5000);
  EXPECT_EQ(Fig(r, "rep1", kQ1).pipeline_weighted_minor, 502);
  EXPECT_EQ(Fig(r, "ta", kQ1).funnel[0].second.weighted_minor, 502);
  EXPECT_EQ(Fig(r, "g", kQ1).pipeline_weighted_minor, 502 + 200);
  EXPECT_EQ(Fig(r, "g", kQ2).pipeline_weighted_minor, 1600 + 8);
  // New opportunities of the stage weigh at the new rate, and removing an old
  // one removes exactly its re-weighted amount.
  ASSERT_TRUE(r.ApplyOpportunity(open[1], std::nullopt).ok());
  EXPECT_EQ(Fig(r, "g", kQ1).pipeline_weighted_minor, 500 + 200);
  ASSERT_TRUE(r.ApplyOpportunity(std::nullopt, open[1]).ok());
  EXPECT_EQ(Fig(r, "g", kQ1).pipeline_weighted_minor, 502 + 200);
  // Back to 20% gives the original figures.
  ASSERT_TRUE(r.ChangeWinRate(design, 2000, open).ok());
  EXPECT_EQ(Fig(r, "g", kQ1).pipeline_weighted_minor, 401);
  EXPECT_EQ(Fig(r, "g", kQ2).pipeline_weighted_minor, 1600 + 3);
}

TEST_F(ReorgTest, CloseReopenAmountQuarterAndOwnerChanges) {
  const OppFacts o = Open("rep1", Bc6("COMPARISON"), 10'000, kQ1);  // 30%
  ASSERT_TRUE(r.ApplyOpportunity(std::nullopt, o).ok());
  EXPECT_EQ(Fig(r, "g", kQ1).pipeline_weighted_minor, 400 + 3000);

  // Amount up.
  OppFacts o2 = o;
  o2.amount_minor = 12'345;  // 3703.5 → 3704
  ASSERT_TRUE(r.ApplyOpportunity(o, o2).ok());
  EXPECT_EQ(Fig(r, "ra", kQ1).pipeline_weighted_minor, 200 + 3704);
  EXPECT_EQ(Fig(r, "ra", kQ1).funnel[1].second.amount_minor, 12'345);

  // Pushed out to Q3.
  OppFacts o3 = o2;
  o3.quarter = kQ3;
  ASSERT_TRUE(r.ApplyOpportunity(o2, o3).ok());
  EXPECT_EQ(Fig(r, "ra", kQ1).pipeline_weighted_minor, 200);
  EXPECT_EQ(Fig(r, "ra", kQ3).pipeline_weighted_minor, 3704);
  EXPECT_EQ(Fig(r, "g", kQ3).funnel.size(), 1u);

  // Owner moves to a rep of the other region.
  OppFacts o4 = o3;
  o4.owner_node_id = "rep3";
  ASSERT_TRUE(r.ApplyOpportunity(o3, o4).ok());
  EXPECT_EQ(Fig(r, "ra", kQ3).forecast_minor, 0);
  EXPECT_EQ(Fig(r, "rb", kQ3).pipeline_weighted_minor, 3704);
  EXPECT_EQ(Fig(r, "g", kQ3).pipeline_weighted_minor, 3704);

  // Won, closed in Q2: out of the Q3 funnel, into Q2 closed.
  OppFacts won = WithStatus(o4, OppFacts::Status::kWon);
  won.quarter = kQ2;
  ASSERT_TRUE(r.ApplyOpportunity(o4, won).ok());
  EXPECT_EQ(Fig(r, "rb", kQ3).forecast_minor, 0);
  EXPECT_TRUE(Fig(r, "g", kQ3).funnel.empty());
  EXPECT_EQ(Fig(r, "rb", kQ2).closed_minor, 12'345);
  EXPECT_EQ(Fig(r, "rb", kQ2).out_of_funnel_minor, 0);
  EXPECT_EQ(Fig(r, "g", kQ2).closed_minor, 12'345);
  EXPECT_EQ(Fig(r, "g", kQ2).forecast_minor, 12'345 + 1600);

  // Reopened (back in the Q3 funnel), then lost.
  ASSERT_TRUE(r.ApplyOpportunity(won, o4).ok());
  EXPECT_EQ(Fig(r, "g", kQ2).closed_minor, 0);
  EXPECT_EQ(Fig(r, "g", kQ3).pipeline_weighted_minor, 3704);
  const OppFacts lost = WithStatus(o4, OppFacts::Status::kOther);
  ASSERT_TRUE(r.ApplyOpportunity(o4, lost).ok());
  EXPECT_EQ(Fig(r, "g", kQ3).forecast_minor, 0);
  EXPECT_TRUE(Fig(r, "g", kQ3).funnel.empty());
  // Reopen a lost one.
  ASSERT_TRUE(r.ApplyOpportunity(lost, o4).ok());
  EXPECT_EQ(Fig(r, "rep3", kQ3).pipeline_weighted_minor, 3704);
  // Deleted.
  ASSERT_TRUE(r.ApplyOpportunity(o4, std::nullopt).ok());
  EXPECT_EQ(Fig(r, "g", kQ3).forecast_minor, 0);
  // Nothing to nothing is a no-op.
  EXPECT_TRUE(r.ApplyOpportunity(std::nullopt, std::nullopt).ok());
}

TEST_F(ReorgTest, UnknownOwnerIsFailedPreconditionAndUnknownNodeNotFound) {
  const NodeFigures before = Fig(r, "g", kQ1);
  EXPECT_EQ(
      r.ApplyOpportunity(std::nullopt, Open("nobody", Bc6("DESIGN"), 10, kQ1))
          .code(),
      absl::StatusCode::kFailedPrecondition);
  // Moving an opportunity to an unknown owner changes nothing either.
  EXPECT_EQ(r.ApplyOpportunity(Open("rep1", Bc6("DESIGN"), 1000, kQ1),
                               Open("nobody", Bc6("DESIGN"), 1000, kQ1))
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Fig(r, "g", kQ1).forecast_minor, before.forecast_minor);
  EXPECT_EQ(Fig(r, "rep1", kQ1).pipeline_weighted_minor, 200);
  EXPECT_EQ(r.AddOutOfFunnelSale("nobody", kQ1, 5).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.Figures("nobody", kQ1).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(r.HasNode("nobody"));
  EXPECT_FALSE(r.ParentOf("nobody").has_value());
  EXPECT_EQ(r.SetNode("", "g").code(), absl::StatusCode::kInvalidArgument);
}

// --- 5. Out-of-funnel sales. ---

TEST_F(ReorgTest, OutOfFunnelSalesCountInClosedNotInTheFunnel) {
  ASSERT_TRUE(r.AddOutOfFunnelSale("rep1", kQ3, 999).ok());
  ASSERT_TRUE(r.AddOutOfFunnelSale("ta", kQ3, 1).ok());  // any node
  for (const std::string node : {"ta", "ra", "g"}) {
    const NodeFigures f = Fig(r, node, kQ3);
    EXPECT_EQ(f.closed_minor, 1000) << node;
    EXPECT_EQ(f.out_of_funnel_minor, 1000) << node;
    EXPECT_EQ(f.pipeline_weighted_minor, 0) << node;
    EXPECT_EQ(f.forecast_minor, 1000) << node;
    EXPECT_TRUE(f.funnel.empty()) << node;
  }
  EXPECT_EQ(Fig(r, "rep1", kQ3).closed_minor, 999);
  const NodeFigures g1 = Fig(r, "g", kQ1);
  EXPECT_EQ(g1.closed_minor, 730);
  EXPECT_EQ(g1.out_of_funnel_minor, 30);
  EXPECT_EQ(g1.funnel.size(), 2u);
  int64_t count = 0;
  for (const auto& [stage, row] : g1.funnel) count += row.count;
  EXPECT_EQ(count, 2);  // the won one and the sales are not in the funnel
  // A reversal brings it back to nothing.
  ASSERT_TRUE(r.AddOutOfFunnelSale("rep1", kQ3, -999).ok());
  ASSERT_TRUE(r.AddOutOfFunnelSale("ta", kQ3, -1).ok());
  EXPECT_EQ(Fig(r, "g", kQ3).closed_minor, 0);
}

// --- 5b. Collected: the part of closed that credit reports collected. ---

// The collected figure of each node for `q`.
std::vector<int64_t> Collected(const Rollup& r,
                               const std::vector<std::string>& nodes,
                               QuarterKey q) {
  std::vector<int64_t> out;
  for (const std::string& n : nodes)
    out.push_back(Fig(r, n, q).collected_minor);
  return out;
}

using Amounts = std::vector<int64_t>;
const std::vector<std::string> kRep1Chain = {"rep1", "ta", "ra", "g"};
const std::vector<std::string> kRep3Chain = {"rep3", "tb", "rb"};

TEST_F(ReorgTest, CollectedOfAWonOpportunityGrowsUpTheTree) {
  const OppFacts won = WithStatus(Open("rep1", Bc6("USAGE"), 10'000, kQ2),
                                  OppFacts::Status::kWon);
  ASSERT_TRUE(r.ApplyOpportunity(std::nullopt, won).ok());
  EXPECT_EQ(Fig(r, "g", kQ2).closed_minor, 10'000);
  EXPECT_EQ(Collected(r, kRep1Chain, kQ2), (Amounts{0, 0, 0, 0}));

  // A partial collection, then the full one: rep, team, region, root.
  OppFacts partial = won;
  partial.collected_minor = 4'000;
  ASSERT_TRUE(r.ApplyOpportunity(won, partial).ok());
  EXPECT_EQ(Collected(r, kRep1Chain, kQ2),
            (Amounts{4'000, 4'000, 4'000, 4'000}));
  EXPECT_EQ(Collected(r, {"rep2", "rb"}, kQ2), (Amounts{0, 0}));
  OppFacts full = won;
  full.collected_minor = 10'000;
  ASSERT_TRUE(r.ApplyOpportunity(partial, full).ok());
  EXPECT_EQ(Collected(r, kRep1Chain, kQ2),
            (Amounts{10'000, 10'000, 10'000, 10'000}));
  // Part of closed, not added to it.
  EXPECT_EQ(Fig(r, "g", kQ2).closed_minor, 10'000);
  EXPECT_EQ(Fig(r, "g", kQ2).forecast_minor, 10'000 + 1'600);

  // More than the amount counts as the amount; an amount cut below what was
  // collected caps it.
  OppFacts over = full;
  over.collected_minor = 12'000;
  ASSERT_TRUE(r.ApplyOpportunity(full, over).ok());
  EXPECT_EQ(Fig(r, "g", kQ2).collected_minor, 10'000);
  OppFacts cut = over;
  cut.amount_minor = 8'000;
  ASSERT_TRUE(r.ApplyOpportunity(over, cut).ok());
  EXPECT_EQ(Fig(r, "g", kQ2).closed_minor, 8'000);
  EXPECT_EQ(Fig(r, "g", kQ2).collected_minor, 8'000);

  // Out-of-funnel sales count in closed, never in collected.
  ASSERT_TRUE(r.AddOutOfFunnelSale("rep1", kQ2, 500).ok());
  EXPECT_EQ(Fig(r, "ta", kQ2).closed_minor, 8'500);
  EXPECT_EQ(Fig(r, "ta", kQ2).collected_minor, 8'000);
  EXPECT_EQ(Fig(r, "rb", kQ1).closed_minor, 30);  // the fixture's sale
  EXPECT_EQ(Fig(r, "rb", kQ1).collected_minor, 0);

  // Closed in another quarter: collected moves with closed.
  OppFacts q3 = cut;
  q3.quarter = kQ3;
  ASSERT_TRUE(r.ApplyOpportunity(cut, q3).ok());
  EXPECT_EQ(Collected(r, kRep1Chain, kQ2), (Amounts{0, 0, 0, 0}));
  EXPECT_EQ(Collected(r, kRep1Chain, kQ3),
            (Amounts{8'000, 8'000, 8'000, 8'000}));

  // Another owner: it leaves rep1's chain for rep3's.
  OppFacts moved = q3;
  moved.owner_node_id = "rep3";
  ASSERT_TRUE(r.ApplyOpportunity(q3, moved).ok());
  EXPECT_EQ(Collected(r, kRep1Chain, kQ3), (Amounts{0, 0, 0, 8'000}));
  EXPECT_EQ(Collected(r, kRep3Chain, kQ3), (Amounts{8'000, 8'000, 8'000}));

  // Reopened: out of closed and collected (its collected amount is kept in
  // the facts, but an open opportunity counts nothing of it).
  const OppFacts reopened = WithStatus(moved, OppFacts::Status::kOpen);
  ASSERT_TRUE(r.ApplyOpportunity(moved, reopened).ok());
  EXPECT_EQ(Fig(r, "g", kQ3).closed_minor, 0);
  EXPECT_EQ(Collected(r, kRep3Chain, kQ3), (Amounts{0, 0, 0}));
  EXPECT_EQ(Fig(r, "g", kQ3).collected_minor, 0);
  // Won again: back.
  ASSERT_TRUE(r.ApplyOpportunity(reopened, moved).ok());
  EXPECT_EQ(Fig(r, "g", kQ3).collected_minor, 8'000);
  // Lost, or gone: nothing.
  const OppFacts lost = WithStatus(moved, OppFacts::Status::kOther);
  ASSERT_TRUE(r.ApplyOpportunity(moved, lost).ok());
  EXPECT_EQ(Fig(r, "g", kQ3).collected_minor, 0);
  ASSERT_TRUE(r.ApplyOpportunity(lost, moved).ok());
  ASSERT_TRUE(r.ApplyOpportunity(moved, std::nullopt).ok());
  EXPECT_EQ(Fig(r, "g", kQ3).collected_minor, 0);
  EXPECT_EQ(Fig(r, "g", kQ3).forecast_minor, 0);
}

TEST_F(ReorgTest, ReOrgMovesCollectedWithTheSubtree) {
  // rep1: WON 1000 in Q1, 600 collected; the fixture's rep2 WON 700 gets all
  // of it collected.
  OppFacts a = WithStatus(Open("rep1", Bc6("USAGE"), 1'000, kQ1),
                          OppFacts::Status::kWon);
  a.collected_minor = 600;
  ASSERT_TRUE(r.ApplyOpportunity(std::nullopt, a).ok());
  const OppFacts b =
      WithStatus(Open("rep2", Bc6("USAGE"), 700, kQ1), OppFacts::Status::kWon);
  OppFacts b_paid = b;
  b_paid.collected_minor = 700;
  ASSERT_TRUE(r.ApplyOpportunity(b, b_paid).ok());
  EXPECT_EQ(Collected(r, {"rep1", "rep2", "ta", "ra", "rb", "g"}, kQ1),
            (Amounts{600, 700, 1'300, 1'300, 0, 1'300}));

  ASSERT_TRUE(r.SetNode("ta", "rb").ok());
  EXPECT_EQ(Collected(r, {"ta", "ra", "rb", "tb", "g"}, kQ1),
            (Amounts{1'300, 0, 1'300, 0, 1'300}));
  EXPECT_EQ(Fig(r, "rb", kQ1).closed_minor, 1'700 + 30);
  ASSERT_TRUE(r.SetNode("rep2", "tb").ok());
  EXPECT_EQ(Collected(r, {"ta", "tb", "rb", "g"}, kQ1),
            (Amounts{600, 700, 1'300, 1'300}));
  ASSERT_TRUE(r.SetNode("ta", "ra").ok());
  EXPECT_EQ(Collected(r, {"ra", "rb", "g"}, kQ1), (Amounts{600, 700, 1'300}));
}

// --- 6. Quotas. ---

TEST_F(ReorgTest, QuotaExplicitElseSumOfChildren) {
  EXPECT_EQ(*r.EffectiveQuota("g", kQ1), 0);
  EXPECT_EQ(*r.EffectiveQuota("rep1", kQ1), 0);
  EXPECT_EQ(r.EffectiveQuota("nobody", kQ1).status().code(),
            absl::StatusCode::kNotFound);
  r.SetQuota("rep1", kQ1, 100);
  r.SetQuota("rep2", kQ1, 200);
  r.SetQuota("rep3", kQ1, 400);
  EXPECT_EQ(*r.EffectiveQuota("ta", kQ1), 300);
  EXPECT_EQ(*r.EffectiveQuota("g", kQ1), 700);
  EXPECT_EQ(*r.EffectiveQuota("g", kQ2), 0);
  // An explicit quota wins over the children's sum, at every level.
  r.SetQuota("ta", kQ1, 1000);
  EXPECT_EQ(*r.EffectiveQuota("ta", kQ1), 1000);
  EXPECT_EQ(*r.EffectiveQuota("ra", kQ1), 1000);
  EXPECT_EQ(*r.EffectiveQuota("g", kQ1), 1400);
  r.SetQuota("g", kQ1, 5);
  EXPECT_EQ(*r.EffectiveQuota("g", kQ1), 5);
  // Clearing falls back to the sum.
  r.SetQuota("g", kQ1, std::nullopt);
  r.SetQuota("ta", kQ1, std::nullopt);
  EXPECT_EQ(*r.EffectiveQuota("g", kQ1), 700);
  r.SetQuota("nobody", kQ1, std::nullopt);  // harmless
  // Re-orgs move quotas with the subtree.
  ASSERT_TRUE(r.SetNode("ta", "rb").ok());
  EXPECT_EQ(*r.EffectiveQuota("ra", kQ1), 0);
  EXPECT_EQ(*r.EffectiveQuota("rb", kQ1), 700);
  // A quota that arrives before its node counts once the node is known.
  r.SetQuota("rep4", kQ1, 50);
  EXPECT_EQ(*r.EffectiveQuota("g", kQ1), 700);
  ASSERT_TRUE(r.SetNode("rep4", "tb").ok());
  EXPECT_EQ(*r.EffectiveQuota("g", kQ1), 750);
  // Overflow of the sum.
  r.SetQuota("rep1", kQ2, kInt64Max);
  EXPECT_EQ(*r.EffectiveQuota("rb", kQ2), kInt64Max);
  r.SetQuota("rep2", kQ2, 1);
  EXPECT_EQ(r.EffectiveQuota("ta", kQ2).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(r.EffectiveQuota("g", kQ2).status().code(),
            absl::StatusCode::kOutOfRange);
  r.SetQuota("ta", kQ2, 9);  // an explicit quota hides the children
  EXPECT_EQ(*r.EffectiveQuota("g", kQ2), 9);
}

// --- 7. Overflow. ---

// Aggregates are 128-bit: a change is never refused for its size; a read
// whose figure does not fit int64 is OUT_OF_RANGE naming it, and only that
// read (issue 16, finding 2).
absl::Status FigStatus(const Rollup& r, const std::string& node, QuarterKey q) {
  return r.Figures(node, q).status();
}

TEST_F(ReorgTest, SumsBeyondInt64AreKeptAndOnlyTheReadsThatCannotCarryFail) {
  // DESIGN in Q1: rep1 holds 1000, rep2 now INT64_MAX - 500; ta, ra and g
  // hold INT64_MAX + 500.
  ASSERT_TRUE(r.ApplyOpportunity(std::nullopt, Open("rep2", Bc6("DESIGN"),
                                                    kInt64Max - 500, kQ1))
                  .ok());
  EXPECT_EQ(Fig(r, "rep2", kQ1).funnel[0].second.amount_minor, kInt64Max - 500);
  EXPECT_EQ(Fig(r, "rep1", kQ1).funnel[0].second.amount_minor, 1000);
  for (const std::string node : {"ta", "ra", "g"}) {
    const absl::Status s = FigStatus(r, node, kQ1);
    EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << node;
    EXPECT_TRUE(absl::StrContains(
        s.message(), "funnel amount of stage buying-cycle-6/DESIGN"))
        << s;
    EXPECT_TRUE(absl::StrContains(s.message(), "9223372036854776307")) << s;
    EXPECT_TRUE(absl::StrContains(s.message(), "\"" + node + "\"")) << s;
  }
  // The other branch and the other quarters answer.
  EXPECT_EQ(Fig(r, "rb", kQ1).forecast_minor, 200 + 30);
  EXPECT_EQ(Fig(r, "g", kQ2).pipeline_weighted_minor, 1600);
  // Closed past int64 at rep1 itself.
  ASSERT_TRUE(r.AddOutOfFunnelSale("rep1", kQ3, kInt64Max).ok());
  ASSERT_TRUE(r.AddOutOfFunnelSale("rep1", kQ3, kInt64Max).ok());
  EXPECT_TRUE(absl::StrContains(FigStatus(r, "rep1", kQ3).message(),
                                "closed of org node \"rep1\" in fiscal"))
      << FigStatus(r, "rep1", kQ3);
  EXPECT_EQ(Fig(r, "rep2", kQ3).closed_minor, 0);
  // Taking the amounts away brings every read back, exactly.
  ASSERT_TRUE(r.AddOutOfFunnelSale("rep1", kQ3, -kInt64Max).ok());
  EXPECT_EQ(Fig(r, "g", kQ3).closed_minor, kInt64Max);
  ASSERT_TRUE(
      r.ApplyOpportunity(Open("rep2", Bc6("DESIGN"), kInt64Max - 500, kQ1),
                         std::nullopt)
          .ok());
  EXPECT_EQ(Fig(r, "g", kQ1).pipeline_weighted_minor, 200 + 200);
  EXPECT_EQ(Fig(r, "g", kQ1).closed_minor, 700 + 30);
}

TEST_F(ReorgTest, ForecastIsCheckedAsItsOwnFigure) {
  // closed and pipeline_weighted each fit; their sum does not.
  ASSERT_TRUE(r.AddOutOfFunnelSale("rep1", kQ3, kInt64Max - 100).ok());
  ASSERT_TRUE(
      r.ApplyOpportunity(std::nullopt, Open("rep1", Bc6("USAGE"), 200, kQ3))
          .ok());  // weighted 160
  const absl::Status s = FigStatus(r, "g", kQ3);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(absl::StrContains(s.message(), "forecast of org node")) << s;
  // A re-org and a re-weight that carry the sum are applied, not refused.
  ASSERT_TRUE(r.SetNode("rz", "").ok());
  ASSERT_TRUE(r.SetNode("ta", "rz").ok());
  EXPECT_EQ(Fig(r, "ra", kQ3).closed_minor, 0);
  EXPECT_EQ(FigStatus(r, "rz", kQ3).code(), absl::StatusCode::kOutOfRange);
  const std::vector<OppFacts> usage = {Open("rep2", Bc6("USAGE"), 2000, kQ2),
                                       Open("rep1", Bc6("USAGE"), 200, kQ3)};
  ASSERT_TRUE(r.ChangeWinRate(Bc6("USAGE"), 5000, usage).ok());
  EXPECT_EQ(Fig(r, "rz", kQ3).forecast_minor, kInt64Max);  // -100 + 100
  EXPECT_EQ(Fig(r, "rz", kQ2).pipeline_weighted_minor, 1000);
}

TEST(RollupTest, MillionsOfMaximalAmountsSumExactly) {
  // 10^15 minor units (the edge's maximum) × 10,000 deals = 10^19 >
  // INT64_MAX at the root; each half, 5 × 10^18, fits. Added at start-up
  // (AddOpportunities) and event by event.
  constexpr int64_t kMax = 1'000'000'000'000'000;
  Rollup r;
  ASSERT_TRUE(r.SetNode("root", "").ok());
  ASSERT_TRUE(r.SetNode("a", "root").ok());
  ASSERT_TRUE(r.SetNode("b", "root").ok());
  std::vector<OppFacts> won;
  for (int i = 0; i < 5'000; ++i) {
    won.push_back(
        WithStatus(Open("a", Bc6("USAGE"), kMax, kQ1), OppFacts::Status::kWon));
  }
  ASSERT_TRUE(r.AddOpportunities(won).ok());
  for (int i = 0; i < 5'000; ++i) {
    ASSERT_TRUE(
        r.ApplyOpportunity(std::nullopt,
                           WithStatus(Open("b", Bc6("USAGE"), kMax, kQ1),
                                      OppFacts::Status::kWon))
            .ok());
  }
  EXPECT_EQ(Fig(r, "a", kQ1).closed_minor, 5'000 * kMax);
  EXPECT_EQ(Fig(r, "b", kQ1).closed_minor, 5'000 * kMax);
  EXPECT_TRUE(absl::StrContains(FigStatus(r, "root", kQ1).message(),
                                "is 10000000000000000000 minor units"))
      << FigStatus(r, "root", kQ1);
}

// --- Stage models: order and rates. ---

TEST(RollupTest, FunnelOrderFollowsModelsThenUnknownStagesByKey) {
  Rollup r;
  ASSERT_TRUE(r.SetNode("rep", "").ok());
  r.SetStageModel("m-b", {{"Z", 1000}, {"A", 2000}});
  r.SetStageModel("m-a", {{"Y", 0}, {"X", 10000}});
  const std::vector<StageRef> stages = {
      {"m-b", "A"}, {"m-a", "X"}, {"zz", "k2"}, {"aa", "k"},
      {"m-b", "Z"}, {"m-a", "Y"}, {"zz", "k1"}, {"m-a", "unlisted"}};
  for (const StageRef& s : stages) {
    ASSERT_TRUE(
        r.ApplyOpportunity(std::nullopt, Open("rep", s, 100, kQ1)).ok());
  }
  EXPECT_EQ(r.WinRateBp({"zz", "k1"}), 0);
  EXPECT_EQ(r.WinRateBp({"m-a", "X"}), 10000);
  auto order = [&] {
    std::vector<std::string> out;
    for (const auto& [s, row] : Fig(r, "rep", kQ1).funnel) {
      out.push_back(s.model_id + "/" + s.stage_key);
    }
    return out;
  };
  EXPECT_EQ(order(), (std::vector<std::string>{"m-a/Y", "m-a/X", "m-b/Z",
                                               "m-b/A", "aa/k", "m-a/unlisted",
                                               "zz/k1", "zz/k2"}));
  EXPECT_EQ(Fig(r, "rep", kQ1).pipeline_weighted_minor, 100 + 10 + 20);
  // Re-recording a model re-orders (rates unchanged).
  r.SetStageModel("m-b", {{"A", 2000}, {"Z", 1000}});
  r.SetStageModel("zz", {{"k2", 0}, {"k1", 0}});
  EXPECT_EQ(order(), (std::vector<std::string>{"m-a/Y", "m-a/X", "m-b/A",
                                               "m-b/Z", "zz/k2", "zz/k1",
                                               "aa/k", "m-a/unlisted"}));
}

TEST(RollupTest, RateChangedBySetStageModelWaitsForChangeWinRate) {
  Rollup r;
  ASSERT_TRUE(r.SetNode("rep", "").ok());
  r.SetStageModel("m", {{"S", 1000}, {"T", 2000}});
  const OppFacts a = Open("rep", {"m", "S"}, 1000, kQ1);
  ASSERT_TRUE(r.ApplyOpportunity(std::nullopt, a).ok());
  // The model announces 30% before the re-weight arrives: S holds an open
  // opportunity, so it keeps weighing at 10%; T is empty and moves at once.
  r.SetStageModel("m", {{"S", 3000}, {"T", 4000}});
  EXPECT_EQ(r.WinRateBp({"m", "S"}), 1000);
  EXPECT_EQ(r.WinRateBp({"m", "T"}), 4000);
  EXPECT_EQ(Fig(r, "rep", kQ1).pipeline_weighted_minor, 100);
  ASSERT_TRUE(r.ChangeWinRate({"m", "S"}, 3000, {a}).ok());
  EXPECT_EQ(r.WinRateBp({"m", "S"}), 3000);
  EXPECT_EQ(Fig(r, "rep", kQ1).pipeline_weighted_minor, 300);
  // Again, and this time the stage empties: it takes the recorded rate.
  r.SetStageModel("m", {{"S", 5000}, {"T", 4000}});
  EXPECT_EQ(r.WinRateBp({"m", "S"}), 3000);
  ASSERT_TRUE(r.ApplyOpportunity(a, std::nullopt).ok());
  EXPECT_EQ(r.WinRateBp({"m", "S"}), 5000);
  EXPECT_EQ(Fig(r, "rep", kQ1).forecast_minor, 0);
  EXPECT_EQ(r.aggregate_count(), 0u);
  // ChangeWinRate of an empty (even unknown) stage just records the rate.
  ASSERT_TRUE(r.ChangeWinRate({"m", "T"}, 4500, {}).ok());
  EXPECT_EQ(r.WinRateBp({"m", "T"}), 4500);
  EXPECT_EQ(r.WinRateBp({"other", "Q"}), 0);
  ASSERT_TRUE(r.ChangeWinRate({"other", "Q"}, 700, {}).ok());
  EXPECT_EQ(r.WinRateBp({"other", "Q"}), 700);
}

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

  void Run(int ops, int check_every) {
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

  void Step() {
    // Weights per kind.
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
    const bool on_an_opp =
        (kind >= kStage && kind <= kDelete) || kind == kCollect;
    if (on_an_opp && opps_.empty()) kind = kCreate;
    ++ran_[kind];

    int id = -1;
    OppFacts f;
    if (kind != kCreate && on_an_opp) {
      auto it = opps_.begin();
      std::advance(it, Uniform(0, static_cast<int>(opps_.size()) - 1));
      id = it->first;
      f = it->second;
    }
    switch (kind) {
      case kCreate: {
        OppFacts n = NewOpen();
        const int s = Uniform(0, 19);
        if (s == 0) n.status = OppFacts::Status::kWon;
        if (s == 1) n.status = OppFacts::Status::kOther;
        if (Uniform(0, 3) == 0) n.collected_minor = Collect(n.amount_minor);
        Apply(next_id_++, n);
        break;
      }
      case kCollect:
        f.collected_minor = Collect(f.amount_minor);
        Apply(id, f);
        break;
      case kStage:
        f.stage = Pick(stages_);
        Apply(id, f);
        break;
      case kAmount:
        f.amount_minor = Amount();
        Apply(id, f);
        break;
      case kQuarter:
        f.quarter = Pick(quarters_);
        Apply(id, f);
        break;
      case kOwner:
        f.owner_node_id = Owner();
        Apply(id, f);
        break;
      case kWin:
        f.status = OppFacts::Status::kWon;
        f.quarter = Pick(quarters_);
        Apply(id, f);
        break;
      case kLose:
        f.status = OppFacts::Status::kOther;
        Apply(id, f);
        break;
      case kReopen:
        f.status = OppFacts::Status::kOpen;
        if (Uniform(0, 1) == 0) f.stage = Pick(stages_);
        Apply(id, f);
        break;
      case kDelete:
        Apply(id, std::nullopt);
        break;
      case kMove: {
        const std::string node = Pick(nodes_);
        if (parent_[node].empty()) break;  // the root stays the root
        std::vector<std::string> targets;
        for (const std::string& t : nodes_) {
          if (!InSubtree(t, node)) targets.push_back(t);
        }
        const std::string target = Pick(targets);
        ASSERT_TRUE(r_.SetNode(node, target).ok()) << node << " → " << target;
        parent_[node] = target;
        break;
      }
      case kCycle: {
        const std::string node = Pick(nodes_);
        std::vector<std::string> inside;
        for (const std::string& t : nodes_) {
          if (InSubtree(t, node)) inside.push_back(t);
        }
        ASSERT_EQ(r_.SetNode(node, Pick(inside)).code(),
                  absl::StatusCode::kFailedPrecondition);
        break;
      }
      case kRate: {
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
        break;
      }
      case kOof: {
        const std::string node = Owner();
        const QuarterKey q = Pick(quarters_);
        const int64_t amount = Uniform(1, 1'000'000);
        ASSERT_TRUE(r_.AddOutOfFunnelSale(node, q, amount).ok());
        oof_[{node, q}] += amount;
        break;
      }
      case kReorder: {
        auto it = models_.begin();
        std::advance(it, Uniform(0, static_cast<int>(models_.size()) - 1));
        std::shuffle(it->second.begin(), it->second.end(), rng_);
        std::vector<std::pair<std::string, int32_t>> list;
        for (const std::string& k : it->second) {
          list.emplace_back(k, rates_[StageRef{it->first, k}]);
        }
        r_.SetStageModel(it->first, list);
        break;
      }
    }
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

  void Check() {
    std::map<std::pair<std::string, QuarterKey>, Expected> want;
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
          const std::string row = absl::StrCat(where, " row ", i, " ",
                                               ws.model_id, "/", ws.stage_key);
          ASSERT_EQ(gs, ws)
              << row << " got " << gs.model_id << "/" << gs.stage_key;
          ASSERT_EQ(gr.count, wr.count) << row;
          ASSERT_EQ(gr.amount_minor, wr.amount_minor) << row;
          ASSERT_EQ(gr.weighted_minor, wr.weighted_minor) << row;
        }
      }
    }
    ASSERT_EQ(r_.aggregate_count(), non_zero);
    ASSERT_EQ(r_.node_count(), nodes_.size());
    for (const auto& [stage, bp] : rates_) ASSERT_EQ(r_.WinRateBp(stage), bp);
    ++checks_;
  }

 public:
  int checks_ = 0;

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

}  // namespace
}  // namespace salesops::forecast
