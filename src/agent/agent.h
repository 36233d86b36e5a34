// Wires the pipeline: loader -> decoders -> spans -> exporters, and runs the
// one hot thread until SIGINT/SIGTERM.
#pragma once

#include "agent/config.h"

namespace sonde {

// Returns the process exit code.
int RunAgent(const Config& cfg);
int RunDoctor();

}  // namespace sonde
