#include "services/credit/collections.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "common/money/money.h"
#include "common/time/fiscal_calendar.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/credit/receivables.h"

namespace salesops::credit {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::string kEur = "EUR";

// 2026-01-01 is a Thursday.
const absl::CivilDay kThu(2026, 1, 1);
const absl::CivilDay kFri = kThu + 1;
const absl::CivilDay kSat = kThu + 2;
const absl::CivilDay kSun = kThu + 3;
const absl::CivilDay kMon = kThu + 4;
const absl::CivilDay kTue = kThu + 5;

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

// ---- business days ----

TEST(BusinessDaysTest, WeekdaysAreBusinessDays) {
  EXPECT_EQ(absl::GetWeekday(kThu), absl::Weekday::thursday);
  EXPECT_TRUE(IsBusinessDay(kThu));
  EXPECT_TRUE(IsBusinessDay(kFri));
  EXPECT_FALSE(IsBusinessDay(kSat));
  EXPECT_FALSE(IsBusinessDay(kSun));
  EXPECT_TRUE(IsBusinessDay(kMon));
}

TEST(BusinessDaysTest, NextBusinessDay) {
  EXPECT_EQ(NextBusinessDay(kFri), kMon);
  EXPECT_EQ(NextBusinessDay(kSat), kMon);
  EXPECT_EQ(NextBusinessDay(kSun), kMon);
  EXPECT_EQ(NextBusinessDay(kMon), kTue);
  EXPECT_EQ(NextBusinessDay(kThu), kFri);
}

TEST(BusinessDaysTest, AddBusinessDays) {
  EXPECT_EQ(AddBusinessDays(kThu, 2), kMon);
  EXPECT_EQ(AddBusinessDays(kThu, 1), NextBusinessDay(kThu));
  EXPECT_EQ(AddBusinessDays(kThu, 0), kThu);
  EXPECT_EQ(AddBusinessDays(kSat, -3), kSat);
  EXPECT_EQ(AddBusinessDays(kMon, 5), kMon + 7);
  EXPECT_EQ(AddBusinessDays(kSat, 5), kFri + 7);
  EXPECT_EQ(AddBusinessDays(kSat, 6), kMon + 7);
  EXPECT_EQ(AddBusinessDays(kFri, 10), kFri + 14);
}

TEST(BusinessDaysTest, AddBusinessDaysMatchesRepeatedNext) {
  // The week-skipping shortcut agrees with stepping one day at a time.
  for (int start = 0; start < 7; ++start) {
    absl::CivilDay stepped = kThu + start;
    for (int n = 1; n <= 23; ++n) {
      stepped = NextBusinessDay(stepped);
      EXPECT_EQ(AddBusinessDays(kThu + start, n), stepped)
          << "start " << kThu + start << " n " << n;
    }
  }
}

// ---- promises ----

v1::Promise MakePromise(std::vector<std::string> ids, int64_t amount,
                        absl::CivilDay made, absl::CivilDay promised,
                        int tolerance) {
  v1::Promise p;
  for (const std::string& id : ids) p.add_receivable_ids(id);
  *p.mutable_amount() = money::Make(amount, kEur);
  *p.mutable_made_date() = ToProto(made);
  *p.mutable_promised_date() = ToProto(promised);
  p.set_tolerance_days(tolerance);
  return p;
}

TEST(PromiseTest, JudgedTheDayAfterPromisedDatePlusTolerance) {
  EXPECT_EQ(JudgeDay(MakePromise({"rcv_1"}, 100, kThu, kMon, 0)), kTue);
  EXPECT_EQ(JudgeDay(MakePromise({"rcv_1"}, 100, kThu, kMon, 3)), kMon + 4);
}

TEST(PromiseTest, OnlyPaymentsInTheWindowCount) {
  const absl::CivilDay made = kThu;
  const absl::CivilDay promised = kThu + 10;
  std::vector<v1::Receivable> rs = {Rcv("rcv_1", 10000, kThu - 40, kThu - 10)};
  ASSERT_TRUE(ApplyPayment(&rs[0], "pay_0", 1000, made - 1, kEur).ok());
  ASSERT_TRUE(ApplyPayment(&rs[0], "pay_1", 200, made, kEur).ok());
  ASSERT_TRUE(ApplyPayment(&rs[0], "pay_2", 300, promised + 2, kEur).ok());
  ASSERT_TRUE(ApplyPayment(&rs[0], "pay_3", 4000, promised + 3, kEur).ok());
  const v1::Promise p = MakePromise({"rcv_1"}, 500, made, promised, 2);
  // pay_0 is before the promise, pay_3 after promised + tolerance.
  EXPECT_EQ(PaidTowardPromise(p, rs), 500);
  EXPECT_EQ(JudgePromise(500, PaidTowardPromise(p, rs)),
            v1::PROMISE_STATE_KEPT);
  // Without the tolerance, pay_2 is late.
  const v1::Promise strict = MakePromise({"rcv_1"}, 500, made, promised, 0);
  EXPECT_EQ(PaidTowardPromise(strict, rs), 200);
}

TEST(PromiseTest, OtherReceivablesIgnored) {
  std::vector<v1::Receivable> rs = {Rcv("rcv_1", 1000, kThu - 40, kThu),
                                    Rcv("rcv_2", 1000, kThu - 40, kThu),
                                    Rcv("rcv_3", 1000, kThu - 40, kThu)};
  ASSERT_TRUE(ApplyPayment(&rs[0], "pay_1", 100, kThu + 1, kEur).ok());
  ASSERT_TRUE(ApplyPayment(&rs[1], "pay_2", 900, kThu + 1, kEur).ok());
  ASSERT_TRUE(ApplyPayment(&rs[2], "pay_3", 50, kThu + 1, kEur).ok());
  const v1::Promise p = MakePromise({"rcv_1", "rcv_3"}, 500, kThu, kThu + 5, 0);
  EXPECT_EQ(PaidTowardPromise(p, rs), 150);
}

TEST(PromiseTest, KeptPartiallyKeptBroken) {
  EXPECT_EQ(JudgePromise(500, 500), v1::PROMISE_STATE_KEPT);
  EXPECT_EQ(JudgePromise(500, 800), v1::PROMISE_STATE_KEPT);
  EXPECT_EQ(JudgePromise(500, 499), v1::PROMISE_STATE_PARTIALLY_KEPT);
  EXPECT_EQ(JudgePromise(500, 1), v1::PROMISE_STATE_PARTIALLY_KEPT);
  EXPECT_EQ(JudgePromise(500, 0), v1::PROMISE_STATE_BROKEN);
}

// ---- excuse codes ----

TEST(ExcuseRuleTest, EveryCodeHasARule) {
  for (int i = 1; i <= 14; ++i) {
    ASSERT_TRUE(v1::ExcuseCode_IsValid(i));
    const auto code = static_cast<v1::ExcuseCode>(i);
    const ExcuseRule* rule = RuleFor(code);
    ASSERT_NE(rule, nullptr) << i;
    EXPECT_EQ("EXCUSE_CODE_" + std::string(rule->name),
              v1::ExcuseCode_Name(code));
    EXPECT_FALSE(rule->recommended_response.empty()) << rule->name;
    EXPECT_FALSE(rule->follow_up.empty()) << rule->name;
    EXPECT_GE(rule->follow_up_business_days, 1) << rule->name;
    EXPECT_EQ(rule->opens_dispute, code == v1::EXCUSE_CODE_QUALITY_ISSUE)
        << rule->name;
  }
  // The table stops at the last code of the proto.
  EXPECT_FALSE(v1::ExcuseCode_IsValid(15));
}

TEST(ExcuseRuleTest, AlreadyPaidVerifiesWithinTwoBusinessDays) {
  const ExcuseRule* rule = RuleFor(v1::EXCUSE_CODE_ALREADY_PAID);
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->follow_up_business_days, 2);
  for (const char* word : {"remittance date", "bank", "amount", "account"}) {
    EXPECT_THAT(std::string(rule->recommended_response), HasSubstr(word));
  }
}

