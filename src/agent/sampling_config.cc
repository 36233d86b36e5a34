#include "agent/sampling_config.h"

#include <set>

namespace sonde {
namespace {

constexpr uint64_t kMaxHoldWindowNs = 600'000'000'000ull;  // 10 min
constexpr uint64_t kMaxHoldSpans = 1'000'000;

std::string Scalar(const YAML::Node& n, const char* key, std::string* out) {
  if (!n.IsScalar()) return std::string("sampling.") + key + " must be a single value";
  *out = n.as<std::string>();
  return {};
}

}  // namespace

std::string ParseSamplingYaml(const YAML::Node& node, SamplingOptions* out) {
  if (!node.IsMap()) return "'sampling' must be a mapping";
  static const std::set<std::string> kKeys = {"sampler",     "sampler_arg",    "keep_errors",
                                              "keep_slower_than", "hold_window", "hold_max_spans"};
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    if (!kKeys.count(key)) return "unknown config key 'sampling." + key + "'";
  }
  SamplingOptions o = *out;
  std::string v, err;
  if (node["sampler"]) {
    if (!(err = Scalar(node["sampler"], "sampler", &v)).empty()) return err;
    if (!(err = ParseSamplerName(v, &o.sampler.kind)).empty()) return "sampling.sampler: " + err;
  }
  if (node["sampler_arg"] && TakesRatio(o.sampler.kind)) {
    if (!(err = Scalar(node["sampler_arg"], "sampler_arg", &v)).empty()) return err;
    if (!(err = ParseSamplerRatio(v, &o.sampler.ratio)).empty()) return "sampling.sampler_arg: " + err;
  }
  if (node["keep_errors"]) {
    if (!YAML::convert<bool>::decode(node["keep_errors"], o.keep_errors))
      return "sampling.keep_errors must be true or false";
  }
  if (node["keep_slower_than"]) {
    if (!(err = Scalar(node["keep_slower_than"], "keep_slower_than", &v)).empty()) return err;
    if (!(err = ParseDuration(v, &o.keep_slower_than_ns)).empty()) return "sampling.keep_slower_than: " + err;
    if (o.keep_slower_than_ns == 0)
      return "sampling.keep_slower_than: must be greater than 0 (leave it out for no latency rule)";
  }
  if (node["hold_window"]) {
    if (!(err = Scalar(node["hold_window"], "hold_window", &v)).empty()) return err;
    if (!(err = ParseDuration(v, &o.hold_window_ns)).empty()) return "sampling.hold_window: " + err;
    if (o.hold_window_ns > kMaxHoldWindowNs) return "sampling.hold_window: '" + v + "' is longer than 10m";
  }
  if (node["hold_max_spans"]) {
    if (!(err = Scalar(node["hold_max_spans"], "hold_max_spans", &v)).empty()) return err;
    bool digits = !v.empty() && v.size() <= 7 && v.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoull(v) > kMaxHoldSpans)
      return "sampling.hold_max_spans must be 0..1000000, got '" + v + "'";
    o.hold_max_spans = static_cast<size_t>(std::stoull(v));
  }
  *out = o;
  return {};
}

std::string ParseExcludePaths(const std::vector<std::string>& paths, std::vector<std::string>* out) {
  for (const std::string& p : paths) {
    std::string err = CheckExcludedPath(p);
    if (!err.empty()) return "http.exclude_paths: " + err;
  }
  *out = paths;
  return {};
}

}  // namespace sonde
