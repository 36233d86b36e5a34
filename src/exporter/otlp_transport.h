// One OTLP destination (endpoint, credentials, headers, compression) and how
// to send one request there once: no retrying here (see otlp_exporter.h).
// Two implementations: OTLP/gRPC and OTLP/HTTP with protobuf bodies.
#pragma once

#include <memory>
#include <string>

#include "exporter/otlp_options.h"
#include "exporter/retry.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace sonde {

// Not thread-safe except for Abort: one caller at a time (the exporter
// thread, or the periodic metric exporter's).
class OtlpTransport {
 public:
  virtual ~OtlpTransport();
  virtual SendResult ExportTraces(const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& req) = 0;
  virtual SendResult ExportMetrics(
      const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& req) = 0;
  // From any thread: cancels the request in flight, if any, and makes later
  // ones fail at once. Used when a shutdown deadline passes.
  virtual void Abort() = 0;
  // Where requests go, for logs: "host:port (grpc, tls)".
  virtual std::string Describe() const = 0;
};

// Builds the transport `options` ask for; on a bad setting (an endpoint that
// does not parse, an unreadable certificate) returns nullptr and sets *error.
// `signal` picks nothing but the log wording: the http/protobuf endpoint
// already holds the signal's path.
std::unique_ptr<OtlpTransport> MakeOtlpTransport(const OtlpExporterOptions& options, OtlpSignal signal,
                                                 std::string* error);

// Reads a whole (PEM) file; false when it cannot.
bool ReadFileToString(const std::string& path, std::string* out);

}  // namespace sonde
