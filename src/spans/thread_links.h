// In-process causality for thread-per-request servers: a CLIENT call made by
// a thread while that thread is handling a SERVER request is a child of that
// request's span (Flask/WSGI threaded servers, C++ thread-per-connection).
//
// How: a SERVER request is reported when it has been read (RequestStart), and
// its span identity is chosen right then (continuing an incoming traceparent,
// else a new trace), so that calls made while it is handled can name it as
// their parent before it ends. Each thread keeps a short history of the
// requests it read: [read, response end] intervals, the end open until the
// SERVER span is built. A CLIENT span started at t on thread T gets a parent
// only when exactly one request of T covers t; when none does, or several do
// (an event loop handling requests concurrently on one thread), the span gets
// no parent: sonde does not guess.
//
// Threads a handler starts inherit its request: a thread created by thread
// P at time t belongs to the one request P was handling at t (found the same
// way), and a CLIENT call it makes while that request is still being handled
// is that request's child. Calls it makes after the request ended, or when P
// handled none or several requests at t, get no parent from it.
//
// Limits: the request must be read on the thread that handles it (thread
// pools that hand work from an I/O thread to a worker, like gRPC's, are not
// linked); a pool thread created by one request and reused by another while
// the first is still being handled is attributed to the first.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

#include "decoders/message.h"
#include "spans/id_generator.h"
#include "spans/span.h"

namespace sonde {

// sonde.parent.source of a CLIENT span linked by thread.
inline constexpr std::string_view kParentSourceThread = "thread";

struct ServerIdentity {
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_id{};       // zero: a new trace
  std::string trace_state;  // of the incoming traceparent
  uint8_t flags = 0;
  bool flags_known = false;  // flags came from a parent (a traceparent, or a stitched CLIENT span)
};

// The parent an event loop's call takes, decided from the callback that made
// it (async_links.h), asked before the call's span is built (conn_stitch.h).
struct LoopParent {
  bool decided = false;                   // false: not known yet
  std::optional<ServerIdentity> request;  // decided: its request, or none
};

// The thread that sent or received a message's request, and when the
// exchange started and ended (monotonic ns).
struct MessageTiming {
  uint32_t tid = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
};
MessageTiming TimingOf(const Message& m);

struct ThreadLinkStats {
  uint64_t server_requests = 0;  // requests given an identity
  uint64_t linked = 0;           // CLIENT spans given a parent by thread
  uint64_t ambiguous = 0;        // CLIENT spans left without parent: several candidates
  uint64_t inherited = 0;        // ... of which linked through the thread that created theirs
  uint64_t kernel_identities = 0;  // requests given the identity the kernel chose
};

class ThreadLinks {
 public:
  explicit ThreadLinks(IdGenerator* ids) : ids_(ids) {}

  // The kernel already chose the identity of the request starting at
  // `stream_pos` on `conn` (traceparent injection: it is the parent of what
  // the thread sends while handling it). OnServerRequest adopts it.
  void OnKernelIdentity(const ConnKey& conn, uint64_t stream_pos, const ServerIdentity& id);
  // A SERVER request was read: choose its span identity (the kernel's, when
  // it reported one for this request).
  void OnServerRequest(const RequestStart& r);
  // The SERVER span of a request ends at `end_ns` (call before Apply for it).
  void OnServerDone(const ConnKey& conn, uint32_t tid, uint64_t start_ns, uint64_t end_ns);
  // Gives a built span the identity or parent decided here: SERVER spans take
  // their preassigned identity; CLIENT spans their thread's request as parent.
  // `tid`/`start_ns` are the thread and first-byte time of the span's request.
  // Returns, for a CLIENT span given a parent, that parent's sampled flag when
  // known (its request carried a traceparent); nullopt otherwise.
  struct Linked {
    bool parent_linked = false;
    std::optional<bool> parent_sampled;
  };
  Linked Apply(const Message& m, uint32_t tid, uint64_t start_ns, Span* span);
  // Thread `creator` of process `pid` created thread `created` at `ts_ns`.
  void OnThreadCreated(uint32_t pid, uint32_t creator, uint32_t created, uint64_t ts_ns);

