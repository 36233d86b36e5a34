// The standard OpenTelemetry exporter environment variables, interpreted for
// sonde. A pure function of the variables it is given (the agent passes its
// environment): nothing is read here but the certificate files' existence.
//
// Per signal (traces, metrics), the signal-specific variable wins over the
// generic one, e.g. OTEL_EXPORTER_OTLP_TRACES_TIMEOUT over
// OTEL_EXPORTER_OTLP_TIMEOUT:
//   OTEL_EXPORTER_OTLP[_SIGNAL]_ENDPOINT     see below
//   OTEL_EXPORTER_OTLP[_SIGNAL]_PROTOCOL     grpc (sonde's default) | http/protobuf
//   OTEL_EXPORTER_OTLP[_SIGNAL]_HEADERS      k=v,k2=v2 (percent-decoded)
//   OTEL_EXPORTER_OTLP[_SIGNAL]_TIMEOUT      ms per attempt (default 10000)
//   OTEL_EXPORTER_OTLP[_SIGNAL]_COMPRESSION  gzip | none (default none)
//   OTEL_EXPORTER_OTLP[_SIGNAL]_INSECURE     true | false: plaintext for a scheme-less gRPC endpoint
//   OTEL_EXPORTER_OTLP[_SIGNAL]_CERTIFICATE  CA bundle (PEM) to verify the collector
//   OTEL_EXPORTER_OTLP[_SIGNAL]_CLIENT_KEY, _CLIENT_CERTIFICATE   mTLS key pair (PEM), both or neither
// Endpoint: for http/protobuf the generic endpoint is a base URL that gets
// /v1/traces or /v1/metrics appended, while a signal-specific one is used as
// is; for grpc any path is ignored. Defaults: grpc http://localhost:4317,
// http/protobuf http://localhost:4318/v1/{traces,metrics}.
//
// Also:
//   OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES   sonde's own resource (self-metrics)
//   OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT (ms),
//   OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE   the span pipeline
//   OTEL_METRIC_EXPORT_INTERVAL, OTEL_METRIC_EXPORT_TIMEOUT (ms)   periodic metric export
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "exporter/export_pipeline.h"
#include "exporter/otlp_options.h"
#include "spans/span.h"

namespace sonde {

struct OtelEnvOptions {
  OtlpExporterOptions traces;
  OtlpExporterOptions metrics;
  // Whether an endpoint for the signal was configured (generic or specific):
  // the agent exports that signal over OTLP only then.
  bool traces_endpoint_set = false;
  bool metrics_endpoint_set = false;
  ExportPipelineOptions batch;
  std::chrono::milliseconds metric_export_interval{60000};
  std::chrono::milliseconds metric_export_timeout{30000};
  // sonde's own resource: service.name (OTEL_SERVICE_NAME, else service.name
  // from OTEL_RESOURCE_ATTRIBUTES, else "sonde"), the other
  // OTEL_RESOURCE_ATTRIBUTES members, telemetry.sdk.{name,language,version}.
  Attributes self_resource_attributes;
};

// Fills *out from `env`. Returns "" on success, else an error naming the
// variable and the bad value, e.g.
//   "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' is not supported (grpc or http/protobuf)".
std::string ParseOtelEnvironment(const std::map<std::string, std::string>& env, OtelEnvOptions* out);

// sonde's resource: the parsed attributes plus host.name and process.pid.
std::shared_ptr<const Resource> MakeSelfResource(const OtelEnvOptions& options, const std::string& host_name,
                                                 int64_t pid);

}  // namespace sonde
