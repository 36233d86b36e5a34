#include "test_util.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace sonde::test {

std::string ReadCapture(const std::string& name) {
  std::string path = std::string(SONDE_HTTP1_CAPTURE_DIR) + "/" + name;
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
  c.local_port = role == Role::kServer ? 8080 : 40000;
  c.peer_addr = "127.0.0.1";
  c.peer_port = role == Role::kServer ? 40000 : 8080;
  return c;
}

const HttpExchange& Ex(const Message& m) { return std::get<HttpExchange>(m.payload); }

namespace {

void DumpHeaders(std::ostringstream& os, const HeaderList& h) {
  os << " {";
  for (size_t i = 0; i < h.size(); ++i) os << (i ? "|" : "") << h[i].first << "=" << h[i].second;
  os << "}";
}

}  // namespace

std::string Dump(const std::vector<Message>& msgs, bool with_times) {
  std::ostringstream os;
  for (const Message& m : msgs) {
    const HttpExchange& ex = Ex(m);
    const HttpRequest& q = ex.request;
    os << RoleName(m.conn.role) << (m.conn.role_inferred ? "?" : "") << " " << q.method << " "
       << q.target << " HTTP/" << q.version << " body=" << q.body_size
       << (ex.request_incomplete ? " INCOMPLETE" : "");
    DumpHeaders(os, q.headers);
    if (with_times) os << " [" << q.start_ns << "-" << q.end_ns << " t" << q.tid << "]";
    if (ex.response) {
      const HttpResponse& r = *ex.response;
      os << " -> " << r.status << " " << r.reason << " HTTP/" << r.version
         << " body=" << r.body_size;
      DumpHeaders(os, r.headers);
      if (with_times) os << " [" << r.start_ns << "-" << r.end_ns << " t" << r.tid << "]";
    } else {
      os << " -> (none)";
    }
    os << "\n";
  }
  return os.str();
}

Feeder::Feeder(Role role, DecoderLimits limits) : dec_(MakeConn(role), limits, &counters_) {}

Direction Feeder::req_dir() const {
  return dec_.conn().role == Role::kClient ? Direction::kEgress : Direction::kIngress;
}

Direction Feeder::resp_dir() const {
  return req_dir() == Direction::kEgress ? Direction::kIngress : Direction::kEgress;
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
