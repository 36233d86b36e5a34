// sonde and the OpenTelemetry JS SDK in one trace: a sonde-watched threaded
// Flask front (/api/<n>) calls a Node service instrumented by the SDK
// (@opentelemetry/auto-instrumentations-node, from bench/node), which calls a
// sonde-watched Python http.server (/items/<n>). sonde injects traceparent
// into the front's call, so the SDK continues sonde's trace; the SDK sends
// its own traceparent on its call, so sonde continues the SDK's. Both export
// to the same OTLP receiver; each request's five spans form one trace.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "harness.h"
#include "sonde_fixture.h"

namespace sonde::testing {
namespace {

using std::chrono::milliseconds;

constexpr int kRequests = 20;

std::string SdkRegister() {
  return SourceDir() + "/bench/node/node_modules/@opentelemetry/auto-instrumentations-node/build/src/register.js";
}

// The one span of `spans` with this kind and url.path, or nullptr (and a failure).
const ReceivedSpan* Find(const std::vector<ReceivedSpan>& spans, int kind, const std::string& path,
                         const std::string& service) {
  const ReceivedSpan* found = nullptr;
  for (const ReceivedSpan& s : spans) {
    auto svc = s.resource.find("service.name");
    if (s.kind != kind || svc == s.resource.end() || svc->second != service) continue;
    std::string p = s.attributes.count("url.path") ? s.Attr("url.path") : s.Attr("http.target");
    if (p.empty() && s.attributes.count("url.full")) p = s.Attr("url.full").substr(s.Attr("url.full").find('/', 8));
    if (p != path) continue;
    EXPECT_EQ(found, nullptr) << "two " << service << " spans for " << path;
    found = &s;
  }
  EXPECT_NE(found, nullptr) << "no " << (kind == kServer ? "SERVER" : "CLIENT") << " span of " << service << " for "
                            << path;
  return found;
}

TEST_F(SondeTest, SondeAndTheOpenTelemetryJsSdkContinueEachOthersTraces) {
  ASSERT_EQ(access(SdkRegister().c_str(), R_OK), 0)
      << "the OpenTelemetry JS SDK is not installed in bench/node (scripts/install-deps.sh runs npm install there)";
  uint16_t down_port = FreePort(), sdk_port = FreePort(), front_port = FreePort();
  auto down = StartPyServer(down_port);
  Child sdk({"node", "--require", SdkRegister(), SourceDir() + "/tests/integration/apps/graph/sdk_mid.js",
             std::to_string(sdk_port), "http://127.0.0.1:" + std::to_string(down_port) + "/items/"},
            {"OTEL_SERVICE_NAME=sdk-mid", "OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
             "OTEL_EXPORTER_OTLP_ENDPOINT=http://" + receiver_->endpoint(), "OTEL_METRICS_EXPORTER=none",
             "OTEL_LOGS_EXPORTER=none", "OTEL_BSP_SCHEDULE_DELAY=200", "OTEL_NODE_RESOURCE_DETECTORS=env,process",
             "OTEL_TRACES_SAMPLER=always_on", "OTEL_PROPAGATORS=tracecontext", "OTEL_SEMCONV_STABILITY_OPT_IN=http"});
  Child front({Python(), SourceDir() + "/tests/integration/apps/graph/front_flask.py", std::to_string(front_port),
               "http://127.0.0.1:" + std::to_string(sdk_port) + "/sdk/"});
  ASSERT_TRUE(sdk.WaitForLine("listening", milliseconds(20000))) << sdk.seen();
  ASSERT_TRUE(front.WaitForLine("listening", milliseconds(15000))) << front.seen();
  ASSERT_TRUE(WaitForPort(front_port, milliseconds(5000)));
  StartSonde({"--pid", std::to_string(front.pid()), "--pid", std::to_string(down->pid()), "--inject-traceparent"});

  for (int n = 0; n < kRequests; ++n) {
    Child curl({"curl", "-sf", "-o", "/dev/null", "http://127.0.0.1:" + std::to_string(front_port) + "/api/" +
                                                      std::to_string(n)});
    ASSERT_EQ(curl.Wait(milliseconds(10000)), 0) << "request " << n;
  }
  // Per request: front SERVER + CLIENT and down SERVER (sonde), SDK SERVER + CLIENT.
  ASSERT_TRUE(receiver_->WaitForSpans(5 * kRequests, milliseconds(20000)))
      << "spans received: " << receiver_->Spans().size();
  std::vector<ReceivedSpan> spans = receiver_->Spans();
  const std::string front_service = "front_flask";  // sonde names a Python service after its script
  for (int n = 0; n < kRequests; ++n) {
    SCOPED_TRACE("request " + std::to_string(n));
    const std::string api = "/api/" + std::to_string(n), mid = "/sdk/" + std::to_string(n),
                      items = "/items/" + std::to_string(n);
    const ReceivedSpan* a_server = Find(spans, kServer, api, front_service);
    const ReceivedSpan* a_client = Find(spans, kClient, mid, front_service);
    const ReceivedSpan* b_server = Find(spans, kServer, mid, "sdk-mid");
    const ReceivedSpan* b_client = Find(spans, kClient, items, "sdk-mid");
    const ReceivedSpan* c_server = Find(spans, kServer, items, "http_server");
    if (!a_server || !a_client || !b_server || !b_client || !c_server) continue;
    EXPECT_TRUE(a_server->parent_span_id.empty());
    EXPECT_EQ(a_client->parent_span_id, a_server->span_id);
    EXPECT_EQ(b_server->parent_span_id, a_client->span_id) << "the SDK did not continue sonde's injected traceparent";
    EXPECT_EQ(b_client->parent_span_id, b_server->span_id);
    EXPECT_EQ(c_server->parent_span_id, b_client->span_id) << "sonde did not continue the SDK's traceparent";
    EXPECT_EQ(c_server->Attr("sonde.parent.source"), "header");
    for (const ReceivedSpan* s : {a_client, b_server, b_client, c_server}) EXPECT_EQ(s->trace_id, a_server->trace_id);
  }
}

}  // namespace
}  // namespace sonde::testing
