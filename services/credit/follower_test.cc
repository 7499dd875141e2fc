// Credit's resyncs (followers.h: AccountsFollower, PipelineFollower) against
// fake sources on loopback: the copy built from feed events is replaced by a
// listing that differs (entities gone, versions lower as after a restore,
// new ones). The copy then equals what a fresh credit builds from the same
// listing, the in-memory OrgMirror equals a reload, the cursor is the
// listing's first position — and credit's own data stays: a receivable opened
// for a signed contract is still owed when its deal has vanished.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
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
#include "common/money/exchange.h"
#include "common/money/money.h"
#include "common/org/org_mirror.h"
#include "common/server/peer.h"
#include "common/status/status.h"
#include "common/store/store.h"
#include "common/testing/builders.h"
#include "common/testing/loopback_server.h"
#include "common/testing/temp_dir.h"
#include "common/time/clock.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "services/credit/credit_ledger.h"
#include "services/credit/credit_store.h"
#include "services/credit/followers.h"
#include "services/credit/rate_mirror.h"

namespace salesops::credit {
namespace {

constexpr char kModel[] = "buying-cycle-6";
constexpr int kPageSize = 3;

using ::salesops::testing::Eur;

// buying-cycle-6 by hand: USAGE is contract_signed.
v1::StageModel Model(const std::string& id, int64_t version) {
  v1::StageModel m;
  m.set_id(id);
  for (const char* key : {"INTEREST", "DESIGN", "COMMITMENT", "USAGE"}) {
    v1::Stage* s = m.add_stages();
    s->set_key(key);
    s->set_contract_signed(std::string(key) == "USAGE");
  }
  m.set_version(version);
  return m;
}

v1::Opportunity Opp(
    const std::string& id, const std::string& account, const std::string& stage,
    int64_t amount, int64_t version,
    v1::OpportunityStatus status = v1::OPPORTUNITY_STATUS_OPEN) {
  v1::Opportunity o;
  o.set_id(id);
  o.set_account_id(account);
  o.set_owner_node_id("r1");
  o.set_stage_model_id(kModel);
  o.set_stage_key(stage);
  o.set_status(status);
  *o.mutable_amount() = Eur(amount);
  o.set_stage_entered_micros(absl::ToUnixMicros(
      absl::FromCivil(absl::CivilDay(2026, 3, 2), absl::UTCTimeZone())));
  o.set_version(version);
  return o;
}

// An accounts.ExchangeRate entry to EUR (credit's default --currency).
v1::ExchangeRate Rate(const std::string& currency, absl::CivilDay start,
                      const std::string& rate, int64_t version,
                      bool withdrawn = false) {
  v1::ExchangeRate r;
  r.set_currency(currency);
  *r.mutable_start_date() = ::salesops::testing::Day(
      static_cast<int>(start.year()), start.month(), start.day());
  r.set_rate(rate);
  r.set_reporting_currency("EUR");
  r.set_withdrawn(withdrawn);
  r.set_version(version);
  return r;
}

// The rates a table holds, "CUR@YYYY-MM-DD=rate" in order.
std::string Rates(const money::RateTable& t) {
  std::string out;
  for (const auto& [currency, by_day] : t.entries()) {
    for (const auto& [day, rate] : by_day) {
      absl::StrAppend(&out, out.empty() ? "" : " ", currency, "@",
                      absl::FormatCivilTime(day), "=", money::FormatRate(rate));
    }
  }
  return out;
}

v1::OrgNode Node(const std::string& id, const std::string& parent,
                 int64_t version) {
  return ::salesops::testing::OrgNodeProto(
      id, parent,
      parent.empty() ? v1::ORG_NODE_KIND_GLOBAL : v1::ORG_NODE_KIND_REP, "",
      version);
}

v1::Account Account(const std::string& id, const std::string& owner,
                    int64_t version) {
  v1::Account a;
  a.set_id(id);
  a.set_owner_node_id(owner);
  a.set_version(version);
  return a;
}

template <typename T, typename Resp>
grpc::Status Serve(const std::vector<T>& items, const std::string& token,
                   uint64_t sequence,
                   google::protobuf::RepeatedPtrField<T>* out, Resp* resp) {
  const size_t start = token.empty() ? 0 : std::stoul(token);
  const size_t end = std::min(items.size(), start + kPageSize);
  for (size_t i = start; i < end; ++i) *out->Add() = items[i];
  resp->set_feed_sequence(sequence);
  if (end < items.size()) {
    resp->set_next_page_token(absl::StrCat(end));
  }
  return grpc::Status::OK;
}

struct Listing {
  std::vector<v1::OrgNode> nodes;
  std::vector<v1::Account> accounts;           // by id
  std::vector<v1::StageModel> models;          // by id
  std::vector<v1::Opportunity> opportunities;  // by id
  std::vector<v1::ExchangeRate> rates;         // by currency, start
  bool rates_unimplemented = false;  // an accounts from before issue 19
  uint64_t sequence = 300;
};

class FakeSources final : public v1::AccountsService::Service,
                          public v1::PipelineService::Service {
 public:
  void Set(Listing l) {
    std::lock_guard<std::mutex> lock(mu_);
    l_ = std::move(l);
  }
  grpc::Status ListOrgNodes(grpc::ServerContext*,
                            const v1::ListOrgNodesRequest* req,
                            v1::ListOrgNodesResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    return Serve(l_.nodes, req->page_token(), l_.sequence++,
                 resp->mutable_nodes(), resp);
  }
  grpc::Status ListAccounts(grpc::ServerContext*,
                            const v1::ListAccountsRequest* req,
                            v1::ListAccountsResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    return Serve(l_.accounts, req->page_token(), l_.sequence++,
                 resp->mutable_accounts(), resp);
  }
  grpc::Status ListExchangeRates(grpc::ServerContext*,
                                 const v1::ListExchangeRatesRequest* req,
                                 v1::ListExchangeRatesResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (l_.rates_unimplemented) {
      return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no rates here");
    }
    return Serve(l_.rates, req->page_token(), l_.sequence++,
                 resp->mutable_rates(), resp);
  }
  grpc::Status ListStageModels(grpc::ServerContext*,
                               const v1::ListStageModelsRequest* req,
                               v1::ListStageModelsResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    return Serve(l_.models, req->page_token(), l_.sequence++,
                 resp->mutable_models(), resp);
  }
  grpc::Status ListOpportunities(grpc::ServerContext*,
                                 const v1::ListOpportunitiesRequest* req,
                                 v1::ListOpportunitiesResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    return Serve(l_.opportunities, req->page_token(), l_.sequence++,
                 resp->mutable_opportunities(), resp);
  }

 private:
  std::mutex mu_;
  Listing l_;
};

// A credit service's store, mirror and followers (no server: the followers
// write through the store).
struct Credit {
  Credit(const std::string& dir, Clock* clock, const PeerChannel* peer) {
    store = testing::OpenTestStore(dir, ColumnFamilies(), clock);
    org = std::make_unique<OrgMirror>(store.get(), Cf::kMirror);
    EXPECT_TRUE(org->Load().ok());
    ledger = std::make_unique<CreditLedger>(store.get(), CreditOptions());
    pipeline = std::make_unique<PipelineFollower>(ledger.get(), peer);
    accounts =
        std::make_unique<AccountsFollower>(org.get(), &ledger->rates, peer);
  }
  std::unique_ptr<Store> store;
  std::unique_ptr<OrgMirror> org;
  std::unique_ptr<CreditLedger> ledger;
  std::unique_ptr<PipelineFollower> pipeline;
  std::unique_ptr<AccountsFollower> accounts;
};

class CreditFollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auth_ = testing::AuthFor({});
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(static_cast<v1::AccountsService::Service*>(&fake_));
    builder.RegisterService(static_cast<v1::PipelineService::Service*>(&fake_));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    PeerConfig config;
    config.target = absl::StrCat("127.0.0.1:", port);
    peer_ = std::move(PeerChannel::Create(config).value());
    copy_ =
        std::make_unique<Credit>(dir_.path() + "/copy", &clock_, peer_.get());
  }
  void TearDown() override {
    copy_.reset();
    server_->Shutdown();
  }

