// The span type handed from span building to the exporters.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sonde {

// OTLP's string array (AnyValue.array_value of string values), for the
// attributes the semantic conventions type as string[].
using StringArray = std::vector<std::string>;
using AttrValue = std::variant<std::string, int64_t, double, bool, StringArray>;

struct Attribute {
  std::string key;
  AttrValue value;
};

using Attributes = std::vector<Attribute>;

// Values match OTLP's Span.SpanKind.
enum class SpanKind : int { kInternal = 1, kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5 };
// Values match OTLP's Status.StatusCode.
enum class StatusCode : int { kUnset = 0, kOk = 1, kError = 2 };

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

bool IsZero(const TraceId& id);
bool IsZero(const SpanId& id);
std::string ToHex(const TraceId& id);
std::string ToHex(const SpanId& id);

// Identity of the process a span came from (OTel resource attributes).
struct Resource {
  Attributes attributes;
};

struct Span {
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};  // all zero: a root span
  std::string trace_state;
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  uint64_t start_unix_ns = 0;
  uint64_t end_unix_ns = 0;
  Attributes attributes;
  StatusCode status = StatusCode::kUnset;
  std::string status_message;
  std::shared_ptr<const Resource> resource;
};

// Looks up an attribute by key; nullptr when absent.
const AttrValue* FindAttr(const Attributes& attrs, std::string_view key);

}  // namespace sonde
