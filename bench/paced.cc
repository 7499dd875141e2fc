#include "bench/paced.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <mutex>
#include <thread>

#include "bench/common.h"

namespace salesops::bench {
namespace {

// The sampled writes waiting for a sampler thread.
class SampleQueue {
 public:
  void Push(int64_t i) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      items_.push_back(i);
    }
    cv_.notify_one();
  }
  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  // False once closed and empty.
  bool Pop(int64_t* i) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return false;
    *i = items_.front();
    items_.pop_front();
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int64_t> items_;
  bool closed_ = false;
};

// Write i through `w`, timed from its acknowledgement until visible.
double Sampled(const PacedWrites& w, int64_t i) {
  const int64_t before = w.count(i);
  w.write(i);
  const Clock::time_point acked = Clock::now();
  for (int poll = 0; poll < 100'000; ++poll) {  // bounded: ~seconds
    if (w.count(i) > before) break;
    if (w.poll_us > 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(w.poll_us));
    }
  }
  return Micros(acked, Clock::now());
}

}  // namespace

void Pace(const PacedWrites& writes, PacedRun* run) {
  run->total = static_cast<int64_t>(run->rate) * run->seconds;
  SampleQueue samples;
  std::mutex mu;
  std::vector<std::thread> samplers;
  for (int t = 0; t < run->threads; ++t) {
    samplers.emplace_back([&] {
      for (int64_t i = 0; samples.Pop(&i);) {
        const double us = Sampled(writes, i);
        std::lock_guard<std::mutex> lock(mu);
        run->visible_us.push_back(us);
      }
    });
  }
  std::atomic<int> in_flight{0};
  const Clock::time_point start = Clock::now();
  for (int64_t i = 0; i < run->total; ++i) {
    const Clock::time_point due =
        start + std::chrono::microseconds(i * 1'000'000 / run->rate);
    std::this_thread::sleep_until(due);
    // At most ~10 s per write waiting for room.
    for (int w = 0; w < 100'000 && in_flight >= run->max_in_flight; ++w) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    if (Clock::now() > due + std::chrono::milliseconds(5)) ++run->late_starts;
    if (i % run->sample_every == 0) {
      samples.Push(i);
      continue;
    }
    ++in_flight;
    writes.start(i, [&in_flight] { --in_flight; });
  }
  samples.Close();
  for (std::thread& t : samplers) t.join();
  for (int w = 0; w < 600'000 && in_flight > 0; ++w) {  // at most ~60 s
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  if (in_flight > 0) {
    std::cerr << "bench: " << run->name << ": " << in_flight
              << " writes unacknowledged 60 s after the last was started\n";
    std::exit(1);
  }
  run->secs = std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace salesops::bench
