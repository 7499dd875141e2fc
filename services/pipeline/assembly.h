#pragma once

// What salesops-pipeline's flags name (part of the binary only: the flags
// are defined in assembly.cc): --accounts_addr (required), --credit_addr
// (optional), with the common --time_zone and --currency.

#include <memory>

#include "absl/status/statusor.h"
#include "common/server/peer.h"
#include "services/pipeline/pipeline_service.h"

namespace salesops::pipeline {

// The peers and options the flags name; `credit` stays null without
// --credit_addr.
struct Setup {
  std::unique_ptr<PeerChannel> accounts;
  std::unique_ptr<PeerChannel> credit;
  PipelineOptions options;
};

// INVALID_ARGUMENT naming the flag when one is missing or wrong.
[[nodiscard]] absl::StatusOr<Setup> SetupFromFlags();

}  // namespace salesops::pipeline
