// salesopsctl import / export: accounts, contacts and opportunities in and
// out of CSV files (SPEC.md §0: integrators bulk-import accounts and
// opportunities).
//
//   salesopsctl import accounts|contacts|opportunities --file=F|-
//       [--concurrency=N] [--report=FILE]
//   salesopsctl export accounts|contacts|opportunities [--file=F]
//       [--account=ACCOUNT]
//
// The file: RFC 4180 CSV (csv.h), UTF-8, a header row naming the columns in
// any order, then one row per entity. Column names are matched without case
// and surrounding spaces; an unknown or repeated column, or a required one
// missing from the header, refuses the whole file (nothing is imported).
// Every value is trimmed; an empty value leaves the field unset. Money is in
// major units of the instance currency (--currency, default EUR) without
// separators ("12500.00", "12500"); dates are YYYY-MM-DD; enums are their
// short names, case-insensitive ("trade_show", "TRADE_SHOW"); booleans
// true/false (yes/no, 1/0). The columns (* = required in the header and
// non-empty in every row):
//
//   accounts:      id, external_id, name*, industry, size_band
//                  (SMALL|MEDIUM|LARGE|ENTERPRISE), ownership_type
//                  (STATE_OWNED|PRIVATE|JOINT_VENTURE|LISTED|FOREIGN|OTHER),
//                  region, address, website, source_channel
//                  (ADVERTISING|TRADE_SHOW|REFERRAL|INBOUND|OUTBOUND|PARTNER),
//                  owner_node_id, tier (PLATINUM|GOLD|SILVER|STANDARD),
//                  purchase_potential (HIGH|LOW), share_of_wallet (HIGH|LOW),
//                  relationship_stage
//                  (NURTURING|INITIAL|MIDDLE|HIGH|STRATEGIC)
//   contacts:      id, external_id, account_id*, name*, title, department,
//                  function (PURCHASING|FINANCE|TECHNICAL|PRODUCTION|QUALITY|
//                  EXECUTIVE|SALES|OTHER), level
//                  (OPERATIONAL|MANAGEMENT|DECISION), reports_to,
//                  personal_style
//                  (ANALYTICAL|ORGANIZED|INTERPERSONAL|IMAGINATIVE),
//                  relationship_depth (ACQUAINTED|ENGAGED|TRUSTED|ALLIED),
//                  status (ACTIVE|LEFT), email, phone, birthday,
//                  work_anniversary, notes
//   opportunities: id, external_id, account_id*, owner_node_id* (a REP node),
//                  name*, amount* (> 0), expected_close_date*,
//                  stage_model_id (default buying-cycle-6), stage_key
//                  (default the model's first stage), source_channel,
//                  competitors (names separated by ';'), competitors_unknown,
//                  next_step, next_step_due
//
// `id` is written by export and ignored by import (the server assigns ids).
// With --update the rows change existing records instead: `id` is required
// and names the record, and each row is an Update call whose update_mask
// (AIP-134, docs/API.md §3b) is the header's columns but id and the
// immutable ones (account_id, stage_model_id, stage_key: sent, accepted
// when equal to the stored value): only those fields change, and an empty
// cell clears its field. Updates carry no request id; they are idempotent.
// A contact's `reports_to` is a contact id ("con_…"), or the external_id of
// another row of the same file: that row is created first (rows are sent in
// waves, managers before their reports).
//
// Import validates every row before sending anything: the field count, each
// value (the reason names the column), and duplicates inside the file (the
// same row twice, an external_id twice, an account name twice — the later
// line is rejected, so the outcome does not depend on timing). The valid rows
// are then created concurrently (--concurrency threads, default 8, each with
// its own calls), each with request_id "csv-" + the 64-bit FNV-1a (hex) of the
// kind and the row's request as parsed: importing the same file again returns
// the first results instead of creating duplicates (ARCHITECTURE §3). Rows the
// server refuses (INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND,
// ALREADY_EXISTS, PERMISSION_DENIED, OUT_OF_RANGE) are rejected with its code
// and message; UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED and ABORTED
// are retried (4 attempts; safe with the request id); any other failure stops
// the import (exit 1) — rerunning the same file finishes it without
// duplicates.
//
// Output: "imported I, rejected R, of N rows" and then the rejected rows
// (line, external_id, reason; line = the physical line where the row starts)
// as a table on stdout; with --output=csv or json stdout holds only the
// rejected rows in that format and the summary goes to stderr, so the output
// stays machine-readable. --report=FILE also writes the rejected rows as CSV.
// Exit 0 when every row was imported; 4 when the import ran but rejected rows
// (a script can tell); 1 when the file cannot be read, its header is wrong, or
// a quoted field is not closed; 3 when it stopped on a retryable error.
//
// Export writes the same columns (an export can be imported again), paging
// through the List RPCs: every account, every opportunity (or those of
// --account), every contact of every account (or of --account). A contact's
// reports_to is written as the manager's external_id when the manager has one,
// otherwise as the manager's id.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "common/money/money.h"
#include "common/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message.h"
#include "tools/salesopsctl/cli.h"
#include "tools/salesopsctl/csv.h"
#include "tools/salesopsctl/flags.h"
#include "tools/salesopsctl/output.h"

