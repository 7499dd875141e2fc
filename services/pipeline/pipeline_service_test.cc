// gRPC-level tests of the pipeline service (pipeline_test_fixture.h): stage
// models, CreateOpportunity, UpdateOpportunity and the opportunity lists.
// The rules are tested without a server in *_rules_test.cc.

#include "services/pipeline/pipeline_test_fixture.h"

namespace salesops::pipeline::grpc_test {
namespace {

// ---------------------------------------------------------------------------
// Stage models (SPEC §3.1)

TEST_F(PipelineStageModelTest, BuiltInModelsAreServedExactlyAsSpecified) {
  for (const v1::StageModel& want : BuiltInModels()) {
    SCOPED_TRACE(want.id());
    v1::StageModel got;
    ASSERT_TRUE(IsOk(GetModel(want.id(), &got, kRep1Token)));
    EXPECT_EQ(got.id(), want.id());
    EXPECT_EQ(got.name(), want.name());
    EXPECT_TRUE(got.built_in());
    ASSERT_EQ(got.stages_size(), want.stages_size());
    for (int i = 0; i < want.stages_size(); ++i) {
      EXPECT_TRUE(MessageDifferencer::Equals(got.stages(i), want.stages(i)))
          << "stage " << i << ": got " << got.stages(i).ShortDebugString()
          << "\nwant " << want.stages(i).ShortDebugString();
    }
    EXPECT_TRUE(MessageDifferencer::Equals(got.cadence(), want.cadence()))
        << got.cadence().ShortDebugString();
    EXPECT_TRUE(MessageDifferencer::Equals(got.out_of_funnel_threshold(),
                                           want.out_of_funnel_threshold()));
    EXPECT_EQ(got.out_of_funnel_threshold().units_minor(), 0)
        << "built-in models have no threshold until one is set";
    EXPECT_EQ(got.stall_limit_days(), want.stall_limit_days());
    EXPECT_TRUE(got.win_rate_history().empty());
    EXPECT_EQ(got.version(), 1);
    EXPECT_GT(got.created_micros(), 0);
  }
  // A few facts of the SPEC tables, independently of BuiltInModels().
  v1::StageModel six;
  ASSERT_TRUE(IsOk(GetModel(kBuyingCycle6, &six)));
  std::vector<std::string> keys;
  std::vector<int32_t> rates;
  for (const v1::Stage& s : six.stages()) {
    keys.push_back(s.key());
    rates.push_back(s.win_rate_bp());
  }
  EXPECT_THAT(keys, ElementsAre("INTEREST", "CONSIDERATION", "DESIGN",
                                "COMPARISON", "COMMITMENT", "USAGE"));
  EXPECT_THAT(rates, ElementsAre(500, 1000, 2000, 3000, 5000, 8000));
  EXPECT_TRUE(six.stages(4).requires_credit_check());
  EXPECT_TRUE(six.stages(5).contract_signed());
  EXPECT_TRUE(six.stages(5).closes_on_collection());
  v1::StageModel eight;
  ASSERT_TRUE(IsOk(GetModel(kProjectSales8, &eight, kFinanceToken)));
  ASSERT_EQ(eight.stages_size(), 8);
  EXPECT_EQ(eight.stages(7).key(), "SIGNED");
  EXPECT_EQ(eight.stages(7).win_rate_bp(), 10000);
  EXPECT_TRUE(eight.stages(7).closes_won());
  EXPECT_TRUE(eight.stages(5).requires_credit_check());  // EVALUATION

  v1::StageModel none;
  EXPECT_TRUE(
      IsError(GetModel("stm_nope", &none), grpc::StatusCode::NOT_FOUND));
  EXPECT_TRUE(
      IsError(GetModel("", &none), grpc::StatusCode::INVALID_ARGUMENT, "id"));
}

TEST_F(PipelineStageModelTest, ListStageModelsByIdWithPages) {
  v1::ListStageModelsRequest req;
  v1::ListStageModelsResponse resp;
  ASSERT_TRUE(IsOk(Call(&Stub::ListStageModels, req, &resp, kServiceToken)));
  ASSERT_EQ(resp.models_size(), 2);
  EXPECT_EQ(resp.models(0).id(), kBuyingCycle6);
  EXPECT_EQ(resp.models(1).id(), kProjectSales8);
  EXPECT_TRUE(resp.next_page_token().empty());

  const v1::StageModel copy = MustCopyModel(kBuyingCycle6, "Copy");
  std::vector<std::string> ids;
  req.set_page_size(1);
  for (int guard = 0; guard < 10; ++guard) {
    v1::ListStageModelsResponse page;
    ASSERT_TRUE(IsOk(Call(&Stub::ListStageModels, req, &page, kRep3Token)));
    ASSERT_LE(page.models_size(), 1);
    for (const v1::StageModel& m : page.models()) {
      ids.push_back(m.id());
    }
    if (page.next_page_token().empty()) {
      break;
    }
    req.set_page_token(page.next_page_token());
  }
  EXPECT_THAT(ids, ElementsAre(kBuyingCycle6, kProjectSales8, copy.id()));
}

TEST_F(PipelineStageModelTest, CreateCopiesWhatTheModelLeavesEmpty) {
  const v1::StageModel six = BuiltIn(kBuyingCycle6);
  v1::StageModel copy = MustCopyModel(kBuyingCycle6, "  EMEA buying cycle  ",
                                      /*threshold_minor=*/1'000'000);
  EXPECT_TRUE(absl::StartsWith(copy.id(), "stm_")) << copy.id();
  EXPECT_EQ(copy.name(), "EMEA buying cycle");
  EXPECT_FALSE(copy.built_in());
  EXPECT_EQ(copy.version(), 1);
  ASSERT_EQ(copy.stages_size(), six.stages_size());
  for (int i = 0; i < six.stages_size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(copy.stages(i), six.stages(i)));
  }
  EXPECT_TRUE(MessageDifferencer::Equals(copy.cadence(), six.cadence()));
  EXPECT_EQ(copy.out_of_funnel_threshold().units_minor(), 1'000'000);
  EXPECT_EQ(copy.out_of_funnel_threshold().currency(), "EUR");

