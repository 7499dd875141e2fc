#include "services/credit/receivables.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "common/money/money.h"
#include "common/time/fiscal_calendar.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace salesops::credit {
namespace {

using ::testing::HasSubstr;

const std::string kEur = "EUR";

v1::Receivable Rcv(const std::string& id, int64_t amount, absl::CivilDay issue,
                   absl::CivilDay due) {
  v1::Receivable r;
  r.set_id(id);
  r.set_account_id("acc_1");
  *r.mutable_amount() = money::Make(amount, kEur);
  *r.mutable_issue_date() = ToProto(issue);
  *r.mutable_due_date() = ToProto(due);
  Settle(&r, kEur);
  return r;
}

v1::Allocation Alloc(const std::string& id, int64_t amount) {
  v1::Allocation a;
  a.set_receivable_id(id);
  *a.mutable_amount() = money::Make(amount, kEur);
  return a;
}

// ---- Settle and ApplyPayment ----

TEST(SettleTest, StateFollowsAmounts) {
  const absl::CivilDay d(2026, 1, 1);
  v1::Receivable r = Rcv("rcv_1", 1000, d, d + 30);
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_OPEN);
  EXPECT_EQ(r.open().units_minor(), 1000);
  EXPECT_EQ(r.open().currency(), "EUR");
  EXPECT_EQ(r.paid().currency(), "EUR");

  r.set_dispute_reason("broken on arrival");
  Settle(&r, kEur);
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_DISPUTED);

  r.clear_dispute_reason();
  r.mutable_paid()->set_units_minor(400);
  Settle(&r, kEur);
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_PARTIALLY_PAID);
  EXPECT_EQ(r.open().units_minor(), 600);

  r.mutable_written_off()->set_units_minor(600);
  Settle(&r, kEur);
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_WRITTEN_OFF);
  EXPECT_EQ(r.open().units_minor(), 0);
}

TEST(ApplyPaymentTest, PartialThenFullSetsPaidAndPaidDate) {
  const absl::CivilDay d(2026, 1, 1);
  v1::Receivable r = Rcv("rcv_1", 1000, d, d + 30);
  ASSERT_TRUE(ApplyPayment(&r, "pay_1", 400, d + 10, kEur).ok());
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_PARTIALLY_PAID);
  EXPECT_EQ(r.paid().units_minor(), 400);
  EXPECT_EQ(r.open().units_minor(), 600);
  EXPECT_FALSE(r.has_paid_date());
  ASSERT_EQ(r.payments_size(), 1);
  EXPECT_EQ(r.payments(0).payment_id(), "pay_1");
  EXPECT_EQ(r.payments(0).amount().units_minor(), 400);

  ASSERT_TRUE(ApplyPayment(&r, "pay_2", 600, d + 20, kEur).ok());
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_PAID);
  EXPECT_EQ(r.open().units_minor(), 0);
  EXPECT_EQ(*FromProto(r.paid_date(), "paid_date"), d + 20);
  EXPECT_EQ(r.payments_size(), 2);
}

TEST(ApplyPaymentTest, PayingADisputedReceivableInFullSettlesIt) {
  const absl::CivilDay d(2026, 1, 1);
  v1::Receivable r = Rcv("rcv_1", 1000, d, d + 30);
  r.set_dispute_reason("quality");
  Settle(&r, kEur);
  ASSERT_TRUE(ApplyPayment(&r, "pay_1", 1000, d + 5, kEur).ok());
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_PAID);
}

TEST(ApplyPaymentTest, OverPaymentIsFailedPrecondition) {
  const absl::CivilDay d(2026, 1, 1);
  v1::Receivable r = Rcv("rcv_1", 10000, d, d + 30);
  absl::Status s = ApplyPayment(&r, "pay_1", 12000, d, kEur);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "allocations: 120.00 exceeds the 100.00 still owed on rcv_1");
  EXPECT_EQ(r.payments_size(), 0);  // untouched

  ASSERT_TRUE(ApplyPayment(&r, "pay_2", 10000, d, kEur).ok());
  s = ApplyPayment(&r, "pay_3", 1, d, kEur);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("already paid"));

  EXPECT_EQ(ApplyPayment(&r, "pay_4", 0, d, kEur).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ApplyPaymentTest, WrittenOffTakesNoPayment) {
  const absl::CivilDay d(2026, 1, 1);
  v1::Receivable r = Rcv("rcv_1", 1000, d, d + 30);
  r.mutable_written_off()->set_units_minor(500);  // partial write-off
  Settle(&r, kEur);
  absl::Status s = ApplyPayment(&r, "pay_1", 100, d, kEur);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("written off"));
}

