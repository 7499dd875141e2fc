#pragma once

// Small helpers for the server tests that talk to a real gRPC server over
// loopback.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/time/time.h"

namespace salesops::testing {

// A deadline `d` from now, as gRPC's ClientContext::set_deadline takes it.
inline std::chrono::system_clock::time_point In(absl::Duration d) {
  return std::chrono::system_clock::now() +
         std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

// A channel of its own (no subchannel shared with other channels of the test).
inline std::shared_ptr<grpc::Channel> FreshChannel(
    const std::string& target, std::shared_ptr<grpc::ChannelCredentials> creds =
                                   grpc::InsecureChannelCredentials()) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target, creds, args);
}

}  // namespace salesops::testing
