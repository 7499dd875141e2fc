#pragma once

// On whose behalf a write is made (Store::Write); copied into the audit record
// of each entity change the write makes (store.h, audit.proto).

#include <string>
#include <utility>

namespace salesops {

struct Actor {
  // The principal's name; empty for the service's own work (the store puts
  // StoreOptions::system_actor there).
  std::string name;
  // The principal's role ("ADMIN", "REP", ...) or "SYSTEM".
  std::string role;
  // The RPC ("MoveStage") or the job ("feed:pipeline", "daily-collections").
  std::string method;
};

// The service's own work: a feed consumer, a periodic job, start-up.
inline Actor SystemActor(std::string job) {
  return Actor{"", "SYSTEM", std::move(job)};
}

}  // namespace salesops
