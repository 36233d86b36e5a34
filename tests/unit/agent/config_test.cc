#include "agent/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace sonde {
namespace {

ParseResult Parse(std::vector<const char*> args, std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), "sonde");
  return ParseCommandLine(static_cast<int>(args.size()), args.data(), env);
}

TEST(Config, DefaultsToConsoleAndAllProcesses) {
  ParseResult r = Parse({});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.command, Command::kRun);
  EXPECT_TRUE(r.config.select.all());
  ASSERT_EQ(r.config.outputs.size(), 1u);
  EXPECT_EQ(r.config.outputs[0].kind, OutputSpec::Kind::kConsole);
  EXPECT_EQ(r.config.capture_bytes, 4096u);
}

TEST(Config, EndpointInEnvironmentSwitchesToOtlp) {
  ParseResult r = Parse({}, {{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"},
                             {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:4317"},
                             {"OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%20x, tenant = a"},
                             {"OTEL_BSP_SCHEDULE_DELAY", "250"}});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.config.otlp_endpoint, "http://t:4317");
  ASSERT_EQ(r.config.outputs.size(), 1u);
  EXPECT_EQ(r.config.outputs[0].kind, OutputSpec::Kind::kOtlp);
  ASSERT_EQ(r.config.otel.traces.headers.size(), 2u);
  EXPECT_EQ(r.config.otel.traces.headers[0].second, "s x");
  EXPECT_EQ(r.config.otel.traces.headers[1].first, "tenant");
  EXPECT_EQ(r.config.otel.batch.schedule_delay, std::chrono::milliseconds(250));
  EXPECT_TRUE(r.config.bsp_delay_set);
}

TEST(Config, SelectorsAndOutputsFromFlags) {
  ParseResult r = Parse({"--pid", "12,13", "--exe", "python3*", "--port=8080", "--output", "jsonl:/tmp/x.jsonl",
                         "--output", "console", "--capture-bytes", "512", "--route", "/users/{id}",
                         "--capture-header", "X-Request-Id", "--no-redact-query"});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.config.select.pids, (std::vector<uint32_t>{12, 13}));
  EXPECT_EQ(r.config.select.exes, (std::vector<std::string>{"python3*"}));
  EXPECT_EQ(r.config.select.ports, (std::vector<uint16_t>{8080}));
  ASSERT_EQ(r.config.outputs.size(), 2u);
  EXPECT_EQ(r.config.outputs[0].kind, OutputSpec::Kind::kJsonl);
  EXPECT_EQ(r.config.outputs[0].path, "/tmp/x.jsonl");
  EXPECT_EQ(r.config.capture_bytes, 512u);
  EXPECT_EQ(r.config.routes, (std::vector<std::string>{"/users/{id}"}));
  EXPECT_FALSE(r.config.redact_query);
}

TEST(Config, BadFlagsAreNamed) {
  EXPECT_EQ(Parse({"--bogus"}).error, "unknown flag '--bogus'");
  EXPECT_EQ(Parse({"--pid", "abc"}).error, "invalid value 'abc' for --pid");
  EXPECT_EQ(Parse({"--pid"}).error, "flag --pid needs a value");
  EXPECT_EQ(Parse({"--capture-bytes", "0"}).error, "invalid value '0' for --capture-bytes (1..16384)");
  EXPECT_NE(Parse({"--output", "kafka"}).error.find("invalid output 'kafka'"), std::string::npos);
  EXPECT_NE(Parse({"--output", "otlp"}).error.find("OTEL_EXPORTER_OTLP_ENDPOINT"), std::string::npos);
  EXPECT_NE(Parse({"--log-level", "loud"}).error.find("invalid log level 'loud'"), std::string::npos);
  EXPECT_NE(Parse({}, {{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}}).error.find("http/json"), std::string::npos);
  EXPECT_EQ(Parse({"--admin-address", "9464"}).error,
            "invalid admin address '9464' (--admin-address or admin_address: HOST:PORT)");
  EXPECT_NE(Parse({"--admin-address", "127.0.0.1:http"}).error.find("invalid admin address"), std::string::npos);
  EXPECT_EQ(Parse({"--admin-address", ""}).error, "");
}

TEST(Config, DoctorAndHelpCommands) {
  EXPECT_EQ(Parse({"doctor"}).command, Command::kDoctor);
  EXPECT_EQ(Parse({"--help"}).command, Command::kHelp);
  EXPECT_EQ(Parse({"--version"}).command, Command::kVersion);
}

TEST(ConfigYaml, AppliesEverySection) {
  Config c;
  std::string err = ApplyYamlConfig(R"(
select:
  pids: [7]
  exe: node
  ports: [80, 443]
capture:
  bytes_per_syscall: 2048
http:
  routes: ["/a/{b}"]
  capture_request_headers: [x-id]
  redact_query: false
output: [console, "jsonl:/tmp/s.jsonl"]
log_level: debug
db:
  sanitize_query: false
)", "f.yaml", &c);
  EXPECT_FALSE(c.sanitize_db_queries);
  ASSERT_EQ(err, "");
  EXPECT_EQ(c.select.pids, (std::vector<uint32_t>{7}));
  EXPECT_EQ(c.select.exes, (std::vector<std::string>{"node"}));
  EXPECT_EQ(c.select.ports, (std::vector<uint16_t>{80, 443}));
  EXPECT_EQ(c.capture_bytes, 2048u);
  EXPECT_EQ(c.capture_request_headers, (std::vector<std::string>{"x-id"}));
  EXPECT_FALSE(c.redact_query);
  EXPECT_EQ(c.outputs.size(), 2u);
  EXPECT_EQ(c.log_level, "debug");
}

