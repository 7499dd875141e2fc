#pragma once

// The pipeline service's tables and indexes in its own RocksDB (ARCHITECTURE.md
// §3). Column families: "entities" (one tag per table), "index" (secondary
// indexes, written in the same transaction as their entity) and "mirror" (the
// copy of the accounts service's org nodes this service follows; never on
// this service's feed).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/status/status.h"
#include "common/store/store.h"
#include "common/store/table.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops::pipeline {

enum class Cf { kEntities = 0, kIndex = 1, kMirror = 2 };
const std::vector<std::string>& ColumnFamilies();

// Feed event kinds.
inline constexpr char kStageModelKind[] = "pipeline.StageModel";
inline constexpr char kOpportunityKind[] = "pipeline.Opportunity";
inline constexpr char kChangeKind[] = "pipeline.OpportunityChange";
inline constexpr char kContactRoleKind[] = "pipeline.ContactRole";
inline constexpr char kActivityKind[] = "pipeline.Activity";
inline constexpr char kFollowUpKind[] = "pipeline.FollowUp";
inline constexpr char kWeeklyReviewKind[] = "pipeline.WeeklyReview";

struct PipelineStore {
  explicit PipelineStore(Store* store);

  Store* store;
  Table<v1::StageModel> models;
  Table<v1::Opportunity> opportunities;
  Table<v1::OpportunityChange> changes;  // id = ChangeId(opp, seq)
  Table<v1::ContactRole> roles;          // id = RoleId(opp, contact)
  Table<v1::Activity> activities;
  Table<v1::FollowUp> follow_ups;
  Table<v1::WeeklyReview> reviews;  // id = ReviewId(opp, week)

  UniqueIndex opportunity_by_external_id;
  MultiIndex opportunities_by_owner;
  MultiIndex opportunities_by_account;
  MultiIndex changes_by_opportunity;
  MultiIndex roles_by_opportunity;
  MultiIndex activities_by_opportunity;
  MultiIndex follow_ups_by_opportunity;
  MultiIndex reviews_by_opportunity;

  // Up to `limit` history entries of every opportunity, by (opportunity id,
  // seq), after `after` ("" = from the first; else a `*last` of an earlier
  // call); `*last` is the position of the last one returned and `*more`
  // tells whether others follow. INVALID_ARGUMENT for an `after` that is no
  // such position.
  [[nodiscard]] absl::Status ListAllChanges(
      const std::string& after, size_t limit,
      std::vector<v1::OpportunityChange>* out, std::string* last,
      bool* more) const;

  // ---- Writes shared by the handlers (inside `txn`) ----

  // Stores an opportunity's new history entries with their index entries.
  [[nodiscard]] absl::Status AppendHistory(
      WriteTxn& txn, std::vector<v1::OpportunityChange> entries) const;
  // The same for the history of an opportunity created in `txn` (its id is
  // new, so are its entries' ids): no existence checks (D54).
  void AppendNewHistory(WriteTxn& txn,
                        std::vector<v1::OpportunityChange> entries) const;
  // Cancels the planned follow-ups of a closing opportunity.
  [[nodiscard]] absl::Status CancelFollowUps(
      WriteTxn& txn, const std::string& opportunity_id) const;
  // Gives the planned follow-ups of an opportunity its new owner.
  [[nodiscard]] absl::Status ReassignFollowUps(
      WriteTxn& txn, const std::string& opportunity_id,
      const std::string& owner_node_id) const;
  // Stores a new PLANNED follow-up `f` of `opp` (id, owner, state, created).
  [[nodiscard]] absl::Status InsertFollowUp(WriteTxn& txn,
                                            const v1::Opportunity& opp,
                                            v1::FollowUp f) const;

  static std::string ChangeId(std::string_view opportunity_id, int64_t seq);
  static std::string RoleId(std::string_view opportunity_id,
                            std::string_view contact_id);
  // week: "YYYY-MM-DD" of the Monday.
  static std::string ReviewId(std::string_view opportunity_id,
                              std::string_view week);
};

// Every entity of `table` that `index` lists under `value` (at most
// MultiIndex::kDefaultAllIdsLimit, else FAILED_PRECONDITION), committed
// (Source = const Store) or as `txn` sees them (Source = WriteTxn).
template <typename Msg, typename Source>
absl::StatusOr<std::vector<Msg>> LoadAll(Source& source,
                                         const MultiIndex& index,
                                         const Table<Msg>& table,
                                         const std::string& value) {
  ASSIGN_OR_RETURN(std::vector<std::string> ids, index.AllIds(source, value));
  std::vector<Msg> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    std::optional<Msg> m;
    if constexpr (std::is_same_v<Source, WriteTxn>) {
      ASSIGN_OR_RETURN(m, table.Find(source, id));
    } else {
      ASSIGN_OR_RETURN(m, table.Find(id));
    }
    if (m) {
      out.push_back(std::move(*m));
    }
  }
  return out;
}

}  // namespace salesops::pipeline
