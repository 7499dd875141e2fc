// Tests of the monitoring files in deploy/ (SPEC.md §8 Operability):
//
//   - promtool accepts the scrape config and every rules file it loads
//     (alerts.yml, slo.yml), each rules file has a unit test file
//     (<name>_test.yml) that passes and expects each of its alerts once
//     firing and once not;
//   - the Grafana dashboard is valid JSON, and every metric its PromQL queries
//     (and every metric the rules use, `up` aside) is exported by at least one
//     of the four real binaries, scraped on loopback after a call to each
//     service and a GetForecast. Names the rules record themselves
//     (`record:`) are not looked for.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/metrics/testing/scrape.h"
#include "common/testing/temp_dir.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "salesops/v1/credit.grpc.pb.h"
#include "salesops/v1/forecast.grpc.pb.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "tests/e2e.h"

namespace salesops {
namespace {

using e2e::Ctx;
using e2e::Launch;
using e2e::Service;

const std::string kSourceDir = SALESOPS_SOURCE_DIR;
const std::string kPrometheusDir = kSourceDir + "/deploy/prometheus";
const std::string kDashboard = kSourceDir + "/deploy/grafana/salesops.json";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// Runs `command` through the shell (bounded by timeout(1) at
// `timeout_seconds`), capturing its stdout and stderr.
CommandResult RunCommand(const std::string& command, int timeout_seconds = 60) {
  CommandResult r;
  FILE* pipe = popen(
      absl::StrCat("timeout ", timeout_seconds, " ", command, " 2>&1").c_str(),
      "r");
  if (pipe == nullptr) {
    r.output = "popen failed";
    return r;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) {
    r.output.append(buf, n);
  }
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

bool IsIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool IsIdentChar(char c) {
  return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c));
}

// The metric names a PromQL expression selects: identifiers outside label
// matchers ({...}), range/subquery brackets ([...]), strings and
// grouping-label lists (by/without/on/ignoring/group_left/group_right (...)),
// that are neither functions (followed by '(') nor keywords. Grafana
// variables ($x, ${x}) are skipped.
std::set<std::string> MetricNames(const std::string& expr) {
  static const std::set<std::string> kKeywords = {
      "by",          "without", "on",      "ignoring", "group_left",
      "group_right", "and",     "or",      "unless",   "bool",
      "offset",      "atan2",   "inf",     "nan",      "Inf",
      "NaN",         "sum",     "min",     "max",      "avg",
      "group",       "stddev",  "stdvar",  "count",    "count_values",
      "bottomk",     "topk",    "quantile"};
  static const std::set<std::string> kLabelLists = {
      "by", "without", "on", "ignoring", "group_left", "group_right"};
  std::set<std::string> names;
  size_t i = 0;
  const size_t n = expr.size();
  auto skip_space = [&](size_t j) {
    while (j < n && std::isspace(static_cast<unsigned char>(expr[j]))) {
      ++j;
    }
    return j;
  };
  auto skip_until = [&](size_t j, char close) {
    while (j < n && expr[j] != close) {
      if (expr[j] == '"' || expr[j] == '\'' || expr[j] == '`') {
        const char q = expr[j++];
        while (j < n && expr[j] != q) {
          j += expr[j] == '\\' ? 2 : 1;
        }
      }
      ++j;
    }
    return j + 1;
  };
  while (i < n) {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {
      ++i;
      while (i < n && expr[i] != c) {
        i += expr[i] == '\\' ? 2 : 1;
      }
      ++i;
    } else if (c == '{') {
      i = skip_until(i + 1, '}');
    } else if (c == '[') {
      i = skip_until(i + 1, ']');
    } else if (c == '$') {
      ++i;
      if (i < n && expr[i] == '{') {
        i = skip_until(i + 1, '}');
      } else {
        while (i < n && IsIdentChar(expr[i])) {
          ++i;
        }
      }
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      // A number (1, 0.99, 1e3, 0x1f) or a duration (5m).
      while (i < n && (IsIdentChar(expr[i]) || expr[i] == '.')) {
        ++i;
      }
    } else if (IsIdentStart(c)) {
      size_t j = i;
      while (j < n && IsIdentChar(expr[j])) {
        ++j;
      }
      const std::string word = expr.substr(i, j - i);
      const size_t next = skip_space(j);
      if (kLabelLists.count(word) > 0) {
        i = next < n && expr[next] == '(' ? skip_until(next + 1, ')') : next;
      } else if (kKeywords.count(word) > 0 || (next < n && expr[next] == '(')) {
        i = j;
      } else {
        names.insert(word);
        i = j;
      }
    } else {
      ++i;
    }
  }
  return names;
}

TEST(MetricNamesTest, ExtractsSelectorsOnly) {
  EXPECT_EQ(MetricNames("histogram_quantile(0.99, sum by (job, le) "
                        "(rate(a_bucket{job=~\"$job\",x=\"y{\"}[5m])))"),
            std::set<std::string>{"a_bucket"});
  EXPECT_EQ(MetricNames("sum(rate(b_total[$__rate_interval])) by (job) / "
                        "ignoring(x) c > 0.05 and time() - d offset 5m"),
            (std::set<std::string>{"b_total", "c", "d"}));
  EXPECT_EQ(MetricNames("up{job=~\"salesops-.+\"} == 0"),
            std::set<std::string>{"up"});
}

// Every PromQL expression of the dashboard (panels' and nested rows' targets).
void CollectExprs(const google::protobuf::Value& v,
                  std::vector<std::string>* out) {
  if (v.has_struct_value()) {
    for (const auto& [key, field] : v.struct_value().fields()) {
      if (key == "expr" && field.has_string_value()) {
        out->push_back(field.string_value());
      } else {
        CollectExprs(field, out);
      }
    }
  } else if (v.has_list_value()) {
    for (const auto& item : v.list_value().values()) {
      CollectExprs(item, out);
    }
  }
}

// The lines of `text` after `key` (e.g. "expr:"), leading blanks and the key
// removed, in order.
std::vector<std::string> ValuesOf(const std::string& text,
                                  absl::string_view key) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view l = absl::StripLeadingAsciiWhitespace(line);
    if (absl::ConsumePrefix(&l, "- ")) {
      l = absl::StripLeadingAsciiWhitespace(l);
    }
    if (absl::ConsumePrefix(&l, key)) {
      out.emplace_back(absl::StripAsciiWhitespace(l));
    }
  }
  return out;
}