// ---- Allocate ----

class AllocateTest : public ::testing::Test {
 protected:
  const absl::CivilDay d_{2026, 1, 1};
  // Given out of order: the oldest due date is rcv_c, then rcv_a, then rcv_b.
  std::vector<v1::Receivable> rs_ = {
      Rcv("rcv_a", 3000, d_, d_ + 20),
      Rcv("rcv_b", 5000, d_, d_ + 40),
      Rcv("rcv_c", 2000, d_, d_ + 10),
  };
};

TEST_F(AllocateTest, OldestDueFirstPartialLast) {
  absl::StatusOr<std::vector<v1::Allocation>> a = Allocate(rs_, 6000, {}, kEur);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), 3u);
  EXPECT_EQ((*a)[0].receivable_id(), "rcv_c");
  EXPECT_EQ((*a)[0].amount().units_minor(), 2000);
  EXPECT_EQ((*a)[1].receivable_id(), "rcv_a");
  EXPECT_EQ((*a)[1].amount().units_minor(), 3000);
  EXPECT_EQ((*a)[2].receivable_id(), "rcv_b");
  EXPECT_EQ((*a)[2].amount().units_minor(), 1000);  // partial
  EXPECT_EQ((*a)[2].amount().currency(), "EUR");
}

TEST_F(AllocateTest, StopsWhenAmountIsUsed) {
  absl::StatusOr<std::vector<v1::Allocation>> a = Allocate(rs_, 1500, {}, kEur);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].receivable_id(), "rcv_c");
  EXPECT_EQ((*a)[0].amount().units_minor(), 1500);
}

TEST_F(AllocateTest, TiesBrokenByIssueDateThenId) {
  std::vector<v1::Receivable> rs = {
      Rcv("rcv_2", 100, d_ + 1, d_ + 30),
      Rcv("rcv_3", 100, d_, d_ + 30),
      Rcv("rcv_1", 100, d_ + 1, d_ + 30),
  };
  absl::StatusOr<std::vector<v1::Allocation>> a = Allocate(rs, 300, {}, kEur);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), 3u);
  EXPECT_EQ((*a)[0].receivable_id(), "rcv_3");
  EXPECT_EQ((*a)[1].receivable_id(), "rcv_1");
  EXPECT_EQ((*a)[2].receivable_id(), "rcv_2");
}

TEST_F(AllocateTest, DisputedPaidAndWrittenOffAreSkipped) {
  rs_[2].set_dispute_reason("quality");  // rcv_c, the oldest
  Settle(&rs_[2], kEur);
  ASSERT_TRUE(ApplyPayment(&rs_[0], "pay_0", 3000, d_, kEur).ok());  // rcv_a
  rs_.push_back(Rcv("rcv_d", 700, d_, d_));
  rs_.back().mutable_written_off()->set_units_minor(700);
  rs_.back().mutable_written_off_date()->CopyFrom(ToProto(d_ + 5));
  Settle(&rs_.back(), kEur);

  absl::StatusOr<std::vector<v1::Allocation>> a = Allocate(rs_, 5000, {}, kEur);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].receivable_id(), "rcv_b");
  EXPECT_EQ((*a)[0].amount().units_minor(), 5000);
}

TEST_F(AllocateTest, OverPaymentRejectedNotKept) {
  absl::StatusOr<std::vector<v1::Allocation>> a =
      Allocate(rs_, 10001, {}, kEur);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(a.status().message(),
            "amount: 100.01 exceeds the 100.00 the account owes on undisputed "
            "receivables in EUR; the excess is not kept");
  // Disputed amounts do not count as owed.
  rs_[1].set_dispute_reason("quality");
  Settle(&rs_[1], kEur);
  EXPECT_EQ(Allocate(rs_, 5001, {}, kEur).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Allocate(rs_, 5000, {}, kEur).ok());
}

