#include "common/server/handler.h"

#include <google/protobuf/descriptor.h>

#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/server/flags.h"
#include "common/server/interceptors.h"

namespace salesops {
namespace {

[[noreturn]] void BadTable(const std::string& service, const std::string& why) {
  log::Error("role table does not match the service",
             {{"service", service}, {"problem", why}});
  std::abort();
}

std::string_view View(const grpc::string_ref& s) {
  return std::string_view(s.data(), s.size());
}

// The call's peer as the "rpc failed" line names it: the gateway's HTTP client
// for an in-process call of the HTTP/JSON gateway.
std::string CallPeer(const grpc::ServerContextBase& ctx) {
  std::string peer = ctx.peer();
  // gRPC 1.51 names an in-process call's peer "unknown" (later ones
  // "inproc..."); a network peer is always "ipv4:", "ipv6:" or "unix:".
  if (absl::StartsWith(peer, "inproc") || peer == "unknown") {
    const auto& metadata = ctx.client_metadata();
    if (auto it = metadata.find(kHttpPeerMetadata); it != metadata.end()) {
      peer = "http:" + std::string(View(it->second));
    }
  }
  return peer;
}

}  // namespace

CallGate::CallGate(const Authenticator* auth, std::string_view service_name,
                   std::vector<MethodRoles> table)
    : auth_(auth),
      service_(service_name),
      access_log_(absl::GetFlag(FLAGS_access_log)) {
  const std::string name(service_name);
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          name);
  if (service == nullptr) {
    BadTable(name, "no such service in the generated descriptor pool");
  }
  for (MethodRoles& row : table) {
    const std::string method(row.method);
    if (service->FindMethodByName(method) == nullptr) {
      BadTable(name, absl::StrCat("row for unknown method ", method));
    }
    if (!roles_.emplace(method, std::move(row.roles)).second) {
      BadTable(name, absl::StrCat("two rows for ", method));
    }
  }
  for (int i = 0; i < service->method_count(); ++i) {
    if (!roles_.contains(service->method(i)->name())) {
      BadTable(name, absl::StrCat("no row for ", service->method(i)->name()));
    }
  }
}

absl::StatusOr<Principal> CallGate::Admit(const grpc::ServerContextBase& ctx,
                                          std::string_view method) const {
  // Heterogeneous lookup: no string is built per call.
  auto it = roles_.find(absl::string_view(method.data(), method.size()));
  if (it == roles_.end()) {
    // The constructor made this impossible for a method of the service; a
    // handler of another service behind this gate is a bug.
    return absl::InternalError(
        absl::StrCat("no role row for method ", std::string(method)));
  }
  return auth_->Authorize(ctx, it->second);
}

trace::TraceContext CallTraceContext(const grpc::ServerContextBase& ctx) {
  const auto& metadata = ctx.client_metadata();
  std::string_view traceparent;
  if (auto it = metadata.find(trace::kTraceparent); it != metadata.end()) {
    traceparent = View(it->second);
  }
  // Several tracestate values are one list (the spec's combined header).
  std::string tracestate;
  auto [first, last] = metadata.equal_range(trace::kTracestate);
  for (auto it = first; it != last; ++it) {
    tracestate.append(tracestate.empty() ? "" : ",").append(View(it->second));
  }
  return trace::FromHeaders(traceparent, tracestate);
}

void CallGate::Finished(const grpc::ServerContextBase& ctx,
                        std::string_view method, const Principal* who,
                        const grpc::Status& sent, absl::Time start,
                        const trace::TraceContext& trace) const {
  trace::NoteFinishedCall(&ctx, trace.trace_id);
  if (!timed()) {
    return;
  }
  const absl::Duration elapsed = absl::Now() - start;
  Observe(method, elapsed);
  if (!access_log_) {
    return;
  }
  trace::Scope scope(trace);  // the fields of an async call's other thread
  log::Info("access",
            {{"principal", who != nullptr ? who->name : ""},
             {"role", who != nullptr ? RoleName(who->role) : ""},
             {"method", "/" + service_ + "/" + std::string(method)},
             {"code", absl::StatusCodeToString(
                          static_cast<absl::StatusCode>(sent.error_code()))},
             {"latency_us",
              static_cast<long long>(absl::ToInt64Microseconds(elapsed))},
             {"peer", CallPeer(ctx)}});
}

}  // namespace salesops
