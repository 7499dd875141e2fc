#include "common/server/bounds.h"

#include <atomic>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/message.h"
#include "salesops/v1/options.pb.h"

namespace salesops {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// ---- Plans: per message type, the fields that can break a bound ----

struct MessagePlan;

struct FieldPlan {
  enum class Kind { kString, kBytes, kMessage, kScalar };
  const FieldDescriptor* field = nullptr;
  Kind kind = Kind::kScalar;
  bool repeated = false;
  uint32_t max_items = 0;            // repeated fields
  uint32_t max_length = 0;           // string (code points) and bytes (bytes)
  const MessagePlan* sub = nullptr;  // kMessage
};

struct MessagePlan {
  std::vector<FieldPlan> fields;
};

// The field's `option` (max_length, max_bytes or max_items) when it has one,
// else `fallback` (an explicit 0 is kept: nothing allowed).
template <typename Option>
uint32_t Bound(const FieldDescriptor* f, const Option& option,
               uint32_t fallback) {
  const google::protobuf::FieldOptions& options = f->options();
  return options.HasExtension(option) ? options.GetExtension(option) : fallback;
}

// Built once per message type and kept for the life of the process (a
// handful of request types), so walks need one lookup and no lock after it.
class PlanCache {
 public:
  const MessagePlan* Get(const Descriptor* d) {
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = plans_.find(d);
      if (it != plans_.end()) {
        return it->second.get();
      }
    }
    absl::MutexLock lock(&mu_);
    return Build(d);
  }

 private:
  // Inserts the plan before filling it, so recursive types terminate.
  const MessagePlan* Build(const Descriptor* d)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto [it, inserted] = plans_.try_emplace(d, nullptr);
    if (!inserted) {
      return it->second.get();
    }
    it->second = std::make_unique<MessagePlan>();
    MessagePlan* plan = it->second.get();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      FieldPlan p;
      p.field = f;
      p.repeated = f->is_repeated();
      switch (f->type()) {
        case FieldDescriptor::TYPE_STRING:
          p.kind = FieldPlan::Kind::kString;
          p.max_length = Bound(f, v1::max_length, kDefaultMaxLength);
          break;
        case FieldDescriptor::TYPE_BYTES:
          p.kind = FieldPlan::Kind::kBytes;
          p.max_length = Bound(f, v1::max_bytes, kDefaultMaxBytes);
          break;
        case FieldDescriptor::TYPE_MESSAGE:
        case FieldDescriptor::TYPE_GROUP:
          p.kind = FieldPlan::Kind::kMessage;
          p.sub = Build(f->message_type());
          break;
        default:
          if (!p.repeated) {
            continue;  // a singular number, bool or enum has no size
          }
          p.kind = FieldPlan::Kind::kScalar;
      }
      if (p.repeated) {
        p.max_items = Bound(f, v1::max_items, kDefaultMaxItems);
      }
      plan->fields.push_back(p);
    }
    return plan;
  }

  absl::Mutex mu_;
  absl::flat_hash_map<const Descriptor*, std::unique_ptr<MessagePlan>> plans_
      ABSL_GUARDED_BY(mu_);
};

PlanCache& Plans() {
  static PlanCache* const cache = new PlanCache();
  return *cache;
}

// ---- The walk ----

struct Frame {
  const FieldDescriptor* field;
  int index;  // -1: singular
};

class Walker {
 public:
  Walker(size_t max_reported, std::vector<std::string>* out)
      : max_reported_(max_reported), out_(out) {}

  void Walk(const Message& m, const MessagePlan& plan, int depth) {
    const Reflection* r = m.GetReflection();
    for (const FieldPlan& p : plan.fields) {
      if (full()) {
        return;
      }
      frames_[depth] = {p.field, -1};
      if (!p.repeated) {
        Singular(m, r, p, depth);
        continue;
      }
      const int n = r->FieldSize(m, p.field);
      if (n == 0) {
        continue;
      }
      if (static_cast<uint32_t>(n) > p.max_items) {
        Report(depth,
               absl::StrCat("at most ", p.max_items, " items (got ", n, ")"));
        continue;
      }
      for (int i = 0; i < n && !full(); ++i) {
        frames_[depth].index = i;
        Element(m, r, p, i, depth);
      }
    }
  }

 private:
  bool full() const { return out_->size() >= max_reported_; }

  void Singular(const Message& m, const Reflection* r, const FieldPlan& p,
                int depth) {
    if (p.kind == FieldPlan::Kind::kMessage) {
      if (r->HasField(m, p.field)) {
        Into(r->GetMessage(m, p.field), *p.sub, depth);
      }
      return;
    }
    std::string scratch;  // used only by fields not stored as std::string
    CheckText(r->GetStringReference(m, p.field, &scratch), p, depth);
  }

