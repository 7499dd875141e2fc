#include "services/accounts/accounts_service.h"

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "common/status/violations.h"
#include "common/store/ids.h"
#include "common/store/listing.h"
#include "services/accounts/key_accounts.h"
#include "services/accounts/org_tree.h"

namespace salesops::accounts {
namespace {

using NodeFinder = std::function<absl::StatusOr<std::optional<v1::OrgNode>>(
    const std::string&)>;

// The longest parent chain walked before data is declared corrupt.
constexpr int kMaxDepth = 10'000;

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

// True when `node_id` is `ancestor_id` or below it.
absl::StatusOr<bool> IsWithin(const NodeFinder& find, std::string node_id,
                              const std::string& ancestor_id) {
  for (int depth = 0; depth < kMaxDepth && !node_id.empty(); ++depth) {
    if (node_id == ancestor_id) {
      return true;
    }
    ASSIGN_OR_RETURN(std::optional<v1::OrgNode> node, find(node_id));
    if (!node) {
      return false;
    }
    node_id = node->parent_id();
  }
  if (!node_id.empty()) {
    return absl::FailedPreconditionError(
        "org tree: deeper than 10000 levels or corrupt");
  }
  return false;
}

// PERMISSION_DENIED unless the caller may change things at `node_id`: ADMIN
// anywhere, MANAGER inside the subtree of their own node.
absl::Status RequireScope(const Principal& who, const NodeFinder& find,
                          const std::string& node_id, std::string_view what) {
  if (who.role == Role::kAdmin) {
    return absl::OkStatus();
  }
  if (who.role == Role::kManager && !who.org_node_id.empty()) {
    ASSIGN_OR_RETURN(bool inside, IsWithin(find, node_id, who.org_node_id));
    if (inside) {
      return absl::OkStatus();
    }
  }
  return absl::PermissionDeniedError(absl::StrCat(
      std::string(RoleName(who.role)), " ", who.name, " may not change ",
      std::string(what), " outside the subtree of org node \"", who.org_node_id,
      "\""));
}

// The parent lookup CheckNoCycle walks with.
std::function<std::optional<std::string>(const std::string&)> ParentOf(
    const NodeFinder& find) {
  return [find](const std::string& id) -> std::optional<std::string> {
    absl::StatusOr<std::optional<v1::OrgNode>> node = find(id);
    if (!node.ok() || !node->has_value()) {
      return std::nullopt;
    }
    return (*node)->parent_id();
  };
}

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

void ValidateContactFields(const v1::Contact& c, Violations& v) {
  if (Blank(c.name())) {
    v.Add("contact.name: required");
  }
  if (!v1::ContactFunction_IsValid(c.function())) {
    v.Add("contact.function: unknown value");
  }
  if (!v1::ContactLevel_IsValid(c.level())) {
    v.Add("contact.level: unknown value");
  }
  if (!v1::PersonalStyle_IsValid(c.personal_style())) {
    v.Add("contact.personal_style: unknown value");
  }
  if (!v1::RelationshipDepth_IsValid(c.relationship_depth())) {
    v.Add("contact.relationship_depth: unknown value");
  }
  if (!v1::ContactStatus_IsValid(c.status())) {
    v.Add("contact.status: unknown value");
  }
  if (c.external_id().size() > 128) {
    v.Add("contact.external_id: at most 128 characters");
  }
  for (const auto& [field, date] :
       {std::pair<const char*, const v1::Date*>{"contact.birthday",
                                                &c.birthday()},
        {"contact.work_anniversary", &c.work_anniversary()}}) {
    if (date->year() == 0 && date->month() == 0 && date->day() == 0) {
      continue;  // not set
    }
    // Birthdays may omit the year (0); otherwise a real calendar date.
    const int year = date->year() == 0 ? 2000 : date->year();
    const absl::CivilDay day(year, date->month(), date->day());
    if (date->month() < 1 || date->month() > 12 ||
        day.month() != date->month() || day.day() != date->day() || year < 1 ||
        year > 9999) {
      v.Add(absl::StrCat(field, ": not a valid date"));
    }
  }
}

}  // namespace

AccountsServiceImpl::AccountsServiceImpl(Store* store,
                                         const Authenticator* auth,
                                         std::string currency)
    : db_(store), auth_(auth), currency_(std::move(currency)) {}

// ---------------------------------------------------------------------------
// Accounts

grpc::Status AccountsServiceImpl::CreateAccount(
    Ctx* ctx, const v1::CreateAccountRequest* req, v1::Account* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  Violations v;
  ValidateAccountFields(req->account(), v);
  if (req->account().owner_node_id().empty() && who->role == Role::kManager) {
    v.Add(
        "account.owner_node_id: required for a MANAGER (a node in your "
        "subtree)");
  }
  if (absl::Status s = v.status(); !s.ok()) {
    return ToGrpc(s);
  }
  absl::Status s =
      db_.store
          ->Write(
              ActorFor(*who, "CreateAccount"),
              [&](WriteTxn& txn) -> absl::Status {
                return CreateOnce(
                    txn, "CreateAccount", req->request_id(), *req, resp,
                    [&]() -> absl::Status {
                      v1::Account a = req->account();
                      a.set_name(Trimmed(a.name()));
                      const NodeFinder find = [&](const std::string& id) {
                        return db_.nodes.Find(txn, id);
                      };
                      if (!a.owner_node_id().empty()) {
                        ASSIGN_OR_RETURN(auto owner, find(a.owner_node_id()));
                        if (!owner) {
                          return absl::InvalidArgumentError(
                              absl::StrCat("account.owner_node_id: org node ",
                                           a.owner_node_id(), " not found"));
                        }
                        RETURN_IF_ERROR(RequireScope(
                            *who, find, a.owner_node_id(), "accounts"));
                      }
                      const std::string key =
                          AccountsStore::NormalizeName(a.name());
                      ASSIGN_OR_RETURN(auto same_name,
                                       db_.account_by_name.Lookup(txn, key));
                      if (same_name) {
                        return absl::AlreadyExistsError(
                            absl::StrCat("account.name: \"", a.name(),
                                         "\" is already account ", *same_name));
                      }
                      if (!a.external_id().empty()) {
                        ASSIGN_OR_RETURN(auto same_ext,
                                         db_.account_by_external_id.Lookup(
                                             txn, a.external_id()));
                        if (same_ext) {
                          return absl::AlreadyExistsError(absl::StrCat(
                              "account.external_id: \"", a.external_id(),
                              "\" is already account ", *same_ext));
                        }
                      }
                      a.set_id(NewId("acc", txn.now()));
                      a.set_segment(SegmentFor(a.purchase_potential(),
                                               a.share_of_wallet()));
                      a.set_created_micros(absl::ToUnixMicros(txn.now()));
                      a.set_updated_micros(a.created_micros());
                      RETURN_IF_ERROR(db_.accounts.Insert(txn, a.id(), &a));
                      db_.account_by_name.Put(txn, key, a.id());
                      if (!a.external_id().empty()) {
                        db_.account_by_external_id.Put(txn, a.external_id(),
                                                       a.id());
                      }
                      db_.accounts_by_owner.Put(txn, a.owner_node_id(), a.id());
                      *resp = std::move(a);
                      return absl::OkStatus();
                    });
              })
          .status();
  return ToGrpc(s);
}

grpc::Status AccountsServiceImpl::GetAccount(Ctx* ctx,
                                             const v1::GetAccountRequest* req,
                                             v1::Account* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  absl::StatusOr<v1::Account> a = db_.accounts.Get(req->id());
  if (!a.ok()) {
    return ToGrpc(a.status());
  }
  *resp = std::move(*a);
  return grpc::Status::OK;
}

grpc::Status AccountsServiceImpl::UpdateAccount(
    Ctx* ctx, const v1::UpdateAccountRequest* req, v1::Account* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  Violations v;
  ValidateAccountFields(req->account(), v);
  if (req->account().id().empty()) {
    v.Add("account.id: required");
  }
  if (absl::Status s = v.status(); !s.ok()) {
    return ToGrpc(s);
  }
  absl::Status s =
      db_.store
          ->Write(
              ActorFor(*who, "UpdateAccount"),
              [&](WriteTxn& txn) -> absl::Status {
                const std::string& id = req->account().id();
                ASSIGN_OR_RETURN(v1::Account old, db_.accounts.Get(txn, id));
                const NodeFinder find = [&](const std::string& node) {
                  return db_.nodes.Find(txn, node);
                };
                // A MANAGER must own the account before and after the change.
                RETURN_IF_ERROR(
                    RequireScope(*who, find, old.owner_node_id(), "accounts"));
                v1::Account a = req->account();
                a.set_name(Trimmed(a.name()));
                if (a.owner_node_id() != old.owner_node_id()) {
                  if (!a.owner_node_id().empty()) {
                    ASSIGN_OR_RETURN(auto owner, find(a.owner_node_id()));
                    if (!owner) {
                      return absl::InvalidArgumentError(
                          absl::StrCat("account.owner_node_id: org node ",
                                       a.owner_node_id(), " not found"));
                    }
                  }
                  RETURN_IF_ERROR(
                      RequireScope(*who, find, a.owner_node_id(), "accounts"));
                  db_.accounts_by_owner.Delete(txn, old.owner_node_id(), id);
                  db_.accounts_by_owner.Put(txn, a.owner_node_id(), id);
                }
                const std::string old_key =
                    AccountsStore::NormalizeName(old.name());
                const std::string key = AccountsStore::NormalizeName(a.name());
                if (key != old_key) {
                  ASSIGN_OR_RETURN(auto same,
                                   db_.account_by_name.Lookup(txn, key));
                  if (same) {
                    return absl::AlreadyExistsError(
                        absl::StrCat("account.name: \"", a.name(),
                                     "\" is already account ", *same));
                  }
                  db_.account_by_name.Delete(txn, old_key);
                  db_.account_by_name.Put(txn, key, id);
                }
                if (a.external_id() != old.external_id()) {
                  if (!a.external_id().empty()) {
                    ASSIGN_OR_RETURN(auto same,
                                     db_.account_by_external_id.Lookup(
                                         txn, a.external_id()));
                    if (same) {
                      return absl::AlreadyExistsError(absl::StrCat(
                          "account.external_id: \"", a.external_id(),
                          "\" is already account ", *same));
                    }
                    db_.account_by_external_id.Put(txn, a.external_id(), id);
                  }
                  if (!old.external_id().empty()) {
                    db_.account_by_external_id.Delete(txn, old.external_id());
                  }
                }
                a.set_segment(
                    SegmentFor(a.purchase_potential(), a.share_of_wallet()));
                a.set_created_micros(old.created_micros());
                a.set_updated_micros(absl::ToUnixMicros(txn.now()));
                RETURN_IF_ERROR(
                    db_.accounts.Update(txn, id, req->expected_version(), &a));
                *resp = std::move(a);
                return absl::OkStatus();
              })
          .status();
  return ToGrpc(s);
}

grpc::Status AccountsServiceImpl::ListAccounts(
    Ctx* ctx, const v1::ListAccountsRequest* req,
    v1::ListAccountsResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  absl::StatusOr<Page> page = ReadPage(req->page());
  if (!page.ok()) {
    return ToGrpc(page.status());
  }
  // Read the position first: watching from it after the listing misses
  // nothing (a change may show up twice; applying is idempotent by version).
  resp->mutable_page()->set_feed_sequence(db_.store->last_sequence());
  const std::function<bool(const v1::Account&)> keep =
      [&](const v1::Account& a) {
        return (req->industry().empty() || a.industry() == req->industry()) &&
               (req->tier() == v1::ACCOUNT_TIER_UNSPECIFIED ||
                a.tier() == req->tier()) &&
               (req->segment() == v1::ACCOUNT_SEGMENT_UNSPECIFIED ||
                a.segment() == req->segment());
      };
  std::string next;
  absl::Status s =
      req->owner_node_id().empty()
          ? FillPage(db_.accounts, *page, keep, resp->mutable_accounts(), &next)
          : FillPageFromIndex(*db_.store, db_.accounts_by_owner,
                              req->owner_node_id(), db_.accounts, *page, keep,
                              resp->mutable_accounts(), &next);
  resp->mutable_page()->set_next_page_token(next);
  return ToGrpc(s);
}

// ---------------------------------------------------------------------------
// Contacts

grpc::Status AccountsServiceImpl::CreateContact(
    Ctx* ctx, const v1::CreateContactRequest* req, v1::Contact* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager, Role::kRep});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  Violations v;
  ValidateContactFields(req->contact(), v);
  if (req->contact().account_id().empty()) {
    v.Add("contact.account_id: required");
  }
  if (absl::Status s = v.status(); !s.ok()) {
    return ToGrpc(s);
  }
  absl::Status s =
      db_.store
          ->Write(
              ActorFor(*who, "CreateContact"),
              [&](WriteTxn& txn) -> absl::Status {
                return CreateOnce(
                    txn, "CreateContact", req->request_id(), *req, resp,
                    [&]() -> absl::Status {
                      v1::Contact c = req->contact();
                      ASSIGN_OR_RETURN(auto account,
                                       db_.accounts.Find(txn, c.account_id()));
                      if (!account) {
                        return absl::InvalidArgumentError(
                            absl::StrCat("contact.account_id: account ",
                                         c.account_id(), " not found"));
                      }
                      RETURN_IF_ERROR(CheckContactWriter(txn, *who, *account));
                      if (!c.reports_to_id().empty()) {
                        ASSIGN_OR_RETURN(
                            auto boss,
                            db_.contacts.Find(txn, c.reports_to_id()));
                        if (!boss) {
                          return absl::InvalidArgumentError(
                              absl::StrCat("contact.reports_to_id: contact ",
                                           c.reports_to_id(), " not found"));
                        }
                        if (boss->account_id() != c.account_id()) {
                          return absl::InvalidArgumentError(absl::StrCat(
                              "contact.reports_to_id: contact ",
                              c.reports_to_id(), " belongs to account ",
                              boss->account_id(), ", not ", c.account_id()));
                        }
                      }
                      if (!c.external_id().empty()) {
                        ASSIGN_OR_RETURN(auto same,
                                         db_.contact_by_external_id.Lookup(
                                             txn, c.external_id()));
                        if (same) {
                          return absl::AlreadyExistsError(absl::StrCat(
                              "contact.external_id: \"", c.external_id(),
                              "\" is already contact ", *same));
                        }
                      }
                      c.set_id(NewId("con", txn.now()));
                      c.set_name(Trimmed(c.name()));
                      if (c.status() == v1::CONTACT_STATUS_UNSPECIFIED) {
                        c.set_status(v1::CONTACT_STATUS_ACTIVE);
                      }
                      c.set_created_micros(absl::ToUnixMicros(txn.now()));
                      c.set_updated_micros(c.created_micros());
                      RETURN_IF_ERROR(db_.contacts.Insert(txn, c.id(), &c));
                      db_.contacts_by_account.Put(txn, c.account_id(), c.id());
                      if (!c.external_id().empty()) {
                        db_.contact_by_external_id.Put(txn, c.external_id(),
                                                       c.id());
                      }
                      *resp = std::move(c);
                      return absl::OkStatus();
                    });
              })
          .status();
  return ToGrpc(s);
}

