// The payment transitions (payment_rules.h), without gRPC or a store.

#include "services/credit/payment_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/credit/rules_test_support.h"

namespace salesops::credit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace rules_test;  // NOLINT

const absl::CivilDay kToday(2026, 3, 5);

v1::RecordPaymentRequest PayReq(int64_t amount, absl::CivilDay date) {
  v1::RecordPaymentRequest req;
  req.set_account_id("acc_1");
  *req.mutable_amount() = Eur(amount);
  *req.mutable_date() = ToProto(date);
  return req;
}

TEST(PaymentRulesTest, NamesEveryInvalidField) {
  v1::RecordPaymentRequest req;
  req.add_allocations();
  req.set_external_id(std::string(129, 'x'));
  absl::Status s = ValidateRecordPayment(req, kToday, CreditOptions()).status();
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("account_id: required"));
  EXPECT_THAT(s.message(), HasSubstr("amount"));
  EXPECT_THAT(s.message(), HasSubstr("date"));
  EXPECT_THAT(s.message(), HasSubstr("allocations[0].receivable_id: required"));
  EXPECT_THAT(s.message(), HasSubstr("allocations[0].amount"));
  EXPECT_THAT(s.message(), HasSubstr("external_id: at most 128 characters"));

  EXPECT_EQ(
      ValidateRecordPayment(PayReq(100, kToday + 1), kToday, CreditOptions())
          .status()
          .message(),
      "date: must not be after today (2026-03-05)");
  EXPECT_EQ(ValidateRecordPayment(PayReq(100, kToday), kToday, CreditOptions())
                .value(),
            kToday);
}

TEST(PaymentRulesTest, AReplayMustMatchWhatWasRecorded) {
  v1::Payment known;
  known.set_id("pay_1");
  known.set_account_id("acc_1");
  *known.mutable_amount() = Eur(100);
  *known.mutable_date() = ToProto(kToday);
  v1::RecordPaymentRequest req = PayReq(100, kToday);
  req.set_external_id("BANK-7");
  EXPECT_TRUE(CheckPaymentReplay(known, req).ok());
  *req.mutable_date() = ToProto(kToday - 1);
  EXPECT_EQ(CheckPaymentReplay(known, req).message(),
            "external_id: BANK-7 was recorded as pay_1 with a different "
            "account, amount or date");
}

TEST(PaymentRulesTest, PaysOldestDueFirstAndNamesTheCollectionsToRefresh) {
  const absl::CivilDay issue(2026, 1, 10);
  std::vector<v1::Receivable> rs = {
      Rcv("rcv_late", 300, issue, issue + 40, "acc_1", "opp_2"),
      Rcv("rcv_old", 500, issue, issue + 10, "acc_1", "opp_1"),
      Rcv("rcv_other", 900, issue, issue + 60)};
  absl::StatusOr<RecordedPayment> paid =
      RecordPaymentOn(rs, PayReq(600, kToday), kToday, "finance", "pay_1",
                      Noon(kToday), CreditOptions());
  ASSERT_TRUE(paid.ok()) << paid.status();
  ASSERT_EQ(paid->changed.size(), 2u);
  EXPECT_EQ(paid->changed[0].id(), "rcv_old");
  EXPECT_EQ(paid->changed[0].state(), v1::RECEIVABLE_STATE_PAID);
  EXPECT_EQ(paid->changed[1].id(), "rcv_late");
  EXPECT_EQ(paid->changed[1].open().units_minor(), 200);
  EXPECT_THAT(paid->opportunities, ElementsAre("opp_1", "opp_2"));
  EXPECT_EQ(paid->payment.id(), "pay_1");
  EXPECT_EQ(paid->payment.recorded_by(), "finance");
  EXPECT_EQ(paid->payment.allocations_size(), 2);

  absl::Status s = RecordPaymentOn(rs, PayReq(1701, kToday), kToday, "finance",
                                   "pay_2", Noon(kToday), CreditOptions())
                       .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("exceeds the 17.00 the account owes"));
}

}  // namespace
}  // namespace salesops::credit
