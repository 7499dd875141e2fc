// Issue 16, finding 6 ("Threads are unbounded"), with the real binaries:
// 20,000 open streams (unauthenticated reflection streams and health Watch
// streams) keep the accounts process's thread count under --max_threads plus
// the threads it has anyway, while unary calls keep answering; 2,000 REP
// GetForecast calls waiting for min_pipeline_sequence hold at most a quarter of
// forecast's threads; and `buf curl` (npm @bufbuild/buf) lists and calls
// methods through our reflection.

#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/forecast.grpc.pb.h"
#include "tests/e2e.h"

namespace salesops::e2e {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ReflectionRequest = ::grpc::reflection::v1::ServerReflectionRequest;
using ReflectionResponse = ::grpc::reflection::v1::ServerReflectionResponse;
using ::grpc::reflection::v1::ServerReflection;
using ::testing::HasSubstr;

constexpr char kAdmin[] = "limits-admin-token";
constexpr int kMaxThreads = 64;
constexpr int kStreamsPerConnection = 100;  // the server's default
constexpr int kReflectionStreams = 15000;
constexpr int kHealthStreams = 5000;
constexpr int kChannels = 250;  // 80 streams each, under the limit
// Threads the accounts process runs besides its synchronous-server threads
// (RocksDB, the store's committer and completion threads, gRPC's executor,
// timer and event-engine threads, the metrics server): measured 20-30.
constexpr int kOtherThreads = 48;

// The number after `field` ("Threads:", "VmRSS:") in /proc/<pid>/status.
int StatusField(pid_t pid, const std::string& field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    int n = 0;
    if (absl::StartsWith(line, field) &&
        absl::SimpleAtoi(
            absl::StripSuffix(absl::StripAsciiWhitespace(
                                  absl::string_view(line).substr(field.size())),
                              " kB"),
            &n)) {
      return n;
    }
  }
  return -1;
}
int ThreadsOf(pid_t pid) { return StatusField(pid, "Threads:"); }

// The test process holds a socket per channel; the child inherits the limit.
void RaiseFileLimit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

// The accounts binary with --auth=tokens (a 0600 tokens file) and
// --max_threads=kMaxThreads in `dir`.
Service StartAccounts(const testing::TempDir& dir) {
  const std::string tokens = dir.path() + "/tokens";
  WriteFile(tokens, TokenLine(kAdmin, "limits-admin", "ADMIN"));
  chmod(tokens.c_str(), 0600);
  Service s;
  s.process = testing::Process::Start(
      {SALESOPS_ACCOUNTS_BIN, "--listen=127.0.0.1:0", "--auth=tokens",
       "--tokens_file=" + tokens, "--data_dir=" + dir.path() + "/data",
       "--init", absl::StrCat("--max_threads=", kMaxThreads),
       absl::StrCat("--max_streams_per_connection=", kStreamsPerConnection)});
  if (s.process != nullptr) {
    s.port = s.process->WaitForIntField("\"msg\":\"accounts ready\"", "port",
                                        absl::Seconds(30));
  }
  return s;
}

std::shared_ptr<grpc::Channel> OwnChannel(int port) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials(), args);
}

// Many open streams driven by one completion queue: a reflection stream asks
// list_services and reads the answer, a health Watch reads its first status;
// both then stay open, idle, until CloseAll.
class StreamSet {
 public:
  StreamSet() : driver_([this] { Drive(); }) {}
  ~StreamSet() {
    cq_.Shutdown();
    driver_.join();
  }

  void OpenReflection(const std::shared_ptr<grpc::Channel>& channel) {
    auto s = NewStream(/*reflection=*/true);
    s->request.set_list_services("*");
    s->rw =
        ServerReflection::NewStub(channel)->PrepareAsyncServerReflectionInfo(
            &s->ctx, &cq_);
    s->rw->StartCall(s);
  }
  void OpenHealth(const std::shared_ptr<grpc::Channel>& channel) {
    auto s = NewStream(/*reflection=*/false);
    s->reader = Health::NewStub(channel)->PrepareAsyncWatch(
        &s->ctx, HealthCheckRequest(), &cq_);
    s->reader->StartCall(s);
  }

