// Transitions of a contact (contact_rules.h), without a store or server.

#include "services/accounts/contact_rules.h"

#include <gtest/gtest.h>

#include <map>

#include "services/accounts/rules_test_support.h"

namespace salesops::accounts {
namespace {

using rules_testing::Admin;
using rules_testing::FakeScope;
using rules_testing::HasError;
using rules_testing::kNow;
using rules_testing::Manager;
using rules_testing::Rep;

v1::Contact Person(const std::string& account_id, const std::string& name,
                   const std::string& reports_to = "") {
  v1::Contact c;
  c.set_account_id(account_id);
  c.set_name(name);
  c.set_reports_to_id(reports_to);
  return c;
}

v1::Account Owned(const std::string& id, const std::string& owner) {
  v1::Account a;
  a.set_id(id);
  a.set_owner_node_id(owner);
  return a;
}

TEST(ContactRulesTest, RequestsNeedANameAnAccountAndRealDates) {
  v1::CreateContactRequest req;
  *req.mutable_contact() = Person("", "");
  absl::Status s = CheckCreateContact(req);
  EXPECT_TRUE(HasError(s, absl::StatusCode::kInvalidArgument, "contact.name"));
  EXPECT_TRUE(
      HasError(s, absl::StatusCode::kInvalidArgument, "contact.account_id"));
  *req.mutable_contact() = Person("acc_1", "Ann");
  EXPECT_TRUE(CheckCreateContact(req).ok());
  req.mutable_contact()->mutable_birthday()->set_month(2);
  req.mutable_contact()->mutable_birthday()->set_day(29);  // year 0: ok
  EXPECT_TRUE(CheckCreateContact(req).ok());
  req.mutable_contact()->mutable_birthday()->set_year(2023);
  EXPECT_TRUE(HasError(CheckCreateContact(req),
                       absl::StatusCode::kInvalidArgument, "contact.birthday"));
  v1::UpdateContactRequest update;
  *update.mutable_contact() = Person("acc_1", "Ann");
  update.mutable_contact()->set_id("con_1");
  EXPECT_TRUE(CheckUpdateContact(update).ok());
  // The status is checked on the merged contact (field masks, D32): "*"
  // without a status clears it, which is refused; the implied mask keeps
  // the stored one.
  v1::Contact stored = update.contact();
  stored.set_status(v1::CONTACT_STATUS_ACTIVE);
  update.mutable_update_mask()->add_paths("*");
  EXPECT_TRUE(HasError(MergeContactUpdate(stored, update).status(),
                       absl::StatusCode::kInvalidArgument, "contact.status"));
  update.clear_update_mask();
  ASSERT_TRUE(MergeContactUpdate(stored, update).ok());
  EXPECT_EQ(MergeContactUpdate(stored, update)->status(),
            v1::CONTACT_STATUS_ACTIVE);
  // account_id: empty or the stored one in the entity, never in the mask.
  update.mutable_contact()->set_account_id("acc_2");
  EXPECT_TRUE(HasError(MergeContactUpdate(stored, update).status(),
                       absl::StatusCode::kInvalidArgument,
                       "contact.account_id: cannot change"));
  update.mutable_contact()->set_account_id("acc_1");
  update.mutable_update_mask()->add_paths("account_id");
  EXPECT_TRUE(HasError(CheckUpdateContact(update),
                       absl::StatusCode::kInvalidArgument,
                       "update_mask.paths[0]: 'account_id' is immutable"));
}

TEST(ContactRulesTest, WritersFollowTheScopePolicyOfTheOwnerNode) {
  // a <- r1, a <- r2
  const std::map<std::string, std::string> tree = {{"r1", "a"}, {"r2", "a"}};
  ContactReads mine, theirs;
  mine.account = Owned("acc_1", "r1");
  theirs.account = Owned("acc_2", "r2");
  const v1::Contact in = Person("acc_1", "Ann");
  auto create = [&](const Principal& who, const ContactReads& reads) {
    return CreateContact(in, reads, rules_testing::PolicyScope(who, tree),
                         "con_1", kNow)
        .status();
  };
  EXPECT_TRUE(create(Rep("r1"), mine).ok());
  EXPECT_TRUE(HasError(create(Rep("r1"), theirs),
                       absl::StatusCode::kPermissionDenied, "REP"));
  EXPECT_TRUE(
      HasError(create(Rep(""), mine), absl::StatusCode::kPermissionDenied));
  EXPECT_TRUE(create(Manager("a"), theirs).ok());
  EXPECT_TRUE(HasError(create(Manager("r1"), theirs),
                       absl::StatusCode::kPermissionDenied, "contacts"));
  EXPECT_TRUE(create(Admin(), theirs).ok());
}

TEST(ContactRulesTest, CreateNeedsTheAccountAndABossOfTheSameAccount) {
  FakeScope all = FakeScope::All();
  ContactReads reads;
  const v1::Contact in = Person("acc_1", " Ann ", "con_boss");
  EXPECT_TRUE(
      HasError(CreateContact(in, reads, all.fn(), "con_1", kNow).status(),
               absl::StatusCode::kInvalidArgument, "contact.account_id"));
  reads.account = Owned("acc_1", "");
  EXPECT_TRUE(
      HasError(CreateContact(in, reads, all.fn(), "con_1", kNow).status(),
               absl::StatusCode::kInvalidArgument, "not found"));
  reads.boss = Person("acc_2", "Other");
  EXPECT_TRUE(
      HasError(CreateContact(in, reads, all.fn(), "con_1", kNow).status(),
               absl::StatusCode::kInvalidArgument, "belongs to account acc_2"));
  reads.boss = Person("acc_1", "Boss");
  absl::StatusOr<ContactChange> c =
      CreateContact(in, reads, all.fn(), "con_1", kNow);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->contact.id(), "con_1");
  EXPECT_EQ(c->contact.name(), "Ann");
  EXPECT_EQ(c->contact.status(), v1::CONTACT_STATUS_ACTIVE);
  EXPECT_EQ(c->contact.created_micros(), Micros(kNow));
}

TEST(ContactRulesTest, UpdateKeepsTheAccountAndRejectsCycles) {
  // ceo <- vp <- lead
  const std::map<std::string, std::string> manager_of = {
      {"ceo", ""}, {"vp", "ceo"}, {"lead", "vp"}};
  const ReportsToFn reports_to =
      [&](const std::string& id) -> std::optional<std::string> {
    auto it = manager_of.find(id);
    if (it == manager_of.end()) return std::nullopt;
    return it->second;
  };
  v1::Contact stored = Person("acc_1", "CEO");
  stored.set_id("ceo");
  stored.set_created_micros(7);
  FakeScope all = FakeScope::All();
  ContactReads reads;
  reads.account = Owned("acc_1", "");
  v1::Contact in = stored;
  in.set_account_id("acc_2");
  EXPECT_TRUE(HasError(
      UpdateContact(stored, in, reads, reports_to, all.fn(), kNow).status(),
      absl::StatusCode::kInvalidArgument, "contact.account_id: cannot change"));
  in.set_account_id("");
  in.set_reports_to_id("lead");
  reads.boss = Person("acc_1", "Lead");
  EXPECT_TRUE(HasError(
      UpdateContact(stored, in, reads, reports_to, all.fn(), kNow).status(),
      absl::StatusCode::kInvalidArgument, "cycle"));
  in.set_reports_to_id("");
  absl::StatusOr<ContactChange> c =
      UpdateContact(stored, in, reads, reports_to, all.fn(), kNow);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->contact.account_id(), "acc_1");
  EXPECT_EQ(c->contact.created_micros(), 7);
  EXPECT_EQ(c->contact.updated_micros(), Micros(kNow));
}

}  // namespace
}  // namespace salesops::accounts
