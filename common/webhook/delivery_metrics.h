#pragma once

// The webhook metrics of one service (docs/OPERATIONS.md "Webhooks"):
//   salesops_webhook_deliveries_total{outcome="success"|"failure"}  attempts
//   salesops_webhook_lag_events{webhook}        feed events after the cursor
//   salesops_webhook_oldest_undelivered_seconds{webhook}  age of the next
//       event to deliver (0 when caught up)
//   salesops_webhook_auto_paused                subscriptions AUTO_PAUSED
// The per-subscription label set is bounded by kMaxSubscriptions; a
// subscription's series exist while its deliverer runs.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <string>

namespace salesops::webhook {

class DeliveryMetrics {
 public:
  explicit DeliveryMetrics(prometheus::Registry& registry);

  struct Series {
    prometheus::Gauge* lag = nullptr;
    prometheus::Gauge* oldest = nullptr;
  };
  // The series of subscription `id`; Remove them before another deliverer of
  // the same id adds its own.
  Series Add(const std::string& id);
  void Remove(const Series& series);

  prometheus::Counter& success() { return *success_; }
  prometheus::Counter& failure() { return *failure_; }
  prometheus::Gauge& auto_paused() { return *auto_paused_; }

 private:
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Gauge>& oldest_;
  prometheus::Counter* success_;
  prometheus::Counter* failure_;
  prometheus::Gauge* auto_paused_;
};

}  // namespace salesops::webhook
