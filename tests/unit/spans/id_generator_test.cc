#include "spans/id_generator.h"

#include <gtest/gtest.h>

#include <set>

namespace sonde {
namespace {

TEST(IdGenerator, SameSeedSameSequence) {
  IdGenerator a(42), b(42);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(a.NewTraceId(), b.NewTraceId());
    EXPECT_EQ(a.NewSpanId(), b.NewSpanId());
  }
}

TEST(IdGenerator, DifferentSeedsDiffer) {
  IdGenerator a(1), b(2);
  EXPECT_NE(a.NewTraceId(), b.NewTraceId());
}

TEST(IdGenerator, ZeroSeedStillProducesIds) {
  IdGenerator g(0);
  EXPECT_FALSE(IsZero(g.NewTraceId()));
  EXPECT_FALSE(IsZero(g.NewSpanId()));
}

TEST(IdGenerator, IdsAreNonZeroAndUnique) {
  IdGenerator g;  // random_device seeded
  std::set<TraceId> traces;
  std::set<SpanId> spans;
  for (int i = 0; i < 10000; ++i) {
    TraceId t = g.NewTraceId();
    SpanId s = g.NewSpanId();
    ASSERT_FALSE(IsZero(t));
    ASSERT_FALSE(IsZero(s));
    traces.insert(t);
    spans.insert(s);
  }
  EXPECT_EQ(traces.size(), 10000u);
  EXPECT_EQ(spans.size(), 10000u);
}

TEST(IdGenerator, BytesLookUniform) {
  // Every byte position of a trace id takes many values: catches a
  // generator that leaves half of the id constant.
  IdGenerator g(7);
  std::array<std::set<uint8_t>, 16> seen;
  for (int i = 0; i < 2000; ++i) {
    TraceId t = g.NewTraceId();
    for (size_t j = 0; j < t.size(); ++j) seen[j].insert(t[j]);
  }
  for (const auto& s : seen) EXPECT_GT(s.size(), 200u);
}

TEST(IdGenerator, TwoDefaultInstancesDiffer) {
  IdGenerator a, b;
  EXPECT_NE(a.NewTraceId(), b.NewTraceId());
}

}  // namespace
}  // namespace sonde
