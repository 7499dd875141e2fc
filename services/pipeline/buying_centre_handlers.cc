// The buying-centre, activity, follow-up, deal-health and weekly-review
// handlers of PipelineServiceImpl (SPEC.md §3.4, §3.6, §3.7): I/O around the
// transitions of buying_centre_rules.h and activity_rules.h.

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/status.h"
#include "common/store/ids.h"
#include "common/store/listing.h"
#include "services/pipeline/activity_rules.h"
#include "services/pipeline/buying_centre_rules.h"
#include "services/pipeline/deal_health.h"
#include "services/pipeline/pipeline_service.h"

namespace salesops::pipeline {
namespace {

// The PLANNED follow-ups of `fups`.
std::vector<v1::FollowUp> Planned(std::vector<v1::FollowUp> fups) {
  std::vector<v1::FollowUp> planned;
  for (v1::FollowUp& f : fups) {
    if (f.state() == v1::FOLLOW_UP_STATE_PLANNED) {
      planned.push_back(std::move(f));
    }
  }
  return planned;
}

}  // namespace

// ---------------------------------------------------------------------------
// Buying centre

grpc::Status PipelineServiceImpl::SetContactRole(
    Ctx* ctx, const v1::SetContactRoleRequest* req, v1::ContactRole* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoSetContactRole(who, req, resp);
  });
}

absl::Status PipelineServiceImpl::DoSetContactRole(
    const Principal& who, const v1::SetContactRoleRequest* req,
    v1::ContactRole* resp) {
  RETURN_IF_ERROR(ValidateSetContactRole(*req));
  ASSIGN_OR_RETURN(v1::Opportunity committed,
                   ReadVisible(who, req->opportunity_id(), "opportunity_id"));
  RETURN_IF_ERROR(RequireWriter(who, committed.owner_node_id()));
  absl::StatusOr<v1::Contact> contact =
      accounts_->GetContact(req->contact_id());
  if (absl::IsNotFound(contact.status())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "contact_id: contact ", req->contact_id(), " not found in accounts"));
  }
  RETURN_IF_ERROR(contact.status());
  RETURN_IF_ERROR(CheckContactAccount(*contact, committed));
  return db_.store
      ->Write(ActorFor(who, "SetContactRole"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(v1::Opportunity o,
                                 db_.opportunities.Get(txn, committed.id()));
                RETURN_IF_ERROR(RequireWriter(who, o.owner_node_id()));
                ASSIGN_OR_RETURN(
                    std::vector<v1::ContactRole> all,
                    LoadAll(txn, db_.roles_by_opportunity, db_.roles, o.id()));
                ASSIGN_OR_RETURN(RoleChange change, pipeline::SetContactRole(
                                                        o.id(), std::move(all),
                                                        *req, who, txn.now()));
                const std::string id =
                    PipelineStore::RoleId(o.id(), req->contact_id());
                if (change.existing) {
                  RETURN_IF_ERROR(db_.roles.Update(
                      txn, id, req->expected_version(), &change.role));
                } else {
                  RETURN_IF_ERROR(db_.roles.Insert(txn, id, &change.role));
                  db_.roles_by_opportunity.Put(txn, o.id(), id);
                }
                *resp = std::move(change.role);
                return absl::OkStatus();
              })
      .status();
}

grpc::Status PipelineServiceImpl::RemoveContactRole(
    Ctx* ctx, const v1::RemoveContactRoleRequest* req, v1::ContactRole* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) -> absl::Status {
    if (req->opportunity_id().empty() || req->contact_id().empty()) {
      return absl::InvalidArgumentError("opportunity_id, contact_id: required");
    }
    const auto remove = [&](WriteTxn& txn) -> absl::Status {
      ASSIGN_OR_RETURN(v1::Opportunity o,
                       db_.opportunities.Get(txn, req->opportunity_id()));
      RETURN_IF_ERROR(RequireWriter(who, o.owner_node_id()));
      const std::string id = PipelineStore::RoleId(o.id(), req->contact_id());
      ASSIGN_OR_RETURN(std::optional<v1::ContactRole> stored,
                       db_.roles.Find(txn, id));
      ASSIGN_OR_RETURN(
          v1::ContactRole r,
          pipeline::RemoveContactRole(stored ? &*stored : nullptr, *req));
      RETURN_IF_ERROR(db_.roles.Update(txn, id, req->expected_version(), &r));
      *resp = std::move(r);
      return absl::OkStatus();
    };
    return db_.store->Write(ActorFor(who, "RemoveContactRole"), remove)
        .status();
  });
}

