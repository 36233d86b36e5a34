// RED metrics fed with spans as SpanBuilder makes them from hand-made HTTP/2
// exchanges: gRPC calls land in the RPC duration histograms with only
// low-cardinality attributes, HTTP/2 requests in the HTTP ones with their
// protocol version.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "metrics/red_metrics.h"
#include "spans/span_builder.h"

namespace sonde {
namespace {

constexpr int64_t kOffset = 1'700'000'000'000'000'000;
using AttrMap = std::map<std::string, std::string>;

AttrMap Map(const Attributes& attrs) {
  AttrMap m;
  for (const auto& a : attrs) {
    if (const auto* s = std::get_if<std::string>(&a.value)) m[a.key] = *s;
    if (const auto* i = std::get_if<int64_t>(&a.value)) m[a.key] = std::to_string(*i);
    if (const auto* b = std::get_if<bool>(&a.value)) m[a.key] = *b ? "true" : "false";
  }
  return m;
}

// A gRPC call over HTTP/2 lasting 20 ms, ending with `status` in the
// trailers (none when empty).
Message GrpcCall(Role role, const std::string& status) {
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
  ex.request.headers = {{":method", "POST"},          {":scheme", "http"},
                        {":path", "/shop.v1.Cart/AddItem"}, {":authority", "cart:50051"},
                        {"content-type", "application/grpc"}, {"x-request-id", "1234"}};
  ex.request.start_ns = 1'000'000;
  ex.request.end_ns = 1'000'000;
  HttpResponse resp;
  resp.status = 200;
  resp.version = "2";
  resp.headers = {{":status", "200"}, {"content-type", "application/grpc"}};
  if (!status.empty()) resp.trailers = {{"grpc-status", status}, {"grpc-message", "details 42"}};
  resp.start_ns = 15'000'000;
  resp.end_ns = 21'000'000;
  ex.response = resp;
  ex.h2 = Http2StreamInfo{};
  ex.h2->request_messages = 1;
  ex.h2->response_messages = 1;
  m.payload = ex;
  return m;
}

class RedFromSpans : public ::testing::Test {
 protected:
  Span Build(const Message& m) { return builder_.Build(m, resource_); }

  // metric name -> the attribute sets of its points.
  std::map<std::string, std::set<AttrMap>> Series(RedMetrics& red) {
    std::map<std::string, std::set<AttrMap>> out;
    for (const auto& rm : red.Collect().resources)
      for (const auto& md : rm.metrics)
        for (const auto& p : md.points) out[md.name].insert(Map(p.attributes));
    return out;
  }

