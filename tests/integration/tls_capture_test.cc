// HTTPS end to end: the plaintext of TLS connections, captured by sonde's
// SSL_read/SSL_write(_ex) uprobes in libssl.so.3 (Python's ssl module, curl)
// and in the node binary, decoded into the usual HTTP spans with
// url.scheme=https. Certificates are made at run time (openssl CLI, temp dir).
#include "sonde_fixture.h"
#include "tests/support/test_certs.h"

namespace sonde::testing {
namespace {

// One request the client made and what its span must say.
struct Request {
  std::string name;  // span name
  std::string path;  // url.path
  int status = 0;    // http.response.status_code
};

// `spans` are exactly one span of `kind` per request, each an HTTPS span of
// `version` to 127.0.0.1:port within the client's timing of that request.
void ExpectHttpsSpans(const std::vector<ReceivedSpan>& spans, int kind, const std::vector<Request>& requests,
                      uint16_t port, const std::string& version, const std::vector<ClientResult>& results) {
  const bool server = kind == kServer;
  SCOPED_TRACE(server ? "SERVER spans" : "CLIENT spans");
  EXPECT_EQ(spans.size(), requests.size()) << Describe(spans);
  for (const Request& r : requests) {
    const ReceivedSpan* s = OneNamed(spans, r.name);
    if (!s) continue;
    SCOPED_TRACE(r.name);
    EXPECT_EQ(s->kind, kind);
    EXPECT_EQ(s->Attr("url.scheme"), "https");
    EXPECT_EQ(s->Attr("http.request.method"), r.name.substr(0, r.name.find(' ')));
    EXPECT_EQ(s->Attr("url.path"), r.path);
    EXPECT_EQ(s->IntAttr("http.response.status_code"), r.status);
    EXPECT_EQ(s->Attr("network.protocol.version"), version);
    EXPECT_EQ(s->Attr("server.address"), "127.0.0.1");
    EXPECT_EQ(s->IntAttr("server.port"), port);
    if (server) {
      EXPECT_EQ(s->Attr("client.address"), "127.0.0.1");
    } else {
      EXPECT_EQ(s->IntAttr("network.peer.port"), port);
      EXPECT_EQ(s->Attr("url.full").rfind("https://127.0.0.1:" + std::to_string(port) + r.path, 0), 0u)
          << s->Attr("url.full");
    }
    if (r.status >= 500 || (!server && r.status >= 400)) {
      EXPECT_EQ(s->status_code, kError);
      EXPECT_EQ(s->Attr("error.type"), std::to_string(r.status));
    } else {
      EXPECT_EQ(s->status_code, kUnset);
    }
    EXPECT_TRUE(s->parent_span_id.empty());
    for (const ClientResult& res : results)
      if (res.path.rfind(r.path, 0) == 0) ExpectInside(*s, res.start_ns, res.end_ns);
  }
}

// The same window for every request of a client that does not time each one (curl).
std::vector<ClientResult> Window(const std::vector<Request>& requests, uint64_t t0, uint64_t t1) {
  std::vector<ClientResult> out;
  for (const Request& r : requests) out.push_back({r.path, r.status, t0, t1});
  return out;
}

std::string App(const std::string& name) { return SourceDir() + "/tests/integration/apps/" + name; }

std::unique_ptr<Child> StartNodeServer(uint16_t port, bool h2) {
  const TestCertificates& certs = GetTestCertificates();
  std::vector<std::string> argv = {"node", App("node_server.js"), std::to_string(port), "--tls", certs.server_cert,
                                   certs.server_key};
  if (h2) argv.push_back("--h2");
  auto c = std::make_unique<Child>(argv);
  EXPECT_TRUE(c->WaitForLine("listening", milliseconds(10000))) << c->seen();
  EXPECT_TRUE(WaitForPort(port, milliseconds(5000)));
  return c;
}

TEST_F(SondeTest, HttpsPythonRequestsToPythonSslServer) {
  StartSonde();
  const TestCertificates& certs = GetTestCertificates();
  uint16_t port = FreePort();
  auto server = StartPyServer(port, certs.server_cert, certs.server_key);
  Child client({Python(), App("client.py"), "https://127.0.0.1:" + std::to_string(port),
                R"([{"path": "/items/42?token=secret"}, {"path": "/missing"}, {"path": "/boom"}])"},
               {"REQUESTS_CA_BUNDLE=" + certs.ca_cert});
  ASSERT_EQ(client.Wait(milliseconds(20000)), 0) << client.seen();
  auto results = ParseResults(client.ReadAll(milliseconds(1000)));
  ASSERT_EQ(results.size(), 3u) << client.seen();
  EXPECT_EQ(results[0].status, 200);
  const std::vector<Request> requests = {
      {"GET /items/{id}", "/items/42", 200}, {"GET /missing", "/missing", 404}, {"GET /boom", "/boom", 500}};

  auto server_spans = AllSpansOf(server->pid(), requests.size());
  ExpectHttpsSpans(server_spans, kServer, requests, port, "1.1", results);
  if (const ReceivedSpan* items = OneNamed(server_spans, "GET /items/{id}")) {
    EXPECT_EQ(items->Attr("url.query"), "token=REDACTED");
    EXPECT_EQ(items->resource.at("telemetry.sdk.language"), "python");
    EXPECT_EQ(items->Attr("user_agent.original").rfind("python-requests/", 0), 0u);
  }
  auto client_spans = AllSpansOf(client.pid(), requests.size());
  ExpectHttpsSpans(client_spans, kClient, requests, port, "1.1", results);
  if (const ReceivedSpan* items = OneNamed(client_spans, "GET /items/{id}")) {
    EXPECT_EQ(items->Attr("url.full"), "https://127.0.0.1:" + std::to_string(port) + "/items/42?token=REDACTED");
  }
}

TEST_F(SondeTest, HttpsCurlToNodeServer) {
  StartSonde();
  uint16_t port = FreePort();
  auto server = StartNodeServer(port, /*h2=*/false);
  std::string base = "https://127.0.0.1:" + std::to_string(port);
  uint64_t t0 = UnixNowNs();
  // One curl process, one keep-alive TLS connection, three requests.
  Child curl({"curl", "-s", "--http1.1", "--cacert", GetTestCertificates().ca_cert, "-o", "/dev/null", "-o",
              "/dev/null", "-o", "/dev/null", base + "/items/7", base + "/fail", base + "/stream"});
  ASSERT_EQ(curl.Wait(milliseconds(20000)), 0);
  uint64_t t1 = UnixNowNs();
  const std::vector<Request> requests = {
      {"GET /items/{id}", "/items/7", 200}, {"GET /fail", "/fail", 503}, {"GET /stream", "/stream", 200}};

  auto server_spans = AllSpansOf(server->pid(), requests.size());
  ExpectHttpsSpans(server_spans, kServer, requests, port, "1.1", Window(requests, t0, t1));
  if (const ReceivedSpan* stream = OneNamed(server_spans, "GET /stream")) {
    EXPECT_EQ(stream->IntAttr("http.response.body.size"), 13) << "\"one,two,three\" without chunk framing";
    EXPECT_EQ(stream->resource.at("telemetry.sdk.language"), "nodejs");
  }
  auto client_spans = AllSpansOf(curl.pid(), requests.size());
  ExpectHttpsSpans(client_spans, kClient, requests, port, "1.1", Window(requests, t0, t1));
  if (const ReceivedSpan* items = OneNamed(client_spans, "GET /items/{id}")) {
    EXPECT_EQ(items->Attr("user_agent.original").rfind("curl/", 0), 0u);
  }
}

TEST_F(SondeTest, HttpsHttp2CurlToNodeHttp2Server) {
  StartSonde();
  uint16_t port = FreePort();
  auto server = StartNodeServer(port, /*h2=*/true);
  std::string base = "https://127.0.0.1:" + std::to_string(port);
  const std::string& ca = GetTestCertificates().ca_cert;
  uint64_t t0 = UnixNowNs();
  // Three requests on one HTTP/2 connection (ALPN h2), then an upload from a second curl.
  Child curl({"curl", "-s", "--http2", "--cacert", ca, "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
              base + "/items/7", base + "/fail", base + "/stream"});
  ASSERT_EQ(curl.Wait(milliseconds(20000)), 0);
  Child upload({"curl", "-s", "--http2", "--cacert", ca, "-o", "/dev/null", "--data-binary", std::string(3000, 'q'),
                base + "/upload"});
  ASSERT_EQ(upload.Wait(milliseconds(20000)), 0);
  uint64_t t1 = UnixNowNs();
  const std::vector<Request> gets = {
      {"GET /items/{id}", "/items/7", 200}, {"GET /fail", "/fail", 503}, {"GET /stream", "/stream", 200}};
  const std::vector<Request> post = {{"POST /upload", "/upload", 200}};
  std::vector<Request> all = gets;
  all.push_back(post[0]);

  auto server_spans = AllSpansOf(server->pid(), all.size());
  ExpectHttpsSpans(server_spans, kServer, all, port, "2", Window(all, t0, t1));
  if (const ReceivedSpan* stream = OneNamed(server_spans, "GET /stream")) {
    EXPECT_EQ(stream->IntAttr("http.response.body.size"), 13);
  }
  if (const ReceivedSpan* up = OneNamed(server_spans, "POST /upload")) {
    EXPECT_EQ(up->IntAttr("http.request.body.size"), 3000);
  }
  ExpectHttpsSpans(AllSpansOf(curl.pid(), gets.size()), kClient, gets, port, "2", Window(gets, t0, t1));
  ExpectHttpsSpans(AllSpansOf(upload.pid(), post.size()), kClient, post, port, "2", Window(post, t0, t1));
}

TEST_F(SondeTest, HttpsNodeClientToPythonSslServer) {
  StartSonde();
  const TestCertificates& certs = GetTestCertificates();
  uint16_t port = FreePort();
  auto server = StartPyServer(port, certs.server_cert, certs.server_key);
  Child client({"node", App("node_client.js"), "--ca", certs.ca_cert, std::to_string(port), "GET:/items/77",
                "GET:/missing", "POST:/upload"});
  ASSERT_EQ(client.Wait(milliseconds(20000)), 0) << client.seen();
  auto results = ParseResults(client.ReadAll(milliseconds(1000)));
  ASSERT_EQ(results.size(), 3u) << client.seen();
  const std::vector<Request> requests = {
      {"GET /items/{id}", "/items/77", 200}, {"GET /missing", "/missing", 404}, {"POST /upload", "/upload", 201}};
  for (size_t i = 0; i < requests.size(); ++i) EXPECT_EQ(results[i].status, requests[i].status);

  ExpectHttpsSpans(AllSpansOf(server->pid(), requests.size()), kServer, requests, port, "1.1", results);
  auto client_spans = AllSpansOf(client.pid(), requests.size());
  ExpectHttpsSpans(client_spans, kClient, requests, port, "1.1", results);
  for (const auto& s : client_spans) EXPECT_EQ(s.resource.at("telemetry.sdk.language"), "nodejs");
}

// The TLS session and its keep-alive connection exist before sonde starts;
// the requests made on it afterwards give spans.
TEST_F(SondeTest, HttpsConnectionOpenedBeforeSondeStarted) {
  const TestCertificates& certs = GetTestCertificates();
  uint16_t port = FreePort();
  auto server = StartPyServer(port, certs.server_cert, certs.server_key);
  Child client({Python(), App("preexisting_client.py"), std::to_string(port), certs.ca_cert}, {},
               Child::Capture::kStdout, /*pipe_stdin=*/true);
  ASSERT_TRUE(client.WaitForLine("connected", milliseconds(10000))) << client.seen();
  StartSonde();
  client.WriteStdin("go\n");
  ASSERT_EQ(client.Wait(milliseconds(20000)), 0) << client.seen();
  auto results = ParseResults(client.ReadAll(milliseconds(1000)));
  ASSERT_EQ(results.size(), 2u) << client.seen();
  const std::vector<Request> requests = {{"GET /items/{id}", "/items/2", 200}, {"GET /missing", "/missing", 404}};
  ExpectHttpsSpans(AllSpansOf(client.pid(), requests.size()), kClient, requests, port, "1.1", results);

  // The server's handler thread was already blocked in SSL_read, waiting for
  // /items/2, when sonde attached: a uretprobe only fires for calls entered
  // after it was attached, so that request's plaintext is never seen (its
  // response is). Its span may be missing or partial, never wrong; the next
  // request's span is exact.
  auto server_spans = AllSpansOf(server->pid(), requests.size());
  std::vector<ReceivedSpan> missing, other;
  for (auto& s : server_spans) (s.Attr("url.path") == "/missing" ? missing : other).push_back(s);
  ExpectHttpsSpans(missing, kServer, {requests[1]}, port, "1.1", results);
  EXPECT_LE(other.size(), 1u) << Describe(server_spans);
  if (other.empty()) printf("note: no SERVER span for /items/2, whose SSL_read was entered before sonde attached\n");
  for (const auto& s : other) {
    SCOPED_TRACE("the span of the request read by an SSL_read entered before sonde: " + s.name);
    EXPECT_EQ(s.kind, kServer);
    if (s.attributes.count("url.path")) {
      EXPECT_EQ(s.Attr("url.path"), "/items/2");
    }
    if (s.attributes.count("http.request.method")) {
      EXPECT_EQ(s.Attr("http.request.method"), "GET");
    }
    if (s.attributes.count("http.response.status_code")) {
      EXPECT_EQ(s.IntAttr("http.response.status_code"), 200);
    }
    EXPECT_NE(s.status_code, kError);
    ExpectInside(s, results[0].start_ns, results[0].end_ns);
  }
}

}  // namespace
}  // namespace sonde::testing
