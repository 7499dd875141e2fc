#include "services/pipeline/activity_rules.h"

#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "common/status/violations.h"
#include "common/time/clock.h"
#include "common/time/fiscal_calendar.h"
#include "services/pipeline/deal_health.h"

namespace salesops::pipeline {
namespace {

void ValidatePlan(const v1::Activity& in, absl::Time now, Violations& v) {
  const v1::PlannedFollowUp& p = in.plan_follow_up();
  if (!v1::ActivityKind_IsValid(p.kind()) ||
      p.kind() == v1::ACTIVITY_KIND_UNSPECIFIED) {
    v.Add("activity.plan_follow_up.kind: required");
  }
  if (Blank(p.text())) {
    v.Add("activity.plan_follow_up.text: required");
  }
  const int64_t at = in.time_micros() == 0 ? Micros(now) : in.time_micros();
  if (p.due_micros() <= at) {
    v.Add("activity.plan_follow_up.due_micros: must be after the activity");
  }
}

// The contacts must be in the buying centre; their last activity (and visit)
// times follow this one.
absl::Status TouchRoles(const v1::Opportunity& o, const v1::Activity& a,
                        const std::vector<v1::ContactRole>& roles,
                        std::vector<v1::ContactRole>* touched) {
  std::map<std::string, const v1::ContactRole*> by_contact;
  for (const v1::ContactRole& r : roles) {
    by_contact[r.contact_id()] = &r;
  }
  const std::set<std::string> contacts(a.contact_ids().begin(),
                                       a.contact_ids().end());
  for (const std::string& c : contacts) {
    auto it = by_contact.find(c);
    if (it == by_contact.end() || it->second->removed()) {
      return absl::InvalidArgumentError(
          absl::StrCat("activity.contact_ids: contact ", c,
                       " is not in the buying centre of opportunity ", o.id(),
                       " (SetContactRole first)"));
    }
    v1::ContactRole r = *it->second;
    bool changed = false;
    if (a.time_micros() > r.last_activity_micros()) {
      r.set_last_activity_micros(a.time_micros());
      changed = true;
    }
    if (IsVisit(a.kind()) && a.time_micros() > r.last_visit_micros()) {
      r.set_last_visit_micros(a.time_micros());
      changed = true;
    }
    if (changed) {
      touched->push_back(std::move(r));
    }
  }
  return absl::OkStatus();
}

// Completes a planned follow-up, and plans the cadence's next.
absl::Status CompleteFollowUp(const v1::Opportunity& o,
                              const v1::StageModel& model,
                              const std::vector<v1::FollowUp>& planned,
                              ActivityRecord* rec) {
  v1::Activity& a = rec->activity;
  std::optional<size_t> done = FollowUpCompletedBy(a, planned);
  if (!a.follow_up_id().empty() && !done) {
    return absl::InvalidArgumentError(
        absl::StrCat("activity.follow_up_id: ", a.follow_up_id(),
                     " is not a planned follow-up of opportunity ", o.id()));
  }
  if (!done) {
    return absl::OkStatus();
  }
  v1::FollowUp f = planned[*done];
  f.set_state(v1::FOLLOW_UP_STATE_DONE);
  f.set_completed_by_activity_id(a.id());
  f.set_completed_micros(a.time_micros());
  a.set_completed_follow_up_id(f.id());
  if (o.status() == v1::OPPORTUNITY_STATUS_OPEN) {
    rec->next = NextFollowUp(model.cadence(), f, a.time_micros());
  }
  rec->completed = std::move(f);
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateActivity(const v1::Activity& in, absl::Time now) {
  Violations v;
  if (in.opportunity_id().empty()) {
    v.Add("activity.opportunity_id: required");
  }
  if (!v1::ActivityKind_IsValid(in.kind()) ||
      in.kind() == v1::ACTIVITY_KIND_UNSPECIFIED) {
    v.Add("activity.kind: required (an ActivityKind)");
  }
  if (!v1::ActivityOutcome_IsValid(in.outcome()) ||
      in.outcome() == v1::ACTIVITY_OUTCOME_UNSPECIFIED) {
    v.Add("activity.outcome: required (PROGRESS, CONTINUATION or NONE)");
  }
  // A little slack for clocks that disagree.
  if (in.time_micros() > Micros(now + absl::Minutes(5))) {
    v.Add("activity.time_micros: must not be in the future");
  }
  if (in.time_micros() < 0) {
    v.Add("activity.time_micros: must be >= 0");
  }
  std::set<std::string> contacts;
  for (int i = 0; i < in.contact_ids_size(); ++i) {
    if (!contacts.insert(in.contact_ids(i)).second) {
      v.Add(absl::StrCat("activity.contact_ids[", i, "]: duplicate"));
    }
  }
  if (in.has_plan_follow_up()) {
    ValidatePlan(in, now, v);
  }
  return v.status();
}

absl::StatusOr<ActivityRecord> RecordActivity(
    const v1::Opportunity& o, const v1::StageModel& model,
    const v1::Activity& in, const std::vector<v1::ContactRole>& roles,
    const std::vector<v1::FollowUp>& planned, std::string id,
    const Principal& who, absl::Time now) {
  ActivityRecord rec;
  v1::Activity& a = rec.activity;
  a = in;
  a.set_id(std::move(id));
  if (a.time_micros() == 0) {
    a.set_time_micros(Micros(now));
  }
  a.set_recorded_by(who.name);
  a.set_created_micros(Micros(now));
  a.clear_completed_follow_up_id();
  RETURN_IF_ERROR(TouchRoles(o, a, roles, &rec.touched_roles));
  RETURN_IF_ERROR(CompleteFollowUp(o, model, planned, &rec));
  if (a.has_plan_follow_up()) {
    v1::FollowUp f;
    f.set_kind(a.plan_follow_up().kind());
    f.set_text(Trimmed(a.plan_follow_up().text()));
    f.set_earliest_micros(a.time_micros());
    f.set_due_micros(a.plan_follow_up().due_micros());
    rec.planned = std::move(f);
  }
  return rec;
}

absl::StatusOr<absl::CivilDay> ValidateWeeklyReview(
    const v1::WeeklyReview& in) {
  Violations v;
  if (in.opportunity_id().empty()) {
    v.Add("review.opportunity_id: required");
  }
  absl::StatusOr<absl::CivilDay> day = FromProto(in.week(), "review.week");
  if (!day.ok()) {
    v.Add(day.status());
  }
  if (in.position_vs_competitor() < -5 || in.position_vs_competitor() > 5) {
    v.Add("review.position_vs_competitor: must be -5..+5");
  }
  RETURN_IF_ERROR(v.status());
  absl::CivilDay monday = *day;
  while (absl::GetWeekday(monday) != absl::Weekday::monday) {
    monday -= 1;
  }
  return monday;
}

v1::WeeklyReview WeeklyReviewOf(const v1::WeeklyReview& in,
                                absl::CivilDay monday, const Principal& who,
                                absl::Time now) {
  v1::WeeklyReview r = in;
  *r.mutable_week() = ToProto(monday);
  r.set_recorded_by(who.name);
  r.set_recorded_micros(Micros(now));
  return r;
}

}  // namespace salesops::pipeline
