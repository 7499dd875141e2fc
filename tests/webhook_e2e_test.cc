// Webhooks through the real accounts binary (issue 18, Must show 3): a
// loopback receiver (cpp-httplib, in this process) that fails a
// deterministic-random 30% of attempts with 500, checks every signature,
// dedupes by event id and records the order of first arrivals, while 10,000
// accounts are created and the service is SIGKILLed twice and restarted on
// the same data dir. Also: target URLs refused, pause/resume/delete, and a
// receiver that never answers does not hold up CreateAccount.

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/metrics/testing/scrape.h"
#include "common/testing/temp_dir.h"
#include "common/webhook/webhook_rules.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/backup.grpc.pb.h"
#include "salesops/v1/webhook.grpc.pb.h"
#include "tests/e2e.h"

namespace salesops {
namespace {

using e2e::Ctx;
using e2e::Describe;
using e2e::Launch;
using e2e::TokenLine;
using e2e::WriteFile;

constexpr char kAdmin[] = "admin-token-webhooks";

// The receiver: POST /hook. Fails attempts with 500 when the seeded random
// draw (one per attempt, in arrival order) is below fail_ratio; else checks
// the signature and records the event.
class Receiver {
 public:
  explicit Receiver(double fail_ratio) : fail_ratio_(fail_ratio) {
    server_.Post("/hook",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   res.status = Handle(req);
                 });
    server_.set_tcp_nodelay(true);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const {
    return absl::StrCat("http://127.0.0.1:", port_, "/hook");
  }
  void set_secret(const std::string& s) {
    std::lock_guard<std::mutex> lock(mu_);
    secret_ = s;
  }
  size_t distinct() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_.size();
  }
  // Sequences in order of first arrival, with their entity ids.
  std::vector<std::pair<uint64_t, std::string>> order() const {
    std::lock_guard<std::mutex> lock(mu_);
    return order_;
  }
  int duplicates() const {
    std::lock_guard<std::mutex> lock(mu_);
    return duplicates_;
  }
  int bad_signatures() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bad_signatures_;
  }
  int failed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failed_;
  }

 private:
  int Handle(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu_);
    if (std::uniform_real_distribution<double>(0, 1)(rng_) < fail_ratio_) {
      ++failed_;
      return 500;
    }
    const std::string id = req.get_header_value("SalesOps-Event-Id");
    const std::string sig = req.get_header_value("SalesOps-Signature");
    const std::vector<std::string> parts = absl::StrSplit(sig, ',');
    int64_t t = 0;
    if (parts.size() != 2 || !absl::StartsWith(parts[0], "t=") ||
        !absl::SimpleAtoi(parts[0].substr(2), &t) ||
        parts[1] != "v1=" + webhook::Signature(secret_, t, req.body) ||
        req.get_header_value("Content-Type") != "application/json" ||
        req.body.find("\"id\":\"" + id + "\"") == std::string::npos) {
      ++bad_signatures_;
      return 400;
    }
    if (!seen_.insert(id).second) {
      ++duplicates_;
      return 200;
    }
    uint64_t seq = 0;
    (void)absl::SimpleAtoi(id.substr(id.rfind('-') + 1), &seq);
    // "data":{"id":"acc_…", …}
    const size_t at = req.body.find("\"data\":{\"id\":\"");
    const std::string entity =
        at == std::string::npos ? "" : req.body.substr(at + 14, 30);
    order_.emplace_back(seq, entity.substr(0, entity.find('"')));
    return 200;
  }

  const double fail_ratio_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::mt19937_64 rng_{18};
  std::string secret_;
  std::set<std::string> seen_;
  std::vector<std::pair<uint64_t, std::string>> order_;
  int duplicates_ = 0, bad_signatures_ = 0, failed_ = 0;
};

