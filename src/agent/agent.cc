#include "agent/agent.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "agent/resources.h"
#include "agent/tracing_set.h"
#include "decoders/connection_tracker.h"
#include "discovery/k8s/config_watcher.h"
#include "discovery/k8s/pod_cache.h"
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

// A config file changed on disk (ConfigMap update): parsed on the watcher's
// thread, applied on the hot thread.
class PendingReload {
 public:
  void Offer(const Config& c) {
    std::lock_guard<std::mutex> lock(mu_);
    next_ = c;
    has_ = true;
  }
  bool Take(Config* out) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!has_) return false;
    *out = next_;
    has_ = false;
    return true;
  }

 private:
  std::mutex mu_;
  Config next_;
  bool has_ = false;
};

SpanOptions MakeSpanOptions(const Config& cfg) {
  SpanOptions so;
  so.http.route_patterns = cfg.routes;
  so.http.capture_request_headers = cfg.capture_request_headers;
  so.http.capture_response_headers = cfg.capture_response_headers;
  so.http.redact_query_values = cfg.redact_query;
  so.http.known_methods = cfg.known_http_methods;
  so.db.sanitize_query = cfg.sanitize_db_queries;
  return so;
}

}  // namespace

int RunAgent(const Config& initial_cfg) {
  Config cfg = initial_cfg;
  uint32_t self = static_cast<uint32_t>(getpid());

  std::unique_ptr<PodCache> pods;
  if (cfg.kubernetes.enabled) {
    KubeApiOptions ko;
    ko.api_server = cfg.kubernetes.api_server;
    ko.token_path = cfg.kubernetes.token_path;
    ko.ca_path = cfg.kubernetes.ca_path;
    ko.node_name = cfg.kubernetes.node_name;
    pods = std::make_unique<PodCache>(ko);
    pods->Start();
    if (!pods->WaitSynced(std::chrono::seconds(5)))
      spdlog::warn("the pod list from {} is not in yet; pods are matched as it arrives", ko.api_server);
  }
  TracingSet traced(cfg.select, cfg.kubernetes, pods.get(), self);

  LoaderOptions lo;
  lo.capture_bytes = cfg.capture_bytes;
  lo.trace_all = traced.kernel_traces_all();
  std::string error;
  std::unique_ptr<Loader> loader = Loader::Open(lo, &error);
  if (!loader) {
    fprintf(stderr, "sonde: %s\n", error.c_str());
    return 1;
  }
  traced.Attach(loader.get());
  if (!traced.kernel_traces_all() && traced.size() == 0)
    spdlog::info("no process matches the selectors yet; waiting for one to start");

  std::unique_ptr<ExportPipeline> pipeline = MakeExporters(cfg);
  ConnectionTracker tracker;
  IdGenerator ids;
  int64_t mono_to_unix = static_cast<int64_t>(Now(CLOCK_REALTIME)) - static_cast<int64_t>(Now(CLOCK_MONOTONIC));
  auto builder = std::make_unique<SpanBuilder>(MakeSpanOptions(cfg), &ids, mono_to_unix);
  Resources resources(&traced, HostName());

  PendingReload reload;
  std::unique_ptr<ConfigWatcher> watcher;
  if (!cfg.config_path.empty()) {
    std::map<std::string, std::string> env = CurrentEnvironment();
    watcher = std::make_unique<ConfigWatcher>(cfg.config_path, [&reload, env, path = cfg.config_path](const std::string& text) {
      Config next;
      std::string err = ParseConfigFile(text, path, env, &next);
      if (!err.empty()) {
        spdlog::error("config change rejected, keeping the running config: {}", err);
        return;
      }
      reload.Offer(next);
    });
    std::string werr = watcher->Start();
    if (!werr.empty()) spdlog::warn("config file changes will not be applied: {}", werr);
  }

  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  uint64_t spans_made = 0;
  Loader::Callback on_event = [&](const Event& ev) {
    switch (ev.kind) {
      case EventKind::kData:
        if (traced.IsTraced(ev.conn.key.pid)) tracker.OnData(ev.conn, ev.dir, ev.chunk);
        break;
      case EventKind::kOpen:
        if (traced.IsTraced(ev.conn.key.pid)) tracker.OnOpen(ev.conn, ev.ts_ns);
        break;
      case EventKind::kClose:
        tracker.OnClose(ev.conn.key, ev.ts_ns);
        break;
      case EventKind::kExec:
        resources.Forget(ev.pid);
        traced.OnExec(ev.pid);
        if (traced.IsTraced(ev.pid)) {
          resources.Prime(ev.pid, ev.comm);
          spdlog::debug("tracing pid {} ({})", ev.pid, ev.comm);
        }
        break;
      case EventKind::kFork:
        traced.OnFork(ev.ppid, ev.pid);
        if (traced.IsTraced(ev.pid)) resources.Prime(ev.pid, ev.comm);
        break;
      case EventKind::kExit:
        tracker.OnProcessExit(ev.pid, ev.ts_ns);
        traced.OnExit(ev.pid);
        break;
      case EventKind::kListen:
        traced.OnListen(ev.pid, ev.port);
        break;
    }
  };

  auto emit_spans = [&]() {
    std::vector<Message> msgs;
    tracker.Drain(&msgs);
    for (const Message& m : msgs) {
      Span s = builder->Build(m, resources.Get(m.conn.key.pid));
      pipeline->Push(std::move(s));
      ++spans_made;
    }
  };

  fprintf(stderr, "sonde ready: %zu probes attached, tracing %s\n", loader->attached_programs(),
          traced.kernel_traces_all() ? "all processes" : (std::to_string(traced.size()) + " process(es) so far").c_str());
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
      traced.Tick();
      last_expire = now;
    }
    Config next;
    if (reload.Take(&next)) {
      std::string why;
      if (!traced.Reconfigure(next.select, next.kubernetes.selection, &why)) {
        spdlog::error("config change rejected, keeping the running config: {}", why);
      } else {
        emit_spans();  // messages decoded under the old options keep them
        builder = std::make_unique<SpanBuilder>(MakeSpanOptions(next), &ids, mono_to_unix);
        spdlog::set_level(spdlog::level::from_str(next.log_level));
        if (next.capture_bytes != cfg.capture_bytes)
          spdlog::warn("capture.bytes_per_syscall changes take effect after a restart");
        cfg.routes = next.routes;
        spdlog::info("config reloaded from {}", cfg.config_path);
      }
    }
    if (now - last_sweep > 10000000000ull) {
      loader->SweepDeadProcesses();
      last_sweep = now;
    }
  }

  // Deliver what is still queued in the kernel, then flush and detach.
  loader->Poll(0, on_event);
  emit_spans();
  if (watcher) watcher->Stop();
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
