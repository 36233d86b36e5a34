#include "exporter/otlp_config.h"

#include <gtest/gtest.h>

namespace sonde {
namespace {

TEST(OtlpEndpoint, AcceptsTheThreeForms) {
  auto http = ParseOtlpGrpcEndpoint("http://collector:4317");
  ASSERT_TRUE(http);
  EXPECT_EQ(http->target, "collector:4317");
  EXPECT_FALSE(http->use_tls);

  auto https = ParseOtlpGrpcEndpoint("https://otlp.example.com:443");
  ASSERT_TRUE(https);
  EXPECT_EQ(https->target, "otlp.example.com:443");
  EXPECT_TRUE(https->use_tls);

  auto bare = ParseOtlpGrpcEndpoint("127.0.0.1:5555");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->target, "127.0.0.1:5555");
  EXPECT_FALSE(bare->use_tls);
}

TEST(OtlpEndpoint, InsecureSettingOnlyAffectsSchemelessEndpoints) {
  EXPECT_TRUE(ParseOtlpGrpcEndpoint("collector:4317", /*insecure_without_scheme=*/false)->use_tls);
  EXPECT_FALSE(ParseOtlpGrpcEndpoint("http://collector:4317", false)->use_tls);
  EXPECT_TRUE(ParseOtlpGrpcEndpoint("https://collector:4317", true)->use_tls);
}

TEST(OtlpEndpoint, DefaultsPortAndIgnoresPath) {
  EXPECT_EQ(ParseOtlpGrpcEndpoint("http://collector")->target, "collector:4317");
  EXPECT_EQ(ParseOtlpGrpcEndpoint("http://collector:4317/v1/traces")->target, "collector:4317");
  EXPECT_EQ(ParseOtlpGrpcEndpoint("  HTTP://collector:4317/  ")->target, "collector:4317");
  EXPECT_EQ(ParseOtlpGrpcEndpoint("http://[::1]:4317")->target, "[::1]:4317");
  EXPECT_EQ(ParseOtlpGrpcEndpoint("http://[::1]")->target, "[::1]:4317");
}

TEST(OtlpEndpoint, RejectsNonsense) {
  EXPECT_FALSE(ParseOtlpGrpcEndpoint(""));
  EXPECT_FALSE(ParseOtlpGrpcEndpoint("http://"));
  EXPECT_FALSE(ParseOtlpGrpcEndpoint("unix:///run/otel.sock"));
  EXPECT_FALSE(ParseOtlpGrpcEndpoint("http://host:port"));
  EXPECT_FALSE(ParseOtlpGrpcEndpoint("http://:4317"));
  EXPECT_FALSE(ParseOtlpGrpcEndpoint("http://[::1"));
}

TEST(OtlpHeaders, ParsesDecodesAndLowercasesKeys) {
  std::vector<std::string> errors;
  OtlpHeaders h = ParseOtlpHeaders(" Api-Key = secret%3D1 ,x-tenant=a%20b,,bad,=nokey,empty=", &errors);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0], (std::pair<std::string, std::string>{"api-key", "secret=1"}));
  EXPECT_EQ(h[1], (std::pair<std::string, std::string>{"x-tenant", "a b"}));
  EXPECT_EQ(h[2], (std::pair<std::string, std::string>{"empty", ""}));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], "bad");
  EXPECT_EQ(errors[1], "=nokey");
}

TEST(OtlpHeaders, ValueMayContainEquals) {
  OtlpHeaders h = ParseOtlpHeaders("authorization=Basic dXNlcjpwYXNz==");
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].second, "Basic dXNlcjpwYXNz==");
}

TEST(PercentDecode, KeepsMalformedEscapes) {
  EXPECT_EQ(PercentDecode("a%2Cb"), "a,b");
  EXPECT_EQ(PercentDecode("100%"), "100%");
  EXPECT_EQ(PercentDecode("%zz%4"), "%zz%4");
}

}  // namespace
}  // namespace sonde
