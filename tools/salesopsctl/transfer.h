#pragma once

// What salesopsctl's import (import_commands.cc) and export
// (transfer_commands.cc) share: the CSV schema of each entity kind, the
// parsing of a cell into a field, the request_id hashing, the bounds. The
// file format is described at the top of transfer_commands.cc.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "tools/salesopsctl/cli.h"

namespace salesops::ctl::transfer {

// Bounds: the file read into memory, the rows of one import, the threads,
// the pages of one listing (1000 entities each), the attempts of one create.
inline constexpr int64_t kMaxFileBytes = int64_t{1} << 30;
inline constexpr int64_t kMaxRows = 1'000'000;
inline constexpr int kDefaultConcurrency = 8;
inline constexpr int kMaxConcurrency = 64;
inline constexpr int kMaxExportPages = 100'000;
inline constexpr int kMaxAttempts = 4;

enum class Kind { kAccounts, kContacts, kOpportunities };

enum class Special {
  kNone,
  kIgnored,     // `id`: exported, ignored on import
  kNames,       // opportunity competitors: names joined by ';'
  kContactRef,  // contact reports_to: an id or an in-file external_id
};

struct Column {
  std::string name;  // header name
  std::string path;  // field path in the entity ("next_step.due")
  bool required = false;
  Special special = Special::kNone;
  // Immutable once created: with --update it is sent (the server accepts
  // the stored value) but never named in the update_mask.
  bool fixed = false;
};

struct Schema {
  Kind kind;
  std::string plural;    // "opportunities"
  std::string singular;  // "opportunity"
  const google::protobuf::Message* prototype;
  std::vector<Column> columns;
};

// The schema of `kind`.
const Schema& SchemaOf(Kind kind);
// "name*, industry, ..." for help texts.
std::string ColumnList(const Schema& s);
std::string Trim(absl::string_view s);
// Sets field `path` of `m` from the trimmed, non-empty `text`; "" or why not
// (naming `column`).
std::string SetField(google::protobuf::Message* m, const std::string& path,
                     const std::string& column, const std::string& text,
                     const std::string& currency);
// 64-bit FNV-1a of `data` continuing from `h`.
uint64_t Fnv1a(const std::string& data, uint64_t h = 14695981039346656037ull);
// `m`'s deterministic serialization.
std::string DeterministicBytes(const google::protobuf::Message& m);

// `salesopsctl import <kind>` (import_commands.cc).
absl::Status RunImport(const Schema& s, const Args& a, Env& env);

}  // namespace salesops::ctl::transfer
