// The forecast's resyncs (accounts_follower.h, pipeline_follower.h,
// credit_follower.h) against fake sources on loopback: a copy built from feed
// events is replaced by a listing that differs from it (entities gone,
// versions lower as after a restore, new ones). Afterwards the stored copy is
// byte for byte the one a fresh forecast builds from the same listing, the
// in-memory view equals a reload of the store, the cursor is the listing's
// first position, and the feed applies after it as usual. A resync cut short
// keeps the old cursor and converges when run again.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/money/money.h"
#include "common/server/peer.h"
#include "common/status/status.h"
#include "common/store/store.h"
#include "common/testing/builders.h"
#include "common/testing/loopback_server.h"
#include "common/testing/temp_dir.h"
#include "common/time/clock.h"
#include "common/time/fiscal_calendar.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "services/forecast/followers.h"
#include "services/forecast/forecast_view.h"

namespace salesops::forecast {
namespace {

constexpr char kModel[] = "buying-cycle-6";
constexpr int kPageSize = 3;  // the fakes' pages, whatever is asked

using ::salesops::testing::Day;
using ::salesops::testing::Eur;

// An org node as accounts lists it (common/testing/builders.h).
v1::OrgNode Node(const std::string& id, const std::string& parent,
                 v1::OrgNodeKind kind, int64_t version = 1) {
  return testing::OrgNodeProto(id, parent, kind, "", version);
}

v1::Quota Quota(const std::string& node, int q, int64_t amount,
                int64_t version = 1) {
  v1::Quota out;
  out.set_node_id(node);
  out.set_fiscal_year(2026);
  out.set_fiscal_quarter(q);
  *out.mutable_amount() = Eur(amount);
  out.set_version(version);
  return out;
}

v1::StageModel Model(const std::string& id,
                     std::vector<std::pair<std::string, int32_t>> rates,
                     int64_t version = 1) {
  v1::StageModel m;
  m.set_id(id);
  for (const auto& [key, bp] : rates) {
    v1::Stage* s = m.add_stages();
    s->set_key(key);
    s->set_win_rate_bp(bp);
  }
  m.set_version(version);
  return m;
}

std::vector<std::pair<std::string, int32_t>> Bc6() {
  return {{"INTEREST", 500},    {"CONSIDERATION", 1000}, {"DESIGN", 2000},
          {"COMPARISON", 3000}, {"COMMITMENT", 5000},    {"USAGE", 8000}};
}

v1::Opportunity Opp(const std::string& id, const std::string& owner,
                    const std::string& stage, int64_t amount,
                    v1::OpportunityStatus status = v1::OPPORTUNITY_STATUS_OPEN,
                    int64_t version = 1, const std::string& model = kModel) {
  v1::Opportunity o;
  o.set_id(id);
  o.set_owner_node_id(owner);
  o.set_stage_model_id(model);
  o.set_stage_key(stage);
  o.set_status(status);
  *o.mutable_amount() = Eur(amount);
  *o.mutable_expected_close_date() = Day(2026, 5, 15);
  if (status != v1::OPPORTUNITY_STATUS_OPEN) {
    o.set_closed_micros(absl::ToUnixMicros(
        absl::FromCivil(absl::CivilDay(2026, 5, 20), absl::UTCTimeZone())));
  }
  o.set_created_micros(absl::ToUnixMicros(
      absl::FromCivil(absl::CivilDay(2026, 4, 2), absl::UTCTimeZone())));
  o.set_version(version);
  return o;
}

v1::OpportunityChange Change(const std::string& opp, int64_t seq,
                             const std::string& to) {
  v1::OpportunityChange c;
  c.set_opportunity_id(opp);
  c.set_seq(seq);
  c.set_kind(v1::CHANGE_KIND_STAGE_FORWARD);
  c.set_to(to);
  c.set_time_micros(1'000'000 * seq);
  return c;
}

v1::OpportunityCollection Collection(const std::string& opp, int64_t collected,
                                     int64_t version = 1) {
  v1::OpportunityCollection c;
  c.set_opportunity_id(opp);
  *c.mutable_collected() = Eur(collected);
  c.set_version(version);
  return c;
}

// Pages of kPageSize through an index token; `fail_at` > 0 fails that call
// (1-based) with INTERNAL, once (UNAVAILABLE would be retried by the
// peer channel).
template <typename T, typename Resp>
grpc::Status Serve(const std::vector<T>& items, const std::string& token,
                   uint64_t sequence, int* calls, int* fail_at,
                   google::protobuf::RepeatedPtrField<T>* out, Resp* resp) {
  ++*calls;
  if (*fail_at > 0 && *calls == *fail_at) {
    *fail_at = 0;
    return grpc::Status(grpc::StatusCode::INTERNAL, "source failed");
  }
  const size_t start = token.empty() ? 0 : std::stoul(token);
  const size_t end = std::min(items.size(), start + kPageSize);
  for (size_t i = start; i < end; ++i) *out->Add() = items[i];
  resp->set_feed_sequence(sequence);
  if (end < items.size()) {
    resp->set_next_page_token(absl::StrCat(end));
  }
  return grpc::Status::OK;
}

// What a source lists. Each List RPC reports `sequence` + the number of
// calls made so far, so the first page's position is known.
struct Listing {
  std::vector<v1::OrgNode> nodes;
  std::vector<v1::Quota> quotas;
  std::vector<v1::ExchangeRate> rates;
  std::vector<v1::StageModel> models;
  std::vector<v1::Opportunity> opportunities;          // by id
  std::vector<v1::OpportunityChange> changes;          // by (opportunity, seq)
  std::vector<v1::OpportunityCollection> collections;  // by opportunity
  uint64_t sequence = 1000;
};

class FakeSources final : public v1::AccountsService::Service,
                          public v1::PipelineService::Service,
                          public v1::CreditService::Service {
 public:
  void Set(Listing l, int fail_at = 0) {
    std::lock_guard<std::mutex> lock(mu_);
    listing_ = std::move(l);
    calls_ = 0;
    fail_at_ = fail_at;
    stuck_ = false;
    denied_ = false;
  }
  // Every page says "more" with the same token / every call is refused.
  void Misbehave(bool stuck, bool denied) {
    std::lock_guard<std::mutex> lock(mu_);
    stuck_ = stuck;
    denied_ = denied;
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  grpc::Status ListOrgNodes(grpc::ServerContext*,
                            const v1::ListOrgNodesRequest* req,
                            v1::ListOrgNodesResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    return Serve(listing_.nodes, req->page_token(), Seq(), &calls_, &fail_at_,
                 resp->mutable_nodes(), resp);
  }
  grpc::Status ListQuotas(grpc::ServerContext*,
                          const v1::ListQuotasRequest* req,
                          v1::ListQuotasResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    return Serve(listing_.quotas, req->page_token(), Seq(), &calls_, &fail_at_,
                 resp->mutable_quotas(), resp);
  }
  grpc::Status ListExchangeRates(grpc::ServerContext*,
                                 const v1::ListExchangeRatesRequest* req,
                                 v1::ListExchangeRatesResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    return Serve(listing_.rates, req->page_token(), Seq(), &calls_, &fail_at_,
                 resp->mutable_rates(), resp);
  }
  grpc::Status ListStageModels(grpc::ServerContext*,
                               const v1::ListStageModelsRequest* req,
                               v1::ListStageModelsResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    return Serve(listing_.models, req->page_token(), Seq(), &calls_, &fail_at_,
                 resp->mutable_models(), resp);
  }
  grpc::Status ListOpportunities(grpc::ServerContext*,
                                 const v1::ListOpportunitiesRequest* req,
                                 v1::ListOpportunitiesResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    return Serve(listing_.opportunities, req->page_token(), Seq(), &calls_,
                 &fail_at_, resp->mutable_opportunities(), resp);
  }
  grpc::Status ListOpportunityChanges(
      grpc::ServerContext*, const v1::ListOpportunityChangesRequest* req,
      v1::ListOpportunityChangesResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    return Serve(listing_.changes, req->page_token(), Seq(), &calls_, &fail_at_,
                 resp->mutable_changes(), resp);
  }
  grpc::Status ListOpportunityCollections(
      grpc::ServerContext*, const v1::ListOpportunityCollectionsRequest* req,
      v1::ListOpportunityCollectionsResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (denied_) {
      ++calls_;
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "finance only");
    }
    if (stuck_) {
      ++calls_;
      resp->set_next_page_token("same");
      return grpc::Status::OK;
    }
    return Serve(listing_.collections, req->page_token(), Seq(), &calls_,
                 &fail_at_, resp->mutable_collections(), resp);
  }

 private:
  uint64_t Seq() const { return listing_.sequence + calls_; }
  std::mutex mu_;
  Listing listing_;
  int calls_ = 0;
  int fail_at_ = 0;
  bool stuck_ = false;
  bool denied_ = false;
};

// A forecast's store and view.
struct Forecast {
  explicit Forecast(const std::string& dir, Clock* clock) {
    store = testing::OpenTestStore(dir, ColumnFamilies(), clock);
    view =
        std::make_unique<ForecastView>(store.get(), FiscalCalendar::Default());
    EXPECT_TRUE(view->Load().ok());
  }
  std::unique_ptr<Store> store;
  std::unique_ptr<ForecastView> view;
};

class FollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(static_cast<v1::AccountsService::Service*>(&fake_));
    builder.RegisterService(static_cast<v1::PipelineService::Service*>(&fake_));
    builder.RegisterService(static_cast<v1::CreditService::Service*>(&fake_));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    PeerConfig config;
    config.target = absl::StrCat("127.0.0.1:", port);
    config.max_attempts = 2;
    auto peer = PeerChannel::Create(config);
    ASSERT_TRUE(peer.ok()) << peer.status();
    peer_ = std::move(*peer);
    copy_ = std::make_unique<Forecast>(dir_.path() + "/copy", &clock_);
  }
  void TearDown() override {
    copy_.reset();
    server_->Shutdown();
  }

