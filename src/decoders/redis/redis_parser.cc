#include "decoders/redis/redis_parser.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace sonde::redis {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
char Upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
bool IsBlank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Types whose line is a (signed) decimal integer.
bool IsIntegerLine(char t) {
  return t == '$' || t == '*' || t == '%' || t == '~' || t == '>' || t == '|' || t == '!' ||
         t == '=' || t == ':' || t == '(';
}

// Whether `c` may appear at offset `i` of the line of type `t` (offset 0 is
// the first byte after the type). Lets garbage fail on its first bad byte.
bool LineCharOk(char t, size_t i, char c) {
  if (t == '+' || t == '-') return c != '\n';
  if (IsIntegerLine(t))
    return IsDigit(c) || (i == 0 && c == '-') || (t == '(' && i == 0 && c == '+');
  if (t == ',')
    return IsDigit(c) || std::string_view("+-.eEinfa").find(c) != std::string_view::npos;
  if (t == '#') return i == 0 && (c == 't' || c == 'f');
  return false;  // '_' has an empty line
}

bool ParseInt(std::string_view s, int64_t* out) {
  const bool neg = !s.empty() && s[0] == '-';
  if (neg || (!s.empty() && s[0] == '+')) s.remove_prefix(1);
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');  // 19 digits cannot wrap a uint64_t
  }
  if (v > static_cast<uint64_t>(INT64_MAX)) return false;
  *out = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  return true;
}

bool ValidDouble(std::string_view s) {
  if (s == "inf" || s == "-inf" || s == "nan") return true;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool digits = false;
  for (char c : s) {
    if (IsDigit(c)) {
      digits = true;
    } else if (c != '.' && c != 'e' && c != 'E' && c != '-' && c != '+') {
      return false;
    }
  }
  return digits;
}

bool ValidCount(char t, int64_t n) {
  const int64_t min = (t == '$' || t == '*') ? -1 : 0;  // only these have RESP2 nulls
  if (n < min) return false;
  if (IsBulkType(t)) return n <= kMaxBulkBytes;
  return n <= kMaxElements;
}

// Commands worth recognising in an inline line during inference; the
// decoder itself accepts any name.
constexpr std::array<std::string_view, 84> kInlineCommands = {
    "APPEND",  "AUTH",    "BLPOP",       "BRPOP",      "CLIENT",  "COMMAND", "CONFIG",    "DBSIZE",
    "DECR",    "DECRBY",  "DEL",         "DISCARD",    "ECHO",    "EVAL",    "EVALSHA",   "EXEC",
    "EXISTS",  "EXPIRE",  "FLUSHALL",    "FLUSHDB",    "GET",     "GETDEL",  "GETSET",    "HDEL",
    "HELLO",   "HEXISTS", "HGET",        "HGETALL",    "HINCRBY", "HKEYS",   "HLEN",      "HMGET",
    "HMSET",   "HSET",    "INCR",        "INCRBY",     "INFO",    "KEYS",    "LINDEX",    "LLEN",
    "LPOP",    "LPUSH",   "LRANGE",      "LREM",       "MGET",    "MONITOR", "MSET",      "MULTI",
    "PERSIST", "PEXPIRE", "PING",        "PSUBSCRIBE", "PTTL",    "PUBLISH", "QUIT",      "RENAME",
    "RESET",   "RPOP",    "RPUSH",       "SADD",       "SCAN",    "SCARD",   "SELECT",    "SET",
    "SETEX",   "SETNX",   "SISMEMBER",   "SMEMBERS",   "SREM",    "STRLEN",  "SUBSCRIBE", "TTL",
    "TYPE",    "UNLINK",  "UNSUBSCRIBE", "WATCH",      "XADD",    "XRANGE",  "XREAD",     "ZADD",
    "ZCARD",   "ZRANGE",  "ZREM",        "ZSCORE"};

// Memcached's text protocol (and FTP/SMTP/POP3's QUIT) share these verbs:
// "get k\r\n" is both. Real Redis clients never send inline commands, so
// such a line alone does not decide; the other direction's first reply does.
constexpr std::array<std::string_view, 6> kAmbiguousInline = {"APPEND", "DECR", "GET",
                                                              "INCR",   "QUIT", "SET"};

// Error prefixes redis-server sends, for inference on a reply direction.
constexpr std::array<std::string_view, 22> kErrorPrefixes = {
    "ERR",     "WRONGTYPE", "NOAUTH",     "NOPERM",    "WRONGPASS",   "MOVED",
    "ASK",     "LOADING",   "BUSY",       "NOSCRIPT",  "READONLY",    "EXECABORT",
    "OOM",     "MISCONF",   "NOREPLICAS", "CROSSSLOT", "CLUSTERDOWN", "TRYAGAIN",
    "BUSYKEY", "UNBLOCKED", "NOGROUP",    "NOPROTO"};

