// Metrics snapshot -> OTLP ExportMetricsServiceRequest. Histograms and
// counters are CUMULATIVE (each snapshot carries totals since its start),
// counters are monotonic sums, gauges plain gauges.
#pragma once

#include <vector>

#include "exporter/otlp_convert.h"
#include "metrics/metric_data.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"

namespace sonde {

// One ResourceMetrics per ResourceMetricsData of every snapshot, in order,
// each with a single ScopeMetrics for `scope`. Returns the number of data
// points written.
size_t ToOtlpMetricsRequest(const std::vector<MetricsSnapshot>& snapshots, const OtlpScope& scope,
                            opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest* out);

}  // namespace sonde
