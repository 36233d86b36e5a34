// OtlpGrpcExporter against the in-process test receiver: what arrives on the
// wire, headers, and the failure paths (receiver down, slow, erroring).
#include "exporter/otlp_grpc_exporter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <limits>

#include <gtest/gtest.h>

#include "exporter/export_pipeline.h"
#include "test_spans.h"
#include "tests/support/otlp_receiver.h"
#include "tests/support/tcp_proxy.h"

namespace sonde {
namespace {

using namespace std::chrono_literals;
using sonde::test::MakeResource;
using sonde::test::MakeSpan;
using sonde::testing::OtlpTestReceiver;
using sonde::testing::ReceivedSpan;
using Clock = std::chrono::steady_clock;

// One attempt per export, as these tests check single calls; the retry
// behaviour has its own tests below.
OtlpGrpcExporterOptions OptionsFor(const std::string& endpoint, std::chrono::milliseconds timeout = 5s) {
  OtlpGrpcExporterOptions o;
  o.endpoint = endpoint;
  o.timeout = timeout;
  o.retry.max_elapsed = 0ms;
  return o;
}

// A port with nothing listening on it: bound, then closed.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A TCP listener that accepts connections into its backlog but never speaks
// HTTP/2: the gRPC call can only end by its deadline.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 16);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

const ReceivedSpan* FindByName(const std::vector<ReceivedSpan>& spans, const std::string& name) {
  for (const auto& s : spans)
    if (s.name == name) return &s;
  return nullptr;
}

TEST(OtlpGrpcExporter, DeliversSpansWithResourceAttributesKindsAndStatus) {
  OtlpTestReceiver receiver;
  OtlpGrpcExporter exporter(OptionsFor(receiver.endpoint()));

  auto flask = MakeResource("flask-app", 1234);
  auto node = MakeResource("node-api", 99);

  Span server = MakeSpan(1, 1, 0, "GET /users/{id}", SpanKind::kServer, flask, 0, 12300);
  server.attributes = {{"http.request.method", std::string("GET")},
                       {"http.response.status_code", int64_t{200}},
                       {"sonde.ratio", 0.25},
                       {"sonde.tls", true},
                       {"sonde.big", std::numeric_limits<int64_t>::max()},
                       {"sonde.negative", int64_t{-42}},
                       {"rpc.grpc.request.metadata.x-tenant", StringArray{"a", "b"}}};
  server.status = StatusCode::kOk;
  server.trace_state = "vendor=abc";

  Span client = MakeSpan(1, 2, 1, "SELECT users", SpanKind::kClient, flask, 1, 800);
  client.status = StatusCode::kError;
  client.status_message = "connection reset";

  Span other = MakeSpan(2, 3, 0, "POST /orders", SpanKind::kServer, node, 2, 500);
  Span producer = MakeSpan(2, 4, 3, "publish orders", SpanKind::kProducer, node, 3, 100);
  Span consumer = MakeSpan(2, 5, 4, "consume orders", SpanKind::kConsumer, nullptr, 4, 100);
  Span internal = MakeSpan(2, 6, 3, "internal work", SpanKind::kInternal, flask, 5, 100);

  ASSERT_TRUE(exporter.Export({server, client, other, producer, consumer, internal}));
  ASSERT_TRUE(receiver.WaitForSpans(6, 5s));
  ASSERT_EQ(receiver.ExportCalls(), 1u);

  // Grouping: one ResourceSpans per Resource object, in order of first
  // appearance; the resource-less span gets its own group with no attributes.
  auto requests = receiver.Requests();
  ASSERT_EQ(requests.size(), 1u);
  ASSERT_EQ(requests[0].resource_spans_size(), 3);
  EXPECT_EQ(requests[0].resource_spans(0).scope_spans(0).spans_size(), 3);  // flask: server, client, internal
  EXPECT_EQ(requests[0].resource_spans(1).scope_spans(0).spans_size(), 2);  // node
  EXPECT_EQ(requests[0].resource_spans(2).resource().attributes_size(), 0);
  for (const auto& rs : requests[0].resource_spans()) EXPECT_EQ(rs.scope_spans_size(), 1);

  auto spans = receiver.Spans();
  const ReceivedSpan* s = FindByName(spans, "GET /users/{id}");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->trace_id, "101112131415161718191a1b1c1d1e01");
  EXPECT_EQ(s->span_id, "a0a1a2a3a4a5a601");
  EXPECT_EQ(s->parent_span_id, "");
  EXPECT_EQ(s->trace_state, "vendor=abc");
  EXPECT_EQ(s->kind, 2);
  EXPECT_EQ(s->start_unix_ns, 1700000000000000000ULL);
  EXPECT_EQ(s->end_unix_ns, 1700000000012300000ULL);
  EXPECT_EQ(s->status_code, 1);
  EXPECT_EQ(s->resource.at("service.name"), "flask-app");
  EXPECT_EQ(s->resource.at("process.pid"), "1234");
  EXPECT_EQ(s->resource_spans_index, 0u);
  EXPECT_EQ(s->scope_name, "sonde");
  EXPECT_FALSE(s->scope_version.empty());
  // Every value type keeps its type on the wire.
  EXPECT_EQ(s->attribute_types.at("http.request.method"), "string");
  EXPECT_EQ(s->Attr("http.request.method"), "GET");
  EXPECT_EQ(s->attribute_types.at("http.response.status_code"), "int");
  EXPECT_EQ(s->IntAttr("http.response.status_code"), 200);
  EXPECT_EQ(s->IntAttr("sonde.big"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(s->IntAttr("sonde.negative"), -42);
  EXPECT_EQ(s->attribute_types.at("sonde.ratio"), "double");
  EXPECT_EQ(s->DoubleAttr("sonde.ratio"), 0.25);
  EXPECT_EQ(s->attribute_types.at("sonde.tls"), "bool");
  EXPECT_EQ(s->BoolAttr("sonde.tls"), true);
  EXPECT_EQ(s->attribute_types.at("rpc.grpc.request.metadata.x-tenant"), "array");
  EXPECT_EQ(s->Attr("rpc.grpc.request.metadata.x-tenant"), "[a,b]");
  EXPECT_EQ(s->attributes.size(), 7u);
  EXPECT_FALSE(s->IntAttr("http.request.method"));

  const ReceivedSpan* c = FindByName(spans, "SELECT users");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->kind, 3);
  EXPECT_EQ(c->parent_span_id, "a0a1a2a3a4a5a601");
  EXPECT_EQ(c->status_code, 2);
  EXPECT_EQ(c->status_message, "connection reset");
  EXPECT_EQ(c->resource_spans_index, 0u);

  const ReceivedSpan* o = FindByName(spans, "POST /orders");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->status_code, 0);
  EXPECT_EQ(o->resource.at("service.name"), "node-api");
  EXPECT_EQ(o->resource_spans_index, 1u);
  EXPECT_EQ(FindByName(spans, "publish orders")->kind, 4);
  EXPECT_EQ(FindByName(spans, "consume orders")->kind, 5);
  EXPECT_TRUE(FindByName(spans, "consume orders")->resource.empty());
  EXPECT_EQ(FindByName(spans, "consume orders")->resource_spans_index, 2u);
  EXPECT_EQ(FindByName(spans, "internal work")->kind, 1);
  EXPECT_EQ(FindByName(spans, "internal work")->resource_spans_index, 0u);
}

TEST(OtlpGrpcExporter, ResourcesWithEqualContentsStaySeparateGroups) {
  // Grouping is by object identity: two processes of the same service are
  // two resources even if their attributes happen to match.
  OtlpTestReceiver receiver;
  OtlpGrpcExporter exporter(OptionsFor(receiver.endpoint()));
  auto a = MakeResource("svc", 1);
  auto b = MakeResource("svc", 1);
  ASSERT_TRUE(exporter.Export({MakeSpan(1, 1, 0, "a1", SpanKind::kServer, a),
                               MakeSpan(1, 2, 0, "b1", SpanKind::kServer, b),
                               MakeSpan(1, 3, 0, "a2", SpanKind::kServer, a)}));
  auto requests = receiver.Requests();
  ASSERT_EQ(requests.size(), 1u);
  ASSERT_EQ(requests[0].resource_spans_size(), 2);
  EXPECT_EQ(requests[0].resource_spans(0).scope_spans(0).spans_size(), 2);
  EXPECT_EQ(requests[0].resource_spans(1).scope_spans(0).spans_size(), 1);
}

TEST(OtlpGrpcExporter, SendsConfiguredHeadersAsMetadata) {
  OtlpTestReceiver receiver;
  auto options = OptionsFor("http://" + receiver.endpoint());
  options.headers = ParseOtlpHeaders("Api-Key=s3cret,x-scope-orgid=team%20a");
  OtlpGrpcExporter exporter(options);
  ASSERT_TRUE(exporter.Export({MakeSpan(1, 1, 0, "x", SpanKind::kServer, nullptr)}));
  auto md = receiver.Metadata();
  ASSERT_EQ(md.size(), 1u);
  ASSERT_EQ(md[0].count("api-key"), 1u);
  EXPECT_EQ(md[0].find("api-key")->second, "s3cret");
  ASSERT_EQ(md[0].count("x-scope-orgid"), 1u);
  EXPECT_EQ(md[0].find("x-scope-orgid")->second, "team a");
  ASSERT_EQ(md[0].count("user-agent"), 1u);
  EXPECT_NE(md[0].find("user-agent")->second.find("sonde/"), std::string::npos);
}

TEST(OtlpGrpcExporter, DropsHeadersGrpcWouldRefuseInsteadOfFailingEveryCall) {
  OtlpTestReceiver receiver;
  auto options = OptionsFor(receiver.endpoint());
  options.headers = {{"good", "yes"}, {"bad key", "v"}, {"bad-value", "line\nbreak"}};
  OtlpGrpcExporter exporter(options);
  ASSERT_TRUE(exporter.Export({MakeSpan(1, 1, 0, "x", SpanKind::kServer, nullptr)}));
  auto md = receiver.Metadata();
  ASSERT_EQ(md.size(), 1u);
  EXPECT_EQ(md[0].count("good"), 1u);
  EXPECT_EQ(md[0].count("bad-value"), 0u);
}

TEST(OtlpGrpcExporter, InvalidUtf8IsReplacedSoTheCollectorAcceptsTheBatch) {
  OtlpTestReceiver receiver;
  OtlpGrpcExporter exporter(OptionsFor(receiver.endpoint()));
  Span s = MakeSpan(1, 1, 0, "GET /caf\xFF", SpanKind::kServer, nullptr);
  s.attributes = {{"url.path", std::string("/caf\xFF")}};
  ASSERT_TRUE(exporter.Export({s}));
  auto spans = receiver.Spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].name, "GET /caf\xEF\xBF\xBD");
  EXPECT_EQ(spans[0].Attr("url.path"), "/caf\xEF\xBF\xBD");
}

