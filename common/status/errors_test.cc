#include "common/status/errors.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/status/status.h"
#include "common/status/violations.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace salesops {
namespace {

// The google.rpc.Status a client decodes from grpc-status-details-bin.
google::rpc::Status Sent(const absl::Status& s) {
  google::rpc::Status out;
  EXPECT_TRUE(out.ParseFromString(ToGrpc(s).error_details()));
  return out;
}

template <typename Msg>
std::vector<Msg> DetailsOf(const google::rpc::Status& st) {
  std::vector<Msg> out;
  for (const auto& any : st.details()) {
    Msg m;
    if (any.Is<Msg>() && any.UnpackTo(&m)) {
      out.push_back(m);
    }
  }
  return out;
}

TEST(ErrorDetails, ViolationsBecomeOneFieldViolationEach) {
  Violations v;
  v.Add("account.name", "required");
  v.Add("account.tier: unknown value");
  v.Add(absl::InvalidArgumentError("account.owner_node_id: required"));
  const absl::Status s = v.status();
  EXPECT_EQ(s.message(),
            "account.name: required; account.tier: unknown value; "
            "account.owner_node_id: required");
  const google::rpc::Status sent = Sent(s);
  EXPECT_EQ(sent.code(), 3);
  EXPECT_EQ(sent.message(), s.message());
  auto bad = DetailsOf<google::rpc::BadRequest>(sent);
  ASSERT_EQ(bad.size(), 1u);
  ASSERT_EQ(bad[0].field_violations_size(), 3);
  EXPECT_EQ(bad[0].field_violations(1).field(), "account.tier");
  EXPECT_EQ(bad[0].field_violations(1).description(), "unknown value");
  auto info = DetailsOf<google::rpc::ErrorInfo>(sent);
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].reason(), "INVALID_FIELD");
  EXPECT_EQ(info[0].domain(), "salesops.v1");
}

TEST(ErrorDetails, APlainInvalidArgumentIsReadAsFieldRules) {
  const absl::Status s =
      absl::InvalidArgumentError("page_size: must be >= 0; name: required");
  EXPECT_EQ(FieldViolationsOf(s),
            (std::vector<FieldViolation>{{"page_size", "must be >= 0"},
                                         {"name", "required"}}));
  EXPECT_EQ(FieldViolationsOf(absl::InvalidArgumentError("no field here")),
            (std::vector<FieldViolation>{{"", "no field here"}}));
}

TEST(ErrorDetails, PreconditionReasonAndRetry) {
  const absl::Status p = FailedPrecondition(
      "STAGE_EXIT_CRITERIA", "opp-1", "exit criterion budget_confirmed unmet");
  const google::rpc::Status sent = Sent(p);
  auto failure = DetailsOf<google::rpc::PreconditionFailure>(sent);
  ASSERT_EQ(failure.size(), 1u);
  EXPECT_EQ(failure[0].violations(0).type(), "STAGE_EXIT_CRITERIA");
  EXPECT_EQ(failure[0].violations(0).subject(), "opp-1");
  EXPECT_EQ(DetailsOf<google::rpc::ErrorInfo>(sent)[0].reason(),
            "STAGE_EXIT_CRITERIA");
  EXPECT_TRUE(DetailsOf<google::rpc::RetryInfo>(sent).empty());

  auto retry = DetailsOf<google::rpc::RetryInfo>(
      Sent(absl::UnavailableError("store: closing")));
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].retry_delay().seconds(), 1);
  EXPECT_TRUE(DetailsOf<google::rpc::RetryInfo>(
                  Sent(WithReason(absl::AbortedError("version 3, not 2"),
                                  "STALE_VERSION")))
                  .empty());
  EXPECT_EQ(ReasonOf(absl::NotFoundError("x")), "NOT_FOUND");
  EXPECT_EQ(ReasonOf(absl::OkStatus()), "");
}

TEST(ErrorDetails, DetailsAreBounded) {
  Violations v;
  for (int i = 0; i < 5000; ++i) {
    v.Add("items[" + std::to_string(i) + "].name", std::string(300, 'x'));
  }
  const grpc::Status g = ToGrpc(v.status());
  EXPECT_LE(g.error_details().size(), kMaxDetailsBytes);
  EXPECT_LE(g.error_message().size(), kMaxMessageBytes);
  EXPECT_NE(g.error_message().find(" more bytes)"), std::string::npos);
  google::rpc::Status sent;
  ASSERT_TRUE(sent.ParseFromString(g.error_details()));
  auto bad = DetailsOf<google::rpc::BadRequest>(sent);
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_GT(bad[0].field_violations_size(), 0);
  auto info = DetailsOf<google::rpc::ErrorInfo>(sent);
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(std::stoi(info[0].metadata().at("violations_omitted")) +
                bad[0].field_violations_size(),
            5000);
}

TEST(ErrorDetails, PeerErrorsKeepTheirDetails) {
  const absl::Status original =
      WithReason(InvalidFields({{"a", "bad"}, {"b", "worse"}}), "CUSTOM");
  const absl::Status back = FromGrpc(ToGrpc(original));
  EXPECT_EQ(back.code(), original.code());
  EXPECT_EQ(back.message(), original.message());
  EXPECT_EQ(FieldViolationsOf(back), FieldViolationsOf(original));
  EXPECT_EQ(ReasonOf(back), "CUSTOM");
  EXPECT_TRUE(ToGrpc(absl::OkStatus()).error_details().empty());
}

}  // namespace
}  // namespace salesops
