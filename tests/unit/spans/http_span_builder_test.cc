#include "spans/http_span_builder.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tests/unit/spans/span_test_util.h"

namespace sonde {
namespace {

constexpr int64_t kOffset = 1'700'000'000'000'000'000;
constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

Message ServerMessage() {
  Message m;
  m.conn.role = Role::kServer;
  m.conn.local_addr = "10.0.0.5";
  m.conn.local_port = 8080;
  m.conn.peer_addr = "10.0.0.9";
  m.conn.peer_port = 51234;
  HttpExchange ex;
  ex.request.method = "GET";
  ex.request.target = "/users/42?token=abc&debug";
  ex.request.version = "1.1";
  ex.request.headers = {{"Host", "api.example.com:8080"}, {"User-Agent", "curl/8.0"}};
  ex.request.start_ns = 1000;
  ex.request.end_ns = 1500;
  HttpResponse resp;
  resp.status = 200;
  resp.version = "1.1";
  resp.body_size = 17;
  resp.start_ns = 2000;
  resp.end_ns = 3000;
  ex.response = resp;
  m.payload = ex;
  return m;
}

Message ClientMessage() {
  Message m;
  m.conn.role = Role::kClient;
  m.conn.local_addr = "10.0.0.5";
  m.conn.local_port = 40000;
  m.conn.peer_addr = "10.0.0.7";
  m.conn.peer_port = 9000;
  HttpExchange ex;
  ex.request.method = "POST";
  ex.request.target = "/orders";
  ex.request.version = "1.1";
  ex.request.headers = {{"host", "orders.svc:9000"}, {"content-type", "application/json"}};
  ex.request.body_size = 42;
  ex.request.start_ns = 5000;
  ex.request.end_ns = 5100;
  HttpResponse resp;
  resp.status = 201;
  resp.version = "1.1";
  resp.start_ns = 6000;
  resp.end_ns = 6500;
  ex.response = resp;
  m.payload = ex;
  return m;
}

HttpExchange& Ex(Message& m) { return std::get<HttpExchange>(m.payload); }

class HttpSpanBuilderTest : public ::testing::Test {
 protected:
  Span Build(const Message& m, HttpSpanOptions opts = {}) {
    HttpSpanBuilder b(std::move(opts), &ids_, kOffset);
    return b.Build(m, resource_);
  }

