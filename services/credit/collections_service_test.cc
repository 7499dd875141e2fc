// gRPC-level tests of the credit service's collections (SPEC.md §5.2-5.3):
// aging, DSO, promises to pay, contacts and excuse codes, dunning, debtor
// classes. The fixture: credit_service_test_fixture.h.

#include "services/credit/credit_service_test_fixture.h"

namespace salesops::credit::credit_test {
namespace {

// ---------------------------------------------------------------------------
// 6. Aging

TEST_F(CreditServiceTest, AgingBucketsFollowDaysPastDueAsOf) {
  const absl::CivilDay due(2026, 1, 31);
  SetToday(due + 200);
  const v1::Receivable r = Post(kAccE1, 100000, due - 30, due);
  const std::vector<std::pair<int, int>> cases = {
      {0, 0},  {30, 1}, {31, 2},  {60, 2},  {61, 3},
      {90, 3}, {91, 4}, {180, 4}, {181, 5}, {200, 5}};
  for (const auto& [days, bucket] : cases) {
    v1::Aging aging;
    ASSERT_TRUE(IsOk(Aging(kAccE1, "", due + days, &aging)));
    std::vector<int64_t> want(7, 0);
    want[bucket] = 100'000;
    want[6] = 100'000;
    EXPECT_EQ(Buckets(aging.total()), want) << "as of due + " << days;
    EXPECT_EQ(Str(aging.as_of()), Str(due + days));
    ASSERT_EQ(aging.accounts_size(), 1);
    EXPECT_EQ(aging.accounts(0).account_id(), kAccE1);
    EXPECT_EQ(Buckets(aging.accounts(0).buckets()), want);
  }

  // Before it was issued: nothing.
  v1::Aging aging;
  ASSERT_TRUE(IsOk(Aging(kAccE1, "", due - 31, &aging)));
  EXPECT_EQ(Buckets(aging.total()), std::vector<int64_t>(7, 0));
  EXPECT_EQ(aging.total().total().currency(), "EUR");
  EXPECT_THAT(aging.accounts(), IsEmpty());

  // A payment counts from its date on.
  ASSERT_TRUE(IsOk(Pay(kAccE1, 40'000, due + 100)));
  ASSERT_TRUE(IsOk(Aging(kAccE1, "", due + 50, &aging)));
  EXPECT_EQ(Buckets(aging.total()),
            (std::vector<int64_t>{0, 0, 100'000, 0, 0, 0, 100'000}));
  ASSERT_TRUE(IsOk(Aging(kAccE1, "", due + 150, &aging)));
  EXPECT_EQ(Buckets(aging.total()),
            (std::vector<int64_t>{0, 0, 0, 0, 60'000, 0, 60'000}));
  // as_of defaults to today.
  ASSERT_TRUE(IsOk(Aging(kAccE1, "", std::nullopt, &aging)));
  EXPECT_EQ(Str(aging.as_of()), Str(Today()));
  EXPECT_EQ(Buckets(aging.total()),
            (std::vector<int64_t>{0, 0, 0, 0, 0, 60'000, 60'000}));
}

TEST_F(CreditServiceTest, AgingRollsUpByOrgSubtreeWithinTheCallersScope) {
  const absl::CivilDay due(2026, 1, 31);
  SetToday(due + 20);
  Post(kAccE1, 100'000, due - 30, due);
  Post(kAccE2, 20'000, due - 30, due);
  Post(kAccW1, 30'000, due - 20, due + 10);

  v1::Aging aging;
  ASSERT_TRUE(IsOk(Aging("", kEast, std::nullopt, &aging, kManagerEastToken)));
  EXPECT_EQ(Buckets(aging.total()),
            (std::vector<int64_t>{0, 120'000, 0, 0, 0, 0, 120'000}));
  ASSERT_EQ(aging.accounts_size(), 2);
  EXPECT_EQ(aging.accounts(0).account_id(), kAccE1);
  EXPECT_EQ(aging.accounts(0).buckets().days_1_30().units_minor(), 100'000);
  EXPECT_EQ(aging.accounts(1).account_id(), kAccE2);
  EXPECT_EQ(aging.accounts(1).buckets().days_1_30().units_minor(), 20'000);

  ASSERT_TRUE(IsOk(Aging("", kGlobal, std::nullopt, &aging, kAdminToken)));
  EXPECT_EQ(Buckets(aging.total()),
            (std::vector<int64_t>{0, 150'000, 0, 0, 0, 0, 150'000}));
  EXPECT_EQ(aging.accounts_size(), 3);

  ASSERT_TRUE(IsOk(Aging("", kRepE1, std::nullopt, &aging, kRepE1Token)));
  EXPECT_EQ(aging.total().total().units_minor(), 100'000);
  ASSERT_TRUE(IsOk(Aging(kAccW1, "", std::nullopt, &aging, kRepW1Token)));
  EXPECT_EQ(aging.total().total().units_minor(), 30'000);

  // Outside the caller's scope.
  EXPECT_TRUE(IsError(Aging("", kWest, std::nullopt, &aging, kManagerEastToken),
                      Code::PERMISSION_DENIED));
  EXPECT_TRUE(
      IsError(Aging("", kGlobal, std::nullopt, &aging, kManagerWestToken),
              Code::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Aging(kAccE1, "", std::nullopt, &aging, kRepW1Token),
                      Code::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Aging("", kEast, std::nullopt, &aging, kRepW1Token),
                      Code::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Aging(kAccE1, kEast, std::nullopt, &aging),
                      Code::INVALID_ARGUMENT, "exactly one"));
  EXPECT_TRUE(IsError(Aging("", "", std::nullopt, &aging),
                      Code::INVALID_ARGUMENT, "exactly one"));
  EXPECT_TRUE(
      IsError(Aging("", "org_nope", std::nullopt, &aging), Code::NOT_FOUND));
}

// ---------------------------------------------------------------------------
// 7. DSO

TEST_F(CreditServiceTest, DsoWorkedExample) {
  SetToday(absl::CivilDay(2026, 2, 15));
  // Issued before January and still open at its end: 800.00 at the end, no
  // sale of January.
  Post(kAccE1, 80'000, absl::CivilDay(2025, 12, 15));
  // January's credit sales: 1,000.00 (paid on 01-25) and 2,000.00 (500.00
  // paid only on 02-10, so all of it is open at the end of January).
  const v1::Receivable r1 = Post(kAccE1, 100'000, absl::CivilDay(2026, 1, 5));
  const v1::Receivable r2 = Post(kAccE1, 200'000, absl::CivilDay(2026, 1, 20));
  // February: neither a January sale nor open at its end.
  Post(kAccE1, 50'000, absl::CivilDay(2026, 2, 3));
  ASSERT_TRUE(IsOk(
      Pay(kAccE1, 100'000, absl::CivilDay(2026, 1, 25), {{r1.id(), 100'000}})));
  ASSERT_TRUE(IsOk(
      Pay(kAccE1, 50'000, absl::CivilDay(2026, 2, 10), {{r2.id(), 50'000}})));

  // 2,800.00 / 3,000.00 × 31 days = 28.9333… days.
  v1::GetDsoRequest req;
  req.set_account_id(kAccE1);
  *req.mutable_from() = ToProto(absl::CivilDay(2026, 1, 1));
  *req.mutable_to() = ToProto(absl::CivilDay(2026, 1, 31));
  v1::Dso dso;
  ASSERT_TRUE(IsOk(Call(&Stub::GetDso, req, &dso)));
  EXPECT_EQ(dso.receivables_at_end().units_minor(), 280'000);
  EXPECT_EQ(dso.credit_sales().units_minor(), 300'000);
  EXPECT_EQ(dso.days(), 31);
  EXPECT_EQ(dso.dso_milli_days(), 28'933);

  // The east region adds acc_e2's 600.00 January sale, all open:
  // 3,400.00 / 3,600.00 × 31 = 29.2777… → 29.278 days.
  Post(kAccE2, 60'000, absl::CivilDay(2026, 1, 10));
  Post(kAccW1, 999'900, absl::CivilDay(2026, 1, 10));  // west: not counted
  req.set_account_id("");
  req.set_org_node_id(kEast);
  ASSERT_TRUE(IsOk(Call(&Stub::GetDso, req, &dso, kManagerEastToken)));
  EXPECT_EQ(dso.receivables_at_end().units_minor(), 340'000);
  EXPECT_EQ(dso.credit_sales().units_minor(), 360000);
  EXPECT_EQ(dso.dso_milli_days(), 29'278);

  // No credit sales in the period: 0.
  req.set_org_node_id("");
  req.set_account_id(kAccE1);
  *req.mutable_from() = ToProto(absl::CivilDay(2025, 11, 1));
  *req.mutable_to() = ToProto(absl::CivilDay(2025, 11, 30));
  ASSERT_TRUE(IsOk(Call(&Stub::GetDso, req, &dso)));
  EXPECT_EQ(dso.credit_sales().units_minor(), 0);
  EXPECT_EQ(dso.days(), 30);
  EXPECT_EQ(dso.dso_milli_days(), 0);

  *req.mutable_to() = ToProto(absl::CivilDay(2025, 10, 31));
  EXPECT_TRUE(IsError(Call(&Stub::GetDso, req, &dso), Code::INVALID_ARGUMENT,
                      "to: must not be before from"));
  req.clear_from();
  EXPECT_TRUE(
      IsError(Call(&Stub::GetDso, req, &dso), Code::INVALID_ARGUMENT, "from"));
  *req.mutable_from() = ToProto(absl::CivilDay(2026, 1, 1));
  *req.mutable_to() = ToProto(absl::CivilDay(2026, 1, 31));
  EXPECT_TRUE(IsError(Call(&Stub::GetDso, req, &dso, kRepW1Token),
                      Code::PERMISSION_DENIED));
}

// ---------------------------------------------------------------------------
// 8. Promises to pay

// Five receivables not due before January (no dunning in the way), a
// promise on each for Thursday 2026-12-03 (two with 2 days of tolerance).
class CreditPromiseTest : public CreditServiceTest {
 protected:
  void SetUp() override {
    CreditServiceTest::SetUp();
    SetToday(monday);
    // Five receivables not due before January (no dunning in the way).
    for (int i = 0; i < 5; ++i) {
      r.push_back(Post(kAccE1, 100'000, absl::CivilDay(2026, 11, 1),
                       absl::CivilDay(2027, 1, 15))
                      .id());
    }

    broken = RecordPromise({r[0]}, 100'000, thursday);
    EXPECT_THAT(broken.id(), StartsWith("prm_"));
    EXPECT_EQ(broken.state(), v1::PROMISE_STATE_PENDING);
    EXPECT_EQ(Str(broken.made_date()), "2026-11-30");
    EXPECT_EQ(broken.account_id(), kAccE1);
    EXPECT_EQ(broken.recorded_by(), "finance");
    kept = RecordPromise({r[1]}, 100'000, thursday, 0, "req-k");
    EXPECT_EQ(RecordPromise({r[1]}, 100'000, thursday, 0, "req-k").id(),
              kept.id());  // a retried create
    partial = RecordPromise({r[2]}, 100000, thursday);
    late_ok = RecordPromise({r[3]}, 100000, thursday, 2);
    late_broken = RecordPromise({r[4]}, 50'000, thursday, 2);
    EXPECT_EQ(Promises(kAccE1).size(), 5u);
  }

  // Paid in full before Thursday (kept), in part on Thursday (partially
  // kept), in full on Friday (too late: broken); judged on Friday.
  void PayAndRunThroughFriday() {
    SetToday(absl::CivilDay(2026, 12, 2));
    ASSERT_TRUE(IsOk(Pay(kAccE1, 100'000, Today(), {{r[1], 100'000}})));
    SetToday(thursday);
    ASSERT_TRUE(IsOk(Pay(kAccE1, 40'000, Today(), {{r[2], 40'000}})));
    // Thursday is the promised day: nothing is judged yet.
    EXPECT_EQ(Run().promises_judged(), 0);
    EXPECT_EQ(Promises(kAccE1, v1::PROMISE_STATE_PENDING).size(), 5u);

    // Friday: paid on Friday is too late for a Thursday promise.
    SetToday(friday);
    ASSERT_TRUE(IsOk(Pay(kAccE1, 100'000, Today(), {{r[0], 100'000}})));
    EXPECT_EQ(Run().promises_judged(), 3);
  }

  const absl::CivilDay monday{2026, 11, 30};
  const absl::CivilDay thursday{2026, 12, 3};
  const absl::CivilDay friday{2026, 12, 4};
  std::vector<std::string> r;
  v1::Promise broken, kept, partial, late_ok, late_broken;
};

TEST_F(CreditPromiseTest, JudgedTheDayAfterThePromisedDate) {
  PayAndRunThroughFriday();
  std::map<std::string, v1::Promise> ps = Promises(kAccE1);
  EXPECT_EQ(ps[broken.id()].state(), v1::PROMISE_STATE_BROKEN);
  EXPECT_EQ(ps[broken.id()].paid().units_minor(), 0);
  EXPECT_EQ(Str(ps[broken.id()].judged_date()), "2026-12-04");
  EXPECT_EQ(ps[kept.id()].state(), v1::PROMISE_STATE_KEPT);
  EXPECT_EQ(ps[kept.id()].paid().units_minor(), 100'000);
  EXPECT_EQ(ps[kept.id()].escalation_task_id(), "");
  EXPECT_EQ(ps[partial.id()].state(), v1::PROMISE_STATE_PARTIALLY_KEPT);
  EXPECT_EQ(ps[partial.id()].paid().units_minor(), 40'000);
  EXPECT_EQ(ps[late_ok.id()].state(), v1::PROMISE_STATE_PENDING);
  EXPECT_EQ(ps[late_broken.id()].state(), v1::PROMISE_STATE_PENDING);
}

TEST_F(CreditPromiseTest, ABrokenPromiseIsEscalatedOnce) {
  PayAndRunThroughFriday();
  std::map<std::string, v1::Promise> ps = Promises(kAccE1);
  // The broken promise: an escalation due the next business day, Monday.
  ASSERT_NE(ps[broken.id()].escalation_task_id(), "");
  std::vector<v1::CollectionTask> escalations;
  for (const v1::CollectionTask& t : Tasks(kAccE1)) {
    if (t.kind() == v1::COLLECTION_TASK_KIND_ESCALATION) {
      escalations.push_back(t);
    }
  }
  ASSERT_EQ(escalations.size(), 1u);
  EXPECT_EQ(escalations[0].id(), ps[broken.id()].escalation_task_id());
  EXPECT_EQ(Str(escalations[0].due_date()), "2026-12-07");
  EXPECT_EQ(escalations[0].promise_id(), broken.id());
  EXPECT_EQ(escalations[0].account_id(), kAccE1);
  // Running again the same day judges nothing twice.
  EXPECT_EQ(Run().promises_judged(), 0);
  EXPECT_EQ(TaskLines(kAccE1, v1::COLLECTION_TASK_KIND_ESCALATION).size(), 1u);
}

TEST_F(CreditPromiseTest, ToleranceDaysMoveTheJudgingDay) {
  PayAndRunThroughFriday();
  std::map<std::string, v1::Promise> ps;
  // Tolerance 2: Saturday's payment still counts; judged on Sunday.
  SetToday(absl::CivilDay(2026, 12, 5));
  ASSERT_TRUE(IsOk(Pay(kAccE1, 100'000, Today(), {{r[3], 100'000}})));
  EXPECT_EQ(Run().promises_judged(), 0);
  SetToday(absl::CivilDay(2026, 12, 6));
  EXPECT_EQ(Run().promises_judged(), 2);
  ps = Promises(kAccE1);
  EXPECT_EQ(ps[late_ok.id()].state(), v1::PROMISE_STATE_KEPT);
  EXPECT_EQ(ps[late_ok.id()].paid().units_minor(), 100'000);
  EXPECT_EQ(Str(ps[late_ok.id()].judged_date()), "2026-12-06");
  EXPECT_EQ(ps[late_broken.id()].state(), v1::PROMISE_STATE_BROKEN);
  EXPECT_EQ(
      TaskLines(kAccE1, v1::COLLECTION_TASK_KIND_ESCALATION),
      (std::vector<std::string>{"COLLECTION_TASK_KIND_ESCALATION 2026-12-07 "
                                "DUNNING_STEP_UNSPECIFIED ",
                                "COLLECTION_TASK_KIND_ESCALATION 2026-12-07 "
                                "DUNNING_STEP_UNSPECIFIED "}));
  EXPECT_EQ(Promises(kAccE1, v1::PROMISE_STATE_BROKEN).size(), 2u);
  EXPECT_THAT(Promises(kAccE1, v1::PROMISE_STATE_PENDING), IsEmpty());
}

TEST_F(CreditServiceTest, RecordPromiseChecksTheStoredReceivablesAndRoles) {
  SetToday(absl::CivilDay(2026, 11, 30));
  const v1::Receivable a = Post(kAccE1, 100'000, absl::CivilDay(2026, 11, 1));
  const v1::Receivable b = Post(kAccE2, 100'000, absl::CivilDay(2026, 11, 1));
  v1::RecordPromiseRequest req;
  req.add_receivable_ids(a.id());
  *req.mutable_amount() = Eur(100001);
  *req.mutable_promised_date() = ToProto(absl::CivilDay(2026, 12, 3));
  v1::Promise out;
  // More than is owed on the named receivables.
  EXPECT_TRUE(IsError(Call(&Stub::RecordPromise, req, &out),
                      Code::FAILED_PRECONDITION,
                      "amount: 1000.01 is more than the 1000.00 still owed"));
  *req.mutable_amount() = Eur(100'000);
  // The request's own rules: promise_rules_test.cc.
  *req.mutable_promised_date() = ToProto(absl::CivilDay(2026, 11, 29));
  EXPECT_TRUE(IsError(Call(&Stub::RecordPromise, req, &out),
                      Code::INVALID_ARGUMENT,
                      "promised_date: must not be before today (2026-11-30)"));
  *req.mutable_promised_date() = ToProto(absl::CivilDay(2026, 12, 3));
  req.add_receivable_ids(b.id());
  EXPECT_TRUE(IsError(Call(&Stub::RecordPromise, req, &out),
                      Code::INVALID_ARGUMENT, "one account"));
  req.clear_receivable_ids();
  EXPECT_TRUE(IsError(Call(&Stub::RecordPromise, req, &out),
                      Code::INVALID_ARGUMENT, "receivable_ids"));
  req.add_receivable_ids("rcv_nope");
  EXPECT_TRUE(IsError(Call(&Stub::RecordPromise, req, &out),
                      Code::INVALID_ARGUMENT, "does not exist"));
  req.clear_receivable_ids();
  req.add_receivable_ids(a.id());
  EXPECT_TRUE(IsError(Call(&Stub::RecordPromise, req, &out, kRepE1Token),
                      Code::PERMISSION_DENIED));
  ASSERT_TRUE(IsOk(Pay(kAccE1, 100'000, Today())));
  EXPECT_TRUE(IsError(Call(&Stub::RecordPromise, req, &out),
                      Code::FAILED_PRECONDITION, "owes nothing"));
  EXPECT_THAT(Promises(kAccE1), IsEmpty());
}

// ---------------------------------------------------------------------------
// 9. Collection contacts and excuse codes

TEST_F(CreditServiceTest, EveryExcuseCodeSchedulesItsFollowUp) {
  const absl::CivilDay thursday(2026, 12, 3);
  SetToday(thursday);
  std::map<v1::ExcuseCode, v1::CollectionContact> contacts;
  for (int i = 1; i <= 14; ++i) {
    const auto code = static_cast<v1::ExcuseCode>(i);
    v1::CollectionContact c;
    ASSERT_TRUE(IsOk(Contact(kAccW1, code, &c, {}, "called AP")))
        << v1::ExcuseCode_Name(code);
    EXPECT_THAT(c.id(), StartsWith("col_"));
    EXPECT_EQ(c.excuse_code(), code);
    EXPECT_EQ(c.account_id(), kAccW1);
    EXPECT_EQ(c.notes(), "called AP");
    EXPECT_EQ(c.recorded_by(), "finance");
    const ExcuseRule* rule = RuleFor(code);
    ASSERT_NE(rule, nullptr);
    EXPECT_EQ(c.recommended_response(), rule->recommended_response);
    contacts[code] = c;
  }
  const std::vector<v1::CollectionTask> tasks = Tasks(kAccW1);
  ASSERT_EQ(tasks.size(), 14u);
  std::map<std::string, v1::CollectionTask> by_id;
  for (const v1::CollectionTask& t : tasks) {
    by_id[t.id()] = t;
  }
  for (const auto& [code, c] : contacts) {
    SCOPED_TRACE(v1::ExcuseCode_Name(code));
    ASSERT_EQ(by_id.count(c.follow_up_task_id()), 1u);
    const v1::CollectionTask& t = by_id[c.follow_up_task_id()];
    const ExcuseRule* rule = RuleFor(code);
    EXPECT_EQ(t.kind(), v1::COLLECTION_TASK_KIND_FOLLOW_UP);
    EXPECT_EQ(Str(t.due_date()),
              Str(AddBusinessDays(thursday, rule->follow_up_business_days)));
    EXPECT_TRUE(IsBusinessDay(Civ(t.due_date())));
    EXPECT_EQ(t.text(), rule->follow_up);
    EXPECT_EQ(t.contact_record_id(), c.id());
    EXPECT_EQ(t.excuse_code(), code);
    EXPECT_FALSE(t.done());
  }
  // ALREADY_PAID: verify within 2 business days (Thursday → Monday);
  // EXTENSION_CLAIMED: verify with our manager the next business day.
  EXPECT_EQ(
      Str(by_id[contacts[v1::EXCUSE_CODE_ALREADY_PAID].follow_up_task_id()]
              .due_date()),
      "2026-12-07");
  EXPECT_THAT(contacts[v1::EXCUSE_CODE_ALREADY_PAID].recommended_response(),
              HasSubstr("remittance"));
  EXPECT_EQ(
      Str(by_id[contacts[v1::EXCUSE_CODE_EXTENSION_CLAIMED].follow_up_task_id()]
              .due_date()),
      "2026-12-04");
  EXPECT_THAT(
      by_id[contacts[v1::EXCUSE_CODE_EXTENSION_CLAIMED].follow_up_task_id()]
          .text(),
      HasSubstr("manager"));
  // Ordered by due date, then id.
  for (size_t i = 1; i < tasks.size(); ++i) {
    EXPECT_LE(Str(tasks[i - 1].due_date()), Str(tasks[i].due_date()));
  }
}

TEST_F(CreditServiceTest, CompleteCollectionTaskChecksVersionAndRole) {
  SetToday(absl::CivilDay(2026, 12, 3));
  v1::CollectionContact contact;
  ASSERT_TRUE(IsOk(Contact(kAccW1, v1::EXCUSE_CODE_ALREADY_PAID, &contact)));
  v1::CompleteCollectionTaskRequest done;
  done.set_id(contact.follow_up_task_id());
  done.set_expected_version(7);
  v1::CollectionTask t;
  EXPECT_TRUE(
      IsError(Call(&Stub::CompleteCollectionTask, done, &t), Code::ABORTED));
  EXPECT_TRUE(
      IsError(Call(&Stub::CompleteCollectionTask, done, &t, kRepW1Token),
              Code::PERMISSION_DENIED));
  done.set_expected_version(1);
  ASSERT_TRUE(IsOk(Call(&Stub::CompleteCollectionTask, done, &t)));
  EXPECT_TRUE(t.done());
  EXPECT_EQ(t.done_by(), "finance");
  EXPECT_EQ(t.version(), 2);
  done.set_expected_version(0);
  EXPECT_TRUE(IsError(Call(&Stub::CompleteCollectionTask, done, &t),
                      Code::FAILED_PRECONDITION, "already done"));
  EXPECT_THAT(Tasks(kAccW1, false), IsEmpty());
  EXPECT_EQ(Tasks(kAccW1, true).size(), 1u);
}

TEST_F(CreditServiceTest, QualityIssueDisputesOpenReceivables) {
  SetToday(absl::CivilDay(2026, 12, 3));
  const v1::Receivable paid = Post(kAccE1, 30'000, absl::CivilDay(2026, 11, 1),
                                   absl::CivilDay(2026, 11, 15));
  const v1::Receivable r1 = Post(kAccE1, 100'000, absl::CivilDay(2026, 11, 1),
                                 absl::CivilDay(2026, 11, 20));
  const v1::Receivable r2 = Post(kAccE1, 200'000, absl::CivilDay(2026, 11, 10),
                                 absl::CivilDay(2026, 12, 10));
  ASSERT_TRUE(IsOk(Pay(kAccE1, 30'000, Today())));
  ASSERT_EQ(GetReceivable(paid.id()).state(), v1::RECEIVABLE_STATE_PAID);

  v1::CollectionContact c;
  ASSERT_TRUE(IsOk(Contact(kAccE1, v1::EXCUSE_CODE_QUALITY_ISSUE, &c, {},
                           "pump housing cracked")));
  EXPECT_THAT(c.disputed_receivable_ids(),
              UnorderedElementsAre(r1.id(), r2.id()));
  for (const v1::Receivable& r : {r1, r2}) {
    const v1::Receivable got = GetReceivable(r.id());
    EXPECT_EQ(got.state(), v1::RECEIVABLE_STATE_DISPUTED) << r.id();
    EXPECT_THAT(got.dispute_reason(), HasSubstr("pump housing cracked"));
  }
  EXPECT_EQ(GetReceivable(paid.id()).state(), v1::RECEIVABLE_STATE_PAID);
  const std::vector<v1::CollectionTask> tasks = Tasks(kAccE1);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].id(), c.follow_up_task_id());
  EXPECT_EQ(Str(tasks[0].due_date()), "2026-12-08");  // 3 business days

  // Default allocation skips disputed receivables, however old.
  const v1::Receivable r3 = Post(kAccE1, 50'000, absl::CivilDay(2026, 12, 1),
                                 absl::CivilDay(2026, 12, 31));
  v1::Payment p;
  ASSERT_TRUE(IsOk(Pay(kAccE1, 20'000, Today(), {}, "", &p)));
  ASSERT_EQ(p.allocations_size(), 1);
  EXPECT_EQ(p.allocations(0).receivable_id(), r3.id());
  EXPECT_TRUE(IsError(Pay(kAccE1, 30'001, Today()), Code::FAILED_PRECONDITION,
                      "undisputed"));
  // Disputes also pause dunning: only r3 could be dunned (none due yet).
  EXPECT_EQ(Run().dunning_tasks(), 0);

  // Named receivables: only those are disputed.
  const v1::Receivable e1 = Post(kAccE2, 10'000, absl::CivilDay(2026, 11, 1));
  const v1::Receivable e2 = Post(kAccE2, 10'000, absl::CivilDay(2026, 11, 1));
  ASSERT_TRUE(
      IsOk(Contact(kAccE2, v1::EXCUSE_CODE_QUALITY_ISSUE, &c, {e1.id()}, "")));
  EXPECT_THAT(c.disputed_receivable_ids(), ElementsAre(e1.id()));
  EXPECT_EQ(GetReceivable(e1.id()).state(), v1::RECEIVABLE_STATE_DISPUTED);
  EXPECT_EQ(GetReceivable(e2.id()).state(), v1::RECEIVABLE_STATE_OPEN);
  EXPECT_TRUE(IsError(
      Contact(kAccE1, v1::EXCUSE_CODE_QUALITY_ISSUE, &c, {paid.id()}, ""),
      Code::FAILED_PRECONDITION, "not open: it cannot be disputed"));
}

TEST_F(CreditServiceTest, RecordCollectionContactValidatesAndReplays) {
  v1::CollectionContact c;
  EXPECT_TRUE(IsError(Contact(kAccE1, v1::EXCUSE_CODE_UNSPECIFIED, &c),
                      Code::INVALID_ARGUMENT, "excuse_code: required"));
  EXPECT_TRUE(IsError(Contact(kAccE1, static_cast<v1::ExcuseCode>(99), &c),
                      Code::INVALID_ARGUMENT, "excuse_code"));
  EXPECT_TRUE(IsError(Contact(kAccE1, v1::EXCUSE_CODE_NO_MONEY, &c, {"rcv_x"}),
                      Code::INVALID_ARGUMENT,
                      "receivable_ids: only for QUALITY_ISSUE"));
  EXPECT_TRUE(IsError(
      Contact(kAccE1, v1::EXCUSE_CODE_NO_MONEY, &c, {}, std::string(2001, 'n')),
      Code::INVALID_ARGUMENT, "notes: at most 2000"));
  EXPECT_TRUE(IsError(Contact("acc_nope", v1::EXCUSE_CODE_NO_MONEY, &c),
                      Code::INVALID_ARGUMENT,
                      "account acc_nope does not exist"));
  EXPECT_TRUE(IsError(
      Contact(kAccE1, v1::EXCUSE_CODE_NO_MONEY, &c, {}, "", "", kRepE1Token),
      Code::PERMISSION_DENIED));
  EXPECT_THAT(Tasks(kAccE1), IsEmpty());

  v1::CollectionContact first;
  ASSERT_TRUE(
      IsOk(Contact(kAccE1, v1::EXCUSE_CODE_WILL_PAY, &first, {}, "", "req-1")));
  v1::CollectionContact again;
  ASSERT_TRUE(
      IsOk(Contact(kAccE1, v1::EXCUSE_CODE_WILL_PAY, &again, {}, "", "req-1")));
  EXPECT_TRUE(MessageDifferencer::Equals(first, again));
  EXPECT_EQ(Tasks(kAccE1).size(), 1u);
}

// ---------------------------------------------------------------------------
// 10. Dunning

// Two receivables due Monday 2026-03-02 under the default strategy: r of e1
// (with a profile) never paid, s of e2 paid after its first reminder.
class CreditDunningTest : public CreditServiceTest {
 protected:
  void SetUp() override {
    CreditServiceTest::SetUp();
    SetToday(due - 30);
    SetProfile(kAccE1, 10'000'000, 30, v1::RISK_CLASS_MEDIUM);
    r = Post(kAccE1, 100'000, due - 30, due);
    s = Post(kAccE2, 50000, due - 30, due);
  }

  // The daily run on every day from due - 5 to due + 61.
  void RunEveryDay() {
    for (int offset = -5; offset <= 61; ++offset) {
      SetToday(due + offset);
      if (offset == 10) {  // s is paid after its first reminder
        ASSERT_TRUE(IsOk(Pay(kAccE2, 50'000, Today())));
      }
      const v1::RunCollectionsResponse resp = Run();
      EXPECT_EQ(Str(resp.today()), Str(due + offset));
      if (resp.dunning_tasks() != 0) {
        tasks_on[offset] = resp.dunning_tasks();
      }
      if (resp.holds_placed() != 0) {
        holds_on[offset] = resp.holds_placed();
      }
    }
  }

  const absl::CivilDay due{2026, 3, 2};
  v1::Receivable r, s;
  std::map<int, int> tasks_on;  // offset from due → dunning tasks issued
  std::map<int, int> holds_on;
};

TEST_F(CreditServiceTest, RunCollectionsIsForFinanceAndAdmin) {
  // The daily run is for finance and admin.
  v1::RunCollectionsResponse refused;
  for (const char* token : {kRepE1Token, kManagerEastToken, kServiceToken}) {
    EXPECT_TRUE(IsError(Call(&Stub::RunCollections, v1::RunCollectionsRequest(),
                             &refused, token),
                        Code::PERMISSION_DENIED))
        << token;
  }
}

TEST_F(CreditDunningTest, StepsComeOnTheirDays) {
  RunEveryDay();
  EXPECT_EQ(tasks_on,
            (std::map<int, int>{{-3, 2}, {1, 2}, {15, 1}, {30, 1}, {60, 1}}));
  EXPECT_EQ(holds_on, (std::map<int, int>{{60, 1}}));

  const std::string rid = r.id();
  EXPECT_EQ(
      TaskLines(kAccE1, v1::COLLECTION_TASK_KIND_DUNNING),
      (std::vector<std::string>{
          "COLLECTION_TASK_KIND_DUNNING 2026-02-27 "
          "DUNNING_STEP_COURTESY_REMINDER " +
              rid,
          "COLLECTION_TASK_KIND_DUNNING 2026-03-03 "
          "DUNNING_STEP_FIRST_REMINDER " +
              rid,
          "COLLECTION_TASK_KIND_DUNNING 2026-03-17 "
          "DUNNING_STEP_SECOND_REMINDER " +
              rid,
          "COLLECTION_TASK_KIND_DUNNING 2026-04-01 DUNNING_STEP_FINAL_NOTICE " +
              rid,
          "COLLECTION_TASK_KIND_DUNNING 2026-05-01 DUNNING_STEP_CREDIT_HOLD " +
              rid}));
  // The paid receivable got its two steps and no more.
  EXPECT_EQ(TaskLines(kAccE2, v1::COLLECTION_TASK_KIND_DUNNING),
            (std::vector<std::string>{"COLLECTION_TASK_KIND_DUNNING 2026-02-27 "
                                      "DUNNING_STEP_COURTESY_REMINDER " +
                                          s.id(),
                                      "COLLECTION_TASK_KIND_DUNNING 2026-03-03 "
                                      "DUNNING_STEP_FIRST_REMINDER " +
                                          s.id()}));
  EXPECT_EQ(GetReceivable(rid).dunning_step(), v1::DUNNING_STEP_CREDIT_HOLD);
  EXPECT_EQ(GetReceivable(s.id()).dunning_step(),
            v1::DUNNING_STEP_FIRST_REMINDER);
}

TEST_F(CreditDunningTest, TheHoldStepEscalatesHoldsAndBlocks) {
  RunEveryDay();
  const std::string rid = r.id();
  // The hold step escalates too, the next business day (Friday → Monday).
  EXPECT_EQ(TaskLines(kAccE1, v1::COLLECTION_TASK_KIND_ESCALATION),
            (std::vector<std::string>{"COLLECTION_TASK_KIND_ESCALATION "
                                      "2026-05-04 DUNNING_STEP_CREDIT_HOLD " +
                                      rid}));
  v1::CreditProfile profile;
  ASSERT_TRUE(IsOk(GetProfile(kAccE1, &profile)));
  EXPECT_TRUE(profile.hold());
  EXPECT_THAT(profile.hold_reason(), HasSubstr(rid));
  EXPECT_EQ(profile.credit_limit().units_minor(), 10'000'000);
  EXPECT_EQ(profile.version(), 2);

  const v1::CreditCheck check = Check(kAccE1, 1);
  EXPECT_EQ(check.decision(), v1::CREDIT_DECISION_BLOCK);
  EXPECT_THAT(check.reasons(), ::testing::Contains(absl::StrCat(
                                   "account on credit hold: dunning: ", rid,
                                   " reached the credit hold step")));

  // Nothing more once the last step is issued.
  SetToday(due + 90);
  const v1::RunCollectionsResponse later = Run();
  EXPECT_EQ(later.dunning_tasks(), 0);
  EXPECT_EQ(later.holds_placed(), 0);
}

TEST_F(CreditServiceTest, SetDunningStrategyValidatesVersionsAndRoles) {
  v1::DunningStrategy def;
  ASSERT_TRUE(IsOk(Call(&Stub::GetDunningStrategy,
                        v1::GetDunningStrategyRequest(), &def, kRepE1Token)));
  EXPECT_EQ(def.courtesy_reminder_days(), -3);
  EXPECT_EQ(def.first_reminder_days(), 1);
  EXPECT_EQ(def.second_reminder_days(), 15);
  EXPECT_EQ(def.final_notice_days(), 30);
  EXPECT_EQ(def.credit_hold_days(), 60);

  v1::DunningStrategy req;
  req.set_courtesy_reminder_days(-3);
  req.set_first_reminder_days(-5);
  req.set_second_reminder_days(5);
  req.set_final_notice_days(9);
  req.set_credit_hold_days(12);
  v1::DunningStrategy out;
  EXPECT_TRUE(IsError(Call(&Stub::SetDunningStrategy, req, &out),
                      Code::INVALID_ARGUMENT,
                      "first_reminder_days: must be after "
                      "courtesy_reminder_days (-3), got -5"));
  req.set_courtesy_reminder_days(-1);
  req.set_first_reminder_days(2);
  req.set_expected_version(4);
  EXPECT_TRUE(
      IsError(Call(&Stub::SetDunningStrategy, req, &out), Code::ABORTED));
  req.set_expected_version(0);
  EXPECT_TRUE(IsError(Call(&Stub::SetDunningStrategy, req, &out, kRepE1Token),
                      Code::PERMISSION_DENIED));
  ASSERT_TRUE(IsOk(Call(&Stub::SetDunningStrategy, req, &out)));
  EXPECT_EQ(out.version(), 1);
  EXPECT_EQ(out.expected_version(), 0);
  v1::DunningStrategy got;
  ASSERT_TRUE(IsOk(
      Call(&Stub::GetDunningStrategy, v1::GetDunningStrategyRequest(), &got)));
  EXPECT_TRUE(MessageDifferencer::Equals(got, out)) << got.DebugString();
}

TEST_F(CreditServiceTest, CustomDunningStrategyMovesTheDays) {
  v1::DunningStrategy req;
  req.set_courtesy_reminder_days(-1);
  req.set_first_reminder_days(2);
  req.set_second_reminder_days(5);
  req.set_final_notice_days(9);
  req.set_credit_hold_days(12);
  v1::DunningStrategy out;
  ASSERT_TRUE(IsOk(Call(&Stub::SetDunningStrategy, req, &out)));
  // −1, +2, +5, +9, +12 around a due date D; acc_e2 has no profile, so the
  // hold step creates one on hold.
  const absl::CivilDay due(2026, 3, 2);
  SetToday(due - 5);
  const v1::Receivable r = Post(kAccE2, 100'000, due - 30, due);
  // Posted when its first two steps are already past: one task (the latest
  // step due), not a burst.
  const v1::Receivable late = Post(kAccW1, 100'000, due - 37, due - 7);
  std::map<int, int> tasks_on;
  for (int offset = -5; offset <= 14; ++offset) {
    SetToday(due + offset);
    const int n = Run().dunning_tasks();
    if (n != 0) {
      tasks_on[offset] = n;
    }
  }
  // r: −1, +2, +5, +9, +12; late (due −7): first reminder on −5, second on
  // −2, final on +2, hold on +5.
  EXPECT_EQ(tasks_on,
            (std::map<int, int>{
                {-5, 1}, {-2, 1}, {-1, 1}, {2, 2}, {5, 2}, {9, 1}, {12, 1}}));
  std::vector<std::string> days;
  for (const v1::CollectionTask& t : Tasks(kAccE2)) {
    if (t.kind() == v1::COLLECTION_TASK_KIND_DUNNING) {
      days.push_back(absl::StrCat(Str(t.due_date()), " ",
                                  v1::DunningStep_Name(t.dunning_step())));
    }
  }
  EXPECT_THAT(days, ElementsAre("2026-03-01 DUNNING_STEP_COURTESY_REMINDER",
                                "2026-03-04 DUNNING_STEP_FIRST_REMINDER",
                                "2026-03-07 DUNNING_STEP_SECOND_REMINDER",
                                "2026-03-11 DUNNING_STEP_FINAL_NOTICE",
                                "2026-03-14 DUNNING_STEP_CREDIT_HOLD"));
  EXPECT_EQ(TaskLines(kAccW1, v1::COLLECTION_TASK_KIND_DUNNING).front(),
            "COLLECTION_TASK_KIND_DUNNING 2026-02-25 "
            "DUNNING_STEP_FIRST_REMINDER " +
                late.id());
  v1::CreditProfile profile;
  ASSERT_TRUE(IsOk(GetProfile(kAccE2, &profile)));
  EXPECT_TRUE(profile.hold());
  EXPECT_THAT(profile.hold_reason(), HasSubstr(r.id()));
  EXPECT_EQ(Check(kAccE2, 1).decision(), v1::CREDIT_DECISION_BLOCK);
}

// ---------------------------------------------------------------------------
// 11. Debtor classes

TEST_F(CreditServiceTest, DebtorClassFollowsPaymentBehaviourAsOf) {
  SetToday(absl::CivilDay(2026, 9, 1));
  const v1::Receivable on_time = Post(
      kAccE1, 10'000, absl::CivilDay(2026, 2, 1), absl::CivilDay(2026, 3, 1));
  const v1::Receivable reminded = Post(
      kAccE1, 10'000, absl::CivilDay(2026, 3, 1), absl::CivilDay(2026, 4, 1));
  const v1::Receivable pressed = Post(
      kAccE1, 10'000, absl::CivilDay(2026, 4, 1), absl::CivilDay(2026, 5, 1));
  const v1::Receivable lost = Post(kAccE1, 10'000, absl::CivilDay(2026, 5, 1),
                                   absl::CivilDay(2026, 6, 1));
  ASSERT_TRUE(IsOk(Pay(kAccE1, 10'000, absl::CivilDay(2026, 3, 1),
                       {{on_time.id(), 10'000}})));
  ASSERT_TRUE(IsOk(Pay(kAccE1, 10'000, absl::CivilDay(2026, 4, 3),
                       {{reminded.id(), 10'000}})));
  // Its final notice day is 05-31.
  ASSERT_TRUE(IsOk(Pay(kAccE1, 10'000, absl::CivilDay(2026, 6, 5),
                       {{pressed.id(), 10'000}})));
  v1::WriteOffRequest w;
  w.set_receivable_id(lost.id());
  w.set_reason("customer insolvent");
  *w.mutable_date() = ToProto(absl::CivilDay(2026, 8, 1));
  v1::Receivable written;
  ASSERT_TRUE(IsOk(Call(&Stub::WriteOff, w, &written)));

  EXPECT_EQ(DebtorClass(kAccE1, absl::CivilDay(2026, 2, 15)).debtor_class(),
            v1::DEBTOR_CLASS_NO_HISTORY);
  EXPECT_EQ(DebtorClass(kAccE1, absl::CivilDay(2026, 3, 15)).debtor_class(),
            v1::DEBTOR_CLASS_PAYS_ON_TIME);
  const v1::DebtorClassAnswer when_reminded =
      DebtorClass(kAccE1, absl::CivilDay(2026, 4, 15));
  EXPECT_EQ(when_reminded.debtor_class(), v1::DEBTOR_CLASS_PAYS_WHEN_REMINDED);
  EXPECT_THAT(when_reminded.reason(), HasSubstr(reminded.id()));
  const v1::DebtorClassAnswer when_pressed =
      DebtorClass(kAccE1, absl::CivilDay(2026, 6, 10));
  EXPECT_EQ(when_pressed.debtor_class(), v1::DEBTOR_CLASS_PAYS_WHEN_PRESSED);
  EXPECT_THAT(when_pressed.reason(), HasSubstr(pressed.id()));
  EXPECT_EQ(DebtorClass(kAccE1, absl::CivilDay(2026, 7, 31)).debtor_class(),
            v1::DEBTOR_CLASS_PAYS_WHEN_PRESSED);
  const v1::DebtorClassAnswer non_payer =
      DebtorClass(kAccE1, absl::CivilDay(2026, 8, 1));
  EXPECT_EQ(non_payer.debtor_class(), v1::DEBTOR_CLASS_NON_PAYER);
  EXPECT_THAT(non_payer.reason(), HasSubstr(lost.id()));
  EXPECT_THAT(non_payer.reason(), HasSubstr("written off"));
  EXPECT_EQ(non_payer.account_id(), kAccE1);
}

TEST_F(CreditServiceTest, DebtorClassNonPayerWhenLongOverdueBlocksAndIsScoped) {
  SetToday(absl::CivilDay(2026, 9, 1));
  // More than 180 days past due makes a non-payer.
  Post(kAccE2, 10'000, absl::CivilDay(2025, 12, 1), absl::CivilDay(2026, 1, 1));
  EXPECT_EQ(DebtorClass(kAccE2, absl::CivilDay(2026, 6, 30)).debtor_class(),
            v1::DEBTOR_CLASS_PAYS_WHEN_PRESSED);  // 180 days
  EXPECT_EQ(DebtorClass(kAccE2, absl::CivilDay(2026, 7, 1)).debtor_class(),
            v1::DEBTOR_CLASS_NON_PAYER);  // 181 days
  SetProfile(kAccE2, 10'000'000, 30, v1::RISK_CLASS_LOW);
  EXPECT_THAT(Check(kAccE2, 1).reasons(),
              ::testing::Contains("debtor class NON_PAYER"));

  v1::GetDebtorClassRequest req;
  req.set_account_id(kAccE1);
  v1::DebtorClassAnswer out;
  EXPECT_TRUE(IsError(Call(&Stub::GetDebtorClass, req, &out, kRepW1Token),
                      Code::PERMISSION_DENIED));
  ASSERT_TRUE(IsOk(Call(&Stub::GetDebtorClass, req, &out, kRepE1Token)));
  EXPECT_EQ(out.debtor_class(), v1::DEBTOR_CLASS_NO_HISTORY);  // as of today
  req.set_account_id(kAccE2);
  ASSERT_TRUE(IsOk(Call(&Stub::GetDebtorClass, req, &out, kManagerEastToken)));
  EXPECT_EQ(out.debtor_class(), v1::DEBTOR_CLASS_NON_PAYER);
}

}  // namespace
}  // namespace salesops::credit::credit_test
