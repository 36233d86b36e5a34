#include "agent/agent.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "agent/exporters.h"
#include "agent/kernel_metrics.h"
#include "agent/memory_release.h"
#include "agent/resources.h"
#include "agent/stop_report.h"
#include "agent/tracing_set.h"
#include "decoders/connection_tracker.h"
#include "discovery/k8s/config_watcher.h"
#include "discovery/k8s/pod_cache.h"
#include "discovery/discovery.h"
#include "exporter/export_pipeline.h"
#include "exporter/admin_server.h"
#include "exporter/export_self_metrics.h"
#include "exporter/otlp_exporter.h"
#include "exporter/periodic_metric_exporter.h"
#include "metrics/red_metrics.h"
#include "metrics/self_metrics.h"
#include "loader/loader.h"
#include "loader/python_runtime.h"
#include "loader/tls_probes.h"
#include "spans/span_builder.h"
#include "spans/thread_links.h"
#include "spans/conn_stitch.h"
#include "spans/injected_ids.h"
#include "spans/async_links.h"
#include "spans/id_generator.h"
#include "spans/resource.h"
#include "sampling/excluded_paths.h"
#include "sampling/span_sampler.h"

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

std::string ao_text(const AdminServer* a) {
  return "port " + std::to_string(a->port());
}

bool SplitHostPort(const std::string& s, AdminServerOptions* o) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  o->bind_address = host.empty() ? "0.0.0.0" : host;
  try {
    unsigned long p = std::stoul(s.substr(colon + 1));
    if (p > 65535) return false;
    o->port = static_cast<uint16_t>(p);
  } catch (...) {
    return false;
  }
  return true;
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

// The sampler's counters in the self-metrics, refreshed from its stats on the
// hot thread (the handles are looked up once).
class SamplingCounters {
 public:
  explicit SamplingCounters(SelfMetrics* m)
      : not_sampled_(m->GetCounter(self_metric::kSpansSampledOut, {{"reason", AttrValue(std::string("not_sampled"))}})),
        buffer_full_(m->GetCounter(self_metric::kSpansSampledOut, {{"reason", AttrValue(std::string("buffer_full"))}})),
        kept_error_(m->GetCounter(self_metric::kSpansKept, {{"kept_by", AttrValue(std::string(kKeptByError))}})),
        kept_latency_(m->GetCounter(self_metric::kSpansKept, {{"kept_by", AttrValue(std::string(kKeptByLatency))}})),
        held_(m->GetGauge(self_metric::kSamplingHeldSpans)) {}
  void Set(const SamplingStats& s) {
    not_sampled_->Set(s.dropped_not_sampled);
    buffer_full_->Set(s.dropped_buffer_full);
    kept_error_->Set(s.kept_error);
    kept_latency_->Set(s.kept_latency);
    held_->Set(static_cast<int64_t>(s.held));
  }

 private:
  SelfMetrics::Counter *not_sampled_, *buffer_full_, *kept_error_, *kept_latency_;
  SelfMetrics::Gauge* held_;
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
  lo.inject_traceparent = cfg.inject_traceparent;
  std::string error;
  std::unique_ptr<Loader> loader = Loader::Open(lo, &error);
  if (!loader) {
    fprintf(stderr, "sonde: %s\n", error.c_str());
    return 1;
  }
  traced.Attach(loader.get());
  if (cfg.inject_traceparent)
    spdlog::info("inserting traceparent into outgoing HTTP/1 requests of traced processes (sock_ops on {})",
                 loader->inject_cgroup());
  if (!traced.kernel_traces_all() && traced.size() == 0)
    spdlog::info("no process matches the selectors yet; waiting for one to start");

