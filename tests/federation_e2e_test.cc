// A global forecast over two regional suites (issue 19, "Must show" 3): China
// reports in CNY, Europe in EUR, the headquarters' accounts hold the levels
// above the regions and the global rates, and a global forecast in USD follows
// both regions (--regions_file). Changes in each region appear in the global
// tree; while a region's pipeline is SIGKILLed the global answer still comes,
// marks that region stale and keeps the other fresh; after its restart and
// after the other region is restored from a backup (a new epoch) the global
// view converges to a recomputation over both regions' listings.

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/metrics/testing/scrape.h"
#include "common/money/exchange.h"
#include "common/money/money.h"
#include "tests/suite.h"

namespace salesops {
namespace {

using e2e::Suite;

std::string Addr(int port) { return absl::StrCat("127.0.0.1:", port); }

std::unique_ptr<grpc::ClientContext> Admin() {
  return e2e::Ctx(e2e::kAdminToken);
}

// The headquarters' rates to USD, from the start of the year.
constexpr char kCnyUsd[] = "0.14";
constexpr char kEurUsd[] = "1.08";

class FederationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (Suite* region : {&china_, &europe_}) {
      const char* currency = region == &china_ ? "CNY" : "EUR";
      region->currency = currency;
      for (int s = 0; s < e2e::kSvcCount; ++s) {
        region->extra_args(static_cast<e2e::Svc>(s)) = {
            absl::StrCat("--currency=", currency)};
      }
      ASSERT_TRUE(region->Build());
    }
    hq_.WriteTokens();
    hq_.currency = "USD";
    hq_.extra_args(e2e::kAccounts) = {"--currency=USD"};
    ASSERT_TRUE(hq_.Start(e2e::kAccounts));
    world_ = hq_.Node(v1::ORG_NODE_KIND_GLOBAL, "World", "");
    ASSERT_FALSE(world_.id().empty());
    for (const auto& [currency, rate] :
         {std::pair{"CNY", kCnyUsd}, std::pair{"EUR", kEurUsd}}) {
      v1::SetExchangeRateRequest req;
      req.set_currency(currency);
      *req.mutable_start_date() = e2e::ToDate(absl::CivilDay(2026, 1, 1));
      req.set_rate(rate);
      v1::ExchangeRate out;
      ASSERT_TRUE(
          hq_.accounts().SetExchangeRate(Admin().get(), req, &out).ok());
    }
    StartGlobal(/*init=*/true);
  }

  void StartGlobal(bool init) {
    const std::string regions = hq_.dir().Sub("regions.textproto");
    std::ofstream f(regions);
    for (const auto& [id, suite] :
         {std::pair<const char*, Suite*>{"china", &china_},
          {"europe", &europe_}}) {
      f << "regions {\n  id: \"" << id << "\"\n  parent_node_id: \""
        << world_.id() << "\"\n  accounts_addr: \""
        << Addr(suite->port(e2e::kAccounts)) << "\"\n  pipeline_addr: \""
        << Addr(suite->port(e2e::kPipeline)) << "\"\n  credit_addr: \""
        << Addr(suite->port(e2e::kCredit)) << "\"\n  token_file: \""
        << suite->dir().Sub("peer.token")
        << "\"\n  stale_after_seconds: 3\n}\n";
    }
    f.close();
    std::vector<std::string> args = {
        SALESOPS_FORECAST_BIN,
        "--accounts_addr=" + Addr(hq_.port(e2e::kAccounts)),
        "--regions_file=" + regions,
        "--listen=" + Addr(hq_.port(e2e::kForecast)),
        "--metrics_listen=127.0.0.1:0",
        "--auth=tokens",
        "--tokens_file=" + hq_.dir().Sub("tokens"),
        "--peer_token_file=" + hq_.dir().Sub("peer.token"),
        "--data_dir=" + hq_.dir().Sub("global-forecast"),
        "--currency=USD",
        "--time_zone=UTC"};
    if (init) args.push_back("--init");
    global_ = e2e::Launch(args, "forecast");
    ASSERT_EQ(global_.port, hq_.port(e2e::kForecast))
        << (global_.process ? global_.process->Log() : "");
    stub_ = v1::ForecastService::NewStub(global_.channel);
  }