absl::Status AccountsServiceImpl::CheckContactWriter(
    WriteTxn& txn, const Principal& who, const v1::Account& account) const {
  if (who.role == Role::kRep) {
    if (!who.org_node_id.empty() &&
        account.owner_node_id() == who.org_node_id) {
      return absl::OkStatus();
    }
    return absl::PermissionDeniedError(
        absl::StrCat("REP ", who.name,
                     " may only write contacts of accounts "
                     "owned by org node \"",
                     who.org_node_id, "\""));
  }
  const NodeFinder find = [&](const std::string& id) {
    return db_.nodes.Find(txn, id);
  };
  return RequireScope(who, find, account.owner_node_id(), "contacts");
}

grpc::Status AccountsServiceImpl::GetContact(Ctx* ctx,
                                             const v1::GetContactRequest* req,
                                             v1::Contact* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  absl::StatusOr<v1::Contact> c = db_.contacts.Get(req->id());
  if (!c.ok()) {
    return ToGrpc(c.status());
  }
  *resp = std::move(*c);
  return grpc::Status::OK;
}

grpc::Status AccountsServiceImpl::UpdateContact(
    Ctx* ctx, const v1::UpdateContactRequest* req, v1::Contact* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager, Role::kRep});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  Violations v;
  ValidateContactFields(req->contact(), v);
  if (req->contact().id().empty()) {
    v.Add("contact.id: required");
  }
  if (req->contact().status() == v1::CONTACT_STATUS_UNSPECIFIED) {
    v.Add("contact.status: required (ACTIVE or LEFT)");
  }
  if (absl::Status s = v.status(); !s.ok()) {
    return ToGrpc(s);
  }
  absl::Status s =
      db_.store
          ->Write(
              ActorFor(*who, "UpdateContact"),
              [&](WriteTxn& txn) -> absl::Status {
                const v1::Contact& in = req->contact();
                ASSIGN_OR_RETURN(v1::Contact old,
                                 db_.contacts.Get(txn, in.id()));
                if (!in.account_id().empty() &&
                    in.account_id() != old.account_id()) {
                  return absl::InvalidArgumentError(absl::StrCat(
                      "contact.account_id: cannot change (contact ", in.id(),
                      " belongs to account ", old.account_id(), ")"));
                }
                ASSIGN_OR_RETURN(v1::Account account,
                                 db_.accounts.Get(txn, old.account_id()));
                RETURN_IF_ERROR(CheckContactWriter(txn, *who, account));
                if (!in.reports_to_id().empty() &&
                    in.reports_to_id() != old.reports_to_id()) {
                  ASSIGN_OR_RETURN(auto boss,
                                   db_.contacts.Find(txn, in.reports_to_id()));
                  if (!boss) {
                    return absl::InvalidArgumentError(
                        absl::StrCat("contact.reports_to_id: contact ",
                                     in.reports_to_id(), " not found"));
                  }
                  if (boss->account_id() != old.account_id()) {
                    return absl::InvalidArgumentError(absl::StrCat(
                        "contact.reports_to_id: contact ", in.reports_to_id(),
                        " belongs to account ", boss->account_id(), ", not ",
                        old.account_id()));
                  }
                  RETURN_IF_ERROR(CheckNoCycle(
                      [&](const std::string& id) -> std::optional<std::string> {
                        absl::StatusOr<std::optional<v1::Contact>> c =
                            db_.contacts.Find(txn, id);
                        if (!c.ok() || !c->has_value()) {
                          return std::nullopt;
                        }
                        return (*c)->reports_to_id();
                      },
                      in.id(), in.reports_to_id(), "contact.reports_to_id"));
                }
                if (in.external_id() != old.external_id()) {
                  if (!in.external_id().empty()) {
                    ASSIGN_OR_RETURN(auto same,
                                     db_.contact_by_external_id.Lookup(
                                         txn, in.external_id()));
                    if (same) {
                      return absl::AlreadyExistsError(absl::StrCat(
                          "contact.external_id: \"", in.external_id(),
                          "\" is already contact ", *same));
                    }
                    db_.contact_by_external_id.Put(txn, in.external_id(),
                                                   in.id());
                  }
                  if (!old.external_id().empty()) {
                    db_.contact_by_external_id.Delete(txn, old.external_id());
                  }
                }
                v1::Contact c = in;
                c.set_account_id(old.account_id());
                c.set_name(Trimmed(c.name()));
                c.set_created_micros(old.created_micros());
                c.set_updated_micros(absl::ToUnixMicros(txn.now()));
                RETURN_IF_ERROR(db_.contacts.Update(
                    txn, c.id(), req->expected_version(), &c));
                *resp = std::move(c);
                return absl::OkStatus();
              })
          .status();
  return ToGrpc(s);
}

