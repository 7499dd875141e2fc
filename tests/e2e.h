#pragma once

// Helpers of the cross-service end-to-end tests: service binaries started on
// loopback ports, bearer-token files and call contexts. Every wait is bounded.

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/server/auth.h"
#include "common/testing/client_context.h"
#include "common/testing/process.h"

namespace salesops::e2e {

// Writes `text` to `path`, readable and writable by the owner only (0600): the
// services refuse a tokens file others may read or write (auth.h), and every
// tokens and peer-token file of the tests is written here.
inline void WriteFile(const std::string& path, const std::string& text) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    ASSERT_TRUE(out.good()) << path;
  }
  ASSERT_EQ(chmod(path.c_str(), 0600), 0) << path;
}

// The whole of a file ("" when it cannot be read).
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Certificates for the TLS tests, made with the openssl CLI in `dir` (EC
// P-256 keys, valid 2 days): a self-signed CA <ca>.pem/<ca>.key for each name
// in `cas`, and for each TestCert a key <name>.key and a certificate
// <name>.pem with subject CN=<cn> (the name when empty), signed by its CA,
// with the extensions of `ext` (an openssl extfile's text: SANs, key usages).
// The script and its output stay in `dir` (certs.sh, openssl.log). False,
// with a test failure showing openssl's output, when it failed.
struct TestCert {
  std::string name;
  std::string ca;
  std::string ext;
  std::string cn;
};
// The extfile text of a certificate for 127.0.0.1/localhost, usable as server
// and, with `client_too`, as client.
inline std::string LoopbackCertExt(bool client_too) {
  return std::string("subjectAltName=IP:127.0.0.1,DNS:localhost\n") +
         (client_too ? "extendedKeyUsage=serverAuth,clientAuth\n"
                     : "extendedKeyUsage=serverAuth\n") +
         "basicConstraints=CA:FALSE\n";
}
inline constexpr char kClientCertExt[] =
    "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n";

inline bool MakeTestCertificates(const std::string& dir,
                                 const std::vector<std::string>& cas,
                                 const std::vector<TestCert>& certs) {
  const std::string ec =
      "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  std::string script = absl::StrCat("set -e\ncd '", dir, "'\n");
  for (const std::string& ca : cas) {
    absl::StrAppend(&script, "openssl req -x509 ", ec, " -keyout ", ca,
                    ".key -out ", ca, ".pem -days 2 -subj /CN=", ca, "\n");
  }
  for (const TestCert& c : certs) {
    const std::string ext = dir + "/" + c.name + ".ext";
    WriteFile(ext, c.ext);
    absl::StrAppend(&script, "openssl req ", ec, " -keyout ", c.name,
                    ".key -out ", c.name,
                    ".csr -subj /CN=", c.cn.empty() ? c.name : c.cn, "\n",
                    "openssl x509 -req -in ", c.name, ".csr -CA ", c.ca,
                    ".pem -CAkey ", c.ca, ".key -CAcreateserial -out ", c.name,
                    ".pem -days 2 -extfile ", ext, "\n");
  }
  WriteFile(dir + "/certs.sh", script);
  const std::string cmd = absl::StrCat("timeout 60 sh '", dir, "/certs.sh' >'",
                                       dir, "/openssl.log' 2>&1");
  if (std::system(cmd.c_str()) != 0) {
    ADD_FAILURE() << "openssl failed: " << ReadFile(dir + "/openssl.log");
    return false;
  }
  return true;
}

// One line of a tokens file.
inline std::string TokenLine(const std::string& token, const std::string& name,
                             const std::string& role,
                             const std::string& node = "") {
  return absl::StrCat(Authenticator::Sha256Hex(token), " ", name, " ", role,
                      node.empty() ? "" : " ", node, "\n");
}

// A call context with a 10 s deadline and, unless `token` is empty, a bearer
// token.
inline std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token = "") {
  return ::salesops::testing::BearerContext(token, absl::Seconds(10));
}

inline std::string Describe(const grpc::Status& s) {
  return absl::StrCat(static_cast<int>(s.error_code()), " ", s.error_message());
}

// One service binary on loopback ports.
struct Service {
  std::unique_ptr<testing::Process> process;
  int port = 0;
  int metrics_port = 0;
  std::shared_ptr<grpc::Channel> channel;
};

// Starts `args` and waits (30 s) for its "<name> ready" log line.
inline Service Launch(const std::vector<std::string>& args,
                      const std::string& name) {
  const std::string ready = absl::StrCat("\"msg\":\"", name, " ready\"");
  Service s;
  s.process = testing::Process::Start(args);
  if (s.process == nullptr) {
    return s;
  }
  s.port = s.process->WaitForIntField(ready, "port", absl::Seconds(30));
  s.metrics_port =
      s.process->WaitForIntField(ready, "metrics_port", absl::Seconds(1));
  if (s.port > 0) {
    s.channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", s.port),
                                    grpc::InsecureChannelCredentials());
  }
  return s;
}

