#include "spans/redis_span.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "decoders/redis/redis_parser.h"

namespace sonde {

namespace {

constexpr std::string_view kResponseMissing = "response_missing";
constexpr size_t kMaxErrorType = 64;

// Commands whose first argument is a subcommand; it names the operation
// rather than data, so sanitizing keeps it.
constexpr std::string_view kContainerCommands[] = {
    "ACL",    "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "DEBUG",   "FUNCTION", "LATENCY",
    "MEMORY", "MODULE", "OBJECT",  "PUBSUB",  "SCRIPT", "SLOWLOG", "XGROUP",   "XINFO"};

bool IsPlainToken(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    if (!redis::IsCommandNameChar(c)) return false;
  }
  return true;
}

// redis-cli syntax: bare when nothing needs quoting, else "..." with escapes.
void AppendQuoted(std::string* out, std::string_view arg) {
  bool plain = !arg.empty();
  for (char c : arg) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '\'' || c == '\\') plain = false;
  }
  if (plain) {
    out->append(arg);
    return;
  }
  out->push_back('"');
  for (char c : arg) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (u < 0x20 || u >= 0x7f) {
          char hex[5];
          std::snprintf(hex, sizeof hex, "\\x%02x", u);
          out->append(hex);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// The command name as an operation name: upper-cased, and only when it looks
// like one (garbage after lost framing must not name spans).
std::string OperationName(const RedisCommand& c) {
  if (c.args.empty() || !IsPlainToken(c.args[0])) return {};
  return redis::ToUpperAscii(c.args[0]);
}

}  // namespace

std::string RedisQueryText(const RedisCommand& c, bool sanitize) {
  std::string op = OperationName(c);
  if (op.empty()) return {};
  std::string out = sanitize ? op : std::string();
  if (!sanitize) AppendQuoted(&out, c.args[0]);
  bool container = false;
  for (std::string_view name : kContainerCommands) container |= op == name;
  const uint64_t shown = std::min<uint64_t>(c.arg_count, redis::kMaxKeptArgs);
  for (uint64_t i = 1; i < shown; ++i) {
    out.push_back(' ');
    if (i >= c.args.size()) {
      out.push_back('?');  // a secret, or not captured
    } else if (!sanitize) {
      AppendQuoted(&out, c.args[i]);
    } else if (i == 1 && container && IsPlainToken(c.args[1])) {
      out += redis::ToUpperAscii(c.args[1]);
    } else {
      out.push_back('?');
    }
  }
  if (c.arg_count > shown) out += " ...";
  return out;
}

Span BuildRedisSpan(const ConnInfo& conn, const RedisExchange& ex, const DbSpanOptions& opts,
                    int64_t offset, IdGenerator* ids, std::shared_ptr<const Resource> resource) {
  const RedisCommand& c = ex.command;
  const uint64_t end = ex.reply ? std::max(ex.reply->end_ns, c.end_ns) : c.end_ns;
  Span s = StartDbSpan(conn, "redis", c.start_ns, end, offset, ids, std::move(resource));
  std::string op = OperationName(c);
  // Semantic conventions: without an operation name the span is named after the system.
  s.name = op.empty() ? "redis" : op;
  if (!op.empty()) SetStr(&s, "db.operation.name", std::move(op));
  if (std::string text = RedisQueryText(c, opts.sanitize_query); !text.empty()) {
    SetStr(&s, "db.query.text", std::move(text));
  }
  if (ex.db_index_known) SetStr(&s, "db.namespace", std::to_string(ex.db_index));

  if (!ex.reply && !ex.reply_suppressed) {
    SetStr(&s, "error.type", std::string(kResponseMissing));
    s.status = StatusCode::kError;
  } else if (ex.reply->type == '-' || ex.reply->type == '!') {
    // "WRONGTYPE Operation against ..." -> "WRONGTYPE"; Redis's convention,
    // which clients follow for errors without a capitalised prefix too.
    const std::string& text = ex.reply->error;
    std::string prefix = text.substr(0, std::min(text.find(' '), kMaxErrorType));
    if (prefix.empty()) prefix = "_OTHER";
    SetStr(&s, "db.response.status_code", prefix);
    SetStr(&s, "error.type", std::move(prefix));
    s.status = StatusCode::kError;
    s.status_message = text;
  }
  if (c.truncated) s.attributes.push_back({"sonde.request.incomplete", AttrValue(true)});
  return s;
}

}  // namespace sonde
