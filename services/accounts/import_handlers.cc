// ImportAccounts and ImportContacts (issue 21; docs/API.md "Bulk import"):
// the I/O around common/bulk's batch rules and row results (see handlers.h).

#include <memory>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "common/bulk/import_results.h"
#include "common/status/status.h"
#include "services/accounts/account_rules.h"
#include "services/accounts/contact_rules.h"
#include "services/accounts/handlers.h"

namespace salesops::accounts::handlers {
namespace {

// The rows of one import: `check(row)` is the single create's check before
// any write, `txn(row, out, ran)` its commit-path part. Every row that passes
// is written by its own WriteAsync, in order; waits for all of them.
template <typename Row, typename Entity, typename Check, typename MakeTxn,
          typename Resp>
absl::Status ImportRows(AccountsStore& db, const Principal& who,
                        const char* method,
                        const google::protobuf::RepeatedPtrField<Row>& rows,
                        int64_t first_row, const Check& check,
                        const MakeTxn& make_txn, Resp* resp) {
  RETURN_IF_ERROR(bulk::ValidateImportBatch(rows.size(), first_row));
  const int n = rows.size();
  std::vector<absl::Status> status(n);
  std::vector<Entity> out(n);
  std::unique_ptr<bool[]> created(new bool[n]());
  int writes = 0;
  for (int i = 0; i < n; ++i) {
    status[i] = bulk::RequireImportRequestId(rows[i].request_id(), i);
    if (status[i].ok()) {
      status[i] = check(rows[i]);
    }
    writes += status[i].ok() ? 1 : 0;
  }
  absl::BlockingCounter done(writes);
  for (int i = 0; i < n; ++i) {
    if (!status[i].ok()) {
      continue;
    }
    // Each callback writes its own row's slot; Wait() orders them before the
    // reads below.
    db.store->WriteAsync(ActorFor(who, method),
                         make_txn(rows[i], &out[i], &created[i]),
                         [&status, &done, i](absl::StatusOr<CommitResult> r) {
                           status[i] = r.status();
                           done.DecrementCount();
                         });
  }
  done.Wait();
  auto* results = resp->mutable_results();
  results->Reserve(n);
  for (int i = 0; i < n; ++i) {
    *results->Add() =
        bulk::ImportRowResultOf(bulk::ImportRowNumber(first_row, i), status[i],
                                created[i], out[i].id());
  }
  *resp->mutable_counts() = bulk::CountImportResults(*results);
  return absl::OkStatus();
}

}  // namespace

absl::Status ImportAccounts(Env env, const Principal& who,
                            const v1::ImportAccountsRequest& req,
                            v1::ImportAccountsResponse* resp) {
  return ImportRows<v1::CreateAccountRequest, v1::Account>(
      env.db, who, "ImportAccounts", req.rows(), req.first_row(),
      [&](const v1::CreateAccountRequest& row) {
        return CheckCreateAccount(row, who);
      },
      [&](const v1::CreateAccountRequest& row, v1::Account* out, bool* ran) {
        return CreateAccountTxn(env.db, who, row, out, ran);
      },
      resp);
}

absl::Status ImportContacts(Env env, const Principal& who,
                            const v1::ImportContactsRequest& req,
                            v1::ImportContactsResponse* resp) {
  return ImportRows<v1::CreateContactRequest, v1::Contact>(
      env.db, who, "ImportContacts", req.rows(), req.first_row(),
      [](const v1::CreateContactRequest& row) {
        return CheckCreateContact(row);
      },
      [&](const v1::CreateContactRequest& row, v1::Contact* out, bool* ran) {
        return CreateContactTxn(env.db, who, row, out, ran);
      },
      resp);
}

}  // namespace salesops::accounts::handlers
