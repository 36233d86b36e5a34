#include "spans/trace_context.h"

#include <gtest/gtest.h>

#include <string>

namespace sonde {
namespace {

constexpr char kValid[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr char kTraceHex[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kParentHex[] = "00f067aa0ba902b7";

struct TraceparentCase {
  const char* name;
  std::string value;
  bool valid;
};

void PrintTo(const TraceparentCase& c, std::ostream* os) { *os << c.name; }

class TraceparentVectors : public ::testing::TestWithParam<TraceparentCase> {};

TEST_P(TraceparentVectors, Parse) {
  const TraceparentCase& c = GetParam();
  std::optional<TraceContext> ctx = ParseTraceparent(c.value);
  ASSERT_EQ(ctx.has_value(), c.valid) << c.value;
  if (c.valid) {
    EXPECT_EQ(ToHex(ctx->trace_id), kTraceHex);
    EXPECT_EQ(ToHex(ctx->parent_id), kParentHex);
  }
}

const std::string kIds = std::string(kTraceHex) + "-" + kParentHex;

INSTANTIATE_TEST_SUITE_P(
    W3C, TraceparentVectors,
    ::testing::Values(
        TraceparentCase{"valid_sampled", kValid, true},
        TraceparentCase{"valid_not_sampled", "00-" + kIds + "-00", true},
        TraceparentCase{"valid_other_flags", "00-" + kIds + "-09", true},
        TraceparentCase{"surrounding_ows", " \t" + std::string(kValid) + " ", true},
        TraceparentCase{"uppercase_trace_id", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", false},
        TraceparentCase{"uppercase_parent_id", "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01", false},
        TraceparentCase{"uppercase_flags", "00-" + kIds + "-0A", false},
        TraceparentCase{"uppercase_version", "0A-" + kIds + "-01", false},
        TraceparentCase{"zero_trace_id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", false},
        TraceparentCase{"zero_parent_id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", false},
        TraceparentCase{"empty", "", false},
        TraceparentCase{"short_trace_id", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", false},
        TraceparentCase{"long_trace_id", "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01", false},
        TraceparentCase{"short_parent_id", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01", false},
        TraceparentCase{"short_flags", "00-" + kIds + "-1", false},
        TraceparentCase{"long_flags", "00-" + kIds + "-011", false},
        TraceparentCase{"v00_extra_field", std::string(kValid) + "-what", false},
        TraceparentCase{"v00_trailing_dash", std::string(kValid) + "-", false},
        TraceparentCase{"wrong_delimiter", "00_" + kIds + "-01", false},
        TraceparentCase{"non_hex", "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", false},
        TraceparentCase{"version_ff", "ff-" + kIds + "-01", false},
        TraceparentCase{"version_one_char", "0-" + kIds + "-01", false},
        TraceparentCase{"future_version_exact", "01-" + kIds + "-01", true},
        TraceparentCase{"future_version_extra_fields", "cc-" + kIds + "-01-what-the-future-will-be-like", true},
        TraceparentCase{"future_version_extra_no_dash", "cc-" + kIds + "-01what", false},
        TraceparentCase{"future_version_short", "cc-" + kIds + "-1", false},
        TraceparentCase{"future_version_bad_trace_id", "cc-4bf92f3577b34da6a3ce929d0e0e473-x00f067aa0ba902b7-01", false},
        TraceparentCase{"future_version_zero_trace_id", "cc-00000000000000000000000000000000-00f067aa0ba902b7-01", false}),
    [](const ::testing::TestParamInfo<TraceparentCase>& info) { return std::string(info.param.name); });

TEST(Traceparent, Flags) {
  auto ctx = ParseTraceparent(kValid);
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->flags, 0x01);
  EXPECT_TRUE(ctx->sampled());
  ctx = ParseTraceparent("00-" + kIds + "-08");
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->flags, 0x08);
  EXPECT_FALSE(ctx->sampled());
  EXPECT_TRUE(ctx->trace_state.empty());
}

TEST(Traceparent, FormatRoundTrip) {
  auto ctx = ParseTraceparent(kValid);
  ASSERT_TRUE(ctx);
  EXPECT_EQ(FormatTraceparent(*ctx), kValid);
}

TEST(Traceparent, FutureVersionIsDowngradedWhenFormatted) {
  auto ctx = ParseTraceparent("cc-" + kIds + "-01-extra");
  ASSERT_TRUE(ctx);
  EXPECT_EQ(FormatTraceparent(*ctx), kValid);
}

TEST(Traceparent, FormatFlags) {
  TraceContext ctx;
  ctx.trace_id[15] = 1;
  ctx.parent_id[7] = 2;
  ctx.flags = 0xab;
  EXPECT_EQ(FormatTraceparent(ctx), "00-00000000000000000000000000000001-0000000000000002-ab");
}

TEST(Tracestate, Valid) {
  EXPECT_TRUE(IsValidTracestate(""));
  EXPECT_TRUE(IsValidTracestate("rojo=00f067aa0ba902b7"));
  EXPECT_TRUE(IsValidTracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
  EXPECT_TRUE(IsValidTracestate("rojo=1 , congo=2"));
  EXPECT_TRUE(IsValidTracestate("rojo=1,,  ,congo=2"));  // empty members allowed
  EXPECT_TRUE(IsValidTracestate("tenant@vendor=x"));
  EXPECT_TRUE(IsValidTracestate("1vendor=x"));
  EXPECT_TRUE(IsValidTracestate("a_b-c*d/e=v a l u e"));
  EXPECT_TRUE(IsValidTracestate("k= leading-space"));
}

TEST(Tracestate, Invalid) {
  EXPECT_FALSE(IsValidTracestate("novalue"));
  EXPECT_FALSE(IsValidTracestate("k="));
  EXPECT_FALSE(IsValidTracestate("=v"));
  EXPECT_FALSE(IsValidTracestate("Upper=v"));
  EXPECT_FALSE(IsValidTracestate("_k=v"));
  EXPECT_FALSE(IsValidTracestate("k=v=w"));
  EXPECT_FALSE(IsValidTracestate("k=v\x01"));
  EXPECT_FALSE(IsValidTracestate("k=\tv"));
  EXPECT_FALSE(IsValidTracestate("k=1,k=2"));  // duplicate key
  EXPECT_FALSE(IsValidTracestate("k=" + std::string(257, 'x')));
  EXPECT_FALSE(IsValidTracestate(std::string(257, 'k') + "=v"));
}

TEST(Tracestate, MemberLimit) {
  std::string ts;
  for (int i = 0; i < 32; ++i) ts += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  EXPECT_TRUE(IsValidTracestate(ts));
  EXPECT_FALSE(IsValidTracestate(ts + ",k32=v"));
  EXPECT_TRUE(IsValidTracestate(ts + ",,"));  // empty members do not count
}

TEST(Extract, NoHeaders) { EXPECT_FALSE(ExtractTraceContext({})); }

TEST(Extract, CaseInsensitiveNames) {
  auto ctx = ExtractTraceContext({{"TraceParent", kValid}, {"TRACESTATE", "rojo=1"}});
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ToHex(ctx->trace_id), kTraceHex);
  EXPECT_EQ(ctx->trace_state, "rojo=1");
}

TEST(Extract, DuplicateTraceparentIsInvalid) {
  EXPECT_FALSE(ExtractTraceContext({{"traceparent", kValid}, {"traceparent", kValid}}));
  EXPECT_FALSE(ExtractTraceContext({{"traceparent", kValid}, {"Traceparent", "00-" + kIds + "-00"}}));
}

TEST(Extract, InvalidTraceparent) {
  EXPECT_FALSE(ExtractTraceContext({{"traceparent", "00-" + kIds + "-0"}, {"tracestate", "a=b"}}));
}

TEST(Extract, MultipleTracestateHeadersCombine) {
  auto ctx = ExtractTraceContext(
      {{"tracestate", "rojo=1"}, {"traceparent", kValid}, {"tracestate", "congo=2"}});
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->trace_state, "rojo=1,congo=2");
}

TEST(Extract, TracestateKeptAsIs) {
  auto ctx = ExtractTraceContext({{"traceparent", kValid}, {"tracestate", " rojo=1 ,  congo=t61rcWkgMzE "}});
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->trace_state, "rojo=1 ,  congo=t61rcWkgMzE");
}

TEST(Extract, InvalidTracestateDroppedTraceparentKept) {
  auto ctx = ExtractTraceContext({{"traceparent", kValid}, {"tracestate", "k=1,k=2"}});
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ToHex(ctx->parent_id), kParentHex);
  EXPECT_EQ(ctx->trace_state, "");
  // Duplicate keys across two headers are still duplicates once combined.
  ctx = ExtractTraceContext({{"traceparent", kValid}, {"tracestate", "k=1"}, {"tracestate", "k=2"}});
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->trace_state, "");
}

}  // namespace
}  // namespace sonde
