#include "common/metrics/testing/scrape.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"

namespace salesops::testing {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Waits until `fd` is ready for `events` or `deadline` passes.
absl::Status WaitFor(int fd, short events, absl::Time deadline) {
  for (;;) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError("HTTP GET timed out");
    }
    pollfd p{fd, events, 0};
    int n = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (n > 0) {
      return absl::OkStatus();
    }
    if (n < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("poll: ", strerror(errno)));
    }
  }
}

std::string TempPath(const char* stem) {
  std::string tmpl =
      absl::StrCat(getenv("TMPDIR") != nullptr ? getenv("TMPDIR") : "/tmp", "/",
                   stem, "XXXXXX");
  int fd = mkstemp(tmpl.data());
  if (fd >= 0) {
    close(fd);
  }
  return tmpl;
}

}  // namespace

absl::StatusOr<std::string> HttpGet(const std::string& host, int port,
                                    const std::string& path,
                                    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a numeric IPv4 address: ", host));
  }
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  }
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
          0 &&
      errno != EINPROGRESS) {
    return absl::UnavailableError(
        absl::StrCat("connect ", host, ":", port, ": ", strerror(errno)));
  }
  if (absl::Status s = WaitFor(fd.get(), POLLOUT, deadline); !s.ok()) {
    return s;
  }
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    return absl::UnavailableError(
        absl::StrCat("connect ", host, ":", port, ": ", strerror(err)));
  }

  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", host, ":", port,
                   "\r\nConnection: close\r\n\r\n");
  size_t sent = 0;
  while (sent < request.size()) {
    if (absl::Status s = WaitFor(fd.get(), POLLOUT, deadline); !s.ok()) {
      return s;
    }
    ssize_t n = send(fd.get(), request.data() + sent, request.size() - sent,
                     MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("send: ", strerror(errno)));
    }
    if (n > 0) {
      sent += static_cast<size_t>(n);
    }
  }

  std::string response;
  char buf[16384];
  for (;;) {
    if (absl::Status s = WaitFor(fd.get(), POLLIN, deadline); !s.ok()) {
      return s;
    }
    ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    if (n == 0) {
      break;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        continue;
      }
      return absl::UnavailableError(absl::StrCat("recv: ", strerror(errno)));
    }
    response.append(buf, static_cast<size_t>(n));
  }

  const size_t header_end = response.find("\r\n\r\n");
  if (header_end == std::string::npos) {
    return absl::DataLossError("HTTP answer without a header end");
  }
  const std::string status_line = response.substr(0, response.find("\r\n"));
  std::vector<std::string> parts = absl::StrSplit(status_line, ' ');
  if (parts.size() < 2 || parts[1] != "200") {
    return absl::UnavailableError(
        absl::StrCat("GET ", path, " answered: ", status_line));
  }
  std::string body = response.substr(header_end + 4);
  // civetweb may answer HTTP/1.0 requests with chunked encoding; undo it if so.
  const std::string headers = response.substr(0, header_end);
  std::string lower_headers = headers;
  for (char& c : lower_headers) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (lower_headers.find("transfer-encoding: chunked") == std::string::npos) {
    return body;
  }
  std::string decoded;
  size_t pos = 0;
  for (;;) {
    const size_t line_end = body.find("\r\n", pos);
    if (line_end == std::string::npos) {
      return absl::DataLossError("truncated chunked body");
    }
    size_t chunk = 0;
    if (!absl::SimpleHexAtoi(body.substr(pos, line_end - pos), &chunk)) {
      return absl::DataLossError("bad chunk size");
    }
    if (chunk == 0) {
      return decoded;
    }
    if (line_end + 2 + chunk > body.size()) {
      return absl::DataLossError("truncated chunk");
    }
    decoded.append(body, line_end + 2, chunk);
    pos = line_end + 2 + chunk + 2;
  }
}

absl::StatusOr<std::vector<Sample>> ParseTextPage(const std::string& page) {
  std::vector<Sample> out;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(page, '\n')) {
    ++line_no;
    if (line.empty() || line.front() == '#') {
      continue;
    }
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_no, ": ", why, ": ", line));
    };
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') {
      ++i;
    }
    s.name = std::string(line.substr(0, i));
    if (s.name.empty()) {
      return bad("no metric name");
    }
    if (i < line.size() && line[i] == '{') {
      ++i;
      for (;;) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        const size_t eq = line.find('=', i);
        if (eq == absl::string_view::npos || eq + 1 >= line.size() ||
            line[eq + 1] != '"') {
          return bad("bad label");
        }
        std::string key(line.substr(i, eq - i));
        std::string value;
        i = eq + 2;
        bool closed = false;
        while (i < line.size()) {
          const char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\' && i < line.size()) {
            const char e = line[i++];
            value.push_back(e == 'n' ? '\n' : e);
          } else {
            value.push_back(c);
          }
        }
        if (!closed) {
          return bad("unterminated label value");
        }
        s.labels[key] = value;
        if (i < line.size() && line[i] == ',') {
          ++i;
        }
      }
    }
    if (i >= line.size() || line[i] != ' ') {
      return bad("no value");
    }
    std::vector<absl::string_view> rest =
        absl::StrSplit(line.substr(i + 1), ' ', absl::SkipEmpty());
    if (rest.empty()) {
      return bad("no value");
    }
    if (rest[0] == "+Inf") {
      s.value = HUGE_VAL;
    } else if (rest[0] == "-Inf") {
      s.value = -HUGE_VAL;
    } else if (!absl::SimpleAtod(rest[0], &s.value)) {
      return bad("bad value");
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<double> FindSample(
    const std::vector<Sample>& samples, const std::string& name,
    const std::map<std::string, std::string>& labels) {
  for (const Sample& s : samples) {
    if (s.name == name && s.labels == labels) {
      return s.value;
    }
  }
  return std::nullopt;
}

absl::Status PromtoolCheck(const std::string& page) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    return absl::FailedPreconditionError(
        "promtool is not installed (Debian package prometheus; see the "
        "setup script)");
  }
  const std::string in = TempPath("promtool_in_");
  const std::string out = TempPath("promtool_out_");
  {
    std::ofstream f(in, std::ios::binary);
    f << page;
    if (!f) {
      return absl::InternalError(absl::StrCat("cannot write ", in));
    }
  }
  const std::string cmd = absl::StrCat("timeout 60 promtool check metrics < '",
                                       in, "' > '", out, "' 2>&1");
  const int rc = std::system(cmd.c_str());
  std::stringstream output;
  output << std::ifstream(out).rdbuf();
  std::remove(in.c_str());
  std::remove(out.c_str());
  if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "promtool check metrics failed (status ", rc, "): ", output.str()));
  }
  return absl::OkStatus();
}

}  // namespace salesops::testing
