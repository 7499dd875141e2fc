// End-to-end tests of salesops-forecast with the real salesops-accounts and
// salesops-pipeline: the seed funnel of SPEC.md §7 created through pipeline
// and read back as a forecast, exactly; and a restart of the forecast on its
// own data without replaying the feeds.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <array>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/metrics/testing/scrape.h"
#include "common/testing/builders.h"
#include "common/testing/temp_dir.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/feed.grpc.pb.h"
#include "salesops/v1/forecast.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "tests/e2e.h"

namespace salesops {
namespace {

using e2e::Ctx;
using e2e::Describe;
using e2e::Launch;
using e2e::Service;

constexpr int64_t kTenThousandEur = 1'000'000;  // in cents

using ::salesops::testing::Eur;

// SPEC §7: per stage of buying-cycle-6 the amounts (in 10,000 EUR) of its
// open opportunities; counts 5, 4, 3, 2, 2, 2 and totals 300, 240, 176, 464,
// 146, 98.
const std::vector<std::pair<std::string, std::vector<int64_t>>>& SeedFunnel() {
  static const auto* seed =
      new std::vector<std::pair<std::string, std::vector<int64_t>>>{
          {"INTEREST", {60, 60, 60, 60, 60}},
          {"CONSIDERATION", {60, 60, 60, 60}},
          {"DESIGN", {58, 58, 60}},
          {"COMPARISON", {232, 232}},
          {"COMMITMENT", {73, 73}},
          {"USAGE", {49, 49}},
      };
  return *seed;
}

class ForecastE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    accounts_ = Launch(
        {SALESOPS_ACCOUNTS_BIN, "--listen=127.0.0.1:0",
         "--metrics_listen=127.0.0.1:0", "--auth=none",
         "--data_dir=" + dir_.path() + "/accounts", std::string("--init")},
        "accounts");
    ASSERT_GT(accounts_.port, 0) << accounts_.process->Log();
    accounts_stub_ = v1::AccountsService::NewStub(accounts_.channel);
    pipeline_ = Launch(
        {SALESOPS_PIPELINE_BIN, "--listen=127.0.0.1:0",
         "--metrics_listen=127.0.0.1:0", "--auth=none",
         "--data_dir=" + dir_.path() + "/pipeline", std::string("--init"),
         absl::StrCat("--accounts_addr=127.0.0.1:", accounts_.port)},
        "pipeline");
    ASSERT_GT(pipeline_.port, 0) << pipeline_.process->Log();
    pipeline_stub_ = v1::PipelineService::NewStub(pipeline_.channel);
    StartForecast();
  }

  void StartForecast() {
    forecast_ = Launch(
        {SALESOPS_FORECAST_BIN, "--listen=127.0.0.1:0",
         "--metrics_listen=127.0.0.1:0", "--auth=none",
         "--data_dir=" + dir_.path() + "/forecast", std::string("--init"),
         absl::StrCat("--accounts_addr=127.0.0.1:", accounts_.port),
         absl::StrCat("--pipeline_addr=127.0.0.1:", pipeline_.port)},
        "forecast");
    ASSERT_GT(forecast_.port, 0) << forecast_.process->Log();
    forecast_stub_ = v1::ForecastService::NewStub(forecast_.channel);
  }

  v1::OrgNode Node(v1::OrgNodeKind kind, const std::string& name,
                   const std::string& parent) {
    v1::CreateOrgNodeRequest req;
    req.mutable_node()->set_kind(kind);
    req.mutable_node()->set_name(name);
    req.mutable_node()->set_parent_id(parent);
    v1::OrgNode node;
    grpc::Status s = accounts_stub_->CreateOrgNode(Ctx().get(), req, &node);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return node;
  }

  uint64_t PipelinePosition() {
    auto feed = v1::FeedService::NewStub(pipeline_.channel);
    v1::GetFeedPositionResponse pos;
    grpc::Status s =
        feed->GetFeedPosition(Ctx().get(), v1::GetFeedPositionRequest(), &pos);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return pos.sequence();
  }

  v1::Forecast Get(const std::string& node, uint64_t min_sequence) {
    v1::GetForecastRequest req;
    req.set_node_id(node);
    req.set_fiscal_year(2027);
    req.set_fiscal_quarter(1);
    req.set_min_pipeline_sequence(min_sequence);
    v1::Forecast f;
    grpc::Status s = forecast_stub_->GetForecast(Ctx().get(), req, &f);
    EXPECT_TRUE(s.ok()) << Describe(s) << "\n" << forecast_.process->Log();
    return f;
  }

