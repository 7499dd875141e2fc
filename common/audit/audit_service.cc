#include "common/audit/audit_service.h"

#include <string>
#include <vector>

#include "common/status/status.h"
#include "common/store/listing.h"
#include "common/store/paging.h"

namespace salesops {

grpc::Status AuditServiceImpl::ListAuditRecords(
    grpc::ServerContext* context, const v1::ListAuditRecordsRequest* request,
    v1::ListAuditRecordsResponse* response) {
  absl::StatusOr<Principal> who = auth_->Authorize(*context, {Role::kAdmin});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  if (request->entity_id().empty()) {
    return ToGrpc(absl::InvalidArgumentError("entity_id: required"));
  }
  absl::StatusOr<Page> page = ReadListPage(*request);
  if (!page.ok()) {
    return ToGrpc(page.status());
  }
  // Read the position first: every record the page shows is at or before it.
  SetFeedSequence(response, store_->last_sequence());
  std::vector<v1::AuditRecord> records;
  std::string last;
  bool more = false;
  if (absl::Status s = store_->ReadAudit(
          request->entity_id(), request->kind(), page->after,
          static_cast<size_t>(page->size), &records, &last, &more);
      !s.ok()) {
    return ToGrpc(s);
  }
  for (v1::AuditRecord& r : records) {
    *response->add_records() = std::move(r);
  }
  if (more) {
    SetNextPageToken(response, EncodePageToken(last));
  }
  return grpc::Status::OK;
}

}  // namespace salesops