TEST(OtlpGrpcExporter, ReceiverDownFailsFastWithoutHanging) {
  OtlpGrpcExporter exporter(OptionsFor("127.0.0.1:" + std::to_string(ClosedPort()), 2s));
  auto start = Clock::now();
  EXPECT_FALSE(exporter.Export({MakeSpan(1, 1, 0, "x", SpanKind::kServer, nullptr)}));
  EXPECT_LT(Clock::now() - start, 2500ms);
}

TEST(OtlpGrpcExporter, SilentPeerEndsAtTheDeadline) {
  SilentListener silent;
  OtlpGrpcExporter exporter(OptionsFor("127.0.0.1:" + std::to_string(silent.port()), 300ms));
  auto start = Clock::now();
  EXPECT_FALSE(exporter.Export({MakeSpan(1, 1, 0, "x", SpanKind::kServer, nullptr)}));
  auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 2s);
}

TEST(OtlpGrpcExporter, SlowReceiverEndsAtTheDeadline) {
  OtlpTestReceiver receiver;
  receiver.SetResponseDelay(5s);
  OtlpGrpcExporter exporter(OptionsFor(receiver.endpoint(), 300ms));
  auto start = Clock::now();
  EXPECT_FALSE(exporter.Export({MakeSpan(1, 1, 0, "x", SpanKind::kServer, nullptr)}));
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST(OtlpGrpcExporter, ErrorStatusFailsAndRecoveryWorks) {
  OtlpTestReceiver receiver;
  receiver.SetResponseStatus(14 /* UNAVAILABLE */, "collector overloaded");
  OtlpGrpcExporter exporter(OptionsFor(receiver.endpoint()));
  EXPECT_FALSE(exporter.Export({MakeSpan(1, 1, 0, "x", SpanKind::kServer, nullptr)}));
  EXPECT_EQ(receiver.ExportCalls(), 1u);
  EXPECT_TRUE(receiver.Spans().empty());

  receiver.SetResponseStatus(0);
  EXPECT_TRUE(exporter.Export({MakeSpan(1, 2, 0, "y", SpanKind::kServer, nullptr)}));
  ASSERT_EQ(receiver.Spans().size(), 1u);
  EXPECT_EQ(receiver.Spans()[0].name, "y");
}

TEST(OtlpGrpcExporter, PartialSuccessCountsAsDelivered) {
  OtlpTestReceiver receiver;
  receiver.SetPartialSuccess(1, "span too large");
  OtlpGrpcExporter exporter(OptionsFor(receiver.endpoint()));
  EXPECT_TRUE(exporter.Export({MakeSpan(1, 1, 0, "x", SpanKind::kServer, nullptr)}));
}

TEST(OtlpGrpcExporter, InvalidEndpointFailsEveryExport) {
  OtlpGrpcExporter exporter(OptionsFor("unix:///run/collector.sock"));
  EXPECT_TRUE(exporter.target().empty());
  EXPECT_FALSE(exporter.Export({MakeSpan(1, 1, 0, "x", SpanKind::kServer, nullptr)}));
}

TEST(OtlpGrpcExporter, ExportAfterShutdownFails) {
  OtlpTestReceiver receiver;
  OtlpGrpcExporter exporter(OptionsFor(receiver.endpoint()));
  exporter.Shutdown();
  EXPECT_FALSE(exporter.Export({MakeSpan(1, 1, 0, "x", SpanKind::kServer, nullptr)}));
  EXPECT_EQ(receiver.ExportCalls(), 0u);
}

TEST(OtlpGrpcExporter, ReceiverClearForgetsEverything) {
  OtlpTestReceiver receiver;
  OtlpGrpcExporter exporter(OptionsFor(receiver.endpoint()));
  ASSERT_TRUE(exporter.Export({MakeSpan(1, 1, 0, "x", SpanKind::kServer, nullptr)}));
  receiver.Clear();
  EXPECT_TRUE(receiver.Spans().empty());
  EXPECT_EQ(receiver.ExportCalls(), 0u);
  EXPECT_FALSE(receiver.WaitForSpans(1, 50ms));
}

TEST(OtlpGrpcExporterPipeline, SpansFlowThroughThePipelineToTheReceiver) {
  OtlpTestReceiver receiver;
  std::vector<std::unique_ptr<SpanExporter>> exporters;
  exporters.push_back(std::make_unique<OtlpGrpcExporter>(OptionsFor(receiver.endpoint())));
  ExportPipelineOptions options;
  options.max_export_batch_size = 4;
  ExportPipeline pipeline(std::move(exporters), options);
  auto r = MakeResource("svc", 7);
  for (uint8_t i = 1; i <= 10; ++i) ASSERT_TRUE(pipeline.Push(MakeSpan(1, i, 0, "s", SpanKind::kServer, r)));
  ASSERT_TRUE(pipeline.Flush());
  EXPECT_EQ(receiver.Spans().size(), 10u);
  EXPECT_EQ(receiver.ExportCalls(), 3u);  // 4 + 4 + 2
  EXPECT_EQ(pipeline.exported(), 10u);
  EXPECT_EQ(pipeline.export_failures(), 0u);
}

TEST(OtlpGrpcExporterPipeline, ReceiverDownCountsFailureAndDoesNotHang) {
  std::vector<std::unique_ptr<SpanExporter>> exporters;
  exporters.push_back(std::make_unique<OtlpGrpcExporter>(
      OptionsFor("http://127.0.0.1:" + std::to_string(ClosedPort()), 500ms)));
  ExportPipeline pipeline(std::move(exporters));
  for (uint8_t i = 1; i <= 3; ++i) ASSERT_TRUE(pipeline.Push(MakeSpan(1, i, 0, "s", SpanKind::kServer, nullptr)));
  auto start = Clock::now();
  EXPECT_TRUE(pipeline.Flush());  // everything was handed over, even if it failed
  pipeline.Shutdown();
  EXPECT_LT(Clock::now() - start, 3s);
  ExportPipelineStats s = pipeline.stats();
  EXPECT_EQ(s.export_failures, 1u);
  EXPECT_EQ(s.export_failed_spans, 3u);
  EXPECT_EQ(s.exported, 0u);
}

}  // namespace
}  // namespace sonde

