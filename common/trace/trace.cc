#include "common/trace/trace.h"

#include <vector>

#include "absl/random/random.h"

namespace salesops::trace {
namespace {

thread_local const TraceContext* t_current = nullptr;

// The last call this thread finished serving (NoteFinishedCall).
thread_local const void* t_finished_call = nullptr;
thread_local std::string t_finished_trace_id;

bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// `s` is exactly `n` lowercase hex digits.
bool LowerHex(std::string_view s, size_t n) {
  if (s.size() != n) {
    return false;
  }
  for (char c : s) {
    if (!IsLowerHex(c)) {
      return false;
    }
  }
  return true;
}

bool AllZero(std::string_view s) {
  return s.find_first_not_of('0') == std::string_view::npos;
}

int HexValue(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

std::string RandomHex(size_t digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  thread_local absl::BitGen gen;
  std::string out(digits, '0');
  do {
    for (size_t i = 0; i < digits; i += 16) {
      uint64_t bits = absl::Uniform<uint64_t>(gen);
      for (size_t j = i; j < digits && j < i + 16; ++j, bits >>= 4) {
        out[j] = kDigits[bits & 0xf];
      }
    }
  } while (AllZero(out));  // all zeros is invalid; 2^-64 or less
  return out;
}

bool KeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '*' || c == '/';
}

// A run of key characters, the first one lcalpha (or also a digit when
// `digit_first`), of 1 to `max` characters.
bool KeyPart(std::string_view s, size_t max, bool digit_first) {
  if (s.empty() || s.size() > max) {
    return false;
  }
  const char first = s.front();
  if (!((first >= 'a' && first <= 'z') ||
        (digit_first && first >= '0' && first <= '9'))) {
    return false;
  }
  for (char c : s) {
    if (!KeyChar(c)) {
      return false;
    }
  }
  return true;
}

bool ValidKey(std::string_view key) {
  const size_t at = key.find('@');
  if (at == std::string_view::npos) {
    return KeyPart(key, 256, false);
  }
  return KeyPart(key.substr(0, at), 241, true) &&
         KeyPart(key.substr(at + 1), 14, false);
}

bool ValidValue(std::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ') {
    return false;
  }
  for (char c : value) {
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') {
      return false;
    }
  }
  return true;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::string TraceContext::Traceparent() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "00-";
  out.reserve(55);
  out += trace_id;
  out.push_back('-');
  out += span_id;
  out.push_back('-');
  out.push_back(kDigits[flags >> 4]);
  out.push_back(kDigits[flags & 0xf]);
  return out;
}

std::optional<TraceContext> ParseTraceparent(std::string_view value) {
  constexpr size_t kV0Size = 55;  // 2 + 1 + 32 + 1 + 16 + 1 + 2
  if (value.size() < kV0Size || !LowerHex(value.substr(0, 2), 2) ||
      value.substr(0, 2) == "ff") {
    return std::nullopt;
  }
  const bool v0 = value.substr(0, 2) == "00";
  if (v0 ? value.size() != kV0Size
         : value.size() > kV0Size && value[kV0Size] != '-') {
    return std::nullopt;
  }
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') {
    return std::nullopt;
  }
  const std::string_view trace_id = value.substr(3, 32);
  const std::string_view parent_id = value.substr(36, 16);
  const std::string_view flags = value.substr(53, 2);
  if (!LowerHex(trace_id, 32) || !LowerHex(parent_id, 16) ||
      !LowerHex(flags, 2) || AllZero(trace_id) || AllZero(parent_id)) {
    return std::nullopt;
  }
  TraceContext out;
  out.trace_id = std::string(trace_id);
  out.span_id = std::string(parent_id);
  // Only "sampled" is defined; the spec has the other bits sent as zero.
  out.flags = static_cast<uint8_t>(HexValue(flags[1]) & 0x1);
  return out;
}

std::string ParseTracestate(std::string_view value) {
  if (value.size() > 4 * kMaxTracestateChars) {
    return "";  // not worth splitting
  }
  std::vector<std::string_view> keys;
  std::string out;
  size_t members = 0;
  for (size_t start = 0; start <= value.size();) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) {
      comma = value.size();
    }
    const std::string_view member = TrimOws(value.substr(start, comma - start));
    start = comma + 1;
    if (member.empty()) {
      continue;  // empty members are allowed and dropped
    }
    const size_t eq = member.find('=');
    if (eq == std::string_view::npos || !ValidKey(member.substr(0, eq)) ||
        !ValidValue(member.substr(eq + 1))) {
      return "";
    }
    const std::string_view key = member.substr(0, eq);
    for (std::string_view seen : keys) {
      if (seen == key) {
        return "";
      }
    }
    keys.push_back(key);
    if (++members > kMaxTracestateMembers) {
      return "";
    }
    out.append(out.empty() ? "" : ",").append(member);
  }
  return out.size() <= kMaxTracestateChars ? out : "";
}

TraceContext NewTrace() {
  TraceContext out;
  out.trace_id = RandomHex(32);
  out.span_id = RandomHex(16);
  return out;
}

TraceContext ChildOf(const TraceContext& parent) {
  TraceContext out = parent;
  out.span_id = RandomHex(16);
  return out;
}

TraceContext FromHeaders(std::string_view traceparent,
                         std::string_view tracestate, bool* continued) {
  std::optional<TraceContext> parent = ParseTraceparent(traceparent);
  if (continued != nullptr) {
    *continued = parent.has_value();
  }
  if (!parent) {
    return NewTrace();
  }
  parent->tracestate = ParseTracestate(tracestate);
  parent->span_id = RandomHex(16);  // our span, a child of the caller's
  return std::move(*parent);
}

const TraceContext* Current() { return t_current; }

Scope::Scope(TraceContext context)
    : context_(std::move(context)),
      previous_(t_current),
      fields_("trace_id", &context_.trace_id, "span_id", &context_.span_id) {
  t_current = &context_;
}

Scope::~Scope() { t_current = previous_; }

void NoteFinishedCall(const void* call, std::string_view trace_id) {
  t_finished_call = call;
  t_finished_trace_id.assign(trace_id.data(), trace_id.size());
}

std::string FinishedCallTraceId(const void* call) {
  return call != nullptr && call == t_finished_call ? t_finished_trace_id
                                                    : std::string();
}

}  // namespace salesops::trace
