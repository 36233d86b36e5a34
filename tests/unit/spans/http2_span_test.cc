// HTTP spans of HTTP/2 streams and of TLS connections: protocol version,
// :authority and :scheme, https over TLS, partial header blocks, RST_STREAM.
#include <gtest/gtest.h>

#include "spans/http_span_builder.h"
#include "tests/unit/spans/span_test_util.h"

namespace sonde {
namespace {

constexpr int64_t kOffset = 1'700'000'000'000'000'000;

// An HTTP/2 stream as the decoder reports it: pseudo-headers in the lists.
Message H2Server() {
  Message m;
  m.conn.role = Role::kServer;
  m.conn.local_addr = "10.0.0.5";
  m.conn.local_port = 8443;
  m.conn.peer_addr = "10.0.0.9";
  m.conn.peer_port = 51234;
  HttpExchange ex;
  ex.request.method = "GET";
  ex.request.target = "/users/42";
  ex.request.version = "2";
  ex.request.headers = {{":method", "GET"},
                        {":scheme", "http"},
                        {":authority", "api.example.com:8443"},
                        {":path", "/users/42"},
                        {"user-agent", "h2load"}};
  ex.request.start_ns = 1000;
  ex.request.end_ns = 1000;
  HttpResponse resp;
  resp.status = 200;
  resp.version = "2";
  resp.headers = {{":status", "200"}, {"content-type", "application/json"}};
  resp.body_size = 9;
  resp.start_ns = 2000;
  resp.end_ns = 2500;
  ex.response = resp;
  ex.h2 = Http2StreamInfo{};
  ex.h2->stream_id = 3;
  ex.h2->response_data_frames = 1;
  m.payload = ex;
  return m;
}

Message H2Client() {
  Message m = H2Server();
  m.conn.role = Role::kClient;
  m.conn.local_addr = "10.0.0.9";
  m.conn.local_port = 51234;
  m.conn.peer_addr = "10.0.0.5";
  m.conn.peer_port = 8443;
  return m;
}

Message H1(Role role) {
  Message m;
  m.conn.role = role;
  m.conn.local_addr = "10.0.0.5";
  m.conn.local_port = role == Role::kServer ? 443 : 40000;
  m.conn.peer_addr = "10.0.0.9";
  m.conn.peer_port = role == Role::kServer ? 51234 : 443;
  m.conn.tls = true;
  HttpExchange ex;
  ex.request.method = "GET";
  ex.request.target = "/health";
  ex.request.version = "1.1";
  ex.request.headers = {{"Host", "secure.example.com"}};
  ex.request.start_ns = 1000;
  ex.request.end_ns = 1000;
  HttpResponse resp;
  resp.status = 200;
  resp.version = "1.1";
  resp.start_ns = 2000;
  resp.end_ns = 2000;
  ex.response = resp;
  m.payload = ex;
  return m;
}

HttpExchange& Ex(Message& m) { return std::get<HttpExchange>(m.payload); }

class Http2SpanTest : public ::testing::Test {
 protected:
  Span Build(const Message& m, HttpSpanOptions opts = {}) {
    HttpSpanBuilder b(std::move(opts), &ids_, kOffset);
    return b.Build(m, resource_);
  }