TEST(ExcuseRuleTest, ExtensionClaimedVerifiedWithManagerNextBusinessDay) {
  const ExcuseRule* rule = RuleFor(v1::EXCUSE_CODE_EXTENSION_CLAIMED);
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->follow_up_business_days, 1);
  EXPECT_THAT(std::string(rule->follow_up), HasSubstr("manager"));
}

TEST(ExcuseRuleTest, QualityIssueOpensADispute) {
  const ExcuseRule* rule = RuleFor(v1::EXCUSE_CODE_QUALITY_ISSUE);
  ASSERT_NE(rule, nullptr);
  EXPECT_TRUE(rule->opens_dispute);
  EXPECT_EQ(rule->follow_up_business_days, 3);
}

TEST(ExcuseRuleTest, UnspecifiedAndUnknownHaveNone) {
  EXPECT_EQ(RuleFor(v1::EXCUSE_CODE_UNSPECIFIED), nullptr);
  EXPECT_EQ(RuleFor(static_cast<v1::ExcuseCode>(15)), nullptr);
  EXPECT_EQ(RuleFor(static_cast<v1::ExcuseCode>(-1)), nullptr);
}

// ---- dunning ----

TEST(DunningTest, DefaultStrategyIsValid) {
  const v1::DunningStrategy s = DefaultDunningStrategy();
  EXPECT_EQ(s.courtesy_reminder_days(), -3);
  EXPECT_EQ(s.first_reminder_days(), 1);
  EXPECT_EQ(s.second_reminder_days(), 15);
  EXPECT_EQ(s.final_notice_days(), 30);
  EXPECT_EQ(s.credit_hold_days(), 60);
  EXPECT_TRUE(ValidateDunningStrategy(s).ok());
  EXPECT_EQ(OffsetOf(s, v1::DUNNING_STEP_FINAL_NOTICE), 30);
  EXPECT_EQ(OffsetOf(s, v1::DUNNING_STEP_UNSPECIFIED), 0);
}

