// salesopsctl import accounts|contacts|opportunities (the file format, the
// outcomes and the exit codes are described at the top of
// transfer_commands.cc).
//
// Creating: the valid rows go to the kind's bulk import RPC (ImportAccounts,
// ImportContacts, ImportOpportunities; docs/API.md "Bulk import") in batches
// of kBatchRows, --concurrency batches in flight, each row with its derived
// request_id, so a rerun of the same file answers ALREADY_IMPORTED and
// creates nothing twice. Contacts go wave by wave (a manager's wave is done
// before the rows that name it). A row the server REJECTS with a row-level
// code is reported; a retryable one (UNAVAILABLE, ...) is sent again in a
// later batch; anything else stops the import. --update sends one
// Update call per row (updates have no bulk RPC).

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
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
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/money/money.h"
#include "common/status/errors.h"
#include "common/status/status.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"
#include "tools/salesopsctl/cli.h"
#include "tools/salesopsctl/csv.h"
#include "tools/salesopsctl/output.h"
#include "tools/salesopsctl/transfer.h"

namespace salesops::ctl::transfer {
namespace {

using google::protobuf::Message;

// Rows per bulk import call (the RPCs take up to 1,000).
constexpr size_t kBatchRows = 500;

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

// The first failure that stops an import, shared by its threads.
class Stopper {
 public:
  bool stopped() const { return stopped_; }
  // Records `why` at `line` unless an earlier failure was recorded.
  void Stop(const absl::Status& why, int64_t line) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) {
      return;
    }
    status_ = absl::Status(
        why.code(),
        absl::StrCat("import stopped at line ", line, ": ", why.message(),
                     "; rerun the same file to finish (rows already "
                     "imported are not created twice)"));
    stopped_ = true;
  }
  const absl::Status& status() const { return status_; }

 private:
  std::mutex mu_;
  absl::Status status_;
  std::atomic<bool> stopped_{false};
};

std::string Reason(absl::StatusCode code, absl::string_view message) {
  return absl::StrCat(absl::StatusCodeToString(code), ": ", message);
}

// Sends rows[batch] with the kind's bulk import RPC, numbered from the first
// row's line; its results (one per row, in order) into `*results`.
grpc::Status SendBatch(Kind kind, Connections& conn,
                       const std::vector<Row>& rows,
                       const std::vector<size_t>& batch,
                       std::vector<v1::ImportRowResult>* results) {
  std::unique_ptr<grpc::ClientContext> ctx = conn.Context();
  const auto send = [&](auto& req, auto* resp, auto add_row, auto call) {
    for (size_t i : batch) {
      add_row(req, rows[i]);
    }
    req.set_first_row(rows[batch.front()].line);
    const grpc::Status st = call(ctx.get(), req, resp);
    results->assign(resp->results().begin(), resp->results().end());
    return st;
  };
  switch (kind) {
    case Kind::kAccounts: {
      v1::ImportAccountsRequest req;
      v1::ImportAccountsResponse resp;
      return send(
          req, &resp,
          [](v1::ImportAccountsRequest& q, const Row& r) {
            v1::CreateAccountRequest* row = q.add_rows();
            *row->mutable_account() =
                static_cast<const v1::Account&>(*r.entity);
            row->set_request_id(r.request_id);
          },
          [&](auto&&... x) { return conn.accounts().ImportAccounts(x...); });
    }
    case Kind::kContacts: {
      v1::ImportContactsRequest req;
      v1::ImportContactsResponse resp;
      return send(
          req, &resp,
          [](v1::ImportContactsRequest& q, const Row& r) {
            v1::CreateContactRequest* row = q.add_rows();
            *row->mutable_contact() =
                static_cast<const v1::Contact&>(*r.entity);
            row->set_request_id(r.request_id);
          },
          [&](auto&&... x) { return conn.accounts().ImportContacts(x...); });
    }
    case Kind::kOpportunities:
      break;
  }
  v1::ImportOpportunitiesRequest req;
  v1::ImportOpportunitiesResponse resp;
  return send(
      req, &resp,
      [](v1::ImportOpportunitiesRequest& q, const Row& r) {
        v1::CreateOpportunityRequest* row = q.add_rows();
        *row->mutable_opportunity() =
            static_cast<const v1::Opportunity&>(*r.entity);
        row->set_request_id(r.request_id);
      },
      [&](auto&&... x) { return conn.pipeline().ImportOpportunities(x...); });
}

