// The buying-centre transitions (buying_centre_rules.h) without a store or a
// server: field rules, the contact's account, attitude history, weights,
// core defaults, removal and revival.

#include "services/pipeline/buying_centre_rules.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace salesops::pipeline {
namespace {

using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1'767'225'600);
const Principal kAdmin{"admin", Role::kAdmin, ""};
const Principal kRep{"rep-1", Role::kRep, "r1"};

v1::SetContactRoleRequest Req(const std::string& contact, v1::BuyingRole role,
                              v1::Attitude attitude = v1::ATTITUDE_C,
                              int32_t weight = 0) {
  v1::SetContactRoleRequest req;
  req.set_opportunity_id("opp_1");
  req.set_contact_id(contact);
  req.set_role(role);
  req.set_attitude(attitude);
  req.set_influence_weight_pct(weight);
  return req;
}

// The buying centre after setting each request in turn (all must pass).
std::vector<v1::ContactRole> Centre(
    const std::vector<v1::SetContactRoleRequest>& reqs) {
  std::vector<v1::ContactRole> roles;
  for (const v1::SetContactRoleRequest& req : reqs) {
    absl::StatusOr<RoleChange> c =
        SetContactRole("opp_1", roles, req, kAdmin, kT0);
    EXPECT_TRUE(c.ok()) << c.status();
    if (!c.ok()) {
      continue;
    }
    bool replaced = false;
    for (v1::ContactRole& r : roles) {
      if (r.contact_id() == req.contact_id()) {
        r = c->role;
        replaced = true;
      }
    }
    if (!replaced) {
      roles.push_back(c->role);
    }
  }
  return roles;
}

TEST(BuyingCentreRulesTest, FieldsAndTheContactsAccount) {
  EXPECT_TRUE(ValidateSetContactRole(Req("con_1", v1::BUYING_ROLE_USER)).ok());
  const absl::Status s = ValidateSetContactRole(
      Req("", v1::BUYING_ROLE_UNSPECIFIED, static_cast<v1::Attitude>(99), 101));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  for (const char* field :
       {"contact_id", "role", "attitude", "influence_weight_pct"}) {
    EXPECT_THAT(s.message(), HasSubstr(field));
  }
  v1::Opportunity o;
  o.set_account_id("acc_1");
  v1::Contact c;
  c.set_id("con_9");
  c.set_account_id("acc_2");
  EXPECT_THAT(CheckContactAccount(c, o).message(),
              HasSubstr("contact_id: contact con_9 belongs to account acc_2"));
  c.set_account_id("acc_1");
  EXPECT_TRUE(CheckContactAccount(c, o).ok());
}

TEST(BuyingCentreRulesTest, ANewRoleStartsItsRecord) {
  absl::StatusOr<RoleChange> c = SetContactRole(
      "opp_1", {}, Req("con_1", v1::BUYING_ROLE_USER, v1::ATTITUDE_D, 10), kRep,
      kT0);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->existing);
  EXPECT_EQ(c->role.opportunity_id(), "opp_1");
  EXPECT_EQ(c->role.contact_id(), "con_1");
  EXPECT_EQ(c->role.original_attitude(), v1::ATTITUDE_D);
  EXPECT_EQ(c->role.added_micros(), absl::ToUnixMicros(kT0));
  EXPECT_EQ(c->role.changed_micros(), 0);
  EXPECT_TRUE(c->role.attitude_history().empty());
}

TEST(BuyingCentreRulesTest, AttitudeHistoryFromOriginalToCurrent) {
  std::vector<v1::ContactRole> roles =
      Centre({Req("con_1", v1::BUYING_ROLE_DECISION_MAKER, v1::ATTITUDE_D)});
  const absl::Time t1 = kT0 + absl::Hours(48);
  absl::StatusOr<RoleChange> c = SetContactRole(
      "opp_1", roles,
      Req("con_1", v1::BUYING_ROLE_DECISION_MAKER, v1::ATTITUDE_C), kRep, t1);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->existing);
  EXPECT_EQ(c->role.original_attitude(), v1::ATTITUDE_D);
  EXPECT_EQ(c->role.changed_micros(), absl::ToUnixMicros(t1));
  ASSERT_EQ(c->role.attitude_history_size(), 1);
  EXPECT_EQ(c->role.attitude_history(0).from(), v1::ATTITUDE_D);
  EXPECT_EQ(c->role.attitude_history(0).to(), v1::ATTITUDE_C);
  EXPECT_EQ(c->role.attitude_history(0).by(), "rep-1");
  EXPECT_EQ(c->role.attitude_history(0).time_micros(), absl::ToUnixMicros(t1));
  // A role change alone is no attitude change.
  c = SetContactRole("opp_1", {c->role},
                     Req("con_1", v1::BUYING_ROLE_USER, v1::ATTITUDE_C), kRep,
                     t1);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->role.attitude_history_size(), 1);
  EXPECT_EQ(c->role.role(), v1::BUYING_ROLE_USER);
}

