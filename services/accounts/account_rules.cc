#include "services/accounts/account_rules.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "common/status/violations.h"
#include "common/time/clock.h"
#include "services/accounts/key_accounts.h"

namespace salesops::accounts {
namespace {

void ValidateAccountFields(const v1::Account& a, Violations& v) {
  if (Blank(a.name())) {
    v.Add("account.name: required");
  } else if (a.name().size() > 200) {
    v.Add("account.name: at most 200 characters");
  }
  if (!v1::SizeBand_IsValid(a.size_band())) {
    v.Add("account.size_band: unknown value");
  }
  if (!v1::OwnershipType_IsValid(a.ownership_type())) {
    v.Add("account.ownership_type: unknown value");
  }
  if (!v1::SourceChannel_IsValid(a.source_channel())) {
    v.Add("account.source_channel: unknown value");
  }
  if (!v1::AccountTier_IsValid(a.tier())) {
    v.Add("account.tier: unknown value");
  }
  if (!v1::Level_IsValid(a.purchase_potential())) {
    v.Add("account.purchase_potential: unknown value");
  }
  if (!v1::Level_IsValid(a.share_of_wallet())) {
    v.Add("account.share_of_wallet: unknown value");
  }
  if (!v1::RelationshipStage_IsValid(a.relationship_stage())) {
    v.Add("account.relationship_stage: unknown value");
  }
  if (a.external_id().size() > 128) {
    v.Add("account.external_id: at most 128 characters");
  }
}

absl::Status OwnerExists(const v1::Account& a,
                         const std::optional<v1::OrgNode>& owner) {
  if (!a.owner_node_id().empty() && !owner) {
    return absl::InvalidArgumentError(absl::StrCat(
        "account.owner_node_id: org node ", a.owner_node_id(), " not found"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string NormalizeAccountName(std::string_view name) {
  std::string out(
      absl::StripAsciiWhitespace(absl::string_view(name.data(), name.size())));
  absl::AsciiStrToLower(&out);
  return out;
}

v1::AccountSegment SegmentFor(v1::Level potential, v1::Level share) {
  if (potential == v1::LEVEL_UNSPECIFIED || share == v1::LEVEL_UNSPECIFIED) {
    return v1::ACCOUNT_SEGMENT_UNSPECIFIED;
  }
  const auto level = [](v1::Level l) {
    return l == v1::LEVEL_HIGH ? accounts::Level::kHigh : accounts::Level::kLow;
  };
  switch (SegmentOf(level(potential), level(share))) {
    case Segment::kAcquire:
      return v1::ACCOUNT_SEGMENT_ACQUIRE;
    case Segment::kRetain:
      return v1::ACCOUNT_SEGMENT_RETAIN;
    case Segment::kMaintain:
      return v1::ACCOUNT_SEGMENT_MAINTAIN;
    case Segment::kDeprioritize:
      return v1::ACCOUNT_SEGMENT_DEPRIORITIZE;
  }
  return v1::ACCOUNT_SEGMENT_UNSPECIFIED;
}

absl::Status CheckCreateAccount(const v1::CreateAccountRequest& req,
                                const Principal& who) {
  Violations v;
  ValidateAccountFields(req.account(), v);
  if (req.account().owner_node_id().empty() && who.role == Role::kManager) {
    v.Add(
        "account.owner_node_id: required for a MANAGER (a node in your "
        "subtree)");
  }
  return v.status();
}

const fieldmask::EntityRules& AccountUpdateRules() {
  static const fieldmask::EntityRules* rules = new fieldmask::EntityRules{
      {"name", "industry", "size_band", "ownership_type", "region", "address",
       "website", "source_channel", "owner_node_id", "tier",
       "purchase_potential", "share_of_wallet", "relationship_stage",
       "external_id"},
      {}};
  return *rules;
}

absl::Status CheckUpdateAccount(const v1::UpdateAccountRequest& req) {
  Violations v;
  if (req.account().id().empty()) {
    v.Add("account.id: required");
  }
  v.Add(
      fieldmask::Resolve(req.update_mask(), req.account(), AccountUpdateRules())
          .status());
  return v.status();
}

absl::StatusOr<v1::Account> MergeAccountUpdate(
    const v1::Account& stored, const v1::UpdateAccountRequest& req) {
  ASSIGN_OR_RETURN(v1::Account merged,
                   fieldmask::Merge(stored, req.account(), req.update_mask(),
                                    AccountUpdateRules()));
  Violations v;
  ValidateAccountFields(merged, v);
  RETURN_IF_ERROR(v.status());
  return merged;
}

absl::StatusOr<AccountChange> CreateAccount(
    const v1::Account& in, const std::optional<v1::OrgNode>& owner,
    const RequireWriterFn& scope, const std::string& id, absl::Time now) {
  RETURN_IF_ERROR(OwnerExists(in, owner));
  if (!in.owner_node_id().empty()) {
    RETURN_IF_ERROR(scope(in.owner_node_id(), "accounts"));
  }
  AccountChange change;
  v1::Account& a = change.account;
  a = in;
  a.set_name(Trimmed(a.name()));
  a.set_id(id);
  a.set_segment(SegmentFor(a.purchase_potential(), a.share_of_wallet()));
  a.set_created_micros(Micros(now));
  a.set_updated_micros(a.created_micros());
  change.name.new_value = NormalizeAccountName(a.name());
  change.external_id.new_value = a.external_id();
  change.owner.new_value = a.owner_node_id();
  return change;
}

absl::StatusOr<AccountChange> UpdateAccount(
    const v1::Account& stored, const v1::Account& in,
    const std::optional<v1::OrgNode>& new_owner, const RequireWriterFn& scope,
    absl::Time now) {
  // A MANAGER must own the account before and after the change.
  RETURN_IF_ERROR(scope(stored.owner_node_id(), "accounts"));
  if (in.owner_node_id() != stored.owner_node_id()) {
    RETURN_IF_ERROR(OwnerExists(in, new_owner));
    RETURN_IF_ERROR(scope(in.owner_node_id(), "accounts"));
  }
  AccountChange change;
  v1::Account& a = change.account;
  a = in;
  a.set_name(Trimmed(a.name()));
  a.set_segment(SegmentFor(a.purchase_potential(), a.share_of_wallet()));
  a.set_created_micros(stored.created_micros());
  a.set_updated_micros(Micros(now));
  change.name = {NormalizeAccountName(stored.name()),
                 NormalizeAccountName(a.name())};
  change.external_id = {stored.external_id(), a.external_id()};
  change.owner = {stored.owner_node_id(), a.owner_node_id()};
  return change;
}

absl::StatusOr<std::optional<v1::Account>> ReTier(const v1::Account& stored,
                                                  v1::AccountTier tier,
                                                  const RequireWriterFn& scope,
                                                  absl::Time now) {
  RETURN_IF_ERROR(scope(stored.owner_node_id(), "accounts"));
  if (stored.tier() == tier) {
    return std::nullopt;
  }
  v1::Account a = stored;
  a.set_tier(tier);
  a.set_updated_micros(Micros(now));
  return a;
}

}  // namespace salesops::accounts