  // The figures SPEC §7 gives for the seed funnel with a 5,000,000 EUR quota.
  void ExpectSeed(const v1::NodeForecast& n) {
    EXPECT_EQ(n.pipeline_weighted().units_minor(), 364'800'000);  // 3,648,000
    EXPECT_EQ(n.closed().units_minor(), 0);
    EXPECT_EQ(n.forecast().units_minor(), 364'800'000);
    EXPECT_EQ(n.quota().units_minor(), 500'000'000);
    EXPECT_EQ(n.gap().units_minor(), 135'200'000);  // 1,352,000
    EXPECT_EQ(n.coverage_bp(), 7296);               // 72.96%
    EXPECT_TRUE(n.needs_more_pipeline());
  }

  void ExpectSeedFunnel(const v1::Forecast& f) {
    struct Row {
      const char* key;
      int32_t bp;
      int64_t count, total, weighted_tenths;  // total in 10,000 EUR
    };
    const Row rows[] = {
        {"INTEREST", 500, 5, 300, 150},    {"CONSIDERATION", 1000, 4, 240, 240},
        {"DESIGN", 2000, 3, 176, 352},     {"COMPARISON", 3000, 2, 464, 1392},
        {"COMMITMENT", 5000, 2, 146, 730}, {"USAGE", 8000, 2, 98, 784}};
    ASSERT_EQ(f.funnel_size(), 6);
    for (int i = 0; i < 6; ++i) {
      const v1::FunnelRow& r = f.funnel(i);
      SCOPED_TRACE(rows[i].key);
      EXPECT_EQ(r.stage_model_id(), "buying-cycle-6");
      EXPECT_EQ(r.stage_key(), rows[i].key);
      EXPECT_EQ(r.win_rate_bp(), rows[i].bp);
      EXPECT_EQ(r.count(), rows[i].count);
      EXPECT_EQ(r.total().units_minor(), rows[i].total * kTenThousandEur);
      EXPECT_EQ(r.weighted().units_minor(),
                rows[i].weighted_tenths * kTenThousandEur / 10);
    }
  }

  testing::TempDir dir_;
  Service accounts_, pipeline_, forecast_;
  std::unique_ptr<v1::AccountsService::Stub> accounts_stub_;
  std::unique_ptr<v1::PipelineService::Stub> pipeline_stub_;
  std::unique_ptr<v1::ForecastService::Stub> forecast_stub_;
};

