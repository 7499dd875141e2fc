// End-to-end role matrix (SPEC.md §8 "Security", docs/API.md §2 "Authentication
// and roles", DECISIONS D6, D15, D16, D20): every RPC of every service, called
// by every role, against the four real binaries on loopback with
// --auth=tokens.
//
//   org:    Global → East (REGION) → reps e1, e1b
//           Global → West (REGION) → reps w1, w1b
//   tokens: ADMIN, FINANCE, SERVICE (the peers' token), MANAGER of East,
//           REP e1 and REP w1 (e1b and w1b have no token: they only receive
//           reassigned opportunities).
//
// e1 and w1 each own an account with a contact, four opportunities (one to
// read and edit, one to move, one to close and reopen, one to reassign), a
// credit profile, a receivable of their first opportunity (so it has a
// collection), a spare receivable and a collection task.
//
// The table has one row per RPC, and a row per variant where a request field
// changes who may call (CheckCredit naming an opportunity, a forced MoveStage,
// an evaluation stored on an opportunity, ...). Each service's rows are checked
// against its generated descriptor first: a method without a row, or a row
// naming no method, fails the test. Then, for every row:
//   - no token and a forged token get UNAUTHENTICATED;
//   - each role with a request in its own scope gets PERMISSION_DENIED unless
//     the row allows the role; an allowed role gets anything but
//     PERMISSION_DENIED, UNAUTHENTICATED and INVALID_ARGUMENT (the requests are
//     valid, so the call passed validation and the role and scope checks; a
//     FAILED_PRECONDITION or NOT_FOUND left by an earlier row's write is fine);
//   - REP and MANAGER with the same request built from data outside their
//     scope (the other rep's; West's for the MANAGER of East) get
//     PERMISSION_DENIED — services refuse an existing entity out of scope,
//     they do not pretend it is missing (docs/API.md §2) — or, for the lists
//     that are filtered rather than refused, OK with nothing of the foreign
//     data in the answer, while an ADMIN asking the same does see it.
//
// Allowed calls write (rows are ordered so that later ones still find what
// they need: a contact role is set before it is removed, an opportunity is
// closed before it is reopened); no write changes who owns what, so the scopes
// stay as set up.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/builders.h"
#include "common/testing/temp_dir.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/audit.grpc.pb.h"
#include "salesops/v1/caller.grpc.pb.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/feed.grpc.pb.h"
#include "salesops/v1/forecast.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "tests/e2e.h"

namespace salesops {
namespace {

using e2e::Ctx;
using e2e::Describe;
using e2e::Eventually;
using e2e::Service;
using e2e::TokenLine;
using e2e::WriteFile;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;
using grpc::StatusCode;
using GenericStub = grpc::TemplatedGenericStub<Message, Message>;

constexpr char kAdmin[] = "matrix-admin-token";
constexpr char kFinance[] = "matrix-finance-token";
constexpr char kPeer[] = "matrix-peer-token";
constexpr char kManager[] = "matrix-manager-east-token";
constexpr char kRep[] = "matrix-rep-e1-token";
constexpr char kOtherRep[] = "matrix-rep-w1-token";

constexpr int64_t kOppAmount = 1'000'000;  // 10,000.00 EUR
constexpr int64_t kRcvAmount = 500'000;    // 5,000.00 EUR

// Roles as bits: a row's allowed roles are their union.
enum : int { kA = 1, kM = 2, kR = 4, kF = 8, kS = 16 };
constexpr int kAll = kA | kM | kR | kF | kS;

enum class Server { kAccounts, kPipeline, kForecast, kCredit };
constexpr Server kServers[] = {Server::kAccounts, Server::kPipeline,
                               Server::kForecast, Server::kCredit};

const char* ServerName(Server s) {
  switch (s) {
    case Server::kAccounts:
      return "accounts";
    case Server::kPipeline:
      return "pipeline";
    case Server::kForecast:
      return "forecast";
    case Server::kCredit:
      return "credit";
  }
  return "?";
}

// What a REP or MANAGER gets for a request built from data outside their
// scope.
enum class Scope {
  kNone,      // the method is not scoped by data
  kRefused,   // PERMISSION_DENIED
  kFiltered,  // OK, and nothing of the foreign data in the answer
};

// The ids of one side of the org; every request is built from a side.
struct Side {
  std::string label;
  v1::OrgNode node;  // what node-scoped calls address
  std::string region;
  std::string rep;
  std::string spare_rep;  // another rep of `region`
  v1::Account account;
  v1::Contact contact;
  std::string opp, opp_move, opp_close, opp_reassign;
  std::string receivable, spare_receivable, task;
};

struct Row {
  Server server = Server::kAccounts;
  std::string method;
  std::string variant;  // tells rows of one method apart
  int allowed = 0;
  Scope scope = Scope::kNone;
  std::function<std::unique_ptr<Message>(const Side&)> build;
};

// A row for `method` whose request is a Req filled by fill(side, &req).
template <typename Req, typename Fill>
Row Rpc(const char* method, int allowed, Scope scope, Fill fill) {
  Row r;
  r.method = method;
  r.allowed = allowed;
  r.scope = scope;
  r.build = [fill](const Side& side) -> std::unique_ptr<Message> {
    auto req = std::make_unique<Req>();
    fill(side, req.get());
    return req;
  };
  return r;
}

Row Variant(const char* variant, Row r) {
  r.variant = variant;
  return r;
}

struct Caller {
  std::string name;
  std::string header;  // the authorization metadata; "" sends none
  int role = 0;
  const Side* own = nullptr;
  const Side* foreign = nullptr;  // REP and MANAGER only
};

using ::salesops::testing::Eur;

v1::Date ToDate(absl::CivilDay d) {
  v1::Date out;
  out.set_year(static_cast<int32_t>(d.year()));
  out.set_month(d.month());
  out.set_day(d.day());
  return out;
}

int QuarterOf(absl::CivilDay d) { return (d.month() - 1) / 3 + 1; }

absl::CivilDay FirstDayOfQuarter(absl::CivilDay d) {
  return absl::CivilDay(absl::CivilMonth(d.year(), (QuarterOf(d) - 1) * 3 + 1));
}

absl::CivilDay LastDayOfQuarter(absl::CivilDay d) {
  return absl::CivilDay(absl::CivilMonth(d.year(), QuarterOf(d) * 3 + 1)) - 1;
}

const char* CodeName(StatusCode code) {
  static constexpr std::array<const char*, 17> kNames = {"OK",
                                                         "CANCELLED",
                                                         "UNKNOWN",
                                                         "INVALID_ARGUMENT",
                                                         "DEADLINE_EXCEEDED",
                                                         "NOT_FOUND",
                                                         "ALREADY_EXISTS",
                                                         "PERMISSION_DENIED",
                                                         "RESOURCE_EXHAUSTED",
                                                         "FAILED_PRECONDITION",
                                                         "ABORTED",
                                                         "OUT_OF_RANGE",
                                                         "UNIMPLEMENTED",
                                                         "INTERNAL",
                                                         "UNAVAILABLE",
                                                         "DATA_LOSS",
                                                         "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < static_cast<int>(kNames.size()) ? kNames[i] : "?";
}

std::string Got(const grpc::Status& s) {
  return absl::StrCat(CodeName(s.error_code()), " (", s.error_message(), ")");
}

// Completion of a callback call, waited for by the test thread. The wait is
// bounded by the call's own deadline: gRPC always completes a call.
class Completion {
 public:
  void Set(grpc::Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = std::move(s);
    done_ = true;
    cv_.notify_one();
  }
  grpc::Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
    return status_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  grpc::Status status_;
};

// A server-streaming call made as a generic (bidi) call: one request, then
// the first message. OK when a message arrived (the stream is then
// cancelled), else the stream's final status.
class FirstMessage final : public grpc::ClientBidiReactor<Message, Message> {
 public:
  FirstMessage(grpc::ClientContext* ctx, const Message* req, Message* resp)
      : ctx_(ctx), req_(req), resp_(resp) {}

  grpc::Status Run(GenericStub* stub, const std::string& path) {
    stub->PrepareBidiStreamingCall(ctx_, path, grpc::StubOptions(), this);
    StartWriteLast(req_, grpc::WriteOptions());
    StartRead(resp_);
    StartCall();
    const grpc::Status s = done_.Wait();
    return got_message_ ? grpc::Status::OK : s;
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      got_message_ = true;
      ctx_->TryCancel();
    }
  }
  void OnDone(const grpc::Status& s) override { done_.Set(s); }

 private:
  grpc::ClientContext* ctx_;
  const Message* req_;
  Message* resp_;
  std::atomic<bool> got_message_{false};
  Completion done_;
};

// Everything the suite starts and creates, shared by every test.
struct World {
  testing::TempDir dir;
  e2e::SuitePorts ports;
  std::map<Server, Service> services;
  std::vector<std::unique_ptr<testing::Process>> dead;
  std::map<Server, std::unique_ptr<GenericStub>> generic;
  std::unique_ptr<v1::AccountsService::Stub> accounts;
  std::unique_ptr<v1::PipelineService::Stub> pipeline;
  std::unique_ptr<v1::ForecastService::Stub> forecast;
  std::unique_ptr<v1::CreditService::Stub> credit;

