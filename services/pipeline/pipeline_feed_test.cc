// gRPC-level tests of the pipeline service (pipeline_test_fixture.h): its
// feed, and a credit service over gRPC: the real credit client, and following
// credit's feed (close on full collection).

#include "services/pipeline/pipeline_test_fixture.h"

namespace salesops::pipeline::grpc_test {
namespace {

// ---------------------------------------------------------------------------
// Feed (ARCHITECTURE.md §4; kinds per pipeline.proto)

TEST_F(PipelineFeedTest, CreateIsAnOpportunityEventWithItsFullState) {
  const uint64_t start = FeedPosition();
  const v1::Opportunity o = MustCreate();
  EXPECT_GT(FeedPosition(), start);

  auto ctx = Ctx(kServiceToken);
  v1::WatchRequest req;
  req.set_after_sequence(start);
  req.add_kinds(kOpportunityKind);
  req.add_kinds(kChangeKind);
  req.add_kinds(kFollowUpKind);
  auto reader = feed_stub_->Watch(ctx.get(), req);
  std::map<std::string, v1::Event> by_kind;
  v1::Event ev;
  for (int i = 0; i < 3 && reader->Read(&ev); ++i) {
    EXPECT_GT(ev.sequence(), start);
    by_kind[ev.kind()] = ev;
  }
  ctx->TryCancel();
  reader->Finish();

  ASSERT_EQ(by_kind.count("pipeline.Opportunity"), 1u);
  const v1::Event& opp_event = by_kind["pipeline.Opportunity"];
  EXPECT_EQ(opp_event.entity_id(), o.id());
  EXPECT_EQ(opp_event.time_micros(), o.created_micros());
  v1::Opportunity payload;
  ASSERT_TRUE(opp_event.payload().UnpackTo(&payload));
  EXPECT_TRUE(MessageDifferencer::Equals(payload, o));

  ASSERT_EQ(by_kind.count("pipeline.OpportunityChange"), 1u);
  v1::OpportunityChange change;
  ASSERT_TRUE(
      by_kind["pipeline.OpportunityChange"].payload().UnpackTo(&change));
  EXPECT_EQ(change.kind(), v1::CHANGE_KIND_CREATED);
  EXPECT_EQ(change.opportunity_id(), o.id());

  ASSERT_EQ(by_kind.count("pipeline.FollowUp"), 1u);
  v1::FollowUp fup;
  ASSERT_TRUE(by_kind["pipeline.FollowUp"].payload().UnpackTo(&fup));
  EXPECT_EQ(fup.step_key(), "first_call");

  // The feed is for SERVICE and ADMIN callers only.
  auto rep_ctx = Ctx(kRep1Token);
  v1::GetFeedPositionResponse pos;
  EXPECT_TRUE(IsError(feed_stub_->GetFeedPosition(rep_ctx.get(), {}, &pos),
                      grpc::StatusCode::PERMISSION_DENIED));
}

TEST_F(PipelineFeedTest, RejectedWritesEmitNothing) {
  const v1::Opportunity o = MustCreate();
  const uint64_t before = FeedPosition();
  v1::Opportunity out;
  EXPECT_FALSE(Move(o.id(), "CONSIDERATION", 0, &out).ok());
  EXPECT_FALSE(Update(o, o.version() + 5, &out).ok());
  fake_credit_.Script(CreditDecision::kBlock, {"hold"});
  EXPECT_FALSE(Move(o.id(), "COMMITMENT", 0, &out, kAdminToken, "force").ok());
  EXPECT_FALSE(Close(o.id(), v1::OPPORTUNITY_STATUS_LOST, "", 0, &out).ok());
  EXPECT_EQ(FeedPosition(), before);
}

// ---------------------------------------------------------------------------
// The credit service over gRPC (SPEC §3.3, §6): the real credit client and
// the credit feed against an in-process fake of salesops.v1.CreditService,
// served with a FeedService over a credit store of its own.

constexpr char kPipelineToken[] = "pipeline-service-token";

// CheckCredit answers what the test scripted and remembers the last request
// and its authorization header; ListOpportunityCollections serves the
// scripted collections `page_size` at a time, the first page at
// `feed_sequence` and each later one a step further (as pages read later).
class FakeCreditService final : public v1::CreditService::Service {
 public:
  void Script(v1::CreditDecision decision, std::vector<std::string> reasons) {
    std::lock_guard<std::mutex> lock(mu_);
    decision_ = decision;
    reasons_ = std::move(reasons);
    error_ = grpc::Status::OK;
  }
  void ScriptError(grpc::Status error) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::move(error);
  }
  void SetCollections(std::vector<v1::OpportunityCollection> collections,
                      uint64_t feed_sequence, int page_size) {
    std::lock_guard<std::mutex> lock(mu_);
    collections_ = std::move(collections);
    feed_sequence_ = feed_sequence;
    page_size_ = page_size;
  }
  v1::CheckCreditRequest last() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }
  std::string last_authorization() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_authorization_;
  }
  int checks() const {
    std::lock_guard<std::mutex> lock(mu_);
    return checks_;
  }
  int list_calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return list_calls_;
  }

  grpc::Status CheckCredit(grpc::ServerContext* ctx,
                           const v1::CheckCreditRequest* req,
                           v1::CreditCheck* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++checks_;
    last_ = *req;
    last_authorization_ = Authorization(*ctx);
    if (!error_.ok()) {
      return error_;
    }
    resp->set_id(absl::StrCat("chk_", checks_));
    resp->set_account_id(req->account_id());
    resp->set_opportunity_id(req->opportunity_id());
    *resp->mutable_amount() = req->amount();
    resp->set_decision(decision_);
    for (const std::string& r : reasons_) {
      resp->add_reasons(r);
    }
    resp->set_version(1);
    return grpc::Status::OK;
  }

  grpc::Status ListOpportunityCollections(
      grpc::ServerContext* ctx,
      const v1::ListOpportunityCollectionsRequest* req,
      v1::ListOpportunityCollectionsResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++list_calls_;
    if (Authorization(*ctx) != absl::StrCat("Bearer ", kPipelineToken)) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no token");
    }
    size_t start = 0;
    if (!req->page_token().empty()) {
      start = std::stoul(req->page_token());
    }
    const size_t end =
        std::min(collections_.size(), start + static_cast<size_t>(page_size_));
    for (size_t i = start; i < end; ++i) {
      *resp->add_collections() = collections_[i];
    }
    if (end < collections_.size()) {
      resp->set_next_page_token(std::to_string(end));
    }
    resp->set_feed_sequence(feed_sequence_ + start);
    return grpc::Status::OK;
  }

 private:
  static std::string Authorization(const grpc::ServerContext& ctx) {
    auto it = ctx.client_metadata().find("authorization");
    if (it == ctx.client_metadata().end()) {
      return "";
    }
    return std::string(it->second.data(), it->second.size());
  }

  mutable std::mutex mu_;
  v1::CreditDecision decision_ = v1::CREDIT_DECISION_APPROVE;
  std::vector<std::string> reasons_;
  grpc::Status error_;
  v1::CheckCreditRequest last_;
  std::string last_authorization_;
  int checks_ = 0;
  int list_calls_ = 0;
  std::vector<v1::OpportunityCollection> collections_;
  uint64_t feed_sequence_ = 0;
  int page_size_ = 1000;
};

