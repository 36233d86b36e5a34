#include "decoders/postgres/pg_parser.h"

#include <algorithm>
#include <cstring>

namespace sonde::pg {

namespace {

// A check never looks at more than this many bytes, so resynchronisation,
// which runs it at many offsets, stays linear in practice.
constexpr size_t kCheckWindow = 1024;
// Bodies running past the window are judged on this many first bytes.
constexpr size_t kPrefixBytes = 64;
// A text prefix this long with no invalid byte is accepted as a query.
constexpr size_t kStrongTextPrefix = 32;
// The server caps result columns at 1664; more is not a row description.
constexpr uint16_t kMaxColumns = 1664;

bool IsTextByte(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 0x20 ? u != 0x7f : (c == '\t' || c == '\n' || c == '\r');
}

bool IsNameByte(char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; }

// A cursor over a message body; any read past the end marks it bad.
struct Reader {
  std::string_view rest;
  bool ok = true;

  uint32_t U32() {
    if (rest.size() < 4) return Fail();
    uint32_t v = ReadU32(rest.data());
    rest.remove_prefix(4);
    return v;
  }
  uint16_t U16() {
    if (rest.size() < 2) return Fail();
    uint16_t v = ReadU16(rest.data());
    rest.remove_prefix(2);
    return v;
  }
  uint8_t U8() {
    if (rest.empty()) return Fail();
    auto v = static_cast<uint8_t>(rest[0]);
    rest.remove_prefix(1);
    return v;
  }
  void Skip(size_t n) {
    if (rest.size() < n) {
      Fail();
      return;
    }
    rest.remove_prefix(n);
  }
  // A NUL-terminated string whose bytes all pass `valid`.
  std::string_view Str(bool (*valid)(char)) {
    size_t nul = rest.find('\0');
    if (nul == std::string_view::npos) {
      Fail();
      return {};
    }
    std::string_view s = rest.substr(0, nul);
    if (!std::all_of(s.begin(), s.end(), valid)) {
      Fail();
      return {};
    }
    rest.remove_prefix(nul + 1);
    return s;
  }
  uint32_t Fail() {
    ok = false;
    rest = {};
    return 0;
  }
  bool Done() const { return ok && rest.empty(); }
};

bool ValidFormats(Reader& r, bool allow_text_binary_only) {
  uint16_t n = r.U16();
  for (uint16_t i = 0; i < n && r.ok; ++i) {
    uint16_t f = r.U16();
    if (allow_text_binary_only && f > 1) return false;
  }
  return r.ok;
}

bool ValidErrorFields(std::string_view body) {
  Reader r{body};
  int fields = 0;
  while (r.ok) {
    uint8_t code = r.U8();
    if (!r.ok) return false;
    if (code == 0) return r.rest.empty() && fields > 0;
    if (!((code >= 'A' && code <= 'Z') || (code >= 'a' && code <= 'z'))) return false;
    r.Str([](char c) { return c != '\0'; });
    ++fields;
  }
  return false;
}

bool ValidTag(std::string_view tag) {
  if (tag.empty() || tag[0] < 'A' || tag[0] > 'Z') return false;
  return std::all_of(tag.begin(), tag.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == '_';
  });
}

// Structure check of a complete body.
bool CheckFrontendBody(char type, std::string_view body) {
  Reader r{body};
  switch (type) {
    case 'Q': r.Str(IsTextByte); return r.Done();
    case 'P': {
      r.Str(IsNameByte);
      r.Str(IsTextByte);
      uint16_t n = r.U16();
      r.Skip(4u * n);
      return r.Done();
    }
    case 'B': {
      r.Str(IsNameByte);
      r.Str(IsNameByte);
      if (!ValidFormats(r, true)) return false;
      uint16_t n = r.U16();
      for (uint16_t i = 0; i < n && r.ok; ++i) {
        uint32_t len = r.U32();
        if (len != 0xffffffffu) r.Skip(len);
      }
      return ValidFormats(r, true) && r.Done();
    }
    case 'E': r.Str(IsNameByte); r.U32(); return r.Done();
    case 'C':
    case 'D': {
      uint8_t kind = r.U8();
      if (kind != 'S' && kind != 'P') return false;
      r.Str(IsNameByte);
      return r.Done();
    }
    case 'f': r.Str(IsTextByte); return r.Done();
    case 'F': return body.size() >= 10;
    default: return true;  // fixed-length or opaque bodies (Sync, CopyData, password)
  }
}

bool CheckBackendBody(char type, std::string_view body) {
  Reader r{body};
  switch (type) {
    case 'R': {
      uint32_t code = r.U32();
      switch (code) {
        case 0: case 2: case 3: case 6: case 7: case 9: return r.Done();
        case 5: r.Skip(4); return r.Done();
        case 8: case 11: case 12: return r.ok;
        case 10:  // SASL mechanisms: a list of names ending with an empty one
          while (r.ok) {
            if (r.Str(IsNameByte).empty()) return r.Done();
          }
          return false;
        default: return false;
      }
    }
    case 'K': return body.size() >= 8 && body.size() <= 260;
    case 'Z': return body.size() == 1 && (body[0] == 'I' || body[0] == 'T' || body[0] == 'E');
    case 'T': {
      uint16_t n = r.U16();
      if (n > kMaxColumns) return false;
      for (uint16_t i = 0; i < n && r.ok; ++i) {
        r.Str(IsNameByte);
        r.Skip(18);
      }
      return r.Done();
    }
    case 'D': {
      uint16_t n = r.U16();
      if (n > kMaxColumns) return false;
      for (uint16_t i = 0; i < n && r.ok; ++i) {
        uint32_t len = r.U32();
        if (len != 0xffffffffu) r.Skip(len);
      }
      return r.Done();
    }
    case 'C': return ValidTag(r.Str(IsNameByte)) && r.Done();
    case 'E':
    case 'N': return ValidErrorFields(body);
    case 'S': {
      if (r.Str(IsNameByte).empty()) return false;
      r.Str(IsTextByte);
      return r.Done();
    }
    case 'G':
    case 'H':
    case 'W': {
      if (r.U8() > 1) return false;
      return ValidFormats(r, true) && r.Done();
    }
    case 't': {
      uint16_t n = r.U16();
      r.Skip(4u * n);
      return r.Done();
    }
    case 'A': r.U32(); r.Str(IsTextByte); r.Str(IsTextByte); return r.Done();
    case 'V': {
      uint32_t len = r.U32();
      if (len != 0xffffffffu) r.Skip(len);
      return r.Done();
    }
    case 'v': {
      r.U32();
      uint32_t n = r.U32();
      for (uint32_t i = 0; i < n && r.ok; ++i) r.Str(IsNameByte);
      return r.Done();
    }
    default: return true;  // fixed-length or opaque bodies (ParseComplete, CopyData)
  }
}

// Body length for types whose length never varies; -1 when it varies.
int FixedBody(Side side, char type) {
  if (side == Side::kFrontend) {
    return type == 'S' || type == 'H' || type == 'X' || type == 'c' ? 0 : -1;
  }
  switch (type) {
    case '1': case '2': case '3': case 'n': case 'I': case 's': case 'c': return 0;
    case 'Z': return 1;
    default: return -1;
  }
}

bool IsStrong(Side side, char type) {
  if (side == Side::kFrontend) return type == 'Q' || type == 'P' || type == 'B' || type == 'E';
  switch (type) {
    case 'R': case 'K': case 'Z': case 'T': case 'D': case 'C': case 'E': case 'N': case 'S':
    case 'G': case 'H': case 'W': case 't': case 'A': case 'v': return true;
    default: return false;
  }
}

// The first bytes of a body that runs past the check window: kNo when they
// are already impossible, kYes when they are specific enough to accept,
// kNeedMore for no opinion. A function of exactly the bytes given, which the
// caller fixes (kPrefixBytes, or what the window holds), so the verdict does
// not depend on how the stream was chunked.
Check CheckPrefix(Side side, char type, std::string_view prefix, uint32_t body_len) {
  if (side == Side::kFrontend && (type == 'Q' || type == 'P')) {
    std::string_view text = prefix;
    if (type == 'P') {
      size_t nul = text.find('\0');
      if (nul == std::string_view::npos) {
        return std::all_of(text.begin(), text.end(), IsNameByte) ? Check::kNeedMore : Check::kNo;
      }
      if (!std::all_of(text.begin(), text.begin() + nul, IsNameByte)) return Check::kNo;
      text.remove_prefix(nul + 1);
      // Parameter types follow the query's NUL.
      text = text.substr(0, text.find('\0'));
    }
    // A Query's NUL ends its body, which runs past these bytes.
    if (!std::all_of(text.begin(), text.end(), IsTextByte)) return Check::kNo;
    return text.size() >= kStrongTextPrefix ? Check::kYes : Check::kNeedMore;
  }
  if (side == Side::kBackend && type == 'D') {
    // Walk the columns that start inside the prefix; each must fit the body.
    Reader r{prefix};
    uint16_t n = r.U16();
    if (!r.ok) return Check::kNeedMore;
    if (n > kMaxColumns) return Check::kNo;
    uint64_t used = 2;
    for (uint16_t i = 0; i < n; ++i) {
      uint32_t len = r.U32();
      if (!r.ok) break;
      used += 4;
      if (len != 0xffffffffu) {
        if (used + len > body_len) return Check::kNo;
        used += len;
        if (r.rest.size() < len) break;
        r.Skip(len);
      }
    }
    return prefix.size() >= kPrefixBytes ? Check::kYes : Check::kNeedMore;
  }
  return Check::kNeedMore;
}

}  // namespace

