// The interface every span sink implements (OTLP, console, JSON lines...).
#pragma once

#include <vector>

#include "spans/span.h"

namespace sonde {

// Called only from the exporter thread (see ExportPipeline), so
// implementations need no locking of their own.
class SpanExporter {
 public:
  virtual ~SpanExporter();
  // Exports one batch. Returns false when the batch did not reach its
  // destination; the caller counts the failure and moves on. An exporter
  // that retries (OTLP) does so inside Export, on the exporter thread.
  virtual bool Export(const std::vector<Span>& batch) = 0;
  // Releases resources; Export is not called afterwards.
  virtual void Shutdown() {}
  // The one method called from another thread, possibly while Export runs:
  // the pipeline's shutdown deadline has passed, so an Export in progress
  // should give up soon (stop retrying, cancel its request) and later ones
  // fail at once.
  virtual void Abort() {}
};

}  // namespace sonde
