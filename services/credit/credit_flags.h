#pragma once

// salesops-credit's own flags (the common ones are in common/server/flags.h):
// --accounts_addr and --pipeline_addr (required), --default_payment_terms_days
// and --overdue_block_days, with --currency and --time_zone into
// CreditOptions.

#include <string>

#include "absl/status/statusor.h"
#include "services/credit/credit_options.h"

namespace salesops::credit {

struct CreditFlags {
  std::string accounts_addr;  // HOST:PORT of salesops-accounts
  std::string pipeline_addr;  // HOST:PORT of salesops-pipeline
  CreditOptions options;
};

// The parsed flags, checked: INVALID_ARGUMENT naming the flag.
[[nodiscard]] absl::StatusOr<CreditFlags> CreditFlagsFromCommandLine();

}  // namespace salesops::credit
