#pragma once

// EntityService (common/testing/salesops/testing/testing.proto): the smallest
// real service on the shared runtime, written the way a domain service is
// (validate → transaction on the commit path → map status), so the runtime's
// end-to-end tests have acknowledged writes to lose, feed events to stream and
// versions to conflict on.

#include "common/server/auth.h"
#include "common/store/store.h"
#include "common/store/table.h"
#include "common/time/clock.h"
#include "salesops/testing/testing.grpc.pb.h"

namespace salesops::testing {

enum class EntityCf { kEntities = 0 };
inline const std::vector<std::string>& EntityColumnFamilies() {
  static const auto* names = new std::vector<std::string>{"entities"};
  return *names;
}

class EntityServiceImpl final : public EntityService::Service {
 public:
  // Pointers are not owned and outlive the service.
  EntityServiceImpl(Store* store, const Authenticator* auth);

  grpc::Status PutEntity(grpc::ServerContext* ctx,
                         const PutEntityRequest* request,
                         TestEntity* response) override;
  grpc::Status GetEntity(grpc::ServerContext* ctx,
                         const GetEntityRequest* request,
                         TestEntity* response) override;

 private:
  Store* store_;
  const Authenticator* auth_;
  Table<TestEntity> entities_;
};

}  // namespace salesops::testing
