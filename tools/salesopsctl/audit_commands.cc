// salesopsctl audit ...: the audit log of one entity on the service that owns
// it (salesops.v1.AuditService, ADMIN only; docs/DECISIONS.md D25).

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status/status.h"
#include "salesops/v1/audit.grpc.pb.h"
#include "tools/salesopsctl/cli.h"
#include "tools/salesopsctl/flags.h"
#include "tools/salesopsctl/output.h"

namespace salesops::ctl {
namespace {

absl::Status AuditList(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
                   ServiceFlagChannel(a, env));
  auto stub = v1::AuditService::NewStub(channel);
  v1::ListAuditRecordsRequest req;
  ASSIGN_OR_RETURN(*req.mutable_entity_id(), IdArg(a, "entity"));
  req.set_kind(a.Get("kind"));
  std::vector<std::vector<std::string>> rows;
  RETURN_IF_ERROR(Paged(
      a, env, [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        SetPage(page, &req);
        v1::ListAuditRecordsResponse resp;
        RETURN_IF_ERROR(Check(
            stub->ListAuditRecords(env.conn->Context().get(), req, &resp)));
        for (const v1::AuditRecord& r : resp.records()) {
          rows.push_back({absl::StrCat(r.sequence()), TimeText(r.time_micros()),
                          r.actor(), r.actor_role(), r.method(), r.kind(),
                          absl::StrCat(r.before_version()),
                          absl::StrCat(r.after_version()),
                          absl::StrJoin(r.changed_fields(), " ")});
        }
        return resp.next_page_token();
      }));
  PrintCells(env,
             {"sequence", "time", "actor", "role", "method", "kind", "before",
              "after", "changed"},
             rows);
  return absl::OkStatus();
}

}  // namespace

void RegisterAuditCommands(Registry& r) {
  r.Add({"audit", "list",
         "--service=accounts|pipeline|forecast|credit --entity=ID "
         "[--kind=KIND] [--page-size=N [--page-token=T]]",
         "Who changed an entity, when, by which call, and what changed "
         "(ADMIN).",
         With({"service", "entity", "kind"}, kPageFlags), AuditList});
}

}  // namespace salesops::ctl
