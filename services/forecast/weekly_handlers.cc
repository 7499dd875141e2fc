// ForecastService: week closes and snapshots, progress, and the bottom-up
// submissions (SPEC.md §4.2, §4.3).

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log/log.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/status/violations.h"
#include "common/time/clock.h"
#include "salesops/v1/accounts.pb.h"
#include "services/forecast/answers.h"
#include "services/forecast/forecast_service.h"
#include "services/forecast/weekly.h"

namespace salesops::forecast {
namespace {

// Stores `s`, replacing the snapshot of the same id (a close after a crash
// midway).
absl::Status PutSnapshot(const Table<v1::WeekSnapshot>& snapshots,
                         WriteTxn& txn, v1::WeekSnapshot s) {
  ASSIGN_OR_RETURN(std::optional<v1::WeekSnapshot> old,
                   snapshots.Find(txn, s.id()));
  if (old) {
    return snapshots.Update(txn, s.id(), 0, &s);
  }
  return snapshots.Insert(txn, s.id(), &s);
}

// Every node's figures of `quarter` and, when `week` is its last, of the next
// quarter (its week 0), each under one lock so the snapshot is consistent. A
// node whose figures exceed int64 gets no snapshot (logged); the others do.
absl::Status ReadWeekFigures(const ForecastView& view, FiscalQuarter quarter,
                             int week, std::vector<NodeAnswer>* nodes,
                             std::vector<NodeAnswer>* next_nodes) {
  std::vector<absl::Status> unreadable;
  RETURN_IF_ERROR(
      view.ReadAll(MakeQuarterKey(quarter.fiscal_year, quarter.quarter), nodes,
                   &unreadable));
  if (week == view.calendar().weeks_per_quarter()) {
    const FiscalQuarter next = quarter.Next();
    RETURN_IF_ERROR(view.ReadAll(MakeQuarterKey(next.fiscal_year, next.quarter),
                                 next_nodes, &unreadable));
  }
  for (const absl::Status& s : unreadable) {
    log::Warn("forecast: week close skips a node whose figures exceed int64",
              {{"week", static_cast<int64_t>(week)}, {"error", s.ToString()}});
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ForecastServiceImpl::CloseEndedWeek(absl::Time now) {
  const FiscalCalendar& calendar = view_->calendar();
  const absl::CivilDay today = calendar.DayOf(now);
  FiscalQuarter quarter = calendar.QuarterOf(today);
  int week = calendar.WeekOfQuarter(today) - 1;
  if (week < 1) {
    quarter = quarter.Prev();
    week = calendar.weeks_per_quarter();
  }
  ASSIGN_OR_RETURN(std::optional<v1::WeekClose> done,
                   closes_.Find(WeekId(quarter, week)));
  if (done) {
    return absl::OkStatus();
  }
  v1::CloseWeekResponse resp;
  return Close(quarter, week, /*automatic=*/true, SystemActor("week-closer"),
               &resp);
}

absl::Status ForecastServiceImpl::Close(FiscalQuarter quarter, int week,
                                        bool automatic, Actor actor,
                                        v1::CloseWeekResponse* resp) {
  const FiscalCalendar& calendar = view_->calendar();
  ASSIGN_OR_RETURN(const WeekRange range, calendar.Week(quarter, week));
  const absl::Time now = clock_->Now();
  if (!range.empty() && calendar.StartOf(range.first) > now) {
    return absl::FailedPreconditionError(
        absl::StrCat("week: week ", week, " of ", quarter.ToString(),
                     " has not started yet"));
  }
  std::lock_guard<std::mutex> one_at_a_time(close_mu_);
  const std::string close_id = WeekId(quarter, week);
  ASSIGN_OR_RETURN(std::optional<v1::WeekClose> done, closes_.Find(close_id));
  if (done) {
    *resp->mutable_close() = std::move(*done);
    resp->set_already_closed(true);
    return absl::OkStatus();
  }
  std::vector<NodeAnswer> nodes;
  std::vector<NodeAnswer> next_nodes;
  RETURN_IF_ERROR(ReadWeekFigures(*view_, quarter, week, &nodes, &next_nodes));
  const std::string& currency = options_.currency;
  return store_
      ->Write(std::move(actor),
              [&](WriteTxn& txn) -> absl::Status {
                for (const NodeAnswer& a : nodes) {
                  RETURN_IF_ERROR(PutSnapshot(
                      snapshots_, txn,
                      SnapshotOf(a.node_id, a.figures, a.quota_minor, quarter,
                                 week, txn.now(), currency)));
                }
                for (const NodeAnswer& a : next_nodes) {
                  RETURN_IF_ERROR(PutSnapshot(
                      snapshots_, txn,
                      SnapshotOf(a.node_id, a.figures, a.quota_minor,
                                 quarter.Next(), 0, txn.now(), currency)));
                }
                v1::WeekClose c;
                c.set_fiscal_year(quarter.fiscal_year);
                c.set_fiscal_quarter(quarter.quarter);
                c.set_week(week);
                c.set_closed_micros(Micros(txn.now()));
                c.set_nodes(static_cast<int64_t>(nodes.size()));
                c.set_automatic(automatic);
                RETURN_IF_ERROR(closes_.Insert(txn, close_id, &c));
                *resp->mutable_close() = std::move(c);
                resp->set_already_closed(false);
                return absl::OkStatus();
              })
      .status();
}

grpc::Status ForecastServiceImpl::CloseWeek(Ctx* ctx,
                                            const v1::CloseWeekRequest* req,
                                            v1::CloseWeekResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoCloseWeek(who, *req, resp);
  });
}

absl::Status ForecastServiceImpl::DoCloseWeek(const Principal& who,
                                              const v1::CloseWeekRequest& req,
                                              v1::CloseWeekResponse* resp) {
  Violations v;
  ASSIGN_OR_RETURN(const FiscalQuarter quarter,
                   QuarterAndWeek(view_->calendar(), req.fiscal_year(),
                                  req.fiscal_quarter(), req.week(), v));
  return Close(quarter, req.week(), /*automatic=*/false,
               ActorFor(who, "CloseWeek"), resp);
}

grpc::Status ForecastServiceImpl::GetProgress(Ctx* ctx,
                                              const v1::GetProgressRequest* req,
                                              v1::GetProgressResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoGetProgress(who, *req, resp);
  });
}

