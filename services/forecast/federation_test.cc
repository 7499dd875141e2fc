#include "services/forecast/federation.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/testing/temp_dir.h"

namespace salesops::forecast {
namespace {

v1::RegionConfig Region(const std::string& id) {
  v1::RegionConfig r;
  r.set_id(id);
  r.set_parent_node_id("org_world");
  r.set_accounts_addr("127.0.0.1:1");
  r.set_pipeline_addr("127.0.0.1:2");
  r.set_reporting_currency("CNY");
  return r;
}

TEST(FederationConfigTest, NamesEveryBrokenRule) {
  v1::FederationConfig c;
  EXPECT_EQ(ValidateFederationConfig(c, "f").message(),
            "f: regions: at least one region");
  *c.add_regions() = Region("china");
  EXPECT_TRUE(ValidateFederationConfig(c, "f").ok());
  *c.add_regions() = Region("china");
  v1::RegionConfig bad = Region("Europe!");
  bad.clear_parent_node_id();
  bad.clear_pipeline_addr();
  bad.set_reporting_currency("DEM");
  bad.set_tls_cert_file("c.pem");
  bad.set_stale_after_seconds(-1);
  *c.add_regions() = bad;
  const absl::Status s = ValidateFederationConfig(c, "regions.textproto");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  for (const char* part :
       {"regions[1].id: \"china\" is used twice", "regions[2].id: must be",
        "regions[2].parent_node_id: required",
        "regions[2].pipeline_addr: required",
        "regions[2].reporting_currency: DEM is not an active",
        "regions[2].tls_cert_file", "regions[2].tls_ca_file",
        "regions[2].stale_after_seconds: must be 0..86400"}) {
    EXPECT_NE(s.message().find(part), std::string::npos) << part << "\n" << s;
  }
}

TEST(FederationConfigTest, LoadsTheTextFormat) {
  testing::TempDir dir;
  const std::string path = dir.Sub("regions.textproto");
  std::ofstream(path) << "regions { id: \"china\" parent_node_id: \"w\" "
                         "accounts_addr: \"a:1\" pipeline_addr: \"p:2\" }\n"
                         "regions { id: \"europe\" parent_node_id: \"w\" "
                         "accounts_addr: \"a:3\" pipeline_addr: \"p:4\" }\n";
  absl::StatusOr<v1::FederationConfig> c = LoadFederationConfig(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->regions_size(), 2);
  std::ofstream(path) << "regions { id: 7 }";
  EXPECT_EQ(LoadFederationConfig(path).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadFederationConfig(dir.Sub("missing")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RegionNamespaceTest, EveryIdOfEveryKindIsPrefixed) {
  const RegionNamespace ns("china", "org_world");
  v1::OrgNode root;
  root.set_id("n1");
  ns.Apply(&root);
  EXPECT_EQ(root.id(), "china/n1");
  EXPECT_EQ(root.parent_id(), "org_world");  // hangs under the HQ node
  v1::OrgNode child;
  child.set_id("n2");
  child.set_parent_id("n1");
  ns.Apply(&child);
  EXPECT_EQ(child.parent_id(), "china/n1");

  v1::Opportunity o;
  o.set_id("opp_1");
  o.set_owner_node_id("n2");
  o.set_account_id("acc_1");
  o.set_stage_model_id("buying-cycle-6");
  v1::Event e;
  e.set_kind("pipeline.Opportunity");
  e.set_entity_id("opp_1");
  e.mutable_payload()->PackFrom(o);
  ASSERT_TRUE(ns.Apply(&e).ok());
  v1::Opportunity out;
  ASSERT_TRUE(e.payload().UnpackTo(&out));
  EXPECT_EQ(e.entity_id(), "china/opp_1");
  EXPECT_EQ(out.id(), "china/opp_1");
  EXPECT_EQ(out.owner_node_id(), "china/n2");
  EXPECT_EQ(out.account_id(), "china/acc_1");
  EXPECT_EQ(out.stage_model_id(), "china/buying-cycle-6");

  v1::Event wrong;
  wrong.set_kind("pipeline.Opportunity");
  wrong.mutable_payload()->PackFrom(root);
  EXPECT_EQ(ns.Apply(&wrong).code(), absl::StatusCode::kDataLoss);
  v1::Event other;
  other.set_kind("accounts.Account");
  other.set_entity_id("acc_1");
  EXPECT_TRUE(ns.Apply(&other).ok());
  EXPECT_EQ(other.entity_id(), "acc_1");  // not a kind the forecast follows
}

}  // namespace
}  // namespace salesops::forecast
