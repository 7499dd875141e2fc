// Issue 17, Must show 4: the structured error details of an INVALID_ARGUMENT
// decode in the clients integrators use. One CreateAccount with exactly three
// bad fields (a blank name, an unknown tier, an unknown relationship stage:
// rules the accounts service checks together into one set of violations) is
// sent to the real accounts binary by
//   - this C++ client (grpc::Status::error_details() parsed as the generated
//     google.rpc.Status),
//   - tests/clients/error_details.py under Debian's /usr/bin/python3 with
//     python3-grpcio, and
//   - tests/clients/error_details.mjs under Node with npm @grpc/grpc-js
//     (installed once into ${PROJECT_BINARY_DIR}/node-clients by
//     tests/install_node_clients.sh),
// and each must decode INVALID_ARGUMENT, a google.rpc.BadRequest with exactly
// those three field violations, and a google.rpc.ErrorInfo of domain
// "salesops.v1" with a reason. The scripts print what they decoded as JSON
// (the test log shows it); they must agree with the C++ client exactly.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "salesops/v1/accounts.grpc.pb.h"
#include "tests/e2e.h"

namespace salesops::e2e {
namespace {

using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr char kAdmin[] = "error-details-admin-token";
constexpr char kMethod[] = "/salesops.v1.AccountsService/CreateAccount";
constexpr char kRequestType[] = "salesops.v1.CreateAccountRequest";
constexpr char kDomain[] = "salesops.v1";

// What a client decoded: the gRPC code's name, google.rpc.Status.code (-1
// without details), the BadRequest's violations as "<field>: <description>"
// and the ErrorInfo.
struct Decoded {
  std::string code;
  int status_code = -1;
  std::vector<std::string> violations;
  std::vector<std::string> fields;
  bool has_error_info = false;
  std::string reason;
  std::string domain;
};

// The one request: exactly three bad fields, everything else valid. All three
// are rules of the handler's one validation pass (ValidateAccountFields); a
// field over its (max_length) would not do, as the edge (bounds.h) answers it
// before the handler runs, without the handler's violations.
v1::CreateAccountRequest ThreeBadFields() {
  v1::CreateAccountRequest req;
  req.set_request_id("error-details-1");
  v1::Account* a = req.mutable_account();
  a->set_name("   ");                                                 // blank
  a->set_tier(static_cast<v1::AccountTier>(99));                      // unknown
  a->set_relationship_stage(static_cast<v1::RelationshipStage>(77));  // unknown
  a->set_industry("Machinery");
  return req;
}

// The request in proto3 JSON with the .proto field names, which both scripts
// parse (the unknown enum values as numbers).
std::string RequestJson() {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(ThreeBadFields(),
                                                          &json, options)
                  .ok());
  return json;
}

class ErrorDetailsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const std::string tokens = dir_->path() + "/tokens";
    WriteFile(tokens, TokenLine(kAdmin, "details-admin", "ADMIN"));
    accounts_ =
        new Service(Launch({SALESOPS_ACCOUNTS_BIN, "--listen=127.0.0.1:0",
                            "--auth=tokens", "--tokens_file=" + tokens,
                            "--data_dir=" + dir_->path() + "/data", "--init"},
                           "accounts"));
  }
  static void TearDownTestSuite() {
    delete accounts_;
    accounts_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_GT(accounts_->port, 0)
        << (accounts_->process ? accounts_->process->Log() : "not started");
  }

  static std::string Target() {
    return absl::StrCat("127.0.0.1:", accounts_->port);
  }

  // Runs a client script (`interpreter` … `script` `extra`) against the
  // service; what it printed as JSON (also written to --json_out), or a test
  // failure with its output.
  static std::optional<Struct> RunClient(
      const std::vector<std::string>& command, const std::string& name) {
    const std::string out = absl::StrCat(dir_->path(), "/", name, ".json");
    std::vector<std::string> args = command;
    for (std::string a :
         {"--target=" + Target(), absl::StrCat("--token=", kAdmin),
          absl::StrCat("--method=", kMethod),
          absl::StrCat("--request_type=", kRequestType),
          "--request_json=" + RequestJson(),
          absl::StrCat("--proto_root=", SALESOPS_SOURCE_DIR, "/proto"),
          "--json_out=" + out}) {
      args.push_back(std::move(a));
    }
    std::printf("%s request: %s\n", name.c_str(), RequestJson().c_str());
    auto p = testing::Process::Start(args);
    if (p == nullptr) {
      ADD_FAILURE() << name << " did not start";
      return std::nullopt;
    }
    const std::optional<int> status = p->WaitExit(absl::Seconds(60));
    const std::string log = p->Log();
    std::printf("%s printed:\n%s\n", name.c_str(), log.c_str());
    if (!status.has_value() || !WIFEXITED(*status) ||
        WEXITSTATUS(*status) != 0) {
      ADD_FAILURE() << name << " failed: " << log;
      return std::nullopt;
    }
    std::ifstream in(out);
    std::stringstream json;
    json << in.rdbuf();
    Struct report;
    if (!google::protobuf::util::JsonStringToMessage(json.str(), &report)
             .ok()) {
      ADD_FAILURE() << name << " wrote no JSON object to " << out << ": "
                    << json.str();
      return std::nullopt;
    }
    return report;
  }

  static testing::TempDir* dir_;
  static Service* accounts_;
};
testing::TempDir* ErrorDetailsE2eTest::dir_ = nullptr;
Service* ErrorDetailsE2eTest::accounts_ = nullptr;