absl::Status ForecastServiceImpl::DoGetProgress(
    const Principal& who, const v1::GetProgressRequest& req,
    v1::GetProgressResponse* resp) {
  ASSIGN_OR_RETURN(const FiscalQuarter quarter,
                   ValidateNodeQuarter(req.node_id(), req.fiscal_year(),
                                       req.fiscal_quarter()));
  if (!view_->KindOf(req.node_id())) {
    return absl::NotFoundError(absl::StrCat("node_id: org node ", req.node_id(),
                                            " is not known to the forecast"));
  }
  RETURN_IF_ERROR(scope_.RequireReader(who, req.node_id(), "the forecast"));
  const int weeks = view_->calendar().weeks_per_quarter();
  std::vector<std::optional<WeekFigures>> figures(weeks + 1);
  int64_t quota = 0;
  for (int w = 0; w <= weeks; ++w) {
    ASSIGN_OR_RETURN(std::optional<v1::WeekSnapshot> s,
                     snapshots_.Find(NodeWeekId(req.node_id(), quarter, w)));
    if (s) {
      figures[w] = WeekFigures{s->pipeline_weighted().units_minor(),
                               s->cumulative_closed().units_minor()};
      quota = s->quota().units_minor();  // the latest closed week's quota
    }
  }
  NodeAnswer now;
  std::vector<NodeAnswer> unused;
  RETURN_IF_ERROR(view_->Read(
      req.node_id(), MakeQuarterKey(quarter.fiscal_year, quarter.quarter),
      false, &now, &unused));
  if (now.quota_minor > 0) {
    quota = now.quota_minor;  // progress is measured against today's quota
  }
  resp->set_node_id(req.node_id());
  *resp->mutable_quota() = money::Make(quota, options_.currency);
  return ComputeProgress(figures, quota, weeks, options_.currency, resp);
}

absl::StatusOr<absl::Time> ForecastServiceImpl::DueOf(
    const std::string& node_id, FiscalQuarter quarter, int week) const {
  const int kind = view_->KindOf(node_id).value_or(v1::ORG_NODE_KIND_REP);
  bool team_child = false;
  for (const std::string& child : view_->ChildrenOf(node_id)) {
    team_child |= view_->KindOf(child) == v1::ORG_NODE_KIND_TEAM;
  }
  return SubmissionDue(view_->calendar(), quarter, week,
                       DueWeekday(kind, team_child));
}

grpc::Status ForecastServiceImpl::SubmitForecast(
    Ctx* ctx, const v1::SubmitForecastRequest* req,
    v1::ForecastSubmission* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoSubmitForecast(who, *req, resp);
  });
}

