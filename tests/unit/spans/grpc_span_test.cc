// gRPC spans built from hand-made HTTP/2 exchanges: names, attributes,
// status mapping per span kind, Trailers-Only, missing status, partial
// header blocks, trace context, metadata capture and the SpanBuilder
// dispatch.
#include "spans/grpc_span.h"

#include <gtest/gtest.h>

#include "spans/span_builder.h"
#include "tests/unit/spans/span_test_util.h"

namespace sonde {
namespace {

constexpr int64_t kOffset = 1'700'000'000'000'000'000;
constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

// A unary call that ended with OK in the trailers.
Message Unary(Role role) {
  Message m;
  m.conn.role = role;
  const bool server = role == Role::kServer;
  m.conn.local_addr = server ? "10.0.0.5" : "10.0.0.9";
  m.conn.local_port = server ? 50051 : 40000;
  m.conn.peer_addr = server ? "10.0.0.9" : "10.0.0.5";
  m.conn.peer_port = server ? 40000 : 50051;
  HttpExchange ex;
  ex.request.method = "POST";
  ex.request.target = "/shop.v1.Cart/AddItem";
  ex.request.version = "2";
  ex.request.headers = {{":method", "POST"},
                        {":scheme", "http"},
                        {":path", "/shop.v1.Cart/AddItem"},
                        {":authority", "cart.shop.svc:50051"},
                        {"content-type", "application/grpc"},
                        {"te", "trailers"},
                        {"grpc-timeout", "1S"}};
  ex.request.body_size = 12;
  ex.request.start_ns = 1000;
  ex.request.end_ns = 1200;
  HttpResponse resp;
  resp.status = 200;
  resp.version = "2";
  resp.headers = {{":status", "200"}, {"content-type", "application/grpc"}};
  resp.trailers = {{"grpc-status", "0"}};
  resp.body_size = 20;
  resp.start_ns = 3000;
  resp.end_ns = 3900;
  ex.response = resp;
  ex.h2 = Http2StreamInfo{};
  ex.h2->stream_id = 1;
  ex.h2->request_data_frames = 1;
  ex.h2->response_data_frames = 1;
  ex.h2->request_messages = 1;
  ex.h2->response_messages = 1;
  m.payload = ex;
  return m;
}

HttpExchange& Ex(Message& m) { return std::get<HttpExchange>(m.payload); }

void SetStatus(Message& m, std::string code, std::string message = {}) {
  HeaderList& t = Ex(m).response->trailers;
  t = {{"grpc-status", std::move(code)}};
  if (!message.empty()) t.push_back({"grpc-message", std::move(message)});
}

class GrpcSpanTest : public ::testing::Test {
 protected:
  Span Build(const Message& m, HttpSpanOptions opts = {}) {
    GrpcSpanBuilder b(opts, &ids_, kOffset);
    return b.Build(m, resource_);
  }

