// The collector outage of the issue, for real: steady traffic, the collector
// stopped for 60 s, then back. Pushing never blocks or fails (the queue holds
// the outage's spans), and once the collector is back every span arrives
// exactly once. The short outages of both transports are in
// otlp_faults_test; this is the one long test.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "exporter/export_pipeline.h"
#include "exporter/otlp_exporter.h"
#include "otlp_test_util.h"

namespace sonde {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(OtlpOutage, SixtySecondCollectorOutageUnderSteadyTrafficLosesNothing) {
  test::GrpcReceiver receiver;
  OtlpExporterOptions o = receiver.Options(OtlpSignal::kTraces);
  o.retry.initial_backoff = 1s;  // the production schedule: 1, 2, 4, 5, 5... s
  o.retry.max_backoff = 5s;
  o.retry.max_elapsed = 300s;
  auto exporter = std::make_unique<OtlpSpanExporter>(o);
  OtlpSpanExporter* e = exporter.get();
  std::vector<std::unique_ptr<SpanExporter>> v;
  v.push_back(std::move(exporter));
  ExportPipelineOptions po;
  po.max_queue_size = 4096;
  po.max_export_batch_size = 256;
  po.schedule_delay = 200ms;
  ExportPipeline pipeline(std::move(v), po);

  constexpr auto kBefore = 3s;
  constexpr auto kOutage = 60s;
  constexpr auto kAfter = 3s;
  std::atomic<bool> stop{false};
  std::atomic<uint32_t> pushed{0};
  std::atomic<uint32_t> refused{0};
  std::atomic<int64_t> slowest_push_us{0};
  std::atomic<size_t> deepest_queue{0};
  std::thread traffic([&] {  // stands in for the hot thread: ~50 spans/s
    for (uint32_t i = 0; !stop.load(); ++i) {
      auto t0 = Clock::now();
      bool ok = pipeline.Push(test::Numbered(i));
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
      if (us > slowest_push_us.load()) slowest_push_us.store(us);
      (ok ? pushed : refused).fetch_add(1);
      deepest_queue.store(std::max(deepest_queue.load(), pipeline.queue_size()));
      std::this_thread::sleep_for(20ms);
    }
  });

  std::this_thread::sleep_for(kBefore);
  const size_t before_outage = receiver.Spans().size();
  receiver.Stop();
  std::this_thread::sleep_for(kOutage);
  const uint64_t attempts_during_outage = e->stats().attempts;
  EXPECT_EQ(receiver.Spans().size(), before_outage);
  receiver.Start();
  std::this_thread::sleep_for(kAfter);
  stop.store(true);
  traffic.join();

  const uint32_t n = pushed.load();
  EXPECT_EQ(refused.load(), 0u);
  EXPECT_GT(n, 2500u);
  EXPECT_GT(deepest_queue.load(), 2000u);  // the outage's spans waited in the queue
  EXPECT_LT(slowest_push_us.load(), 50000);  // Push never waited on the exporter
  ASSERT_TRUE(receiver.WaitForSpans(n, 60s)) << receiver.Spans().size() << " of " << n;
  ASSERT_TRUE(pipeline.Flush(30s));

  auto counts = test::NameCounts(receiver.Spans());
  EXPECT_EQ(counts.size(), n);
  EXPECT_EQ(receiver.Spans().size(), n) << "duplicates arrived";
  for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(counts["span-" + std::to_string(i)], 1) << "span-" << i;
  ExportPipelineStats s = pipeline.stats();
  EXPECT_EQ(s.queued, n);
  EXPECT_EQ(s.exported, n);
  EXPECT_EQ(s.dropped_queue_full + s.export_failed_spans + s.dropped_shutdown, 0u);
  OtlpExportStats es = e->stats();
  EXPECT_GT(attempts_during_outage, 8u);   // kept trying, with backoff
  EXPECT_LT(attempts_during_outage, 60u);  // ... but not in a tight loop
  EXPECT_EQ(es.items_failed, 0u);
  EXPECT_EQ(es.items_exported, n);
}

}  // namespace
}  // namespace sonde
