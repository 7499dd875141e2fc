#include "services/pipeline/opportunity_rules.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "common/money/money.h"
#include "common/status/errors.h"
#include "common/status/macros.h"
#include "common/time/clock.h"
#include "common/time/fiscal_calendar.h"
#include "services/pipeline/deal_health.h"
#include "services/pipeline/stage_models.h"

namespace salesops::pipeline {
namespace {

absl::Status MustBeOpen(const v1::Opportunity& o, const char* hint) {
  if (o.status() == v1::OPPORTUNITY_STATUS_OPEN) {
    return absl::OkStatus();
  }
  return WithReason(
      absl::FailedPreconditionError(absl::StrCat(
          "opportunity ", o.id(), " is ", StatusName(o.status()), "; ", hint)),
      "NOT_OPEN");
}

// The stage a create starts in: the model's first by default, never one that
// closes WON.
absl::Status CheckCreateStage(const v1::StageModel& model, v1::Opportunity* o) {
  if (o->stage_key().empty()) {
    o->set_stage_key(model.stages(0).key());
  }
  const int stage = StageIndex(model, o->stage_key());
  if (stage < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("opportunity.stage_key: stage ", o->stage_key(),
                     " is not in stage model ", model.id()));
  }
  if (model.stages(stage).closes_won()) {
    return absl::InvalidArgumentError(
        absl::StrCat("opportunity.stage_key: ", o->stage_key(),
                     " closes the opportunity as WON; create it in an "
                     "earlier stage and close it"));
  }
  return absl::OkStatus();
}

// Account, stage model and stage do not change with UpdateOpportunity.
absl::Status CheckFixedFields(const v1::Opportunity& o,
                              const v1::Opportunity& in) {
  Violations fixed;
  if (!in.account_id().empty() && in.account_id() != o.account_id()) {
    fixed.Add(
        "opportunity.account_id: cannot change (create a new opportunity for "
        "another account)");
  }
  if (!in.stage_model_id().empty() &&
      in.stage_model_id() != o.stage_model_id()) {
    fixed.Add("opportunity.stage_model_id: cannot change");
  }
  if (!in.stage_key().empty() && in.stage_key() != o.stage_key()) {
    fixed.Add("opportunity.stage_key: change it with MoveStage");
  }
  return fixed.status();
}

// The history entries of an update: amount, close date, owner.
void AddUpdateHistory(const v1::Opportunity& old, const v1::Opportunity& in,
                      bool reassign, const std::string& by, absl::Time now,
                      OpportunityTransition* t) {
  if (old.amount().units_minor() != in.amount().units_minor()) {
    AddHistory(t, v1::CHANGE_KIND_AMOUNT,
               absl::StrCat(old.amount().units_minor()),
               absl::StrCat(in.amount().units_minor()), by, now);
  }
  if (DateText(old.expected_close_date()) !=
      DateText(in.expected_close_date())) {
    AddHistory(t, v1::CHANGE_KIND_CLOSE_DATE,
               DateText(old.expected_close_date()),
               DateText(in.expected_close_date()), by, now);
  }
  if (reassign) {
    AddHistory(t, v1::CHANGE_KIND_OWNER, old.owner_node_id(),
               in.owner_node_id(), by, now);
    t->opportunity.set_owner_node_id(in.owner_node_id());
  }
}

// History names overridden criteria as "STAGE/criterion"
// (OpportunityChange.overridden_criteria); the plan's entries also carry the
// criterion text for error messages.
std::vector<std::string> OverriddenKeys(const MovePlan& plan) {
  std::vector<std::string> keys;
  if (plan.forward) {
    for (const std::string& u : plan.unchecked) {
      keys.push_back(u.substr(0, u.find(" (")));
    }
  }
  return keys;
}

}  // namespace

