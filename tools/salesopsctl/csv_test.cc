// The RFC 4180 reader and writer of salesopsctl's CSV import/export.

#include "tools/salesopsctl/csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace salesops::ctl {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

std::vector<CsvRecord> ReadAll(const std::string& text,
                               bool* unclosed = nullptr) {
  std::vector<CsvRecord> out;
  CsvReader reader(text);
  CsvRecord r;
  for (int i = 0; i < 1000 && reader.Next(&r); ++i) {
    out.push_back(r);
  }
  if (unclosed != nullptr) {
    *unclosed = reader.unclosed_quote();
  }
  return out;
}

TEST(CsvReaderTest, PlainRecordsWithLf) {
  std::vector<CsvRecord> r = ReadAll("a,b,c\n1,2,3\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_THAT(r[0].fields, ElementsAre("a", "b", "c"));
  EXPECT_THAT(r[1].fields, ElementsAre("1", "2", "3"));
  EXPECT_EQ(r[0].line, 1);
  EXPECT_EQ(r[1].line, 2);
  EXPECT_THAT(r[0].error, IsEmpty());
  EXPECT_THAT(r[1].error, IsEmpty());
}

TEST(CsvReaderTest, CrlfAndNoFinalLineBreak) {
  std::vector<CsvRecord> r = ReadAll("a,b\r\n1,2\r\n3,4");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_THAT(r[1].fields, ElementsAre("1", "2"));
  EXPECT_THAT(r[2].fields, ElementsAre("3", "4"));
  EXPECT_EQ(r[2].line, 3);
}

TEST(CsvReaderTest, EmptyFieldsKept) {
  std::vector<CsvRecord> r = ReadAll(",x,\n,,\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_THAT(r[0].fields, ElementsAre("", "x", ""));
  EXPECT_THAT(r[1].fields, ElementsAre("", "", ""));
}

TEST(CsvReaderTest, QuotedFieldsWithCommasAndDoubledQuotes) {
  std::vector<CsvRecord> r =
      ReadAll("\"Acme, Inc.\",\"say \"\"hi\"\"\",\"\"\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_THAT(r[0].fields, ElementsAre("Acme, Inc.", "say \"hi\"", ""));
  EXPECT_THAT(r[0].error, IsEmpty());
}

TEST(CsvReaderTest, EmbeddedLineBreaksKeepPhysicalLineNumbers) {
  // Record 2 spans lines 2..4 (an LF and a CRLF inside quotes); record 3
  // starts on line 5.
  std::vector<CsvRecord> r = ReadAll("h1,h2\nx,\"one\ntwo\r\nthree\"\ny,z\n");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1].line, 2);
  EXPECT_THAT(r[1].fields, ElementsAre("x", "one\ntwo\r\nthree"));
  EXPECT_EQ(r[2].line, 5);
  EXPECT_THAT(r[2].fields, ElementsAre("y", "z"));
}

TEST(CsvReaderTest, BlankLinesAreSkippedButCounted) {
  std::vector<CsvRecord> r = ReadAll("a\n\n\r\nb\n\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_THAT(r[1].fields, ElementsAre("b"));
  EXPECT_EQ(r[1].line, 4);
}

TEST(CsvReaderTest, ByteOrderMarkSkipped) {
  std::vector<CsvRecord> r = ReadAll("\xEF\xBB\xBFname,amount\nx,1\n");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_THAT(r[0].fields, ElementsAre("name", "amount"));
}

TEST(CsvReaderTest, LoneCrIsALineBreak) {
  std::vector<CsvRecord> r = ReadAll("a,b\rc,d\r");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_THAT(r[1].fields, ElementsAre("c", "d"));
  EXPECT_EQ(r[1].line, 2);
}

TEST(CsvReaderTest, EmptyInputHasNoRecords) {
  EXPECT_THAT(ReadAll(""), IsEmpty());
  EXPECT_THAT(ReadAll("\n\r\n"), IsEmpty());
}

TEST(CsvReaderTest, QuoteInsideUnquotedFieldSpoilsOnlyThatRecord) {
  std::vector<CsvRecord> r = ReadAll("a,b\nab\"c,d\ne,f\n");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_THAT(r[1].error, StartsWith("line 2: quote inside unquoted field 1"));
  EXPECT_EQ(r[1].line, 2);
  EXPECT_THAT(r[2].error, IsEmpty());
  EXPECT_THAT(r[2].fields, ElementsAre("e", "f"));
  EXPECT_EQ(r[2].line, 3);
}

TEST(CsvReaderTest, TextAfterClosingQuoteNamesTheFaultyLine) {
  // The record starts on line 2; the fault is on line 3, inside it.
  std::vector<CsvRecord> r = ReadAll("a,b\nx,\"multi\nline\"junk\ny,z\n");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1].line, 2);
  EXPECT_THAT(r[1].error,
              StartsWith("line 3: text after the closing quote of field 2"));
  EXPECT_THAT(r[2].fields, ElementsAre("y", "z"));
  EXPECT_EQ(r[2].line, 4);
}

TEST(CsvReaderTest, UnclosedQuoteAtEndOfInput) {
  bool unclosed = false;
  std::vector<CsvRecord> r = ReadAll("a,b\nx,\"open\ny,z\n", &unclosed);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(unclosed);
  EXPECT_EQ(r[1].line, 2);
  EXPECT_THAT(r[1].error, StartsWith("line 2: quoted field 2 is not closed"));
}

TEST(CsvReaderTest, ReadCsvFailsAtTheFirstMalformedRecord) {
  absl::StatusOr<std::vector<CsvRecord>> ok = ReadCsv("a\n\"b\"\n");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->size(), 2u);
  absl::StatusOr<std::vector<CsvRecord>> bad = ReadCsv("a\nb\nc\"\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("line 3"));
}

TEST(CsvWriterTest, LineRoundTripsThroughTheReader) {
  const std::vector<std::string> fields = {
      "plain", "with,comma", "with \"quote\"", "two\nlines", "", "cr\r\nlf"};
  const std::string line = CsvLine(fields);
  EXPECT_THAT(line, StartsWith("plain,\"with,comma\",\"with \"\"quote\"\"\","));
  EXPECT_EQ(line.substr(line.size() - 2), "\r\n");
  std::vector<CsvRecord> r = ReadAll(line + CsvLine({"next"}));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].fields, fields);
  EXPECT_THAT(r[0].error, IsEmpty());
  // Two line breaks inside the first record: it spans lines 1..3.
  EXPECT_EQ(r[1].line, 4);
}

}  // namespace
}  // namespace salesops::ctl
