// ForecastStore: the records of issue 19's currencies (forecast_store.h,
// tags 8–11): the by-rate copies of opportunities and out-of-funnel sales in
// other currencies, the dated rates followed from accounts, and the reporting
// currency the records were converted into.

#include <string>
#include <string_view>

#include "common/status/status.h"
#include "common/store/key.h"
#include "services/forecast/forecast_store.h"

namespace salesops::forecast {
namespace {

constexpr CfRef kView(Cf::kView);
constexpr uint8_t kQuotaTag = 2;  // forecast_store.cc's
constexpr uint8_t kByRateTag = 8;
constexpr uint8_t kRateTag = 9;
constexpr uint8_t kSaleByRateTag = 10;
constexpr uint8_t kReportingTag = 11;

const absl::CivilDay kEpoch(1970, 1, 1);

int64_t DayNumber(absl::CivilDay d) { return d - kEpoch; }
absl::CivilDay DayOfNumber(int64_t n) { return kEpoch + n; }

absl::CivilDay RateDay(const AppliedRate& r) {
  return absl::CivilDay(r.year(), r.month(), r.day());
}

std::string DatedKey(uint8_t tag, std::string_view currency, absl::CivilDay day,
                     std::string_view id) {
  return KeyBuilder(tag).Str(currency).I64(DayNumber(day)).Str(id).key();
}

std::string DayPrefix(uint8_t tag, std::string_view currency,
                      absl::CivilDay day) {
  return KeyBuilder(tag).Str(currency).I64(DayNumber(day)).key();
}

// The [start, end) keys of the days [first, last] of `currency`.
std::pair<std::string, std::string> DayRange(uint8_t tag,
                                             std::string_view currency,
                                             absl::CivilDay first,
                                             absl::CivilDay last) {
  std::string end = last == absl::CivilDay::max()
                        ? PrefixSuccessor(KeyBuilder(tag).Str(currency).key())
                        : DayPrefix(tag, currency, last + 1);
  return {DayPrefix(tag, currency, first), std::move(end)};
}

// A by-rate copy: an OPEN or WON opportunity in another currency.
bool HasByRateCopy(const OppRecord& r) {
  return !r.currency().empty() && r.has_rate() &&
         (r.status() == v1::OPPORTUNITY_STATUS_OPEN ||
          r.status() == v1::OPPORTUNITY_STATUS_WON);
}

template <typename Msg>
bool Parse(std::string_view value, Msg* m) {
  return m->ParseFromArray(value.data(), static_cast<int>(value.size()));
}

// Reads (tag, currency, day, id) off a dated key.
bool ReadDated(std::string_view key, std::string* currency, absl::CivilDay* day,
               std::string* id) {
  KeyReader reader(key);
  uint8_t tag = 0;
  int64_t n = 0;
  if (!reader.Tag(&tag) || !reader.Str(currency) || !reader.I64(&n)) {
    return false;
  }
  *day = DayOfNumber(n);
  return id == nullptr || reader.Str(id);
}

}  // namespace

void ForecastStore::PutByRateCopy(WriteTxn& txn, const std::string& id,
                                  const OppRecord& r,
                                  const std::string& value) {
  if (HasByRateCopy(r)) {
    txn.Put(kView, DatedKey(kByRateTag, r.currency(), RateDay(r.rate()), id),
            value);
  }
}

void ForecastStore::DeleteByRateCopy(WriteTxn& txn, const std::string& id,
                                     const OppRecord& r) {
  if (HasByRateCopy(r)) {
    txn.Delete(kView,
               DatedKey(kByRateTag, r.currency(), RateDay(r.rate()), id));
  }
}

absl::Status ForecastStore::OppsInRateRange(WriteTxn& txn,
                                            const std::string& currency,
                                            absl::CivilDay first,
                                            absl::CivilDay last,
                                            std::vector<DatedOpp>* out) {
  const auto [start, end] = DayRange(kByRateTag, currency, first, last);
  absl::Status error;
  RETURN_IF_ERROR(txn.Scan(
      kView, start, end, [&](std::string_view key, std::string_view value) {
        DatedOpp d;
        std::string cur;
        absl::CivilDay day;
        if (!ReadDated(key, &cur, &day, &d.id) || !Parse(value, &d.record)) {
          error = absl::DataLossError("forecast view: corrupt by-rate copy");
          return false;
        }
        out->push_back(std::move(d));
        return true;
      }));
  return error;
}

absl::Status ForecastStore::SalesInRateRange(WriteTxn& txn,
                                             const std::string& currency,
                                             absl::CivilDay first,
                                             absl::CivilDay last,
                                             std::vector<DatedSale>* out) {
  const auto [start, end] = DayRange(kSaleByRateTag, currency, first, last);
  absl::Status error;
  RETURN_IF_ERROR(txn.Scan(
      kView, start, end, [&](std::string_view key, std::string_view value) {
        DatedSale d;
        std::string cur;
        if (!ReadDated(key, &cur, &d.day, &d.id) || !Parse(value, &d.record)) {
          error = absl::DataLossError("forecast view: corrupt sale record");
          return false;
        }
        out->push_back(std::move(d));
        return true;
      }));
  return error;
}

void ForecastStore::PutSale(WriteTxn& txn, const std::string& currency,
                            absl::CivilDay day, const std::string& id,
                            const SaleRateRecord& r) {
  txn.Put(kView, DatedKey(kSaleByRateTag, currency, day, id),
          r.SerializeAsString());
}

absl::Status ForecastStore::ScanSales(const SaleFn& visit) const {
  const std::string prefix = KeyBuilder(kSaleByRateTag).key();
  absl::Status error;
  RETURN_IF_ERROR(store_->Scan(
      kView, prefix, PrefixSuccessor(prefix),
      [&](std::string_view key, std::string_view value) {
        DatedSale d;
        std::string currency;
        if (!ReadDated(key, &currency, &d.day, &d.id) ||
            !Parse(value, &d.record)) {
          error = absl::DataLossError("forecast view: corrupt sale record");
          return false;
        }
        error = visit(currency, d);
        return error.ok();
      }));
  return error;
}

absl::StatusOr<std::optional<RateRecord>> ForecastStore::FindRate(
    WriteTxn& txn, const std::string& currency, absl::CivilDay start) {
  ASSIGN_OR_RETURN(std::optional<std::string> raw,
                   txn.Get(kView, DayPrefix(kRateTag, currency, start)));
  if (!raw) return std::nullopt;
  RateRecord r;
  if (!Parse(*raw, &r)) {
    return absl::DataLossError("forecast view: corrupt rate record");
  }
  return r;
}

void ForecastStore::PutRate(WriteTxn& txn, const std::string& currency,
                            absl::CivilDay start, const RateRecord& r) {
  txn.Put(kView, DayPrefix(kRateTag, currency, start), r.SerializeAsString());
}

void ForecastStore::DeleteRate(WriteTxn& txn, const std::string& currency,
                               absl::CivilDay start) {
  txn.Delete(kView, DayPrefix(kRateTag, currency, start));
}

namespace {

// The scan callback of rate records, for the store's and a txn's Scan.
auto RateVisitor(const ForecastStore::RateFn& visit, absl::Status* error) {
  return [&visit, error](std::string_view key, std::string_view value) {
    RateRecord r;
    std::string currency;
    absl::CivilDay start;
    if (!ReadDated(key, &currency, &start, nullptr) || !Parse(value, &r)) {
      *error = absl::DataLossError("forecast view: corrupt rate record");
      return false;
    }
    *error = visit(currency, start, r);
    return error->ok();
  };
}

}  // namespace

absl::Status ForecastStore::ScanRates(const RateFn& visit) const {
  const std::string prefix = KeyBuilder(kRateTag).key();
  absl::Status error;
  RETURN_IF_ERROR(store_->Scan(kView, prefix, PrefixSuccessor(prefix),
                               RateVisitor(visit, &error)));
  return error;
}

absl::Status ForecastStore::RatesInTxn(WriteTxn& txn, const RateFn& visit) {
  const std::string prefix = KeyBuilder(kRateTag).key();
  absl::Status error;
  RETURN_IF_ERROR(txn.Scan(kView, prefix, PrefixSuccessor(prefix),
                           RateVisitor(visit, &error)));
  return error;
}

absl::Status ForecastStore::QuotasInTxn(WriteTxn& txn, const QuotaFn& visit) {
  const std::string prefix = KeyBuilder(kQuotaTag).key();
  absl::Status error;
  RETURN_IF_ERROR(txn.Scan(
      kView, prefix, PrefixSuccessor(prefix),
      [&](std::string_view key, std::string_view value) {
        KeyReader reader(key);
        uint8_t tag = 0;
        std::string node;
        int64_t quarter = 0;
        QuotaRecord r;
        if (!reader.Tag(&tag) || !reader.Str(&node) || !reader.I64(&quarter) ||
            !Parse(value, &r)) {
          error = absl::DataLossError("forecast view: corrupt quota record");
          return false;
        }
        error = visit(node, static_cast<QuarterKey>(quarter), r);
        return error.ok();
      }));
  return error;
}

absl::StatusOr<std::string> ForecastStore::ReportingCurrency() const {
  ASSIGN_OR_RETURN(std::optional<std::string> raw,
                   store_->Get(kView, KeyBuilder(kReportingTag).key()));
  return raw.value_or("");
}

void ForecastStore::PutReportingCurrency(WriteTxn& txn,
                                         const std::string& code) {
  txn.Put(kView, KeyBuilder(kReportingTag).key(), code);
}

}  // namespace salesops::forecast
