// End to end: real BPF programs, real servers and clients, spans received
// over OTLP. Each test knows the truth of the traffic it makes.
#include <fstream>
#include <map>
#include <thread>

#include "sonde_fixture.h"

namespace sonde::testing {
namespace {

std::string MakeFile(size_t bytes) {
  std::string path = BinaryDir() + "/tests/integration/body_" + std::to_string(bytes) + ".bin";
  std::ofstream(path) << std::string(bytes, 'q');
  return path;
}

TEST_F(SondeTest, PythonHttpServerAndCurlKeepAlive) {
  StartSonde();
  uint16_t port = FreePort();
  auto server = StartPyServer(port);
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  uint64_t t0 = UnixNowNs();
  // One curl process, one keep-alive connection, five requests.
  Child curl({"curl", "-s", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-o",
              "/dev/null", base + "/items/42?token=secret", base + "/missing", base + "/boom", base + "/chunked",
              base + "/big"});
  ASSERT_EQ(curl.Wait(milliseconds(20000)), 0);
  uint64_t t1 = UnixNowNs();

  auto server_spans = SpansOf(server->pid(), 5, kServer);
  ASSERT_EQ(server_spans.size(), 5u) << Describe(server_spans);
  const ReceivedSpan* items = OneNamed(server_spans, "GET /items/{id}");
  ASSERT_NE(items, nullptr);
  EXPECT_EQ(items->Attr("http.request.method"), "GET");
  EXPECT_EQ(items->Attr("url.path"), "/items/42");
  EXPECT_EQ(items->Attr("url.query"), "token=REDACTED");
  EXPECT_EQ(items->IntAttr("http.response.status_code"), 200);
  EXPECT_EQ(items->Attr("network.protocol.version"), "1.1");
  EXPECT_EQ(items->Attr("user_agent.original").rfind("curl/", 0), 0u);
  EXPECT_EQ(items->IntAttr("server.port"), port);
  EXPECT_EQ(items->Attr("client.address"), "127.0.0.1");
  EXPECT_EQ(items->status_code, kUnset);
  EXPECT_EQ(items->resource.at("telemetry.sdk.name"), "sonde");
  EXPECT_EQ(items->resource.at("telemetry.sdk.language"), "python");
  EXPECT_EQ(items->resource.at("service.name"), "http_server");
  // curl is traced too: its CLIENT span is the parent (checked below).
  EXPECT_EQ(items->Attr("sonde.parent.source"), "connection");

  const ReceivedSpan* missing = OneNamed(server_spans, "GET /missing");
  ASSERT_NE(missing, nullptr);
  EXPECT_EQ(missing->IntAttr("http.response.status_code"), 404);
  EXPECT_EQ(missing->status_code, kUnset) << "4xx is not an error on a SERVER span";
  const ReceivedSpan* boom = OneNamed(server_spans, "GET /boom");
  ASSERT_NE(boom, nullptr);
  EXPECT_EQ(boom->status_code, kError);
  EXPECT_EQ(boom->Attr("error.type"), "500");
  const ReceivedSpan* chunked = OneNamed(server_spans, "GET /chunked");
  ASSERT_NE(chunked, nullptr);
  EXPECT_EQ(chunked->IntAttr("http.response.status_code"), 200);
  const ReceivedSpan* big = OneNamed(server_spans, "GET /big");
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->IntAttr("http.response.body.size"), 1 << 20);
  for (auto& s : server_spans) ExpectInside(s, t0, t1);

