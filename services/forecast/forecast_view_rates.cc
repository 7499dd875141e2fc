// ForecastView: currencies and dated rates (issue 19, forecast_view.h,
// docs/DECISIONS.md D41).
//
// Every record of a deal, an out-of-funnel sale or a quota in a currency other
// than the reporting one keeps the rate it was converted with (AppliedRate),
// looked up in the staging rate table on the commit thread when its effect was
// staged. A followed rate change stores the rate and re-values, in the same
// transaction, exactly the records of that currency whose rate day lies in the
// range the changed entry governs (from its start to the day before the next
// start): each one's effect is taken out at its stored rate and put back at
// the new one, so the aggregates never mix two rates for one record.

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log/log.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/time/fiscal_calendar.h"
#include "services/forecast/forecast_view.h"

namespace salesops::forecast {
namespace {

bool SameRate(const AppliedRate& a, const AppliedRate& b) {
  return a.missing() == b.missing() && a.mantissa() == b.mantissa() &&
         a.scale() == b.scale() && a.year() == b.year() &&
         a.month() == b.month() && a.day() == b.day();
}

absl::CivilDay RateDay(const AppliedRate& r) {
  return absl::CivilDay(r.year(), r.month(), r.day());
}

}  // namespace

AppliedRate ForecastView::LookupRate(const std::string& currency,
                                     absl::CivilDay day) const {
  AppliedRate r;
  r.set_year(static_cast<int32_t>(day.year()));
  r.set_month(day.month());
  r.set_day(day.day());
  std::optional<money::Decimal> rate;
  {
    std::lock_guard<std::mutex> lock(rates_mu_);
    rate = rates_.RateOn(currency, day);
  }
  if (!rate) {
    r.set_missing(true);
  } else {
    r.set_mantissa(rate->mantissa);
    r.set_scale(rate->scale);
  }
  return r;
}

std::optional<money::Decimal> ForecastView::RateOn(const std::string& currency,
                                                   absl::CivilDay day) const {
  std::lock_guard<std::mutex> lock(rates_mu_);
  return rates_.RateOn(currency, day);
}

void ForecastView::PriceQuota(QuarterKey quarter, QuotaRecord* r) const {
  r->set_currency(CurrencyOf(r->currency()));
  r->clear_rate();
  if (!r->currency().empty()) {
    const FiscalQuarter q{quarter / 4, quarter % 4 + 1};
    *r->mutable_rate() =
        LookupRate(r->currency(), calendar_.QuarterFirstDay(q));
  }
}

ForecastView::Op ForecastView::QuotaOp(const std::string& node,
                                       QuarterKey quarter,
                                       const QuotaRecord& r) const {
  std::optional<money::Decimal> rate = RateOf(r.currency(), r.rate());
  absl::StatusOr<int64_t> converted = r.amount_minor();
  if (!r.currency().empty() && rate) {
    converted =
        money::Convert(r.amount_minor(), money::CurrencyExponent(r.currency()),
                       money::CurrencyExponent(reporting_), {*rate}, {});
  }
  return [node, quarter, currency = r.currency(), amount = r.amount_minor(),
          has_rate = rate.has_value(), converted](Rollup& rollup) {
    if (!has_rate) {
      rollup.SetQuotaMissingRate(node, quarter, currency, amount);
      return absl::OkStatus();
    }
    if (!converted.ok()) return converted.status();
    rollup.SetQuota(node, quarter, *converted);
    return absl::OkStatus();
  };
}

absl::StatusOr<std::optional<money::Decimal>> ForecastView::StageSale(
    WriteTxn& txn, const std::string& sale_id, const std::string& rep_node_id,
    absl::CivilDay date, const v1::Money& amount) {
  MarkStale(txn);  // a sale is not caught up from pre-images (D55)
  const std::string currency = CurrencyOf(amount.currency());
  if (currency.empty()) {
    return std::optional<money::Decimal>(money::kOne);
  }
  SaleRateRecord r;
  r.set_rep_node_id(rep_node_id);
  r.set_amount_minor(amount.units_minor());
  *r.mutable_rate() = LookupRate(currency, date);
  ForecastStore::PutSale(txn, currency, date, sale_id, r);
  return RateOf(currency, r.rate());
}

absl::Status ForecastView::PutRate(WriteTxn& txn, const v1::ExchangeRate& in,
                                   bool replace, std::vector<Op>* ops) {
  ASSIGN_OR_RETURN(absl::CivilDay start, FromProto(in.start_date(), "start"));
  if (in.currency().empty() || in.currency() == reporting_) {
    return absl::OkStatus();  // nothing converts with it
  }
  ASSIGN_OR_RETURN(std::optional<RateRecord> stored,
                   ForecastStore::FindRate(txn, in.currency(), start));
  if (stored && !replace && stored->version() >= in.version()) {
    return absl::OkStatus();
  }
  std::optional<money::Decimal> value;
  if (!in.withdrawn()) {
    absl::StatusOr<money::Decimal> parsed = money::ParseRate(in.rate(), "rate");
    if (!parsed.ok()) {
      // A rate accounts accepted but this build cannot read: keep the feed
      // going and say so (the entry counts as missing).
      log::Error(
          "forecast: unreadable exchange rate",
          {{"currency", in.currency()}, {"error", parsed.status().ToString()}});
    } else {
      value = *parsed;
    }
  }
  RateRecord r;
  r.set_rate(value ? money::FormatRate(*value) : "");
  r.set_version(in.version());
  if (stored && SameBytes(*stored, r)) {
    return absl::OkStatus();
  }
  ForecastStore::PutRate(txn, in.currency(), start, r);
  return SetRate(txn, in.currency(), start, value, ops);
}

absl::Status ForecastView::SetRate(WriteTxn& txn, const std::string& currency,
                                   absl::CivilDay start,
                                   std::optional<money::Decimal> value,
                                   std::vector<Op>* ops) {
  std::pair<absl::CivilDay, absl::CivilDay> range;
  {
    std::lock_guard<std::mutex> lock(rates_mu_);
    rates_.Set(currency, start, value);
    range = rates_.RangeOf(currency, start);
  }
  {
    std::lock_guard<std::mutex> lock(staged_mu_);
    rates_staged_ = true;
  }
  return Revalue(txn, currency, range.first, range.second, ops);
}

absl::Status ForecastView::Revalue(WriteTxn& txn, const std::string& currency,
                                   absl::CivilDay first, absl::CivilDay last,
                                   std::vector<Op>* ops) {
  std::vector<ForecastStore::DatedOpp> opps;
  RETURN_IF_ERROR(
      ForecastStore::OppsInRateRange(txn, currency, first, last, &opps));
  for (const ForecastStore::DatedOpp& d : opps) {
    OppRecord next = d.record;
    *next.mutable_rate() = LookupRate(currency, RateDay(d.record.rate()));
    if (SameRate(next.rate(), d.record.rate())) continue;
    ForecastStore::PutOpp(txn, d.id, next, &d.record);
    ops->push_back(
        [before = FactsOf(d.record), after = FactsOf(next)](Rollup& rollup) {
          RETURN_IF_ERROR(rollup.EnsureNode(before.owner_node_id));
          return rollup.ApplyOpportunity(before, after);
        });
  }
  std::vector<ForecastStore::DatedSale> sales;
  RETURN_IF_ERROR(
      ForecastStore::SalesInRateRange(txn, currency, first, last, &sales));
  for (const ForecastStore::DatedSale& s : sales) {
    SaleRateRecord next = s.record;
    *next.mutable_rate() = LookupRate(currency, s.day);
    if (SameRate(next.rate(), s.record.rate())) continue;
    ForecastStore::PutSale(txn, currency, s.day, s.id, next);
    ops->push_back([node = s.record.rep_node_id(), q = QuarterOf(s.day),
                    amount = s.record.amount_minor(), currency,
                    before = RateOf(currency, s.record.rate()),
                    after = RateOf(currency, next.rate())](Rollup& rollup) {
      RETURN_IF_ERROR(rollup.EnsureNode(node));
      RETURN_IF_ERROR(
          rollup.AddOutOfFunnelSale(node, q, -amount, currency, before));
      return rollup.AddOutOfFunnelSale(node, q, amount, currency, after);
    });
  }
  return ForecastStore::QuotasInTxn(
      txn,
      [&](const std::string& node, QuarterKey quarter,
          const QuotaRecord& r) -> absl::Status {
        if (r.currency() != currency) return absl::OkStatus();
        QuotaRecord next = r;
        PriceQuota(quarter, &next);
        const absl::CivilDay day = RateDay(next.rate());
        if (day < first || day > last || SameRate(next.rate(), r.rate())) {
          return absl::OkStatus();
        }
        ForecastStore::PutQuota(txn, node, quarter, next);
        ops->push_back(QuotaOp(node, quarter, next));
        return absl::OkStatus();
      });
}

absl::Status ForecastView::LoadRates() {
  money::RateTable table(reporting_);
  RETURN_IF_ERROR(records_.ScanRates([&](const std::string& currency,
                                         absl::CivilDay start,
                                         const RateRecord& r) -> absl::Status {
    if (!r.rate().empty()) {
      ASSIGN_OR_RETURN(money::Decimal d, money::ParseRate(r.rate(), "rate"));
      table.Set(currency, start, d);
    }
    return absl::OkStatus();
  }));
  std::lock_guard<std::mutex> lock(rates_mu_);
  rates_ = std::move(table);
  return absl::OkStatus();
}

absl::Status ForecastView::LoadSales(Rollup& rollup) const {
  return records_.ScanSales(
      [&](const std::string& currency,
          const ForecastStore::DatedSale& s) -> absl::Status {
        RETURN_IF_ERROR(rollup.EnsureNode(s.record.rep_node_id()));
        return rollup.AddOutOfFunnelSale(
            s.record.rep_node_id(), QuarterOf(s.day), s.record.amount_minor(),
            currency, RateOf(currency, s.record.rate()));
      });
}

absl::Status ForecastView::ReplaceRates(
    const std::vector<v1::ExchangeRate>& all) {
  absl::Status replaced = ReplaceTxn(
      kAccountsSource, /*org_or_quota=*/true,
      [&](WriteTxn& txn, std::vector<Op>* ops) -> absl::Status {
        std::set<std::pair<std::string, absl::CivilDay>> listed;
        for (const v1::ExchangeRate& r : all) {
          ASSIGN_OR_RETURN(absl::CivilDay start,
                           FromProto(r.start_date(), "start"));
          listed.emplace(r.currency(), start);
          RETURN_IF_ERROR(PutRate(txn, r, /*replace=*/true, ops));
        }
        // Stored rates the listing lacks are gone at the source.
        std::vector<std::pair<std::string, absl::CivilDay>> gone;
        RETURN_IF_ERROR(ForecastStore::RatesInTxn(
            txn,
            [&](const std::string& currency, absl::CivilDay start,
                const RateRecord&) -> absl::Status {
              if (listed.count({currency, start}) == 0) {
                gone.emplace_back(currency, start);
              }
              return absl::OkStatus();
            }));
        for (const auto& [currency, start] : gone) {
          ForecastStore::DeleteRate(txn, currency, start);
          RETURN_IF_ERROR(SetRate(txn, currency, start, std::nullopt, ops));
        }
        return absl::OkStatus();
      });
  if (!replaced.ok()) {
    // The staged table changes did not commit.
    RETURN_IF_ERROR(LoadRates());
  }
  return replaced;
}

void ForecastView::ReportMissing() {
  if (missing_listener_) {
    missing_listener_(rollup_.MissingRateCount() +
                      rollup_.missing_quota_count());
  }
}

}  // namespace salesops::forecast