bool IsMessageType(Side side, char type) {
  static constexpr char kFrontend[] = "QPBEDSHCXdcfFp";
  static constexpr char kBackend[] = "RK23CdcGHWDIEVvnNAtS1sZT";
  const char* set = side == Side::kFrontend ? kFrontend : kBackend;
  return type != '\0' && std::strchr(set, type) != nullptr;
}

size_t KeepLimit(Side side, char type) {
  if (side == Side::kFrontend) {
    switch (type) {
      case 'Q': return kMaxQueryText + 1;
      case 'P': return kMaxName + 1 + kMaxQueryText + 1;
      case 'B': return 2 * (kMaxName + 1);
      case 'E': case 'C': case 'D': return kMaxName + 2;
      default: return 0;  // password messages in particular are never kept
    }
  }
  switch (type) {
    case 'C': return 256;
    case 'E': return 2048;
    case 'Z': return 1;
    default: return 0;
  }
}

Check CheckMessages(Side side, std::string_view buf) {
  // The verdict depends on the first kCheckWindow bytes only, and is given
  // as soon as more bytes could not change it (or the data ends at a message
  // boundary, where waiting would stall every short exchange): chunking the
  // same bytes differently gives the same verdict.
  const std::string_view view = buf.substr(0, kCheckWindow);
  size_t off = 0;
  int complete = 0;
  bool strong = false;
  bool cut = false;  // the data ended inside a message that fits the window
  int n = 0;
  for (; n < 4 && off < view.size(); ++n) {
    std::string_view rest = view.substr(off);
    const char type = rest[0];
    if (!IsMessageType(side, type)) return Check::kNo;
    // The length's top byte: lengths are below 1 GiB.
    if (rest.size() >= 2 && static_cast<unsigned char>(rest[1]) > 0x3f) return Check::kNo;
    if (rest.size() < 5) {
      // The header is cut by the end of the data, or of the window.
      cut = off + rest.size() == buf.size();
      if (!cut) off = kCheckWindow;
      break;
    }
    const uint32_t len = ReadU32(rest.data() + 1);
    if (len < 4 || len > kMaxMessageLength) return Check::kNo;
    const int fixed = FixedBody(side, type);
    if (fixed >= 0 && len != 4u + static_cast<uint32_t>(fixed)) return Check::kNo;
    const uint32_t body_len = len - 4;
    std::string_view body = rest.substr(5);
    if (body.size() >= body_len) {
      body = body.substr(0, body_len);
      if (!(side == Side::kFrontend ? CheckFrontendBody(type, body) : CheckBackendBody(type, body))) {
        return Check::kNo;
      }
      ++complete;
      strong |= IsStrong(side, type);
      off += 1 + len;
      continue;
    }
    if (off + 1 + len <= kCheckWindow) {
      // It would fit the window: wait for all of it (a prefix that is
      // already impossible need not wait).
      if (CheckPrefix(side, type, body, body_len) == Check::kNo) return Check::kNo;
      cut = true;
      break;
    }
    // It runs past the window: judge its first bytes.
    const size_t want = std::min(kPrefixBytes, kCheckWindow - off - 5);
    if (body.size() < want) {
      if (CheckPrefix(side, type, body, body_len) == Check::kNo) return Check::kNo;
      cut = true;
      break;
    }
    Check c = CheckPrefix(side, type, body.substr(0, want), body_len);
    if (c == Check::kNo) return Check::kNo;
    strong |= c == Check::kYes;
    off = kCheckWindow;
    break;
  }
  if (cut) return Check::kNeedMore;
  if (strong || complete >= 3) return Check::kYes;
  // Weak evidence so far: more messages may still come within the window.
  return n < 4 && off < kCheckWindow ? Check::kNeedMore : Check::kNo;
}

