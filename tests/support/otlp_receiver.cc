#include "tests/support/otlp_receiver.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"

namespace sonde::testing {
namespace {

namespace collector = opentelemetry::proto::collector::trace::v1;
namespace common = opentelemetry::proto::common::v1;
namespace trace = opentelemetry::proto::trace::v1;

std::string Hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

std::string TypeName(const common::AnyValue& v) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue: return "string";
    case common::AnyValue::kBoolValue: return "bool";
    case common::AnyValue::kIntValue: return "int";
    case common::AnyValue::kDoubleValue: return "double";
    case common::AnyValue::kArrayValue: return "array";
    case common::AnyValue::kKvlistValue: return "kvlist";
    case common::AnyValue::kBytesValue: return "bytes";
    case common::AnyValue::VALUE_NOT_SET: return "empty";
  }
  return "empty";
}

std::string ToText(const common::AnyValue& v) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue: return v.string_value();
    case common::AnyValue::kBoolValue: return v.bool_value() ? "true" : "false";
    case common::AnyValue::kIntValue: return std::to_string(v.int_value());
    case common::AnyValue::kDoubleValue: return fmt::format("{}", v.double_value());
    case common::AnyValue::kBytesValue: return Hex(v.bytes_value());
    case common::AnyValue::kArrayValue: {
      std::string out = "[";
      for (int i = 0; i < v.array_value().values_size(); ++i) {
        if (i) out += ',';
        out += ToText(v.array_value().values(i));
      }
      return out + "]";
    }
    case common::AnyValue::kKvlistValue: {
      std::string out = "{";
      for (int i = 0; i < v.kvlist_value().values_size(); ++i) {
        if (i) out += ',';
        out += v.kvlist_value().values(i).key() + "=" + ToText(v.kvlist_value().values(i).value());
      }
      return out + "}";
    }
    case common::AnyValue::VALUE_NOT_SET: return "";
  }
  return "";
}

}  // namespace

std::optional<int64_t> ReceivedSpan::IntAttr(const std::string& key) const {
  auto it = int_attributes_.find(key);
  if (it == int_attributes_.end()) return std::nullopt;
  return it->second;
}

std::optional<double> ReceivedSpan::DoubleAttr(const std::string& key) const {
  auto it = double_attributes_.find(key);
  if (it == double_attributes_.end()) return std::nullopt;
  return it->second;
}

std::optional<bool> ReceivedSpan::BoolAttr(const std::string& key) const {
  auto it = bool_attributes_.find(key);
  if (it == bool_attributes_.end()) return std::nullopt;
  return it->second;
}

std::string ReceivedSpan::Attr(const std::string& key) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? std::string() : it->second;
}

struct OtlpTestReceiver::Impl final : collector::TraceService::Service {
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::vector<ReceivedSpan> spans;
  std::vector<collector::ExportTraceServiceRequest> requests;
  std::vector<std::multimap<std::string, std::string>> metadata;
  size_t export_calls = 0;
  int status_code = 0;
  std::string status_message;
  std::chrono::milliseconds delay{0};
  int64_t rejected_spans = 0;
  std::string partial_message;

  bool shutting_down = false;

  std::unique_ptr<grpc::Server> server;
  int port = 0;

