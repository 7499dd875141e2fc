#include "services/pipeline/assembly.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/server/flags.h"
#include "common/status/macros.h"

ABSL_FLAG(std::string, accounts_addr, "",
          "HOST:PORT of salesops-accounts (required): account, owner and "
          "contact checks, and the org-node feed");
ABSL_FLAG(std::string, credit_addr, "",
          "HOST:PORT of salesops-credit: CheckCredit on moves into "
          "credit-checked stages, and its feed (full collection closes an "
          "opportunity in a closes_on_collection stage WON); empty: no credit "
          "feed, and moves into credit-checked stages pass marked "
          "credit_review_pending");

namespace salesops::pipeline {

absl::StatusOr<Setup> SetupFromFlags() {
  const std::string accounts_addr = absl::GetFlag(FLAGS_accounts_addr);
  if (accounts_addr.empty()) {
    return absl::InvalidArgumentError(
        "--accounts_addr: required (HOST:PORT of salesops-accounts)");
  }
  Setup setup;
  if (!absl::LoadTimeZone(absl::GetFlag(FLAGS_time_zone),
                          &setup.options.time_zone)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--time_zone: unknown time zone ", absl::GetFlag(FLAGS_time_zone)));
  }
  setup.options.currency = absl::GetFlag(FLAGS_currency);
  ASSIGN_OR_RETURN(setup.accounts, PeerChannel::FromFlags(accounts_addr));
  if (const std::string credit_addr = absl::GetFlag(FLAGS_credit_addr);
      !credit_addr.empty()) {
    ASSIGN_OR_RETURN(setup.credit, PeerChannel::FromFlags(credit_addr));
  }
  return setup;
}

}  // namespace salesops::pipeline
