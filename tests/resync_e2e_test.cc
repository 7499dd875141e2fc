// End to end with the real binaries (issue 16, finding 3): accounts and
// pipeline keep their feeds for one second (--feed_retention=1s), so once
// their maintenance has trimmed the outbox a forecast cannot follow them
// from where it stands. Three forecasts watch the same suite:
//   live   follows from the start and never stops (the reference);
//   down   follows, is killed, misses writes until the feeds are trimmed,
//          and is started again on its old data;
//   late   starts on an empty data dir after the trim.
// `down` and `late` meet OUT_OF_RANGE and resync from the List RPCs (org
// nodes, quotas, stage models, opportunities, history). Then every node and
// quarter of each equals a recomputation from pipeline's ListOpportunities
// and the other two (figures, quotas, funnels, children and the funnel
// analytics, which read the history), and both keep following the feeds.

#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <array>
#include <iostream>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
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
using google::protobuf::util::MessageDifferencer;

using ::salesops::testing::Eur;

// The quarters the opportunities count in: expected closes in 2027 Q1..Q3,
// closes (WON) today.
std::vector<std::pair<int, int>> Quarters() {
  const absl::CivilDay today =
      absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  std::vector<std::pair<int, int>> out = {{2027, 1}, {2027, 2}, {2027, 3}};
  const std::pair<int, int> now = {static_cast<int>(today.year()),
                                   (today.month() - 1) / 3 + 1};
  if (now.first != 2027 || now.second > 3) out.push_back(now);
  return out;
}

struct Expected {
  int64_t closed = 0;
  int64_t weighted = 0;
  std::map<std::pair<std::string, std::string>, std::array<int64_t, 3>> funnel;
};

