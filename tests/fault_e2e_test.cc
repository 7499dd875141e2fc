// Fault test of the whole suite (SPEC.md §6 and §8 "an acknowledged write
// survives kill -9 of any service; feeds resume exactly where they stopped"):
// the four real binaries on loopback with bearer tokens and SERVICE peer
// tokens, a bounded write load against pipeline and credit from a few client
// threads, and meanwhile each service in turn (accounts, pipeline, forecast,
// credit; two rounds) SIGKILLed, kept down briefly and restarted on the same
// port and data dir.
//
// The load (a fixed number of writes per thread, each call with a deadline
// and at most a few attempts; creates and payments retried with the same
// request_id / external_id):
//   pipeline: CreateOpportunity (buying-cycle-6), MoveStage (forced, forward
//             and back, into COMMITMENT — a credit check — and into USAGE — a
//             contract, so credit opens a receivable from pipeline's feed),
//             CloseOpportunity with every outcome;
//   credit:   RecordPayment paying a USAGE opportunity's contract receivable
//             in full (pipeline then closes it WON from credit's feed),
//             PostReceivable of ERP invoices and payments of them.
// Every call ends acknowledged, rejected (a definite answer on the first
// attempt that failed) or unknown (the connection or deadline failed: it may
// or may not have happened).
//
// Afterwards, once the feeds have settled (bounded waits):
//   - every acknowledged create exists exactly once, an unknown one at most
//     once, a rejected one not at all, and nothing else exists;
//   - a write refused on its first attempt is only a version conflict or a
//     state change (ABORTED, FAILED_PRECONDITION);
//   - every acknowledged stage move and close is in the opportunity's history
//     at the acknowledged version; an opportunity with no unknown write after
//     its last acknowledged one is in exactly that state (or WON by credit,
//     when it was paid in full in USAGE);
//   - every acknowledged payment and ERP invoice exists exactly once by its
//     external id, an unknown one at most once, and each receivable's paid
//     amount is the sum of the payments allocated to it;
//   - every opportunity in USAGE (the load never moves one out of it) has
//     exactly one contract receivable of its amount, no other has one, and
//     every one whose receivable is paid is WON;
//   - the forecast of every org node for every quarter touched equals a
//     brute-force recomputation from ListOpportunities, ListOrgNodes and the
//     stage model, to the cent, and so does `collected` from credit's
//     opportunity collections.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
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
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/feed.grpc.pb.h"
#include "salesops/v1/forecast.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "tests/e2e.h"

namespace salesops {
namespace {

using e2e::Describe;
using e2e::Launch;
using e2e::Service;
using e2e::TokenLine;
using e2e::WriteFile;

constexpr char kAdmin[] = "e2e-fault-admin-token";
constexpr char kPeer[] = "e2e-fault-peer-token";
constexpr char kModel[] = "buying-cycle-6";
constexpr char kUsage[] = "USAGE";

constexpr int kThreads = 4;
constexpr int kWritesPerThread = 150;  // 600 writes in all
constexpr int kReps = 4;
constexpr int kAccounts = 4;
constexpr int kAttempts = 6;  // per call
const absl::Duration kCallDeadline = absl::Milliseconds(1500);
const absl::Duration kBackoff[kAttempts - 1] = {
    absl::Milliseconds(100), absl::Milliseconds(200), absl::Milliseconds(400),
    absl::Milliseconds(800), absl::Milliseconds(1200)};
// Pace of each load thread while the kills are still to come (the kills
// take about 2 s per service and round); the last
// kReserve writes of a thread wait for the last restart, so the load spans
// every kill whatever the speed of the machine.
const absl::Duration kPace = absl::Milliseconds(100);
constexpr int kReserve = 15;
constexpr int kRounds = 2;
constexpr int64_t kCreditLimit = 1'000'000'000'000'000;  // generous

enum Svc { kAccountsSvc = 0, kPipelineSvc, kForecastSvc, kCreditSvc, kSvcs };
const char* const kSvcName[kSvcs] = {"accounts", "pipeline", "forecast",
                                     "credit"};

enum class Outcome { kAcked, kRejected, kUnknown };

using ::salesops::testing::Eur;

v1::Date ToDate(absl::CivilDay d) {
  v1::Date out;
  out.set_year(static_cast<int32_t>(d.year()));
  out.set_month(d.month());
  out.set_day(d.day());
  return out;
}

absl::CivilDay TodayUtc() {
  return absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
}

// Calendar quarters (forecast's default --quarter_start_month=1), as
// year * 4 + quarter - 1.
int QuarterKey(int64_t year, int month) {
  return static_cast<int>(year) * 4 + (month - 1) / 3;
}
absl::CivilDay LastDayOfNextQuarter(absl::CivilDay d) {
  const int next = QuarterKey(d.year(), d.month()) + 1;
  const absl::CivilMonth first_after(next / 4, (next % 4) * 3 + 4);
  return absl::CivilDay(first_after) - 1;
}

bool Transient(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

// The attempts of every call that ended unknown (printed with the summary),
// and whether this thread's last call needed more than one attempt.
std::mutex unknown_mu;
std::vector<std::string> unknown_calls;
thread_local bool last_call_retried = false;

// One call with at most kAttempts attempts of kCallDeadline each; only
// UNAVAILABLE and DEADLINE_EXCEEDED are retried (with the same request), the
// retries waiting for the channel to reconnect. A failure after an attempt
// that may have reached the server is unknown.
template <typename Req, typename Resp, typename F>
Outcome Call(F rpc, const Req& req, Resp* resp, grpc::Status* last = nullptr) {
  bool ambiguous = false;
  const absl::Time begin = absl::Now();
  std::string trail;
  grpc::Status s;
  Outcome result = Outcome::kUnknown;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
    ctx.set_wait_for_ready(attempt > 0);
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kAdmin));
    resp->Clear();
    const absl::Time t0 = absl::Now();
    s = rpc(&ctx, req, resp);
    absl::StrAppend(&trail, " [", absl::ToInt64Milliseconds(t0 - begin), "+",
                    absl::ToInt64Milliseconds(absl::Now() - t0), " ",
                    static_cast<int>(s.error_code()), " ",
                    s.error_message().substr(0, 40), "]");
    if (s.ok()) {
      result = Outcome::kAcked;
      break;
    }
    if (!Transient(s)) {
      result = ambiguous ? Outcome::kUnknown : Outcome::kRejected;
      break;
    }
    ambiguous = true;
    if (attempt + 1 < kAttempts) {
      absl::SleepFor(kBackoff[attempt]);
    }
  }
  if (last != nullptr) {
    *last = s;
  }
  last_call_retried = ambiguous;
  if (result == Outcome::kUnknown) {
    std::lock_guard<std::mutex> l(unknown_mu);
    unknown_calls.push_back(
        absl::StrCat(absl::FormatTime("%H:%M:%E3S", begin, absl::UTCTimeZone()),
                     " ", req.GetDescriptor()->name(), trail));
  }
  return result;
}

// ---- what the load threads record ----

struct Tracked {  // an opportunity created by one thread, as it knows it
  std::string request_id;
  v1::Opportunity known;      // the last state acknowledged or read
  bool known_valid = true;    // false after a write that did not ack
  v1::Opportunity last_ack;   // the last acknowledged state
  bool tail_unknown = false;  // an unknown write after last_ack
  bool any_unknown = false;
  bool paid = false;  // its contract receivable was paid (acked or unknown)
  bool payment_acked_clean = false;  // paid in full while OPEN in USAGE
};

