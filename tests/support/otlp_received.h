// What the test receivers (gRPC and HTTP) record: spans and metric data
// points flattened together with their resource and scope, so tests can
// assert on them without walking the protobuf tree.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace sonde::testing {

// One received span, flattened together with its resource and scope.
struct ReceivedSpan {
  std::string trace_id;        // lowercase hex, 32 chars
  std::string span_id;         // lowercase hex, 16 chars
  std::string parent_span_id;  // lowercase hex, empty for a root span
  std::string trace_state;
  std::string name;
  int kind = 0;  // OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer
  uint64_t start_unix_ns = 0;
  uint64_t end_unix_ns = 0;
  uint32_t flags = 0;
  int status_code = 0;  // 0 unset, 1 ok, 2 error
  std::string status_message;

  // Values as text: strings as-is, ints in decimal, doubles in shortest
  // round-trip form, bools "true"/"false", bytes in hex, arrays as
  // "[a,b]" and kvlists as "{k=v,k2=v2}".
  std::map<std::string, std::string> attributes;
  // Which AnyValue member each attribute used: "string", "bool", "int",
  // "double", "array", "kvlist", "bytes" (or "empty").
  std::map<std::string, std::string> attribute_types;
  std::map<std::string, std::string> resource;  // same text form as attributes
  std::string scope_name;
  std::string scope_version;

  size_t request_index = 0;         // which Export call delivered it (0-based)
  size_t resource_spans_index = 0;  // its ResourceSpans within that request

  // The attribute as int64 when it was sent as an int; nullopt otherwise.
  std::optional<int64_t> IntAttr(const std::string& key) const;
  std::optional<double> DoubleAttr(const std::string& key) const;
  std::optional<bool> BoolAttr(const std::string& key) const;
  // The text form, or "" when absent.
  std::string Attr(const std::string& key) const;

 private:
  friend void FlattenTraces(const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest&, size_t,
                            std::vector<ReceivedSpan>*);
  std::map<std::string, int64_t> int_attributes_;
  std::map<std::string, double> double_attributes_;
  std::map<std::string, bool> bool_attributes_;
};

// One received metric data point with its metric, resource and scope.
struct ReceivedMetricPoint {
  std::string name;
  std::string description;
  std::string unit;
  std::string type;     // "histogram", "sum", "gauge", or "other"
  int temporality = 0;  // 1 delta, 2 cumulative (histogram, sum)
  bool monotonic = false;
  std::map<std::string, std::string> attributes;  // text form as in ReceivedSpan
  std::map<std::string, std::string> attribute_types;
  std::map<std::string, std::string> resource;
  std::string scope_name;
  uint64_t start_unix_ns = 0;
  uint64_t time_unix_ns = 0;
  // sum / gauge
  bool is_double = false;
  int64_t int_value = 0;
  double double_value = 0;
  // histogram
  uint64_t count = 0;
  std::optional<double> sum, min, max;
  std::vector<uint64_t> bucket_counts;
  std::vector<double> bounds;

  size_t request_index = 0;

  std::string Attr(const std::string& key) const;
};

// Appends the spans / points of one request.
void FlattenTraces(const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& req,
                   size_t request_index, std::vector<ReceivedSpan>* out);
void FlattenMetrics(const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& req,
                    size_t request_index, std::vector<ReceivedMetricPoint>* out);

// Points of metric `name` (all resources, all requests).
std::vector<ReceivedMetricPoint> PointsNamed(const std::vector<ReceivedMetricPoint>& points, const std::string& name);

}  // namespace sonde::testing