// The credit service as pipeline reaches it: FakeCreditService plus the
// FeedService of a credit store (events committed at `clock`'s time) on
// 127.0.0.1, port 0.
class CreditPeer {
 public:
  CreditPeer(const std::string& dir, Clock* clock) {
    store_ = testing::OpenTestStore(dir, {"collections"}, clock);
    if (store_ == nullptr) {
      return;
    }
    auth_ =
        testing::AuthFor({{kPipelineToken, {"pipeline", Role::kService, ""}}});
    FeedServiceOptions feed_options;
    feed_options.idle_poll = absl::Milliseconds(50);
    feed_ = std::make_unique<FeedServiceImpl>(store_.get(), auth_.get(),
                                              feed_options);
    grpc::ServerBuilder builder;
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&service_);
    builder.RegisterService(feed_.get());
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      ADD_FAILURE() << "cannot start the fake credit service";
      server_.reset();
    }
  }
  ~CreditPeer() { Stop(); }

  // Stops serving (idempotent); the port then refuses connections.
  void Stop() {
    if (feed_ != nullptr) {
      feed_->Stop();
    }
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
      server_->Wait();
      server_.reset();
    }
  }

  bool ok() const { return server_ != nullptr; }
  std::string target() const { return absl::StrCat("127.0.0.1:", port_); }
  // How pipeline's main builds the channel: the address and its SERVICE token.
  std::unique_ptr<PeerChannel> Peer(
      absl::Duration timeout = absl::Seconds(5)) const {
    PeerConfig c;
    c.target = target();
    c.bearer_token = kPipelineToken;
    c.call_timeout = timeout;
    return PeerChannel::Create(c).value();
  }
  // Commits one event of `kind` for `c` on credit's feed; its sequence.
  uint64_t Emit(const v1::OpportunityCollection& c,
                const std::string& kind = kOpportunityCollectionKind) {
    absl::StatusOr<CommitResult> r =
        store_->Write(SystemActor("test"), [&](WriteTxn& txn) -> absl::Status {
          txn.Emit(kind, c.opportunity_id(), c);
          return absl::OkStatus();
        });
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->last_sequence : 0;
  }
  FakeCreditService& service() { return service_; }

 private:
  std::unique_ptr<Store> store_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<FeedServiceImpl> feed_;
  FakeCreditService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

