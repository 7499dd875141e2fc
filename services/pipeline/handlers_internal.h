#pragma once

// Shared by the handler files of PipelineServiceImpl only.

#include <cstdint>
#include <initializer_list>

#include "absl/time/time.h"
#include "common/server/auth.h"

namespace salesops::pipeline {

inline constexpr std::initializer_list<Role> kWriters = {
    Role::kAdmin, Role::kManager, Role::kRep};
inline constexpr std::initializer_list<Role> kAnyone = {
    Role::kAdmin, Role::kManager, Role::kRep, Role::kFinance, Role::kService};

inline int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

}  // namespace salesops::pipeline