  // TLS plaintext: uprobes on the OpenSSL of traced processes. A process is
  // looked at when it is selected, and again when it maps code (a library
  // loaded late, like Python's ssl) - once right away and once a tick later,
  // as the mapping may not be complete when the event is read.
  std::unique_ptr<TlsProbes> tls;
  std::set<uint32_t> tls_now, tls_later;
  if (cfg.capture_tls) {
    Loader* l = loader.get();
    tls = std::make_unique<TlsProbes>(TlsProbeTarget{
        [l](const std::string& path, const std::map<std::string, uint64_t>& offsets, std::string* err) {
          return l->AttachTls(path, offsets, err);
        },
        [l](uint64_t id) { l->DetachTls(id); }});
    if (traced.kernel_traces_all()) {
      for (uint32_t pid : ListPids("/proc"))
        if (pid != self) tls->Scan(pid);
    } else {
      for (uint32_t pid : traced.pids()) tls->Scan(pid);
    }
  }
  auto tls_look = [&](uint32_t pid) {
    if (tls && traced.IsTraced(pid)) tls_now.insert(pid);
  };
  auto tls_tick = [&]() {
    if (!tls) return;
    for (uint32_t pid : tls_later)
      if (traced.IsTraced(pid)) tls->Scan(pid);
    tls_later.clear();
    std::vector<uint32_t> gone;
    for (uint32_t pid : tls->scanned())
      if (!traced.IsTraced(pid)) gone.push_back(pid);
    for (uint32_t pid : gone) tls->Forget(pid);
    if (!traced.kernel_traces_all())
      for (uint32_t pid : traced.pids())
        if (!tls->scanned().count(pid)) tls->Scan(pid);
  };

