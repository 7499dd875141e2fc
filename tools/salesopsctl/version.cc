// salesopsctl --version: the CMake project version and the git commit found
// at configure time (tools/salesopsctl/CMakeLists.txt defines both for this
// file only, so a new commit recompiles nothing else).

#include <string>

#include "absl/strings/str_cat.h"
#include "tools/salesopsctl/cli.h"

#ifndef SALESOPS_VERSION
#define SALESOPS_VERSION "unknown"
#endif
#ifndef SALESOPS_GIT_COMMIT
#define SALESOPS_GIT_COMMIT "unknown"
#endif

namespace salesops::ctl {

std::string VersionText() {
  return absl::StrCat("salesopsctl ", SALESOPS_VERSION, " (commit ",
                      SALESOPS_GIT_COMMIT, ")");
}

}  // namespace salesops::ctl
