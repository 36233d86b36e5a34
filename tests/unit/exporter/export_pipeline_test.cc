#include "exporter/export_pipeline.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "exporter/bounded_queue.h"
#include "test_spans.h"

namespace sonde {
namespace {

using namespace std::chrono_literals;
using sonde::test::NumberedSpan;

// Shared between a test and the RecordingExporter the pipeline owns.
struct Recording {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<size_t> batch_sizes;
  std::vector<std::string> names;
  bool result = true;
  bool throws = false;
  bool shut_down = false;
  std::chrono::milliseconds delay{0};
  // Gate: while closed, Export blocks after announcing it has been entered.
  bool gate_closed = false;
  bool entered = false;

  size_t SpanCount() {
    std::lock_guard<std::mutex> lock(mu);
    return names.size();
  }
  bool WaitForSpans(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [&] { return names.size() >= n; });
  }
  bool WaitEntered(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [&] { return entered; });
  }
  void OpenGate() {
    std::lock_guard<std::mutex> lock(mu);
    gate_closed = false;
    cv.notify_all();
  }
};

class RecordingExporter : public SpanExporter {
 public:
  explicit RecordingExporter(std::shared_ptr<Recording> r) : r_(std::move(r)) {}
  bool Export(const std::vector<Span>& batch) override {
    std::unique_lock<std::mutex> lock(r_->mu);
    r_->entered = true;
    r_->cv.notify_all();
    r_->cv.wait(lock, [&] { return !r_->gate_closed; });
    if (r_->delay.count() > 0) {
      lock.unlock();
      std::this_thread::sleep_for(r_->delay);
      lock.lock();
    }
    if (r_->throws) throw std::runtime_error("boom");
    r_->batch_sizes.push_back(batch.size());
    for (const Span& s : batch) r_->names.push_back(s.name);
    r_->cv.notify_all();
    return r_->result;
  }
  void Shutdown() override {
    std::lock_guard<std::mutex> lock(r_->mu);
    r_->shut_down = true;
  }

 private:
  std::shared_ptr<Recording> r_;
};

std::vector<std::unique_ptr<SpanExporter>> Exporters(std::initializer_list<std::shared_ptr<Recording>> rs) {
  std::vector<std::unique_ptr<SpanExporter>> out;
  for (const auto& r : rs) out.push_back(std::make_unique<RecordingExporter>(r));
  return out;
}

ExportPipelineOptions Options(size_t queue, size_t batch, std::chrono::milliseconds delay = 1h) {
  ExportPipelineOptions o;
  o.max_queue_size = queue;
  o.max_export_batch_size = batch;
  o.schedule_delay = delay;
  o.export_timeout = 5s;
  return o;
}

TEST(BoundedQueue, FifoAndCapacityWithNonPowerOfTwoSize) {
  BoundedQueue<int> q(3);
  for (int lap = 0; lap < 5; ++lap) {  // wraps around several times
    EXPECT_TRUE(q.TryPush(lap * 10 + 1));
    EXPECT_TRUE(q.TryPush(lap * 10 + 2));
    EXPECT_TRUE(q.TryPush(lap * 10 + 3));
    int extra = 99;
    EXPECT_FALSE(q.TryPush(std::move(extra)));
    EXPECT_EQ(q.SizeApprox(), 3u);
    EXPECT_EQ(q.TryPop(), lap * 10 + 1);
    EXPECT_EQ(q.TryPop(), lap * 10 + 2);
    EXPECT_EQ(q.TryPop(), lap * 10 + 3);
    EXPECT_FALSE(q.TryPop());
  }
}

TEST(BoundedQueue, DestroysWhatIsLeft) {
  auto counter = std::make_shared<int>(0);
  {
    BoundedQueue<std::shared_ptr<int>> q(4);
    q.TryPush(std::shared_ptr<int>(counter));
    q.TryPush(std::shared_ptr<int>(counter));
    EXPECT_EQ(counter.use_count(), 3);
  }
  EXPECT_EQ(counter.use_count(), 1);
}

