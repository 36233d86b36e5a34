#include "test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sonde::test {

std::string CapturePath(const std::string& name) {
  return std::string(SONDE_REDIS_CAPTURE_DIR) + "/" + name;
}

std::string ReadCapture(const std::string& name) {
  std::ifstream in(CapturePath(name), std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing capture " << CapturePath(name);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ConnInfo MakeConn(Role role, uint32_t pid, int32_t fd) {
  ConnInfo c;
  c.key = {pid, 555, fd, 1};
  c.role = role;
  c.local_addr = "127.0.0.1";
  c.local_port = role == Role::kServer ? 6379 : 40000;
  c.peer_addr = "127.0.0.1";
  c.peer_port = role == Role::kServer ? 40000 : 6379;
  return c;
}

const RedisExchange& Ex(const Message& m) { return std::get<RedisExchange>(m.payload); }

std::string Quote(std::string_view arg) {
  bool plain = !arg.empty();
  for (char c : arg) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '\'' || c == '\\') plain = false;
  }
  if (plain) return std::string(arg);
  std::string out = "\"";
  for (char c : arg) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7f) {
      char hex[8];
      snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

namespace {

void DumpReply(std::ostringstream& os, const RedisReply& r) {
  os << r.type;
  if (r.type == '-' || r.type == '!') {
    os << r.error;
  } else if (r.null) {
    os << "null";
  } else if (!r.text.empty()) {
    os << r.text;
  } else if (r.elements >= 0) {
    os << r.elements;
  } else if (r.type == '$' || r.type == '=') {
    os << r.size;
  }
  if (r.truncated) os << " TRUNCATED";
}

}  // namespace

std::string Dump(const std::vector<Message>& msgs, bool with_times) {
  std::ostringstream os;
  for (const Message& m : msgs) {
    const RedisExchange& ex = Ex(m);
    const RedisCommand& c = ex.command;
    for (size_t i = 0; i < c.args.size(); ++i) os << (i ? " " : "") << Quote(c.args[i]);
    if (c.args.empty()) os << "(unknown)";
    if (c.arg_count != c.args.size()) os << " #" << c.arg_count;
    if (c.redacted) os << " REDACTED";
    if (c.inline_command) os << " INLINE";
    if (c.truncated) os << " TRUNCATED";
    if (ex.in_transaction) os << " TX";
    if (ex.reply_suppressed) os << " NOREPLY";
    os << " db=";
    if (ex.db_index_known) {
      os << ex.db_index;
    } else {
      os << "?";
    }
    if (with_times) os << " [" << c.start_ns << "-" << c.end_ns << " t" << c.tid << "]";
    os << " -> ";
    if (ex.reply) {
      DumpReply(os, *ex.reply);
      if (with_times) {
        os << " [" << ex.reply->start_ns << "-" << ex.reply->end_ns << " t" << ex.reply->tid << "]";
      }
    } else {
      os << "(none)";
    }
    os << "\n";
  }
  return os.str();
}

std::string DumpSpan(const Span& s) {
  std::ostringstream os;
  os << (s.kind == SpanKind::kClient   ? "CLIENT"
         : s.kind == SpanKind::kServer ? "SERVER"
                                       : "INTERNAL")
     << " \"" << s.name << "\"";
  if (s.status == StatusCode::kError) os << " ERROR(" << s.status_message << ")";
  for (const Attribute& a : s.attributes) {
    if (!a.key.starts_with("db.") && a.key != "error.type") continue;
    os << " " << a.key << "=";
    if (const auto* v = std::get_if<std::string>(&a.value)) {
      os << Quote(*v);
    } else if (const auto* i = std::get_if<int64_t>(&a.value)) {
      os << *i;
    }
  }
  return os.str();
}

namespace {

// Length of the RESP value at the start of `b`, or 0 when it is not whole.
size_t ValueLength(std::string_view b) {
  size_t eol = b.find("\r\n");
  if (b.empty() || eol == std::string_view::npos) return 0;
  const char t = b[0];
  const long long n = std::strtoll(std::string(b.substr(1, eol - 1)).c_str(), nullptr, 10);
  size_t len = eol + 2;
  if ((t == '$' || t == '=' || t == '!') && n >= 0) return len + static_cast<size_t>(n) + 2;
  if (t == '*' || t == '%' || t == '~' || t == '>' || t == '|') {
    const long long count = (t == '%' || t == '|') ? 2 * n : n;
    for (long long i = 0; i < count; ++i) {
      size_t e = ValueLength(b.substr(len));
      if (e == 0) return 0;
      len += e;
    }
    if (t == '|') {  // the attributed value follows
      size_t e = ValueLength(b.substr(len));
      return e == 0 ? 0 : len + e;
    }
  }
  return len;
}

}  // namespace

std::vector<std::string_view> SplitMessages(std::string_view bytes) {
  std::vector<std::string_view> out;
  while (!bytes.empty()) {
    size_t n = 0;
    if (std::string_view("+-:$*%~>|!=,(#_").find(bytes[0]) == std::string_view::npos) {
      n = bytes.find('\n') + 1;  // an inline command line
    } else {
      n = ValueLength(bytes);
    }
    if (n == 0 || n > bytes.size()) n = bytes.size();
    out.push_back(bytes.substr(0, n));
    bytes.remove_prefix(n);
  }
  return out;
}

Feeder::Feeder(Role role, DecoderLimits limits) : Feeder(MakeConn(role), limits) {}

Feeder::Feeder(const ConnInfo& conn, DecoderLimits limits) : dec_(conn, limits, &counters_) {}

Direction Feeder::cmd_dir() const {
  return dec_.conn().role == Role::kServer ? Direction::kIngress : Direction::kEgress;
}

Direction Feeder::reply_dir() const {
  return cmd_dir() == Direction::kEgress ? Direction::kIngress : Direction::kEgress;
}

void Feeder::Send(Direction dir, std::string_view bytes, uint64_t ts_ns, uint32_t tid,
                  size_t captured) {
  const std::string& kept = store_.emplace_back(bytes.substr(0, captured));
  DataChunk c;
  c.pos = pos_[Idx(dir)];
  c.total_len = static_cast<uint32_t>(bytes.size());
  c.data = kept;
  c.ts_ns = NextTs(ts_ns);
  c.tid = tid;
  pos_[Idx(dir)] += bytes.size();
  dec_.OnData(dir, c);
}

void Feeder::SendAt(Direction dir, uint64_t pos, std::string_view bytes, uint64_t ts_ns) {
  const std::string& kept = store_.emplace_back(bytes);
  DataChunk c{pos, static_cast<uint32_t>(bytes.size()), kept, NextTs(ts_ns), 1};
  pos_[Idx(dir)] = std::max(pos_[Idx(dir)], pos + bytes.size());
  dec_.OnData(dir, c);
}

std::vector<Message> Feeder::Drain() {
  std::vector<Message> out;
  dec_.Drain(&out);
  return out;
}

}  // namespace sonde::test
