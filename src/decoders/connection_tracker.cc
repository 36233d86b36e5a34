#include "decoders/connection_tracker.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace sonde {

namespace {

// Inference looks at most this much of a connection before deciding; a
// protocol that needs more to recognise itself is not worth the memory.
constexpr size_t kMaxStashBytes = 512;
// Connections first seen mid-stream may start inside a body: give them a few
// chunks to show a message start before calling them something else.
constexpr uint8_t kMaxInferAttempts = 8;

uint64_t WireLength(const DataChunk& c) { return std::max<uint64_t>(c.total_len, c.data.size()); }

}  // namespace

ConnectionTracker::ConnectionTracker(TrackerOptions opts) : opts_(opts) {
  limits_.max_pending = std::max<size_t>(1, opts_.max_pending_per_conn);
  limits_.max_pending_bytes = opts_.max_pending_bytes_per_conn;
  limits_.request_starts = &starts_;
  if (opts_.max_connections == 0) opts_.max_connections = 1;
}

ConnectionTracker::~ConnectionTracker() = default;

const TrackerStats& ConnectionTracker::stats() const {
  stats_.resyncs = counters_.resyncs;
  stats_.gaps = counters_.gaps;
  stats_.bytes_skipped = counters_.bytes_skipped;
  stats_.orphan_responses = counters_.orphan_responses;
  stats_.pending_overflows = counters_.pending_overflows;
  return stats_;
}

Protocol ConnectionTracker::ProtocolOf(const ConnKey& key) const {
  auto it = conns_.find(key);
  if (it == conns_.end() || !it->second.decoder) return Protocol::kUnknown;
  return it->second.decoder->protocol();
}

size_t ConnectionTracker::buffered_bytes() const {
  size_t n = 0;
  for (const auto& [key, c] : conns_) {
    n += c.stash_bytes;
    if (c.decoder) n += c.decoder->buffered_bytes();
  }
  return n;
}

ConnectionTracker::Conn& ConnectionTracker::Lookup(const ConnInfo& info, uint64_t ts_ns,
                                                   bool* created) {
  auto it = conns_.find(info.key);
  if (it != conns_.end()) {
    *created = false;
    Conn& c = it->second;
    // Later events may know more than the first one did.
    if (c.info.role == Role::kUnknown && info.role != Role::kUnknown) {
      c.info.role = info.role;
      c.info.role_inferred = info.role_inferred;
    }
    if (c.info.local_addr.empty() && !info.local_addr.empty()) {
      c.info.local_addr = info.local_addr;
      c.info.local_port = info.local_port;
      c.info.peer_addr = info.peer_addr;
      c.info.peer_port = info.peer_port;
    }
    return c;
  }
  while (conns_.size() >= opts_.max_connections && !lru_.empty()) {
    ++stats_.connections_evicted;
    Finish(conns_.find(lru_.front()), ts_ns);
  }
  *created = true;
  ++stats_.connections_opened;
  Conn& c = conns_[info.key];
  c.info = info;
  c.last_ts = ts_ns;
  c.lru = lru_.insert(lru_.end(), info.key);
  return c;
}

void ConnectionTracker::Touch(Conn& c, uint64_t ts_ns) {
  c.last_ts = std::max(c.last_ts, ts_ns);
  lru_.splice(lru_.end(), lru_, c.lru);
}

void ConnectionTracker::OnOpen(const ConnInfo& info, uint64_t ts_ns) {
  bool created = false;
  Conn& c = Lookup(info, ts_ns, &created);
  if (created) c.opened_seen = true;
  Touch(c, ts_ns);
}

void ConnectionTracker::OnData(const ConnInfo& info, Direction dir, const DataChunk& chunk) {
  if (WireLength(chunk) == 0) return;
  bool created = false;
  Conn& c = Lookup(info, chunk.ts_ns, &created);
  Touch(c, chunk.ts_ns);
  if (info.tls != c.info.tls) {
    if (!info.tls) {
      // Ciphertext of a socket whose plaintext is seen: nothing to decode.
      stats_.tls_ciphertext_bytes += WireLength(chunk);
      return;
    }
    SwitchToTls(c);
  }
  switch (c.phase) {
    case Phase::kIgnored: stats_.non_http_bytes += WireLength(chunk); return;
    case Phase::kDecoding:
      c.decoder->OnData(dir, chunk);
      Collect(c);
      return;
    case Phase::kInferring: Infer(c, dir, chunk); return;
  }
}

void ConnectionTracker::Infer(Conn& c, Direction dir, const DataChunk& chunk) {
  const int d = static_cast<int>(dir);
  if (!c.dir_seen[d]) {
    c.dir_seen[d] = true;
    // Decoders take the first chunk they see as the origin; bytes before it
    // are only known to be lost when the open was seen.
    if (c.opened_seen && chunk.pos > 0) {
      ++counters_.gaps;
      counters_.bytes_skipped += chunk.pos;
    }
  }

  // The bytes inference looks at: this direction's stashed prefix plus this chunk.
  std::string joined;
  uint64_t first_pos = chunk.pos;
  bool contiguous = true;
  for (const Stashed& s : c.stash) {
    if (s.dir != dir) continue;
    if (joined.empty()) first_pos = s.pos;
    joined += s.data;
  }
  if (!joined.empty() && first_pos + joined.size() != chunk.pos) contiguous = false;
  if (!contiguous) {
    // The stashed prefix can no longer grow into a start line.
    counters_.bytes_skipped += DropStash(c, dir);
    joined.clear();
    first_pos = chunk.pos;
  }
  std::string_view probe = chunk.data;
  if (!joined.empty()) {
    joined.append(chunk.data.substr(0, kMaxStashBytes));
    probe = joined;
  }

  bool need_more = false;
  for (const ProtocolEntry& entry : Protocols()) {
    InferResult r = entry.infer(dir, probe);
    if (r.verdict == InferVerdict::kYes) {
      StartDecoder(c, entry, r.role, dir, chunk);
      return;
    }
    need_more |= r.verdict == InferVerdict::kNeedMore;
  }

  const bool has_hole = chunk.total_len > chunk.data.size();
  if (need_more && !has_hole && c.stash_bytes + chunk.data.size() <= kMaxStashBytes) {
    c.stash.push_back(
        {dir, chunk.pos, chunk.total_len, chunk.ts_ns, chunk.tid, std::string(chunk.data)});
    c.stash_bytes += chunk.data.size();
    return;
  }
  // The very first bytes of a connection seen from its start are authoritative.
  const bool from_start = c.opened_seen && first_pos == 0;
  if (from_start || ++c.attempts >= kMaxInferAttempts) {
    MarkIgnored(c, WireLength(chunk));
    return;
  }
  counters_.bytes_skipped += WireLength(chunk) + DropStash(c, dir);
}

