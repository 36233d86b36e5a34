#include "exporter/otlp_http_transport.h"

#include <curl/curl.h>
#include <zlib.h>

#include <cctype>
#include <mutex>
#include <optional>
#include <string_view>
#include <type_traits>

#include "google/rpc/status.pb.h"

#ifndef SONDE_VERSION
#define SONDE_VERSION "0.0.0"
#endif

namespace sonde {
namespace {

namespace trace_collector = opentelemetry::proto::collector::trace::v1;
namespace metrics_collector = opentelemetry::proto::collector::metrics::v1;

// A collector's answer is a small protobuf; anything bigger is not read.
constexpr size_t kMaxResponseBody = 1 << 20;

struct Exchange {
  std::string body;
  std::string retry_after;
  std::string content_type;
  const std::atomic<bool>* aborted = nullptr;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  size_t len = size * n;
  if (ex->body.size() < kMaxResponseBody) ex->body.append(data, std::min(len, kMaxResponseBody - ex->body.size()));
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* ex = static_cast<Exchange*>(user);
  std::string_view line(data, size * n);
  auto value_of = [&](std::string_view name) -> std::optional<std::string> {
    if (line.size() <= name.size()) return std::nullopt;
    for (size_t i = 0; i < name.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return std::nullopt;
    return std::string(line.substr(name.size()));
  };
  if (auto v = value_of("retry-after:")) ex->retry_after = *v;
  if (auto v = value_of("content-type:")) ex->content_type = *v;
  // A new status line (after a redirect or a 100 Continue) starts a new answer.
  if (line.rfind("HTTP/", 0) == 0) {
    ex->retry_after.clear();
    ex->content_type.clear();
  }
  return size * n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* ex = static_cast<Exchange*>(user);
  return ex->aborted->load(std::memory_order_relaxed) ? 1 : 0;  // non-zero aborts the transfer
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

template <typename Response>
void ReadPartialSuccess(const std::string& body, SendResult* r) {
  Response resp;
  if (body.empty() || !resp.ParseFromString(body) || !resp.has_partial_success()) return;
  if constexpr (std::is_same_v<Response, trace_collector::ExportTraceServiceResponse>)
    r->rejected = resp.partial_success().rejected_spans();
  else
    r->rejected = resp.partial_success().rejected_data_points();
  r->partial_message = resp.partial_success().error_message();
}

}  // namespace

bool GzipCompress(const std::string& in, std::string* out) {
  z_stream zs = {};
  // 15 window bits + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  out->resize(deflateBound(&zs, in.size()) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out->data());
  zs.avail_out = static_cast<uInt>(out->size());
  int rc = deflate(&zs, Z_FINISH);
  out->resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END;
}

std::unique_ptr<OtlpHttpTransport> OtlpHttpTransport::Create(const OtlpExporterOptions& options,
                                                             std::string* error) {
  auto parsed = ParseOtlpHttpEndpoint(options.endpoint);
  if (!parsed) {
    *error = "invalid OTLP/HTTP endpoint '" + options.endpoint + "' (an http:// or https:// URL)";
    return nullptr;
  }
  for (const std::string* f : {&options.tls.ca_file, &options.tls.client_key_file, &options.tls.client_cert_file}) {
    std::string ignored;
    if (!f->empty() && !ReadFileToString(*f, &ignored)) {
      *error = "cannot read '" + *f + "'";
      return nullptr;
    }
  }
  GlobalInit();
  std::unique_ptr<OtlpHttpTransport> t(new OtlpHttpTransport());
  t->options_ = options;
  t->url_ = parsed->url;
  t->tls_ = parsed->use_tls;
  CURL* c = curl_easy_init();
  if (!c) {
    *error = "libcurl initialisation failed";
    return nullptr;
  }
  t->curl_ = c;
  curl_slist* h = nullptr;
  h = curl_slist_append(h, "Content-Type: application/x-protobuf");
  // No "Expect: 100-continue" round trip before larger bodies.
  h = curl_slist_append(h, "Expect:");
  if (options.compression == OtlpCompression::kGzip) h = curl_slist_append(h, "Content-Encoding: gzip");
  for (const auto& [k, v] : options.headers) {
    bool legal = !k.empty();
    for (char ch : k + v)
      if (ch == '\r' || ch == '\n' || ch == '\0') legal = false;
    for (char ch : k)
      if (ch == ':' || std::isspace(static_cast<unsigned char>(ch))) legal = false;
    if (!legal) continue;  // would break the request framing
    // "Name;" sends an empty header; "Name:" would remove it.
    h = curl_slist_append(h, (v.empty() ? k + ";" : k + ": " + v).c_str());
  }
  t->headers_ = h;

  curl_easy_setopt(c, CURLOPT_URL, t->url_.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "sonde/" SONDE_VERSION);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.timeout.count()));
  // The spec asks to follow redirects; a 307/308 keeps the POST and its body.
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_POSTREDIR, static_cast<long>(CURL_REDIR_POST_ALL));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  if (!options.tls.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options.tls.ca_file.c_str());
  if (!options.tls.client_cert_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, options.tls.client_cert_file.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, options.tls.client_key_file.c_str());
  }
  return t;
}

