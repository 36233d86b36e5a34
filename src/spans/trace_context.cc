#include "spans/trace_context.h"

#include <strings.h>

#include <array>
#include <vector>

namespace sonde {
namespace {

// Version-00 layout: "vv-" + 32 + "-" + 16 + "-" + 2.
constexpr size_t kTraceIdPos = 3;
constexpr size_t kParentIdPos = kTraceIdPos + 32 + 1;  // 36
constexpr size_t kFlagsPos = kParentIdPos + 16 + 1;    // 53
constexpr size_t kV00Len = kFlagsPos + 2;              // 55
constexpr size_t kMaxTracestateMembers = 32;

// Lowercase hex only: the spec's HEXDIGLC. Uppercase makes the header invalid
// so that two producers never disagree on whether two ids are equal.
int LowerHexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

template <size_t N>
bool DecodeHex(std::string_view s, std::array<uint8_t, N>* out) {
  if (s.size() != 2 * N) return false;
  for (size_t i = 0; i < N; ++i) {
    int hi = LowerHexVal(s[2 * i]);
    int lo = LowerHexVal(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

bool NameIs(const std::string& name, std::string_view want) {
  return name.size() == want.size() && strncasecmp(name.data(), want.data(), want.size()) == 0;
}

bool IsOws(char c) { return c == ' ' || c == '\t'; }

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

bool IsLcAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// key = ( lcalpha / DIGIT ) 0*255 ( keychar ),
// keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@".
// This is the current grammar; it accepts every key of the older
// simple-key / tenant@system form too.
bool IsValidKey(std::string_view k) {
  if (k.empty() || k.size() > 256) return false;
  if (!IsLcAlpha(k[0]) && !IsDigit(k[0])) return false;
  for (char c : k) {
    if (!(IsLcAlpha(c) || IsDigit(c) || c == '_' || c == '-' || c == '*' || c == '/' || c == '@'))
      return false;
  }
  return true;
}

// value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr;
// nblk-chr = %x21-2B / %x2D-3C / %x3E-7E (printable except ',' and '=').
// Trailing spaces were already trimmed as OWS; leading spaces belong to the value.
bool IsValidValue(std::string_view v) {
  if (v.empty() || v.size() > 256) return false;
  for (char c : v) {
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  }
  return v.back() != ' ';
}

}  // namespace

std::optional<TraceContext> ParseTraceparent(std::string_view value) {
  std::string_view v = TrimOws(value);
  if (v.size() < kV00Len) return std::nullopt;

  int v_hi = LowerHexVal(v[0]);
  int v_lo = LowerHexVal(v[1]);
  if (v_hi < 0 || v_lo < 0 || v[2] != '-') return std::nullopt;
  int version = v_hi << 4 | v_lo;
  if (version == 0xff) return std::nullopt;
  if (version == 0 && v.size() != kV00Len) return std::nullopt;
  // A higher version may append fields, but only after a '-' that follows
  // the flags; anything else means the 00 layout does not apply.
  if (version > 0 && v.size() > kV00Len && v[kV00Len] != '-') return std::nullopt;

  if (v[kParentIdPos - 1] != '-' || v[kFlagsPos - 1] != '-') return std::nullopt;

  TraceContext ctx;
  std::array<uint8_t, 1> flags{};
  if (!DecodeHex(v.substr(kTraceIdPos, 32), &ctx.trace_id)) return std::nullopt;
  if (!DecodeHex(v.substr(kParentIdPos, 16), &ctx.parent_id)) return std::nullopt;
  if (!DecodeHex(v.substr(kFlagsPos, 2), &flags)) return std::nullopt;
  if (IsZero(ctx.trace_id) || IsZero(ctx.parent_id)) return std::nullopt;
  ctx.flags = flags[0];
  return ctx;
}

bool IsValidTracestate(std::string_view value) {
  size_t members = 0;
  std::vector<std::string_view> keys;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view member = TrimOws(value.substr(start, comma - start));
    start = comma + 1;
    if (member.empty()) continue;  // empty members are explicitly allowed
    if (++members > kMaxTracestateMembers) return false;
    size_t eq = member.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view key = member.substr(0, eq);
    if (!IsValidKey(key) || !IsValidValue(member.substr(eq + 1))) return false;
    for (std::string_view k : keys)
      if (k == key) return false;  // one entry per key: it is a position in the trace
    keys.push_back(key);
  }
  return true;
}

std::string FormatTraceparent(const TraceContext& ctx) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(kV00Len);
  out += "00-";
  out += ToHex(ctx.trace_id);
  out += '-';
  out += ToHex(ctx.parent_id);
  out += '-';
  out += kDigits[ctx.flags >> 4];
  out += kDigits[ctx.flags & 0xf];
  return out;
}

std::optional<TraceContext> ExtractTraceContext(const HeaderList& headers) {
  const std::string* traceparent = nullptr;
  std::string tracestate;
  bool have_tracestate = false;
  for (const auto& [name, value] : headers) {
    if (NameIs(name, "traceparent")) {
      if (traceparent) return std::nullopt;
      traceparent = &value;
    } else if (NameIs(name, "tracestate")) {
      // RFC 7230 field order: repeated fields combine with ',' in order.
      if (have_tracestate) tracestate += ',';
      tracestate += value;
      have_tracestate = true;
    }
  }
  if (!traceparent) return std::nullopt;
  std::optional<TraceContext> ctx = ParseTraceparent(*traceparent);
  if (!ctx) return std::nullopt;  // tracestate must not be parsed without a valid traceparent
  std::string_view ts = TrimOws(tracestate);
  if (IsValidTracestate(ts)) ctx->trace_state = std::string(ts);
  return ctx;
}

}  // namespace sonde