std::string DateText(const v1::Date& d) {
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

void ValidateOpportunityFields(const v1::Opportunity& o,
                               const std::string& /*reporting_currency*/,
                               Violations& v) {
  if (Blank(o.name())) {
    v.Add("opportunity.name: required");
  } else if (o.name().size() > 200) {
    v.Add("opportunity.name: at most 200 characters");
  }
  // Any active ISO 4217 currency (issue 19, D40); only the out-of-funnel
  // threshold is in the reporting currency.
  v.Add(money::ValidateAnyCurrency(o.amount(), "opportunity.amount",
                                   money::Sign::kPositive));
  if (absl::StatusOr<absl::CivilDay> d =
          FromProto(o.expected_close_date(), "opportunity.expected_close_date");
      !d.ok()) {
    v.Add(d.status());
  }
  for (int i = 0; i < o.competitors_size(); ++i) {
    if (Blank(o.competitors(i).name())) {
      v.Add(absl::StrCat("opportunity.competitors[", i, "].name: required"));
    }
  }
  if (!v1::SourceChannel_IsValid(o.source_channel())) {
    v.Add("opportunity.source_channel: unknown value");
  }
  if (o.external_id().size() > 128) {
    v.Add("opportunity.external_id: at most 128 characters");
  }
  if (o.has_next_step() && o.next_step().has_due()) {
    if (absl::StatusOr<absl::CivilDay> d =
            FromProto(o.next_step().due(), "opportunity.next_step.due");
        !d.ok()) {
      v.Add(d.status());
    }
  }
}

bool BelowFunnelThreshold(const v1::StageModel& model,
                          const v1::Money& amount) {
  const v1::Money& t = model.out_of_funnel_threshold();
  return t.units_minor() > 0 && amount.currency() == t.currency() &&
         amount.units_minor() < t.units_minor();
}

absl::Status CheckFunnelThreshold(const v1::StageModel& model,
                                  const v1::Money& amount) {
  const int64_t threshold = model.out_of_funnel_threshold().units_minor();
  if (BelowFunnelThreshold(model, amount)) {
    const int exp = money::CurrencyExponent(amount.currency());
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "opportunity.amount: ", money::Format(amount.units_minor(), exp),
            " ", amount.currency(), " is below the out-of-funnel threshold ",
            money::Format(threshold, exp), " of stage model ", model.id(),
            "; book it as an out-of-funnel sale (ForecastService."
            "RecordOutOfFunnelSale) instead")),
        "BELOW_FUNNEL_THRESHOLD");
  }
  return absl::OkStatus();
}

void Touch(const v1::StageModel& model, absl::Time now, v1::Opportunity* o) {
  o->set_out_of_funnel(BelowFunnelThreshold(model, o->amount()));
  o->set_updated_micros(Micros(now));
}

void AddHistory(OpportunityTransition* t, v1::ChangeKind kind, std::string from,
                std::string to, const std::string& by, absl::Time now,
                std::string reason, std::vector<std::string> overridden) {
  v1::Opportunity& opp = t->opportunity;
  v1::OpportunityChange& c = t->history.emplace_back();
  c.set_opportunity_id(opp.id());
  c.set_seq(opp.history_length() + 1);
  c.set_kind(kind);
  c.set_from(std::move(from));
  c.set_to(std::move(to));
  c.set_by(by);
  c.set_time_micros(Micros(now));
  c.set_reason(std::move(reason));
  c.set_override(!overridden.empty());
  c.set_opportunity_version(opp.version());
  for (std::string& o : overridden) {
    c.add_overridden_criteria(std::move(o));
  }
  opp.set_history_length(c.seq());
}

absl::StatusOr<v1::Opportunity> DraftOpportunity(
    const v1::CreateOpportunityRequest& req, const Principal& who,
    const std::string& currency) {
  v1::Opportunity o = req.opportunity();
  if (o.owner_node_id().empty() && who.role == Role::kRep) {
    o.set_owner_node_id(who.org_node_id);
  }
  if (o.stage_model_id().empty()) {
    o.set_stage_model_id(kBuyingCycle6);
  }
  Violations v;
  ValidateOpportunityFields(o, currency, v);
  if (o.account_id().empty()) {
    v.Add("opportunity.account_id: required");
  }
  if (o.owner_node_id().empty()) {
    v.Add("opportunity.owner_node_id: required (a REP node)");
  }
  RETURN_IF_ERROR(v.status());
  return o;
}

