#include "tests/support/otlp_received.h"

#include <fmt/format.h>

namespace sonde::testing {
namespace {

namespace trace_collector = opentelemetry::proto::collector::trace::v1;
namespace metrics_collector = opentelemetry::proto::collector::metrics::v1;
namespace common = opentelemetry::proto::common::v1;
namespace trace = opentelemetry::proto::trace::v1;
namespace metrics = opentelemetry::proto::metrics::v1;

std::string Hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

std::string TypeName(const common::AnyValue& v) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue: return "string";
    case common::AnyValue::kBoolValue: return "bool";
    case common::AnyValue::kIntValue: return "int";
    case common::AnyValue::kDoubleValue: return "double";
    case common::AnyValue::kArrayValue: return "array";
    case common::AnyValue::kKvlistValue: return "kvlist";
    case common::AnyValue::kBytesValue: return "bytes";
    case common::AnyValue::VALUE_NOT_SET: return "empty";
  }
  return "empty";
}

std::string ToText(const common::AnyValue& v) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue: return v.string_value();
    case common::AnyValue::kBoolValue: return v.bool_value() ? "true" : "false";
    case common::AnyValue::kIntValue: return std::to_string(v.int_value());
    case common::AnyValue::kDoubleValue: return fmt::format("{}", v.double_value());
    case common::AnyValue::kBytesValue: return Hex(v.bytes_value());
    case common::AnyValue::kArrayValue: {
      std::string out = "[";
      for (int i = 0; i < v.array_value().values_size(); ++i) {
        if (i) out += ',';
        out += ToText(v.array_value().values(i));
      }
      return out + "]";
    }
    case common::AnyValue::kKvlistValue: {
      std::string out = "{";
      for (int i = 0; i < v.kvlist_value().values_size(); ++i) {
        if (i) out += ',';
        out += v.kvlist_value().values(i).key() + "=" + ToText(v.kvlist_value().values(i).value());
      }
      return out + "}";
    }
    case common::AnyValue::VALUE_NOT_SET: return "";
  }
  return "";
}

template <typename Repeated>
std::map<std::string, std::string> TextMap(const Repeated& kvs) {
  std::map<std::string, std::string> out;
  for (const auto& kv : kvs) out[kv.key()] = ToText(kv.value());
  return out;
}

}  // namespace

std::optional<int64_t> ReceivedSpan::IntAttr(const std::string& key) const {
  auto it = int_attributes_.find(key);
  if (it == int_attributes_.end()) return std::nullopt;
  return it->second;
}

std::optional<double> ReceivedSpan::DoubleAttr(const std::string& key) const {
  auto it = double_attributes_.find(key);
  if (it == double_attributes_.end()) return std::nullopt;
  return it->second;
}

std::optional<bool> ReceivedSpan::BoolAttr(const std::string& key) const {
  auto it = bool_attributes_.find(key);
  if (it == bool_attributes_.end()) return std::nullopt;
  return it->second;
}

std::string ReceivedSpan::Attr(const std::string& key) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? std::string() : it->second;
}

std::string ReceivedMetricPoint::Attr(const std::string& key) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? std::string() : it->second;
}

void FlattenTraces(const trace_collector::ExportTraceServiceRequest& req, size_t request_index,
                   std::vector<ReceivedSpan>* out) {
  for (int r = 0; r < req.resource_spans_size(); ++r) {
    const trace::ResourceSpans& rs = req.resource_spans(r);
    std::map<std::string, std::string> resource = TextMap(rs.resource().attributes());
    for (const trace::ScopeSpans& ss : rs.scope_spans()) {
      for (const trace::Span& s : ss.spans()) {
        ReceivedSpan o;
        o.trace_id = Hex(s.trace_id());
        o.span_id = Hex(s.span_id());
        o.parent_span_id = Hex(s.parent_span_id());
        o.trace_state = s.trace_state();
        o.name = s.name();
        o.kind = static_cast<int>(s.kind());
        o.start_unix_ns = s.start_time_unix_nano();
        o.end_unix_ns = s.end_time_unix_nano();
        o.flags = s.flags();
        o.status_code = static_cast<int>(s.status().code());
        o.status_message = s.status().message();
        for (const auto& kv : s.attributes()) {
          o.attributes[kv.key()] = ToText(kv.value());
          o.attribute_types[kv.key()] = TypeName(kv.value());
          if (kv.value().has_int_value()) o.int_attributes_[kv.key()] = kv.value().int_value();
          if (kv.value().has_double_value()) o.double_attributes_[kv.key()] = kv.value().double_value();
          if (kv.value().has_bool_value()) o.bool_attributes_[kv.key()] = kv.value().bool_value();
        }
        o.resource = resource;
        o.scope_name = ss.scope().name();
        o.scope_version = ss.scope().version();
        o.request_index = request_index;
        o.resource_spans_index = static_cast<size_t>(r);
        out->push_back(std::move(o));
      }
    }
  }
}