  IdGenerator ids_{7};
  SpanBuilder builder_{SpanOptions{}, &ids_, kOffset};
  std::shared_ptr<const Resource> resource_ = [] {
    auto r = std::make_shared<Resource>();
    r->attributes = {{"service.name", std::string("cart")}};
    return r;
  }();
};

TEST_F(RedFromSpans, GrpcServerAndClientCalls) {
  RedMetrics red;
  red.Record(Build(GrpcCall(Role::kServer, "0")));
  red.Record(Build(GrpcCall(Role::kServer, "5")));   // NOT_FOUND: not a server error
  red.Record(Build(GrpcCall(Role::kClient, "14")));  // UNAVAILABLE
  red.Record(Build(GrpcCall(Role::kClient, "14")));
  const auto series = Series(red);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series.at("rpc.server.call.duration"),
            (std::set<AttrMap>{{{"rpc.system.name", "grpc"},
                                {"rpc.method", "shop.v1.Cart/AddItem"},
                                {"rpc.response.status_code", "OK"},
                                {"network.protocol.name", "http"},
                                {"network.protocol.version", "2"}},
                               {{"rpc.system.name", "grpc"},
                                {"rpc.method", "shop.v1.Cart/AddItem"},
                                {"rpc.response.status_code", "NOT_FOUND"},
                                {"network.protocol.name", "http"},
                                {"network.protocol.version", "2"}}}));
  EXPECT_EQ(series.at("rpc.client.call.duration"),
            (std::set<AttrMap>{{{"rpc.system.name", "grpc"},
                                {"rpc.method", "shop.v1.Cart/AddItem"},
                                {"rpc.response.status_code", "UNAVAILABLE"},
                                {"error.type", "UNAVAILABLE"},
                                {"network.protocol.name", "http"},
                                {"network.protocol.version", "2"},
                                {"server.address", "cart"},
                                {"server.port", "50051"}}}));
  const MetricsSnapshot snap = red.Collect();
  for (const auto& md : snap.resources.at(0).metrics) {
    EXPECT_EQ(md.unit, "s");
    uint64_t count = 0;
    for (const auto& p : md.points) {
      count += p.histogram.count;
      EXPECT_DOUBLE_EQ(p.histogram.sum, 0.02 * static_cast<double>(p.histogram.count));
    }
    EXPECT_EQ(count, 2u) << md.name;
  }
}

TEST_F(RedFromSpans, GrpcLegacyMetricsKeepTheSpanNames) {
  RedMetricsOptions o;
  o.rpc_names = RpcMetricNames::kLegacy;
  RedMetrics red(o);
  red.Record(Build(GrpcCall(Role::kClient, "14")));
  red.Record(Build(GrpcCall(Role::kServer, "0")));
  const auto series = Series(red);
  EXPECT_EQ(series.at("rpc.client.duration"), (std::set<AttrMap>{{{"rpc.system", "grpc"},
                                                                   {"rpc.service", "shop.v1.Cart"},
                                                                   {"rpc.method", "AddItem"},
                                                                   {"rpc.grpc.status_code", "14"},
                                                                   {"error.type", "14"},
                                                                   {"server.address", "cart"},
                                                                   {"server.port", "50051"}}}));
  EXPECT_EQ(series.at("rpc.server.duration"), (std::set<AttrMap>{{{"rpc.system", "grpc"},
                                                                   {"rpc.service", "shop.v1.Cart"},
                                                                   {"rpc.method", "AddItem"},
                                                                   {"rpc.grpc.status_code", "0"}}}));
}

TEST_F(RedFromSpans, GrpcCallWithoutStatus) {
  RedMetrics red;
  red.Record(Build(GrpcCall(Role::kServer, "")));
  EXPECT_EQ(Series(red).at("rpc.server.call.duration"),
            (std::set<AttrMap>{{{"rpc.system.name", "grpc"},
                                {"rpc.method", "shop.v1.Cart/AddItem"},
                                {"error.type", "response_missing"},
                                {"network.protocol.name", "http"},
                                {"network.protocol.version", "2"}}}));
}

TEST_F(RedFromSpans, Http2RequestsCarryTheProtocolVersion) {
  Message m = GrpcCall(Role::kServer, "");
  HttpExchange& ex = std::get<HttpExchange>(m.payload);
  ex.request.method = "GET";
  ex.request.target = "/health";
  ex.request.headers = {{":method", "GET"}, {":path", "/health"}, {":authority", "cart:8080"}};
  ex.response->headers = {{":status", "200"}};
  RedMetrics red;
  red.Record(Build(m));

  // Joined mid-stream: no method decoded, the request still counts.
  Message partial = m;
  HttpExchange& px = std::get<HttpExchange>(partial.payload);
  px.h2->request_headers_partial = true;
  px.request.method.clear();
  px.request.target.clear();
  px.request.headers.clear();
  red.Record(Build(partial));

  EXPECT_EQ(Series(red).at("http.server.request.duration"), (std::set<AttrMap>{{{"http.request.method", "GET"},
                                                                                 {"http.response.status_code", "200"},
                                                                                 {"url.scheme", "http"},
                                                                                 {"network.protocol.name", "http"},
                                                                                 {"network.protocol.version", "2"}},
                                                                                {{"http.response.status_code", "200"},
                                                                                 {"url.scheme", "http"},
                                                                                 {"network.protocol.name", "http"},
                                                                                 {"network.protocol.version", "2"}}}));
  EXPECT_EQ(red.stats().recorded, 2u);
}

}  // namespace
}  // namespace sonde
