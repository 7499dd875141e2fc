// Issue 20, Must show 5 through the real binaries: the four services run as
// the Kubernetes overlays run them (deploy/k8s): TLS-only service ports, peers
// dialled over TLS, and --health_listen. A probe as kubelet's native gRPC probe
// makes it (plaintext, no token, grpc.health.v1.Health/Check) gets SERVING on
// the health port of each; the same probe on the service port fails; the
// health port serves nothing else; a stopped service's probe fails and a
// restarted one's succeeds again (DECISIONS D48).

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/feed.grpc.pb.h"
#include "salesops/v1/forecast.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "tests/suite.h"

namespace salesops {
namespace {

using e2e::Describe;
using e2e::kAccounts;
using e2e::kAdminToken;
using e2e::kCredit;
using e2e::kForecast;
using e2e::kPipeline;
using e2e::kSvcCount;
using e2e::Suite;
using e2e::Svc;
using e2e::SvcName;
using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

const char* ServiceName(Svc s) {
  switch (s) {
    case kAccounts:
      return v1::AccountsService::service_full_name();
    case kPipeline:
      return v1::PipelineService::service_full_name();
    case kForecast:
      return v1::ForecastService::service_full_name();
    default:
      return v1::CreditService::service_full_name();
  }
}

std::shared_ptr<grpc::Channel> Plaintext(int port) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials(), args);
}

// What kubelet's gRPC probe does: Check(service) in plaintext, no metadata.
// "SERVING", "NOT_SERVING", ... or the error.
std::string Probe(int port, const std::string& service = "") {
  auto stub = Health::NewStub(Plaintext(port));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(3)));
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  const grpc::Status st = stub->Check(&ctx, request, &response);
  if (!st.ok()) {
    return Describe(st);
  }
  return HealthCheckResponse::ServingStatus_Name(response.status());
}

TEST(HealthProbeE2eTest, ProbesNeedNoPlaintextOnTheTlsServicePort) {
  Suite suite;
  std::array<int, kSvcCount> health{};
  for (int i = 0; i < kSvcCount; ++i) {
    health[i] = e2e::FreeLoopbackPort();
    suite.extra_args(static_cast<Svc>(i))
        .push_back(absl::StrCat("--health_listen=127.0.0.1:", health[i]));
  }
  ASSERT_TRUE(suite.EnableTls());
  ASSERT_TRUE(suite.Build());  // org, accounts, followers: peers over TLS
  // A write that crosses services over TLS (pipeline asks accounts).
  v1::Opportunity opp;
  const grpc::Status created = suite.CreateOpp(
      kAdminToken,
      Suite::NewOpp("probe", suite.acc_a.id(), suite.rep_a.id(), 1000), "",
      &opp);
  EXPECT_TRUE(created.ok()) << Describe(created);

  for (int i = 0; i < kSvcCount; ++i) {
    const Svc s = static_cast<Svc>(i);
    SCOPED_TRACE(SvcName(s));
    EXPECT_EQ(Probe(health[s]), "SERVING");
    EXPECT_EQ(Probe(health[s], ServiceName(s)), "SERVING");
    // The same probe on the TLS service port cannot even connect.
    EXPECT_NE(Probe(suite.port(s)), "SERVING");
    // Nothing but health on the health port, even with a valid token.
    auto feed = v1::FeedService::NewStub(Plaintext(health[s]));
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(3)));
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kAdminToken));
    v1::GetFeedPositionResponse position;
    EXPECT_EQ(
        feed->GetFeedPosition(&ctx, v1::GetFeedPositionRequest(), &position)
            .error_code(),
        grpc::StatusCode::UNIMPLEMENTED);
  }

  // A stopped service fails its probe; restarted on its data, it passes.
  ASSERT_TRUE(suite.Stop(kPipeline));
  EXPECT_NE(Probe(health[kPipeline]), "SERVING");
  ASSERT_TRUE(suite.Start(kPipeline, /*init=*/false));
  EXPECT_EQ(Probe(health[kPipeline]), "SERVING");
  EXPECT_EQ(Probe(health[kCredit], ServiceName(kCredit)), "SERVING");
}

}  // namespace
}  // namespace salesops