absl::StatusOr<OpportunityTransition> CreateOpportunity(
    v1::Opportunity o, const std::optional<v1::StageModel>& model,
    std::string id, const std::string& by, absl::Time now) {
  if (!model) {
    return absl::InvalidArgumentError(
        absl::StrCat("opportunity.stage_model_id: stage model ",
                     o.stage_model_id(), " not found"));
  }
  RETURN_IF_ERROR(CheckCreateStage(*model, &o));
  RETURN_IF_ERROR(CheckFunnelThreshold(*model, o.amount()));
  o.set_id(std::move(id));
  o.set_name(Trimmed(o.name()));
  o.set_status(v1::OPPORTUNITY_STATUS_OPEN);
  o.clear_close_reason();
  o.clear_criteria();
  o.clear_four_factors();
  o.clear_qualification();
  o.clear_competitive();
  o.set_credit_review_pending(false);
  o.clear_credit_review_reason();
  o.set_closed_micros(0);
  o.set_stage_entered_micros(Micros(now));
  o.set_created_micros(Micros(now));
  o.set_history_length(0);
  Touch(*model, now, &o);
  o.set_version(1);
  OpportunityTransition t;
  t.opportunity = std::move(o);
  AddHistory(&t, v1::CHANGE_KIND_CREATED, "", t.opportunity.stage_key(), by,
             now);
  t.first_follow_up = FirstFollowUp(model->cadence(), Micros(now));
  return t;
}

const fieldmask::EntityRules& OpportunityUpdateRules() {
  static const fieldmask::EntityRules* rules = new fieldmask::EntityRules{
      {"name", "amount", "expected_close_date", "competitors",
       "competitors_unknown", "source_channel", "next_step", "external_id",
       "owner_node_id"},
      {{"account_id", "create a new opportunity for another account"},
       {"stage_model_id", "fixed at creation"},
       {"stage_key", "change it with MoveStage"}}};
  return *rules;
}

absl::Status ValidateUpdate(const v1::UpdateOpportunityRequest& req,
                            const std::string& /*currency*/) {
  Violations v;
  if (req.opportunity().id().empty()) {
    v.Add("opportunity.id: required");
  }
  v.Add(fieldmask::Resolve(req.update_mask(), req.opportunity(),
                           OpportunityUpdateRules())
            .status());
  return v.status();
}

absl::StatusOr<v1::UpdateOpportunityRequest> MergeUpdate(
    const v1::Opportunity& stored, const v1::UpdateOpportunityRequest& req,
    const std::string& currency) {
  RETURN_IF_ERROR(CheckFixedFields(stored, req.opportunity()));
  ASSIGN_OR_RETURN(fieldmask::ResolvedMask mask,
                   fieldmask::Resolve(req.update_mask(), req.opportunity(),
                                      OpportunityUpdateRules()));
  v1::UpdateOpportunityRequest merged = req;
  *merged.mutable_opportunity() = stored;
  fieldmask::Apply(req.opportunity(), mask, merged.mutable_opportunity());
  Violations v;
  ValidateOpportunityFields(merged.opportunity(), currency, v);
  if (mask.kind == fieldmask::MaskKind::kExplicit &&
      mask.Covers("owner_node_id") &&
      merged.opportunity().owner_node_id().empty()) {
    v.Add(
        "opportunity.owner_node_id: required (a REP node); it cannot be "
        "cleared");
  }
  RETURN_IF_ERROR(v.status());
  return merged;
}

absl::StatusOr<bool> IsReassignment(const Principal& who,
                                    const v1::Opportunity& committed,
                                    const v1::UpdateOpportunityRequest& req) {
  const std::string& owner = req.opportunity().owner_node_id();
  if (owner.empty() || owner == committed.owner_node_id()) {
    return false;
  }
  if (who.role != Role::kAdmin && who.role != Role::kManager) {
    return absl::PermissionDeniedError(
        "opportunity.owner_node_id: only a MANAGER or ADMIN may reassign an "
        "opportunity");
  }
  return true;
}

