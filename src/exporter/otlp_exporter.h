// OTLP exporters for spans and metrics over either transport, with the
// spec's retry behaviour (see retry.h): a request is retried on retryable
// answers and on no answer at all, with exponential backoff and jitter or
// the server's Retry-After/RetryInfo, until it succeeds, gets a final
// answer, runs out of RetryOptions::max_elapsed, or is aborted. Every
// outcome is counted (OtlpExportStats), and logged once per change of state,
// not once per batch: a collector down for an hour must not flood the log.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "exporter/otlp_convert.h"
#include "exporter/otlp_options.h"
#include "exporter/otlp_transport.h"
#include "exporter/span_exporter.h"
#include "metrics/metric_data.h"

namespace sonde {

struct OtlpExportStats {
  uint64_t attempts = 0;                  // requests sent, retries included
  uint64_t retries = 0;                   // attempts after the first of a request
  uint64_t requests_accepted = 0;         // including partial successes
  uint64_t failed_non_retryable = 0;      // requests dropped on a final answer (e.g. HTTP 400)
  uint64_t failed_retries_exhausted = 0;  // requests dropped when the retry budget ran out
  uint64_t failed_aborted = 0;            // requests dropped by Abort (shutdown deadline) or after Shutdown
  uint64_t items_exported = 0;            // spans / data points in accepted requests
  uint64_t items_rejected = 0;            // of those, rejected by the receiver (partial success)
  uint64_t items_failed = 0;              // spans / data points in dropped requests
};

// The retry loop shared by both exporters. Not thread-safe except Abort.
class OtlpRetryingSender {
 public:
  OtlpRetryingSender(std::unique_ptr<OtlpTransport> transport, RetryOptions retry, OtlpSignal signal);
  // Sends one request (`attempt` performs one try on the transport) holding
  // `items` spans or points; true when it was accepted.
  bool Send(const std::function<SendResult(OtlpTransport&)>& attempt, uint64_t items);
  void Abort();
  // Subsequent Sends fail at once (counted as aborted).
  void Shutdown() { shut_down_.store(true); }
  OtlpExportStats stats() const;
  OtlpTransport* transport() const { return transport_.get(); }

 private:
  void Fail(std::atomic<uint64_t>& reason, uint64_t items);

  std::unique_ptr<OtlpTransport> transport_;  // nullptr: invalid configuration
  const RetryOptions retry_;
  const OtlpSignal signal_;
  AbortSignal abort_;
  std::atomic<bool> shut_down_{false};
  uint64_t consecutive_failures_ = 0;

  std::atomic<uint64_t> attempts_{0}, retries_{0}, accepted_{0}, failed_final_{0}, failed_exhausted_{0},
      failed_aborted_{0}, items_exported_{0}, items_rejected_{0}, items_failed_{0};
};

class OtlpSpanExporter : public SpanExporter {
 public:
  // Builds the transport `options` ask for. A bad setting is logged and every
  // Export then fails (counted), so it shows up as export failures rather
  // than a crash; ParseOtelEnvironment catches them before this point.
  explicit OtlpSpanExporter(const OtlpExporterOptions& options);
  // With a given transport (nullptr: every Export fails), for tests.
  OtlpSpanExporter(std::unique_ptr<OtlpTransport> transport, RetryOptions retry, std::string scope_version = {});
  ~OtlpSpanExporter() override;

  bool Export(const std::vector<Span>& batch) override;
  void Shutdown() override;
  void Abort() override;

  OtlpExportStats stats() const { return sender_.stats(); }
  bool valid() const { return sender_.transport() != nullptr; }
  // Where spans go ("127.0.0.1:4317 (grpc, plaintext)"); empty when invalid.
  std::string Describe() const;

 private:
  OtlpScope scope_;
  OtlpRetryingSender sender_;
};

class OtlpMetricExporter {
 public:
  explicit OtlpMetricExporter(const OtlpExporterOptions& options);
  OtlpMetricExporter(std::unique_ptr<OtlpTransport> transport, RetryOptions retry, std::string scope_version = {});
  ~OtlpMetricExporter();

  // One request with every snapshot's resources; true when accepted. An
  // empty request (no data points) is not sent and counts as success.
  bool Export(const std::vector<MetricsSnapshot>& snapshots);
  void Shutdown() { sender_.Shutdown(); }
  void Abort() { sender_.Abort(); }

  OtlpExportStats stats() const { return sender_.stats(); }
  bool valid() const { return sender_.transport() != nullptr; }
  std::string Describe() const;

 private:
  OtlpScope scope_;
  OtlpRetryingSender sender_;
};

}  // namespace sonde
