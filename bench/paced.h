// An open-loop paced run of writes (the fresh phase of issue 5, the mixed
// phase of issue 21): write i is due at start + i / rate, whether or not the
// earlier ones have been acknowledged, so a slow server shows up as late
// starts and growing latency instead of a lower offered rate.
#ifndef SALESOPS_BENCH_PACED_H_
#define SALESOPS_BENCH_PACED_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace salesops::bench {

struct PacedRun {
  int rate = 0;          // writes per second, open loop
  int seconds = 0;       // for this long
  int threads = 0;       // sampler threads (each waits on its sampled write)
  int sample_every = 0;  // every Nth write is timed until visible
  int max_in_flight = 4096;  // unsampled writes not yet acknowledged
  std::string name;          // "fresh" or "mixed": names and request_ids
  // Results.
  int64_t total = 0;
  double secs = 0;
  int64_t late_starts = 0;  // writes that started > 5 ms after they were due
  std::vector<double> visible_us;
};

struct PacedWrites {
  // Starts write i without waiting; calls done() once, when acknowledged
  // (exits the process on a failed write).
  std::function<void(int64_t i, std::function<void()> done)> start;
  // Write i, returning once acknowledged.
  std::function<void(int64_t i)> write;
  // What the reader counts for write i's target; a write is visible when the
  // count exceeds the one read just before it.
  std::function<int64_t(int64_t i)> count;
  int poll_us = 0;  // pause between polls of count
};

// Runs `run.rate * run.seconds` writes. One pacing thread starts the
// unsampled writes asynchronously (at most max_in_flight unacknowledged:
// beyond that it waits, and the waits show as late starts); every
// sample_every'th write goes to the sampler threads, which read the count,
// write, and poll until the count grows (bounded: 100,000 polls), recording
// the time from the acknowledgement. Returns when every write is
// acknowledged.
void Pace(const PacedWrites& writes, PacedRun* run);

}  // namespace salesops::bench

#endif  // SALESOPS_BENCH_PACED_H_
