#pragma once

// RFC 4180 CSV for salesopsctl's import and export (transfer_commands.cc).
//
// Reading: fields separated by ',', records by CRLF or LF (a lone CR counts
// as a line break too); a field may be enclosed in double quotes, and then
// holds commas, line breaks and quotes written twice (""). A UTF-8 byte order
// mark at the very start is skipped, and so is an empty physical line between
// records (it is no record). Every record knows the physical line (1-based)
// it starts on, so a report can point at it even when earlier records span
// several lines.
//
// Malformed input is reported per record, with the physical line of the
// fault in the message ("line 7: ..."):
//   - a quote inside an unquoted field (`ab"c`) or text after a closing
//     quote (`"ab"c`): that record is malformed; reading goes on with the
//     next physical line;
//   - a quoted field still open at the end of the input: the last record is
//     malformed and `unclosed_quote()` is set — the rest of the input was
//     swallowed by the quote, so the records before it may be all there is.
// Field values are returned exactly as written (no trimming).
//
// Writing: CsvLine joins fields with ',' and ends the record with CRLF,
// quoting a field that holds a comma, quote, CR or LF (CsvField, output.h).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace salesops::ctl {

struct CsvRecord {
  int64_t line = 0;  // physical line (1-based) where the record starts
  std::vector<std::string> fields;
  // "" for a well-formed record; otherwise why not, starting "line N: ".
  // `fields` then holds what was read before the fault.
  std::string error;
};

class CsvReader {
 public:
  // `text` must outlive the reader.
  explicit CsvReader(std::string_view text);

  // The next record into `*out`: true, or false at the end of the input. A
  // malformed record is returned too (true, with `error` set).
  bool Next(CsvRecord* out);

  // A quoted field was open at the end of the input (see above).
  bool unclosed_quote() const { return unclosed_quote_; }

 private:
  // Consumes one line break at pos_ if there is one.
  bool ConsumeLineBreak();
  // Skips the rest of the current physical line, and its line break.
  void SkipRestOfLine();

  std::string_view text_;
  size_t pos_ = 0;
  int64_t line_ = 1;
  bool unclosed_quote_ = false;
};

// Every record of `text`, or INVALID_ARGUMENT with the first malformed
// record's error.
[[nodiscard]] absl::StatusOr<std::vector<CsvRecord>> ReadCsv(
    std::string_view text);

// One record: the fields quoted as needed, joined by ',', ending in CRLF.
std::string CsvLine(const std::vector<std::string>& fields);

}  // namespace salesops::ctl
