// salesopsctl forecast ...: the forecast tree of a node, one node's forecast
// with its funnel, weekly progress, bottom-up submissions, week closes,
// out-of-funnel sales and funnel analytics (SPEC.md §4).

#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/money/money.h"
#include "common/time/fiscal_calendar.h"
#include "tools/salesopsctl/cli.h"
#include "tools/salesopsctl/flags.h"
#include "tools/salesopsctl/output.h"

namespace salesops::ctl {
namespace {

// Bounds of the tree walk: levels below the node and nodes printed.
constexpr int kDefaultDepth = 10;
constexpr int kMaxDepth = 50;
constexpr int kMaxTreeNodes = 100000;
// Pages of org nodes read from one listing (× kPageSize rows a page).
constexpr int kMaxListPages = 1000;

std::string YesNo(bool b) { return b ? "true" : "false"; }

// --year and --quarter; either absent: the current calendar quarter (today in
// the local time zone).
absl::Status QuarterFlags(const Args& args, int* year, int* quarter) {
  const absl::CivilDay today = Today();
  absl::StatusOr<int64_t> y = args.Int("year", today.year());
  if (!y.ok()) {
    return y.status();
  }
  absl::StatusOr<int64_t> q = args.Int("quarter", (today.month() - 1) / 3 + 1);
  if (!q.ok()) {
    return q.status();
  }
  if (*y < 1 || *y > 9999) {
    return absl::InvalidArgumentError("--year: must be 1..9999");
  }
  if (*q < 1 || *q > 4) {
    return absl::InvalidArgumentError("--quarter: must be 1..4");
  }
  *year = static_cast<int>(*y);
  *quarter = static_cast<int>(*q);
  return absl::OkStatus();
}

// A node and a fiscal quarter: the --node flag (required) and QuarterFlags.
struct NodeQuarter {
  std::string node;
  int year = 0;
  int quarter = 0;
  // Sets node_id, fiscal_year and fiscal_quarter of a request.
  template <typename Req>
  void Fill(Req* req) const {
    req->set_node_id(node);
    req->set_fiscal_year(year);
    req->set_fiscal_quarter(quarter);
  }
};

absl::StatusOr<NodeQuarter> NodeQuarterFlags(const Args& args) {
  NodeQuarter nq;
  absl::StatusOr<std::string> node = args.Required("node");
  if (!node.ok()) {
    return node.status();
  }
  nq.node = *node;
  absl::Status s = QuarterFlags(args, &nq.year, &nq.quarter);
  if (!s.ok()) {
    return s;
  }
  return nq;
}

// --week, required: a week of the quarter, 1..14.
absl::StatusOr<int> WeekFlag(const Args& args) {
  if (!args.Has("week")) {
    return absl::InvalidArgumentError("--week: required");
  }
  return IntFlag(args, "week", 0, 1, 14);
}

bool Tolerated(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
         s.error_code() == grpc::StatusCode::NOT_FOUND ||
         s.error_code() == grpc::StatusCode::UNIMPLEMENTED;
}

// Names of org nodes from accounts, each asked once. A node the caller may
// not read is shown by its id.
class NameCache {
 public:
  explicit NameCache(Connections& conn) : conn_(conn) {}

  absl::StatusOr<std::string> Name(const std::string& id) {
    auto it = names_.find(id);
    if (it != names_.end()) {
      return it->second;
    }
    v1::GetOrgNodeRequest req;
    req.set_id(id);
    v1::OrgNode node;
    grpc::Status s =
        conn_.accounts().GetOrgNode(conn_.Context().get(), req, &node);
    if (!s.ok() && !Tolerated(s)) {
      return Check(s);
    }
    const std::string name = s.ok() && !node.name().empty() ? node.name() : id;
    names_[id] = name;
    return name;
  }

