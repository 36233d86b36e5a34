// Interop: bytes that sonde's OTLP subset produces, decoded by protoc with the
// OFFICIAL opentelemetry-proto definitions (fetched from npm at build time,
// see fetch_official_protos.sh). The decoded text must show every field under
// its official name, and nothing protoc cannot place (an unknown field would
// print as a bare number: a wrong field number or wire type in our .proto).
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex>

#include "exporter/otlp_convert.h"
#include "exporter/otlp_exporter.h"
#include "exporter/otlp_metrics_convert.h"
#include "metrics/red_metrics.h"
#include "metrics/self_metrics.h"
#include "tests/support/otlp_http_receiver.h"

namespace sonde {
namespace {

const std::string kProtos = SONDE_OFFICIAL_PROTOS_DIR;
const char* kTraceService = "opentelemetry/proto/collector/trace/v1/trace_service.proto";
const char* kMetricsService = "opentelemetry/proto/collector/metrics/v1/metrics_service.proto";

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// protoc --decode of `bytes` as `type` from `proto`; the text, or an error.
std::string Decode(const std::string& bytes, const std::string& type, const char* proto) {
  std::string in = ::testing::TempDir() + "/interop_" + std::to_string(getpid()) + ".bin";
  std::ofstream(in, std::ios::binary) << bytes;
  std::string cmd = std::string(SONDE_PROTOC) + " --decode=" + type + " -I '" + kProtos + "' " + proto + " < '" +
                    in + "' 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "popen failed";
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  std::remove(in.c_str());
  if (rc != 0) return "protoc failed (" + std::to_string(rc) + "): " + out;
  return out;
}

// Lines protoc could not map to a field of the official definitions.
std::vector<std::string> UnknownFields(const std::string& text) {
  std::vector<std::string> out;
  std::regex unknown(R"(^\s*[0-9]+\s*[:{])");
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (std::regex_search(line, unknown)) out.push_back(line);
  return out;
}

class Interop : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Exists(kProtos + "/" + kTraceService))
        << "the official opentelemetry-proto files are missing at " << kProtos
        << ": the build fetches them with tests/interop/fetch_official_protos.sh (npm and the npm registry needed)";
    ASSERT_TRUE(Exists(SONDE_PROTOC)) << "protoc not found at " << SONDE_PROTOC;
  }
};

std::vector<Span> SampleSpans() {
  auto api = std::make_shared<Resource>();
  api->attributes = {{"service.name", std::string("api")}, {"process.pid", int64_t{4242}}};
  Span a;
  a.trace_id = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
  a.span_id = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
  a.trace_state = "vendor=1";
  a.name = "GET /users/{id}";
  a.kind = SpanKind::kServer;
  a.start_unix_ns = 1700000000000000000ULL;
  a.end_unix_ns = 1700000000012300000ULL;
  a.attributes = {{"http.request.method", std::string("GET")},
                  {"http.response.status_code", int64_t{200}},
                  {"sonde.ratio", 0.25},
                  {"sonde.tls", true}};
  a.status = StatusCode::kOk;
  a.resource = api;
  Span b = a;
  b.span_id[7] = 0x01;
  b.parent_span_id = a.span_id;
  b.name = "SELECT shop.orders";
  b.kind = SpanKind::kClient;
  b.attributes = {{"db.system.name", std::string("postgresql")}};
  b.status = StatusCode::kError;
  b.status_message = "connection reset";
  return {a, b};
}

void ExpectTraceText(const std::string& text) {
  EXPECT_TRUE(UnknownFields(text).empty()) << text;
  for (const char* want : {
           "resource_spans {", "resource {", "key: \"service.name\"", "string_value: \"api\"",
           "key: \"process.pid\"", "int_value: 4242", "scope_spans {", "scope {", "name: \"sonde\"",
           "trace_id: \"K\\371/5w\\263M\\246\\243\\316\\222\\235\\016\\016G6\"", "trace_state: \"vendor=1\"",
           "name: \"GET /users/{id}\"", "kind: SPAN_KIND_SERVER", "start_time_unix_nano: 1700000000000000000",
           "end_time_unix_nano: 1700000000012300000", "key: \"http.response.status_code\"", "int_value: 200",
           "double_value: 0.25", "bool_value: true", "code: STATUS_CODE_OK", "kind: SPAN_KIND_CLIENT",
           "parent_span_id: \"\\000\\360g\\252\\013\\251\\002\\267\"", "code: STATUS_CODE_ERROR",
           "message: \"connection reset\""})
    EXPECT_NE(text.find(want), std::string::npos) << "missing: " << want << "\n" << text;
}

