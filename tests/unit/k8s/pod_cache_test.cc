// PodCache against a fake API server (fake_api_server.h; a real one cannot
// run here): list then watch from the list's resourceVersion, pods added
// and deleted, a dropped watch resumed, 410 Gone relisted, the node field
// selector, the bearer token, and HTTPS with a CA the test makes.
#include "discovery/k8s/pod_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fake_api_server.h"
#include "test_pods.h"

namespace sonde {
namespace {

using namespace std::chrono_literals;
using sonde::testing::FakeApiServer;
using sonde::testing::HexId;
using sonde::testing::MakePod;

// Polls a condition the background thread makes true; a watch delivers
// within milliseconds, the bound only stops a broken test from hanging.
template <typename F>
bool Eventually(F f, std::chrono::milliseconds limit = 10s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return f();
}

KubeApiOptions Options(const FakeApiServer& s, const std::string& node = "node-a") {
  KubeApiOptions o;
  o.api_server = s.url();
  o.node_name = node;
  o.min_backoff = 10ms;
  o.max_backoff = 100ms;
  return o;
}

size_t Count(const std::vector<FakeApiServer::Request>& reqs, const std::string& needle) {
  size_t n = 0;
  for (const auto& r : reqs) n += r.target.find(needle) != std::string::npos;
  return n;
}

TEST(PodCache, ListThenWatchAddsAndDeletes) {
  FakeApiServer server;
  server.AddPod(MakePod("checkout-7d9f8b6c5-aaaaa", "shop", "uid-1", "node-a", "api", HexId('1')));
  server.AddPod(MakePod("other-node-pod", "shop", "uid-x", "node-b", "api", HexId('9')));
  PodCache cache(Options(server));
  cache.Start();
  ASSERT_TRUE(cache.WaitSynced(10s));
  EXPECT_EQ(cache.size(), 1u);  // node-b's pod filtered by spec.nodeName
  auto m = cache.ForContainer(HexId('1'));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->pod.name, "checkout-7d9f8b6c5-aaaaa");
  EXPECT_EQ(m->container_name, "api");
  EXPECT_EQ(m->pod.workload_name, "checkout");
  EXPECT_FALSE(cache.ForContainer(HexId('9')).has_value());

  uint64_t gen = cache.generation();
  server.AddPod(MakePod("cart-7d9f8b6c5-bbbbb", "shop", "uid-2", "node-a", "cart", HexId('2'), "cart"));
  ASSERT_TRUE(Eventually([&] { return cache.ForContainer(HexId('2')).has_value(); }));
  EXPECT_GT(cache.generation(), gen);
  server.DeletePod("uid-1");
  ASSERT_TRUE(Eventually([&] { return !cache.ForContainer(HexId('1')).has_value(); }));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.resource_version(), "104");

  auto reqs = server.requests();
  ASSERT_GE(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].target.find("watch=1"), std::string::npos);  // list first
  EXPECT_NE(reqs[0].target.find("fieldSelector=spec.nodeName%3Dnode-a"), std::string::npos);
  EXPECT_NE(reqs[1].target.find("watch=1"), std::string::npos);
  EXPECT_NE(reqs[1].target.find("resourceVersion=102"), std::string::npos);  // from the list
  EXPECT_EQ(cache.stats().lists, 1u);
  cache.Stop();
}

TEST(PodCache, DroppedWatchResumesFromLastVersion) {
  FakeApiServer server;
  server.AddPod(MakePod("a", "shop", "uid-1", "node-a", "api", HexId('1')));
  PodCache cache(Options(server));
  cache.Start();
  ASSERT_TRUE(cache.WaitSynced(10s));
  server.AddPod(MakePod("b", "shop", "uid-2", "node-a", "api", HexId('2')));
  ASSERT_TRUE(Eventually([&] { return cache.ForContainer(HexId('2')).has_value(); }));
  ASSERT_TRUE(Eventually([&] { return server.open_watches() == 1; }));

  server.DropWatches();
  ASSERT_TRUE(Eventually([&] { return server.open_watches() == 0; }));
  server.AddPod(MakePod("c", "shop", "uid-3", "node-a", "api", HexId('3')));  // while disconnected
  ASSERT_TRUE(Eventually([&] { return cache.ForContainer(HexId('3')).has_value(); }));
  auto reqs = server.requests();
  EXPECT_EQ(Count(reqs, "watch=1"), 2u);
  EXPECT_NE(reqs.back().target.find("resourceVersion=102"), std::string::npos);  // where it left off
  EXPECT_EQ(cache.stats().lists, 1u);  // no relist needed
  cache.Stop();
}