// 0: no match, 1: `word` is a proper prefix of an entry, 2: equal to one.
template <size_t N>
int MatchWord(const std::array<std::string_view, N>& list, std::string_view word) {
  int best = 0;
  for (std::string_view w : list) {
    if (w.size() < word.size()) continue;
    if (!EqualsIgnoreCase(w.substr(0, word.size()), word)) continue;
    if (w.size() == word.size()) return 2;
    best = 1;
  }
  return best;
}

// A complete line (through '\n') of printable text, at most `max` bytes.
// Servers end lines with CRLF; people typing inline commands may send LF.
StartKind CheckTextLine(std::string_view data, size_t from, size_t max, bool lf_ok) {
  for (size_t i = from; i < data.size() && i < max; ++i) {
    const auto u = static_cast<unsigned char>(data[i]);
    if (data[i] == '\n') {
      return lf_ok || (i > 0 && data[i - 1] == '\r') ? StartKind::kYes : StartKind::kNo;
    }
    if (data[i] == '\r') {
      if (i + 1 < data.size() && data[i + 1] != '\n') return StartKind::kNo;
      continue;
    }
    if (u < 0x20 && data[i] != '\t') return StartKind::kNo;
  }
  return data.size() < max ? StartKind::kMaybe : StartKind::kNo;
}

// Pub/sub pushes in RESP2 are arrays of bulk strings, like commands; these
// first elements are never command names.
bool StartsWithPushWord(std::string_view data) {
  for (std::string_view w : {"message", "pmessage", "smessage", "pong"}) {
    std::string head = "$" + std::to_string(w.size()) + "\r\n" + std::string(w) + "\r\n";
    size_t p = data.find("\r\n");
    if (p != std::string_view::npos && data.substr(p + 2, head.size()) == head) return true;
  }
  return false;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Upper(a[i]) != Upper(b[i])) return false;
  }
  return true;
}

std::string ToUpperAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Upper(c);
  return out;
}

bool IsReplyTypeByte(char c) {
  return c != '\0' && std::string_view("+-:$*%~>|!=,(#_").find(c) != std::string_view::npos;
}
bool IsAggregateType(char c) { return c == '*' || c == '%' || c == '~' || c == '>' || c == '|'; }
bool IsBulkType(char c) { return c == '$' || c == '!' || c == '='; }
bool IsCommandNameChar(char c) {
  return IsAlpha(c) || IsDigit(c) || c == '-' || c == '_' || c == '.' || c == '|' || c == ':';
}

ParseState ParseTypeLine(std::string_view buf, TypeLine* out, size_t* consumed) {
  if (buf.empty()) return ParseState::kNeedsMoreData;
  const char t = buf[0];
  if (!IsReplyTypeByte(t)) return ParseState::kInvalid;
  // Lengths and counts are short: anything long is garbage, found early.
  const size_t max = t == '+' || t == '-' ? kMaxLineBytes : t == '(' || t == ',' ? 512 : 32;
  size_t i = 1;
  for (; i < buf.size() && buf[i] != '\r'; ++i) {
    if (i - 1 >= max || !LineCharOk(t, i - 1, buf[i])) return ParseState::kInvalid;
  }
  if (i + 1 >= buf.size()) return ParseState::kNeedsMoreData;
  if (buf[i + 1] != '\n') return ParseState::kInvalid;
  TypeLine line;
  line.type = t;
  line.text = buf.substr(1, i - 1);
  if (IsIntegerLine(t) && t != '(') {
    if (!ParseInt(line.text, &line.n)) return ParseState::kInvalid;
    if (t != ':' && !ValidCount(t, line.n)) return ParseState::kInvalid;
  } else if (t == '(') {
    std::string_view d = line.text;
    if (!d.empty() && (d[0] == '-' || d[0] == '+')) d.remove_prefix(1);
    if (d.empty()) return ParseState::kInvalid;
  } else if (t == ',') {
    if (!ValidDouble(line.text)) return ParseState::kInvalid;
  } else if (t == '#') {
    if (line.text.size() != 1) return ParseState::kInvalid;
  } else if (t == '_') {
    if (!line.text.empty()) return ParseState::kInvalid;
  }
  *out = line;
  *consumed = i + 2;
  return ParseState::kSuccess;
}

std::string* KeepArg(RedisCommand* cmd, size_t index, std::string_view value) {
  if (cmd->redacted) return nullptr;
  if (IsSecretArg(cmd->args, index)) {
    cmd->redacted = true;
    return nullptr;
  }
  if (index >= kMaxKeptArgs || cmd->args.size() != index) return nullptr;
  cmd->args.emplace_back(value.substr(0, kMaxArgBytes));
  return &cmd->args.back();
}

