#include "common/status/errors.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace salesops {
namespace {

constexpr char kTypePrefix[] = "type.googleapis.com/";
// Room kept for ErrorInfo and RetryInfo when BadRequest fills the details.
constexpr size_t kReservedBytes = 512;
// Longest field path or description sent in a detail.
constexpr size_t kMaxTextBytes = 1024;

std::string TypeUrl(const google::protobuf::Message& m) {
  return absl::StrCat(kTypePrefix, m.GetDescriptor()->full_name());
}

template <typename Msg>
std::string UrlOf() {
  return absl::StrCat(kTypePrefix, Msg::descriptor()->full_name());
}

void SetPayload(absl::Status& s, const google::protobuf::Message& m) {
  s.SetPayload(TypeUrl(m), absl::Cord(m.SerializeAsString()));
}

template <typename Msg>
std::optional<Msg> PayloadOf(const absl::Status& s) {
  absl::optional<absl::Cord> bytes = s.GetPayload(UrlOf<Msg>());
  Msg m;
  if (!bytes || !m.ParseFromString(std::string(*bytes))) {
    return std::nullopt;
  }
  return m;
}

std::string_view Std(absl::string_view s) { return {s.data(), s.size()}; }

std::string Clip(std::string_view s) {
  return std::string(s.substr(0, kMaxTextBytes));
}

}  // namespace

std::string BoundedMessage(std::string_view message) {
  if (message.size() <= kMaxMessageBytes) {
    return std::string(message);
  }
  size_t cut = kMaxMessageBytes - 32;
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) {
    --cut;  // not inside a UTF-8 sequence
  }
  return absl::StrCat(absl::string_view(message.data(), cut), "… (",
                      message.size() - cut, " more bytes)");
}

FieldViolation ParseViolation(std::string_view text) {
  const size_t colon = text.find(": ");
  if (colon == std::string_view::npos || colon == 0 ||
      text.substr(0, colon).find(' ') != std::string_view::npos) {
    return {"", std::string(text)};
  }
  return {std::string(text.substr(0, colon)),
          std::string(text.substr(colon + 2))};
}

