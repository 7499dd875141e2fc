#include "tests/suite.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/metrics/testing/scrape.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace salesops::e2e {

v1::Date ToDate(absl::CivilDay d) {
  v1::Date out;
  out.set_year(static_cast<int32_t>(d.year()));
  out.set_month(d.month());
  out.set_day(d.day());
  return out;
}

absl::CivilDay CloseDate() {
  const absl::CivilDay today =
      absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  const int quarter = (today.month() - 1) / 3 + 1;
  return absl::CivilDay(absl::CivilMonth(today.year(), quarter * 3 + 1)) - 1;
}

int64_t RssBytes(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      std::istringstream fields(line.substr(6));
      int64_t kb = 0;
      fields >> kb;
      return kb * 1024;
    }
  }
  return 0;
}

std::pair<int, std::string> RunToExit(const std::vector<std::string>& args) {
  std::unique_ptr<testing::Process> p = testing::Process::Start(args);
  if (p == nullptr) {
    return {-1, ""};
  }
  const std::optional<int> status = p->WaitExit(absl::Seconds(30));
  const int code =
      status.has_value() && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  return {code, p->Log()};
}

namespace {

std::string Addr(int port) { return absl::StrCat("127.0.0.1:", port); }

// A context with a deadline and the token; waits for a restarting server.
std::unique_ptr<grpc::ClientContext> Call(const std::string& token,
                                          absl::Duration deadline) {
  auto ctx = ::salesops::testing::BearerContext(token, deadline);
  ctx->set_wait_for_ready(true);
  return ctx;
}

const absl::Duration kDeadline = absl::Seconds(10);

// A server's drain ends once its clients have seen the GOAWAY, which an idle
// client channel of this process reads only when gRPC's backup poller runs
// (every 5 s by default): poll often, so a SIGTERM'd service stops in about a
// second. Set before main, before gRPC reads it.
const bool kFastPoll = [] {
  setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "50", 0);
  return true;
}();

}  // namespace

Suite::Suite() {
  for (int i = 0; i < kSvcCount; ++i) {
    const Svc s = static_cast<Svc>(i);
    ports_[i] = FreeLoopbackPort();
    EXPECT_GT(ports_[i], 0);
    data_dirs_[i] = dir_.Sub(SvcName(s));
    Connect(s);
  }
  WriteFile(dir_.Sub("peer.token"), std::string(kPeerToken) + "\n");
  chmod(dir_.Sub("peer.token").c_str(), 0600);
  WriteTokens();
}

void Suite::Connect(Svc s) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  std::shared_ptr<grpc::ChannelCredentials> creds =
      grpc::InsecureChannelCredentials();
  if (tls_) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(ca_file());
    creds = grpc::SslCredentials(ssl);
  }
  std::shared_ptr<grpc::Channel>& channel = channels_[s];
  channel = grpc::CreateCustomChannel(Addr(ports_[s]), creds, args);
  feeds_[s] = v1::FeedService::NewStub(channel);
  backups_[s] = v1::BackupService::NewStub(channel);
  audits_[s] = v1::AuditService::NewStub(channel);
  switch (s) {
    case kAccounts:
      accounts_ = v1::AccountsService::NewStub(channel);
      break;
    case kPipeline:
      pipeline_ = v1::PipelineService::NewStub(channel);
      break;
    case kForecast:
      forecast_ = v1::ForecastService::NewStub(channel);
      break;
    default:
      credit_ = v1::CreditService::NewStub(channel);
  }
}

Suite::~Suite() {
  // All at once: SIGTERM to every running service, then wait for each.
  for (Service& s : services_) {
    if (s.process != nullptr && !s.process->Poll().has_value()) {
      s.process->Signal(SIGTERM);
    }
  }
  for (Service& s : services_) {
    if (s.process != nullptr) {
      EXPECT_TRUE(s.process->WaitExit(absl::Seconds(20)).has_value());
    }
  }
}

void Suite::EnableHttp() {
  for (int i = 0; i < kSvcCount; ++i) {
    http_ports_[i] = FreeLoopbackPort();
    EXPECT_GT(http_ports_[i], 0);
  }
}

