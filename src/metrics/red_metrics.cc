#include "metrics/red_metrics.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <iterator>

namespace sonde {
namespace {

struct MetricDef {
  const char* name;
  const char* description;
  const char* unit;
  double per_second;  // measurement = seconds * per_second
  bool legacy_ms;     // bucket boundaries in milliseconds
};

// Indexed by RedMetrics::MetricId.
constexpr MetricDef kDefs[RedMetrics::kMetricCount] = {
    {"http.server.request.duration", "Duration of HTTP server requests.", "s", 1, false},
    {"http.client.request.duration", "Duration of HTTP client requests.", "s", 1, false},
    {"rpc.server.call.duration", "Measures the duration of an incoming Remote Procedure Call (RPC).", "s", 1, false},
    {"rpc.client.call.duration", "Measures the duration of an outgoing Remote Procedure Call (RPC).", "s", 1, false},
    {"rpc.server.duration", "Measures the duration of inbound RPC.", "ms", 1000, true},
    {"rpc.client.duration", "Measures the duration of outbound RPC.", "ms", 1000, true},
    {"db.client.operation.duration", "Duration of database client operations.", "s", 1, false},
};

// The old experimental RPC metrics gave no bucket advice, so the SDK default
// boundaries (in ms) apply.
const std::vector<double>& LegacyMsBuckets() {
  static const std::vector<double> kBounds = {0,   5,    10,   25,   50,   75,   100, 250,
                                              500, 750, 1000, 2500, 5000, 7500, 10000};
  return kBounds;
}

const std::vector<double>& BoundsFor(RedMetrics::MetricId id) {
  return kDefs[id].legacy_ms ? LegacyMsBuckets() : DurationBucketsSeconds();
}

bool Has(const Attributes& attrs, const char* key) { return FindAttr(attrs, key) != nullptr; }

// The attributes of one measurement, in a list that keeps its strings from
// one span to the next: once warm, building a measurement allocates nothing
// (a new vector of attribute strings per span was a profiled cost).
class AttrList {
 public:
  void Clear() { n_ = 0; }
  size_t size() const { return n_; }
  const Attribute* begin() const { return v_.data(); }
  const Attribute* end() const { return v_.data() + n_; }

  void Push(std::string_view key, const AttrValue& value) { Next(key).value = value; }
  // A string value, written into the returned string (cleared).
  std::string* PushString(std::string_view key) {
    Attribute& a = Next(key);
    if (auto* s = std::get_if<std::string>(&a.value)) {
      s->clear();
      return s;
    }
    a.value = std::string();
    return &std::get<std::string>(a.value);
  }
  void PushText(std::string_view key, std::string_view text) { PushString(key)->assign(text); }

 private:
  Attribute& Next(std::string_view key) {
    if (n_ == v_.size()) v_.emplace_back();
    Attribute& a = v_[n_++];
    a.key.assign(key);
    return a;
  }
  Attributes v_;
  size_t n_ = 0;
};

// Copies attribute `from` of the span, if present, as `to`.
void Copy(const Attributes& span, const char* from, const char* to, AttrList* out) {
  if (const AttrValue* v = FindAttr(span, from)) out->Push(to, *v);
}
void Copy(const Attributes& span, const char* key, AttrList* out) { Copy(span, key, key, out); }

// The first of two keys that is present (current name first, then the
// deprecated one), under the current name.
void CopyEither(const Attributes& span, const char* current, const char* old, AttrList* out) {
  if (Has(span, current))
    Copy(span, current, out);
  else
    Copy(span, old, current, out);
}

std::string ValueText(const AttrValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", *d);
    return buf;
  }
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return {};
}

// Runs once or twice per span: appends in place, without copying the key
// or (for strings, nearly every value) the value.
void AppendKeyPart(std::string* out, std::string_view part) {
  // Nearly every part holds neither byte: two memchr scans, one append.
  if (!std::memchr(part.data(), '\\', part.size()) && !std::memchr(part.data(), '\x1f', part.size())) {
    out->append(part);
    out->push_back('\x1f');
    return;
  }
  size_t i = 0;
  while (i < part.size()) {
    size_t run = i;
    while (run < part.size() && part[run] != '\\' && part[run] != '\x1f') ++run;
    out->append(part.data() + i, run - i);
    if (run == part.size()) break;
    out->push_back('\\');
    out->push_back(part[run]);
    i = run + 1;
  }
  out->push_back('\x1f');
}

// An unambiguous key for an attribute set: type tag, key and value, each
// field terminated by a byte that cannot appear unescaped.
template <typename Range>
void AppendKey(std::string* out, const Range& attrs) {
  size_t need = out->size();
  for (const Attribute& a : attrs) {
    const auto* sv = std::get_if<std::string>(&a.value);
    need += 3 + a.key.size() + (sv ? sv->size() : 24);
  }
  out->reserve(need);  // one allocation, not one per doubling
  for (const Attribute& a : attrs) {
    out->push_back(static_cast<char>('0' + a.value.index()));
    AppendKeyPart(out, a.key);
    if (const auto* sv = std::get_if<std::string>(&a.value))
      AppendKeyPart(out, *sv);
    else if (const auto* i = std::get_if<int64_t>(&a.value)) {
      char buf[24];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *i);
      AppendKeyPart(out, std::string_view(buf, end - buf));
    } else
      AppendKeyPart(out, ValueText(a.value));
  }
}