grpc::Status PipelineServiceImpl::ListContactRoles(
    Ctx* ctx, const v1::ListContactRolesRequest* req,
    v1::ListContactRolesResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Opportunity o,
                     ReadVisible(who, req->opportunity_id(), "opportunity_id"));
    resp->set_feed_sequence(db_.store->last_sequence());
    ASSIGN_OR_RETURN(
        std::vector<v1::ContactRole> roles,
        LoadAll(*db_.store, db_.roles_by_opportunity, db_.roles, o.id()));
    std::sort(roles.begin(), roles.end(),
              [](const v1::ContactRole& a, const v1::ContactRole& b) {
                return a.contact_id() < b.contact_id();
              });
    for (v1::ContactRole& r : roles) {
      if (!r.removed() || req->include_removed()) {
        *resp->add_roles() = std::move(r);
      }
    }
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------
// Activities and follow-ups

grpc::Status PipelineServiceImpl::RecordActivity(
    Ctx* ctx, const v1::RecordActivityRequest* req, v1::Activity* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoRecordActivity(who, req, resp);
  });
}

absl::Status PipelineServiceImpl::DoRecordActivity(
    const Principal& who, const v1::RecordActivityRequest* req,
    v1::Activity* resp) {
  const v1::Activity& in = req->activity();
  RETURN_IF_ERROR(ValidateActivity(in, clock_->Now()));
  ASSIGN_OR_RETURN(
      v1::Opportunity committed,
      ReadVisible(who, in.opportunity_id(), "activity.opportunity_id"));
  RETURN_IF_ERROR(RequireWriter(who, committed.owner_node_id()));
  const auto record = [&](WriteTxn& txn) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Opportunity o,
                     db_.opportunities.Get(txn, committed.id()));
    RETURN_IF_ERROR(RequireWriter(who, o.owner_node_id()));
    ASSIGN_OR_RETURN(std::vector<v1::ContactRole> roles,
                     LoadAll(txn, db_.roles_by_opportunity, db_.roles, o.id()));
    ASSIGN_OR_RETURN(
        std::vector<v1::FollowUp> fups,
        LoadAll(txn, db_.follow_ups_by_opportunity, db_.follow_ups, o.id()));
    ASSIGN_OR_RETURN(v1::StageModel model,
                     db_.models.Get(txn, o.stage_model_id()));
    ASSIGN_OR_RETURN(
        ActivityRecord rec,
        pipeline::RecordActivity(o, model, in, roles, Planned(std::move(fups)),
                                 NewId("act", txn.now()), who, txn.now()));
    for (v1::ContactRole& r : rec.touched_roles) {
      RETURN_IF_ERROR(db_.roles.Update(
          txn, PipelineStore::RoleId(o.id(), r.contact_id()), 0, &r));
    }
    if (rec.completed) {
      RETURN_IF_ERROR(
          db_.follow_ups.Update(txn, rec.completed->id(), 0, &*rec.completed));
    }
    for (std::optional<v1::FollowUp>* f : {&rec.next, &rec.planned}) {
      if (*f) {
        RETURN_IF_ERROR(db_.InsertFollowUp(txn, o, std::move(**f)));
      }
    }
    RETURN_IF_ERROR(
        db_.activities.Insert(txn, rec.activity.id(), &rec.activity));
    db_.activities_by_opportunity.Put(txn, o.id(), rec.activity.id());
    *resp = std::move(rec.activity);
    return absl::OkStatus();
  };
  return db_.store
      ->Write(ActorFor(who, "RecordActivity"),
              [&](WriteTxn& txn) -> absl::Status {
                return CreateOnce(txn, "RecordActivity", req->request_id(),
                                  *req, resp, [&] { return record(txn); });
              })
      .status();
}

