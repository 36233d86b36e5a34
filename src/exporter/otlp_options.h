// Settings of one OTLP exporter (one signal: traces or metrics), whatever
// the transport. ParseOtelEnvironment (otlp_env.h) fills them from the
// standard OTEL_* variables.
#pragma once

#include <chrono>
#include <string>

#include "exporter/otlp_config.h"
#include "exporter/retry.h"

namespace sonde {

enum class OtlpProtocol { kGrpc, kHttpProtobuf };
enum class OtlpCompression { kNone, kGzip };
enum class OtlpSignal { kTraces, kMetrics };

const char* ToString(OtlpProtocol p);   // "grpc", "http/protobuf"
const char* ToString(OtlpSignal s);     // "traces", "metrics"

struct OtlpTlsOptions {
  // PEM files. ca_file: the CAs that may sign the collector's certificate,
  // instead of the system's (OTEL_EXPORTER_OTLP_CERTIFICATE). The client pair
  // is for mTLS (OTEL_EXPORTER_OTLP_CLIENT_KEY / _CLIENT_CERTIFICATE).
  std::string ca_file;
  std::string client_key_file;
  std::string client_cert_file;
};

struct OtlpExporterOptions {
  OtlpProtocol protocol = OtlpProtocol::kGrpc;
  // grpc: "http://host:port" (plaintext), "https://host:port" (TLS) or
  // "host:port" (see insecure); see ParseOtlpGrpcEndpoint.
  // http/protobuf: the full URL requests are POSTed to, path included
  // ("http://host:4318/v1/traces").
  std::string endpoint = "http://localhost:4317";
  // grpc only: a scheme-less endpoint is plaintext when true. The spec's
  // default is false (TLS); sonde's usual collector is a node-local one
  // speaking plaintext, hence true.
  bool insecure = true;
  OtlpHeaders headers;  // already parsed (ParseOtlpHeaders)
  std::chrono::milliseconds timeout{10000};  // one attempt
  OtlpCompression compression = OtlpCompression::kNone;
  OtlpTlsOptions tls;
  RetryOptions retry;
  // Version reported in the instrumentation scope; empty means sonde's own.
  std::string scope_version;
};

}  // namespace sonde
