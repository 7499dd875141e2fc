#pragma once

// What `salesopsctl demo` (demo_commands.cc) builds on: the demo's external
// and request ids, calendar quarters, reading the demo's org and funnel back
// from the services, waiting until forecast reflects what was loaded, and
// printing the addresses and the tree.

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/common.pb.h"
#include "salesops/v1/pipeline.pb.h"
#include "tools/salesopsctl/cli.h"
#include "tools/salesopsctl/flags.h"

namespace salesops::ctl::demo {

// Prefix of every request id the loader sends (bump it when the dataset
// changes in a way that changes a request's content).
inline constexpr char kRequestPrefix[] = "salesops-demo-v1:";
// Prefix of every external id of demo data.
inline constexpr char kExternalPrefix[] = "demo:";
// Global → region → area → area → team → rep
inline constexpr int kTreeDepth = 5;

// A calendar quarter (the forecast's default fiscal calendar).
struct Quarter {
  int year = 0;
  int quarter = 0;  // 1..4
  absl::CivilDay first() const {
    return absl::CivilDay(absl::CivilMonth(year, (quarter - 1) * 3 + 1));
  }
  absl::CivilDay last() const { return next().first() - 1; }
  Quarter next() const {
    return quarter == 4 ? Quarter{year + 1, 1} : Quarter{year, quarter + 1};
  }
  std::string Name() const { return absl::StrCat(year, "-Q", quarter); }
};

// The demo's org nodes (by key) and the organization's root.
struct OrgState {
  std::map<std::string, v1::OrgNode> by_external_id;
  std::optional<v1::OrgNode> root;
};

absl::CivilDay FromDate(const v1::Date& d);
Quarter QuarterOf(absl::CivilDay d);
absl::CivilDay TodayUtc();
// "demo:<kind>:<key>", the external id of a demo entity.
std::string External(const std::string& kind, const std::string& key);
// The request id of the create of a demo entity.
std::string RequestId(const std::string& kind, const std::string& key);
// The text stream for progress lines: stdout in table format, stderr
// otherwise (so json/csv output stays parseable).
std::ostream& Log(Env& env);
// Every page of a List RPC (`fetch` reads one); INTERNAL after kMaxPages.
absl::Status ListAll(const PageFetch& fetch);

absl::StatusOr<OrgState> ReadOrg(Connections& c);
// The id of the tree's top: the demo's Global node, else the organization's
// root; NOT_FOUND when there is no organization.
absl::StatusOr<std::string> TreeRoot(const OrgState& org);
// The opportunities owned by `owner_id` (and below it).
absl::StatusOr<std::vector<v1::Opportunity>> OpportunitiesOf(
    Connections& c, const std::string& owner_id);
// The demo quarter: the quarter of the funnel's close dates when the funnel
// exists, else the current one.
absl::StatusOr<Quarter> DemoQuarter(Connections& c, const OrgState& org);
// Waits (up to 60 s) until forecast reflects everything pipeline and
// accounts committed so far, so the tree shows the data just loaded.
absl::Status WaitForForecast(Connections& c, const std::string& node_id,
                             const Quarter& q);
// The services' addresses, then the forecast tree from `root` for `q`.
absl::Status PrintAddressesAndTree(Env& env, const std::string& root,
                                   const Quarter& q);

}  // namespace salesops::ctl::demo