  v1::OrgNode global, east, west, e1, e1b, w1, w1b;
  Side side_e1, side_w1, side_east, side_west;
  std::string model_copy;  // a stage model of our own, for UpdateStageModel
  absl::CivilDay today;
  int fiscal_year = 0, fiscal_quarter = 0;
  int previous_year = 0, previous_quarter = 0;

  // Who calls, in this order: FINANCE and SERVICE, then REP w1, then REP e1,
  // the MANAGER of East and ADMIN, who all work on e1's data: the most
  // restricted caller meets it before the others' writes change it.
  std::vector<Caller> callers;
  std::vector<Caller> bad_credentials;
  int counter = 0;  // unique names
};

World* w = nullptr;

#define ASSERT_RPC_OK(call)                                \
  do {                                                     \
    const grpc::Status _s = (call);                        \
    ASSERT_TRUE(_s.ok()) << #call << ": " << Describe(_s); \
  } while (0)

class RoleMatrixE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    w = new World;
    setup_ok_ = false;
    const absl::Time start = absl::Now();
    Build();
    std::cout << "[ RoleMatrixE2eTest ] setup took "
              << absl::FormatDuration(absl::Now() - start) << "\n";
  }

  static void TearDownTestSuite() {
    delete w;
    w = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(setup_ok_) << "suite setup failed; see the first test's log";
  }

  void TearDown() override {
    if (!HasFailure() || w == nullptr) {
      return;
    }
    for (const auto& [server, s] : w->services) {
      if (s.process != nullptr) {
        const std::string log = s.process->Log();
        std::cerr << "---- " << ServerName(server) << " log tail (pid "
                  << s.process->pid() << ")\n"
                  << log.substr(log.size() > 3000 ? log.size() - 3000 : 0)
                  << "\n";
      }
    }
  }

  // ---- starting the binaries ----

  static void Start(Server server) {
    const std::string name = ServerName(server);
    Service& s = w->services[server];
    if (s.process != nullptr) {
      w->dead.push_back(std::move(s.process));
    }
    s = e2e::Launch(e2e::SuiteArgs(name, w->ports, w->dir.path()), name);
    ASSERT_NE(s.process, nullptr) << name;
    ASSERT_EQ(s.port, w->ports.Of(name))
        << name << " did not come up on its port:\n"
        << s.process->Log();
    w->generic[server] = std::make_unique<GenericStub>(s.channel);
    switch (server) {
      case Server::kAccounts:
        w->accounts = v1::AccountsService::NewStub(s.channel);
        break;
      case Server::kPipeline:
        w->pipeline = v1::PipelineService::NewStub(s.channel);
        break;
      case Server::kForecast:
        w->forecast = v1::ForecastService::NewStub(s.channel);
        break;
      case Server::kCredit:
        w->credit = v1::CreditService::NewStub(s.channel);
        break;
    }
  }

  // ---- building the world ----

  static void Node(v1::OrgNodeKind kind, const std::string& name,
                   const v1::OrgNode* parent, v1::OrgNode* out) {
    v1::CreateOrgNodeRequest req;
    req.mutable_node()->set_kind(kind);
    req.mutable_node()->set_name(name);
    req.mutable_node()->set_parent_id(parent != nullptr ? parent->id() : "");
    ASSERT_RPC_OK(w->accounts->CreateOrgNode(Ctx(kAdmin).get(), req, out));
  }

  // A valid new opportunity of `side` in CONSIDERATION, so that moving it
  // back to INTEREST is a valid request that needs no exit criteria.
  static v1::Opportunity NewOpportunity(const Side& side,
                                        const std::string& name) {
    v1::Opportunity o;
    o.set_account_id(side.account.id());
    o.set_owner_node_id(side.rep);
    o.set_name(name);
    *o.mutable_amount() = Eur(kOppAmount);
    *o.mutable_expected_close_date() = ToDate(LastDayOfQuarter(w->today));
    o.set_stage_model_id("buying-cycle-6");
    o.set_stage_key("CONSIDERATION");
    return o;
  }

  // The data `rep` owns, as a side addressing `rep` itself.
  static void Own(const v1::OrgNode& rep, const v1::OrgNode& region,
                  const v1::OrgNode& spare, Side* side) {
    side->label = rep.name();
    side->node = rep;
    side->region = region.id();
    side->rep = rep.id();
    side->spare_rep = spare.id();
    {
      v1::CreateAccountRequest req;
      req.mutable_account()->set_name("Matrix account of " + rep.name());
      req.mutable_account()->set_owner_node_id(rep.id());
      ASSERT_RPC_OK(
          w->accounts->CreateAccount(Ctx(kAdmin).get(), req, &side->account));
    }
    {
      v1::CreateContactRequest req;
      req.mutable_contact()->set_account_id(side->account.id());
      req.mutable_contact()->set_name("Buyer of " + rep.name());
      ASSERT_RPC_OK(
          w->accounts->CreateContact(Ctx(kAdmin).get(), req, &side->contact));
    }
    for (std::string* id :
         {&side->opp, &side->opp_move, &side->opp_close, &side->opp_reassign}) {
      v1::CreateOpportunityRequest req;
      *req.mutable_opportunity() = NewOpportunity(
          *side, absl::StrCat(rep.name(), " deal ", ++w->counter));
      v1::Opportunity out;
      ASSERT_RPC_OK(
          w->pipeline->CreateOpportunity(Ctx(kAdmin).get(), req, &out));
      *id = out.id();
    }
    {
      v1::SetCreditProfileRequest req;
      v1::CreditProfile* p = req.mutable_profile();
      p->set_account_id(side->account.id());
      *p->mutable_credit_limit() = Eur(100 * kOppAmount);
      p->set_payment_terms_days(30);
      p->set_risk_class(v1::RISK_CLASS_MEDIUM);
      v1::CreditProfile out;
      ASSERT_RPC_OK(
          w->credit->SetCreditProfile(Ctx(kFinance).get(), req, &out));
    }
    for (std::string* id : {&side->receivable, &side->spare_receivable}) {
      v1::PostReceivableRequest req;
      req.mutable_receivable()->set_account_id(side->account.id());
      if (id == &side->receivable) {
        // Invoices the first opportunity: it then has a collection.
        req.mutable_receivable()->set_opportunity_id(side->opp);
      }
      *req.mutable_receivable()->mutable_amount() = Eur(kRcvAmount);
      *req.mutable_receivable()->mutable_issue_date() = ToDate(w->today);
      v1::Receivable out;
      ASSERT_RPC_OK(w->credit->PostReceivable(Ctx(kFinance).get(), req, &out));
      *id = out.id();
    }
    {
      v1::RecordCollectionContactRequest req;
      req.set_account_id(side->account.id());
      req.set_excuse_code(v1::EXCUSE_CODE_PASSED_TO_FINANCE);
      v1::CollectionContact out;
      ASSERT_RPC_OK(
          w->credit->RecordCollectionContact(Ctx(kFinance).get(), req, &out));
      side->task = out.follow_up_task_id();
      ASSERT_FALSE(side->task.empty()) << out.ShortDebugString();
    }
  }

