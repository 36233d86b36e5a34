#include "tests/support/otlp_receiver.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "opentelemetry/proto/collector/metrics/v1/metrics_service.grpc.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

namespace sonde::testing {
namespace {

namespace trace_collector = opentelemetry::proto::collector::trace::v1;
namespace metrics_collector = opentelemetry::proto::collector::metrics::v1;

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("OtlpTestReceiver: cannot read " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::multimap<std::string, std::string> MetadataOf(grpc::ServerContext* ctx) {
  std::multimap<std::string, std::string> md;
  for (const auto& [k, v] : ctx->client_metadata())
    md.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  return md;
}

grpc::Status ErrorStatus(const GrpcReply& reply) {
  if (!reply.retry_info) return grpc::Status(static_cast<grpc::StatusCode>(reply.code), reply.message);
  google::rpc::RetryInfo info;
  info.mutable_retry_delay()->set_seconds(reply.retry_info->count() / 1000);
  info.mutable_retry_delay()->set_nanos(static_cast<int32_t>(reply.retry_info->count() % 1000) * 1000000);
  google::rpc::Status st;
  st.set_code(reply.code);
  st.set_message(reply.message);
  auto* any = st.add_details();
  any->set_type_url("type.googleapis.com/google.rpc.RetryInfo");
  any->set_value(info.SerializeAsString());
  return grpc::Status(static_cast<grpc::StatusCode>(reply.code), reply.message, st.SerializeAsString());
}

}  // namespace

struct OtlpTestReceiver::Impl {
  OtlpTestReceiverOptions options;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::vector<ReceivedSpan> spans;
  std::vector<trace_collector::ExportTraceServiceRequest> requests;
  std::vector<std::multimap<std::string, std::string>> metadata;
  size_t export_calls = 0;
  std::vector<ReceivedMetricPoint> points;
  std::vector<metrics_collector::ExportMetricsServiceRequest> metric_requests;
  std::vector<std::multimap<std::string, std::string>> metric_metadata;
  size_t metric_calls = 0;

  int status_code = 0;
  std::string status_message;
  std::chrono::milliseconds delay{0};
  int64_t rejected = 0;
  std::string partial_message;
  std::deque<GrpcReply> scripted;
  bool shutting_down = false;

  std::unique_ptr<grpc::Server> server;
  int port = 0;

  // The reply for the next call, with mu held.
  GrpcReply NextReply() {
    if (!scripted.empty()) {
      GrpcReply r = scripted.front();
      scripted.pop_front();
      return r;
    }
    GrpcReply r;
    r.code = status_code;
    r.message = status_message;
    r.delay = delay;
    return r;
  }

  // Runs the common part of both Export methods: reply selection, delay,
  // bookkeeping. `keep` stores the request when the answer is OK.
  template <typename Keep>
  grpc::Status Handle(grpc::ServerContext* ctx, size_t* calls, std::vector<std::multimap<std::string, std::string>>* md,
                      Keep keep) {
    GrpcReply reply;
    {
      std::unique_lock<std::mutex> lock(mu);
      reply = NextReply();
      // Interruptible, so that stopping the receiver does not wait out the delay.
      if (reply.delay.count() > 0) cv.wait_for(lock, reply.delay, [&] { return shutting_down; });
    }
    auto client_md = MetadataOf(ctx);
    std::lock_guard<std::mutex> lock(mu);
    size_t index = (*calls)++;
    md->push_back(std::move(client_md));
    cv.notify_all();
    if (reply.code != 0) return ErrorStatus(reply);
    // The caller gave up while we slept: like a collector whose answer is
    // lost, but this one also forgets the data, so tests can count exactly.
    if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "caller gave up");
    keep(index);
    return grpc::Status::OK;
  }

  struct TraceService final : trace_collector::TraceService::Service {
    Impl* impl;
    explicit TraceService(Impl* i) : impl(i) {}
    grpc::Status Export(grpc::ServerContext* ctx, const trace_collector::ExportTraceServiceRequest* req,
                        trace_collector::ExportTraceServiceResponse* resp) override {
      return impl->Handle(ctx, &impl->export_calls, &impl->metadata, [&](size_t index) {
        impl->requests.push_back(*req);
        FlattenTraces(*req, index, &impl->spans);
        if (impl->rejected > 0 || !impl->partial_message.empty()) {
          resp->mutable_partial_success()->set_rejected_spans(impl->rejected);
          resp->mutable_partial_success()->set_error_message(impl->partial_message);
        }
      });
    }
  } trace_service{this};