namespace salesops::ctl {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Bounds: the file read into memory, the rows of one import, the threads,
// the pages of one listing (1000 entities each), the attempts of one create.
constexpr int64_t kMaxFileBytes = int64_t{1} << 30;
constexpr int64_t kMaxRows = 1'000'000;
constexpr int kDefaultConcurrency = 8;
constexpr int kMaxConcurrency = 64;
constexpr int kMaxExportPages = 100'000;
constexpr int kMaxAttempts = 4;

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
  const Message* prototype;
  std::vector<Column> columns;
};

const Schema& SchemaOf(Kind kind) {
  static const Schema* const kAccountsSchema =
      new Schema{Kind::kAccounts,
                 "accounts",
                 "account",
                 &v1::Account::default_instance(),
                 {{"id", "id", false, Special::kIgnored},
                  {"external_id", "external_id"},
                  {"name", "name", true},
                  {"industry", "industry"},
                  {"size_band", "size_band"},
                  {"ownership_type", "ownership_type"},
                  {"region", "region"},
                  {"address", "address"},
                  {"website", "website"},
                  {"source_channel", "source_channel"},
                  {"owner_node_id", "owner_node_id"},
                  {"tier", "tier"},
                  {"purchase_potential", "purchase_potential"},
                  {"share_of_wallet", "share_of_wallet"},
                  {"relationship_stage", "relationship_stage"}}};
  static const Schema* const kContactsSchema =
      new Schema{Kind::kContacts,
                 "contacts",
                 "contact",
                 &v1::Contact::default_instance(),
                 {{"id", "id", false, Special::kIgnored},
                  {"external_id", "external_id"},
                  {"account_id", "account_id", true, Special::kNone, true},
                  {"name", "name", true},
                  {"title", "title"},
                  {"department", "department"},
                  {"function", "function"},
                  {"level", "level"},
                  {"reports_to", "reports_to_id", false, Special::kContactRef},
                  {"personal_style", "personal_style"},
                  {"relationship_depth", "relationship_depth"},
                  {"status", "status"},
                  {"email", "email"},
                  {"phone", "phone"},
                  {"birthday", "birthday"},
                  {"work_anniversary", "work_anniversary"},
                  {"notes", "notes"}}};
  static const Schema* const kOpportunitiesSchema = new Schema{
      Kind::kOpportunities,
      "opportunities",
      "opportunity",
      &v1::Opportunity::default_instance(),
      {{"id", "id", false, Special::kIgnored},
       {"external_id", "external_id"},
       {"account_id", "account_id", true, Special::kNone, true},
       {"owner_node_id", "owner_node_id", true},
       {"name", "name", true},
       {"amount", "amount", true},
       {"expected_close_date", "expected_close_date", true},
       {"stage_model_id", "stage_model_id", false, Special::kNone, true},
       {"stage_key", "stage_key", false, Special::kNone, true},
       {"source_channel", "source_channel"},
       {"competitors", "competitors", false, Special::kNames},
       {"competitors_unknown", "competitors_unknown"},
       {"next_step", "next_step.text"},
       {"next_step_due", "next_step.due"}}};
  switch (kind) {
    case Kind::kAccounts:
      return *kAccountsSchema;
    case Kind::kContacts:
      return *kContactsSchema;
    case Kind::kOpportunities:
      break;
  }
  return *kOpportunitiesSchema;
}

// "name*, industry, ..." for help texts.
std::string ColumnList(const Schema& s) {
  std::vector<std::string> names;
  for (const Column& c : s.columns) {
    names.push_back(c.required ? c.name + "*" : c.name);
  }
  return absl::StrJoin(names, ", ");
}

std::string Trim(absl::string_view s) {
  return std::string(absl::StripAsciiWhitespace(s));
}

// ---- values ----

// Strictly YYYY-MM-DD, a real day.
std::optional<absl::CivilDay> ParseDay(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
    return std::nullopt;
  }
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) {
      return std::nullopt;
    }
  }
  int year = 0;
  int month = 0;
  int day = 0;
  if (!absl::SimpleAtoi(text.substr(0, 4), &year) ||
      !absl::SimpleAtoi(text.substr(5, 2), &month) ||
      !absl::SimpleAtoi(text.substr(8, 2), &day)) {
    return std::nullopt;
  }
  const absl::CivilDay d(year, month, day);
  // CivilDay normalizes 2026-02-30 to March: only an exact day is a date.
  if (year < 1 || d.year() != year || d.month() != month || d.day() != day) {
    return std::nullopt;
  }
  return d;
}

