// Decoder microbenchmarks: recorded captures (tests/captures/{http1,redis,postgres,http2})
// fed through the ConnectionTracker (protocol inference + decoder + pairing),
// one connection per iteration, as sonde's hot thread sees them.
// Reports bytes/s and messages/s on one core.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "decoders/connection_tracker.h"

namespace {

std::string Read(const std::string& rel) {
  std::ifstream f(std::string(SONDE_CAPTURE_DIR) + "/" + rel, std::ios::binary);
  if (!f) throw std::runtime_error("missing capture " + rel);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Write {
  sonde::Direction dir;
  std::string bytes;
};

// Feeds `writes` (one syscall each) on a fresh connection, closes it and drains.
void Run(benchmark::State& state, sonde::Role role, const std::vector<Write>& writes) {
  sonde::ConnectionTracker tracker;
  std::vector<sonde::Message> out;
  size_t bytes_per_iter = 0;
  for (const Write& w : writes) bytes_per_iter += w.bytes.size();
  uint64_t messages = 0, gen = 0, ts = 1;
  for (auto _ : state) {
    sonde::ConnInfo info;
    info.key = {4242, 7, 9, static_cast<uint32_t>(++gen)};
    info.role = role;
    info.local_addr = "127.0.0.1";
    info.local_port = role == sonde::Role::kServer ? 8080 : 40000;
    info.peer_addr = "127.0.0.1";
    info.peer_port = role == sonde::Role::kServer ? 40000 : 6379;
    tracker.OnOpen(info, ts);
    uint64_t pos[2] = {0, 0};
    for (const Write& w : writes) {
      sonde::DataChunk c;
      c.pos = pos[static_cast<int>(w.dir)];
      c.total_len = static_cast<uint32_t>(w.bytes.size());
      c.data = w.bytes;
      c.ts_ns = ++ts;
      c.tid = 4242;
      pos[static_cast<int>(w.dir)] += w.bytes.size();
      tracker.OnData(info, w.dir, c);
    }
    tracker.OnClose(info.key, ++ts);
    tracker.Drain(&out);
    messages += out.size();
    out.clear();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes_per_iter));
  state.counters["messages/s"] = benchmark::Counter(static_cast<double>(messages), benchmark::Counter::kIsRate);
  state.counters["msgs/iter"] = state.iterations() ? static_cast<double>(messages) / state.iterations() : 0;
}

// HTTP/1 server side: N keep-alive exchanges (request in, response out) per connection.
void BM_Http1KeepAlive(benchmark::State& state, const char* req, const char* resp) {
  std::vector<Write> w;
  std::string rq = Read(std::string("http1/") + req), rs = Read(std::string("http1/") + resp);
  for (int i = 0; i < 16; ++i) {
    w.push_back({sonde::Direction::kIngress, rq});
    w.push_back({sonde::Direction::kEgress, rs});
  }
  Run(state, sonde::Role::kServer, w);
}
BENCHMARK_CAPTURE(BM_Http1KeepAlive, get_small, "curl_get.req", "pyhttp_get.resp");
BENCHMARK_CAPTURE(BM_Http1KeepAlive, post_chunked, "curl_post_chunked.req", "node_chunked.resp");
BENCHMARK_CAPTURE(BM_Http1KeepAlive, put_20k, "curl_put_large.req", "node_len.resp");

// Redis client side: commands out, replies in (whole capture, as recorded).
void BM_Redis(benchmark::State& state, const char* name) {
  std::string base = std::string("redis/") + name;
  Run(state, sonde::Role::kClient,
      {{sonde::Direction::kEgress, Read(base + ".cmd")}, {sonde::Direction::kIngress, Read(base + ".reply")}});
}
BENCHMARK_CAPTURE(BM_Redis, benchmark_pipeline, "benchmark_pipeline");
BENCHMARK_CAPTURE(BM_Redis, py_basic, "py_basic");
BENCHMARK_CAPTURE(BM_Redis, hiredis_large, "hiredis_large");

// PostgreSQL client side: frontend out, backend in.
void BM_Postgres(benchmark::State& state, const char* name) {
  std::string base = std::string("postgres/") + name;
  Run(state, sonde::Role::kClient,
      {{sonde::Direction::kEgress, Read(base + ".fe")}, {sonde::Direction::kIngress, Read(base + ".be")}});
}
BENCHMARK_CAPTURE(BM_Postgres, pgbench_prepared, "pgbench_prepared");
BENCHMARK_CAPTURE(BM_Postgres, psycopg2_session, "psycopg2_session");
BENCHMARK_CAPTURE(BM_Postgres, libpq_session, "libpq_session");

// HTTP/2 client side: a recorded connection (tests/captures/http2/*.cap,
// chunks in the order the proxy saw them: a direction byte, a 4-byte
// big-endian length, the bytes), each chunk one syscall.
void BM_Http2(benchmark::State& state, const char* name) {
  const std::string raw = Read(std::string("http2/") + name + ".cap");
  std::vector<Write> w;
  std::string_view in = raw;
  while (in.size() >= 5) {
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    const size_t len = (size_t{p[1]} << 24) | (size_t{p[2]} << 16) | (size_t{p[3]} << 8) | p[4];
    if (len > in.size() - 5) throw std::runtime_error("malformed capture " + std::string(name));
    w.push_back({p[0] == 0 ? sonde::Direction::kEgress : sonde::Direction::kIngress,
                 std::string(in.substr(5, len))});
    in.remove_prefix(5 + len);
  }
  Run(state, sonde::Role::kClient, w);
}
BENCHMARK_CAPTURE(BM_Http2, grpc_many_unary, "grpc_many");
BENCHMARK_CAPTURE(BM_Http2, grpc_server_stream, "grpc_server_stream");
BENCHMARK_CAPTURE(BM_Http2, grpc_bidi, "grpc_bidi");
BENCHMARK_CAPTURE(BM_Http2, h2c_get_40k, "curl_big");
BENCHMARK_CAPTURE(BM_Http2, h2c_continuation, "node_bighdr");

}  // namespace

BENCHMARK_MAIN();
