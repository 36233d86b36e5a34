// Pushes metrics over OTLP every OTEL_METRIC_EXPORT_INTERVAL, on its own
// thread: collects every producer (RED metrics, self-metrics) and sends one
// request. Values are cumulative, so an export that fails is not retried
// past the export timeout: the next one carries the same totals and more.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "exporter/otlp_exporter.h"
#include "metrics/metric_data.h"

namespace sonde {

struct PeriodicMetricExporterOptions {
  std::chrono::milliseconds interval{60000};  // OTEL_METRIC_EXPORT_INTERVAL
  // OTEL_METRIC_EXPORT_TIMEOUT: bounds one export, retries included, and the
  // final export at Shutdown.
  std::chrono::milliseconds timeout{30000};
};

class PeriodicMetricExporter {
 public:
  // Builds the OtlpMetricExporter from `otlp` with its retry budget and
  // per-attempt timeout capped at options.timeout. `producers` must outlive
  // this object.
  PeriodicMetricExporter(const OtlpExporterOptions& otlp, std::vector<MetricProducer*> producers,
                         PeriodicMetricExporterOptions options);
  // With a ready exporter (tests).
  PeriodicMetricExporter(std::unique_ptr<OtlpMetricExporter> exporter, std::vector<MetricProducer*> producers,
                         PeriodicMetricExporterOptions options);
  ~PeriodicMetricExporter();  // Shutdown()
  PeriodicMetricExporter(const PeriodicMetricExporter&) = delete;
  PeriodicMetricExporter& operator=(const PeriodicMetricExporter&) = delete;

  // Collects and exports now, on the exporter thread; waits for the result
  // (at most the export timeout). True when that export was accepted.
  bool ForceFlush();
  // One last collection and export (bounded by the timeout), then stops.
  // Idempotent.
  void Shutdown();

  uint64_t exports_succeeded() const;
  uint64_t exports_failed() const;
  OtlpExportStats stats() const { return exporter_->stats(); }

  static OtlpExporterOptions CapToTimeout(OtlpExporterOptions o, std::chrono::milliseconds timeout);

 private:
  void Run();
  bool ExportOnce();

  std::unique_ptr<OtlpMetricExporter> exporter_;
  std::vector<MetricProducer*> producers_;
  PeriodicMetricExporterOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool done_ = false;
  uint64_t flush_requested_ = 0;  // generation counters
  uint64_t flush_done_ = 0;
  bool last_ok_ = false;
  uint64_t succeeded_ = 0;
  uint64_t failed_ = 0;
  std::mutex shutdown_mu_;
  std::thread thread_;
};

}  // namespace sonde
