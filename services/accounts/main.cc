// salesops-accounts: customer accounts, org charts, our sales hierarchy and
// quotas (SPEC.md §2). Flags: the common ones (common/server/flags.h).

#include "absl/flags/flag.h"
#include "common/runtime/service_runtime.h"
#include "common/server/flags.h"
#include "services/accounts/accounts_service.h"
#include "services/accounts/accounts_store.h"

int main(int argc, char** argv) {
  salesops::BlockTerminationSignals();
  salesops::ParseFlags(argc, argv,
                       "the SalesOps accounts service: customer accounts, "
                       "contacts, the org tree and quotas (gRPC). Each flag "
                       "may also come from SALESOPS_<FLAG NAME IN CAPITALS>.");
  auto runtime = salesops::ServiceRuntime::FromFlags(
      {"accounts", salesops::accounts::ColumnFamilies()});
  if (!runtime.ok()) {
    return salesops::ServiceRuntime::FailedToStart(runtime.status());
  }
  salesops::accounts::AccountsServiceImpl service(
      &(*runtime)->store(), &(*runtime)->auth(), absl::GetFlag(FLAGS_currency));
  (*runtime)->AddService(&service, "salesops.v1.AccountsService");
  return (*runtime)->Run();
}
