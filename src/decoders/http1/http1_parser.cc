#include "decoders/http1/http1_parser.h"

#include <algorithm>
#include <array>

namespace sonde::http1 {

namespace {

constexpr std::string_view kProto = "HTTP/1.";
constexpr uint64_t kMaxContentLength = uint64_t{1} << 62;

bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsMethodChar(char c) { return IsUpper(c) || c == '-' || c == '_'; }
// Visible bytes; obs-text is tolerated because some clients send raw UTF-8.
bool IsTargetChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u != 0x7f;
}
bool IsCtl(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7f;
}
bool IsTchar(char c) {
  if (IsUpper(c) || IsDigit(c) || (c >= 'a' && c <= 'z')) return true;
  return c != '\0' && std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Registered methods: an unknown upper-case token is still accepted on a
// complete request line, but protocol inference on a partial line wants one
// of these to avoid claiming other text protocols.
constexpr std::array<std::string_view, 21> kKnownMethods = {
    "GET",   "HEAD",   "POST",     "PUT",       "DELETE",     "CONNECT", "OPTIONS",
    "TRACE", "PATCH",  "PROPFIND", "PROPPATCH", "MKCOL",      "COPY",    "MOVE",
    "LOCK",  "UNLOCK", "SEARCH",   "REPORT",    "MKCALENDAR", "PURGE",   "LINK"};

bool IsKnownMethod(std::string_view m) {
  return std::find(kKnownMethods.begin(), kKnownMethods.end(), m) != kKnownMethods.end();
}

// `v` starts at the version of a request line: "HTTP/1.x" EOL.
LineCheck CheckVersionEol(std::string_view v) {
  size_t m = std::min(v.size(), kProto.size());
  if (v.substr(0, m) != kProto.substr(0, m)) return LineCheck::kInvalid;
  if (v.size() <= kProto.size()) return LineCheck::kPrefix;
  if (!IsDigit(v[7])) return LineCheck::kInvalid;
  if (v.size() == 8) return LineCheck::kPrefix;
  if (v[8] == '\n') return LineCheck::kValid;
  if (v[8] != '\r') return LineCheck::kInvalid;
  if (v.size() == 9) return LineCheck::kPrefix;
  return v[9] == '\n' ? LineCheck::kValid : LineCheck::kInvalid;
}

// Splits off one line (without its EOL). False when no '\n' is left.
bool NextLine(std::string_view block, size_t* pos, std::string_view* line) {
  size_t nl = block.find('\n', *pos);
  if (nl == std::string_view::npos) return false;
  *line = block.substr(*pos, nl - *pos);
  if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
  *pos = nl + 1;
  return true;
}

bool ParseContentLength(std::string_view value, uint64_t* out) {
  // A list of identical values ("5, 5") is allowed; anything else is not.
  bool have = false;
  uint64_t result = 0;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    std::string_view item = Trim(value.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (item.empty() || item.size() > 19) return false;
    uint64_t v = 0;
    for (char c : item) {
      if (!IsDigit(c)) return false;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v > kMaxContentLength) return false;
    if (have && v != result) return false;
    result = v;
    have = true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  *out = result;
  return have;
}

// Returns -1 when there are no Content-Length fields, 0 when they are bad.
int FindContentLength(const HeaderList& headers, uint64_t* length) {
  bool seen = false;
  uint64_t result = 0;
  for (const auto& [name, value] : headers) {
    if (!EqualsIgnoreCase(name, "Content-Length")) continue;
    uint64_t v = 0;
    if (!ParseContentLength(value, &v)) return 0;
    if (seen && v != result) return 0;
    result = v;
    seen = true;
  }
  if (!seen) return -1;
  *length = result;
  return 1;
}

// Returns -1 without Transfer-Encoding, 1 when its final coding is chunked, 0 otherwise.
int TransferEncodingChunked(const HeaderList& headers) {
  std::string_view last;
  bool seen = false;
  for (const auto& [name, value] : headers) {
    if (!EqualsIgnoreCase(name, "Transfer-Encoding")) continue;
    seen = true;
    std::string_view v = value;
    size_t comma = v.rfind(',');
    std::string_view coding = Trim(comma == std::string_view::npos ? v : v.substr(comma + 1));
    if (!coding.empty()) last = coding;
  }
  if (!seen) return -1;
  return EqualsIgnoreCase(last, "chunked") ? 1 : 0;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

LineCheck CheckRequestLine(std::string_view buf) {
  const size_t n = buf.size();
  size_t i = 0;
  while (i < n && IsMethodChar(buf[i])) {
    if (++i > kMaxMethodBytes) return LineCheck::kInvalid;
  }
  if (i == n) return LineCheck::kPrefix;
  if (i == 0 || buf[i] != ' ') return LineCheck::kInvalid;
  const size_t target = ++i;
  while (i < n && IsTargetChar(buf[i])) {
    if (++i - target > kMaxStartLineBytes) return LineCheck::kInvalid;
  }
  if (i == n) return LineCheck::kPrefix;
  if (i == target || buf[i] != ' ') return LineCheck::kInvalid;
  return CheckVersionEol(buf.substr(i + 1));
}

LineCheck CheckStatusLine(std::string_view buf) {
  const size_t n = buf.size();
  size_t m = std::min(n, kProto.size());
  if (buf.substr(0, m) != kProto.substr(0, m)) return LineCheck::kInvalid;
  // "HTTP/1.x SP ddd"
  for (size_t i = kProto.size(); i < 12; ++i) {
    if (i >= n) return LineCheck::kPrefix;
    bool ok = (i == 8) ? buf[i] == ' ' : IsDigit(buf[i]);
    if (!ok) return LineCheck::kInvalid;
  }
  size_t i = 12;
  if (i < n && buf[i] == ' ') {
    ++i;
    while (i < n && buf[i] != '\r' && buf[i] != '\n') {
      if (IsCtl(buf[i])) return LineCheck::kInvalid;
      if (++i > kMaxStartLineBytes) return LineCheck::kInvalid;
    }
  }
  if (i == n) return LineCheck::kPrefix;
  if (buf[i] == '\n') return LineCheck::kValid;
  if (buf[i] != '\r') return LineCheck::kInvalid;
  if (i + 1 == n) return LineCheck::kPrefix;
  return buf[i + 1] == '\n' ? LineCheck::kValid : LineCheck::kInvalid;
}

LineCheck CheckStartLine(std::string_view buf, bool requests, size_t* scan) {
  // Longest line either check can still call a prefix: method or status,
  // target or reason, version and EOL.
  constexpr size_t kLongestLine = kMaxMethodBytes + kMaxStartLineBytes + 16;
  constexpr size_t kQuickLook = 64;
  auto check = [requests](std::string_view b) {
    return requests ? CheckRequestLine(b) : CheckStatusLine(b);
  };
  size_t nl = buf.find('\n', std::min(*scan, buf.size()));
  if (nl == std::string_view::npos) {
    *scan = buf.size();
    if (buf.size() > kLongestLine) return LineCheck::kInvalid;
    return check(buf.substr(0, kQuickLook)) == LineCheck::kInvalid ? LineCheck::kInvalid
                                                                   : LineCheck::kPrefix;
  }
  return check(buf.substr(0, nl + 1));
}

StartKind ClassifyStart(std::string_view data) {
  if (data.empty()) return StartKind::kMaybe;
  LineCheck req = CheckRequestLine(data);
  if (req == LineCheck::kValid) return StartKind::kRequest;
  if (req == LineCheck::kPrefix) {
    // A registered method followed by a usual target start is enough; writers
    // often send the request line across several syscalls.
    size_t sp = data.find(' ');
    if (sp != std::string_view::npos && sp + 1 < data.size()) {
      std::string_view method = data.substr(0, sp);
      std::string_view target = data.substr(sp + 1);
      if (IsKnownMethod(method) && (target[0] == '/' || target[0] == '*' || method == "CONNECT" ||
                                    std::string_view("http").starts_with(target.substr(0, 4)))) {
        return StartKind::kRequest;
      }
    }
    return StartKind::kMaybe;
  }
  LineCheck resp = CheckStatusLine(data);
  if (resp == LineCheck::kValid) return StartKind::kResponse;
  if (resp == LineCheck::kPrefix)
    return data.size() >= 12 ? StartKind::kResponse : StartKind::kMaybe;
  return StartKind::kNo;
}

size_t FindMessageStart(std::string_view buf, bool requests, size_t from, bool* complete) {
  for (size_t p = from; p < buf.size(); ++p) {
    char c = buf[p];
    if (requests ? !IsUpper(c) : c != 'H') continue;
    LineCheck r = requests ? CheckRequestLine(buf.substr(p)) : CheckStatusLine(buf.substr(p));
    if (r == LineCheck::kInvalid) continue;
    // A prefix runs to the end of `buf` without an EOL, so no later position
    // can hold a complete line: the earliest candidate is the one to keep.
    *complete = r == LineCheck::kValid;
    return p;
  }
  return std::string_view::npos;
}

size_t FindBlockEnd(std::string_view buf, size_t* scan_from) {
  size_t pos = *scan_from;
  if (pos == 0) {
    // A block may be empty (a trailer section with no fields).
    if (buf.starts_with("\n")) return 1;
    if (buf.starts_with("\r\n")) return 2;
    if (buf.size() < 2 && (buf.empty() || buf[0] == '\r')) return std::string_view::npos;
  }
  for (;;) {
    size_t nl = buf.find('\n', pos);
    if (nl == std::string_view::npos) {
      *scan_from = buf.size();
      return std::string_view::npos;
    }
    if (nl + 1 < buf.size() && buf[nl + 1] == '\n') return nl + 2;
    if (nl + 2 < buf.size() && buf[nl + 1] == '\r' && buf[nl + 2] == '\n') return nl + 3;
    if (nl + 1 >= buf.size() || (buf[nl + 1] == '\r' && nl + 2 >= buf.size())) {
      // Not yet known whether the next line is blank: look at this '\n' again.
      *scan_from = nl;
      return std::string_view::npos;
    }
    pos = nl + 1;
  }
}

bool ParseFields(std::string_view block, HeaderList* out) {
  const size_t first = out->size();
  // At most one field per line: one allocation, not one per doubling.
  out->reserve(first + static_cast<size_t>(std::count(block.begin(), block.end(), '\n')));
  size_t pos = 0;
  std::string_view line;
  while (NextLine(block, &pos, &line)) {
    if (line.empty()) return true;
    if (line[0] == ' ' || line[0] == '\t') {
      // obs-fold: a continuation of the previous field's value.
      if (out->size() == first) return false;
      std::string_view more = Trim(line);
      for (char c : more) {
        if (IsCtl(c)) return false;
      }
      std::string& value = out->back().second;
      if (!more.empty()) {
        if (!value.empty()) value += ' ';
        value.append(more);
      }
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!IsTchar(c)) return false;
    }
    std::string_view value = Trim(line.substr(colon + 1));
    for (char c : value) {
      if (IsCtl(c)) return false;
    }
    out->emplace_back(std::string(name), std::string(value));
  }
  return false;  // no blank line: not a complete block
}

bool ParseRequestHead(std::string_view block, RequestHead* out) {
  if (CheckRequestLine(block) != LineCheck::kValid) return false;
  size_t pos = 0;
  std::string_view line;
  NextLine(block, &pos, &line);
  size_t sp1 = line.find(' ');
  size_t sp2 = line.find(' ', sp1 + 1);
  out->method.assign(line.substr(0, sp1));
  out->target.assign(line.substr(sp1 + 1, sp2 - sp1 - 1));
  out->version.assign(line.substr(sp2 + 1 + 5, 3));
  out->headers.clear();
  return ParseFields(block.substr(pos), &out->headers);
}

bool ParseResponseHead(std::string_view block, ResponseHead* out) {
  if (CheckStatusLine(block) != LineCheck::kValid) return false;
  size_t pos = 0;
  std::string_view line;
  NextLine(block, &pos, &line);
  out->version.assign(line.substr(5, 3));
  out->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  out->reason.assign(line.size() > 13 ? Trim(line.substr(13)) : std::string_view());
  out->headers.clear();
  return ParseFields(block.substr(pos), &out->headers);
}

ParseState ParseChunkSizeLine(std::string_view buf, uint64_t* size, size_t* consumed) {
  const size_t n = buf.size();
  size_t i = 0;
  uint64_t value = 0;
  for (; i < n; ++i) {
    int h = HexValue(buf[i]);
    if (h < 0) break;
    if (i >= 15) return ParseState::kInvalid;  // keeps sizes far below overflow
    value = value * 16 + static_cast<uint64_t>(h);
  }
  if (i == n) return ParseState::kNeedsMoreData;
  if (i == 0) return ParseState::kInvalid;
  char c = buf[i];
  if (c != ';' && c != ' ' && c != '\t' && c != '\r' && c != '\n') return ParseState::kInvalid;
  // Extensions (";name=value") carry nothing span building needs; only bound them.
  for (; i < n && buf[i] != '\r' && buf[i] != '\n'; ++i) {
    if (IsCtl(buf[i]) || i >= kMaxChunkLineBytes) return ParseState::kInvalid;
  }
  size_t end = 0;
  ParseState st = ParseLineEnd(buf.substr(i), &end);
  if (st != ParseState::kSuccess) return st;
  *size = value;
  *consumed = i + end;
  return ParseState::kSuccess;
}

ParseState ParseLineEnd(std::string_view buf, size_t* consumed) {
  if (buf.empty()) return ParseState::kNeedsMoreData;
  if (buf[0] == '\n') {
    *consumed = 1;
    return ParseState::kSuccess;
  }
  if (buf[0] != '\r') return ParseState::kInvalid;
  if (buf.size() == 1) return ParseState::kNeedsMoreData;
  if (buf[1] != '\n') return ParseState::kInvalid;
  *consumed = 2;
  return ParseState::kSuccess;
}

bool RequestFraming(const HeaderList& headers, BodyFraming* out) {
  int te = TransferEncodingChunked(headers);
  if (te == 0) return false;  // a request body must end somewhere other than close
  uint64_t length = 0;
  int cl = FindContentLength(headers, &length);
  if (cl == 0) return false;
  if (te == 1) {
    *out = {BodyKind::kChunked, 0};
  } else if (cl == 1) {
    *out = {length == 0 ? BodyKind::kNone : BodyKind::kLength, length};
  } else {
    *out = {BodyKind::kNone, 0};
  }
  return true;
}

bool ResponseFraming(const HeaderList& headers, int status, std::string_view request_method,
                     BodyFraming* out) {
  if (request_method == "HEAD" || (status >= 100 && status < 200) || status == 204 ||
      status == 304) {
    *out = {BodyKind::kNone, 0};
    return true;
  }
  int te = TransferEncodingChunked(headers);
  if (te == 1) {
    *out = {BodyKind::kChunked, 0};
    return true;
  }
  if (te == 0) {
    *out = {BodyKind::kUntilClose, 0};
    return true;
  }
  uint64_t length = 0;
  int cl = FindContentLength(headers, &length);
  if (cl == 0) return false;
  if (cl == 1) {
    *out = {length == 0 ? BodyKind::kNone : BodyKind::kLength, length};
  } else {
    *out = {BodyKind::kUntilClose, 0};
  }
  return true;
}

}  // namespace sonde::http1
