#include "services/forecast/federation.h"

#include <google/protobuf/text_format.h>

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/money/exchange.h"
#include "common/status/status.h"
#include "common/status/violations.h"

namespace salesops::forecast {
namespace {

bool ValidRegionId(const std::string& id) {
  if (id.empty() || id.size() > 32 || id[0] < 'a' || id[0] > 'z') {
    return false;
  }
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

void CheckRegion(const v1::RegionConfig& r, const std::string& at,
                 Violations& v) {
  if (!ValidRegionId(r.id())) {
    v.Add(absl::StrCat(at,
                       ".id: must be 1..32 of [a-z0-9-] starting with a "
                       "letter, got \"",
                       r.id().substr(0, 40), "\""));
  }
  for (const auto& [field, value] : {std::pair<const char*, const std::string*>{
                                         "parent_node_id", &r.parent_node_id()},
                                     {"accounts_addr", &r.accounts_addr()},
                                     {"pipeline_addr", &r.pipeline_addr()}}) {
    if (value->empty()) v.Add(absl::StrCat(at, ".", field, ": required"));
  }
  if (!r.reporting_currency().empty()) {
    v.Add(money::ValidateCurrency(r.reporting_currency(),
                                  absl::StrCat(at, ".reporting_currency")));
  }
  if (r.tls_cert_file().empty() != r.tls_key_file().empty()) {
    v.Add(absl::StrCat(at,
                       ".tls_cert_file: given with tls_key_file or not "
                       "at all"));
  }
  if (!r.tls_cert_file().empty() && r.tls_ca_file().empty()) {
    v.Add(absl::StrCat(at, ".tls_ca_file: required for mTLS"));
  }
  if (r.stale_after_seconds() < 0 || r.stale_after_seconds() > 86400) {
    v.Add(absl::StrCat(at, ".stale_after_seconds: must be 0..86400, got ",
                       r.stale_after_seconds()));
  }
}

}  // namespace

absl::Status ValidateFederationConfig(const v1::FederationConfig& config,
                                      std::string_view source) {
  Violations v;
  if (config.regions().empty()) {
    v.Add("regions: at least one region");
  }
  std::set<std::string> ids;
  for (int i = 0; i < config.regions_size(); ++i) {
    const v1::RegionConfig& r = config.regions(i);
    const std::string at = absl::StrCat("regions[", i, "]");
    CheckRegion(r, at, v);
    if (!ids.insert(r.id()).second) {
      v.Add(absl::StrCat(at, ".id: \"", r.id(), "\" is used twice"));
    }
  }
  absl::Status s = v.status();
  if (s.ok()) return s;
  return absl::Status(s.code(),
                      absl::StrCat(std::string(source), ": ", s.message()));
}

absl::StatusOr<v1::FederationConfig> LoadFederationConfig(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--regions_file: cannot read ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1 << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--regions_file: ", path, " is larger than 1 MiB"));
  }
  v1::FederationConfig config;
  if (!google::protobuf::TextFormat::ParseFromString(text.str(), &config)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--regions_file: ", path,
        " is not a salesops.v1.FederationConfig in text format (the parse "
        "error is on stderr)"));
  }
  RETURN_IF_ERROR(
      ValidateFederationConfig(config, absl::StrCat("--regions_file ", path)));
  return config;
}

std::string RegionNamespace::Id(std::string_view id) const {
  return id.empty() ? std::string()
                    : absl::StrCat(region_, "/",
                                   absl::string_view(id.data(), id.size()));
}

void RegionNamespace::Apply(v1::OrgNode* node) const {
  node->set_id(Id(node->id()));
  node->set_parent_id(node->parent_id().empty() ? parent_
                                                : Id(node->parent_id()));
}

void RegionNamespace::Apply(v1::Quota* quota) const {
  quota->set_node_id(Id(quota->node_id()));
}

void RegionNamespace::Apply(v1::StageModel* model) const {
  model->set_id(Id(model->id()));
}

void RegionNamespace::Apply(v1::Opportunity* o) const {
  o->set_id(Id(o->id()));
  o->set_owner_node_id(Id(o->owner_node_id()));
  o->set_account_id(Id(o->account_id()));
  o->set_stage_model_id(Id(o->stage_model_id()));
}

void RegionNamespace::Apply(v1::OpportunityChange* change) const {
  change->set_opportunity_id(Id(change->opportunity_id()));
}

void RegionNamespace::Apply(v1::OpportunityCollection* c) const {
  c->set_opportunity_id(Id(c->opportunity_id()));
  c->set_account_id(Id(c->account_id()));
}

namespace {

template <typename Msg>
absl::Status Rewrite(const RegionNamespace& ns, v1::Event* event) {
  Msg m;
  if (!event->payload().UnpackTo(&m)) {
    return absl::DataLossError(
        absl::StrCat("region ", ns.region(), ": event ", event->sequence(),
                     " of kind ", event->kind(), " holds another message"));
  }
  ns.Apply(&m);
  event->mutable_payload()->PackFrom(m);
  event->set_entity_id(ns.Id(event->entity_id()));
  return absl::OkStatus();
}

}  // namespace

absl::Status RegionNamespace::Apply(v1::Event* event) const {
  const std::string& kind = event->kind();
  if (kind == "accounts.OrgNode") return Rewrite<v1::OrgNode>(*this, event);
  if (kind == "accounts.Quota") return Rewrite<v1::Quota>(*this, event);
  if (kind == "pipeline.StageModel") {
    return Rewrite<v1::StageModel>(*this, event);
  }
  if (kind == "pipeline.Opportunity") {
    return Rewrite<v1::Opportunity>(*this, event);
  }
  if (kind == "pipeline.OpportunityChange") {
    return Rewrite<v1::OpportunityChange>(*this, event);
  }
  if (kind == "credit.OpportunityCollection") {
    return Rewrite<v1::OpportunityCollection>(*this, event);
  }
  return absl::OkStatus();
}

}  // namespace salesops::forecast