// The rules files prometheus.yml loads (its `rule_files:` list).
std::vector<std::string> RuleFiles() {
  std::vector<std::string> files;
  std::istringstream in(ReadFile(kPrometheusDir + "/prometheus.yml"));
  std::string line;
  bool in_list = false;
  while (std::getline(in, line)) {
    absl::string_view l = line;
    if (absl::StartsWith(l, "rule_files:")) {
      in_list = true;
    } else if (in_list && absl::ConsumePrefix(&l, "  - ")) {
      files.emplace_back(absl::StripAsciiWhitespace(l));
    } else if (in_list && !l.empty() && l[0] != ' ' && l[0] != '#') {
      in_list = false;
    }
  }
  return files;
}

// "alerts.yml" -> "alerts_test.yml".
std::string TestFileOf(const std::string& rules_file) {
  return absl::StrCat(absl::StripSuffix(rules_file, ".yml"), "_test.yml");
}

TEST(DeployTest, PromtoolCheckRules) {
  const std::vector<std::string> files = RuleFiles();
  ASSERT_EQ(files, (std::vector<std::string>{"alerts.yml", "slo.yml"}));
  for (const std::string& f : files) {
    CommandResult r = RunCommand(
        absl::StrCat("promtool check rules ", kPrometheusDir, "/", f));
    EXPECT_EQ(r.exit_code, 0) << f << ": " << r.output;
  }
}

