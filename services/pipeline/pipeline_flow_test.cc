// gRPC-level tests of the pipeline service (pipeline_test_fixture.h): moving
// through the stages, the credit check on the way, concurrent writers,
// closing and reopening, and the history they leave.

#include "services/pipeline/pipeline_test_fixture.h"

namespace salesops::pipeline::grpc_test {
namespace {

// ---------------------------------------------------------------------------
// MoveStage (SPEC §3.3)

TEST_F(PipelineMoveStageTest, ForwardNeedsTheRequiredExitCriteria) {
  // The criteria rules are opportunity_rules_test.cc's and
  // stage_rules_test.cc's; here: SetExitCriterion and MoveStage over the
  // wire, and a refused move writes nothing.
  const v1::Opportunity o = MustCreate();
  v1::Opportunity out;
  grpc::Status s = Move(o.id(), "CONSIDERATION", o.version(), &out);
  ASSERT_TRUE(IsError(s, grpc::StatusCode::FAILED_PRECONDITION,
                      "INTEREST/purchase_request"));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), o));

  v1::Opportunity checked = MustCheck(o.id(), "INTEREST", "purchase_request");
  EXPECT_EQ(checked.version(), o.version() + 1);
  ASSERT_EQ(checked.criteria_size(), 1);
  EXPECT_TRUE(checked.criteria(0).checked());
  EXPECT_EQ(checked.criteria(0).changed_by(), "admin");
  // Unchecking counts.
  ASSERT_TRUE(IsOk(Check(o.id(), "INTEREST", "purchase_request", false, &out)));
  EXPECT_TRUE(IsError(Move(o.id(), "CONSIDERATION", out.version(), &out),
                      grpc::StatusCode::FAILED_PRECONDITION,
                      "INTEREST/purchase_request"));
  // A stale expected_version, an unknown criterion, a missing id.
  EXPECT_TRUE(IsError(Check(o.id(), "INTEREST", "purchase_request", true, &out,
                            kAdminToken, o.version()),
                      grpc::StatusCode::ABORTED));
  EXPECT_TRUE(IsError(Check(o.id(), "INTEREST", "nothing", true, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "criterion_key"));
  EXPECT_TRUE(IsError(Check("", "INTEREST", "purchase_request", true, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "opportunity_id"));
  EXPECT_TRUE(IsError(
      Check(o.id(), "INTEREST", "purchase_request", true, &out, kRep3Token),
      grpc::StatusCode::PERMISSION_DENIED));
}

TEST_F(PipelineMoveStageTest, CheckedMovesForwardAndSlipsAreRecorded) {
  const v1::Opportunity o = MustCreate();
  clock_.Advance(absl::Hours(3));
  const v1::Opportunity checked =
      MustCheck(o.id(), "INTEREST", "purchase_request");
  v1::Opportunity moved;
  ASSERT_TRUE(IsOk(
      Move(o.id(), "CONSIDERATION", checked.version(), &moved, kRep1Token)));
  EXPECT_EQ(moved.stage_key(), "CONSIDERATION");
  EXPECT_EQ(moved.version(), checked.version() + 1);
  EXPECT_EQ(moved.stage_entered_micros(), NowMicros());
  EXPECT_FALSE(moved.credit_review_pending());
  std::vector<v1::OpportunityChange> h = History(o.id());
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].kind(), v1::CHANGE_KIND_STAGE_FORWARD);
  EXPECT_EQ(h[1].from(), "INTEREST");
  EXPECT_EQ(h[1].to(), "CONSIDERATION");
  EXPECT_EQ(h[1].by(), "rep-1");
  EXPECT_FALSE(h[1].override());
  EXPECT_TRUE(h[1].overridden_criteria().empty());
  EXPECT_EQ(h[1].opportunity_version(), moved.version());

  // Backward is always allowed, whatever is checked, even by a REP.
  clock_.Advance(absl::Hours(1));
  v1::Opportunity slipped;
  ASSERT_TRUE(
      IsOk(Move(o.id(), "INTEREST", moved.version(), &slipped, kRep1Token)));
  EXPECT_EQ(slipped.stage_key(), "INTEREST");
  EXPECT_EQ(slipped.stage_entered_micros(), NowMicros());
  h = History(o.id());
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[2].kind(), v1::CHANGE_KIND_STAGE_BACKWARD);
  EXPECT_EQ(h[2].from(), "CONSIDERATION");
  EXPECT_EQ(h[2].to(), "INTEREST");

  // A slip of several stages at once.
  const v1::Opportunity far = AdvanceTo(slipped, "COMPARISON");
  v1::Opportunity back;
  ASSERT_TRUE(IsOk(Move(o.id(), "INTEREST", far.version(), &back)));
  EXPECT_EQ(History(o.id()).back().kind(), v1::CHANGE_KIND_STAGE_BACKWARD);
  // Criteria stay checked: moving forward again needs no new checks.
  ASSERT_TRUE(IsOk(Move(o.id(), "COMPARISON", back.version(), &back)));

  // Bad targets.
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Move(o.id(), "COMPARISON", 0, &out),
                      grpc::StatusCode::FAILED_PRECONDITION, "already"));
  EXPECT_TRUE(IsError(Move(o.id(), "NOWHERE", 0, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "to_stage_key"));
  EXPECT_TRUE(IsError(Move(o.id(), "", 0, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "to_stage_key"));
  EXPECT_TRUE(
      IsError(Move(o.id(), "INTEREST", 1, &out), grpc::StatusCode::ABORTED));
  EXPECT_TRUE(IsError(Move("opp_unknown", "INTEREST", 0, &out),
                      grpc::StatusCode::NOT_FOUND));
}

TEST_F(PipelineMoveStageTest, OnlyManagersAndAdminsOverride) {
  const v1::Opportunity o = MustCreate();
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Move(o.id(), "DESIGN", o.version(), &out, kRep1Token,
                           "customer said yes on the phone"),
                      grpc::StatusCode::PERMISSION_DENIED, "override_reason"));
  // A manager outside the subtree may not either.
  EXPECT_TRUE(IsError(
      Move(o.id(), "DESIGN", o.version(), &out, kManagerBToken, "because"),
      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), o));

  clock_.Advance(absl::Minutes(5));
  v1::Opportunity forced;
  ASSERT_TRUE(IsOk(Move(o.id(), "DESIGN", o.version(), &forced, kManagerAToken,
                        "  budget confirmed by the CFO  ")));
  EXPECT_EQ(forced.stage_key(), "DESIGN");
  const std::vector<v1::OpportunityChange> h = History(o.id());
  ASSERT_EQ(h.size(), 2u);
  EXPECT_TRUE(h[1].override());
  EXPECT_EQ(h[1].reason(), "budget confirmed by the CFO");
  EXPECT_EQ(h[1].time_micros(), NowMicros());
  EXPECT_THAT(h[1].overridden_criteria(),
              ElementsAre("INTEREST/purchase_request",
                          "CONSIDERATION/decision_to_buy"));
}