  // Applies `events` as the consumers would: one batch per source.
  template <typename Msg>
  void Apply(Forecast& f, const char* source, const std::string& kind,
             const std::vector<Msg>& items) {
    std::vector<v1::Event> events;
    for (const Msg& m : items) {
      v1::Event e;
      e.set_sequence(++sequence_);
      e.set_kind(kind);
      e.mutable_payload()->PackFrom(m);
      events.push_back(std::move(e));
    }
    const std::string src = source;
    absl::Status s =
        f.store
            ->Write(SystemActor("test"),
                    [&](WriteTxn& txn) -> absl::Status {
                      for (const v1::Event& e : events) {
                        RETURN_IF_ERROR(src == kAccountsSource
                                            ? f.view->ApplyAccounts(e, txn)
                                        : src == kPipelineSource
                                            ? f.view->ApplyPipeline(e, txn)
                                            : f.view->ApplyCredit(e, txn));
                      }
                      return absl::OkStatus();
                    })
            .status();
    ASSERT_TRUE(s.ok()) << s;
    if (src == kAccountsSource) f.view->AfterAccountsBatch(true);
    if (src == kPipelineSource) f.view->AfterPipelineBatch(true);
    if (src == kCreditSource) f.view->AfterCreditBatch(true);
  }

  // A fresh forecast that applies `l` as feed events (what the copy must
  // equal after the resync).
  std::unique_ptr<Forecast> Fresh(const Listing& l) {
    auto f = std::make_unique<Forecast>(
        dir_.path() + "/fresh" + std::to_string(++fresh_), &clock_);
    Apply(*f, kAccountsSource, "accounts.OrgNode", l.nodes);
    Apply(*f, kAccountsSource, "accounts.Quota", l.quotas);
    Apply(*f, kPipelineSource, "pipeline.StageModel", l.models);
    Apply(*f, kPipelineSource, "pipeline.Opportunity", l.opportunities);
    Apply(*f, kPipelineSource, "pipeline.OpportunityChange", l.changes);
    Apply(*f, kCreditSource, "credit.OpportunityCollection", l.collections);
    return f;
  }