  // Stored as returned.
  v1::StageModel stored;
  ASSERT_TRUE(IsOk(GetModel(copy.id(), &stored)));
  EXPECT_TRUE(MessageDifferencer::Equals(stored, copy));
}

TEST_F(PipelineStageModelTest, GivenStagesWinAndRequestIdsRepeat) {
  // Given stages win over the source's; output-only fields are ignored.
  v1::StageModel own;
  own.set_name("Two stages");
  own.set_built_in(true);
  v1::Stage* s = own.add_stages();
  s->set_key("OPEN_UP");
  s->set_name("Open up");
  s->set_win_rate_bp(1000);
  s = own.add_stages();
  s->set_key("DONE");
  s->set_name("Done");
  s->set_win_rate_bp(10000);
  s->set_closes_won(true);
  v1::WinRateChange* bogus = own.add_win_rate_history();
  bogus->set_stage_key("DONE");
  v1::StageModel two;
  ASSERT_TRUE(IsOk(CreateModel(own, kProjectSales8, &two)));
  ASSERT_EQ(two.stages_size(), 2);
  EXPECT_EQ(two.stages(0).key(), "OPEN_UP");
  EXPECT_FALSE(two.built_in());
  EXPECT_TRUE(two.win_rate_history().empty());
  EXPECT_TRUE(MessageDifferencer::Equals(two.cadence(),
                                         BuiltIn(kProjectSales8).cadence()));

  v1::StageModel out;
  EXPECT_TRUE(IsError(CreateModel(own, "stm_missing", &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "copy_from_id"));

  // request_id: a retry gets the first result.
  v1::CreateStageModelRequest req;
  req.mutable_model()->set_name("Once");
  req.set_copy_from_id(kBuyingCycle6);
  req.set_request_id("model-req-1");
  v1::StageModel once, twice;
  ASSERT_TRUE(IsOk(Call(&Stub::CreateStageModel, req, &once)));
  ASSERT_TRUE(IsOk(Call(&Stub::CreateStageModel, req, &twice)));
  EXPECT_EQ(once.id(), twice.id());
  v1::ListStageModelsResponse list;
  ASSERT_TRUE(IsOk(Call(&Stub::ListStageModels, {}, &list)));
  EXPECT_EQ(list.models_size(), 4);  // 2 built in, "Two stages", "Once"
}

TEST_F(PipelineStageModelTest, CreateNamesEveryViolatedField) {
  v1::StageModel m;
  m.set_name(" ");
  v1::Stage* s = m.add_stages();
  s->set_key("bad key");
  s->set_name("Bad");
  s->set_win_rate_bp(20000);
  v1::ExitCriterion* c = s->add_exit_criteria();
  c->set_key("Bad-Key");
  c->set_text("");
  s->set_closes_won(true);  // not the last stage
  s = m.add_stages();
  s->set_key("LAST");
  s->set_name("");
  *m.mutable_out_of_funnel_threshold() = Eur(100);
  m.mutable_out_of_funnel_threshold()->set_currency("USD");
  v1::CadenceStep* step = m.mutable_cadence()->add_steps();
  step->set_key("call");
  step->set_text("call");
  step->set_kind(v1::ACTIVITY_KIND_CALL);
  step->set_min_hours(10);
  step->set_max_hours(5);
  v1::StageModel out;
  grpc::Status st = CreateModel(m, "", &out);
  ASSERT_TRUE(IsError(st, grpc::StatusCode::INVALID_ARGUMENT));
  for (const char* needle :
       {"model.name", "model.stages[0].key", "model.stages[0].win_rate_bp",
        "model.stages[0].exit_criteria[0].key",
        "model.stages[0].exit_criteria[0].text", "model.stages[0].closes_won",
        "model.stages[1].name", "model.out_of_funnel_threshold",
        "model.cadence.steps[0].min_hours"}) {
    EXPECT_THAT(st.error_message(), HasSubstr(needle));
  }

  v1::StageModel empty;
  empty.set_name("No stages");
  EXPECT_TRUE(IsError(CreateModel(empty, "", &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "model.stages"));

  v1::StageModel dup = BuiltIn(kBuyingCycle6);
  dup.set_name("Duplicate keys");
  dup.mutable_stages(1)->set_key("INTEREST");
  EXPECT_TRUE(IsError(CreateModel(dup, "", &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "model.stages[1].key: duplicate"));

  // Nothing was stored.
  v1::ListStageModelsResponse list;
  ASSERT_TRUE(IsOk(Call(&Stub::ListStageModels, {}, &list)));
  EXPECT_EQ(list.models_size(), 2);
}

TEST_F(PipelineStageModelTest, OnlyAdminWritesModels) {
  v1::StageModel m;
  m.set_name("Mine");
  v1::StageModel out;
  for (const char* token :
       {kManagerAToken, kRep1Token, kFinanceToken, kServiceToken}) {
    EXPECT_TRUE(IsError(CreateModel(m, kBuyingCycle6, &out, token),
                        grpc::StatusCode::PERMISSION_DENIED))
        << token;
  }
  v1::StageModel six;
  ASSERT_TRUE(IsOk(GetModel(kBuyingCycle6, &six)));
  six.mutable_stages(0)->set_win_rate_bp(600);
  EXPECT_TRUE(IsError(UpdateModel(six, six.version(), &out, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(CreateModel(m, kBuyingCycle6, &out, ""),
                      grpc::StatusCode::UNAUTHENTICATED));
}

TEST_F(PipelineStageModelTest, WinRateChangesAreKeptInHistory) {
  v1::StageModel model = MustCopyModel(kBuyingCycle6, "Editable");
  const int64_t v1_time = NowMicros();
  clock_.Advance(absl::Hours(1));

  v1::StageModel edit = model;
  edit.mutable_stages(0)->set_win_rate_bp(700);  // INTEREST 500 → 700
  edit.set_name("Editable (tuned)");
  // History in the request is output only.
  edit.add_win_rate_history()->set_stage_key("USAGE");
  v1::StageModel updated;
  ASSERT_TRUE(IsOk(UpdateModel(edit, model.version(), &updated)));
  EXPECT_EQ(updated.version(), model.version() + 1);
  EXPECT_EQ(updated.name(), "Editable (tuned)");
  EXPECT_EQ(updated.stages(0).win_rate_bp(), 700);
  EXPECT_EQ(updated.created_micros(), model.created_micros());
  EXPECT_GT(updated.updated_micros(), v1_time);
  ASSERT_EQ(updated.win_rate_history_size(), 1);
  const v1::WinRateChange& c = updated.win_rate_history(0);
  EXPECT_EQ(c.stage_key(), "INTEREST");
  EXPECT_EQ(c.from_bp(), 500);
  EXPECT_EQ(c.to_bp(), 700);
  EXPECT_EQ(c.model_version(), updated.version());
  EXPECT_EQ(c.changed_by(), "admin");
  EXPECT_EQ(c.effective_micros(), NowMicros());

  // A second edit appends; the first entry stays.
  clock_.Advance(absl::Hours(1));
  edit = updated;
  edit.mutable_stages(1)->set_win_rate_bp(1500);  // CONSIDERATION
  edit.mutable_stages(2)->set_win_rate_bp(2500);  // DESIGN
  v1::StageModel again;
  ASSERT_TRUE(IsOk(UpdateModel(edit, updated.version(), &again)));
  ASSERT_EQ(again.win_rate_history_size(), 3);
  EXPECT_TRUE(MessageDifferencer::Equals(again.win_rate_history(0), c));
  EXPECT_EQ(again.win_rate_history(1).stage_key(), "CONSIDERATION");
  EXPECT_EQ(again.win_rate_history(1).from_bp(), 1000);
  EXPECT_EQ(again.win_rate_history(1).to_bp(), 1500);
  EXPECT_EQ(again.win_rate_history(1).model_version(), again.version());
  EXPECT_EQ(again.win_rate_history(2).stage_key(), "DESIGN");

  // A change without rate changes adds nothing.
  edit = again;
  edit.set_stall_limit_days(30);
  v1::StageModel third;
  ASSERT_TRUE(IsOk(UpdateModel(edit, again.version(), &third)));
  EXPECT_EQ(third.win_rate_history_size(), 3);
  EXPECT_EQ(third.stall_limit_days(), 30);

  // Built-in models may be edited too and stay built in.
  v1::StageModel six;
  ASSERT_TRUE(IsOk(GetModel(kBuyingCycle6, &six)));
  six.mutable_stages(5)->set_win_rate_bp(8500);
  v1::StageModel six2;
  ASSERT_TRUE(IsOk(UpdateModel(six, six.version(), &six2)));
  EXPECT_TRUE(six2.built_in());
  ASSERT_EQ(six2.win_rate_history_size(), 1);
  EXPECT_EQ(six2.win_rate_history(0).stage_key(), "USAGE");
}

TEST_F(PipelineStageModelTest, UpdateRejectsStaleVersionsAndKeyChanges) {
  v1::StageModel model = MustCopyModel(kBuyingCycle6, "Editable");
  v1::StageModel edit = model;
  edit.mutable_stages(0)->set_win_rate_bp(600);
  v1::StageModel updated;
  ASSERT_TRUE(IsOk(UpdateModel(edit, model.version(), &updated)));

  // Stale version.
  edit.mutable_stages(0)->set_win_rate_bp(900);
  v1::StageModel out;
  EXPECT_TRUE(IsError(UpdateModel(edit, model.version(), &out),
                      grpc::StatusCode::ABORTED));

  // Renamed key, swapped order, dropped or added stage.
  v1::StageModel renamed = updated;
  renamed.mutable_stages(1)->set_key("TRUST");
  EXPECT_TRUE(IsError(UpdateModel(renamed, updated.version(), &out),
                      grpc::StatusCode::FAILED_PRECONDITION,
                      "model.stages[1].key"));
  v1::StageModel swapped = updated;
  swapped.mutable_stages()->SwapElements(0, 1);
  EXPECT_TRUE(IsError(UpdateModel(swapped, updated.version(), &out),
                      grpc::StatusCode::FAILED_PRECONDITION,
                      "model.stages[0].key"));
  v1::StageModel shorter = updated;
  shorter.mutable_stages()->RemoveLast();
  EXPECT_TRUE(IsError(UpdateModel(shorter, updated.version(), &out),
                      grpc::StatusCode::FAILED_PRECONDITION,
                      "model.stages[5].key"));
  v1::StageModel longer = updated;
  v1::Stage* extra = longer.add_stages();
  extra->set_key("EXTRA");
  extra->set_name("Extra");
  EXPECT_TRUE(IsError(UpdateModel(longer, updated.version(), &out),
                      grpc::StatusCode::FAILED_PRECONDITION,
                      "model.stages[6].key"));

  // Invalid content and unknown ids.
  v1::StageModel bad = updated;
  bad.mutable_stages(2)->set_win_rate_bp(-1);
  EXPECT_TRUE(IsError(UpdateModel(bad, updated.version(), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "model.stages[2].win_rate_bp"));
  v1::StageModel unknown = updated;
  unknown.set_id("stm_unknown");
  EXPECT_TRUE(
      IsError(UpdateModel(unknown, 0, &out), grpc::StatusCode::NOT_FOUND));

  // Nothing of the rejected edits was stored.
  v1::StageModel stored;
  ASSERT_TRUE(IsOk(GetModel(model.id(), &stored)));
  EXPECT_TRUE(MessageDifferencer::Equals(stored, updated));
}

// ---------------------------------------------------------------------------
// CreateOpportunity (SPEC §3.2, §3.7)

TEST_F(PipelineCreateTest, CreatesWithDefaultsHistoryAndFirstFollowUp) {
  const int64_t t0 = NowMicros();
  v1::Opportunity draft = Draft();
  draft.set_name("  Plant automation  ");
  draft.add_competitors()->set_name("Rival AG");
  draft.set_source_channel(v1::SOURCE_CHANNEL_TRADE_SHOW);
  v1::Opportunity o;
  ASSERT_TRUE(IsOk(Create(draft, &o)));
  EXPECT_TRUE(absl::StartsWith(o.id(), "opp_")) << o.id();
  EXPECT_EQ(o.name(), "Plant automation");
  EXPECT_EQ(o.account_id(), kAcc1);
  EXPECT_EQ(o.owner_node_id(), "r1");
  EXPECT_EQ(o.stage_model_id(), kBuyingCycle6);
  EXPECT_EQ(o.stage_key(), "INTEREST");
  EXPECT_EQ(o.status(), v1::OPPORTUNITY_STATUS_OPEN);
  EXPECT_EQ(o.version(), 1);
  EXPECT_EQ(o.history_length(), 1);
  EXPECT_EQ(o.created_micros(), t0);
  EXPECT_EQ(o.stage_entered_micros(), t0);
  EXPECT_FALSE(o.out_of_funnel());
  EXPECT_FALSE(o.credit_review_pending());
  EXPECT_EQ(o.closed_micros(), 0);
  EXPECT_EQ(o.competitors_size(), 1);
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), o));

  const std::vector<v1::OpportunityChange> history = History(o.id());
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].seq(), 1);
  EXPECT_EQ(history[0].kind(), v1::CHANGE_KIND_CREATED);
  EXPECT_EQ(history[0].to(), "INTEREST");
  EXPECT_EQ(history[0].by(), "admin");
  EXPECT_EQ(history[0].time_micros(), t0);
  EXPECT_EQ(history[0].opportunity_version(), 1);

  // The default cadence plans exactly one follow-up: the first call, due
  // within 24 hours of creation.
  const std::vector<v1::FollowUp> fups = FollowUps(o.id());
  ASSERT_EQ(fups.size(), 1u);
  EXPECT_EQ(fups[0].step_key(), "first_call");
  EXPECT_EQ(fups[0].kind(), v1::ACTIVITY_KIND_CALL);
  EXPECT_EQ(fups[0].state(), v1::FOLLOW_UP_STATE_PLANNED);
  EXPECT_EQ(fups[0].owner_node_id(), "r1");
  EXPECT_EQ(fups[0].opportunity_id(), o.id());
  EXPECT_EQ(fups[0].earliest_micros(), t0);
  EXPECT_EQ(fups[0].due_micros(), t0 + 24 * kHour);
}

TEST_F(PipelineCreateTest, AccountAndOwnerAreCheckedWithAccounts) {
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Create(Draft("r1", "acc_missing"), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "opportunity.account_id"));
  EXPECT_TRUE(IsError(Create(Draft("r_missing"), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "opportunity.owner_node_id"));
  for (const char* not_rep : {"t", "a", "root"}) {
    grpc::Status s = Create(Draft(not_rep), &out);
    EXPECT_TRUE(IsError(s, grpc::StatusCode::INVALID_ARGUMENT,
                        "opportunity.owner_node_id"))
        << not_rep;
    EXPECT_THAT(s.error_message(), HasSubstr("REP")) << not_rep;
  }
  v1::Opportunity no_account = Draft();
  no_account.clear_account_id();
  EXPECT_TRUE(IsError(Create(no_account, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "opportunity.account_id"));
  EXPECT_TRUE(ListIds({}).empty());

  // Who may own what: a REP creates for themselves (owner defaults to their
  // node), a MANAGER inside their subtree.
  v1::Opportunity mine = Draft();
  mine.clear_owner_node_id();
  ASSERT_TRUE(IsOk(Create(mine, &out, kRep1Token)));
  EXPECT_EQ(out.owner_node_id(), "r1");
  EXPECT_TRUE(IsError(Create(Draft("r2"), &out, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsOk(Create(Draft("r2"), &out, kManagerAToken)));
  EXPECT_TRUE(IsError(Create(Draft("r3"), &out, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsOk(Create(Draft("r3"), &out, kManagerBToken)));
}

TEST_F(PipelineCreateTest, AccountsUnavailableWritesNothing) {
  const uint64_t before = FeedPosition();
  accounts_.SetUnavailable(true);
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Create(Draft(), &out, kAdminToken, "req-1"),
                      grpc::StatusCode::UNAVAILABLE));
  EXPECT_TRUE(IsError(Create(Draft(), &out, kRep1Token),
                      grpc::StatusCode::UNAVAILABLE));
  EXPECT_TRUE(ListIds({}).empty());
  EXPECT_EQ(FeedPosition(), before);

  // Back up: the same request_id now creates (nothing was remembered).
  accounts_.SetUnavailable(false);
  ASSERT_TRUE(IsOk(Create(Draft(), &out, kAdminToken, "req-1")));
  EXPECT_EQ(ListIds({}), std::set<std::string>{out.id()});
}

TEST_F(PipelineCreateTest, ConfirmedAccountsAndFollowedRepsNeedNoCall) {
  v1::Opportunity out;
  ASSERT_TRUE(IsOk(Create(Draft(), &out)));
  // The account was confirmed once and the owner is in the followed org
  // tree: creating more for them does not ask accounts again.
  accounts_.SetUnavailable(true);
  EXPECT_TRUE(IsOk(Create(Draft(), &out)));
  // An account never confirmed still needs accounts.
  v1::Opportunity other = Draft();
  other.set_account_id(kAcc2);
  EXPECT_TRUE(IsError(Create(other, &out), grpc::StatusCode::UNAVAILABLE));
}

TEST_F(PipelineCreateTest, FieldsAreValidated) {
  // The field rules are opportunity_rules_test.cc's; here: they answer
  // INVALID_ARGUMENT naming every field, write nothing, and the external id
  // is unique across opportunities (an index).
  v1::Opportunity all = Draft();
  all.set_name("");
  *all.mutable_amount() = Eur(0);
  all.clear_expected_close_date();
  v1::Opportunity out;
  grpc::Status s = Create(all, &out);
  ASSERT_TRUE(IsError(s, grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(s.error_message(), HasSubstr("opportunity.name"));
  EXPECT_THAT(s.error_message(), HasSubstr("opportunity.amount"));
  EXPECT_THAT(s.error_message(), HasSubstr("opportunity.expected_close_date"));
  v1::Opportunity unknown_model = Draft();
  unknown_model.set_stage_model_id("stm_missing");
  EXPECT_TRUE(IsError(Create(unknown_model, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "opportunity.stage_model_id"));
  EXPECT_TRUE(ListIds({}).empty());

  v1::Opportunity ext = Draft();
  ext.set_external_id("crm-1");
  const v1::Opportunity first = MustCreate(ext);
  EXPECT_TRUE(IsError(Create(ext, &out), grpc::StatusCode::ALREADY_EXISTS,
                      "opportunity.external_id"));
  // Nor may an update take it; once freed it can be taken again.
  v1::Opportunity other = MustCreate();
  other.set_external_id("crm-1");
  EXPECT_TRUE(IsError(Update(other, 0, &out), grpc::StatusCode::ALREADY_EXISTS,
                      "opportunity.external_id"));
  v1::Opportunity renamed = first;
  renamed.set_external_id("crm-2");
  ASSERT_TRUE(IsOk(Update(renamed, 0, &out)));
  ASSERT_TRUE(IsOk(Update(other, 0, &out)));
  EXPECT_EQ(out.external_id(), "crm-1");
}

TEST_F(PipelineCreateTest, RequestIdMakesCreateIdempotent) {
  v1::Opportunity first, second;
  ASSERT_TRUE(IsOk(Create(Draft(), &first, kAdminToken, "req-42")));
  clock_.Advance(absl::Seconds(5));
  ASSERT_TRUE(IsOk(Create(Draft(), &second, kAdminToken, "req-42")));
  EXPECT_EQ(second.id(), first.id());
  EXPECT_TRUE(MessageDifferencer::Equals(first, second));
  EXPECT_EQ(ListIds({}), std::set<std::string>{first.id()});
  EXPECT_EQ(FollowUps(first.id()).size(), 1u);
  EXPECT_EQ(History(first.id()).size(), 1u);

  // Another request under the same id is refused; another id creates.
  v1::Opportunity other = Draft();
  other.set_name("Something else");
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Create(other, &out, kAdminToken, "req-42"),
                      grpc::StatusCode::FAILED_PRECONDITION));
  ASSERT_TRUE(IsOk(Create(other, &out, kAdminToken, "req-43")));
  EXPECT_NE(out.id(), first.id());
  EXPECT_EQ(ListIds({}).size(), 2u);
}

TEST_F(PipelineCreateTest, ModelWithoutCadencePlansNoFollowUps) {
  v1::StageModel m;
  m.set_name("Quiet");
  m.mutable_cadence();  // set but empty: no steps
  v1::StageModel quiet;
  ASSERT_TRUE(IsOk(CreateModel(m, kBuyingCycle6, &quiet)));
  EXPECT_EQ(quiet.cadence().steps_size(), 0);
  v1::Opportunity draft = Draft();
  draft.set_stage_model_id(quiet.id());
  const v1::Opportunity o = MustCreate(draft);
  EXPECT_TRUE(FollowUps(o.id()).empty());
}

// ---------------------------------------------------------------------------
// UpdateOpportunity (SPEC §3.2, §3.3 history)

TEST_F(PipelineUpdateTest, StaleVersionIsAbortedAndChangesNothing) {
  const v1::Opportunity o = MustCreate();
  v1::Opportunity edit = o;
  edit.set_name("First");
  v1::Opportunity first;
  ASSERT_TRUE(IsOk(Update(edit, o.version(), &first)));
  edit.set_name("Second");
  *edit.mutable_amount() = Eur(1);
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Update(edit, o.version(), &out),
                      grpc::StatusCode::ABORTED, "expected_version"));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), first));
  // 0 means "any version".
  ASSERT_TRUE(IsOk(Update(edit, 0, &out)));
  EXPECT_EQ(out.name(), "Second");
  EXPECT_TRUE(IsError(Update(edit, -1, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "expected_version"));
}

TEST_F(PipelineUpdateTest, FixedFieldsAndReassignment) {
  const v1::Opportunity o = MustCreate();
  v1::Opportunity out;
  // The rules are opportunity_rules_test.cc's; one of them over the wire.
  v1::Opportunity other_account = o;
  other_account.set_account_id(kAcc2);
  EXPECT_TRUE(IsError(Update(other_account, o.version(), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "opportunity.account_id"));
  v1::Opportunity unknown = o;
  unknown.set_id("opp_unknown");
  EXPECT_TRUE(IsError(Update(unknown, 0, &out), grpc::StatusCode::NOT_FOUND));

  // A REP may not reassign; a MANAGER only inside their subtree, only to REP
  // nodes.
  v1::Opportunity to_r2 = o;
  to_r2.set_owner_node_id("r2");
  EXPECT_TRUE(IsError(Update(to_r2, o.version(), &out, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED, "owner_node_id"));
  v1::Opportunity to_r3 = o;
  to_r3.set_owner_node_id("r3");
  EXPECT_TRUE(IsError(Update(to_r3, o.version(), &out, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  v1::Opportunity to_team = o;
  to_team.set_owner_node_id("t");
  EXPECT_TRUE(IsError(Update(to_team, o.version(), &out, kManagerAToken),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "opportunity.owner_node_id"));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), o));

  ASSERT_TRUE(IsOk(Update(to_r2, o.version(), &out, kManagerAToken)));
  EXPECT_EQ(out.owner_node_id(), "r2");
  const std::vector<v1::OpportunityChange> h = History(o.id());
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].kind(), v1::CHANGE_KIND_OWNER);
  EXPECT_EQ(h[1].by(), "manager-a");
  // The planned follow-ups move with it; rep 1 no longer sees it.
  for (const v1::FollowUp& f : FollowUps(o.id())) {
    EXPECT_EQ(f.owner_node_id(), "r2");
  }
  EXPECT_TRUE(IsError(Get(o.id(), &out, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(OwnedBy({"r2"}), std::set<std::string>{o.id()});
  EXPECT_TRUE(OwnedBy({"r1"}).empty());

  // Accounts down: a node the followed org tree does not know cannot be
  // checked; a rep it knows can, and a plain edit goes on.
  accounts_.SetUnavailable(true);
  v1::Opportunity away = MustGet(o.id());
  away.set_owner_node_id("r9");
  EXPECT_TRUE(IsError(Update(away, 0, &out), grpc::StatusCode::UNAVAILABLE));
  v1::Opportunity back = MustGet(o.id());
  back.set_owner_node_id("r1");
  EXPECT_TRUE(IsOk(Update(back, 0, &out)));
  EXPECT_EQ(out.owner_node_id(), "r1");
}

// ---------------------------------------------------------------------------
// ListOpportunities and GetOpportunity scope (SPEC §3.2, §8)

class PipelineListFixture : public PipelineServiceTest {
 protected:
  void SetUp() override {
    PipelineServiceTest::SetUp();
    o1_ = MustCreate(Draft("r1", kAcc1, 1'000'000, Day(2026, 3, 31)));
    o2_ = MustCreate(Draft("r1", kAcc2, 2'000'000, Day(2026, 6, 30)));
    o3_ = MustCreate(Draft("r2", kAcc1, 3'000'000, Day(2026, 9, 30)));
    o4_ = MustCreate(Draft("r3", kAcc1, 4'000'000, Day(2026, 4, 15)));
    o5_ = MustCreate(Draft("r3", kAcc2, 5'000'000, Day(2026, 12, 31)));
    o6_ = MustCreate(Draft("r1", kAcc1, 6'000'000, Day(2026, 5, 15)));
    v1::Opportunity out;
    ASSERT_TRUE(IsOk(Close(o6_.id(), v1::OPPORTUNITY_STATUS_LOST, "lost",
                           o6_.version(), &out)));
    AdvanceTo(o2_, "CONSIDERATION");
  }
  std::set<std::string> Of(std::initializer_list<const v1::Opportunity*> os) {
    std::set<std::string> ids;
    for (const v1::Opportunity* o : os) {
      ids.insert(o->id());
    }
    return ids;
  }
  v1::Opportunity o1_, o2_, o3_, o4_, o5_, o6_;
};

using PipelineListFilterTest = PipelineListFixture;

TEST_F(PipelineListFilterTest, FiltersByOwnerSubtreeAccountStatusStageDate) {
  const auto all = Of({&o1_, &o2_, &o3_, &o4_, &o5_, &o6_});
  EXPECT_EQ(ListIds({}), all);
  EXPECT_EQ(OwnedBy({"root"}), all);
  EXPECT_EQ(OwnedBy({"a"}), Of({&o1_, &o2_, &o3_, &o6_}));
  EXPECT_EQ(OwnedBy({"t"}), Of({&o1_, &o2_, &o3_, &o6_}));
  EXPECT_EQ(OwnedBy({"r1"}), Of({&o1_, &o2_, &o6_}));
  EXPECT_EQ(OwnedBy({"b"}), Of({&o4_, &o5_}));
  EXPECT_EQ(OwnedBy({"r2", "r3"}), Of({&o3_, &o4_, &o5_}));
  EXPECT_TRUE(OwnedBy({"nobody"}).empty());

  v1::ListOpportunitiesRequest req;
  req.set_account_id(kAcc2);
  EXPECT_EQ(ListIds(req), Of({&o2_, &o5_}));

  req.Clear();
  req.set_status(v1::OPPORTUNITY_STATUS_LOST);
  EXPECT_EQ(ListIds(req), Of({&o6_}));
  req.set_status(v1::OPPORTUNITY_STATUS_OPEN);
  EXPECT_EQ(ListIds(req), Of({&o1_, &o2_, &o3_, &o4_, &o5_}));

  req.Clear();
  req.set_stage_key("CONSIDERATION");
  EXPECT_EQ(ListIds(req), Of({&o2_}));
  req.set_stage_key("INTEREST");
  EXPECT_EQ(ListIds(req), Of({&o1_, &o3_, &o4_, &o5_, &o6_}));

  req.Clear();
  req.set_stage_model_id(kProjectSales8);
  EXPECT_TRUE(ListIds(req).empty());
  req.set_stage_model_id(kBuyingCycle6);
  EXPECT_EQ(ListIds(req), all);
}

TEST_F(PipelineListFilterTest, FiltersByCloseDateCombinedAndBadFilters) {
  v1::ListOpportunitiesRequest req;
  // Close dates within [from, to], both ends included.
  *req.mutable_close_from() = Day(2026, 4, 15);
  *req.mutable_close_to() = Day(2026, 6, 30);
  EXPECT_EQ(ListIds(req), Of({&o2_, &o4_, &o6_}));
  req.clear_close_to();
  *req.mutable_close_from() = Day(2026, 7, 1);
  EXPECT_EQ(ListIds(req), Of({&o3_, &o5_}));
  req.clear_close_from();
  *req.mutable_close_to() = Day(2026, 3, 31);
  EXPECT_EQ(ListIds(req), Of({&o1_}));

  // Combined.
  req.Clear();
  req.add_owner_ids("a");
  req.set_account_id(kAcc1);
  req.set_status(v1::OPPORTUNITY_STATUS_OPEN);
  EXPECT_EQ(ListIds(req), Of({&o1_, &o3_}));

  // Bad filters.
  req.Clear();
  *req.mutable_close_from() = Day(2026, 7, 1);
  *req.mutable_close_to() = Day(2026, 6, 1);
  v1::ListOpportunitiesResponse resp;
  EXPECT_TRUE(IsError(List(req, &resp), grpc::StatusCode::INVALID_ARGUMENT,
                      "close_to"));
  req.Clear();
  *req.mutable_close_from() = Day(2026, 13, 1);
  EXPECT_TRUE(IsError(List(req, &resp), grpc::StatusCode::INVALID_ARGUMENT,
                      "close_from"));
  req.Clear();
  req.set_status(static_cast<v1::OpportunityStatus>(42));
  EXPECT_TRUE(
      IsError(List(req, &resp), grpc::StatusCode::INVALID_ARGUMENT, "status"));
}

TEST_F(PipelineListFilterTest, PagesCoverEverythingExactlyOnceInIdOrder) {
  const std::vector<std::string> created = {o1_.id(), o2_.id(), o3_.id(),
                                            o4_.id(), o5_.id(), o6_.id()};
  for (int size : {1, 2, 4, 6, 100}) {
    SCOPED_TRACE(size);
    int pages = 0;
    std::vector<std::string> ids;
    for (const v1::Opportunity& o : ListAll({}, size, kAdminToken, &pages)) {
      ids.push_back(o.id());
    }
    EXPECT_EQ(ids, created) << "every one once, in creation order";
    EXPECT_EQ(pages, (6 + size - 1) / size);
  }
  // Paging a filtered listing, and a manager's filtered view.
  v1::ListOpportunitiesRequest req;
  req.add_owner_ids("t");
  std::vector<std::string> ids;
  for (const v1::Opportunity& o : ListAll(req, 1)) {
    ids.push_back(o.id());
  }
  EXPECT_THAT(ids, ElementsAre(o1_.id(), o2_.id(), o3_.id(), o6_.id()));
  ids.clear();
  for (const v1::Opportunity& o : ListAll({}, 1, kManagerBToken)) {
    ids.push_back(o.id());
  }
  EXPECT_THAT(ids, ElementsAre(o4_.id(), o5_.id()));

  v1::ListOpportunitiesRequest bad;
  bad.set_page_token("not-a-token");
  v1::ListOpportunitiesResponse resp;
  EXPECT_TRUE(IsError(List(bad, &resp), grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_F(PipelineListFilterTest, ListsAreFilteredToTheCallersScope) {
  // A REP sees only their own, whatever they ask for.
  EXPECT_EQ(ListIds({}, kRep1Token), Of({&o1_, &o2_, &o6_}));
  EXPECT_EQ(OwnedBy({"a"}, kRep1Token), Of({&o1_, &o2_, &o6_}));
  EXPECT_TRUE(OwnedBy({"b"}, kRep1Token).empty());
  EXPECT_EQ(ListIds({}, kRep3Token), Of({&o4_, &o5_}));
  // A MANAGER their subtree: filtered, not failed.
  EXPECT_EQ(ListIds({}, kManagerAToken), Of({&o1_, &o2_, &o3_, &o6_}));
  EXPECT_EQ(ListIds({}, kManagerBToken), Of({&o4_, &o5_}));
  EXPECT_TRUE(OwnedBy({"b"}, kManagerAToken).empty());
  EXPECT_TRUE(OwnedBy({"r3"}, kManagerAToken).empty());
  EXPECT_EQ(OwnedBy({"root"}, kManagerAToken), Of({&o1_, &o2_, &o3_, &o6_}));
  // FINANCE and SERVICE read everything.
  EXPECT_EQ(ListIds({}, kFinanceToken).size(), 6u);
  EXPECT_EQ(ListIds({}, kServiceToken).size(), 6u);

  // A single opportunity outside the scope is PERMISSION_DENIED.
  v1::Opportunity out;
  EXPECT_TRUE(IsError(Get(o1_.id(), &out, kRep3Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Get(o3_.id(), &out, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Get(o1_.id(), &out, kManagerBToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsOk(Get(o3_.id(), &out, kManagerAToken)));
  EXPECT_TRUE(IsOk(Get(o4_.id(), &out, kFinanceToken)));
  EXPECT_TRUE(IsError(Get("opp_unknown", &out), grpc::StatusCode::NOT_FOUND));
  EXPECT_TRUE(IsError(Get("", &out), grpc::StatusCode::INVALID_ARGUMENT, "id"));
  v1::GetOpportunityHistoryRequest hreq;
  hreq.set_opportunity_id(o4_.id());
  v1::GetOpportunityHistoryResponse hresp;
  EXPECT_TRUE(
      IsError(Call(&Stub::GetOpportunityHistory, hreq, &hresp, kManagerAToken),
              grpc::StatusCode::PERMISSION_DENIED));
  v1::ListFollowUpsRequest freq;
  freq.set_opportunity_id(o4_.id());
  v1::ListFollowUpsResponse fresp;
  EXPECT_TRUE(IsError(Call(&Stub::ListFollowUps, freq, &fresp, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
}

}  // namespace
}  // namespace salesops::pipeline::grpc_test
