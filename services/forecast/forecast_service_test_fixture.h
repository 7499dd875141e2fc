#pragma once

// The fixture of the gRPC-level forecast tests (forecast_*_test.cc): the
// service and its ForecastView on a loopback port over a real store. The view
// is fed by hand with synthetic accounts, pipeline and credit events, exactly
// as the feed consumers would (ApplyAccounts / ApplyPipeline / ApplyCredit
// inside a Store::Write, then the after_batch hook); the feed positions are
// counters the test controls.

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/money/money.h"
#include "common/server/auth.h"
#include "common/status/status.h"
#include "common/store/store.h"
#include "common/testing/builders.h"
#include "common/testing/client_context.h"
#include "common/testing/grpc_status.h"
#include "common/testing/loopback_server.h"
#include "common/testing/temp_dir.h"
#include "common/time/clock.h"
#include "common/time/fiscal_calendar.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/feed.pb.h"
#include "salesops/v1/forecast.grpc.pb.h"
#include "salesops/v1/pipeline.pb.h"
#include "services/forecast/forecast_service.h"
#include "services/forecast/forecast_view.h"

namespace salesops::forecast::service_testing {

using ::google::protobuf::util::MessageDifferencer;
using ::salesops::testing::IsError;
using ::salesops::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

inline constexpr char kAdminToken[] = "admin-token";
inline constexpr char kFinanceToken[] = "finance-token";
inline constexpr char kServiceToken[] = "service-token";
inline constexpr char kManagerAToken[] = "manager-a-token";
inline constexpr char kManagerBToken[] = "manager-b-token";
inline constexpr char kRep1Token[] = "rep-1-token";
inline constexpr char kRep3Token[] = "rep-3-token";

inline constexpr char kModel[] = "buying-cycle-6";
inline constexpr char kOrgNodeKind[] = "accounts.OrgNode";
inline constexpr char kQuotaKind[] = "accounts.Quota";
inline constexpr char kStageModelKind[] = "pipeline.StageModel";
inline constexpr char kOpportunityKind[] = "pipeline.Opportunity";
inline constexpr char kCollectionKind[] = "credit.OpportunityCollection";

inline constexpr v1::OrgNodeKind kGlobal = v1::ORG_NODE_KIND_GLOBAL;
inline constexpr v1::OrgNodeKind kRegion = v1::ORG_NODE_KIND_REGION;
inline constexpr v1::OrgNodeKind kTeam = v1::ORG_NODE_KIND_TEAM;
inline constexpr v1::OrgNodeKind kRep = v1::ORG_NODE_KIND_REP;

using Rates = std::vector<std::pair<std::string, int32_t>>;

// The built-in buying-cycle-6 rates (SPEC §3.1), written by hand.
inline Rates BuyingCycle6() {
  return {{"INTEREST", 500},    {"CONSIDERATION", 1000}, {"DESIGN", 2000},
          {"COMPARISON", 3000}, {"COMMITMENT", 5000},    {"USAGE", 8000}};
}

// Field by field (not ToProto of a CivilDay, which would normalize): tests
// write invalid dates such as 2026-02-30 too.
using ::salesops::testing::Day;
using ::salesops::testing::Eur;

// Noon UTC of a day, in Unix microseconds (the default calendar is UTC).
inline int64_t NoonMicros(int year, int month, int day) {
  return absl::ToUnixMicros(absl::FromCivil(
      absl::CivilSecond(year, month, day, 12, 0, 0), absl::UTCTimeZone()));
}

// What the tests need of an opportunity.
struct Opp {
  std::string id;
  std::string owner;
  std::string stage;
  int64_t amount = 0;
  v1::Date expected;
  v1::OpportunityStatus status = v1::OPPORTUNITY_STATUS_OPEN;
  int64_t closed_micros = 0;
  int64_t version = 1;
  std::string currency = "EUR";
};

// One line per node figure, so a mismatch shows every field at once.
inline std::string Describe(const v1::NodeForecast& n) {
  return absl::StrCat(n.node_id(), " closed=", n.closed().units_minor(),
                      " oof=", n.out_of_funnel().units_minor(),
                      " weighted=", n.pipeline_weighted().units_minor(),
                      " forecast=", n.forecast().units_minor(),
                      " quota=", n.quota().units_minor(),
                      " gap=", n.gap().units_minor(),
                      " coverage_bp=", n.coverage_bp(),
                      " needs_more=", n.needs_more_pipeline() ? "yes" : "no");
}

// The expected line: forecast = closed + weighted, gap = quota - forecast.
inline std::string Fig(const std::string& id, int64_t closed, int64_t oof,
                       int64_t weighted, int64_t quota, int64_t coverage_bp,
                       bool needs_more) {
  const int64_t forecast = closed + weighted;
  return absl::StrCat(
      id, " closed=", closed, " oof=", oof, " weighted=", weighted,
      " forecast=", forecast, " quota=", quota, " gap=", quota - forecast,
      " coverage_bp=", coverage_bp, " needs_more=", needs_more ? "yes" : "no");
}

inline std::vector<std::string> Rows(const v1::Forecast& f) {
  std::vector<std::string> out;
  for (const v1::FunnelRow& r : f.funnel()) {
    out.push_back(absl::StrCat(r.stage_model_id(), "/", r.stage_key(),
                               " bp=", r.win_rate_bp(), " n=", r.count(),
                               " total=", r.total().units_minor(),
                               " weighted=", r.weighted().units_minor()));
  }
  return out;
}

inline std::string Row(const std::string& stage, int32_t bp, int64_t n,
                       int64_t total, int64_t weighted) {
  return absl::StrCat(kModel, "/", stage, " bp=", bp, " n=", n,
                      " total=", total, " weighted=", weighted);
}

inline std::vector<std::string> Children(const v1::Forecast& f) {
  std::vector<std::string> out;
  for (const v1::NodeForecast& c : f.children()) {
    out.push_back(Describe(c));
  }
  return out;
}

// A node's closed figure and the collected part of it.
inline std::string Cash(const v1::NodeForecast& n) {
  return absl::StrCat(n.node_id(), " closed=", n.closed().units_minor(),
                      " collected=", n.collected().units_minor());
}
inline std::string C(const std::string& id, int64_t closed, int64_t collected) {
  return absl::StrCat(id, " closed=", closed, " collected=", collected);
}
inline std::vector<std::string> CashChildren(const v1::Forecast& f) {
  std::vector<std::string> out;
  for (const v1::NodeForecast& c : f.children()) {
    out.push_back(Cash(c));
  }
  return out;
}

// What credit reports of one opportunity (invoiced = the opportunity's
// amount, nothing written off).
inline v1::OpportunityCollection Collection(const std::string& opp,
                                            int64_t collected, int64_t version,
                                            int64_t invoiced = 200000) {
  v1::OpportunityCollection c;
  c.set_opportunity_id(opp);
  c.set_account_id("acc_1");
  *c.mutable_invoiced() = Eur(invoiced);
  *c.mutable_collected() = Eur(collected);
  *c.mutable_written_off() = Eur(0);
  c.set_fully_collected(collected >= invoiced);
  c.set_version(version);
  return c;
}

// ---------------------------------------------------------------------------
// The fixture

class ForecastServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenTestStore(dir_.path(), ColumnFamilies(), &clock_);
    ASSERT_NE(store_, nullptr);

