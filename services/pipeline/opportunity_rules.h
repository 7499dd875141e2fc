#pragma once

// Transitions of an opportunity (SPEC.md §3.2, §3.3): pure functions from the
// stored state, the request, the stage model, the caller and the time to the
// new state with its history entries, or the rule it breaks. No I/O: a handler
// reads inside its store transaction, calls one of these and writes the
// result (see OpportunityTransition). Scope (who may change whose
// opportunity) and optimistic versions are the handler's: they need the org
// tree and the store.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/fieldmask/field_mask.h"
#include "common/server/principal.h"
#include "common/status/violations.h"
#include "salesops/v1/pipeline.pb.h"
#include "services/pipeline/stage_rules.h"

namespace salesops::pipeline {

// credit.CheckCredit's verdict on a move into a requires_credit_check stage.
enum class CreditDecision { kApprove, kReview, kBlock };

struct CreditAnswer {
  CreditDecision decision = CreditDecision::kReview;
  std::vector<std::string> reasons;
};

// What a transition decided. The handler stores, in this order: each history
// entry (PipelineStore::ChangeId(opportunity id, seq)), the follow-up changes
// (cancel_follow_ups; a new owner for the planned ones when the owner
// changed), the opportunity (its version becomes stored + 1), and moves the
// owner and external-id index entries when those fields changed.
struct OpportunityTransition {
  v1::Opportunity opportunity;
  std::vector<v1::OpportunityChange> history;
  // Closing: the planned follow-ups become CANCELLED.
  bool cancel_follow_ups = false;
  // Creating: the cadence's first follow-up (id, owner, opportunity and state
  // are left to the handler); nullopt when the cadence has no steps.
  std::optional<v1::FollowUp> first_follow_up;
};

// "YYYY-MM-DD".
std::string DateText(const v1::Date& d);

// Fields a client sets on create and update (SPEC §3.2), checked alike. The
// amount may be in any active ISO 4217 currency (issue 19, D40); `currency`
// (the instance's reporting currency) is no longer a rule of the amount.
void ValidateOpportunityFields(const v1::Opportunity& o,
                               const std::string& currency, Violations& v);

// True when `amount` is below the model's out-of-funnel threshold (SPEC §3.2,
// §4.4). The threshold is in the reporting currency and pipeline has no
// exchange rates (D40): only an amount in the threshold's own currency is
// compared; an amount in any other currency is never below it.
bool BelowFunnelThreshold(const v1::StageModel& model, const v1::Money& amount);

// FAILED_PRECONDITION when BelowFunnelThreshold (SPEC §3.2, §4.4).
[[nodiscard]] absl::Status CheckFunnelThreshold(const v1::StageModel& model,
                                                const v1::Money& amount);

// Re-derives out_of_funnel and stamps the update time.
void Touch(const v1::StageModel& model, absl::Time now, v1::Opportunity* o);

// Appends one history entry of t->opportunity (whose version is already the
// new one) and counts it in its history_length.
void AddHistory(OpportunityTransition* t, v1::ChangeKind kind, std::string from,
                std::string to, const std::string& by, absl::Time now,
                std::string reason = "",
                std::vector<std::string> overridden = {});

// ---- CreateOpportunity ----

// The opportunity a create asks for, defaults filled (a REP owns it by
// default; stage model BUYING_CYCLE_6), its fields validated before any peer
// is asked.
[[nodiscard]] absl::StatusOr<v1::Opportunity> DraftOpportunity(
    const v1::CreateOpportunityRequest& req, const Principal& who,
    const std::string& currency);

// The new opportunity `id` from `draft` under `model` (nullopt: the draft's
// stage model does not exist): first stage by default, never a stage that
// closes WON, at or above the out-of-funnel threshold; server-owned fields
// reset; one CREATED entry by `by`; the cadence's first follow-up. The
// external id's uniqueness is the handler's (an index).
[[nodiscard]] absl::StatusOr<OpportunityTransition> CreateOpportunity(
    v1::Opportunity draft, const std::optional<v1::StageModel>& model,
    std::string id, const std::string& by, absl::Time now);

// ---- UpdateOpportunity ----

// The update_mask rules of an opportunity (field_mask.h): name, amount,
// expected_close_date, competitors, competitors_unknown, source_channel,
// next_step, external_id and owner_node_id are writable; account_id,
// stage_model_id and stage_key are immutable; the rest is output only.
const fieldmask::EntityRules& OpportunityUpdateRules();

// The request before anything is read: opportunity.id required, the
// update_mask's bad paths. `currency` is unused (the field rules run on the
// merged opportunity: MergeUpdate).
[[nodiscard]] absl::Status ValidateUpdate(
    const v1::UpdateOpportunityRequest& req, const std::string& currency);

// `req` with its opportunity replaced by `stored` merged with the fields
// req.update_mask names (or implies) (field_mask.h), so the other rules of an
// update see the whole opportunity. INVALID_ARGUMENT when req.opportunity
// sets an account, stage model or stage other than the stored one, for the
// mask's bad paths, for every field rule the merged opportunity breaks, and
// for an owner_node_id an explicit path clears ("*" and the implied mask
// read an empty owner as unchanged, as before masks).
[[nodiscard]] absl::StatusOr<v1::UpdateOpportunityRequest> MergeUpdate(
    const v1::Opportunity& stored, const v1::UpdateOpportunityRequest& req,
    const std::string& currency);

// Whether the update gives `committed` another owner (the new owner is then
// checked with accounts before the transaction); PERMISSION_DENIED unless a
// MANAGER or ADMIN asks for it.
[[nodiscard]] absl::StatusOr<bool> IsReassignment(
    const Principal& who, const v1::Opportunity& committed,
    const v1::UpdateOpportunityRequest& req);

// The update of `stored` by `req`, the request MergeUpdate answered (its
// opportunity is the whole merged entity). `checked_owner`: the owner the
// opportunity had when the new owner was checked (nullopt when the update does
// not reassign); ABORTED when it changed meanwhile. Account, stage model and
// stage are fixed (INVALID_ARGUMENT naming each); FAILED_PRECONDITION unless
// OPEN or when a new amount is below the threshold. History: AMOUNT,
// CLOSE_DATE, OWNER.
[[nodiscard]] absl::StatusOr<OpportunityTransition> UpdateOpportunity(
    const v1::Opportunity& stored, const v1::UpdateOpportunityRequest& req,
    const v1::StageModel& model, const Principal& who, absl::Time now,
    const std::optional<std::string>& checked_owner);

// ---- SetExitCriterion ----

// Checks or unchecks one exit criterion of an OPEN opportunity.
[[nodiscard]] absl::StatusOr<OpportunityTransition> SetExitCriterion(
    const v1::Opportunity& stored, const v1::SetExitCriterionRequest& req,
    const v1::StageModel& model, const Principal& who, absl::Time now);

// ---- MoveStage ----

// PERMISSION_DENIED when the request forces a move (override_reason) and `who`
// is neither MANAGER nor ADMIN.
[[nodiscard]] absl::Status CheckForcing(const Principal& who,
                                        const v1::MoveStageRequest& req);

// The move of `o` the request asks for (PlanMove), FAILED_PRECONDITION
// naming the unchecked required exit criteria of a forward move that is not
// forced.
[[nodiscard]] absl::StatusOr<MovePlan> CheckMove(
    const v1::StageModel& model, const v1::Opportunity& o,
    const v1::MoveStageRequest& req);

// FAILED_PRECONDITION with credit's reasons when it blocks the move.
[[nodiscard]] absl::Status CheckCreditAnswer(const CreditAnswer& answer,
                                             const v1::Opportunity& o,
                                             const v1::MoveStageRequest& req);

// The move of `stored`. `credit`: the credit check's answer for an
// opportunity of `checked_amount_minor` (nullopt when credit was not asked);
// ABORTED when the move needs a check that was not made for this amount.
// History: STAGE_FORWARD/BACKWARD (an override names the overridden
// criteria), then CLOSED when the target stage closes WON.
[[nodiscard]] absl::StatusOr<OpportunityTransition> MoveStage(
    const v1::Opportunity& stored, const v1::MoveStageRequest& req,
    const v1::StageModel& model, const Principal& who, absl::Time now,
    const std::optional<CreditAnswer>& credit, int64_t checked_amount_minor);

// ---- CloseOpportunity, ReopenOpportunity, close on collection ----

// The request's fields: an outcome of WON, LOST, NO_DECISION or ABANDONED; a
// reason unless WON.
[[nodiscard]] absl::Status ValidateClose(
    const v1::CloseOpportunityRequest& req);

// Closes the OPEN `stored` with `outcome`: status, reason, closed time,
// version + 1, a CLOSED entry by `by`, planned follow-ups cancelled. The one
// close of CloseOpportunity and of the close on full collection.
OpportunityTransition Close(const v1::Opportunity& stored,
                            const v1::StageModel& model,
                            v1::OpportunityStatus outcome, std::string reason,
                            int64_t closed_micros, const std::string& by,
                            absl::Time now);

// CloseOpportunity: FAILED_PRECONDITION unless `stored` is OPEN, then Close.
[[nodiscard]] absl::StatusOr<OpportunityTransition> CloseOpportunity(
    const v1::Opportunity& stored, const v1::CloseOpportunityRequest& req,
    const v1::StageModel& model, const Principal& who, absl::Time now);

[[nodiscard]] absl::Status ValidateReopen(
    const v1::ReopenOpportunityRequest& req);

// Reopens the closed `stored` (FAILED_PRECONDITION when OPEN or when it sits
// in a stage that closes WON): OPEN, stage entered now, a REOPENED entry.
[[nodiscard]] absl::StatusOr<OpportunityTransition> ReopenOpportunity(
    const v1::Opportunity& stored, const v1::ReopenOpportunityRequest& req,
    const v1::StageModel& model, const Principal& who, absl::Time now);

// ---- ListOpportunities ----

// A ListOpportunities request's filters. The owners filter needs the org
// tree and the caller's scope the handler's policy; Matches checks the rest.
struct OpportunityFilter {
  std::vector<std::string> owners;
  std::string account_id;
  v1::OpportunityStatus status = v1::OPPORTUNITY_STATUS_UNSPECIFIED;
  std::string stage_key;
  std::string stage_model_id;
  std::optional<absl::CivilDay> close_from, close_to;

  // True when `o` passes every filter but the owners'.
  bool Matches(const v1::Opportunity& o) const;
};

// The request's filters; their violations go to `v` (the page's join them).
OpportunityFilter ReadListFilter(const v1::ListOpportunitiesRequest& req,
                                 Violations& v);

// True when `o` sits in a stage of `model` that closes on full collection.
bool ClosesOnCollection(const v1::StageModel& model, const v1::Opportunity& o);

}  // namespace salesops::pipeline