  Exporters exp = MakeExporters(cfg);
  std::unique_ptr<ExportPipeline>& pipeline = exp.pipeline;
  RedMetrics red;
  SelfMetrics self_metrics(MakeSelfResource(cfg.otel, HostName(), self));
  std::unique_ptr<PeriodicMetricExporter> metric_exporter;
  if (cfg.otel.metrics_endpoint_set)
    metric_exporter = std::make_unique<PeriodicMetricExporter>(
        cfg.otel.metrics, std::vector<MetricProducer*>{&red, &self_metrics},
        PeriodicMetricExporterOptions{cfg.otel.metric_export_interval, cfg.otel.metric_export_timeout});
  RegisterExportSelfMetrics(&self_metrics, {pipeline.get(), exp.otlp, metric_exporter.get()});
  auto* events_captured = self_metrics.GetCounter(self_metric::kEventsCaptured);
  auto* spans_created = self_metrics.GetCounter(self_metric::kSpansCreated);
  KernelMetrics kernel_metrics(&self_metrics, cfg.inject_traceparent);
  std::unique_ptr<AdminServer> admin;
  if (!cfg.admin_address.empty()) {
    AdminServerOptions ao;
    if (!SplitHostPort(cfg.admin_address, &ao)) {
      fprintf(stderr, "sonde: invalid admin address '%s' (HOST:PORT)\n", cfg.admin_address.c_str());
      return 2;
    }
    admin = std::make_unique<AdminServer>(ao, std::vector<MetricProducer*>{&red, &self_metrics});
    std::string aerr;
    if (!admin->Start(&aerr)) {
      fprintf(stderr, "sonde: cannot serve /metrics on %s: %s (choose another with --admin-address)\n",
              cfg.admin_address.c_str(), aerr.c_str());
      return 1;
    }
  }
  ConnectionTracker tracker;
  IdGenerator ids;
  int64_t mono_to_unix = static_cast<int64_t>(Now(CLOCK_REALTIME)) - static_cast<int64_t>(Now(CLOCK_MONOTONIC));
  auto builder = std::make_unique<SpanBuilder>(MakeSpanOptions(cfg), &ids, mono_to_unix);
  Resources resources(&traced, HostName());
  ThreadLinks thread_links(&ids);
  ConnStitch stitch(&ids, &thread_links);  // same-host client/server pairs (conn_stitch.h)
  stitch.SetNetnsLookup([](uint32_t pid) -> uint64_t {
    struct stat st;
    return stat(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), &st) == 0 ? st.st_ino : 0;
  });
  InjectedIds injected_ids;
  // Event loops: which task (CPython) or callback (Node.js) made a syscall,
  // read in the kernel for the processes described here
  // (src/spans/async_links.h, src/loader/python_runtime.h).
  AsyncLinks async_links(&thread_links);
  AsyncContextTargets async_targets(
      [l = loader.get()](uint32_t pid, const sonde_py_runtime& rt) { l->SetAsyncRuntime(pid, rt); },
      [l = loader.get()](uint32_t pid) { l->ClearAsyncRuntime(pid); },
      cfg.capture_node_callbacks
          ? AsyncContextTargets::AttachNode([l = loader.get()](const std::string& path, uint64_t ctor,
                                                                uint64_t wrap_ctor, uint64_t dtor, uint64_t close) {
              std::string err;
              uint64_t id = l->AttachNodeScopes(path, ctor, wrap_ctor, dtor, close, &err);
              if (!id) spdlog::warn("Node.js callbacks will not be told apart: {}", err);
              return id;
            })
          : nullptr,
      [l = loader.get()](uint64_t id) { l->DetachTls(id); });
  // A stitched call's identity is reserved before its span is built: on an
  // event loop its parent comes from the callback that made it, when known.
  stitch.SetLoopParentLookup([&async_links](const ConnKey& call, uint32_t tid, uint64_t ctx) {
    return async_links.ParentNow(call, tid, ctx);
  });
  for (uint32_t pid : traced.pids()) async_targets.Scan(pid);
  for (uint32_t pid : traced.pids()) resources.Get(pid);
  // Which requests make spans (excluded paths make none) and which spans are
  // exported (head sampling and keep-rules); see src/sampling/.
  auto excluded = std::make_unique<ExcludedPaths>(cfg.exclude_paths);
  SpanSampler sampler(cfg.sampling);
  SamplingCounters sampling_counters(&self_metrics);
  auto* spans_excluded = self_metrics.GetCounter(self_metric::kSpansExcluded);
  if (!(cfg.sampling == SamplingOptions()))
    spdlog::info("sampling: {}{}{}", DescribeSampler(cfg.sampling.sampler),
                 cfg.sampling.keep_errors ? ", keeping traces with errors" : "",
                 cfg.sampling.keep_slower_than_ns
                     ? fmt::format(", keeping traces with a span slower than {}ms",
                                   static_cast<double>(cfg.sampling.keep_slower_than_ns) / 1e6)
                     : std::string());

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
    events_captured->Add();
    switch (ev.kind) {
      case EventKind::kData:
        if (traced.IsTraced(ev.conn.key.pid)) {
          tracker.OnData(ev.conn, ev.dir, ev.chunk);
          stitch.OnData(ev.conn, ev.dir, ev.chunk, ev.async_ctx);
          if (ev.async_ctx) async_links.OnData(ev.conn.key, ev.dir, ev.ts_ns, ev.async_ctx);
          if (ev.dir == Direction::kIngress && async_targets.IsNode(ev.conn.key.pid))
            async_links.OnNodeRead(ev.conn, ev.ts_ns, ev.tid);
          if (!async_targets.Known(ev.conn.key.pid)) async_targets.Scan(ev.conn.key.pid);
        }
        break;
      case EventKind::kOpen:
        if (traced.IsTraced(ev.conn.key.pid)) {
          async_targets.Scan(ev.conn.key.pid);
          tracker.OnOpen(ev.conn, ev.ts_ns);
          stitch.OnOpen(ev.conn, ev.ts_ns);
          // Read the process's resource while it exists: a client may exit
          // before its spans are built.
          resources.Get(ev.conn.key.pid);
        }
        break;
      case EventKind::kClose:
        tracker.OnClose(ev.conn.key, ev.ts_ns);
        stitch.OnClose(ev.conn.key, ev.ts_ns);
        async_links.OnClose(ev.conn.key, ev.ts_ns);
        break;
      case EventKind::kExec:
        resources.Forget(ev.pid);
        traced.OnExec(ev.pid);
        if (traced.IsTraced(ev.pid)) {
          resources.Prime(ev.pid, ev.comm);
          spdlog::debug("tracing pid {} ({})", ev.pid, ev.comm);
        }
        if (tls) tls->Forget(ev.pid);  // a new program: its old files are gone
        async_targets.Forget(ev.pid);
        tls_look(ev.pid);
        break;
      case EventKind::kFork:
        traced.OnFork(ev.ppid, ev.pid);
        if (traced.IsTraced(ev.pid)) resources.Prime(ev.pid, ev.comm);
        tls_look(ev.pid);
        break;
      case EventKind::kThread:
        thread_links.OnThreadCreated(ev.pid, ev.tid, ev.new_tid, ev.ts_ns);
        break;
      case EventKind::kExit:
        tracker.OnProcessExit(ev.pid, ev.ts_ns);
        stitch.OnProcessExit(ev.pid, ev.ts_ns);
        traced.OnExit(ev.pid);
        if (tls) tls->Forget(ev.pid);
        async_targets.Forget(ev.pid);
        async_links.OnProcessExit(ev.pid, ev.ts_ns);
        break;
      case EventKind::kListen:
        traced.OnListen(ev.pid, ev.port);
        if (tls && !tls->scanned().count(ev.pid)) tls_look(ev.pid);
        break;
      case EventKind::kMmapExec:
        tls_look(ev.pid);
        async_targets.Rescan(ev.pid);  // libpython loaded late (embedded interpreters)
        break;
      case EventKind::kInject: {
        const InjectedTraceparent& t = ev.inject;
        InjectedContext c;
        c.pid = t.pid;
        c.local_addr = t.local_addr;
        c.local_port = t.local_port;
        c.peer_addr = t.peer_addr;
        c.peer_port = t.peer_port;
        c.stream_pos = t.stream_pos;
        c.trace_id = t.trace_id;
        c.span_id = t.span_id;
        c.parent_id = t.parent_id;
        c.flags = t.flags;
        c.ts_ns = t.ts_ns;
        injected_ids.Add(c);
        break;
      }
      case EventKind::kServerContext: {
        const KernelServerIdentity& k = ev.server_ctx;
        ServerIdentity id;
        id.trace_id = k.trace_id;
        id.span_id = k.span_id;
        id.parent_id = k.parent_id;
        id.flags = k.flags;
        thread_links.OnKernelIdentity(k.conn, k.stream_pos, id);
        break;
      }
    }
  };

  std::vector<Span> to_export;
  auto emit_spans = [&](bool final_flush = false) {
    // Requests read by servers first: their span identities must exist before
    // the calls made while handling them are linked (thread_links.h).
    std::vector<RequestStart> starts;
    tracker.DrainRequestStarts(&starts);
    for (const RequestStart& r : starts) thread_links.OnServerRequest(r);
    std::vector<Message> msgs;
    tracker.Drain(&msgs);
    uint64_t now = Now(CLOCK_MONOTONIC);
    for (const Message& m : msgs) {
      if (m.conn.role != Role::kServer) continue;
      MessageTiming t = TimingOf(m);
      thread_links.OnServerDone(m.conn.key, t.tid, t.start_ns, t.end_ns);
    }
    // Servers whose client is traced here join its trace; decided before any
    // span of the batch is built (conn_stitch.h), and before the calls held
    // for an event loop copy their request's identity (async_links.h).
    for (const RequestStart& r : starts) stitch.OnServerRequest(r);
    for (const Message& m : msgs)
      if (m.conn.role == Role::kServer && !excluded->Excludes(m)) stitch.PrepareServer(m);
    for (const Message& m : msgs)
      if (m.conn.role == Role::kServer) async_links.OnServerDone(m);
    for (const Message& m : msgs) {
      if (excluded->Excludes(m)) {  // health checks, scrapes: no span, no RED data point
        spans_excluded->Add();
        continue;
      }
      Span s = builder->Build(m, resources.Get(m.conn.key.pid));
      MessageTiming t = TimingOf(m);
      red.Record(s);  // RED metrics see every span, before any sampling
      spans_created->Add();
      ++spans_made;
      // A request sonde gave a traceparent: its CLIENT span is the one the
      // callee saw as its parent, so it takes the ids that were sent. A call
      // whose callee is traced here takes the identity the callee already
      // joined (conn_stitch.h). Otherwise an event loop's call waits for its
      // parent (async_links.h), and the rest link by thread.
      ThreadLinks::Linked link;
      bool decided = injected_ids.Apply(m, &s);
      if (decided) async_links.OnCallDecided(m, std::nullopt);
      if (!decided && m.conn.role == Role::kClient) {
        ConnStitch::Result r = stitch.AdoptClient(m, &s);
        if (r.applied) {
          decided = true;
          link = ThreadLinks::Linked{r.thread_linked, r.parent_sampled};
          async_links.OnCallDecided(m, r.parent_request);  // its reply's callbacks continue that request
        }
      }
      if (!decided) {
        if (async_links.Hold(m, &s, now)) continue;  // parent known once its thread's requests are answered
        link = stitch.Link(m, t.tid, t.start_ns, &s);  // ThreadLinks::Apply, and stitching
      }
      SamplingParent parent = ParentOf(s, m);
      if (link.parent_linked) parent = SamplingParent{SamplingParent::Kind::kLocal, link.parent_sampled};
      sampler.Offer(std::move(s), parent, now, &to_export);
    }
    std::vector<AsyncLinks::Released> released;
    async_links.Release(now, &released, final_flush);
    for (AsyncLinks::Released& r : released) {
      SamplingParent parent = ParentOf(r.span, Message{});
      if (r.parent_linked) parent = SamplingParent{SamplingParent::Kind::kLocal, r.parent_sampled};
      sampler.Offer(std::move(r.span), parent, now, &to_export);
    }
    sampler.Expire(now);
    for (Span& s : to_export) pipeline->Push(std::move(s));
    to_export.clear();
  };

  ReleaseFreeMemory();  // what loading the BPF object parsed is not needed again
  if (admin) admin->SetReady(true);
  std::string admin_note = admin ? ", /metrics and /healthz on " + ao_text(admin.get()) : std::string();
  fprintf(stderr, "sonde ready: %zu probes attached, tracing %s%s\n", loader->attached_programs(),
          traced.kernel_traces_all() ? "all processes" : (std::to_string(traced.size()) + " process(es) so far").c_str(),
          admin_note.c_str());
  fflush(stderr);

  uint64_t last_expire = Now(CLOCK_MONOTONIC), last_sweep = last_expire;
  while (!g_stop.load()) {
    if (loader->Poll(20, on_event) < 0 && !g_stop.load()) {
      spdlog::error("ring buffer poll failed");
      break;
    }
    emit_spans();
    if (tls && !tls_now.empty()) {
      for (uint32_t pid : tls_now) tls->Scan(pid);
      tls_later.insert(tls_now.begin(), tls_now.end());
      tls_now.clear();
    }
    uint64_t now = Now(CLOCK_MONOTONIC);
    if (now - last_expire > 1000000000ull) {
      tracker.Expire(now);
      thread_links.Expire(now);
      stitch.Expire(now);
      injected_ids.Expire(now);
      async_links.Expire(now);
      kernel_metrics.FeedLinks(async_links.stats(), stitch.stats());
      traced.Tick();
      tls_tick();
      kernel_metrics.Feed(*loader);
      sampling_counters.Set(sampler.stats());
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
        excluded = std::make_unique<ExcludedPaths>(next.exclude_paths);
        if (!(next.sampling == cfg.sampling)) spdlog::warn("sampling changes take effect after a restart");
        if (next.inject_traceparent != cfg.inject_traceparent)
          spdlog::warn("propagation.inject_traceparent changes take effect after a restart");
        spdlog::info("config reloaded from {}", cfg.config_path);
      }
    }
    if (now - last_sweep > 10000000000ull) {
      loader->SweepDeadProcesses();
      ReleaseFreeMemory();
      last_sweep = now;
    }
  }

  // Deliver what is still queued in the kernel, then flush and detach.
  loader->Poll(0, on_event);
  emit_spans(/*final_flush=*/true);
  sampler.DropHeld();  // no keep-rule matched them before the end
  sampling_counters.Set(sampler.stats());
  if (watcher) watcher->Stop();
  if (admin) admin->Stop();
  pipeline->Shutdown();
  kernel_metrics.Feed(*loader);
  if (metric_exporter) metric_exporter->Shutdown();
  StopReport report;
  report.spans_made = spans_made;
  report.spans_excluded = spans_excluded->value();
  report.pipeline = pipeline->stats();
  report.drops = loader->ReadDrops();
  report.tracker = tracker.stats();
  report.sampling = sampler.stats();
  report.stitch = stitch.stats();
  if (cfg.inject_traceparent) report.inject = loader->ReadInjectCounters();
  report.inject_applied = injected_ids.stats().applied;
  report.inject_unclaimed = injected_ids.size();
  report.async_targets = async_targets.stats();
  report.async_kernel = loader->ReadAsyncCounters();
  report.async_links = async_links.stats();
  LogStopReport(report);
  tls.reset();
  async_targets.DetachAll();
  loader.reset();
  return 0;
}

}  // namespace sonde
