// OTLP over gRPC: TraceService/Export and MetricsService/Export.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "exporter/otlp_transport.h"

namespace grpc {
class Channel;
class ClientContext;
}  // namespace grpc

namespace sonde {

class OtlpGrpcTransport final : public OtlpTransport {
 public:
  // Returns nullptr (and *error) for an endpoint that does not parse or an
  // unreadable certificate file.
  static std::unique_ptr<OtlpGrpcTransport> Create(const OtlpExporterOptions& options, std::string* error);
  ~OtlpGrpcTransport() override;

  SendResult ExportTraces(const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& req) override;
  SendResult ExportMetrics(
      const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& req) override;
  void Abort() override;
  std::string Describe() const override;

  const std::string& target() const { return target_; }

 private:
  OtlpGrpcTransport() = default;
  // Sets deadline, headers and compression; registers the context for Abort.
  bool Begin(grpc::ClientContext* ctx);
  void End();

  OtlpExporterOptions options_;
  std::string target_;
  bool tls_ = false;
  std::shared_ptr<grpc::Channel> channel_;
  struct Stubs;
  std::unique_ptr<Stubs> stubs_;

  std::mutex mu_;  // guards current_ and aborted_
  grpc::ClientContext* current_ = nullptr;
  bool aborted_ = false;
};

}  // namespace sonde
