// The span outputs a config names (console, JSON lines, OTLP), behind the
// one bounded export pipeline the hot thread pushes spans into.
#pragma once

#include <memory>

#include "agent/config.h"
#include "exporter/export_pipeline.h"
#include "exporter/otlp_exporter.h"

namespace sonde {

struct Exporters {
  std::unique_ptr<ExportPipeline> pipeline;
  const OtlpSpanExporter* otlp = nullptr;  // owned by the pipeline
};

Exporters MakeExporters(const Config& cfg);

}  // namespace sonde
