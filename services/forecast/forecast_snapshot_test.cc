// View snapshots (D55): a restart from the newest snapshot and the deals'
// pre-images gives exactly the view a full Load() gives and the view had
// before — at random points of a random history of the three feeds (deals,
// collections, re-orgs, quotas, win-rate changes, rolled-back batches, sales),
// with snapshots taken by hand, automatically, or not at all. And (D58) the
// feed goes on committing batches while a snapshot is being written.

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/testing/loopback_server.h"
#include "common/testing/temp_dir.h"
#include "common/time/clock.h"
#include "gtest/gtest.h"
#include "services/forecast/forecast_store.h"
#include "services/forecast/forecast_view.h"

namespace salesops::forecast {
namespace {

constexpr int kTeams = 3;
constexpr int kReps = 8;
constexpr int kDeals = 60;
const std::vector<std::string> kStages = {"S1", "S2", "S3", "S4"};

class History {
 public:
  explicit History(uint32_t seed) : rng_(seed) {}

  int Uniform(int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng_);
  }

  v1::Event Node(const std::string& id, const std::string& parent,
                 v1::OrgNodeKind kind) {
    v1::OrgNode n;
    n.set_id(id);
    n.set_parent_id(parent);
    n.set_kind(kind);
    n.set_version(++versions_[id]);
    return Pack("accounts.OrgNode", n);
  }
  v1::Event Model() {
    v1::StageModel m;
    m.set_id("m");
    for (const std::string& k : kStages) {
      v1::Stage* s = m.add_stages();
      s->set_key(k);
      s->set_win_rate_bp(Uniform(0, 10000));
    }
    m.set_version(++versions_["model"]);
    return Pack("pipeline.StageModel", m);
  }
  v1::Event Quota() {
    v1::Quota q;
    q.set_node_id(Rep());
    q.set_fiscal_year(2026);
    q.set_fiscal_quarter(Uniform(1, 3));
    *q.mutable_amount() = money::Make(Uniform(0, 1'000'000), "EUR");
    q.set_version(
        ++versions_[absl::StrCat("q", q.node_id(), q.fiscal_quarter())]);
    return Pack("accounts.Quota", q);
  }
  v1::Event Deal() {
    v1::Opportunity o;
    const std::string id = absl::StrCat("o", Uniform(0, kDeals - 1));
    o.set_id(id);
    o.set_owner_node_id(Rep());
    o.set_stage_model_id("m");
    o.set_stage_key(kStages[Uniform(0, 3)]);
    const int status = Uniform(0, 9);
    o.set_status(status < 7   ? v1::OPPORTUNITY_STATUS_OPEN
                 : status < 9 ? v1::OPPORTUNITY_STATUS_WON
                              : v1::OPPORTUNITY_STATUS_LOST);
    *o.mutable_amount() =
        money::Make(Uniform(1, 5'000'000), Uniform(0, 5) == 0 ? "USD" : "EUR");
    v1::Date* d = o.mutable_expected_close_date();
    d->set_year(2026);
    d->set_month(Uniform(1, 9));
    d->set_day(Uniform(1, 28));
    o.set_closed_micros(1'775'000'000'000'000 +
                        int64_t{Uniform(0, 150)} * 86'400'000'000);
    o.set_version(++versions_[id]);
    return Pack("pipeline.Opportunity", o);
  }
  v1::Event Collection() {
    v1::OpportunityCollection c;
    const std::string id = absl::StrCat("o", Uniform(0, kDeals - 1));
    c.set_opportunity_id(id);
    *c.mutable_collected() = money::Make(Uniform(0, 3'000'000), "EUR");
    c.set_version(++versions_["c" + id]);
    return Pack("credit.OpportunityCollection", c);
  }
  std::string Rep() { return absl::StrCat("r", Uniform(0, kReps - 1)); }
  std::string Team() { return absl::StrCat("t", Uniform(0, kTeams - 1)); }

 private:
  template <typename Msg>
  v1::Event Pack(const std::string& kind, const Msg& m) {
    v1::Event e;
    e.set_sequence(++seq_);
    e.set_kind(kind);
    e.mutable_payload()->PackFrom(m);
    return e;
  }
  std::mt19937 rng_;
  std::map<std::string, int64_t> versions_;
  uint64_t seq_ = 0;
};

// Every answer the view gives for the quarters the history uses.
std::string Answers(const ForecastView& view) {
  std::string out;
  for (int q = 1; q <= 4; ++q) {
    std::vector<NodeAnswer> all;
    std::vector<absl::Status> unreadable;
    EXPECT_TRUE(view.ReadAll(MakeQuarterKey(2026, q), &all, &unreadable).ok());
    for (const NodeAnswer& a : all) {
      const NodeFigures& f = a.figures;
      absl::StrAppend(&out, a.node_id, " q", q, " quota ", a.quota_minor,
                      " closed ", f.closed_minor, " oof ",
                      f.out_of_funnel_minor, " coll ", f.collected_minor,
                      " pipe ", f.pipeline_weighted_minor, "\n");
      for (const auto& [stage, row] : f.funnel) {
        absl::StrAppend(&out, "  ", stage.stage_key, " ", row.count, " ",
                        row.amount_minor, " ", row.weighted_minor, "\n");
      }
      for (const CurrencyFigures& c : f.currencies) {
        absl::StrAppend(&out, "  ", c.currency, " ", c.open_count, " ",
                        c.pipeline_amount_minor, " ",
                        c.pipeline_weighted_converted_minor, " ",
                        c.closed_minor, " ", c.missing_open_count, "\n");
      }
    }
  }
  return out;
}

class SnapshotHistoryTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    store_ = testing::OpenTestStore(dir_.path(), ColumnFamilies(), &clock_);
    ASSERT_NE(store_, nullptr);
  }