  struct MetricsService final : metrics_collector::MetricsService::Service {
    Impl* impl;
    explicit MetricsService(Impl* i) : impl(i) {}
    grpc::Status Export(grpc::ServerContext* ctx, const metrics_collector::ExportMetricsServiceRequest* req,
                        metrics_collector::ExportMetricsServiceResponse* resp) override {
      return impl->Handle(ctx, &impl->metric_calls, &impl->metric_metadata, [&](size_t index) {
        impl->metric_requests.push_back(*req);
        FlattenMetrics(*req, index, &impl->points);
        if (impl->rejected > 0 || !impl->partial_message.empty()) {
          resp->mutable_partial_success()->set_rejected_data_points(impl->rejected);
          resp->mutable_partial_success()->set_error_message(impl->partial_message);
        }
      });
    }
  } metrics_service{this};

  void StartServer() {
    std::shared_ptr<grpc::ServerCredentials> creds;
    if (options.tls) {
      grpc::SslServerCredentialsOptions ssl(
          options.tls->client_ca_file.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
      ssl.pem_key_cert_pairs.push_back(
          {ReadFile(options.tls->server_key_file), ReadFile(options.tls->server_cert_file)});
      if (!options.tls->client_ca_file.empty()) ssl.pem_root_certs = ReadFile(options.tls->client_ca_file);
      creds = grpc::SslServerCredentials(ssl);
    } else {
      creds = grpc::InsecureServerCredentials();
    }
    grpc::ServerBuilder builder;
    int bound = 0;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port), creds, &bound);
    builder.RegisterService(&trace_service);
    builder.RegisterService(&metrics_service);
    {
      std::lock_guard<std::mutex> lock(mu);
      shutting_down = false;
    }
    server = builder.BuildAndStart();
    if (!server || bound == 0) throw std::runtime_error("OtlpTestReceiver: cannot start gRPC server");
    port = bound;
  }

  void StopServer() {
    if (!server) return;
    {
      std::lock_guard<std::mutex> lock(mu);
      shutting_down = true;
    }
    cv.notify_all();
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    server->Wait();
    server.reset();
  }
};

OtlpTestReceiver::OtlpTestReceiver() : OtlpTestReceiver(OtlpTestReceiverOptions{}) {}

OtlpTestReceiver::OtlpTestReceiver(OtlpTestReceiverOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->port = impl_->options.port;
  impl_->StartServer();
}

OtlpTestReceiver::~OtlpTestReceiver() { impl_->StopServer(); }

int OtlpTestReceiver::port() const { return impl_->port; }

std::string OtlpTestReceiver::endpoint() const { return "127.0.0.1:" + std::to_string(impl_->port); }

void OtlpTestReceiver::Stop() { impl_->StopServer(); }

void OtlpTestReceiver::Start() {
  if (!impl_->server) impl_->StartServer();
}

bool OtlpTestReceiver::running() const { return impl_->server != nullptr; }

std::vector<ReceivedSpan> OtlpTestReceiver::Spans() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->spans;
}

bool OtlpTestReceiver::WaitForSpans(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->spans.size() >= n; });
}

bool OtlpTestReceiver::WaitForExportCalls(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->export_calls >= n; });
}

void OtlpTestReceiver::Clear() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->spans.clear();
  impl_->requests.clear();
  impl_->metadata.clear();
  impl_->export_calls = 0;
  impl_->points.clear();
  impl_->metric_requests.clear();
  impl_->metric_metadata.clear();
  impl_->metric_calls = 0;
}

std::vector<trace_collector::ExportTraceServiceRequest> OtlpTestReceiver::Requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->requests;
}

size_t OtlpTestReceiver::ExportCalls() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->export_calls;
}

std::vector<std::multimap<std::string, std::string>> OtlpTestReceiver::Metadata() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->metadata;
}

std::vector<ReceivedMetricPoint> OtlpTestReceiver::MetricPoints() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->points;
}

std::vector<metrics_collector::ExportMetricsServiceRequest> OtlpTestReceiver::MetricRequests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->metric_requests;
}

size_t OtlpTestReceiver::MetricExportCalls() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->metric_calls;
}

bool OtlpTestReceiver::WaitForMetricRequests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->metric_requests.size() >= n; });
}

std::vector<std::multimap<std::string, std::string>> OtlpTestReceiver::MetricMetadata() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->metric_metadata;
}

void OtlpTestReceiver::SetResponseStatus(int grpc_status_code, std::string message) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->status_code = grpc_status_code;
  impl_->status_message = std::move(message);
}

void OtlpTestReceiver::SetResponseDelay(std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->delay = delay;
}

void OtlpTestReceiver::SetPartialSuccess(int64_t rejected, std::string message) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->rejected = rejected;
  impl_->partial_message = std::move(message);
}

void OtlpTestReceiver::PushReply(GrpcReply reply) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->scripted.push_back(std::move(reply));
}

}  // namespace sonde::testing