// Sets field `path` of `m` from the trimmed, non-empty `text`; "" or why not
// (naming `column`).
std::string SetField(Message* m, const std::string& path,
                     const std::string& column, const std::string& text,
                     const std::string& currency) {
  const std::vector<std::string> parts = absl::StrSplit(path, '.');
  Message* cur = m;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const FieldDescriptor* f = cur->GetDescriptor()->FindFieldByName(parts[i]);
    cur = cur->GetReflection()->MutableMessage(cur, f);
  }
  const FieldDescriptor* f =
      cur->GetDescriptor()->FindFieldByName(parts.back());
  const Reflection* r = cur->GetReflection();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      r->SetString(cur, f, text);
      return "";
    case FieldDescriptor::CPPTYPE_ENUM: {
      // ParseEnum, with ' ' for '_' too.
      std::string want = text;
      std::replace(want.begin(), want.end(), ' ', '_');
      std::string choices;
      const EnumValueDescriptor* v = ParseEnum(f->enum_type(), want, &choices);
      if (v == nullptr) {
        return absl::StrCat(column, ": unknown value \"", text, "\" (one of ",
                            choices, ")");
      }
      r->SetEnum(cur, f, v);
      return "";
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      const std::string v = absl::AsciiStrToLower(text);
      if (v == "true" || v == "yes" || v == "1") {
        r->SetBool(cur, f, true);
      } else if (v == "false" || v == "no" || v == "0") {
        r->SetBool(cur, f, false);
      } else {
        return absl::StrCat(column, ": must be true or false, got \"", text,
                            "\"");
      }
      return "";
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const std::string& type = f->message_type()->full_name();
      if (type == "salesops.v1.Money") {
        absl::StatusOr<int64_t> minor =
            money::Parse(text, money::CurrencyExponent(currency));
        if (!minor.ok()) {
          return absl::StrCat(column, ": ", minor.status().message(),
                              " (major units of ", currency,
                              " without separators, e.g. 12500.00)");
        }
        auto* money = static_cast<v1::Money*>(r->MutableMessage(cur, f));
        money->set_units_minor(*minor);
        money->set_currency(currency);
        return "";
      }
      if (type == "salesops.v1.Date") {
        std::optional<absl::CivilDay> d = ParseDay(text);
        if (!d) {
          return absl::StrCat(column, ": not a date (YYYY-MM-DD): \"", text,
                              "\"");
        }
        auto* date = static_cast<v1::Date*>(r->MutableMessage(cur, f));
        date->set_year(static_cast<int32_t>(d->year()));
        date->set_month(d->month());
        date->set_day(d->day());
        return "";
      }
      break;
    }
    default:
      break;
  }
  return absl::StrCat(column, ": cannot be imported (", f->type_name(), ")");
}

// The export text of a column ("" for an unset value or an UNSPECIFIED enum).
std::string ExportText(const Message& m, const Column& c) {
  if (c.special == Special::kNames) {
    const auto& o = static_cast<const v1::Opportunity&>(m);
    std::vector<std::string> names;
    for (const v1::Competitor& comp : o.competitors()) {
      names.push_back(comp.name());
    }
    return absl::StrJoin(names, ";");
  }
  const std::vector<std::string> parts = absl::StrSplit(c.path, '.');
  const Message* cur = &m;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const FieldDescriptor* f = cur->GetDescriptor()->FindFieldByName(parts[i]);
    cur = &cur->GetReflection()->GetMessage(*cur, f);
  }
  const FieldDescriptor* f =
      cur->GetDescriptor()->FindFieldByName(parts.back());
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM &&
      cur->GetReflection()->GetEnumValue(*cur, f) == 0) {
    return "";
  }
  return FieldText(m, c.path);
}

// 64-bit FNV-1a.
uint64_t Fnv1a(const std::string& data, uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string DeterministicBytes(const Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return out;
}

// ---- import ----

struct Row {
  int64_t line = 0;
  std::string external_id;
  std::unique_ptr<Message> entity;
  std::string request_id;
  std::string reason;  // rejected when not empty
  // Contacts: the raw reports_to, and the row it names (-1: none in the
  // file); the wave it is sent in (0 = no in-file manager).
  std::string reference;
  int64_t parent = -1;
  int64_t wave = 0;
  bool imported = false;
  std::string id;      // the created (or first) entity's id
  std::string target;  // the `id` column: the record --update changes
};

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin),
                std::istreambuf_iterator<char>());
    return text;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size > kMaxFileBytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": larger than ", kMaxFileBytes, " bytes; split the file"));
  }
  in.seekg(0, std::ios::beg);
  text.resize(size > 0 ? static_cast<size_t>(size) : 0);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  return text;
}

