#include "fuzz/fuzz_harness.h"

#include <grpcpp/test/default_reactor_test_peer.h>
#include <rocksdb/db.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/stubs/logging.h"

namespace salesops::fuzz {
namespace {

using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;

// A long run gets a fresh (re-seeded) store after this many RocksDB writes
// past the seeded state, or once the store's directory outgrows
// kMaxStoreBytes, so its memory and disk stay bounded. Bytes matter as much
// as counts: some records grow with every update (a stage model keeps its
// whole win-rate history and is rewritten, with an event, on each change).
constexpr uint64_t kWritesBeforeReset = 20'000;
constexpr uintmax_t kMaxStoreBytes = uintmax_t{256} << 20;
// The directory is measured every this many inputs (a few dozen files).
constexpr int kInputsPerSizeCheck = 256;

// Requests are printed up to this many characters when a property fails.
constexpr size_t kMaxPrintedRequest = 4'000;

Harness* g_harness = nullptr;

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "salesops fuzz: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

std::string Printed(const Message& m) {
  std::string s = m.ShortDebugString();
  if (s.size() > kMaxPrintedRequest) {
    s.resize(kMaxPrintedRequest);
    s += "...";
  }
  return s;
}

// The service's unary methods, in descriptor order: what byte 0 indexes.
std::vector<const google::protobuf::MethodDescriptor*> UnaryMethods(
    const std::string& service_name) {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          service_name);
  if (service == nullptr) {
    Die(absl::StrCat("no service ", service_name, " in the descriptor pool"));
  }
  std::vector<const google::protobuf::MethodDescriptor*> methods;
  for (int i = 0; i < service->method_count(); ++i) {
    const google::protobuf::MethodDescriptor* m = service->method(i);
    if (!m->client_streaming() && !m->server_streaming()) {
      methods.push_back(m);
    }
  }
  if (methods.empty() || methods.size() > 256) {
    Die(absl::StrCat(service_name, ": ", methods.size(),
                     " unary methods; byte 0 picks one of 1..256"));
  }
  return methods;
}

}  // namespace

// ---------------------------------------------------------------------------
// Aliases

const std::string& Aliases::Get(const std::string& alias) const {
  auto it = ids_.find(alias);
  if (it == ids_.end()) {
    Die(absl::StrCat("alias ", alias, " was never set"));
  }
  return it->second;
}

void Aliases::Rewrite(Message* message) const {
  const Reflection* r = message->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(*message, &fields);
  auto replacement = [this](const std::string& value) -> const std::string* {
    if (value.empty() || value[0] != '$') {
      return nullptr;
    }
    auto it = ids_.find(value);
    return it == ids_.end() ? nullptr : &it->second;
  };
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(*message, f); ++i) {
          std::string scratch;
          const std::string* id = replacement(
              r->GetRepeatedStringReference(*message, f, i, &scratch));
          if (id != nullptr) {
            r->SetRepeatedString(message, f, i, *id);
          }
        }
      } else {
        std::string scratch;
        const std::string* id =
            replacement(r->GetStringReference(*message, f, &scratch));
        if (id != nullptr) {
          r->SetString(message, f, *id);
        }
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(*message, f); ++i) {
          Rewrite(r->MutableRepeatedMessage(message, f, i));
        }
      } else {
        Rewrite(r->MutableMessage(message, f));
      }
    }
  }
}

// ---------------------------------------------------------------------------
// RpcTable

const Rpc* RpcTable::Find(const std::string& name) const {
  auto it = rpcs_.find(name);
  return it == rpcs_.end() ? nullptr : &it->second;
}

struct RpcTable::FinishWaiter::State {
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  grpc::Status status;
};

RpcTable::FinishWaiter::FinishWaiter(grpc::CallbackServerContext* ctx)
    : state_(std::make_shared<State>()),
      peer_(std::make_unique<grpc::testing::DefaultReactorTestPeer>(
          ctx, [state = state_](grpc::Status s) {
            std::lock_guard<std::mutex> lock(state->mu);
            state->status = std::move(s);
            state->finished = true;
            state->cv.notify_all();
          })) {}

RpcTable::FinishWaiter::~FinishWaiter() = default;

grpc::Status RpcTable::FinishWaiter::Wait(const std::string& method) {
  {
    std::unique_lock<std::mutex> lock(state_->mu);
    if (!state_->cv.wait_for(lock, std::chrono::minutes(1),
                             [this] { return state_->finished; })) {
      Die(absl::StrCat(method, " did not finish its call within a minute"));
    }
  }
  // The test reactor marks its status set only after our callback returns;
  // the context (which owns it) must not go away before that.
  while (!peer_->test_status_set()) {
    std::this_thread::yield();
  }
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->status;
}

