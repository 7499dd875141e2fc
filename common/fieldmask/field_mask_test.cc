#include "common/fieldmask/field_mask.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/status/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "salesops/v1/accounts.pb.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops::fieldmask {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const EntityRules& AccountRules() {
  static const EntityRules* rules =
      new EntityRules{{"name", "industry", "owner_node_id", "tier",
                       "purchase_potential", "external_id"},
                      {}};
  return *rules;
}

const EntityRules& OpportunityRules() {
  static const EntityRules* rules = new EntityRules{
      {"name", "amount", "competitors", "next_step"},
      {{"account_id", "create a new opportunity for another account"}}};
  return *rules;
}

google::protobuf::FieldMask Mask(std::vector<std::string> paths) {
  google::protobuf::FieldMask m;
  for (std::string& p : paths) {
    m.add_paths(std::move(p));
  }
  return m;
}

v1::Account Stored() {
  v1::Account a;
  a.set_id("acc_1");
  a.set_name("Acme");
  a.set_industry("Steel");
  a.set_owner_node_id("org_rep");
  a.set_tier(v1::ACCOUNT_TIER_GOLD);
  a.set_segment(v1::ACCOUNT_SEGMENT_RETAIN);
  a.set_version(3);
  return a;
}

v1::Opportunity StoredOpportunity() {
  v1::Opportunity o;
  o.set_id("opp_1");
  o.set_account_id("acc_1");
  o.set_name("Deal");
  o.mutable_amount()->set_units_minor(500);
  o.mutable_amount()->set_currency("EUR");
  o.add_competitors()->set_name("Rival A");
  o.add_competitors()->set_name("Rival B");
  o.mutable_next_step()->set_text("call");
  return o;
}

TEST(FieldMask, ExplicitPathsChangeOnlyThoseFields) {
  v1::Account in;
  in.set_id("acc_1");
  in.set_name("Renamed");
  in.set_industry("Mining");  // not named: ignored
  absl::StatusOr<v1::Account> got =
      Merge(Stored(), in, Mask({"name"}), AccountRules());
  ASSERT_TRUE(got.ok()) << got.status();
  v1::Account want = Stored();
  want.set_name("Renamed");
  EXPECT_EQ(got->SerializeAsString(), want.SerializeAsString());
}

TEST(FieldMask, ANamedFieldAbsentInTheRequestIsCleared) {
  v1::Account in;
  absl::StatusOr<v1::Account> got =
      Merge(Stored(), in, Mask({"tier", "owner_node_id"}), AccountRules());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->tier(), v1::ACCOUNT_TIER_UNSPECIFIED);
  EXPECT_EQ(got->owner_node_id(), "");
  EXPECT_EQ(got->name(), "Acme");
}

TEST(FieldMask, ImpliedMaskTakesOnlyPopulatedWritableFields) {
  v1::Account in;
  in.set_id("acc_1");
  in.set_name("Renamed");
  in.set_segment(v1::ACCOUNT_SEGMENT_ACQUIRE);  // output only: ignored
  in.set_version(99);                           // output only: ignored
  absl::StatusOr<ResolvedMask> mask =
      Resolve(google::protobuf::FieldMask(), in, AccountRules());
  ASSERT_TRUE(mask.ok()) << mask.status();
  EXPECT_EQ(mask->kind, MaskKind::kImplied);
  EXPECT_THAT(mask->paths.paths(), ElementsAre("name"));
  absl::StatusOr<v1::Account> got =
      Merge(Stored(), in, google::protobuf::FieldMask(), AccountRules());
  ASSERT_TRUE(got.ok());
  v1::Account want = Stored();
  want.set_name("Renamed");
  EXPECT_EQ(got->SerializeAsString(), want.SerializeAsString());
}

TEST(FieldMask, StarReplacesEveryWritableFieldAndNothingElse) {
  v1::Account in;
  in.set_name("Only name");
  in.set_segment(v1::ACCOUNT_SEGMENT_ACQUIRE);
  absl::StatusOr<v1::Account> got =
      Merge(Stored(), in, Mask({"*"}), AccountRules());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name(), "Only name");
  EXPECT_EQ(got->industry(), "");
  EXPECT_EQ(got->owner_node_id(), "");
  EXPECT_EQ(got->tier(), v1::ACCOUNT_TIER_UNSPECIFIED);
  EXPECT_EQ(got->id(), "acc_1");
  EXPECT_EQ(got->segment(), v1::ACCOUNT_SEGMENT_RETAIN);
  EXPECT_EQ(got->version(), 3);
}

