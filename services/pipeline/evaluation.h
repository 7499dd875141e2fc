#pragma once

// Evaluation tools (SPEC.md §3.5). Pure logic. Each function validates its
// input and returns INVALID_ARGUMENT naming every violated field and rule
// (joined with "; "); it fills everything but opportunity_id, evaluated_by and
// evaluated_micros.

#include "absl/status/statusor.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops::pipeline {

// Four-factor matrix: each factor 1..5 ("need: must be 1..5"); min_factor 0
// (→ 3) or 1..5; min_total 0 (→ 14) or 4..20. pursue = every factor ≥
// min_factor and total ≥ min_total; weak_factors lists the factors below
// min_factor by name ("need", "impact", "fit", "relationship").
[[nodiscard]] absl::StatusOr<v1::FourFactorEvaluation> EvaluateFourFactors(
    int32_t need, int32_t impact, int32_t fit, int32_t relationship,
    int32_t min_factor, int32_t min_total);

// Qualification checklist: the eight scores 1..5 ("evaluation.budget: must be
// 1..5"); total = their sum; weakest = the names of the items with the lowest
// score, in field order ("need_match", "budget", "decision_cycle",
// "competition", "industry_prospect", "credit_reputation", "urgency",
// "cooperation").
[[nodiscard]] absl::StatusOr<v1::QualificationEvaluation> EvaluateQualification(
    const v1::QualificationEvaluation& scores);

// Weighted competitive evaluation: 1..30 criteria with unique non-blank names
// and weight_bp 1..10000 summing to exactly 10000 ("criteria: weights must sum
// to 10000 bp, got 9500"); 1..20 parties with unique non-blank names and one
// score 1..5 per criterion. weighted_score_milli = round-half-even(Σ weight_bp
// × score / 10); results best first, ties by name; equal scores share a rank
// (1, 1, 3).
[[nodiscard]] absl::StatusOr<v1::CompetitiveEvaluation> EvaluateCompetitive(
    const google::protobuf::RepeatedPtrField<v1::CompetitiveCriterion>&
        criteria,
    const google::protobuf::RepeatedPtrField<v1::CompetitiveParty>& parties);

}  // namespace salesops::pipeline
