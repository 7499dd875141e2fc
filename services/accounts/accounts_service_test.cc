// gRPC-level tests of accounts and contacts (SPEC.md §2.1, §2.2): wiring,
// indexes, versions and listings. The rules themselves are tested without a
// server in account_rules_test.cc and contact_rules_test.cc.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/accounts/accounts_test_fixture.h"

namespace salesops::accounts {
namespace {

TEST_F(AccountsAccountTest, CreateAssignsIdVersionAndDerivesTheSegment) {
  struct Case {
    v1::Level potential, share;
    v1::AccountSegment want;
  };
  const std::vector<Case> cases = {
      {v1::LEVEL_HIGH, v1::LEVEL_LOW, v1::ACCOUNT_SEGMENT_ACQUIRE},
      {v1::LEVEL_HIGH, v1::LEVEL_HIGH, v1::ACCOUNT_SEGMENT_RETAIN},
      {v1::LEVEL_LOW, v1::LEVEL_HIGH, v1::ACCOUNT_SEGMENT_MAINTAIN},
      {v1::LEVEL_LOW, v1::LEVEL_LOW, v1::ACCOUNT_SEGMENT_DEPRIORITIZE},
      {v1::LEVEL_UNSPECIFIED, v1::LEVEL_HIGH, v1::ACCOUNT_SEGMENT_UNSPECIFIED},
      {v1::LEVEL_HIGH, v1::LEVEL_UNSPECIFIED, v1::ACCOUNT_SEGMENT_UNSPECIFIED},
  };
  std::set<std::string> ids;
  for (size_t i = 0; i < cases.size(); ++i) {
    v1::Account in = Acct(absl::StrCat("Customer ", i));
    in.set_industry("steel");
    in.set_purchase_potential(cases[i].potential);
    in.set_share_of_wallet(cases[i].share);
    in.set_segment(v1::ACCOUNT_SEGMENT_MAINTAIN);  // ignored: derived
    in.set_id("acc_client_chosen");                // ignored
    in.set_version(42);                            // ignored
    v1::Account out;
    ASSERT_TRUE(IsOk(CreateAccount(in, &out))) << i;
    EXPECT_TRUE(absl::StartsWith(out.id(), "acc_")) << out.id();
    EXPECT_NE(out.id(), "acc_client_chosen");
    EXPECT_EQ(out.version(), 1);
    EXPECT_EQ(out.name(), absl::StrCat("Customer ", i));
    EXPECT_EQ(out.industry(), "steel");
    EXPECT_EQ(out.segment(), cases[i].want) << "case " << i;
    ids.insert(out.id());

    v1::Account got;
    ASSERT_TRUE(IsOk(GetAccount(out.id(), &got)));
    EXPECT_EQ(got.SerializeAsString(), out.SerializeAsString());
  }
  EXPECT_EQ(ids.size(), cases.size());
}

TEST_F(AccountsAccountTest, DuplicateNameIsCaseInsensitiveAfterTrimming) {
  v1::Account first = MustCreateAccount(Acct("  Acme  "));
  ASSERT_FALSE(first.id().empty());
  for (const char* name : {"ACME", "acme", " Acme", "Acme\t"}) {
    v1::Account out;
    grpc::Status s = CreateAccount(Acct(name), &out);
    EXPECT_TRUE(IsError(s, grpc::StatusCode::ALREADY_EXISTS, first.id()))
        << "name \"" << name << "\"";
  }
  v1::Account other;
  EXPECT_TRUE(IsOk(CreateAccount(Acct("Acme Holdings"), &other)));
}

TEST_F(AccountsAccountTest, DuplicateExternalIdIsRejected) {
  v1::Account a = Acct("First");
  a.set_external_id("crm-17");
  v1::Account first;
  ASSERT_TRUE(IsOk(CreateAccount(a, &first)));
  EXPECT_EQ(first.external_id(), "crm-17");
  v1::Account b = Acct("Second");
  b.set_external_id("crm-17");
  v1::Account out;
  EXPECT_TRUE(
      IsError(CreateAccount(b, &out), grpc::StatusCode::ALREADY_EXISTS));
  b.set_external_id("crm-18");
  EXPECT_TRUE(IsOk(CreateAccount(b, &out)));
}

TEST_F(AccountsAccountTest, RequestIdMakesCreateIdempotent) {
  v1::Account first, again;
  ASSERT_TRUE(IsOk(CreateAccount(Acct("Idem"), &first, kAdminToken, "req-1")));
  const uint64_t after_first = store_->last_sequence();
  EXPECT_EQ(after_first, 1u);
  ASSERT_TRUE(IsOk(CreateAccount(Acct("Idem"), &again, kAdminToken, "req-1")));
  EXPECT_EQ(again.id(), first.id());
  EXPECT_EQ(again.version(), 1);
  EXPECT_EQ(store_->last_sequence(), after_first) << "one event only";
  int events = 0;
  ASSERT_TRUE(store_
                  ->ReadEvents(0, 100,
                               [&](v1::Event& ev) {
                                 ++events;
                                 EXPECT_EQ(ev.kind(), "accounts.Account");
                                 EXPECT_EQ(ev.entity_id(), first.id());
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(events, 1);
}

TEST_F(AccountsAccountTest, GetOrUpdateOfUnknownAccountIsNotFound) {
  v1::Account out;
  EXPECT_TRUE(IsError(GetAccount("acc_01NOSUCHACCOUNT0000000000", &out),
                      grpc::StatusCode::NOT_FOUND));
  v1::Account ghost = Acct("Ghost");
  ghost.set_id("acc_01NOSUCHACCOUNT0000000000");
  EXPECT_TRUE(
      IsError(UpdateAccount(ghost, 0, &out), grpc::StatusCode::NOT_FOUND));
}

TEST_F(AccountsAccountTest, UpdateChecksVersionAndRederivesTheSegment) {
  v1::Account in = Acct("Versioned");
  in.set_purchase_potential(v1::LEVEL_HIGH);
  in.set_share_of_wallet(v1::LEVEL_LOW);
  v1::Account first = MustCreateAccount(in);
  ASSERT_EQ(first.segment(), v1::ACCOUNT_SEGMENT_ACQUIRE);

  v1::Account change = first;
  change.set_industry("chemicals");
  change.set_share_of_wallet(v1::LEVEL_HIGH);
  v1::Account out;
  EXPECT_TRUE(
      IsError(UpdateAccount(change, 7, &out), grpc::StatusCode::ABORTED));
  v1::Account got;
  ASSERT_TRUE(IsOk(GetAccount(first.id(), &got)));
  EXPECT_EQ(got.version(), 1);
  EXPECT_EQ(got.industry(), "");

  v1::Account v2;
  ASSERT_TRUE(IsOk(UpdateAccount(change, 1, &v2)));
  EXPECT_EQ(v2.id(), first.id());
  EXPECT_EQ(v2.version(), 2);
  EXPECT_EQ(v2.industry(), "chemicals");
  EXPECT_EQ(v2.segment(), v1::ACCOUNT_SEGMENT_RETAIN);
  EXPECT_EQ(v2.created_micros(), first.created_micros());

  // A second writer still holding version 1 loses.
  EXPECT_TRUE(
      IsError(UpdateAccount(change, 1, &out), grpc::StatusCode::ABORTED));
  // 0 = any version.
  change.set_industry("glass");
  v1::Account v3;
  ASSERT_TRUE(IsOk(UpdateAccount(change, 0, &v3)));
  EXPECT_EQ(v3.version(), 3);
  ASSERT_TRUE(IsOk(GetAccount(first.id(), &got)));
  EXPECT_EQ(got.SerializeAsString(), v3.SerializeAsString());
}

TEST_F(AccountsAccountTest, RenameKeepsNamesUniqueAndFreesTheOldName) {
  v1::Account alpha = MustCreateAccount(Acct("Alpha"));
  v1::Account beta = MustCreateAccount(Acct("Beta"));
  v1::Account change = alpha;
  change.set_name(" BETA ");
  v1::Account out;
  EXPECT_TRUE(IsError(UpdateAccount(change, 0, &out),
                      grpc::StatusCode::ALREADY_EXISTS, beta.id()));
  // Renaming to its own name in another case is not a conflict with itself.
  change.set_name("ALPHA");
  ASSERT_TRUE(IsOk(UpdateAccount(change, 0, &out)));
  change.set_name("Gamma");
  ASSERT_TRUE(IsOk(UpdateAccount(change, 0, &out)));
  EXPECT_EQ(out.name(), "Gamma");
  // "Alpha" is free again; "gamma" is not.
  v1::Account reuse;
  EXPECT_TRUE(IsOk(CreateAccount(Acct("alpha"), &reuse)));
  EXPECT_NE(reuse.id(), alpha.id());
  EXPECT_TRUE(IsError(CreateAccount(Acct("gamma"), &out),
                      grpc::StatusCode::ALREADY_EXISTS, alpha.id()));
}

TEST_F(AccountsAccountTest, ListPaginatesAndReportsTheFeedSequence) {
  std::vector<std::string> created;
  for (int i = 0; i < 7; ++i) {
    created.push_back(MustCreateAccount(Acct(absl::StrCat("List ", i))).id());
  }
  const uint64_t last_write = store_->last_sequence();
  ASSERT_EQ(last_write, 7u);

  v1::ListAccountsRequest req;
  req.set_page_size(3);
  v1::ListAccountsResponse page1;
  ASSERT_TRUE(IsOk(Call(&Stub::ListAccounts, req, &page1)));
  EXPECT_EQ(page1.accounts_size(), 3);
  EXPECT_FALSE(page1.next_page_token().empty());
  EXPECT_GE(page1.feed_sequence(), last_write);

  int pages = 0;
  std::vector<v1::Account> all = ListAllAccounts({}, 3, &pages);
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(Ids(all), UnorderedElementsAreArray(created));

  all = ListAllAccounts({}, 1000, &pages);
  EXPECT_EQ(pages, 1);
  EXPECT_EQ(all.size(), 7u);

  v1::ListAccountsResponse resp;
  req.set_page_size(1001);  // capped at 1000 (AIP-158), not refused
  EXPECT_TRUE(IsOk(Call(&Stub::ListAccounts, req, &resp)));
  EXPECT_EQ(resp.accounts_size(), 7);
  req.set_page_size(-1);
  EXPECT_TRUE(IsError(Call(&Stub::ListAccounts, req, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT, "page_size"));
  req.set_page_size(3);
  req.set_page_token("!!not a token!!");
  EXPECT_TRUE(IsError(Call(&Stub::ListAccounts, req, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_F(AccountsAccountTest, ListFiltersByOwnerIndustryTierAndSegment) {
  Org org = BuildOrg();
  auto make = [&](const std::string& name, const std::string& owner,
                  const std::string& industry, v1::AccountTier tier,
                  v1::Level potential, v1::Level share) {
    v1::Account a = Acct(name, owner);
    a.set_industry(industry);
    a.set_tier(tier);
    a.set_purchase_potential(potential);
    a.set_share_of_wallet(share);
    return MustCreateAccount(a).id();
  };
  const std::string a1 =
      make("A1", org.r1.id(), "steel", v1::ACCOUNT_TIER_GOLD, v1::LEVEL_HIGH,
           v1::LEVEL_LOW);  // ACQUIRE
  const std::string a2 =
      make("A2", org.r1.id(), "glass", v1::ACCOUNT_TIER_SILVER, v1::LEVEL_HIGH,
           v1::LEVEL_HIGH);  // RETAIN
  const std::string a3 =
      make("A3", org.r2.id(), "steel", v1::ACCOUNT_TIER_GOLD, v1::LEVEL_LOW,
           v1::LEVEL_HIGH);  // MAINTAIN
  const std::string a4 =
      make("A4", org.r3.id(), "mining", v1::ACCOUNT_TIER_STANDARD,
           v1::LEVEL_HIGH, v1::LEVEL_LOW);  // ACQUIRE
  const std::string a5 =
      make("A5", "", "steel", v1::ACCOUNT_TIER_UNSPECIFIED, v1::LEVEL_LOW,
           v1::LEVEL_LOW);  // DEPRIORITIZE
  int pages = 0;
  v1::ListAccountsRequest req;
  req.set_owner_node_id(org.r1.id());
  EXPECT_THAT(Ids(ListAllAccounts(req, 1, &pages)),
              UnorderedElementsAre(a1, a2));
  req.Clear();
  req.set_industry("steel");
  EXPECT_THAT(Ids(ListAllAccounts(req, 2, &pages)),
              UnorderedElementsAre(a1, a3, a5));
  req.Clear();
  req.set_tier(v1::ACCOUNT_TIER_GOLD);
  EXPECT_THAT(Ids(ListAllAccounts(req, 100, &pages)),
              UnorderedElementsAre(a1, a3));
  req.Clear();
  req.set_segment(v1::ACCOUNT_SEGMENT_ACQUIRE);
  EXPECT_THAT(Ids(ListAllAccounts(req, 1, &pages)),
              UnorderedElementsAre(a1, a4));
  req.Clear();
  req.set_industry("steel");
  req.set_tier(v1::ACCOUNT_TIER_GOLD);
  req.set_owner_node_id(org.r2.id());
  EXPECT_THAT(Ids(ListAllAccounts(req, 100, &pages)), ElementsAre(a3));
  req.Clear();
  req.set_industry("textiles");
  EXPECT_TRUE(ListAllAccounts(req, 100, &pages).empty());
}

// ===========================================================================
// Contacts and the customer's org chart

TEST_F(AccountsContactTest, CreateValidatesAccountAndNameAndDefaultsToActive) {
  v1::Account acme = MustCreateAccount(Acct("Acme"));
  v1::Contact out;
  EXPECT_TRUE(IsError(
      CreateContact(Person("acc_01NOSUCHACCOUNT0000000000", "Ann"), &out),
      grpc::StatusCode::INVALID_ARGUMENT, "contact.account_id"));
  EXPECT_TRUE(IsError(CreateContact(Person("", "Ann"), &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "contact.account_id"));
  EXPECT_TRUE(IsError(CreateContact(Person(acme.id(), ""), &out),
                      grpc::StatusCode::INVALID_ARGUMENT, "contact.name"));
  const uint64_t before = store_->last_sequence();

  v1::Contact in = Person(acme.id(), "Ann Lee");
  in.set_title("Head of purchasing");
  in.set_function(v1::CONTACT_FUNCTION_PURCHASING);
  in.set_level(v1::CONTACT_LEVEL_DECISION);
  ASSERT_TRUE(IsOk(CreateContact(in, &out)));
  EXPECT_TRUE(absl::StartsWith(out.id(), "con_")) << out.id();
  EXPECT_EQ(out.version(), 1);
  EXPECT_EQ(out.status(), v1::CONTACT_STATUS_ACTIVE);
  EXPECT_EQ(out.account_id(), acme.id());
  EXPECT_EQ(out.title(), "Head of purchasing");
  EXPECT_EQ(store_->last_sequence(), before + 1);
  v1::Contact got;
  ASSERT_TRUE(IsOk(GetContact(out.id(), &got)));
  EXPECT_EQ(got.SerializeAsString(), out.SerializeAsString());
  EXPECT_TRUE(IsError(GetContact("con_01NOSUCHCONTACT0000000000", &got),
                      grpc::StatusCode::NOT_FOUND));
}

TEST_F(AccountsContactTest, UpdateThatWouldCreateACycleChangesNothing) {
  v1::Account acme = MustCreateAccount(Acct("Acme"));
  v1::Contact ceo = MustCreateContact(Person(acme.id(), "CEO"));
  v1::Contact vp = MustCreateContact(Person(acme.id(), "VP", ceo.id()));
  v1::Contact lead = MustCreateContact(Person(acme.id(), "Lead", vp.id()));
  const uint64_t before = store_->last_sequence();

  v1::Contact out;
  v1::Contact change = ceo;
  change.set_reports_to_id(lead.id());  // ceo → lead → vp → ceo
  EXPECT_TRUE(IsError(UpdateContact(change, 1, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "contact.reports_to_id"));
  change.set_reports_to_id(ceo.id());  // reports to itself
  EXPECT_TRUE(IsError(UpdateContact(change, 1, &out),
                      grpc::StatusCode::INVALID_ARGUMENT,
                      "contact.reports_to_id"));
  EXPECT_EQ(store_->last_sequence(), before);
  v1::Contact got;
  ASSERT_TRUE(IsOk(GetContact(ceo.id(), &got)));
  EXPECT_EQ(got.SerializeAsString(), ceo.SerializeAsString());

  // A legal re-parenting works and bumps the version.
  change = lead;
  change.set_reports_to_id(ceo.id());
  ASSERT_TRUE(IsOk(UpdateContact(change, 1, &out)));
  EXPECT_EQ(out.version(), 2);
  EXPECT_EQ(out.reports_to_id(), ceo.id());
  // Stale version.
  change.set_title("Team lead");
  EXPECT_TRUE(
      IsError(UpdateContact(change, 1, &out), grpc::StatusCode::ABORTED));
}

TEST_F(AccountsContactTest, LeftContactIsKeptAndFilterable) {
  v1::Account acme = MustCreateAccount(Acct("Acme"));
  v1::Contact stays = MustCreateContact(Person(acme.id(), "Stays"));
  v1::Contact leaves = MustCreateContact(Person(acme.id(), "Leaves"));
  v1::Contact change = leaves;
  change.set_status(v1::CONTACT_STATUS_LEFT);
  v1::Contact out;
  ASSERT_TRUE(IsOk(UpdateContact(change, 1, &out)));
  EXPECT_EQ(out.status(), v1::CONTACT_STATUS_LEFT);
  EXPECT_EQ(out.version(), 2);
  v1::Contact got;
  ASSERT_TRUE(IsOk(GetContact(leaves.id(), &got)));
  EXPECT_EQ(got.status(), v1::CONTACT_STATUS_LEFT);

  auto list = [&](v1::ContactStatus status) {
    v1::ListContactsRequest req;
    req.set_account_id(acme.id());
    req.set_status(status);
    v1::ListContactsResponse resp;
    EXPECT_TRUE(IsOk(Call(&Stub::ListContacts, req, &resp)));
    std::vector<std::string> ids;
    for (const auto& c : resp.contacts()) {
      ids.push_back(c.id());
    }
    return ids;
  };
  EXPECT_THAT(list(v1::CONTACT_STATUS_LEFT), ElementsAre(leaves.id()));
  EXPECT_THAT(list(v1::CONTACT_STATUS_ACTIVE), ElementsAre(stays.id()));
  EXPECT_THAT(list(v1::CONTACT_STATUS_UNSPECIFIED),
              UnorderedElementsAre(stays.id(), leaves.id()));
}

TEST_F(AccountsContactTest, ListRequiresAccountAndPaginates) {
  v1::Account acme = MustCreateAccount(Acct("Acme"));
  v1::Account globex = MustCreateAccount(Acct("Globex"));
  std::vector<std::string> created;
  for (int i = 0; i < 5; ++i) {
    created.push_back(
        MustCreateContact(Person(acme.id(), absl::StrCat("P", i))).id());
  }
  MustCreateContact(Person(globex.id(), "Elsewhere"));

  v1::ListContactsRequest req;
  v1::ListContactsResponse resp;
  EXPECT_TRUE(IsError(Call(&Stub::ListContacts, req, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT, "account_id"));

  req.set_account_id(acme.id());
  req.set_page_size(2);
  std::vector<std::string> seen;
  int pages = 0;
  for (int guard = 0; guard < 20; ++guard) {
    resp.Clear();
    ASSERT_TRUE(IsOk(Call(&Stub::ListContacts, req, &resp)));
    ++pages;
    EXPECT_LE(resp.contacts_size(), 2);
    for (const auto& c : resp.contacts()) {
      EXPECT_EQ(c.account_id(), acme.id());
      seen.push_back(c.id());
    }
    if (resp.next_page_token().empty()) {
      break;
    }
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(seen, UnorderedElementsAreArray(created));
  req.set_page_size(-1);
  req.clear_page_token();
  EXPECT_TRUE(IsError(Call(&Stub::ListContacts, req, &resp),
                      grpc::StatusCode::INVALID_ARGUMENT, "page_size"));
}

TEST_F(AccountsContactTest, OrgChartIsAForestOrderedByContactId) {
  v1::Account acme = MustCreateAccount(Acct("Acme"));
  // Names sort against creation order, so ordering by name would show.
  v1::Contact c1 = MustCreateContact(Person(acme.id(), "Zed (root 1)"));
  v1::Contact c2 = MustCreateContact(Person(acme.id(), "Yan (root 2)"));
  v1::Contact c3 = MustCreateContact(Person(acme.id(), "Xia", c1.id()));
  v1::Contact c4 = MustCreateContact(Person(acme.id(), "Wu (leaves)", c1.id()));
  v1::Contact c5 = MustCreateContact(Person(acme.id(), "Vic", c3.id()));
  v1::Contact c6 = MustCreateContact(Person(acme.id(), "Uma", c2.id()));
  v1::Contact c7 = MustCreateContact(Person(acme.id(), "Tom", c1.id()));
  ASSERT_LT(c1.id(), c2.id());
  ASSERT_LT(c4.id(), c7.id());
  v1::Contact left = c4;
  left.set_status(v1::CONTACT_STATUS_LEFT);
  v1::Contact c4_left;
  ASSERT_TRUE(IsOk(UpdateContact(left, 1, &c4_left)));
  // Another account's contacts never show.
  v1::Account globex = MustCreateAccount(Acct("Globex"));
  MustCreateContact(Person(globex.id(), "Stranger"));

  auto ids_of =
      [](const google::protobuf::RepeatedPtrField<v1::OrgChartNode>& nodes) {
        std::vector<std::string> ids;
        for (const auto& n : nodes) {
          ids.push_back(n.contact().id());
        }
        return ids;
      };

  v1::GetOrgChartResponse chart;
  ASSERT_TRUE(IsOk(GetOrgChart(acme.id(), false, &chart)));
  ASSERT_THAT(ids_of(chart.roots()), ElementsAre(c1.id(), c2.id()));
  const v1::OrgChartNode& r1 = chart.roots(0);
  EXPECT_EQ(r1.contact().SerializeAsString(), c1.SerializeAsString());
  ASSERT_THAT(ids_of(r1.reports()), ElementsAre(c3.id(), c7.id()));
  ASSERT_THAT(ids_of(r1.reports(0).reports()), ElementsAre(c5.id()));
  EXPECT_EQ(r1.reports(0).reports(0).reports_size(), 0);
  EXPECT_EQ(r1.reports(1).reports_size(), 0);
  const v1::OrgChartNode& r2 = chart.roots(1);
  ASSERT_THAT(ids_of(r2.reports()), ElementsAre(c6.id()));
  EXPECT_GE(chart.feed_sequence(), store_->last_sequence());

  ASSERT_TRUE(IsOk(GetOrgChart(acme.id(), true, &chart)));
  ASSERT_THAT(ids_of(chart.roots()), ElementsAre(c1.id(), c2.id()));
  ASSERT_THAT(ids_of(chart.roots(0).reports()),
              ElementsAre(c3.id(), c4.id(), c7.id()));
  EXPECT_EQ(chart.roots(0).reports(1).contact().status(),
            v1::CONTACT_STATUS_LEFT);
  EXPECT_EQ(chart.roots(0).reports(1).contact().version(), 2);

  EXPECT_TRUE(
      IsError(GetOrgChart("acc_01NOSUCHACCOUNT0000000000", false, &chart),
              grpc::StatusCode::NOT_FOUND));
  // An account without contacts has an empty chart.
  ASSERT_TRUE(
      IsOk(GetOrgChart(MustCreateAccount(Acct("Empty")).id(), false, &chart)));
  EXPECT_EQ(chart.roots_size(), 0);
}

}  // namespace
}  // namespace salesops::accounts
