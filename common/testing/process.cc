#include "common/testing/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

extern char** environ;

namespace salesops::testing {

std::unique_ptr<Process> Process::Start(std::vector<std::string> args,
                                        std::vector<std::string> env) {
  auto p = std::unique_ptr<Process>(new Process());
  p->log_path_ = ::testing::TempDir() + "salesops_process_XXXXXX";
  int fd = mkstemp(p->log_path_.data());
  EXPECT_GE(fd, 0);
  close(fd);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, p->log_path_.c_str(),
                                   O_WRONLY | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 2, 1);
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "SALESOPS_")) {
      env_strings.push_back(*e);
    }
  }
  for (auto& e : env) {
    env_strings.push_back(e);
  }
  std::vector<char*> envp;
  for (auto& e : env_strings) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);
  const int rc = posix_spawn(&p->pid_, argv[0], &actions, nullptr, argv.data(),
                             envp.data());
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(rc, 0) << "cannot start " << args[0];
  if (rc != 0) {
    return nullptr;
  }
  return p;
}

Process::~Process() {
  if (pid_ > 0 && !exit_status_.has_value()) {
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
  }
  std::remove(log_path_.c_str());
}

std::string Process::Log() const {
  std::stringstream s;
  s << std::ifstream(log_path_).rdbuf();
  return s.str();
}

std::optional<std::string> Process::WaitForLine(const std::string& needle,
                                                absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    for (absl::string_view line : absl::StrSplit(Log(), '\n')) {
      if (absl::StrContains(line, needle)) {
        return std::string(line);
      }
    }
    if (Poll().has_value()) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return std::nullopt;
}

int Process::WaitForIntField(const std::string& needle,
                             const std::string& field, absl::Duration timeout) {
  std::optional<std::string> line = WaitForLine(needle, timeout);
  if (!line.has_value()) {
    return 0;
  }
  const std::string key = "\"" + field + "\":";
  const size_t at = line->find(key);
  if (at == std::string::npos) {
    return 0;
  }
  const size_t begin = at + key.size();
  const std::string digits =
      line->substr(begin, line->find_first_of(",}", begin) - begin);
  int value = 0;
  return absl::SimpleAtoi(digits, &value) ? value : 0;
}

std::optional<int> Process::Poll() {
  if (!exit_status_.has_value() && pid_ > 0) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_status_ = status;
    }
  }
  return exit_status_;
}

std::optional<int> Process::WaitExit(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (Poll().has_value()) {
      return exit_status_;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  return std::nullopt;
}

void Process::Signal(int sig) {
  if (pid_ > 0 && !exit_status_.has_value()) {
    kill(pid_, sig);
  }
}

}  // namespace salesops::testing
