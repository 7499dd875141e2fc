// salesops-pipeline: opportunities, stage models, buying centres, evaluations,
// deal health, activities and follow-ups (SPEC.md §3). Flags: the common ones
// (common/server/flags.h) plus --accounts_addr and --credit_addr
// (assembly.h). Assembly only: the followers are followers.h.

#include <memory>

#include "common/org/org_mirror.h"
#include "common/runtime/service_runtime.h"
#include "common/server/flags.h"
#include "services/pipeline/assembly.h"
#include "services/pipeline/followers.h"
#include "services/pipeline/pipeline_store.h"

namespace salesops::pipeline {
namespace {

int Serve(Setup setup) {
  auto runtime = ServiceRuntime::FromFlags({"pipeline", ColumnFamilies()});
  if (!runtime.ok()) return ServiceRuntime::FailedToStart(runtime.status());
  Store& store = (*runtime)->store();
  OrgMirror org(&store, Cf::kMirror);
  if (absl::Status s = org.Load(); !s.ok()) {
    return ServiceRuntime::FailedToStart(s);
  }
  auto accounts = NewGrpcAccountsClient(setup.accounts.get());
  auto credit = setup.credit != nullptr
                    ? NewGrpcCreditClient(setup.credit.get())
                    : NewUnconfiguredCreditClient();
  OrgFollower org_follower(&org, accounts.get());
  (*runtime)->AddFollower(&org_follower, setup.accounts.get());
  PipelineServiceImpl service(&store, &(*runtime)->auth(), (*runtime)->clock(),
                              accounts.get(), credit.get(), &org,
                              setup.options);
  if (absl::Status s = service.Init(); !s.ok()) {
    return ServiceRuntime::FailedToStart(s);
  }
  CreditFollower credit_follower(&service);
  if (setup.credit != nullptr) {
    (*runtime)->AddFollower(&credit_follower, setup.credit.get());
  }
  (*runtime)->AddService(&service, "salesops.v1.PipelineService");
  return (*runtime)->Run();
}

}  // namespace
}  // namespace salesops::pipeline

int main(int argc, char** argv) {
  salesops::BlockTerminationSignals();
  salesops::ParseFlags(argc, argv,
                       "the SalesOps pipeline service: opportunities, stage "
                       "models and buying centres (gRPC). Each flag may also "
                       "come from SALESOPS_<FLAG NAME IN CAPITALS>.");
  auto setup = salesops::pipeline::SetupFromFlags();
  if (!setup.ok()) {
    return salesops::ServiceRuntime::FailedToStart(setup.status());
  }
  // The peer channels outlive the runtime (and so its feed consumers).
  return salesops::pipeline::Serve(std::move(*setup));
}
