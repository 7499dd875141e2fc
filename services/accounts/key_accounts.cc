#include "services/accounts/key_accounts.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace salesops::accounts {
namespace {

using int128 = __int128;

constexpr int64_t kBp = 10000;
constexpr int64_t kDaysPerYear = 365;
constexpr int32_t kMaxCollectionDays = 3650;

// num / den rounded half to even; den > 0. Symmetric: f(-n) == -f(n).
int128 DivRoundHalfEven(int128 num, int128 den) {
  const bool negative = num < 0;
  const int128 magnitude = negative ? -num : num;
  int128 q = magnitude / den;
  const int128 r = magnitude % den;
  if (2 * r > den || (2 * r == den && q % 2 == 1)) {
    ++q;
  }
  return negative ? -q : q;
}

bool FitsInt64(int128 v) {
  return v >= std::numeric_limits<int64_t>::min() &&
         v <= std::numeric_limits<int64_t>::max();
}

// Ceil(n × bp / 10000) for n >= 0, 0 <= bp <= 10000.
size_t CeilShare(size_t n, int64_t bp) {
  const int128 num = static_cast<int128>(n) * bp;
  return static_cast<size_t>((num + kBp - 1) / kBp);
}

// INVALID_ARGUMENT "<list>[i].<field>: duplicates <list>[j] (<id>)" for the
// first repeated id, "<list>[i].<field>: required" for the first empty one.
template <typename T, typename GetId>
absl::Status CheckIds(const std::vector<T>& items, absl::string_view list,
                      absl::string_view field, GetId get_id) {
  absl::flat_hash_map<std::string, size_t> first;
  first.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string& id = get_id(items[i]);
    if (id.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(list, "[", i, "].", field, ": required"));
    }
    auto [it, inserted] = first.emplace(id, i);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(list, "[", i, "].", field, ": duplicates ", list, "[",
                       it->second, "] (", id, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckThresholds(const TierThresholds& t) {
  const std::pair<absl::string_view, int32_t> fields[] = {
      {"platinum_bp", t.platinum_bp},
      {"gold_bp", t.gold_bp},
      {"silver_bp", t.silver_bp}};
  int64_t sum = 0;
  for (const auto& [name, bp] : fields) {
    if (bp < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("thresholds.", name, ": must be >= 0, got ", bp));
    }
    sum += bp;
  }
  if (sum > kBp) {
    return absl::InvalidArgumentError(
        absl::StrCat("thresholds: platinum_bp + gold_bp + silver_bp = ", sum,
                     ", must be <= 10000"));
  }
  return absl::OkStatus();
}

}  // namespace

Segment SegmentOf(Level purchase_potential, Level share_of_wallet) {
  if (purchase_potential == Level::kHigh) {
    return share_of_wallet == Level::kHigh ? Segment::kRetain
                                           : Segment::kAcquire;
  }
  return share_of_wallet == Level::kHigh ? Segment::kMaintain
                                         : Segment::kDeprioritize;
}

absl::string_view SegmentName(Segment segment) {
  switch (segment) {
    case Segment::kAcquire:
      return "ACQUIRE";
    case Segment::kRetain:
      return "RETAIN";
    case Segment::kMaintain:
      return "MAINTAIN";
    case Segment::kDeprioritize:
      return "DEPRIORITIZE";
  }
  return "UNKNOWN";
}

absl::string_view TierName(Tier tier) {
  switch (tier) {
    case Tier::kPlatinum:
      return "PLATINUM";
    case Tier::kGold:
      return "GOLD";
    case Tier::kSilver:
      return "SILVER";
    case Tier::kStandard:
      return "STANDARD";
  }
  return "UNKNOWN";
}

