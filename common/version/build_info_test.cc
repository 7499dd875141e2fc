#include "common/version/build_info.h"

#include <string>

#include "common/version/command_line.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace salesops {
namespace {

using ::testing::MatchesRegex;

TEST(BuildInfoTest, CarriesTheConfiguredVersionCommitAndBuildType) {
  const BuildInfo& info = GetBuildInfo();
  EXPECT_EQ(info.version, SALESOPS_PROJECT_VERSION);
  // This test runs from a git checkout (or an export, which says "unknown").
  EXPECT_THAT(std::string(info.commit), MatchesRegex("[0-9a-f]{12}|unknown"));
#ifdef NDEBUG
  const std::string expected =
      std::string(SALESOPS_EXPECTED_BUILD_TYPE) +
      (std::string(SALESOPS_EXPECTED_BUILD_TYPE) == "Debug" ? "+NDEBUG" : "");
#else
  const std::string expected =
      std::string(SALESOPS_EXPECTED_BUILD_TYPE) +
      (std::string(SALESOPS_EXPECTED_BUILD_TYPE) == "Debug" ? ""
                                                            : "+assertions");
#endif
  EXPECT_EQ(info.build_type, expected);
}

TEST(BuildInfoTest, VersionTextNamesBinaryVersionCommitAndBuildType) {
  const BuildInfo& info = GetBuildInfo();
  EXPECT_EQ(VersionText("salesops-accounts"),
            "salesops-accounts " + std::string(info.version) + " (commit " +
                std::string(info.commit) + ", " + std::string(info.build_type) +
                ")");
}

TEST(CommandLineTest, FlagFilesAreRelativeToTheSourceRoot) {
  EXPECT_EQ(NormalizeFlagFilename("../../../common/server/flags.cc"),
            "common/server/flags.cc");
  EXPECT_EQ(NormalizeFlagFilename("./bench/bench.cc"), "bench/bench.cc");
  EXPECT_EQ(NormalizeFlagFilename("services/forecast/regions.cc"),
            "services/forecast/regions.cc");
  // An absolute path under this source tree loses the root; one elsewhere
  // (a library's) is left alone.
  std::string self = __FILE__;
  if (!self.empty() && self[0] == '/') {
    EXPECT_EQ(NormalizeFlagFilename(self), "common/version/build_info_test.cc");
  }
  EXPECT_EQ(NormalizeFlagFilename("/build/abseil/absl/flags/parse.cc"),
            "/build/abseil/absl/flags/parse.cc");
}

}  // namespace
}  // namespace salesops