namespace {

std::string DefaultReason(absl::StatusCode code) {
  if (code == absl::StatusCode::kOk) {
    return "";
  }
  if (code == absl::StatusCode::kInvalidArgument) {
    return "INVALID_FIELD";
  }
  return absl::StatusCodeToString(code);
}

google::rpc::RetryInfo RetryInfoOf(absl::Duration delay) {
  google::rpc::RetryInfo retry;
  const int64_t nanos = absl::ToInt64Nanoseconds(delay);
  retry.mutable_retry_delay()->set_seconds(nanos / 1'000'000'000);
  retry.mutable_retry_delay()->set_nanos(
      static_cast<int32_t>(nanos % 1'000'000'000));
  return retry;
}

absl::Duration DelayOf(const google::rpc::RetryInfo& retry) {
  return absl::Seconds(retry.retry_delay().seconds()) +
         absl::Nanoseconds(retry.retry_delay().nanos());
}

google::protobuf::Any Pack(const google::protobuf::Message& m) {
  google::protobuf::Any any;
  any.PackFrom(m);
  return any;
}

// The BadRequest of an INVALID_ARGUMENT, filled while it fits `budget`;
// `*omitted` counts the violations left out.
google::rpc::BadRequest BoundedBadRequest(const absl::Status& s, size_t budget,
                                          size_t* omitted) {
  google::rpc::BadRequest bad;
  const std::vector<FieldViolation> all = FieldViolationsOf(s);
  size_t used = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    google::rpc::BadRequest::FieldViolation v;
    v.set_field(Clip(all[i].field));
    v.set_description(Clip(all[i].description));
    const size_t size = v.ByteSizeLong() + 4;
    if (used + size > budget) {
      *omitted = all.size() - i;
      break;
    }
    used += size;
    *bad.add_field_violations() = std::move(v);
  }
  return bad;
}

google::rpc::PreconditionFailure PreconditionOf(const absl::Status& s) {
  if (auto stored = PayloadOf<google::rpc::PreconditionFailure>(s)) {
    return *stored;
  }
  google::rpc::PreconditionFailure failure;
  google::rpc::PreconditionFailure::Violation* v = failure.add_violations();
  const FieldViolation split = ParseViolation(Std(s.message()));
  v->set_type(ReasonOf(s));
  v->set_subject(Clip(split.field));
  v->set_description(Clip(Std(s.message())));
  return failure;
}

}  // namespace

absl::Status InvalidFields(const std::vector<FieldViolation>& violations) {
  if (violations.empty()) {
    return absl::OkStatus();
  }
  google::rpc::BadRequest bad;
  std::vector<std::string> parts;
  for (const FieldViolation& v : violations) {
    auto* fv = bad.add_field_violations();
    fv->set_field(v.field);
    fv->set_description(v.description);
    parts.push_back(v.field.empty()
                        ? v.description
                        : absl::StrCat(v.field, ": ", v.description));
  }
  absl::Status s = absl::InvalidArgumentError(absl::StrJoin(parts, "; "));
  SetPayload(s, bad);
  return s;
}

absl::Status FailedPrecondition(std::string_view reason,
                                std::string_view subject,
                                std::string_view message) {
  absl::Status s = absl::FailedPreconditionError(std::string(message));
  google::rpc::PreconditionFailure failure;
  auto* v = failure.add_violations();
  v->set_type(std::string(reason));
  v->set_subject(std::string(subject));
  v->set_description(std::string(message));
  SetPayload(s, failure);
  return WithReason(std::move(s), reason);
}

absl::Status WithReason(absl::Status status, std::string_view reason) {
  if (status.ok()) {
    return status;
  }
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(std::string(kErrorDomain));
  SetPayload(status, info);
  return status;
}

absl::Status WithRetryDelay(absl::Status status, absl::Duration delay) {
  if (status.ok()) {
    return status;
  }
  SetPayload(status, RetryInfoOf(delay));
  return status;
}

std::vector<FieldViolation> FieldViolationsOf(const absl::Status& status) {
  std::vector<FieldViolation> out;
  if (status.code() != absl::StatusCode::kInvalidArgument) {
    return out;
  }
  if (auto bad = PayloadOf<google::rpc::BadRequest>(status)) {
    for (const auto& v : bad->field_violations()) {
      out.push_back({v.field(), v.description()});
    }
    return out;
  }
  for (absl::string_view part :
       absl::StrSplit(status.message(), "; ", absl::SkipEmpty())) {
    out.push_back(ParseViolation(Std(part)));
  }
  return out;
}

std::string ReasonOf(const absl::Status& status) {
  if (auto info = PayloadOf<google::rpc::ErrorInfo>(status);
      info && !info->reason().empty()) {
    return info->reason();
  }
  return DefaultReason(status.code());
}

std::optional<absl::Duration> RetryDelayOf(const absl::Status& status) {
  if (auto retry = PayloadOf<google::rpc::RetryInfo>(status)) {
    return DelayOf(*retry);
  }
  if (status.code() == absl::StatusCode::kUnavailable) {
    return absl::Seconds(1);
  }
  if (status.code() == absl::StatusCode::kAborted &&
      ReasonOf(status) != "STALE_VERSION") {
    return absl::Milliseconds(100);
  }
  return std::nullopt;
}

std::string SerializedDetails(const absl::Status& status) {
  if (status.ok()) {
    return "";
  }
  google::rpc::Status out;
  out.set_code(static_cast<int>(status.code()));
  out.set_message(BoundedMessage(Std(status.message())));
  google::rpc::ErrorInfo info;
  info.set_reason(ReasonOf(status));
  info.set_domain(std::string(kErrorDomain));
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    size_t omitted = 0;
    *out.add_details() = Pack(BoundedBadRequest(
        status, kMaxDetailsBytes - kReservedBytes - out.ByteSizeLong(),
        &omitted));
    if (omitted > 0) {
      (*info.mutable_metadata())["violations_omitted"] = absl::StrCat(omitted);
    }
  } else if (status.code() == absl::StatusCode::kFailedPrecondition) {
    *out.add_details() = Pack(PreconditionOf(status));
  }
  if (std::optional<absl::Duration> delay = RetryDelayOf(status)) {
    *out.add_details() = Pack(RetryInfoOf(*delay));
  }
  *out.add_details() = Pack(info);
  return out.SerializeAsString();
}

absl::Status FromSerializedDetails(absl::StatusCode code, std::string message,
                                   std::string_view serialized) {
  absl::Status s(code, std::move(message));
  google::rpc::Status parsed;
  if (s.ok() || serialized.empty() ||
      !parsed.ParseFromArray(serialized.data(),
                             static_cast<int>(serialized.size()))) {
    return s;
  }
  // Details equal to what the code and message imply are not kept, so a
  // status that crossed a peer unchanged compares equal to the original.
  const std::vector<FieldViolation> implied = FieldViolationsOf(s);
  const std::optional<absl::Duration> implied_delay = RetryDelayOf(s);
  for (const google::protobuf::Any& any : parsed.details()) {
    google::rpc::BadRequest bad;
    google::rpc::PreconditionFailure failure;
    google::rpc::RetryInfo retry;
    google::rpc::ErrorInfo info;
    if (any.Is<google::rpc::BadRequest>() && any.UnpackTo(&bad)) {
      std::vector<FieldViolation> got;
      for (const auto& v : bad.field_violations()) {
        got.push_back({v.field(), v.description()});
      }
      if (got != implied) {
        SetPayload(s, bad);
      }
    } else if (any.Is<google::rpc::PreconditionFailure>() &&
               any.UnpackTo(&failure)) {
      if (failure.SerializeAsString() !=
          PreconditionOf(s).SerializeAsString()) {
        SetPayload(s, failure);
      }
    } else if (any.Is<google::rpc::RetryInfo>() && any.UnpackTo(&retry)) {
      if (implied_delay != DelayOf(retry)) {
        SetPayload(s, retry);
      }
    } else if (any.Is<google::rpc::ErrorInfo>() && any.UnpackTo(&info)) {
      if (info.reason() != DefaultReason(code) || info.metadata_size() > 0) {
        SetPayload(s, info);
      }
    }
  }
  return s;
}

}  // namespace salesops
