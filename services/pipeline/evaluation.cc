#include "services/pipeline/evaluation.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace salesops::pipeline {
namespace {

inline constexpr int32_t kDefaultMinFactor = 3;
inline constexpr int32_t kDefaultMinTotal = 14;
inline constexpr int kMaxCriteria = 30;
inline constexpr int kMaxParties = 20;
inline constexpr int64_t kTotalWeightBp = 10000;

bool IsScore(int32_t v) { return v >= 1 && v <= 5; }

absl::Status Violations(const std::vector<std::string>& violations) {
  if (violations.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(violations, "; "));
}

// n / 10 rounded half to even, for n >= 0.
int64_t DivTenHalfEven(int64_t n) {
  int64_t q = n / 10;
  const int64_t r = n % 10;
  if (r > 5 || (r == 5 && q % 2 != 0)) ++q;
  return q;
}

}  // namespace

absl::StatusOr<v1::FourFactorEvaluation> EvaluateFourFactors(
    int32_t need, int32_t impact, int32_t fit, int32_t relationship,
    int32_t min_factor, int32_t min_total) {
  const std::pair<const char*, int32_t> factors[] = {
      {"need", need},
      {"impact", impact},
      {"fit", fit},
      {"relationship", relationship}};
  std::vector<std::string> violations;
  for (const auto& [name, value] : factors) {
    if (!IsScore(value)) {
      violations.push_back(absl::StrCat(name, ": must be 1..5"));
    }
  }
  if (min_factor != 0 && (min_factor < 1 || min_factor > 5)) {
    violations.push_back("min_factor: must be 0 (default 3) or 1..5");
  }
  if (min_total != 0 && (min_total < 4 || min_total > 20)) {
    violations.push_back("min_total: must be 0 (default 14) or 4..20");
  }
  if (absl::Status s = Violations(violations); !s.ok()) return s;

  const int32_t applied_factor =
      min_factor == 0 ? kDefaultMinFactor : min_factor;
  const int32_t applied_total = min_total == 0 ? kDefaultMinTotal : min_total;
  v1::FourFactorEvaluation e;
  e.set_need(need);
  e.set_impact(impact);
  e.set_fit(fit);
  e.set_relationship(relationship);
  e.set_total(need + impact + fit + relationship);
  e.set_min_factor(applied_factor);
  e.set_min_total(applied_total);
  for (const auto& [name, value] : factors) {
    if (value < applied_factor) e.add_weak_factors(name);
  }
  e.set_pursue(e.weak_factors().empty() && e.total() >= applied_total);
  return e;
}

absl::StatusOr<v1::QualificationEvaluation> EvaluateQualification(
    const v1::QualificationEvaluation& scores) {
  const std::pair<const char*, int32_t> items[] = {
      {"need_match", scores.need_match()},
      {"budget", scores.budget()},
      {"decision_cycle", scores.decision_cycle()},
      {"competition", scores.competition()},
      {"industry_prospect", scores.industry_prospect()},
      {"credit_reputation", scores.credit_reputation()},
      {"urgency", scores.urgency()},
      {"cooperation", scores.cooperation()}};
  std::vector<std::string> violations;
  for (const auto& [name, value] : items) {
    if (!IsScore(value)) {
      violations.push_back(absl::StrCat("evaluation.", name, ": must be 1..5"));
    }
  }
  if (absl::Status s = Violations(violations); !s.ok()) return s;

  v1::QualificationEvaluation e;
  e.set_need_match(scores.need_match());
  e.set_budget(scores.budget());
  e.set_decision_cycle(scores.decision_cycle());
  e.set_competition(scores.competition());
  e.set_industry_prospect(scores.industry_prospect());
  e.set_credit_reputation(scores.credit_reputation());
  e.set_urgency(scores.urgency());
  e.set_cooperation(scores.cooperation());
  int32_t total = 0;
  int32_t lowest = 5;
  for (const auto& [name, value] : items) {
    total += value;
    lowest = std::min(lowest, value);
  }
  e.set_total(total);
  for (const auto& [name, value] : items) {
    if (value == lowest) e.add_weakest(name);
  }
  return e;
}