TEST(ExportPipeline, DefaultsFollowTheBatchSpanProcessor) {
  ExportPipelineOptions o;
  EXPECT_EQ(o.max_queue_size, 2048u);
  EXPECT_EQ(o.max_export_batch_size, 512u);
  EXPECT_EQ(o.schedule_delay, 5000ms);
  EXPECT_EQ(o.export_timeout, 30000ms);
}

TEST(ExportPipeline, FlushExportsEverythingQueued) {
  auto rec = std::make_shared<Recording>();
  ExportPipeline p(Exporters({rec}), Options(100, 50));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.Push(NumberedSpan(i)));
  ASSERT_TRUE(p.Flush());
  EXPECT_EQ(rec->SpanCount(), 10u);
  EXPECT_EQ(p.exported(), 10u);
  EXPECT_EQ(p.queued(), 10u);
  std::lock_guard<std::mutex> lock(rec->mu);
  EXPECT_EQ(rec->batch_sizes, (std::vector<size_t>{10}));
  EXPECT_EQ(rec->names.front(), "span-0");
  EXPECT_EQ(rec->names.back(), "span-9");
}

TEST(ExportPipeline, FullBatchesGoOutWithoutWaitingForTheTimer) {
  auto rec = std::make_shared<Recording>();
  ExportPipeline p(Exporters({rec}), Options(100, 4));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.Push(NumberedSpan(i)));
  ASSERT_TRUE(rec->WaitForSpans(8, 5s));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(rec->SpanCount(), 8u);  // the last 2 wait for a full batch, the timer or a flush
  ASSERT_TRUE(p.Flush());
  std::lock_guard<std::mutex> lock(rec->mu);
  EXPECT_EQ(rec->batch_sizes, (std::vector<size_t>{4, 4, 2}));
}

TEST(ExportPipeline, ScheduleDelayExportsAPartialBatch) {
  auto rec = std::make_shared<Recording>();
  ExportPipeline p(Exporters({rec}), Options(100, 50, 50ms));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(p.Push(NumberedSpan(i)));
  EXPECT_TRUE(rec->WaitForSpans(3, 5s));
  // The counter moves just after the exporter returns; give it that moment.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (p.exported() < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(p.exported(), 3u);
  std::lock_guard<std::mutex> lock(rec->mu);
  EXPECT_EQ(rec->batch_sizes, (std::vector<size_t>{3}));
}

TEST(ExportPipeline, OverflowDropsTheNewestSpansAndCountsThemExactly) {
  auto rec = std::make_shared<Recording>();
  rec->gate_closed = true;
  ExportPipeline p(Exporters({rec}), Options(/*queue=*/8, /*batch=*/4));
  // The first full batch is taken by the exporter thread, which then blocks
  // at the gate: from here on nothing leaves the queue.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(p.Push(NumberedSpan(i)));
  ASSERT_TRUE(rec->WaitEntered(5s));
  int accepted = 0;
  int refused = 0;
  for (int i = 4; i < 4 + 8 + 5; ++i) (p.Push(NumberedSpan(i)) ? accepted : refused)++;
  EXPECT_EQ(accepted, 8);
  EXPECT_EQ(refused, 5);
  EXPECT_EQ(p.dropped_queue_full(), 5u);
  EXPECT_EQ(p.queued(), 12u);

  rec->OpenGate();
  ASSERT_TRUE(p.Flush());
  EXPECT_EQ(p.exported(), 12u);
  std::lock_guard<std::mutex> lock(rec->mu);
  ASSERT_EQ(rec->names.size(), 12u);
  EXPECT_EQ(rec->names.back(), "span-11");  // spans 12..16 were the ones dropped
}

TEST(ExportPipeline, EveryExporterGetsEveryBatchAndFailuresAreCounted) {
  auto ok = std::make_shared<Recording>();
  auto failing = std::make_shared<Recording>();
  failing->result = false;
  ExportPipeline p(Exporters({ok, failing}), Options(100, 5));
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(p.Push(NumberedSpan(i)));
  ASSERT_TRUE(p.Flush());
  EXPECT_EQ(ok->SpanCount(), 12u);
  EXPECT_EQ(failing->SpanCount(), 12u);
  ExportPipelineStats s = p.stats();
  EXPECT_EQ(s.export_failures, 3u);  // batches of 5, 5, 2, each failed once
  EXPECT_EQ(s.export_failed_spans, 12u);
  EXPECT_EQ(s.exported, 0u);
}

