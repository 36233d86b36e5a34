// Outgoing traceparent injection (propagation.inject_traceparent), with the
// real sock_ops and sk_msg programs: a Python client sends over 10,000
// HTTP/1.1 requests (keep-alive, pipelined batches, 1 MiB bodies, requests
// split over several writes, requests with their own traceparent, short
// connections) to a server that records every byte it reads. The server must
// read exactly what the client wrote plus one traceparent line right after
// the request line of each request sonde was expected to inject into, and
// the CLIENT spans sonde exports must carry exactly the injected ids.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "db_servers.h"
#include "harness.h"
#include "sonde_fixture.h"

namespace sonde::testing {
namespace {

using std::chrono::milliseconds;

struct Expected {
  uint64_t offset = 0;
  std::string path;
  std::string expect;  // inject | has_tp | split
};

struct Injected {
  std::string trace_id;
  std::string span_id;
  std::string path;
};

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string MakeTempDir() {
  char tmpl[] = "/tmp/sonde_inject_XXXXXX";
  const char* d = mkdtemp(tmpl);
  return d ? d : "";
}

bool IsLowerHex(const std::string& s, size_t from, size_t n) {
  if (from + n > s.size()) return false;
  for (size_t i = from; i < from + n; ++i)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

// An inserted line at `at`: "traceparent: 00-<32 hex>-<16 hex>-01\r\n".
bool InsertedLineAt(const std::string& recv, size_t at, std::string* trace_id, std::string* span_id) {
  static const std::string kPrefix = "traceparent: 00-";
  if (recv.compare(at, kPrefix.size(), kPrefix) != 0) return false;
  size_t p = at + kPrefix.size();
  if (!IsLowerHex(recv, p, 32) || recv.compare(p + 32, 1, "-") != 0 || !IsLowerHex(recv, p + 33, 16) ||
      recv.compare(p + 49, 5, "-01\r\n") != 0)
    return false;
  *trace_id = recv.substr(p, 32);
  *span_id = recv.substr(p + 33, 16);
  return true;
}

// Walks one connection: the recorded bytes must be the sent bytes with an
// inserted line after the request line of exactly the requests expected to
// get one. Appends what was inserted; returns a description of the first
// difference, or "".
std::string CheckConnection(const std::string& sent, const std::string& recv, const std::vector<Expected>& reqs,
                            std::vector<Injected>* out) {
  size_t s = 0, r = 0;
  for (const Expected& q : reqs) {
    size_t line_end = sent.find("\r\n", q.offset);
    if (line_end == std::string::npos) return "no request line at " + std::to_string(q.offset);
    line_end += 2;
    size_t n = line_end - s;
    if (recv.compare(r, n, sent, s, n) != 0)
      return "bytes before the request line of " + q.path + " differ (sent offset " + std::to_string(s) + ")";
    s += n;
    r += n;
    Injected in;
    bool inserted = InsertedLineAt(recv, r, &in.trace_id, &in.span_id);
    if (inserted != (q.expect == "inject"))
      return q.path + " (" + q.expect + ") was " + (inserted ? "" : "not ") + "given a traceparent: " +
             recv.substr(r - n, n + 80);
    if (inserted) {
      in.path = q.path;
      out->push_back(in);
      r += 70;
    }
  }
  if (recv.size() - r != sent.size() - s || recv.compare(r, std::string::npos, sent, s, std::string::npos) != 0)
    return "the bytes after the last request line differ (" + std::to_string(recv.size() - r) + " read, " +
           std::to_string(sent.size() - s) + " sent)";
  return "";
}

struct RunResult {
  size_t requests = 0;
  size_t connections = 0;
  std::map<std::string, size_t> expected;  // expect -> count
  std::vector<Injected> injected;
  std::vector<std::string> failures;
};

// Runs the client (started before sonde, so its pid can be selected) and
// checks every connection's bytes.
class InjectTest : public SondeTest {
 protected:
  void SetUp() override {
    SondeTest::SetUp();
    dir_ = MakeTempDir();
    ASSERT_FALSE(dir_.empty());
    port_ = FreePort();
    server_ = std::make_unique<Child>(std::vector<std::string>{
        Python(), SourceDir() + "/tests/integration/apps/recording_server.py", std::to_string(port_), dir_});
    ASSERT_TRUE(server_->WaitForLine("listening", milliseconds(10000))) << server_->seen();
    ASSERT_TRUE(WaitForPort(port_, milliseconds(5000)));
  }
  void TearDown() override {
    SondeTest::TearDown();
    server_.reset();
    if (!dir_.empty() && !HasFailure()) std::system(("rm -rf " + dir_).c_str());
  }

  std::unique_ptr<Child> StartClient(double scale, const std::string& mode = "") {
    std::vector<std::string> argv = {Python(), SourceDir() + "/tests/integration/apps/inject_client.py",
                                     std::to_string(port_), dir_, std::to_string(scale)};
    if (!mode.empty()) argv.push_back(mode);
    return std::make_unique<Child>(argv, std::vector<std::string>{}, Child::Capture::kStdout, true);
  }

  // The value of a counter on sonde's /metrics, e.g.
  // Metric("sonde_propagation_skipped", "reason=\"chunked\""); -1 when absent.
  long Metric(const std::string& name, const std::string& label = "") {
    Child curl({"curl", "-s", "http://127.0.0.1:" + std::to_string(admin_port_) + "/metrics"});
    std::istringstream is(curl.ReadAll(milliseconds(3000)));
    std::string line;
    while (std::getline(is, line)) {
      if (line.empty() || line[0] == '#' || line.rfind(name, 0) != 0) continue;
      if (!label.empty() && line.find(label) == std::string::npos) continue;
      return std::stol(line.substr(line.rfind(' ') + 1));
    }
    return -1;
  }

  void Finish(Child* client, RunResult* out) {
    std::string line;
    ASSERT_TRUE(client->WaitForLine("done ", milliseconds(240000), &line)) << client->seen();
    ASSERT_EQ(client->Wait(milliseconds(10000)), 0) << client->seen();
    out->requests = std::stoul(line.substr(line.find("done ") + 5));
    std::map<uint16_t, std::vector<Expected>> by_conn;
    std::istringstream m(ReadFile(dir_ + "/manifest"));
    std::string tag, expect, path;
    unsigned port;
    uint64_t offset;
    while (m >> tag >> port >> offset >> path >> expect) {
      by_conn[static_cast<uint16_t>(port)].push_back({offset, path, expect});
      out->expected[expect]++;
    }
    out->connections = by_conn.size();
    for (auto& [p, reqs] : by_conn) {
      std::string sent = ReadFile(dir_ + "/" + std::to_string(p) + ".sent");
      std::string recv = ReadFile(dir_ + "/" + std::to_string(p) + ".recv");
      std::string why = CheckConnection(sent, recv, reqs, &out->injected);
      if (!why.empty()) out->failures.push_back("connection from port " + std::to_string(p) + ": " + why);
    }
  }

  std::string dir_;
  uint16_t port_ = 0;
  std::unique_ptr<Child> server_;
};

TEST_F(InjectTest, ServerReadsTheSentBytesPlusOneTraceparentPerInjectedRequest) {
  auto client = StartClient(1.0);
  // The client makes 10,000 requests in a few seconds: room for all their spans.
  StartSonde({"--pid", std::to_string(client->pid()), "--inject-traceparent", "--capture-bytes", "16384"},
             {"OTEL_BSP_MAX_QUEUE_SIZE=65536"});
  client->WriteStdin("go\n");
  RunResult res;
  Finish(client.get(), &res);
  ASSERT_GE(res.requests, 10000u);
  EXPECT_TRUE(res.failures.empty()) << res.failures.size() << " connections differ; first: " << res.failures[0];
  EXPECT_EQ(res.injected.size(), res.expected["inject"]);
  EXPECT_GT(res.expected["has_tp"], 500u);
  EXPECT_GT(res.expected["split"], 500u);
  std::printf("%zu requests on %zu connections: %zu injected, %zu had a traceparent, %zu split headers\n",
              res.requests, res.connections, res.injected.size(), res.expected["has_tp"], res.expected["split"]);

  // Distinct ids every time.
  std::set<std::string> spans_sent, traces_sent;
  for (const Injected& in : res.injected) {
    spans_sent.insert(in.span_id);
    traces_sent.insert(in.trace_id);
  }
  EXPECT_EQ(spans_sent.size(), res.injected.size());
  EXPECT_EQ(traces_sent.size(), res.injected.size());

  // Every injected request's CLIENT span carries exactly the ids sent.
  std::vector<ReceivedSpan> spans = SpansOf(client->pid(), res.requests, kClient, 60000);
  std::map<std::string, const ReceivedSpan*> by_span_id;
  size_t marked = 0;
  for (const ReceivedSpan& s : spans) {
    by_span_id[s.span_id] = &s;
    if (s.Attr("sonde.traceparent.injected") == "true") ++marked;
  }
  size_t matched = 0;
  for (const Injected& in : res.injected) {
    auto it = by_span_id.find(in.span_id);
    if (it == by_span_id.end()) {
      ADD_FAILURE() << "no CLIENT span has the injected span id " << in.span_id << " (" << in.path << ")";
      if (++matched > 10) break;
      continue;
    }
    const ReceivedSpan& s = *it->second;
    EXPECT_EQ(s.trace_id, in.trace_id) << in.path;
    EXPECT_EQ(s.Attr("url.path"), in.path);
    EXPECT_EQ(s.parent_span_id, "") << in.path;
    EXPECT_EQ(s.Attr("sonde.parent.source"), "none") << in.path;
    EXPECT_EQ(s.Attr("sonde.traceparent.injected"), "true") << in.path;
  }
  EXPECT_EQ(marked, res.injected.size());
  EXPECT_EQ(spans.size(), res.requests) << "one CLIENT span per request";
}

TEST_F(InjectTest, SwitchedOffTheBytesAreUnchanged) {
  auto client = StartClient(0.05);
  StartSonde({"--pid", std::to_string(client->pid()), "--capture-bytes", "16384"});
  client->WriteStdin("go\n");
  RunResult res;
  Finish(client.get(), &res);
  // Nothing inserted anywhere: expect every request to arrive as sent.
  size_t checked = 0;
  std::istringstream m(ReadFile(dir_ + "/manifest"));
  std::set<std::string> ports;
  std::string tag, port, offset, path, expect;
  while (m >> tag >> port >> offset >> path >> expect) ports.insert(port);
  for (const std::string& p : ports) {
    std::string sent = ReadFile(dir_ + "/" + p + ".sent");
    std::string recv = ReadFile(dir_ + "/" + p + ".recv");
    EXPECT_EQ(recv.size(), sent.size()) << "connection from port " << p;
    EXPECT_TRUE(recv == sent) << "connection from port " << p;
    ++checked;
  }
  EXPECT_GT(checked, 5u);
  std::vector<ReceivedSpan> spans = SpansOf(client->pid(), res.requests, kClient, 20000);
  EXPECT_EQ(spans.size(), res.requests);
  for (const ReceivedSpan& s : spans) EXPECT_EQ(s.Attr("sonde.traceparent.injected"), "") << s.name;
}

TEST_F(InjectTest, StopsAndSkipsAreFollowedExactlyAndCounted) {
  auto client = StartClient(1.0, "stops");
  StartSonde({"--pid", std::to_string(client->pid()), "--inject-traceparent"});
  client->WriteStdin("go\n");
  RunResult res;
  Finish(client.get(), &res);
  EXPECT_TRUE(res.failures.empty()) << res.failures[0];
  const size_t beyond = res.expected["beyond"];
  EXPECT_GT(beyond, 10u);
  EXPECT_EQ(res.injected.size(), 7u + 80u - beyond);
  EXPECT_EQ(res.expected["stopped"], 8u);
  // The kernel's counters reach /metrics within a second.
  std::this_thread::sleep_for(milliseconds(1500));
  EXPECT_EQ(Metric("sonde_propagation_injected"), static_cast<long>(7 + 80 - beyond));
  EXPECT_EQ(Metric("sonde_propagation_skipped", "reason=\"beyond_capture\""), static_cast<long>(beyond));
  EXPECT_EQ(Metric("sonde_propagation_skipped", "reason=\"chunked\""), 1);
  EXPECT_EQ(Metric("sonde_propagation_skipped", "reason=\"upgrade\""), 1);
  EXPECT_EQ(Metric("sonde_propagation_skipped", "reason=\"not_http1\""), 1);
  EXPECT_EQ(Metric("sonde_propagation_skipped", "reason=\"has_traceparent\""), 0);
  // The connection that began with a lowercase method is not decoded as
  // HTTP, nor are the requests beyond the captured bytes of the big write:
  // every injected request has its CLIENT span.
  std::vector<ReceivedSpan> spans = SpansOf(client->pid(), res.requests - 3 - beyond, kClient, 10000);
  EXPECT_EQ(spans.size(), res.requests - 3 - beyond);
  std::set<std::string> span_ids;
  for (const ReceivedSpan& s : spans)
    if (s.Attr("sonde.traceparent.injected") == "true") span_ids.insert(s.span_id);
  EXPECT_EQ(span_ids.size(), res.injected.size());
  for (const Injected& in : res.injected) EXPECT_TRUE(span_ids.count(in.span_id)) << in.path;
}

std::string Output(const std::vector<std::string>& argv) {
  Child c(argv);
  return c.ReadAll(milliseconds(10000));
}

std::string Cgroup2Mount() {
  std::istringstream is(ReadFile("/proc/mounts"));
  std::string dev, dir, type, rest;
  while (is >> dev >> dir >> type && std::getline(is, rest))
    if (type == "cgroup2") return dir;
  return "";
}

// Ids of the maps named inj_sockhash (another sonde on the host has its own).
std::set<std::string> SockhashIds() {
  std::set<std::string> ids;
  std::istringstream in(Output({"bpftool", "map", "show"}));
  for (std::string line; std::getline(in, line);)
    if (line.find("name inj_sockhash") != std::string::npos) ids.insert(line.substr(0, line.find(':')));
  return ids;
}

TEST_F(InjectTest, AttachmentsAreGoneAfterSondeExits) {
  std::string cgroup = Cgroup2Mount();
  ASSERT_FALSE(cgroup.empty()) << "no cgroup2 mount";
  const std::set<std::string> sockhashes_before = SockhashIds();
  auto client = StartClient(0.02);
  StartSonde({"--pid", std::to_string(client->pid()), "--inject-traceparent"});
  std::string during = Output({"bpftool", "cgroup", "show", cgroup});
  EXPECT_NE(during.find("inject_sockops"), std::string::npos) << during;
  std::string progs = Output({"bpftool", "prog", "show"});
  EXPECT_NE(progs.find("inject_msg"), std::string::npos);
  StopSonde();

  std::string after = Output({"bpftool", "cgroup", "show", cgroup});
  EXPECT_EQ(after.find("inject_sockops"), std::string::npos) << after;
  progs = Output({"bpftool", "prog", "show"});
  EXPECT_EQ(progs.find("inject_sockops"), std::string::npos);
  EXPECT_EQ(progs.find("inject_msg"), std::string::npos);
  // The kernel frees a map in deferred work after its last reference goes.
  auto gone_by = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (SockhashIds() != sockhashes_before && std::chrono::steady_clock::now() < gone_by)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(SockhashIds(), sockhashes_before) << "sonde's sockhash outlived it by 5 s";

  // Connections made now reach the server unchanged.
  client->WriteStdin("go\n");
  RunResult res;
  Finish(client.get(), &res);
  std::istringstream m(ReadFile(dir_ + "/manifest"));
  std::set<std::string> ports;
  std::string tag, port, offset, path, expect;
  while (m >> tag >> port >> offset >> path >> expect) ports.insert(port);
  for (const std::string& p : ports)
    EXPECT_TRUE(ReadFile(dir_ + "/" + p + ".recv") == ReadFile(dir_ + "/" + p + ".sent")) << "port " << p;
  EXPECT_GT(ports.size(), 2u);
}

}  // namespace
}  // namespace sonde::testing

namespace sonde::testing {
namespace {

// The trace continues through a threaded Flask app: its handler for
// /work/<n> calls Redis and another HTTP service (/down/<n>). The kernel
// chose the identity of each /work request when it was read, so the
// traceparent inserted into the /down call names the Flask CLIENT span in
// the Flask SERVER span's trace; the downstream SERVER span (sonde traces
// that process too) is its child by header. One trace per request.
TEST_F(InjectTest, ThreadedFlaskDownstreamCallJoinsTheTraceByHeader) {
  constexpr int kRequests = 100;
  RedisServer redis;
  uint16_t down_port = FreePort();
  auto downstream = StartPyServer(down_port);
  uint16_t app_port = FreePort();
  Child app({Python(), SourceDir() + "/tests/integration/apps/flask_links_app.py", std::to_string(app_port),
             std::to_string(redis.port()), std::to_string(down_port)});
  ASSERT_TRUE(app.WaitForLine("listening", milliseconds(15000))) << app.seen();
  ASSERT_TRUE(WaitForPort(app_port, milliseconds(5000)));
  StartSonde({"--pid", std::to_string(app.pid()), "--pid", std::to_string(downstream->pid()),
              "--inject-traceparent"});

  Child client({Python(), SourceDir() + "/tests/integration/apps/concurrent_client.py",
                "http://127.0.0.1:" + std::to_string(app_port), std::to_string(kRequests), "10"});
  ASSERT_TRUE(client.WaitForLine("done " + std::to_string(kRequests), milliseconds(120000))) << client.seen();

  std::vector<ReceivedSpan> app_spans = AllSpansOf(app.pid(), 4 * kRequests);
  std::vector<ReceivedSpan> down_spans = AllSpansOf(downstream->pid(), kRequests);
  ASSERT_EQ(app_spans.size(), 4u * kRequests) << Describe(app_spans);
  ASSERT_EQ(down_spans.size(), static_cast<size_t>(kRequests)) << Describe(down_spans);

  std::map<std::string, const ReceivedSpan*> work_by_path, call_by_path, down_by_path;
  for (const ReceivedSpan& s : app_spans) {
    if (s.kind == kServer) work_by_path[s.Attr("url.path")] = &s;
    if (s.kind == kClient && s.attributes.count("url.path")) call_by_path[s.Attr("url.path")] = &s;
  }
  for (const ReceivedSpan& s : down_spans) down_by_path[s.Attr("url.path")] = &s;
  int joined = 0;
  for (int n = 0; n < kRequests; ++n) {
    const std::string down = "/down/" + std::to_string(n);
    const ReceivedSpan* work = work_by_path["/work/" + std::to_string(n)];
    const ReceivedSpan* call = call_by_path[down];
    const ReceivedSpan* served = down_by_path[down];
    ASSERT_TRUE(work && call && served) << n;
    EXPECT_EQ(call->Attr("sonde.traceparent.injected"), "true") << down;
    EXPECT_EQ(call->trace_id, work->trace_id) << down;
    EXPECT_EQ(call->parent_span_id, work->span_id) << down;
    EXPECT_EQ(call->Attr("sonde.parent.source"), "thread") << down;
    EXPECT_EQ(served->trace_id, work->trace_id) << down;
    EXPECT_EQ(served->parent_span_id, call->span_id) << down;
    EXPECT_EQ(served->Attr("sonde.parent.source"), "header") << down;
    if (served->trace_id == work->trace_id && served->parent_span_id == call->span_id) ++joined;
  }
  std::printf("%d of %d downstream SERVER spans joined the Flask request's trace by header\n", joined, kRequests);
  // The Redis calls are still linked by thread.
  for (const ReceivedSpan& s : app_spans)
    if (s.kind == kClient && !s.attributes.count("url.path")) EXPECT_EQ(s.Attr("sonde.parent.source"), "thread");
}

}  // namespace
}  // namespace sonde::testing

namespace sonde::testing {
namespace {

// An event loop (Node.js) has many requests in flight on one thread: the
// kernel cannot know which request a call belongs to, so once the thread has
// had two requests in flight its calls start new traces. Whatever happens,
// no call may name the wrong request as its parent, and every downstream
// SERVER span is the child (by header) of the CLIENT span that called it.
TEST_F(InjectTest, EventLoopCallsNeverNameTheWrongRequest) {
  constexpr int kRequests = 100;
  uint16_t down_port = FreePort();
  auto downstream = StartPyServer(down_port);
  uint16_t app_port = FreePort();
  Child app({"node", SourceDir() + "/tests/integration/apps/node_fanout_app.js", std::to_string(app_port),
             std::to_string(down_port)});
  ASSERT_TRUE(app.WaitForLine("listening", milliseconds(15000))) << app.seen();
  ASSERT_TRUE(WaitForPort(app_port, milliseconds(5000)));
  StartSonde({"--pid", std::to_string(app.pid()), "--pid", std::to_string(downstream->pid()),
              "--inject-traceparent"});
  Child client({Python(), SourceDir() + "/tests/integration/apps/concurrent_client.py",
                "http://127.0.0.1:" + std::to_string(app_port), std::to_string(kRequests), "10"});
  ASSERT_TRUE(client.WaitForLine("done " + std::to_string(kRequests), milliseconds(120000))) << client.seen();

  std::vector<ReceivedSpan> app_spans = AllSpansOf(app.pid(), 2 * kRequests);
  std::vector<ReceivedSpan> down_spans = AllSpansOf(downstream->pid(), kRequests);
  ASSERT_EQ(app_spans.size(), 2u * kRequests) << Describe(app_spans);
  ASSERT_EQ(down_spans.size(), static_cast<size_t>(kRequests)) << Describe(down_spans);
  std::map<std::string, std::string> work_path_by_id;  // SERVER span id -> url.path
  std::map<std::string, const ReceivedSpan*> call_by_path;
  for (const ReceivedSpan& s : app_spans) {
    if (s.kind == kServer) work_path_by_id[s.span_id] = s.Attr("url.path");
    if (s.kind == kClient) call_by_path[s.Attr("url.path")] = &s;
  }
  int linked = 0;
  for (const ReceivedSpan& served : down_spans) {
    const std::string path = served.Attr("url.path");
    const ReceivedSpan* call = call_by_path[path];
    ASSERT_NE(call, nullptr) << path;
    EXPECT_EQ(call->Attr("sonde.traceparent.injected"), "true") << path;
    EXPECT_EQ(served.trace_id, call->trace_id) << path;
    EXPECT_EQ(served.parent_span_id, call->span_id) << path;
    if (call->parent_span_id.empty()) continue;
    ++linked;
    auto parent = work_path_by_id.find(call->parent_span_id);
    ASSERT_NE(parent, work_path_by_id.end()) << path << " names a parent that is no SERVER span";
    EXPECT_EQ(parent->second, "/work/" + path.substr(std::string("/items/").size())) << path << " linked to the wrong request";
  }
  std::printf("event loop: %d of %d calls linked to their request, the others start new traces\n", linked,
              kRequests);
}

}  // namespace
}  // namespace sonde::testing
