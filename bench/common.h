// What every phase of salesops-bench shares: channels and deadlines, the
// exit on an unexpected status, and latency percentiles.
#ifndef SALESOPS_BENCH_COMMON_H_
#define SALESOPS_BENCH_COMMON_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace salesops::bench {

using Clock = std::chrono::steady_clock;

// An insecure loopback channel without gRPC's transparent retries (a retry
// would hide a failure the benchmark must see).
std::shared_ptr<grpc::Channel> Channel(const std::string& addr);

// A context whose deadline is `deadline` from now.
std::unique_ptr<grpc::ClientContext> Ctx(
    absl::Duration deadline = absl::Seconds(30));

// Prints "bench: <what>: <code> <message>" and exits with 1.
[[noreturn]] void Fail(const std::string& what, const grpc::Status& s);

struct Percentiles {
  double p50_us = 0;
  double p99_us = 0;
};

// p50 and p99 of `us` (zeros when empty).
Percentiles Of(std::vector<double> us);

// Microseconds from a to b.
double Micros(Clock::time_point a, Clock::time_point b);

// Counts itself in `n` while it lives. A call's state holds one as its
// first member (so it is destroyed last): gRPC destroys a call's callback,
// and with it the state, after the callback returns, so a phase waits for
// none to be left before its channel may go.
struct Live {
  explicit Live(std::atomic<int>* l) : n(l) { ++*n; }
  ~Live() { --*n; }
  std::atomic<int>* n;
};

// One asynchronous call's state: Live first, then its context and messages.
template <typename Req, typename Resp>
struct AsyncCall {
  explicit AsyncCall(std::atomic<int>* l) : live(l) {}
  Live live;
  grpc::ClientContext ctx;
  Req req;
  Resp resp;
};

}  // namespace salesops::bench

#endif  // SALESOPS_BENCH_COMMON_H_
