// An in-process OTLP/HTTP receiver for tests: POST /v1/traces and
// /v1/metrics with protobuf bodies (gzip-encoded or not), over plaintext or
// TLS (optionally requiring a client certificate). It records what arrives
// and misbehaves on request: any status with or without Retry-After,
// slowness, partial success, going away and coming back on the same port.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/otlp_received.h"
#include "tests/support/otlp_receiver.h"  // ReceiverTls

namespace sonde::testing {

struct OtlpHttpTestReceiverOptions {
  int port = 0;  // 0: a free port chosen by the kernel
  std::optional<ReceiverTls> tls;
};

// One answer (see SetDefaultReply / PushReply).
struct HttpReply {
  int status = 200;
  std::string retry_after;  // Retry-After header value, when not empty
  std::chrono::milliseconds delay{0};
  std::string body;  // for a non-2xx answer; empty: a google.rpc.Status naming the status
};

struct ReceivedHttpRequest {
  std::string method;
  std::string path;
  std::multimap<std::string, std::string> headers;  // names lowercased
  std::string body;  // decoded (gunzipped when Content-Encoding: gzip)
  size_t wire_size = 0;  // body bytes as received
  bool gzip = false;
  int answered = 0;  // status sent back
};

// All methods are thread-safe.
class OtlpHttpTestReceiver {
 public:
  // Throws std::runtime_error when it cannot listen.
  OtlpHttpTestReceiver();
  explicit OtlpHttpTestReceiver(OtlpHttpTestReceiverOptions options);
  ~OtlpHttpTestReceiver();
  OtlpHttpTestReceiver(const OtlpHttpTestReceiver&) = delete;
  OtlpHttpTestReceiver& operator=(const OtlpHttpTestReceiver&) = delete;

  int port() const;
  // "http://127.0.0.1:PORT" (https with TLS); the generic OTLP endpoint.
  std::string base_url() const;

  // Spans and points of accepted (2xx) requests.
  std::vector<ReceivedSpan> Spans() const;
  std::vector<ReceivedMetricPoint> MetricPoints() const;
  bool WaitForSpans(size_t n, std::chrono::milliseconds timeout) const;
  bool WaitForMetricRequests(size_t n, std::chrono::milliseconds timeout) const;  // accepted ones
  // Every request, whatever the answer.
  std::vector<ReceivedHttpRequest> Requests() const;
  size_t RequestCount() const;
  bool WaitForRequests(size_t n, std::chrono::milliseconds timeout) const;
  void Clear();

  // The answer to every request not covered by a scripted one.
  void SetDefaultReply(HttpReply reply);
  // Scripted answers, consumed one per request, in order.
  void PushReply(HttpReply reply);
  void SetPartialSuccess(int64_t rejected, std::string message);

  // Closes the listening socket and every connection, like a collector that
  // was stopped; Start listens again on the same port.
  void Stop();
  void Start();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// gunzip; false on malformed input.
bool GunzipForTest(const std::string& in, std::string* out);

}  // namespace sonde::testing
