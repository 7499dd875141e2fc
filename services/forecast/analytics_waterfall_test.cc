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
#include "services/forecast/analytics.h"
#include "services/forecast/analytics_test_fixture.h"

namespace salesops::forecast {
namespace {

using namespace analytics_testing;  // NOLINT: the shared fixture

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

// Random draws for the simulation.
struct Dice {
  std::mt19937_64& rng;
  int64_t operator()(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  }
  absl::CivilDay Day() {
    return absl::CivilDay(2025, 2, 1) + (*this)(0, 240);  // Feb – Sep
  }
  std::string Rep() { return absl::StrCat("rep-", (*this)(0, 3)); }
};

// One random change of an OPEN opportunity at `at`.
void ChangeOpen(Simulated& sim, absl::Time at, Dice& uniform) {
  const Timeline& t = sim.opp.timeline();
  const int stage = StageIndex(t.stage_key);
  switch (uniform(0, 6)) {
    case 0:
      sim.opp.Amount(at, uniform(1, 1'000'000));
      break;
    case 1:
      sim.opp.CloseDate(at, uniform.Day());
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
      sim.opp.Reassign(at, uniform.Rep());
      break;
    default:
      sim.opp.Amount(at, t.amount_minor);  // an unchanged amount
      break;
  }
}

Simulated Simulate(std::mt19937_64& rng, int index) {
  Dice uniform{rng};
  absl::Time at = At(0) + absl::Minutes(uniform(0, 120 * 24 * 60));
  Simulated sim{
      Opp(absl::StrCat("r", index), at, kBuyingCycle6[uniform(0, 4)].first,
          uniform(1, 1'000'000), uniform.Day()),
      {}};
  sim.opp.Owner(uniform.Rep())
      .Source(static_cast<v1::SourceChannel>(uniform(0, 6)));
  sim.snapshots.emplace_back(Us(at), CurrentOf(sim.opp.timeline()));
  const int64_t events = uniform(0, 14);
  for (int64_t e = 0; e < events; ++e) {
    // Sometimes several changes share an instant.
    if (uniform(0, 4) != 0) {
      at += absl::Minutes(uniform(1, 10 * 24 * 60));
    }
    const Timeline& t = sim.opp.timeline();
    if (t.status == v1::OPPORTUNITY_STATUS_OPEN) {
      ChangeOpen(sim, at, uniform);
    } else if (t.stage_key != "USAGE" && uniform(0, 2) == 0) {
      sim.opp.Reopen(at);
    } else {
      sim.opp.Reassign(at, uniform.Rep());
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

// 400 simulated opportunities (the same for every test: a fixed seed).
struct Simulation {
  std::vector<Simulated> sims;
  std::vector<Timeline> timelines;
};
const Simulation& Simulations() {
  static const Simulation* const simulation = [] {
    auto* out = new Simulation;
    std::mt19937_64 rng(20250401);
    for (int i = 0; i < 400; ++i) {
      out->sims.push_back(Simulate(rng, i));
      out->timelines.push_back(out->sims.back().opp.timeline());
    }
    return out;
  }();
  return *simulation;
}

TEST(AnalyticsPropertyTest, RandomTimelinesReconstruct) {
  const absl::Time now = At(400);
  for (const Simulated& sim : Simulations().sims) {
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
}

// The simulated open pipeline closing within [first, last] at `when`.
int64_t OpenPipelineAt(absl::Time when, absl::CivilDay first,
                       absl::CivilDay last) {
  int64_t sum = 0;
  for (const Simulated& sim : Simulations().sims) {
    const std::optional<StateAt> s = Expected(sim, Us(when));
    if (s && s->status == v1::OPPORTUNITY_STATUS_OPEN &&
        s->expected_close >= first && s->expected_close <= last) {
      sum += s->amount_minor;
    }
  }
  return sum;
}

// The waterfall balances for many week pairs and two quarters, and its
// start / end match the simulated pipelines.
TEST(AnalyticsPropertyTest, RandomWaterfallsBalance) {
  const std::pair<absl::CivilDay, absl::CivilDay> quarters[] = {
      {absl::CivilDay(2025, 4, 1), absl::CivilDay(2025, 6, 30)},
      {absl::CivilDay(2025, 7, 1), absl::CivilDay(2025, 9, 30)}};
  for (const auto& [first, last] : quarters) {
    for (int w = 0; w < 20; ++w) {
      const absl::Time from = At(7 * w, 23);
      for (int span : {1, 2, 5}) {
        const absl::Time to = from + absl::Hours(24 * 7 * span);
        absl::StatusOr<v1::PipelineChanges> c = ComputePipelineChanges(
            Simulations().timelines, first, last, from, to, "EUR");
        ASSERT_TRUE(c.ok()) << c.status();
        ExpectIdentity(*c);
        EXPECT_EQ(Minor(c->start()), OpenPipelineAt(from, first, last));
        EXPECT_EQ(Minor(c->end()), OpenPipelineAt(to, first, last));
      }
    }
  }
}

// The opportunities whose history ever shows `stage`.
int64_t EverEntered(const std::vector<Timeline>& timelines,
                    const std::string& stage) {
  int64_t entered = 0;
  for (const Timeline& t : timelines) {
    bool in = false;
    for (const Timeline::Change& c : t.changes) {
      in = in || ((c.kind == v1::CHANGE_KIND_CREATED ||
                   c.kind == v1::CHANGE_KIND_STAGE_FORWARD ||
                   c.kind == v1::CHANGE_KIND_STAGE_BACKWARD) &&
                  c.to == stage);
    }
    entered += in ? 1 : 0;
  }
  return entered;
}

// Funnel sanity over the same data.
TEST(AnalyticsPropertyTest, RandomFunnelIsConsistent) {
  const std::vector<Timeline>& timelines = Simulations().timelines;
  absl::StatusOr<v1::FunnelAnalytics> f =
      ComputeFunnelAnalytics(timelines, Bc6(), At(400), "EUR");
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
    EXPECT_EQ(s.entered(), EverEntered(timelines, kBuyingCycle6[i].first))
        << kBuyingCycle6[i].first;
  }
}

}  // namespace
}  // namespace salesops::forecast