  // Reads the names of every child of `parent` in one listing (at most
  // kMaxListPages pages). A listing the caller may not read ends quietly.
  absl::Status LoadChildren(const std::string& parent) {
    v1::ListOrgNodesRequest req;
    req.set_parent_id(parent);
    return AllPages(
        [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
          SetPage(page, &req);
          v1::ListOrgNodesResponse resp;
          grpc::Status s =
              conn_.accounts().ListOrgNodes(conn_.Context().get(), req, &resp);
          if (!s.ok()) {
            if (Tolerated(s)) {
              return std::string();  // the end
            }
            return Check(s);
          }
          for (const v1::OrgNode& n : resp.nodes()) {
            names_[n.id()] = n.name().empty() ? n.id() : n.name();
          }
          return resp.next_page_token();
        },
        kMaxListPages, absl::OkStatus());
  }

 private:
  Connections& conn_;
  std::map<std::string, std::string> names_;
};

absl::Status GetForecast(Env& env, const std::string& node_id, int year,
                         int quarter, bool skip_children,
                         uint64_t min_pipeline_sequence, v1::Forecast* out) {
  v1::GetForecastRequest req;
  req.set_node_id(node_id);
  req.set_fiscal_year(year);
  req.set_fiscal_quarter(quarter);
  req.set_skip_children(skip_children);
  req.set_min_pipeline_sequence(min_pipeline_sequence);
  return Check(
      env.conn->forecast().GetForecast(env.conn->Context().get(), req, out));
}

// ---- The tree ----

struct TreeRow {
  int level = 0;
  std::string name;
  v1::NodeForecast figures;
};

struct TreeWalk {
  Env& env;
  NameCache names;
  int year;
  int quarter;
  int depth;
  uint64_t min_sequence = 0;
  std::vector<TreeRow> rows;
  bool cut = false;