class ResyncE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    accounts_ = Launch(
        {SALESOPS_ACCOUNTS_BIN, "--listen=127.0.0.1:0",
         "--metrics_listen=127.0.0.1:0", "--auth=none", "--feed_retention=1s",
         "--data_dir=" + dir_.path() + "/accounts", std::string("--init")},
        "accounts");
    ASSERT_GT(accounts_.port, 0) << accounts_.process->Log();
    accounts_stub_ = v1::AccountsService::NewStub(accounts_.channel);
    pipeline_ = Launch(
        {SALESOPS_PIPELINE_BIN, "--listen=127.0.0.1:0",
         "--metrics_listen=127.0.0.1:0", "--auth=none", "--feed_retention=1s",
         "--data_dir=" + dir_.path() + "/pipeline", std::string("--init"),
         absl::StrCat("--accounts_addr=127.0.0.1:", accounts_.port)},
        "pipeline");
    ASSERT_GT(pipeline_.port, 0) << pipeline_.process->Log();
    pipeline_stub_ = v1::PipelineService::NewStub(pipeline_.channel);
  }

  Service StartForecast(const std::string& name) {
    Service f =
        Launch({SALESOPS_FORECAST_BIN, "--listen=127.0.0.1:0",
                "--metrics_listen=127.0.0.1:0", "--auth=none",
                "--data_dir=" + dir_.path() + "/" + name, std::string("--init"),
                absl::StrCat("--accounts_addr=127.0.0.1:", accounts_.port),
                absl::StrCat("--pipeline_addr=127.0.0.1:", pipeline_.port)},
               "forecast");
    EXPECT_GT(f.port, 0) << f.process->Log();
    return f;
  }

  static v1::GetFeedPositionResponse Position(const Service& s) {
    auto feed = v1::FeedService::NewStub(s.channel);
    v1::GetFeedPositionResponse pos;
    grpc::Status st =
        feed->GetFeedPosition(Ctx().get(), v1::GetFeedPositionRequest(), &pos);
    EXPECT_TRUE(st.ok()) << Describe(st);
    return pos;
  }

  // True once `f` has applied both feeds up to their current heads.
  bool CaughtUp(const Service& f) {
    const uint64_t pipeline_at = Position(pipeline_).sequence();
    const uint64_t accounts_at = Position(accounts_).sequence();
    auto stub = v1::ForecastService::NewStub(f.channel);
    v1::GetForecastRequest req;
    req.set_node_id(global_);
    req.set_fiscal_year(2027);
    req.set_fiscal_quarter(1);
    req.set_skip_children(true);
    v1::Forecast out;
    grpc::Status s = stub->GetForecast(Ctx().get(), req, &out);
    return s.ok() && out.pipeline_sequence() >= pipeline_at &&
           out.accounts_sequence() >= accounts_at;
  }

  std::string NewNode(v1::OrgNodeKind kind, const std::string& name,
                      const std::string& parent) {
    v1::CreateOrgNodeRequest req;
    req.mutable_node()->set_kind(kind);
    req.mutable_node()->set_name(name);
    req.mutable_node()->set_parent_id(parent);
    v1::OrgNode node;
    grpc::Status s = accounts_stub_->CreateOrgNode(Ctx().get(), req, &node);
    EXPECT_TRUE(s.ok()) << Describe(s);
    nodes_.push_back(node.id());
    return node.id();
  }

  // `n` random changes: creates, moves, closes, reopens, amount and owner
  // updates, a win-rate change and re-orgs now and then.
  void RandomChanges(int n) {
    auto pick = [this](size_t k) {
      return std::uniform_int_distribution<size_t>(0, k - 1)(rng_);
    };
    for (int i = 0; i < n; ++i) {
      const size_t dice = pick(100);
      grpc::Status st;
      v1::Opportunity out;
      if (dice < 35 || opps_.empty()) {
        v1::CreateOpportunityRequest req;
        v1::Opportunity* o = req.mutable_opportunity();
        o->set_account_id(account_);
        o->set_owner_node_id(reps_[pick(reps_.size())]);
        o->set_name(absl::StrCat("Deal ", opps_.size()));
        *o->mutable_amount() = Eur(static_cast<int64_t>(1 + pick(9'999'999)));
        o->mutable_expected_close_date()->set_year(2027);
        o->mutable_expected_close_date()->set_month(
            static_cast<int>(1 + pick(9)));
        o->mutable_expected_close_date()->set_day(
            static_cast<int>(1 + pick(28)));
        o->set_stage_key(kStages[pick(5)]);
        st = pipeline_stub_->CreateOpportunity(Ctx().get(), req, &out);
      } else {
        auto it = opps_.begin();
        std::advance(it, pick(opps_.size()));
        const v1::Opportunity& o = it->second;
        const bool open = o.status() == v1::OPPORTUNITY_STATUS_OPEN;
        if (dice < 60 && open) {
          v1::MoveStageRequest req;
          req.set_opportunity_id(o.id());
          std::string to = kStages[pick(5)];
          if (to == o.stage_key()) to = to == "USAGE" ? "DESIGN" : "USAGE";
          req.set_to_stage_key(to);
          req.set_expected_version(o.version());
          req.set_override_reason("e2e");
          st = pipeline_stub_->MoveStage(Ctx().get(), req, &out);
        } else if (dice < 72 && open) {
          v1::CloseOpportunityRequest req;
          req.set_opportunity_id(o.id());
          req.set_outcome(pick(2) == 0 ? v1::OPPORTUNITY_STATUS_WON
                                       : v1::OPPORTUNITY_STATUS_LOST);
          req.set_reason("e2e");
          req.set_expected_version(o.version());
          st = pipeline_stub_->CloseOpportunity(Ctx().get(), req, &out);
        } else if (dice < 76 && !open) {
          v1::ReopenOpportunityRequest req;
          req.set_opportunity_id(o.id());
          req.set_reason("e2e");
          req.set_expected_version(o.version());
          st = pipeline_stub_->ReopenOpportunity(Ctx().get(), req, &out);
        } else if (dice < 92 && open) {
          v1::UpdateOpportunityRequest req;
          *req.mutable_opportunity() = o;
          req.mutable_opportunity()->clear_four_factors();
          *req.mutable_opportunity()->mutable_amount() =
              Eur(static_cast<int64_t>(1 + pick(9'999'999)));
          if (pick(3) == 0) {
            req.mutable_opportunity()->set_owner_node_id(
                reps_[pick(reps_.size())]);
          }
          req.set_expected_version(o.version());
          st = pipeline_stub_->UpdateOpportunity(Ctx().get(), req, &out);
        } else if (dice < 95) {
          v1::GetStageModelRequest get;
          get.set_id("buying-cycle-6");
          v1::StageModel m;
          ASSERT_TRUE(pipeline_stub_->GetStageModel(Ctx().get(), get, &m).ok());
          v1::UpdateStageModelRequest req;
          *req.mutable_model() = m;
          req.mutable_model()
              ->mutable_stages(static_cast<int>(pick(5)))
              ->set_win_rate_bp(static_cast<int32_t>(pick(10001)));
          req.set_expected_version(m.version());
          v1::StageModel updated;
          st = pipeline_stub_->UpdateStageModel(Ctx().get(), req, &updated);
          EXPECT_TRUE(st.ok()) << Describe(st);
          continue;
        } else {
          v1::MoveOrgNodeRequest req;
          req.set_id(teams_[pick(teams_.size())]);
          req.set_new_parent_id(regions_[pick(regions_.size())]);
          v1::OrgNode moved;
          st = accounts_stub_->MoveOrgNode(Ctx().get(), req, &moved);
          EXPECT_TRUE(st.ok()) << Describe(st);
          continue;
        }
      }
      if (st.ok()) {
        opps_[out.id()] = out;
      }
    }
  }

  // Every node and quarter recomputed from pipeline's and accounts' lists.
  std::map<std::pair<std::string, int32_t>, Expected> Recompute() {
    std::map<std::string, std::string> parent;
    v1::ListOrgNodesRequest nodes_req;
    nodes_req.set_page_size(1000);
    v1::ListOrgNodesResponse nodes;
    EXPECT_TRUE(
        accounts_stub_->ListOrgNodes(Ctx().get(), nodes_req, &nodes).ok());
    for (const v1::OrgNode& n : nodes.nodes()) parent[n.id()] = n.parent_id();
    v1::GetStageModelRequest get;
    get.set_id("buying-cycle-6");
    v1::StageModel model;
    EXPECT_TRUE(pipeline_stub_->GetStageModel(Ctx().get(), get, &model).ok());
    std::map<std::pair<std::string, int32_t>, Expected> expected;
    std::string token;
    for (int page = 0; page < 100; ++page) {
      v1::ListOpportunitiesRequest req;
      req.set_page_size(500);
      req.set_page_token(token);
      v1::ListOpportunitiesResponse resp;
      EXPECT_TRUE(
          pipeline_stub_->ListOpportunities(Ctx().get(), req, &resp).ok());
      for (const v1::Opportunity& o : resp.opportunities()) {
        int32_t quarter = 0;
        if (o.status() == v1::OPPORTUNITY_STATUS_OPEN) {
          quarter = o.expected_close_date().year() * 4 +
                    (o.expected_close_date().month() - 1) / 3;
        } else if (o.status() == v1::OPPORTUNITY_STATUS_WON) {
          const absl::CivilDay day = absl::ToCivilDay(
              absl::FromUnixMicros(o.closed_micros()), absl::UTCTimeZone());
          quarter =
              static_cast<int32_t>(day.year()) * 4 + (day.month() - 1) / 3;
        } else {
          continue;
        }
        int32_t bp = 0;
        for (const v1::Stage& s : model.stages()) {
          if (s.key() == o.stage_key()) bp = s.win_rate_bp();
        }
        const int64_t amount = o.amount().units_minor();
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
    return expected;
  }

  // A forecast's answer without the feed positions (each forecast's own).
  static v1::Forecast Answer(const Service& f, const std::string& node, int y,
                             int q) {
    auto stub = v1::ForecastService::NewStub(f.channel);
    v1::GetForecastRequest req;
    req.set_node_id(node);
    req.set_fiscal_year(y);
    req.set_fiscal_quarter(q);
    v1::Forecast out;
    grpc::Status s = stub->GetForecast(Ctx().get(), req, &out);
    EXPECT_TRUE(s.ok()) << Describe(s);
    out.clear_pipeline_sequence();
    out.clear_accounts_sequence();
    out.clear_credit_sequence();
    return out;
  }

  static v1::FunnelAnalytics Analytics(const Service& f,
                                       const std::string& node) {
    auto stub = v1::ForecastService::NewStub(f.channel);
    v1::GetFunnelAnalyticsRequest req;
    req.set_node_id(node);
    const absl::CivilDay today =
        absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
    req.mutable_from()->set_year(static_cast<int>(today.year()) - 1);
    req.mutable_from()->set_month(1);
    req.mutable_from()->set_day(1);
    req.mutable_to()->set_year(static_cast<int>(today.year()) + 1);
    req.mutable_to()->set_month(12);
    req.mutable_to()->set_day(31);
    v1::FunnelAnalytics out;
    grpc::Status s = stub->GetFunnelAnalytics(Ctx().get(), req, &out);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return out;
  }

  // The "ms" of each "<source> resync done" line of `f`'s log.
  static std::vector<std::string> Resyncs(const Service& f) {
    std::vector<std::string> out;
    const std::string log = f.process->Log();
    static const std::regex line(
        "\"msg\":\"forecast: (accounts|pipeline) resync done[^\\n]*");
    for (auto it = std::sregex_iterator(log.begin(), log.end(), line);
         it != std::sregex_iterator(); ++it) {
      out.push_back(it->str());
    }
    return out;
  }

  static constexpr const char* kStages[] = {"INTEREST", "CONSIDERATION",
                                            "DESIGN", "COMPARISON", "USAGE"};
  testing::TempDir dir_;
  Service accounts_, pipeline_;
  std::unique_ptr<v1::AccountsService::Stub> accounts_stub_;
  std::unique_ptr<v1::PipelineService::Stub> pipeline_stub_;
  std::mt19937 rng_{20261206};
  std::string global_, account_;
  std::vector<std::string> nodes_, regions_, teams_, reps_;
  std::map<std::string, v1::Opportunity> opps_;
};

TEST_F(ResyncE2eTest, ForecastsPastTheFeedsRetentionResyncAndConverge) {
  Service live = StartForecast("live");
  Service down = StartForecast("down");
  global_ = NewNode(v1::ORG_NODE_KIND_GLOBAL, "Global", "");
  for (int r = 0; r < 2; ++r) {
    regions_.push_back(
        NewNode(v1::ORG_NODE_KIND_REGION, absl::StrCat("R", r), global_));
    for (int t = 0; t < 2; ++t) {
      teams_.push_back(NewNode(v1::ORG_NODE_KIND_TEAM, absl::StrCat("T", r, t),
                               regions_.back()));
      for (int p = 0; p < 2; ++p) {
        reps_.push_back(NewNode(v1::ORG_NODE_KIND_REP,
                                absl::StrCat("P", r, t, p), teams_.back()));
      }
    }
  }
  for (size_t i = 0; i < nodes_.size(); ++i) {
    v1::SetQuotaRequest req;
    req.set_node_id(nodes_[i]);
    req.set_fiscal_year(2027);
    req.set_fiscal_quarter(static_cast<int>(1 + i % 3));
    *req.mutable_amount() = Eur(static_cast<int64_t>(1'000'000 * (i + 1)));
    v1::Quota q;
    ASSERT_TRUE(accounts_stub_->SetQuota(Ctx().get(), req, &q).ok());
  }
  {
    v1::CreateAccountRequest req;
    req.mutable_account()->set_name("Resync Industries");
    v1::Account a;
    ASSERT_TRUE(accounts_stub_->CreateAccount(Ctx().get(), req, &a).ok());
    account_ = a.id();
  }
  RandomChanges(400);
  ASSERT_TRUE(e2e::Eventually([&] { return CaughtUp(down); }))
      << down.process->Log();

  // `down` goes away; the suite goes on; the feeds are trimmed past it.
  down.process->Signal(SIGKILL);
  ASSERT_TRUE(down.process->WaitExit(absl::Seconds(10)).has_value());
  const uint64_t pipeline_seen = Position(pipeline_).sequence();
  const uint64_t accounts_seen = Position(accounts_).sequence();
  RandomChanges(300);
  {
    // A quota changed and one removed from nobody: a quota set again.
    v1::SetQuotaRequest req;
    req.set_node_id(reps_[0]);
    req.set_fiscal_year(2027);
    req.set_fiscal_quarter(2);
    *req.mutable_amount() = Eur(77'700);
    v1::Quota q;
    ASSERT_TRUE(accounts_stub_->SetQuota(Ctx().get(), req, &q).ok());
  }
  // The maintenance trims once a minute: wait until neither feed can replay
  // what `down` missed.
  const absl::Time wait_start = absl::Now();
  bool trimmed = false;
  for (int i = 0; i < 1800 && !trimmed; ++i) {
    trimmed = Position(pipeline_).first_sequence() > pipeline_seen + 1 &&
              Position(accounts_).first_sequence() > accounts_seen + 1;
    if (!trimmed) absl::SleepFor(absl::Milliseconds(50));
  }
  ASSERT_TRUE(trimmed) << "the feeds were not trimmed within 90 s";
  std::cout << "feeds trimmed after "
            << absl::ToInt64Milliseconds(absl::Now() - wait_start) << " ms\n";

  down = StartForecast("down");
  Service late = StartForecast("late");
  for (const Service* f : {&live, &down, &late}) {
    ASSERT_TRUE(e2e::Eventually([&] { return CaughtUp(*f); }))
        << f->process->Log();
  }
  // Both met OUT_OF_RANGE and resynced each feed; `live` never did.
  for (const Service* f : {&down, &late}) {
    const std::vector<std::string> resyncs = Resyncs(*f);
    EXPECT_GE(resyncs.size(), 2u) << f->process->Log();
    for (const std::string& r : resyncs) std::cout << r << "\n";
  }
  EXPECT_TRUE(Resyncs(live).empty());

  // Every node and quarter: a recomputation from pipeline's list, and the
  // three forecasts alike (quotas, children, funnels, analytics included).
  const auto expected = Recompute();
  int compared = 0;
  for (const std::string& node : nodes_) {
    for (const auto& [y, q] : Quarters()) {
      SCOPED_TRACE(absl::StrCat(node, " FY", y, " Q", q));
      const v1::Forecast want = Answer(live, node, y, q);
      auto it = expected.find({node, y * 4 + q - 1});
      const Expected e = it == expected.end() ? Expected() : it->second;
      EXPECT_EQ(want.node().closed().units_minor(), e.closed);
      EXPECT_EQ(want.node().pipeline_weighted().units_minor(), e.weighted);
      EXPECT_EQ(want.funnel_size(), static_cast<int>(e.funnel.size()));
      for (const v1::FunnelRow& r : want.funnel()) {
        const auto row = e.funnel.find({r.stage_model_id(), r.stage_key()});
        ASSERT_NE(row, e.funnel.end()) << r.stage_key();
        EXPECT_EQ(r.count(), row->second[0]);
        EXPECT_EQ(r.total().units_minor(), row->second[1]);
        EXPECT_EQ(r.weighted().units_minor(), row->second[2]);
      }
      for (const Service* f : {&down, &late}) {
        const v1::Forecast got = Answer(*f, node, y, q);
        EXPECT_TRUE(MessageDifferencer::Equals(got, want))
            << got.DebugString() << "\nwant\n"
            << want.DebugString();
      }
      ++compared;
    }
    const v1::FunnelAnalytics analytics = Analytics(live, node);
    for (const Service* f : {&down, &late}) {
      EXPECT_TRUE(MessageDifferencer::Equals(Analytics(*f, node), analytics))
          << node;
    }
  }
  EXPECT_EQ(compared, static_cast<int>(nodes_.size() * Quarters().size()));

  // And they follow the feeds again.
  RandomChanges(50);
  for (const Service* f : {&down, &late}) {
    ASSERT_TRUE(e2e::Eventually([&] { return CaughtUp(*f); }));
    EXPECT_TRUE(MessageDifferencer::Equals(Answer(*f, global_, 2027, 1),
                                           Answer(live, global_, 2027, 1)));
  }
  std::cout << opps_.size() << " opportunities; " << compared
            << " node-quarters compared on three forecasts\n";
}

}  // namespace
}  // namespace salesops