  // Waits until every stream opened is ready or failed.
  bool WaitSettled(absl::Duration timeout, const std::function<void()>& tick) {
    const absl::Time until = absl::Now() + timeout;
    while (absl::Now() < until) {
      tick();
      if (ready_.load() + failed_.load() == total()) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }
  // Cancels every ready stream and waits for all to finish.
  bool CloseAll(absl::Duration timeout) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& s : streams_) {
        if (s->step == Step::kReady) {
          s->step = Step::kFinishing;
          s->ctx.TryCancel();
          Finish(s.get());
        }
      }
    }
    const absl::Time until = absl::Now() + timeout;
    while (finished_.load() < total() && absl::Now() < until) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    return finished_.load() == total();
  }

  int ready() const { return ready_.load(); }
  int failed() const { return failed_.load(); }
  int total() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(streams_.size());
  }
  std::string first_error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return first_error_;
  }

 private:
  enum class Step { kStarting, kWriting, kReading, kReady, kFinishing };
  struct Stream {
    bool reflection = false;
    Step step = Step::kStarting;
    grpc::ClientContext ctx;
    ReflectionRequest request;
    ReflectionResponse response;
    HealthCheckResponse health;
    grpc::Status status;
    std::unique_ptr<
        grpc::ClientAsyncReaderWriter<ReflectionRequest, ReflectionResponse>>
        rw;
    std::unique_ptr<grpc::ClientAsyncReader<HealthCheckResponse>> reader;
  };

  Stream* NewStream(bool reflection) {
    std::lock_guard<std::mutex> lock(mu_);
    streams_.push_back(std::make_unique<Stream>());
    streams_.back()->reflection = reflection;
    return streams_.back().get();
  }
  void Finish(Stream* s) {
    if (s->reflection) {
      s->rw->Finish(&s->status, s);
    } else {
      s->reader->Finish(&s->status, s);
    }
  }
  void Read(Stream* s) {
    s->step = Step::kReading;
    if (s->reflection) {
      s->rw->Read(&s->response, s);
    } else {
      s->reader->Read(&s->health, s);
    }
  }

  // One completion: the next step of that stream.
  void Advance(Stream* s, bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    if (s->step == Step::kFinishing) {
      ++finished_;
      if (!s->status.ok() &&
          s->status.error_code() != grpc::StatusCode::CANCELLED &&
          first_error_.empty()) {
        first_error_ = s->status.error_message();
      }
      return;
    }
    if (!ok) {
      ++failed_;
      s->step = Step::kFinishing;
      Finish(s);
      return;
    }
    switch (s->step) {
      case Step::kStarting:
        if (s->reflection) {
          s->step = Step::kWriting;
          s->rw->Write(s->request, s);
        } else {
          Read(s);
        }
        break;
      case Step::kWriting:
        Read(s);
        break;
      case Step::kReading:
        s->step = Step::kReady;
        ++ready_;
        break;
      default:
        break;
    }
  }

  void Drive() {
    void* tag = nullptr;
    bool ok = false;
    while (cq_.Next(&tag, &ok)) {
      Advance(static_cast<Stream*>(tag), ok);
    }
  }

  grpc::CompletionQueue cq_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::string first_error_;
  std::atomic<int> ready_{0};
  std::atomic<int> failed_{0};
  std::atomic<int> finished_{0};
  std::thread driver_;  // last: starts after the rest is built
};

// A unary call with a token: its status and how long it took.
struct Unary {
  grpc::Status status;
  absl::Duration took;
};
Unary ListAccounts(v1::AccountsService::Stub& stub) {
  auto ctx = Ctx(kAdmin);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::ListAccountsResponse out;
  const absl::Time start = absl::Now();
  Unary u;
  u.status = stub.ListAccounts(ctx.get(), v1::ListAccountsRequest(), &out);
  u.took = absl::Now() - start;
  return u;
}