grpc::Status AccountsServiceImpl::ListContacts(
    Ctx* ctx, const v1::ListContactsRequest* req,
    v1::ListContactsResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  if (req->account_id().empty()) {
    return ToGrpc(absl::InvalidArgumentError("account_id: required"));
  }
  absl::StatusOr<Page> page = ReadPage(req->page());
  if (!page.ok()) {
    return ToGrpc(page.status());
  }
  resp->mutable_page()->set_feed_sequence(db_.store->last_sequence());
  const std::function<bool(const v1::Contact&)> keep =
      [&](const v1::Contact& c) {
        return req->status() == v1::CONTACT_STATUS_UNSPECIFIED ||
               c.status() == req->status();
      };
  std::string next;
  absl::Status s = FillPageFromIndex(*db_.store, db_.contacts_by_account,
                                     req->account_id(), db_.contacts, *page,
                                     keep, resp->mutable_contacts(), &next);
  resp->mutable_page()->set_next_page_token(next);
  return ToGrpc(s);
}

namespace {

void ToProto(const ChartNode& node,
             const std::map<std::string, v1::Contact>& contacts,
             v1::OrgChartNode* out) {
  *out->mutable_contact() = contacts.at(node.id);
  for (const ChartNode& r : node.reports) {
    ToProto(r, contacts, out->add_reports());
  }
}

}  // namespace