TEST(DeployTest, PromtoolTestRules) {
  for (const std::string& f : RuleFiles()) {
    const std::string test_file = TestFileOf(f);
    // promtool resolves the test file's rule_files from its directory.
    CommandResult r = RunCommand(
        absl::StrCat("promtool test rules ", kPrometheusDir, "/", test_file),
        /*timeout_seconds=*/110);
    EXPECT_EQ(r.exit_code, 0) << test_file << ": " << r.output;
  }
}

// Each alert of a rules file is expected in its test file at least once
// firing (exp_alerts with entries) and once not (exp_alerts: []).
TEST(DeployTest, EveryAlertIsTestedFiringAndNot) {
  for (const std::string& f : RuleFiles()) {
    const std::vector<std::string> alerts =
        ValuesOf(ReadFile(kPrometheusDir + "/" + f), "alert:");
    EXPECT_FALSE(alerts.empty()) << f;
    std::set<std::string> fires, quiet;
    std::istringstream in(ReadFile(kPrometheusDir + "/" + TestFileOf(f)));
    std::string line, current;
    while (std::getline(in, line)) {
      absl::string_view l = absl::StripLeadingAsciiWhitespace(line);
      if (absl::ConsumePrefix(&l, "alertname:")) {
        current = std::string(absl::StripAsciiWhitespace(l));
      } else if (absl::ConsumePrefix(&l, "exp_alerts:") && !current.empty()) {
        (absl::StripAsciiWhitespace(l) == "[]" ? quiet : fires).insert(current);
        current.clear();
      }
    }
    for (const std::string& a : alerts) {
      EXPECT_TRUE(fires.count(a) > 0) << TestFileOf(f) << " never fires " << a;
      EXPECT_TRUE(quiet.count(a) > 0)
          << TestFileOf(f) << " never expects " << a << " quiet";
    }
  }
}

// Every alert has its runbook in docs/OPERATIONS.md: its name in backquotes
// (the alerts table, or the SLO section's runbooks).
TEST(DeployTest, EveryAlertHasARunbook) {
  const std::string operations = ReadFile(kSourceDir + "/docs/OPERATIONS.md");
  for (const std::string& f : RuleFiles()) {
    for (const std::string& a :
         ValuesOf(ReadFile(kPrometheusDir + "/" + f), "alert:")) {
      EXPECT_TRUE(absl::StrContains(operations, absl::StrCat("`", a, "`")))
          << "docs/OPERATIONS.md has no runbook for " << a << " (" << f << ")";
    }
  }
}

// The dashboard, parsed (a JSON value; null when it does not parse).
google::protobuf::Value ReadDashboard() {
  google::protobuf::Value dashboard;
  if (!google::protobuf::util::JsonStringToMessage(ReadFile(kDashboard),
                                                   &dashboard)
           .ok()) {
    dashboard.Clear();
  }
  return dashboard;
}

// The first query of the top-level panel whose title starts with `title`.
std::string PanelExpr(const google::protobuf::Value& dashboard,
                      absl::string_view title) {
  const auto& fields = dashboard.struct_value().fields();
  auto panels = fields.find("panels");
  if (panels == fields.end()) return "";
  for (const auto& panel : panels->second.list_value().values()) {
    const auto& f = panel.struct_value().fields();
    auto t = f.find("title");
    auto targets = f.find("targets");
    if (t == f.end() || targets == f.end() ||
        !absl::StartsWith(t->second.string_value(), title) ||
        targets->second.list_value().values().empty()) {
      continue;
    }
    const auto& target =
        targets->second.list_value().values(0).struct_value().fields();
    auto expr = target.find("expr");
    return expr != target.end() ? expr->second.string_value() : "";
  }
  return "";
}

