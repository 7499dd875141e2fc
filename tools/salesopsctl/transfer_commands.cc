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
// are then created with the bulk import RPCs (ImportAccounts, ImportContacts,
// ImportOpportunities; docs/API.md "Bulk import") in batches of 500 rows,
// --concurrency batches in flight (default 8; import_commands.cc), each row
// with request_id "csv-" + the 64-bit FNV-1a (hex) of the kind and the row's
// request as parsed: importing the same file again returns the first results
// instead of creating duplicates (ARCHITECTURE §3). Rows the server refuses
// (INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, ALREADY_EXISTS,
// PERMISSION_DENIED, OUT_OF_RANGE) are rejected with its code and message;
// UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED and ABORTED are retried
// (4 attempts; safe with the request id); any other failure stops the import
// (exit 1) — rerunning the same file finishes it without duplicates. With
// --update each row is one Update call, --concurrency of them at once.
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
#include "tools/salesopsctl/transfer.h"

namespace salesops::ctl {
namespace transfer {

using google::protobuf::Descriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

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
uint64_t Fnv1a(const std::string& data, uint64_t h) {
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

}  // namespace transfer

using namespace transfer;  // NOLINT(build/namespaces): this file is its home

namespace {

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
