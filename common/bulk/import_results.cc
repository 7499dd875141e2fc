#include "common/bulk/import_results.h"

#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/status/errors.h"
#include "google/rpc/error_details.pb.h"

namespace salesops::bulk {

absl::Status ValidateImportBatch(int rows, int64_t first_row) {
  std::vector<FieldViolation> v;
  if (rows < 1) {
    v.push_back({"rows", "at least 1 row"});
  } else if (rows > kMaxImportRows) {
    v.push_back({"rows", absl::StrCat("at most ", kMaxImportRows,
                                      " items (got ", rows, ")")});
  }
  if (first_row < 0 || first_row > kMaxFirstRow) {
    v.push_back({"first_row", absl::StrCat("must be 0..", kMaxFirstRow,
                                           " (got ", first_row, ")")});
  }
  return InvalidFields(v);
}

int64_t ImportRowNumber(int64_t first_row, int index) {
  return (first_row == 0 ? 1 : first_row) + index;
}

absl::Status RequireImportRequestId(std::string_view request_id, int index) {
  if (!request_id.empty()) {
    return absl::OkStatus();
  }
  // The message names the row's path; the violation is relative to the row,
  // as the single create's are.
  absl::Status s = absl::InvalidArgumentError(
      absl::StrCat("rows[", index, "].request_id: required in an import"));
  google::rpc::BadRequest bad;
  google::rpc::BadRequest::FieldViolation* v = bad.add_field_violations();
  v->set_field("request_id");
  v->set_description("required in an import");
  s.SetPayload(absl::StrCat("type.googleapis.com/",
                            google::rpc::BadRequest::descriptor()->full_name()),
               absl::Cord(bad.SerializeAsString()));
  return s;
}

namespace {

void AddViolations(const absl::Status& status, v1::ImportRowResult* r) {
  const std::vector<FieldViolation> all = FieldViolationsOf(status);
  size_t used = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    const size_t size = all[i].field.size() + all[i].description.size();
    if (used + size > kMaxRowViolationBytes) {
      // After the bounded message: the count must not be cut off.
      r->set_message(absl::StrCat(r->message(), " (", all.size() - i,
                                  " more violations)"));
      return;
    }
    used += size;
    v1::ImportViolation* out = r->add_violations();
    out->set_field(all[i].field);
    out->set_description(all[i].description);
  }
}

}  // namespace

v1::ImportRowResult ImportRowResultOf(int64_t row, const absl::Status& status,
                                      bool created, std::string id) {
  v1::ImportRowResult r;
  r.set_row(row);
  if (status.ok()) {
    r.set_outcome(created ? v1::IMPORT_ROW_OUTCOME_CREATED
                          : v1::IMPORT_ROW_OUTCOME_ALREADY_IMPORTED);
    r.set_id(std::move(id));
    return r;
  }
  r.set_outcome(v1::IMPORT_ROW_OUTCOME_REJECTED);
  r.set_code(static_cast<int32_t>(status.code()));
  r.set_message(BoundedMessage(
      std::string_view(status.message().data(), status.message().size())));
  AddViolations(status, &r);
  return r;
}

v1::ImportCounts CountImportResults(
    const google::protobuf::RepeatedPtrField<v1::ImportRowResult>& results) {
  v1::ImportCounts c;
  for (const v1::ImportRowResult& r : results) {
    switch (r.outcome()) {
      case v1::IMPORT_ROW_OUTCOME_CREATED:
        c.set_created(c.created() + 1);
        break;
      case v1::IMPORT_ROW_OUTCOME_ALREADY_IMPORTED:
        c.set_already_imported(c.already_imported() + 1);
        break;
      default:
        c.set_rejected(c.rejected() + 1);
        break;
    }
  }
  return c;
}

}  // namespace salesops::bulk
