// Same-host stitching with the real BPF programs: both ends of each
// connection are traced processes on 127.0.0.1, and every SERVER span must
// be the child of the CLIENT span that sent its request (same trace,
// sonde.parent.source = "connection"), with no header in the request:
// HTTP/1 keep-alive (python-requests -> http.server), gRPC (Python grpcio ->
// C++ grpc++), Redis with pipelining (redis-py -> redis-server) and
// PostgreSQL (psycopg2 -> the backend the postmaster forks).
#include <map>
#include <set>
#include <sstream>

#include "db_servers.h"
#include "grpc_apps.h"
#include "sonde_fixture.h"

namespace sonde::testing {
namespace {

// Each SERVER span's parent is one CLIENT span, each CLIENT span the parent
// of exactly one SERVER span, and the pair agrees on `same` (an attribute,
// or the span name when empty).
void ExpectStitched(const std::vector<ReceivedSpan>& servers, const std::vector<ReceivedSpan>& clients,
                    const std::string& same) {
  std::map<std::string, const ReceivedSpan*> client_by_id;
  for (const ReceivedSpan& c : clients) {
    ASSERT_EQ(c.kind, kClient) << c.name;
    client_by_id[c.span_id] = &c;
    // The clients handle no request of their own: their spans are roots.
    EXPECT_TRUE(c.parent_span_id.empty()) << c.name;
    EXPECT_EQ(c.Attr("sonde.parent.source"), "none") << c.name;
  }
  std::set<std::string> parents;
  for (const ReceivedSpan& s : servers) {
    ASSERT_EQ(s.kind, kServer) << s.name;
    EXPECT_EQ(s.Attr("sonde.parent.source"), "connection") << s.name;
    auto p = client_by_id.find(s.parent_span_id);
    if (p == client_by_id.end()) {
      ADD_FAILURE() << s.name << ": parent " << s.parent_span_id << " is not a CLIENT span of the client";
      continue;
    }
    EXPECT_TRUE(parents.insert(s.parent_span_id).second) << s.name << ": a CLIENT span with two SERVER children";
    EXPECT_EQ(s.trace_id, p->second->trace_id) << s.name;
    if (same.empty()) {
      EXPECT_EQ(s.name, p->second->name);
    } else {
      EXPECT_EQ(s.Attr(same), p->second->Attr(same)) << s.name;
    }
    // The server's work lies within the client's call.
    EXPECT_GE(s.start_unix_ns + kSlackNs, p->second->start_unix_ns) << s.name;
    EXPECT_LE(s.end_unix_ns, p->second->end_unix_ns + kSlackNs) << s.name;
  }
}

// The clients below start, print "ready" and wait for a line on stdin
// before they connect, so that sonde can be started selecting exactly the
// two ends by pid (tracing every process would also pick up whatever else
// runs on the machine).
std::unique_ptr<Child> StartPausedClient(const std::string& script, const std::string& arg) {
  auto c = std::make_unique<Child>(std::vector<std::string>{Python(), "-c", script, arg}, std::vector<std::string>{},
                                   Child::Capture::kStdout, /*pipe_stdin=*/true);
  EXPECT_TRUE(c->WaitForLine("ready", milliseconds(20000))) << c->seen();
  return c;
}

void Go(Child* client) {
  client->WriteStdin("go\n");
  ASSERT_TRUE(client->WaitForLine("done", milliseconds(30000))) << client->seen();
  ASSERT_EQ(client->Wait(milliseconds(10000)), 0);
}

std::vector<std::string> Select(std::initializer_list<pid_t> pids) {
  std::vector<std::string> args;
  for (pid_t p : pids) {
    args.push_back("--pid");
    args.push_back(std::to_string(p));
  }
  return args;
}

// python-requests, one keep-alive session, GET /items/1..N.
constexpr char kRequestsClient[] = R"PY(
import sys, requests
base, n = sys.argv[1].rsplit(" ", 1)
print("ready", flush=True)
sys.stdin.readline()
with requests.Session() as s:
    for i in range(1, int(n) + 1):
        r = s.get("%s/items/%d" % (base, i))
        r.content
print("done", flush=True)
)PY";

TEST_F(SondeTest, StitchHttp1KeepAliveRequestsToTheirServerSpans) {
  constexpr int kRequests = 6;
  uint16_t port = FreePort();
  auto server = StartPyServer(port);
  auto client = StartPausedClient(kRequestsClient, "http://127.0.0.1:" + std::to_string(port) + " 6");
  StartSonde(Select({server->pid(), client->pid()}));
  Go(client.get());

  auto servers = AllSpansOf(server->pid(), kRequests);
  auto clients = AllSpansOf(client->pid(), kRequests);
  ASSERT_EQ(servers.size(), static_cast<size_t>(kRequests)) << Describe(servers);
  ASSERT_EQ(clients.size(), static_cast<size_t>(kRequests)) << Describe(clients);
  ExpectStitched(servers, clients, "url.path");
  std::set<int64_t> client_ports;  // keep-alive: one connection for all
  for (const ReceivedSpan& s : servers) client_ports.insert(s.IntAttr("network.peer.port").value_or(0));
  EXPECT_EQ(client_ports.size(), 1u);
  // The decisions are counted where a user looks.
  EXPECT_EQ(MetricValue("sonde_links_connection_total", "result=\"stitched\"", kRequests), kRequests);
}

TEST_F(SondeTest, StitchNeedsBothEndsSelected) {
  uint16_t port = FreePort();
  auto server = StartPyServer(port);
  auto client = StartPausedClient(kRequestsClient, "http://127.0.0.1:" + std::to_string(port) + " 3");
  StartSonde(Select({server->pid()}));
  Go(client.get());
  auto servers = AllSpansOf(server->pid(), 3);
  ASSERT_EQ(servers.size(), 3u) << Describe(servers);
  for (const ReceivedSpan& s : servers) {
    EXPECT_TRUE(s.parent_span_id.empty()) << s.name;
    EXPECT_EQ(s.Attr("sonde.parent.source"), "none") << s.name;
  }
  EXPECT_TRUE(SettledSpansOf(client->pid()).empty());
}

TEST_F(SondeTest, StitchGrpcCallsToTheirServerSpans) {
  uint16_t port = FreePort();
  auto server = StartEchoServer(Lang::kCpp, port, /*tls=*/false);
  std::vector<EchoCall> plan = FullPlan();
  // The channel connects at the first call, after the pause.
  std::vector<std::string> specs = Specs(plan);
  specs.insert(specs.begin(), "pause");
  auto client = StartEchoClient(Lang::kPython, port, /*tls=*/false, specs, /*pipe_stdin=*/true);
  ASSERT_TRUE(client->WaitForLine("paused", milliseconds(20000))) << client->seen();
  StartSonde(Select({server->pid(), client->pid()}));
  client->WriteStdin("go\n");
  auto results = EchoResults(client.get(), plan);
  ASSERT_EQ(results.size(), plan.size());

  auto servers = AllSpansOf(server->pid(), plan.size());
  auto clients = AllSpansOf(client->pid(), plan.size());
  ASSERT_EQ(servers.size(), plan.size()) << Describe(servers);
  ASSERT_EQ(clients.size(), plan.size()) << Describe(clients);
  // The call that carries a traceparent keeps it: the header wins.
  std::vector<ReceivedSpan> stitched;
  int header = 0;
  for (const ReceivedSpan& s : servers) {
    if (s.Attr("sonde.parent.source") == "header") {
      ++header;
      EXPECT_EQ(s.trace_id, kEchoTraceId);
      EXPECT_EQ(s.parent_span_id, kEchoParentId);
    } else {
      stitched.push_back(s);
    }
  }
  EXPECT_EQ(header, 1);
  // Every CLIENT span but the traceparent call's has its SERVER child.
  std::vector<ReceivedSpan> parents;
  std::set<std::string> ids;
  for (const ReceivedSpan& s : stitched) ids.insert(s.parent_span_id);
  for (const ReceivedSpan& c : clients)
    if (ids.count(c.span_id)) parents.push_back(c);
  EXPECT_EQ(parents.size(), plan.size() - 1) << Describe(clients);
  ExpectStitched(stitched, parents, "rpc.method");
}

TEST_F(SondeTest, StitchRedisPyCommandsAndPipelineToRedisServerSpans) {
  RedisServer redis;
  const char* script = R"PY(
import sys, redis
print("ready", flush=True)
sys.stdin.readline()
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), db=0)
r.set("stitch:a", "1")
r.get("stitch:a")
r.incr("stitch:n")
p = r.pipeline(transaction=False)
p.set("stitch:b", "2")
p.get("stitch:b")
p.incr("stitch:n")
p.lpush("stitch:l", "x")
p.execute()
r.close()
print("done", flush=True)
)PY";
  auto client = StartPausedClient(script, std::to_string(redis.port()));
  StartSonde(Select({redis.pid(), client->pid()}));
  Go(client.get());

  // Seven commands, plus whatever redis-py says when it connects (the same
  // on both ends, and stitched too).
  auto clients = AllSpansOf(client->pid(), 7);
  auto servers = AllSpansOf(redis.pid(), clients.size());
  ASSERT_GE(clients.size(), 7u) << Describe(clients);
  ASSERT_EQ(servers.size(), clients.size()) << Describe(servers) << "\n--- clients:\n" << Describe(clients);
  ExpectStitched(servers, clients, "");
  std::map<std::string, int> names;
  for (const ReceivedSpan& s : servers) names[s.name]++;
  EXPECT_EQ(names["SET"], 2);
  EXPECT_EQ(names["GET"], 2);
  EXPECT_EQ(names["INCRBY"], 2);  // redis-py's incr()
  EXPECT_EQ(names["LPUSH"], 1);
}

