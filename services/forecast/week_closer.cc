#include "services/forecast/week_closer.h"

#include "common/log/log.h"

namespace salesops::forecast {

void WeekCloser::Start(absl::Duration period) {
  thread_ = std::thread([this, period] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      if (absl::Status s = close_(clock_->Now()); !s.ok()) {
        log::Error("forecast: automatic week close failed",
                   {{"error", s.ToString()}});
      }
      lock.lock();
      cv_.wait_for(lock, absl::ToChronoSeconds(period),
                   [this] { return stop_; });
    }
  });
}

void WeekCloser::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

}  // namespace salesops::forecast
