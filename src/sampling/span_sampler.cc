#include "sampling/span_sampler.h"

#include <charconv>
#include <cmath>

namespace sonde {

std::string ParseDuration(std::string_view text, uint64_t* ns) {
  std::string_view t = text;
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  size_t unit_at = t.find_first_not_of("0123456789.");
  std::string_view number = t.substr(0, unit_at);
  std::string_view unit = unit_at == std::string_view::npos ? std::string_view() : t.substr(unit_at);
  auto bad = [&](const char* why) { return "'" + std::string(text) + "' " + why; };
  double v = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), v);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size())
    return bad("is not a duration (e.g. 500ms, 2s)");
  double scale = 0;
  if (unit == "ns") {
    scale = 1;
  } else if (unit == "us") {
    scale = 1e3;
  } else if (unit == "ms") {
    scale = 1e6;
  } else if (unit == "s") {
    scale = 1e9;
  } else if (unit == "m") {
    scale = 60e9;
  } else if (unit == "h") {
    scale = 3600e9;
  } else if (unit.empty()) {
    return bad("needs a unit (ns, us, ms, s, m or h; e.g. 500ms)");
  } else {
    return bad("has an unknown unit (ns, us, ms, s, m or h)");
  }
  double total = v * scale;
  if (!std::isfinite(total) || total > 7 * 24 * 3600e9) return bad("is too long (at most a week)");
  *ns = static_cast<uint64_t>(std::llround(total));
  return {};
}

SpanSampler::SpanSampler(const SamplingOptions& options)
    : opts_(options),
      head_(options.sampler),
      decisions_(options.decision_ttl_ns, options.max_traces),
      buffer_(options.hold_window_ns, options.hold_max_spans),
      holds_(has_keep_rules() && options.hold_window_ns > 0 && options.hold_max_spans > 0) {}

KeptBy SpanSampler::Match(const Span& span) const {
  if (opts_.keep_errors && span.status == StatusCode::kError) return KeptBy::kError;
  if (opts_.keep_slower_than_ns > 0 && span.end_unix_ns > span.start_unix_ns &&
      span.end_unix_ns - span.start_unix_ns > opts_.keep_slower_than_ns)
    return KeptBy::kLatency;
  return KeptBy::kNone;
}

void SpanSampler::Keep(Span* span, KeptBy why) {
  std::string_view v = why == KeptBy::kError ? kKeptByError : kKeptByLatency;
  span->attributes.push_back({std::string(kKeptByAttribute), AttrValue(std::string(v))});
  ++(why == KeptBy::kError ? stats_.kept_error : stats_.kept_latency);
}

void SpanSampler::Offer(Span span, const SamplingParent& parent, uint64_t now_ns, std::vector<Span>* out) {
  if (head_.always_samples()) {
    ++stats_.sampled;
    out->push_back(std::move(span));
    return;
  }
  const TraceId id = span.trace_id;
  TraceDecision local;
  TraceDecision* d = decisions_.Find(id, now_ns);
  if (!d) {
    TraceDecision fresh{head_.ShouldSample(id, parent), KeptBy::kNone};
    d = decisions_.Insert(id, fresh, now_ns);
    if (!d) {
      local = fresh;
      d = &local;
    }
  }
  if (d->sampled) {
    ++stats_.sampled;
    out->push_back(std::move(span));
    return;
  }
  if (d->kept_by == KeptBy::kNone) {
    KeptBy why = Match(span);
    if (why == KeptBy::kNone) {
      if (holds_) {
        buffer_.Hold(std::move(span), now_ns);
      } else {
        ++stats_.dropped_not_sampled;
      }
      return;
    }
    d->kept_by = why;
    size_t first = out->size();
    buffer_.Release(id, out);
    for (size_t i = first; i < out->size(); ++i) Keep(&(*out)[i], why);
  }
  Keep(&span, d->kept_by);
  out->push_back(std::move(span));
}

void SpanSampler::Expire(uint64_t now_ns) {
  stats_.dropped_not_sampled += buffer_.Expire(now_ns);
  decisions_.Expire(now_ns);
}

void SpanSampler::DropHeld() { stats_.dropped_not_sampled += buffer_.Clear(); }

SamplingStats SpanSampler::stats() const {
  SamplingStats s = stats_;
  s.dropped_buffer_full = buffer_.dropped_full();
  s.held = buffer_.size();
  s.traces = decisions_.size();
  return s;
}

}  // namespace sonde