bool ValidStartupHeader(uint32_t length, uint32_t code) {
  switch (code) {
    case kSslRequestCode:
    case kGssEncRequestCode: return length == 8;
    case kCancelRequestCode: return length == 16;
    default:
      // 3.0, and the minor versions newer clients may ask for.
      return (code >> 16) == 3 && (code & 0xffff) <= 2 && length > 8 && length <= kMaxStartupPacket;
  }
}

Check CheckStartupPacket(std::string_view buf) {
  if (buf.empty() || buf[0] != '\0') return Check::kNo;
  if (buf.size() < 8) {
    // Lengths are below 10000: the second byte is small too.
    if (buf.size() >= 2 && static_cast<unsigned char>(buf[1]) > 0x27) return Check::kNo;
    if (buf.size() >= 5 && buf[4] != '\0' && buf[4] != 0x04) return Check::kNo;
    return Check::kNeedMore;
  }
  const uint32_t len = ReadU32(buf.data());
  const uint32_t code = ReadU32(buf.data() + 4);
  if (!ValidStartupHeader(len, code)) return Check::kNo;
  if ((code >> 16) != 3) return Check::kYes;
  if (buf.size() < len) {
    // The first parameter bytes: text and NULs, starting with a name
    // (clients always send "user"). Other length-prefixed binary protocols
    // fail here. A fixed count, so that chunking does not change the verdict.
    std::string_view params = buf.substr(8, kPrefixBytes);
    if (!params.empty() && params[0] == '\0') return Check::kNo;
    if (!std::all_of(params.begin(), params.end(), [](char c) { return c == '\0' || IsTextByte(c); })) {
      return Check::kNo;
    }
    return params.size() < std::min<size_t>(kPrefixBytes, len - 8) ? Check::kNeedMore : Check::kYes;
  }
  // A whole StartupMessage: name/value pairs ending with an empty name.
  StartupParams params;
  return ParseStartupParams(buf.substr(8, len - 8), &params) ? Check::kYes : Check::kNo;
}

