// Publishes the export side's own counters (span pipeline, OTLP exporters)
// as self-metrics, read at every collection of the registry.
#pragma once

#include "exporter/export_pipeline.h"
#include "exporter/otlp_exporter.h"
#include "exporter/periodic_metric_exporter.h"
#include "metrics/self_metrics.h"

namespace sonde {

struct ExportMetricSources {
  const ExportPipeline* pipeline = nullptr;            // spans exported/dropped, queue depth
  const OtlpSpanExporter* span_exporter = nullptr;     // retries, failures, rejected spans
  const PeriodicMetricExporter* metric_exporter = nullptr;  // retries, failures, rejected points
};

// Registers a collect callback on `registry` that sets:
//   sonde.spans.exported                      pipeline exported
//   sonde.spans.dropped{reason=queue_full|export_failed|shutdown}
//   sonde.export.queue.size, sonde.export.queue.capacity
//   sonde.spans.rejected, sonde.metric_points.rejected
//   sonde.export.retries{signal}
//   sonde.export.failures{signal, reason=non_retryable|retries_exhausted|aborted}
// Any source may be null. The sources must stay alive as long as the
// registry can be collected: stop the admin server and the periodic metric
// exporter before destroying them.
void RegisterExportSelfMetrics(SelfMetrics* registry, ExportMetricSources sources);

}  // namespace sonde
