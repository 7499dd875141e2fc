#pragma once

// A child process for end-to-end tests: starts a real binary with arguments and
// extra environment (SALESOPS_* variables of the test's own environment are not
// passed on), captures its stdout+stderr in a temp file, and waits for log
// lines, ports and exit — every wait bounded by a timeout. The destructor
// SIGKILLs a process still running.

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace salesops::testing {

class Process {
 public:
  // args[0] is the program path. Returns null (and records a test failure) if
  // it cannot start.
  static std::unique_ptr<Process> Start(std::vector<std::string> args,
                                        std::vector<std::string> env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Everything the process wrote so far.
  std::string Log() const;
  // The first log line containing `needle`, waiting up to `timeout` (nullopt if
  // the process exits or time runs out first).
  std::optional<std::string> WaitForLine(const std::string& needle,
                                         absl::Duration timeout);
  // The integer value of JSON field `field` ("port") in the first line
  // containing `needle`; 0 when absent within `timeout`.
  int WaitForIntField(const std::string& needle, const std::string& field,
                      absl::Duration timeout);
  // The exit status (waitpid form) if the process has ended.
  std::optional<int> Poll();
  std::optional<int> WaitExit(absl::Duration timeout);
  void Signal(int sig);
  pid_t pid() const { return pid_; }

 private:
  Process() = default;
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_status_;
};

}  // namespace salesops::testing