TEST_F(SondeTest, StitchPsycopg2QueriesToTheForkedBackendsSpans) {
  PostgresServer pg;
  const char* script = R"PY(
import sys, psycopg2
print("ready", flush=True)
sys.stdin.readline()
c = psycopg2.connect(host="127.0.0.1", port=int(sys.argv[1]), dbname="shop", user="postgres", sslmode="disable")
c.autocommit = True
cur = c.cursor()
cur.execute("SELECT pg_backend_pid()")
print("backend", cur.fetchone()[0], flush=True)
cur.execute("SELECT name FROM users WHERE id = %s", (1,))
cur.fetchall()
cur.execute("UPDATE orders SET total = 7 WHERE id = 1")
cur.execute("SELECT count(*) FROM orders")
cur.fetchall()
c.close()
print("done", flush=True)
)PY";
  auto client = StartPausedClient(script, std::to_string(pg.port()));
  // --pid follows forks: the backend the postmaster forks for the
  // connection is selected with it.
  StartSonde(Select({pg.pid(), client->pid()}));
  Go(client.get());
  pid_t backend = 0;
  std::istringstream lines(client->seen());
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("backend ", 0) == 0) backend = std::stoi(line.substr(8));
  ASSERT_GT(backend, 0) << client->seen();

  auto clients = AllSpansOf(client->pid(), 4);
  auto servers = AllSpansOf(backend, 4);
  ASSERT_EQ(clients.size(), 4u) << Describe(clients);
  ASSERT_EQ(servers.size(), 4u) << Describe(servers);
  ExpectStitched(servers, clients, "db.query.text");
}

}  // namespace
}  // namespace sonde::testing
