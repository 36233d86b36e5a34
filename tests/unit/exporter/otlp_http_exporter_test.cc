// OTLP/HTTP (protobuf) exporter against the in-process HTTP receiver: what
// arrives on the wire (path, content type, headers, gzip), spans and their
// resources, partial success, and the endpoint rules of the environment.
#include "exporter/otlp_http_transport.h"

#include <gtest/gtest.h>

#include "exporter/otlp_env.h"
#include "exporter/otlp_exporter.h"
#include "otlp_test_util.h"

namespace sonde {
namespace {

using namespace std::chrono_literals;
using test::MakeResource;
using test::MakeSpan;
using test::Numbered;
using testing::OtlpHttpTestReceiver;
using testing::ReceivedHttpRequest;

OtlpExporterOptions HttpOptions(const OtlpHttpTestReceiver& r, const char* path = "/v1/traces") {
  OtlpExporterOptions o;
  o.protocol = OtlpProtocol::kHttpProtobuf;
  o.endpoint = r.base_url() + path;
  o.timeout = 3s;
  o.retry.max_elapsed = 0ms;  // one attempt: these tests check single requests
  return o;
}

std::string Header(const ReceivedHttpRequest& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "<absent>" : it->second;
}

TEST(OtlpHttpExporter, PostsProtobufSpansWithResourcesToV1Traces) {
  OtlpHttpTestReceiver receiver;
  OtlpSpanExporter e(HttpOptions(receiver));
  ASSERT_TRUE(e.valid());
  auto api = MakeResource("api", 10);
  auto worker = MakeResource("worker", 11);
  Span a = MakeSpan(1, 1, 0, "GET /users/{id}", SpanKind::kServer, api, 0, 2500);
  a.attributes = {{"http.request.method", std::string("GET")}, {"http.response.status_code", int64_t{200}}};
  a.status = StatusCode::kOk;
  Span b = MakeSpan(1, 2, 1, "SELECT", SpanKind::kClient, worker, 1, 100);
  b.status = StatusCode::kError;
  b.status_message = "boom";
  ASSERT_TRUE(e.Export({a, b}));

  auto reqs = receiver.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].path, "/v1/traces");
  EXPECT_EQ(Header(reqs[0], "content-type"), "application/x-protobuf");
  EXPECT_EQ(Header(reqs[0], "content-encoding"), "<absent>");
  EXPECT_NE(Header(reqs[0], "user-agent").find("sonde/"), std::string::npos);

  auto spans = receiver.Spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].name, "GET /users/{id}");
  EXPECT_EQ(spans[0].kind, 2);
  EXPECT_EQ(spans[0].resource.at("service.name"), "api");
  EXPECT_EQ(spans[0].resource.at("process.pid"), "10");
  EXPECT_EQ(spans[0].IntAttr("http.response.status_code"), 200);
  EXPECT_EQ(spans[0].Attr("http.request.method"), "GET");
  EXPECT_EQ(spans[0].end_unix_ns - spans[0].start_unix_ns, 2500000u);
  EXPECT_EQ(spans[0].scope_name, "sonde");
  EXPECT_EQ(spans[1].parent_span_id, spans[0].span_id);
  EXPECT_EQ(spans[1].resource.at("service.name"), "worker");
  EXPECT_EQ(spans[1].status_code, 2);
  EXPECT_EQ(spans[1].status_message, "boom");
  EXPECT_EQ(e.stats().items_exported, 2u);
}

TEST(OtlpHttpExporter, SendsConfiguredHeaders) {
  OtlpHttpTestReceiver receiver;
  OtlpExporterOptions o = HttpOptions(receiver);
  o.headers = ParseOtlpHeaders("Api-Key=s3cret,x-scope-orgid=team%20a,empty=");
  OtlpSpanExporter e(o);
  ASSERT_TRUE(e.Export({Numbered(0)}));
  auto reqs = receiver.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(Header(reqs[0], "api-key"), "s3cret");
  EXPECT_EQ(Header(reqs[0], "x-scope-orgid"), "team a");
  EXPECT_EQ(Header(reqs[0], "empty"), "");
}

