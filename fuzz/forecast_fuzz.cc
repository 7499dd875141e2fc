// libFuzzer target over the request validation of salesops.v1.ForecastService
// (see fuzz_harness.h for the input format and the properties checked).
//
// The forecast learns the org tree, quotas, stage models and opportunities
// from the other services' feeds: the fixture applies such events to the
// ForecastView as the feed consumers would, then records its own entities
// (an out-of-funnel sale, closed weeks, a submission) through its handlers.
// Feed positions are fixed; waiting for the pipeline feed answers at once.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/time/fiscal_calendar.h"
#include "fuzz/fuzz_harness.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/credit.pb.h"
#include "salesops/v1/feed.pb.h"
#include "salesops/v1/forecast.grpc.pb.h"
#include "salesops/v1/pipeline.pb.h"
#include "services/forecast/forecast_service.h"
#include "services/forecast/forecast_view.h"

namespace salesops::fuzz {
namespace {

using forecast::ForecastServiceImpl;

// Where the fixture says the view stands in each feed.
constexpr uint64_t kFeedPosition = 1'000;

class ForecastFixture final : public Fixture {
 public:
  std::string ServiceName() const override {
    return v1::ForecastService::service_full_name();
  }
  std::vector<std::string> ColumnFamilies() const override {
    return forecast::ColumnFamilies();
  }

  void Start(const Env& env, RpcTable* rpcs) override {
    // Wednesday of week 8 of FY2026 Q2: weeks 1..7 can be closed.
    env.clock->Set(absl::FromCivil(absl::CivilSecond(2026, 5, 20, 9, 0, 0),
                                   absl::UTCTimeZone()));
    clock_ = env.clock;
    store_ = env.store;
    view_ = std::make_unique<forecast::ForecastView>(env.store,
                                                     FiscalCalendar::Default());
    forecast::FeedPositions feeds;
    feeds.pipeline_applied = [] { return kFeedPosition; };
    feeds.accounts_applied = [] { return kFeedPosition; };
    feeds.credit_applied = [] { return kFeedPosition; };
    // Nothing more will arrive: a later position is never reached.
    feeds.wait_pipeline = [](uint64_t sequence, absl::Duration) {
      return sequence <= kFeedPosition;
    };
    service_ = std::make_unique<ForecastServiceImpl>(
        env.store, env.auth, env.clock, view_.get(), std::move(feeds),
        forecast::ForecastOptions{}, /*registry=*/nullptr);
    MustOk(service_->Init(), "ForecastServiceImpl::Init");
    ForecastServiceImpl* s = service_.get();
    rpcs->Add("GetForecast", s, &ForecastServiceImpl::GetForecast);
    rpcs->Add("RecordOutOfFunnelSale", s,
              &ForecastServiceImpl::RecordOutOfFunnelSale);
    rpcs->Add("CloseWeek", s, &ForecastServiceImpl::CloseWeek);
    rpcs->Add("GetProgress", s, &ForecastServiceImpl::GetProgress);
    rpcs->Add("SubmitForecast", s, &ForecastServiceImpl::SubmitForecast);
    rpcs->Add("ListSubmissions", s, &ForecastServiceImpl::ListSubmissions);
    rpcs->Add("GetFunnelAnalytics", s,
              &ForecastServiceImpl::GetFunnelAnalytics);
    rpcs->Add("GetPipelineChanges", s,
              &ForecastServiceImpl::GetPipelineChanges);
    rpcs->Add("GetForecastAccuracy", s,
              &ForecastServiceImpl::GetForecastAccuracy);
  }