TEST_F(AllocateTest, NonPositiveAmountIsInvalid) {
  EXPECT_EQ(Allocate(rs_, 0, {}, kEur).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AllocateTest, NamedAllocationsReturnedAsGiven) {
  // Named allocations may pay the newest first and may pay a disputed one.
  rs_[2].set_dispute_reason("quality");
  Settle(&rs_[2], kEur);
  const std::vector<v1::Allocation> named = {Alloc("rcv_b", 5000),
                                             Alloc("rcv_c", 500)};
  absl::StatusOr<std::vector<v1::Allocation>> a =
      Allocate(rs_, 5500, named, kEur);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].receivable_id(), "rcv_b");
  EXPECT_EQ((*a)[0].amount().units_minor(), 5000);
  EXPECT_EQ((*a)[1].receivable_id(), "rcv_c");
  EXPECT_EQ((*a)[1].amount().units_minor(), 500);
}

TEST_F(AllocateTest, NamedWrongAccount) {
  absl::Status s = Allocate(rs_, 100, {Alloc("rcv_other", 100)}, kEur).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "allocations[0].receivable_id: rcv_other is not a receivable of "
            "this account");
  s = Allocate(rs_, 100, {Alloc("", 100)}, kEur).status();
  EXPECT_EQ(s.message(), "allocations[0].receivable_id: required");
}

TEST_F(AllocateTest, NamedTwice) {
  absl::Status s =
      Allocate(rs_, 200, {Alloc("rcv_a", 100), Alloc("rcv_a", 100)}, kEur)
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(),
              HasSubstr("allocations[1].receivable_id: rcv_a is named"));
}

TEST_F(AllocateTest, NamedNonPositiveAmount) {
  absl::Status s =
      Allocate(rs_, 100, {Alloc("rcv_a", 100), Alloc("rcv_b", 0)}, kEur)
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("allocations[1].amount: must be > 0"));
}

TEST_F(AllocateTest, NamedSumMismatch) {
  absl::Status s =
      Allocate(rs_, 1000, {Alloc("rcv_a", 300), Alloc("rcv_b", 600)}, kEur)
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "allocations: they sum to 9.00, must equal amount 10.00");
}

TEST_F(AllocateTest, NamedOverOpenIsFailedPrecondition) {
  absl::Status s = Allocate(rs_, 3500, {Alloc("rcv_a", 3500)}, kEur).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "allocations[0].amount: 35.00 exceeds the 30.00 still owed on "
            "rcv_a");
  // Paid: nothing is owed any more.
  ASSERT_TRUE(ApplyPayment(&rs_[0], "pay_0", 3000, d_, kEur).ok());
  s = Allocate(rs_, 100, {Alloc("rcv_a", 100)}, kEur).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("rcv_a is already paid"));
}

// ---- OpenAsOf, aging ----

TEST(OpenAsOfTest, PaymentsBeforeAndAfterAsOf) {
  const absl::CivilDay d(2026, 1, 1);
  v1::Receivable r = Rcv("rcv_1", 1000, d, d + 30);
  ASSERT_TRUE(ApplyPayment(&r, "pay_1", 300, d + 10, kEur).ok());
  ASSERT_TRUE(ApplyPayment(&r, "pay_2", 700, d + 20, kEur).ok());
  EXPECT_EQ(OpenAsOf(r, d + 9), 1000);
  EXPECT_EQ(OpenAsOf(r, d + 10), 700);  // a payment on as_of counts
  EXPECT_EQ(OpenAsOf(r, d + 19), 700);
  EXPECT_EQ(OpenAsOf(r, d + 20), 0);
}

TEST(OpenAsOfTest, IssuedAfterAsOfIsZero) {
  const absl::CivilDay d(2026, 1, 1);
  v1::Receivable r = Rcv("rcv_1", 1000, d, d + 30);
  EXPECT_EQ(OpenAsOf(r, d - 1), 0);
  EXPECT_EQ(OpenAsOf(r, d), 1000);
}

