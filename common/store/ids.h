#pragma once

// Server-generated ids: "<prefix>_<26 chars>", the body a ULID (48-bit Unix
// milliseconds and 80 random bits, Crockford base32), so ids sort by creation
// time and keys keyed by id stay time-ordered. Within one process ids are
// strictly increasing even inside one millisecond.

#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace salesops {

// e.g. NewId("acc", clock->Now()) → "acc_01JDZ3X2V5R8K1M0N6P4Q2S7T9"
std::string NewId(std::string_view prefix, absl::Time now);

}  // namespace salesops