bool Suite::EnableTls() {
  if (!MakeTestCertificates(dir_.path(), {"ca"},
                            {{"server", "ca", LoopbackCertExt(true), ""}})) {
    return false;
  }
  tls_ = true;
  for (int i = 0; i < kSvcCount; ++i) {
    Connect(static_cast<Svc>(i));
  }
  return true;
}

std::string Suite::backup_dir(Svc s) const {
  return dir_.Sub(absl::StrCat(SvcName(s), "-backups"));
}

std::vector<std::string> Suite::Args(Svc s, bool init) const {
  std::vector<std::string> args;
  const auto peer = [&](const char* flag, Svc p) {
    return absl::StrCat("--", flag, "=", Addr(ports_[p]));
  };
  switch (s) {
    case kAccounts:
      args = {SALESOPS_ACCOUNTS_BIN};
      break;
    case kPipeline:
      args = {SALESOPS_PIPELINE_BIN, peer("accounts_addr", kAccounts),
              peer("credit_addr", kCredit)};
      break;
    case kCredit:
      args = {SALESOPS_CREDIT_BIN, peer("accounts_addr", kAccounts),
              peer("pipeline_addr", kPipeline)};
      break;
    default:
      args = {SALESOPS_FORECAST_BIN, peer("accounts_addr", kAccounts),
              peer("pipeline_addr", kPipeline), peer("credit_addr", kCredit)};
  }
  for (std::string a :
       {"--listen=" + Addr(ports_[s]),
        std::string("--metrics_listen=127.0.0.1:0"),
        std::string("--auth=tokens"), "--tokens_file=" + dir_.Sub("tokens"),
        "--peer_token_file=" + dir_.Sub("peer.token"),
        "--data_dir=" + data_dirs_[s], "--backup_dir=" + backup_dir(s),
        std::string("--currency=EUR"), std::string("--time_zone=UTC")}) {
    args.push_back(std::move(a));
  }
  if (init) {
    args.push_back("--init");
  }
  if (http_ports_[s] > 0) {
    args.push_back("--http_listen=" + Addr(http_ports_[s]));
  }
  if (tls_) {
    for (std::string a : {"--tls_cert_file=" + dir_.Sub("server.pem"),
                          "--tls_key_file=" + dir_.Sub("server.key"),
                          "--peer_tls_ca_file=" + ca_file()}) {
      args.push_back(std::move(a));
    }
  }
  args.insert(args.end(), extra_[s].begin(), extra_[s].end());
  return args;
}

bool Suite::Start(Svc s, bool init) {
  Service& svc = services_[s];
  if (svc.process != nullptr) {
    dead_.push_back(std::move(svc.process));  // keep its log
  }
  svc = Launch(Args(s, init), SvcName(s));
  if (svc.process == nullptr || svc.port != ports_[s]) {
    ADD_FAILURE() << SvcName(s) << " did not come up on port " << ports_[s]
                  << (svc.process != nullptr ? "\n" + svc.process->Log() : "");
    return false;
  }
  // A fresh connection: one the test held to a killed process may look
  // ready until its first call fails (broken pipe).
  Connect(s);
  return true;
}

bool Suite::Stop(Svc s) { return Terminate(s).has_value(); }

std::optional<int> Suite::Terminate(Svc s) {
  testing::Process* p = services_[s].process.get();
  if (p == nullptr) {
    return std::nullopt;
  }
  p->Signal(SIGTERM);
  const std::optional<int> status = p->WaitExit(absl::Seconds(20));
  EXPECT_TRUE(status.has_value()) << SvcName(s) << " did not stop on SIGTERM";
  return status;
}

bool Suite::Kill(Svc s) {
  testing::Process* p = services_[s].process.get();
  if (p == nullptr) {
    return false;
  }
  p->Signal(SIGKILL);
  return p->WaitExit(absl::Seconds(20)).has_value();
}

bool Suite::Running(Svc s) {
  testing::Process* p = services_[s].process.get();
  return p != nullptr && !p->Poll().has_value();
}

int Suite::pid(Svc s) const {
  const testing::Process* p = services_[s].process.get();
  return p != nullptr ? p->pid() : -1;
}

