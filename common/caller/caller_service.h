#pragma once

// salesops.v1.CallerService (caller.proto, DECISIONS D67): who the call's
// bearer token is. Every service serves it on its own port with its own
// Authenticator, so the answer is the principal that service will apply its
// role table and scope policy to. Every role may call it; a missing, malformed
// or unknown token gets UNAUTHENTICATED, as for any other RPC.

#include "common/server/auth.h"
#include "salesops/v1/caller.grpc.pb.h"

namespace salesops {

class CallerServiceImpl final : public v1::CallerService::Service {
 public:
  // `auth` is not owned and outlives the service.
  explicit CallerServiceImpl(const Authenticator* auth) : auth_(auth) {}

  grpc::Status GetCaller(grpc::ServerContext* context,
                         const v1::GetCallerRequest* request,
                         v1::Caller* response) override;

 private:
  const Authenticator* auth_;
};

}  // namespace salesops
