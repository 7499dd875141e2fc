#include "services/pipeline/evaluation.h"

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace salesops::pipeline {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// ---- Four-factor matrix ----

TEST(FourFactorsTest, DefaultsApplied) {
  absl::StatusOr<v1::FourFactorEvaluation> e =
      EvaluateFourFactors(4, 4, 3, 3, 0, 0);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->need(), 4);
  EXPECT_EQ(e->impact(), 4);
  EXPECT_EQ(e->fit(), 3);
  EXPECT_EQ(e->relationship(), 3);
  EXPECT_EQ(e->total(), 14);
  EXPECT_EQ(e->min_factor(), 3);
  EXPECT_EQ(e->min_total(), 14);
  EXPECT_TRUE(e->pursue());  // every factor == 3 boundary, total == 14
  EXPECT_THAT(e->weak_factors(), IsEmpty());
  EXPECT_EQ(e->opportunity_id(), "");
  EXPECT_EQ(e->evaluated_by(), "");
  EXPECT_EQ(e->evaluated_micros(), 0);
}

TEST(FourFactorsTest, TotalOneBelowMinimumAbandons) {
  absl::StatusOr<v1::FourFactorEvaluation> e =
      EvaluateFourFactors(4, 3, 3, 3, 0, 0);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->total(), 13);
  EXPECT_FALSE(e->pursue());
  EXPECT_THAT(e->weak_factors(), IsEmpty());
}

TEST(FourFactorsTest, WeakFactorAbandonsEvenWithHighTotal) {
  absl::StatusOr<v1::FourFactorEvaluation> e =
      EvaluateFourFactors(5, 2, 5, 2, 0, 0);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->total(), 14);
  EXPECT_FALSE(e->pursue());
  EXPECT_THAT(e->weak_factors(), ElementsAre("impact", "relationship"));
}

TEST(FourFactorsTest, AllWeakInFieldOrder) {
  absl::StatusOr<v1::FourFactorEvaluation> e =
      EvaluateFourFactors(1, 1, 1, 1, 0, 0);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_THAT(e->weak_factors(),
              ElementsAre("need", "impact", "fit", "relationship"));
}

TEST(FourFactorsTest, CustomThresholds) {
  absl::StatusOr<v1::FourFactorEvaluation> e =
      EvaluateFourFactors(2, 2, 2, 2, 2, 8);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->min_factor(), 2);
  EXPECT_EQ(e->min_total(), 8);
  EXPECT_TRUE(e->pursue());
  e = EvaluateFourFactors(5, 5, 5, 4, 5, 20);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE(e->pursue());
  EXPECT_THAT(e->weak_factors(), ElementsAre("relationship"));
  e = EvaluateFourFactors(5, 5, 5, 5, 5, 20);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(e->pursue());
}

TEST(FourFactorsTest, FactorRange) {
  EXPECT_TRUE(EvaluateFourFactors(1, 5, 1, 5, 1, 4).ok());
  absl::StatusOr<v1::FourFactorEvaluation> e =
      EvaluateFourFactors(0, 6, 3, 3, 0, 0);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(e.status().message(), "need: must be 1..5; impact: must be 1..5");
  e = EvaluateFourFactors(3, 3, -1, 99, 0, 0);
  EXPECT_EQ(e.status().message(),
            "fit: must be 1..5; relationship: must be 1..5");
}

TEST(FourFactorsTest, ThresholdRanges) {
  EXPECT_TRUE(EvaluateFourFactors(3, 3, 3, 3, 5, 4).ok());
  EXPECT_TRUE(EvaluateFourFactors(3, 3, 3, 3, 1, 20).ok());
  absl::StatusOr<v1::FourFactorEvaluation> e =
      EvaluateFourFactors(3, 3, 3, 3, 6, 3);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(e.status().message().find("min_factor: "), std::string::npos);
  EXPECT_NE(e.status().message().find("; min_total: "), std::string::npos);
  EXPECT_FALSE(EvaluateFourFactors(3, 3, 3, 3, -1, 0).ok());
  EXPECT_FALSE(EvaluateFourFactors(3, 3, 3, 3, 0, 21).ok());
}

TEST(FourFactorsTest, AllViolationsJoined) {
  absl::StatusOr<v1::FourFactorEvaluation> e =
      EvaluateFourFactors(0, 0, 0, 0, 9, 99);
  ASSERT_FALSE(e.ok());
  const std::string msg(e.status().message());
  EXPECT_EQ(msg.rfind("need: must be 1..5; impact: must be 1..5; fit: must be "
                      "1..5; relationship: must be 1..5; min_factor: ",
                      0),
            0u)
      << msg;
  EXPECT_NE(msg.find("; min_total: "), std::string::npos) << msg;
}

// ---- Qualification ----

