#include "common/runtime/service_runtime.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/log/log.h"
#include "common/server/flags.h"
#include "common/status/status.h"
#include "common/store/paging.h"

ABSL_FLAG(absl::Duration, request_id_retention, absl::ZeroDuration(),
          "how long a create's request_id is remembered: a retry within it "
          "gets the first answer, after it the request_id makes a new "
          "request. 0 = 24h, or --feed_retention when that is shorter; at "
          "most --feed_retention unless that is 0 (D53)");
ABSL_FLAG(bool, compact_and_exit, false,
          "open the store under --data_dir (the service stopped), compact "
          "every column family fully, print its bytes on disk per column "
          "family as one JSON line on stdout and exit (docs/OPERATIONS.md)");

namespace salesops {
namespace {

// --request_id_retention with its default resolved (D53).
absl::Duration RequestIdWindow(const RuntimeSettings& settings) {
  if (settings.request_id_retention > absl::ZeroDuration()) {
    return settings.request_id_retention;
  }
  const absl::Duration window = absl::Hours(24);
  return settings.feed_retention > absl::ZeroDuration()
             ? std::min(window, settings.feed_retention)
             : window;
}

// Keys and bytes (key + value, uncompressed) under each leading tag byte of
// one column family, as "tags":{"<tag>":[keys,bytes],...}.
absl::StatusOr<std::string> TagBreakdown(rocksdb::DB* db,
                                         rocksdb::ColumnFamilyHandle* cf) {
  std::map<int, std::pair<uint64_t, uint64_t>> tags;
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), cf));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const int tag = it->key().empty() ? -1 : static_cast<uint8_t>(it->key()[0]);
    auto& [keys, bytes] = tags[tag];
    ++keys;
    bytes += it->key().size() + it->value().size();
  }
  RETURN_IF_ERROR(FromRocks(it->status()));
  std::string out = "{";
  for (const auto& [tag, counts] : tags) {
    absl::StrAppend(&out, out.size() > 1 ? "," : "", "\"", tag, "\":[",
                    counts.first, ",", counts.second, "]");
  }
  return out + "}";
}