TEST(DunningTest, ValidateRejectsNonIncreasingOffsets) {
  v1::DunningStrategy s = DefaultDunningStrategy();
  s.set_first_reminder_days(-5);
  absl::Status st = ValidateDunningStrategy(s);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "first_reminder_days: must be after courtesy_reminder_days (-3), "
            "got -5");

  s = DefaultDunningStrategy();
  s.set_final_notice_days(15);  // equal is not strictly after
  EXPECT_THAT(ValidateDunningStrategy(s).message(),
              HasSubstr("final_notice_days: must be after "
                        "second_reminder_days (15), got 15"));
}

TEST(DunningTest, ValidateRejectsOutOfRangeOffsets) {
  v1::DunningStrategy s = DefaultDunningStrategy();
  s.set_courtesy_reminder_days(-366);
  EXPECT_THAT(
      ValidateDunningStrategy(s).message(),
      HasSubstr("courtesy_reminder_days: must be -365..3650, got -366"));
  s = DefaultDunningStrategy();
  s.set_credit_hold_days(3651);
  EXPECT_EQ(ValidateDunningStrategy(s).code(),
            absl::StatusCode::kInvalidArgument);
  s.set_credit_hold_days(3650);
  EXPECT_TRUE(ValidateDunningStrategy(s).ok());
}

std::vector<v1::DunningStep> Steps(const std::vector<DueStep>& due) {
  std::vector<v1::DunningStep> out;
  for (const DueStep& d : due) out.push_back(d.step);
  return out;
}