absl::Status ForecastServiceImpl::DoSubmitForecast(
    const Principal& who, const v1::SubmitForecastRequest& req,
    v1::ForecastSubmission* resp) {
  const v1::ForecastSubmission& in = req.submission();
  ASSIGN_OR_RETURN(
      const FiscalQuarter quarter,
      ValidateSubmission(in, view_->calendar(), options_.currency));
  if (!view_->KindOf(in.node_id())) {
    return absl::FailedPreconditionError(
        absl::StrCat("submission.node_id: org node ", in.node_id(),
                     " is not known to the forecast"));
  }
  if (who.role != Role::kAdmin && who.org_node_id != in.node_id()) {
    return WithReason(absl::PermissionDeniedError(absl::StrCat(
                          std::string(RoleName(who.role)), " ", who.name,
                          " may only submit the forecast of their own node ",
                          who.org_node_id)),
                      "OUT_OF_SCOPE");
  }
  NodeAnswer now;
  std::vector<NodeAnswer> unused;
  RETURN_IF_ERROR(view_->Read(
      in.node_id(), MakeQuarterKey(quarter.fiscal_year, quarter.quarter), false,
      &now, &unused));
  RETURN_IF_ERROR(
      CheckSubmittedAmount(in, now.figures.forecast_minor, options_.currency));
  ASSIGN_OR_RETURN(const absl::Time due,
                   DueOf(in.node_id(), quarter, in.week()));
  const std::string id = NodeWeekId(in.node_id(), quarter, in.week());
  return store_
      ->Write(ActorFor(who, "SubmitForecast"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(std::optional<v1::ForecastSubmission> old,
                                 submissions_.Find(txn, id));
                v1::ForecastSubmission s =
                    SubmissionOf(in, quarter, now.figures.forecast_minor,
                                 who.name, txn.now(), due, options_.currency);
                if (old) {
                  RETURN_IF_ERROR(
                      submissions_.Update(txn, id, req.expected_version(), &s));
                } else {
                  if (req.expected_version() != 0) {
                    return absl::AbortedError(absl::StrCat(
                        "expected_version: no submission of ", in.node_id(),
                        " for that week yet (send 0)"));
                  }
                  RETURN_IF_ERROR(submissions_.Insert(txn, id, &s));
                }
                *resp = std::move(s);
                return absl::OkStatus();
              })
      .status();
}

grpc::Status ForecastServiceImpl::ListSubmissions(
    Ctx* ctx, const v1::ListSubmissionsRequest* req,
    v1::ListSubmissionsResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoListSubmissions(who, *req, resp);
  });
}

absl::Status ForecastServiceImpl::DoListSubmissions(
    const Principal& who, const v1::ListSubmissionsRequest& req,
    v1::ListSubmissionsResponse* resp) {
  Violations v;
  if (req.node_id().empty()) {
    v.Add("node_id: required");
  }
  absl::StatusOr<FiscalQuarter> quarter =
      QuarterAndWeek(view_->calendar(), req.fiscal_year(), req.fiscal_quarter(),
                     req.week(), v);
  RETURN_IF_ERROR(quarter.status());
  if (!view_->KindOf(req.node_id())) {
    return absl::NotFoundError(absl::StrCat("node_id: org node ", req.node_id(),
                                            " is not known to the forecast"));
  }
  RETURN_IF_ERROR(scope_.RequireReader(who, req.node_id(), "the forecast"));
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(
      std::optional<v1::ForecastSubmission> own,
      submissions_.Find(NodeWeekId(req.node_id(), *quarter, req.week())));
  ASSIGN_OR_RETURN(const absl::Time own_due,
                   DueOf(req.node_id(), *quarter, req.week()));
  if (own) {
    *resp->mutable_own() = *own;
  }
  if (own ? own->late() : now > own_due) {
    resp->add_late_node_ids(req.node_id());
  }
  NodeAnswer node;
  std::vector<NodeAnswer> children;
  RETURN_IF_ERROR(view_->Read(
      req.node_id(), MakeQuarterKey(quarter->fiscal_year, quarter->quarter),
      true, &node, &children));
  for (const NodeAnswer& child : children) {
    v1::ChildSubmission* c = resp->add_children();
    c->set_node_id(child.node_id);
    *c->mutable_computed() =
        money::Make(child.figures.forecast_minor, options_.currency);
    ASSIGN_OR_RETURN(
        std::optional<v1::ForecastSubmission> s,
        submissions_.Find(NodeWeekId(child.node_id, *quarter, req.week())));
    ASSIGN_OR_RETURN(const absl::Time due,
                     DueOf(child.node_id, *quarter, req.week()));
    c->set_late(s ? s->late() : now > due);
    if (s) {
      *c->mutable_submission() = std::move(*s);
    }
    if (c->late()) {
      resp->add_late_node_ids(child.node_id);
    }
  }
  return absl::OkStatus();
}

}  // namespace salesops::forecast
