#include "common/server/handler.h"

#include <google/protobuf/descriptor.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"

namespace salesops {
namespace {

[[noreturn]] void BadTable(const std::string& service, const std::string& why) {
  log::Error("role table does not match the service",
             {{"service", service}, {"problem", why}});
  std::abort();
}

}  // namespace

CallGate::CallGate(const Authenticator* auth, std::string_view service_name,
                   std::vector<MethodRoles> table)
    : auth_(auth) {
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

}  // namespace salesops
