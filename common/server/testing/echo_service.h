#pragma once

// The test EchoService (common/testing/salesops/testing/testing.proto) as a
// realistic handler: authorizes every role, sleeps delay_ms (stopping early if
// the call is cancelled), and answers with the requested code. Used by server
// tests in-process and by salesops_echo_server.

#include "common/server/auth.h"
#include "common/server/handler.h"
#include "salesops/testing/testing.grpc.pb.h"

namespace salesops::testing {

class EchoServiceImpl final : public EchoService::Service {
 public:
  // `auth` must outlive the service.
  explicit EchoServiceImpl(const Authenticator* auth);

  grpc::Status Echo(grpc::ServerContext* ctx, const EchoRequest* request,
                    EchoResponse* response) override;

 private:
  CallGate gate_;
};

}  // namespace salesops::testing