TEST(OtlpHttpExporter, GzipCompressesTheBody) {
  OtlpHttpTestReceiver receiver;
  OtlpExporterOptions o = HttpOptions(receiver);
  std::vector<Span> batch;
  for (uint32_t i = 0; i < 200; ++i) {
    Span s = Numbered(i);
    s.attributes = {{"url.path", std::string("/a/rather/long/and/repetitive/path/that/compresses/well")}};
    batch.push_back(s);
  }
  ASSERT_TRUE(OtlpSpanExporter(o).Export(batch));
  o.compression = OtlpCompression::kGzip;
  ASSERT_TRUE(OtlpSpanExporter(o).Export(batch));

  auto reqs = receiver.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_FALSE(reqs[0].gzip);
  EXPECT_TRUE(reqs[1].gzip);
  EXPECT_EQ(Header(reqs[1], "content-encoding"), "gzip");
  EXPECT_EQ(reqs[0].body, reqs[1].body);  // same request once decompressed
  EXPECT_LT(reqs[1].wire_size * 5, reqs[0].wire_size);
  EXPECT_EQ(receiver.Spans().size(), 400u);
}

TEST(OtlpHttpExporter, PartialSuccessIsDeliveredAndCounted) {
  OtlpHttpTestReceiver receiver;
  receiver.SetPartialSuccess(2, "two spans too large");
  OtlpSpanExporter e(HttpOptions(receiver));
  EXPECT_TRUE(e.Export({Numbered(0), Numbered(1), Numbered(2)}));
  EXPECT_EQ(e.stats().items_exported, 3u);
  EXPECT_EQ(e.stats().items_rejected, 2u);
}

TEST(OtlpHttpExporter, ReceiverDownIsANoAnswerFailure) {
  OtlpExporterOptions o;
  o.protocol = OtlpProtocol::kHttpProtobuf;
  o.endpoint = "http://127.0.0.1:" + std::to_string(test::ClosedPort()) + "/v1/traces";
  o.retry.max_elapsed = 0ms;
  OtlpSpanExporter e(o);
  EXPECT_FALSE(e.Export({Numbered(0)}));
  EXPECT_EQ(e.stats().failed_retries_exhausted, 1u);  // retryable, but no budget
}

TEST(OtlpHttpExporter, InvalidEndpointFailsEveryExport) {
  OtlpExporterOptions o;
  o.protocol = OtlpProtocol::kHttpProtobuf;
  o.endpoint = "collector:4318";
  OtlpSpanExporter e(o);
  EXPECT_FALSE(e.valid());
  EXPECT_FALSE(e.Export({Numbered(0)}));
}

TEST(OtlpHttpExporter, EnvironmentEndpointsReachTheRightPaths) {
  OtlpHttpTestReceiver receiver;
  OtelEnvOptions env;
  ASSERT_EQ(ParseOtelEnvironment({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"},
                                  {"OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url() + "/"},
                                  {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", receiver.base_url() + "/custom/v1/metrics"},
                                  {"OTEL_EXPORTER_OTLP_HEADERS", "tenant=t1"},
                                  {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"}},
                                 &env),
            "");
  OtlpSpanExporter spans(env.traces);
  ASSERT_TRUE(spans.Export({Numbered(0)}));
  MetricsSnapshot snap;
  snap.start_unix_ns = 1;
  snap.time_unix_ns = 2;
  ResourceMetricsData rm;
  MetricData md;
  md.name = "sonde.spans.created";
  md.kind = MetricKind::kCounter;
  md.points.push_back({});
  md.points.back().int_value = 5;
  rm.metrics.push_back(md);
  snap.resources.push_back(rm);
  OtlpMetricExporter metrics(env.metrics);
  ASSERT_TRUE(metrics.Export({snap}));

  auto reqs = receiver.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].path, "/v1/traces");
  EXPECT_EQ(reqs[1].path, "/custom/v1/metrics");
  for (const auto& r : reqs) {
    EXPECT_TRUE(r.gzip);
    EXPECT_EQ(Header(r, "tenant"), "t1");
  }
  ASSERT_EQ(receiver.MetricPoints().size(), 1u);
  EXPECT_EQ(receiver.MetricPoints()[0].int_value, 5);
}

TEST(Gzip, RoundTrips) {
  std::string in(100000, 'x');
  for (size_t i = 0; i < in.size(); i += 7) in[i] = static_cast<char>(i);
  std::string z, back;
  ASSERT_TRUE(GzipCompress(in, &z));
  EXPECT_LT(z.size(), in.size());
  ASSERT_TRUE(testing::GunzipForTest(z, &back));
  EXPECT_EQ(back, in);
}

}  // namespace
}  // namespace sonde