// The error-ratio panel showed "No data" on a healthy suite: a code's counter
// appears with its first call, so without failures the numerator is empty.
// promtool evaluates the panel's query (variables filled in) over a job that
// never failed (0, not absent) and one with 25% Internal.
TEST(DeployTest, ErrorRatioPanelIsZeroWithoutErrors) {
  std::string expr = PanelExpr(ReadDashboard(), "Error ratio per service");
  ASSERT_FALSE(expr.empty());
  absl::StrReplaceAll({{"$__rate_interval", "5m"}, {"$job", ".+"}}, &expr);
  salesops::testing::TempDir dir;
  const std::string path = dir.path() + "/panel_test.yml";
  std::ofstream(path) << absl::StrCat(
      "rule_files: []\nevaluation_interval: 1m\ntests:\n"
      "  - interval: 1m\n    input_series:\n"
      "      - series: 'grpc_server_handled_total{job=\"salesops-accounts\","
      "grpc_code=\"OK\"}'\n        values: '0+100x10'\n"
      "      - series: 'grpc_server_handled_total{job=\"salesops-pipeline\","
      "grpc_code=\"OK\"}'\n        values: '0+75x10'\n"
      "      - series: 'grpc_server_handled_total{job=\"salesops-pipeline\","
      "grpc_code=\"Internal\"}'\n        values: '0+25x10'\n"
      "    promql_expr_test:\n      - expr: 'round((",
      expr, "), 0.001)'\n        eval_time: 10m\n        exp_samples:\n",
      "          - labels: '{job=\"salesops-accounts\"}'\n            value: "
      "0\n",
      "          - labels: '{job=\"salesops-pipeline\"}'\n            value: "
      "0.25\n");
  CommandResult r = RunCommand("promtool test rules " + path);
  EXPECT_EQ(r.exit_code, 0) << expr << "\n" << r.output;
}

