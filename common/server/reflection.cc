#include "common/server/reflection.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/status.h>

#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/server/shutdown_signal.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace salesops {
namespace {

namespace pb = google::protobuf;

constexpr const char* kShuttingDown = kShuttingDownMessage;

// Adds `file` and, once each, the files it imports, as upstream does.
template <typename FileResponse>
void AddFile(const pb::FileDescriptor* file, FileResponse* out,
             std::set<std::string>* seen) {
  if (!seen->insert(file->name()).second) {
    return;
  }
  pb::FileDescriptorProto proto;
  file->CopyTo(&proto);
  proto.SerializeToString(out->add_file_descriptor_proto());
  for (int i = 0; i < file->dependency_count(); ++i) {
    AddFile(file->dependency(i), out, seen);
  }
}

// The file a file_by_filename, file_containing_symbol or
// file_containing_extension request names; NOT_FOUND with upstream's message.
template <typename Request>
grpc::Status FileFor(const Request& req, const pb::FileDescriptor** file) {
  const pb::DescriptorPool* pool = pb::DescriptorPool::generated_pool();
  switch (req.message_request_case()) {
    case Request::kFileByFilename:
      *file = pool->FindFileByName(req.file_by_filename());
      return *file != nullptr
                 ? grpc::Status::OK
                 : grpc::Status(grpc::StatusCode::NOT_FOUND, "File not found.");
    case Request::kFileContainingSymbol:
      *file = pool->FindFileContainingSymbol(req.file_containing_symbol());
      return *file != nullptr ? grpc::Status::OK
                              : grpc::Status(grpc::StatusCode::NOT_FOUND,
                                             "Symbol not found.");
    default: {
      const auto& ext = req.file_containing_extension();
      const pb::Descriptor* type =
          pool->FindMessageTypeByName(ext.containing_type());
      if (type == nullptr) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND, "Type not found.");
      }
      const pb::FieldDescriptor* field =
          pool->FindExtensionByNumber(type, ext.extension_number());
      if (field == nullptr) {
        return grpc::Status(grpc::StatusCode::NOT_FOUND,
                            "Extension not found.");
      }
      *file = field->file();
      return grpc::Status::OK;
    }
  }
}

// The extension numbers of message type `name`.
template <typename NumbersResponse>
grpc::Status ExtensionNumbers(const std::string& name, NumbersResponse* out) {
  const pb::DescriptorPool* pool = pb::DescriptorPool::generated_pool();
  const pb::Descriptor* type = pool->FindMessageTypeByName(name);
  if (type == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "Type not found.");
  }
  std::vector<const pb::FieldDescriptor*> extensions;
  pool->FindAllExtensions(type, &extensions);
  out->set_base_type_name(type->full_name());
  for (const pb::FieldDescriptor* e : extensions) {
    out->add_extension_number(e->number());
  }
  return grpc::Status::OK;
}

// Fills `resp` for `req` (both versions have the same fields), or returns the
// error upstream gives.
template <typename Request, typename Response>
grpc::Status Fill(const Request& req, const std::vector<std::string>& names,
                  Response* resp) {
  switch (req.message_request_case()) {
    case Request::kFileByFilename:
    case Request::kFileContainingSymbol:
    case Request::kFileContainingExtension: {
      const pb::FileDescriptor* file = nullptr;
      grpc::Status found = FileFor(req, &file);
      if (found.ok()) {
        std::set<std::string> seen;
        AddFile(file, resp->mutable_file_descriptor_response(), &seen);
      }
      return found;
    }
    case Request::kAllExtensionNumbersOfType:
      return ExtensionNumbers(req.all_extension_numbers_of_type(),
                              resp->mutable_all_extension_numbers_response());
    case Request::kListServices:
      for (const std::string& name : names) {
        resp->mutable_list_services_response()->add_service()->set_name(name);
      }
      return grpc::Status::OK;
    default:
      return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "");
  }
}

// The whole answer to one request: the echo of the request, then the result
// or the error, bounded by `max_bytes`.
template <typename Request, typename Response>
void Answer(const Request& req, const std::vector<std::string>& names,
            size_t max_bytes, Response* resp) {
  resp->set_valid_host(req.host());
  *resp->mutable_original_request() = req;
  grpc::Status s = Fill(req, names, resp);
  if (s.ok() && resp->ByteSizeLong() > max_bytes) {
    s = grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("reflection: the answer would be ", resp->ByteSizeLong(),
                     " bytes, above the ", max_bytes, "-byte limit"));
  }
  if (!s.ok()) {
    resp->mutable_error_response()->set_error_code(s.error_code());
    resp->mutable_error_response()->set_error_message(s.error_message());
  }
}

}  // namespace

// The open streams of both versions, the shutdown state, the names and limits.
class ReflectionService::Registry {
 public:
  class Stream {
   public:
    virtual ~Stream() = default;
    // Finish with UNAVAILABLE (once any write in flight is done).
    virtual void EndForShutdown() = 0;
  };

  Registry(std::vector<std::string> names, Limits limits)
      : names_(std::move(names)), limits_(limits) {}

  const std::vector<std::string>& names() const { return names_; }
  const Limits& limits() const { return limits_; }