TEST(BuyingCentreRulesTest, InfluenceWeightsSumToAtMostHundred) {
  // The seed's reference table: 60 / 30 / 10 / 0.
  const std::vector<v1::ContactRole> roles = Centre({
      Req("con_1", v1::BUYING_ROLE_TECHNICAL_GATEKEEPER, v1::ATTITUDE_C, 60),
      Req("con_2", v1::BUYING_ROLE_INFLUENCER, v1::ATTITUDE_B, 30),
      Req("con_3", v1::BUYING_ROLE_FINANCIAL_BUYER, v1::ATTITUDE_E, 10),
  });
  const auto set = [&](const std::string& contact, int32_t weight) {
    return SetContactRole("opp_1", roles,
                          Req(contact, v1::BUYING_ROLE_DECISION_MAKER,
                              v1::ATTITUDE_C, weight),
                          kAdmin, kT0)
        .status();
  };
  EXPECT_THAT(set("con_4", 1).message(), HasSubstr("influence_weight_pct"));
  EXPECT_TRUE(set("con_4", 0).ok());
  // Raising one weight counts its new value, not old + new.
  EXPECT_THAT(set("con_1", 61).message(), HasSubstr("influence_weight_pct"));
  EXPECT_TRUE(set("con_1", 60).ok());
}

TEST(BuyingCentreRulesTest, CoreByDefaultForTheFourKeyTypes) {
  const auto core = [](v1::BuyingRole role) {
    return SetContactRole("opp_1", {}, Req("con_1", role), kAdmin, kT0)
        ->role.is_core();
  };
  EXPECT_TRUE(core(v1::BUYING_ROLE_DECISION_MAKER));
  EXPECT_TRUE(core(v1::BUYING_ROLE_USER));
  EXPECT_TRUE(core(v1::BUYING_ROLE_TECHNICAL_GATEKEEPER));
  EXPECT_TRUE(core(v1::BUYING_ROLE_COACH));
  EXPECT_FALSE(core(v1::BUYING_ROLE_FINANCIAL_BUYER));
  EXPECT_FALSE(core(v1::BUYING_ROLE_INFLUENCER));
  // Explicit flags win.
  v1::SetContactRoleRequest req = Req("con_1", v1::BUYING_ROLE_INFLUENCER);
  req.set_is_core(true);
  EXPECT_TRUE(SetContactRole("opp_1", {}, req, kAdmin, kT0)->role.is_core());
}

TEST(BuyingCentreRulesTest, RemoveKeepsTheRecordAndFreesTheWeight) {
  std::vector<v1::ContactRole> roles = Centre({
      Req("con_1", v1::BUYING_ROLE_DECISION_MAKER, v1::ATTITUDE_C, 60),
      Req("con_2", v1::BUYING_ROLE_USER, v1::ATTITUDE_B, 40),
  });
  v1::RemoveContactRoleRequest req;
  req.set_opportunity_id("opp_1");
  req.set_contact_id("con_1");
  absl::StatusOr<v1::ContactRole> removed = RemoveContactRole(&roles[0], req);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_TRUE(removed->removed());
  EXPECT_EQ(RemoveContactRole(&*removed, req).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(RemoveContactRole(nullptr, req).status().code(),
            absl::StatusCode::kNotFound);
  roles[0] = *removed;
  // Its weight no longer counts; setting it again brings it back.
  EXPECT_TRUE(
      SetContactRole("opp_1", roles,
                     Req("con_3", v1::BUYING_ROLE_COACH, v1::ATTITUDE_A, 60),
                     kAdmin, kT0)
          .ok());
  const absl::Time later = kT0 + absl::Hours(1);
  absl::StatusOr<RoleChange> back = SetContactRole(
      "opp_1", roles, Req("con_1", v1::BUYING_ROLE_DECISION_MAKER), kAdmin,
      later);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->existing);
  EXPECT_FALSE(back->role.removed());
  EXPECT_EQ(back->role.added_micros(), absl::ToUnixMicros(later));
  EXPECT_EQ(back->role.changed_micros(), 0);
}

}  // namespace
}  // namespace salesops::pipeline
