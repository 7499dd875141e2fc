#include "common/webhook/delivery_metrics.h"

namespace salesops::webhook {

DeliveryMetrics::DeliveryMetrics(prometheus::Registry& registry)
    : lag_(prometheus::BuildGauge()
               .Name("salesops_webhook_lag_events")
               .Help("Feed events after a webhook subscription's cursor")
               .Register(registry)),
      oldest_(prometheus::BuildGauge()
                  .Name("salesops_webhook_oldest_undelivered_seconds")
                  .Help("Age of the next event a webhook subscription has to "
                        "deliver; 0 when caught up")
                  .Register(registry)) {
  auto& deliveries =
      prometheus::BuildCounter()
          .Name("salesops_webhook_deliveries_total")
          .Help("Webhook delivery attempts by outcome (success = a 2xx)")
          .Register(registry);
  success_ = &deliveries.Add({{"outcome", "success"}});
  failure_ = &deliveries.Add({{"outcome", "failure"}});
  auto_paused_ = &prometheus::BuildGauge()
                      .Name("salesops_webhook_auto_paused")
                      .Help(
                          "Webhook subscriptions AUTO_PAUSED by failures, "
                          "a restore or the feed's retention")
                      .Register(registry)
                      .Add({});
}

DeliveryMetrics::Series DeliveryMetrics::Add(const std::string& id) {
  return Series{&lag_.Add({{"webhook", id}}), &oldest_.Add({{"webhook", id}})};
}

void DeliveryMetrics::Remove(const Series& series) {
  lag_.Remove(series.lag);
  oldest_.Remove(series.oldest);
}

}  // namespace salesops::webhook
