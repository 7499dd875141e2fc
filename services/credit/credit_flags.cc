#include "services/credit/credit_flags.h"

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "common/server/flags.h"
#include "common/time/fiscal_calendar.h"

ABSL_FLAG(std::string, accounts_addr, "",
          "HOST:PORT of salesops-accounts (required): accounts, their owners "
          "and the org tree, followed from its feed");
ABSL_FLAG(std::string, pipeline_addr, "",
          "HOST:PORT of salesops-pipeline (required): entering a "
          "contract_signed stage opens a receivable");
ABSL_FLAG(int, default_payment_terms_days, 30,
          "payment terms of receivables of accounts without a credit profile");
ABSL_FLAG(int, overdue_block_days, 30,
          "CheckCredit blocks an account with receivables overdue more than "
          "this many days");

namespace salesops::credit {

absl::StatusOr<CreditFlags> CreditFlagsFromCommandLine() {
  CreditFlags f;
  f.accounts_addr = absl::GetFlag(FLAGS_accounts_addr);
  f.pipeline_addr = absl::GetFlag(FLAGS_pipeline_addr);
  if (f.accounts_addr.empty()) {
    return absl::InvalidArgumentError(
        "--accounts_addr: required (HOST:PORT of salesops-accounts)");
  }
  if (f.pipeline_addr.empty()) {
    return absl::InvalidArgumentError(
        "--pipeline_addr: required (HOST:PORT of salesops-pipeline)");
  }
  CreditOptions& options = f.options;
  options.currency = absl::GetFlag(FLAGS_currency);
  options.default_payment_terms_days =
      absl::GetFlag(FLAGS_default_payment_terms_days);
  options.overdue_block_days = absl::GetFlag(FLAGS_overdue_block_days);
  if (options.default_payment_terms_days < 0 ||
      options.default_payment_terms_days > 365) {
    return absl::InvalidArgumentError(
        "--default_payment_terms_days: must be 0..365");
  }
  if (options.overdue_block_days < 0 || options.overdue_block_days > 3650) {
    return absl::InvalidArgumentError("--overdue_block_days: must be 0..3650");
  }
  absl::StatusOr<absl::TimeZone> tz =
      LoadTimeZone(absl::GetFlag(FLAGS_time_zone));
  if (!tz.ok()) {
    return tz.status();
  }
  options.time_zone = *tz;
  return f;
}

}  // namespace salesops::credit