// error.type is required by every one of these metrics when the operation
// failed; a span marked as an error without one gets the generic value.
void AddErrorType(const Span& s, AttrList* out) {
  if (Has(s.attributes, "error.type"))
    Copy(s.attributes, "error.type", out);
  else if (s.status == StatusCode::kError)
    out->PushText("error.type", "_OTHER");
}

// An HTTP span whose method was not decoded (a partial HTTP/2 header block)
// still took its time: it is counted, without http.request.method.
bool IsHttpSpan(const Attributes& attrs) {
  const AttrValue* name = FindAttr(attrs, "network.protocol.name");
  const auto* text = name ? std::get_if<std::string>(name) : nullptr;
  return text && *text == "http";
}

void HttpServerAttributes(const Span& s, AttrList* a) {
  Copy(s.attributes, "http.request.method", a);
  Copy(s.attributes, "http.response.status_code", a);
  Copy(s.attributes, "http.route", a);  // a template, only set when a pattern matched
  AddErrorType(s, a);
  Copy(s.attributes, "url.scheme", a);
  Copy(s.attributes, "network.protocol.name", a);
  Copy(s.attributes, "network.protocol.version", a);
}

void HttpClientAttributes(const Span& s, AttrList* a) {
  Copy(s.attributes, "http.request.method", a);
  Copy(s.attributes, "http.response.status_code", a);
  AddErrorType(s, a);
  Copy(s.attributes, "server.address", a);
  Copy(s.attributes, "server.port", a);
  Copy(s.attributes, "network.protocol.name", a);
  Copy(s.attributes, "network.protocol.version", a);
}

