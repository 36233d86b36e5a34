// Head sampling: the OpenTelemetry SDK's built-in samplers, chosen the way the
// SDK environment variables choose them (OTEL_TRACES_SAMPLER,
// OTEL_TRACES_SAMPLER_ARG), deciding for a finished span whether its trace is
// exported.
//
//   always_on                  every trace
//   always_off                 no trace
//   traceidratio               a fraction of traces, from the trace id alone
//   parentbased_always_on      ParentBased(root = always_on)   (the default)
//   parentbased_always_off     ParentBased(root = always_off)
//   parentbased_traceidratio   ParentBased(root = traceidratio)
//
// ParentBased uses the spec's defaults for the four parent cases: a sampled
// parent (remote or local) samples the child, a parent that is not sampled
// drops it; only a span without a parent asks the root sampler.
//
// TraceIdRatioBased follows the consistent-probability rule of the spec: the
// randomness R is the least-significant 56 bits of the trace id (W3C Trace
// Context Level 2), the rejection threshold T = (1 - ratio) * 2^56, and the
// trace is sampled when R >= T. Deterministic in the trace id, and every trace
// sampled at one ratio is sampled at any higher ratio.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "decoders/message.h"
#include "spans/span.h"

namespace sonde {

enum class SamplerKind {
  kAlwaysOn,
  kAlwaysOff,
  kTraceIdRatio,
  kParentBasedAlwaysOn,
  kParentBasedAlwaysOff,
  kParentBasedTraceIdRatio,
};

struct SamplerSpec {
  SamplerKind kind = SamplerKind::kParentBasedAlwaysOn;
  double ratio = 1.0;  // traceidratio and parentbased_traceidratio only

  bool operator==(const SamplerSpec&) const = default;
};

// The OTEL_TRACES_SAMPLER spelling of a kind ("parentbased_traceidratio").
const char* SamplerName(SamplerKind kind);
// "ParentBased{root=TraceIdRatioBased{0.250000}}", for logs.
std::string DescribeSampler(const SamplerSpec& spec);
// True for the kinds that take OTEL_TRACES_SAMPLER_ARG.
bool TakesRatio(SamplerKind kind);

// Parses a sampler name, case-insensitively. Returns "" or the reason it is
// not accepted, without naming the setting (the caller does).
std::string ParseSamplerName(std::string_view name, SamplerKind* out);
// Parses a ratio: a decimal number in [0, 1]. Returns "" or the reason.
std::string ParseSamplerRatio(std::string_view arg, double* out);

// Applies OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG over `spec` (which
// holds the config file's choice). An empty variable counts as unset. When
// OTEL_TRACES_SAMPLER is set, the sampler and its argument come from the
// environment only (ratio 1.0 without OTEL_TRACES_SAMPLER_ARG, as the spec
// says); OTEL_TRACES_SAMPLER_ARG alone replaces the file's ratio. The
// argument is ignored by samplers that take none. Returns "" or an error
// naming the variable, e.g. "OTEL_TRACES_SAMPLER: 'sometimes' is not a sampler (...)".
std::string ApplySamplerEnvironment(const std::map<std::string, std::string>& env, SamplerSpec* spec);

// The 56-bit rejection threshold of a ratio in [0, 1]: 0 samples every
// trace, 2^56 none.
uint64_t RatioThreshold(double ratio);
// The least-significant 56 bits of the trace id, big-endian (bytes 9..15).
uint64_t TraceRandomness(const TraceId& id);

// What the sampler knows of a span's parent.
struct SamplingParent {
  enum class Kind { kNone, kRemote, kLocal } kind = Kind::kNone;
  // The parent's sampled flag; unknown for a local parent whose context
  // sonde did not see (then the trace's earlier decision, or the root
  // sampler, decides: see SpanSampler).
  std::optional<bool> sampled;
};

// The parent of a span built from `m`: none for a root span; remote when the
// span continues an incoming traceparent of the request (a SERVER span of an
// HTTP/1 or HTTP/2 exchange whose trace id and parent id match the header),
// with that header's sampled flag; otherwise local, flag unknown.
SamplingParent ParentOf(const Span& span, const Message& m);

class HeadSampler {
 public:
  explicit HeadSampler(SamplerSpec spec);

  // The head decision for a span of `trace_id` with `parent`. A parent-based
  // sampler given a parent whose flag is unknown asks its root sampler.
  bool ShouldSample(const TraceId& trace_id, const SamplingParent& parent) const;

  const SamplerSpec& spec() const { return spec_; }
  // True when every span is sampled whatever its trace or parent.
  bool always_samples() const {
    return spec_.kind == SamplerKind::kAlwaysOn || (spec_.kind == SamplerKind::kTraceIdRatio && spec_.ratio >= 1);
  }

 private:
  bool Root(const TraceId& trace_id) const;

  SamplerSpec spec_;
  uint64_t threshold_;
};

}  // namespace sonde