namespace {

// The criteria's rules: 1..kMaxCriteria, unique non-blank names, weights
// 1..10000 bp summing to exactly 10000.
void CheckCriteria(const google::protobuf::RepeatedPtrField<
                       v1::CompetitiveCriterion>& criteria,
                   std::vector<std::string>& violations) {
  if (criteria.empty()) {
    violations.push_back("criteria: at least 1 required");
  } else if (criteria.size() > kMaxCriteria) {
    violations.push_back(absl::StrCat("criteria: at most ", kMaxCriteria,
                                      ", got ", criteria.size()));
  }
  std::set<std::string> criterion_names;
  int64_t weight_sum = 0;
  for (int i = 0; i < criteria.size(); ++i) {
    const v1::CompetitiveCriterion& c = criteria[i];
    const std::string name(absl::StripAsciiWhitespace(c.name()));
    if (name.empty()) {
      violations.push_back(absl::StrCat("criteria[", i, "].name: required"));
    } else if (!criterion_names.insert(name).second) {
      violations.push_back(
          absl::StrCat("criteria[", i, "].name: duplicate \"", name, "\""));
    }
    if (c.weight_bp() < 1 || c.weight_bp() > kTotalWeightBp) {
      violations.push_back(
          absl::StrCat("criteria[", i, "].weight_bp: must be 1..10000"));
    }
    weight_sum += c.weight_bp();
  }
  if (!criteria.empty() && weight_sum != kTotalWeightBp) {
    violations.push_back(absl::StrCat(
        "criteria: weights must sum to 10000 bp, got ", weight_sum));
  }
}

// The parties' rules: 1..kMaxParties, unique non-blank names, one score
// 1..5 per criterion.
void CheckParties(
    const google::protobuf::RepeatedPtrField<v1::CompetitiveParty>& parties,
    int criteria_count, std::vector<std::string>& violations) {
  if (parties.empty()) {
    violations.push_back("parties: at least 1 required");
  } else if (parties.size() > kMaxParties) {
    violations.push_back(absl::StrCat("parties: at most ", kMaxParties,
                                      ", got ", parties.size()));
  }
  std::set<std::string> party_names;
  for (int j = 0; j < parties.size(); ++j) {
    const v1::CompetitiveParty& p = parties[j];
    const std::string name(absl::StripAsciiWhitespace(p.name()));
    if (name.empty()) {
      violations.push_back(absl::StrCat("parties[", j, "].name: required"));
    } else if (!party_names.insert(name).second) {
      violations.push_back(
          absl::StrCat("parties[", j, "].name: duplicate \"", name, "\""));
    }
    if (p.scores_size() != criteria_count) {
      violations.push_back(absl::StrCat(
          "parties[", j, "].scores: must have one score per criterion (",
          criteria_count, "), got ", p.scores_size()));
    }
    for (int k = 0; k < p.scores_size(); ++k) {
      if (!IsScore(p.scores(k))) {
        violations.push_back(
            absl::StrCat("parties[", j, "].scores[", k, "]: must be 1..5"));
      }
    }
  }
}

// Each party's weighted score, best first (ties by name), ranked 1, 1, 3.
std::vector<v1::CompetitiveResult> Rank(
    const google::protobuf::RepeatedPtrField<v1::CompetitiveCriterion>&
        criteria,
    const google::protobuf::RepeatedPtrField<v1::CompetitiveParty>& parties) {
  std::vector<v1::CompetitiveResult> results;
  results.reserve(parties.size());
  for (const v1::CompetitiveParty& p : parties) {
    int64_t sum = 0;  // in 1/10000 of a point
    for (int k = 0; k < criteria.size(); ++k) {
      sum += int64_t{criteria[k].weight_bp()} * p.scores(k);
    }
    v1::CompetitiveResult r;
    r.set_name(p.name());
    r.set_weighted_score_milli(DivTenHalfEven(sum));
    results.push_back(std::move(r));
  }
  std::sort(results.begin(), results.end(),
            [](const v1::CompetitiveResult& a, const v1::CompetitiveResult& b) {
              if (a.weighted_score_milli() != b.weighted_score_milli()) {
                return a.weighted_score_milli() > b.weighted_score_milli();
              }
              return a.name() < b.name();
            });
  int32_t rank = 0;
  int64_t previous_score = -1;
  for (size_t i = 0; i < results.size(); ++i) {
    if (i == 0 || results[i].weighted_score_milli() != previous_score) {
      rank = static_cast<int32_t>(i + 1);
    }
    previous_score = results[i].weighted_score_milli();
    results[i].set_rank(rank);
  }
  return results;
}

}  // namespace

absl::StatusOr<v1::CompetitiveEvaluation> EvaluateCompetitive(
    const google::protobuf::RepeatedPtrField<v1::CompetitiveCriterion>&
        criteria,
    const google::protobuf::RepeatedPtrField<v1::CompetitiveParty>& parties) {
  std::vector<std::string> violations;
  CheckCriteria(criteria, violations);
  CheckParties(parties, criteria.size(), violations);
  if (absl::Status s = Violations(violations); !s.ok()) return s;
  v1::CompetitiveEvaluation e;
  *e.mutable_criteria() = criteria;
  *e.mutable_parties() = parties;
  for (v1::CompetitiveResult& r : Rank(criteria, parties)) {
    *e.add_results() = std::move(r);
  }
  return e;
}

}  // namespace salesops::pipeline