// ---------------------------------------------------------------------------
// Setup helpers

void MustOk(const grpc::Status& status, const std::string& what) {
  if (!status.ok()) {
    Die(absl::StrCat("setup failed: ", what, ": ",
                     CodeName(status.error_code()), ": ",
                     status.error_message()));
  }
}

void MustOk(const absl::Status& status, const std::string& what) {
  if (!status.ok()) {
    Die(absl::StrCat("setup failed: ", what, ": ", status.ToString()));
  }
}

v1::OrgNode FeedOrgNode(const std::string& id, const std::string& parent,
                        v1::OrgNodeKind kind) {
  v1::OrgNode n;
  n.set_id(id);
  n.set_parent_id(parent);
  n.set_kind(kind);
  n.set_name(id);
  n.set_version(1);
  return n;
}

v1::Event FeedEvent(uint64_t sequence, const std::string& kind,
                    const std::string& entity_id,
                    const google::protobuf::Message& payload, absl::Time time) {
  v1::Event e;
  e.set_sequence(sequence);
  e.set_kind(kind);
  e.set_entity_id(entity_id);
  e.set_time_micros(absl::ToUnixMicros(time));
  e.mutable_payload()->PackFrom(payload);
  return e;
}

// ---------------------------------------------------------------------------
// Harness

Harness* Harness::Install(std::unique_ptr<Fixture> fixture) {
  if (g_harness != nullptr) {
    Die("Harness::Install called twice");
  }
  // Never destroyed (it stays reachable, so LeakSanitizer is content); the
  // exit handler Initialize installs closes the service and the store.
  g_harness = new Harness(std::move(fixture));
  return g_harness;
}

Harness* Harness::Get() { return g_harness; }

Harness::Harness(std::unique_ptr<Fixture> fixture)
    : fixture_(std::move(fixture)), auth_(Authenticator::None()) {}

int Harness::Initialize(int* argc, char*** argv) {
  const std::string write_seeds = "--write_seeds=";
  for (int i = 1; i < *argc; ++i) {
    const std::string arg = (*argv)[i];
    if (absl::StartsWith(arg, write_seeds)) {
      WriteSeeds(arg.substr(write_seeds.size()));
      std::exit(0);
    }
  }
  // Mutated strings are often not UTF-8: protobuf refuses to parse them (as
  // gRPC would) and logs each refusal; thousands a second bury the output.
  google::protobuf::SetLogHandler(nullptr);
  verbose_ = std::getenv("SALESOPS_FUZZ_VERBOSE") != nullptr;
  for (const google::protobuf::MethodDescriptor* m :
       UnaryMethods(fixture_->ServiceName())) {
    methods_.push_back(m->name());
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/salesops-fuzz-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    Die(absl::StrCat("cannot create a directory like ", pattern));
  }
  dir_ = pattern;
  Open();
  // A normal end of the run (-max_total_time, -runs) closes the store and
  // removes its directory; a crash leaves it under $TMPDIR.
  std::atexit([] {
    Harness* h = Get();
    h->Close();
    std::error_code ec;
    std::filesystem::remove_all(h->dir_, ec);
  });
  return 0;
}

void Harness::Open() {
  ++generation_;
  StoreOptions options;
  options.column_families = fixture_->ColumnFamilies();
  options.sync_writes = false;
  options.outbox_retention = absl::ZeroDuration();
  options.clock = &clock_;
  const std::string store_dir = absl::StrCat(dir_, "/store-", generation_);
  absl::StatusOr<std::unique_ptr<Store>> store =
      Store::Open(store_dir, std::move(options));
  MustOk(store.status(), absl::StrCat("opening a store in ", store_dir));
  store_ = std::move(*store);
  fixture_->Start(Env{store_.get(), auth_.get(), &clock_}, &rpcs_);
  BindMethods();
  fixture_->Seed(&aliases_);
  reset_after_ = store_->db()->GetLatestSequenceNumber() + kWritesBeforeReset;
}

void Harness::Close() {
  if (store_ == nullptr) {
    return;
  }
  fixture_->Stop();
  by_index_.clear();
  rpcs_.Clear();
  aliases_.Clear();
  store_.reset();
  std::error_code ec;
  std::filesystem::remove_all(absl::StrCat(dir_, "/store-", generation_), ec);
}