TEST(LimitsE2eTest, TwentyThousandStreamsKeepThreadsBoundedAndCallsAnswering) {
  RaiseFileLimit();
  testing::TempDir dir;
  Service accounts = StartAccounts(dir);
  ASSERT_GT(accounts.port, 0) << accounts.process->Log();
  const pid_t pid = accounts.process->pid();
  auto unary_stub = v1::AccountsService::NewStub(OwnChannel(accounts.port));
  ASSERT_TRUE(ListAccounts(*unary_stub).status.ok());
  const int idle_threads = ThreadsOf(pid);
  const int bound = kMaxThreads + kOtherThreads;

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < kChannels; ++i) {
    channels.push_back(OwnChannel(accounts.port));
  }
  int most_threads = idle_threads;
  int unary_calls = 0;
  absl::Duration slowest;
  // While the streams open: the process's threads, and a unary call.
  auto tick = [&] {
    most_threads = std::max(most_threads, ThreadsOf(pid));
    Unary u = ListAccounts(*unary_stub);
    EXPECT_TRUE(u.status.ok()) << Describe(u.status);
    ++unary_calls;
    slowest = std::max(slowest, u.took);
  };
  const absl::Time start = absl::Now();
  StreamSet streams;
  for (int i = 0; i < kReflectionStreams + kHealthStreams; ++i) {
    const auto& channel = channels[i % kChannels];
    if (i % 4 == 3) {
      streams.OpenHealth(channel);
    } else {
      streams.OpenReflection(channel);
    }
    if (i % 1000 == 999) {
      tick();
    }
  }
  ASSERT_TRUE(streams.WaitSettled(absl::Seconds(40), tick))
      << streams.ready() << " ready, " << streams.failed() << " failed of "
      << streams.total();
  EXPECT_EQ(streams.ready(), kReflectionStreams + kHealthStreams)
      << streams.failed() << " failed: " << streams.first_error();
  // All open: unary calls still answer, threads stay bounded.
  for (int i = 0; i < 20; ++i) {
    tick();
  }
  std::printf(
      "limits: %d streams open in %.1f s; accounts threads idle %d, most %d "
      "(bound %d), RSS %d MB; %d unary calls, slowest %.0f ms\n",
      streams.ready(), absl::ToDoubleSeconds(absl::Now() - start), idle_threads,
      most_threads, bound, StatusField(pid, "VmRSS:") / 1024, unary_calls,
      absl::ToDoubleMilliseconds(slowest));
  EXPECT_LE(most_threads, bound);
  EXPECT_LT(slowest, absl::Seconds(2));
  EXPECT_TRUE(streams.CloseAll(absl::Seconds(20)));
  EXPECT_EQ(streams.first_error(), "");
  EXPECT_TRUE(ListAccounts(*unary_stub).status.ok());
  EXPECT_LE(ThreadsOf(pid), bound);
}

// ---------------------------------------------------------------------------
// 2,000 REP GetForecast calls waiting for min_pipeline_sequence (they made
// 2,023 threads): at most a quarter of --max_threads wait, the others are
// refused at once, and the forecast process stays under its thread bound.

constexpr char kService[] = "limits-service-token";
constexpr char kRep[] = "limits-rep-token";

// accounts, pipeline and forecast on port 0, each told the ports of the ones
// before it; one tokens file (ADMIN, SERVICE, a REP on node "org_limits_rep").
struct ForecastSuite {
  Service accounts, pipeline, forecast;
};
ForecastSuite StartForecastSuite(const testing::TempDir& dir) {
  const std::string tokens = dir.path() + "/tokens";
  WriteFile(tokens, TokenLine(kAdmin, "limits-admin", "ADMIN") +
                        TokenLine(kService, "limits-service", "SERVICE") +
                        TokenLine(kRep, "limits-rep", "REP", "org_limits_rep"));
  chmod(tokens.c_str(), 0600);
  WriteFile(dir.path() + "/peer.token", kService);
  const auto common = [&](const std::string& name) {
    return std::vector<std::string>{
        "--listen=127.0.0.1:0",
        "--auth=tokens",
        "--tokens_file=" + tokens,
        "--peer_token_file=" + dir.path() + "/peer.token",
        "--data_dir=" + dir.path() + "/" + name,
        "--init",
        absl::StrCat("--max_threads=", kMaxThreads)};
  };
  const auto launch = [&](std::vector<std::string> args,
                          const std::string& name) {
    for (std::string& a : common(name)) {
      args.push_back(std::move(a));
    }
    Service s;
    s.process = testing::Process::Start(args);
    if (s.process != nullptr) {
      s.port = s.process->WaitForIntField(
          absl::StrCat("\"msg\":\"", name, " ready\""), "port",
          absl::Seconds(30));
    }
    return s;
  };
  ForecastSuite suite;
  suite.accounts = launch({SALESOPS_ACCOUNTS_BIN}, "accounts");
  const std::string accounts_addr =
      absl::StrCat("--accounts_addr=127.0.0.1:", suite.accounts.port);
  suite.pipeline = launch({SALESOPS_PIPELINE_BIN, accounts_addr}, "pipeline");
  suite.forecast =
      launch({SALESOPS_FORECAST_BIN, accounts_addr,
              absl::StrCat("--pipeline_addr=127.0.0.1:", suite.pipeline.port)},
             "forecast");
  return suite;
}

