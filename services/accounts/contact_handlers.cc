// Contacts and the org chart of an account: the I/O around contact_rules
// (see handlers.h).

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status/status.h"
#include "common/store/ids.h"
#include "common/store/listing.h"
#include "services/accounts/contact_rules.h"
#include "services/accounts/handler_support.h"
#include "services/accounts/handlers.h"
#include "services/accounts/org_tree.h"

namespace salesops::accounts::handlers {
namespace {

// The contact named by `id` (nullopt when `id` is empty or unknown).
absl::StatusOr<std::optional<v1::Contact>> FindContact(const AccountsStore& db,
                                                       WriteTxn& txn,
                                                       const std::string& id) {
  if (id.empty()) {
    return std::nullopt;
  }
  return db.contacts.Find(txn, id);
}

// The reports-to links as `txn` sees them.
ReportsToFn ReportsTo(const AccountsStore& db, WriteTxn& txn) {
  return [&db, &txn](const std::string& id) -> std::optional<std::string> {
    absl::StatusOr<std::optional<v1::Contact>> c = db.contacts.Find(txn, id);
    if (!c.ok() || !c->has_value()) {
      return std::nullopt;
    }
    return (*c)->reports_to_id();
  };
}

void ToProto(const ChartNode& node,
             const std::map<std::string, v1::Contact>& contacts,
             v1::OrgChartNode* out) {
  *out->mutable_contact() = contacts.at(node.id);
  for (const ChartNode& r : node.reports) {
    ToProto(r, contacts, out->add_reports());
  }
}

// The contacts of `account_id` by id, without those who left unless
// `include_left`.
absl::StatusOr<std::map<std::string, v1::Contact>> ChartContacts(
    const AccountsStore& db, const std::string& account_id, bool include_left) {
  ASSIGN_OR_RETURN(std::vector<std::string> ids,
                   db.contacts_by_account.AllIds(*db.store, account_id));
  std::map<std::string, v1::Contact> contacts;
  for (const std::string& id : ids) {
    ASSIGN_OR_RETURN(std::optional<v1::Contact> c, db.contacts.Find(id));
    if (c && (include_left || c->status() != v1::CONTACT_STATUS_LEFT)) {
      contacts.emplace(id, std::move(*c));
    }
  }
  return contacts;
}

}  // namespace

TxnFn CreateContactTxn(AccountsStore& db, Principal who,
                       const v1::CreateContactRequest& req, v1::Contact* resp,
                       bool* ran) {
  return [&db, who = std::move(who), &req, resp,
          ran](WriteTxn& txn) -> absl::Status {
    const v1::Contact& in = req.contact();
    return CreateOnce(
        txn, "CreateContact", req.request_id(), req, resp,
        [&]() -> absl::Status {
          ContactReads reads;
          ASSIGN_OR_RETURN(reads.account,
                           db.accounts.Find(txn, in.account_id()));
          if (reads.account) {
            ASSIGN_OR_RETURN(reads.boss,
                             FindContact(db, txn, in.reports_to_id()));
          }
          ASSIGN_OR_RETURN(
              ContactChange change,
              accounts::CreateContact(in, reads, WriterScope(db, txn, who),
                                      NewId("con", txn.now()), txn.now()));
          v1::Contact& c = change.contact;
          RETURN_IF_ERROR(Claim(txn, db.contact_by_external_id,
                                "contact.external_id", change.external_id,
                                c.id()));
          RETURN_IF_ERROR(db.contacts.Insert(txn, c.id(), &c));
          db.contacts_by_account.Put(txn, c.account_id(), c.id());
          *resp = std::move(c);
          if (ran != nullptr) {
            *ran = true;
          }
          return absl::OkStatus();
        });
  };
}

absl::Status CreateContact(Env env, const Principal& who,
                           const v1::CreateContactRequest& req,
                           v1::Contact* resp) {
  RETURN_IF_ERROR(CheckCreateContact(req));
  return env.db.store
      ->Write(ActorFor(who, "CreateContact"),
              CreateContactTxn(env.db, who, req, resp, nullptr))
      .status();
}

absl::Status GetContact(Env env, const v1::GetContactRequest& req,
                        v1::Contact* resp) {
  ASSIGN_OR_RETURN(*resp, env.db.contacts.Get(req.id()));
  return absl::OkStatus();
}

absl::Status UpdateContact(Env env, const Principal& who,
                           const v1::UpdateContactRequest& req,
                           v1::Contact* resp) {
  RETURN_IF_ERROR(CheckUpdateContact(req));
  AccountsStore& db = env.db;
  const v1::Contact& in = req.contact();
  return db.store
      ->Write(
          ActorFor(who, "UpdateContact"),
          [&](WriteTxn& txn) -> absl::Status {
            ASSIGN_OR_RETURN(v1::Contact old, db.contacts.Get(txn, in.id()));
            ASSIGN_OR_RETURN(const v1::Contact merged,
                             MergeContactUpdate(old, req));
            ContactReads reads;
            ASSIGN_OR_RETURN(reads.account,
                             db.accounts.Get(txn, old.account_id()));
            if (merged.reports_to_id() != old.reports_to_id()) {
              ASSIGN_OR_RETURN(reads.boss,
                               FindContact(db, txn, merged.reports_to_id()));
            }
            ASSIGN_OR_RETURN(
                ContactChange change,
                accounts::UpdateContact(old, merged, reads, ReportsTo(db, txn),
                                        WriterScope(db, txn, who), txn.now()));
            v1::Contact& c = change.contact;
            RETURN_IF_ERROR(Claim(txn, db.contact_by_external_id,
                                  "contact.external_id", change.external_id,
                                  c.id()));
            RETURN_IF_ERROR(
                db.contacts.Update(txn, c.id(), req.expected_version(), &c));
            *resp = std::move(c);
            return absl::OkStatus();
          })
      .status();
}

absl::Status ListContacts(Env env, const v1::ListContactsRequest& req,
                          v1::ListContactsResponse* resp) {
  if (req.account_id().empty()) {
    return absl::InvalidArgumentError("account_id: required");
  }
  ASSIGN_OR_RETURN(Page page, ReadListPage(req));
  AccountsStore& db = env.db;
  SetFeedSequence(resp, db.store->last_sequence());
  const std::function<bool(const v1::Contact&)> keep =
      [&](const v1::Contact& c) {
        return req.status() == v1::CONTACT_STATUS_UNSPECIFIED ||
               c.status() == req.status();
      };
  std::string next;
  absl::Status s = FillPageFromIndex(*db.store, db.contacts_by_account,
                                     req.account_id(), db.contacts, page, keep,
                                     resp->mutable_contacts(), &next);
  SetNextPageToken(resp, next);
  return s;
}

absl::Status GetOrgChart(Env env, const v1::GetOrgChartRequest& req,
                         v1::GetOrgChartResponse* resp) {
  if (req.account_id().empty()) {
    return absl::InvalidArgumentError("account_id: required");
  }
  AccountsStore& db = env.db;
  resp->set_feed_sequence(db.store->last_sequence());
  RETURN_IF_ERROR(db.accounts.Get(req.account_id()).status());
  using Contacts = std::map<std::string, v1::Contact>;
  ASSIGN_OR_RETURN(const Contacts contacts,
                   ChartContacts(db, req.account_id(), req.include_left()));
  std::vector<ContactLink> links;
  links.reserve(contacts.size());
  for (const auto& [id, c] : contacts) {
    links.push_back({id, c.reports_to_id()});
  }
  ASSIGN_OR_RETURN(std::vector<ChartNode> forest,
                   BuildForest(std::move(links)));
  for (const ChartNode& root : forest) {
    ToProto(root, contacts, resp->add_roots());
  }
  return absl::OkStatus();
}

}  // namespace salesops::accounts::handlers