  grpc::Status Export(grpc::ServerContext* ctx, const collector::ExportTraceServiceRequest* req,
                      collector::ExportTraceServiceResponse* resp) override {
    {
      // Interruptible, so that destroying the receiver does not wait out the delay.
      std::unique_lock<std::mutex> lock(mu);
      if (delay.count() > 0) cv.wait_for(lock, delay, [&] { return shutting_down; });
    }

    std::multimap<std::string, std::string> md;
    for (const auto& [k, v] : ctx->client_metadata())
      md.emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));

    std::lock_guard<std::mutex> lock(mu);
    size_t request_index = export_calls++;
    metadata.push_back(std::move(md));
    if (status_code != 0) {
      cv.notify_all();
      return grpc::Status(static_cast<grpc::StatusCode>(status_code), status_message);
    }
    requests.push_back(*req);
    Flatten(*req, request_index);
    if (rejected_spans > 0 || !partial_message.empty()) {
      resp->mutable_partial_success()->set_rejected_spans(rejected_spans);
      resp->mutable_partial_success()->set_error_message(partial_message);
    }
    cv.notify_all();
    return grpc::Status::OK;
  }

  // Called with mu held.
  void Flatten(const collector::ExportTraceServiceRequest& req, size_t request_index) {
    for (int r = 0; r < req.resource_spans_size(); ++r) {
      const trace::ResourceSpans& rs = req.resource_spans(r);
      std::map<std::string, std::string> resource;
      for (const auto& kv : rs.resource().attributes()) resource[kv.key()] = ToText(kv.value());
      for (const trace::ScopeSpans& ss : rs.scope_spans()) {
        for (const trace::Span& s : ss.spans()) {
          ReceivedSpan out;
          out.trace_id = Hex(s.trace_id());
          out.span_id = Hex(s.span_id());
          out.parent_span_id = Hex(s.parent_span_id());
          out.trace_state = s.trace_state();
          out.name = s.name();
          out.kind = static_cast<int>(s.kind());
          out.start_unix_ns = s.start_time_unix_nano();
          out.end_unix_ns = s.end_time_unix_nano();
          out.flags = s.flags();
          out.status_code = static_cast<int>(s.status().code());
          out.status_message = s.status().message();
          for (const auto& kv : s.attributes()) {
            out.attributes[kv.key()] = ToText(kv.value());
            out.attribute_types[kv.key()] = TypeName(kv.value());
            if (kv.value().has_int_value()) out.int_attributes_[kv.key()] = kv.value().int_value();
            if (kv.value().has_double_value()) out.double_attributes_[kv.key()] = kv.value().double_value();
            if (kv.value().has_bool_value()) out.bool_attributes_[kv.key()] = kv.value().bool_value();
          }
          out.resource = resource;
          out.scope_name = ss.scope().name();
          out.scope_version = ss.scope().version();
          out.request_index = request_index;
          out.resource_spans_index = static_cast<size_t>(r);
          spans.push_back(std::move(out));
        }
      }
    }
  }
};

OtlpTestReceiver::OtlpTestReceiver() : impl_(std::make_unique<Impl>()) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &impl_->port);
  builder.RegisterService(impl_.get());
  impl_->server = builder.BuildAndStart();
  if (!impl_->server || impl_->port == 0) throw std::runtime_error("OtlpTestReceiver: cannot start gRPC server");
}

OtlpTestReceiver::~OtlpTestReceiver() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->shutting_down = true;
  }
  impl_->cv.notify_all();
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  impl_->server->Wait();
}

int OtlpTestReceiver::port() const { return impl_->port; }

std::string OtlpTestReceiver::endpoint() const { return "127.0.0.1:" + std::to_string(impl_->port); }

std::vector<ReceivedSpan> OtlpTestReceiver::Spans() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->spans;
}

bool OtlpTestReceiver::WaitForSpans(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->spans.size() >= n; });
}

void OtlpTestReceiver::Clear() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->spans.clear();
  impl_->requests.clear();
  impl_->metadata.clear();
  impl_->export_calls = 0;
}

std::vector<collector::ExportTraceServiceRequest> OtlpTestReceiver::Requests() const {
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

void OtlpTestReceiver::SetResponseStatus(int grpc_status_code, std::string message) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->status_code = grpc_status_code;
  impl_->status_message = std::move(message);
}

void OtlpTestReceiver::SetResponseDelay(std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->delay = delay;
}

void OtlpTestReceiver::SetPartialSuccess(int64_t rejected_spans, std::string message) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->rejected_spans = rejected_spans;
  impl_->partial_message = std::move(message);
}

}  // namespace sonde::testing
