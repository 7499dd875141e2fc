// Quotas (quota_rules.h), without a store or server.

#include "services/accounts/quota_rules.h"

#include <gtest/gtest.h>

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
  EXPECT_TRUE(CheckSetQuota(SetReq(1, 100), "EUR").ok());
  EXPECT_TRUE(HasError(CheckSetQuota(SetReq(0, 100), "EUR"),
                       absl::StatusCode::kInvalidArgument, "fiscal_quarter"));
  EXPECT_TRUE(HasError(CheckSetQuota(SetReq(5, 100), "EUR"),
                       absl::StatusCode::kInvalidArgument, "fiscal_quarter"));
  EXPECT_TRUE(HasError(CheckSetQuota(SetReq(1, -1), "EUR"),
                       absl::StatusCode::kInvalidArgument, "amount"));
  EXPECT_TRUE(HasError(CheckSetQuota(SetReq(1, 100, "USD"), "EUR"),
                       absl::StatusCode::kInvalidArgument, "currency"));
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
  ASSERT_TRUE(AnswerQuota(subtree, "EUR", &resp).ok());
  EXPECT_FALSE(resp.has_explicit());
  EXPECT_EQ(resp.effective().units_minor(), 15000);
  EXPECT_EQ(resp.effective().currency(), "EUR");
  subtree[0].explicit_quota_minor = 30000;
  resp.Clear();
  ASSERT_TRUE(AnswerQuota(subtree, "EUR", &resp).ok());
  EXPECT_TRUE(resp.has_explicit());
  EXPECT_EQ(resp.explicit_().units_minor(), 30000);
  EXPECT_EQ(resp.effective().units_minor(), 30000);
}

}  // namespace
}  // namespace salesops::accounts