TEST(DunningTest, DefaultStepsFallOnTheirDays) {
  const absl::CivilDay due(2026, 3, 2);
  const v1::Receivable r = Rcv("rcv_1", 1000, due - 30, due);
  const v1::DunningStrategy s = DefaultDunningStrategy();
  using ::testing::ElementsAre;
  EXPECT_THAT(DueSteps(r, s, due - 4), IsEmpty());
  EXPECT_THAT(Steps(DueSteps(r, s, due - 3)),
              ElementsAre(v1::DUNNING_STEP_COURTESY_REMINDER));
  EXPECT_THAT(Steps(DueSteps(r, s, due)),
              ElementsAre(v1::DUNNING_STEP_COURTESY_REMINDER));
  EXPECT_THAT(Steps(DueSteps(r, s, due + 1)),
              ElementsAre(v1::DUNNING_STEP_COURTESY_REMINDER,
                          v1::DUNNING_STEP_FIRST_REMINDER));
  EXPECT_EQ(DueSteps(r, s, due + 14).size(), 2u);
  EXPECT_EQ(DueSteps(r, s, due + 15).size(), 3u);
  EXPECT_EQ(DueSteps(r, s, due + 29).size(), 3u);
  EXPECT_EQ(DueSteps(r, s, due + 30).size(), 4u);
  EXPECT_EQ(DueSteps(r, s, due + 59).size(), 4u);
  const std::vector<DueStep> all = DueSteps(r, s, due + 60);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0].day, due - 3);
  EXPECT_EQ(all[1].day, due + 1);
  EXPECT_EQ(all[2].day, due + 15);
  EXPECT_EQ(all[3].day, due + 30);
  EXPECT_EQ(all[4].step, v1::DUNNING_STEP_CREDIT_HOLD);
  EXPECT_EQ(all[4].day, due + 60);
}

TEST(DunningTest, SkipsStepsAlreadyIssued) {
  const absl::CivilDay due(2026, 3, 2);
  v1::Receivable r = Rcv("rcv_1", 1000, due - 30, due);
  r.set_dunning_step(v1::DUNNING_STEP_FIRST_REMINDER);
  const v1::DunningStrategy s = DefaultDunningStrategy();
  EXPECT_THAT(DueSteps(r, s, due + 14), IsEmpty());
  std::vector<DueStep> steps = DueSteps(r, s, due + 30);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].step, v1::DUNNING_STEP_SECOND_REMINDER);
  EXPECT_EQ(steps[1].step, v1::DUNNING_STEP_FINAL_NOTICE);

  std::optional<DueStep> next = NextStep(r, s);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->step, v1::DUNNING_STEP_SECOND_REMINDER);
  EXPECT_EQ(next->day, due + 15);

  r.set_dunning_step(v1::DUNNING_STEP_CREDIT_HOLD);
  EXPECT_THAT(DueSteps(r, s, due + 1000), IsEmpty());
  EXPECT_FALSE(NextStep(r, s).has_value());
}

TEST(DunningTest, PartiallyPaidIsStillDunned) {
  const absl::CivilDay due(2026, 3, 2);
  v1::Receivable r = Rcv("rcv_1", 1000, due - 30, due);
  ASSERT_TRUE(ApplyPayment(&r, "pay_1", 400, due, kEur).ok());
  ASSERT_EQ(r.state(), v1::RECEIVABLE_STATE_PARTIALLY_PAID);
  EXPECT_EQ(DueSteps(r, DefaultDunningStrategy(), due + 1).size(), 2u);
  EXPECT_TRUE(NextStep(r, DefaultDunningStrategy()).has_value());
}

TEST(DunningTest, NoStepsForPaidDisputedOrWrittenOff) {
  const absl::CivilDay due(2026, 3, 2);
  const v1::DunningStrategy s = DefaultDunningStrategy();

  v1::Receivable paid = Rcv("rcv_1", 1000, due - 30, due);
  ASSERT_TRUE(ApplyPayment(&paid, "pay_1", 1000, due + 40, kEur).ok());
  v1::Receivable disputed = Rcv("rcv_2", 1000, due - 30, due);
  disputed.set_dispute_reason("quality");
  Settle(&disputed, kEur);
  v1::Receivable written_off = Rcv("rcv_3", 1000, due - 30, due);
  written_off.mutable_written_off()->set_units_minor(1000);
  Settle(&written_off, kEur);

  for (const v1::Receivable& r : {paid, disputed, written_off}) {
    EXPECT_THAT(DueSteps(r, s, due + 100), IsEmpty()) << r.id();
    EXPECT_FALSE(NextStep(r, s).has_value()) << r.id();
  }
}

