#pragma once

// Stage models (SPEC.md §3.1): the two built-in models, validation of a model,
// and what an edit may change. Pure logic: no gRPC, no RocksDB.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/fieldmask/field_mask.h"
#include "salesops/v1/pipeline.pb.h"

namespace salesops::pipeline {

inline constexpr char kBuyingCycle6[] = "buying-cycle-6";
inline constexpr char kProjectSales8[] = "project-sales-8";
// Days in a stage before STALLED when neither stage nor model says.
inline constexpr int32_t kDefaultStallLimitDays = 45;

// The built-in models exactly as SPEC §3.1 tables them: keys, names, win rates,
// one required exit criterion per stage in buying-cycle-6 (its end marker;
// project-sales-8 one required criterion per listed item), buying steps,
// letters, lead roles and flags; no out-of-funnel threshold; the default
// cadence; built_in = true; version 0 and no times (the store sets them).
std::vector<v1::StageModel> BuiltInModels();
// True for "buying-cycle-6" and "project-sales-8".
bool IsBuiltInId(std::string_view id);

// The default follow-up cadence (SPEC §3.7): "first_call" (CALL) within 24 h of
// creation; "send_materials" (EMAIL) 3–5 days after the first call;
// "second_call" (CALL) 7–10 days after the materials.
v1::FollowUpCadence DefaultCadence();

// Appends one "model.<path>: <rule>" entry per violated rule of `model`
// (name required and ≤ 200 chars; ≥ 1 stage, at most 50; stage keys
// [A-Z0-9_]{1,64} and unique; stage names required; win_rate_bp 0..10000;
// criterion keys [a-z0-9_]{1,64} unique within a stage, texts required; enum
// values known; at most one closes_won stage and only the last; stall limits
// 0..3650; threshold in `currency` and ≥ 0 when set; cadence step keys
// [a-z0-9_]{1,64} unique, texts required, kind set, 0 ≤ min_hours ≤ max_hours,
// 1 ≤ max_hours ≤ 8760). Output-only fields are ignored.
void ValidateModel(const v1::StageModel& model, std::string_view currency,
                   std::vector<std::string>* violations);

// FAILED_PRECONDITION unless `updated` has the same stage keys in the same
// order as `current` (opportunities refer to them); the message names the
// first difference.
[[nodiscard]] absl::Status CheckSameStageKeys(const v1::StageModel& current,
                                              const v1::StageModel& updated);

// The update_mask rules of a stage model (field_mask.h): name, stages,
// out_of_funnel_threshold, cadence and stall_limit_days are writable (the
// stage keys and their order stay fixed: CheckSameStageKeys); id, built_in,
// win_rate_history, times and version are output only.
const fieldmask::EntityRules& StageModelUpdateRules();

// `current` with the fields req.update_mask names (or implies) taken from
// req.model, name trimmed: INVALID_ARGUMENT for the mask's bad paths and
// every ValidateModel rule the merged model breaks; then CheckSameStageKeys.
[[nodiscard]] absl::StatusOr<v1::StageModel> MergeModelUpdate(
    const v1::StageModel& current, const v1::UpdateStageModelRequest& req,
    std::string_view currency);

// One WinRateChange per stage whose win_rate_bp differs between `current` and
// `updated` (keys equal, in stage order).
std::vector<v1::WinRateChange> WinRateChanges(const v1::StageModel& current,
                                              const v1::StageModel& updated,
                                              int64_t effective_micros,
                                              std::string_view changed_by,
                                              int64_t new_version);

// Position of `key` in the model's stages; -1 when absent.
int StageIndex(const v1::StageModel& model, std::string_view key);

// Days an opportunity may sit in stage `stage_index` before STALLED: the
// stage's limit, else the model's, else kDefaultStallLimitDays.
int32_t StallLimitDays(const v1::StageModel& model, int stage_index);

}  // namespace salesops::pipeline
