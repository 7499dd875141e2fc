#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace salesops {

// The whole content of the file named by flag `--flag` (=path).
// FAILED_PRECONDITION naming the flag, the path and the OS error when it cannot
// be read.
[[nodiscard]] absl::StatusOr<std::string> ReadFlagFile(const std::string& flag,
                                                       const std::string& path);

}  // namespace salesops
