#include "exporter/export_self_metrics.h"

#include <string>

namespace sonde {
namespace {

void PublishOtlp(SelfMetrics& r, const char* signal, const OtlpExportStats& s) {
  const std::string sig(signal);
  r.GetCounter(self_metric::kExportRetries, {{"signal", sig}})->Set(s.retries);
  r.GetCounter(self_metric::kExportFailures, {{"signal", sig}, {"reason", std::string("non_retryable")}})
      ->Set(s.failed_non_retryable);
  r.GetCounter(self_metric::kExportFailures, {{"signal", sig}, {"reason", std::string("retries_exhausted")}})
      ->Set(s.failed_retries_exhausted);
  r.GetCounter(self_metric::kExportFailures, {{"signal", sig}, {"reason", std::string("aborted")}})
      ->Set(s.failed_aborted);
}

}  // namespace

void RegisterExportSelfMetrics(SelfMetrics* registry, ExportMetricSources src) {
  registry->AddCollectCallback([src](SelfMetrics& r) {
    if (src.pipeline) {
      ExportPipelineStats s = src.pipeline->stats();
      r.GetCounter(self_metric::kSpansExported)->Set(s.exported);
      r.GetCounter(self_metric::kSpansDropped, {{"reason", std::string("queue_full")}})->Set(s.dropped_queue_full);
      r.GetCounter(self_metric::kSpansDropped, {{"reason", std::string("export_failed")}})
          ->Set(s.export_failed_spans);
      r.GetCounter(self_metric::kSpansDropped, {{"reason", std::string("shutdown")}})->Set(s.dropped_shutdown);
      r.GetGauge(self_metric::kExportQueueSize)->Set(static_cast<int64_t>(src.pipeline->queue_size()));
      r.GetGauge(self_metric::kExportQueueCapacity)->Set(static_cast<int64_t>(src.pipeline->queue_capacity()));
    }
    if (src.span_exporter) {
      OtlpExportStats s = src.span_exporter->stats();
      r.GetCounter(self_metric::kSpansRejected)->Set(s.items_rejected);
      PublishOtlp(r, "traces", s);
    }
    if (src.metric_exporter) {
      OtlpExportStats s = src.metric_exporter->stats();
      r.GetCounter(self_metric::kMetricPointsRejected)->Set(s.items_rejected);
      PublishOtlp(r, "metrics", s);
    }
  });
}

}  // namespace sonde