void Harness::BindMethods() {
  by_index_.clear();
  for (const google::protobuf::MethodDescriptor* m :
       UnaryMethods(fixture_->ServiceName())) {
    const Rpc* rpc = rpcs_.Find(m->name());
    if (rpc == nullptr) {
      Die(absl::StrCat(m->full_name(), " has no handler in the fuzz target"));
    }
    if (rpc->prototype->GetDescriptor() != m->input_type()) {
      Die(absl::StrCat(m->full_name(), " takes ", m->input_type()->full_name(),
                       ", the fuzz target gives it ",
                       rpc->prototype->GetDescriptor()->full_name()));
    }
    by_index_.push_back(rpc);
  }
  if (rpcs_.size() != by_index_.size()) {
    Die(absl::StrCat("the fuzz target has ", rpcs_.size(), " handlers, ",
                     fixture_->ServiceName(), " ", by_index_.size(),
                     " unary methods: a misspelt method name?"));
  }
}

void Harness::WriteSeeds(const std::string& dir) const {
  const std::vector<const google::protobuf::MethodDescriptor*> methods =
      UnaryMethods(fixture_->ServiceName());
  std::map<std::string, int> count;  // seeds per method
  const SeedList seeds = fixture_->Seeds();
  std::filesystem::create_directories(dir);
  for (const SeedInput& seed : seeds.seeds()) {
    int index = -1;
    for (size_t i = 0; i < methods.size(); ++i) {
      if (methods[i]->name() == seed.method) {
        index = static_cast<int>(i);
      }
    }
    if (index < 0 ||
        methods[index]->input_type() != seed.request->GetDescriptor()) {
      Die(absl::StrCat("seed for ", seed.method,
                       ": no such method, or another request type"));
    }
    const std::string path =
        absl::StrCat(dir, "/", seed.method, "-", ++count[seed.method]);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.put(static_cast<char>(index));
    out << seed.request->SerializeAsString();
    if (!out.good()) {
      Die(absl::StrCat("cannot write ", path));
    }
  }
  for (const google::protobuf::MethodDescriptor* m : methods) {
    if (count[m->name()] == 0) {
      Die(absl::StrCat(m->full_name(), " has no seed"));
    }
  }
  std::fprintf(stderr, "salesops fuzz: wrote %zu seeds for %zu methods to %s\n",
               seeds.seeds().size(), methods.size(), dir.c_str());
}

int Harness::RunOne(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const size_t index = data[0] % by_index_.size();
  const Rpc& rpc = *by_index_[index];
  std::unique_ptr<Message> request(rpc.prototype->New());
  if (!request->ParseFromArray(data + 1, static_cast<int>(size - 1))) {
    return 0;
  }
  aliases_.Rewrite(request.get());

  const uint64_t events_before = store_->last_sequence();
  const rocksdb::SequenceNumber writes_before =
      store_->db()->GetLatestSequenceNumber();
  const grpc::Status status = rpc.call(*request);
  if (verbose_) {
    std::fprintf(stderr, "salesops fuzz: %s %s -> %s %s\n",
                 methods_[index].c_str(), Printed(*request).c_str(),
                 CodeName(status.error_code()).c_str(),
                 status.error_message().c_str());
  }

  auto fail = [&](const std::string& property) {
    Die(absl::StrCat(fixture_->ServiceName(), "/", methods_[index],
                     " answered ", CodeName(status.error_code()), " \"",
                     status.error_message(), "\": ", property,
                     "\n  request: ", Printed(*request)));
  };
  switch (status.error_code()) {
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DATA_LOSS:
      fail("a handler never answers INTERNAL, UNKNOWN or DATA_LOSS");
      break;
    default:
      break;
  }
  if (!status.ok()) {
    if (status.error_message().empty()) {
      fail("an error must say what is wrong");
    }
    if (store_->last_sequence() != events_before) {
      fail(absl::StrCat("an error emitted events (outbox sequence ",
                        events_before, " -> ", store_->last_sequence(), ")"));
    }
    if (store_->db()->GetLatestSequenceNumber() != writes_before) {
      fail(absl::StrCat("an error wrote to RocksDB (sequence ", writes_before,
                        " -> ", store_->db()->GetLatestSequenceNumber(), ")"));
    }
  }
  if (StoreOutgrown()) {
    Close();
    Open();
  }
  return 0;
}

bool Harness::StoreOutgrown() {
  if (store_->db()->GetLatestSequenceNumber() > reset_after_) {
    return true;
  }
  if (++inputs_since_size_check_ < kInputsPerSizeCheck) {
    return false;
  }
  inputs_since_size_check_ = 0;
  uintmax_t bytes = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(
           absl::StrCat(dir_, "/store-", generation_), ec)) {
    if (entry.is_regular_file(ec)) {
      bytes += entry.file_size(ec);
    }
  }
  return bytes > kMaxStoreBytes;
}

}  // namespace salesops::fuzz
