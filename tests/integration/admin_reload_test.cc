// The agent's admin endpoint (Prometheus /metrics, /healthz) and config
// reload under traffic, with the real BPF programs.
#include <filesystem>
#include <fstream>
#include <thread>

#include "db_servers.h"
#include "sonde_fixture.h"

namespace sonde::testing {
namespace {

std::string HttpGet(uint16_t port, const std::string& path, int* status) {
  Child c({"curl", "-s", "-o", "-", "-w", "\n%{http_code}", "http://127.0.0.1:" + std::to_string(port) + path});
  std::string out = c.ReadAll(milliseconds(5000));
  c.Wait(milliseconds(5000));
  size_t nl = out.rfind('\n');
  *status = nl == std::string::npos ? 0 : std::atoi(out.c_str() + nl + 1);
  return nl == std::string::npos ? out : out.substr(0, nl);
}

TEST_F(SondeTest, PrometheusEndpointShowsRedAndSelfMetrics) {
  uint16_t port = FreePort();
  Child server({BinaryDir() + "/tests/integration/cpp_http_server", std::to_string(port)});
  ASSERT_TRUE(server.WaitForLine("listening", milliseconds(10000)));
  // Only this server, so other traffic on the machine cannot add to its counts.
  StartSonde({"--pid", std::to_string(server.pid())});
  int status = 0;
  EXPECT_EQ(HttpGet(admin_port_, "/healthz", &status), "ok\n");
  EXPECT_EQ(status, 200);
  for (int i = 0; i < 3; ++i) {
    Child curl({"curl", "-s", "-o", "/dev/null", "http://127.0.0.1:" + std::to_string(port) + "/items/" +
                                                      std::to_string(i)});
    curl.Wait(milliseconds(5000));
  }
  ASSERT_EQ(SpansOf(server.pid(), 3, kServer).size(), 3u);
  std::string metrics = HttpGet(admin_port_, "/metrics", &status);
  EXPECT_EQ(status, 200);
  // Three server requests in the +Inf bucket of the semantic-convention histogram.
  std::string needle = "http_server_request_duration_seconds_count{";
  size_t at = metrics.find(needle);
  ASSERT_NE(at, std::string::npos) << metrics.substr(0, 3000);
  std::string line = metrics.substr(at, metrics.find('\n', at) - at);
  EXPECT_NE(line.find("http_request_method=\"GET\""), std::string::npos) << line;
  EXPECT_NE(line.find("http_response_status_code=\"200\""), std::string::npos) << line;
  EXPECT_EQ(line.substr(line.rfind(' ') + 1), "3") << line;
  EXPECT_NE(metrics.find("le=\"0.005\""), std::string::npos);
  EXPECT_NE(metrics.find("sonde_events_captured_total"), std::string::npos);
  EXPECT_NE(metrics.find("job=\"sonde\",reason=\"ringbuf_full\"} 0"), std::string::npos)
      << metrics.substr(0, 3000);
  EXPECT_NE(metrics.find("sonde_spans_created_total"), std::string::npos);
}

TEST_F(SondeTest, ConfigReloadSwitchesSelectionWithoutLosingSpans) {
  uint16_t port_a = FreePort(), port_b = FreePort();
  Child a({BinaryDir() + "/tests/integration/cpp_http_server", std::to_string(port_a)});
  Child b({BinaryDir() + "/tests/integration/cpp_http_server", std::to_string(port_b)});
  ASSERT_TRUE(a.WaitForLine("listening", milliseconds(10000)));
  ASSERT_TRUE(b.WaitForLine("listening", milliseconds(10000)));
  // A ConfigMap-shaped directory: the file is a symlink through ..data, swapped atomically.
  std::string dir = BinaryDir() + "/tests/integration/reload-config";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto publish = [&](const std::string& text, int version) {
    std::string v = dir + "/..v" + std::to_string(version);
    std::filesystem::create_directories(v);
    std::ofstream(v + "/sonde.yaml") << text;
    std::filesystem::create_directory_symlink("..v" + std::to_string(version), dir + "/..data_tmp");
    std::filesystem::rename(dir + "/..data_tmp", dir + "/..data");
    if (!std::filesystem::exists(dir + "/sonde.yaml"))
      std::filesystem::create_symlink("..data/sonde.yaml", dir + "/sonde.yaml");
  };
  publish("select:\n  ports: [" + std::to_string(port_a) + "]\n", 1);
  StartSonde({"--config", dir + "/sonde.yaml"});

  auto hit = [&](uint16_t port, int n) {
    for (int i = 0; i < n; ++i) {
      Child curl({"curl", "-s", "-o", "/dev/null", "http://127.0.0.1:" + std::to_string(port) + "/items/1"});
      curl.Wait(milliseconds(5000));
    }
  };
  hit(port_a, 3);
  hit(port_b, 3);
  ASSERT_EQ(SpansOf(a.pid(), 3, kServer).size(), 3u);
  EXPECT_TRUE(SettledSpansOf(b.pid()).empty()) << "b is not selected yet";

  publish("select:\n  ports: [" + std::to_string(port_b) + "]\n", 2);
  ASSERT_TRUE(sonde_->WaitForLine("config reloaded", milliseconds(10000))) << sonde_->seen();
  hit(port_a, 2);
  hit(port_b, 4);
  EXPECT_EQ(SpansOf(b.pid(), 4, kServer).size(), 4u) << "every request to b after the switch";
  EXPECT_EQ(SettledSpansOf(a.pid()).size(), 3u) << "a is no longer traced";

  // A broken config is refused and the running one kept.
  publish("select:\n  portz: [1]\n", 3);
  ASSERT_TRUE(sonde_->WaitForLine("config change rejected", milliseconds(10000))) << sonde_->seen();
  hit(port_b, 2);
  EXPECT_EQ(SpansOf(b.pid(), 6, kServer).size(), 6u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sonde::testing