absl::StatusOr<OpportunityTransition> UpdateOpportunity(
    const v1::Opportunity& stored, const v1::UpdateOpportunityRequest& req,
    const v1::StageModel& model, const Principal& who, absl::Time now,
    const std::optional<std::string>& checked_owner) {
  const v1::Opportunity& in = req.opportunity();
  if (checked_owner && stored.owner_node_id() != *checked_owner) {
    return absl::AbortedError(
        absl::StrCat("opportunity ", stored.id(),
                     " changed owner while the new owner was checked; retry"));
  }
  RETURN_IF_ERROR(CheckFixedFields(stored, in));
  RETURN_IF_ERROR(MustBeOpen(stored, "reopen it before changing it"));
  // Only a new amount must clear the threshold: an opportunity left below it
  // by a raised threshold stays changeable (out_of_funnel).
  if (in.amount().units_minor() != stored.amount().units_minor()) {
    RETURN_IF_ERROR(CheckFunnelThreshold(model, in.amount()));
  }
  OpportunityTransition t;
  t.opportunity = stored;
  v1::Opportunity& o = t.opportunity;
  o.set_version(stored.version() + 1);  // the version history refers to
  AddUpdateHistory(stored, in, checked_owner.has_value(), who.name, now, &t);
  o.set_name(Trimmed(in.name()));
  *o.mutable_amount() = in.amount();
  *o.mutable_expected_close_date() = in.expected_close_date();
  *o.mutable_competitors() = in.competitors();
  o.set_competitors_unknown(in.competitors_unknown());
  o.set_source_channel(in.source_channel());
  if (in.has_next_step()) {
    *o.mutable_next_step() = in.next_step();
  } else {
    o.clear_next_step();  // cleared by the mask: no empty message left
  }
  o.set_external_id(in.external_id());
  Touch(model, now, &o);
  return t;
}

absl::StatusOr<OpportunityTransition> SetExitCriterion(
    const v1::Opportunity& stored, const v1::SetExitCriterionRequest& req,
    const v1::StageModel& model, const Principal& who, absl::Time now) {
  RETURN_IF_ERROR(MustBeOpen(stored, "reopen it first"));
  OpportunityTransition t;
  t.opportunity = stored;
  RETURN_IF_ERROR(SetCriterion(model, req.stage_key(), req.criterion_key(),
                               req.checked(), who.name, Micros(now),
                               &t.opportunity));
  Touch(model, now, &t.opportunity);
  return t;
}

absl::Status CheckForcing(const Principal& who,
                          const v1::MoveStageRequest& req) {
  if (!Blank(req.override_reason()) && who.role != Role::kAdmin &&
      who.role != Role::kManager) {
    return absl::PermissionDeniedError(
        "override_reason: only a MANAGER or ADMIN may force a stage move");
  }
  return absl::OkStatus();
}

absl::StatusOr<MovePlan> CheckMove(const v1::StageModel& model,
                                   const v1::Opportunity& o,
                                   const v1::MoveStageRequest& req) {
  ASSIGN_OR_RETURN(MovePlan plan, PlanMove(model, o, req.to_stage_key()));
  if (plan.forward && !plan.unchecked.empty() && Blank(req.override_reason())) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "to_stage_key: opportunity ", o.id(), " cannot move from ",
            o.stage_key(), " to ", req.to_stage_key(),
            ": required exit criteria not checked: ",
            absl::StrJoin(plan.unchecked, ", "),
            " (a MANAGER may force the move with override_reason)")),
        "EXIT_CRITERIA_UNMET");
  }
  return plan;
}

absl::Status CheckCreditAnswer(const CreditAnswer& answer,
                               const v1::Opportunity& o,
                               const v1::MoveStageRequest& req) {
  if (answer.decision != CreditDecision::kBlock) {
    return absl::OkStatus();
  }
  return WithReason(
      absl::FailedPreconditionError(absl::StrCat(
          "to_stage_key: the credit check blocked the move of opportunity ",
          o.id(), " into ", req.to_stage_key(), ": ",
          absl::StrJoin(answer.reasons, "; "))),
      "CREDIT_BLOCKED");
}