  IdGenerator ids_{1};
  std::shared_ptr<const Resource> resource_ = std::make_shared<Resource>();
};

TEST_F(GrpcSpanTest, UnaryOkClient) {
  Span s = Build(Unary(Role::kClient));
  EXPECT_EQ(s.kind, SpanKind::kClient);
  EXPECT_EQ(s.name, "shop.v1.Cart/AddItem");
  EXPECT_EQ(s.status, StatusCode::kUnset);
  EXPECT_EQ(s.status_message, "");
  EXPECT_EQ(s.resource, resource_);
  EXPECT_EQ(s.start_unix_ns, static_cast<uint64_t>(kOffset + 1000));
  EXPECT_EQ(s.end_unix_ns, static_cast<uint64_t>(kOffset + 3900));
  EXPECT_FALSE(IsZero(s.trace_id));
  EXPECT_FALSE(IsZero(s.span_id));
  EXPECT_TRUE(IsZero(s.parent_span_id));
  EXPECT_EQ(AsMap(s.attributes), (AttrMap{
                                     {"rpc.system", "grpc"},
                                     {"rpc.service", "shop.v1.Cart"},
                                     {"rpc.method", "AddItem"},
                                     {"rpc.grpc.status_code", "i:0"},
                                     {"server.address", "cart.shop.svc"},
                                     {"server.port", "i:50051"},
                                     {"network.peer.address", "10.0.0.5"},
                                     {"network.peer.port", "i:50051"},
                                     {"network.protocol.name", "http"},
                                     {"network.protocol.version", "2"},
                                     {"sonde.grpc.request_messages", "i:1"},
                                     {"sonde.grpc.response_messages", "i:1"},
                                     {"sonde.parent.source", "none"},
                                 }));
}

TEST_F(GrpcSpanTest, UnaryOkServer) {
  Span s = Build(Unary(Role::kServer));
  EXPECT_EQ(s.kind, SpanKind::kServer);
  EXPECT_EQ(s.name, "shop.v1.Cart/AddItem");
  EXPECT_EQ(s.status, StatusCode::kUnset);
  EXPECT_EQ(AsMap(s.attributes), (AttrMap{
                                     {"rpc.system", "grpc"},
                                     {"rpc.service", "shop.v1.Cart"},
                                     {"rpc.method", "AddItem"},
                                     {"rpc.grpc.status_code", "i:0"},
                                     {"server.address", "cart.shop.svc"},
                                     {"server.port", "i:50051"},
                                     {"client.address", "10.0.0.9"},
                                     {"network.peer.address", "10.0.0.9"},
                                     {"network.peer.port", "i:40000"},
                                     {"network.protocol.name", "http"},
                                     {"network.protocol.version", "2"},
                                     {"sonde.grpc.request_messages", "i:1"},
                                     {"sonde.grpc.response_messages", "i:1"},
                                     {"sonde.parent.source", "none"},
                                 }));
}

TEST_F(GrpcSpanTest, UnknownRoleIsInternalWithoutClientAddress) {
  Message m = Unary(Role::kUnknown);
  m.conn.role_inferred = false;
  Span s = Build(m);
  EXPECT_EQ(s.kind, SpanKind::kInternal);
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a.count("client.address"), 0u);
  EXPECT_EQ(a.at("server.address"), "cart.shop.svc");  // named by :authority
}

// Every code, both kinds: the conventions' table.
struct CodeCase {
  int code;
  bool server_error;
};

class StatusTable : public GrpcSpanTest, public ::testing::WithParamInterface<CodeCase> {};

TEST_P(StatusTable, ServerAndClientMapping) {
  const CodeCase c = GetParam();
  for (Role role : {Role::kServer, Role::kClient}) {
    SCOPED_TRACE(role == Role::kServer ? "server" : "client");
    Message m = Unary(role);
    SetStatus(m, std::to_string(c.code), "it%20failed");
    Span s = Build(m);
    AttrMap a = AsMap(s.attributes);
    EXPECT_EQ(a.at("rpc.grpc.status_code"), "i:" + std::to_string(c.code));
    const bool error = role == Role::kServer ? c.server_error : c.code != 0;
    if (error) {
      EXPECT_EQ(s.status, StatusCode::kError);
      EXPECT_EQ(a.at("error.type"), std::to_string(c.code));
      EXPECT_EQ(s.status_message, "it failed");
    } else {
      EXPECT_EQ(s.status, StatusCode::kUnset);
      EXPECT_EQ(a.count("error.type"), 0u);
      EXPECT_EQ(s.status_message, "");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(GrpcCodes, StatusTable,
                         ::testing::Values(CodeCase{0, false}, CodeCase{1, false}, CodeCase{2, true},
                                           CodeCase{3, false}, CodeCase{4, true}, CodeCase{5, false},
                                           CodeCase{6, false}, CodeCase{7, false}, CodeCase{8, false},
                                           CodeCase{9, false}, CodeCase{10, false}, CodeCase{11, false},
                                           CodeCase{12, true}, CodeCase{13, true}, CodeCase{14, true},
                                           CodeCase{15, true}, CodeCase{16, false}, CodeCase{17, false},
                                           CodeCase{999, false}));

TEST(GrpcStatusIsError, Table) {
  for (int64_t code = 0; code <= 17; ++code) {
    const bool server = code == 2 || code == 4 || (code >= 12 && code <= 15);
    EXPECT_EQ(GrpcStatusIsError(code, SpanKind::kServer), server) << code;
    EXPECT_EQ(GrpcStatusIsError(code, SpanKind::kInternal), server) << code;
    EXPECT_EQ(GrpcStatusIsError(code, SpanKind::kClient), code != 0) << code;
  }
}

TEST_F(GrpcSpanTest, TrailersOnlyResponse) {
  Message m = Unary(Role::kClient);
  HttpResponse& r = *Ex(m).response;
  r.headers = {{":status", "200"},
               {"content-type", "application/grpc"},
               {"grpc-status", "12"},
               {"grpc-message", "Method not found: shop.v1.Cart/AddItem"}};
  r.trailers.clear();
  r.end_ns = r.start_ns;
  Ex(m).h2->response_messages = 0;
  Span s = Build(m);
  EXPECT_EQ(s.status, StatusCode::kError);
  EXPECT_EQ(s.status_message, "Method not found: shop.v1.Cart/AddItem");
  EXPECT_EQ(s.end_unix_ns, static_cast<uint64_t>(kOffset + 3000));
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a.at("rpc.grpc.status_code"), "i:12");
  EXPECT_EQ(a.at("error.type"), "12");
  EXPECT_EQ(a.at("sonde.grpc.response_messages"), "i:0");
}

TEST_F(GrpcSpanTest, TrailersWinOverHeaders) {
  Message m = Unary(Role::kClient);
  Ex(m).response->headers.push_back({"grpc-status", "0"});
  SetStatus(m, "14", "upstream connect error");
  Span s = Build(m);
  EXPECT_EQ(AsMap(s.attributes).at("rpc.grpc.status_code"), "i:14");
  EXPECT_EQ(s.status_message, "upstream connect error");
}

TEST_F(GrpcSpanTest, MessageIsPercentDecoded) {
  Message m = Unary(Role::kServer);
  SetStatus(m, "13", "bad %E2%9C%93 input 100%");
  Span s = Build(m);
  EXPECT_EQ(s.status_message, "bad \xE2\x9C\x93 input 100%");
}

TEST(PercentDecodeGrpcMessage, Forms) {
  EXPECT_EQ(PercentDecodeGrpcMessage(""), "");
  EXPECT_EQ(PercentDecodeGrpcMessage("plain text"), "plain text");
  EXPECT_EQ(PercentDecodeGrpcMessage("a%20b%25c"), "a b%c");
  EXPECT_EQ(PercentDecodeGrpcMessage("%e2%9c%93"), "\xE2\x9C\x93");  // lower case too
  EXPECT_EQ(PercentDecodeGrpcMessage("%"), "%");
  EXPECT_EQ(PercentDecodeGrpcMessage("%2"), "%2");
  EXPECT_EQ(PercentDecodeGrpcMessage("%zz%41"), "%zzA");
  EXPECT_EQ(PercentDecodeGrpcMessage("end%4"), "end%4");
}

TEST_F(GrpcSpanTest, NoResponseIsResponseMissingForBothKinds) {
  for (Role role : {Role::kServer, Role::kClient}) {
    Message m = Unary(role);
    Ex(m).response.reset();
    Span s = Build(m);
    EXPECT_EQ(s.status, StatusCode::kError);
    EXPECT_EQ(s.status_message, "");
    EXPECT_EQ(s.end_unix_ns, static_cast<uint64_t>(kOffset + 1200));  // the request's end
    AttrMap a = AsMap(s.attributes);
    EXPECT_EQ(a.at("error.type"), "response_missing");
    EXPECT_EQ(a.count("rpc.grpc.status_code"), 0u);
  }
}

TEST_F(GrpcSpanTest, HeadersButNoTrailersIsResponseMissing) {
  Message m = Unary(Role::kServer);
  Ex(m).response->trailers.clear();  // the connection ended mid-stream
  Span s = Build(m);
  EXPECT_EQ(s.status, StatusCode::kError);
  EXPECT_EQ(AsMap(s.attributes).at("error.type"), "response_missing");
  EXPECT_EQ(AsMap(s.attributes).count("rpc.grpc.status_code"), 0u);
}

TEST_F(GrpcSpanTest, ResetStreamBeforeTrailers) {
  Message m = Unary(Role::kClient);
  Ex(m).response->trailers.clear();
  Ex(m).h2->rst_error_code = 8;  // CANCEL: the client gave up
  Span s = Build(m);
  EXPECT_EQ(s.status, StatusCode::kError);
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a.at("error.type"), "response_missing");
  EXPECT_EQ(a.at("sonde.http2.rst_error_code"), "i:8");
}

TEST_F(GrpcSpanTest, ResetAfterTrailersKeepsTheStatus) {
  Message m = Unary(Role::kServer);
  Ex(m).h2->rst_error_code = 0;  // NO_ERROR after the trailers
  Span s = Build(m);
  EXPECT_EQ(s.status, StatusCode::kUnset);
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a.at("rpc.grpc.status_code"), "i:0");
  EXPECT_EQ(a.at("sonde.http2.rst_error_code"), "i:0");
  EXPECT_EQ(a.count("error.type"), 0u);
}

TEST_F(GrpcSpanTest, HttpErrorWithoutGrpcStatusMapsAsClientsDo) {
  Message m = Unary(Role::kClient);
  Ex(m).response->status = 503;
  Ex(m).response->headers = {{":status", "503"}, {"content-type", "text/plain"}};
  Ex(m).response->trailers.clear();
  Span s = Build(m);
  EXPECT_EQ(s.status, StatusCode::kError);
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a.at("rpc.grpc.status_code"), "i:14");
  EXPECT_EQ(a.at("error.type"), "14");

