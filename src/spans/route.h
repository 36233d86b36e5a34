// Low-cardinality routes for HTTP span names and `http.route`.
//
// sonde sees raw request targets, never the framework's routing table, so a
// route comes from one of two places:
//  - a configured pattern the path matches: trustworthy, used both in the span
//    name and as the `http.route` attribute;
//  - a heuristic that folds id-like segments to `{id}`: a guess, used only in
//    the span name to keep it low-cardinality, never as `http.route` (the
//    semantic conventions forbid a route the framework did not provide).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sonde {

// The parts of an HTTP/1.x request-target.
struct RequestTarget {
  // Origin-form "/a?q#f" -> "/a"; absolute-form "http://h:1/a?q" -> "/a" (and
  // "/" when the URL has no path); asterisk-form "*" and authority-form
  // "host:443" (CONNECT) have no path: empty.
  std::string_view path;
  std::string_view query;  // without the '?'; empty when none
  bool has_query = false;
  // Absolute-form only: the scheme as written ("http") and the authority
  // "h:1" without any "user:pass@" prefix.
  std::string_view scheme;
  std::string_view authority;
  bool asterisk = false;  // the target was "*" (server-wide OPTIONS)
};

RequestTarget SplitRequestTarget(std::string_view target);

// True when one path segment looks like an identifier rather than a fixed
// name. Folded kinds:
//  - all digits: "42";
//  - a UUID, 8-4-4-4-12 hex digits of either case;
//  - a hex string of 8+ chars with at least one digit: "5f3a9c0d";
//  - a token of 16+ letters and digits with at least one of each;
//  - a base64-ish token of 16+ chars of [A-Za-z0-9+/_-] plus '=' padding,
//    that has padding or a '+', or mixes upper case, lower case and digits;
//  - an email address: "a@b.c" (also with '@' written as "%40").
// Words like "users", "v1", "deadbeef" (hex without a digit) are kept.
bool IsIdLikeSegment(std::string_view segment);

// Folds id-like segments of `path` to "{id}" (an id-like stem keeps its file
// extension: "42.json" -> "{id}.json"), drops empty segments (so a trailing
// or doubled '/' does not create a new route), and keeps at most
// `max_segments` segments, the rest collapsed into a final "/*".
std::string HeuristicRoute(std::string_view path, size_t max_segments);

struct RouteResult {
  // The route for the span name; empty when the target has no path.
  std::string route;
  // True when `route` is a configured pattern (and may be `http.route`).
  bool configured = false;
};

// Matches request paths against configured patterns, falling back to the
// heuristic. Pattern syntax, one element per '/'-separated segment:
//  - a literal segment matches itself (case-sensitive);
//  - "{name}" matches any one non-empty segment;
//  - "*" as the last segment matches the rest of the path (zero or more
//    segments: "/static/*" matches "/static" and "/static/css/a.css");
//    elsewhere "*" matches any one segment.
// Empty segments are ignored on both sides, as in HeuristicRoute. When
// several patterns match, the most specific wins: segments are compared
// left to right, literal > {param} > *; a full-length pattern beats a
// trailing "*"; remaining ties go to the pattern configured first.
class RouteMatcher {
 public:
  static constexpr size_t kDefaultMaxSegments = 8;

  explicit RouteMatcher(const std::vector<std::string>& patterns = {},
                        size_t max_segments = kDefaultMaxSegments);

  // `target` is a raw request-target; query and fragment are ignored.
  RouteResult Match(std::string_view target) const;
  // Same, for a path already split from its target (RequestTarget::path).
  RouteResult MatchPath(std::string_view path) const;

  // The configured pattern matching `path` (no query), or nullptr.
  const std::string* MatchConfigured(std::string_view path) const;

 private:
  enum class SegKind { kLiteral, kParam, kWildcard };
  struct Seg {
    SegKind kind;
    std::string text;  // for literals
  };
  struct Pattern {
    std::string text;
    std::vector<Seg> segs;
    bool tail_wildcard = false;
  };

  static bool Matches(const Pattern& p, const std::vector<std::string_view>& path);
  static bool MoreSpecific(const Pattern& a, const Pattern& b);

  std::vector<Pattern> patterns_;
  size_t max_segments_;
};

}  // namespace sonde
