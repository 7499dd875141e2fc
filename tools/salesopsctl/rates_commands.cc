// salesopsctl rates / import rates / export rates: dated exchange rates of
// the accounts service (rates.h).
//
//   salesopsctl rates set --currency=USD --start=2026-01-01 --rate=0.92
//       [--note=TEXT] [--withdrawn] [--expected-version=N]
//   salesopsctl rates list [--currency=USD] [--page-size=N [--page-token=T]]
//   salesopsctl import rates --file=F|-
//   salesopsctl export rates [--file=F] [--currency=USD]
//
// The CSV columns: currency*, start_date* (YYYY-MM-DD), rate (decimal text,
// required unless withdrawn), note, withdrawn (true/false; export writes it).
// Import sends one SetExchangeRate per row, in file order: a row equal to
// the stored entry changes nothing, so importing a file again is harmless.
// Rows the server refuses are reported (line, entry, reason) and the exit
// code is 4, as for the other imports.

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "common/status/status.h"
#include "common/time/fiscal_calendar.h"
#include "tools/salesopsctl/csv.h"
#include "tools/salesopsctl/flags.h"
#include "tools/salesopsctl/output.h"
#include "tools/salesopsctl/rates.h"

namespace salesops::ctl {
namespace {

const std::vector<std::string> kRateColumns = {
    "currency",  "start_date", "rate",       "reporting_currency",
    "withdrawn", "version",    "updated_by", "note"};

const std::vector<std::string> kCsvColumns = {"currency", "start_date", "rate",
                                              "note", "withdrawn"};

// YYYY-MM-DD.
std::string FormatDate(const v1::Date& d) {
  return absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day());
}

// The largest file `import rates` reads.
constexpr std::streamoff kMaxRatesFileBytes = 16 << 20;

absl::StatusOr<v1::ExchangeRate> SetRate(
    Env& env, const v1::SetExchangeRateRequest& req) {
  v1::ExchangeRate resp;
  RETURN_IF_ERROR(Check(env.conn->accounts().SetExchangeRate(
      env.conn->Context().get(), req, &resp)));
  return resp;
}

absl::Status RatesSet(const Args& a, Env& env) {
  v1::SetExchangeRateRequest req;
  ASSIGN_OR_RETURN(const std::string currency, a.Required("currency"));
  ASSIGN_OR_RETURN(const std::optional<absl::CivilDay> start, a.Date("start"));
  if (!start) {
    return absl::InvalidArgumentError("--start: required (YYYY-MM-DD)");
  }
  ASSIGN_OR_RETURN(const bool withdrawn, a.Bool("withdrawn", false));
  ASSIGN_OR_RETURN(const int64_t expected, a.Int("expected-version", 0));
  if (!withdrawn && a.Get("rate").empty()) {
    return absl::InvalidArgumentError(
        "--rate: required unless --withdrawn (decimal text, e.g. 7.1)");
  }
  req.set_currency(currency);
  *req.mutable_start_date() = ToProto(*start);
  req.set_rate(a.Get("rate"));
  req.set_withdrawn(withdrawn);
  req.set_note(a.Get("note"));
  req.set_expected_version(expected);
  ASSIGN_OR_RETURN(const v1::ExchangeRate resp, SetRate(env, req));
  PrintOne(env, resp, kRateColumns);
  return absl::OkStatus();
}

// Every entry of `currency` ("" = all) from the page `a` names (Paged).
absl::StatusOr<std::vector<v1::ExchangeRate>> ListRates(
    const Args& a, Env& env, const std::string& currency) {
  v1::ListExchangeRatesRequest req;
  req.set_currency(currency);
  std::vector<v1::ExchangeRate> rows;
  RETURN_IF_ERROR(Paged(
      a, env, [&](const v1::PageRequest& page) -> absl::StatusOr<std::string> {
        SetPage(page, &req);
        v1::ListExchangeRatesResponse resp;
        RETURN_IF_ERROR(Check(env.conn->accounts().ListExchangeRates(
            env.conn->Context().get(), req, &resp)));
        rows.insert(rows.end(), resp.rates().begin(), resp.rates().end());
        return resp.next_page_token();
      }));
  return rows;
}

absl::Status RatesList(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(const std::vector<v1::ExchangeRate> rows,
                   ListRates(a, env, a.Get("currency")));
  PrintList(env, Pointers(rows), kRateColumns);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFileOrStdin(const std::string& path) {
  if (path == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin),
                       std::istreambuf_iterator<char>());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  }
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (static_cast<std::streamoff>(text.size()) > kMaxRatesFileBytes) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": larger than ", kMaxRatesFileBytes, " bytes"));
  }
  return text;
}

// Column name → index in the header; FAILED_PRECONDITION for an unknown or
// repeated column or a missing currency/start_date.
absl::StatusOr<std::map<std::string, size_t>> RatesHeader(
    const CsvRecord& header) {
  std::map<std::string, size_t> at;
  for (size_t i = 0; i < header.fields.size(); ++i) {
    const std::string name =
        absl::AsciiStrToLower(absl::StripAsciiWhitespace(header.fields[i]));
    if (std::find(kCsvColumns.begin(), kCsvColumns.end(), name) ==
            kCsvColumns.end() ||
        !at.emplace(name, i).second) {
      return absl::FailedPreconditionError(absl::StrCat(
          "header: unknown or repeated column \"", header.fields[i],
          "\" (columns: currency*, start_date*, rate, note, withdrawn)"));
    }
  }
  for (const char* required : {"currency", "start_date"}) {
    if (at.count(required) == 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("header: column ", required, " is required"));
    }
  }
  return at;
}

