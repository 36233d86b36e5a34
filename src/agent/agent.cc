#include "agent/agent.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <memory>
#include <unordered_map>

#include "decoders/connection_tracker.h"
#include "discovery/discovery.h"
#include "exporter/console_exporter.h"
#include "exporter/export_pipeline.h"
#include "exporter/jsonl_exporter.h"
#include "exporter/otlp_grpc_exporter.h"
#include "loader/loader.h"
#include "spans/span_builder.h"
#include "spans/id_generator.h"
#include "spans/resource.h"

namespace sonde {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

uint64_t Now(clockid_t clk) {
  timespec ts;
  clock_gettime(clk, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string HostName() {
  char buf[256] = {};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

std::unique_ptr<ExportPipeline> MakeExporters(const Config& cfg) {
  std::vector<std::unique_ptr<SpanExporter>> exporters;
  for (const OutputSpec& o : cfg.outputs) {
    switch (o.kind) {
      case OutputSpec::Kind::kConsole:
        exporters.push_back(std::make_unique<ConsoleExporter>(stdout));
        break;
      case OutputSpec::Kind::kJsonl:
        exporters.push_back(std::make_unique<JsonlExporter>(o.path));
        break;
      case OutputSpec::Kind::kOtlp: {
        OtlpGrpcExporterOptions opts;
        opts.endpoint = cfg.otlp_endpoint;
        opts.headers = cfg.otlp_headers;
        opts.insecure = cfg.otlp_insecure;
        opts.timeout = std::chrono::milliseconds(cfg.otlp_timeout_ms);
        exporters.push_back(std::make_unique<OtlpGrpcExporter>(opts));
        break;
      }
    }
  }
  ExportPipelineOptions po;
  po.max_queue_size = cfg.bsp_max_queue;
  po.max_export_batch_size = cfg.bsp_max_batch;
  bool console_only = cfg.outputs.size() == 1 && cfg.outputs[0].kind == OutputSpec::Kind::kConsole;
  // A person at a terminal wants to see requests as they happen.
  po.schedule_delay = std::chrono::milliseconds(console_only ? std::min<uint32_t>(cfg.bsp_schedule_delay_ms, 500)
                                                             : cfg.bsp_schedule_delay_ms);
  return std::make_unique<ExportPipeline>(std::move(exporters), po);
}

// Per-process resources, built once from /proc and kept until exec/exit.
class Resources {
 public:
  Resources(Discovery* d, std::string host) : d_(d), host_(std::move(host)) {}
  std::shared_ptr<const Resource> Get(uint32_t pid) {
    auto it = cache_.find(pid);
    if (it != cache_.end()) return it->second;
    const ProcessInfo* info = d_->Info(pid);
    ProcessInfo fallback;
    if (!info) {
      // Already gone (a short-lived client): what the kernel told us.
      fallback.pid = pid;
      auto c = comms_.find(pid);
      if (c != comms_.end()) fallback.comm = fallback.exe_path = c->second;
      info = &fallback;
    }
    auto res = BuildProcessResource(*info, host_);
    if (cache_.size() > 16384) cache_.clear();
    cache_[pid] = res;
    return res;
  }
  void Prime(uint32_t pid, std::string_view comm) {
    if (comms_.size() > 16384) comms_.clear();
    comms_[pid] = std::string(comm);
    cache_.erase(pid);
    Get(pid);
  }
  void Forget(uint32_t pid) {
    cache_.erase(pid);
    comms_.erase(pid);
  }

 private:
  Discovery* d_;
  std::string host_;
  std::unordered_map<uint32_t, std::shared_ptr<const Resource>> cache_;
  std::unordered_map<uint32_t, std::string> comms_;
};

}  // namespace

int RunAgent(const Config& cfg) {
  uint32_t self = static_cast<uint32_t>(getpid());
  Discovery discovery(cfg.select, self);

  LoaderOptions lo;
  lo.capture_bytes = cfg.capture_bytes;
  lo.trace_all = discovery.trace_all();
  std::string error;
  std::unique_ptr<Loader> loader = Loader::Open(lo, &error);
  if (!loader) {
    fprintf(stderr, "sonde: %s\n", error.c_str());
    return 1;
  }
  std::vector<uint32_t> initial = discovery.InitialScan();
  for (uint32_t pid : initial) loader->SelectPid(pid);
  if (!discovery.trace_all() && initial.empty())
    spdlog::info("no process matches the selectors yet; waiting for one to start");

  std::unique_ptr<ExportPipeline> pipeline = MakeExporters(cfg);
  ConnectionTracker tracker;
  IdGenerator ids;
  SpanOptions so;
  HttpSpanOptions& ho = so.http;
  ho.route_patterns = cfg.routes;
  ho.capture_request_headers = cfg.capture_request_headers;
  ho.capture_response_headers = cfg.capture_response_headers;
  ho.redact_query_values = cfg.redact_query;
  ho.known_methods = cfg.known_http_methods;
  int64_t mono_to_unix = static_cast<int64_t>(Now(CLOCK_REALTIME)) - static_cast<int64_t>(Now(CLOCK_MONOTONIC));
  so.db.sanitize_query = cfg.sanitize_db_queries;
  SpanBuilder builder(so, &ids, mono_to_unix);
  Resources resources(&discovery, HostName());

  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  uint64_t spans_made = 0;
  Loader::Callback on_event = [&](const Event& ev) {
    switch (ev.kind) {
      case EventKind::kData:
        if (discovery.IsSelected(ev.conn.key.pid)) tracker.OnData(ev.conn, ev.dir, ev.chunk);
        break;
      case EventKind::kOpen:
        if (discovery.IsSelected(ev.conn.key.pid)) tracker.OnOpen(ev.conn, ev.ts_ns);
        break;
      case EventKind::kClose:
        tracker.OnClose(ev.conn.key, ev.ts_ns);
        break;
      case EventKind::kExec: {
        bool was = discovery.IsSelected(ev.pid);
        bool now = discovery.OnExec(ev.pid);
        if (now) {
          if (!discovery.trace_all()) loader->SelectPid(ev.pid);
          resources.Prime(ev.pid, ev.comm);
          spdlog::debug("tracing pid {} ({})", ev.pid, ev.comm);
        } else if (was) {
          loader->UnselectPid(ev.pid);
          resources.Forget(ev.pid);
        }
        break;
      }
      case EventKind::kFork:
        if (discovery.OnFork(ev.ppid, ev.pid)) resources.Prime(ev.pid, ev.comm);
        break;
      case EventKind::kExit:
        tracker.OnProcessExit(ev.pid, ev.ts_ns);
        discovery.OnExit(ev.pid);
        break;
      case EventKind::kListen:
        if (discovery.OnListen(ev.pid, ev.port) && !discovery.trace_all()) loader->SelectPid(ev.pid);
        break;
    }
  };

  auto emit_spans = [&]() {
    std::vector<Message> msgs;
    tracker.Drain(&msgs);
    for (const Message& m : msgs) {
      Span s = builder.Build(m, resources.Get(m.conn.key.pid));
      pipeline->Push(std::move(s));
      ++spans_made;
    }
  };

  fprintf(stderr, "sonde ready: %zu probes attached, tracing %s\n", loader->attached_programs(),
          discovery.trace_all() ? "all processes" : (std::to_string(initial.size()) + " process(es) so far").c_str());
  fflush(stderr);

  uint64_t last_expire = Now(CLOCK_MONOTONIC), last_sweep = last_expire;
  while (!g_stop.load()) {
    if (loader->Poll(20, on_event) < 0 && !g_stop.load()) {
      spdlog::error("ring buffer poll failed");
      break;
    }
    emit_spans();
    uint64_t now = Now(CLOCK_MONOTONIC);
    if (now - last_expire > 1000000000ull) {
      tracker.Expire(now);
      last_expire = now;
    }
    if (now - last_sweep > 10000000000ull) {
      loader->SweepDeadProcesses();
      last_sweep = now;
    }
  }

  // Deliver what is still queued in the kernel, then flush and detach.
  loader->Poll(0, on_event);
  emit_spans();
  pipeline->Shutdown();
  DropCounters d = loader->ReadDrops();
  ExportPipelineStats es = pipeline->stats();
  const TrackerStats& ts = tracker.stats();
  spdlog::info(
      "stopping: {} spans made, {} exported, {} dropped (queue full {}, export failed {}, at shutdown {}); "
      "kernel drops: ring buffer full {}, truncated events {} ({} bytes), conn map full {}, args map full {}, "
      "iovec limit {}, unreadable {}; decoders: {} resyncs, {} gaps, {} bytes skipped, {} non-HTTP connections",
      spans_made, es.exported, es.dropped_queue_full + es.export_failed_spans + es.dropped_shutdown,
      es.dropped_queue_full, es.export_failed_spans, es.dropped_shutdown, d.ringbuf_full, d.truncated_events,
      d.truncated_bytes, d.conn_map_full, d.args_map_full, d.iov_limit, d.read_failed, ts.resyncs, ts.gaps,
      ts.bytes_skipped, ts.non_http_connections);
  loader.reset();
  return 0;
}

}  // namespace sonde
