// Retrying OTLP exports, as the OTLP specification asks:
//  - gRPC: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE
//    and DATA_LOSS are retryable; RESOURCE_EXHAUSTED only when the server
//    sent a google.rpc.RetryInfo (it then says when to come back); every
//    other code is final.
//  - HTTP: 429, 502, 503 and 504 are retryable, and so is a request that got
//    no answer at all (connection refused or reset, timeout); every other
//    status is final.
//  - Between attempts: exponential backoff with jitter; when the server said
//    how long to wait (Retry-After, RetryInfo), at least that long.
//  - Delivery is at-least-once: a request that timed out may have been
//    processed by a collector whose answer came too late, and is sent again.
//
// Retries happen on the exporter thread, inside SpanExporter::Export: the
// hot thread is never involved, it keeps pushing into the bounded queue
// while a batch is being retried (see ExportPipeline for what happens when
// the queue fills).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace sonde {

struct RetryOptions {
  std::chrono::milliseconds initial_backoff{1000};
  // Cap of the computed backoff. Kept low because the usual collector is a
  // node-local one: after it restarts, spans should flow again within seconds.
  std::chrono::milliseconds max_backoff{5000};
  double multiplier = 2.0;
  // Each computed delay is scaled by a random factor in [1 - jitter, 1 + jitter].
  double jitter = 0.2;
  // How long one request keeps being retried before it is given up (its
  // items counted as failed, reason retries_exhausted). Zero disables
  // retrying. A server's Retry-After/RetryInfo longer than what is left of
  // this budget also ends the retrying.
  std::chrono::milliseconds max_elapsed{300000};
};

enum class SendOutcome {
  kSuccess,    // accepted (possibly with a partial success)
  kRetryable,  // worth another attempt
  kFailed,     // final: the data is dropped
};

// What one attempt of one export request came to.
struct SendResult {
  SendOutcome outcome = SendOutcome::kFailed;
  // The server's Retry-After / RetryInfo, when it sent one.
  std::optional<std::chrono::milliseconds> retry_after;
  std::string error;  // for the log: status, message
  // Partial success: items the receiver rejected (spans or data points) and why.
  int64_t rejected = 0;
  std::string partial_message;
};

// gRPC status code -> retryable per the OTLP spec.
bool IsRetryableGrpcCode(int code, bool has_retry_info);
// HTTP status -> retryable per the OTLP spec (429, 502, 503, 504).
bool IsRetryableHttpStatus(long status);

// Retry-After: either delay-seconds ("120") or an HTTP-date ("Wed, 21 Oct
// 2015 07:28:00 GMT", also the obsolete RFC 850 and asctime forms), which is
// turned into a delay from `now` (zero when already past). nullopt when the
// value is neither.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

// The retry_delay of a google.rpc.RetryInfo among the details of a
// serialized google.rpc.Status (grpc::Status::error_details()); nullopt when
// there is none.
std::optional<std::chrono::milliseconds> RetryInfoDelay(const std::string& serialized_status);

// The delays between attempts: initial_backoff * multiplier^n, capped at
// max_backoff, each jittered.
class Backoff {
 public:
  explicit Backoff(const RetryOptions& options, uint64_t seed = std::random_device{}());
  std::chrono::milliseconds Next();
  void Reset() { attempt_ = 0; }

 private:
  RetryOptions options_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

// Lets another thread cut a retry loop short: sleeps end early and the loop
// gives up once Abort was called.
class AbortSignal {
 public:
  void Abort();
  bool aborted() const;
  // Sleeps for `d`; returns false (early) if Abort was or is called.
  bool SleepFor(std::chrono::milliseconds d);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool aborted_ = false;
};

}  // namespace sonde