// The current conventions' rpc.response.status_code for gRPC is the status
// code's name ("UNAVAILABLE"); nullptr outside the 17 defined codes.
const char* GrpcStatusName(int64_t code) {
  static constexpr const char* kNames[] = {  // indexed by code
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
      "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  return code >= 0 && code < static_cast<int64_t>(std::size(kNames)) ? kNames[code] : nullptr;
}

void RpcAttributes(const Span& s, bool client, AttrList* a) {
  CopyEither(s.attributes, "rpc.system.name", "rpc.system", a);
  // Current conventions: rpc.method is "Service/Method".
  const AttrValue* method = FindAttr(s.attributes, "rpc.method");
  const AttrValue* service = FindAttr(s.attributes, "rpc.service");
  if (method) {
    const auto* m = std::get_if<std::string>(method);
    const auto* svc = service ? std::get_if<std::string>(service) : nullptr;
    if (m && svc && !svc->empty() && m->find('/') == std::string::npos) {
      std::string* text = a->PushString("rpc.method");
      *text += *svc;
      *text += '/';
      *text += *m;
    } else {
      a->Push("rpc.method", *method);
    }
  }
  // A span in the older gRPC form carries the numeric rpc.grpc.status_code,
  // and error.type as that number; the current form names the code.
  const char* code_name = nullptr;
  std::string code_text;
  if (const AttrValue* code = FindAttr(s.attributes, "rpc.grpc.status_code")) {
    code_text = ValueText(*code);
    if (const auto* n = std::get_if<int64_t>(code)) code_name = GrpcStatusName(*n);
  }
  if (Has(s.attributes, "rpc.response.status_code"))
    Copy(s.attributes, "rpc.response.status_code", a);
  else if (!code_text.empty())
    a->PushText("rpc.response.status_code", code_name ? std::string_view(code_name) : std::string_view(code_text));
  const AttrValue* error = FindAttr(s.attributes, "error.type");
  const auto* error_text = error ? std::get_if<std::string>(error) : nullptr;
  if (code_name && error_text && *error_text == code_text)
    a->PushText("error.type", code_name);
  else
    AddErrorType(s, a);
  Copy(s.attributes, "network.protocol.name", a);
  Copy(s.attributes, "network.protocol.version", a);
  if (client) {
    Copy(s.attributes, "server.address", a);
    Copy(s.attributes, "server.port", a);
  }
}

void RpcLegacyAttributes(const Span& s, bool client, AttrList* a) {
  CopyEither(s.attributes, "rpc.system", "rpc.system.name", a);
  Copy(s.attributes, "rpc.service", a);
  Copy(s.attributes, "rpc.method", a);
  Copy(s.attributes, "rpc.grpc.status_code", a);
  AddErrorType(s, a);
  if (client) {
    Copy(s.attributes, "server.address", a);
    Copy(s.attributes, "server.port", a);
  }
}

void DbClientAttributes(const Span& s, AttrList* a) {
  CopyEither(s.attributes, "db.system.name", "db.system", a);
  Copy(s.attributes, "db.namespace", a);
  Copy(s.attributes, "db.operation.name", a);
  Copy(s.attributes, "db.collection.name", a);
  Copy(s.attributes, "db.response.status_code", a);
  AddErrorType(s, a);
  Copy(s.attributes, "server.address", a);
  Copy(s.attributes, "server.port", a);
}

std::string ResourceKey(const Resource& r) {
  std::string key;
  AppendKey(&key, r.attributes);
  return key;
}

}  // namespace

RedMetrics::RedMetrics(RedMetricsOptions options, uint64_t start_unix_ns)
    : options_(options), start_unix_ns_(start_unix_ns) {}

RedMetrics::~RedMetrics() = default;

void RedMetrics::Record(const Span& span) {
  const double seconds =
      span.end_unix_ns > span.start_unix_ns ? static_cast<double>(span.end_unix_ns - span.start_unix_ns) / 1e9 : 0.0;
  const bool server = span.kind == SpanKind::kServer;
  const bool client = span.kind == SpanKind::kClient;

  // At most two measurements (both RPC conventions); built before locking,
  // in lists and keys that keep their memory from span to span.
  struct Scratch {
    AttrList attrs[2];
    std::string keys[2];
  };
  thread_local Scratch scratch;
  Measurement ms[2];
  int n = 0;
  auto list = [&]() -> AttrList* {
    scratch.attrs[n].Clear();
    return &scratch.attrs[n];
  };
  auto add = [&](MetricId id) {
    const AttrList& attrs = scratch.attrs[n];
    std::string& key = scratch.keys[n];
    key.clear();
    AppendKey(&key, attrs);
    Measurement& m = ms[n++];
    m.metric = id;
    m.attrs = attrs.begin();
    m.n_attrs = attrs.size();
    m.key = &key;
    m.value = seconds * kDefs[id].per_second;
  };
  if (server || client) {
    if (Has(span.attributes, "rpc.system.name") || Has(span.attributes, "rpc.system")) {
      if (options_.rpc_names != RpcMetricNames::kLegacy) {
        RpcAttributes(span, client, list());
        add(server ? kRpcServer : kRpcClient);
      }
      if (options_.rpc_names != RpcMetricNames::kStable) {
        RpcLegacyAttributes(span, client, list());
        add(server ? kRpcServerLegacy : kRpcClientLegacy);
      }
    } else if (Has(span.attributes, "http.request.method") || IsHttpSpan(span.attributes)) {
      if (server)
        HttpServerAttributes(span, list());
      else
        HttpClientAttributes(span, list());
      add(server ? kHttpServer : kHttpClient);
    } else if (client && (Has(span.attributes, "db.system.name") || Has(span.attributes, "db.system"))) {
      DbClientAttributes(span, list());
      add(kDbClient);
    }
  }

  std::lock_guard<std::mutex> lock(mu_);
  if (n == 0) {
    ++stats_.not_applicable;
    return;
  }
  ++stats_.recorded;
  ResourceEntry* entry = EntryFor(span.resource);
  for (int i = 0; i < n; ++i) Add(entry, ms[i]);
}

