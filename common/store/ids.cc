#include "common/store/ids.h"

#include <array>
#include <cstdint>
#include <mutex>
#include <random>

namespace salesops {
namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

struct State {
  std::mutex mu;
  std::mt19937_64 rng{std::random_device{}()};
  uint64_t last_ms = 0;
  uint16_t hi = 0;  // 16 high random bits
  uint64_t lo = 0;  // 64 low random bits
};

State& GlobalState() {
  static State* state = new State();
  return *state;
}

}  // namespace

std::string NewId(std::string_view prefix, absl::Time now) {
  State& st = GlobalState();
  uint64_t ms;
  uint16_t hi;
  uint64_t lo;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    ms = static_cast<uint64_t>(absl::ToUnixMillis(now)) &
         ((uint64_t{1} << 48) - 1);
    if (ms <= st.last_ms) {
      // Same (or an earlier, after a clock step back) millisecond: keep the
      // previous time and increment the random part, so ids stay strictly
      // increasing.
      ms = st.last_ms;
      if (++st.lo == 0) {
        ++st.hi;
      }
    } else {
      st.last_ms = ms;
      st.hi = static_cast<uint16_t>(st.rng());
      st.lo = st.rng();
    }
    hi = st.hi;
    lo = st.lo;
  }
  // 128 bits: 48 time | 16 hi | 64 lo, written as 26 base32 digits (130 bits,
  // top 2 zero).
  std::array<char, 26> body;
  unsigned __int128 v = (static_cast<unsigned __int128>(ms) << 80) |
                        (static_cast<unsigned __int128>(hi) << 64) | lo;
  for (int i = 25; i >= 0; --i) {
    body[i] = kCrockford[static_cast<int>(v & 31)];
    v >>= 5;
  }
  std::string id(prefix);
  id.push_back('_');
  id.append(body.data(), body.size());
  return id;
}

}  // namespace salesops
