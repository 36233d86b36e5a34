#include "exporter/otlp_grpc_transport.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

#ifndef SONDE_VERSION
#define SONDE_VERSION "0.0.0"
#endif

namespace sonde {
namespace {

namespace trace_collector = opentelemetry::proto::collector::trace::v1;
namespace metrics_collector = opentelemetry::proto::collector::metrics::v1;

// gRPC backs off between reconnect attempts up to 120 s by default. A
// collector that restarts would then lose up to two minutes of spans after it
// is back, so cap the backoff low: a reconnect attempt every few seconds costs
// nothing.
constexpr int kMaxReconnectBackoffMs = 5000;

// A header value gRPC would refuse (it fails the whole call, not the header).
bool IsLegalMetadataValue(const std::string& key, const std::string& value) {
  if (key.size() > 4 && key.compare(key.size() - 4, 4, "-bin") == 0) return true;
  for (unsigned char c : value)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

bool IsLegalMetadataKey(const std::string& key) {
  if (key.empty() || key[0] == ':') return false;  // pseudo-headers are gRPC's own
  for (unsigned char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

SendResult FromStatus(const grpc::Status& status) {
  SendResult r;
  if (status.ok()) {
    r.outcome = SendOutcome::kSuccess;
    return r;
  }
  r.retry_after = RetryInfoDelay(status.error_details());
  const int code = static_cast<int>(status.error_code());
  r.outcome = IsRetryableGrpcCode(code, r.retry_after.has_value()) ? SendOutcome::kRetryable : SendOutcome::kFailed;
  r.error = "gRPC status " + std::to_string(code) + ": " + status.error_message();
  return r;
}

SendResult Aborted() {
  SendResult r;
  r.error = "aborted";
  return r;
}

}  // namespace

struct OtlpGrpcTransport::Stubs {
  std::unique_ptr<trace_collector::TraceService::Stub> traces;
  std::unique_ptr<metrics_collector::MetricsService::Stub> metrics;
};

std::unique_ptr<OtlpGrpcTransport> OtlpGrpcTransport::Create(const OtlpExporterOptions& options,
                                                             std::string* error) {
  auto parsed = ParseOtlpGrpcEndpoint(options.endpoint, options.insecure);
  if (!parsed) {
    *error = "invalid OTLP/gRPC endpoint '" + options.endpoint + "'";
    return nullptr;
  }
  std::unique_ptr<OtlpGrpcTransport> t(new OtlpGrpcTransport());
  t->options_ = options;
  for (auto it = t->options_.headers.begin(); it != t->options_.headers.end();) {
    if (!IsLegalMetadataKey(it->first) || !IsLegalMetadataValue(it->first, it->second)) {
      spdlog::warn("otlp: ignoring header '{}': not valid as gRPC metadata", it->first);
      it = t->options_.headers.erase(it);
    } else {
      ++it;
    }
  }
  t->target_ = parsed->target;
  t->tls_ = parsed->use_tls;

  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (parsed->use_tls) {
    grpc::SslCredentialsOptions ssl;
    const OtlpTlsOptions& tls = options.tls;
    if (!tls.ca_file.empty() && !ReadFileToString(tls.ca_file, &ssl.pem_root_certs)) {
      *error = "cannot read CA certificate file '" + tls.ca_file + "'";
      return nullptr;
    }
    if (!tls.client_key_file.empty() && !ReadFileToString(tls.client_key_file, &ssl.pem_private_key)) {
      *error = "cannot read client key file '" + tls.client_key_file + "'";
      return nullptr;
    }
    if (!tls.client_cert_file.empty() && !ReadFileToString(tls.client_cert_file, &ssl.pem_cert_chain)) {
      *error = "cannot read client certificate file '" + tls.client_cert_file + "'";
      return nullptr;
    }
    creds = grpc::SslCredentials(ssl);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  args.SetUserAgentPrefix(std::string("sonde/") + SONDE_VERSION);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  // The spec leaves retrying to the exporter; gRPC's own retries (service
  // config) would hide RetryInfo and double the attempts.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  if (options.compression == OtlpCompression::kGzip) args.SetCompressionAlgorithm(GRPC_COMPRESS_GZIP);
  t->channel_ = grpc::CreateCustomChannel(t->target_, creds, args);
  t->stubs_ = std::make_unique<Stubs>();
  t->stubs_->traces = trace_collector::TraceService::NewStub(t->channel_);
  t->stubs_->metrics = metrics_collector::MetricsService::NewStub(t->channel_);
  return t;
}

OtlpGrpcTransport::~OtlpGrpcTransport() = default;

std::string OtlpGrpcTransport::Describe() const {
  return target_ + " (grpc, " + (tls_ ? "tls" : "plaintext") +
         (options_.compression == OtlpCompression::kGzip ? ", gzip)" : ")");
}

bool OtlpGrpcTransport::Begin(grpc::ClientContext* ctx) {
  ctx->set_deadline(std::chrono::system_clock::now() + options_.timeout);
  for (const auto& [k, v] : options_.headers) ctx->AddMetadata(k, v);
  std::lock_guard<std::mutex> lock(mu_);
  if (aborted_) return false;
  current_ = ctx;
  return true;
}

void OtlpGrpcTransport::End() {
  std::lock_guard<std::mutex> lock(mu_);
  current_ = nullptr;
}

void OtlpGrpcTransport::Abort() {
  std::lock_guard<std::mutex> lock(mu_);
  aborted_ = true;
  if (current_) current_->TryCancel();
}

SendResult OtlpGrpcTransport::ExportTraces(const trace_collector::ExportTraceServiceRequest& req) {
  grpc::ClientContext ctx;
  if (!Begin(&ctx)) return Aborted();
  trace_collector::ExportTraceServiceResponse resp;
  grpc::Status status = stubs_->traces->Export(&ctx, req, &resp);
  End();
  SendResult r = FromStatus(status);
  if (status.ok() && resp.has_partial_success()) {
    r.rejected = resp.partial_success().rejected_spans();
    r.partial_message = resp.partial_success().error_message();
  }
  return r;
}

SendResult OtlpGrpcTransport::ExportMetrics(const metrics_collector::ExportMetricsServiceRequest& req) {
  grpc::ClientContext ctx;
  if (!Begin(&ctx)) return Aborted();
  metrics_collector::ExportMetricsServiceResponse resp;
  grpc::Status status = stubs_->metrics->Export(&ctx, req, &resp);
  End();
  SendResult r = FromStatus(status);
  if (status.ok() && resp.has_partial_success()) {
    r.rejected = resp.partial_success().rejected_data_points();
    r.partial_message = resp.partial_success().error_message();
  }
  return r;
}

}  // namespace sonde
