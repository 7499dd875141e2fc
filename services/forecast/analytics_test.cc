#include "services/forecast/analytics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/forecast/analytics_test_fixture.h"

namespace salesops::forecast {
namespace {

using namespace analytics_testing;  // NOLINT: the shared fixture

// ---------------------------------------------------------------------------
// StateOf

TEST(AnalyticsStateOfTest, UndoesAmountChanges) {
  const Timeline t =
      Opp("o1", At(0), "INTEREST", 100, absl::CivilDay(2025, 3, 1))
          .Amount(At(5), 150)
          .Amount(At(10), 120);
  EXPECT_EQ(Must(t, At(3)).amount_minor, 100);
  EXPECT_EQ(Must(t, At(7)).amount_minor, 150);
  EXPECT_EQ(Must(t, At(12)).amount_minor, 120);
}

TEST(AnalyticsStateOfTest, UndoesCloseDateChanges) {
  const Timeline t =
      Opp("o1", At(0), "INTEREST", 100, absl::CivilDay(2025, 3, 1))
          .CloseDate(At(5), absl::CivilDay(2025, 6, 30))
          .CloseDate(At(10), absl::CivilDay(2024, 12, 31));
  EXPECT_EQ(Must(t, At(3)).expected_close, absl::CivilDay(2025, 3, 1));
  EXPECT_EQ(Must(t, At(7)).expected_close, absl::CivilDay(2025, 6, 30));
  EXPECT_EQ(Must(t, At(11)).expected_close, absl::CivilDay(2024, 12, 31));
}

TEST(AnalyticsStateOfTest, UndoesStageMovesBothWays) {
  const Timeline t =
      Opp("o1", At(0), "INTEREST", 100, absl::CivilDay(2025, 3, 1))
          .Move(At(2), "CONSIDERATION")
          .Move(At(4), "COMPARISON")
          .Move(At(6), "DESIGN");
  EXPECT_EQ(Must(t, At(1)).stage_key, "INTEREST");
  EXPECT_EQ(Must(t, At(3)).stage_key, "CONSIDERATION");
  EXPECT_EQ(Must(t, At(5)).stage_key, "COMPARISON");
  EXPECT_EQ(Must(t, At(7)).stage_key, "DESIGN");
}

TEST(AnalyticsStateOfTest, UndoesClosesAndReopens) {
  const Timeline t =
      Opp("o1", At(0), "INTEREST", 100, absl::CivilDay(2025, 3, 1))
          .Close(At(5), v1::OPPORTUNITY_STATUS_LOST)
          .Reopen(At(8))
          .Close(At(12), v1::OPPORTUNITY_STATUS_NO_DECISION)
          .Reopen(At(14))
          .Close(At(16), v1::OPPORTUNITY_STATUS_WON);
  StateAt s = Must(t, At(3));
  EXPECT_EQ(s.status, v1::OPPORTUNITY_STATUS_OPEN);
  EXPECT_EQ(s.closed_micros, 0);
  s = Must(t, At(6));
  EXPECT_EQ(s.status, v1::OPPORTUNITY_STATUS_LOST);
  EXPECT_EQ(s.closed_micros, Us(At(5)));
  s = Must(t, At(9));
  EXPECT_EQ(s.status, v1::OPPORTUNITY_STATUS_OPEN);
  EXPECT_EQ(s.closed_micros, 0);
  s = Must(t, At(13));
  EXPECT_EQ(s.status, v1::OPPORTUNITY_STATUS_NO_DECISION);
  EXPECT_EQ(s.closed_micros, Us(At(12)));
  s = Must(t, At(15));
  EXPECT_EQ(s.status, v1::OPPORTUNITY_STATUS_OPEN);
  s = Must(t, At(20));
  EXPECT_EQ(s.status, v1::OPPORTUNITY_STATUS_WON);
  EXPECT_EQ(s.closed_micros, Us(At(16)));
}

TEST(AnalyticsStateOfTest, MoveIntoAClosesWonStageIsAMoveAndAClose) {
  // Pipeline writes STAGE_FORWARD then CLOSED at the same instant.
  const Timeline t =
      Opp("o1", At(0), "COMMITMENT", 100, absl::CivilDay(2025, 3, 1))
          .Move(At(4), "USAGE")
          .Close(At(4), v1::OPPORTUNITY_STATUS_WON);
  StateAt s = Must(t, At(4) - absl::Microseconds(1));
  EXPECT_EQ(s.stage_key, "COMMITMENT");
  EXPECT_EQ(s.status, v1::OPPORTUNITY_STATUS_OPEN);
  s = Must(t, At(4));
  EXPECT_EQ(s.stage_key, "USAGE");
  EXPECT_EQ(s.status, v1::OPPORTUNITY_STATUS_WON);
  EXPECT_EQ(s.closed_micros, Us(At(4)));
}

TEST(AnalyticsStateOfTest, NotYetCreatedIsNullopt) {
  const Timeline t =
      Opp("o1", At(5), "INTEREST", 100, absl::CivilDay(2025, 3, 1));
  EXPECT_FALSE(Exists(t, At(4)));
  EXPECT_FALSE(Exists(t, At(5) - absl::Microseconds(1)));
  EXPECT_TRUE(Exists(t, At(5)));  // created exactly at t: it exists
}

TEST(AnalyticsStateOfTest, AnEntryExactlyAtTHasHappened) {
  const Timeline t =
      Opp("o1", At(0), "INTEREST", 100, absl::CivilDay(2025, 3, 1))
          .Amount(At(5), 150)
          .Move(At(5), "DESIGN");
  StateAt s = Must(t, At(5));
  EXPECT_EQ(s.amount_minor, 150);
  EXPECT_EQ(s.stage_key, "DESIGN");
  s = Must(t, At(5) - absl::Microseconds(1));
  EXPECT_EQ(s.amount_minor, 100);
  EXPECT_EQ(s.stage_key, "INTEREST");
}

TEST(AnalyticsStateOfTest, OwnerChangesAreIgnored) {
  const Timeline t =
      Opp("o1", At(0), "INTEREST", 100, absl::CivilDay(2025, 3, 1))
          .Reassign(At(5), "rep-b")
          .Amount(At(6), 200);
  const StateAt s = Must(t, At(1));
  EXPECT_EQ(s.amount_minor, 100);
  EXPECT_EQ(s.stage_key, "INTEREST");
  EXPECT_EQ(s.status, v1::OPPORTUNITY_STATUS_OPEN);
}

TEST(AnalyticsStateOfTest, UnparsableEntriesAreInvalidArgumentNamingTheSeq) {
  struct Case {
    v1::ChangeKind kind;
    std::string from, to;
  };
  const std::vector<Case> cases = {
      {v1::CHANGE_KIND_AMOUNT, "12x", "15"},
      {v1::CHANGE_KIND_AMOUNT, "12", ""},
      {v1::CHANGE_KIND_AMOUNT, "99999999999999999999", "1"},
      {v1::CHANGE_KIND_CLOSE_DATE, "2025-02-30", "2025-03-01"},
      {v1::CHANGE_KIND_CLOSE_DATE, "2025/03/01", "2025-03-01"},
      {v1::CHANGE_KIND_CLOSED, "OPEN", "MAYBE"},
      {v1::CHANGE_KIND_REOPENED, "OPEN", "OPEN"},
      {v1::CHANGE_KIND_STAGE_FORWARD, "INTEREST", ""},
      {v1::CHANGE_KIND_UNSPECIFIED, "", ""},
  };
  for (const Case& c : cases) {
    Timeline t =
        Opp("opp-7", At(0), "INTEREST", 100, absl::CivilDay(2025, 3, 1))
            .Amount(At(1), 100)
            .Amount(At(2), 100);
    t.changes.push_back(Timeline::Change{4, c.kind, Us(At(3)), c.from, c.to});
    for (absl::Time at : {At(1), At(10)}) {  // before and after the entry
      absl::StatusOr<std::optional<StateAt>> s = StateOf(t, at);
      ASSERT_FALSE(s.ok()) << c.from << " → " << c.to;
      EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(s.status().message().find("opp-7"), std::string::npos)
          << s.status();
      EXPECT_NE(s.status().message().find("seq 4"), std::string::npos)
          << s.status();
    }
  }
}

// ---------------------------------------------------------------------------
// Funnel analytics

const v1::StageAnalytics& StageOf(const v1::FunnelAnalytics& f,
                                  const std::string& key) {
  for (const v1::StageAnalytics& s : f.stages()) {
    if (s.stage_key() == key) {
      return s;
    }
  }
  ADD_FAILURE() << "no stage " << key;
  return v1::StageAnalytics::default_instance();
}

v1::FunnelAnalytics Funnel(const std::vector<Timeline>& ts, absl::Time now) {
  absl::StatusOr<v1::FunnelAnalytics> f =
      ComputeFunnelAnalytics(ts, Bc6(), now, "EUR");
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *f : v1::FunnelAnalytics{};
}

// 10 created in INTEREST; 6 reached CONSIDERATION, 2 of which slipped back;
// 3 reached DESIGN; o0 WON, o1 LOST (both in DESIGN), o6 ABANDONED in
// INTEREST.
std::vector<Timeline> SmallFunnel() {
  std::vector<Timeline> ts;
  for (int i = 0; i < 10; ++i) {
    Opp o(absl::StrCat("o", i), At(i), "INTEREST", 1000 * (i + 1),
          absl::CivilDay(2025, 6, 30));
    if (i < 6) {
      o.Move(At(i + 10), "CONSIDERATION");
    }
    if (i == 4 || i == 5) {
      o.Move(At(i + 20), "INTEREST");
    }
    if (i < 3) {
      o.Move(At(i + 30), "DESIGN");
    }
    if (i == 0) {
      o.Close(At(40), v1::OPPORTUNITY_STATUS_WON);
    }
    if (i == 1) {
      o.Close(At(41), v1::OPPORTUNITY_STATUS_LOST);
    }
    if (i == 6) {
      o.Close(At(42), v1::OPPORTUNITY_STATUS_ABANDONED);
    }
    ts.push_back(o);
  }
  return ts;
}

TEST(AnalyticsFunnelTest, ConversionAndRatioLineOfASmallFunnel) {
  const v1::FunnelAnalytics f = Funnel(SmallFunnel(), At(60));
  ASSERT_EQ(f.stages_size(), 6);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(f.stages(i).stage_key(), kBuyingCycle6[i].first);
    EXPECT_EQ(f.stages(i).configured_win_rate_bp(), kBuyingCycle6[i].second);
  }
  const v1::StageAnalytics& interest = StageOf(f, "INTEREST");
  EXPECT_EQ(interest.entered(), 10);
  EXPECT_EQ(interest.advanced(), 6);  // the slipped ones did reach stage 2
  EXPECT_EQ(interest.conversion_bp(), 6000);
  const v1::StageAnalytics& consideration = StageOf(f, "CONSIDERATION");
  EXPECT_EQ(consideration.entered(), 6);
  EXPECT_EQ(consideration.advanced(), 3);
  EXPECT_EQ(consideration.conversion_bp(), 5000);
  const v1::StageAnalytics& design = StageOf(f, "DESIGN");
  EXPECT_EQ(design.entered(), 3);
  EXPECT_EQ(design.advanced(), 0);
  EXPECT_EQ(design.conversion_bp(), 0);
  EXPECT_EQ(StageOf(f, "COMPARISON").entered(), 0);
  EXPECT_EQ(StageOf(f, "COMPARISON").conversion_bp(), 0);
  EXPECT_EQ(f.ratio_line(), "10:6:3:0:0:0:1");
}

TEST(AnalyticsFunnelTest, EverInAStageUsesTheWholeTimelineWhateverNow) {
  // `now` before most of the moves: entered / advanced are unchanged.
  const v1::FunnelAnalytics f = Funnel(SmallFunnel(), At(1));
  EXPECT_EQ(f.ratio_line(), "10:6:3:0:0:0:1");
  EXPECT_EQ(StageOf(f, "CONSIDERATION").advanced(), 3);
}

TEST(AnalyticsFunnelTest, ConversionRoundsHalfToEven) {
  // 2 of 3 advance: 6666.67 → 6667; 1 of 3: 3333.33 → 3333.
  std::vector<Timeline> ts;
  for (int i = 0; i < 3; ++i) {
    Opp o(absl::StrCat("o", i), At(0), "INTEREST", 100,
          absl::CivilDay(2025, 6, 30));
    if (i < 2) o.Move(At(1), "CONSIDERATION");
    if (i < 1) o.Move(At(2), "DESIGN");
    ts.push_back(o);
  }
  const v1::FunnelAnalytics f = Funnel(ts, At(10));
  EXPECT_EQ(StageOf(f, "INTEREST").conversion_bp(), 6667);
  EXPECT_EQ(StageOf(f, "CONSIDERATION").conversion_bp(), 5000);
  // 1 of 16 = 625 exactly; 1 of 32 = 312.5 → 312 (even); 3 of 32 = 937.5 →
  // 938 (even).
  std::vector<Timeline> many;
  for (int i = 0; i < 32; ++i) {
    Opp o(absl::StrCat("m", i), At(0), "INTEREST", 100,
          absl::CivilDay(2025, 6, 30));
    if (i < 3) o.Move(At(1), "CONSIDERATION");
    many.push_back(o);
  }
  EXPECT_EQ(StageOf(Funnel(many, At(10)), "INTEREST").conversion_bp(), 938);
  many.resize(1);
  for (int i = 1; i < 32; ++i) {
    many.push_back(Opp(absl::StrCat("n", i), At(0), "INTEREST", 100,
                       absl::CivilDay(2025, 6, 30)));
  }
  EXPECT_EQ(StageOf(Funnel(many, At(10)), "INTEREST").conversion_bp(), 312);
}

TEST(AnalyticsFunnelTest, CalibratedWinRatesAmongClosedThatPassedThrough) {
  const v1::FunnelAnalytics f = Funnel(SmallFunnel(), At(60));
  // INTEREST: o0 WON, o1 LOST, o6 ABANDONED → 1/3.
  EXPECT_EQ(StageOf(f, "INTEREST").closed(), 3);
  EXPECT_EQ(StageOf(f, "INTEREST").calibrated_win_rate_bp(), 3333);
  // CONSIDERATION and DESIGN: o0 WON, o1 LOST → 1/2.
  EXPECT_EQ(StageOf(f, "CONSIDERATION").closed(), 2);
  EXPECT_EQ(StageOf(f, "CONSIDERATION").calibrated_win_rate_bp(), 5000);
  EXPECT_EQ(StageOf(f, "DESIGN").closed(), 2);
  EXPECT_EQ(StageOf(f, "DESIGN").calibrated_win_rate_bp(), 5000);
  EXPECT_EQ(StageOf(f, "COMMITMENT").closed(), 0);
  EXPECT_EQ(StageOf(f, "COMMITMENT").calibrated_win_rate_bp(), 0);
  EXPECT_EQ(StageOf(f, "COMMITMENT").configured_win_rate_bp(), 5000);
}

TEST(AnalyticsFunnelTest, CalibratedWinRateCountsEveryClosedOutcome) {
  std::vector<Timeline> ts;
  const v1::OpportunityStatus outcomes[] = {
      v1::OPPORTUNITY_STATUS_WON, v1::OPPORTUNITY_STATUS_WON,
      v1::OPPORTUNITY_STATUS_LOST, v1::OPPORTUNITY_STATUS_NO_DECISION,
      v1::OPPORTUNITY_STATUS_ABANDONED};
  int i = 0;
  for (v1::OpportunityStatus s : outcomes) {
    ts.push_back(Opp(absl::StrCat("c", i++), At(0), "DESIGN", 100,
                     absl::CivilDay(2025, 6, 30))
                     .Close(At(3), s));
  }
  ts.push_back(Opp("open", At(0), "DESIGN", 100, absl::CivilDay(2025, 6, 30)));
  // Closed then reopened: open now, so not among the closed.
  ts.push_back(
      Opp("reopened", At(0), "DESIGN", 100, absl::CivilDay(2025, 6, 30))
          .Close(At(1), v1::OPPORTUNITY_STATUS_WON)
          .Reopen(At(2)));
  const v1::FunnelAnalytics f = Funnel(ts, At(10));
  EXPECT_EQ(StageOf(f, "DESIGN").entered(), 7);
  EXPECT_EQ(StageOf(f, "DESIGN").closed(), 5);
  EXPECT_EQ(StageOf(f, "DESIGN").calibrated_win_rate_bp(), 4000);
  EXPECT_EQ(f.ratio_line(), "0:0:7:0:0:0:2");
}

TEST(AnalyticsFunnelTest, MedianDaysInStageOddAndEvenCounts) {
  std::vector<Timeline> ts;
  // INTEREST stays: 1 day, 5 days (5.5 floored), 10 days (still there at
  // now): median of 3 = 5.
  ts.push_back(Opp("a", At(0), "INTEREST", 100, absl::CivilDay(2025, 6, 30))
                   .Move(At(1), "CONSIDERATION"));
  ts.push_back(Opp("b", At(0), "INTEREST", 100, absl::CivilDay(2025, 6, 30))
                   .Move(At(5, 12), "CONSIDERATION"));
  ts.push_back(Opp("c", At(0), "INTEREST", 100, absl::CivilDay(2025, 6, 30)));
  // CONSIDERATION stays until now: 9 days and 4 days (4.5 floored): the lower
  // median of two is 4.
  const v1::FunnelAnalytics f = Funnel(ts, At(10));
  EXPECT_EQ(StageOf(f, "INTEREST").median_days_in_stage(), 5);
  EXPECT_EQ(StageOf(f, "CONSIDERATION").median_days_in_stage(), 4);
  EXPECT_EQ(StageOf(f, "DESIGN").median_days_in_stage(), 0);  // no stays
}

TEST(AnalyticsFunnelTest, StaysEndAtTheCloseAndRestartAtAReopen) {
  std::vector<Timeline> ts;
  // INTEREST: 4 days until closed, reopened at day 6, 3 more days until the
  // move → stays {4, 3}, lower median 3 (the closed days 4..6 are no stay).
  // CONSIDERATION: day 9 → now (20) = 11.
  ts.push_back(Opp("a", At(0), "INTEREST", 100, absl::CivilDay(2025, 6, 30))
                   .Close(At(4), v1::OPPORTUNITY_STATUS_LOST)
                   .Reopen(At(6))
                   .Move(At(9), "CONSIDERATION"));
  // DESIGN: 7 days then closed (the stay does not run on to now).
  ts.push_back(Opp("b", At(0), "DESIGN", 100, absl::CivilDay(2025, 6, 30))
                   .Close(At(7, 23), v1::OPPORTUNITY_STATUS_ABANDONED));
  // COMMITMENT: 4 days; USAGE (closes WON on entry): a stay of 0 days.
  ts.push_back(Opp("c", At(0), "COMMITMENT", 100, absl::CivilDay(2025, 6, 30))
                   .Move(At(4), "USAGE")
                   .Close(At(4), v1::OPPORTUNITY_STATUS_WON));
  const v1::FunnelAnalytics f = Funnel(ts, At(20));
  EXPECT_EQ(StageOf(f, "INTEREST").median_days_in_stage(), 3);
  EXPECT_EQ(StageOf(f, "CONSIDERATION").median_days_in_stage(), 11);
  EXPECT_EQ(StageOf(f, "DESIGN").median_days_in_stage(), 7);
  EXPECT_EQ(StageOf(f, "COMMITMENT").median_days_in_stage(), 4);
  EXPECT_EQ(StageOf(f, "USAGE").median_days_in_stage(), 0);
  EXPECT_EQ(StageOf(f, "USAGE").entered(), 1);
  EXPECT_EQ(StageOf(f, "COMMITMENT").advanced(), 1);
}

TEST(AnalyticsFunnelTest, MedianCycleDaysOverWonOnly) {
  const auto won = [](const std::string& id, absl::Time created,
                      absl::Time closed) -> Timeline {
    return Opp(id, created, "DESIGN", 100, absl::CivilDay(2025, 6, 30))
        .Close(closed, v1::OPPORTUNITY_STATUS_WON);
  };
  std::vector<Timeline> ts = {won("a", At(0), At(10)),      // 10
                              won("b", At(1), At(4, 12)),   // 3
                              won("c", At(2), At(30)),      // 28
                              won("d", At(0), At(7, 23))};  // 7
  ts.push_back(Opp("lost", At(0), "DESIGN", 100, absl::CivilDay(2025, 6, 30))
                   .Close(At(1), v1::OPPORTUNITY_STATUS_LOST));
  ts.push_back(Opp("open", At(0), "DESIGN", 100, absl::CivilDay(2025, 6, 30)));
  EXPECT_EQ(Funnel(ts, At(60)).median_cycle_days(), 7);  // {3, 7, 10, 28}
  ts.erase(ts.begin());                                  // drop a
  EXPECT_EQ(Funnel(ts, At(60)).median_cycle_days(), 7);  // {3, 7, 28}
  ts.erase(ts.begin() + 1);                              // drop c
  EXPECT_EQ(Funnel(ts, At(60)).median_cycle_days(), 3);  // {3, 7}
  EXPECT_EQ(Funnel({}, At(60)).median_cycle_days(), 0);
}

TEST(AnalyticsFunnelTest, EmptyInputGivesZeros) {
  const v1::FunnelAnalytics f = Funnel({}, At(60));
  ASSERT_EQ(f.stages_size(), 6);
  EXPECT_EQ(f.ratio_line(), "0:0:0:0:0:0:0");
  EXPECT_EQ(f.by_source_size(), 0);
  EXPECT_EQ(f.by_owner_size(), 0);
}

// Eight opportunities of three sources and three owners; u1 was reassigned
// (it counts for its current owner).
std::vector<Timeline> BreakdownFunnel() {
  const absl::CivilDay q(2025, 6, 30);
  std::vector<Timeline> ts = {
      Opp("r1", At(0), "DESIGN", 100, q)
          .Source(v1::SOURCE_CHANNEL_REFERRAL)
          .Owner("rep-b")
          .Close(At(3), v1::OPPORTUNITY_STATUS_WON),
      Opp("r2", At(0), "DESIGN", 250, q)
          .Source(v1::SOURCE_CHANNEL_REFERRAL)
          .Owner("rep-b")
          .Close(At(3), v1::OPPORTUNITY_STATUS_WON),
      Opp("r3", At(0), "DESIGN", 999, q)
          .Source(v1::SOURCE_CHANNEL_REFERRAL)
          .Owner("rep-a")
          .Close(At(3), v1::OPPORTUNITY_STATUS_LOST),
      Opp("r4", At(0), "DESIGN", 999, q)
          .Source(v1::SOURCE_CHANNEL_REFERRAL)
          .Owner("rep-a"),
      Opp("t1", At(0), "DESIGN", 40, q)
          .Source(v1::SOURCE_CHANNEL_TRADE_SHOW)
          .Owner("rep-a")
          .Close(At(3), v1::OPPORTUNITY_STATUS_WON),
      Opp("t2", At(0), "DESIGN", 40, q)
          .Source(v1::SOURCE_CHANNEL_TRADE_SHOW)
          .Owner("rep-c")
          .Close(At(3), v1::OPPORTUNITY_STATUS_NO_DECISION),
      Opp("t3", At(0), "DESIGN", 40, q)
          .Source(v1::SOURCE_CHANNEL_TRADE_SHOW)
          .Owner("rep-c")
          .Close(At(3), v1::OPPORTUNITY_STATUS_ABANDONED),
      // Reassigned: counts for the current owner.
      Opp("u1", At(0), "DESIGN", 7, q).Owner("rep-c").Reassign(At(1), "rep-a"),
  };
  return ts;
}

TEST(AnalyticsFunnelTest, BreakdownsBySourceAreSortedByKey) {
  const v1::FunnelAnalytics f = Funnel(BreakdownFunnel(), At(10));
  ASSERT_EQ(f.by_source_size(), 3);
  const v1::BreakdownRow& ref = f.by_source(0);
  EXPECT_EQ(ref.key(), "REFERRAL");
  EXPECT_EQ(ref.created(), 4);
  EXPECT_EQ(ref.won(), 2);
  EXPECT_EQ(ref.closed(), 3);
  EXPECT_EQ(ref.win_rate_bp(), 6667);
  EXPECT_EQ(ref.won_amount().units_minor(), 350);
  EXPECT_EQ(ref.won_amount().currency(), "EUR");
  const v1::BreakdownRow& show = f.by_source(1);
  EXPECT_EQ(show.key(), "TRADE_SHOW");
  EXPECT_EQ(show.created(), 3);
  EXPECT_EQ(show.won(), 1);
  EXPECT_EQ(show.closed(), 3);
  EXPECT_EQ(show.win_rate_bp(), 3333);
  EXPECT_EQ(show.won_amount().units_minor(), 40);
  const v1::BreakdownRow& unspecified = f.by_source(2);
  EXPECT_EQ(unspecified.key(), "UNSPECIFIED");
  EXPECT_EQ(unspecified.created(), 1);
  EXPECT_EQ(unspecified.closed(), 0);
  EXPECT_EQ(unspecified.win_rate_bp(), 0);
  EXPECT_EQ(unspecified.won_amount().units_minor(), 0);
  EXPECT_EQ(unspecified.won_amount().currency(), "EUR");
}

TEST(AnalyticsFunnelTest, BreakdownsByOwnerAreSortedByKey) {
  const v1::FunnelAnalytics f = Funnel(BreakdownFunnel(), At(10));
  ASSERT_EQ(f.by_owner_size(), 3);
  EXPECT_EQ(f.by_owner(0).key(), "rep-a");
  EXPECT_EQ(f.by_owner(0).created(), 4);  // r3, r4, t1, u1
  EXPECT_EQ(f.by_owner(0).won(), 1);
  EXPECT_EQ(f.by_owner(0).closed(), 2);
  EXPECT_EQ(f.by_owner(0).win_rate_bp(), 5000);
  EXPECT_EQ(f.by_owner(0).won_amount().units_minor(), 40);
  EXPECT_EQ(f.by_owner(1).key(), "rep-b");
  EXPECT_EQ(f.by_owner(1).created(), 2);
  EXPECT_EQ(f.by_owner(1).win_rate_bp(), 10000);
  EXPECT_EQ(f.by_owner(1).won_amount().units_minor(), 350);
  EXPECT_EQ(f.by_owner(2).key(), "rep-c");
  EXPECT_EQ(f.by_owner(2).created(), 2);
  EXPECT_EQ(f.by_owner(2).won(), 0);
  EXPECT_EQ(f.by_owner(2).closed(), 2);
  EXPECT_EQ(f.by_owner(2).win_rate_bp(), 0);
}

TEST(AnalyticsFunnelTest, WonAmountOverflowIsOutOfRange) {
  const int64_t big = std::numeric_limits<int64_t>::max() - 5;
  std::vector<Timeline> ts;
  for (int i = 0; i < 2; ++i) {
    ts.push_back(Opp(absl::StrCat("o", i), At(0), "DESIGN", big,
                     absl::CivilDay(2025, 6, 30))
                     .Close(At(1), v1::OPPORTUNITY_STATUS_WON));
  }
  absl::StatusOr<v1::FunnelAnalytics> f =
      ComputeFunnelAnalytics(ts, Bc6(), At(5), "EUR");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace salesops::forecast
