#pragma once

// gRPC server reflection (grpc.reflection.v1alpha and grpc.reflection.v1) on
// the callback API, in place of gRPC's ProtoServerReflection plugin: that one
// is a synchronous service and holds a server thread for as long as a client
// keeps its stream open (20,000 unauthenticated streams made 20,026 threads).
// Here an open stream costs memory only: no thread waits for its next request.
//
// Answers come from the generated descriptor pool, as upstream does them:
//   list_services                   the names given to the constructor
//   file_by_filename                the file and, once each, every file it
//                                   imports (transitively)
//   file_containing_symbol          the file defining a service, method,
//                                   message, field, enum, enum value or
//                                   extension, with its imports
//   file_containing_extension       the file of extension <number> of <type>
//   all_extension_numbers_of_type   the extension numbers of a message type
// A name not found is an error_response inside the stream (NOT_FOUND "File not
// found." / "Symbol not found." / "Type not found." / "Extension not found.")
// and the stream goes on; a request with no message_request set gets
// UNIMPLEMENTED the same way. Every response echoes the request (host and
// original_request).
//
// Bounds (Limits): a stream answers at most max_requests_per_stream requests,
// then ends with RESOURCE_EXHAUSTED ("open a new stream"); a request larger
// than max_request_bytes ends the stream with INVALID_ARGUMENT; a response
// that would exceed max_response_bytes is replaced by an error_response
// RESOURCE_EXHAUSTED. Requests are answered one at a time, in order, so a
// stream holds at most one request and one response in memory.
//
// Shutdown() ends every open stream with UNAVAILABLE "server shutting down;
// retry" and answers later streams the same way. Reflection needs no token
// (auth.h).

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace grpc {
class Service;
}  // namespace grpc

namespace salesops {

class ReflectionService {
 public:
  struct Limits {
    int max_requests_per_stream = 1000;
    size_t max_request_bytes = 64 * 1024;
    size_t max_response_bytes = 4 * 1024 * 1024;
  };

  // `service_names`: the full names list_services reports (the registered
  // services, health and both reflection versions included by the caller).
  explicit ReflectionService(std::vector<std::string> service_names,
                             Limits limits);
  explicit ReflectionService(std::vector<std::string> service_names)
      : ReflectionService(std::move(service_names), Limits()) {}
  // Call after the gRPC server stopped (every stream done).
  ~ReflectionService();
  ReflectionService(const ReflectionService&) = delete;
  ReflectionService& operator=(const ReflectionService&) = delete;

  // The two services to register with the gRPC server.
  grpc::Service* v1alpha();
  grpc::Service* v1();

  // Ends open streams with UNAVAILABLE and refuses new ones. Idempotent.
  void Shutdown();

  // Streams open now (both versions).
  size_t open_streams() const;

  // The full method names of both versions, for the metrics interceptor.
  static std::vector<std::string> MethodNames();
  // The service names both versions register.
  static std::vector<std::string> ServiceNames();

  class Registry;  // the open streams; defined in reflection.cc

 private:
  std::shared_ptr<Registry> registry_;
  std::unique_ptr<grpc::Service> v1alpha_;
  std::unique_ptr<grpc::Service> v1_;
};

}  // namespace salesops
