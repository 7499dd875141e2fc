#include "common/server/flags.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "common/server/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// A service's own peer flag: the environment fallback must cover it too.
ABSL_FLAG(std::string, accounts_addr, "", "peer address (test)");

namespace salesops {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FlagsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const char* v : {"SALESOPS_CURRENCY", "SALESOPS_TIME_ZONE",
                          "SALESOPS_SYNC_WRITES", "SALESOPS_DRAIN_TIMEOUT",
                          "SALESOPS_ACCOUNTS_ADDR", "SALESOPS_FLAGFILE",
                          "SALESOPS_MAX_MESSAGE_BYTES", "SALESOPS_LISTEN"}) {
      unsetenv(v);
    }
  }
  absl::FlagSaver saver_;  // restores every flag after the test
};

TEST_F(FlagsTest, EnvironmentVariableName) {
  EXPECT_EQ(FlagEnvironmentVariable("data_dir"), "SALESOPS_DATA_DIR");
  EXPECT_EQ(FlagEnvironmentVariable("accounts_addr"), "SALESOPS_ACCOUNTS_ADDR");
}

TEST_F(FlagsTest, DefaultsAreDocumented) {
  EXPECT_EQ(absl::GetFlag(FLAGS_listen), "127.0.0.1:50051");
  EXPECT_EQ(absl::GetFlag(FLAGS_metrics_listen), "");
  EXPECT_EQ(absl::GetFlag(FLAGS_auth), "tokens");
  EXPECT_EQ(absl::GetFlag(FLAGS_time_zone), "UTC");
  EXPECT_EQ(absl::GetFlag(FLAGS_currency), "EUR");
  EXPECT_TRUE(absl::GetFlag(FLAGS_sync_writes));
  EXPECT_EQ(absl::GetFlag(FLAGS_drain_timeout), absl::Seconds(10));
  EXPECT_EQ(absl::GetFlag(FLAGS_max_message_bytes), 16 * 1024 * 1024);
  EXPECT_EQ(absl::GetFlag(FLAGS_log_level), "info");
  EXPECT_EQ(absl::GetFlag(FLAGS_feed_retention), absl::Hours(168));
}

TEST_F(FlagsTest, EnvironmentSetsFlags) {
  setenv("SALESOPS_CURRENCY", "USD", 1);
  setenv("SALESOPS_SYNC_WRITES", "false", 1);
  setenv("SALESOPS_DRAIN_TIMEOUT", "2.5s", 1);
  setenv("SALESOPS_ACCOUNTS_ADDR", "127.0.0.1:7001", 1);
  ASSERT_TRUE(ApplyEnvironment().ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_currency), "USD");
  EXPECT_FALSE(absl::GetFlag(FLAGS_sync_writes));
  EXPECT_EQ(absl::GetFlag(FLAGS_drain_timeout), absl::Milliseconds(2500));
  EXPECT_EQ(absl::GetFlag(FLAGS_accounts_addr), "127.0.0.1:7001");
  EXPECT_EQ(absl::GetFlag(FLAGS_time_zone), "UTC");  // untouched
}

TEST_F(FlagsTest, CommandLineWinsOverEnvironment) {
  setenv("SALESOPS_TIME_ZONE", "Europe/Berlin", 1);
  setenv("SALESOPS_CURRENCY", "CHF", 1);
  std::vector<std::string> args = {"prog", "--time_zone=America/New_York",
                                   "positional"};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  std::vector<char*> rest =
      ParseFlags(static_cast<int>(argv.size()), argv.data(), "test");
  EXPECT_EQ(absl::GetFlag(FLAGS_time_zone), "America/New_York");
  EXPECT_EQ(absl::GetFlag(FLAGS_currency), "CHF");
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_STREQ(rest[1], "positional");
}

TEST_F(FlagsTest, BadEnvironmentValueNamesTheVariable) {
  setenv("SALESOPS_SYNC_WRITES", "maybe", 1);
  absl::Status s = ApplyEnvironment();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("SALESOPS_SYNC_WRITES"));
  EXPECT_THAT(s.message(), HasSubstr("maybe"));

  unsetenv("SALESOPS_SYNC_WRITES");
  setenv("SALESOPS_DRAIN_TIMEOUT", "10", 1);  // no unit
  s = ApplyEnvironment();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("SALESOPS_DRAIN_TIMEOUT"));
}

TEST_F(FlagsTest, AbseilOwnFlagsAreNotReadFromTheEnvironment) {
  setenv("SALESOPS_FLAGFILE", "/nonexistent/flags", 1);
  ASSERT_TRUE(ApplyEnvironment().ok());
  const absl::CommandLineFlag* flagfile = absl::FindCommandLineFlag("flagfile");
  ASSERT_NE(flagfile, nullptr);
  EXPECT_EQ(flagfile->CurrentValue(), flagfile->DefaultValue());
}

TEST_F(FlagsTest, LogLevelIsChecked) {
  absl::SetFlag(&FLAGS_log_level, "warn");
  EXPECT_TRUE(ApplyLogLevel().ok());
  absl::SetFlag(&FLAGS_log_level, "loud");
  absl::Status s = ApplyLogLevel();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("loud"));
  absl::SetFlag(&FLAGS_log_level, "info");
  EXPECT_TRUE(ApplyLogLevel().ok());
}

TEST_F(FlagsTest, ParseFlagsExitsTwoOnBadEnvironment) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  setenv("SALESOPS_MAX_MESSAGE_BYTES", "lots", 1);
  std::string prog = "prog";
  char* argv[] = {prog.data()};
  EXPECT_EXIT(ParseFlags(1, argv, "test"), ::testing::ExitedWithCode(2),
              "SALESOPS_MAX_MESSAGE_BYTES");
}

// Asking for help or the version is no error (Abseil alone exits 1 after
// --help); tests/binaries_test.sh checks what the binaries print.
TEST_F(FlagsTest, HelpAndVersionExitZero) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (const char* flag : {"--help", "--helpshort", "--version"}) {
    std::string prog = "prog";
    std::string arg = flag;
    char* argv[] = {prog.data(), arg.data()};
    EXPECT_EXIT(ParseFlags(2, argv, "test"), ::testing::ExitedWithCode(0), "")
        << flag;
  }
  std::string prog = "prog";
  std::string arg = "--no_such_flag";
  char* argv[] = {prog.data(), arg.data()};
  EXPECT_EXIT(ParseFlags(2, argv, "test"), ::testing::ExitedWithCode(1),
              "no_such_flag");
}

TEST_F(FlagsTest, ServerConfigFromFlagsSplitsListen) {
  absl::SetFlag(&FLAGS_listen, "127.0.0.1:7001, [::1]:7001,");
  absl::SetFlag(&FLAGS_auth, "none");
  absl::SetFlag(&FLAGS_drain_timeout, absl::Seconds(3));
  ServerConfig c = ServerConfig::FromFlags();
  EXPECT_THAT(c.listen, ElementsAre("127.0.0.1:7001", "[::1]:7001"));
  EXPECT_EQ(c.auth, "none");
  EXPECT_EQ(c.drain_timeout, absl::Seconds(3));
  EXPECT_EQ(c.max_message_bytes, 16 * 1024 * 1024);
}

TEST_F(FlagsTest, ListenFromEnvironment) {
  setenv("SALESOPS_LISTEN", "127.0.0.1:7100", 1);
  ASSERT_TRUE(ApplyEnvironment().ok());
  EXPECT_THAT(ServerConfig::FromFlags().listen, ElementsAre("127.0.0.1:7100"));
}

}  // namespace
}  // namespace salesops
