// In-process causality for event-loop servers (Python asyncio): a CLIENT
// call made by the task that handles a SERVER request is a child of that
// request's span, even when the loop's thread handles many requests at once
// (where thread_links.h gives up).
//
// What the kernel gives (bpf/async_ctx.h): each data event of a CPython
// process carries the calling thread's current contextvars Context. Every
// asyncio Task runs its steps inside its own Context, created when the task
// is created; so the syscalls made by one task carry one value, and two
// tasks alive at the same time never share it.
//
// How a request's task is recognised: uvicorn (like asyncio servers in
// general) reads a request in the loop's reader callback, creates the
// request's task right there, and that task writes the response
// (transport.write -> send). So the context of the response's first write
// names the request's task. A CLIENT call whose request was written with
// context C at time t, on thread T, belongs to the SERVER request that T
// answered with C and whose [request read, response end] contains t: the
// task was alive over that whole interval, so no other task had C then.
//
// When: a CLIENT call ends before the request that made it is answered, so
// its span is held until the answer is known: until no request of its
// thread that was read before t is still open. Then exactly one matching
// request gives the link; none, or several (a context seen on two requests'
// responses, which a task's own context never is), give no parent. Held
// spans are bounded in number and time; what is released unlinked for those
// reasons is counted.
//
// Node.js (bpf/async_ctx.h, SONDE_ASYNC_CTX_NODE_READ): a syscall made
// inside a native callback scope carries the timestamp of the socket read
// that callback handles. Everything a callback does, including the promise
// continuations run when it ends, follows from that read. So a CLIENT call
// written in the callback of a read on SERVER connection S belongs to the
// request that read carried. A call written in the callback of a read on
// CLIENT connection C belongs to the request that made the call whose reply
// that read completed, decided first. A read that completed replies of calls
// from different requests (one Redis connection shared by all requests)
// leaves its callback's calls without a parent.
//
// A request read and answered in the same context (a thread-per-request
// server whose threads each keep one Context) is linked the same way, with
// sonde.parent.source = "thread".
//
// Limits: calls made by tasks the handler spawns (asyncio.gather,
// create_task: each gets a copy of the Context, a new object) are not linked;
// a response whose first bytes wait in the transport's buffer (a full
// socket) is written later from the loop's writer callback, in another
// context, and its calls are not linked.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "decoders/message.h"
#include "spans/http_common.h"
#include "spans/span.h"
#include "spans/thread_links.h"

namespace sonde {

struct AsyncLinkStats {
  uint64_t held = 0;          // CLIENT spans held until their thread's requests were answered
  uint64_t linked_task = 0;   // given a parent by async task
  uint64_t linked_thread = 0; // given a parent by a context the thread kept across the request
  uint64_t no_match = 0;      // released without parent: no request answered in their context
  uint64_t identity_gone = 0; // the matching request had no span identity (read before sonde looked)
  uint64_t ambiguous = 0;     // several requests matched: no parent
  uint64_t timed_out = 0;     // released without parent: held too long
  uint64_t overflow = 0;      // released without parent: too many held
  uint64_t contexts_lost = 0; // context log full: a connection's contexts were not kept
};

class AsyncLinks {
 public:
  struct Options {
    size_t max_held = 10000;
    uint64_t max_hold_ns = 10'000'000'000ull;
    uint64_t keep_server_ns = 30'000'000'000ull;  // answered requests kept for matching
    size_t max_connections = 65536;               // connections whose contexts are logged
  };
  explicit AsyncLinks(const ThreadLinks* threads) : AsyncLinks(threads, Options()) {}
  AsyncLinks(const ThreadLinks* threads, Options opts) : threads_(threads), opts_(opts) {}

  // A data event that carried a context (Event::async_ctx != 0).
  void OnData(const ConnKey& conn, Direction dir, uint64_t ts_ns, uint64_t ctx);
  // A socket read of a Node.js process (whose callbacks' contexts name reads).
  void OnNodeRead(const ConnInfo& conn, uint64_t ts_ns, uint32_t tid);
  void OnClose(const ConnKey& conn, uint64_t ts_ns);
  void OnProcessExit(uint32_t pid, uint64_t ts_ns);

  // A SERVER exchange was decoded (after ThreadLinks::OnServerDone for it).
  void OnServerDone(const Message& m);

  // Node.js: the parent of a call on `call` written by thread `tid` inside
  // the callback `ctx` names (SONDE_ASYNC_CTX_NODE_READ), if it can be
  // decided now (same-host stitching reserves a call's identity before the
  // call's span is built: conn_stitch.h). Not decided: another context kind,
  // or a call whose reply the callback handles is not decided yet.
  LoopParent ParentNow(const ConnKey& call, uint32_t tid, uint64_t ctx) const;
  // A CLIENT span whose parent was decided elsewhere (stitching, injected
  // ids): the parent request, or none, that the callbacks of its reply
  // continue.
  void OnCallDecided(const Message& m, const std::optional<ServerIdentity>& parent);