void Suite::WriteTokens(const std::string& extra) {
  std::string text = TokenLine(kAdminToken, "admin", "ADMIN") +
                     TokenLine(kPeerToken, "salesops-peer", "SERVICE");
  if (!team.id().empty()) {
    text += TokenLine(kManagerToken, "manager", "MANAGER", team.id()) +
            TokenLine(kRepAToken, "rep-a", "REP", rep_a.id()) +
            TokenLine(kRepBToken, "rep-b", "REP", rep_b.id());
  }
  WriteFile(dir_.Sub("tokens"), text + extra);
  chmod(dir_.Sub("tokens").c_str(), 0600);
}

// ---- building the world ----

v1::OrgNode Suite::Node(v1::OrgNodeKind kind, const std::string& name,
                        const std::string& parent, grpc::Status* status) {
  v1::CreateOrgNodeRequest req;
  req.mutable_node()->set_kind(kind);
  req.mutable_node()->set_name(name);
  req.mutable_node()->set_parent_id(parent);
  req.set_request_id("node-" + name);
  v1::OrgNode node;
  const grpc::Status s =
      accounts_->CreateOrgNode(Call(kAdminToken, kDeadline).get(), req, &node);
  if (status != nullptr) {
    *status = s;
  } else {
    EXPECT_TRUE(s.ok()) << name << ": " << Describe(s);
  }
  return node;
}

v1::Account Suite::Account(const std::string& name, const std::string& owner,
                           grpc::Status* status) {
  v1::CreateAccountRequest req;
  req.mutable_account()->set_name(name);
  req.mutable_account()->set_owner_node_id(owner);
  req.set_request_id("account-" + name);
  v1::Account out;
  const grpc::Status s =
      accounts_->CreateAccount(Call(kAdminToken, kDeadline).get(), req, &out);
  if (status != nullptr) {
    *status = s;
  } else {
    EXPECT_TRUE(s.ok()) << name << ": " << Describe(s);
  }
  return out;
}

bool Suite::Build(bool followers) {
  WriteTokens();
  if (!Start(kAccounts)) {
    return false;
  }
  global = Node(v1::ORG_NODE_KIND_GLOBAL, "Global", "");
  region = Node(v1::ORG_NODE_KIND_REGION, "Region", global.id());
  team = Node(v1::ORG_NODE_KIND_TEAM, "Team", region.id());
  rep_a = Node(v1::ORG_NODE_KIND_REP, "Rep A", team.id());
  rep_b = Node(v1::ORG_NODE_KIND_REP, "Rep B", team.id());
  for (const v1::OrgNode* n : {&global, &region, &team, &rep_a, &rep_b}) {
    if (n->id().empty()) {
      ADD_FAILURE() << "org not built";
      return false;
    }
  }
  WriteTokens();  // now with MANAGER and the REPs (read at start)
  if (!Stop(kAccounts) || !Start(kAccounts)) {
    return false;
  }
  acc_a = Account("Account A", rep_a.id());
  acc_b = Account("Account B", rep_b.id());
  if (acc_a.id().empty() || acc_b.id().empty()) {
    return false;
  }
  if (!followers) {
    return true;
  }
  for (Svc s : {kPipeline, kCredit, kForecast}) {
    if (!Start(s)) {
      return false;
    }
  }
  for (const v1::Account* a : {&acc_a, &acc_b}) {
    v1::SetCreditProfileRequest req;
    req.mutable_profile()->set_account_id(a->id());
    *req.mutable_profile()->mutable_credit_limit() =
        testing::Money(1'000'000'000'000, currency);
    req.mutable_profile()->set_payment_terms_days(30);
    req.mutable_profile()->set_risk_class(v1::RISK_CLASS_LOW);
    v1::CreditProfile out;
    const grpc::Status s = credit_->SetCreditProfile(
        Call(kAdminToken, kDeadline).get(), req, &out);
    if (!s.ok()) {
      ADD_FAILURE() << "SetCreditProfile " << a->name() << ": " << Describe(s);
      return false;
    }
  }
  return WaitFollowersKnowOrg();
}

bool Suite::WaitFollowersKnowOrg() {
  // Forecast serves every node; credit lets the MANAGER read both accounts'
  // profiles (it knows the accounts' owners and the tree); pipeline lets the
  // MANAGER list below the team (it knows the tree).
  grpc::Status last;
  const bool ok = Eventually([&] {
    v1::Forecast f;
    for (const v1::OrgNode* n : {&global, &team, &rep_a, &rep_b}) {
      last = GetForecast(kAdminToken, n->id(), &f);
      if (!last.ok()) {
        return false;
      }
    }
    for (const v1::Account* a : {&acc_a, &acc_b}) {
      v1::GetCreditProfileRequest req;
      req.set_account_id(a->id());
      v1::CreditProfile p;
      last = credit_->GetCreditProfile(Call(kManagerToken, kDeadline).get(),
                                       req, &p);
      if (!last.ok()) {
        return false;
      }
    }
    ListOpps(kManagerToken, {team.id()}, &last);
    return last.ok();
  });
  EXPECT_TRUE(ok) << "followers never knew the org: " << Describe(last);
  return ok;
}

