#pragma once

// The one handler shell of the suite (issue 17; gRPC's route_guide: a `final`
// Impl whose overrides only do I/O). A service declares, next to its
// registration, which roles may call each of its RPCs — one table per service
// — and every handler runs its body through the shell, which authenticates
// the caller once, checks the table's roles for the method, answers the edge's
// field-bound violations (bounds.h), times the call for an optional observer
// and maps the body's absl::Status (with its error details, status.h) to the
// grpc::Status sent:
//
//   AccountsServiceImpl::AccountsServiceImpl(const Authenticator* auth, ...)
//       : gate_(auth, v1::AccountsService::service_full_name(),
//               {{"GetAccount", AllRoles()},
//                {"CreateAccount", {Role::kAdmin, Role::kManager}}, ...}) {}
//
//   grpc::Status AccountsServiceImpl::GetAccount(grpc::ServerContext* ctx,
//       const v1::GetAccountRequest* req, v1::Account* resp) {
//     return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
//       return accounts_.Get(who, *req, resp);
//     });
//   }
//
// The macros take the method's name from `__func__`, so a handler cannot be
// checked against another method's row. A body never authenticates again.

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/server/auth.h"
#include "common/server/principal.h"
#include "common/status/status.h"

namespace salesops {

// One row of a service's table: the RPC's name ("GetAccount") and the roles
// that may call it.
struct MethodRoles {
  std::string_view method;
  std::vector<Role> roles;
};

class CallGate {
 public:
  // `auth` is not owned and outlives the gate. `service` is the full proto
  // name of the service (the generated `v1::X::service_full_name()`), found
  // in the generated descriptor pool. The table must have exactly one
  // row per method of the service, and every row must name one of its methods:
  // anything else is a programming error, logged, and the process aborts at
  // construction (a service that would answer PERMISSION_DENIED for a method
  // nobody declared never starts).
  CallGate(const Authenticator* auth, std::string_view service,
           std::vector<MethodRoles> table);

  // Authenticates the caller (UNAUTHENTICATED), checks the method's roles
  // (PERMISSION_DENIED naming the allowed roles), then the edge's
  // INVALID_ARGUMENT for this call if one was recorded.
  [[nodiscard]] absl::StatusOr<Principal> Admit(
      const grpc::ServerContextBase& ctx, std::string_view method) const;

  // Called after each call with its method and duration (forecast's query
  // histograms). Set before serving.
  using Observer = std::function<void(std::string_view method, absl::Duration)>;
  void set_observer(Observer observer) { observer_ = std::move(observer); }
  // True when an observer is set: only then is a call timed.
  bool observed() const { return static_cast<bool>(observer_); }
  void Observe(std::string_view method, absl::Duration elapsed) const {
    if (observer_) {
      observer_(method, elapsed);
    }
  }

 private:
  const Authenticator* auth_;
  absl::flat_hash_map<std::string, std::vector<Role>> roles_;
  Observer observer_;
};

// A sync unary handler's shell: body(const Principal&) → absl::Status.
template <typename Body>
grpc::Status Serve(const CallGate& gate, grpc::ServerContextBase* ctx,
                   std::string_view method, Body&& body) {
  const absl::Time start = gate.observed() ? absl::Now() : absl::Time();
  absl::StatusOr<Principal> who = gate.Admit(*ctx, method);
  absl::Status status = who.ok() ? body(*who) : std::move(who).status();
  if (gate.observed()) {
    gate.Observe(method, absl::Now() - start);
  }
  return ToGrpc(status);
}

// Finishes a callback call exactly once with an absl::Status.
using Finish = std::function<void(const absl::Status&)>;

// A callback unary handler's shell: body(const Principal&, Finish) starts the
// work and calls Finish once, on any thread, when it is done. `method` must
// outlive the call (the macro passes `__func__`, a static string).
template <typename Body>
grpc::ServerUnaryReactor* ServeAsync(const CallGate& gate,
                                     grpc::CallbackServerContext* ctx,
                                     std::string_view method, Body&& body) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const absl::Time start = gate.observed() ? absl::Now() : absl::Time();
  Finish finish = [&gate, reactor, start, method](const absl::Status& s) {
    if (gate.observed()) {
      gate.Observe(method, absl::Now() - start);
    }
    reactor->Finish(ToGrpc(s));
  };
  absl::StatusOr<Principal> who = gate.Admit(*ctx, method);
  if (!who.ok()) {
    finish(who.status());
  } else {
    body(*who, std::move(finish));
  }
  return reactor;
}

}  // namespace salesops

// In a sync handler: return SALESOPS_SERVE(gate_, ctx, [&](const Principal&
// who) { ... return absl::OkStatus(); });
#define SALESOPS_SERVE(gate, ctx, body) \
  ::salesops::Serve((gate), (ctx), __func__, (body))
// In a callback handler: return SALESOPS_SERVE_ASYNC(gate_, ctx,
// [&](const Principal& who, ::salesops::Finish finish) { ... });
#define SALESOPS_SERVE_ASYNC(gate, ctx, body) \
  ::salesops::ServeAsync((gate), (ctx), __func__, (body))
