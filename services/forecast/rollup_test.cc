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
#include "services/forecast/rollup_test_fixture.h"

namespace salesops::forecast {
namespace {

using namespace rollup_testing;  // NOLINT: the shared fixture

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
}

TEST_F(ReorgTest, CollectedFollowsQuarterOwnerAndStatus) {
  const OppFacts won = WithStatus(Open("rep1", Bc6("USAGE"), 10'000, kQ2),
                                  OppFacts::Status::kWon);
  ASSERT_TRUE(r.ApplyOpportunity(std::nullopt, won).ok());
  OppFacts cut = won;  // 8,000 of 8,000 collected
  cut.amount_minor = 8'000;
  cut.collected_minor = 8'000;
  ASSERT_TRUE(r.ApplyOpportunity(won, cut).ok());

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

}  // namespace
}  // namespace salesops::forecast
