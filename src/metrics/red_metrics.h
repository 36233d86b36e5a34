// RED metrics (rate, errors, duration) aggregated from every span, before any
// sampling: one duration histogram per kind of operation, following the
// OpenTelemetry semantic conventions:
//
//   SERVER span with http.request.method  -> http.server.request.duration (s)
//   CLIENT span with http.request.method  -> http.client.request.duration (s)
//     (also an HTTP span without a decoded method: network.protocol.name
//     "http" and no rpc.system)
//   SERVER span with rpc.system[.name]    -> rpc.server.call.duration (s)
//   CLIENT span with rpc.system[.name]    -> rpc.client.call.duration (s)
//   CLIENT span with db.system[.name]     -> db.client.operation.duration (s)
//
// RPC: the current conventions name the metrics rpc.*.call.duration, in
// seconds; the older experimental rpc.server.duration / rpc.client.duration
// are in milliseconds. RpcMetricNames chooses which are emitted (both during
// a migration, as OTEL_SEMCONV_STABILITY_OPT_IN=rpc/dup does). Spans in the
// older form (rpc.system, rpc.service, rpc.method, rpc.grpc.status_code, as
// grpc_span.h builds them) feed both: the current metrics get
// rpc.system.name, rpc.method "Service/Method", rpc.response.status_code as
// the gRPC code's name ("UNAVAILABLE", also for error.type when it was the
// numeric code), network.protocol.name/version and (CLIENT)
// server.address/server.port; the legacy ones keep the span's names.
//
// Only low-cardinality attributes are kept (method, status code, route
// template, error.type, protocol version, db system/namespace/operation,
// rpc system/method, peer server address): never url.path, ids or query
// text. On top of that each metric keeps at most max_series_per_metric
// attribute sets; measurements with further sets land in one overflow series
// per resource carrying otel.metric.overflow=true, as the OTel SDKs do.
//
// Series are kept per resource: per traced process. Resources are matched by
// their attribute contents, so a process whose Resource object is rebuilt
// keeps its series.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "metrics/metric_data.h"
#include "spans/span.h"

namespace sonde {

enum class RpcMetricNames {
  kStable,  // rpc.server.call.duration, rpc.client.call.duration (s)
  kLegacy,  // rpc.server.duration, rpc.client.duration (ms)
  kBoth,
};

struct RedMetricsOptions {
  size_t max_series_per_metric = 2000;
  RpcMetricNames rpc_names = RpcMetricNames::kStable;
};

struct RedMetricsStats {
  uint64_t recorded = 0;        // spans that went into at least one histogram
  uint64_t not_applicable = 0;  // spans no RED metric applies to (e.g. INTERNAL)
  uint64_t overflowed = 0;      // measurements folded into an overflow series
};

// Thread-safe: Record is meant for the hot thread and Collect for the
// exporter or admin thread. Both take one mutex; Record holds it for a map
// lookup and a few additions (the attribute set and its key are built before
// locking), Collect for a copy of the series (bounded by the series limit),
// so the hot thread waits at most for one copy, only while a collection runs.
class RedMetrics final : public MetricProducer {
 public:
  explicit RedMetrics(RedMetricsOptions options = {}, uint64_t start_unix_ns = UnixNanosNow());
  ~RedMetrics() override;

  void Record(const Span& span);

  MetricsSnapshot Collect() override;
  MetricsSnapshot CollectAt(uint64_t now_unix_ns);

  RedMetricsStats stats() const;

  enum MetricId {
    kHttpServer,
    kHttpClient,
    kRpcServer,
    kRpcClient,
    kRpcServerLegacy,
    kRpcClientLegacy,
    kDbClient,
    kMetricCount
  };

 private:
  struct Series {
    Attributes attributes;
    std::vector<uint64_t> buckets;
    uint64_t count = 0;
    double sum = 0;
    double min = 0;
    double max = 0;
  };
  struct ResourceEntry {
    std::shared_ptr<const Resource> resource;
    // Ordered by attribute key so snapshots are deterministic.
    std::array<std::map<std::string, Series>, kMetricCount> series;
  };
  struct Measurement {  // views of Record's scratch lists
    MetricId metric;
    const Attribute* attrs;
    size_t n_attrs;
    const std::string* key;
    double value;
  };

  ResourceEntry* EntryFor(const std::shared_ptr<const Resource>& resource);  // mu_ held
  void Add(ResourceEntry* entry, const Measurement& m);                          // mu_ held

  const RedMetricsOptions options_;
  const uint64_t start_unix_ns_;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<ResourceEntry>> entries_;  // in order of first appearance
  std::unordered_map<std::string, ResourceEntry*> by_content_;
  // Cache from Resource object to its entry, so Record does not re-key the
  // resource for every span. The weak_ptr detects a reused address.
  std::unordered_map<const Resource*, std::pair<std::weak_ptr<const Resource>, ResourceEntry*>> by_object_;
  std::array<size_t, kMetricCount> series_count_{};
  RedMetricsStats stats_;
};

}  // namespace sonde
