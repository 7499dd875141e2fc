#pragma once

// Key-account analysis (SPEC.md §2.1, §2.4): the attack/defend segment, the
// value scorecard and its tiers, the 80/20 (Pareto) view of revenue, and the
// industry attractiveness matrix.
//
// Pure logic: no storage, no protobuf. Money is int64 minor units of the
// instance currency, rates are int32 basis points (bp, 10000 = 100%); there is
// never a floating-point step. Divisions are computed exactly in 128 bits and
// rounded once, half to even (banker's rounding, symmetric for negatives).
// Results that do not fit int64 are OUT_OF_RANGE. Every ordering is total:
// ties are broken by id or name ascending (byte order). Validation errors are
// INVALID_ARGUMENT naming the field and the rule, e.g.
// "accounts[2].gross_margin_bp: must be in -10000..10000, got 12000"; only
// the first error found is reported.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace salesops::accounts {

// ---------------------------------------------------------------------------
// Segment: the attack/defend model (SPEC.md §2.1).

enum class Level { kLow, kHigh };

enum class Segment {
  kAcquire,       // high potential, low share of wallet: attack
  kRetain,        // high potential, high share: defend
  kMaintain,      // low potential, high share
  kDeprioritize,  // low potential, low share
};

// The segment of an account from its purchase potential and our share of its
// spend (share of wallet).
Segment SegmentOf(Level purchase_potential, Level share_of_wallet);

// "ACQUIRE", "RETAIN", "MAINTAIN", "DEPRIORITIZE".
absl::string_view SegmentName(Segment segment);

// ---------------------------------------------------------------------------
// Value scorecard and tiers (SPEC.md §2.4).

struct ScorecardInput {
  std::string account_id;           // non-empty, unique in a call
  int64_t revenue_12m_minor = 0;    // revenue of the last 12 months, >= 0
  int32_t gross_margin_bp = 0;      // -10000..10000 (negative margins exist)
  int32_t avg_collection_days = 0;  // average days to collect, 0..3650
  int64_t purchase_potential_minor = 0;  // annual purchases the customer could
                                         // make with us, >= 0
};

// The parts of an account's scorecard value, minor units.
struct ScoreBreakdown {
  int64_t current_value_minor = 0;
  int64_t potential_value_minor = 0;
  int64_t score_minor = 0;  // current + potential
};

// The scorecard value of one account:
//   current         = revenue_12m × gross_margin_bp / 10000
//                     (gross profit of the last 12 months)
//   collection      = max(0, 365 − avg_collection_days) / 365
//                     (money tied up longer is worth less; 365+ days → 0)
//   current_value   = current × collection
//   potential_value = max(0, purchase_potential − revenue_12m)
//                     × gross_margin_bp / 10000   (untapped gross profit)
//   score           = current_value + potential_value
// current_value is computed exactly as revenue × margin × (365 − days) /
// (10000 × 365) and rounded once (no rounding of the intermediate `current`);
// potential_value is rounded once. Both round half to even. The score is
// negative when the margin is. |score| <= max(revenue, purchase_potential), so
// it always fits int64.
// Example: revenue 1,000,000, margin 2,500 bp, 73 days, potential 3,000,000:
//   current_value = 1,000,000 × 2,500 × 292 / 3,650,000 = 200,000;
//   potential_value = 2,000,000 × 2,500 / 10,000 = 500,000; score 700,000.
// Errors (INVALID_ARGUMENT, prefixed by `field`, e.g. "accounts[3]"):
//   "<field>.account_id: required", "<field>.revenue_12m_minor: must be >= 0,
//   got -1", "<field>.gross_margin_bp: must be in -10000..10000, got 12000",
//   "<field>.avg_collection_days: must be in 0..3650, got 4000",
//   "<field>.purchase_potential_minor: must be >= 0, got -1".
[[nodiscard]] absl::StatusOr<ScoreBreakdown> ScoreAccount(
    const ScorecardInput& input, absl::string_view field = "account");

// Shares of the ranking per tier, in bp of the number of accounts. Defaults
// (SPEC.md §2.4): PLATINUM the top 5%, GOLD the next 15%, SILVER the next 30%,
// STANDARD the rest. Each must be >= 0 and their sum <= 10000.
struct TierThresholds {
  int32_t platinum_bp = 500;
  int32_t gold_bp = 1500;
  int32_t silver_bp = 3000;
};

enum class Tier { kPlatinum, kGold, kSilver, kStandard };

// "PLATINUM", "GOLD", "SILVER", "STANDARD".
absl::string_view TierName(Tier tier);

struct ScoredAccount {
  std::string account_id;
  int64_t score_minor = 0;  // ScoreAccount(...).score_minor
  int rank = 0;             // 1-based position in the ranking
  Tier tier = Tier::kStandard;
};

