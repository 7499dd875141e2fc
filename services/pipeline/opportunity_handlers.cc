// The opportunity handlers of PipelineServiceImpl (SPEC.md §3.2, §3.3): I/O
// around the transitions of opportunity_rules.h.

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/status/status.h"
#include "common/store/ids.h"
#include "common/store/listing.h"
#include "common/time/fiscal_calendar.h"
#include "services/pipeline/opportunity_rules.h"
#include "services/pipeline/pipeline_service.h"

namespace salesops::pipeline {

grpc::ServerUnaryReactor* PipelineServiceImpl::CreateOpportunity(
    grpc::CallbackServerContext* ctx, const v1::CreateOpportunityRequest* req,
    v1::Opportunity* resp) {
  return SALESOPS_SERVE_ASYNC(
      gate_, ctx, [&](const Principal& who, Finish finish) {
        absl::StatusOr<v1::Opportunity> draft =
            DraftOpportunity(*req, who, options_.currency);
        if (!draft.ok()) {
          finish(draft.status());
          return;
        }
        CreateAfterPeerChecks(req, resp, who, std::move(*draft),
                              std::move(finish));
      });
}

void PipelineServiceImpl::CreateAfterPeerChecks(
    const v1::CreateOpportunityRequest* req, v1::Opportunity* resp,
    Principal who, v1::Opportunity o, Finish finish) {
  // The commit does not wait either: the store's completion thread finishes.
  auto write = [this, req, resp, who, o, finish](absl::Status owner) mutable {
    if (!owner.ok()) {
      finish(owner);
      return;
    }
    db_.store->WriteAsync(
        ActorFor(who, "CreateOpportunity"),
        CreateTxn(req, who.name, std::move(o), resp),
        [finish](absl::StatusOr<CommitResult> r) { finish(r.status()); });
  };
  const std::string owner = o.owner_node_id();
  auto check_owner = [this, who, owner, write = std::move(write),
                      finish](absl::Status account) mutable {
    if (!account.ok()) {
      finish(account);
      return;
    }
    CheckOwnerAsync(who, owner, "opportunity.owner_node_id", std::move(write));
  };
  CheckAccountAsync(o.account_id(), "opportunity.account_id",
                    std::move(check_owner));
}

TxnFn PipelineServiceImpl::CreateTxn(const v1::CreateOpportunityRequest* req,
                                     std::string by, v1::Opportunity o,
                                     v1::Opportunity* resp, bool* ran) {
  return [this, req, by = std::move(by), o = std::move(o), resp,
          ran](WriteTxn& txn) mutable -> absl::Status {
    return CreateOnce(
        txn, "CreateOpportunity", req->request_id(), *req, resp,
        [&]() -> absl::Status {
          ASSIGN_OR_RETURN(std::optional<v1::StageModel> model,
                           db_.models.Find(txn, o.stage_model_id()));
          ASSIGN_OR_RETURN(
              OpportunityTransition t,
              pipeline::CreateOpportunity(
                  std::move(o), model, NewId("opp", txn.now()), by, txn.now()));
          v1::Opportunity& created = t.opportunity;
          RETURN_IF_ERROR(db_.opportunity_by_external_id.Claim(
              txn, "opportunity.external_id", "", created.external_id(),
              created.id()));
          RETURN_IF_ERROR(db_.AppendHistory(txn, std::move(t.history)));
          RETURN_IF_ERROR(
              db_.opportunities.Insert(txn, created.id(), &created));
          db_.opportunities_by_owner.Put(txn, created.owner_node_id(),
                                         created.id());
          db_.opportunities_by_account.Put(txn, created.account_id(),
                                           created.id());
          if (t.first_follow_up) {
            RETURN_IF_ERROR(
                db_.InsertFollowUp(txn, created, *t.first_follow_up));
          }
          *resp = std::move(created);
          if (ran != nullptr) {
            *ran = true;
          }
          return absl::OkStatus();
        });
  };
}

grpc::Status PipelineServiceImpl::GetOpportunity(
    Ctx* ctx, const v1::GetOpportunityRequest* req, v1::Opportunity* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) -> absl::Status {
    ASSIGN_OR_RETURN(*resp, ReadVisible(who, req->id(), "id"));
    return absl::OkStatus();
  });
}

grpc::Status PipelineServiceImpl::UpdateOpportunity(
    Ctx* ctx, const v1::UpdateOpportunityRequest* req, v1::Opportunity* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoUpdateOpportunity(who, req, resp);
  });
}

