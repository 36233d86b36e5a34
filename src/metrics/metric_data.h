// The plain data a metrics snapshot is made of: what crosses from the metric
// aggregators (RED metrics, self-metrics) to the metric exporters (OTLP, the
// Prometheus text format). Values are cumulative: every snapshot carries the
// totals since start_unix_ns, so a lost export loses nothing but freshness.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "spans/span.h"

namespace sonde {

enum class MetricKind {
  kHistogram,  // explicit-bucket histogram
  kCounter,    // monotonic cumulative sum
  kGauge,      // last value
};

struct HistogramValue {
  // bounds.size() + 1 entries; bucket i counts values in (bounds[i-1], bounds[i]].
  std::vector<uint64_t> bucket_counts;
  uint64_t count = 0;
  double sum = 0;
  double min = 0;  // meaningful only when count > 0
  double max = 0;
};

struct MetricPoint {
  Attributes attributes;
  // kCounter / kGauge: the value, as an integer or a double.
  bool is_double = false;
  int64_t int_value = 0;
  double double_value = 0;
  // kHistogram.
  HistogramValue histogram;

  double AsDouble() const { return is_double ? double_value : static_cast<double>(int_value); }
};

struct MetricData {
  std::string name;  // OTel name, e.g. "http.server.request.duration"
  std::string description;
  std::string unit;  // UCUM, e.g. "s", "By", "{span}"
  MetricKind kind = MetricKind::kCounter;
  std::vector<double> bounds;  // kHistogram: explicit bucket boundaries, ascending
  std::vector<MetricPoint> points;
};

// The metrics of one resource (one traced process, or sonde itself).
struct ResourceMetricsData {
  std::shared_ptr<const Resource> resource;  // nullptr: no resource attributes
  std::vector<MetricData> metrics;
};

struct MetricsSnapshot {
  uint64_t start_unix_ns = 0;  // start of the cumulative period
  uint64_t time_unix_ns = 0;   // when the snapshot was taken
  std::vector<ResourceMetricsData> resources;
};

// Anything the metric exporters can pull a snapshot from. Collect may be
// called from any thread (the admin server's, the periodic exporter's).
class MetricProducer {
 public:
  virtual ~MetricProducer();
  virtual MetricsSnapshot Collect() = 0;
};

// Wall-clock now, in ns since the epoch.
uint64_t UnixNanosNow();

// The semantic-convention explicit bucket boundaries for durations in seconds
// (HTTP, RPC and database duration histograms).
const std::vector<double>& DurationBucketsSeconds();

}  // namespace sonde