grpc::Status PipelineServiceImpl::ListActivities(
    Ctx* ctx, const v1::ListActivitiesRequest* req,
    v1::ListActivitiesResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Opportunity o,
                     ReadVisible(who, req->opportunity_id(), "opportunity_id"));
    ASSIGN_OR_RETURN(Page page, ReadListPage(*req));
    SetFeedSequence(resp, db_.store->last_sequence());
    std::string next;
    RETURN_IF_ERROR(FillPageFromIndex<v1::Activity>(
        *db_.store, db_.activities_by_opportunity, o.id(), db_.activities, page,
        [](const v1::Activity&) { return true; }, resp->mutable_activities(),
        &next));
    SetNextPageToken(resp, next);
    return absl::OkStatus();
  });
}

grpc::Status PipelineServiceImpl::ListFollowUps(
    Ctx* ctx, const v1::ListFollowUpsRequest* req,
    v1::ListFollowUpsResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Opportunity o,
                     ReadVisible(who, req->opportunity_id(), "opportunity_id"));
    resp->set_feed_sequence(db_.store->last_sequence());
    ASSIGN_OR_RETURN(std::vector<v1::FollowUp> fups,
                     LoadAll(*db_.store, db_.follow_ups_by_opportunity,
                             db_.follow_ups, o.id()));
    for (v1::FollowUp& f : fups) {
      *resp->add_follow_ups() = std::move(f);
    }
    return absl::OkStatus();
  });
}

grpc::Status PipelineServiceImpl::ListOverdueFollowUps(
    Ctx* ctx, const v1::ListOverdueFollowUpsRequest* req,
    v1::ListOverdueFollowUpsResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoListOverdueFollowUps(who, req, resp);
  });
}

absl::Status PipelineServiceImpl::DoListOverdueFollowUps(
    const Principal& who, const v1::ListOverdueFollowUpsRequest* req,
    v1::ListOverdueFollowUpsResponse* resp) {
  if (req->as_of_micros() < 0) {
    return absl::InvalidArgumentError("as_of_micros: must be >= 0");
  }
  ASSIGN_OR_RETURN(Page page, ReadListPage(*req));
  const int64_t as_of =
      req->as_of_micros() == 0 ? Micros(clock_->Now()) : req->as_of_micros();
  std::vector<std::string> owners(req->owner_ids().begin(),
                                  req->owner_ids().end());
  if (owners.empty() &&
      (who.role == Role::kManager || who.role == Role::kRep)) {
    owners.push_back(who.org_node_id);
  }
  const auto keep = [&](const v1::FollowUp& f) {
    if (f.state() != v1::FOLLOW_UP_STATE_PLANNED || f.due_micros() >= as_of) {
      return false;
    }
    if (!scope_.CanRead(who, f.owner_node_id())) {
      return false;
    }
    return owners.empty() ||
           std::any_of(owners.begin(), owners.end(), [&](const std::string& n) {
             return f.owner_node_id() == n ||
                    org_->IsWithin(f.owner_node_id(), n);
           });
  };
  SetFeedSequence(resp, db_.store->last_sequence());
  std::string next;
  RETURN_IF_ERROR(FillPage<v1::FollowUp>(db_.follow_ups, page, keep,
                                         resp->mutable_follow_ups(), &next));
  SetNextPageToken(resp, next);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Deal health and weekly reviews

grpc::Status PipelineServiceImpl::GetDealHealth(
    Ctx* ctx, const v1::GetDealHealthRequest* req,
    v1::GetDealHealthResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoGetDealHealth(who, req, resp);
  });
}

