#include "services/credit/credit_rules.h"

#include <cstdint>
#include <limits>
#include <string>

#include "common/money/money.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace salesops::credit {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

v1::CreditProfile Profile(int64_t limit) {
  v1::CreditProfile p;
  p.set_account_id("acc_1");
  *p.mutable_credit_limit() = money::Make(limit, "EUR");
  p.set_payment_terms_days(30);
  p.set_risk_class(v1::RISK_CLASS_MEDIUM);
  return p;
}

CreditFacts Facts() {
  CreditFacts f;
  f.profile = Profile(50'000);
  f.exposure = 40'000;
  f.amount = 5'000;
  f.debtor_class = v1::DEBTOR_CLASS_PAYS_ON_TIME;
  return f;
}

TEST(DecideCreditTest, ApproveWithinLimit) {
  const CreditVerdict v = DecideCredit(Facts());
  EXPECT_EQ(v.decision, v1::CREDIT_DECISION_APPROVE);
  EXPECT_THAT(v.reasons, IsEmpty());
}

TEST(DecideCreditTest, ReviewWithoutProfile) {
  CreditFacts f = Facts();
  f.profile.reset();
  f.amount = 1'000'000'000;  // no limit to exceed without a profile
  const CreditVerdict v = DecideCredit(f);
  EXPECT_EQ(v.decision, v1::CREDIT_DECISION_REVIEW);
  EXPECT_THAT(v.reasons, ElementsAre("no credit profile"));
}

TEST(DecideCreditTest, BlockOverLimitExactlyAtLimitApproves) {
  CreditFacts f = Facts();
  f.amount = 10'000;  // 40,000 + 10,000 == 50,000
  EXPECT_EQ(DecideCredit(f).decision, v1::CREDIT_DECISION_APPROVE);

  f.amount = 10'001;
  CreditVerdict v = DecideCredit(f);
  EXPECT_EQ(v.decision, v1::CREDIT_DECISION_BLOCK);
  EXPECT_THAT(v.reasons,
              ElementsAre("would exceed the credit limit: exposure 400.00 + "
                          "amount 100.01 = 500.01 > limit 500.00"));

  // The exponent only changes how amounts are written.
  f.exponent = 0;
  v = DecideCredit(f);
  EXPECT_THAT(v.reasons,
              ElementsAre("would exceed the credit limit: exposure 40000 + "
                          "amount 10001 = 50001 > limit 50000"));
}

TEST(DecideCreditTest, BlockOverLimitWithoutOverflow) {
  CreditFacts f = Facts();
  f.exposure = std::numeric_limits<int64_t>::max();
  f.amount = 1;
  const CreditVerdict v = DecideCredit(f);
  EXPECT_EQ(v.decision, v1::CREDIT_DECISION_BLOCK);
  ASSERT_EQ(v.reasons.size(), 1u);
}

TEST(DecideCreditTest, BlockOnHold) {
  CreditFacts f = Facts();
  f.profile->set_hold(true);
  f.profile->set_hold_reason("final notice ignored");
  const CreditVerdict v = DecideCredit(f);
  EXPECT_EQ(v.decision, v1::CREDIT_DECISION_BLOCK);
  EXPECT_THAT(v.reasons,
              ElementsAre("account on credit hold: final notice ignored"));
}

TEST(DecideCreditTest, BlockNonPayer) {
  CreditFacts f = Facts();
  f.debtor_class = v1::DEBTOR_CLASS_NON_PAYER;
  const CreditVerdict v = DecideCredit(f);
  EXPECT_EQ(v.decision, v1::CREDIT_DECISION_BLOCK);
  EXPECT_THAT(v.reasons, ElementsAre("debtor class NON_PAYER"));
}

TEST(DecideCreditTest, BlockOverdueBeyondThirtyDays) {
  CreditFacts f = Facts();
  f.max_days_overdue = 30;  // exactly the limit does not block
  f.overdue_beyond_limit = 0;
  EXPECT_EQ(DecideCredit(f).decision, v1::CREDIT_DECISION_APPROVE);

  f.max_days_overdue = 45;
  f.overdue_beyond_limit = 100'000;
  const CreditVerdict v = DecideCredit(f);
  EXPECT_EQ(v.decision, v1::CREDIT_DECISION_BLOCK);
  EXPECT_THAT(
      v.reasons,
      ElementsAre("receivables overdue more than 30 days: 1000.00, up to 45 "
                  "days"));

  f.overdue_block_days = 60;  // --overdue_block_days
  EXPECT_EQ(DecideCredit(f).decision, v1::CREDIT_DECISION_APPROVE);
}

TEST(DecideCreditTest, EveryReasonListedTogether) {
  CreditFacts f = Facts();
  f.profile->set_hold(true);
  f.profile->set_hold_reason("dunning");
  f.debtor_class = v1::DEBTOR_CLASS_NON_PAYER;
  f.max_days_overdue = 200;
  f.overdue_beyond_limit = 1'000;
  f.amount = 20'000;
  const CreditVerdict v = DecideCredit(f);
  EXPECT_EQ(v.decision, v1::CREDIT_DECISION_BLOCK);
  EXPECT_THAT(
      v.reasons,
      ElementsAre("account on credit hold: dunning", "debtor class NON_PAYER",
                  "receivables overdue more than 30 days: 10.00, up "
                  "to 200 days",
                  "would exceed the credit limit: exposure 400.00 + "
                  "amount 200.00 = 600.00 > limit 500.00"));
}

TEST(DecideCreditTest, BlockWinsOverReviewAndBothAreListed) {
  CreditFacts f = Facts();
  f.profile.reset();
  f.debtor_class = v1::DEBTOR_CLASS_NON_PAYER;
  const CreditVerdict v = DecideCredit(f);
  EXPECT_EQ(v.decision, v1::CREDIT_DECISION_BLOCK);
  EXPECT_THAT(v.reasons,
              ElementsAre("debtor class NON_PAYER", "no credit profile"));
}

}  // namespace
}  // namespace salesops::credit
