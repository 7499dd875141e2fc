#include "common/server/auth.h"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/server/handler.h"
#include "common/server/server.h"
#include "common/server/testing/echo_service.h"
#include "common/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "salesops/testing/testing.grpc.pb.h"

namespace salesops {
namespace {

using ::salesops::testing::EchoRequest;
using ::salesops::testing::EchoResponse;
using ::salesops::testing::EchoService;
using ::testing::HasSubstr;

std::string WriteTempFile(const std::string& content) {
  std::string path = ::testing::TempDir() + "auth_test_XXXXXX";
  int fd = mkstemp(path.data());
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << content;
  return path;
}

const std::string kAliceToken = "alice-secret-token";
const std::string kBobToken = "bob-secret-token";
const std::string kFinToken = "fin-secret-token";

std::string TokensFile() {
  return absl::StrCat("# principals of the test\n", "\n",
                      Authenticator::Sha256Hex(kAliceToken), " alice ADMIN\n",
                      "  ", Authenticator::Sha256Hex(kBobToken),
                      "\tbob REP node_west  \n",
                      Authenticator::Sha256Hex(kFinToken), " fin FINANCE\n");
}

TEST(AuthTest, Sha256HexMatchesKnownVector) {
  EXPECT_EQ(Authenticator::Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Authenticator::Sha256Hex("").size(), 64u);
}

TEST(AuthTest, RoleNames) {
  EXPECT_EQ(RoleName(Role::kAdmin), "ADMIN");
  EXPECT_EQ(RoleName(Role::kManager), "MANAGER");
  EXPECT_EQ(RoleName(Role::kRep), "REP");
  EXPECT_EQ(RoleName(Role::kFinance), "FINANCE");
  EXPECT_EQ(RoleName(Role::kService), "SERVICE");
}

TEST(AuthTest, TokensFileLoads) {
  const std::string path = WriteTempFile(TokensFile());
  auto auth = Authenticator::FromTokensFile(path);
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_FALSE((*auth)->disabled());
  std::remove(path.c_str());
}

struct BadFile {
  std::string content;
  int line;
  std::string complaint;
};

TEST(AuthTest, TokensFileErrorsNameFileAndLine) {
  const std::string alice = Authenticator::Sha256Hex(kAliceToken);
  const std::string bob = Authenticator::Sha256Hex(kBobToken);
  const BadFile cases[] = {
      {absl::StrCat("# c\n", alice, " alice ADMIN\nnot-a-hash bob REP n1\n"), 3,
       "SHA-256"},
      {absl::StrCat(alice, " alice ADMIN\n", bob, " bob KING n1\n"), 2,
       "unknown role \"KING\""},
      {absl::StrCat("\n\n", alice, " alice\n"), 3, "has 2 fields"},
      {absl::StrCat(alice, " alice ADMIN x y\n"), 1, "has 5 fields"},
      {absl::StrCat(alice, " alice ADMIN\n#\n", alice, " eve SERVICE\n"), 3,
       "already appears on line 1"},
      {absl::StrCat(bob, " bob REP\n"), 1, "needs an org node id"},
      {absl::StrCat(absl::AsciiStrToUpper(alice), " alice ADMIN\n"), 1,
       "lowercase"},
      {absl::StrCat(alice, " ", std::string(129, 'a'), " ADMIN\n"), 1,
       "longer than 128 bytes"},
  };
  for (const BadFile& c : cases) {
    SCOPED_TRACE(c.content);
    const std::string path = WriteTempFile(c.content);
    auto auth = Authenticator::FromTokensFile(path);
    ASSERT_FALSE(auth.ok());
    EXPECT_EQ(auth.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(auth.status().message(),
                HasSubstr(absl::StrCat(path, ":", c.line, ": ")));
    EXPECT_THAT(auth.status().message(), HasSubstr(c.complaint));
    std::remove(path.c_str());
  }
}

TEST(AuthTest, MissingOrEmptyTokensFileIsRefused) {
  auto missing = Authenticator::FromTokensFile("/nonexistent/tokens");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/tokens"));

  const std::string path = WriteTempFile("# nobody\n\n");
  auto empty = Authenticator::FromTokensFile(path);
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("no principals"));
  std::remove(path.c_str());
}

TEST(AuthTest, TokensFileOthersMayReadOrWriteIsRefused) {
  const std::string path = WriteTempFile(TokensFile());
  for (const char* mode : {"0644", "0666", "0604", "0602", "0620", "0660",
                           "0622", "0606", "0664", "0444"}) {
    SCOPED_TRACE(mode);
    ASSERT_EQ(chmod(path.c_str(), std::stoi(mode, nullptr, 8)), 0);
    auto auth = Authenticator::FromTokensFile(path);
    ASSERT_FALSE(auth.ok());
    EXPECT_EQ(auth.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(
        auth.status().message(),
        HasSubstr(absl::StrCat("tokens file ", path, " has mode ", mode)));
  }
  // Owner only, and group-readable as a Kubernetes secret volume with
  // defaultMode 0440 mounts it (a symlink to the file, as there).
  const std::string link = path + ".link";
  ASSERT_EQ(symlink(path.c_str(), link.c_str()), 0);
  for (const char* mode : {"0600", "0400", "0640", "0440"}) {
    SCOPED_TRACE(mode);
    ASSERT_EQ(chmod(path.c_str(), std::stoi(mode, nullptr, 8)), 0);
    EXPECT_TRUE(Authenticator::FromTokensFile(path).ok());
    EXPECT_TRUE(Authenticator::FromTokensFile(link).ok());
  }
  std::remove(link.c_str());
  std::remove(path.c_str());
}

// Only FINANCE may call this Echo: for PERMISSION_DENIED through a real call.
class FinanceOnlyEcho final : public EchoService::Service {
 public:
  explicit FinanceOnlyEcho(const Authenticator* auth) : auth_(auth) {}
  grpc::Status Echo(grpc::ServerContext* ctx, const EchoRequest* request,
                    EchoResponse* response) override {
    absl::StatusOr<Principal> who = auth_->Authorize(*ctx, {Role::kFinance});
    if (!who.ok()) {
      return ToGrpc(who.status());
    }
    response->set_text(absl::StrCat(who->name, "/",
                                    std::string(RoleName(who->role)), "/",
                                    who->org_node_id));
    return grpc::Status::OK;
  }

 private:
  const Authenticator* auth_;
};

class AuthGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokens_path_ = WriteTempFile(TokensFile());
    ServerConfig config;
    config.listen = {"127.0.0.1:0"};
    config.auth = "tokens";
    config.tokens_file = tokens_path_;
    auto server = Server::Create(config, nullptr);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    service_ = std::make_unique<FinanceOnlyEcho>(&server_->auth());
    server_->AddService(service_.get(), "salesops.testing.EchoService");
    ASSERT_TRUE(server_->Start().ok());
    stub_ = EchoService::NewStub(grpc::CreateChannel(
        server_->target(), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    server_->Shutdown();
    std::remove(tokens_path_.c_str());
  }

  // Calls Echo with `authorization` metadata values (none when empty).
  grpc::Status Call(std::initializer_list<std::string> authorization,
                    EchoResponse* response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    for (const std::string& a : authorization) {
      ctx.AddMetadata("authorization", a);
    }
    EchoRequest request;
    request.set_text("hi");
    return stub_->Echo(&ctx, request, response);
  }

  std::string tokens_path_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<FinanceOnlyEcho> service_;
  std::unique_ptr<EchoService::Stub> stub_;
};

TEST_F(AuthGrpcTest, NoTokenIsUnauthenticated) {
  EchoResponse r;
  grpc::Status s = Call({}, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("missing"));
}

TEST_F(AuthGrpcTest, UnknownTokenIsUnauthenticated) {
  EchoResponse r;
  grpc::Status s = Call({"Bearer not-a-known-token"}, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("unknown bearer token"));
  EXPECT_THAT(s.error_message(), Not(HasSubstr("not-a-known-token")));
}

TEST_F(AuthGrpcTest, MalformedAuthorizationIsUnauthenticated) {
  EchoResponse r;
  for (const std::string& bad :
       {std::string("Basic x"), std::string("Bearer"), std::string("Bearer   "),
        kFinToken, absl::StrCat("Token ", kFinToken)}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(Call({bad}, &r).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  // Two authorization entries are ambiguous, even if one is valid.
  EXPECT_EQ(
      Call({"Bearer " + kFinToken, "Bearer " + kAliceToken}, &r).error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthGrpcTest, WrongRoleIsPermissionDenied) {
  EchoResponse r;
  grpc::Status s = Call({"Bearer " + kBobToken}, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("FINANCE"));
  EXPECT_THAT(s.error_message(), HasSubstr("has role REP"));
  EXPECT_THAT(s.error_message(), HasSubstr("bob"));
  // ADMIN is not implicitly allowed either: each method lists its roles.
  EXPECT_EQ(Call({"Bearer " + kAliceToken}, &r).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AuthGrpcTest, RightRoleIsOk) {
  EchoResponse r;
  grpc::Status s = Call({"Bearer " + kFinToken}, &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.text(), "fin/FINANCE/");
  // The scheme is case-insensitive.
  s = Call({"bearer " + kFinToken}, &r);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST(AuthEchoTest, EveryRoleMayEchoAndOrgNodeIsCarried) {
  std::map<std::string, Principal> principals = {
      {Authenticator::Sha256Hex("t-rep"), {"rep", Role::kRep, "n7"}},
      {Authenticator::Sha256Hex("t-svc"), {"svc", Role::kService, ""}},
      {"ZZ-not-hex", {"broken", Role::kAdmin, ""}}};
  ServerConfig config;
  config.listen = {"127.0.0.1:0"};
  config.authenticator = Authenticator::FromPrincipals(principals);
  auto server = Server::Create(config, nullptr);
  ASSERT_TRUE(server.ok()) << server.status();
  ::salesops::testing::EchoServiceImpl echo(&(*server)->auth());
  (*server)->AddService(&echo, "salesops.testing.EchoService");
  ASSERT_TRUE((*server)->Start().ok());
  auto stub = EchoService::NewStub(grpc::CreateChannel(
      (*server)->target(), grpc::InsecureChannelCredentials()));
  for (const std::string token : {"t-rep", "t-svc", "ZZ-not-hex"}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    ctx.AddMetadata("authorization", "Bearer " + token);
    EchoRequest req;
    req.set_text("x");
    EchoResponse resp;
    grpc::Status s = stub->Echo(&ctx, req, &resp);
    if (token == "ZZ-not-hex") {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    } else {
      EXPECT_TRUE(s.ok()) << token << ": " << s.error_message();
    }
  }
}

TEST(AuthNoneTest, EveryCallerIsAnonymousAdmin) {
  ServerConfig config;
  config.listen = {"127.0.0.1:0"};
  config.auth = "none";
  auto server = Server::Create(config, nullptr);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_TRUE((*server)->auth().disabled());
  ::salesops::testing::EchoServiceImpl echo(&(*server)->auth());
  (*server)->AddService(&echo, "salesops.testing.EchoService");
  ASSERT_TRUE((*server)->Start().ok());
  auto stub = EchoService::NewStub(grpc::CreateChannel(
      (*server)->target(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  EchoRequest req;
  req.set_text("x");
  EchoResponse resp;
  ASSERT_TRUE(stub->Echo(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.text(), "anonymous: x");
}

}  // namespace
}  // namespace salesops

namespace salesops {
namespace {

// The handler shell's role table must match the service exactly (handler.h):
// a missing, unknown or repeated row stops the process at construction.
TEST(CallGateDeathTest, TableMustCoverTheServiceExactly) {
  auto none = Authenticator::None();
  const auto* echo = testing::EchoService::service_full_name();
  EXPECT_DEATH(CallGate(none.get(), echo, {}), "no row for Echo");
  EXPECT_DEATH(
      CallGate(none.get(), echo, {{"Echo", AllRoles()}, {"Shout", AllRoles()}}),
      "row for unknown method Shout");
  EXPECT_DEATH(CallGate(none.get(), echo,
                        {{"Echo", AllRoles()}, {"Echo", {Role::kAdmin}}}),
               "two rows for Echo");
  CallGate ok(none.get(), echo, {{"Echo", {Role::kAdmin}}});
}

}  // namespace
}  // namespace salesops
