#include "agent/exporters.h"

#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

#include "exporter/console_exporter.h"
#include "exporter/jsonl_exporter.h"

namespace sonde {

Exporters MakeExporters(const Config& cfg) {
  Exporters out;
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
        auto e = std::make_unique<OtlpSpanExporter>(cfg.otel.traces);
        out.otlp = e.get();
        exporters.push_back(std::move(e));
        break;
      }
    }
  }
  ExportPipelineOptions po = cfg.otel.batch;
  bool console_only = cfg.outputs.size() == 1 && cfg.outputs[0].kind == OutputSpec::Kind::kConsole;
  // A person at a terminal wants to see requests as they happen; a collector
  // gets the spec's batching unless OTEL_BSP_SCHEDULE_DELAY says otherwise.
  if (console_only && !cfg.bsp_delay_set) po.schedule_delay = std::chrono::milliseconds(500);
  out.pipeline = std::make_unique<ExportPipeline>(std::move(exporters), po);
  return out;
}

}  // namespace sonde
