// The currency parts of a forecast answer (answers.h, issue 19): display
// conversion, the per-currency breakdown and the missing rates.

#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "common/status/macros.h"
#include "services/forecast/answers.h"

namespace salesops::forecast {

absl::Status ConvertForDisplay(NodeAnswer* a, const money::Decimal& rate,
                               int from_exp, int to_exp) {
  const auto convert = [&](int64_t* v) -> absl::Status {
    ASSIGN_OR_RETURN(*v, money::Convert(*v, from_exp, to_exp, {}, {rate}));
    return absl::OkStatus();
  };
  NodeFigures& f = a->figures;
  for (int64_t* v :
       {&f.closed_minor, &f.out_of_funnel_minor, &f.collected_minor,
        &f.pipeline_weighted_minor, &a->quota_minor}) {
    RETURN_IF_ERROR(convert(v));
  }
  ASSIGN_OR_RETURN(f.forecast_minor,
                   money::Add(f.closed_minor, f.pipeline_weighted_minor));
  for (auto& [stage, row] : f.funnel) {
    RETURN_IF_ERROR(convert(&row.amount_minor));
    RETURN_IF_ERROR(convert(&row.weighted_minor));
  }
  for (CurrencyFigures& c : f.currencies) {
    RETURN_IF_ERROR(convert(&c.pipeline_weighted_converted_minor));
    RETURN_IF_ERROR(convert(&c.closed_converted_minor));
  }
  return absl::OkStatus();
}

void FillCurrencies(const NodeAnswer& node, const std::string& currency,
                    v1::Forecast* out) {
  for (const CurrencyFigures& c : node.figures.currencies) {
    v1::CurrencyFigures* row = out->add_currencies();
    row->set_currency(c.currency);
    row->set_open_count(c.open_count);
    *row->mutable_pipeline_amount() =
        money::Make(c.pipeline_amount_minor, c.currency);
    *row->mutable_pipeline_weighted() =
        money::Make(c.pipeline_weighted_minor, c.currency);
    *row->mutable_pipeline_weighted_converted() =
        money::Make(c.pipeline_weighted_converted_minor, currency);
    row->set_won_count(c.won_count);
    *row->mutable_closed() = money::Make(c.closed_minor, c.currency);
    *row->mutable_closed_converted() =
        money::Make(c.closed_converted_minor, currency);
    for (const auto& [figure, count, amount] :
         {std::tuple{"pipeline_weighted", c.missing_open_count,
                     c.missing_open_amount_minor},
          std::tuple{"closed", c.missing_closed_count,
                     c.missing_closed_amount_minor}}) {
      if (count == 0) continue;
      v1::MissingRate* m = out->add_missing_rates();
      m->set_currency(c.currency);
      m->set_figure(figure);
      m->set_count(count);
      *m->mutable_amount() = money::Make(amount, c.currency);
    }
  }
  // Quotas by currency (a quota amount cannot overflow: each is bounded and
  // few are summed here; a wide sum keeps it exact anyway).
  std::map<std::string, std::pair<int64_t, __int128>> quotas;
  for (const MissingQuota& q : node.missing_quotas) {
    auto& [count, sum] = quotas[q.currency];
    ++count;
    sum += q.amount_minor;
  }
  for (const auto& [code, entry] : quotas) {
    v1::MissingRate* m = out->add_missing_rates();
    m->set_currency(code);
    m->set_figure("quota");
    m->set_count(entry.first);
    const __int128 sum = entry.second;
    *m->mutable_amount() = money::Make(
        sum > INT64_MAX ? INT64_MAX : static_cast<int64_t>(sum), code);
  }
}

}  // namespace salesops::forecast
