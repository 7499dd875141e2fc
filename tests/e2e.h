#pragma once

// Helpers of the cross-service end-to-end tests: service binaries started on
// loopback ports, bearer-token files and call contexts. Every wait is bounded.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/server/auth.h"
#include "common/testing/process.h"

namespace salesops::e2e {

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
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
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(10));
  if (!token.empty()) {
    ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }
  return ctx;
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
