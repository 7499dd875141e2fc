#pragma once

// Structured logging: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-23T18:30:00.123456Z","level":"info","msg":"serving","listen":"127.0.0.1:7001"}
// Lines are written whole under a lock, so concurrent threads never interleave.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace salesops::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// A field value, rendered as a JSON string, number or boolean.
class Value {
 public:
  Value(std::string_view s) : json_(Quote(s)) {}
  Value(const std::string& s) : json_(Quote(s)) {}
  Value(const char* s) : json_(Quote(s)) {}
  Value(int v) : json_(std::to_string(v)) {}
  Value(long v) : json_(std::to_string(v)) {}
  Value(long long v) : json_(std::to_string(v)) {}
  Value(unsigned v) : json_(std::to_string(v)) {}
  Value(unsigned long v) : json_(std::to_string(v)) {}
  Value(unsigned long long v) : json_(std::to_string(v)) {}
  Value(double v);
  Value(bool v) : json_(v ? "true" : "false") {}

  const std::string& json() const { return json_; }
  // JSON string literal with escapes.
  static std::string Quote(std::string_view s);

 private:
  std::string json_;
};

using Fields = std::initializer_list<std::pair<std::string_view, Value>>;

// Fields added to every line this thread writes while the scope lives, after
// the line's own fields: e.g. the trace_id and span_id of the call being served
// (common/trace sets them). Scopes nest: an inner scope's fields replace the
// outer one's until it ends. Scopes must end in reverse order on the thread
// that made them (keep them on the stack).
class ScopedFields {
 public:
  // Rendered now.
  explicit ScopedFields(Fields fields);
  // Two string fields read only when a line is written, so a scope no line
  // is written in costs nothing but its bookkeeping: `*value1` and `*value2`
  // must outlive the scope.
  ScopedFields(std::string_view key1, const std::string* value1,
               std::string_view key2, const std::string* value2);
  ~ScopedFields();
  ScopedFields(const ScopedFields&) = delete;
  ScopedFields& operator=(const ScopedFields&) = delete;

  // Appends this scope's fields (",\"k\":v...") to `line`.
  void AppendTo(std::string* line) const;

 private:
  const ScopedFields* previous_;
  std::string rendered_;
  std::string_view keys_[2];
  const std::string* values_[2] = {nullptr, nullptr};
};

// Lines below this level are dropped. Default kInfo.
void SetMinLevel(Level level);
// Formats one line (without the newline), with this thread's scoped fields;
// exposed for tests.
std::string Format(Level level, std::string_view msg, Fields fields,
                   int64_t unix_micros);
void Write(Level level, std::string_view msg, Fields fields = {});

inline void Debug(std::string_view msg, Fields f = {}) {
  Write(Level::kDebug, msg, f);
}
inline void Info(std::string_view msg, Fields f = {}) {
  Write(Level::kInfo, msg, f);
}
inline void Warn(std::string_view msg, Fields f = {}) {
  Write(Level::kWarn, msg, f);
}
inline void Error(std::string_view msg, Fields f = {}) {
  Write(Level::kError, msg, f);
}

}  // namespace salesops::log
