#include "spans/thread_links.h"

#include <algorithm>

#include "spans/http_common.h"
#include "spans/trace_context.h"

namespace sonde {

namespace {

// Requests remembered per thread: enough for keep-alive sequences between
// two drains of the tracker.
constexpr size_t kMaxPerThread = 64;
constexpr uint64_t kKeepEndedNs = 30'000'000'000ull;   // after the response
constexpr uint64_t kKeepOpenNs = 300'000'000'000ull;   // a request never answered

void SetAttr(Span* s, std::string_view key, std::string_view value) {
  for (Attribute& a : s->attributes) {
    if (a.key == key) {
      a.value = AttrValue(std::string(value));
      return;
    }
  }
  s->attributes.push_back({std::string(key), AttrValue(std::string(value))});
}

}  // namespace

MessageTiming TimingOf(const Message& m) {
  MessageTiming t;
  if (const auto* h = std::get_if<HttpExchange>(&m.payload)) {
    t = {h->request.tid, h->request.start_ns, h->response ? h->response->end_ns : h->request.end_ns};
  } else if (const auto* r = std::get_if<RedisExchange>(&m.payload)) {
    t = {r->command.tid, r->command.start_ns, r->reply ? r->reply->end_ns : r->command.end_ns};
  } else if (const auto* p = std::get_if<PgExchange>(&m.payload)) {
    t = {p->tid, p->start_ns, p->end_ns};
  }
  if (t.end_ns < t.start_ns) t.end_ns = t.start_ns;
  return t;
}

void ThreadLinks::OnServerRequest(const RequestStart& r) {
  Entry e;
  e.conn = r.conn.key;
  e.start_ns = r.start_ns;
  if (std::optional<TraceContext> in = ExtractTraceContext(r.trace_headers)) {
    e.id.trace_id = in->trace_id;
    e.id.parent_id = in->parent_id;
    e.id.trace_state = std::move(in->trace_state);
    e.id.flags = in->flags;
  } else {
    e.id.trace_id = ids_->NewTraceId();
  }
  e.id.span_id = ids_->NewSpanId();
  auto& q = threads_[ThreadKey{r.conn.key.pid, r.tid}];
  if (q.size() >= kMaxPerThread) {
    // Forget the oldest answered request; an open one is still needed (an
    // event loop with many requests in flight, some slow).
    auto ended = std::find_if(q.begin(), q.end(), [](const Entry& e) { return e.end_ns != 0; });
    q.erase(ended != q.end() ? ended : q.begin());
  }
  q.push_back(std::move(e));
  ++stats_.server_requests;
}

ThreadLinks::Entry* ThreadLinks::Find(const ConnKey& conn, uint32_t tid, uint64_t start_ns) {
  auto it = threads_.find(ThreadKey{conn.pid, tid});
  if (it == threads_.end()) return nullptr;
  for (Entry& e : it->second)
    if (e.start_ns == start_ns && e.conn == conn) return &e;
  return nullptr;
}

const ServerIdentity* ThreadLinks::IdentityOf(const ConnKey& conn, uint32_t tid, uint64_t start_ns) const {
  const Entry* e = const_cast<ThreadLinks*>(this)->Find(conn, tid, start_ns);
  return e ? &e->id : nullptr;
}

bool ThreadLinks::AnyOpen(uint32_t pid, uint32_t tid, uint64_t at_ns) const {
  auto it = threads_.find(ThreadKey{pid, tid});
  if (it == threads_.end()) return false;
  for (const Entry& e : it->second)
    if (e.end_ns == 0 && e.start_ns <= at_ns) return true;
  return false;
}

const ServerIdentity* ThreadLinks::LatestOn(const ConnKey& conn, uint32_t tid, uint64_t at_ns,
                                            bool* ambiguous) const {
  *ambiguous = false;
  auto it = threads_.find(ThreadKey{conn.pid, tid});
  if (it == threads_.end()) return nullptr;
  const Entry* best = nullptr;
  for (const Entry& e : it->second) {
    if (!(e.conn == conn) || e.start_ns > at_ns) continue;
    if (best && e.start_ns == best->start_ns) *ambiguous = true;
    if (!best || e.start_ns > best->start_ns) {
      best = &e;
      *ambiguous = false;
    }
  }
  return best ? &best->id : nullptr;
}

void ThreadLinks::OnServerDone(const ConnKey& conn, uint32_t tid, uint64_t start_ns, uint64_t end_ns) {
  if (Entry* e = Find(conn, tid, start_ns)) e->end_ns = end_ns > start_ns ? end_ns : start_ns + 1;
}

ThreadLinks::Linked ThreadLinks::Apply(const Message& m, uint32_t tid, uint64_t start_ns, Span* span) {
  if (m.conn.role == Role::kServer) {
    const Entry* e = Find(m.conn.key, tid, start_ns);
    if (!e) return {};
    span->trace_id = e->id.trace_id;
    span->span_id = e->id.span_id;
    span->parent_span_id = e->id.parent_id;
    span->trace_state = e->id.trace_state;
    return {};
  }
  if (m.conn.role != Role::kClient) return {};
  // A parent from the request's own traceparent (an instrumented client) is
  // left alone.
  for (const Attribute& a : span->attributes)
    if (a.key == "sonde.parent.source" && a.value != AttrValue(std::string(kParentSourceNone))) return {};
  auto it = threads_.find(ThreadKey{m.conn.key.pid, tid});
  if (it == threads_.end()) return {};
  const Entry* found = nullptr;
  int candidates = 0;
  for (const Entry& e : it->second) {
    if (e.start_ns > start_ns) continue;
    if (e.end_ns != 0 && e.end_ns < start_ns) continue;
    found = &e;
    ++candidates;
  }
  if (candidates == 0) return {};
  if (candidates > 1) {
    ++stats_.ambiguous;
    return {};
  }
  span->trace_id = found->id.trace_id;
  span->parent_span_id = found->id.span_id;
  span->trace_state = found->id.trace_state;
  SetAttr(span, "sonde.parent.source", kParentSourceThread);
  ++stats_.linked;
  Linked out;
  out.parent_linked = true;
  if (!IsZero(found->id.parent_id)) out.parent_sampled = (found->id.flags & kTraceFlagSampled) != 0;
  return out;
}

void ThreadLinks::Expire(uint64_t now_ns) {
  for (auto it = threads_.begin(); it != threads_.end();) {
    auto& q = it->second;
    while (!q.empty()) {
      const Entry& e = q.front();
      const bool old = e.end_ns != 0 ? now_ns > e.end_ns + kKeepEndedNs : now_ns > e.start_ns + kKeepOpenNs;
      if (!old) break;
      q.pop_front();
    }
    it = q.empty() ? threads_.erase(it) : std::next(it);
  }
}

}  // namespace sonde
