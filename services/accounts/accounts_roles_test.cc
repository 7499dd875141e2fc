// gRPC-level tests of who may call what (SPEC.md §8) and of the accounts
// feed: every write is one event, in order.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/accounts/accounts_test_fixture.h"

namespace salesops::accounts {
namespace {

TEST_F(AccountsRolesTest, FinanceAndServiceOnlyRead) {
  Org org = BuildOrg();
  v1::Account acme = MustCreateAccount(Acct("Acme", org.r1.id()));
  v1::Contact ann = MustCreateContact(Person(acme.id(), "Ann"));
  const uint64_t before = store_->last_sequence();
  for (const char* token : {kFinanceToken, kServiceToken}) {
    SCOPED_TRACE(token);
    v1::Account acc;
    EXPECT_TRUE(IsOk(GetAccount(acme.id(), &acc, token)));
    v1::ListAccountsResponse accounts;
    EXPECT_TRUE(IsOk(Call(&Stub::ListAccounts, {}, &accounts, token)));
    EXPECT_EQ(accounts.accounts_size(), 1);
    v1::Contact con;
    EXPECT_TRUE(IsOk(GetContact(ann.id(), &con, token)));
    v1::ListOrgNodesResponse nodes;
    EXPECT_TRUE(IsOk(Call(&Stub::ListOrgNodes, {}, &nodes, token)));

    EXPECT_TRUE(IsError(CreateAccount(Acct("New", org.r1.id()), &acc, token),
                        grpc::StatusCode::PERMISSION_DENIED));
    EXPECT_TRUE(IsError(UpdateAccount(acme, 0, &acc, token),
                        grpc::StatusCode::PERMISSION_DENIED));
    EXPECT_TRUE(IsError(CreateContact(Person(acme.id(), "Bob"), &con, token),
                        grpc::StatusCode::PERMISSION_DENIED));
    EXPECT_TRUE(IsError(UpdateContact(ann, 0, &con, token),
                        grpc::StatusCode::PERMISSION_DENIED));
    v1::OrgNode node;
    EXPECT_TRUE(
        IsError(CreateNode(Node(v1::ORG_NODE_KIND_TEAM, "T2", org.a.id()),
                           &node, token),
                grpc::StatusCode::PERMISSION_DENIED));
    EXPECT_TRUE(IsError(MoveNode(org.t.id(), org.b.id(), 0, &node, token),
                        grpc::StatusCode::PERMISSION_DENIED));
    v1::Quota q;
    EXPECT_TRUE(IsError(SetQuota(org.r1.id(), 1, Eur(1), &q, token),
                        grpc::StatusCode::PERMISSION_DENIED));
  }
  EXPECT_EQ(store_->last_sequence(), before);
}

TEST_F(AccountsRolesTest, RepWritesContactsOfTheirOwnAccountsOnly) {
  Org org = BuildOrg();
  AddPrincipals({{kRep1Token, {"rep-1", Role::kRep, org.r1.id()}}});
  v1::Account mine = MustCreateAccount(Acct("Mine", org.r1.id()));
  v1::Account theirs = MustCreateAccount(Acct("Theirs", org.r2.id()));
  v1::Contact theirs_contact = MustCreateContact(Person(theirs.id(), "Them"));

  // Reads.
  v1::Account acc;
  EXPECT_TRUE(IsOk(GetAccount(mine.id(), &acc, kRep1Token)));
  v1::ListAccountsRequest list;
  list.set_owner_node_id(org.r1.id());
  v1::ListAccountsResponse listed;
  EXPECT_TRUE(IsOk(Call(&Stub::ListAccounts, list, &listed, kRep1Token)));
  EXPECT_EQ(listed.accounts_size(), 1);

  // Contacts of their own account.
  v1::Contact con;
  ASSERT_TRUE(
      IsOk(CreateContact(Person(mine.id(), "Buyer"), &con, kRep1Token)));
  v1::Contact got;
  EXPECT_TRUE(IsOk(GetContact(con.id(), &got, kRep1Token)));
  v1::ListContactsRequest lc;
  lc.set_account_id(mine.id());
  v1::ListContactsResponse lcr;
  EXPECT_TRUE(IsOk(Call(&Stub::ListContacts, lc, &lcr, kRep1Token)));
  EXPECT_EQ(lcr.contacts_size(), 1);
  con.set_title("Chief buyer");
  v1::Contact updated;
  ASSERT_TRUE(IsOk(UpdateContact(con, 1, &updated, kRep1Token)));
  EXPECT_EQ(updated.version(), 2);

  // Not someone else's.
  const uint64_t before = store_->last_sequence();
  EXPECT_TRUE(
      IsError(CreateContact(Person(theirs.id(), "Sneaky"), &con, kRep1Token),
              grpc::StatusCode::PERMISSION_DENIED));
  theirs_contact.set_title("changed");
  EXPECT_TRUE(IsError(UpdateContact(theirs_contact, 0, &con, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  // No accounts, org nodes or quotas.
  EXPECT_TRUE(
      IsError(CreateAccount(Acct("Rep's own", org.r1.id()), &acc, kRep1Token),
              grpc::StatusCode::PERMISSION_DENIED));
  v1::OrgNode node;
  EXPECT_TRUE(IsError(CreateNode(Node(v1::ORG_NODE_KIND_TEAM, "T2", org.a.id()),
                                 &node, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  v1::Quota q;
  EXPECT_TRUE(IsError(SetQuota(org.r1.id(), 1, Eur(1), &q, kRep1Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(store_->last_sequence(), before);
}

// A MANAGER of region A (and the REP of r3) over the test organization.
class AccountsManagerTest : public AccountsServiceTest {
 protected:
  void SetUp() override {
    AccountsServiceTest::SetUp();
    org_ = BuildOrg();
    AddPrincipals({{kManagerAToken, {"manager-a", Role::kManager, org_.a.id()}},
                   {kRep3Token, {"rep-3", Role::kRep, org_.r3.id()}}});
  }

  Org org_;
};

TEST_F(AccountsManagerTest, WritesInsideTheirSubtree) {
  const Org& org = org_;
  // Org nodes inside region A.
  v1::OrgNode t2;
  ASSERT_TRUE(
      IsOk(CreateNode(Node(v1::ORG_NODE_KIND_TEAM, "Team T2", org.a.id()), &t2,
                      kManagerAToken)));
  v1::OrgNode moved;
  ASSERT_TRUE(IsOk(MoveNode(org.r2.id(), t2.id(), 0, &moved, kManagerAToken)));
  EXPECT_EQ(moved.parent_id(), t2.id());
  v1::Quota q;
  ASSERT_TRUE(IsOk(SetQuota(org.t.id(), 1, Eur(100), &q, kManagerAToken)));
  ASSERT_TRUE(IsOk(SetQuota(org.r1.id(), 1, Eur(100), &q, kManagerAToken)));
  v1::Account acc;
  ASSERT_TRUE(
      IsOk(CreateAccount(Acct("A-owned", org.r1.id()), &acc, kManagerAToken)));
  acc.set_industry("steel");
  v1::Account acc2;
  ASSERT_TRUE(IsOk(UpdateAccount(acc, 1, &acc2, kManagerAToken)));
  EXPECT_EQ(acc2.version(), 2);
  // Reads outside the subtree are fine.
  v1::OrgNode got;
  EXPECT_TRUE(IsOk(GetNode(org.b.id(), &got)));
}

TEST_F(AccountsManagerTest, WritesNothingOutsideTheirSubtree) {
  const Org& org = org_;
  v1::Quota q;
  // Writes outside region A are not.
  const uint64_t before = store_->last_sequence();
  v1::OrgNode node;
  EXPECT_TRUE(
      IsError(CreateNode(Node(v1::ORG_NODE_KIND_TEAM, "In B", org.b.id()),
                         &node, kManagerAToken),
              grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(
      CreateNode(Node(v1::ORG_NODE_KIND_REGION, "New region", org.root.id()),
                 &node, kManagerAToken),
      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(
      IsError(MoveNode(org.r3.id(), org.t.id(), 0, &node, kManagerAToken),
              grpc::StatusCode::PERMISSION_DENIED));
  // Nor out of it.
  EXPECT_TRUE(
      IsError(MoveNode(org.r1.id(), org.u.id(), 0, &node, kManagerAToken),
              grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(SetQuota(org.b.id(), 1, Eur(100), &q, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(SetQuota(org.u.id(), 1, Eur(100), &q, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_TRUE(IsError(SetQuota(org.root.id(), 1, Eur(100), &q, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  v1::Account out;
  EXPECT_TRUE(
      IsError(CreateAccount(Acct("B-owned", org.r3.id()), &out, kManagerAToken),
              grpc::StatusCode::PERMISSION_DENIED));
  v1::Account b_acc = MustCreateAccount(Acct("B account", org.u.id()));
  const uint64_t after_admin_write = store_->last_sequence();
  EXPECT_EQ(after_admin_write, before + 1);
  b_acc.set_industry("glass");
  EXPECT_TRUE(IsError(UpdateAccount(b_acc, 0, &out, kManagerAToken),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(store_->last_sequence(), after_admin_write);

  // The REP of region B cannot move nodes or set quotas either.
  EXPECT_TRUE(IsError(MoveNode(org.r3.id(), org.u.id(), 0, &node, kRep3Token),
                      grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(store_->last_sequence(), after_admin_write);
}

TEST_F(AccountsRolesTest, MissingOrUnknownTokenIsUnauthenticated) {
  v1::Account acme = MustCreateAccount(Acct("Acme"));
  for (const std::string& token : {std::string(""), std::string("forged")}) {
    SCOPED_TRACE(token);
    v1::Account acc;
    EXPECT_TRUE(IsError(GetAccount(acme.id(), &acc, token),
                        grpc::StatusCode::UNAUTHENTICATED));
    EXPECT_TRUE(IsError(CreateAccount(Acct("X"), &acc, token),
                        grpc::StatusCode::UNAUTHENTICATED));
    v1::ListOrgNodesResponse nodes;
    EXPECT_TRUE(IsError(Call(&Stub::ListOrgNodes, {}, &nodes, token),
                        grpc::StatusCode::UNAUTHENTICATED));
    v1::GetQuotaResponse quota;
    EXPECT_TRUE(IsError(Call(&Stub::GetQuota, {}, &quota, token),
                        grpc::StatusCode::UNAUTHENTICATED));
    v1::ScoreIndustriesResponse scored;
    EXPECT_TRUE(IsError(Call(&Stub::ScoreIndustries, {}, &scored, token),
                        grpc::StatusCode::UNAUTHENTICATED));
  }
  EXPECT_EQ(store_->last_sequence(), 1u);
}

// ===========================================================================
// Feed

// Writes a mix of org nodes, accounts, contacts and quotas through the API
// and remembers the event each write must be.
class AccountsFeedTest : public AccountsServiceTest {
 protected:
  struct Written {
    std::string kind;
    std::string entity_id;  // "" for quotas (their id is the service's)
    std::string state;      // serialized response
    int64_t version;
  };

  void Record(const std::string& kind, const std::string& id,
              const google::protobuf::Message& state, int64_t version) {
    writes_.push_back({kind, id, state.SerializeAsString(), version});
  }

  void CreateRoot() {
    root_ = MustCreateNode(v1::ORG_NODE_KIND_GLOBAL, "Global", "");
    ASSERT_FALSE(root_.id().empty());
    Record("accounts.OrgNode", root_.id(), root_, root_.version());
  }

  // Write number i: eight kinds of writes in turn.
  void Write(int i) {
    const int round = i / 8;
    switch (i % 8) {
      case 0:
        return AddRegion(round);
      case 1:
        return AddTeam(round);
      case 2:
        return CreateOrUpdateAccount(round);
      case 3:
        return RenameAccount(round);
      case 4:
        return AddContact(round);
      case 5:
        return RetitleContact(round);
      case 6:
        return ResetQuota(round);
      default:
        return MoveOrRenameNode();
    }
  }

  void AddRegion(int round) {
    v1::OrgNode r;
    ASSERT_TRUE(
        IsOk(CreateNode(Node(v1::ORG_NODE_KIND_REGION,
                             absl::StrCat("Region ", round), root_.id()),
                        &r)));
    regions_.push_back(r);
    Record("accounts.OrgNode", r.id(), r, r.version());
  }

  void AddTeam(int round) {
    ASSERT_TRUE(IsOk(
        CreateNode(Node(v1::ORG_NODE_KIND_TEAM, absl::StrCat("Team ", round),
                        regions_.back().id()),
                   &team_)));
    Record("accounts.OrgNode", team_.id(), team_, team_.version());
  }

  // A new account every other round, otherwise another update.
  void CreateOrUpdateAccount(int round) {
    if (round % 2 == 0) {
      v1::Account a = Acct(absl::StrCat("Account ", round), team_.id());
      a.set_purchase_potential(v1::LEVEL_HIGH);
      a.set_share_of_wallet(v1::LEVEL_LOW);
      ASSERT_TRUE(IsOk(CreateAccount(a, &account_)));
    } else {
      v1::Account a = account_;
      a.set_industry(absl::StrCat("industry ", round));
      ASSERT_TRUE(IsOk(UpdateAccount(a, account_.version(), &account_)));
    }
    Record("accounts.Account", account_.id(), account_, account_.version());
  }

  void RenameAccount(int round) {
    v1::Account a = account_;
    a.set_name(absl::StrCat("Account ", round, " renamed"));
    a.set_share_of_wallet(v1::LEVEL_HIGH);
    ASSERT_TRUE(IsOk(UpdateAccount(a, account_.version(), &account_)));
    EXPECT_EQ(account_.segment(), v1::ACCOUNT_SEGMENT_RETAIN);
    Record("accounts.Account", account_.id(), account_, account_.version());
  }

  // Even rounds: a root contact of the new account; odd rounds: one
  // reporting to it.
  void AddContact(int round) {
    const bool report = round % 2 == 1;
    ASSERT_EQ(report, boss_.account_id() == account_.id());
    ASSERT_TRUE(IsOk(
        CreateContact(Person(account_.id(), absl::StrCat("Contact ", round),
                             report ? boss_.id() : ""),
                      &contact_)));
    if (!report) {
      boss_ = contact_;
    }
    Record("accounts.Contact", contact_.id(), contact_, contact_.version());
  }

  void RetitleContact(int round) {
    v1::Contact c = contact_;
    c.set_title(absl::StrCat("Title ", round));
    ASSERT_TRUE(IsOk(UpdateContact(c, contact_.version(), &contact_)));
    Record("accounts.Contact", contact_.id(), contact_, contact_.version());
  }

  // Re-setting the root's quota of one of four quarters: versions grow.
  void ResetQuota(int round) {
    v1::Quota q;
    ASSERT_TRUE(
        IsOk(SetQuota(root_.id(), round % 4 + 1, Eur(100 * round), &q)));
    Record("accounts.Quota", "", q, q.version());
  }

  // Moves this round's team under the previous region; in the first round
  // renames the region instead.
  void MoveOrRenameNode() {
    v1::OrgNode n;
    if (regions_.size() >= 2) {
      ASSERT_TRUE(IsOk(MoveNode(team_.id(), regions_[regions_.size() - 2].id(),
                                team_.version(), &n)));
    } else {
      v1::UpdateOrgNodeRequest req;
      *req.mutable_node() = regions_.back();
      req.mutable_node()->set_name("Region 0 renamed");
      req.set_expected_version(regions_.back().version());
      ASSERT_TRUE(IsOk(Call(&Stub::UpdateOrgNode, req, &n)));
    }
    EXPECT_EQ(n.version(), 2);
    Record("accounts.OrgNode", n.id(), n, n.version());
  }

  // Event `s` carries what write s - 1 answered.
  void ExpectEvent(const v1::Event& ev, uint64_t s) {
    const Written& w = writes_[s - 1];
    ASSERT_EQ(ev.kind(), w.kind) << "event " << s;
    if (!w.entity_id.empty()) {
      EXPECT_EQ(ev.entity_id(), w.entity_id) << "event " << s;
    }
    std::unique_ptr<google::protobuf::Message> state;
    int64_t version = 0;
    if (w.kind == "accounts.Account") {
      version = Unpack<v1::Account>(ev, &state);
    } else if (w.kind == "accounts.Contact") {
      version = Unpack<v1::Contact>(ev, &state);
    } else if (w.kind == "accounts.OrgNode") {
      version = Unpack<v1::OrgNode>(ev, &state);
    } else {
      version = Unpack<v1::Quota>(ev, &state);
    }
    ASSERT_NE(state, nullptr) << "event " << s;
    EXPECT_EQ(version, w.version) << "event " << s;
    EXPECT_EQ(state->SerializeAsString(), w.state)
        << "event " << s << " (" << w.kind << ")";
  }

  // The payload of `ev` as a Msg in *out (null when it is not one); its
  // version.
  template <typename Msg>
  static int64_t Unpack(const v1::Event& ev,
                        std::unique_ptr<google::protobuf::Message>* out) {
    auto msg = std::make_unique<Msg>();
    if (!ev.payload().UnpackTo(msg.get())) {
      return 0;
    }
    const int64_t version = msg->version();
    *out = std::move(msg);
    return version;
  }

  std::vector<Written> writes_;
  v1::OrgNode root_;
  std::vector<v1::OrgNode> regions_;
  v1::OrgNode team_;
  v1::Account account_;
  v1::Contact contact_, boss_;
};

TEST_F(AccountsFeedTest, ThousandMixedChangesAreThousandEventsInOrder) {
  ASSERT_NO_FATAL_FAILURE(CreateRoot());
  for (int i = 0; i < 2000 && writes_.size() < 1000; ++i) {
    ASSERT_NO_FATAL_FAILURE(Write(i)) << "write " << i;
  }
  ASSERT_EQ(writes_.size(), 1000u);
  EXPECT_EQ(store_->last_sequence(), 1000u);

  auto ctx = Ctx(kServiceToken);
  auto reader = feed_stub_->Watch(ctx.get(), v1::WatchRequest());
  v1::Event ev;
  std::map<std::string, int> kinds;
  for (uint64_t s = 1; s <= 1000; ++s) {
    ASSERT_TRUE(reader->Read(&ev)) << "missing event " << s;
    ASSERT_EQ(ev.sequence(), s);
    ASSERT_NO_FATAL_FAILURE(ExpectEvent(ev, s));
    ++kinds[ev.kind()];
  }
  // The root, 125 regions, 125 teams and 124 moves or renames (the last
  // round stops before its move).
  EXPECT_EQ(kinds["accounts.OrgNode"], 1 + 125 + 125 + 124);
  EXPECT_EQ(kinds["accounts.Account"], 250);
  EXPECT_EQ(kinds["accounts.Contact"], 250);
  EXPECT_EQ(kinds["accounts.Quota"], 125);
  ctx->TryCancel();
  reader->Finish();

  v1::GetFeedPositionResponse pos;
  auto pos_ctx = Ctx(kServiceToken);
  ASSERT_TRUE(IsOk(feed_stub_->GetFeedPosition(pos_ctx.get(), {}, &pos)));
  EXPECT_EQ(pos.sequence(), 1000u) << "nothing beyond the 1,000 writes";
}

}  // namespace
}  // namespace salesops::accounts
