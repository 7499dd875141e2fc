#include "common/metrics/process_collector.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "prometheus/client_metric.h"
#include "prometheus/metric_family.h"
#include "prometheus/metric_type.h"

namespace salesops {
namespace {

std::optional<std::string> ReadFile(const char* path) {
  std::ifstream in(path);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();  // /proc files report size 0: read to the end
  return text.str();
}

// Entries of /proc/self/fd but the one of the directory being listed.
std::optional<int64_t> OpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) {
    return std::nullopt;
  }
  const int own = dirfd(dir);
  int64_t n = 0;
  while (const dirent* e = readdir(dir)) {
    int fd = 0;
    if (absl::SimpleAtoi(e->d_name, &fd) && fd != own) {
      ++n;
    }
  }
  closedir(dir);
  return n;
}

std::optional<int64_t> MaxFds() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 ||
      limit.rlim_cur == RLIM_INFINITY) {
    return std::nullopt;
  }
  return static_cast<int64_t>(limit.rlim_cur);
}

void Add(std::vector<prometheus::MetricFamily>& out, const char* name,
         const char* help, prometheus::MetricType type, double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  out.push_back(std::move(f));
}

}  // namespace

std::optional<ProcessCollector::Stat> ProcessCollector::ParseStat(
    absl::string_view text) {
  const size_t paren = text.rfind(')');
  if (paren == absl::string_view::npos) {
    return std::nullopt;
  }
  // Field 3 (state) onwards.
  std::vector<absl::string_view> f =
      absl::StrSplit(text.substr(paren + 1), ' ', absl::SkipWhitespace());
  const auto field = [&f](size_t n) { return f[n - 3]; };
  Stat s;
  if (f.size() < 22 || !absl::SimpleAtoi(field(14), &s.utime_ticks) ||
      !absl::SimpleAtoi(field(15), &s.stime_ticks) ||
      !absl::SimpleAtoi(field(20), &s.num_threads) ||
      !absl::SimpleAtoi(field(22), &s.starttime_ticks) ||
      !absl::SimpleAtoi(field(23), &s.vsize_bytes) ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(field(24)), &s.rss_pages)) {
    return std::nullopt;
  }
  return s;
}

std::optional<int64_t> ProcessCollector::ParseBootTime(absl::string_view text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, "btime ")) {
      int64_t btime = 0;
      if (absl::SimpleAtoi(line, &btime)) {
        return btime;
      }
    }
  }
  return std::nullopt;
}

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::optional<std::string> stat_text = ReadFile("/proc/self/stat");
  std::optional<Stat> stat =
      stat_text ? ParseStat(*stat_text) : std::optional<Stat>();
  if (stat && ticks > 0) {
    Add(out, "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.", MetricType::Counter,
        static_cast<double>(stat->utime_ticks + stat->stime_ticks) / ticks);
    Add(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
        MetricType::Gauge,
        static_cast<double>(stat->rss_pages) *
            static_cast<double>(sysconf(_SC_PAGESIZE)));
    Add(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
        MetricType::Gauge, static_cast<double>(stat->vsize_bytes));
    Add(out, "process_threads", "Number of OS threads in the process.",
        MetricType::Gauge, static_cast<double>(stat->num_threads));
    std::optional<std::string> proc_stat = ReadFile("/proc/stat");
    if (std::optional<int64_t> boot =
            proc_stat ? ParseBootTime(*proc_stat) : std::nullopt) {
      Add(out, "process_start_time_seconds",
          "Start time of the process since unix epoch in seconds.",
          MetricType::Gauge,
          static_cast<double>(*boot) +
              static_cast<double>(stat->starttime_ticks) / ticks);
    }
  }
  if (std::optional<int64_t> fds = OpenFds()) {
    Add(out, "process_open_fds", "Number of open file descriptors.",
        MetricType::Gauge, static_cast<double>(*fds));
  }
  if (std::optional<int64_t> max = MaxFds()) {
    Add(out, "process_max_fds", "Maximum number of open file descriptors.",
        MetricType::Gauge, static_cast<double>(*max));
  }
  return out;
}

}  // namespace salesops