grpc::Status AccountsServiceImpl::GetOrgChart(Ctx* ctx,
                                              const v1::GetOrgChartRequest* req,
                                              v1::GetOrgChartResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  if (req->account_id().empty()) {
    return ToGrpc(absl::InvalidArgumentError("account_id: required"));
  }
  resp->set_feed_sequence(db_.store->last_sequence());
  absl::StatusOr<v1::Account> account = db_.accounts.Get(req->account_id());
  if (!account.ok()) {
    return ToGrpc(account.status());
  }
  std::map<std::string, v1::Contact> contacts;
  std::string after;
  while (true) {
    std::vector<std::string> ids;
    bool more = false;
    absl::Status s = db_.contacts_by_account.ListIds(
        *db_.store, req->account_id(), after, 1000, &ids, &more);
    if (!s.ok()) {
      return ToGrpc(s);
    }
    for (const std::string& id : ids) {
      absl::StatusOr<std::optional<v1::Contact>> c = db_.contacts.Find(id);
      if (!c.ok()) {
        return ToGrpc(c.status());
      }
      if (c->has_value() &&
          (req->include_left() || (*c)->status() != v1::CONTACT_STATUS_LEFT)) {
        contacts.emplace(id, std::move(**c));
      }
      after = id;
    }
    if (!more) {
      break;
    }
  }
  std::vector<ContactLink> links;
  links.reserve(contacts.size());
  for (const auto& [id, c] : contacts) {
    links.push_back({id, c.reports_to_id()});
  }
  absl::StatusOr<std::vector<ChartNode>> forest = BuildForest(std::move(links));
  if (!forest.ok()) {
    return ToGrpc(forest.status());
  }
  for (const ChartNode& root : *forest) {
    ToProto(root, contacts, resp->add_roots());
  }
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------
// Our sales organization

grpc::Status AccountsServiceImpl::CreateOrgNode(
    Ctx* ctx, const v1::CreateOrgNodeRequest* req, v1::OrgNode* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  const v1::OrgNode& in = req->node();
  Violations v;
  if (Blank(in.name())) {
    v.Add("node.name: required");
  }
  if (in.kind() == v1::ORG_NODE_KIND_UNSPECIFIED ||
      !v1::OrgNodeKind_IsValid(in.kind())) {
    v.Add("node.kind: required (GLOBAL, REGION, AREA, TEAM or REP)");
  }
  if (absl::Status s = v.status(); !s.ok()) {
    return ToGrpc(s);
  }
  absl::Status s =
      db_.store
          ->Write(
              ActorFor(*who, "CreateOrgNode"),
              [&](WriteTxn& txn) -> absl::Status {
                return CreateOnce(
                    txn, "CreateOrgNode", req->request_id(), *req, resp,
                    [&]() -> absl::Status {
                      const NodeFinder find = [&](const std::string& id) {
                        return db_.nodes.Find(txn, id);
                      };
                      ASSIGN_OR_RETURN(auto root,
                                       db_.root_node.Lookup(txn, ""));
                      if (in.parent_id().empty()) {
                        if (root) {
                          return absl::FailedPreconditionError(
                              absl::StrCat("node.parent_id: required: the "
                                           "organization already "
                                           "has its root, org node ",
                                           *root));
                        }
                        if (in.kind() != v1::ORG_NODE_KIND_GLOBAL) {
                          return absl::InvalidArgumentError(
                              "node.kind: the root of the organization must be "
                              "GLOBAL");
                        }
                        if (who->role != Role::kAdmin) {
                          return absl::PermissionDeniedError(
                              "only an ADMIN creates the root org node");
                        }
                      } else {
                        ASSIGN_OR_RETURN(auto parent, find(in.parent_id()));
                        if (!parent) {
                          return absl::InvalidArgumentError(
                              absl::StrCat("node.parent_id: org node ",
                                           in.parent_id(), " not found"));
                        }
                        if (parent->kind() == v1::ORG_NODE_KIND_REP) {
                          return absl::FailedPreconditionError(absl::StrCat(
                              "node.parent_id: ", in.parent_id(),
                              " is a REP node; REP nodes have no children"));
                        }
                        if (in.kind() == v1::ORG_NODE_KIND_GLOBAL) {
                          return absl::InvalidArgumentError(
                              "node.kind: GLOBAL is only the root");
                        }
                        RETURN_IF_ERROR(RequireScope(*who, find, in.parent_id(),
                                                     "org nodes"));
                      }
                      if (!in.external_id().empty()) {
                        ASSIGN_OR_RETURN(auto same,
                                         db_.node_by_external_id.Lookup(
                                             txn, in.external_id()));
                        if (same) {
                          return absl::AlreadyExistsError(absl::StrCat(
                              "node.external_id: \"", in.external_id(),
                              "\" is already org node ", *same));
                        }
                      }
                      v1::OrgNode n = in;
                      n.set_id(NewId("org", txn.now()));
                      n.set_name(Trimmed(n.name()));
                      n.set_created_micros(absl::ToUnixMicros(txn.now()));
                      n.set_updated_micros(n.created_micros());
                      RETURN_IF_ERROR(db_.nodes.Insert(txn, n.id(), &n));
                      db_.nodes_by_parent.Put(txn, n.parent_id(), n.id());
                      if (n.parent_id().empty()) {
                        db_.root_node.Put(txn, "", n.id());
                      }
                      if (!n.external_id().empty()) {
                        db_.node_by_external_id.Put(txn, n.external_id(),
                                                    n.id());
                      }
                      *resp = std::move(n);
                      return absl::OkStatus();
                    });
              })
          .status();
  return ToGrpc(s);
}

grpc::Status AccountsServiceImpl::GetOrgNode(Ctx* ctx,
                                             const v1::GetOrgNodeRequest* req,
                                             v1::OrgNode* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  absl::StatusOr<v1::OrgNode> n = db_.nodes.Get(req->id());
  if (!n.ok()) {
    return ToGrpc(n.status());
  }
  *resp = std::move(*n);
  return grpc::Status::OK;
}

grpc::Status AccountsServiceImpl::UpdateOrgNode(
    Ctx* ctx, const v1::UpdateOrgNodeRequest* req, v1::OrgNode* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  const v1::OrgNode& in = req->node();
  Violations v;
  if (in.id().empty()) {
    v.Add("node.id: required");
  }
  if (Blank(in.name())) {
    v.Add("node.name: required");
  }
  if (absl::Status s = v.status(); !s.ok()) {
    return ToGrpc(s);
  }
  absl::Status s =
      db_.store
          ->Write(
              ActorFor(*who, "UpdateOrgNode"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(v1::OrgNode n, db_.nodes.Get(txn, in.id()));
                const NodeFinder find = [&](const std::string& id) {
                  return db_.nodes.Find(txn, id);
                };
                RETURN_IF_ERROR(RequireScope(*who, find, n.id(), "org nodes"));
                if (in.kind() != v1::ORG_NODE_KIND_UNSPECIFIED &&
                    in.kind() != n.kind()) {
                  return absl::InvalidArgumentError(
                      "node.kind: cannot change; create a node of the new "
                      "kind");
                }
                if (!in.parent_id().empty() &&
                    in.parent_id() != n.parent_id()) {
                  return absl::InvalidArgumentError(
                      "node.parent_id: change it with MoveOrgNode");
                }
                if (in.external_id() != n.external_id()) {
                  if (!in.external_id().empty()) {
                    ASSIGN_OR_RETURN(auto same, db_.node_by_external_id.Lookup(
                                                    txn, in.external_id()));
                    if (same) {
                      return absl::AlreadyExistsError(
                          absl::StrCat("node.external_id: \"", in.external_id(),
                                       "\" is already org node ", *same));
                    }
                    db_.node_by_external_id.Put(txn, in.external_id(), n.id());
                  }
                  if (!n.external_id().empty()) {
                    db_.node_by_external_id.Delete(txn, n.external_id());
                  }
                }
                n.set_name(Trimmed(in.name()));
                n.set_manager_principal(in.manager_principal());
                n.set_external_id(in.external_id());
                n.set_updated_micros(absl::ToUnixMicros(txn.now()));
                RETURN_IF_ERROR(
                    db_.nodes.Update(txn, n.id(), req->expected_version(), &n));
                *resp = std::move(n);
                return absl::OkStatus();
              })
          .status();
  return ToGrpc(s);
}

grpc::Status AccountsServiceImpl::MoveOrgNode(Ctx* ctx,
                                              const v1::MoveOrgNodeRequest* req,
                                              v1::OrgNode* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  Violations v;
  if (req->id().empty()) {
    v.Add("id: required");
  }
  if (req->new_parent_id().empty()) {
    v.Add("new_parent_id: required");
  }
  if (absl::Status s = v.status(); !s.ok()) {
    return ToGrpc(s);
  }
  absl::Status s =
      db_.store
          ->Write(
              ActorFor(*who, "MoveOrgNode"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(v1::OrgNode n, db_.nodes.Get(txn, req->id()));
                const NodeFinder find = [&](const std::string& id) {
                  return db_.nodes.Find(txn, id);
                };
                if (n.parent_id().empty()) {
                  return absl::FailedPreconditionError(absl::StrCat(
                      "id: ", n.id(),
                      " is the root of the organization; it has no "
                      "parent to move under"));
                }
                ASSIGN_OR_RETURN(auto parent, find(req->new_parent_id()));
                if (!parent) {
                  return absl::InvalidArgumentError(
                      absl::StrCat("new_parent_id: org node ",
                                   req->new_parent_id(), " not found"));
                }
                // A cycle is wrong whatever the parent's kind: checked first.
                RETURN_IF_ERROR(CheckNoCycle(ParentOf(find), n.id(),
                                             req->new_parent_id(),
                                             "new_parent_id"));
                if (parent->kind() == v1::ORG_NODE_KIND_REP) {
                  return absl::FailedPreconditionError(absl::StrCat(
                      "new_parent_id: ", parent->id(),
                      " is a REP node; REP nodes have no children"));
                }
                // A MANAGER moves nodes within their subtree only: from and to.
                RETURN_IF_ERROR(RequireScope(*who, find, n.id(), "org nodes"));
                RETURN_IF_ERROR(RequireScope(*who, find, req->new_parent_id(),
                                             "org nodes"));
                db_.nodes_by_parent.Delete(txn, n.parent_id(), n.id());
                db_.nodes_by_parent.Put(txn, req->new_parent_id(), n.id());
                n.set_parent_id(req->new_parent_id());
                n.set_updated_micros(absl::ToUnixMicros(txn.now()));
                RETURN_IF_ERROR(
                    db_.nodes.Update(txn, n.id(), req->expected_version(), &n));
                *resp = std::move(n);
                return absl::OkStatus();
              })
          .status();
  return ToGrpc(s);
}

grpc::Status AccountsServiceImpl::ListOrgNodes(
    Ctx* ctx, const v1::ListOrgNodesRequest* req,
    v1::ListOrgNodesResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  absl::StatusOr<Page> page = ReadPage(req->page());
  if (!page.ok()) {
    return ToGrpc(page.status());
  }
  resp->mutable_page()->set_feed_sequence(db_.store->last_sequence());
  const std::function<bool(const v1::OrgNode&)> all = [](const v1::OrgNode&) {
    return true;
  };
  std::string next;
  absl::Status s =
      req->parent_id().empty()
          ? FillPage(db_.nodes, *page, all, resp->mutable_nodes(), &next)
          : FillPageFromIndex(*db_.store, db_.nodes_by_parent, req->parent_id(),
                              db_.nodes, *page, all, resp->mutable_nodes(),
                              &next);
  resp->mutable_page()->set_next_page_token(next);
  return ToGrpc(s);
}

// ---------------------------------------------------------------------------
// Quotas

grpc::Status AccountsServiceImpl::ListQuotas(Ctx* ctx,
                                             const v1::ListQuotasRequest* req,
                                             v1::ListQuotasResponse* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kService});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  absl::StatusOr<Page> page = ReadPage(req->page());
  if (!page.ok()) {
    return ToGrpc(page.status());
  }
  resp->mutable_page()->set_feed_sequence(db_.store->last_sequence());
  std::vector<v1::Quota> chunk;
  bool more = false;
  if (absl::Status s = db_.quotas.List(page->after, page->size, &chunk, &more);
      !s.ok()) {
    return ToGrpc(s);
  }
  for (v1::Quota& q : chunk) {
    *resp->add_quotas() = std::move(q);
  }
  if (more && resp->quotas_size() > 0) {
    const v1::Quota& last = *resp->quotas().rbegin();
    resp->mutable_page()->set_next_page_token(
        EncodePageToken(AccountsStore::QuotaId(
            last.node_id(), last.fiscal_year(), last.fiscal_quarter())));
  }
  return grpc::Status::OK;
}

