// The bounded queue between the hot thread (which builds spans) and the
// exporter thread (which batches them and hands them to the exporters).
//
// Overflow policy: when the queue is full, Push drops the NEW span, counts it
// in dropped_queue_full and returns false. Dropping the newest keeps Push
// O(1) and lock-free and leaves the already queued spans (whose traces have
// been partly exported) intact. Nothing is dropped silently: every span
// handed to Push ends up in exactly one of exported, export_failed_spans,
// dropped_queue_full or dropped_shutdown.
//
// Retries: an OTLP exporter retries a failed batch inside Export, on this
// pipeline's exporter thread (see otlp_exporter.h). Meanwhile Push keeps
// accepting spans into the queue, so a collector outage costs nothing until
// the queue is full; from then on the newest spans are dropped (counted)
// until the exporter catches up. A span accepted by Push is therefore only
// lost to a collector outage longer than the retry budget
// (RetryOptions::max_elapsed), to a final error answer, or to shutdown.
//
// Shutdown: the remaining spans are exported for at most export_timeout;
// then an Export still in progress is aborted (SpanExporter::Abort) and
// whatever is left is counted in dropped_shutdown.
//
// Batching follows the OpenTelemetry batch span processor (the OTEL_BSP_*
// variables): a batch goes out when max_export_batch_size spans are waiting,
// or when schedule_delay has passed since the last export, whichever is first.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "exporter/bounded_queue.h"
#include "exporter/span_exporter.h"

namespace sonde {

struct ExportPipelineOptions {
  size_t max_queue_size = 2048;                     // OTEL_BSP_MAX_QUEUE_SIZE
  size_t max_export_batch_size = 512;               // OTEL_BSP_MAX_EXPORT_BATCH_SIZE, clamped to the queue size
  std::chrono::milliseconds schedule_delay{5000};   // OTEL_BSP_SCHEDULE_DELAY
  std::chrono::milliseconds export_timeout{30000};  // OTEL_BSP_EXPORT_TIMEOUT: bounds Flush() and Shutdown()
};

// A consistent-enough snapshot of the counters (each is read atomically).
struct ExportPipelineStats {
  uint64_t queued = 0;               // accepted by Push
  uint64_t exported = 0;             // in batches every exporter accepted
  uint64_t export_failed_spans = 0;  // in batches at least one exporter failed
  uint64_t export_failures = 0;      // failed Export calls (one per exporter per batch)
  uint64_t dropped_queue_full = 0;   // refused by Push: queue full
  uint64_t dropped_shutdown = 0;     // refused after Shutdown, or still queued when its deadline passed
};

class ExportPipeline {
 public:
  // Starts the exporter thread. Each batch goes to every exporter, in order.
  explicit ExportPipeline(std::vector<std::unique_ptr<SpanExporter>> exporters,
                          ExportPipelineOptions options = {});
  // Calls Shutdown().
  ~ExportPipeline();
  ExportPipeline(const ExportPipeline&) = delete;
  ExportPipeline& operator=(const ExportPipeline&) = delete;

  // Never waits for the exporter: returns false (and counts a drop) when the
  // queue is full or the pipeline is shut down. Safe from any number of
  // threads. Once per full batch it takes a mutex for a few instructions to
  // wake the exporter thread; every other call is lock-free.
  bool Push(Span&& span);

  // Blocks until every span accepted by Push before this call has been
  // handed to the exporters, or until the timeout (default: export_timeout).
  // Returns false on timeout. Must not be called from an exporter.
  bool Flush();
  bool Flush(std::chrono::milliseconds timeout);

  // Exports what is queued (for at most export_timeout, the rest is counted
  // in dropped_shutdown), stops the thread and shuts the exporters down.
  // Idempotent; Push afterwards drops.
  void Shutdown();

  uint64_t queued() const { return queued_.load(std::memory_order_relaxed); }
  uint64_t exported() const { return exported_.load(std::memory_order_relaxed); }
  uint64_t dropped_queue_full() const { return dropped_queue_full_.load(std::memory_order_relaxed); }
  uint64_t export_failures() const { return export_failures_.load(std::memory_order_relaxed); }
  // Spans waiting in the queue (approximate while other threads push or pop).
  size_t queue_size() const { return queue_.SizeApprox(); }
  size_t queue_capacity() const { return queue_.capacity(); }
  ExportPipelineStats stats() const;

  const ExportPipelineOptions& options() const { return options_; }

 private:
  using Clock = std::chrono::steady_clock;

  void Run();
  bool PastStopDeadline() const;
  void ExportBatch(std::vector<Span>& batch);
  void MarkProcessed(uint64_t n);

  ExportPipelineOptions options_;
  std::vector<std::unique_ptr<SpanExporter>> exporters_;
  BoundedQueue<Span> queue_;

  std::atomic<uint64_t> queued_{0};
  std::atomic<uint64_t> exported_{0};
  std::atomic<uint64_t> export_failed_spans_{0};
  std::atomic<uint64_t> export_failures_{0};
  std::atomic<uint64_t> dropped_queue_full_{0};
  std::atomic<uint64_t> dropped_shutdown_{0};
  // Spans that left the pipeline (exported, failed or dropped at shutdown);
  // Flush waits for it to reach the queued count it saw.
  std::atomic<uint64_t> processed_{0};

  std::atomic<bool> accepting_{true};
  // Set by the producer that wakes the exporter thread, so that only one
  // producer per batch touches the mutex.
  std::atomic<bool> wake_pending_{false};

  std::mutex mu_;
  std::condition_variable work_cv_;  // exporter thread waits for work
  std::condition_variable done_cv_;  // Flush waits for progress
  uint64_t flush_target_ = 0;   // guarded by mu_
  bool thread_done_ = false;    // guarded by mu_
  // Atomic rather than guarded: the exporter thread checks them between
  // batches without taking the mutex. The deadline is written before stop_.
  std::atomic<bool> stop_{false};
  std::atomic<Clock::rep> stop_deadline_{0};

  std::mutex shutdown_mu_;  // serializes Shutdown callers
  std::thread thread_;
};

}  // namespace sonde
