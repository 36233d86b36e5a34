#include "test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace sonde::test {

std::string ReadCapture(const std::string& name) {
  std::string path = std::string(SONDE_PG_CAPTURE_DIR) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing capture " << path;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ConnInfo MakeConn(Role role, uint32_t pid, int32_t fd) {
  ConnInfo c;
  c.key = {pid, 555, fd, 1};
  c.role = role;
  c.local_addr = "127.0.0.1";
  c.local_port = role == Role::kServer ? 5432 : 40000;
  c.peer_addr = "127.0.0.1";
  c.peer_port = role == Role::kServer ? 40000 : 5432;
  return c;
}

const PgExchange& Ex(const Message& m) { return std::get<PgExchange>(m.payload); }

std::string Dump(const std::vector<Message>& msgs, bool with_times) {
  std::ostringstream os;
  for (const Message& m : msgs) {
    const PgExchange& x = Ex(m);
    os << (x.extended ? "X" : "Q");
    if (!x.statement_name.empty()) os << "[" << x.statement_name << "]";
    if (x.text_known) {
      os << " \"" << x.query_text << "\"" << (x.query_truncated ? "..." : "");
    } else {
      os << " ?";
    }
    if (!x.response_seen) {
      os << " -> (none)";
    } else if (x.error) {
      os << " -> " << x.error->severity << " " << x.error->sqlstate << " " << x.error->message;
    } else {
      os << " -> \"" << x.command_tag << "\"";
      if (x.rows >= 0) os << " rows=" << x.rows;
      if (x.portal_suspended) os << " suspended";
    }
    if (x.response_seen && x.data_rows > 0) os << " data=" << x.data_rows;
    if (with_times) os << " [" << x.start_ns << "-" << x.end_ns << " t" << x.tid << "]";
    os << "\n";
  }
  return os.str();
}

namespace wire {

std::string U32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (24 - 8 * i));
  return s;
}

std::string U16(uint16_t v) { return std::string{static_cast<char>(v >> 8), static_cast<char>(v)}; }

std::string Msg(char type, std::string_view body) {
  return std::string(1, type) + U32(static_cast<uint32_t>(body.size() + 4)) + std::string(body);
}

namespace {
std::string Z(std::string_view s) { return std::string(s) + '\0'; }
std::string Packet(uint32_t code, std::string_view body) {
  return U32(static_cast<uint32_t>(body.size() + 8)) + U32(code) + std::string(body);
}
}  // namespace

std::string Startup(std::initializer_list<std::pair<std::string, std::string>> params) {
  std::string body;
  for (const auto& [k, v] : params) body += Z(k) + Z(v);
  body += '\0';
  return Packet(196608, body);
}
std::string SslRequest() { return Packet(80877103, ""); }
std::string GssEncRequest() { return Packet(80877104, ""); }
std::string CancelRequest(uint32_t pid, uint32_t key) { return Packet(80877102, U32(pid) + U32(key)); }
std::string Query(std::string_view text) { return Msg('Q', Z(text)); }
std::string Parse(std::string_view name, std::string_view text) {
  return Msg('P', Z(name) + Z(text) + U16(0));
}
std::string Bind(std::string_view portal, std::string_view statement,
                 std::initializer_list<std::string> params) {
  std::string body = Z(portal) + Z(statement) + U16(0) + U16(static_cast<uint16_t>(params.size()));
  for (const std::string& p : params) body += U32(static_cast<uint32_t>(p.size())) + p;
  return Msg('B', body + U16(0));
}
std::string Describe(char kind, std::string_view name) { return Msg('D', std::string(1, kind) + Z(name)); }
std::string Execute(std::string_view portal, uint32_t max_rows) { return Msg('E', Z(portal) + U32(max_rows)); }
std::string Close(char kind, std::string_view name) { return Msg('C', std::string(1, kind) + Z(name)); }
std::string Sync() { return Msg('S', ""); }
std::string Flush() { return Msg('H', ""); }
std::string Terminate() { return Msg('X', ""); }
std::string CopyData(std::string_view data) { return Msg('d', data); }
std::string CopyDone() { return Msg('c', ""); }
std::string CopyFail(std::string_view why) { return Msg('f', Z(why)); }
std::string Password(std::string_view pw) { return Msg('p', Z(pw)); }

