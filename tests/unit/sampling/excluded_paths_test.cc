// Excluded paths: exact url.path matches make no span, whatever the role.
#include "sampling/excluded_paths.h"

#include <gtest/gtest.h>

namespace sonde {
namespace {

Message Http(const std::string& target, Role role = Role::kServer) {
  Message m;
  m.conn.role = role;
  HttpExchange ex;
  ex.request.method = "GET";
  ex.request.target = target;
  m.payload = ex;
  return m;
}

TEST(ExcludedPaths, DefaultsAreHealthReadinessAndScrapes) {
  ExcludedPaths x(DefaultExcludedPaths());
  for (const char* p : {"/health", "/healthz", "/ready", "/live", "/metrics"}) {
    EXPECT_TRUE(x.Excludes(Http(p))) << p;
    EXPECT_TRUE(x.Excludes(Http(p, Role::kClient))) << p;
    EXPECT_TRUE(x.Excludes(Http(p, Role::kUnknown))) << p;
  }
}

TEST(ExcludedPaths, ExactPathQueryIgnored) {
  ExcludedPaths x(DefaultExcludedPaths());
  EXPECT_TRUE(x.Excludes(Http("/health?verbose=1")));
  EXPECT_TRUE(x.Excludes(Http("http://svc:8080/metrics?x")));  // absolute-form
  EXPECT_FALSE(x.Excludes(Http("/health/")));
  EXPECT_FALSE(x.Excludes(Http("/healthcheck")));
  EXPECT_FALSE(x.Excludes(Http("/api/health")));
  EXPECT_FALSE(x.Excludes(Http("/HEALTH")));
  EXPECT_FALSE(x.Excludes(Http("/")));
  EXPECT_FALSE(x.Excludes(Http("*")));
  EXPECT_FALSE(x.Excludes(Http("")));
}

TEST(ExcludedPaths, ConfiguredListReplacesTheDefault) {
  ExcludedPaths x({"/grpc.health.v1.Health/Check", "/ping"});
  EXPECT_TRUE(x.Excludes(Http("/ping")));
  EXPECT_TRUE(x.Excludes(Http("/grpc.health.v1.Health/Check")));
  EXPECT_FALSE(x.Excludes(Http("/health")));
  ExcludedPaths none({});
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(none.Excludes(Http("/health")));
}

TEST(ExcludedPaths, OnlyHttpExchanges) {
  ExcludedPaths x(DefaultExcludedPaths());
  Message redis;
  redis.payload = RedisExchange{};
  EXPECT_FALSE(x.Excludes(redis));
}

TEST(ExcludedPaths, ListedPathsMustBePaths) {
  EXPECT_EQ(CheckExcludedPath("/health"), "");
  EXPECT_EQ(CheckExcludedPath("health"), "'health' must start with '/'");
  EXPECT_NE(CheckExcludedPath("/health?x=1"), "");
  EXPECT_NE(CheckExcludedPath(""), "");
}

}  // namespace
}  // namespace sonde
