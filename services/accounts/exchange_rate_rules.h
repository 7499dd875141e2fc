#pragma once

// Dated corporate exchange rates (issue 19, docs/API.md "Currencies and
// exchange rates", docs/DECISIONS.md D39): validation of SetExchangeRate and
// ListExchangeRates, and the transition of one (currency, start_date) entry —
// create, correct (the old value moves to `history`), withdraw, or a no-op
// when the request repeats what is stored. Pure: the handler reads the stored
// entry inside its transaction, calls these, and writes what they return.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/money/exchange.h"
#include "salesops/v1/accounts.pb.h"

namespace salesops::accounts {

// The earlier values an entry keeps (the oldest are dropped beyond).
inline constexpr int kMaxRateHistory = 100;
// Longest `note`, in characters (UTF-8 code points).
inline constexpr size_t kMaxRateNoteChars = 512;

// "<currency>/<YYYY-MM-DD>": the id of an entry (its feed entity id); sorts
// by currency, then start date.
std::string ExchangeRateId(std::string_view currency, absl::CivilDay start);

// A SetExchangeRateRequest that passed CheckSetExchangeRate.
struct ExchangeRateInput {
  std::string currency;
  absl::CivilDay start;
  std::optional<money::Decimal> rate;  // nullopt when withdrawn
};

// INVALID_ARGUMENT naming every violated rule: currency an active ISO 4217
// code other than `reporting_currency` ("currency: must differ from the
// reporting currency EUR"); start_date a valid date; rate required and valid
// (money::ParseRate) unless withdrawn, and absent when withdrawn ("rate: must
// be empty when withdrawn"); note at most 512 characters; expected_version >=
// 0.
[[nodiscard]] absl::StatusOr<ExchangeRateInput> CheckSetExchangeRate(
    const v1::SetExchangeRateRequest& req, std::string_view reporting_currency);

// INVALID_ARGUMENT unless the `currency` filter is empty or 3 uppercase
// letters.
[[nodiscard]] absl::Status CheckListExchangeRates(
    const v1::ListExchangeRatesRequest& req);

struct ExchangeRateChange {
  v1::ExchangeRate rate;   // the entity to store (or the stored one)
  bool insert = false;     // no entry yet: Insert (version 1)
  bool unchanged = false;  // the request repeats the stored value: no write
};

// The entry after `req` (checked into `in`) at `now` by principal `by`.
// `stored` is the entry as stored (nullopt when there is none). ABORTED when
// req.expected_version is set and differs from the stored version (or nothing
// is stored); NOT_FOUND when withdrawing an entry that does not exist. A
// correction appends the stored value to `history` (the last
// kMaxRateHistory kept); the caller's table sets the version.
[[nodiscard]] absl::StatusOr<ExchangeRateChange> SetExchangeRate(
    const std::optional<v1::ExchangeRate>& stored,
    const v1::SetExchangeRateRequest& req, const ExchangeRateInput& in,
    std::string_view reporting_currency, std::string_view by, absl::Time now);

}  // namespace salesops::accounts