absl::StatusOr<ScoreBreakdown> ScoreAccount(const ScorecardInput& input,
                                            absl::string_view field) {
  if (input.account_id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".account_id: required"));
  }
  if (input.revenue_12m_minor < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".revenue_12m_minor: must be >= 0, got ",
                     input.revenue_12m_minor));
  }
  if (input.gross_margin_bp < -kBp || input.gross_margin_bp > kBp) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".gross_margin_bp: must be in -10000..10000, got ",
                     input.gross_margin_bp));
  }
  if (input.avg_collection_days < 0 ||
      input.avg_collection_days > kMaxCollectionDays) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".avg_collection_days: must be in 0..",
                     kMaxCollectionDays, ", got ", input.avg_collection_days));
  }
  if (input.purchase_potential_minor < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".purchase_potential_minor: must be >= 0, got ",
                     input.purchase_potential_minor));
  }
  const int64_t days_left =
      std::max<int64_t>(0, kDaysPerYear - input.avg_collection_days);
  // |revenue × margin × days_left| < 2^63 × 2^14 × 2^9: fits 128 bits.
  const int128 current_value =
      DivRoundHalfEven(static_cast<int128>(input.revenue_12m_minor) *
                           input.gross_margin_bp * days_left,
                       static_cast<int128>(kBp) * kDaysPerYear);
  const int64_t untapped =
      std::max<int64_t>(0, input.purchase_potential_minor -
                               input.revenue_12m_minor);  // both >= 0
  const int128 potential_value = DivRoundHalfEven(
      static_cast<int128>(untapped) * input.gross_margin_bp, kBp);
  const int128 score = current_value + potential_value;
  if (!FitsInt64(score)) {  // cannot happen (see header); kept as a guard
    return absl::OutOfRangeError(
        absl::StrCat(field, ": score overflows int64"));
  }
  ScoreBreakdown out;
  out.current_value_minor = static_cast<int64_t>(current_value);
  out.potential_value_minor = static_cast<int64_t>(potential_value);
  out.score_minor = static_cast<int64_t>(score);
  return out;
}

absl::StatusOr<std::vector<ScoredAccount>> ClassifyByScorecard(
    std::vector<ScorecardInput> accounts, TierThresholds thresholds) {
  if (absl::Status s = CheckThresholds(thresholds); !s.ok()) {
    return s;
  }
  std::vector<ScoredAccount> scored;
  scored.reserve(accounts.size());
  for (size_t i = 0; i < accounts.size(); ++i) {
    absl::StatusOr<ScoreBreakdown> b =
        ScoreAccount(accounts[i], absl::StrCat("accounts[", i, "]"));
    if (!b.ok()) {
      return b.status();
    }
    ScoredAccount a;
    a.account_id = std::move(accounts[i].account_id);
    a.score_minor = b->score_minor;
    scored.push_back(std::move(a));
  }
  if (absl::Status s =
          CheckIds(scored, "accounts", "account_id",
                   [](const ScoredAccount& a) -> const std::string& {
                     return a.account_id;
                   });
      !s.ok()) {
    return s;
  }
  std::sort(scored.begin(), scored.end(),
            [](const ScoredAccount& a, const ScoredAccount& b) {
              if (a.score_minor != b.score_minor) {
                return a.score_minor > b.score_minor;
              }
              return a.account_id < b.account_id;
            });
  const size_t n = scored.size();
  const size_t platinum_end = CeilShare(n, thresholds.platinum_bp);
  const size_t gold_end =
      CeilShare(n, int64_t{thresholds.platinum_bp} + thresholds.gold_bp);
  const size_t silver_end =
      CeilShare(n, int64_t{thresholds.platinum_bp} + thresholds.gold_bp +
                       thresholds.silver_bp);
  for (size_t i = 0; i < n; ++i) {
    const size_t rank = i + 1;
    scored[i].rank = static_cast<int>(rank);
    if (rank <= platinum_end) {
      scored[i].tier = Tier::kPlatinum;
    } else if (rank <= gold_end) {
      scored[i].tier = Tier::kGold;
    } else if (rank <= silver_end) {
      scored[i].tier = Tier::kSilver;
    } else {
      scored[i].tier = Tier::kStandard;
    }
  }
  return scored;
}

