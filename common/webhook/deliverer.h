#pragma once

// Delivery of one service's feed to its webhook subscriptions (DECISIONS D35).
//
// WebhookManager runs one Deliverer thread per ACTIVE subscription (at most
// kMaxSubscriptions). A Deliverer reads this service's outbox from the Store
// directly, skips the kinds its filter does not take, and POSTs each event it
// does take, in feed order, one at a time, retrying with exponential backoff
// and full jitter until a 2xx; only then does it advance the subscription's
// cursor (a synced write). So delivery is at least once, and an event's id
// ("<epoch>-<sequence>") is the same on every attempt. A failure streak longer
// than auto_pause_after, a cursor of another store epoch (a restore) or a
// cursor behind the feed's retention makes the subscription AUTO_PAUSED with
// the reason in last_error: events are never skipped silently.
//
// Nothing on a request path waits for a receiver: Sync() only signals threads
// (a stopped deliverer is joined by its successor or at Stop()), and every
// HTTP call has connect/read/write timeouts. Stop() interrupts requests in
// flight (cpp-httplib's Client::stop) and joins every thread.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "common/store/store.h"
#include "common/webhook/webhook_store.h"
#include "salesops/v1/webhook.pb.h"

namespace prometheus {
class Registry;
}

namespace salesops::webhook {

struct DeliverySettings {
  std::string service;  // "accounts": the body's "service"
  absl::Duration retry_initial = absl::Milliseconds(500);
  absl::Duration retry_max = absl::Seconds(60);
  absl::Duration auto_pause_after = absl::Hours(24);
  absl::Duration connect_timeout = absl::Seconds(2);
  absl::Duration io_timeout = absl::Seconds(10);  // read and write
  std::string ca_file;                            // "" = the system's store
  // --webhook_allow_http_loopback: an http subscription made with it is
  // AUTO_PAUSED when the service runs without it.
  bool allow_http_loopback = false;
};

class DeliveryMetrics;
class Deliverer;

class WebhookManager {
 public:
  // None of the pointers is owned; all outlive the manager.
  WebhookManager(Store* store, WebhookStore* webhooks,
                 DeliverySettings settings, prometheus::Registry* registry);
  ~WebhookManager();  // Stop()

  // Starts a deliverer for every ACTIVE subscription.
  [[nodiscard]] absl::Status Start();
  // Makes the threads match `webhook`'s state (after a change): starts a
  // deliverer when ACTIVE and none runs, signals it to stop otherwise.
  void Sync(const v1::Webhook& webhook);
  // Signals the deliverer of `id` (deleted) to stop.
  void Forget(const std::string& id);
  // The live last_error and failing_since of a running deliverer, over
  // `webhook`'s stored ones.
  void Overlay(v1::Webhook* webhook) const;
  // Stops and joins every deliverer; later Syncs do nothing. Idempotent.
  void Stop();

 private:
  // Sets salesops_webhook_auto_paused from the store.
  void CountAutoPaused();
  // Joins the retired deliverers that have ended. Under mu_.
  void Reap();

  Store* store_;
  WebhookStore* webhooks_;
  DeliverySettings settings_;
  std::unique_ptr<DeliveryMetrics> metrics_;
  mutable std::mutex mu_;
  bool stopped_ = false;
  std::map<std::string, std::unique_ptr<Deliverer>> running_;
  // Stopping deliverers no successor took over; joined at Stop().
  std::vector<std::unique_ptr<Deliverer>> retired_;
};

}  // namespace salesops::webhook