  // A CLIENT span just built from `m`. When its request was written in a
  // known context and the span has no parent of its own, the span is taken
  // (moved from *span) and true returned; it comes back through Release.
  bool Hold(const Message& m, Span* span, uint64_t now_ns);

  struct Released {
    Span span;
    bool parent_linked = false;
    std::optional<bool> parent_sampled;  // the parent's flag, when its request carried one
  };
  // Releases the held spans whose parent is now decided (all of them when
  // `all`), linked or not, in the order they were held.
  void Release(uint64_t now_ns, std::vector<Released>* out, bool all = false);
  // Forgets old answered requests and closed connections.
  void Expire(uint64_t now_ns);

  size_t held() const { return held_.size(); }
  const AsyncLinkStats& stats() const { return stats_; }

 private:
  // Contexts of the latest syscalls of one connection, by direction.
  struct ConnLog {
    static constexpr size_t kSlots = 128;
    struct Slot {
      uint64_t ts_ns = 0;
      uint64_t ctx = 0;
    };
    Slot slots[2][kSlots];
    size_t next[2] = {0, 0};
    uint64_t closed_ns = 0;
  };
  struct Answered {
    ConnKey conn;
    uint32_t read_tid = 0;
    uint64_t start_ns = 0;  // request's first byte
    uint64_t end_ns = 0;    // response's last byte
    uint64_t read_ctx = 0;
    uint64_t resp_ctx = 0;
    std::optional<ServerIdentity> id;  // as ThreadLinks chose it when the request was read
  };
  struct ThreadKey {
    uint32_t pid;
    uint32_t tid;
    bool operator==(const ThreadKey& o) const { return pid == o.pid && tid == o.tid; }
  };
  struct ThreadKeyHash {
    size_t operator()(const ThreadKey& k) const { return (static_cast<size_t>(k.pid) << 32) ^ k.tid; }
  };
  struct Held {
    Span span;
    ThreadKey thread;
    uint64_t start_ns = 0;
    uint64_t ctx = 0;
    uint64_t held_ns = 0;
    ConnKey conn;            // Node: the call's own connection, and
    uint64_t reply_end_ns = 0;  // when its reply ended (its NodeCall)
  };
  // Node: a read, by the thread that made it, and the calls of a client
  // connection by the end of their replies.
  struct NodeRead {
    ConnKey conn;
    Role role = Role::kUnknown;
  };
  struct NodeReads {
    std::unordered_map<uint64_t, NodeRead> by_ts;
    std::deque<uint64_t> order;
  };
  struct NodeCall {
    uint64_t start_ns = 0;  // the call's first byte: with the reply's end, which call it is
    uint64_t reply_end_ns = 0;
    bool decided = false;
    // The connection carries one request at a time (HTTP/1, PostgreSQL):
    // a pool hands it to a waiting request when this reply is read.
    bool exclusive = false;
    std::optional<ServerIdentity> parent;
  };
  enum class Verdict { kWait, kNone, kAmbiguous, kLinked };
  // The parent of a call on `call` made by `thread` in the callback `ctx`
  // names; held since `held_ns` (a reply that makes no span is waited for
  // a bounded time).
  Verdict DecideNode(const ThreadKey& thread, uint64_t ctx, const ConnKey& call, uint64_t held_ns,
                     uint64_t now_ns, const ServerIdentity** parent) const;
  // A call on `conn` sent at `start_ns` whose reply ended at `reply_end_ns`;
  // `decided`: its parent is `parent` (its own earlier undecided record, if
  // any, is updated).
  void RecordNodeCall(const ConnKey& conn, uint64_t start_ns, uint64_t reply_end_ns, bool decided, bool exclusive,
                      const std::optional<ServerIdentity>& parent);

  // Context of the syscall of `conn` in `dir` at `ts_ns`; 0 when unknown.
  uint64_t ContextAt(const ConnKey& conn, Direction dir, uint64_t ts_ns) const;
  Released Decide(Held& h);
  static Released Link(Held& h, const ServerIdentity& id, std::string_view source);

  const ThreadLinks* threads_;
  Options opts_;
  std::unordered_map<ConnKey, ConnLog, ConnKeyHash> logs_;
  std::unordered_map<ThreadKey, std::deque<Answered>, ThreadKeyHash> answered_;  // by response thread
  std::unordered_map<ThreadKey, NodeReads, ThreadKeyHash> node_reads_;
  struct NodeCalls {
    std::deque<NodeCall> calls;  // in the order recorded
    // The latest reply end among calls dropped to bound the list: a read
    // up to then may have completed calls no longer known.
    uint64_t forgotten_ns = 0;
  };
  std::unordered_map<ConnKey, NodeCalls, ConnKeyHash> node_calls_;
  std::deque<Held> held_;
  size_t given_up_ = 0;  // held_ entries marked for release without a parent
  AsyncLinkStats stats_;
};

}  // namespace sonde