ParseState ParseInlineCommand(std::string_view buf, RedisCommand* cmd, bool* blank,
                              size_t* consumed) {
  const size_t nl = buf.substr(0, kMaxLineBytes + 1).find('\n');
  if (nl == std::string_view::npos) {
    return buf.size() > kMaxLineBytes ? ParseState::kInvalid : ParseState::kNeedsMoreData;
  }
  std::string_view line = buf.substr(0, nl);
  RedisCommand out;
  out.inline_command = true;
  std::string arg;  // the current argument, bounded to what could be kept
  auto add = [&](char c) {
    if (arg.size() < kMaxArgBytes) arg.push_back(c);
  };
  size_t i = 0;
  uint64_t count = 0;
  bool name_ok = true;
  while (true) {
    while (i < line.size() && IsBlank(line[i])) ++i;
    if (i >= line.size()) break;
    arg.clear();
    const char quote = line[i] == '"' || line[i] == '\'' ? line[i] : 0;
    if (quote) {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        const char c = line[i];
        if (quote == '"' && c == '\\' && i + 3 < line.size() && line[i + 1] == 'x' &&
            HexValue(line[i + 2]) >= 0 && HexValue(line[i + 3]) >= 0) {
          add(static_cast<char>(HexValue(line[i + 2]) * 16 + HexValue(line[i + 3])));
          i += 4;
        } else if (c == '\\' && i + 1 < line.size() && (quote == '"' || line[i + 1] == '\'')) {
          const char e = line[i + 1];
          add(quote == '\'' ? e
              : e == 'n'    ? '\n'
              : e == 'r'    ? '\r'
              : e == 't'    ? '\t'
              : e == 'b'    ? '\b'
              : e == 'a'    ? '\a'
                            : e);
          i += 2;
        } else if (c == quote) {
          ++i;
          closed = true;
          break;
        } else {
          add(c);
          ++i;
        }
      }
      // Like redis-server: the closing quote must end the argument.
      if (!closed || (i < line.size() && !IsBlank(line[i]))) return ParseState::kInvalid;
    } else {
      while (i < line.size() && !IsBlank(line[i])) add(line[i++]);
    }
    if (count == 0) {
      name_ok = !arg.empty() && arg.size() < kMaxArgBytes && IsAlpha(arg[0]) &&
                std::all_of(arg.begin(), arg.end(), IsCommandNameChar);
    }
    KeepArg(&out, static_cast<size_t>(count), arg);
    ++count;
  }
  *blank = count == 0;
  if (count > 0 && !name_ok) return ParseState::kInvalid;
  out.arg_count = count;
  *cmd = std::move(out);
  *consumed = nl + 1;
  return ParseState::kSuccess;
}

bool IsSecretArg(const std::vector<std::string>& kept, size_t index) {
  if (index == 0 || kept.empty() || index > kept.size()) return false;
  const std::string& name = kept[0];
  const std::string_view prev = kept[index - 1];
  if (EqualsIgnoreCase(name, "AUTH")) return true;
  // HELLO [protover [AUTH username password] [SETNAME name]]: from the
  // username on, so a password is never mistaken for a username.
  if (EqualsIgnoreCase(name, "HELLO")) return index >= 2 && EqualsIgnoreCase(prev, "AUTH");
  // MIGRATE ... [AUTH password | AUTH2 username password]
  if (EqualsIgnoreCase(name, "MIGRATE")) {
    return EqualsIgnoreCase(prev, "AUTH") || EqualsIgnoreCase(prev, "AUTH2");
  }
  // ACL SETUSER name rule...: rules carry passwords (">pw", "#hash").
  if (EqualsIgnoreCase(name, "ACL")) {
    return kept.size() > 1 && EqualsIgnoreCase(kept[1], "SETUSER") && index >= 3;
  }
  // CONFIG SET param value [param value ...]
  if (EqualsIgnoreCase(name, "CONFIG") && kept.size() > 1 && EqualsIgnoreCase(kept[1], "SET") &&
      index >= 3 && index % 2 == 1) {
    for (std::string_view p :
         {"requirepass", "masterauth", "tls-key-file-pass", "tls-client-key-file-pass"}) {
      if (EqualsIgnoreCase(prev, p)) return true;
    }
  }
  return false;
}

