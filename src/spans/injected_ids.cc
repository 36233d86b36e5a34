#include "spans/injected_ids.h"

#include <variant>

#include "spans/http_common.h"

namespace sonde {

namespace {

// Bound on reports waiting for their span (a process writing requests faster
// than sonde decodes them, or requests whose data was lost).
constexpr size_t kMaxWaiting = 65536;

void SetAttr(Span* s, std::string_view key, AttrValue value) {
  for (Attribute& a : s->attributes) {
    if (a.key == key) {
      a.value = std::move(value);
      return;
    }
  }
  s->attributes.push_back({std::string(key), std::move(value)});
}

}  // namespace

InjectedIds::Key InjectedIds::KeyOf(uint32_t pid, const std::string& local_addr, uint16_t local_port,
                                    const std::string& peer_addr, uint16_t peer_port, uint64_t pos) {
  return Key{pid, local_port, peer_port, local_addr, peer_addr, pos};
}

void InjectedIds::Add(const InjectedContext& c) {
  ++stats_.reported;
  Key k = KeyOf(c.pid, c.local_addr, c.local_port, c.peer_addr, c.peer_port, c.stream_pos);
  by_key_[k] = c;
  by_age_.emplace_back(c.ts_ns, std::move(k));
  while (by_key_.size() > kMaxWaiting && !by_age_.empty()) {
    if (by_key_.erase(by_age_.front().second)) ++stats_.expired;
    by_age_.pop_front();
  }
}

bool InjectedIds::Apply(const Message& m, Span* span) {
  if (by_key_.empty() || m.conn.role != Role::kClient || m.conn.tls) return false;
  const auto* h = std::get_if<HttpExchange>(&m.payload);
  if (!h || h->h2 || h->request.version.empty() || h->request.version[0] != '1') return false;
  auto it = by_key_.find(KeyOf(m.conn.key.pid, m.conn.local_addr, m.conn.local_port, m.conn.peer_addr,
                               m.conn.peer_port, h->request.pos));
  if (it == by_key_.end()) return false;
  const InjectedContext& c = it->second;
  span->trace_id = c.trace_id;
  span->span_id = c.span_id;
  span->parent_span_id = c.parent_id;
  span->trace_state.clear();
  SetAttr(span, "sonde.parent.source", AttrValue(std::string(IsZero(c.parent_id) ? kParentSourceNone : "thread")));
  SetAttr(span, "sonde.traceparent.injected", AttrValue(true));
  by_key_.erase(it);  // its by_age_ entry goes when it comes up
  ++stats_.applied;
  return true;
}

void InjectedIds::Expire(uint64_t now_ns, uint64_t max_age_ns) {
  while (!by_age_.empty() && by_age_.front().first + max_age_ns < now_ns) {
    if (by_key_.erase(by_age_.front().second)) ++stats_.expired;
    by_age_.pop_front();
  }
  // Entries consumed by Apply leave stale keys behind; drop them once the
  // queue is mostly stale so it cannot grow without bound.
  if (by_age_.size() > 2 * kMaxWaiting) {
    std::deque<std::pair<uint64_t, Key>> live;
    for (auto& e : by_age_)
      if (by_key_.count(e.second)) live.push_back(std::move(e));
    by_age_.swap(live);
  }
}

}  // namespace sonde
