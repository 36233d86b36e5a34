// W3C Trace Context (https://www.w3.org/TR/trace-context/): parsing and
// formatting of the `traceparent` and `tracestate` HTTP headers.
//
// sonde only reads these headers off the wire; it never injects them. A valid
// incoming traceparent lets a SERVER span join the caller's trace.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "decoders/message.h"
#include "spans/span.h"

namespace sonde {

inline constexpr uint8_t kTraceFlagSampled = 0x01;

struct TraceContext {
  TraceId trace_id{};
  // The traceparent `parent-id` field: the span id of the caller's span, which
  // becomes the parent of the span built for this request.
  SpanId parent_id{};
  uint8_t flags = 0;
  // The combined tracestate value, kept as received (trimmed); empty when
  // absent or invalid.
  std::string trace_state;

  bool sampled() const { return (flags & kTraceFlagSampled) != 0; }
};

// Parses one traceparent value. Leading/trailing spaces and tabs are ignored
// (HTTP optional whitespace). Rules:
//  - version: 2 lowercase hex digits followed by '-'; "ff" is invalid;
//  - version 00: exactly 55 chars `00-<32 hex>-<16 hex>-<2 hex>`;
//  - a higher version: at least 55 chars, the version-00 fields must parse,
//    and the char after the flags must be '-' or the end (forward compat);
//  - hex must be lowercase; an all-zero trace-id or parent-id is invalid.
// The returned context has an empty trace_state.
std::optional<TraceContext> ParseTraceparent(std::string_view value);

// True when `value` is a valid tracestate list: at most 32 non-empty members,
// each `key=value` with the W3C key and value grammar, no duplicate keys.
// Empty and whitespace-only members are allowed and not counted.
bool IsValidTracestate(std::string_view value);

// Formats a version-00 traceparent: `00-<trace-id>-<parent-id>-<flags>`.
std::string FormatTraceparent(const TraceContext& ctx);

// Extracts the trace context of a request from its headers. Header names
// match case-insensitively. Returns nullopt when there is no traceparent,
// when it is invalid, or when it appears more than once (a repeated
// traceparent is ambiguous, so the spec treats it as invalid). Several
// tracestate headers are combined with ','; an invalid tracestate is dropped
// without affecting the traceparent.
std::optional<TraceContext> ExtractTraceContext(const HeaderList& headers);

}  // namespace sonde