void FlattenMetrics(const metrics_collector::ExportMetricsServiceRequest& req, size_t request_index,
                    std::vector<ReceivedMetricPoint>* out) {
  for (const metrics::ResourceMetrics& rm : req.resource_metrics()) {
    std::map<std::string, std::string> resource = TextMap(rm.resource().attributes());
    for (const metrics::ScopeMetrics& sm : rm.scope_metrics()) {
      for (const metrics::Metric& m : sm.metrics()) {
        auto base = [&] {
          ReceivedMetricPoint p;
          p.name = m.name();
          p.description = m.description();
          p.unit = m.unit();
          p.resource = resource;
          p.scope_name = sm.scope().name();
          p.request_index = request_index;
          return p;
        };
        auto number = [&](const metrics::NumberDataPoint& dp, ReceivedMetricPoint p) {
          p.attributes = TextMap(dp.attributes());
          for (const auto& kv : dp.attributes()) p.attribute_types[kv.key()] = TypeName(kv.value());
          p.start_unix_ns = dp.start_time_unix_nano();
          p.time_unix_ns = dp.time_unix_nano();
          p.is_double = dp.value_case() == metrics::NumberDataPoint::kAsDouble;
          p.int_value = dp.as_int();
          p.double_value = dp.as_double();
          out->push_back(std::move(p));
        };
        switch (m.data_case()) {
          case metrics::Metric::kHistogram:
            for (const metrics::HistogramDataPoint& dp : m.histogram().data_points()) {
              ReceivedMetricPoint p = base();
              p.type = "histogram";
              p.temporality = m.histogram().aggregation_temporality();
              p.attributes = TextMap(dp.attributes());
              for (const auto& kv : dp.attributes()) p.attribute_types[kv.key()] = TypeName(kv.value());
              p.start_unix_ns = dp.start_time_unix_nano();
              p.time_unix_ns = dp.time_unix_nano();
              p.count = dp.count();
              if (dp.has_sum()) p.sum = dp.sum();
              if (dp.has_min()) p.min = dp.min();
              if (dp.has_max()) p.max = dp.max();
              p.bucket_counts.assign(dp.bucket_counts().begin(), dp.bucket_counts().end());
              p.bounds.assign(dp.explicit_bounds().begin(), dp.explicit_bounds().end());
              out->push_back(std::move(p));
            }
            break;
          case metrics::Metric::kSum:
            for (const auto& dp : m.sum().data_points()) {
              ReceivedMetricPoint p = base();
              p.type = "sum";
              p.temporality = m.sum().aggregation_temporality();
              p.monotonic = m.sum().is_monotonic();
              number(dp, std::move(p));
            }
            break;
          case metrics::Metric::kGauge:
            for (const auto& dp : m.gauge().data_points()) {
              ReceivedMetricPoint p = base();
              p.type = "gauge";
              number(dp, std::move(p));
            }
            break;
          default: {
            ReceivedMetricPoint p = base();
            p.type = "other";
            out->push_back(std::move(p));
          }
        }
      }
    }
  }
}

std::vector<ReceivedMetricPoint> PointsNamed(const std::vector<ReceivedMetricPoint>& points, const std::string& name) {
  std::vector<ReceivedMetricPoint> out;
  for (const auto& p : points)
    if (p.name == name) out.push_back(p);
  return out;
}

}  // namespace sonde::testing