grpc::Status AccountsServiceImpl::SetQuota(Ctx* ctx,
                                           const v1::SetQuotaRequest* req,
                                           v1::Quota* resp) {
  absl::StatusOr<Principal> who =
      auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager});
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  Violations v;
  if (req->node_id().empty()) {
    v.Add("node_id: required");
  }
  if (req->fiscal_year() < 1 || req->fiscal_year() > 9999) {
    v.Add("fiscal_year: must be 1..9999");
  }
  if (req->fiscal_quarter() < 1 || req->fiscal_quarter() > 4) {
    v.Add(absl::StrCat("fiscal_quarter: must be 1..4, got ",
                       req->fiscal_quarter()));
  }
  if (absl::Status m = money::Validate(req->amount(), currency_, "amount",
                                       money::Sign::kNonNegative);
      !m.ok()) {
    v.Add(std::string(m.message()));
  }
  if (absl::Status s = v.status(); !s.ok()) {
    return ToGrpc(s);
  }
  absl::Status s =
      db_.store
          ->Write(
              ActorFor(*who, "SetQuota"),
              [&](WriteTxn& txn) -> absl::Status {
                const NodeFinder find = [&](const std::string& id) {
                  return db_.nodes.Find(txn, id);
                };
                ASSIGN_OR_RETURN(v1::OrgNode node,
                                 db_.nodes.Get(txn, req->node_id()));
                RETURN_IF_ERROR(RequireScope(*who, find, node.id(), "quotas"));
                const std::string id = AccountsStore::QuotaId(
                    node.id(), req->fiscal_year(), req->fiscal_quarter());
                ASSIGN_OR_RETURN(auto old, db_.quotas.Find(txn, id));
                v1::Quota q;
                q.set_node_id(node.id());
                q.set_fiscal_year(req->fiscal_year());
                q.set_fiscal_quarter(req->fiscal_quarter());
                *q.mutable_amount() = req->amount();
                q.set_updated_micros(absl::ToUnixMicros(txn.now()));
                if (old) {
                  RETURN_IF_ERROR(
                      db_.quotas.Update(txn, id, req->expected_version(), &q));
                } else {
                  if (req->expected_version() != 0) {
                    return absl::AbortedError(absl::StrCat(
                        "quota ", id, ": expected_version ",
                        req->expected_version(), " but no quota is set yet"));
                  }
                  RETURN_IF_ERROR(db_.quotas.Insert(txn, id, &q));
                }
                *resp = std::move(q);
                return absl::OkStatus();
              })
          .status();
  return ToGrpc(s);
}

