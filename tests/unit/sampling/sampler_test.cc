// Head samplers: names and arguments as the SDK environment variables give
// them, the TraceIdRatioBased decision, the ParentBased table, and what a
// span's parent is.
#include "sampling/sampler.h"

#include <gtest/gtest.h>

#include <cmath>

#include "spans/id_generator.h"
#include "spans/trace_context.h"

namespace sonde {
namespace {

using PK = SamplingParent::Kind;

SamplerSpec Spec(SamplerKind k, double ratio = 1.0) { return SamplerSpec{k, ratio}; }

TraceId IdWithRandomness(uint64_t r) {
  TraceId id{};
  id[0] = 0xab;  // the high bytes must not matter
  for (int i = 15; i >= 9; --i, r >>= 8) id[i] = static_cast<uint8_t>(r & 0xff);
  return id;
}

TEST(SamplerNames, EveryStandardNameParsesCaseInsensitively) {
  const std::pair<const char*, SamplerKind> cases[] = {
      {"always_on", SamplerKind::kAlwaysOn},
      {"always_off", SamplerKind::kAlwaysOff},
      {"traceidratio", SamplerKind::kTraceIdRatio},
      {"parentbased_always_on", SamplerKind::kParentBasedAlwaysOn},
      {"parentbased_always_off", SamplerKind::kParentBasedAlwaysOff},
      {"ParentBased_TraceIdRatio", SamplerKind::kParentBasedTraceIdRatio},
  };
  for (const auto& [name, kind] : cases) {
    SamplerKind k = SamplerKind::kAlwaysOn;
    EXPECT_EQ(ParseSamplerName(name, &k), "") << name;
    EXPECT_EQ(k, kind) << name;
  }
  EXPECT_STREQ(SamplerName(SamplerKind::kParentBasedTraceIdRatio), "parentbased_traceidratio");
}

TEST(SamplerNames, UnknownAndUnsupportedNamesAreRefused) {
  SamplerKind k;
  std::string err = ParseSamplerName("sometimes", &k);
  EXPECT_NE(err.find("'sometimes' is not a sampler"), std::string::npos) << err;
  EXPECT_NE(err.find("parentbased_traceidratio"), std::string::npos) << err;
  EXPECT_NE(ParseSamplerName("jaeger_remote", &k).find("not supported"), std::string::npos);
  EXPECT_NE(ParseSamplerName("xray", &k).find("not supported"), std::string::npos);
  EXPECT_NE(ParseSamplerName("", &k), "");
}

TEST(SamplerRatio, ParsesRatiosFromZeroToOne) {
  double r = -1;
  EXPECT_EQ(ParseSamplerRatio("0.25", &r), "");
  EXPECT_DOUBLE_EQ(r, 0.25);
  EXPECT_EQ(ParseSamplerRatio(" 1 ", &r), "");
  EXPECT_DOUBLE_EQ(r, 1.0);
  EXPECT_EQ(ParseSamplerRatio("0", &r), "");
  EXPECT_EQ(ParseSamplerRatio("1e-3", &r), "");
  EXPECT_DOUBLE_EQ(r, 0.001);
  for (const char* bad : {"", "abc", "0.5x", "1.5", "-0.1", "nan", "inf", "0,5"})
    EXPECT_NE(ParseSamplerRatio(bad, &r), "") << bad;
}

TEST(SamplerEnvironment, VariablesChooseTheSampler) {
  SamplerSpec s;
  ASSERT_EQ(ApplySamplerEnvironment({{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "0.25"}}, &s),
            "");
  EXPECT_EQ(s, Spec(SamplerKind::kTraceIdRatio, 0.25));

  // Without an argument the ratio is 1.0, whatever the config file said.
  s = Spec(SamplerKind::kTraceIdRatio, 0.1);
  ASSERT_EQ(ApplySamplerEnvironment({{"OTEL_TRACES_SAMPLER", "parentbased_traceidratio"}}, &s), "");
  EXPECT_EQ(s, Spec(SamplerKind::kParentBasedTraceIdRatio, 1.0));

  // The argument alone adjusts the file's ratio sampler.
  s = Spec(SamplerKind::kTraceIdRatio, 0.1);
  ASSERT_EQ(ApplySamplerEnvironment({{"OTEL_TRACES_SAMPLER_ARG", "0.5"}}, &s), "");
  EXPECT_EQ(s, Spec(SamplerKind::kTraceIdRatio, 0.5));

  // Samplers without an argument ignore it; empty variables count as unset.
  s = SamplerSpec();
  ASSERT_EQ(ApplySamplerEnvironment({{"OTEL_TRACES_SAMPLER", "always_off"}, {"OTEL_TRACES_SAMPLER_ARG", "junk"}}, &s),
            "");
  EXPECT_EQ(s.kind, SamplerKind::kAlwaysOff);
  s = SamplerSpec();
  ASSERT_EQ(ApplySamplerEnvironment({{"OTEL_TRACES_SAMPLER", " "}, {"OTEL_TRACES_SAMPLER_ARG", ""}}, &s), "");
  EXPECT_EQ(s, SamplerSpec());
  EXPECT_EQ(SamplerSpec().kind, SamplerKind::kParentBasedAlwaysOn);  // the spec's default
}

TEST(SamplerEnvironment, ErrorsNameTheVariableAndLeaveTheSpec) {
  SamplerSpec s;
  std::string err = ApplySamplerEnvironment({{"OTEL_TRACES_SAMPLER", "probabilistic"}}, &s);
  EXPECT_EQ(err.rfind("OTEL_TRACES_SAMPLER: 'probabilistic' is not a sampler", 0), 0u) << err;
  err = ApplySamplerEnvironment({{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "2"}}, &s);
  EXPECT_EQ(err, "OTEL_TRACES_SAMPLER_ARG: '2' is not a ratio from 0 to 1");
  err = ApplySamplerEnvironment({{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "half"}}, &s);
  EXPECT_EQ(err.rfind("OTEL_TRACES_SAMPLER_ARG: 'half' is not a number", 0), 0u) << err;
  EXPECT_EQ(s, SamplerSpec());
}

TEST(SamplerDescription, FollowsTheSdkForm) {
  EXPECT_EQ(DescribeSampler(Spec(SamplerKind::kAlwaysOn)), "AlwaysOnSampler");
  EXPECT_EQ(DescribeSampler(Spec(SamplerKind::kTraceIdRatio, 0.0001)), "TraceIdRatioBased{0.000100}");
  EXPECT_EQ(DescribeSampler(Spec(SamplerKind::kParentBasedAlwaysOff)), "ParentBased{root=AlwaysOffSampler}");
}

TEST(TraceIdRatio, ThresholdAndRandomnessUseTheLow56Bits) {
  EXPECT_EQ(RatioThreshold(1.0), 0u);
  EXPECT_EQ(RatioThreshold(0.0), uint64_t{1} << 56);
  EXPECT_EQ(RatioThreshold(0.5), uint64_t{1} << 55);
  EXPECT_EQ(RatioThreshold(0.25), (uint64_t{3} << 54));
  EXPECT_EQ(TraceRandomness(IdWithRandomness(0x0123456789abcd)), 0x0123456789abcdu);

  HeadSampler quarter(Spec(SamplerKind::kTraceIdRatio, 0.25));
  SamplingParent root;
  // Sampled exactly when R >= (1 - 0.25) * 2^56.
  EXPECT_TRUE(quarter.ShouldSample(IdWithRandomness(uint64_t{3} << 54), root));
  EXPECT_FALSE(quarter.ShouldSample(IdWithRandomness((uint64_t{3} << 54) - 1), root));
  EXPECT_TRUE(quarter.ShouldSample(IdWithRandomness((uint64_t{1} << 56) - 1), root));
  EXPECT_FALSE(quarter.ShouldSample(IdWithRandomness(0), root));
}

// 10,000 random root traces at ratio 0.25: the number sampled is binomial
// (n = 10000, p = 0.25), mean 2500, sigma ~43.3; it must lie within 5 sigma.
TEST(TraceIdRatio, SampledShareOfRandomTracesIsWithinFiveSigma) {
  for (SamplerKind kind : {SamplerKind::kTraceIdRatio, SamplerKind::kParentBasedTraceIdRatio}) {
    IdGenerator ids;  // random seed: a real sample each run
    HeadSampler s(Spec(kind, 0.25));
    const int n = 10000;
    const double p = 0.25;
    int kept = 0;
    for (int i = 0; i < n; ++i) kept += s.ShouldSample(ids.NewTraceId(), SamplingParent{}) ? 1 : 0;
    const double mean = n * p, sigma = std::sqrt(n * p * (1 - p));
    EXPECT_GE(kept, mean - 5 * sigma) << SamplerName(kind);
    EXPECT_LE(kept, mean + 5 * sigma) << SamplerName(kind);
  }
}

TEST(TraceIdRatio, DeterministicAndMonotonicInTheRatio) {
  IdGenerator ids(11);
  HeadSampler low(Spec(SamplerKind::kTraceIdRatio, 0.1)), high(Spec(SamplerKind::kTraceIdRatio, 0.5));
  HeadSampler low_again(Spec(SamplerKind::kTraceIdRatio, 0.1));
  int low_kept = 0, high_kept = 0;
  for (int i = 0; i < 10000; ++i) {
    TraceId id = ids.NewTraceId();
    bool l = low.ShouldSample(id, {}), h = high.ShouldSample(id, {});
    ASSERT_EQ(l, low_again.ShouldSample(id, {}));
    if (l) {
      ASSERT_TRUE(h) << "sampled at 0.1 but not at 0.5: " << ToHex(id);
    }
    low_kept += l;
    high_kept += h;
  }
  EXPECT_LT(low_kept, high_kept);
  HeadSampler none(Spec(SamplerKind::kTraceIdRatio, 0.0)), all(Spec(SamplerKind::kTraceIdRatio, 1.0));
  EXPECT_FALSE(none.ShouldSample(IdWithRandomness((uint64_t{1} << 56) - 1), {}));
  EXPECT_TRUE(all.ShouldSample(IdWithRandomness(0), {}));
  EXPECT_TRUE(all.always_samples());
}

// The ParentBased table, for every root sampler and every parent case.
TEST(ParentBased, FollowsTheParentAndAsksTheRootOnlyWithoutOne) {
  const TraceId kept = IdWithRandomness((uint64_t{1} << 56) - 1);  // sampled by any ratio > 0
  const TraceId dropped = IdWithRandomness(0);                      // sampled by ratio 1 only
  struct Case {
    SamplerSpec spec;
    bool root_kept_id, root_dropped_id;
  };
  const Case cases[] = {
      {Spec(SamplerKind::kParentBasedAlwaysOn), true, true},
      {Spec(SamplerKind::kParentBasedAlwaysOff), false, false},
      {Spec(SamplerKind::kParentBasedTraceIdRatio, 0.5), true, false},
  };
  for (const Case& c : cases) {
    HeadSampler s(c.spec);
    SCOPED_TRACE(DescribeSampler(c.spec));
    EXPECT_EQ(s.ShouldSample(kept, {PK::kNone, {}}), c.root_kept_id);
    EXPECT_EQ(s.ShouldSample(dropped, {PK::kNone, {}}), c.root_dropped_id);
    for (const TraceId& id : {kept, dropped}) {
      EXPECT_TRUE(s.ShouldSample(id, {PK::kRemote, true}));
      EXPECT_FALSE(s.ShouldSample(id, {PK::kRemote, false}));
      EXPECT_TRUE(s.ShouldSample(id, {PK::kLocal, true}));
      EXPECT_FALSE(s.ShouldSample(id, {PK::kLocal, false}));
    }
    // A local parent whose flag sonde never saw: the root sampler decides.
    EXPECT_EQ(s.ShouldSample(kept, {PK::kLocal, std::nullopt}), c.root_kept_id);
    EXPECT_EQ(s.ShouldSample(dropped, {PK::kLocal, std::nullopt}), c.root_dropped_id);
  }
}

TEST(ParentBased, OtherSamplersIgnoreTheParent) {
  const TraceId dropped = IdWithRandomness(0);
  EXPECT_TRUE(HeadSampler(Spec(SamplerKind::kAlwaysOn)).ShouldSample(dropped, {PK::kRemote, false}));
  EXPECT_FALSE(HeadSampler(Spec(SamplerKind::kAlwaysOff)).ShouldSample(dropped, {PK::kRemote, true}));
  EXPECT_FALSE(HeadSampler(Spec(SamplerKind::kTraceIdRatio, 0.5)).ShouldSample(dropped, {PK::kRemote, true}));
}

Message ServerRequest(const std::string& traceparent, Role role = Role::kServer) {
  Message m;
  m.conn.role = role;
  HttpExchange ex;
  ex.request.method = "GET";
  ex.request.target = "/x";
  if (!traceparent.empty()) ex.request.headers.push_back({"Traceparent", traceparent});
  m.payload = ex;
  return m;
}

Span ChildOf(const std::string& traceparent) {
  TraceContext ctx = *ParseTraceparent(traceparent);
  Span s;
  s.trace_id = ctx.trace_id;
  s.parent_span_id = ctx.parent_id;
  return s;
}

TEST(ParentOf, RemoteParentCarriesTheHeaderFlag) {
  const std::string on = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  const std::string off = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
  SamplingParent p = ParentOf(ChildOf(on), ServerRequest(on));
  EXPECT_EQ(p.kind, PK::kRemote);
  EXPECT_EQ(p.sampled, std::optional<bool>(true));
  p = ParentOf(ChildOf(off), ServerRequest(off));
  EXPECT_EQ(p.kind, PK::kRemote);
  EXPECT_EQ(p.sampled, std::optional<bool>(false));
}

TEST(ParentOf, RootsAndParentsNotFromTheHeader) {
  const std::string tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  Span root;
  root.trace_id = ChildOf(tp).trace_id;
  EXPECT_EQ(ParentOf(root, ServerRequest(tp)).kind, PK::kNone);
  // A parent the header does not explain (in-process link): local, flag unknown.
  Span other = ChildOf(tp);
  other.parent_span_id[0] ^= 0xff;
  SamplingParent p = ParentOf(other, ServerRequest(tp));
  EXPECT_EQ(p.kind, PK::kLocal);
  EXPECT_FALSE(p.sampled.has_value());
  // On a CLIENT connection the headers were written by the traced process.
  EXPECT_EQ(ParentOf(ChildOf(tp), ServerRequest(tp, Role::kClient)).kind, PK::kLocal);
  Message redis;
  redis.payload = RedisExchange{};
  EXPECT_EQ(ParentOf(ChildOf(tp), redis).kind, PK::kLocal);
}

}  // namespace
}  // namespace sonde
