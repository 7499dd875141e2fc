// The key-account analysis answers (analysis_rules.h), without a server.

#include "services/accounts/analysis_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/testing/builders.h"
#include "services/accounts/rules_test_support.h"

namespace salesops::accounts {
namespace {

using rules_testing::Admin;
using rules_testing::HasError;
using rules_testing::Manager;
using rules_testing::Rep;
using ::testing::ElementsAre;

using ::salesops::testing::Eur;

TEST(AnalysisRulesTest, ScoreDiscountsSlowCollectionAndAddsUntappedValue) {
  v1::ClassifyAccountsRequest req;
  auto card = [&](const std::string& id, int64_t revenue, int32_t margin_bp,
                  int32_t days, int64_t potential) {
    v1::AccountScorecard* c = req.add_scorecards();
    c->set_account_id(id);
    *c->mutable_revenue_12m() = Eur(revenue);
    c->set_gross_margin_bp(margin_bp);
    c->set_avg_collection_days(days);
    *c->mutable_purchase_potential() = Eur(potential);
  };
  // 36500 × 100% × (365 − 73) / 365 = 29200; nothing untapped.
  card("x", 36500, 10000, 73, 0);
  // Collected after more than a year: current value 0; untapped 20000 × 50%.
  card("y", 10000, 5000, 400, 30000);
  // 20000 × 50% + (50000 − 20000) × 50% = 25000.
  card("z", 20000, 5000, 0, 50000);
  v1::ClassifyAccountsResponse resp;
  ASSERT_TRUE(AnswerClassifyAccounts(req, "EUR", &resp).ok());
  ASSERT_EQ(resp.accounts_size(), 3);
  EXPECT_EQ(resp.accounts(0).account_id(), "x");
  EXPECT_EQ(resp.accounts(0).score().units_minor(), 29200);
  EXPECT_EQ(resp.accounts(1).account_id(), "z");
  EXPECT_EQ(resp.accounts(1).score().units_minor(), 25000);
  EXPECT_EQ(resp.accounts(2).account_id(), "y");
  EXPECT_EQ(resp.accounts(2).score().units_minor(), 10000);
  EXPECT_EQ(resp.accounts(0).rank(), 1);

  *req.mutable_scorecards(0)->mutable_revenue_12m() = Eur(-1);
  EXPECT_TRUE(HasError(AnswerClassifyAccounts(req, "EUR", &resp),
                       absl::StatusCode::kInvalidArgument,
                       "scorecards[0].revenue_12m"));
}

TEST(AnalysisRulesTest, EveryoneClassifiesButOnlyAdminAndManagerApply) {
  v1::ClassifyAccountsRequest req;
  EXPECT_TRUE(CheckClassifyCaller(req, Rep("org_r1")).ok());
  req.set_apply(true);
  EXPECT_TRUE(CheckClassifyCaller(req, Admin()).ok());
  EXPECT_TRUE(CheckClassifyCaller(req, Manager("org_a")).ok());
  EXPECT_TRUE(HasError(CheckClassifyCaller(req, Rep("org_r1")),
                       absl::StatusCode::kPermissionDenied,
                       "this method allows roles ADMIN, MANAGER"));
}

TEST(AnalysisRulesTest, IndustryMeanMayBeFractional) {
  v1::ScoreIndustriesRequest req;
  req.add_criteria()->set_name("market size");
  v1::IndustryScore* one = req.add_industries();
  one->set_name("One");
  one->add_scores(1);
  v1::IndustryScore* two = req.add_industries();
  two->set_name("Two");
  two->add_scores(2);
  v1::ScoreIndustriesResponse resp;
  ASSERT_TRUE(AnswerScoreIndustries(req, &resp).ok());
  EXPECT_EQ(resp.mean_milli(), 1500);
  EXPECT_THAT(resp.focus(), ElementsAre("Two"));
  req.mutable_industries(1)->clear_scores();
  EXPECT_EQ(AnswerScoreIndustries(req, &resp).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AnalysisRulesTest, ParetoDefaultsToEightyPercent) {
  v1::GetParetoViewRequest req;
  for (const auto& [id, minor] : std::vector<std::pair<std::string, int64_t>>{
           {"c", 100}, {"a", 500}, {"e", 50}, {"b", 300}, {"d", 50}}) {
    v1::AccountRevenue* r = req.add_revenues();
    r->set_account_id(id);
    *r->mutable_revenue() = Eur(minor);
  }
  v1::GetParetoViewResponse resp;
  ASSERT_TRUE(AnswerParetoView(req, "EUR", &resp).ok());
  EXPECT_THAT(resp.top_account_ids(), ElementsAre("a", "b"));
  EXPECT_EQ(resp.top_revenue_share_bp(), 8000);
  req.mutable_revenues(0)->mutable_revenue()->set_currency("USD");
  EXPECT_TRUE(HasError(AnswerParetoView(req, "EUR", &resp),
                       absl::StatusCode::kInvalidArgument, "revenues[0]"));
}

}  // namespace
}  // namespace salesops::accounts
