#include "exporter/otlp_grpc_exporter.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "exporter/otlp_convert.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

#ifndef SONDE_VERSION
#define SONDE_VERSION "0.0.0"
#endif

namespace sonde {
namespace {

namespace collector = opentelemetry::proto::collector::trace::v1;

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
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

}  // namespace

struct OtlpGrpcExporter::State {
  OtlpGrpcExporterOptions options;
  OtlpScope scope;
  std::string target;
  std::unique_ptr<collector::TraceService::Stub> stub;
  bool shut_down = false;
  // Failures are logged when they start and when they stop, not once per
  // batch: a collector that is down for an hour must not flood the log.
  uint64_t consecutive_failures = 0;
};

OtlpGrpcExporter::OtlpGrpcExporter(OtlpGrpcExporterOptions options)
    : state_(std::make_unique<State>()) {
  State& st = *state_;
  st.scope.version = options.scope_version.empty() ? SONDE_VERSION : options.scope_version;
  for (auto it = options.headers.begin(); it != options.headers.end();) {
    if (!IsLegalMetadataKey(it->first) || !IsLegalMetadataValue(it->first, it->second)) {
      spdlog::warn("otlp: ignoring header '{}': not valid as gRPC metadata", it->first);
      it = options.headers.erase(it);
    } else {
      ++it;
    }
  }
  st.options = std::move(options);

  auto parsed = ParseOtlpGrpcEndpoint(st.options.endpoint, st.options.insecure);
  if (!parsed) {
    spdlog::error("otlp: invalid endpoint '{}'; spans will not be exported", st.options.endpoint);
    return;
  }
  st.target = parsed->target;
  std::shared_ptr<grpc::ChannelCredentials> creds =
      parsed->use_tls ? grpc::SslCredentials(grpc::SslCredentialsOptions())
                      : grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  args.SetUserAgentPrefix(std::string("sonde/") + SONDE_VERSION);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  auto channel = grpc::CreateCustomChannel(st.target, creds, args);
  st.stub = collector::TraceService::NewStub(channel);
  spdlog::info("otlp: exporting traces to {} ({})", st.target, parsed->use_tls ? "tls" : "plaintext");
}

OtlpGrpcExporter::~OtlpGrpcExporter() = default;

const std::string& OtlpGrpcExporter::target() const { return state_->target; }

bool OtlpGrpcExporter::Export(const std::vector<Span>& batch) {
  State& st = *state_;
  if (!st.stub || st.shut_down) return false;
  if (batch.empty()) return true;

  collector::ExportTraceServiceRequest request;
  ToOtlpRequest(batch, st.scope, &request);

  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + st.options.timeout);
  for (const auto& [k, v] : st.options.headers) ctx.AddMetadata(k, v);
  collector::ExportTraceServiceResponse response;
  grpc::Status status = st.stub->Export(&ctx, request, &response);

  if (!status.ok()) {
    if (st.consecutive_failures++ == 0) {
      spdlog::warn("otlp: export of {} spans to {} failed: {} ({}); further failures are logged at debug level",
                   batch.size(), st.target, status.error_message(), static_cast<int>(status.error_code()));
    } else {
      spdlog::debug("otlp: export of {} spans to {} failed: {} ({}), {} in a row", batch.size(), st.target,
                    status.error_message(), static_cast<int>(status.error_code()), st.consecutive_failures);
    }
    return false;
  }
  if (st.consecutive_failures > 0) {
    spdlog::info("otlp: export to {} recovered after {} failed batches", st.target, st.consecutive_failures);
    st.consecutive_failures = 0;
  }
  // Partial success: the collector took the request but refused some spans.
  // Retrying would not help, so it counts as delivered; it is worth a log line.
  if (response.has_partial_success() && (response.partial_success().rejected_spans() > 0 ||
                                         !response.partial_success().error_message().empty())) {
    spdlog::warn("otlp: collector rejected {} of {} spans: {}", response.partial_success().rejected_spans(),
                 batch.size(), response.partial_success().error_message());
  }
  return true;
}

void OtlpGrpcExporter::Shutdown() {
  state_->shut_down = true;
  state_->stub.reset();
}

}  // namespace sonde
