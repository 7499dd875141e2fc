#include "services/pipeline/deal_health.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "services/pipeline/stage_models.h"

namespace salesops::pipeline {
namespace {

inline constexpr int64_t kMicrosPerHour = int64_t{3600} * 1000 * 1000;
inline constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

std::string RoleName(v1::BuyingRole role) {
  std::string name = v1::BuyingRole_Name(role);
  const std::string prefix = "BUYING_ROLE_";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

std::string AttitudeName(v1::Attitude a) {
  std::string name = v1::Attitude_Name(a);
  const std::string prefix = "ATTITUDE_";
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

std::string DateText(const v1::Date& d) {
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

std::string CivilText(absl::CivilDay d) {
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

v1::DealWarning Warning(v1::WarningCode code, v1::Severity severity,
                        std::string detail,
                        std::vector<std::string> contact_ids = {}) {
  v1::DealWarning w;
  w.set_code(code);
  w.set_severity(severity);
  w.set_detail(std::move(detail));
  for (std::string& c : contact_ids) w.add_contact_ids(std::move(c));
  return w;
}

v1::FollowUp PlanStep(const v1::CadenceStep& step, int64_t from_micros) {
  v1::FollowUp f;
  f.set_step_key(step.key());
  f.set_kind(step.kind());
  f.set_text(step.text());
  f.set_earliest_micros(from_micros + step.min_hours() * kMicrosPerHour);
  f.set_due_micros(from_micros + step.max_hours() * kMicrosPerHour);
  f.set_state(v1::FOLLOW_UP_STATE_PLANNED);
  return f;
}

}  // namespace

bool IsCoreRole(v1::BuyingRole role) {
  return role == v1::BUYING_ROLE_DECISION_MAKER ||
         role == v1::BUYING_ROLE_USER ||
         role == v1::BUYING_ROLE_TECHNICAL_GATEKEEPER ||
         role == v1::BUYING_ROLE_COACH;
}

bool IsVisit(v1::ActivityKind kind) {
  return kind == v1::ACTIVITY_KIND_VISIT || kind == v1::ACTIVITY_KIND_MEETING;
}

absl::Status CheckInfluenceWeights(const std::vector<v1::ContactRole>& others,
                                   int32_t weight) {
  if (weight < 0 || weight > 100) {
    return absl::InvalidArgumentError("influence_weight_pct: must be 0..100");
  }
  int64_t total = weight;
  for (const v1::ContactRole& r : others) {
    if (!r.removed()) total += r.influence_weight_pct();
  }
  if (total > 100) {
    return absl::InvalidArgumentError(absl::StrCat(
        "influence_weight_pct: the buying centre of ",
        others.empty() ? std::string() : others.front().opportunity_id(),
        " would weigh ", total, "% (at most 100)"));
  }
  return absl::OkStatus();
}

namespace {

// ROLE_MISSING and NO_COACH.
void AddRoleWarnings(const DealFacts& facts,
                     std::vector<v1::DealWarning>* out) {
  const v1::BuyingRole kCore[] = {
      v1::BUYING_ROLE_DECISION_MAKER, v1::BUYING_ROLE_USER,
      v1::BUYING_ROLE_TECHNICAL_GATEKEEPER, v1::BUYING_ROLE_COACH};
  const auto held = [&](v1::BuyingRole role) {
    for (const v1::ContactRole& r : facts.roles) {
      if (r.role() == role) return true;
    }
    return false;
  };
  std::vector<std::string> missing;
  for (v1::BuyingRole role : kCore) {
    if (!held(role)) missing.push_back(RoleName(role));
  }
  if (!missing.empty()) {
    out->push_back(Warning(v1::WARNING_CODE_ROLE_MISSING, v1::SEVERITY_HIGH,
                           absl::StrCat("no contact holds the core buying role",
                                        missing.size() > 1 ? "s " : " ",
                                        absl::StrJoin(missing, ", "))));
  }
  if (!held(v1::BUYING_ROLE_COACH)) {
    out->push_back(Warning(v1::WARNING_CODE_NO_COACH, v1::SEVERITY_HIGH,
                           "no contact holds the COACH role"));
  }
}

// CORE_NOT_VISITED, ROLE_CHANGED and NEW_FACE.
void AddContactWarnings(const DealFacts& facts,
                        std::vector<v1::DealWarning>* out) {
  const int64_t as_of = Micros(facts.as_of);
  // CORE_NOT_VISITED.
  std::vector<std::string> not_visited;
  for (const v1::ContactRole& r : facts.roles) {
    if (r.is_core() &&
        (r.last_visit_micros() == 0 || r.last_visit_micros() > as_of)) {
      not_visited.push_back(r.contact_id());
    }
  }
  if (!not_visited.empty()) {
    std::string detail =
        absl::StrCat("core contacts with no visit or meeting: ",
                     absl::StrJoin(not_visited, ", "));
    out->push_back(Warning(v1::WARNING_CODE_CORE_NOT_VISITED,
                           v1::SEVERITY_MEDIUM, std::move(detail),
                           std::move(not_visited)));
  }

  // ROLE_CHANGED.
  std::vector<std::string> changed;
  for (const v1::ContactRole& r : facts.roles) {
    if (r.is_core() && r.changed_micros() > facts.last_review_micros &&
        r.last_activity_micros() < r.changed_micros()) {
      changed.push_back(r.contact_id());
    }
  }
  if (!changed.empty()) {
    std::string detail = absl::StrCat(
        "core contacts whose role or attitude changed ",
        facts.last_review_micros == 0 ? "(no weekly review yet)"
                                      : "since the last weekly review",
        " with no activity since: ", absl::StrJoin(changed, ", "));
    out->push_back(Warning(v1::WARNING_CODE_ROLE_CHANGED, v1::SEVERITY_MEDIUM,
                           std::move(detail), std::move(changed)));
  }

  // NEW_FACE.
  std::vector<std::string> new_faces;
  const int64_t window = int64_t{kNewFaceDays} * kMicrosPerDay;
  for (const v1::ContactRole& r : facts.roles) {
    if (r.added_micros() <= as_of && as_of - r.added_micros() <= window &&
        r.last_visit_micros() == 0) {
      new_faces.push_back(r.contact_id());
    }
  }
  if (!new_faces.empty()) {
    std::string detail =
        absl::StrCat("contacts added in the last ", kNewFaceDays,
                     " days and not yet met: ", absl::StrJoin(new_faces, ", "));
    out->push_back(Warning(v1::WARNING_CODE_NEW_FACE, v1::SEVERITY_MEDIUM,
                           std::move(detail), std::move(new_faces)));
  }
}

// COMPETITION_UNKNOWN and OPPOSED.
void AddCompetitionWarnings(const DealFacts& facts,
                            std::vector<v1::DealWarning>* out) {
  const v1::Opportunity& opp = facts.opportunity;
  // COMPETITION_UNKNOWN.
  if (opp.competitors().empty()) {
    out->push_back(
        Warning(v1::WARNING_CODE_COMPETITION_UNKNOWN, v1::SEVERITY_MEDIUM,
                opp.competitors_unknown()
                    ? "no competitor recorded; competitors are marked unknown"
                    : "no competitor recorded"));
  }

  // OPPOSED.
  std::vector<std::string> opposed;
  std::vector<std::string> opposed_text;
  for (const v1::ContactRole& r : facts.roles) {
    if (r.is_core() &&
        (r.attitude() == v1::ATTITUDE_D || r.attitude() == v1::ATTITUDE_E)) {
      opposed.push_back(r.contact_id());
      opposed_text.push_back(
          absl::StrCat(r.contact_id(), " (", AttitudeName(r.attitude()), ")"));
    }
  }
  if (!opposed.empty()) {
    std::string detail = absl::StrCat("core contacts doubting or opposing: ",
                                      absl::StrJoin(opposed_text, ", "));
    out->push_back(Warning(v1::WARNING_CODE_OPPOSED, v1::SEVERITY_HIGH,
                           std::move(detail), std::move(opposed)));
  }
}

// STALLED and CLOSE_DATE_PASSED (open deals only).
void AddOpenDealWarnings(const DealFacts& facts,
                         std::vector<v1::DealWarning>* out) {
  const v1::Opportunity& opp = facts.opportunity;
  const int64_t as_of = Micros(facts.as_of);
  // STALLED.
  const int stage = StageIndex(facts.model, opp.stage_key());
  // StallLimitDays falls back to the model's limit for an unknown stage.
  const int32_t limit_days = StallLimitDays(facts.model, stage);
  const int64_t in_stage = as_of - opp.stage_entered_micros();
  if (in_stage > int64_t{limit_days} * kMicrosPerDay) {
    out->push_back(
        Warning(v1::WARNING_CODE_STALLED, v1::SEVERITY_MEDIUM,
                absl::StrCat("in stage ", opp.stage_key(), " for ",
                             in_stage / kMicrosPerDay, " days (limit ",
                             limit_days, " days)")));
  }

  // CLOSE_DATE_PASSED.
  if (opp.has_expected_close_date() && opp.expected_close_date().year() > 0) {
    const v1::Date& d = opp.expected_close_date();
    const absl::CivilDay close(d.year(), d.month(), d.day());
    const absl::CivilDay today = absl::ToCivilDay(facts.as_of, facts.time_zone);
    if (close < today) {
      out->push_back(
          Warning(v1::WARNING_CODE_CLOSE_DATE_PASSED, v1::SEVERITY_HIGH,
                  absl::StrCat("expected close date ", DateText(d),
                               " is before today (", CivilText(today), ")")));
    }
  }
}

// FOLLOW_UP_OVERDUE (open deals only).
void AddFollowUpWarnings(const DealFacts& facts,
                         std::vector<v1::DealWarning>* out) {
  const int64_t as_of = Micros(facts.as_of);
  // FOLLOW_UP_OVERDUE.
  std::vector<std::string> overdue;
  for (const v1::FollowUp& f : facts.follow_ups) {
    if (f.state() == v1::FOLLOW_UP_STATE_PLANNED && f.due_micros() < as_of) {
      overdue.push_back(
          absl::StrCat(f.id(), " \"", f.text(), "\" due ",
                       absl::FormatTime("%Y-%m-%d %H:%M %Z",
                                        absl::FromUnixMicros(f.due_micros()),
                                        facts.time_zone)));
    }
  }
  if (!overdue.empty()) {
    out->push_back(Warning(v1::WARNING_CODE_FOLLOW_UP_OVERDUE,
                           v1::SEVERITY_MEDIUM,
                           absl::StrCat("planned follow-ups past due: ",
                                        absl::StrJoin(overdue, ", "))));
  }
}

}  // namespace

std::vector<v1::DealWarning> AssessDealHealth(const DealFacts& facts) {
  std::vector<v1::DealWarning> out;
  AddRoleWarnings(facts, &out);
  AddContactWarnings(facts, &out);
  AddCompetitionWarnings(facts, &out);
  if (facts.opportunity.status() != v1::OPPORTUNITY_STATUS_OPEN) {
    return out;
  }
  AddOpenDealWarnings(facts, &out);
  AddFollowUpWarnings(facts, &out);
  return out;
}

std::optional<v1::FollowUp> FirstFollowUp(const v1::FollowUpCadence& cadence,
                                          int64_t created_micros) {
  if (cadence.steps().empty()) return std::nullopt;
  return PlanStep(cadence.steps(0), created_micros);
}

std::optional<v1::FollowUp> NextFollowUp(const v1::FollowUpCadence& cadence,
                                         const v1::FollowUp& completed,
                                         int64_t completed_micros) {
  if (completed.step_key().empty()) return std::nullopt;
  for (int i = 0; i < cadence.steps_size(); ++i) {
    if (cadence.steps(i).key() == completed.step_key()) {
      if (i + 1 >= cadence.steps_size()) return std::nullopt;
      return PlanStep(cadence.steps(i + 1), completed_micros);
    }
  }
  return std::nullopt;
}

std::optional<size_t> FollowUpCompletedBy(
    const v1::Activity& activity, const std::vector<v1::FollowUp>& planned) {
  if (!activity.follow_up_id().empty()) {
    for (size_t i = 0; i < planned.size(); ++i) {
      if (planned[i].id() == activity.follow_up_id()) return i;
    }
    return std::nullopt;
  }
  std::optional<size_t> oldest;
  for (size_t i = 0; i < planned.size(); ++i) {
    if (planned[i].kind() != activity.kind()) continue;
    if (!oldest || planned[i].id() < planned[*oldest].id()) oldest = i;
  }
  return oldest;
}

}  // namespace salesops::pipeline
