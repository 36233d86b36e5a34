// Same-host stitching: when both ends of a TCP connection are traced by this
// sonde, the SERVER span of a request becomes the child of the CLIENT span
// that sent it, with no header in the request.
//
// Which connection: the server connection's (local, peer) address pair is
// the client connection's reversed, and their lifetimes overlap (a 4-tuple
// names one connection at a time). More than one candidate: no stitch.
//
// Which request: by stream position. Both ends count the bytes of the
// connection from its open (connect and accept both seen by sonde), so the
// client's request written at egress offset X is the request the server
// reads at ingress offset X: the same bytes, so the same decoder output
// (HTTP/1 request line, HTTP/2 HEADERS frame, Redis command, PostgreSQL
// message; plus the statement's index in a multi-statement Query). A side
// seen only from mid-stream, or TLS plaintext (whose positions start where
// its socket was bound), cannot prove the alignment: no stitch.
//
// When: the SERVER side usually needs the CLIENT span's identity first (an
// HTTP/1 server's identity is chosen when its request is read, so that its
// own outgoing calls can link to it; and servers answer before clients read
// the answer). So the CLIENT span's identity (span id, and the trace and
// parent ThreadLinks gives the calling thread) is reserved from the client's
// write captured at that position, and the CLIENT span adopts it when built.
// When the CLIENT span is built first, its identity is recorded instead and
// the SERVER side takes that. Reservations are bounded and expire.
//
// An incoming traceparent wins: such a request is not stitched.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "decoders/message.h"
#include "spans/id_generator.h"
#include "spans/span.h"
#include "spans/thread_links.h"

namespace sonde {

// sonde.parent.source of a SERVER span whose parent is the CLIENT span of
// the same connection.
inline constexpr std::string_view kParentSourceConnection = "connection";

struct ConnStitchStats {
  uint64_t stitched = 0;         // SERVER spans (or HTTP/1 requests) given the CLIENT span as parent
  uint64_t adopted = 0;          // CLIENT spans built with the identity reserved for them
  uint64_t header_wins = 0;      // the request carried a traceparent: not stitched
  uint64_t not_aligned = 0;      // both ends here, but one not seen from its open, or TLS
  uint64_t ambiguous = 0;        // several candidate connections, or a request key seen twice
  uint64_t no_client_bytes = 0;  // the client's bytes at that position were not seen (yet)
  uint64_t expired = 0;          // reserved CLIENT identities never claimed by a CLIENT span
  uint64_t dropped = 0;          // connections or reservations not recorded: table full
  uint64_t evicted = 0;          // closed connections forgotten early to make room for new ones
  // Reservations for calls made on an event loop whose callback sonde tells
  // apart (Node.js): parent decided from the callback, none (the callback's
  // request is unknown or ambiguous), or not decidable yet (thread rule).
  uint64_t loop_linked = 0;
  uint64_t loop_unlinked = 0;
  uint64_t loop_undecided = 0;
};


struct ConnStitchOptions {
  size_t max_connections = 16384;
  size_t max_reservations = 65536;
  // Client writes kept per connection: every one of the last
  // `segments_window_ns` (the server side decides when the agent drains its
  // batch, and a busy connection makes many writes per batch), else the
  // last `segments_per_connection`; never more than `max_segments_per_connection`.
  size_t segments_per_connection = 32;
  uint64_t segments_window_ns = 500'000'000ull;
  size_t max_segments_per_connection = 65536;
  uint64_t keep_closed_ns = 30'000'000'000ull;
  uint64_t keep_idle_ns = 600'000'000'000ull;
  uint64_t keep_reserved_ns = 60'000'000'000ull;
  uint64_t keep_noted_ns = 5'000'000'000ull;  // a CLIENT span's identity no server took yet
};

// A request's name on its connection, the same at both ends.
struct RequestKey {
  uint64_t pos = 0;
  uint32_t part = 0;       // PostgreSQL: statement index within a Query
  uint32_t stream_id = 0;  // HTTP/2: checked at both ends
  bool valid = false;
};
RequestKey RequestKeyOf(const Message& m);

class ConnStitch {
 public:
  ConnStitch(IdGenerator* ids, ThreadLinks* links, ConnStitchOptions opts = {});