TEST(DeployTest, PromtoolCheckConfig) {
  CommandResult r = RunCommand(absl::StrCat("promtool check config ",
                                            kPrometheusDir, "/prometheus.yml"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

class DeployMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    accounts_ = Launch(
        {SALESOPS_ACCOUNTS_BIN, "--listen=127.0.0.1:0",
         "--metrics_listen=127.0.0.1:0", "--auth=none",
         "--data_dir=" + dir_.path() + "/accounts", std::string("--init")},
        "accounts");
    ASSERT_GT(accounts_.port, 0) << accounts_.process->Log();
    const std::string accounts_addr =
        absl::StrCat("--accounts_addr=127.0.0.1:", accounts_.port);
    pipeline_ = Launch({SALESOPS_PIPELINE_BIN, "--listen=127.0.0.1:0",
                        "--metrics_listen=127.0.0.1:0", "--auth=none",
                        "--data_dir=" + dir_.path() + "/pipeline",
                        std::string("--init"), accounts_addr},
                       "pipeline");
    ASSERT_GT(pipeline_.port, 0) << pipeline_.process->Log();
    const std::string pipeline_addr =
        absl::StrCat("--pipeline_addr=127.0.0.1:", pipeline_.port);
    credit_ = Launch({SALESOPS_CREDIT_BIN, "--listen=127.0.0.1:0",
                      "--metrics_listen=127.0.0.1:0", "--auth=none",
                      "--data_dir=" + dir_.path() + "/credit",
                      std::string("--init"), accounts_addr, pipeline_addr},
                     "credit");
    ASSERT_GT(credit_.port, 0) << credit_.process->Log();
    forecast_ = Launch({SALESOPS_FORECAST_BIN, "--listen=127.0.0.1:0",
                        "--metrics_listen=127.0.0.1:0", "--auth=none",
                        "--data_dir=" + dir_.path() + "/forecast",
                        std::string("--init"), accounts_addr, pipeline_addr,
                        absl::StrCat("--credit_addr=127.0.0.1:", credit_.port)},
                       "forecast");
    ASSERT_GT(forecast_.port, 0) << forecast_.process->Log();
  }

  // One call to each service (and a GetForecast), so that per-method series
  // and histograms have samples.
  void Exercise() {
    auto accounts = v1::AccountsService::NewStub(accounts_.channel);
    v1::CreateOrgNodeRequest node_req;
    node_req.mutable_node()->set_kind(v1::ORG_NODE_KIND_GLOBAL);
    node_req.mutable_node()->set_name("Global");
    v1::OrgNode global;
    grpc::Status s = accounts->CreateOrgNode(Ctx().get(), node_req, &global);
    ASSERT_TRUE(s.ok()) << e2e::Describe(s);

    auto pipeline = v1::PipelineService::NewStub(pipeline_.channel);
    v1::ListStageModelsResponse models;
    s = pipeline->ListStageModels(Ctx().get(), v1::ListStageModelsRequest(),
                                  &models);
    EXPECT_TRUE(s.ok()) << e2e::Describe(s);

    auto credit = v1::CreditService::NewStub(credit_.channel);
    v1::ListReceivablesResponse receivables;
    // The answer's code does not matter: the call is counted either way.
    credit->ListReceivables(Ctx().get(), v1::ListReceivablesRequest(),
                            &receivables);

    auto forecast = v1::ForecastService::NewStub(forecast_.channel);
    v1::GetForecastRequest req;
    req.set_node_id(global.id());
    req.set_fiscal_year(2027);
    req.set_fiscal_quarter(1);
    // The forecast learns the node from the accounts feed: retry (bounded)
    // until it answers.
    EXPECT_TRUE(e2e::Eventually([&] {
      v1::Forecast f;
      return forecast->GetForecast(Ctx().get(), req, &f).ok();
    })) << forecast_.process->Log();
  }

  // Sample names exported by the four services.
  std::set<std::string> ScrapeAll() {
    std::set<std::string> names;
    for (const Service* svc : {&accounts_, &pipeline_, &forecast_, &credit_}) {
      absl::StatusOr<std::string> page =
          testing::HttpGet("127.0.0.1", svc->metrics_port, "/metrics");
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) {
        continue;
      }
      absl::StatusOr<std::vector<testing::Sample>> samples =
          testing::ParseTextPage(*page);
      EXPECT_TRUE(samples.ok()) << samples.status();
      if (!samples.ok()) {
        continue;
      }
      for (const testing::Sample& sample : *samples) {
        names.insert(sample.name);
        auto label = [&](const char* key) {
          auto it = sample.labels.find(key);
          return it != sample.labels.end() ? it->second : "";
        };
        if (sample.name == "grpc_server_handling_seconds_bucket" &&
            label("grpc_method") == "GetForecast" && label("le") == "0.005") {
          latency_slo_bucket_ = true;
        }
      }
    }
    return names;
  }

  // A name is exported as a sample, or is a histogram's base name.
  static bool Exported(const std::set<std::string>& exported,
                       const std::string& name) {
    return exported.count(name) > 0 || exported.count(name + "_bucket") > 0;
  }

  salesops::testing::TempDir dir_;
  Service accounts_, pipeline_, forecast_, credit_;
  // GetForecast's histogram has the bucket the latency SLO counts (slo.yml).
  bool latency_slo_bucket_ = false;
};

