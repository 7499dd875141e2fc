#include "common/server/files.h"

#include <string.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace salesops {

absl::StatusOr<std::string> ReadFlagFile(const std::string& flag,
                                         const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read --", flag, "=", path, ": ", strerror(errno)));
  }
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace salesops