TEST(PodCache, GoneRelists) {
  FakeApiServer server;
  server.AddPod(MakePod("a", "shop", "uid-1", "node-a", "api", HexId('1')));
  server.AddPod(MakePod("b", "shop", "uid-2", "node-a", "api", HexId('2')));
  PodCache cache(Options(server));
  cache.Start();
  ASSERT_TRUE(cache.WaitSynced(10s));
  ASSERT_TRUE(Eventually([&] { return server.open_watches() == 1; }));
  // The server goes away; meanwhile pods change and its history is
  // compacted past the client's version.
  server.SetAvailable(false);
  server.DropWatches();
  ASSERT_TRUE(Eventually([&] { return server.open_watches() == 0; }));
  server.DeletePod("uid-1");
  server.AddPod(MakePod("c", "shop", "uid-3", "node-a", "api", HexId('3')));
  server.CompactHistory();
  ASSERT_TRUE(Eventually([&] { return cache.stats().errors >= 1; }));  // a 503 retried
  server.SetAvailable(true);
  ASSERT_TRUE(Eventually([&] { return cache.stats().lists == 2; }));
  EXPECT_EQ(cache.stats().gone, 1u);
  EXPECT_FALSE(cache.ForContainer(HexId('1')).has_value());  // the relist dropped it
  EXPECT_TRUE(cache.ForContainer(HexId('3')).has_value());
  EXPECT_EQ(cache.resource_version(), "104");
  // And watching resumes from the fresh list.
  server.AddPod(MakePod("d", "shop", "uid-4", "node-a", "api", HexId('4')));
  EXPECT_TRUE(Eventually([&] { return cache.ForContainer(HexId('4')).has_value(); }));
  cache.Stop();
}

TEST(PodCache, ServerDownThenUpRetriesWithBackoff) {
  uint16_t port;
  {
    FakeApiServer probe;  // learn a free port, then leave it closed
    port = static_cast<uint16_t>(std::stoi(probe.url().substr(probe.url().rfind(':') + 1)));
  }
  KubeApiOptions o;
  o.api_server = "http://127.0.0.1:" + std::to_string(port);
  o.min_backoff = 10ms;
  o.max_backoff = 50ms;
  PodCache cache(o);
  cache.Start();
  EXPECT_TRUE(Eventually([&] { return cache.stats().errors >= 3; }));
  EXPECT_FALSE(cache.WaitSynced(1ms));
  auto t0 = std::chrono::steady_clock::now();
  cache.Stop();  // promptly, even mid-backoff
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST(PodCache, SendsTheServiceAccountToken) {
  FakeApiServer server;
  std::string token = ::testing::TempDir() + "/sa-token";
  std::ofstream(token) << "eyJhbGciOi.test-token\n";
  KubeApiOptions o = Options(server);
  o.token_path = token;
  PodCache cache(o);
  cache.Start();
  ASSERT_TRUE(cache.WaitSynced(10s));
  cache.Stop();
  EXPECT_EQ(server.requests().at(0).authorization, "Bearer eyJhbGciOi.test-token");
}

TEST(PodCache, StopEndsAnIdleWatch) {
  FakeApiServer server;
  PodCache cache(Options(server));
  cache.Start();
  ASSERT_TRUE(cache.WaitSynced(10s));
  ASSERT_TRUE(Eventually([&] { return server.open_watches() == 1; }));
  auto t0 = std::chrono::steady_clock::now();
  cache.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

// HTTPS as in a cluster: the server's certificate is checked against the CA
// file given (the service account's ca.crt). Made with the openssl CLI.
TEST(PodCache, HttpsWithClusterCa) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(::testing::TempDir()) / ("sonde-k8s-tls-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string d = dir.string();
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=kubernetes -addext "
                    "subjectAltName=IP:127.0.0.1 -keyout " + d + "/key.pem -out " + d + "/cert.pem 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  {
    FakeApiServer server(d + "/cert.pem", d + "/key.pem");
    server.AddPod(MakePod("a", "shop", "uid-1", "node-a", "api", HexId('1')));
    KubeApiOptions o = Options(server);
    o.ca_path = d + "/cert.pem";
    PodCache cache(o);
    cache.Start();
    ASSERT_TRUE(cache.WaitSynced(10s));
    server.AddPod(MakePod("b", "shop", "uid-2", "node-a", "api", HexId('2')));
    EXPECT_TRUE(Eventually([&] { return cache.ForContainer(HexId('2')).has_value(); }));
    cache.Stop();

    // Without the CA the certificate is refused: nothing is listed.
    KubeApiOptions untrusted = Options(server);
    untrusted.ca_path = "/etc/ssl/certs/ca-certificates.crt";
    PodCache refused(untrusted);
    refused.Start();
    EXPECT_FALSE(refused.WaitSynced(500ms));
    EXPECT_GE(refused.stats().errors, 1u);
    refused.Stop();
  }
  fs::remove_all(dir);
}

TEST(PodCache, IndexFollowsContainerRestarts) {
  PodCache cache(KubeApiOptions{});
  PodInfo p;
  p.uid = "u1";
  p.name = "a";
  p.containers = {{"api", HexId('1'), "svc"}};
  cache.Upsert(p);
  EXPECT_EQ(cache.ForContainer(HexId('1'))->container_otel_service_name, "svc");
  p.containers[0].id = HexId('2');  // restarted: new container id
  cache.Upsert(p);
  EXPECT_FALSE(cache.ForContainer(HexId('1')).has_value());
  EXPECT_TRUE(cache.ForContainer(HexId('2')).has_value());
  cache.Remove("u1");
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.ForContainer(HexId('2')).has_value());
}

}  // namespace
}  // namespace sonde
