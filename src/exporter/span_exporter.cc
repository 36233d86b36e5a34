#include "exporter/span_exporter.h"

namespace sonde {

// Out of line so the vtable has one home.
SpanExporter::~SpanExporter() = default;

}  // namespace sonde