TEST_F(ForecastE2eTest, SeedFunnelThroughTheRealBinariesAndARestart) {
  // global → region → area → team → rep, as in the demo company.
  const v1::OrgNode global = Node(v1::ORG_NODE_KIND_GLOBAL, "Global", "");
  const v1::OrgNode apac =
      Node(v1::ORG_NODE_KIND_REGION, "Asia-Pacific", global.id());
  const v1::OrgNode china = Node(v1::ORG_NODE_KIND_AREA, "China", apac.id());
  const v1::OrgNode team =
      Node(v1::ORG_NODE_KIND_TEAM, "East China", china.id());
  const v1::OrgNode rep = Node(v1::ORG_NODE_KIND_REP, "Li Wei", team.id());
  {
    v1::SetQuotaRequest req;
    req.set_node_id(rep.id());
    req.set_fiscal_year(2027);
    req.set_fiscal_quarter(1);
    *req.mutable_amount() = Eur(500'000'000);
    v1::Quota q;
    grpc::Status s = accounts_stub_->SetQuota(Ctx().get(), req, &q);
    ASSERT_TRUE(s.ok()) << Describe(s);
  }
  v1::Account account;
  {
    v1::CreateAccountRequest req;
    req.mutable_account()->set_name("Shanghai Metro Group");
    grpc::Status s = accounts_stub_->CreateAccount(Ctx().get(), req, &account);
    ASSERT_TRUE(s.ok()) << Describe(s);
  }
  int n = 0;
  for (const auto& [stage, amounts] : SeedFunnel()) {
    for (int64_t amount : amounts) {
      v1::CreateOpportunityRequest req;
      v1::Opportunity* o = req.mutable_opportunity();
      o->set_account_id(account.id());
      o->set_owner_node_id(rep.id());
      o->set_name(absl::StrCat("Seed ", ++n));
      *o->mutable_amount() = Eur(amount * kTenThousandEur);
      o->mutable_expected_close_date()->set_year(2027);
      o->mutable_expected_close_date()->set_month(2);
      o->mutable_expected_close_date()->set_day(15);
      o->set_stage_key(stage);
      v1::Opportunity created;
      grpc::Status s =
          pipeline_stub_->CreateOpportunity(Ctx().get(), req, &created);
      ASSERT_TRUE(s.ok()) << Describe(s);
    }
  }
  ASSERT_EQ(n, 18);
  const uint64_t written = PipelinePosition();

  // The rep's forecast once the view has caught up with those writes, and the
  // same figures at every level above.
  v1::Forecast f = Get(rep.id(), written);
  EXPECT_GE(f.pipeline_sequence(), written);
  ExpectSeed(f.node());
  ExpectSeedFunnel(f);
  for (const v1::OrgNode& above : {team, china, apac, global}) {
    SCOPED_TRACE(above.name());
    const v1::Forecast up = Get(above.id(), written);
    ExpectSeed(up.node());
    ExpectSeedFunnel(up);
    ASSERT_EQ(up.children_size(), 1);
    EXPECT_EQ(up.children(0).pipeline_weighted().units_minor(), 364'800'000);
  }
  // Another quarter holds nothing.
  {
    v1::GetForecastRequest req;
    req.set_node_id(global.id());
    req.set_fiscal_year(2027);
    req.set_fiscal_quarter(2);
    v1::Forecast other;
    ASSERT_TRUE(forecast_stub_->GetForecast(Ctx().get(), req, &other).ok());
    EXPECT_EQ(other.node().forecast().units_minor(), 0);
    EXPECT_EQ(other.funnel_size(), 0);
  }

  // Restart on its own data: the figures are there at once, and no event of
  // either feed is applied again.
  forecast_.process->Signal(SIGKILL);
  ASSERT_TRUE(forecast_.process->WaitExit(absl::Seconds(10)).has_value());
  StartForecast();
  f = Get(global.id(), 0);
  ExpectSeed(f.node());
  ExpectSeedFunnel(f);
  f = Get(global.id(), written);
  ExpectSeed(f.node());
  absl::StatusOr<std::string> page =
      testing::HttpGet("127.0.0.1", forecast_.metrics_port, "/metrics");
  ASSERT_TRUE(page.ok()) << page.status();
  absl::StatusOr<std::vector<testing::Sample>> samples =
      testing::ParseTextPage(*page);
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_EQ(testing::FindSample(*samples, "salesops_feed_events_applied_total",
                                {{"source", "pipeline"}}),
            0.0)
      << *page;
  EXPECT_EQ(
      testing::FindSample(*samples, "salesops_forecast_query_seconds_count",
                          {{"rpc", "GetForecast"}}),
      2.0);
  EXPECT_EQ(testing::FindSample(*samples, "salesops_forecast_view_size",
                                {{"what", "nodes"}}),
            5.0);
  EXPECT_TRUE(testing::PromtoolCheck(*page).ok());
}

// Brute force: the forecast of every node and quarter recomputed from
// pipeline's ListOpportunities, accounts' org tree and the stage models.
struct Expected {
  int64_t closed = 0;
  int64_t weighted = 0;
  std::map<std::pair<std::string, std::string>, std::array<int64_t, 3>> funnel;
};

int32_t QuarterKeyOf(int year, int month) { return year * 4 + (month - 1) / 3; }

