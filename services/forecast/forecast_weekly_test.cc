// gRPC-level tests of week closes, progress, submissions (SPEC.md §4.2,
// §4.3) and analytics (§4.5). The fixture: forecast_service_test_fixture.h.

#include "services/forecast/forecast_service_test_fixture.h"
#include "services/forecast/week_closer.h"

namespace salesops::forecast {
namespace {

using namespace service_testing;  // NOLINT: the shared fixture

// ---------------------------------------------------------------------------
// Week closes, progress and submissions (SPEC §4.2, §4.3). The fake clock
// starts on Friday 2026-05-01 09:00 UTC, in week 5 of FY2026 Q2 (week 1 is
// Wed 04-01 .. Sun 04-05, week 5 Mon 04-27 .. Sun 05-03).

class ForecastWeeklyTest : public ForecastServiceTest {
 protected:
  grpc::Status Close(int fy, int q, int week, v1::CloseWeekResponse* out,
                     const std::string& token = kAdminToken) {
    v1::CloseWeekRequest req;
    req.set_fiscal_year(fy);
    req.set_fiscal_quarter(q);
    req.set_week(week);
    auto ctx = Ctx(token);
    return stub_->CloseWeek(ctx.get(), req, out);
  }
  v1::GetProgressResponse Progress(const std::string& node, int fy = 2026,
                                   int q = 2) {
    v1::GetProgressRequest req;
    req.set_node_id(node);
    req.set_fiscal_year(fy);
    req.set_fiscal_quarter(q);
    v1::GetProgressResponse out;
    auto ctx = Ctx(kAdminToken);
    EXPECT_TRUE(IsOk(stub_->GetProgress(ctx.get(), req, &out)));
    return out;
  }
  grpc::Status Submit(const std::string& node, int week, int64_t amount,
                      const std::string& note, const std::string& token,
                      v1::ForecastSubmission* out, int64_t expected = 0) {
    v1::SubmitForecastRequest req;
    req.mutable_submission()->set_node_id(node);
    req.mutable_submission()->set_fiscal_year(2026);
    req.mutable_submission()->set_fiscal_quarter(2);
    req.mutable_submission()->set_week(week);
    *req.mutable_submission()->mutable_amount() = Eur(amount);
    req.mutable_submission()->set_note(note);
    req.set_expected_version(expected);
    auto ctx = Ctx(token);
    return stub_->SubmitForecast(ctx.get(), req, out);
  }
};

TEST_F(ForecastWeeklyTest, CloseWeekSnapshotsEveryNodeOnceAndValidates) {
  Seed();
  v1::CloseWeekResponse first;
  ASSERT_TRUE(IsOk(Close(2026, 2, 4, &first)));
  EXPECT_FALSE(first.already_closed());
  EXPECT_EQ(first.close().nodes(), 8);
  EXPECT_FALSE(first.close().automatic());
  clock_.Advance(absl::Hours(1));
  v1::CloseWeekResponse again;
  ASSERT_TRUE(IsOk(Close(2026, 2, 4, &again)));
  EXPECT_TRUE(again.already_closed());
  EXPECT_EQ(again.close().closed_micros(), first.close().closed_micros());

  v1::CloseWeekResponse out;
  EXPECT_TRUE(IsError(Close(2026, 2, 6, &out),
                      grpc::StatusCode::FAILED_PRECONDITION,
                      "week 6 of FY2026-Q2 has not started yet"));
  EXPECT_TRUE(IsError(Close(2026, 2, 14, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "week: must be 1..13, got 14"));
  EXPECT_TRUE(IsError(Close(2026, 5, 1, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "fiscal_quarter"));
  EXPECT_TRUE(IsError(Close(2026, 2, 3, &out, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
}

// Issue 16, finding 2: the edge refuses |amount| > 10^15, but sums of
// accepted amounts still pass int64. Nothing is dropped, a restart loads,
// and only the reads whose figure does not fit answer OUT_OF_RANGE.
TEST_F(ForecastWeeklyTest, SumsPastInt64FailOnlyTheirOwnReads) {
  constexpr int64_t kMaxAmount = 1'000'000'000'000'000;  // 10^15
  BuildOrg();
  PutModel(BuyingCycle6());
  // 5,000 WON deals of 10^15 each for r1 and r2 (5 × 10^18 each): ta, a
  // and global hold 10^19.
  int n = 0;
  for (const char* rep : {"r1", "r2"}) {
    for (int batch = 0; batch < 5; ++batch) {
      std::vector<v1::Event> events;
      for (int i = 0; i < 1000; ++i) {
        events.push_back(
            OppEvent({absl::StrCat("big", ++n), rep, "USAGE", kMaxAmount,
                      Day(2026, 6, 1), v1::OPPORTUNITY_STATUS_WON,
                      NoonMicros(2026, 4, 15)}));
      }
      ASSERT_TRUE(ApplyPipelineBatch(events).ok());
    }
  }
  // An amount the edge would refuse, had it come from an older version.
  PutOpp({"max", "r3", "USAGE", INT64_MAX, Day(2026, 5, 15)});
  const auto expect_readable = [&] {
    EXPECT_EQ(MustGet("r1").node().closed().units_minor(),
              5 * kMaxAmount * 1000);
    EXPECT_EQ(MustGet("r2").node().closed().units_minor(),
              5 * kMaxAmount * 1000);
    // 80% of INT64_MAX, half to even.
    EXPECT_EQ(MustGet("r3").node().pipeline_weighted().units_minor(),
              7378697629483820646);
    const v1::Forecast b = MustGet("b");
    ASSERT_EQ(b.children_size(), 1);
    EXPECT_EQ(b.children(0).forecast().units_minor(), 7378697629483820646);
    for (const char* node : {"ta", "a", "global"}) {
      v1::Forecast out;
      const grpc::Status s = Get(Req(node), &out);
      EXPECT_TRUE(IsError(s, grpc::StatusCode::OUT_OF_RANGE,
                          absl::StrCat("closed of org node \"", node, "\"")))
          << node;
      EXPECT_THAT(s.error_message(), HasSubstr("10000000000000000000"));
    }
    // Another quarter of the same nodes answers.
    EXPECT_EQ(MustGet("global", 2026, 3).node().forecast().units_minor(), 0);
  };
  expect_readable();
  // The week close snapshots every node it can read.
  v1::CloseWeekResponse closed;
  ASSERT_TRUE(IsOk(Close(2026, 2, 4, &closed)));
  EXPECT_EQ(closed.close().nodes(), 5);
  // A restart loads every stored record; the same answers.
  Restart();
  expect_readable();
}

TEST_F(ForecastWeeklyTest, ProgressIsTheWeeklyChangeOfTheForecastOverTheQuota) {
  Seed();
  // r1 in Q2: o1 5,000 + o2 166,666 weighted + o6 200,000 closed = 371,666
  // against a 400,000 quota.
  v1::CloseWeekResponse out;
  ASSERT_TRUE(IsOk(Close(2026, 2, 4, &out)));
  // A USAGE deal of 100,000 (80%) arrives during week 5.
  PutOpp({"o10", "r1", "USAGE", 100000, Day(2026, 6, 10)});
  ASSERT_TRUE(IsOk(Close(2026, 2, 5, &out)));
  const v1::GetProgressResponse p = Progress("r1");
  EXPECT_EQ(p.quota().units_minor(), 400000);
  EXPECT_EQ(p.pace_bp(), 769);
  ASSERT_EQ(p.weeks_size(), 2);
  EXPECT_EQ(p.weeks(0).week(), 4);
  EXPECT_EQ(p.weeks(0).forecast().units_minor(), 371666);
  EXPECT_EQ(p.weeks(0).progress_bp(), 9292);  // from week 0 = nothing
  EXPECT_EQ(p.weeks(1).week(), 5);
  EXPECT_EQ(p.weeks(1).pipeline_weighted().units_minor(), 171666 + 80000);
  EXPECT_EQ(p.weeks(1).cumulative_closed().units_minor(), 200000);
  EXPECT_EQ(p.weeks(1).progress_bp(), 2000);
  EXPECT_TRUE(p.weeks(1).on_pace());
  EXPECT_EQ(p.cumulative_progress_bp(), 11292);
  EXPECT_TRUE(p.on_pace());
}

TEST_F(ForecastWeeklyTest, TheServiceClosesTheWeekThatEnded) {
  Seed();
  ASSERT_TRUE(service_->CloseEndedWeek(clock_.Now()).ok());  // week 4
  v1::CloseWeekResponse out;
  ASSERT_TRUE(IsOk(Close(2026, 2, 4, &out)));
  EXPECT_TRUE(out.already_closed());
  EXPECT_TRUE(out.close().automatic());
  // Monday 05-04: week 5 ended; closing it twice changes nothing.
  clock_.Advance(absl::Hours(24 * 3));
  ASSERT_TRUE(service_->CloseEndedWeek(clock_.Now()).ok());
  ASSERT_TRUE(service_->CloseEndedWeek(clock_.Now()).ok());
  const v1::GetProgressResponse p = Progress("global");
  ASSERT_EQ(p.weeks_size(), 2);
  EXPECT_EQ(p.weeks(1).week(), 5);
  EXPECT_EQ(p.weeks(1).progress_bp(), 0);
}

TEST_F(ForecastWeeklyTest, ClosingTheLastWeekRecordsTheNextQuartersWeekZero) {
  Seed();
  // Thursday 2026-07-02, in week 1 of Q3. global's Q3: o4 2,000 weighted.
  clock_.Advance(absl::Hours(24 * 62));
  v1::CloseWeekResponse out;
  ASSERT_TRUE(IsOk(Close(2026, 2, 13, &out)));
  PutOpp({"o11", "r3", "INTEREST", 200000, Day(2026, 8, 1)});  // +10,000
  ASSERT_TRUE(IsOk(Close(2026, 3, 1, &out)));
  const v1::GetProgressResponse p = Progress("global", 2026, 3);
  EXPECT_EQ(p.quota().units_minor(), 1000000);
  ASSERT_EQ(p.weeks_size(), 1);
  EXPECT_EQ(p.weeks(0).forecast().units_minor(), 12000);
  EXPECT_EQ(p.weeks(0).progress_bp(), 100);  // 10,000 of 1,000,000
}

TEST_F(ForecastWeeklyTest, SubmissionsAreDueByLevelAndListedForTheManager) {
  Seed();
  // r1's computed forecast is 371,666. Week 5's rep deadline was Monday
  // 04-27: submitting on Friday is late; week 6's (Monday 05-04) is not.
  v1::ForecastSubmission s;
  ASSERT_TRUE(IsOk(Submit("r1", 5, 371666, "", kRep1Token, &s)));
  EXPECT_EQ(s.computed().units_minor(), 371666);
  EXPECT_TRUE(s.late());
  EXPECT_EQ(s.due_micros(),
            absl::ToUnixMicros(absl::FromCivil(absl::CivilDay(2026, 4, 28),
                                               absl::UTCTimeZone())));
  v1::ForecastSubmission early;
  ASSERT_TRUE(IsOk(Submit("r1", 6, 371666, "", kRep1Token, &early)));
  EXPECT_FALSE(early.late());
  EXPECT_TRUE(IsError(Submit("r1", 5, 400000, " ", kRep1Token, &s, 1),
                      grpc::StatusCode::INVALID_ARGUMENT, "submission.note"));
  v1::ForecastSubmission adjusted;
  ASSERT_TRUE(IsOk(Submit("r1", 5, 400000, "big deal signs early", kRep1Token,
                          &adjusted, 1)));
  EXPECT_EQ(adjusted.version(), 2);
  EXPECT_TRUE(IsError(Submit("r1", 5, 1, "x", kRep1Token, &s, 1),
                      grpc::StatusCode::ABORTED));
  EXPECT_TRUE(IsError(Submit("r2", 5, 1, "x", kRep1Token, &s),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(Submit("r1", 0, 1, "x", kRep1Token, &s),
                      grpc::StatusCode::INVALID_ARGUMENT, "week"));
  // The region is due on Friday: on time at 09:00.
  v1::ForecastSubmission region;
  ASSERT_TRUE(IsOk(Submit("a", 5, 421668, "", kManagerAToken, &region)));
  EXPECT_FALSE(region.late());

  v1::ListSubmissionsRequest req;
  req.set_node_id("ta");
  req.set_fiscal_year(2026);
  req.set_fiscal_quarter(2);
  req.set_week(5);
  v1::ListSubmissionsResponse list;
  auto ctx = Ctx(kManagerAToken);
  ASSERT_TRUE(IsOk(stub_->ListSubmissions(ctx.get(), req, &list)));
  EXPECT_FALSE(list.has_own());
  ASSERT_EQ(list.children_size(), 2);
  EXPECT_EQ(list.children(0).node_id(), "r1");
  EXPECT_EQ(list.children(0).submission().amount().units_minor(), 400000);
  EXPECT_EQ(list.children(0).computed().units_minor(), 371666);
  EXPECT_TRUE(list.children(0).late());
  EXPECT_EQ(list.children(1).node_id(), "r2");
  EXPECT_FALSE(list.children(1).has_submission());
  EXPECT_TRUE(list.children(1).late());  // missing after Monday
  // The team itself (reps' manager: Tuesday) is missing too.
  EXPECT_THAT(list.late_node_ids(),
              ::testing::UnorderedElementsAre("ta", "r1", "r2"));
  auto ctx_b = Ctx(kManagerBToken);
  EXPECT_TRUE(IsError(stub_->ListSubmissions(ctx_b.get(), req, &list),
                      grpc::StatusCode::PERMISSION_DENIED));
}

// ---------------------------------------------------------------------------
// Analytics (SPEC §4.5) from the opportunities and their history entries as
// the pipeline feed delivers them.

class ForecastAnalyticsTest : public ForecastWeeklyTest {
 protected:
  // An opportunity's state and its history entries, as pipeline emits them.
  void PutDeal(const std::string& id, const std::string& owner, int64_t amount,
               int64_t created, const std::string& stage,
               v1::OpportunityStatus status, int64_t closed, int64_t version,
               const std::vector<v1::OpportunityChange>& changes) {
    v1::Opportunity m;
    m.set_id(id);
    m.set_account_id("acc_1");
    m.set_owner_node_id(owner);
    m.set_name(id);
    *m.mutable_amount() = Eur(amount);
    *m.mutable_expected_close_date() = Day(2026, 6, 15);
    m.set_stage_model_id(kModel);
    m.set_stage_key(stage);
    m.set_status(status);
    m.set_closed_micros(closed);
    m.set_created_micros(created);
    m.set_source_channel(v1::SOURCE_CHANNEL_REFERRAL);
    m.set_version(version);
    ASSERT_TRUE(
        ApplyPipeline(MakeEvent(&pipeline_seq_, kOpportunityKind, id, m)).ok());
    for (const v1::OpportunityChange& c : changes) {
      v1::OpportunityChange e = c;
      e.set_opportunity_id(id);
      ASSERT_TRUE(
          ApplyPipeline(MakeEvent(&pipeline_seq_, "pipeline.OpportunityChange",
                                  absl::StrCat(id, "/", c.seq()), e))
              .ok());
    }
  }
  static v1::OpportunityChange Change(int64_t seq, v1::ChangeKind kind,
                                      int64_t micros, const std::string& from,
                                      const std::string& to) {
    v1::OpportunityChange c;
    c.set_seq(seq);
    c.set_kind(kind);
    c.set_time_micros(micros);
    c.set_from(from);
    c.set_to(to);
    return c;
  }

  // In region a, FY2026 Q2:
  //   A r1 100,000: created 04-02 in INTEREST, CONSIDERATION 04-10, WON 04-20
  //   B r1  50,000: created 04-03 in INTEREST, LOST 04-15
  //   C r2  30,000: created 04-06 (week 2) in INTEREST, open
  void Deals() {
    BuildOrg();
    PutModel(BuyingCycle6());
    PutDeal("A", "r1", 100000, NoonMicros(2026, 4, 2), "CONSIDERATION",
            v1::OPPORTUNITY_STATUS_WON, NoonMicros(2026, 4, 20), 3,
            {Change(1, v1::CHANGE_KIND_CREATED, NoonMicros(2026, 4, 2), "",
                    "INTEREST"),
             Change(2, v1::CHANGE_KIND_STAGE_FORWARD, NoonMicros(2026, 4, 10),
                    "INTEREST", "CONSIDERATION"),
             Change(3, v1::CHANGE_KIND_CLOSED, NoonMicros(2026, 4, 20), "OPEN",
                    "WON")});
    PutDeal("B", "r1", 50000, NoonMicros(2026, 4, 3), "INTEREST",
            v1::OPPORTUNITY_STATUS_LOST, NoonMicros(2026, 4, 15), 2,
            {Change(1, v1::CHANGE_KIND_CREATED, NoonMicros(2026, 4, 3), "",
                    "INTEREST"),
             Change(2, v1::CHANGE_KIND_CLOSED, NoonMicros(2026, 4, 15), "OPEN",
                    "LOST")});
    PutDeal("C", "r2", 30000, NoonMicros(2026, 4, 6), "INTEREST",
            v1::OPPORTUNITY_STATUS_OPEN, 0, 1,
            {Change(1, v1::CHANGE_KIND_CREATED, NoonMicros(2026, 4, 6), "",
                    "INTEREST")});
  }
};

TEST_F(ForecastAnalyticsTest, FunnelAnalyticsOfASubtree) {
  Deals();
  v1::GetFunnelAnalyticsRequest req;
  req.set_node_id("a");
  *req.mutable_from() = Day(2026, 4, 1);
  *req.mutable_to() = Day(2026, 4, 30);
  v1::FunnelAnalytics out;
  auto ctx = Ctx(kManagerAToken);
  ASSERT_TRUE(IsOk(stub_->GetFunnelAnalytics(ctx.get(), req, &out)));
  ASSERT_EQ(out.stages_size(), 6);
  EXPECT_EQ(out.stages(0).stage_key(), "INTEREST");
  EXPECT_EQ(out.stages(0).entered(), 3);
  EXPECT_EQ(out.stages(0).advanced(), 1);
  EXPECT_EQ(out.stages(0).conversion_bp(), 3333);
  EXPECT_EQ(out.stages(0).closed(), 2);
  EXPECT_EQ(out.stages(0).calibrated_win_rate_bp(), 5000);
  EXPECT_EQ(out.stages(0).configured_win_rate_bp(), 500);
  EXPECT_EQ(out.stages(1).entered(), 1);
  EXPECT_EQ(out.stages(1).calibrated_win_rate_bp(), 10000);
  EXPECT_EQ(out.ratio_line(), "3:1:0:0:0:0:1");
  EXPECT_EQ(out.median_cycle_days(), 18);
  ASSERT_EQ(out.by_source_size(), 1);
  EXPECT_EQ(out.by_source(0).key(), "REFERRAL");
  EXPECT_EQ(out.by_source(0).created(), 3);
  EXPECT_EQ(out.by_source(0).win_rate_bp(), 5000);
  EXPECT_EQ(out.by_source(0).won_amount().units_minor(), 100000);
  ASSERT_EQ(out.by_owner_size(), 2);
  EXPECT_EQ(out.by_owner(0).key(), "r1");
  // Created range and scope.
  *req.mutable_from() = Day(2026, 4, 4);
  auto ctx2 = Ctx(kAdminToken);
  ASSERT_TRUE(IsOk(stub_->GetFunnelAnalytics(ctx2.get(), req, &out)));
  EXPECT_EQ(out.stages(0).entered(), 1);
  auto ctx3 = Ctx(kManagerBToken);
  EXPECT_TRUE(IsError(stub_->GetFunnelAnalytics(ctx3.get(), req, &out),
                      grpc::StatusCode::PERMISSION_DENIED));
  *req.mutable_from() = Day(2026, 5, 1);
  auto ctx4 = Ctx(kAdminToken);
  EXPECT_TRUE(IsError(stub_->GetFunnelAnalytics(ctx4.get(), req, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "to: must not be before from"));
}

TEST_F(ForecastAnalyticsTest, WaterfallBetweenTwoWeeks) {
  Deals();
  // From the end of week 1 (Mon 04-06 00:00) to the end of week 4 (04-27).
  v1::GetPipelineChangesRequest req;
  req.set_node_id("a");
  req.set_fiscal_year(2026);
  req.set_fiscal_quarter(2);
  req.set_from_week(1);
  req.set_to_week(4);
  v1::PipelineChanges out;
  auto ctx = Ctx(kAdminToken);
  ASSERT_TRUE(IsOk(stub_->GetPipelineChanges(ctx.get(), req, &out)));
  EXPECT_EQ(out.start().units_minor(), 150000);        // A and B
  EXPECT_EQ(out.new_pipeline().units_minor(), 30000);  // C
  EXPECT_EQ(out.won().units_minor(), 100000);
  EXPECT_EQ(out.lost().units_minor(), 50000);
  EXPECT_EQ(out.advanced(), 1);
  EXPECT_EQ(out.end().units_minor(), 30000);
  req.set_to_week(5);  // still running on Friday 05-01
  auto ctx2 = Ctx(kAdminToken);
  EXPECT_TRUE(IsError(stub_->GetPipelineChanges(ctx2.get(), req, &out),
                      grpc::StatusCode::FAILED_PRECONDITION, "to_week"));
  req.set_from_week(4);
  req.set_to_week(4);
  auto ctx3 = Ctx(kAdminToken);
  EXPECT_TRUE(IsError(stub_->GetPipelineChanges(ctx3.get(), req, &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "to_week"));
}

TEST_F(ForecastAnalyticsTest,
       AccuracyComparesWeekSnapshotsWithTheClosedFigure) {
  BuildOrg();
  PutModel(BuyingCycle6());
  PutOpp({"o1", "r1", "COMMITMENT", 100000, Day(2026, 6, 1)});  // 50,000
  v1::CloseWeekResponse closed;
  ASSERT_TRUE(IsOk(Close(2026, 2, 4, &closed)));
  PutOpp({"o1", "r1", "COMMITMENT", 100000, Day(2026, 6, 1),
          v1::OPPORTUNITY_STATUS_WON, NowMicros(), 2});
  v1::GetForecastAccuracyRequest req;
  req.set_node_id("global");
  req.set_fiscal_year(2026);
  req.set_fiscal_quarter(2);
  v1::ForecastAccuracy out;
  auto ctx = Ctx(kAdminToken);
  ASSERT_TRUE(IsOk(stub_->GetForecastAccuracy(ctx.get(), req, &out)));
  EXPECT_EQ(out.final_closed().units_minor(), 100000);
  EXPECT_FALSE(out.quarter_over());
  ASSERT_EQ(out.weeks_size(), 1);
  EXPECT_EQ(out.weeks(0).week(), 4);
  EXPECT_EQ(out.weeks(0).forecast().units_minor(), 50000);
  EXPECT_EQ(out.weeks(0).error_bp(), -5000);
}

// The automatic close's job: runs at start, then every period, until Stop.
TEST(WeekCloserTest, RunsAtStartAndStopsAtOnce) {
  std::atomic<int> runs{0};
  WeekCloser closer(Clock::Real(), [&runs](absl::Time) {
    ++runs;
    return absl::InternalError("logged, tried again a period later");
  });
  closer.Start(absl::Hours(1));
  for (int i = 0; i < 500 && runs.load() == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  const absl::Time before_stop = absl::Now();
  closer.Stop();  // does not wait out the hour
  EXPECT_LT(absl::Now() - before_stop, absl::Seconds(5));
  EXPECT_EQ(runs.load(), 1);
  closer.Stop();  // idempotent
}

}  // namespace
}  // namespace salesops::forecast
