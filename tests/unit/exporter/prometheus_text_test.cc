// The Prometheus text rendering: OTel -> Prometheus names and units,
// histograms as cumulative _bucket/_sum/_count, resources as job/instance
// and target_info, escaping; checked by parsing the output strictly.
#include "exporter/prometheus_text.h"

#include <gtest/gtest.h>

#include "metrics/red_metrics.h"
#include "metrics/self_metrics.h"
#include "prometheus_parse.h"
#include "test_spans.h"

namespace sonde {
namespace {

using test::MakeResource;
using test::MakeSpan;
using test::ParsePrometheus;

TEST(PrometheusNames, FollowTheCompatibilityRules) {
  EXPECT_EQ(PrometheusMetricName("http.server.request.duration", "s", MetricKind::kHistogram),
            "http_server_request_duration_seconds");
  EXPECT_EQ(PrometheusMetricName("rpc.server.duration", "ms", MetricKind::kHistogram),
            "rpc_server_duration_milliseconds");
  EXPECT_EQ(PrometheusMetricName("sonde.capture.truncated", "By", MetricKind::kCounter),
            "sonde_capture_truncated_bytes_total");
  EXPECT_EQ(PrometheusMetricName("sonde.events.lost", "{event}", MetricKind::kCounter), "sonde_events_lost_total");
  EXPECT_EQ(PrometheusMetricName("sonde.bpf.run_time", "s", MetricKind::kCounter), "sonde_bpf_run_time_seconds_total");
  EXPECT_EQ(PrometheusMetricName("sonde.export.queue.size", "{span}", MetricKind::kGauge), "sonde_export_queue_size");
  EXPECT_EQ(PrometheusMetricName("system.cpu.utilization", "1", MetricKind::kGauge), "system_cpu_utilization_ratio");
  EXPECT_EQ(PrometheusMetricName("hits", "1", MetricKind::kCounter), "hits_total");
  EXPECT_EQ(PrometheusMetricName("net.io", "By/s", MetricKind::kGauge), "net_io_bytes_per_second");
  EXPECT_EQ(PrometheusMetricName("requests_total", "", MetricKind::kCounter), "requests_total");
  EXPECT_EQ(PrometheusMetricName("latency_seconds", "s", MetricKind::kGauge), "latency_seconds");
  EXPECT_EQ(PrometheusMetricName("2xx..count--x", "", MetricKind::kGauge), "_2xx_count_x");
  EXPECT_EQ(PrometheusLabelName("http.request.method"), "http_request_method");
  EXPECT_EQ(PrometheusLabelName("9lives"), "_9lives");
  EXPECT_EQ(PrometheusFloat(0.005), "0.005");
  EXPECT_EQ(PrometheusFloat(1), "1");
  EXPECT_EQ(PrometheusFloat(7.5), "7.5");
  EXPECT_EQ(PrometheusFloat(1.0 / 0.0), "+Inf");
}

Span Http(std::shared_ptr<const Resource> r, uint64_t us, int64_t status) {
  Span s = MakeSpan(1, 1, 0, "GET /x", SpanKind::kServer, std::move(r), 0, us);
  s.attributes = {{"http.request.method", std::string("GET")},
                  {"http.response.status_code", status},
                  {"http.route", std::string("/x")}};
  return s;
}

TEST(PrometheusText, RendersRedHistogramsAndSelfMetricsThatParse) {
  RedMetrics red(RedMetricsOptions{}, 1);
  auto api = std::make_shared<Resource>();
  api->attributes = {{"service.name", std::string("api")},
                     {"service.namespace", std::string("shop")},
                     {"host.name", std::string("node-1")},
                     {"process.pid", int64_t{42}},
                     {"process.executable.name", std::string("python3")}};
  red.Record(Http(api, 3000, 200));    // 0.003
  red.Record(Http(api, 300000, 200));  // 0.3
  red.Record(Http(api, 300000, 500));
  auto self_res = std::make_shared<Resource>();
  self_res->attributes = {{"service.name", std::string("sonde")}, {"service.instance.id", std::string("node-1")}};
  SelfMetrics self(self_res, 1);
  self.GetCounter(self_metric::kEventsLost, {{"reason", std::string("ringbuf_full")}})->Add(7);
  self.GetCounter(self_metric::kEventsLost, {{"reason", std::string("conn_map_full")}})->Add(1);
  self.GetGauge(self_metric::kExportQueueSize)->Set(12);
  self.GetDoubleCounter(self_metric::kBpfRunTime, {{"program", std::string("sys_enter_write")}})->Add(0.25);

  std::string text = RenderPrometheus({red.CollectAt(2), self.CollectAt(2)});
  auto p = ParsePrometheus(text);
  ASSERT_EQ(p.error, "") << text;

  const std::string h = "http_server_request_duration_seconds";
  EXPECT_EQ(p.types[h], "histogram");
  EXPECT_EQ(p.help[h], "Duration of HTTP server requests.");
  std::map<std::string, std::string> ok = {{"job", "shop/api"},
                                           {"instance", "node-1:42"},
                                           {"http_request_method", "GET"},
                                           {"http_response_status_code", "200"},
                                           {"http_route", "/x"}};
  auto le = [&](const char* bound) {
    auto l = ok;
    l["le"] = bound;
    return p.Value(h + "_bucket", l);
  };
  EXPECT_EQ(le("0.005"), "1");
  EXPECT_EQ(le("0.25"), "1");
  EXPECT_EQ(le("0.5"), "2");  // cumulative
  EXPECT_EQ(le("10"), "2");
  EXPECT_EQ(le("+Inf"), "2");
  EXPECT_EQ(p.Value(h + "_count", ok), "2");
  ASSERT_NE(p.Value(h + "_sum", ok), "");
  EXPECT_NEAR(std::stod(p.Value(h + "_sum", ok)), 0.303, 1e-12);
  auto err = ok;
  err["http_response_status_code"] = "500";
  err["error_type"] = "_OTHER";
  EXPECT_EQ(p.Value(h + "_count", err), "");  // no error.type on the span: none on the metric either
  err.erase("error_type");
  EXPECT_EQ(p.Value(h + "_count", err), "1");
  // 15 buckets per series, +Inf included.
  int buckets = 0;
  for (const auto& s : p.samples) buckets += s.name == h + "_bucket" && s.labels.at("http_response_status_code") == "200";
  EXPECT_EQ(buckets, 15);

  EXPECT_EQ(p.types["sonde_events_lost_total"], "counter");
  EXPECT_EQ(p.Value("sonde_events_lost_total", {{"reason", "ringbuf_full"}, {"job", "sonde"}, {"instance", "node-1"}}), "7");
  EXPECT_EQ(p.Value("sonde_events_lost_total", {{"reason", "conn_map_full"}}), "1");
  EXPECT_EQ(p.types["sonde_export_queue_size"], "gauge");
  EXPECT_EQ(p.Value("sonde_export_queue_size", {}), "12");
  EXPECT_EQ(p.Value("sonde_bpf_run_time_seconds_total", {{"program", "sys_enter_write"}}), "0.25");

  // Resources: one target_info each, with the other attributes as labels.
  EXPECT_EQ(p.types["target_info"], "gauge");
  EXPECT_EQ(p.Value("target_info", {{"job", "shop/api"}, {"instance", "node-1:42"}, {"host_name", "node-1"},
                                    {"process_executable_name", "python3"}}),
            "1");
  EXPECT_EQ(p.Value("target_info", {{"job", "sonde"}, {"instance", "node-1"}}), "1");
}

TEST(PrometheusText, EscapesLabelValuesAndHelp) {
  SelfMetrics self(nullptr, 1);
  self.Describe("test.odd", MetricKind::kGauge, false, "", "line one\nback\\slash");
  self.GetGauge("test.odd", {{"v", std::string("a\"b\\c\nd")}, {"http.method", std::string("x")}})->Set(1);
  std::string text = RenderPrometheus({self.CollectAt(1)});
  EXPECT_NE(text.find("# HELP test_odd line one\\nback\\\\slash\n"), std::string::npos) << text;
  auto p = ParsePrometheus(text);
  ASSERT_EQ(p.error, "") << text;
  EXPECT_EQ(p.Value("test_odd", {{"v", "a\"b\\c\nd"}, {"http_method", "x"}}), "1");
}

TEST(PrometheusText, KeysThatCollideAfterSanitizingAreJoined) {
  SelfMetrics self(nullptr, 1);
  self.Describe("test.g", MetricKind::kGauge, false, "", "");
  self.GetGauge("test.g", {{"a.b", std::string("1")}, {"a_b", std::string("2")}})->Set(3);
  auto p = ParsePrometheus(RenderPrometheus({self.CollectAt(1)}));
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.Value("test_g", {{"a_b", "1;2"}}), "3");
}

TEST(PrometheusText, EmptySnapshotsRenderNothing) {
  EXPECT_EQ(RenderPrometheus({}), "");
  RedMetrics red;
  EXPECT_EQ(RenderPrometheus({red.Collect()}), "");
}

}  // namespace
}  // namespace sonde
