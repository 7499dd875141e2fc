#include "services/accounts/key_accounts.h"

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace salesops::accounts {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// ---------------------------------------------------------------------------
// Segment

TEST(SegmentTest, AttackDefendModel) {
  EXPECT_EQ(SegmentOf(Level::kHigh, Level::kLow), Segment::kAcquire);
  EXPECT_EQ(SegmentOf(Level::kHigh, Level::kHigh), Segment::kRetain);
  EXPECT_EQ(SegmentOf(Level::kLow, Level::kHigh), Segment::kMaintain);
  EXPECT_EQ(SegmentOf(Level::kLow, Level::kLow), Segment::kDeprioritize);
  EXPECT_EQ(SegmentName(Segment::kAcquire), "ACQUIRE");
  EXPECT_EQ(SegmentName(Segment::kDeprioritize), "DEPRIORITIZE");
  EXPECT_EQ(TierName(Tier::kPlatinum), "PLATINUM");
  EXPECT_EQ(TierName(Tier::kStandard), "STANDARD");
}

// ---------------------------------------------------------------------------
// ScoreAccount

ScorecardInput In(std::string id, int64_t revenue, int32_t margin_bp,
                  int32_t days, int64_t potential) {
  return {std::move(id), revenue, margin_bp, days, potential};
}

void ExpectScore(const ScorecardInput& in, int64_t current, int64_t potential,
                 int64_t score) {
  absl::StatusOr<ScoreBreakdown> b = ScoreAccount(in);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->current_value_minor, current);
  EXPECT_EQ(b->potential_value_minor, potential);
  EXPECT_EQ(b->score_minor, score);
}