  EXPECT_EQ(GrpcStatusFromHttpStatus(400), 13);
  EXPECT_EQ(GrpcStatusFromHttpStatus(401), 16);
  EXPECT_EQ(GrpcStatusFromHttpStatus(403), 7);
  EXPECT_EQ(GrpcStatusFromHttpStatus(404), 12);
  EXPECT_EQ(GrpcStatusFromHttpStatus(429), 14);
  EXPECT_EQ(GrpcStatusFromHttpStatus(502), 14);
  EXPECT_EQ(GrpcStatusFromHttpStatus(504), 14);
  EXPECT_EQ(GrpcStatusFromHttpStatus(500), 2);
}

TEST_F(GrpcSpanTest, UnreadableStatusIsOther) {
  Message m = Unary(Role::kServer);
  SetStatus(m, "fourteen");
  Span s = Build(m);
  EXPECT_EQ(s.status, StatusCode::kError);
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a.at("error.type"), "_OTHER");
  EXPECT_EQ(a.count("rpc.grpc.status_code"), 0u);
}

TEST_F(GrpcSpanTest, PartialRequestHeaders) {
  Message m = Unary(Role::kServer);
  HttpExchange& ex = Ex(m);
  ex.h2->request_headers_partial = true;
  ex.request.method.clear();
  ex.request.target.clear();
  ex.request.headers = {{"te", "trailers"}};  // no :path, no :authority, no content-type
  Span s = Build(m);
  EXPECT_EQ(s.name, "grpc");
  EXPECT_EQ(s.status, StatusCode::kUnset);
  EXPECT_EQ(AsMap(s.attributes), (AttrMap{
                                     {"rpc.system", "grpc"},
                                     {"rpc.grpc.status_code", "i:0"},
                                     {"server.address", "10.0.0.5"},
                                     {"server.port", "i:50051"},
                                     {"client.address", "10.0.0.9"},
                                     {"network.peer.address", "10.0.0.9"},
                                     {"network.peer.port", "i:40000"},
                                     {"network.protocol.name", "http"},
                                     {"network.protocol.version", "2"},
                                     {"sonde.grpc.request_messages", "i:1"},
                                     {"sonde.grpc.response_messages", "i:1"},
                                     {"sonde.http.headers_partial", "b:true"},
                                     {"sonde.parent.source", "none"},
                                 }));
}

