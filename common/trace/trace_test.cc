#include "common/trace/trace.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "common/log/log.h"

namespace salesops::trace {
namespace {

constexpr char kValid[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(Traceparent, ParsesTheSpecExample) {
  std::optional<TraceContext> c = ParseTraceparent(kValid);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(c->span_id, "00f067aa0ba902b7");
  EXPECT_EQ(c->flags, 1);
  EXPECT_EQ(c->Traceparent(), kValid);
}

TEST(Traceparent, RefusesInvalidValues) {
  const std::string bad[] = {
      "",
      "00",
      // uppercase hex
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      // all-zero trace-id, all-zero parent-id
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      // version ff, version not hex
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      // version 00 with more after it
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
      // short trace-id, wrong separators, bad flags
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
      // a higher version not followed by '-' after 55 characters
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
  };
  for (const std::string& v : bad) {
    EXPECT_FALSE(ParseTraceparent(v).has_value()) << v;
  }
}

TEST(Traceparent, AcceptsHigherVersionsAsVersion00) {
  std::optional<TraceContext> c = ParseTraceparent(
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-what-ever");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(c->flags, 1);  // unknown flag bits are not passed on
  EXPECT_EQ(c->Traceparent(),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_TRUE(ParseTraceparent(
                  "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
                  .has_value());
}

TEST(Tracestate, NormalizesValidLists) {
  EXPECT_EQ(ParseTracestate("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE"),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(ParseTracestate(" ,a=1,\t,tenant@sys=x y ,"), "a=1,tenant@sys=x y");
  EXPECT_EQ(ParseTracestate(""), "");
}

TEST(Tracestate, DropsInvalidOrOversizedValues) {
  EXPECT_EQ(ParseTracestate("Upper=1"), "");
  EXPECT_EQ(ParseTracestate("a=1,a=2"), "");  // repeated key
  EXPECT_EQ(ParseTracestate("a"), "");
  EXPECT_EQ(ParseTracestate("a=x=y"), "");
  EXPECT_EQ(ParseTracestate("a="), "");
  EXPECT_EQ(ParseTracestate("1a=x"), "");
  EXPECT_EQ(ParseTracestate("t@toolongsystemid=x"), "");
  std::string many;
  for (int i = 0; i < 33; ++i) {
    many += "k" + std::to_string(i) + "=v,";
  }
  EXPECT_EQ(ParseTracestate(many), "");
  EXPECT_EQ(ParseTracestate("a=" + std::string(255, 'x')).size(), 257u);
  std::string long_list;  // 3 members of 200 characters: 602 > 512
  for (int i = 0; i < 3; ++i) {
    long_list += "k" + std::to_string(i) + "=" + std::string(197, 'v') + ",";
  }
  EXPECT_EQ(ParseTracestate(long_list), "");
}

TEST(Ids, NewTraceAndChildSpansAreValid) {
  const TraceContext t = NewTrace();
  ASSERT_TRUE(ParseTraceparent(t.Traceparent()).has_value());
  const TraceContext child = ChildOf(t);
  EXPECT_EQ(child.trace_id, t.trace_id);
  EXPECT_NE(child.span_id, t.span_id);
  EXPECT_NE(NewTrace().trace_id, t.trace_id);
}

TEST(FromHeaders, ContinuesAValidTraceElseStartsOne) {
  bool continued = false;
  TraceContext c = FromHeaders(kValid, "a=1", &continued);
  EXPECT_TRUE(continued);
  EXPECT_EQ(c.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(c.span_id, "00f067aa0ba902b7");  // our own span
  EXPECT_EQ(c.tracestate, "a=1");
  c = FromHeaders("00-bad", "a=1", &continued);
  EXPECT_FALSE(continued);
  EXPECT_NE(c.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(c.tracestate, "");  // dropped with the traceparent
  EXPECT_TRUE(ParseTraceparent(c.Traceparent()).has_value());
}

TEST(Scope, SetsTheCurrentContextAndTheLogFields) {
  EXPECT_EQ(Current(), nullptr);
  {
    Scope outer(*ParseTraceparent(kValid));
    ASSERT_NE(Current(), nullptr);
    EXPECT_EQ(Current()->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    const std::string line = log::Format(log::Level::kInfo, "m", {{"k", 1}}, 0);
    EXPECT_NE(line.find("\"k\":1,\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e47"
                        "36\",\"span_id\":\"00f067aa0ba902b7\"}"),
              std::string::npos)
        << line;
    {
      Scope inner(NewTrace());
      EXPECT_NE(Current()->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    }
    EXPECT_EQ(Current()->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    std::thread([] { EXPECT_EQ(Current(), nullptr); }).join();
  }
  EXPECT_EQ(Current(), nullptr);
  EXPECT_EQ(log::Format(log::Level::kInfo, "m", {}, 0).find("trace_id"),
            std::string::npos);
}

TEST(Bind, CarriesTheContextToAnotherThread) {
  Scope scope(*ParseTraceparent(kValid));
  std::string seen;
  auto fn = Bind([&seen](int x) {
    seen = Current() != nullptr ? Current()->trace_id : "none";
    return x + 1;
  });
  int result = 0;
  std::thread([&] { result = fn(1); }).join();
  EXPECT_EQ(result, 2);
  EXPECT_EQ(seen, "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(FinishedCall, AnswersOnlyForTheLastCallOfThisThread) {
  int a = 0;
  int b = 0;
  NoteFinishedCall(&a, "abc");
  EXPECT_EQ(FinishedCallTraceId(&a), "abc");
  EXPECT_EQ(FinishedCallTraceId(&b), "");
  EXPECT_EQ(FinishedCallTraceId(nullptr), "");
  std::thread([&] { EXPECT_EQ(FinishedCallTraceId(&a), ""); }).join();
}

}  // namespace
}  // namespace salesops::trace
