// sonde's own metrics: a small registry of counters and gauges the agent
// feeds (events captured and lost, spans made, exported and dropped, queue
// depth, BPF run time...), exported like the RED metrics through OTLP and
// /metrics under sonde's own resource.
//
// Handles (Counter, Gauge, DoubleCounter) are stable for the registry's
// lifetime and lock-free (atomics): the hot thread may keep one and bump it.
// Getting a handle takes a mutex, so look them up once, not per event.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/metric_data.h"

namespace sonde {

// Names of the metrics the agent reports; their unit and description are in
// the registry's catalog (see self_metrics.cc). Prometheus names in brackets.
namespace self_metric {
// Ring buffer events read [sonde_events_captured_total].
inline constexpr std::string_view kEventsCaptured = "sonde.events.captured";
// Events lost before decoding, attribute reason = ringbuf_full,
// conn_map_full, args_map_full, iov_limit, read_failed... [sonde_events_lost_total].
inline constexpr std::string_view kEventsLost = "sonde.events.lost";
// Events whose payload was cut at the capture limit [sonde_events_truncated_total].
inline constexpr std::string_view kEventsTruncated = "sonde.events.truncated";
// Payload bytes not captured because of the capture limit [sonde_capture_truncated_bytes_total].
inline constexpr std::string_view kCaptureTruncated = "sonde.capture.truncated";
// Spans built [sonde_spans_created_total].
inline constexpr std::string_view kSpansCreated = "sonde.spans.created";
// Spans every exporter accepted [sonde_spans_exported_total].
inline constexpr std::string_view kSpansExported = "sonde.spans.exported";
// Spans lost, attribute reason = queue_full, export_failed, shutdown [sonde_spans_dropped_total].
inline constexpr std::string_view kSpansDropped = "sonde.spans.dropped";
// Requests on an excluded path (http.exclude_paths: health checks, metric
// scrapes) for which no span was made [sonde_spans_excluded_total].
inline constexpr std::string_view kSpansExcluded = "sonde.spans.excluded";
// Spans not exported by sampling, attribute reason = not_sampled (the head
// sampler said no and no keep-rule matched their trace in time) or
// buffer_full (held for the keep-rules, pushed out by newer spans)
// [sonde_spans_sampled_out_total].
inline constexpr std::string_view kSpansSampledOut = "sonde.spans.sampled_out";
// Spans exported only because a keep-rule matched their trace, attribute
// kept_by = error|latency [sonde_spans_kept_total].
inline constexpr std::string_view kSpansKept = "sonde.spans.kept";
// CLIENT spans of event-loop processes decided by async task, attribute
// result = linked_task|linked_thread|no_match|ambiguous|timed_out|overflow|
// no_identity [sonde_links_async_total].
inline constexpr std::string_view kLinksAsync = "sonde.links.async";
// Same-host stitching decisions, attribute result = stitched (a SERVER span
// joined its CLIENT span) | header_wins | not_aligned | ambiguous |
// no_client_bytes | expired | dropped; and for the stitched calls of event
// loops: loop_linked | loop_unlinked | loop_undecided
// [sonde_links_connection_total].
inline constexpr std::string_view kLinksConnection = "sonde.links.connection";
// Spans held right now waiting for a keep-rule [sonde_sampling_held_spans].
inline constexpr std::string_view kSamplingHeldSpans = "sonde.sampling.held_spans";
// Spans a collector accepted the request for but rejected (OTLP partial
// success) [sonde_spans_rejected_total].
inline constexpr std::string_view kSpansRejected = "sonde.spans.rejected";
// Metric data points a collector rejected (partial success) [sonde_metric_points_rejected_total].
inline constexpr std::string_view kMetricPointsRejected = "sonde.metric_points.rejected";
// Failed OTLP export requests, attributes signal = traces|metrics and
// reason = non_retryable, retries_exhausted, aborted [sonde_export_failures_total].
inline constexpr std::string_view kExportFailures = "sonde.export.failures";
// OTLP export attempts that were retried, attribute signal [sonde_export_retries_total].
inline constexpr std::string_view kExportRetries = "sonde.export.retries";
// Spans waiting in the export queue, and its capacity [sonde_export_queue_size,
// sonde_export_queue_capacity].
inline constexpr std::string_view kExportQueueSize = "sonde.export.queue.size";
inline constexpr std::string_view kExportQueueCapacity = "sonde.export.queue.capacity";
// Per BPF program, attribute program = its name, when kernel.bpf_stats_enabled
// is on: run time in seconds [sonde_bpf_run_time_seconds_total] and runs
// [sonde_bpf_runs_total].
inline constexpr std::string_view kBpfRunTime = "sonde.bpf.run_time";
inline constexpr std::string_view kBpfRuns = "sonde.bpf.runs";
// Outgoing HTTP/1 requests given a traceparent by sonde
// (propagation.inject_traceparent) [sonde_propagation_injected_total].
inline constexpr std::string_view kPropagationInjected = "sonde.propagation.injected";
// Requests not given one, attribute reason = has_traceparent, headers_split,
// not_selected, push_failed, ringbuf_full, beyond_capture; and sockets on which injection
// stopped, reason = not_http1, chunked, upgrade, too_large, sockhash_full
// [sonde_propagation_skipped_total].
inline constexpr std::string_view kPropagationSkipped = "sonde.propagation.skipped";
}  // namespace self_metric

class SelfMetrics final : public MetricProducer {
 public:
  class Counter {
   public:
    void Add(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
    // For totals read from elsewhere (BPF maps, pipeline stats).
    void Set(uint64_t total) { v_.store(total, std::memory_order_relaxed); }
    uint64_t value() const { return v_.load(std::memory_order_relaxed); }

   private:
    std::atomic<uint64_t> v_{0};
  };
  class Gauge {
   public:
    void Set(int64_t v) { v_.store(v, std::memory_order_relaxed); }
    void Add(int64_t d) { v_.fetch_add(d, std::memory_order_relaxed); }
    int64_t value() const { return v_.load(std::memory_order_relaxed); }

