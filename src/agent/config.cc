#include "agent/config.h"

#include "agent/sampling_config.h"
#include "exporter/otlp_config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

extern char** environ;

namespace sonde {
namespace {

bool ParseUint(const std::string& s, uint64_t max, uint64_t* out) {
  if (s.empty() || s.size() > 12) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  uint64_t v = std::stoull(s);
  if (v > max) return false;
  *out = v;
  return true;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string ParseOutput(const std::string& v, OutputSpec* out) {
  if (v == "console") {
    out->kind = OutputSpec::Kind::kConsole;
  } else if (v == "otlp") {
    out->kind = OutputSpec::Kind::kOtlp;
  } else if (v.rfind("jsonl:", 0) == 0 && v.size() > 6) {
    out->kind = OutputSpec::Kind::kJsonl;
    out->path = v.substr(6);
  } else {
    return "invalid output '" + v + "' (expected console, otlp or jsonl:PATH)";
  }
  return {};
}

// YAML helpers: every key is checked against the known set so a typo is an
// error naming the key, never silently ignored.
std::string CheckKeys(const YAML::Node& node, const std::string& where, const std::set<std::string>& known) {
  if (!node.IsMap()) return "'" + where + "' must be a mapping";
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    if (!known.count(key)) return "unknown config key '" + (where.empty() ? key : where + "." + key) + "'";
  }
  return {};
}

struct ConfigError {
  std::string message;
};

std::vector<std::string> AsStrings(const YAML::Node& n, const char* key) {
  std::vector<std::string> out;
  if (!n.IsDefined() || n.IsNull()) return out;
  if (n.IsSequence())
    for (const auto& e : n) out.push_back(e.as<std::string>());
  else if (n.IsScalar())
    out.push_back(n.as<std::string>());
  else
    throw ConfigError{std::string("'") + key + "' must be a string or a list of strings"};
  return out;
}

}  // namespace

const char* UsageText() {
  return R"(usage: sonde [flags]          trace HTTP/1.x of selected processes
       sonde doctor            report which BPF features this kernel offers

Selection (repeatable; none given = every process but sonde itself):
  --pid N              trace process N (and the children it forks)
  --exe GLOB           trace processes whose executable matches (name or path glob)
  --port N             trace processes listening on TCP port N
  --config FILE        YAML file with the same settings (see README)

Output (repeatable; default console, or OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set):
  --output console     readable spans on stdout, grouped by trace
  --output jsonl:PATH  one JSON span per line
  --output otlp        OTLP/gRPC to OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT

Capture and spans:
  --capture-bytes N    bytes captured per syscall (default 4096, max 16384)
  --no-tls             do not attach uprobes to OpenSSL (no HTTPS / gRPC-over-TLS plaintext)
  --inject-traceparent insert a traceparent header into outgoing HTTP/1.1 requests (changes traffic)
  --node-callbacks     attach uprobes to Node.js callback scopes (in-process links on its event loop)
  --route PATTERN      route template for span names, e.g. /users/{id}
  --capture-header H   HTTP request/response header to record as an attribute
  --no-redact-query    export url.query values as sent
  --no-sanitize-db     export db.query.text with its literals and arguments
  --admin-address A    serve /metrics and /healthz on HOST:PORT (default 127.0.0.1:9464; '' = off)
  --log-level LEVEL    trace, debug, info, warn, error (default info)
  -h, --help           this text
  --version            print the version
)";
}

std::map<std::string, std::string> CurrentEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