// The four services of one suite listen on ports chosen before any of them
// starts, because each is told its peers' addresses on its command line.
struct SuitePorts {
  int accounts = 0, pipeline = 0, forecast = 0, credit = 0;

  // The port of "accounts", "pipeline", "forecast" or "credit".
  int Of(const std::string& name) const {
    return name == "accounts"   ? accounts
           : name == "pipeline" ? pipeline
           : name == "forecast" ? forecast
                                : credit;
  }
};

#if defined(SALESOPS_ACCOUNTS_BIN) && defined(SALESOPS_PIPELINE_BIN) && \
    defined(SALESOPS_FORECAST_BIN) && defined(SALESOPS_CREDIT_BIN)
// The command line of service `name` ("accounts", "pipeline", "forecast" or
// "credit") of a suite on `ports` with --auth=tokens: its peers' addresses,
// the tokens file <dir>/tokens, the peer token in <dir>/peer.token, its data in
// <dir>/<name> (made on the first start: --init), EUR and UTC. Only for tests
// that are given all four binaries.
inline std::vector<std::string> SuiteArgs(const std::string& name,
                                          const SuitePorts& ports,
                                          const std::string& dir) {
  const auto addr = [](int port) { return absl::StrCat("127.0.0.1:", port); };
  std::vector<std::string> args;
  if (name == "accounts") {
    args = {SALESOPS_ACCOUNTS_BIN};
  } else if (name == "pipeline") {
    args = {SALESOPS_PIPELINE_BIN, "--accounts_addr=" + addr(ports.accounts),
            "--credit_addr=" + addr(ports.credit)};
  } else if (name == "credit") {
    args = {SALESOPS_CREDIT_BIN, "--accounts_addr=" + addr(ports.accounts),
            "--pipeline_addr=" + addr(ports.pipeline)};
  } else {
    args = {SALESOPS_FORECAST_BIN, "--accounts_addr=" + addr(ports.accounts),
            "--pipeline_addr=" + addr(ports.pipeline),
            "--credit_addr=" + addr(ports.credit)};
  }
  for (std::string a :
       {"--listen=" + addr(ports.Of(name)),
        std::string("--metrics_listen=127.0.0.1:0"),
        std::string("--auth=tokens"), "--tokens_file=" + dir + "/tokens",
        "--peer_token_file=" + dir + "/peer.token",
        "--data_dir=" + dir + "/" + name, std::string("--init"),
        std::string("--currency=EUR"), std::string("--time_zone=UTC")}) {
    args.push_back(std::move(a));
  }
  return args;
}
#endif

// A loopback TCP port that can be bound now, for a service whose address its
// peers need before it starts, or that must come back on the same port after a
// restart. Chosen at random below the kernel's ephemeral range (read from
// /proc/sys/net/ipv4/ip_local_port_range; 10000..32767 by default), so that
// servers binding port 0 elsewhere never take it in the meantime; a port is
// handed out at most once per test process, and to one live test process at a
// time (ClaimPortAcrossProcesses), so two tests that ctest runs in parallel
// never pick the same one between the check and the service's bind. 0 when
// none was found.
//
// Claims `port` for this process across the test processes of the machine: an
// exclusive flock on /tmp/salesops-test-ports/<port>, held (its descriptor left
// open) until the process ends, when the kernel releases it.
inline bool ClaimPortAcrossProcesses(int port) {
  const std::string dir = "/tmp/salesops-test-ports";
  mkdir(dir.c_str(), 01777);
  const std::string path = dir + "/" + std::to_string(port);
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) {
    return true;  // no claim possible here: fall back to the bind check
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return false;  // another live test process holds it
  }
  return true;  // fd stays open: the claim lasts as long as this process
}

inline int FreeLoopbackPort() {
  static std::mutex mu;
  static std::set<int> handed_out;
  static std::mt19937 rng(std::random_device{}());
  std::lock_guard<std::mutex> lock(mu);
  int ephemeral_low = 32768;
  {
    std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
    int low = 0;
    if (range >> low && low > 11000) {
      ephemeral_low = low;
    }
  }
  std::uniform_int_distribution<int> pick(10000, ephemeral_low - 1);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int port = pick(rng);
    if (handed_out.count(port) > 0) {
      continue;
    }
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
      return 0;
    }
    // As gRPC does: a port left in TIME_WAIT can be bound, a listening one not.
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool bound =
        bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (bound && ClaimPortAcrossProcesses(port)) {
      handed_out.insert(port);
      return port;
    }
  }
  return 0;
}

// Polls `check` every 50 ms for up to 30 s.
template <typename F>
bool Eventually(F check) {
  for (int i = 0; i < 600; ++i) {
    if (check()) {
      return true;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

}  // namespace salesops::e2e