  // Every record of the view's column family.
  static std::map<std::string, std::string> Records(const Store& store) {
    std::map<std::string, std::string> out;
    EXPECT_TRUE(store
                    .Scan(Cf::kView, "", "",
                          [&](std::string_view k, std::string_view v) {
                            out.emplace(k, v);
                            return true;
                          })
                    .ok());
    return out;
  }

  // What readers see: for each node and quarter, the figures, quota, funnel
  // and children; the node's kind.
  static std::string Seen(const ForecastView& view,
                          const std::vector<std::string>& nodes) {
    std::string out;
    for (const std::string& id : nodes) {
      const std::optional<int> kind = view.KindOf(id);
      absl::StrAppend(&out, id, " kind=", kind ? *kind : -1, "\n");
      for (int q = 1; q <= 4; ++q) {
        NodeAnswer a;
        std::vector<NodeAnswer> children;
        absl::Status s =
            view.Read(id, MakeQuarterKey(2026, q), true, &a, &children);
        absl::StrAppend(&out, "  Q", q, " ", s.ToString());
        if (!s.ok()) {
          absl::StrAppend(&out, "\n");
          continue;
        }
        const NodeFigures& f = a.figures;
        absl::StrAppend(&out, " closed=", f.closed_minor,
                        " collected=", f.collected_minor,
                        " weighted=", f.pipeline_weighted_minor,
                        " quota=", a.quota_minor, " funnel:");
        for (size_t i = 0; i < f.funnel.size(); ++i) {
          const auto& [stage, row] = f.funnel[i];
          absl::StrAppend(&out, " ", stage.model_id, "/", stage.stage_key, "@",
                          a.funnel_win_rates_bp[i], "=", row.count, "/",
                          row.amount_minor, "/", row.weighted_minor);
        }
        absl::StrAppend(&out, " children:");
        for (const NodeAnswer& c : children) {
          absl::StrAppend(&out, " ", c.node_id, "=",
                          c.figures.pipeline_weighted_minor, "/",
                          c.figures.closed_minor, "/", c.quota_minor);
        }
        absl::StrAppend(&out, "\n");
      }
    }
    return out;
  }

