#include "spans/async_links.h"

#include <algorithm>

#include "spans/http_common.h"
#include "spans/trace_context.h"

namespace sonde {

namespace {

constexpr uint64_t kKeepClosedNs = 5'000'000'000ull;  // a closed connection's log, for its last messages
constexpr size_t kMaxAnsweredPerThread = 4096;
constexpr size_t kNodeReadsPerThread = 8192;
// Calls kept per client connection for the callbacks of their replies: one
// connection shared by every request (ioredis) records two calls per request,
// and a call is decided only once its own reply is in, which can be many
// calls later.
constexpr size_t kNodeCallsPerConn = 4096;
constexpr uint64_t kNodeReadBit = 1ull << 63;  // SONDE_ASYNC_CTX_NODE_READ (bpf/async_ctx.h)
constexpr uint64_t kNodeReplyWaitNs = 1'000'000'000ull;

void SetSource(Span* s, std::string_view value) {
  for (Attribute& a : s->attributes) {
    if (a.key == "sonde.parent.source") {
      a.value = AttrValue(std::string(value));
      return;
    }
  }
  s->attributes.push_back({"sonde.parent.source", AttrValue(std::string(value))});
}

bool HasOwnParent(const Span& s) {
  const AttrValue* v = FindAttr(s.attributes, "sonde.parent.source");
  return v && *v != AttrValue(std::string(kParentSourceNone));
}

// Connections that carry one request at a time; client libraries pool them
// and hand a freed one to a waiting request.
bool OneRequestAtATime(const Message& m) {
  if (const auto* h = std::get_if<HttpExchange>(&m.payload)) return !h->h2;
  return std::holds_alternative<PgExchange>(m.payload);
}

}  // namespace

void AsyncLinks::OnData(const ConnKey& conn, Direction dir, uint64_t ts_ns, uint64_t ctx) {
  auto it = logs_.find(conn);
  if (it == logs_.end()) {
    if (logs_.size() >= opts_.max_connections) {
      ++stats_.contexts_lost;
      return;
    }
    it = logs_.emplace(conn, ConnLog()).first;
  }
  ConnLog& log = it->second;
  const int d = dir == Direction::kIngress ? 1 : 0;
  log.slots[d][log.next[d] % ConnLog::kSlots] = {ts_ns, ctx};
  ++log.next[d];
}

void AsyncLinks::OnNodeRead(const ConnInfo& conn, uint64_t ts_ns, uint32_t tid) {
  NodeReads& r = node_reads_[ThreadKey{conn.key.pid, tid}];
  if (r.order.size() >= kNodeReadsPerThread) {
    r.by_ts.erase(r.order.front());
    r.order.pop_front();
  }
  if (r.by_ts.emplace(ts_ns, NodeRead{conn.key, conn.role}).second) r.order.push_back(ts_ns);
}

void AsyncLinks::RecordNodeCall(const ConnKey& conn, uint64_t start_ns, uint64_t reply_end_ns, bool decided,
                                bool exclusive, const std::optional<ServerIdentity>& parent) {
  NodeCalls& nc = node_calls_[conn];
  auto& q = nc.calls;
  // A decided call updates its own undecided record, if it has one (the
  // newest records first: it was held moments ago). Only its own: calls
  // whose replies one read completed share their reply's end.
  if (decided) {
    for (auto c = q.rbegin(); c != q.rend(); ++c) {
      if (c->start_ns != start_ns || c->reply_end_ns != reply_end_ns || c->decided) continue;
      c->decided = true;
      c->parent = parent;
      return;
    }
  }
  if (q.size() >= kNodeCallsPerConn) {
    nc.forgotten_ns = std::max(nc.forgotten_ns, q.front().reply_end_ns);
    q.pop_front();
  }
  q.push_back(NodeCall{start_ns, reply_end_ns, decided, exclusive, parent});
}

AsyncLinks::Verdict AsyncLinks::DecideNode(const ThreadKey& thread, uint64_t ctx, const ConnKey& call,
                                           uint64_t held_ns, uint64_t now_ns,
                                           const ServerIdentity** parent) const {
  const uint64_t read_ts = ctx & ~kNodeReadBit;
  auto t = node_reads_.find(thread);
  if (t == node_reads_.end()) return Verdict::kNone;
  auto r = t->second.by_ts.find(read_ts);
  if (r == t->second.by_ts.end()) return Verdict::kNone;
  const NodeRead& read = r->second;
  // The kernel's role is unknown for connections opened before sonde
  // started: a connection sonde decoded calls on is a client one.
  Role role = read.role;
  if (role == Role::kUnknown) role = node_calls_.count(read.conn) ? Role::kClient : Role::kServer;
  if (role == Role::kServer) {
    // The callback of a request's bytes: that request.
    bool ambiguous = false;
    *parent = threads_->LatestOn(read.conn, thread.tid, read_ts, &ambiguous);
    if (ambiguous) return Verdict::kAmbiguous;
    return *parent ? Verdict::kLinked : Verdict::kNone;
  }
  if (role != Role::kClient) return Verdict::kNone;
  // The callback of a reply: the request that made the call it completed.
  auto q = node_calls_.find(read.conn);
  const std::optional<ServerIdentity>* common = nullptr;
  int replies = 0;
  bool waiting = false, unknown = false, mixed = false, exclusive = false;
  if (q != node_calls_.end()) {
    // Some of the calls this read completed may have been dropped: their
    // requests are not known, so neither is the callback's.
    if (read_ts <= q->second.forgotten_ns) return Verdict::kNone;
    for (const NodeCall& c : q->second.calls) {
      if (c.reply_end_ns != read_ts) continue;
      ++replies;
      exclusive |= c.exclusive;
      if (!c.decided) {
        waiting = true;
        continue;
      }
      // A call left without parent (or ambiguous) among them: its
      // request is unknown, so is the callback's.
      if (!c.parent) unknown = true;
      else if (common && (*common)->span_id != c.parent->span_id) mixed = true;
      else common = &c.parent;
    }
  }
  if (replies == 0) {
    // Its call may not be decoded yet; a reply that makes no span
    // (PostgreSQL's startup) never will be.
    return now_ns > held_ns + kNodeReplyWaitNs ? Verdict::kNone : Verdict::kWait;
  }
  // A call on the very connection whose reply this callback read, when that
  // connection carries one request at a time: the pool that owns it (an
  // http.Agent with maxSockets, pg-pool) hands it, in this callback, to
  // whichever request was waiting for one. That request is not known.
  if (exclusive && read.conn == call) return Verdict::kAmbiguous;
  if (waiting) return Verdict::kWait;
  if (unknown) return Verdict::kNone;
  if (mixed) return Verdict::kAmbiguous;
  *parent = &**common;
  return Verdict::kLinked;
}

LoopParent AsyncLinks::ParentNow(const ConnKey& call, uint32_t tid, uint64_t ctx) const {
  LoopParent out;
  if (!(ctx & kNodeReadBit)) return out;
  const ServerIdentity* parent = nullptr;
  // A reply whose call is not decoded yet is "not known yet" here.
  switch (DecideNode(ThreadKey{call.pid, tid}, ctx, call, 0, 0, &parent)) {
    case Verdict::kWait: return out;
    case Verdict::kLinked: out.request = *parent; break;
    case Verdict::kNone:
    case Verdict::kAmbiguous: break;
  }
  out.decided = true;
  return out;
}

void AsyncLinks::OnCallDecided(const Message& m, const std::optional<ServerIdentity>& parent) {
  if (m.conn.role != Role::kClient) return;
  MessageTiming t = TimingOf(m);
  if (!node_reads_.count(ThreadKey{m.conn.key.pid, t.tid})) return;
  RecordNodeCall(m.conn.key, t.start_ns, t.end_ns, true, OneRequestAtATime(m), parent);
}

void AsyncLinks::OnClose(const ConnKey& conn, uint64_t ts_ns) {
  auto it = logs_.find(conn);
  if (it != logs_.end()) it->second.closed_ns = ts_ns ? ts_ns : 1;
}

void AsyncLinks::OnProcessExit(uint32_t pid, uint64_t ts_ns) {
  for (auto& [conn, log] : logs_)
    if (conn.pid == pid && !log.closed_ns) log.closed_ns = ts_ns ? ts_ns : 1;
}

uint64_t AsyncLinks::ContextAt(const ConnKey& conn, Direction dir, uint64_t ts_ns) const {
  auto it = logs_.find(conn);
  if (it == logs_.end()) return 0;
  const int d = dir == Direction::kIngress ? 1 : 0;
  // Newest first: the message being built is usually among the latest.
  const ConnLog& log = it->second;
  const size_t n = log.next[d] < ConnLog::kSlots ? log.next[d] : ConnLog::kSlots;
  for (size_t i = 1; i <= n; ++i) {
    const ConnLog::Slot& s = log.slots[d][(log.next[d] - i) % ConnLog::kSlots];
    if (s.ts_ns == ts_ns) return s.ctx;
  }
  return 0;
}

void AsyncLinks::OnServerDone(const Message& m) {
  if (m.conn.role != Role::kServer) return;
  const auto* h = std::get_if<HttpExchange>(&m.payload);
  if (!h || !h->response || h->h2) return;
  Answered a;
  a.conn = m.conn.key;
  a.read_tid = h->request.tid;
  a.start_ns = h->request.start_ns;
  a.end_ns = h->response->end_ns > a.start_ns ? h->response->end_ns : a.start_ns;
  a.read_ctx = ContextAt(m.conn.key, Direction::kIngress, h->request.start_ns);
  a.resp_ctx = ContextAt(m.conn.key, Direction::kEgress, h->response->start_ns);
  if (a.resp_ctx == 0) return;
  if (const ServerIdentity* id = threads_->IdentityOf(m.conn.key, a.read_tid, a.start_ns)) a.id = *id;
  auto& q = answered_[ThreadKey{m.conn.key.pid, h->response->tid}];
  if (q.size() >= kMaxAnsweredPerThread) q.pop_front();
  q.push_back(a);
}

bool AsyncLinks::Hold(const Message& m, Span* span, uint64_t now_ns) {
  if (m.conn.role != Role::kClient) return false;
  MessageTiming t = TimingOf(m);
  const bool node = node_reads_.count(ThreadKey{m.conn.key.pid, t.tid}) != 0;
  uint64_t ctx = HasOwnParent(*span) ? 0 : ContextAt(m.conn.key, Direction::kEgress, t.start_ns);
  if (ctx == 0) {
    // Node: a call that is not followed still completes replies later
    // callbacks may name; they get no parent through it.
    if (node) RecordNodeCall(m.conn.key, t.start_ns, t.end_ns, true, OneRequestAtATime(m), std::nullopt);
    return false;
  }
  if (ctx & kNodeReadBit) RecordNodeCall(m.conn.key, t.start_ns, t.end_ns, false, OneRequestAtATime(m), std::nullopt);
  if (held_.size() - given_up_ >= opts_.max_held) {
    // The oldest still waiting is released unlinked at the next Release.
    for (Held& old : held_) {
      if (old.ctx == 0) continue;
      old.ctx = 0;
      ++given_up_;
      ++stats_.overflow;
      break;
    }
  }
  Held h;
  h.span = std::move(*span);
  h.thread = ThreadKey{m.conn.key.pid, t.tid};
  h.start_ns = t.start_ns;
  h.ctx = ctx;
  h.held_ns = now_ns;
  h.conn = m.conn.key;
  h.reply_end_ns = t.end_ns;
  held_.push_back(std::move(h));
  ++stats_.held;
  return true;
}

AsyncLinks::Released AsyncLinks::Decide(Held& h) {
  Released r;
  r.span = std::move(h.span);
  if (h.ctx == 0) return r;  // given up (overflow, timeout)
  const Answered* found = nullptr;
  int candidates = 0;
  auto it = answered_.find(h.thread);
  if (it != answered_.end()) {
    for (const Answered& a : it->second) {
      if (a.resp_ctx != h.ctx || a.start_ns > h.start_ns || a.end_ns < h.start_ns) continue;
      found = &a;
      ++candidates;
    }
  }
  if (candidates > 1) {
    ++stats_.ambiguous;
    return r;
  }
  if (!found) {
    ++stats_.no_match;
    return r;
  }
  const std::optional<ServerIdentity>& id = found->id;
  if (!id) {
    ++stats_.identity_gone;
    return r;
  }
  // An asyncio loop runs every callback inside a Context, so a request read
  // outside any (NULL: the thread had not used contextvars yet) or in the
  // one it was answered in was not handed to a task: the thread's own.
  const bool same_context = found->read_ctx == 0 || found->read_ctx == found->resp_ctx;
  ++(same_context ? stats_.linked_thread : stats_.linked_task);
  h.span = std::move(r.span);
  return Link(h, *id, same_context ? kParentSourceThread : kParentSourceAsyncTask);
}

AsyncLinks::Released AsyncLinks::Link(Held& h, const ServerIdentity& id, std::string_view source) {
  Released r;
  r.span = std::move(h.span);
  r.span.trace_id = id.trace_id;
  r.span.parent_span_id = id.span_id;
  r.span.trace_state = id.trace_state;
  SetSource(&r.span, source);
  r.parent_linked = true;
  if (id.flags_known) r.parent_sampled = (id.flags & kTraceFlagSampled) != 0;
  return r;
}

void AsyncLinks::Release(uint64_t now_ns, std::vector<Released>* out, bool all) {
  // Node calls may wait for the call whose reply their callback handled,
  // held just before them: a second pass decides those.
  for (int pass = 0; pass < 2 && !held_.empty(); ++pass) {
    std::deque<Held> keep;
    for (Held& h : held_) {
      if (h.ctx != 0 && (h.ctx & kNodeReadBit)) {
        const ServerIdentity* parent = nullptr;
        Verdict v = DecideNode(h.thread, h.ctx, h.conn, h.held_ns, now_ns, &parent);
        if (v == Verdict::kWait && (all || now_ns > h.held_ns + opts_.max_hold_ns)) {
          ++stats_.timed_out;
          v = Verdict::kNone;
        }
        if (v == Verdict::kWait) {
          keep.push_back(std::move(h));
          continue;
        }
        std::optional<ServerIdentity> decided;
        if (v == Verdict::kLinked) {
          decided = *parent;
          ++stats_.linked_task;
          out->push_back(Link(h, *parent, kParentSourceAsyncTask));
        } else {
          ++(v == Verdict::kAmbiguous ? stats_.ambiguous : stats_.no_match);
          Released r;
          r.span = std::move(h.span);
          out->push_back(std::move(r));
        }
        RecordNodeCall(h.conn, h.start_ns, h.reply_end_ns, true, false, decided);
        continue;
      }
      bool ready = all || h.ctx == 0 || !threads_->AnyOpen(h.thread.pid, h.thread.tid, h.start_ns);
      if (!ready && now_ns > h.held_ns + opts_.max_hold_ns) {
        ++stats_.timed_out;
        h.ctx = 0;
        ready = true;
      }
      if (ready)
        out->push_back(Decide(h));
      else
        keep.push_back(std::move(h));
    }
    held_.swap(keep);
  }
  given_up_ = 0;
}

void AsyncLinks::Expire(uint64_t now_ns) {
  for (auto it = logs_.begin(); it != logs_.end();)
    it = it->second.closed_ns && now_ns > it->second.closed_ns + kKeepClosedNs ? logs_.erase(it) : std::next(it);
  // A thread that read nothing for that long (or exited) has no call
  // waiting on its reads: held spans are decided within max_hold_ns.
  for (auto it = node_reads_.begin(); it != node_reads_.end();) {
    const auto& order = it->second.order;
    it = order.empty() || now_ns > order.back() + opts_.keep_server_ns ? node_reads_.erase(it) : std::next(it);
  }
  for (auto it = node_calls_.begin(); it != node_calls_.end();) {
    auto& q = it->second.calls;
    while (!q.empty() && q.front().decided && now_ns > q.front().reply_end_ns + opts_.keep_server_ns) q.pop_front();
    it = q.empty() ? node_calls_.erase(it) : std::next(it);
  }
  for (auto it = answered_.begin(); it != answered_.end();) {
    auto& q = it->second;
    while (!q.empty() && now_ns > q.front().end_ns + opts_.keep_server_ns) q.pop_front();
    it = q.empty() ? answered_.erase(it) : std::next(it);
  }
}

}  // namespace sonde
