#include "services/pipeline/followers.h"

#include "common/status/macros.h"

namespace salesops::pipeline {

absl::Status OrgFollower::Resync() {
  std::vector<v1::OrgNode> nodes;
  uint64_t sequence = 0;
  RETURN_IF_ERROR(accounts_->ListAllOrgNodes(&nodes, &sequence));
  return org_->Replace(nodes, source(), sequence);
}

}  // namespace salesops::pipeline
