// Helpers for the OTLP exporter tests that run against both transports: a
// receiver of either protocol behind one interface, free ports, and spans
// numbered so that tests can tell exactly which ones arrived.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "exporter/otlp_options.h"
#include "test_spans.h"
#include "tests/support/otlp_http_receiver.h"
#include "tests/support/otlp_receiver.h"

namespace sonde::test {

// A port with nothing listening on it: bound, then closed.
inline int ClosedPort() {
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

// Either receiver, with the operations the protocol-independent tests need.
class AnyReceiver {
 public:
  virtual ~AnyReceiver() = default;
  virtual OtlpProtocol protocol() const = 0;
  virtual int port() const = 0;
  virtual std::vector<testing::ReceivedSpan> Spans() const = 0;
  virtual std::vector<testing::ReceivedMetricPoint> MetricPoints() const = 0;
  virtual bool WaitForSpans(size_t n, std::chrono::milliseconds timeout) const = 0;
  virtual bool WaitForMetricRequests(size_t n, std::chrono::milliseconds timeout) const = 0;
  // Export calls of any outcome (traces and metrics).
  virtual size_t Calls() const = 0;
  // The next `n` answers are "unavailable" (gRPC UNAVAILABLE / HTTP 503), or slow.
  virtual void FailNext(int n) = 0;
  virtual void SlowNext(int n, std::chrono::milliseconds delay) = 0;
  virtual void Stop() = 0;
  virtual void Start() = 0;

  // Exporter options pointing at this receiver (traces or metrics).
  OtlpExporterOptions Options(OtlpSignal signal) const {
    OtlpExporterOptions o;
    o.protocol = protocol();
    const std::string base = "http://127.0.0.1:" + std::to_string(port());
    o.endpoint = protocol() == OtlpProtocol::kGrpc ? base
                                                   : base + (signal == OtlpSignal::kTraces ? "/v1/traces" : "/v1/metrics");
    o.timeout = std::chrono::milliseconds(3000);
    o.retry.initial_backoff = std::chrono::milliseconds(50);
    o.retry.max_backoff = std::chrono::milliseconds(500);
    o.retry.max_elapsed = std::chrono::milliseconds(120000);
    return o;
  }
};

class GrpcReceiver : public AnyReceiver {
 public:
  explicit GrpcReceiver(testing::OtlpTestReceiverOptions o = {}) : r(o) {}
  OtlpProtocol protocol() const override { return OtlpProtocol::kGrpc; }
  int port() const override { return r.port(); }
  std::vector<testing::ReceivedSpan> Spans() const override { return r.Spans(); }
  std::vector<testing::ReceivedMetricPoint> MetricPoints() const override { return r.MetricPoints(); }
  bool WaitForSpans(size_t n, std::chrono::milliseconds t) const override { return r.WaitForSpans(n, t); }
  bool WaitForMetricRequests(size_t n, std::chrono::milliseconds t) const override {
    return r.WaitForMetricRequests(n, t);
  }
  size_t Calls() const override { return r.ExportCalls() + r.MetricExportCalls(); }
  void FailNext(int n) override {
    for (int i = 0; i < n; ++i) r.PushReply({14, "unavailable", std::nullopt, std::chrono::milliseconds(0)});
  }
  void SlowNext(int n, std::chrono::milliseconds delay) override {
    for (int i = 0; i < n; ++i) r.PushReply({0, "", std::nullopt, delay});
  }
  void Stop() override { r.Stop(); }
  void Start() override { r.Start(); }
  testing::OtlpTestReceiver r;
};

class HttpReceiver : public AnyReceiver {
 public:
  explicit HttpReceiver(testing::OtlpHttpTestReceiverOptions o = {}) : r(o) {}
  OtlpProtocol protocol() const override { return OtlpProtocol::kHttpProtobuf; }
  int port() const override { return r.port(); }
  std::vector<testing::ReceivedSpan> Spans() const override { return r.Spans(); }
  std::vector<testing::ReceivedMetricPoint> MetricPoints() const override { return r.MetricPoints(); }
  bool WaitForSpans(size_t n, std::chrono::milliseconds t) const override { return r.WaitForSpans(n, t); }
  bool WaitForMetricRequests(size_t n, std::chrono::milliseconds t) const override {
    return r.WaitForMetricRequests(n, t);
  }
  size_t Calls() const override { return r.RequestCount(); }
  void FailNext(int n) override {
    for (int i = 0; i < n; ++i) r.PushReply({503, "", std::chrono::milliseconds(0), ""});
  }
  void SlowNext(int n, std::chrono::milliseconds delay) override {
    for (int i = 0; i < n; ++i) r.PushReply({200, "", delay, ""});
  }
  void Stop() override { r.Stop(); }
  void Start() override { r.Start(); }
  testing::OtlpHttpTestReceiver r;
};

inline std::unique_ptr<AnyReceiver> MakeReceiver(OtlpProtocol p, int port = 0) {
  if (p == OtlpProtocol::kGrpc) {
    testing::OtlpTestReceiverOptions o;
    o.port = port;
    return std::make_unique<GrpcReceiver>(o);
  }
  testing::OtlpHttpTestReceiverOptions o;
  o.port = port;
  return std::make_unique<HttpReceiver>(o);
}

// A span named "span-<n>" with a unique span id per n (< 2^32).
inline Span Numbered(uint32_t n, std::shared_ptr<const Resource> resource = nullptr) {
  Span s = MakeSpan(1, 1, 0, "span-" + std::to_string(n), SpanKind::kServer, std::move(resource));
  s.span_id = {0x51, 0xde, 0, 0, static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
               static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
  return s;
}

// Received span names -> how many times each arrived.
inline std::map<std::string, int> NameCounts(const std::vector<testing::ReceivedSpan>& spans) {
  std::map<std::string, int> out;
  for (const auto& s : spans) ++out[s.name];
  return out;
}

inline std::string ProtocolName(OtlpProtocol p) { return p == OtlpProtocol::kGrpc ? "grpc" : "http"; }

}  // namespace sonde::test
