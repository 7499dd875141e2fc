#pragma once

// Every "now" in the suite comes from an injected Clock, so tests can move time
// by hand.

#include <cstdint>
#include <mutex>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace salesops {

// Microseconds since the Unix epoch: how every *_micros field of the API
// stores a time (created_micros, updated_micros, ...).
inline int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // The process-wide wall clock.
  static Clock* Real();
};

// A clock that moves only when told. Thread-safe.
class FakeClock : public Clock {
 public:
  explicit FakeClock(
      absl::Time start = absl::FromUnixSeconds(1'767'225'600))  // 2026-01-01Z
      : now_(start) {}
  absl::Time Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void Set(absl::Time t) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ = t;
  }
  void Advance(absl::Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  absl::Time now_;
};

}  // namespace salesops
