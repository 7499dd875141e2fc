#include "common/server/testing/echo_service.h"

#include <grpcpp/server_context.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status/status.h"

namespace salesops::testing {

namespace {

// The body of Echo: the principal is authenticated and allowed.
absl::Status DoEcho(grpc::ServerContext* ctx, const Principal& who,
                    const EchoRequest* request, EchoResponse* response) {
  if (request->delay_ms() < 0 || request->code() < 0 || request->code() > 16) {
    return absl::InvalidArgumentError(
        "delay_ms: must be >= 0; code: must be within 0..16");
  }
  const absl::Time until =
      absl::Now() + absl::Milliseconds(request->delay_ms());
  // Sleep in slices so a cancelled call (client gone, drain deadline) stops
  // early.
  while (absl::Now() < until) {
    if (ctx->IsCancelled()) {
      return absl::CancelledError("cancelled while sleeping");
    }
    absl::SleepFor(std::min(absl::Milliseconds(10), until - absl::Now()));
  }
  if (request->code() != 0) {
    return absl::Status(static_cast<absl::StatusCode>(request->code()),
                        absl::StrCat("requested code ", request->code()));
  }
  response->set_text(absl::StrCat(who.name, ": ", request->text()));
  return absl::OkStatus();
}

}  // namespace

EchoServiceImpl::EchoServiceImpl(const Authenticator* auth)
    : gate_(auth, EchoService::service_full_name(), {{"Echo", AllRoles()}}) {}

grpc::Status EchoServiceImpl::Echo(grpc::ServerContext* ctx,
                                   const EchoRequest* request,
                                   EchoResponse* response) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoEcho(ctx, who, request, response);
  });
}

}  // namespace salesops::testing