TEST_F(PipelineMoveStageTest, SignedClosesProjectSalesAsWon) {
  // The rule is opportunity_rules_test.cc's; here: both history entries and
  // the cancelled follow-ups are stored, and the list finds it WON.
  v1::Opportunity draft = Draft();
  draft.set_stage_model_id(kProjectSales8);
  draft.set_stage_key("NEGOTIATION");
  const v1::Opportunity o = MustCreate(draft);
  const v1::Opportunity checked =
      MustCheck(o.id(), "NEGOTIATION", "terms_agreed");
  v1::Opportunity won;
  ASSERT_TRUE(IsOk(Move(o.id(), "SIGNED", checked.version(), &won)));
  EXPECT_EQ(won.status(), v1::OPPORTUNITY_STATUS_WON);
  EXPECT_EQ(fake_credit_.calls(), 0) << "SIGNED needs no credit check";
  const std::vector<v1::OpportunityChange> h = History(o.id());
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[1].kind(), v1::CHANGE_KIND_STAGE_FORWARD);
  EXPECT_EQ(h[2].kind(), v1::CHANGE_KIND_CLOSED);
  for (const v1::FollowUp& f : FollowUps(o.id())) {
    EXPECT_EQ(f.state(), v1::FOLLOW_UP_STATE_CANCELLED) << f.id();
  }
  v1::ListOpportunitiesRequest req;
  req.set_status(v1::OPPORTUNITY_STATUS_WON);
  EXPECT_EQ(ListIds(req), std::set<std::string>{o.id()});
}

// ---------------------------------------------------------------------------
// Entering a credit-checked stage (SPEC §3.3, §6)