   private:
    std::atomic<int64_t> v_{0};
  };
  class DoubleCounter {
   public:
    void Set(double total) { v_.store(total, std::memory_order_relaxed); }
    void Add(double d);
    double value() const { return v_.load(std::memory_order_relaxed); }

   private:
    std::atomic<double> v_{0};
  };

  // `resource`: sonde's own (service.name from OTEL_SERVICE_NAME, default
  // "sonde", plus OTEL_RESOURCE_ATTRIBUTES; see OtelEnvOptions).
  explicit SelfMetrics(std::shared_ptr<const Resource> resource, uint64_t start_unix_ns = UnixNanosNow());
  ~SelfMetrics() override;

  // The series (name, attributes), created on first use. Names from the
  // catalog above are known; any other name must be Described first. A name
  // used with another kind than its description, or an unknown name, throws
  // std::logic_error: both are programming errors.
  Counter* GetCounter(std::string_view name, const Attributes& attributes = {});
  Gauge* GetGauge(std::string_view name, const Attributes& attributes = {});
  DoubleCounter* GetDoubleCounter(std::string_view name, const Attributes& attributes = {});

  // Adds a metric to the catalog (or redescribes one).
  void Describe(std::string name, MetricKind kind, bool is_double, std::string unit, std::string description);

  // Runs `fn` at the start of every Collect, on the collecting thread, to
  // refresh values that are read rather than pushed (pipeline counters).
  // `fn` must only read thread-safe sources.
  void AddCollectCallback(std::function<void(SelfMetrics&)> fn);

  MetricsSnapshot Collect() override;
  MetricsSnapshot CollectAt(uint64_t now_unix_ns);

  const std::shared_ptr<const Resource>& resource() const { return resource_; }

 private:
  struct Descriptor {
    MetricKind kind = MetricKind::kCounter;
    bool is_double = false;
    std::string unit;
    std::string description;
  };
  struct Series {
    std::string name;
    Attributes attributes;
    Counter counter;
    Gauge gauge;
    DoubleCounter double_counter;
  };
  Series* Get(std::string_view name, const Attributes& attributes, MetricKind kind, bool is_double);

  const std::shared_ptr<const Resource> resource_;
  const uint64_t start_unix_ns_;

  std::mutex mu_;  // guards the maps below, not the values
  std::map<std::string, Descriptor, std::less<>> catalog_;
  std::map<std::string, std::unique_ptr<Series>> series_;  // by name + attributes key
  std::mutex collect_mu_;  // one Collect at a time; guards callbacks_
  std::vector<std::function<void(SelfMetrics&)>> callbacks_;
};

}  // namespace sonde
