#include "common/webhook/deliverer.h"

#include <httplib.h>
#include <pthread.h>

#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/trace/trace.h"
#include "common/webhook/delivery_metrics.h"
#include "common/webhook/webhook_rules.h"

namespace salesops::webhook {
namespace {

// The durable cursor is written (synced) at most this often while events
// flow, and whenever the deliverer is idle or stops: a SIGKILL redelivers at
// most this long's worth of acknowledged events (at least once), and the
// commit path is not paid one fsync per delivery.
constexpr absl::Duration kPersistEvery = absl::Milliseconds(200);
// A failure streak is stored once it has lasted this long, so that
// auto-pause counts across restarts, without a write per short hiccup.
constexpr absl::Duration kStoreStreakAfter = absl::Seconds(5);

// A keep-alive client of `target` with the settings' timeouts, TLS
// verification on (the system's CA store or --webhook_ca_file).
std::unique_ptr<httplib::Client> MakeClient(const Target& target,
                                            const DeliverySettings& settings) {
  auto client = std::make_unique<httplib::Client>(target.origin());
  const auto secs = [](absl::Duration d) {
    return static_cast<time_t>(absl::ToInt64Seconds(d));
  };
  client->set_connection_timeout(secs(settings.connect_timeout));
  client->set_read_timeout(secs(settings.io_timeout));
  client->set_write_timeout(secs(settings.io_timeout));
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);  // headers and body go in separate writes
  client->enable_server_certificate_verification(true);
  if (!settings.ca_file.empty()) {
    client->set_ca_cert_path(settings.ca_file);
  }
  return client;
}

}  // namespace

// One subscription's delivery thread (see deliverer.h).
class Deliverer {
 public:
  Deliverer(Store* store, WebhookStore* webhooks,
            const DeliverySettings* settings, DeliveryMetrics* metrics,
            v1::Webhook webhook, std::unique_ptr<Deliverer> predecessor,
            std::function<void()> on_auto_pause)
      : store_(store),
        webhooks_(webhooks),
        settings_(settings),
        metrics_(metrics),
        webhook_(std::move(webhook)),
        predecessor_(std::move(predecessor)),
        on_auto_pause_(std::move(on_auto_pause)),
        rng_(std::random_device{}()) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Deliverer() {
    Signal();
    Join();
  }

  // Asks the thread to stop and interrupts a request in flight.
  void Signal() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      if (client_ != nullptr) {
        client_->stop();
      }
    }
    cv_.notify_all();
  }
  void Join() {
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  // True once it was signalled, paused itself or ended.
  bool ending() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_ || pausing_ || finished_;
  }
  bool finished() const {
    std::lock_guard<std::mutex> lock(mu_);
    return finished_;
  }
  Streak streak() const {
    std::lock_guard<std::mutex> lock(mu_);
    return streak_;
  }

 private:
  void Run();
  // Loads the secret, cursor and streak; false (after auto-pausing when the
  // cursor cannot be honoured) when delivery must not start.
  bool Prepare();
  // Delivers the next batch of events; false when the thread must end.
  bool Step();
  // POSTs `event` until a 2xx; false when stopped or auto-paused first.
  bool Deliver(const v1::Event& event);
  // One attempt: true on a 2xx, else `*error` says what went wrong. Sends
  // the event's traceparent and tracestate headers when it has them.
  bool Post(const std::string& body, const std::string& event_id,
            const v1::Event& event, std::string* error);
  // Records a failed attempt; false when the subscription got auto-paused.
  bool Failed(const std::string& error);
  void AutoPause(const std::string& reason);
  void Persist();
  // Sleeps up to `d`; false when stopped meanwhile.
  bool Sleep(absl::Duration d);
  bool stopping() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_;
  }

  Store* store_;
  WebhookStore* webhooks_;
  const DeliverySettings* settings_;
  DeliveryMetrics* metrics_;
  v1::Webhook webhook_;
  std::unique_ptr<Deliverer> predecessor_;
  std::function<void()> on_auto_pause_;
  std::mt19937_64 rng_;
  std::string secret_;
  std::string epoch_;
  std::string path_;        // of the target URL, with its query
  uint64_t cursor_ = 0;     // last delivered or skipped
  uint64_t persisted_ = 0;  // the cursor as stored
  absl::Time persisted_at_ = absl::InfinitePast();
  bool streak_stored_ = false;  // the streak's start is in the store
  DeliveryMetrics::Series series_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool pausing_ = false;
  bool finished_ = false;
  Streak streak_;
  std::unique_ptr<httplib::Client> client_;
  std::thread thread_;
};