  static void Build() {
    for (Server server : kServers) {
      const int port = e2e::FreeLoopbackPort();
      ASSERT_GT(port, 0);
      switch (server) {
        case Server::kAccounts:
          w->ports.accounts = port;
          break;
        case Server::kPipeline:
          w->ports.pipeline = port;
          break;
        case Server::kForecast:
          w->ports.forecast = port;
          break;
        case Server::kCredit:
          w->ports.credit = port;
          break;
      }
    }
    w->today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
    w->fiscal_year = static_cast<int>(w->today.year());
    w->fiscal_quarter = QuarterOf(w->today);
    w->previous_year =
        w->fiscal_quarter == 1 ? w->fiscal_year - 1 : w->fiscal_year;
    w->previous_quarter = w->fiscal_quarter == 1 ? 4 : w->fiscal_quarter - 1;

    // Org node ids are server-generated and tokens are read at start: accounts
    // first runs with the principals that need no node, then restarts with
    // the final tokens file.
    WriteFile(w->dir.Sub("peer.token"), std::string(kPeer) + "\n");
    const std::string base = TokenLine(kAdmin, "admin", "ADMIN") +
                             TokenLine(kFinance, "finance", "FINANCE") +
                             TokenLine(kPeer, "salesops-peer", "SERVICE");
    WriteFile(w->dir.Sub("tokens"), base);
    ASSERT_NO_FATAL_FAILURE(Start(Server::kAccounts));
    ASSERT_NO_FATAL_FAILURE(
        Node(v1::ORG_NODE_KIND_GLOBAL, "Global", nullptr, &w->global));
    ASSERT_NO_FATAL_FAILURE(
        Node(v1::ORG_NODE_KIND_REGION, "East", &w->global, &w->east));
    ASSERT_NO_FATAL_FAILURE(
        Node(v1::ORG_NODE_KIND_REGION, "West", &w->global, &w->west));
    ASSERT_NO_FATAL_FAILURE(
        Node(v1::ORG_NODE_KIND_REP, "Rep e1", &w->east, &w->e1));
    ASSERT_NO_FATAL_FAILURE(
        Node(v1::ORG_NODE_KIND_REP, "Rep e1b", &w->east, &w->e1b));
    ASSERT_NO_FATAL_FAILURE(
        Node(v1::ORG_NODE_KIND_REP, "Rep w1", &w->west, &w->w1));
    ASSERT_NO_FATAL_FAILURE(
        Node(v1::ORG_NODE_KIND_REP, "Rep w1b", &w->west, &w->w1b));
    WriteFile(w->dir.Sub("tokens"),
              base + TokenLine(kManager, "mgr-east", "MANAGER", w->east.id()) +
                  TokenLine(kRep, "rep-e1", "REP", w->e1.id()) +
                  TokenLine(kOtherRep, "rep-w1", "REP", w->w1.id()));
    // Killed rather than drained (a SIGTERM drain takes seconds): acknowledged
    // writes survive kill -9 (SPEC §8).
    w->services[Server::kAccounts].process->Signal(SIGKILL);
    ASSERT_TRUE(w->services[Server::kAccounts]
                    .process->WaitExit(absl::Seconds(10))
                    .has_value());
    for (Server server : kServers) {
      ASSERT_NO_FATAL_FAILURE(Start(server));
    }

    ASSERT_NO_FATAL_FAILURE(Own(w->e1, w->east, w->e1b, &w->side_e1));
    ASSERT_NO_FATAL_FAILURE(Own(w->w1, w->west, w->w1b, &w->side_w1));
    // The MANAGER of East addresses East in node-scoped calls and e1's data
    // otherwise; out of their scope are West and w1's data.
    w->side_east = w->side_e1;
    w->side_east.label = "East";
    w->side_east.node = w->east;
    w->side_west = w->side_w1;
    w->side_west.label = "West";
    w->side_west.node = w->west;
    {
      v1::CreateStageModelRequest req;
      req.mutable_model()->set_name("Matrix copy of buying-cycle-6");
      req.set_copy_from_id("buying-cycle-6");
      v1::StageModel out;
      ASSERT_RPC_OK(
          w->pipeline->CreateStageModel(Ctx(kAdmin).get(), req, &out));
      w->model_copy = out.id();
    }

    // Bounded waits: pipeline, credit and forecast decide scopes from the org
    // tree and accounts they follow from the accounts feed.
    struct Owner {
      const char* token;
      const Side* side;
    };
    for (const Owner& o :
         {Owner{kRep, &w->side_e1}, Owner{kOtherRep, &w->side_w1},
          Owner{kManager, &w->side_east}}) {
      grpc::Status last;
      ASSERT_TRUE(Eventually([&] {
        v1::GetOpportunityRequest req;
        req.set_id(o.side->opp);
        v1::Opportunity out;
        last = w->pipeline->GetOpportunity(Ctx(o.token).get(), req, &out);
        return last.ok();
      })) << "pipeline: "
          << o.side->label << ": " << Describe(last);
      ASSERT_TRUE(Eventually([&] {
        v1::GetReceivableRequest req;
        req.set_id(o.side->receivable);
        v1::Receivable out;
        last = w->credit->GetReceivable(Ctx(o.token).get(), req, &out);
        return last.ok();
      })) << "credit: "
          << o.side->label << ": " << Describe(last);
      ASSERT_TRUE(Eventually([&] {
        v1::GetForecastRequest req;
        req.set_node_id(o.side->node.id());
        req.set_fiscal_year(w->fiscal_year);
        req.set_fiscal_quarter(w->fiscal_quarter);
        v1::Forecast out;
        last = w->forecast->GetForecast(Ctx(o.token).get(), req, &out);
        return last.ok();
      })) << "forecast: "
          << o.side->label << ": " << Describe(last);
    }
    {
      // Forecast's own feed has an event, so that Watch answers at once.
      v1::RecordOutOfFunnelSaleRequest req;
      req.mutable_sale()->set_rep_node_id(w->e1.id());
      *req.mutable_sale()->mutable_amount() = Eur(10'000);
      *req.mutable_sale()->mutable_date() = ToDate(w->today);
      v1::OutOfFunnelSale out;
      ASSERT_RPC_OK(
          w->forecast->RecordOutOfFunnelSale(Ctx(kAdmin).get(), req, &out));
    }

    const auto bearer = [](const char* token) {
      return absl::StrCat("Bearer ", token);
    };
    w->callers = {
        {"FINANCE", bearer(kFinance), kF, &w->side_e1, nullptr},
        {"SERVICE", bearer(kPeer), kS, &w->side_e1, nullptr},
        {"REP w1", bearer(kOtherRep), kR, &w->side_w1, &w->side_e1},
        {"REP e1", bearer(kRep), kR, &w->side_e1, &w->side_w1},
        {"MANAGER East", bearer(kManager), kM, &w->side_east, &w->side_west},
        {"ADMIN", bearer(kAdmin), kA, &w->side_e1, nullptr},
    };
    w->bad_credentials = {
        {"no token", "", 0, &w->side_e1, nullptr},
        {"a forged token", "Bearer matrix-forged-token", 0, &w->side_e1,
         nullptr},
    };
    setup_ok_ = true;
  }

  // ---- what builders read ----

  static v1::Opportunity CurrentOpportunity(const std::string& id) {
    v1::GetOpportunityRequest req;
    req.set_id(id);
    v1::Opportunity out;
    const grpc::Status s =
        w->pipeline->GetOpportunity(Ctx(kAdmin).get(), req, &out);
    EXPECT_TRUE(s.ok()) << id << ": " << Describe(s);
    return out;
  }

  static std::string Unique(const std::string& what) {
    return absl::StrCat("Matrix ", what, " ", ++w->counter);
  }

  // ---- the tables ----

  static std::vector<Row> AccountsRows();
  static std::vector<Row> PipelineRows();
  static std::vector<Row> ForecastRows();
  static std::vector<Row> CreditRows();
  static std::vector<Row> FeedRows();
  static std::vector<Row> AuditRows();
  static std::vector<Row> CallerRows();

  // ---- running them ----

  // Calls `m` on `server` with `req` and the authorization metadata `header`
  // ("" sends none), with a deadline. A server-streaming method reads its
  // first message.
  static grpc::Status Invoke(Server server, const MethodDescriptor* m,
                             const Message& req, const std::string& header,
                             Message* resp) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     (m->server_streaming() ? std::chrono::seconds(3)
                                            : std::chrono::seconds(10)));
    if (!header.empty()) {
      ctx.AddMetadata("authorization", header);
    }
    const std::string path =
        absl::StrCat("/", m->service()->full_name(), "/", m->name());
    GenericStub* stub = w->generic.at(server).get();
    if (m->server_streaming()) {
      FirstMessage call(&ctx, &req, resp);
      return call.Run(stub, path);
    }
    Completion done;
    stub->UnaryCall(&ctx, path, grpc::StubOptions(), &req, resp,
                    [&done](grpc::Status s) { done.Set(std::move(s)); });
    return done.Wait();
  }

  // Runs every row of `service` (served by `servers`) after checking that the
  // rows cover exactly the descriptor's methods on each of them.
  static void RunService(const std::string& service,
                         const std::vector<Server>& servers,
                         const std::vector<Row>& rows) {
    const ServiceDescriptor* sd =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            service);
    ASSERT_NE(sd, nullptr) << service << " is not a generated service";
    std::set<std::pair<Server, std::string>> covered;
    for (const Row& row : rows) {
      EXPECT_NE(sd->FindMethodByName(row.method), nullptr)
          << "a row names " << service << "." << row.method
          << ", which the service does not have";
      EXPECT_TRUE(std::find(servers.begin(), servers.end(), row.server) !=
                  servers.end())
          << "a row calls " << service << "." << row.method << " on "
          << ServerName(row.server) << ", which does not serve " << service;
      covered.insert({row.server, row.method});
    }
    for (Server server : servers) {
      for (int i = 0; i < sd->method_count(); ++i) {
        EXPECT_TRUE(covered.count({server, sd->method(i)->name()}) > 0)
            << sd->method(i)->full_name() << " on " << ServerName(server)
            << " has no row in the role matrix: add one";
      }
    }
    std::cout << "[ RoleMatrixE2eTest ] " << service << ": "
              << sd->method_count() << " methods, " << rows.size() << " rows\n";
    for (const Row& row : rows) {
      if (const MethodDescriptor* m = sd->FindMethodByName(row.method)) {
        RunRow(row, m);
      }
    }
  }

  static void RunRow(const Row& row, const MethodDescriptor* m) {
    const std::string label = absl::StrCat(
        m->full_name(), row.variant.empty() ? "" : " (", row.variant,
        row.variant.empty() ? "" : ")", " on ", ServerName(row.server));
    if (m->client_streaming()) {
      ADD_FAILURE() << label << ": client streaming is not supported here";
      return;
    }
    const google::protobuf::Message* prototype =
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(
            m->output_type());
    ASSERT_NE(prototype, nullptr) << label;
    std::string summary = label + ":";
    // Calls with the request `row` builds from `side`.
    const auto call = [&](const Caller& who, const Side& side,
                          std::unique_ptr<Message>* resp) {
      const std::unique_ptr<Message> req = row.build(side);
      if (req->GetDescriptor() != m->input_type()) {
        ADD_FAILURE() << label << ": the row builds a "
                      << req->GetDescriptor()->full_name() << ", the method "
                      << "takes a " << m->input_type()->full_name();
        return grpc::Status(StatusCode::INTERNAL, "bad row");
      }
      resp->reset(prototype->New());
      return Invoke(row.server, m, *req, who.header, resp->get());
    };
    std::unique_ptr<Message> resp;

    for (const Caller& bad : w->bad_credentials) {
      const grpc::Status s = call(bad, *bad.own, &resp);
      EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED)
          << label << " with " << bad.name << ": got " << Got(s)
          << ", want UNAUTHENTICATED";
      absl::StrAppend(&summary, " ", bad.name, "=", CodeName(s.error_code()));
    }
    for (const Caller& who : w->callers) {
      const bool allowed = (row.allowed & who.role) != 0;
      if (row.scope != Scope::kNone && who.foreign != nullptr) {
        const Side& other = *who.foreign;
        const grpc::Status s = call(who, other, &resp);
        absl::StrAppend(&summary, " ", who.name, "[", other.label,
                        "]=", CodeName(s.error_code()));
        if (!allowed || row.scope == Scope::kRefused) {
          EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED)
              << label << " as " << who.name << " on " << other.label
              << "'s data (out of scope): got " << Got(s)
              << ", want PERMISSION_DENIED";
        } else {
          EXPECT_TRUE(s.ok())
              << label << " as " << who.name << " on " << other.label
              << "'s data (out of scope, a filtered list): got " << Got(s)
              << ", want OK";
          const std::string text = resp->ShortDebugString();
          EXPECT_FALSE(absl::StrContains(text, other.rep) ||
                       absl::StrContains(text, other.account.id()))
              << label << " as " << who.name << " on " << other.label
              << "'s data (out of scope): the answer shows it: " << text;
        }
      }
      const grpc::Status s = call(who, *who.own, &resp);
      absl::StrAppend(&summary, " ", who.name, "=", CodeName(s.error_code()));
      if (!allowed) {
        EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED)
            << label << " as " << who.name << " (role not allowed): got "
            << Got(s) << ", want PERMISSION_DENIED";
      } else {
        EXPECT_TRUE(s.error_code() != StatusCode::PERMISSION_DENIED &&
                    s.error_code() != StatusCode::UNAUTHENTICATED &&
                    s.error_code() != StatusCode::INVALID_ARGUMENT)
            << label << " as " << who.name << " on " << who.own->label
            << "'s data (allowed, in scope): got " << Got(s)
            << ", want neither PERMISSION_DENIED nor UNAUTHENTICATED (nor "
               "INVALID_ARGUMENT: the row's request is valid)";
      }
    }
    if (row.scope == Scope::kFiltered) {
      // The filter is what hides the foreign data: an ADMIN sees it.
      const Caller& admin =
          *std::find_if(w->callers.begin(), w->callers.end(),
                        [](const Caller& c) { return c.role == kA; });
      for (const Side* other : {&w->side_e1, &w->side_w1, &w->side_west}) {
        const grpc::Status s = call(admin, *other, &resp);
        EXPECT_TRUE(s.ok()) << label << " as ADMIN on " << other->label
                            << "'s data: got " << Got(s) << ", want OK";
        const std::string text = resp->ShortDebugString();
        EXPECT_TRUE(absl::StrContains(text, other->rep) ||
                    absl::StrContains(text, other->account.id()))
            << label << " as ADMIN on " << other->label
            << "'s data: the answer does not show it, so the filter check "
               "above proves nothing: "
            << text;
      }
    }
    std::cout << summary << "\n";
  }

  static bool setup_ok_;
};

