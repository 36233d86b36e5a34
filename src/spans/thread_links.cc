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
constexpr size_t kMaxSpawned = 65536;                   // threads remembered with their creator
constexpr int kMaxSpawnDepth = 4;                       // threads started by started threads
// Kernel-chosen identities waiting for their request to be decoded.
constexpr size_t kMaxKernelIdentities = 65536;

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

void ThreadLinks::OnKernelIdentity(const ConnKey& conn, uint64_t stream_pos, const ServerIdentity& id) {
  KernelKey k{conn, stream_pos};
  if (kernel_.emplace(k, id).second) kernel_order_.push_back(k);
  while (kernel_order_.size() > kMaxKernelIdentities) {
    kernel_.erase(kernel_order_.front());
    kernel_order_.pop_front();
  }
}

void ThreadLinks::OnServerRequest(const RequestStart& r) {
  Entry e;
  e.conn = r.conn.key;
  e.start_ns = r.start_ns;
  auto kernel = kernel_.empty() ? kernel_.end() : kernel_.find(KernelKey{r.conn.key, r.pos});
  if (kernel != kernel_.end()) {
    // The kernel already sent this identity's trace id (and its span id as
    // parent) downstream: the SERVER span must be exactly that one.
    e.id = kernel->second;
    e.id.flags_known = !IsZero(e.id.parent_id);
    if (std::optional<TraceContext> in = ExtractTraceContext(r.trace_headers))
      if (in->trace_id == e.id.trace_id) e.id.trace_state = std::move(in->trace_state);
    kernel_.erase(kernel);
    ++stats_.kernel_identities;
  } else if (std::optional<TraceContext> in = ExtractTraceContext(r.trace_headers)) {
    e.id.trace_id = in->trace_id;
    e.id.parent_id = in->parent_id;
    e.id.trace_state = std::move(in->trace_state);
    e.id.flags = in->flags;
    e.id.flags_known = true;
    e.id.span_id = ids_->NewSpanId();
  } else {
    e.id.trace_id = ids_->NewTraceId();
    e.id.span_id = ids_->NewSpanId();
  }
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
  std::optional<Parent> p = ParentOf(m.conn.key.pid, tid, start_ns);
  if (!p) return {};
  span->trace_id = p->trace_id;
  span->parent_span_id = p->span_id;
  span->trace_state = std::move(p->trace_state);
  SetAttr(span, "sonde.parent.source", kParentSourceThread);
  return Linked{true, p->sampled};
}

std::optional<ThreadLinks::Parent> ThreadLinks::ParentOf(uint32_t pid, uint32_t tid, uint64_t start_ns) {
  const ThreadKey key{pid, tid};
  int candidates = 0;
  const Entry* found = Covering(key, start_ns, &candidates);
  if (candidates > 1) {
    ++stats_.ambiguous;
    return std::nullopt;
  }
  if (!found) {
    found = Inherited(key, start_ns);
    if (!found) return std::nullopt;
    ++stats_.inherited;
  }
  ++stats_.linked;
  Parent p;
  p.trace_id = found->id.trace_id;
  p.span_id = found->id.span_id;
  p.trace_state = found->id.trace_state;
  if (found->id.flags_known) p.sampled = (found->id.flags & kTraceFlagSampled) != 0;
  return p;
}

ServerIdentity* ThreadLinks::IdentityOf(const ConnKey& conn, uint32_t tid, uint64_t start_ns) {
  Entry* e = Find(conn, tid, start_ns);
  return e ? &e->id : nullptr;
}

const ThreadLinks::Entry* ThreadLinks::Covering(const ThreadKey& key, uint64_t t_ns, int* candidates) const {
  *candidates = 0;
  auto it = threads_.find(key);
  if (it == threads_.end()) return nullptr;
  const Entry* found = nullptr;
  for (const Entry& e : it->second) {
    if (e.start_ns > t_ns) continue;
    if (e.end_ns != 0 && e.end_ns < t_ns) continue;
    found = &e;
    ++*candidates;
  }
  return *candidates == 1 ? found : nullptr;
}

const ThreadLinks::Entry* ThreadLinks::Inherited(ThreadKey key, uint64_t t_ns) const {
  uint64_t at = t_ns;
  for (int depth = 0; depth < kMaxSpawnDepth; ++depth) {
    auto s = spawned_.find(key);
    if (s == spawned_.end() || s->second.ts_ns > at) return nullptr;
    key = ThreadKey{key.pid, s->second.creator};
    at = s->second.ts_ns;
    int candidates = 0;
    if (const Entry* e = Covering(key, at, &candidates)) {
      // Only while that request is still being handled.
      return e->end_ns == 0 || e->end_ns >= t_ns ? e : nullptr;
    }
    if (candidates > 1) return nullptr;
    // No request on the creator then: it may itself have been started by a handler.
  }
  return nullptr;
}

void ThreadLinks::OnThreadCreated(uint32_t pid, uint32_t creator, uint32_t created, uint64_t ts_ns) {
  if (spawned_.size() >= kMaxSpawned) spawned_.clear();  // bounded; only old threads lose their link
  spawned_[ThreadKey{pid, created}] = Spawn{creator, ts_ns};
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
  for (auto it = spawned_.begin(); it != spawned_.end();)
    it = now_ns > it->second.ts_ns + kKeepOpenNs ? spawned_.erase(it) : std::next(it);
}

}  // namespace sonde
