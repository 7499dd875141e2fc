// PipelineService.ImportOpportunities (issue 21; docs/API.md "Bulk import";
// DECISIONS D51): each row as CreateOpportunity creates it, with the peer
// checks of a batch made once per distinct account and owner and every row
// written by its own transaction function (Store::WriteAsync), so the group
// commit merges the rows and a bad row rolls back alone. The batch rules and
// the row results are common/bulk's.

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/bulk/import_results.h"
#include "services/pipeline/opportunity_rules.h"
#include "services/pipeline/pipeline_service.h"

namespace salesops::pipeline {

struct PipelineServiceImpl::OpportunityImport {
  OpportunityImport(const v1::ImportOpportunitiesRequest* req,
                    v1::ImportOpportunitiesResponse* resp, Principal who,
                    Finish finish)
      : req(req),
        resp(resp),
        who(std::move(who)),
        finish(std::move(finish)),
        status(req->rows_size()),
        drafts(req->rows_size()),
        out(req->rows_size()),
        created(new bool[req->rows_size()]()) {}

  // Distinct peer checks: their keys and, once answered, verdicts.
  struct Checks {
    std::unordered_map<std::string, size_t> index;
    std::vector<std::string> keys;
    std::vector<absl::Status> verdicts;
    size_t Add(const std::string& key) {
      auto [it, inserted] = index.emplace(key, keys.size());
      if (inserted) {
        keys.push_back(key);
      }
      return it->second;
    }
  };

  const v1::ImportOpportunitiesRequest* req;
  v1::ImportOpportunitiesResponse* resp;
  const Principal who;
  Finish finish;
  // Per row: the outcome so far, the validated draft, the written entity and
  // whether this call created it (bool[]: written by the commit thread, read
  // after every row is done).
  std::vector<absl::Status> status;
  std::vector<v1::Opportunity> drafts;
  std::vector<v1::Opportunity> out;
  std::unique_ptr<bool[]> created;
  Checks accounts;
  Checks owners;
  std::vector<size_t> account_of;  // per row: index into accounts
  std::vector<size_t> owner_of;    // per row: index into owners
  std::atomic<size_t> pending{0};
};

grpc::ServerUnaryReactor* PipelineServiceImpl::ImportOpportunities(
    grpc::CallbackServerContext* ctx, const v1::ImportOpportunitiesRequest* req,
    v1::ImportOpportunitiesResponse* resp) {
  return SALESOPS_SERVE_ASYNC(
      gate_, ctx, [&](const Principal& who, Finish finish) {
        absl::Status batch =
            bulk::ValidateImportBatch(req->rows_size(), req->first_row());
        if (!batch.ok()) {
          finish(batch);
          return;
        }
        auto import =
            std::make_shared<OpportunityImport>(req, resp, who, finish);
        // The pure rules first: a row they refuse asks no peer.
        for (int i = 0; i < req->rows_size(); ++i) {
          const v1::CreateOpportunityRequest& row = req->rows(i);
          absl::Status& s = import->status[i];
          s = bulk::RequireImportRequestId(row.request_id(), i);
          if (s.ok()) {
            absl::StatusOr<v1::Opportunity> draft =
                DraftOpportunity(row, who, options_.currency);
            s = draft.status();
            if (draft.ok()) {
              import->drafts[i] = std::move(*draft);
            }
          }
        }
        CheckImportPeers(std::move(import));
      });
}

void PipelineServiceImpl::CheckImportPeers(
    std::shared_ptr<OpportunityImport> batch) {
  OpportunityImport& b = *batch;
  const size_t n = b.status.size();
  b.account_of.assign(n, 0);
  b.owner_of.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (b.status[i].ok()) {
      b.account_of[i] = b.accounts.Add(b.drafts[i].account_id());
      b.owner_of[i] = b.owners.Add(b.drafts[i].owner_node_id());
    }
  }
  b.accounts.verdicts.resize(b.accounts.keys.size());
  b.owners.verdicts.resize(b.owners.keys.size());
  // One extra count held while the checks start, so an answer given at once
  // (a known account, an owner in the org mirror) cannot end the wait early.
  b.pending.store(b.accounts.keys.size() + b.owners.keys.size() + 1);
  auto one_done = [this, batch]() {
    if (batch->pending.fetch_sub(1) != 1) {
      return;
    }
    OpportunityImport& d = *batch;
    for (size_t i = 0; i < d.status.size(); ++i) {
      if (d.status[i].ok()) {
        d.status[i] = d.accounts.verdicts[d.account_of[i]];
      }
      if (d.status[i].ok()) {
        d.status[i] = d.owners.verdicts[d.owner_of[i]];
      }
    }
    WriteImportRows(batch);
  };
  for (size_t k = 0; k < b.accounts.keys.size(); ++k) {
    CheckAccountAsync(b.accounts.keys[k], "opportunity.account_id",
                      [batch, k, one_done](absl::Status s) {
                        batch->accounts.verdicts[k] = std::move(s);
                        one_done();
                      });
  }
  for (size_t k = 0; k < b.owners.keys.size(); ++k) {
    CheckOwnerAsync(b.who, b.owners.keys[k], "opportunity.owner_node_id",
                    [batch, k, one_done](absl::Status s) {
                      batch->owners.verdicts[k] = std::move(s);
                      one_done();
                    });
  }
  one_done();
}

void PipelineServiceImpl::WriteImportRows(
    std::shared_ptr<OpportunityImport> batch) {
  OpportunityImport& b = *batch;
  const size_t n = b.status.size();
  auto one_done = [batch]() {
    if (batch->pending.fetch_sub(1) != 1) {
      return;
    }
    OpportunityImport& d = *batch;
    auto* results = d.resp->mutable_results();
    results->Reserve(static_cast<int>(d.status.size()));
    for (size_t i = 0; i < d.status.size(); ++i) {
      *results->Add() = bulk::ImportRowResultOf(
          bulk::ImportRowNumber(d.req->first_row(), static_cast<int>(i)),
          d.status[i], d.created[i], d.out[i].id());
    }
    *d.resp->mutable_counts() = bulk::CountImportResults(*results);
    d.finish(absl::OkStatus());
  };
  size_t writes = 0;
  for (size_t i = 0; i < n; ++i) {
    writes += b.status[i].ok() ? 1 : 0;
  }
  b.pending.store(writes + 1);
  // In the rows' order: a request_id repeated in the batch meets the first
  // row's record (same content: its result; else REQUEST_ID_REUSED).
  for (size_t i = 0; i < n; ++i) {
    if (!b.status[i].ok()) {
      continue;
    }
    db_.store->WriteAsync(
        ActorFor(b.who, "ImportOpportunities"),
        CreateTxn(&b.req->rows(static_cast<int>(i)), b.who.name,
                  std::move(b.drafts[i]), &b.out[i], &b.created[i]),
        [batch, i, one_done](absl::StatusOr<CommitResult> r) {
          batch->status[i] = r.status();
          one_done();
        });
  }
  one_done();
}

}  // namespace salesops::pipeline