TEST_F(DeployMetricsTest, DashboardAndAlertMetricsAreExported) {
  // The dashboard parses as JSON.
  const std::string json = ReadFile(kDashboard);
  ASSERT_FALSE(json.empty()) << kDashboard;
  google::protobuf::Value dashboard;
  auto parsed = google::protobuf::util::JsonStringToMessage(json, &dashboard);
  ASSERT_TRUE(parsed.ok()) << parsed;
  ASSERT_TRUE(dashboard.has_struct_value());
  const auto& fields = dashboard.struct_value().fields();
  ASSERT_TRUE(fields.contains("panels"));
  ASSERT_TRUE(fields.contains("templating"));
  EXPECT_TRUE(fields.contains("schemaVersion"));

  std::vector<std::string> dashboard_exprs;
  CollectExprs(dashboard, &dashboard_exprs);
  ASSERT_GE(dashboard_exprs.size(), 10u);
  std::set<std::string> dashboard_metrics;
  for (const std::string& e : dashboard_exprs) {
    for (const std::string& m : MetricNames(e)) {
      dashboard_metrics.insert(m);
    }
  }

  // Rule expressions: one `expr:` line each (the rules files keep them so).
  // Names a rule records are the rules' own, not metrics to look for.
  std::set<std::string> recorded, rule_metrics;
  std::vector<std::string> exprs;
  for (const std::string& f : RuleFiles()) {
    const std::string rules = ReadFile(kPrometheusDir + "/" + f);
    for (const std::string& r : ValuesOf(rules, "record:")) recorded.insert(r);
    for (const std::string& e : ValuesOf(rules, "expr:")) {
      ASSERT_FALSE(e.empty() || e == "|" || e == ">" || e == "|-" || e == ">-")
          << "multi-line expr in " << f << ": " << e;
      exprs.push_back(e);
    }
  }
  EXPECT_GE(exprs.size(), 40u);
  EXPECT_GE(recorded.size(), 10u);
  for (const std::string& e : exprs) {
    for (const std::string& m : MetricNames(e)) {
      if (m != "up" && recorded.count(m) == 0) rule_metrics.insert(m);
    }
  }
  // The dashboard's SLO row reads recorded series; they are not exported.
  int dashboard_recorded = 0;
  for (auto it = dashboard_metrics.begin(); it != dashboard_metrics.end();) {
    if (recorded.count(*it) > 0) {
      ++dashboard_recorded;
      it = dashboard_metrics.erase(it);
    } else {
      ++it;
    }
  }
  EXPECT_GE(dashboard_recorded, 3) << "the dashboard's SLO row";

  Exercise();
  const std::set<std::string> exported = ScrapeAll();
  ASSERT_FALSE(exported.empty());
  for (const std::string& m : dashboard_metrics) {
    EXPECT_TRUE(Exported(exported, m))
        << "the dashboard queries " << m << ", which no service exports";
  }
  // Only a global forecast (--regions_file) exports these; the federation
  // end-to-end test scrapes them there.
  const std::set<std::string> global_only = {
      "salesops_forecast_region_stale",
      "salesops_forecast_region_current_to_seconds"};
  for (const std::string& m : rule_metrics) {
    if (global_only.count(m) > 0) continue;
    EXPECT_TRUE(Exported(exported, m))
        << "a rule uses " << m << ", which no service exports";
  }
  // The latency SLI divides this bucket by the count: its bound must stay.
  EXPECT_TRUE(latency_slo_bucket_)
      << "no grpc_server_handling_seconds_bucket{grpc_method=\"GetForecast\","
         "le=\"0.005\"}";
  // The panels the issue asks for are there.
  for (const char* m :
       {"grpc_server_handled_total", "grpc_server_handling_seconds_bucket",
        "salesops_forecast_query_seconds_bucket", "salesops_feed_lag_events",
        "salesops_rocksdb_write_stall_seconds_total",
        "salesops_rocksdb_memtable_bytes",
        "salesops_rocksdb_pending_compaction_bytes",
        "salesops_rocksdb_live_sst_bytes", "salesops_rocksdb_estimated_keys"}) {
    EXPECT_TRUE(dashboard_metrics.count(m) > 0) << m;
  }
  std::cout << "dashboard metrics: " << absl::StrJoin(dashboard_metrics, ", ")
            << "\nrule metrics: " << absl::StrJoin(rule_metrics, ", ") << "\n";
}

}  // namespace
}  // namespace salesops
