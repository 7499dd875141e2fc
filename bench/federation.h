// The federation benchmark's pieces of salesops-bench (issue 19; bench/
// federation.sh runs them): the state file every phase shares, the list of
// regions, and the headquarters set-up above them.
#ifndef SALESOPS_BENCH_FEDERATION_H_
#define SALESOPS_BENCH_FEDERATION_H_

#include <string>
#include <vector>

#include "salesops/v1/accounts.grpc.pb.h"

namespace salesops::bench {

// What the org phase keeps for later phases: one id a line (root, a
// mid-level node, the account, then the reps).
struct State {
  std::string root;
  std::string mid;
  std::string account;
  std::vector<std::string> reps;
};

// Reads `path`; false (and a message on stderr) when it holds no org.
bool ReadState(const std::string& path, State* out);
void WriteState(const std::string& path, const State& s);

// One regional instance as the load generator sees it.
struct RegionTarget {
  std::string id;        // the region id of the regions file
  std::string currency;  // its instances' --currency (its deals' currency)
  std::string pipeline_addr;
  State state;  // its org phase's state file
};

// Reads --regions_list: one region a line, "id currency pipeline_addr
// state_file" separated by spaces; exits with a message on a bad line or
// state file.
std::vector<RegionTarget> ReadRegionsList(const std::string& path);

// The hq phase: one GLOBAL node in the headquarters' accounts, the rates
// of `rates` ("CUR=rate,..."; from 2026-01-01) and a state file for the
// global forecast's phases: root = that node, mid = region 1's mid-level
// node, reps = every region's reps, all namespaced "<region>/<id>".
void SetUpHeadquarters(v1::AccountsService::Stub* accounts,
                       const std::vector<RegionTarget>& regions,
                       const std::string& rates, const std::string& state);

}  // namespace salesops::bench

#endif  // SALESOPS_BENCH_FEDERATION_H_
