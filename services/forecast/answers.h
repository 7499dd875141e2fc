#pragma once

// What the forecast's queries check and answer, as pure functions (no grpc,
// no store): the requests' field rules and the answers built from what the
// ForecastView read. The handlers (forecast_handlers.cc,
// analytics_handlers.cc) do the I/O around them.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "common/time/fiscal_calendar.h"
#include "salesops/v1/forecast.pb.h"
#include "services/forecast/rollup.h"

namespace salesops::forecast {

// What a reader gets for one node and quarter.
struct NodeAnswer {
  std::string node_id;
  NodeFigures figures;
  int64_t quota_minor = 0;
  // The rate each funnel row is weighted with (same order as
  // figures.funnel), read with the figures; filled for Read's `node` only.
  std::vector<int32_t> funnel_win_rates_bp;
  // Explicit quotas within the effective quota whose rate is missing.
  std::vector<MissingQuota> missing_quotas;
};

// A node and a fiscal quarter (GetForecast, GetProgress): INVALID_ARGUMENT
// naming every violated field, else the quarter.
[[nodiscard]] absl::StatusOr<FiscalQuarter> ValidateNodeQuarter(
    const std::string& node_id, int32_t fiscal_year, int32_t fiscal_quarter);

// The figures of `node` (its funnel rows with their rates) and of its
// `children` for `quarter`, in `currency`. OUT_OF_RANGE when a gap or a
// coverage does not fit int64 (never wrapped).
[[nodiscard]] absl::Status FillForecast(const NodeAnswer& node,
                                        const std::vector<NodeAnswer>& children,
                                        FiscalQuarter quarter,
                                        const std::string& currency,
                                        v1::Forecast* out);

// ---- Currencies (issue 19; answers_currency.cc) ----
// Converts every figure of `a` from the reporting currency (exponent
// `from_exp`) into a display currency (`to_exp`) whose rate to the reporting
// currency is `rate`: each component (closed, out-of-funnel, collected,
// pipeline weighted, quota, each funnel row's total and weighted, each
// currency's converted figures) is divided by the rate and rounded half to
// even once; the forecast is then closed + pipeline weighted in the display
// currency, so the shown figures add up. OUT_OF_RANGE on overflow.
[[nodiscard]] absl::Status ConvertForDisplay(NodeAnswer* a,
                                             const money::Decimal& rate,
                                             int from_exp, int to_exp);

// The answer's per-currency breakdown and missing rates of `node` (its
// original-currency figures in their own currency, converted ones in
// `currency`).
void FillCurrencies(const NodeAnswer& node, const std::string& currency,
                    v1::Forecast* out);

// GetFunnelAnalytics' period: [from, to], both valid days, from ≤ to.
[[nodiscard]] absl::StatusOr<std::pair<absl::CivilDay, absl::CivilDay>>
ValidateFunnelPeriod(const v1::GetFunnelAnalyticsRequest& req);

// GetPipelineChanges' quarter and weeks: from_week 0..weeks, to_week
// 1..weeks, from_week < to_week.
[[nodiscard]] absl::StatusOr<FiscalQuarter> ValidateWaterfallWeeks(
    const v1::GetPipelineChangesRequest& req, int weeks_per_quarter);

// One week's accuracy: the snapshot's forecast against the quarter's final
// closed figure (error_bp only when that is > 0). OUT_OF_RANGE on overflow.
[[nodiscard]] absl::StatusOr<v1::WeekAccuracy> AccuracyOf(
    int week, const v1::Money& forecast, int64_t final_closed_minor);

}  // namespace salesops::forecast
