// The receivable transitions (receivable_rules.h), without gRPC or a store.

#include "services/credit/receivable_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/status/errors.h"
#include "services/credit/rules_test_support.h"

namespace salesops::credit {
namespace {

using ::testing::HasSubstr;
using namespace rules_test;  // NOLINT

const absl::CivilDay kIssue(2026, 2, 1);

v1::PostReceivableRequest PostReq(int64_t amount, const std::string& ext = "") {
  v1::PostReceivableRequest req;
  req.mutable_receivable()->set_account_id("acc_1");
  *req.mutable_receivable()->mutable_amount() = Eur(amount);
  *req.mutable_receivable()->mutable_issue_date() = ToProto(kIssue);
  req.set_external_id(ext);
  return req;
}

TEST(PostReceivableRulesTest, NamesEveryInvalidField) {
  absl::StatusOr<PostedInvoice> v =
      ValidatePostReceivable(v1::PostReceivableRequest(), CreditOptions());
  ASSERT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(v.status().message(),
              HasSubstr("receivable.account_id: required"));
  EXPECT_THAT(v.status().message(), HasSubstr("receivable.amount"));
  EXPECT_THAT(v.status().message(), HasSubstr("receivable.issue_date"));

  v1::PostReceivableRequest req = PostReq(100);
  *req.mutable_receivable()->mutable_due_date() = ToProto(kIssue - 1);
  req.mutable_receivable()->set_state(v1::RECEIVABLE_STATE_PAID);
  req.set_external_id(std::string(129, 'x'));
  v = ValidatePostReceivable(req, CreditOptions());
  EXPECT_THAT(v.status().message(),
              HasSubstr("receivable.due_date: must not be before issue_date"));
  EXPECT_THAT(v.status().message(), HasSubstr("output only"));
  EXPECT_THAT(v.status().message(),
              HasSubstr("external_id: at most 128 characters"));

  req = PostReq(100, "INV-A");
  req.mutable_receivable()->set_external_id("INV-B");
  EXPECT_THAT(ValidatePostReceivable(req, CreditOptions()).status().message(),
              HasSubstr("external_id: differs"));
}

TEST(PostReceivableRulesTest, TheExternalIdIsTheRequestsOrTheReceivables) {
  v1::PostReceivableRequest req = PostReq(100);
  req.mutable_receivable()->set_external_id("INV-R");
  absl::StatusOr<PostedInvoice> v =
      ValidatePostReceivable(req, CreditOptions());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->external_id, "INV-R");
  EXPECT_EQ(v->issue, kIssue);
  EXPECT_FALSE(v->due.has_value());

  v1::Receivable posted =
      NewPostedReceivable(req.receivable(), *v, kIssue + 30, "rcv_1",
                          Noon(kIssue), CreditOptions());
  EXPECT_EQ(posted.source(), v1::RECEIVABLE_SOURCE_POSTED);
  EXPECT_EQ(Civ(posted.due_date()), kIssue + 30);
  EXPECT_EQ(posted.external_id(), "INV-R");
  EXPECT_EQ(posted.paid().currency(), "EUR");
}

TEST(PostReceivableRulesTest, AReplayMustMatchWhatWasPosted) {
  const v1::Receivable known = Rcv("rcv_1", 100, kIssue, kIssue + 30);
  EXPECT_TRUE(CheckPostReplay(known, PostReq(100).receivable(), "INV-1").ok());
  absl::Status s = CheckPostReplay(known, PostReq(101).receivable(), "INV-1");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReasonOf(s), "EXTERNAL_ID_REUSED");
  EXPECT_EQ(s.message(),
            "external_id: INV-1 was posted as rcv_1 with a different account, "
            "amount or issue date");
}

TEST(PostReceivableRulesTest,
     TheContractsReceivableIsAdoptedOnlyUnpaidAndEqual) {
  const v1::Receivable contract =
      Rcv("rcv_c", 500, kIssue - 10, kIssue + 20, "acc_1", "opp_1");
  v1::PostReceivableRequest req = PostReq(500, "INV-9");
  req.mutable_receivable()->set_opportunity_id("opp_1");
  const PostedInvoice inv{"INV-9", kIssue, std::nullopt};
  absl::StatusOr<v1::Receivable> r =
      AdoptContractReceivable(contract, req.receivable(), inv, kIssue + 30);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id(), "rcv_c");
  EXPECT_EQ(r->external_id(), "INV-9");
  EXPECT_EQ(Civ(r->issue_date()), kIssue);
  EXPECT_EQ(Civ(r->due_date()), kIssue + 30);

  req.mutable_receivable()->mutable_amount()->set_units_minor(400);
  r = AdoptContractReceivable(contract, req.receivable(), inv, kIssue + 30);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(),
              HasSubstr("opportunity opp_1 is invoiced by rcv_c"));
  req.mutable_receivable()->mutable_amount()->set_units_minor(500);
  r = AdoptContractReceivable(PaidOn(contract, kIssue), req.receivable(), inv,
                              kIssue + 30);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ContractReceivableRulesTest, IssuedTheDayTheStageWasEnteredInTheZone) {
  v1::StageModel model;
  model.add_stages()->set_key("COMMITMENT");
  v1::Stage* usage = model.add_stages();
  usage->set_key("USAGE");
  usage->set_contract_signed(true);
  v1::Opportunity o;
  o.set_id("opp_1");
  o.set_account_id("acc_1");
  *o.mutable_amount() = Eur(700);
  o.set_stage_key("COMMITMENT");
  EXPECT_FALSE(InContractSignedStage(o, model));
  o.set_stage_key("USAGE");
  EXPECT_TRUE(InContractSignedStage(o, model));

  CreditOptions tokyo;
  tokyo.time_zone = absl::FixedTimeZone(9 * 3600);
  // 20:00 UTC on March 1st is March 2nd in Tokyo.
  const absl::Time evening = Noon(absl::CivilDay(2026, 3, 1)) + absl::Hours(8);
  EXPECT_EQ(ContractIssueDay(o, absl::ToUnixMicros(evening), tokyo),
            absl::CivilDay(2026, 3, 2));
  o.set_stage_entered_micros(absl::ToUnixMicros(Noon(kIssue)));
  EXPECT_EQ(ContractIssueDay(o, absl::ToUnixMicros(evening), tokyo), kIssue);

  v1::Receivable r =
      NewContractReceivable(o, kIssue, 45, "rcv_1", Noon(kIssue), tokyo);
  EXPECT_EQ(r.source(), v1::RECEIVABLE_SOURCE_CONTRACT_SIGNED);
  EXPECT_EQ(r.opportunity_id(), "opp_1");
  EXPECT_EQ(r.amount().units_minor(), 700);
  EXPECT_EQ(Civ(r.due_date()), kIssue + 45);
}