RedMetrics::ResourceEntry* RedMetrics::EntryFor(const std::shared_ptr<const Resource>& resource) {
  const Resource* ptr = resource.get();
  auto cached = by_object_.find(ptr);
  if (cached != by_object_.end()) {
    // Same address and still alive: the same object (an expired weak_ptr
    // means the address was freed and may now belong to another resource).
    if (!ptr || cached->second.first.lock().get() == ptr) return cached->second.second;
    by_object_.erase(cached);
  }
  std::string key = ptr ? ResourceKey(*ptr) : std::string();
  ResourceEntry*& entry = by_content_[key];
  if (!entry) {
    entries_.push_back(std::make_unique<ResourceEntry>());
    entry = entries_.back().get();
    entry->resource = resource;
  }
  if (by_object_.size() >= 4096) {
    for (auto it = by_object_.begin(); it != by_object_.end();)
      it = it->first && it->second.first.expired() ? by_object_.erase(it) : std::next(it);
  }
  by_object_[ptr] = {resource, entry};
  return entry;
}

void RedMetrics::Add(ResourceEntry* entry, const Measurement& m) {
  auto& series = entry->series[m.metric];
  auto it = series.find(*m.key);
  if (it == series.end()) {
    Attributes attrs(m.attrs, m.attrs + m.n_attrs);
    std::string key = *m.key;
    if (series_count_[m.metric] >= options_.max_series_per_metric) {
      ++stats_.overflowed;
      attrs = {{"otel.metric.overflow", true}};
      key.clear();
      AppendKey(&key, attrs);
      it = series.find(key);
    }
    if (it == series.end()) {
      ++series_count_[m.metric];
      Series s;
      s.attributes = std::move(attrs);
      s.buckets.assign(BoundsFor(m.metric).size() + 1, 0);
      it = series.emplace(std::move(key), std::move(s)).first;
    }
  }
  Series& s = it->second;
  const std::vector<double>& bounds = BoundsFor(m.metric);
  size_t bucket = static_cast<size_t>(std::lower_bound(bounds.begin(), bounds.end(), m.value) - bounds.begin());
  ++s.buckets[bucket];
  if (s.count == 0 || m.value < s.min) s.min = m.value;
  if (s.count == 0 || m.value > s.max) s.max = m.value;
  ++s.count;
  s.sum += m.value;
}

MetricsSnapshot RedMetrics::Collect() { return CollectAt(UnixNanosNow()); }

MetricsSnapshot RedMetrics::CollectAt(uint64_t now_unix_ns) {
  MetricsSnapshot snap;
  snap.start_unix_ns = start_unix_ns_;
  snap.time_unix_ns = now_unix_ns;
  std::lock_guard<std::mutex> lock(mu_);
  snap.resources.reserve(entries_.size());
  for (const auto& entry : entries_) {
    ResourceMetricsData rm;
    rm.resource = entry->resource;
    for (int id = 0; id < kMetricCount; ++id) {
      const auto& series = entry->series[id];
      if (series.empty()) continue;
      MetricData md;
      md.name = kDefs[id].name;
      md.description = kDefs[id].description;
      md.unit = kDefs[id].unit;
      md.kind = MetricKind::kHistogram;
      md.bounds = BoundsFor(static_cast<MetricId>(id));
      md.points.reserve(series.size());
      for (const auto& [key, s] : series) {
        MetricPoint p;
        p.attributes = s.attributes;
        p.histogram.bucket_counts = s.buckets;
        p.histogram.count = s.count;
        p.histogram.sum = s.sum;
        p.histogram.min = s.min;
        p.histogram.max = s.max;
        md.points.push_back(std::move(p));
      }
      rm.metrics.push_back(std::move(md));
    }
    if (!rm.metrics.empty()) snap.resources.push_back(std::move(rm));
  }
  return snap;
}

RedMetricsStats RedMetrics::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace sonde