TEST(DunningTest, CustomStrategy) {
  v1::DunningStrategy s;
  s.set_courtesy_reminder_days(-7);
  s.set_first_reminder_days(0);
  s.set_second_reminder_days(10);
  s.set_final_notice_days(20);
  s.set_credit_hold_days(45);
  ASSERT_TRUE(ValidateDunningStrategy(s).ok());
  const absl::CivilDay due(2026, 3, 2);
  const v1::Receivable r = Rcv("rcv_1", 1000, due - 30, due);
  EXPECT_THAT(DueSteps(r, s, due - 8), IsEmpty());
  EXPECT_EQ(DueSteps(r, s, due - 7).size(), 1u);
  EXPECT_EQ(DueSteps(r, s, due).size(), 2u);  // first reminder on the due date
  EXPECT_EQ(DueSteps(r, s, due + 44).size(), 4u);
  const std::vector<DueStep> all = DueSteps(r, s, due + 45);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[4].day, due + 45);
  EXPECT_EQ(NextStep(r, s)->day, due - 7);
}

// ---- worklist ----

TEST(WorklistTest, RiskWeight) {
  EXPECT_EQ(RiskWeight(v1::RISK_CLASS_LOW), 1);
  EXPECT_EQ(RiskWeight(v1::RISK_CLASS_MEDIUM), 2);
  EXPECT_EQ(RiskWeight(v1::RISK_CLASS_HIGH), 3);
  EXPECT_EQ(RiskWeight(v1::RISK_CLASS_VERY_HIGH), 4);
  EXPECT_EQ(RiskWeight(v1::RISK_CLASS_UNSPECIFIED), 2);  // no profile
}