  // curl's own CLIENT spans: 4xx is an error on the client side.
  auto client_spans = SpansOf(curl.pid(), 5, kClient);
  ASSERT_EQ(client_spans.size(), 5u) << Describe(client_spans);
  const ReceivedSpan* cmissing = OneNamed(client_spans, "GET /missing");
  ASSERT_NE(cmissing, nullptr);
  EXPECT_EQ(cmissing->status_code, kError);
  EXPECT_EQ(cmissing->Attr("error.type"), "404");
  EXPECT_EQ(cmissing->Attr("server.address"), "127.0.0.1");
  EXPECT_EQ(cmissing->IntAttr("server.port"), port);
  EXPECT_EQ(cmissing->IntAttr("network.peer.port"), port);
  for (auto& s : client_spans) ExpectInside(s, t0, t1);
  // Both ends traced: each SERVER span is the child of curl's CLIENT span
  // for the same request (same-host stitching).
  for (auto& s : server_spans) {
    int parents = 0;
    for (auto& c : client_spans)
      if (c.span_id == s.parent_span_id) {
        ++parents;
        EXPECT_EQ(c.trace_id, s.trace_id);
        EXPECT_EQ(c.Attr("url.path"), s.Attr("url.path"));
      }
    EXPECT_EQ(parents, 1) << s.name;
  }
}

TEST_F(SondeTest, TraceparentFromTheClientBecomesTheServerSpansParent) {
  StartSonde();
  uint16_t port = FreePort();
  auto server = StartPyServer(port);
  std::string plan =
      R"([{"path": "/items/1", "headers": {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "tracestate": "vendor=abc"}},
          {"path": "/items/2", "headers": {"traceparent": "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"}},
          {"path": "/items/3"}])";
  Child client({Python(), SourceDir() + "/tests/integration/apps/client.py", "http://127.0.0.1:" + std::to_string(port),
                plan});
  ASSERT_EQ(client.Wait(milliseconds(20000)), 0);
  auto results = ParseResults(client.ReadAll(milliseconds(1000)));
  ASSERT_EQ(results.size(), 3u);

  auto spans = SpansOf(server->pid(), 3, kServer);
  ASSERT_EQ(spans.size(), 3u) << Describe(spans);
  std::map<std::string, ReceivedSpan> by_path;
  for (auto& s : spans) by_path[s.Attr("url.path")] = s;
  EXPECT_EQ(by_path["/items/1"].trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(by_path["/items/1"].parent_span_id, "00f067aa0ba902b7");
  EXPECT_EQ(by_path["/items/1"].trace_state, "vendor=abc");
  EXPECT_EQ(by_path["/items/1"].Attr("sonde.parent.source"), "header");
  // Uppercase hex is invalid per W3C Trace Context: not a parent. The
  // client is traced as well, so without a valid header the server span is
  // stitched to the client's CLIENT span (stitch_test.cc).
  EXPECT_NE(by_path["/items/2"].trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(by_path["/items/2"].parent_span_id, "00f067aa0ba902b7");
  EXPECT_EQ(by_path["/items/2"].Attr("sonde.parent.source"), "connection");
  EXPECT_EQ(by_path["/items/3"].Attr("sonde.parent.source"), "connection");
  for (const auto& r : results) ExpectInside(by_path[r.path], r.start_ns, r.end_ns);
}

TEST_F(SondeTest, FlaskServiceCallingAnotherShowsClientAndBothServerSpans) {
  StartSonde();
  uint16_t back_port = FreePort();
  auto backend = StartPyServer(back_port);
  uint16_t front_port = FreePort();
  Child front({Python(), SourceDir() + "/tests/integration/apps/flask_app.py", std::to_string(front_port),
               std::to_string(back_port)},
              {"OTEL_SERVICE_NAME=orders-frontend"});
  ASSERT_TRUE(front.WaitForLine("listening", milliseconds(10000)));
  ASSERT_TRUE(WaitForPort(front_port, milliseconds(10000)));

  Child client({Python(), SourceDir() + "/tests/integration/apps/client.py",
                "http://127.0.0.1:" + std::to_string(front_port),
                R"([{"path": "/api/orders/9"}, {"path": "/api/users/5"}, {"path": "/api/fail"}])"});
  ASSERT_EQ(client.Wait(milliseconds(20000)), 0);
  auto results = ParseResults(client.ReadAll(milliseconds(1000)));
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[2].status, 503);

  auto front_server = SpansOf(front.pid(), 3, kServer);
  ASSERT_EQ(front_server.size(), 3u) << Describe(front_server);
  const ReceivedSpan* orders = OneNamed(front_server, "GET /api/orders/{id}");
  ASSERT_NE(orders, nullptr);
  EXPECT_EQ(orders->resource.at("service.name"), "orders-frontend");
  const ReceivedSpan* fail = OneNamed(front_server, "GET /api/fail");
  ASSERT_NE(fail, nullptr);
  EXPECT_EQ(fail->status_code, kError);
  EXPECT_EQ(fail->IntAttr("http.response.status_code"), 503);

  auto front_client = SpansOf(front.pid(), 1, kClient);
  ASSERT_EQ(front_client.size(), 1u) << Describe(front_client);
  EXPECT_EQ(front_client[0].name, "GET /items/{id}");
  EXPECT_EQ(front_client[0].Attr("url.path"), "/items/9");
  EXPECT_EQ(front_client[0].IntAttr("server.port"), back_port);
  EXPECT_EQ(front_client[0].IntAttr("http.response.status_code"), 200);
  // The call happened while the front end handled /api/orders/9.
  EXPECT_GE(front_client[0].start_unix_ns, orders->start_unix_ns);
  EXPECT_LE(front_client[0].end_unix_ns, orders->end_unix_ns);

  auto back_server = SpansOf(backend->pid(), 1, kServer);
  ASSERT_EQ(back_server.size(), 1u) << Describe(back_server);
  EXPECT_EQ(back_server[0].Attr("url.path"), "/items/9");
  EXPECT_GE(back_server[0].start_unix_ns, front_client[0].start_unix_ns);
  EXPECT_LE(back_server[0].end_unix_ns, front_client[0].end_unix_ns + kSlackNs);
}