struct AckedChange {  // an acknowledged MoveStage or CloseOpportunity
  std::string opportunity_id;
  int64_t version = 0;
  v1::ChangeKind kind = v1::CHANGE_KIND_UNSPECIFIED;
  std::string to;
};

struct CreateRecord {
  std::string request_id;
  Outcome outcome = Outcome::kUnknown;
  std::string id;  // when acknowledged
};

struct PaymentRecord {
  std::string external_id;
  std::string account_id;
  std::string receivable_id;
  std::string opportunity_id;  // "" for an ERP invoice's payment
  int64_t amount = 0;
  Outcome outcome = Outcome::kUnknown;
  std::string payment_id;  // when acknowledged
};

struct PostRecord {
  std::string external_id;
  std::string account_id;
  int64_t amount = 0;
  Outcome outcome = Outcome::kUnknown;
  std::string receivable_id;  // when acknowledged
  int64_t open = 0;           // what the load believes is still owed
  bool uncertain = false;     // a payment of it ended unknown
};

struct WorkerResult {
  std::vector<Tracked> opps;
  std::vector<AckedChange> changes;
  std::vector<CreateRecord> creates;
  std::vector<PaymentRecord> payments;
  std::vector<PostRecord> posts;
  std::map<std::string, std::array<int, 3>> by_kind;  // acked/rejected/unknown
  std::map<std::string, int> rejections;              // "<kind> <code>"
  std::vector<absl::Time> ack_times;
  int writes = 0;
  int retried_acks = 0;  // acknowledged after an attempt that failed
};

struct KillRecord {
  Svc victim;
  absl::Time killed, ready;
  bool ok = false;
};