void Deliverer::Run() {
  pthread_setname_np(pthread_self(), "webhook");
  if (predecessor_ != nullptr) {
    predecessor_->Join();  // never two deliverers of one subscription
    predecessor_.reset();
  }
  series_ = metrics_->Add(webhook_.id());
  if (Prepare()) {
    while (Step()) {
    }
    Persist();
  }
  metrics_->Remove(series_);
  std::lock_guard<std::mutex> lock(mu_);
  client_.reset();
  finished_ = true;
}

bool Deliverer::Prepare() {
  absl::StatusOr<std::optional<v1::Webhook>> now =
      webhooks_->Get(webhook_.id());
  absl::StatusOr<std::string> secret = webhooks_->Secret(webhook_.id());
  if (!now.ok() || !now->has_value() || !secret.ok() ||
      (*now)->state() != v1::Webhook::STATE_ACTIVE) {
    return false;  // deleted or paused meanwhile
  }
  webhook_ = **now;
  secret_ = *secret;
  epoch_ = store_->epoch();
  cursor_ = persisted_ = webhook_.delivered_sequence();
  {
    std::lock_guard<std::mutex> lock(mu_);
    streak_ = {webhook_.failing_since_micros(), webhook_.last_error()};
  }
  streak_stored_ = webhook_.failing_since_micros() != 0;
  if (webhook_.epoch() != epoch_) {
    AutoPause(absl::StrCat(
        "the store was restored from a backup (epoch ", webhook_.epoch(),
        ", now ", epoch_, "): events after sequence ", cursor_,
        " of the old store may never have been delivered; ResumeWebhook "
        "delivers from sequence ",
        cursor_ + 1, " of the restored store, with its epoch in the ids"));
    return false;
  }
  absl::StatusOr<Target> target =
      ParseTarget(webhook_.target_url(), settings_->allow_http_loopback);
  if (!target.ok()) {  // e.g. http after --webhook_allow_http_loopback went
    AutoPause(absl::StrCat("the target is no longer allowed: ",
                           target.status().message()));
    return false;
  }
  path_ = target->path;
  std::unique_ptr<httplib::Client> client = MakeClient(*target, *settings_);
  std::lock_guard<std::mutex> lock(mu_);
  client_ = std::move(client);
  return !stop_;
}

bool Deliverer::Step() {
  const uint64_t first = store_->first_sequence();
  if (first > cursor_ + 1) {
    AutoPause(absl::StrCat(
        "events ", cursor_ + 1, "..", first - 1,
        " were trimmed by --feed_retention before they were delivered; "
        "ResumeWebhook delivers from sequence ",
        first, " on"));
    return false;
  }
  std::vector<v1::Event> events;
  const uint64_t generation = store_->wake_generation();
  absl::Status read = store_->ReadEvents(cursor_, 64, [&](v1::Event& e) {
    events.push_back(std::move(e));
    return true;
  });
  series_.lag->Set(static_cast<double>(store_->last_sequence() - cursor_));
  if (!read.ok() || (!events.empty() && events[0].sequence() != cursor_ + 1)) {
    log::Warn("webhook: cannot read the feed",
              {{"webhook", webhook_.id()}, {"error", read.ToString()}});
    return Sleep(absl::Seconds(1));  // the next Step sees a trim as such
  }
  if (events.empty()) {
    series_.oldest->Set(0);
    Persist();  // skipped events' position, once idle
    store_->WaitForEvents(cursor_, absl::Now() + absl::Milliseconds(250),
                          generation);
    return !stopping();
  }
  for (const v1::Event& e : events) {
    if (Delivers(webhook_.event_kinds(), e.kind())) {
      series_.oldest->Set(absl::ToDoubleSeconds(
          absl::Now() - absl::FromUnixMicros(e.time_micros())));
      if (!Deliver(e)) {
        return false;
      }
      cursor_ = e.sequence();
      if (absl::Now() - persisted_at_ >= kPersistEvery) {
        Persist();
      }
    } else {
      cursor_ = e.sequence();
    }
    series_.lag->Set(static_cast<double>(store_->last_sequence() - cursor_));
    if (stopping()) {
      return false;
    }
  }
  return true;
}