absl::StatusOr<ParetoView> Pareto(std::vector<Revenue> accounts,
                                  int32_t top_share_bp) {
  if (top_share_bp < 1 || top_share_bp > kBp) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_share_bp: must be in 1..10000, got ", top_share_bp));
  }
  if (absl::Status s = CheckIds(
          accounts, "accounts", "account_id",
          [](const Revenue& r) -> const std::string& { return r.account_id; });
      !s.ok()) {
    return s;
  }
  int128 total = 0;
  for (size_t i = 0; i < accounts.size(); ++i) {
    if (accounts[i].revenue_minor < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("accounts[", i, "].revenue_minor: must be >= 0, got ",
                       accounts[i].revenue_minor));
    }
    total += accounts[i].revenue_minor;  // n × 2^63 fits 128 bits
  }
  if (!FitsInt64(total)) {
    return absl::OutOfRangeError("accounts: total revenue overflows int64");
  }
  ParetoView view;
  view.total_revenue_minor = static_cast<int64_t>(total);
  if (total == 0) {
    return view;
  }
  std::sort(accounts.begin(), accounts.end(),
            [](const Revenue& a, const Revenue& b) {
              if (a.revenue_minor != b.revenue_minor) {
                return a.revenue_minor > b.revenue_minor;
              }
              return a.account_id < b.account_id;
            });
  const int128 target = total * top_share_bp;
  int128 cum = 0;
  for (Revenue& r : accounts) {
    cum += r.revenue_minor;
    view.top_account_ids.push_back(std::move(r.account_id));
    if (cum * kBp >= target) {
      break;
    }
  }
  view.top_revenue_minor = static_cast<int64_t>(cum);  // <= total
  view.top_count_share_bp = static_cast<int32_t>(
      DivRoundHalfEven(static_cast<int128>(view.top_account_ids.size()) * kBp,
                       static_cast<int128>(accounts.size())));
  view.top_revenue_share_bp =
      static_cast<int32_t>(DivRoundHalfEven(cum * kBp, total));
  return view;
}

// The total of industry `i` over `criteria` (negative ones subtract);
// INVALID_ARGUMENT when it has not one score per criterion or a score is out
// of range.
absl::StatusOr<int64_t> IndustryTotal(const std::vector<Criterion>& criteria,
                                      const IndustryScores& industry,
                                      size_t i) {
  const std::vector<int32_t>& scores = industry.scores;
  if (scores.size() != criteria.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "industries[", i, "].scores: has ", scores.size(), " scores, want ",
        criteria.size(), " (one per criterion)"));
  }
  int64_t total = 0;  // |total| <= 10 × number of criteria
  for (size_t c = 0; c < scores.size(); ++c) {
    if (scores[c] < kMinIndustryScore || scores[c] > kMaxIndustryScore) {
      return absl::InvalidArgumentError(absl::StrCat(
          "industries[", i, "].scores[", c, "]: must be in ", kMinIndustryScore,
          "..", kMaxIndustryScore, ", got ", scores[c]));
    }
    total += criteria[c].negative ? -scores[c] : scores[c];
  }
  return total;
}

absl::StatusOr<IndustryMatrix> ScoreIndustries(
    const std::vector<Criterion>& criteria,
    const std::vector<IndustryScores>& industries) {
  if (criteria.empty()) {
    return absl::InvalidArgumentError(
        "criteria: at least one criterion required");
  }
  if (absl::Status s = CheckIds(
          criteria, "criteria", "name",
          [](const Criterion& c) -> const std::string& { return c.name; });
      !s.ok()) {
    return s;
  }
  if (industries.empty()) {
    return absl::InvalidArgumentError(
        "industries: at least one industry required");
  }
  if (absl::Status s = CheckIds(
          industries, "industries", "name",
          [](const IndustryScores& i) -> const std::string& { return i.name; });
      !s.ok()) {
    return s;
  }
  IndustryMatrix matrix;
  matrix.ranked.reserve(industries.size());
  int128 sum_of_totals = 0;
  for (size_t i = 0; i < industries.size(); ++i) {
    absl::StatusOr<int64_t> total = IndustryTotal(criteria, industries[i], i);
    if (!total.ok()) {
      return total.status();
    }
    sum_of_totals += *total;
    matrix.ranked.push_back(RankedIndustry{industries[i].name, *total, false});
  }
  std::sort(matrix.ranked.begin(), matrix.ranked.end(),
            [](const RankedIndustry& a, const RankedIndustry& b) {
              if (a.total != b.total) {
                return a.total > b.total;
              }
              return a.name < b.name;
            });
  const int128 n = static_cast<int128>(industries.size());
  matrix.mean_milli =
      static_cast<int64_t>(DivRoundHalfEven(sum_of_totals * 1000, n));
  for (RankedIndustry& r : matrix.ranked) {
    r.focus = static_cast<int128>(r.total) * n >= sum_of_totals;
    if (r.focus) {
      matrix.focus.push_back(r.name);
    }
  }
  return matrix;
}

}  // namespace salesops::accounts
