#include "common/webhook/webhook_service.h"

#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "common/server/principal.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/store/paging.h"
#include "common/webhook/webhook_rules.h"

namespace salesops::webhook {
namespace {

// 32 random bytes, hex.
absl::StatusOr<std::string> NewSecret() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("webhook: no random bytes for a secret");
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

absl::Status RequireId(const std::string& id) {
  return id.empty() ? InvalidFields({{"id", "required"}}) : absl::OkStatus();
}

}  // namespace

WebhookServiceImpl::WebhookServiceImpl(const Authenticator* auth,
                                       WebhookStore* webhooks,
                                       WebhookManager* manager,
                                       bool allow_http_loopback)
    : gate_(auth, v1::WebhookService::service_full_name(),
            {{"CreateWebhook", {Role::kAdmin}},
             {"GetWebhook", {Role::kAdmin}},
             {"ListWebhooks", {Role::kAdmin}},
             {"PauseWebhook", {Role::kAdmin}},
             {"ResumeWebhook", {Role::kAdmin}},
             {"DeleteWebhook", {Role::kAdmin}}}),
      webhooks_(webhooks),
      manager_(manager),
      allow_http_loopback_(allow_http_loopback) {}

grpc::Status WebhookServiceImpl::CreateWebhook(
    grpc::ServerContext* ctx, const v1::CreateWebhookRequest* req,
    v1::CreateWebhookResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) -> absl::Status {
    RETURN_IF_ERROR(ValidateCreate(*req, allow_http_loopback_));
    std::string secret = req->secret();
    if (secret.empty()) {
      ASSIGN_OR_RETURN(secret, NewSecret());
    }
    v1::Webhook w;
    w.set_target_url(req->target_url());
    *w.mutable_event_kinds() = req->event_kinds();
    w.set_description(req->description());
    ASSIGN_OR_RETURN(
        *resp->mutable_webhook(),
        webhooks_->Create(ActorFor(who, "CreateWebhook"), w, secret));
    manager_->Sync(resp->webhook());
    resp->set_secret(secret);
    return absl::OkStatus();
  });
}

grpc::Status WebhookServiceImpl::GetWebhook(grpc::ServerContext* ctx,
                                            const v1::GetWebhookRequest* req,
                                            v1::Webhook* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) -> absl::Status {
    RETURN_IF_ERROR(RequireId(req->id()));
    ASSIGN_OR_RETURN(std::optional<v1::Webhook> w, webhooks_->Get(req->id()));
    if (!w) {
      return absl::NotFoundError("webhook " + req->id() + " not found");
    }
    *resp = std::move(*w);
    manager_->Overlay(resp);
    return absl::OkStatus();
  });
}

grpc::Status WebhookServiceImpl::ListWebhooks(
    grpc::ServerContext* ctx, const v1::ListWebhooksRequest* req,
    v1::ListWebhooksResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) -> absl::Status {
    if (req->page_size() < 0) {
      return InvalidFields({{"page_size", "must be >= 0"}});
    }
    const int size = req->page_size() == 0
                         ? kMaxSubscriptions
                         : std::min(req->page_size(), kMaxSubscriptions);
    ASSIGN_OR_RETURN(std::string after, DecodePageToken(req->page_token()));
    bool more = false;
    ASSIGN_OR_RETURN(std::vector<v1::Webhook> list,
                     webhooks_->List(after, size, &more));
    for (v1::Webhook& w : list) {
      manager_->Overlay(&w);
      *resp->add_webhooks() = std::move(w);
    }
    if (more && resp->webhooks_size() > 0) {
      resp->set_next_page_token(
          EncodePageToken(resp->webhooks(resp->webhooks_size() - 1).id()));
    }
    return absl::OkStatus();
  });
}

absl::Status WebhookServiceImpl::SetState(const Principal& who,
                                          const std::string& method,
                                          const std::string& id,
                                          v1::Webhook::State state,
                                          v1::Webhook* resp) {
  RETURN_IF_ERROR(RequireId(id));
  ASSIGN_OR_RETURN(*resp,
                   webhooks_->SetState(ActorFor(who, method), id, state));
  manager_->Sync(*resp);
  return absl::OkStatus();
}

grpc::Status WebhookServiceImpl::PauseWebhook(
    grpc::ServerContext* ctx, const v1::PauseWebhookRequest* req,
    v1::Webhook* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return SetState(who, "PauseWebhook", req->id(), v1::Webhook::STATE_PAUSED,
                    resp);
  });
}

grpc::Status WebhookServiceImpl::ResumeWebhook(
    grpc::ServerContext* ctx, const v1::ResumeWebhookRequest* req,
    v1::Webhook* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return SetState(who, "ResumeWebhook", req->id(), v1::Webhook::STATE_ACTIVE,
                    resp);
  });
}

grpc::Status WebhookServiceImpl::DeleteWebhook(
    grpc::ServerContext* ctx, const v1::DeleteWebhookRequest* req,
    v1::DeleteWebhookResponse*) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) -> absl::Status {
    RETURN_IF_ERROR(RequireId(req->id()));
    RETURN_IF_ERROR(
        webhooks_->Delete(ActorFor(who, "DeleteWebhook"), req->id()));
    manager_->Forget(req->id());
    return absl::OkStatus();
  });
}

}  // namespace salesops::webhook
