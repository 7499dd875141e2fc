#include "common/metrics/process_collector.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <ctime>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics/metrics.h"
#include "common/metrics/testing/scrape.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"

namespace salesops {
namespace {

using ::salesops::testing::FindSample;
using ::salesops::testing::ParseTextPage;
using ::salesops::testing::PromtoolCheck;
using ::salesops::testing::Sample;

std::map<std::string, double> Values(const ProcessCollector& c) {
  std::map<std::string, double> out;
  for (const prometheus::MetricFamily& f : c.Collect()) {
    EXPECT_EQ(f.metric.size(), 1u) << f.name;
    EXPECT_FALSE(f.help.empty()) << f.name;
    const bool counter = f.type == prometheus::MetricType::Counter;
    EXPECT_EQ(counter, f.name == "process_cpu_seconds_total") << f.name;
    out[f.name] = counter ? f.metric[0].counter.value : f.metric[0].gauge.value;
  }
  return out;
}

// This test process's own /proc, read by the collector and compared with what
// the test knows about itself.
TEST(ProcessCollectorTest, ReadsThisProcess) {
  const std::map<std::string, double> v = Values(ProcessCollector());
  for (const char* name :
       {"process_cpu_seconds_total", "process_resident_memory_bytes",
        "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
        "process_start_time_seconds", "process_threads"}) {
    EXPECT_EQ(v.count(name), 1u) << name;
  }
  EXPECT_GT(v.at("process_resident_memory_bytes"), 1 << 20);  // > 1 MiB
  EXPECT_GE(v.at("process_virtual_memory_bytes"),
            v.at("process_resident_memory_bytes"));
  EXPECT_GE(v.at("process_cpu_seconds_total"), 0);
  EXPECT_GE(v.at("process_open_fds"), 3);  // stdin, stdout, stderr at least
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  EXPECT_EQ(v.at("process_max_fds"), static_cast<double>(limit.rlim_cur));
  // Started in the last hour, not in the future (1 s: btime is whole seconds).
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(v.at("process_start_time_seconds"), now + 1);
  EXPECT_GT(v.at("process_start_time_seconds"), now - 3600);
  EXPECT_GE(v.at("process_threads"), 1);
}

TEST(ProcessCollectorTest, FollowsFdsThreadsAndCpu) {
  const std::map<std::string, double> before = Values(ProcessCollector());
  const int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  std::atomic<bool> burned{false};
  std::atomic<bool> stop{false};
  std::thread spinner([&] {
    // Burn 200 ms of CPU (bounded: 10 s of wall time), then wait.
    const std::clock_t start = std::clock();
    const time_t deadline = std::time(nullptr) + 10;
    while (std::clock() - start < CLOCKS_PER_SEC / 5 &&
           std::time(nullptr) < deadline) {
    }
    burned.store(true);
    while (!stop.load()) {
      usleep(1000);
    }
  });
  for (int i = 0; i < 1000 && !burned.load(); ++i) {
    usleep(10 * 1000);
  }
  const std::map<std::string, double> during = Values(ProcessCollector());
  stop.store(true);
  spinner.join();
  close(fd);
  EXPECT_EQ(during.at("process_open_fds"), before.at("process_open_fds") + 1);
  EXPECT_EQ(during.at("process_threads"), before.at("process_threads") + 1);
  EXPECT_GE(during.at("process_cpu_seconds_total"),
            before.at("process_cpu_seconds_total") + 0.1);
  EXPECT_EQ(Values(ProcessCollector()).at("process_open_fds"),
            before.at("process_open_fds"));
}

TEST(ProcessCollectorTest, ParsesStatWithAwkwardCommandName) {
  // proc(5) fields 1..24 (and more); the name holds ") (" and spaces.
  const std::string text =
      "4242 (a) (b c) S 1 4242 4242 0 -1 4194560 100 0 0 0 "
      "250 125 0 0 20 0 7 0 98765 123456789 2048 18446744073709551615 1 1 0\n";
  std::optional<ProcessCollector::Stat> s = ProcessCollector::ParseStat(text);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->utime_ticks, 250u);
  EXPECT_EQ(s->stime_ticks, 125u);
  EXPECT_EQ(s->num_threads, 7);
  EXPECT_EQ(s->starttime_ticks, 98765u);
  EXPECT_EQ(s->vsize_bytes, 123456789u);
  EXPECT_EQ(s->rss_pages, 2048);
  EXPECT_FALSE(ProcessCollector::ParseStat("4242 (short) S 1 2 3").has_value());
  EXPECT_FALSE(ProcessCollector::ParseStat("no parenthesis").has_value());
}

TEST(ProcessCollectorTest, ParsesBootTime) {
  EXPECT_EQ(ProcessCollector::ParseBootTime(
                "cpu  1 2 3\nintr 5\nbtime 1767225600\nprocesses 9\n"),
            1767225600);
  EXPECT_FALSE(ProcessCollector::ParseBootTime("cpu 1 2 3\n").has_value());
}

// Every Metrics exports them, and salesops_build_info, promtool-clean.
TEST(ProcessCollectorTest, EveryMetricsPageHasProcessAndBuildInfo) {
  auto metrics = Metrics::Create("");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  const std::string page = (*metrics)->TextPage();
  absl::StatusOr<std::vector<Sample>> samples = ParseTextPage(page);
  ASSERT_TRUE(samples.ok()) << samples.status();
  auto rss = FindSample(*samples, "process_resident_memory_bytes", {});
  ASSERT_TRUE(rss.has_value()) << page;
  EXPECT_GT(*rss, 0);
  bool build_info = false;
  for (const Sample& s : *samples) {
    if (s.name != "salesops_build_info") continue;
    build_info = true;
    EXPECT_EQ(s.value, 1);
    for (const char* label : {"version", "commit", "build_type"}) {
      ASSERT_EQ(s.labels.count(label), 1u) << label;
      EXPECT_FALSE(s.labels.at(label).empty()) << label;
    }
  }
  EXPECT_TRUE(build_info) << page;
  absl::Status lint = PromtoolCheck(page);
  EXPECT_TRUE(lint.ok()) << lint << "\n" << page;
}

}  // namespace
}  // namespace salesops