grpc::Status AccountsServiceImpl::GetQuota(Ctx* ctx,
                                           const v1::GetQuotaRequest* req,
                                           v1::GetQuotaResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  Violations v;
  if (req->node_id().empty()) {
    v.Add("node_id: required");
  }
  if (req->fiscal_year() < 1 || req->fiscal_year() > 9999) {
    v.Add("fiscal_year: must be 1..9999");
  }
  if (req->fiscal_quarter() < 1 || req->fiscal_quarter() > 4) {
    v.Add(absl::StrCat("fiscal_quarter: must be 1..4, got ",
                       req->fiscal_quarter()));
  }
  if (absl::Status s = v.status(); !s.ok()) {
    return ToGrpc(s);
  }
  resp->set_feed_sequence(db_.store->last_sequence());
  absl::StatusOr<v1::OrgNode> top = db_.nodes.Get(req->node_id());
  if (!top.ok()) {
    return ToGrpc(top.status());
  }
  // The subtree, breadth first, with each node's explicit quota.
  std::vector<QuotaNode> subtree;
  subtree.push_back({top->id(), "", std::nullopt});
  for (size_t i = 0; i < subtree.size(); ++i) {
    const std::string id = subtree[i].id;
    absl::StatusOr<std::optional<v1::Quota>> q = db_.quotas.Find(
        AccountsStore::QuotaId(id, req->fiscal_year(), req->fiscal_quarter()));
    if (!q.ok()) {
      return ToGrpc(q.status());
    }
    if (q->has_value()) {
      subtree[i].explicit_quota_minor = (*q)->amount().units_minor();
    }
    std::string after;
    while (true) {
      std::vector<std::string> children;
      bool more = false;
      absl::Status s = db_.nodes_by_parent.ListIds(*db_.store, id, after, 1000,
                                                   &children, &more);
      if (!s.ok()) {
        return ToGrpc(s);
      }
      for (const std::string& child : children) {
        subtree.push_back({child, id, std::nullopt});
      }
      if (!more || children.empty()) {
        break;
      }
      after = children.back();
    }
  }
  absl::StatusOr<std::map<std::string, int64_t>> effective =
      EffectiveQuotas(subtree);
  if (!effective.ok()) {
    return ToGrpc(effective.status());
  }
  if (subtree[0].explicit_quota_minor.has_value()) {
    resp->set_has_explicit(true);
    *resp->mutable_explicit_() =
        money::Make(*subtree[0].explicit_quota_minor, currency_);
  }
  *resp->mutable_effective() = money::Make(effective->at(top->id()), currency_);
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------
// Key-account analysis

grpc::Status AccountsServiceImpl::ScoreIndustries(
    Ctx* ctx, const v1::ScoreIndustriesRequest* req,
    v1::ScoreIndustriesResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  std::vector<Criterion> criteria;
  for (const auto& c : req->criteria()) {
    criteria.push_back({c.name(), c.negative()});
  }
  std::vector<IndustryScores> industries;
  for (const auto& i : req->industries()) {
    industries.push_back(
        {i.name(), std::vector<int32_t>(i.scores().begin(), i.scores().end())});
  }
  absl::StatusOr<IndustryMatrix> m =
      accounts::ScoreIndustries(criteria, industries);
  if (!m.ok()) {
    return ToGrpc(m.status());
  }
  for (const RankedIndustry& r : m->ranked) {
    auto* out = resp->add_ranked();
    out->set_name(r.name);
    out->set_total(r.total);
    out->set_focus(r.focus);
  }
  resp->set_mean_milli(m->mean_milli);
  for (const std::string& f : m->focus) {
    resp->add_focus(f);
  }
  return grpc::Status::OK;
}

grpc::Status AccountsServiceImpl::GetParetoView(
    Ctx* ctx, const v1::GetParetoViewRequest* req,
    v1::GetParetoViewResponse* resp) {
  absl::StatusOr<Principal> who = auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  Violations v;
  std::vector<Revenue> revenues;
  for (int i = 0; i < req->revenues_size(); ++i) {
    const auto& r = req->revenues(i);
    if (absl::Status m = money::Validate(
            r.revenue(), currency_, absl::StrCat("revenues[", i, "].revenue"),
            money::Sign::kNonNegative);
        !m.ok()) {
      v.Add(std::string(m.message()));
    }
    revenues.push_back({r.account_id(), r.revenue().units_minor()});
  }
  if (absl::Status s = v.status(); !s.ok()) {
    return ToGrpc(s);
  }
  const int32_t share = req->top_share_bp() == 0 ? 8000 : req->top_share_bp();
  absl::StatusOr<ParetoView> view = Pareto(std::move(revenues), share);
  if (!view.ok()) {
    return ToGrpc(view.status());
  }
  for (const std::string& id : view->top_account_ids) {
    resp->add_top_account_ids(id);
  }
  *resp->mutable_top_revenue() =
      money::Make(view->top_revenue_minor, currency_);
  *resp->mutable_total_revenue() =
      money::Make(view->total_revenue_minor, currency_);
  resp->set_top_count_share_bp(view->top_count_share_bp);
  resp->set_top_revenue_share_bp(view->top_revenue_share_bp);
  return grpc::Status::OK;
}

grpc::Status AccountsServiceImpl::ClassifyAccounts(
    Ctx* ctx, const v1::ClassifyAccountsRequest* req,
    v1::ClassifyAccountsResponse* resp) {
  absl::StatusOr<Principal> who =
      req->apply() ? auth_->Authorize(*ctx, {Role::kAdmin, Role::kManager})
                   : auth_->Authenticate(*ctx);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  Violations v;
  std::vector<ScorecardInput> inputs;
  for (int i = 0; i < req->scorecards_size(); ++i) {
    const auto& c = req->scorecards(i);
    const std::string at = absl::StrCat("scorecards[", i, "]");
    for (const auto& [name, money] :
         {std::pair<const char*, const v1::Money*>{".revenue_12m",
                                                   &c.revenue_12m()},
          {".purchase_potential", &c.purchase_potential()}}) {
      if (absl::Status m =
              money::Validate(*money, currency_, absl::StrCat(at, name),
                              money::Sign::kNonNegative);
          !m.ok()) {
        v.Add(std::string(m.message()));
      }
    }
    inputs.push_back({c.account_id(), c.revenue_12m().units_minor(),
                      c.gross_margin_bp(), c.avg_collection_days(),
                      c.purchase_potential().units_minor()});
  }
  if (absl::Status s = v.status(); !s.ok()) {
    return ToGrpc(s);
  }
  TierThresholds thresholds;
  if (req->platinum_bp() != 0 || req->gold_bp() != 0 || req->silver_bp() != 0) {
    thresholds = {req->platinum_bp(), req->gold_bp(), req->silver_bp()};
  }
  absl::StatusOr<std::vector<ScoredAccount>> scored =
      ClassifyByScorecard(std::move(inputs), thresholds);
  if (!scored.ok()) {
    return ToGrpc(scored.status());
  }
  const auto tier_of = [](Tier t) {
    switch (t) {
      case Tier::kPlatinum:
        return v1::ACCOUNT_TIER_PLATINUM;
      case Tier::kGold:
        return v1::ACCOUNT_TIER_GOLD;
      case Tier::kSilver:
        return v1::ACCOUNT_TIER_SILVER;
      case Tier::kStandard:
        return v1::ACCOUNT_TIER_STANDARD;
    }
    return v1::ACCOUNT_TIER_UNSPECIFIED;
  };
  for (const ScoredAccount& a : *scored) {
    auto* out = resp->add_accounts();
    out->set_account_id(a.account_id);
    *out->mutable_score() = money::Make(a.score_minor, currency_);
    out->set_rank(a.rank);
    out->set_tier(tier_of(a.tier));
  }
  if (!req->apply()) {
    return grpc::Status::OK;
  }
  absl::Status s =
      db_.store
          ->Write(ActorFor(*who, "ClassifyAccounts"),
                  [&](WriteTxn& txn) -> absl::Status {
                    const NodeFinder find = [&](const std::string& id) {
                      return db_.nodes.Find(txn, id);
                    };
                    for (const auto& c : resp->accounts()) {
                      ASSIGN_OR_RETURN(v1::Account a,
                                       db_.accounts.Get(txn, c.account_id()));
                      RETURN_IF_ERROR(RequireScope(
                          *who, find, a.owner_node_id(), "accounts"));
                      if (a.tier() == c.tier()) {
                        continue;
                      }
                      a.set_tier(c.tier());
                      a.set_updated_micros(absl::ToUnixMicros(txn.now()));
                      RETURN_IF_ERROR(db_.accounts.Update(txn, a.id(), 0, &a));
                    }
                    return absl::OkStatus();
                  })
          .status();
  return ToGrpc(s);
}

}  // namespace salesops::accounts