// Scores every account (ScoreAccount) and ranks them by score descending, ties
// by account_id ascending; rank r is 1-based. Tiers are cut by rank, not by
// score (two accounts with equal scores on a boundary get different tiers, by
// account_id). With n accounts and P, G, S the thresholds in bp:
//   ranks 1 .. ceil(n×P/10000)                  PLATINUM
//   .. ceil(n×(P+G)/10000)                      GOLD
//   .. ceil(n×(P+G+S)/10000)                    SILVER
//   the rest                                    STANDARD
// With the defaults (500/1500/3000):
//   n = 1   → 1 PLATINUM (ceil(0.05) = 1)
//   n = 3   → 1 PLATINUM, 0 GOLD (ceil(0.6) = 1), 1 SILVER (ceil(1.5) = 2),
//             1 STANDARD
//   n = 20  → 1 PLATINUM, 3 GOLD, 6 SILVER, 10 STANDARD
//   n = 100 → 5 PLATINUM, 15 GOLD, 30 SILVER, 50 STANDARD
// A threshold of 0 bp gives that tier no account. Empty input → empty result.
// Errors: ScoreAccount's with field "accounts[i]";
//   "accounts[4].account_id: duplicates accounts[1] (acc-7)";
//   "thresholds.gold_bp: must be >= 0, got -1";
//   "thresholds: platinum_bp + gold_bp + silver_bp = 10500, must be <= 10000".
[[nodiscard]] absl::StatusOr<std::vector<ScoredAccount>> ClassifyByScorecard(
    std::vector<ScorecardInput> accounts, TierThresholds thresholds = {});

// ---------------------------------------------------------------------------
// Pareto (80/20) view (SPEC.md §2.4).

struct Revenue {
  std::string account_id;     // non-empty, unique in a call
  int64_t revenue_minor = 0;  // >= 0
};

struct ParetoView {
  // The smallest top set, in ranking order (revenue desc, account_id asc).
  std::vector<std::string> top_account_ids;
  int64_t top_revenue_minor = 0;    // revenue of the top set
  int64_t total_revenue_minor = 0;  // revenue of all accounts
  // top count × 10000 / number of accounts, rounded half to even; 0 for none.
  int32_t top_count_share_bp = 0;
  // top revenue × 10000 / total revenue, rounded half to even; 0 when the
  // total is 0.
  int32_t top_revenue_share_bp = 0;
};

inline constexpr int32_t kDefaultParetoShareBp = 8000;

// Ranks accounts by revenue descending (ties account_id ascending) and returns
// the shortest prefix of the ranking whose revenue cum satisfies
// cum × 10000 >= total × top_share_bp (exact integer comparison). A total of 0
// (or no accounts) gives an empty top set.
// Example: revenues a 50, b 30, c 15, d 5 (total 100), 8000 bp → top {a, b},
// 80 of 100: count share 5000 bp, revenue share 8000 bp.
// Errors: "top_share_bp: must be in 1..10000, got 0";
//   "accounts[2].account_id: required" / "...: duplicates accounts[0] (x)";
//   "accounts[2].revenue_minor: must be >= 0, got -5";
//   OUT_OF_RANGE "accounts: total revenue overflows int64".
[[nodiscard]] absl::StatusOr<ParetoView> Pareto(
    std::vector<Revenue> accounts,
    int32_t top_share_bp = kDefaultParetoShareBp);

// ---------------------------------------------------------------------------
// Industry attractiveness matrix (SPEC.md §2.4).

// Bounds of one score (integers, 0 = least, 10 = most of the criterion).
inline constexpr int32_t kMinIndustryScore = 0;
inline constexpr int32_t kMaxIndustryScore = 10;

struct Criterion {
  std::string name;       // non-empty, unique among criteria
  bool negative = false;  // counts against the industry (competition, ...)
};

struct IndustryScores {
  std::string name;             // non-empty, unique among industries
  std::vector<int32_t> scores;  // one per criterion, in criteria order
};

struct RankedIndustry {
  std::string name;
  int64_t total = 0;  // Σ scores, negative criteria subtracted
  bool focus = false;
};

struct IndustryMatrix {
  // By total descending, ties by name ascending.
  std::vector<RankedIndustry> ranked;
  // The mean total × 1000, rounded half to even (2.5 → 2500; 7/3 → 2333).
  int64_t mean_milli = 0;
  // Names of the focus industries (total >= the exact mean, i.e. total × n >=
  // Σ totals, so an industry exactly at the mean is focus), in ranked order.
  std::vector<std::string> focus;
};

// Scores industries against criteria (names compared exactly, case
// sensitive). With every total equal, every industry is focus.
// Errors (INVALID_ARGUMENT):
//   "criteria: at least one criterion required";
//   "criteria[2].name: required" / "criteria[2].name: duplicates criteria[0]
//   (growth)"; "industries: at least one industry required";
//   "industries[1].name: required" / "...: duplicates industries[0] (x)";
//   "industries[2].scores: has 3 scores, want 8 (one per criterion)";
//   "industries[2].scores[5]: must be in 0..10, got 11".
[[nodiscard]] absl::StatusOr<IndustryMatrix> ScoreIndustries(
    const std::vector<Criterion>& criteria,
    const std::vector<IndustryScores>& industries);

}  // namespace salesops::accounts
