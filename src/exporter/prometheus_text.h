// Metrics snapshots in the Prometheus text exposition format (0.0.4), with
// names converted as the OpenTelemetry -> Prometheus compatibility spec says:
//  - characters outside [a-zA-Z0-9_:] become '_', runs of '_' collapse to one;
//  - the unit is appended as a suffix unless the name already ends with it:
//    s -> _seconds, ms -> _milliseconds, By -> _bytes, "1" on a gauge ->
//    _ratio, "X/Y" -> _X_per_Y; annotations in braces ("{span}") add nothing;
//  - monotonic counters get _total;
//  - histograms become _bucket{le="..."} (cumulative, ending with +Inf),
//    _sum and _count.
// Resources: every series carries job (service.namespace/service.name) and
// instance (service.instance.id, else host.name:process.pid) labels, and
// each resource has one target_info{job, instance, <other attributes>} 1
// series. Attribute keys become label names the same way metric names do.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "metrics/metric_data.h"

namespace sonde {

inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string RenderPrometheus(const std::vector<MetricsSnapshot>& snapshots);

// The Prometheus name of an OTel metric ("http.server.request.duration", "s",
// kHistogram -> "http_server_request_duration_seconds").
std::string PrometheusMetricName(std::string_view name, std::string_view unit, MetricKind kind);
// A label name from an attribute key ("http.request.method" -> "http_request_method").
std::string PrometheusLabelName(std::string_view key);
// Shortest text that reads back as the same double; "+Inf", "-Inf", "NaN".
std::string PrometheusFloat(double v);

}  // namespace sonde