TEST(LimitsE2eTest, WaitingForecastReadsAreBounded) {
  RaiseFileLimit();
  testing::TempDir dir;
  ForecastSuite suite = StartForecastSuite(dir);
  ASSERT_GT(suite.accounts.port, 0) << suite.accounts.process->Log();
  ASSERT_GT(suite.pipeline.port, 0) << suite.pipeline.process->Log();
  ASSERT_GT(suite.forecast.port, 0) << suite.forecast.process->Log();
  const pid_t pid = suite.forecast.process->pid();
  const int bound = kMaxThreads + kOtherThreads;
  const int idle_threads = ThreadsOf(pid);

  constexpr int kCalls = 2000;
  v1::GetForecastRequest req;
  req.set_node_id("org_limits_rep");
  req.set_fiscal_year(2026);
  req.set_fiscal_quarter(2);
  req.set_min_pipeline_sequence(1000000000);  // far ahead: every call waits
  auto stub = v1::ForecastService::NewStub(OwnChannel(suite.forecast.port));
  grpc::CompletionQueue cq;
  struct Call {
    std::unique_ptr<grpc::ClientContext> ctx;
    v1::Forecast out;
    grpc::Status status;
    absl::Time answered;
  };
  std::vector<Call> calls(kCalls);
  const absl::Time start = absl::Now();
  for (int i = 0; i < kCalls; ++i) {
    calls[i].ctx = Ctx(kRep);
    calls[i].ctx->set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(6));
    auto rpc = stub->AsyncGetForecast(calls[i].ctx.get(), req, &cq);
    rpc->Finish(&calls[i].out, &calls[i].status, &calls[i]);
  }
  // While they wait: the thread count, and a read without a wait answers.
  int most_threads = idle_threads;
  int done = 0;
  absl::Duration slowest_other;
  while (done < kCalls) {
    void* tag = nullptr;
    bool ok = false;
    const auto next = cq.AsyncNext(
        &tag, &ok,
        std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    if (next == grpc::CompletionQueue::SHUTDOWN) {
      break;
    }
    if (next == grpc::CompletionQueue::GOT_EVENT) {
      static_cast<Call*>(tag)->answered = absl::Now();
      ++done;
      continue;
    }
    most_threads = std::max(most_threads, ThreadsOf(pid));
    if (absl::Now() - start > absl::Seconds(30)) {
      break;
    }
    v1::GetForecastRequest now = req;
    now.set_min_pipeline_sequence(0);
    auto ctx = Ctx(kRep);
    v1::Forecast out;
    const absl::Time t = absl::Now();
    grpc::Status s = stub->GetForecast(ctx.get(), now, &out);
    slowest_other = std::max(slowest_other, absl::Now() - t);
    // The node is not in the (empty) view: NOT_FOUND, answered at once.
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << Describe(s);
  }
  ASSERT_EQ(done, kCalls);
  // Refused at once: UNAVAILABLE by the bound on waiting reads, or
  // RESOURCE_EXHAUSTED by gRPC when the burst found every thread busy.
  int waited = 0;
  int unavailable = 0;
  int exhausted = 0;
  for (const Call& c : calls) {
    if (c.status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      ++waited;
      continue;
    }
    EXPECT_LT(c.answered - start, absl::Seconds(3)) << Describe(c.status);
    if (c.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      EXPECT_EQ(c.status.error_message(), "Server Threadpool Exhausted");
      ++exhausted;
    } else {
      EXPECT_EQ(c.status.error_code(), grpc::StatusCode::UNAVAILABLE)
          << Describe(c.status);
      EXPECT_THAT(c.status.error_message(),
                  HasSubstr("GetForecast calls are already waiting"));
      ++unavailable;
    }
  }
  std::printf(
      "limits: %d GetForecast waits: %d waited, %d UNAVAILABLE and %d "
      "RESOURCE_EXHAUSTED at once; forecast threads idle %d, most %d (bound "
      "%d); other reads slowest %.0f ms\n",
      kCalls, waited, unavailable, exhausted, idle_threads, most_threads, bound,
      absl::ToDoubleMilliseconds(slowest_other));
  EXPECT_GT(unavailable, 0);
  EXPECT_LE(waited, kMaxThreads / 4);
  EXPECT_LE(most_threads, bound);
  EXPECT_LT(slowest_other, absl::Seconds(2));
}

