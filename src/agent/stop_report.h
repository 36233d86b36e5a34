// What sonde logs when it stops: what it made and exported, what the kernel
// and the decoders dropped, and how each way of linking spans fared.
#pragma once

#include <cstdint>
#include <optional>

#include "decoders/connection_tracker.h"
#include "exporter/export_pipeline.h"
#include "loader/event.h"
#include "loader/python_runtime.h"
#include "sampling/span_sampler.h"
#include "spans/async_links.h"
#include "spans/conn_stitch.h"

namespace sonde {

struct StopReport {
  uint64_t spans_made = 0;
  uint64_t spans_excluded = 0;  // requests on excluded paths
  ExportPipelineStats pipeline;
  DropCounters drops;
  TrackerStats tracker;
  SamplingStats sampling;
  ConnStitchStats stitch;
  // Traceparent injection, when it was on: the kernel's counts, CLIENT spans
  // that took the injected ids, reports no span claimed.
  std::optional<InjectCounters> inject;
  uint64_t inject_applied = 0;
  uint64_t inject_unclaimed = 0;
  AsyncContextStats async_targets;
  AsyncContextCounters async_kernel;
  AsyncLinkStats async_links;
};

// Logs the report (info level); parts with nothing to say are left out.
void LogStopReport(const StopReport& r);

}  // namespace sonde