  IdGenerator ids_{1};
  std::shared_ptr<const Resource> resource_ = std::make_shared<Resource>();
};

TEST_F(HttpSpanBuilderTest, ServerSpanAttributes) {
  Span s = Build(ServerMessage());
  EXPECT_EQ(s.kind, SpanKind::kServer);
  EXPECT_EQ(s.name, "GET /users/{id}");
  EXPECT_EQ(s.status, StatusCode::kUnset);
  EXPECT_EQ(s.status_message, "");
  EXPECT_EQ(s.resource, resource_);
  EXPECT_EQ(s.start_unix_ns, static_cast<uint64_t>(kOffset + 1000));
  EXPECT_EQ(s.end_unix_ns, static_cast<uint64_t>(kOffset + 3000));
  EXPECT_FALSE(IsZero(s.trace_id));
  EXPECT_FALSE(IsZero(s.span_id));
  EXPECT_TRUE(IsZero(s.parent_span_id));
  EXPECT_EQ(AsMap(s.attributes), (AttrMap{
                                     {"http.request.method", "GET"},
                                     {"url.scheme", "http"},
                                     {"url.path", "/users/42"},
                                     {"url.query", "token=REDACTED&debug"},
                                     {"http.response.status_code", "i:200"},
                                     {"server.address", "api.example.com"},
                                     {"server.port", "i:8080"},
                                     {"client.address", "10.0.0.9"},
                                     {"network.peer.address", "10.0.0.9"},
                                     {"network.peer.port", "i:51234"},
                                     {"network.protocol.name", "http"},
                                     {"network.protocol.version", "1.1"},
                                     {"user_agent.original", "curl/8.0"},
                                     {"http.response.body.size", "i:17"},
                                     {"sonde.parent.source", "none"},
                                 }));
}

TEST_F(HttpSpanBuilderTest, ClientSpanAttributes) {
  Span s = Build(ClientMessage());
  EXPECT_EQ(s.kind, SpanKind::kClient);
  EXPECT_EQ(s.name, "POST /orders");
  EXPECT_EQ(s.status, StatusCode::kUnset);
  EXPECT_TRUE(IsZero(s.parent_span_id));
  EXPECT_EQ(s.start_unix_ns, static_cast<uint64_t>(kOffset + 5000));
  EXPECT_EQ(s.end_unix_ns, static_cast<uint64_t>(kOffset + 6500));
  EXPECT_EQ(AsMap(s.attributes), (AttrMap{
                                     {"http.request.method", "POST"},
                                     {"url.scheme", "http"},
                                     {"url.path", "/orders"},
                                     {"url.full", "http://orders.svc:9000/orders"},
                                     {"http.response.status_code", "i:201"},
                                     {"server.address", "orders.svc"},
                                     {"server.port", "i:9000"},
                                     {"network.peer.address", "10.0.0.7"},
                                     {"network.peer.port", "i:9000"},
                                     {"network.protocol.name", "http"},
                                     {"network.protocol.version", "1.1"},
                                     {"http.request.body.size", "i:42"},
                                     {"sonde.parent.source", "none"},
                                 }));
}

struct StatusCase {
  Role role;
  int status;
  StatusCode want;
  const char* error_type;  // "" = absent
};

void PrintTo(const StatusCase& c, std::ostream* os) { *os << RoleName(c.role) << " " << c.status; }

class StatusRules : public HttpSpanBuilderTest, public ::testing::WithParamInterface<StatusCase> {};

TEST_P(StatusRules, StatusAndErrorType) {
  const StatusCase& c = GetParam();
  Message m = c.role == Role::kServer ? ServerMessage() : ClientMessage();
  Ex(m).response->status = c.status;
  Span s = Build(m);
  EXPECT_EQ(s.status, c.want);
  AttrMap a = AsMap(s.attributes);
  if (*c.error_type) {
    EXPECT_EQ(a["error.type"], c.error_type);
  } else {
    EXPECT_EQ(a.count("error.type"), 0u);
  }
  EXPECT_EQ(a["http.response.status_code"], "i:" + std::to_string(c.status));
}

INSTANTIATE_TEST_SUITE_P(
    Matrix, StatusRules,
    ::testing::Values(StatusCase{Role::kServer, 200, StatusCode::kUnset, ""},
                      StatusCase{Role::kServer, 302, StatusCode::kUnset, ""},
                      StatusCase{Role::kServer, 404, StatusCode::kUnset, ""},
                      StatusCase{Role::kServer, 500, StatusCode::kError, "500"},
                      StatusCase{Role::kServer, 503, StatusCode::kError, "503"},
                      StatusCase{Role::kClient, 200, StatusCode::kUnset, ""},
                      StatusCase{Role::kClient, 404, StatusCode::kError, "404"},
                      StatusCase{Role::kClient, 500, StatusCode::kError, "500"},
                      StatusCase{Role::kServer, 42, StatusCode::kError, "_OTHER"},
                      StatusCase{Role::kClient, 600, StatusCode::kError, "_OTHER"}),
    [](const ::testing::TestParamInfo<StatusCase>& info) {
      return std::string(RoleName(info.param.role)) + "_" + std::to_string(info.param.status);
    });

TEST_F(HttpSpanBuilderTest, MissingResponse) {
  for (Message m : {ServerMessage(), ClientMessage()}) {
    Ex(m).response.reset();
    Span s = Build(m);
    EXPECT_EQ(s.status, StatusCode::kError);
    AttrMap a = AsMap(s.attributes);
    EXPECT_EQ(a["error.type"], "response_missing");
    EXPECT_EQ(a.count("http.response.status_code"), 0u);
    EXPECT_EQ(a.count("http.response.body.size"), 0u);
    EXPECT_EQ(s.end_unix_ns, static_cast<uint64_t>(kOffset) + Ex(m).request.end_ns);
  }
}

TEST_F(HttpSpanBuilderTest, QueryRedaction) {
  Message m = ServerMessage();
  Ex(m).request.target = "/search?q=secret&empty=&5f3a9c0d1e2f3a4b&flag&sig=abc";
  EXPECT_EQ(AsMap(Build(m).attributes)["url.query"], "q=REDACTED&empty=&REDACTED&flag&sig=REDACTED");

  HttpSpanOptions keep;
  keep.redact_query_values = false;
  EXPECT_EQ(AsMap(Build(m, keep).attributes)["url.query"], "q=secret&empty=&5f3a9c0d1e2f3a4b&flag&sig=abc");

  Ex(m).request.target = "/search?";
  EXPECT_EQ(AsMap(Build(m).attributes).count("url.query"), 0u);
}

TEST_F(HttpSpanBuilderTest, ClientUrlFullIsRedactedToo) {
  Message m = ClientMessage();
  Ex(m).request.target = "/orders?id=7";
  Ex(m).request.headers = {{"Host", "orders.example.com"}};
  AttrMap a = AsMap(Build(m).attributes);
  EXPECT_EQ(a["url.full"], "http://orders.example.com/orders?id=REDACTED");
  EXPECT_EQ(a["server.port"], "i:80");
}

TEST_F(HttpSpanBuilderTest, HeaderCapture) {
  Message m = ServerMessage();
  Ex(m).request.headers.push_back({"X-Request-Id", "r-1"});
  Ex(m).request.headers.push_back({"Accept", "text/html"});
  Ex(m).request.headers.push_back({"accept", "application/json"});
  Ex(m).response->headers = {{"Content-Type", "text/plain"}};
  HttpSpanOptions opts;
  opts.capture_request_headers = {"x-request-id", "Accept", "missing"};
  opts.capture_response_headers = {"content-type"};
  AttrMap a = AsMap(Build(m, opts).attributes);
  EXPECT_EQ(a["http.request.header.x-request-id"], "r-1");
  EXPECT_EQ(a["http.request.header.accept"], "text/html, application/json");
  EXPECT_EQ(a.count("http.request.header.missing"), 0u);
  EXPECT_EQ(a["http.response.header.content-type"], "text/plain");
  EXPECT_EQ(a.count("http.request.header.content-type"), 0u);
}

TEST_F(HttpSpanBuilderTest, TraceparentHonouredOnServer) {
  Message m = ServerMessage();
  Ex(m).request.headers.push_back({"traceparent", kTraceparent});
  Ex(m).request.headers.push_back({"tracestate", "rojo=00f067aa0ba902b7"});
  Span s = Build(m);
  EXPECT_EQ(ToHex(s.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ToHex(s.parent_span_id), "00f067aa0ba902b7");
  EXPECT_NE(ToHex(s.span_id), "00f067aa0ba902b7");
  EXPECT_FALSE(IsZero(s.span_id));
  EXPECT_EQ(s.trace_state, "rojo=00f067aa0ba902b7");
  EXPECT_EQ(AsMap(s.attributes)["sonde.parent.source"], "header");
}

TEST_F(HttpSpanBuilderTest, InvalidTraceparentStartsNewTrace) {
  Message m = ServerMessage();
  Ex(m).request.headers.push_back({"traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"});
  Ex(m).request.headers.push_back({"tracestate", "rojo=1"});
  Span s = Build(m);
  EXPECT_NE(ToHex(s.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_FALSE(IsZero(s.trace_id));
  EXPECT_TRUE(IsZero(s.parent_span_id));
  EXPECT_EQ(s.trace_state, "");
  EXPECT_EQ(AsMap(s.attributes)["sonde.parent.source"], "none");
}

TEST_F(HttpSpanBuilderTest, ClientIgnoresOwnTraceparent) {
  Message m = ClientMessage();
  Ex(m).request.headers.push_back({"traceparent", kTraceparent});
  Span s = Build(m);
  EXPECT_NE(ToHex(s.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_TRUE(IsZero(s.parent_span_id));
  EXPECT_EQ(AsMap(s.attributes)["sonde.parent.source"], "none");
}

TEST_F(HttpSpanBuilderTest, ParentHook) {
  TraceContext parent = *ParseTraceparent(kTraceparent);
  parent.trace_state = "congo=1";
  HttpSpanBuilder b({}, &ids_, kOffset);
  Span s = b.Build(ClientMessage(), resource_, parent);
  EXPECT_EQ(ToHex(s.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ToHex(s.parent_span_id), "00f067aa0ba902b7");
  EXPECT_EQ(s.trace_state, "congo=1");
  EXPECT_EQ(AsMap(s.attributes)["sonde.parent.source"], "in_process");

  // On a server, a valid incoming header takes precedence over the hook.
  Message m = ServerMessage();
  Ex(m).request.headers.push_back({"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"});
  s = b.Build(m, resource_, parent);
  EXPECT_EQ(ToHex(s.trace_id), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(AsMap(s.attributes)["sonde.parent.source"], "header");
}

TEST_F(HttpSpanBuilderTest, ConfiguredRouteIsHttpRoute) {
  HttpSpanOptions opts;
  opts.route_patterns = {"/users/{user_id}"};
  Span s = Build(ServerMessage(), opts);
  EXPECT_EQ(s.name, "GET /users/{user_id}");
  EXPECT_EQ(AsMap(s.attributes)["http.route"], "/users/{user_id}");

  // A client span uses the pattern for its name only: http.route is a server attribute.
  Message c = ClientMessage();
  Ex(c).request.target = "/users/9";
  s = Build(c, opts);
  EXPECT_EQ(s.name, "POST /users/{user_id}");
  EXPECT_EQ(AsMap(s.attributes).count("http.route"), 0u);
}

TEST_F(HttpSpanBuilderTest, HeuristicRouteIsNeverHttpRoute) {
  Span s = Build(ServerMessage());
  EXPECT_EQ(s.name, "GET /users/{id}");
  EXPECT_EQ(AsMap(s.attributes).count("http.route"), 0u);
}

TEST_F(HttpSpanBuilderTest, UnknownMethod) {
  Message m = ServerMessage();
  Ex(m).request.method = "PROPFIND";
  Span s = Build(m);
  EXPECT_EQ(s.name, "HTTP");
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a["http.request.method"], "_OTHER");
  EXPECT_EQ(a["http.request.method_original"], "PROPFIND");

  Ex(m).request.method = "get";  // methods are case-sensitive
  a = AsMap(Build(m).attributes);
  EXPECT_EQ(a["http.request.method"], "_OTHER");
  EXPECT_EQ(a["http.request.method_original"], "get");
}

TEST_F(HttpSpanBuilderTest, KnownMethodsOverride) {
  HttpSpanOptions opts;
  opts.known_methods = {"GET", "PURGE"};
  Message m = ServerMessage();
  Ex(m).request.method = "PURGE";
  Span s = Build(m, opts);
  EXPECT_EQ(s.name, "PURGE /users/{id}");
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a["http.request.method"], "PURGE");
  EXPECT_EQ(a.count("http.request.method_original"), 0u);

  Ex(m).request.method = "POST";  // the list replaces the defaults
  s = Build(m, opts);
  EXPECT_EQ(s.name, "HTTP");
  EXPECT_EQ(AsMap(s.attributes)["http.request.method"], "_OTHER");
}

TEST_F(HttpSpanBuilderTest, AsteriskAndConnectTargets) {
  Message m = ServerMessage();
  Ex(m).request.method = "OPTIONS";
  Ex(m).request.target = "*";
  Span s = Build(m);
  EXPECT_EQ(s.name, "OPTIONS");
  EXPECT_EQ(AsMap(s.attributes).count("url.path"), 0u);

  Message c = ClientMessage();
  Ex(c).request.method = "CONNECT";
  Ex(c).request.target = "db.example.com:5432";
  s = Build(c);
  EXPECT_EQ(s.name, "CONNECT");
  EXPECT_EQ(AsMap(s.attributes).count("url.full"), 0u);
}

TEST_F(HttpSpanBuilderTest, AbsoluteFormTarget) {
  Message c = ClientMessage();
  Ex(c).request.method = "GET";
  Ex(c).request.target = "http://user:pw@proxy-target.example:8081/a/123?x=1";
  Span s = Build(c);
  EXPECT_EQ(s.name, "GET /a/{id}");
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a["url.path"], "/a/123");
  EXPECT_EQ(a["server.address"], "proxy-target.example");
  EXPECT_EQ(a["server.port"], "i:8081");
  EXPECT_EQ(a["url.full"], "http://proxy-target.example:8081/a/123?x=REDACTED");
}

TEST_F(HttpSpanBuilderTest, ServerAddressFallbacks) {
  Message m = ServerMessage();
  Ex(m).request.headers = {};
  AttrMap a = AsMap(Build(m).attributes);
  EXPECT_EQ(a["server.address"], "10.0.0.5");
  EXPECT_EQ(a["server.port"], "i:8080");

  Ex(m).request.headers = {{"Host", "[::1]:9090"}};
  a = AsMap(Build(m).attributes);
  EXPECT_EQ(a["server.address"], "::1");
  EXPECT_EQ(a["server.port"], "i:9090");

  Ex(m).request.headers = {{"Host", "internal:8080"},
                           {"X-Forwarded-Host", "shop.example.com, internal"},
                           {"X-Forwarded-Proto", "https"}};
  a = AsMap(Build(m).attributes);
  EXPECT_EQ(a["server.address"], "shop.example.com");
  EXPECT_EQ(a["server.port"], "i:443");
  EXPECT_EQ(a["url.scheme"], "https");

  Message c = ClientMessage();
  Ex(c).request.headers = {};
  a = AsMap(Build(c).attributes);
  EXPECT_EQ(a["server.address"], "10.0.0.7");
  EXPECT_EQ(a["server.port"], "i:9000");
  EXPECT_EQ(a["url.full"], "http://10.0.0.7:9000/orders");
}

TEST_F(HttpSpanBuilderTest, ClientAddressFromXForwardedFor) {
  Message m = ServerMessage();
  Ex(m).request.headers.push_back({"X-Forwarded-For", " 203.0.113.7 , 10.0.0.1"});
  AttrMap a = AsMap(Build(m).attributes);
  EXPECT_EQ(a["client.address"], "203.0.113.7");
  EXPECT_EQ(a["network.peer.address"], "10.0.0.9");
}

TEST_F(HttpSpanBuilderTest, SondeFlags) {
  Message m = ServerMessage();
  m.conn.role_inferred = true;
  Ex(m).request_incomplete = true;
  AttrMap a = AsMap(Build(m).attributes);
  EXPECT_EQ(a["sonde.connection.role_inferred"], "b:true");
  EXPECT_EQ(a["sonde.request.incomplete"], "b:true");
}

TEST_F(HttpSpanBuilderTest, UnknownRoleIsInternal) {
  Message m = ServerMessage();
  m.conn.role = Role::kUnknown;
  Ex(m).request.headers.push_back({"traceparent", kTraceparent});
  Ex(m).response->status = 404;
  Span s = Build(m);
  EXPECT_EQ(s.kind, SpanKind::kInternal);
  EXPECT_EQ(s.status, StatusCode::kUnset);
  EXPECT_TRUE(IsZero(s.parent_span_id));
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a.count("client.address"), 0u);
  EXPECT_EQ(a.count("url.full"), 0u);
}

TEST_F(HttpSpanBuilderTest, EndNeverBeforeStart) {
  Message m = ServerMessage();
  Ex(m).response->end_ns = 10;  // bogus clock data
  Span s = Build(m);
  EXPECT_EQ(s.end_unix_ns, s.start_unix_ns);
}

TEST_F(HttpSpanBuilderTest, SpanIdsDifferPerSpan) {
  HttpSpanBuilder b({}, &ids_, kOffset);
  Span a = b.Build(ServerMessage(), resource_);
  Span c = b.Build(ServerMessage(), resource_);
  EXPECT_NE(a.span_id, c.span_id);
  EXPECT_NE(a.trace_id, c.trace_id);
}

TEST(ParseHostPort, Forms) {
  HostPort hp = ParseHostPort("example.com");
  EXPECT_EQ(hp.host, "example.com");
  EXPECT_EQ(hp.port, 0);
  hp = ParseHostPort("example.com:8443");
  EXPECT_EQ(hp.host, "example.com");
  EXPECT_EQ(hp.port, 8443);
  hp = ParseHostPort("[2001:db8::1]");
  EXPECT_EQ(hp.host, "2001:db8::1");
  EXPECT_EQ(hp.port, 0);
  hp = ParseHostPort("2001:db8::1");
  EXPECT_EQ(hp.host, "2001:db8::1");
  EXPECT_EQ(hp.port, 0);
  hp = ParseHostPort("h:99999");
  EXPECT_EQ(hp.host, "h");
  EXPECT_EQ(hp.port, 0);
  hp = ParseHostPort("h:8x");
  EXPECT_EQ(hp.port, 0);
}

TEST(KnownMethods, List) {
  for (const char* m : {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
    EXPECT_TRUE(IsKnownHttpMethod(m)) << m;
  EXPECT_FALSE(IsKnownHttpMethod("get"));
  EXPECT_FALSE(IsKnownHttpMethod("PURGE"));
  EXPECT_FALSE(IsKnownHttpMethod(""));
}

}  // namespace
}  // namespace sonde