// ---------------------------------------------------------------------------
// `buf curl` through reflection.

// Runs `command` (stderr folded in); its exit code and output.
std::pair<int, std::string> Shell(const std::string& command) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    return {-1, ""};
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
    out.append(buf, n);
  }
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(LimitsE2eTest, BufCurlListsAndCallsThroughReflection) {
  auto [installed, buf_path] =
      Shell(absl::StrCat("bash ", SALESOPS_SOURCE_DIR, "/tests/install_buf.sh ",
                         SALESOPS_BUF_DIR, " 2>/dev/null | tail -1"));
  ASSERT_EQ(installed, 0) << buf_path;
  while (!buf_path.empty() && buf_path.back() == '\n') {
    buf_path.pop_back();
  }
  testing::TempDir dir;
  Service accounts = StartAccounts(dir);
  ASSERT_GT(accounts.port, 0) << accounts.process->Log();
  const std::string url = absl::StrCat("http://127.0.0.1:", accounts.port);
  const std::string curl =
      buf_path + " curl --protocol grpc --http2-prior-knowledge";

  auto [listed, services] = Shell(curl + " --list-services " + url);
  EXPECT_EQ(listed, 0) << services;
  for (const char* name :
       {"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "salesops.v1.AccountsService", "salesops.v1.FeedService"}) {
    EXPECT_THAT(services, HasSubstr(name));
  }
  auto [methods_rc, methods] = Shell(curl + " --list-methods " + url);
  EXPECT_EQ(methods_rc, 0) << methods;
  EXPECT_THAT(methods, HasSubstr("grpc.health.v1.Health/Watch"));
  EXPECT_THAT(methods, HasSubstr("salesops.v1.AccountsService/ListAccounts"));

  // Health is described by reflection as before (D11), over v1 and v1alpha.
  for (const char* protocol : {"grpc-v1", "grpc-v1alpha"}) {
    auto [rc, out] = Shell(absl::StrCat(
        curl, " --reflect-protocol ", protocol,
        " --data '{\"service\": \"salesops.v1.AccountsService\"}' ", url,
        "/grpc.health.v1.Health/Check"));
    EXPECT_EQ(rc, 0) << protocol << ": " << out;
    EXPECT_THAT(out, HasSubstr("\"SERVING\"")) << protocol;
  }
  // A service method, with and without a token.
  auto [created_rc, created] = Shell(
      absl::StrCat(curl, " -H 'Authorization: Bearer ", kAdmin, "'",
                   " --data '{\"account\": {\"name\": \"Reflected GmbH\"}}' ",
                   url, "/salesops.v1.AccountsService/CreateAccount"));
  EXPECT_EQ(created_rc, 0) << created;
  EXPECT_THAT(created, HasSubstr("\"id\": \"acc_"));
  auto [list_rc, list] = Shell(absl::StrCat(
      curl, " -H 'Authorization: Bearer ", kAdmin, "'", " --data '{}' ", url,
      "/salesops.v1.AccountsService/ListAccounts"));
  EXPECT_EQ(list_rc, 0) << list;
  EXPECT_THAT(list, HasSubstr("Reflected GmbH"));
  auto [denied_rc, denied] = Shell(absl::StrCat(
      curl, " --data '{}' ", url, "/salesops.v1.AccountsService/ListAccounts"));
  EXPECT_NE(denied_rc, 0);
  EXPECT_THAT(denied, HasSubstr("unauthenticated"));
}

}  // namespace
}  // namespace salesops::e2e