OtlpHttpTransport::~OtlpHttpTransport() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
  if (headers_) curl_slist_free_all(static_cast<curl_slist*>(headers_));
}

std::string OtlpHttpTransport::Describe() const {
  return url_ + " (http/protobuf" + (options_.compression == OtlpCompression::kGzip ? ", gzip)" : ")");
}

void OtlpHttpTransport::Abort() { aborted_.store(true); }

SendResult OtlpHttpTransport::Post(const std::string& body, std::string* response_body) {
  SendResult r;
  if (aborted_.load()) {
    r.error = "aborted";
    return r;
  }
  std::string compressed;
  const std::string* payload = &body;
  if (options_.compression == OtlpCompression::kGzip) {
    if (!GzipCompress(body, &compressed)) {
      r.error = "gzip compression failed";
      return r;
    }
    payload = &compressed;
  }

  std::lock_guard<std::mutex> lock(mu_);
  CURL* c = static_cast<CURL*>(curl_);
  Exchange ex;
  ex.aborted = &aborted_;
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload->data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload->size()));
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &ex);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &ex);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &ex);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    // No answer: refused, reset, timed out, TLS failure. The spec retries
    // transient network errors; a TLS verification failure will not heal by
    // itself, but a collector that is restarting can present any of these.
    r.outcome = aborted_.load() ? SendOutcome::kFailed : SendOutcome::kRetryable;
    r.error = std::string("no answer: ") + curl_easy_strerror(rc);
    if (rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_URL_MALFORMAT ||
        rc == CURLE_UNSUPPORTED_PROTOCOL)
      r.outcome = SendOutcome::kFailed;
    return r;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) {
    r.outcome = SendOutcome::kSuccess;
    *response_body = std::move(ex.body);
    return r;
  }
  r.outcome = IsRetryableHttpStatus(status) ? SendOutcome::kRetryable : SendOutcome::kFailed;
  if (!ex.retry_after.empty()) r.retry_after = ParseRetryAfter(ex.retry_after, std::chrono::system_clock::now());
  r.error = "HTTP " + std::to_string(status);
  // The spec's error body is a google.rpc.Status.
  google::rpc::Status st;
  if (ex.content_type.find("protobuf") != std::string::npos && st.ParseFromString(ex.body) &&
      !st.message().empty())
    r.error += ": " + st.message();
  return r;
}

SendResult OtlpHttpTransport::ExportTraces(const trace_collector::ExportTraceServiceRequest& req) {
  std::string response;
  SendResult r = Post(req.SerializeAsString(), &response);
  if (r.outcome == SendOutcome::kSuccess) ReadPartialSuccess<trace_collector::ExportTraceServiceResponse>(response, &r);
  return r;
}

SendResult OtlpHttpTransport::ExportMetrics(const metrics_collector::ExportMetricsServiceRequest& req) {
  std::string response;
  SendResult r = Post(req.SerializeAsString(), &response);
  if (r.outcome == SendOutcome::kSuccess)
    ReadPartialSuccess<metrics_collector::ExportMetricsServiceResponse>(response, &r);
  return r;
}

}  // namespace sonde
