// salesops-bench: the forecast benchmark of issue 5, through the public APIs
// of running salesops-accounts, salesops-pipeline and salesops-forecast
// (started by bench/run.sh on loopback). Phases, each printing one line of
// results:
//   org       a --levels-level org (7: global, regions, areas, 3 team
//             levels, reps; 8: one more team level)
//   load      N open opportunities over the reps: --load_unary of them with
//             CreateOpportunity from --clients concurrent calls, the rest
//             with ImportOpportunities (issue 21): both rates
//   catchup   until forecast reflects pipeline's feed position: ingest rate
//   query     GetForecast of the root and of a mid-level node against
//             grpc.health.v1.Health/Check on the same server: p50/p99, ratio
//   fresh     creates paced open loop at --fresh_rate/s (bench/paced.h); for
//             sampled ones the time until GetForecast of the owner shows
//             them: p50/p99
//   mixed     (issue 21) the query phase's root GetForecast and Health/Check
//             while creates run at --mixed_rate/s, and the freshness of
//             every --mixed_sample_every'th create in the same phase
//   serving   time from --since_unix_ns until --serving_addr's
//             Health/Check answers SERVING (bench/run.sh's restarts)
//   hq        (federation) a GLOBAL node and the rates in the headquarters'
//             accounts (--accounts), and the global forecast's state file
//   fedcatchup  until the global forecast's root counts --expect_open deals
//   webhook   CreateOpportunity p99 without and with a webhook subscription
//             whose receiver never answers, in alternating blocks (bench/
//             webhook.sh; issue 18)
// With --regions_list, fresh spreads its writes round-robin over the regions'
// pipelines and watches the global forecast (--forecast) at "<region>/<rep>"
// (bench/federation.sh; issue 19).
// It also writes the dataset as CSV (--csv_dir) for the PostgreSQL comparison.

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/common.h"
#include "bench/federation.h"
#include "bench/load.h"
#include "bench/paced.h"
#include "common/version/command_line.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/feed.grpc.pb.h"
#include "salesops/v1/forecast.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "salesops/v1/webhook.grpc.pb.h"

ABSL_FLAG(std::string, accounts, "127.0.0.1:7201", "salesops-accounts");
ABSL_FLAG(std::string, pipeline, "127.0.0.1:7202", "salesops-pipeline");
ABSL_FLAG(std::string, forecast, "127.0.0.1:7203", "salesops-forecast");
ABSL_FLAG(std::string, phases, "org,load,catchup,query,fresh",
          "comma-separated phases to run");
