#pragma once

// salesopsctl's dated exchange rates (issue 19; docs/API.md "Currencies and
// exchange rates"): the `rates` group, `import rates` / `export rates`
// (rates_commands.cc), and the demo dataset's rates (demo_rates.cc).

#include <string>

#include "absl/status/statusor.h"
#include "tools/salesopsctl/cli.h"

namespace salesops::ctl {

// Registers `rates set`, `rates list`, `import rates` and `export rates`.
void RegisterRatesCommands(Registry& r);

// Sets the demo's dated rates to the reporting currency `env.currency` (EUR,
// CNY or USD; another one gets none, and says so), each starting 2026-01-01
// and 2026-07-01, unless an entry of that currency and start is stored
// already (then it is kept, as the demo keeps quotas). Returns how many it
// created; logs each with `verbose`.
[[nodiscard]] absl::StatusOr<int> LoadDemoRates(Env& env, bool verbose);

}  // namespace salesops::ctl