// The header's columns in file order (index into the schema), or why the
// file is refused.
absl::StatusOr<std::vector<int>> MapHeader(const Schema& s,
                                           const std::string& file,
                                           const CsvRecord& header,
                                           bool update) {
  const std::string where = absl::StrCat(file, ": line ", header.line, ": ");
  if (!header.error.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": header: ", header.error));
  }
  std::vector<int> map;
  std::vector<bool> seen(s.columns.size(), false);
  for (const std::string& raw : header.fields) {
    const std::string name = absl::AsciiStrToLower(Trim(raw));
    int found = -1;
    for (size_t i = 0; i < s.columns.size(); ++i) {
      if (s.columns[i].name == name) {
        found = static_cast<int>(i);
      }
    }
    if (found < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "unknown column \"", raw, "\" (the columns of ",
                       s.plural, " are ", ColumnList(s), "; * = required)"));
    }
    if (seen[found]) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "column \"", name, "\" appears twice"));
    }
    seen[found] = true;
    map.push_back(found);
  }
  std::vector<std::string> missing;
  for (size_t i = 0; i < s.columns.size(); ++i) {
    // With --update only the id is required.
    if ((update ? s.columns[i].special == Special::kIgnored
                : s.columns[i].required) &&
        !seen[i]) {
      missing.push_back(s.columns[i].name);
    }
  }
  if (!missing.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, "the header lacks required column(s) ",
                     absl::StrJoin(missing, ", "), " (the columns of ",
                     s.plural, " are ", ColumnList(s), "; * = required)"));
  }
  return map;
}

// Parses one data record into `row` (reason set when it is invalid).
void ParseRow(const Schema& s, const std::vector<int>& map,
              const CsvRecord& rec, const std::string& currency, bool update,
              Row* row) {
  row->line = rec.line;
  row->entity.reset(s.prototype->New());
  // The external_id names the row in the report, even a malformed one.
  for (size_t i = 0; i < map.size() && i < rec.fields.size(); ++i) {
    if (s.columns[map[i]].name == "external_id") {
      row->external_id = Trim(rec.fields[i]);
    }
  }
  if (!rec.error.empty()) {
    row->reason = rec.error;
    return;
  }
  if (rec.fields.size() != map.size()) {
    row->reason = absl::StrCat("has ", rec.fields.size(),
                               " fields, the header has ", map.size());
    return;
  }
  std::vector<std::string> reasons;
  std::vector<bool> given(s.columns.size(), false);
  for (size_t i = 0; i < map.size(); ++i) {
    const Column& c = s.columns[map[i]];
    const std::string text = Trim(rec.fields[i]);
    if (text.empty()) {
      continue;
    }
    given[map[i]] = true;
    switch (c.special) {
      case Special::kIgnored:
        row->target = text;
        break;
      case Special::kNames: {
        auto* o = static_cast<v1::Opportunity*>(row->entity.get());
        for (absl::string_view name : absl::StrSplit(text, ';')) {
          const std::string n = Trim(name);
          if (!n.empty()) {
            o->add_competitors()->set_name(n);
          }
        }
        break;
      }
      case Special::kContactRef:
        row->reference = text;
        // The raw reference is part of the request id; an in-file one is
        // replaced by the manager's id before sending.
        static_cast<v1::Contact*>(row->entity.get())->set_reports_to_id(text);
        break;
      case Special::kNone: {
        std::string why =
            SetField(row->entity.get(), c.path, c.name, text, currency);
        if (!why.empty()) {
          reasons.push_back(std::move(why));
        }
        break;
      }
    }
  }
  for (size_t i = 0; i < s.columns.size(); ++i) {
    // With --update only the id is required: the other columns are the mask.
    const bool required = update ? s.columns[i].special == Special::kIgnored
                                 : s.columns[i].required;
    if (required && !given[i]) {
      reasons.push_back(absl::StrCat(s.columns[i].name, ": required"));
    }
  }
  if (s.kind == Kind::kOpportunities) {
    const auto& o = static_cast<const v1::Opportunity&>(*row->entity);
    if (o.has_amount() && o.amount().units_minor() <= 0) {
      reasons.push_back(
          absl::StrCat("amount: must be greater than 0, got ",
                       money::Format(o.amount().units_minor(),
                                     money::CurrencyExponent(currency))));
    }
  }
  row->reason = absl::StrJoin(reasons, "; ");
  if (row->reason.empty()) {
    row->request_id = absl::StrCat(
        "csv-",
        absl::Hex(Fnv1a(DeterministicBytes(*row->entity),
                        Fnv1a(s.plural + "\n" + (update ? row->target : ""))),
                  absl::kZeroPad16));
  }
}

