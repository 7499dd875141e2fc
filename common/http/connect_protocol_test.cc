#include "common/http/connect_protocol.h"

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "common/status/errors.h"
#include "google/rpc/error_details.pb.h"
#include "salesops/v1/common.pb.h"
#include "salesops/v1/feed.pb.h"

namespace salesops::connect {
namespace {

TEST(ConnectProtocolTest, ContentTypesOfUnaryAndStreaming) {
  auto json = ParseContentType("application/json; charset=utf-8");
  ASSERT_TRUE(json.has_value());
  EXPECT_EQ(json->codec, Codec::kJson);
  EXPECT_FALSE(json->streaming);
  auto proto = ParseContentType("Application/Proto");
  ASSERT_TRUE(proto.has_value());
  EXPECT_EQ(proto->codec, Codec::kProto);
  auto stream = ParseContentType("application/connect+json");
  ASSERT_TRUE(stream.has_value());
  EXPECT_TRUE(stream->streaming);
  EXPECT_EQ(ContentTypeOf(*stream), "application/connect+json");
  EXPECT_FALSE(ParseContentType("text/plain").has_value());
  EXPECT_FALSE(ParseContentType("application/grpc").has_value());
}

TEST(ConnectProtocolTest, CodesMapToConnectNamesAndHttpStatuses) {
  EXPECT_EQ(CodeName(absl::StatusCode::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kAborted), 409);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kUnimplemented), 501);
  EXPECT_EQ(CodeName(absl::StatusCode::kCancelled), "canceled");
}

TEST(ConnectProtocolTest, TimeoutHeaderIsOneToTenDigits) {
  EXPECT_FALSE(ParseTimeoutMs("")->has_value());
  EXPECT_EQ(ParseTimeoutMs("250")->value(), 250);
  EXPECT_EQ(ParseTimeoutMs("9999999999")->value(), 9999999999);
  EXPECT_FALSE(ParseTimeoutMs("12345678901").ok());
  EXPECT_FALSE(ParseTimeoutMs("-5").ok());
  absl::Status bad = ParseTimeoutMs("1s").status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("Connect-Timeout-Ms"), std::string::npos);
}

TEST(ConnectProtocolTest, ErrorJsonCarriesTheGrpcDetails) {
  absl::Status status = InvalidFields({{"account.name", "must not be empty"}});
  std::string json = ErrorJson(status.code(), std::string(status.message()),
                               SerializedDetails(status));
  EXPECT_NE(json.find("\"code\":\"invalid_argument\""), std::string::npos);
  EXPECT_NE(json.find("\"message\":\"account.name: must not be empty\""),
            std::string::npos);
  EXPECT_NE(json.find("\"type\":\"google.rpc.BadRequest\""), std::string::npos);
  EXPECT_NE(json.find("\"debug\":{\"fieldViolations\""), std::string::npos);
  // The value is the detail's bytes, base64 without padding.
  google::rpc::BadRequest bad_request;
  auto* violation = bad_request.add_field_violations();
  violation->set_field("account.name");
  violation->set_description("must not be empty");
  std::string value = absl::Base64Escape(bad_request.SerializeAsString());
  while (!value.empty() && value.back() == '=') value.pop_back();
  EXPECT_NE(json.find("\"value\":\"" + value + "\""), std::string::npos)
      << json;
}

TEST(ConnectProtocolTest, ErrorJsonEscapesTheMessage) {
  std::string json =
      ErrorJson(absl::StatusCode::kNotFound, "a \"quoted\"\nline\x01", "");
  EXPECT_EQ(json,
            "{\"code\":\"not_found\",\"message\":\"a \\\"quoted\\\"\\nline"
            "\\u0001\"}");
}

TEST(ConnectProtocolTest, EnvelopesRoundTripAndAreChecked) {
  std::string frame = Envelope(0, "{\"a\":1}");
  ASSERT_EQ(frame.size(), 5u + 7u);
  EXPECT_EQ(frame[4], 7);
  auto parsed = ParseSingleEnvelope(frame, 100);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->payload, "{\"a\":1}");
  EXPECT_FALSE(ParseSingleEnvelope(frame, 3).ok());  // too large
  EXPECT_FALSE(ParseSingleEnvelope(frame + "x", 100).ok());
  EXPECT_FALSE(ParseSingleEnvelope("abc", 100).ok());
  EXPECT_EQ(
      ParseSingleEnvelope(Envelope(kCompressedFlag, "x"), 100).status().code(),
      absl::StatusCode::kUnimplemented);
  EXPECT_EQ(EndStream(absl::StatusCode::kOk, "", ""),
            Envelope(kEndStreamFlag, "{}"));
  std::string end = EndStream(absl::StatusCode::kOutOfRange, "too old", "");
  EXPECT_EQ(static_cast<uint8_t>(end[0]), kEndStreamFlag);
  EXPECT_NE(end.find("{\"error\":{\"code\":\"out_of_range\""),
            std::string::npos);
}

TEST(ConnectProtocolTest, JsonConvertsBothWaysWithCamelCaseAndInt64Strings) {
  const auto& type = *v1::Money::descriptor();
  auto binary =
      ToBinary(Codec::kJson, type, R"({"unitsMinor":"12345","currency":"EUR",
                                    "unknownField":true})");
  ASSERT_TRUE(binary.ok()) << binary.status();
  v1::Money money;
  ASSERT_TRUE(money.ParseFromString(*binary));
  EXPECT_EQ(money.units_minor(), 12345);
  auto snake = ToBinary(Codec::kJson, type, R"({"units_minor":7})");
  ASSERT_TRUE(snake.ok());
  auto json = FromBinary(Codec::kJson, type, money.SerializeAsString());
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, R"({"unitsMinor":"12345","currency":"EUR"})");
  auto bad = ToBinary(Codec::kJson, type, "{not json");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ToBinary(Codec::kProto, type, "raw"), "raw");
}

TEST(ConnectProtocolTest, AnyPayloadsOfFeedEventsPrintAsJson) {
  v1::Event event;
  v1::Money money;
  money.set_units_minor(5);
  money.set_currency("EUR");
  event.mutable_payload()->PackFrom(money);
  auto json = FromBinary(Codec::kJson, *v1::Event::descriptor(),
                         event.SerializeAsString());
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find("\"@type\":\"type.googleapis.com/salesops.v1.Money\""),
            std::string::npos)
      << *json;
}

}  // namespace
}  // namespace salesops::connect