v1::QualificationEvaluation Scores(int a, int b, int c, int d, int e, int f,
                                   int g, int h) {
  v1::QualificationEvaluation q;
  q.set_need_match(a);
  q.set_budget(b);
  q.set_decision_cycle(c);
  q.set_competition(d);
  q.set_industry_prospect(e);
  q.set_credit_reputation(f);
  q.set_urgency(g);
  q.set_cooperation(h);
  return q;
}

TEST(QualificationTest, TotalAndWeakestInFieldOrder) {
  v1::QualificationEvaluation in = Scores(4, 2, 5, 3, 2, 5, 4, 2);
  in.set_opportunity_id("opp_1");
  in.set_total(999);
  in.add_weakest("bogus");
  absl::StatusOr<v1::QualificationEvaluation> e = EvaluateQualification(in);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->total(), 27);
  EXPECT_THAT(e->weakest(),
              ElementsAre("budget", "industry_prospect", "cooperation"));
  EXPECT_EQ(e->need_match(), 4);
  EXPECT_EQ(e->cooperation(), 2);
  EXPECT_EQ(e->opportunity_id(), "");
}

TEST(QualificationTest, AllEqualAllWeakest) {
  absl::StatusOr<v1::QualificationEvaluation> e =
      EvaluateQualification(Scores(5, 5, 5, 5, 5, 5, 5, 5));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->total(), 40);
  EXPECT_THAT(e->weakest(),
              ElementsAre("need_match", "budget", "decision_cycle",
                          "competition", "industry_prospect",
                          "credit_reputation", "urgency", "cooperation"));
  e = EvaluateQualification(Scores(1, 1, 1, 1, 1, 1, 1, 1));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->total(), 8);
}

TEST(QualificationTest, SingleWeakest) {
  absl::StatusOr<v1::QualificationEvaluation> e =
      EvaluateQualification(Scores(3, 3, 3, 3, 3, 3, 1, 3));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_THAT(e->weakest(), ElementsAre("urgency"));
}

TEST(QualificationTest, Ranges) {
  absl::StatusOr<v1::QualificationEvaluation> e =
      EvaluateQualification(Scores(3, 0, 3, 3, 3, 6, 3, 3));
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(e.status().message(),
            "evaluation.budget: must be 1..5; "
            "evaluation.credit_reputation: must be 1..5");
  e = EvaluateQualification(v1::QualificationEvaluation());
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(),
            "evaluation.need_match: must be 1..5; evaluation.budget: must be "
            "1..5; evaluation.decision_cycle: must be 1..5; "
            "evaluation.competition: must be 1..5; "
            "evaluation.industry_prospect: must be 1..5; "
            "evaluation.credit_reputation: must be 1..5; evaluation.urgency: "
            "must be 1..5; evaluation.cooperation: must be 1..5");
}

// ---- Competitive ----

using Criteria = google::protobuf::RepeatedPtrField<v1::CompetitiveCriterion>;
using Parties = google::protobuf::RepeatedPtrField<v1::CompetitiveParty>;

Criteria MakeCriteria(const std::vector<std::pair<std::string, int>>& weights) {
  Criteria out;
  for (const auto& [name, bp] : weights) {
    v1::CompetitiveCriterion* c = out.Add();
    c->set_name(name);
    c->set_weight_bp(bp);
  }
  return out;
}

void AddParty(Parties* parties, const std::string& name,
              const std::vector<int>& scores) {
  v1::CompetitiveParty* p = parties->Add();
  p->set_name(name);
  for (int s : scores) p->add_scores(s);
}

TEST(CompetitiveTest, SpecExampleWeightsRanked) {
  Criteria criteria = MakeCriteria({{"customer relationship", 2000},
                                    {"after-sales service", 1500},
                                    {"industry standard", 1000},
                                    {"brand", 1000},
                                    {"product performance", 1000},
                                    {"price", 1500},
                                    {"supply capability", 500},
                                    {"speed of solution", 1500}});
  Parties parties;
  AddParty(&parties, "us", {5, 4, 3, 3, 4, 3, 4, 5});
  AddParty(&parties, "rival", {3, 3, 4, 5, 4, 5, 4, 3});
  absl::StatusOr<v1::CompetitiveEvaluation> e =
      EvaluateCompetitive(criteria, parties);
  ASSERT_TRUE(e.ok()) << e.status();
  // us: .2*5+.15*4+.1*3+.1*3+.1*4+.15*3+.05*4+.15*5 = 4.0
  // rival: .6+.45+.4+.5+.4+.75+.2+.45 = 3.75
  ASSERT_EQ(e->results_size(), 2);
  EXPECT_EQ(e->results(0).name(), "us");
  EXPECT_EQ(e->results(0).weighted_score_milli(), 4000);
  EXPECT_EQ(e->results(0).rank(), 1);
  EXPECT_EQ(e->results(1).name(), "rival");
  EXPECT_EQ(e->results(1).weighted_score_milli(), 3750);
  EXPECT_EQ(e->results(1).rank(), 2);
  EXPECT_EQ(e->criteria_size(), 8);
  EXPECT_EQ(e->parties_size(), 2);
  EXPECT_EQ(e->opportunity_id(), "");
}

