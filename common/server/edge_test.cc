// The edge of field bounds in a real server (bounds.h, interceptors.h,
// auth.h): gRPC 1.51 runs our server interceptor on the received request
// before a sync handler and before a callback handler; a request over its
// bounds is INVALID_ARGUMENT once the caller is authenticated and allowed;
// unknown fields never reach the handler; bytes that do not parse are
// INVALID_ARGUMENT where gRPC alone says INTERNAL (sync) or UNIMPLEMENTED
// (callback).

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/server/auth.h"
#include "common/server/bounds.h"
#include "common/server/server.h"
#include "common/status/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "salesops/testing/testing.grpc.pb.h"

namespace salesops {
namespace {

using ::salesops::testing::EchoRequest;
using ::salesops::testing::EchoResponse;
using ::salesops::testing::EchoService;

constexpr char kAdminToken[] = "edge-admin-token";
constexpr char kFinanceToken[] = "edge-finance-token";
constexpr char kEchoMethod[] = "/salesops.testing.EchoService/Echo";

std::shared_ptr<const Authenticator> TestAuth() {
  return Authenticator::FromPrincipals(
      {{Authenticator::Sha256Hex(kAdminToken), {"admin", Role::kAdmin, ""}},
       {Authenticator::Sha256Hex(kFinanceToken), {"fin", Role::kFinance, ""}}});
}

// What both handlers do: note whether the edge had already judged the call
// when the handler began, authorize ADMIN only, answer
// "<kind>|<principal>|<text>|<unknown fields the handler saw>".
struct Probe {
  const Authenticator* auth = nullptr;
  std::atomic<int> calls{0};
  std::atomic<bool> judged_before_handler{false};

  grpc::Status Handle(const char* kind, grpc::ServerContextBase* ctx,
                      const EchoRequest& request, EchoResponse* response) {
    ++calls;
    judged_before_handler = !EdgeRejection(ctx).ok();
    absl::StatusOr<Principal> who = auth->Authorize(*ctx, {Role::kAdmin});
    if (!who.ok()) {
      return ToGrpc(who.status());
    }
    const int unknown =
        request.GetReflection()->GetUnknownFields(request).field_count();
    response->set_text(
        absl::StrCat(kind, "|", who->name, "|", request.text(), "|", unknown));
    return grpc::Status::OK;
  }
};

class SyncEcho final : public EchoService::Service {
 public:
  explicit SyncEcho(Probe* probe) : probe_(probe) {}
  grpc::Status Echo(grpc::ServerContext* ctx, const EchoRequest* request,
                    EchoResponse* response) override {
    return probe_->Handle("sync", ctx, *request, response);
  }

 private:
  Probe* probe_;
};

class CallbackEcho final : public EchoService::CallbackService {
 public:
  explicit CallbackEcho(Probe* probe) : probe_(probe) {}
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx,
                                 const EchoRequest* request,
                                 EchoResponse* response) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(probe_->Handle("callback", ctx, *request, response));
    return reactor;
  }

 private:
  Probe* probe_;
};

enum class Kind { kSync, kCallback };

std::unique_ptr<grpc::Service> MakeEcho(Kind kind, Probe* probe) {
  if (kind == Kind::kSync) {
    return std::make_unique<SyncEcho>(probe);
  }
  return std::make_unique<CallbackEcho>(probe);
}

std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(10));
  if (!token.empty()) {
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }
  return ctx;
}

// A unary call with raw request bytes, as a client of another version (or a
// hostile one) may send them.
grpc::Status RawCall(const std::shared_ptr<grpc::Channel>& channel,
                     const std::string& token, const std::string& bytes,
                     std::string* answer = nullptr) {
  grpc::GenericStub stub(channel);
  auto ctx = Ctx(token);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(ctx.get(), kEchoMethod, grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) { done.set_value(s); });
  const grpc::Status status = done.get_future().get();
  if (status.ok() && answer != nullptr) {
    EchoResponse parsed;
    grpc::Slice out;
    EXPECT_TRUE(response.TrySingleSlice(&out).ok() ||
                response.DumpToSingleSlice(&out).ok());
    EXPECT_TRUE(parsed.ParseFromArray(out.begin(), out.size()));
    *answer = parsed.text();
  }
  return status;
}

// EchoRequest{text} followed by field 99 (varint 42), unknown to EchoRequest.
std::string WithUnknownField(const std::string& text) {
  EchoRequest request;
  request.set_text(text);
  return request.SerializeAsString() + std::string("\x98\x06\x2a", 3);
}

// Bytes that are not an EchoRequest: field 1 (a string) holding invalid
// UTF-8, and a varint cut short.
const char* const kUndecodable[] = {"\x0a\x02\xff\xfe", "\x08\xff\xff"};

class EdgeTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    ServerConfig config;
    config.listen = {"127.0.0.1:0"};
    config.authenticator = TestAuth();
    config.drain_timeout = absl::Seconds(2);
    absl::StatusOr<std::unique_ptr<Server>> server =
        Server::Create(config, nullptr);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    probe_.auth = &server_->auth();
    echo_ = MakeEcho(GetParam(), &probe_);
    server_->AddService(echo_.get(), "salesops.testing.EchoService");
    ASSERT_TRUE(server_->Start().ok());
    channel_ = grpc::CreateChannel(server_->target(),
                                   grpc::InsecureChannelCredentials());
    stub_ = EchoService::NewStub(channel_);
  }

  void TearDown() override {
    if (server_ != nullptr) {
      server_->Shutdown();
    }
    // Every call ended: nothing stays recorded.
    EXPECT_EQ(PendingEdgeRejections(), 0u);
  }

  grpc::Status Echo(const std::string& token, const std::string& text,
                    std::string* answer = nullptr) {
    EchoRequest request;
    request.set_text(text);
    EchoResponse response;
    const grpc::Status s = stub_->Echo(Ctx(token).get(), request, &response);
    if (answer != nullptr) {
      *answer = response.text();
    }
    return s;
  }

  std::string kind() const {
    return GetParam() == Kind::kSync ? "sync" : "callback";
  }

  Probe probe_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<grpc::Service> echo_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<EchoService::Stub> stub_;
};

TEST_P(EdgeTest, WithinBoundsReachesTheHandler) {
  std::string text;
  for (int i = 0; i < 256; ++i) {
    text += "😀";  // 256 code points, 1024 bytes: within the default
  }
  std::string answer;
  const grpc::Status s = Echo(kAdminToken, text, &answer);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(answer, absl::StrCat(kind(), "|admin|", text, "|0"));
  EXPECT_FALSE(probe_.judged_before_handler);
}

TEST_P(EdgeTest, OverBoundsIsInvalidArgumentOnlyForAnAllowedCaller) {
  const std::string text(300, 'a');
  grpc::Status s = Echo(kAdminToken, text);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "text: at most 256 characters (got 300)");
  // The interceptor had judged the request before the handler began.
  EXPECT_TRUE(probe_.judged_before_handler);

  // No token, or a role the method refuses: nothing about the request.
  s = Echo("", text);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  s = Echo("forged", text);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  s = Echo(kFinanceToken, text);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << s.error_message();
  EXPECT_EQ(probe_.calls, 4);
}

TEST_P(EdgeTest, UnknownFieldsNeverReachTheHandler) {
  std::string answer;
  const grpc::Status s =
      RawCall(channel_, kAdminToken, WithUnknownField("hi"), &answer);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(answer, absl::StrCat(kind(), "|admin|hi|0"));
  // The same bytes parsed without the edge do carry the field.
  EchoRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(WithUnknownField("hi")));
  EXPECT_EQ(parsed.GetReflection()->GetUnknownFields(parsed).field_count(), 1);
}

TEST_P(EdgeTest, UndecodableBytesAreInvalidArgument) {
  for (const char* bytes : kUndecodable) {
    for (const char* token : {kAdminToken, ""}) {
      const grpc::Status s = RawCall(channel_, token, bytes);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << s.error_code() << " " << s.error_message();
      EXPECT_EQ(s.error_message(),
                "request: not a valid salesops.testing.EchoRequest");
    }
  }
  EXPECT_EQ(probe_.calls, 0);  // no handler ran
  // The server still answers properly afterwards.
  EXPECT_TRUE(Echo(kAdminToken, "fine").ok());
}

INSTANTIATE_TEST_SUITE_P(SyncAndCallback, EdgeTest,
                         ::testing::Values(Kind::kSync, Kind::kCallback),
                         [](const auto& info) {
                           return info.param == Kind::kSync ? "Sync"
                                                            : "Callback";
                         });

// What gRPC 1.51 does by itself with bytes that do not parse, on a plain
// server without our interceptor: the baseline the edge rewrites.
TEST(EdgeBaselineTest, GrpcAloneAnswersInternalOrUnimplemented) {
  for (Kind kind : {Kind::kSync, Kind::kCallback}) {
    Probe probe;
    auto auth = TestAuth();
    probe.auth = auth.get();
    std::unique_ptr<grpc::Service> echo = MakeEcho(kind, &probe);
    grpc::ServerBuilder builder;
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(echo.get());
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    ASSERT_NE(server, nullptr);
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                       grpc::InsecureChannelCredentials());
    const grpc::Status s = RawCall(channel, kAdminToken, kUndecodable[0]);
    EXPECT_EQ(s.error_code(), kind == Kind::kSync
                                  ? grpc::StatusCode::INTERNAL
                                  : grpc::StatusCode::UNIMPLEMENTED)
        << static_cast<int>(kind) << ": " << s.error_code() << " "
        << s.error_message();
    // And unknown fields reach the handler.
    std::string answer;
    ASSERT_TRUE(
        RawCall(channel, kAdminToken, WithUnknownField("hi"), &answer).ok());
    EXPECT_THAT(answer, ::testing::EndsWith("|hi|1"));
    server->Shutdown(std::chrono::system_clock::now() +
                     std::chrono::seconds(2));
  }
}

}  // namespace
}  // namespace salesops
