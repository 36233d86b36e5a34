#include "exporter/periodic_metric_exporter.h"

#include <algorithm>

namespace sonde {

OtlpExporterOptions PeriodicMetricExporter::CapToTimeout(OtlpExporterOptions o, std::chrono::milliseconds timeout) {
  o.timeout = std::min(o.timeout, timeout);
  o.retry.max_elapsed = std::min(o.retry.max_elapsed, timeout);
  return o;
}

PeriodicMetricExporter::PeriodicMetricExporter(const OtlpExporterOptions& otlp, std::vector<MetricProducer*> producers,
                                               PeriodicMetricExporterOptions options)
    : PeriodicMetricExporter(std::make_unique<OtlpMetricExporter>(CapToTimeout(otlp, options.timeout)),
                             std::move(producers), options) {}

PeriodicMetricExporter::PeriodicMetricExporter(std::unique_ptr<OtlpMetricExporter> exporter,
                                               std::vector<MetricProducer*> producers,
                                               PeriodicMetricExporterOptions options)
    : exporter_(std::move(exporter)), producers_(std::move(producers)), options_(options) {
  options_.interval = std::max(options_.interval, std::chrono::milliseconds(1));
  thread_ = std::thread([this] { Run(); });
}

PeriodicMetricExporter::~PeriodicMetricExporter() { Shutdown(); }

bool PeriodicMetricExporter::ExportOnce() {
  std::vector<MetricsSnapshot> snaps;
  snaps.reserve(producers_.size());
  for (MetricProducer* p : producers_) snaps.push_back(p->Collect());
  bool ok = exporter_->Export(snaps);
  std::lock_guard<std::mutex> lock(mu_);
  (ok ? succeeded_ : failed_)++;
  last_ok_ = ok;
  return ok;
}

void PeriodicMetricExporter::Run() {
  auto next = std::chrono::steady_clock::now() + options_.interval;
  for (;;) {
    uint64_t flush_target;
    bool stopping;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_until(lock, next, [&] { return stop_ || flush_requested_ > flush_done_; });
      stopping = stop_;
      flush_target = flush_requested_;
    }
    ExportOnce();  // on the timer, a flush, or the final one at stop
    next = std::chrono::steady_clock::now() + options_.interval;
    {
      std::lock_guard<std::mutex> lock(mu_);
      flush_done_ = std::max(flush_done_, flush_target);
      if (stopping) done_ = true;
    }
    cv_.notify_all();
    if (stopping) return;
  }
}

bool PeriodicMetricExporter::ForceFlush() {
  std::unique_lock<std::mutex> lock(mu_);
  if (done_) return false;
  uint64_t target = ++flush_requested_;
  cv_.notify_all();
  // Budget: one export in progress plus ours.
  bool finished = cv_.wait_for(lock, 2 * options_.timeout + std::chrono::seconds(1),
                               [&] { return flush_done_ >= target || done_; });
  return finished && flush_done_ >= target && last_ok_;
}

void PeriodicMetricExporter::Shutdown() {
  std::lock_guard<std::mutex> serialize(shutdown_mu_);
  if (!thread_.joinable()) return;
  {
    std::unique_lock<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
    // The export in progress plus the final one, each bounded by the timeout;
    // past that, abort rather than hold the agent's exit.
    if (!cv_.wait_for(lock, 2 * options_.timeout + std::chrono::seconds(1), [&] { return done_; })) {
      lock.unlock();
      exporter_->Abort();
    }
  }
  thread_.join();
  exporter_->Shutdown();
}

uint64_t PeriodicMetricExporter::exports_succeeded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return succeeded_;
}

uint64_t PeriodicMetricExporter::exports_failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

}  // namespace sonde
