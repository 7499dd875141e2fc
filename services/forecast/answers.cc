#include "services/forecast/answers.h"

#include "absl/strings/str_cat.h"
#include "common/money/money.h"
#include "common/status/macros.h"
#include "common/status/violations.h"

namespace salesops::forecast {
namespace {

// Sums in minor units that the Rollup computed without overflow can still
// overflow here (gap); such an answer is OUT_OF_RANGE, never wrapped.
absl::Status FillNode(const NodeAnswer& a, const std::string& currency,
                      v1::NodeForecast* out) {
  out->set_node_id(a.node_id);
  *out->mutable_closed() = money::Make(a.figures.closed_minor, currency);
  *out->mutable_out_of_funnel() =
      money::Make(a.figures.out_of_funnel_minor, currency);
  *out->mutable_collected() = money::Make(a.figures.collected_minor, currency);
  *out->mutable_pipeline_weighted() =
      money::Make(a.figures.pipeline_weighted_minor, currency);
  *out->mutable_forecast() = money::Make(a.figures.forecast_minor, currency);
  *out->mutable_quota() = money::Make(a.quota_minor, currency);
  absl::StatusOr<int64_t> gap =
      money::Sub(a.quota_minor, a.figures.forecast_minor);
  if (!gap.ok()) {
    return absl::OutOfRangeError(absl::StrCat("gap of org node \"", a.node_id,
                                              "\": ", gap.status().message()));
  }
  *out->mutable_gap() = money::Make(*gap, currency);
  if (a.quota_minor > 0) {
    absl::StatusOr<int64_t> coverage = money::MulDivRoundHalfEven(
        a.figures.forecast_minor, 10000, a.quota_minor);
    if (!coverage.ok()) {
      return absl::OutOfRangeError(
          absl::StrCat("coverage_bp of org node \"", a.node_id,
                       "\": ", coverage.status().message()));
    }
    out->set_coverage_bp(*coverage);
  }
  out->set_needs_more_pipeline(a.figures.forecast_minor < a.quota_minor);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<FiscalQuarter> ValidateNodeQuarter(const std::string& node_id,
                                                  int32_t fiscal_year,
                                                  int32_t fiscal_quarter) {
  Violations v;
  if (node_id.empty()) {
    v.Add("node_id: required");
  }
  absl::StatusOr<FiscalQuarter> quarter =
      MakeQuarter(fiscal_year, fiscal_quarter);
  v.Add(quarter.status());
  RETURN_IF_ERROR(v.status());
  return *quarter;
}

absl::Status FillForecast(const NodeAnswer& node,
                          const std::vector<NodeAnswer>& children,
                          FiscalQuarter quarter, const std::string& currency,
                          v1::Forecast* out) {
  out->set_fiscal_year(quarter.fiscal_year);
  out->set_fiscal_quarter(quarter.quarter);
  RETURN_IF_ERROR(FillNode(node, currency, out->mutable_node()));
  for (size_t i = 0; i < node.figures.funnel.size(); ++i) {
    const auto& [stage, figures] = node.figures.funnel[i];
    v1::FunnelRow* row = out->add_funnel();
    row->set_stage_model_id(stage.model_id);
    row->set_stage_key(stage.stage_key);
    row->set_win_rate_bp(node.funnel_win_rates_bp[i]);
    row->set_count(figures.count);
    *row->mutable_total() = money::Make(figures.amount_minor, currency);
    *row->mutable_weighted() = money::Make(figures.weighted_minor, currency);
  }
  for (const NodeAnswer& child : children) {
    RETURN_IF_ERROR(FillNode(child, currency, out->add_children()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<absl::CivilDay, absl::CivilDay>> ValidateFunnelPeriod(
    const v1::GetFunnelAnalyticsRequest& req) {
  Violations v;
  absl::StatusOr<absl::CivilDay> from = FromProto(req.from(), "from");
  absl::StatusOr<absl::CivilDay> to = FromProto(req.to(), "to");
  v.Add(from.status());
  v.Add(to.status());
  if (from.ok() && to.ok() && *from > *to) {
    v.Add("to: must not be before from");
  }
  RETURN_IF_ERROR(v.status());
  return std::make_pair(*from, *to);
}

absl::StatusOr<FiscalQuarter> ValidateWaterfallWeeks(
    const v1::GetPipelineChangesRequest& req, int weeks) {
  Violations v;
  absl::StatusOr<FiscalQuarter> quarter =
      MakeQuarter(req.fiscal_year(), req.fiscal_quarter());
  v.Add(quarter.status());
  if (req.from_week() < 0 || req.from_week() > weeks) {
    v.Add(absl::StrCat("from_week: must be 0..", weeks, ", got ",
                       req.from_week()));
  }
  if (req.to_week() < 1 || req.to_week() > weeks) {
    v.Add(absl::StrCat("to_week: must be 1..", weeks, ", got ", req.to_week()));
  }
  if (req.from_week() >= req.to_week()) {
    v.Add("to_week: must be after from_week");
  }
  RETURN_IF_ERROR(v.status());
  return *quarter;
}

absl::StatusOr<v1::WeekAccuracy> AccuracyOf(int week, const v1::Money& forecast,
                                            int64_t final_closed_minor) {
  v1::WeekAccuracy a;
  a.set_week(week);
  *a.mutable_forecast() = forecast;
  if (final_closed_minor > 0) {
    ASSIGN_OR_RETURN(const int64_t diff,
                     money::Sub(forecast.units_minor(), final_closed_minor));
    ASSIGN_OR_RETURN(
        const int64_t error_bp,
        money::MulDivRoundHalfEven(diff, 10000, final_closed_minor));
    a.set_error_bp(error_bp);
  }
  return a;
}

}  // namespace salesops::forecast