TEST(OpenAsOfTest, WriteOffCountsFromItsDate) {
  const absl::CivilDay d(2026, 1, 1);
  v1::Receivable r = Rcv("rcv_1", 1000, d, d + 30);
  ASSERT_TRUE(ApplyPayment(&r, "pay_1", 400, d + 10, kEur).ok());
  r.mutable_written_off()->set_units_minor(600);
  *r.mutable_written_off_date() = ToProto(d + 100);
  Settle(&r, kEur);
  EXPECT_EQ(OpenAsOf(r, d + 99), 600);
  EXPECT_EQ(OpenAsOf(r, d + 100), 0);
  // Unset written_off_date means "not written off".
  r.clear_written_off_date();
  EXPECT_EQ(OpenAsOf(r, d + 200), 600);
}

TEST(AgingTest, BucketBoundaries) {
  EXPECT_EQ(BucketFor(-5), AgingBucket::kNotDue);
  EXPECT_EQ(BucketFor(0), AgingBucket::kNotDue);
  EXPECT_EQ(BucketFor(1), AgingBucket::k1To30);
  EXPECT_EQ(BucketFor(30), AgingBucket::k1To30);
  EXPECT_EQ(BucketFor(31), AgingBucket::k31To60);
  EXPECT_EQ(BucketFor(60), AgingBucket::k31To60);
  EXPECT_EQ(BucketFor(61), AgingBucket::k61To90);
  EXPECT_EQ(BucketFor(90), AgingBucket::k61To90);
  EXPECT_EQ(BucketFor(91), AgingBucket::k91To180);
  EXPECT_EQ(BucketFor(180), AgingBucket::k91To180);
  EXPECT_EQ(BucketFor(181), AgingBucket::kOver180);
}

TEST(AgingTest, DaysPastDueFromDueDate) {
  const absl::CivilDay due(2026, 3, 31);
  v1::Receivable r = Rcv("rcv_1", 1000, due - 30, due);
  EXPECT_EQ(DaysPastDue(r, due), 0);
  EXPECT_EQ(DaysPastDue(r, due + 1), 1);
  EXPECT_EQ(DaysPastDue(r, due + 31), 31);
  EXPECT_EQ(DaysPastDue(r, due - 3), -3);
}

TEST(AgingTest, AddToAgingFillsBucketAndTotal) {
  const absl::CivilDay as_of(2026, 6, 30);
  v1::AgingBuckets b;
  // Due on as_of: not due. Due 30 and 31 days ago: two buckets.
  ASSERT_TRUE(
      AddToAging(Rcv("rcv_1", 100, as_of - 30, as_of), as_of, kEur, &b).ok());
  ASSERT_TRUE(
      AddToAging(Rcv("rcv_2", 200, as_of - 60, as_of - 30), as_of, kEur, &b)
          .ok());
  ASSERT_TRUE(
      AddToAging(Rcv("rcv_3", 400, as_of - 60, as_of - 31), as_of, kEur, &b)
          .ok());
  ASSERT_TRUE(
      AddToAging(Rcv("rcv_4", 800, as_of - 300, as_of - 181), as_of, kEur, &b)
          .ok());
  // Issued after as_of: adds nothing.
  ASSERT_TRUE(
      AddToAging(Rcv("rcv_5", 1600, as_of + 1, as_of + 31), as_of, kEur, &b)
          .ok());
  EXPECT_EQ(b.not_due().units_minor(), 100);
  EXPECT_EQ(b.days_1_30().units_minor(), 200);
  EXPECT_EQ(b.days_31_60().units_minor(), 400);
  EXPECT_EQ(b.days_61_90().units_minor(), 0);
  EXPECT_EQ(b.days_91_180().units_minor(), 0);
  EXPECT_EQ(b.over_180().units_minor(), 800);
  EXPECT_EQ(b.total().units_minor(), 1500);
  EXPECT_EQ(b.days_61_90().currency(), "EUR");
  EXPECT_EQ(b.total().currency(), "EUR");
}

TEST(AgingTest, AddToAgingOverflowIsOutOfRange) {
  const absl::CivilDay as_of(2026, 6, 30);
  v1::AgingBuckets b;
  b.mutable_total()->set_units_minor(std::numeric_limits<int64_t>::max());
  absl::Status s =
      AddToAging(Rcv("rcv_1", 1, as_of - 10, as_of + 10), as_of, kEur, &b);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(b.not_due().units_minor(), 0);  // untouched
}

// ---- DSO ----