    principals_[kAdminToken] = {"admin", Role::kAdmin, ""};
    principals_[kFinanceToken] = {"finance", Role::kFinance, ""};
    principals_[kServiceToken] = {"svc", Role::kService, ""};
    principals_[kManagerAToken] = {"manager-a", Role::kManager, "a"};
    principals_[kManagerBToken] = {"manager-b", Role::kManager, "b"};
    principals_[kRep1Token] = {"rep-1", Role::kRep, "r1"};
    principals_[kRep3Token] = {"rep-3", Role::kRep, "r3"};
    auth_ = testing::AuthFor(principals_);
    StartService();
  }

  void TearDown() override {
    StopService();
    store_.reset();
  }

  // A new view and service over the store (loaded with Init) on a new
  // loopback server, with a fresh metrics registry.
  void StartService() {
    view_ =
        std::make_unique<ForecastView>(store_.get(), FiscalCalendar::Default());
    FeedPositions feeds;
    feeds.pipeline_applied = [this] {
      std::lock_guard<std::mutex> lock(feed_mu_);
      return pipeline_applied_;
    };
    feeds.accounts_applied = [this] {
      std::lock_guard<std::mutex> lock(feed_mu_);
      return accounts_applied_;
    };
    feeds.credit_applied = [this] {
      std::lock_guard<std::mutex> lock(feed_mu_);
      return credit_applied_;
    };
    feeds.wait_pipeline = [this](uint64_t sequence, absl::Duration timeout) {
      ++waits_;
      std::unique_lock<std::mutex> lock(feed_mu_);
      const absl::Duration bounded = std::min(timeout, absl::Seconds(30));
      return feed_cv_.wait_for(lock, absl::ToChronoNanoseconds(bounded),
                               [&] { return pipeline_applied_ >= sequence; });
    };
    registry_ = std::make_shared<prometheus::Registry>();
    service_ = std::make_unique<ForecastServiceImpl>(
        store_.get(), auth_.get(), &clock_, view_.get(), std::move(feeds),
        options_, registry_.get());
    absl::Status init = service_->Init();
    ASSERT_TRUE(init.ok()) << init;
    server_ = std::make_unique<testing::LoopbackServer>(
        store_.get(), auth_.get(), std::vector<grpc::Service*>{service_.get()});
    ASSERT_NE(server_->channel(), nullptr);
    stub_ = v1::ForecastService::NewStub(server_->channel());
  }

  void StopService() {
    stub_.reset();
    server_.reset();
    service_.reset();
    view_.reset();
  }

  // A process restart on the same data: nothing but the store survives.
  void Restart() {
    StopService();
    StartService();
  }

  int64_t NowMicros() const { return absl::ToUnixMicros(clock_.Now()); }

  // ---- Feeding the view as the consumers would ----

  template <typename Msg>
  v1::Event MakeEvent(uint64_t* seq, const std::string& kind,
                      const std::string& entity_id, const Msg& m) {
    v1::Event e;
    e.set_sequence(++*seq);
    e.set_kind(kind);
    e.set_entity_id(entity_id);
    e.set_time_micros(NowMicros());
    e.mutable_payload()->PackFrom(m);
    return e;
  }

  // One accounts batch holding `e`, committed.
  absl::Status ApplyAccounts(const v1::Event& e) {
    absl::Status s =
        store_
            ->Write(SystemActor("test"),
                    [&](WriteTxn& txn) { return view_->ApplyAccounts(e, txn); })
            .status();
    view_->AfterAccountsBatch(s.ok());
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(feed_mu_);
      accounts_applied_ = std::max(accounts_applied_, e.sequence());
    }
    return s;
  }

  // One pipeline batch holding `e`, committed.
  absl::Status ApplyPipeline(const v1::Event& e) {
    absl::Status s =
        store_
            ->Write(SystemActor("test"),
                    [&](WriteTxn& txn) { return view_->ApplyPipeline(e, txn); })
            .status();
    view_->AfterPipelineBatch(s.ok());
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(feed_mu_);
      pipeline_applied_ = std::max(pipeline_applied_, e.sequence());
      feed_cv_.notify_all();
    }
    return s;
  }

  // One credit batch holding `e`, committed.
  absl::Status ApplyCredit(const v1::Event& e) {
    absl::Status s =
        store_
            ->Write(SystemActor("test"),
                    [&](WriteTxn& txn) { return view_->ApplyCredit(e, txn); })
            .status();
    view_->AfterCreditBatch(s.ok());
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(feed_mu_);
      credit_applied_ = std::max(credit_applied_, e.sequence());
    }
    return s;
  }

  v1::Event CollectionEvent(const std::string& opp, int64_t collected,
                            int64_t version, int64_t invoiced = 200000) {
    return MakeEvent(&credit_seq_, kCollectionKind, opp,
                     Collection(opp, collected, version, invoiced));
  }
  void PutCollection(const std::string& opp, int64_t collected, int64_t version,
                     int64_t invoiced = 200000) {
    absl::Status s =
        ApplyCredit(CollectionEvent(opp, collected, version, invoiced));
    EXPECT_TRUE(s.ok()) << "OpportunityCollection " << opp << ": " << s;
  }
  std::string CashLine(const std::string& node, int fy = 2026, int q = 2) {
    return Cash(MustGet(node, fy, q).node());
  }

  // One pipeline batch holding `events` in order (one transaction), committed
  // or not; `before_publish` runs after the commit, before the after_batch
  // hook.
  absl::Status ApplyPipelineBatch(
      const std::vector<v1::Event>& events,
      const std::function<void()>& before_publish = nullptr) {
    absl::Status s =
        store_
            ->Write(SystemActor("test"),
                    [&](WriteTxn& txn) -> absl::Status {
                      for (const v1::Event& e : events) {
                        RETURN_IF_ERROR(view_->ApplyPipeline(e, txn));
                      }
                      return absl::OkStatus();
                    })
            .status();
    if (before_publish) {
      before_publish();
    }
    view_->AfterPipelineBatch(s.ok());
    if (s.ok() && !events.empty()) {
      std::lock_guard<std::mutex> lock(feed_mu_);
      pipeline_applied_ = std::max(pipeline_applied_, events.back().sequence());
      feed_cv_.notify_all();
    }
    return s;
  }

  v1::Event NodeEvent(const std::string& id, const std::string& parent,
                      v1::OrgNodeKind kind, int64_t version = 1) {
    v1::OrgNode n;
    n.set_id(id);
    n.set_parent_id(parent);
    n.set_kind(kind);
    n.set_name(absl::StrCat("Node ", id));
    n.set_version(version);
    return MakeEvent(&accounts_seq_, kOrgNodeKind, id, n);
  }
  void PutNode(const std::string& id, const std::string& parent,
               v1::OrgNodeKind kind, int64_t version = 1) {
    absl::Status s = ApplyAccounts(NodeEvent(id, parent, kind, version));
    EXPECT_TRUE(s.ok()) << "OrgNode " << id << ": " << s;
  }

  v1::Event QuotaEvent(const std::string& node, int fy, int q, int64_t amount,
                       int64_t version = 1) {
    v1::Quota quota;
    quota.set_node_id(node);
    quota.set_fiscal_year(fy);
    quota.set_fiscal_quarter(q);
    *quota.mutable_amount() = Eur(amount);
    quota.set_version(version);
    return MakeEvent(&accounts_seq_, kQuotaKind,
                     absl::StrCat(node, "/", fy, "/", q), quota);
  }
  void PutQuota(const std::string& node, int fy, int q, int64_t amount,
                int64_t version = 1) {
    absl::Status s = ApplyAccounts(QuotaEvent(node, fy, q, amount, version));
    EXPECT_TRUE(s.ok()) << "Quota " << node << ": " << s;
  }

  v1::Event ModelEvent(const Rates& rates, int64_t version = 1) {
    v1::StageModel m;
    m.set_id(kModel);
    m.set_name("Buying cycle");
    for (const auto& [key, bp] : rates) {
      v1::Stage* s = m.add_stages();
      s->set_key(key);
      s->set_name(key);
      s->set_win_rate_bp(bp);
    }
    m.set_built_in(true);
    m.set_version(version);
    return MakeEvent(&pipeline_seq_, kStageModelKind, kModel, m);
  }
  void PutModel(const Rates& rates, int64_t version = 1) {
    absl::Status s = ApplyPipeline(ModelEvent(rates, version));
    EXPECT_TRUE(s.ok()) << "StageModel v" << version << ": " << s;
  }

  v1::Event OppEvent(const Opp& o) {
    v1::Opportunity m;
    m.set_id(o.id);
    m.set_account_id("acc_1");
    m.set_owner_node_id(o.owner);
    m.set_name(absl::StrCat("Deal ", o.id));
    *m.mutable_amount() = money::Make(o.amount, o.currency);
    *m.mutable_expected_close_date() = o.expected;
    m.set_stage_model_id(kModel);
    m.set_stage_key(o.stage);
    m.set_status(o.status);
    m.set_closed_micros(o.closed_micros);
    m.set_version(o.version);
    return MakeEvent(&pipeline_seq_, kOpportunityKind, o.id, m);
  }
  void PutOpp(const Opp& o) {
    absl::Status s = ApplyPipeline(OppEvent(o));
    EXPECT_TRUE(s.ok()) << "Opportunity " << o.id << ": " << s;
  }

  // Our sales organization, delivered partly out of id order:
  //   global (GLOBAL)
  //   ├── a (REGION) ── ta (TEAM) ── r1, r2 (REP)
  //   └── b (REGION) ── tb (TEAM) ── r3 (REP)
  void BuildOrg() {
    PutNode("global", "", kGlobal);
    PutNode("b", "global", kRegion);
    PutNode("a", "global", kRegion);
    PutNode("tb", "b", kTeam);
    PutNode("ta", "a", kTeam);
    PutNode("r3", "tb", kRep);
    PutNode("r2", "ta", kRep);
    PutNode("r1", "ta", kRep);
  }

  // The org, the model, quotas and opportunities of the figures below.
  //   FY2026 Q2 (2026-04-01 .. 06-30):
  //     o1 r1 INTEREST   100000 open → 5000
  //     o2 r1 COMMITMENT 333333 open → 166666 (166666.5, half to even)
  //     o9 r2 COMMITMENT      3 open →      2 (1.5, half to even)
  //     o3 r2 DESIGN     250000 open →  50000
  //     o5 r3 USAGE      500000 open → 400000
  //     o6 r1 WON 200000, closed 05-15 (expected in Q3)
  //     o7 r3 LOST 700000 (DESIGN), counts nowhere
  //   FY2026 Q3: o4 r2 INTEREST 40000 open → 2000
  //   FY2026 Q1: o8 r2 WON 10000 closed 03-31 (expected in Q2)
  // Quotas Q2: r1 400000, r2 200000, r3 4096, b 800000 (a, ta, tb, global:
  // sums); Q3: global 1000000.
  void Seed() {
    BuildOrg();
    PutModel(BuyingCycle6());
    PutQuota("r1", 2026, 2, 400000);
    PutQuota("r2", 2026, 2, 200000);
    PutQuota("r3", 2026, 2, 4096);
    PutQuota("b", 2026, 2, 800000);
    PutQuota("global", 2026, 3, 1000000);
    PutOpp({"o1", "r1", "INTEREST", 100000, Day(2026, 5, 10)});
    PutOpp({"o2", "r1", "COMMITMENT", 333333, Day(2026, 6, 30)});
    PutOpp({"o3", "r2", "DESIGN", 250000, Day(2026, 4, 1)});
    PutOpp({"o4", "r2", "INTEREST", 40000, Day(2026, 7, 1)});
    PutOpp({"o5", "r3", "USAGE", 500000, Day(2026, 5, 1)});
    PutOpp({"o6", "r1", "USAGE", 200000, Day(2026, 9, 1),
            v1::OPPORTUNITY_STATUS_WON, NoonMicros(2026, 5, 15)});
    PutOpp({"o7", "r3", "DESIGN", 700000, Day(2026, 5, 20),
            v1::OPPORTUNITY_STATUS_LOST, NoonMicros(2026, 4, 20)});
    PutOpp({"o8", "r2", "USAGE", 10000, Day(2026, 4, 15),
            v1::OPPORTUNITY_STATUS_WON, NoonMicros(2026, 3, 31)});
    PutOpp({"o9", "r2", "COMMITMENT", 3, Day(2026, 6, 1)});
  }

  // ---- Calls ----

  std::unique_ptr<grpc::ClientContext> Ctx(
      const std::string& token, absl::Duration deadline = absl::Seconds(20)) {
    return ::salesops::testing::BearerContext(token, deadline);
  }

  static v1::GetForecastRequest Req(const std::string& node, int fy = 2026,
                                    int q = 2) {
    v1::GetForecastRequest req;
    req.set_node_id(node);
    req.set_fiscal_year(fy);
    req.set_fiscal_quarter(q);
    return req;
  }

  grpc::Status Get(const v1::GetForecastRequest& req, v1::Forecast* out,
                   const std::string& token = kAdminToken,
                   absl::Duration deadline = absl::Seconds(20)) {
    auto ctx = Ctx(token, deadline);
    return stub_->GetForecast(ctx.get(), req, out);
  }

  v1::Forecast MustGet(const std::string& node, int fy = 2026, int q = 2) {
    v1::Forecast out;
    EXPECT_TRUE(IsOk(Get(Req(node, fy, q), &out)))
        << "GetForecast " << node << " FY" << fy << " Q" << q;
    return out;
  }
  std::string NodeLine(const std::string& node, int fy = 2026, int q = 2) {
    return Describe(MustGet(node, fy, q).node());
  }

  static v1::RecordOutOfFunnelSaleRequest SaleReq(
      const std::string& rep, int64_t amount, v1::Date date,
      const std::string& request_id = "") {
    v1::RecordOutOfFunnelSaleRequest req;
    req.mutable_sale()->set_rep_node_id(rep);
    *req.mutable_sale()->mutable_amount() = Eur(amount);
    *req.mutable_sale()->mutable_date() = date;
    req.set_request_id(request_id);
    return req;
  }

  // 123.45 EUR on r1 in Q2, with request id "req-1".
  static v1::RecordOutOfFunnelSaleRequest SmallOrder() {
    v1::RecordOutOfFunnelSaleRequest req =
        SaleReq("r1", 12345, Day(2026, 5, 5), "req-1");
    req.mutable_sale()->set_note("  small order  ");
    return req;
  }

  grpc::Status Record(const v1::RecordOutOfFunnelSaleRequest& req,
                      v1::OutOfFunnelSale* out,
                      const std::string& token = kAdminToken) {
    auto ctx = Ctx(token);
    return stub_->RecordOutOfFunnelSale(ctx.get(), req, out);
  }

  testing::TempDir dir_;
  FakeClock clock_{absl::FromCivil(absl::CivilSecond(2026, 5, 1, 9, 0, 0),
                                   absl::UTCTimeZone())};
  std::unique_ptr<Store> store_;
  std::map<std::string, Principal> principals_;
  std::unique_ptr<Authenticator> auth_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<ForecastView> view_;
  std::unique_ptr<ForecastServiceImpl> service_;
  std::unique_ptr<testing::LoopbackServer> server_;
  std::unique_ptr<v1::ForecastService::Stub> stub_;
  ForecastOptions options_;  // of the next StartService

  // Feed positions (what the consumers would report) and event sequences.
  std::mutex feed_mu_;
  std::condition_variable feed_cv_;
  uint64_t pipeline_applied_ = 0;  // guarded by feed_mu_
  uint64_t accounts_applied_ = 0;  // guarded by feed_mu_
  uint64_t credit_applied_ = 0;    // guarded by feed_mu_
  std::atomic<int> waits_{0};
  uint64_t accounts_seq_ = 0;
  uint64_t pipeline_seq_ = 0;
  uint64_t credit_seq_ = 0;
};

}  // namespace salesops::forecast::service_testing
