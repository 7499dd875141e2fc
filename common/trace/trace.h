#pragma once

// W3C Trace Context level 1 (https://www.w3.org/TR/trace-context/) for the
// suite's log correlation (DECISIONS D45): parsing and validating the
// `traceparent` and `tracestate` headers, new random ids, a child span per
// server call, and the thread's current context, which every log line written
// while it is current carries as "trace_id" and "span_id" (common/log
// ScopedFields). Pure: no gRPC; common/server reads and writes the headers as
// gRPC metadata, common/http and common/webhook as HTTP headers.
//
//   trace::Scope scope(trace::FromHeaders(traceparent, tracestate));
//   log::Info("...");  // {"...","trace_id":"4bf9...","span_id":"00f0..."}
//   peer call: metadata traceparent = trace::Current()->Traceparent()

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/log/log.h"

namespace salesops::trace {

// Header (and gRPC metadata) names, lower case as gRPC requires.
inline constexpr char kTraceparent[] = "traceparent";
inline constexpr char kTracestate[] = "tracestate";

// tracestate bounds: at most this many list members and characters; a longer
// or invalid value is dropped whole (the spec allows dropping it).
inline constexpr size_t kMaxTracestateMembers = 32;
inline constexpr size_t kMaxTracestateChars = 512;

struct TraceContext {
  // 32 lowercase hex digits, not all zero.
  std::string trace_id;
  // 16 lowercase hex digits, not all zero: this process's current span, the
  // parent-id of the calls it makes.
  std::string span_id;
  // trace-flags; bit 0 is "sampled".
  uint8_t flags = 0;
  // Validated tracestate to pass on; "" = none.
  std::string tracestate;

  // "00-<trace_id>-<span_id>-<flags>": the traceparent of an outgoing call.
  std::string Traceparent() const;
};

// The traceparent's fields (span_id = its parent-id), or nullopt when the
// value breaks the spec: version "ff" or not 2 lowercase hex digits; version
// 00 not exactly 55 characters; a higher version shorter than 55 or not
// followed by '-' (its first 55 characters are read as version 00);
// trace-id, parent-id, flags not lowercase hex of 32, 16, 2 digits; an
// all-zero trace-id or parent-id.
std::optional<TraceContext> ParseTraceparent(std::string_view value);

// The tracestate as it will be passed on: its list members (key=value, keys
// per the spec's simple or multi-tenant form, values of printable ASCII
// without ',' and '=', no trailing space) joined by ',' without the optional
// whitespace and empty members; "" when any member is invalid, a key repeats,
// or there are more than kMaxTracestateMembers members or the result is longer
// than kMaxTracestateChars.
std::string ParseTracestate(std::string_view value);

// A new trace: random trace-id and span-id, flags 00.
TraceContext NewTrace();
// A child span of `parent`: same trace-id, flags and tracestate, a new
// random span-id.
TraceContext ChildOf(const TraceContext& parent);
// The context of a call (or event) that carried these header values: a child
// of the parsed traceparent, or a new trace when it is missing or invalid (a
// tracestate without a valid traceparent is dropped, as the spec says).
// `*continued` (when not null) tells which.
TraceContext FromHeaders(std::string_view traceparent,
                         std::string_view tracestate,
                         bool* continued = nullptr);

// This thread's current context; nullptr when none.
const TraceContext* Current();

// Makes `context` this thread's current one, and its trace_id and span_id
// fields of every log line the thread writes, until the scope ends (then the
// previous one is current again). Keep it on the stack.
class Scope {
 public:
  explicit Scope(TraceContext context);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  const TraceContext& context() const { return context_; }

 private:
  TraceContext context_;
  const TraceContext* previous_;
  log::ScopedFields fields_;
};

// `fn` wrapped to run with the context current now (none: `fn` unchanged),
// for work that continues on another thread (an async call's callback).
template <typename Fn>
auto Bind(Fn fn) {
  const TraceContext* now = Current();
  return
      [ctx = now != nullptr ? std::optional<TraceContext>(*now) : std::nullopt,
       fn = std::move(fn)](auto&&... args) mutable {
        std::optional<Scope> scope;
        if (ctx) {
          scope.emplace(*ctx);
        }
        return fn(std::forward<decltype(args)>(args)...);
      };
}

// The trace id of the last call this thread finished serving, for the
// interceptor that logs the call's status after the handler's scope ended
// (same thread: gRPC runs the send-status interceptors inline). `call` is an
// opaque key (the grpc::ServerContextBase*). FinishedCallTraceId answers ""
// unless the last call noted on this thread is `call`.
void NoteFinishedCall(const void* call, std::string_view trace_id);
std::string FinishedCallTraceId(const void* call);

}  // namespace salesops::trace
