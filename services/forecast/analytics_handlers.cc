// ForecastService: funnel analytics, the pipeline waterfall between two weeks
// and forecast accuracy (SPEC.md §4.5). These scan the stored records of the
// node's opportunities: analytics, not the query path.

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/status/violations.h"
#include "services/forecast/analytics.h"
#include "services/forecast/answers.h"
#include "services/forecast/forecast_service.h"
#include "services/forecast/weekly.h"

namespace salesops::forecast {
namespace {

constexpr char kDefaultModel[] = "buying-cycle-6";

}  // namespace

absl::Status ForecastServiceImpl::RequireKnownReadable(
    const Principal& who, const std::string& node_id,
    std::string_view field) const {
  if (node_id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(field), ": required"));
  }
  if (!view_->KindOf(node_id)) {
    return absl::NotFoundError(absl::StrCat(std::string(field), ": org node ",
                                            node_id,
                                            " is not known to the forecast"));
  }
  return scope_.RequireReader(who, node_id, "the forecast");
}

grpc::Status ForecastServiceImpl::GetFunnelAnalytics(
    Ctx* ctx, const v1::GetFunnelAnalyticsRequest* req,
    v1::FunnelAnalytics* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoGetFunnelAnalytics(who, *req, resp);
  });
}

absl::Status ForecastServiceImpl::DoGetFunnelAnalytics(
    const Principal& who, const v1::GetFunnelAnalyticsRequest& req,
    v1::FunnelAnalytics* resp) {
  ASSIGN_OR_RETURN(const auto period, ValidateFunnelPeriod(req));
  const auto& [from, to] = period;
  RETURN_IF_ERROR(RequireKnownReadable(who, req.node_id(), "node_id"));
  const std::string model_id =
      req.stage_model_id().empty() ? kDefaultModel : req.stage_model_id();
  std::optional<ModelStages> model = view_->ModelStagesOf(model_id);
  if (!model) {
    return absl::NotFoundError(absl::StrCat(
        "stage_model_id: stage model ", model_id,
        " is not known to the forecast (not in the pipeline feed yet?)"));
  }
  std::vector<Timeline> timelines;
  RETURN_IF_ERROR(
      view_->Timelines(req.node_id(), model_id, from, to, &timelines));
  ASSIGN_OR_RETURN(*resp,
                   ComputeFunnelAnalytics(timelines, *model, clock_->Now(),
                                          options_.currency));
  return absl::OkStatus();
}

grpc::Status ForecastServiceImpl::GetPipelineChanges(
    Ctx* ctx, const v1::GetPipelineChangesRequest* req,
    v1::PipelineChanges* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoGetPipelineChanges(who, *req, resp);
  });
}

absl::Status ForecastServiceImpl::DoGetPipelineChanges(
    const Principal& who, const v1::GetPipelineChangesRequest& req,
    v1::PipelineChanges* resp) {
  const FiscalCalendar& calendar = view_->calendar();
  ASSIGN_OR_RETURN(const FiscalQuarter quarter,
                   ValidateWaterfallWeeks(req, calendar.weeks_per_quarter()));
  RETURN_IF_ERROR(RequireKnownReadable(who, req.node_id(), "node_id"));
  const absl::CivilDay first = calendar.QuarterFirstDay(quarter);
  const absl::CivilDay last = calendar.QuarterLastDay(quarter);
  // Week 0 ends where the quarter starts.
  absl::Time from = calendar.StartOf(first);
  if (req.from_week() > 0) {
    ASSIGN_OR_RETURN(from, calendar.WeekEnd(quarter, req.from_week()));
  }
  ASSIGN_OR_RETURN(const absl::Time to,
                   calendar.WeekEnd(quarter, req.to_week()));
  if (to > clock_->Now()) {
    return absl::FailedPreconditionError(
        absl::StrCat("to_week: week ", req.to_week(), " of ",
                     quarter.ToString(), " has not ended yet"));
  }
  // Every opportunity of the subtree, whenever created.
  std::vector<Timeline> timelines;
  RETURN_IF_ERROR(view_->Timelines(req.node_id(), "",
                                   absl::CivilDay(1970, 1, 1),
                                   calendar.DayOf(to), &timelines));
  ASSIGN_OR_RETURN(*resp, ComputePipelineChanges(timelines, first, last, from,
                                                 to, options_.currency));
  return absl::OkStatus();
}

grpc::Status ForecastServiceImpl::GetForecastAccuracy(
    Ctx* ctx, const v1::GetForecastAccuracyRequest* req,
    v1::ForecastAccuracy* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoGetForecastAccuracy(who, *req, resp);
  });
}

absl::Status ForecastServiceImpl::DoGetForecastAccuracy(
    const Principal& who, const v1::GetForecastAccuracyRequest& req,
    v1::ForecastAccuracy* resp) {
  ASSIGN_OR_RETURN(const FiscalQuarter quarter,
                   MakeQuarter(req.fiscal_year(), req.fiscal_quarter()));
  RETURN_IF_ERROR(RequireKnownReadable(who, req.node_id(), "node_id"));
  const FiscalCalendar& calendar = view_->calendar();
  NodeAnswer now;
  std::vector<NodeAnswer> unused;
  RETURN_IF_ERROR(view_->Read(
      req.node_id(), MakeQuarterKey(quarter.fiscal_year, quarter.quarter),
      false, &now, &unused));
  const int64_t final_closed = now.figures.closed_minor;
  *resp->mutable_final_closed() = money::Make(final_closed, options_.currency);
  resp->set_quarter_over(
      clock_->Now() >= calendar.StartOf(calendar.QuarterLastDay(quarter) + 1));
  for (int w = 1; w <= calendar.weeks_per_quarter(); ++w) {
    ASSIGN_OR_RETURN(std::optional<v1::WeekSnapshot> s,
                     snapshots_.Find(NodeWeekId(req.node_id(), quarter, w)));
    if (!s) {
      continue;
    }
    ASSIGN_OR_RETURN(*resp->add_weeks(),
                     AccuracyOf(w, s->forecast(), final_closed));
  }
  return absl::OkStatus();
}

}  // namespace salesops::forecast
