// The retry rules of the OTLP spec: which answers are retryable, how long to
// wait (backoff with jitter, Retry-After, RetryInfo) and the retry loop's
// accounting, driven by a scripted transport.
#include "exporter/retry.h"

#include <gtest/gtest.h>

#include <deque>
#include <thread>

#include "exporter/otlp_exporter.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "test_spans.h"

namespace sonde {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

TEST(Retry, RetryableGrpcCodesFollowTheSpec) {
  for (int code : {1, 4, 10, 11, 14, 15}) EXPECT_TRUE(IsRetryableGrpcCode(code, false)) << code;
  for (int code : {0, 2, 3, 5, 6, 7, 9, 12, 13, 16}) EXPECT_FALSE(IsRetryableGrpcCode(code, false)) << code;
  // RESOURCE_EXHAUSTED only when the server says when to come back.
  EXPECT_FALSE(IsRetryableGrpcCode(8, false));
  EXPECT_TRUE(IsRetryableGrpcCode(8, true));
}

TEST(Retry, RetryableHttpStatusesFollowTheSpec) {
  for (long s : {429, 502, 503, 504}) EXPECT_TRUE(IsRetryableHttpStatus(s)) << s;
  for (long s : {400, 401, 403, 404, 405, 413, 500, 501}) EXPECT_FALSE(IsRetryableHttpStatus(s)) << s;
}

TEST(Retry, RetryAfterSecondsAndHttpDates) {
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(ParseRetryAfter("120", now), milliseconds(120000));
  EXPECT_EQ(ParseRetryAfter(" 0 \r\n", now), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT", now), milliseconds(10000));
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:50:37 GMT", now), milliseconds(60000));
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:39 1994", now), milliseconds(2000));
  EXPECT_EQ(ParseRetryAfter("Sat, 05 Nov 1994 08:49:37 GMT", now), milliseconds(0));  // in the past
  EXPECT_FALSE(ParseRetryAfter("soon", now));
  EXPECT_FALSE(ParseRetryAfter("-5", now));
  EXPECT_FALSE(ParseRetryAfter("", now));
}

TEST(Retry, RetryInfoIsFoundAmongTheStatusDetails) {
  google::rpc::RetryInfo info;
  info.mutable_retry_delay()->set_seconds(2);
  info.mutable_retry_delay()->set_nanos(500000000);
  google::rpc::Status st;
  st.set_code(8);
  auto* other = st.add_details();
  other->set_type_url("type.googleapis.com/google.rpc.DebugInfo");
  other->set_value("xyz");
  auto* any = st.add_details();
  any->set_type_url("type.googleapis.com/google.rpc.RetryInfo");
  any->set_value(info.SerializeAsString());
  EXPECT_EQ(RetryInfoDelay(st.SerializeAsString()), milliseconds(2500));

  google::rpc::Status none;
  none.set_code(8);
  EXPECT_FALSE(RetryInfoDelay(none.SerializeAsString()));
  EXPECT_FALSE(RetryInfoDelay(""));
  EXPECT_FALSE(RetryInfoDelay("\xff\xff garbage"));
}

TEST(Retry, BackoffGrowsExponentiallyWithJitterUpToTheCap) {
  RetryOptions o;
  o.initial_backoff = 100ms;
  o.max_backoff = 1000ms;
  o.multiplier = 2;
  o.jitter = 0.2;
  Backoff b(o, 42);
  const double expected[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (double e : expected) {
    auto d = b.Next().count();
    EXPECT_GE(d, e * 0.8 - 1);
    EXPECT_LE(d, e * 1.2 + 1);
  }
  // Jitter actually varies the delays.
  Backoff b1(o, 1), b2(o, 2);
  bool differ = false;
  for (int i = 0; i < 5; ++i) differ |= b1.Next() != b2.Next();
  EXPECT_TRUE(differ);
  b.Reset();
  EXPECT_LE(b.Next().count(), 121);
}

TEST(Retry, AbortCutsASleepShort) {
  AbortSignal a;
  std::thread t([&] {
    std::this_thread::sleep_for(50ms);
    a.Abort();
  });
  auto start = Clock::now();
  EXPECT_FALSE(a.SleepFor(10s));
  EXPECT_LT(Clock::now() - start, 5s);
  t.join();
  EXPECT_TRUE(a.aborted());
  EXPECT_FALSE(a.SleepFor(10s));
}

// A transport answering from a script.
class ScriptedTransport : public OtlpTransport {
 public:
  explicit ScriptedTransport(std::deque<SendResult> script) : script_(std::move(script)) {}
  SendResult ExportTraces(const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest&) override {
    return Next();
  }
  SendResult ExportMetrics(const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest&) override {
    return Next();
  }
  void Abort() override {}
  std::string Describe() const override { return "scripted"; }
  int calls() const { return calls_; }
  std::vector<Clock::time_point> times;

 private:
  SendResult Next() {
    ++calls_;
    times.push_back(Clock::now());
    if (script_.empty()) return {SendOutcome::kSuccess, std::nullopt, "", 0, ""};
    SendResult r = script_.front();
    script_.pop_front();
    return r;
  }
  std::deque<SendResult> script_;
  int calls_ = 0;
};

SendResult Retryable(std::optional<milliseconds> after = std::nullopt) {
  return {SendOutcome::kRetryable, after, "unavailable", 0, ""};
}
SendResult Final() { return {SendOutcome::kFailed, std::nullopt, "bad request", 0, ""}; }

RetryOptions Fast() {
  RetryOptions o;
  o.initial_backoff = 10ms;
  o.max_backoff = 40ms;
  o.max_elapsed = 5s;
  return o;
}

std::vector<Span> Batch(int n) {
  std::vector<Span> b;
  for (int i = 0; i < n; ++i) b.push_back(test::NumberedSpan(i));
  return b;
}

TEST(RetryLoop, RetriesUntilSuccessAndCountsEverything) {
  auto t = std::make_unique<ScriptedTransport>(std::deque<SendResult>{Retryable(), Retryable(), Retryable()});
  ScriptedTransport* raw = t.get();
  OtlpSpanExporter e(std::move(t), Fast());
  EXPECT_TRUE(e.Export(Batch(7)));
  EXPECT_EQ(raw->calls(), 4);
  OtlpExportStats s = e.stats();
  EXPECT_EQ(s.attempts, 4u);
  EXPECT_EQ(s.retries, 3u);
  EXPECT_EQ(s.requests_accepted, 1u);
  EXPECT_EQ(s.items_exported, 7u);
  EXPECT_EQ(s.items_failed, 0u);
}

TEST(RetryLoop, FinalAnswerDropsAtOnce) {
  auto t = std::make_unique<ScriptedTransport>(std::deque<SendResult>{Final()});
  ScriptedTransport* raw = t.get();
  OtlpSpanExporter e(std::move(t), Fast());
  EXPECT_FALSE(e.Export(Batch(3)));
  EXPECT_EQ(raw->calls(), 1);
  EXPECT_EQ(e.stats().failed_non_retryable, 1u);
  EXPECT_EQ(e.stats().items_failed, 3u);
  EXPECT_TRUE(e.Export(Batch(2)));  // the next batch is unaffected
  EXPECT_EQ(e.stats().items_exported, 2u);
}

TEST(RetryLoop, ServerDelayWinsOverTheBackoff) {
  auto t = std::make_unique<ScriptedTransport>(std::deque<SendResult>{Retryable(300ms)});
  ScriptedTransport* raw = t.get();
  OtlpSpanExporter e(std::move(t), Fast());
  EXPECT_TRUE(e.Export(Batch(1)));
  ASSERT_EQ(raw->times.size(), 2u);
  EXPECT_GE(raw->times[1] - raw->times[0], 290ms);
}

TEST(RetryLoop, GivesUpWhenTheBudgetRunsOut) {
  std::deque<SendResult> always;
  for (int i = 0; i < 1000; ++i) always.push_back(Retryable());
  auto t = std::make_unique<ScriptedTransport>(always);
  RetryOptions o = Fast();
  o.max_elapsed = 200ms;
  OtlpSpanExporter e(std::move(t), o);
  auto start = Clock::now();
  EXPECT_FALSE(e.Export(Batch(4)));
  EXPECT_LT(Clock::now() - start, 400ms);
  EXPECT_EQ(e.stats().failed_retries_exhausted, 1u);
  EXPECT_EQ(e.stats().items_failed, 4u);
}

TEST(RetryLoop, ServerDelayBeyondTheBudgetGivesUpWithoutWaiting) {
  auto t = std::make_unique<ScriptedTransport>(std::deque<SendResult>{Retryable(60s)});
  RetryOptions o = Fast();
  o.max_elapsed = 1s;
  OtlpSpanExporter e(std::move(t), o);
  auto start = Clock::now();
  EXPECT_FALSE(e.Export(Batch(1)));
  EXPECT_LT(Clock::now() - start, 500ms);
  EXPECT_EQ(e.stats().failed_retries_exhausted, 1u);
}

TEST(RetryLoop, ZeroBudgetMeansOneAttempt) {
  auto t = std::make_unique<ScriptedTransport>(std::deque<SendResult>{Retryable()});
  ScriptedTransport* raw = t.get();
  RetryOptions o = Fast();
  o.max_elapsed = 0ms;
  OtlpSpanExporter e(std::move(t), o);
  EXPECT_FALSE(e.Export(Batch(1)));
  EXPECT_EQ(raw->calls(), 1);
}

TEST(RetryLoop, AbortEndsTheRetryingAndLaterExportsFail) {
  std::deque<SendResult> always;
  for (int i = 0; i < 1000; ++i) always.push_back(Retryable(10s));
  auto t = std::make_unique<ScriptedTransport>(always);
  RetryOptions o = Fast();
  o.max_elapsed = 60s;
  OtlpSpanExporter e(std::move(t), o);
  std::thread aborter([&] {
    std::this_thread::sleep_for(100ms);
    e.Abort();
  });
  auto start = Clock::now();
  EXPECT_FALSE(e.Export(Batch(5)));
  EXPECT_LT(Clock::now() - start, 5s);
  aborter.join();
  EXPECT_EQ(e.stats().failed_aborted, 1u);
  EXPECT_FALSE(e.Export(Batch(1)));
  EXPECT_EQ(e.stats().failed_aborted, 2u);
  EXPECT_EQ(e.stats().items_failed, 6u);
}

TEST(RetryLoop, PartialSuccessIsDeliveredAndCounted) {
  auto t = std::make_unique<ScriptedTransport>(
      std::deque<SendResult>{{SendOutcome::kSuccess, std::nullopt, "", 2, "too big"}});
  OtlpSpanExporter e(std::move(t), Fast());
  EXPECT_TRUE(e.Export(Batch(5)));
  EXPECT_EQ(e.stats().items_exported, 5u);
  EXPECT_EQ(e.stats().items_rejected, 2u);
}

TEST(RetryLoop, NoTransportFailsEveryExport) {
  OtlpSpanExporter e(nullptr, Fast());
  EXPECT_FALSE(e.valid());
  EXPECT_FALSE(e.Export(Batch(2)));
  EXPECT_EQ(e.stats().failed_non_retryable, 1u);
}

}  // namespace
}  // namespace sonde
