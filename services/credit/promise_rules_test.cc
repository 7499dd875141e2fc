// The promise-to-pay and collection contact transitions (promise_rules.h),
// without gRPC or a store.

#include "services/credit/promise_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/credit/rules_test_support.h"

namespace salesops::credit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace rules_test;  // NOLINT

const absl::CivilDay kToday(2026, 11, 30);  // a Monday
const absl::CivilDay kIssue(2026, 11, 1);

v1::RecordPromiseRequest PromiseReq(std::vector<std::string> ids,
                                    int64_t amount, absl::CivilDay promised) {
  v1::RecordPromiseRequest req;
  for (const std::string& id : ids) {
    req.add_receivable_ids(id);
  }
  *req.mutable_amount() = Eur(amount);
  *req.mutable_promised_date() = ToProto(promised);
  return req;
}

TEST(PromiseRulesTest, NamesEveryInvalidField) {
  v1::RecordPromiseRequest req = PromiseReq({"a", "a"}, 0, kToday - 1);
  req.set_tolerance_days(31);
  absl::Status s = ValidateRecordPromise(req, kToday, CreditOptions()).status();
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("receivable_ids[1]: duplicate"));
  EXPECT_THAT(s.message(), HasSubstr("amount"));
  EXPECT_THAT(
      s.message(),
      HasSubstr("promised_date: must not be before today (2026-11-30)"));
  EXPECT_THAT(s.message(), HasSubstr("tolerance_days: must be 0..30, got 31"));
  req = PromiseReq({}, 100, kToday);
  EXPECT_THAT(
      ValidateRecordPromise(req, kToday, CreditOptions()).status().message(),
      HasSubstr("receivable_ids: at least one is required"));
  req = PromiseReq({"a"}, 100, kToday + 3);
  *req.mutable_made_date() = ToProto(kToday - 2);
  absl::StatusOr<PromiseDates> d =
      ValidateRecordPromise(req, kToday, CreditOptions());
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->made, kToday - 2);
  EXPECT_EQ(d->promised, kToday + 3);
}