  std::unique_ptr<ForecastView> Open(bool snapshots, int64_t max_changes) {
    std::optional<ForecastView::SnapshotOptions> o;
    if (snapshots) {
      o.emplace();
      o->max_changes = max_changes;
      o->interval = absl::Hours(1);
      o->background = false;
    }
    return Open(std::move(o));
  }
  std::unique_ptr<ForecastView> Open(
      std::optional<ForecastView::SnapshotOptions> snapshots) {
    auto view =
        std::make_unique<ForecastView>(store_.get(), FiscalCalendar::Default());
    if (snapshots) view->EnableSnapshots(std::move(*snapshots));
    EXPECT_TRUE(view->Load().ok());
    return view;
  }
  // The org (a root, kTeams teams, kReps reps) and the stage model.
  void Org(ForecastView& view, History& h) {
    Batch(view, 0, {h.Node("g", "", v1::ORG_NODE_KIND_GLOBAL)}, false);
    for (int t = 0; t < kTeams; ++t) {
      Batch(view, 0,
            {h.Node(absl::StrCat("t", t), "g", v1::ORG_NODE_KIND_TEAM)}, false);
    }
    for (int r = 0; r < kReps; ++r) {
      Batch(view, 0,
            {h.Node(absl::StrCat("r", r), h.Team(), v1::ORG_NODE_KIND_REP)},
            false);
    }
    Batch(view, 1, {h.Model()}, false);
  }

  // One batch of `events` of one feed; rolled back when `fail`.
  void Batch(ForecastView& view, int feed, const std::vector<v1::Event>& events,
             bool fail) {
    absl::Status s =
        store_
            ->Write(SystemActor("test"),
                    [&](WriteTxn& txn) -> absl::Status {
                      for (const v1::Event& e : events) {
                        RETURN_IF_ERROR(feed == 0   ? view.ApplyAccounts(e, txn)
                                        : feed == 1 ? view.ApplyPipeline(e, txn)
                                                    : view.ApplyCredit(e, txn));
                      }
                      if (fail) return absl::AbortedError("injected");
                      return absl::OkStatus();
                    })
            .status();
    ASSERT_EQ(s.ok(), !fail) << s;
    if (feed == 0) view.AfterAccountsBatch(s.ok());
    if (feed == 1) view.AfterPipelineBatch(s.ok());
    if (feed == 2) view.AfterCreditBatch(s.ok());
  }

