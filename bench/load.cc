#include "bench/load.h"

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/common.h"

namespace salesops::bench {
namespace {

const char* const kStages[] = {"INTEREST",   "CONSIDERATION", "DESIGN",
                               "COMPARISON", "COMMITMENT",    "USAGE"};

// Keeps `width` calls in flight over items [0, count): start(i, next)
// starts item i's asynchronous call, whose completion must call next() once,
// last. Stops launching once *stop is set. Returns when every call has
// finished and its state (counted in *live) is gone.
void KeepInFlight(
    int64_t count, int width, std::atomic<int>* live,
    const std::atomic<bool>* stop,
    const std::function<void(int64_t, const std::function<void()>&)>& start) {
  std::atomic<int64_t> next{0};
  std::mutex mu;
  std::condition_variable cv;
  int active = width;
  std::function<void()> launch = [&] {
    const int64_t i = next++;
    if (i >= count || stop->load()) {
      std::lock_guard<std::mutex> lock(mu);
      if (--active == 0) cv.notify_all();
      return;
    }
    start(i, launch);
  };
  for (int c = 0; c < width; ++c) launch();
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return active == 0; });
  }
  for (int i = 0; i < 10'000 && *live > 0; ++i) {  // at most 10 s
    absl::SleepFor(absl::Milliseconds(1));
  }
}

void AppendRow(const v1::Opportunity& o, std::string* rows) {
  absl::StrAppend(rows, o.owner_node_id(), ",", o.amount().units_minor(), ",",
                  o.stage_key(), "\n");
}

}  // namespace

void FillDeal(const Deals& d, int64_t i, v1::CreateOpportunityRequest* req) {
  const uint64_t h = static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull;
  v1::Opportunity* o = req->mutable_opportunity();
  o->set_account_id(d.account);
  o->set_owner_node_id((*d.reps)[static_cast<size_t>(i) % d.reps->size()]);
  o->set_name(absl::StrCat("Bench ", i));
  o->mutable_amount()->set_units_minor(
      static_cast<int64_t>(100'000 + (h >> 11) % 100'000'000));
  o->mutable_amount()->set_currency(d.currency);
  o->mutable_expected_close_date()->set_year(2027);
  o->mutable_expected_close_date()->set_month(static_cast<int>(1 + h % 3));
  o->mutable_expected_close_date()->set_day(
      static_cast<int>(1 + (h >> 3) % 28));
  o->set_stage_key(kStages[(h >> 7) % 6]);
  req->set_request_id(absl::StrCat("bench-", i));
}

double CreateUnary(const Deals& d, int64_t from, int64_t to, int in_flight,
                   std::string* rows) {
  using Call = AsyncCall<v1::CreateOpportunityRequest, v1::Opportunity>;
  std::atomic<int> live{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  const absl::Time start = absl::Now();
  KeepInFlight(
      to - from, in_flight, &live, &stop,
      [&](int64_t k, const std::function<void()>& next) {
        auto call = std::make_shared<Call>(&live);
        call->ctx.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(60));
        FillDeal(d, from + k, &call->req);
        const std::function<void()>* again = &next;
        d.pipeline->async()->CreateOpportunity(
            &call->ctx, &call->req, &call->resp,
            [&, call, k, again](grpc::Status s) {
              if (!s.ok()) Fail("CreateOpportunity", s);
              {
                std::lock_guard<std::mutex> lock(mu);
                AppendRow(call->resp, rows);
              }
              if (k % 100'000 == 0 && k > 0) {
                std::cout << absl::StrFormat(
                                 "load: %d created, %.0f/s\n", k,
                                 k / absl::ToDoubleSeconds(absl::Now() - start))
                          << std::flush;
              }
              (*again)();
            });
      });
  return absl::ToDoubleSeconds(absl::Now() - start);
}

namespace {

// Exits unless every row of `resp` answers its row of `req` as CREATED.
void CheckImported(const v1::ImportOpportunitiesRequest& req,
                   const v1::ImportOpportunitiesResponse& resp) {
  if (resp.results_size() != req.rows_size()) {
    std::cerr << "bench: ImportOpportunities answered " << resp.results_size()
              << " results for " << req.rows_size() << " rows\n";
    std::exit(1);
  }
  for (int r = 0; r < resp.results_size(); ++r) {
    const v1::ImportRowResult& res = resp.results(r);
    if (res.outcome() != v1::IMPORT_ROW_OUTCOME_CREATED ||
        res.row() != req.first_row() + r) {
      std::cerr << "bench: ImportOpportunities row " << res.row() << " ("
                << req.rows(r).request_id() << "): outcome "
                << v1::ImportRowOutcome_Name(res.outcome()) << ", code "
                << res.code() << " " << res.message() << "\n";
      std::exit(1);
    }
  }
}

}  // namespace

double Import(const Deals& d, int64_t from, int64_t to, int batch,
              int in_flight, std::string* rows) {
  using Call = AsyncCall<v1::ImportOpportunitiesRequest,
                         v1::ImportOpportunitiesResponse>;
  std::atomic<int> live{0};
  std::atomic<bool> unimplemented{false};
  std::atomic<int64_t> done{0};
  std::mutex mu;
  const int64_t batches = (to - from + batch - 1) / batch;
  const absl::Time start = absl::Now();
  KeepInFlight(
      batches, in_flight, &live, &unimplemented,
      [&](int64_t b, const std::function<void()>& next) {
        auto call = std::make_shared<Call>(&live);
        call->ctx.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(120));
        const int64_t first = from + b * batch;
        for (int64_t i = first; i < std::min(to, first + batch); ++i) {
          FillDeal(d, i, call->req.add_rows());
        }
        call->req.set_first_row(first + 1);
        const std::function<void()>* again = &next;
        d.pipeline->async()->ImportOpportunities(
            &call->ctx, &call->req, &call->resp,
            [&, call, again](grpc::Status s) {
              if (s.error_code() == grpc::StatusCode::UNIMPLEMENTED) {
                unimplemented = true;
              } else {
                if (!s.ok()) Fail("ImportOpportunities", s);
                CheckImported(call->req, call->resp);
                std::lock_guard<std::mutex> lock(mu);
                for (const auto& row : call->req.rows()) {
                  AppendRow(row.opportunity(), rows);
                }
                const int64_t n = done += call->req.rows_size();
                if (n / 1'000'000 != (n - call->req.rows_size()) / 1'000'000) {
                  std::cout
                      << absl::StrFormat(
                             "import: %d rows, %.0f/s\n", n,
                             n / absl::ToDoubleSeconds(absl::Now() - start))
                      << std::flush;
                }
              }
              (*again)();
            });
      });
  if (unimplemented) {
    if (done > 0) {
      std::cerr << "bench: ImportOpportunities UNIMPLEMENTED after " << done
                << " rows\n";
      std::exit(1);
    }
    return -1;
  }
  return absl::ToDoubleSeconds(absl::Now() - start);
}

void WriteDealsCsv(const Deals& d, int64_t from, int64_t to,
                   const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  v1::CreateOpportunityRequest req;
  for (int64_t i = from; i < to; ++i) {
    req.Clear();
    FillDeal(d, i, &req);
    const v1::Opportunity& o = req.opportunity();
    const auto& c = o.expected_close_date();
    out << absl::StrFormat(
        "%d,%s,%s,%s,%d,%s,%s,%04d-%02d-%02d,%s\n", i, o.name(), o.account_id(),
        o.owner_node_id(), o.amount().units_minor(), o.amount().currency(),
        o.stage_key(), c.year(), c.month(), c.day(), req.request_id());
  }
}

}  // namespace salesops::bench