TEST_F(Interop, TraceRequestDecodesWithTheOfficialProtos) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest req;
  ToOtlpRequest(SampleSpans(), OtlpScope{"sonde", "0.1.0"}, &req);
  std::string text = Decode(req.SerializeAsString(), "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
                            kTraceService);
  ExpectTraceText(text);
  EXPECT_NE(text.find("version: \"0.1.0\""), std::string::npos) << text;
}

TEST_F(Interop, MetricsRequestDecodesWithTheOfficialProtos) {
  RedMetrics red(RedMetricsOptions{}, 1700000000000000000ULL);
  std::vector<Span> spans = SampleSpans();
  red.Record(spans[0]);  // 12.3 ms server request
  red.Record(spans[1]);  // database client call
  auto self_res = std::make_shared<Resource>();
  self_res->attributes = {{"service.name", std::string("sonde")}};
  SelfMetrics self(self_res, 1700000000000000000ULL);
  self.GetCounter(self_metric::kEventsLost, {{"reason", std::string("ringbuf_full")}})->Add(7);
  self.GetGauge(self_metric::kExportQueueSize)->Set(12);
  self.GetDoubleCounter(self_metric::kBpfRunTime, {{"program", std::string("p")}})->Set(0.5);

  opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest req;
  ToOtlpMetricsRequest({red.CollectAt(1700000060000000000ULL), self.CollectAt(1700000060000000000ULL)},
                       OtlpScope{"sonde", "0.1.0"}, &req);
  std::string text = Decode(req.SerializeAsString(),
                            "opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest", kMetricsService);
  EXPECT_TRUE(UnknownFields(text).empty()) << text;
  for (const char* want : {
           "resource_metrics {", "scope_metrics {", "name: \"http.server.request.duration\"",
           "description: \"Duration of HTTP server requests.\"", "unit: \"s\"", "histogram {",
           "aggregation_temporality: AGGREGATION_TEMPORALITY_CUMULATIVE", "start_time_unix_nano: 1700000000000000000",
           "time_unix_nano: 1700000060000000000", "count: 1", "sum: 0.0123", "bucket_counts: 1",
           "explicit_bounds: 0.005", "explicit_bounds: 10", "min: 0.0123", "max: 0.0123",
           "key: \"http.request.method\"", "name: \"db.client.operation.duration\"",
           "string_value: \"postgresql\"", "key: \"error.type\"", "name: \"sonde.events.lost\"", "sum {",
           "is_monotonic: true", "as_int: 7", "name: \"sonde.export.queue.size\"", "gauge {", "as_int: 12",
           "name: \"sonde.bpf.run_time\"", "as_double: 0.5", "string_value: \"ringbuf_full\""})
    EXPECT_NE(text.find(want), std::string::npos) << "missing: " << want << "\n" << text;
}

TEST_F(Interop, BytesOnTheOtlpHttpWireDecodeWithTheOfficialProtos) {
  // The whole path: exporter -> gzip -> HTTP -> receiver, then decode what arrived.
  testing::OtlpHttpTestReceiver receiver;
  OtlpExporterOptions o;
  o.protocol = OtlpProtocol::kHttpProtobuf;
  o.endpoint = receiver.base_url() + "/v1/traces";
  o.compression = OtlpCompression::kGzip;
  o.retry.max_elapsed = std::chrono::milliseconds(0);
  OtlpSpanExporter e(o);
  ASSERT_TRUE(e.Export(SampleSpans()));
  auto reqs = receiver.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  ASSERT_TRUE(reqs[0].gzip);
  ExpectTraceText(Decode(reqs[0].body, "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
                         kTraceService));
}

}  // namespace
}  // namespace sonde
