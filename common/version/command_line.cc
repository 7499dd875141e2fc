#include "common/version/command_line.h"

#include <cstdlib>
#include <iostream>
#include <mutex>

#include "absl/flags/internal/parse.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/version/build_info.h"

namespace salesops {
namespace {

// This file's path as the compiler saw it, minus its place in the tree: the
// source root when the path is absolute, "" when relative.
absl::string_view SourceRoot() {
  absl::string_view file = __FILE__;
  if (!absl::StartsWith(file, "/") ||
      !absl::ConsumeSuffix(&file, "common/version/command_line.cc")) {
    return "";
  }
  return file;
}

std::string& Binary() {
  static std::string* const binary = new std::string("salesops");
  return *binary;
}

// Ours are every flag not defined by Abseil itself.
bool IsOwnFlagFile(absl::string_view filename) {
  return !absl::StrContains(filename, "absl/");
}

void ConfigureUsage(const char* usage) {
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  config.contains_help_flags = IsOwnFlagFile;
  config.contains_helpshort_flags = IsOwnFlagFile;
  config.version_string = [] { return VersionText(Binary()) + "\n"; };
  config.normalize_filename = NormalizeFlagFilename;
  absl::SetFlagsUsageConfig(config);
}

}  // namespace

std::string NormalizeFlagFilename(absl::string_view filename) {
  absl::string_view f = filename;
  const absl::string_view root = SourceRoot();
  if (!root.empty()) {
    absl::ConsumePrefix(&f, root);
  }
  while (absl::ConsumePrefix(&f, "../") || absl::ConsumePrefix(&f, "./")) {
  }
  return std::string(f);
}

std::vector<char*> ParseCommandLineWithUsage(int argc, char** argv,
                                             const char* usage) {
  // Abseil allows setting the usage message and configuration once.
  static std::once_flag once;
  std::call_once(once, [&] {
    if (argc > 0 && argv[0] != nullptr) {
      const absl::string_view path = argv[0];
      const size_t slash = path.rfind('/');
      Binary() = std::string(
          slash == absl::string_view::npos ? path : path.substr(slash + 1));
    }
    ConfigureUsage(usage);
  });
  // Abseil (20220623) exits 1 after --help; asking for help is no error, so
  // the usage flags are handled here.
  namespace fi = ::absl::flags_internal;
  std::vector<char*> positional = fi::ParseCommandLineImpl(
      argc, argv, fi::ArgvListAction::kRemoveParsedArgs,
      fi::UsageFlagsAction::kIgnoreUsage,
      fi::OnUndefinedFlag::kAbortIfUndefined);
  if (fi::HandleUsageFlags(std::cout, absl::ProgramUsageMessage()) != -1) {
    std::cout.flush();
    std::exit(0);
  }
  return positional;
}

}  // namespace salesops
