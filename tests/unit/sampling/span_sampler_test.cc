// SpanSampler: one decision per trace, keep-rules at span end, the bounded
// hold buffer and decision memory. Time is passed in; nothing sleeps.
#include "sampling/span_sampler.h"

#include <gtest/gtest.h>

namespace sonde {
namespace {

using PK = SamplingParent::Kind;
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;

TraceId Trace(uint8_t n) {
  TraceId id{};
  id[0] = 1;
  id[15] = n;
  return id;
}

Span MakeSpan(uint8_t trace, uint8_t span_no, uint64_t duration_ns = kMs, bool error = false) {
  Span s;
  s.trace_id = Trace(trace);
  s.span_id[7] = span_no;
  s.name = "span" + std::to_string(span_no);
  s.start_unix_ns = 1000 * kSec;
  s.end_unix_ns = s.start_unix_ns + duration_ns;
  if (error) s.status = StatusCode::kError;
  return s;
}

std::string KeptBy(const Span& s) {
  const AttrValue* v = FindAttr(s.attributes, std::string(kKeptByAttribute));
  return v ? std::get<std::string>(*v) : "";
}

std::vector<uint8_t> SpanNumbers(const std::vector<Span>& spans) {
  std::vector<uint8_t> out;
  for (const Span& s : spans) out.push_back(s.span_id[7]);
  return out;
}

SamplingOptions Opts(SamplerKind kind, bool keep_errors = true, uint64_t slower_than = 0) {
  SamplingOptions o;
  o.sampler.kind = kind;
  o.keep_errors = keep_errors;
  o.keep_slower_than_ns = slower_than;
  return o;
}

TEST(SpanSampler, AlwaysOnExportsEverySpanUntouched) {
  SpanSampler s(Opts(SamplerKind::kAlwaysOn));
  std::vector<Span> out;
  s.Offer(MakeSpan(1, 1), {}, 0, &out);
  s.Offer(MakeSpan(2, 2, kMs, true), {PK::kRemote, false}, 0, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(KeptBy(out[0]), "");
  EXPECT_EQ(KeptBy(out[1]), "");
  EXPECT_EQ(s.stats().sampled, 2u);
  EXPECT_EQ(s.stats().traces, 0u);  // nothing to remember
}

TEST(SpanSampler, WithoutKeepRulesUnsampledSpansAreDroppedAtOnce) {
  SpanSampler s(Opts(SamplerKind::kAlwaysOff, /*keep_errors=*/false));
  std::vector<Span> out;
  s.Offer(MakeSpan(1, 1, kMs, true), {}, 0, &out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(s.stats().dropped_not_sampled, 1u);
  EXPECT_EQ(s.stats().held, 0u);
}

TEST(SpanSampler, RemoteParentNotSampledIsDroppedUnderParentBased) {
  for (SamplerKind k : {SamplerKind::kParentBasedAlwaysOn, SamplerKind::kParentBasedTraceIdRatio}) {
    SamplingOptions o = Opts(k, false);
    o.sampler.ratio = 1.0;
    SpanSampler s(o);
    std::vector<Span> out;
    s.Offer(MakeSpan(1, 1), {PK::kRemote, false}, 0, &out);
    s.Offer(MakeSpan(2, 2), {PK::kRemote, true}, 0, &out);
    s.Offer(MakeSpan(3, 3), {}, 0, &out);
    EXPECT_EQ(SpanNumbers(out), (std::vector<uint8_t>{2, 3})) << SamplerName(k);
  }
}

TEST(SpanSampler, OneDecisionPerTrace) {
  SpanSampler s(Opts(SamplerKind::kParentBasedAlwaysOn, false));
  std::vector<Span> out;
  // Trace 1 came in with sampled=0: its later spans (whatever their parent) follow.
  s.Offer(MakeSpan(1, 1), {PK::kRemote, false}, 0, &out);
  s.Offer(MakeSpan(1, 2), {PK::kLocal, std::nullopt}, 0, &out);
  s.Offer(MakeSpan(1, 3), {PK::kNone, {}}, 0, &out);
  // Trace 2 was sampled first: a later span saying otherwise is still exported.
  s.Offer(MakeSpan(2, 4), {PK::kRemote, true}, 0, &out);
  s.Offer(MakeSpan(2, 5), {PK::kRemote, false}, 0, &out);
  EXPECT_EQ(SpanNumbers(out), (std::vector<uint8_t>{4, 5}));
  EXPECT_EQ(s.stats().traces, 2u);
}

TEST(SpanSampler, ErrorKeepsTheWholeTrace) {
  SpanSampler s(Opts(SamplerKind::kAlwaysOff));  // keep_errors defaults to true
  std::vector<Span> out;
  s.Offer(MakeSpan(1, 1), {}, 0, &out);
  s.Offer(MakeSpan(2, 2), {}, 1 * kMs, &out);  // another trace, never kept
  s.Offer(MakeSpan(1, 3), {}, 2 * kMs, &out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(s.stats().held, 3u);

  s.Offer(MakeSpan(1, 4, kMs, /*error=*/true), {}, 3 * kMs, &out);
  // The held spans of trace 1, oldest first, then the error span.
  ASSERT_EQ(SpanNumbers(out), (std::vector<uint8_t>{1, 3, 4}));
  for (const Span& sp : out) EXPECT_EQ(KeptBy(sp), "error");
  out.clear();

  // Every later span of the trace follows, even after the window.
  s.Expire(10 * kSec);
  s.Offer(MakeSpan(1, 5), {}, 10 * kSec, &out);
  ASSERT_EQ(SpanNumbers(out), (std::vector<uint8_t>{5}));
  EXPECT_EQ(KeptBy(out[0]), "error");

  SamplingStats st = s.stats();
  EXPECT_EQ(st.kept_error, 4u);
  EXPECT_EQ(st.kept_latency, 0u);
  EXPECT_EQ(st.dropped_not_sampled, 1u);  // trace 2's span, at the end of its window
  EXPECT_EQ(st.held, 0u);
}

TEST(SpanSampler, SlowSpanKeepsTheTrace) {
  SpanSampler s(Opts(SamplerKind::kAlwaysOff, false, 500 * kMs));
  std::vector<Span> out;
  s.Offer(MakeSpan(1, 1, 20 * kMs), {}, 0, &out);
  s.Offer(MakeSpan(1, 2, 500 * kMs), {}, 0, &out);  // not slower than 500ms
  EXPECT_TRUE(out.empty());
  s.Offer(MakeSpan(1, 3, 501 * kMs), {}, 0, &out);
  ASSERT_EQ(SpanNumbers(out), (std::vector<uint8_t>{1, 2, 3}));
  for (const Span& sp : out) EXPECT_EQ(KeptBy(sp), "latency");
  EXPECT_EQ(s.stats().kept_latency, 3u);
  // Errors keep nothing when keep_errors is off.
  s.Offer(MakeSpan(2, 4, kMs, true), {}, 0, &out);
  EXPECT_EQ(out.size(), 3u);
}

TEST(SpanSampler, ErrorWinsOverLatencyAsTheReason) {
  SpanSampler s(Opts(SamplerKind::kAlwaysOff, true, 100 * kMs));
  std::vector<Span> out;
  s.Offer(MakeSpan(1, 1, 200 * kMs, true), {}, 0, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(KeptBy(out[0]), "error");
}

TEST(SpanSampler, TraceWithoutErrorOrSlowSpanIsDroppedAfterTheWindow) {
  SamplingOptions o = Opts(SamplerKind::kAlwaysOff, true, 500 * kMs);
  o.hold_window_ns = 5 * kSec;
  SpanSampler s(o);
  std::vector<Span> out;
  s.Offer(MakeSpan(1, 1), {}, 0, &out);
  s.Offer(MakeSpan(1, 2), {}, 2 * kSec, &out);
  s.Expire(5 * kSec - 1);
  EXPECT_EQ(s.stats().held, 2u);
  s.Expire(5 * kSec);  // the first span's window is over
  EXPECT_EQ(s.stats().held, 1u);
  // An error now rescues only what is still held.
  s.Offer(MakeSpan(1, 3, kMs, true), {}, 6 * kSec, &out);
  EXPECT_EQ(SpanNumbers(out), (std::vector<uint8_t>{2, 3}));
  EXPECT_EQ(s.stats().dropped_not_sampled, 1u);
}

TEST(SpanSampler, HeadSampledTracesNeedNoKeepRule) {
  SamplingOptions o = Opts(SamplerKind::kTraceIdRatio, true);
  o.sampler.ratio = 0.5;
  SpanSampler s(o);
  TraceId id = Trace(1);
  id[9] = 0xff;  // randomness near 2^56: sampled at 0.5
  Span a = MakeSpan(1, 1, kMs, true);
  a.trace_id = id;
  std::vector<Span> out;
  s.Offer(a, {}, 0, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(KeptBy(out[0]), "");
  EXPECT_EQ(s.stats().sampled, 1u);
}

TEST(SpanSampler, HoldBufferIsBoundedAndCountsWhatItPushesOut) {
  SamplingOptions o = Opts(SamplerKind::kAlwaysOff);
  o.hold_max_spans = 3;
  SpanSampler s(o);
  std::vector<Span> out;
  for (uint8_t i = 1; i <= 5; ++i) s.Offer(MakeSpan(i, i), {}, i * kMs, &out);
  SamplingStats st = s.stats();
  EXPECT_EQ(st.held, 3u);
  EXPECT_EQ(st.dropped_buffer_full, 2u);
  // Trace 1's span was the oldest, pushed out: its error span goes alone.
  s.Offer(MakeSpan(1, 9, kMs, true), {}, 10 * kMs, &out);
  EXPECT_EQ(SpanNumbers(out), (std::vector<uint8_t>{9}));
  // Trace 5's span is still held.
  s.Offer(MakeSpan(5, 10, kMs, true), {}, 11 * kMs, &out);
  EXPECT_EQ(SpanNumbers(out), (std::vector<uint8_t>{9, 5, 10}));
  EXPECT_EQ(s.stats().held, 2u);
}

TEST(SpanSampler, ZeroWindowOrCapacityHoldsNothing) {
  SamplingOptions o = Opts(SamplerKind::kAlwaysOff);
  o.hold_window_ns = 0;
  SpanSampler s(o);
  std::vector<Span> out;
  s.Offer(MakeSpan(1, 1), {}, 0, &out);
  s.Offer(MakeSpan(1, 2, kMs, true), {}, 0, &out);
  EXPECT_EQ(SpanNumbers(out), (std::vector<uint8_t>{2}));
  EXPECT_EQ(s.stats().dropped_not_sampled, 1u);
}

TEST(SpanSampler, DropHeldEmptiesTheBuffer) {
  SpanSampler s(Opts(SamplerKind::kAlwaysOff));
  std::vector<Span> out;
  s.Offer(MakeSpan(1, 1), {}, 0, &out);
  s.Offer(MakeSpan(2, 2), {}, 0, &out);
  s.DropHeld();
  EXPECT_EQ(s.stats().held, 0u);
  EXPECT_EQ(s.stats().dropped_not_sampled, 2u);
}

TEST(SpanSampler, DecisionsAreBoundedAndForgotten) {
  SamplingOptions o = Opts(SamplerKind::kAlwaysOff, false);
  o.max_traces = 3;
  o.decision_ttl_ns = 10 * kSec;
  SpanSampler s(o);
  std::vector<Span> out;
  for (uint8_t i = 1; i <= 5; ++i) s.Offer(MakeSpan(i, i), {}, 0, &out);
  EXPECT_EQ(s.stats().traces, 3u);
  s.Offer(MakeSpan(5, 6), {}, 9 * kSec, &out);  // trace 5 used again
  s.Expire(10 * kSec);
  EXPECT_EQ(s.stats().traces, 1u);  // only trace 5 was used within the ttl
  s.Expire(30 * kSec);
  EXPECT_EQ(s.stats().traces, 0u);
}

TEST(SpanSampler, KeptDecisionOutlivesManyHoldAndReleaseCycles) {
  // Many traces held then released: the buffer's bookkeeping stays bounded
  // and consistent (released slots are compacted away).
  SamplingOptions o = Opts(SamplerKind::kAlwaysOff);
  o.hold_max_spans = 100;
  SpanSampler s(o);
  std::vector<Span> out;
  uint64_t kept = 0;
  for (int round = 0; round < 50; ++round) {
    for (uint8_t t = 1; t <= 60; ++t) {
      Span a = MakeSpan(t, 1), b = MakeSpan(t, 2, kMs, true);
      a.trace_id[1] = b.trace_id[1] = static_cast<uint8_t>(round);
      s.Offer(a, {}, round * kMs, &out);
      s.Offer(b, {}, round * kMs, &out);
      kept += 2;
    }
  }
  EXPECT_EQ(out.size(), kept);
  EXPECT_EQ(s.stats().held, 0u);
  EXPECT_EQ(s.stats().dropped_buffer_full, 0u);
}

TEST(TraceBuffer, ReleaseReturnsOneTraceOldestFirst) {
  TraceBuffer b(kSec, 10);
  b.Hold(MakeSpan(1, 1), 0);
  b.Hold(MakeSpan(2, 2), 0);
  b.Hold(MakeSpan(1, 3), 0);
  std::vector<Span> out;
  EXPECT_EQ(b.Release(Trace(1), &out), 2u);
  EXPECT_EQ(SpanNumbers(out), (std::vector<uint8_t>{1, 3}));
  EXPECT_EQ(b.Release(Trace(1), &out), 0u);
  EXPECT_EQ(b.size(), 1u);
  EXPECT_EQ(b.Expire(kSec), 1u);
  EXPECT_EQ(b.size(), 0u);
}

TEST(Duration, ParsesUnitsAndRefusesBareNumbers) {
  uint64_t ns = 0;
  EXPECT_EQ(ParseDuration("500ms", &ns), "");
  EXPECT_EQ(ns, 500 * kMs);
  EXPECT_EQ(ParseDuration("1.5s", &ns), "");
  EXPECT_EQ(ns, 1500 * kMs);
  EXPECT_EQ(ParseDuration("250us", &ns), "");
  EXPECT_EQ(ns, 250'000u);
  EXPECT_EQ(ParseDuration("2m", &ns), "");
  EXPECT_EQ(ns, 120 * kSec);
  EXPECT_NE(ParseDuration("500", &ns).find("needs a unit"), std::string::npos);
  EXPECT_NE(ParseDuration("5 parsecs", &ns), "");
  EXPECT_NE(ParseDuration("fast", &ns), "");
  EXPECT_NE(ParseDuration("-1s", &ns), "");
  EXPECT_NE(ParseDuration("", &ns), "");
}

}  // namespace
}  // namespace sonde