bool Deliverer::Deliver(const v1::Event& event) {
  absl::StatusOr<std::string> body =
      EventBody(event, epoch_, settings_->service);
  if (!body.ok()) {
    AutoPause(absl::StrCat("event ", event.sequence(),
                           " cannot be encoded: ", body.status().message()));
    return false;
  }
  const std::string id = EventId(epoch_, event.sequence());
  for (int attempt = 1;; ++attempt) {
    std::string error;
    if (Post(*body, id, event, &error)) {
      metrics_->success().Increment();
      {
        std::lock_guard<std::mutex> lock(mu_);
        streak_ = {};
      }
      if (streak_stored_) {
        streak_stored_ = false;
        (void)webhooks_->PutStreak(webhook_.id(), {});
      }
      return true;
    }
    metrics_->failure().Increment();
    if (stopping() || !Failed(error)) {
      return false;
    }
    if (!Sleep(BackoffDelay(
            attempt, settings_->retry_initial, settings_->retry_max,
            std::uniform_real_distribution<double>(0.0, 1.0)(rng_)))) {
      return false;
    }
  }
}

bool Deliverer::Post(const std::string& body, const std::string& event_id,
                     const v1::Event& event, std::string* error) {
  const int64_t t = absl::ToUnixSeconds(absl::Now());
  httplib::Headers headers = {
      {"SalesOps-Event-Id", event_id},
      {"SalesOps-Signature", SignatureHeader(secret_, t, body)},
      {"User-Agent", "salesops-webhooks/1 (" + settings_->service + ")"}};
  // The trace of the write that made the event (W3C Trace Context).
  if (!event.traceparent().empty()) {
    headers.emplace(trace::kTraceparent, event.traceparent());
    if (!event.tracestate().empty()) {
      headers.emplace(trace::kTracestate, event.tracestate());
    }
  }
  httplib::Result res =
      client_->Post(path_.c_str(), headers, body, "application/json");
  if (res && res->status >= 200 && res->status < 300) {
    return true;
  }
  *error =
      res ? absl::StrCat("HTTP ", res->status)
          : absl::StrCat("request failed: ", httplib::to_string(res.error()));
  return false;
}

bool Deliverer::Failed(const std::string& error) {
  const absl::Time now = absl::Now();
  Streak streak;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (streak_.since_micros == 0) {
      streak_.since_micros = absl::ToUnixMicros(now);
    }
    streak_.error = error;
    streak = streak_;
  }
  if (!streak_stored_ &&
      now - absl::FromUnixMicros(streak.since_micros) >= kStoreStreakAfter) {
    streak_stored_ = true;  // survives restarts from now on
    (void)webhooks_->PutStreak(webhook_.id(), streak);
  }
  if (ShouldAutoPause(absl::FromUnixMicros(streak.since_micros), now,
                      settings_->auto_pause_after)) {
    AutoPause(absl::StrCat(
        "failing since ",
        absl::FormatTime(absl::FromUnixMicros(streak.since_micros)),
        " (--webhook_auto_pause_after); last error: ", error));
    return false;
  }
  return true;
}

void Deliverer::AutoPause(const std::string& reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pausing_ = true;
  }
  log::Warn("webhook auto-paused",
            {{"webhook", webhook_.id()}, {"reason", reason}});
  absl::StatusOr<v1::Webhook> paused = webhooks_->SetState(
      SystemActor("webhook-delivery"), webhook_.id(),
      v1::Webhook::STATE_AUTO_PAUSED, reason, v1::Webhook::STATE_ACTIVE);
  if (!paused.ok()) {
    log::Error(
        "webhook: cannot auto-pause",
        {{"webhook", webhook_.id()}, {"error", paused.status().ToString()}});
  }
  on_auto_pause_();
}

