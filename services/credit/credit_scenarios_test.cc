// gRPC-level tests of the credit service: the worklist, the calculators,
// write-offs and disputes, figures past int64, restarts and the scenarios
// that cross them. The fixture: credit_service_test_fixture.h.

#include "services/credit/credit_service_test_fixture.h"

namespace salesops::credit::credit_test {
namespace {

// ---------------------------------------------------------------------------
// 12. Worklist

// Three overdue receivables of three accounts (and ones that are not
// worked), a promise and a contact on the riskiest account.
class CreditWorklistTest : public CreditServiceTest {
 protected:
  void SetUp() override {
    CreditServiceTest::SetUp();
    SetToday(today);
    SetProfile(kAccE1, 100'000'000, 30, v1::RISK_CLASS_LOW);
    SetProfile(kAccW1, 100'000'000, 30, v1::RISK_CLASS_HIGH);
    // 10,000.00 × 10 days × 1 = 10,000,000.
    big = Post(kAccE1, 1'000'000, absl::CivilDay(2026, 2, 1),
               absl::CivilDay(2026, 3, 21));
    Post(kAccE1, 500'000, absl::CivilDay(2026, 3, 1),
         absl::CivilDay(2026, 4, 15));  // not due: not listed
    // 4,000.00 × 10 days × 3 (HIGH) = 12,000,000: the smaller one comes first.
    small = Post(kAccW1, 400'000, absl::CivilDay(2026, 2, 1),
                 absl::CivilDay(2026, 3, 21));
    // No profile weighs as MEDIUM: 1,000.00 × 20 × 2 = 4,000,000.
    e2 = Post(kAccE2, 100'000, absl::CivilDay(2026, 2, 1),
              absl::CivilDay(2026, 3, 11));
    // Disputed and paid ones are not worked.
    const v1::Receivable disputed =
        Post(kAccE2, 900'000, absl::CivilDay(2026, 1, 1),
             absl::CivilDay(2026, 3, 1));
    v1::SetDisputeRequest dispute;
    dispute.set_receivable_id(disputed.id());
    dispute.set_disputed(true);
    dispute.set_reason("wrong quantity");
    v1::Receivable ignored;
    ASSERT_TRUE(IsOk(Call(&Stub::SetDispute, dispute, &ignored)));
    const v1::Receivable paid =
        Post(kAccW1, 900'000, absl::CivilDay(2026, 1, 1),
             absl::CivilDay(2026, 3, 1));
    ASSERT_TRUE(IsOk(Pay(kAccW1, 900'000, today, {{paid.id(), 900'000}})));

    // The account's context: its promises and open tasks.
    promise = RecordPromise({small.id()}, 100'000, absl::CivilDay(2026, 4, 2));
    ASSERT_TRUE(IsOk(Contact(kAccW1, v1::EXCUSE_CODE_NO_MONEY, &contact)));
  }

