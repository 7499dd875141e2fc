// The edge of field bounds on the four real binaries (issue 16 "Bounds at the
// edge"; docs/API.md §3a; common/server/bounds.h):
//   - every method of every salesops.v1 service in the descriptor pool, on
//     every binary that serves it, called by ADMIN with one string field set
//     one code point over its bound (the first string field a depth-first walk
//     of the request type finds), answers INVALID_ARGUMENT naming that field
//     and its bound, and UNAUTHENTICATED without a token; methods whose
//     requests have no string field are skipped and counted — nothing is
//     listed by hand, so a new RPC is covered the day it is added;
//   - every method answers request bytes that do not parse with
//     INVALID_ARGUMENT "request: not a valid <request type>";
//   - a CreateAccount carrying unknown fields (at the top and inside
//     `account`) is accepted and neither its answer, nor the stored account
//     read back, nor its feed event carries any of them;
//   - the largest opportunity the bounds let a client create, measured.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/server/bounds.h"
#include "common/testing/temp_dir.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/audit.grpc.pb.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/feed.grpc.pb.h"
#include "salesops/v1/forecast.grpc.pb.h"
#include "salesops/v1/options.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "salesops/v1/webhook.grpc.pb.h"
#include "tests/e2e.h"

namespace salesops {
namespace {

using e2e::Ctx;
using e2e::Describe;
using e2e::Service;
using e2e::TokenLine;
using e2e::WriteFile;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;
using grpc::StatusCode;

constexpr char kAdmin[] = "bounds-admin-token";
constexpr char kPeer[] = "bounds-peer-token";
constexpr const char* kNames[] = {"accounts", "pipeline", "forecast", "credit"};
// Not a message of any type: a length-delimited field 1 announcing 5 bytes
// and carrying 2 (every parser stops at the truncation, whatever the schema).
const std::string kUndecodable(
    "\x0a\x05"
    "ab",
    4);

// The binaries serving a service of salesops.v1: its own, or all four for
// the feed and the audit log.
std::vector<std::string> ServersOf(const ServiceDescriptor* s) {
  const std::string& n = s->name();
  if (n == "AccountsService") return {"accounts"};
  if (n == "PipelineService") return {"pipeline"};
  if (n == "ForecastService") return {"forecast"};
  if (n == "CreditService") return {"credit"};
  return {"accounts", "pipeline", "forecast", "credit"};
}

// ---- calls through the generic stub ----

class Completion {
 public:
  void Set(grpc::Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = std::move(s);
    done_ = true;
    cv_.notify_all();
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
// cancelled), else the stream's status.
template <typename T>
class FirstMessage final : public grpc::ClientBidiReactor<T, T> {
 public:
  FirstMessage(grpc::ClientContext* ctx, const T* req, T* resp)
      : ctx_(ctx), req_(req), resp_(resp) {}

  grpc::Status Run(grpc::TemplatedGenericStub<T, T>* stub,
                   const std::string& path) {
    stub->PrepareBidiStreamingCall(ctx_, path, grpc::StubOptions(), this);
    this->StartWriteLast(req_, grpc::WriteOptions());
    this->StartRead(resp_);
    this->StartCall();
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
  const T* req_;
  T* resp_;
  std::atomic<bool> got_message_{false};
  Completion done_;
};

template <typename T>
grpc::Status Invoke(const std::shared_ptr<grpc::Channel>& channel,
                    const MethodDescriptor* m, const T& req,
                    const std::string& token, T* resp) {
  auto ctx = Ctx(token);
  const std::string path =
      absl::StrCat("/", m->service()->full_name(), "/", m->name());
  grpc::TemplatedGenericStub<T, T> stub(channel);
  if (m->server_streaming()) {
    FirstMessage<T> call(ctx.get(), &req, resp);
    return call.Run(&stub, path);
  }
  Completion done;
  stub.UnaryCall(ctx.get(), path, grpc::StubOptions(), &req, resp,
                 [&done](grpc::Status s) { done.Set(std::move(s)); });
  return done.Wait();
}

// ---- oversized requests ----

uint32_t MaxLength(const FieldDescriptor* f) {
  const auto& o = f->options();
  return o.HasExtension(v1::max_length) ? o.GetExtension(v1::max_length) : 256;
}

// Sets the first string field a depth-first walk of `m` finds (declaration
// order, into singular and repeated messages) to one code point more than its
// bound, and returns the violation the edge should report; "" when `m` has no
// string field within `depth` levels.
std::string OversizeFirstString(Message* m, const std::string& prefix,
                                int depth) {
  if (depth > 8) {
    return "";
  }
  const Descriptor* d = m->GetDescriptor();
  const google::protobuf::Reflection* r = m->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const std::string path = absl::StrCat(prefix, f->name());
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      const uint32_t bound = MaxLength(f);
      const std::string value(bound + 1, 'x');
      if (f->is_repeated()) {
        r->AddString(m, f, value);
      } else {
        r->SetString(m, f, value);
      }
      return absl::StrCat(path, f->is_repeated() ? "[0]" : "", ": at most ",
                          bound, " characters (got ", bound + 1, ")");
    }
    if (f->type() != FieldDescriptor::TYPE_MESSAGE || f->is_map()) {
      continue;
    }
    Message* sub =
        f->is_repeated() ? r->AddMessage(m, f) : r->MutableMessage(m, f);
    const std::string found = OversizeFirstString(
        sub, absl::StrCat(path, f->is_repeated() ? "[0]." : "."), depth + 1);
    if (!found.empty()) {
      return found;
    }
    if (f->is_repeated()) {
      r->RemoveLast(m, f);
    } else {
      r->ClearField(m, f);
    }
  }
  return "";
}

// Everything the suite starts, shared by every test.
struct Suite {
  testing::TempDir dir;
  e2e::SuitePorts ports;
  std::map<std::string, Service> services;
};
Suite* suite = nullptr;

class BoundsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite = new Suite;
    StartAll();
  }
  static void TearDownTestSuite() {
    delete suite;
    suite = nullptr;
  }