absl::StatusOr<OpportunityTransition> MoveStage(
    const v1::Opportunity& stored, const v1::MoveStageRequest& req,
    const v1::StageModel& model, const Principal& who, absl::Time now,
    const std::optional<CreditAnswer>& credit, int64_t checked_amount_minor) {
  ASSIGN_OR_RETURN(MovePlan plan, CheckMove(model, stored, req));
  if (plan.needs_credit_check &&
      (!credit || stored.amount().units_minor() != checked_amount_minor)) {
    return absl::AbortedError(absl::StrCat(
        "opportunity ", stored.id(),
        " changed during the credit check; read it again and retry"));
  }
  OpportunityTransition t;
  t.opportunity = stored;
  v1::Opportunity& o = t.opportunity;
  o.set_stage_key(req.to_stage_key());
  o.set_stage_entered_micros(Micros(now));
  if (credit) {
    const bool review = credit->decision == CreditDecision::kReview;
    o.set_credit_review_pending(review);
    o.set_credit_review_reason(review ? absl::StrJoin(credit->reasons, "; ")
                                      : "");
  }
  o.set_version(o.version() + 1);
  std::vector<std::string> overridden = OverriddenKeys(plan);
  std::string reason = overridden.empty() ? "" : Trimmed(req.override_reason());
  AddHistory(&t,
             plan.forward ? v1::CHANGE_KIND_STAGE_FORWARD
                          : v1::CHANGE_KIND_STAGE_BACKWARD,
             stored.stage_key(), o.stage_key(), who.name, now,
             std::move(reason), std::move(overridden));
  if (plan.closes_won) {
    o.set_status(v1::OPPORTUNITY_STATUS_WON);
    o.set_closed_micros(Micros(now));
    o.set_close_reason(absl::StrCat("entered ", o.stage_key()));
    AddHistory(&t, v1::CHANGE_KIND_CLOSED, "OPEN", "WON", who.name, now,
               o.close_reason());
    t.cancel_follow_ups = true;
  }
  Touch(model, now, &o);
  return t;
}

absl::Status ValidateClose(const v1::CloseOpportunityRequest& req) {
  Violations v;
  if (req.opportunity_id().empty()) {
    v.Add("opportunity_id: required");
  }
  const v1::OpportunityStatus outcome = req.outcome();
  if (outcome != v1::OPPORTUNITY_STATUS_WON &&
      outcome != v1::OPPORTUNITY_STATUS_LOST &&
      outcome != v1::OPPORTUNITY_STATUS_NO_DECISION &&
      outcome != v1::OPPORTUNITY_STATUS_ABANDONED) {
    v.Add("outcome: must be WON, LOST, NO_DECISION or ABANDONED");
  } else if (outcome != v1::OPPORTUNITY_STATUS_WON && Blank(req.reason())) {
    v.Add(absl::StrCat("reason: required when the outcome is ",
                       StatusName(outcome)));
  }
  return v.status();
}

OpportunityTransition Close(const v1::Opportunity& stored,
                            const v1::StageModel& model,
                            v1::OpportunityStatus outcome, std::string reason,
                            int64_t closed_micros, const std::string& by,
                            absl::Time now) {
  OpportunityTransition t;
  t.opportunity = stored;
  v1::Opportunity& o = t.opportunity;
  o.set_status(outcome);
  o.set_close_reason(std::move(reason));
  o.set_closed_micros(closed_micros);
  o.set_version(o.version() + 1);
  AddHistory(&t, v1::CHANGE_KIND_CLOSED, "OPEN", StatusName(outcome), by, now,
             o.close_reason());
  t.cancel_follow_ups = true;
  Touch(model, now, &o);
  return t;
}

