#include "sampling/trace_buffer.h"

#include <algorithm>

namespace sonde {

TraceBuffer::TraceBuffer(uint64_t window_ns, size_t max_spans) : window_ns_(window_ns), max_spans_(max_spans) {}

void TraceBuffer::Hold(Span span, uint64_t now_ns) {
  if (max_spans_ == 0) {
    ++dropped_full_;
    return;
  }
  while (held_ >= max_spans_ && !order_.empty())
    if (PopFront()) ++dropped_full_;
  TraceId id = span.trace_id;
  uint64_t seq = next_seq_++;
  traces_[id].push_back(Held{seq, std::move(span)});
  order_.push_back(Slot{seq, now_ns, id});
  ++held_;
}

// Spans leave a trace's list either all at once (Release) or from its front
// through this function: the front slot of order_ is always the oldest span
// still held, so when its span is held it is the first of its trace's list.
bool TraceBuffer::PopFront() {
  Slot s = order_.front();
  order_.pop_front();
  auto it = traces_.find(s.trace_id);
  if (it == traces_.end()) return false;
  std::vector<Held>& v = it->second;
  if (v.empty() || v.front().seq != s.seq) return false;
  v.erase(v.begin());
  --held_;
  if (v.empty()) traces_.erase(it);
  return true;
}

size_t TraceBuffer::Release(const TraceId& trace_id, std::vector<Span>* out) {
  auto it = traces_.find(trace_id);
  if (it == traces_.end()) return 0;
  size_t n = it->second.size();
  for (Held& h : it->second) out->push_back(std::move(h.span));
  held_ -= n;
  traces_.erase(it);
  // Released spans leave stale slots behind; keep them from outgrowing the
  // spans actually held (the memory bound must hold under any traffic).
  if (order_.size() > 2 * held_ + 1024) Compact();
  return n;
}

void TraceBuffer::Compact() {
  std::deque<Slot> kept;
  for (const Slot& s : order_) {
    auto it = traces_.find(s.trace_id);
    if (it == traces_.end()) continue;
    const std::vector<Held>& v = it->second;
    auto pos = std::lower_bound(v.begin(), v.end(), s.seq, [](const Held& h, uint64_t q) { return h.seq < q; });
    if (pos != v.end() && pos->seq == s.seq) kept.push_back(s);
  }
  order_.swap(kept);
}

size_t TraceBuffer::Expire(uint64_t now_ns) {
  size_t n = 0;
  while (!order_.empty() && order_.front().arrival_ns + window_ns_ <= now_ns)
    if (PopFront()) ++n;
  return n;
}

size_t TraceBuffer::Clear() {
  size_t n = held_;
  traces_.clear();
  order_.clear();
  held_ = 0;
  return n;
}

TraceDecisions::TraceDecisions(uint64_t ttl_ns, size_t max_traces) : ttl_ns_(ttl_ns), max_traces_(max_traces) {}

TraceDecision* TraceDecisions::Find(const TraceId& trace_id, uint64_t now_ns) {
  auto it = map_.find(trace_id);
  if (it == map_.end()) return nullptr;
  it->second.last_used_ns = now_ns;
  return &it->second.decision;
}

TraceDecision* TraceDecisions::Insert(const TraceId& trace_id, TraceDecision d, uint64_t now_ns) {
  if (max_traces_ == 0) return nullptr;
  while (map_.size() >= max_traces_ && !fifo_.empty()) {
    map_.erase(fifo_.front().trace_id);
    fifo_.pop_front();
  }
  auto [it, inserted] = map_.try_emplace(trace_id, Entry{d, now_ns});
  if (inserted) fifo_.push_back(Stamp{trace_id, now_ns});
  return &it->second.decision;
}

void TraceDecisions::Expire(uint64_t now_ns) {
  while (!fifo_.empty() && fifo_.front().at_ns + ttl_ns_ <= now_ns) {
    Stamp s = fifo_.front();
    fifo_.pop_front();
    auto it = map_.find(s.trace_id);
    if (it == map_.end()) continue;
    if (it->second.last_used_ns + ttl_ns_ > now_ns) {
      fifo_.push_back(Stamp{s.trace_id, now_ns});  // used since: look again one ttl later
    } else {
      map_.erase(it);
    }
  }
}

}  // namespace sonde