v1::OpportunityCollection Collection(const std::string& opportunity_id,
                                     bool fully_collected,
                                     const std::string& account = kAcc1,
                                     int64_t version = 1) {
  v1::OpportunityCollection c;
  c.set_opportunity_id(opportunity_id);
  c.set_account_id(account);
  *c.mutable_invoiced() = Eur(5'000'000);
  *c.mutable_collected() = Eur(fully_collected ? 5'000'000 : 2'000'000);
  *c.mutable_written_off() = Eur(0);
  c.set_fully_collected(fully_collected);
  if (fully_collected) {
    *c.mutable_collected_date() = Day(2026, 1, 2);
  }
  c.set_version(version);
  return c;
}

v1::Event CollectionEvent(const v1::OpportunityCollection& c,
                          int64_t time_micros, uint64_t sequence = 1) {
  v1::Event e;
  e.set_sequence(sequence);
  e.set_kind(kOpportunityCollectionKind);
  e.set_entity_id(c.opportunity_id());
  e.set_time_micros(time_micros);
  e.mutable_payload()->PackFrom(c);
  e.set_head_sequence(sequence);
  return e;
}

// The fixture plus the credit peer, and a real credit client over it.
class PipelineCreditPeerTest : public PipelineServiceTest {
 protected:
  void SetUp() override {
    PipelineServiceTest::SetUp();
    credit_clock_.Set(clock_.Now() + absl::Hours(6));
    peer_ = std::make_unique<CreditPeer>(credit_dir_.path(), &credit_clock_);
    ASSERT_TRUE(peer_->ok());
    channel_ = peer_->Peer();
    grpc_credit_ = NewGrpcCreditClient(channel_.get());
  }
  void TearDown() override {
    PipelineServiceTest::TearDown();  // the service before its credit client
    grpc_credit_.reset();
    channel_.reset();
    peer_.reset();
  }

  // An opportunity of buying-cycle-6 created directly in `stage`.
  v1::Opportunity CreateIn(const std::string& stage) {
    v1::Opportunity draft = Draft();
    draft.set_stage_key(stage);
    return MustCreate(draft);
  }
  // ApplyCreditEvent in a transaction of its own, as the consumer runs it.
  absl::Status ApplyCredit(const v1::Event& e) {
    return store_
        ->Write(
            SystemActor("test"),
            [&](WriteTxn& txn) { return service_->ApplyCreditEvent(e, txn); })
        .status();
  }

  salesops::testing::TempDir credit_dir_;
  FakeClock credit_clock_;
  std::unique_ptr<CreditPeer> peer_;
  std::unique_ptr<PeerChannel> channel_;
  std::unique_ptr<CreditClient> grpc_credit_;
};