  void ApplyPipeline(Credit& c, const std::vector<v1::StageModel>& models,
                     const std::vector<v1::Opportunity>& opps) {
    std::vector<v1::Event> events;
    for (const auto& m : models) {
      v1::Event e;
      e.set_kind("pipeline.StageModel");
      e.mutable_payload()->PackFrom(m);
      events.push_back(e);
    }
    for (const auto& o : opps) {
      v1::Event e;
      e.set_kind("pipeline.Opportunity");
      e.set_time_micros(absl::ToUnixMicros(clock_.Now()));
      e.mutable_payload()->PackFrom(o);
      events.push_back(e);
    }
    for (v1::Event& e : events) {
      e.set_sequence(++sequence_);
      absl::Status s =
          c.store
              ->Write(SystemActor("test"),
                      [&](WriteTxn& txn) { return c.pipeline->Apply(e, txn); })
              .status();
      ASSERT_TRUE(s.ok()) << s;
    }
  }

  void ApplyAccounts(Credit& c, const std::vector<v1::ExchangeRate>& rates) {
    for (const v1::ExchangeRate& r : rates) {
      v1::Event e;
      e.set_kind("accounts.ExchangeRate");
      e.set_entity_id(absl::StrCat(r.currency(), "/", r.start_date().year()));
      e.mutable_payload()->PackFrom(r);
      e.set_sequence(++sequence_);
      absl::Status s =
          c.store
              ->Write(SystemActor("test"),
                      [&](WriteTxn& txn) { return c.accounts->Apply(e, txn); })
              .status();
      ASSERT_TRUE(s.ok()) << s;
    }
  }