  void SetUp() override {
    for (const char* name : kNames) {
      ASSERT_NE(suite->services[name].channel, nullptr)
          << name << " did not start; see the first test's log";
    }
  }

  void TearDown() override {
    if (!HasFailure()) {
      return;
    }
    for (const auto& [name, s] : suite->services) {
      if (s.process != nullptr) {
        const std::string log = s.process->Log();
        std::cerr << "---- " << name << " log tail\n"
                  << log.substr(log.size() > 3000 ? log.size() - 3000 : 0)
                  << "\n";
      }
    }
  }

  static void StartAll() {
    suite->ports = {e2e::FreeLoopbackPort(), e2e::FreeLoopbackPort(),
                    e2e::FreeLoopbackPort(), e2e::FreeLoopbackPort()};
    WriteFile(suite->dir.Sub("peer.token"), std::string(kPeer) + "\n");
    WriteFile(suite->dir.Sub("tokens"),
              TokenLine(kAdmin, "admin", "ADMIN") +
                  TokenLine(kPeer, "salesops-peer", "SERVICE"));
    for (const char* name : kNames) {
      Service s = e2e::Launch(
          e2e::SuiteArgs(name, suite->ports, suite->dir.path()), name);
      if (s.process != nullptr && s.port != suite->ports.Of(name)) {
        ADD_FAILURE() << name << " did not come up on its port:\n"
                      << s.process->Log();
      }
      suite->services[name] = std::move(s);
    }
  }

  static const std::shared_ptr<grpc::Channel>& Channel(
      const std::string& name) {
    return suite->services.at(name).channel;
  }