TEST_F(PipelineCreditTest, BlockRefusesTheMoveWithTheReasons) {
  const v1::Opportunity o = AdvanceTo(MustCreate(), "COMPARISON");
  const v1::Opportunity ready =
      MustCheck(o.id(), "COMPARISON", "proposals_submitted");
  fake_credit_.Script(
      CreditDecision::kBlock,
      {"credit limit exceeded by 20,000.00 EUR", "account on credit hold"});
  v1::Opportunity out;
  grpc::Status s = Move(o.id(), "COMMITMENT", ready.version(), &out);
  ASSERT_TRUE(IsError(s, grpc::StatusCode::FAILED_PRECONDITION,
                      "credit limit exceeded by 20,000.00 EUR"));
  EXPECT_THAT(s.error_message(), HasSubstr("account on credit hold"));
  EXPECT_EQ(fake_credit_.calls(), 1);
  EXPECT_EQ(fake_credit_.last().account_id, kAcc1);
  EXPECT_EQ(fake_credit_.last().amount_minor, 5'000'000);
  EXPECT_EQ(fake_credit_.last().currency, "EUR");
  EXPECT_EQ(fake_credit_.last().opportunity_id, o.id());
  // Nothing changed.
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), ready));
  EXPECT_EQ(History(o.id()).size(),
            static_cast<size_t>(ready.history_length()));

  // A manager's override does not get past a credit block either, also when
  // the credit-checked stage is skipped over.
  s = Move(o.id(), "USAGE", ready.version(), &out, kManagerAToken,
           "customer is good for it");
  EXPECT_TRUE(IsError(s, grpc::StatusCode::FAILED_PRECONDITION,
                      "account on credit hold"));
  EXPECT_EQ(fake_credit_.calls(), 2);
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), ready));
}

TEST_F(PipelineCreditTest, ReviewPassesMarkedPendingAndApproveClearsIt) {
  const v1::Opportunity o = AdvanceTo(MustCreate(), "COMPARISON");
  const v1::Opportunity ready =
      MustCheck(o.id(), "COMPARISON", "proposals_submitted");
  fake_credit_.Script(CreditDecision::kReview,
                      {"new customer", "exposure above 80% of the limit"});
  v1::Opportunity review;
  ASSERT_TRUE(IsOk(Move(o.id(), "COMMITMENT", ready.version(), &review)));
  EXPECT_EQ(review.stage_key(), "COMMITMENT");
  EXPECT_TRUE(review.credit_review_pending());
  EXPECT_THAT(review.credit_review_reason(), HasSubstr("new customer"));
  EXPECT_THAT(review.credit_review_reason(),
              HasSubstr("exposure above 80% of the limit"));
  EXPECT_EQ(History(o.id()).back().kind(), v1::CHANGE_KIND_STAGE_FORWARD);

  // A backward move asks nobody; forward again with APPROVE clears the mark.
  const int calls = fake_credit_.calls();
  v1::Opportunity back;
  ASSERT_TRUE(IsOk(Move(o.id(), "COMPARISON", review.version(), &back)));
  EXPECT_EQ(fake_credit_.calls(), calls);
  fake_credit_.Script(CreditDecision::kApprove);
  v1::Opportunity approved;
  ASSERT_TRUE(IsOk(Move(o.id(), "COMMITMENT", back.version(), &approved)));
  EXPECT_EQ(fake_credit_.calls(), calls + 1);
  EXPECT_FALSE(approved.credit_review_pending());
  EXPECT_TRUE(approved.credit_review_reason().empty());
  // Stages after the credit-checked one ask nobody.
  const v1::Opportunity commit =
      MustCheck(o.id(), "COMMITMENT", "supplier_chosen_and_signed");
  v1::Opportunity usage;
  ASSERT_TRUE(IsOk(Move(o.id(), "USAGE", commit.version(), &usage)));
  EXPECT_EQ(fake_credit_.calls(), calls + 1);
}

TEST_F(PipelineCreditTest, ApproveIsNotPending) {
  const v1::Opportunity o = AdvanceTo(MustCreate(), "COMPARISON");
  const v1::Opportunity ready =
      MustCheck(o.id(), "COMPARISON", "proposals_submitted");
  fake_credit_.Script(CreditDecision::kApprove);
  v1::Opportunity moved;
  ASSERT_TRUE(IsOk(Move(o.id(), "COMMITMENT", ready.version(), &moved)));
  EXPECT_FALSE(moved.credit_review_pending());
  EXPECT_TRUE(moved.credit_review_reason().empty());
  EXPECT_EQ(fake_credit_.calls(), 1);
}