bool TakeCString(std::string_view* rest, std::string_view* out) {
  size_t nul = rest->find('\0');
  if (nul == std::string_view::npos) return false;
  *out = rest->substr(0, nul);
  rest->remove_prefix(nul + 1);
  return true;
}

bool ParseStartupParams(std::string_view body, StartupParams* out) {
  Reader r{body};
  while (r.ok) {
    std::string_view name = r.Str(IsNameByte);
    if (!r.ok) return false;
    if (name.empty()) return r.Done();
    std::string_view value = r.Str(IsTextByte);
    if (!r.ok) return false;
    value = value.substr(0, kMaxParamValue);
    if (name == "user") out->user = value;
    if (name == "database") out->database = value;
    if (name == "application_name") out->application_name = value;
  }
  return false;
}

bool ParseParse(std::string_view body, bool complete, std::string_view* name,
                std::string_view* query) {
  if (!TakeCString(&body, name)) return false;
  size_t nul = body.find('\0');
  if (nul == std::string_view::npos) {
    if (complete) return false;
    *query = body;  // the text runs past what was kept
    return true;
  }
  *query = body.substr(0, nul);
  return true;
}

bool ParseBind(std::string_view body, std::string_view* portal, std::string_view* statement) {
  return TakeCString(&body, portal) && TakeCString(&body, statement);
}

bool ParseExecute(std::string_view body, std::string_view* portal) {
  return TakeCString(&body, portal);
}

bool ParseTarget(std::string_view body, char* kind, std::string_view* name) {
  if (body.empty() || (body[0] != 'S' && body[0] != 'P')) return false;
  *kind = body[0];
  body.remove_prefix(1);
  return TakeCString(&body, name);
}

bool ParseCommandTag(std::string_view body, std::string* tag, int64_t* rows) {
  std::string_view t;
  if (!TakeCString(&body, &t) || t.empty()) return false;
  *tag = t;
  *rows = -1;
  // The count is the last word when it is a number ("INSERT 0 1" counts 1 row).
  size_t sp = t.rfind(' ');
  if (sp == std::string_view::npos) return true;
  std::string_view num = t.substr(sp + 1);
  if (num.empty() || num.size() > 18) return true;
  int64_t v = 0;
  for (char c : num) {
    if (c < '0' || c > '9') return true;
    v = v * 10 + (c - '0');
  }
  *rows = v;
  return true;
}

bool ParseErrorFields(std::string_view body, PgError* out) {
  std::string severity_localized;
  bool any = false;
  while (!body.empty() && body[0] != '\0') {
    char code = body[0];
    body.remove_prefix(1);
    std::string_view value;
    if (!TakeCString(&body, &value)) break;  // cut: keep the complete fields
    any = true;
    switch (code) {
      case 'S': severity_localized = value.substr(0, 32); break;
      case 'V': out->severity = value.substr(0, 32); break;
      case 'C': out->sqlstate = value.substr(0, 5); break;
      case 'M': out->message = value.substr(0, kMaxErrorMessage); break;
      default: break;
    }
  }
  if (out->severity.empty()) out->severity = severity_localized;
  return any;
}

}  // namespace sonde::pg
