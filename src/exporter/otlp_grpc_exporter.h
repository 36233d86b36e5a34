// Exports spans to an OpenTelemetry collector over OTLP/gRPC: an
// OtlpSpanExporter with a gRPC transport, configured the way the agent has
// always configured it. New code can build an OtlpSpanExporter from
// OtlpExporterOptions (either protocol) directly.
#pragma once

#include <chrono>
#include <string>

#include "exporter/otlp_config.h"
#include "exporter/otlp_exporter.h"

namespace sonde {

struct OtlpGrpcExporterOptions {
  // Value of OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT;
  // see ParseOtlpGrpcEndpoint for the accepted forms.
  std::string endpoint = "http://localhost:4317";
  // OTEL_EXPORTER_OTLP_INSECURE, for an endpoint without a scheme. The spec's
  // default is false (TLS), but sonde's usual collector is a node-local one
  // speaking plaintext, so a bare "host:port" means plaintext unless the
  // agent passes the variable through.
  bool insecure = true;
  // Sent as gRPC metadata on every call (OTEL_EXPORTER_OTLP_HEADERS, already
  // parsed by ParseOtlpHeaders).
  OtlpHeaders headers;
  // Deadline of one attempt (OTEL_EXPORTER_OTLP_TIMEOUT, default 10 s).
  std::chrono::milliseconds timeout{10000};
  // Version reported in the instrumentation scope; empty means sonde's own.
  std::string scope_version;
  OtlpCompression compression = OtlpCompression::kNone;
  OtlpTlsOptions tls;
  RetryOptions retry;
};

OtlpExporterOptions ToExporterOptions(const OtlpGrpcExporterOptions& o);

// Export() is synchronous and is meant to run on the exporter thread.
class OtlpGrpcExporter : public OtlpSpanExporter {
 public:
  // An unparsable endpoint is logged; every Export then returns false, so a
  // bad setting shows up as export failures rather than a crash.
  explicit OtlpGrpcExporter(OtlpGrpcExporterOptions options);
  ~OtlpGrpcExporter() override;

  // The "host:port" the channel connects to; empty when the endpoint was invalid.
  const std::string& target() const { return target_; }

 private:
  std::string target_;
};

}  // namespace sonde