void ConnectionTracker::StartDecoder(Conn& c, const ProtocolEntry& entry, Role role, Direction dir,
                                     const DataChunk& chunk) {
  if (c.info.role == Role::kUnknown && role != Role::kUnknown) {
    c.info.role = role;
    c.info.role_inferred = true;
  }
  c.decoder = entry.make(c.info, limits_, &counters_);
  c.phase = Phase::kDecoding;
  std::vector<Stashed> stash = std::move(c.stash);
  c.stash.clear();
  c.stash_bytes = 0;
  for (const Stashed& s : stash) {
    DataChunk replay{s.pos, s.total_len, s.data, s.ts_ns, s.tid};
    c.decoder->OnData(s.dir, replay);
  }
  c.decoder->OnData(dir, chunk);
  Collect(c);
}

void ConnectionTracker::SwitchToTls(Conn& c) {
  // What was seen so far was the TLS handshake (or ciphertext): start over
  // with the plaintext stream, which has its own positions.
  ++stats_.tls_connections;
  stats_.tls_ciphertext_bytes += c.stash_bytes;
  if (c.phase == Phase::kIgnored && stats_.non_http_connections > 0) --stats_.non_http_connections;
  c.info.tls = true;
  c.decoder.reset();
  c.phase = Phase::kInferring;
  c.attempts = 0;
  c.dir_seen[0] = c.dir_seen[1] = false;
  c.stash.clear();
  c.stash_bytes = 0;
}

uint64_t ConnectionTracker::DropStash(Conn& c, Direction dir) {
  uint64_t dropped = 0;
  std::erase_if(c.stash, [&](const Stashed& s) {
    if (s.dir != dir) return false;
    dropped += s.data.size();
    c.stash_bytes -= s.data.size();
    return true;
  });
  return dropped;
}

void ConnectionTracker::MarkIgnored(Conn& c, uint64_t extra_bytes) {
  c.phase = Phase::kIgnored;
  ++stats_.non_http_connections;
  stats_.non_http_bytes += extra_bytes + c.stash_bytes;
  c.stash.clear();
  c.stash.shrink_to_fit();
  c.stash_bytes = 0;
}

void ConnectionTracker::Collect(Conn& c) {
  size_t before = out_.size();
  c.decoder->Drain(&out_);
  stats_.messages += out_.size() - before;
}

ConnectionTracker::Table::iterator ConnectionTracker::Finish(Table::iterator it, uint64_t ts_ns) {
  Conn& c = it->second;
  if (c.decoder) {
    c.decoder->OnClose(ts_ns);
    Collect(c);
  }
  lru_.erase(c.lru);
  return conns_.erase(it);
}

void ConnectionTracker::OnClose(const ConnKey& key, uint64_t ts_ns) {
  auto it = conns_.find(key);
  if (it == conns_.end()) return;
  ++stats_.connections_closed;
  Finish(it, ts_ns);
}

void ConnectionTracker::OnProcessExit(uint32_t pid, uint64_t ts_ns) {
  for (auto it = conns_.begin(); it != conns_.end();) {
    if (it->first.pid == pid) {
      ++stats_.connections_closed;
      it = Finish(it, ts_ns);
    } else {
      ++it;
    }
  }
}

void ConnectionTracker::Expire(uint64_t now_ns) {
  // A full scan rather than stopping at the first active LRU entry: syscall
  // timestamps from different CPUs arrive slightly out of order.
  for (auto it = conns_.begin(); it != conns_.end();) {
    const uint64_t last = it->second.last_ts;
    if (now_ns >= last && now_ns - last >= opts_.idle_timeout_ns) {
      ++stats_.connections_expired;
      it = Finish(it, now_ns);
    } else {
      ++it;
    }
  }
}

void ConnectionTracker::Drain(std::vector<Message>* out) {
  if (out->empty()) {
    // The next batch gets room for as many messages as this one up front:
    // growing a vector of Messages one doubling at a time showed in profiles
    // (large reallocations, malloc_consolidate).
    size_t n = out_.size();
    out->swap(out_);
    out_.reserve(n);
  } else {
    std::move(out_.begin(), out_.end(), std::back_inserter(*out));
  }
  out_.clear();
}

void ConnectionTracker::DrainRequestStarts(std::vector<RequestStart>* out) {
  if (out->empty()) {
    size_t n = starts_.size();  // as Drain: the next batch gets this much room up front
    out->swap(starts_);
    starts_.reserve(n);
  } else {
    std::move(starts_.begin(), starts_.end(), std::back_inserter(*out));
  }
  starts_.clear();
}

}  // namespace sonde
