#include "agent/kernel_metrics.h"

#include <cstdint>
#include <string>
#include <utility>

namespace sonde {

namespace {

void SetLabelled(SelfMetrics* m, std::string_view name, const char* label,
                 std::initializer_list<std::pair<const char*, uint64_t>> values) {
  for (const auto& [value, total] : values)
    m->GetCounter(name, {{label, AttrValue(std::string(value))}})->Set(total);
}

}  // namespace

KernelMetrics::KernelMetrics(SelfMetrics* metrics, bool inject_on) : metrics_(metrics), inject_on_(inject_on) {
  InjectCounters none;
  Set(DropCounters{}, inject_on_ ? &none : nullptr, {});
}

void KernelMetrics::Feed(const Loader& loader) {
  InjectCounters ic;
  if (inject_on_) ic = loader.ReadInjectCounters();
  Set(loader.ReadDrops(), inject_on_ ? &ic : nullptr, loader.ReadProgramStats());
}

void KernelMetrics::Set(const DropCounters& d, const InjectCounters* ic, const std::vector<ProgramStats>& programs) {
  SetLabelled(metrics_, self_metric::kEventsLost, "reason",
              {{"ringbuf_full", d.ringbuf_full},
               {"conn_map_full", d.conn_map_full},
               {"args_map_full", d.args_map_full},
               {"iov_limit", d.iov_limit},
               {"read_failed", d.read_failed},
               {"tls_unbound", d.tls_unbound}});
  metrics_->GetCounter(self_metric::kEventsTruncated)->Set(d.truncated_events);
  metrics_->GetCounter(self_metric::kCaptureTruncated)->Set(d.truncated_bytes);
  if (ic) {
    metrics_->GetCounter(self_metric::kPropagationInjected)->Set(ic->injected);
    SetLabelled(metrics_, self_metric::kPropagationSkipped, "reason",
                {{"has_traceparent", ic->has_traceparent},
                 {"headers_split", ic->headers_split},
                 {"not_selected", ic->not_selected},
                 {"push_failed", ic->push_failed},
                 {"not_http1", ic->stop_not_http1},
                 {"chunked", ic->stop_chunked},
                 {"upgrade", ic->stop_upgrade},
                 {"too_large", ic->stop_too_large},
                 {"sockhash_full", ic->sockhash_full},
                 {"ringbuf_full", ic->event_lost},
                 {"beyond_capture", ic->beyond_capture}});
  }
  for (const ProgramStats& p : programs) {
    Attributes a = {{"program", AttrValue(p.name)}};
    metrics_->GetDoubleCounter(self_metric::kBpfRunTime, a)->Set(static_cast<double>(p.run_time_ns) / 1e9);
    metrics_->GetCounter(self_metric::kBpfRuns, a)->Set(p.run_count);
  }
}

void KernelMetrics::FeedLinks(const AsyncLinkStats& a, const ConnStitchStats& c) {
  // Only results that happened: most runs have no event loop to link, and
  // no two traced ends of one connection.
  auto set_nonzero = [this](std::string_view name, std::initializer_list<std::pair<const char*, uint64_t>> values) {
    for (const auto& [result, total] : values)
      if (total) metrics_->GetCounter(name, {{"result", AttrValue(std::string(result))}})->Set(total);
  };
  set_nonzero(self_metric::kLinksAsync, {{"linked_task", a.linked_task},
                                         {"linked_thread", a.linked_thread},
                                         {"no_match", a.no_match},
                                         {"no_identity", a.identity_gone},
                                         {"ambiguous", a.ambiguous},
                                         {"timed_out", a.timed_out},
                                         {"overflow", a.overflow}});
  set_nonzero(self_metric::kLinksConnection, {{"stitched", c.stitched},
                                              {"header_wins", c.header_wins},
                                              {"not_aligned", c.not_aligned},
                                              {"ambiguous", c.ambiguous},
                                              {"no_client_bytes", c.no_client_bytes},
                                              {"expired", c.expired},
                                              {"dropped", c.dropped},
                                              {"loop_linked", c.loop_linked},
                                              {"loop_unlinked", c.loop_unlinked},
                                              {"loop_undecided", c.loop_undecided}});
}

}  // namespace sonde
