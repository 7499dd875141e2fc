#pragma once

// Test helpers for metrics endpoints: fetch a page over loopback HTTP, parse
// the text exposition format, and lint a page with `promtool check metrics`.
// Test-only.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace salesops::testing {

// Blocking HTTP/1.0 GET of http://host:port/path (host must be a numeric IPv4
// address). Returns the body of a 200 answer; any other answer or a timeout is
// an error.
[[nodiscard]] absl::StatusOr<std::string> HttpGet(
    const std::string& host, int port, const std::string& path,
    absl::Duration timeout = absl::Seconds(10));

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses the samples of a text exposition page (comments skipped). A malformed
// line is an error naming the line.
[[nodiscard]] absl::StatusOr<std::vector<Sample>> ParseTextPage(
    const std::string& page);

// The value of the sample with exactly this name and label set, if any.
std::optional<double> FindSample(
    const std::vector<Sample>& samples, const std::string& name,
    const std::map<std::string, std::string>& labels);

// Runs `promtool check metrics` with the page on stdin. OK when promtool exits
// 0; otherwise the error carries promtool's output. FAILED_PRECONDITION when
// promtool is not installed.
[[nodiscard]] absl::Status PromtoolCheck(const std::string& page);

}  // namespace salesops::testing
