#include "common/log/log.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace salesops::log {
namespace {

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
std::mutex g_write_mu;
// The rendered fields of this thread's innermost ScopedFields (",\"k\":v...").
thread_local std::string t_scoped;

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

Value::Value(double v)
    : json_(std::isfinite(v) ? absl::StrFormat("%.17g", v)
                             : std::string("null")) {}

std::string Value::Quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

ScopedFields::ScopedFields(Fields fields) : previous_(std::move(t_scoped)) {
  t_scoped.clear();
  for (const auto& [key, value] : fields) {
    t_scoped.push_back(',');
    t_scoped += Value::Quote(key);
    t_scoped.push_back(':');
    t_scoped += value.json();
  }
}

ScopedFields::~ScopedFields() { t_scoped = std::move(previous_); }

void SetMinLevel(Level level) { g_min_level.store(static_cast<int>(level)); }

std::string Format(Level level, std::string_view msg, Fields fields,
                   int64_t unix_micros) {
  std::string line = "{\"ts\":";
  line += Value::Quote(absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ",
                                        absl::FromUnixMicros(unix_micros),
                                        absl::UTCTimeZone()));
  line += ",\"level\":\"";
  line += LevelName(level);
  line += "\",\"msg\":";
  line += Value::Quote(msg);
  for (const auto& [key, value] : fields) {
    line.push_back(',');
    line += Value::Quote(key);
    line.push_back(':');
    line += value.json();
  }
  line += t_scoped;
  line.push_back('}');
  return line;
}

void Write(Level level, std::string_view msg, Fields fields) {
  if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) {
    return;
  }
  std::string line =
      Format(level, msg, fields, absl::ToUnixMicros(absl::Now()));
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(g_write_mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace salesops::log
