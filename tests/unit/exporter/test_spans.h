// Span builders shared by the exporter tests.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "spans/span.h"

namespace sonde::test {

inline TraceId MakeTraceId(uint8_t tag) {
  TraceId id{};
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(0x10 + i);
  id[15] = tag;
  return id;
}

inline SpanId MakeSpanId(uint8_t tag) {
  if (tag == 0) return SpanId{};
  SpanId id{};
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(0xa0 + i);
  id[7] = tag;
  return id;
}

inline std::shared_ptr<const Resource> MakeResource(const std::string& service, int64_t pid) {
  auto r = std::make_shared<Resource>();
  r->attributes.push_back({"service.name", service});
  r->attributes.push_back({"process.pid", pid});
  return r;
}

// A span of trace `trace`, id `id`, child of `parent` (0: root), starting at
// `start_ms` after a fixed epoch and lasting `duration_us` microseconds.
inline Span MakeSpan(uint8_t trace, uint8_t id, uint8_t parent, std::string name, SpanKind kind,
                     std::shared_ptr<const Resource> resource, uint64_t start_ms = 0,
                     uint64_t duration_us = 1000) {
  constexpr uint64_t kEpochNs = 1700000000000000000ULL;
  Span s;
  s.trace_id = MakeTraceId(trace);
  s.span_id = MakeSpanId(id);
  s.parent_span_id = MakeSpanId(parent);
  s.name = std::move(name);
  s.kind = kind;
  s.start_unix_ns = kEpochNs + start_ms * 1000000ULL;
  s.end_unix_ns = s.start_unix_ns + duration_us * 1000ULL;
  s.resource = std::move(resource);
  return s;
}

// A minimal numbered span for queue tests.
inline Span NumberedSpan(int n) {
  Span s;
  s.trace_id = MakeTraceId(1);
  s.span_id = MakeSpanId(static_cast<uint8_t>(n % 250 + 1));
  s.name = "span-" + std::to_string(n);
  return s;
}

}  // namespace sonde::test