TEST(PromiseRulesTest, OnReceivablesOfOneAccountThatStillOwe) {
  const v1::Receivable a = Rcv("rcv_a", 100'000, kIssue, kIssue + 30);
  const v1::Receivable b = Rcv("rcv_b", 100'000, kIssue, kIssue + 30, "acc_2");
  const PromiseDates dates{kToday, kToday + 3};
  auto make = [&](const v1::RecordPromiseRequest& req,
                  std::vector<std::optional<v1::Receivable>> found) {
    return NewPromise(req, found, dates, "finance", "prm_1", Noon(kToday),
                      CreditOptions());
  };
  EXPECT_EQ(
      make(PromiseReq({"rcv_a"}, 100'001, kToday + 3), {a}).status().message(),
      "amount: 1000.01 is more than the 1000.00 still owed on the named "
      "receivables");
  EXPECT_THAT(make(PromiseReq({"rcv_a", "rcv_b"}, 10, kToday), {a, b})
                  .status()
                  .message(),
              HasSubstr("receivable_ids[1]: all receivables must be of one"));
  EXPECT_THAT(make(PromiseReq({"rcv_x"}, 10, kToday), {std::nullopt})
                  .status()
                  .message(),
              HasSubstr("receivable_ids[0]: receivable rcv_x does not exist"));
  absl::Status paid =
      make(PromiseReq({"rcv_a"}, 10, kToday), {PaidOn(a, kToday)}).status();
  EXPECT_EQ(paid.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(paid.message(), HasSubstr("owes nothing"));

  absl::StatusOr<v1::Promise> p =
      make(PromiseReq({"rcv_a"}, 100'000, kToday + 3), {a});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->account_id(), "acc_1");
  EXPECT_EQ(p->state(), v1::PROMISE_STATE_PENDING);
  EXPECT_EQ(p->recorded_by(), "finance");
  EXPECT_EQ(Civ(p->made_date()), kToday);
}

TEST(PromiseRulesTest, ABrokenPromiseIsEscalatedAndAnEarlyPaymentKeepsIt) {
  v1::Promise p;
  p.set_id("prm_1");
  p.set_account_id("acc_1");
  p.add_receivable_ids("rcv_a");
  *p.mutable_amount() = Eur(50'000);
  *p.mutable_made_date() = ToProto(kToday);
  *p.mutable_promised_date() = ToProto(kToday + 4);  // Friday
  const v1::Receivable a = Rcv("rcv_a", 100'000, kIssue, kIssue + 30);
  JudgedPromise j = JudgeDuePromise(p, {a}, kToday + 5, CreditOptions());
  EXPECT_EQ(j.promise.state(), v1::PROMISE_STATE_BROKEN);
  EXPECT_EQ(Civ(j.promise.judged_date()), kToday + 5);
  ASSERT_TRUE(j.escalation.has_value());
  EXPECT_EQ(j.escalation->kind(), v1::COLLECTION_TASK_KIND_ESCALATION);
  EXPECT_EQ(Civ(j.escalation->due_date()), kToday + 7);  // next Monday
  EXPECT_EQ(j.escalation->text(),
            "Broken promise to pay 500.00 EUR by 2026-12-04: call at once and "
            "escalate");

  j = JudgeDuePromise(p, {PaidOn(a, kToday + 1)}, kToday + 5, CreditOptions());
  EXPECT_EQ(j.promise.state(), v1::PROMISE_STATE_KEPT);
  EXPECT_EQ(j.promise.paid().units_minor(), 100'000);
  EXPECT_FALSE(j.escalation.has_value());
}

TEST(ContactRulesTest, AFollowUpPerExcuseAndQualityIssuesDispute) {
  v1::RecordCollectionContactRequest req;
  EXPECT_THAT(ValidateContact(req).status().message(),
              HasSubstr("account_id: required; excuse_code: required"));
  req.set_account_id("acc_1");
  req.set_excuse_code(v1::EXCUSE_CODE_ALREADY_PAID);
  req.add_receivable_ids("rcv_a");
  EXPECT_THAT(ValidateContact(req).status().message(),
              HasSubstr("receivable_ids: only for QUALITY_ISSUE"));
  req.set_excuse_code(v1::EXCUSE_CODE_QUALITY_ISSUE);
  req.set_notes("scratched");
  const ExcuseRule* rule = ValidateContact(req).value();

  const std::vector<v1::Receivable> rs = {
      Rcv("rcv_a", 100, kIssue, kIssue + 30),
      Rcv("rcv_b", 200, kIssue, kIssue + 30),
      PaidOn(Rcv("rcv_c", 300, kIssue, kIssue + 30), kIssue)};
  absl::StatusOr<RecordedContact> c =
      RecordContactOn(req, *rule, rs, kToday, "finance", "col_1", Noon(kToday),
                      CreditOptions());
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->disputed.size(), 1u);
  EXPECT_EQ(c->disputed[0].dispute_reason(), "quality issue: scratched");
  EXPECT_THAT(c->contact.disputed_receivable_ids(), ElementsAre("rcv_a"));
  EXPECT_EQ(Civ(c->follow_up.due_date()), kToday + 3);  // 3 business days
  EXPECT_EQ(c->follow_up.contact_record_id(), "col_1");

  req.clear_receivable_ids();  // none named: every open one
  c = RecordContactOn(req, *rule, rs, kToday, "finance", "col_2", Noon(kToday),
                      CreditOptions());
  ASSERT_TRUE(c.ok());
  EXPECT_THAT(c->contact.disputed_receivable_ids(),
              ElementsAre("rcv_a", "rcv_b"));
  req.add_receivable_ids("rcv_c");
  EXPECT_THAT(RecordContactOn(req, *rule, rs, kToday, "finance", "col_3",
                              Noon(kToday), CreditOptions())
                  .status()
                  .message(),
              HasSubstr("not open: it cannot be disputed"));
}

}  // namespace
}  // namespace salesops::credit
