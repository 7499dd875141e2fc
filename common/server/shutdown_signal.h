#pragma once

// Tells handlers that wait (a read waiting for a feed position) that the server
// has begun to drain, so they answer UNAVAILABLE kShuttingDownMessage at once
// instead of holding the drain until --drain_timeout (server.h: Shutdown). The
// Server owns one and notifies it when Shutdown begins; handlers get it from
// Server::shutdown_signal() and look at it between slices of their wait.

#include <atomic>

namespace salesops {

// The message of the UNAVAILABLE a call gets because the server is draining.
inline constexpr char kShuttingDownMessage[] = "server shutting down; retry";

class ShutdownSignal {
 public:
  // Idempotent.
  void Notify() { notified_.store(true); }
  bool notified() const { return notified_.load(); }

 private:
  std::atomic<bool> notified_{false};
};

}  // namespace salesops
