// gRPC-level tests of the credit service (SPEC.md §5, roles §8): credit
// profiles and checks, receivables from pipeline's feed and posted, payments.
// The fixture: credit_service_test_fixture.h.

#include "services/credit/credit_service_test_fixture.h"

namespace salesops::credit::credit_test {
namespace {

// ---------------------------------------------------------------------------
// 1. Credit profiles

TEST_F(CreditServiceTest, SetCreditProfileNamesEveryInvalidField) {
  v1::SetCreditProfileRequest req;
  *req.mutable_profile()->mutable_credit_limit() = Eur(-1);
  req.mutable_profile()->set_payment_terms_days(400);
  // 1001 code points pass the field bound (2000, counted in code points at
  // the edge); their 2002 bytes break the service's own check.
  std::string long_reason;
  for (int i = 0; i < 1001; ++i) {
    long_reason += "é";
  }
  req.mutable_profile()->set_hold_reason(long_reason);
  req.set_expected_version(-1);
  v1::CreditProfile out;
  grpc::Status s = Call(&Stub::SetCreditProfile, req, &out);
  ASSERT_TRUE(
      IsError(s, Code::INVALID_ARGUMENT, "profile.account_id: required"));
  EXPECT_THAT(s.error_message(),
              HasSubstr("profile.credit_limit.units_minor: must be >= 0"));
  EXPECT_THAT(s.error_message(),
              HasSubstr("profile.payment_terms_days: must be 0..365, got 400"));
  EXPECT_THAT(s.error_message(), HasSubstr("profile.risk_class: required"));
  EXPECT_THAT(s.error_message(), HasSubstr("profile.hold_reason"));
  EXPECT_THAT(s.error_message(), HasSubstr("expected_version"));

  // Over the field bound the edge answers before the service (bounds.h):
  // only the bound is named.
  req.mutable_profile()->set_hold_reason(std::string(2001, 'x'));
  s = Call(&Stub::SetCreditProfile, req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "profile.hold_reason: at most 2000 characters (got 2001)");

  req.Clear();
  req.mutable_profile()->set_account_id(kAccE1);
  *req.mutable_profile()->mutable_credit_limit() = money::Make(100, "DEM");
  req.mutable_profile()->set_payment_terms_days(-1);
  req.mutable_profile()->set_risk_class(v1::RISK_CLASS_LOW);
  s = Call(&Stub::SetCreditProfile, req, &out);
  ASSERT_TRUE(IsError(
      s, Code::INVALID_ARGUMENT,
      "profile.credit_limit.currency: DEM is not an active ISO 4217 currency"));
  EXPECT_THAT(s.error_message(), HasSubstr("profile.payment_terms_days"));

  // An account the accounts feed never showed (and no lookup): the field
  // is named.
  req.Clear();
  req.mutable_profile()->set_account_id("acc_nope");
  *req.mutable_profile()->mutable_credit_limit() = Eur(100);
  req.mutable_profile()->set_risk_class(v1::RISK_CLASS_LOW);
  EXPECT_TRUE(IsError(Call(&Stub::SetCreditProfile, req, &out),
                      Code::INVALID_ARGUMENT,
                      "profile.account_id: account acc_nope does not exist"));

  // Nothing was written by any of them.
  v1::CreditProfile got;
  EXPECT_TRUE(IsError(GetProfile(kAccE1, &got), Code::NOT_FOUND));
  EXPECT_TRUE(IsError(GetProfile("acc_nope", &got), Code::NOT_FOUND));
}

TEST_F(CreditServiceTest, SetCreditProfileChecksExpectedVersion) {
  v1::SetCreditProfileRequest req;
  v1::CreditProfile* p = req.mutable_profile();
  p->set_account_id(kAccE1);
  *p->mutable_credit_limit() = Eur(1'000'000);
  p->set_payment_terms_days(30);
  p->set_risk_class(v1::RISK_CLASS_MEDIUM);
  p->set_hold_reason("ignored without hold");

  // Creating with an expected version that is not 0: ABORTED, nothing made.
  req.set_expected_version(3);
  v1::CreditProfile out;
  EXPECT_TRUE(IsError(Call(&Stub::SetCreditProfile, req, &out), Code::ABORTED));
  v1::CreditProfile got;
  EXPECT_TRUE(IsError(GetProfile(kAccE1, &got), Code::NOT_FOUND));

  req.set_expected_version(0);
  ASSERT_TRUE(IsOk(Call(&Stub::SetCreditProfile, req, &out)));
  EXPECT_EQ(out.version(), 1);
  EXPECT_EQ(out.account_id(), kAccE1);
  EXPECT_EQ(out.credit_limit().units_minor(), 1'000'000);
  EXPECT_EQ(out.credit_limit().currency(), "EUR");
  EXPECT_EQ(out.payment_terms_days(), 30);
  EXPECT_EQ(out.risk_class(), v1::RISK_CLASS_MEDIUM);
  EXPECT_FALSE(out.hold());
  EXPECT_EQ(out.hold_reason(), "");  // kept only while on hold

  p->set_payment_terms_days(45);
  req.set_expected_version(1);
  ASSERT_TRUE(IsOk(Call(&Stub::SetCreditProfile, req, &out)));
  EXPECT_EQ(out.version(), 2);

  // A writer that read version 1 loses.
  p->set_payment_terms_days(60);
  EXPECT_TRUE(IsError(Call(&Stub::SetCreditProfile, req, &out), Code::ABORTED));
  ASSERT_TRUE(IsOk(GetProfile(kAccE1, &got)));
  EXPECT_EQ(got.version(), 2);
  EXPECT_EQ(got.payment_terms_days(), 45);

  // expected_version 0: don't care.
  req.set_expected_version(0);
  p->set_hold(true);
  p->set_hold_reason("  legal review  ");
  ASSERT_TRUE(IsOk(Call(&Stub::SetCreditProfile, req, &out)));
  EXPECT_EQ(out.version(), 3);
  EXPECT_TRUE(out.hold());
  EXPECT_EQ(out.hold_reason(), "legal review");
  ASSERT_TRUE(IsOk(GetProfile(kAccE1, &got)));
  EXPECT_TRUE(MessageDifferencer::Equals(got, out)) << got.DebugString();
}

TEST_F(CreditServiceTest, OnlyFinanceAndAdminWriteProfilesAndScopeLimitsReads) {
  v1::SetCreditProfileRequest req;
  v1::CreditProfile* p = req.mutable_profile();
  p->set_account_id(kAccE1);
  *p->mutable_credit_limit() = Eur(500'000);
  p->set_payment_terms_days(30);
  p->set_risk_class(v1::RISK_CLASS_LOW);
  v1::CreditProfile out;
  for (const char* token : {kRepE1Token, kManagerEastToken, kServiceToken}) {
    EXPECT_TRUE(IsError(Call(&Stub::SetCreditProfile, req, &out, token),
                        Code::PERMISSION_DENIED))
        << token;
  }
  EXPECT_TRUE(IsError(Call(&Stub::SetCreditProfile, req, &out, ""),
                      Code::UNAUTHENTICATED));
  EXPECT_TRUE(IsError(Call(&Stub::SetCreditProfile, req, &out, "bad-token"),
                      Code::UNAUTHENTICATED));
  v1::CreditProfile got;
  EXPECT_TRUE(IsError(GetProfile(kAccE1, &got), Code::NOT_FOUND));

  ASSERT_TRUE(IsOk(Call(&Stub::SetCreditProfile, req, &out, kAdminToken)));
  ASSERT_TRUE(IsOk(Call(&Stub::SetCreditProfile, req, &out, kFinanceToken)));
  EXPECT_EQ(out.version(), 2);

  // Reads: the owning rep, the managers above, finance, admin, service.
  for (const char* token : {kRepE1Token, kManagerEastToken, kAdminToken,
                            kFinanceToken, kServiceToken}) {
    EXPECT_TRUE(IsOk(GetProfile(kAccE1, &got, token))) << token;
  }
  for (const char* token : {kRepW1Token, kManagerWestToken}) {
    EXPECT_TRUE(
        IsError(GetProfile(kAccE1, &got, token), Code::PERMISSION_DENIED))
        << token;
  }
}

// ---------------------------------------------------------------------------
// 2. Credit checks

TEST_F(CreditServiceTest,
       CheckCreditApprovesBlocksReviewsAndStoresEachDecision) {
  const absl::CivilDay today = Today();
  SetProfile(kAccE1, 1'000'000, 30, v1::RISK_CLASS_MEDIUM);  // 10,000.00
  Post(kAccE1, 400'000, today);                              // not due yet
  const v1::CreditCheck approve = Check(kAccE1, 500'000);
  EXPECT_EQ(approve.decision(), v1::CREDIT_DECISION_APPROVE);
  EXPECT_THAT(approve.reasons(), IsEmpty());
  EXPECT_EQ(approve.exposure().units_minor(), 400'000);
  EXPECT_EQ(approve.credit_limit().units_minor(), 1'000'000);
  EXPECT_EQ(approve.amount().units_minor(), 500'000);
  EXPECT_EQ(approve.checked_by(), "finance");
  EXPECT_THAT(approve.id(), StartsWith("chk_"));
  EXPECT_EQ(approve.version(), 1);

  const v1::CreditCheck block = Check(kAccE1, 700'000);
  EXPECT_EQ(block.decision(), v1::CREDIT_DECISION_BLOCK);
  EXPECT_THAT(block.reasons(),
              ElementsAre("would exceed the credit limit: exposure 4000.00 + "
                          "amount 7000.00 = 11000.00 > limit 10000.00"));

  // Exactly at the limit is still within it.
  const v1::CreditCheck at_limit = Check(kAccE1, 600'000);
  EXPECT_EQ(at_limit.decision(), v1::CREDIT_DECISION_APPROVE);

  // No profile: a person reviews.
  const v1::CreditCheck review = Check(kAccE2, 100);
  EXPECT_EQ(review.decision(), v1::CREDIT_DECISION_REVIEW);
  EXPECT_THAT(review.reasons(), ElementsAre("no credit profile"));
  EXPECT_EQ(review.credit_limit().units_minor(), 0);

  // On hold: every check blocks, however small.
  SetProfile(kAccW1, 1'000'000, 30, v1::RISK_CLASS_LOW, true, "fraud check");
  const v1::CreditCheck held = Check(kAccW1, 1);
  EXPECT_EQ(held.decision(), v1::CREDIT_DECISION_BLOCK);
  EXPECT_THAT(held.reasons(),
              ElementsAre("account on credit hold: fraud check"));

  // A receivable overdue more than 30 days blocks too.
  Post(kAccE1, 10'000, today - 60, today - 31);
  const v1::CreditCheck overdue = Check(kAccE1, 1);
  EXPECT_EQ(overdue.decision(), v1::CREDIT_DECISION_BLOCK);
  EXPECT_THAT(overdue.reasons(),
              ElementsAre("receivables overdue more than 30 days: 100.00, up "
                          "to 31 days"));

  // Every decision is stored, oldest first, as answered.
  v1::ListCreditChecksRequest list;
  list.set_account_id(kAccE1);
  v1::ListCreditChecksResponse checks;
  ASSERT_TRUE(IsOk(Call(&Stub::ListCreditChecks, list, &checks)));
  ASSERT_EQ(checks.checks_size(), 4);
  EXPECT_TRUE(MessageDifferencer::Equals(checks.checks(0), approve));
  EXPECT_TRUE(MessageDifferencer::Equals(checks.checks(1), block));
  EXPECT_TRUE(MessageDifferencer::Equals(checks.checks(2), at_limit));
  EXPECT_TRUE(MessageDifferencer::Equals(checks.checks(3), overdue));
  list.set_account_id(kAccW1);
  ASSERT_TRUE(IsOk(Call(&Stub::ListCreditChecks, list, &checks)));
  ASSERT_EQ(checks.checks_size(), 1);
  EXPECT_EQ(checks.checks(0).id(), held.id());
}

TEST_F(CreditServiceTest, CheckCreditValidatesAndFollowsRoles) {
  SetProfile(kAccE1, 1'000'000, 30, v1::RISK_CLASS_MEDIUM);
  v1::CheckCreditRequest req;
  v1::CreditCheck out;
  grpc::Status s = Call(&Stub::CheckCredit, req, &out);
  ASSERT_TRUE(IsError(s, Code::INVALID_ARGUMENT, "account_id: required"));
  EXPECT_THAT(s.error_message(), HasSubstr("amount.currency: required"));
  req.set_account_id(kAccE1);
  *req.mutable_amount() = Eur(0);
  EXPECT_TRUE(IsError(Call(&Stub::CheckCredit, req, &out),
                      Code::INVALID_ARGUMENT,
                      "amount.units_minor: must be > 0"));
  req.set_account_id("acc_nope");
  *req.mutable_amount() = Eur(100);
  EXPECT_TRUE(IsError(Call(&Stub::CheckCredit, req, &out),
                      Code::INVALID_ARGUMENT,
                      "account_id: account acc_nope does not exist"));

  // Pipeline (SERVICE) and the people in scope may ask.
  EXPECT_EQ(Check(kAccE1, 100, "opp_x", kServiceToken).checked_by(),
            "pipeline");
  EXPECT_EQ(Check(kAccE1, 100, "", kRepE1Token).checked_by(), "rep-e1");
  EXPECT_EQ(Check(kAccE1, 100, "", kManagerEastToken).checked_by(),
            "manager-east");
  EXPECT_EQ(Check(kAccE1, 100, "", kAdminToken).checked_by(), "admin");
  // Outside the account's owner: no.
  req.set_account_id(kAccE1);
  for (const char* token : {kRepW1Token, kManagerWestToken}) {
    EXPECT_TRUE(IsError(Call(&Stub::CheckCredit, req, &out, token),
                        Code::PERMISSION_DENIED))
        << token;
  }
  EXPECT_TRUE(
      IsError(Call(&Stub::CheckCredit, req, &out, ""), Code::UNAUTHENTICATED));
  v1::ListCreditChecksRequest list;
  list.set_account_id(kAccE1);
  v1::ListCreditChecksResponse checks;
  EXPECT_TRUE(IsError(Call(&Stub::ListCreditChecks, list, &checks, kRepW1Token),
                      Code::PERMISSION_DENIED));
  ASSERT_TRUE(IsOk(Call(&Stub::ListCreditChecks, list, &checks, kRepE1Token)));
  EXPECT_EQ(checks.checks_size(), 4);  // the refused ones left no trace
}

TEST_F(CreditServiceTest, CheckCreditCountsContractedNotInvoicedOnce) {
  PutModel();
  SetProfile(kAccE1, 2'000'000, 30, v1::RISK_CLASS_MEDIUM);  // 20,000.00
  Post(kAccE1, 100'000, Today());                            // 1,000.00 open

  EXPECT_EQ(Check(kAccE1, 400'000, "opp_a").exposure().units_minor(), 100'000);
  EXPECT_EQ(Check(kAccE1, 200'000, "opp_b").exposure().units_minor(), 500'000);
  // A re-check of opp_a leaves its own earlier 4,000 out ...
  const v1::CreditCheck again = Check(kAccE1, 500'000, "opp_a");
  EXPECT_EQ(again.decision(), v1::CREDIT_DECISION_APPROVE);
  EXPECT_EQ(again.exposure().units_minor(), 300'000);
  // ... and replaces it: 1,000 open + 5,000 (opp_a) + 2,000 (opp_b).
  EXPECT_EQ(Exposure(kAccE1), 800'000);

  // A BLOCKed opportunity is not contracted.
  const v1::CreditCheck blocked = Check(kAccE1, 1'500'000, "opp_c");
  EXPECT_EQ(blocked.decision(), v1::CREDIT_DECISION_BLOCK);
  EXPECT_EQ(blocked.exposure().units_minor(), 800'000);
  EXPECT_EQ(Exposure(kAccE1), 800'000);

  // opp_a's contract is signed: its receivable replaces its commitment.
  ApplyOk(OppEvent("opp_a", kAccE1, 500'000, "USAGE", 3));
  ASSERT_EQ(Receivables(kAccE1, "opp_a").size(), 1u);
  EXPECT_EQ(Exposure(kAccE1), 800'000);  // 1,000 + 5,000 receivable + 2,000
  // A re-check of an invoiced opportunity (slipped back and moving forward
  // again) counts it once, by the amount asked: its own receivable is left
  // out of the exposure, and no commitment is added.
  EXPECT_EQ(Check(kAccE1, 500'000, "opp_a").exposure().units_minor(), 300'000);
  EXPECT_EQ(Exposure(kAccE1), 800'000);

  // opp_b closes LOST: its commitment is released.
  ApplyOk(OppEvent("opp_b", kAccE1, 200'000, "COMMITMENT", 4,
                   v1::OPPORTUNITY_STATUS_LOST));
  EXPECT_EQ(Exposure(kAccE1), 600'000);

  // An invoice the ERP posts for an opportunity is its receivable too: it
  // releases the commitment, and a re-check does not add it back.
  EXPECT_EQ(Check(kAccE1, 300'000, "opp_e").exposure().units_minor(), 600'000);
  EXPECT_EQ(Exposure(kAccE1), 900'000);
  Post(kAccE1, 300'000, Today(), std::nullopt, "INV-E", "opp_e");
  EXPECT_EQ(Exposure(kAccE1), 900'000);  // 1,000 + 5,000 + 3,000 invoiced
  EXPECT_EQ(Check(kAccE1, 300'000, "opp_e").exposure().units_minor(), 600'000);
  EXPECT_EQ(Exposure(kAccE1), 900'000);

  // A REVIEW (no profile) counts as contracted too; NO_DECISION releases it.
  EXPECT_EQ(Check(kAccE2, 300'000, "opp_d").decision(),
            v1::CREDIT_DECISION_REVIEW);
  EXPECT_EQ(Exposure(kAccE2), 300'000);
  ApplyOk(OppEvent("opp_d", kAccE2, 300'000, "COMMITMENT", 2,
                   v1::OPPORTUNITY_STATUS_NO_DECISION));
  EXPECT_EQ(Exposure(kAccE2), 0);
}

// ---------------------------------------------------------------------------
// 3. Receivables from the pipeline feed

TEST_F(CreditServiceTest, ContractSignedOpensExactlyOneReceivable) {
  SetToday(absl::CivilDay(2026, 3, 12));
  PutModel();
  SetProfile(kAccE1, 10'000'000, 45, v1::RISK_CLASS_LOW);
  const absl::Time signed_at = Noon(absl::CivilDay(2026, 3, 10));

  // Stages before the contract open nothing.
  ApplyOk(OppEvent("opp_1", kAccE1, 5'000'000, "COMMITMENT", 1,
                   v1::OPPORTUNITY_STATUS_OPEN, signed_at - absl::Hours(48)));
  EXPECT_THAT(Receivables(kAccE1), IsEmpty());

  const v1::Event entered = OppEvent("opp_1", kAccE1, 5'000'000, "USAGE", 2,
                                     v1::OPPORTUNITY_STATUS_OPEN, signed_at);
  ApplyOk(entered);
  std::vector<v1::Receivable> rs = Receivables(kAccE1);
  ASSERT_EQ(rs.size(), 1u);
  const v1::Receivable r = rs[0];
  EXPECT_THAT(r.id(), StartsWith("rcv_"));
  EXPECT_EQ(r.account_id(), kAccE1);
  EXPECT_EQ(r.opportunity_id(), "opp_1");
  EXPECT_EQ(r.amount().units_minor(), 5'000'000);
  EXPECT_EQ(r.open().units_minor(), 5'000'000);
  EXPECT_EQ(r.paid().units_minor(), 0);
  EXPECT_EQ(Str(r.issue_date()), "2026-03-10");  // the event's day, not today
  EXPECT_EQ(Str(r.due_date()), "2026-04-24");    // + 45 days of terms
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_OPEN);
  EXPECT_EQ(r.source(), v1::RECEIVABLE_SOURCE_CONTRACT_SIGNED);

  // The same event again, a later version in the same stage, back and forth
  // again, then WON from it: still the one receivable, unchanged.
  ApplyOk(entered);
  ApplyOk(OppEvent("opp_1", kAccE1, 5'100'000, "USAGE", 3,
                   v1::OPPORTUNITY_STATUS_OPEN, signed_at + absl::Hours(1)));
  ApplyOk(OppEvent("opp_1", kAccE1, 5'000'000, "COMMITMENT", 4,
                   v1::OPPORTUNITY_STATUS_OPEN, signed_at + absl::Hours(24)));
  ApplyOk(OppEvent("opp_1", kAccE1, 5'000'000, "USAGE", 5,
                   v1::OPPORTUNITY_STATUS_OPEN, signed_at + absl::Hours(48)));
  ApplyOk(OppEvent("opp_1", kAccE1, 5'000'000, "USAGE", 6,
                   v1::OPPORTUNITY_STATUS_WON, signed_at + absl::Hours(72)));
  rs = Receivables(kAccE1);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_TRUE(MessageDifferencer::Equals(rs[0], r)) << rs[0].DebugString();
  EXPECT_EQ(Receivables("", "opp_1").size(), 1u);

  v1::GetOpportunityCollectionRequest get;
  get.set_opportunity_id("opp_1");
  v1::OpportunityCollection c;
  ASSERT_TRUE(IsOk(Call(&Stub::GetOpportunityCollection, get, &c)));
  EXPECT_EQ(c.opportunity_id(), "opp_1");
  EXPECT_EQ(c.account_id(), kAccE1);
  EXPECT_EQ(c.invoiced().units_minor(), 5'000'000);
  EXPECT_EQ(c.collected().units_minor(), 0);
  EXPECT_EQ(c.written_off().units_minor(), 0);
  EXPECT_FALSE(c.fully_collected());
  EXPECT_EQ(c.version(), 1);
}

TEST_F(CreditServiceTest, ContractStageFirstSeenWonLostOrOfAnUnknownModel) {
  SetToday(absl::CivilDay(2026, 3, 12));
  PutModel();
  const absl::Time signed_at = Noon(absl::CivilDay(2026, 3, 10));
  // First seen already WON in the contract stage, on an account without a
  // profile: opened with the default 30 days of terms.
  ApplyOk(OppEvent("opp_2", kAccE2, 700'000, "USAGE", 9,
                   v1::OPPORTUNITY_STATUS_WON, signed_at));
  std::vector<v1::Receivable> rs = Receivables(kAccE2);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(Str(rs[0].due_date()), "2026-04-09");
  // Lost in the contract stage: no sale, no receivable.
  ApplyOk(OppEvent("opp_3", kAccW1, 700'000, "USAGE", 2,
                   v1::OPPORTUNITY_STATUS_LOST, signed_at));
  EXPECT_THAT(Receivables(kAccW1), IsEmpty());

  // An opportunity of a model never seen: the consumer stops (nothing is
  // silently missed) and nothing is written.
  const uint64_t before = store_->last_sequence();
  absl::Status s = ApplyPipeline(OppEvent("opp_4", kAccW1, 100, "USAGE", 1,
                                          v1::OPPORTUNITY_STATUS_OPEN,
                                          signed_at, "stm_unknown"));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(store_->last_sequence(), before);

  v1::ListOpportunityCollectionsResponse all;
  ASSERT_TRUE(
      IsOk(Call(&Stub::ListOpportunityCollections,
                v1::ListOpportunityCollectionsRequest(), &all, kServiceToken)));
  ASSERT_EQ(all.collections_size(), 1);
  EXPECT_EQ(all.collections(0).opportunity_id(), "opp_2");
  EXPECT_TRUE(
      IsError(Call(&Stub::ListOpportunityCollections,
                   v1::ListOpportunityCollectionsRequest(), &all, kRepE1Token),
              Code::PERMISSION_DENIED));
}

TEST_F(CreditServiceTest, IssueDateIsTheEventDayInTheInstanceTimeZone) {
  StopService();
  CreditOptions options;
  options.time_zone = absl::FixedTimeZone(8 * 3600);  // UTC+8
  StartService(options);
  PutModel();
  // 20:00 UTC on 03-10 is 04:00 on 03-11 in UTC+8.
  ApplyOk(OppEvent("opp_tz", kAccE1, 100'000, "USAGE", 1,
                   v1::OPPORTUNITY_STATUS_OPEN,
                   Noon(absl::CivilDay(2026, 3, 10)) + absl::Hours(8)));
  std::vector<v1::Receivable> rs = Receivables(kAccE1);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(Str(rs[0].issue_date()), "2026-03-11");
  EXPECT_EQ(Str(rs[0].due_date()), "2026-04-10");
}

// ---------------------------------------------------------------------------
// 4. Posted receivables

TEST_F(CreditServiceTest, PostReceivableWithExternalIdIsIdempotent) {
  SetProfile(kAccE1, 10'000'000, 30, v1::RISK_CLASS_LOW);
  const absl::CivilDay issue(2026, 2, 1);
  const v1::Receivable r = Post(kAccE1, 123'456, issue, std::nullopt, "INV-1");
  EXPECT_THAT(r.id(), StartsWith("rcv_"));
  EXPECT_EQ(r.external_id(), "INV-1");
  EXPECT_EQ(r.source(), v1::RECEIVABLE_SOURCE_POSTED);
  EXPECT_EQ(Str(r.due_date()), "2026-03-03");  // issue + 30 days of terms
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_OPEN);
  EXPECT_EQ(r.open().units_minor(), 123456);
  EXPECT_EQ(r.version(), 1);

  // The replay returns the same receivable and writes nothing (no event).
  const uint64_t before = store_->last_sequence();
  v1::Receivable replay;
  ASSERT_TRUE(IsOk(Call(
      &Stub::PostReceivable,
      PostRequest(kAccE1, 123'456, issue, std::nullopt, "INV-1"), &replay)));
  EXPECT_TRUE(MessageDifferencer::Equals(replay, r)) << replay.DebugString();
  // The external id may also come inside the receivable.
  v1::PostReceivableRequest inside = PostRequest(kAccE1, 123'456, issue);
  inside.mutable_receivable()->set_external_id("INV-1");
  ASSERT_TRUE(IsOk(Call(&Stub::PostReceivable, inside, &replay)));
  EXPECT_EQ(replay.id(), r.id());
  EXPECT_EQ(store_->last_sequence(), before);
  EXPECT_EQ(Receivables(kAccE1).size(), 1u);

  // The same external id for another invoice: refused, nothing written.
  EXPECT_TRUE(IsError(
      Call(&Stub::PostReceivable,
           PostRequest(kAccE1, 123'457, issue, std::nullopt, "INV-1"), &replay),
      Code::FAILED_PRECONDITION, "external_id: INV-1 was posted as"));
  EXPECT_TRUE(IsError(
      Call(&Stub::PostReceivable,
           PostRequest(kAccE2, 123'456, issue, std::nullopt, "INV-1"), &replay),
      Code::FAILED_PRECONDITION, "INV-1"));
  EXPECT_EQ(store_->last_sequence(), before);
  EXPECT_EQ(Receivables(kAccE1).size(), 1u);
  EXPECT_THAT(Receivables(kAccE2), IsEmpty());

  // An explicit due date wins over the terms.
  EXPECT_EQ(Str(Post(kAccE1, 100, issue, absl::CivilDay(2026, 2, 15), "INV-2")
                    .due_date()),
            "2026-02-15");
}

TEST_F(CreditServiceTest, PostReceivableValidatesAndIsForFinanceOnly) {
  v1::Receivable out;
  v1::PostReceivableRequest req;
  grpc::Status s = Call(&Stub::PostReceivable, req, &out);
  ASSERT_TRUE(
      IsError(s, Code::INVALID_ARGUMENT, "receivable.account_id: required"));
  EXPECT_THAT(s.error_message(), HasSubstr("receivable.amount"));
  EXPECT_THAT(s.error_message(), HasSubstr("receivable.issue_date"));

  const absl::CivilDay issue(2026, 2, 1);
  EXPECT_TRUE(IsError(
      Call(&Stub::PostReceivable,
           PostRequest(kAccE1, 100, issue, absl::CivilDay(2026, 1, 31)), &out),
      Code::INVALID_ARGUMENT,
      "receivable.due_date: must not be before issue_date"));
  req = PostRequest(kAccE1, 100, issue);
  req.mutable_receivable()->set_state(v1::RECEIVABLE_STATE_PAID);
  EXPECT_TRUE(IsError(Call(&Stub::PostReceivable, req, &out),
                      Code::INVALID_ARGUMENT, "output only"));
  req = PostRequest(kAccE1, 100, issue, std::nullopt, std::string(129, 'x'));
  EXPECT_TRUE(IsError(Call(&Stub::PostReceivable, req, &out),
                      Code::INVALID_ARGUMENT,
                      "external_id: at most 128 characters"));
  req = PostRequest(kAccE1, 100, issue, std::nullopt, "INV-A");
  req.mutable_receivable()->set_external_id("INV-B");
  EXPECT_TRUE(IsError(Call(&Stub::PostReceivable, req, &out),
                      Code::INVALID_ARGUMENT, "external_id: differs"));
  EXPECT_TRUE(IsError(
      Call(&Stub::PostReceivable, PostRequest("acc_nope", 100, issue), &out),
      Code::INVALID_ARGUMENT,
      "receivable.account_id: account acc_nope does not exist"));
  for (const char* token : {kRepE1Token, kManagerEastToken, kServiceToken}) {
    EXPECT_TRUE(IsError(Call(&Stub::PostReceivable,
                             PostRequest(kAccE1, 100, issue), &out, token),
                        Code::PERMISSION_DENIED))
        << token;
  }
  EXPECT_THAT(Receivables(kAccE1), IsEmpty());

  const v1::Receivable r = Post(kAccE1, 100, issue);
  v1::GetReceivableRequest get;
  get.set_id(r.id());
  EXPECT_TRUE(IsOk(Call(&Stub::GetReceivable, get, &out, kRepE1Token)));
  EXPECT_TRUE(IsError(Call(&Stub::GetReceivable, get, &out, kRepW1Token),
                      Code::PERMISSION_DENIED));
  get.set_id("rcv_nope");
  EXPECT_TRUE(IsError(Call(&Stub::GetReceivable, get, &out), Code::NOT_FOUND));
}

// ---------------------------------------------------------------------------
// 5. Payments

// Three receivables of e1 (r2 due first, then r1, then r3) and one of e2.
class CreditPaymentTest : public CreditServiceTest {
 protected:
  void SetUp() override {
    CreditServiceTest::SetUp();
    SetToday(absl::CivilDay(2026, 3, 5));
    r1 = Post(kAccE1, 100000, absl::CivilDay(2026, 1, 10),
              absl::CivilDay(2026, 2, 10));
    r2 = Post(kAccE1, 50'000, absl::CivilDay(2026, 1, 1),
              absl::CivilDay(2026, 1, 31));
    r3 = Post(kAccE1, 30'000, absl::CivilDay(2026, 2, 1),
              absl::CivilDay(2026, 3, 1));
    other = Post(kAccE2, 30'000, absl::CivilDay(2026, 2, 1));
  }

  // 700.00 by default (r2 in full, 200.00 of r1), then 100.00 named to r3:
  // 1,000.00 still owed.
  void PayTwice() {
    ASSERT_TRUE(IsOk(Pay(kAccE1, 70'000, absl::CivilDay(2026, 3, 4))));
    ASSERT_TRUE(IsOk(
        Pay(kAccE1, 10'000, absl::CivilDay(2026, 3, 5), {{r3.id(), 10'000}})));
  }

  v1::Receivable r1, r2, r3, other;
};

TEST_F(CreditPaymentTest, DefaultGoesOldestDueFirstAndNamedWhereTold) {
  // 700.00 by default: r2 (due first) in full, then 200.00 of r1.
  v1::Payment p;
  ASSERT_TRUE(
      IsOk(Pay(kAccE1, 70'000, absl::CivilDay(2026, 3, 4), {}, "", &p)));
  EXPECT_THAT(p.id(), StartsWith("pay_"));
  ASSERT_EQ(p.allocations_size(), 2);
  EXPECT_EQ(p.allocations(0).receivable_id(), r2.id());
  EXPECT_EQ(p.allocations(0).amount().units_minor(), 50'000);
  EXPECT_EQ(p.allocations(1).receivable_id(), r1.id());
  EXPECT_EQ(p.allocations(1).amount().units_minor(), 20'000);
  v1::Receivable got = GetReceivable(r2.id());
  EXPECT_EQ(got.state(), v1::RECEIVABLE_STATE_PAID);
  EXPECT_EQ(Str(got.paid_date()), "2026-03-04");
  ASSERT_EQ(got.payments_size(), 1);
  EXPECT_EQ(got.payments(0).payment_id(), p.id());
  got = GetReceivable(r1.id());
  EXPECT_EQ(got.state(), v1::RECEIVABLE_STATE_PARTIALLY_PAID);
  EXPECT_EQ(got.open().units_minor(), 80'000);
  EXPECT_EQ(got.paid().units_minor(), 20'000);

  // Named: exactly where it is told, even though r1 is due earlier.
  ASSERT_TRUE(IsOk(
      Pay(kAccE1, 10'000, absl::CivilDay(2026, 3, 5), {{r3.id(), 10'000}})));
  EXPECT_EQ(GetReceivable(r3.id()).open().units_minor(), 20000);
  EXPECT_EQ(GetReceivable(r1.id()).open().units_minor(), 80'000);
}

TEST_F(CreditPaymentTest, MoreThanIsOwedOrAMalformedOneWritesNothing) {
  PayTwice();
  // More than the 1,000.00 still owed: rejected, nothing written.
  const uint64_t before = store_->last_sequence();
  const v1::Receivable r1_before = GetReceivable(r1.id());
  const v1::Receivable r3_before = GetReceivable(r3.id());
  EXPECT_TRUE(IsError(Pay(kAccE1, 100'001, Today()), Code::FAILED_PRECONDITION,
                      "amount: 1000.01 exceeds the 1000.00"));
  EXPECT_TRUE(IsError(Pay(kAccE1, 30'000, Today(), {{r3.id(), 30'000}}),
                      Code::FAILED_PRECONDITION,
                      "allocations[0].amount: 300.00 exceeds the 200.00"));
  EXPECT_TRUE(IsError(Pay(kAccE1, 10000, Today(), {{r2.id(), 10000}}),
                      Code::FAILED_PRECONDITION, "already paid"));
  EXPECT_TRUE(IsError(
      Pay(kAccE1, 20'000, Today(), {{r1.id(), 10'000}, {r3.id(), 5'000}}),
      Code::INVALID_ARGUMENT, "allocations: they sum to 150.00"));
  EXPECT_TRUE(IsError(Pay(kAccE1, 10'000, Today(), {{other.id(), 10'000}}),
                      Code::INVALID_ARGUMENT, "allocations[0].receivable_id"));
  // The request's own rules (dates, amounts): payment_rules_test.cc.
  EXPECT_TRUE(IsError(Pay(kAccE1, 100, Today() + 1), Code::INVALID_ARGUMENT,
                      "date: must not be after today (2026-03-05)"));
  v1::Payment ignored;
  for (const char* token : {kRepE1Token, kManagerEastToken, kServiceToken}) {
    EXPECT_TRUE(IsError(Call(&Stub::RecordPayment,
                             PayRequest(kAccE1, 100, Today()), &ignored, token),
                        Code::PERMISSION_DENIED));
  }
  EXPECT_EQ(store_->last_sequence(), before);
  EXPECT_TRUE(MessageDifferencer::Equals(GetReceivable(r1.id()), r1_before));
  EXPECT_TRUE(MessageDifferencer::Equals(GetReceivable(r3.id()), r3_before));
}

TEST_F(CreditPaymentTest, AnExternalIdIsIdempotentAndWhatIsOwedSettlesAll) {
  PayTwice();
  // An external id makes a payment idempotent.
  v1::Payment bank;
  ASSERT_TRUE(IsOk(Pay(kAccE1, 5'000, Today(), {}, "BANK-7", &bank)));
  EXPECT_EQ(bank.external_id(), "BANK-7");
  EXPECT_EQ(GetReceivable(r1.id()).open().units_minor(), 75'000);
  const uint64_t after_bank = store_->last_sequence();
  v1::Payment replay;
  ASSERT_TRUE(IsOk(Pay(kAccE1, 5'000, Today(), {}, "BANK-7", &replay)));
  EXPECT_TRUE(MessageDifferencer::Equals(replay, bank));
  EXPECT_EQ(store_->last_sequence(), after_bank);
  EXPECT_EQ(GetReceivable(r1.id()).open().units_minor(), 75'000);
  EXPECT_TRUE(IsError(Pay(kAccE1, 5'001, Today(), {}, "BANK-7"),
                      Code::FAILED_PRECONDITION, "BANK-7"));

  // Exactly what is owed settles everything; then nothing more is taken.
  ASSERT_TRUE(IsOk(Pay(kAccE1, 95000, Today())));
  for (const v1::Receivable& r : Receivables(kAccE1)) {
    EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_PAID) << r.id();
    EXPECT_EQ(r.open().units_minor(), 0) << r.id();
  }
  EXPECT_TRUE(IsError(Pay(kAccE1, 1, Today()), Code::FAILED_PRECONDITION));

  v1::ListPaymentsRequest list;
  list.set_account_id(kAccE1);
  v1::ListPaymentsResponse payments;
  ASSERT_TRUE(IsOk(Call(&Stub::ListPayments, list, &payments, kRepE1Token)));
  EXPECT_EQ(payments.payments_size(), 4);
  EXPECT_TRUE(IsError(Call(&Stub::ListPayments, list, &payments, kRepW1Token),
                      Code::PERMISSION_DENIED));
}

TEST_F(CreditServiceTest, FullPaymentCompletesTheOpportunityCollection) {
  PutModel();
  SetToday(absl::CivilDay(2026, 3, 1));
  ApplyOk(OppEvent("opp_1", kAccE1, 500'000, "USAGE", 1));
  std::vector<v1::Receivable> rs = Receivables(kAccE1);
  ASSERT_EQ(rs.size(), 1u);

  v1::GetOpportunityCollectionRequest get;
  get.set_opportunity_id("opp_1");
  v1::OpportunityCollection c;

  SetToday(absl::CivilDay(2026, 3, 2));
  ASSERT_TRUE(IsOk(Pay(kAccE1, 200'000, Today())));
  ASSERT_TRUE(IsOk(Call(&Stub::GetOpportunityCollection, get, &c)));
  EXPECT_EQ(c.collected().units_minor(), 200'000);
  EXPECT_FALSE(c.fully_collected());
  EXPECT_FALSE(c.has_collected_date());
  EXPECT_EQ(c.version(), 2);

  SetToday(absl::CivilDay(2026, 3, 6));
  ASSERT_TRUE(IsOk(Pay(kAccE1, 300'000, absl::CivilDay(2026, 3, 5))));
  ASSERT_TRUE(IsOk(Call(&Stub::GetOpportunityCollection, get, &c)));
  EXPECT_EQ(c.invoiced().units_minor(), 500'000);
  EXPECT_EQ(c.collected().units_minor(), 500'000);
  EXPECT_TRUE(c.fully_collected());
  EXPECT_EQ(Str(c.collected_date()), "2026-03-05");
  EXPECT_EQ(c.version(), 3);

  v1::ListOpportunityCollectionsResponse all;
  ASSERT_TRUE(
      IsOk(Call(&Stub::ListOpportunityCollections,
                v1::ListOpportunityCollectionsRequest(), &all, kServiceToken)));
  ASSERT_EQ(all.collections_size(), 1);
  EXPECT_TRUE(MessageDifferencer::Equals(all.collections(0), c));
  EXPECT_TRUE(
      IsOk(Call(&Stub::GetOpportunityCollection, get, &c, kRepE1Token)));
  EXPECT_TRUE(
      IsError(Call(&Stub::GetOpportunityCollection, get, &c, kRepW1Token),
              Code::PERMISSION_DENIED));
  get.set_opportunity_id("opp_none");
  EXPECT_TRUE(
      IsError(Call(&Stub::GetOpportunityCollection, get, &c), Code::NOT_FOUND));
}

}  // namespace
}  // namespace salesops::credit::credit_test