std::string Str(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? "" : it->second.string_value();
}

// A script's JSON report as a Decoded.
Decoded FromReport(const Struct& report) {
  Decoded d;
  d.code = Str(report, "code");
  const auto& f = report.fields();
  if (auto it = f.find("status_code");
      it != f.end() && it->second.kind_case() == Value::kNumberValue) {
    d.status_code = static_cast<int>(it->second.number_value());
  }
  if (auto it = f.find("violations"); it != f.end()) {
    for (const Value& v : it->second.list_value().values()) {
      const Struct& violation = v.struct_value();
      d.fields.push_back(Str(violation, "field"));
      d.violations.push_back(absl::StrCat(Str(violation, "field"), ": ",
                                          Str(violation, "description")));
    }
  }
  if (auto it = f.find("error_info");
      it != f.end() && it->second.kind_case() == Value::kStructValue) {
    d.has_error_info = true;
    d.reason = Str(it->second.struct_value(), "reason");
    d.domain = Str(it->second.struct_value(), "domain");
  }
  return d;
}

// What this process decodes from the same call's grpc::Status.
Decoded FromCpp(const grpc::Status& s) {
  Decoded d;
  d.code = s.error_code() == grpc::StatusCode::INVALID_ARGUMENT
               ? "INVALID_ARGUMENT"
               : absl::StrCat("code ", static_cast<int>(s.error_code()));
  google::rpc::Status status;
  if (s.error_details().empty() || !status.ParseFromString(s.error_details())) {
    return d;
  }
  d.status_code = status.code();
  for (const google::protobuf::Any& any : status.details()) {
    google::rpc::BadRequest bad;
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&bad)) {
      for (const auto& v : bad.field_violations()) {
        d.fields.push_back(v.field());
        d.violations.push_back(absl::StrCat(v.field(), ": ", v.description()));
      }
    } else if (any.UnpackTo(&info)) {
      d.has_error_info = true;
      d.reason = info.reason();
      d.domain = info.domain();
    }
  }
  return d;
}

Decoded CallFromCpp(const std::string& target) {
  auto stub = v1::AccountsService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  v1::Account out;
  return FromCpp(
      stub->CreateAccount(Ctx(kAdmin).get(), ThreeBadFields(), &out));
}

// The assertions every client must pass.
void ExpectThreeViolations(const Decoded& d, const std::string& client) {
  SCOPED_TRACE(client);
  EXPECT_EQ(d.code, "INVALID_ARGUMENT");
  EXPECT_EQ(d.status_code, 3) << "no google.rpc.Status in the trailer";
  EXPECT_THAT(d.fields, UnorderedElementsAre("account.name", "account.tier",
                                             "account.relationship_stage"))
      << "violations: " << ::testing::PrintToString(d.violations);
  for (const std::string& v : d.violations) {
    EXPECT_THAT(v.substr(v.find(": ") + 2), Not(IsEmpty())) << v;
  }
  EXPECT_TRUE(d.has_error_info) << "no google.rpc.ErrorInfo";
  EXPECT_EQ(d.domain, kDomain);
  EXPECT_THAT(d.reason, Not(IsEmpty()));
}

TEST_F(ErrorDetailsE2eTest, CppClientDecodesThreeViolations) {
  ExpectThreeViolations(CallFromCpp(Target()),
                        "C++ grpc::Status::error_details()");
}

TEST_F(ErrorDetailsE2eTest, PythonGrpcioClientDecodesThreeViolations) {
  std::optional<Struct> report = RunClient(
      {"/usr/bin/python3",
       absl::StrCat(SALESOPS_SOURCE_DIR, "/tests/clients/error_details.py")},
      "python");
  ASSERT_TRUE(report.has_value());
  const Decoded d = FromReport(*report);
  ExpectThreeViolations(d, "python3-grpcio");
  EXPECT_EQ(d.violations,
            CallFromCpp(Target()).violations);  // same text, same order
}

TEST_F(ErrorDetailsE2eTest, NodeGrpcJsClientDecodesThreeViolations) {
  const std::string deps = SALESOPS_NODE_CLIENTS_DIR;
  auto install = testing::Process::Start(
      {"/bin/bash",
       absl::StrCat(SALESOPS_SOURCE_DIR, "/tests/install_node_clients.sh"),
       deps});
  ASSERT_NE(install, nullptr);
  const std::optional<int> installed = install->WaitExit(absl::Minutes(3));
  ASSERT_TRUE(installed.has_value() && WIFEXITED(*installed) &&
              WEXITSTATUS(*installed) == 0)
      << "npm install of @grpc/grpc-js failed: " << install->Log();

  std::optional<Struct> report = RunClient(
      {"/usr/bin/env", "node",
       absl::StrCat(SALESOPS_SOURCE_DIR, "/tests/clients/error_details.mjs"),
       "--deps=" + deps},
      "node");
  ASSERT_TRUE(report.has_value());
  const Decoded d = FromReport(*report);
  ExpectThreeViolations(d, "@grpc/grpc-js");
  EXPECT_EQ(d.violations, CallFromCpp(Target()).violations);
}

}  // namespace
}  // namespace salesops::e2e
