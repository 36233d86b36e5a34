#include "exporter/otlp_exporter.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "exporter/otlp_metrics_convert.h"

#ifndef SONDE_VERSION
#define SONDE_VERSION "0.0.0"
#endif

namespace sonde {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::unique_ptr<OtlpTransport> BuildTransport(const OtlpExporterOptions& options, OtlpSignal signal) {
  std::string error;
  auto t = MakeOtlpTransport(options, signal, &error);
  if (!t) spdlog::error("{}; {} will not be exported", error, ToString(signal));
  return t;
}

OtlpScope MakeScope(const std::string& version) {
  OtlpScope s;
  s.version = version.empty() ? SONDE_VERSION : version;
  return s;
}

const char* Items(OtlpSignal s) { return s == OtlpSignal::kTraces ? "spans" : "data points"; }

}  // namespace

OtlpRetryingSender::OtlpRetryingSender(std::unique_ptr<OtlpTransport> transport, RetryOptions retry,
                                       OtlpSignal signal)
    : transport_(std::move(transport)), retry_(retry), signal_(signal) {}

void OtlpRetryingSender::Abort() {
  abort_.Abort();
  if (transport_) transport_->Abort();
}

void OtlpRetryingSender::Fail(std::atomic<uint64_t>& reason, uint64_t items) {
  reason.fetch_add(1, std::memory_order_relaxed);
  items_failed_.fetch_add(items, std::memory_order_relaxed);
}

bool OtlpRetryingSender::Send(const std::function<SendResult(OtlpTransport&)>& attempt, uint64_t items) {
  if (!transport_) {
    Fail(failed_final_, items);
    return false;
  }
  const Clock::time_point start = Clock::now();
  Backoff backoff(retry_);
  for (int n = 0;; ++n) {
    if (shut_down_.load() || abort_.aborted()) {
      Fail(failed_aborted_, items);
      return false;
    }
    attempts_.fetch_add(1, std::memory_order_relaxed);
    if (n > 0) retries_.fetch_add(1, std::memory_order_relaxed);
    SendResult r = attempt(*transport_);

    if (r.outcome == SendOutcome::kSuccess) {
      accepted_.fetch_add(1, std::memory_order_relaxed);
      items_exported_.fetch_add(items, std::memory_order_relaxed);
      if (consecutive_failures_ > 0) {
        spdlog::info("otlp {}: export to {} recovered after {} failed attempts", ToString(signal_),
                     transport_->Describe(), consecutive_failures_);
        consecutive_failures_ = 0;
      }
      // Partial success: the receiver took the request but refused some
      // items. Retrying would not help; it is counted and worth a log line.
      if (r.rejected > 0 || !r.partial_message.empty()) {
        items_rejected_.fetch_add(static_cast<uint64_t>(std::max<int64_t>(r.rejected, 0)),
                                  std::memory_order_relaxed);
        spdlog::warn("otlp {}: receiver rejected {} of {} {}: {}", ToString(signal_), r.rejected, items,
                     Items(signal_), r.partial_message);
      }
      return true;
    }
    if (abort_.aborted()) {
      Fail(failed_aborted_, items);
      return false;
    }
    if (consecutive_failures_++ == 0) {
      spdlog::warn("otlp {}: export of {} {} to {} failed: {}{}; further failures are logged at debug level",
                   ToString(signal_), items, Items(signal_), transport_->Describe(), r.error,
                   r.outcome == SendOutcome::kRetryable && retry_.max_elapsed.count() > 0 ? " (will retry)" : "");
    } else {
      spdlog::debug("otlp {}: export of {} {} failed: {} ({} in a row)", ToString(signal_), items, Items(signal_),
                    r.error, consecutive_failures_);
    }
    if (r.outcome == SendOutcome::kFailed) {
      spdlog::warn("otlp {}: {} {} dropped: the receiver's answer is final ({})", ToString(signal_), items,
                   Items(signal_), r.error);
      Fail(failed_final_, items);
      return false;
    }
    // Never sooner than the server asked, and never sooner than the backoff:
    // a server answering "Retry-After: 0" forever must not get a tight loop.
    milliseconds delay = backoff.Next();
    if (r.retry_after) delay = std::max(delay, *r.retry_after);
    auto elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    if (retry_.max_elapsed.count() <= 0 || elapsed + delay > retry_.max_elapsed) {
      if (retry_.max_elapsed.count() > 0)
        spdlog::warn("otlp {}: {} {} dropped after retrying for {} ms: {}", ToString(signal_), items,
                     Items(signal_), elapsed.count(), r.error);
      Fail(failed_exhausted_, items);
      return false;
    }
    if (!abort_.SleepFor(delay)) {
      Fail(failed_aborted_, items);
      return false;
    }
  }
}