// --compact_and_exit: the store compacted fully, then one JSON line on
// stdout: {"total_sst_bytes":N,"column_families":[{"name":..,"sst_bytes":..,
// "tags":{..}}..]}. Returns the exit code.
int CompactAndReport(const RuntimeSettings& settings, const ServiceSpec& spec,
                     Clock* clock) {
  StoreOptions o;
  o.column_families = spec.column_families;
  o.column_families.push_back("webhooks");
  o.create_if_missing = false;
  o.outbox_retention = absl::ZeroDuration();  // trims nothing meanwhile
  o.request_id_retention = RequestIdWindow(settings);
  o.min_free_disk_bytes = 0;
  o.clock = clock;
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(settings.data_dir, std::move(o));
  if (!store.ok()) {
    return ServiceRuntime::FailedToStart(store.status());
  }
  absl::StatusOr<std::vector<std::pair<std::string, uint64_t>>> sizes =
      (*store)->CompactAll();
  if (!sizes.ok()) {
    return ServiceRuntime::FailedToStart(sizes.status());
  }
  uint64_t total = 0;
  std::string families;
  const auto handles = (*store)->column_families();
  for (size_t i = 0; i < sizes->size(); ++i) {
    absl::StatusOr<std::string> tags =
        TagBreakdown((*store)->db(), handles[i].second);
    if (!tags.ok()) {
      return ServiceRuntime::FailedToStart(tags.status());
    }
    total += (*sizes)[i].second;
    absl::StrAppend(&families, i > 0 ? "," : "", "{\"name\":\"",
                    (*sizes)[i].first, "\",\"sst_bytes\":", (*sizes)[i].second,
                    ",\"tags\":", *tags, "}");
  }
  std::printf("{\"total_sst_bytes\":%llu,\"column_families\":[%s]}\n",
              static_cast<unsigned long long>(total), families.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace

RuntimeSettings RuntimeSettings::FromFlags() {
  RuntimeSettings s;
  s.server = ServerConfig::FromFlags();
  s.data_dir = absl::GetFlag(FLAGS_data_dir);
  s.sync_writes = absl::GetFlag(FLAGS_sync_writes);
  s.feed_retention = absl::GetFlag(FLAGS_feed_retention);
  s.request_id_retention = absl::GetFlag(FLAGS_request_id_retention);
  s.compact_and_exit = absl::GetFlag(FLAGS_compact_and_exit);
  s.init = absl::GetFlag(FLAGS_init);
  s.max_entity_bytes = absl::GetFlag(FLAGS_max_entity_bytes);
  s.min_free_disk_bytes = absl::GetFlag(FLAGS_min_free_disk_bytes);
  s.backup.dir = absl::GetFlag(FLAGS_backup_dir);
  s.backup.keep = absl::GetFlag(FLAGS_backup_keep);
  s.restore_from_backup_dir = absl::GetFlag(FLAGS_restore_from_backup_dir);
  s.restore_backup_id = absl::GetFlag(FLAGS_restore_backup_id);
  s.webhooks.retry_initial =
      absl::Milliseconds(absl::GetFlag(FLAGS_webhook_retry_initial_ms));
  s.webhooks.retry_max =
      absl::Milliseconds(absl::GetFlag(FLAGS_webhook_retry_max_ms));
  s.webhooks.auto_pause_after = absl::GetFlag(FLAGS_webhook_auto_pause_after);
  s.webhooks.ca_file = absl::GetFlag(FLAGS_webhook_ca_file);
  s.webhook_allow_http_loopback =
      absl::GetFlag(FLAGS_webhook_allow_http_loopback);
  return s;
}

absl::StatusOr<std::unique_ptr<ServiceRuntime>> ServiceRuntime::FromFlags(
    ServiceSpec spec) {
  return Create(std::move(spec), RuntimeSettings::FromFlags());
}

absl::StatusOr<std::unique_ptr<ServiceRuntime>> ServiceRuntime::Create(
    ServiceSpec spec, RuntimeSettings settings) {
  std::unique_ptr<ServiceRuntime> rt(new ServiceRuntime());
  rt->spec_ = std::move(spec);
  rt->clock_ = settings.clock != nullptr ? settings.clock : Clock::Real();
  // Debian's abseil is built with its debug checks: every absl::Mutex lock
  // (gRPC takes many per call) fed a deadlock-cycle graph, ~1.5% of
  // pipeline's CPU under a create load (D54).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (settings.compact_and_exit) {
    std::exit(CompactAndReport(settings, rt->spec_, rt->clock_));
  }

  ASSIGN_OR_RETURN(rt->metrics_,
                   Metrics::Create(settings.server.metrics_listen));
  ASSIGN_OR_RETURN(rt->server_,
                   Server::Create(settings.server, rt->metrics_.get()));
  if (settings.data_dir.empty()) {
    return absl::InvalidArgumentError(
        "--data_dir: required (the service's RocksDB directory)");
  }
  RETURN_IF_ERROR(CheckStoreSettings(settings));
  ASSIGN_OR_RETURN(
      rt->store_,
      Store::Open(settings.data_dir, rt->StoreOptionsFor(settings, rt->spec_)));
  // A List page stops adding entities past this many bytes, so the largest
  // page (this plus one entity) stays within half a message.
  SetMaxPageBytes(static_cast<size_t>(settings.server.max_message_bytes) / 4);

  rt->collector_ = std::make_shared<RocksDbCollector>(
      rt->store_->db(), rt->store_->column_families(),
      rt->store_->statistics());
  rt->metrics_->RegisterCollectable(rt->collector_);
  rt->feed_ =
      std::make_unique<FeedServiceImpl>(rt->store_.get(), &rt->server_->auth());
  rt->server_->AddService(rt->feed_.get(), "salesops.v1.FeedService");
  rt->server_->OnShutdown([feed = rt->feed_.get()] { feed->Stop(); });
  rt->audit_ = std::make_unique<AuditServiceImpl>(rt->store_.get(),
                                                  &rt->server_->auth());
  rt->server_->AddService(rt->audit_.get(), "salesops.v1.AuditService");
  rt->caller_ = std::make_unique<CallerServiceImpl>(&rt->server_->auth());
  rt->server_->AddService(rt->caller_.get(), "salesops.v1.CallerService");
  rt->backup_ = std::make_unique<BackupServiceImpl>(
      rt->store_.get(), &rt->server_->auth(), settings.backup);
  rt->server_->AddService(rt->backup_.get(), "salesops.v1.BackupService");
  rt->AddWebhooks(settings);
  return rt;
}

absl::Status ServiceRuntime::CheckStoreSettings(
    const RuntimeSettings& settings) {
  if (settings.feed_retention < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--feed_retention: must be >= 0 (0 keeps every event)");
  }
  if (settings.request_id_retention < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--request_id_retention: must be >= 0 (0 = the default window)");
  }
  if (settings.feed_retention > absl::ZeroDuration() &&
      settings.request_id_retention > settings.feed_retention) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--request_id_retention=",
        absl::FormatDuration(settings.request_id_retention),
        ": must not exceed --feed_retention=",
        absl::FormatDuration(settings.feed_retention),
        " (a retry reads its first answer from the feed event; D53)"));
  }
  if (settings.max_entity_bytes > settings.server.max_message_bytes / 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_entity_bytes=", settings.max_entity_bytes,
        ": at most --max_message_bytes / 4 (",
        settings.server.max_message_bytes / 4,
        "), so a feed event and a List page always fit a message"));
  }
  if (settings.webhooks.retry_initial <= absl::ZeroDuration() ||
      settings.webhooks.retry_max < settings.webhooks.retry_initial) {
    return absl::InvalidArgumentError(
        "--webhook_retry_initial_ms, --webhook_retry_max_ms: must be > 0 and "
        "initial <= max");
  }
  if (settings.webhooks.auto_pause_after <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--webhook_auto_pause_after: must be > 0");
  }
  if (settings.backup.keep < 1) {
    return absl::InvalidArgumentError("--backup_keep: must be >= 1");
  }
  return absl::OkStatus();
}