std::string ApplyYamlConfig(const std::string& text, const std::string& origin, Config* cfg) {
  try {
    YAML::Node root = YAML::Load(text);
    if (root.IsNull()) return {};
    std::string err = CheckKeys(root, "", {"select", "capture", "http", "db", "sampling", "output", "log_level",
                                           "kubernetes", "admin_address", "propagation"});
    if (!err.empty()) return origin + ": " + err;
    if (auto sel = root["select"]) {
      if (!(err = CheckKeys(sel, "select", {"pids", "exe", "ports"})).empty()) return origin + ": " + err;
      for (const auto& s : AsStrings(sel["pids"], "select.pids")) {
        uint64_t v;
        if (!ParseUint(s, 0x7fffffff, &v) || v == 0) return origin + ": invalid pid '" + s + "' in select.pids";
        cfg->select.pids.push_back(static_cast<uint32_t>(v));
      }
      for (const auto& s : AsStrings(sel["exe"], "select.exe")) cfg->select.exes.push_back(s);
      for (const auto& s : AsStrings(sel["ports"], "select.ports")) {
        uint64_t v;
        if (!ParseUint(s, 65535, &v) || v == 0) return origin + ": invalid port '" + s + "' in select.ports";
        cfg->select.ports.push_back(static_cast<uint16_t>(v));
      }
    }
    if (auto cap = root["capture"]) {
      if (!(err = CheckKeys(cap, "capture", {"bytes_per_syscall", "tls", "node_callbacks"})).empty())
        return origin + ": " + err;
      if (cap["node_callbacks"]) {
        std::string s = cap["node_callbacks"].as<std::string>();
        if (s != "true" && s != "false")
          return origin + ": capture.node_callbacks must be true or false, got '" + s + "'";
        cfg->capture_node_callbacks = s == "true";
      }
      if (cap["tls"]) {
        std::string s = cap["tls"].as<std::string>();
        if (s != "true" && s != "false") return origin + ": capture.tls must be true or false, got '" + s + "'";
        cfg->capture_tls = s == "true";
      }
      if (cap["bytes_per_syscall"]) {
        uint64_t v;
        std::string s = cap["bytes_per_syscall"].as<std::string>();
        if (!ParseUint(s, 16384, &v) || v == 0)
          return origin + ": capture.bytes_per_syscall must be 1..16384, got '" + s + "'";
        cfg->capture_bytes = static_cast<uint32_t>(v);
      }
    }
    if (auto http = root["http"]) {
      if (!(err = CheckKeys(http, "http", {"routes", "capture_request_headers", "capture_response_headers",
                                          "redact_query", "exclude_paths"}))
               .empty())
        return origin + ": " + err;
      for (const auto& s : AsStrings(http["routes"], "http.routes")) cfg->routes.push_back(s);
      for (const auto& s : AsStrings(http["capture_request_headers"], "http.capture_request_headers")) cfg->capture_request_headers.push_back(s);
      for (const auto& s : AsStrings(http["capture_response_headers"], "http.capture_response_headers")) cfg->capture_response_headers.push_back(s);
      if (http["redact_query"]) {
        bool v;
        if (!YAML::convert<bool>::decode(http["redact_query"], v))
          return origin + ": http.redact_query must be true or false";
        cfg->redact_query = v;
      }
      if (http["exclude_paths"]) {
        err = ParseExcludePaths(AsStrings(http["exclude_paths"], "http.exclude_paths"), &cfg->exclude_paths);
        if (!err.empty()) return origin + ": " + err;
      }
    }
    if (auto db = root["db"]) {
      if (!(err = CheckKeys(db, "db", {"sanitize_query"})).empty()) return origin + ": " + err;
      if (db["sanitize_query"]) {
        bool v;
        if (!YAML::convert<bool>::decode(db["sanitize_query"], v))
          return origin + ": db.sanitize_query must be true or false";
        cfg->sanitize_db_queries = v;
      }
    }
    if (auto prop = root["propagation"]) {
      if (!(err = CheckKeys(prop, "propagation", {"inject_traceparent"})).empty()) return origin + ": " + err;
      if (prop["inject_traceparent"]) {
        if (!prop["inject_traceparent"].IsScalar())
          return origin + ": propagation.inject_traceparent must be true or false";
        std::string s = prop["inject_traceparent"].as<std::string>();
        if (s != "true" && s != "false")
          return origin + ": propagation.inject_traceparent must be true or false, got '" + s + "'";
        cfg->inject_traceparent = s == "true";
      }
    }
    if (auto out = root["output"]) {
      for (const auto& s : AsStrings(out, "output")) {
        OutputSpec spec;
        if (!(err = ParseOutput(s, &spec)).empty()) return origin + ": output: " + err;
        cfg->outputs.push_back(spec);
      }
    }
    if (root["log_level"]) cfg->log_level = root["log_level"].as<std::string>();
    if (root["admin_address"]) cfg->admin_address = root["admin_address"].as<std::string>();
    if (auto smp = root["sampling"]) {
      if (!(err = ParseSamplingYaml(smp, &cfg->sampling)).empty()) return origin + ": " + err;
    }
    if (auto k = root["kubernetes"]) {
      if (!(err = ParseK8sSettings(k, &cfg->kubernetes)).empty()) return origin + ": " + err;
    }
  } catch (const ConfigError& e) {
    return origin + ": " + e.message;
  } catch (const YAML::Exception& e) {
    return origin + ": " + e.what();
  }
  return {};
}

