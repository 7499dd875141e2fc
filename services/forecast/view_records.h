#pragma once

// Internal to the forecast's read model (forecast_view*.cc): where each
// followed entity's record lives in Cf::kView and the conversions shared by
// loading, applying feed events and replacing a feed's copy (resync).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/status/status.h"
#include "common/store/key.h"
#include "common/store/store.h"
#include "salesops/forecast/view.pb.h"
#include "salesops/v1/pipeline.pb.h"
#include "services/forecast/forecast_view.h"
#include "services/forecast/rollup.h"

namespace salesops::forecast::records {

inline constexpr CfRef kView(Cf::kView);

// Tags inside Cf::kView. Never reuse a number.
inline constexpr uint8_t kNodeTag = 1;
inline constexpr uint8_t kQuotaTag = 2;
inline constexpr uint8_t kModelTag = 3;
inline constexpr uint8_t kOppTag = 4;
// Copies of OPEN opportunities' records by (model, stage, id): what a win-rate
// change re-weights.
inline constexpr uint8_t kOpenByStageTag = 5;
// History entries by (opportunity id, seq), for the analytics.
inline constexpr uint8_t kChangeTag = 6;
// Collections (credit feed) by opportunity id.
inline constexpr uint8_t kCollectionTag = 7;

inline std::string Prefix(uint8_t tag) { return KeyBuilder(tag).key(); }
inline std::string NodeKey(std::string_view id) {
  return KeyBuilder(kNodeTag).Str(id).key();
}
inline std::string QuotaKey(std::string_view node, QuarterKey q) {
  return KeyBuilder(kQuotaTag).Str(node).I64(q).key();
}
inline std::string ModelKey(std::string_view id) {
  return KeyBuilder(kModelTag).Str(id).key();
}
inline std::string OppKey(std::string_view id) {
  return KeyBuilder(kOppTag).Str(id).key();
}
inline std::string CollectionKey(std::string_view opp) {
  return KeyBuilder(kCollectionTag).Str(opp).key();
}
inline std::string ChangeKey(std::string_view opp, int64_t seq) {
  return KeyBuilder(kChangeTag).Str(opp).I64(seq).key();
}
inline std::string OpenPrefix(std::string_view model, std::string_view stage) {
  return KeyBuilder(kOpenByStageTag).Str(model).Str(stage).key();
}
inline std::string OpenKey(std::string_view model, std::string_view stage,
                           std::string_view id) {
  return KeyBuilder(kOpenByStageTag).Str(model).Str(stage).Str(id).key();
}

// The id of a key made by NodeKey/ModelKey/OppKey/CollectionKey.
[[nodiscard]] absl::StatusOr<std::string> IdOf(std::string_view key);
// The node and quarter of a QuotaKey.
[[nodiscard]] absl::Status QuotaOf(std::string_view key, std::string* node,
                                   QuarterKey* quarter);

template <typename Msg>
absl::StatusOr<std::optional<Msg>> ReadRecord(WriteTxn& txn,
                                              const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<std::string> raw, txn.Get(kView, key));
  if (!raw) {
    return std::nullopt;
  }
  Msg m;
  if (!m.ParseFromString(*raw)) {
    return absl::DataLossError("forecast view: corrupt record");
  }
  return m;
}

// An owner the accounts feed has not delivered yet (the pipeline feed is
// ahead) hangs as a provisional root until its own event places it.
inline absl::Status EnsureNode(Rollup& rollup, const std::string& id) {
  return rollup.HasNode(id) ? absl::OkStatus() : rollup.SetNode(id, "");
}

// True when both records serialize to the same bytes (a replacement then
// rewrites nothing).
inline bool SameBytes(const google::protobuf::Message& a,
                      const google::protobuf::Message& b) {
  return a.SerializeAsString() == b.SerializeAsString();
}

OppFacts FactsOf(const OppRecord& r);
std::vector<std::pair<std::string, int32_t>> StagesOf(const ModelRecord& m);
NodeRecord RecordOf(const v1::OrgNode& node);
ModelRecord RecordOf(const v1::StageModel& model);
ChangeRecord RecordOf(const v1::OpportunityChange& change);

// The open opportunities' facts of one stage as `txn` sees them (the copies
// under OpenPrefix).
[[nodiscard]] absl::Status OpenInStage(WriteTxn& txn, std::string_view model,
                                       std::string_view stage,
                                       std::vector<OppFacts>* out);

}  // namespace salesops::forecast::records