TEST(WriteOffRulesTest, ValidatesAndWritesOffWhatIsStillOwed) {
  const absl::CivilDay today(2026, 3, 2);
  v1::WriteOffRequest req;
  EXPECT_THAT(ValidateWriteOff(req, today).status().message(),
              HasSubstr("receivable_id: required; reason: required"));
  req.set_receivable_id("rcv_1");
  req.set_reason("  insolvent  ");
  *req.mutable_date() = ToProto(today + 1);
  EXPECT_THAT(ValidateWriteOff(req, today).status().message(),
              HasSubstr("date: must not be after today"));
  req.clear_date();
  ASSERT_EQ(ValidateWriteOff(req, today).value(), today);

  v1::Receivable r = Rcv("rcv_1", 1000, kIssue, kIssue + 30);
  ASSERT_TRUE(ApplyPayment(&r, "pay_1", 300, kIssue + 5, "EUR").ok());
  absl::StatusOr<v1::Receivable> off = WriteOffReceivable(r, req, today, "EUR");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->state(), v1::RECEIVABLE_STATE_WRITTEN_OFF);
  EXPECT_EQ(off->written_off().units_minor(), 700);
  EXPECT_EQ(off->write_off_reason(), "insolvent");
  EXPECT_EQ(Civ(off->written_off_date()), today);

  absl::Status s = WriteOffReceivable(*off, req, today, "EUR").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("is RECEIVABLE_STATE_WRITTEN_OFF"));
}

TEST(DisputeRulesTest, OnlyOpenOnesAreDisputedAndOnlyDisputedOnesClosed) {
  v1::SetDisputeRequest req;
  req.set_disputed(true);
  EXPECT_THAT(ValidateSetDispute(req).message(),
              HasSubstr("reason: required when opening a dispute"));
  req.set_receivable_id("rcv_1");
  req.set_reason(" wrong goods ");
  ASSERT_TRUE(ValidateSetDispute(req).ok());

  const v1::Receivable open = Rcv("rcv_1", 1000, kIssue, kIssue + 30);
  absl::StatusOr<v1::Receivable> d = SetReceivableDispute(open, req, "EUR");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->state(), v1::RECEIVABLE_STATE_DISPUTED);
  EXPECT_EQ(d->dispute_reason(), "wrong goods");
  EXPECT_EQ(SetReceivableDispute(*d, req, "EUR").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      SetReceivableDispute(PaidOn(open, kIssue), req, "EUR").status().code(),
      absl::StatusCode::kFailedPrecondition);

  req.set_disputed(false);
  EXPECT_THAT(SetReceivableDispute(open, req, "EUR").status().message(),
              HasSubstr("rcv_1 is not disputed"));
  absl::StatusOr<v1::Receivable> closed = SetReceivableDispute(*d, req, "EUR");
  ASSERT_TRUE(closed.ok());
  EXPECT_EQ(closed->state(), v1::RECEIVABLE_STATE_OPEN);
}

TEST(CollectionRulesTest, SumsTheOpportunitysReceivables) {
  const v1::Receivable a = PaidOn(
      Rcv("rcv_a", 600, kIssue, kIssue + 30, "acc_1", "opp_1"), kIssue + 10);
  v1::Receivable b = Rcv("rcv_b", 400, kIssue, kIssue + 30, "acc_1", "opp_1");
  absl::StatusOr<v1::OpportunityCollection> c =
      CollectionOf("opp_1", {a, b}, "EUR");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->account_id(), "acc_1");
  EXPECT_EQ(c->invoiced().units_minor(), 1000);
  EXPECT_EQ(c->collected().units_minor(), 600);
  EXPECT_FALSE(c->fully_collected());
  EXPECT_FALSE(c->has_collected_date());

  b = PaidOn(b, kIssue + 20);
  c = CollectionOf("opp_1", {a, b}, "EUR");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->fully_collected());
  EXPECT_EQ(Civ(c->collected_date()), kIssue + 20);
  EXPECT_FALSE(CollectionOf("opp_2", {}, "EUR")->fully_collected());
}

TEST(FigureTest, NamesOnlyAnOverflow) {
  EXPECT_EQ(Figure(absl::OutOfRangeError("sum"), "aging").message(),
            "aging does not fit an int64 amount (sum)");
  EXPECT_EQ(Figure(absl::NotFoundError("x"), "aging"),
            absl::NotFoundError("x"));
}

}  // namespace
}  // namespace salesops::credit