TEST(CompetitiveTest, TiesShareRankAndSortByName) {
  Criteria criteria = MakeCriteria({{"price", 5000}, {"quality", 5000}});
  Parties parties;
  AddParty(&parties, "zeta", {4, 4});   // 4000
  AddParty(&parties, "alpha", {5, 3});  // 4000
  AddParty(&parties, "us", {3, 4});     // 3500
  AddParty(&parties, "best", {5, 5});   // 5000
  absl::StatusOr<v1::CompetitiveEvaluation> e =
      EvaluateCompetitive(criteria, parties);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->results_size(), 4);
  std::vector<std::tuple<std::string, int64_t, int>> got;
  for (const v1::CompetitiveResult& r : e->results()) {
    got.emplace_back(r.name(), r.weighted_score_milli(), r.rank());
  }
  EXPECT_THAT(got, ElementsAre(std::make_tuple("best", 5000, 1),
                               std::make_tuple("alpha", 4000, 2),
                               std::make_tuple("zeta", 4000, 2),
                               std::make_tuple("us", 3500, 4)));
}

TEST(CompetitiveTest, RanksOneOneThree) {
  Criteria criteria = MakeCriteria({{"only", 10000}});
  Parties parties;
  AddParty(&parties, "b", {4});
  AddParty(&parties, "c", {2});
  AddParty(&parties, "a", {4});
  absl::StatusOr<v1::CompetitiveEvaluation> e =
      EvaluateCompetitive(criteria, parties);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->results_size(), 3);
  EXPECT_EQ(e->results(0).name(), "a");
  EXPECT_EQ(e->results(0).rank(), 1);
  EXPECT_EQ(e->results(1).name(), "b");
  EXPECT_EQ(e->results(1).rank(), 1);
  EXPECT_EQ(e->results(2).name(), "c");
  EXPECT_EQ(e->results(2).rank(), 3);
  EXPECT_EQ(e->results(2).weighted_score_milli(), 2000);
}

int64_t Milli(int w1, int s1, int w2, int s2) {
  Criteria criteria = MakeCriteria({{"x", w1}, {"y", w2}});
  Parties parties;
  AddParty(&parties, "us", {s1, s2});
  absl::StatusOr<v1::CompetitiveEvaluation> e =
      EvaluateCompetitive(criteria, parties);
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? e->results(0).weighted_score_milli() : -1;
}

TEST(CompetitiveTest, RoundHalfEven) {
  // Σ = 9995*1 + 5*2 = 10005 -> 1000.5 -> 1000 (even).
  EXPECT_EQ(Milli(9995, 1, 5, 2), 1000);
  // Σ = 9995*1 + 5*4 = 10015 -> 1001.5 -> 1002 (even).
  EXPECT_EQ(Milli(9995, 1, 5, 4), 1002);
  // Σ = 9999*1 + 1*5 = 10004 -> 1000.4 -> 1000.
  EXPECT_EQ(Milli(9999, 1, 1, 5), 1000);
  // Σ = 9997*1 + 3*3 = 10006 -> 1000.6 -> 1001.
  EXPECT_EQ(Milli(9997, 1, 3, 3), 1001);
  // Σ = 9999*5 + 1*4 = 49999 -> 4999.9 -> 5000.
  EXPECT_EQ(Milli(9999, 5, 1, 4), 5000);
  // Σ = 9995*5 + 5*3 = 49990 -> 4999 exactly.
  EXPECT_EQ(Milli(9995, 5, 5, 3), 4999);
  // Σ = 9995*2 + 5*3 = 20005 -> 2000.5 -> 2000 (even).
  EXPECT_EQ(Milli(9995, 2, 5, 3), 2000);
  // Σ = 9995*3 + 5*4 = 30005 -> 3000.5 -> 3000; 9995*3+5*2 = 29995 -> 3000.
  EXPECT_EQ(Milli(9995, 3, 5, 4), 3000);
  EXPECT_EQ(Milli(9995, 3, 5, 2), 3000);
}