TEST_F(GrpcSpanTest, PartialResponseHeadersWithoutStatusClaimNoError) {
  Message m = Unary(Role::kClient);
  Ex(m).h2->response_headers_partial = true;
  Ex(m).response->trailers.clear();  // the trailers block could not be decoded
  Span s = Build(m);
  EXPECT_EQ(s.status, StatusCode::kUnset);
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a.count("error.type"), 0u);
  EXPECT_EQ(a.count("rpc.grpc.status_code"), 0u);
  EXPECT_EQ(a.at("sonde.http.headers_partial"), "b:true");
}

TEST_F(GrpcSpanTest, TraceparentMetadataContinuesTheTraceOnServers) {
  Message m = Unary(Role::kServer);
  Ex(m).request.headers.push_back({"traceparent", kTraceparent});
  Ex(m).request.headers.push_back({"tracestate", "vendor=x"});
  Span s = Build(m);
  EXPECT_EQ(ToHex(s.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ToHex(s.parent_span_id), "00f067aa0ba902b7");
  EXPECT_EQ(s.trace_state, "vendor=x");
  EXPECT_NE(ToHex(s.span_id), "00f067aa0ba902b7");
  EXPECT_EQ(AsMap(s.attributes).at("sonde.parent.source"), "header");

  Message bad = Unary(Role::kServer);
  Ex(bad).request.headers.push_back({"traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"});
  Span fresh = Build(bad);
  EXPECT_TRUE(IsZero(fresh.parent_span_id));
  EXPECT_EQ(AsMap(fresh.attributes).at("sonde.parent.source"), "none");
}

TEST_F(GrpcSpanTest, ClientIgnoresItsOwnTraceparentButTakesTheInProcessParent) {
  Message m = Unary(Role::kClient);
  Ex(m).request.headers.push_back({"traceparent", kTraceparent});
  Span s = Build(m);
  EXPECT_NE(ToHex(s.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_TRUE(IsZero(s.parent_span_id));

  TraceContext parent = *ParseTraceparent(kTraceparent);
  GrpcSpanBuilder b(HttpSpanOptions{}, &ids_, kOffset);
  Span child = b.Build(m, resource_, parent);
  EXPECT_EQ(ToHex(child.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ToHex(child.parent_span_id), "00f067aa0ba902b7");
  EXPECT_EQ(AsMap(child.attributes).at("sonde.parent.source"), "in_process");
}

TEST_F(GrpcSpanTest, MetadataCapture) {
  Message m = Unary(Role::kServer);
  Ex(m).request.headers.push_back({"X-Tenant", "a"});
  Ex(m).request.headers.push_back({"x-tenant", "b"});
  Ex(m).response->headers.push_back({"x-served-by", "pod-1"});
  Ex(m).response->trailers.push_back({"x-served-by", "pod-1-trailer"});
  Ex(m).response->trailers.push_back({"x-cost", "3"});
  HttpSpanOptions o;
  o.capture_request_headers = {"X-Tenant", "x-absent", ":path"};
  o.capture_response_headers = {"x-served-by", "X-Cost", "grpc-status"};
  AttrMap a = AsMap(Build(m, o).attributes);
  EXPECT_EQ(a.at("rpc.grpc.request.metadata.x-tenant"), "[a|b]");
  EXPECT_EQ(a.count("rpc.grpc.request.metadata.x-absent"), 0u);
  EXPECT_EQ(a.count("rpc.grpc.request.metadata.:path"), 0u);  // a pseudo-header, not metadata
  EXPECT_EQ(a.at("rpc.grpc.response.metadata.x-served-by"), "[pod-1|pod-1-trailer]");
  EXPECT_EQ(a.at("rpc.grpc.response.metadata.x-cost"), "[3]");
  EXPECT_EQ(a.at("rpc.grpc.response.metadata.grpc-status"), "[0]");
  for (const auto& [k, v] : a) EXPECT_EQ(k.rfind("http.", 0), std::string::npos) << k;
}

TEST_F(GrpcSpanTest, TlsAndAuthorityDefaults) {
  Message m = Unary(Role::kClient);
  m.conn.tls = true;
  Ex(m).request.headers[3].second = "cart.example.com";  // :authority without a port
  AttrMap a = AsMap(Build(m).attributes);
  EXPECT_EQ(a.at("server.address"), "cart.example.com");
  EXPECT_EQ(a.at("server.port"), "i:443");

  Message plain = Unary(Role::kClient);
  Ex(plain).request.headers.erase(Ex(plain).request.headers.begin() + 3);  // no :authority: the peer
  a = AsMap(Build(plain).attributes);
  EXPECT_EQ(a.at("server.address"), "10.0.0.5");
  EXPECT_EQ(a.at("server.port"), "i:50051");
}

TEST_F(GrpcSpanTest, FlagsAndStreamingCounts) {
  Message m = Unary(Role::kServer);
  m.conn.role_inferred = true;
  Ex(m).request_incomplete = true;
  Ex(m).h2->request_messages = 7;
  Ex(m).h2->response_messages = 0;
  AttrMap a = AsMap(Build(m).attributes);
  EXPECT_EQ(a.at("sonde.connection.role_inferred"), "b:true");
  EXPECT_EQ(a.at("sonde.request.incomplete"), "b:true");
  EXPECT_EQ(a.at("sonde.grpc.request_messages"), "i:7");
  EXPECT_EQ(a.at("sonde.grpc.response_messages"), "i:0");
}

TEST(ParseGrpcPath, Forms) {
  auto p = ParseGrpcPath("/shop.v1.Cart/AddItem");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->service, "shop.v1.Cart");
  EXPECT_EQ(p->method, "AddItem");
  p = ParseGrpcPath("/Echo/Say");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->service, "Echo");
  for (const char* bad : {"", "/", "//", "/svc", "/svc/", "//Method", "svc/Method", "/a/b/c", "/a/b?x=1"})
    EXPECT_FALSE(ParseGrpcPath(bad)) << bad;
}

TEST_F(GrpcSpanTest, MalformedPathIsNamedGrpc) {
  Message m = Unary(Role::kServer);
  Ex(m).request.target = "/not-a-method";
  Span s = Build(m);
  EXPECT_EQ(s.name, "grpc");
  AttrMap a = AsMap(s.attributes);
  EXPECT_EQ(a.count("rpc.service"), 0u);
  EXPECT_EQ(a.count("rpc.method"), 0u);
}

TEST(IsGrpcExchange, ContentTypes) {
  auto with = [](const char* ct) {
    HttpExchange ex;
    ex.request.headers = {{"Content-Type", ct}};
    return IsGrpcExchange(ex);
  };
  EXPECT_TRUE(with("application/grpc"));
  EXPECT_TRUE(with("application/grpc+proto"));
  EXPECT_TRUE(with("application/grpc+json"));
  EXPECT_TRUE(with("Application/GRPC"));
  EXPECT_TRUE(with("application/grpc; charset=utf-8"));
  EXPECT_FALSE(with("application/grpc-web"));
  EXPECT_FALSE(with("application/grpc-web-text+proto"));
  EXPECT_FALSE(with("application/json"));
  EXPECT_FALSE(with("application/grp"));
  EXPECT_FALSE(IsGrpcExchange(HttpExchange{}));

  // The response's content-type counts only when the request block was partial.
  HttpExchange ex;
  ex.response = HttpResponse{};
  ex.response->headers = {{"content-type", "application/grpc"}};
  EXPECT_FALSE(IsGrpcExchange(ex));
  ex.h2 = Http2StreamInfo{};
  EXPECT_FALSE(IsGrpcExchange(ex));
  ex.h2->request_headers_partial = true;
  EXPECT_TRUE(IsGrpcExchange(ex));
}

TEST(SpanBuilderDispatch, GrpcAndHttpOverHttp2) {
  IdGenerator ids(1);
  SpanOptions opts;
  opts.http.capture_request_headers = {"x-tenant"};
  SpanBuilder b(opts, &ids, kOffset);
  auto resource = std::make_shared<Resource>();

  Message grpc = Unary(Role::kServer);
  Ex(grpc).request.headers.push_back({"x-tenant", "a"});
  Span g = b.Build(grpc, resource);
  EXPECT_EQ(g.name, "shop.v1.Cart/AddItem");
  AttrMap a = AsMap(g.attributes);
  EXPECT_EQ(a.at("rpc.system"), "grpc");
  EXPECT_EQ(a.at("rpc.grpc.request.metadata.x-tenant"), "[a]");
  EXPECT_EQ(a.count("http.request.method"), 0u);

  // Joined mid-stream: only the response says it is gRPC.
  Message partial = Unary(Role::kClient);
  Ex(partial).h2->request_headers_partial = true;
  Ex(partial).request.method.clear();
  Ex(partial).request.target.clear();
  Ex(partial).request.headers.clear();
  Span p = b.Build(partial, resource);
  EXPECT_EQ(p.name, "grpc");
  EXPECT_EQ(AsMap(p.attributes).at("sonde.http.headers_partial"), "b:true");

  Message http = Unary(Role::kServer);
  Ex(http).request.headers[4].second = "application/json";
  Ex(http).request.headers.push_back({"x-tenant", "a"});
  Span h = b.Build(http, resource);
  EXPECT_EQ(h.name, "POST /shop.v1.Cart/AddItem");
  a = AsMap(h.attributes);
  EXPECT_EQ(a.at("http.request.method"), "POST");
  EXPECT_EQ(a.at("network.protocol.version"), "2");
  EXPECT_EQ(a.at("http.request.header.x-tenant"), "a");
}

}  // namespace
}  // namespace sonde
