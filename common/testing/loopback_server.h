#pragma once

// In-process gRPC server for service tests: the service under test plus the
// store's FeedService on 127.0.0.1 (a free port), with bearer-token auth from
// a token → principal map; and the test's store. As in the real server
// (common/server/server.h), every call passes the metrics interceptor, which
// is also the edge of field bounds (common/server/bounds.h): requests of every
// salesops.v1 method linked into the test lose their unknown fields and are
// checked against their bounds before the handler runs.
//
//   auth_ = testing::AuthFor({{"admin-token", {"admin", Role::kAdmin, ""}}});
//   server_ = std::make_unique<testing::LoopbackServer>(
//       store_.get(), auth_.get(),
//       std::vector<grpc::Service*>{service_.get()});
//   stub_ = v1::AccountsService::NewStub(server_->channel());

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/feed/feed_service.h"
#include "common/server/auth.h"
#include "common/server/interceptors.h"
#include "common/store/store.h"
#include "common/time/clock.h"
#include "google/protobuf/descriptor.h"
#include "prometheus/registry.h"

namespace salesops::testing {

// A service's store for a test in `dir`: its column families, no fsync, no
// outbox retention, commit times from `clock`. Records a test failure and
// returns null when it cannot open.
inline std::unique_ptr<Store> OpenTestStore(
    const std::string& dir, const std::vector<std::string>& column_families,
    Clock* clock) {
  StoreOptions options;
  options.column_families = column_families;
  options.sync_writes = false;
  options.outbox_retention = absl::ZeroDuration();
  options.clock = clock;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir, options);
  if (!store.ok()) {
    ADD_FAILURE() << "cannot open a test store in " << dir << ": "
                  << store.status();
    return nullptr;
  }
  return std::move(*store);
}

// An Authenticator accepting each token of `by_token` as its principal.
inline std::unique_ptr<Authenticator> AuthFor(
    const std::map<std::string, Principal>& by_token) {
  std::map<std::string, Principal> by_digest;
  for (const auto& [token, principal] : by_token) {
    by_digest[Authenticator::Sha256Hex(token)] = principal;
  }
  return Authenticator::FromPrincipals(std::move(by_digest));
}

class LoopbackServer {
 public:
  // Pointers are not owned and outlive the server. On failure channel() is
  // null and a test failure is recorded.
  LoopbackServer(Store* store, const Authenticator* auth,
                 const std::vector<grpc::Service*>& services) {
    FeedServiceOptions feed_options;
    feed_options.idle_poll = absl::Milliseconds(50);
    feed_ = std::make_unique<FeedServiceImpl>(store, auth, feed_options);
    grpc::ServerBuilder builder;
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    for (grpc::Service* s : services) {
      builder.RegisterService(s);
    }
    builder.RegisterService(feed_.get());
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(std::make_unique<MetricsInterceptorFactory>(
        registry_, LinkedMethods()));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port == 0) {
      ADD_FAILURE() << "cannot start a gRPC server on 127.0.0.1";
      return;
    }
    target_ = absl::StrCat("127.0.0.1:", port);
    channel_ = grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
  }

  ~LoopbackServer() {
    feed_->Stop();
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
      server_->Wait();
    }
  }

  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  // "127.0.0.1:<port>" of the server.
  const std::string& target() const { return target_; }

 private:
  // "/salesops.v1.X/Method" of every service of the public API's files that
  // are linked into the test.
  static std::vector<std::string> LinkedMethods() {
    std::vector<std::string> methods;
    for (const char* file :
         {"salesops/v1/accounts.proto", "salesops/v1/pipeline.proto",
          "salesops/v1/forecast.proto", "salesops/v1/credit.proto",
          "salesops/v1/feed.proto", "salesops/v1/audit.proto",
          "salesops/v1/caller.proto"}) {
      const google::protobuf::FileDescriptor* f =
          google::protobuf::DescriptorPool::generated_pool()->FindFileByName(
              file);
      for (int i = 0; f != nullptr && i < f->service_count(); ++i) {
        const google::protobuf::ServiceDescriptor* service = f->service(i);
        for (int m = 0; m < service->method_count(); ++m) {
          methods.push_back(absl::StrCat("/", service->full_name(), "/",
                                         service->method(m)->name()));
        }
      }
    }
    return methods;
  }

  prometheus::Registry registry_;  // outlives server_
  std::unique_ptr<FeedServiceImpl> feed_;
  std::string target_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace salesops::testing
