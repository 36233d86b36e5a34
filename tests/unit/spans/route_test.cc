#include "spans/route.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace sonde {
namespace {

struct HeuristicCase {
  const char* path;
  const char* route;
};

void PrintTo(const HeuristicCase& c, std::ostream* os) { *os << c.path; }

class Heuristic : public ::testing::TestWithParam<HeuristicCase> {};

TEST_P(Heuristic, Folds) {
  EXPECT_EQ(HeuristicRoute(GetParam().path, 8), GetParam().route) << GetParam().path;
}

INSTANTIATE_TEST_SUITE_P(
    Table, Heuristic,
    ::testing::Values(
        HeuristicCase{"/", "/"},
        HeuristicCase{"", "/"},
        HeuristicCase{"/users", "/users"},
        HeuristicCase{"/users/", "/users"},
        HeuristicCase{"//users//42", "/users/{id}"},
        HeuristicCase{"/users/42", "/users/{id}"},
        HeuristicCase{"/users/42/orders/7", "/users/{id}/orders/{id}"},
        HeuristicCase{"/api/v1/items", "/api/v1/items"},
        HeuristicCase{"/api/v2/health", "/api/v2/health"},
        HeuristicCase{"/o/123e4567-e89b-12d3-a456-426614174000", "/o/{id}"},
        HeuristicCase{"/o/123E4567-E89B-12D3-A456-426614174000", "/o/{id}"},
        HeuristicCase{"/o/123e4567e89b12d3a456426614174000", "/o/{id}"},
        HeuristicCase{"/commit/5f3a9c0d", "/commit/{id}"},
        HeuristicCase{"/commit/5f3a9c0", "/commit/5f3a9c0"},      // 7 chars: too short
        HeuristicCase{"/beef/deadbeef", "/beef/deadbeef"},        // hex without digit: a word
        HeuristicCase{"/s/a1b2c3d4e5f6g7h8", "/s/{id}"},          // long mixed token
        HeuristicCase{"/s/abcdefghijklmnop", "/s/abcdefghijklmnop"},  // letters only
        HeuristicCase{"/t/eyJhbGciOiJIUzI1NiJ9", "/t/{id}"},      // base64url
        HeuristicCase{"/t/SGVsbG8sIFdvcmxkIQ==", "/t/{id}"},      // padded base64
        HeuristicCase{"/t/ab+cdefghijklmnopq", "/t/{id}"},        // '+'
        HeuristicCase{"/t/Ab_cdEfgh-1jklmnop", "/t/{id}"},        // base64url mixed
        HeuristicCase{"/docs/getting-started-guide", "/docs/getting-started-guide"},
        HeuristicCase{"/docs/release_notes_v2_final", "/docs/release_notes_v2_final"},
        HeuristicCase{"/u/alice@example.com", "/u/{id}"},
        HeuristicCase{"/u/alice%40example.com", "/u/{id}"},
        HeuristicCase{"/u/@handle", "/u/@handle"},
        HeuristicCase{"/files/42.json", "/files/{id}.json"},
        HeuristicCase{"/files/report.pdf", "/files/report.pdf"},
        HeuristicCase{"/static/app.3f9a8c21.js", "/static/app.3f9a8c21.js"},
        HeuristicCase{"/v/1.2", "/v/1.2"},
        HeuristicCase{"/a/b/c/d/e/f/g/h", "/a/b/c/d/e/f/g/h"},
        HeuristicCase{"/a/b/c/d/e/f/g/h/i", "/a/b/c/d/e/f/g/h/*"},
        HeuristicCase{"/a/b/c/d/e/f/g/h/i/j/k", "/a/b/c/d/e/f/g/h/*"},
        HeuristicCase{"/1/2/3/4/5/6/7/8/9", "/{id}/{id}/{id}/{id}/{id}/{id}/{id}/{id}/*"}),
    [](const ::testing::TestParamInfo<HeuristicCase>& info) {
      // "03_users_42": index for uniqueness, the path for readability.
      std::string name = (info.index < 10 ? "0" : "") + std::to_string(info.index) + "_";
      for (const char* c = info.param.path; *c; ++c) name += std::isalnum(static_cast<unsigned char>(*c)) ? *c : '_';
      return name;
    });

TEST(Heuristic, MaxSegmentsConfigurable) {
  EXPECT_EQ(HeuristicRoute("/a/b/c", 2), "/a/b/*");
  EXPECT_EQ(HeuristicRoute("/a/b", 2), "/a/b");
}

TEST(IdLike, Segments) {
  EXPECT_TRUE(IsIdLikeSegment("0"));
  EXPECT_TRUE(IsIdLikeSegment("18446744073709551616"));
  EXPECT_FALSE(IsIdLikeSegment(""));
  EXPECT_FALSE(IsIdLikeSegment("v1"));
  EXPECT_FALSE(IsIdLikeSegment("users"));
  EXPECT_FALSE(IsIdLikeSegment("123e4567-e89b-12d3-a456-42661417400"));  // bad UUID
  EXPECT_FALSE(IsIdLikeSegment("a@b"));
}

TEST(SplitRequestTarget, OriginForm) {
  RequestTarget t = SplitRequestTarget("/a/b?x=1&y=2#frag");
  EXPECT_EQ(t.path, "/a/b");
  EXPECT_TRUE(t.has_query);
  EXPECT_EQ(t.query, "x=1&y=2");
  EXPECT_TRUE(t.authority.empty());
  EXPECT_FALSE(t.asterisk);

  t = SplitRequestTarget("/a?");
  EXPECT_EQ(t.path, "/a");
  EXPECT_TRUE(t.has_query);
  EXPECT_EQ(t.query, "");

  t = SplitRequestTarget("/a#f?not-a-query");
  EXPECT_EQ(t.path, "/a");
  EXPECT_FALSE(t.has_query);
}

TEST(SplitRequestTarget, AbsoluteForm) {
  RequestTarget t = SplitRequestTarget("http://user:pw@example.com:8080/p/q?z=1");
  EXPECT_EQ(t.scheme, "http");
  EXPECT_EQ(t.authority, "example.com:8080");
  EXPECT_EQ(t.path, "/p/q");
  EXPECT_EQ(t.query, "z=1");

  t = SplitRequestTarget("http://example.com");
  EXPECT_EQ(t.authority, "example.com");
  EXPECT_EQ(t.path, "/");

  t = SplitRequestTarget("https://example.com?q");
  EXPECT_EQ(t.path, "/");
  EXPECT_EQ(t.query, "q");
}

TEST(SplitRequestTarget, AsteriskAndAuthorityForm) {
  RequestTarget t = SplitRequestTarget("*");
  EXPECT_TRUE(t.asterisk);
  EXPECT_TRUE(t.path.empty());
  t = SplitRequestTarget("example.com:443");
  EXPECT_TRUE(t.path.empty());
  EXPECT_TRUE(t.authority.empty());
}

TEST(RouteMatcher, ConfiguredPatterns) {
  RouteMatcher m({"/users/{id}", "/api/v1/orders/{order_id}/items", "/static/*"});
  RouteResult r = m.Match("/users/42?x=1");
  EXPECT_EQ(r.route, "/users/{id}");
  EXPECT_TRUE(r.configured);

  r = m.Match("/users/alice");  // not id-like, but the pattern says it is a param
  EXPECT_EQ(r.route, "/users/{id}");
  EXPECT_TRUE(r.configured);

  r = m.Match("/users/42/");
  EXPECT_EQ(r.route, "/users/{id}");

  r = m.Match("/api/v1/orders/a1/items");
  EXPECT_EQ(r.route, "/api/v1/orders/{order_id}/items");
  EXPECT_TRUE(r.configured);

  r = m.Match("/static/css/site.css");
  EXPECT_EQ(r.route, "/static/*");
  EXPECT_TRUE(r.configured);
  EXPECT_EQ(m.Match("/static").route, "/static/*");

  r = m.Match("http://example.com/users/7");
  EXPECT_EQ(r.route, "/users/{id}");
  EXPECT_TRUE(r.configured);
}

TEST(RouteMatcher, FallsBackToHeuristic) {
  RouteMatcher m({"/users/{id}"});
  RouteResult r = m.Match("/users/42/orders/9");
  EXPECT_EQ(r.route, "/users/{id}/orders/{id}");
  EXPECT_FALSE(r.configured);
  r = m.Match("/users");
  EXPECT_EQ(r.route, "/users");
  EXPECT_FALSE(r.configured);
}

TEST(RouteMatcher, NoPath) {
  RouteMatcher m({"/*"});
  EXPECT_EQ(m.Match("*").route, "");
  EXPECT_EQ(m.Match("example.com:443").route, "");
}

TEST(RouteMatcher, LiteralsAreCaseSensitive) {
  RouteMatcher m({"/Users/{id}"});
  EXPECT_FALSE(m.Match("/users/1").configured);
  EXPECT_TRUE(m.Match("/Users/1").configured);
}

TEST(RouteMatcher, MostSpecificWins) {
  RouteMatcher m({"/*", "/users/{id}", "/users/me", "/users/*", "/{a}/{b}"});
  EXPECT_EQ(m.Match("/users/me").route, "/users/me");
  EXPECT_EQ(m.Match("/users/42").route, "/users/{id}");
  EXPECT_EQ(m.Match("/users/42/x").route, "/users/*");
  EXPECT_EQ(m.Match("/teams/42").route, "/{a}/{b}");
  EXPECT_EQ(m.Match("/teams/42/x").route, "/*");
  EXPECT_EQ(m.Match("/").route, "/*");
}

TEST(RouteMatcher, TieGoesToFirstConfigured) {
  RouteMatcher m({"/a/{x}", "/a/{y}"});
  EXPECT_EQ(m.Match("/a/1").route, "/a/{x}");
}

TEST(RouteMatcher, MiddleWildcardIsOneSegment) {
  RouteMatcher m({"/a/*/c"});
  EXPECT_TRUE(m.Match("/a/b/c").configured);
  EXPECT_FALSE(m.Match("/a/b/b/c").configured);
}

TEST(RouteMatcher, RootPattern) {
  RouteMatcher m({"/"});
  EXPECT_TRUE(m.Match("/").configured);
  EXPECT_TRUE(m.Match("/?q=1").configured);
  EXPECT_FALSE(m.Match("/a").configured);
}

TEST(RouteMatcher, HeuristicRespectsMaxSegments) {
  RouteMatcher m({}, 3);
  EXPECT_EQ(m.Match("/a/b/c/d").route, "/a/b/c/*");
}

}  // namespace
}  // namespace sonde
