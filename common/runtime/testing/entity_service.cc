#include "common/runtime/testing/entity_service.h"

#include "common/status/status.h"
#include "common/store/ids.h"

namespace salesops::testing {
namespace {
constexpr uint8_t kEntityTag = 1;
}  // namespace

EntityServiceImpl::EntityServiceImpl(Store* store, const Authenticator* auth)
    : store_(store),
      auth_(auth),
      entities_(store, EntityCf::kEntities, kEntityTag, "testing.TestEntity",
                "entity") {}

grpc::Status EntityServiceImpl::PutEntity(grpc::ServerContext* ctx,
                                          const PutEntityRequest* request,
                                          TestEntity* response) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kService});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  if (request->entity().name().empty()) {
    return ToGrpc(absl::InvalidArgumentError("entity.name: required"));
  }
  const TestEntity& in = request->entity();
  absl::StatusOr<CommitResult> done = store_->Write(
      ActorFor(*who, "PutEntity"), [&](WriteTxn& txn) -> absl::Status {
        if (in.id().empty()) {
          return CreateOnce(txn, "PutEntity", request->request_id(), *request,
                            response, [&]() -> absl::Status {
                              *response = in;
                              response->set_id(NewId("tst", txn.now()));
                              return entities_.Insert(txn, response->id(),
                                                      response);
                            });
        }
        ASSIGN_OR_RETURN(*response, entities_.Get(txn, in.id()));
        response->set_name(in.name());
        response->set_owner(in.owner());
        return entities_.Update(txn, in.id(), request->expected_version(),
                                response);
      });
  return ToGrpc(done.status());
}

grpc::Status EntityServiceImpl::GetEntity(grpc::ServerContext* ctx,
                                          const GetEntityRequest* request,
                                          TestEntity* response) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  absl::StatusOr<TestEntity> found = entities_.Get(request->id());
  if (!found.ok()) {
    return ToGrpc(found.status());
  }
  *response = std::move(*found);
  return grpc::Status::OK;
}

}  // namespace salesops::testing
