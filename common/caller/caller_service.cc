#include "common/caller/caller_service.h"

#include <string>

#include "common/status/status.h"

namespace salesops {

grpc::Status CallerServiceImpl::GetCaller(
    grpc::ServerContext* context, const v1::GetCallerRequest* /*request*/,
    v1::Caller* response) {
  absl::StatusOr<Principal> who = auth_->Authorize(*context, AllRoles());
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  response->set_name(who->name);
  response->set_role(std::string(RoleName(who->role)));
  response->set_org_node_id(who->org_node_id);
  return grpc::Status::OK;
}

}  // namespace salesops
