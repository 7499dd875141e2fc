#include "bench/federation.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace salesops::bench {
namespace {

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "bench: " << what << "\n";
  std::exit(1);
}

void Check(const std::string& what, const grpc::Status& s) {
  if (!s.ok()) {
    Die(absl::StrCat(what, ": ", s.error_code(), " ", s.error_message()));
  }
}

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(30));
  return ctx;
}

}  // namespace

bool ReadState(const std::string& path, State* out) {
  std::ifstream in(path);
  std::getline(in, out->root);
  std::getline(in, out->mid);
  std::getline(in, out->account);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out->reps.push_back(line);
  }
  if (out->root.empty() || out->reps.empty()) {
    std::cerr << "bench: no state in " << path << "; run the org phase first\n";
    return false;
  }
  return true;
}

void WriteState(const std::string& path, const State& s) {
  std::ofstream out(path, std::ios::trunc);
  out << s.root << "\n" << s.mid << "\n" << s.account << "\n";
  for (const std::string& r : s.reps) out << r << "\n";
}

std::vector<RegionTarget> ReadRegionsList(const std::string& path) {
  std::ifstream in(path);
  if (!in) Die(absl::StrCat("cannot read --regions_list ", path));
  std::vector<RegionTarget> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    RegionTarget r;
    std::string state;
    if (!(fields >> r.id >> r.currency >> r.pipeline_addr >> state)) {
      Die(absl::StrCat(path,
                       ": want \"id currency pipeline_addr state\", got \"",
                       line, "\""));
    }
    if (!ReadState(state, &r.state)) std::exit(1);
    out.push_back(std::move(r));
  }
  if (out.empty()) Die(absl::StrCat(path, ": no regions"));
  return out;
}

void SetUpHeadquarters(v1::AccountsService::Stub* accounts,
                       const std::vector<RegionTarget>& regions,
                       const std::string& rates, const std::string& state) {
  v1::CreateOrgNodeRequest node;
  node.mutable_node()->set_kind(v1::ORG_NODE_KIND_GLOBAL);
  node.mutable_node()->set_name("Headquarters");
  node.set_request_id("bench-hq");
  v1::OrgNode hq;
  Check("CreateOrgNode Headquarters",
        accounts->CreateOrgNode(Ctx().get(), node, &hq));
  for (absl::string_view entry :
       absl::StrSplit(rates, ',', absl::SkipEmpty())) {
    const std::pair<std::string, std::string> kv = absl::StrSplit(entry, '=');
    v1::SetExchangeRateRequest req;
    req.set_currency(kv.first);
    req.mutable_start_date()->set_year(2026);
    req.mutable_start_date()->set_month(1);
    req.mutable_start_date()->set_day(1);
    req.set_rate(kv.second);
    v1::ExchangeRate out;
    Check(absl::StrCat("SetExchangeRate ", entry),
          accounts->SetExchangeRate(Ctx().get(), req, &out));
  }
  State s;
  s.root = hq.id();
  s.mid = absl::StrCat(regions.front().id, "/", regions.front().state.mid);
  for (const RegionTarget& r : regions) {
    for (const std::string& rep : r.state.reps) {
      s.reps.push_back(absl::StrCat(r.id, "/", rep));
    }
  }
  WriteState(state, s);
  std::cout << "hq: node " << hq.id() << ", rates " << rates << "\n";
}

}  // namespace salesops::bench
