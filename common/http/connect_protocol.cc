#include "common/http/connect_protocol.h"

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/log/log.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/status.pb.h"

namespace salesops::connect {
namespace {

// Abseil 20220623 here has its own string_view type.
absl::string_view AV(std::string_view s) { return {s.data(), s.size()}; }

struct CodeRow {
  absl::StatusCode code;
  std::string_view name;
  int http;
};

// connectrpc.com/docs/protocol#error-codes.
constexpr CodeRow kCodes[] = {
    {absl::StatusCode::kCancelled, "canceled", 499},
    {absl::StatusCode::kUnknown, "unknown", 500},
    {absl::StatusCode::kInvalidArgument, "invalid_argument", 400},
    {absl::StatusCode::kDeadlineExceeded, "deadline_exceeded", 504},
    {absl::StatusCode::kNotFound, "not_found", 404},
    {absl::StatusCode::kAlreadyExists, "already_exists", 409},
    {absl::StatusCode::kPermissionDenied, "permission_denied", 403},
    {absl::StatusCode::kResourceExhausted, "resource_exhausted", 429},
    {absl::StatusCode::kFailedPrecondition, "failed_precondition", 400},
    {absl::StatusCode::kAborted, "aborted", 409},
    {absl::StatusCode::kOutOfRange, "out_of_range", 400},
    {absl::StatusCode::kUnimplemented, "unimplemented", 501},
    {absl::StatusCode::kInternal, "internal", 500},
    {absl::StatusCode::kUnavailable, "unavailable", 503},
    {absl::StatusCode::kDataLoss, "data_loss", 500},
    {absl::StatusCode::kUnauthenticated, "unauthenticated", 401},
};

const CodeRow& RowOf(absl::StatusCode code) {
  for (const CodeRow& row : kCodes) {
    if (row.code == code) {
      return row;
    }
  }
  return kCodes[1];  // unknown
}

std::string JsonQuote(std::string_view text) { return log::Value::Quote(text); }

// One element of "details": type, unpadded base64 value and, for a type the
// generated pool knows, its JSON as "debug".
std::string DetailJson(const google::protobuf::Any& any) {
  std::string_view type = any.type_url();
  if (size_t slash = type.rfind('/'); slash != std::string_view::npos) {
    type.remove_prefix(slash + 1);
  }
  std::string value = absl::Base64Escape(any.value());
  while (!value.empty() && value.back() == '=') {
    value.pop_back();
  }
  std::string out =
      absl::StrCat("{\"type\":", JsonQuote(type), ",\"value\":\"", value, "\"");
  const google::protobuf::Descriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
          std::string(type));
  if (descriptor != nullptr) {
    std::unique_ptr<google::protobuf::Message> detail(
        google::protobuf::MessageFactory::generated_factory()
            ->GetPrototype(descriptor)
            ->New());
    std::string debug;
    if (detail->ParseFromString(any.value()) &&
        google::protobuf::util::MessageToJsonString(*detail, &debug).ok()) {
      absl::StrAppend(&out, ",\"debug\":", debug);
    }
  }
  out += "}";
  return out;
}

}  // namespace

std::optional<ContentType> ParseContentType(std::string_view header) {
  std::string_view media = header.substr(0, header.find(';'));
  std::string lower =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(AV(media)));
  if (lower == "application/json") return ContentType{Codec::kJson, false};
  if (lower == "application/proto") return ContentType{Codec::kProto, false};
  if (lower == "application/connect+json") {
    return ContentType{Codec::kJson, true};
  }
  if (lower == "application/connect+proto") {
    return ContentType{Codec::kProto, true};
  }
  return std::nullopt;
}

std::string ContentTypeOf(ContentType type) {
  std::string_view codec = type.codec == Codec::kJson ? "json" : "proto";
  return absl::StrCat("application/", type.streaming ? "connect+" : "",
                      AV(codec));
}

std::string_view CodeName(absl::StatusCode code) { return RowOf(code).name; }

int HttpStatusOf(absl::StatusCode code) { return RowOf(code).http; }