using PipelineCreditClientTest = PipelineCreditPeerTest;
using PipelineCreditFeedTest = PipelineCreditPeerTest;

TEST_F(PipelineCreditClientTest, MapsDecisionsAndReasonsWithTheServiceToken) {
  struct Case {
    v1::CreditDecision wire;
    CreditDecision want;
    std::vector<std::string> reasons;
  };
  const std::vector<Case> cases = {
      {v1::CREDIT_DECISION_APPROVE, CreditDecision::kApprove, {}},
      {v1::CREDIT_DECISION_REVIEW, CreditDecision::kReview, {"no profile"}},
      {v1::CREDIT_DECISION_BLOCK,
       CreditDecision::kBlock,
       {"would exceed the credit limit", "account on credit hold"}}};
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(v1::CreditDecision_Name(c.wire));
    peer_->service().Script(c.wire, c.reasons);
    const std::string opp = absl::StrCat("opp_", ++n);
    absl::StatusOr<CreditAnswer> answer =
        grpc_credit_->CheckCredit(kAcc2, Eur(1'234'500), opp);
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->decision, c.want);
    EXPECT_EQ(answer->reasons, c.reasons);
    const v1::CheckCreditRequest sent = peer_->service().last();
    EXPECT_EQ(sent.account_id(), kAcc2);
    EXPECT_EQ(sent.amount().units_minor(), 1'234'500);
    EXPECT_EQ(sent.amount().currency(), "EUR");
    EXPECT_EQ(sent.opportunity_id(), opp);
    EXPECT_EQ(peer_->service().last_authorization(),
              absl::StrCat("Bearer ", kPipelineToken));
  }
  EXPECT_EQ(peer_->service().checks(), 3);
}

TEST_F(PipelineCreditClientTest, ErrorsAreMappedLikeTheAccountsClient) {
  // The caller's mistake passes through.
  peer_->service().ScriptError(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                            "amount: must be positive"));
  absl::StatusOr<CreditAnswer> answer =
      grpc_credit_->CheckCredit(kAcc1, Eur(0), "opp_1");
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(answer.status().message(), HasSubstr("must be positive"));
  // Anything else that means "no answer" names the credit service.
  peer_->service().ScriptError(
      grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "unknown token"));
  answer = grpc_credit_->CheckCredit(kAcc1, Eur(100), "opp_1");
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(answer.status().message(),
              HasSubstr("credit service unavailable: unknown token"));
  // An answer without a decision can neither pass nor refuse a move.
  peer_->service().Script(v1::CREDIT_DECISION_UNSPECIFIED, {});
  answer = grpc_credit_->CheckCredit(kAcc1, Eur(100), "opp_1");
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(answer.status().message(), HasSubstr("credit service"));
}

TEST_F(PipelineCreditClientTest, StoppedServerIsUnavailableNamingCredit) {
  std::unique_ptr<PeerChannel> quick = peer_->Peer(absl::Seconds(2));
  std::unique_ptr<CreditClient> client = NewGrpcCreditClient(quick.get());
  peer_->Stop();
  const absl::Time start = absl::Now();
  absl::StatusOr<CreditAnswer> answer =
      client->CheckCredit(kAcc1, Eur(100), "opp_1");
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable)
      << answer.status();
  EXPECT_THAT(answer.status().message(),
              HasSubstr("credit service unavailable: "));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  std::vector<v1::OpportunityCollection> listed;
  uint64_t sequence = 0;
  absl::Status list = client->ListAllOpportunityCollections(&listed, &sequence);
  EXPECT_EQ(list.code(), absl::StatusCode::kUnavailable) << list;
  EXPECT_THAT(list.message(), HasSubstr("credit service unavailable: "));
}

