// salesops_echo_server: the test services (EchoService, EntityService) behind
// the shared runtime, exactly as a service main does it. Test-only (built with
// SALESOPS_BUILD_TESTS); process-level tests of the server and the runtime
// start it.

#include "common/runtime/service_runtime.h"
#include "common/runtime/testing/entity_service.h"
#include "common/server/flags.h"
#include "common/server/testing/echo_service.h"

int main(int argc, char** argv) {
  salesops::BlockTerminationSignals();
  salesops::ParseFlags(
      argc, argv,
      "test services (EchoService, EntityService) on the shared runtime. "
      "Each flag may also come from SALESOPS_<FLAG NAME IN CAPITALS>.");
  auto runtime = salesops::ServiceRuntime::FromFlags(
      {"echo", salesops::testing::EntityColumnFamilies()});
  if (!runtime.ok()) {
    return salesops::ServiceRuntime::FailedToStart(runtime.status());
  }
  salesops::testing::EchoServiceImpl echo(&(*runtime)->auth());
  salesops::testing::EntityServiceImpl entities(&(*runtime)->store(),
                                                &(*runtime)->auth());
  (*runtime)->AddService(&echo, "salesops.testing.EchoService");
  (*runtime)->AddService(&entities, "salesops.testing.EntityService");
  return (*runtime)->Run();
}