TEST(ConfigYaml, UnknownKeysAndBadValuesAreNamed) {
  Config c;
  EXPECT_EQ(ApplyYamlConfig("selct: {}\n", "f.yaml", &c), "f.yaml: unknown config key 'selct'");
  EXPECT_EQ(ApplyYamlConfig("select:\n  exes: [x]\n", "f.yaml", &c), "f.yaml: unknown config key 'select.exes'");
  EXPECT_EQ(ApplyYamlConfig("http:\n  route: [x]\n", "f.yaml", &c), "f.yaml: unknown config key 'http.route'");
  EXPECT_EQ(ApplyYamlConfig("select:\n  ports: [99999]\n", "f.yaml", &c),
            "f.yaml: invalid port '99999' in select.ports");
  EXPECT_EQ(ApplyYamlConfig("capture:\n  bytes_per_syscall: 99999\n", "f.yaml", &c),
            "f.yaml: capture.bytes_per_syscall must be 1..16384, got '99999'");
  EXPECT_NE(ApplyYamlConfig("select: [1, 2\n", "f.yaml", &c).find("f.yaml: "), std::string::npos);
  EXPECT_EQ(ApplyYamlConfig("capture:\n  tls: maybe\n", "f.yaml", &c),
            "f.yaml: capture.tls must be true or false, got 'maybe'");
}

TEST(Config, TlsCaptureIsOnUnlessTurnedOff) {
  EXPECT_TRUE(Parse({}).config.capture_tls);
  ParseResult r = Parse({"--no-tls"});
  ASSERT_EQ(r.error, "");
  EXPECT_FALSE(r.config.capture_tls);
  Config c;
  ASSERT_EQ(ApplyYamlConfig("capture:\n  tls: false\n", "f.yaml", &c), "");
  EXPECT_FALSE(c.capture_tls);
}

TEST(Config, TraceparentInjectionIsOffUnlessTurnedOn) {
  EXPECT_FALSE(Parse({}).config.inject_traceparent);
  ParseResult r = Parse({"--inject-traceparent"});
  ASSERT_EQ(r.error, "");
  EXPECT_TRUE(r.config.inject_traceparent);
  Config c;
  ASSERT_EQ(ApplyYamlConfig("propagation:\n  inject_traceparent: true\n", "f.yaml", &c), "");
  EXPECT_TRUE(c.inject_traceparent);
  ASSERT_EQ(ApplyYamlConfig("propagation:\n  inject_traceparent: false\n", "f.yaml", &c), "");
  EXPECT_FALSE(c.inject_traceparent);
  EXPECT_EQ(ApplyYamlConfig("propagation:\n  inject_traceparent: sometimes\n", "f.yaml", &c),
            "f.yaml: propagation.inject_traceparent must be true or false, got 'sometimes'");
  EXPECT_EQ(ApplyYamlConfig("propagation:\n  inject_traceparent: [true]\n", "f.yaml", &c),
            "f.yaml: propagation.inject_traceparent must be true or false");
  EXPECT_EQ(ApplyYamlConfig("propagation:\n  inject_tracestate: true\n", "f.yaml", &c),
            "f.yaml: unknown config key 'propagation.inject_tracestate'");
}

TEST(Config, TraceparentInjectionFromTheConfigFile) {
  char path[] = "/tmp/sonde_config_test_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string text = "propagation:\n  inject_traceparent: true\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  ParseResult r = Parse({"--config", path});
  unlink(path);
  ASSERT_EQ(r.error, "");
  EXPECT_TRUE(r.config.inject_traceparent);
}

TEST(Config, NodeCallbackProbesAreOffUnlessTurnedOn) {
  EXPECT_FALSE(Parse({}).config.capture_node_callbacks);
  ParseResult r = Parse({"--node-callbacks"});
  ASSERT_EQ(r.error, "");
  EXPECT_TRUE(r.config.capture_node_callbacks);
  Config c;
  ASSERT_EQ(ApplyYamlConfig("capture:\n  node_callbacks: true\n", "f.yaml", &c), "");
  EXPECT_TRUE(c.capture_node_callbacks);
  EXPECT_EQ(ApplyYamlConfig("capture:\n  node_callbacks: yes\n", "f.yaml", &c),
            "f.yaml: capture.node_callbacks must be true or false, got 'yes'");
}

}  // namespace
}  // namespace sonde

namespace sonde {
namespace {

TEST(ConfigYaml, WrongShapesAreNamed) {
  Config c;
  EXPECT_EQ(ApplyYamlConfig("select:\n  exe: {a: 1}\n", "f.yaml", &c),
            "f.yaml: 'select.exe' must be a string or a list of strings");
  EXPECT_EQ(ApplyYamlConfig("http:\n  redact_query: maybe\n", "f.yaml", &c),
            "f.yaml: http.redact_query must be true or false");
}

}  // namespace
}  // namespace sonde

namespace sonde {
namespace {

TEST(Config, InsecureAndKnownMethodsFromEnvironment) {
  std::vector<const char*> args = {"sonde"};
  ParseResult r = ParseCommandLine(1, args.data(),
                                   {{"OTEL_EXPORTER_OTLP_INSECURE", "FALSE"},
                                    {"OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS", "GET,POST,PURGE"}});
  ASSERT_EQ(r.error, "");
  EXPECT_FALSE(r.config.otel.traces.insecure);
  EXPECT_EQ(r.config.known_http_methods, (std::vector<std::string>{"GET", "POST", "PURGE"}));
  r = ParseCommandLine(1, args.data(), {{"OTEL_EXPORTER_OTLP_INSECURE", "maybe"}});
  EXPECT_NE(r.error.find("OTEL_EXPORTER_OTLP_INSECURE"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace sonde
