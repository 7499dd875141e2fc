#include "common/server/testing/echo_service.h"

#include <grpcpp/server_context.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status/status.h"

namespace salesops::testing {

grpc::Status EchoServiceImpl::Echo(grpc::ServerContext* ctx,
                                   const EchoRequest* request,
                                   EchoResponse* response) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager, Role::kRep,
                              Role::kFinance, Role::kService});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  if (request->delay_ms() < 0 || request->code() < 0 || request->code() > 16) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "delay_ms must be >= 0 and code within 0..16");
  }
  const absl::Time until =
      absl::Now() + absl::Milliseconds(request->delay_ms());
  // Sleep in slices so a cancelled call (client gone, drain deadline) stops
  // early.
  while (absl::Now() < until) {
    if (ctx->IsCancelled()) {
      return grpc::Status(grpc::StatusCode::CANCELLED,
                          "cancelled while sleeping");
    }
    absl::SleepFor(std::min(absl::Milliseconds(10), until - absl::Now()));
  }
  if (request->code() != 0) {
    return grpc::Status(static_cast<grpc::StatusCode>(request->code()),
                        absl::StrCat("requested code ", request->code()));
  }
  response->set_text(absl::StrCat(who->name, ": ", request->text()));
  return grpc::Status::OK;
}

}  // namespace salesops::testing
