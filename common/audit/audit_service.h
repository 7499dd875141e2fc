#pragma once

// salesops.v1.AuditService over a Store's audit log (store.h, audit.proto):
// the records of one entity, oldest first, paged. Callers need the ADMIN role:
// the log names every principal and what they changed.

#include "common/server/auth.h"
#include "common/store/store.h"
#include "salesops/v1/audit.grpc.pb.h"

namespace salesops {

class AuditServiceImpl final : public v1::AuditService::Service {
 public:
  // Neither pointer is owned; both outlive the service.
  AuditServiceImpl(const Store* store, const Authenticator* auth)
      : store_(store), auth_(auth) {}

  grpc::Status ListAuditRecords(
      grpc::ServerContext* context, const v1::ListAuditRecordsRequest* request,
      v1::ListAuditRecordsResponse* response) override;

 private:
  const Store* store_;
  const Authenticator* auth_;
};

}  // namespace salesops