  // Every service of the salesops.v1 files the test links.
  static std::vector<const ServiceDescriptor*> PublicServices() {
    std::vector<const ServiceDescriptor*> out;
    for (const Descriptor* any :
         {v1::CreateAccountRequest::descriptor(),
          v1::CreateOpportunityRequest::descriptor(),
          v1::GetForecastRequest::descriptor(),
          v1::CheckCreditRequest::descriptor(), v1::WatchRequest::descriptor(),
          v1::ListAuditRecordsRequest::descriptor(),
          v1::CreateWebhookRequest::descriptor()}) {
      const google::protobuf::FileDescriptor* file = any->file();
      for (int i = 0; i < file->service_count(); ++i) {
        out.push_back(file->service(i));
      }
    }
    return out;
  }

  static std::unique_ptr<Message> NewRequest(const MethodDescriptor* m) {
    const Message* prototype =
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(
            m->input_type());
    return std::unique_ptr<Message>(prototype->New());
  }
};

TEST_F(BoundsE2eTest, EveryMethodRefusesAnOversizedStringNamingIt) {
  int checked = 0, methods = 0;
  std::vector<std::string> skipped;
  for (const ServiceDescriptor* service : PublicServices()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const MethodDescriptor* m = service->method(i);
      ++methods;
      std::unique_ptr<Message> req = NewRequest(m);
      const std::string expected = OversizeFirstString(req.get(), "", 0);
      if (expected.empty()) {
        skipped.push_back(m->full_name());
        continue;
      }
      for (const std::string& server : ServersOf(service)) {
        SCOPED_TRACE(absl::StrCat(m->full_name(), " on ", server));
        std::unique_ptr<Message> out(
            google::protobuf::MessageFactory::generated_factory()
                ->GetPrototype(m->output_type())
                ->New());
        grpc::Status s =
            Invoke<Message>(Channel(server), m, *req, kAdmin, out.get());
        EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);
        EXPECT_TRUE(absl::StrContains(s.error_message(), expected))
            << "expected \"" << expected << "\" in: " << s.error_message();
        s = Invoke<Message>(Channel(server), m, *req, "", out.get());
        EXPECT_EQ(s.error_code(), StatusCode::UNAUTHENTICATED) << Describe(s);
        ++checked;
      }
    }
  }
  std::cout << "[ BoundsE2eTest ] " << methods << " methods, " << checked
            << " (method, binary) calls refused, " << skipped.size()
            << " methods without a string field skipped:";
  for (const std::string& name : skipped) {
    std::cout << " " << name;
  }
  std::cout << "\n";
  // The six files were walked (85 methods when this was written), and
  // requests without any string are the exception.
  EXPECT_GE(methods, 80);
  EXPECT_LT(skipped.size() * 5, static_cast<size_t>(methods));
}

TEST_F(BoundsE2eTest, EveryMethodRefusesUndecodableBytes) {
  const grpc::Slice slice(kUndecodable);
  const grpc::ByteBuffer bytes(&slice, 1);
  int checked = 0;
  for (const ServiceDescriptor* service : PublicServices()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const MethodDescriptor* m = service->method(i);
      for (const std::string& server : ServersOf(service)) {
        SCOPED_TRACE(absl::StrCat(m->full_name(), " on ", server));
        grpc::ByteBuffer out;
        const grpc::Status s =
            Invoke<grpc::ByteBuffer>(Channel(server), m, bytes, kAdmin, &out);
        EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);
        EXPECT_EQ(s.error_message(),
                  absl::StrCat("request: not a valid ",
                               m->input_type()->full_name()));
        ++checked;
      }
    }
  }
  std::cout << "[ BoundsE2eTest ] " << checked
            << " (method, binary) calls with undecodable bytes refused\n";
}

// Appends fields 900 (varint) and 901 (bytes) to `m`'s unknown fields: fields
// of a newer protocol version this server does not know.
void AddUnknownFields(Message* m) {
  google::protobuf::UnknownFieldSet* u =
      m->GetReflection()->MutableUnknownFields(m);
  u->AddVarint(900, 7);
  u->AddLengthDelimited(901, std::string(1000, 'u'));
}

bool HasUnknownFields(const Message& m) {
  return !m.GetReflection()->GetUnknownFields(m).empty();
}

