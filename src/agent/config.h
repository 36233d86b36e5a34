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
#include "exporter/otlp_env.h"
#include "sampling/excluded_paths.h"
#include "sampling/span_sampler.h"

namespace sonde {

struct OutputSpec {
  enum class Kind { kConsole, kJsonl, kOtlp } kind = Kind::kConsole;
  std::string path;  // kJsonl
};

struct Config {
  Selectors select;
  uint32_t capture_bytes = 4096;
  // TLS plaintext through uprobes on OpenSSL's SSL_read/SSL_write.
  bool capture_tls = true;
  // Insert a W3C traceparent into outgoing HTTP/1.1 requests of the selected
  // processes (sock_ops + sk_msg). Off by default: it changes their traffic.
  bool inject_traceparent = false;
  // Node.js in-process links: uprobes on node::InternalCallbackScope (four
  // probe hits per JavaScript callback; opt-in until benchmarked).
  bool capture_node_callbacks = false;
  std::vector<OutputSpec> outputs;  // empty: console, or OTLP when an endpoint is set
  // HTTP spans
  std::vector<std::string> routes;
  std::vector<std::string> capture_request_headers;
  std::vector<std::string> capture_response_headers;
  bool redact_query = true;
  // Requests on these exact url.path values make no span (http.exclude_paths).
  std::vector<std::string> exclude_paths = DefaultExcludedPaths();
  // Database spans: db.query.text with literals replaced by placeholders.
  bool sanitize_db_queries = true;
  // The standard OTEL_* variables: exporters, batching, metrics, sonde's resource.
  OtelEnvOptions otel;
  std::string otlp_endpoint;  // the traces endpoint when one is configured
  bool bsp_delay_set = false;  // OTEL_BSP_SCHEDULE_DELAY given explicitly
  std::vector<std::string> known_http_methods;  // OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS
  // Head sampler (sampling.sampler or OTEL_TRACES_SAMPLER[_ARG], the
  // environment winning) and the keep-rules.
  SamplingOptions sampling;
  // Admin HTTP server (/metrics, /healthz): "host:port", "" = off.
  std::string admin_address = "127.0.0.1:9464";
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