TEST(CompetitiveTest, WeightSumBoundaries) {
  Parties parties;
  AddParty(&parties, "us", {3, 3});
  EXPECT_TRUE(
      EvaluateCompetitive(MakeCriteria({{"a", 5000}, {"b", 5000}}), parties)
          .ok());
  absl::StatusOr<v1::CompetitiveEvaluation> e =
      EvaluateCompetitive(MakeCriteria({{"a", 5000}, {"b", 4999}}), parties);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(e.status().message(),
            "criteria: weights must sum to 10000 bp, got 9999");
  e = EvaluateCompetitive(MakeCriteria({{"a", 5000}, {"b", 5001}}), parties);
  EXPECT_EQ(e.status().message(),
            "criteria: weights must sum to 10000 bp, got 10001");
  e = EvaluateCompetitive(MakeCriteria({{"a", 4500}, {"b", 5000}}), parties);
  EXPECT_EQ(e.status().message(),
            "criteria: weights must sum to 10000 bp, got 9500");
}

TEST(CompetitiveTest, WeightRange) {
  Parties parties;
  AddParty(&parties, "us", {3, 3});
  absl::StatusOr<v1::CompetitiveEvaluation> e =
      EvaluateCompetitive(MakeCriteria({{"a", 0}, {"b", 10000}}), parties);
  EXPECT_EQ(e.status().message(), "criteria[0].weight_bp: must be 1..10000");
  e = EvaluateCompetitive(MakeCriteria({{"a", 10001}, {"b", -1}}), parties);
  EXPECT_EQ(e.status().message(),
            "criteria[0].weight_bp: must be 1..10000; "
            "criteria[1].weight_bp: must be 1..10000");
  // 1 and 9999 are valid.
  EXPECT_TRUE(
      EvaluateCompetitive(MakeCriteria({{"a", 1}, {"b", 9999}}), parties).ok());
}

TEST(CompetitiveTest, CriterionCountAndNames) {
  Parties one;
  AddParty(&one, "us", {});
  absl::StatusOr<v1::CompetitiveEvaluation> e =
      EvaluateCompetitive(Criteria(), one);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message().rfind("criteria: ", 0), 0u);

  std::vector<std::pair<std::string, int>> thirty;
  std::vector<int> scores;
  for (int i = 0; i < 30; ++i) {
    thirty.emplace_back("c" + std::to_string(i), i < 10 ? 334 : 333);
    scores.push_back(3);
  }
  // 10*334 + 20*333 = 10000.
  Parties parties;
  AddParty(&parties, "us", scores);
  EXPECT_TRUE(EvaluateCompetitive(MakeCriteria(thirty), parties).ok());
  thirty.emplace_back("c30", 1);
  thirty[0].second = 333;
  parties.Mutable(0)->add_scores(3);
  e = EvaluateCompetitive(MakeCriteria(thirty), parties);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "criteria: at most 30, got 31");

  Parties two;
  AddParty(&two, "us", {3, 3, 3});
  e = EvaluateCompetitive(
      MakeCriteria({{"price", 3000}, {" ", 3000}, {"price", 4000}}), two);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(
      e.status().message(),
      "criteria[1].name: required; criteria[2].name: duplicate \"price\"");
}

TEST(CompetitiveTest, PartyValidation) {
  Criteria criteria = MakeCriteria({{"a", 5000}, {"b", 5000}});
  absl::StatusOr<v1::CompetitiveEvaluation> e =
      EvaluateCompetitive(criteria, Parties());
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message().rfind("parties: ", 0), 0u);

  Parties parties;
  AddParty(&parties, "us", {3, 0});
  AddParty(&parties, "", {3, 3});
  AddParty(&parties, "us", {3});
  AddParty(&parties, "rival", {6, 3});
  e = EvaluateCompetitive(criteria, parties);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(e.status().message(),
            "parties[0].scores[1]: must be 1..5; parties[1].name: required; "
            "parties[2].name: duplicate \"us\"; parties[2].scores: must have "
            "one score per criterion (2), got 1; parties[3].scores[0]: must be "
            "1..5");
}

TEST(CompetitiveTest, PartyCount) {
  Criteria criteria = MakeCriteria({{"a", 10000}});
  Parties parties;
  for (int i = 0; i < 20; ++i) AddParty(&parties, "p" + std::to_string(i), {3});
  absl::StatusOr<v1::CompetitiveEvaluation> e =
      EvaluateCompetitive(criteria, parties);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->results_size(), 20);
  for (const v1::CompetitiveResult& r : e->results()) EXPECT_EQ(r.rank(), 1);
  AddParty(&parties, "p20", {3});
  e = EvaluateCompetitive(criteria, parties);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "parties: at most 20, got 21");
}

TEST(CompetitiveTest, CriteriaAndPartyErrorsJoined) {
  Parties parties;
  AddParty(&parties, "us", {9});
  absl::StatusOr<v1::CompetitiveEvaluation> e =
      EvaluateCompetitive(MakeCriteria({{"a", 9000}}), parties);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(),
            "criteria: weights must sum to 10000 bp, got 9000; "
            "parties[0].scores[0]: must be 1..5");
}

}  // namespace
}  // namespace salesops::pipeline
