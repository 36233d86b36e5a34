// In-process causality on a threaded server: a Flask service (threaded
// werkzeug server) handles /work/<n> by calling Redis twice and another HTTP
// service at /down/<n>; /spawn/<n> makes the same calls from a thread the
// handler starts. Under concurrent clients, every CLIENT span must be a child
// of the SERVER span of the request that made it, found by thread
// (sonde.parent.source = "thread").
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "db_servers.h"
#include "harness.h"
#include "sonde_fixture.h"

namespace sonde::testing {
namespace {

using std::chrono::milliseconds;

class ThreadLinksTest : public SondeTest {
 protected:
  // Drives the app's /<prefix>/<n> and checks the links of every CLIENT span.
  void Run(const std::string& prefix);
};

void ThreadLinksTest::Run(const std::string& prefix) {
  constexpr int kRequests = 200;
  constexpr int kConcurrency = 20;
  RedisServer redis;
  uint16_t down_port = FreePort();
  auto downstream = StartPyServer(down_port);
  uint16_t port = FreePort();
  Child app({Python(), SourceDir() + "/tests/integration/apps/flask_links_app.py", std::to_string(port),
             std::to_string(redis.port()), std::to_string(down_port)});
  ASSERT_TRUE(app.WaitForLine("listening", milliseconds(15000))) << app.seen();
  ASSERT_TRUE(WaitForPort(port, milliseconds(5000)));
  StartSonde({"--pid", std::to_string(app.pid())});

  Child client({Python(), SourceDir() + "/tests/integration/apps/concurrent_client.py",
                "http://127.0.0.1:" + std::to_string(port), std::to_string(kRequests),
                std::to_string(kConcurrency), prefix});
  ASSERT_TRUE(client.WaitForLine("done " + std::to_string(kRequests), milliseconds(120000))) << client.seen();
  ASSERT_EQ(client.Wait(milliseconds(10000)), 0);

  // Per request: one SERVER span, two Redis CLIENT spans, one HTTP CLIENT span.
  std::vector<ReceivedSpan> spans = AllSpansOf(app.pid(), 4 * kRequests);
  ASSERT_EQ(spans.size(), 4u * kRequests) << Describe(spans);

  std::map<std::string, const ReceivedSpan*> server_by_id;  // span id -> SERVER span
  std::map<std::string, std::string> path_of;               // SERVER span id -> url.path
  for (const ReceivedSpan& s : spans) {
    if (s.kind != kServer) continue;
    server_by_id[s.span_id] = &s;
    path_of[s.span_id] = s.Attr("url.path");
  }
  ASSERT_EQ(server_by_id.size(), static_cast<size_t>(kRequests));

  // Truth: /down/<n> belongs to /work/<n>; each request made exactly one SET
  // and one GET on Redis.
  int links = 0, correct = 0, true_links = 0;
  std::map<std::string, std::multiset<std::string>> children;  // SERVER span id -> child names
  for (const ReceivedSpan& s : spans) {
    if (s.kind != kClient) continue;
    ++true_links;
    if (s.parent_span_id.empty()) {
      EXPECT_EQ(s.Attr("sonde.parent.source"), "none") << s.name;
      continue;
    }
    ++links;
    EXPECT_EQ(s.Attr("sonde.parent.source"), "thread") << s.name;
    auto parent = server_by_id.find(s.parent_span_id);
    ASSERT_NE(parent, server_by_id.end()) << s.name << " has a parent that is not a SERVER span of the app";
    EXPECT_EQ(s.trace_id, parent->second->trace_id) << s.name;
    children[s.parent_span_id].insert(s.name);
    const std::string& server_path = path_of[s.parent_span_id];
    if (s.attributes.count("url.path")) {
      std::string n = s.Attr("url.path").substr(std::string("/down/").size());
      if (server_path == "/" + prefix + "/" + n) ++correct;
      else ADD_FAILURE() << s.Attr("url.path") << " linked to " << server_path;
    } else {
      ++correct;  // checked below through the per-request counts
    }
  }
  for (const auto& [id, names] : children) {
    EXPECT_EQ(names.count("SET"), 1u) << path_of[id];
    EXPECT_EQ(names.count("GET"), 1u) << path_of[id];
    EXPECT_EQ(names.count("GET /down/{id}"), 1u) << path_of[id];
  }
  double precision = links ? static_cast<double>(correct) / links : 0;
  double recall = true_links ? static_cast<double>(links) / true_links : 0;
  std::printf("thread links (threaded Flask, /%s): precision %.4f (%d/%d), recall %.4f (%d/%d)\n", prefix.c_str(),
              precision, correct, links, recall, links, true_links);
  EXPECT_GE(precision, 0.99);
  EXPECT_GE(recall, 0.99);  // one request per thread at a time: every call is provable
}

TEST_F(ThreadLinksTest, ThreadedFlaskCallsAreChildrenOfTheRequestThatMadeThem) { Run("work"); }

// The handler hands the calls to a thread it starts (and joins): that thread
// inherits the request (sched_process_fork reports who created it).
TEST_F(ThreadLinksTest, CallsFromAThreadTheHandlerStartedAreChildrenOfItsRequest) { Run("spawn"); }

}  // namespace
}  // namespace sonde::testing