// Rejects later lines that repeat an earlier valid row, its external_id or
// (accounts) its name, so which line wins never depends on timing.
void RejectDuplicates(const Schema& s, bool update, std::vector<Row>& rows) {
  std::map<std::string, int64_t> by_target;
  std::map<std::string, int64_t> by_request;
  std::map<std::string, int64_t> by_external;
  std::map<std::string, int64_t> by_name;
  for (Row& r : rows) {
    if (!r.reason.empty()) {
      continue;
    }
    if (auto [it, fresh] = by_target.emplace(r.target, r.line);
        update && !fresh) {
      r.reason =
          absl::StrCat("id: ", r.target, " is also on line ", it->second);
      continue;
    }
    if (auto [it, fresh] = by_request.emplace(r.request_id, r.line); !fresh) {
      r.reason =
          absl::StrCat("the same row as line ", it->second, " (imported once)");
      continue;
    }
    if (!r.external_id.empty()) {
      if (auto [it, fresh] = by_external.emplace(r.external_id, r.line);
          !fresh) {
        r.reason = absl::StrCat("external_id: \"", r.external_id,
                                "\" is also on line ", it->second);
        continue;
      }
    }
    if (s.kind == Kind::kAccounts) {
      const auto& a = static_cast<const v1::Account&>(*r.entity);
      const std::string key = absl::AsciiStrToLower(Trim(a.name()));
      if (auto [it, fresh] = by_name.emplace(key, r.line);
          !key.empty() && !fresh) {
        r.reason = absl::StrCat("name: \"", a.name(), "\" is also on line ",
                                it->second, " (account names are unique)");
      }
    }
  }
}

// Contacts: links each row whose reports_to names another row's external_id
// and assigns waves (a manager's wave before its reports'). A row on a
// reference cycle, or under a rejected row, is rejected.
void PlanWaves(std::vector<Row>& rows) {
  std::map<std::string, int64_t> by_external;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i].external_id.empty()) {
      by_external.emplace(rows[i].external_id, static_cast<int64_t>(i));
    }
  }
  for (Row& r : rows) {
    if (r.reason.empty() && !r.reference.empty()) {
      auto it = by_external.find(r.reference);
      if (it != by_external.end()) {
        r.parent = it->second;
      }
    }
  }
  const int64_t n = static_cast<int64_t>(rows.size());
  for (int64_t i = 0; i < n; ++i) {
    if (!rows[i].reason.empty()) {
      continue;
    }
    // Walk up at most n links: more means a cycle.
    int64_t depth = 0;
    int64_t at = i;
    while (rows[at].parent >= 0 && depth <= n) {
      at = rows[at].parent;
      ++depth;
      if (!rows[at].reason.empty()) {
        break;
      }
    }
    if (depth > n) {
      rows[i].reason = absl::StrCat("reports_to: \"", rows[i].reference,
                                    "\" leads to a cycle of reports_to "
                                    "references in the file");
    } else if (!rows[at].reason.empty()) {
      rows[i].reason = absl::StrCat("reports_to: line ", rows[at].line,
                                    " (a manager above this contact) is "
                                    "rejected");
    } else {
      rows[i].wave = depth;
    }
  }
}

bool RowLevel(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::OUT_OF_RANGE:
      return true;
    default:
      return false;
  }
}

bool Retryable(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED ||
         code == grpc::StatusCode::ABORTED;
}

// One create call; the entity's id into `*id`.
grpc::Status CreateOne(Kind kind, Connections& conn, const Message& entity,
                       const std::string& request_id, std::string* id) {
  std::unique_ptr<grpc::ClientContext> ctx = conn.Context();
  grpc::Status s;
  switch (kind) {
    case Kind::kAccounts: {
      v1::CreateAccountRequest req;
      *req.mutable_account() = static_cast<const v1::Account&>(entity);
      req.set_request_id(request_id);
      v1::Account out;
      s = conn.accounts().CreateAccount(ctx.get(), req, &out);
      *id = out.id();
      break;
    }
    case Kind::kContacts: {
      v1::CreateContactRequest req;
      *req.mutable_contact() = static_cast<const v1::Contact&>(entity);
      req.set_request_id(request_id);
      v1::Contact out;
      s = conn.accounts().CreateContact(ctx.get(), req, &out);
      *id = out.id();
      break;
    }
    case Kind::kOpportunities: {
      v1::CreateOpportunityRequest req;
      *req.mutable_opportunity() = static_cast<const v1::Opportunity&>(entity);
      req.set_request_id(request_id);
      v1::Opportunity out;
      s = conn.pipeline().CreateOpportunity(ctx.get(), req, &out);
      *id = out.id();
      break;
    }
  }
  return s;
}

// --update: the update_mask of every row, the header's columns but `id` and
// the immutable ones (AIP-134: a named column left empty clears the field).
google::protobuf::FieldMask HeaderMask(const Schema& s,
                                       const std::vector<int>& map) {
  google::protobuf::FieldMask mask;
  for (int i : map) {
    const Column& c = s.columns[i];
    if (c.special != Special::kIgnored && !c.fixed) {
      mask.add_paths(c.path);
    }
  }
  return mask;
}