// Issue 19 (D40): a KWD deal is created as given and credit is asked about
// the deal's own amount and currency (credit converts; pipeline has no rates).
TEST_F(PipelineCreditTest, ChecksCreditInTheDealsOwnCurrency) {
  v1::Opportunity draft = Draft("r1");
  draft.mutable_amount()->set_units_minor(12'345'678);  // 12345.678 KWD
  draft.mutable_amount()->set_currency("KWD");
  const v1::Opportunity created = MustCreate(draft);
  EXPECT_EQ(created.amount().currency(), "KWD");
  EXPECT_EQ(created.amount().units_minor(), 12'345'678);
  const v1::Opportunity o = AdvanceTo(created, "COMPARISON");
  const v1::Opportunity ready =
      MustCheck(o.id(), "COMPARISON", "proposals_submitted");
  fake_credit_.Script(CreditDecision::kApprove);
  v1::Opportunity moved;
  ASSERT_TRUE(IsOk(Move(o.id(), "COMMITMENT", ready.version(), &moved)));
  ASSERT_EQ(fake_credit_.calls(), 1);
  EXPECT_EQ(fake_credit_.last().amount_minor, 12'345'678);
  EXPECT_EQ(fake_credit_.last().currency, "KWD");
}

TEST_F(PipelineCreditTest, UnconfiguredCreditMarksPending) {
  std::unique_ptr<CreditClient> unconfigured = NewUnconfiguredCreditClient();
  UseCredit(unconfigured.get());
  const v1::Opportunity o = AdvanceTo(MustCreate(), "COMPARISON");
  const v1::Opportunity ready =
      MustCheck(o.id(), "COMPARISON", "proposals_submitted");
  v1::Opportunity moved;
  ASSERT_TRUE(IsOk(Move(o.id(), "COMMITMENT", ready.version(), &moved)));
  EXPECT_TRUE(moved.credit_review_pending());
  EXPECT_EQ(moved.credit_review_reason(), "credit service not configured");
  EXPECT_EQ(fake_credit_.calls(), 0);
  UseCredit(&fake_credit_);  // before `unconfigured` goes away
}

TEST_F(PipelineCreditTest, CreditUnavailableWritesNothing) {
  const v1::Opportunity o = AdvanceTo(MustCreate(), "COMPARISON");
  const v1::Opportunity ready =
      MustCheck(o.id(), "COMPARISON", "proposals_submitted");
  const uint64_t before = FeedPosition();
  fake_credit_.ScriptError(absl::UnavailableError("credit service down"));
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Move(o.id(), "COMMITMENT", ready.version(), &out),
                      grpc::StatusCode::UNAVAILABLE));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), ready));
  EXPECT_EQ(FeedPosition(), before);
  fake_credit_.Script(CreditDecision::kApprove);
  EXPECT_TRUE(IsOk(Move(o.id(), "COMMITMENT", ready.version(), &out)));
}

TEST_F(PipelineCreditTest, AmountChangedDuringTheCheckAbortsTheMove) {
  const v1::Opportunity o = AdvanceTo(MustCreate(), "COMPARISON");
  const v1::Opportunity ready =
      MustCheck(o.id(), "COMPARISON", "proposals_submitted");
  // While credit looks at 50,000.00 EUR, the rep raises the amount.
  grpc::Status raised;
  fake_credit_.DuringCheck([&] {
    v1::Opportunity edit = ready;
    *edit.mutable_amount() = Eur(9'000'000);
    v1::Opportunity out;
    raised = Update(edit, ready.version(), &out, kRep1Token);
  });
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Move(o.id(), "COMMITMENT", 0, &out),
                      grpc::StatusCode::ABORTED, "credit check"));
  ASSERT_TRUE(IsOk(raised));
  v1::Opportunity now = MustGet(o.id());
  EXPECT_EQ(now.stage_key(), "COMPARISON");
  EXPECT_EQ(now.amount().units_minor(), 9'000'000);
  EXPECT_EQ(CountKind(History(o.id()), v1::CHANGE_KIND_STAGE_FORWARD), 3);

  // A change that leaves the amount alone does not invalidate the answer;
  // with an expected_version, any change does.
  fake_credit_.DuringCheck([&] {
    v1::Opportunity edit = now;
    edit.set_name("Renamed during the check");
    v1::Opportunity renamed;
    raised = Update(edit, 0, &renamed);
  });
  EXPECT_TRUE(IsError(Move(o.id(), "COMMITMENT", now.version(), &out),
                      grpc::StatusCode::ABORTED));
  ASSERT_TRUE(IsOk(raised));
  now = MustGet(o.id());
  fake_credit_.DuringCheck([&] {
    v1::Opportunity edit = now;
    edit.set_name("Renamed again");
    v1::Opportunity renamed;
    raised = Update(edit, 0, &renamed);
  });
  ASSERT_TRUE(IsOk(Move(o.id(), "COMMITMENT", 0, &out)));
  ASSERT_TRUE(IsOk(raised));
  EXPECT_EQ(out.stage_key(), "COMMITMENT");
  EXPECT_EQ(out.name(), "Renamed again");
  EXPECT_EQ(fake_credit_.last().amount_minor, 9'000'000);
}

