#include "tools/salesopsctl/csv.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/salesopsctl/output.h"

namespace salesops::ctl {

CsvReader::CsvReader(std::string_view text) : text_(text) {
  // A UTF-8 byte order mark, as spreadsheets write it.
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") {
    pos_ = 3;
  }
}

bool CsvReader::ConsumeLineBreak() {
  if (pos_ >= text_.size()) {
    return false;
  }
  if (text_[pos_] == '\n') {
    ++pos_;
  } else if (text_[pos_] == '\r') {
    ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '\n') {
      ++pos_;
    }
  } else {
    return false;
  }
  ++line_;
  return true;
}

void CsvReader::SkipRestOfLine() {
  while (pos_ < text_.size() && text_[pos_] != '\n' && text_[pos_] != '\r') {
    ++pos_;
  }
  ConsumeLineBreak();
}

bool CsvReader::Next(CsvRecord* out) {
  out->fields.clear();
  out->error.clear();
  // Empty physical lines between records are no records. Each pass consumes
  // one line break, so this ends.
  while (ConsumeLineBreak()) {
  }
  if (pos_ >= text_.size()) {
    return false;
  }
  out->line = line_;
  enum class State { kFieldStart, kUnquoted, kQuoted, kAfterQuote };
  State state = State::kFieldStart;
  std::string field;
  int64_t quote_line = line_;
  // Every pass consumes at least one byte or returns.
  while (pos_ < text_.size()) {
    const char c = text_[pos_];
    switch (state) {
      case State::kFieldStart:
      case State::kUnquoted:
        if (c == ',') {
          out->fields.push_back(std::move(field));
          field.clear();
          state = State::kFieldStart;
          ++pos_;
        } else if (c == '\n' || c == '\r') {
          ConsumeLineBreak();
          out->fields.push_back(std::move(field));
          return true;
        } else if (c == '"') {
          if (state == State::kUnquoted) {
            out->error = absl::StrCat(
                "line ", line_, ": quote inside unquoted field ",
                out->fields.size() + 1,
                " (enclose the whole field in quotes and double the quote)");
            out->fields.push_back(std::move(field));
            SkipRestOfLine();
            return true;
          }
          state = State::kQuoted;
          quote_line = line_;
          ++pos_;
        } else {
          field += c;
          state = State::kUnquoted;
          ++pos_;
        }
        break;
      case State::kQuoted:
        if (c == '"') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
            field += '"';
            pos_ += 2;
          } else {
            state = State::kAfterQuote;
            ++pos_;
          }
        } else if (c == '\n' || c == '\r') {
          const size_t from = pos_;
          ConsumeLineBreak();
          field.append(text_.substr(from, pos_ - from));
        } else {
          field += c;
          ++pos_;
        }
        break;
      case State::kAfterQuote:
        if (c == ',') {
          out->fields.push_back(std::move(field));
          field.clear();
          state = State::kFieldStart;
          ++pos_;
        } else if (c == '\n' || c == '\r') {
          ConsumeLineBreak();
          out->fields.push_back(std::move(field));
          return true;
        } else {
          out->error = absl::StrCat("line ", line_,
                                    ": text after the closing quote of field ",
                                    out->fields.size() + 1);
          out->fields.push_back(std::move(field));
          SkipRestOfLine();
          return true;
        }
        break;
    }
  }
  if (state == State::kQuoted) {
    unclosed_quote_ = true;
    out->error = absl::StrCat(
        "line ", quote_line, ": quoted field ", out->fields.size() + 1,
        " is not closed before the end of the input (a missing "
        "closing quote swallows the rest of the file)");
  }
  out->fields.push_back(std::move(field));
  return true;
}

absl::StatusOr<std::vector<CsvRecord>> ReadCsv(std::string_view text) {
  std::vector<CsvRecord> records;
  CsvReader reader(text);
  CsvRecord r;
  // Each record consumes at least one byte of `text`.
  while (reader.Next(&r)) {
    if (!r.error.empty()) {
      return absl::InvalidArgumentError(r.error);
    }
    records.push_back(std::move(r));
    r = CsvRecord();
  }
  return records;
}

std::string CsvLine(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    out += CsvField(fields[i]);
  }
  out += "\r\n";
  return out;
}

}  // namespace salesops::ctl