TEST(DsoTest, WorkedExample) {
  // A 90-day quarter: 900,000 invoiced, 300,000 still open at the end →
  // 300,000 / 900,000 × 90 = 30 days.
  const absl::CivilDay from(2026, 1, 1);
  const absl::CivilDay to = from + 89;
  std::vector<v1::Receivable> rs = {Rcv("rcv_1", 600'000, from + 5, from + 35),
                                    Rcv("rcv_2", 300000, from + 60, to + 5)};
  ASSERT_TRUE(ApplyPayment(&rs[0], "pay_1", 600'000, from + 30, kEur).ok());
  // Issued before the period and paid in it: no sale, nothing open at the end.
  rs.push_back(Rcv("rcv_0", 50'000, from - 40, from - 10));
  ASSERT_TRUE(ApplyPayment(&rs[2], "pay_0", 50'000, from + 3, kEur).ok());
  // Issued after the period: neither.
  rs.push_back(Rcv("rcv_3", 70000, to + 1, to + 31));

  absl::StatusOr<v1::Dso> dso = ComputeDso(rs, from, to, kEur);
  ASSERT_TRUE(dso.ok()) << dso.status();
  EXPECT_EQ(dso->receivables_at_end().units_minor(), 300'000);
  EXPECT_EQ(dso->credit_sales().units_minor(), 900'000);
  EXPECT_EQ(dso->credit_sales().currency(), "EUR");
  EXPECT_EQ(dso->days(), 90);
  EXPECT_EQ(dso->dso_milli_days(), 30'000);
}

TEST(DsoTest, RoundsHalfToEven) {
  const absl::CivilDay d(2026, 1, 1);
  // One day, 2,000 invoiced. Open 1 → 0.5 milli-days → 0; open 3 → 1.5 → 2.
  std::vector<v1::Receivable> rs = {Rcv("rcv_1", 2000, d, d + 30)};
  ASSERT_TRUE(ApplyPayment(&rs[0], "pay_1", 1999, d, kEur).ok());
  EXPECT_EQ(ComputeDso(rs, d, d, kEur)->dso_milli_days(), 0);
  rs = {Rcv("rcv_1", 2000, d, d + 30)};
  ASSERT_TRUE(ApplyPayment(&rs[0], "pay_1", 1997, d, kEur).ok());
  EXPECT_EQ(ComputeDso(rs, d, d, kEur)->dso_milli_days(), 2);
  // 1 / 3 of a day → 333.33 → 333.
  rs = {Rcv("rcv_1", 3000, d, d + 30)};
  ASSERT_TRUE(ApplyPayment(&rs[0], "pay_1", 2999, d, kEur).ok());
  EXPECT_EQ(ComputeDso(rs, d, d, kEur)->dso_milli_days(), 0);
  rs = {Rcv("rcv_1", 3, d, d + 30)};
  ASSERT_TRUE(ApplyPayment(&rs[0], "pay_1", 2, d, kEur).ok());
  EXPECT_EQ(ComputeDso(rs, d, d, kEur)->dso_milli_days(), 333);
}

TEST(DsoTest, NoCreditSalesIsZero) {
  const absl::CivilDay d(2026, 1, 1);
  // Open at the end, but issued before the period.
  std::vector<v1::Receivable> rs = {Rcv("rcv_1", 1000, d - 100, d - 70)};
  absl::StatusOr<v1::Dso> dso = ComputeDso(rs, d, d + 29, kEur);
  ASSERT_TRUE(dso.ok()) << dso.status();
  EXPECT_EQ(dso->receivables_at_end().units_minor(), 1000);
  EXPECT_EQ(dso->credit_sales().units_minor(), 0);
  EXPECT_EQ(dso->days(), 30);
  EXPECT_EQ(dso->dso_milli_days(), 0);
}

TEST(DsoTest, ToBeforeFromIsInvalid) {
  const absl::CivilDay d(2026, 1, 1);
  absl::StatusOr<v1::Dso> dso = ComputeDso({}, d, d - 1, kEur);
  EXPECT_EQ(dso.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(dso.status().message(), HasSubstr("to: must not be before from"));
  EXPECT_TRUE(ComputeDso({}, d, d, kEur).ok());  // a one-day period is fine
}

}  // namespace
}  // namespace salesops::credit