// ---- calls ----

v1::Opportunity Suite::NewOpp(const std::string& name,
                              const std::string& account_id,
                              const std::string& owner_id, int64_t amount) {
  v1::Opportunity o;
  o.set_account_id(account_id);
  o.set_owner_node_id(owner_id);
  o.set_name(name);
  *o.mutable_amount() = Eur(amount);
  *o.mutable_expected_close_date() = ToDate(CloseDate());
  o.set_stage_model_id(kModel);
  o.set_stage_key("CONSIDERATION");
  return o;
}

grpc::Status Suite::CreateOpp(const std::string& token,
                              const v1::Opportunity& o,
                              const std::string& request_id,
                              v1::Opportunity* out, absl::Duration deadline) {
  v1::CreateOpportunityRequest req;
  *req.mutable_opportunity() = o;
  req.set_request_id(request_id);
  return pipeline_->CreateOpportunity(Call(token, deadline).get(), req, out);
}

std::vector<v1::Opportunity> Suite::ListOpps(
    const std::string& token, const std::vector<std::string>& owners,
    grpc::Status* status) {
  std::vector<v1::Opportunity> all;
  std::string page_token;
  for (int page = 0; page < 10000; ++page) {
    v1::ListOpportunitiesRequest req;
    for (const std::string& id : owners) {
      req.add_owner_ids(id);
    }
    req.set_page_size(1000);
    req.set_page_token(page_token);
    v1::ListOpportunitiesResponse resp;
    *status =
        pipeline_->ListOpportunities(Call(token, kDeadline).get(), req, &resp);
    if (!status->ok()) {
      return all;
    }
    all.insert(all.end(), resp.opportunities().begin(),
               resp.opportunities().end());
    page_token = resp.next_page_token();
    if (page_token.empty()) {
      break;
    }
  }
  return all;
}

std::vector<v1::OrgNode> Suite::ListNodes(grpc::Status* status) {
  std::vector<v1::OrgNode> all;
  std::string page_token;
  for (int page = 0; page < 10000; ++page) {
    v1::ListOrgNodesRequest req;
    req.set_page_size(1000);
    req.set_page_token(page_token);
    v1::ListOrgNodesResponse resp;
    *status =
        accounts_->ListOrgNodes(Call(kAdminToken, kDeadline).get(), req, &resp);
    if (!status->ok()) {
      return all;
    }
    all.insert(all.end(), resp.nodes().begin(), resp.nodes().end());
    page_token = resp.next_page_token();
    if (page_token.empty()) {
      break;
    }
  }
  return all;
}

std::vector<v1::Account> Suite::ListAccounts(grpc::Status* status) {
  std::vector<v1::Account> all;
  std::string page_token;
  for (int page = 0; page < 10000; ++page) {
    v1::ListAccountsRequest req;
    req.set_page_size(1000);
    req.set_page_token(page_token);
    v1::ListAccountsResponse resp;
    *status =
        accounts_->ListAccounts(Call(kAdminToken, kDeadline).get(), req, &resp);
    if (!status->ok()) {
      return all;
    }
    all.insert(all.end(), resp.accounts().begin(), resp.accounts().end());
    page_token = resp.next_page_token();
    if (page_token.empty()) {
      break;
    }
  }
  return all;
}

grpc::Status Suite::GetForecast(const std::string& token,
                                const std::string& node, v1::Forecast* out) {
  const absl::CivilDay close = CloseDate();
  v1::GetForecastRequest req;
  req.set_node_id(node);
  req.set_fiscal_year(static_cast<int32_t>(close.year()));
  req.set_fiscal_quarter((close.month() - 1) / 3 + 1);
  req.set_skip_children(true);
  out->Clear();
  return forecast_->GetForecast(Call(token, kDeadline).get(), req, out);
}