TEST_F(PipelineCreditClientTest, ListsEveryCollectionPageByPage) {
  std::vector<v1::OpportunityCollection> all;
  for (int i = 1; i <= 5; ++i) {
    all.push_back(Collection(absl::StrCat("opp_", i), i % 2 == 0));
  }
  peer_->service().SetCollections(all, /*feed_sequence=*/40, /*page_size=*/2);
  std::vector<v1::OpportunityCollection> listed;
  uint64_t sequence = 0;
  ASSERT_TRUE(
      grpc_credit_->ListAllOpportunityCollections(&listed, &sequence).ok());
  EXPECT_EQ(peer_->service().list_calls(), 3);
  ASSERT_EQ(listed.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(listed[i], all[i])) << i;
  }
  // The sequence at which the listing began: watching after it misses nothing.
  EXPECT_EQ(sequence, 40u);
}

TEST_F(PipelineCreditClientTest, BlockOverTheWireRefusesTheMoveIntoCommitment) {
  UseCredit(grpc_credit_.get());
  const v1::Opportunity o = CreateIn("COMPARISON");
  const v1::Opportunity ready =
      MustCheck(o.id(), "COMPARISON", "proposals_submitted");
  const uint64_t before = FeedPosition();
  peer_->service().Script(v1::CREDIT_DECISION_BLOCK,
                          {"would exceed the credit limit by 20,000.00 EUR",
                           "debtor class NON_PAYER"});
  v1::Opportunity out;
  grpc::Status s = Move(o.id(), "COMMITMENT", ready.version(), &out);
  ASSERT_TRUE(IsError(s, grpc::StatusCode::FAILED_PRECONDITION,
                      "would exceed the credit limit by 20,000.00 EUR"));
  EXPECT_THAT(s.error_message(), HasSubstr("debtor class NON_PAYER"));
  EXPECT_EQ(peer_->service().last().opportunity_id(), o.id());
  EXPECT_EQ(peer_->service().last().amount().units_minor(), 5'000'000);
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), ready));
  EXPECT_EQ(FeedPosition(), before);

  // The same move passes once credit approves.
  peer_->service().Script(v1::CREDIT_DECISION_APPROVE, {});
  ASSERT_TRUE(IsOk(Move(o.id(), "COMMITMENT", ready.version(), &out)));
  EXPECT_EQ(out.stage_key(), "COMMITMENT");
  EXPECT_FALSE(out.credit_review_pending());
  EXPECT_EQ(peer_->service().checks(), 2);
}

// ---------------------------------------------------------------------------
// Following credit's feed: full collection closes a closes_on_collection
// opportunity WON (SPEC §3.1, §6)

TEST_F(PipelineCreditFeedTest, FullCollectionClosesAUsageOpportunityWonOnce) {
  const v1::Opportunity o = CreateIn("USAGE");
  ASSERT_EQ(o.status(), v1::OPPORTUNITY_STATUS_OPEN);
  ASSERT_FALSE(FollowUps(o.id()).empty());
  clock_.Advance(absl::Hours(3));
  const int64_t paid_at = NowMicros() - kHour;  // credit's commit time
  const uint64_t before = FeedPosition();
  const v1::Event event = CollectionEvent(Collection(o.id(), true), paid_at);
  ASSERT_TRUE(ApplyCredit(event).ok());

  const v1::Opportunity won = MustGet(o.id());
  EXPECT_EQ(won.status(), v1::OPPORTUNITY_STATUS_WON);
  EXPECT_EQ(won.stage_key(), "USAGE");
  EXPECT_EQ(won.close_reason(), "collected in full");
  EXPECT_EQ(won.closed_micros(), paid_at);
  EXPECT_EQ(won.updated_micros(), NowMicros());
  EXPECT_EQ(won.version(), o.version() + 1);
  EXPECT_EQ(won.history_length(), o.history_length() + 1);
  const std::vector<v1::OpportunityChange> h = History(o.id());
  ASSERT_EQ(h.size(), static_cast<size_t>(o.history_length() + 1));
  EXPECT_EQ(CountKind(h, v1::CHANGE_KIND_CLOSED), 1);
  EXPECT_EQ(h.back().kind(), v1::CHANGE_KIND_CLOSED);
  EXPECT_EQ(h.back().from(), "OPEN");
  EXPECT_EQ(h.back().to(), "WON");
  EXPECT_EQ(h.back().by(), "credit");
  EXPECT_EQ(h.back().reason(), "collected in full");
  EXPECT_EQ(h.back().opportunity_version(), won.version());
  for (const v1::FollowUp& f : FollowUps(o.id())) {
    EXPECT_EQ(f.state(), v1::FOLLOW_UP_STATE_CANCELLED) << f.id();
  }
  // Its events (opportunity, history entry, cancelled follow-ups) and the
  // status filter see it.
  EXPECT_GT(FeedPosition(), before + 1);
  v1::ListOpportunitiesRequest req;
  req.set_status(v1::OPPORTUNITY_STATUS_WON);
  EXPECT_EQ(ListIds(req), std::set<std::string>{o.id()});

  // At-least-once: the same event, and a later state that is still fully
  // collected, change nothing.
  const uint64_t after = FeedPosition();
  clock_.Advance(absl::Hours(1));
  ASSERT_TRUE(ApplyCredit(event).ok());
  ASSERT_TRUE(ApplyCredit(CollectionEvent(
                              Collection(o.id(), true, kAcc1, /*version=*/2),
                              paid_at + kHour, 2))
                  .ok());
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), won));
  EXPECT_EQ(History(o.id()).size(), h.size());
  EXPECT_EQ(FeedPosition(), after);
}

