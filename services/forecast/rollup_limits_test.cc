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

}  // namespace
}  // namespace salesops::forecast
