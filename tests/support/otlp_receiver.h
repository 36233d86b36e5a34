// An in-process OTLP/gRPC trace receiver for tests: it stands in for an
// OpenTelemetry collector and records what sonde sends it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace sonde::testing {

// One received span, flattened together with its resource and scope.
struct ReceivedSpan {
  std::string trace_id;        // lowercase hex, 32 chars
  std::string span_id;         // lowercase hex, 16 chars
  std::string parent_span_id;  // lowercase hex, empty for a root span
  std::string trace_state;
  std::string name;
  int kind = 0;  // OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer
  uint64_t start_unix_ns = 0;
  uint64_t end_unix_ns = 0;
  uint32_t flags = 0;
  int status_code = 0;  // 0 unset, 1 ok, 2 error
  std::string status_message;

  // Values as text: strings as-is, ints in decimal, doubles in shortest
  // round-trip form, bools "true"/"false", bytes in hex, arrays as
  // "[a,b]" and kvlists as "{k=v,k2=v2}".
  std::map<std::string, std::string> attributes;
  // Which AnyValue member each attribute used: "string", "bool", "int",
  // "double", "array", "kvlist", "bytes" (or "empty").
  std::map<std::string, std::string> attribute_types;
  std::map<std::string, std::string> resource;  // same text form as attributes
  std::string scope_name;
  std::string scope_version;

  size_t request_index = 0;         // which Export call delivered it (0-based)
  size_t resource_spans_index = 0;  // its ResourceSpans within that request

  // The attribute as int64 when it was sent as an int; nullopt otherwise.
  std::optional<int64_t> IntAttr(const std::string& key) const;
  std::optional<double> DoubleAttr(const std::string& key) const;
  std::optional<bool> BoolAttr(const std::string& key) const;
  // The text form, or "" when absent.
  std::string Attr(const std::string& key) const;

 private:
  friend class OtlpTestReceiver;
  std::map<std::string, int64_t> int_attributes_;
  std::map<std::string, double> double_attributes_;
  std::map<std::string, bool> bool_attributes_;
};

// All methods are thread-safe. The server runs on gRPC's own threads.
class OtlpTestReceiver {
 public:
  // Listens on 127.0.0.1 on a free port chosen by the kernel. Aborts the test
  // binary (via std::runtime_error) when the server cannot start.
  OtlpTestReceiver();
  ~OtlpTestReceiver();
  OtlpTestReceiver(const OtlpTestReceiver&) = delete;
  OtlpTestReceiver& operator=(const OtlpTestReceiver&) = delete;

  int port() const;
  std::string endpoint() const;  // "127.0.0.1:PORT"

  std::vector<ReceivedSpan> Spans() const;
  // True once at least n spans have arrived; false on timeout.
  bool WaitForSpans(size_t n, std::chrono::milliseconds timeout) const;
  // Forgets received spans, requests and metadata (not the configured behaviour).
  void Clear();

  // The raw requests, in arrival order.
  std::vector<opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest> Requests() const;
  size_t ExportCalls() const;
  // gRPC metadata (request headers) of each Export call, in arrival order.
  std::vector<std::multimap<std::string, std::string>> Metadata() const;

  // Test knobs for the exporter's error paths.
  // Answer every Export with this gRPC status code (0 = OK) and message;
  // failed requests are still counted in ExportCalls() but their spans are not kept.
  void SetResponseStatus(int grpc_status_code, std::string message = {});
  // Sleep this long before answering each Export.
  void SetResponseDelay(std::chrono::milliseconds delay);
  // Report a partial success (rejected spans) in each successful response.
  void SetPartialSuccess(int64_t rejected_spans, std::string message);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sonde::testing
