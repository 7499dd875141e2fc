#include "common/log/log.h"

#include <gtest/gtest.h>

namespace salesops::log {
namespace {

TEST(Log, FormatsOneJsonObject) {
  std::string line = Format(Level::kWarn, "slow \"commit\"",
                            {{"ms", 12}, {"ok", false}, {"path", "a\\b\n"}},
                            1'700'000'000'123'456);
  EXPECT_EQ(line,
            "{\"ts\":\"2023-11-14T22:13:20.123456Z\",\"level\":\"warn\","
            "\"msg\":\"slow "
            "\\\"commit\\\"\",\"ms\":12,\"ok\":false,\"path\":\"a\\\\b\\n\"}");
}

TEST(Log, EscapesControlCharacters) {
  EXPECT_EQ(Value::Quote(std::string("\x01x", 2)), "\"\\u0001x\"");
}

TEST(Log, ScopedFieldsFollowTheLineFieldsAndNest) {
  EXPECT_EQ(Format(Level::kInfo, "m", {{"a", 1}}, 0).find("\"b\""),
            std::string::npos);
  {
    ScopedFields outer({{"b", "x"}});
    EXPECT_NE(
        Format(Level::kInfo, "m", {{"a", 1}}, 0).find("\"a\":1,\"b\":\"x\"}"),
        std::string::npos);
    {
      ScopedFields inner({{"c", 2}});
      const std::string line = Format(Level::kInfo, "m", {}, 0);
      EXPECT_NE(line.find("\"c\":2}"), std::string::npos) << line;
      EXPECT_EQ(line.find("\"b\""), std::string::npos) << line;
    }
    EXPECT_NE(Format(Level::kInfo, "m", {}, 0).find("\"b\":\"x\"}"),
              std::string::npos);
  }
  EXPECT_EQ(Format(Level::kInfo, "m", {}, 0).find("\"b\""), std::string::npos);
}

TEST(Log, NonFiniteDoubleIsNull) { EXPECT_EQ(Value(1.0 / 0.0).json(), "null"); }

}  // namespace
}  // namespace salesops::log