absl::Status PipelineServiceImpl::DoUpdateOpportunity(
    const Principal& who, const v1::UpdateOpportunityRequest* req,
    v1::Opportunity* resp) {
  RETURN_IF_ERROR(ValidateUpdate(*req, options_.currency));
  const std::string& id = req->opportunity().id();
  ASSIGN_OR_RETURN(v1::Opportunity committed,
                   ReadVisible(who, id, "opportunity.id"));
  // The update as the committed state makes it (field mask applied): a new
  // owner is validated with accounts before anything is written.
  ASSIGN_OR_RETURN(const v1::UpdateOpportunityRequest first,
                   MergeUpdate(committed, *req, options_.currency));
  ASSIGN_OR_RETURN(const bool reassign, IsReassignment(who, committed, first));
  std::optional<std::string> checked_owner;
  if (reassign) {
    RETURN_IF_ERROR(CheckOwner(who, first.opportunity().owner_node_id(),
                               "opportunity.owner_node_id"));
    checked_owner = committed.owner_node_id();
  }
  return Transition(
      who, "UpdateOpportunity", id, req->expected_version(),
      [&](const v1::Opportunity& o, const v1::StageModel& model,
          absl::Time now) -> absl::StatusOr<OpportunityTransition> {
        // Merged again over the state inside the transaction, so a field
        // the mask leaves alone keeps a value written meanwhile.
        ASSIGN_OR_RETURN(const v1::UpdateOpportunityRequest merged,
                         MergeUpdate(o, *req, options_.currency));
        return pipeline::UpdateOpportunity(o, merged, model, who, now,
                                           checked_owner);
      },
      resp);
}

grpc::Status PipelineServiceImpl::ListOpportunities(
    Ctx* ctx, const v1::ListOpportunitiesRequest* req,
    v1::ListOpportunitiesResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoListOpportunities(who, req, resp);
  });
}

absl::Status PipelineServiceImpl::DoListOpportunities(
    const Principal& who, const v1::ListOpportunitiesRequest* req,
    v1::ListOpportunitiesResponse* resp) {
  Violations v;
  const OpportunityFilter filter = ReadListFilter(*req, v);
  absl::StatusOr<Page> page = ReadListPage(*req);
  if (!page.ok()) {
    v.Add(page.status());
  }
  RETURN_IF_ERROR(v.status());
  const std::vector<std::string>& owners = filter.owners;
  const auto keep = [&](const v1::Opportunity& o) {
    const std::string& owner = o.owner_node_id();
    return scope_.CanRead(who, owner) &&
           (owners.empty() || std::any_of(owners.begin(), owners.end(),
                                          [&](const std::string& n) {
                                            return owner == n ||
                                                   org_->IsWithin(owner, n);
                                          })) &&
           filter.Matches(o);
  };
  SetFeedSequence(resp, db_.store->last_sequence());
  std::string next;
  // The narrowest index that answers the filter; the filter runs anyway.
  auto* out = resp->mutable_opportunities();
  if (!req->account_id().empty()) {
    RETURN_IF_ERROR(FillPageFromIndex<v1::Opportunity>(
        *db_.store, db_.opportunities_by_account, req->account_id(),
        db_.opportunities, *page, keep, out, &next));
  } else if (std::optional<std::string> only = OnlyOwner(who, owners)) {
    RETURN_IF_ERROR(FillPageFromIndex<v1::Opportunity>(
        *db_.store, db_.opportunities_by_owner, *only, db_.opportunities, *page,
        keep, out, &next));
  } else {
    RETURN_IF_ERROR(
        FillPage<v1::Opportunity>(db_.opportunities, *page, keep, out, &next));
  }
  SetNextPageToken(resp, next);
  return absl::OkStatus();
}

std::optional<std::string> PipelineServiceImpl::OnlyOwner(
    const Principal& who, const std::vector<std::string>& owners) const {
  if (owners.size() == 1) {
    std::optional<OrgMirror::Node> n = org_->Find(owners[0]);
    if (n && n->kind == v1::ORG_NODE_KIND_REP) {
      return owners[0];
    }
  } else if (owners.empty() && who.role == Role::kRep) {
    return who.org_node_id;
  }
  return std::nullopt;
}

grpc::Status PipelineServiceImpl::SetExitCriterion(
    Ctx* ctx, const v1::SetExitCriterionRequest* req, v1::Opportunity* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) -> absl::Status {
    if (req->opportunity_id().empty()) {
      return absl::InvalidArgumentError("opportunity_id: required");
    }
    return Transition(
        who, "SetExitCriterion", req->opportunity_id(), req->expected_version(),
        [&](const v1::Opportunity& o, const v1::StageModel& model,
            absl::Time now) {
          return pipeline::SetExitCriterion(o, *req, model, who, now);
        },
        resp);
  });
}