TEST_F(SondeTest, NodeServerWithNodeClientPipeliningAndChunkedUpload) {
  StartSonde();
  uint16_t port = FreePort();
  Child server({"node", SourceDir() + "/tests/integration/apps/node_server.js", std::to_string(port)});
  ASSERT_TRUE(server.WaitForLine("listening", milliseconds(10000)));

  Child nclient({"node", SourceDir() + "/tests/integration/apps/node_client.js", std::to_string(port), "GET:/items/77",
                 "GET:/fail", "GET:/stream"});
  ASSERT_EQ(nclient.Wait(milliseconds(20000)), 0);
  auto nres = ParseResults(nclient.ReadAll(milliseconds(1000)));
  ASSERT_EQ(nres.size(), 3u);

  Child pipelined({Python(), SourceDir() + "/tests/integration/apps/pipeline_client.py", std::to_string(port), "3"});
  ASSERT_EQ(pipelined.Wait(milliseconds(20000)), 0);
  auto pres = ParseResults(pipelined.ReadAll(milliseconds(1000)));
  ASSERT_EQ(pres.size(), 1u);
  EXPECT_EQ(pres[0].status, 3) << "three pipelined responses";

  // Chunked framing must be readable to be followed: this body fits the
  // capture cap (bodies beyond it are covered with Content-Length below).
  std::string body = MakeFile(3000);
  Child upload({"curl", "-s", "-o", "/dev/null", "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + body,
                "http://127.0.0.1:" + std::to_string(port) + "/upload"});
  ASSERT_EQ(upload.Wait(milliseconds(20000)), 0);

  auto spans = SpansOf(server.pid(), 7, kServer);
  ASSERT_EQ(spans.size(), 7u) << Describe(spans);
  int items = 0;
  for (auto& s : spans) items += s.name == "GET /items/{id}";
  EXPECT_EQ(items, 4) << Describe(spans);
  const ReceivedSpan* fail = OneNamed(spans, "GET /fail");
  ASSERT_NE(fail, nullptr);
  EXPECT_EQ(fail->status_code, kError);
  EXPECT_EQ(fail->Attr("error.type"), "503");
  const ReceivedSpan* stream = OneNamed(spans, "GET /stream");
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(stream->IntAttr("http.response.body.size"), 13);  // "one," "two," "three", without chunk framing
  const ReceivedSpan* up = OneNamed(spans, "POST /upload");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->IntAttr("http.request.body.size"), 3000);
  EXPECT_EQ(up->resource.at("telemetry.sdk.language"), "nodejs");

  auto client_spans = SpansOf(nclient.pid(), 3, kClient);
  ASSERT_EQ(client_spans.size(), 3u) << Describe(client_spans);
  for (auto& s : client_spans) {
    for (auto& r : nres)
      if (s.Attr("url.path") == r.path) {
        EXPECT_EQ(s.IntAttr("http.response.status_code"), r.status);
        ExpectInside(s, r.start_ns, r.end_ns);
      }
  }
}