class FaultE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < kSvcs; ++i) {
      ports_[i] = e2e::FreeLoopbackPort();
      ASSERT_GT(ports_[i], 0);
    }
    WriteFile(dir_.Sub("peer.token"), std::string(kPeer) + "\n");
    WriteFile(dir_.Sub("tokens"),
              TokenLine(kAdmin, "admin", "ADMIN") +
                  TokenLine(kPeer, "salesops-peer", "SERVICE"));
    for (Svc s : {kAccountsSvc, kPipelineSvc, kCreditSvc, kForecastSvc}) {
      ASSERT_TRUE(Start(s)) << kSvcName[s];
    }
    // Our own channels, by address, with short reconnect backoff: they
    // survive every restart (the server comes back on the same port).
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
    for (int i = 0; i < kSvcs; ++i) {
      channels_[i] = grpc::CreateCustomChannel(
          Addr(ports_[i]), grpc::InsecureChannelCredentials(), args);
      feeds_[i] = v1::FeedService::NewStub(channels_[i]);
    }
    accounts_ = v1::AccountsService::NewStub(channels_[kAccountsSvc]);
    pipeline_ = v1::PipelineService::NewStub(channels_[kPipelineSvc]);
    forecast_ = v1::ForecastService::NewStub(channels_[kForecastSvc]);
    credit_ = v1::CreditService::NewStub(channels_[kCreditSvc]);
  }

  void TearDown() override {
    if (!HasFailure()) {
      return;
    }
    std::vector<const testing::Process*> all;
    for (const auto& p : dead_) {
      all.push_back(p.get());
    }
    for (const Service& s : services_) {
      all.push_back(s.process.get());
    }
    for (const testing::Process* p : all) {
      if (p != nullptr) {
        const std::string log = p->Log();
        std::cerr << "---- log tail (pid " << p->pid() << ")\n"
                  << log.substr(log.size() > 4000 ? log.size() - 4000 : 0)
                  << "\n";
      }
    }
  }

  static std::string Addr(int port) { return absl::StrCat("127.0.0.1:", port); }

  // Starts (or restarts) one service on its port and data dir; false when it
  // did not come up there.
  bool Start(Svc v) {
    std::vector<std::string> args;
    switch (v) {
      case kAccountsSvc:
        args = {SALESOPS_ACCOUNTS_BIN};
        break;
      case kPipelineSvc:
        args = {SALESOPS_PIPELINE_BIN,
                "--accounts_addr=" + Addr(ports_[kAccountsSvc]),
                "--credit_addr=" + Addr(ports_[kCreditSvc])};
        break;
      case kForecastSvc:
        args = {SALESOPS_FORECAST_BIN,
                "--accounts_addr=" + Addr(ports_[kAccountsSvc]),
                "--pipeline_addr=" + Addr(ports_[kPipelineSvc]),
                "--credit_addr=" + Addr(ports_[kCreditSvc])};
        break;
      case kCreditSvc:
        args = {SALESOPS_CREDIT_BIN,
                "--accounts_addr=" + Addr(ports_[kAccountsSvc]),
                "--pipeline_addr=" + Addr(ports_[kPipelineSvc])};
        break;
      default:
        return false;
    }
    const std::string name = kSvcName[v];
    for (std::string a :
         {absl::StrCat("--listen=", Addr(ports_[v])),
          std::string("--metrics_listen=127.0.0.1:0"),
          std::string("--auth=tokens"), "--tokens_file=" + dir_.Sub("tokens"),
          "--peer_token_file=" + dir_.Sub("peer.token"),
          "--data_dir=" + dir_.Sub(name), std::string("--init"),
          std::string("--currency=EUR"), std::string("--time_zone=UTC")}) {
      args.push_back(std::move(a));
    }
    Service& s = services_[v];
    if (s.process != nullptr) {
      dead_.push_back(std::move(s.process));  // keep its log
    }
    s = Launch(args, name);
    if (s.process == nullptr || s.port != ports_[v]) {
      ADD_FAILURE() << name << " did not come up on port " << ports_[v]
                    << (s.process != nullptr ? "\n" + s.process->Log() : "");
      return false;
    }
    return true;
  }

  bool Kill(Svc v) {
    Service& s = services_[v];
    if (s.process == nullptr) {
      return false;
    }
    s.process->Signal(SIGKILL);
    const bool ended = s.process->WaitExit(absl::Seconds(10)).has_value();
    EXPECT_TRUE(ended) << kSvcName[v];
    return ended;
  }

  // ---- set-up of the world (before any kill) ----

  v1::OrgNode Node(v1::OrgNodeKind kind, const std::string& name,
                   const std::string& parent) {
    v1::CreateOrgNodeRequest req;
    req.mutable_node()->set_kind(kind);
    req.mutable_node()->set_name(name);
    req.mutable_node()->set_parent_id(parent);
    req.set_request_id(absl::StrCat("fault-node-", name));
    v1::OrgNode node;
    grpc::Status last;
    EXPECT_EQ(Call([&](auto* c, const auto& r,
                       auto* o) { return accounts_->CreateOrgNode(c, r, o); },
                   req, &node, &last),
              Outcome::kAcked)
        << Describe(last);
    return node;
  }

  void BuildWorld() {
    root_ = Node(v1::ORG_NODE_KIND_GLOBAL, "Global", "");
    for (int r = 0; r < 2; ++r) {
      const v1::OrgNode region = Node(v1::ORG_NODE_KIND_REGION,
                                      absl::StrCat("Region ", r), root_.id());
      const v1::OrgNode team =
          Node(v1::ORG_NODE_KIND_TEAM, absl::StrCat("Team ", r), region.id());
      for (int p = 0; p < kReps / 2; ++p) {
        reps_.push_back(
            Node(v1::ORG_NODE_KIND_REP, absl::StrCat("Rep ", r, p), team.id()));
        ASSERT_FALSE(reps_.back().id().empty());
      }
    }
    for (int a = 0; a < kAccounts; ++a) {
      v1::CreateAccountRequest req;
      req.mutable_account()->set_name(absl::StrCat("Fault Customer ", a));
      req.mutable_account()->set_owner_node_id(reps_[a % kReps].id());
      req.set_request_id(absl::StrCat("fault-account-", a));
      v1::Account account;
      grpc::Status last;
      ASSERT_EQ(Call([&](auto* c, const auto& r,
                         auto* o) { return accounts_->CreateAccount(c, r, o); },
                     req, &account, &last),
                Outcome::kAcked)
          << Describe(last);
      accounts_ids_.push_back(account.id());
      v1::SetCreditProfileRequest preq;
      v1::CreditProfile* p = preq.mutable_profile();
      p->set_account_id(account.id());
      *p->mutable_credit_limit() = Eur(kCreditLimit);
      p->set_payment_terms_days(30);
      p->set_risk_class(v1::RISK_CLASS_LOW);
      v1::CreditProfile out;
      ASSERT_EQ(
          Call([&](auto* c, const auto& r,
                   auto* o) { return credit_->SetCreditProfile(c, r, o); },
               preq, &out, &last),
          Outcome::kAcked)
          << Describe(last);
    }
    v1::GetStageModelRequest req;
    req.set_id(kModel);
    grpc::Status last;
    ASSERT_EQ(Call([&](auto* c, const auto& r,
                       auto* o) { return pipeline_->GetStageModel(c, r, o); },
                   req, &model_, &last),
              Outcome::kAcked)
        << Describe(last);
    ASSERT_EQ(model_.stages_size(), 6);
    ASSERT_EQ(model_.stages(5).key(), kUsage);
    ASSERT_TRUE(model_.stages(4).requires_credit_check());
    ASSERT_TRUE(model_.stages(5).contract_signed());
    ASSERT_TRUE(model_.stages(5).closes_on_collection());
  }

  int StageIndex(const std::string& key) const {
    for (int i = 0; i < model_.stages_size(); ++i) {
      if (model_.stages(i).key() == key) {
        return i;
      }
    }
    return -1;
  }

  // ---- the load ----

  void Worker(int t, uint32_t seed, WorkerResult* out) {
    std::mt19937 rng(seed);
    auto pick = [&rng](size_t n) {
      return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
    };
    const absl::CivilDay today = TodayUtc();
    const int horizon = static_cast<int>(LastDayOfNextQuarter(today) - today);
    int seq = 0;
    auto count = [&](const std::string& kind, Outcome o,
                     const grpc::Status& last) {
      out->by_kind[kind][static_cast<int>(o)]++;
      if (o == Outcome::kAcked) {
        out->ack_times.push_back(absl::Now());
        out->retried_acks += last_call_retried;
      } else if (o == Outcome::kRejected) {
        out->rejections[absl::StrCat(kind, " ",
                                     static_cast<int>(last.error_code()))]++;
      }
      ++out->writes;
    };
    // Candidates among this thread's opportunities; a stale one is read again
    // first (skipped while pipeline does not answer).
    auto choose = [&](auto want) -> Tracked* {
      std::vector<size_t> ids;
      for (size_t i = 0; i < out->opps.size(); ++i) {
        const Tracked& o = out->opps[i];
        if (!o.paid && (!o.known_valid || want(o.known))) {
          ids.push_back(i);
        }
      }
      std::shuffle(ids.begin(), ids.end(), rng);
      for (size_t i : ids) {
        Tracked& o = out->opps[i];
        if (!o.known_valid) {
          v1::GetOpportunityRequest req;
          req.set_id(o.known.id());
          v1::Opportunity now;
          if (Call([&](auto* c, const auto& r,
                       auto* x) { return pipeline_->GetOpportunity(c, r, x); },
                   req, &now) != Outcome::kAcked) {
            continue;
          }
          o.known = now;
          o.known_valid = true;
          if (!want(o.known)) {
            continue;
          }
        }
        return &o;
      }
      return nullptr;
    };
    // After a pipeline write on `o`.
    auto settle = [&](Tracked* o, Outcome outcome, const v1::Opportunity& resp,
                      v1::ChangeKind kind, const std::string& to) {
      if (outcome == Outcome::kAcked) {
        o->known = resp;
        o->last_ack = resp;
        o->tail_unknown = false;
        out->changes.push_back({resp.id(), resp.version(), kind, to});
      } else {
        o->known_valid = false;
        if (outcome == Outcome::kUnknown) {
          o->tail_unknown = true;
          o->any_unknown = true;
        }
      }
    };

    for (int iteration = 0;
         out->writes < kWritesPerThread && iteration < 4 * kWritesPerThread;
         ++iteration) {
      if (!kills_done_.load()) {
        absl::SleepFor(kPace);
      }
      // Bounded: every kill and start of the killer is.
      for (int wait = 0; wait < 6000 && !kills_done_.load() &&
                         out->writes >= kWritesPerThread - kReserve;
           ++wait) {
        absl::SleepFor(absl::Milliseconds(20));
      }
      // One write chosen by `dice`; false when none could be issued (then
      // a create is).
      auto step = [&](size_t dice) -> bool {
        grpc::Status last;
        if (dice < 15 || out->opps.size() < 3) {
          // CreateOpportunity, retried with its request_id.
          v1::CreateOpportunityRequest req;
          const std::string rid = absl::StrCat("fault-", t, "-", ++seq);
          v1::Opportunity* o = req.mutable_opportunity();
          o->set_account_id(accounts_ids_[pick(accounts_ids_.size())]);
          o->set_owner_node_id(reps_[pick(reps_.size())].id());
          o->set_name(rid);
          *o->mutable_amount() =
              Eur(static_cast<int64_t>(10'000 + pick(500'000'000)));
          *o->mutable_expected_close_date() =
              ToDate(today + static_cast<int>(pick(horizon + 1)));
          o->set_stage_model_id(kModel);
          req.set_request_id(rid);
          v1::Opportunity resp;
          const Outcome outcome = Call(
              [&](auto* c, const auto& r, auto* x) {
                return pipeline_->CreateOpportunity(c, r, x);
              },
              req, &resp, &last);
          count("create", outcome, last);
          out->creates.push_back({rid, outcome, resp.id()});
          if (outcome == Outcome::kAcked) {
            Tracked tr;
            tr.request_id = rid;
            tr.known = resp;
            tr.last_ack = resp;
            out->opps.push_back(std::move(tr));
          }
          return true;
        }
        if (dice < 55) {
          // MoveStage: mostly one forward, sometimes straight into USAGE or
          // anywhere else; never out of USAGE.
          Tracked* o = choose([](const v1::Opportunity& x) {
            return x.status() == v1::OPPORTUNITY_STATUS_OPEN &&
                   x.stage_key() != kUsage;
          });
          if (o == nullptr) {
            return false;
          }
          const int at = StageIndex(o->known.stage_key());
          const size_t r = pick(100);
          int to = at + 1;
          if (r >= 65 && r < 80) {
            to = model_.stages_size() - 1;
          } else if (r >= 80) {
            to = static_cast<int>(pick(model_.stages_size() - 1));
            if (to == at) {
              to = at + 1;
            }
          }
          v1::MoveStageRequest req;
          req.set_opportunity_id(o->known.id());
          req.set_to_stage_key(model_.stages(to).key());
          req.set_expected_version(o->known.version());
          req.set_override_reason("fault load");
          v1::Opportunity resp;
          const Outcome outcome =
              Call([&](auto* c, const auto& r,
                       auto* x) { return pipeline_->MoveStage(c, r, x); },
                   req, &resp, &last);
          count(to == model_.stages_size() - 1              ? "move-usage"
                : model_.stages(to).requires_credit_check() ? "move-commitment"
                                                            : "move",
                outcome, last);
          settle(o, outcome, resp,
                 to > at ? v1::CHANGE_KIND_STAGE_FORWARD
                         : v1::CHANGE_KIND_STAGE_BACKWARD,
                 model_.stages(to).key());
          return true;
        }
        if (dice < 62) {
          Tracked* o = choose([](const v1::Opportunity& x) {
            return x.status() == v1::OPPORTUNITY_STATUS_OPEN;
          });
          if (o == nullptr) {
            return false;
          }
          const v1::OpportunityStatus outcomes[] = {
              v1::OPPORTUNITY_STATUS_WON,
              v1::OPPORTUNITY_STATUS_WON,
              v1::OPPORTUNITY_STATUS_LOST,
              v1::OPPORTUNITY_STATUS_LOST,
              v1::OPPORTUNITY_STATUS_NO_DECISION,
              v1::OPPORTUNITY_STATUS_ABANDONED};
          v1::CloseOpportunityRequest req;
          req.set_opportunity_id(o->known.id());
          req.set_outcome(outcomes[pick(6)]);
          req.set_reason("fault load");
          req.set_expected_version(o->known.version());
          v1::Opportunity resp;
          const Outcome outcome = Call(
              [&](auto* c, const auto& r, auto* x) {
                return pipeline_->CloseOpportunity(c, r, x);
              },
              req, &resp, &last);
          count(req.outcome() == v1::OPPORTUNITY_STATUS_WON ? "close-won"
                                                            : "close-lost",
                outcome, last);
          settle(o, outcome, resp, v1::CHANGE_KIND_CLOSED,
                 v1::OpportunityStatus_Name(req.outcome())
                     .substr(std::string("OPPORTUNITY_STATUS_").size()));
          return true;
        }
        if (dice < 85) {
          // Pays a USAGE opportunity's contract receivable in full.
          Tracked* o = choose([](const v1::Opportunity& x) {
            return x.status() == v1::OPPORTUNITY_STATUS_OPEN &&
                   x.stage_key() == kUsage;
          });
          if (o == nullptr) {
            return false;
          }
          v1::ListReceivablesRequest lreq;
          lreq.set_opportunity_id(o->known.id());
          v1::ListReceivablesResponse list;
          if (Call([&](auto* c, const auto& r,
                       auto* x) { return credit_->ListReceivables(c, r, x); },
                   lreq, &list) != Outcome::kAcked) {
            return false;
          }
          const v1::Receivable* contract = nullptr;
          for (const v1::Receivable& r : list.receivables()) {
            if (r.source() == v1::RECEIVABLE_SOURCE_CONTRACT_SIGNED &&
                r.state() == v1::RECEIVABLE_STATE_OPEN) {
              contract = &r;
            }
          }
          if (contract == nullptr) {
            return false;  // credit has not opened it yet
          }
          PaymentRecord p;
          p.external_id = absl::StrCat("fault-pay-", t, "-", ++seq);
          p.account_id = contract->account_id();
          p.receivable_id = contract->id();
          p.opportunity_id = o->known.id();
          p.amount = contract->open().units_minor();
          v1::RecordPaymentRequest req;
          req.set_account_id(p.account_id);
          *req.mutable_amount() = Eur(p.amount);
          *req.mutable_date() = ToDate(TodayUtc());
          req.set_external_id(p.external_id);
          v1::Allocation* a = req.add_allocations();
          a->set_receivable_id(p.receivable_id);
          *a->mutable_amount() = Eur(p.amount);
          v1::Payment resp;
          p.outcome =
              Call([&](auto* c, const auto& r,
                       auto* x) { return credit_->RecordPayment(c, r, x); },
                   req, &resp, &last);
          count("pay-contract", p.outcome, last);
          p.payment_id = resp.id();
          if (p.outcome != Outcome::kRejected) {
            // Left alone from now on: pipeline closes it from credit's feed.
            o->paid = true;
            o->payment_acked_clean =
                p.outcome == Outcome::kAcked && !o->any_unknown;
          }
          out->payments.push_back(std::move(p));
          return true;
        }
        std::vector<PostRecord*> payable;
        for (PostRecord& p : out->posts) {
          if (p.outcome == Outcome::kAcked && !p.uncertain && p.open > 0) {
            payable.push_back(&p);
          }
        }
        if (dice < 93 || payable.empty()) {
          // An ERP invoice, idempotent by its external id.
          PostRecord p;
          p.external_id = absl::StrCat("fault-inv-", t, "-", ++seq);
          p.account_id = accounts_ids_[pick(accounts_ids_.size())];
          p.amount = static_cast<int64_t>(100 + pick(10'000'000));
          v1::PostReceivableRequest req;
          req.mutable_receivable()->set_account_id(p.account_id);
          *req.mutable_receivable()->mutable_amount() = Eur(p.amount);
          *req.mutable_receivable()->mutable_issue_date() = ToDate(today);
          req.set_external_id(p.external_id);
          v1::Receivable resp;
          p.outcome =
              Call([&](auto* c, const auto& r,
                       auto* x) { return credit_->PostReceivable(c, r, x); },
                   req, &resp, &last);
          count("post-invoice", p.outcome, last);
          p.receivable_id = resp.id();
          p.open = p.amount;
          out->posts.push_back(std::move(p));
          return true;
        }
        // A payment of an ERP invoice, in part or in full.
        PostRecord* inv = payable[pick(payable.size())];
        PaymentRecord p;
        p.external_id = absl::StrCat("fault-pay-", t, "-", ++seq);
        p.account_id = inv->account_id;
        p.receivable_id = inv->receivable_id;
        p.amount = pick(2) == 0 ? inv->open
                                : 1 + static_cast<int64_t>(
                                          pick(static_cast<size_t>(inv->open)));
        v1::RecordPaymentRequest req;
        req.set_account_id(p.account_id);
        *req.mutable_amount() = Eur(p.amount);
        *req.mutable_date() = ToDate(TodayUtc());
        req.set_external_id(p.external_id);
        v1::Allocation* a = req.add_allocations();
        a->set_receivable_id(p.receivable_id);
        *a->mutable_amount() = Eur(p.amount);
        v1::Payment resp;
        p.outcome =
            Call([&](auto* c, const auto& r,
                     auto* x) { return credit_->RecordPayment(c, r, x); },
                 req, &resp, &last);
        count("pay-invoice", p.outcome, last);
        p.payment_id = resp.id();
        if (p.outcome == Outcome::kAcked) {
          inv->open -= p.amount;
        } else if (p.outcome == Outcome::kUnknown) {
          inv->uncertain = true;
        }
        out->payments.push_back(std::move(p));
        return true;
      };
      if (!step(pick(100))) {
        step(0);
      }
    }
  }

  // Each service in turn, kRounds times: SIGKILL at a random moment of the
  // load, down for 300..800 ms, restarted on the same port and data dir.
  void Killer(uint32_t seed) {
    std::mt19937 rng(seed);
    auto ms = [&rng](int lo, int hi) {
      return absl::Milliseconds(
          std::uniform_int_distribution<int>(lo, hi)(rng));
    };
    absl::SleepFor(ms(500, 1000));
    bool ok = true;
    for (int round = 0; round < kRounds && ok; ++round) {
      for (Svc v : {kAccountsSvc, kPipelineSvc, kForecastSvc, kCreditSvc}) {
        KillRecord k;
        k.victim = v;
        k.killed = absl::Now();
        if (Kill(v)) {
          absl::SleepFor(ms(300, 800));
          k.ok = Start(v);
        }
        k.ready = absl::Now();
        kills_.push_back(k);
        ok = k.ok;
        if (!ok) {
          break;
        }
        absl::SleepFor(ms(600, 1200));
      }
    }
    kills_done_.store(true);
  }

  // ---- reading everything back ----

  template <typename Req, typename Resp, typename F>
  bool Read(F rpc, const Req& req, Resp* resp) {
    grpc::Status last;
    const Outcome o = Call(rpc, req, resp, &last);
    EXPECT_EQ(o, Outcome::kAcked) << Describe(last);
    return o == Outcome::kAcked;
  }

  bool ListOpportunities(std::vector<v1::Opportunity>* out) {
    out->clear();
    std::string token;
    for (int page = 0; page < 100; ++page) {
      v1::ListOpportunitiesRequest req;
      req.set_page_size(1000);
      req.set_page_token(token);
      v1::ListOpportunitiesResponse resp;
      if (!Read([&](auto* c, const auto& r,
                    auto* x) { return pipeline_->ListOpportunities(c, r, x); },
                req, &resp)) {
        return false;
      }
      out->insert(out->end(), resp.opportunities().begin(),
                  resp.opportunities().end());
      token = resp.next_page_token();
      if (token.empty()) {
        return true;
      }
    }
    ADD_FAILURE() << "ListOpportunities: too many pages";
    return false;
  }

  bool ListCollections(std::map<std::string, v1::OpportunityCollection>* out) {
    out->clear();
    std::string token;
    for (int page = 0; page < 100; ++page) {
      v1::ListOpportunityCollectionsRequest req;
      req.set_page_size(1000);
      req.set_page_token(token);
      v1::ListOpportunityCollectionsResponse resp;
      if (!Read(
              [&](auto* c, const auto& r, auto* x) {
                return credit_->ListOpportunityCollections(c, r, x);
              },
              req, &resp)) {
        return false;
      }
      for (const v1::OpportunityCollection& c : resp.collections()) {
        (*out)[c.opportunity_id()] = c;
      }
      token = resp.next_page_token();
      if (token.empty()) {
        return true;
      }
    }
    ADD_FAILURE() << "ListOpportunityCollections: too many pages";
    return false;
  }

  // Every receivable and every payment of the test's accounts.
  bool ListCredit(std::vector<v1::Receivable>* receivables,
                  std::vector<v1::Payment>* payments) {
    receivables->clear();
    payments->clear();
    for (const std::string& account : accounts_ids_) {
      std::string token;
      for (int page = 0;; ++page) {
        if (page == 100) {
          ADD_FAILURE() << "ListReceivables: too many pages";
          return false;
        }
        v1::ListReceivablesRequest req;
        req.set_account_id(account);
        req.set_page_size(1000);
        req.set_page_token(token);
        v1::ListReceivablesResponse resp;
        if (!Read([&](auto* c, const auto& r,
                      auto* x) { return credit_->ListReceivables(c, r, x); },
                  req, &resp)) {
          return false;
        }
        receivables->insert(receivables->end(), resp.receivables().begin(),
                            resp.receivables().end());
        token = resp.next_page_token();
        if (token.empty()) {
          break;
        }
      }
      token.clear();
      for (int page = 0;; ++page) {
        if (page == 100) {
          ADD_FAILURE() << "ListPayments: too many pages";
          return false;
        }
        v1::ListPaymentsRequest req;
        req.set_account_id(account);
        req.set_page_size(1000);
        req.set_page_token(token);
        v1::ListPaymentsResponse resp;
        if (!Read([&](auto* c, const auto& r,
                      auto* x) { return credit_->ListPayments(c, r, x); },
                  req, &resp)) {
          return false;
        }
        payments->insert(payments->end(), resp.payments().begin(),
                         resp.payments().end());
        token = resp.next_page_token();
        if (token.empty()) {
          break;
        }
      }
    }
    return true;
  }

  uint64_t FeedPosition(Svc v) {
    v1::GetFeedPositionResponse pos;
    if (!Read([&](auto* c, const auto& r,
                  auto* x) { return feeds_[v]->GetFeedPosition(c, r, x); },
              v1::GetFeedPositionRequest(), &pos)) {
      return 0;
    }
    return pos.sequence();
  }

  // What is still to happen across the services in a snapshot: a USAGE
  // opportunity without its contract receivable, or one OPEN in USAGE whose
  // receivables are all paid. Empty when settled.
  static std::string Pending(const std::vector<v1::Opportunity>& opps,
                             const std::vector<v1::Receivable>& receivables) {
    std::map<std::string, std::vector<const v1::Receivable*>> of;
    for (const v1::Receivable& r : receivables) {
      if (!r.opportunity_id().empty()) {
        of[r.opportunity_id()].push_back(&r);
      }
    }
    for (const v1::Opportunity& o : opps) {
      if (o.stage_key() != kUsage) {
        continue;
      }
      const auto it = of.find(o.id());
      if (it == of.end()) {
        return absl::StrCat(o.id(), " in USAGE has no receivable yet");
      }
      const bool all_paid = std::all_of(
          it->second.begin(), it->second.end(), [](const v1::Receivable* r) {
            return r->state() == v1::RECEIVABLE_STATE_PAID;
          });
      if (all_paid && o.status() == v1::OPPORTUNITY_STATUS_OPEN) {
        return absl::StrCat(o.id(), " paid in full but still OPEN in USAGE");
      }
    }
    return "";
  }

  testing::TempDir dir_;
  int ports_[kSvcs] = {};
  Service services_[kSvcs];
  std::vector<std::unique_ptr<testing::Process>> dead_;
  std::shared_ptr<grpc::Channel> channels_[kSvcs];
  std::unique_ptr<v1::FeedService::Stub> feeds_[kSvcs];
  std::unique_ptr<v1::AccountsService::Stub> accounts_;
  std::unique_ptr<v1::PipelineService::Stub> pipeline_;
  std::unique_ptr<v1::ForecastService::Stub> forecast_;
  std::unique_ptr<v1::CreditService::Stub> credit_;

  v1::OrgNode root_;
  std::vector<v1::OrgNode> reps_;
  std::vector<std::string> accounts_ids_;
  v1::StageModel model_;
  std::atomic<bool> kills_done_{false};
  std::vector<KillRecord> kills_;
};

struct Expected {
  int64_t closed = 0;
  int64_t weighted = 0;
  int64_t collected = 0;
  std::map<std::string, std::array<int64_t, 3>> funnel;  // count/total/weighted
};

TEST_F(FaultE2eTest, AcknowledgedWritesSurviveSigkillOfEachService) {
  const absl::Time start = absl::Now();
  ASSERT_NO_FATAL_FAILURE(BuildWorld());

  // ---- the load, and the kills meanwhile ----
  const uint32_t seed = std::random_device{}();
  std::cout << "seed " << seed << "\n";
  std::vector<WorkerResult> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(
        [this, t, seed, &results] { Worker(t, seed + t + 1, &results[t]); });
  }
  std::thread killer([this, seed] { Killer(seed); });
  killer.join();
  for (std::thread& th : threads) {
    th.join();
  }
  const absl::Time load_end = absl::Now();
  ASSERT_EQ(kills_.size(), static_cast<size_t>(4 * kRounds));
  for (const KillRecord& k : kills_) {
    ASSERT_TRUE(k.ok) << kSvcName[k.victim] << " did not restart";
  }

  // Merged records.
  std::vector<const Tracked*> opps;
  std::vector<AckedChange> changes;
  std::vector<CreateRecord> creates;
  std::vector<PaymentRecord> payments;
  std::vector<PostRecord> posts;
  std::map<std::string, std::array<int, 3>> by_kind;
  std::map<std::string, int> rejections;
  int acked = 0, rejected = 0, unknown = 0, writes = 0, retried = 0;
  std::vector<absl::Time> ack_times;
  for (const WorkerResult& r : results) {
    for (const Tracked& o : r.opps) {
      opps.push_back(&o);
    }
    changes.insert(changes.end(), r.changes.begin(), r.changes.end());
    creates.insert(creates.end(), r.creates.begin(), r.creates.end());
    payments.insert(payments.end(), r.payments.begin(), r.payments.end());
    posts.insert(posts.end(), r.posts.begin(), r.posts.end());
    for (const auto& [kind, n] : r.by_kind) {
      for (int i = 0; i < 3; ++i) {
        by_kind[kind][i] += n[i];
      }
      acked += n[0];
      rejected += n[1];
      unknown += n[2];
    }
    for (const auto& [what, n] : r.rejections) {
      rejections[what] += n;
    }
    ack_times.insert(ack_times.end(), r.ack_times.begin(), r.ack_times.end());
    writes += r.writes;
    retried += r.retried_acks;
  }
  EXPECT_EQ(writes, kThreads * kWritesPerThread);
  std::string kinds;
  for (const auto& [kind, n] : by_kind) {
    absl::StrAppend(&kinds, " ", kind, "=", n[0], "/", n[1], "/", n[2]);
  }
  std::string during;
  for (const KillRecord& k : kills_) {
    const int n = static_cast<int>(std::count_if(
        ack_times.begin(), ack_times.end(),
        [&](absl::Time t) { return t >= k.killed && t <= k.ready; }));
    absl::StrAppend(&during, " ", kSvcName[k.victim], ":",
                    absl::ToInt64Milliseconds(k.ready - k.killed), "ms/", n,
                    "acks");
  }
  std::cout << "load took " << absl::FormatDuration(load_end - start)
            << "; acked/rejected/unknown by kind:" << kinds
            << "\nkilled (down until ready / acks meanwhile):" << during
            << "\n";
  for (const std::string& c : unknown_calls) {
    std::cout << "unknown: " << c << "\n";
  }
  // A definite refusal is only ever a version conflict or a state change
  // (credit closed a deal under a stale copy); anything else is a bug.
  for (const auto& [what, n] : rejections) {
    const bool expected =
        absl::EndsWith(
            what,
            absl::StrCat(" ", static_cast<int>(grpc::StatusCode::ABORTED))) ||
        absl::EndsWith(
            what,
            absl::StrCat(
                " ", static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION)));
    EXPECT_TRUE(expected) << n << " x " << what;
  }
  // Most writes are acknowledged: the retries outlast a restart.
  EXPECT_GT(acked, kThreads * kWritesPerThread / 2);

  // ---- settle: feeds caught up across the services (bounded) ----
  std::vector<v1::Opportunity> listed;
  std::vector<v1::Receivable> receivables;
  std::vector<v1::Payment> listed_payments;
  std::map<std::string, v1::OpportunityCollection> collections;
  {
    std::string why = "not tried";
    uint64_t prev[kSvcs] = {};
    bool settled = false;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    for (int round = 0; round < 300 && absl::Now() < deadline; ++round) {
      uint64_t pos[kSvcs] = {};
      for (Svc v : {kAccountsSvc, kPipelineSvc, kCreditSvc}) {
        pos[v] = FeedPosition(v);
      }
      if (!ListOpportunities(&listed) ||
          !ListCredit(&receivables, &listed_payments)) {
        why = "a list failed";
        absl::SleepFor(absl::Milliseconds(200));
        continue;
      }
      why = Pending(listed, receivables);
      if (why.empty()) {
        v1::GetForecastRequest req;
        req.set_node_id(root_.id());
        const absl::CivilDay today = TodayUtc();
        req.set_fiscal_year(static_cast<int32_t>(today.year()));
        req.set_fiscal_quarter((today.month() - 1) / 3 + 1);
        req.set_skip_children(true);
        v1::Forecast f;
        if (Read([&](auto* c, const auto& r,
                     auto* x) { return forecast_->GetForecast(c, r, x); },
                 req, &f)) {
          if (f.pipeline_sequence() < pos[kPipelineSvc] ||
              f.credit_sequence() < pos[kCreditSvc] ||
              f.accounts_sequence() < pos[kAccountsSvc]) {
            why = absl::StrCat("forecast at ", f.ShortDebugString(),
                               " behind feeds ", pos[kAccountsSvc], "/",
                               pos[kPipelineSvc], "/", pos[kCreditSvc]);
          }
        } else {
          why = "GetForecast failed";
        }
      }
      const bool same =
          std::equal(std::begin(pos), std::end(pos), std::begin(prev));
      std::copy(std::begin(pos), std::end(pos), std::begin(prev));
      if (why.empty() && same) {
        settled = true;
        break;
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
    ASSERT_TRUE(settled) << "not settled within 60 s: " << why;
    ASSERT_TRUE(ListCollections(&collections));
  }
  const absl::Time settled_at = absl::Now();

  // ---- every acknowledged create exists once, an unknown one at most once
  std::map<std::string, std::vector<const v1::Opportunity*>> by_name;
  std::map<std::string, const v1::Opportunity*> by_id;
  for (const v1::Opportunity& o : listed) {
    by_name[o.name()].push_back(&o);
    by_id[o.id()] = &o;
  }
  int creates_unknown_present = 0;
  {
    std::set<std::string> names;
    for (const CreateRecord& c : creates) {
      names.insert(c.request_id);
      const auto it = by_name.find(c.request_id);
      const size_t n = it == by_name.end() ? 0 : it->second.size();
      SCOPED_TRACE(c.request_id);
      switch (c.outcome) {
        case Outcome::kAcked:
          ASSERT_EQ(n, 1u) << "an acknowledged create is lost or doubled";
          EXPECT_EQ(it->second[0]->id(), c.id);
          break;
        case Outcome::kUnknown:
          EXPECT_LE(n, 1u) << "a retried create was doubled";
          creates_unknown_present += static_cast<int>(n);
          break;
        case Outcome::kRejected:
          EXPECT_EQ(n, 0u) << "a rejected create was written";
          break;
      }
    }
    for (const auto& [name, list] : by_name) {
      EXPECT_EQ(names.count(name), 1u)
          << "an opportunity nobody created: " << name;
    }
  }

  // ---- every acknowledged change is in the history at its version; the
  // last acknowledged state holds unless an unknown write followed.
  std::map<std::string, std::vector<const AckedChange*>> changes_of;
  for (const AckedChange& c : changes) {
    changes_of[c.opportunity_id].push_back(&c);
  }
  int closed_by_credit = 0;
  for (const Tracked* t : opps) {
    const std::string& id = t->last_ack.id();
    SCOPED_TRACE(id);
    const auto found = by_id.find(id);
    ASSERT_NE(found, by_id.end()) << "an acknowledged opportunity is lost";
    const v1::Opportunity& now = *found->second;
    EXPECT_GE(now.version(), t->last_ack.version());
    v1::GetOpportunityHistoryRequest req;
    req.set_opportunity_id(id);
    v1::GetOpportunityHistoryResponse h;
    ASSERT_TRUE(
        Read([&](auto* c, const auto& r,
                 auto* x) { return pipeline_->GetOpportunityHistory(c, r, x); },
             req, &h));
    EXPECT_EQ(now.history_length(), h.changes_size());
    std::map<int64_t, std::vector<const v1::OpportunityChange*>> at_version;
    for (const v1::OpportunityChange& c : h.changes()) {
      at_version[c.opportunity_version()].push_back(&c);
    }
    for (const AckedChange* c : changes_of[id]) {
      const auto it = at_version.find(c->version);
      bool present = false;
      if (it != at_version.end()) {
        for (const v1::OpportunityChange* e : it->second) {
          present |= e->kind() == c->kind && e->to() == c->to;
        }
      }
      EXPECT_TRUE(present) << "acknowledged " << v1::ChangeKind_Name(c->kind)
                           << " to " << c->to << " at version " << c->version
                           << " is not in the history";
    }
    const bool by_credit = now.status() == v1::OPPORTUNITY_STATUS_WON &&
                           now.close_reason() == "collected in full" &&
                           !h.changes().empty() &&
                           h.changes(h.changes_size() - 1).by() == "credit";
    closed_by_credit += by_credit;
    if (!t->tail_unknown) {
      if (now.version() == t->last_ack.version()) {
        EXPECT_EQ(now.stage_key(), t->last_ack.stage_key());
        EXPECT_EQ(now.status(), t->last_ack.status());
        EXPECT_EQ(now.amount().units_minor(),
                  t->last_ack.amount().units_minor());
      } else {
        // Only credit's close may follow the last acknowledged write.
        EXPECT_TRUE(by_credit && now.version() == t->last_ack.version() + 1 &&
                    t->last_ack.status() == v1::OPPORTUNITY_STATUS_OPEN &&
                    t->last_ack.stage_key() == kUsage)
            << "changed after its last acknowledged write: "
            << t->last_ack.ShortDebugString() << " -> "
            << now.ShortDebugString();
      }
    }
    if (t->payment_acked_clean) {
      EXPECT_TRUE(by_credit) << "paid in full in USAGE but not WON by credit: "
                             << now.ShortDebugString();
    }
  }

  // ---- payments and ERP invoices by external id ----
  std::map<std::string, std::vector<const v1::Payment*>> pay_by_ext;
  for (const v1::Payment& p : listed_payments) {
    pay_by_ext[p.external_id()].push_back(&p);
  }
  std::map<std::string, std::vector<const v1::Receivable*>> inv_by_ext;
  std::map<std::string, std::vector<const v1::Receivable*>> contract_of;
  std::map<std::string, const v1::Receivable*> receivable_by_id;
  for (const v1::Receivable& r : receivables) {
    receivable_by_id[r.id()] = &r;
    if (r.source() == v1::RECEIVABLE_SOURCE_POSTED) {
      inv_by_ext[r.external_id()].push_back(&r);
    } else {
      EXPECT_EQ(r.source(), v1::RECEIVABLE_SOURCE_CONTRACT_SIGNED);
      contract_of[r.opportunity_id()].push_back(&r);
    }
  }
  {
    std::set<std::string> ext;
    for (const PaymentRecord& p : payments) {
      ext.insert(p.external_id);
      SCOPED_TRACE(p.external_id);
      const auto it = pay_by_ext.find(p.external_id);
      const size_t n = it == pay_by_ext.end() ? 0 : it->second.size();
      if (p.outcome == Outcome::kAcked) {
        ASSERT_EQ(n, 1u) << "an acknowledged payment is lost or doubled";
        EXPECT_EQ(it->second[0]->id(), p.payment_id);
        EXPECT_EQ(it->second[0]->amount().units_minor(), p.amount);
      } else if (p.outcome == Outcome::kUnknown) {
        EXPECT_LE(n, 1u) << "a retried payment was doubled";
      } else {
        EXPECT_EQ(n, 0u) << "a rejected payment was written";
      }
      if (n == 1) {
        const v1::Payment& got = *it->second[0];
        ASSERT_EQ(got.allocations_size(), 1);
        EXPECT_EQ(got.allocations(0).receivable_id(), p.receivable_id);
        if (!p.opportunity_id.empty()) {
          // In full: the contract receivable is paid.
          const auto r = receivable_by_id.find(p.receivable_id);
          ASSERT_NE(r, receivable_by_id.end());
          EXPECT_EQ(r->second->state(), v1::RECEIVABLE_STATE_PAID);
        }
      }
    }
    for (const auto& [e, list] : pay_by_ext) {
      EXPECT_EQ(ext.count(e), 1u) << "a payment nobody recorded: " << e;
    }
    std::set<std::string> inv;
    for (const PostRecord& p : posts) {
      inv.insert(p.external_id);
      SCOPED_TRACE(p.external_id);
      const auto it = inv_by_ext.find(p.external_id);
      const size_t n = it == inv_by_ext.end() ? 0 : it->second.size();
      if (p.outcome == Outcome::kAcked) {
        ASSERT_EQ(n, 1u) << "an acknowledged invoice is lost or doubled";
        EXPECT_EQ(it->second[0]->id(), p.receivable_id);
        EXPECT_EQ(it->second[0]->amount().units_minor(), p.amount);
        if (!p.uncertain) {
          EXPECT_EQ(it->second[0]->open().units_minor(), p.open);
        }
      } else if (p.outcome == Outcome::kUnknown) {
        EXPECT_LE(n, 1u) << "a retried invoice was doubled";
      } else {
        EXPECT_EQ(n, 0u) << "a rejected invoice was written";
      }
    }
    for (const auto& [e, list] : inv_by_ext) {
      EXPECT_EQ(inv.count(e), 1u) << "an invoice nobody posted: " << e;
    }
  }
  // Σ paid per receivable = Σ its payments' allocations.
  {
    std::map<std::string, int64_t> allocated;
    for (const v1::Payment& p : listed_payments) {
      for (const v1::Allocation& a : p.allocations()) {
        allocated[a.receivable_id()] += a.amount().units_minor();
      }
    }
    for (const v1::Receivable& r : receivables) {
      EXPECT_EQ(r.paid().units_minor(), allocated[r.id()]) << r.id();
      EXPECT_EQ(r.open().units_minor(),
                r.amount().units_minor() - r.paid().units_minor())
          << r.id();
    }
  }

  // ---- contracts: exactly one receivable per USAGE opportunity ----
  int in_usage = 0;
  for (const v1::Opportunity& o : listed) {
    const auto it = contract_of.find(o.id());
    const size_t n = it == contract_of.end() ? 0 : it->second.size();
    SCOPED_TRACE(o.ShortDebugString());
    if (o.stage_key() == kUsage) {
      ++in_usage;
      ASSERT_EQ(n, 1u) << "USAGE opportunity without exactly one contract";
      EXPECT_EQ(it->second[0]->amount().units_minor(),
                o.amount().units_minor());
      EXPECT_EQ(it->second[0]->account_id(), o.account_id());
      if (it->second[0]->state() == v1::RECEIVABLE_STATE_PAID) {
        // The load pays only OPEN deals and leaves them alone afterwards.
        EXPECT_EQ(o.status(), v1::OPPORTUNITY_STATUS_WON)
            << "paid in full in USAGE but not WON";
      }
    } else {
      EXPECT_EQ(n, 0u) << "a contract receivable for a deal never in USAGE";
    }
  }
  for (const auto& [opp, list] : contract_of) {
    EXPECT_EQ(by_id.count(opp), 1u) << "a contract of no opportunity: " << opp;
  }

  // ---- the forecast against a brute-force recomputation ----
  std::map<std::string, std::string> parent;
  {
    v1::ListOrgNodesRequest req;
    req.set_page_size(1000);
    v1::ListOrgNodesResponse resp;
    ASSERT_TRUE(Read([&](auto* c, const auto& r,
                         auto* x) { return accounts_->ListOrgNodes(c, r, x); },
                     req, &resp));
    for (const v1::OrgNode& n : resp.nodes()) {
      parent[n.id()] = n.parent_id();
    }
  }
  v1::StageModel model;
  {
    v1::GetStageModelRequest req;
    req.set_id(kModel);
    ASSERT_TRUE(Read([&](auto* c, const auto& r,
                         auto* x) { return pipeline_->GetStageModel(c, r, x); },
                     req, &model));
  }
  std::map<std::pair<std::string, int>, Expected> expected;
  std::set<int> quarters;
  {
    const absl::CivilDay today = TodayUtc();
    quarters.insert(QuarterKey(today.year(), today.month()));
    quarters.insert(QuarterKey(today.year(), today.month()) + 1);
  }
  int won = 0;
  for (const v1::Opportunity& o : listed) {
    int quarter = 0;
    if (o.status() == v1::OPPORTUNITY_STATUS_OPEN) {
      quarter = QuarterKey(o.expected_close_date().year(),
                           o.expected_close_date().month());
    } else if (o.status() == v1::OPPORTUNITY_STATUS_WON) {
      const absl::CivilDay day = absl::ToCivilDay(
          absl::FromUnixMicros(o.closed_micros()), absl::UTCTimeZone());
      quarter = QuarterKey(day.year(), day.month());
      ++won;
    } else {
      continue;
    }
    quarters.insert(quarter);
    int32_t bp = -1;
    for (const v1::Stage& s : model.stages()) {
      if (s.key() == o.stage_key()) {
        bp = s.win_rate_bp();
      }
    }
    ASSERT_GE(bp, 0) << o.stage_key();
    const int64_t amount = o.amount().units_minor();
    const __int128 num = static_cast<__int128>(amount) * bp;
    int64_t weighted = static_cast<int64_t>(num / 10000);
    const int64_t rem = static_cast<int64_t>(num % 10000);
    if (rem > 5000 || (rem == 5000 && weighted % 2 != 0)) {
      ++weighted;
    }
    int64_t collected = 0;
    if (const auto c = collections.find(o.id()); c != collections.end()) {
      collected = std::max<int64_t>(
          0, std::min(c->second.collected().units_minor(), amount));
    }
    int depth = 0;
    for (std::string at = o.owner_node_id(); !at.empty() && depth < 20;
         at = parent[at], ++depth) {
      Expected& e = expected[{at, quarter}];
      if (o.status() == v1::OPPORTUNITY_STATUS_WON) {
        e.closed += amount;
        e.collected += collected;
      } else {
        e.weighted += weighted;
        auto& row = e.funnel[o.stage_key()];
        row[0] += 1;
        row[1] += amount;
        row[2] += weighted;
      }
    }
  }
  int compared = 0;
  const uint64_t pipeline_at = FeedPosition(kPipelineSvc);
  for (const auto& [node, unused] : parent) {
    for (int q : quarters) {
      v1::GetForecastRequest req;
      req.set_node_id(node);
      req.set_fiscal_year(q / 4);
      req.set_fiscal_quarter(q % 4 + 1);
      req.set_skip_children(true);
      req.set_min_pipeline_sequence(pipeline_at);
      v1::Forecast f;
      ASSERT_TRUE(Read([&](auto* c, const auto& r,
                           auto* x) { return forecast_->GetForecast(c, r, x); },
                       req, &f));
      const Expected& e = expected[{node, q}];
      SCOPED_TRACE(absl::StrCat(node, " FY", q / 4, "-Q", q % 4 + 1));
      EXPECT_EQ(f.node().closed().units_minor(), e.closed);
      EXPECT_EQ(f.node().pipeline_weighted().units_minor(), e.weighted);
      EXPECT_EQ(f.node().forecast().units_minor(), e.closed + e.weighted);
      EXPECT_EQ(f.node().collected().units_minor(), e.collected);
      EXPECT_EQ(f.funnel_size(), static_cast<int>(e.funnel.size()));
      for (const v1::FunnelRow& r : f.funnel()) {
        const auto it = e.funnel.find(r.stage_key());
        ASSERT_NE(it, e.funnel.end()) << r.stage_key();
        EXPECT_EQ(r.count(), it->second[0]) << r.stage_key();
        EXPECT_EQ(r.total().units_minor(), it->second[1]) << r.stage_key();
        EXPECT_EQ(r.weighted().units_minor(), it->second[2]) << r.stage_key();
      }
      ++compared;
    }
  }
  EXPECT_EQ(parent.size(), static_cast<size_t>(1 + 2 + 2 + kReps));

  std::cout << "fault test: " << writes << " writes, " << acked
            << " acknowledged (" << retried << " after a retry), " << unknown
            << " unknown (" << creates_unknown_present
            << " unknown creates present), " << rejected << " rejected; "
            << kills_.size() << " kills; " << listed.size()
            << " opportunities (" << in_usage << " in USAGE, " << won
            << " WON, " << closed_by_credit << " closed by credit), "
            << listed_payments.size() << " payments, " << receivables.size()
            << " receivables; " << compared
            << " node-quarters compared; settled in "
            << absl::FormatDuration(settled_at - load_end) << ", total "
            << absl::FormatDuration(absl::Now() - start) << "\n";
}

}  // namespace
}  // namespace salesops