  // The copy equals a fresh forecast of `l`: records, and what readers see
  // in memory, before and after a reload of the copy's store.
  void ExpectCopyIs(const Listing& l) {
    std::unique_ptr<Forecast> fresh = Fresh(l);
    EXPECT_EQ(Records(*copy_->store), Records(*fresh->store));
    const std::string expected = Seen(*fresh->view, kAllNodes);
    EXPECT_EQ(Seen(*copy_->view, kAllNodes), expected);
    ForecastView reloaded(copy_->store.get(), FiscalCalendar::Default());
    ASSERT_TRUE(reloaded.Load().ok());
    EXPECT_EQ(Seen(reloaded, kAllNodes), expected);
  }

  uint64_t Cursor(const char* source) {
    absl::StatusOr<uint64_t> c = copy_->store->GetCursor(source);
    EXPECT_TRUE(c.ok());
    return c.ok() ? *c : 0;
  }

  // The copy before the resync:
  //   g ── ra ── r1, r2;  g ── rb ── r3;  g ── old (gone at the source)
  //   models bc6 and "old-model" (gone); o1..o6, o9 (gone) with history and
  //   collections.
  Listing Before() {
    Listing l;
    l.nodes = {Node("g", "", v1::ORG_NODE_KIND_GLOBAL),
               Node("old", "g", v1::ORG_NODE_KIND_REGION, 4),
               Node("r1", "ra", v1::ORG_NODE_KIND_REP),
               Node("r2", "ra", v1::ORG_NODE_KIND_REP, 3),
               Node("r3", "rb", v1::ORG_NODE_KIND_REP),
               Node("ra", "g", v1::ORG_NODE_KIND_REGION),
               Node("rb", "g", v1::ORG_NODE_KIND_REGION, 2)};
    l.quotas = {Quota("g", 2, 9000, 2), Quota("old", 2, 500),
                Quota("r1", 2, 1000, 5), Quota("r1", 3, 1200)};
    l.models = {Model(kModel, Bc6(), 3),
                Model("old-model", {{"A", 5000}, {"B", 9000}}, 2)};
    l.opportunities = {
        Opp("o1", "r1", "INTEREST", 100000, v1::OPPORTUNITY_STATUS_OPEN, 7),
        Opp("o2", "r1", "COMMITMENT", 333333),
        Opp("o3", "r2", "DESIGN", 250000, v1::OPPORTUNITY_STATUS_OPEN, 4),
        Opp("o4", "r3", "USAGE", 500000, v1::OPPORTUNITY_STATUS_WON, 9),
        Opp("o5", "old", "A", 80000, v1::OPPORTUNITY_STATUS_OPEN, 2,
            "old-model"),
        Opp("o6", "r3", "USAGE", 70000, v1::OPPORTUNITY_STATUS_WON, 3),
        Opp("o9", "r2", "USAGE", 9000, v1::OPPORTUNITY_STATUS_WON, 5)};
    l.changes = {Change("o1", 1, "INTEREST"), Change("o1", 2, "DESIGN"),
                 Change("o1", 3, "INTEREST"), Change("o4", 1, "USAGE"),
                 Change("o9", 1, "USAGE"),    Change("o9", 2, "WON")};
    l.collections = {Collection("o4", 200000, 3), Collection("o6", 70000, 2),
                     Collection("o9", 9000, 4), Collection("o77", 5, 1)};
    return l;
  }

