#pragma once

// Receivable arithmetic (SPEC.md §5.2): state, open amounts as of a date,
// payment allocation, aging buckets and DSO. Pure functions on the
// salesops.v1 messages: no gRPC, no RocksDB, no clock (the date is an
// argument). Amounts are minor units of the instance currency; the Money
// messages a function writes carry `currency`.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "salesops/v1/credit.pb.h"
#include "services/credit/currency_rules.h"

namespace salesops::credit {

// The receivable's currency (its amount's; issue 19: any active one), or
// `fallback` for one stored without.
const std::string& CurrencyOf(const v1::Receivable& r,
                              const std::string& fallback);

// OPEN or PARTIALLY_PAID: what collections chase (dunning, overdue, the
// worklist, default allocation of payments).
bool Collectible(const v1::Receivable& r);
// Collectible or DISPUTED: still owed (exposure, write-offs).
bool Outstanding(const v1::Receivable& r);

// Sets `open` = amount − paid − written_off and `state` from the amounts:
// WRITTEN_OFF when written_off > 0, else PAID when open == 0, else DISPUTED
// when dispute_reason is non-empty, else PARTIALLY_PAID when paid > 0, else
// OPEN. Money fields are written in r's currency (CurrencyOf(r, fallback)).
void Settle(v1::Receivable* r, const std::string& fallback);

// Applies `amount` of payment `payment_id` dated `date` to `r`: appends a
// PaymentApplication, adds to paid, settles, and sets paid_date when it
// becomes PAID. FAILED_PRECONDITION when `amount` exceeds r's open amount
// ("allocations: 120.00 exceeds the 100.00 still owed on rcv_…") or r is
// PAID or WRITTEN_OFF; INVALID_ARGUMENT when amount <= 0.
[[nodiscard]] absl::Status ApplyPayment(v1::Receivable* r,
                                        const std::string& payment_id,
                                        int64_t amount, absl::CivilDay date,
                                        const std::string& fallback);

// How a payment of `amount` is spread over an account's receivables.
// `receivables`: the account's receivables (any state, any order).
// `named`: the request's allocations; when non-empty they are checked (each
// receivable of this account and payable, no receivable named twice, each
// amount > 0, in the receivable's currency which must be the payment's
// `currency` — "allocations[0].amount.currency: must be JPY, the currency of
// rcv_… (an allocation is in its receivable's currency), got EUR" —, at most
// its open amount, sum == amount) and returned as they are. When empty: OPEN
// and PARTIALLY_PAID receivables (not DISPUTED) in the payment's `currency`
// by due date, then issue date, then id, each paid in full until the amount
// is used. FAILED_PRECONDITION when the amount exceeds what is owed
// ("amount: 1200.00 exceeds the 1000.00 the account owes on undisputed
// receivables; the excess is not kept"), INVALID_ARGUMENT for malformed
// named allocations (naming "allocations[i].receivable_id" / ".amount").
[[nodiscard]] absl::StatusOr<std::vector<v1::Allocation>> Allocate(
    const std::vector<v1::Receivable>& receivables, int64_t amount,
    const std::vector<v1::Allocation>& named, const std::string& currency);

// The open amount of `r` at the end of `as_of`: 0 when issued after as_of,
// else amount − payments dated <= as_of − (written_off when written off on
// or before as_of).
int64_t OpenAsOf(const v1::Receivable& r, absl::CivilDay as_of);

// Days past due at `as_of` (as_of − due_date; <= 0 means not due).
int DaysPastDue(const v1::Receivable& r, absl::CivilDay as_of);

// SPEC §5.2 buckets by days past due: not due (<= 0), 1–30, 31–60, 61–90,
// 91–180, over 180.
enum class AgingBucket {
  kNotDue,
  k1To30,
  k31To60,
  k61To90,
  k91To180,
  kOver180
};
AgingBucket BucketFor(int days_past_due);

// Adds OpenAsOf(r, as_of) to its bucket and to the total of `buckets`
// (Money fields in `currency`). OUT_OF_RANGE on overflow.
[[nodiscard]] absl::Status AddToAging(const v1::Receivable& r,
                                      absl::CivilDay as_of,
                                      const std::string& currency,
                                      v1::AgingBuckets* buckets);
// The same with the amount given: `open` (r's open amount at as_of already
// converted into `currency`, D40) goes to r's bucket at as_of.
[[nodiscard]] absl::Status AddToAging(const v1::Receivable& r, int64_t open,
                                      absl::CivilDay as_of,
                                      const std::string& currency,
                                      v1::AgingBuckets* buckets);

// DSO of SPEC §5.2 over [from, to] (inclusive): receivables_at_end = Σ
// OpenAsOf(r, to); credit_sales = Σ amount of receivables issued in [from,
// to]; days = to − from + 1; dso_milli_days = round_half_even(at_end × days ×
// 1000 / credit_sales), 0 when credit_sales is 0. INVALID_ARGUMENT when to <
// from ("to: must not be before from").
[[nodiscard]] absl::StatusOr<v1::Dso> ComputeDso(
    const std::vector<v1::Receivable>& receivables, absl::CivilDay from,
    absl::CivilDay to, const std::string& currency);
// ComputeDso over receivables in many currencies (D40): each receivable's
// open amount at `to` and (when issued in the period) its amount converted
// by `conv` into conv.target() at conv.day(), one rounding per receivable
// and figure; a receivable whose rate is missing is left out of both
// figures (`conv` records its open amount at `to`) and listed in the
// answer's missing_rates.
[[nodiscard]] absl::StatusOr<v1::Dso> ComputeDso(
    const std::vector<v1::Receivable>& receivables, absl::CivilDay from,
    absl::CivilDay to, Converter& conv);

}  // namespace salesops::credit
