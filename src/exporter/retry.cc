#include "exporter/retry.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace sonde {
namespace {

using std::chrono::milliseconds;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// An HTTP-date (RFC 9110 5.6.7) as seconds since the epoch.
std::optional<time_t> ParseHttpDate(std::string_view value) {
  std::string s(value);
  static const char* const kFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
      "%A, %d-%b-%y %H:%M:%S GMT",  // obsolete RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
      "%a %b %e %H:%M:%S %Y",       // asctime: Sun Nov  6 08:49:37 1994
  };
  for (const char* fmt : kFormats) {
    struct tm tm = {};
    const char* end = strptime(s.c_str(), fmt, &tm);
    if (end && *end == '\0') return timegm(&tm);
  }
  return std::nullopt;
}

}  // namespace

bool IsRetryableGrpcCode(int code, bool has_retry_info) {
  switch (code) {
    case 1:   // CANCELLED
    case 4:   // DEADLINE_EXCEEDED
    case 10:  // ABORTED
    case 11:  // OUT_OF_RANGE
    case 14:  // UNAVAILABLE
    case 15:  // DATA_LOSS
      return true;
    case 8:  // RESOURCE_EXHAUSTED: only when the server says it will recover
      return has_retry_info;
    default:
      return false;
  }
}

bool IsRetryableHttpStatus(long status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

std::optional<milliseconds> ParseRetryAfter(std::string_view value, std::chrono::system_clock::time_point now) {
  value = Trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return milliseconds(999999999LL * 1000);  // absurdly long: the budget decides
    return milliseconds(std::stoll(std::string(value)) * 1000);
  }
  std::optional<time_t> at = ParseHttpDate(value);
  if (!at) return std::nullopt;
  auto when = std::chrono::system_clock::from_time_t(*at);
  if (when <= now) return milliseconds(0);
  return std::chrono::duration_cast<milliseconds>(when - now);
}

std::optional<milliseconds> RetryInfoDelay(const std::string& serialized_status) {
  if (serialized_status.empty()) return std::nullopt;
  google::rpc::Status status;
  if (!status.ParseFromString(serialized_status)) return std::nullopt;
  for (const auto& any : status.details()) {
    // Any.Is<> would compare against the generated descriptor; comparing the
    // type name keeps this independent of how the detail was packed.
    std::string_view url = any.type_url();
    size_t slash = url.rfind('/');
    if (url.substr(slash == std::string_view::npos ? 0 : slash + 1) != "google.rpc.RetryInfo") continue;
    google::rpc::RetryInfo info;
    if (!info.ParseFromString(any.value())) continue;
    int64_t ms = info.retry_delay().seconds() * 1000 + info.retry_delay().nanos() / 1000000;
    return milliseconds(std::max<int64_t>(ms, 0));
  }
  return std::nullopt;
}

Backoff::Backoff(const RetryOptions& options, uint64_t seed) : options_(options), rng_(seed) {}

milliseconds Backoff::Next() {
  double base = static_cast<double>(options_.initial_backoff.count()) *
                std::pow(std::max(options_.multiplier, 1.0), attempt_);
  base = std::min(base, static_cast<double>(options_.max_backoff.count()));
  if (attempt_ < 64) ++attempt_;
  double j = std::clamp(options_.jitter, 0.0, 1.0);
  std::uniform_real_distribution<double> factor(1.0 - j, 1.0 + j);
  return milliseconds(static_cast<int64_t>(std::llround(base * factor(rng_))));
}

void AbortSignal::Abort() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    aborted_ = true;
  }
  cv_.notify_all();
}

bool AbortSignal::aborted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return aborted_;
}

bool AbortSignal::SleepFor(milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [&] { return aborted_; });
}

}  // namespace sonde