  absl::Status Visit(const std::string& node_id, int level) {
    if (static_cast<int>(rows.size()) >= kMaxTreeNodes) {
      cut = true;
      return absl::OkStatus();
    }
    v1::Forecast f;
    const bool leaf = level >= depth;
    absl::Status s =
        GetForecast(env, node_id, year, quarter, leaf, min_sequence, &f);
    if (!s.ok()) {
      return s;
    }
    if (level == 0) {
      // The descendants answer at least as fresh as the node.
      min_sequence = f.pipeline_sequence();
    }
    TreeRow row;
    row.level = level;
    absl::StatusOr<std::string> name = names.Name(node_id);
    if (!name.ok()) {
      return name.status();
    }
    row.name = *name;
    row.figures = f.node();
    if (row.figures.node_id().empty()) {
      row.figures.set_node_id(node_id);
    }
    rows.push_back(std::move(row));
    if (leaf || f.children().empty()) {
      return absl::OkStatus();
    }
    s = names.LoadChildren(node_id);
    if (!s.ok()) {
      return s;
    }
    for (const v1::NodeForecast& child : f.children()) {
      s = Visit(child.node_id(), level + 1);
      if (!s.ok()) {
        return s;
      }
      if (cut) {
        break;
      }
    }
    return absl::OkStatus();
  }
};

std::vector<std::string> FigureCells(const v1::NodeForecast& n,
                                     const Env& env) {
  return {MoneyText(n.closed(), env),
          MoneyText(n.collected(), env),
          MoneyText(n.pipeline_weighted(), env),
          MoneyText(n.forecast(), env),
          MoneyText(n.quota(), env),
          Percent(n.coverage_bp()),
          YesNo(n.needs_more_pipeline())};
}

const std::vector<std::string>& FigureHeader() {
  static const std::vector<std::string> kHeader = {
      "closed", "collected", "pipeline_weighted",  "forecast",
      "quota",  "coverage",  "needs_more_pipeline"};
  return kHeader;
}

// ---- Commands ----

absl::Status RunTree(const Args& args, Env& env) {
  absl::StatusOr<NodeQuarter> flags = NodeQuarterFlags(args);
  if (!flags.ok()) {
    return flags.status();
  }
  const NodeQuarter& nq = *flags;
  absl::StatusOr<int> depth =
      IntFlag(args, "depth", kDefaultDepth, 0, kMaxDepth);
  if (!depth.ok()) {
    return depth.status();
  }
  return PrintForecastTree(env, nq.node, nq.year, nq.quarter, *depth);
}

absl::Status RunGet(const Args& args, Env& env) {
  absl::StatusOr<NodeQuarter> flags = NodeQuarterFlags(args);
  if (!flags.ok()) {
    return flags.status();
  }
  const NodeQuarter& nq = *flags;
  absl::Status s;
  absl::StatusOr<int64_t> min_seq = args.Int("min-sequence", 0);
  if (!min_seq.ok()) {
    return min_seq.status();
  }
  v1::Forecast f;
  s = GetForecast(env, nq.node, nq.year, nq.quarter, false,
                  static_cast<uint64_t>(*min_seq), &f);
  if (!s.ok()) {
    return s;
  }
  if (env.format == Format::kJson) {
    PrintOne(env, f, {});
    return absl::OkStatus();
  }
  NameCache names(*env.conn);
  absl::StatusOr<std::string> name = names.Name(nq.node);
  if (!name.ok()) {
    return name.status();
  }
  const v1::NodeForecast& n = f.node();
  std::vector<std::string> header = {"node", "node_id", "quarter"};
  std::vector<std::string> row = {*name, nq.node,
                                  absl::StrCat(nq.year, "-Q", nq.quarter)};
  for (const std::string& h : FigureHeader()) {
    header.push_back(h);
  }
  for (std::string& c : FigureCells(n, env)) {
    row.push_back(std::move(c));
  }
  header.insert(header.begin() + 4, "out_of_funnel");
  row.insert(row.begin() + 4, MoneyText(n.out_of_funnel(), env));
  header.push_back("gap");
  row.push_back(MoneyText(n.gap(), env));
  PrintCells(env, header, {row});

  Blank(env);
  std::vector<std::vector<std::string>> funnel;
  int64_t count = 0;
  money::Accumulator total;
  money::Accumulator weighted;
  for (const v1::FunnelRow& r : f.funnel()) {
    funnel.push_back({r.stage_model_id(), r.stage_key(),
                      Percent(r.win_rate_bp()), absl::StrCat(r.count()),
                      MoneyText(r.total(), env), MoneyText(r.weighted(), env)});
    count += r.count();
    total.Add(r.total().units_minor());
    weighted.Add(r.weighted().units_minor());
  }
  absl::StatusOr<int64_t> total_sum = total.Total();
  absl::StatusOr<int64_t> weighted_sum = weighted.Total();
  if (total_sum.ok() && weighted_sum.ok()) {
    funnel.push_back({"", "total", "", absl::StrCat(count),
                      money::Format(*total_sum, Exponent(env)),
                      money::Format(*weighted_sum, Exponent(env))});
  }
  PrintCells(env,
             {"stage_model", "stage", "win_rate", "count", "total", "weighted"},
             funnel);
  if (f.children().empty()) {
    return absl::OkStatus();
  }
  Blank(env);
  s = names.LoadChildren(nq.node);
  if (!s.ok()) {
    return s;
  }
  std::vector<std::string> child_header = {"child", "node_id"};
  for (const std::string& h : FigureHeader()) {
    child_header.push_back(h);
  }
  std::vector<std::vector<std::string>> children;
  for (const v1::NodeForecast& c : f.children()) {
    absl::StatusOr<std::string> child_name = names.Name(c.node_id());
    if (!child_name.ok()) {
      return child_name.status();
    }
    std::vector<std::string> cells = {*child_name, c.node_id()};
    for (std::string& cell : FigureCells(c, env)) {
      cells.push_back(std::move(cell));
    }
    children.push_back(std::move(cells));
  }
  PrintCells(env, child_header, children);
  return absl::OkStatus();
}

absl::Status RunFunnel(const Args& args, Env& env) {
  absl::StatusOr<NodeQuarter> flags = NodeQuarterFlags(args);
  if (!flags.ok()) {
    return flags.status();
  }
  const NodeQuarter& nq = *flags;
  absl::Status s;
  v1::Forecast f;
  s = GetForecast(env, nq.node, nq.year, nq.quarter, true, 0, &f);
  if (!s.ok()) {
    return s;
  }
  PrintList(env, Pointers(f.funnel()),
            {"stage_model_id", "stage_key", "win_rate_bp", "count", "total",
             "weighted"});
  return absl::OkStatus();
}

absl::Status RunProgress(const Args& args, Env& env) {
  absl::StatusOr<NodeQuarter> flags = NodeQuarterFlags(args);
  if (!flags.ok()) {
    return flags.status();
  }
  const NodeQuarter& nq = *flags;
  absl::Status s;
  v1::GetProgressRequest req;
  nq.Fill(&req);
  v1::GetProgressResponse resp;
  s = Check(
      env.conn->forecast().GetProgress(env.conn->Context().get(), req, &resp));
  if (!s.ok()) {
    return s;
  }
  if (env.format == Format::kJson) {
    PrintOne(env, resp, {});
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> weeks;
  for (const v1::WeekProgress& w : resp.weeks()) {
    weeks.push_back(
        {absl::StrCat(w.week()), MoneyText(w.pipeline_weighted(), env),
         MoneyText(w.cumulative_closed(), env), MoneyText(w.forecast(), env),
         Percent(w.progress_bp()), YesNo(w.on_pace())});
  }
  PrintCells(env,
             {"week", "pipeline_weighted", "cumulative_closed", "forecast",
              "progress", "on_pace"},
             weeks);
  Blank(env);
  PrintCells(
      env,
      {"node_id", "quota", "cumulative_progress", "pace_per_week", "on_pace"},
      {{resp.node_id().empty() ? nq.node : resp.node_id(),
        MoneyText(resp.quota(), env), Percent(resp.cumulative_progress_bp()),
        Percent(resp.pace_bp()), YesNo(resp.on_pace())}});
  return absl::OkStatus();
}

const std::vector<std::string>& SubmissionColumns() {
  static const std::vector<std::string> kColumns = {
      "node_id",  "fiscal_year", "fiscal_quarter", "week", "amount",
      "computed", "note",        "submitted_by",   "late", "version"};
  return kColumns;
}

absl::Status RunSubmit(const Args& args, Env& env) {
  absl::StatusOr<NodeQuarter> flags = NodeQuarterFlags(args);
  if (!flags.ok()) {
    return flags.status();
  }
  const NodeQuarter& nq = *flags;
  absl::Status s;
  absl::StatusOr<int> week = WeekFlag(args);
  if (!week.ok()) {
    return week.status();
  }
  absl::StatusOr<int64_t> expected = args.Int("expected-version", 0);
  if (!expected.ok()) {
    return expected.status();
  }
  absl::StatusOr<std::optional<v1::Money>> amount =
      MoneyFlag(args, "amount", env, false);
  if (!amount.ok()) {
    return amount.status();
  }
  v1::SubmitForecastRequest req;
  v1::ForecastSubmission* sub = req.mutable_submission();
  sub->set_node_id(nq.node);
  sub->set_fiscal_year(nq.year);
  sub->set_fiscal_quarter(nq.quarter);
  sub->set_week(*week);
  sub->set_note(args.Get("note"));
  if (amount->has_value()) {
    *sub->mutable_amount() = **amount;
  } else {
    // No --amount: submit the computed forecast as it stands.
    v1::Forecast f;
    s = GetForecast(env, nq.node, nq.year, nq.quarter, true, 0, &f);
    if (!s.ok()) {
      return s;
    }
    *sub->mutable_amount() = f.node().forecast();
  }
  req.set_expected_version(*expected);
  v1::ForecastSubmission out;
  s = Check(env.conn->forecast().SubmitForecast(env.conn->Context().get(), req,
                                                &out));
  if (!s.ok()) {
    return s;
  }
  PrintOne(env, out, SubmissionColumns());
  return absl::OkStatus();
}

absl::Status RunSubmissions(const Args& args, Env& env) {
  absl::StatusOr<NodeQuarter> flags = NodeQuarterFlags(args);
  if (!flags.ok()) {
    return flags.status();
  }
  const NodeQuarter& nq = *flags;
  absl::Status s;
  absl::StatusOr<int> week = WeekFlag(args);
  if (!week.ok()) {
    return week.status();
  }
  v1::ListSubmissionsRequest req;
  nq.Fill(&req);
  req.set_week(*week);
  v1::ListSubmissionsResponse resp;
  s = Check(env.conn->forecast().ListSubmissions(env.conn->Context().get(), req,
                                                 &resp));
  if (!s.ok()) {
    return s;
  }
  if (env.format == Format::kJson) {
    PrintOne(env, resp, {});
    return absl::OkStatus();
  }
  NameCache names(*env.conn);
  s = names.LoadChildren(nq.node);
  if (!s.ok()) {
    return s;
  }
  std::vector<std::vector<std::string>> rows;
  auto add = [&](const std::string& id, const std::string& role,
                 const std::string& computed, bool has_submission,
                 const v1::ForecastSubmission& sub, bool late) -> absl::Status {
    absl::StatusOr<std::string> name = names.Name(id);
    if (!name.ok()) {
      return name.status();
    }
    rows.push_back({role, *name, id, computed,
                    has_submission ? MoneyText(sub.amount(), env) : "",
                    has_submission ? sub.note() : "",
                    has_submission ? sub.submitted_by() : "", YesNo(late)});
    return absl::OkStatus();
  };
  s = add(nq.node, "own",
          resp.has_own() ? MoneyText(resp.own().computed(), env) : "",
          resp.has_own(), resp.own(), resp.has_own() && resp.own().late());
  if (!s.ok()) {
    return s;
  }
  for (const v1::ChildSubmission& c : resp.children()) {
    s = add(c.node_id(), "child", MoneyText(c.computed(), env),
            c.has_submission(), c.submission(), c.late());
    if (!s.ok()) {
      return s;
    }
  }
  PrintCells(env,
             {"role", "node", "node_id", "computed", "submitted", "note",
              "submitted_by", "late"},
             rows);
  return absl::OkStatus();
}

absl::Status RunCloseWeek(const Args& args, Env& env) {
  int year = 0;
  int quarter = 0;
  absl::Status s = QuarterFlags(args, &year, &quarter);
  if (!s.ok()) {
    return s;
  }
  absl::StatusOr<int> week = WeekFlag(args);
  if (!week.ok()) {
    return week.status();
  }
  v1::CloseWeekRequest req;
  req.set_fiscal_year(year);
  req.set_fiscal_quarter(quarter);
  req.set_week(*week);
  v1::CloseWeekResponse resp;
  s = Check(
      env.conn->forecast().CloseWeek(env.conn->Context().get(), req, &resp));
  if (!s.ok()) {
    return s;
  }
  PrintOne(env, resp,
           {"close.fiscal_year", "close.fiscal_quarter", "close.week",
            "close.nodes", "close.automatic", "already_closed"});
  return absl::OkStatus();
}

absl::Status RunOutOfFunnel(const Args& args, Env& env) {
  absl::StatusOr<std::string> rep = args.Required("rep");
  if (!rep.ok()) {
    return rep.status();
  }
  absl::StatusOr<std::optional<v1::Money>> amount =
      MoneyFlag(args, "amount", env, true);
  if (!amount.ok()) {
    return amount.status();
  }
  absl::StatusOr<std::optional<absl::CivilDay>> date = args.Date("date");
  if (!date.ok()) {
    return date.status();
  }
  v1::RecordOutOfFunnelSaleRequest req;
  v1::OutOfFunnelSale* sale = req.mutable_sale();
  sale->set_rep_node_id(*rep);
  *sale->mutable_amount() = **amount;
  *sale->mutable_date() = ToProto(date->value_or(Today()));
  sale->set_note(args.Get("note"));
  req.set_request_id(args.Get("request-id"));
  v1::OutOfFunnelSale out;
  absl::Status s = Check(env.conn->forecast().RecordOutOfFunnelSale(
      env.conn->Context().get(), req, &out));
  if (!s.ok()) {
    return s;
  }
  PrintOne(env, out,
           {"id", "rep_node_id", "amount", "date", "note", "recorded_by"});
  return absl::OkStatus();
}

absl::Status RunAnalytics(const Args& args, Env& env) {
  absl::StatusOr<std::string> node = args.Required("node");
  if (!node.ok()) {
    return node.status();
  }
  absl::StatusOr<std::optional<absl::CivilDay>> from = args.Date("from");
  if (!from.ok()) {
    return from.status();
  }
  absl::StatusOr<std::optional<absl::CivilDay>> to = args.Date("to");
  if (!to.ok()) {
    return to.status();
  }
  v1::GetFunnelAnalyticsRequest req;
  req.set_node_id(*node);
  if (from->has_value()) {
    *req.mutable_from() = ToProto(**from);
  }
  if (to->has_value()) {
    *req.mutable_to() = ToProto(**to);
  }
  req.set_stage_model_id(args.Get("model"));
  v1::FunnelAnalytics resp;
  absl::Status s = Check(env.conn->forecast().GetFunnelAnalytics(
      env.conn->Context().get(), req, &resp));
  if (!s.ok()) {
    return s;
  }
  if (env.format == Format::kJson) {
    PrintOne(env, resp, {});
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::StageAnalytics& st : resp.stages()) {
    rows.push_back({st.stage_key(), absl::StrCat(st.entered()),
                    absl::StrCat(st.advanced()), Percent(st.conversion_bp()),
                    absl::StrCat(st.median_days_in_stage()),
                    Percent(st.calibrated_win_rate_bp()),
                    Percent(st.configured_win_rate_bp()),
                    absl::StrCat(st.closed())});
  }
  PrintCells(env,
             {"stage", "entered", "advanced", "conversion", "median_days",
              "calibrated_win_rate", "configured_win_rate", "closed"},
             rows);
  Blank(env);
  PrintCells(env, {"ratio_line", "median_cycle_days"},
             {{resp.ratio_line(), absl::StrCat(resp.median_cycle_days())}});
  return absl::OkStatus();
}

absl::Status RunChanges(const Args& args, Env& env) {
  absl::StatusOr<NodeQuarter> flags = NodeQuarterFlags(args);
  if (!flags.ok()) {
    return flags.status();
  }
  const NodeQuarter& nq = *flags;
  absl::Status s;
  absl::StatusOr<int> from = IntFlag(args, "from-week", 0, 0, 14);
  if (!from.ok()) {
    return from.status();
  }
  absl::StatusOr<int> to = IntFlag(args, "to-week", 0, 0, 14);
  if (!to.ok()) {
    return to.status();
  }
  v1::GetPipelineChangesRequest req;
  nq.Fill(&req);
  req.set_from_week(*from);
  req.set_to_week(*to);
  v1::PipelineChanges resp;
  s = Check(env.conn->forecast().GetPipelineChanges(env.conn->Context().get(),
                                                    req, &resp));
  if (!s.ok()) {
    return s;
  }
  PrintOne(env, resp,
           {"start", "new_pipeline", "pulled_in", "amount_up", "won", "lost",
            "pushed_out", "amount_down", "advanced", "slipped", "end"});
  return absl::OkStatus();
}

absl::Status RunAccuracy(const Args& args, Env& env) {
  absl::StatusOr<NodeQuarter> flags = NodeQuarterFlags(args);
  if (!flags.ok()) {
    return flags.status();
  }
  const NodeQuarter& nq = *flags;
  absl::Status s;
  v1::GetForecastAccuracyRequest req;
  nq.Fill(&req);
  v1::ForecastAccuracy resp;
  s = Check(env.conn->forecast().GetForecastAccuracy(env.conn->Context().get(),
                                                     req, &resp));
  if (!s.ok()) {
    return s;
  }
  if (env.format == Format::kJson) {
    PrintOne(env, resp, {});
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::WeekAccuracy& w : resp.weeks()) {
    rows.push_back({absl::StrCat(w.week()), MoneyText(w.forecast(), env),
                    MoneyText(resp.final_closed(), env), Percent(w.error_bp()),
                    YesNo(resp.quarter_over())});
  }
  PrintCells(env, {"week", "forecast", "final_closed", "error", "quarter_over"},
             rows);
  return absl::OkStatus();
}

}  // namespace

absl::Status PrintForecastTree(Env& env, const std::string& node_id,
                               int fiscal_year, int fiscal_quarter, int depth) {
  if (depth < 0 || depth > kMaxDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("--depth: must be 0..", kMaxDepth));
  }
  TreeWalk walk{env,   NameCache(*env.conn), fiscal_year, fiscal_quarter,
                depth, /*min_sequence=*/0,   /*rows=*/{}, /*cut=*/false};
  absl::Status s = walk.Visit(node_id, 0);
  if (!s.ok()) {
    return s;
  }
  const bool table = env.format == Format::kTable;
  std::vector<std::string> header;
  if (table) {
    header = {"node"};
  } else {
    header = {"level", "node_id", "node"};
  }
  for (const std::string& h : FigureHeader()) {
    header.push_back(h);
  }
  std::vector<std::vector<std::string>> rows;
  rows.reserve(walk.rows.size());
  for (const TreeRow& r : walk.rows) {
    std::vector<std::string> cells;
    if (table) {
      cells.push_back(std::string(static_cast<size_t>(r.level) * 2, ' ') +
                      r.name);
    } else {
      cells = {absl::StrCat(r.level), r.figures.node_id(), r.name};
    }
    for (std::string& c : FigureCells(r.figures, env)) {
      cells.push_back(std::move(c));
    }
    rows.push_back(std::move(cells));
  }
  PrintCells(env, header, rows);
  if (walk.cut && env.err != nullptr) {
    *env.err << "note: the tree was cut at " << kMaxTreeNodes
             << " nodes; use a smaller --depth\n";
  }
  return absl::OkStatus();
}

void RegisterForecastCommands(Registry& r) {
  const std::string quarter = "[--year=YYYY --quarter=1..4]";
  r.Add({"forecast",
         "tree",
         absl::StrCat("--node=ID ", quarter, " [--depth=N]"),
         "the forecast of a node and its descendants, one indented line per "
         "node (default: this calendar quarter, 10 levels)",
         {"node", "year", "quarter", "depth"},
         RunTree});
  r.Add({"forecast",
         "get",
         absl::StrCat("--node=ID ", quarter, " [--min-sequence=N]"),
         "one node's forecast with its funnel table and direct children",
         {"node", "year", "quarter", "min-sequence"},
         RunGet});
  r.Add({"forecast",
         "funnel",
         absl::StrCat("--node=ID ", quarter),
         "the funnel rows of a node: per stage count, total and weighted",
         {"node", "year", "quarter"},
         RunFunnel});
  r.Add({"forecast",
         "progress",
         absl::StrCat("--node=ID ", quarter),
         "weekly progress of a node against its quota and the pace",
         {"node", "year", "quarter"},
         RunProgress});
  r.Add({"forecast",
         "submit",
         absl::StrCat("--node=ID ", quarter,
                      " --week=N [--amount=X (default: the computed "
                      "forecast)] [--note=TEXT] [--expected-version=N]"),
         "submit a node's forecast for the week (a figure other than the "
         "computed one needs --note)",
         {"node", "year", "quarter", "week", "amount", "note",
          "expected-version"},
         RunSubmit});
  r.Add({"forecast",
         "submissions",
         absl::StrCat("--node=ID ", quarter, " --week=N"),
         "a node's own submission and each child's computed and submitted "
         "figures, with late ones flagged",
         {"node", "year", "quarter", "week"},
         RunSubmissions});
  r.Add({"forecast",
         "close-week",
         absl::StrCat(quarter, " --week=N"),
         "close a week: snapshot every node's figures (idempotent)",
         {"year", "quarter", "week"},
         RunCloseWeek});
  r.Add({"forecast",
         "out-of-funnel",
         "--rep=NODE --amount=X [--date=YYYY-MM-DD (default today)] "
         "[--note=TEXT] [--request-id=ID]",
         "book an out-of-funnel sale for a rep",
         {"rep", "amount", "date", "note", "request-id"},
         RunOutOfFunnel});
  r.Add({"forecast",
         "analytics",
         "--node=ID [--from=YYYY-MM-DD --to=YYYY-MM-DD] [--model=ID]",
         "funnel analytics: stage conversion, velocity, calibrated win rates",
         {"node", "from", "to", "model"},
         RunAnalytics});
  r.Add({"forecast",
         "changes",
         absl::StrCat("--node=ID ", quarter, " --from-week=N --to-week=N"),
         "the pipeline waterfall between two closed weeks",
         {"node", "year", "quarter", "from-week", "to-week"},
         RunChanges});
  r.Add({"forecast",
         "accuracy",
         absl::StrCat("--node=ID ", quarter),
         "each week's snapshot against the quarter's final closed figure",
         {"node", "year", "quarter"},
         RunAccuracy});
}

}  // namespace salesops::ctl
