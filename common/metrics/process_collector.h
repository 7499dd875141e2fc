#pragma once

// The process_* metrics of the Prometheus client libraries (client_golang's
// process collector: same names, types and semantics), read from /proc at
// each scrape (DECISIONS D43: prometheus-cpp has no process collector).
//
//   process_cpu_seconds_total      counter: user + system CPU time (seconds),
//                                  /proc/self/stat utime + stime.
//   process_resident_memory_bytes  gauge: resident set size, stat rss × page
//                                  size.
//   process_virtual_memory_bytes   gauge: virtual memory size, stat vsize.
//   process_open_fds               gauge: entries of /proc/self/fd.
//   process_max_fds                gauge: the soft RLIMIT_NOFILE.
//   process_start_time_seconds     gauge: start time (Unix seconds), the
//                                  boot time (/proc/stat btime) + stat
//                                  starttime.
//   process_threads                gauge: threads of the process, stat
//                                  num_threads (not in client_golang, whose Go
//                                  runtime exports go_threads instead).
//
// A scrape reads three small /proc files and lists /proc/self/fd (a few
// microseconds); a value that cannot be read is left out of the page rather
// than reported as 0. Linux only. Thread-safe.

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "prometheus/collectable.h"

namespace prometheus {
struct MetricFamily;
}  // namespace prometheus

namespace salesops {

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;

  // The fields of /proc/<pid>/stat the collector uses (proc(5) numbering).
  struct Stat {
    uint64_t utime_ticks = 0;      // 14
    uint64_t stime_ticks = 0;      // 15
    int64_t num_threads = 0;       // 20
    uint64_t starttime_ticks = 0;  // 22: clock ticks after boot
    uint64_t vsize_bytes = 0;      // 23
    int64_t rss_pages = 0;         // 24
  };
  // Parses the text of /proc/<pid>/stat; nullopt when it is not one. The
  // command name (field 2) may hold spaces and parentheses: fields are counted
  // after its last ')'.
  static std::optional<Stat> ParseStat(absl::string_view text);
  // The "btime" (boot time, Unix seconds) of /proc/stat's text.
  static std::optional<int64_t> ParseBootTime(absl::string_view text);
};

}  // namespace salesops
