// An in-process OTLP/gRPC receiver for tests (traces and metrics): it stands
// in for an OpenTelemetry collector, records what sonde sends it, and can
// misbehave on request (error codes with or without RetryInfo, slowness,
// partial success, going away and coming back on the same port, TLS/mTLS).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "tests/support/otlp_received.h"

namespace sonde::testing {

struct ReceiverTls {
  std::string server_cert_file;  // PEM
  std::string server_key_file;
  // Non-empty: a client certificate signed by this CA is required (mTLS).
  std::string client_ca_file;
};

struct OtlpTestReceiverOptions {
  int port = 0;  // 0: a free port chosen by the kernel
  std::optional<ReceiverTls> tls;
};

// One scripted answer (see PushReply).
struct GrpcReply {
  int code = 0;  // gRPC status code; 0 = OK
  std::string message;
  // Attach a google.rpc.RetryInfo with this delay to the status details.
  std::optional<std::chrono::milliseconds> retry_info;
  std::chrono::milliseconds delay{0};  // before answering
};

// All methods are thread-safe. The server runs on gRPC's own threads.
class OtlpTestReceiver {
 public:
  // Listens on 127.0.0.1 on a free port chosen by the kernel. Throws
  // std::runtime_error when the server cannot start.
  OtlpTestReceiver();
  explicit OtlpTestReceiver(OtlpTestReceiverOptions options);
  ~OtlpTestReceiver();
  OtlpTestReceiver(const OtlpTestReceiver&) = delete;
  OtlpTestReceiver& operator=(const OtlpTestReceiver&) = delete;

  int port() const;
  std::string endpoint() const;  // "127.0.0.1:PORT"

  std::vector<ReceivedSpan> Spans() const;
  // True once at least n spans have arrived; false on timeout.
  bool WaitForSpans(size_t n, std::chrono::milliseconds timeout) const;
  // Forgets received spans, metrics, requests and metadata (not the configured behaviour).
  void Clear();

  // The raw trace requests that were accepted, in arrival order.
  std::vector<opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest> Requests() const;
  // Trace Export calls, answered with an error or not.
  size_t ExportCalls() const;
  bool WaitForExportCalls(size_t n, std::chrono::milliseconds timeout) const;
  // gRPC metadata (request headers) of each trace Export call, in arrival order.
  std::vector<std::multimap<std::string, std::string>> Metadata() const;

  // Metrics service.
  std::vector<ReceivedMetricPoint> MetricPoints() const;
  std::vector<opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest> MetricRequests() const;
  size_t MetricExportCalls() const;
  bool WaitForMetricRequests(size_t n, std::chrono::milliseconds timeout) const;  // accepted ones
  std::vector<std::multimap<std::string, std::string>> MetricMetadata() const;

  // Test knobs for the exporter's error paths.
  // Answer every Export with this gRPC status code (0 = OK) and message;
  // failed requests are still counted in ExportCalls() but their data is not kept.
  void SetResponseStatus(int grpc_status_code, std::string message = {});
  // Sleep this long before answering each Export. A request whose caller
  // gave up (deadline passed) while it slept is answered but not kept.
  void SetResponseDelay(std::chrono::milliseconds delay);
  // Report a partial success (rejected spans / data points) in each successful response.
  void SetPartialSuccess(int64_t rejected, std::string message);
  // Scripted answers, consumed one per Export call (either service) before
  // the settings above apply.
  void PushReply(GrpcReply reply);

  // Shuts the server down: connections are closed and the port refuses new
  // ones, like a collector that was stopped. Start serves again on the same port.
  void Stop();
  void Start();
  bool running() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sonde::testing