// Records one row's result; a retryable rejection goes to `*again`.
void ApplyResult(const v1::ImportRowResult& res, size_t i, Row& r,
                 std::vector<size_t>* again, absl::Status* last,
                 Stopper& stop) {
  if (res.outcome() == v1::IMPORT_ROW_OUTCOME_CREATED ||
      res.outcome() == v1::IMPORT_ROW_OUTCOME_ALREADY_IMPORTED) {
    r.imported = true;
    r.id = res.id();
    return;
  }
  const auto code = static_cast<grpc::StatusCode>(res.code());
  const absl::Status status(static_cast<absl::StatusCode>(res.code()),
                            res.message());
  if (Retryable(code)) {
    again->push_back(i);
    *last = status;
  } else if (RowLevel(code)) {
    r.reason = Reason(status.code(), status.message());
  } else {
    stop.Stop(status, r.line);
  }
}

// A whole batch refused at the edge for fields over their bounds (docs/API.md
// §3a) names the rows ("rows[3].opportunity.name: at most 200 characters"):
// those rows get the single create's reason; the rest of `batch` goes to
// `*again`. False (nothing changed) when no violation names a row.
bool RejectNamedRows(const absl::Status& refused,
                     const std::vector<size_t>& batch, std::vector<Row>& rows,
                     std::vector<size_t>* again) {
  std::vector<bool> named(batch.size(), false);
  bool any = false;
  for (const FieldViolation& v : FieldViolationsOf(refused)) {
    size_t k = 0;
    size_t end = 0;
    if (v.field.rfind("rows[", 0) != 0 ||
        (end = v.field.find("].")) == std::string::npos ||
        !absl::SimpleAtoi(v.field.substr(5, end - 5), &k) ||
        k >= batch.size()) {
      continue;
    }
    Row& r = rows[batch[k]];
    const std::string reason =
        Reason(refused.code(),
               absl::StrCat(v.field.substr(end + 2), ": ", v.description));
    r.reason = r.reason.empty() ? reason : absl::StrCat(r.reason, "; ", reason);
    named[k] = any = true;
  }
  for (size_t k = 0; any && k < batch.size(); ++k) {
    if (!named[k]) {
      again->push_back(batch[k]);
    }
  }
  return any;
}

// Creates rows[batch] with the bulk RPC: rows that failed with a retryable
// code (the whole call or the row alone) are sent again, kMaxAttempts in
// all; then, or on any other failure, the import stops.
void CreateBatch(Kind kind, Connections& conn, std::vector<Row>& rows,
                 std::vector<size_t> batch, Stopper& stop) {
  absl::Status last;
  // A round that only drops rows named by the edge's bounds does not count
  // as an attempt; each drops at least one row, so the loop stays bounded.
  for (int attempt = 0; attempt < kMaxAttempts && !batch.empty(); ++attempt) {
    if (stop.stopped()) {
      return;
    }
    if (attempt > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
    }
    std::vector<v1::ImportRowResult> results;
    const grpc::Status st = SendBatch(kind, conn, rows, batch, &results);
    std::vector<size_t> again;
    if (!st.ok()) {
      last = Check(st);
      if (Retryable(st.error_code())) {
        again = batch;
      } else if (st.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
                 RejectNamedRows(last, batch, rows, &again)) {
        --attempt;
      } else if (RowLevel(st.error_code())) {
        for (size_t i : batch) {  // e.g. a role that may not import
          rows[i].reason = Reason(last.code(), last.message());
        }
      } else {
        stop.Stop(last, rows[batch.front()].line);
      }
    } else if (results.size() != batch.size()) {
      stop.Stop(absl::InternalError(
                    absl::StrCat("the server answered ", results.size(),
                                 " results for ", batch.size(), " rows")),
                rows[batch.front()].line);
      return;
    } else {
      for (size_t k = 0; k < batch.size(); ++k) {
        ApplyResult(results[k], batch[k], rows[batch[k]], &again, &last, stop);
      }
    }
    batch = std::move(again);
  }
  if (!batch.empty()) {
    stop.Stop(last, rows[batch.front()].line);
  }
}

// One update call per row, retried on retryable codes (kMaxAttempts).
void UpdateRow(Kind kind, Connections& conn,
               const google::protobuf::FieldMask& mask, Row& r, Stopper& stop) {
  grpc::Status st;
  std::string id;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
    }
    st = UpdateOne(kind, conn, *r.entity, r.target, mask, &id);
    if (!Retryable(st.error_code())) {
      break;
    }
  }
  if (st.ok()) {
    r.imported = true;
    r.id = std::move(id);
  } else if (RowLevel(st.error_code())) {
    const absl::Status as = Check(st);
    r.reason = Reason(as.code(), as.message());
  } else {
    stop.Stop(Check(st), r.line);
  }
}