grpc::Status PipelineServiceImpl::MoveStage(Ctx* ctx,
                                            const v1::MoveStageRequest* req,
                                            v1::Opportunity* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoMoveStage(who, req, resp);
  });
}

absl::Status PipelineServiceImpl::DoMoveStage(const Principal& who,
                                              const v1::MoveStageRequest* req,
                                              v1::Opportunity* resp) {
  RETURN_IF_ERROR(CheckForcing(who, *req));
  ASSIGN_OR_RETURN(v1::Opportunity committed,
                   ReadVisible(who, req->opportunity_id(), "opportunity_id"));
  RETURN_IF_ERROR(RequireWriter(who, committed.owner_node_id()));
  RETURN_IF_ERROR(CheckVersion("opportunity", committed.id(),
                               req->expected_version(), committed.version()));
  ASSIGN_OR_RETURN(v1::StageModel model,
                   db_.models.Get(committed.stage_model_id()));
  // Everything a transaction can decide alone is decided again inside it;
  // this first pass only tells whether credit must be asked (a peer call
  // cannot run on the commit path).
  ASSIGN_OR_RETURN(MovePlan first, CheckMove(model, committed, *req));
  std::optional<CreditAnswer> credit;
  if (first.needs_credit_check) {
    ASSIGN_OR_RETURN(CreditAnswer answer,
                     credit_->CheckCredit(committed.account_id(),
                                          committed.amount(), committed.id()));
    RETURN_IF_ERROR(CheckCreditAnswer(answer, committed, *req));
    credit = std::move(answer);
  }
  return Transition(
      who, "MoveStage", committed.id(), req->expected_version(),
      [&](const v1::Opportunity& o, const v1::StageModel& m, absl::Time now) {
        return pipeline::MoveStage(o, *req, m, who, now, credit,
                                   committed.amount().units_minor());
      },
      resp);
}

grpc::Status PipelineServiceImpl::CloseOpportunity(
    Ctx* ctx, const v1::CloseOpportunityRequest* req, v1::Opportunity* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) -> absl::Status {
    RETURN_IF_ERROR(ValidateClose(*req));
    return Transition(
        who, "CloseOpportunity", req->opportunity_id(), req->expected_version(),
        [&](const v1::Opportunity& o, const v1::StageModel& model,
            absl::Time now) {
          return pipeline::CloseOpportunity(o, *req, model, who, now);
        },
        resp);
  });
}

grpc::Status PipelineServiceImpl::ReopenOpportunity(
    Ctx* ctx, const v1::ReopenOpportunityRequest* req, v1::Opportunity* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) -> absl::Status {
    RETURN_IF_ERROR(ValidateReopen(*req));
    return Transition(
        who, "ReopenOpportunity", req->opportunity_id(),
        req->expected_version(),
        [&](const v1::Opportunity& o, const v1::StageModel& model,
            absl::Time now) {
          return pipeline::ReopenOpportunity(o, *req, model, who, now);
        },
        resp);
  });
}

grpc::Status PipelineServiceImpl::GetOpportunityHistory(
    Ctx* ctx, const v1::GetOpportunityHistoryRequest* req,
    v1::GetOpportunityHistoryResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Opportunity o,
                     ReadVisible(who, req->opportunity_id(), "opportunity_id"));
    ASSIGN_OR_RETURN(
        std::vector<v1::OpportunityChange> changes,
        LoadAll(*db_.store, db_.changes_by_opportunity, db_.changes, o.id()));
    for (v1::OpportunityChange& c : changes) {
      *resp->add_changes() = std::move(c);
    }
    return absl::OkStatus();
  });
}

grpc::Status PipelineServiceImpl::ListOpportunityChanges(
    Ctx* ctx, const v1::ListOpportunityChangesRequest* req,
    v1::ListOpportunityChangesResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal&) -> absl::Status {
    ASSIGN_OR_RETURN(Page page, ReadListPage(*req));
    SetFeedSequence(resp, db_.store->last_sequence());
    std::vector<v1::OpportunityChange> changes;
    std::string last;
    bool more = false;
    RETURN_IF_ERROR(
        db_.ListAllChanges(page.after, page.size, &changes, &last, &more));
    for (v1::OpportunityChange& c : changes) {
      *resp->add_changes() = std::move(c);
    }
    if (more) {
      SetNextPageToken(resp, EncodePageToken(last));
    }
    return absl::OkStatus();
  });
}

}  // namespace salesops::pipeline
