// The `sampling:` section, `http.exclude_paths`, and OTEL_TRACES_SAMPLER[_ARG]
// winning over the file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "agent/config.h"

namespace sonde {
namespace {

constexpr uint64_t kMs = 1'000'000;

// A config file on disk for the --config path, removed at the end.
class ConfigFile {
 public:
  explicit ConfigFile(const std::string& text) {
    char tmpl[] = "/tmp/sonde_sampling_config_XXXXXX";
    int fd = mkstemp(tmpl);
    path_ = tmpl;
    if (fd >= 0) close(fd);
    std::ofstream(path_) << text;
  }
  ~ConfigFile() { std::remove(path_.c_str()); }
  const char* path() const { return path_.c_str(); }

 private:
  std::string path_;
};

ParseResult ParseWithFile(const ConfigFile& f, std::map<std::string, std::string> env = {}) {
  std::vector<const char*> args = {"sonde", "--config", f.path()};
  return ParseCommandLine(static_cast<int>(args.size()), args.data(), env);
}

TEST(SamplingConfig, DefaultsWithoutAnything) {
  std::vector<const char*> args = {"sonde"};
  ParseResult r = ParseCommandLine(1, args.data(), {});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.config.sampling, SamplingOptions());
  EXPECT_EQ(r.config.sampling.sampler.kind, SamplerKind::kParentBasedAlwaysOn);
  EXPECT_TRUE(r.config.sampling.keep_errors);
  EXPECT_EQ(r.config.sampling.keep_slower_than_ns, 0u);
  EXPECT_EQ(r.config.exclude_paths, DefaultExcludedPaths());
}

TEST(SamplingConfig, YamlSectionIsApplied) {
  Config c;
  ASSERT_EQ(ApplyYamlConfig(R"(
sampling:
  sampler: parentbased_traceidratio
  sampler_arg: "0.25"
  keep_errors: false
  keep_slower_than: 500ms
  hold_window: 2s
  hold_max_spans: 500
http:
  exclude_paths: [/ping, /grpc.health.v1.Health/Check]
)",
                            "f.yaml", &c),
            "");
  EXPECT_EQ(c.sampling.sampler.kind, SamplerKind::kParentBasedTraceIdRatio);
  EXPECT_DOUBLE_EQ(c.sampling.sampler.ratio, 0.25);
  EXPECT_FALSE(c.sampling.keep_errors);
  EXPECT_EQ(c.sampling.keep_slower_than_ns, 500 * kMs);
  EXPECT_EQ(c.sampling.hold_window_ns, 2000 * kMs);
  EXPECT_EQ(c.sampling.hold_max_spans, 500u);
  EXPECT_EQ(c.exclude_paths, (std::vector<std::string>{"/ping", "/grpc.health.v1.Health/Check"}));
}

TEST(SamplingConfig, EmptyExcludeListExcludesNothing) {
  Config c;
  ASSERT_EQ(ApplyYamlConfig("http:\n  exclude_paths: []\n", "f.yaml", &c), "");
  EXPECT_TRUE(c.exclude_paths.empty());
}

TEST(SamplingConfig, BadValuesNameTheKey) {
  Config c;
  auto err = [&](const std::string& yaml) { return ApplyYamlConfig(yaml, "f.yaml", &c); };
  EXPECT_EQ(err("sampling:\n  sampler: sometimes\n").rfind("f.yaml: sampling.sampler: 'sometimes' is not a sampler", 0),
            0u);
  EXPECT_EQ(err("sampling:\n  sampler: traceidratio\n  sampler_arg: 3\n"),
            "f.yaml: sampling.sampler_arg: '3' is not a ratio from 0 to 1");
  EXPECT_EQ(err("sampling:\n  keep_errors: sometimes\n"), "f.yaml: sampling.keep_errors must be true or false");
  EXPECT_NE(err("sampling:\n  keep_slower_than: 500\n").find("sampling.keep_slower_than: '500' needs a unit"),
            std::string::npos);
  EXPECT_NE(err("sampling:\n  keep_slower_than: 0s\n").find("greater than 0"), std::string::npos);
  EXPECT_EQ(err("sampling:\n  hold_max_spans: lots\n"),
            "f.yaml: sampling.hold_max_spans must be 0..1000000, got 'lots'");
  EXPECT_NE(err("sampling:\n  hold_window: 1h\n").find("sampling.hold_window"), std::string::npos);
  EXPECT_EQ(err("sampling:\n  ratio: 0.5\n"), "f.yaml: unknown config key 'sampling.ratio'");
  EXPECT_EQ(err("sampling: always_on\n"), "f.yaml: 'sampling' must be a mapping");
  EXPECT_EQ(err("http:\n  exclude_paths: [health]\n"),
            "f.yaml: http.exclude_paths: 'health' must start with '/'");
}

TEST(SamplingConfig, EnvironmentWinsOverTheFile) {
  ConfigFile f("sampling:\n  sampler: traceidratio\n  sampler_arg: 0.1\n  keep_slower_than: 1s\n");
  ParseResult r = ParseWithFile(f);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.config.sampling.sampler, (SamplerSpec{SamplerKind::kTraceIdRatio, 0.1}));
  EXPECT_EQ(r.config.sampling.keep_slower_than_ns, 1000 * kMs);

  r = ParseWithFile(f, {{"OTEL_TRACES_SAMPLER_ARG", "0.5"}});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.config.sampling.sampler, (SamplerSpec{SamplerKind::kTraceIdRatio, 0.5}));

  r = ParseWithFile(f, {{"OTEL_TRACES_SAMPLER", "always_off"}});
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.config.sampling.sampler.kind, SamplerKind::kAlwaysOff);
  EXPECT_EQ(r.config.sampling.keep_slower_than_ns, 1000 * kMs);  // the file's keep-rules stay

  // A reloaded file resolves the environment the same way.
  Config next;
  ASSERT_EQ(ParseConfigFile("sampling:\n  sampler: always_on\n", "f.yaml", {{"OTEL_TRACES_SAMPLER", "always_off"}},
                            &next),
            "");
  EXPECT_EQ(next.sampling.sampler.kind, SamplerKind::kAlwaysOff);
}

// main() turns any of these into exit 2 before anything is attached.
TEST(SamplingConfig, BadEnvironmentIsAUsageError) {
  std::vector<const char*> args = {"sonde"};
  ParseResult r = ParseCommandLine(1, args.data(), {{"OTEL_TRACES_SAMPLER", "ratio"}});
  EXPECT_EQ(r.error.rfind("OTEL_TRACES_SAMPLER: 'ratio' is not a sampler", 0), 0u) << r.error;
  r = ParseCommandLine(1, args.data(),
                       {{"OTEL_TRACES_SAMPLER", "parentbased_traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "10%"}});
  EXPECT_EQ(r.error.rfind("OTEL_TRACES_SAMPLER_ARG: '10%' is not a number", 0), 0u) << r.error;
  ConfigFile f("sampling:\n  sampler: jaeger_remote\n");
  r = ParseWithFile(f);
  EXPECT_NE(r.error.find("sampling.sampler: 'jaeger_remote' is not supported"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace sonde
