// sonde's self-metrics fed from the kernel side's counters and from the
// async link decisions: events lost and truncated, traceparent injection
// outcomes, BPF run time per program, sonde.links.async{result} and
// sonde.links.connection{result}. Each is set
// (not added) from its running total, once per second and at stop.
#pragma once

#include <vector>

#include "loader/event.h"
#include "loader/loader.h"
#include "metrics/self_metrics.h"
#include "spans/async_links.h"
#include "spans/conn_stitch.h"

namespace sonde {

class KernelMetrics {
 public:
  // Creates the series at 0, so that they are exported from the start; the
  // injection series only when injection is on.
  KernelMetrics(SelfMetrics* metrics, bool inject_on);

  void Feed(const Loader& loader);
  void FeedLinks(const AsyncLinkStats& a, const ConnStitchStats& c);

 private:
  void Set(const DropCounters& d, const InjectCounters* ic, const std::vector<ProgramStats>& programs);

  SelfMetrics* metrics_;
  bool inject_on_;
};

}  // namespace sonde
