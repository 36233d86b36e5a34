#include "spans/conn_stitch.h"

#include <algorithm>
#include <tuple>

#include "spans/http_common.h"
#include "spans/trace_context.h"

namespace sonde {

namespace {

void SetSource(Span* s, std::string_view value) {
  for (Attribute& a : s->attributes) {
    if (a.key == "sonde.parent.source") {
      a.value = AttrValue(std::string(value));
      return;
    }
  }
  s->attributes.push_back({"sonde.parent.source", AttrValue(std::string(value))});
}

bool HasHeaderParent(const Span& s) {
  const AttrValue* v = FindAttr(s.attributes, "sonde.parent.source");
  return v != nullptr && *v == AttrValue(std::string(kParentSourceHeader));
}

}  // namespace

RequestKey RequestKeyOf(const Message& m) {
  RequestKey k;
  if (const auto* h = std::get_if<HttpExchange>(&m.payload)) {
    k.pos = h->request.pos;
    if (h->h2) {
      k.stream_id = h->h2->stream_id;
      // A HEADERS frame never starts an HTTP/2 stream at 0 (the preface
      // does): 0 means the request's header block was not seen.
      k.valid = k.pos != 0 && k.stream_id != 0;
    } else {
      k.valid = !h->request.method.empty();
    }
  } else if (const auto* r = std::get_if<RedisExchange>(&m.payload)) {
    k.pos = r->command.pos;
    k.valid = !r->command.args.empty();
  } else if (const auto* p = std::get_if<PgExchange>(&m.payload)) {
    k.pos = p->pos;
    k.part = p->pos_part;
    k.valid = true;
  }
  return k;
}

bool ConnStitch::ConnKeyLess::operator()(const ConnKey& a, const ConnKey& b) const {
  return std::tie(a.pid, a.pstart_ns, a.fd, a.gen) < std::tie(b.pid, b.pstart_ns, b.fd, b.gen);
}

ConnStitch::ConnStitch(IdGenerator* ids, ThreadLinks* links, ConnStitchOptions opts)
    : ids_(ids), links_(links), opts_(opts) {
  if (opts_.segments_per_connection == 0) opts_.segments_per_connection = 1;
  opts_.max_segments_per_connection = std::max(opts_.max_segments_per_connection, opts_.segments_per_connection);
}

std::string ConnStitch::TupleKey(const std::string& a, uint16_t ap, const std::string& b, uint16_t bp) {
  std::string k;
  k.reserve(a.size() + b.size() + 14);
  k += a;
  k += '|';
  k += std::to_string(ap);
  k += '|';
  k += b;
  k += '|';
  k += std::to_string(bp);
  return k;
}

void ConnStitch::OnOpen(const ConnInfo& conn, uint64_t ts_ns) {
  last_ns_ = std::max(last_ns_, ts_ns);
  // Only an open tells where the stream starts, and only accept/connect
  // say the role for sure.
  if (conn.role_inferred || conn.role == Role::kUnknown || conn.local_addr.empty() || conn.peer_addr.empty())
    return;
  if (conns_.count(conn.key)) return;
  while (conns_.size() >= opts_.max_connections) {
    if (!EvictOldestClosed()) {
      ++stats_.dropped;
      return;
    }
  }
  Conn& c = conns_[conn.key];
  c.role = conn.role;
  c.local_addr = conn.local_addr;
  c.local_port = conn.local_port;
  c.peer_addr = conn.peer_addr;
  c.peer_port = conn.peer_port;
  c.open_ns = c.last_ns = ts_ns;
  c.tls = conn.tls;
  c.loopback = conn.local_addr.rfind("127.", 0) == 0 || conn.local_addr == "::1";
  c.netns = NetnsOf(conn.key.pid);
  by_tuple_.emplace(TupleKey(c.local_addr, c.local_port, c.peer_addr, c.peer_port), conn.key);
}

void ConnStitch::OnData(const ConnInfo& conn, Direction dir, const DataChunk& chunk, uint64_t async_ctx) {
  last_ns_ = std::max(last_ns_, chunk.ts_ns);
  auto it = conns_.find(conn.key);
  Conn* found = it != conns_.end() ? &it->second : Inherit(conn, chunk);
  if (found == nullptr) return;
  Conn& c = *found;
  c.moved = true;
  c.last_ns = std::max(c.last_ns, chunk.ts_ns);
  if (conn.tls) c.tls = true;
  if (c.tls || c.role != Role::kClient || dir != Direction::kEgress) return;
  const uint64_t len = std::max<uint64_t>(chunk.total_len, chunk.data.size());
  if (len == 0) return;
  c.egress.push_back(Segment{chunk.pos, len, chunk.ts_ns, chunk.tid, async_ctx});
  while (c.egress.size() > opts_.segments_per_connection &&
         (c.egress.size() > opts_.max_segments_per_connection ||
          c.egress.front().ts_ns + opts_.segments_window_ns < chunk.ts_ns))
    c.egress.pop_front();
}

const ConnStitch::Segment* ConnStitch::SegmentAt(const Conn& c, uint64_t pos) {
  // Positions grow with capture order, except for writes of two threads
  // racing on one socket: search by position, then look around.
  auto it = std::upper_bound(c.egress.begin(), c.egress.end(), pos,
                             [](uint64_t p, const Segment& s) { return p < s.pos; });
  for (auto k = it; k != c.egress.begin() && std::distance(k, it) < 4;) {
    --k;
    if (k->pos <= pos && pos < k->pos + k->len) return &*k;
  }
  for (const Segment& s : c.egress)
    if (s.pos <= pos && pos < s.pos + s.len) return &s;
  return nullptr;
}

void ConnStitch::OnClose(const ConnKey& key, uint64_t ts_ns) {
  auto it = conns_.find(key);
  if (it != conns_.end()) MarkClosed(key, &it->second, ts_ns);
}

void ConnStitch::MarkClosed(const ConnKey& key, Conn* c, uint64_t ts_ns) {
  if (c->close_ns != 0) return;
  c->close_ns = std::max<uint64_t>(ts_ns, 1);
  closed_.emplace_back(c->close_ns, key);
}

bool ConnStitch::EvictOldestClosed() {
  while (!closed_.empty()) {
    auto [close_ns, key] = closed_.front();
    closed_.pop_front();
    auto it = conns_.find(key);
    // Entries of records already gone (expired, or taken over by a forked
    // process, which reopens them) are skipped.
    if (it == conns_.end() || it->second.close_ns != close_ns) continue;
    Forget(it);
    ++stats_.evicted;
    return true;
  }
  return false;
}

void ConnStitch::Forget(std::map<ConnKey, Conn, ConnKeyLess>::iterator it) {
  const Conn& c = it->second;
  auto [b, e] = by_tuple_.equal_range(TupleKey(c.local_addr, c.local_port, c.peer_addr, c.peer_port));
  for (auto t = b; t != e; ++t) {
    if (t->second == it->first) {
      by_tuple_.erase(t);
      break;
    }
  }
  conns_.erase(it);
}

uint64_t ConnStitch::NetnsOf(uint32_t pid) {
  if (!netns_lookup_) return 0;
  auto it = netns_by_pid_.find(pid);
  if (it != netns_by_pid_.end()) return it->second;
  if (netns_by_pid_.size() >= opts_.max_connections) netns_by_pid_.clear();  // a bound, rarely reached
  return netns_by_pid_[pid] = netns_lookup_(pid);
}

bool ConnStitch::SameNet(const Conn& a, const Conn& b) {
  // Loopback never leaves its namespace; other addresses cross namespaces
  // (pod to pod) with the same tuple at both ends.
  if (!a.loopback || a.netns == 0 || b.netns == 0) return true;
  return a.netns == b.netns;
}

void ConnStitch::OnProcessExit(uint32_t pid, uint64_t ts_ns) {
  netns_by_pid_.erase(pid);
  for (auto it = conns_.lower_bound(ConnKey{pid, 0, INT32_MIN, 0}); it != conns_.end() && it->first.pid == pid; ++it)
    MarkClosed(it->first, &it->second, ts_ns);
}

ConnStitch::Conn* ConnStitch::Inherit(const ConnInfo& conn, const DataChunk& chunk) {
  // The kernel counts a process's positions from its first syscall on the
  // socket: they are the stream's own only if nobody moved a byte before.
  if (chunk.pos != 0 || conn.tls || conn.local_addr.empty() || conn.peer_addr.empty()) return nullptr;
  const std::string tk = TupleKey(conn.local_addr, conn.local_port, conn.peer_addr, conn.peer_port);
  auto [b, e] = by_tuple_.equal_range(tk);
  auto opener = by_tuple_.end();
  for (auto t = b; t != e; ++t) {
    auto o = conns_.find(t->second);
    if (o == conns_.end() || o->first.pid == conn.key.pid) continue;
    if (o->second.netns != 0 && NetnsOf(conn.key.pid) != 0 && o->second.netns != NetnsOf(conn.key.pid)) continue;
    if (o->second.moved || (o->second.close_ns != 0 && o->second.close_ns + opts_.keep_closed_ns < chunk.ts_ns))
      continue;
    if (opener != by_tuple_.end()) return nullptr;  // two candidates: not provable
    opener = t;
  }
  if (opener == by_tuple_.end()) return nullptr;
  auto o = conns_.find(opener->second);
  Conn c = std::move(o->second);
  conns_.erase(o);
  by_tuple_.erase(opener);
  c.close_ns = 0;
  Conn& out = conns_[conn.key] = std::move(c);
  by_tuple_.emplace(tk, conn.key);
  return &out;
}

ConnStitch::Peer ConnStitch::FindClient(const ConnInfo& server, const Conn* server_rec, ConnKey* out) {
  if (server.local_addr.empty() || server.peer_addr.empty()) return Peer::kNone;
  // The client end sees the server's peer as its local address.
  auto [b, e] = by_tuple_.equal_range(TupleKey(server.peer_addr, server.peer_port, server.local_addr, server.local_port));
  int n = 0;
  for (auto it = b; it != e; ++it) {
    auto c = conns_.find(it->second);
    if (c == conns_.end() || c->second.role != Role::kClient) continue;
    if (server_rec != nullptr) {
      // One 4-tuple is one connection at a time: the two ends' lifetimes
      // overlap; an earlier connection with the same ports does not.
      const Conn& cl = c->second;
      if (cl.close_ns != 0 && cl.close_ns < server_rec->open_ns) continue;
      if (server_rec->close_ns != 0 && server_rec->close_ns < cl.open_ns) continue;
      if (!SameNet(*server_rec, cl)) continue;
    }
    *out = it->second;
    ++n;
  }
  return n == 0 ? Peer::kNone : n == 1 ? Peer::kOne : Peer::kMany;
}

bool ConnStitch::HasServer(const Conn& client) {
  auto [b, e] = by_tuple_.equal_range(TupleKey(client.peer_addr, client.peer_port, client.local_addr, client.local_port));
  for (auto it = b; it != e; ++it) {
    auto s = conns_.find(it->second);
    if (s == conns_.end() || s->second.role != Role::kServer) continue;
    const Conn& sv = s->second;
    if (sv.close_ns != 0 && sv.close_ns < client.open_ns) continue;
    if (client.close_ns != 0 && client.close_ns < sv.open_ns) continue;
    if (!SameNet(client, sv)) continue;
    return true;
  }
  return false;
}

ConnStitch::Reserved* ConnStitch::Decide(const ConnInfo& server, const RequestKey& key, uint64_t now_ns,
                                         bool* has_peer) {
  *has_peer = false;
  if (server.role != Role::kServer || !key.valid) return nullptr;
  auto srec = conns_.find(server.key);
  const Conn* sc = srec == conns_.end() ? nullptr : &srec->second;
  ConnKey client{};
  switch (FindClient(server, sc, &client)) {
    case Peer::kNone: return nullptr;  // a client elsewhere, or not traced
    case Peer::kMany:
      *has_peer = true;
      ++stats_.ambiguous;
      return nullptr;
    case Peer::kOne: break;
  }
  *has_peer = true;
  Conn& cc = conns_.at(client);
  if (sc == nullptr || sc->tls || server.tls || cc.tls) {
    ++stats_.not_aligned;
    return nullptr;
  }
  ResKey rk{client, key.pos, key.part};
  auto found = reserved_.find(rk);
  if (found != reserved_.end()) {
    Reserved& r = found->second;
    if (r.refused || r.server_bound || (key.stream_id != 0 && r.stream_id != 0 && r.stream_id != key.stream_id)) {
      ++stats_.ambiguous;
      return nullptr;
    }
    r.server_bound = true;
    r.stream_id = key.stream_id;
    return &r;
  }
  // The client's write that carried the request's first byte: its thread
  // and time are the CLIENT span's, so ThreadLinks can name its parent now.
  const Segment* seg = SegmentAt(cc, key.pos);
  if (seg == nullptr) {
    ++stats_.no_client_bytes;
    // Its CLIENT span, built later, need not record its identity.
    if (reserved_.size() < opts_.max_reservations) {
      Reserved& r = reserved_[rk];
      r.refused = r.server_bound = true;
      r.created_ns = now_ns;
    }
    return nullptr;
  }
  if (reserved_.size() >= opts_.max_reservations) {
    ++stats_.dropped;
    return nullptr;
  }
  Reserved r;
  r.source = kParentSourceNone;
  // A call made on an event loop, in a callback sonde tells apart: its
  // parent is the request that callback serves (the thread rule finds none
  // while the loop has several requests in flight).
  LoopParent lp;
  if (seg->ctx != 0 && loop_parent_) {
    lp = loop_parent_(client, seg->tid, seg->ctx);
    ++(!lp.decided ? stats_.loop_undecided : lp.request ? stats_.loop_linked : stats_.loop_unlinked);
  }
  if (lp.decided) {
    if (lp.request) {
      const ServerIdentity& id = *lp.request;
      r.trace_id = id.trace_id;
      r.parent_id = id.span_id;
      r.trace_state = id.trace_state;
      if (id.flags_known) r.parent_sampled = (id.flags & kTraceFlagSampled) != 0;
      r.thread_linked = true;
      r.source = kParentSourceAsyncTask;
      r.parent_request = id;
    } else {
      r.trace_id = ids_->NewTraceId();
    }
  } else if (std::optional<ThreadLinks::Parent> p = links_->ParentOf(client.pid, seg->tid, seg->ts_ns)) {
    r.trace_id = p->trace_id;
    r.parent_id = p->span_id;
    r.trace_state = p->trace_state;
    r.parent_sampled = p->sampled;
    r.thread_linked = true;
    r.source = kParentSourceThread;
    ServerIdentity id;
    id.trace_id = p->trace_id;
    id.span_id = p->span_id;
    id.trace_state = std::move(p->trace_state);
    id.flags_known = p->sampled.has_value();
    id.flags = p->sampled.value_or(false) ? kTraceFlagSampled : 0;
    r.parent_request = std::move(id);
  } else {
    r.trace_id = ids_->NewTraceId();
  }
  r.span_id = ids_->NewSpanId();
  r.stream_id = key.stream_id;
  r.server_bound = true;
  r.created_ns = now_ns;
  return &(reserved_[rk] = std::move(r));
}

void ConnStitch::Record(const ConnKey& server, const RequestKey& key, const Reserved* parent, uint64_t now_ns) {
  Decision& d = decided_[ResKey{server, key.pos, key.part}];
  d.stitched = parent != nullptr;
  if (parent) d.parent = *parent;
  d.created_ns = now_ns;
  if (parent) ++stats_.stitched;
}

void ConnStitch::OnServerRequest(const RequestStart& r) {
  last_ns_ = std::max(last_ns_, r.start_ns);
  if (r.conn.role != Role::kServer) return;
  RequestKey key{r.pos, 0, 0, true};
  if (ExtractTraceContext(r.trace_headers)) {
    ConnKey ignored;
    if (FindClient(r.conn, nullptr, &ignored) != Peer::kNone) {
      ++stats_.header_wins;
      Record(r.conn.key, key, nullptr, r.start_ns);
    }
    return;
  }
  bool has_peer = false;
  Reserved* p = Decide(r.conn, key, r.start_ns, &has_peer);
  if (!has_peer) return;  // nothing to decide: a client elsewhere
  if (p != nullptr) {
    if (ServerIdentity* id = links_->IdentityOf(r.conn.key, r.tid, r.start_ns)) {
      id->trace_id = p->trace_id;
      id->parent_id = p->span_id;
      id->trace_state = p->trace_state;
      id->flags_known = p->parent_sampled.has_value();
      id->flags = p->parent_sampled.value_or(false) ? kTraceFlagSampled : 0;
    }
  }
  Record(r.conn.key, key, p, r.start_ns);
}

void ConnStitch::PrepareServer(const Message& m) {
  if (m.conn.role != Role::kServer) return;
  RequestKey key = RequestKeyOf(m);
  if (!key.valid || decided_.count(ResKey{m.conn.key, key.pos, key.part})) return;
  // The same check as the span builder's: an incoming traceparent wins.
  if (const auto* h = std::get_if<HttpExchange>(&m.payload)) {
    if (ExtractTraceContext(h->request.headers)) {
      ConnKey ignored;
      if (FindClient(m.conn, nullptr, &ignored) != Peer::kNone) {
        ++stats_.header_wins;
        Record(m.conn.key, key, nullptr, last_ns_);
      }
      return;
    }
  }
  bool has_peer = false;
  Reserved* p = Decide(m.conn, key, last_ns_, &has_peer);
  if (has_peer) Record(m.conn.key, key, p, last_ns_);
}

ConnStitch::Result ConnStitch::ApplyServer(const Message& m, Span* span) {
  if (m.conn.role != Role::kServer) return {};
  RequestKey key = RequestKeyOf(m);
  if (!key.valid) return {};
  ResKey sk{m.conn.key, key.pos, key.part};
  auto it = decided_.find(sk);
  if (it == decided_.end()) {
    PrepareServer(m);
    it = decided_.find(sk);
    if (it == decided_.end()) return {};
  }
  Decision d = std::move(it->second);
  decided_.erase(it);
  if (!d.stitched || HasHeaderParent(*span)) return {};
  // The span id stays: for HTTP/1 it is the one ThreadLinks chose, which the
  // server's own calls already name as their parent.
  span->trace_id = d.parent.trace_id;
  span->parent_span_id = d.parent.span_id;
  span->trace_state = d.parent.trace_state;
  SetSource(span, kParentSourceConnection);
  return Result{true, d.parent.parent_sampled, false, std::nullopt};
}

ConnStitch::Result ConnStitch::AdoptClient(const Message& m, Span* span) {
  if (m.conn.role != Role::kClient) return {};
  RequestKey key = RequestKeyOf(m);
  if (!key.valid) return {};
  auto c = conns_.find(m.conn.key);
  if (c == conns_.end()) return {};
  ResKey rk{m.conn.key, key.pos, key.part};
  auto it = reserved_.find(rk);
  if (it == reserved_.end()) return {};
  Reserved& r = it->second;
  if (r.refused || r.client_built || (key.stream_id != 0 && r.stream_id != 0 && r.stream_id != key.stream_id))
    return {};
  span->trace_id = r.trace_id;
  span->span_id = r.span_id;
  span->parent_span_id = r.parent_id;
  span->trace_state = r.trace_state;
  SetSource(span, r.source.empty() ? kParentSourceNone : r.source);
  ++stats_.adopted;
  Result out{true, r.parent_sampled, r.thread_linked, std::move(r.parent_request)};
  reserved_.erase(it);
  return out;
}

void ConnStitch::NoteClient(const Message& m, const Span& span) {
  if (m.conn.role != Role::kClient) return;
  RequestKey key = RequestKeyOf(m);
  if (!key.valid) return;
  auto c = conns_.find(m.conn.key);
  // Built before its server decided (the server's read was captured
  // later): remember what this span is, for that server.
  if (c == conns_.end() || c->second.tls || !HasServer(c->second)) return;
  if (reserved_.count(ResKey{m.conn.key, key.pos, key.part})) return;  // decided already
  if (reserved_.size() >= opts_.max_reservations) {
    ++stats_.dropped;
    return;
  }
  Reserved r;
  r.trace_id = span.trace_id;
  r.span_id = span.span_id;
  r.parent_id = span.parent_span_id;
  r.trace_state = span.trace_state;
  r.stream_id = key.stream_id;
  r.client_built = true;
  r.created_ns = last_ns_;
  reserved_.emplace(ResKey{m.conn.key, key.pos, key.part}, std::move(r));
}

ThreadLinks::Linked ConnStitch::Link(const Message& m, uint32_t tid, uint64_t start_ns, Span* span) {
  if (m.conn.role == Role::kClient) {
    auto c = conns_.find(m.conn.key);
    if (c != conns_.end()) {
      Result r = AdoptClient(m, span);
      // Its parent, if any, is the thread's request, as ThreadLinks decided.
      if (r.applied) return ThreadLinks::Linked{r.thread_linked, r.parent_sampled};
    }
    ThreadLinks::Linked l = links_->Apply(m, tid, start_ns, span);
    if (c != conns_.end()) NoteClient(m, *span);
    return l;
  }
  ThreadLinks::Linked l = links_->Apply(m, tid, start_ns, span);
  Result r = ApplyServer(m, span);
  if (r.applied) {
    l.parent_linked = true;
    l.parent_sampled = r.parent_sampled;
  }
  return l;
}

void ConnStitch::Expire(uint64_t now_ns) {
  last_ns_ = std::max(last_ns_, now_ns);
  for (auto it = reserved_.begin(); it != reserved_.end();) {
    const Reserved& r = it->second;
    // A CLIENT span's recorded identity only waits for a server read that
    // was captured a little late; one a server took is done.
    const uint64_t keep = r.refused        ? opts_.keep_noted_ns
                          : r.client_built ? (r.server_bound ? 0 : opts_.keep_noted_ns)
                                           : opts_.keep_reserved_ns;
    if (now_ns > r.created_ns + keep) {
      if (r.server_bound && !r.client_built && !r.refused) ++stats_.expired;
      it = reserved_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = decided_.begin(); it != decided_.end();)
    it = now_ns > it->second.created_ns + opts_.keep_reserved_ns ? decided_.erase(it) : std::next(it);
  for (auto it = conns_.begin(); it != conns_.end();) {
    const Conn& c = it->second;
    const bool gone = c.close_ns != 0 ? now_ns > c.close_ns + opts_.keep_closed_ns
                                      : now_ns > c.last_ns + opts_.keep_idle_ns;
    if (!gone) {
      ++it;
      continue;
    }
    Forget(it++);
  }
  // The close log keeps only what may still name a record.
  while (!closed_.empty()) {
    auto c = conns_.find(closed_.front().second);
    if (c != conns_.end() && c->second.close_ns == closed_.front().first) break;
    closed_.pop_front();
  }
  if (closed_.size() > 2 * opts_.max_connections) {
    std::deque<std::pair<uint64_t, ConnKey>> live;
    for (const auto& [ts, key] : closed_) {
      auto c = conns_.find(key);
      if (c != conns_.end() && c->second.close_ns == ts) live.emplace_back(ts, key);
    }
    closed_.swap(live);
  }
}

}  // namespace sonde
