#include "exporter/jsonl_exporter.h"

#include <cerrno>
#include <cmath>
#include <cstring>

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
    out += std::to_string(*i);
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

}  // namespace

std::string SpanToJson(const Span& s) {
  std::string out;
  out.reserve(256);
  out += "{\"trace_id\":\"" + ToHex(s.trace_id) + "\"";
  out += ",\"span_id\":\"" + ToHex(s.span_id) + "\"";
  out += ",\"parent_span_id\":\"" + (IsZero(s.parent_span_id) ? std::string() : ToHex(s.parent_span_id)) + "\"";
  if (!s.trace_state.empty()) {
    out += ",\"trace_state\":";
    AppendJsonString(out, s.trace_state);
  }
  out += ",\"name\":";
  AppendJsonString(out, s.name);
  out += ",\"kind\":\"";
  out += KindString(s.kind);
  out += "\",\"start_unix_ns\":" + std::to_string(s.start_unix_ns);
  out += ",\"end_unix_ns\":" + std::to_string(s.end_unix_ns);
  out += ",\"status\":{\"code\":\"";
  out += StatusString(s.status);
  out += "\",\"message\":";
  AppendJsonString(out, s.status_message);
  out += "},\"attributes\":";
  AppendObject(out, s.attributes);
  out += ",\"resource\":";
  AppendObject(out, s.resource ? s.resource->attributes : Attributes{});
  out += '}';
  return out;
}

JsonlExporter::JsonlExporter(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "ae");  // 'e': O_CLOEXEC, children must not inherit it
  if (!file_) spdlog::error("jsonl: cannot open {}: {}", path, std::strerror(errno));
}

JsonlExporter::~JsonlExporter() { Shutdown(); }

bool JsonlExporter::Export(const std::vector<Span>& batch) {
  if (!file_) return false;
  std::string text;
  for (const Span& s : batch) {
    text += SpanToJson(s);
    text += '\n';
  }
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