  void Element(const Message& m, const Reflection* r, const FieldPlan& p, int i,
               int depth) {
    switch (p.kind) {
      case FieldPlan::Kind::kMessage:
        Into(r->GetRepeatedMessage(m, p.field, i), *p.sub, depth);
        return;
      case FieldPlan::Kind::kString:
      case FieldPlan::Kind::kBytes: {
        std::string scratch;
        CheckText(r->GetRepeatedStringReference(m, p.field, i, &scratch), p,
                  depth);
        return;
      }
      case FieldPlan::Kind::kScalar:
        return;  // the item count was all there was to check
    }
  }

  void Into(const Message& sub, const MessagePlan& plan, int depth) {
    if (plan.fields.empty()) {
      return;
    }
    if (depth + 1 >= kMaxBoundsDepth) {
      Report(depth,
             absl::StrCat("nested deeper than ", kMaxBoundsDepth, " messages"));
      return;
    }
    Walk(sub, plan, depth + 1);
  }

  void CheckText(const std::string& value, const FieldPlan& p, int depth) {
    // A string has at most as many code points as bytes: most values are
    // settled without counting.
    if (value.size() <= p.max_length) {
      return;
    }
    if (p.kind == FieldPlan::Kind::kBytes) {
      Report(depth, absl::StrCat("at most ", p.max_length, " bytes (got ",
                                 value.size(), ")"));
      return;
    }
    const size_t n = CodePoints(value);
    if (n > p.max_length) {
      Report(depth, absl::StrCat("at most ", p.max_length, " characters (got ",
                                 n, ")"));
    }
  }

  void Report(int depth, std::string rule) {
    std::string path;
    for (int d = 0; d <= depth; ++d) {
      if (d > 0) {
        path += '.';
      }
      path += frames_[d].field->name();
      if (frames_[d].index >= 0) {
        absl::StrAppend(&path, "[", frames_[d].index, "]");
      }
    }
    out_->push_back(absl::StrCat(path, ": ", rule));
  }

  const size_t max_reported_;
  std::vector<std::string>* const out_;
  Frame frames_[kMaxBoundsDepth];
};

// ---- The registry of rejected calls ----

class Rejections {
 public:
  void Record(const void* call, absl::Status status) {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = map_.insert_or_assign(call, std::move(status));
    if (inserted) {
      count_.fetch_add(1, std::memory_order_release);
    }
  }

  absl::Status Find(const void* call) {
    if (count_.load(std::memory_order_acquire) == 0) {
      return absl::OkStatus();
    }
    absl::MutexLock lock(&mu_);
    auto it = map_.find(call);
    return it == map_.end() ? absl::OkStatus() : it->second;
  }

  size_t Pending() const {
    return static_cast<size_t>(count_.load(std::memory_order_acquire));
  }

  void Forget(const void* call) {
    if (count_.load(std::memory_order_acquire) == 0) {
      return;
    }
    absl::MutexLock lock(&mu_);
    if (map_.erase(call) > 0) {
      count_.fetch_sub(1, std::memory_order_release);
    }
  }

 private:
  std::atomic<int> count_{0};
  absl::Mutex mu_;
  absl::flat_hash_map<const void*, absl::Status> map_ ABSL_GUARDED_BY(mu_);
};

Rejections& TheRejections() {
  static Rejections* const rejections = new Rejections();
  return *rejections;
}

}  // namespace

std::vector<std::string> BoundViolations(const Message& request,
                                         size_t max_reported) {
  std::vector<std::string> out;
  if (max_reported == 0) {
    return out;
  }
  const MessagePlan* plan = Plans().Get(request.GetDescriptor());
  Walker(max_reported, &out).Walk(request, *plan, 0);
  return out;
}

void DiscardUnknownFieldsRecursively(Message* message) {
  message->DiscardUnknownFields();
}

size_t CodePoints(std::string_view utf8) {
  size_t n = 0;
  for (const char c : utf8) {
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }
  return n;
}

void RecordEdgeRejection(const grpc::ServerContextBase* call,
                         absl::Status status) {
  if (!status.ok()) {
    TheRejections().Record(call, std::move(status));
  }
}

absl::Status EdgeRejection(const grpc::ServerContextBase* call) {
  return TheRejections().Find(call);
}

void ForgetEdgeRejection(const grpc::ServerContextBase* call) {
  TheRejections().Forget(call);
}

size_t PendingEdgeRejections() { return TheRejections().Pending(); }

}  // namespace salesops
