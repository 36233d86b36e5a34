// sonde's configuration: parsed once from flags, an optional YAML file and
// the standard OTEL_* environment variables, then handed down as plain structs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "discovery/discovery.h"
#include "discovery/k8s/selection.h"
#include "exporter/otlp_config.h"

namespace sonde {

struct OutputSpec {
  enum class Kind { kConsole, kJsonl, kOtlp } kind = Kind::kConsole;
  std::string path;  // kJsonl
};

struct Config {
  Selectors select;
  uint32_t capture_bytes = 4096;
  std::vector<OutputSpec> outputs;  // empty: console, or OTLP when an endpoint is set
  // HTTP spans
  std::vector<std::string> routes;
  std::vector<std::string> capture_request_headers;
  std::vector<std::string> capture_response_headers;
  bool redact_query = true;
  // Database spans: db.query.text with literals replaced by placeholders.
  bool sanitize_db_queries = true;
  // OTLP (from OTEL_* unless overridden)
  std::string otlp_endpoint;
  OtlpHeaders otlp_headers;
  bool otlp_insecure = true;  // for a scheme-less endpoint (OTEL_EXPORTER_OTLP_INSECURE)
  uint32_t otlp_timeout_ms = 10000;
  std::vector<std::string> known_http_methods;  // OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS
  uint32_t bsp_schedule_delay_ms = 1000;
  uint32_t bsp_max_queue = 2048;
  uint32_t bsp_max_batch = 512;
  std::string log_level = "info";
  std::string config_path;
  K8sSettings kubernetes;
};

enum class Command { kRun, kDoctor, kHelp, kVersion };

struct ParseResult {
  Command command = Command::kRun;
  Config config;
  std::string error;  // non-empty: a usage error (exit 2)
};

// Parses argv, then the --config file, then the environment (`env` lookups
// go through the function so tests can pass their own).
ParseResult ParseCommandLine(int argc, const char* const* argv,
                             const std::map<std::string, std::string>& env);
// Applies a YAML document to `cfg`; returns an error naming the bad key.
std::string ApplyYamlConfig(const std::string& yaml_text, const std::string& origin, Config* cfg);
// Parses a whole config file the way --config does (for reloads): the YAML
// plus what the environment resolves. Returns an error naming the bad key.
std::string ParseConfigFile(const std::string& yaml_text, const std::string& origin,
                            const std::map<std::string, std::string>& env, Config* cfg);
// Applies OTEL_* variables.
std::string ApplyEnvironment(const std::map<std::string, std::string>& env, Config* cfg);
std::map<std::string, std::string> CurrentEnvironment();

const char* UsageText();

}  // namespace sonde