TEST(ScoreAccountTest, WorkedExample) {
  // current = 1,000,000 × 25% = 250,000; × (365 − 73)/365 = 0.8 → 200,000.
  // potential = (3,000,000 − 1,000,000) × 25% = 500,000.
  ExpectScore(In("a", 1'000'000, 2'500, 73, 3'000'000), 200'000, 500'000,
              700'000);
}

TEST(ScoreAccountTest, CollectionDaysDiscountCurrentValueOnly) {
  // 0 days: full gross profit 400; 365 and 3650 days: nothing.
  ExpectScore(In("a", 1'000, 4'000, 0, 2'000), 400, 400, 800);
  ExpectScore(In("a", 1'000, 4'000, 365, 2'000), 0, 400, 400);
  ExpectScore(In("a", 1'000, 4'000, 3'650, 2'000), 0, 400, 400);
}

TEST(ScoreAccountTest, PotentialBelowRevenueAddsNothing) {
  ExpectScore(In("a", 1'000, 10'000, 0, 500), 1'000, 0, 1'000);
}

TEST(ScoreAccountTest, RoundsHalfToEvenOnce) {
  // 1 × 50% = 0.5 → 0; 3 × 50% = 1.5 → 2; 5 × 50% = 2.5 → 2.
  ExpectScore(In("a", 1, 5'000, 0, 0), 0, 0, 0);
  ExpectScore(In("a", 3, 5'000, 0, 0), 2, 0, 2);
  ExpectScore(In("a", 5, 5'000, 0, 0), 2, 0, 2);
  // Untapped 3 × 50% = 1.5 → 2.
  ExpectScore(In("a", 1, 5'000, 0, 4), 0, 2, 2);
  // Exactly 1.5 × 364/365 = 1.4959 → 1 (rounding `current` first to 2 would
  // give 2 × 364/365 = 1.99 → 2).
  ExpectScore(In("a", 3, 5'000, 1, 0), 1, 0, 1);
  // Symmetric for negatives: 3 × −50% = −1.5 → −2.
  ExpectScore(In("a", 3, -5'000, 0, 0), -2, 0, -2);
}

TEST(ScoreAccountTest, NegativeMarginGivesNegativeScore) {
  // current = 1,000,000 × −10% = −100,000 (0 days);
  // potential = 500,000 × −10% = −50,000.
  ExpectScore(In("a", 1'000'000, -1'000, 0, 1'500'000), -100'000, -50'000,
              -150'000);
}

TEST(ScoreAccountTest, ExtremesDoNotOverflow) {
  ExpectScore(In("a", kMax, 10'000, 0, kMax), kMax, 0, kMax);
  ExpectScore(In("a", 0, -10'000, 0, kMax), 0, -kMax, -kMax);
  ExpectScore(In("a", kMax, -10'000, 0, kMax), -kMax, 0, -kMax);
}

TEST(ScoreAccountTest, ValidatesEachField) {
  struct Case {
    ScorecardInput in;
    std::string message;
  };
  const std::vector<Case> cases = {
      {In("", 1, 1, 1, 1), "account.account_id: required"},
      {In("a", -1, 1, 1, 1), "account.revenue_12m_minor: must be >= 0, got -1"},
      {In("a", 1, 10'001, 1, 1),
       "account.gross_margin_bp: must be in -10000..10000, got 10001"},
      {In("a", 1, -10'001, 1, 1),
       "account.gross_margin_bp: must be in -10000..10000, got -10001"},
      {In("a", 1, 1, -1, 1),
       "account.avg_collection_days: must be in 0..3650, got -1"},
      {In("a", 1, 1, 3'651, 1),
       "account.avg_collection_days: must be in 0..3650, got 3651"},
      {In("a", 1, 1, 1, -7),
       "account.purchase_potential_minor: must be >= 0, got -7"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ScoreBreakdown> b = ScoreAccount(c.in);
    EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(b.status().message(), c.message);
  }
}

// ---------------------------------------------------------------------------
// ClassifyByScorecard

// n accounts "a001".."a<n>" whose score is (i + 1) × 1000 (100% margin, paid
// at once, no untapped potential): a<n> ranks first.
std::vector<ScorecardInput> Ascending(int n) {
  std::vector<ScorecardInput> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(
        In(absl::StrFormat("a%03d", i + 1), (i + 1) * 1000, 10'000, 0, 0));
  }
  return out;
}

std::map<Tier, int> CountTiers(const std::vector<ScoredAccount>& scored) {
  std::map<Tier, int> counts = {{Tier::kPlatinum, 0},
                                {Tier::kGold, 0},
                                {Tier::kSilver, 0},
                                {Tier::kStandard, 0}};
  for (const ScoredAccount& a : scored) {
    ++counts[a.tier];
  }
  return counts;
}

std::map<Tier, int> Counts(int platinum, int gold, int silver, int standard) {
  return {{Tier::kPlatinum, platinum},
          {Tier::kGold, gold},
          {Tier::kSilver, silver},
          {Tier::kStandard, standard}};
}

TEST(ClassifyByScorecardTest, TwentyAccounts) {
  absl::StatusOr<std::vector<ScoredAccount>> r =
      ClassifyByScorecard(Ascending(20));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 20u);
  EXPECT_EQ(CountTiers(*r), Counts(1, 3, 6, 10));
  // Rank 1 = a020 (score 20,000), PLATINUM; ranks 2..4 GOLD; 5..10 SILVER.
  EXPECT_EQ((*r)[0].account_id, "a020");
  EXPECT_EQ((*r)[0].score_minor, 20'000);
  EXPECT_EQ((*r)[0].rank, 1);
  EXPECT_EQ((*r)[0].tier, Tier::kPlatinum);
  EXPECT_EQ((*r)[1].account_id, "a019");
  EXPECT_EQ((*r)[1].tier, Tier::kGold);
  EXPECT_EQ((*r)[3].account_id, "a017");
  EXPECT_EQ((*r)[3].tier, Tier::kGold);
  EXPECT_EQ((*r)[4].account_id, "a016");
  EXPECT_EQ((*r)[4].tier, Tier::kSilver);
  EXPECT_EQ((*r)[9].account_id, "a011");
  EXPECT_EQ((*r)[9].tier, Tier::kSilver);
  EXPECT_EQ((*r)[10].account_id, "a010");
  EXPECT_EQ((*r)[10].rank, 11);
  EXPECT_EQ((*r)[10].tier, Tier::kStandard);
  EXPECT_EQ((*r)[19].account_id, "a001");
  EXPECT_EQ((*r)[19].rank, 20);
}

TEST(ClassifyByScorecardTest, HundredOneAndThreeAccounts) {
  absl::StatusOr<std::vector<ScoredAccount>> hundred =
      ClassifyByScorecard(Ascending(100));
  ASSERT_TRUE(hundred.ok()) << hundred.status();
  EXPECT_EQ(CountTiers(*hundred), Counts(5, 15, 30, 50));
  EXPECT_EQ((*hundred)[4].tier, Tier::kPlatinum);  // rank 5
  EXPECT_EQ((*hundred)[5].tier, Tier::kGold);      // rank 6

  absl::StatusOr<std::vector<ScoredAccount>> one =
      ClassifyByScorecard(Ascending(1));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(CountTiers(*one), Counts(1, 0, 0, 0));

  // ceil(0.15) = 1, ceil(0.6) = 1, ceil(1.5) = 2.
  absl::StatusOr<std::vector<ScoredAccount>> three =
      ClassifyByScorecard(Ascending(3));
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_EQ(CountTiers(*three), Counts(1, 0, 1, 1));
}

TEST(ClassifyByScorecardTest, EmptyInput) {
  absl::StatusOr<std::vector<ScoredAccount>> r = ClassifyByScorecard({});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->empty());
}

TEST(ClassifyByScorecardTest, EqualScoresRankByAccountId) {
  // Scores: c 500, b 500, a 500, d −100 (negative margin).
  absl::StatusOr<std::vector<ScoredAccount>> r = ClassifyByScorecard({
      In("c", 500, 10'000, 0, 0),
      In("d", 1'000, -1'000, 0, 0),
      In("b", 1'000, 5'000, 0, 0),
      In("a", 0, 10'000, 0, 500),
  });
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].account_id, "a");
  EXPECT_EQ((*r)[1].account_id, "b");
  EXPECT_EQ((*r)[2].account_id, "c");
  EXPECT_EQ((*r)[3].account_id, "d");
  EXPECT_EQ((*r)[3].score_minor, -100);
  // 4 accounts: ceil(0.2) = 1 PLATINUM, ceil(0.8) = 1 → 0 GOLD, ceil(2) = 2 →
  // 1 SILVER: equal scores, different tiers.
  EXPECT_EQ((*r)[0].tier, Tier::kPlatinum);
  EXPECT_EQ((*r)[1].tier, Tier::kSilver);
  EXPECT_EQ((*r)[2].tier, Tier::kStandard);
}

TEST(ClassifyByScorecardTest, CustomThresholds) {
  // 0 / 0 / 100%: everyone SILVER.
  absl::StatusOr<std::vector<ScoredAccount>> r =
      ClassifyByScorecard(Ascending(3), TierThresholds{0, 0, 10'000});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(CountTiers(*r), Counts(0, 0, 3, 0));

  // 10% / 20% / 30% of 10: 1, 2, 3, rest 4.
  r = ClassifyByScorecard(Ascending(10), TierThresholds{1'000, 2'000, 3'000});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(CountTiers(*r), Counts(1, 2, 3, 4));
}

TEST(ClassifyByScorecardTest, RejectsBadInput) {
  absl::StatusOr<std::vector<ScoredAccount>> r =
      ClassifyByScorecard(Ascending(2), TierThresholds{500, -1, 3'000});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "thresholds.gold_bp: must be >= 0, got -1");

  r = ClassifyByScorecard(Ascending(2), TierThresholds{500, 7'000, 3'000});
  EXPECT_EQ(r.status().message(),
            "thresholds: platinum_bp + gold_bp + silver_bp = 10500, must be "
            "<= 10000");

  std::vector<ScorecardInput> accounts = Ascending(3);
  accounts[2].account_id = "a001";
  r = ClassifyByScorecard(accounts);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "accounts[2].account_id: duplicates accounts[0] (a001)");

  accounts = Ascending(3);
  accounts[1].gross_margin_bp = 12'000;
  r = ClassifyByScorecard(accounts);
  EXPECT_EQ(r.status().message(),
            "accounts[1].gross_margin_bp: must be in -10000..10000, got 12000");
}

// ---------------------------------------------------------------------------
// Pareto

TEST(ParetoTest, EightyTwenty) {
  // Ranked a 50, b 30, c 15, d 5 (total 100): a+b = 80 ≥ 80% of 100.
  absl::StatusOr<ParetoView> v =
      Pareto({{"d", 5}, {"b", 30}, {"a", 50}, {"c", 15}});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->top_account_ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(v->top_revenue_minor, 80);
  EXPECT_EQ(v->total_revenue_minor, 100);
  EXPECT_EQ(v->top_count_share_bp, 5'000);
  EXPECT_EQ(v->top_revenue_share_bp, 8'000);
}

TEST(ParetoTest, TiesRankByIdAndSharesRoundHalfEven) {
  // x 40, y 40, z 20: x, y reach 80 of 100; 2/3 of accounts = 6666.67 → 6667.
  absl::StatusOr<ParetoView> v = Pareto({{"y", 40}, {"z", 20}, {"x", 40}});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->top_account_ids, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(v->top_count_share_bp, 6'667);

  // One big account among 32: 1/32 = 312.5 bp → 312 (even);
  // revenue 1000/1031 = 9699.3 bp → 9699.
  std::vector<Revenue> accounts = {{"big", 1'000}};
  for (int i = 0; i < 31; ++i) {
    accounts.push_back({absl::StrFormat("s%02d", i), 1});
  }
  v = Pareto(accounts);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->top_account_ids, (std::vector<std::string>{"big"}));
  EXPECT_EQ(v->top_revenue_minor, 1'000);
  EXPECT_EQ(v->total_revenue_minor, 1'031);
  EXPECT_EQ(v->top_count_share_bp, 312);
  EXPECT_EQ(v->top_revenue_share_bp, 9'699);
}

TEST(ParetoTest, ComparisonIsExact) {
  // 1, 1, 1: two make 2/3 = 6666.67 bp — enough for 6666, not for 6667.
  std::vector<Revenue> thirds = {{"a", 1}, {"b", 1}, {"c", 1}};
  absl::StatusOr<ParetoView> v = Pareto(thirds, 6'666);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->top_account_ids.size(), 2u);
  EXPECT_EQ(v->top_revenue_share_bp, 6'667);
  v = Pareto(thirds, 6'667);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->top_account_ids.size(), 3u);
  EXPECT_EQ(v->top_revenue_share_bp, 10'000);
}

TEST(ParetoTest, FullShareSkipsZeroRevenue) {
  absl::StatusOr<ParetoView> v = Pareto({{"b", 0}, {"a", 5}}, 10'000);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->top_account_ids, (std::vector<std::string>{"a"}));
  EXPECT_EQ(v->top_count_share_bp, 5'000);
  EXPECT_EQ(v->top_revenue_share_bp, 10'000);
}

TEST(ParetoTest, ZeroTotalOrNoAccountsGivesEmptyTop) {
  for (const std::vector<Revenue>& accounts :
       {std::vector<Revenue>{{"a", 0}, {"b", 0}}, std::vector<Revenue>{}}) {
    absl::StatusOr<ParetoView> v = Pareto(accounts);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_TRUE(v->top_account_ids.empty());
    EXPECT_EQ(v->top_revenue_minor, 0);
    EXPECT_EQ(v->total_revenue_minor, 0);
    EXPECT_EQ(v->top_count_share_bp, 0);
    EXPECT_EQ(v->top_revenue_share_bp, 0);
  }
}

TEST(ParetoTest, RejectsBadInput) {
  absl::StatusOr<ParetoView> v = Pareto({{"a", 1}}, 0);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(v.status().message(), "top_share_bp: must be in 1..10000, got 0");
  v = Pareto({{"a", 1}}, 10'001);
  EXPECT_EQ(v.status().message(),
            "top_share_bp: must be in 1..10000, got 10001");
  v = Pareto({{"a", 1}, {"b", 2}, {"c", -5}});
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(v.status().message(),
            "accounts[2].revenue_minor: must be >= 0, got -5");
  v = Pareto({{"x", 1}, {"x", 2}});
  EXPECT_EQ(v.status().message(),
            "accounts[1].account_id: duplicates accounts[0] (x)");
  v = Pareto({{"x", 1}, {"", 2}});
  EXPECT_EQ(v.status().message(), "accounts[1].account_id: required");
}

TEST(ParetoTest, TotalOverflowIsOutOfRange) {
  absl::StatusOr<ParetoView> v = Pareto({{"a", kMax}, {"b", 1}});
  EXPECT_EQ(v.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(v.status().message(), "accounts: total revenue overflows int64");

  // kMax alone is fine: kMax × 10000 does not overflow the comparison.
  v = Pareto({{"a", kMax}, {"b", 0}});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->top_account_ids, (std::vector<std::string>{"a"}));
  EXPECT_EQ(v->top_revenue_share_bp, 10'000);
}

// ---------------------------------------------------------------------------
// ScoreIndustries

std::vector<Criterion> SpecCriteria() {
  return {
      {"market size", false},
      {"growth", false},
      {"customer awareness", false},
      {"competition", true},
      {"implementation difficulty", true},
      {"funding and credit", false},
      {"customer relationship", false},
      {"policy support", false},
  };
}

TEST(ScoreIndustriesTest, SpecCriteriaFourIndustries) {
  // Scores in criteria order; negatives are competition and implementation
  // difficulty (4th and 5th):
  //   Retail:        8+4+6 −9 −3 +5+6+5 = 34 − 12 = 22
  //   Healthcare:    7+8+5 −6 −7 +8+5+6 = 39 − 13 = 26
  //   Energy:        6+5+4 −3 −8 +9+6+7 = 37 − 11 = 26
  //   Manufacturing: 9+6+7 −8 −5 +7+8+6 = 43 − 13 = 30
  // Σ = 104, mean = 26 → 26000 milli. Focus: total ≥ 26, so Energy and
  // Healthcare, exactly at the mean, are focus. Ranked: Manufacturing 30,
  // Energy 26, Healthcare 26 (tie by name), Retail 22.
  absl::StatusOr<IndustryMatrix> m = ScoreIndustries(
      SpecCriteria(), {
                          {"Retail", {8, 4, 6, 9, 3, 5, 6, 5}},
                          {"Healthcare", {7, 8, 5, 6, 7, 8, 5, 6}},
                          {"Energy", {6, 5, 4, 3, 8, 9, 6, 7}},
                          {"Manufacturing", {9, 6, 7, 8, 5, 7, 8, 6}},
                      });
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->ranked.size(), 4u);
  EXPECT_EQ(m->ranked[0].name, "Manufacturing");
  EXPECT_EQ(m->ranked[0].total, 30);
  EXPECT_TRUE(m->ranked[0].focus);
  EXPECT_EQ(m->ranked[1].name, "Energy");
  EXPECT_EQ(m->ranked[1].total, 26);
  EXPECT_TRUE(m->ranked[1].focus);
  EXPECT_EQ(m->ranked[2].name, "Healthcare");
  EXPECT_EQ(m->ranked[2].total, 26);
  EXPECT_TRUE(m->ranked[2].focus);
  EXPECT_EQ(m->ranked[3].name, "Retail");
  EXPECT_EQ(m->ranked[3].total, 22);
  EXPECT_FALSE(m->ranked[3].focus);
  EXPECT_EQ(m->mean_milli, 26'000);
  EXPECT_EQ(m->focus, (std::vector<std::string>{"Manufacturing", "Energy",
                                                "Healthcare"}));
}

TEST(ScoreIndustriesTest, MeanMilliRoundsHalfEvenAndFocusIsExact) {
  // Totals 1, 1, 0: mean 2/3 = 666.67 milli → 667; 1 × 3 ≥ 2 is focus.
  std::vector<Criterion> one = {{"growth", false}};
  absl::StatusOr<IndustryMatrix> m =
      ScoreIndustries(one, {{"c", {0}}, {"b", {1}}, {"a", {1}}});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->mean_milli, 667);
  EXPECT_EQ(m->focus, (std::vector<std::string>{"a", "b"}));

  // 16 industries, one scoring 1: mean 62.5 milli → 62; three scoring 1:
  // 187.5 → 188.
  std::vector<IndustryScores> sixteen;
  for (int i = 0; i < 16; ++i) {
    sixteen.push_back({absl::StrFormat("i%02d", i), {i == 0 ? 1 : 0}});
  }
  m = ScoreIndustries(one, sixteen);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->mean_milli, 62);
  EXPECT_EQ(m->focus, (std::vector<std::string>{"i00"}));
  sixteen[1].scores[0] = 1;
  sixteen[2].scores[0] = 1;
  m = ScoreIndustries(one, sixteen);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->mean_milli, 188);
}

TEST(ScoreIndustriesTest, NegativeTotalsAndAllEqual) {
  // Only a negative criterion: totals −3 and −5, mean −4 → −4000.
  absl::StatusOr<IndustryMatrix> m =
      ScoreIndustries({{"competition", true}}, {{"x", {5}}, {"y", {3}}});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->ranked[0].name, "y");
  EXPECT_EQ(m->ranked[0].total, -3);
  EXPECT_EQ(m->ranked[1].total, -5);
  EXPECT_EQ(m->mean_milli, -4'000);
  EXPECT_EQ(m->focus, (std::vector<std::string>{"y"}));

  m = ScoreIndustries({{"growth", false}}, {{"b", {4}}, {"a", {4}}});
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->focus, (std::vector<std::string>{"a", "b"}));
}

TEST(ScoreIndustriesTest, RejectsBadInput) {
  struct Case {
    std::vector<Criterion> criteria;
    std::vector<IndustryScores> industries;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{}, {{"x", {}}}, "criteria: at least one criterion required"},
      {{{"a", false}, {"", false}}, {}, "criteria[1].name: required"},
      {{{"growth", false}, {"size", false}, {"growth", true}},
       {},
       "criteria[2].name: duplicates criteria[0] (growth)"},
      {{{"a", false}}, {}, "industries: at least one industry required"},
      {{{"a", false}}, {{"x", {1}}, {"", {1}}}, "industries[1].name: required"},
      {{{"a", false}},
       {{"x", {1}}, {"x", {2}}},
       "industries[1].name: duplicates industries[0] (x)"},
      {SpecCriteria(),
       {{"x", {1, 1, 1, 1, 1, 1, 1, 1}},
        {"y", {1, 1, 1, 1, 1, 1, 1, 1}},
        {"z", {1, 2, 3}}},
       "industries[2].scores: has 3 scores, want 8 (one per criterion)"},
      {SpecCriteria(),
       {{"x", {1, 1, 1, 1, 1, 11, 1, 1}}},
       "industries[0].scores[5]: must be in 0..10, got 11"},
      {{{"a", false}, {"b", true}},
       {{"x", {0, 10}}, {"y", {-1, 0}}},
       "industries[1].scores[0]: must be in 0..10, got -1"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<IndustryMatrix> m =
        ScoreIndustries(c.criteria, c.industries);
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument)
        << c.message;
    EXPECT_EQ(m.status().message(), c.message);
  }
}

}  // namespace
}  // namespace salesops::accounts