// ---------------------------------------------------------------------------
// Concurrent moves (SPEC §8: nothing half-written, optimistic versions)

// Runs `n` MoveStage calls of `id` to `to` with `expected_version` at once.
std::vector<grpc::Status> MoveConcurrently(Stub* stub, const std::string& id,
                                           const std::string& to,
                                           int64_t expected_version, int n) {
  return RunConcurrently(n, [&](int) {
    v1::MoveStageRequest req;
    req.set_opportunity_id(id);
    req.set_to_stage_key(to);
    req.set_expected_version(expected_version);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kAdminToken));
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    v1::Opportunity out;
    return stub->MoveStage(&ctx, req, &out);
  });
}

TEST_F(PipelineConcurrencyTest, SameExpectedVersionExactlyOneMoveWins) {
  const v1::Opportunity o = MustCreate();
  const v1::Opportunity checked =
      MustCheck(o.id(), "INTEREST", "purchase_request");
  const std::vector<grpc::Status> results = MoveConcurrently(
      stub_.get(), o.id(), "CONSIDERATION", checked.version(), 8);
  int ok = 0, aborted = 0;
  for (const grpc::Status& s : results) {
    if (s.ok()) {
      ++ok;
    } else {
      EXPECT_TRUE(IsError(s, grpc::StatusCode::ABORTED));
      aborted += s.error_code() == grpc::StatusCode::ABORTED;
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(aborted, 7);
  const std::vector<v1::OpportunityChange> h = History(o.id());
  EXPECT_EQ(CountKind(h, v1::CHANGE_KIND_STAGE_FORWARD), 1);
  EXPECT_EQ(h.size(), 2u);
  const v1::Opportunity now = MustGet(o.id());
  EXPECT_EQ(now.stage_key(), "CONSIDERATION");
  EXPECT_EQ(now.version(), checked.version() + 1);
  EXPECT_EQ(now.history_length(), 2);
}

TEST_F(PipelineConcurrencyTest, AnyVersionStillMovesOnlyOnce) {
  const v1::Opportunity o = MustCreate();
  MustCheck(o.id(), "INTEREST", "purchase_request");
  const std::vector<grpc::Status> results =
      MoveConcurrently(stub_.get(), o.id(), "CONSIDERATION", 0, 8);
  int ok = 0;
  for (const grpc::Status& s : results) {
    if (s.ok()) {
      ++ok;
    } else {
      EXPECT_TRUE(IsError(s, grpc::StatusCode::FAILED_PRECONDITION,
                          "already in stage CONSIDERATION"));
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(CountKind(History(o.id()), v1::CHANGE_KIND_STAGE_FORWARD), 1);
}

TEST_F(PipelineConcurrencyTest, ConcurrentRolesNeverWeighMoreThanHundred) {
  const v1::Opportunity o = MustCreate();
  const std::vector<std::string> contacts = {kC1, kC2, kC3, kC4, kC5};
  const std::vector<grpc::Status> results = RunConcurrently(5, [&](int i) {
    v1::SetContactRoleRequest req;
    req.set_opportunity_id(o.id());
    req.set_contact_id(contacts[i]);
    req.set_role(v1::BUYING_ROLE_INFLUENCER);
    req.set_influence_weight_pct(40);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kRep1Token));
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    v1::ContactRole out;
    return stub_->SetContactRole(&ctx, req, &out);
  });
  int ok = 0;
  for (const grpc::Status& s : results) {
    if (s.ok()) {
      ++ok;
    } else {
      EXPECT_TRUE(IsError(s, grpc::StatusCode::INVALID_ARGUMENT,
                          "influence_weight_pct"));
    }
  }
  EXPECT_EQ(ok, 2) << "40 + 40 fit, a third 40 does not";
  int sum = 0;
  for (const v1::ContactRole& r : Roles(o.id())) {
    sum += r.influence_weight_pct();
  }
  EXPECT_EQ(sum, 80);
}

TEST_F(PipelineConcurrencyTest, PeerAnswersOnAnotherThreadFinishTheCreate) {
  // The gRPC accounts client answers CreateOpportunity's checks from gRPC's
  // threads (no thread of ours waits); so does the fake here.
  accounts_.SetAnswerLater(true);
  accounts_.PutNode(OrgNodeProto("r4", "u", v1::ORG_NODE_KIND_REP));
  const int calls = accounts_.calls();
  v1::Opportunity out;
  ASSERT_TRUE(IsOk(Create(Draft("r4"), &out)));
  const std::string created = out.id();
  EXPECT_EQ(out.owner_node_id(), "r4");
  EXPECT_EQ(accounts_.calls(), calls + 2) << "the account, then the owner";
  EXPECT_TRUE(IsError(Create(Draft("r_missing"), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "opportunity.owner_node_id"));
  EXPECT_TRUE(IsError(Create(Draft("r4", "acc_missing"), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "opportunity.account_id"));
  accounts_.SetUnavailable(true);
  EXPECT_TRUE(
      IsError(Create(Draft("r4", kAcc2), &out), grpc::StatusCode::UNAVAILABLE));
  EXPECT_EQ(ListIds({}), std::set<std::string>{created});
}

// ---------------------------------------------------------------------------
// Close and reopen (SPEC §3.2)

TEST_F(PipelineCloseTest, FourOutcomesReasonsAndCancelledFollowUps) {
  struct Case {
    v1::OpportunityStatus outcome;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {v1::OPPORTUNITY_STATUS_WON, ""},
      {v1::OPPORTUNITY_STATUS_LOST, "Rival AG won on price"},
      {v1::OPPORTUNITY_STATUS_NO_DECISION, "project shelved by the customer"},
      {v1::OPPORTUNITY_STATUS_ABANDONED, "four-factor evaluation: no value"},
  };
  for (const Case& c : cases) {
    const std::string name = v1::OpportunityStatus_Name(c.outcome);
    SCOPED_TRACE(name);
    const v1::Opportunity o = MustCreate();
    v1::Opportunity out;
    if (c.outcome != v1::OPPORTUNITY_STATUS_WON) {
      EXPECT_TRUE(IsError(Close(o.id(), c.outcome, "  ", o.version(), &out),
                          grpc::StatusCode::INVALID_ARGUMENT, "reason"));
    }
    EXPECT_TRUE(
        IsError(Close(o.id(), c.outcome, c.reason, o.version() + 1, &out),
                grpc::StatusCode::ABORTED));
    EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), o));
    clock_.Advance(absl::Minutes(1));
    v1::Opportunity closed;
    ASSERT_TRUE(IsOk(
        Close(o.id(), c.outcome, c.reason, o.version(), &closed, kRep1Token)));
    EXPECT_EQ(closed.status(), c.outcome);
    EXPECT_EQ(closed.close_reason(), c.reason);
    EXPECT_EQ(closed.closed_micros(), NowMicros());
    EXPECT_EQ(closed.version(), o.version() + 1);
    const v1::OpportunityChange last = History(o.id()).back();
    EXPECT_EQ(last.kind(), v1::CHANGE_KIND_CLOSED);
    EXPECT_EQ(last.from(), "OPEN");
    EXPECT_EQ(last.to(),
              name.substr(std::string("OPPORTUNITY_STATUS_").size()));
    EXPECT_EQ(last.reason(), c.reason);
    EXPECT_EQ(last.by(), "rep-1");
    const std::vector<v1::FollowUp> fups = FollowUps(o.id());
    ASSERT_EQ(fups.size(), 1u);
    EXPECT_EQ(fups[0].state(), v1::FOLLOW_UP_STATE_CANCELLED);
    // Closed twice: no.
    EXPECT_TRUE(IsError(Close(o.id(), c.outcome, "again", 0, &out),
                        grpc::StatusCode::FAILED_PRECONDITION, "already"));
  }
  // Cancelled follow-ups are never overdue.
  EXPECT_TRUE(Overdue(kAdminToken, {}, NowMicros() + 10 * kDay).empty());

  const v1::Opportunity o = MustCreate();
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Close(o.id(), v1::OPPORTUNITY_STATUS_OPEN, "x", 0, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "outcome"));
  EXPECT_TRUE(
      IsError(Close(o.id(), v1::OPPORTUNITY_STATUS_UNSPECIFIED, "x", 0, &out),
              grpc::StatusCode::INVALID_ARGUMENT, "outcome"));
  EXPECT_TRUE(IsError(
      Close(o.id(), v1::OPPORTUNITY_STATUS_LOST, "x", 0, &out, kRep3Token),
      grpc::StatusCode::PERMISSION_DENIED));
}

