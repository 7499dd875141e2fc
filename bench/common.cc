#include "bench/common.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>

namespace salesops::bench {

std::shared_ptr<grpc::Channel> Channel(const std::string& addr) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  // An import batch of 1,000 rows is ~200 KB; the answer is smaller.
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(addr, grpc::InsecureChannelCredentials(),
                                   args);
}

std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(deadline));
  return ctx;
}

void Fail(const std::string& what, const grpc::Status& s) {
  std::cerr << "bench: " << what << ": " << s.error_code() << " "
            << s.error_message() << "\n";
  std::exit(1);
}

Percentiles Of(std::vector<double> us) {
  Percentiles p;
  if (us.empty()) return p;
  std::sort(us.begin(), us.end());
  p.p50_us = us[us.size() / 2];
  p.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  return p;
}

double Micros(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

}  // namespace salesops::bench
