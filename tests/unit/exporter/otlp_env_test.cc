// ParseOtelEnvironment: the OTEL_* variables -> exporter options, with the
// signal-specific variables winning and bad values named in the error.
#include "exporter/otlp_env.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "exporter/otlp_config.h"

namespace sonde {
namespace {

using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

OtelEnvOptions Parse(const Env& env) {
  OtelEnvOptions o;
  std::string err = ParseOtelEnvironment(env, &o);
  EXPECT_EQ(err, "");
  return o;
}

std::string Error(const Env& env) {
  OtelEnvOptions o;
  return ParseOtelEnvironment(env, &o);
}

std::string AttrOf(const Attributes& attrs, const std::string& key) {
  const AttrValue* v = FindAttr(attrs, key);
  return v && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v) : "<absent>";
}

TEST(OtelEnv, DefaultsWithNothingSet) {
  OtelEnvOptions o = Parse({});
  EXPECT_EQ(o.traces.protocol, OtlpProtocol::kGrpc);
  EXPECT_EQ(o.traces.endpoint, "http://localhost:4317");
  EXPECT_FALSE(o.traces_endpoint_set);
  EXPECT_FALSE(o.metrics_endpoint_set);
  EXPECT_EQ(o.traces.timeout, 10000ms);
  EXPECT_EQ(o.traces.compression, OtlpCompression::kNone);
  EXPECT_TRUE(o.traces.headers.empty());
  EXPECT_EQ(o.batch.schedule_delay, 5000ms);
  EXPECT_EQ(o.batch.export_timeout, 30000ms);
  EXPECT_EQ(o.batch.max_queue_size, 2048u);
  EXPECT_EQ(o.batch.max_export_batch_size, 512u);
  EXPECT_EQ(o.metric_export_interval, 60000ms);
  EXPECT_EQ(o.metric_export_timeout, 30000ms);
  EXPECT_EQ(AttrOf(o.self_resource_attributes, "service.name"), "sonde");
  EXPECT_EQ(AttrOf(o.self_resource_attributes, "telemetry.sdk.name"), "sonde");
}

TEST(OtelEnv, HttpGenericEndpointGetsTheSignalPathAppended) {
  OtelEnvOptions o = Parse({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"},
                            {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"}});
  EXPECT_EQ(o.traces.protocol, OtlpProtocol::kHttpProtobuf);
  EXPECT_EQ(o.traces.endpoint, "http://collector:4318/v1/traces");
  EXPECT_EQ(o.metrics.endpoint, "http://collector:4318/v1/metrics");
  EXPECT_TRUE(o.traces_endpoint_set);
  EXPECT_TRUE(o.metrics_endpoint_set);

  // A trailing slash or a base path keep exactly one slash.
  o = Parse({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"}, {"OTEL_EXPORTER_OTLP_ENDPOINT", "https://c/otlp/"}});
  EXPECT_EQ(o.traces.endpoint, "https://c/otlp/v1/traces");
}

TEST(OtelEnv, HttpSignalSpecificEndpointIsUsedAsIs) {
  OtelEnvOptions o = Parse({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"},
                            {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"},
                            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9999/custom/path"}});
  EXPECT_EQ(o.traces.endpoint, "http://traces:9999/custom/path");
  EXPECT_EQ(o.metrics.endpoint, "http://generic:4318/v1/metrics");
}

TEST(OtelEnv, HttpDefaultEndpoint) {
  OtelEnvOptions o = Parse({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"}});
  EXPECT_EQ(o.traces.endpoint, "http://localhost:4318/v1/traces");
  EXPECT_EQ(o.metrics.endpoint, "http://localhost:4318/v1/metrics");
}

TEST(OtelEnv, SignalSpecificVariablesWin) {
  OtelEnvOptions o = Parse({
      {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4317"},
      {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://metrics:4317"},
      {"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
      {"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"},
      {"OTEL_EXPORTER_OTLP_HEADERS", "a=1"},
      {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "b=2,c=3"},
      {"OTEL_EXPORTER_OTLP_TIMEOUT", "2000"},
      {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "500"},
      {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
      {"OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "none"},
      {"OTEL_EXPORTER_OTLP_INSECURE", "false"},
      {"OTEL_EXPORTER_OTLP_METRICS_INSECURE", "true"},
  });
  EXPECT_EQ(o.traces.endpoint, "http://generic:4317");
  EXPECT_EQ(o.traces.protocol, OtlpProtocol::kGrpc);
  EXPECT_EQ(o.metrics.protocol, OtlpProtocol::kHttpProtobuf);
  EXPECT_EQ(o.metrics.endpoint, "http://metrics:4317");  // specific: as is, even for http
  EXPECT_EQ(o.traces.headers, (OtlpHeaders{{"b", "2"}, {"c", "3"}}));
  EXPECT_EQ(o.metrics.headers, (OtlpHeaders{{"a", "1"}}));
  EXPECT_EQ(o.traces.timeout, 500ms);
  EXPECT_EQ(o.metrics.timeout, 2000ms);
  EXPECT_EQ(o.traces.compression, OtlpCompression::kGzip);
  EXPECT_EQ(o.metrics.compression, OtlpCompression::kNone);
  EXPECT_FALSE(o.traces.insecure);
  EXPECT_TRUE(o.metrics.insecure);
}

TEST(OtelEnv, ValuesAreCaseInsensitiveAndTrimmed) {
  OtelEnvOptions o = Parse({{"OTEL_EXPORTER_OTLP_PROTOCOL", " HTTP/Protobuf "},
                            {"OTEL_EXPORTER_OTLP_COMPRESSION", "GZIP"},
                            {"OTEL_EXPORTER_OTLP_INSECURE", "TRUE"}});
  EXPECT_EQ(o.traces.protocol, OtlpProtocol::kHttpProtobuf);
  EXPECT_EQ(o.traces.compression, OtlpCompression::kGzip);
}

TEST(OtelEnv, EmptyValuesCountAsUnset) {
  OtelEnvOptions o = Parse({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""},
                            {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"},
                            {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "  "}});
  EXPECT_EQ(o.traces.endpoint, "http://c:4317");
  EXPECT_EQ(o.traces.timeout, 10000ms);
}

TEST(OtelEnv, BatchAndMetricSettings) {
  OtelEnvOptions o = Parse({{"OTEL_BSP_SCHEDULE_DELAY", "250"},
                            {"OTEL_BSP_EXPORT_TIMEOUT", "4000"},
                            {"OTEL_BSP_MAX_QUEUE_SIZE", "100"},
                            {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"},
                            {"OTEL_METRIC_EXPORT_INTERVAL", "15000"},
                            {"OTEL_METRIC_EXPORT_TIMEOUT", "5000"}});
  EXPECT_EQ(o.batch.schedule_delay, 250ms);
  EXPECT_EQ(o.batch.export_timeout, 4000ms);
  EXPECT_EQ(o.batch.max_queue_size, 100u);
  EXPECT_EQ(o.batch.max_export_batch_size, 10u);
  EXPECT_EQ(o.metric_export_interval, 15000ms);
  EXPECT_EQ(o.metric_export_timeout, 5000ms);

  // Only the queue made smaller than the default batch: the batch follows.
  o = Parse({{"OTEL_BSP_MAX_QUEUE_SIZE", "100"}});
  EXPECT_EQ(o.batch.max_export_batch_size, 100u);
}

TEST(OtelEnv, SelfResourceFromServiceNameAndResourceAttributes) {
  OtelEnvOptions o = Parse({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,deployment.environment=prod,k8s.node.name=n%201"}});
  EXPECT_EQ(AttrOf(o.self_resource_attributes, "service.name"), "from-attrs");
  EXPECT_EQ(AttrOf(o.self_resource_attributes, "deployment.environment"), "prod");
  EXPECT_EQ(AttrOf(o.self_resource_attributes, "k8s.node.name"), "n 1");

  o = Parse({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs"}, {"OTEL_SERVICE_NAME", "sonde-node-7"}});
  EXPECT_EQ(AttrOf(o.self_resource_attributes, "service.name"), "sonde-node-7");
  int names = 0;
  for (const auto& a : o.self_resource_attributes) names += a.key == "service.name";
  EXPECT_EQ(names, 1);

  auto r = MakeSelfResource(o, "host-a", 42);
  EXPECT_EQ(AttrOf(r->attributes, "host.name"), "host-a");
  ASSERT_NE(FindAttr(r->attributes, "process.pid"), nullptr);
  EXPECT_EQ(std::get<int64_t>(*FindAttr(r->attributes, "process.pid")), 42);
}

struct BadCase {
  Env env;
  std::string must_contain;
};

TEST(OtelEnv, BadValuesGiveAnErrorNamingTheVariable) {
  const std::vector<BadCase> cases = {
      {{{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}}, "OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json'"},
      {{{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "thrift"}}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'thrift'"},
      {{{"OTEL_EXPORTER_OTLP_ENDPOINT", "unix:///x.sock"}}, "OTEL_EXPORTER_OTLP_ENDPOINT: 'unix:///x.sock'"},
      {{{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"}, {"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"}},
       "OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318'"},
      {{{"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"},
        {"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://c:99999/v1/metrics"}},
       "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"},
      {{{"OTEL_EXPORTER_OTLP_HEADERS", "novalue"}}, "OTEL_EXPORTER_OTLP_HEADERS: 'novalue'"},
      {{{"OTEL_EXPORTER_OTLP_METRICS_HEADERS", "a=1,=x"}}, "OTEL_EXPORTER_OTLP_METRICS_HEADERS"},
      {{{"OTEL_EXPORTER_OTLP_TIMEOUT", "10s"}}, "OTEL_EXPORTER_OTLP_TIMEOUT: '10s'"},
      {{{"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0"}}, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '0'"},
      {{{"OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"}}, "OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd'"},
      {{{"OTEL_EXPORTER_OTLP_INSECURE", "yes"}}, "OTEL_EXPORTER_OTLP_INSECURE: 'yes'"},
      {{{"OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem"}},
       "OTEL_EXPORTER_OTLP_CERTIFICATE: '/nonexistent/ca.pem' cannot be read"},
      {{{"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/nonexistent/k.pem"}}, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY"},
      {{{"OTEL_BSP_SCHEDULE_DELAY", "-5"}}, "OTEL_BSP_SCHEDULE_DELAY: '-5'"},
      {{{"OTEL_BSP_EXPORT_TIMEOUT", "abc"}}, "OTEL_BSP_EXPORT_TIMEOUT: 'abc'"},
      {{{"OTEL_BSP_MAX_QUEUE_SIZE", "0"}}, "OTEL_BSP_MAX_QUEUE_SIZE: '0'"},
      {{{"OTEL_BSP_MAX_QUEUE_SIZE", "10"}, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "20"}},
       "OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '20' is larger than the queue size"},
      {{{"OTEL_METRIC_EXPORT_INTERVAL", "1e3"}}, "OTEL_METRIC_EXPORT_INTERVAL: '1e3'"},
      {{{"OTEL_METRIC_EXPORT_TIMEOUT", "99999999999999"}}, "OTEL_METRIC_EXPORT_TIMEOUT"},
      {{{"OTEL_RESOURCE_ATTRIBUTES", "no-equals-sign"}}, "OTEL_RESOURCE_ATTRIBUTES: 'no-equals-sign'"},
  };
  for (const BadCase& c : cases) {
    std::string err = Error(c.env);
    EXPECT_NE(err.find(c.must_contain), std::string::npos) << "error: '" << err << "', expected '"
                                                            << c.must_contain << "'";
  }
}

TEST(OtelEnv, ClientKeyAndCertificateGoTogether) {
  std::string path = ::testing::TempDir() + "/otel_env_test_key.pem";
  std::ofstream(path) << "not really a key\n";
  std::string err = Error({{"OTEL_EXPORTER_OTLP_CLIENT_KEY", path}});
  EXPECT_NE(err.find("OTEL_EXPORTER_OTLP_CLIENT_KEY is set but"), std::string::npos) << err;
  EXPECT_NE(err.find("CLIENT_CERTIFICATE"), std::string::npos) << err;

  OtelEnvOptions o = Parse({{"OTEL_EXPORTER_OTLP_CLIENT_KEY", path},
                            {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", path},
                            {"OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", path}});
  EXPECT_EQ(o.traces.tls.client_key_file, path);
  EXPECT_EQ(o.traces.tls.client_cert_file, path);
  EXPECT_EQ(o.traces.tls.ca_file, "");
  EXPECT_EQ(o.metrics.tls.ca_file, path);
  std::remove(path.c_str());
}

TEST(OtlpHttpEndpoint, ParsesUrls) {
  auto u = ParseOtlpHttpEndpoint("http://collector:4318/v1/traces");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->use_tls);
  EXPECT_EQ(u->host, "collector");
  EXPECT_EQ(u->port, 4318);
  EXPECT_EQ(u->path, "/v1/traces");
  EXPECT_EQ(u->url, "http://collector:4318/v1/traces");
  u = ParseOtlpHttpEndpoint("https://c");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->use_tls);
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->path, "/");
  u = ParseOtlpHttpEndpoint("http://[::1]:4318/x");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "[::1]");
  EXPECT_FALSE(ParseOtlpHttpEndpoint("collector:4318"));
  EXPECT_FALSE(ParseOtlpHttpEndpoint("http://"));
  EXPECT_FALSE(ParseOtlpHttpEndpoint("http://c:0/"));
  EXPECT_FALSE(ParseOtlpHttpEndpoint("http://c:port/"));
  EXPECT_EQ(AppendSignalPath("http://c:4318", "v1/traces"), "http://c:4318/v1/traces");
  EXPECT_EQ(AppendSignalPath("http://c:4318//", "/v1/metrics"), "http://c:4318/v1/metrics");
}

}  // namespace
}  // namespace sonde
