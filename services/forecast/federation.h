#pragma once

// A global forecast over regional instances (issue 19, docs/API.md
// "Federation", docs/DECISIONS.md D42): the --regions_file configuration and
// the namespacing of what each region delivers.
//
// Every id a region's accounts, pipeline and credit feeds (and resync
// listings) carry — org nodes and their parents, quotas' nodes, stage models,
// opportunities and their owners and accounts, history entries, collections —
// becomes "<region>/<id>" before the ForecastView sees it, and the region's
// root nodes hang under the HQ org node the configuration names. The view
// then rolls the regions up the HQ tree like any other subtree. Pure: no I/O
// but reading the file.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/credit.pb.h"
#include "salesops/v1/federation.pb.h"
#include "salesops/v1/feed.pb.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops::forecast {

// Reads and checks a --regions_file (text format of FederationConfig).
// INVALID_ARGUMENT naming the file, the region and the field: an id that is
// not 1..32 of [a-z0-9-] starting with a letter, or repeated; a missing
// parent_node_id, accounts_addr or pipeline_addr; a reporting_currency that
// is not an active ISO 4217 code; a cert without a key (or the reverse);
// stale_after_seconds outside 0..86400 (0 = the default 60); no region.
[[nodiscard]] absl::StatusOr<v1::FederationConfig> LoadFederationConfig(
    const std::string& path);
// The rules of LoadFederationConfig on a parsed config (`source` names it in
// messages).
[[nodiscard]] absl::Status ValidateFederationConfig(
    const v1::FederationConfig& config, std::string_view source);

// One region's namespace.
class RegionNamespace {
 public:
  RegionNamespace(std::string region, std::string parent_node_id)
      : region_(std::move(region)), parent_(std::move(parent_node_id)) {}

  const std::string& region() const { return region_; }
  // "<region>/": the prefix of every id of the region.
  std::string prefix() const { return region_ + "/"; }
  // "<region>/<id>"; "" stays "".
  std::string Id(std::string_view id) const;

  void Apply(v1::OrgNode* node) const;  // a root hangs under the HQ node
  void Apply(v1::Quota* quota) const;
  void Apply(v1::StageModel* model) const;
  void Apply(v1::Opportunity* opportunity) const;
  void Apply(v1::OpportunityChange* change) const;
  void Apply(v1::OpportunityCollection* collection) const;
  // An event of one of those kinds, payload and entity id; other kinds are
  // left as they are. DATA_LOSS when the payload is not its kind's message.
  [[nodiscard]] absl::Status Apply(v1::Event* event) const;

 private:
  std::string region_;
  std::string parent_;
};

}  // namespace salesops::forecast
