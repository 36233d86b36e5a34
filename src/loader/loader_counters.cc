// What the kernel side counted: per-CPU drop, injection and async-context
// counters summed over the CPUs, and each program's run time and count
// (kernel.bpf_stats_enabled).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <vector>

#include "async_ctx.h"
#include "events.h"
#include "loader/loader.h"
#include "sonde.skel.h"

namespace sonde {

std::vector<ProgramStats> Loader::ReadProgramStats() const {
  std::vector<ProgramStats> out;
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj) {
    bpf_prog_info info = {};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) != 0) continue;
    out.push_back({bpf_program__name(prog), info.run_time_ns, info.run_cnt});
  }
  return out;
}

namespace {

// A per-CPU array counter summed over the CPUs; 0 when it cannot be read.
uint64_t SumPerCpu(const bpf_map* map, uint32_t key) {
  static const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return 0;
  std::vector<uint64_t> vals(static_cast<size_t>(ncpu));
  if (bpf_map__lookup_elem(map, &key, sizeof(key), vals.data(), vals.size() * sizeof(uint64_t), 0) != 0) return 0;
  uint64_t s = 0;
  for (uint64_t v : vals) s += v;
  return s;
}

}  // namespace

AsyncContextCounters Loader::ReadAsyncCounters() const {
  AsyncContextCounters c;
  auto sum = [&](uint32_t key) { return SumPerCpu(skel_->maps.async_ctx_stats, key); };
  c.read = sum(SONDE_ASYNC_CTX_READ);
  c.thread_lookups = sum(SONDE_ASYNC_THREAD_LOOKUPS);
  c.no_thread = sum(SONDE_ASYNC_NO_THREAD);
  c.read_failed = sum(SONDE_ASYNC_READ_FAILED);
  c.node_scopes = sum(SONDE_ASYNC_NODE_SCOPES);
  c.node_overflow = sum(SONDE_ASYNC_NODE_OVERFLOW);
  c.node_deferring = sum(SONDE_ASYNC_NODE_DEFERRING);
  return c;
}

DropCounters Loader::ReadDrops() const {
  DropCounters d;
  auto sum = [&](uint32_t key) { return SumPerCpu(skel_->maps.drops, key); };
  d.ringbuf_full = sum(SONDE_DROP_RINGBUF_FULL);
  d.truncated_events = sum(SONDE_DROP_TRUNCATED);
  d.truncated_bytes = sum(SONDE_DROP_TRUNCATED_BYTES);
  d.conn_map_full = sum(SONDE_DROP_CONN_MAP_FULL);
  d.args_map_full = sum(SONDE_DROP_ARGS_MAP_FULL);
  d.iov_limit = sum(SONDE_DROP_IOV_LIMIT);
  d.read_failed = sum(SONDE_DROP_READ_FAILED);
  d.tls_unbound = sum(SONDE_DROP_TLS_UNBOUND);
  return d;
}

InjectCounters Loader::ReadInjectCounters() const {
  InjectCounters c;
  auto sum = [&](uint32_t key) { return SumPerCpu(skel_->maps.inject_counts, key); };
  c.injected = sum(SONDE_INJ_INJECTED);
  c.has_traceparent = sum(SONDE_INJ_HAS_TRACEPARENT);
  c.headers_split = sum(SONDE_INJ_HEADERS_SPLIT);
  c.not_selected = sum(SONDE_INJ_NOT_SELECTED);
  c.push_failed = sum(SONDE_INJ_PUSH_FAILED);
  c.stop_not_http1 = sum(SONDE_INJ_STOP_NOT_HTTP1);
  c.stop_chunked = sum(SONDE_INJ_STOP_CHUNKED);
  c.stop_upgrade = sum(SONDE_INJ_STOP_UPGRADE);
  c.stop_too_large = sum(SONDE_INJ_STOP_TOO_LARGE);
  c.sockhash_full = sum(SONDE_INJ_SOCKHASH_FULL);
  c.event_lost = sum(SONDE_INJ_EVENT_LOST);
  c.beyond_capture = sum(SONDE_INJ_BEYOND_CAPTURE);
  return c;
}

}  // namespace sonde
