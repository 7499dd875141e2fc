// CallerService through its public API: each token's principal (name, role,
// org node) comes back as the tokens file states it; a missing or unknown
// token gets UNAUTHENTICATED; with --auth=none the caller is anonymous ADMIN.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/caller/caller_service.h"
#include "common/testing/grpc_status.h"
#include "common/testing/loopback_server.h"
#include "common/testing/temp_dir.h"
#include "common/time/clock.h"

namespace salesops {
namespace {

using ::salesops::testing::IsOk;

class CallerTest : public ::testing::Test {
 protected:
  void Serve(std::unique_ptr<Authenticator> auth) {
    auth_ = std::move(auth);
    store_ = testing::OpenTestStore(dir_.path(), {}, &clock_);
    ASSERT_NE(store_, nullptr);
    caller_ = std::make_unique<CallerServiceImpl>(auth_.get());
    server_ = std::make_unique<testing::LoopbackServer>(
        store_.get(), auth_.get(), std::vector<grpc::Service*>{caller_.get()});
    stub_ = v1::CallerService::NewStub(server_->channel());
  }
  grpc::Status Get(const std::string& authorization, v1::Caller* out) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    if (!authorization.empty()) {
      ctx.AddMetadata("authorization", authorization);
    }
    return stub_->GetCaller(&ctx, v1::GetCallerRequest(), out);
  }

  FakeClock clock_;
  testing::TempDir dir_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<CallerServiceImpl> caller_;
  std::unique_ptr<testing::LoopbackServer> server_;
  std::unique_ptr<v1::CallerService::Stub> stub_;
};

TEST_F(CallerTest, EachRoleGetsItsOwnPrincipal) {
  Serve(testing::AuthFor({
      {"admin-token", {"ada", Role::kAdmin, ""}},
      {"manager-token", {"max", Role::kManager, "org_team"}},
      {"rep-token", {"rita", Role::kRep, "org_rita"}},
      {"finance-token", {"fay", Role::kFinance, ""}},
      {"service-token", {"pipeline", Role::kService, ""}},
  }));
  struct Want {
    std::string token, name, role, node;
  };
  for (const Want& w : std::vector<Want>{
           {"admin-token", "ada", "ADMIN", ""},
           {"manager-token", "max", "MANAGER", "org_team"},
           {"rep-token", "rita", "REP", "org_rita"},
           {"finance-token", "fay", "FINANCE", ""},
           {"service-token", "pipeline", "SERVICE", ""},
       }) {
    v1::Caller caller;
    ASSERT_TRUE(IsOk(Get("Bearer " + w.token, &caller))) << w.token;
    EXPECT_EQ(caller.name(), w.name);
    EXPECT_EQ(caller.role(), w.role);
    EXPECT_EQ(caller.org_node_id(), w.node);
  }
}

TEST_F(CallerTest, MissingOrUnknownTokenIsUnauthenticated) {
  Serve(testing::AuthFor({{"admin-token", {"ada", Role::kAdmin, ""}}}));
  v1::Caller caller;
  grpc::Status none = Get("", &caller);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status unknown = Get("Bearer not-a-token", &caller);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(unknown.error_message().find("unknown bearer token"),
            std::string::npos)
      << unknown.error_message();
  EXPECT_TRUE(caller.name().empty());
}

TEST_F(CallerTest, AuthNoneIsAnonymousAdmin) {
  Serve(Authenticator::None());
  v1::Caller caller;
  ASSERT_TRUE(IsOk(Get("Bearer whatever", &caller)));
  EXPECT_EQ(caller.name(), "anonymous");
  EXPECT_EQ(caller.role(), "ADMIN");
  EXPECT_TRUE(caller.org_node_id().empty());
}

}  // namespace
}  // namespace salesops