  // A deal in `suite`'s own currency, CONSIDERATION (10%), closing in the
  // current quarter.
  std::string AddDeal(Suite& suite, const std::string& name, int64_t amount) {
    v1::Opportunity o =
        Suite::NewOpp(name, suite.acc_a.id(), suite.rep_a.id(), amount);
    o.mutable_amount()->set_currency(&suite == &china_ ? "CNY" : "EUR");
    v1::Opportunity out;
    const grpc::Status s = suite.CreateOpp(e2e::kAdminToken, o, name, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.id();
  }

  // Σ over both regions' open deals this quarter of amount × rate × 10%,
  // rounded once per deal (the pipelines' own listings).
  int64_t Recompute() {
    int64_t sum = 0;
    for (Suite* suite : {&china_, &europe_}) {
      grpc::Status status;
      const auto rate =
          *money::ParseRate(suite == &china_ ? kCnyUsd : kEurUsd, "rate");
      for (const v1::Opportunity& o :
           suite->ListOpps(e2e::kAdminToken, {}, &status)) {
        if (o.status() != v1::OPPORTUNITY_STATUS_OPEN) continue;
        sum +=
            *money::Convert(o.amount().units_minor(), 2, 2, {rate}, {}, 1000);
      }
      EXPECT_TRUE(status.ok());
    }
    return sum;
  }

  grpc::Status Global(v1::Forecast* out) {
    v1::GetForecastRequest req;
    req.set_node_id(world_.id());
    const absl::CivilDay close = e2e::CloseDate();
    req.set_fiscal_year(static_cast<int>(close.year()));
    req.set_fiscal_quarter((close.month() - 1) / 3 + 1);
    return stub_->GetForecast(Admin().get(), req, out);
  }

  // Waits (30 s) until the global root's weighted pipeline equals the
  // recomputation and every region's status matches `stale`.
  bool WaitConverged(std::map<std::string, bool> stale, std::string* why) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      v1::Forecast f;
      const grpc::Status s = Global(&f);
      const int64_t want = Recompute();
      bool statuses = s.ok() && f.regions_size() == 2;
      for (const v1::RegionStatus& r : f.regions()) {
        statuses = statuses && stale[r.region()] == r.stale();
      }
      *why = absl::StrCat(s.error_message(), " global weighted ",
                          f.node().pipeline_weighted().units_minor(), " want ",
                          want, "; regions ", f.ShortDebugString());
      if (s.ok() && statuses &&
          f.node().pipeline_weighted().units_minor() == want) {
        return true;
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
    return false;
  }

  Suite china_, europe_, hq_;
  v1::OrgNode world_;
  e2e::Service global_;
  std::unique_ptr<v1::ForecastService::Stub> stub_;
};

TEST_F(FederationTest, TwoRegionsRollUpStayAvailableAndConverge) {
  AddDeal(china_, "cn-1", 1'000'000);  // 10,000.00 CNY
  AddDeal(europe_, "eu-1", 123'457);   // 1,234.57 EUR
  std::string why;
  ASSERT_TRUE(WaitConverged({{"china", false}, {"europe", false}}, &why))
      << why;
  v1::Forecast f;
  ASSERT_TRUE(Global(&f).ok());
  EXPECT_EQ(f.currency(), "USD");
  // 10,000.00 CNY × 0.14 × 10% = 140.00; 1,234.57 EUR × 1.08 × 10% = 133.33.
  EXPECT_EQ(f.node().pipeline_weighted().units_minor(), 14000 + 13333);
  // The regions hang under the HQ node, namespaced.
  ASSERT_EQ(f.children_size(), 2);
  EXPECT_EQ(f.children(0).node_id(), "china/" + china_.global.id());
  EXPECT_EQ(f.children(1).node_id(), "europe/" + europe_.global.id());

  // China's pipeline down: the answer comes, China stale, Europe fresh and
  // still moving.
  ASSERT_TRUE(china_.Kill(e2e::kPipeline));
  AddDeal(europe_, "eu-2", 50'000);
  const absl::Time down = absl::Now();
  bool seen = false;
  while (!seen && absl::Now() < down + absl::Seconds(30)) {
    v1::Forecast g;
    ASSERT_TRUE(Global(&g).ok());
    seen = g.regions_size() == 2 && g.regions(0).stale() &&
           !g.regions(1).stale() &&
           g.node().pipeline_weighted().units_minor() == 14000 + 13333 + 5400;
    if (!seen) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(seen) << "china stale, europe fresh with eu-2";
  // The gauge behind SalesOpsRegionStale says the same (updated every 5 s).
  const auto stale_gauge = [&](const std::string& region) {
    absl::StatusOr<std::string> page = testing::HttpGet(
        "127.0.0.1", global_.metrics_port, "/metrics", absl::Seconds(5));
    if (!page.ok()) return -1.0;
    absl::StatusOr<std::vector<testing::Sample>> samples =
        testing::ParseTextPage(*page);
    if (!samples.ok()) return -1.0;
    return testing::FindSample(*samples, "salesops_forecast_region_stale",
                               {{"region", region}})
        .value_or(-1.0);
  };
  bool gauged = false;
  for (int i = 0; i < 60 && !gauged; ++i) {
    gauged = stale_gauge("china") == 1.0 && stale_gauge("europe") == 0.0;
    if (!gauged) absl::SleepFor(absl::Milliseconds(250));
  }
  EXPECT_TRUE(gauged) << "salesops_forecast_region_stale china 1, europe 0";

  // China back: a deal made before its restart is not lost.
  ASSERT_TRUE(china_.Start(e2e::kPipeline, /*init=*/false));
  AddDeal(china_, "cn-2", 250'000);
  ASSERT_TRUE(WaitConverged({{"china", false}, {"europe", false}}, &why))
      << why;

  // Europe's pipeline restored from a backup taken now; later deals are
  // gone with the restore (a new epoch): the global view follows.
  v1::CreateBackupResponse backup;
  ASSERT_TRUE(
      europe_.backup(e2e::kPipeline)
          .CreateBackup(Admin().get(), v1::CreateBackupRequest(), &backup)
          .ok());
  AddDeal(europe_, "eu-3", 999'999);
  ASSERT_TRUE(WaitConverged({{"china", false}, {"europe", false}}, &why))
      << why;
  ASSERT_TRUE(europe_.Stop(e2e::kPipeline));
  europe_.data_dir(e2e::kPipeline) = europe_.dir().Sub("pipeline-restored");
  europe_.extra_args(e2e::kPipeline) = {
      "--currency=EUR",
      "--restore_from_backup_dir=" + europe_.backup_dir(e2e::kPipeline)};
  ASSERT_TRUE(europe_.Start(e2e::kPipeline, /*init=*/false));
  ASSERT_TRUE(WaitConverged({{"china", false}, {"europe", false}}, &why))
      << why;
  v1::Forecast after;
  ASSERT_TRUE(Global(&after).ok());
  EXPECT_EQ(after.node().pipeline_weighted().units_minor(),
            14000 + 13333 + 5400 + 3500);

  // The global forecast restarts on its own data and answers the same.
  global_.process->Signal(SIGKILL);
  global_.process->WaitExit(absl::Seconds(20));
  StartGlobal(/*init=*/false);
  ASSERT_TRUE(WaitConverged({{"china", false}, {"europe", false}}, &why))
      << why;
}

}  // namespace
}  // namespace salesops