  const absl::CivilDay today{2026, 3, 31};
  v1::Receivable big, small, e2;
  v1::Promise promise;
  v1::CollectionContact contact;
};

TEST_F(CreditWorklistTest, OrdersByOpenTimesDaysOverdueTimesRisk) {
  v1::Worklist w;
  ASSERT_TRUE(IsOk(Worklist(kGlobal, today, &w)));
  EXPECT_EQ(Str(w.as_of()), "2026-03-31");
  ASSERT_EQ(w.items_size(), 3);
  EXPECT_EQ(w.items(0).receivable().id(), small.id());
  EXPECT_EQ(w.items(0).account_id(), kAccW1);
  EXPECT_EQ(w.items(0).priority(), 12'000'000);
  EXPECT_EQ(w.items(0).days_overdue(), 10);
  EXPECT_EQ(w.items(0).risk_class(), v1::RISK_CLASS_HIGH);
  EXPECT_EQ(w.items(0).next_dunning_step(), v1::DUNNING_STEP_COURTESY_REMINDER);
  EXPECT_EQ(Str(w.items(0).next_dunning_date()), "2026-03-18");
  ASSERT_EQ(w.items(0).promises_size(), 1);
  EXPECT_EQ(w.items(0).promises(0).id(), promise.id());
  ASSERT_EQ(w.items(0).open_tasks_size(), 1);
  EXPECT_EQ(w.items(0).open_tasks(0).id(), contact.follow_up_task_id());
  EXPECT_EQ(w.items(1).receivable().id(), big.id());
  EXPECT_EQ(w.items(1).priority(), 10'000'000);
  EXPECT_EQ(w.items(1).risk_class(), v1::RISK_CLASS_LOW);
  EXPECT_THAT(w.items(1).promises(), IsEmpty());
  EXPECT_THAT(w.items(1).open_tasks(), IsEmpty());
  EXPECT_EQ(w.items(2).receivable().id(), e2.id());
  EXPECT_EQ(w.items(2).priority(), 4'000'000);
  EXPECT_EQ(w.items(2).days_overdue(), 20);
  EXPECT_EQ(w.items(2).risk_class(), v1::RISK_CLASS_UNSPECIFIED);
  EXPECT_EQ(w.next_page_token(), "");
}

TEST_F(CreditWorklistTest, PagesAndDefaultsToTheCallersScope) {
  v1::Worklist w;
  // Paging.
  v1::Worklist page1;
  ASSERT_TRUE(IsOk(Worklist(kGlobal, today, &page1, kFinanceToken, 2)));
  ASSERT_EQ(page1.items_size(), 2);
  EXPECT_EQ(page1.items(0).receivable().id(), small.id());
  EXPECT_EQ(page1.items(1).receivable().id(), big.id());
  ASSERT_NE(page1.next_page_token(), "");
  v1::Worklist page2;
  ASSERT_TRUE(IsOk(Worklist(kGlobal, today, &page2, kFinanceToken, 2,
                            page1.next_page_token())));
  ASSERT_EQ(page2.items_size(), 1);
  EXPECT_EQ(page2.items(0).receivable().id(), e2.id());
  EXPECT_EQ(page2.next_page_token(), "");

  // Scope: the caller's own node by default.
  ASSERT_TRUE(IsOk(Worklist("", today, &w, kManagerEastToken)));
  ASSERT_EQ(w.items_size(), 2);
  EXPECT_EQ(w.items(0).receivable().id(), big.id());
  EXPECT_EQ(w.items(1).receivable().id(), e2.id());
  ASSERT_TRUE(IsOk(Worklist("", today, &w, kRepW1Token)));
  ASSERT_EQ(w.items_size(), 1);
  EXPECT_EQ(w.items(0).receivable().id(), small.id());
  EXPECT_TRUE(IsError(Worklist(kEast, today, &w, kRepW1Token),
                      Code::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Worklist(kWest, today, &w, kManagerEastToken),
                      Code::PERMISSION_DENIED));
}

TEST_F(CreditWorklistTest, AsOfAndTheTasksOfASubtree) {
  v1::Worklist w;
  // as_of: on 03-15 only e2 is overdue (4 days): 1,000.00 × 4 × 2.
  ASSERT_TRUE(IsOk(Worklist(kGlobal, absl::CivilDay(2026, 3, 15), &w)));
  ASSERT_EQ(w.items_size(), 1);
  EXPECT_EQ(w.items(0).receivable().id(), e2.id());
  EXPECT_EQ(w.items(0).priority(), 800'000);

  // Tasks of a subtree, for the managers of that subtree only.
  v1::ListCollectionTasksRequest tasks_req;
  tasks_req.set_org_node_id(kWest);
  v1::ListCollectionTasksResponse tasks;
  ASSERT_TRUE(IsOk(
      Call(&Stub::ListCollectionTasks, tasks_req, &tasks, kManagerWestToken)));
  ASSERT_EQ(tasks.tasks_size(), 1);
  EXPECT_EQ(tasks.tasks(0).id(), contact.follow_up_task_id());
  EXPECT_TRUE(IsError(
      Call(&Stub::ListCollectionTasks, tasks_req, &tasks, kManagerEastToken),
      Code::PERMISSION_DENIED));
}

TEST_F(CreditWorklistTest, ShowsTheFiveNewestPromisesAndOnlyOpenTasks) {
  v1::Worklist w;
  // At most the five newest promises, newest first.
  std::vector<std::string> promise_ids = {promise.id()};
  for (int i = 0; i < 5; ++i) {
    promise_ids.push_back(
        RecordPromise({small.id()}, 1000 + i, absl::CivilDay(2026, 4, 2)).id());
  }
  ASSERT_TRUE(IsOk(Worklist(kWest, today, &w)));
  ASSERT_EQ(w.items_size(), 1);
  std::vector<std::string> listed;
  for (const v1::Promise& p : w.items(0).promises()) {
    listed.push_back(p.id());
  }
  EXPECT_THAT(listed,
              ElementsAre(promise_ids[5], promise_ids[4], promise_ids[3],
                          promise_ids[2], promise_ids[1]));

  // A completed task is no longer open.
  v1::CompleteCollectionTaskRequest done;
  done.set_id(contact.follow_up_task_id());
  v1::CollectionTask t;
  ASSERT_TRUE(IsOk(Call(&Stub::CompleteCollectionTask, done, &t)));
  ASSERT_TRUE(IsOk(Worklist(kWest, today, &w)));
  ASSERT_EQ(w.items_size(), 1);
  EXPECT_THAT(w.items(0).open_tasks(), IsEmpty());
}

// Receivables of 10^15 (the largest amount accepted) written as
// PostReceivable would (faster than thousands of calls).
class CreditHugeSumsTest : public CreditServiceTest {
 protected:
  static constexpr int64_t kMaxAmount = 1000000000000000;  // 10^15

  void PutHuge(const std::string& account, int count) {
    const absl::CivilDay today = Today();
    CreditStore db(store_.get());
    for (int done = 0; done < count; done += 1000) {
      auto write = [&](WriteTxn& txn) -> absl::Status {
        for (int i = done; i < std::min(count, done + 1000); ++i) {
          v1::Receivable r;
          r.set_id(absl::StrFormat("rcv_big_%06d", ++written_));
          r.set_account_id(account);
          *r.mutable_amount() = Eur(kMaxAmount);
          *r.mutable_paid() = Eur(0);
          *r.mutable_written_off() = Eur(0);
          *r.mutable_issue_date() = ToProto(today - 40);
          *r.mutable_due_date() = ToProto(today - 10);
          r.set_created_micros(absl::ToUnixMicros(clock_.Now()));
          Settle(&r, "EUR");
          RETURN_IF_ERROR(db.SaveReceivable(txn, &r));
        }
        return absl::OkStatus();
      };
      ASSERT_TRUE(store_->Write(SystemActor("test"), write).ok());
    }
  }

  // Aging: e2 alone fits, e1 and east do not, west does.
  void CheckAging() {
    v1::Aging aging;
    ASSERT_TRUE(IsOk(Aging(kAccE2, "", std::nullopt, &aging)));
    EXPECT_EQ(aging.total().total().units_minor(), 5000 * kMaxAmount);
    EXPECT_TRUE(IsError(Aging(kAccE1, "", std::nullopt, &aging),
                        grpc::StatusCode::OUT_OF_RANGE,
                        absl::StrCat("aging of account ", kAccE1)));
    EXPECT_TRUE(IsError(Aging("", kEast, std::nullopt, &aging),
                        grpc::StatusCode::OUT_OF_RANGE));
    ASSERT_TRUE(IsOk(Aging("", kWest, std::nullopt, &aging)));
    EXPECT_EQ(aging.total().total().units_minor(), 2 * kMaxAmount - 1000);
  }

  // The DSO of e2 alone fits; east's sums do not. A check of e1 cannot
  // state its exposure: refused, nothing stored.
  void CheckDsoAndExposure() {
    const absl::CivilDay today = Today();
    v1::GetDsoRequest dso_req;
    dso_req.set_org_node_id(kEast);
    *dso_req.mutable_from() = ToProto(today - 60);
    *dso_req.mutable_to() = ToProto(today);
    v1::Dso dso;
    EXPECT_TRUE(IsError(Call(&Stub::GetDso, dso_req, &dso),
                        grpc::StatusCode::OUT_OF_RANGE,
                        "DSO of the accounts asked for"));
    dso_req.set_org_node_id("");
    dso_req.set_account_id(kAccE2);
    ASSERT_TRUE(IsOk(Call(&Stub::GetDso, dso_req, &dso)));
    EXPECT_EQ(dso.credit_sales().units_minor(), 5000 * kMaxAmount);
    v1::CheckCreditRequest check_req;
    check_req.set_account_id(kAccE1);
    *check_req.mutable_amount() = Eur(1);
    v1::CreditCheck out;
    EXPECT_TRUE(IsError(Call(&Stub::CheckCredit, check_req, &out),
                        grpc::StatusCode::OUT_OF_RANGE,
                        absl::StrCat("exposure of account ", kAccE1)));
    EXPECT_EQ(Check(kAccE2, 1).exposure().units_minor(), 5000 * kMaxAmount);
  }

  int written_ = 0;
};

TEST_F(CreditHugeSumsTest, SumsPastInt64FailOnlyTheQueriesThatSumThem) {
  const absl::CivilDay today = Today();
  // 9,300 receivables of 10^15 for e1 (9.3 × 10^18 owed), 5,000 for e2.
  PutHuge(kAccE1, 9300);
  PutHuge(kAccE2, 5000);
  // w1: two receivables 6,000 days overdue, whose priorities both pass
  // int64 (reported capped), ranked by their exact product.
  const v1::Receivable smaller =
      Post(kAccW1, kMaxAmount - 1000, today - 6030, today - 6000);
  const v1::Receivable larger =
      Post(kAccW1, kMaxAmount, today - 6030, today - 6000);
  for (int pass = 0; pass < 2; ++pass) {  // and again after a restart
    SCOPED_TRACE(pass);
    CheckAging();
    CheckDsoAndExposure();
    v1::Worklist worklist;
    ASSERT_TRUE(IsOk(Worklist(kWest, std::nullopt, &worklist)));
    ASSERT_EQ(worklist.items_size(), 2);
    EXPECT_EQ(worklist.items(0).receivable().id(), larger.id());
    EXPECT_EQ(worklist.items(1).receivable().id(), smaller.id());
    EXPECT_EQ(worklist.items(0).priority(), INT64_MAX);
    if (pass == 0) {
      Restart();
    }
  }
}

TEST_F(CreditServiceTest, WorklistDefaultsToTheRootForAdminAndFinance) {
  const absl::CivilDay today(2026, 3, 31);
  SetToday(today);
  Post(kAccE1, 100'000, absl::CivilDay(2026, 2, 1),
       absl::CivilDay(2026, 3, 21));
  Post(kAccW1, 100000, absl::CivilDay(2026, 2, 1), absl::CivilDay(2026, 3, 11));
  // The contract: "default: the caller's scope (ADMIN: root)". The test
  // tokens of admin and finance name no org node.
  for (const char* token : {kAdminToken, kFinanceToken}) {
    v1::Worklist w;
    ASSERT_TRUE(IsOk(Worklist("", today, &w, token))) << token;
    ASSERT_EQ(w.items_size(), 2) << token;
    EXPECT_EQ(w.items(0).account_id(), kAccW1);
    EXPECT_EQ(w.items(1).account_id(), kAccE1);
  }
}

// ---------------------------------------------------------------------------
// 13. Calculators

TEST_F(CreditServiceTest, CalculatorsReproduceTheSeed) {
  // SPEC §5.4: a 500.00 loss at 2..6% net margin, in whole units.
  const std::vector<std::pair<int32_t, int64_t>> table = {{200, 2500000},
                                                          {300, 1'666'700},
                                                          {400, 1250000},
                                                          {500, 1'000'000},
                                                          {600, 833300}};
  for (const auto& [bp, sales] : table) {
    v1::CalculateBadDebtRecoveryRequest req;
    *req.mutable_loss() = Eur(50'000);
    req.set_net_margin_bp(bp);
    req.set_round_to_minor(100);
    v1::BadDebtRecovery out;
    ASSERT_TRUE(
        IsOk(Call(&Stub::CalculateBadDebtRecovery, req, &out, kRepE1Token)));
    EXPECT_EQ(out.required_sales().units_minor(), sales) << bp << " bp";
    EXPECT_EQ(out.required_sales().currency(), "EUR");
  }
  v1::CalculateBadDebtRecoveryRequest cents;
  *cents.mutable_loss() = Eur(50'000);
  cents.set_net_margin_bp(300);
  v1::BadDebtRecovery recovery;
  ASSERT_TRUE(IsOk(Call(&Stub::CalculateBadDebtRecovery, cents, &recovery,
                        kManagerWestToken)));
  EXPECT_EQ(recovery.required_sales().units_minor(), 1'666'667);
  cents.set_net_margin_bp(0);
  EXPECT_TRUE(IsError(Call(&Stub::CalculateBadDebtRecovery, cents, &recovery),
                      Code::INVALID_ARGUMENT, "net_margin_bp"));
  *cents.mutable_loss() = Eur(0);
  cents.set_net_margin_bp(300);
  EXPECT_TRUE(IsError(Call(&Stub::CalculateBadDebtRecovery, cents, &recovery),
                      Code::INVALID_ARGUMENT, "loss"));
  EXPECT_TRUE(
      IsError(Call(&Stub::CalculateBadDebtRecovery, cents, &recovery, ""),
              Code::UNAUTHENTICATED));
}

TEST_F(CreditServiceTest, RealizedResultAndCarryingCostReproduceTheSeed) {
  // The seed scenario: 500,000 at 10% gross margin, 400,000 collected.
  v1::CalculateRealizedResultRequest realized;
  *realized.mutable_sale_amount() = Eur(50'000'000);
  realized.set_gross_margin_bp(1000);
  *realized.mutable_collected() = Eur(40'000'000);
  v1::RealizedResult result;
  ASSERT_TRUE(IsOk(
      Call(&Stub::CalculateRealizedResult, realized, &result, kServiceToken)));
  EXPECT_EQ(result.cost_of_goods().units_minor(), 45'000'000);
  EXPECT_EQ(result.realized().units_minor(), -5'000'000);
  EXPECT_EQ(result.to_break_even().units_minor(), 5'000'000);
  EXPECT_EQ(result.profit_when_collected().units_minor(), 5'000'000);
  *realized.mutable_collected() = Eur(50'000'001);
  EXPECT_TRUE(IsError(Call(&Stub::CalculateRealizedResult, realized, &result),
                      Code::INVALID_ARGUMENT, "collected"));

  // 100,000.00 at 10% a year, 73 days late: 2,000.00; a 5% net margin is
  // consumed after 183 days.
  v1::CalculateCarryingCostRequest carrying;
  *carrying.mutable_amount() = Eur(10'000'000);
  carrying.set_annual_rate_bp(1000);
  carrying.set_days_late(73);
  carrying.set_net_margin_bp(500);
  v1::CarryingCost cost;
  ASSERT_TRUE(
      IsOk(Call(&Stub::CalculateCarryingCost, carrying, &cost, kRepW1Token)));
  EXPECT_EQ(cost.cost().units_minor(), 200'000);
  EXPECT_EQ(cost.net_profit().units_minor(), 500'000);
  EXPECT_EQ(cost.days_to_consume_profit(), 183);
  carrying.set_annual_rate_bp(0);
  EXPECT_TRUE(IsError(Call(&Stub::CalculateCarryingCost, carrying, &cost),
                      Code::INVALID_ARGUMENT, "annual_rate_bp"));
}

// ---------------------------------------------------------------------------
// 14. Write-offs, disputes, restart

// The state rules themselves: receivable_rules_test.cc.
TEST_F(CreditServiceTest, DisputesFollowVersionsRolesAndTheStateRules) {
  PutModel();
  SetToday(absl::CivilDay(2026, 3, 10));
  ApplyOk(OppEvent("opp_1", kAccE1, 100'000, "USAGE", 1));
  std::vector<v1::Receivable> rs = Receivables(kAccE1);
  ASSERT_EQ(rs.size(), 1u);
  const std::string id = rs[0].id();
  ASSERT_TRUE(IsOk(Pay(kAccE1, 30'000, Today())));

  v1::SetDisputeRequest dispute;
  dispute.set_receivable_id(id);
  dispute.set_disputed(true);
  v1::Receivable r;
  EXPECT_TRUE(IsError(Call(&Stub::SetDispute, dispute, &r),
                      Code::INVALID_ARGUMENT, "reason: required"));
  dispute.set_reason("  short delivery  ");
  dispute.set_expected_version(1);  // it is at 2 after the payment
  EXPECT_TRUE(IsError(Call(&Stub::SetDispute, dispute, &r), Code::ABORTED));
  EXPECT_TRUE(IsError(Call(&Stub::SetDispute, dispute, &r, kRepE1Token),
                      Code::PERMISSION_DENIED));
  dispute.set_expected_version(2);
  ASSERT_TRUE(IsOk(Call(&Stub::SetDispute, dispute, &r)));
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_DISPUTED);
  EXPECT_EQ(r.dispute_reason(), "short delivery");
  EXPECT_EQ(r.open().units_minor(), 70'000);
  dispute.set_expected_version(0);
  EXPECT_TRUE(IsError(Call(&Stub::SetDispute, dispute, &r),
                      Code::FAILED_PRECONDITION, "can be disputed"));

  // Resolving it returns it to what its amounts say.
  dispute.set_disputed(false);
  dispute.set_reason("");
  ASSERT_TRUE(IsOk(Call(&Stub::SetDispute, dispute, &r)));
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_PARTIALLY_PAID);
  EXPECT_EQ(r.dispute_reason(), "");
  EXPECT_TRUE(IsError(Call(&Stub::SetDispute, dispute, &r),
                      Code::FAILED_PRECONDITION, "is not disputed"));
}

TEST_F(CreditServiceTest, WriteOffsFollowVersionsRolesAndRefreshTheCollection) {
  PutModel();
  SetToday(absl::CivilDay(2026, 3, 10));
  ApplyOk(OppEvent("opp_1", kAccE1, 100'000, "USAGE", 1));
  std::vector<v1::Receivable> rs = Receivables(kAccE1);
  ASSERT_EQ(rs.size(), 1u);
  const std::string id = rs[0].id();
  ASSERT_TRUE(IsOk(Pay(kAccE1, 30'000, Today())));
  v1::Receivable r;
  v1::WriteOffRequest w;
  w.set_receivable_id(id);
  EXPECT_TRUE(IsError(Call(&Stub::WriteOff, w, &r), Code::INVALID_ARGUMENT,
                      "reason: required"));
  w.set_reason("insolvent");
  EXPECT_TRUE(IsError(Call(&Stub::WriteOff, w, &r, kRepE1Token),
                      Code::PERMISSION_DENIED));
  w.set_expected_version(99);
  EXPECT_TRUE(IsError(Call(&Stub::WriteOff, w, &r), Code::ABORTED));
  w.set_expected_version(0);
  ASSERT_TRUE(IsOk(Call(&Stub::WriteOff, w, &r)));
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_WRITTEN_OFF);
  EXPECT_EQ(r.written_off().units_minor(), 70'000);
  EXPECT_EQ(r.paid().units_minor(), 30'000);
  EXPECT_EQ(r.open().units_minor(), 0);
  EXPECT_EQ(Str(r.written_off_date()), "2026-03-10");
  EXPECT_EQ(r.write_off_reason(), "insolvent");

  // Written off: no second write-off, no payment.
  EXPECT_TRUE(IsError(Call(&Stub::WriteOff, w, &r), Code::FAILED_PRECONDITION));
  EXPECT_TRUE(IsError(Pay(kAccE1, 100, Today(), {{id, 100}}),
                      Code::FAILED_PRECONDITION, "written off"));
  v1::GetOpportunityCollectionRequest get;
  get.set_opportunity_id("opp_1");
  v1::OpportunityCollection c;
  ASSERT_TRUE(IsOk(Call(&Stub::GetOpportunityCollection, get, &c)));
  EXPECT_EQ(c.written_off().units_minor(), 70'000);
  EXPECT_EQ(c.collected().units_minor(), 30'000);
  EXPECT_FALSE(c.fully_collected());
  w.set_receivable_id("rcv_nope");
  EXPECT_TRUE(IsError(Call(&Stub::WriteOff, w, &r), Code::NOT_FOUND));

  v1::SetDisputeRequest dispute;
  dispute.set_disputed(true);
  dispute.set_reason("late complaint");
  // A disputed receivable may be written off.
  const v1::Receivable d = Post(kAccE2, 20'000, Today());
  dispute.set_receivable_id(d.id());
  ASSERT_TRUE(IsOk(Call(&Stub::SetDispute, dispute, &r)));
  w.set_receivable_id(d.id());
  ASSERT_TRUE(IsOk(Call(&Stub::WriteOff, w, &r)));
  EXPECT_EQ(r.state(), v1::RECEIVABLE_STATE_WRITTEN_OFF);
  EXPECT_EQ(r.written_off().units_minor(), 20000);
}

// An account with a contract receivable, a commitment, a posted invoice
// paid in part, a promise, a contact, dunning tasks and a strategy of its
// own.
class CreditRestartTest : public CreditServiceTest {
 protected:
  void Seed() {
    PutModel();
    SetToday(absl::CivilDay(2026, 11, 2));
    SetProfile(kAccE1, 10'000'000, 30, v1::RISK_CLASS_MEDIUM);
    signed_event = OppEvent("opp_1", kAccE1, 300'000, "USAGE", 1);
    ApplyOk(signed_event);
    // Approved while nothing is overdue: 1,000.00 contracted-not-invoiced.
    EXPECT_EQ(Check(kAccE1, 100'000, "opp_2").decision(),
              v1::CREDIT_DECISION_APPROVE);
    posted = Post(kAccE1, 200'000, absl::CivilDay(2026, 9, 1),
                  absl::CivilDay(2026, 10, 1), "INV-9");
    // Paid before the promise is made: it does not count toward it.
    ASSERT_TRUE(IsOk(Pay(kAccE1, 50'000, paid_on, {}, "BANK-1")));
    promise =
        RecordPromise({posted.id()}, 150'000, absl::CivilDay(2026, 11, 5));
    v1::CollectionContact contact;
    ASSERT_TRUE(IsOk(Contact(kAccE1, v1::EXCUSE_CODE_WILL_PAY, &contact)));
    EXPECT_EQ(Run().dunning_tasks(), 1);  // posted: 32 days past due
    v1::DunningStrategy strategy;
    strategy.set_courtesy_reminder_days(-5);
    strategy.set_first_reminder_days(1);
    strategy.set_second_reminder_days(10);
    strategy.set_final_notice_days(20);
    strategy.set_credit_hold_days(90);
    v1::DunningStrategy ignored;
    ASSERT_TRUE(IsOk(Call(&Stub::SetDunningStrategy, strategy, &ignored)));
  }

  // Everything the service answers about the account, as text.
  std::string Snapshot() {
    std::string out;
    auto add = [&](const google::protobuf::Message& m) {
      out += m.DebugString();
      out += "----\n";
    };
    for (const v1::Receivable& r : Receivables(kAccE1)) add(r);
    for (const auto& [id, p] : Promises(kAccE1)) add(p);
    for (const v1::CollectionTask& t : Tasks(kAccE1)) add(t);
    v1::ListPaymentsRequest lp;
    lp.set_account_id(kAccE1);
    v1::ListPaymentsResponse payments;
    EXPECT_TRUE(IsOk(Call(&Stub::ListPayments, lp, &payments)));
    payments.clear_page();
    add(payments);
    v1::ListCreditChecksRequest lc;
    lc.set_account_id(kAccE1);
    v1::ListCreditChecksResponse checks;
    EXPECT_TRUE(IsOk(Call(&Stub::ListCreditChecks, lc, &checks)));
    checks.clear_page();
    add(checks);
    v1::CreditProfile profile;
    EXPECT_TRUE(IsOk(GetProfile(kAccE1, &profile)));
    add(profile);
    v1::DunningStrategy s;
    EXPECT_TRUE(IsOk(
        Call(&Stub::GetDunningStrategy, v1::GetDunningStrategyRequest(), &s)));
    add(s);
    v1::ListOpportunityCollectionsResponse collections;
    EXPECT_TRUE(
        IsOk(Call(&Stub::ListOpportunityCollections,
                  v1::ListOpportunityCollectionsRequest(), &collections)));
    collections.clear_page();
    add(collections);
    v1::Aging aging;
    EXPECT_TRUE(
        IsOk(Aging("", kEast, std::nullopt, &aging, kManagerEastToken)));
    add(aging);
    return out;
  }

  const absl::CivilDay paid_on{2026, 10, 30};
  v1::Event signed_event;
  v1::Receivable posted;
  v1::Promise promise;
};

TEST_F(CreditRestartTest, KeepsReceivablesPromisesAndTasks) {
  Seed();
  ASSERT_FALSE(HasFatalFailure());
  const std::string before = Snapshot();
  const uint64_t sequence = store_->last_sequence();
  ASSERT_EQ(Receivables(kAccE1).size(), 2u);
  ASSERT_EQ(Tasks(kAccE1).size(), 2u);

  Restart();
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(store_->last_sequence(), sequence);

  // Still idempotent after the restart: the pipeline replay and the
  // external ids open and pay nothing new.
  ApplyOk(signed_event);
  v1::Receivable replay;
  ASSERT_TRUE(IsOk(Call(&Stub::PostReceivable,
                        PostRequest(kAccE1, 200'000, absl::CivilDay(2026, 9, 1),
                                    absl::CivilDay(2026, 10, 1), "INV-9"),
                        &replay)));
  EXPECT_EQ(replay.id(), posted.id());
  ASSERT_TRUE(IsOk(Pay(kAccE1, 50'000, paid_on, {}, "BANK-1")));
  EXPECT_EQ(store_->last_sequence(), sequence);
  // The commitment of opp_2 survived: 3,000 + 1,500 open + 1,000 committed.
  EXPECT_EQ(Exposure(kAccE1), 550'000);
  // The accounts mirror survived: the account still exists.
  SetProfile(kAccE1, 10'000'000, 45, v1::RISK_CLASS_MEDIUM);

  // The pending promise is judged after the restart.
  SetToday(absl::CivilDay(2026, 11, 6));
  EXPECT_EQ(Run().promises_judged(), 1);
  EXPECT_EQ(Promises(kAccE1)[promise.id()].state(), v1::PROMISE_STATE_BROKEN);
}

TEST_F(CreditServiceTest,
       OnlyPipelineOrFinanceNameAnOpportunityOfTheRightAccount) {
  PutModel();
  SetProfile(kAccE1, 1'000'000, 30, v1::RISK_CLASS_MEDIUM);
  v1::CheckCreditRequest req;
  req.set_account_id(kAccE1);
  *req.mutable_amount() = Eur(100);
  req.set_opportunity_id("opp_mine");
  v1::CreditCheck out;
  // A rep's or manager's check reserves nothing, so it may not name one.
  for (const char* token : {kRepE1Token, kManagerEastToken}) {
    EXPECT_TRUE(IsError(Call(&Stub::CheckCredit, req, &out, token),
                        Code::PERMISSION_DENIED, "opportunity_id: only"))
        << token;
  }
  // Pipeline's feed says which account an opportunity is of: naming it for
  // another account is refused, and its reservation stays where it is.
  ApplyOk(OppEvent("opp_other", kAccE2, 40'000, "COMMITMENT", 1));
  EXPECT_EQ(Check(kAccE2, 40000, "opp_other", kServiceToken).decision(),
            v1::CREDIT_DECISION_REVIEW);
  req.set_opportunity_id("opp_other");
  EXPECT_TRUE(IsError(Call(&Stub::CheckCredit, req, &out, kServiceToken),
                      Code::INVALID_ARGUMENT,
                      "opportunity_id: opportunity opp_other is of account"));
  EXPECT_EQ(Check(kAccE2, 1).exposure().units_minor(), 40'000);
  v1::Receivable wrong;
  EXPECT_TRUE(IsError(
      Call(&Stub::PostReceivable,
           PostRequest(kAccE1, 100, Today(), std::nullopt, "", "opp_other"),
           &wrong),
      Code::INVALID_ARGUMENT, "receivable.opportunity_id: opportunity"));
}

TEST_F(CreditServiceTest, AnErpInvoiceForASignedContractIsThatReceivable) {
  PutModel();
  SetProfile(kAccE1, 1000000, 30, v1::RISK_CLASS_MEDIUM);
  ApplyOk(OppEvent("opp_s", kAccE1, 250'000, "USAGE", 1));
  ASSERT_EQ(Receivables(kAccE1, "opp_s").size(), 1u);
  const std::string contract = Receivables(kAccE1, "opp_s")[0].id();
  // Another amount, or the same invoice once paid, would be a second debt.
  v1::Receivable out;
  EXPECT_TRUE(IsError(Call(&Stub::PostReceivable,
                           PostRequest(kAccE1, 200'000, Today(), std::nullopt,
                                       "INV-9", "opp_s"),
                           &out),
                      Code::FAILED_PRECONDITION, "is invoiced by " + contract));
  // The ERP's invoice of the signed amount is adopted: still one receivable,
  // now with the ERP's id and dates; a replay changes nothing.
  const absl::CivilDay issue = Today() + 2;
  const v1::Receivable adopted =
      Post(kAccE1, 250'000, issue, issue + 45, "INV-7", "opp_s");
  EXPECT_EQ(adopted.id(), contract);
  EXPECT_EQ(adopted.external_id(), "INV-7");
  EXPECT_EQ(Str(adopted.due_date()), Str(ToProto(issue + 45)));
  EXPECT_EQ(
      Post(kAccE1, 250'000, issue, issue + 45, "INV-7", "opp_s").version(),
      adopted.version());
  EXPECT_EQ(Receivables(kAccE1, "opp_s").size(), 1u);
  EXPECT_EQ(Check(kAccE1, 1).exposure().units_minor(), 250'000);
}

TEST_F(CreditServiceTest, APaymentDatedInTimeButRecordedLateKeepsThePromise) {
  SetToday(absl::CivilDay(2026, 11, 30));
  const v1::Receivable r = Post(kAccE1, 100'000, absl::CivilDay(2026, 11, 1),
                                absl::CivilDay(2027, 1, 15));
  const v1::Promise p = RecordPromise({r.id()}, 100'000, Today() + 2);
  SetToday(Today() + 5);
  // Finance records on the 5th a payment the bank shows on the 29th, before
  // the promise was even made: in time, nothing to escalate.
  ASSERT_TRUE(IsOk(Pay(kAccE1, 100000, absl::CivilDay(2026, 11, 29))));
  EXPECT_EQ(Run().promises_judged(), 1);
  v1::ListPromisesRequest req;
  req.set_account_id(kAccE1);
  v1::ListPromisesResponse resp;
  ASSERT_TRUE(IsOk(Call(&Stub::ListPromises, req, &resp)));
  ASSERT_EQ(resp.promises_size(), 1);
  EXPECT_EQ(resp.promises(0).state(), v1::PROMISE_STATE_KEPT);
  EXPECT_EQ(resp.promises(0).escalation_task_id(), "");
  EXPECT_TRUE(TaskLines(kAccE1, v1::COLLECTION_TASK_KIND_ESCALATION).empty());
}

TEST_F(CreditServiceTest, APromiseFromHistoryIsJudgedByTheNextRun) {
  SetToday(absl::CivilDay(2026, 11, 30));  // a Monday
  const v1::Receivable r = Post(kAccE1, 100'000, absl::CivilDay(2026, 10, 1),
                                absl::CivilDay(2026, 10, 31));
  v1::RecordPromiseRequest req;
  req.add_receivable_ids(r.id());
  *req.mutable_amount() = Eur(100'000);
  *req.mutable_made_date() = ToProto(absl::CivilDay(2026, 11, 20));
  *req.mutable_promised_date() = ToProto(absl::CivilDay(2026, 11, 23));
  v1::Promise p;
  ASSERT_TRUE(IsOk(Call(&Stub::RecordPromise, req, &p)));
  EXPECT_EQ(Str(p.made_date()), "2026-11-20");
  EXPECT_EQ(p.state(), v1::PROMISE_STATE_PENDING);
  // Nothing was paid by the 23rd: broken, judged on the 24th, and the
  // escalation is due today, not on a day already past.
  EXPECT_EQ(Run().promises_judged(), 1);
  const std::vector<std::string> escalations =
      TaskLines(kAccE1, v1::COLLECTION_TASK_KIND_ESCALATION);
  ASSERT_EQ(escalations.size(), 1u);
  EXPECT_THAT(escalations[0], HasSubstr("2026-11-30"));
  v1::ListPromisesRequest list;
  list.set_account_id(kAccE1);
  list.set_state(v1::PROMISE_STATE_BROKEN);
  v1::ListPromisesResponse broken;
  ASSERT_TRUE(IsOk(Call(&Stub::ListPromises, list, &broken)));
  ASSERT_EQ(broken.promises_size(), 1);
  EXPECT_EQ(Str(broken.promises(0).judged_date()), "2026-11-24");

  *req.mutable_made_date() = ToProto(absl::CivilDay(2026, 12, 1));
  EXPECT_TRUE(IsError(Call(&Stub::RecordPromise, req, &p),
                      Code::INVALID_ARGUMENT,
                      "made_date: must not be after today (2026-11-30)"));
  *req.mutable_made_date() = ToProto(absl::CivilDay(2026, 11, 24));
  EXPECT_TRUE(
      IsError(Call(&Stub::RecordPromise, req, &p), Code::INVALID_ARGUMENT,
              "promised_date: must not be before made_date (2026-11-24)"));
}

}  // namespace
}  // namespace salesops::credit::credit_test
