// Which finished spans are exported: the head sampler's decision per trace,
// plus keep-rules applied at span end.
//
// One decision per trace: the first span of a trace seen by the agent asks
// the head sampler (see sampler.h), and every later span of that trace gets
// the same answer while the decision is remembered (TraceDecisions).
//
// Keep-rules rescue traces the head sampler did not take:
//   keep_errors        a span with status Error keeps its trace;
//   keep_slower_than   a span that took longer keeps its trace.
// Spans of a trace not (yet) kept are held in a bounded buffer for a window;
// when a span of the trace matches a rule, the held spans of the trace and
// every later span of it are exported with the attribute
// sonde.sampling.kept_by = "error" | "latency". A held span whose window ends
// first is dropped, as is the oldest one when the buffer is full; both are
// counted.
//
// RED metrics are not computed here: the agent records them from every span
// before offering it to the sampler.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sampling/sampler.h"
#include "sampling/trace_buffer.h"
#include "spans/span.h"

namespace sonde {

inline constexpr std::string_view kKeptByAttribute = "sonde.sampling.kept_by";
inline constexpr std::string_view kKeptByError = "error";
inline constexpr std::string_view kKeptByLatency = "latency";

struct SamplingOptions {
  SamplerSpec sampler;
  bool keep_errors = true;
  uint64_t keep_slower_than_ns = 0;  // 0: no latency rule
  uint64_t hold_window_ns = 5'000'000'000ull;
  size_t hold_max_spans = 10000;
  // How long, and for how many traces, decisions are remembered.
  uint64_t decision_ttl_ns = 30'000'000'000ull;
  size_t max_traces = 65536;

  bool operator==(const SamplingOptions&) const = default;
};

// Parses a duration such as "500ms", "2s", "1.5s", "250us", "1m": a decimal
// number and a unit (ns, us, ms, s, m, h). Returns "" or the reason.
std::string ParseDuration(std::string_view text, uint64_t* ns);

struct SamplingStats {
  uint64_t sampled = 0;               // exported by the head decision
  uint64_t kept_error = 0;            // exported because of keep_errors
  uint64_t kept_latency = 0;          // exported because of keep_slower_than
  uint64_t dropped_not_sampled = 0;   // not sampled, no keep-rule matched in time
  uint64_t dropped_buffer_full = 0;   // held, then pushed out by newer spans
  uint64_t held = 0;                  // held right now
  uint64_t traces = 0;                // decisions remembered right now
};

// Used from the agent's hot thread only: not thread-safe.
class SpanSampler {
 public:
  explicit SpanSampler(const SamplingOptions& options);

  // Decides for one finished span, which arrived at `now_ns` (monotonic).
  // Appends to *out what is to be exported now: this span, and, when it
  // matched a keep-rule, the spans of its trace that were held.
  void Offer(Span span, const SamplingParent& parent, uint64_t now_ns, std::vector<Span>* out);
  // Drops held spans whose window has passed and forgets old decisions.
  void Expire(uint64_t now_ns);
  // Drops every held span (at shutdown).
  void DropHeld();

  SamplingStats stats() const;
  const SamplingOptions& options() const { return opts_; }
  bool has_keep_rules() const { return opts_.keep_errors || opts_.keep_slower_than_ns > 0; }

 private:
  KeptBy Match(const Span& span) const;
  void Keep(Span* span, KeptBy why);

  SamplingOptions opts_;
  HeadSampler head_;
  TraceDecisions decisions_;
  TraceBuffer buffer_;
  bool holds_;  // keep-rules exist and the buffer can hold spans
  SamplingStats stats_;
};

}  // namespace sonde
