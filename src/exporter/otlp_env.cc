#include "exporter/otlp_env.h"

#include <unistd.h>

#include <cctype>

#include "spans/resource.h"

namespace sonde {
namespace {

using Env = std::map<std::string, std::string>;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trimmed(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// A variable's value; empty (after trimming) counts as unset, as the spec asks.
struct Var {
  std::string name;
  std::string value;
  bool set() const { return !value.empty(); }
};

Var Get(const Env& env, const std::string& name) {
  auto it = env.find(name);
  return {name, it == env.end() ? std::string() : Trimmed(it->second)};
}

// OTEL_EXPORTER_OTLP_<SIGNAL>_<what> if set, else OTEL_EXPORTER_OTLP_<what>.
Var SignalVar(const Env& env, const char* signal_upper, const char* what) {
  Var specific = Get(env, std::string("OTEL_EXPORTER_OTLP_") + signal_upper + "_" + what);
  if (specific.set()) return specific;
  return Get(env, std::string("OTEL_EXPORTER_OTLP_") + what);
}

std::string Bad(const Var& v, const std::string& why) { return v.name + ": '" + v.value + "' " + why; }

// A positive integer (milliseconds or a count) up to `max`.
std::string ParsePositive(const Var& v, uint64_t max, uint64_t* out) {
  if (!v.set()) return {};
  if (v.value.size() > 10) return Bad(v, "is out of range");
  for (char c : v.value)
    if (c < '0' || c > '9') return Bad(v, "is not a whole number");
  uint64_t n = std::stoull(v.value);
  if (n == 0) return Bad(v, "must be greater than 0");
  if (n > max) return Bad(v, "is out of range (at most " + std::to_string(max) + ")");
  *out = n;
  return {};
}

std::string ParseMillis(const Var& v, std::chrono::milliseconds* out) {
  uint64_t n = 0;
  std::string err = ParsePositive(v, 24ULL * 3600 * 1000, &n);
  if (err.empty() && v.set()) *out = std::chrono::milliseconds(n);
  return err;
}

std::string ParseBool(const Var& v, bool* out) {
  if (!v.set()) return {};
  std::string l = Lower(v.value);
  if (l == "true") {
    *out = true;
  } else if (l == "false") {
    *out = false;
  } else {
    return Bad(v, "is not true or false");
  }
  return {};
}

std::string CheckReadable(const Var& v) {
  if (!v.set()) return {};
  if (access(v.value.c_str(), R_OK) != 0) return Bad(v, "cannot be read");
  return {};
}

std::string ParseSignal(const Env& env, OtlpSignal signal, OtlpExporterOptions* o, bool* endpoint_set) {
  const char* upper = signal == OtlpSignal::kTraces ? "TRACES" : "METRICS";
  const char* path = signal == OtlpSignal::kTraces ? "v1/traces" : "v1/metrics";
  std::string err;

  Var protocol = SignalVar(env, upper, "PROTOCOL");
  if (protocol.set()) {
    std::string p = Lower(protocol.value);
    if (p == "grpc") {
      o->protocol = OtlpProtocol::kGrpc;
    } else if (p == "http/protobuf") {
      o->protocol = OtlpProtocol::kHttpProtobuf;
    } else {
      return Bad(protocol, "is not supported (grpc or http/protobuf)");
    }
  }

  if (!(err = ParseBool(SignalVar(env, upper, "INSECURE"), &o->insecure)).empty()) return err;

  Var specific = Get(env, std::string("OTEL_EXPORTER_OTLP_") + upper + "_ENDPOINT");
  Var generic = Get(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
  *endpoint_set = specific.set() || generic.set();
  const Var& ep = specific.set() ? specific : generic;
  if (o->protocol == OtlpProtocol::kGrpc) {
    o->endpoint = ep.set() ? ep.value : "http://localhost:4317";
    if (!ParseOtlpGrpcEndpoint(o->endpoint, o->insecure))
      return Bad(ep, "is not a gRPC endpoint (http://host:port, https://host:port or host:port)");
  } else {
    if (specific.set())
      o->endpoint = specific.value;
    else
      o->endpoint = AppendSignalPath(generic.set() ? generic.value : "http://localhost:4318", path);
    if (!ParseOtlpHttpEndpoint(o->endpoint))
      return Bad(ep, "is not an OTLP/HTTP endpoint (an http:// or https:// URL)");
  }

  Var headers = SignalVar(env, upper, "HEADERS");
  std::vector<std::string> bad;
  o->headers = ParseOtlpHeaders(headers.value, &bad);
  if (!bad.empty()) return headers.name + ": '" + bad.front() + "' is not key=value";

  if (!(err = ParseMillis(SignalVar(env, upper, "TIMEOUT"), &o->timeout)).empty()) return err;

  Var compression = SignalVar(env, upper, "COMPRESSION");
  if (compression.set()) {
    std::string c = Lower(compression.value);
    if (c == "gzip") {
      o->compression = OtlpCompression::kGzip;
    } else if (c == "none") {
      o->compression = OtlpCompression::kNone;
    } else {
      return Bad(compression, "is not supported (gzip or none)");
    }
  }

  Var ca = SignalVar(env, upper, "CERTIFICATE");
  Var key = SignalVar(env, upper, "CLIENT_KEY");
  Var cert = SignalVar(env, upper, "CLIENT_CERTIFICATE");
  for (const Var* v : {&ca, &key, &cert})
    if (!(err = CheckReadable(*v)).empty()) return err;
  if (key.set() != cert.set()) {
    const Var& missing_for = key.set() ? key : cert;
    return missing_for.name + " is set but " +
           (key.set() ? std::string("OTEL_EXPORTER_OTLP_[") + upper + "_]CLIENT_CERTIFICATE"
                      : std::string("OTEL_EXPORTER_OTLP_[") + upper + "_]CLIENT_KEY") +
           " is not: mTLS needs both";
  }
  o->tls.ca_file = ca.value;
  o->tls.client_key_file = key.value;
  o->tls.client_cert_file = cert.value;
  return {};
}

}  // namespace

const char* ToString(OtlpProtocol p) { return p == OtlpProtocol::kGrpc ? "grpc" : "http/protobuf"; }
const char* ToString(OtlpSignal s) { return s == OtlpSignal::kTraces ? "traces" : "metrics"; }

std::string ParseOtelEnvironment(const Env& env, OtelEnvOptions* out) {
  std::string err;
  if (!(err = ParseSignal(env, OtlpSignal::kTraces, &out->traces, &out->traces_endpoint_set)).empty()) return err;
  if (!(err = ParseSignal(env, OtlpSignal::kMetrics, &out->metrics, &out->metrics_endpoint_set)).empty())
    return err;

  ExportPipelineOptions& b = out->batch;
  if (!(err = ParseMillis(Get(env, "OTEL_BSP_SCHEDULE_DELAY"), &b.schedule_delay)).empty()) return err;
  if (!(err = ParseMillis(Get(env, "OTEL_BSP_EXPORT_TIMEOUT"), &b.export_timeout)).empty()) return err;
  uint64_t n = 0;
  Var queue = Get(env, "OTEL_BSP_MAX_QUEUE_SIZE");
  if (!(err = ParsePositive(queue, 1u << 24, &n)).empty()) return err;
  if (queue.set()) b.max_queue_size = n;
  Var batch = Get(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
  if (!(err = ParsePositive(batch, 1u << 24, &n)).empty()) return err;
  if (batch.set()) b.max_export_batch_size = n;
  if (b.max_export_batch_size > b.max_queue_size) {
    if (batch.set())
      return Bad(batch, "is larger than the queue size (" + std::to_string(b.max_queue_size) +
                            ", OTEL_BSP_MAX_QUEUE_SIZE)");
    b.max_export_batch_size = b.max_queue_size;  // only the queue was made smaller than the default batch
  }

  if (!(err = ParseMillis(Get(env, "OTEL_METRIC_EXPORT_INTERVAL"), &out->metric_export_interval)).empty())
    return err;
  if (!(err = ParseMillis(Get(env, "OTEL_METRIC_EXPORT_TIMEOUT"), &out->metric_export_timeout)).empty())
    return err;

  Var resource = Get(env, "OTEL_RESOURCE_ATTRIBUTES");
  Attributes attrs = ParseOtelResourceAttributes(resource.value);
  if (resource.set() && attrs.empty())
    return Bad(resource, "is not a list of key=value pairs (percent-encoded values)");
  Var service = Get(env, "OTEL_SERVICE_NAME");
  std::string service_name = "sonde";
  if (const AttrValue* v = FindAttr(attrs, "service.name"))
    if (const auto* s = std::get_if<std::string>(v)) service_name = *s;
  if (service.set()) service_name = service.value;
  Attributes& self = out->self_resource_attributes;
  self.clear();
  self.push_back({"service.name", service_name});
  for (const Attribute& a : attrs)
    if (a.key != "service.name") self.push_back(a);
  self.push_back({"telemetry.sdk.name", std::string(kTelemetrySdkName)});
  self.push_back({"telemetry.sdk.language", std::string("cpp")});
  self.push_back({"telemetry.sdk.version", std::string(kTelemetrySdkVersion)});
  return {};
}

std::shared_ptr<const Resource> MakeSelfResource(const OtelEnvOptions& options, const std::string& host_name,
                                                 int64_t pid) {
  auto r = std::make_shared<Resource>();
  r->attributes = options.self_resource_attributes;
  if (!host_name.empty() && !FindAttr(r->attributes, "host.name")) r->attributes.push_back({"host.name", host_name});
  if (pid > 0 && !FindAttr(r->attributes, "process.pid")) r->attributes.push_back({"process.pid", pid});
  return r;
}

}  // namespace sonde
