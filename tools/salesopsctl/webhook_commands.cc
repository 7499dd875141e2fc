// salesopsctl webhooks ...: push delivery of a service's change feed to HTTP
// receivers (salesops.v1.WebhookService, ADMIN only; docs/API.md "Webhooks",
// docs/DECISIONS.md D35).

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/status/status.h"
#include "salesops/v1/webhook.grpc.pb.h"
#include "tools/salesopsctl/cli.h"
#include "tools/salesopsctl/flags.h"
#include "tools/salesopsctl/output.h"

namespace salesops::ctl {
namespace {

absl::StatusOr<std::unique_ptr<v1::WebhookService::Stub>> StubFor(const Args& a,
                                                                  Env& env) {
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
                   ServiceFlagChannel(a, env));
  return v1::WebhookService::NewStub(channel);
}

const std::vector<std::string> kColumns = {
    "id",    "state",      "target_url",    "event_kinds", "delivered",
    "epoch", "last_error", "failing_since", "secret",      "description"};

std::vector<std::string> Row(const v1::Webhook& w) {
  return {
      w.id(),
      std::string(
          absl::StripPrefix(v1::Webhook::State_Name(w.state()), "STATE_")),
      w.target_url(),
      w.event_kinds().empty() ? "*" : absl::StrJoin(w.event_kinds(), " "),
      absl::StrCat(w.delivered_sequence()),
      w.epoch(),
      w.last_error(),
      w.failing_since_micros() == 0 ? "" : TimeText(w.failing_since_micros()),
      w.secret_hint(),
      w.description()};
}

absl::Status WebhookCreate(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(auto stub, StubFor(a, env));
  v1::CreateWebhookRequest req;
  ASSIGN_OR_RETURN(*req.mutable_target_url(), a.Required("url"));
  for (const std::string& kind : a.List("kinds")) {
    req.add_event_kinds(kind);
  }
  req.set_description(a.Get("description"));
  req.set_secret(a.Get("secret"));
  v1::CreateWebhookResponse resp;
  RETURN_IF_ERROR(
      Check(stub->CreateWebhook(env.conn->Context().get(), req, &resp)));
  std::vector<std::string> row = Row(resp.webhook());
  row[8] = resp.secret();  // shown this once
  PrintCells(env, kColumns, {row});
  return absl::OkStatus();
}

absl::Status WebhookGet(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(auto stub, StubFor(a, env));
  v1::GetWebhookRequest req;
  ASSIGN_OR_RETURN(*req.mutable_id(), IdArg(a));
  v1::Webhook w;
  RETURN_IF_ERROR(Check(stub->GetWebhook(env.conn->Context().get(), req, &w)));
  PrintCells(env, kColumns, {Row(w)});
  return absl::OkStatus();
}

absl::Status WebhookList(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(auto stub, StubFor(a, env));
  std::vector<std::vector<std::string>> rows;
  RETURN_IF_ERROR(Paged(
      a, env, [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        v1::ListWebhooksRequest req;
        req.set_page_size(page.page_size());
        req.set_page_token(page.page_token());
        v1::ListWebhooksResponse resp;
        RETURN_IF_ERROR(
            Check(stub->ListWebhooks(env.conn->Context().get(), req, &resp)));
        for (const v1::Webhook& w : resp.webhooks()) {
          rows.push_back(Row(w));
        }
        return resp.next_page_token();
      }));
  PrintCells(env, kColumns, rows);
  return absl::OkStatus();
}

template <typename Request,
          grpc::Status (v1::WebhookService::Stub::*Rpc)(
              grpc::ClientContext*, const Request&, v1::Webhook*)>
absl::Status WebhookSetState(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(auto stub, StubFor(a, env));
  Request req;
  ASSIGN_OR_RETURN(*req.mutable_id(), IdArg(a));
  v1::Webhook w;
  RETURN_IF_ERROR(Check(((*stub).*Rpc)(env.conn->Context().get(), req, &w)));
  PrintCells(env, kColumns, {Row(w)});
  return absl::OkStatus();
}

absl::Status WebhookDelete(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(auto stub, StubFor(a, env));
  v1::DeleteWebhookRequest req;
  ASSIGN_OR_RETURN(*req.mutable_id(), IdArg(a));
  v1::DeleteWebhookResponse resp;
  RETURN_IF_ERROR(
      Check(stub->DeleteWebhook(env.conn->Context().get(), req, &resp)));
  PrintCells(env, {"id", "deleted"}, {{req.id(), "true"}});
  return absl::OkStatus();
}

}  // namespace

void RegisterWebhookCommands(Registry& r) {
  const std::string svc = "--service=accounts|pipeline|forecast|credit";
  r.Add({"webhooks", "create",
         svc + " --url=URL [--kinds=KIND,...] [--description=TEXT] "
               "[--secret=S]",
         "Subscribes an HTTPS receiver to the service's change feed (ADMIN). "
         "Prints the signing secret once (made by the service when "
         "--secret is not given).",
         With({"service", "url", "kinds", "description", "secret"}, {}),
         WebhookCreate});
  r.Add({"webhooks", "list", svc + " [--page-size=N [--page-token=T]]",
         "The service's webhook subscriptions with their cursor and errors "
         "(ADMIN).",
         With({"service"}, kPageFlags), WebhookList});
  r.Add({"webhooks", "get", svc + " --id=ID", "One subscription (ADMIN).",
         With({"service", "id"}, {}), WebhookGet});
  r.Add({"webhooks", "pause", svc + " --id=ID",
         "Stops delivery; the cursor stays (ADMIN).",
         With({"service", "id"}, {}),
         WebhookSetState<v1::PauseWebhookRequest,
                         &v1::WebhookService::Stub::PauseWebhook>});
  r.Add({"webhooks", "resume", svc + " --id=ID",
         "Delivers again from the cursor, also after AUTO_PAUSED (ADMIN).",
         With({"service", "id"}, {}),
         WebhookSetState<v1::ResumeWebhookRequest,
                         &v1::WebhookService::Stub::ResumeWebhook>});
  r.Add({"webhooks", "delete", svc + " --id=ID",
         "Deletes the subscription (ADMIN).", With({"service", "id"}, {}),
         WebhookDelete});
}

}  // namespace salesops::ctl
