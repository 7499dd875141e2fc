#pragma once

// Builders shared by the plain-gtest tests of the pure transitions
// (*_rules_test.cc): no gRPC, no store.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/money/money.h"
#include "common/testing/builders.h"
#include "common/time/fiscal_calendar.h"
#include "salesops/v1/credit.pb.h"
#include "services/credit/credit_options.h"
#include "services/credit/receivables.h"

namespace salesops::credit::rules_test {

using ::salesops::testing::Eur;

// Noon UTC of a day.
inline absl::Time Noon(absl::CivilDay d) {
  return absl::FromCivil(
      absl::CivilSecond(d.year(), d.month(), d.day(), 12, 0, 0),
      absl::UTCTimeZone());
}

inline absl::CivilDay Civ(const v1::Date& d) {
  return absl::CivilDay(d.year(), d.month(), d.day());
}

// A settled receivable of `account` (nothing paid).
inline v1::Receivable Rcv(const std::string& id, int64_t amount,
                          absl::CivilDay issue, absl::CivilDay due,
                          const std::string& account = "acc_1",
                          const std::string& opportunity = "") {
  v1::Receivable r;
  r.set_id(id);
  r.set_account_id(account);
  r.set_opportunity_id(opportunity);
  *r.mutable_amount() = Eur(amount);
  *r.mutable_paid() = Eur(0);
  *r.mutable_written_off() = Eur(0);
  *r.mutable_issue_date() = ToProto(issue);
  *r.mutable_due_date() = ToProto(due);
  Settle(&r, "EUR");
  return r;
}

// `r` paid in full on `day`.
inline v1::Receivable PaidOn(v1::Receivable r, absl::CivilDay day) {
  EXPECT_TRUE(
      ApplyPayment(&r, "pay_x", r.open().units_minor(), day, "EUR").ok());
  return r;
}

}  // namespace salesops::credit::rules_test
