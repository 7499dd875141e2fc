#include "services/pipeline/pipeline_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/status.h"
#include "common/store/ids.h"
#include "common/store/key.h"
#include "common/time/clock.h"

namespace salesops::pipeline {
namespace {

// Tags inside Cf::kEntities. Never reuse a number.
constexpr uint8_t kModelTag = 1;
constexpr uint8_t kOpportunityTag = 2;
constexpr uint8_t kChangeTag = 3;
constexpr uint8_t kRoleTag = 4;
constexpr uint8_t kActivityTag = 5;
constexpr uint8_t kFollowUpTag = 6;
constexpr uint8_t kReviewTag = 7;
// Tags inside Cf::kIndex. Never reuse a number.
constexpr uint8_t kOppByExternalId = 1;
constexpr uint8_t kOppsByOwner = 2;
constexpr uint8_t kOppsByAccount = 3;
constexpr uint8_t kChangesByOpp = 4;
constexpr uint8_t kRolesByOpp = 5;
constexpr uint8_t kActivitiesByOpp = 6;
constexpr uint8_t kFollowUpsByOpp = 7;
// 8 was reserved for planned follow-ups by owner; never stored.
constexpr uint8_t kReviewsByOpp = 9;

}  // namespace

const std::vector<std::string>& ColumnFamilies() {
  static const auto* names =
      new std::vector<std::string>{"entities", "index", "mirror"};
  return *names;
}

PipelineStore::PipelineStore(Store* s)
    : store(s),
      models(s, Cf::kEntities, kModelTag, kStageModelKind, "stage model"),
      opportunities(s, Cf::kEntities, kOpportunityTag, kOpportunityKind,
                    "opportunity"),
      changes(s, Cf::kEntities, kChangeTag, kChangeKind, "history entry"),
      roles(s, Cf::kEntities, kRoleTag, kContactRoleKind, "contact role"),
      activities(s, Cf::kEntities, kActivityTag, kActivityKind, "activity"),
      follow_ups(s, Cf::kEntities, kFollowUpTag, kFollowUpKind, "follow-up"),
      reviews(s, Cf::kEntities, kReviewTag, kWeeklyReviewKind, "weekly review"),
      opportunity_by_external_id(Cf::kIndex, kOppByExternalId, "opportunity"),
      opportunities_by_owner(Cf::kIndex, kOppsByOwner),
      opportunities_by_account(Cf::kIndex, kOppsByAccount),
      changes_by_opportunity(Cf::kIndex, kChangesByOpp),
      roles_by_opportunity(Cf::kIndex, kRolesByOpp),
      activities_by_opportunity(Cf::kIndex, kActivitiesByOpp),
      follow_ups_by_opportunity(Cf::kIndex, kFollowUpsByOpp),
      reviews_by_opportunity(Cf::kIndex, kReviewsByOpp) {}

absl::Status PipelineStore::ListAllChanges(
    const std::string& after, size_t limit,
    std::vector<v1::OpportunityChange>* out, std::string* last,
    bool* more) const {
  // The index by opportunity holds (opportunity id, change id) in that
  // order, and change ids sort by seq within an opportunity (ChangeId).
  const std::string prefix = KeyBuilder(kChangesByOpp).key();
  if (!after.empty() && after.compare(0, prefix.size(), prefix) != 0) {
    return absl::InvalidArgumentError("page_token: not a history position");
  }
  const std::string start = after.empty() ? prefix : after;
  std::vector<std::pair<std::string, std::string>> ids;  // position, id
  *more = false;
  absl::Status decode;
  RETURN_IF_ERROR(store->Scan(
      Cf::kIndex, start, PrefixSuccessor(prefix),
      [&](std::string_view key, std::string_view) {
        if (!after.empty() && key == after) {
          return true;
        }
        if (ids.size() >= limit) {
          *more = true;
          return false;
        }
        KeyReader reader(key);
        uint8_t tag = 0;
        std::string opportunity, id;
        if (!reader.Tag(&tag) || !reader.Str(&opportunity) ||
            !reader.Str(&id)) {
          decode = absl::DataLossError("store: corrupt history index");
          return false;
        }
        ids.emplace_back(std::string(key), std::move(id));
        return true;
      }));
  RETURN_IF_ERROR(decode);
  for (auto& [position, id] : ids) {
    ASSIGN_OR_RETURN(std::optional<v1::OpportunityChange> c, changes.Find(id));
    if (c) {  // written with its index entry; absent only if damaged
      out->push_back(std::move(*c));
    }
    *last = std::move(position);
  }
  return absl::OkStatus();
}

absl::Status PipelineStore::AppendHistory(
    WriteTxn& txn, std::vector<v1::OpportunityChange> entries) const {
  for (v1::OpportunityChange& c : entries) {
    const std::string id = ChangeId(c.opportunity_id(), c.seq());
    RETURN_IF_ERROR(changes.Insert(txn, id, &c));
    changes_by_opportunity.Put(txn, c.opportunity_id(), id);
  }
  return absl::OkStatus();
}

void PipelineStore::AppendNewHistory(
    WriteTxn& txn, std::vector<v1::OpportunityChange> entries) const {
  for (v1::OpportunityChange& c : entries) {
    const std::string id = ChangeId(c.opportunity_id(), c.seq());
    changes.InsertNew(txn, id, &c);
    changes_by_opportunity.Put(txn, c.opportunity_id(), id);
  }
}

absl::Status PipelineStore::CancelFollowUps(
    WriteTxn& txn, const std::string& opportunity_id) const {
  ASSIGN_OR_RETURN(
      std::vector<v1::FollowUp> fups,
      LoadAll(txn, follow_ups_by_opportunity, follow_ups, opportunity_id));
  for (v1::FollowUp& f : fups) {
    if (f.state() != v1::FOLLOW_UP_STATE_PLANNED) {
      continue;
    }
    f.set_state(v1::FOLLOW_UP_STATE_CANCELLED);
    f.set_completed_micros(Micros(txn.now()));
    RETURN_IF_ERROR(follow_ups.Update(txn, f.id(), 0, &f));
  }
  return absl::OkStatus();
}

absl::Status PipelineStore::ReassignFollowUps(
    WriteTxn& txn, const std::string& opportunity_id,
    const std::string& owner_node_id) const {
  ASSIGN_OR_RETURN(
      std::vector<v1::FollowUp> fups,
      LoadAll(txn, follow_ups_by_opportunity, follow_ups, opportunity_id));
  for (v1::FollowUp& f : fups) {
    if (f.state() == v1::FOLLOW_UP_STATE_PLANNED) {
      f.set_owner_node_id(owner_node_id);
      RETURN_IF_ERROR(follow_ups.Update(txn, f.id(), 0, &f));
    }
  }
  return absl::OkStatus();
}

absl::Status PipelineStore::InsertFollowUp(WriteTxn& txn,
                                           const v1::Opportunity& opp,
                                           v1::FollowUp f) const {
  f.set_id(NewId("fup", txn.now()));
  f.set_opportunity_id(opp.id());
  f.set_owner_node_id(opp.owner_node_id());
  f.set_state(v1::FOLLOW_UP_STATE_PLANNED);
  f.set_created_micros(Micros(txn.now()));
  follow_ups.InsertNew(txn, f.id(), &f);  // a NewId: no existence check
  follow_ups_by_opportunity.Put(txn, opp.id(), f.id());
  return absl::OkStatus();
}

std::string PipelineStore::ChangeId(std::string_view opportunity_id,
                                    int64_t seq) {
  return absl::StrFormat("%s/%010d", std::string(opportunity_id), seq);
}

std::string PipelineStore::RoleId(std::string_view opportunity_id,
                                  std::string_view contact_id) {
  return absl::StrCat(std::string(opportunity_id), "/",
                      std::string(contact_id));
}

std::string PipelineStore::ReviewId(std::string_view opportunity_id,
                                    std::string_view week) {
  return absl::StrCat(std::string(opportunity_id), "/", std::string(week));
}

}  // namespace salesops::pipeline
