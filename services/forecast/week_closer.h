#pragma once

// The forecast's one background job (SPEC §4.2): the automatic close of the
// week that ended, checked every `period` on a thread of its own — a job of
// its own, not the server's (ForecastServiceImpl::CloseEndedWeek is the
// work; this is only when it runs). No gRPC, no store.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/time/clock.h"

namespace salesops::forecast {

class WeekCloser {
 public:
  // Closes the week before the one containing `now`, unless closed already.
  using CloseFn = std::function<absl::Status(absl::Time now)>;
  // `clock` is not owned and outlives the closer.
  WeekCloser(Clock* clock, CloseFn close)
      : clock_(clock), close_(std::move(close)) {}
  ~WeekCloser() { Stop(); }
  WeekCloser(const WeekCloser&) = delete;
  WeekCloser& operator=(const WeekCloser&) = delete;

  // Runs the close now and then every `period` until Stop. A failed close is
  // logged and tried again a period later.
  void Start(absl::Duration period);
  // Stops and joins the thread; call before the store closes. Idempotent.
  void Stop();

 private:
  Clock* clock_;
  CloseFn close_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace salesops::forecast