// One update call of record `target` changing the fields `mask` names; the
// entity's id into `*id`.
grpc::Status UpdateOne(Kind kind, Connections& conn, const Message& entity,
                       const std::string& target,
                       const google::protobuf::FieldMask& mask,
                       std::string* id) {
  std::unique_ptr<grpc::ClientContext> ctx = conn.Context();
  const auto send = [&](auto& req, auto* entity_field, auto call) {
    entity_field->CopyFrom(entity);
    entity_field->set_id(target);
    *req.mutable_update_mask() = mask;
    std::remove_pointer_t<decltype(entity_field)> out;
    const grpc::Status st = call(ctx.get(), req, &out);
    *id = out.id();
    return st;
  };
  switch (kind) {
    case Kind::kAccounts: {
      v1::UpdateAccountRequest req;
      return send(req, req.mutable_account(), [&](auto... x) {
        return conn.accounts().UpdateAccount(x...);
      });
    }
    case Kind::kContacts: {
      v1::UpdateContactRequest req;
      return send(req, req.mutable_contact(), [&](auto... x) {
        return conn.accounts().UpdateContact(x...);
      });
    }
    case Kind::kOpportunities:
      break;
  }
  v1::UpdateOpportunityRequest req;
  return send(req, req.mutable_opportunity(), [&](auto... x) {
    return conn.pipeline().UpdateOpportunity(x...);
  });
}

absl::Status RunImport(const Schema& s, const Args& a, Env& env) {
  const bool update = a.Has("update");
  ASSIGN_OR_RETURN(const std::string file, a.Required("file"));
  ASSIGN_OR_RETURN(const int64_t concurrency,
                   a.Int("concurrency", kDefaultConcurrency));
  if (concurrency < 1 || concurrency > kMaxConcurrency) {
    return absl::InvalidArgumentError(
        absl::StrCat("--concurrency: must be 1..", kMaxConcurrency));
  }
  ASSIGN_OR_RETURN(const std::string text, ReadInput(file));

  // Read and validate everything before the first call.
  CsvReader reader(text);
  CsvRecord rec;
  if (!reader.Next(&rec)) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": empty; expected a header row with the columns ",
                     ColumnList(s), " (* = required)"));
  }
  ASSIGN_OR_RETURN(const std::vector<int> map, MapHeader(s, file, rec, update));
  const google::protobuf::FieldMask mask = HeaderMask(s, map);
  std::vector<Row> rows;
  // Each record consumes input; kMaxRows bounds the memory.
  while (reader.Next(&rec)) {
    if (rec.error.empty() &&
        std::all_of(rec.fields.begin(), rec.fields.end(),
                    [](const std::string& f) { return Trim(f).empty(); })) {
      continue;  // ",,,," as spreadsheets leave them: no row
    }
    if (static_cast<int64_t>(rows.size()) >= kMaxRows) {
      return absl::InvalidArgumentError(absl::StrCat(
          file, ": more than ", kMaxRows, " rows; split the file"));
    }
    rows.emplace_back();
    ParseRow(s, map, rec, env.currency, update, &rows.back());
  }
  if (reader.unclosed_quote()) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": ", rows.back().reason, "; nothing was imported"));
  }
  RejectDuplicates(s, update, rows);
  int64_t waves = 1;
  if (s.kind == Kind::kContacts) {
    PlanWaves(rows);
    for (const Row& r : rows) {
      waves = std::max(waves, r.wave + 1);
    }
  }

  // Send the valid rows, wave by wave, on `concurrency` threads.
  std::mutex mu;
  absl::Status stop;  // the first failure that stops the import
  std::atomic<bool> stopped{false};
  Connections& conn = *env.conn;
  for (int64_t wave = 0; wave < waves && !stopped; ++wave) {
    std::vector<size_t> todo;
    for (size_t i = 0; i < rows.size(); ++i) {
      Row& r = rows[i];
      if (!r.reason.empty() || r.wave != wave) {
        continue;
      }
      if (r.parent >= 0) {
        const Row& boss = rows[r.parent];
        if (!boss.imported) {
          r.reason = absl::StrCat("reports_to: line ", boss.line,
                                  " (its manager) was not imported");
          continue;
        }
        static_cast<v1::Contact*>(r.entity.get())->set_reports_to_id(boss.id);
      }
      todo.push_back(i);
    }
    std::atomic<size_t> next{0};
    auto work = [&] {
      // Each pass takes one row; the rows are bounded.
      while (!stopped) {
        const size_t k = next.fetch_add(1);
        if (k >= todo.size()) {
          return;
        }
        Row& r = rows[todo[k]];
        grpc::Status st;
        std::string id;
        for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
          if (attempt > 0) {
            std::this_thread::sleep_for(
                std::chrono::milliseconds(200 << attempt));
          }
          st = update ? UpdateOne(s.kind, conn, *r.entity, r.target, mask, &id)
                      : CreateOne(s.kind, conn, *r.entity, r.request_id, &id);
          if (!Retryable(st.error_code())) {
            break;
          }
        }
        if (st.ok()) {
          r.imported = true;
          r.id = std::move(id);
        } else if (RowLevel(st.error_code())) {
          absl::Status as = Check(st);
          r.reason = absl::StrCat(absl::StatusCodeToString(as.code()), ": ",
                                  as.message());
        } else {
          std::lock_guard<std::mutex> lock(mu);
          if (!stopped) {
            absl::Status as = Check(st);
            stop = absl::Status(
                as.code(),
                absl::StrCat("import stopped at line ", r.line, ": ",
                             as.message(),
                             "; rerun the same file to finish (rows already "
                             "imported are not created twice)"));
            stopped = true;
          }
        }
      }
    };
    std::vector<std::thread> threads;
    const int64_t n =
        std::min<int64_t>(concurrency, static_cast<int64_t>(todo.size()));
    for (int64_t t = 0; t < n; ++t) {
      threads.emplace_back(work);
    }
    for (std::thread& t : threads) {
      t.join();
    }
  }

  int64_t imported = 0;
  std::vector<std::vector<std::string>> rejected;
  for (const Row& r : rows) {
    if (r.imported) {
      ++imported;
    } else if (!r.reason.empty()) {
      rejected.push_back({absl::StrCat(r.line), r.external_id, r.reason});
    }
  }
  const std::vector<std::string> header = {"line", "external_id", "reason"};
  if (a.Has("report")) {
    std::ofstream out(a.Get("report"), std::ios::binary | std::ios::trunc);
    out << CsvLine(header);
    for (const auto& r : rejected) {
      out << CsvLine(r);
    }
    out.close();
    if (!out) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot write ", a.Get("report"), ": ", std::strerror(errno)));
    }
  }
  if (!stop.ok()) {
    *env.err << "imported " << imported << ", rejected " << rejected.size()
             << ", of " << rows.size() << " rows before the import stopped\n";
    return stop;
  }
  const std::string summary =
      absl::StrCat("imported ", imported, ", rejected ", rejected.size(),
                   ", of ", rows.size(), " rows");
  if (env.format == Format::kTable) {
    *env.out << summary << "\n";
    if (!rejected.empty()) {
      PrintCells(env, header, rejected);
    }
  } else {
    *env.err << summary << "\n";
    PrintCells(env, header, rejected);
  }
  env.rows_rejected = !rejected.empty();
  return absl::OkStatus();
}

