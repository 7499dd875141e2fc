#pragma once

// What this binary is (DECISIONS D44): the project version, the git commit it
// was built from and its build type, for `--version` and the
// salesops_build_info metric. CMake writes them at configure time into one
// generated translation unit (see CMakeLists.txt); the commit is "unknown"
// outside a git checkout.

#include <string>

#include "absl/strings/string_view.h"

namespace salesops {

struct BuildInfo {
  absl::string_view version;  // the CMake project version, e.g. "0.1.0"
  absl::string_view commit;   // 12 hex digits of the git commit, or "unknown"
  // CMAKE_BUILD_TYPE ("RelWithDebInfo", "Debug", ...; "unspecified" when
  // empty), with "+assertions" when a non-Debug build was compiled without
  // NDEBUG and "+NDEBUG" when a Debug build was compiled with it.
  absl::string_view build_type;
};

// The build of this binary. Thread-safe.
const BuildInfo& GetBuildInfo();

// "<binary> <version> (commit <commit>, <build type>)", e.g.
// "salesops-accounts 0.1.0 (commit 2feaa5a1b2c3, RelWithDebInfo)".
std::string VersionText(absl::string_view binary);

}  // namespace salesops
