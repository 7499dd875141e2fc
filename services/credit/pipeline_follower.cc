#include "services/credit/pipeline_follower.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log/log.h"
#include "common/resync/list_pages.h"
#include "common/resync/sorted_sweep.h"
#include "common/status/status.h"
#include "salesops/v1/pipeline.grpc.pb.h"
#include "services/credit/credit_store.h"

namespace salesops::credit {
namespace {

constexpr char kPipeline[] = "pipeline service";
constexpr char kSource[] = "pipeline";
constexpr char kOpportunityKind[] = "pipeline.Opportunity";
constexpr int64_t kMaxPages = 100'000;  // of 1,000 opportunities
constexpr size_t kBatch = 1000;

Actor ResyncActor() { return SystemActor(absl::StrCat("resync:", kSource)); }

// Every listed model overwrites its copy (whatever the versions); the
// models pipeline no longer lists are removed. One transaction: few.
absl::Status ReplaceModels(Store& store,
                           const std::vector<v1::StageModel>& models) {
  const CreditStore db(&store);
  return store
      .Write(ResyncActor(),
             [&](WriteTxn& txn) -> absl::Status {
               SortedSweep sweep(Cf::kMirror, CreditStore::ModelMirrorPrefix());
               std::vector<std::string> keys;
               for (const v1::StageModel& m : models) {
                 keys.push_back(CreditStore::ModelMirrorKey(m.id()));
               }
               const SortedSweep::GoneFn remove = [](WriteTxn& t,
                                                     std::string_view key) {
                 t.Delete(Cf::kMirror, key);
                 return absl::OkStatus();
               };
               std::map<std::string, std::string> stored;
               RETURN_IF_ERROR(sweep.Page(txn, keys, remove, &stored));
               sweep.Committed();
               bool done = false;
               RETURN_IF_ERROR(sweep.Rest(txn, SIZE_MAX, remove, &done));
               for (size_t i = 0; i < models.size(); ++i) {
                 auto it = stored.find(keys[i]);
                 if (it == stored.end() ||
                     it->second != models[i].SerializeAsString()) {
                   db.PutModel(txn, models[i]);
                 }
               }
               return absl::OkStatus();
             })
      .status();
}

// An opportunity pipeline no longer lists: its account and its commitment
// go; its receivables, payments and collection stay (credit's own).
SortedSweep::GoneFn Forget(const CreditStore& db, int64_t* forgotten) {
  return [&db, forgotten](WriteTxn& txn, std::string_view key) -> absl::Status {
    ASSIGN_OR_RETURN(const std::string id, CreditStore::MirroredId(key));
    txn.Delete(Cf::kMirror, key);
    ++*forgotten;
    return db.ReleaseCommitment(txn, id);
  };
}

// One page of opportunities: the unlisted ones before the page's last id
// forgotten, each listed one applied as its event would be.
absl::Status ReplacePage(Store& store, CreditServiceImpl& service,
                         SortedSweep& sweep,
                         const std::vector<v1::Opportunity>& page,
                         int64_t* forgotten) {
  const CreditStore db(&store);
  RETURN_IF_ERROR(
      store
          .Write(ResyncActor(),
                 [&](WriteTxn& txn) -> absl::Status {
                   std::vector<std::string> keys;
                   keys.reserve(page.size());
                   for (const v1::Opportunity& o : page) {
                     if (o.id().empty()) {
                       return absl::DataLossError(
                           "pipeline: a listed opportunity has no id");
                     }
                     keys.push_back(CreditStore::OpportunityAccountKey(o.id()));
                   }
                   RETURN_IF_ERROR(
                       sweep.Page(txn, keys, Forget(db, forgotten)));
                   for (const v1::Opportunity& o : page) {
                     v1::Event e;
                     e.set_kind(kOpportunityKind);
                     e.set_entity_id(o.id());
                     e.set_time_micros(absl::ToUnixMicros(txn.now()));
                     e.mutable_payload()->PackFrom(o);
                     RETURN_IF_ERROR(service.ApplyPipeline(e, txn));
                   }
                   return absl::OkStatus();
                 })
          .status());
  sweep.Committed();
  return absl::OkStatus();
}

// After the last page: the rest forgotten, the cursor last.
absl::Status Finish(Store& store, SortedSweep& sweep, uint64_t cursor,
                    int64_t* forgotten) {
  const CreditStore db(&store);
  bool done = false;
  while (!done) {
    RETURN_IF_ERROR(
        store
            .Write(ResyncActor(),
                   [&](WriteTxn& txn) -> absl::Status {
                     RETURN_IF_ERROR(
                         sweep.Rest(txn, kBatch, Forget(db, forgotten), &done));
                     if (done) {
                       txn.PutCursor(kSource, cursor);
                     }
                     return absl::OkStatus();
                   })
            .status());
    sweep.Committed();
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ResyncPipeline(const PeerChannel& peer, Store& store,
                            CreditServiceImpl& service) {
  const absl::Time start = absl::Now();
  auto stub = v1::PipelineService::NewStub(peer.channel());
  std::vector<v1::StageModel> models;
  uint64_t models_at = 0, opportunities_at = 0;
  RETURN_IF_ERROR(
      (CollectAll<v1::ListStageModelsRequest, v1::ListStageModelsResponse>(
          peer, kPipeline,
          [&](grpc::ClientContext* c, const auto& req, auto* resp) {
            return stub->ListStageModels(c, req, resp);
          },
          [](v1::ListStageModelsResponse& page) {
            return page.mutable_models();
          },
          &models, &models_at)));
  RETURN_IF_ERROR(ReplaceModels(store, models));
  SortedSweep sweep(Cf::kMirror, CreditStore::OpportunityAccountPrefix());
  int64_t listed = 0;
  int64_t forgotten = 0;
  RETURN_IF_ERROR(
      (ForEachPage<v1::ListOpportunitiesRequest, v1::ListOpportunitiesResponse>(
          peer, kPipeline, {},
          [&](grpc::ClientContext* c, const auto& req, auto* resp) {
            return stub->ListOpportunities(c, req, resp);
          },
          [&](v1::ListOpportunitiesResponse& page) {
            listed += page.opportunities_size();
            return ReplacePage(store, service, sweep,
                               TakeAll(page.mutable_opportunities()),
                               &forgotten);
          },
          &opportunities_at, kMaxPages)));
  const uint64_t cursor = std::min(models_at, opportunities_at);
  RETURN_IF_ERROR(Finish(store, sweep, cursor, &forgotten));
  log::Info("credit: pipeline resync done, the copy replaced",
            {{"models", static_cast<int64_t>(models.size())},
             {"opportunities", listed},
             {"forgotten", forgotten},
             {"cursor", static_cast<int64_t>(cursor)},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - start)}});
  return absl::OkStatus();
}

}  // namespace salesops::credit
