#include "common/store/table.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

namespace salesops {
namespace {

// FNV-1a 64 of the deterministic serialization: stable across processes and
// versions, which std::hash is not. A fingerprint, not a security measure.
std::string Fingerprint(const google::protobuf::Message& request) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return KeyBuilder(0).U64(h).key().substr(1);
}

}  // namespace

absl::Status CheckVersion(std::string_view what, std::string_view id,
                          int64_t expected_version, int64_t current_version) {
  if (expected_version < 0) {
    return absl::InvalidArgumentError(
        "expected_version: must be >= 0 (0 = any version)");
  }
  if (expected_version != 0 && expected_version != current_version) {
    return WithReason(
        absl::AbortedError(absl::StrCat(
            std::string(what), " ", std::string(id), ": expected_version ",
            expected_version, " but the current version is ", current_version,
            "; re-read and retry")),
        "STALE_VERSION");
  }
  return absl::OkStatus();
}

absl::Status MultiIndex::ListIds(const Store& store, std::string_view value,
                                 std::string_view after_id, size_t limit,
                                 std::vector<std::string>* ids,
                                 bool* more) const {
  return ListIdsWith(
      [&](std::string_view start, std::string_view end,
          const Store::Visitor& visit) {
        return store.Scan(cf_, start, end, visit);
      },
      value, after_id, limit, ids, more);
}

absl::Status MultiIndex::ListIds(WriteTxn& txn, std::string_view value,
                                 std::string_view after_id, size_t limit,
                                 std::vector<std::string>* ids,
                                 bool* more) const {
  return ListIdsWith(
      [&](std::string_view start, std::string_view end,
          const Store::Visitor& visit) {
        return txn.Scan(cf_, start, end, visit);
      },
      value, after_id, limit, ids, more);
}

absl::Status UniqueIndex::Claim(WriteTxn& txn, std::string_view field,
                                std::string_view old_value,
                                std::string_view new_value, std::string_view id,
                                std::string_view shown) const {
  if (old_value == new_value) {
    return absl::OkStatus();
  }
  if (!new_value.empty()) {
    ASSIGN_OR_RETURN(std::optional<std::string> holder, Lookup(txn, new_value));
    if (holder && *holder != id) {
      return WithReason(
          absl::AlreadyExistsError(absl::StrCat(
              std::string(field), ": \"",
              std::string(shown.empty() ? new_value : shown), "\" is already ",
              what_, what_.empty() ? "" : " ", *holder)),
          "DUPLICATE_VALUE");
    }
    Put(txn, new_value, id);
  }
  if (!old_value.empty()) {
    Delete(txn, old_value);
  }
  return absl::OkStatus();
}

namespace {

template <typename Source>
absl::StatusOr<std::vector<std::string>> AllIdsOf(const MultiIndex& index,
                                                  Source& source,
                                                  std::string_view value,
                                                  size_t limit) {
  std::vector<std::string> ids;
  bool more = false;
  RETURN_IF_ERROR(index.ListIds(source, value, "", limit, &ids, &more));
  if (more) {
    return FailedPrecondition(
        "TOO_MANY_ENTRIES", value,
        absl::StrCat("more than ", limit, " entries under ",
                     std::string(value)));
  }
  return ids;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> MultiIndex::AllIds(
    const Store& store, std::string_view value, size_t limit) const {
  return AllIdsOf(*this, store, value, limit);
}

absl::StatusOr<std::vector<std::string>> MultiIndex::AllIds(
    WriteTxn& txn, std::string_view value, size_t limit) const {
  return AllIdsOf(*this, txn, value, limit);
}

absl::Status MultiIndex::ListIdsWith(const ScanFn& scan, std::string_view value,
                                     std::string_view after_id, size_t limit,
                                     std::vector<std::string>* ids,
                                     bool* more) const {
  const std::string prefix = KeyBuilder(tag_).Str(value).key();
  const std::string start =
      after_id.empty() ? prefix
                       : KeyBuilder(tag_).Str(value).Str(after_id).key();
  *more = false;
  bool corrupt = false;
  RETURN_IF_ERROR(scan(start, PrefixSuccessor(prefix),
                       [&](std::string_view key, std::string_view) {
                         if (!after_id.empty() && key == start) {
                           return true;
                         }
                         if (ids->size() >= limit) {
                           *more = true;
                           return false;
                         }
                         KeyReader reader(key.substr(prefix.size()));
                         std::string id;
                         if (!reader.Str(&id) || !reader.Done()) {
                           corrupt = true;
                           return false;
                         }
                         ids->push_back(std::move(id));
                         return true;
                       }));
  if (corrupt) {
    return absl::DataLossError("store: corrupt index key");
  }
  return absl::OkStatus();
}

absl::Status CreateOnce(WriteTxn& txn, std::string_view scope,
                        std::string_view request_id,
                        const google::protobuf::Message& request,
                        google::protobuf::Message* out,
                        const std::function<absl::Status()>& create) {
  if (request_id.empty()) {
    return create();
  }
  if (request_id.size() > 128) {
    return absl::InvalidArgumentError("request_id: must be at most 128 bytes");
  }
  const std::string fingerprint = Fingerprint(request);
  ASSIGN_OR_RETURN(std::optional<WriteTxn::RequestRecord> prior,
                   txn.GetRequest(scope, request_id));
  if (prior) {
    if (prior->fingerprint != fingerprint) {
      return FailedPrecondition(
          "REQUEST_ID_REUSED", "request_id",
          absl::StrCat("request_id: \"", std::string(request_id),
                       "\" was already used for a different ",
                       std::string(scope), " request"));
    }
    if (!out->ParseFromString(prior->result)) {
      return absl::DataLossError("store: corrupt request_id result");
    }
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(create());
  // What a retry needs, not a third copy of the entity (D53).
  txn.PutRequest(scope, request_id, fingerprint, *out);
  return absl::OkStatus();
}

}  // namespace salesops
