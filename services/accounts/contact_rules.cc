#include "services/accounts/contact_rules.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/status/macros.h"
#include "common/status/violations.h"
#include "common/time/clock.h"
#include "services/accounts/org_tree.h"

namespace salesops::accounts {
namespace {

void ValidateDates(const v1::Contact& c, Violations& v) {
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
  ValidateDates(c, v);
}

// INVALID_ARGUMENT unless `boss` (named by reports_to_id) exists and belongs
// to `account_id`.
absl::Status CheckBoss(const std::string& reports_to_id,
                       const std::optional<v1::Contact>& boss,
                       const std::string& account_id) {
  if (!boss) {
    return absl::InvalidArgumentError(absl::StrCat(
        "contact.reports_to_id: contact ", reports_to_id, " not found"));
  }
  if (boss->account_id() != account_id) {
    return absl::InvalidArgumentError(absl::StrCat(
        "contact.reports_to_id: contact ", reports_to_id,
        " belongs to account ", boss->account_id(), ", not ", account_id));
  }
  return absl::OkStatus();
}

// A contact's account is fixed: `in` may leave it empty or repeat it.
absl::Status CheckAccountFixed(const v1::Contact& stored,
                               const v1::Contact& in) {
  if (!in.account_id().empty() && in.account_id() != stored.account_id()) {
    return absl::InvalidArgumentError(
        absl::StrCat("contact.account_id: cannot change (contact ", in.id(),
                     " belongs to account ", stored.account_id(), ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckCreateContact(const v1::CreateContactRequest& req) {
  Violations v;
  ValidateContactFields(req.contact(), v);
  if (req.contact().account_id().empty()) {
    v.Add("contact.account_id: required");
  }
  return v.status();
}

const fieldmask::EntityRules& ContactUpdateRules() {
  static const fieldmask::EntityRules* rules = new fieldmask::EntityRules{
      {"name", "title", "department", "function", "level", "reports_to_id",
       "personal_style", "relationship_depth", "notes", "birthday",
       "work_anniversary", "status", "email", "phone", "external_id"},
      {{"account_id", "a contact belongs to one account for good"}}};
  return *rules;
}

absl::Status CheckUpdateContact(const v1::UpdateContactRequest& req) {
  Violations v;
  if (req.contact().id().empty()) {
    v.Add("contact.id: required");
  }
  v.Add(
      fieldmask::Resolve(req.update_mask(), req.contact(), ContactUpdateRules())
          .status());
  return v.status();
}

absl::StatusOr<v1::Contact> MergeContactUpdate(
    const v1::Contact& stored, const v1::UpdateContactRequest& req) {
  RETURN_IF_ERROR(CheckAccountFixed(stored, req.contact()));
  ASSIGN_OR_RETURN(v1::Contact merged,
                   fieldmask::Merge(stored, req.contact(), req.update_mask(),
                                    ContactUpdateRules()));
  Violations v;
  ValidateContactFields(merged, v);
  if (merged.status() == v1::CONTACT_STATUS_UNSPECIFIED) {
    v.Add("contact.status: required (ACTIVE or LEFT)");
  }
  RETURN_IF_ERROR(v.status());
  return merged;
}

absl::StatusOr<ContactChange> CreateContact(const v1::Contact& in,
                                            const ContactReads& reads,
                                            const RequireWriterFn& scope,
                                            const std::string& id,
                                            absl::Time now) {
  if (!reads.account) {
    return absl::InvalidArgumentError(absl::StrCat(
        "contact.account_id: account ", in.account_id(), " not found"));
  }
  RETURN_IF_ERROR(scope(reads.account->owner_node_id(), "contacts"));
  if (!in.reports_to_id().empty()) {
    RETURN_IF_ERROR(CheckBoss(in.reports_to_id(), reads.boss, in.account_id()));
  }
  ContactChange change;
  v1::Contact& c = change.contact;
  c = in;
  c.set_id(id);
  c.set_name(Trimmed(c.name()));
  if (c.status() == v1::CONTACT_STATUS_UNSPECIFIED) {
    c.set_status(v1::CONTACT_STATUS_ACTIVE);
  }
  c.set_created_micros(Micros(now));
  c.set_updated_micros(c.created_micros());
  change.external_id.new_value = c.external_id();
  return change;
}

absl::StatusOr<ContactChange> UpdateContact(const v1::Contact& stored,
                                            const v1::Contact& in,
                                            const ContactReads& reads,
                                            const ReportsToFn& reports_to,
                                            const RequireWriterFn& scope,
                                            absl::Time now) {
  RETURN_IF_ERROR(CheckAccountFixed(stored, in));
  if (!reads.account) {
    return absl::NotFoundError(
        absl::StrCat("account ", stored.account_id(), " not found"));
  }
  RETURN_IF_ERROR(scope(reads.account->owner_node_id(), "contacts"));
  if (!in.reports_to_id().empty() &&
      in.reports_to_id() != stored.reports_to_id()) {
    RETURN_IF_ERROR(
        CheckBoss(in.reports_to_id(), reads.boss, stored.account_id()));
    RETURN_IF_ERROR(CheckNoCycle(reports_to, in.id(), in.reports_to_id(),
                                 "contact.reports_to_id"));
  }
  ContactChange change;
  v1::Contact& c = change.contact;
  c = in;
  c.set_account_id(stored.account_id());
  c.set_name(Trimmed(c.name()));
  c.set_created_micros(stored.created_micros());
  c.set_updated_micros(Micros(now));
  change.external_id = {stored.external_id(), in.external_id()};
  return change;
}

}  // namespace salesops::accounts
