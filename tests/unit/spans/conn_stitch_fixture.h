// What the ConnStitch unit tests share: connection infos of a client (pid
// 10) and a server (pid 20) on one host, messages of each protocol, and a
// Fixture that feeds them through ThreadLinks and ConnStitch as the agent does.
#pragma once

#include <gtest/gtest.h>

#include "spans/conn_stitch.h"
#include "spans/thread_links.h"

namespace sonde::stitch_test {

constexpr uint32_t kClientPid = 10;
constexpr uint32_t kServerPid = 20;

inline ConnInfo Info(uint32_t pid, int fd, Role role, uint16_t local_port, uint16_t peer_port,
              std::string addr = "127.0.0.1") {
  ConnInfo c;
  c.key = ConnKey{pid, 5000, fd, static_cast<uint32_t>(fd) * 7};
  c.role = role;
  c.local_addr = addr;
  c.local_port = local_port;
  c.peer_addr = addr;
  c.peer_port = peer_port;
  return c;
}

// A client on port 40000 of pid 10 talking to a server on port 8080 of pid 20.
inline ConnInfo ClientConn(int fd = 3, uint16_t port = 40000) {
  return Info(kClientPid, fd, Role::kClient, port, 8080);
}
inline ConnInfo ServerConn(int fd = 7, uint16_t port = 40000) {
  return Info(kServerPid, fd, Role::kServer, 8080, port);
}

inline DataChunk Chunk(uint64_t pos, uint32_t len, uint64_t ts, uint32_t tid) {
  DataChunk c;
  c.pos = pos;
  c.total_len = len;
  c.ts_ns = ts;
  c.tid = tid;
  return c;
}

inline Message Http(const ConnInfo& conn, uint64_t pos, uint32_t tid, uint64_t start, uint64_t end,
             HeaderList headers = {}) {
  HttpExchange ex;
  ex.request.method = "GET";
  ex.request.target = "/";
  ex.request.version = "1.1";
  ex.request.headers = std::move(headers);
  ex.request.pos = pos;
  ex.request.tid = tid;
  ex.request.start_ns = start;
  ex.request.end_ns = start;
  HttpResponse r;
  r.status = 200;
  r.end_ns = end;
  ex.response = r;
  return Message{conn, ex};
}

inline Message H2(const ConnInfo& conn, uint64_t pos, uint32_t stream, uint32_t tid, uint64_t start, uint64_t end) {
  Message m = Http(conn, pos, tid, start, end);
  auto& ex = std::get<HttpExchange>(m.payload);
  ex.request.version = "2";
  ex.h2 = Http2StreamInfo{};
  ex.h2->stream_id = stream;
  return m;
}

inline Message Redis(const ConnInfo& conn, uint64_t pos, uint32_t tid, uint64_t start, uint64_t end) {
  RedisExchange ex;
  ex.command.args = {"GET", "k"};
  ex.command.arg_count = 2;
  ex.command.pos = pos;
  ex.command.tid = tid;
  ex.command.start_ns = start;
  ex.command.end_ns = start;
  RedisReply r;
  r.end_ns = end;
  ex.reply = r;
  return Message{conn, ex};
}

inline Message Pg(const ConnInfo& conn, uint64_t pos, uint32_t part, uint32_t tid, uint64_t start, uint64_t end) {
  PgExchange ex;
  ex.query_text = "SELECT 1";
  ex.pos = pos;
  ex.pos_part = part;
  ex.tid = tid;
  ex.start_ns = start;
  ex.end_ns = end;
  ex.response_seen = true;
  return Message{conn, ex};
}

inline std::string Source(const Span& s) {
  const AttrValue* v = FindAttr(s.attributes, "sonde.parent.source");
  return v ? std::get<std::string>(*v) : std::string();
}

// The agent's side: ThreadLinks, ConnStitch and a span "builder" that gives
// every span a fresh identity, as SpanBuilder does.
struct Fixture {
  IdGenerator ids{7};
  ThreadLinks links{&ids};
  ConnStitch stitch{&ids, &links};

  Fixture() = default;
  explicit Fixture(ConnStitchOptions opts) : stitch(&ids, &links, opts) {}

  Span Build(const Message& m, ThreadLinks::Linked* out = nullptr) {
    Span s;
    s.trace_id = ids.NewTraceId();
    s.span_id = ids.NewSpanId();
    s.kind = m.conn.role == Role::kServer ? SpanKind::kServer : SpanKind::kClient;
    bool header = false;
    if (const auto* h = std::get_if<HttpExchange>(&m.payload))
      header = m.conn.role == Role::kServer && FindHeader(h->request.headers, "traceparent") != nullptr;
    s.attributes.push_back({"sonde.parent.source", AttrValue(std::string(header ? "header" : "none"))});
    MessageTiming t = TimingOf(m);
    ThreadLinks::Linked l = stitch.Link(m, t.tid, t.start_ns, &s);
    if (out) *out = l;
    return s;
  }
  // One emit_spans round: request starts, SERVER ends, stitch decisions,
  // then spans in message order.
  std::vector<Span> Emit(const std::vector<RequestStart>& starts, const std::vector<Message>& msgs) {
    for (const RequestStart& r : starts) links.OnServerRequest(r);
    for (const Message& m : msgs) {
      if (m.conn.role != Role::kServer) continue;
      MessageTiming t = TimingOf(m);
      links.OnServerDone(m.conn.key, t.tid, t.start_ns, t.end_ns);
    }
    for (const RequestStart& r : starts) stitch.OnServerRequest(r);
    for (const Message& m : msgs) stitch.PrepareServer(m);
    std::vector<Span> out;
    for (const Message& m : msgs) out.push_back(Build(m));
    return out;
  }
  void Open(const ConnInfo& c, uint64_t ts) { stitch.OnOpen(c, ts); }
  void Write(const ConnInfo& c, uint64_t pos, uint32_t len, uint64_t ts, uint32_t tid) {
    stitch.OnData(c, Direction::kEgress, Chunk(pos, len, ts, tid));
  }
};

inline void ExpectChild(const Span& server, const Span& client) {
  EXPECT_EQ(server.trace_id, client.trace_id);
  EXPECT_EQ(server.parent_span_id, client.span_id);
  EXPECT_EQ(Source(server), "connection");
}

inline RequestStart StartOf(const Message& m) {
  const auto& h = std::get<HttpExchange>(m.payload);
  RequestStart r{m.conn, h.request.tid, h.request.start_ns, {}, h.request.pos};
  if (const std::string* tp = FindHeader(h.request.headers, "traceparent")) r.trace_headers.emplace_back("traceparent", *tp);
  return r;
}

}  // namespace sonde::stitch_test
