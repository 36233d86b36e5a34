// Owns every live connection's decoder: routes captured chunks to it, infers
// the protocol from the first bytes, and keeps the whole table bounded (LRU
// eviction, idle expiry). Runs on the single hot thread; no locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/types.h"
#include "decoders/message.h"
#include "decoders/stream_decoder.h"

namespace sonde {

struct TrackerOptions {
  size_t max_connections = 16384;
  uint64_t idle_timeout_ns = 300'000'000'000;
  size_t max_pending_per_conn = 256;
  size_t max_pending_bytes_per_conn = 1024 * 1024;
};

struct TrackerStats {
  uint64_t connections_opened = 0;   // table entries created (open seen, or first data)
  uint64_t connections_evicted = 0;  // dropped to stay under max_connections
  uint64_t resyncs = 0;
  uint64_t gaps = 0;
  uint64_t bytes_skipped = 0;
  uint64_t messages = 0;              // messages produced (ready for Drain)
  uint64_t non_http_connections = 0;  // connections whose first bytes matched no decoder
  uint64_t connections_closed = 0;
  uint64_t connections_expired = 0;  // dropped by Expire
  uint64_t non_http_bytes = 0;       // bytes dropped because their connection is not decoded
  uint64_t orphan_responses = 0;
  uint64_t pending_overflows = 0;
  uint64_t tls_connections = 0;       // connections decoded from TLS plaintext
  uint64_t tls_ciphertext_bytes = 0;  // encrypted bytes of those connections, not decoded
};

class ConnectionTracker {
 public:
  explicit ConnectionTracker(TrackerOptions opts = {});
  ~ConnectionTracker();
  ConnectionTracker(const ConnectionTracker&) = delete;
  ConnectionTracker& operator=(const ConnectionTracker&) = delete;

  // accept/connect seen: the stream positions of this connection start at 0.
  void OnOpen(const ConnInfo& info, uint64_t ts_ns);
  // info.role may be kUnknown (the connection predates sonde).
  void OnData(const ConnInfo& info, Direction dir, const DataChunk& chunk);
  void OnClose(const ConnKey& key, uint64_t ts_ns);
  // Closes every connection of that pid.
  void OnProcessExit(uint32_t pid, uint64_t ts_ns);
  // Connections idle for idle_timeout_ns are flushed (as if closed) and dropped.
  void Expire(uint64_t now_ns);
  // Moves completed messages out (appends to *out).
  void Drain(std::vector<Message>* out);
  // Moves out the requests SERVER connections have read since the last call
  // (see RequestStart); they precede the Messages that complete them.
  void DrainRequestStarts(std::vector<RequestStart>* out);

  const TrackerStats& stats() const;
  size_t size() const { return conns_.size(); }
  // Protocol decoding a connection, kUnknown while inferring or when not decoded.
  Protocol ProtocolOf(const ConnKey& key) const;
  // Bytes held by all connections' reassembly buffers and queues.
  size_t buffered_bytes() const;

 private:
  enum class Phase : uint8_t { kInferring, kDecoding, kIgnored };

  // A chunk held while its bytes are too short to tell the protocol.
  struct Stashed {
    Direction dir;
    uint64_t pos;
    uint32_t total_len;
    uint64_t ts_ns;
    uint32_t tid;
    std::string data;
  };

  struct Conn {
    ConnInfo info;
    bool opened_seen = false;
    Phase phase = Phase::kInferring;
    uint8_t attempts = 0;
    bool dir_seen[2] = {false, false};
    std::unique_ptr<StreamDecoder> decoder;
    std::vector<Stashed> stash;
    size_t stash_bytes = 0;
    uint64_t last_ts = 0;
    std::list<ConnKey>::iterator lru;
  };
  using Table = std::unordered_map<ConnKey, Conn, ConnKeyHash>;

  Conn& Lookup(const ConnInfo& info, uint64_t ts_ns, bool* created);
  void Touch(Conn& c, uint64_t ts_ns);
  void Infer(Conn& c, Direction dir, const DataChunk& chunk);
  void StartDecoder(Conn& c, const ProtocolEntry& entry, Role role, Direction dir,
                    const DataChunk& chunk);
  void MarkIgnored(Conn& c, uint64_t extra_bytes);
  void SwitchToTls(Conn& c);
  // Forgets the stashed (not yet classified) bytes of one direction; returns how many.
  static uint64_t DropStash(Conn& c, Direction dir);
  void Collect(Conn& c);
  // Flushes the decoder as if the connection closed, then removes the entry.
  Table::iterator Finish(Table::iterator it, uint64_t ts_ns);

  TrackerOptions opts_;
  DecoderLimits limits_;
  Table conns_;
  std::list<ConnKey> lru_;  // least recently active first
  DecodeCounters counters_;
  mutable TrackerStats stats_;
  std::vector<Message> out_;
  std::vector<RequestStart> starts_;
};

}  // namespace sonde