TEST_F(BoundsE2eTest, UnknownFieldsAreNeverStored) {
  auto accounts = v1::AccountsService::NewStub(Channel("accounts"));
  v1::CreateAccountRequest req;
  req.mutable_account()->set_name("Unknown Fields GmbH");
  AddUnknownFields(req.mutable_account());
  AddUnknownFields(&req);
  // The client really sends them: they survive its own serialization.
  v1::CreateAccountRequest sent;
  ASSERT_TRUE(sent.ParseFromString(req.SerializeAsString()));
  ASSERT_TRUE(HasUnknownFields(sent.account()));

  v1::Account created;
  grpc::Status s = accounts->CreateAccount(Ctx(kAdmin).get(), req, &created);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_FALSE(HasUnknownFields(created));

  v1::GetAccountRequest get;
  get.set_id(created.id());
  v1::Account stored;
  s = accounts->GetAccount(Ctx(kAdmin).get(), get, &stored);
  ASSERT_TRUE(s.ok()) << Describe(s);
  EXPECT_EQ(stored.name(), "Unknown Fields GmbH");
  EXPECT_FALSE(HasUnknownFields(stored));

  // The feed event carries the stored state: no unknown fields either.
  auto feed = v1::FeedService::NewStub(Channel("accounts"));
  v1::WatchRequest watch;
  watch.add_kinds("accounts.Account");
  auto ctx = Ctx(kAdmin);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  std::unique_ptr<grpc::ClientReader<v1::Event>> reader =
      feed->Watch(ctx.get(), watch);
  v1::Event event;
  bool found = false;
  while (!found && reader->Read(&event)) {
    v1::Account in_feed;
    if (event.entity_id() == created.id() &&
        event.payload().UnpackTo(&in_feed)) {
      found = true;
      EXPECT_EQ(in_feed.name(), "Unknown Fields GmbH");
      EXPECT_FALSE(HasUnknownFields(in_feed));
      EXPECT_FALSE(HasUnknownFields(event));
    }
  }
  ctx->TryCancel();
  reader->Finish().IgnoreError();
  EXPECT_TRUE(found) << "no feed event of " << created.id();
}

// `n` code points of four UTF-8 bytes each, starting with `tag` (ASCII).
std::string Wide(const std::string& tag, size_t n) {
  std::string s = tag;
  for (size_t i = tag.size(); i < n; ++i) {
    s += "😀";
  }
  return s;
}