TEST(WorklistTest, PriorityIsAmountTimesDaysTimesRisk) {
  EXPECT_EQ(WorklistPriority(1000, 10, v1::RISK_CLASS_HIGH), 30'000);
  EXPECT_EQ(WorklistPriority(1000, 10, v1::RISK_CLASS_UNSPECIFIED), 20'000);
  EXPECT_EQ(WorklistPriority(1000, 0, v1::RISK_CLASS_HIGH), 0);
  EXPECT_EQ(WorklistPriority(1000, -5, v1::RISK_CLASS_HIGH), 0);
  EXPECT_EQ(WorklistPriority(0, 10, v1::RISK_CLASS_HIGH), 0);
}

TEST(WorklistTest, PrioritySaturates) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(WorklistPriority(kMax, 1, v1::RISK_CLASS_LOW), kMax);
  EXPECT_EQ(WorklistPriority(kMax, 1, v1::RISK_CLASS_VERY_HIGH), kMax);
  EXPECT_EQ(WorklistPriority(kMax / 2, 3, v1::RISK_CLASS_LOW), kMax);
  EXPECT_EQ(WorklistPriority(kMax / 4, 1, v1::RISK_CLASS_VERY_HIGH),
            kMax / 4 * 4);
}

// ---- debtor classes ----

class DebtorClassTest : public ::testing::Test {
 protected:
  const absl::CivilDay as_of_{2026, 6, 30};
  const absl::CivilDay due_ = as_of_ - 100;
  const v1::DunningStrategy s_ = DefaultDunningStrategy();

  // A receivable due on `due` paid in full on `paid`.
  v1::Receivable PaidOn(const std::string& id, absl::CivilDay due,
                        absl::CivilDay paid) {
    v1::Receivable r = Rcv(id, 1000, due - 30, due);
    EXPECT_TRUE(ApplyPayment(&r, "pay_" + id, 1000, paid, kEur).ok());
    return r;
  }
};

TEST_F(DebtorClassTest, NoHistory) {
  DebtorClassResult c = ClassifyDebtor({}, s_, as_of_);
  EXPECT_EQ(c.debtor_class, v1::DEBTOR_CLASS_NO_HISTORY);
  EXPECT_FALSE(c.reason.empty());
  // Open but not yet due: no behaviour to judge.
  c = ClassifyDebtor({Rcv("rcv_1", 1000, as_of_ - 10, as_of_)}, s_, as_of_);
  EXPECT_EQ(c.debtor_class, v1::DEBTOR_CLASS_NO_HISTORY);
}

TEST_F(DebtorClassTest, PaysOnTime) {
  DebtorClassResult c =
      ClassifyDebtor({PaidOn("rcv_1", due_, due_)}, s_, as_of_);
  EXPECT_EQ(c.debtor_class, v1::DEBTOR_CLASS_PAYS_ON_TIME);
  EXPECT_THAT(c.reason, HasSubstr("rcv_1"));
  // Early, and one day late (before the first reminder day) too.
  EXPECT_EQ(ClassifyDebtor({PaidOn("rcv_1", due_, due_ - 10)}, s_, as_of_)
                .debtor_class,
            v1::DEBTOR_CLASS_PAYS_ON_TIME);
  v1::DunningStrategy later = s_;
  later.set_first_reminder_days(5);
  EXPECT_EQ(ClassifyDebtor({PaidOn("rcv_1", due_, due_ + 4)}, later, as_of_)
                .debtor_class,
            v1::DEBTOR_CLASS_PAYS_ON_TIME);
}

TEST_F(DebtorClassTest, PaysWhenReminded) {
  DebtorClassResult c =
      ClassifyDebtor({PaidOn("rcv_1", due_, due_ + 5)}, s_, as_of_);
  EXPECT_EQ(c.debtor_class, v1::DEBTOR_CLASS_PAYS_WHEN_REMINDED);
  EXPECT_THAT(c.reason, HasSubstr("first reminder"));
  // On the first reminder day itself, and the day before the final notice.
  EXPECT_EQ(ClassifyDebtor({PaidOn("rcv_1", due_, due_ + 1)}, s_, as_of_)
                .debtor_class,
            v1::DEBTOR_CLASS_PAYS_WHEN_REMINDED);
  EXPECT_EQ(ClassifyDebtor({PaidOn("rcv_1", due_, due_ + 29)}, s_, as_of_)
                .debtor_class,
            v1::DEBTOR_CLASS_PAYS_WHEN_REMINDED);
}

TEST_F(DebtorClassTest, PaysWhenPressed) {
  for (int late : {30, 45}) {
    DebtorClassResult c =
        ClassifyDebtor({PaidOn("rcv_1", due_, due_ + late)}, s_, as_of_);
    EXPECT_EQ(c.debtor_class, v1::DEBTOR_CLASS_PAYS_WHEN_PRESSED) << late;
    EXPECT_THAT(c.reason, HasSubstr("final notice")) << late;
  }
}

TEST_F(DebtorClassTest, StillOpenPastDueCountsAsNotYetPaid) {
  // Open 40 days past due at as_of: at least pressed.
  EXPECT_EQ(
      ClassifyDebtor({Rcv("rcv_1", 1000, as_of_ - 70, as_of_ - 40)}, s_, as_of_)
          .debtor_class,
      v1::DEBTOR_CLASS_PAYS_WHEN_PRESSED);
  EXPECT_EQ(
      ClassifyDebtor({Rcv("rcv_1", 1000, as_of_ - 70, as_of_ - 5)}, s_, as_of_)
          .debtor_class,
      v1::DEBTOR_CLASS_PAYS_WHEN_REMINDED);
  // A disputed receivable is not held against the customer.
  v1::Receivable disputed = Rcv("rcv_2", 1000, as_of_ - 70, as_of_ - 40);
  disputed.set_dispute_reason("quality");
  Settle(&disputed, kEur);
  EXPECT_EQ(ClassifyDebtor({disputed}, s_, as_of_).debtor_class,
            v1::DEBTOR_CLASS_NO_HISTORY);
}

TEST_F(DebtorClassTest, NonPayerWrittenOffInWindow) {
  v1::Receivable r = Rcv("rcv_9", 1000, as_of_ - 200, as_of_ - 170);
  r.mutable_written_off()->set_units_minor(1000);
  *r.mutable_written_off_date() = ToProto(as_of_ - 10);
  Settle(&r, kEur);
  DebtorClassResult c =
      ClassifyDebtor({PaidOn("rcv_1", due_, due_), r}, s_, as_of_);
  EXPECT_EQ(c.debtor_class, v1::DEBTOR_CLASS_NON_PAYER);
  EXPECT_THAT(c.reason, HasSubstr("rcv_9"));
  EXPECT_THAT(c.reason, HasSubstr("written off"));
  // Written off more than 12 months ago: no longer held against them.
  *r.mutable_written_off_date() = ToProto(as_of_ - 365);
  EXPECT_EQ(ClassifyDebtor({r}, s_, as_of_).debtor_class,
            v1::DEBTOR_CLASS_NO_HISTORY);
}

TEST_F(DebtorClassTest, NonPayerOpenMoreThan180DaysPastDue) {
  const v1::Receivable r = Rcv("rcv_7", 1000, as_of_ - 211, as_of_ - 181);
  DebtorClassResult c = ClassifyDebtor({r}, s_, as_of_);
  EXPECT_EQ(c.debtor_class, v1::DEBTOR_CLASS_NON_PAYER);
  EXPECT_THAT(c.reason, HasSubstr("rcv_7"));
  EXPECT_THAT(c.reason, HasSubstr("181 days past due"));
  // Exactly 180 days is not yet a non-payer.
  EXPECT_EQ(ClassifyDebtor({Rcv("rcv_7", 1000, as_of_ - 210, as_of_ - 180)}, s_,
                           as_of_)
                .debtor_class,
            v1::DEBTOR_CLASS_PAYS_WHEN_PRESSED);
}

TEST_F(DebtorClassTest, PaidMoreThanTwelveMonthsAgoIgnored) {
  const absl::CivilDay old_due = as_of_ - 400;
  EXPECT_EQ(ClassifyDebtor({PaidOn("rcv_1", old_due, as_of_ - 365)}, s_, as_of_)
                .debtor_class,
            v1::DEBTOR_CLASS_NO_HISTORY);
  // One day later it is inside the window (and was paid very late).
  EXPECT_EQ(ClassifyDebtor({PaidOn("rcv_1", old_due, as_of_ - 364)}, s_, as_of_)
                .debtor_class,
            v1::DEBTOR_CLASS_PAYS_WHEN_PRESSED);
}

TEST_F(DebtorClassTest, PaidAfterAsOfIsJudgedAsOpenAtAsOf) {
  // Paid 50 days late, but as of 10 days past due it was still open.
  const v1::Receivable r = PaidOn("rcv_1", as_of_ - 10, as_of_ + 40);
  EXPECT_EQ(ClassifyDebtor({r}, s_, as_of_).debtor_class,
            v1::DEBTOR_CLASS_PAYS_WHEN_REMINDED);
}

TEST_F(DebtorClassTest, WorstWins) {
  DebtorClassResult c = ClassifyDebtor(
      {PaidOn("rcv_1", due_, due_), PaidOn("rcv_2", due_, due_ + 31),
       PaidOn("rcv_3", due_, due_ + 5)},
      s_, as_of_);
  EXPECT_EQ(c.debtor_class, v1::DEBTOR_CLASS_PAYS_WHEN_PRESSED);
  EXPECT_THAT(c.reason, HasSubstr("rcv_2"));
  c = ClassifyDebtor(
      {PaidOn("rcv_1", due_, due_), PaidOn("rcv_3", due_, due_ + 5)}, s_,
      as_of_);
  EXPECT_EQ(c.debtor_class, v1::DEBTOR_CLASS_PAYS_WHEN_REMINDED);
  EXPECT_THAT(c.reason, HasSubstr("rcv_3"));
}

}  // namespace
}  // namespace salesops::credit
