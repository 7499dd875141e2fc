// Issue 18, Must show 1: partial updates with field masks (AIP-134, docs/API.md
// "Partial updates (field masks)") through the real binaries, for every Update
// RPC (UpdateAccount, UpdateContact, UpdateOrgNode, UpdateStageModel,
// UpdateOpportunity). Each test reads the entity back after every update and
// compares it whole with what must be there:
//   - an explicit mask changes only its paths (fields of the request it does
//     not name are ignored; a named field absent in the request is cleared);
//   - the implied mask (no update_mask) changes only the fields the request
//     populates and keeps every other one;
//   - "*" replaces every writable field and keeps the output-only ones;
//   - unknown, output-only and immutable paths are INVALID_ARGUMENT whose
//     google.rpc.BadRequest names update_mask.paths[i] and whose message names
//     the path, and the stored entity is unchanged.

#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "tests/suite.h"

namespace salesops {
namespace {

using e2e::Ctx;
using e2e::Describe;
using e2e::kAdminToken;
using e2e::Suite;
using google::protobuf::FieldMask;
using google::protobuf::Message;

FieldMask Mask(std::vector<std::string> paths) {
  FieldMask m;
  for (std::string& p : paths) {
    m.add_paths(std::move(p));
  }
  return m;
}

// `got` equals `want` field by field (the difference printed otherwise).
void ExpectSame(const Message& want, const Message& got) {
  std::string diff;
  google::protobuf::util::MessageDifferencer d;
  d.ReportDifferencesToString(&diff);
  EXPECT_TRUE(d.Compare(want, got)) << diff;
}

// `want` with the fields every successful update changes taken from `got`.
template <typename T>
T Bumped(T want, const T& got, int64_t old_version) {
  EXPECT_EQ(got.version(), old_version + 1);
  EXPECT_GT(got.updated_micros(), want.updated_micros());
  want.set_version(got.version());
  want.set_updated_micros(got.updated_micros());
  return want;
}

// The BadRequest violations of `s` as {field, description}.
std::vector<std::pair<std::string, std::string>> BadRequestOf(
    const grpc::Status& s) {
  std::vector<std::pair<std::string, std::string>> out;
  google::rpc::Status status;
  EXPECT_TRUE(status.ParseFromString(s.error_details())) << Describe(s);
  for (const auto& any : status.details()) {
    google::rpc::BadRequest bad;
    if (any.UnpackTo(&bad)) {
      for (const auto& v : bad.field_violations()) {
        out.emplace_back(v.field(), v.description());
      }
    }
  }
  return out;
}

// INVALID_ARGUMENT with exactly one violation per {field, path} of `want`
// (field "update_mask.paths[i]", the description naming the path and
// containing the rule), and a message naming every path.
void ExpectBadPaths(
    const grpc::Status& s,
    const std::vector<std::pair<std::string, std::string>>& want,
    const std::vector<std::string>& rules) {
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Describe(s);
  const auto got = BadRequestOf(s);
  ASSERT_EQ(got.size(), want.size()) << Describe(s);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first) << Describe(s);
    const std::string quoted = absl::StrCat("'", want[i].second, "'");
    EXPECT_TRUE(absl::StrContains(got[i].second, quoted)) << got[i].second;
    EXPECT_TRUE(absl::StrContains(got[i].second, rules[i])) << got[i].second;
    EXPECT_TRUE(absl::StrContains(s.error_message(), quoted))
        << s.error_message();
  }
}

// ---- accounts ----

class AccountsMaskTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(suite_.Build(/*followers=*/false)); }

  template <typename Req, typename Resp, typename Call>
  grpc::Status Send(Call call, const Req& req, Resp* out) {
    return (suite_.accounts().*call)(Ctx(kAdminToken).get(), req, out);
  }

  Suite suite_;
};