class WebhookE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_.path() + "/tokens", TokenLine(kAdmin, "admin", "ADMIN"));
    port_ = e2e::FreeLoopbackPort();
    ASSERT_NE(port_, 0);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                   grpc::InsecureChannelCredentials());
    accounts_ = v1::AccountsService::NewStub(channel_);
    webhooks_ = v1::WebhookService::NewStub(channel_);
  }

  // Starts accounts on data dir `data`, made with --init unless `extra`
  // restores a backup into it.
  void Start(std::vector<std::string> extra = {},
             const std::string& data = "accounts") {
    std::vector<std::string> args = {SALESOPS_ACCOUNTS_BIN,
                                     absl::StrCat("--listen=127.0.0.1:", port_),
                                     "--metrics_listen=127.0.0.1:0",
                                     "--auth=tokens",
                                     "--tokens_file=" + dir_.path() + "/tokens",
                                     "--data_dir=" + dir_.path() + "/" + data,
                                     "--backup_dir=" + dir_.path() + "/backups",
                                     "--webhook_allow_http_loopback",
                                     "--webhook_retry_initial_ms=1",
                                     "--webhook_retry_max_ms=20"};
    args.insert(args.end(), extra.begin(), extra.end());
    if (extra.empty() || !absl::StartsWith(extra[0], "--restore")) {
      args.push_back("--init");
    }
    service_ = Launch(args, "accounts");
    ASSERT_EQ(service_.port, port_) << service_.process->Log();
  }

  v1::CreateWebhookResponse Subscribe(const std::string& url) {
    v1::CreateWebhookRequest req;
    req.set_target_url(url);
    req.add_event_kinds("accounts.Account");
    v1::CreateWebhookResponse resp;
    grpc::Status s = webhooks_->CreateWebhook(Ctx(kAdmin).get(), req, &resp);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return resp;
  }

  // Creates account `name` with request_id `name`, retrying (same id) while
  // the service is down: every call ends created exactly once.
  std::string CreateAccount(const std::string& name) {
    v1::CreateAccountRequest req;
    req.mutable_account()->set_name(name);
    req.set_request_id(name);
    for (int attempt = 0; attempt < 300; ++attempt) {
      v1::Account out;
      grpc::Status s = accounts_->CreateAccount(Ctx(kAdmin).get(), req, &out);
      if (s.ok()) {
        return out.id();
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "CreateAccount " << name << " never succeeded";
    return "";
  }

  v1::Webhook Get(const std::string& id) {
    v1::GetWebhookRequest req;
    req.set_id(id);
    v1::Webhook w;
    grpc::Status s = webhooks_->GetWebhook(Ctx(kAdmin).get(), req, &w);
    EXPECT_TRUE(s.ok()) << Describe(s);
    return w;
  }

  testing::TempDir dir_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::AccountsService::Stub> accounts_;
  std::unique_ptr<v1::WebhookService::Stub> webhooks_;
  e2e::Service service_;
};

// First arrivals in strictly increasing feed order, and exactly `ids`.
void ExpectInFeedOrder(
    const std::vector<std::pair<uint64_t, std::string>>& order,
    const std::set<std::string>& ids) {
  std::set<std::string> delivered;
  for (size_t i = 0; i < order.size(); ++i) {
    if (i > 0) {
      ASSERT_LT(order[i - 1].first, order[i].first)
          << "out of feed order at " << i;
    }
    delivered.insert(order[i].second);
  }
  EXPECT_EQ(delivered, ids);
}

TEST_F(WebhookE2eTest, EveryEventOnceInOrderThroughFailuresAndTwoKills) {
  constexpr int kAccounts = 10000;
  constexpr int kThreads = 8;
  Receiver receiver(0.3);
  Start();
  const v1::CreateWebhookResponse sub = Subscribe(receiver.url());
  ASSERT_EQ(sub.secret().size(), 64u);  // 32 random bytes, hex
  receiver.set_secret(sub.secret());

  const absl::Time begin = absl::Now();
  std::atomic<int> done{0};
  std::mutex ids_mu;
  std::set<std::string> ids;
  std::vector<std::thread> load;
  for (int t = 0; t < kThreads; ++t) {
    load.emplace_back([&, t] {
      for (int i = t; i < kAccounts; i += kThreads) {
        const std::string id = CreateAccount(absl::StrCat("acme-", i));
        std::lock_guard<std::mutex> lock(ids_mu);
        ids.insert(id);
        ++done;
      }
    });
  }
  for (int kill_at : {kAccounts * 3 / 10, kAccounts * 65 / 100}) {
    ASSERT_TRUE(e2e::Eventually([&] { return done.load() >= kill_at; }) ||
                e2e::Eventually([&] { return done.load() >= kill_at; }));
    service_.process->Signal(SIGKILL);
    ASSERT_TRUE(service_.process->WaitExit(absl::Seconds(10)).has_value());
    Start();
  }
  for (std::thread& t : load) {
    t.join();
  }
  const absl::Time loaded = absl::Now();
  ASSERT_EQ(ids.size(), static_cast<size_t>(kAccounts));
  for (int i = 0; i < 8 && receiver.distinct() < ids.size(); ++i) {
    e2e::Eventually([&] { return receiver.distinct() >= ids.size(); });
  }
  const auto order = receiver.order();
  ASSERT_EQ(order.size(), ids.size())
      << service_.process->Log().substr(0, 4000);
  ExpectInFeedOrder(order, ids);
  EXPECT_EQ(receiver.bad_signatures(), 0);
  EXPECT_GT(receiver.failed(), kAccounts / 5);
  EXPECT_TRUE(e2e::Eventually([&] {
    return Get(sub.webhook().id()).delivered_sequence() >= order.back().first;
  }));
  EXPECT_EQ(Get(sub.webhook().id()).state(), v1::Webhook::STATE_ACTIVE);
  std::cout << "[webhook] delivered " << order.size() << " events exactly once "
            << "after dedupe; attempts failed with 500: " << receiver.failed()
            << "; duplicates received (redeliveries after SIGKILL): "
            << receiver.duplicates() << "; load " << (loaded - begin)
            << ", last delivery " << (absl::Now() - loaded) << " later\n";
}

TEST_F(WebhookE2eTest, RefusesBadTargets) {
  Start();
  for (const char* url : {"http://10.1.2.3/hook", "ftp://127.0.0.1/hook",
                          "https://user:pw@example.com/", "not a url"}) {
    v1::CreateWebhookRequest req;
    req.set_target_url(url);
    v1::CreateWebhookResponse resp;
    grpc::Status s = webhooks_->CreateWebhook(Ctx(kAdmin).get(), req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << url;
    EXPECT_NE(s.error_message().find("target_url: "), std::string::npos)
        << s.error_message();
  }
}

TEST_F(WebhookE2eTest, PausesResumesDeletes) {
  Receiver receiver(0.0);
  Start();
  const v1::CreateWebhookResponse sub = Subscribe(receiver.url());
  receiver.set_secret(sub.secret());
  EXPECT_EQ(Get(sub.webhook().id()).secret_hint(),
            webhook::SecretHint(sub.secret()));
  for (int i = 0; i < 5; ++i) {
    CreateAccount(absl::StrCat("first-", i));
  }
  ASSERT_TRUE(e2e::Eventually([&] { return receiver.distinct() == 5; }));

  v1::PauseWebhookRequest pause;
  pause.set_id(sub.webhook().id());
  v1::Webhook paused;
  ASSERT_TRUE(webhooks_->PauseWebhook(Ctx(kAdmin).get(), pause, &paused).ok());
  EXPECT_EQ(paused.state(), v1::Webhook::STATE_PAUSED);
  for (int i = 0; i < 5; ++i) {
    CreateAccount(absl::StrCat("second-", i));
  }
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(receiver.distinct(), 5u);

  v1::ResumeWebhookRequest resume;
  resume.set_id(sub.webhook().id());
  v1::Webhook resumed;
  ASSERT_TRUE(
      webhooks_->ResumeWebhook(Ctx(kAdmin).get(), resume, &resumed).ok());
  EXPECT_EQ(resumed.state(), v1::Webhook::STATE_ACTIVE);
  ASSERT_TRUE(e2e::Eventually([&] { return receiver.distinct() == 10; }));

  // The cursor is stored right after the receiver's 2xx.
  EXPECT_TRUE(e2e::Eventually([&] {
    v1::ListWebhooksRequest list;
    v1::ListWebhooksResponse listed;
    return webhooks_->ListWebhooks(Ctx(kAdmin).get(), list, &listed).ok() &&
           listed.webhooks_size() == 1 &&
           listed.webhooks(0).delivered_sequence() >=
               receiver.order().back().first;
  }));

  v1::DeleteWebhookRequest del;
  del.set_id(sub.webhook().id());
  v1::DeleteWebhookResponse deleted;
  ASSERT_TRUE(webhooks_->DeleteWebhook(Ctx(kAdmin).get(), del, &deleted).ok());
  v1::GetWebhookRequest get;
  get.set_id(sub.webhook().id());
  v1::Webhook gone;
  EXPECT_EQ(webhooks_->GetWebhook(Ctx(kAdmin).get(), get, &gone).error_code(),
            grpc::StatusCode::NOT_FOUND);
  CreateAccount("after-delete");
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(receiver.distinct(), 10u);
}

TEST_F(WebhookE2eTest, FailingReceiverIsAutoPausedWithTheReason) {
  Receiver receiver(1.0);  // every attempt 500
  Start({"--webhook_auto_pause_after=2s"});
  const v1::CreateWebhookResponse sub = Subscribe(receiver.url());
  CreateAccount("never-delivered");
  ASSERT_TRUE(e2e::Eventually([&] {
    return Get(sub.webhook().id()).state() == v1::Webhook::STATE_AUTO_PAUSED;
  }));
  const v1::Webhook w = Get(sub.webhook().id());
  EXPECT_NE(w.last_error().find("HTTP 500"), std::string::npos)
      << w.last_error();
  const std::string page =
      testing::HttpGet("127.0.0.1", service_.metrics_port, "/metrics")
          .value_or("");
  EXPECT_NE(page.find("salesops_webhook_auto_paused 1"), std::string::npos);
  EXPECT_NE(page.find("salesops_webhook_deliveries_total{outcome=\"failure\"}"),
            std::string::npos);
}

// A restore gives the store a new epoch: the restored subscription is
// AUTO_PAUSED saying so, never silently continued; Resume goes on from its
// cursor in the new epoch.
TEST_F(WebhookE2eTest, RestoredStoreAutoPausesUntilResumed) {
  Receiver receiver(0.0);
  Start();
  const v1::CreateWebhookResponse sub = Subscribe(receiver.url());
  receiver.set_secret(sub.secret());
  CreateAccount("before-backup");
  ASSERT_TRUE(e2e::Eventually([&] { return receiver.distinct() == 1; }));
  const std::string old_epoch = Get(sub.webhook().id()).epoch();
  v1::CreateBackupResponse backup;
  ASSERT_TRUE(v1::BackupService::NewStub(channel_)
                  ->CreateBackup(Ctx(kAdmin).get(), {}, &backup)
                  .ok());
  service_.process->Signal(SIGTERM);
  ASSERT_TRUE(service_.process->WaitExit(absl::Seconds(15)).has_value());
  Start({"--restore_from_backup_dir=" + dir_.path() + "/backups"}, "restored");
  ASSERT_TRUE(e2e::Eventually([&] {
    return Get(sub.webhook().id()).state() == v1::Webhook::STATE_AUTO_PAUSED;
  }));
  EXPECT_NE(Get(sub.webhook().id()).last_error().find("restored"),
            std::string::npos);
  CreateAccount("after-restore");
  v1::ResumeWebhookRequest resume;
  resume.set_id(sub.webhook().id());
  v1::Webhook resumed;
  ASSERT_TRUE(
      webhooks_->ResumeWebhook(Ctx(kAdmin).get(), resume, &resumed).ok());
  EXPECT_NE(resumed.epoch(), old_epoch);
  ASSERT_TRUE(e2e::Eventually([&] { return receiver.distinct() >= 2; }));
  EXPECT_EQ(receiver.order().back().second.substr(0, 4), "acc_");
}

// An https receiver whose certificate --webhook_ca_file trusts gets its
// events; one whose certificate nobody vouches for gets none (verification
// is on) and its subscription shows the error.
TEST_F(WebhookE2eTest, HttpsReceiversAreVerifiedAgainstTheCaFile) {
  const std::string d = dir_.path();
  for (const char* name : {"trusted", "untrusted"}) {
    const std::string cmd = absl::StrCat(
        "cd '", d, "' && timeout 60 openssl req -x509 -newkey ec -pkeyopt ",
        "ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost ",
        "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout ", name,
        ".key -out ", name, ".pem >>openssl.log 2>&1");
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  std::atomic<int> trusted_hits{0}, untrusted_hits{0};
  httplib::SSLServer trusted((d + "/trusted.pem").c_str(),
                             (d + "/trusted.key").c_str());
  httplib::SSLServer untrusted((d + "/untrusted.pem").c_str(),
                               (d + "/untrusted.key").c_str());
  trusted.Post("/hook", [&](const httplib::Request&, httplib::Response& res) {
    ++trusted_hits;
    res.status = 204;
  });
  untrusted.Post("/hook", [&](const httplib::Request&, httplib::Response& res) {
    ++untrusted_hits;
    res.status = 204;
  });
  const int trusted_port = trusted.bind_to_any_port("127.0.0.1");
  const int untrusted_port = untrusted.bind_to_any_port("127.0.0.1");
  std::thread t1([&] { trusted.listen_after_bind(); });
  std::thread t2([&] { untrusted.listen_after_bind(); });
  Start({"--webhook_ca_file=" + d + "/trusted.pem"});
  Subscribe(absl::StrCat("https://127.0.0.1:", trusted_port, "/hook"));
  const v1::CreateWebhookResponse bad =
      Subscribe(absl::StrCat("https://localhost:", untrusted_port, "/hook"));
  CreateAccount("over-tls");
  EXPECT_TRUE(e2e::Eventually([&] { return trusted_hits.load() == 1; }));
  EXPECT_TRUE(e2e::Eventually(
      [&] { return !Get(bad.webhook().id()).last_error().empty(); }));
  EXPECT_EQ(untrusted_hits.load(), 0);
  trusted.stop();
  untrusted.stop();
  t1.join();
  t2.join();
}

TEST_F(WebhookE2eTest, NeverAnsweringReceiverDoesNotHoldUpWrites) {
  // Accepts connections (the kernel's backlog) and never reads or answers.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 64), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  Start();
  Subscribe(absl::StrCat("http://127.0.0.1:", ntohs(addr.sin_port), "/hook"));
  std::vector<absl::Duration> latencies;
  for (int i = 0; i < 200; ++i) {
    const absl::Time start = absl::Now();
    ASSERT_FALSE(CreateAccount(absl::StrCat("slow-", i)).empty());
    latencies.push_back(absl::Now() - start);
  }
  std::sort(latencies.begin(), latencies.end());
  EXPECT_LT(latencies[197], absl::Seconds(1));  // p99 of 200
  // SIGTERM ends the service promptly although a POST hangs.
  const absl::Time stop = absl::Now();
  service_.process->Signal(SIGTERM);
  const std::optional<int> status =
      service_.process->WaitExit(absl::Seconds(15));
  ASSERT_TRUE(status.has_value());
  EXPECT_LT(absl::Now() - stop, absl::Seconds(12));
  close(fd);
}

}  // namespace
}  // namespace salesops