  // The source after a restore from an earlier copy plus new writes:
  // versions restart lower, `old` and its model are gone, r2 moved under rb,
  // rc and r4 are new; o9 is gone, o7 new, o1 back at version 2 in another
  // stage, o3 moved owner and amount; history and collections follow.
  Listing After() {
    Listing l;
    l.nodes = {Node("g", "", v1::ORG_NODE_KIND_GLOBAL),
               Node("r1", "ra", v1::ORG_NODE_KIND_REP),
               Node("r2", "rb", v1::ORG_NODE_KIND_REP, 2),
               Node("r3", "rb", v1::ORG_NODE_KIND_REP),
               Node("r4", "rc", v1::ORG_NODE_KIND_REP),
               Node("ra", "g", v1::ORG_NODE_KIND_REGION),
               Node("rb", "g", v1::ORG_NODE_KIND_REGION),
               Node("rc", "g", v1::ORG_NODE_KIND_REGION)};
    // accounts lists quotas by "<node>/<year>/Q<q>", not the copy's order.
    l.quotas = {Quota("r4", 2, 4000), Quota("g", 2, 8000),
                Quota("r1", 2, 1000, 1), Quota("rb", 3, 700)};
    l.models = {Model(kModel,
                      {{"INTEREST", 1000},
                       {"CONSIDERATION", 1000},
                       {"DESIGN", 2500},
                       {"COMPARISON", 3000},
                       {"COMMITMENT", 5000},
                       {"USAGE", 8000}},
                      2)};
    l.opportunities = {
        Opp("o1", "r1", "DESIGN", 100000, v1::OPPORTUNITY_STATUS_OPEN, 2),
        Opp("o2", "r1", "COMMITMENT", 333333),
        Opp("o3", "r4", "DESIGN", 260000, v1::OPPORTUNITY_STATUS_OPEN, 2),
        Opp("o4", "r3", "USAGE", 500000, v1::OPPORTUNITY_STATUS_WON, 3),
        Opp("o5", "r3", "A", 80000, v1::OPPORTUNITY_STATUS_OPEN, 1,
            "old-model"),
        Opp("o6", "r3", "USAGE", 70000, v1::OPPORTUNITY_STATUS_WON, 3),
        Opp("o7", "r2", "INTEREST", 4000)};
    l.changes = {Change("o1", 1, "INTEREST"), Change("o1", 2, "DESIGN"),
                 Change("o4", 1, "USAGE"), Change("o7", 1, "INTEREST")};
    l.collections = {Collection("o4", 150000, 1), Collection("o6", 70000, 2),
                     Collection("o7", 100, 1)};
    return l;
  }

  const std::vector<std::string> kAllNodes = {"g",  "ra", "rb", "rc", "r1",
                                              "r2", "r3", "r4", "old"};
  testing::TempDir dir_;
  FakeClock clock_{absl::FromCivil(absl::CivilSecond(2026, 5, 1, 9, 0, 0),
                                   absl::UTCTimeZone())};
  FakeSources fake_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<PeerChannel> peer_;
  std::unique_ptr<Forecast> copy_;
  uint64_t sequence_ = 0;
  int fresh_ = 0;
};