bool RoleMatrixE2eTest::setup_ok_ = false;

// ---------------------------------------------------------------------------
// AccountsService (D15): reads are open to every role; a MANAGER writes
// accounts, org nodes, moves and quotas in their subtree; contacts are written
// by the account's owning REP and by MANAGERs above it; ADMIN everything.

std::vector<Row> RoleMatrixE2eTest::AccountsRows() {
  constexpr Scope kNone = Scope::kNone;
  constexpr Scope kRefused = Scope::kRefused;
  std::vector<Row> rows = {
      Rpc<v1::CreateAccountRequest>(
          "CreateAccount", kA | kM, kRefused,
          [](const Side& s, auto* r) {
            r->mutable_account()->set_name(Unique("account"));
            r->mutable_account()->set_owner_node_id(s.rep);
          }),
      // Bulk imports take the single create's roles; a row out of the
      // caller's scope is refused in its result, not the call
      // (bulk_import_e2e_test), so the call itself is not data-scoped.
      Rpc<v1::ImportAccountsRequest>(
          "ImportAccounts", kA | kM, kNone,
          [](const Side& s, auto* r) {
            v1::CreateAccountRequest* row = r->add_rows();
            row->mutable_account()->set_name(Unique("imported account"));
            row->mutable_account()->set_owner_node_id(s.rep);
            row->set_request_id(Unique("import"));
          }),
      Rpc<v1::GetAccountRequest>(
          "GetAccount", kAll, kNone,
          [](const Side& s, auto* r) { r->set_id(s.account.id()); }),
      Rpc<v1::UpdateAccountRequest>(
          "UpdateAccount", kA | kM, kRefused,
          [](const Side& s, auto* r) { *r->mutable_account() = s.account; }),
      Rpc<v1::ListAccountsRequest>("ListAccounts", kAll, kNone,
                                   [](const Side&, auto*) {}),
      Rpc<v1::CreateContactRequest>(
          "CreateContact", kA | kM | kR, kRefused,
          [](const Side& s, auto* r) {
            r->mutable_contact()->set_account_id(s.account.id());
            r->mutable_contact()->set_name(Unique("contact"));
          }),
      Rpc<v1::ImportContactsRequest>(
          "ImportContacts", kA | kM | kR, kNone,
          [](const Side& s, auto* r) {
            v1::CreateContactRequest* row = r->add_rows();
            row->mutable_contact()->set_account_id(s.account.id());
            row->mutable_contact()->set_name(Unique("imported contact"));
            row->set_request_id(Unique("import"));
          }),
      Rpc<v1::GetContactRequest>(
          "GetContact", kAll, kNone,
          [](const Side& s, auto* r) { r->set_id(s.contact.id()); }),
      Rpc<v1::UpdateContactRequest>("UpdateContact", kA | kM | kR, kRefused,
                                    [](const Side& s, auto* r) {
                                      *r->mutable_contact() = s.contact;
                                      r->mutable_contact()->set_status(
                                          v1::CONTACT_STATUS_ACTIVE);
                                    }),
      Rpc<v1::ListContactsRequest>(
          "ListContacts", kAll, kNone,
          [](const Side& s, auto* r) { r->set_account_id(s.account.id()); }),
      Rpc<v1::GetOrgChartRequest>(
          "GetOrgChart", kAll, kNone,
          [](const Side& s, auto* r) { r->set_account_id(s.account.id()); }),
      Rpc<v1::CreateOrgNodeRequest>(
          "CreateOrgNode", kA | kM, kRefused,
          [](const Side& s, auto* r) {
            r->mutable_node()->set_kind(v1::ORG_NODE_KIND_TEAM);
            r->mutable_node()->set_name(Unique("team"));
            r->mutable_node()->set_parent_id(s.region);
          }),
      Rpc<v1::GetOrgNodeRequest>(
          "GetOrgNode", kAll, kNone,
          [](const Side& s, auto* r) { r->set_id(s.node.id()); }),
      Rpc<v1::UpdateOrgNodeRequest>(
          "UpdateOrgNode", kA | kM, kRefused,
          [](const Side& s, auto* r) { *r->mutable_node() = s.node; }),
      // A move under the parent it already has: allowed calls change nothing
      // anybody's scope depends on.
      Rpc<v1::MoveOrgNodeRequest>("MoveOrgNode", kA | kM, kRefused,
                                  [](const Side& s, auto* r) {
                                    r->set_id(s.rep);
                                    r->set_new_parent_id(s.region);
                                  }),
      Rpc<v1::ListOrgNodesRequest>("ListOrgNodes", kAll, kNone,
                                   [](const Side&, auto*) {}),
      Rpc<v1::SetQuotaRequest>("SetQuota", kA | kM, kRefused,
                               [](const Side& s, auto* r) {
                                 r->set_node_id(s.node.id());
                                 r->set_fiscal_year(w->fiscal_year);
                                 r->set_fiscal_quarter(w->fiscal_quarter);
                                 *r->mutable_amount() = Eur(10 * kOppAmount);
                               }),
      Rpc<v1::GetQuotaRequest>("GetQuota", kAll, kNone,
                               [](const Side& s, auto* r) {
                                 r->set_node_id(s.node.id());
                                 r->set_fiscal_year(w->fiscal_year);
                                 r->set_fiscal_quarter(w->fiscal_quarter);
                               }),
      // A follower's resync list (forecast's accounts follower): peers and
      // ADMIN only.
      Rpc<v1::ListQuotasRequest>("ListQuotas", kA | kS, kNone,
                                 [](const Side&, auto*) {}),
      // Dated exchange rates (issue 19): FINANCE and ADMIN set them (CHF is
      // never the suite's reporting currency), every role lists them.
      Rpc<v1::SetExchangeRateRequest>("SetExchangeRate", kA | kF, kNone,
                                      [](const Side&, auto* r) {
                                        r->set_currency("CHF");
                                        r->mutable_start_date()->set_year(2026);
                                        r->mutable_start_date()->set_month(1);
                                        r->mutable_start_date()->set_day(1);
                                        r->set_rate("1.05");
                                      }),
      Rpc<v1::ListExchangeRatesRequest>("ListExchangeRates", kAll, kNone,
                                        [](const Side&, auto*) {}),
      Rpc<v1::ScoreIndustriesRequest>("ScoreIndustries", kAll, kNone,
                                      [](const Side&, auto* r) {
                                        r->add_criteria()->set_name("growth");
                                        v1::IndustryScore* i =
                                            r->add_industries();
                                        i->set_name("Mining");
                                        i->add_scores(7);
                                      }),
      Rpc<v1::GetParetoViewRequest>("GetParetoView", kAll, kNone,
                                    [](const Side& s, auto* r) {
                                      v1::AccountRevenue* a = r->add_revenues();
                                      a->set_account_id(s.account.id());
                                      *a->mutable_revenue() = Eur(100'000);
                                    }),
  };
  // ClassifyAccounts only computes tiers unless `apply` stores them.
  const auto scorecard = [](const Side& s, v1::ClassifyAccountsRequest* r) {
    v1::AccountScorecard* c = r->add_scorecards();
    c->set_account_id(s.account.id());
    *c->mutable_revenue_12m() = Eur(100'000);
    c->set_gross_margin_bp(2000);
    c->set_avg_collection_days(30);
    *c->mutable_purchase_potential() = Eur(500'000);
  };
  rows.push_back(
      Variant("preview", Rpc<v1::ClassifyAccountsRequest>(
                             "ClassifyAccounts", kAll, kNone, scorecard)));
  rows.push_back(Variant("apply", Rpc<v1::ClassifyAccountsRequest>(
                                      "ClassifyAccounts", kA | kM, kRefused,
                                      [scorecard](const Side& s, auto* r) {
                                        scorecard(s, r);
                                        r->set_apply(true);
                                      })));
  for (Row& row : rows) {
    row.server = Server::kAccounts;
  }
  return rows;
}

// ---------------------------------------------------------------------------
// PipelineService (D16, docs/API.md §2): every role reads what it may see
// (REP their own, MANAGER their subtree, the others everything; lists are
// filtered, never refused); REP and MANAGER write in that scope; only MANAGER
// and ADMIN force moves, reopen and reassign; only ADMIN writes stage models.

std::vector<Row> RoleMatrixE2eTest::PipelineRows() {
  constexpr Scope kNone = Scope::kNone;
  constexpr Scope kRefused = Scope::kRefused;
  constexpr Scope kFiltered = Scope::kFiltered;
  constexpr int kWriters = kA | kM | kR;
  static const std::vector<std::string> kStages = {"INTEREST", "CONSIDERATION",
                                                   "DESIGN", "COMPARISON"};
  std::vector<Row> rows = {
      Rpc<v1::CreateStageModelRequest>("CreateStageModel", kA, kNone,
                                       [](const Side&, auto* r) {
                                         r->mutable_model()->set_name(
                                             Unique("stage model"));
                                         r->set_copy_from_id("buying-cycle-6");
                                       }),
      Rpc<v1::GetStageModelRequest>(
          "GetStageModel", kAll, kNone,
          [](const Side&, auto* r) { r->set_id("buying-cycle-6"); }),
      Rpc<v1::ListStageModelsRequest>("ListStageModels", kAll, kNone,
                                      [](const Side&, auto*) {}),
      // A follower's resync list (forecast's pipeline follower): peers and
      // ADMIN only.
      Rpc<v1::ListOpportunityChangesRequest>("ListOpportunityChanges", kA | kS,
                                             kNone, [](const Side&, auto*) {}),
      Rpc<v1::UpdateStageModelRequest>(
          "UpdateStageModel", kA, kNone,
          [](const Side&, auto* r) {
            v1::GetStageModelRequest get;
            get.set_id(w->model_copy);
            const grpc::Status s = w->pipeline->GetStageModel(
                Ctx(kAdmin).get(), get, r->mutable_model());
            EXPECT_TRUE(s.ok()) << Describe(s);
          }),
      Rpc<v1::CreateOpportunityRequest>("CreateOpportunity", kWriters, kRefused,
                                        [](const Side& s, auto* r) {
                                          *r->mutable_opportunity() =
                                              NewOpportunity(
                                                  s, Unique("opportunity"));
                                        }),
      Rpc<v1::ImportOpportunitiesRequest>(
          "ImportOpportunities", kWriters, kNone,
          [](const Side& s, auto* r) {
            v1::CreateOpportunityRequest* row = r->add_rows();
            *row->mutable_opportunity() =
                NewOpportunity(s, Unique("imported opportunity"));
            row->set_request_id(Unique("import"));
          }),
      Rpc<v1::GetOpportunityRequest>(
          "GetOpportunity", kAll, kRefused,
          [](const Side& s, auto* r) { r->set_id(s.opp); }),
      Rpc<v1::UpdateOpportunityRequest>("UpdateOpportunity", kWriters, kRefused,
                                        [](const Side& s, auto* r) {
                                          *r->mutable_opportunity() =
                                              CurrentOpportunity(s.opp);
                                        }),
      // A new owner: MANAGER (inside their subtree) and ADMIN only. It goes
      // back and forth between the side's two reps.
      Variant("reassign",
              Rpc<v1::UpdateOpportunityRequest>(
                  "UpdateOpportunity", kA | kM, kRefused,
                  [](const Side& s, auto* r) {
                    v1::Opportunity o = CurrentOpportunity(s.opp_reassign);
                    o.set_owner_node_id(o.owner_node_id() == s.rep ? s.spare_rep
                                                                   : s.rep);
                    *r->mutable_opportunity() = o;
                  })),
      Rpc<v1::ListOpportunitiesRequest>(
          "ListOpportunities", kAll, kFiltered,
          [](const Side& s, auto* r) { r->add_owner_ids(s.node.id()); }),
      Rpc<v1::SetExitCriterionRequest>("SetExitCriterion", kWriters, kRefused,
                                       [](const Side& s, auto* r) {
                                         r->set_opportunity_id(s.opp);
                                         r->set_stage_key("CONSIDERATION");
                                         r->set_criterion_key(
                                             "decision_to_buy");
                                         r->set_checked(true);
                                       }),
      // Back to INTEREST (valid without criteria), or forward again, which
      // the unchecked criterion refuses with FAILED_PRECONDITION.
      Rpc<v1::MoveStageRequest>(
          "MoveStage", kWriters, kRefused,
          [](const Side& s, auto* r) {
            const v1::Opportunity o = CurrentOpportunity(s.opp_move);
            r->set_opportunity_id(o.id());
            r->set_to_stage_key(o.stage_key() == "INTEREST" ? "CONSIDERATION"
                                                            : "INTEREST");
          }),
      // Forcing a move past unchecked criteria: MANAGER and ADMIN only.
      Variant("override_reason",
              Rpc<v1::MoveStageRequest>(
                  "MoveStage", kA | kM, kRefused,
                  [](const Side& s, auto* r) {
                    const v1::Opportunity o = CurrentOpportunity(s.opp_move);
                    const auto at = std::find(kStages.begin(), kStages.end(),
                                              o.stage_key());
                    // Forward, but never into the credit-checked stages.
                    const bool forward =
                        at != kStages.end() && at + 1 != kStages.end();
                    r->set_opportunity_id(o.id());
                    r->set_to_stage_key(forward ? *(at + 1) : kStages[0]);
                    r->set_override_reason("role matrix");
                  })),
      Rpc<v1::CloseOpportunityRequest>("CloseOpportunity", kWriters, kRefused,
                                       [](const Side& s, auto* r) {
                                         r->set_opportunity_id(s.opp_close);
                                         r->set_outcome(
                                             v1::OPPORTUNITY_STATUS_LOST);
                                         r->set_reason("role matrix");
                                       }),
      Rpc<v1::ReopenOpportunityRequest>("ReopenOpportunity", kA | kM, kRefused,
                                        [](const Side& s, auto* r) {
                                          r->set_opportunity_id(s.opp_close);
                                          r->set_reason("role matrix");
                                        }),
      Rpc<v1::GetOpportunityHistoryRequest>(
          "GetOpportunityHistory", kAll, kRefused,
          [](const Side& s, auto* r) { r->set_opportunity_id(s.opp); }),
      Rpc<v1::SetContactRoleRequest>("SetContactRole", kWriters, kRefused,
                                     [](const Side& s, auto* r) {
                                       r->set_opportunity_id(s.opp);
                                       r->set_contact_id(s.contact.id());
                                       r->set_role(
                                           v1::BUYING_ROLE_DECISION_MAKER);
                                       r->set_attitude(v1::ATTITUDE_B);
                                       r->set_influence_weight_pct(50);
                                     }),
      Rpc<v1::RemoveContactRoleRequest>("RemoveContactRole", kWriters, kRefused,
                                        [](const Side& s, auto* r) {
                                          r->set_opportunity_id(s.opp);
                                          r->set_contact_id(s.contact.id());
                                        }),
      Rpc<v1::ListContactRolesRequest>(
          "ListContactRoles", kAll, kRefused,
          [](const Side& s, auto* r) { r->set_opportunity_id(s.opp); }),
      Rpc<v1::RecordActivityRequest>(
          "RecordActivity", kWriters, kRefused,
          [](const Side& s, auto* r) {
            r->mutable_activity()->set_opportunity_id(s.opp);
            r->mutable_activity()->set_kind(v1::ACTIVITY_KIND_CALL);
            r->mutable_activity()->set_outcome(v1::ACTIVITY_OUTCOME_NONE);
          }),
      Rpc<v1::ListActivitiesRequest>(
          "ListActivities", kAll, kRefused,
          [](const Side& s, auto* r) { r->set_opportunity_id(s.opp); }),
      Rpc<v1::ListFollowUpsRequest>(
          "ListFollowUps", kAll, kRefused,
          [](const Side& s, auto* r) { r->set_opportunity_id(s.opp); }),
      // As of a year from now every planned follow-up is overdue.
      Rpc<v1::ListOverdueFollowUpsRequest>(
          "ListOverdueFollowUps", kAll, kFiltered,
          [](const Side& s, auto* r) {
            r->add_owner_ids(s.node.id());
            r->set_as_of_micros(
                absl::ToUnixMicros(absl::Now() + absl::Hours(24 * 365)));
          }),
  };
  // The evaluations compute for anyone; stored on an opportunity they are a
  // change of it, for its writers.
  const auto four_factors = [](const Side&, v1::EvaluateFourFactorsRequest* r) {
    r->set_need(4);
    r->set_impact(4);
    r->set_fit(4);
    r->set_relationship(4);
  };
  const auto qualification = [](const Side&,
                                v1::EvaluateQualificationRequest* r) {
    v1::QualificationEvaluation* e = r->mutable_evaluation();
    for (auto set : {&v1::QualificationEvaluation::set_need_match,
                     &v1::QualificationEvaluation::set_budget,
                     &v1::QualificationEvaluation::set_decision_cycle,
                     &v1::QualificationEvaluation::set_competition,
                     &v1::QualificationEvaluation::set_industry_prospect,
                     &v1::QualificationEvaluation::set_credit_reputation,
                     &v1::QualificationEvaluation::set_urgency,
                     &v1::QualificationEvaluation::set_cooperation}) {
      (e->*set)(3);
    }
  };
  const auto competitive = [](const Side&, v1::EvaluateCompetitiveRequest* r) {
    v1::CompetitiveCriterion* c = r->add_criteria();
    c->set_name("price");
    c->set_weight_bp(10000);
    v1::CompetitiveParty* us = r->add_parties();
    us->set_name("us");
    us->add_scores(4);
    v1::CompetitiveParty* rival = r->add_parties();
    rival->set_name("rival");
    rival->add_scores(3);
  };
  rows.push_back(Variant(
      "what-if", Rpc<v1::EvaluateFourFactorsRequest>(
                     "EvaluateFourFactors", kAll, kNone, four_factors)));
  rows.push_back(
      Variant("stored", Rpc<v1::EvaluateFourFactorsRequest>(
                            "EvaluateFourFactors", kWriters, kRefused,
                            [four_factors](const Side& s, auto* r) {
                              four_factors(s, r);
                              r->set_opportunity_id(s.opp);
                            })));
  rows.push_back(Variant(
      "what-if", Rpc<v1::EvaluateQualificationRequest>(
                     "EvaluateQualification", kAll, kNone, qualification)));
  rows.push_back(
      Variant("stored", Rpc<v1::EvaluateQualificationRequest>(
                            "EvaluateQualification", kWriters, kRefused,
                            [qualification](const Side& s, auto* r) {
                              qualification(s, r);
                              r->set_opportunity_id(s.opp);
                            })));
  rows.push_back(
      Variant("what-if", Rpc<v1::EvaluateCompetitiveRequest>(
                             "EvaluateCompetitive", kAll, kNone, competitive)));
  rows.push_back(
      Variant("stored", Rpc<v1::EvaluateCompetitiveRequest>(
                            "EvaluateCompetitive", kWriters, kRefused,
                            [competitive](const Side& s, auto* r) {
                              competitive(s, r);
                              r->set_opportunity_id(s.opp);
                            })));
  rows.push_back(Rpc<v1::GetDealHealthRequest>(
      "GetDealHealth", kAll, kRefused,
      [](const Side& s, auto* r) { r->set_opportunity_id(s.opp); }));
  rows.push_back(Rpc<v1::RecordWeeklyReviewRequest>(
      "RecordWeeklyReview", kWriters, kRefused, [](const Side& s, auto* r) {
        r->mutable_review()->set_opportunity_id(s.opp);
        *r->mutable_review()->mutable_week() = ToDate(w->today);
        r->mutable_review()->set_goal("role matrix");
      }));
  rows.push_back(Rpc<v1::ListWeeklyReviewsRequest>(
      "ListWeeklyReviews", kAll, kRefused,
      [](const Side& s, auto* r) { r->set_opportunity_id(s.opp); }));
  for (Row& row : rows) {
    row.server = Server::kPipeline;
  }
  return rows;
}

// ---------------------------------------------------------------------------
// ForecastService (forecast_service.h): every role reads, REP their own node,
// MANAGER their subtree; REP and MANAGER submit their own node's forecast and
// book out-of-funnel sales in scope; only ADMIN closes weeks.

std::vector<Row> RoleMatrixE2eTest::ForecastRows() {
  constexpr Scope kNone = Scope::kNone;
  constexpr Scope kRefused = Scope::kRefused;
  std::vector<Row> rows = {
      Rpc<v1::GetForecastRequest>("GetForecast", kAll, kRefused,
                                  [](const Side& s, auto* r) {
                                    r->set_node_id(s.node.id());
                                    r->set_fiscal_year(w->fiscal_year);
                                    r->set_fiscal_quarter(w->fiscal_quarter);
                                  }),
      Rpc<v1::RecordOutOfFunnelSaleRequest>(
          "RecordOutOfFunnelSale", kA | kM | kR, kRefused,
          [](const Side& s, auto* r) {
            r->mutable_sale()->set_rep_node_id(s.rep);
            *r->mutable_sale()->mutable_amount() = Eur(10'000);
            *r->mutable_sale()->mutable_date() = ToDate(w->today);
          }),
      // Week 1 of the previous quarter: over, so it may be closed.
      Rpc<v1::CloseWeekRequest>("CloseWeek", kA, kNone,
                                [](const Side&, auto* r) {
                                  r->set_fiscal_year(w->previous_year);
                                  r->set_fiscal_quarter(w->previous_quarter);
                                  r->set_week(1);
                                }),
      Rpc<v1::GetProgressRequest>("GetProgress", kAll, kRefused,
                                  [](const Side& s, auto* r) {
                                    r->set_node_id(s.node.id());
                                    r->set_fiscal_year(w->fiscal_year);
                                    r->set_fiscal_quarter(w->fiscal_quarter);
                                  }),
      // The node is the caller's own: a MANAGER submits East's, not e1's.
      Rpc<v1::SubmitForecastRequest>("SubmitForecast", kA | kM | kR, kRefused,
                                     [](const Side& s, auto* r) {
                                       v1::ForecastSubmission* f =
                                           r->mutable_submission();
                                       f->set_node_id(s.node.id());
                                       f->set_fiscal_year(w->fiscal_year);
                                       f->set_fiscal_quarter(w->fiscal_quarter);
                                       f->set_week(1);
                                       *f->mutable_amount() = Eur(kOppAmount);
                                       f->set_note("role matrix");
                                     }),
      Rpc<v1::ListSubmissionsRequest>("ListSubmissions", kAll, kRefused,
                                      [](const Side& s, auto* r) {
                                        r->set_node_id(s.node.id());
                                        r->set_fiscal_year(w->fiscal_year);
                                        r->set_fiscal_quarter(
                                            w->fiscal_quarter);
                                        r->set_week(1);
                                      }),
      Rpc<v1::GetFunnelAnalyticsRequest>("GetFunnelAnalytics", kAll, kRefused,
                                         [](const Side& s, auto* r) {
                                           r->set_node_id(s.node.id());
                                           *r->mutable_from() = ToDate(
                                               FirstDayOfQuarter(w->today));
                                           *r->mutable_to() = ToDate(w->today);
                                         }),
      Rpc<v1::GetPipelineChangesRequest>("GetPipelineChanges", kAll, kRefused,
                                         [](const Side& s, auto* r) {
                                           r->set_node_id(s.node.id());
                                           r->set_fiscal_year(w->previous_year);
                                           r->set_fiscal_quarter(
                                               w->previous_quarter);
                                           r->set_from_week(0);
                                           r->set_to_week(1);
                                         }),
      Rpc<v1::GetForecastAccuracyRequest>("GetForecastAccuracy", kAll, kRefused,
                                          [](const Side& s, auto* r) {
                                            r->set_node_id(s.node.id());
                                            r->set_fiscal_year(w->fiscal_year);
                                            r->set_fiscal_quarter(
                                                w->fiscal_quarter);
                                          }),
  };
  for (Row& row : rows) {
    row.server = Server::kForecast;
  }
  return rows;
}

// ---------------------------------------------------------------------------
// CreditService (D20, credit.proto): FINANCE and ADMIN write and read
// everything; MANAGER reads the accounts owned in their subtree, REP the
// accounts they own; SERVICE reads everything; CheckCredit for every reader in
// scope, naming an opportunity only for SERVICE, FINANCE and ADMIN.

std::vector<Row> RoleMatrixE2eTest::CreditRows() {
  constexpr Scope kNone = Scope::kNone;
  constexpr Scope kRefused = Scope::kRefused;
  constexpr Scope kFiltered = Scope::kFiltered;
  constexpr int kWriters = kA | kF;
  const auto by_account = [](const Side& s, auto* r) {
    r->set_account_id(s.account.id());
  };
  const auto by_node = [](const Side& s, auto* r) {
    r->set_org_node_id(s.node.id());
  };
  const auto dso_period = [](auto* r) {
    *r->mutable_from() = ToDate(w->today - 90);
    *r->mutable_to() = ToDate(w->today);
  };
  std::vector<Row> rows =
      {
          Rpc<v1::SetCreditProfileRequest>(
              "SetCreditProfile", kWriters, kNone,
              [](const Side& s, auto* r) {
                v1::CreditProfile* p = r->mutable_profile();
                p->set_account_id(s.account.id());
                *p->mutable_credit_limit() = Eur(100 * kOppAmount);
                p->set_payment_terms_days(30);
                p->set_risk_class(v1::RISK_CLASS_MEDIUM);
              }),
          Rpc<v1::GetCreditProfileRequest>("GetCreditProfile", kAll, kRefused,
                                           by_account),
          Variant("what-if", Rpc<v1::CheckCreditRequest>(
                                 "CheckCredit", kAll, kRefused,
                                 [](const Side& s, auto* r) {
                                   r->set_account_id(s.account.id());
                                   *r->mutable_amount() = Eur(10'000);
                                 })),
          // Naming an opportunity reserves exposure for it (D20).
          Variant(
              "names an opportunity",
              Rpc<v1::CheckCreditRequest>("CheckCredit", kA | kF | kS, kNone,
                                          [](const Side& s, auto* r) {
                                            r->set_account_id(s.account.id());
                                            *r->mutable_amount() = Eur(10'000);
                                            r->set_opportunity_id(s.opp);
                                          })),
          Rpc<v1::ListCreditChecksRequest>("ListCreditChecks", kAll, kRefused,
                                           by_account),
          Rpc<v1::PostReceivableRequest>(
              "PostReceivable", kWriters, kNone,
              [](const Side& s, auto* r) {
                r->mutable_receivable()->set_account_id(s.account.id());
                *r->mutable_receivable()->mutable_amount() = Eur(10'000);
                *r->mutable_receivable()->mutable_issue_date() =
                    ToDate(w->today);
              }),
          Rpc<v1::GetReceivableRequest>(
              "GetReceivable", kAll, kRefused,
              [](const Side& s, auto* r) { r->set_id(s.receivable); }),
          Variant("account",
                  Rpc<v1::ListReceivablesRequest>("ListReceivables", kAll,
                                                  kRefused, by_account)),
          Variant("org node", Rpc<v1::ListReceivablesRequest>(
                                  "ListReceivables", kAll, kRefused, by_node)),
          Variant("opportunity", Rpc<v1::ListReceivablesRequest>(
                                     "ListReceivables", kAll, kFiltered,
                                     [](const Side& s, auto* r) {
                                       r->set_opportunity_id(s.opp);
                                     })),
          Rpc<v1::RecordPaymentRequest>("RecordPayment", kWriters, kNone,
                                        [](const Side& s, auto* r) {
                                          r->set_account_id(s.account.id());
                                          *r->mutable_amount() = Eur(1);
                                          *r->mutable_date() = ToDate(w->today);
                                        }),
          Rpc<v1::ListPaymentsRequest>("ListPayments", kAll, kRefused,
                                       by_account),
          // Disputed first, then written off: both find the spare receivable in
          // a state that allows them.
          Rpc<v1::SetDisputeRequest>("SetDispute", kWriters, kNone,
                                     [](const Side& s, auto* r) {
                                       r->set_receivable_id(s.spare_receivable);
                                       r->set_disputed(true);
                                       r->set_reason("role matrix");
                                     }),
          Rpc<v1::WriteOffRequest>("WriteOff", kWriters, kNone,
                                   [](const Side& s, auto* r) {
                                     r->set_receivable_id(s.spare_receivable);
                                     r->set_reason("role matrix");
                                   }),
          Rpc<v1::GetOpportunityCollectionRequest>(
              "GetOpportunityCollection", kAll, kRefused,
              [](const Side& s, auto* r) { r->set_opportunity_id(s.opp); }),
          Rpc<v1::ListOpportunityCollectionsRequest>(
              "ListOpportunityCollections", kA | kF | kS, kNone,
              [](const Side&, auto*) {}),
          Variant("account", Rpc<v1::GetAgingRequest>("GetAging", kAll,
                                                      kRefused, by_account)),
          Variant("org node", Rpc<v1::GetAgingRequest>("GetAging", kAll,
                                                       kRefused, by_node)),
          Variant("account",
                  Rpc<v1::GetDsoRequest>(
                      "GetDso", kAll, kRefused,
                      [by_account, dso_period](const Side& s, auto* r) {
                        by_account(s, r);
                        dso_period(r);
                      })),
          Variant("org node",
                  Rpc<v1::GetDsoRequest>(
                      "GetDso", kAll, kRefused,
                      [by_node, dso_period](const Side& s, auto* r) {
                        by_node(s, r);
                        dso_period(r);
                      })),
          Rpc<v1::RecordPromiseRequest>("RecordPromise", kWriters, kNone,
                                        [](const Side& s, auto* r) {
                                          r->add_receivable_ids(s.receivable);
                                          *r->mutable_amount() = Eur(100);
                                          *r->mutable_promised_date() =
                                              ToDate(w->today + 7);
                                        }),
          Rpc<v1::ListPromisesRequest>("ListPromises", kAll, kRefused,
                                       by_account),
          Rpc<v1::RecordCollectionContactRequest>(
              "RecordCollectionContact", kWriters, kNone,
              [](const Side& s, auto* r) {
                r->set_account_id(s.account.id());
                r->set_excuse_code(v1::EXCUSE_CODE_WILL_PAY);
              }),
          Variant("account",
                  Rpc<v1::ListCollectionTasksRequest>(
                      "ListCollectionTasks", kAll, kRefused, by_account)),
          Variant("org node",
                  Rpc<v1::ListCollectionTasksRequest>("ListCollectionTasks",
                                                      kAll, kRefused, by_node)),
          Rpc<v1::CompleteCollectionTaskRequest>(
              "CompleteCollectionTask", kWriters, kNone,
              [](const Side& s, auto* r) { r->set_id(s.task); }),
          Rpc<v1::GetWorklistRequest>("GetWorklist", kAll, kRefused, by_node),
          Rpc<v1::GetDebtorClassRequest>("GetDebtorClass", kAll, kRefused,
                                         by_account),
          Rpc<v1::DunningStrategy>("SetDunningStrategy", kWriters, kNone,
                                   [](const Side&, auto* r) {
                                     r->set_courtesy_reminder_days(-3);
                                     r->set_first_reminder_days(1);
                                     r->set_second_reminder_days(15);
                                     r->set_final_notice_days(30);
                                     r->set_credit_hold_days(60);
                                   }),
          Rpc<v1::GetDunningStrategyRequest>("GetDunningStrategy", kAll,
                                             kNone, [](const Side&, auto*) {}),
          Rpc<v1::RunCollectionsRequest>("RunCollections", kWriters, kNone,
                                         [](const Side&, auto*) {}),
          Rpc<v1::CalculateBadDebtRecoveryRequest>(
              "CalculateBadDebtRecovery", kAll, kNone,
              [](const Side&, auto* r) {
                *r->mutable_loss() = Eur(50'000);
                r->set_net_margin_bp(200);
              }),
          Rpc<v1::CalculateCarryingCostRequest>("CalculateCarryingCost", kAll,
                                                kNone,
                                                [](const Side&, auto* r) {
                                                  *r->mutable_amount() =
                                                      Eur(100'000);
                                                  r->set_annual_rate_bp(1000);
                                                  r->set_days_late(30);
                                                  r->set_net_margin_bp(500);
                                                }),
          Rpc<v1::CalculateRealizedResultRequest>("CalculateRealizedResult",
                                                  kAll, kNone,
                                                  [](const Side&, auto* r) {
                                                    *r->mutable_sale_amount() =
                                                        Eur(100'000);
                                                    r->set_gross_margin_bp(
                                                        3000);
                                                    *r->mutable_collected() =
                                                        Eur(50'000);
                                                  }),
      };
  for (Row& row : rows) {
    row.server = Server::kCredit;
  }
  return rows;
}

// ---------------------------------------------------------------------------
// FeedService on every port (D6): SERVICE and ADMIN only, since events carry
// full entity state.

std::vector<Row> RoleMatrixE2eTest::FeedRows() {
  std::vector<Row> rows;
  for (Server server : kServers) {
    for (Row row : {Rpc<v1::WatchRequest>("Watch", kA | kS, Scope::kNone,
                                          [](const Side&, auto*) {}),
                    Rpc<v1::GetFeedPositionRequest>(
                        "GetFeedPosition", kA | kS, Scope::kNone,
                        [](const Side&, auto*) {})}) {
      row.server = server;
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

// AuditService on every port (D25): ADMIN only, since the log names every
// principal and what they changed. Each side's account is an entity of
// accounts; on the other services the id simply has no records.
std::vector<Row> RoleMatrixE2eTest::AuditRows() {
  std::vector<Row> rows;
  for (Server server : kServers) {
    Row row = Rpc<v1::ListAuditRecordsRequest>(
        "ListAuditRecords", kA, Scope::kNone,
        [](const Side& side, v1::ListAuditRecordsRequest* r) {
          r->set_entity_id(side.account.id());
        });
    row.server = server;
    rows.push_back(std::move(row));
  }
  return rows;
}

// CallerService on every port (D67): every role learns who its token is.
std::vector<Row> RoleMatrixE2eTest::CallerRows() {
  std::vector<Row> rows;
  for (Server server : kServers) {
    Row row =
        Rpc<v1::GetCallerRequest>("GetCaller", kAll, Scope::kNone,
                                  [](const Side&, v1::GetCallerRequest*) {});
    row.server = server;
    rows.push_back(std::move(row));
  }
  return rows;
}

TEST_F(RoleMatrixE2eTest, AccountsService) {
  RunService("salesops.v1.AccountsService", {Server::kAccounts},
             AccountsRows());
}

TEST_F(RoleMatrixE2eTest, PipelineService) {
  RunService("salesops.v1.PipelineService", {Server::kPipeline},
             PipelineRows());
}

TEST_F(RoleMatrixE2eTest, ForecastService) {
  RunService("salesops.v1.ForecastService", {Server::kForecast},
             ForecastRows());
}

TEST_F(RoleMatrixE2eTest, CreditService) {
  RunService("salesops.v1.CreditService", {Server::kCredit}, CreditRows());
}

TEST_F(RoleMatrixE2eTest, FeedService) {
  RunService("salesops.v1.FeedService",
             std::vector<Server>(std::begin(kServers), std::end(kServers)),
             FeedRows());
}

TEST_F(RoleMatrixE2eTest, AuditService) {
  RunService("salesops.v1.AuditService",
             std::vector<Server>(std::begin(kServers), std::end(kServers)),
             AuditRows());
}

TEST_F(RoleMatrixE2eTest, CallerService) {
  RunService("salesops.v1.CallerService",
             std::vector<Server>(std::begin(kServers), std::end(kServers)),
             CallerRows());
}

}  // namespace
}  // namespace salesops
