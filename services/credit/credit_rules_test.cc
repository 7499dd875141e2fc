#include "services/credit/credit_rules.h"

#include <cstdint>
#include <limits>
#include <string>

#include "common/money/money.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/credit/rules_test_support.h"

namespace salesops::credit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
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
  f.amount = 5000;
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
  f.amount = 1000000000;  // no limit to exceed without a profile
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

// ---- profiles ----

TEST(CreditProfileRulesTest, NamesEveryInvalidField) {
  v1::SetCreditProfileRequest req;
  *req.mutable_profile()->mutable_credit_limit() = rules_test::Eur(-1);
  req.mutable_profile()->set_payment_terms_days(400);
  // 1001 code points pass the edge's bound (2000 code points); their 2002
  // bytes break the service's own.
  std::string long_reason;
  for (int i = 0; i < 1001; ++i) {
    long_reason += "\u00e9";
  }
  req.mutable_profile()->set_hold_reason(long_reason);
  req.set_expected_version(-1);
  absl::Status s = ValidateSetCreditProfile(req, CreditOptions());
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("profile.account_id: required"));
  EXPECT_THAT(s.message(),
              HasSubstr("profile.credit_limit.units_minor: must be >= 0"));
  EXPECT_THAT(s.message(),
              HasSubstr("profile.payment_terms_days: must be 0..365, got 400"));
  EXPECT_THAT(s.message(), HasSubstr("profile.risk_class: required"));
  EXPECT_THAT(s.message(), HasSubstr("profile.hold_reason"));
  EXPECT_THAT(s.message(), HasSubstr("expected_version"));

  req.Clear();
  req.mutable_profile()->set_account_id("acc_1");
  // Issue 19: any active currency; a withdrawn one is refused.
  *req.mutable_profile()->mutable_credit_limit() = money::Make(100, "DEM");
  req.mutable_profile()->set_payment_terms_days(-1);
  req.mutable_profile()->set_risk_class(v1::RISK_CLASS_LOW);
  s = ValidateSetCreditProfile(req, CreditOptions());
  EXPECT_THAT(s.message(), HasSubstr("profile.credit_limit.currency: DEM is "
                                     "not an active ISO 4217 currency"));
  EXPECT_THAT(s.message(), HasSubstr("profile.payment_terms_days"));
}

TEST(CreditProfileRulesTest, TheHoldReasonIsKeptTrimmedWhileOnHold) {
  v1::CreditProfile in = Profile(1'000);
  in.set_hold_reason("  legal review  ");
  const absl::Time now = rules_test::Noon(absl::CivilDay(2026, 3, 2));
  EXPECT_EQ(NewProfile(in, now, CreditOptions()).hold_reason(), "");
  in.set_hold(true);
  const v1::CreditProfile p = NewProfile(in, now, CreditOptions());
  EXPECT_EQ(p.hold_reason(), "legal review");
  EXPECT_EQ(p.credit_limit().currency(), "EUR");
  EXPECT_EQ(p.updated_micros(), absl::ToUnixMicros(now));
}

// ---- checks ----

TEST(CreditCheckRulesTest, OnlyServiceFinanceAndAdminNameAnOpportunity) {
  v1::CheckCreditRequest req;
  req.set_account_id("acc_1");
  *req.mutable_amount() = rules_test::Eur(100);
  req.set_opportunity_id("opp_1");
  const Principal rep{"rep", Role::kRep, "org_rep"};
  const Principal pipeline{"pipeline", Role::kService, ""};
  EXPECT_EQ(ValidateCheckCredit(req, rep, CreditOptions()).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(ValidateCheckCredit(req, pipeline, CreditOptions()).ok());
  req.clear_opportunity_id();
  EXPECT_TRUE(ValidateCheckCredit(req, rep, CreditOptions()).ok());
  req.clear_account_id();
  req.set_opportunity_id(std::string(129, 'x'));
  const absl::Status s = ValidateCheckCredit(req, rep, CreditOptions());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);  // before the role
  EXPECT_THAT(s.message(), HasSubstr("account_id: required"));
  EXPECT_THAT(s.message(), HasSubstr("opportunity_id: at most 128"));
}

TEST(CreditCheckRulesTest, OverdueFactsAndTheRecordedCheck) {
  const absl::CivilDay today(2026, 3, 2);
  using rules_test::Rcv;
  const std::vector<v1::Receivable> rs = {
      Rcv("r1", 1'000, today - 90, today - 45),  // 45 days overdue
      Rcv("r2", 2'000, today - 40, today - 10),  // 10 days
      rules_test::PaidOn(Rcv("r3", 5000, today - 200, today - 100), today)};
  CreditFacts facts = Facts();
  ASSERT_TRUE(AddOverdue(rs, today, "acc_1", &facts).ok());
  EXPECT_EQ(facts.max_days_overdue, 45);
  EXPECT_EQ(facts.overdue_beyond_limit, 1000);

  v1::CheckCreditRequest req;
  req.set_account_id("acc_1");
  req.set_opportunity_id("opp_1");
  const CreditVerdict verdict = DecideCredit(facts);
  const v1::CreditCheck c = NewCheck(req, facts, verdict, "pipeline", "chk_1",
                                     rules_test::Noon(today), "EUR");
  EXPECT_EQ(c.decision(), v1::CREDIT_DECISION_BLOCK);
  EXPECT_EQ(c.reasons_size(), static_cast<int>(verdict.reasons.size()));
  EXPECT_EQ(c.exposure().units_minor(), 40'000);
  EXPECT_EQ(c.credit_limit().units_minor(), 50'000);
  EXPECT_EQ(c.checked_by(), "pipeline");
}

}  // namespace
}  // namespace salesops::credit