TEST_F(FollowerTest, EachResyncReplacesItsFeedsCopy) {
  const Listing before = Before();
  Apply(*copy_, kAccountsSource, "accounts.OrgNode", before.nodes);
  Apply(*copy_, kAccountsSource, "accounts.Quota", before.quotas);
  Apply(*copy_, kPipelineSource, "pipeline.StageModel", before.models);
  Apply(*copy_, kPipelineSource, "pipeline.Opportunity", before.opportunities);
  Apply(*copy_, kPipelineSource, "pipeline.OpportunityChange", before.changes);
  Apply(*copy_, kCreditSource, "credit.OpportunityCollection",
        before.collections);
  ExpectCopyIs(before);

  // Each feed's resync replaces that feed's part only.
  Listing after = After();
  Listing mixed = before;
  after.sequence = 500;
  fake_.Set(after);
  ASSERT_TRUE(AccountsFollower(copy_->view.get(), peer_.get()).Resync().ok());
  EXPECT_EQ(Cursor(kAccountsSource), 500u);  // the first page's position
  mixed.nodes = after.nodes;
  mixed.quotas = after.quotas;
  ExpectCopyIs(mixed);

  after.sequence = 600;
  fake_.Set(after);
  ASSERT_TRUE(PipelineFollower(copy_->view.get(), peer_.get()).Resync().ok());
  EXPECT_EQ(Cursor(kPipelineSource), 600u);
  mixed.models = after.models;
  mixed.opportunities = after.opportunities;
  mixed.changes = after.changes;
  ExpectCopyIs(mixed);

  after.sequence = 700;
  fake_.Set(after);
  ASSERT_TRUE(CreditFollower(copy_->view.get(), peer_.get()).Resync().ok());
  EXPECT_EQ(Cursor(kCreditSource), 700u);
  ExpectCopyIs(after);
  // `old` is out of every answer; r2 now counts under rb.
  NodeAnswer a;
  std::vector<NodeAnswer> children;
  EXPECT_EQ(
      copy_->view->Read("old", MakeQuarterKey(2026, 2), false, &a, &children)
          .code(),
      absl::StatusCode::kNotFound);

  // The feed resumes after the listing: events the listing already showed
  // are ignored by version, newer ones apply.
  Apply(*copy_, kPipelineSource, "pipeline.Opportunity",
        std::vector<v1::Opportunity>{
            Opp("o1", "r1", "DESIGN", 100000, v1::OPPORTUNITY_STATUS_OPEN, 2),
            Opp("o7", "r2", "INTEREST", 4000)});
  ExpectCopyIs(after);
  Apply(*copy_, kPipelineSource, "pipeline.Opportunity",
        std::vector<v1::Opportunity>{
            Opp("o7", "r2", "USAGE", 4000, v1::OPPORTUNITY_STATUS_OPEN, 2)});
  after.opportunities.back() =
      Opp("o7", "r2", "USAGE", 4000, v1::OPPORTUNITY_STATUS_OPEN, 2);
  ExpectCopyIs(after);
}

TEST_F(FollowerTest, AForecastStartedOnAnEmptyStoreBuildsItsState) {
  Listing after = After();
  fake_.Set(after);
  ASSERT_TRUE(AccountsFollower(copy_->view.get(), peer_.get()).Resync().ok());
  ASSERT_TRUE(PipelineFollower(copy_->view.get(), peer_.get()).Resync().ok());
  ASSERT_TRUE(CreditFollower(copy_->view.get(), peer_.get()).Resync().ok());
  ExpectCopyIs(after);
}

TEST_F(FollowerTest, AnEmptySourceEmptiesTheCopy) {
  const Listing before = Before();
  Apply(*copy_, kAccountsSource, "accounts.OrgNode", before.nodes);
  Apply(*copy_, kPipelineSource, "pipeline.StageModel", before.models);
  Apply(*copy_, kPipelineSource, "pipeline.Opportunity", before.opportunities);
  Apply(*copy_, kPipelineSource, "pipeline.OpportunityChange", before.changes);
  fake_.Set(Listing{});
  ASSERT_TRUE(AccountsFollower(copy_->view.get(), peer_.get()).Resync().ok());
  ASSERT_TRUE(PipelineFollower(copy_->view.get(), peer_.get()).Resync().ok());
  ASSERT_TRUE(CreditFollower(copy_->view.get(), peer_.get()).Resync().ok());
  // Nothing but the reporting currency the view converts into (tag 11,
  // forecast_store.h), which is not a copy of any feed.
  std::map<std::string, std::string> left = Records(*copy_->store);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left.begin()->second, "EUR");
  ExpectCopyIs(Listing{});
}

