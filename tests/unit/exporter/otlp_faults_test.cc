// OTLP exporters under collector faults, for both transports: receiver down
// at start, stopped for a while under steady traffic, answering slowly,
// answering with retryable and final errors. Each test asserts exactly
// which spans arrived and that the drop counters equal what was lost.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "exporter/export_pipeline.h"
#include "exporter/otlp_exporter.h"
#include "otlp_test_util.h"

namespace sonde {
namespace {

using namespace std::chrono_literals;
using test::AnyReceiver;
using test::MakeReceiver;
using test::NameCounts;
using test::Numbered;
using Clock = std::chrono::steady_clock;

ExportPipelineOptions FastBatches(size_t queue = 2048, size_t batch = 10) {
  ExportPipelineOptions o;
  o.max_queue_size = queue;
  o.max_export_batch_size = batch;
  o.schedule_delay = 50ms;
  o.export_timeout = 10s;
  return o;
}

struct Pipeline {
  OtlpSpanExporter* exporter = nullptr;  // owned by the pipeline
  std::unique_ptr<ExportPipeline> pipeline;
};

Pipeline MakePipeline(const OtlpExporterOptions& o, ExportPipelineOptions po = FastBatches()) {
  Pipeline p;
  auto e = std::make_unique<OtlpSpanExporter>(o);
  p.exporter = e.get();
  std::vector<std::unique_ptr<SpanExporter>> v;
  v.push_back(std::move(e));
  p.pipeline = std::make_unique<ExportPipeline>(std::move(v), po);
  return p;
}

// Every name in [0, n) exactly once, and nothing else.
void ExpectExactlyOnce(const std::vector<testing::ReceivedSpan>& spans, uint32_t n) {
  auto counts = NameCounts(spans);
  EXPECT_EQ(counts.size(), n);
  EXPECT_EQ(spans.size(), n) << "duplicates arrived";
  for (uint32_t i = 0; i < n; ++i) EXPECT_EQ(counts["span-" + std::to_string(i)], 1) << "span-" << i;
}

class OtlpFaults : public ::testing::TestWithParam<OtlpProtocol> {};

TEST_P(OtlpFaults, ReceiverDownAtStartLosesNothingOnceItComesUp) {
  const int port = test::ClosedPort();
  // Options before the receiver exists: it will come up on this port.
  auto probe = MakeReceiver(GetParam());
  OtlpExporterOptions o = probe->Options(OtlpSignal::kTraces);
  probe.reset();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  o.endpoint = GetParam() == OtlpProtocol::kGrpc ? base : base + "/v1/traces";
  Pipeline p = MakePipeline(o);
  for (uint32_t i = 0; i < 30; ++i) ASSERT_TRUE(p.pipeline->Push(Numbered(i)));
  std::this_thread::sleep_for(1500ms);
  EXPECT_GT(p.exporter->stats().attempts, 0u);
  EXPECT_EQ(p.exporter->stats().requests_accepted, 0u);

  auto receiver = MakeReceiver(GetParam(), port);
  ASSERT_TRUE(receiver->WaitForSpans(30, 20s));
  ASSERT_TRUE(p.pipeline->Flush(20s));
  ExpectExactlyOnce(receiver->Spans(), 30);
  ExportPipelineStats s = p.pipeline->stats();
  EXPECT_EQ(s.exported, 30u);
  EXPECT_EQ(s.dropped_queue_full + s.export_failed_spans + s.dropped_shutdown, 0u);
  EXPECT_GT(p.exporter->stats().retries, 0u);
  EXPECT_EQ(p.exporter->stats().items_failed, 0u);
}

TEST_P(OtlpFaults, ReceiverStoppedForAWhileUnderSteadyTrafficLosesNothing) {
  auto receiver = MakeReceiver(GetParam());
  Pipeline p = MakePipeline(receiver->Options(OtlpSignal::kTraces));
  constexpr uint32_t kSpans = 300;
  std::atomic<uint32_t> accepted{0};
  std::thread traffic([&] {
    for (uint32_t i = 0; i < kSpans; ++i) {
      if (p.pipeline->Push(Numbered(i))) accepted.fetch_add(1);
      std::this_thread::sleep_for(10ms);  // ~3 s of traffic
    }
  });
  std::this_thread::sleep_for(700ms);
  receiver->Stop();
  std::this_thread::sleep_for(1500ms);
  receiver->Start();
  traffic.join();
  EXPECT_EQ(accepted.load(), kSpans);  // the queue never filled: retrying did not block Push
  ASSERT_TRUE(receiver->WaitForSpans(kSpans, 20s));
  ASSERT_TRUE(p.pipeline->Flush(20s));
  ExpectExactlyOnce(receiver->Spans(), kSpans);
  ExportPipelineStats s = p.pipeline->stats();
  EXPECT_EQ(s.exported, kSpans);
  EXPECT_EQ(s.dropped_queue_full + s.export_failed_spans + s.dropped_shutdown, 0u);
}

TEST_P(OtlpFaults, SlowAnswersTimeOutAndAreRetried) {
  auto receiver = MakeReceiver(GetParam());
  OtlpExporterOptions o = receiver->Options(OtlpSignal::kTraces);
  o.timeout = 300ms;
  receiver->SlowNext(2, 3s);
  OtlpSpanExporter e(o);
  std::vector<Span> batch;
  for (uint32_t i = 0; i < 5; ++i) batch.push_back(Numbered(i));
  auto start = Clock::now();
  EXPECT_TRUE(e.Export(batch));
  EXPECT_LT(Clock::now() - start, 3s);  // did not wait for the slow answers
  EXPECT_EQ(e.stats().attempts, 3u);
  EXPECT_EQ(e.stats().retries, 2u);
  ExpectExactlyOnce(receiver->Spans(), 5);
}

TEST_P(OtlpFaults, RetryableAnswersAreRetriedUntilAccepted) {
  auto receiver = MakeReceiver(GetParam());
  receiver->FailNext(3);
  OtlpSpanExporter e(receiver->Options(OtlpSignal::kTraces));
  EXPECT_TRUE(e.Export({Numbered(0), Numbered(1)}));
  EXPECT_EQ(receiver->Calls(), 4u);
  EXPECT_EQ(e.stats().retries, 3u);
  ExpectExactlyOnce(receiver->Spans(), 2);
}

TEST_P(OtlpFaults, QueueOverflowDuringAnOutageDropsTheNewestAndCountsThemExactly) {
  auto receiver = MakeReceiver(GetParam());
  receiver->Stop();
  Pipeline p = MakePipeline(receiver->Options(OtlpSignal::kTraces), FastBatches(/*queue=*/50, /*batch=*/10));
  std::set<std::string> accepted;
  constexpr uint32_t kSpans = 200;
  for (uint32_t i = 0; i < kSpans; ++i)
    if (p.pipeline->Push(Numbered(i))) accepted.insert("span-" + std::to_string(i));
  // At most one batch in the exporter's hands plus a full queue.
  EXPECT_GE(accepted.size(), 50u);
  EXPECT_LE(accepted.size(), 60u);
  EXPECT_EQ(p.pipeline->dropped_queue_full(), kSpans - accepted.size());
  receiver->Start();
  ASSERT_TRUE(p.pipeline->Flush(30s));
  auto counts = NameCounts(receiver->Spans());
  std::set<std::string> received;
  for (const auto& [name, n] : counts) {
    received.insert(name);
    EXPECT_EQ(n, 1) << name;
  }
  EXPECT_EQ(received, accepted);  // exactly the accepted spans, each once
  ExportPipelineStats s = p.pipeline->stats();
  EXPECT_EQ(s.exported, accepted.size());
  EXPECT_EQ(s.dropped_queue_full, kSpans - accepted.size());
  EXPECT_EQ(s.export_failed_spans + s.dropped_shutdown, 0u);
}

TEST_P(OtlpFaults, ShutdownDuringAnOutageAbortsTheRetryingAndCountsEverySpan) {
  auto receiver = MakeReceiver(GetParam());
  receiver->Stop();
  ExportPipelineOptions po = FastBatches(100, 10);
  po.export_timeout = 500ms;
  Pipeline p = MakePipeline(receiver->Options(OtlpSignal::kTraces), po);
  for (uint32_t i = 0; i < 25; ++i) ASSERT_TRUE(p.pipeline->Push(Numbered(i)));
  std::this_thread::sleep_for(300ms);
  auto start = Clock::now();
  p.pipeline->Shutdown();
  EXPECT_LT(Clock::now() - start, 5s);
  ExportPipelineStats s = p.pipeline->stats();
  EXPECT_EQ(s.exported, 0u);
  EXPECT_EQ(s.export_failed_spans + s.dropped_shutdown, 25u);
  OtlpExportStats es = p.exporter->stats();
  EXPECT_GE(es.failed_aborted, 1u);
  EXPECT_EQ(es.items_failed, s.export_failed_spans);
}

INSTANTIATE_TEST_SUITE_P(BothProtocols, OtlpFaults,
                         ::testing::Values(OtlpProtocol::kGrpc, OtlpProtocol::kHttpProtobuf),
                         [](const auto& info) { return test::ProtocolName(info.param); });

// Protocol-specific answers.

TEST(OtlpGrpcFaults, ResourceExhaustedIsFinalWithoutRetryInfo) {
  test::GrpcReceiver receiver;
  receiver.r.PushReply({8, "quota", std::nullopt, 0ms});
  OtlpSpanExporter e(receiver.Options(OtlpSignal::kTraces));
  EXPECT_FALSE(e.Export({Numbered(0)}));
  EXPECT_EQ(receiver.r.ExportCalls(), 1u);
  EXPECT_EQ(e.stats().failed_non_retryable, 1u);
  EXPECT_EQ(e.stats().items_failed, 1u);
  EXPECT_TRUE(receiver.Spans().empty());
}

TEST(OtlpGrpcFaults, ResourceExhaustedWithRetryInfoWaitsTheGivenDelay) {
  test::GrpcReceiver receiver;
  receiver.r.PushReply({8, "slow down", 700ms, 0ms});
  OtlpSpanExporter e(receiver.Options(OtlpSignal::kTraces));
  auto start = Clock::now();
  EXPECT_TRUE(e.Export({Numbered(0)}));
  EXPECT_GE(Clock::now() - start, 650ms);  // the backoff alone would be ~50 ms
  EXPECT_EQ(receiver.r.ExportCalls(), 2u);
  ExpectExactlyOnce(receiver.Spans(), 1);
}

TEST(OtlpGrpcFaults, InvalidArgumentIsDroppedAndCounted) {
  test::GrpcReceiver receiver;
  receiver.r.PushReply({3, "bad data", std::nullopt, 0ms});
  OtlpSpanExporter e(receiver.Options(OtlpSignal::kTraces));
  EXPECT_FALSE(e.Export({Numbered(0), Numbered(1), Numbered(2)}));
  EXPECT_EQ(receiver.r.ExportCalls(), 1u);
  EXPECT_EQ(e.stats().failed_non_retryable, 1u);
  EXPECT_EQ(e.stats().items_failed, 3u);
}

TEST(OtlpHttpFaults, ServiceUnavailableWithRetryAfterWaitsTheGivenSeconds) {
  test::HttpReceiver receiver;
  receiver.r.PushReply({503, "1", 0ms, ""});
  OtlpSpanExporter e(receiver.Options(OtlpSignal::kTraces));
  auto start = Clock::now();
  EXPECT_TRUE(e.Export({Numbered(0)}));
  EXPECT_GE(Clock::now() - start, 950ms);
  auto reqs = receiver.r.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].answered, 503);
  EXPECT_EQ(reqs[1].answered, 200);
  ExpectExactlyOnce(receiver.Spans(), 1);
}

