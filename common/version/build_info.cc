#include "common/version/build_info.h"

#include "absl/strings/str_cat.h"

namespace salesops {
namespace build_info_internal {
// build_info_values.cc, generated at configure time.
extern const char kVersion[];
extern const char kCommit[];
extern const char kCmakeBuildType[];
}  // namespace build_info_internal

namespace {

#ifdef NDEBUG
constexpr bool kAssertions = false;
#else
constexpr bool kAssertions = true;
#endif

std::string BuildType() {
  const absl::string_view type = build_info_internal::kCmakeBuildType;
  if (kAssertions && type != "Debug") {
    return absl::StrCat(type, "+assertions");
  }
  if (!kAssertions && type == "Debug") {
    return absl::StrCat(type, "+NDEBUG");
  }
  return std::string(type);
}

}  // namespace

const BuildInfo& GetBuildInfo() {
  static const std::string* const kBuildType = new std::string(BuildType());
  static const BuildInfo kInfo = {build_info_internal::kVersion,
                                  build_info_internal::kCommit, *kBuildType};
  return kInfo;
}

std::string VersionText(absl::string_view binary) {
  const BuildInfo& info = GetBuildInfo();
  return absl::StrCat(binary, " ", info.version, " (commit ", info.commit, ", ",
                      info.build_type, ")");
}

}  // namespace salesops