TEST_F(BoundsE2eTest, LargestOpportunityTheBoundsAllow) {
  auto accounts = v1::AccountsService::NewStub(Channel("accounts"));
  auto pipeline = v1::PipelineService::NewStub(Channel("pipeline"));
  v1::OrgNode root, rep;
  {
    v1::CreateOrgNodeRequest req;
    req.mutable_node()->set_kind(v1::ORG_NODE_KIND_GLOBAL);
    req.mutable_node()->set_name("Global");
    ASSERT_TRUE(accounts->CreateOrgNode(Ctx(kAdmin).get(), req, &root).ok());
    req.mutable_node()->set_kind(v1::ORG_NODE_KIND_REP);
    req.mutable_node()->set_name("Rep");
    req.mutable_node()->set_parent_id(root.id());
    ASSERT_TRUE(accounts->CreateOrgNode(Ctx(kAdmin).get(), req, &rep).ok());
  }
  v1::Account account;
  {
    v1::CreateAccountRequest req;
    req.mutable_account()->set_name("Largest Deal AG");
    req.mutable_account()->set_owner_node_id(rep.id());
    ASSERT_TRUE(accounts->CreateAccount(Ctx(kAdmin).get(), req, &account).ok());
  }
  // Every string at its bound in four-byte code points, except the two the
  // service also counts in bytes (name ≤ 200, external_id ≤ 128); every list
  // at its item bound.
  v1::CreateOpportunityRequest req;
  v1::Opportunity* o = req.mutable_opportunity();
  o->set_account_id(account.id());
  o->set_owner_node_id(rep.id());
  o->set_name(std::string(200, 'n'));
  o->mutable_amount()->set_units_minor(1'000'000'000'000'000);
  o->mutable_amount()->set_currency("EUR");
  const absl::CivilDay today =
      absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  o->mutable_expected_close_date()->set_year(static_cast<int>(today.year()) +
                                             1);
  o->mutable_expected_close_date()->set_month(1);
  o->mutable_expected_close_date()->set_day(31);
  for (int i = 0; i < 20; ++i) {
    v1::Competitor* c = o->add_competitors();
    c->set_name(Wide(absl::StrCat("c", i), 200));
    c->set_strengths(Wide("s", 2000));
    c->set_weaknesses(Wide("w", 2000));
  }
  o->set_external_id(std::string(128, 'e'));
  o->mutable_next_step()->set_text(Wide("t", 2000));
  req.set_request_id(std::string(128, 'r'));
  const std::vector<std::string> violations = BoundViolations(req);
  EXPECT_TRUE(violations.empty()) << violations.front();

  v1::Opportunity created;
  grpc::Status s;
  // One minor unit over the maximum magnitude is refused, naming it.
  o->mutable_amount()->set_units_minor(1'000'000'000'000'001);
  s = pipeline->CreateOpportunity(Ctx(kAdmin).get(), req, &created);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT) << Describe(s);
  EXPECT_TRUE(absl::StrContains(
      s.error_message(),
      "opportunity.amount.units_minor: magnitude at most 1000000000000000 "
      "minor units"))
      << s.error_message();
  o->mutable_amount()->set_units_minor(1'000'000'000'000'000);
  ASSERT_TRUE(e2e::Eventually([&] {  // pipeline learns of the account
    s = pipeline->CreateOpportunity(Ctx(kAdmin).get(), req, &created);
    return s.error_code() != StatusCode::INVALID_ARGUMENT &&
           s.error_code() != StatusCode::FAILED_PRECONDITION;
  })) << Describe(s);
  ASSERT_TRUE(s.ok()) << Describe(s);

  // And the largest competitive evaluation stored on it.
  v1::EvaluateCompetitiveRequest eval;
  eval.set_opportunity_id(created.id());
  for (int k = 0; k < 30; ++k) {
    v1::CompetitiveCriterion* c = eval.add_criteria();
    c->set_name(Wide(absl::StrCat("k", k), 200));
    c->set_weight_bp(k < 10 ? 334 : 333);  // 10 × 334 + 20 × 333 = 10000
  }
  for (int p = 0; p < 20; ++p) {
    v1::CompetitiveParty* party = eval.add_parties();
    party->set_name(Wide(absl::StrCat("p", p), 200));
    for (int k = 0; k < 30; ++k) {
      party->add_scores(5);
    }
  }
  v1::CompetitiveEvaluation evaluated;
  s = pipeline->EvaluateCompetitive(Ctx(kAdmin).get(), eval, &evaluated);
  ASSERT_TRUE(s.ok()) << Describe(s);

  v1::GetOpportunityRequest get;
  get.set_id(created.id());
  v1::Opportunity stored;
  ASSERT_TRUE(pipeline->GetOpportunity(Ctx(kAdmin).get(), get, &stored).ok());
  std::cout << "[ BoundsE2eTest ] largest opportunity: request "
            << req.ByteSizeLong() << " bytes, created "
            << created.ByteSizeLong()
            << " bytes, with the largest competitive evaluation "
            << stored.ByteSizeLong() << " bytes\n";
  EXPECT_EQ(stored.competitors_size(), 20);
  EXPECT_EQ(stored.competitive().parties_size(), 20);
  // Below the default entity limit (1 MiB, PLAN decision 2) and far below
  // the 16 MiB gRPC message limit.
  EXPECT_LT(stored.ByteSizeLong(), 1u << 20);
}

}  // namespace
}  // namespace salesops