std::string AuthOk() { return Msg('R', U32(0)); }
std::string ParameterStatus(std::string_view name, std::string_view value) {
  return Msg('S', Z(name) + Z(value));
}
std::string BackendKeyData(uint32_t pid, uint32_t key) { return Msg('K', U32(pid) + U32(key)); }
std::string Ready(char status) { return Msg('Z', std::string(1, status)); }
std::string ParseComplete() { return Msg('1', ""); }
std::string BindComplete() { return Msg('2', ""); }
std::string CloseComplete() { return Msg('3', ""); }
std::string NoData() { return Msg('n', ""); }
std::string RowDescription(std::initializer_list<std::string> columns) {
  std::string body = U16(static_cast<uint16_t>(columns.size()));
  for (const std::string& c : columns) body += Z(c) + U32(0) + U16(0) + U32(25) + U16(0xffff) + U32(0xffffffff) + U16(0);
  return Msg('T', body);
}
std::string DataRow(std::initializer_list<std::string> values) {
  std::string body = U16(static_cast<uint16_t>(values.size()));
  for (const std::string& v : values) body += U32(static_cast<uint32_t>(v.size())) + v;
  return Msg('D', body);
}
std::string Complete(std::string_view tag) { return Msg('C', Z(tag)); }
std::string EmptyQuery() { return Msg('I', ""); }
std::string Suspended() { return Msg('s', ""); }
std::string Error(std::string_view sqlstate, std::string_view message, std::string_view severity) {
  return Msg('E', "S" + Z(severity) + "V" + Z(severity) + "C" + Z(sqlstate) + "M" + Z(message) +
                      "Fpostgres.c" + std::string(1, '\0') + '\0');
}
std::string Notice(std::string_view message) {
  return Msg('N', "S" + Z("NOTICE") + "V" + Z("NOTICE") + "C" + Z("00000") + "M" + Z(message) + '\0');
}
std::string CopyInResponse() { return Msg('G', std::string(1, '\0') + U16(1) + U16(0)); }
std::string CopyOutResponse() { return Msg('H', std::string(1, '\0') + U16(1) + U16(0)); }
std::string Welcome() {
  return AuthOk() + ParameterStatus("server_version", "15.18") + BackendKeyData(42, 7) + Ready();
}

}  // namespace wire

Feeder::Feeder(Role role, DecoderLimits limits)
    : dec_(MakeConn(role), limits, &counters_), role_(role) {}

Direction Feeder::fe_dir() const {
  Role r = dec_.conn().role != Role::kUnknown ? dec_.conn().role : role_;
  return r == Role::kServer ? Direction::kIngress : Direction::kEgress;
}

Direction Feeder::be_dir() const {
  return fe_dir() == Direction::kEgress ? Direction::kIngress : Direction::kEgress;
}

void Feeder::Send(Direction dir, std::string_view bytes, uint64_t ts_ns, uint32_t tid, size_t captured) {
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

std::vector<Message> DecodeCapture(std::string_view fe, std::string_view be,
                                   const std::vector<size_t>& fe_cuts,
                                   const std::vector<size_t>& be_cuts, DecodeCounters* counters,
                                   Role role) {
  Feeder f(role);
  auto send = [&](Direction dir, std::string_view bytes, const std::vector<size_t>& cuts) {
    size_t from = 0;
    for (size_t cut : cuts) {
      if (cut <= from || cut >= bytes.size()) continue;
      f.Send(dir, bytes.substr(from, cut - from));
      from = cut;
    }
    if (from < bytes.size()) f.Send(dir, bytes.substr(from));
  };
  send(f.fe_dir(), fe, fe_cuts);
  send(f.be_dir(), be, be_cuts);
  f.Close();
  if (counters) *counters = f.counters();
  return f.Drain();
}

}  // namespace sonde::test
