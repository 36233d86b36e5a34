#include "spans/route.h"

#include <algorithm>

namespace sonde {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsAlpha(char c) { return IsLower(c) || IsUpper(c); }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Splits on '/', dropping empty segments.
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "://".
// Returns the length of "scheme://", or 0 when `t` is not absolute-form.
size_t AbsoluteFormPrefix(std::string_view t) {
  if (t.empty() || !IsAlpha(t[0])) return 0;
  size_t i = 1;
  while (i < t.size() && (IsAlnum(t[i]) || t[i] == '+' || t[i] == '-' || t[i] == '.')) ++i;
  if (t.substr(i, 3) != "://") return 0;
  return i + 3;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsDigit);
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash_pos = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_pos ? s[i] != '-' : !IsHex(s[i])) return false;
  }
  return true;
}

bool IsHexId(std::string_view s) {
  return s.size() >= 8 && std::all_of(s.begin(), s.end(), IsHex) &&
         std::any_of(s.begin(), s.end(), IsDigit);
}

bool IsLongAlnumToken(std::string_view s) {
  return s.size() >= 16 && std::all_of(s.begin(), s.end(), IsAlnum) &&
         std::any_of(s.begin(), s.end(), IsDigit) && std::any_of(s.begin(), s.end(), IsAlpha);
}

// Random tokens (session ids, signed blobs, JWT parts) are base64 or
// base64url. Words joined by '-' or '_' use the same alphabet, so the
// alphabet alone is not enough: ask for padding, a '+', or all three of
// upper case, lower case and digits, which names almost never combine.
bool IsBase64Token(std::string_view s) {
  size_t end = s.size();
  size_t pad = 0;
  while (end > 0 && s[end - 1] == '=' && pad < 2) --end, ++pad;
  std::string_view body = s.substr(0, end);
  if (body.size() < 16) return false;
  bool upper = false, lower = false, digit = false, plus = false;
  for (char c : body) {
    if (IsUpper(c)) upper = true;
    else if (IsLower(c)) lower = true;
    else if (IsDigit(c)) digit = true;
    else if (c == '+') plus = true;
    else if (c != '/' && c != '_' && c != '-') return false;
  }
  return pad > 0 || plus || (upper && lower && digit);
}

bool IsEmail(std::string_view s) {
  size_t at_len = 1;
  size_t at = s.find('@');
  if (at == std::string_view::npos) {
    at = s.find("%40");
    at_len = 3;
  }
  if (at == std::string_view::npos || at == 0) return false;
  std::string_view domain = s.substr(at + at_len);
  if (domain.find('@') != std::string_view::npos) return false;
  size_t dot = domain.find('.');
  return dot != std::string_view::npos && dot > 0 && dot + 1 < domain.size();
}

// "42.json" -> stem "42", ext ".json"; the extension must be a short word,
// so "1.2" or "a.b.c.d.e.f" keep their dot inside the stem.
std::pair<std::string_view, std::string_view> SplitExtension(std::string_view seg) {
  size_t dot = seg.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return {seg, {}};
  std::string_view ext = seg.substr(dot + 1);
  if (ext.empty() || ext.size() > 5 || !std::all_of(ext.begin(), ext.end(), IsAlnum) ||
      !std::any_of(ext.begin(), ext.end(), IsAlpha))
    return {seg, {}};
  return {seg.substr(0, dot), seg.substr(dot)};
}

}  // namespace

RequestTarget SplitRequestTarget(std::string_view target) {
  RequestTarget t;
  if (target == "*") {
    t.asterisk = true;
    return t;
  }
  // Fragments are not sent over HTTP, but a buggy client may send one.
  target = target.substr(0, target.find('#'));
  std::string_view rest;
  if (!target.empty() && target[0] == '/') {
    rest = target;
  } else if (size_t prefix = AbsoluteFormPrefix(target)) {
    t.scheme = target.substr(0, prefix - 3);
    std::string_view after = target.substr(prefix);
    size_t auth_end = after.find_first_of("/?");
    if (auth_end == std::string_view::npos) auth_end = after.size();
    std::string_view authority = after.substr(0, auth_end);
    // Credentials must never reach an attribute.
    size_t at = authority.rfind('@');
    if (at != std::string_view::npos) authority.remove_prefix(at + 1);
    t.authority = authority;
    rest = after.substr(auth_end);
  } else {
    return t;  // authority-form (CONNECT) or not a target at all: no path
  }
  size_t q = rest.find('?');
  if (q != std::string_view::npos) {
    t.query = rest.substr(q + 1);
    t.has_query = true;
    rest = rest.substr(0, q);
  }
  t.path = rest.empty() ? std::string_view("/") : rest;
  return t;
}