  //   global (GLOBAL) ── a (REGION) ── ta (TEAM) ── r1, r2 (REP)
  //                  └─ b (REGION) ── tb (TEAM) ── r3 (REP)
  // buying-cycle-6; quotas of FY2026 Q2; open, won and lost opportunities
  // with a collection; an out-of-funnel sale; weeks 1..3 closed; r1's
  // submission for week 3.
  void Seed(Aliases* aliases) override {
    auto node = [&](const std::string& id, const std::string& parent,
                    v1::OrgNodeKind kind) {
      Accounts("accounts.OrgNode", id, FeedOrgNode(id, parent, kind));
    };
    node("global", "", v1::ORG_NODE_KIND_GLOBAL);
    node("a", "global", v1::ORG_NODE_KIND_REGION);
    node("b", "global", v1::ORG_NODE_KIND_REGION);
    node("ta", "a", v1::ORG_NODE_KIND_TEAM);
    node("tb", "b", v1::ORG_NODE_KIND_TEAM);
    node("r1", "ta", v1::ORG_NODE_KIND_REP);
    node("r2", "ta", v1::ORG_NODE_KIND_REP);
    node("r3", "tb", v1::ORG_NODE_KIND_REP);
    for (const auto& [id, amount] :
         {std::pair<const char*, int64_t>{"r1", 400'000},
          {"r2", 200'000},
          {"b", 800'000}}) {
      v1::Quota q;
      q.set_node_id(id);
      q.set_fiscal_year(2026);
      q.set_fiscal_quarter(2);
      *q.mutable_amount() = Eur(amount);
      q.set_version(1);
      Accounts("accounts.Quota", absl::StrCat(id, "/2026/2"), q);
    }

    v1::StageModel m;
    m.set_id("buying-cycle-6");
    m.set_name("Buying cycle");
    for (const auto& [key, bp] :
         {std::pair<const char*, int32_t>{"INTEREST", 500},
          {"CONSIDERATION", 1000},
          {"DESIGN", 2000},
          {"COMPARISON", 3000},
          {"COMMITMENT", 5000},
          {"USAGE", 8000}}) {
      v1::Stage* st = m.add_stages();
      st->set_key(key);
      st->set_name(key);
      st->set_win_rate_bp(bp);
    }
    m.set_built_in(true);
    m.set_version(1);
    Pipeline("pipeline.StageModel", m.id(), m);

    const int64_t now = absl::ToUnixMicros(clock_->Now());
    const int64_t day = int64_t{86'400} * 1'000'000;
    struct Opp {
      const char* id;
      const char* owner;
      const char* stage;
      v1::OpportunityStatus status;
      int64_t amount;
      int64_t created;  // days before now
      int64_t closed;   // days before now; -1 = open
    };
    for (const Opp& o : {Opp{"opp_1", "r1", "DESIGN",
                             v1::OPPORTUNITY_STATUS_OPEN, 100'000, 40, -1},
                         Opp{"opp_2", "r2", "COMMITMENT",
                             v1::OPPORTUNITY_STATUS_OPEN, 333'333, 30, -1},
                         Opp{"opp_3", "r1", "USAGE", v1::OPPORTUNITY_STATUS_WON,
                             200'000, 45, 5},
                         Opp{"opp_4", "r3", "COMPARISON",
                             v1::OPPORTUNITY_STATUS_LOST, 700'000, 20, 2}}) {
      v1::Opportunity p;
      p.set_id(o.id);
      p.set_account_id("acc_1");
      p.set_owner_node_id(o.owner);
      p.set_name(o.id);
      *p.mutable_amount() = Eur(o.amount);
      *p.mutable_expected_close_date() = Day(2026, 6, 15);
      p.set_stage_model_id("buying-cycle-6");
      p.set_stage_key(o.stage);
      p.set_status(o.status);
      p.set_source_channel(v1::SOURCE_CHANNEL_REFERRAL);
      p.set_created_micros(now - o.created * day);
      p.set_stage_entered_micros(now - o.created * day / 2);
      p.set_closed_micros(o.closed < 0 ? 0 : now - o.closed * day);
      p.set_version(1);
      Pipeline("pipeline.Opportunity", o.id, p);
    }
    v1::OpportunityCollection c;
    c.set_opportunity_id("opp_3");
    c.set_account_id("acc_1");
    *c.mutable_invoiced() = Eur(200'000);
    *c.mutable_collected() = Eur(150'000);
    *c.mutable_written_off() = Eur(0);
    c.set_version(1);
    Credit("credit.OpportunityCollection", "opp_3", c);

    ForecastServiceImpl* s = service_.get();
    {
      v1::RecordOutOfFunnelSaleRequest req;
      req.mutable_sale()->set_rep_node_id("r2");
      *req.mutable_sale()->mutable_amount() = Eur(50'000);
      *req.mutable_sale()->mutable_date() = Day(2026, 5, 6);
      aliases->Set(
          "$oof0",
          MustCall(s, &ForecastServiceImpl::RecordOutOfFunnelSale, req).id());
    }
    for (int week = 1; week <= 3; ++week) {
      v1::CloseWeekRequest req;
      req.set_fiscal_year(2026);
      req.set_fiscal_quarter(2);
      req.set_week(week);
      MustCall(s, &ForecastServiceImpl::CloseWeek, req);
    }
    {
      v1::SubmitForecastRequest req;
      v1::ForecastSubmission* f = req.mutable_submission();
      f->set_node_id("r1");
      f->set_fiscal_year(2026);
      f->set_fiscal_quarter(2);
      f->set_week(3);
      *f->mutable_amount() = Eur(300'000);
      f->set_note("one more deal expected");
      MustCall(s, &ForecastServiceImpl::SubmitForecast, req);
    }
  }

  void Stop() override {
    service_.reset();
    view_.reset();
  }

  SeedList Seeds() const override {
    SeedList seeds;
    {
      v1::GetForecastRequest req;
      req.set_node_id("global");
      req.set_fiscal_year(2026);
      req.set_fiscal_quarter(2);
      seeds.Add("GetForecast", req);
      req.set_node_id("r1");
      req.set_skip_children(true);
      req.set_min_pipeline_sequence(kFeedPosition + 1);
      seeds.Add("GetForecast", req);
    }
    {
      v1::RecordOutOfFunnelSaleRequest req;
      v1::OutOfFunnelSale* sale = req.mutable_sale();
      sale->set_rep_node_id("r1");
      *sale->mutable_amount() = Eur(75'000);
      *sale->mutable_date() = Day(2026, 5, 18);
      sale->set_note("walk-in order");
      req.set_request_id("req-1");
      seeds.Add("RecordOutOfFunnelSale", req);
    }
    {
      v1::CloseWeekRequest req;
      req.set_fiscal_year(2026);
      req.set_fiscal_quarter(2);
      req.set_week(7);
      seeds.Add("CloseWeek", req);
      req.set_week(9);  // not started yet
      seeds.Add("CloseWeek", req);
    }
    {
      v1::GetProgressRequest req;
      req.set_node_id("ta");
      req.set_fiscal_year(2026);
      req.set_fiscal_quarter(2);
      seeds.Add("GetProgress", req);
    }
    {
      v1::SubmitForecastRequest req;
      v1::ForecastSubmission* f = req.mutable_submission();
      f->set_node_id("ta");
      f->set_fiscal_year(2026);
      f->set_fiscal_quarter(2);
      f->set_week(3);
      *f->mutable_amount() = Eur(500'000);
      f->set_note("team view");
      seeds.Add("SubmitForecast", req);
      f->set_node_id("r1");
      req.set_expected_version(1);
      seeds.Add("SubmitForecast", req);
    }
    {
      v1::ListSubmissionsRequest req;
      req.set_node_id("ta");
      req.set_fiscal_year(2026);
      req.set_fiscal_quarter(2);
      req.set_week(3);
      seeds.Add("ListSubmissions", req);
    }
    {
      v1::GetFunnelAnalyticsRequest req;
      req.set_node_id("global");
      *req.mutable_from() = Day(2026, 1, 1);
      *req.mutable_to() = Day(2026, 6, 30);
      req.set_stage_model_id("buying-cycle-6");
      seeds.Add("GetFunnelAnalytics", req);
    }
    {
      v1::GetPipelineChangesRequest req;
      req.set_node_id("a");
      req.set_fiscal_year(2026);
      req.set_fiscal_quarter(2);
      req.set_from_week(1);
      req.set_to_week(3);
      seeds.Add("GetPipelineChanges", req);
    }
    {
      v1::GetForecastAccuracyRequest req;
      req.set_node_id("r1");
      req.set_fiscal_year(2026);
      req.set_fiscal_quarter(2);
      seeds.Add("GetForecastAccuracy", req);
    }
    return seeds;
  }

 private:
  // One event of another service's feed, applied as its consumer would: in
  // one transaction, then published to the view.
  using ApplyFn = absl::Status (forecast::ForecastView::*)(const v1::Event&,
                                                           WriteTxn&);
  using AfterFn = void (forecast::ForecastView::*)(bool);
  void Apply(ApplyFn apply, AfterFn after, const std::string& kind,
             const std::string& id, const google::protobuf::Message& m) {
    const v1::Event e = FeedEvent(++sequence_, kind, id, m, clock_->Now());
    absl::Status s = store_
                         ->Write(SystemActor("fuzz-seed"),
                                 [&](WriteTxn& txn) {
                                   return (view_.get()->*apply)(e, txn);
                                 })
                         .status();
    (view_.get()->*after)(s.ok());
    MustOk(s, absl::StrCat("applying ", kind, " ", id));
  }
  void Accounts(const std::string& kind, const std::string& id,
                const google::protobuf::Message& m) {
    Apply(&forecast::ForecastView::ApplyAccounts,
          &forecast::ForecastView::AfterAccountsBatch, kind, id, m);
  }
  void Pipeline(const std::string& kind, const std::string& id,
                const google::protobuf::Message& m) {
    Apply(&forecast::ForecastView::ApplyPipeline,
          &forecast::ForecastView::AfterPipelineBatch, kind, id, m);
  }
  void Credit(const std::string& kind, const std::string& id,
              const google::protobuf::Message& m) {
    Apply(&forecast::ForecastView::ApplyCredit,
          &forecast::ForecastView::AfterCreditBatch, kind, id, m);
  }

  Clock* clock_ = nullptr;
  Store* store_ = nullptr;
  uint64_t sequence_ = 0;
  std::unique_ptr<forecast::ForecastView> view_;
  std::unique_ptr<ForecastServiceImpl> service_;
};

}  // namespace
}  // namespace salesops::fuzz

SALESOPS_FUZZ_TARGET(salesops::fuzz::ForecastFixture)
