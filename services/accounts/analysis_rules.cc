#include "services/accounts/analysis_rules.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "common/status/macros.h"
#include "common/status/violations.h"
#include "services/accounts/key_accounts.h"

namespace salesops::accounts {
namespace {

v1::AccountTier TierProto(Tier t) {
  switch (t) {
    case Tier::kPlatinum:
      return v1::ACCOUNT_TIER_PLATINUM;
    case Tier::kGold:
      return v1::ACCOUNT_TIER_GOLD;
    case Tier::kSilver:
      return v1::ACCOUNT_TIER_SILVER;
    case Tier::kStandard:
      return v1::ACCOUNT_TIER_STANDARD;
  }
  return v1::ACCOUNT_TIER_UNSPECIFIED;
}

// The scorecards as key_accounts inputs; every money violation in `v`.
std::vector<ScorecardInput> Scorecards(const v1::ClassifyAccountsRequest& req,
                                       const std::string& currency,
                                       Violations& v) {
  std::vector<ScorecardInput> inputs;
  for (int i = 0; i < req.scorecards_size(); ++i) {
    const auto& c = req.scorecards(i);
    const std::string at = absl::StrCat("scorecards[", i, "]");
    for (const auto& [name, money] :
         {std::pair<const char*, const v1::Money*>{".revenue_12m",
                                                   &c.revenue_12m()},
          {".purchase_potential", &c.purchase_potential()}}) {
      if (absl::Status m =
              money::Validate(*money, currency, absl::StrCat(at, name),
                              money::Sign::kNonNegative);
          !m.ok()) {
        v.Add(std::string(m.message()));
      }
    }
    inputs.push_back({c.account_id(), c.revenue_12m().units_minor(),
                      c.gross_margin_bp(), c.avg_collection_days(),
                      c.purchase_potential().units_minor()});
  }
  return inputs;
}

}  // namespace

absl::Status AnswerScoreIndustries(const v1::ScoreIndustriesRequest& req,
                                   v1::ScoreIndustriesResponse* resp) {
  std::vector<Criterion> criteria;
  for (const auto& c : req.criteria()) {
    criteria.push_back({c.name(), c.negative()});
  }
  std::vector<IndustryScores> industries;
  for (const auto& i : req.industries()) {
    industries.push_back(
        {i.name(), std::vector<int32_t>(i.scores().begin(), i.scores().end())});
  }
  ASSIGN_OR_RETURN(IndustryMatrix m,
                   accounts::ScoreIndustries(criteria, industries));
  for (const RankedIndustry& r : m.ranked) {
    auto* out = resp->add_ranked();
    out->set_name(r.name);
    out->set_total(r.total);
    out->set_focus(r.focus);
  }
  resp->set_mean_milli(m.mean_milli);
  for (const std::string& f : m.focus) {
    resp->add_focus(f);
  }
  return absl::OkStatus();
}

absl::Status AnswerParetoView(const v1::GetParetoViewRequest& req,
                              const std::string& currency,
                              v1::GetParetoViewResponse* resp) {
  Violations v;
  std::vector<Revenue> revenues;
  for (int i = 0; i < req.revenues_size(); ++i) {
    const auto& r = req.revenues(i);
    if (absl::Status m = money::Validate(
            r.revenue(), currency, absl::StrCat("revenues[", i, "].revenue"),
            money::Sign::kNonNegative);
        !m.ok()) {
      v.Add(std::string(m.message()));
    }
    revenues.push_back({r.account_id(), r.revenue().units_minor()});
  }
  RETURN_IF_ERROR(v.status());
  const int32_t share = req.top_share_bp() == 0 ? 8000 : req.top_share_bp();
  ASSIGN_OR_RETURN(ParetoView view, Pareto(std::move(revenues), share));
  for (const std::string& id : view.top_account_ids) {
    resp->add_top_account_ids(id);
  }
  *resp->mutable_top_revenue() = money::Make(view.top_revenue_minor, currency);
  *resp->mutable_total_revenue() =
      money::Make(view.total_revenue_minor, currency);
  resp->set_top_count_share_bp(view.top_count_share_bp);
  resp->set_top_revenue_share_bp(view.top_revenue_share_bp);
  return absl::OkStatus();
}

absl::Status CheckClassifyCaller(const v1::ClassifyAccountsRequest& req,
                                 const Principal& who) {
  if (!req.apply() || who.role == Role::kAdmin || who.role == Role::kManager) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("this method allows roles ADMIN, MANAGER; caller \"",
                   who.name, "\" has role ", std::string(RoleName(who.role))));
}

absl::Status AnswerClassifyAccounts(const v1::ClassifyAccountsRequest& req,
                                    const std::string& currency,
                                    v1::ClassifyAccountsResponse* resp) {
  Violations v;
  std::vector<ScorecardInput> inputs = Scorecards(req, currency, v);
  RETURN_IF_ERROR(v.status());
  TierThresholds thresholds;
  if (req.platinum_bp() != 0 || req.gold_bp() != 0 || req.silver_bp() != 0) {
    thresholds = {req.platinum_bp(), req.gold_bp(), req.silver_bp()};
  }
  ASSIGN_OR_RETURN(std::vector<ScoredAccount> scored,
                   ClassifyByScorecard(std::move(inputs), thresholds));
  for (const ScoredAccount& a : scored) {
    auto* out = resp->add_accounts();
    out->set_account_id(a.account_id);
    *out->mutable_score() = money::Make(a.score_minor, currency);
    out->set_rank(a.rank);
    out->set_tier(TierProto(a.tier));
  }
  return absl::OkStatus();
}

}  // namespace salesops::accounts