  // The mirror family's entries under `prefix`.
  static std::map<std::string, std::string> Mirror(const Store& store,
                                                   const std::string& prefix) {
    std::map<std::string, std::string> out;
    EXPECT_TRUE(store
                    .Scan(Cf::kMirror, prefix, PrefixSuccessor(prefix),
                          [&](std::string_view k, std::string_view v) {
                            out.emplace(k, v);
                            return true;
                          })
                    .ok());
    return out;
  }

  // Receivables as "opportunity amount".
  static std::vector<std::string> Receivables(const Store& store) {
    CreditStore db(const_cast<Store*>(&store));
    std::vector<v1::Receivable> all;
    bool more = false;
    EXPECT_TRUE(db.receivables.List("", 1000, &all, &more).ok());
    std::vector<std::string> out;
    for (const auto& r : all) {
      out.push_back(
          absl::StrCat(r.opportunity_id(), " ", r.amount().units_minor()));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  // Contracted-not-invoiced commitments of `account` as "opportunity amount".
  std::vector<std::string> Commitments(const std::string& account) {
    CreditStore db(copy_->store.get());
    std::vector<std::string> out;
    EXPECT_TRUE(copy_->store
                    ->Write(SystemActor("test"),
                            [&](WriteTxn& txn) -> absl::Status {
                              ASSIGN_OR_RETURN(
                                  std::vector<Commitment> all,
                                  db.AccountCommitments(txn, account));
                              for (const Commitment& c : all) {
                                out.push_back(absl::StrCat(c.opportunity_id,
                                                           " ", c.amount));
                              }
                              return absl::OkStatus();
                            })
                    .ok());
    return out;
  }

  void Commit(const std::string& account, const std::string& opp,
              int64_t amount) {
    CreditStore db(copy_->store.get());
    ASSERT_TRUE(copy_->store
                    ->Write(SystemActor("test"),
                            [&](WriteTxn& txn) {
                              db.PutCommitment(txn, {account, opp, amount});
                              return absl::OkStatus();
                            })
                    .ok());
  }

  testing::TempDir dir_;
  FakeClock clock_{absl::FromCivil(absl::CivilSecond(2026, 3, 2, 9, 0, 0),
                                   absl::UTCTimeZone())};
  std::unique_ptr<Authenticator> auth_;
  FakeSources fake_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<PeerChannel> peer_;
  std::unique_ptr<Credit> copy_;
  uint64_t sequence_ = 0;
};

TEST_F(CreditFollowerTest, PipelineResyncReplacesTheCopyAndKeepsCreditsData) {
  // The copy: o1 signed (its receivable opened), o2..o4 with commitments.
  ApplyPipeline(*copy_, {Model(kModel, 3), Model("old-model", 2)},
                {Opp("o1", "acc1", "USAGE", 1000, 5),
                 Opp("o2", "acc1", "COMMITMENT", 500, 4),
                 Opp("o3", "acc2", "COMMITMENT", 700, 6),
                 Opp("o4", "acc2", "INTEREST", 900, 2)});
  Commit("acc1", "o2", 500);
  Commit("acc2", "o3", 700);
  Commit("acc2", "o4", 900);
  ASSERT_EQ(Receivables(*copy_->store), std::vector<std::string>{"o1 1000"});

  // Pipeline restored from an earlier copy, then written to: versions
  // restart lower, old-model, o1 and o4 are gone, o3 was lost, o5 (new) is
  // signed.
  Listing after;
  after.models = {Model(kModel, 1)};
  after.opportunities = {
      Opp("o2", "acc1", "COMMITMENT", 500, 1),
      Opp("o3", "acc2", "COMMITMENT", 700, 2, v1::OPPORTUNITY_STATUS_LOST),
      Opp("o5", "acc2", "USAGE", 3000, 1), Opp("o6", "acc1", "DESIGN", 10, 1)};
  fake_.Set(after);
  ASSERT_TRUE(copy_->pipeline->Resync().ok());
  EXPECT_EQ(copy_->store->GetCursor("pipeline").value(), 300u);

  // The copy is what a fresh credit builds from the listing ...
  Credit fresh(dir_.path() + "/fresh", &clock_, peer_.get());
  ApplyPipeline(fresh, after.models, after.opportunities);
  for (const std::string& prefix : {CreditStore::ModelMirrorPrefix(),
                                    CreditStore::OpportunityAccountPrefix()}) {
    EXPECT_EQ(Mirror(*copy_->store, prefix), Mirror(*fresh.store, prefix));
  }
  // ... credit's own debts stay (o1's although its deal vanished), o5's
  // contract opened its receivable; the commitments of the lost and the
  // vanished deals are released.
  EXPECT_EQ(Receivables(*copy_->store),
            (std::vector<std::string>{"o1 1000", "o5 3000"}));
  EXPECT_EQ(Commitments("acc1"), std::vector<std::string>{"o2 500"});
  EXPECT_EQ(Commitments("acc2"), std::vector<std::string>{});

  // Again (a crash after the last page, before the cursor): nothing twice.
  fake_.Set(after);
  ASSERT_TRUE(copy_->pipeline->Resync().ok());
  EXPECT_EQ(Receivables(*copy_->store),
            (std::vector<std::string>{"o1 1000", "o5 3000"}));
}

TEST_F(CreditFollowerTest, AccountsResyncReplacesTreeAndOwnersLikeAReload) {
  Listing before;
  before.nodes = {Node("g", "", 4), Node("r1", "g", 3), Node("old", "g", 2)};
  before.accounts = {Account("acc1", "r1", 5), Account("acc2", "old", 2),
                     Account("acc3", "r1", 1)};
  fake_.Set(before);
  ASSERT_TRUE(copy_->accounts->Resync().ok());
  EXPECT_EQ(copy_->org->AccountsWithin("g"),
            (std::vector<std::string>{"acc1", "acc2", "acc3"}));

  Listing after;
  after.nodes = {Node("g", "", 1), Node("r1", "g", 1), Node("r2", "g", 1)};
  after.accounts = {Account("acc1", "r2", 1), Account("acc4", "r1", 1),
                    Account("acc5", "r2", 1), Account("acc6", "r2", 1)};
  after.sequence = 900;
  fake_.Set(after);
  ASSERT_TRUE(copy_->accounts->Resync().ok());
  EXPECT_EQ(copy_->store->GetCursor("accounts").value(), 900u);
  const auto seen = [](const OrgMirror& m) {
    std::string out = absl::StrCat(m.size());
    for (const char* id : {"g", "r1", "r2", "old"}) {
      auto n = m.Find(id);
      absl::StrAppend(&out, " ", id, "=", n ? n->parent_id : "-", "/",
                      n ? n->version : -1);
      for (const std::string& a : m.AccountsWithin(id)) {
        absl::StrAppend(&out, ",", a);
      }
    }
    for (const char* a : {"acc1", "acc2", "acc3", "acc4", "acc5", "acc6"}) {
      absl::StrAppend(&out, " ", a, "@", m.AccountOwner(a).value_or("-"));
    }
    return out;
  };
  EXPECT_EQ(seen(*copy_->org),
            "3 g=/1,acc1,acc4,acc5,acc6 r1=g/1,acc4 r2=g/1,acc1,acc5,acc6 "
            "old=-/-1 acc1@r2 acc2@- acc3@- acc4@r1 acc5@r2 acc6@r2");
  OrgMirror reloaded(copy_->store.get(), Cf::kMirror);
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_EQ(seen(reloaded), seen(*copy_->org));
}

// Issue 19 (D40): credit follows accounts' dated exchange rates into its own
// store (with the cursor) and an in-memory RateTable; a correction replaces
// an entry, a replayed older version does not, a withdrawn entry leaves the
// table; a resync replaces the copy like a reload.
TEST_F(CreditFollowerTest, ExchangeRatesFollowTheFeedAndResyncReplacesThem) {
  const absl::CivilDay jan(2026, 1, 1), mar(2026, 3, 1), apr(2026, 4, 1);
  ApplyAccounts(*copy_,
                {Rate("USD", jan, "0.92", 1), Rate("JPY", mar, "0.0061", 1),
                 Rate("GBP", jan, "1.17", 1),
                 Rate("USD", jan, "0.9250", 2),  // a correction
                 Rate("USD", jan, "0.5", 1),     // replayed: older
                 Rate("GBP", jan, "", 2, /*withdrawn=*/true),
                 Rate("USD", apr, "0.93", 1)});
  const money::RateTable t = copy_->ledger->rates.Snapshot();
  EXPECT_EQ(Rates(t),
            "JPY@2026-03-01=0.0061 USD@2026-01-01=0.925 "
            "USD@2026-04-01=0.93");
  EXPECT_EQ(t.RateOn("USD", absl::CivilDay(2026, 3, 31)),
            money::Decimal({925, 3}));
  EXPECT_EQ(t.RateOn("USD", apr), money::Decimal({93, 2}));
  EXPECT_FALSE(t.RateOn("JPY", absl::CivilDay(2026, 2, 28)).has_value());
  EXPECT_FALSE(t.RateOn("GBP", mar).has_value());
  EXPECT_EQ(t.RateOn("EUR", jan), money::kOne);
  {
    RateMirror reloaded(copy_->store.get(), Cf::kMirror, "EUR");
    ASSERT_TRUE(reloaded.Load().ok());
    EXPECT_EQ(Rates(reloaded.Snapshot()), Rates(t));
  }

  // Accounts restored from an earlier copy: versions restart lower, JPY is
  // gone, CHF is new; the listing replaces the copy whatever the versions.
  Listing after;
  after.nodes = {Node("g", "", 1)};
  after.rates = {Rate("CHF", mar, "1.04", 1), Rate("GBP", jan, "1.2", 1),
                 Rate("USD", jan, "0.95", 1), Rate("USD", apr, "0.93", 1),
                 Rate("USD", absl::CivilDay(2026, 5, 1), "0.9", 1, true)};
  after.sequence = 700;
  fake_.Set(after);
  ASSERT_TRUE(copy_->accounts->Resync().ok());
  EXPECT_EQ(copy_->store->GetCursor("accounts").value(), 700u);
  const std::string want =
      "CHF@2026-03-01=1.04 GBP@2026-01-01=1.2 USD@2026-01-01=0.95 "
      "USD@2026-04-01=0.93";
  EXPECT_EQ(Rates(copy_->ledger->rates.Snapshot()), want);
  RateMirror reloaded(copy_->store.get(), Cf::kMirror, "EUR");
  ASSERT_TRUE(reloaded.Load().ok());
  EXPECT_EQ(Rates(reloaded.Snapshot()), want);
  // A fresh credit fed the listing's entries as events holds the same.
  Credit fresh(dir_.path() + "/fresh", &clock_, peer_.get());
  ApplyAccounts(fresh, after.rates);
  EXPECT_EQ(Rates(fresh.ledger->rates.Snapshot()), want);
}

// An accounts from before issue 19 (no ListExchangeRates: UNIMPLEMENTED) has
// no rates: the resync succeeds and empties the copy, the other listings set
// the cursor. A malformed rate on the feed stops the consumer (DATA_LOSS).
TEST_F(CreditFollowerTest, AnAccountsWithoutRatesStillResyncs) {
  const absl::CivilDay jan(2026, 1, 1);
  ApplyAccounts(*copy_, {Rate("USD", jan, "0.92", 1)});
  ASSERT_EQ(Rates(copy_->ledger->rates.Snapshot()), "USD@2026-01-01=0.92");
  Listing old;
  old.nodes = {Node("g", "", 1)};
  old.rates_unimplemented = true;
  old.sequence = 800;
  fake_.Set(old);
  ASSERT_TRUE(copy_->accounts->Resync().ok());
  EXPECT_EQ(copy_->store->GetCursor("accounts").value(), 800u);
  EXPECT_EQ(Rates(copy_->ledger->rates.Snapshot()), "");
  v1::Event bad;
  bad.set_kind("accounts.ExchangeRate");
  bad.mutable_payload()->PackFrom(Rate("USD", jan, "zero", 9));
  absl::Status s = copy_->store
                       ->Write(SystemActor("test"),
                               [&](WriteTxn& txn) {
                                 return copy_->accounts->Apply(bad, txn);
                               })
                       .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
}

}  // namespace
}  // namespace salesops::credit