  // False once shut down: the stream must end at once.
  bool Add(Stream* s) {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) {
      return false;
    }
    streams_.insert(s);
    return true;
  }
  void Remove(Stream* s) {
    std::lock_guard<std::mutex> lock(mu_);
    streams_.erase(s);
  }
  // Locking: Registry::mu_ before a stream's own mutex; streams call Add and
  // Remove without holding theirs.
  void Shutdown() {
    std::lock_guard<std::mutex> lock(mu_);
    shut_down_ = true;
    for (Stream* s : streams_) {
      s->EndForShutdown();
    }
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return streams_.size();
  }

 private:
  const std::vector<std::string> names_;
  const Limits limits_;
  mutable std::mutex mu_;
  std::set<Stream*> streams_;
  bool shut_down_ = false;
};

namespace {

using Registry = ReflectionService::Registry;

// One ServerReflectionInfo stream: read a request, write its answer, repeat,
// one at a time. gRPC runs the reactions on its own threads, never inline from
// StartRead/StartWrite/Finish, so those are called under mu_.
template <typename Request, typename Response>
class StreamReactor final : public grpc::ServerBidiReactor<Request, Response>,
                            public Registry::Stream {
 public:
  explicit StreamReactor(std::shared_ptr<Registry> registry)
      : registry_(std::move(registry)) {}

  // Called once before the reactor is handed to gRPC.
  void Begin() {
    const bool open = registry_->Add(this);
    std::lock_guard<std::mutex> lock(mu_);
    if (!open) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, kShuttingDown));
      return;
    }
    if (!finished_) {  // Shutdown may have ended it since Add
      this->StartRead(&request_);
    }
  }

  void OnReadDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) {
      return;
    }
    if (!ok) {  // the client closed its side (or the call is gone)
      FinishLocked(grpc::Status::OK);
      return;
    }
    const ReflectionService::Limits& limits = registry_->limits();
    if (request_.ByteSizeLong() > limits.max_request_bytes) {
      FinishLocked(grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("reflection: a request of ", request_.ByteSizeLong(),
                       " bytes is above the ", limits.max_request_bytes,
                       "-byte limit")));
      return;
    }
    if (++answered_ > limits.max_requests_per_stream) {
      FinishLocked(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("reflection: at most ", limits.max_requests_per_stream,
                       " requests per stream; open a new stream")));
      return;
    }
    response_.Clear();
    Answer(request_, registry_->names(), limits.max_response_bytes, &response_);
    writing_ = true;
    this->StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (finish_after_write_.has_value()) {
      FinishLocked(*finish_after_write_);
      return;
    }
    if (finished_) {
      return;
    }
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
      return;
    }
    this->StartRead(&request_);
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    EndLocked(grpc::Status::CANCELLED);
  }

  void EndForShutdown() override {
    std::lock_guard<std::mutex> lock(mu_);
    EndLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, kShuttingDown));
  }

  void OnDone() override {
    registry_->Remove(this);
    delete this;
  }

 private:
  // Finish now, or after the write in flight (Finish must not overlap it).
  void EndLocked(grpc::Status status) {
    if (finished_) {
      return;
    }
    if (writing_) {
      if (!finish_after_write_.has_value()) {
        finish_after_write_ = std::move(status);
      }
      return;
    }
    FinishLocked(std::move(status));
  }

  void FinishLocked(grpc::Status status) {
    if (finished_) {
      return;
    }
    finished_ = true;
    this->Finish(std::move(status));
  }

  const std::shared_ptr<Registry> registry_;
  std::mutex mu_;  // guards everything below
  Request request_;
  Response response_;
  int answered_ = 0;
  bool writing_ = false;
  bool finished_ = false;
  std::optional<grpc::Status> finish_after_write_;
};

template <typename Base, typename Request, typename Response>
class VersionService final : public Base {
 public:
  explicit VersionService(std::shared_ptr<Registry> registry)
      : registry_(std::move(registry)) {}

  grpc::ServerBidiReactor<Request, Response>* ServerReflectionInfo(
      grpc::CallbackServerContext* /*ctx*/) override {
    auto* stream = new StreamReactor<Request, Response>(registry_);
    stream->Begin();
    return stream;
  }

 private:
  const std::shared_ptr<Registry> registry_;
};

namespace v1alpha = grpc::reflection::v1alpha;
namespace v1 = grpc::reflection::v1;

using V1AlphaService =
    VersionService<v1alpha::ServerReflection::CallbackService,
                   v1alpha::ServerReflectionRequest,
                   v1alpha::ServerReflectionResponse>;
using V1Service =
    VersionService<v1::ServerReflection::CallbackService,
                   v1::ServerReflectionRequest, v1::ServerReflectionResponse>;

}  // namespace

ReflectionService::ReflectionService(std::vector<std::string> service_names,
                                     Limits limits)
    : registry_(std::make_shared<Registry>(std::move(service_names), limits)),
      v1alpha_(std::make_unique<V1AlphaService>(registry_)),
      v1_(std::make_unique<V1Service>(registry_)) {}

ReflectionService::~ReflectionService() = default;

grpc::Service* ReflectionService::v1alpha() { return v1alpha_.get(); }
grpc::Service* ReflectionService::v1() { return v1_.get(); }

void ReflectionService::Shutdown() { registry_->Shutdown(); }

size_t ReflectionService::open_streams() const { return registry_->size(); }

std::vector<std::string> ReflectionService::MethodNames() {
  return {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
          "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"};
}

std::vector<std::string> ReflectionService::ServiceNames() {
  return {"grpc.reflection.v1alpha.ServerReflection",
          "grpc.reflection.v1.ServerReflection"};
}

}  // namespace salesops