  // The request a CLIENT call started at `start_ns` on thread (pid, tid)
  // would take as parent (the rule of Apply), for deciding a CLIENT span's
  // identity before it is built (src/spans/conn_stitch.h). Counts like Apply.
  struct Parent {
    TraceId trace_id{};
    SpanId span_id{};
    std::string trace_state;
    std::optional<bool> sampled;  // known when the request carried a traceparent
  };
  std::optional<Parent> ParentOf(uint32_t pid, uint32_t tid, uint64_t start_ns);
  // The identity chosen for a SERVER request at OnServerRequest, to be
  // changed before anything links to it; nullptr when not known.
  ServerIdentity* IdentityOf(const ConnKey& conn, uint32_t tid, uint64_t start_ns);
  // For other ways of linking (async_links.h): the identity chosen for the
  // request read on `conn` by `tid` at `start_ns`, if still remembered; and
  // whether a request `tid` read at or before `at_ns` is still being handled.
  const ServerIdentity* IdentityOf(const ConnKey& conn, uint32_t tid, uint64_t start_ns) const;
  bool AnyOpen(uint32_t pid, uint32_t tid, uint64_t at_ns) const;
  // The latest request read on `conn` by `tid` at or before `at_ns`; null
  // when none, and *ambiguous when two were read by the same syscall.
  const ServerIdentity* LatestOn(const ConnKey& conn, uint32_t tid, uint64_t at_ns, bool* ambiguous) const;
  // Forgets requests that ended (or started) long before `now_ns`.
  void Expire(uint64_t now_ns);

  const ThreadLinkStats& stats() const { return stats_; }

 private:
  struct Entry {
    ConnKey conn;
    uint64_t start_ns = 0;
    uint64_t end_ns = 0;  // 0: still being handled (as far as is known)
    ServerIdentity id;
  };
  struct ThreadKey {
    uint32_t pid;
    uint32_t tid;
    bool operator==(const ThreadKey& o) const { return pid == o.pid && tid == o.tid; }
  };
  struct ThreadKeyHash {
    size_t operator()(const ThreadKey& k) const { return (static_cast<size_t>(k.pid) << 32) ^ k.tid; }
  };

  struct Spawn {
    uint32_t creator = 0;
    uint64_t ts_ns = 0;
  };

  Entry* Find(const ConnKey& conn, uint32_t tid, uint64_t start_ns);
  // The one request of thread `key` in flight at `t_ns`; nullptr for none,
  // and for several (counted in *candidates).
  const Entry* Covering(const ThreadKey& key, uint64_t t_ns, int* candidates) const;
  // The request a thread inherited from the thread that created it (and so
  // on up, a few levels), if it is still being handled at `t_ns`.
  const Entry* Inherited(ThreadKey key, uint64_t t_ns) const;

  struct KernelKey {
    ConnKey conn;
    uint64_t pos;
    bool operator==(const KernelKey& o) const { return conn == o.conn && pos == o.pos; }
  };
  struct KernelKeyHash {
    size_t operator()(const KernelKey& k) const { return ConnKeyHash()(k.conn) ^ (k.pos * 0x9E3779B97F4A7C15ull); }
  };

  IdGenerator* ids_;
  std::unordered_map<ThreadKey, std::deque<Entry>, ThreadKeyHash> threads_;
  std::unordered_map<ThreadKey, Spawn, ThreadKeyHash> spawned_;  // thread -> who created it, when
  std::unordered_map<KernelKey, ServerIdentity, KernelKeyHash> kernel_;
  std::deque<KernelKey> kernel_order_;  // oldest first, to bound kernel_
  ThreadLinkStats stats_;
};

}  // namespace sonde
