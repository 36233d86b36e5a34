// One trace across three runtimes: a threaded Flask front (/api/<n>) calls a
// Node express service (/node/<n>, one event loop), which calls FastAPI on
// uvicorn (/fast/<n>, asyncio), which calls Redis (SET/GET k<n>) and
// PostgreSQL (SELECT <n>). 50 clients drive it for 30 s. Every span names
// its request n (URL path, Redis key, SQL literal: sonde runs with
// --no-sanitize-db), so the test knows the true parent of every span and
// reports, per kind of link, precision (correct links / links made) and
// recall (links made / true links).
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "db_servers.h"
#include "harness.h"
#include "sonde_fixture.h"

namespace sonde::testing {
namespace {

using std::chrono::milliseconds;

constexpr int kSeconds = 30;
constexpr int kClients = 50;

// The request number a span is about: the last path segment of an HTTP span,
// the digits after "k" in a Redis command, the literal of "SELECT <n>".
std::optional<long> RequestNumber(const ReceivedSpan& s) {
  std::string text;
  if (s.attributes.count("url.path")) {
    text = s.Attr("url.path");
    text = text.substr(text.rfind('/') + 1);
  } else if (s.attributes.count("db.query.text")) {
    text = s.Attr("db.query.text");
    size_t at = s.Attr("db.system.name") == "redis" ? text.find('k') : text.find(' ');
    if (at == std::string::npos) return std::nullopt;
    text = text.substr(at + 1);
  }
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return std::nullopt;
  return std::stol(text.substr(0, digits));
}

struct LinkScore {
  int true_links = 0;  // spans of this kind whose true parent exists
  int links = 0;       // spans given a parent
  int correct = 0;     // ... the true one
  std::map<std::string, int> sources;  // sonde.parent.source of the spans with a parent