StartCheck CheckCommandStart(std::string_view buf) {
  size_t i = 0;
  auto need = [&](char c) -> int {  // 1 ok, 0 short, -1 mismatch
    if (i >= buf.size()) return 0;
    return buf[i++] == c ? 1 : -1;
  };
  auto number = [&](int64_t min, int64_t max) -> int {
    const size_t start = i;
    int64_t v = 0;
    while (i < buf.size() && IsDigit(buf[i])) {
      if (i - start >= 10) return -1;
      v = v * 10 + (buf[i++] - '0');
    }
    if (i >= buf.size()) return v <= max ? 0 : -1;
    if (i == start || v < min || v > max) return -1;
    return 1;
  };
  int r;
  if ((r = need('*')) != 1 || (r = number(1, kMaxElements)) != 1 || (r = need('\r')) != 1 ||
      (r = need('\n')) != 1 || (r = need('$')) != 1 || (r = number(1, kMaxBulkBytes)) != 1 ||
      (r = need('\r')) != 1 || (r = need('\n')) != 1) {
    return r == 0 ? StartCheck::kPrefix : StartCheck::kInvalid;
  }
  if (i >= buf.size()) return StartCheck::kPrefix;
  return IsAlpha(buf[i]) ? StartCheck::kValid : StartCheck::kInvalid;
}

size_t FindCommandStart(std::string_view buf, size_t from, bool* complete) {
  for (size_t p = buf.find('*', from); p != std::string_view::npos; p = buf.find('*', p + 1)) {
    StartCheck c = CheckCommandStart(buf.substr(p));
    if (c == StartCheck::kInvalid) continue;
    *complete = c == StartCheck::kValid;
    return p;
  }
  return std::string_view::npos;
}

StartKind ClassifyCommandStart(std::string_view data) {
  if (data.empty()) return StartKind::kMaybe;
  if (data[0] == '*') {
    switch (CheckCommandStart(data)) {
      case StartCheck::kInvalid: return StartKind::kNo;
      case StartCheck::kPrefix: return StartKind::kMaybe;
      case StartCheck::kValid: return StartsWithPushWord(data) ? StartKind::kNo : StartKind::kYes;
    }
  }
  if (!IsAlpha(data[0])) return StartKind::kNo;
  size_t n = 0;
  while (n < data.size() && IsAlpha(data[n])) ++n;
  const int match = MatchWord(kInlineCommands, data.substr(0, n));
  if (n == data.size()) return match > 0 ? StartKind::kMaybe : StartKind::kNo;
  if (match != 2 || (data[n] != ' ' && data[n] != '\r' && data[n] != '\n')) return StartKind::kNo;
  StartKind line = CheckTextLine(data, n, 256, true);
  if (line != StartKind::kYes) return line;
  // "GET /x HTTP/1.1" is HTTP (and RTSP, SIP look alike), never Redis.
  std::string_view first = data.substr(0, data.find('\n'));
  for (std::string_view proto : {" HTTP/", " RTSP/", " SIP/"}) {
    if (first.find(proto) != std::string_view::npos) return StartKind::kNo;
  }
  return MatchWord(kAmbiguousInline, data.substr(0, n)) == 2 ? StartKind::kMaybe : StartKind::kYes;
}

StartKind ClassifyReplyStart(std::string_view data) {
  if (data.empty()) return StartKind::kMaybe;
  switch (data[0]) {
    case '+':
      for (std::string_view s : {"+OK\r\n", "+PONG\r\n", "+QUEUED\r\n"}) {
        if (data.size() < s.size() && s.substr(0, data.size()) == data) return StartKind::kMaybe;
        if (data.substr(0, s.size()) == s) return StartKind::kYes;
      }
      return StartKind::kNo;
    case '-': {
      size_t n = 1;
      while (n < data.size() && data[n] >= 'A' && data[n] <= 'Z') ++n;
      const int match = MatchWord(kErrorPrefixes, data.substr(1, n - 1));
      if (n == data.size()) return match > 0 ? StartKind::kMaybe : StartKind::kNo;
      if (match != 2 || (data[n] != ' ' && data[n] != '\r')) return StartKind::kNo;
      return CheckTextLine(data, n, 512, false);
    }
    case '_': {
      std::string_view s = "_\r\n";
      if (data.size() < s.size())
        return s.substr(0, data.size()) == data ? StartKind::kMaybe : StartKind::kNo;
      return data.substr(0, s.size()) == s ? StartKind::kYes : StartKind::kNo;
    }
    case ':':
    case '$':
    case '*':
    case '%':
    case '>': break;
    default: return StartKind::kNo;
  }
  TypeLine line;
  size_t used = 0;
  switch (ParseTypeLine(data, &line, &used)) {
    case ParseState::kNeedsMoreData: return StartKind::kMaybe;
    case ParseState::kInvalid: return StartKind::kNo;
    case ParseState::kSuccess: break;
  }
  if (line.type == ':' || line.n <= 0) return StartKind::kYes;
  if (line.type == '$') {
    const uint64_t end = used + static_cast<uint64_t>(line.n);
    if (data.size() < end + 2) return StartKind::kYes;  // too long to check here
    return data.substr(end, 2) == "\r\n" ? StartKind::kYes : StartKind::kNo;
  }
  if (used >= data.size()) return StartKind::kMaybe;
  return IsReplyTypeByte(data[used]) ? StartKind::kYes : StartKind::kNo;
}

}  // namespace sonde::redis
