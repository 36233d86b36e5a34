#include "exporter/otlp_convert.h"

#include <unordered_map>

#include "exporter/text_escape.h"

namespace sonde {
namespace {

namespace common = opentelemetry::proto::common::v1;
namespace trace = opentelemetry::proto::trace::v1;

void SetValue(const AttrValue& v, common::AnyValue* out) {
  if (const auto* s = std::get_if<std::string>(&v)) {
    out->set_string_value(ToValidUtf8(*s));
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    out->set_int_value(*i);
  } else if (const auto* d = std::get_if<double>(&v)) {
    out->set_double_value(*d);
  } else if (const auto* b = std::get_if<bool>(&v)) {
    out->set_bool_value(*b);
  } else if (const auto* arr = std::get_if<StringArray>(&v)) {
    common::ArrayValue* array = out->mutable_array_value();
    for (const std::string& item : *arr) array->add_values()->set_string_value(ToValidUtf8(item));
  }
}

}  // namespace

void AddOtlpAttributes(const Attributes& attrs, google::protobuf::RepeatedPtrField<common::KeyValue>* out) {
  out->Reserve(out->size() + static_cast<int>(attrs.size()));
  for (const Attribute& a : attrs) {
    common::KeyValue* kv = out->Add();
    kv->set_key(ToValidUtf8(a.key));
    SetValue(a.value, kv->mutable_value());
  }
}

namespace {

void FillSpan(const Span& s, trace::Span* out) {
  out->set_trace_id(s.trace_id.data(), s.trace_id.size());
  out->set_span_id(s.span_id.data(), s.span_id.size());
  // OTLP marks a root span by an empty parent id, not by eight zero bytes.
  if (!IsZero(s.parent_span_id)) out->set_parent_span_id(s.parent_span_id.data(), s.parent_span_id.size());
  if (!s.trace_state.empty()) out->set_trace_state(ToValidUtf8(s.trace_state));
  out->set_name(ToValidUtf8(s.name));
  // Enum values match by construction (see span.h).
  out->set_kind(static_cast<trace::Span::SpanKind>(static_cast<int>(s.kind)));
  out->set_start_time_unix_nano(s.start_unix_ns);
  out->set_end_time_unix_nano(s.end_unix_ns);
  AddOtlpAttributes(s.attributes, out->mutable_attributes());
  if (s.status != StatusCode::kUnset) {
    trace::Status* st = out->mutable_status();
    st->set_code(static_cast<trace::Status::StatusCode>(static_cast<int>(s.status)));
    // The spec allows a description only with ERROR.
    if (s.status == StatusCode::kError) st->set_message(ToValidUtf8(s.status_message));
  }
}

}  // namespace

void ToOtlpRequest(const std::vector<Span>& batch, const OtlpScope& scope,
                   opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest* out) {
  std::unordered_map<const Resource*, trace::ScopeSpans*> groups;
  for (const Span& span : batch) {
    const Resource* key = span.resource.get();
    auto [it, inserted] = groups.try_emplace(key, nullptr);
    if (inserted) {
      trace::ResourceSpans* rs = out->add_resource_spans();
      if (key) AddOtlpAttributes(key->attributes, rs->mutable_resource()->mutable_attributes());
      trace::ScopeSpans* ss = rs->add_scope_spans();
      ss->mutable_scope()->set_name(scope.name);
      if (!scope.version.empty()) ss->mutable_scope()->set_version(scope.version);
      it->second = ss;
    }
    FillSpan(span, it->second->add_spans());
  }
}

}  // namespace sonde