TEST(ExportPipeline, ThrowingExporterIsAFailureNotACrash) {
  auto rec = std::make_shared<Recording>();
  rec->throws = true;
  ExportPipeline p(Exporters({rec}), Options(100, 5));
  ASSERT_TRUE(p.Push(NumberedSpan(0)));
  ASSERT_TRUE(p.Flush());
  EXPECT_EQ(p.export_failures(), 1u);
  rec->throws = false;
  ASSERT_TRUE(p.Push(NumberedSpan(1)));
  ASSERT_TRUE(p.Flush());
  EXPECT_EQ(p.exported(), 1u);
}

TEST(ExportPipeline, FlushTimesOutWhenTheExporterIsStuck) {
  auto rec = std::make_shared<Recording>();
  rec->gate_closed = true;
  ExportPipeline p(Exporters({rec}), Options(100, 5));
  ASSERT_TRUE(p.Push(NumberedSpan(0)));
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(p.Flush(100ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  rec->OpenGate();
  EXPECT_TRUE(p.Flush());
}

TEST(ExportPipeline, FlushWithNothingQueuedReturnsAtOnce) {
  auto rec = std::make_shared<Recording>();
  ExportPipeline p(Exporters({rec}), Options(100, 5));
  EXPECT_TRUE(p.Flush(0ms));
}

TEST(ExportPipeline, ShutdownExportsTheRestStopsAndRefusesNewSpans) {
  auto rec = std::make_shared<Recording>();
  ExportPipeline p(Exporters({rec}), Options(100, 50));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(p.Push(NumberedSpan(i)));
  p.Shutdown();
  EXPECT_EQ(rec->SpanCount(), 3u);
  EXPECT_TRUE(rec->shut_down);
  EXPECT_FALSE(p.Push(NumberedSpan(3)));
  ExportPipelineStats s = p.stats();
  EXPECT_EQ(s.dropped_shutdown, 1u);
  EXPECT_EQ(s.dropped_queue_full, 0u);
  EXPECT_EQ(s.exported, 3u);
  p.Shutdown();  // idempotent
}

TEST(ExportPipeline, ShutdownGivesUpAtTheExportTimeoutAndCountsTheRest) {
  auto rec = std::make_shared<Recording>();
  rec->delay = 100ms;
  rec->gate_closed = true;  // hold the first batch until everything is queued
  ExportPipelineOptions o = Options(100, 2);
  o.export_timeout = 150ms;
  ExportPipeline p(Exporters({rec}), o);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(p.Push(NumberedSpan(i)));
  rec->OpenGate();
  auto start = std::chrono::steady_clock::now();
  p.Shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  ExportPipelineStats s = p.stats();
  EXPECT_GT(s.dropped_shutdown, 0u);
  EXPECT_EQ(s.exported + s.dropped_shutdown, 20u);
}

TEST(ExportPipeline, ConcurrentProducersLoseNothingUncounted) {
  auto rec = std::make_shared<Recording>();
  ExportPipeline p(Exporters({rec}), Options(256, 64, 5ms));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i)
        if (p.Push(NumberedSpan(i))) accepted.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(p.Flush());
  ExportPipelineStats s = p.stats();
  EXPECT_EQ(s.queued, static_cast<uint64_t>(accepted.load()));
  EXPECT_EQ(s.queued + s.dropped_queue_full, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(s.exported, s.queued);
  EXPECT_EQ(rec->SpanCount(), s.queued);
}

TEST(ExportPipeline, BatchSizeIsClampedToTheQueueSize) {
  auto rec = std::make_shared<Recording>();
  ExportPipeline p(Exporters({rec}), Options(4, 100));
  EXPECT_EQ(p.options().max_export_batch_size, 4u);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(p.Push(NumberedSpan(i)));
  EXPECT_TRUE(rec->WaitForSpans(4, 5s));  // a full queue is a full batch
}

}  // namespace
}  // namespace sonde
