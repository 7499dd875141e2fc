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
#include "services/pipeline/handlers_internal.h"
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
  return ToGrpc(DoSetContactRole(ctx, req, resp));
}

absl::Status PipelineServiceImpl::DoSetContactRole(
    Ctx* ctx, const v1::SetContactRoleRequest* req, v1::ContactRole* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kWriters));
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
  absl::StatusOr<Principal> who = auth_->Authorize(*ctx, kWriters);
  if (!who.ok()) {
    return ToGrpc(who.status());
  }
  if (req->opportunity_id().empty() || req->contact_id().empty()) {
    return ToGrpc(
        absl::InvalidArgumentError("opportunity_id, contact_id: required"));
  }
  absl::Status s =
      db_.store
          ->Write(ActorFor(*who, "RemoveContactRole"),
                  [&](WriteTxn& txn) -> absl::Status {
                    ASSIGN_OR_RETURN(
                        v1::Opportunity o,
                        db_.opportunities.Get(txn, req->opportunity_id()));
                    RETURN_IF_ERROR(RequireWriter(*who, o.owner_node_id()));
                    const std::string id =
                        PipelineStore::RoleId(o.id(), req->contact_id());
                    ASSIGN_OR_RETURN(std::optional<v1::ContactRole> stored,
                                     db_.roles.Find(txn, id));
                    ASSIGN_OR_RETURN(v1::ContactRole r,
                                     pipeline::RemoveContactRole(
                                         stored ? &*stored : nullptr, *req));
                    RETURN_IF_ERROR(
                        db_.roles.Update(txn, id, req->expected_version(), &r));
                    *resp = std::move(r);
                    return absl::OkStatus();
                  })
          .status();
  return ToGrpc(s);
}

grpc::Status PipelineServiceImpl::ListContactRoles(
    Ctx* ctx, const v1::ListContactRolesRequest* req,
    v1::ListContactRolesResponse* resp) {
  absl::StatusOr<v1::Opportunity> o =
      ReadForAnyone(ctx, req->opportunity_id(), "opportunity_id");
  if (!o.ok()) {
    return ToGrpc(o.status());
  }
  resp->set_feed_sequence(db_.store->last_sequence());
  absl::StatusOr<std::vector<v1::ContactRole>> roles =
      LoadAll(*db_.store, db_.roles_by_opportunity, db_.roles, o->id());
  if (!roles.ok()) {
    return ToGrpc(roles.status());
  }
  std::sort(roles->begin(), roles->end(),
            [](const v1::ContactRole& a, const v1::ContactRole& b) {
              return a.contact_id() < b.contact_id();
            });
  for (v1::ContactRole& r : *roles) {
    if (!r.removed() || req->include_removed()) {
      *resp->add_roles() = std::move(r);
    }
  }
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------
// Activities and follow-ups

grpc::Status PipelineServiceImpl::RecordActivity(
    Ctx* ctx, const v1::RecordActivityRequest* req, v1::Activity* resp) {
  return ToGrpc(DoRecordActivity(ctx, req, resp));
}

absl::Status PipelineServiceImpl::DoRecordActivity(
    Ctx* ctx, const v1::RecordActivityRequest* req, v1::Activity* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kWriters));
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
  absl::StatusOr<v1::Opportunity> o =
      ReadForAnyone(ctx, req->opportunity_id(), "opportunity_id");
  if (!o.ok()) {
    return ToGrpc(o.status());
  }
  absl::StatusOr<Page> page = ReadPage(req->page());
  if (!page.ok()) {
    return ToGrpc(page.status());
  }
  resp->mutable_page()->set_feed_sequence(db_.store->last_sequence());
  std::string next;
  absl::Status s = FillPageFromIndex<v1::Activity>(
      *db_.store, db_.activities_by_opportunity, o->id(), db_.activities, *page,
      [](const v1::Activity&) { return true; }, resp->mutable_activities(),
      &next);
  resp->mutable_page()->set_next_page_token(next);
  return ToGrpc(s);
}

