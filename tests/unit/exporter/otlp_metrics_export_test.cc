// RED metrics and self-metrics over OTLP, both transports: the periodic
// exporter sends cumulative histograms with the semantic-convention buckets,
// per resource, with the right attributes; counters as monotonic sums.
#include <gtest/gtest.h>

#include <thread>

#include "exporter/export_self_metrics.h"
#include "exporter/periodic_metric_exporter.h"
#include "metrics/red_metrics.h"
#include "metrics/self_metrics.h"
#include "otlp_test_util.h"

namespace sonde {
namespace {

using namespace std::chrono_literals;
using test::MakeResource;
using test::MakeSpan;
using testing::PointsNamed;
using testing::ReceivedMetricPoint;

Span HttpServerSpan(std::shared_ptr<const Resource> r, uint64_t duration_us, int64_t status,
                    const std::string& route) {
  Span s = MakeSpan(1, 1, 0, "GET " + route, SpanKind::kServer, std::move(r), 0, duration_us);
  s.attributes = {{"http.request.method", std::string("GET")},
                  {"http.response.status_code", status},
                  {"http.route", route},
                  {"url.path", std::string("/users/12345")},
                  {"url.scheme", std::string("http")},
                  {"network.protocol.version", std::string("1.1")},
                  {"client.address", std::string("10.0.0.7")}};
  if (status >= 500) s.attributes.push_back({"error.type", std::to_string(status)});
  return s;
}

const ReceivedMetricPoint* FindPoint(const std::vector<ReceivedMetricPoint>& points, const std::string& name,
                                     const std::string& service, const std::string& key = "",
                                     const std::string& value = "") {
  for (const auto& p : points)
    if (p.name == name && p.resource.count("service.name") && p.resource.at("service.name") == service &&
        (key.empty() || p.Attr(key) == value))
      return &p;
  return nullptr;
}

class OtlpMetricsExport : public ::testing::TestWithParam<OtlpProtocol> {};

TEST_P(OtlpMetricsExport, RedAndSelfMetricsArriveCumulativeWithSemconvBuckets) {
  auto receiver = test::MakeReceiver(GetParam());
  RedMetrics red(RedMetricsOptions{}, 1000);
  auto self_resource = std::make_shared<Resource>();
  self_resource->attributes = {{"service.name", std::string("sonde")}};
  SelfMetrics self(self_resource, 1000);
  auto api = MakeResource("api", 10);
  auto web = MakeResource("web", 20);

  red.Record(HttpServerSpan(api, 3000, 200, "/users/{id}"));     // 0.003 s
  red.Record(HttpServerSpan(api, 60000, 200, "/users/{id}"));    // 0.06 s
  red.Record(HttpServerSpan(api, 20000000, 503, "/users/{id}"));  // 20 s: above the last bound
  red.Record(HttpServerSpan(web, 100000, 200, "/"));             // exactly 0.1 s: the 0.1 bucket
  self.GetCounter(self_metric::kEventsLost, {{"reason", std::string("ringbuf_full")}})->Add(7);
  self.GetGauge(self_metric::kExportQueueSize)->Set(12);

  PeriodicMetricExporterOptions po;
  po.interval = 1h;  // exports happen on ForceFlush only
  po.timeout = 5s;
  PeriodicMetricExporter exporter(receiver->Options(OtlpSignal::kMetrics), {&red, &self}, po);
  ASSERT_TRUE(exporter.ForceFlush());
  ASSERT_TRUE(receiver->WaitForMetricRequests(1, 5s));
  auto points = receiver->MetricPoints();

  const auto* ok = FindPoint(points, "http.server.request.duration", "api", "http.response.status_code", "200");
  ASSERT_NE(ok, nullptr);
  EXPECT_EQ(ok->type, "histogram");
  EXPECT_EQ(ok->unit, "s");
  EXPECT_EQ(ok->temporality, 2);  // cumulative
  EXPECT_EQ(ok->bounds, (std::vector<double>{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}));
  EXPECT_EQ(ok->bucket_counts, (std::vector<uint64_t>{1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(ok->count, 2u);
  EXPECT_NEAR(*ok->sum, 0.063, 1e-9);
  EXPECT_NEAR(*ok->min, 0.003, 1e-9);
  EXPECT_NEAR(*ok->max, 0.06, 1e-9);
  EXPECT_EQ(ok->start_unix_ns, 1000u);
  EXPECT_EQ(ok->Attr("http.request.method"), "GET");
  EXPECT_EQ(ok->Attr("http.route"), "/users/{id}");
  EXPECT_EQ(ok->Attr("url.scheme"), "http");
  EXPECT_EQ(ok->Attr("network.protocol.version"), "1.1");
  EXPECT_EQ(ok->attribute_types.at("http.response.status_code"), "int");
  // High-cardinality attributes stay on the spans.
  EXPECT_EQ(ok->attributes.count("url.path"), 0u);
  EXPECT_EQ(ok->attributes.count("client.address"), 0u);
  EXPECT_EQ(ok->attributes.count("error.type"), 0u);
  EXPECT_EQ(ok->resource.at("process.pid"), "10");

  const auto* err = FindPoint(points, "http.server.request.duration", "api", "http.response.status_code", "503");
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(err->Attr("error.type"), "503");
  EXPECT_EQ(err->bucket_counts.back(), 1u);  // +Inf bucket

  const auto* w = FindPoint(points, "http.server.request.duration", "web");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->bucket_counts[5], 1u);  // (0.075, 0.1]
  EXPECT_EQ(w->Attr("http.route"), "/");

  const auto* lost = FindPoint(points, "sonde.events.lost", "sonde", "reason", "ringbuf_full");
  ASSERT_NE(lost, nullptr);
  EXPECT_EQ(lost->type, "sum");
  EXPECT_TRUE(lost->monotonic);
  EXPECT_EQ(lost->temporality, 2);
  EXPECT_EQ(lost->int_value, 7);
  const auto* queue = FindPoint(points, "sonde.export.queue.size", "sonde");
  ASSERT_NE(queue, nullptr);
  EXPECT_EQ(queue->type, "gauge");
  EXPECT_EQ(queue->int_value, 12);

  // Cumulative: the next export carries the totals.
  red.Record(HttpServerSpan(api, 3000, 200, "/users/{id}"));
  self.GetCounter(self_metric::kEventsLost, {{"reason", std::string("ringbuf_full")}})->Add(1);
  ASSERT_TRUE(exporter.ForceFlush());
  ASSERT_TRUE(receiver->WaitForMetricRequests(2, 5s));
  points = receiver->MetricPoints();
  int found = 0;
  for (const auto& p : points) {
    if (p.name == "http.server.request.duration" && p.resource.at("service.name") == "api" &&
        p.Attr("http.response.status_code") == "200" && p.count == 3) {
      EXPECT_EQ(p.bucket_counts[0], 2u);
      ++found;
    }
    if (p.name == "sonde.events.lost" && p.int_value == 8) ++found;
  }
  EXPECT_EQ(found, 2);
  EXPECT_EQ(exporter.exports_succeeded(), 2u);
}

TEST_P(OtlpMetricsExport, ExportsOnTheIntervalAndOnceMoreAtShutdown) {
  auto receiver = test::MakeReceiver(GetParam());
  SelfMetrics self(nullptr, 1);
  self.GetCounter(self_metric::kSpansCreated)->Add(3);
  PeriodicMetricExporterOptions po;
  po.interval = 200ms;
  po.timeout = 2s;
  auto exporter = std::make_unique<PeriodicMetricExporter>(receiver->Options(OtlpSignal::kMetrics),
                                                           std::vector<MetricProducer*>{&self}, po);
  ASSERT_TRUE(receiver->WaitForMetricRequests(2, 5s));
  self.GetCounter(self_metric::kSpansCreated)->Add(1);
  size_t before = receiver->MetricPoints().size();
  exporter->Shutdown();
  auto points = receiver->MetricPoints();
  ASSERT_GT(points.size(), before);
  EXPECT_EQ(points.back().name, "sonde.spans.created");
  EXPECT_EQ(points.back().int_value, 4);  // the final export saw the last increment
}

TEST_P(OtlpMetricsExport, AFailedExportIsCountedAndTheNextCarriesTheTotals) {
  auto receiver = test::MakeReceiver(GetParam());
  SelfMetrics self(nullptr, 1);
  self.GetCounter(self_metric::kSpansCreated)->Add(5);
  receiver->Stop();
  PeriodicMetricExporterOptions po;
  po.interval = 1h;
  po.timeout = 500ms;  // caps the retrying of one export
  PeriodicMetricExporter exporter(receiver->Options(OtlpSignal::kMetrics), {&self}, po);
  EXPECT_FALSE(exporter.ForceFlush());
  EXPECT_EQ(exporter.exports_failed(), 1u);
  EXPECT_EQ(exporter.stats().failed_retries_exhausted, 1u);
  receiver->Start();
  self.GetCounter(self_metric::kSpansCreated)->Add(1);
  // gRPC may need a moment to reconnect; the export's retries cover it.
  bool ok = false;
  for (int i = 0; i < 10 && !ok; ++i) ok = exporter.ForceFlush();
  ASSERT_TRUE(ok);
  auto points = receiver->MetricPoints();
  ASSERT_FALSE(points.empty());
  EXPECT_EQ(points.back().int_value, 6);
}

TEST_P(OtlpMetricsExport, ExportPipelineCountersArePublished) {
  auto receiver = test::MakeReceiver(GetParam());
  SelfMetrics self(nullptr, 1);
  std::vector<std::unique_ptr<SpanExporter>> none;
  ExportPipelineOptions o;
  o.max_queue_size = 4;
  o.max_export_batch_size = 4;
  o.schedule_delay = 1h;
  ExportPipeline pipeline(std::move(none), o);
  for (int i = 0; i < 10; ++i) pipeline.Push(test::NumberedSpan(i));
  RegisterExportSelfMetrics(&self, {&pipeline, nullptr, nullptr});
  // The pipeline's thread exports a full batch at once: take the snapshot
  // when its counters did not move around it.
  MetricsSnapshot snap;
  ExportPipelineStats stats;
  for (int i = 0; i < 200; ++i) {
    ExportPipelineStats before = pipeline.stats();
    snap = self.CollectAt(5);
    stats = pipeline.stats();
    if (before.exported == stats.exported && before.dropped_queue_full == stats.dropped_queue_full &&
        before.queued == stats.queued)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::map<std::string, int64_t> values;
  for (const auto& m : snap.resources.at(0).metrics)
    for (const auto& p : m.points) {
      std::string key = m.name;
      for (const auto& a : p.attributes) key += "{" + std::get<std::string>(a.value) + "}";
      values[key] = p.int_value;
    }
  EXPECT_EQ(values["sonde.spans.dropped{queue_full}"], static_cast<int64_t>(stats.dropped_queue_full));
  EXPECT_EQ(values["sonde.spans.exported"], static_cast<int64_t>(stats.exported));
  EXPECT_EQ(values.count("sonde.spans.dropped{export_failed}"), 1u);
  EXPECT_EQ(values.count("sonde.spans.dropped{shutdown}"), 1u);
  EXPECT_EQ(values["sonde.export.queue.capacity"], 4);
  EXPECT_LE(values["sonde.export.queue.size"], 4);
  EXPECT_EQ(stats.queued + stats.dropped_queue_full, 10u);
}

INSTANTIATE_TEST_SUITE_P(BothProtocols, OtlpMetricsExport,
                         ::testing::Values(OtlpProtocol::kGrpc, OtlpProtocol::kHttpProtobuf),
                         [](const auto& info) { return test::ProtocolName(info.param); });

}  // namespace
}  // namespace sonde