// ---- export ----

// Every page of a List RPC (`fetch` reads one): INTERNAL when the server
// repeats a page token, RESOURCE_EXHAUSTED after kMaxExportPages.
absl::Status ListAll(const PageFetch& fetch) {
  return AllPages(
      [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        ASSIGN_OR_RETURN(std::string next, fetch(page));
        if (!next.empty() && next == page.page_token()) {
          return absl::InternalError("the server repeated a page token");
        }
        return next;
      },
      kMaxExportPages,
      absl::ResourceExhaustedError(absl::StrCat(
          "more than ", kMaxExportPages * kPageSize, " entities")));
}

absl::Status ListAccounts(Env& env,
                          const std::function<void(const v1::Account&)>& each) {
  v1::ListAccountsRequest req;
  return ListAll(
      [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        SetPage(page, &req);
        v1::ListAccountsResponse resp;
        RETURN_IF_ERROR(Check(env.conn->accounts().ListAccounts(
            env.conn->Context().get(), req, &resp)));
        for (const v1::Account& acc : resp.accounts()) {
          each(acc);
        }
        return resp.next_page_token();
      });
}

absl::Status RunExport(const Schema& s, const Args& a, Env& env) {
  const std::string file = a.Get("file", "-");
  std::ofstream file_out;
  std::ostream* out = env.out;
  if (file != "-") {
    file_out.open(file, std::ios::binary | std::ios::trunc);
    if (!file_out) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot write ", file, ": ", std::strerror(errno)));
    }
    out = &file_out;
  }
  std::vector<std::string> header;
  for (const Column& c : s.columns) {
    header.push_back(c.name);
  }
  *out << CsvLine(header);
  int64_t count = 0;
  auto write = [&](const Message& m,
                   const std::map<std::string, std::string>& refs) {
    std::vector<std::string> line;
    for (const Column& c : s.columns) {
      if (c.special == Special::kContactRef) {
        const std::string& boss =
            static_cast<const v1::Contact&>(m).reports_to_id();
        auto it = refs.find(boss);
        line.push_back(it != refs.end() && !it->second.empty() ? it->second
                                                               : boss);
      } else {
        line.push_back(ExportText(m, c));
      }
    }
    *out << CsvLine(line);
    ++count;
  };
  const std::map<std::string, std::string> none;
  const std::string account = a.Get("account");
  switch (s.kind) {
    case Kind::kAccounts:
      if (!account.empty()) {
        return absl::InvalidArgumentError(
            "--account: only for contacts and opportunities");
      }
      RETURN_IF_ERROR(
          ListAccounts(env, [&](const v1::Account& acc) { write(acc, none); }));
      break;
    case Kind::kOpportunities: {
      v1::ListOpportunitiesRequest req;
      req.set_account_id(account);
      RETURN_IF_ERROR(ListAll(
          [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
            SetPage(page, &req);
            v1::ListOpportunitiesResponse resp;
            RETURN_IF_ERROR(Check(env.conn->pipeline().ListOpportunities(
                env.conn->Context().get(), req, &resp)));
            for (const v1::Opportunity& o : resp.opportunities()) {
              write(o, none);
            }
            return resp.next_page_token();
          }));
      break;
    }
    case Kind::kContacts: {
      std::vector<std::string> accounts;
      if (!account.empty()) {
        accounts.push_back(account);
      } else {
        RETURN_IF_ERROR(ListAccounts(env, [&](const v1::Account& acc) {
          accounts.push_back(acc.id());
        }));
      }
      for (const std::string& id : accounts) {
        // One account's contacts at a time: reports_to stays inside it.
        std::vector<v1::Contact> contacts;
        v1::ListContactsRequest req;
        req.set_account_id(id);
        RETURN_IF_ERROR(ListAll(
            [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
              SetPage(page, &req);
              v1::ListContactsResponse resp;
              RETURN_IF_ERROR(Check(env.conn->accounts().ListContacts(
                  env.conn->Context().get(), req, &resp)));
              contacts.insert(contacts.end(), resp.contacts().begin(),
                              resp.contacts().end());
              return resp.next_page_token();
            }));
        std::map<std::string, std::string> refs;
        for (const v1::Contact& c : contacts) {
          refs[c.id()] = c.external_id();
        }
        for (const v1::Contact& c : contacts) {
          write(c, refs);
        }
      }
      break;
    }
  }
  out->flush();
  if (!*out) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write ", file == "-" ? "stdout" : file));
  }
  if (file != "-") {
    file_out.close();
    if (!file_out) {
      return absl::FailedPreconditionError(absl::StrCat("cannot write ", file));
    }
    *env.out << "exported " << count << " " << s.plural << " to " << file
             << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterTransferCommands(Registry& r) {
  for (Kind kind : {Kind::kAccounts, Kind::kContacts, Kind::kOpportunities}) {
    const Schema* const schema = &SchemaOf(kind);
    const Schema& s = *schema;
    std::string notes = "enums by short name";
    if (kind == Kind::kContacts) {
      notes +=
          ", dates YYYY-MM-DD, reports_to = a contact id or another row's "
          "external_id";
    } else if (kind == Kind::kOpportunities) {
      notes +=
          ", amount in major units (12500.00), dates YYYY-MM-DD, "
          "competitors as names separated by ';'";
    }
    r.Add(
        {"import",
         s.plural,
         "--file=F|- [--update] [--concurrency=N (default 8)] "
         "[--report=FILE]",
         absl::StrCat(
             "Creates ", s.plural, " from a CSV file with a header row; ",
             "columns: ", ColumnList(s), " (* = required; id is ignored; ",
             notes,
             "). Prints \"imported I, rejected R, of N rows\" and the "
             "rejected rows (line, external_id, reason); exit 4 when rows were "
             "rejected; rerunning the same file creates nothing twice. With "
             "--update every row changes "
             "the existing ",
             s.singular,
             " its id names instead: only the columns of the header "
             "(update_mask; an empty cell clears the field; only id is "
             "required)."),
         {"file", "update", "concurrency", "report"},
         [schema](const Args& a, Env& env) {
           return RunImport(*schema, a, env);
         }});
    r.Add(
        {"export", s.plural,
         kind == Kind::kAccounts ? "[--file=F]"
                                 : "[--file=F] [--account=ACCOUNT]",
         absl::StrCat("Writes every ", s.singular,
                      kind == Kind::kAccounts ? "" : " (or those of --account)",
                      " as CSV with the import columns (", ColumnList(s),
                      ") to --file or stdout."),
         kind == Kind::kAccounts ? std::vector<std::string>{"file"}
                                 : std::vector<std::string>{"file", "account"},
         [schema](const Args& a, Env& env) {
           return RunExport(*schema, a, env);
         }});
  }
}

}  // namespace salesops::ctl
