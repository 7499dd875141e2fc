#pragma once

// The client side of a test's call: a context with a deadline and a bearer
// token, and one call made with it. Shared by every gRPC-level test fixture
// and the end-to-end helpers. Header-only.

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace salesops::testing {

// A context whose call must end within `deadline` and which carries
// "authorization: Bearer <token>" unless `token` is empty.
inline std::unique_ptr<grpc::ClientContext> BearerContext(
    const std::string& token, absl::Duration deadline = absl::Seconds(20)) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) {
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }
  ctx->set_deadline(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(deadline));
  return ctx;
}

// stub.*method(req, resp) as the principal of `token`, within 20 s.
template <typename Stub, typename Req, typename Resp>
grpc::Status CallAs(Stub& stub,
                    grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                 const Req&, Resp*),
                    const Req& req, Resp* resp, const std::string& token) {
  std::unique_ptr<grpc::ClientContext> ctx = BearerContext(token);
  return (stub.*method)(ctx.get(), req, resp);
}

}  // namespace salesops::testing
