// TLS and mutual TLS for both OTLP transports, with certificates made for the
// test by the openssl tool: the collector's certificate is checked against
// the configured CA (OTEL_EXPORTER_OTLP_CERTIFICATE), and a collector that
// asks for a client certificate gets the configured pair.
#include <gtest/gtest.h>

#include "exporter/otlp_env.h"
#include "exporter/otlp_exporter.h"
#include "otlp_test_util.h"
#include "tests/support/test_certs.h"

namespace sonde {
namespace {

using namespace std::chrono_literals;
using test::Numbered;
using testing::GetTestCertificates;
using testing::ReceiverTls;

class OtlpTls : public ::testing::TestWithParam<OtlpProtocol> {
 protected:
  // A receiver of the test's protocol with TLS, requiring a client
  // certificate when `mutual`.
  std::unique_ptr<test::AnyReceiver> Receiver(bool mutual) {
    const auto& c = GetTestCertificates();
    ReceiverTls tls{c.server_cert, c.server_key, mutual ? c.ca_cert : ""};
    if (GetParam() == OtlpProtocol::kGrpc) {
      testing::OtlpTestReceiverOptions o;
      o.tls = tls;
      return std::make_unique<test::GrpcReceiver>(o);
    }
    testing::OtlpHttpTestReceiverOptions o;
    o.tls = tls;
    return std::make_unique<test::HttpReceiver>(o);
  }

  // The options the environment would give, pointing at `r` over https.
  OtlpExporterOptions Options(const test::AnyReceiver& r, std::map<std::string, std::string> env) {
    const std::string base = "https://127.0.0.1:" + std::to_string(r.port());
    env["OTEL_EXPORTER_OTLP_PROTOCOL"] = GetParam() == OtlpProtocol::kGrpc ? "grpc" : "http/protobuf";
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = base;
    env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "3000";
    OtelEnvOptions o;
    EXPECT_EQ(ParseOtelEnvironment(env, &o), "");
    o.traces.retry.max_elapsed = 0ms;  // a handshake failure must show at once
    return o.traces;
  }
};

TEST_P(OtlpTls, TrustsTheConfiguredCa) {
  auto r = Receiver(false);
  OtlpSpanExporter e(Options(*r, {{"OTEL_EXPORTER_OTLP_CERTIFICATE", GetTestCertificates().ca_cert}}));
  EXPECT_NE(e.Describe().find(GetParam() == OtlpProtocol::kGrpc ? "tls" : "https://"), std::string::npos)
      << e.Describe();
  ASSERT_TRUE(e.Export({Numbered(0), Numbered(1)}));
  EXPECT_EQ(r->Spans().size(), 2u);
}

TEST_P(OtlpTls, RefusesACollectorSignedByAnotherCa) {
  auto r = Receiver(false);
  OtlpSpanExporter e(Options(*r, {{"OTEL_EXPORTER_OTLP_CERTIFICATE", GetTestCertificates().other_ca_cert}}));
  EXPECT_FALSE(e.Export({Numbered(0)}));
  EXPECT_TRUE(r->Spans().empty());
}

TEST_P(OtlpTls, PresentsTheClientCertificateForMutualTls) {
  auto r = Receiver(true);
  const auto& c = GetTestCertificates();
  OtlpSpanExporter e(Options(*r, {{"OTEL_EXPORTER_OTLP_CERTIFICATE", c.ca_cert},
                                  {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", c.client_key},
                                  {"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", c.client_cert}}));
  ASSERT_TRUE(e.Export({Numbered(0)}));
  EXPECT_EQ(r->Spans().size(), 1u);
}

TEST_P(OtlpTls, MutualTlsCollectorRefusesAClientWithoutCertificate) {
  auto r = Receiver(true);
  OtlpSpanExporter e(Options(*r, {{"OTEL_EXPORTER_OTLP_CERTIFICATE", GetTestCertificates().ca_cert}}));
  EXPECT_FALSE(e.Export({Numbered(0)}));
  EXPECT_TRUE(r->Spans().empty());
}

TEST_P(OtlpTls, MetricsGoOverTlsToo) {
  auto r = Receiver(true);
  const auto& c = GetTestCertificates();
  std::map<std::string, std::string> env = {{"OTEL_EXPORTER_OTLP_CERTIFICATE", c.ca_cert},
                                            {"OTEL_EXPORTER_OTLP_CLIENT_KEY", c.client_key},
                                            {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", c.client_cert},
                                            {"OTEL_EXPORTER_OTLP_PROTOCOL",
                                             GetParam() == OtlpProtocol::kGrpc ? "grpc" : "http/protobuf"},
                                            {"OTEL_EXPORTER_OTLP_ENDPOINT",
                                             "https://127.0.0.1:" + std::to_string(r->port())}};
  OtelEnvOptions o;
  ASSERT_EQ(ParseOtelEnvironment(env, &o), "");
  o.metrics.retry.max_elapsed = 0ms;
  OtlpMetricExporter e(o.metrics);
  MetricsSnapshot snap;
  snap.time_unix_ns = 1;
  ResourceMetricsData rm;
  MetricData md;
  md.name = "sonde.export.queue.size";
  md.kind = MetricKind::kGauge;
  md.points.push_back({});
  md.points.back().int_value = 3;
  rm.metrics.push_back(md);
  snap.resources.push_back(rm);
  ASSERT_TRUE(e.Export({snap}));
  ASSERT_EQ(r->MetricPoints().size(), 1u);
  EXPECT_EQ(r->MetricPoints()[0].type, "gauge");
}

INSTANTIATE_TEST_SUITE_P(BothProtocols, OtlpTls, ::testing::Values(OtlpProtocol::kGrpc, OtlpProtocol::kHttpProtobuf),
                         [](const auto& info) { return test::ProtocolName(info.param); });

TEST(OtlpGrpcTls, SchemelessEndpointUsesTlsWhenNotInsecure) {
  const auto& c = GetTestCertificates();
  testing::OtlpTestReceiverOptions ro;
  ro.tls = ReceiverTls{c.server_cert, c.server_key, ""};
  test::GrpcReceiver r(ro);
  OtelEnvOptions o;
  ASSERT_EQ(ParseOtelEnvironment({{"OTEL_EXPORTER_OTLP_ENDPOINT", "127.0.0.1:" + std::to_string(r.port())},
                                  {"OTEL_EXPORTER_OTLP_INSECURE", "false"},
                                  {"OTEL_EXPORTER_OTLP_CERTIFICATE", c.ca_cert}},
                                 &o),
            "");
  o.traces.retry.max_elapsed = 0ms;
  OtlpSpanExporter e(o.traces);
  ASSERT_TRUE(e.Export({Numbered(0)}));
  EXPECT_EQ(r.Spans().size(), 1u);
}

}  // namespace
}  // namespace sonde