TEST_F(SondeTest, CppServerLargeBodiesBeyondTheCaptureCap) {
  StartSonde({"--capture-bytes", "1024"});
  uint16_t port = FreePort();
  Child server({BinaryDir() + "/tests/integration/cpp_http_server", std::to_string(port)});
  ASSERT_TRUE(server.WaitForLine("listening", milliseconds(10000)));
  std::string body = MakeFile(1 << 20);
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  uint64_t t0 = UnixNowNs();
  Child curl({"curl", "-s", "-o", "/dev/null", base + "/big", "-o", "/dev/null", base + "/teapot"});
  ASSERT_EQ(curl.Wait(milliseconds(20000)), 0);
  Child upload({"curl", "-s", "-o", "/dev/null", "--data-binary", "@" + body, base + "/upload"});
  ASSERT_EQ(upload.Wait(milliseconds(20000)), 0);
  uint64_t t1 = UnixNowNs();
  auto spans = SpansOf(server.pid(), 3, kServer);
  ASSERT_EQ(spans.size(), 3u) << Describe(spans);
  for (auto& s : spans) ExpectInside(s, t0, t1);
  const ReceivedSpan* big = OneNamed(spans, "GET /big");
  const ReceivedSpan* teapot = OneNamed(spans, "GET /teapot");
  const ReceivedSpan* up = OneNamed(spans, "POST /upload");
  ASSERT_TRUE(big && teapot && up);
  EXPECT_EQ(big->IntAttr("http.response.body.size"), 1 << 20);
  EXPECT_EQ(teapot->IntAttr("http.response.status_code"), 418);
  EXPECT_EQ(teapot->status_code, kUnset);
  EXPECT_EQ(up->IntAttr("http.request.body.size"), 1 << 20);
  EXPECT_EQ(up->IntAttr("http.response.status_code"), 200);
  EXPECT_EQ(big->resource.at("telemetry.sdk.language"), "cpp");
  EXPECT_EQ(big->resource.at("service.name"), "cpp_http_server");
}

TEST_F(SondeTest, ConnectionOpenedBeforeSondeStartedIsDecoded) {
  uint16_t port = FreePort();
  auto server = StartPyServer(port);
  Child client({Python(), SourceDir() + "/tests/integration/apps/preexisting_client.py", std::to_string(port)}, {},
               Child::Capture::kStdout, /*pipe_stdin=*/true);
  ASSERT_TRUE(client.WaitForLine("connected", milliseconds(10000)));
  StartSonde();
  client.WriteStdin("go\n");
  ASSERT_TRUE(client.WaitForLine("done", milliseconds(10000)));
  auto spans = SpansOf(server->pid(), 2, kServer);
  ASSERT_EQ(spans.size(), 2u) << Describe(spans);
  for (auto& s : spans) EXPECT_EQ(s.Attr("sonde.connection.role_inferred"), "true") << s.name;
  EXPECT_NE(OneNamed(spans, "GET /items/{id}"), nullptr);
  EXPECT_NE(OneNamed(spans, "GET /missing"), nullptr);
  auto cspans = SpansOf(client.pid(), 2, kClient);
  ASSERT_EQ(cspans.size(), 2u) << Describe(cspans);
}

TEST_F(SondeTest, PidSelectorTracesOnlyThatProcess) {
  uint16_t port = FreePort();
  auto server = StartPyServer(port);
  StartSonde({"--pid", std::to_string(server->pid())});
  Child curl({"curl", "-s", "-o", "/dev/null", "http://127.0.0.1:" + std::to_string(port) + "/items/1"});
  ASSERT_EQ(curl.Wait(milliseconds(20000)), 0);
  auto spans = SpansOf(server->pid(), 1, kServer);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_TRUE(SettledSpansOf(curl.pid()).empty()) << "curl was not selected";
}

TEST_F(SondeTest, ExeSelectorPicksUpAProcessStartedLater) {
  StartSonde({"--exe", "cpp_http_server"});
  uint16_t port = FreePort();
  Child server({BinaryDir() + "/tests/integration/cpp_http_server", std::to_string(port)});
  ASSERT_TRUE(server.WaitForLine("listening", milliseconds(10000)));
  std::this_thread::sleep_for(milliseconds(1000));  // "picked up within 1 s"
  Child curl({"curl", "-s", "-o", "/dev/null", "http://127.0.0.1:" + std::to_string(port) + "/items/5"});
  ASSERT_EQ(curl.Wait(milliseconds(20000)), 0);
  auto spans = SpansOf(server.pid(), 1, kServer);
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].name, "GET /items/{id}");
  EXPECT_TRUE(SettledSpansOf(curl.pid()).empty()) << "curl does not match --exe";
}

TEST_F(SondeTest, SigtermFlushesQueuedSpansAndExitsZero) {
  StartSonde({}, {"OTEL_BSP_SCHEDULE_DELAY=60000"});
  uint16_t port = FreePort();
  auto server = StartPyServer(port);
  Child curl({"curl", "-s", "-o", "/dev/null", "http://127.0.0.1:" + std::to_string(port) + "/items/1"});
  ASSERT_EQ(curl.Wait(milliseconds(20000)), 0);
  std::this_thread::sleep_for(milliseconds(500));
  StopSonde();
  auto spans = SpansOf(server->pid(), 1, kServer, 1000);
  EXPECT_EQ(spans.size(), 1u) << "the queued span is exported on SIGTERM";
}

}  // namespace
}  // namespace sonde::testing
