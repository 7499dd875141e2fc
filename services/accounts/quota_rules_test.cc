// Quotas (quota_rules.h), without a store or server.

#include "services/accounts/quota_rules.h"

#include <gtest/gtest.h>

#include <map>

#include "services/accounts/rules_test_support.h"

namespace salesops::accounts {
namespace {

using rules_testing::FakeScope;
using rules_testing::HasError;
using rules_testing::kNow;

v1::SetQuotaRequest SetReq(int32_t quarter, int64_t minor,
                           const std::string& currency = "EUR") {
  v1::SetQuotaRequest req;
  req.set_node_id("org_r1");
  req.set_fiscal_year(2026);
  req.set_fiscal_quarter(quarter);
  req.mutable_amount()->set_units_minor(minor);
  req.mutable_amount()->set_currency(currency);
  return req;
}

TEST(QuotaRulesTest, IdsSortByNodeThenPeriod) {
  EXPECT_EQ(QuotaKey("org_1", 2026, 3), "org_1/2026/Q3");
  EXPECT_EQ(QuotaKey("n", 7, 1), "n/0007/Q1");
}

TEST(QuotaRulesTest, RequestsNeedAPeriodAndANonNegativeAmount) {
  EXPECT_TRUE(CheckSetQuota(SetReq(1, 100)).ok());
  EXPECT_TRUE(HasError(CheckSetQuota(SetReq(0, 100)),
                       absl::StatusCode::kInvalidArgument, "fiscal_quarter"));
  EXPECT_TRUE(HasError(CheckSetQuota(SetReq(5, 100)),
                       absl::StatusCode::kInvalidArgument, "fiscal_quarter"));
  EXPECT_TRUE(HasError(CheckSetQuota(SetReq(1, -1)),
                       absl::StatusCode::kInvalidArgument, "amount"));
  // Any active ISO 4217 currency (issue 19), no other.
  EXPECT_TRUE(CheckSetQuota(SetReq(1, 100, "USD")).ok());
  EXPECT_TRUE(CheckSetQuota(SetReq(1, 100, "JPY")).ok());
  EXPECT_TRUE(HasError(CheckSetQuota(SetReq(1, 100, "DEM")),
                       absl::StatusCode::kInvalidArgument,
                       "amount.currency: DEM is not an active ISO 4217"));
  EXPECT_TRUE(HasError(CheckSetQuota(SetReq(1, 100, "usd")),
                       absl::StatusCode::kInvalidArgument, "amount.currency"));
  v1::GetQuotaRequest get;
  get.set_fiscal_quarter(1);
  absl::Status s = CheckGetQuota(get);
  EXPECT_TRUE(HasError(s, absl::StatusCode::kInvalidArgument, "node_id"));
  EXPECT_TRUE(HasError(s, absl::StatusCode::kInvalidArgument, "fiscal_year"));
}

TEST(QuotaRulesTest, SetInsertsOrUpdatesInScope) {
  FakeScope all = FakeScope::All();
  absl::StatusOr<QuotaChange> first =
      SetQuota("org_r1", std::nullopt, SetReq(2, 500), all.fn(), kNow);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->insert);
  EXPECT_EQ(first->quota.node_id(), "org_r1");
  EXPECT_EQ(first->quota.fiscal_quarter(), 2);
  EXPECT_EQ(first->quota.amount().units_minor(), 500);
  EXPECT_EQ(first->quota.updated_micros(), Micros(kNow));
  absl::StatusOr<QuotaChange> again =
      SetQuota("org_r1", first->quota, SetReq(2, 0), all.fn(), kNow);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->insert);
  v1::SetQuotaRequest versioned = SetReq(2, 5);
  versioned.set_expected_version(1);
  EXPECT_TRUE(HasError(
      SetQuota("org_r1", std::nullopt, versioned, all.fn(), kNow).status(),
      absl::StatusCode::kAborted, "org_r1/2026/Q2"));
  FakeScope none;
  EXPECT_TRUE(HasError(
      SetQuota("org_r1", std::nullopt, SetReq(2, 5), none.fn(), kNow).status(),
      absl::StatusCode::kPermissionDenied));
}

TEST(QuotaRulesTest, AnswerShowsTheExplicitAndTheEffectiveQuota) {
  std::vector<QuotaNode> subtree = {
      {"t", "", std::nullopt}, {"r1", "t", 10000}, {"r2", "t", 5000}};
  v1::GetQuotaResponse resp;
  ASSERT_TRUE(AnswerQuota(subtree, {}, "EUR", &resp).ok());
  EXPECT_FALSE(resp.has_explicit());
  EXPECT_EQ(resp.effective().units_minor(), 15000);
  EXPECT_EQ(resp.effective().currency(), "EUR");
  subtree[0].explicit_quota_minor = 30000;
  resp.Clear();
  ASSERT_TRUE(AnswerQuota(subtree, {}, "EUR", &resp).ok());
  EXPECT_TRUE(resp.has_explicit());
  EXPECT_EQ(resp.explicit_().units_minor(), 30000);
  EXPECT_EQ(resp.effective().units_minor(), 30000);
}

// Accounts sums quotas of one currency only (it has no rates): the summed
// quotas decide the currency of the answer, mixed ones are refused.
TEST(QuotaRulesTest, EffectiveQuotaSumsOneCurrencyOnly) {
  // g ── t ── r1 (10000 USD), r2 (5000 USD); g ── u (700 JPY) ── r3 (9 CNY)
  std::vector<QuotaNode> subtree = {
      {"g", "", std::nullopt}, {"t", "g", std::nullopt}, {"u", "g", 700},
      {"r1", "t", 10000},      {"r2", "t", 5000},        {"r3", "u", 9}};
  std::map<std::string, std::string> currency = {
      {"r1", "USD"}, {"r2", "USD"}, {"u", "JPY"}, {"r3", "CNY"}};
  std::vector<QuotaNode> team(subtree.begin() + 1, subtree.begin() + 2);
  team.push_back(subtree[3]);
  team.push_back(subtree[4]);
  team[0].parent_id = "";
  v1::GetQuotaResponse resp;
  ASSERT_TRUE(AnswerQuota(team, currency, "EUR", &resp).ok());
  EXPECT_EQ(resp.effective().units_minor(), 15000);
  EXPECT_EQ(resp.effective().currency(), "USD");

  // u's explicit JPY quota hides r3's CNY one, but USD and JPY differ.
  absl::Status mixed = AnswerQuota(subtree, currency, "EUR", &resp);
  EXPECT_TRUE(HasError(mixed, absl::StatusCode::kFailedPrecondition,
                       "several currencies (JPY, USD)"));
  EXPECT_TRUE(
      HasError(mixed, absl::StatusCode::kFailedPrecondition, "GetForecast"));
  // An explicit quota at the top is the answer whatever lies below.
  subtree[0].explicit_quota_minor = 42;
  currency["g"] = "KWD";
  resp.Clear();
  ASSERT_TRUE(AnswerQuota(subtree, currency, "EUR", &resp).ok());
  EXPECT_EQ(resp.explicit_().currency(), "KWD");
  EXPECT_EQ(resp.effective().units_minor(), 42);
  EXPECT_EQ(resp.effective().currency(), "KWD");
  // Nothing summed: 0 in the reporting currency.
  std::vector<QuotaNode> leaf = {{"r9", "", std::nullopt}};
  ASSERT_TRUE(AnswerQuota(leaf, currency, "EUR", &resp).ok());
  EXPECT_EQ(resp.effective().units_minor(), 0);
  EXPECT_EQ(resp.effective().currency(), "EUR");
}

}  // namespace
}  // namespace salesops::accounts
