#include "exporter/otlp_grpc_exporter.h"

namespace sonde {

OtlpExporterOptions ToExporterOptions(const OtlpGrpcExporterOptions& o) {
  OtlpExporterOptions out;
  out.protocol = OtlpProtocol::kGrpc;
  out.endpoint = o.endpoint;
  out.insecure = o.insecure;
  out.headers = o.headers;
  out.timeout = o.timeout;
  out.scope_version = o.scope_version;
  out.compression = o.compression;
  out.tls = o.tls;
  out.retry = o.retry;
  return out;
}

OtlpGrpcExporter::OtlpGrpcExporter(OtlpGrpcExporterOptions options)
    : OtlpSpanExporter(ToExporterOptions(options)) {
  if (auto parsed = ParseOtlpGrpcEndpoint(options.endpoint, options.insecure); parsed && valid())
    target_ = parsed->target;
}

OtlpGrpcExporter::~OtlpGrpcExporter() = default;

}  // namespace sonde