absl::Status PipelineServiceImpl::DoGetDealHealth(
    const Principal& who, const v1::GetDealHealthRequest* req,
    v1::GetDealHealthResponse* resp) {
  if (req->as_of_micros() < 0) {
    return absl::InvalidArgumentError("as_of_micros: must be >= 0");
  }
  DealFacts facts;
  ASSIGN_OR_RETURN(facts.opportunity,
                   ReadVisible(who, req->opportunity_id(), "opportunity_id"));
  const std::string& id = facts.opportunity.id();
  ASSIGN_OR_RETURN(facts.model,
                   db_.models.Get(facts.opportunity.stage_model_id()));
  ASSIGN_OR_RETURN(
      std::vector<v1::ContactRole> roles,
      LoadAll(*db_.store, db_.roles_by_opportunity, db_.roles, id));
  for (v1::ContactRole& r : roles) {
    if (!r.removed()) {
      facts.roles.push_back(std::move(r));
    }
  }
  ASSIGN_OR_RETURN(
      facts.activities,
      LoadAll(*db_.store, db_.activities_by_opportunity, db_.activities, id));
  ASSIGN_OR_RETURN(
      facts.follow_ups,
      LoadAll(*db_.store, db_.follow_ups_by_opportunity, db_.follow_ups, id));
  ASSIGN_OR_RETURN(
      std::vector<v1::WeeklyReview> reviews,
      LoadAll(*db_.store, db_.reviews_by_opportunity, db_.reviews, id));
  for (const v1::WeeklyReview& r : reviews) {
    facts.last_review_micros =
        std::max(facts.last_review_micros, r.recorded_micros());
  }
  facts.as_of = req->as_of_micros() == 0
                    ? clock_->Now()
                    : absl::FromUnixMicros(req->as_of_micros());
  facts.time_zone = options_.time_zone;
  for (v1::DealWarning& w : AssessDealHealth(facts)) {
    *resp->add_warnings() = std::move(w);
  }
  resp->set_healthy(resp->warnings().empty());
  return absl::OkStatus();
}

grpc::Status PipelineServiceImpl::RecordWeeklyReview(
    Ctx* ctx, const v1::RecordWeeklyReviewRequest* req,
    v1::WeeklyReview* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) {
    return DoRecordWeeklyReview(who, req, resp);
  });
}

absl::Status PipelineServiceImpl::DoRecordWeeklyReview(
    const Principal& who, const v1::RecordWeeklyReviewRequest* req,
    v1::WeeklyReview* resp) {
  const v1::WeeklyReview& in = req->review();
  ASSIGN_OR_RETURN(const absl::CivilDay monday, ValidateWeeklyReview(in));
  return db_.store
      ->Write(ActorFor(who, "RecordWeeklyReview"),
              [&](WriteTxn& txn) -> absl::Status {
                ASSIGN_OR_RETURN(
                    v1::Opportunity o,
                    db_.opportunities.Get(txn, in.opportunity_id()));
                RETURN_IF_ERROR(RequireWriter(who, o.owner_node_id()));
                v1::WeeklyReview r = WeeklyReviewOf(in, monday, who, txn.now());
                const std::string id =
                    PipelineStore::ReviewId(o.id(), DateText(r.week()));
                ASSIGN_OR_RETURN(std::optional<v1::WeeklyReview> stored,
                                 db_.reviews.Find(txn, id));
                if (stored) {
                  RETURN_IF_ERROR(
                      db_.reviews.Update(txn, id, req->expected_version(), &r));
                } else {
                  RETURN_IF_ERROR(db_.reviews.Insert(txn, id, &r));
                  db_.reviews_by_opportunity.Put(txn, o.id(), id);
                }
                *resp = std::move(r);
                return absl::OkStatus();
              })
      .status();
}

grpc::Status PipelineServiceImpl::ListWeeklyReviews(
    Ctx* ctx, const v1::ListWeeklyReviewsRequest* req,
    v1::ListWeeklyReviewsResponse* resp) {
  return SALESOPS_SERVE(gate_, ctx, [&](const Principal& who) -> absl::Status {
    ASSIGN_OR_RETURN(v1::Opportunity o,
                     ReadVisible(who, req->opportunity_id(), "opportunity_id"));
    resp->set_feed_sequence(db_.store->last_sequence());
    ASSIGN_OR_RETURN(
        std::vector<v1::WeeklyReview> reviews,
        LoadAll(*db_.store, db_.reviews_by_opportunity, db_.reviews, o.id()));
    // Ids embed the week as YYYY-MM-DD, so index order is week order.
    for (v1::WeeklyReview& r : reviews) {
      *resp->add_reviews() = std::move(r);
    }
    return absl::OkStatus();
  });
}

}  // namespace salesops::pipeline