  // How to tell a process's network namespace (an inode number; 0 when
  // unknown). With it, loopback connections pair only within one namespace
  // (the same 127.0.0.1 ports can exist in two containers at once). Asked
  // once per process, the answer kept until the process exits.
  void SetNetnsLookup(std::function<uint64_t(uint32_t pid)> f) { netns_lookup_ = std::move(f); }
  // How to link a call written on an event loop inside a callback sonde
  // tells apart (`ctx`: the data event's async context, nonzero), given the
  // call's connection and thread. Without it, or when it answers "not yet",
  // a reservation's parent comes from the thread rule.
  using LoopParentLookup = std::function<LoopParent(const ConnKey& call, uint32_t tid, uint64_t ctx)>;
  void SetLoopParentLookup(LoopParentLookup f) { loop_parent_ = std::move(f); }

  // Capture events of traced processes, in ring buffer order.
  void OnOpen(const ConnInfo& conn, uint64_t ts_ns);
  // `async_ctx`: the event's async context (Event::async_ctx), 0 when none.
  void OnData(const ConnInfo& conn, Direction dir, const DataChunk& chunk, uint64_t async_ctx = 0);
  void OnClose(const ConnKey& key, uint64_t ts_ns);
  void OnProcessExit(uint32_t pid, uint64_t ts_ns);

  // An HTTP/1 SERVER request was read and ThreadLinks gave it an identity
  // (call after OnServerRequest and after this batch's SERVER ends were
  // recorded there): when its client is here, that identity joins the
  // client's trace before anything links to it. The decision is final.
  void OnServerRequest(const RequestStart& r);
  // A SERVER message about to be built: decides its stitch now, so that a
  // CLIENT span built earlier in the same batch finds its reservation.
  void PrepareServer(const Message& m);

  // Gives a built span its links, in place of ThreadLinks::Apply (which it
  // calls): a SERVER span stitched to its CLIENT span; a CLIENT span the
  // identity reserved for it, else ThreadLinks' parent. `tid`/`start_ns` as
  // for ThreadLinks::Apply. parent_linked: the parent is a span sonde made.
  ThreadLinks::Linked Link(const Message& m, uint32_t tid, uint64_t start_ns, Span* span);

  struct Result {
    bool applied = false;
    std::optional<bool> parent_sampled;  // the parent's sampled flag, when known
    bool thread_linked = false;          // AdoptClient: the parent is a request of its process
    // AdoptClient: that request's identity (what the event loop's later
    // callbacks of this call's reply continue), when the parent is one.
    std::optional<ServerIdentity> parent_request;
  };
  // A built SERVER span: the CLIENT span becomes its parent.
  Result ApplyServer(const Message& m, Span* span);
  // A built CLIENT span: takes the identity reserved for it, if any.
  Result AdoptClient(const Message& m, Span* span);
  // A CLIENT span built with no reservation: its identity is recorded for a
  // SERVER side decided later, when its server end is here.
  void NoteClient(const Message& m, const Span& span);

  void Expire(uint64_t now_ns);

  const ConnStitchStats& stats() const { return stats_; }
  size_t connections() const { return conns_.size(); }
  size_t reservations() const { return reserved_.size(); }

