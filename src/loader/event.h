// The loader's output: kernel records decoded into plain C++ values. Data
// bytes point into the ring buffer and are valid only during the callback.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/types.h"

namespace sonde {

enum class EventKind { kData, kOpen, kClose, kExec, kExit, kFork, kListen, kMmapExec, kInject, kServerContext, kThread };

// A traceparent the kernel inserted into an outgoing HTTP/1 request
// (sk_msg): the connection as (pid, addresses, ports), the egress stream
// offset of the request's first byte, and the ids that were sent.
struct InjectedTraceparent {
  uint32_t pid = 0;
  uint32_t tid = 0;
  std::string local_addr;
  uint16_t local_port = 0;
  std::string peer_addr;
  uint16_t peer_port = 0;
  uint64_t stream_pos = 0;
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};
  std::array<uint8_t, 8> parent_id{};  // zero: the CLIENT span is a root
  uint8_t flags = 0;
  uint64_t ts_ns = 0;
};

// With injection on: the span identity the kernel gave a SERVER request when
// its first bytes were read (the parent of what the thread then sends).
struct KernelServerIdentity {
  ConnKey conn;
  uint64_t stream_pos = 0;  // ingress offset of the request's first byte
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};
  std::array<uint8_t, 8> parent_id{};  // from its traceparent; zero: a new trace
  uint8_t flags = 0;
};

struct Event {
  EventKind kind = EventKind::kData;
  uint32_t tid = 0;
  uint64_t ts_ns = 0;  // CLOCK_MONOTONIC

  // kData / kOpen / kClose
  ConnInfo conn;  // role as known in the kernel (kUnknown for pre-existing connections)
  // kData
  Direction dir = Direction::kEgress;
  DataChunk chunk;
  // The calling thread's async context (CPython: its current contextvars
  // Context), 0 when unknown.
  uint64_t async_ctx = 0;

  // kExec / kExit / kFork / kListen / kMmapExec / kThread
  uint32_t pid = 0;
  uint32_t new_tid = 0;  // kThread: the thread `tid` created
  uint32_t ppid = 0;
  uint64_t start_ns = 0;
  std::string_view comm;
  uint16_t port = 0;

  // kInject
  InjectedTraceparent inject;
  // kServerContext
  KernelServerIdentity server_ctx;
};

// Drop counters by reason, summed over CPUs (see enum sonde_drop_reason).
struct DropCounters {
  uint64_t ringbuf_full = 0;
  uint64_t truncated_events = 0;
  uint64_t truncated_bytes = 0;
  uint64_t conn_map_full = 0;
  uint64_t args_map_full = 0;
  uint64_t iov_limit = 0;
  uint64_t read_failed = 0;
  uint64_t tls_unbound = 0;  // TLS plaintext seen before its socket was known
};

// What the traceparent injector did, by outcome (enum sonde_inject_outcome).
struct InjectCounters {
  uint64_t injected = 0;
  uint64_t has_traceparent = 0;
  uint64_t headers_split = 0;
  uint64_t not_selected = 0;
  uint64_t push_failed = 0;
  uint64_t stop_not_http1 = 0;
  uint64_t stop_chunked = 0;
  uint64_t stop_upgrade = 0;
  uint64_t stop_too_large = 0;
  uint64_t sockhash_full = 0;
  uint64_t event_lost = 0;  // not injected: no room in the ring buffer for the report
  uint64_t beyond_capture = 0;  // not injected: header block beyond the captured bytes of its write
};

// What the kernel did to read async contexts (enum sonde_async_stat).
struct AsyncContextCounters {
  uint64_t read = 0;          // data events that carry one
  uint64_t thread_lookups = 0;
  uint64_t no_thread = 0;     // a thread of the runtime had no interpreter state
  uint64_t read_failed = 0;
  uint64_t node_scopes = 0;    // Node callback scopes entered
  uint64_t node_overflow = 0;  // nested deeper than followed
  uint64_t node_deferring = 0; // scopes that run no task queues (nested, or kSkipTaskQueues)
};

struct ProgramStats {
  std::string name;
  uint64_t run_time_ns = 0;
  uint64_t run_count = 0;
};

}  // namespace sonde
