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

namespace salesops::forecast {
namespace {

const std::vector<std::pair<std::string, int32_t>> kBuyingCycle6 = {
    {"INTEREST", 500},    {"CONSIDERATION", 1000}, {"DESIGN", 2000},
    {"COMPARISON", 3000}, {"COMMITMENT", 5000},    {"USAGE", 8000}};

ModelStages Bc6() { return ModelStages{"buying-cycle-6", kBuyingCycle6}; }

int StageIndex(const std::string& key) {
  for (size_t i = 0; i < kBuyingCycle6.size(); ++i) {
    if (kBuyingCycle6[i].first == key) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

const absl::Time kT0 =
    absl::FromCivil(absl::CivilDay(2025, 1, 1), absl::UTCTimeZone());

// kT0 + days + hours.
absl::Time At(int64_t days, int64_t hours = 0) {
  return kT0 + absl::Hours(24 * days + hours);
}

int64_t Us(absl::Time t) { return absl::ToUnixMicros(t); }

std::string StatusName(v1::OpportunityStatus s) {
  std::string name = v1::OpportunityStatus_Name(s);
  return name.substr(std::string("OPPORTUNITY_STATUS_").size());
}

// Builds a timeline the way pipeline records it: every change updates the
// current state and appends the history entry pipeline would write.
class Opp {
 public:
  Opp(std::string id, absl::Time created, std::string stage, int64_t amount,
      absl::CivilDay close) {
    t_.id = std::move(id);
    t_.owner_node_id = "rep-a";
    t_.stage_model_id = "buying-cycle-6";
    t_.created_micros = Us(created);
    t_.stage_key = stage;
    t_.amount_minor = amount;
    t_.expected_close = close;
    Append(v1::CHANGE_KIND_CREATED, created, "", stage);
  }

  // Initial attributes (no history entry).
  Opp& Owner(std::string owner) {
    t_.owner_node_id = std::move(owner);
    return *this;
  }
  Opp& Source(v1::SourceChannel s) {
    t_.source_channel = s;
    return *this;
  }

  Opp& Amount(absl::Time at, int64_t v) {
    Append(v1::CHANGE_KIND_AMOUNT, at, absl::StrCat(t_.amount_minor),
           absl::StrCat(v));
    t_.amount_minor = v;
    return *this;
  }
  Opp& CloseDate(absl::Time at, absl::CivilDay d) {
    Append(v1::CHANGE_KIND_CLOSE_DATE, at,
           absl::FormatCivilTime(t_.expected_close), absl::FormatCivilTime(d));
    t_.expected_close = d;
    return *this;
  }
  Opp& Move(absl::Time at, const std::string& stage) {
    const bool forward = StageIndex(stage) > StageIndex(t_.stage_key);
    Append(forward ? v1::CHANGE_KIND_STAGE_FORWARD
                   : v1::CHANGE_KIND_STAGE_BACKWARD,
           at, t_.stage_key, stage);
    t_.stage_key = stage;
    return *this;
  }
  Opp& Close(absl::Time at, v1::OpportunityStatus outcome) {
    Append(v1::CHANGE_KIND_CLOSED, at, "OPEN", StatusName(outcome));
    t_.status = outcome;
    t_.closed_micros = Us(at);
    return *this;
  }
  Opp& Reopen(absl::Time at) {
    Append(v1::CHANGE_KIND_REOPENED, at, StatusName(t_.status), "OPEN");
    t_.status = v1::OPPORTUNITY_STATUS_OPEN;
    t_.closed_micros = 0;
    return *this;
  }
  Opp& Reassign(absl::Time at, const std::string& owner) {
    Append(v1::CHANGE_KIND_OWNER, at, t_.owner_node_id, owner);
    t_.owner_node_id = owner;
    return *this;
  }

  const Timeline& timeline() const { return t_; }
  operator Timeline() const { return t_; }  // NOLINT: builder

 private:
  void Append(v1::ChangeKind kind, absl::Time at, std::string from,
              std::string to) {
    t_.changes.push_back(
        Timeline::Change{static_cast<int64_t>(t_.changes.size()) + 1, kind,
                         Us(at), std::move(from), std::move(to)});
  }

  Timeline t_;
};

StateAt Must(const Timeline& t, absl::Time at) {
  absl::StatusOr<std::optional<StateAt>> s = StateOf(t, at);
  EXPECT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s.ok() && s->has_value()) << "no state at " << at;
  return s.ok() && s->has_value() ? **s : StateAt{};
}

bool Exists(const Timeline& t, absl::Time at) {
  absl::StatusOr<std::optional<StateAt>> s = StateOf(t, at);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() && s->has_value();
}

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

TEST(AnalyticsFunnelTest, BreakdownsBySourceAndOwnerAreSortedByKey) {
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
  const v1::FunnelAnalytics f = Funnel(ts, At(10));
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

// ---------------------------------------------------------------------------
// Pipeline waterfall

const absl::CivilDay kQFirst(2025, 4, 1);
const absl::CivilDay kQLast(2025, 6, 30);
const absl::CivilDay kInQ(2025, 5, 15);
const absl::CivilDay kOutQ(2025, 8, 1);

int64_t Minor(const v1::Money& m) { return m.units_minor(); }

void ExpectIdentity(const v1::PipelineChanges& c) {
  EXPECT_EQ(Minor(c.start()) + Minor(c.new_pipeline()) + Minor(c.pulled_in()) +
                Minor(c.amount_up()) - Minor(c.won()) - Minor(c.lost()) -
                Minor(c.pushed_out()) - Minor(c.amount_down()),
            Minor(c.end()))
      << c.DebugString();
}

TEST(AnalyticsWaterfallTest, OneOpportunityPerCategory) {
  const absl::Time from = At(95);  // 2025-04-06
  const absl::Time to = At(102);   // 2025-04-13
  const absl::Time before = At(60);
  const absl::Time between = At(98);
  std::vector<Timeline> ts = {
      // New: created in between.
      Opp("new", between, "INTEREST", 500, kInQ),
      // Won, by its amount at `from` (raised before winning).
      Opp("won", before, "COMMITMENT", 1000, kInQ)
          .Amount(between, 1100)
          .Close(between + absl::Hours(1), v1::OPPORTUNITY_STATUS_WON),
      // Lost: any other closed outcome.
      Opp("lost", before, "DESIGN", 2000, kInQ)
          .Close(between, v1::OPPORTUNITY_STATUS_NO_DECISION),
      // Pushed out of the quarter.
      Opp("pushed", before, "DESIGN", 3000, kInQ).CloseDate(between, kOutQ),
      // Pulled in, by its amount at `to`.
      Opp("pulled", before, "DESIGN", 4000, kOutQ)
          .CloseDate(between, kInQ)
          .Amount(between + absl::Hours(2), 4500),
      Opp("up", before, "DESIGN", 5000, kInQ).Amount(between, 5600),
      Opp("down", before, "DESIGN", 6000, kInQ).Amount(between, 5300),
      // Unchanged within the window (its changes are all before `from`).
      Opp("same", before, "INTEREST", 6500, kOutQ)
          .Amount(before + absl::Hours(1), 7000)
          .CloseDate(before + absl::Hours(2), kInQ)
          .Move(from, "CONSIDERATION"),  // exactly at `from`: not counted
      // Advanced exactly at `to` (counted), slipped in between.
      Opp("advanced", before, "DESIGN", 8000, kInQ).Move(to, "COMPARISON"),
      Opp("slipped", before, "DESIGN", 9000, kInQ)
          .Move(between, "CONSIDERATION"),
      // Noise: moves of opportunities never in the quarter's pipeline.
      Opp("outside", before, "DESIGN", 100, kOutQ).Move(between, "COMPARISON"),
      Opp("closed-before", before, "DESIGN", 100, kInQ)
          .Close(before + absl::Hours(1), v1::OPPORTUNITY_STATUS_LOST),
      Opp("new-outside", between, "DESIGN", 100, kOutQ),
      Opp("after-to", to + absl::Seconds(1), "DESIGN", 100, kInQ),
  };
  absl::StatusOr<v1::PipelineChanges> c =
      ComputePipelineChanges(ts, kQFirst, kQLast, from, to, "EUR");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(Minor(c->start()),
            1000 + 2000 + 3000 + 5000 + 6000 + 7000 + 8000 + 9000);
  EXPECT_EQ(Minor(c->new_pipeline()), 500);
  EXPECT_EQ(Minor(c->won()), 1000);
  EXPECT_EQ(Minor(c->lost()), 2000);
  EXPECT_EQ(Minor(c->pushed_out()), 3000);
  EXPECT_EQ(Minor(c->pulled_in()), 4500);
  EXPECT_EQ(Minor(c->amount_up()), 600);
  EXPECT_EQ(Minor(c->amount_down()), 700);
  EXPECT_EQ(c->advanced(), 1);
  EXPECT_EQ(c->slipped(), 1);
  EXPECT_EQ(Minor(c->end()), 500 + 4500 + 5600 + 5300 + 7000 + 8000 + 9000);
  EXPECT_EQ(c->end().currency(), "EUR");
  EXPECT_EQ(c->start().currency(), "EUR");
  ExpectIdentity(*c);
}

TEST(AnalyticsWaterfallTest, QuarterBoundsAreInclusive) {
  const absl::Time from = At(95);
  const absl::Time to = At(102);
  std::vector<Timeline> ts = {
      Opp("first", At(10), "DESIGN", 10, kQFirst),
      Opp("last", At(10), "DESIGN", 20, kQLast),
      Opp("before", At(10), "DESIGN", 40, kQFirst - 1),
      Opp("after", At(10), "DESIGN", 80, kQLast + 1),
  };
  absl::StatusOr<v1::PipelineChanges> c =
      ComputePipelineChanges(ts, kQFirst, kQLast, from, to, "EUR");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(Minor(c->start()), 30);
  EXPECT_EQ(Minor(c->end()), 30);
}

TEST(AnalyticsWaterfallTest, OverflowIsOutOfRangeAndStateErrorsPassOn) {
  const int64_t big = std::numeric_limits<int64_t>::max() - 5;
  std::vector<Timeline> ts = {Opp("a", At(10), "DESIGN", big, kInQ),
                              Opp("b", At(10), "DESIGN", big, kInQ)};
  absl::StatusOr<v1::PipelineChanges> c =
      ComputePipelineChanges(ts, kQFirst, kQLast, At(95), At(102), "EUR");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kOutOfRange);

  Timeline bad = Opp("bad", At(10), "DESIGN", 5, kInQ);
  bad.changes.push_back(
      Timeline::Change{2, v1::CHANGE_KIND_AMOUNT, Us(At(20)), "five", "5"});
  c = ComputePipelineChanges({bad}, kQFirst, kQLast, At(95), At(102), "EUR");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("seq 2"), std::string::npos);
}

// ---------------------------------------------------------------------------
// Randomized property test

// A simulated opportunity: the builder plus the state after every change, to
// check StateOf against.
struct Simulated {
  Opp opp;
  std::vector<std::pair<int64_t, StateAt>> snapshots;  // (time, state after)
};

StateAt CurrentOf(const Timeline& t) {
  StateAt s;
  s.stage_key = t.stage_key;
  s.status = t.status;
  s.amount_minor = t.amount_minor;
  s.expected_close = t.expected_close;
  s.closed_micros = t.closed_micros;
  return s;
}

void ExpectSameState(const StateAt& got, const StateAt& want,
                     const std::string& where) {
  EXPECT_EQ(got.stage_key, want.stage_key) << where;
  EXPECT_EQ(got.status, want.status) << where;
  EXPECT_EQ(got.amount_minor, want.amount_minor) << where;
  EXPECT_EQ(got.expected_close, want.expected_close) << where;
  EXPECT_EQ(got.closed_micros, want.closed_micros) << where;
}

Simulated Simulate(std::mt19937_64& rng, int index) {
  const auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  const auto random_day = [&] {
    return absl::CivilDay(2025, 2, 1) + uniform(0, 240);  // Feb – Sep
  };
  absl::Time at = At(0) + absl::Minutes(uniform(0, 120 * 24 * 60));
  Simulated sim{
      Opp(absl::StrCat("r", index), at, kBuyingCycle6[uniform(0, 4)].first,
          uniform(1, 1'000'000), random_day()),
      {}};
  sim.opp.Owner(absl::StrCat("rep-", uniform(0, 3)))
      .Source(static_cast<v1::SourceChannel>(uniform(0, 6)));
  sim.snapshots.emplace_back(Us(at), CurrentOf(sim.opp.timeline()));
  const int64_t events = uniform(0, 14);
  for (int64_t e = 0; e < events; ++e) {
    // Sometimes several changes share an instant.
    if (uniform(0, 4) != 0) {
      at += absl::Minutes(uniform(1, 10 * 24 * 60));
    }
    const Timeline& t = sim.opp.timeline();
    const int stage = StageIndex(t.stage_key);
    if (t.status != v1::OPPORTUNITY_STATUS_OPEN) {
      if (t.stage_key != "USAGE" && uniform(0, 2) == 0) {
        sim.opp.Reopen(at);
      } else {
        sim.opp.Reassign(at, absl::StrCat("rep-", uniform(0, 3)));
      }
    } else {
      switch (uniform(0, 6)) {
        case 0:
          sim.opp.Amount(at, uniform(1, 1'000'000));
          break;
        case 1:
          sim.opp.CloseDate(at, random_day());
          break;
        case 2:
          if (stage < 5) {
            const int to = static_cast<int>(uniform(stage + 1, 5));
            sim.opp.Move(at, kBuyingCycle6[to].first);
            if (to == 5) {  // USAGE closes WON on entry
              sim.opp.Close(at, v1::OPPORTUNITY_STATUS_WON);
            }
          }
          break;
        case 3:
          if (stage > 0) {
            sim.opp.Move(at, kBuyingCycle6[uniform(0, stage - 1)].first);
          }
          break;
        case 4:
          sim.opp.Close(at, static_cast<v1::OpportunityStatus>(uniform(2, 5)));
          break;
        case 5:
          sim.opp.Reassign(at, absl::StrCat("rep-", uniform(0, 3)));
          break;
        default:
          sim.opp.Amount(at, t.amount_minor);  // an unchanged amount
          break;
      }
    }
    sim.snapshots.emplace_back(Us(at), CurrentOf(sim.opp.timeline()));
  }
  return sim;
}

// The state after every change at or before `t` (nullopt before creation).
std::optional<StateAt> Expected(const Simulated& sim, int64_t t) {
  std::optional<StateAt> out;
  for (const auto& [time, state] : sim.snapshots) {
    if (time <= t) {
      out = state;
    }
  }
  return out;
}

TEST(AnalyticsPropertyTest, RandomTimelinesReconstructAndBalance) {
  std::mt19937_64 rng(20250401);
  std::vector<Simulated> sims;
  std::vector<Timeline> timelines;
  for (int i = 0; i < 400; ++i) {
    sims.push_back(Simulate(rng, i));
    timelines.push_back(sims.back().opp.timeline());
  }
  const absl::Time now = At(400);

  for (const Simulated& sim : sims) {
    const Timeline& t = sim.opp.timeline();
    // At now: the current state.
    ExpectSameState(Must(t, now), CurrentOf(t), t.id + " at now");
    // Before creation: nothing.
    EXPECT_FALSE(Exists(t, absl::FromUnixMicros(t.created_micros - 1))) << t.id;
    // At and around every change: what the simulation recorded.
    for (const auto& [time, state] : sim.snapshots) {
      for (int64_t probe : {time - 1, time, time + 1}) {
        const std::optional<StateAt> want = Expected(sim, probe);
        absl::StatusOr<std::optional<StateAt>> got =
            StateOf(t, absl::FromUnixMicros(probe));
        ASSERT_TRUE(got.ok()) << got.status();
        ASSERT_EQ(got->has_value(), want.has_value()) << t.id << " @" << probe;
        if (want) {
          ExpectSameState(**got, *want, absl::StrCat(t.id, " @", probe));
        }
      }
    }
  }

  // The waterfall balances for many week pairs and two quarters, and its
  // start / end match the simulated pipelines.
  const std::pair<absl::CivilDay, absl::CivilDay> quarters[] = {
      {absl::CivilDay(2025, 4, 1), absl::CivilDay(2025, 6, 30)},
      {absl::CivilDay(2025, 7, 1), absl::CivilDay(2025, 9, 30)}};
  for (const auto& [first, last] : quarters) {
    for (int w = 0; w < 20; ++w) {
      const absl::Time from = At(7 * w, 23);
      for (int span : {1, 2, 5}) {
        const absl::Time to = from + absl::Hours(24 * 7 * span);
        absl::StatusOr<v1::PipelineChanges> c =
            ComputePipelineChanges(timelines, first, last, from, to, "EUR");
        ASSERT_TRUE(c.ok()) << c.status();
        ExpectIdentity(*c);
        int64_t start = 0, end = 0;
        for (const Simulated& sim : sims) {
          const std::pair<absl::Time, int64_t*> probes[] = {{from, &start},
                                                            {to, &end}};
          for (const auto& [when, sum] : probes) {
            const std::optional<StateAt> s = Expected(sim, Us(when));
            if (s && s->status == v1::OPPORTUNITY_STATUS_OPEN &&
                s->expected_close >= first && s->expected_close <= last) {
              *sum += s->amount_minor;
            }
          }
        }
        EXPECT_EQ(Minor(c->start()), start);
        EXPECT_EQ(Minor(c->end()), end);
      }
    }
  }

  // Funnel sanity over the same data.
  absl::StatusOr<v1::FunnelAnalytics> f =
      ComputeFunnelAnalytics(timelines, Bc6(), now, "EUR");
  ASSERT_TRUE(f.ok()) << f.status();
  const std::vector<std::string> ratio = absl::StrSplit(f->ratio_line(), ':');
  ASSERT_EQ(ratio.size(), 7u);
  int64_t created = 0;
  for (const v1::BreakdownRow& r : f->by_source()) created += r.created();
  EXPECT_EQ(created, 400);
  for (int i = 0; i < 6; ++i) {
    const v1::StageAnalytics& s = f->stages(i);
    EXPECT_EQ(ratio[i], absl::StrCat(s.entered()));
    EXPECT_LE(s.advanced(), s.entered());
    EXPECT_LE(s.closed(), s.entered());
    // Independently: the opportunities whose history ever shows stage i.
    int64_t entered = 0;
    for (const Timeline& t : timelines) {
      bool in = false;
      for (const Timeline::Change& c : t.changes) {
        in = in || ((c.kind == v1::CHANGE_KIND_CREATED ||
                     c.kind == v1::CHANGE_KIND_STAGE_FORWARD ||
                     c.kind == v1::CHANGE_KIND_STAGE_BACKWARD) &&
                    c.to == kBuyingCycle6[i].first);
      }
      entered += in ? 1 : 0;
    }
    EXPECT_EQ(s.entered(), entered) << kBuyingCycle6[i].first;
  }
}

}  // namespace
}  // namespace salesops::forecast
