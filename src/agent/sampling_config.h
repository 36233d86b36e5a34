// The `sampling:` section of the config file, and `http.exclude_paths`.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "sampling/excluded_paths.h"
#include "sampling/span_sampler.h"

namespace sonde {

// Applies a `sampling:` mapping to *out:
//   sampler: parentbased_always_on     (OTEL_TRACES_SAMPLER wins over it)
//   sampler_arg: "0.25"                (OTEL_TRACES_SAMPLER_ARG wins over it)
//   keep_errors: true
//   keep_slower_than: 500ms            (absent: no latency rule)
//   hold_window: 5s
//   hold_max_spans: 10000
// Returns "" or an error naming the key, e.g.
//   "sampling.sampler: 'sometimes' is not a sampler (always_on, ...)".
std::string ParseSamplingYaml(const YAML::Node& node, SamplingOptions* out);

// Checks and stores the `http.exclude_paths` list (replacing the default).
std::string ParseExcludePaths(const std::vector<std::string>& paths, std::vector<std::string>* out);

}  // namespace sonde