TEST_F(ForecastE2eTest, RandomChangesMatchABruteForceRecomputation) {
  std::mt19937 rng(20261129);
  auto pick = [&rng](size_t n) {
    return static_cast<size_t>(
        std::uniform_int_distribution<size_t>(0, n - 1)(rng));
  };
  // global → 2 regions → 2 areas each → 2 teams each → 2 reps each.
  const v1::OrgNode global = Node(v1::ORG_NODE_KIND_GLOBAL, "Global", "");
  std::vector<v1::OrgNode> regions, areas, teams, reps;
  for (int r = 0; r < 2; ++r) {
    regions.push_back(
        Node(v1::ORG_NODE_KIND_REGION, absl::StrCat("R", r), global.id()));
    for (int a = 0; a < 2; ++a) {
      areas.push_back(Node(v1::ORG_NODE_KIND_AREA, absl::StrCat("A", r, a),
                           regions.back().id()));
      for (int t = 0; t < 2; ++t) {
        teams.push_back(Node(v1::ORG_NODE_KIND_TEAM, absl::StrCat("T", r, a, t),
                             areas.back().id()));
        for (int p = 0; p < 2; ++p) {
          reps.push_back(Node(v1::ORG_NODE_KIND_REP,
                              absl::StrCat("P", r, a, t, p),
                              teams.back().id()));
        }
      }
    }
  }
  v1::Account account;
  {
    v1::CreateAccountRequest req;
    req.mutable_account()->set_name("Random Industries");
    ASSERT_TRUE(accounts_stub_->CreateAccount(Ctx().get(), req, &account).ok());
  }
  const std::vector<std::string> models = {"buying-cycle-6", "project-sales-8"};
  std::map<std::string, v1::StageModel> model_of;
  for (const std::string& id : models) {
    v1::GetStageModelRequest req;
    req.set_id(id);
    ASSERT_TRUE(
        pipeline_stub_->GetStageModel(Ctx().get(), req, &model_of[id]).ok());
  }
  std::map<std::string, v1::Opportunity> opps;  // as last acknowledged
  std::vector<std::string> ids;
  auto random_date = [&](v1::Date* d) {
    d->set_year(2027);
    d->set_month(static_cast<int>(1 + pick(9)));  // Q1..Q3
    d->set_day(static_cast<int>(1 + pick(28)));
  };
  auto open_stage = [&](const v1::StageModel& m) {
    std::vector<std::string> keys;
    for (const v1::Stage& st : m.stages()) {
      if (!st.closes_won()) keys.push_back(st.key());
    }
    return keys[pick(keys.size())];
  };
  int ok = 0;
  int reorgs = 0;
  int rate_changes = 0;
  bool killed = false;
  for (int i = 0; i < 5000; ++i) {
    if (i == 2400) {
      // kill -9 in the middle of ingest; restarted, it picks up where its
      // stored cursors are and neither loses nor double-counts.
      forecast_.process->Signal(SIGKILL);
      ASSERT_TRUE(forecast_.process->WaitExit(absl::Seconds(10)).has_value());
      killed = true;
    }
    if (i == 2800 && killed) {
      StartForecast();
    }
    const size_t dice = pick(100);
    grpc::Status st;
    v1::Opportunity out;
    if (dice < 30 || ids.empty()) {
      v1::CreateOpportunityRequest req;
      v1::Opportunity* o = req.mutable_opportunity();
      o->set_account_id(account.id());
      o->set_owner_node_id(reps[pick(reps.size())].id());
      o->set_name(absl::StrCat("R", i));
      *o->mutable_amount() = Eur(static_cast<int64_t>(1 + pick(9'999'999)));
      random_date(o->mutable_expected_close_date());
      const std::string& model = models[pick(models.size())];
      o->set_stage_model_id(model);
      o->set_stage_key(open_stage(model_of[model]));
      st = pipeline_stub_->CreateOpportunity(Ctx().get(), req, &out);
      if (st.ok()) ids.push_back(out.id());
    } else {
      v1::Opportunity& o = opps[ids[pick(ids.size())]];
      const bool open = o.status() == v1::OPPORTUNITY_STATUS_OPEN;
      if (dice < 50 && open) {
        v1::MoveStageRequest req;
        req.set_opportunity_id(o.id());
        const v1::StageModel& m = model_of[o.stage_model_id()];
        std::string to =
            m.stages(static_cast<int>(pick(m.stages_size()))).key();
        if (to == o.stage_key())
          to = m.stages(0).key() == to ? m.stages(1).key() : m.stages(0).key();
        req.set_to_stage_key(to);
        req.set_expected_version(o.version());
        req.set_override_reason("random walk");
        st = pipeline_stub_->MoveStage(Ctx().get(), req, &out);
      } else if (dice < 62 && open) {
        v1::CloseOpportunityRequest req;
        req.set_opportunity_id(o.id());
        const v1::OpportunityStatus outcomes[] = {
            v1::OPPORTUNITY_STATUS_WON, v1::OPPORTUNITY_STATUS_LOST,
            v1::OPPORTUNITY_STATUS_NO_DECISION,
            v1::OPPORTUNITY_STATUS_ABANDONED};
        req.set_outcome(outcomes[pick(4)]);
        req.set_reason("random");
        req.set_expected_version(o.version());
        st = pipeline_stub_->CloseOpportunity(Ctx().get(), req, &out);
      } else if (dice < 70 && !open) {
        v1::ReopenOpportunityRequest req;
        req.set_opportunity_id(o.id());
        req.set_reason("random");
        req.set_expected_version(o.version());
        st = pipeline_stub_->ReopenOpportunity(Ctx().get(), req, &out);
      } else if (dice < 90 && open) {
        v1::UpdateOpportunityRequest req;
        *req.mutable_opportunity() = o;
        req.mutable_opportunity()->clear_four_factors();
        if (pick(2) == 0) {
          *req.mutable_opportunity()->mutable_amount() =
              Eur(static_cast<int64_t>(1 + pick(9'999'999)));
        } else {
          random_date(req.mutable_opportunity()->mutable_expected_close_date());
        }
        if (pick(4) == 0) {
          req.mutable_opportunity()->set_owner_node_id(
              reps[pick(reps.size())].id());
        }
        req.set_expected_version(o.version());
        st = pipeline_stub_->UpdateOpportunity(Ctx().get(), req, &out);
      } else if (dice < 95) {
        // A win-rate change re-weights the model's open opportunities.
        v1::StageModel& m = model_of[models[pick(models.size())]];
        v1::UpdateStageModelRequest req;
        *req.mutable_model() = m;
        req.mutable_model()
            ->mutable_stages(static_cast<int>(pick(m.stages_size())))
            ->set_win_rate_bp(static_cast<int32_t>(pick(10001)));
        req.set_expected_version(m.version());
        v1::StageModel updated;
        st = pipeline_stub_->UpdateStageModel(Ctx().get(), req, &updated);
        if (st.ok()) m = updated;
        ok += st.ok();
        rate_changes += st.ok();
        continue;
      } else {
        // A re-org: a team moves to another area, or an area to another
        // region.
        v1::MoveOrgNodeRequest req;
        if (pick(2) == 0) {
          req.set_id(teams[pick(teams.size())].id());
          req.set_new_parent_id(areas[pick(areas.size())].id());
        } else {
          req.set_id(areas[pick(areas.size())].id());
          req.set_new_parent_id(regions[pick(regions.size())].id());
        }
        v1::OrgNode moved;
        st = accounts_stub_->MoveOrgNode(Ctx().get(), req, &moved);
        ok += st.ok();
        reorgs += st.ok();
        continue;
      }
    }
    if (st.ok()) {
      opps[out.id()] = out;
      ++ok;
    }
  }
  ASSERT_GT(ok, 4000);

  // Caught up with both feeds?
  const uint64_t pipeline_at = PipelinePosition();
  uint64_t accounts_at = 0;
  {
    auto feed = v1::FeedService::NewStub(accounts_.channel);
    v1::GetFeedPositionResponse pos;
    ASSERT_TRUE(
        feed->GetFeedPosition(Ctx().get(), v1::GetFeedPositionRequest(), &pos)
            .ok());
    accounts_at = pos.sequence();
  }
  ASSERT_TRUE(e2e::Eventually([&] {
    return Get(global.id(), pipeline_at).accounts_sequence() >= accounts_at;
  }));

  // The org tree as accounts has it now.
  std::map<std::string, std::string> parent;
  {
    v1::ListOrgNodesRequest req;
    req.set_page_size(1000);
    v1::ListOrgNodesResponse resp;
    ASSERT_TRUE(accounts_stub_->ListOrgNodes(Ctx().get(), req, &resp).ok());
    for (const v1::OrgNode& n : resp.nodes()) parent[n.id()] = n.parent_id();
  }
  std::map<std::string, v1::StageModel> final_models;
  for (const std::string& id : models) {
    v1::GetStageModelRequest req;
    req.set_id(id);
    ASSERT_TRUE(
        pipeline_stub_->GetStageModel(Ctx().get(), req, &final_models[id])
            .ok());
  }
  // Every opportunity as pipeline lists it, paged.
  std::map<std::pair<std::string, int32_t>, Expected> expected;
  std::string token;
  int listed = 0;
  for (int page = 0; page < 100; ++page) {
    v1::ListOpportunitiesRequest req;
    req.set_page_size(500);
    req.set_page_token(token);
    v1::ListOpportunitiesResponse resp;
    ASSERT_TRUE(
        pipeline_stub_->ListOpportunities(Ctx().get(), req, &resp).ok());
    for (const v1::Opportunity& o : resp.opportunities()) {
      ++listed;
      int32_t quarter = 0;
      if (o.status() == v1::OPPORTUNITY_STATUS_OPEN) {
        quarter = QuarterKeyOf(o.expected_close_date().year(),
                               o.expected_close_date().month());
      } else if (o.status() == v1::OPPORTUNITY_STATUS_WON) {
        const absl::CivilDay day = absl::ToCivilDay(
            absl::FromUnixMicros(o.closed_micros()), absl::UTCTimeZone());
        quarter = QuarterKeyOf(static_cast<int>(day.year()), day.month());
      } else {
        continue;
      }
      int32_t bp = 0;
      for (const v1::Stage& s : final_models[o.stage_model_id()].stages()) {
        if (s.key() == o.stage_key()) bp = s.win_rate_bp();
      }
      const int64_t amount = o.amount().units_minor();
      // round half to even of amount × bp / 10000
      const __int128 num = static_cast<__int128>(amount) * bp;
      int64_t weighted = static_cast<int64_t>(num / 10000);
      const int64_t rem = static_cast<int64_t>(num % 10000);
      if (rem > 5000 || (rem == 5000 && weighted % 2 != 0)) ++weighted;
      for (std::string at = o.owner_node_id(); !at.empty(); at = parent[at]) {
        Expected& e = expected[{at, quarter}];
        if (o.status() == v1::OPPORTUNITY_STATUS_WON) {
          e.closed += amount;
        } else {
          e.weighted += weighted;
          auto& row = e.funnel[{o.stage_model_id(), o.stage_key()}];
          row[0] += 1;
          row[1] += amount;
          row[2] += weighted;
        }
      }
    }
    token = resp.next_page_token();
    if (token.empty()) break;
  }
  EXPECT_EQ(listed, static_cast<int>(opps.size()));

  // Every node, every quarter touched (2026 Q4 holds the WON closes of today).
  int compared = 0;
  for (const auto& [node, unused] : parent) {
    for (const auto& [year, q] : std::vector<std::pair<int, int>>{
             {2026, 4}, {2027, 1}, {2027, 2}, {2027, 3}}) {
      v1::GetForecastRequest req;
      req.set_node_id(node);
      req.set_fiscal_year(year);
      req.set_fiscal_quarter(q);
      req.set_skip_children(true);
      v1::Forecast f;
      ASSERT_TRUE(forecast_stub_->GetForecast(Ctx().get(), req, &f).ok());
      const Expected& e = expected[{node, year * 4 + q - 1}];
      SCOPED_TRACE(absl::StrCat(node, " FY", year, "-Q", q));
      EXPECT_EQ(f.node().closed().units_minor(), e.closed);
      EXPECT_EQ(f.node().pipeline_weighted().units_minor(), e.weighted);
      ASSERT_EQ(f.funnel_size(), static_cast<int>(e.funnel.size()));
      for (const v1::FunnelRow& r : f.funnel()) {
        auto it = e.funnel.find({r.stage_model_id(), r.stage_key()});
        ASSERT_NE(it, e.funnel.end()) << r.stage_key();
        EXPECT_EQ(r.count(), it->second[0]);
        EXPECT_EQ(r.total().units_minor(), it->second[1]);
        EXPECT_EQ(r.weighted().units_minor(), it->second[2]);
      }
      ++compared;
    }
  }
  EXPECT_EQ(compared, static_cast<int>(parent.size()) * 4);
  int64_t global_forecast = 0;
  for (int q = 0; q < 4; ++q) {
    const Expected& e = expected[{global.id(), 2026 * 4 + 3 + q}];
    global_forecast += e.closed + e.weighted;
  }
  EXPECT_GT(reorgs, 50);
  EXPECT_GT(rate_changes, 50);
  std::cout << ok << " acknowledged changes (" << opps.size()
            << " opportunities, " << reorgs << " re-orgs, " << rate_changes
            << " win-rate changes); " << compared
            << " node-quarters compared, global forecast " << global_forecast
            << " cents\n";
}

}  // namespace
}  // namespace salesops