namespace sonde {
namespace {

// gRPC keeps grpc-encoding away from the metadata a server sees, so the
// bytes on the wire are measured instead: a compressible batch must shrink.
TEST(OtlpGrpcCompression, GzipShrinksWhatCrossesTheWire) {
  OtlpTestReceiver receiver;
  std::vector<Span> batch;
  for (uint8_t i = 1; i <= 200; ++i) {
    Span s = MakeSpan(1, i, 0, "GET /a/rather/long/route/{id}", SpanKind::kServer, MakeResource("svc", 1));
    s.attributes = {{"url.path", std::string("/a/rather/long/and/repetitive/path/that/compresses/well")}};
    batch.push_back(s);
  }
  uint64_t wire[2];
  for (int gzip = 0; gzip < 2; ++gzip) {
    testing::TcpProxy proxy(receiver.port());
    OtlpGrpcExporterOptions o = OptionsFor("127.0.0.1:" + std::to_string(proxy.port()));
    if (gzip) o.compression = OtlpCompression::kGzip;
    OtlpGrpcExporter exporter(o);
    ASSERT_TRUE(exporter.Export(batch));
    wire[gzip] = proxy.bytes_to_target();
  }
  EXPECT_LT(wire[1] * 4, wire[0]) << "plain " << wire[0] << " bytes, gzip " << wire[1];
  // Both arrived whole.
  ASSERT_EQ(receiver.Spans().size(), 400u);
  EXPECT_EQ(receiver.Spans()[399].Attr("url.path"), "/a/rather/long/and/repetitive/path/that/compresses/well");
}

}  // namespace
}  // namespace sonde