std::string ApplyEnvironment(const std::map<std::string, std::string>& env, Config* cfg) {
  std::string err = ParseOtelEnvironment(env, &cfg->otel);
  if (!err.empty()) return err;
  if (cfg->otel.traces_endpoint_set) cfg->otlp_endpoint = cfg->otel.traces.endpoint;
  cfg->bsp_delay_set = env.count("OTEL_BSP_SCHEDULE_DELAY") != 0;
  if (!(err = ApplySamplerEnvironment(env, &cfg->sampling.sampler)).empty()) return err;
  auto it = env.find("OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS");
  if (it != env.end())
    for (const std::string& m : SplitComma(it->second)) cfg->known_http_methods.push_back(m);
  return {};
}

std::string ParseConfigFile(const std::string& text, const std::string& origin,
                            const std::map<std::string, std::string>& env, Config* cfg) {
  std::string err = ApplyYamlConfig(text, origin, cfg);
  if (err.empty()) err = ResolveK8sSettings(env, &cfg->kubernetes);
  if (err.empty()) err = ApplySamplerEnvironment(env, &cfg->sampling.sampler);
  return err;
}

ParseResult ParseCommandLine(int argc, const char* const* argv, const std::map<std::string, std::string>& env) {
  ParseResult r;
  Config& c = r.config;
  int i = 1;
  if (argc > 1 && std::string(argv[1]) == "doctor") {
    r.command = Command::kDoctor;
    i = 2;
  }
  std::vector<OutputSpec> cli_outputs;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_inline = false;
    if (arg.rfind("--", 0) == 0) {
      size_t eq = arg.find('=');
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_inline = true;
      }
    }
    auto need = [&](std::string* out) -> bool {
      if (has_inline) {
        *out = value;
        return true;
      }
      if (i + 1 >= argc) {
        r.error = "flag " + arg + " needs a value";
        return false;
      }
      *out = argv[++i];
      return true;
    };
    std::string v;
    uint64_t n;
    if (arg == "-h" || arg == "--help") {
      r.command = Command::kHelp;
      return r;
    } else if (arg == "--version") {
      r.command = Command::kVersion;
      return r;
    } else if (arg == "--pid") {
      if (!need(&v)) return r;
      for (const auto& p : SplitComma(v)) {
        if (!ParseUint(p, 0x7fffffff, &n) || n == 0) {
          r.error = "invalid value '" + p + "' for --pid";
          return r;
        }
        c.select.pids.push_back(static_cast<uint32_t>(n));
      }
    } else if (arg == "--exe") {
      if (!need(&v)) return r;
      c.select.exes.push_back(v);
    } else if (arg == "--port") {
      if (!need(&v)) return r;
      for (const auto& p : SplitComma(v)) {
        if (!ParseUint(p, 65535, &n) || n == 0) {
          r.error = "invalid value '" + p + "' for --port";
          return r;
        }
        c.select.ports.push_back(static_cast<uint16_t>(n));
      }
    } else if (arg == "--config") {
      if (!need(&c.config_path)) return r;
    } else if (arg == "--output") {
      if (!need(&v)) return r;
      OutputSpec spec;
      if (!(r.error = ParseOutput(v, &spec)).empty()) {
        r.error = "--output: " + r.error;
        return r;
      }
      cli_outputs.push_back(spec);
    } else if (arg == "--capture-bytes") {
      if (!need(&v)) return r;
      if (!ParseUint(v, 16384, &n) || n == 0) {
        r.error = "invalid value '" + v + "' for --capture-bytes (1..16384)";
        return r;
      }
      c.capture_bytes = static_cast<uint32_t>(n);
    } else if (arg == "--route") {
      if (!need(&v)) return r;
      c.routes.push_back(v);
    } else if (arg == "--capture-header") {
      if (!need(&v)) return r;
      c.capture_request_headers.push_back(v);
      c.capture_response_headers.push_back(v);
    } else if (arg == "--no-tls") {
      c.capture_tls = false;
    } else if (arg == "--inject-traceparent") {
      c.inject_traceparent = true;
    } else if (arg == "--node-callbacks") {
      c.capture_node_callbacks = true;
    } else if (arg == "--no-redact-query") {
      c.redact_query = false;
    } else if (arg == "--no-sanitize-db") {
      c.sanitize_db_queries = false;
    } else if (arg == "--admin-address") {
      if (!need(&c.admin_address)) return r;
    } else if (arg == "--log-level") {
      if (!need(&c.log_level)) return r;
    } else {
      r.error = arg.rfind("-", 0) == 0 ? "unknown flag '" + arg + "'" : "unexpected argument '" + arg + "'";
      return r;
    }
  }
  if (!c.config_path.empty()) {
    std::ifstream f(c.config_path);
    if (!f) {
      r.error = "cannot read config file '" + c.config_path + "'";
      return r;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    // Flags win over the file for scalars; lists from both are combined.
    Config file_cfg;
    if (!(r.error = ApplyYamlConfig(ss.str(), c.config_path, &file_cfg)).empty()) return r;
    auto append = [](auto& dst, const auto& src) { dst.insert(dst.end(), src.begin(), src.end()); };
    append(c.select.pids, file_cfg.select.pids);
    append(c.select.exes, file_cfg.select.exes);
    append(c.select.ports, file_cfg.select.ports);
    append(c.routes, file_cfg.routes);
    append(c.capture_request_headers, file_cfg.capture_request_headers);
    append(c.capture_response_headers, file_cfg.capture_response_headers);
    if (c.capture_bytes == Config().capture_bytes) c.capture_bytes = file_cfg.capture_bytes;
    if (!file_cfg.redact_query) c.redact_query = false;
    if (!file_cfg.capture_tls) c.capture_tls = false;
    if (file_cfg.inject_traceparent) c.inject_traceparent = true;
    if (file_cfg.capture_node_callbacks) c.capture_node_callbacks = true;
    if (!file_cfg.sanitize_db_queries) c.sanitize_db_queries = false;
    if (c.log_level == Config().log_level) c.log_level = file_cfg.log_level;
    if (c.admin_address == Config().admin_address) c.admin_address = file_cfg.admin_address;
    if (cli_outputs.empty()) cli_outputs = file_cfg.outputs;
    c.kubernetes = file_cfg.kubernetes;
    c.exclude_paths = file_cfg.exclude_paths;  // no flags for these
    c.sampling = file_cfg.sampling;
  }
  if (!c.admin_address.empty()) {
    // HOST:PORT, HOST may be empty (all addresses) or a bracketed IPv6 literal.
    size_t colon = c.admin_address.rfind(':');
    uint64_t port;
    if (colon == std::string::npos || !ParseUint(c.admin_address.substr(colon + 1), 65535, &port)) {
      r.error = "invalid admin address '" + c.admin_address + "' (--admin-address or admin_address: HOST:PORT)";
      return r;
    }
  }
  static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "off"};
  if (!kLevels.count(c.log_level)) {
    r.error = "invalid log level '" + c.log_level + "'";
    return r;
  }
  if (!(r.error = ApplyEnvironment(env, &c)).empty()) return r;
  if (!(r.error = ResolveK8sSettings(env, &c.kubernetes)).empty()) return r;
  c.outputs = cli_outputs;
  if (c.outputs.empty())
    c.outputs.push_back({c.otlp_endpoint.empty() ? OutputSpec::Kind::kConsole : OutputSpec::Kind::kOtlp, ""});
  for (const auto& o : c.outputs) {
    if (o.kind == OutputSpec::Kind::kOtlp && c.otlp_endpoint.empty()) {
      r.error = "--output otlp needs OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)";
      return r;
    }
  }
  return r;
}

}  // namespace sonde
