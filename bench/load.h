// The benchmark's load (issue 5; issue 21): deterministic open deals created
// through unary CreateOpportunity or through ImportOpportunities, and the
// same deals as CSV rows for the PostgreSQL peers (bench/pg.sh,
// bench/pg_write.sh).
#ifndef SALESOPS_BENCH_LOAD_H_
#define SALESOPS_BENCH_LOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "salesops/v1/pipeline.grpc.pb.h"

namespace salesops::bench {

// Where the deals go and what they point at.
struct Deals {
  v1::PipelineService::Stub* pipeline = nullptr;
  std::string account;
  const std::vector<std::string>* reps = nullptr;  // owners, round-robin
  std::string currency;
};

// Deal i: owner reps[i % reps], amount, stage and close date (2027-01..03)
// pseudo-random from i, name "Bench <i>", request_id "bench-<i>".
void FillDeal(const Deals& d, int64_t i, v1::CreateOpportunityRequest* req);

// Creates deals [from, to) with `in_flight` unary calls at once (gRPC's
// callback client); appends "owner,amount,stage\n" per acknowledged deal to
// *rows. Exits on any failed call. Returns the seconds taken.
double CreateUnary(const Deals& d, int64_t from, int64_t to, int in_flight,
                   std::string* rows);

// Imports deals [from, to) in ImportOpportunities batches of `batch` rows,
// `in_flight` batches at once, each row numbered by its deal index + 1;
// appends rows as CreateUnary. Exits unless every row comes back CREATED.
// Returns the seconds taken, or -1 (nothing imported) when the server
// answers UNIMPLEMENTED.
double Import(const Deals& d, int64_t from, int64_t to, int batch,
              int in_flight, std::string* rows);

// Writes deals [from, to) to `path` as "k,name,account,owner,amount,
// currency,stage,close_date,external_id" lines: the PostgreSQL write peer's
// rows (external_id is the request_id).
void WriteDealsCsv(const Deals& d, int64_t from, int64_t to,
                   const std::string& path);

}  // namespace salesops::bench

#endif  // SALESOPS_BENCH_LOAD_H_
