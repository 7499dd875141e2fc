#pragma once

// The instance settings of salesops-credit that its rules depend on (flags,
// see main.cc). Pure: shared by the transition modules, the handlers, the
// daily job and the followers.

#include <string>

#include "absl/time/time.h"

namespace salesops::credit {

struct CreditOptions {
  std::string currency = "EUR";                    // --currency
  absl::TimeZone time_zone = absl::UTCTimeZone();  // --time_zone: "today"
  // Payment terms of receivables of accounts without a profile
  // (--default_payment_terms_days).
  int default_payment_terms_days = 30;
  // CheckCredit BLOCKs when receivables are overdue more than this
  // (--overdue_block_days).
  int overdue_block_days = 30;
};

// Texts (reasons, notes, hold reasons) are at most this long; external ids
// and opportunity ids at most kMaxExternalIdLength.
inline constexpr size_t kMaxTextLength = 2000;
inline constexpr size_t kMaxExternalIdLength = 128;

}  // namespace salesops::credit
