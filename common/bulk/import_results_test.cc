#include "common/bulk/import_results.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/status/errors.h"

namespace salesops::bulk {
namespace {

using ::testing::HasSubstr;

TEST(ImportBatch, AcceptsOneToAThousandRowsAndFirstRowInRange) {
  EXPECT_TRUE(ValidateImportBatch(1, 0).ok());
  EXPECT_TRUE(ValidateImportBatch(kMaxImportRows, kMaxFirstRow).ok());
}

TEST(ImportBatch, RefusesNoRowsTooManyRowsAndFirstRowOutOfRange) {
  absl::Status none = ValidateImportBatch(0, 1);
  EXPECT_EQ(none.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(none.message(), "rows: at least 1 row");
  absl::Status many = ValidateImportBatch(kMaxImportRows + 1, 1);
  EXPECT_THAT(std::string(many.message()),
              HasSubstr("rows: at most 1000 items (got 1001)"));
  absl::Status both = ValidateImportBatch(0, -1);
  ASSERT_EQ(FieldViolationsOf(both).size(), 2u);
  EXPECT_EQ(FieldViolationsOf(both)[1].field, "first_row");
  EXPECT_FALSE(ValidateImportBatch(1, kMaxFirstRow + 1).ok());
}

TEST(ImportBatch, RowNumbersStartAtFirstRowOrOne) {
  EXPECT_EQ(ImportRowNumber(0, 0), 1);
  EXPECT_EQ(ImportRowNumber(0, 4), 5);
  EXPECT_EQ(ImportRowNumber(501, 2), 503);
}

TEST(ImportBatch, EveryRowNeedsARequestIdNamedByItsIndex) {
  EXPECT_TRUE(RequireImportRequestId("r1", 3).ok());
  absl::Status missing = RequireImportRequestId("", 3);
  EXPECT_EQ(missing.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(missing.message(), "rows[3].request_id: required in an import");
  ASSERT_EQ(FieldViolationsOf(missing).size(), 1u);
  EXPECT_EQ(FieldViolationsOf(missing)[0],
            (FieldViolation{"request_id", "required in an import"}));
}

TEST(ImportRowResult, OkIsCreatedOrAlreadyImportedWithTheId) {
  v1::ImportRowResult created =
      ImportRowResultOf(7, absl::OkStatus(), true, "a");
  EXPECT_EQ(created.row(), 7);
  EXPECT_EQ(created.outcome(), v1::IMPORT_ROW_OUTCOME_CREATED);
  EXPECT_EQ(created.id(), "a");
  EXPECT_EQ(created.code(), 0);
  v1::ImportRowResult again =
      ImportRowResultOf(7, absl::OkStatus(), false, "a");
  EXPECT_EQ(again.outcome(), v1::IMPORT_ROW_OUTCOME_ALREADY_IMPORTED);
  EXPECT_EQ(again.id(), "a");
}

TEST(ImportRowResult, InvalidFieldsBecomeViolationsFromTheDetails) {
  absl::Status bad = InvalidFields(
      {{"opportunity.name", "required"},
       {"opportunity.amount.units_minor", "must be > 0; and more"}});
  v1::ImportRowResult r = ImportRowResultOf(9, bad, false, "ignored");
  EXPECT_EQ(r.outcome(), v1::IMPORT_ROW_OUTCOME_REJECTED);
  EXPECT_EQ(r.code(), 3);
  EXPECT_EQ(r.id(), "");
  EXPECT_EQ(r.message(), std::string(bad.message()));
  ASSERT_EQ(r.violations_size(), 2);
  EXPECT_EQ(r.violations(0).field(), "opportunity.name");
  // Taken from the BadRequest, not re-split from the message's "; ".
  EXPECT_EQ(r.violations(1).description(), "must be > 0; and more");
}

TEST(ImportRowResult, OtherCodesCarryCodeAndMessageWithoutViolations) {
  absl::Status reused = FailedPrecondition("REQUEST_ID_REUSED", "request_id",
                                           "request_id: reused");
  v1::ImportRowResult r = ImportRowResultOf(2, reused, false, "");
  EXPECT_EQ(r.code(), 9);
  EXPECT_EQ(r.message(), "request_id: reused");
  EXPECT_EQ(r.violations_size(), 0);
  v1::ImportRowResult denied =
      ImportRowResultOf(3, absl::PermissionDeniedError("no"), false, "");
  EXPECT_EQ(denied.code(), 7);
}

TEST(ImportRowResult, ViolationsAndMessageAreBounded) {
  std::vector<FieldViolation> many;
  for (int i = 0; i < 500; ++i) {
    many.push_back({"opportunity.competitors", std::string(40, 'x')});
  }
  v1::ImportRowResult r = ImportRowResultOf(1, InvalidFields(many), false, "");
  EXPECT_LT(r.violations_size(), 500);
  EXPECT_GT(r.violations_size(), 0);
  EXPECT_LE(r.message().size(), kMaxMessageBytes + 64);
  EXPECT_THAT(r.message(), HasSubstr("more violations)"));
}

TEST(ImportCounts, CountsEachOutcome) {
  google::protobuf::RepeatedPtrField<v1::ImportRowResult> results;
  *results.Add() = ImportRowResultOf(1, absl::OkStatus(), true, "a");
  *results.Add() = ImportRowResultOf(2, absl::OkStatus(), true, "b");
  *results.Add() = ImportRowResultOf(3, absl::OkStatus(), false, "c");
  *results.Add() = ImportRowResultOf(4, absl::NotFoundError("x"), false, "");
  v1::ImportCounts c = CountImportResults(results);
  EXPECT_EQ(c.created(), 2);
  EXPECT_EQ(c.already_imported(), 1);
  EXPECT_EQ(c.rejected(), 1);
}

}  // namespace
}  // namespace salesops::bulk