absl::StatusOr<std::optional<int64_t>> ParseTimeoutMs(std::string_view header) {
  if (header.empty()) {
    return std::optional<int64_t>();
  }
  int64_t ms = 0;
  if (header.size() > 10 ||
      header.find_first_not_of("0123456789") != std::string_view::npos ||
      !absl::SimpleAtoi(AV(header), &ms)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Connect-Timeout-Ms: must be 1 to 10 digits (got \"",
                     AV(header.substr(0, 32)), "\")"));
  }
  return std::optional<int64_t>(ms);
}

std::string ErrorJson(absl::StatusCode code, std::string_view message,
                      std::string_view status_details) {
  std::string out = absl::StrCat("{\"code\":", JsonQuote(CodeName(code)));
  if (!message.empty()) {
    absl::StrAppend(&out, ",\"message\":", JsonQuote(message));
  }
  google::rpc::Status status;
  if (!status_details.empty() &&
      status.ParseFromArray(status_details.data(),
                            static_cast<int>(status_details.size())) &&
      status.details_size() > 0) {
    out += ",\"details\":[";
    for (int i = 0; i < status.details_size(); ++i) {
      absl::StrAppend(&out, i > 0 ? "," : "", DetailJson(status.details(i)));
    }
    out += "]";
  }
  out += "}";
  return out;
}

std::string Envelope(uint8_t flags, std::string_view payload) {
  std::string out;
  out.reserve(5 + payload.size());
  out += static_cast<char>(flags);
  const uint32_t size = static_cast<uint32_t>(payload.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    out += static_cast<char>((size >> shift) & 0xff);
  }
  out.append(payload);
  return out;
}

absl::StatusOr<ParsedEnvelope> ParseSingleEnvelope(std::string_view body,
                                                   size_t max_bytes) {
  if (body.size() < 5) {
    return absl::InvalidArgumentError(
        "request body: a streaming request is one enveloped message (5-byte "
        "prefix missing)");
  }
  ParsedEnvelope envelope;
  envelope.flags = static_cast<uint8_t>(body[0]);
  uint32_t size = 0;
  for (int i = 1; i <= 4; ++i) {
    size = (size << 8) | static_cast<unsigned char>(body[i]);
  }
  if (size > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "request body: message of ", size, " bytes exceeds ", max_bytes));
  }
  if (body.size() != 5 + size_t{size}) {
    return absl::InvalidArgumentError(
        "request body: must hold exactly one enveloped message");
  }
  if ((envelope.flags & kCompressedFlag) != 0) {
    return absl::UnimplementedError(
        "request body: compressed messages are not supported (send identity)");
  }
  envelope.payload = std::string(body.substr(5));
  return envelope;
}

std::string EndStream(absl::StatusCode code, std::string_view message,
                      std::string_view status_details) {
  if (code == absl::StatusCode::kOk) {
    return Envelope(kEndStreamFlag, "{}");
  }
  return Envelope(kEndStreamFlag,
                  absl::StrCat("{\"error\":",
                               ErrorJson(code, message, status_details), "}"));
}

absl::StatusOr<std::string> ToBinary(Codec codec,
                                     const google::protobuf::Descriptor& type,
                                     std::string_view body) {
  if (codec == Codec::kProto) {
    return std::string(body);
  }
  std::unique_ptr<google::protobuf::Message> message(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(&type)
          ->New());
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), message.get(),
      options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("request body: not a valid JSON ", type.full_name(), ": ",
                     parsed.message().as_string()));
  }
  return message->SerializeAsString();
}

absl::StatusOr<std::string> FromBinary(Codec codec,
                                       const google::protobuf::Descriptor& type,
                                       std::string_view binary) {
  if (codec == Codec::kProto) {
    return std::string(binary);
  }
  std::unique_ptr<google::protobuf::Message> message(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(&type)
          ->New());
  if (!message->ParseFromArray(binary.data(),
                               static_cast<int>(binary.size()))) {
    return absl::InternalError(
        absl::StrCat("response: cannot decode ", type.full_name()));
  }
  std::string json;
  auto printed = google::protobuf::util::MessageToJsonString(*message, &json);
  if (!printed.ok()) {
    return absl::InternalError(
        absl::StrCat("response: ", printed.message().as_string()));
  }
  return json;
}

}  // namespace salesops::connect
