#include "services/pipeline/buying_centre_rules.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "common/status/violations.h"
#include "common/time/clock.h"
#include "services/pipeline/deal_health.h"

namespace salesops::pipeline {
namespace {

// An existing role set again: revived when removed, changed when its role or
// attitude differ; attitude changes go to its history.
void Revise(const v1::SetContactRoleRequest& req, const Principal& who,
            int64_t now, v1::ContactRole* r) {
  if (r->removed()) {
    r->set_removed(false);
    r->set_added_micros(now);
    r->set_changed_micros(0);
  } else if (r->role() != req.role() || r->attitude() != req.attitude()) {
    r->set_changed_micros(now);
  }
  if (r->attitude() != req.attitude()) {
    v1::AttitudeChange* c = r->add_attitude_history();
    c->set_from(r->attitude());
    c->set_to(req.attitude());
    c->set_by(who.name);
    c->set_time_micros(now);
  }
}

}  // namespace

absl::Status ValidateSetContactRole(const v1::SetContactRoleRequest& req) {
  Violations v;
  if (req.opportunity_id().empty()) {
    v.Add("opportunity_id: required");
  }
  if (req.contact_id().empty()) {
    v.Add("contact_id: required");
  }
  if (!v1::BuyingRole_IsValid(req.role()) ||
      req.role() == v1::BUYING_ROLE_UNSPECIFIED) {
    v.Add("role: required (a BuyingRole)");
  }
  if (!v1::Attitude_IsValid(req.attitude())) {
    v.Add("attitude: unknown value");
  }
  if (req.influence_weight_pct() < 0 || req.influence_weight_pct() > 100) {
    v.Add("influence_weight_pct: must be 0..100");
  }
  return v.status();
}

absl::Status CheckContactAccount(const v1::Contact& contact,
                                 const v1::Opportunity& o) {
  if (contact.account_id() == o.account_id()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("contact_id: contact ", contact.id(), " belongs to account ",
                   contact.account_id(), ", not to the opportunity's account ",
                   o.account_id()));
}

absl::StatusOr<RoleChange> SetContactRole(const std::string& opportunity_id,
                                          std::vector<v1::ContactRole> roles,
                                          const v1::SetContactRoleRequest& req,
                                          const Principal& who,
                                          absl::Time now) {
  std::vector<v1::ContactRole> others;
  std::optional<v1::ContactRole> existing;
  for (v1::ContactRole& r : roles) {
    if (r.contact_id() == req.contact_id()) {
      existing = std::move(r);
    } else if (!r.removed()) {
      others.push_back(std::move(r));
    }
  }
  RETURN_IF_ERROR(CheckInfluenceWeights(others, req.influence_weight_pct()));
  RoleChange out;
  v1::ContactRole& r = out.role;
  if (existing) {
    out.existing = true;
    r = std::move(*existing);
    Revise(req, who, Micros(now), &r);
  } else {
    r.set_opportunity_id(opportunity_id);
    r.set_contact_id(req.contact_id());
    r.set_original_attitude(req.attitude());
    r.set_added_micros(Micros(now));
  }
  r.set_role(req.role());
  r.set_attitude(req.attitude());
  r.set_influence_weight_pct(req.influence_weight_pct());
  r.set_is_core(req.has_is_core() ? req.is_core() : IsCoreRole(req.role()));
  return out;
}

absl::StatusOr<v1::ContactRole> RemoveContactRole(
    const v1::ContactRole* stored, const v1::RemoveContactRoleRequest& req) {
  if (stored == nullptr || stored->removed()) {
    return absl::NotFoundError(absl::StrCat("contact ", req.contact_id(),
                                            " has no role on opportunity ",
                                            req.opportunity_id()));
  }
  v1::ContactRole r = *stored;
  r.set_removed(true);
  return r;
}

}  // namespace salesops::pipeline