TEST_F(FollowerTest, AResyncCutShortKeepsTheCursorAndConvergesWhenRunAgain) {
  const Listing before = Before();
  Apply(*copy_, kAccountsSource, "accounts.OrgNode", before.nodes);
  Apply(*copy_, kPipelineSource, "pipeline.StageModel", before.models);
  Apply(*copy_, kPipelineSource, "pipeline.Opportunity", before.opportunities);
  ASSERT_TRUE(copy_->store
                  ->Write(SystemActor("test"),
                          [](WriteTxn& txn) {
                            txn.PutCursor(kPipelineSource, 42);
                            return absl::OkStatus();
                          })
                  .ok());
  Listing after = After();
  after.nodes = before.nodes;
  after.quotas = {};
  after.collections = {};
  // Calls: 1 models, 2..4 opportunities (7 in pages of 3): the third page of
  // opportunities fails after two were replaced.
  fake_.Set(after, /*fail_at=*/4);
  const absl::Status cut =
      PipelineFollower(copy_->view.get(), peer_.get()).Resync();
  EXPECT_EQ(cut.code(), absl::StatusCode::kUnavailable) << cut;
  EXPECT_EQ(Cursor(kPipelineSource), 42u);
  // Memory still follows what was stored.
  ForecastView reloaded(copy_->store.get(), FiscalCalendar::Default());
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_EQ(Seen(*copy_->view, kAllNodes), Seen(reloaded, kAllNodes));
  // A restart resyncs again (the cursor is where it was) and converges.
  copy_->view = std::make_unique<ForecastView>(copy_->store.get(),
                                               FiscalCalendar::Default());
  ASSERT_TRUE(copy_->view->Load().ok());
  fake_.Set(after);
  ASSERT_TRUE(PipelineFollower(copy_->view.get(), peer_.get()).Resync().ok());
  EXPECT_EQ(Cursor(kPipelineSource), 1000u);
  ExpectCopyIs(after);
}

TEST_F(FollowerTest, AListingOutOfIdOrderIsRefusedAndTheCursorKept) {
  Listing after = After();
  std::swap(after.opportunities[0], after.opportunities[5]);  // o6 first
  fake_.Set(after);
  const absl::Status s =
      PipelineFollower(copy_->view.get(), peer_.get()).Resync();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(Cursor(kPipelineSource), 0u);
}

TEST_F(FollowerTest, AListingThatDoesNotAdvanceOrIsRefusedChangesNothing) {
  Apply(*copy_, kCreditSource, "credit.OpportunityCollection",
        std::vector<v1::OpportunityCollection>{Collection("o1", 5)});
  const auto records = Records(*copy_->store);
  fake_.Set(Listing{});
  fake_.Misbehave(/*stuck=*/true, /*denied=*/false);
  absl::Status s = CreditFollower(copy_->view.get(), peer_.get()).Resync();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(fake_.calls(), 2);  // the second page repeats the token
  fake_.Misbehave(/*stuck=*/false, /*denied=*/true);
  s = CreditFollower(copy_->view.get(), peer_.get()).Resync();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_EQ(Records(*copy_->store), records);
  EXPECT_EQ(Cursor(kCreditSource), 0u);
}

// What ServiceRuntime::AddFollower reads of each follower: the cursor's
// source and the kinds its consumer asks for.
TEST_F(FollowerTest, EachFollowerNamesItsSourceAndKinds) {
  AccountsFollower accounts(copy_->view.get(), peer_.get());
  PipelineFollower pipeline(copy_->view.get(), peer_.get());
  CreditFollower credit(copy_->view.get(), peer_.get());
  EXPECT_EQ(accounts.source(), "accounts");
  EXPECT_EQ(accounts.kinds(), AccountsKinds());
  EXPECT_EQ(pipeline.source(), "pipeline");
  EXPECT_EQ(pipeline.kinds(), PipelineKinds());
  EXPECT_EQ(credit.source(), "credit");
  EXPECT_EQ(credit.kinds(),
            std::vector<std::string>{"credit.OpportunityCollection"});
}

}  // namespace
}  // namespace salesops::forecast