grpc::Status PipelineServiceImpl::ListFollowUps(
    Ctx* ctx, const v1::ListFollowUpsRequest* req,
    v1::ListFollowUpsResponse* resp) {
  absl::StatusOr<v1::Opportunity> o =
      ReadForAnyone(ctx, req->opportunity_id(), "opportunity_id");
  if (!o.ok()) {
    return ToGrpc(o.status());
  }
  resp->set_feed_sequence(db_.store->last_sequence());
  absl::StatusOr<std::vector<v1::FollowUp>> fups = LoadAll(
      *db_.store, db_.follow_ups_by_opportunity, db_.follow_ups, o->id());
  if (!fups.ok()) {
    return ToGrpc(fups.status());
  }
  for (v1::FollowUp& f : *fups) {
    *resp->add_follow_ups() = std::move(f);
  }
  return grpc::Status::OK;
}

grpc::Status PipelineServiceImpl::ListOverdueFollowUps(
    Ctx* ctx, const v1::ListOverdueFollowUpsRequest* req,
    v1::ListOverdueFollowUpsResponse* resp) {
  return ToGrpc(DoListOverdueFollowUps(ctx, req, resp));
}

absl::Status PipelineServiceImpl::DoListOverdueFollowUps(
    Ctx* ctx, const v1::ListOverdueFollowUpsRequest* req,
    v1::ListOverdueFollowUpsResponse* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kAnyone));
  if (req->as_of_micros() < 0) {
    return absl::InvalidArgumentError("as_of_micros: must be >= 0");
  }
  ASSIGN_OR_RETURN(Page page, ReadPage(req->page()));
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
    if (!CanSee(who, f.owner_node_id())) {
      return false;
    }
    return owners.empty() ||
           std::any_of(owners.begin(), owners.end(), [&](const std::string& n) {
             return f.owner_node_id() == n ||
                    org_->IsWithin(f.owner_node_id(), n);
           });
  };
  resp->mutable_page()->set_feed_sequence(db_.store->last_sequence());
  std::string next;
  RETURN_IF_ERROR(FillPage<v1::FollowUp>(db_.follow_ups, page, keep,
                                         resp->mutable_follow_ups(), &next));
  resp->mutable_page()->set_next_page_token(next);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Deal health and weekly reviews

grpc::Status PipelineServiceImpl::GetDealHealth(
    Ctx* ctx, const v1::GetDealHealthRequest* req,
    v1::GetDealHealthResponse* resp) {
  return ToGrpc(DoGetDealHealth(ctx, req, resp));
}

absl::Status PipelineServiceImpl::DoGetDealHealth(
    Ctx* ctx, const v1::GetDealHealthRequest* req,
    v1::GetDealHealthResponse* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kAnyone));
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
  return ToGrpc(DoRecordWeeklyReview(ctx, req, resp));
}

absl::Status PipelineServiceImpl::DoRecordWeeklyReview(
    Ctx* ctx, const v1::RecordWeeklyReviewRequest* req,
    v1::WeeklyReview* resp) {
  ASSIGN_OR_RETURN(Principal who, auth_->Authorize(*ctx, kWriters));
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
  absl::StatusOr<v1::Opportunity> o =
      ReadForAnyone(ctx, req->opportunity_id(), "opportunity_id");
  if (!o.ok()) {
    return ToGrpc(o.status());
  }
  resp->set_feed_sequence(db_.store->last_sequence());
  absl::StatusOr<std::vector<v1::WeeklyReview>> reviews =
      LoadAll(*db_.store, db_.reviews_by_opportunity, db_.reviews, o->id());
  if (!reviews.ok()) {
    return ToGrpc(reviews.status());
  }
  // Ids embed the week as YYYY-MM-DD, so index order is week order.
  for (v1::WeeklyReview& r : *reviews) {
    *resp->add_reviews() = std::move(r);
  }
  return grpc::Status::OK;
}

}  // namespace salesops::pipeline
