// The admin HTTP server: /healthz flips with SetReady, /metrics serves the
// Prometheus text of its producers (scraped and parsed here), and the
// server copes with odd clients.
#include "exporter/admin_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "metrics/red_metrics.h"
#include "metrics/self_metrics.h"
#include "prometheus_parse.h"
#include "test_spans.h"

namespace sonde {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int Connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

struct HttpAnswer {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercased names
  std::string body;
};

// One request on a fresh connection; the server closes it after answering.
HttpAnswer Fetch(int port, const std::string& path, const std::string& method = "GET") {
  HttpAnswer a;
  int fd = Connect(port);
  if (fd < 0) return a;
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n";
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string raw;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<size_t>(n));
  close(fd);
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos || raw.size() < 12) return a;
  a.status = std::stoi(raw.substr(9, 3));
  std::string head = raw.substr(0, head_end);
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos) {
    size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string k = line.substr(0, colon);
      for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      a.headers[k] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    pos = next;
  }
  a.body = raw.substr(head_end + 4);
  return a;
}

AdminServerOptions AnyPort() {
  AdminServerOptions o;
  o.bind_address = "127.0.0.1";
  o.port = 0;
  o.read_timeout = 300ms;
  return o;
}

TEST(AdminServer, HealthzFlipsWithReadiness) {
  AdminServer server(AnyPort(), {});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  ASSERT_NE(server.port(), 0);
  HttpAnswer a = Fetch(server.port(), "/healthz");
  EXPECT_EQ(a.status, 503);
  EXPECT_EQ(a.body, "not ready\n");
  server.SetReady(true);
  a = Fetch(server.port(), "/healthz");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "ok\n");
  EXPECT_EQ(a.headers["content-length"], "3");
  server.SetReady(false);
  EXPECT_EQ(Fetch(server.port(), "/healthz?verbose=1").status, 503);
}

TEST(AdminServer, MetricsServesRedAndSelfMetricsInPrometheusFormat) {
  RedMetrics red;
  auto res = std::make_shared<Resource>();
  res->attributes = {{"service.name", std::string("sonde")}};
  SelfMetrics self(res);
  AdminServer server(AnyPort(), {&red, &self});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;

  Span s = test::MakeSpan(1, 1, 0, "GET /", SpanKind::kServer, test::MakeResource("api", 5), 0, 2000);
  s.attributes = {{"http.request.method", std::string("GET")}, {"http.response.status_code", int64_t{200}}};
  red.Record(s);
  auto* created = self.GetCounter(self_metric::kSpansCreated);
  created->Add(1);

  HttpAnswer a = Fetch(server.port(), "/metrics");
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  auto p = test::ParsePrometheus(a.body);
  ASSERT_EQ(p.error, "") << a.body;
  EXPECT_EQ(p.Value("http_server_request_duration_seconds_count", {{"job", "api"}, {"http_request_method", "GET"}}),
            "1");
  EXPECT_EQ(p.Value("http_server_request_duration_seconds_bucket", {{"job", "api"}, {"le", "0.005"}}), "1");
  EXPECT_EQ(p.Value("sonde_spans_created_total", {{"job", "sonde"}}), "1");

  // Every scrape collects anew.
  created->Add(2);
  red.Record(s);
  p = test::ParsePrometheus(Fetch(server.port(), "/metrics").body);
  EXPECT_EQ(p.Value("sonde_spans_created_total", {}), "3");
  EXPECT_EQ(p.Value("http_server_request_duration_seconds_count", {{"job", "api"}}), "2");
}

TEST(AdminServer, UnknownPathsAndMethods) {
  AdminServer server(AnyPort(), {});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  EXPECT_EQ(Fetch(server.port(), "/nope").status, 404);
  HttpAnswer a = Fetch(server.port(), "/metrics", "POST");
  EXPECT_EQ(a.status, 405);
  EXPECT_EQ(a.headers["allow"], "GET, HEAD");
  server.SetReady(true);
  a = Fetch(server.port(), "/healthz", "HEAD");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "");
  // Garbage gets a 400, not a crash.
  int fd = Connect(server.port());
  send(fd, "\r\n\r\n", 4, MSG_NOSIGNAL);
  char buf[256];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  close(fd);
  ASSERT_GT(n, 12);
  EXPECT_EQ(std::string(buf, 12), "HTTP/1.1 400");
}

TEST(AdminServer, AnIdleClientDoesNotHoldTheServer) {
  AdminServer server(AnyPort(), {});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  server.SetReady(true);
  int idle = Connect(server.port());  // connects and says nothing
  ASSERT_GE(idle, 0);
  auto start = Clock::now();
  EXPECT_EQ(Fetch(server.port(), "/healthz").status, 200);
  EXPECT_LT(Clock::now() - start, 2s);
  close(idle);
}

TEST(AdminServer, BusyPortIsAClearError) {
  AdminServer first(AnyPort(), {});
  std::string error;
  ASSERT_TRUE(first.Start(&error)) << error;
  AdminServerOptions o = AnyPort();
  o.port = first.port();
  AdminServer second(o, {});
  EXPECT_FALSE(second.Start(&error));
  EXPECT_NE(error.find("127.0.0.1:" + std::to_string(first.port())), std::string::npos) << error;
  o.bind_address = "not-an-ip";
  AdminServer third(o, {});
  EXPECT_FALSE(third.Start(&error));
  EXPECT_NE(error.find("not-an-ip"), std::string::npos) << error;
}

TEST(AdminServer, StopIsPromptAndIdempotent) {
  AdminServer server(AnyPort(), {});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  int port = server.port();
  auto start = Clock::now();
  server.Stop();
  server.Stop();
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_LT(Connect(port), 0);
}

}  // namespace
}  // namespace sonde
