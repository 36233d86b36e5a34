#include "metrics/self_metrics.h"

#include <stdexcept>

namespace sonde {
namespace {

std::string AttrText(const AttrValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return "s" + *s;
  if (const auto* i = std::get_if<int64_t>(&v)) return "i" + std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) return "d" + std::to_string(*d);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "btrue" : "bfalse";
  return {};
}

// name, then each key and value, separated by a control byte.
std::string SeriesKey(std::string_view name, const Attributes& attrs) {
  std::string key(name);
  for (const Attribute& a : attrs) {
    key += '\x1f';
    key += a.key;
    key += '\x1e';
    key += AttrText(a.value);
  }
  return key;
}

}  // namespace

void SelfMetrics::DoubleCounter::Add(double d) {
  double cur = v_.load(std::memory_order_relaxed);
  while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

SelfMetrics::SelfMetrics(std::shared_ptr<const Resource> resource, uint64_t start_unix_ns)
    : resource_(std::move(resource)), start_unix_ns_(start_unix_ns) {
  using K = MetricKind;
  Describe(std::string(self_metric::kEventsCaptured), K::kCounter, false, "{event}",
           "Events read from the BPF ring buffer.");
  Describe(std::string(self_metric::kEventsLost), K::kCounter, false, "{event}",
           "Events lost before they could be decoded, by reason.");
  Describe(std::string(self_metric::kEventsTruncated), K::kCounter, false, "{event}",
           "Events whose payload was cut at the per-syscall capture limit.");
  Describe(std::string(self_metric::kCaptureTruncated), K::kCounter, false, "By",
           "Payload bytes not captured because of the per-syscall capture limit.");
  Describe(std::string(self_metric::kSpansCreated), K::kCounter, false, "{span}", "Spans built.");
  Describe(std::string(self_metric::kSpansExported), K::kCounter, false, "{span}",
           "Spans every exporter accepted.");
  Describe(std::string(self_metric::kSpansDropped), K::kCounter, false, "{span}", "Spans lost, by reason.");
  Describe(std::string(self_metric::kSpansExcluded), K::kCounter, false, "{request}",
           "Requests on an excluded path (http.exclude_paths) for which no span was made.");
  Describe(std::string(self_metric::kSpansSampledOut), K::kCounter, false, "{span}",
           "Spans not exported because of sampling, by reason.");
  Describe(std::string(self_metric::kSpansKept), K::kCounter, false, "{span}",
           "Spans exported only because a keep-rule matched their trace, by rule.");
  Describe(std::string(self_metric::kLinksAsync), K::kCounter, false, "{span}",
           "CLIENT spans of event-loop processes whose parent was decided by async task, by result.");
  Describe(std::string(self_metric::kLinksConnection), K::kCounter, false, "{request}",
           "Requests whose client and server ends are both traced here, by stitching result.");
  Describe(std::string(self_metric::kSamplingHeldSpans), K::kGauge, false, "{span}",
           "Spans held waiting for a keep-rule to match their trace.");
  Describe(std::string(self_metric::kSpansRejected), K::kCounter, false, "{span}",
           "Spans a collector rejected in an otherwise accepted request (OTLP partial success).");
  Describe(std::string(self_metric::kMetricPointsRejected), K::kCounter, false, "{data_point}",
           "Metric data points a collector rejected (OTLP partial success).");
  Describe(std::string(self_metric::kExportFailures), K::kCounter, false, "{request}",
           "OTLP export requests given up, by signal and reason.");
  Describe(std::string(self_metric::kExportRetries), K::kCounter, false, "{request}",
           "OTLP export attempts repeated after a retryable failure, by signal.");
  Describe(std::string(self_metric::kExportQueueSize), K::kGauge, false, "{span}",
           "Spans waiting in the export queue.");
  Describe(std::string(self_metric::kExportQueueCapacity), K::kGauge, false, "{span}",
           "Capacity of the export queue.");
  Describe(std::string(self_metric::kBpfRunTime), K::kCounter, true, "s",
           "Time spent running each BPF program (kernel.bpf_stats_enabled).");
  Describe(std::string(self_metric::kBpfRuns), K::kCounter, false, "{run}",
           "Runs of each BPF program (kernel.bpf_stats_enabled).");
  Describe(std::string(self_metric::kPropagationInjected), K::kCounter, false, "{request}",
           "Outgoing HTTP/1 requests given a traceparent header by sonde.");
  Describe(std::string(self_metric::kPropagationSkipped), K::kCounter, false, "{request}",
           "Outgoing HTTP/1 requests not given a traceparent, and sockets where injection stopped, by reason.");
}

SelfMetrics::~SelfMetrics() = default;

void SelfMetrics::Describe(std::string name, MetricKind kind, bool is_double, std::string unit,
                           std::string description) {
  std::lock_guard<std::mutex> lock(mu_);
  catalog_[std::move(name)] = Descriptor{kind, is_double, std::move(unit), std::move(description)};
}

SelfMetrics::Series* SelfMetrics::Get(std::string_view name, const Attributes& attributes, MetricKind kind,
                                      bool is_double) {
  std::lock_guard<std::mutex> lock(mu_);
  auto d = catalog_.find(name);
  if (d == catalog_.end()) throw std::logic_error("self-metric '" + std::string(name) + "' is not described");
  if (d->second.kind != kind || d->second.is_double != is_double)
    throw std::logic_error("self-metric '" + std::string(name) + "' used as another kind");
  auto& slot = series_[SeriesKey(name, attributes)];
  if (!slot) {
    slot = std::make_unique<Series>();
    slot->name = std::string(name);
    slot->attributes = attributes;
  }
  return slot.get();
}

SelfMetrics::Counter* SelfMetrics::GetCounter(std::string_view name, const Attributes& attributes) {
  return &Get(name, attributes, MetricKind::kCounter, false)->counter;
}

SelfMetrics::Gauge* SelfMetrics::GetGauge(std::string_view name, const Attributes& attributes) {
  return &Get(name, attributes, MetricKind::kGauge, false)->gauge;
}

SelfMetrics::DoubleCounter* SelfMetrics::GetDoubleCounter(std::string_view name, const Attributes& attributes) {
  return &Get(name, attributes, MetricKind::kCounter, true)->double_counter;
}

void SelfMetrics::AddCollectCallback(std::function<void(SelfMetrics&)> fn) {
  std::lock_guard<std::mutex> lock(collect_mu_);
  callbacks_.push_back(std::move(fn));
}

MetricsSnapshot SelfMetrics::Collect() { return CollectAt(UnixNanosNow()); }

MetricsSnapshot SelfMetrics::CollectAt(uint64_t now_unix_ns) {
  std::lock_guard<std::mutex> collect_lock(collect_mu_);
  for (auto& fn : callbacks_) fn(*this);

  MetricsSnapshot snap;
  snap.start_unix_ns = start_unix_ns_;
  snap.time_unix_ns = now_unix_ns;
  ResourceMetricsData rm;
  rm.resource = resource_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // series_ is ordered by key, which starts with the name: one metric's
    // series are adjacent.
    for (const auto& [key, s] : series_) {
      if (rm.metrics.empty() || rm.metrics.back().name != s->name) {
        const Descriptor& d = catalog_.find(s->name)->second;
        MetricData md;
        md.name = s->name;
        md.description = d.description;
        md.unit = d.unit;
        md.kind = d.kind;
        rm.metrics.push_back(std::move(md));
      }
      const Descriptor& d = catalog_.find(s->name)->second;
      MetricPoint p;
      p.attributes = s->attributes;
      if (d.is_double) {
        p.is_double = true;
        p.double_value = s->double_counter.value();
      } else if (d.kind == MetricKind::kGauge) {
        p.int_value = s->gauge.value();
      } else {
        p.int_value = static_cast<int64_t>(s->counter.value());
      }
      rm.metrics.back().points.push_back(std::move(p));
    }
  }
  if (!rm.metrics.empty()) snap.resources.push_back(std::move(rm));
  return snap;
}

}  // namespace sonde
