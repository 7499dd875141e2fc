#pragma once

// The one handler shell of the suite (issue 17; gRPC's route_guide: a `final`
// Impl whose overrides only do I/O). A service declares, next to its
// registration, which roles may call each of its RPCs — one table per service
// — and every handler runs its body through the shell, which authenticates
// the caller once, checks the table's roles for the method, answers the edge's
// field-bound violations (bounds.h), times the call for an optional observer
// and maps the body's absl::Status (with its error details, status.h) to the
// grpc::Status sent. It also makes the call's trace context current for the
// body on the handler's thread (trace.h: a child span of the call's
// `traceparent`/`tracestate` metadata, a new trace when missing or invalid), so
// every line the body logs there carries trace_id and span_id, and peer calls
// made there pass the trace on (peer.h); with --access_log it writes one
// "access" line per call, refused calls included (DECISIONS D45):
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
#include <optional>
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
#include "common/trace/trace.h"

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
  // True when calls are timed: an observer is set or --access_log is on.
  bool timed() const { return observed() || access_log_; }
  // --access_log, read at construction; tests may set it.
  void set_access_log(bool on) { access_log_ = on; }

  // The end of a call the shell served, before its status is sent: the
  // observer, the access line (--access_log: principal, role, method, code,
  // latency_us, peer, with the call's trace_id and span_id) and the call's
  // trace id noted for the interceptor's "rpc failed" line (same thread).
  // `who` is null for a call refused before or by authentication.
  void Finished(const grpc::ServerContextBase& ctx, std::string_view method,
                const Principal* who, const grpc::Status& sent,
                absl::Time start, const trace::TraceContext& trace) const;

 private:
  const Authenticator* auth_;
  std::string service_;
  bool access_log_ = false;
  absl::flat_hash_map<std::string, std::vector<Role>> roles_;
  Observer observer_;
};

// The trace context of a call: a child span of its traceparent (and
// tracestate) metadata, or a new trace when that is missing or invalid.
trace::TraceContext CallTraceContext(const grpc::ServerContextBase& ctx);

// A sync unary handler's shell: body(const Principal&) → absl::Status.
template <typename Body>
grpc::Status Serve(const CallGate& gate, grpc::ServerContextBase* ctx,
                   std::string_view method, Body&& body) {
  const absl::Time start = gate.timed() ? absl::Now() : absl::Time();
  trace::Scope scope(CallTraceContext(*ctx));
  absl::StatusOr<Principal> who = gate.Admit(*ctx, method);
  absl::Status status = who.ok() ? body(*who) : who.status();
  grpc::Status sent = ToGrpc(status);
  gate.Finished(*ctx, method, who.ok() ? &*who : nullptr, sent, start,
                scope.context());
  return sent;
}

// Finishes a callback call exactly once with an absl::Status.
using Finish = std::function<void(const absl::Status&)>;

// A callback unary handler's shell: body(const Principal&, Finish) starts the
// work and calls Finish once, on any thread, when it is done. `method` must
// outlive the call (the macro passes `__func__`, a static string). The trace
// context is current while the body runs on the handler's thread; work it
// continues on other threads carries it with trace::Bind.
template <typename Body>
grpc::ServerUnaryReactor* ServeAsync(const CallGate& gate,
                                     grpc::CallbackServerContext* ctx,
                                     std::string_view method, Body&& body) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const absl::Time start = gate.timed() ? absl::Now() : absl::Time();
  trace::Scope scope(CallTraceContext(*ctx));
  absl::StatusOr<Principal> who = gate.Admit(*ctx, method);
  std::optional<Principal> caller;
  if (who.ok()) {
    caller = *who;
  }
  Finish finish = [&gate, ctx, reactor, start, method, trace = scope.context(),
                   caller = std::move(caller)](const absl::Status& s) {
    grpc::Status sent = ToGrpc(s);
    gate.Finished(*ctx, method, caller ? &*caller : nullptr, sent, start,
                  trace);
    reactor->Finish(sent);
  };
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
