// The two bounded memories of trace sampling, both keyed by trace id:
//  - TraceBuffer: spans the head sampler did not take, held for a window in
//    case a later span of their trace matches a keep-rule;
//  - TraceDecisions: the decision made for each recent trace, so that every
//    span of a trace gets the same one.
// Time is passed in (monotonic ns), never read: tests drive it.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <unordered_map>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "spans/span.h"

namespace sonde {

// Trace ids are random in their low bytes (W3C Level 2): they are the hash.
struct TraceIdHash {
  size_t operator()(const TraceId& id) const {
    uint64_t v;
    std::memcpy(&v, id.data() + 8, sizeof(v));
    return static_cast<size_t>(v);
  }
};

class TraceBuffer {
 public:
  // Holds at most `max_spans` spans, each for `window_ns`.
  TraceBuffer(uint64_t window_ns, size_t max_spans);

  // Holds `span`, which arrived at `now_ns`. When the buffer is full the
  // oldest held span is dropped to make room (counted in dropped_full()).
  void Hold(Span span, uint64_t now_ns);
  // Moves every held span of `trace_id` to the end of *out, oldest first;
  // returns how many.
  size_t Release(const TraceId& trace_id, std::vector<Span>* out);
  // Drops the spans held for the whole window; returns how many.
  size_t Expire(uint64_t now_ns);
  // Drops every held span; returns how many.
  size_t Clear();

  size_t size() const { return held_; }
  uint64_t dropped_full() const { return dropped_full_; }

 private:
  struct Held {
    uint64_t seq;
    Span span;
  };
  // Arrival order of every held span; a slot whose span was released stays
  // until it reaches the front (or a compaction) and is then skipped.
  struct Slot {
    uint64_t seq;
    uint64_t arrival_ns;
    TraceId trace_id;
  };
  bool PopFront();  // true when the front slot's span was still held (dropped)
  void Compact();

  uint64_t window_ns_;
  size_t max_spans_;
  std::unordered_map<TraceId, std::vector<Held>, TraceIdHash> traces_;
  std::deque<Slot> order_;
  uint64_t next_seq_ = 0;
  size_t held_ = 0;
  uint64_t dropped_full_ = 0;
};

// Why a trace the head sampler did not take was exported after all.
enum class KeptBy : uint8_t { kNone, kError, kLatency };

struct TraceDecision {
  bool sampled = false;  // the head decision
  KeptBy kept_by = KeptBy::kNone;
};

class TraceDecisions {
 public:
  // A decision is forgotten between `ttl_ns` and 2 * `ttl_ns` after the last
  // span of its trace; at most `max_traces` are kept (the oldest go first).
  TraceDecisions(uint64_t ttl_ns, size_t max_traces);

  // The decision for `trace_id`, or nullptr; marks the trace as used now.
  TraceDecision* Find(const TraceId& trace_id, uint64_t now_ns);
  // Records a decision for a trace not known yet. The pointer stays valid
  // until the next Insert or Expire.
  TraceDecision* Insert(const TraceId& trace_id, TraceDecision d, uint64_t now_ns);
  void Expire(uint64_t now_ns);

  size_t size() const { return map_.size(); }

 private:
  struct Entry {
    TraceDecision decision;
    uint64_t last_used_ns;
  };
  struct Stamp {
    TraceId trace_id;
    uint64_t at_ns;
  };
  uint64_t ttl_ns_;
  size_t max_traces_;
  // Looked up for every span: one probe of a flat table, not the bucket
  // and node chasing of a node-based map (a profiled cost at 65,536 traces).
  absl::flat_hash_map<TraceId, Entry, TraceIdHash> map_;
  std::deque<Stamp> fifo_;  // one stamp per trace in map_, oldest first
};

}  // namespace sonde