TEST(FieldMask, BadPathsAreRefusedEachNamingItsPathAndRule) {
  v1::Opportunity in;
  absl::StatusOr<ResolvedMask> got =
      Resolve(Mask({"name", "nope", "status", "account_id", "name"}), in,
              OpportunityRules());
  ASSERT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      FieldViolationsOf(got.status()),
      ElementsAre(
          FieldViolation{"update_mask.paths[1]",
                         "'nope' is not a field of salesops.v1.Opportunity"},
          FieldViolation{"update_mask.paths[2]", "'status' is output only"},
          FieldViolation{"update_mask.paths[3]",
                         "'account_id' is immutable: create a new "
                         "opportunity for another account"}));
  EXPECT_THAT(got.status().message(), HasSubstr("'nope'"));
}

TEST(FieldMask, StarMixedWithOtherPathsIsRefused) {
  absl::StatusOr<ResolvedMask> got =
      Resolve(Mask({"name", "*"}), v1::Account(), AccountRules());
  ASSERT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(FieldViolationsOf(got.status()),
              ElementsAre(FieldViolation{
                  "update_mask.paths[1]",
                  "'*' (every writable field) must be the only path"}));
}

TEST(FieldMask, NestedPathChangesOnlyTheSubField) {
  v1::Opportunity in;
  in.mutable_amount()->set_units_minor(900);
  in.mutable_amount()->set_currency("USD");  // not named: ignored
  absl::StatusOr<v1::Opportunity> got =
      Merge(StoredOpportunity(), in, Mask({"amount.units_minor"}),
            OpportunityRules());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->amount().units_minor(), 900);
  EXPECT_EQ(got->amount().currency(), "EUR");
}

TEST(FieldMask, NestedPathIntoARepeatedOrScalarFieldIsRefused) {
  absl::StatusOr<ResolvedMask> got =
      Resolve(Mask({"competitors.name", "name.x", "amount.nope"}),
              v1::Opportunity(), OpportunityRules());
  ASSERT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  const std::vector<FieldViolation> v = FieldViolationsOf(got.status());
  ASSERT_EQ(v.size(), 3u);
  EXPECT_THAT(v[0].description, HasSubstr("not a singular message field"));
  EXPECT_THAT(v[1].description, HasSubstr("not a singular message field"));
  EXPECT_EQ(v[2].description,
            "'amount.nope' is not a field of salesops.v1.Opportunity");
}

TEST(FieldMask, NamedRepeatedAndMessageFieldsAreReplacedWhole) {
  v1::Opportunity in;
  in.add_competitors()->set_name("Rival C");
  in.mutable_next_step()->mutable_due()->set_year(2027);
  absl::StatusOr<v1::Opportunity> got =
      Merge(StoredOpportunity(), in, Mask({"competitors", "next_step"}),
            OpportunityRules());
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->competitors_size(), 1);
  EXPECT_EQ(got->competitors(0).name(), "Rival C");
  EXPECT_EQ(got->next_step().text(), "");  // replaced, not merged
  EXPECT_EQ(got->next_step().due().year(), 2027);
}

TEST(FieldMask, DuplicateAndOverlappingPathsAreFine) {
  v1::Opportunity in;
  in.set_name("New");
  in.mutable_amount()->set_units_minor(7);
  absl::StatusOr<ResolvedMask> got =
      Resolve(Mask({"name", "name", "amount", "amount.units_minor"}), in,
              OpportunityRules());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(got->paths.paths(), ElementsAre("amount", "name"));
  EXPECT_TRUE(got->Covers("amount"));
  EXPECT_FALSE(got->Covers("next_step"));
}

TEST(FieldMask, ImpliedMaskOfAnEmptyRequestChangesNothing) {
  absl::StatusOr<v1::Account> got = Merge(
      Stored(), v1::Account(), google::protobuf::FieldMask(), AccountRules());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->SerializeAsString(), Stored().SerializeAsString());
}

}  // namespace
}  // namespace salesops::fieldmask