absl::StatusOr<OpportunityTransition> CloseOpportunity(
    const v1::Opportunity& stored, const v1::CloseOpportunityRequest& req,
    const v1::StageModel& model, const Principal& who, absl::Time now) {
  if (stored.status() != v1::OPPORTUNITY_STATUS_OPEN) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "opportunity ", stored.id(), " is already ",
                          StatusName(stored.status()))),
                      "ALREADY_CLOSED");
  }
  return Close(stored, model, req.outcome(), Trimmed(req.reason()), Micros(now),
               who.name, now);
}

absl::Status ValidateReopen(const v1::ReopenOpportunityRequest& req) {
  Violations v;
  if (req.opportunity_id().empty()) {
    v.Add("opportunity_id: required");
  }
  if (Blank(req.reason())) {
    v.Add("reason: required");
  }
  return v.status();
}

absl::StatusOr<OpportunityTransition> ReopenOpportunity(
    const v1::Opportunity& stored, const v1::ReopenOpportunityRequest& req,
    const v1::StageModel& model, const Principal& who, absl::Time now) {
  if (stored.status() == v1::OPPORTUNITY_STATUS_OPEN) {
    return WithReason(absl::FailedPreconditionError(absl::StrCat(
                          "opportunity ", stored.id(), " is already OPEN")),
                      "ALREADY_OPEN");
  }
  const int stage = StageIndex(model, stored.stage_key());
  if (stage >= 0 && model.stages(stage).closes_won()) {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "opportunity ", stored.id(), " sits in ", stored.stage_key(),
            ", which closes it as WON; it cannot be reopened there")),
        "WON_STAGE");
  }
  OpportunityTransition t;
  t.opportunity = stored;
  v1::Opportunity& o = t.opportunity;
  o.set_status(v1::OPPORTUNITY_STATUS_OPEN);
  o.clear_close_reason();
  o.set_closed_micros(0);
  o.set_stage_entered_micros(Micros(now));
  o.set_version(o.version() + 1);
  AddHistory(&t, v1::CHANGE_KIND_REOPENED, StatusName(stored.status()), "OPEN",
             who.name, now, Trimmed(req.reason()));
  Touch(model, now, &o);
  return t;
}

OpportunityFilter ReadListFilter(const v1::ListOpportunitiesRequest& req,
                                 Violations& v) {
  OpportunityFilter f;
  if (!v1::OpportunityStatus_IsValid(req.status())) {
    v.Add("status: unknown value");
  }
  if (req.has_close_from()) {
    absl::StatusOr<absl::CivilDay> d =
        FromProto(req.close_from(), "close_from");
    d.ok() ? void(f.close_from = *d) : v.Add(d.status());
  }
  if (req.has_close_to()) {
    absl::StatusOr<absl::CivilDay> d = FromProto(req.close_to(), "close_to");
    d.ok() ? void(f.close_to = *d) : v.Add(d.status());
  }
  if (f.close_from && f.close_to && *f.close_from > *f.close_to) {
    v.Add("close_to: must not be before close_from");
  }
  f.owners.assign(req.owner_ids().begin(), req.owner_ids().end());
  f.account_id = req.account_id();
  f.status = req.status();
  f.stage_key = req.stage_key();
  f.stage_model_id = req.stage_model_id();
  return f;
}

bool OpportunityFilter::Matches(const v1::Opportunity& o) const {
  if ((!account_id.empty() && o.account_id() != account_id) ||
      (status != v1::OPPORTUNITY_STATUS_UNSPECIFIED && o.status() != status) ||
      (!stage_key.empty() && o.stage_key() != stage_key) ||
      (!stage_model_id.empty() && o.stage_model_id() != stage_model_id)) {
    return false;
  }
  if (close_from || close_to) {
    const absl::CivilDay close(o.expected_close_date().year(),
                               o.expected_close_date().month(),
                               o.expected_close_date().day());
    if ((close_from && close < *close_from) ||
        (close_to && close > *close_to)) {
      return false;
    }
  }
  return true;
}

bool ClosesOnCollection(const v1::StageModel& model, const v1::Opportunity& o) {
  const int stage = StageIndex(model, o.stage_key());
  return stage >= 0 && model.stages(stage).closes_on_collection();
}

}  // namespace salesops::pipeline
