#include "exporter/otlp_metrics_convert.h"

#include "exporter/text_escape.h"

namespace sonde {
namespace {

namespace metrics = opentelemetry::proto::metrics::v1;

void FillNumber(const MetricPoint& p, const MetricsSnapshot& snap, bool with_start, metrics::NumberDataPoint* out) {
  AddOtlpAttributes(p.attributes, out->mutable_attributes());
  // A gauge has no start: it is a value at one instant.
  if (with_start) out->set_start_time_unix_nano(snap.start_unix_ns);
  out->set_time_unix_nano(snap.time_unix_ns);
  if (p.is_double)
    out->set_as_double(p.double_value);
  else
    out->set_as_int(p.int_value);
}

void FillHistogram(const MetricPoint& p, const MetricData& m, const MetricsSnapshot& snap,
                   metrics::HistogramDataPoint* out) {
  AddOtlpAttributes(p.attributes, out->mutable_attributes());
  out->set_start_time_unix_nano(snap.start_unix_ns);
  out->set_time_unix_nano(snap.time_unix_ns);
  const HistogramValue& h = p.histogram;
  out->set_count(h.count);
  out->set_sum(h.sum);
  if (h.count > 0) {
    out->set_min(h.min);
    out->set_max(h.max);
  }
  for (uint64_t c : h.bucket_counts) out->add_bucket_counts(c);
  for (double b : m.bounds) out->add_explicit_bounds(b);
}

}  // namespace

size_t ToOtlpMetricsRequest(const std::vector<MetricsSnapshot>& snapshots, const OtlpScope& scope,
                            opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest* out) {
  size_t points = 0;
  for (const MetricsSnapshot& snap : snapshots) {
    for (const ResourceMetricsData& rd : snap.resources) {
      metrics::ResourceMetrics* rm = out->add_resource_metrics();
      if (rd.resource) AddOtlpAttributes(rd.resource->attributes, rm->mutable_resource()->mutable_attributes());
      metrics::ScopeMetrics* sm = rm->add_scope_metrics();
      sm->mutable_scope()->set_name(scope.name);
      if (!scope.version.empty()) sm->mutable_scope()->set_version(scope.version);
      for (const MetricData& m : rd.metrics) {
        metrics::Metric* om = sm->add_metrics();
        om->set_name(ToValidUtf8(m.name));
        om->set_description(ToValidUtf8(m.description));
        om->set_unit(ToValidUtf8(m.unit));
        switch (m.kind) {
          case MetricKind::kHistogram: {
            metrics::Histogram* h = om->mutable_histogram();
            h->set_aggregation_temporality(metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
            for (const MetricPoint& p : m.points) FillHistogram(p, m, snap, h->add_data_points());
            break;
          }
          case MetricKind::kCounter: {
            metrics::Sum* s = om->mutable_sum();
            s->set_aggregation_temporality(metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
            s->set_is_monotonic(true);
            for (const MetricPoint& p : m.points) FillNumber(p, snap, true, s->add_data_points());
            break;
          }
          case MetricKind::kGauge: {
            metrics::Gauge* g = om->mutable_gauge();
            for (const MetricPoint& p : m.points) FillNumber(p, snap, false, g->add_data_points());
            break;
          }
        }
        points += m.points.size();
      }
    }
  }
  return points;
}

}  // namespace sonde