  void Print(const char* what) const {
    std::string by;
    for (const auto& [source, count] : sources) by += " " + source + "=" + std::to_string(count);
    std::printf("%-34s precision %s (%d/%d), recall %.4f (%d/%d), by:%s\n", what,
                links ? std::to_string(static_cast<double>(correct) / links).c_str() : "n/a", correct, links,
                true_links ? static_cast<double>(links) / true_links : 0.0, links, true_links,
                by.empty() ? " -" : by.c_str());
  }
  double precision() const { return links ? static_cast<double>(correct) / links : 1.0; }
  double recall() const { return true_links ? static_cast<double>(links) / true_links : 0.0; }
};

TEST_F(SondeTest, FlaskNodeFastApiCallGraphLinksEverySpanToItsTrueParent) {
  RedisServer redis;
  PostgresServer pg;
  const std::string apps = SourceDir() + "/tests/integration/apps/graph/";
  uint16_t back_port = FreePort(), mid_port = FreePort(), front_port = FreePort();
  Child back({Python(), apps + "back_fastapi.py", std::to_string(back_port), std::to_string(redis.port()),
              std::to_string(pg.port())});
  Child mid({"node", apps + "mid_express.js", std::to_string(mid_port), std::to_string(back_port)});
  Child front({Python(), apps + "front_flask.py", std::to_string(front_port),
               "http://127.0.0.1:" + std::to_string(mid_port) + "/node/"});
  for (Child* c : {&back, &mid, &front}) ASSERT_TRUE(c->WaitForLine("listening", milliseconds(20000))) << c->seen();
  for (uint16_t p : {back_port, mid_port, front_port}) ASSERT_TRUE(WaitForPort(p, milliseconds(10000)));
  // A queue big enough that no span is dropped while 50 clients run.
  StartSonde({"--pid", std::to_string(front.pid()), "--pid", std::to_string(mid.pid()), "--pid",
              std::to_string(back.pid()), "--no-sanitize-db", "--node-callbacks"},
             {"OTEL_BSP_MAX_QUEUE_SIZE=200000"});

  Child load({Python(), apps + "load.py", "http://127.0.0.1:" + std::to_string(front_port),
              std::to_string(kSeconds), std::to_string(kClients)});
  std::string done;
  ASSERT_TRUE(load.WaitForLine("done ", milliseconds((kSeconds + 60) * 1000), &done)) << load.seen();
  ASSERT_EQ(load.Wait(milliseconds(10000)), 0);
  int ok = 0, total = 0;
  ASSERT_EQ(std::sscanf(done.c_str(), "done %d %d", &ok, &total), 2) << done;
  ASSERT_EQ(ok, total) << load.seen();
  ASSERT_GT(ok, 0);
  std::printf("call graph: %d requests in %d s from %d clients\n", ok, kSeconds, kClients);

  // Per request: front SERVER + CLIENT, mid SERVER + CLIENT, back SERVER + 3 CLIENT.
  std::vector<ReceivedSpan> spans;
  for (auto [pid, per_request] : {std::pair{front.pid(), 2}, {mid.pid(), 2}, {back.pid(), 4}}) {
    std::vector<ReceivedSpan> of = AllSpansOf(pid, static_cast<size_t>(per_request) * ok);
    EXPECT_EQ(of.size(), static_cast<size_t>(per_request) * ok) << "pid " << pid;
    spans.insert(spans.end(), of.begin(), of.end());
  }

  // The HTTP spans by (pid, kind, n): the true parents of every span.
  using Key = std::tuple<pid_t, int, long>;
  std::map<Key, const ReceivedSpan*> by_key;
  std::map<std::string, const ReceivedSpan*> by_id;
  auto pid_of = [](const ReceivedSpan& s) { return static_cast<pid_t>(std::stol(s.resource.at("process.pid"))); };
  for (const ReceivedSpan& s : spans) {
    std::optional<long> n = RequestNumber(s);
    ASSERT_TRUE(n) << "span without request number: " << s.name;
    if (s.attributes.count("url.path")) {
      EXPECT_TRUE(by_key.emplace(Key{pid_of(s), s.kind, *n}, &s).second) << "two " << s.name << " spans for n=" << *n;
    }
    by_id[s.span_id] = &s;
  }
  auto find = [&](pid_t pid, int kind, long n) -> const ReceivedSpan* {
    auto it = by_key.find({pid, kind, n});
    return it == by_key.end() ? nullptr : it->second;
  };

  LinkScore threaded, node, asyncio, cross, roots;
  std::map<long, std::set<std::string>> traces;  // n -> trace ids of its spans
  for (const ReceivedSpan& s : spans) {
    long n = *RequestNumber(s);
    pid_t pid = pid_of(s);
    traces[n].insert(s.trace_id);
    const ReceivedSpan* truth = nullptr;
    LinkScore* score = nullptr;
    if (pid == front.pid() && s.kind == kServer) {
      score = &roots;  // the entry: its true parent is none
    } else if (pid == front.pid()) {
      truth = find(front.pid(), kServer, n), score = &threaded;
    } else if (pid == mid.pid() && s.kind == kServer) {
      truth = find(front.pid(), kClient, n), score = &cross;
    } else if (pid == mid.pid()) {
      truth = find(mid.pid(), kServer, n), score = &node;
    } else if (s.kind == kServer) {
      truth = find(mid.pid(), kClient, n), score = &cross;
    } else {
      truth = find(back.pid(), kServer, n), score = &asyncio;
    }
    const std::string source = s.Attr("sonde.parent.source");
    if (s.parent_span_id.empty()) {
      EXPECT_EQ(source, "none") << s.name << " n=" << n;
    } else {
      EXPECT_TRUE(source == "header" || source == "thread" || source == "async_task" || source == "connection")
          << s.name << " has parent source '" << source << "'";
      ++score->links;
      ++score->sources[source];
      auto parent = by_id.find(s.parent_span_id);
      if (truth && s.parent_span_id == truth->span_id) {
        ++score->correct;
        EXPECT_EQ(s.trace_id, truth->trace_id) << s.name << " n=" << n;
      } else {
        ADD_FAILURE() << pid << " " << s.name << " n=" << n << " linked by " << source << " to "
                      << (parent == by_id.end() ? "a span not in the test" : parent->second->name + " n=" +
                                                                                std::to_string(*RequestNumber(*parent->second)));
      }
    }
    if (truth) ++score->true_links;
  }
  int one_trace = 0;
  for (const auto& [n, ids] : traces) one_trace += ids.size() == 1;

  threaded.Print("threaded (Flask, by thread):");
  node.Print("Node.js event loop (express):");
  asyncio.Print("asyncio (FastAPI on uvicorn):");
  cross.Print("across services (header/conn.):");
  std::printf("requests whose 8 spans form one trace: %d of %d\n", one_trace, ok);

  EXPECT_EQ(roots.links, 0) << "the front's SERVER spans have no true parent";
  EXPECT_GE(threaded.precision(), 0.99);
  EXPECT_GE(threaded.recall(), 0.99);
  EXPECT_GE(node.precision(), 0.95);
  // Measured 0.92 to 0.97 here; far below means the event loop's calls lost
  // their link again (the whole request then splits into two traces).
  EXPECT_GE(node.recall(), 0.5);
  EXPECT_GE(one_trace, ok / 2);
  EXPECT_GE(asyncio.precision(), 0.95);
  EXPECT_GE(cross.precision(), 0.99);
}

}  // namespace
}  // namespace sonde::testing