v1::Account FullAccount(const std::string& owner) {
  v1::Account a;
  a.set_name("Masked Steel");
  a.set_industry("steel");
  a.set_size_band(v1::SIZE_BAND_LARGE);
  a.set_region("DE-NW");
  a.set_address("Hafenstr. 1");
  a.set_website("https://steel.example");
  a.set_source_channel(v1::SOURCE_CHANNEL_REFERRAL);
  a.set_owner_node_id(owner);
  a.set_tier(v1::ACCOUNT_TIER_GOLD);
  a.set_purchase_potential(v1::LEVEL_HIGH);
  a.set_share_of_wallet(v1::LEVEL_LOW);
  a.set_external_id("crm-masked-1");
  return a;
}

TEST_F(AccountsMaskTest, UpdateAccount) {
  v1::CreateAccountRequest create;
  *create.mutable_account() = FullAccount(suite_.rep_a.id());
  v1::Account before;
  ASSERT_TRUE(
      Send(&v1::AccountsService::Stub::CreateAccount, create, &before).ok());
  ASSERT_EQ(before.segment(), v1::ACCOUNT_SEGMENT_ACQUIRE);
  const auto get = [&] {
    v1::GetAccountRequest req;
    req.set_id(before.id());
    v1::Account out;
    EXPECT_TRUE(Send(&v1::AccountsService::Stub::GetAccount, req, &out).ok());
    return out;
  };
  v1::UpdateAccountRequest req;
  v1::Account out;

  // Explicit: name and tier change; industry sent but not named stays.
  req.mutable_account()->set_id(before.id());
  req.mutable_account()->set_name("Renamed Steel");
  req.mutable_account()->set_tier(v1::ACCOUNT_TIER_SILVER);
  req.mutable_account()->set_industry("ignored");
  *req.mutable_update_mask() = Mask({"name", "tier"});
  ASSERT_TRUE(Send(&v1::AccountsService::Stub::UpdateAccount, req, &out).ok());
  v1::Account want = before;
  want.set_name("Renamed Steel");
  want.set_tier(v1::ACCOUNT_TIER_SILVER);
  v1::Account got = get();
  ExpectSame(Bumped(want, got, before.version()), got);
  ExpectSame(got, out);

  // Implied (no mask): only the populated field changes; the issue's
  // reproduction (name only) no longer wipes owner and tier.
  before = got;
  req.Clear();
  req.mutable_account()->set_id(before.id());
  req.mutable_account()->set_name("Renamed Again");
  req.mutable_account()->set_segment(v1::ACCOUNT_SEGMENT_RETAIN);  // ignored
  ASSERT_TRUE(Send(&v1::AccountsService::Stub::UpdateAccount, req, &out).ok());
  want = before;
  want.set_name("Renamed Again");
  got = get();
  ExpectSame(Bumped(want, got, before.version()), got);
  EXPECT_EQ(got.owner_node_id(), suite_.rep_a.id());
  EXPECT_EQ(got.tier(), v1::ACCOUNT_TIER_SILVER);

  // Bad paths: nothing changes.
  before = got;
  *req.mutable_update_mask() =
      Mask({"name", "nope", "segment", "created_micros", "address.x"});
  ExpectBadPaths(Send(&v1::AccountsService::Stub::UpdateAccount, req, &out),
                 {{"update_mask.paths[1]", "nope"},
                  {"update_mask.paths[2]", "segment"},
                  {"update_mask.paths[3]", "created_micros"},
                  {"update_mask.paths[4]", "address.x"}},
                 {"not a field", "output only", "output only",
                  "not a singular message field"});
  *req.mutable_update_mask() = Mask({"*", "name"});
  ExpectBadPaths(Send(&v1::AccountsService::Stub::UpdateAccount, req, &out),
                 {{"update_mask.paths[0]", "*"}}, {"must be the only path"});
  ExpectSame(before, get());

  // "*": every writable field replaced (the rest cleared), output-only kept.
  req.Clear();
  req.mutable_account()->set_id(before.id());
  req.mutable_account()->set_name("Only Name");
  *req.mutable_update_mask() = Mask({"*"});
  ASSERT_TRUE(Send(&v1::AccountsService::Stub::UpdateAccount, req, &out).ok())
      << Describe(Send(&v1::AccountsService::Stub::UpdateAccount, req, &out));
  want.Clear();
  want.set_id(before.id());
  want.set_name("Only Name");
  want.set_created_micros(before.created_micros());
  want.set_updated_micros(before.updated_micros());
  got = get();
  ExpectSame(Bumped(want, got, before.version()), got);
}