ABSL_FLAG(int64_t, opportunities, 1'000'000, "open opportunities to create");
ABSL_FLAG(int32_t, reps, 10'000, "REP nodes");
ABSL_FLAG(int32_t, levels, 7,
          "org levels from the global node to the reps (3..12; 7: 2,000 "
          "lowest teams, 8: 10,000)");
ABSL_FLAG(int64_t, load_unary, -1,
          "load phase: deals created by CreateOpportunity, the rest by "
          "ImportOpportunities (-1 = all by CreateOpportunity)");
ABSL_FLAG(int32_t, import_batch, 1000, "load phase: rows per import call");
ABSL_FLAG(int32_t, import_in_flight, 4, "load phase: import calls at once");
ABSL_FLAG(int32_t, clients, 64, "calls in flight during the load phase");
ABSL_FLAG(int32_t, queries, 20'000, "calls per measured query kind");
ABSL_FLAG(int32_t, fresh_rate, 1000, "writes per second of the fresh phase");
ABSL_FLAG(int32_t, fresh_seconds, 20, "length of the fresh phase");
ABSL_FLAG(int32_t, fresh_poll_us, 1000,
          "fresh and mixed phases: pause between a sampled write's "
          "GetForecast polls (adds at most this much to each sample; 0 = "
          "none, which puts back-to-back queries on the forecast while it "
          "is being measured)");
ABSL_FLAG(int32_t, fresh_threads, 16,
          "fresh phase: threads timing the sampled creates (each waits until "
          "the forecast shows its create)");
ABSL_FLAG(int32_t, mixed_rate, 5000, "mixed phase: creates per second");
ABSL_FLAG(int32_t, mixed_seconds, 20, "length of the mixed phase");
ABSL_FLAG(int32_t, mixed_threads, 16,
          "mixed phase: threads timing the sampled creates");
ABSL_FLAG(int32_t, mixed_sample_every, 50,
          "mixed phase: every Nth create is timed until the forecast shows it");
ABSL_FLAG(std::string, serving_addr, "127.0.0.1:7203",
          "serving phase: the service whose Health/Check is polled");
ABSL_FLAG(std::string, serving_name, "forecast", "serving phase: its name");
ABSL_FLAG(int64_t, since_unix_ns, 0,
          "serving phase: when the service was started (Unix ns)");
ABSL_FLAG(int32_t, webhook_rounds, 10,
          "webhook phase: rounds of one block without and one with a "
          "subscription");
ABSL_FLAG(int32_t, webhook_calls, 500, "webhook phase: calls per block");
ABSL_FLAG(std::string, csv_dir, "", "write org.csv and opportunities.csv here");
ABSL_FLAG(std::string, state, "bench-state.txt",
          "file keeping node ids between runs of separate phases");
ABSL_FLAG(std::string, currency, "EUR",
          "currency of the deals load, fresh and webhook create");
ABSL_FLAG(std::string, regions_list, "",
          "federation: one region a line, \"id currency pipeline_addr "
          "state_file\" (hq and fresh phases)");
ABSL_FLAG(std::string, rates, "EUR=1.08,JPY=0.0067,KWD=3.25,CNY=0.14",
          "hq phase: rates to the headquarters' currency, from 2026-01-01");
ABSL_FLAG(int64_t, expect_open, 0,
          "fedcatchup phase: open deals the global root must count");

namespace salesops::bench {
namespace {

// The org: 1 global, 4 regions, 5 areas each, then three team levels (5, 5,
// 4 per parent) and reps spread evenly over the lowest teams.
struct Org {
  std::string root;
  std::string mid;  // an area: a mid-level node
  std::vector<std::string> reps;
  std::vector<std::pair<std::string, std::string>> edges;  // (id, parent)
};

class Bench {
 public:
  Bench()
      : accounts_(v1::AccountsService::NewStub(
            Channel(absl::GetFlag(FLAGS_accounts)))),
        pipeline_channel_(Channel(absl::GetFlag(FLAGS_pipeline))),
        pipeline_(v1::PipelineService::NewStub(pipeline_channel_)),
        forecast_channel_(Channel(absl::GetFlag(FLAGS_forecast))),
        forecast_(v1::ForecastService::NewStub(forecast_channel_)),
        health_(grpc::health::v1::Health::NewStub(forecast_channel_)) {}

  void BuildOrg() {
    const absl::Time start = absl::Now();
    org_.root = Node(v1::ORG_NODE_KIND_GLOBAL, "Global", "");
    std::vector<std::string> level = {org_.root};
    const int levels = absl::GetFlag(FLAGS_levels);
    int depth = 0;
    for (const auto& [level_kind, fanout] : Fanout(levels)) {
      const v1::OrgNodeKind kind = level_kind;
      const int n = fanout;
      // A level's nodes at once (10,000 lowest teams at 8 levels); their
      // parents all exist, and names by (depth, index) stay the same per run.
      ++depth;
      std::vector<std::string> next(level.size() * static_cast<size_t>(n));
      ParallelFor(static_cast<int>(next.size()), 16, [&](int i) {
        next[static_cast<size_t>(i)] =
            Node(kind, absl::StrCat("node", depth, "-", i),
                 level[static_cast<size_t>(i / n)]);
      });
      level = std::move(next);
      if (kind == v1::ORG_NODE_KIND_AREA) org_.mid = level.front();
    }
    if (org_.mid.empty()) org_.mid = level.front();
    const int reps = absl::GetFlag(FLAGS_reps);
    ParallelFor(reps, 16, [&](int i) {
      const std::string parent = level[static_cast<size_t>(i) % level.size()];
      std::string id =
          Node(v1::ORG_NODE_KIND_REP, absl::StrCat("rep", i), parent);
      std::lock_guard<std::mutex> lock(mu_);
      org_.reps.push_back(id);
    });
    std::sort(org_.reps.begin(), org_.reps.end());
    v1::CreateAccountRequest req;
    req.mutable_account()->set_name("Benchmark Account");
    req.set_request_id("bench-account");
    v1::Account account;
    grpc::Status s = accounts_->CreateAccount(Ctx().get(), req, &account);
    if (!s.ok()) Fail("CreateAccount", s);
    account_ = account.id();
    SaveState();
    std::cout << absl::StrFormat(
        "org: %d nodes (%d levels, %d reps) in %.1f s\n", org_.edges.size(),
        levels, org_.reps.size(), absl::ToDoubleSeconds(absl::Now() - start));
  }

  // The levels between the root and the reps of an org of `levels` levels:
  // 4 regions, 5 areas each, then teams 5, 5, 4 per parent, and 5 per parent
  // for each level beyond 7 (8 levels: 10,000 lowest teams).
  static std::vector<std::pair<v1::OrgNodeKind, int>> Fanout(int levels) {
    std::vector<std::pair<v1::OrgNodeKind, int>> out = {
        {v1::ORG_NODE_KIND_REGION, 4},
        {v1::ORG_NODE_KIND_AREA, 5},
        {v1::ORG_NODE_KIND_TEAM, 5},
        {v1::ORG_NODE_KIND_TEAM, 5},
        {v1::ORG_NODE_KIND_TEAM, 4}};
    const size_t between = static_cast<size_t>(std::max(levels, 3) - 2);
    while (out.size() < between) out.push_back({v1::ORG_NODE_KIND_TEAM, 5});
    out.resize(between);
    return out;
  }

  // Deals [0, --load_unary) through CreateOpportunity with --clients calls
  // in flight (gRPC's callback client, so the load generator's own threads
  // stay few), the rest through ImportOpportunities: one line per way.
  void Load() {
    LoadState();
    const int64_t n = absl::GetFlag(FLAGS_opportunities);
    int64_t unary = absl::GetFlag(FLAGS_load_unary);
    if (unary < 0 || unary > n) unary = n;
    const Deals deals{pipeline_.get(), account_, &org_.reps,
                      absl::GetFlag(FLAGS_currency)};
    const std::string dir = absl::GetFlag(FLAGS_csv_dir);
    // The PostgreSQL write peer inserts the deals created one by one.
    if (!dir.empty()) WriteDealsCsv(deals, 0, unary, dir + "/deals.csv");
    std::string rows;  // owner,amount,stage of what was acknowledged
    if (unary > 0) {
      const int clients = absl::GetFlag(FLAGS_clients);
      const double secs = CreateUnary(deals, 0, unary, clients, &rows);
      std::cout << absl::StrFormat(
          "load: %d CreateOpportunity calls, %d in flight, in %.1f s = "
          "%.0f/s\n",
          unary, clients, secs, unary / secs);
    }
    int64_t created = unary;
    if (n > unary) created += ImportRest(deals, unary, n, &rows);
    if (!dir.empty()) {
      std::ofstream csv(dir + "/opportunities.csv", std::ios::trunc);
      csv << rows;
    }
    std::cout << absl::StrFormat("load: %d open deals in total\n", created);
  }

  // Imports deals [from, to); when the server does not implement
  // ImportOpportunities, creates them one by one instead. Returns how many.
  int64_t ImportRest(const Deals& deals, int64_t from, int64_t to,
                     std::string* rows) {
    const int batch = absl::GetFlag(FLAGS_import_batch);
    const int in_flight = absl::GetFlag(FLAGS_import_in_flight);
    const double secs = Import(deals, from, to, batch, in_flight, rows);
    if (secs >= 0) {
      std::cout << absl::StrFormat(
          "import: %d rows by ImportOpportunities, batches of %d, %d in "
          "flight, in %.1f s = %.0f rows/s\n",
          to - from, batch, in_flight, secs, (to - from) / secs);
      return to - from;
    }
    const int clients = absl::GetFlag(FLAGS_clients);
    const double unary = CreateUnary(deals, from, to, clients, rows);
    std::cout << absl::StrFormat(
        "import: UNIMPLEMENTED by this pipeline; %d rows by CreateOpportunity "
        "instead in %.1f s = %.0f/s\n",
        to - from, unary, (to - from) / unary);
    return to - from;
  }

  // Waits until forecast has applied pipeline's whole feed.
  void CatchUp() {
    auto feed = v1::FeedService::NewStub(pipeline_channel_);
    v1::GetFeedPositionResponse pos;
    grpc::Status s =
        feed->GetFeedPosition(Ctx().get(), v1::GetFeedPositionRequest(), &pos);
    if (!s.ok()) Fail("GetFeedPosition", s);
    LoadState();
    const absl::Time start = absl::Now();
    const uint64_t first = Applied();
    for (int i = 0; i < 36'000; ++i) {  // at most an hour
      const uint64_t applied = Applied();
      if (applied >= pos.sequence()) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    const double secs = absl::ToDoubleSeconds(absl::Now() - start);
    std::cout << absl::StrFormat(
        "catchup: forecast at pipeline sequence %d after %.1f s (%.0f "
        "events/s while waiting)\n",
        Applied(), secs, (Applied() - first) / std::max(secs, 1e-9));
  }

  void Query() {
    LoadState();
    const int n = absl::GetFlag(FLAGS_queries);
    std::vector<double> noop, root, mid;
    noop.reserve(n);
    root.reserve(n);
    mid.reserve(n);
    v1::GetForecastRequest root_req = ForecastRequest(org_.root);
    v1::GetForecastRequest mid_req = ForecastRequest(org_.mid);
    grpc::health::v1::HealthCheckRequest health_req;
    // Times one call (`call` takes the context, returns the status).
    auto timed = [&](bool keep, const char* what, std::vector<double>* into,
                     const auto& call) {
      auto ctx = Ctx();
      const auto t0 = Clock::now();
      grpc::Status s = call(ctx.get());
      const auto t1 = Clock::now();
      if (!s.ok()) Fail(what, s);
      if (keep) into->push_back(Micros(t0, t1));
    };
    for (int i = 0; i < n + 1000; ++i) {  // the first 1000 warm up
      const bool keep = i >= 1000;
      grpc::health::v1::HealthCheckResponse health;
      timed(keep, "Health/Check", &noop, [&](grpc::ClientContext* ctx) {
        return health_->Check(ctx, health_req, &health);
      });
      v1::Forecast out;
      timed(keep, "GetForecast root", &root, [&](grpc::ClientContext* ctx) {
        return forecast_->GetForecast(ctx, root_req, &out);
      });
      if (i == 0) {
        std::cout << absl::StrFormat(
            "query: root forecast %d minor units, pipeline_weighted %d, "
            "%d funnel rows, %d children, %d regions, %d missing rates, "
            "currency %s\n",
            out.node().forecast().units_minor(),
            out.node().pipeline_weighted().units_minor(), out.funnel_size(),
            out.children_size(), out.regions_size(), out.missing_rates_size(),
            out.currency());
      }
      v1::Forecast mid_out;
      timed(keep, "GetForecast mid", &mid, [&](grpc::ClientContext* ctx) {
        return forecast_->GetForecast(ctx, mid_req, &mid_out);
      });
    }
    const Percentiles pn = Of(noop), pr = Of(root), pm = Of(mid);
    std::cout << absl::StrFormat(
        "query: Health/Check p50 %.0f us p99 %.0f us; GetForecast root p50 "
        "%.0f us p99 %.0f us (p99 ratio %.2f); mid-level p50 %.0f us p99 "
        "%.0f us (p99 ratio %.2f); %d calls each\n",
        pn.p50_us, pn.p99_us, pr.p50_us, pr.p99_us, pr.p99_us / pn.p99_us,
        pm.p50_us, pm.p99_us, pm.p99_us / pn.p99_us, n);
  }

  // Where the fresh phase writes: this instance, or with --regions_list each
  // region's pipeline, watched in the global forecast at "<region>/<rep>".
  struct Target {
    std::string prefix;  // "" or "<region>/"
    std::string currency;
    std::string account;
    std::vector<std::string> reps;
    std::unique_ptr<v1::PipelineService::Stub> own;
    v1::PipelineService::Stub* pipeline = nullptr;
  };

  std::vector<Target> FreshTargets() {
    std::vector<Target> out;
    const std::string list = absl::GetFlag(FLAGS_regions_list);
    if (list.empty()) {
      LoadState();
      out.push_back({"", absl::GetFlag(FLAGS_currency), account_, org_.reps,
                     nullptr, pipeline_.get()});
      return out;
    }
    for (RegionTarget& r : ReadRegionsList(list)) {
      Target t{absl::StrCat(r.id, "/"), r.currency, r.state.account,
               std::move(r.state.reps),
               v1::PipelineService::NewStub(Channel(r.pipeline_addr))};
      t.pipeline = t.own.get();
      out.push_back(std::move(t));
    }
    return out;
  }

  // Paces creates per `run` over `targets`, write i to target i % targets
  // and rep i / targets % reps; a sampled write is visible once
  // GetForecast of its rep counts one more open deal.
  void Pace(const std::vector<Target>& targets, PacedRun* run) {
    const size_t n = targets.size();
    auto target = [&](int64_t i) -> const Target& {
      return targets[static_cast<size_t>(i) % n];
    };
    auto rep = [&](int64_t i) -> const std::string& {
      const Target& t = target(i);
      return t.reps[static_cast<size_t>(i) / n % t.reps.size()];
    };
    PacedWrites writes;
    writes.poll_us = absl::GetFlag(FLAGS_fresh_poll_us);
    writes.count = [&](int64_t i) {
      return RepCount(target(i).prefix + rep(i));
    };
    writes.write = [&](int64_t i) {
      v1::CreateOpportunityRequest req;
      FillCreate(target(i), rep(i), run->name, i, &req);
      v1::Opportunity out;
      grpc::Status s =
          target(i).pipeline->CreateOpportunity(Ctx().get(), req, &out);
      if (!s.ok()) Fail("CreateOpportunity", s);
    };
    writes.start = [&](int64_t i, std::function<void()> done) {
      using Call = AsyncCall<v1::CreateOpportunityRequest, v1::Opportunity>;
      auto call = std::make_shared<Call>(&live_calls_);
      call->ctx.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(30));
      FillCreate(target(i), rep(i), run->name, i, &call->req);
      target(i).pipeline->async()->CreateOpportunity(
          &call->ctx, &call->req, &call->resp,
          [call, done = std::move(done)](grpc::Status s) {
            if (!s.ok()) Fail("CreateOpportunity", s);
            done();
          });
    };
    bench::Pace(writes, run);
  }

  // Creates at --fresh_rate per second for --fresh_seconds, every 10th
  // timed until the forecast shows it.
  void Fresh() {
    const std::vector<Target> targets = FreshTargets();
    PacedRun run;
    run.rate = absl::GetFlag(FLAGS_fresh_rate);
    run.seconds = absl::GetFlag(FLAGS_fresh_seconds);
    run.threads = absl::GetFlag(FLAGS_fresh_threads);
    run.sample_every = 10;
    run.name = "fresh";
    Pace(targets, &run);
    const Percentiles p = Of(run.visible_us);
    std::cout << absl::StrFormat(
        "fresh: %d creates over %d pipelines in %.1f s (%.0f/s, %d started "
        "late); write to forecast visible p50 %.1f ms p99 %.1f ms over %d "
        "samples\n",
        run.total, targets.size(), run.secs, run.total / run.secs,
        run.late_starts, p.p50_us / 1000, p.p99_us / 1000,
        run.visible_us.size());
  }

  // Root GetForecast interleaved with Health/Check (as the query phase)
  // while other threads pace creates at --mixed_rate for --mixed_seconds
  // (every --mixed_sample_every'th timed until the forecast shows it).
  void Mixed() {
    const std::vector<Target> targets = FreshTargets();
    PacedRun run;
    run.rate = absl::GetFlag(FLAGS_mixed_rate);
    run.seconds = absl::GetFlag(FLAGS_mixed_seconds);
    run.threads = absl::GetFlag(FLAGS_mixed_threads);
    run.sample_every = absl::GetFlag(FLAGS_mixed_sample_every);
    run.name = "mixed";
    std::vector<double> noop, root;
    std::atomic<bool> writing{true};
    std::thread reader([&] { QueryWhile(&writing, &noop, &root); });
    Pace(targets, &run);
    writing = false;
    reader.join();
    const Percentiles pn = Of(noop), pr = Of(root), pv = Of(run.visible_us);
    std::cout << absl::StrFormat(
        "mixed: %d creates in %.1f s = %.0f/s (%d started late); "
        "Health/Check p50 %.0f us p99 %.0f us; GetForecast root p50 %.0f us "
        "p99 %.0f us (p99 ratio %.2f; %d calls each); write to forecast "
        "visible p50 %.1f ms p99 %.1f ms over %d samples\n",
        run.total, run.secs, run.total / run.secs, run.late_starts, pn.p50_us,
        pn.p99_us, pr.p50_us, pr.p99_us, pr.p99_us / pn.p99_us, root.size(),
        pv.p50_us / 1000, pv.p99_us / 1000, run.visible_us.size());
  }

  // Health/Check then root GetForecast, timed, until *go is false.
  void QueryWhile(const std::atomic<bool>* go, std::vector<double>* noop,
                  std::vector<double>* root) {
    const v1::GetForecastRequest root_req = ForecastRequest(org_.root);
    const grpc::health::v1::HealthCheckRequest health_req;
    for (int64_t i = 0; go->load() && i < 100'000'000; ++i) {
      grpc::health::v1::HealthCheckResponse health;
      Clock::time_point t0 = Clock::now();
      grpc::Status s = health_->Check(Ctx().get(), health_req, &health);
      if (!s.ok()) Fail("Health/Check", s);
      noop->push_back(Micros(t0, Clock::now()));
      v1::Forecast out;
      t0 = Clock::now();
      s = forecast_->GetForecast(Ctx().get(), root_req, &out);
      if (!s.ok()) Fail("GetForecast root", s);
      root->push_back(Micros(t0, Clock::now()));
    }
  }

  // Polls Health/Check of --serving_addr every 5 ms until SERVING (at most
  // 5 minutes); prints the time since --since_unix_ns (the script's clock
  // just before it started the service).
  static void Serving() {
    // A new channel each time, with its own subchannel: a channel that
    // failed to connect waits out gRPC's reconnect backoff (1 s, then 1.6x
    // longer), which would add seconds to a restart that takes less.
    const int64_t since = absl::GetFlag(FLAGS_since_unix_ns);
    for (int i = 0; i < 60'000; ++i) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      auto health = grpc::health::v1::Health::NewStub(
          grpc::CreateCustomChannel(absl::GetFlag(FLAGS_serving_addr),
                                    grpc::InsecureChannelCredentials(), args));
      grpc::health::v1::HealthCheckResponse out;
      grpc::Status s =
          health->Check(Ctx(absl::Milliseconds(200)).get(),
                        grpc::health::v1::HealthCheckRequest(), &out);
      if (s.ok() &&
          out.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
        const double secs =
            absl::ToDoubleSeconds(absl::Now() - absl::FromUnixNanos(since));
        std::cout << absl::StrFormat("serving: %s SERVING %.2f s after start\n",
                                     absl::GetFlag(FLAGS_serving_name), secs);
        return;
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    std::cerr << "bench: " << absl::GetFlag(FLAGS_serving_addr)
              << " not SERVING after 5 minutes\n";
    std::exit(1);
  }

  // Write i of `kind` ("fresh", "mixed"): an open deal of `rep` closing
  // 2027-02-01, of an amount pseudo-random from i.
  static void FillCreate(const Target& target, const std::string& rep,
                         const std::string& kind, int64_t i,
                         v1::CreateOpportunityRequest* req) {
    const uint64_t h = static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull;
    v1::Opportunity* o = req->mutable_opportunity();
    o->set_account_id(target.account);
    o->set_owner_node_id(rep);
    o->set_name(absl::StrCat(kind, " ", i));
    o->mutable_amount()->set_units_minor(
        static_cast<int64_t>(100'000 + (h >> 11) % 1'000'000));
    o->mutable_amount()->set_currency(target.currency);
    o->mutable_expected_close_date()->set_year(2027);
    o->mutable_expected_close_date()->set_month(2);
    o->mutable_expected_close_date()->set_day(1);
    // A run's own request_ids: a later run on the same data (REUSE=1) makes
    // new deals instead of replaying this run's answers.
    static const int64_t run = absl::ToUnixSeconds(absl::Now());
    req->set_request_id(absl::StrCat(kind, "-", run, "-", i));
  }

  // Waits until the global forecast's root counts --expect_open open deals
  // this quarter: the global forecast's catch-up over every region.
  void FedCatchUp() {
    LoadState();
    const int64_t want = absl::GetFlag(FLAGS_expect_open);
    const absl::Time start = absl::Now();
    int64_t have = 0;
    for (int i = 0; i < 36'000 && have < want; ++i) {  // at most an hour
      if (i > 0) absl::SleepFor(absl::Milliseconds(100));
      v1::GetForecastRequest req = ForecastRequest(org_.root);
      req.set_skip_children(true);
      v1::Forecast out;
      // NOT_FOUND until the headquarters' node is in the accounts feed.
      if (!forecast_->GetForecast(Ctx().get(), req, &out).ok()) continue;
      have = 0;
      for (const v1::FunnelRow& r : out.funnel()) have += r.count();
    }
    const double secs = absl::ToDoubleSeconds(absl::Now() - start);
    std::cout << absl::StrFormat(
        "fedcatchup: global root counts %d of %d open deals after %.1f s "
        "(%.0f deals/s while waiting)\n",
        have, want, secs, have / std::max(secs, 1e-9));
  }

  void Headquarters() {
    SetUpHeadquarters(accounts_.get(),
                      ReadRegionsList(absl::GetFlag(FLAGS_regions_list)),
                      absl::GetFlag(FLAGS_rates), absl::GetFlag(FLAGS_state));
  }

 private:
  // Open opportunities the forecast counts for `rep` in FY2027 Q1.
  int64_t RepCount(const std::string& rep) {
    v1::GetForecastRequest req = ForecastRequest(rep);
    req.set_skip_children(true);
    v1::Forecast out;
    grpc::Status s = forecast_->GetForecast(Ctx().get(), req, &out);
    if (!s.ok()) Fail("GetForecast rep", s);
    int64_t n = 0;
    for (const v1::FunnelRow& r : out.funnel()) n += r.count();
    return n;
  }

  static v1::GetForecastRequest ForecastRequest(const std::string& node) {
    v1::GetForecastRequest req;
    req.set_node_id(node);
    req.set_fiscal_year(2027);
    req.set_fiscal_quarter(1);
    return req;
  }

  uint64_t Applied() {
    v1::Forecast out;
    grpc::Status s =
        forecast_->GetForecast(Ctx().get(), ForecastRequest(org_.root), &out);
    if (!s.ok()) return 0;
    return out.pipeline_sequence();
  }

  std::string Node(v1::OrgNodeKind kind, const std::string& name,
                   const std::string& parent) {
    v1::CreateOrgNodeRequest req;
    req.mutable_node()->set_kind(kind);
    req.mutable_node()->set_name(name);
    req.mutable_node()->set_parent_id(parent);
    req.set_request_id(absl::StrCat("bench-", name));
    v1::OrgNode out;
    grpc::Status s = accounts_->CreateOrgNode(Ctx().get(), req, &out);
    if (!s.ok()) Fail("CreateOrgNode " + name, s);
    std::lock_guard<std::mutex> lock(mu_);
    org_.edges.emplace_back(out.id(), parent);
    return out.id();
  }

  template <typename F>
  static void ParallelFor(int n, int threads, F f) {
    std::atomic<int> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        for (int i = next++; i < n; i = next++) f(i);
      });
    }
    for (std::thread& t : pool) t.join();
  }

 public:
  // CreateOpportunity p99 with and without a webhook subscription whose
  // receiver accepts connections and never answers (a socket of this process
  // that listens and is never read), in alternating blocks of one run.
  void Webhook() {
    LoadState();
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(fd, 1024) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::cerr << "bench: cannot listen on loopback\n";
      std::exit(1);
    }
    auto webhooks = v1::WebhookService::NewStub(pipeline_channel_);
    std::vector<double> without, with;
    const int rounds = absl::GetFlag(FLAGS_webhook_rounds);
    for (int r = 0; r < rounds; ++r) {
      for (int half = 0; half < 2; ++half) {
        const bool subscribed = (half == 0) == (r % 2 == 1);
        std::string id;
        if (subscribed) {
          v1::CreateWebhookRequest req;
          req.set_target_url(
              absl::StrCat("http://127.0.0.1:", ntohs(addr.sin_port), "/hook"));
          v1::CreateWebhookResponse resp;
          grpc::Status s = webhooks->CreateWebhook(Ctx().get(), req, &resp);
          if (!s.ok()) Fail("CreateWebhook", s);
          id = resp.webhook().id();
        }
        TimedCreates(r * 2 + half, subscribed ? &with : &without);
        if (subscribed) {
          v1::DeleteWebhookRequest req;
          req.set_id(id);
          v1::DeleteWebhookResponse resp;
          grpc::Status s = webhooks->DeleteWebhook(Ctx().get(), req, &resp);
          if (!s.ok()) Fail("DeleteWebhook", s);
        }
      }
    }
    close(fd);
    const Percentiles a = Of(without), b = Of(with);
    std::cout << absl::StrFormat(
        "webhook: CreateOpportunity, %d calls each: without a subscription "
        "p50 %.2f ms p99 %.2f ms; with a never-answering receiver p50 %.2f "
        "ms p99 %.2f ms; p99 ratio %.3f\n",
        static_cast<int>(without.size()), a.p50_us / 1000, a.p99_us / 1000,
        b.p50_us / 1000, b.p99_us / 1000, b.p99_us / a.p99_us);
  }

  // One block of sequential CreateOpportunity calls; appends their
  // latencies (microseconds).
  void TimedCreates(int block, std::vector<double>* us) {
    const int calls = absl::GetFlag(FLAGS_webhook_calls);
    for (int i = 0; i < calls; ++i) {
      v1::CreateOpportunityRequest req;
      v1::Opportunity* o = req.mutable_opportunity();
      o->set_account_id(account_);
      o->set_owner_node_id(
          org_.reps[static_cast<size_t>(i) % org_.reps.size()]);
      o->set_name(absl::StrCat("Webhook bench ", block, "-", i));
      o->mutable_amount()->set_units_minor(100'000 + i);
      o->mutable_amount()->set_currency(absl::GetFlag(FLAGS_currency));
      o->mutable_expected_close_date()->set_year(2027);
      o->mutable_expected_close_date()->set_month(2);
      o->mutable_expected_close_date()->set_day(1);
      v1::Opportunity out;
      const Clock::time_point start = Clock::now();
      grpc::Status s = pipeline_->CreateOpportunity(Ctx().get(), req, &out);
      if (!s.ok()) Fail("CreateOpportunity", s);
      us->push_back(Micros(start, Clock::now()));
    }
  }

 private:
  void SaveState() {
    WriteState(absl::GetFlag(FLAGS_state),
               {org_.root, org_.mid, account_, org_.reps});
    const std::string dir = absl::GetFlag(FLAGS_csv_dir);
    if (!dir.empty()) {
      std::ofstream csv(dir + "/org.csv", std::ios::trunc);
      for (const auto& [id, parent] : org_.edges) {
        csv << id << "," << parent << "\n";
      }
    }
  }

  void LoadState() {
    if (!org_.root.empty()) return;
    State s;
    if (!ReadState(absl::GetFlag(FLAGS_state), &s)) std::exit(1);
    org_.root = s.root;
    org_.mid = s.mid;
    account_ = s.account;
    org_.reps = std::move(s.reps);
  }

  std::unique_ptr<v1::AccountsService::Stub> accounts_;
  std::shared_ptr<grpc::Channel> pipeline_channel_;
  std::unique_ptr<v1::PipelineService::Stub> pipeline_;
  std::shared_ptr<grpc::Channel> forecast_channel_;
  std::unique_ptr<v1::ForecastService::Stub> forecast_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
  std::mutex mu_;
  std::atomic<int> live_calls_{0};  // paced asynchronous creates
  Org org_;
  std::string account_;
};

}  // namespace
}  // namespace salesops::bench

int main(int argc, char** argv) {
  salesops::ParseCommandLineWithUsage(
      argc, argv,
      "the SalesOps forecast benchmark: load, catch-up, query and freshness "
      "phases against running services (bench/run.sh)");
  salesops::bench::Bench bench;
  const std::string phases = absl::GetFlag(FLAGS_phases);
  const auto has = [&](const char* p) {
    return absl::StrCat(",", phases, ",").find(absl::StrCat(",", p, ",")) !=
           std::string::npos;
  };
  if (has("org")) bench.BuildOrg();
  if (has("load")) bench.Load();
  if (has("hq")) bench.Headquarters();
  if (has("catchup")) bench.CatchUp();
  if (has("fedcatchup")) bench.FedCatchUp();
  if (has("query")) bench.Query();
  if (has("fresh")) bench.Fresh();
  if (has("mixed")) bench.Mixed();
  if (has("serving")) salesops::bench::Bench::Serving();
  if (has("webhook")) bench.Webhook();
  return 0;
}