// The request of one row, or why the row is rejected.
absl::StatusOr<v1::SetExchangeRateRequest> RateRow(
    const CsvRecord& row, const std::map<std::string, size_t>& at) {
  const auto cell = [&](const std::string& name) -> std::string {
    auto it = at.find(name);
    if (it == at.end() || it->second >= row.fields.size()) {
      return "";
    }
    return std::string(absl::StripAsciiWhitespace(row.fields[it->second]));
  };
  if (!row.error.empty()) {
    return absl::InvalidArgumentError(row.error);
  }
  v1::SetExchangeRateRequest req;
  absl::CivilDay start;
  if (!absl::ParseCivilTime(cell("start_date"), &start)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "start_date: not a date (YYYY-MM-DD): ", cell("start_date")));
  }
  const std::string withdrawn = absl::AsciiStrToLower(cell("withdrawn"));
  if (!withdrawn.empty() && withdrawn != "true" && withdrawn != "false") {
    return absl::InvalidArgumentError("withdrawn: true or false");
  }
  req.set_currency(cell("currency"));
  *req.mutable_start_date() = ToProto(start);
  req.set_rate(cell("rate"));
  req.set_note(cell("note"));
  req.set_withdrawn(withdrawn == "true");
  return req;
}

absl::Status ImportRates(const Args& a, Env& env) {
  ASSIGN_OR_RETURN(const std::string file, a.Required("file"));
  ASSIGN_OR_RETURN(const std::string text, ReadFileOrStdin(file));
  ASSIGN_OR_RETURN(const std::vector<CsvRecord> records, ReadCsv(text));
  if (records.empty()) {
    return absl::FailedPreconditionError(file + ": no header row");
  }
  ASSIGN_OR_RETURN(const auto at, RatesHeader(records[0]));
  std::vector<std::vector<std::string>> rejected;
  for (size_t i = 1; i < records.size(); ++i) {
    absl::StatusOr<v1::SetExchangeRateRequest> req = RateRow(records[i], at);
    absl::Status s = req.status();
    if (s.ok()) {
      s = SetRate(env, *req).status();
    }
    if (s.ok()) {
      continue;
    }
    if (s.code() == absl::StatusCode::kUnavailable ||
        s.code() == absl::StatusCode::kDeadlineExceeded ||
        s.code() == absl::StatusCode::kUnauthenticated) {
      return s;  // stop: rerunning the file finishes it
    }
    const std::string entry =
        req.ok()
            ? absl::StrCat(req->currency(), "/", FormatDate(req->start_date()))
            : "";
    rejected.push_back(
        {absl::StrCat(records[i].line), entry,
         absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message())});
  }
  const size_t rows = records.size() - 1;
  std::ostream& summary = env.format == Format::kTable ? *env.out : *env.err;
  summary << "imported " << rows - rejected.size() << ", rejected "
          << rejected.size() << ", of " << rows << " rows\n";
  if (!rejected.empty()) {
    PrintCells(env, {"line", "entry", "reason"}, rejected);
    env.rows_rejected = true;
  }
  return absl::OkStatus();
}

absl::Status ExportRates(const Args& a, Env& env) {
  Args all = Args::FromMap({});  // every page, whatever --page-size says
  ASSIGN_OR_RETURN(const std::vector<v1::ExchangeRate> rows,
                   ListRates(all, env, a.Get("currency")));
  const std::string file = a.Get("file", "-");
  std::ofstream file_out;
  std::ostream* out = env.out;
  if (file != "-") {
    file_out.open(file, std::ios::binary | std::ios::trunc);
    if (!file_out) {
      return absl::FailedPreconditionError("cannot write " + file);
    }
    out = &file_out;
  }
  *out << CsvLine(kCsvColumns);
  for (const v1::ExchangeRate& e : rows) {
    *out << CsvLine({e.currency(), FormatDate(e.start_date()), e.rate(),
                     e.note(), e.withdrawn() ? "true" : "false"});
  }
  out->flush();
  if (!*out) {
    return absl::DataLossError("cannot write " + file);
  }
  if (file != "-") {
    *env.err << "exported " << rows.size() << " rates to " << file << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterRatesCommands(Registry& r) {
  r.Add({"rates",
         "set",
         "--currency=CUR --start=YYYY-MM-DD --rate=DECIMAL [--note=TEXT] "
         "[--withdrawn] [--expected-version=N]",
         "Sets (creates or corrects) the rate of CUR to the reporting "
         "currency in force from --start; --withdrawn withdraws the entry "
         "(FINANCE, ADMIN).",
         {"currency", "start", "rate", "note", "withdrawn", "expected-version"},
         RatesSet});
  r.Add({"rates", "list", "[--currency=CUR] [--page-size=N [--page-token=T]]",
         "Lists the dated exchange rates by currency, then start date "
         "(withdrawn ones included).",
         With({"currency"}, kPageFlags), RatesList});
  r.Add({"import",
         "rates",
         "--file=F|-",
         "Sets the dated rates of a CSV file (columns currency*, start_date*, "
         "rate, note, withdrawn); a row equal to the stored entry changes "
         "nothing. Exit 4 when rows were rejected.",
         {"file"},
         ImportRates});
  r.Add({"export",
         "rates",
         "[--file=F] [--currency=CUR]",
         "Writes every dated rate (or those of --currency) as CSV with the "
         "import columns to --file or stdout.",
         {"file", "currency"},
         ExportRates});
}

}  // namespace salesops::ctl