bool IsIdLikeSegment(std::string_view s) {
  return AllDigits(s) || IsUuid(s) || IsHexId(s) || IsLongAlnumToken(s) || IsBase64Token(s) ||
         IsEmail(s);
}

std::string HeuristicRoute(std::string_view path, size_t max_segments) {
  std::vector<std::string_view> segs = Segments(path);
  std::string out;
  size_t n = std::min(segs.size(), max_segments);
  for (size_t i = 0; i < n; ++i) {
    out += '/';
    std::string_view seg = segs[i];
    if (IsIdLikeSegment(seg)) {
      out += "{id}";
      continue;
    }
    auto [stem, ext] = SplitExtension(seg);
    if (!ext.empty() && IsIdLikeSegment(stem)) {
      out += "{id}";
      out += ext;
    } else {
      out += seg;
    }
  }
  if (segs.size() > n) out += "/*";
  if (out.empty()) out.push_back('/');
  return out;
}

RouteMatcher::RouteMatcher(const std::vector<std::string>& patterns, size_t max_segments)
    : max_segments_(max_segments == 0 ? 1 : max_segments) {
  for (const std::string& text : patterns) {
    Pattern p;
    p.text = text;
    std::vector<std::string_view> segs = Segments(text);
    for (size_t i = 0; i < segs.size(); ++i) {
      std::string_view s = segs[i];
      if (s == "*") {
        if (i + 1 == segs.size()) {
          p.tail_wildcard = true;
        } else {
          p.segs.push_back({SegKind::kWildcard, {}});
        }
      } else if (s.size() >= 2 && s.front() == '{' && s.back() == '}') {
        p.segs.push_back({SegKind::kParam, {}});
      } else {
        p.segs.push_back({SegKind::kLiteral, std::string(s)});
      }
    }
    patterns_.push_back(std::move(p));
  }
}

bool RouteMatcher::Matches(const Pattern& p, const std::vector<std::string_view>& path) {
  if (p.tail_wildcard ? path.size() < p.segs.size() : path.size() != p.segs.size()) return false;
  for (size_t i = 0; i < p.segs.size(); ++i) {
    if (p.segs[i].kind == SegKind::kLiteral && p.segs[i].text != path[i]) return false;
  }
  return true;
}

bool RouteMatcher::MoreSpecific(const Pattern& a, const Pattern& b) {
  auto rank = [](SegKind k) {
    return k == SegKind::kLiteral ? 3 : k == SegKind::kParam ? 2 : 1;
  };
  size_t n = std::min(a.segs.size(), b.segs.size());
  for (size_t i = 0; i < n; ++i) {
    int ra = rank(a.segs[i].kind), rb = rank(b.segs[i].kind);
    if (ra != rb) return ra > rb;
  }
  // Both matched the same path: the shorter one ends in a tail wildcard
  // where the longer one still has explicit segments.
  if (a.segs.size() != b.segs.size()) return a.segs.size() > b.segs.size();
  return !a.tail_wildcard && b.tail_wildcard;
}

const std::string* RouteMatcher::MatchConfigured(std::string_view path) const {
  if (patterns_.empty()) return nullptr;
  std::vector<std::string_view> segs = Segments(path);
  const Pattern* best = nullptr;
  for (const Pattern& p : patterns_) {
    if (Matches(p, segs) && (!best || MoreSpecific(p, *best))) best = &p;
  }
  return best ? &best->text : nullptr;
}

RouteResult RouteMatcher::Match(std::string_view target) const {
  return MatchPath(SplitRequestTarget(target).path);
}

RouteResult RouteMatcher::MatchPath(std::string_view path) const {
  RouteResult r;
  if (path.empty()) return r;
  if (const std::string* p = MatchConfigured(path)) {
    r.route = *p;
    r.configured = true;
  } else {
    r.route = HeuristicRoute(path, max_segments_);
  }
  return r;
}

}  // namespace sonde