  IdGenerator ids_{1};
  std::shared_ptr<const Resource> resource_ = std::make_shared<Resource>();
};

TEST_F(Http2SpanTest, ServerSpan) {
  Span s = Build(H2Server());
  EXPECT_EQ(s.kind, SpanKind::kServer);
  EXPECT_EQ(s.name, "GET /users/{id}");
  EXPECT_EQ(s.status, StatusCode::kUnset);
  EXPECT_EQ(s.start_unix_ns, static_cast<uint64_t>(kOffset + 1000));
  EXPECT_EQ(s.end_unix_ns, static_cast<uint64_t>(kOffset + 2500));
  EXPECT_EQ(AsMap(s.attributes), (AttrMap{
                                     {"http.request.method", "GET"},
                                     {"url.scheme", "http"},
                                     {"url.path", "/users/42"},
                                     {"http.response.status_code", "i:200"},
                                     {"server.address", "api.example.com"},
                                     {"server.port", "i:8443"},
                                     {"client.address", "10.0.0.9"},
                                     {"network.peer.address", "10.0.0.9"},
                                     {"network.peer.port", "i:51234"},
                                     {"network.protocol.name", "http"},
                                     {"network.protocol.version", "2"},
                                     {"user_agent.original", "h2load"},
                                     {"http.response.body.size", "i:9"},
                                     {"sonde.parent.source", "none"},
                                 }));
}

TEST_F(Http2SpanTest, ClientSpanTakesTheSchemeFromThePseudoHeader) {
  Message m = H2Client();
  Ex(m).request.headers = {{":method", "GET"}, {":scheme", "https"}, {":authority", "api.example.com"},
                           {":path", "/users/42"}};
  Span s = Build(m);
  EXPECT_EQ(s.kind, SpanKind::kClient);
  EXPECT_EQ(AsMap(s.attributes), (AttrMap{
                                     {"http.request.method", "GET"},
                                     {"url.scheme", "https"},
                                     {"url.path", "/users/42"},
                                     {"url.full", "https://api.example.com/users/42"},
                                     {"http.response.status_code", "i:200"},
                                     {"server.address", "api.example.com"},
                                     {"server.port", "i:443"},
                                     {"network.peer.address", "10.0.0.5"},
                                     {"network.peer.port", "i:8443"},
                                     {"network.protocol.name", "http"},
                                     {"network.protocol.version", "2"},
                                     {"http.response.body.size", "i:9"},
                                     {"sonde.parent.source", "none"},
                                 }));
}

TEST_F(Http2SpanTest, AuthorityBeforeHostAndHostAsFallback) {
  Message m = H2Client();
  Ex(m).request.headers.push_back({"host", "other.example.com"});
  EXPECT_EQ(AsMap(Build(m).attributes).at("server.address"), "api.example.com");
  Ex(m).request.headers = {{"host", "other.example.com:81"}};
  auto attrs = AsMap(Build(m).attributes);
  EXPECT_EQ(attrs.at("server.address"), "other.example.com");
  EXPECT_EQ(attrs.at("server.port"), "i:81");
  EXPECT_EQ(attrs.at("url.scheme"), "http");  // no :scheme
  Ex(m).request.headers.clear();               // the socket's peer then
  attrs = AsMap(Build(m).attributes);
  EXPECT_EQ(attrs.at("server.address"), "10.0.0.5");
  EXPECT_EQ(attrs.at("server.port"), "i:8443");
}

TEST_F(Http2SpanTest, ServerIgnoresTheSchemePseudoHeader) {
  Message m = H2Server();
  Ex(m).request.headers[1].second = "https";  // what a client claims, not this connection
  EXPECT_EQ(AsMap(Build(m).attributes).at("url.scheme"), "http");
}

TEST_F(Http2SpanTest, TlsMeansHttpsForHttp1) {
  Span server = Build(H1(Role::kServer));
  AttrMap a = AsMap(server.attributes);
  EXPECT_EQ(a.at("url.scheme"), "https");
  EXPECT_EQ(a.at("server.address"), "secure.example.com");
  EXPECT_EQ(a.at("server.port"), "i:443");  // Host without a port: https's default
  EXPECT_EQ(a.at("network.protocol.version"), "1.1");

  Span client = Build(H1(Role::kClient));
  a = AsMap(client.attributes);
  EXPECT_EQ(a.at("url.scheme"), "https");
  EXPECT_EQ(a.at("url.full"), "https://secure.example.com/health");
  EXPECT_EQ(a.at("server.port"), "i:443");

  Message plain = H1(Role::kClient);
  plain.conn.tls = false;
  a = AsMap(Build(plain).attributes);
  EXPECT_EQ(a.at("url.scheme"), "http");
  EXPECT_EQ(a.at("url.full"), "http://secure.example.com/health");
  EXPECT_EQ(a.at("server.port"), "i:80");
}

TEST_F(Http2SpanTest, TlsMeansHttpsForHttp2) {
  Message server = H2Server();
  server.conn.tls = true;
  Ex(server).request.headers[2].second = "api.example.com";  // :authority without a port
  AttrMap a = AsMap(Build(server).attributes);
  EXPECT_EQ(a.at("url.scheme"), "https");
  EXPECT_EQ(a.at("server.port"), "i:443");
  EXPECT_EQ(a.at("network.protocol.version"), "2");

  Message client = H2Client();
  client.conn.tls = true;  // TLS wins over a :scheme that says otherwise
  a = AsMap(Build(client).attributes);
  EXPECT_EQ(a.at("url.scheme"), "https");
  EXPECT_EQ(a.at("url.full"), "https://api.example.com:8443/users/42");
}

TEST_F(Http2SpanTest, ForwardedProtoStillNamesTheOriginalSchemeOnServers) {
  Message m = H1(Role::kServer);
  Ex(m).request.headers.push_back({"X-Forwarded-Proto", "http"});
  EXPECT_EQ(AsMap(Build(m).attributes).at("url.scheme"), "http");
}

TEST_F(Http2SpanTest, PartialRequestHeadersInventNothing) {
  Message m = H2Server();
  HttpExchange& ex = Ex(m);
  ex.h2->request_headers_partial = true;
  ex.request.method.clear();
  ex.request.target.clear();
  ex.request.headers = {{"user-agent", "h2load"}};  // what could be decoded
  Span s = Build(m);
  EXPECT_EQ(s.name, "HTTP");
  EXPECT_EQ(s.status, StatusCode::kUnset);
  EXPECT_EQ(AsMap(s.attributes), (AttrMap{
                                     {"url.scheme", "http"},
                                     {"http.response.status_code", "i:200"},
                                     {"server.address", "10.0.0.5"},
                                     {"server.port", "i:8443"},
                                     {"client.address", "10.0.0.9"},
                                     {"network.peer.address", "10.0.0.9"},
                                     {"network.peer.port", "i:51234"},
                                     {"network.protocol.name", "http"},
                                     {"network.protocol.version", "2"},
                                     {"user_agent.original", "h2load"},
                                     {"http.response.body.size", "i:9"},
                                     {"sonde.http.headers_partial", "b:true"},
                                     {"sonde.parent.source", "none"},
                                 }));
}

TEST_F(Http2SpanTest, PartialRequestHeadersWithTheMethodDecoded) {
  Message m = H2Server();
  Ex(m).h2->request_headers_partial = true;
  Ex(m).request.target.clear();
  Span s = Build(m);
  EXPECT_EQ(s.name, "GET");
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a.at("http.request.method"), "GET");
  EXPECT_EQ(a.count("url.path"), 0u);
  EXPECT_EQ(a.at("sonde.http.headers_partial"), "b:true");
}

TEST_F(Http2SpanTest, PartialResponseHeadersWithoutStatusClaimNoError) {
  Message m = H2Client();
  Ex(m).h2->response_headers_partial = true;
  Ex(m).response->status = 0;
  Ex(m).response->headers.clear();
  Span s = Build(m);
  EXPECT_EQ(s.status, StatusCode::kUnset);
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a.count("http.response.status_code"), 0u);
  EXPECT_EQ(a.count("error.type"), 0u);
  EXPECT_EQ(a.at("sonde.http.headers_partial"), "b:true");
  EXPECT_EQ(a.at("http.request.method"), "GET");  // the request side was whole
}

