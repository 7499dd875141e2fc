#pragma once

// salesops.v1.WebhookService over this service's store (webhook.proto,
// docs/API.md "Webhooks"): every service serves it on its own port through
// the service runtime, like AuditService and BackupService. ADMIN only. The
// handlers only do I/O: the rules are in webhook_rules.h, the records in
// webhook_store.h, and the threads in deliverer.h, which a handler only
// signals (WebhookManager::Sync) — no call waits for a receiver.

#include "common/server/auth.h"
#include "common/server/handler.h"
#include "common/webhook/deliverer.h"
#include "common/webhook/webhook_store.h"
#include "salesops/v1/webhook.grpc.pb.h"

namespace salesops::webhook {

class WebhookServiceImpl final : public v1::WebhookService::Service {
 public:
  // None of the pointers is owned; all outlive the service.
  // `allow_http_loopback`: --webhook_allow_http_loopback.
  WebhookServiceImpl(const Authenticator* auth, WebhookStore* webhooks,
                     WebhookManager* manager, bool allow_http_loopback);

  grpc::Status CreateWebhook(grpc::ServerContext* ctx,
                             const v1::CreateWebhookRequest* req,
                             v1::CreateWebhookResponse* resp) override;
  grpc::Status GetWebhook(grpc::ServerContext* ctx,
                          const v1::GetWebhookRequest* req,
                          v1::Webhook* resp) override;
  grpc::Status ListWebhooks(grpc::ServerContext* ctx,
                            const v1::ListWebhooksRequest* req,
                            v1::ListWebhooksResponse* resp) override;
  grpc::Status PauseWebhook(grpc::ServerContext* ctx,
                            const v1::PauseWebhookRequest* req,
                            v1::Webhook* resp) override;
  grpc::Status ResumeWebhook(grpc::ServerContext* ctx,
                             const v1::ResumeWebhookRequest* req,
                             v1::Webhook* resp) override;
  grpc::Status DeleteWebhook(grpc::ServerContext* ctx,
                             const v1::DeleteWebhookRequest* req,
                             v1::DeleteWebhookResponse* resp) override;

 private:
  [[nodiscard]] absl::Status SetState(const Principal& who,
                                      const std::string& method,
                                      const std::string& id,
                                      v1::Webhook::State state,
                                      v1::Webhook* resp);

  CallGate gate_;
  WebhookStore* webhooks_;
  WebhookManager* manager_;
  bool allow_http_loopback_;
};

}  // namespace salesops::webhook
