#include "common/server/reflection.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "gtest/gtest.h"
#include "salesops/testing/testing.grpc.pb.h"

namespace salesops {
namespace {

namespace v1 = grpc::reflection::v1;
namespace v1alpha = grpc::reflection::v1alpha;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A gRPC server with nothing but a ReflectionService (and the echo service's
// descriptors linked, so the pool knows salesops.testing).
struct Fixture {
  explicit Fixture(ReflectionService::Limits limits = {}) {
    // Keep the testing proto linked and in the generated pool.
    (void)salesops::testing::EchoRequest::descriptor();
    reflection = std::make_unique<ReflectionService>(
        std::vector<std::string>{"grpc.reflection.v1.ServerReflection",
                                 "grpc.reflection.v1alpha.ServerReflection",
                                 "salesops.testing.EchoService"},
        limits);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(reflection->v1alpha());
    builder.RegisterService(reflection->v1());
    server = builder.BuildAndStart();
    channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                  grpc::InsecureChannelCredentials());
  }
  ~Fixture() {
    reflection->Shutdown();
    server->Shutdown(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
  }

  int port = 0;
  std::unique_ptr<ReflectionService> reflection;
  std::unique_ptr<grpc::Server> server;
  std::shared_ptr<grpc::Channel> channel;
};

// One v1 stream: sends each request, reads its answer, closes.
struct Stream {
  explicit Stream(const std::shared_ptr<grpc::Channel>& channel)
      : stub(v1::ServerReflection::NewStub(channel)) {
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    rw = stub->ServerReflectionInfo(&ctx);
  }
  bool Ask(const v1::ServerReflectionRequest& req,
           v1::ServerReflectionResponse* resp) {
    return rw->Write(req) && rw->Read(resp);
  }
  grpc::Status Close() {
    rw->WritesDone();
    v1::ServerReflectionResponse ignored;
    while (rw->Read(&ignored)) {
    }
    return rw->Finish();
  }

  std::unique_ptr<v1::ServerReflection::Stub> stub;
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReaderWriter<v1::ServerReflectionRequest,
                                           v1::ServerReflectionResponse>>
      rw;
};

std::vector<std::string> FileNames(const v1::ServerReflectionResponse& r) {
  std::vector<std::string> names;
  for (const std::string& bytes :
       r.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    EXPECT_TRUE(file.ParseFromString(bytes));
    names.push_back(file.name());
  }
  return names;
}

TEST(ReflectionTest, AnswersEveryKindOfRequestAsUpstreamDoes) {
  Fixture f;
  Stream s(f.channel);
  v1::ServerReflectionRequest req;
  v1::ServerReflectionResponse resp;

  req.set_host("localhost");
  req.set_list_services("*");
  ASSERT_TRUE(s.Ask(req, &resp));
  EXPECT_EQ(resp.valid_host(), "localhost");
  EXPECT_EQ(resp.original_request().list_services(), "*");
  std::vector<std::string> listed;
  for (const auto& service : resp.list_services_response().service()) {
    listed.push_back(service.name());
  }
  EXPECT_THAT(listed, ElementsAre("grpc.reflection.v1.ServerReflection",
                                  "grpc.reflection.v1alpha.ServerReflection",
                                  "salesops.testing.EchoService"));

  req.Clear();
  req.set_file_containing_symbol("salesops.testing.EchoService.Echo");
  ASSERT_TRUE(s.Ask(req, &resp));
  EXPECT_THAT(FileNames(resp),
              Contains(HasSubstr("salesops/testing/testing.proto")));

  // A file and, once each, what it imports.
  req.Clear();
  req.set_file_by_filename("grpc/reflection/v1/reflection.proto");
  ASSERT_TRUE(s.Ask(req, &resp));
  EXPECT_THAT(FileNames(resp),
              ElementsAre("grpc/reflection/v1/reflection.proto"));
  req.set_file_by_filename("google/protobuf/descriptor.proto");
  ASSERT_TRUE(s.Ask(req, &resp));
  EXPECT_THAT(FileNames(resp), ElementsAre("google/protobuf/descriptor.proto"));

  req.Clear();
  req.set_all_extension_numbers_of_type("google.protobuf.FieldOptions");
  ASSERT_TRUE(s.Ask(req, &resp));
  EXPECT_EQ(resp.all_extension_numbers_response().base_type_name(),
            "google.protobuf.FieldOptions");

  // Errors stay inside the stream, with upstream's codes and messages.
  const auto expect_error = [&](grpc::StatusCode code, const std::string& msg) {
    ASSERT_TRUE(s.Ask(req, &resp));
    EXPECT_EQ(resp.error_response().error_code(), code)
        << resp.ShortDebugString();
    EXPECT_EQ(resp.error_response().error_message(), msg);
  };
  req.Clear();
  req.set_file_by_filename("no/such.proto");
  expect_error(grpc::StatusCode::NOT_FOUND, "File not found.");
  req.set_file_containing_symbol("no.such.Symbol");
  expect_error(grpc::StatusCode::NOT_FOUND, "Symbol not found.");
  req.mutable_file_containing_extension()->set_containing_type("no.Such");
  expect_error(grpc::StatusCode::NOT_FOUND, "Type not found.");
  req.mutable_file_containing_extension()->set_containing_type(
      "google.protobuf.FieldOptions");
  req.mutable_file_containing_extension()->set_extension_number(536000000);
  expect_error(grpc::StatusCode::NOT_FOUND, "Extension not found.");
  req.set_all_extension_numbers_of_type("no.Such");
  expect_error(grpc::StatusCode::NOT_FOUND, "Type not found.");
  req.Clear();
  expect_error(grpc::StatusCode::UNIMPLEMENTED, "");
  EXPECT_TRUE(s.Close().ok());
}

TEST(ReflectionTest, V1AlphaAnswersToo) {
  Fixture f;
  auto stub = v1alpha::ServerReflection::NewStub(f.channel);
  grpc::ClientContext ctx;
  auto rw = stub->ServerReflectionInfo(&ctx);
  v1alpha::ServerReflectionRequest req;
  req.set_file_containing_symbol("grpc.reflection.v1alpha.ServerReflection");
  v1alpha::ServerReflectionResponse resp;
  ASSERT_TRUE(rw->Write(req));
  ASSERT_TRUE(rw->Read(&resp));
  ASSERT_EQ(resp.file_descriptor_response().file_descriptor_proto_size(), 1);
  rw->WritesDone();
  EXPECT_TRUE(rw->Finish().ok());
}

TEST(ReflectionTest, OneStreamCostsBoundedRequestsAndBytes) {
  ReflectionService::Limits limits;
  limits.max_requests_per_stream = 3;
  limits.max_request_bytes = 200;
  limits.max_response_bytes = 1000;
  Fixture f(limits);
  v1::ServerReflectionRequest req;
  v1::ServerReflectionResponse resp;
  {
    Stream s(f.channel);
    req.set_list_services("*");
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(s.Ask(req, &resp)) << i;
    }
    EXPECT_FALSE(s.Ask(req, &resp));
    grpc::Status end = s.rw->Finish();
    EXPECT_EQ(end.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(end.error_message(), HasSubstr("at most 3 requests"));
  }
  {
    // descriptor.proto is far above 1000 bytes.
    Stream s(f.channel);
    req.set_file_by_filename("google/protobuf/descriptor.proto");
    ASSERT_TRUE(s.Ask(req, &resp));
    EXPECT_EQ(resp.error_response().error_code(),
              grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(resp.error_response().error_message(),
                HasSubstr("1000-byte limit"));
    EXPECT_TRUE(s.Close().ok());
  }
  {
    Stream s(f.channel);
    req.set_file_by_filename(std::string(300, 'x'));
    EXPECT_FALSE(s.Ask(req, &resp));
    grpc::Status end = s.rw->Finish();
    EXPECT_EQ(end.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(end.error_message(), HasSubstr("200-byte limit"));
  }
}

TEST(ReflectionTest, ShutdownEndsOpenStreamsWithUnavailable) {
  Fixture f;
  Stream open(f.channel);
  v1::ServerReflectionRequest req;
  req.set_list_services("*");
  v1::ServerReflectionResponse resp;
  ASSERT_TRUE(open.Ask(req, &resp));
  EXPECT_EQ(f.reflection->open_streams(), 1u);
  f.reflection->Shutdown();
  EXPECT_FALSE(open.rw->Read(&resp));
  grpc::Status end = open.rw->Finish();
  EXPECT_EQ(end.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(end.error_message(), "server shutting down; retry");
  Stream late(f.channel);
  EXPECT_FALSE(late.Ask(req, &resp));
  EXPECT_EQ(late.rw->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

size_t ThreadCount() {
  size_t n = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task")) {
    (void)entry;
    ++n;
  }
  return n;
}

// gRPC's synchronous reflection held a thread per open stream; these hold
// none. 2,000 open streams, each having answered a request.
TEST(ReflectionTest, OpenStreamsHoldNoThreads) {
  Fixture f;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < 20; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    channels.push_back(
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(f.port),
                                  grpc::InsecureChannelCredentials(), args));
  }
  const size_t before = ThreadCount();
  constexpr int kStreams = 2000;
  std::vector<std::unique_ptr<Stream>> streams;
  v1::ServerReflectionRequest req;
  req.set_list_services("*");
  v1::ServerReflectionResponse resp;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::make_unique<Stream>(channels[i % channels.size()]));
    ASSERT_TRUE(streams.back()->Ask(req, &resp)) << i;
  }
  EXPECT_EQ(f.reflection->open_streams(), static_cast<size_t>(kStreams));
  // Client and server share this process: a thread per stream would be
  // thousands more.
  EXPECT_LT(ThreadCount(), before + 64);
  for (auto& s : streams) {
    EXPECT_TRUE(s->Close().ok());
  }
}

}  // namespace
}  // namespace salesops