TEST_F(Http2SpanTest, ResetWithoutResponse) {
  Message m = H2Client();
  Ex(m).response.reset();
  Ex(m).h2->rst_error_code = 8;  // CANCEL
  Span s = Build(m);
  EXPECT_EQ(s.status, StatusCode::kError);
  EXPECT_EQ(s.end_unix_ns, static_cast<uint64_t>(kOffset + 1000));
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a.at("error.type"), "response_missing");
  EXPECT_EQ(a.at("sonde.http2.rst_error_code"), "i:8");
  EXPECT_EQ(a.count("http.response.status_code"), 0u);
  EXPECT_EQ(a.count("sonde.http.headers_partial"), 0u);
}

TEST_F(Http2SpanTest, ResetAfterTheResponseIsNotAnError) {
  Message m = H2Server();
  Ex(m).h2->rst_error_code = 0;  // NO_ERROR: the server stops reading the request
  Span s = Build(m);
  EXPECT_EQ(s.status, StatusCode::kUnset);
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a.at("sonde.http2.rst_error_code"), "i:0");
  EXPECT_EQ(a.count("error.type"), 0u);
}

TEST_F(Http2SpanTest, HeaderCaptureSeesHttp2Fields) {
  HttpSpanOptions o;
  o.capture_request_headers = {":Authority"};
  o.capture_response_headers = {"Content-Type"};
  AttrMap a = AsMap(Build(H2Server(), o).attributes);
  EXPECT_EQ(a.at("http.request.header.:authority"), "api.example.com:8443");
  EXPECT_EQ(a.at("http.response.header.content-type"), "application/json");
}

}  // namespace
}  // namespace sonde
