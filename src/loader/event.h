// The loader's output: kernel records decoded into plain C++ values. Data
// bytes point into the ring buffer and are valid only during the callback.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/types.h"

namespace sonde {

enum class EventKind { kData, kOpen, kClose, kExec, kExit, kFork, kListen, kMmapExec };

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

  // kExec / kExit / kFork / kListen / kMmapExec
  uint32_t pid = 0;
  uint32_t ppid = 0;
  uint64_t start_ns = 0;
  std::string_view comm;
  uint16_t port = 0;
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

// What the kernel did to read async contexts (enum sonde_async_stat).
struct AsyncContextCounters {
  uint64_t read = 0;          // data events that carry one
  uint64_t thread_lookups = 0;
  uint64_t no_thread = 0;     // a thread of the runtime had no interpreter state
  uint64_t read_failed = 0;
  uint64_t node_scopes = 0;    // Node callback scopes entered
  uint64_t node_overflow = 0;  // nested deeper than followed
};

struct ProgramStats {
  std::string name;
  uint64_t run_time_ns = 0;
  uint64_t run_count = 0;
};

}  // namespace sonde