TEST_F(PipelineCreditFeedTest, NotFullyCollectedChangesNothing) {
  const v1::Opportunity o = CreateIn("USAGE");
  const uint64_t before = FeedPosition();
  ASSERT_TRUE(
      ApplyCredit(CollectionEvent(Collection(o.id(), false), NowMicros()))
          .ok());
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), o));
  EXPECT_EQ(FeedPosition(), before);
}

TEST_F(PipelineCreditFeedTest, OtherStagesAndClosedOpportunitiesStayAsTheyAre) {
  // COMMITMENT has no closes_on_collection (paid before the contract stage).
  const v1::Opportunity commitment = CreateIn("COMMITMENT");
  // Closed by hand before the cash came in.
  const v1::Opportunity usage = CreateIn("USAGE");
  v1::Opportunity lost;
  ASSERT_TRUE(IsOk(Close(usage.id(), v1::OPPORTUNITY_STATUS_LOST,
                         "competitor won", usage.version(), &lost)));
  const uint64_t before = FeedPosition();
  for (const v1::Opportunity* o :
       std::vector<const v1::Opportunity*>{&commitment, &lost}) {
    ASSERT_TRUE(
        ApplyCredit(CollectionEvent(Collection(o->id(), true), NowMicros()))
            .ok());
    EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o->id()), *o)) << o->id();
  }
  EXPECT_EQ(FeedPosition(), before);
}

TEST_F(PipelineCreditFeedTest, UnknownOpportunityIsOkAndWritesNothing) {
  const uint64_t before = FeedPosition();
  EXPECT_TRUE(ApplyCredit(CollectionEvent(Collection("opp_not_here", true),
                                          NowMicros()))
                  .ok());
  EXPECT_EQ(FeedPosition(), before);
  v1::ListOpportunitiesRequest all;
  EXPECT_TRUE(ListIds(all).empty());
}

TEST_F(PipelineCreditFeedTest, OtherKindsAnotherAccountAndBadPayloads) {
  const v1::Opportunity o = CreateIn("USAGE");
  const uint64_t before = FeedPosition();
  // Another kind of credit's feed is not ours to apply.
  v1::Event receivable = CollectionEvent(Collection(o.id(), true), NowMicros());
  receivable.set_kind("credit.Receivable");
  EXPECT_TRUE(ApplyCredit(receivable).ok());
  // A collection naming another account does not close this deal.
  EXPECT_TRUE(
      ApplyCredit(CollectionEvent(Collection(o.id(), true, kAcc2), NowMicros()))
          .ok());
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), o));
  EXPECT_EQ(FeedPosition(), before);
  // A payload that is no OpportunityCollection stops the batch.
  v1::Event bad = CollectionEvent(Collection(o.id(), true), NowMicros(), 9);
  bad.mutable_payload()->PackFrom(o);
  const absl::Status s = ApplyCredit(bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("credit feed event 9"));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), o));
}