// The rows of `wave` still to send; a contact whose in-file manager was not
// imported is rejected, the others name their manager by its id.
std::vector<size_t> WaveRows(std::vector<Row>& rows, int64_t wave) {
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
  return todo;
}

// Sends `todo` as units of work (batches of kBatchRows to create, single
// rows to update) on up to `concurrency` threads.
void SendWave(const Schema& s, Connections& conn, bool update,
              const google::protobuf::FieldMask& mask, int64_t concurrency,
              std::vector<Row>& rows, const std::vector<size_t>& todo,
              Stopper& stop) {
  const size_t unit = update ? 1 : kBatchRows;
  const size_t units = (todo.size() + unit - 1) / unit;
  std::atomic<size_t> next{0};
  auto work = [&] {
    // Each pass takes one unit; the units are bounded.
    while (!stop.stopped()) {
      const size_t k = next.fetch_add(1);
      if (k >= units) {
        return;
      }
      const auto from = todo.begin() + static_cast<std::ptrdiff_t>(k * unit);
      const auto to = todo.begin() + static_cast<std::ptrdiff_t>(
                                         std::min(todo.size(), (k + 1) * unit));
      if (update) {
        UpdateRow(s.kind, conn, mask, rows[*from], stop);
      } else {
        CreateBatch(s.kind, conn, rows, std::vector<size_t>(from, to), stop);
      }
    }
  };
  std::vector<std::thread> threads;
  const int64_t n = std::min<int64_t>(concurrency, static_cast<int64_t>(units));
  for (int64_t t = 0; t < n; ++t) {
    threads.emplace_back(work);
  }
  for (std::thread& t : threads) {
    t.join();
  }
}

// The rows of `text` (validated, duplicates rejected, contacts' waves
// planned) and the --update mask of its header; an error refuses the file.
absl::Status ParseFile(const Schema& s, const std::string& file,
                       const std::string& text, const std::string& currency,
                       bool update, std::vector<Row>* rows,
                       google::protobuf::FieldMask* mask) {
  CsvReader reader(text);
  CsvRecord rec;
  if (!reader.Next(&rec)) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": empty; expected a header row with the columns ",
                     ColumnList(s), " (* = required)"));
  }
  ASSIGN_OR_RETURN(const std::vector<int> map, MapHeader(s, file, rec, update));
  *mask = HeaderMask(s, map);
  // Each record consumes input; kMaxRows bounds the memory.
  while (reader.Next(&rec)) {
    if (rec.error.empty() &&
        std::all_of(rec.fields.begin(), rec.fields.end(),
                    [](const std::string& f) { return Trim(f).empty(); })) {
      continue;  // ",,,," as spreadsheets leave them: no row
    }
    if (static_cast<int64_t>(rows->size()) >= kMaxRows) {
      return absl::InvalidArgumentError(absl::StrCat(
          file, ": more than ", kMaxRows, " rows; split the file"));
    }
    rows->emplace_back();
    ParseRow(s, map, rec, currency, update, &rows->back());
  }
  if (reader.unclosed_quote()) {
    return absl::InvalidArgumentError(absl::StrCat(
        file, ": ", rows->back().reason, "; nothing was imported"));
  }
  RejectDuplicates(s, update, *rows);
  if (s.kind == Kind::kContacts) {
    PlanWaves(*rows);
  }
  return absl::OkStatus();
}

// The summary and the rejected rows (stdout, --report); `stop` is returned
// after the summary when the import stopped.
absl::Status Report(const Args& a, Env& env, const std::vector<Row>& rows,
                    const absl::Status& stop) {
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

}  // namespace

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
  std::vector<Row> rows;
  google::protobuf::FieldMask mask;
  RETURN_IF_ERROR(ParseFile(s, file, text, env.currency, update, &rows, &mask));
  int64_t waves = 1;
  for (const Row& r : rows) {
    waves = std::max(waves, r.wave + 1);
  }
  Stopper stop;
  for (int64_t wave = 0; wave < waves && !stop.stopped(); ++wave) {
    SendWave(s, *env.conn, update, mask, concurrency, rows,
             WaveRows(rows, wave), stop);
  }
  return Report(a, env, rows, stop.status());
}

}  // namespace salesops::ctl::transfer
