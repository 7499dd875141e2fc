#pragma once

// Printing protobuf results in the three --output formats:
//   table: aligned columns with a header row (human reading);
//   json:  one JSON document — the message, or an array of them — in the
//          proto3 JSON mapping (integrators and jq);
//   csv:   RFC 4180, a header row and one row per message (spreadsheets).
// Columns are field paths ("amount", "node.forecast", "stage_key"); a Money
// prints as its decimal amount ("3648000.00"), a Date as YYYY-MM-DD, an enum
// as its name without the type prefix (OPPORTUNITY_STATUS_OPEN → OPEN), a
// repeated field as its values joined by ";".

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "tools/salesopsctl/cli.h"

namespace salesops::ctl {

// The text of field `path` of `m` ("" when unset).
std::string FieldText(const google::protobuf::Message& m,
                      const std::string& path);

// Prints a list of messages (json: an array).
void PrintList(Env& env,
               const std::vector<const google::protobuf::Message*>& rows,
               const std::vector<std::string>& columns);
// Prints one message (json: the object; table: one row).
void PrintOne(Env& env, const google::protobuf::Message& m,
              const std::vector<std::string>& columns);
// Prints a table/CSV of already formatted cells (json: an array of objects
// keyed by the header).
void PrintCells(Env& env, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

// One CSV field, quoted when it holds a comma, quote, CR or LF.
std::string CsvField(const std::string& text);

}  // namespace salesops::ctl
