// OTLP over HTTP with protobuf bodies (libcurl): POST the serialized request
// to the signal's URL with Content-Type application/x-protobuf, optionally
// gzip-compressed (Content-Encoding: gzip). The connection is kept alive
// between requests.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "exporter/otlp_transport.h"

namespace sonde {

class OtlpHttpTransport final : public OtlpTransport {
 public:
  // Returns nullptr (and *error) for an endpoint that is not an http(s) URL.
  static std::unique_ptr<OtlpHttpTransport> Create(const OtlpExporterOptions& options, std::string* error);
  ~OtlpHttpTransport() override;

  SendResult ExportTraces(const opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest& req) override;
  SendResult ExportMetrics(
      const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& req) override;
  void Abort() override;
  std::string Describe() const override;

  const std::string& url() const { return url_; }

  // The raw exchange, for ExportTraces/ExportMetrics: sends `body` (already
  // serialized) and fills *response_body on a 2xx answer.
  SendResult Post(const std::string& body, std::string* response_body);

 private:
  OtlpHttpTransport() = default;

  OtlpExporterOptions options_;
  std::string url_;
  bool tls_ = false;
  std::mutex mu_;     // one request at a time on the handle
  void* curl_ = nullptr;  // CURL*
  void* headers_ = nullptr;  // curl_slist*
  std::atomic<bool> aborted_{false};
};

// gzip (RFC 1952) of `in`; false only if zlib fails.
bool GzipCompress(const std::string& in, std::string* out);

}  // namespace sonde