  void Sale(ForecastView& view, History& h) {
    ForecastView::ChangeInFlight in_flight(&view);
    const std::string rep = h.Rep();
    const absl::CivilDay day(2026, h.Uniform(1, 9), 3);
    const v1::Money amount = money::Make(h.Uniform(1, 90'000), "USD");
    std::optional<money::Decimal> rate;
    ASSERT_TRUE(
        store_
            ->Write(SystemActor("test"),
                    [&](WriteTxn& txn) -> absl::Status {
                      ASSIGN_OR_RETURN(
                          rate, view.StageSale(txn, absl::StrCat("s", ++sales_),
                                               rep, day, amount));
                      return absl::OkStatus();
                    })
            .ok());
    ASSERT_TRUE(view.AddOutOfFunnelSale(rep, day, amount, rate).ok());
  }

  int sales_ = 0;
  FakeClock clock_;
  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(SnapshotHistoryTest, RestartAnswersLikeAFullLoadAtRandomPoints) {
  History h(static_cast<uint32_t>(GetParam()));
  const int64_t max_changes = GetParam() % 2 == 0 ? 5 : 1'000'000;
  std::unique_ptr<ForecastView> view = Open(true, max_changes);
  Org(*view, h);
  int from_snapshot = 0;
  for (int step = 0; step < 400; ++step) {
    const int kind = h.Uniform(0, 99);
    if (kind < 70) {
      std::vector<v1::Event> events;
      for (int i = h.Uniform(1, 6); i > 0; --i) events.push_back(h.Deal());
      Batch(*view, 1, events, h.Uniform(0, 19) == 0);
    } else if (kind < 82) {
      Batch(*view, 2, {h.Collection(), h.Collection()}, false);
    } else if (kind < 84) {
      Batch(*view, 0, {h.Node(h.Rep(), h.Team(), v1::ORG_NODE_KIND_REP)},
            false);
    } else if (kind < 86) {
      Batch(*view, 0, {h.Quota()}, false);
    } else if (kind < 87) {
      Batch(*view, 1, {h.Model()}, false);
    } else if (kind < 88) {
      Sale(*view, h);
    } else if (kind < 93) {
      ASSERT_TRUE(view->SnapshotNow().ok());
    } else {
      // A restart: the same answers, and the ones a full load gives.
      const std::string before = Answers(*view);
      view.reset();
      view = Open(true, max_changes);
      from_snapshot += view->loaded_from_snapshot() ? 1 : 0;
      ASSERT_EQ(Answers(*view), before) << "step " << step;
      ASSERT_EQ(Answers(*Open(false, 0)), before) << "step " << step;
    }
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(from_snapshot, 3);
}

INSTANTIATE_TEST_SUITE_P(Seeds, SnapshotHistoryTest,
                         ::testing::Values(1, 2, 3, 4, 5, 6));

// Where the background writer stands, for the test that holds it mid-write.
struct WriterGate {
  std::mutex mu;
  std::condition_variable cv;
  bool armed = false;       // hold the next snapshot at its second chunk
  bool writing = false;     // the writer is inside a snapshot
  bool released = false;    // the test let it go on
  bool waited_out = false;  // it went on because nobody released it
};

using SnapshotWriteTest = SnapshotHistoryTest;

// D58: a snapshot is written beside the store's commit thread and without
// the view's locks, so a feed batch commits (and publishes) while the writer
// is held in the middle of a snapshot. Were the write a transaction on the
// commit thread, or under the staging lock, the batch would wait until the
// writer gave up waiting (waited_out). Then the restart from that snapshot
// answers as the view did, and the older generation's records are gone.
// Background snapshots in chunks of 64 bytes, the writer held at the second
// chunk of the first snapshot after `gate` is armed.
ForecastView::SnapshotOptions HeldWriter(std::shared_ptr<WriterGate> gate) {
  ForecastView::SnapshotOptions o;
  o.max_changes = 10;
  o.interval = absl::Hours(1);
  o.background = true;
  o.chunk_bytes = 64;  // many chunks: the writer is held between two
  o.cost_spacing = 0;  // the held snapshot is due right after SnapshotNow
  o.before_chunk = [gate](uint32_t chunk) {
    if (chunk != 1) return;
    std::unique_lock<std::mutex> lock(gate->mu);
    if (!gate->armed || gate->released) return;
    gate->writing = true;
    gate->cv.notify_all();
    gate->waited_out = !gate->cv.wait_for(lock, std::chrono::seconds(30),
                                          [&] { return gate->released; });
    gate->released = true;
  };
  return o;
}

// SnapshotNow once the background writer is done with an earlier snapshot
// (at most 30 s).
absl::Status SnapshotWhenIdle(ForecastView& view) {
  absl::Status now = view.SnapshotNow();
  for (int i = 0; i < 3000 && absl::IsFailedPrecondition(now); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    now = view.SnapshotNow();
  }
  return now;
}

TEST_F(SnapshotWriteTest, FeedBatchesCommitWhileASnapshotIsWritten) {
  auto gate = std::make_shared<WriterGate>();
  const ForecastView::SnapshotOptions o = HeldWriter(gate);
  History h(7);
  std::unique_ptr<ForecastView> view = Open(o);
  Org(*view, h);
  ASSERT_TRUE(SnapshotWhenIdle(*view).ok());  // not held
  ForecastStore records(store_.get());
  auto first = records.ReadSnapshotHead();
  ASSERT_TRUE(first.ok() && first->has_value());
  const uint64_t held = (*first)->generation + 1;
  {
    std::lock_guard<std::mutex> lock(gate->mu);
    gate->armed = true;
  }
  std::vector<v1::Event> deals;
  for (int i = 0; i < 40; ++i) deals.push_back(h.Deal());
  Batch(*view, 1, deals, false);  // due: the writer takes `held`
  {
    std::unique_lock<std::mutex> lock(gate->mu);
    ASSERT_TRUE(gate->cv.wait_for(lock, std::chrono::seconds(30),
                                  [&] { return gate->writing; }));
  }
  Batch(*view, 1, {h.Deal(), h.Deal(), h.Deal()}, false);  // must commit now
  Batch(*view, 2, {h.Collection()}, false);
  const std::string answers = Answers(*view);
  {
    std::lock_guard<std::mutex> lock(gate->mu);
    EXPECT_FALSE(gate->waited_out);
    gate->released = true;
  }
  gate->cv.notify_all();
  view.reset();  // waits for the snapshot being written
  EXPECT_FALSE(gate->waited_out) << "the feed waited for the snapshot";
  view = Open(o);
  EXPECT_TRUE(view->loaded_from_snapshot());
  EXPECT_EQ(Answers(*view), answers);
  EXPECT_EQ(Answers(*Open(std::nullopt)), answers);
  auto head = records.ReadSnapshotHead();
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ((*head)->generation, held);
  EXPECT_TRUE(
      records
          .ScanPreImages(0,
                         [&](uint64_t g, const std::string&, const OppRecord*) {
                           EXPECT_GE(g, held) << "an older pre-image";
                           return absl::OkStatus();
                         })
          .ok());
}

// D63: snapshots are spaced by what the last one cost, so a large view is
// never snapshotted back to back during a catch-up.
TEST(SnapshotDueTest, ChangesOrIntervalButNeverSoonerThanTenTimesTheLastCost) {
  ForecastView::SnapshotOptions o;
  o.max_changes = 100'000;
  o.interval = absl::Seconds(30);
  ASSERT_EQ(o.cost_spacing, 10);
  using V = ForecastView;
  const absl::Duration free = absl::ZeroDuration();
  // By changes, by interval, and not at all without a change.
  EXPECT_TRUE(V::SnapshotDue(o, 100'000, false, absl::Seconds(1), free));
  EXPECT_FALSE(V::SnapshotDue(o, 99'999, false, absl::Seconds(29), free));
  EXPECT_TRUE(V::SnapshotDue(o, 1, false, absl::Seconds(30), free));
  EXPECT_TRUE(V::SnapshotDue(o, 0, true, absl::Seconds(30), free));
  EXPECT_FALSE(V::SnapshotDue(o, 0, false, absl::Hours(1), free));
  // The last one cost 2 s: nothing for 20 s after it, however many changed.
  const absl::Duration cost = absl::Seconds(2);
  EXPECT_FALSE(V::SnapshotDue(o, 5'000'000, false, absl::Seconds(19), cost));
  EXPECT_TRUE(V::SnapshotDue(o, 100'000, false, absl::Seconds(20), cost));
  EXPECT_FALSE(V::SnapshotDue(o, 1, false, absl::Seconds(29), cost));
  // A cost beyond the interval stretches the interval too.
  EXPECT_FALSE(V::SnapshotDue(o, 1, true, absl::Seconds(31), absl::Seconds(4)));
  EXPECT_TRUE(V::SnapshotDue(o, 1, true, absl::Seconds(40), absl::Seconds(4)));
  o.cost_spacing = 0;
  EXPECT_TRUE(V::SnapshotDue(o, 100'000, false, absl::Seconds(1), cost));
}

}  // namespace
}  // namespace salesops::forecast