TEST_F(AccountsMaskTest, UpdateContact) {
  v1::CreateContactRequest create;
  v1::Contact* c = create.mutable_contact();
  c->set_account_id(suite_.acc_a.id());
  c->set_name("Ada Buyer");
  c->set_title("Head of Purchasing");
  c->set_department("Purchasing");
  c->set_function(v1::CONTACT_FUNCTION_PURCHASING);
  c->set_level(v1::CONTACT_LEVEL_DECISION);
  c->set_notes("likes facts");
  c->set_email("ada@example.com");
  c->set_phone("+49 1");
  c->set_external_id("crm-contact-1");
  c->mutable_birthday()->set_month(3);
  c->mutable_birthday()->set_day(14);
  v1::Contact before;
  ASSERT_TRUE(
      Send(&v1::AccountsService::Stub::CreateContact, create, &before).ok());
  const auto get = [&] {
    v1::GetContactRequest req;
    req.set_id(before.id());
    v1::Contact out;
    EXPECT_TRUE(Send(&v1::AccountsService::Stub::GetContact, req, &out).ok());
    return out;
  };
  v1::UpdateContactRequest req;
  v1::Contact out;

  // Explicit: title changes; notes is named and absent, so it is cleared;
  // the phone sent but not named stays.
  req.mutable_contact()->set_id(before.id());
  req.mutable_contact()->set_title("CPO");
  req.mutable_contact()->set_phone("ignored");
  *req.mutable_update_mask() = Mask({"title", "notes"});
  ASSERT_TRUE(Send(&v1::AccountsService::Stub::UpdateContact, req, &out).ok());
  v1::Contact want = before;
  want.set_title("CPO");
  want.clear_notes();
  v1::Contact got = get();
  ExpectSame(Bumped(want, got, before.version()), got);

  // Implied: the status and the unchanged account id, nothing else.
  before = got;
  req.Clear();
  req.mutable_contact()->set_id(before.id());
  req.mutable_contact()->set_account_id(before.account_id());
  req.mutable_contact()->set_status(v1::CONTACT_STATUS_LEFT);
  ASSERT_TRUE(Send(&v1::AccountsService::Stub::UpdateContact, req, &out).ok());
  want = before;
  want.set_status(v1::CONTACT_STATUS_LEFT);
  got = get();
  ExpectSame(Bumped(want, got, before.version()), got);

  // Bad paths: immutable, output only, unknown.
  before = got;
  *req.mutable_update_mask() = Mask({"account_id", "version", "colour"});
  ExpectBadPaths(Send(&v1::AccountsService::Stub::UpdateContact, req, &out),
                 {{"update_mask.paths[0]", "account_id"},
                  {"update_mask.paths[1]", "version"},
                  {"update_mask.paths[2]", "colour"}},
                 {"immutable", "output only", "not a field"});
  // Another account in the entity is refused as before masks.
  req.clear_update_mask();
  req.mutable_contact()->set_account_id(suite_.acc_b.id());
  const grpc::Status moved =
      Send(&v1::AccountsService::Stub::UpdateContact, req, &out);
  EXPECT_EQ(moved.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(moved.error_message(), "contact.account_id"))
      << Describe(moved);
  ExpectSame(before, get());

  // "*": every writable field replaced; account and output-only kept.
  req.Clear();
  req.mutable_contact()->set_id(before.id());
  req.mutable_contact()->set_name("Ada B.");
  req.mutable_contact()->set_status(v1::CONTACT_STATUS_ACTIVE);
  *req.mutable_update_mask() = Mask({"*"});
  ASSERT_TRUE(Send(&v1::AccountsService::Stub::UpdateContact, req, &out).ok());
  want.Clear();
  want.set_id(before.id());
  want.set_account_id(before.account_id());
  want.set_name("Ada B.");
  want.set_status(v1::CONTACT_STATUS_ACTIVE);
  want.set_created_micros(before.created_micros());
  want.set_updated_micros(before.updated_micros());
  got = get();
  ExpectSame(Bumped(want, got, before.version()), got);
}

