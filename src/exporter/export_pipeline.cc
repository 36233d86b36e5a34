#include "exporter/export_pipeline.h"

#include <algorithm>
#include <exception>

#include <spdlog/spdlog.h>

namespace sonde {
namespace {

ExportPipelineOptions Sanitize(ExportPipelineOptions o) {
  o.max_queue_size = std::max<size_t>(o.max_queue_size, 1);
  o.max_export_batch_size = std::clamp<size_t>(o.max_export_batch_size, 1, o.max_queue_size);
  o.schedule_delay = std::max(o.schedule_delay, std::chrono::milliseconds(1));
  o.export_timeout = std::max(o.export_timeout, std::chrono::milliseconds(0));
  return o;
}

}  // namespace

ExportPipeline::ExportPipeline(std::vector<std::unique_ptr<SpanExporter>> exporters,
                               ExportPipelineOptions options)
    : options_(Sanitize(options)), exporters_(std::move(exporters)), queue_(options_.max_queue_size) {
  thread_ = std::thread([this] { Run(); });
}

ExportPipeline::~ExportPipeline() { Shutdown(); }

bool ExportPipeline::Push(Span&& span) {
  if (!accepting_.load(std::memory_order_acquire)) {
    dropped_shutdown_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (!queue_.TryPush(std::move(span))) {
    dropped_queue_full_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  queued_.fetch_add(1, std::memory_order_release);
  if (queue_.SizeApprox() >= options_.max_export_batch_size &&
      !wake_pending_.exchange(true, std::memory_order_acq_rel)) {
    // Taking the mutex orders this notify after the exporter thread's check of
    // the queue size: without it the wake-up could fall between that check and
    // the wait, and the batch would sit until the schedule delay.
    { std::lock_guard<std::mutex> lock(mu_); }
    work_cv_.notify_one();
  }
  return true;
}

bool ExportPipeline::Flush() { return Flush(options_.export_timeout); }

bool ExportPipeline::Flush(std::chrono::milliseconds timeout) {
  const uint64_t target = queued_.load(std::memory_order_acquire);
  if (processed_.load(std::memory_order_acquire) >= target) return true;
  std::unique_lock<std::mutex> lock(mu_);
  if (thread_done_) return false;
  flush_target_ = std::max(flush_target_, target);
  work_cv_.notify_one();
  return done_cv_.wait_for(lock, timeout, [&] {
    return processed_.load(std::memory_order_acquire) >= target || thread_done_;
  }) && processed_.load(std::memory_order_acquire) >= target;
}

void ExportPipeline::Shutdown() {
  std::lock_guard<std::mutex> serialize(shutdown_mu_);
  if (!thread_.joinable()) return;
  accepting_.store(false, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_deadline_.store((Clock::now() + options_.export_timeout).time_since_epoch().count(),
                         std::memory_order_relaxed);
    stop_.store(true, std::memory_order_release);
  }
  work_cv_.notify_one();
  // Bounded: the thread gives up exporting at stop_deadline_. An Export in
  // progress at the deadline (retrying a collector that is down, waiting on
  // a slow one) is told to give up.
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto deadline = Clock::time_point(Clock::duration(stop_deadline_.load(std::memory_order_relaxed)));
    if (!done_cv_.wait_until(lock, deadline, [&] { return thread_done_; })) {
      lock.unlock();
      spdlog::warn("export pipeline: export timeout reached at shutdown; aborting the export in progress");
      for (auto& e : exporters_) e->Abort();
    }
  }
  thread_.join();
  // A Push that passed the accepting_ check just before it was cleared may
  // have landed after the thread's last sweep; account for it here.
  uint64_t late = 0;
  while (queue_.TryPop()) ++late;
  if (late > 0) {
    dropped_shutdown_.fetch_add(late, std::memory_order_relaxed);
    processed_.fetch_add(late, std::memory_order_release);
  }
  for (auto& e : exporters_) e->Shutdown();
  ExportPipelineStats s = stats();
  spdlog::debug("export pipeline stopped: queued={} exported={} failed={} dropped_full={} dropped_shutdown={}",
                s.queued, s.exported, s.export_failed_spans, s.dropped_queue_full, s.dropped_shutdown);
}

ExportPipelineStats ExportPipeline::stats() const {
  ExportPipelineStats s;
  s.queued = queued_.load(std::memory_order_relaxed);
  s.exported = exported_.load(std::memory_order_relaxed);
  s.export_failed_spans = export_failed_spans_.load(std::memory_order_relaxed);
  s.export_failures = export_failures_.load(std::memory_order_relaxed);
  s.dropped_queue_full = dropped_queue_full_.load(std::memory_order_relaxed);
  s.dropped_shutdown = dropped_shutdown_.load(std::memory_order_relaxed);
  return s;
}

bool ExportPipeline::PastStopDeadline() const {
  if (!stop_.load(std::memory_order_acquire)) return false;
  return Clock::now().time_since_epoch().count() >= stop_deadline_.load(std::memory_order_relaxed);
}

void ExportPipeline::MarkProcessed(uint64_t n) {
  processed_.fetch_add(n, std::memory_order_release);
  // Under the mutex for the same reason as the wake-up in Push.
  { std::lock_guard<std::mutex> lock(mu_); }
  done_cv_.notify_all();
}

void ExportPipeline::ExportBatch(std::vector<Span>& batch) {
  if (batch.empty()) return;
  bool all_ok = true;
  for (auto& e : exporters_) {
    bool ok = false;
    try {
      ok = e->Export(batch);
    } catch (const std::exception& ex) {
      // An exporter bug must not kill the thread and silently stall the queue.
      spdlog::error("exporter threw: {}", ex.what());
    } catch (...) {
      spdlog::error("exporter threw a non-standard exception");
    }
    if (!ok) {
      all_ok = false;
      export_failures_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  (all_ok ? exported_ : export_failed_spans_).fetch_add(batch.size(), std::memory_order_relaxed);
  uint64_t n = batch.size();
  batch.clear();
  MarkProcessed(n);
}

void ExportPipeline::Run() {
  const size_t batch_size = options_.max_export_batch_size;
  std::vector<Span> batch;
  batch.reserve(batch_size);
  Clock::time_point next_export = Clock::now() + options_.schedule_delay;

  for (;;) {
    bool stopping;
    bool flushing;
    uint64_t flush_target;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait_until(lock, next_export, [&] {
        return stop_.load(std::memory_order_acquire) ||
               flush_target_ > processed_.load(std::memory_order_acquire) ||
               batch.size() + queue_.SizeApprox() >= batch_size;
      });
      wake_pending_.store(false, std::memory_order_release);
      stopping = stop_.load(std::memory_order_acquire);
      flush_target = flush_target_;
      flushing = flush_target > processed_.load(std::memory_order_acquire);
    }
    // A partial batch goes out only on the timer, a flush or a stop.
    const bool drain_all = stopping || flushing || Clock::now() >= next_export;

    for (;;) {
      // Checked before every batch, not only after a wait: a thread busy
      // with a long backlog must still notice Shutdown's deadline.
      if (PastStopDeadline()) break;
      while (batch.size() < batch_size) {
        std::optional<Span> s = queue_.TryPop();
        if (!s) break;
        batch.push_back(std::move(*s));
      }
      if (batch.size() == batch_size || (drain_all && !batch.empty())) {
        ExportBatch(batch);
        next_export = Clock::now() + options_.schedule_delay;
        continue;
      }
      break;
    }
    if (drain_all && !stopping && Clock::now() >= next_export) {
      next_export = Clock::now() + options_.schedule_delay;
    }
    if (stopping || PastStopDeadline()) break;
    if (flushing && batch.empty() && queue_.SizeApprox() == 0) {
      // Everything visible is exported but the flush target is not reached:
      // a producer has reserved a slot and not finished writing it yet. Give
      // it the CPU instead of spinning on the mutex.
      if (flush_target > processed_.load(std::memory_order_acquire)) std::this_thread::yield();
    }
  }

  // Stopping: whatever is left could not be exported before the deadline.
  uint64_t left = batch.size();
  batch.clear();
  while (queue_.TryPop()) ++left;
  if (left > 0) {
    dropped_shutdown_.fetch_add(left, std::memory_order_relaxed);
    spdlog::warn("export pipeline: {} spans dropped at shutdown (export timeout reached)", left);
  }
  processed_.fetch_add(left, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mu_);
    thread_done_ = true;
  }
  done_cv_.notify_all();
}

}  // namespace sonde