TEST(OtlpHttpFaults, TooManyRequestsWithAnHttpDateIsHonoured) {
  test::HttpReceiver receiver;
  // A date two seconds ahead; whole seconds, so the wait is 1-2 s.
  time_t at = time(nullptr) + 2;
  char date[64];
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&at));
  receiver.r.PushReply({429, date, 0ms, ""});
  OtlpSpanExporter e(receiver.Options(OtlpSignal::kTraces));
  auto start = Clock::now();
  EXPECT_TRUE(e.Export({Numbered(0)}));
  EXPECT_GE(Clock::now() - start, 900ms);
  EXPECT_EQ(receiver.r.RequestCount(), 2u);
}

TEST(OtlpHttpFaults, BadRequestIsDroppedAndCounted) {
  test::HttpReceiver receiver;
  receiver.r.PushReply({400, "", 0ms, ""});
  OtlpSpanExporter e(receiver.Options(OtlpSignal::kTraces));
  EXPECT_FALSE(e.Export({Numbered(0), Numbered(1)}));
  EXPECT_EQ(receiver.r.RequestCount(), 1u);
  EXPECT_EQ(e.stats().failed_non_retryable, 1u);
  EXPECT_EQ(e.stats().items_failed, 2u);
  // The next batch goes through.
  EXPECT_TRUE(e.Export({Numbered(2)}));
  EXPECT_EQ(NameCounts(receiver.Spans()), (std::map<std::string, int>{{"span-2", 1}}));
}

TEST(OtlpHttpFaults, OtherServerErrorsAreFinal) {
  test::HttpReceiver receiver;
  receiver.r.PushReply({500, "", 0ms, ""});
  OtlpSpanExporter e(receiver.Options(OtlpSignal::kTraces));
  EXPECT_FALSE(e.Export({Numbered(0)}));
  EXPECT_EQ(receiver.r.RequestCount(), 1u);
}

}  // namespace
}  // namespace sonde