TEST_F(AccountsMaskTest, UpdateOrgNode) {
  v1::CreateOrgNodeRequest create;
  create.mutable_node()->set_parent_id(suite_.region.id());
  create.mutable_node()->set_kind(v1::ORG_NODE_KIND_TEAM);
  create.mutable_node()->set_name("Masked Team");
  create.mutable_node()->set_manager_principal("masked-manager");
  create.mutable_node()->set_external_id("hr-team-9");
  v1::OrgNode before;
  ASSERT_TRUE(
      Send(&v1::AccountsService::Stub::CreateOrgNode, create, &before).ok());
  const auto get = [&] {
    v1::GetOrgNodeRequest req;
    req.set_id(before.id());
    v1::OrgNode out;
    EXPECT_TRUE(Send(&v1::AccountsService::Stub::GetOrgNode, req, &out).ok());
    return out;
  };
  v1::UpdateOrgNodeRequest req;
  v1::OrgNode out;

  // Explicit: the manager only (the name sent is ignored).
  req.mutable_node()->set_id(before.id());
  req.mutable_node()->set_name("ignored");
  req.mutable_node()->set_manager_principal("new-manager");
  *req.mutable_update_mask() = Mask({"manager_principal"});
  ASSERT_TRUE(Send(&v1::AccountsService::Stub::UpdateOrgNode, req, &out).ok());
  v1::OrgNode want = before;
  want.set_manager_principal("new-manager");
  v1::OrgNode got = get();
  ExpectSame(Bumped(want, got, before.version()), got);

  // Implied: the external id (kind and parent sent equal are accepted).
  before = got;
  req.Clear();
  req.mutable_node()->set_id(before.id());
  req.mutable_node()->set_external_id("hr-team-10");
  req.mutable_node()->set_kind(before.kind());
  req.mutable_node()->set_parent_id(before.parent_id());
  ASSERT_TRUE(Send(&v1::AccountsService::Stub::UpdateOrgNode, req, &out).ok());
  want = before;
  want.set_external_id("hr-team-10");
  got = get();
  ExpectSame(Bumped(want, got, before.version()), got);

  // Bad paths: both immutable fields, an output-only one.
  before = got;
  *req.mutable_update_mask() = Mask({"parent_id", "kind", "updated_micros"});
  ExpectBadPaths(Send(&v1::AccountsService::Stub::UpdateOrgNode, req, &out),
                 {{"update_mask.paths[0]", "parent_id"},
                  {"update_mask.paths[1]", "kind"},
                  {"update_mask.paths[2]", "updated_micros"}},
                 {"MoveOrgNode", "immutable", "output only"});
  ExpectSame(before, get());

  // "*": name, manager and external id replaced.
  req.Clear();
  req.mutable_node()->set_id(before.id());
  req.mutable_node()->set_name("Star Team");
  *req.mutable_update_mask() = Mask({"*"});
  ASSERT_TRUE(Send(&v1::AccountsService::Stub::UpdateOrgNode, req, &out).ok());
  want = before;
  want.set_name("Star Team");
  want.clear_manager_principal();
  want.clear_external_id();
  got = get();
  ExpectSame(Bumped(want, got, before.version()), got);
}

// ---- pipeline ----

class PipelineMaskTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(suite_.Build()); }
  Suite suite_;
};