OtlpExportStats OtlpRetryingSender::stats() const {
  OtlpExportStats s;
  s.attempts = attempts_.load(std::memory_order_relaxed);
  s.retries = retries_.load(std::memory_order_relaxed);
  s.requests_accepted = accepted_.load(std::memory_order_relaxed);
  s.failed_non_retryable = failed_final_.load(std::memory_order_relaxed);
  s.failed_retries_exhausted = failed_exhausted_.load(std::memory_order_relaxed);
  s.failed_aborted = failed_aborted_.load(std::memory_order_relaxed);
  s.items_exported = items_exported_.load(std::memory_order_relaxed);
  s.items_rejected = items_rejected_.load(std::memory_order_relaxed);
  s.items_failed = items_failed_.load(std::memory_order_relaxed);
  return s;
}

OtlpSpanExporter::OtlpSpanExporter(const OtlpExporterOptions& options)
    : OtlpSpanExporter(BuildTransport(options, OtlpSignal::kTraces), options.retry, options.scope_version) {
  if (valid()) spdlog::info("otlp: exporting traces to {}", Describe());
}

OtlpSpanExporter::OtlpSpanExporter(std::unique_ptr<OtlpTransport> transport, RetryOptions retry,
                                   std::string scope_version)
    : scope_(MakeScope(scope_version)), sender_(std::move(transport), retry, OtlpSignal::kTraces) {}

OtlpSpanExporter::~OtlpSpanExporter() = default;

std::string OtlpSpanExporter::Describe() const {
  return sender_.transport() ? sender_.transport()->Describe() : std::string();
}

bool OtlpSpanExporter::Export(const std::vector<Span>& batch) {
  if (batch.empty()) return true;
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest request;
  ToOtlpRequest(batch, scope_, &request);
  return sender_.Send([&](OtlpTransport& t) { return t.ExportTraces(request); }, batch.size());
}

void OtlpSpanExporter::Shutdown() { sender_.Shutdown(); }

void OtlpSpanExporter::Abort() { sender_.Abort(); }

OtlpMetricExporter::OtlpMetricExporter(const OtlpExporterOptions& options)
    : OtlpMetricExporter(BuildTransport(options, OtlpSignal::kMetrics), options.retry, options.scope_version) {
  if (valid()) spdlog::info("otlp: exporting metrics to {}", Describe());
}

OtlpMetricExporter::OtlpMetricExporter(std::unique_ptr<OtlpTransport> transport, RetryOptions retry,
                                       std::string scope_version)
    : scope_(MakeScope(scope_version)), sender_(std::move(transport), retry, OtlpSignal::kMetrics) {}

OtlpMetricExporter::~OtlpMetricExporter() = default;

std::string OtlpMetricExporter::Describe() const {
  return sender_.transport() ? sender_.transport()->Describe() : std::string();
}

bool OtlpMetricExporter::Export(const std::vector<MetricsSnapshot>& snapshots) {
  opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest request;
  size_t points = ToOtlpMetricsRequest(snapshots, scope_, &request);
  if (points == 0) return true;
  return sender_.Send([&](OtlpTransport& t) { return t.ExportMetrics(request); }, points);
}

}  // namespace sonde