StoreOptions ServiceRuntime::StoreOptionsFor(const RuntimeSettings& settings,
                                             const ServiceSpec& spec) {
  StoreOptions o;
  o.column_families = spec.column_families;
  o.column_families.push_back("webhooks");  // after the service's own
  o.sync_writes = settings.sync_writes;
  o.outbox_retention = settings.feed_retention;
  o.request_id_retention = RequestIdWindow(settings);
  o.clock = clock_;
  o.system_actor = absl::StrCat("salesops-", spec.name);
  o.create_if_missing = settings.init;
  o.max_entity_bytes = settings.max_entity_bytes;
  o.min_free_disk_bytes = settings.min_free_disk_bytes;
  o.restore_from_backup_dir = settings.restore_from_backup_dir;
  o.restore_backup_id = settings.restore_backup_id;
  prometheus::Registry& registry = metrics_->registry();
  prometheus::BuildGauge()
      .Name("salesops_store_disk_reserve_bytes")
      .Help(
          "Free space below which the store refuses writes "
          "(--min_free_disk_bytes)")
      .Register(registry)
      .Add({})
      .Set(static_cast<double>(settings.min_free_disk_bytes));
  prometheus::Gauge* free_bytes =
      &prometheus::BuildGauge()
           .Name("salesops_store_disk_free_bytes")
           .Help("Free bytes of the file system of the service's data dir")
           .Register(registry)
           .Add({});
  prometheus::Counter* refused =
      &prometheus::BuildCounter()
           .Name("salesops_store_writes_refused_total")
           .Help("Writes refused or failed at commit (disk full, I/O error)")
           .Register(registry)
           .Add({});
  o.on_disk_free = [free_bytes](int64_t b) {
    free_bytes->Set(static_cast<double>(b));
  };
  o.on_write_refused = [refused] { refused->Increment(); };
  return o;
}

int ServiceRuntime::FailedToStart(const absl::Status& status) {
  log::Error("cannot start", {{"error", status.ToString()}});
  return 1;
}