TEST_F(PipelineMaskTest, UpdateStageModel) {
  auto& pipeline = suite_.pipeline();
  v1::CreateStageModelRequest create;
  create.mutable_model()->set_name("Masked model");
  create.mutable_model()->set_stall_limit_days(30);
  *create.mutable_model()->mutable_out_of_funnel_threshold() = e2e::Eur(1'000);
  create.set_copy_from_id(e2e::kModel);
  v1::StageModel before;
  ASSERT_TRUE(
      pipeline.CreateStageModel(Ctx(kAdminToken).get(), create, &before).ok());
  ASSERT_TRUE(before.has_cadence());
  const auto get = [&] {
    v1::GetStageModelRequest req;
    req.set_id(before.id());
    v1::StageModel out;
    EXPECT_TRUE(pipeline.GetStageModel(Ctx(kAdminToken).get(), req, &out).ok());
    return out;
  };
  v1::UpdateStageModelRequest req;
  v1::StageModel out;

  // Explicit: the stall limit; the name sent is ignored.
  req.mutable_model()->set_id(before.id());
  req.mutable_model()->set_name("ignored");
  req.mutable_model()->set_stall_limit_days(60);
  *req.mutable_update_mask() = Mask({"stall_limit_days"});
  ASSERT_TRUE(
      pipeline.UpdateStageModel(Ctx(kAdminToken).get(), req, &out).ok());
  v1::StageModel want = before;
  want.set_stall_limit_days(60);
  v1::StageModel got = get();
  ExpectSame(Bumped(want, got, before.version()), got);

  // Implied: the name only (no stages sent: they stay).
  before = got;
  req.Clear();
  req.mutable_model()->set_id(before.id());
  req.mutable_model()->set_name("Renamed model");
  ASSERT_TRUE(
      pipeline.UpdateStageModel(Ctx(kAdminToken).get(), req, &out).ok());
  want = before;
  want.set_name("Renamed model");
  got = get();
  ExpectSame(Bumped(want, got, before.version()), got);

  // Bad paths.
  before = got;
  *req.mutable_update_mask() =
      Mask({"built_in", "win_rate_history", "stages.key", "nope"});
  ExpectBadPaths(pipeline.UpdateStageModel(Ctx(kAdminToken).get(), req, &out),
                 {{"update_mask.paths[0]", "built_in"},
                  {"update_mask.paths[1]", "win_rate_history"},
                  {"update_mask.paths[2]", "stages.key"},
                  {"update_mask.paths[3]", "nope"}},
                 {"output only", "output only", "not a singular message field",
                  "not a field"});
  ExpectSame(before, get());

  // "*": stages sent again with one new win rate; threshold, cadence and
  // stall limit cleared; the win-rate change is recorded.
  req.Clear();
  *req.mutable_model() = before;
  req.mutable_model()->set_name("Star model");
  req.mutable_model()->clear_out_of_funnel_threshold();
  req.mutable_model()->clear_cadence();
  req.mutable_model()->set_stall_limit_days(0);
  req.mutable_model()->mutable_stages(1)->set_win_rate_bp(1234);
  req.mutable_model()->set_built_in(true);  // output only: ignored
  *req.mutable_update_mask() = Mask({"*"});
  ASSERT_TRUE(pipeline.UpdateStageModel(Ctx(kAdminToken).get(), req, &out).ok())
      << Describe(pipeline.UpdateStageModel(Ctx(kAdminToken).get(), req, &out));
  want = before;
  want.set_name("Star model");
  want.clear_out_of_funnel_threshold();
  want.clear_cadence();
  want.set_stall_limit_days(0);
  want.mutable_stages(1)->set_win_rate_bp(1234);
  got = get();
  ASSERT_EQ(got.win_rate_history_size(), before.win_rate_history_size() + 1);
  *want.mutable_win_rate_history() = got.win_rate_history();
  ExpectSame(Bumped(want, got, before.version()), got);
  EXPECT_FALSE(got.built_in());
}

TEST_F(PipelineMaskTest, UpdateOpportunity) {
  v1::Opportunity draft = Suite::NewOpp("Masked deal", suite_.acc_a.id(),
                                        suite_.rep_a.id(), 100'000);
  draft.add_competitors()->set_name("Rival A");
  draft.set_source_channel(v1::SOURCE_CHANNEL_INBOUND);
  draft.mutable_next_step()->set_text("call the buyer");
  *draft.mutable_next_step()->mutable_due() = e2e::ToDate(e2e::CloseDate());
  draft.set_external_id("crm-opp-masked");
  v1::Opportunity before;
  ASSERT_TRUE(
      suite_.CreateOpp(kAdminToken, draft, "masked-deal", &before).ok());
  const auto get = [&] {
    v1::GetOpportunityRequest req;
    req.set_id(before.id());
    v1::Opportunity out;
    EXPECT_TRUE(suite_.pipeline()
                    .GetOpportunity(Ctx(kAdminToken).get(), req, &out)
                    .ok());
    return out;
  };
  const auto update = [&](const v1::UpdateOpportunityRequest& req) {
    v1::Opportunity out;
    return suite_.pipeline().UpdateOpportunity(Ctx(kAdminToken).get(), req,
                                               &out);
  };
  // `want` after an update that wrote `entries` history entries.
  const auto bumped = [&](v1::Opportunity want, const v1::Opportunity& got,
                          const v1::Opportunity& old, int entries) {
    want.set_history_length(old.history_length() + entries);
    return Bumped(want, got, old.version());
  };
  v1::UpdateOpportunityRequest req;

  // Explicit, with a nested path: the name and the next step's text change;
  // the amount sent is ignored and the next step's due date stays.
  req.mutable_opportunity()->set_id(before.id());
  req.mutable_opportunity()->set_name("Renamed deal");
  *req.mutable_opportunity()->mutable_amount() = e2e::Eur(5);
  req.mutable_opportunity()->mutable_next_step()->set_text("send offer");
  *req.mutable_update_mask() = Mask({"name", "next_step.text"});
  ASSERT_TRUE(update(req).ok()) << Describe(update(req));
  v1::Opportunity want = before;
  want.set_name("Renamed deal");
  want.mutable_next_step()->set_text("send offer");
  v1::Opportunity got = get();
  ExpectSame(bumped(want, got, before, 0), got);

  // Implied: the source channel and the unchanged account, nothing else.
  before = got;
  req.Clear();
  req.mutable_opportunity()->set_id(before.id());
  req.mutable_opportunity()->set_account_id(before.account_id());
  req.mutable_opportunity()->set_source_channel(v1::SOURCE_CHANNEL_PARTNER);
  ASSERT_TRUE(update(req).ok()) << Describe(update(req));
  want = before;
  want.set_source_channel(v1::SOURCE_CHANNEL_PARTNER);
  got = get();
  ExpectSame(bumped(want, got, before, 0), got);

  // Bad paths: immutable, output only, inside a repeated field; and an
  // explicit owner path with no owner.
  before = got;
  *req.mutable_update_mask() =
      Mask({"account_id", "stage_key", "status", "competitors.name"});
  ExpectBadPaths(update(req),
                 {{"update_mask.paths[0]", "account_id"},
                  {"update_mask.paths[1]", "stage_key"},
                  {"update_mask.paths[2]", "status"},
                  {"update_mask.paths[3]", "competitors.name"}},
                 {"immutable", "MoveStage", "output only",
                  "not a singular message field"});
  *req.mutable_update_mask() = Mask({"owner_node_id"});
  const grpc::Status cleared = update(req);
  EXPECT_EQ(cleared.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(
      absl::StrContains(cleared.error_message(), "opportunity.owner_node_id"))
      << Describe(cleared);
  ExpectSame(before, get());

  // "*": every writable field replaced; owner "" keeps the owner (as before
  // masks); account, model, stage and output-only fields kept.
  req.Clear();
  req.mutable_opportunity()->set_id(before.id());
  req.mutable_opportunity()->set_name("Star deal");
  *req.mutable_opportunity()->mutable_amount() = e2e::Eur(120'000);
  *req.mutable_opportunity()->mutable_expected_close_date() =
      before.expected_close_date();
  *req.mutable_update_mask() = Mask({"*"});
  ASSERT_TRUE(update(req).ok()) << Describe(update(req));
  want = before;
  want.set_name("Star deal");
  *want.mutable_amount() = e2e::Eur(120'000);
  want.clear_competitors();
  want.clear_source_channel();
  want.clear_next_step();
  want.clear_external_id();
  got = get();
  ExpectSame(bumped(want, got, before, 1), got);  // one AMOUNT entry
}

}  // namespace
}  // namespace salesops