TEST_F(PipelineCloseTest, ReopenByManagersWithAReason) {
  const v1::Opportunity o = MustCreate();
  v1::Opportunity lost;
  ASSERT_TRUE(IsOk(Close(o.id(), v1::OPPORTUNITY_STATUS_LOST, "lost on price",
                         o.version(), &lost)));
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Reopen(o.id(), "they called back", 0, &out, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Reopen(o.id(), "", 0, &out, kManagerAToken),
                      grpc::StatusCode::INVALID_ARGUMENT, "reason"));
  EXPECT_TRUE(
      IsError(Reopen(o.id(), "they called back", 0, &out, kManagerBToken),
              grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(
      IsError(Reopen(o.id(), "they called back", 0, &out, kFinanceToken),
              grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(
      Reopen(o.id(), "they called back", o.version(), &out, kManagerAToken),
      grpc::StatusCode::ABORTED));
  clock_.Advance(Days(3));
  v1::Opportunity reopened;
  ASSERT_TRUE(IsOk(Reopen(o.id(), " the winner went bankrupt ", lost.version(),
                          &reopened, kManagerAToken)));
  EXPECT_EQ(reopened.status(), v1::OPPORTUNITY_STATUS_OPEN);
  EXPECT_TRUE(reopened.close_reason().empty());
  EXPECT_EQ(reopened.closed_micros(), 0);
  EXPECT_EQ(reopened.stage_entered_micros(), NowMicros());
  const v1::OpportunityChange last = History(o.id()).back();
  EXPECT_EQ(last.kind(), v1::CHANGE_KIND_REOPENED);
  EXPECT_EQ(last.from(), "LOST");
  EXPECT_EQ(last.to(), "OPEN");
  EXPECT_EQ(last.reason(), "the winner went bankrupt");
  EXPECT_EQ(last.by(), "manager-a");
  EXPECT_TRUE(IsError(Reopen(o.id(), "again", 0, &out),
                      grpc::StatusCode::FAILED_PRECONDITION, "already OPEN"));
  // Open again: it can change and close again.
  v1::Opportunity closed;
  ASSERT_TRUE(IsOk(Close(o.id(), v1::OPPORTUNITY_STATUS_WON, "",
                         reopened.version(), &closed, kAdminToken)));
  EXPECT_EQ(closed.status(), v1::OPPORTUNITY_STATUS_WON);
}

TEST_F(PipelineCloseTest, HistoryIsTheFullSequence) {
  const v1::Opportunity o = MustCreate();
  clock_.Advance(absl::Hours(1));
  v1::Opportunity cur = MustCheck(o.id(), "INTEREST", "purchase_request");
  ASSERT_TRUE(IsOk(Move(o.id(), "CONSIDERATION", cur.version(), &cur)));
  clock_.Advance(absl::Hours(1));
  v1::Opportunity edit = cur;
  *edit.mutable_amount() = Eur(6'000'000);
  ASSERT_TRUE(IsOk(Update(edit, cur.version(), &cur, kRep1Token)));
  edit = cur;
  *edit.mutable_expected_close_date() = Day(2026, 8, 31);
  ASSERT_TRUE(IsOk(Update(edit, cur.version(), &cur)));
  ASSERT_TRUE(IsOk(Move(o.id(), "INTEREST", cur.version(), &cur)));
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(IsOk(Close(o.id(), v1::OPPORTUNITY_STATUS_NO_DECISION,
                         "budget frozen", cur.version(), &cur)));
  ASSERT_TRUE(IsOk(
      Reopen(o.id(), "budget released", cur.version(), &cur, kManagerAToken)));
  edit = cur;
  edit.set_owner_node_id("r2");
  ASSERT_TRUE(IsOk(Update(edit, cur.version(), &cur, kManagerAToken)));

  const std::vector<v1::OpportunityChange> h = History(o.id(), kFinanceToken);
  std::vector<v1::ChangeKind> kinds;
  for (size_t i = 0; i < h.size(); ++i) {
    EXPECT_EQ(h[i].seq(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(h[i].opportunity_id(), o.id());
    if (i > 0) {
      EXPECT_GT(h[i].opportunity_version(), h[i - 1].opportunity_version());
      EXPECT_GE(h[i].time_micros(), h[i - 1].time_micros());
    }
    kinds.push_back(h[i].kind());
  }
  EXPECT_THAT(
      kinds, ElementsAre(v1::CHANGE_KIND_CREATED, v1::CHANGE_KIND_STAGE_FORWARD,
                         v1::CHANGE_KIND_AMOUNT, v1::CHANGE_KIND_CLOSE_DATE,
                         v1::CHANGE_KIND_STAGE_BACKWARD, v1::CHANGE_KIND_CLOSED,
                         v1::CHANGE_KIND_REOPENED, v1::CHANGE_KIND_OWNER));
  ASSERT_EQ(h.size(), 8u);
  EXPECT_EQ(h[2].from(), "5000000");
  EXPECT_EQ(h[2].to(), "6000000");
  EXPECT_EQ(h[2].by(), "rep-1");
  EXPECT_EQ(h[3].to(), "2026-08-31");
  EXPECT_EQ(h[5].to(), "NO_DECISION");
  EXPECT_EQ(h[5].reason(), "budget frozen");
  EXPECT_EQ(h.back().opportunity_version(), cur.version());
  EXPECT_EQ(cur.history_length(), 8);
  EXPECT_EQ(MustGet(o.id()).history_length(), 8);
}

TEST_F(PipelineCloseTest, ListOpportunityChangesPagesEveryHistoryInOrder) {
  std::vector<v1::Opportunity> opps = {MustCreate(), MustCreate("r2"),
                                       MustCreate()};
  for (int round = 0; round < 2; ++round) {
    for (v1::Opportunity& o : opps) {
      v1::Opportunity edit = o;
      *edit.mutable_amount() = Eur(o.amount().units_minor() + 100);
      ASSERT_TRUE(IsOk(Update(edit, o.version(), &o)));
    }
  }
  // What GetOpportunityHistory shows, by opportunity id then seq.
  std::sort(opps.begin(), opps.end(),
            [](const auto& a, const auto& b) { return a.id() < b.id(); });
  std::vector<std::string> expected;
  for (const v1::Opportunity& o : opps) {
    for (const v1::OpportunityChange& c : History(o.id())) {
      expected.push_back(c.SerializeAsString());
    }
  }
  ASSERT_GE(expected.size(), 9u);
  v1::ListOpportunityChangesRequest req;
  req.set_page_size(4);
  std::vector<std::string> listed;
  for (int guard = 0; guard < 20; ++guard) {
    v1::ListOpportunityChangesResponse resp;
    ASSERT_TRUE(
        IsOk(Call(&Stub::ListOpportunityChanges, req, &resp, kServiceToken)));
    EXPECT_LE(resp.changes_size(), 4);
    EXPECT_EQ(resp.feed_sequence(), store_->last_sequence());
    for (const v1::OpportunityChange& c : resp.changes()) {
      listed.push_back(c.SerializeAsString());
    }
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(listed, expected);
  v1::ListOpportunityChangesResponse resp;
  EXPECT_TRUE(IsOk(Call(&Stub::ListOpportunityChanges, {}, &resp)));
  EXPECT_EQ(resp.changes_size(), static_cast<int>(expected.size()));
  for (const char* token : {kManagerAToken, kRep1Token, kFinanceToken}) {
    EXPECT_TRUE(IsError(Call(&Stub::ListOpportunityChanges, {}, &resp, token),
                        grpc::StatusCode::PERMISSION_DENIED))
        << token;
  }
  req.set_page_token(EncodePageToken("not a position"));
  EXPECT_TRUE(IsError(Call(&Stub::ListOpportunityChanges, req, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT, "page_token"));
}

}  // namespace
}  // namespace salesops::pipeline::grpc_test
