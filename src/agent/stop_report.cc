#include "agent/stop_report.h"

#include <spdlog/spdlog.h>

namespace sonde {

void LogStopReport(const StopReport& r) {
  const ExportPipelineStats& es = r.pipeline;
  const DropCounters& d = r.drops;
  const TrackerStats& ts = r.tracker;
  spdlog::info(
      "stopping: {} spans made, {} exported, {} dropped (queue full {}, export failed {}, at shutdown {}); "
      "kernel drops: ring buffer full {}, truncated events {} ({} bytes), conn map full {}, args map full {}, "
      "iovec limit {}, unreadable {}, TLS before its socket was known {}; decoders: {} resyncs, {} gaps, "
      "{} bytes skipped, {} non-HTTP connections, {} TLS connections",
      r.spans_made, es.exported, es.dropped_queue_full + es.export_failed_spans + es.dropped_shutdown,
      es.dropped_queue_full, es.export_failed_spans, es.dropped_shutdown, d.ringbuf_full, d.truncated_events,
      d.truncated_bytes, d.conn_map_full, d.args_map_full, d.iov_limit, d.read_failed, d.tls_unbound, ts.resyncs,
      ts.gaps, ts.bytes_skipped, ts.non_http_connections, ts.tls_connections);

  const ConnStitchStats& cs = r.stitch;
  if (cs.stitched || cs.not_aligned || cs.ambiguous || cs.no_client_bytes)
    spdlog::info("same-host stitching: {} server requests joined their client's trace ({} client spans adopted "
                 "their reserved identity); not stitched: {} traceparent, {} not seen from the open or TLS, "
                 "{} ambiguous, {} client bytes not seen; {} reservations expired, {} dropped (table full), "
                 "{} closed connections forgotten early",
                 cs.stitched, cs.adopted, cs.header_wins, cs.not_aligned, cs.ambiguous, cs.no_client_bytes,
                 cs.expired, cs.dropped, cs.evicted);
  if (cs.loop_linked || cs.loop_unlinked || cs.loop_undecided)
    spdlog::info("stitched calls made on an event loop: {} given the request their callback served, {} left "
                 "without parent (that request unknown), {} not decidable yet (thread rule)",
                 cs.loop_linked, cs.loop_unlinked, cs.loop_undecided);

  if (r.inject) {
    const InjectCounters& ic = *r.inject;
    spdlog::info("traceparent injection: {} requests injected ({} spans took the ids, {} reports unclaimed); "
                 "skipped: already had one {}, header split over writes {}, process not selected {}, "
                 "push failed {}, ring buffer full {}, beyond the captured bytes {}; sockets stopped: not HTTP/1 {}, "
                 "chunked {}, upgrade {}, too large {}, sockhash full {}",
                 ic.injected, r.inject_applied, r.inject_unclaimed, ic.has_traceparent, ic.headers_split,
                 ic.not_selected, ic.push_failed, ic.event_lost, ic.beyond_capture, ic.stop_not_http1,
                 ic.stop_chunked, ic.stop_upgrade, ic.stop_too_large, ic.sockhash_full);
  }

  const SamplingStats& ss = r.sampling;
  if (ss.sampled != r.spans_made || r.spans_excluded)
    spdlog::info("sampling: {} spans passed the head sampler, {} kept by keep-rules (errors {}, latency {}), "
                 "{} sampled out, {} pushed out of the hold buffer; {} requests on excluded paths",
                 ss.sampled, ss.kept_error + ss.kept_latency, ss.kept_error, ss.kept_latency,
                 ss.dropped_not_sampled, ss.dropped_buffer_full, r.spans_excluded);

  const AsyncContextStats& at = r.async_targets;
  const AsyncContextCounters& ac = r.async_kernel;
  const AsyncLinkStats& as = r.async_links;
  if (at.python_processes || at.unsupported_python || at.node_processes)
    spdlog::info("async links: {} CPython processes described ({} of unsupported versions), {} Node.js processes "
                 "({} callback scopes, {} of them not running task queues, {} too deep); kernel: {} events with a context, {} thread lookups, {} threads "
                 "without state, {} unreadable; {} CLIENT spans held: {} linked by task, {} by thread context, {} no "
                 "match, {} identity forgotten, {} ambiguous, {} timed out, {} overflow",
                 at.python_processes, at.unsupported_python, at.node_processes, ac.node_scopes, ac.node_deferring,
                 ac.node_overflow,
                 ac.read, ac.thread_lookups, ac.no_thread, ac.read_failed, as.held, as.linked_task, as.linked_thread,
                 as.no_match, as.identity_gone, as.ambiguous, as.timed_out, as.overflow);
}

}  // namespace sonde