TEST_F(PipelineCreditFeedTest, ResyncClosesWhatIsCollectedAndStoresTheCursor) {
  UseCredit(grpc_credit_.get());
  const v1::Opportunity paid = CreateIn("USAGE");
  const v1::Opportunity owing = CreateIn("USAGE");
  const v1::Opportunity early = CreateIn("COMMITMENT");
  peer_->service().SetCollections(
      {Collection(paid.id(), true), Collection(owing.id(), false),
       Collection(early.id(), true), Collection("opp_elsewhere", true)},
      /*feed_sequence=*/42, /*page_size=*/3);
  clock_.Advance(absl::Minutes(5));
  ASSERT_TRUE(service_->ResyncCredit().ok());
  EXPECT_EQ(peer_->service().list_calls(), 2);
  const v1::Opportunity won = MustGet(paid.id());
  EXPECT_EQ(won.status(), v1::OPPORTUNITY_STATUS_WON);
  // No event time: the sale lands on the collection date (the day the cash
  // came in), not on the day of the resync.
  EXPECT_EQ(won.closed_micros(),
            absl::ToUnixMicros(absl::FromCivil(absl::CivilDay(2026, 1, 2),
                                               absl::UTCTimeZone())));
  EXPECT_EQ(won.version(), paid.version() + 1);
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(owing.id()), owing));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(early.id()), early));
  absl::StatusOr<uint64_t> cursor = store_->GetCursor(kCreditSource);
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(*cursor, 42u);

  // Again (the consumer may resync twice): nothing changes.
  ASSERT_TRUE(service_->ResyncCredit().ok());
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(paid.id()), won));
  EXPECT_EQ(*store_->GetCursor(kCreditSource), 42u);

  // Credit down: the resync fails and leaves the cursor alone.
  peer_->Stop();
  EXPECT_EQ(service_->ResyncCredit().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(*store_->GetCursor(kCreditSource), 42u);
}

TEST_F(PipelineCreditFeedTest, TheFeedConsumerClosesOnCollectionOverTheWire) {
  const v1::Opportunity o = CreateIn("USAGE");
  const v1::Opportunity other = CreateIn("USAGE");
  // What main.cc builds: source "credit", one kind, the service's apply and
  // resync, over the channel with the SERVICE token.
  FeedConsumerOptions follow;
  follow.source = kCreditSource;
  follow.kinds = {kOpportunityCollectionKind};
  follow.initial_backoff = absl::Milliseconds(20);
  FeedConsumer consumer(
      store_.get(), channel_.get(), follow,
      [this](const v1::Event& e, WriteTxn& txn) {
        return service_->ApplyCreditEvent(e, txn);
      },
      [this] { return service_->ResyncCredit(); });
  peer_->Emit(Collection(other.id(), true), "credit.Receivable");
  peer_->Emit(Collection(o.id(), false));
  const int64_t paid_at = absl::ToUnixMicros(credit_clock_.Now());
  const uint64_t last = peer_->Emit(Collection(o.id(), true, kAcc1, 2));
  consumer.Start();
  ASSERT_TRUE(consumer.WaitForApplied(last, absl::Seconds(20)));
  const v1::Opportunity won = MustGet(o.id());
  EXPECT_EQ(won.status(), v1::OPPORTUNITY_STATUS_WON);
  EXPECT_EQ(won.closed_micros(), paid_at);
  EXPECT_EQ(History(o.id()).back().by(), "credit");
  // Only its own kind: the receivable event closed nothing.
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(other.id()), other));
  EXPECT_EQ(*store_->GetCursor(kCreditSource), last);

  // A repeated state later on the feed changes nothing.
  credit_clock_.Advance(absl::Hours(1));
  const uint64_t again = peer_->Emit(Collection(o.id(), true, kAcc1, 3));
  ASSERT_TRUE(consumer.WaitForApplied(again, absl::Seconds(20)));
  EXPECT_TRUE(MessageDifferencer::Equals(MustGet(o.id()), won));
  consumer.Stop();
}

}  // namespace
}  // namespace salesops::pipeline::grpc_test
