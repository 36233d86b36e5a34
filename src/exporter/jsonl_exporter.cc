#include "exporter/jsonl_exporter.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <iterator>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "exporter/text_escape.h"

namespace sonde {
namespace {

const char* KindString(SpanKind k) {
  switch (k) {
    case SpanKind::kInternal: return "INTERNAL";
    case SpanKind::kServer: return "SERVER";
    case SpanKind::kClient: return "CLIENT";
    case SpanKind::kProducer: return "PRODUCER";
    case SpanKind::kConsumer: return "CONSUMER";
  }
  return "UNSPECIFIED";
}

const char* StatusString(StatusCode c) {
  switch (c) {
    case StatusCode::kUnset: return "UNSET";
    case StatusCode::kOk: return "OK";
    case StatusCode::kError: return "ERROR";
  }
  return "UNSET";
}

void AppendValue(std::string& out, const AttrValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) {
    AppendJsonString(out, *s);
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *i);
    out.append(buf, end);
  } else if (const auto* d = std::get_if<double>(&v)) {
    if (std::isnan(*d)) {
      out += "\"NaN\"";
    } else if (std::isinf(*d)) {
      out += *d > 0 ? "\"Infinity\"" : "\"-Infinity\"";
    } else {
      // {} prints the shortest text that reads back as the same double.
      std::string num = fmt::format("{}", *d);
      out += num;
      // Keep it a JSON float even when integral ("2" -> "2.0") so the type survives.
      if (num.find_first_of(".eE") == std::string::npos) out += ".0";
    }
  } else if (const auto* b = std::get_if<bool>(&v)) {
    out += *b ? "true" : "false";
  } else if (const auto* arr = std::get_if<StringArray>(&v)) {
    out += '[';
    for (size_t i = 0; i < arr->size(); ++i) {
      if (i) out += ',';
      AppendJsonString(out, (*arr)[i]);
    }
    out += ']';
  }
}

void AppendObject(std::string& out, const Attributes& attrs) {
  out += '{';
  bool first = true;
  for (const Attribute& a : attrs) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(out, a.key);
    out += ':';
    AppendValue(out, a.value);
  }
  out += '}';
}

void AppendHex(std::string& out, const uint8_t* bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
}

void AppendUint(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// Everything of a span's line but its resource object and the closing brace.
void AppendSpanBody(std::string& out, const Span& s) {
  out += "{\"trace_id\":\"";
  AppendHex(out, s.trace_id.data(), s.trace_id.size());
  out += "\",\"span_id\":\"";
  AppendHex(out, s.span_id.data(), s.span_id.size());
  out += "\",\"parent_span_id\":\"";
  if (!IsZero(s.parent_span_id)) AppendHex(out, s.parent_span_id.data(), s.parent_span_id.size());
  out += '"';
  if (!s.trace_state.empty()) {
    out += ",\"trace_state\":";
    AppendJsonString(out, s.trace_state);
  }
  out += ",\"name\":";
  AppendJsonString(out, s.name);
  out += ",\"kind\":\"";
  out += KindString(s.kind);
  out += "\",\"start_unix_ns\":";
  AppendUint(out, s.start_unix_ns);
  out += ",\"end_unix_ns\":";
  AppendUint(out, s.end_unix_ns);
  out += ",\"status\":{\"code\":\"";
  out += StatusString(s.status);
  out += "\",\"message\":";
  AppendJsonString(out, s.status_message);
  out += "},\"attributes\":";
  AppendObject(out, s.attributes);
  out += ",\"resource\":";
}

}  // namespace

std::string SpanToJson(const Span& s) {
  std::string out;
  out.reserve(512);
  AppendSpanBody(out, s);
  AppendObject(out, s.resource ? s.resource->attributes : Attributes{});
  out += '}';
  return out;
}

JsonlExporter::JsonlExporter(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "ae");  // 'e': O_CLOEXEC, children must not inherit it
  if (!file_) spdlog::error("jsonl: cannot open {}: {}", path, std::strerror(errno));
}

JsonlExporter::~JsonlExporter() { Shutdown(); }

const std::string& JsonlExporter::ResourceJson(const std::shared_ptr<const Resource>& resource) {
  static const std::string kEmpty = "{}";
  const Resource* ptr = resource.get();
  if (!ptr) return kEmpty;
  auto it = resources_.find(ptr);
  // Same address and still alive: the same object (an expired weak_ptr means
  // the address was freed and may now hold another resource).
  if (it != resources_.end() && it->second.alive.lock().get() == ptr) return it->second.json;
  if (resources_.size() >= kMaxCachedResources) {
    for (auto e = resources_.begin(); e != resources_.end();)
      e = e->second.alive.expired() ? resources_.erase(e) : std::next(e);
    if (resources_.size() >= kMaxCachedResources) resources_.clear();
  }
  CachedResource& c = resources_[ptr];
  c.alive = resource;
  c.json.clear();
  AppendObject(c.json, ptr->attributes);
  return c.json;
}

bool JsonlExporter::Export(const std::vector<Span>& batch) {
  if (!file_) return false;
  text_.clear();
  for (const Span& s : batch) {
    AppendSpanBody(text_, s);
    text_ += ResourceJson(s.resource);
    text_ += "}\n";
  }
  const std::string& text = text_;
  bool ok = std::fwrite(text.data(), 1, text.size(), file_) == text.size();
  ok = std::fflush(file_) == 0 && ok;
  if (!ok) spdlog::warn("jsonl: write to {} failed: {}", path_, std::strerror(errno));
  return ok;
}

void JsonlExporter::Shutdown() {
  if (file_) {
    std::fclose(file_);
    file_ = nullptr;
  }
}

}  // namespace sonde