void ServiceRuntime::AddWebhooks(const RuntimeSettings& settings) {
  // The "webhooks" column family follows the service's own (StoreOptionsFor).
  enum class WebhookCf : int {};
  webhook_store_ = std::make_unique<webhook::WebhookStore>(
      store_.get(),
      static_cast<WebhookCf>(static_cast<int>(spec_.column_families.size())));
  webhook::DeliverySettings delivery = settings.webhooks;
  delivery.service = spec_.name;
  delivery.allow_http_loopback = settings.webhook_allow_http_loopback;
  webhooks_ = std::make_unique<webhook::WebhookManager>(
      store_.get(), webhook_store_.get(), std::move(delivery),
      &metrics_->registry());
  webhook_service_ = std::make_unique<webhook::WebhookServiceImpl>(
      &server_->auth(), webhook_store_.get(), webhooks_.get(),
      settings.webhook_allow_http_loopback);
  server_->AddService(webhook_service_.get(), "salesops.v1.WebhookService");
}

ServiceRuntime::~ServiceRuntime() { Shutdown(); }

void ServiceRuntime::AddService(grpc::Service* service,
                                const std::string& health_name) {
  server_->AddService(service, health_name);
}

FeedConsumer* ServiceRuntime::AddConsumer(
    std::unique_ptr<FeedConsumer> consumer) {
  consumers_.push_back(std::move(consumer));
  return consumers_.back().get();
}

FeedConsumer* ServiceRuntime::AddFollower(FeedFollower* follower,
                                          const PeerChannel* peer,
                                          FeedConsumerOptions options) {
  options.source = follower->source();
  options.kinds = follower->kinds();
  options.registry = &metrics_->registry();
  options.after_batch = [follower](bool committed) {
    follower->AfterBatch(committed);
  };
  return AddConsumer(std::make_unique<FeedConsumer>(
      store_.get(), peer, std::move(options),
      [follower](const v1::Event& event, WriteTxn& txn) {
        return follower->Apply(event, txn);
      },
      [follower] { return follower->Resync(); }));
}

void ServiceRuntime::OnShutdown(std::function<void()> stop) {
  stop_hooks_.push_back(std::move(stop));
}

absl::Status ServiceRuntime::Start() {
  RETURN_IF_ERROR(server_->Start());
  RETURN_IF_ERROR(StartGateway());
  for (auto& c : consumers_) {
    c->Start();
  }
  RETURN_IF_ERROR(webhooks_->Start());
  return absl::OkStatus();
}

absl::Status ServiceRuntime::StartGateway() {
  const ServerConfig& config = server_->config();
  if (config.http_listen.empty()) {
    return absl::OkStatus();
  }
  ConnectGatewayConfig gateway;
  gateway.listen = config.http_listen;
  gateway.tls_cert_file = config.tls_cert_file;
  gateway.tls_key_file = config.tls_key_file;
  gateway.tls_client_ca_file = config.tls_client_ca_file;
  gateway.threads = config.http_threads;
  gateway.max_streams = config.http_threads / 2;
  gateway.max_body_bytes = static_cast<size_t>(config.max_message_bytes);
  ASSIGN_OR_RETURN(gateway_,
                   ConnectGateway::Start(gateway, server_->InProcessChannel()));
  server_->OnShutdown([g = gateway_.get()] { g->Shutdown(); });
  return absl::OkStatus();
}

int ServiceRuntime::Run() {
  if (absl::Status s = Start(); !s.ok()) {
    return FailedToStart(s);
  }
  log::Info(spec_.name + " ready",
            {{"service", spec_.name},
             {"port", server_->port()},
             {"metrics_port", metrics_->port()},
             {"http_port", http_port()},
             {"feed_sequence", store_->last_sequence()}});
  const int rc = server_->RunUntilSignal();
  Shutdown();
  log::Info(spec_.name + " stopped", {{"service", spec_.name}});
  return rc;
}

void ServiceRuntime::Shutdown() {
  if (shut_down_) {
    return;
  }
  shut_down_ = true;
  // Create may have failed part-way: only what was built is shut down.
  if (server_ != nullptr) {
    server_->Shutdown();
  }
  for (auto& c : consumers_) {
    c->Stop();
  }
  for (auto& stop : stop_hooks_) {
    stop();
  }
  if (webhooks_ != nullptr) {
    webhooks_->Stop();  // interrupts requests in flight; joins
  }
  if (collector_ != nullptr) {
    metrics_->UnregisterCollectable(collector_);
    collector_->Detach();
  }
  if (feed_ != nullptr) {
    feed_->Close();  // its pump reads the store
  }
  store_.reset();
}

}  // namespace salesops