 private:
  struct Segment {
    uint64_t pos = 0;
    uint64_t len = 0;
    uint64_t ts_ns = 0;
    uint32_t tid = 0;
    uint64_t ctx = 0;  // the write's async context
  };
  struct Conn {
    Role role = Role::kUnknown;
    std::string local_addr, peer_addr;
    uint16_t local_port = 0, peer_port = 0;
    uint64_t open_ns = 0;
    uint64_t close_ns = 0;  // 0: open
    uint64_t last_ns = 0;
    bool tls = false;
    bool moved = false;  // a data event was seen
    bool loopback = false;
    uint64_t netns = 0;  // 0: unknown
    std::deque<Segment> egress;  // recent client writes, in capture order
  };
  struct ConnKeyLess {
    bool operator()(const ConnKey& a, const ConnKey& b) const;
  };
  // The identity of one CLIENT span, reserved or recorded.
  struct Reserved {
    TraceId trace_id{};
    SpanId span_id{};
    SpanId parent_id{};  // zero: the CLIENT span is a root
    std::string trace_state;
    std::optional<bool> parent_sampled;
    bool thread_linked = false;  // the parent is a request of the client's process
    std::string_view source;     // sonde.parent.source of the CLIENT span
    std::optional<ServerIdentity> parent_request;
    uint32_t stream_id = 0;
    bool server_bound = false;  // a SERVER request took it as parent
    bool refused = false;       // the SERVER request was decided unstitched: nothing to record
    bool client_built = false;  // the CLIENT span was built with it
    uint64_t created_ns = 0;
  };
  struct ResKey {
    ConnKey conn;
    uint64_t pos;
    uint32_t part;
    bool operator==(const ResKey& o) const { return conn == o.conn && pos == o.pos && part == o.part; }
  };
  struct ResKeyHash {
    size_t operator()(const ResKey& k) const {
      return ConnKeyHash()(k.conn) ^ (k.pos * 0x9E3779B97F4A7C15ull) ^ (static_cast<size_t>(k.part) << 17);
    }
  };
  // A SERVER request's outcome, decided before its span is built.
  struct Decision {
    bool stitched = false;
    Reserved parent;  // the CLIENT span's identity, when stitched
    uint64_t created_ns = 0;
  };

  enum class Peer { kNone, kOne, kMany };
  // The traced CLIENT connection at the other end of a SERVER connection.
  Peer FindClient(const ConnInfo& server, const Conn* server_rec, ConnKey* out);
  // The SERVER connection at the other end of a CLIENT connection exists.
  bool HasServer(const Conn& client);
  // The client write that carried the byte at `pos`.
  static const Segment* SegmentAt(const Conn& c, uint64_t pos);
  // A socket first seen through data in one process that another process
  // opened (accepted, then forked: a PostgreSQL backend) continues that
  // record when the opener moved no byte and this is the stream's start.
  Conn* Inherit(const ConnInfo& conn, const DataChunk& chunk);
  // The reservation the SERVER request `key` on `server` takes as parent;
  // *has_peer tells whether a client end is here at all.
  Reserved* Decide(const ConnInfo& server, const RequestKey& key, uint64_t now_ns, bool* has_peer);
  void Record(const ConnKey& server, const RequestKey& key, const Reserved* parent, uint64_t now_ns);
  // A connection's end: closed records are forgotten oldest first when the
  // table is full, so a host that opens many short connections never makes
  // new ones unstitchable while old closed ones wait out keep_closed_ns.
  void MarkClosed(const ConnKey& key, Conn* c, uint64_t ts_ns);
  bool EvictOldestClosed();
  void Forget(std::map<ConnKey, Conn, ConnKeyLess>::iterator it);
  uint64_t NetnsOf(uint32_t pid);
  // Both ends can be the two ends of one connection, as far as namespaces tell.
  static bool SameNet(const Conn& a, const Conn& b);
  static std::string TupleKey(const std::string& a, uint16_t ap, const std::string& b, uint16_t bp);

  IdGenerator* ids_;
  ThreadLinks* links_;
  ConnStitchOptions opts_;
  std::map<ConnKey, Conn, ConnKeyLess> conns_;  // by pid first: a process exit is one range
  std::unordered_multimap<std::string, ConnKey> by_tuple_;  // "local|peer" as seen from that end
  std::deque<std::pair<uint64_t, ConnKey>> closed_;          // (close_ns, connection), in close order
  std::unordered_map<ResKey, Reserved, ResKeyHash> reserved_;  // by CLIENT connection
  std::unordered_map<ResKey, Decision, ResKeyHash> decided_;   // by SERVER connection
  uint64_t last_ns_ = 0;
  std::function<uint64_t(uint32_t)> netns_lookup_;
  LoopParentLookup loop_parent_;
  std::unordered_map<uint32_t, uint64_t> netns_by_pid_;
  ConnStitchStats stats_;
};

}  // namespace sonde
