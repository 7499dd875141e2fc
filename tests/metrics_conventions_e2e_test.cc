// Issue 20, Must show 1: the metric conventions operators bring, on the four
// real binaries (tests/suite.h) after traffic: a unary call per service and a
// Watch stream of accounts' feed. Each service's /metrics page has
//   - the grpc-ecosystem (go-grpc-prometheus) series with grpc_type:
//     grpc_server_started_total, grpc_server_handled_total,
//     grpc_server_handling_seconds_bucket (with le="0.001" and le="0.005"),
//     grpc_server_msg_received_total, grpc_server_msg_sent_total, the called
//     method counted under grpc_type="unary" and FeedService/Watch under
//     "server_stream" (common/server/interceptors.h);
//   - process_* (common/metrics/process_collector.h): resident memory > 0, a
//     start time within the test's run, CPU time, open fds;
//   - salesops_build_info = 1 with non-empty version, commit and build_type,
//     the same on every service;
// and passes `promtool check metrics`.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <ctime>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/metrics/testing/scrape.h"
#include "tests/suite.h"

namespace salesops {
namespace {

using e2e::Ctx;
using e2e::Describe;
using e2e::Suite;
using e2e::Svc;
using testing::FindSample;
using testing::Sample;
using Labels = std::map<std::string, std::string>;

// The gRPC service and the unary method the test calls on each service.
struct Called {
  std::string service;
  std::string method;
};
const Called kCalled[e2e::kSvcCount] = {
    {"salesops.v1.AccountsService", "ListOrgNodes"},
    {"salesops.v1.PipelineService", "CreateOpportunity"},
    {"salesops.v1.ForecastService", "GetForecast"},
    {"salesops.v1.CreditService", "GetCreditProfile"}};

// One call of kCalled[s] that succeeds.
void CallEach(Suite& suite) {
  grpc::Status status;
  EXPECT_FALSE(suite.ListNodes(&status).empty());
  EXPECT_TRUE(status.ok()) << Describe(status);
  v1::Opportunity opp;
  status = suite.CreateOpp(
      e2e::kRepAToken,
      Suite::NewOpp("Metrics", suite.acc_a.id(), suite.rep_a.id(), 100'000),
      "metrics-conventions-1", &opp);
  EXPECT_TRUE(status.ok()) << Describe(status);
  v1::Forecast forecast;
  status = suite.GetForecast(e2e::kAdminToken, suite.global.id(), &forecast);
  EXPECT_TRUE(status.ok()) << Describe(status);
  v1::GetCreditProfileRequest req;
  req.set_account_id(suite.acc_a.id());
  v1::CreditProfile profile;
  status = suite.credit().GetCreditProfile(Ctx(e2e::kAdminToken).get(), req,
                                           &profile);
  EXPECT_TRUE(status.ok()) << Describe(status);
}

// Reads `n` events of accounts' feed, then cancels the stream. The events
// read.
int WatchAccounts(Suite& suite, int n) {
  auto ctx = Ctx(e2e::kAdminToken);
  v1::WatchRequest req;
  req.set_after_sequence(0);
  auto stream = suite.feed(e2e::kAccounts).Watch(ctx.get(), req);
  v1::Event event;
  int read = 0;
  while (read < n && stream->Read(&event)) {
    ++read;
  }
  ctx->TryCancel();
  stream->Finish().IgnoreError();
  return read;
}

// Every grpc_server_* sample carries a grpc_type go-grpc-prometheus knows;
// FeedService/Watch is a server stream.
void CheckGrpcTypes(const std::vector<Sample>& samples) {
  const std::set<std::string> types = {"unary", "client_stream",
                                       "server_stream", "bidi_stream"};
  int watch = 0;
  for (const Sample& s : samples) {
    if (s.name.rfind("grpc_server_", 0) != 0) continue;
    auto it = s.labels.find("grpc_type");
    ASSERT_NE(it, s.labels.end()) << s.name;
    EXPECT_EQ(types.count(it->second), 1u) << s.name << " " << it->second;
    if (s.labels.at("grpc_service") == "salesops.v1.FeedService" &&
        s.labels.at("grpc_method") == "Watch") {
      EXPECT_EQ(it->second, "server_stream") << s.name;
      ++watch;
    }
  }
  EXPECT_GT(watch, 0) << "no FeedService/Watch series";
}

// The grpc-ecosystem series of the method called once, and the buckets.
void CheckCalledMethod(const std::vector<Sample>& samples, const Called& c) {
  const Labels m = {{"grpc_type", "unary"},
                    {"grpc_service", c.service},
                    {"grpc_method", c.method}};
  for (const char* name :
       {"grpc_server_started_total", "grpc_server_msg_received_total",
        "grpc_server_msg_sent_total", "grpc_server_handling_seconds_count"}) {
    EXPECT_GE(FindSample(samples, name, m).value_or(0), 1) << name;
  }
  Labels ok = m;
  ok["grpc_code"] = "OK";
  EXPECT_GE(FindSample(samples, "grpc_server_handled_total", ok).value_or(0),
            1);
  for (const char* le : {"0.0001", "0.001", "0.005", "+Inf"}) {
    Labels bucket = m;
    bucket["le"] = le;
    EXPECT_TRUE(
        FindSample(samples, "grpc_server_handling_seconds_bucket", bucket)
            .has_value())
        << le;
  }
  Labels inf = m;
  inf["le"] = "+Inf";
  EXPECT_GE(FindSample(samples, "grpc_server_handling_seconds_bucket", inf)
                .value_or(0),
            1);
}

void CheckProcess(const std::vector<Sample>& samples, double started_after) {
  EXPECT_GT(
      FindSample(samples, "process_resident_memory_bytes", {}).value_or(0),
      1 << 20);
  EXPECT_GT(FindSample(samples, "process_virtual_memory_bytes", {}).value_or(0),
            1 << 20);
  EXPECT_GT(FindSample(samples, "process_cpu_seconds_total", {}).value_or(0),
            0);
  EXPECT_GT(FindSample(samples, "process_open_fds", {}).value_or(0), 3);
  EXPECT_GT(FindSample(samples, "process_max_fds", {}).value_or(0), 3);
  EXPECT_GT(FindSample(samples, "process_threads", {}).value_or(0), 1);
  // btime is whole seconds: allow one second either way.
  const double start =
      FindSample(samples, "process_start_time_seconds", {}).value_or(0);
  EXPECT_GE(start, started_after - 1);
  EXPECT_LE(start, static_cast<double>(std::time(nullptr)) + 1);
}

// The labels of the one salesops_build_info sample (value 1).
Labels BuildInfo(const std::vector<Sample>& samples) {
  Labels labels;
  int n = 0;
  for (const Sample& s : samples) {
    if (s.name != "salesops_build_info") continue;
    ++n;
    EXPECT_EQ(s.value, 1);
    labels = s.labels;
  }
  EXPECT_EQ(n, 1);
  for (const char* l : {"version", "commit", "build_type"}) {
    EXPECT_FALSE(labels[l].empty()) << l;
  }
  return labels;
}

TEST(MetricsConventionsE2eTest, EveryServiceExportsTheConventionalSeries) {
  const double started_after = static_cast<double>(std::time(nullptr));
  Suite suite;
  ASSERT_TRUE(suite.Build());
  CallEach(suite);
  const int events = WatchAccounts(suite, 3);
  EXPECT_EQ(events, 3);

  Labels build;
  for (int i = 0; i < e2e::kSvcCount; ++i) {
    const Svc s = static_cast<Svc>(i);
    SCOPED_TRACE(e2e::SvcName(s));
    absl::StatusOr<std::string> page =
        testing::HttpGet("127.0.0.1", suite.metrics_port(s), "/metrics");
    ASSERT_TRUE(page.ok()) << page.status();
    absl::StatusOr<std::vector<Sample>> samples = testing::ParseTextPage(*page);
    ASSERT_TRUE(samples.ok()) << samples.status();
    CheckGrpcTypes(*samples);
    CheckCalledMethod(*samples, kCalled[s]);
    CheckProcess(*samples, started_after);
    const Labels b = BuildInfo(*samples);
    if (build.empty()) build = b;
    EXPECT_EQ(b, build) << "the services disagree about the build";
    // Calls to no method count as unknown/unknown, a unary series there from
    // the start.
    EXPECT_TRUE(FindSample(*samples, "grpc_server_started_total",
                           {{"grpc_type", "unary"},
                            {"grpc_service", "unknown"},
                            {"grpc_method", "unknown"}})
                    .has_value());
    absl::Status lint = testing::PromtoolCheck(*page);
    EXPECT_TRUE(lint.ok()) << lint;
  }

  // The Watch just read: accounts counted a server stream, its request and
  // (at least) the events sent.
  const Labels watch = {{"grpc_type", "server_stream"},
                        {"grpc_service", "salesops.v1.FeedService"},
                        {"grpc_method", "Watch"}};
  EXPECT_GE(suite.Metric(e2e::kAccounts, "grpc_server_started_total", watch)
                .value_or(0),
            1);
  EXPECT_GE(
      suite.Metric(e2e::kAccounts, "grpc_server_msg_received_total", watch)
          .value_or(0),
      1);
  EXPECT_GE(suite.Metric(e2e::kAccounts, "grpc_server_msg_sent_total", watch)
                .value_or(0),
            events);
  std::cout << "build: " << build["version"] << " " << build["commit"] << " "
            << build["build_type"] << "\n";
}

}  // namespace
}  // namespace salesops