void Deliverer::Persist() {
  if (cursor_ == persisted_) {
    return;
  }
  persisted_at_ = absl::Now();
  if (absl::Status s = webhooks_->Advance(webhook_.id(), cursor_); s.ok()) {
    persisted_ = cursor_;
  } else {
    log::Warn("webhook: cannot store the cursor",
              {{"webhook", webhook_.id()}, {"error", s.ToString()}});
  }
}

bool Deliverer::Sleep(absl::Duration d) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, absl::ToChronoMilliseconds(d), [this] { return stop_; });
  return !stop_;
}

// ---------------------------------------------------------------------------------------------
// WebhookManager

WebhookManager::WebhookManager(Store* store, WebhookStore* webhooks,
                               DeliverySettings settings,
                               prometheus::Registry* registry)
    : store_(store),
      webhooks_(webhooks),
      settings_(std::move(settings)),
      metrics_(std::make_unique<DeliveryMetrics>(*registry)) {}

WebhookManager::~WebhookManager() { Stop(); }

absl::Status WebhookManager::Start() {
  std::string after;
  for (int page = 0; page < kMaxSubscriptions + 1; ++page) {
    bool more = false;
    absl::StatusOr<std::vector<v1::Webhook>> list =
        webhooks_->List(after, kMaxSubscriptions, &more);
    if (!list.ok()) {
      return list.status();
    }
    for (const v1::Webhook& w : *list) {
      Sync(w);
      after = w.id();
    }
    if (!more) {
      break;
    }
  }
  CountAutoPaused();
  return absl::OkStatus();
}

void WebhookManager::CountAutoPaused() {
  bool more = false;
  absl::StatusOr<std::vector<v1::Webhook>> list =
      webhooks_->List("", kMaxSubscriptions * 2, &more);
  if (!list.ok()) {
    return;
  }
  int n = 0;
  for (const v1::Webhook& w : *list) {
    n += w.state() == v1::Webhook::STATE_AUTO_PAUSED ? 1 : 0;
  }
  metrics_->auto_paused().Set(n);
}

void WebhookManager::Sync(const v1::Webhook& webhook) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      return;
    }
    Reap();
    auto it = running_.find(webhook.id());
    if (webhook.state() != v1::Webhook::STATE_ACTIVE) {
      if (it != running_.end()) {
        it->second->Signal();
      }
    } else if (it == running_.end() || it->second->ending()) {
      std::unique_ptr<Deliverer> predecessor;
      if (it != running_.end()) {
        it->second->Signal();
        predecessor = std::move(it->second);
      }
      running_[webhook.id()] = std::make_unique<Deliverer>(
          store_, webhooks_, &settings_, metrics_.get(), webhook,
          std::move(predecessor), [this] { CountAutoPaused(); });
    }
  }
  CountAutoPaused();
}

void WebhookManager::Forget(const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = running_.find(id);
    if (it != running_.end()) {
      it->second->Signal();
      retired_.push_back(std::move(it->second));
      running_.erase(it);
    }
  }
  CountAutoPaused();
}

void WebhookManager::Reap() {
  for (auto it = retired_.begin(); it != retired_.end();) {
    if ((*it)->finished()) {
      (*it)->Join();
      it = retired_.erase(it);
    } else {
      ++it;
    }
  }
}

void WebhookManager::Overlay(v1::Webhook* webhook) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = running_.find(webhook->id());
  if (it == running_.end() || it->second->finished() ||
      webhook->state() != v1::Webhook::STATE_ACTIVE) {
    return;
  }
  const Streak s = it->second->streak();
  webhook->set_last_error(s.error);
  webhook->set_failing_since_micros(s.since_micros);
}

void WebhookManager::Stop() {
  std::map<std::string, std::unique_ptr<Deliverer>> running;
  std::vector<std::unique_ptr<Deliverer>> retired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    running.swap(running_);
    retired.swap(retired_);
  }
  for (auto& [id, d] : running) {
    d->Signal();
  }
  for (auto& d : retired) {
    d->Signal();
  }
  running.clear();  // joins
  retired.clear();
}

}  // namespace salesops::webhook