grpc::Status Suite::FeedPosition(Svc s, v1::GetFeedPositionResponse* out) {
  return feeds_[s]->GetFeedPosition(Call(kAdminToken, kDeadline).get(),
                                    v1::GetFeedPositionRequest(), out);
}

std::string Suite::Health(Svc s) {
  auto stub = grpc::health::v1::Health::NewStub(channels_[s]);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  const grpc::Status st = stub->Check(&ctx, req, &resp);
  if (!st.ok()) {
    return Describe(st);
  }
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
      resp.status());
}

const v1::StageModel& Suite::Model() {
  if (!model_.has_value()) {
    v1::GetStageModelRequest req;
    req.set_id(kModel);
    v1::StageModel m;
    const grpc::Status s =
        pipeline_->GetStageModel(Call(kAdminToken, kDeadline).get(), req, &m);
    EXPECT_TRUE(s.ok()) << Describe(s);
    if (!s.ok()) {
      static const v1::StageModel kNone;
      return kNone;  // asked again next time
    }
    model_ = m;
  }
  return *model_;
}

int64_t Suite::ExpectedWeighted(const std::vector<v1::Opportunity>& opps) {
  const absl::CivilDay close = CloseDate();
  const int quarter = (close.month() - 1) / 3;
  int64_t sum = 0;
  for (const v1::Opportunity& o : opps) {
    if (o.status() != v1::OPPORTUNITY_STATUS_OPEN ||
        o.expected_close_date().year() != close.year() ||
        (o.expected_close_date().month() - 1) / 3 != quarter) {
      continue;
    }
    int32_t bp = 0;
    for (const v1::Stage& s : Model().stages()) {
      if (s.key() == o.stage_key()) {
        bp = s.win_rate_bp();
      }
    }
    const __int128 num = static_cast<__int128>(o.amount().units_minor()) * bp;
    int64_t weighted = static_cast<int64_t>(num / 10000);
    const int64_t rem = static_cast<int64_t>(num % 10000);
    if (rem > 5000 || (rem == 5000 && weighted % 2 != 0)) {
      ++weighted;
    }
    sum += weighted;
  }
  return sum;
}

bool Suite::WaitForecastMatchesPipeline(const std::string& node,
                                        absl::Duration timeout,
                                        std::string* why) {
  const absl::Time end = absl::Now() + timeout;
  while (true) {
    grpc::Status s;
    const std::vector<v1::Opportunity> opps = ListOpps(kAdminToken, {node}, &s);
    v1::Forecast f;
    const grpc::Status fs = s.ok() ? GetForecast(kAdminToken, node, &f) : s;
    if (fs.ok()) {
      int64_t counted = 0;
      for (const v1::FunnelRow& r : f.funnel()) {
        counted += r.count();
      }
      const int64_t want = ExpectedWeighted(opps);
      if (f.node().pipeline_weighted().units_minor() == want &&
          counted == static_cast<int64_t>(opps.size())) {
        return true;
      }
      *why = absl::StrCat("forecast of ", node, ": weighted ",
                          f.node().pipeline_weighted().units_minor(), " of ",
                          counted, " opportunities, pipeline lists ",
                          opps.size(), " weighing ", want);
    } else {
      *why = Describe(fs);
    }
    if (absl::Now() > end) {
      return false;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

std::optional<double> Suite::Metric(
    Svc s, const std::string& name,
    const std::map<std::string, std::string>& labels) {
  const int port = services_[s].metrics_port;
  if (port <= 0) {
    return std::nullopt;
  }
  absl::StatusOr<std::string> page =
      testing::HttpGet("127.0.0.1", port, "/metrics", absl::Seconds(5));
  if (!page.ok()) {
    return std::nullopt;
  }
  absl::StatusOr<std::vector<testing::Sample>> samples =
      testing::ParseTextPage(*page);
  if (!samples.ok()) {
    return std::nullopt;
  }
  return testing::FindSample(*samples, name, labels);
}

void Suite::DumpLogs() const {
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
                << log.substr(log.size() > 3000 ? log.size() - 3000 : 0)
                << "\n";
    }
  }
}

std::string Suite::Log(Svc s) const {
  const testing::Process* p = services_[s].process.get();
  return p != nullptr ? p->Log() : "";
}

}  // namespace salesops::e2e
